"""The exception classes of nffi, with the same names and hierarchy as cffi's."""


class FFIError(Exception):
    """Raised by the FFI object for misuse that is not a C declaration error."""
    __module__ = "nffi"


class CDefError(Exception):
    """A C declaration given to ``ffi.cdef`` (or a type string) is invalid.

    ``line`` and ``column`` (1-based) locate the offending text in the source given;
    once cdef() knows the source, ``source_line`` holds that line and ``str()`` quotes
    it with a caret under the column.  After a line marker (``# 42 "file.h"``,
    ``#line 42 "file.h"``), ``filename`` and ``file_line`` name the place as the marker
    says, and the message starts with ``file.h:LINE:COLUMN:`` instead.

    The same error has cffi's wording too (``cffi_text()``), which ``str()`` gives
    when ``cffi_style`` is set (by the FFI class of nffi.compat: cffi's programs and
    tests compare such texts): ``before`` is the token at which cffi's parser (pycparser)
    stops on a syntax error (its text, line and column), ``cffi_form`` an exact text of
    cffi where it differs from ``FILE:LINE: message``.
    """
    __module__ = "nffi"
    cffi_style = False

    def __init__(self, message, line=None, column=None, text=None, before=None,
                 cffi_form=None):
        self.message = message
        self.line = line
        self.column = column
        self.text = text
        self.source_line = None
        self.filename = None
        self.file_line = None
        self.before = before
        self.cffi_form = cffi_form
        self._before_source_line = None
        super().__init__(message)

    def _locate_in(self, source):
        """Remember the line of ``source`` (as given to cdef()) that the error is on."""
        if self.line is not None and self.source_line is None:
            lines = source.split("\n")          # the lexer counts lines by '\n' alone
            if 1 <= self.line <= len(lines):
                self.source_line = lines[self.line - 1].rstrip("\r")
            if self.before is not None and 1 <= self.before[1] <= len(lines):
                self._before_source_line = lines[self.before[1] - 1]

    def _mark_file(self, marks):
        """Apply the line markers of the source: marks is a list of (line of the source
        the marker applies to from, file name, its line number there), in order."""
        for mark_line, filename, file_line in reversed(marks):
            if self.line is not None and self.line >= mark_line:
                self.filename = filename
                self.file_line = file_line + (self.line - mark_line)
                if self.before is not None:
                    token, line, column = self.before
                    self.before = (token, file_line + (line - mark_line), column)
                return

    def __str__(self):
        if self.cffi_style:
            return self.cffi_text()
        if self.line is None:
            text = self.message
        else:
            if self.filename is not None:
                where = "%s:%d" % (self.filename, self.file_line)
                where += ":%d" % self.column if self.column is not None else ""
            else:
                where = "line %d" % self.line
                where += ", column %d" % self.column if self.column is not None else ""
            text = "%s: %s" % (where, self.message)
            if self.text:
                text += " (at %r)" % self.text
        if self.source_line is None:
            return text
        return "%s\n%s" % (text, quote_with_caret(self.source_line, self.column))

    def cffi_text(self):
        """The text cffi 2.0 gives for this error."""
        if self.cffi_form is not None:
            return self.cffi_form
        filename = self.filename if self.filename is not None else "<cdef source string>"
        if self.before is not None:
            token, line, column = self.before
            where = "%s:%d:%d: before: %s" % (filename, line, column, token)
            if self.filename is None and (self._before_source_line or "").strip():
                return 'cannot parse "%s"\n%s' % (self._before_source_line.strip(), where)
            return "parse error\n" + where
        if self.line is None:
            return self.message
        return "%s:%d: %s" % (filename, self.file_line or self.line, self.message)


class CDefNotImplemented(CDefError, NotImplementedError):
    """A declaration cffi refuses with NotImplementedError (an enum given its values
    after a first mention, ...): a CDefError (line, column) of that class too."""
    __module__ = "nffi"


def quote_with_caret(line, column, width=100, indent="    "):
    """``line``, indented, and under it a caret at ``column`` (1-based; none if None).
    Tabs before the column are kept in the caret's line so that it stays aligned; a
    line longer than ``width`` is cut to a window around the column ('...' marks the
    cuts)."""
    start = 0
    if len(line) > width:
        start = max(0, min((column or 1) - 1 - width // 2, len(line) - width))
        line = ("..." if start else "") + line[start:start + width] + (
            "..." if start + width < len(line) else "")
        start -= 3 if start else 0
    quoted = indent + line
    if column is None:
        return quoted
    before = line[:max(column - 1 - start, 0)]
    caret = "".join("\t" if c == "\t" else " " for c in before) + "^"
    return "%s\n%s%s" % (quoted, indent, caret)


def at_source(error, source):
    """``error`` (a CDefError, or the FFIError of a conflicting declaration) ready to be
    raised again by the public method that was given ``source``: a CDefError quotes its
    line of ``source``; unless NFFI_DEBUG is set, the error carries neither the parser's
    internal frames nor the exceptions it was chained to (its message already names the
    place in the C source)."""
    if isinstance(error, CDefError):
        error._locate_in(source)
    if not debug_enabled():
        error.__suppress_context__ = True
        error.with_traceback(None)
    return error


def debug_enabled():
    """NFFI_DEBUG set (not '' or '0'): errors keep nffi's internal frames and chains."""
    import os
    return os.environ.get("NFFI_DEBUG", "") not in ("", "0")


class VerificationError(Exception):
    """API mode: building or loading the generated extension module failed."""
    __module__ = "nffi"


class VerificationMissing(Exception):
    """API mode: an incomplete declaration was used before it was verified."""
    __module__ = "nffi"


class PkgConfigError(Exception):
    """pkg-config could not give the flags asked for."""
    __module__ = "nffi"


def _write_unraisable(what, exc):
    """Hand ``exc`` to ``sys.unraisablehook`` as "Exception ignored <what>" (Python 3.11
    and 3.12; from 3.13 the core calls the public PyErr_FormatUnraisable instead).

    The default hook only accepts CPython's own argument type, which cannot be built from
    Python, so this writes what it writes: the message, the traceback, the exception."""
    import sys
    import traceback
    from types import SimpleNamespace
    args = SimpleNamespace(exc_type=type(exc), exc_value=exc,
                           exc_traceback=exc.__traceback__,
                           err_msg="Exception ignored " + what, object=None)
    hook = sys.unraisablehook
    if hook is not sys.__unraisablehook__:
        try:
            hook(args)
            return
        except BaseException as hook_failure:   # report the hook's failure, then exc
            _print_unraisable("Exception ignored in sys.unraisablehook: %r" % (hook,),
                              hook_failure, traceback)
    _print_unraisable(args.err_msg, exc, traceback)


def _print_unraisable(err_msg, exc, traceback):
    """The default unraisable hook's output on sys.stderr."""
    import sys
    file = sys.stderr
    if file is None:
        return
    file.write(err_msg + ":\n")
    traceback.print_exception(type(exc), exc, exc.__traceback__, chain=False, file=file)
    file.flush()
