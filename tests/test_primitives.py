"""The one table of primitive types (nffi.primitives) and what is built from it: the
core's table (src/nffi/_core/primitives.h, generated), the parser's spellings, cffi's
numbers in out-of-line modules."""
import os
import sys

import pytest

import nffi
from nffi import cparser, primitives
from nffi.decls import Primitive

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_primitives_header_is_generated():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import gen_primitives
    finally:
        sys.path.pop(0)
    with open(gen_primitives.target_path()) as f:
        assert f.read() == gen_primitives.generate(), \
            "src/nffi/_core/primitives.h is stale: run tools/gen_primitives.py"


@pytest.mark.parametrize("row", primitives.PRIMITIVES, ids=lambda row: row.name)
def test_every_primitive_is_built_by_the_core_with_cffi_facts(row):
    """Each row: the core builds it (its size from C's sizeof), every spelling parses to
    it, and cffi agrees on its size, its kind and its number in the tables."""
    cffi = pytest.importorskip("cffi")
    ffi, oracle = nffi.FFI(), cffi.FFI()
    ct = ffi.typeof(row.name)
    assert ct.cname == row.name and ct.kind == "primitive"
    assert ffi.sizeof(ct) == oracle.sizeof(row.name)
    assert ffi.alignof(ct) == oracle.alignof(row.name)
    for spelling in row.spellings:
        assert cparser.parse_type(spelling, ()) == Primitive(row.name)
        assert ffi.typeof(spelling) is ct
    from cffi import cffi_opcode
    cffi_name = {"float _Complex": "_cffi_float_complex_t",
                 "double _Complex": "_cffi_double_complex_t"}.get(row.name, row.name)
    assert cffi_opcode.PRIMITIVE_TO_INDEX[cffi_name] == row.cffi_number
    # the kind against cffi's own answers
    value = oracle.cast(row.name, 1)
    if row.kind in primitives.INTEGER_KINDS:
        assert primitives.is_integer(row.name)
        if row.kind in ("signed", "unsigned"):
            assert (int(oracle.cast(row.name, -1)) < 0) == (row.kind == "signed")
    else:
        assert not primitives.is_integer(row.name)
        assert isinstance(complex(value) if row.kind == "complex" else float(value),
                          (float, complex))
    assert primitives.is_floating(row.name) == (row.kind in ("float", "longdouble"))


def test_rffi_names_are_unique_and_name_the_c_types_of_the_spec():
    assert primitives.BY_RFFI_NAME["INT"].name == "int"
    assert primitives.BY_RFFI_NAME["SIZE_T"].name == "size_t"
    assert primitives.BY_RFFI_NAME["UCHAR"].name == "unsigned char"
    assert primitives.BY_RFFI_NAME["LONGDOUBLE"].name == "long double"
    assert primitives.BY_RFFI_NAME["UINT_FAST64_T"].name == "uint_fast64_t"
    names = [row.rffi_name for row in primitives.PRIMITIVES if row.rffi_name]
    assert len(names) == len(set(names))


def test_parser_spellings_come_from_the_table():
    assert cparser.PRIMITIVE_NAMES == frozenset(primitives.BY_NAME)
    assert cparser.parse_type("int long unsigned long", ()) == Primitive("unsigned long long")
