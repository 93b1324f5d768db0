"""ffi.cdef_header() with odd inputs: empty text, #error, a missing header, recursive
and huge macros, nesting deep enough to exhaust a recursive parser, huge array lengths,
declarations that conflict with earlier ones, arguments of the wrong type.  Each gives
a clear exception (CDefError for what the preprocessor refuses, TypeError for wrong
argument types) or a declaration listed in ffi.skipped_declarations() with its reason;
never a RecursionError, a crash or a hang.  Each case runs the C preprocessor once."""
import pytest

import nffi
from nffi import CDefError


def _skipped(ffi):
    return {s.name: s.reason for s in ffi.skipped_declarations()}


@pytest.mark.parametrize("source", ["", "  \n\n ", "/* only a comment */"])
def test_empty_sources_declare_nothing(source):
    ffi = nffi.FFI()
    ffi.cdef_header(source)
    assert ffi.skipped_declarations() == [] and ffi.list_types() == ([], [], [])


@pytest.mark.parametrize("source, message", [
    ("#error boom\nint a;", "boom"),
    ("#include <no_such_header_for_nffi_tests.h>", "no_such_header_for_nffi_tests.h"),
])
def test_what_the_preprocessor_refuses_is_a_cdef_error(source, message):
    with pytest.raises(CDefError, match="the preprocessor failed") as e:
        nffi.FFI().cdef_header(source)
    assert message in str(e.value)


def test_recursive_and_huge_macros():
    ffi = nffi.FFI()
    ffi.cdef_header("#define A B\n#define B A\n#define SELF (SELF + 1)\n"
                    "#define BIG " + "+".join(["1"] * 20000) + "\n"
                    "#define DEEP " + "(" * 5000 + "1" + ")" * 5000 + "\n"
                    "#define HUGE 0xffffffffffffffffffffffffffff\n#define DIV (1/0)\n"
                    "int fine(int);")
    lib = ffi.dlopen(None)
    assert lib.BIG == 20000
    skipped = _skipped(ffi)
    assert set(skipped) >= {"A", "B", "SELF", "DEEP", "HUGE", "DIV"}
    assert "nested too deeply" in skipped["DEEP"]
    assert "too large" in skipped["HUGE"] and "division by zero" in skipped["DIV"]
    for name in ("A", "DEEP", "HUGE"):
        with pytest.raises(AttributeError):
            getattr(lib, name)
    assert "fine" not in skipped


def test_deep_nesting_is_skipped_not_a_recursion_error():
    ffi = nffi.FFI()
    ffi.cdef_header("int " + "*" * 5000 + "p;\n"
                    + "".join("struct s%d { " % i for i in range(300)) + "int x;"
                    + "".join(" } m%d;" % i for i in range(300)) + "\n"
                    + "typedef int t0;\n"
                    + "\n".join("typedef t%d t%d;" % (i, i + 1) for i in range(2000))
                    + "\nint f(")
    assert "nested too deeply" in _skipped(ffi)[""]
    assert "unexpected end of input" in _skipped(ffi)["f"]
    assert ffi.sizeof("t2000") == ffi.sizeof("int")


def test_huge_and_negative_lengths():
    ffi = nffi.FFI()
    ffi.cdef_header("struct big { char a[0x7fffffffffffffff]; };")
    assert ffi.sizeof("struct big") == 2**63 - 1
    with pytest.raises(MemoryError):
        ffi.new("struct big *")
    with pytest.raises(CDefError, match="negative array length"):
        nffi.FFI().cdef_header("struct neg { char a[-1]; };")


def test_conflicts_with_earlier_declarations_are_skipped():
    ffi = nffi.FFI()
    ffi.cdef("struct s { int a; }; typedef int t;")
    ffi.cdef_header("struct s { double a; char b; };\ntypedef double t;\n"
                    "struct w { int x : 40; };")
    assert ffi.sizeof("struct s") == ffi.sizeof("t") == ffi.sizeof("int")
    assert "already declared differently" in _skipped(ffi)["s"]
    assert "already declared differently" in _skipped(ffi)["t"]
    with pytest.raises(TypeError, match="exceeds the width"):    # as cffi: at first use
        ffi.new("struct w *")


@pytest.mark.parametrize("kwargs, exc", [
    ({"source": b"int a;"}, TypeError), ({"source": None}, TypeError),
    ({"source": "int a;", "include_dirs": 5}, TypeError),
    ({"source": "int a;", "only": 5}, TypeError),
])
def test_wrong_argument_types(kwargs, exc):
    source = kwargs.pop("source")
    with pytest.raises(exc):
        nffi.FFI().cdef_header(source, **kwargs)
