"""Fuzzing call arguments: random Python values into every primitive argument type.

Hypothesis draws values of every kind -- integers at and beyond each type's bounds,
floats including nan/inf/-0.0, bytes, str with surrogates, lists, dicts, None, bools,
arbitrary objects, cdata of other types -- and passes them to identity functions of the
C test library (tests/clib/testlib.c).  For every input, nffi's direct path, nffi's
libffi path and cffi must agree on the outcome: the same value, or the same exception
class.  (No disagreement is known.)
"""
import math
import struct

import cffi
import pytest
from hypothesis import given, settings, strategies as st

import nffi
from nffi import _core

from conftest import fuzz_examples
from test_calls import PRIMITIVES, TESTLIB_CDEF, testlib_path  # noqa: F401  (fixture)

EXTRA = [("bool", "_Bool"), ("char", "char"), ("wchar", "wchar_t"), ("char16", "char16_t"),
         ("char32", "char32_t")]
TYPES = PRIMITIVES + EXTRA


@pytest.fixture(scope="module")
def libs(testlib_path):  # noqa: F811
    out = []
    for FFI in (nffi.FFI, cffi.FFI):
        ffi = FFI()
        ffi.cdef(TESTLIB_CDEF)
        out.append((ffi, ffi.dlopen(testlib_path)))
    return out


def boundary_ints(bit_widths=(8, 16, 32, 64)):
    """Integers at and just beyond the bounds of every width, and anywhere up to 2**130."""
    edges = [0, 1, -1]
    for bits in bit_widths:
        for base in (1 << (bits - 1), 1 << bits):
            edges += [base - 1, base, base + 1, -base, -base - 1, -base + 1]
    return st.one_of(st.sampled_from(edges), st.integers(), st.integers(-300, 300),
                     st.integers(min_value=-(1 << 130), max_value=1 << 130))


class Opaque:
    pass


class IntLike:
    """An object with __index__ only (cffi does not take it as an integer)."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v

    def __repr__(self):
        return "IntLike(%r)" % self.v


values = st.one_of(
    boundary_ints(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 3.5e38, 1e308]),
    st.binary(max_size=3),
    st.text(max_size=2),
    st.sampled_from(["\ud800", "\udfff", "\U0010ffff", "\x00"]),
    st.lists(st.integers(-3, 3), max_size=2),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
    st.sampled_from([None, True, False, Opaque(), object(), 1j]),
    st.integers(-(1 << 70), 1 << 70).map(IntLike),
    st.tuples(st.sampled_from(["int", "double", "char", "long long", "unsigned char",
                               "int *", "_Bool", "float"]),
              st.integers(-2, 300)).map(lambda t: ("cdata",) + t),
)


def materialize(value, ffi):
    if isinstance(value, tuple) and value and value[0] == "cdata":
        _, ctype, n = value
        if ctype == "char":
            return ffi.cast(ctype, n % 256)
        return ffi.cast(ctype, n)
    return value


def canonical(result):
    if isinstance(result, float):
        return ("float", struct.pack("<d", result))
    return (type(result).__name__, result)


def outcome(call):
    try:
        return ("ok", canonical(call()))
    except Exception as e:
        return ("raised", type(e).__name__)


@settings(max_examples=fuzz_examples(400), deadline=None)
@given(index=st.integers(0, len(TYPES) - 1), value=values)
def test_call_argument_outcomes_agree(libs, index, value):
    name, ctype = TYPES[index]
    (nffi_ffi, nffi_lib), (cffi_ffi, cffi_lib) = libs
    fn = getattr(nffi_lib, "id_" + name)
    direct = outcome(lambda: fn(materialize(value, nffi_ffi)))
    via_libffi = outcome(lambda: _core._call_libffi(fn, materialize(value, nffi_ffi)))
    theirs = outcome(lambda: getattr(cffi_lib, "id_" + name)(materialize(value, cffi_ffi)))
    assert direct == via_libffi, (ctype, value)
    assert direct == theirs, (ctype, value)


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(value=values.filter(lambda v: not isinstance(v, list)))  # [] would be unterminated
def test_pointer_argument_outcomes_agree(libs, value):
    (nffi_ffi, nffi_lib), (cffi_ffi, cffi_lib) = libs
    mine = outcome(lambda: nffi_lib.my_strlen(materialize(value, nffi_ffi)))
    theirs = outcome(lambda: cffi_lib.my_strlen(materialize(value, cffi_ffi)))
    assert mine == theirs, value
