"""Hypothesis properties: nffi against cffi (the oracle) on random values and layouts.

Each property computes the same thing with an nffi FFI and a cffi FFI and requires the
same result (or the same exception class), plus, where there is one, the mathematically
expected result (round trips, C wrap-around).  Known disagreements are strict xfails.
"""
import math
import struct

import cffi
import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from conftest import CDEF, CDEF_BASE, fuzz_examples, make_pair

SETTINGS = settings(max_examples=fuzz_examples(60), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])

_oracle = cffi.FFI()
_oracle.cdef(CDEF_BASE)
_oracle.cdef(CDEF)

INT_TYPES = [
    "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
    "long", "unsigned long", "long long", "unsigned long long", "_Bool",
    "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
    "int_least8_t", "uint_least16_t", "int_fast16_t", "uint_fast32_t", "intmax_t",
    "uintmax_t", "intptr_t", "uintptr_t", "ptrdiff_t", "size_t", "ssize_t",
    "wchar_t", "char16_t", "char32_t", "enum color", "enum neg", "enum big",
]
# types whose Python value is an int (char and the character types give bytes/str)
PLAIN_INT_TYPES = [t for t in INT_TYPES
                   if t not in ("char", "wchar_t", "char16_t", "char32_t")]


def int_range(t):
    """(min, max) of an integer type, signedness as cffi has it ('char' is unsigned)."""
    if t == "_Bool":
        return 0, 1
    bits = 8 * _oracle.sizeof(t)
    if int(_oracle.cast(t, -1)) >= 0:
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def wrap(t, v):
    """C's conversion of the integer v to the integer type t (cast semantics)."""
    if t == "_Bool":
        return int(v != 0)
    lo, hi = int_range(t)
    size = hi - lo + 1
    return (v - lo) % size + lo


@pytest.fixture(scope="module")
def pair():
    return make_pair(CDEF_BASE, CDEF)


def outcome(fn, ffi):
    try:
        return ("ok", fn(ffi))
    except Exception as e:
        return ("raise", type(e).__name__)


def both(pair, fn):
    """fn run with each FFI; asserts they agree and returns nffi's outcome."""
    n, c = (outcome(fn, ffi) for ffi in pair)
    assert n == c, "nffi %r, cffi %r" % (n, c)
    return n


def int_values(t):
    lo, hi = int_range(t)
    edges = st.sampled_from([lo, hi, lo - 1, hi + 1, 0, -1, 1, 2**64, -2**64, 2**63, -2**63 - 1])
    return st.one_of(edges, st.integers(lo - 2**8, hi + 2**8), st.integers(-2**80, 2**80))


# ---- integers -----------------------------------------------------------------------------

@pytest.mark.parametrize("t", PLAIN_INT_TYPES)
@SETTINGS
@given(data=st.data())
def test_integer_new_round_trip(pair, t, data):
    v = data.draw(int_values(t))
    lo, hi = int_range(t)
    got = both(pair, lambda ffi: ffi.new(t + " *", v)[0])
    if lo <= v <= hi:
        assert got == ("ok", bool(v) if t == "_Bool" else v)
    else:
        assert got == ("raise", "OverflowError")


@pytest.mark.parametrize("t", PLAIN_INT_TYPES)
@SETTINGS
@given(data=st.data())
def test_integer_store_round_trip(pair, t, data):
    v = data.draw(int_values(t))
    lo, hi = int_range(t)

    def store(ffi):
        p = ffi.new(t + "[2]")
        p[1] = v
        return p[1], bytes(ffi.buffer(p))
    got = both(pair, store)
    if lo <= v <= hi:
        assert got[0] == "ok" and got[1][0] == (bool(v) if t == "_Bool" else v)
    else:
        assert got == ("raise", "OverflowError")


@pytest.mark.parametrize("t", INT_TYPES)
@SETTINGS
@given(data=st.data())
def test_integer_cast_wraps(pair, t, data):
    v = data.draw(int_values(t))
    if t == "_Bool":
        # cast('_Bool', n) with n a multiple of 2**64: see test_bool_cast_of_huge_int
        assume(v % 2**64 != 0 or v == 0)
    got = both(pair, lambda ffi: int(ffi.cast(t, v)))
    assert got == ("ok", wrap(t, v))


@pytest.mark.parametrize("t", ["char", "wchar_t", "char16_t", "char32_t"])
@SETTINGS
@given(data=st.data())
def test_character_types_from_int(pair, t, data):
    lo, hi = int_range(t)
    v = data.draw(st.integers(lo, hi))
    if t != "char":
        assume(not (t == "wchar_t" and v < 0))
    # new() refuses ints for character types; cast() accepts them
    both(pair, lambda ffi: ffi.new(t + " *", v))
    got = both(pair, lambda ffi: int(ffi.cast(t, v)))
    assert got == ("ok", v)


@SETTINGS
@given(chain=st.lists(st.sampled_from(INT_TYPES), min_size=1, max_size=6),
       v=st.integers(-2**70, 2**70))
def test_integer_cast_chains(pair, chain, v):
    if chain[0] == "_Bool":
        assume(v % 2**64 != 0 or v == 0)     # see test_bool_cast_of_huge_int
    def run(ffi):
        x = v
        steps = []
        for t in chain:
            x = ffi.cast(t, x)
            steps.append(int(x))
        return steps
    got = both(pair, run)
    expected, x = [], v
    for t in chain:
        x = wrap(t, x)
        expected.append(x)
    assert got == ("ok", expected)


# ---- floats -------------------------------------------------------------------------------

FLOAT_SPECIAL = st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324,
                                 1.7976931348623157e308, 3.4028234663852886e38, 3.5e38,
                                 1.401298464324817e-45, 1e-46, 2.0**64, -2.0**63, 0.1])
FLOATS = st.one_of(FLOAT_SPECIAL, st.floats(), st.floats(width=32),
                   st.integers(-2**70, 2**70))


def frepr(x):
    return "nan" if isinstance(x, float) and math.isnan(x) else repr(x)


def as_float32(v):
    try:
        return struct.unpack("f", struct.pack("f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


@pytest.mark.parametrize("t", ["float", "double", "long double"])
@SETTINGS
@given(v=FLOATS)
def test_float_round_trip(pair, t, v):
    got_new = both(pair, lambda ffi: frepr(float(ffi.new(t + " *", v)[0])))
    got_cast = both(pair, lambda ffi: frepr(float(ffi.cast(t, v))))
    assert got_new == got_cast
    if t == "float":
        assert got_new == ("ok", frepr(as_float32(float(v))))
    else:
        assert got_new == ("ok", frepr(float(v)))


@pytest.mark.parametrize("t", ["float", "double"])
@SETTINGS
@given(v=FLOATS)
def test_float_to_int_conversions(pair, t, v):
    assume(not isinstance(v, float) or (math.isfinite(v) and abs(v) < 2**62))
    both(pair, lambda ffi: int(ffi.cast(t, v)))
    both(pair, lambda ffi: bool(ffi.cast(t, v)))
    both(pair, lambda ffi: int(ffi.cast("long long", ffi.cast(t, v))))
    both(pair, lambda ffi: bytes(ffi.buffer(ffi.new(t + " *", v))))


# ---- bytes through char arrays and buffers ------------------------------------------------

@SETTINGS
@given(data=st.binary(max_size=64), i=st.integers(-70, 70), j=st.integers(-70, 70))
def test_bytes_through_char_arrays(pair, data, i, j):
    assert both(pair, lambda ffi: ffi.buffer(ffi.new("char[]", data))[:]) == ("ok", data + b"\0")
    assert both(pair, lambda ffi: ffi.string(ffi.new("char[]", data))) == (
        "ok", data.split(b"\0")[0])
    assert both(pair, lambda ffi: ffi.unpack(ffi.new("char[]", data), len(data))) == ("ok", data)
    assert both(pair, lambda ffi: ffi.buffer(ffi.new("char[]", data))[i:j]) == (
        "ok", (data + b"\0")[i:j])
    both(pair, lambda ffi: list(ffi.new("char[]", data)))
    if data:
        both(pair, lambda ffi: ffi.string(ffi.new("char[]", data), abs(i)))
        both(pair, lambda ffi: ffi.new("char[%d]" % len(data), data)[len(data) - 1])
        both(pair, lambda ffi: ffi.new("char[%d]" % (len(data) - 1), data))


@SETTINGS
@given(data=st.binary(max_size=64), new=st.binary(max_size=64), i=st.integers(0, 64))
def test_buffer_assignment(pair, data, new, i):
    def assign(ffi):
        p = ffi.new("char[]", data)
        b = ffi.buffer(p)
        b[i:i + len(new)] = new
        return bytes(b), ffi.string(p)
    got = both(pair, assign)
    buf = bytearray(data + b"\0")
    if len(buf[i:i + len(new)]) == len(new):
        buf[i:i + len(new)] = new
        assert got == ("ok", (bytes(buf), bytes(buf).split(b"\0")[0]))
    else:
        assert got[0] == "raise"


@SETTINGS
@given(data=st.binary(max_size=64), t=st.sampled_from(["char[]", "int[]", "uint8_t[]",
                                                       "short[]", "point_t[]", "double[]"]))
def test_from_buffer_views(pair, data, t):
    def view(ffi):
        ba = bytearray(data)
        p = ffi.from_buffer(t, ba)
        return len(p), bytes(ffi.buffer(p)), ffi.sizeof(p)
    both(pair, view)


@SETTINGS
@given(src=st.binary(max_size=32), n=st.integers(0, 32))
def test_memmove_bytes(pair, src, n):
    def move(ffi):
        d = ffi.new("char[32]")
        ffi.memmove(d, src, n)
        return bytes(ffi.buffer(d))
    if n > len(src):
        # cffi does not check the source's length and copies whatever follows it in
        # memory (an oracle bug); nffi refuses
        n_ffi = pair[0]
        with pytest.raises(ValueError):
            move(n_ffi)
        return
    got = both(pair, move)
    assert got == ("ok", src[:n] + bytes(32 - n))


# ---- unicode through the character types --------------------------------------------------

TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=24)


@pytest.mark.parametrize("t", ["wchar_t", "char16_t", "char32_t"])
@SETTINGS
@given(s=TEXT)
@example(s="\U0001F600")
@example(s="\ud800")
@example(s="a\udc00b")
@example(s="\ud83d\ude00")
@example(s="x\x00y")
def test_unicode_through_char_arrays(pair, t, s):
    got_len = both(pair, lambda ffi: len(ffi.new(t + "[]", s)))
    got_str = both(pair, lambda ffi: ffi.string(ffi.new(t + "[]", s)))
    n = got_len[1] - 1 if got_len[0] == "ok" else 0
    both(pair, lambda ffi: ffi.unpack(ffi.new(t + "[]", s), n))
    both(pair, lambda ffi: ffi.string(ffi.new(t + "[]", s), 3))
    both(pair, lambda ffi: [ffi.cast("int", c) for c in ffi.new(t + "[]", s)])
    if t == "char16_t":
        units = len(s.encode("utf-16-le", "surrogatepass")) // 2
        assert got_len == ("ok", units + 1)
    else:
        assert got_len == ("ok", len(s) + 1)
    prefix = s.split("\0")[0]
    has_surrogates = any(0xD800 <= ord(c) < 0xE000 for c in prefix)
    if not has_surrogates:
        assert got_str == ("ok", prefix)


@pytest.mark.parametrize("t", ["wchar_t", "char16_t", "char32_t"])
@SETTINGS
@given(c=st.characters(exclude_categories=()))
def test_single_character(pair, t, c):
    got = both(pair, lambda ffi: ffi.new(t + " *", c)[0])
    if t == "char16_t" and ord(c) > 0xFFFF:
        assert got[0] == "raise"
    else:
        assert got == ("ok", c)
    both(pair, lambda ffi: int(ffi.cast(t, c)))
    both(pair, lambda ffi: ffi.string(ffi.cast(t, c)))


# ---- random struct layouts ----------------------------------------------------------------

SCALARS = ["char", "signed char", "unsigned char", "short", "unsigned short", "int",
           "unsigned int", "long", "unsigned long", "long long", "float", "double",
           "long double", "_Bool", "void *", "char *", "int8_t", "uint16_t", "int64_t",
           "wchar_t", "char16_t", "double _Complex", "enum e1"]
BITFIELD_TYPES = {"char": 8, "signed char": 8, "unsigned char": 8, "short": 16,
                  "unsigned short": 16, "int": 32, "unsigned int": 32, "long long": 64,
                  "unsigned long long": 64, "_Bool": 1}


@st.composite
def members(draw, inner_names, bitfields=True):
    kinds = ["scalar", "array"] + (["bitfield", "padding-bitfield"] if bitfields else [])
    if inner_names:
        kinds.append("inner")
    kind = draw(st.sampled_from(kinds))
    if kind == "scalar":
        return draw(st.sampled_from(SCALARS)), ""
    if kind == "array":
        base = draw(st.sampled_from(SCALARS + ([draw(st.sampled_from(inner_names))]
                                                if inner_names else [])))
        dims = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
        return base, "".join("[%d]" % d for d in dims)
    if kind == "inner":
        return draw(st.sampled_from(inner_names)), ""
    t = draw(st.sampled_from(sorted(BITFIELD_TYPES)))
    if kind == "padding-bitfield":
        return t, ":%d" % draw(st.integers(0, BITFIELD_TYPES[t]))
    return t, ":%d" % draw(st.integers(1, BITFIELD_TYPES[t]))


@st.composite
def layouts(draw):
    """Two cdef sources: inner aggregates, then an outer one using them (nffi cannot yet
    make an array of a struct declared in the same cdef call)."""
    inner_src, inner_names = ["enum e1 { E1A = -1, E1B = 1000 };"], []
    for k in range(draw(st.integers(0, 2))):
        kw = draw(st.sampled_from(["struct", "union"]))
        fields = draw(st.lists(st.sampled_from(SCALARS), min_size=1, max_size=4))
        inner_src.append("%s in%d { %s };" % (kw, k, " ".join(
            "%s f%d;" % (f, i) for i, f in enumerate(fields))))
        inner_names.append("%s in%d" % (kw, k))
    outer_kw = draw(st.sampled_from(["struct", "struct", "union"]))
    pack = draw(st.sampled_from([None, None, None, 1, 2, 4, "packed"]))
    # bit-fields in packed structs: cffi refuses or differs from gcc, nffi follows gcc;
    # that is test_packed_bitfields below, kept out of the random search
    mems = draw(st.lists(members(inner_names, bitfields=pack is None), min_size=1, max_size=8))
    decls = []
    for i, (t, suffix) in enumerate(mems):
        if suffix == ":0":
            decls.append("%s :0;" % t)          # zero-width: unnamed only
        elif suffix.startswith(":") and draw(st.booleans()) and i % 3 == 0:
            decls.append("%s %s;" % (t, suffix))  # unnamed padding bit-field
        else:
            decls.append("%s m%d%s;" % (t, i, suffix))
    # an aggregate with no named member has size 0 in nffi (as gcc) and 1 in cffi: that
    # disagreement is test_empty_aggregate_size below, kept out of the random search
    assume(any(" m" in d for d in decls))
    if outer_kw == "struct" and draw(st.booleans()):
        decls.append("int flex[];")
    outer = "%s outer { %s };" % (outer_kw, " ".join(decls))
    return " ".join(inner_src), outer, outer_kw + " outer", pack


def declare(ffi, inner, outer, pack):
    ffi.cdef(inner)
    if pack == "packed":
        ffi.cdef(outer, packed=True)
    elif pack is not None:
        ffi.cdef(outer, pack=pack)
    else:
        ffi.cdef(outer)


def describe(ffi, inner, outer, name, pack):
    declare(ffi, inner, outer, pack)
    ct = ffi.typeof(name)
    fields = []
    for fname, f in ct.fields:
        # cffi 2.0 spells 'double _Complex' '_cffi_double_complex_t' (see the differential tests)
        tname = repr(f.type).replace("_cffi_double_complex_t", "double _Complex")
        entry = (fname, tname, f.offset, f.bitshift, f.bitsize)
        if f.bitsize < 0:
            entry += (ffi.offsetof(name, fname),)
        fields.append(entry)
    return ffi.sizeof(name), ffi.alignof(name), fields


@settings(max_examples=fuzz_examples(150), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(layout=layouts())
def test_random_struct_layouts(layout):
    inner, outer, name, pack = layout
    n_ffi, c_ffi = make_pair()
    c = outcome(lambda ffi: describe(ffi, inner, outer, name, pack), c_ffi)
    n = outcome(lambda ffi: describe(ffi, inner, outer, name, pack), n_ffi)
    # nffi reports cdef errors as CDefError where cffi has TypeError etc.: only the fact
    # that the declaration is refused is compared
    if c[0] == "raise" or n[0] == "raise":
        assert (n[0], c[0]) == ("raise", "raise"), (n, c)
        return
    assert n == c


@settings(max_examples=fuzz_examples(100), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(layout=layouts(), seed=st.binary(min_size=64, max_size=64))
def test_random_struct_field_values(layout, seed):
    """Fill a struct from random bytes and read every field: same values on both."""
    inner, outer, name, pack = layout
    n_ffi, c_ffi = make_pair()

    def read(ffi):
        declare(ffi, inner, outer, pack)
        size = ffi.sizeof(name)
        raw = (seed * (size // 64 + 1))[:size]
        p = ffi.from_buffer(name + " *", bytearray(raw))
        out = []
        for fname, f in ffi.typeof(name).fields:
            cname = f.type.cname
            # (a bit-field as wide as its 64-bit type: cffi's reading of it depends on
            # an out-of-range shift and is not a reliable oracle -- it gave INT64_MIN
            # for all-zero bytes in one run; see docs/differences.md)
            if f.type.kind in ("primitive", "enum") and f.bitsize != 64 and not any(
                    w in cname for w in ("double", "float", "wchar", "char16")):
                v = getattr(p, fname)
                out.append((fname, v if not isinstance(v, str) else ord(v)))
        return out
    c = outcome(read, c_ffi)
    assume(c[0] == "ok")
    n = outcome(read, n_ffi)
    assert n == c


# ---- disagreements found by the properties above, as plain examples -----------------------

def run_both(cdef, fn):
    out = []
    for ffi in make_pair(*([cdef] if cdef else [])):
        out.append(outcome(fn, ffi))
    return out


@pytest.mark.parametrize("v", [2**64, -2**64, 2**65, 3 * 2**64])
def test_bool_cast_of_huge_int(v):
    n, c = run_both(None, lambda ffi: int(ffi.cast("_Bool", v)))
    assert c == ("ok", 1)
    assert n == c


@pytest.mark.xfail(strict=True, reason="aggregate without named members: nffi size 0 (as "
                   "gcc), cffi size 1")
@pytest.mark.parametrize("decl", ["struct o { };", "struct o { int :0; };",
                                  "union o { _Bool :0; };"])
def test_empty_aggregate_size(decl):
    name = decl.split("{")[0].strip()
    n, c = run_both(decl, lambda ffi: (ffi.sizeof(name), ffi.alignof(name)))
    assert n == c


@pytest.mark.xfail(strict=True, reason="bit-fields with pack/packed: nffi lays them out as "
                   "gcc does (straddling units); cffi raises NotImplementedError or, for "
                   "pack=2, starts a new unit")
@pytest.mark.parametrize("decl, kw", [
    ("struct o { _Bool a:1; _Bool b:1; short c:15; };", {"pack": 1}),
    ("struct o { _Bool a:1; _Bool b:1; short c:15; };", {"packed": True}),
    ("struct o { char a; short b:15; };", {"pack": 2}),
])
def test_packed_bitfields(decl, kw):
    def describe(ffi):
        ffi.cdef(decl, **kw)
        return (ffi.sizeof("struct o"), [(k, f.offset, f.bitshift, f.bitsize)
                                         for k, f in ffi.typeof("struct o").fields])
    n, c = (outcome(describe, ffi) for ffi in make_pair())
    assert n == c
