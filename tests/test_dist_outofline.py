"""Out-of-line ABI generation (nffi/cffi_writer.py): ``set_source(name, None)`` +
``emit_python_code()`` / ``compile()`` write the module in cffi's own format.

* differential: for many cdefs (those of test_compat_outofline.py, cffi's own
  test_dlopen/test_recompiler cases, tricky spellings, and random valid programs), the
  text nffi writes equals the text real cffi writes, character for character;
* the type table as cffi's tests print it (``Recompiler.cffi_types``);
* both ways: modules written by nffi are imported by real cffi (and by nffi.compat) in
  child processes and probed as test_compat_outofline.py probes cffi's own modules;
* errors: what cffi refuses in ABI mode, nffi refuses with the same exception.
"""
import io
import os
import subprocess
import sys

import cffi
import cffi.recompiler
import pytest
from hypothesis import HealthCheck, assume, given, settings

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)
import test_compat_outofline as outofline  # noqa: E402
from conftest import fuzz_examples  # noqa: E402
from test_calls import testlib_path  # noqa: E402,F401  (fixture: the C test library)
from test_cdef_fuzz import valid_programs  # noqa: E402

import nffi  # noqa: E402
from nffi import cffi_writer  # noqa: E402


def texts(cdefs, include=None, name="mod"):
    """(nffi's text, cffi's text) of the module 'name' for these cdefs."""
    result = []
    for make, write in ((nffi.FFI, cffi_writer.py_source),
                        (cffi.FFI, _cffi_text)):
        ffi = make()
        if include is not None:
            base = make()
            for source in include:
                base.cdef(source)
            base.set_source("base_mod", None)
            ffi.include(base)
        for source, kwargs in cdefs:
            ffi.cdef(source, **kwargs)
        result.append(write(ffi, name))
    return result


def _cffi_text(ffi, name):
    out = io.StringIO()
    cffi.recompiler.make_py_source(ffi, name, out)
    return out.getvalue()


CDEFS = [
    "int close(int); static const int BB = 42; extern int somevar;",
    "static const long BB; static const float BF = 12;",
    "typedef int foobar_t;",
    "enum myenum_e { AA, BB, CC=-42 };",
    "struct foo_s { int a; signed char b[]; }; struct bar_s;",
    "typedef int32_t my_array_t[42];",
    "extern int myglob;",
    "struct foo_s { int y:10; short x:5; };",
    "static const int BB = -42;",
    "double sin(double *, double *, double);",
    "int sin(double(float));",
    "int sin(int, ...);",
    "extern int a[100]; extern int b[]; extern int c[2][3];",
    "int32_t f(void);",
    "typedef struct { int a; long b; } foo_t;",
    "typedef struct { int a; } *foo_p;",
    "typedef struct { int a; } *foo_p, foo_t;",
    "typedef struct foo_s foo_t; struct foo_s { foo_t *next; };",
    "typedef union { int a; float b; } u_t; u_t get(u_t *);",
    "typedef enum { RED, GREEN = 5, BLUE } color_t; color_t pick(color_t);",
    "enum { ANON_A, ANON_B }; int use(int);",
    "typedef ... opaque_t; opaque_t *make(void); void drop(opaque_t *);",
    "typedef ... *handle_t; handle_t open_it(const char *);",
    "const char *greet(const char *const *names, char *buf, const int n[]);",
    "int f(const int *a, int *b); int g(int *a, const int *b);",
    "struct s { const char *name; char *const fixed; const struct s *next; };",
    "FILE *fopen(const char *, const char *); int fclose(FILE *);",
    "typedef int (*cb_t)(void *, int); int run(cb_t, void *); cb_t current;",
    "void qsort(void *, size_t, size_t, int(*)(const void *, const void *));",
    "struct outer { struct { int x; union { int y; float z; }; }; int w; };",
    "union u { struct { char a, b; }; short s; };",
    "struct a { struct b { int q; } inner; struct c *ptr; };",
    "struct p { char c; int i; };",
    "float _Complex cf(double _Complex); wchar_t wc(char16_t, char32_t);",
    "long double ld(long double); _Bool b(bool); int8_t i8(uint64_t, intptr_t, ssize_t);",
    "#define A 1\n#define B 0x10\n#define C -5\nstatic const unsigned long long D = 7;",
    "static const char *const names; const double limit; extern double ratio;",
    "int stdcall_func(int);",
    "typedef int arr_t[4]; arr_t *pa; int takes(arr_t);",
    "typedef struct node node_t; struct node { node_t *kids[4]; int (*visit)(node_t *); };",
]


@pytest.mark.parametrize("source", CDEFS)
def test_same_text_as_cffi(source):
    ours, theirs = texts([(source, {})])
    assert ours == theirs


@pytest.mark.parametrize("source", ["struct p { char c; int i; };",
                                    "struct q { char c; short s : 3; };"])
def test_packed_same_text_as_cffi(source):
    ours, theirs = texts([(source, {"packed": True})])
    assert ours == theirs


def test_several_cdefs_and_override_same_text_as_cffi():
    cdefs = [("typedef struct { int a; } one_t;", {}), ("int f(one_t *);", {}),
             ("typedef struct { int b; } two_t; struct s { struct { int c; }; };", {}),
             ("int f(two_t *);", {"override": True})]
    ours, theirs = texts(cdefs)
    assert ours == theirs


@pytest.mark.parametrize("case", sorted(outofline.CASES))
def test_compat_outofline_cases_same_text_as_cffi(case):
    cdefs, _, _, _, *include = outofline.CASES[case]
    base = None
    if include:
        base = [source for source, _ in outofline.CASES[include[0]][0]]
    ours, theirs = texts(cdefs, base)
    assert ours == theirs


@pytest.mark.parametrize("base, source", [
    ("typedef double foo_t;", "foo_t sin(foo_t);"),
    ("struct foo_s { int x, y; };", "struct foo_s *sin(struct foo_s *);"),
    ("struct foo_s; typedef struct { int a; } t_t; enum e { X };",
     "int f(struct foo_s *, t_t *, enum e);"),
    ("#define ABC 123", "static const int k2 = 121212;"),
])
def test_include_same_text_as_cffi(base, source):
    ours, theirs = texts([(source, {})], [base])
    assert ours == theirs


@settings(max_examples=fuzz_examples(60), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(valid_programs())
def test_random_programs_same_text_as_cffi(program):
    source = program[0]
    try:
        _, theirs = [None, _cffi_text(_cffi_ffi(source), "mod")]
    except Exception:           # noqa: BLE001 (cffi refuses it: no oracle)
        assume(False)
    ffi = nffi.FFI()
    ffi.cdef(source)
    assert cffi_writer.py_source(ffi, "mod") == theirs, source


def _cffi_ffi(source):
    ffi = cffi.FFI()
    ffi.cdef(source)
    return ffi


# ---- the type table, as cffi's tests print it ------------------------------------------

@pytest.mark.parametrize("source", [
    "double sin(double);", "float sin(double);", "float sin(void);",
    "double sin(float); double cos(float);", "double sin(float); double cos(double);",
    "double sin(double *, double *);", "int sin(double(float));", "int sin(int, ...);",
    "extern int a[100];", "typedef int foo_t;", "int32_t f(void);", "struct foo_s;",
    "struct foo_s { int a; long b; }; int f(struct foo_s*);",
    "typedef struct { int a; long b; } foo_t;", "enum foo_e { AA, BB, ... };",
    "typedef int... foo_t; foo_t f(foo_t);",
])
@pytest.mark.parametrize("target_is_python", [False, True])
def test_type_table_same_as_cffi(source, target_is_python):
    tables = []
    for make, recompiler in ((nffi.FFI, cffi_writer), (cffi.FFI, cffi.recompiler)):
        ffi = make()
        ffi.cdef(source)
        r = recompiler.Recompiler(ffi, "testmod", target_is_python=target_is_python)
        r.collect_type_table()
        tables.append("".join(map(str, r.cffi_types)))
    if "int..." in source:      # cffi's opcode text for unknown integers is C code
        tables = [t.split("(PRIMITIVE _cffi")[0] for t in tables]
    assert tables[0] == tables[1]


# ---- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("source, error, message", [
    ("#define FOO ...", nffi.VerificationError,
     "macro FOO: cannot use the syntax '...' in '#define FOO ...' when using the ABI mode"),
    ("enum foo { A, B, ... };", nffi.VerificationMissing, None),
    ("struct s { int a[...]; };", nffi.VerificationError, None),
    ("struct s { int a; }; struct t { struct s x; };", None, None),
    ('extern "Python" int cb(int);', nffi.VerificationError,
     "extern_python cb: cannot use 'extern \"Python\"' in the ABI mode"),
    ("typedef int32_t big_t[3000000000];", OverflowError, None),
])
def test_errors_as_cffi(source, error, message):
    for module, write in ((nffi, cffi_writer.py_source), (cffi, _cffi_text)):
        ffi = module.FFI()
        ffi.cdef(source)
        if error is None:
            write(ffi, "mod")
            continue
        with pytest.raises(getattr(module, error.__name__, error)) as info:
            write(ffi, "mod")
        if message is not None:
            assert str(info.value) == message


def test_include_needs_a_python_based_ffi():
    for module in (nffi, cffi):
        base = module.FFI()
        base.cdef("typedef int t;")
        ffi = module.FFI()
        ffi.include(base)
        ffi.set_source("mod", None)
        with pytest.raises(module.VerificationError):  # not prepared with set_source()
            ffi.emit_python_code(io.StringIO())
        base.set_source("base_mod", "/* C */")
        with pytest.raises(module.VerificationError):  # a C-based ffi
            ffi.emit_python_code(io.StringIO())


def test_emit_and_compile(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef("int abs(int);")
    with pytest.raises(ValueError):
        ffi.emit_python_code(str(tmp_path / "x.py"))          # no set_source() yet
    ffi.set_source("pkg.sub.mod", None)
    with pytest.raises(TypeError):
        ffi.emit_c_code(str(tmp_path / "x.c"))                # ABI mode: no C
    with pytest.raises(OSError):
        ffi.emit_python_code(str(tmp_path / "missing" / "x.py"))
    path = ffi.compile(str(tmp_path))
    assert path == os.path.join(str(tmp_path), "pkg", "sub", "mod.py")
    text = open(path).read()
    assert text == cffi_writer.py_source(ffi, "pkg.sub.mod")
    mtime = os.stat(path).st_mtime_ns
    assert ffi.compile(str(tmp_path)) == path                # unchanged: not rewritten
    assert os.stat(path).st_mtime_ns == mtime
    api = nffi.FFI()
    api.set_source("m", "/* C */")
    with pytest.raises(TypeError):
        api.emit_python_code(io.StringIO())


# ---- both ways: nffi's modules on real cffi and on nffi ---------------------------------

@pytest.fixture(scope="module")
def nffi_written_reports(tmp_path_factory, testlib_path):
    directory = tmp_path_factory.mktemp("nffi_written")
    cases = []
    ffis = {}
    for case, (cdefs, library, extra_types, probe, *include) in outofline.CASES.items():
        module = "_nffi_written_" + case
        ffi = nffi.FFI()
        for other in include:
            ffi.include(ffis[other])
        for source, kwargs in cdefs:
            ffi.cdef(source, **kwargs)
        ffi.set_source(module, None)
        ffi.emit_python_code(os.path.join(str(directory), module + ".py"))
        ffis[case] = ffi
        cases.append((module, library, extra_types, probe))
    return (outofline.run_probe("cffi", directory, testlib_path, cases),
            outofline.run_probe("nffi", directory, testlib_path, cases))


@pytest.mark.parametrize("case", [
    pytest.param(case, marks=pytest.mark.xfail(reason=outofline.KNOWN[case], strict=True))
    if case in outofline.KNOWN else case for case in sorted(outofline.CASES)])
def test_nffi_written_module_loads_on_cffi_and_nffi(nffi_written_reports, case):
    on_cffi, on_nffi = nffi_written_reports
    module = "_nffi_written_" + case
    assert on_cffi[module]["lib"], "nothing probed on real cffi"
    assert on_nffi[module] == on_cffi[module]


def test_importing_a_written_module_parses_no_declarations(tmp_path):
    """The module carries tables: importing it (and using its types by their ctypes)
    runs no cdef parser."""
    ffi = nffi.FFI()
    ffi.cdef("struct pt { int x, y; }; typedef struct pt pt_t; int abs(int); "
             "enum color { RED, GREEN };\n#define LIMIT 42")
    ffi.set_source("_noparse_mod", None)
    ffi.compile(str(tmp_path))
    code = ("import nffi.compat; nffi.compat.install()\n"
            "import nffi.cparser as c\n"
            "def boom(*a, **k): raise AssertionError('parsed at import')\n"
            "c.parse_cdef = c.parse_type = c.parse_type_with_definitions = boom\n"
            "import _noparse_mod as m\n"
            "lib = m.ffi.dlopen(None)\n"
            "print(lib.abs(-3), lib.LIMIT, lib.GREEN, m.ffi.list_types())\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NFFI_COMPAT", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), outofline.NFFI_PARENT])
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(None, 3)[:3] == ["3", "42", "1"]
