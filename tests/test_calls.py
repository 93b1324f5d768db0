"""Calling C: function calls through libffi, callbacks, errno, dlopen and <lib> objects.

Most tests run the same operation on nffi and on cffi (the oracle) against the same
compiled test library (tests/clib/testlib.c, built with `cc -shared -fPIC` into a
per-user cache keyed by the source's hash) and require the same value, or the same
exception type and message.  The C library itself (abs, strlen, sin, qsort, snprintf)
is tested too.
"""
import gc
import hashlib
import io
import math
import os
import subprocess
import sys
import threading
import weakref

import cffi
import pytest

import nffi
from nffi import _core

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)     # for 'import cc' without a tests/__init__.py
import cc  # noqa: E402

TESTLIB_SOURCE = os.path.join(TESTS_DIR, "clib", "testlib.c")


@pytest.fixture(scope="session")
def testlib_path():
    with open(TESTLIB_SOURCE, "rb") as f:
        source = f.read()
    flags = ["-shared", "-fPIC", "-pthread", "-O1", "-w"]
    key = hashlib.sha256(b"\0".join([cc.CC.encode(), *(x.encode() for x in flags),
                                     source])).hexdigest()[:32]
    path = os.path.join(cc.cache_dir(), "testlib-%s.so" % key)
    if not os.path.exists(path):
        tmp = "%s.%d.tmp" % (path, os.getpid())
        result = subprocess.run([cc.CC, *flags, TESTLIB_SOURCE, "-o", tmp],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail("compiling testlib.c failed:\n" + result.stderr)
        os.replace(tmp, path)
    return path


PRIMITIVES = [
    ("schar", "signed char"), ("uchar", "unsigned char"), ("short", "short"),
    ("ushort", "unsigned short"), ("int", "int"), ("uint", "unsigned int"),
    ("long", "long"), ("ulong", "unsigned long"), ("llong", "long long"),
    ("ullong", "unsigned long long"), ("int8", "int8_t"), ("uint8", "uint8_t"),
    ("int16", "int16_t"), ("uint16", "uint16_t"), ("int32", "int32_t"),
    ("uint32", "uint32_t"), ("int64", "int64_t"), ("uint64", "uint64_t"),
    ("size", "size_t"), ("ssize", "ssize_t"), ("intptr", "intptr_t"),
    ("float", "float"), ("double", "double"),
]

TESTLIB_CDEF = "\n".join("%s id_%s(%s); %s add_%s(%s, %s);" % (t, n, t, t, n, t, t)
                         for n, t in PRIMITIVES) + """
long double id_ldouble(long double); long double add_ldouble(long double, long double);
_Bool id_bool(_Bool); _Bool not_bool(_Bool); char id_char(char); char next_char(char);
wchar_t id_wchar(wchar_t); char16_t id_char16(char16_t); char32_t id_char32(char32_t);
char16_t next_char16(char16_t); char32_t next_char32(char32_t);
enum color { RED, GREEN = 5, BLUE };
enum color next_color(enum color);
long sum6l(long, long, long, long, long, long);
double sum3d(double, double, double);
double mixed(int a, double b, int c, float d, long long e, double f);
double many_args(int, double, int, double, int, double, int, double, int, double,
                 int, double, int, double, int, double, int, double, int, double);
long double ld_mix(int a, long double b, double c, long double d);
void do_nothing(void);

struct small { int x, y; };
struct large { long a, b, c, d, e; };
struct fl { float f; double d; };
struct ff3 { float a, b, c; };
struct three { unsigned char a, b, c; };
struct nested { struct small s; double d; char tag[3]; };
struct bf { int a : 3; int b : 5; };
struct ldbl { long double x; int tag; };
union iu { int i; float f; };
struct small small_make(int x, int y);
struct small small_add(struct small a, struct small b);
int small_sum(struct small s);
int small_sum_p(struct small *s);
struct large large_make(long base);
long large_sum(struct large s);
struct fl fl_scale(struct fl s, double k);
struct ff3 ff3_rot(struct ff3 s);
struct three three_make(void);
int three_sum(struct three t);
struct nested nested_make(int x, int y, double d);
double nested_sum(struct nested n);
struct bf bf_make(void);
int bf_sum(struct bf b);
struct ldbl ldbl_make(long double x);
int iu_get(union iu u);
void modify_small(struct small s);
struct big { char data[5000]; int tail; };
struct big big_make(int tail);
int big_check(struct big b, int k);
struct anon { int a; struct { char b; double c; }; short d; };
double anon_sum(struct anon s);
struct anon anon_make(int a);

size_t my_strlen(const char *s);
size_t my_ustrlen(const unsigned char *s);
size_t my_vstrlen(const void *s);
size_t my_wcslen(const wchar_t *s);
size_t my_c16len(const char16_t *s);
int sum_ints(const int *a, int n);
double sum_doubles(const double *a, int n);
int sum_points(const struct small *p, int n);
void fill_ints(int *a, int n);
int count_strings(char **argv);
const char *greeting(void);
void *null_pointer(void);
int *int_pointer(void);
int write_to(FILE *f, const char *s);

long sum_va_long(int n, ...);
double sum_va_double(int n, ...);
int va_format(char *buf, size_t size, const char *spec, ...);

int call_int_cb(int (*cb)(int), int x);
double call_double_cb(double (*cb)(double, double), double a, double b);
struct small call_struct_cb(struct small (*cb)(struct small, int), struct small s);
int call_large_cb(long (*cb)(struct large), long base);
void call_void_cb(void (*cb)(int), int n);
int call_char_cb(char (*cb)(char), char c);
int call_short_cb(short (*cb)(short), short x);
unsigned int call_uchar_cb(unsigned char (*cb)(unsigned char), unsigned char x);
int call_bool_cb(_Bool (*cb)(int), int x);
long double call_ld_cb(long double (*cb)(long double), long double x);
float call_float_cb(float (*cb)(float), float x);
const char *call_ptr_cb(const char *(*cb)(void));
int call_errno_cb(void (*cb)(void));
long run_threads(int nthreads, int count, int (*cb)(int));

int set_errno(int value);
int get_errno(void);

extern int g_int;
extern double g_double;
extern long long g_llong;
extern unsigned char g_uchar;
extern char g_str[16];
extern int g_array[5];
extern struct small g_small;
extern int *g_ptr;
extern const char *g_name;
extern int (*g_fn)(int);
extern _Bool g_bool;
extern float g_float;
int read_g_int(void);
int read_g_small(void);

int missing_function(int);
extern int missing_variable;
#define ANSWER 42
static const int SEVEN = 7;
"""


@pytest.fixture(scope="session")
def pair(testlib_path):
    """[(nffi ffi, nffi lib), (cffi ffi, cffi lib)] on the test library."""
    result = []
    for module in (nffi, cffi):
        ffi = module.FFI()
        ffi.cdef(TESTLIB_CDEF)
        result.append((ffi, ffi.dlopen(testlib_path)))
    return result


@pytest.fixture(scope="session")
def ffi(pair):
    return pair[0][0]


@pytest.fixture(scope="session")
def lib(pair):
    return pair[0][1]


def outcome(fn, *args):
    """('ok', value) or ('raises', exception type name, message) of fn(*args)."""
    try:
        return ("ok", fn(*args))
    except Exception as e:
        return ("raises", type(e).__name__, str(e))


def same(pair, fn, check_message=True):
    """fn(ffi, lib) gives the same value, or raises the same way, on nffi and cffi.
    check_message=False: for exceptions, compare the types only (the message comes from
    conversions shared with ffi.new, tested elsewhere)."""
    mine = outcome(fn, *pair[0])
    theirs = outcome(fn, *pair[1])
    if not check_message and mine[0] == theirs[0] == "raises":
        assert mine[1] == theirs[1], (mine, theirs)
    else:
        assert mine == theirs
    return mine


# ---- primitive arguments and results ----------------------------------------------------

def _values(ctype):
    if ctype in ("float", "double"):
        return [0.0, -1.5, 3.25, 1e30 if ctype == "double" else 1e10]
    size = nffi.FFI().sizeof(ctype)
    signed = ctype in ("signed char", "short", "int", "long", "long long", "int8_t",
                       "int16_t", "int32_t", "int64_t", "ssize_t", "intptr_t")
    lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed \
        else (0, (1 << (8 * size)) - 1)
    return [0, 1, lo, hi, hi // 3]


@pytest.mark.parametrize("name,ctype", PRIMITIVES)
def test_primitive_identity(pair, name, ctype):
    for value in _values(ctype):
        same(pair, lambda ffi, lib: getattr(lib, "id_" + name)(value))
        same(pair, lambda ffi, lib: type(getattr(lib, "id_" + name)(value)).__name__)
        same(pair, lambda ffi, lib: getattr(lib, "add_" + name)(value, 1))


@pytest.mark.parametrize("name,ctype", [p for p in PRIMITIVES if "float" not in p[1]
                                        and "double" not in p[1]])
def test_primitive_out_of_range(pair, name, ctype):
    lo, hi = _values(ctype)[2:4]
    for bad in (hi + 1, lo - 1, 2 ** 70, 1.5, "x", None, b"a"):
        # (messages: for values beyond 64 bits cffi says 'int too big to convert')
        result = same(pair, lambda ffi, lib: getattr(lib, "id_" + name)(bad),
                      check_message=False)
        assert result[0] == "raises"


def test_primitive_cdata_arguments(pair):
    same(pair, lambda ffi, lib: lib.id_int(ffi.cast("int", -41)))
    same(pair, lambda ffi, lib: lib.id_int(ffi.cast("long", 5)))
    same(pair, lambda ffi, lib: lib.id_double(ffi.cast("float", 1.5)))
    same(pair, lambda ffi, lib: lib.id_double(3))


def test_long_double(pair):
    ffi, lib = pair[0]
    r = lib.id_ldouble(2.5)
    assert ffi.typeof(r) is ffi.typeof("long double")
    assert float(r) == 2.5
    same(pair, lambda ffi, lib: float(lib.add_ldouble(1.25, ffi.cast("long double", 2))))
    same(pair, lambda ffi, lib: repr(lib.ld_mix(1, 2.5, 3.0, 0.25)))
    x = ffi.cast("long double", 1) / 3 if False else lib.add_ldouble(1, 2 ** -60)
    assert lib.add_ldouble(x, -1) != 0          # precision beyond a double is kept


def test_bool_char_enum(pair):
    for fn in ("id_bool", "not_bool"):
        for v in (True, False, 0, 1, 2, -1, 1.0, None):
            # (message for -1: cffi says "can't convert negative number to unsigned")
            same(pair, lambda ffi, lib: getattr(lib, fn)(v), check_message=False)
    for v in (b"a", b"\x00", b"\xff", b"ab", "a", 65):
        same(pair, lambda ffi, lib: lib.id_char(v))
        same(pair, lambda ffi, lib: lib.next_char(v))
    for fn in ("id_wchar", "id_char16", "id_char32", "next_char16", "next_char32"):
        for v in ("a", "\u1234", "\U00012345", "ab", b"a", 65):
            # (messages: cffi calls wchar_t 'char32_t' in them)
            same(pair, lambda ffi, lib: getattr(lib, fn)(v), check_message=fn != "id_wchar")
    for v in (0, 5, 6, 7, -1):
        same(pair, lambda ffi, lib: lib.next_color(v))


def test_many_arguments(pair):
    same(pair, lambda ffi, lib: lib.sum6l(1, 2, 3, 4, 5, 6))
    same(pair, lambda ffi, lib: lib.sum6l(-1, 2 ** 40, -3, 4, -(2 ** 50), 6))
    same(pair, lambda ffi, lib: lib.sum3d(1.5, 2.25, -3.125))
    same(pair, lambda ffi, lib: lib.mixed(1, 2.5, 3, 4.5, 2 ** 40, 6.25))
    args = [v for i in range(10) for v in (i + 1, (i + 1) * 0.5)]
    same(pair, lambda ffi, lib: lib.many_args(*args))
    same(pair, lambda ffi, lib: lib.do_nothing())


def test_wrong_argument_count_and_type(pair):
    for args in [(), (1, 2), (1, 2, 3)]:
        r = same(pair, lambda ffi, lib: lib.id_int(*args))
        assert r[:2] == ("raises", "TypeError")
    r = same(pair, lambda ffi, lib: lib.sum_va_long())
    assert r == ("raises", "TypeError", "'long(*)(int, ...)' expects at least 1 arguments, "
                 "got 0")
    r = same(pair, lambda ffi, lib: lib.id_int(x=3))
    assert r[1] == "TypeError"
    ffi, lib = pair[0]
    with pytest.raises(TypeError) as e:
        lib.sum6l(1, 2, "three", 4, 5, 6)
    assert str(e.value) == "an integer is required"
    assert e.value.__notes__ == ["argument 3 of sum6l()"]
    with pytest.raises(TypeError) as e:     # a function pointer without a name
        ffi.cast("long(*)(long, long, long, long, long, long)", lib.sum6l)(1, 2, "3", 4, 5, 6)
    assert e.value.__notes__ == ["argument 3 of 'long(*)(long, long, long, long, long, long)'"]


def test_not_callable_and_null(pair):
    same(pair, lambda ffi, lib: ffi.new("int(**)(int)")(1))
    same(pair, lambda ffi, lib: ffi.new("int *")(1))
    r = same(pair, lambda ffi, lib: ffi.cast("int(*)(int)", 0)(1))
    assert r[1] == "RuntimeError"


def test_function_cdata(pair):
    ffi, lib = pair[0]
    f = lib.id_int
    assert ffi.typeof(f) is ffi.typeof("int(*)(int)")
    assert repr(f).startswith("<cdata 'int(*)(int)' 0x")
    g = ffi.cast("int(*)(int)", ffi.cast("void *", f))
    assert g == f and hash(g) == hash(f)
    assert g(7) == 7
    assert lib.id_int is f                     # cached


# ---- structs by value --------------------------------------------------------------------

def test_struct_results_and_arguments(pair):
    same(pair, lambda ffi, lib: (lib.small_make(3, 4).x, lib.small_make(3, 4).y))
    same(pair, lambda ffi, lib: lib.small_sum([5, 6]))
    assert pair[0][1].small_sum({"y": 6}) == 6          # missing fields are zero
    same(pair, lambda ffi, lib: lib.small_sum(lib.small_make(7, 8)))
    same(pair, lambda ffi, lib: lib.small_sum(ffi.new("struct small *", [1, 2])[0]))
    # (message: cffi names the cdata's type, "not cdata 'struct small *'")
    same(pair, lambda ffi, lib: lib.small_sum(ffi.new("struct small *", [1, 2])),
         check_message=False)
    same(pair, lambda ffi, lib: lib.small_sum(5))
    same(pair, lambda ffi, lib: lib.small_sum([1, 2, 3]))
    same(pair, lambda ffi, lib: tuple(getattr(lib.small_add([1, 2], [30, 40]), f)
                                      for f in "xy"))
    same(pair, lambda ffi, lib: tuple(getattr(lib.large_make(10), f) for f in "abcde"))
    same(pair, lambda ffi, lib: lib.large_sum([1, 2, 3, 4, 5]))
    same(pair, lambda ffi, lib: lib.large_sum(lib.large_make(-7)))
    same(pair, lambda ffi, lib: (lambda s: (s.f, s.d))(lib.fl_scale([1.5, 2.25], 2.0)))
    same(pair, lambda ffi, lib: (lambda s: (s.a, s.b, s.c))(lib.ff3_rot([1.0, 2.0, 3.0])))
    same(pair, lambda ffi, lib: (lambda s: (s.a, s.b, s.c))(lib.three_make()))
    same(pair, lambda ffi, lib: lib.three_sum([1, 2, 3]))
    same(pair, lambda ffi, lib: (lambda n: (n.s.x, n.s.y, n.d, ffi.string(n.tag)))(
        lib.nested_make(1, 2, 3.5)))
    same(pair, lambda ffi, lib: lib.nested_sum([[1, 2], 0.5, b"A"]))
    same(pair, lambda ffi, lib: (lambda s: (float(s.x), s.tag))(lib.ldbl_make(1.5)))


def test_struct_large_and_anonymous_members(pair):
    same(pair, lambda ffi, lib: (lambda b: (b.tail, b.data[0], b.data[4999]))(
        lib.big_make(77)))
    same(pair, lambda ffi, lib: lib.big_check(lib.big_make(3), 2))
    assert pair[0][1].big_check({"tail": 5}, 3) == 15       # missing fields are zero
    # anonymous struct members: cffi refuses them by value, nffi describes their layout
    ffi, lib = pair[0]
    assert lib.anon_sum({"a": 1, "b": b"\x02", "c": 0.25, "d": 4}) == 7.25
    s = lib.anon_make(9)
    assert (s.a, s.b, s.c, s.d) == (9, b"\x02", 0.5, -1)


def test_struct_result_is_owned(pair):
    ffi, lib = pair[0]
    s = lib.small_make(1, 2)
    assert ffi.typeof(s) is ffi.typeof("struct small")
    assert repr(s) == "<cdata 'struct small' owning 8 bytes>"
    big = lib.large_make(0)
    assert ffi.sizeof(big) == 5 * ffi.sizeof("long")
    del s
    gc.collect()
    assert big.e == 4


def test_struct_passed_by_copy(pair):
    same(pair, lambda ffi, lib: (lambda p: (lib.modify_small(p[0]), p.x, p.y))(
        ffi.new("struct small *", [11, 22])))


def test_struct_by_value_unsupported(pair):
    for fn in (lambda ffi, lib: lib.bf_make(), lambda ffi, lib: lib.bf_sum([1, 2]),
               lambda ffi, lib: lib.iu_get([5])):
        r = same(pair, fn)
        assert r[:2] == ("raises", "NotImplementedError")


def test_struct_by_value_packed_or_opaque(testlib_path):
    results = []
    for module in (nffi, cffi):
        ffi = module.FFI()
        ffi.cdef("struct pk { char c; int i; };", packed=True)
        ffi.cdef("struct opq; int small_sum(struct pk); struct opq small_make(int, int);")
        lib = ffi.dlopen(testlib_path)
        with pytest.raises(NotImplementedError):
            ffi.callback("int(struct pk)", lambda s: 0)
        r = outcome(lambda: lib.small_make(1, 2))
        results.append(r)
        if module is nffi:
            with pytest.raises(NotImplementedError, match="packed"):
                lib.small_sum([1, 2])
    assert results[0] == results[1] == (
        "raises", "TypeError", "result type 'struct opq' is not yet initialized")


def test_complex_unsupported():
    ffi = nffi.FFI()
    ffi.cdef("double cabs(double _Complex); double _Complex cexp(double _Complex);")
    m = ffi.dlopen("m")
    with pytest.raises(NotImplementedError, match="not supported as argument"):
        m.cabs(1j)
    with pytest.raises(NotImplementedError, match="not supported as return value"):
        m.cexp(1j)


# ---- pointer arguments -----------------------------------------------------------------

POINTER_CASES = [
    ("my_strlen", (b"hello",)), ("my_strlen", ("hello",)), ("my_strlen", (b"",)),
    ("my_strlen", ([b"a", b"b", b"\0"],)), ("my_strlen", (bytearray(b"ab\0"),)),
    ("my_strlen", (None,)), ("my_strlen", (1,)),
    ("my_ustrlen", (b"abc",)), ("my_vstrlen", (b"abcd",)), ("my_vstrlen", ("abc",)),
    ("my_vstrlen", ([1, 2],)),
    ("my_wcslen", ("h\xe9llo\U00012345",)), ("my_wcslen", (b"x",)),
    ("my_wcslen", (["a", "b", "\0"],)),
    ("my_c16len", ("h\U00012345",)),
    ("sum_ints", ([1, 2, 3], 3)), ("sum_ints", ((4, 5), 2)), ("sum_ints", ([], 0)),
    ("sum_ints", ([1, "x"], 2)), ("sum_ints", (b"abcd", 1)), ("sum_ints", ("ab", 1)),
    ("sum_ints", (5, 1)), ("sum_ints", ([2 ** 40], 1)),
    ("sum_doubles", ([1, 2.5, -0.25], 3)),
    ("sum_points", ([[1, 2], {"x": 3, "y": 4}, (5,)], 3)),
    ("small_sum_p", ([[1, 2]],)), ("small_sum_p", ({"x": 1, "y": 2},)),
    ("small_sum_p", ([1, 2],)),
]


@pytest.mark.parametrize("fn,args", POINTER_CASES)
def test_pointer_arguments(pair, fn, args):
    same(pair, lambda ffi, lib: getattr(lib, fn)(*args))


def test_pointer_arguments_cdata(pair):
    same(pair, lambda ffi, lib: lib.my_strlen(ffi.new("char[]", b"hello")))
    same(pair, lambda ffi, lib: lib.sum_ints(ffi.new("int[]", [1, 2, 3]), 3))
    same(pair, lambda ffi, lib: lib.sum_ints(ffi.new("int[]", [1, 2, 3]) + 1, 2))
    same(pair, lambda ffi, lib: lib.sum_ints(ffi.new("long[]", 3), 3))
    same(pair, lambda ffi, lib: lib.sum_ints(ffi.NULL, 0))
    same(pair, lambda ffi, lib: lib.count_strings([ffi.new("char[]", b"a"),
                                                   ffi.new("char[]", b"b"), ffi.NULL]))
    same(pair, lambda ffi, lib: (lambda a: (lib.fill_ints(a, 4), list(a)))(
        ffi.new("int[4]")))


def test_pointer_results(pair):
    same(pair, lambda ffi, lib: ffi.string(lib.greeting()))
    same(pair, lambda ffi, lib: lib.null_pointer() == ffi.NULL)
    same(pair, lambda ffi, lib: repr(lib.null_pointer()))
    same(pair, lambda ffi, lib: lib.int_pointer()[0])
    same(pair, lambda ffi, lib: str(ffi.typeof(lib.int_pointer())))


def test_file_argument(pair, tmp_path):
    for i, (ffi, lib) in enumerate(pair):
        path = tmp_path / ("out%d.txt" % i)
        with open(path, "wb") as f:
            f.write(b"[")
            assert lib.write_to(f, b"from C") >= 0
            f.write(b"][")
            lib.write_to(f, b"again")
            f.write(b"]")
        assert path.read_bytes() == b"[from C][again]"
    r = same(pair, lambda ffi, lib: lib.write_to(io.BytesIO(), b"x"))
    assert r[1] == "UnsupportedOperation"
    same(pair, lambda ffi, lib: lib.write_to(42, b"x"))
    same(pair, lambda ffi, lib: lib.write_to(None, b"x"))


def test_cast_python_file_to_file_pointer(pair, tmp_path):
    # ffi.cast("FILE *", f): one FILE per Python file, reused, closed with the file object
    for i, (ffi, lib) in enumerate(pair):
        path = tmp_path / ("cast%d.txt" % i)
        with open(path, "w") as f:
            fp = ffi.cast("FILE *", f)
            assert ffi.typeof(fp) is ffi.typeof("FILE *")
            assert ffi.cast("FILE *", f) == fp
            assert lib.write_to(fp, b"one") >= 0
            assert lib.write_to(fp, b"two") >= 0
        assert path.read_bytes() == b"onetwo"
    same(pair, lambda ffi, lib: ffi.cast("FILE *", io.BytesIO()))
    same(pair, lambda ffi, lib: ffi.cast("FILE *", "x"))
    same(pair, lambda ffi, lib: ffi.cast("FILE *", 0) == ffi.NULL)
    same(pair, lambda ffi, lib: ffi.cast("int *", open(os.devnull)))


# ---- variadic functions -----------------------------------------------------------------

def test_variadic(pair):
    same(pair, lambda ffi, lib: lib.sum_va_long(3, ffi.cast("long", 1), ffi.cast("long", 2),
                                                ffi.cast("long", 2 ** 40)))
    same(pair, lambda ffi, lib: lib.sum_va_long(0))
    same(pair, lambda ffi, lib: lib.sum_va_double(2, ffi.cast("double", 1.5),
                                                  ffi.cast("double", 2.25)))
    buf_results = []
    for ffi, lib in pair:
        buf = ffi.new("char[100]")
        n = lib.va_format(buf, 100, b"ilsip", ffi.cast("short", -3),
                          ffi.cast("long", 2 ** 40), ffi.new("char[]", b"str"),
                          ffi.cast("unsigned char", 200), ffi.new("struct small *", [7, 8])[0])
        buf_results.append((n, ffi.string(buf)))
    assert buf_results[0] == buf_results[1] == (31, b"-3;1099511627776;str;200;(7,8);")
    ffi, lib = pair[0]
    buf = ffi.new("char[100]")
    lib.va_format(buf, 100, b"diii", ffi.cast("float", 1.5), ffi.cast("_Bool", 1),
                  ffi.cast("char", b"A"), ffi.cast("enum color", 5))
    assert ffi.string(buf) == b"1.5;1;65;5;"      # float promoted to double, as in C
    assert lib.sum_va_double(1, ffi.cast("float", 0.5)) == 0.5
    assert lib.sum_va_long(1, ffi.new("long[]", 1)) != 0   # arrays decay to pointers


def test_variadic_many_arguments(pair):
    """Buffers of a variadic call live on the stack up to a size, on the heap beyond:
    both give cffi's results (a few arguments, then hundreds, some of them structs)."""
    for count in (1, 5, 130, 700):
        same(pair, lambda ffi, lib: lib.sum_va_long(
            count, *[ffi.cast("long", i * 3 - 1000) for i in range(count)]))
    results = []
    for ffi, lib in pair:
        buf = ffi.new("char[4000]")
        items = [ffi.new("struct small *", [i, -i])[0] for i in range(150)]
        lib.va_format(buf, 4000, b"p" * 150, *items)
        results.append(ffi.string(buf))
    assert results[0] == results[1] and results[0].startswith(b"(0,0);(1,-1);")


def test_variadic_errors(pair):
    for bad in (42, 1.5, b"x", None, [1]):
        r = same(pair, lambda ffi, lib: lib.sum_va_long(1, bad))
        assert r[1] == "TypeError" and "variadic part" in r[2]


# ---- callbacks --------------------------------------------------------------------------

@pytest.fixture
def default_unraisablehook(monkeypatch):
    """pytest collects unraisable exceptions itself; the tests want them printed."""
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)



def test_callback_basics(pair):
    same(pair, lambda ffi, lib: lib.call_int_cb(ffi.callback("int(int)", lambda x: x + 1), 20))
    same(pair, lambda ffi, lib: lib.call_double_cb(
        ffi.callback("double(*)(double, double)", lambda a, b: a / b), 1.0, 3.0))
    same(pair, lambda ffi, lib: ffi.callback("int(int)", lambda x: x * 3)(-7))
    same(pair, lambda ffi, lib: ffi.callback("int(*)(int)", lambda x: x)(ffi.cast("int", 9)))
    same(pair, lambda ffi, lib: lib.call_char_cb(
        ffi.callback("char(char)", lambda c: bytes([c[0] + 1])), b"a"))
    same(pair, lambda ffi, lib: lib.call_short_cb(ffi.callback("short(short)", lambda x: -x),
                                                  1234))
    same(pair, lambda ffi, lib: lib.call_uchar_cb(
        ffi.callback("unsigned char(unsigned char)", lambda x: 255 - x), 5))
    same(pair, lambda ffi, lib: lib.call_bool_cb(ffi.callback("_Bool(int)", lambda x: x > 3),
                                                 5))
    same(pair, lambda ffi, lib: float(lib.call_ld_cb(
        ffi.callback("long double(long double)", lambda x: x), 2.5)))
    same(pair, lambda ffi, lib: lib.call_float_cb(ffi.callback("float(float)",
                                                               lambda x: x * 2), 1.25))
    same(pair, lambda ffi, lib: ffi.string(lib.call_ptr_cb(
        ffi.callback("const char *(void)", lambda: lib.greeting()))))


def test_callback_structs(pair):
    def make(ffi):
        def cb(s, k):
            assert ffi.typeof(s) is ffi.typeof("struct small")
            return [s.x * k, s.y * k]
        return ffi.callback("struct small(struct small, int)", cb)
    same(pair, lambda ffi, lib: (lambda r: (r.x, r.y))(lib.call_struct_cb(make(ffi), [2, 5])))

    def large(ffi):
        def cb(s):
            s.a += 1000          # a copy: the caller's struct is unchanged
            return s.a + s.b + s.c + s.d + s.e
        return ffi.callback("long(struct large)", cb)
    same(pair, lambda ffi, lib: lib.call_large_cb(large(ffi), 10))
    same(pair, lambda ffi, lib: (lambda r: (r.a, r.b, r.c))(
        ffi.callback("struct three(void)", lambda: (12, 34, 56))()))


def test_callback_void_and_many_calls(pair):
    for ffi, lib in pair:
        seen = []
        cb = ffi.callback("void(int)", seen.append)
        assert lib.call_void_cb(cb, 5) is None
        assert seen == [0, 1, 2, 3, 4]


def test_callback_pointer_arguments(pair):
    def cb_for(ffi):
        return ffi.callback("int(*)(struct small[])",
                            lambda p: p[0].x * 1000 + p[0].y * 100 + p[1].x * 10 + p[1].y)
    same(pair, lambda ffi, lib: cb_for(ffi)([[5, 6], {"x": 7, "y": 8}]))
    seen = []
    for ffi, lib in pair:
        cb = ffi.callback("void(*)(char *[])",
                          lambda argv: seen.append((ffi.string(argv[0]), ffi.string(argv[1]))))
        cb([ffi.new("char[]", b"foo"), ffi.new("char[]", b"bar")])
    assert seen == [(b"foo", b"bar")] * 2


def test_callback_repr_type_identity(ffi):
    def cb(n):
        return n
    p = ffi.callback("int(*)(int)", cb)
    assert repr(p) == "<cdata 'int(*)(int)' calling %r>" % (cb,)
    assert ffi.typeof(p) is ffi.typeof("int(*)(int)")
    assert p != ffi.callback("int(*)(int)", cb)
    q = ffi.new("int(**)(int)", p)
    assert q[0](43) == 43
    assert ffi.cast("int(*)(int)", ffi.cast("void *", p)) == p


def test_callback_decorator(pair, capsys, default_unraisablehook):
    for ffi, lib in pair:
        @ffi.callback("long(long, long)", error=42)
        def cb(a, b):
            return a - b
        assert cb(-100, -10) == -90
        assert cb((1 << (8 * ffi.sizeof("long") - 1)) - 1, -10) == 42   # overflow
        assert "OverflowError" in capsys.readouterr().err


def test_callback_creation_errors(pair):
    for fn in [lambda ffi, lib: ffi.callback("int(int)", 42),
               lambda ffi, lib: ffi.callback("int(int)", lambda x: x, onerror=3),
               lambda ffi, lib: ffi.callback("int(int)", lambda x: x, error="x"),
               lambda ffi, lib: ffi.callback("void(int)", lambda x: x, error=3),
               lambda ffi, lib: ffi.callback("int(*)(int, ...)", lambda x: 0),
               lambda ffi, lib: ffi.callback("int(*)(struct bf)", lambda x: 0),
               lambda ffi, lib: ffi.callback("struct bf(*)(int)", lambda x: 0),
               lambda ffi, lib: ffi.callback("int(*)(union iu)", lambda x: 0),
               lambda ffi, lib: _core_callback(ffi)(ffi.typeof("int"), lambda: 0)]:
        r = same(pair, fn)
        assert r[0] == "raises"


def _core_callback(ffi):
    import _cffi_backend
    return _core.callback if isinstance(ffi, nffi.FFI) else _cffi_backend.callback


def test_callback_exception_reported(pair, capsys, default_unraisablehook):
    for ffi, lib in pair:
        def cb(n):
            raise ValueError("oops %d" % n)
        a = ffi.callback("int(*)(int)", cb, error=-42)
        assert lib.call_int_cb(a, 7) == -84
        err = capsys.readouterr().err
        reporter = "nffi" if isinstance(ffi, nffi.FFI) else "cffi"
        assert "Exception ignored from %s callback %r:" % (reporter, cb) in err
        assert "ValueError: oops 7" in err
        b = ffi.callback("int(*)(int)", lambda n: "not an int")
        assert b(1) == 0
        err = capsys.readouterr().err
        assert "trying to convert the result back to C" in err
        v = ffi.callback("void(*)(void)", lambda: 42)
        assert v() is None
        assert "must return None" in capsys.readouterr().err


def test_callback_onerror(pair, capsys, default_unraisablehook):
    for ffi, lib in pair:
        seen = []

        def oops(*args):
            seen.append(args)

        def otherfunc():
            raise LookupError

        def cb(n):
            otherfunc()
        a = ffi.callback("int(*)(int)", cb, error=42, onerror=oops)
        assert a(234) == 42
        exc, val, tb = seen[0]
        assert exc is LookupError and isinstance(val, LookupError)
        assert tb.tb_frame.f_code.co_name == "cb"
        assert tb.tb_frame.f_locals["n"] == 234
        assert capsys.readouterr().err == ""
        b = ffi.callback("int(int)", cb, error=1, onerror=lambda *a: 7)
        assert b(0) == 7
        c = ffi.callback("int(int)", cb, error=1, onerror=lambda *a: "bad")
        assert c(0) == 1
        err = capsys.readouterr().err
        assert "during handling of the above exception by 'onerror'" in err
        d = ffi.callback("int(int)", cb, error=3, onerror=lambda *a: 1 / 0)
        assert d(0) == 3
        assert "ZeroDivisionError" in capsys.readouterr().err


def test_callback_errno(pair):
    for ffi, lib in pair:
        seen = []

        def cb():
            seen.append(ffi.errno)
            ffi.errno = 5
        assert lib.call_errno_cb(ffi.callback("void(void)", cb)) == 5
        assert seen == [77]


def test_callback_from_c_threads(pair):
    for ffi, lib in pair:
        lock = threading.Lock()
        threads_seen = set()

        def cb(x):
            with lock:
                threads_seen.add(threading.get_ident())
            return x % 7
        c = ffi.callback("int(int)", cb)
        total = lib.run_threads(8, 50, c)
        assert total == sum((t * 1000 + i) % 7 for t in range(8) for i in range(50))
        assert len(threads_seen) == 8
        assert threading.get_ident() not in threads_seen


def test_callback_freed_with_cycle(ffi):
    class Data:
        pass

    def make(data):
        container = [data]
        cb = ffi.callback("int()", lambda: len(container))
        container.append(cb)
        return cb
    data = Data()
    cb = make(data)
    assert cb() == 2
    wr = weakref.ref(data)
    del cb, data
    for _ in range(3):
        gc.collect()
    assert wr() is None


def test_callback_called_through_copies(ffi, lib):
    cb = ffi.callback("int(int)", lambda x: x + 100)
    holder = ffi.new("int(**)(int)", cb)      # C memory holding the code address
    assert lib.call_int_cb(holder[0], 1) == 202
    assert lib.call_int_cb(ffi.cast("int(*)(int)", cb), 2) == 204
    many = [ffi.callback("int(int)", (lambda k: lambda x: x + k)(k)) for k in range(200)]
    assert [lib.call_int_cb(c, 0) for c in many] == [2 * k for k in range(200)]


# ---- errno ------------------------------------------------------------------------------

def test_errno(pair):
    for ffi, lib in pair:
        assert lib.set_errno(123) == -1
        assert ffi.errno == 123
        ffi.errno = 42
        assert lib.get_errno() == 42
        assert ffi.errno == 42
        ffi.errno = 0
    same(pair, lambda ffi, lib: setattr(ffi, "errno", "x"))
    same(pair, lambda ffi, lib: setattr(ffi, "errno", 2 ** 40))


def test_errno_is_per_thread(ffi, lib):
    lib.set_errno(11)
    result = []

    def other():
        result.append(ffi.errno)
        lib.set_errno(22)
        result.append(ffi.errno)
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert result == [0, 22]
    assert ffi.errno == 11


# ---- globals ----------------------------------------------------------------------------

def test_global_reads(pair):
    for name in ("g_int", "g_double", "g_llong", "g_uchar", "g_bool", "g_float"):
        same(pair, lambda ffi, lib: getattr(lib, name))
    same(pair, lambda ffi, lib: ffi.string(lib.g_str))
    same(pair, lambda ffi, lib: (len(lib.g_array), list(lib.g_array)))
    same(pair, lambda ffi, lib: (lib.g_small.x, lib.g_small.y, str(ffi.typeof(lib.g_small))))
    same(pair, lambda ffi, lib: lib.g_ptr[0] == lib.g_int)
    same(pair, lambda ffi, lib: ffi.string(lib.g_name))
    same(pair, lambda ffi, lib: lib.g_fn(5))


def test_global_writes(pair):
    ffi, lib = pair[0]
    old = lib.g_int
    lib.g_int = 1234
    assert lib.read_g_int() == 1234 and lib.g_int == 1234
    lib.g_int = old
    lib.g_small.x = 9          # a view into the library's memory
    assert lib.read_g_small() == 94
    lib.g_small = [3, 4]
    assert lib.read_g_small() == 34
    lib.g_array = [10, 11, 12]
    assert list(lib.g_array) == [10, 11, 12, 4, 5]
    lib.g_array = [1, 2, 3]
    lib.g_double = 0.5
    assert lib.g_double == 0.5
    lib.g_double = 2.5
    for bad in ("x", 2 ** 40, None):
        same(pair, lambda ffi, lib: setattr(lib, "g_int", bad))
    same(pair, lambda ffi, lib: setattr(lib, "g_array", list(range(6))))
    same(pair, lambda ffi, lib: setattr(lib, "g_uchar", 256))
    same(pair, lambda ffi, lib: setattr(lib, "nope", 1))



@pytest.mark.parametrize("name", ["g_int", "g_llong", "g_uchar", "g_bool"])
def test_global_integer_writes_cached_and_not(pair, testlib_path, name):
    """lib.x = v goes through the <lib> object's cache of the variable once it was
    accessed (an exact-int fast path) and through the cdef before: both behave as cffi,
    also at the edges of the type's range and for values of other types."""
    values = [0, 1, -1, 2, 127, 128, 255, 256, -129, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1,
              2 ** 63 - 1, 2 ** 63, -2 ** 63 - 1, 2 ** 100, True, 1.5, "x", None]
    old = [getattr(lib, name) for _, lib in pair]
    try:
        for value in values:
            results = []
            for fresh in (True, False):
                def write(ffi, lib):
                    if fresh:      # a new lib object: the name is not cached yet
                        lib = ffi.dlopen(testlib_path)
                    setattr(lib, name, value)
                    return getattr(lib, name)
                results.append(same(pair, write, check_message=False))
            assert results[0] == results[1]     # the same messages too
    finally:
        for (_, lib), value in zip(pair, old):
            setattr(lib, name, value)


def test_global_variable_cache(pair):
    ffi, lib = pair[0]
    lib.g_int                                   # cached from here on
    assert type(lib.__dict__["g_int"]).__name__ == "GlobalVariable"
    with pytest.raises(AttributeError) as e:
        del lib.g_int
    assert str(e.value) == "cannot delete the attribute 'g_int' of a library"
    with pytest.raises(AttributeError):
        del lib.not_declared
    assert lib.g_small is not lib.g_small       # a new view each time, of the same memory
    assert ffi.addressof(lib.g_small) == ffi.addressof(lib, "g_small")

def test_addressof_lib(pair):
    same(pair, lambda ffi, lib: str(ffi.typeof(ffi.addressof(lib, "g_int"))))
    same(pair, lambda ffi, lib: ffi.addressof(lib, "g_int")[0] == lib.g_int)
    same(pair, lambda ffi, lib: str(ffi.typeof(ffi.addressof(lib, "g_small"))))
    same(pair, lambda ffi, lib: str(ffi.typeof(ffi.addressof(lib, "g_array"))))
    same(pair, lambda ffi, lib: ffi.addressof(lib, "id_int") == lib.id_int)
    same(pair, lambda ffi, lib: str(ffi.typeof(ffi.addressof(lib, "id_int"))))
    same(pair, lambda ffi, lib: ffi.addressof(lib, "nope"))
    ffi, lib = pair[0]
    p = ffi.addressof(lib, "g_int")
    p[0] += 1
    assert lib.read_g_int() == 43
    p[0] -= 1


def test_missing_symbols(pair):
    r = same(pair, lambda ffi, lib: hasattr(lib, "missing_function"))
    assert r == ("ok", False)
    ffi, lib = pair[0]
    with pytest.raises(AttributeError) as e:
        lib.missing_function
    assert "missing_function" in str(e.value) and "testlib" in str(e.value)
    with pytest.raises(KeyError) as e:
        lib.missing_variable
    assert "missing_variable" in str(e.value)


# ---- lib objects ------------------------------------------------------------------------

def test_lib_constants_and_dir(pair):
    same(pair, lambda ffi, lib: (lib.ANSWER, lib.SEVEN, lib.RED, lib.GREEN, lib.BLUE))
    same(pair, lambda ffi, lib: lib.not_declared)
    ffi, lib = pair[0]
    names = dir(lib)
    assert names == sorted(names)
    for name in ("id_int", "g_int", "ANSWER", "SEVEN", "RED", "missing_function"):
        assert name in names
    with pytest.raises(AttributeError):
        lib.id_int = 5
    with pytest.raises(AttributeError):
        lib.ANSWER = 5


def test_lib_dir_matches_cffi():
    results = []
    for module in (nffi, cffi):
        ffi = module.FFI()
        ffi.cdef("""typedef enum { MYE1, MYE2 } myenum_t; double myfunc(double);
                    extern double myvar; const double myconst;
                    #define MYFOO 42""")
        m = ffi.dlopen("m")
        results.append(dir(m))
        with pytest.raises(NotImplementedError):
            m.myconst
    assert results[0] == results[1] == ['MYE1', 'MYE2', 'MYFOO', 'myconst', 'myfunc',
                                        'myvar']


def test_lib_partial_enum():
    ffi = nffi.FFI()
    ffi.cdef("enum foo {A, ...}; enum bar { B, C };")
    lib = ffi.dlopen(None)
    assert lib.B == 0 and lib.C == 1
    with pytest.raises(nffi.VerificationMissing):
        lib.A


def test_typedef_function_declaration():
    ffi = nffi.FFI()
    ffi.cdef("typedef double func_t(double); func_t sin; extern int (*fp)(int);")
    m = ffi.dlopen("m")
    assert m.sin(1.23) == math.sin(1.23)


def test_dlclose(testlib_path):
    for module in (nffi, cffi):
        ffi = module.FFI()
        ffi.cdef("int id_int(int); extern int g_int;")
        lib = ffi.dlopen(testlib_path)
        f = lib.id_int
        assert f(3) == 3
        ffi.dlclose(lib)
        for action in (lambda: lib.id_int, lambda: lib.g_int,
                       lambda: setattr(lib, "g_int", 1)):
            with pytest.raises(ValueError) as e:
                action()
            assert str(e.value).endswith("' has already been closed")
            assert str(e.value).startswith("library '")
            if module is nffi:
                assert isinstance(e.value, ffi.error)
        ffi.dlclose(lib)        # does not raise
        if module is nffi:
            with pytest.raises(ffi.error):
                f(3)            # a function of a closed library is not called
            with pytest.raises(TypeError):
                ffi.dlclose(42)


def test_dlopen_names_and_errors(pair, testlib_path):
    ffi = nffi.FFI()
    ffi.cdef("int abs(int); double cos(double);")
    assert ffi.dlopen("c").abs(-3) == 3
    assert ffi.dlopen("m").cos(0.0) == 1.0
    assert ffi.dlopen(None).abs(-4) == 4
    assert ffi.dlopen(testlib_path.encode()).abs(-5) == 5
    assert ffi.dlopen("m", ffi.RTLD_LAZY | ffi.RTLD_LOCAL).cos(0.0) == 1.0
    import ctypes.util
    path = ctypes.util.find_library("m")
    assert ffi.dlopen(os.path.basename(path)).cos(0.0) == 1.0
    for bad in ("nosuchlib_xyz", "/nonexistent/libfoo.so"):
        with pytest.raises(OSError) as e:
            ffi.dlopen(bad)
        assert bad in str(e.value) and "find_library" in str(e.value)
    for bad in (3, 1.5, [None]):
        r = same(pair, lambda ffi, lib: ffi.dlopen(bad))
        assert r[1] == "TypeError"


def test_dlopen_handle(testlib_path):
    ffi1 = nffi.FFI()
    ffi1.cdef("void *dlopen(const char *filename, int flags); int dlclose(void *handle);")
    dl = ffi1.dlopen(None)
    handle = dl.dlopen(testlib_path.encode(), ffi1.RTLD_LAZY)
    assert handle
    ffi = nffi.FFI()
    ffi.cdef("int add_int(int, int);")
    lib = ffi.dlopen(handle)
    assert lib.add_int(40, 2) == 42
    ffi.dlclose(lib)            # the handle was not ours to close
    assert dl.dlclose(handle) == 0


def test_keepalive(testlib_path):
    ffi = nffi.FFI()
    ffi.cdef("int set_errno(int);")
    lib = ffi.dlopen(testlib_path)
    ffi_r, lib_r = weakref.ref(ffi), weakref.ref(lib)
    func = lib.set_errno
    del ffi
    gc.collect()
    assert ffi_r() is not None      # kept alive by lib
    assert func(123) == -1
    ffi = ffi_r()
    del lib
    gc.collect()
    assert lib_r() is not None      # kept alive by ffi
    assert func(124) == -1 and ffi.errno == 124
    del ffi
    gc.collect()
    assert ffi_r() is None and lib_r() is None
    assert func(125) == -1          # the function keeps the native library loaded


def test_core_library_object(testlib_path, ffi):
    L = _core.load_library(testlib_path)
    assert repr(L) == "<clibrary '%s'>" % testlib_path
    assert L.read_variable(ffi.typeof("int"), "g_int") == 42
    f = L.load_function(ffi.typeof("int(*)(int)"), "id_int")
    assert f(9) == 9
    assert L.address_of("g_int") == int(ffi.cast("intptr_t",
                                                 L.address_of("g_int", ffi.typeof("int *"))))
    with pytest.raises(TypeError):
        L.load_function(ffi.typeof("int"), "id_int")
    with pytest.raises(KeyError):
        L.read_variable(ffi.typeof("int"), "nope")
    L.close()
    assert L.closed
    with pytest.raises(ValueError):
        L.read_variable(ffi.typeof("int"), "g_int")
    with pytest.raises(OSError) as e:
        _core.load_library("/nonexistent.so")
    assert str(e.value).startswith("cannot load library '/nonexistent.so': ")


# ---- the C library ------------------------------------------------------------------------

LIBC_CDEF = """
    int abs(int); size_t strlen(const char *); double sin(double);
    int snprintf(char *, size_t, const char *, ...);
    void qsort(void *base, size_t nmemb, size_t size,
               int (*compar)(const void *, const void *));
    char *strchr(const char *s, int c);
"""


@pytest.fixture(scope="module")
def libc_pair():
    result = []
    for module in (nffi, cffi):
        ffi = module.FFI()
        ffi.cdef(LIBC_CDEF)
        result.append((ffi, ffi.dlopen(None)))
    return result


def test_libc_simple(libc_pair):
    for v in (0, -5, 7, -(2 ** 31) + 1):
        same(libc_pair, lambda ffi, lib: lib.abs(v))
    same(libc_pair, lambda ffi, lib: lib.strlen(b"hello world"))
    same(libc_pair, lambda ffi, lib: lib.strlen(ffi.new("char[]", b"abc")))
    same(libc_pair, lambda ffi, lib: lib.sin(1.23))
    assert libc_pair[0][1].sin(1.23) == math.sin(1.23)
    same(libc_pair, lambda ffi, lib: ffi.string(lib.strchr(b"hello world!", ord("w"))))


def test_libc_snprintf(libc_pair):
    for ffi, lib in libc_pair:
        buf = ffi.new("char[100]")
        n = lib.snprintf(buf, 100, b"%d %s %.2f %lld %c", ffi.cast("int", 42),
                         ffi.new("char[]", b"str"), ffi.cast("double", 3.14159),
                         ffi.cast("long long", -(2 ** 40)), ffi.cast("int", ord("z")))
        assert ffi.string(buf) == b"42 str 3.14 -1099511627776 z"
        assert n == len(ffi.string(buf))


def test_libc_qsort(libc_pair):
    import random
    values = [random.randrange(-1000, 1000) for _ in range(500)]
    for ffi, lib in libc_pair:
        calls = []

        @ffi.callback("int(const void *, const void *)")
        def compare(a, b):
            calls.append(1)
            x = ffi.cast("int *", a)[0]
            y = ffi.cast("int *", b)[0]
            return (x > y) - (x < y)
        array = ffi.new("int[]", values)
        lib.qsort(array, len(values), ffi.sizeof("int"), compare)
        assert list(array) == sorted(values)
        assert calls
        array = ffi.new("int[]", values)
        lib.qsort(array, len(values), ffi.sizeof("int"),
                  ffi.callback("int(void *, void *)",
                               lambda a, b: ffi.cast("int *", b)[0] - ffi.cast("int *", a)[0]))
        assert list(array) == sorted(values, reverse=True)


def test_calls_release_the_gil(ffi, lib):
    # C threads call back into Python while the calling thread is inside run_threads;
    # other Python threads keep running meanwhile
    results = []

    def worker(k):
        results.append(lib.run_threads(2, 20, ffi.callback("int(int)", lambda x: k)))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 40, 80, 120]
