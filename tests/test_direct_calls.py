"""Direct calls (src/nffi/_core/direct.c) against libffi and against cffi.

A C library is generated at test time with one function per call shape: every count of
integer-class arguments (0..6 on x86-64, 0..8 on AArch64) times every count of floating
arguments (0..8), with the two classes interleaved in a random order, argument types
drawn from every narrow and wide integer type, characters, _Bool, enums, pointers,
float and double, and a result type cycling through every result class.  Each function
records the arguments it received and returns a value that depends on all of them.
Every call is made three ways -- nffi's direct path (`lib.f(...)`), nffi through libffi
(`_core._call_libffi`) and cffi -- and the results and the recorded arguments must be
identical.  Further tests pin sign extension of narrow results whose callee leaves
garbage in the upper bits of the register, and the fallbacks to libffi.  A second
generated library passes and returns structs by value (every combination of INTEGER
and SSE eightbytes, float/double aggregates, mixed, nested, arrays; larger ones and
unions, which stay on libffi's path), checked the same three ways.
"""
import hashlib
import math
import os
import platform
import random
import struct
import subprocess
import sys

import cffi
import pytest

import nffi
from nffi import _core

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)
import cc  # noqa: E402

MACHINE = platform.machine()
INT_REGISTERS = {"x86_64": 6, "aarch64": 8}.get(MACHINE, 0)
FLOAT_REGISTERS = 8 if INT_REGISTERS else 0

# (C type, Python value generator kind)
INT_TYPES = ["int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
             "uint64_t", "_Bool", "char", "signed char", "unsigned char", "short",
             "unsigned short", "int", "unsigned int", "long", "unsigned long", "enum e",
             "void *", "char *", "wchar_t", "char16_t", "char32_t"]
FLOAT_TYPES = ["float", "double"]
RESULT_TYPES = ["void", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t",
                "int64_t", "uint64_t", "_Bool", "char", "float", "double", "void *",
                "enum e", "long", "unsigned long", "wchar_t"]

PRELUDE = r"""
#include <stdint.h>
#include <stddef.h>
#include <wchar.h>
#include <uchar.h>
enum e { E_NEG = -2, E_ZERO = 0, E_BIG = 100000 };
int64_t got_i[16];
double got_d[16];
int64_t got_count;
"""
CDEF_PRELUDE = """
enum e { E_NEG = -2, E_ZERO = 0, E_BIG = 100000 };
extern int64_t got_i[16];
extern double got_d[16];
extern int64_t got_count;
"""


def int_range(ctype, ffi):
    size = ffi.sizeof(ctype)
    signed = int(ffi.cast(ctype, -1)) < 0 if ctype not in ("_Bool",) else False
    if ctype == "_Bool":
        return 0, 1
    if signed:
        return -(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1
    return 0, (1 << (8 * size)) - 1


class Shape:
    """One generated function: its name, argument types in order, result type."""

    def __init__(self, name, args, result):
        self.name = name
        self.args = args
        self.result = result

    def c_source(self):
        params = ", ".join("%s a%d" % (t, k) for k, t in enumerate(self.args)) or "void"
        body = ["    got_count = %d;" % len(self.args)]
        mix_i, mix_d = ["(int64_t)0x9e3779b9"], ["0.5"]
        for k, t in enumerate(self.args):
            if t in FLOAT_TYPES:
                body.append("    got_d[%d] = (double)a%d;" % (k, k))
                mix_d.append("(double)a%d * %d.0" % (k, k + 1))
            elif t == "char *":
                body.append("    got_i[%d] = a%d ? (int64_t)a%d[0] : -1;" % (k, k, k))
                mix_i.append("got_i[%d] * %d" % (k, 2 * k + 3))
            elif t == "void *":
                body.append("    got_i[%d] = (int64_t)(intptr_t)a%d;" % (k, k))
                mix_i.append("got_i[%d] * %d" % (k, 2 * k + 3))
            else:
                body.append("    got_i[%d] = (int64_t)a%d;" % (k, k))
                mix_i.append("got_i[%d] * %d" % (k, 2 * k + 3))
        hi = "(%s)" % " + ".join(mix_i)
        hd = "(%s)" % " + ".join(mix_d)
        r = self.result
        if r == "void":
            ret = ""
        elif r in FLOAT_TYPES:
            ret = "    return (%s)(%s + (double)(%s %% 1000));" % (r, hd, hi)
        elif r == "void *":
            ret = "    return (void *)(intptr_t)%s;" % hi
        elif r == "_Bool":
            ret = "    return (%s & 2) != 0;" % hi
        elif r == "wchar_t":     # a valid code point (cffi fails on invalid ones)
            ret = "    return (wchar_t)(%s & 0x7fff);" % hi
        elif r == "enum e":
            ret = "    return (%s & 1) ? E_NEG : E_BIG;" % hi
        else:
            ret = "    return (%s)(%s + (int64_t)%s);" % (r, hi, hd)
        return "%s %s(%s)\n{\n%s\n%s\n}\n" % (r, self.name, params, "\n".join(body), ret)

    def cdef(self):
        return "%s %s(%s);" % (self.result, self.name,
                               ", ".join(self.args) or "void")


def make_shapes(seed=1234):
    rng = random.Random(seed)
    shapes = []
    for nint in range(INT_REGISTERS + 1):
        for nfloat in range(FLOAT_REGISTERS + 1):
            kinds = ["i"] * nint + ["f"] * nfloat
            rng.shuffle(kinds)
            args = [rng.choice(INT_TYPES) if k == "i" else rng.choice(FLOAT_TYPES)
                    for k in kinds]
            result = RESULT_TYPES[len(shapes) % len(RESULT_TYPES)]
            shapes.append(Shape("shape_%d_%d" % (nint, nfloat), args, result))
    # every integer type and every result type alone, too
    for k, t in enumerate(INT_TYPES + FLOAT_TYPES):
        shapes.append(Shape("one_%d" % k, [t], "int64_t"))
    for k, r in enumerate(RESULT_TYPES):
        shapes.append(Shape("ret_%d" % k, ["int64_t", "double"], r))
    return shapes


GARBAGE_C = r"""
uint64_t garbage_s8(void) { return 0x123456789abcde80ULL; }
uint64_t garbage_u8(void) { return 0x123456789abcde80ULL; }
uint64_t garbage_s16(void) { return 0x1234567890ab8001ULL; }
uint64_t garbage_u16(void) { return 0x1234567890ab8001ULL; }
uint64_t garbage_s32(void) { return 0x1234567880000001ULL; }
uint64_t garbage_u32(void) { return 0x1234567880000001ULL; }
uint64_t garbage_bool(void) { return 0x1234567800000001ULL; }
int64_t echo_register(int64_t x) { return x; }
int64_t sum_ints(const int *p, int n) { int64_t s = 0; for (int i = 0; i < n; i++) s += p[i]; return s; }
"""
GARBAGE_CDEF = """
int8_t garbage_s8(void);
uint8_t garbage_u8(void);
int16_t garbage_s16(void);
uint16_t garbage_u16(void);
int32_t garbage_s32(void);
uint32_t garbage_u32(void);
_Bool garbage_bool(void);
int64_t echo_register(int8_t);
int64_t sum_ints(const int *, int);
"""


@pytest.fixture(scope="module")
def shapes():
    return make_shapes()


def compile_library(prefix, source):
    """The path of a shared library built from source (cached by its hash)."""
    flags = ["-shared", "-fPIC", "-O1", "-w"]
    key = hashlib.sha256("\0".join([cc.CC, *flags, source]).encode()).hexdigest()[:32]
    path = os.path.join(cc.cache_dir(), "%s-%s.so" % (prefix, key))
    if not os.path.exists(path):
        src = path + ".c"
        with open(src, "w") as f:
            f.write(source)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        result = subprocess.run([cc.CC, *flags, src, "-o", tmp], capture_output=True,
                                text=True)
        if result.returncode != 0:
            pytest.fail("compiling the %s library failed:\n%s" % (prefix, result.stderr))
        os.replace(tmp, path)
    return path


@pytest.fixture(scope="module")
def shape_lib_path(shapes):
    return compile_library("shapelib", PRELUDE + "".join(s.c_source() for s in shapes)
                           + GARBAGE_C)


@pytest.fixture(scope="module")
def libs(shapes, shape_lib_path):
    cdef = CDEF_PRELUDE + "\n".join(s.cdef() for s in shapes) + GARBAGE_CDEF
    result = []
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef(cdef)
        result.append((ffi, ffi.dlopen(shape_lib_path)))
    return result


# ---- argument values ------------------------------------------------------------------

def int_value(rng, ctype, ffi):
    lo, hi = int_range(ctype, ffi)
    return rng.choice([lo, hi, 0, 1, lo + 1, hi - 1, rng.randint(lo, hi), rng.randint(lo, hi)])


FLOATS = [0.0, -0.0, 1.5, -2.25, 1e300, -1e-300, 5e-324, math.inf, -math.inf, 3.4e38,
          1.17e-38, 123456.789]


def make_argument(rng, ctype, ffi):
    """A description of one argument, turned into a value per FFI by materialize()."""
    if ctype in FLOAT_TYPES:
        return ("float", rng.choice(FLOATS + [rng.uniform(-1e6, 1e6)]))
    if ctype == "void *":
        return ("ptr", rng.choice([0, 8, 0x7fff0000, rng.randrange(0, 1 << 47, 8)]))
    if ctype == "char *":
        return ("bytes", bytes([rng.randrange(0, 256)]) + b"tail")
    if ctype == "char":
        return ("char", bytes([rng.randrange(0, 256)]))
    if ctype in ("wchar_t", "char16_t", "char32_t"):
        return ("wchar", chr(rng.choice([0x41, 0xe9, 0x7ff, 0xd7ff, 0xfffd])))
    if ctype == "enum e":
        return ("int", rng.choice([-2, 0, 100000, 7]))
    return ("int", int_value(rng, ctype, nffi.FFI()))


def materialize(arg, ffi):
    kind, value = arg
    if kind == "ptr":
        return ffi.cast("void *", value)
    return value


def canonical(value, ffi):
    """A comparable form of a call result from either FFI."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, (int, bytes, str)) or value is None:
        return value
    if isinstance(value, bool):
        return value
    return ("ptr", int(ffi.cast("intptr_t", value)))


def recorded(ffi, lib, shape):
    """What the C function recorded of its arguments."""
    out = []
    for k, t in enumerate(shape.args):
        if t in FLOAT_TYPES:
            out.append(struct.pack("<d", lib.got_d[k]))
        else:
            out.append(lib.got_i[k])
    return out


def call_three_ways(libs, shape, args):
    (nffi_ffi, nffi_lib), (cffi_ffi, cffi_lib) = libs
    outcomes = []
    for how in ("direct", "libffi", "cffi"):
        ffi, lib = (cffi_ffi, cffi_lib) if how == "cffi" else (nffi_ffi, nffi_lib)
        fn = getattr(lib, shape.name)
        values = [materialize(a, ffi) for a in args]
        try:
            if how == "libffi":
                result = _core._call_libffi(fn, *values)
            else:
                result = fn(*values)
        except Exception as e:       # compared by class and message
            outcomes.append(("raised", type(e).__name__, str(e).split("\n")[0]))
            continue
        outcomes.append((canonical(result, ffi), recorded(ffi, lib, shape)))
    return outcomes


@pytest.mark.skipif(not INT_REGISTERS, reason="no direct calls on this platform")
def test_every_shape_is_direct_and_agrees(libs, shapes):
    rng = random.Random(99)
    nffi_lib = libs[0][1]
    for shape in shapes:
        fn = getattr(nffi_lib, shape.name)
        assert type(fn) is _core.CFunction
        for _ in range(12):
            args = [make_argument(rng, t, nffi.FFI()) for t in shape.args]
            direct, via_libffi, via_cffi = call_three_ways(libs, shape, args)
            assert direct == via_libffi, (shape.cdef(), args)
            assert direct == via_cffi, (shape.cdef(), args)


def test_errors_agree(libs, shapes):
    """Out-of-range and wrong-type arguments raise the same on all three paths."""
    rng = random.Random(7)
    bad_values = [1 << 64, -(1 << 64), 1.5, "x", None, [1], b"ab", object()]
    for shape in shapes:
        if not shape.args:
            continue
        for _ in range(3):
            args = [make_argument(rng, t, nffi.FFI()) for t in shape.args]
            k = rng.randrange(len(args))
            args[k] = ("bad", rng.choice(bad_values))
            direct, via_libffi, via_cffi = call_three_ways(libs, shape, args)
            assert direct == via_libffi, (shape.cdef(), args)
            if direct[0] == "raised" or via_cffi[0] == "raised":
                assert direct[:2] == via_cffi[:2], (shape.cdef(), args, direct, via_cffi)
            else:
                assert direct == via_cffi, (shape.cdef(), args)


@pytest.mark.skipif(MACHINE != "x86_64", reason="register contents checked on x86-64")
def test_narrow_results_ignore_garbage_upper_bits(libs):
    (ffi, lib), (cffi_ffi, cffi_lib) = libs
    expected = {"garbage_s8": -128, "garbage_u8": 128, "garbage_s16": -32767,
                "garbage_u16": 32769, "garbage_s32": -2147483647,
                "garbage_u32": 2147483649}
    for name, value in expected.items():
        assert getattr(lib, name)() == value
        assert _core._call_libffi(getattr(lib, name)) == value
        assert getattr(cffi_lib, name)() == value
    assert lib.garbage_bool() == cffi_lib.garbage_bool()


@pytest.mark.skipif(MACHINE != "x86_64", reason="register contents checked on x86-64")
def test_narrow_arguments_are_extended_to_the_full_register(libs):
    (ffi, lib), _ = libs
    for v in (-128, -1, 0, 5, 127):
        assert lib.echo_register(v) == v
        assert _core._call_libffi(lib.echo_register, v) == v


def test_wrong_count_and_keywords(libs):
    (ffi, lib), (cffi_ffi, cffi_lib) = libs
    with pytest.raises(TypeError, match="expects 2 arguments, got 1"):
        lib.ret_0(1)
    with pytest.raises(TypeError, match="keyword"):
        lib.ret_0(1, 2.0, x=3)


def test_pointer_arguments_needing_temporaries_fall_back(libs, tmp_path):
    """A list for an 'int *' or a Python file for a 'FILE *' needs temporary memory:
    such calls go through libffi, with the same results."""
    (ffi, lib), (cffi_ffi, cffi_lib) = libs
    assert lib.sum_ints([1, 2, 3, -4], 4) == cffi_lib.sum_ints([1, 2, 3, -4], 4) == 2
    assert lib.sum_ints((5,), 1) == 5
    assert lib.sum_ints(ffi.new("int[]", [7, 8]), 2) == 15
    with pytest.raises(TypeError):
        lib.sum_ints("str", 1)
    ffi2 = nffi.FFI()
    ffi2.cdef("int fileno(FILE *); size_t strlen(const char *);")
    libc = ffi2.dlopen(None)
    with open(tmp_path / "f", "w") as f:
        assert libc.fileno(f) >= 0
    assert libc.strlen(b"hello") == 5
    for bad in ("str", None, 5):
        with pytest.raises(TypeError):
            libc.strlen(bad)


def test_subclasses_of_bytes_and_int_are_accepted_on_both_paths():
    """The call plan decides once which pointer arguments take bytes; a subclass of
    bytes (or of int) leaves the inline fast path but not the rule: cffi accepts it."""
    class Bytes(bytes):
        pass

    class Int(int):
        pass
    results = []
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef("size_t strlen(const char *); int abs(int); void *memchr(void *, int, size_t);")
        libc = ffi.dlopen(None)
        data = Bytes(b"abcd")
        found = libc.memchr(data, ord("c"), 4)
        results.append((libc.strlen(data), libc.abs(Int(-3)), libc.abs(True),
                        ffi.string(ffi.cast("char *", found))))
        if FFI is nffi.FFI:
            assert results[-1][0] == _core._call_libffi(libc.strlen, data)
    assert results[0] == results[1] == (4, 3, 1, b"cd")


def test_cast_function_pointers_are_direct(libs):
    (ffi, lib), _ = libs
    p = ffi.cast("int64_t(*)(int64_t, double)", lib.ret_7)
    assert type(p) is _core.CFunction
    assert p(3, 0.5) == lib.ret_7(3, 0.5)
    null = ffi.cast("int(*)(int)", 0)
    with pytest.raises(RuntimeError):
        null(1)


def test_closed_library_raises(shape_lib_path):
    ffi = nffi.FFI()
    ffi.cdef("int64_t ret_7(int64_t, double);")
    lib = ffi.dlopen(shape_lib_path)
    fn = lib.ret_7
    fn(1, 2.0)
    ffi.dlclose(lib)
    with pytest.raises(ffi.error):
        fn(1, 2.0)


def test_errno_round_trip_on_the_direct_path():
    ffi = nffi.FFI()
    ffi.cdef("int close(int); int abs(int);")
    lib = ffi.dlopen(None)
    ffi.errno = 0
    assert lib.close(-1) == -1
    assert ffi.errno == 9        # EBADF
    ffi.errno = 1234
    lib.abs(1)                   # does not touch errno: the value set survives
    assert ffi.errno == 1234


def test_call_shapes_header_is_generated():
    root = os.path.dirname(TESTS_DIR)
    sys.path.insert(0, os.path.join(root, "tools"))
    try:
        import gen_call_shapes
    finally:
        sys.path.pop(0)
    with open(gen_call_shapes.target_path()) as f:
        assert f.read() == gen_call_shapes.generate(), \
            "src/nffi/_core/call_shapes.h is stale: run tools/gen_call_shapes.py"


# ---- structs and unions by value ------------------------------------------------------
#
# Small structs travel in registers on x86-64 (each eightbyte INTEGER or SSE); larger or
# unsupported ones (long double, more than 16 bytes) go through libffi.  Every struct
# below is passed and returned by generated functions, also with scalars around it and
# with the integer registers nearly full, and every call is made three ways (direct,
# libffi, cffi) with a list initializer and with a cdata.

STRUCTS = [
    # name, C body, the eightbyte classes on x86-64 ("" = not in registers)
    ("s_i", "int a;", "I"),
    ("s_ii", "int a, b;", "I"),
    ("s_cs", "char a; short b;", "I"),
    ("s_f", "float a;", "S"),
    ("s_ff", "float a, b;", "S"),
    ("s_d", "double a;", "S"),
    ("s_fi", "float a; int b;", "I"),
    ("s_ll", "long a, b;", "II"),
    ("s_dd", "double a, b;", "SS"),
    ("s_ld", "long a; double b;", "IS"),
    ("s_dl", "double a; long b;", "SI"),
    ("s_fff", "float a, b, c;", "SS"),
    ("s_ffff", "float a, b, c, d;", "SS"),
    ("s_csfd", "char a; short b; float c; double d;", "IS"),
    ("s_ffl", "float a, b; long c;", "SI"),
    ("s_pf", "void *p; float f;", "IS"),
    ("s_arr", "unsigned char a[3];", "I"),
    ("s_arr12", "signed char a[12];", "II"),
    ("s_farr", "float a[3];", "SS"),
    ("s_nest", "struct s_ff p; int x;", "SI"),
    ("s_bits", "int a : 3; unsigned b : 7; short c;", ""),   # refused, as cffi
    ("s_big", "long a, b, c;", ""),
    # (not 'struct { long double x; }': libffi returns garbage for it, in cffi as in nffi)
    ("u_if", "union { int i; float f; } u;", ""),    # unions: refused, as cffi
    ("u_df", "union { double d; float f[2]; } u;", ""),
]


def struct_functions(name):
    """The C source of the functions over one struct type (make_ fills its bytes from
    the seeds: any bytes are a valid value of these types)."""
    t = "struct %s" % name
    return r"""
%(t)s make_%(n)s(int64_t seed, double dseed)
{
    %(t)s s;
    unsigned char *p = (unsigned char *)&s;
    for (size_t k = 0; k < sizeof(s); k++)
        p[k] = (unsigned char)(seed * 31 + k * 7 + (int64_t)dseed);
    return s;
}
%(t)s echo_%(n)s(%(t)s s) { return s; }
int64_t hash_%(n)s(int8_t k, %(t)s s, double x)
{
    const unsigned char *p = (const unsigned char *)&s;
    int64_t h = k * 1000003 + (int64_t)(x * 8);
    for (size_t i = 0; i < sizeof(s); i++)
        h = h * 131 + p[i];
    return h;
}
%(t)s crowd_%(n)s(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, %(t)s s,
                  double x)
{
    (void)a; (void)b; (void)c; (void)d; (void)e; (void)x;
    return s;
}
%(t)s mixed_%(n)s(double x, %(t)s s, int y, %(t)s t)
{
    (void)x; (void)y; (void)s;
    return t;
}
""" % {"t": t, "n": name}


def struct_cdef(name):
    t = "struct %s" % name
    return ("%(t)s make_%(n)s(int64_t, double); %(t)s echo_%(n)s(%(t)s);"
            "int64_t hash_%(n)s(int8_t, %(t)s, double);"
            "%(t)s crowd_%(n)s(int64_t, int64_t, int64_t, int64_t, int64_t, %(t)s, double);"
            "%(t)s mixed_%(n)s(double, %(t)s, int, %(t)s);" % {"t": t, "n": name})


def struct_decls():
    return "".join("struct %s { %s };\n" % (n, body) for n, body, _ in STRUCTS)


@pytest.fixture(scope="module")
def struct_libs():
    path = compile_library("structlib", "#include <stdint.h>\n#include <stddef.h>\n"
                           + struct_decls() + "".join(struct_functions(n) for n, _, _ in STRUCTS))
    cdef = struct_decls() + "".join(struct_cdef(n) for n, _, _ in STRUCTS)
    result = []
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef(cdef)
        result.append((ffi, ffi.dlopen(path)))
    return result


def struct_image(ffi, value):
    """The bytes of a struct result, without its padding (registers may carry anything
    there): each field's bytes, recursively, and the raw bytes of unions and arrays."""
    t = ffi.typeof(value)
    if t.kind == "struct":
        out = []
        for fname, field in t.fields:
            if field.bitsize >= 0:
                out.append(("bits", fname, getattr(value, fname)))
            elif field.type.kind in ("struct", "union"):
                out.append(struct_image(ffi, getattr(value, fname)))
            else:
                p = ffi.addressof(value, fname)
                out.append(bytes(ffi.buffer(p, ffi.sizeof(field.type))))
        return tuple(out)
    return bytes(ffi.buffer(ffi.addressof(value)))


def struct_calls(struct_libs, how, name, rng_seed):
    (nffi_ffi, nffi_lib), (cffi_ffi, cffi_lib) = struct_libs
    ffi, lib = (cffi_ffi, cffi_lib) if how == "cffi" else (nffi_ffi, nffi_lib)

    def call(fn, *args):
        return _core._call_libffi(fn, *args) if how == "libffi" else fn(*args)

    rng = random.Random(rng_seed)
    out = []
    try:
        call(getattr(lib, "make_" + name), 0, 0.0)
    except NotImplementedError as e:       # bit fields: refused by cffi, and by nffi
        return [("refused",)]
    for _ in range(4):
        seed, dseed = rng.randrange(-1 << 40, 1 << 40), rng.uniform(-100, 100)
        made = call(getattr(lib, "make_" + name), seed, dseed)
        out.append(struct_image(ffi, made))
        out.append(struct_image(ffi, call(getattr(lib, "echo_" + name), made)))
        k, x = rng.randrange(-128, 128), rng.uniform(-1e3, 1e3)
        out.append(call(getattr(lib, "hash_" + name), k, made, x))
        other = call(getattr(lib, "make_" + name), seed + 1, dseed)
        out.append(struct_image(ffi, call(getattr(lib, "crowd_" + name), 1, 2, 3, 4, 5,
                                          made, 0.5)))
        out.append(struct_image(ffi, call(getattr(lib, "mixed_" + name), 1.5, made, 7,
                                          other)))
    return out


@pytest.mark.parametrize("name, body, classes", STRUCTS)
def test_structs_by_value_agree(struct_libs, name, body, classes):
    direct = struct_calls(struct_libs, "direct", name, 5)
    assert direct == struct_calls(struct_libs, "libffi", name, 5)
    assert direct == struct_calls(struct_libs, "cffi", name, 5)


@pytest.mark.skipif(MACHINE != "x86_64", reason="structs in registers on x86-64 only")
@pytest.mark.parametrize("name, body, classes", STRUCTS)
def test_small_structs_take_the_direct_path(struct_libs, name, body, classes):
    """Which calls are direct: every one of a struct of up to 16 bytes classified
    INTEGER/SSE, unless its eightbytes no longer fit the integer registers."""
    ffi, lib = struct_libs[0]
    in_registers = bool(classes)
    for prefix in ("make_", "echo_", "hash_", "mixed_"):
        assert _core._is_direct(getattr(lib, prefix + name)) == in_registers, prefix
    # crowd_: five integers first, then the struct: it fits only with one INTEGER eightbyte
    fits = in_registers and classes.count("I") <= 1
    assert _core._is_direct(getattr(lib, "crowd_" + name)) == fits


def test_struct_arguments_from_initializers(struct_libs):
    """A list or dict for a struct argument, or a wrong value, on both paths as cffi."""
    outcomes = []
    for ffi, lib in struct_libs:
        row = []
        for value in ([1, 2], {"b": 5, "a": -3}, (3, 4), [1, 2, 3], [1 << 40, 0], "x",
                      None, ffi.new("struct s_ii *"), ffi.new("struct s_ii *")[0]):
            for call in (lambda v: lib.hash_s_ii(1, v, 2.0),
                         lambda v: _core._call_libffi(lib.hash_s_ii, 1, v, 2.0)
                         if ffi.__class__ is nffi.FFI else lib.hash_s_ii(1, v, 2.0)):
                try:
                    row.append(call(value))
                except Exception as e:
                    row.append(type(e).__name__)
        outcomes.append(row)
    assert outcomes[0] == outcomes[1]


@pytest.mark.skipif(MACHINE != "x86_64", reason="structs in registers on x86-64 only")
def test_deeply_nested_small_structs_fall_back_to_libffi():
    """The classification recurses on the C stack: nesting beyond its bound (32) leaves
    the struct to libffi's path, and very deep nesting does not crash."""
    ffi = nffi.FFI()
    ffi.cdef("struct n0 { int x; };\n" + "".join(
        "struct n%d { struct n%d inner; };\n" % (i, i - 1) for i in range(1, 3000)))
    assert _core._is_direct(ffi.cast("int(*)(struct n10)", 0))
    assert _core._is_direct(ffi.cast("struct n31(*)(int)", 0))   # int at depth 32
    assert not _core._is_direct(ffi.cast("int(*)(struct n32)", 0))
    assert not _core._is_direct(ffi.cast("int(*)(struct n2999)", 0))
