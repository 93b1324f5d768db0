"""What users read: cdef errors quoting the source with a caret, tracebacks without the
parser's frames, callback reports worded as nffi's (cffi's under nffi.compat), exception
classes importable from nffi; and the public-C-API replacements of CPython's private
functions (pointer hashes, signs of big ints, function type names) against cffi."""
import os
import subprocess
import sys
import textwrap
import traceback

import cffi
import pytest

import nffi
from nffi.errors import CDefError, quote_with_caret


def cdef_error(source, ffi=None):
    with pytest.raises(CDefError) as info:
        (ffi or nffi.FFI()).cdef(source)
    return info.value


def quoted_lines(error):
    """The (source line, caret line) that str(error) ends with."""
    lines = str(error).split("\n")
    assert len(lines) == 3, str(error)
    return lines[1], lines[2]


# ---- cdef errors: the line and a caret --------------------------------------------------

@pytest.mark.parametrize("source, line, column", [
    ("int f(int;", 1, 10),
    ("\n  typedef struct { int x; } foo_t;\n  foo_t bar(int x[);\n", 3, 19),
    ("typedef int t;\nunknown_t y;", 2, 1),
    ("struct s { int a; };\nint x[-1];", 2, 5),
])
def test_cdef_error_quotes_the_line_with_a_caret_under_the_column(source, line, column):
    error = cdef_error(source)
    assert (error.line, error.column) == (line, column)
    assert str(error).startswith("line %d, column %d: " % (line, column))
    quoted, caret = quoted_lines(error)
    assert quoted == "    " + source.split("\n")[line - 1]
    assert caret == " " * (4 + column - 1) + "^"


def test_caret_stays_aligned_after_tabs():
    error = cdef_error("int a;\n\t\tfoo_t x;")
    quoted, caret = quoted_lines(error)
    assert quoted == "    \t\tfoo_t x;"
    assert caret == "    \t\t^"


def test_long_line_is_cut_around_the_column():
    source = "int a;" * 60 + " int b[;" + " int c;" * 60
    error = cdef_error(source)
    quoted, caret = quoted_lines(error)
    assert len(quoted) < 120 and quoted.startswith("    ...") and quoted.endswith("...")
    assert quoted[len(caret) - 1] == ";" and quoted[len(caret) - 3:len(caret)] == "b[;"
    assert caret.strip() == "^"


def test_quote_with_caret_without_a_column_quotes_only_the_line():
    assert quote_with_caret("int x;", None) == "    int x;"


def test_type_string_errors_quote_the_string():
    ffi = nffi.FFI()
    with pytest.raises(CDefError) as info:
        ffi.new("struct { int x }")
    quoted, caret = quoted_lines(info.value)
    assert quoted == "    struct { int x }" and caret == "    " + " " * 15 + "^"


def test_cdef_error_traceback_has_no_parser_frames(monkeypatch):
    monkeypatch.delenv("NFFI_DEBUG", raising=False)
    error = cdef_error("int f(int x[);")
    files = {os.path.basename(frame.filename)
             for frame in traceback.extract_tb(error.__traceback__)}
    assert files == {"api.py", os.path.basename(__file__)}, files
    assert error.__cause__ is None and error.__suppress_context__
    # an error found by the model, after parsing, too
    error = cdef_error("struct s { int a; };\nint x[-1];")
    assert "model.py" not in {os.path.basename(f.filename)
                              for f in traceback.extract_tb(error.__traceback__)}


def test_conflicting_declaration_traceback_has_no_model_frames(monkeypatch):
    monkeypatch.delenv("NFFI_DEBUG", raising=False)
    ffi = nffi.FFI()
    ffi.cdef("int f(int);")
    with pytest.raises(nffi.FFIError) as info:
        ffi.cdef("long f(int);")
    files = {os.path.basename(f.filename) for f in traceback.extract_tb(info.tb)}
    assert files == {"api.py", os.path.basename(__file__)}, files


def test_nffi_debug_keeps_the_parser_frames(monkeypatch):
    monkeypatch.setenv("NFFI_DEBUG", "1")
    error = cdef_error("int f(int x[);")
    files = [os.path.basename(f.filename) for f in traceback.extract_tb(error.__traceback__)]
    assert "cparser.py" in files and "model.py" in files
    assert not error.__suppress_context__


def test_failed_cdef_is_still_rolled_back():
    ffi = nffi.FFI()
    cdef_error("struct kept { int a; };\nint broken(;", ffi)
    with pytest.raises(ValueError):
        ffi.sizeof("struct kept")


# ---- exception classes ------------------------------------------------------------------

def test_exception_classes_are_importable_from_nffi():
    from nffi import _core
    for cls in (nffi.CDefError, nffi.FFIError, nffi.VerificationError,
                nffi.VerificationMissing, nffi.PkgConfigError, nffi.LibraryClosedError):
        assert cls.__module__ == "nffi" and getattr(nffi, cls.__name__) is cls
        assert cls.__name__ in nffi.__all__
    assert nffi.error is nffi.FFI.error is _core.error
    assert issubclass(nffi.LibraryClosedError, nffi.error)
    assert issubclass(nffi.LibraryClosedError, ValueError)


def test_closed_library_error_is_the_exported_class():
    ffi = nffi.FFI()
    ffi.cdef("size_t strlen(const char *);")
    lib = ffi.dlopen(None)
    ffi.dlclose(lib)
    with pytest.raises(nffi.LibraryClosedError):
        lib.strlen


def test_argument_notes_name_the_function():
    from nffi import _core
    ffi = nffi.FFI()
    ffi.cdef("size_t strlen(const char *); int snprintf(char *, size_t, const char *, ...);")
    lib = ffi.dlopen(None)
    for call, note in [(lambda: lib.strlen(5), "argument 1 of strlen()"),    # direct
                       (lambda: _core._call_libffi(lib.strlen, 5),          # libffi
                        "argument 1 of strlen()"),
                       (lambda: lib.snprintf(ffi.NULL, "x", b"%d", ffi.cast("int", 5)),
                        "argument 2 of snprintf()")]:                      # variadic
        with pytest.raises(TypeError) as info:
            call()
        assert info.value.__notes__ == [note]
    with pytest.raises(TypeError) as info:
        ffi.cast("size_t(*)(const char *)", lib.strlen)(5)
    assert info.value.__notes__ == ["argument 1 of 'size_t(*)(char *)'"]


# ---- callback reports ---------------------------------------------------------------------

def failing_callback(ffi):
    def cb(n):
        raise ValueError("oops %d" % n)
    return cb, ffi.callback("int(int)", cb, error=-1)


def test_callback_report_names_nffi(monkeypatch, capsys):
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
    cb, fn = failing_callback(nffi.FFI())
    assert fn(3) == -1
    err = capsys.readouterr().err
    assert err.startswith("Exception ignored from nffi callback %r:\n" % (cb,)), err
    assert "Traceback (most recent call last):" in err
    assert err.rstrip().endswith("ValueError: oops 3")
    assert "cffi" not in err


def test_callback_report_goes_to_a_custom_unraisablehook(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    cb, fn = failing_callback(nffi.FFI())
    assert fn(4) == -1
    report, = seen
    assert report.err_msg == "Exception ignored from nffi callback %r" % (cb,)
    assert report.exc_type is ValueError and str(report.exc_value) == "oops 4"
    assert report.exc_traceback is not None


def test_onerror_failure_is_reported_after_the_exception(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    ffi = nffi.FFI()
    fn = ffi.callback("int(int)", lambda n: 1 / 0, error=5, onerror=lambda *a: [][1])
    assert fn(0) == 5
    assert [r.exc_type for r in seen] == [ZeroDivisionError, IndexError]
    assert seen[1].err_msg == ("Exception ignored during handling of the above exception "
                               "by 'onerror'")


def test_callback_report_under_compat_names_cffi():
    program = textwrap.dedent("""
        import sys
        import nffi.compat
        nffi.compat.install()
        import cffi
        ffi = cffi.FFI()
        def cb(n):
            raise ValueError("oops")
        print(ffi.callback("int(int)", cb, error=7)(1))
    """)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True,
                            text=True)
    assert result.stdout.strip() == "7", result.stderr
    assert "Exception ignored from cffi callback <function cb" in result.stderr


# ---- public-C-API replacements, checked against cffi ---------------------------------------

@pytest.mark.parametrize("address", [0, 1, 0x10, 0x7fff12345678, 0xfffffffffffffff0,
                                     0xfffffffffffffffe, (1 << 64) - 1])
def test_pointer_hash_is_cpythons_pointer_hash(address):
    mine = hash(nffi.FFI().cast("void *", address))
    assert mine == hash(cffi.FFI().cast("void *", address))
    assert mine != -1


@pytest.mark.parametrize("value", [0, 1, -1, 2 ** 62, -2 ** 63, 2 ** 63, 2 ** 64, 2 ** 70,
                                   -2 ** 70, 2 ** 200])
def test_signs_of_big_ints(value):
    for ffi in (nffi.FFI(), cffi.FFI()):
        assert bool(ffi.cast("_Bool", value)) is (value != 0)
    outcomes = []
    for ffi in (nffi.FFI(), cffi.FFI()):
        try:
            outcomes.append(ffi.new("unsigned long long *", value)[0])
        except OverflowError:
            outcomes.append("OverflowError")
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("cdecl", ["int(*)(void)", "int(*)(int, char *, ...)",
                                   "void(*)(double, struct s *)", "int(*)(int(*)(int))",
                                   "long(*)(int *[3], ...)"])
def test_function_type_names(cdecl):
    names = []
    for ffi in (nffi.FFI(), cffi.FFI()):
        ffi.cdef("struct s;")
        names.append(ffi.typeof(cdecl).cname)
    assert names[0] == names[1]
