"""Fuzzing conversions: random Python values into every kind of C type, nffi against cffi.

Hypothesis draws a target type -- every primitive, enums, pointers (data, void, struct,
function, opaque), arrays (fixed, open, nested, of structs), structs, unions, bit-fields --
and a value of any kind: integers at and beyond every boundary, floats with nan/inf/-0.0,
bytes, bytearray, str with surrogates, lists and tuples (nested), dicts, None, arbitrary
objects, and cdata of other types (ints, floats, pointers, arrays, structs, NULL).  The
value goes through ``ffi.new``, ``ffi.cast``, a struct field assignment, an array item
assignment and, for aggregates, a C call argument.  nffi and cffi must agree on the
outcome: the same exception class, or the same value read back (read deeply: every field
and item, floats bit for bit, pointers by repr with the address masked).

Disagreements that are deliberate are listed in ``known_difference`` below; each names
its entry in docs/differences.md (checked by ``test_known_differences_are_documented``).
NFFI_FUZZ_EXAMPLES sets the number of examples per operation (default: 250 times
NFFI_FUZZ_SCALE, see conftest.fuzz_examples).
"""
import math
import os
import re
import struct

import cffi
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import nffi

from conftest import CDEF, CDEF_BASE, fuzz_examples
from test_call_fuzz import IntLike, Opaque, boundary_ints
from test_calls import TESTLIB_CDEF, testlib_path  # noqa: F401  (fixture)
from test_cdata_differential import ALL_PRIMITIVES

EXAMPLES = int(os.environ.get("NFFI_FUZZ_EXAMPLES", "0")) or fuzz_examples(250)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

ENUMS = ["enum color", "enum neg", "enum big", "tenum_t"]
POINTERS = ["int *", "char *", "void *", "point_t *", "struct selfref *", "binop_t",
            "wchar_t *", "struct opaque_s *", "int **", "double *"]
ARRAYS = ["int[3]", "char[4]", "wchar_t[3]", "point_t[2]", "double[2]", "int[2][2]",
          "unsigned char[2]", "char16_t[2]", "arr5_t"]
AGGREGATES = ["point_t", "struct pt3", "struct nested", "union u", "struct anon",
              "struct bits", "struct with_ptrs", "struct mixed", "struct cplx",
              "struct selfref"]
TARGETS = ALL_PRIMITIVES + ENUMS + POINTERS + ARRAYS + AGGREGATES
# open arrays ('T[]') are targets of new() only
OPEN_ARRAYS = ["int[]", "char[]", "wchar_t[]", "point_t[]", "double[]", "char32_t[]"]

FIELD_NAMES = ["x", "y", "a", "b", "c", "d", "e", "f", "i", "tag", "p", "arr", "tail",
               "kind", "ival", "dval", "lo", "hi", "name", "values", "extra", "w", "fc",
               "dc", "value", "next", "zz"]


def make_ffi(FFI):
    ffi = FFI()
    ffi.cdef(CDEF_BASE)
    ffi.cdef(CDEF)
    # one struct per target type, with a single field 'f' of that type
    ffi.cdef("\n".join("struct fz%d { %s; };" % (i, ffi.getctype(t, "f"))
                       for i, t in enumerate(TARGETS)))
    return ffi


@pytest.fixture(scope="module")
def pair():
    return make_ffi(nffi.FFI), make_ffi(cffi.FFI)


# ---- values -----------------------------------------------------------------------------

class FloatLike:
    def __float__(self):
        return 2.5

    def __repr__(self):
        return "FloatLike()"


# A cdata value is described, then made in each FFI by materialize()
CDATA_SOURCES = st.one_of(
    st.tuples(st.just("cast"), st.sampled_from(["int", "double", "char", "long long",
                                                 "unsigned char", "int *", "_Bool",
                                                 "float", "wchar_t", "enum color",
                                                 "long double", "char *", "void *",
                                                 "binop_t", "point_t *"]),
              st.integers(-2, 300)),
    st.sampled_from([("null",), ("new", "point_t *", [1, 2]), ("deref", "point_t *", [3, 4]),
                     ("new", "int[3]", [1, 2, 3]), ("new", "int[2]", [5, 6]),
                     ("new", "char[]", b"ab"), ("new", "char[4]", b"xyz"),
                     ("new", "int *", 7), ("new", "struct pt3 *", [1, 2.5, b"c"]),
                     ("deref", "struct pt3 *", [1, 2.5, b"c"]),
                     ("new", "double[2]", [1.5, 2.5]), ("new", "wchar_t[]", "hi"),
                     ("deref", "union u *", [7]), ("new", "struct selfref *", [1]),
                     ("deref", "struct nested *", None),
                     ("new", "point_t[2]", [[1, 2], [3, 4]]),
                     ("cast", "float _Complex", 3), ("complex", "double _Complex", 1 + 2j),
                     ("buffer", "char[3]", b"ab"), ("cast", "struct opaque_s *", 64),
                     ("new", "int[2][2]", [[1, 2], [3, 4]])]),
)

SCALARS = st.one_of(
    boundary_ints((1, 2, 3, 4, 5, 7, 8, 16, 21, 32, 40, 64)),   # bit-field widths too
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 3.5e38, 1e308, 0.5,
                     2.0 ** 63, 2.0 ** 64, -(2.0 ** 63)]),
    st.binary(max_size=5),
    st.binary(max_size=3).map(bytearray),
    st.text(max_size=3),
    st.sampled_from(["\ud800", "\udfff", "\U0010ffff", "\x00", "\xff", "\u20ac",
                     "\U0001f600", "GREEN", "RED", "#5", "#-1", "T_ONE", "BIG_B"]),
    st.sampled_from([None, True, False, Opaque(), object(), 1j, 2.5 + 0j, IntLike(3),
                     IntLike(-1), IntLike(1 << 70), FloatLike(), memoryview(b"ab")]),
    CDATA_SOURCES.map(lambda t: ("cdata",) + t),
)

VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=3),
    ),
    max_leaves=8,
)


def materialize(value, ffi, keep):
    """The value for ffi: cdata descriptions are made in ffi (kept alive in keep)."""
    if isinstance(value, tuple) and value[:1] == ("cdata",):
        kind, ctype, *rest = value[1:] + (None,) if len(value) == 2 else value[1:]
        if kind == "null":
            return ffi.NULL
        if kind == "cast":
            n = rest[0]
            if ctype == "char":
                n %= 256
            return ffi.cast(ctype, n)
        if kind == "complex":
            return ffi.cast(ctype, rest[0])
        if kind == "buffer":
            owner = ffi.new(ctype, rest[0])
            keep.append(owner)
            return ffi.buffer(owner)
        owner = ffi.new(ctype, rest[0])
        keep.append(owner)
        return owner[0] if kind == "deref" else owner
    if isinstance(value, list):
        return [materialize(v, ffi, keep) for v in value]
    if isinstance(value, tuple):
        return tuple(materialize(v, ffi, keep) for v in value)
    if isinstance(value, dict):
        return {k: materialize(v, ffi, keep) for k, v in value.items()}
    return value


# ---- reading results back ---------------------------------------------------------------

ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
ALIASES = [("_cffi_float_complex_t", "float _Complex"),
           ("_cffi_double_complex_t", "double _Complex")]


def canon(text):
    for old, new in ALIASES:
        text = text.replace(old, new)
    return ADDRESS.sub("0x?", text).replace("node_t", "struct selfref")


def plain(value):
    """A comparable form of a Python value read from C."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, complex):
        return ("complex", struct.pack("<dd", value.real, value.imag))
    return (type(value).__name__, value)


def deep_read(ffi, x, depth=0):
    """Everything observable in x, recursively through fields and items."""
    if isinstance(x, ffi.CType):
        return ("ctype", canon(repr(x)))
    if not isinstance(x, ffi.CData):
        return plain(x)
    t = ffi.typeof(x)
    if t.kind in ("pointer", "function") or (t.kind == "array" and depth < 0):
        return ("ptr", canon(repr(x)))
    if t.kind == "array":
        return ("array", canon(t.cname), [deep_read(ffi, item, depth + 1) for item in x])
    if t.kind in ("struct", "union"):
        return (t.kind, [(name, deep_read(ffi, getattr(x, name), depth + 1))
                         for name, field in t.fields if name])
    if t.kind == "primitive" and t.cname == "long double":
        return ("long double", struct.pack("<d", float(x)))
    return ("cdata", canon(repr(x)))


def outcome(ffi, action, depth=0):
    """depth=-1: the result is not read through (an array cast to any address)."""
    try:
        return ("ok", deep_read(ffi, action(), depth))
    except Exception as e:
        return ("raise", type(e).__name__)


# ---- known, documented disagreements ------------------------------------------------------

CHARACTERS_OUTSIDE_UNICODE = "**Characters outside Unicode**"
KNOWN_PHRASES = [CHARACTERS_OUTSIDE_UNICODE]


def known_difference(op, target, value, mine, theirs):
    """The docs/differences.md phrase that explains a disagreement, or None."""
    if theirs == ("raise", "SystemError") and mine == ("raise", "ValueError"):
        return CHARACTERS_OUTSIDE_UNICODE     # cffi: PyUnicode_New of a value > 0x10FFFF
    return None


def test_known_differences_are_documented():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "docs", "differences.md")
    with open(path, encoding="utf-8") as f:
        text = " ".join(f.read().split())
    assert [p for p in KNOWN_PHRASES if p not in text] == []


# ---- the operations ---------------------------------------------------------------------

def pointer_to(ffi, target):
    return ffi.getctype(target, "*")


def check(pair, op, target, value, action):
    """Run action(ffi, v) on both sides; the outcomes must agree."""
    keep = []
    depth = -1 if op == "cast" else 0
    mine = outcome(pair[0], lambda: action(pair[0], materialize(value, pair[0], keep)), depth)
    theirs = outcome(pair[1], lambda: action(pair[1], materialize(value, pair[1], keep)),
                     depth)
    if mine != theirs:
        doc = known_difference(op, target, value, mine, theirs)
        assert doc is not None, "%s %s %r: nffi %r, cffi %r" % (op, target, value, mine,
                                                                 theirs)


@SETTINGS
@given(target=st.sampled_from(TARGETS + OPEN_ARRAYS), value=VALUES)
def test_new(pair, target, value):
    if target.endswith("]") or target == "arr5_t":
        def action(ffi, v):
            return ffi.new(target, v)
    else:
        def action(ffi, v):
            return ffi.new(pointer_to(ffi, target), v)[0]
    check(pair, "new", target, value, action)


@SETTINGS
@given(target=st.sampled_from(TARGETS), value=VALUES)
def test_cast(pair, target, value):
    if isinstance(value, tuple) and value[:2] == ("cdata", "new"):
        # an address: it differs between the two runs, compare only the outcome's type
        check(pair, "cast", target, value, lambda ffi, v: ffi.typeof(ffi.cast(target, v)))
    else:
        check(pair, "cast", target, value, lambda ffi, v: ffi.cast(target, v))


@SETTINGS
@given(index=st.integers(0, len(TARGETS) - 1), value=VALUES)
def test_field_assignment(pair, index, value):
    def action(ffi, v):
        s = ffi.new("struct fz%d *" % index)
        s.f = v
        return s.f
    check(pair, "field", TARGETS[index], value, action)


@SETTINGS
@given(target=st.sampled_from(TARGETS), value=VALUES)
def test_item_assignment(pair, target, value):
    def action(ffi, v):
        a = ffi.new(ffi.getctype(target, "[2]"))
        a[1] = v
        return a[1]
    check(pair, "item", target, value, action)


@pytest.fixture(scope="module")
def libs(testlib_path):  # noqa: F811
    out = []
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef(TESTLIB_CDEF)
        out.append((ffi, ffi.dlopen(testlib_path)))
    return out


# struct arguments by value and by pointer (the primitive arguments: test_call_fuzz.py)
# (bf_sum is not here: a struct with bit-fields by value is refused before any conversion)
CALLS = ["small_sum", "small_sum_p", "nested_sum", "three_sum", "large_sum"]


def oracle_argument(ffi, fn, value):
    """cffi's argument for fn(value), built so that it is fully initialized.

    cffi leaves the bytes of a struct argument that an initializer does not mention
    uninitialized (small_sum([]) returns garbage); C, and nffi, zero them.  cffi's
    ffi.new() zeroes, so the oracle passes what ffi.new() makes of the same value."""
    arg = ffi.typeof(fn).args[0]
    if arg.kind == "struct" and isinstance(value, (list, tuple, dict)):
        return ffi.new(ffi.getctype(arg, "*"), value)[0]
    if arg.kind == "pointer" and isinstance(value, (list, tuple)):
        return ffi.new(ffi.getctype(arg.item, "[]"), value)
    return value


@SETTINGS
@given(name=st.sampled_from(CALLS), value=VALUES)
def test_call_argument(libs, name, value):
    if name.endswith("_p") and (
            (isinstance(value, (list, tuple)) and not value)       # an array of no struct
            or (isinstance(value, tuple)                               # NULL, 0x87...
                and value[:2] in (("cdata", "null"), ("cdata", "cast")))):
        return      # the callee would read what is not there, on both sides
    keep = []
    (n_ffi, n_lib), (c_ffi, c_lib) = libs
    n_fn, c_fn = getattr(n_lib, name), getattr(c_lib, name)
    mine = outcome(n_ffi, lambda: n_fn(materialize(value, n_ffi, keep)))
    theirs = outcome(c_ffi, lambda: c_fn(oracle_argument(c_ffi, c_fn,
                                                         materialize(value, c_ffi, keep))))
    if mine != theirs:
        assert known_difference("call", name, value, mine, theirs) is not None, (
            "call %s(%r): nffi %r, cffi %r" % (name, value, mine, theirs))
