"""The exception classes of nffi, with the same names and hierarchy as cffi's."""


class FFIError(Exception):
    """Raised by the FFI object for misuse that is not a C declaration error."""
    __module__ = "nffi"


class CDefError(Exception):
    """A C declaration given to ``ffi.cdef`` (or a type string) is invalid.

    ``line`` and ``column`` (1-based) locate the offending text when known.
    """
    __module__ = "nffi"

    def __init__(self, message, line=None, column=None, text=None):
        self.message = message
        self.line = line
        self.column = column
        self.text = text
        if line is not None:
            where = "line %d" % line
            if column is not None:
                where += ", column %d" % column
            message = "%s: %s" % (where, message)
            if text:
                message += " (at %r)" % text
        super().__init__(message)


class VerificationError(Exception):
    """API mode: building or loading the generated extension module failed."""
    __module__ = "nffi"


class VerificationMissing(Exception):
    """API mode: an incomplete declaration was used before it was verified."""
    __module__ = "nffi"


class PkgConfigError(Exception):
    """pkg-config could not give the flags asked for."""
    __module__ = "nffi"
