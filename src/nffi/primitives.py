"""The one table of C primitive types: every fact about a primitive that is not its size.

Each row gives, for one primitive type:

* ``name``: the canonical C name, the one ctypes show (``"unsigned long long"``) and
  the one every spelling normalises to (``unsigned long long int`` ...);
* ``kind``: what its values are -- "signed", "unsigned" (integers), "bool", "char"
  (``char``: a byte string of length 1), "wchar", "char16", "char32" (a str of length
  1 in that encoding), "float", "longdouble", "complex";
* ``size_class``: the C type whose ``sizeof``/``_Alignof`` gives its size and
  alignment (the type itself for each of them today: a column so that a platform where
  a name has no C type of its own says which one to measure);
* ``cffi_number``: its number in cffi's serialized tables (``_cffi_backend``'s
  ``_CFFI_PRIM_*``; void is 0 and not a row here);
* ``rffi_name``: its name in nffi.rffi (``INT``, ``SIZE_T`` ...), None if rffi has none;
* ``spellings``: every way to write it in a cdef, the words in any order (a name that
  is no C keyword, like ``size_t``, is a predeclared typedef name: see nffi.cparser).

Sizes are not here: they are the C compiler's, taken with ``sizeof`` in the core's
table, which tools/gen_primitives.py generates from this one
(src/nffi/_core/primitives.h; tests check that it is current).
"""
from typing import NamedTuple, Optional, Tuple

__all__ = ["Primitive", "PRIMITIVES", "BY_NAME", "BY_CFFI_NUMBER", "BY_RFFI_NAME",
           "INTEGER_KINDS", "is_integer", "is_floating"]


class Primitive(NamedTuple):
    """One row of the table (see the module docstring)."""
    name: str
    kind: str
    size_class: str
    cffi_number: int
    rffi_name: Optional[str]
    spellings: Tuple[str, ...]


def _row(name, kind, cffi_number, rffi_name=None, spellings=()):
    return Primitive(name, kind, name, cffi_number, rffi_name, (name,) + tuple(spellings))


def _stdint_rows():
    """int8_t ... uintmax_t, with their cffi numbers (17..24, 30..47) and rffi names."""
    rows = []
    number = 17
    for width in (8, 16, 32, 64):                   # exact-width: no rffi name
        for sign in ("int", "uint"):
            rows.append(_row("%s%d_t" % (sign, width),
                             "signed" if sign == "int" else "unsigned", number))
            number += 1
    number = 30
    for variant in ("least", "fast"):
        for width in (8, 16, 32, 64):
            for sign in ("int", "uint"):
                name = "%s_%s%d_t" % (sign, variant, width)
                rows.append(_row(name, "signed" if sign == "int" else "unsigned", number,
                                 name.upper()))
                number += 1
    rows.append(_row("intmax_t", "signed", 46, "INTMAX_T"))
    rows.append(_row("uintmax_t", "unsigned", 47, "UINTMAX_T"))
    return rows


PRIMITIVES = tuple(sorted([
    _row("_Bool", "bool", 1, None, ["bool"]),
    _row("char", "char", 2, "CHAR"),
    _row("signed char", "signed", 3, "SIGNEDCHAR"),
    _row("unsigned char", "unsigned", 4, "UCHAR"),
    _row("short", "signed", 5, "SHORT", ["short int", "signed short", "signed short int"]),
    _row("unsigned short", "unsigned", 6, "USHORT", ["unsigned short int"]),
    _row("int", "signed", 7, "INT", ["signed", "signed int"]),
    _row("unsigned int", "unsigned", 8, "UINT", ["unsigned"]),
    _row("long", "signed", 9, "LONG", ["long int", "signed long", "signed long int"]),
    _row("unsigned long", "unsigned", 10, "ULONG", ["unsigned long int"]),
    _row("long long", "signed", 11, "LONGLONG",
         ["long long int", "signed long long", "signed long long int"]),
    _row("unsigned long long", "unsigned", 12, "ULONGLONG", ["unsigned long long int"]),
    _row("float", "float", 13, "FLOAT"),
    _row("double", "float", 14, "DOUBLE"),
    _row("long double", "longdouble", 15, "LONGDOUBLE"),
    _row("wchar_t", "wchar", 16, "WCHAR_T"),
    _row("intptr_t", "signed", 25, "INTPTR_T"),
    _row("uintptr_t", "unsigned", 26, "UINTPTR_T"),
    _row("ptrdiff_t", "signed", 27, "PTRDIFF_T"),
    _row("size_t", "unsigned", 28, "SIZE_T"),
    _row("ssize_t", "signed", 29, "SSIZE_T"),
    _row("float _Complex", "complex", 48),
    _row("double _Complex", "complex", 49),
    _row("char16_t", "char16", 50),
    _row("char32_t", "char32", 51),
] + _stdint_rows(), key=lambda row: row.cffi_number))

BY_NAME = {row.name: row for row in PRIMITIVES}
BY_CFFI_NUMBER = {row.cffi_number: row for row in PRIMITIVES}
BY_RFFI_NAME = {row.rffi_name: row for row in PRIMITIVES if row.rffi_name}

INTEGER_KINDS = frozenset(["signed", "unsigned", "bool", "char", "wchar", "char16", "char32"])


def is_integer(name):
    """Is the primitive of this canonical name an integer type of C (bit-fields and
    enums may have it)?  Characters and _Bool are."""
    return BY_NAME[name].kind in INTEGER_KINDS


def is_floating(name):
    """float, double, long double (not the complex types)."""
    return BY_NAME[name].kind in ("float", "longdouble")


assert len(BY_NAME) == len(BY_CFFI_NUMBER) == len(PRIMITIVES)
assert sorted(BY_CFFI_NUMBER) == list(range(1, len(PRIMITIVES) + 1))
