"""API mode: set_source() + compile() generate and build an extension module.

Differential: the same cdef and C source are compiled by cffi (the oracle) and by nffi
in pytest's tmp_path; values, errors and layouts must agree."""
import importlib.util
import itertools
import os
import sys
import threading
import time

import cffi
import pytest

import nffi
from nffi import VerificationError

_counter = itertools.count()


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_both(tmp_path, cdef, source, **kwargs):
    """(nffi module, cffi module) built from the same cdef and source."""
    n = next(_counter)
    mods = []
    for which, FFI in (("nffi", nffi.FFI), ("cffi", cffi.FFI)):
        ffi = FFI()
        ffi.cdef(cdef)
        name = "_api_%s_%d_%d" % (which, os.getpid(), n)
        ffi.set_source(name, source, **kwargs)
        path = ffi.compile(tmpdir=str(tmp_path / which))
        mods.append(_load(name, path))
    return mods


def same_outcome(f_nffi, f_cffi, *args):
    """Both raise the same exception type, or return equal values."""
    def run(f):
        try:
            return "ok", f(*args)
        except Exception as e:
            return "error", type(e).__name__
    a, b = run(f_nffi), run(f_cffi)
    assert a[0] == b[0], (args, a, b)
    return a, b


SCALARS_CDEF = """
    int add(int, int);
    long add6(long, long, long, long, long, long);
    unsigned char next_byte(unsigned char);
    unsigned long long umax(void);
    signed char neg(signed char);
    double muladd(double, double, double);
    float half(float);
    _Bool is_odd(int);
    char upper(char);
    size_t my_strlen(const char *);
    int sum_array(int *, int);
    void set_errno(int);
    long double twice_ld(long double);
"""
SCALARS_SOURCE = r"""
    #include <string.h>
    #include <errno.h>
    static int add(int a, int b) { return a + b; }
    static long add6(long a, long b, long c, long d, long e, long f) { return a+b+c+d+e+f; }
    static unsigned char next_byte(unsigned char c) { return (unsigned char)(c + 1); }
    static unsigned long long umax(void) { return ~0ULL; }
    static signed char neg(signed char c) { return (signed char)-c; }
    static double muladd(double a, double b, double c) { return a * b + c; }
    static float half(float x) { return x / 2; }
    static _Bool is_odd(int x) { return x & 1; }
    static char upper(char c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }
    static size_t my_strlen(const char *s) { return strlen(s); }
    static int sum_array(int *p, int n) { int s = 0; while (n--) s += *p++; return s; }
    static void set_errno(int e) { errno = e; }
    static long double twice_ld(long double x) { return 2 * x; }
"""


@pytest.fixture(scope="module")
def scalars(tmp_path_factory):
    return build_both(tmp_path_factory.mktemp("scalars"), SCALARS_CDEF, SCALARS_SOURCE)


@pytest.mark.parametrize("func, args", [
    ("add", (2, 3)), ("add", (-2**31, 0)), ("add", (2**31, 0)), ("add", (1.5, 2)),
    ("add", ("x", 1)), ("add", (True, 1)), ("add", (1,)), ("add", (1, 2, 3)),
    ("add6", (1, 2, 3, 4, 5, 6)), ("add6", (2**63, 0, 0, 0, 0, 0)),
    ("next_byte", (254,)), ("next_byte", (255,)), ("next_byte", (256,)), ("next_byte", (-1,)),
    ("umax", ()), ("neg", (-128,)), ("neg", (127,)), ("neg", (-129,)),
    ("muladd", (2.0, 3.0, 1.0)), ("muladd", (2, 3, 1)), ("muladd", ("a", 1, 1)),
    ("half", (3.0,)), ("half", (1e300,)), ("is_odd", (3,)), ("is_odd", (4,)),
    ("upper", (b"a",)), ("upper", (b"ab",)), ("upper", ("a",)), ("upper", (97,)),
    ("my_strlen", (b"hello",)), ("my_strlen", ("hello",)), ("my_strlen", (None,)),
    ("sum_array", ([1, 2, 3], 3)), ("sum_array", ((4, 5), 2)), ("sum_array", ([1, "x"], 2)),
])
def test_scalar_calls_match_cffi(scalars, func, args):
    mod_n, mod_c = scalars
    a, b = same_outcome(getattr(mod_n.lib, func), getattr(mod_c.lib, func), *args)
    if a[0] == "ok":
        assert a[1] == b[1] and type(a[1]) is type(b[1])
    else:
        assert a == b


def test_cdata_arguments_and_results(scalars):
    mod_n, mod_c = scalars
    for mod in scalars:
        arr = mod.ffi.new("int[4]", [1, 2, 3, 4])
        assert mod.lib.sum_array(arr, 4) == 10
        assert mod.lib.sum_array(mod.ffi.cast("int *", arr), 2) == 3
        assert mod.lib.my_strlen(mod.ffi.new("char[]", b"abc")) == 3
    assert float(mod_n.lib.twice_ld(1.25)) == float(mod_c.lib.twice_ld(1.25)) == 2.5
    assert repr(mod_n.ffi.typeof(mod_n.lib.twice_ld(1.0))) == "<ctype 'long double'>"
    # a pointer of another type: the converter's error, noted with the argument
    with pytest.raises(TypeError) as e:
        mod_n.lib.sum_array(mod_n.ffi.new("long[2]"), 2)
    assert "argument 1 of sum_array()" in getattr(e.value, "__notes__", [])


def test_errno_is_saved(scalars):
    mod_n, mod_c = scalars
    for mod in scalars:
        mod.lib.set_errno(42)
        assert mod.ffi.errno == 42
        mod.ffi.errno = 0


STRUCTS_CDEF = """
    struct pt { int x, y; };
    struct big { double a, b, c, d; char name[16]; };
    struct part { int b; ...; };
    union u { int i; float f; };
    struct pt mkpt(int, int);
    int sumpt(struct pt);
    struct big mkbig(double);
    double bigsum(struct big);
    union u mku(int);
    struct part mkpart(int);
    int part_b(struct part *);
"""
STRUCTS_SOURCE = r"""
    #include <string.h>
    struct pt { int x, y; };
    struct big { double a, b, c, d; char name[16]; };
    struct part { char a; int b; double c; };
    union u { int i; float f; };
    static struct pt mkpt(int x, int y) { struct pt p = {x, y}; return p; }
    static int sumpt(struct pt p) { return p.x + p.y; }
    static struct big mkbig(double v) { struct big b = {v, v*2, v*3, v*4, "big"}; return b; }
    static double bigsum(struct big b) { return b.a + b.b + b.c + b.d + strlen(b.name); }
    static union u mku(int i) { union u x; x.i = i; return x; }
    static struct part mkpart(int b) { struct part p = {'x', b, 1.5}; return p; }
    static int part_b(struct part *p) { return p->b; }
"""


def test_structs_by_value_match_cffi(tmp_path):
    mod_n, mod_c = build_both(tmp_path, STRUCTS_CDEF, STRUCTS_SOURCE)
    for mod in (mod_n, mod_c):
        p = mod.lib.mkpt(3, 4)
        assert (p.x, p.y) == (3, 4)
        assert mod.lib.sumpt(p) == 7
        assert mod.lib.sumpt([5, 6]) == 11
        b = mod.lib.mkbig(1.0)
        assert mod.ffi.string(b.name) == b"big"
        assert mod.lib.bigsum(b) == 13.0
        assert mod.lib.mku(7).i == 7
        assert mod.lib.mkpart(9).b == 9
        assert mod.lib.part_b(mod.ffi.new("struct part *", {"b": 4})) == 4
    for name in ("struct pt", "struct big", "struct part", "union u"):
        assert mod_n.ffi.sizeof(name) == mod_c.ffi.sizeof(name)
        assert mod_n.ffi.alignof(name) == mod_c.ffi.alignof(name)
    assert mod_n.ffi.offsetof("struct part", "b") == mod_c.ffi.offsetof("struct part", "b") == 4
    # fields a dict leaves out are 0 (cffi leaves them uninitialised: not an oracle here)
    assert mod_n.lib.sumpt({"x": 1}) == 1
    same_outcome(mod_n.lib.sumpt, mod_c.lib.sumpt, 5)
    same_outcome(mod_n.lib.sumpt, mod_c.lib.sumpt, [1, 2, 3])


GLOBALS_CDEF = """
    #define FOO ...
    #define BAR 7
    #define BIG ...
    static const int CI;
    static const double CD;
    static const char *const NAME;
    enum color { RED, GREEN = 5, ... };
    enum fixed { ONE = 1, TWO };
    extern int counter;
    extern int arr[3];
    struct pt { int x, y; };
    extern struct pt origin;
    extern const char *message;
    int get_counter(void);
"""
GLOBALS_SOURCE = r"""
    #define FOO (-42)
    #define BAR 7
    #define BIG 0xFFFFFFFFFFFFFFFFULL
    static const int CI = 99;
    static const double CD = 2.5;
    static const char *const NAME = "nffi";
    enum color { RED, BLUE, GREEN = 5 };
    enum fixed { ONE = 1, TWO };
    int counter = 5;
    int arr[3] = {1, 2, 3};
    struct pt { int x, y; };
    struct pt origin = {10, 20};
    const char *message = "hello";
    static int get_counter(void) { return counter; }
"""


def test_globals_and_constants_match_cffi(tmp_path):
    mod_n, mod_c = build_both(tmp_path, GLOBALS_CDEF, GLOBALS_SOURCE)
    for name in ("FOO", "BAR", "BIG", "CI", "CD", "RED", "GREEN", "ONE", "TWO"):
        assert getattr(mod_n.lib, name) == getattr(mod_c.lib, name), name
    assert mod_n.ffi.string(mod_n.lib.NAME) == mod_c.ffi.string(mod_c.lib.NAME) == b"nffi"
    for mod in (mod_n, mod_c):
        lib, ffi = mod.lib, mod.ffi
        assert lib.counter == 5
        lib.counter = 42
        assert lib.get_counter() == 42
        assert ffi.addressof(lib, "counter")[0] == 42
        ffi.addressof(lib, "counter")[0] = 5
        assert lib.counter == 5
        assert list(lib.arr) == [1, 2, 3]
        lib.arr[1] = 7
        assert ffi.addressof(lib, "arr")[0][1] == 7
        assert (lib.origin.x, lib.origin.y) == (10, 20)
        lib.origin.y = 21
        assert ffi.addressof(lib, "origin").y == 21
        assert ffi.string(lib.message) == b"hello"
        with pytest.raises(OverflowError):
            lib.counter = 2**40
        with pytest.raises(AttributeError):
            lib.no_such_thing
        with pytest.raises(AttributeError):
            lib.BAR = 3
        assert ffi.string(ffi.cast("enum color", 5)) == "GREEN"
    assert set(dir(mod_n.lib)) == set(dir(mod_c.lib))


def test_globals_accessed_in_turn_match_cffi(tmp_path):
    # the lib remembers the global it last read or wrote (one pointer comparison for the
    # next access of that name): accesses that alternate between names, names that are
    # other string objects of the same text, and deletion must all still be right
    cdef = ("extern int ga; extern short gb; extern double gd; extern struct pt gp; "
            "struct pt { int x, y; }; int sum(void);")
    source = ("int ga = 1; short gb = 2; double gd = 0.5; struct pt { int x, y; }; "
              "struct pt gp = {3, 4}; static int sum(void) { return ga + gb; }")
    seen = []
    for mod in build_both(tmp_path, cdef, source):
        lib, log = mod.lib, []
        for i in range(6):
            log.append((lib.ga, lib.gb, lib.gd, lib.gp.x, lib.sum()))
            lib.ga = lib.gb + i
            lib.gb = -i
            setattr(lib, "g" + "d", i / 4)          # a name string made at run time
            log.append((getattr(lib, "g" + "a"), lib.gb, lib.gd))
        lib.ga = 7
        for name in ("ga", "g" + "a"):
            try:
                delattr(lib, name)
            except AttributeError:
                log.append("delete refused")
        log.append(lib.ga)
        with pytest.raises(OverflowError):
            lib.gb = 2**20
        with pytest.raises(TypeError):
            lib.ga = "x"
        log.append((lib.ga, lib.gb))
        seen.append(log)
    assert seen[0] == seen[1]


def test_ffi_class_of_a_module_makes_empty_ffis_as_cffi(tmp_path):
    # a compiled module's ffi reads its declarations on first need; one made by calling
    # its class has none (and no module): an empty FFI, as cffi's
    seen = []
    for mod in build_both(tmp_path, "struct pt { int x; }; int f(void);",
                          "struct pt { int x; }; static int f(void) { return 3; }"):
        fresh = type(mod.ffi)()
        seen.append((fresh.sizeof("int"), fresh.typeof("int *").cname,
                     same_outcome(fresh.typeof, fresh.typeof, "struct pt")[0][0],
                     mod.ffi.sizeof("struct pt"), mod.lib.f()))
    assert seen[0] == seen[1]


def test_function_objects(tmp_path):
    mod_n, mod_c = build_both(tmp_path, "int add(int, int); int printf(const char *, ...);",
                              "#include <stdio.h>\nstatic int add(int a, int b) { return a + b; }")
    for mod in (mod_n, mod_c):
        ffi, lib = mod.ffi, mod.lib
        assert ffi.typeof(lib.add) is ffi.typeof("int(*)(int, int)")
        fp = ffi.addressof(lib, "add")
        assert ffi.typeof(fp) is ffi.typeof("int(*)(int, int)")
        assert fp(20, 22) == 42
        assert lib.add.__name__ == "add"
        assert ffi.typeof(lib.printf) is ffi.typeof("int(*)(char *, ...)")
        with pytest.raises(TypeError):
            lib.add(1, 2, x=3)


@pytest.mark.parametrize("c_struct", ["struct s { int a; long long b; };",
                                      "struct s { int a; char pad; int b; };",
                                      "struct s { int a; int b; int c; };"])
def test_layout_mismatch_is_reported_as_cffi(tmp_path, c_struct):
    mod_n, mod_c = build_both(tmp_path, "struct s { int a; int b; };", c_struct)
    messages = []
    for mod in (mod_n, mod_c):          # reported when the struct is used, as cffi
        with pytest.raises(mod.ffi.error) as e:
            mod.ffi.new("struct s *")
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_constant_mismatch_is_reported(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef("#define FOO 41")
    name = "_api_cmis_%d" % os.getpid()
    ffi.set_source(name, "#define FOO 42")
    path = ffi.compile(tmpdir=str(tmp_path))
    lib = _load(name, path).lib
    with pytest.raises(ffi.error, match=r"'FOO' is equal to 42 \(0x2a\), but the cdef "
                                        "disagrees"):
        lib.FOO


def test_c_error_in_source(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef("int f(void);")
    ffi.set_source("_api_bad", "static int f(void) {\n  return missing_name;\n}\n")
    with pytest.raises(VerificationError) as e:
        ffi.compile(tmpdir=str(tmp_path))
    assert "_api_bad.c:" in str(e.value) and "missing_name" in str(e.value)


def test_set_source_rules(tmp_path):
    ffi = nffi.FFI()
    with pytest.raises(ValueError, match="set_source"):
        ffi.compile(tmpdir=str(tmp_path))
    ffi.set_source("_x", "")
    with pytest.raises(ValueError, match="several times"):
        ffi.set_source("_y", "")
    ffi.set_source("_x", "int x;")       # the same name: replaces (nffi only)


def test_dotted_module_in_package(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef("int triple(int);")
    pkg = "apipkg%d" % os.getpid()
    ffi.set_source(pkg + "._impl", "static int triple(int x) { return 3 * x; }")
    path = ffi.compile(tmpdir=str(tmp_path))
    assert os.path.dirname(path) == str(tmp_path / pkg)
    (tmp_path / pkg / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module(pkg + "._impl")
        assert mod.lib.triple(5) == 15
        from_lib = importlib.import_module(pkg + "._impl.lib")
        assert from_lib.triple(2) == 6
    finally:
        sys.path.remove(str(tmp_path))


def test_compile_does_not_rebuild_unchanged(tmp_path):
    def make():
        ffi = nffi.FFI()
        ffi.cdef("int one(void);")
        ffi.set_source("_api_cache", "static int one(void) { return 1; }")
        return ffi
    path = make().compile(tmpdir=str(tmp_path))
    stamp = os.stat(path).st_mtime_ns
    c_stamp = os.stat(tmp_path / "_api_cache.c").st_mtime_ns
    assert make().compile(tmpdir=str(tmp_path)) == path
    assert os.stat(path).st_mtime_ns == stamp
    assert os.stat(tmp_path / "_api_cache.c").st_mtime_ns == c_stamp


def test_emit_c_code_is_warning_free(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef(SCALARS_CDEF)
    ffi.cdef(STRUCTS_CDEF)
    ffi.cdef("int printf(const char *, ...); extern int counter;\n#define K ...\n"
             "static const double D;", release_gil=False)
    ffi.cdef(EXTERN_CDEF)
    # 'const' of pointed-to types is not kept by the cdef: no warning either
    ffi.cdef("void qsort(void *, size_t, size_t, int(*)(const void *, const void *));"
             "const char *getenv(const char *);")
    ffi.set_source("_api_warn", "#include <stdlib.h>\n" + SCALARS_SOURCE + STRUCTS_SOURCE +
                   EXTERN_SOURCE +
                   "#include <stdio.h>\nint counter;\n#define K 3\nstatic const double D = 1;")
    c_file = tmp_path / "_api_warn.c"
    ffi.emit_c_code(str(c_file))
    text = c_file.read_text()
    assert "METH_FASTCALL" in text and "_nffi_api->call_begin(1)" in text   # GIL released
    import subprocess
    import sysconfig
    proc = subprocess.run(["gcc", "-c", "-o", str(tmp_path / "x.o"), "-Wall", "-Wextra",
                           "-I" + sysconfig.get_paths()["include"], str(c_file)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr


def test_verify_builds_once_and_shares_types(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef("struct s { int b; ...; }; int get_b(struct s *);")
    source = "struct s { char a; int b; };\nstatic int get_b(struct s *p) { return p->b; }"
    lib = ffi.verify(source, tmpdir=str(tmp_path))
    assert ffi.sizeof("struct s") == 8 and ffi.offsetof("struct s", "b") == 4
    p = ffi.new("struct s *", {"b": 5})
    assert lib.get_b(p) == 5
    built = [n for n in os.listdir(tmp_path) if n.endswith(".so")]
    assert len(built) == 1
    stamp = os.stat(tmp_path / built[0]).st_mtime_ns
    ffi2 = nffi.FFI()
    ffi2.cdef("struct s { int b; ...; }; int get_b(struct s *);")
    lib2 = ffi2.verify(source, tmpdir=str(tmp_path))
    assert lib2.get_b(ffi2.new("struct s *", {"b": 6})) == 6
    assert os.stat(tmp_path / built[0]).st_mtime_ns == stamp


def test_include_between_compiled_modules(tmp_path):
    base = nffi.FFI()
    base.cdef("typedef struct { int v; } box_t;")
    name = "_api_base_%d" % os.getpid()
    base.set_source(name, "typedef struct { int v; } box_t;")
    sys.path.insert(0, str(tmp_path))
    try:
        base.compile(tmpdir=str(tmp_path))
        user = nffi.FFI()
        user.include(base)
        user.cdef("int unbox(box_t *);")
        user.set_source(name + "_user", "typedef struct { int v; } box_t;\n"
                        "static int unbox(box_t *b) { return b->v; }")
        user.compile(tmpdir=str(tmp_path))
        base_mod = importlib.import_module(name)
        user_mod = importlib.import_module(name + "_user")
        box = base_mod.ffi.new("box_t *", [9])
        assert user_mod.lib.unbox(box) == 9
    finally:
        sys.path.remove(str(tmp_path))


GIL_CDEF = """
    extern volatile int flag;
    int wait_for_flag(int);
"""
GIL_SOURCE = r"""
    #include <time.h>
    volatile int flag;
    static int wait_for_flag(int ms) {      /* 1 if flag was set within ms */
        struct timespec t = {0, 1000000};
        while (ms-- > 0) { if (flag) return 1; nanosleep(&t, NULL); }
        return flag != 0;
    }
"""


@pytest.mark.parametrize("release_gil", [True, False])
def test_gil_released_unless_asked(tmp_path, release_gil):
    ffi = nffi.FFI()
    ffi.cdef(GIL_CDEF.replace("volatile ", ""), release_gil=release_gil)
    name = "_api_gil_%d_%d" % (os.getpid(), release_gil)
    ffi.set_source(name, GIL_SOURCE)
    lib = _load(name, ffi.compile(tmpdir=str(tmp_path))).lib

    def setter():
        lib.flag = 1
    lib.flag = 0
    t = threading.Timer(0.05, setter)
    t.start()
    seen = lib.wait_for_flag(1000)
    t.join()
    # with the GIL released the Python thread sets the flag while C waits
    assert seen == (1 if release_gil else 0)


def test_cplusplus_source(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef("int vec_len(int);")
    name = "_api_cpp_%d" % os.getpid()
    ffi.set_source(name, "#include <vector>\n"
                   "static int vec_len(int n) { return (int)std::vector<int>(n).size(); }",
                   source_extension=".cpp")
    mod = _load(name, ffi.compile(tmpdir=str(tmp_path)))
    assert mod.lib.vec_len(4) == 4


def test_user_names_do_not_clash_with_generated_ones(tmp_path):
    # names the generated code could use for its own locals
    cdef = """
        extern int a, v, i, p, m, r, temps, result;
        extern int unsized[];
        int combine(int, int);
        static const char *const cv;
    """
    source = r"""
        int a = 1, v = 2, i = 3, p = 4, m = 5, r = 6, temps = 7, result = 8;
        int unsized[] = {10, 20, 30};
        static int combine(int x0, int x1) { return a + v + i + p + m + r + temps + result + x0 * x1; }
        static const char *const cv = "cv";
    """
    mod_n, mod_c = build_both(tmp_path, cdef, source)
    for mod in (mod_n, mod_c):
        lib, ffi = mod.lib, mod.ffi
        assert [lib.a, lib.v, lib.i, lib.p, lib.m, lib.r, lib.temps, lib.result] == \
            list(range(1, 9))
        assert lib.combine(2, 3) == 42
        assert ffi.typeof(lib.unsized) is ffi.typeof("int *")
        assert lib.unsized[2] == 30
        assert ffi.string(lib.cv) == b"cv"
    assert mod_n.lib.combine.__doc__.replace("nffi", "cffi") == \
        mod_c.lib.combine.__doc__


EXTERN_CDEF = """
    extern "Python" int combine(int, int);
    extern "Python" { void record(int); double twice(double); }
    extern "Python+C" int visible(int);
    int call_combine(int, int);
    void record_in_thread(int);
    double call_twice(double);
"""
EXTERN_SOURCE = r"""
    #include <pthread.h>
    static int combine(int, int);      /* cffi needs these; nffi declares them itself */
    static void record(int);
    static double twice(double);
    int visible(int);
    static int call_combine(int a, int b) { return combine(a, b) + 1; }
    static void *run(void *arg) { record((int)(long)arg); return NULL; }
    static void record_in_thread(int v) {
        pthread_t t;
        pthread_create(&t, NULL, run, (void *)(long)v);
        pthread_join(t, NULL);
    }
    static double call_twice(double x) { return twice(x); }
"""


def test_extern_python_matches_cffi(tmp_path, capfd):
    mod_n, mod_c = build_both(tmp_path, EXTERN_CDEF, EXTERN_SOURCE)
    for mod in (mod_n, mod_c):
        ffi, lib = mod.ffi, mod.lib
        capfd.readouterr()
        assert lib.call_combine(2, 3) == 1          # nothing attached: 0, and a message
        err = capfd.readouterr().err
        assert "function %s.combine() called, but no code was attached" \
            % mod.__name__ in err

        @ffi.def_extern()
        def combine(a, b):
            return a * b
        assert lib.call_combine(2, 3) == 7
        assert lib.combine(4, 5) == 20               # callable from Python too
        assert ffi.typeof(lib.combine) is ffi.typeof("int(*)(int, int)")
        seen = []

        @ffi.def_extern(name="record")
        def anything(v):
            seen.append(v)
        lib.record_in_thread(9)                      # from a thread C created
        assert seen == [9]

        errors = []

        @ffi.def_extern(error=-1.0, onerror=lambda *exc: errors.append(exc[0]))
        def twice(x):
            raise ValueError
        assert lib.call_twice(2.0) == -1.0
        assert errors == [ValueError]
        with pytest.raises(ffi.error):
            ffi.def_extern(name="no_such_function")(lambda: 0)


def test_a_file_argument_kept_by_c_stays_valid(tmp_path):
    """C may keep the FILE * a call was given (cffi's test_FILE_stored_in_stdout sets
    'stdout' to it): it is the file's own FILE, valid while the file object lives, not a
    temporary closed after the call."""
    cdef = "void keep(FILE *f); int write_kept(const char *s);"
    source = """
        #include <stdio.h>
        static FILE *kept;
        void keep(FILE *f) { kept = f; }
        int write_kept(const char *s) { return fputs(s, kept) < 0 ? -1 : fflush(kept); }
    """
    for mod in build_both(tmp_path, cdef, source):
        fdr, fdw = os.pipe()
        with os.fdopen(fdw, "wb") as fw:
            mod.lib.keep(fw)
            for _ in range(50):         # a closed FILE would be reused by these
                mod.ffi.new("char[]", 64)
            assert mod.lib.write_kept(b"hello") == 0
        # the kept FILE holds a copy of the write end until the file object dies: read
        # what is there rather than to the end
        assert os.read(fdr, 256) == b"hello"
        os.close(fdr)


# ---- issue 12, conformance: each case built by both nffi and cffi ---------------------

def _build_one(FFI, tmp_path, which, cdef, source, cdef_kwargs=None, **kwargs):
    ffi = FFI()
    ffi.cdef(cdef, **(cdef_kwargs or {}))
    name = "_api_%s_%d_%d" % (which, os.getpid(), next(_counter))
    ffi.set_source(name, source, **kwargs)
    return _load(name, ffi.compile(tmpdir=str(tmp_path / which)))


def build_pair(tmp_path, cdef, source, cdef_kwargs=None, **kwargs):
    """[(ffi, lib) of nffi, (ffi, lib) of cffi] for the same cdef and source."""
    mods = [_build_one(FFI, tmp_path, which, cdef, source, cdef_kwargs, **kwargs)
            for which, FFI in (("nffi", nffi.FFI), ("cffi", cffi.FFI))]
    return [(m.ffi, m.lib) for m in mods]


def test_dotdotdot_lengths_in_every_dimension_match_cffi(tmp_path):
    cdef = """
        typedef int foo_t[...];
        typedef int mat_t[...][...];
        typedef int vmat_t[][...];
        extern int a[...][...];
        extern int b[][...];
        extern char *names[...];
        struct s { int x[...][...]; };
        struct t { int y[][...]; };
    """
    source = """
        typedef int foo_t[50];
        typedef int mat_t[6][7];
        typedef int vmat_t[][8];
        int a[10][8];
        int b[3][4];
        char *names[] = {"a", "b", "c"};
        struct s { int before; int x[5][8]; int after; };
        struct t { int before; int y[5][7]; int after; };
    """
    results = []
    for ffi, lib in build_pair(tmp_path, cdef, source):
        lib.a[9][7] = 123
        s = ffi.new("struct s *")
        t = ffi.new("struct t *")
        results.append((
            ffi.sizeof("foo_t"), ffi.sizeof("mat_t"), len(ffi.new("mat_t")[3]),
            ffi.typeof("vmat_t").cname, ffi.typeof(lib.a).cname, lib.a[9][7],
            ffi.typeof(lib.b).cname, ffi.typeof(lib.names).cname,
            ffi.string(lib.names[2]), ffi.sizeof("struct s"), ffi.offsetof("struct s", "x"),
            ffi.typeof(s.x).cname, ffi.sizeof("struct t"), ffi.typeof(t.y[0]).cname))
        with pytest.raises(IndexError):
            lib.a[0][8]
        with pytest.raises(IndexError):
            s.x[4][8]
    assert results[0] == results[1]
    assert results[0][:2] == (200, 168)


def test_dotdotdot_global_of_the_wrong_item_type_is_reported(tmp_path):
    ffi = nffi.FFI()
    ffi.cdef("extern int fooarray[...];")
    with pytest.raises(VerificationError, match=r"'fooarray\[0\]' has size 4 .* says 1"):
        ffi.verify("char fooarray[23];", tmpdir=str(tmp_path))


def test_lib_function_where_a_pointer_is_expected_matches_cffi(tmp_path):
    cdef = """
        struct s { int x; };
        struct s add1(struct s);
        int mycall(struct s(*)(struct s)); int mycall2(void *);
        int call1(int(__cdecl *cb)(int));
        int (*const call2)(int(*cb)(int));
    """
    source = """
        struct s { int x; };
        static struct s add1(struct s a) { struct s r; r.x = a.x + 1; return r; }
        static int mycall(struct s(*cb)(struct s)) { struct s a; a.x = 100; return cb(a).x; }
        static int mycall2(void *cb) {
            struct s a; a.x = 200; return ((struct s(*)(struct s))cb)(a).x;
        }
        static int call1(int(*cb)(int)) { return cb(3); }
        static int call2_impl(int(*cb)(int)) { return cb(-3); }
        static int (*const call2)(int(*cb)(int)) = call2_impl;
    """
    results = []
    for ffi, lib in build_pair(tmp_path, cdef, source):
        table = ffi.new("struct s(*[1])(struct s)")
        table[0] = lib.add1
        s = ffi.new("struct s *", [5])[0]
        cb = ffi.callback("int(int)", lambda x: x * 2)
        results.append((
            lib.mycall(lib.add1), lib.mycall2(lib.add1), table[0](s).x,
            ffi.cast("struct s(*)(struct s)", ffi.cast("void *", lib.add1))(s).x,
            int(ffi.cast("intptr_t", lib.add1)) == int(ffi.cast("intptr_t",
                                                                ffi.addressof(lib, "add1"))),
            ffi.typeof("int(__cdecl *)(int)") is ffi.typeof("int(*)(int)"),
            lib.call1(cb), ffi.addressof(lib, "call1")(cb), lib.call2(cb),
            ffi.addressof(lib, "call2")(cb)))
    assert results[0] == results[1]


def test_struct_by_value_refusals_word_as_cffi(tmp_path):
    cases = [
        ("struct foo { int x; ...; };", "struct foo { int y, x; };", {}),
        ("struct foo { int a; union { int b, c; }; };",
         "struct foo { int a; union { int b, c; }; };", {}),
        ("struct foo { char y; int x; };",
         "struct foo { char y; int x; } __attribute__((packed));", {"packed": True}),
        ("struct foo { int a; int x[0]; };", "struct foo { int a; int x[0]; };", {}),
    ]
    for struct_cdef, struct_source, cdef_kwargs in cases:
        cdef = struct_cdef + "\nstruct foo f(void);\nstruct foo g(int, ...);"
        source = struct_source + """
            struct foo f(void) { struct foo s; memset(&s, 0, sizeof(s)); return s; }
            struct foo g(int a, ...) { return f(); }
        """
        messages = []
        for ffi, lib in build_pair(tmp_path, cdef, "#include <string.h>\n" + source,
                                   cdef_kwargs):
            lib.f()                                 # API mode: fine
            with pytest.raises(NotImplementedError) as e:
                lib.g(0)                            # variadic: through libffi
            messages.append(str(e.value))
        assert messages[0] == messages[1], struct_cdef


def test_extern_python_in_a_cplusplus_source_matches_cffi(tmp_path):
    cdef = """
        extern "Python" { int bar(int, int); void baz(int, int); }
        extern "Python+C" int plus(int);
        int call_baz(int);
    """
    source = """extern "C" {
        static void baz(int, int);
        int plus(int);
        static int call_baz(int x) { baz(x, 1); return plus(x); }
    }"""
    results = []
    for (ffi, lib) in build_pair(tmp_path, cdef, source, source_extension=".cpp"):
        seen = []

        @ffi.def_extern()
        def baz(x, y):
            seen.append((x, y))

        @ffi.def_extern(name="plus")
        def plus_impl(x):
            return x + 100

        @ffi.def_extern()
        def bar(x, y):
            return x * y
        results.append((lib.call_baz(7), seen, lib.bar(6, 7)))
    assert results[0] == results[1] == (107, [(7, 1)], 42)


def test_def_extern_errors_match_cffi(tmp_path):
    messages = []
    for ffi, lib in build_pair(tmp_path, "extern int abc;", "int abc;"):
        def fn():
            pass
        with pytest.raises(ffi.error) as e:
            ffi.def_extern("abc")(fn)
        with pytest.raises(ffi.error) as e2:
            ffi.def_extern()(fn)
        with pytest.raises(TypeError):
            ffi.def_extern(425)(fn)
        messages.append((str(e.value), str(e2.value)))
    assert messages[0] == messages[1]


def test_api_mode_refusals_before_compiling_match_cffi(tmp_path):
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef("struct foo { char y; int x; };", pack=2)
        ffi.set_source("_api_pack_%d" % next(_counter), "")
        with pytest.raises(NotImplementedError):
            ffi.compile(tmpdir=str(tmp_path))
    messages = []
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef("struct a foo(int);")
        ffi.set_source("_api_opaque_%d" % next(_counter), "?")   # never compiled
        with pytest.raises(TypeError) as e:
            ffi.compile(tmpdir=str(tmp_path))
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_c_sources_of_a_cplusplus_module_stay_c(tmp_path):
    extra = tmp_path / "extra_c_file.c"
    extra.write_text("const int external_foo = 42;\n")    # external linkage in C only
    dotted = str(tmp_path / "no_such_dir" / ".." / "extra_c_file.c")
    values = []
    for ffi, lib in build_pair(tmp_path, "const int external_foo;",
                               'extern "C" { extern const int external_foo; }',
                               source_extension=".cpp", sources=[dotted]):
        values.append(lib.external_foo)
    assert values == [42, 42]


def test_include_of_a_verified_ffi_shares_its_types(tmp_path):
    ffi1 = nffi.FFI()
    ffi1.cdef("typedef struct { int x; ...; } foo_t;")
    ffi1.verify("typedef struct { int y, x; } foo_t;", tmpdir=str(tmp_path))
    ffi2 = nffi.FFI()
    ffi2.include(ffi1)
    ffi2.cdef("int myfunc(foo_t *);")
    lib = ffi2.verify("typedef struct { int y, x; } foo_t;"
                      "int myfunc(foo_t *p) { return 42 * p->x; }", tmpdir=str(tmp_path))
    assert lib.myfunc(ffi2.new("foo_t *", {'x': 10})) == 420
    assert lib.myfunc(ffi1.new("foo_t *", {'x': -10})) == -420


@pytest.mark.parametrize("c_type", ["unsigned long", "long double"])
def test_float_dotdotdot_that_is_no_double_matches_cffi(tmp_path, c_type):
    cdef = "typedef double... foo_t; foo_t neg(foo_t); int other(int);"
    source = ("typedef %s foo_t; foo_t neg(foo_t x) { return -x; }\n"
              "int other(int x) { return x + 1; }" % c_type)
    messages = []
    for ffi, lib in build_pair(tmp_path, cdef, source):
        assert lib.other(1) == 2                # the rest of the module works
        with pytest.raises(ffi.error) as e:
            lib.neg
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_enumerator_in_two_enums_is_refused_as_cffi(tmp_path):
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef("enum e1 { A1, ... }; enum e2 { A1, ... };")
        ffi.set_source("_api_dup_enum_%d" % next(_counter), "enum e1 { A1 }; enum e2 { B1 };")
        with pytest.raises(VerificationError if FFI is nffi.FFI else cffi.VerificationError):
            ffi.compile(tmpdir=str(tmp_path))


def test_verify_checks_field_types_and_words_as_cffi(tmp_path):
    def mismatch(cdef, source):
        ffi = nffi.FFI()
        ffi.cdef(cdef)
        with pytest.raises(VerificationError) as e:
            ffi.verify(source, tmpdir=str(tmp_path))
        return str(e.value)
    full = "struct foo_s { char x; int y; long *z; };"
    assert "field 'z'" in mismatch(full, "struct foo_s { char x; int y; int *z; };")
    assert "field 'x'" in mismatch("struct foo_s { int x; ...; };", "struct foo_s { float x; };")
    assert mismatch(full, "struct foo_s { int y; char x; long *z; };") == (
        "struct foo_s: wrong offset for field 'x' (we have 0, but C compiler says 4)")
    ffi = nffi.FFI()
    ffi.cdef("struct foo_s { int x; ...; }; union foo_u { struct foo_s s; };")
    ffi.verify("struct foo_s { int a; int x; }; union foo_u { char b[32]; struct foo_s s; };",
               tmpdir=str(tmp_path))
    assert (ffi.sizeof("struct foo_s"), ffi.sizeof("union foo_u")) == (8, 32)


def test_lib_all_and_module_look_match_cffi(tmp_path):
    seen = []
    for ffi, lib in build_pair(tmp_path, "int mybar(int); static int myvar;\n#define MYFOO ...",
                               "#define MYFOO 42\nstatic int mybar(int x) { return x + 1; }\n"
                               "static int myvar = -5;"):
        seen.append((lib.__all__, lib.__class__ is type(sys), lib.MYFOO, lib.myvar))
    assert seen[0] == seen[1] == (['MYFOO', 'mybar'], True, 42, -5)


def test_flexible_array_inside_a_dotdotdot_struct_matches_cffi(tmp_path):
    seen = []
    for ffi, lib in build_pair(tmp_path, "struct foo_s { int a[]; int y; ...; };",
                               "struct foo_s { int x; int a[17]; int y; };"):
        s = ffi.new("struct foo_s *")
        s.a[17] = -521
        t = ffi.new("struct foo_s *", {'a': list(range(18))})
        seen.append((ffi.sizeof("struct foo_s"), ffi.typeof(s.a).cname, len(s.a), s.y,
                     t.y, t.a[16]))
    assert seen[0] == seen[1] == (76, "int[]", 18, -521, 17, 16)


@pytest.mark.parametrize("c_struct, message", [
    ("struct { int a; char b; }", None),
    ("struct { int a; short b; }", r"wrong size for field 'b' \(cdef says 1, but C compiler says 2\)"),
    ("struct { int a; char e, b; }",
     r"wrong offset for field 'b' \(cdef says 4, but C compiler says 5\)"),
])
def test_fields_of_anonymous_members_are_checked(tmp_path, c_struct, message):
    ffi = nffi.FFI()
    ffi.cdef("struct foo_s { struct { int a; char b; }; union { char c, d; }; };")
    source = "struct foo_s { %s; union { char c, d; }; };" % c_struct
    if message is None:
        ffi.verify(source, tmpdir=str(tmp_path))
        assert ffi.offsetof("struct foo_s", "c") == 8
    else:
        with pytest.raises(VerificationError, match=message):
            ffi.verify(source, tmpdir=str(tmp_path))


@pytest.mark.parametrize("c_struct", [
    "struct foo_s { int pad; union { char c, d; }; struct { int a; char b; }; };",
    "struct foo_s { char x; double y; union { char c, d; }; struct { int a; char b; }; };",
    "struct foo_s { long long pad[3]; struct { int a; char b; }; union { char c, d; }; };",
])
def test_anonymous_members_of_a_partial_struct_are_placed_by_the_compiler(tmp_path,
                                                                         c_struct):
    # the C struct puts the members where it likes; the cdef's order means nothing
    cdef = "struct foo_s { union { char c, d; }; struct { int a; char b; }; ...; };"
    (ffi_n, _), (ffi_c, _) = build_pair(tmp_path, cdef, c_struct)
    for field in ("a", "b", "c", "d"):
        assert ffi_n.offsetof("struct foo_s", field) == \
            ffi_c.offsetof("struct foo_s", field), field
    assert ffi_n.sizeof("struct foo_s") == ffi_c.sizeof("struct foo_s")
    p = ffi_n.new("struct foo_s *", {"a": -5, "b": b"z", "c": b"y"})
    assert (p.a, p.b, p.c, p.d) == (-5, b"z", b"y", b"y")


def test_a_view_of_released_memory_is_refused_as_in_abi_mode(tmp_path):
    # the wrappers' fast path for a cdata of exactly the parameter's type must not
    # pass memory that ffi.release() gave back (through a view made before)
    (ffi, lib), _ = build_pair(tmp_path, "int first(int *p);",
                               "int first(int *p) { return p[0]; }")
    buf = bytearray(b"\x07\x00\x00\x00" * 4)
    p = ffi.from_buffer("int[]", buf)
    q = p + 1
    assert ffi.typeof(q) is ffi.typeof("int *")
    assert lib.first(q) == 7
    ffi.release(p)
    with pytest.raises(ValueError):
        lib.first(q)
    with pytest.raises(ValueError):
        lib.first(p)


@pytest.mark.parametrize("through_verifier", [False, True])
def test_verify_relative_to_names_the_base_of_relative_paths(tmp_path, through_verifier):
    # cffi's relative_to=: include_dirs, sources, ... are relative to that file's directory
    from nffi.verifier import Verifier
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "foo.h").write_text("int foo(int a) { return a + 42; }\n")
    ffi = nffi.FFI()
    ffi.cdef("int foo(int);")
    kwargs = dict(include_dirs=["inc"], relative_to=str(tmp_path / "setup.py"))
    if through_verifier:
        lib = Verifier(ffi, '#include "foo.h"', tmpdir=str(tmp_path / "v"),
                       **kwargs).load_library()
    else:
        lib = ffi.verify('#include "foo.h"', tmpdir=str(tmp_path / "v"), **kwargs)
    assert lib.foo(100) == 142
