"""python -m nffi.stubgen: .pyi stubs for the lib of a cdef.

The stub of tests/typing_examples/libc_cdef.h makes mypy accept a program that uses
the lib correctly (libc_good.py, which also runs) and report every misuse marked in
libc_bad.py; the mapping from C types to Python types is checked against what nffi
accepts and returns at run time."""
import os
import subprocess
import sys

import pytest

from mypy_runner import EXAMPLES, NFFI_PARENT, expected_errors, reported_errors, run_mypy
from nffi import FFI
from nffi.stubgen import python_type, stub_for_cdef

CDEF = os.path.join(EXAMPLES, "libc_cdef.h")


def stubgen(*args, cwd=None, pythonpath=NFFI_PARENT):
    env = dict(os.environ, PYTHONPATH=pythonpath)
    return subprocess.run([sys.executable, "-m", "nffi.stubgen", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=60)


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory):
    """A directory holding _libc_stub.pyi, written by the command line."""
    directory = tmp_path_factory.mktemp("stubs")
    result = stubgen(CDEF, "-o", str(directory / "_libc_stub.pyi"))
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("mypy-cache")


def test_stub_declares_every_name(stub_dir):
    text = (stub_dir / "_libc_stub.pyi").read_text()
    assert "    def abs(arg0: int, /) -> int:\n" in text
    assert "    def strlen(arg0: bytes | CData, /) -> int:\n" in text
    assert "    def ldexp(arg0: float, arg1: int, /) -> float:\n" in text
    assert ("    def snprintf(arg0: bytes | CData, arg1: int, arg2: bytes | CData, /, "
            "*args: Any) -> int:\n") in text
    assert ("    def qsort(arg0: CData, arg1: int, arg2: int, arg3: CData, /)"
            " -> None:\n") in text
    assert "    def getenv(arg0: bytes | CData, /) -> CData:\n" in text
    for constant in ("LIMIT", "RED", "GREEN"):
        assert "    %s: Final[int]\n" % constant in text
    assert "    environ: CData    # char * *\n" in text
    assert text.endswith("lib: Lib\nffi: FFI\n")


def test_good_program_passes_mypy_and_runs(stub_dir, mypy_cache):
    good = os.path.join(EXAMPLES, "libc_good.py")
    status, lines = run_mypy([good], mypy_cache, extra_path=[str(stub_dir)])
    assert status == 0, "\n".join(lines)
    result = subprocess.run([sys.executable, good], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=NFFI_PARENT), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["5", "5", "6.0"]


def test_bad_program_fails_mypy_on_each_misuse(stub_dir, mypy_cache):
    bad = os.path.join(EXAMPLES, "libc_bad.py")
    status, lines = run_mypy([bad], mypy_cache, extra_path=[str(stub_dir)])
    assert status == 1
    assert reported_errors(lines, bad) == expected_errors(bad), "\n".join(lines)


def test_module_attribute_form(tmp_path):
    (tmp_path / "mybuild.py").write_text(
        "from nffi import FFI\nffi = FFI()\n"
        "ffi.cdef('int twice(int); static const double SCALE; extern float gain;')\n")
    result = stubgen("mybuild:ffi", cwd=str(tmp_path),
                     pythonpath=os.pathsep.join([NFFI_PARENT, str(tmp_path)]))
    assert result.returncode == 0, result.stderr
    assert "def twice(arg0: int, /) -> int:" in result.stdout
    assert "    SCALE: Final[float]\n" in result.stdout
    assert "    gain: float    # float\n" in result.stdout
    assert "Stubs of mybuild:ffi's lib" in result.stdout


def test_not_an_ffi(tmp_path):
    (tmp_path / "notffi.py").write_text("ffi = 3\n")
    result = stubgen("notffi:ffi", cwd=str(tmp_path),
                     pythonpath=os.pathsep.join([NFFI_PARENT, str(tmp_path)]))
    assert result.returncode != 0
    assert "notffi:ffi is not an nffi FFI object (int)" in result.stderr


def test_cdef_errors_are_reported_with_their_line(tmp_path):
    (tmp_path / "broken.h").write_text("int f(int);\nint g(;\n")
    result = stubgen(str(tmp_path / "broken.h"))
    assert result.returncode != 0
    assert "line 2" in result.stderr


def test_variadic_and_function_typedefs():
    text = stub_for_cdef("typedef int fn_t(int); fn_t applied; "
                         "int sum(int, ...); void nothing(void);")
    assert "    def applied(arg0: int, /) -> int:\n" in text
    assert "    def sum(arg0: int, /, *args: Any) -> int:\n" in text
    assert "    def nothing() -> None:\n" in text     # no '/' without parameters


# ---- the mapping agrees with what nffi does at run time -----------------------------------

# (C type, a value of the argument type, the Python type a result has)
RUNTIME_CASES = [
    ("int", 5, int), ("unsigned long long", 2**64 - 1, int), ("enum e", 1, int),
    ("_Bool", True, bool), ("double", 1.5, float), ("float", 2, float),
    ("char", b"a", bytes), ("wchar_t", "\u20ac", str),
    ("double _Complex", 1 + 2j, complex),
]


@pytest.mark.parametrize("cname, value, result_type", RUNTIME_CASES)
def test_mapping_matches_runtime(cname, value, result_type):
    ffi = FFI()
    ffi.cdef("enum e { A, B };")
    ct = ffi.typeof(cname)
    annotated = python_type(ct, argument=True)
    assert type(value).__name__ in annotated.split(" | ") or (
        annotated == "int" and isinstance(value, int)) or (
        annotated == "float" and isinstance(value, (int, float)))
    # what nffi gives back for a value of this type (as a call result or a global)
    got = ffi.new(cname + "[1]", [value])[0]
    assert isinstance(got, result_type)
    assert python_type(ct, argument=False) == result_type.__name__


def test_pointer_arguments_accept_what_the_stub_says():
    ffi = FFI()
    ffi.cdef("size_t strlen(const char *); void *memset(void *, int, size_t); "
             "long labs(long); typedef long time_t; time_t time(time_t *);")
    lib = ffi.dlopen(None)
    # 'char *': bytes or a cdata
    assert python_type(ffi.typeof("char *"), True) == "bytes | CData"
    assert lib.strlen(b"abc") == 3
    assert lib.strlen(ffi.new("char[]", b"abcd")) == 4
    # 'void *': a cdata (ffi.NULL for NULL: not None, not a list)
    assert python_type(ffi.typeof("void *"), True) == "CData"
    assert lib.memset(ffi.new("int[2]"), 0, 0) != ffi.NULL
    assert lib.memset(ffi.NULL, 0, 0) == ffi.NULL
    for not_accepted in (None, [1, 2]):
        with pytest.raises(TypeError):
            lib.memset(not_accepted, 0, 0)
    # other pointers: a cdata, or a list of items (a temporary array)
    assert python_type(ffi.typeof("time_t *"), True) == "CData | list[Any] | tuple[Any, ...]"
    assert lib.time([0]) > 0
    assert lib.time((0,)) > 0
    assert lib.time(ffi.NULL) > 0
