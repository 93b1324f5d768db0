"""nffi against cffi (the oracle), case by case: the type-and-memory half of the CFFI
reference.

Each case is a snippet of Python run once with ``ffi`` bound to an nffi FFI and once with
``ffi`` bound to a cffi FFI, both given the declarations of ``conftest.CDEF`` (or the
case's own cdef).  A snippet is an expression, or statements that leave their result in
``r``.  Both runs must return equal values (see ``normalize``: cdata are compared by
their repr with addresses masked, ctypes by repr, floats by repr so that -0.0 and nan
count) or raise exceptions of the same class.  Messages are compared too: a message
that drops a C type name cffi's message gives fails; any other difference is reported
as a MessageDifference warning when NFFI_MESSAGE_DIFFS=1 is set, and ignored otherwise.

Known disagreements are strict xfails (see ``KNOWN``): they fail as XPASS once fixed, and
must then be removed from ``KNOWN``.  ``ORACLE_BUGS`` lists inputs where cffi's own answer
is a bug (SystemError, AttributeError from its parser); there nffi must raise a sensible
exception instead.  NULL dereferences on which cffi itself crashes are checked by
``test_null_safety``, nffi only, each in a subprocess; inputs that crash nffi are skipped
there with a "CRASH:" reason (see also the comment above ``_ISOLATED``).
"""
import math
import os
import re
import subprocess
import sys
import warnings

import cffi
import pytest

from conftest import CDEF, CDEF_BASE, make_pair

ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
# Python-level class names differ by construction ('nffi.CData' vs
# '_cffi_backend.__CDataOwn'); they are not part of the interface.
PYCLASS = re.compile(r"(<class )?'(nffi|_cffi_backend)\.[\w.]+'>?")
PYOBJECT = re.compile(r"'\w+' object")
# cffi 2.0 spells the complex types with an internal typedef name (its MSVC work-around);
# nffi keeps the C spelling.  Treated as equal, see the report.
ALIASES = [("_cffi_float_complex_t", "float _Complex"),
           ("_cffi_double_complex_t", "double _Complex")]


# Messages that differ without losing a C type name are only reported, as warnings, when
# NFFI_MESSAGE_DIFFS=1 is set (there are ~200 of them, mostly nffi being more precise).
SHOW_MESSAGE_DIFFERENCES = os.environ.get("NFFI_MESSAGE_DIFFS") == "1"


class MessageDifference(UserWarning):
    """nffi raised the right exception class with a different message."""


# Anonymous structs are numbered ('struct $3') per FFI in cffi, per process in nffi (see
# docs/differences.md); the numbers depend on what ran before, not on the interface.
ANONYMOUS_TAG = re.compile(r"\$\d+")


def canon(text):
    for old, new in ALIASES:
        text = text.replace(old, new)
    text = ANONYMOUS_TAG.sub("$N", text)
    return PYCLASS.sub("<pyclass>", ADDRESS.sub("0x?", text))


def normalize(ffi, value):
    """A comparable, FFI-independent form of a result."""
    if isinstance(value, ffi.CData):
        return ("cdata", canon(repr(value)))
    if isinstance(value, ffi.CType):
        return ("ctype", canon(repr(value)))
    if isinstance(value, ffi.buffer):
        return ("buffer", bytes(value))
    if type(value).__name__ == "CField":
        return ("CField", normalize(ffi, value.type), value.offset, value.bitshift,
                value.bitsize, value.flags)
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, complex):
        return ("complex", repr(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [normalize(ffi, v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted((normalize(ffi, k), normalize(ffi, v))
                               for k, v in value.items()))
    if isinstance(value, (bytearray, memoryview)):
        return (type(value).__name__, bytes(value))
    if isinstance(value, str):
        return ("str", canon(value))
    if value is None or isinstance(value, (bool, int, bytes)):
        return (type(value).__name__, value)
    return ("other", type(value).__name__, canon(repr(value)))


def run_snippet(ffi, code):
    env = {"ffi": ffi, "math": math, "sys": sys}
    try:
        compiled = compile(code, "<case>", "eval")
    except SyntaxError:
        exec(compile(code, "<case>", "exec"), env)
        return env["r"]
    return eval(compiled, env)


def outcome(ffi, code, cdefs=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # e.g. cffi's "buffer larger than the cdata"
        return _outcome(ffi, code, cdefs)


def _outcome(ffi, code, cdefs):
    try:
        for src in cdefs or ():
            if isinstance(src, tuple):      # (source, cdef keyword arguments)
                ffi.cdef(src[0], **src[1])
            else:
                ffi.cdef(src)
        return ("ok", normalize(ffi, run_snippet(ffi, code)))
    except Exception as e:
        return ("raise", type(e).__name__, str(e))


def canon_message(msg):
    msg = re.sub(r"<class '([\w.]+)'>", r"\1", canon(msg))
    msg = PYOBJECT.sub("<pyobject>", msg)
    return msg.replace("'wchar_t", "'char32_t")     # cffi names wchar_t char32_t here


def c_type_names(msg, cffi_ffi):
    """The quoted words of a message that cffi itself parses as C types."""
    names = []
    for quoted in re.findall(r"'([^']+)'", msg):
        try:
            cffi_ffi.typeof(quoted[:-2] if quoted.endswith(" &") else quoted)
        except Exception:
            continue
        names.append(quoted)
    return names


def compare(nffi_out, cffi_out, code, cffi_ffi):
    if cffi_out[0] == "raise":
        assert nffi_out[0] == "raise", (
            "%s: nffi returned %r, cffi raised %s: %s" % ((code, nffi_out[1]) + cffi_out[1:]))
        assert nffi_out[1] == cffi_out[1], (
            "%s: nffi raised %s(%r), cffi raised %s(%r)"
            % (code, nffi_out[1], nffi_out[2], cffi_out[1], cffi_out[2]))
        n_msg, c_msg = canon_message(nffi_out[2]), canon_message(cffi_out[2])
        if n_msg != c_msg:
            lost = [q for q in c_type_names(c_msg, cffi_ffi) if "'%s'" % q not in n_msg]
            assert not lost, ("%s: nffi's message %r lacks the C type %s (cffi: %r)"
                              % (code, nffi_out[2], lost, cffi_out[2]))
            if SHOW_MESSAGE_DIFFERENCES:
                warnings.warn(MessageDifference("%s: nffi %r, cffi %r"
                                                % (code, nffi_out[2], cffi_out[2])))
    else:
        assert nffi_out == cffi_out, "%s: nffi %r, cffi %r" % (code, nffi_out, cffi_out)


def cases(*codes):
    return [c if not isinstance(c, str) else pytest.param(None, c, id=c) for c in codes]


# ---- information about the primitive types, from cffi --------------------------------

_oracle = cffi.FFI()

INT_TYPES = [
    "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
    "long", "unsigned long", "long long", "unsigned long long",
    "short int", "unsigned short int", "long int", "unsigned long int", "long long int",
    "unsigned long long int", "signed", "unsigned", "signed int", "signed short",
    "signed long", "signed long long",
    "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
    "uint64_t", "int_least8_t", "uint_least8_t", "int_least16_t", "uint_least16_t",
    "int_least32_t", "uint_least32_t", "int_least64_t", "uint_least64_t",
    "int_fast8_t", "uint_fast8_t", "int_fast16_t", "uint_fast16_t", "int_fast32_t",
    "uint_fast32_t", "int_fast64_t", "uint_fast64_t", "intmax_t", "uintmax_t",
    "intptr_t", "uintptr_t", "ptrdiff_t", "size_t", "ssize_t",
]
CHAR_TYPES = ["wchar_t", "char16_t", "char32_t"]
FLOAT_TYPES = ["float", "double", "long double"]
COMPLEX_TYPES = ["float _Complex", "double _Complex"]
ALL_PRIMITIVES = (["char", "_Bool", "bool"] + INT_TYPES + CHAR_TYPES + FLOAT_TYPES
                  + COMPLEX_TYPES)


def int_range(t):
    bits = 8 * _oracle.sizeof(t)
    if int(_oracle.cast(t, -1)) < 0:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _integer_cases():
    out = []
    for t in INT_TYPES:
        lo, hi = int_range(t)
        out += [
            f"ffi.new('{t} *')[0]",
            f"ffi.new('{t} *', {lo})[0]",
            f"ffi.new('{t} *', {hi})[0]",
            f"ffi.new('{t} *', {lo - 1})",
            f"ffi.new('{t} *', {hi + 1})",
            f"ffi.new('{t} *', 2**200)",
            f"ffi.new('{t} *', 1.5)",
            f"ffi.new('{t} *', '1')",
            f"ffi.new('{t} *', b'1')",
            f"ffi.new('{t} *', None)",
            f"ffi.new('{t} *', True)[0]",
            f"ffi.new('{t} *', ffi.cast('{t}', 9))[0]",
            f"ffi.cast('{t}', {hi + 1})",
            f"ffi.cast('{t}', {lo - 1})",
            f"ffi.cast('{t}', -1)",
            f"ffi.cast('{t}', 2**70 + 5)",
            f"ffi.cast('{t}', -2**70 - 5)",
            f"ffi.cast('{t}', 3.99)",
            f"ffi.cast('{t}', -2.5)" if lo < 0 else f"ffi.cast('{t}', 2.5)",
            f"ffi.cast('{t}', b'A')",
            f"ffi.cast('{t}', 'A')",
            f"ffi.cast('{t}', ffi.cast('int *', 0x1234))",
            f"ffi.cast('{t}', ffi.cast('char', b'z'))",
            f"ffi.cast('{t}', ffi.cast('double', 7.5))",
            f"int(ffi.cast('{t}', 100)), float(ffi.cast('{t}', 100)), bool(ffi.cast('{t}', 0))",
            f"ffi.sizeof('{t}'), ffi.alignof('{t}')",
            f"ffi.typeof('{t}'), ffi.typeof('{t}').kind, ffi.typeof('{t}').cname",
            f"list(ffi.new('{t}[]', [1, 2, 3]))",
            f"ffi.unpack(ffi.new('{t}[4]', [{lo}, 0, {hi}]), 4)",
            f"p = ffi.new('{t}[2]'); p[1] = {hi}; r = (p[1], bytes(ffi.buffer(p)))",
            f"p = ffi.new('{t}[2]'); p[1] = {hi + 1}",
            f"ffi.cast('{t}', 5) == 5, ffi.cast('{t}', 5) != ffi.cast('{t}', 6)",
        ]
    return out


def _misc_primitive_cases():
    out = []
    for t in ALL_PRIMITIVES:
        out += [
            f"ffi.typeof('{t}'), ffi.typeof('{t}').kind, ffi.typeof('{t}').cname",
            f"ffi.sizeof('{t}'), ffi.alignof('{t}')",
            f"ffi.new('{t} *')[0]",
            f"ffi.new('{t} *')",
            f"ffi.new('{t} [3]')",
            f"ffi.new('{t} []', 2)",
            f"ffi.typeof('{t} *').item, ffi.typeof('{t}[7]').length",
            f"ffi.new('{t} *', object())",
            f"ffi.new('{t}')",
            f"ffi.cast('{t}', ffi.NULL)",
            f"ffi.cast('{t}', [1])",
        ]
    return out


CHAR_CASES = cases(
    "ffi.new('char *', b'A')[0]",
    "ffi.new('char *', b'\\xff')[0]",
    "ffi.new('char *', 65)",
    "ffi.new('char *', b'AB')",
    "ffi.new('char *', b'')",
    "ffi.new('char *', 'A')",
    "ffi.new('char *', bytearray(b'A'))",
    "ffi.cast('char', 65)",
    "ffi.cast('char', 300)",
    "ffi.cast('char', -1)",
    "ffi.cast('char', b'A')",
    "ffi.cast('char', b'AB')",
    "ffi.cast('char', 'A')",
    "ffi.cast('char', 65.7)",
    "int(ffi.cast('char', b'\\x80'))",
    "ffi.string(ffi.cast('char', b'x'))",
    "ffi.cast('char', b'x') == b'x'",
    "ffi.new('char[]', b'hello')",
    "len(ffi.new('char[]', b'hello'))",
    "list(ffi.new('char[]', b'hi'))",
    "ffi.new('char[3]', b'abc')[2]",
    "ffi.new('char[2]', b'abc')",
    "ffi.new('char[]', 'str')",
    "ffi.new('char[]', [b'a', b'b'])[1]",
    "ffi.new('char[]', [65])",
    "ffi.new('char[]', bytearray(b'ab'))",
    "ffi.new('signed char[]', b'abc')",
    "ffi.new('unsigned char[]', b'abc')",
    "ffi.new('byte_t[]', [1, 2, 255])[2]",
    "p = ffi.new('char[4]'); p[0] = b'q'; r = p[0]",
    "p = ffi.new('char[4]'); p[0] = 65",
    "p = ffi.new('char[4]'); p[0] = 'q'",
    "p = ffi.new('char[4]'); p[0:2] = b'xy'; r = ffi.string(p)",
    "p = ffi.new('char[4]'); p[0:2] = b'xyz'",
    "p = ffi.new('char[4]'); p[0:2] = [b'x', b'y']; r = ffi.string(p)",
    "p = ffi.new('char[4]'); p[0:2] = 'xy'",
    "ffi.new('char[]', b'a\\x00b')[2]",
    "ffi.new('char *[2]', [ffi.NULL, ffi.NULL])",
    "ffi.new('char **', b'abc')",
)

WCHAR_CASES = []
for _t in CHAR_TYPES:
    WCHAR_CASES += cases(
        f"ffi.new('{_t} *', 'A')[0]",
        f"ffi.new('{_t} *', '\\u20ac')[0]",
        f"ffi.new('{_t} *', '\\U0001F600')",
        f"ffi.new('{_t} *', 'AB')",
        f"ffi.new('{_t} *', '')",
        f"ffi.new('{_t} *', b'A')",
        f"ffi.new('{_t} *', 65)",
        f"ffi.new('{_t} *', '\\ud800')[0]",
        f"ffi.new('{_t}[]', 'h\\xe9llo')",
        f"ffi.string(ffi.new('{_t}[]', 'h\\xe9llo'))",
        f"ffi.string(ffi.new('{_t}[]', 'h\\xe9llo'), 2)",
        f"len(ffi.new('{_t}[]', '\\U0001F600x'))",
        f"ffi.string(ffi.new('{_t}[]', '\\U0001F600x'))",
        f"list(ffi.new('{_t}[]', '\\U0001F600x'))",
        f"ffi.new('{_t}[]', '\\ud800\\udc00')",
        f"ffi.string(ffi.new('{_t}[]', '\\ud800\\udc00'))",
        f"ffi.string(ffi.new('{_t}[]', 'a\\udc00b'))",
        f"ffi.string(ffi.new('{_t}[]', '\\U0010FFFF'))",
        f"ffi.unpack(ffi.new('{_t}[]', 'abc'), 3)",
        f"ffi.unpack(ffi.new('{_t}[]', 'a\\x00c'), 3)",
        f"ffi.new('{_t}[2]', 'abc')",
        f"ffi.new('{_t}[3]', 'abc')[2]",
        f"ffi.new('{_t}[]', b'abc')",
        f"ffi.new('{_t}[]', ['a', 'b'])[1]",
        f"ffi.cast('{_t}', 65)",
        f"ffi.cast('{_t}', 0x1F600)",
        f"ffi.cast('{_t}', 0xD800)",
        f"ffi.cast('{_t}', -1)",
        f"ffi.cast('{_t}', 0x110000)",
        f"ffi.cast('{_t}', 'A')",
        f"ffi.cast('{_t}', '\\U0001F600')",
        f"ffi.cast('{_t}', b'A')",
        f"int(ffi.cast('{_t}', 'Z'))",
        f"ffi.string(ffi.cast('{_t}', 65))",
        f"ffi.string(ffi.cast('{_t}', 0x110000))",
        f"ffi.string(ffi.cast('{_t}', 0xDC00))",
        f"p = ffi.new('{_t}[3]'); p[0] = 'x'; p[1:3] = 'yz'; r = ffi.string(p)",
        f"p = ffi.new('{_t}[3]'); p[0] = 66",
        f"p = ffi.new('{_t}[3]'); p[0] = b'x'",
    )

BOOL_CASES = cases(
    "ffi.new('_Bool *', 0)[0]",
    "ffi.new('_Bool *', 1)[0]",
    "ffi.new('_Bool *', 2)",
    "ffi.new('_Bool *', -1)",
    "ffi.new('_Bool *', True)[0]",
    "ffi.new('_Bool *', 1.0)",
    "ffi.new('_Bool *', b'\\x01')",
    "ffi.cast('_Bool', 2)",
    "ffi.cast('_Bool', 256)",
    "ffi.cast('_Bool', 2**64)",
    "ffi.cast('_Bool', -2**64)",
    "ffi.cast('_Bool', 2**64 + 1)",
    "ffi.cast('_Bool', -1)",
    "ffi.cast('_Bool', 0.5)",
    "ffi.cast('_Bool', 0.0)",
    "ffi.cast('_Bool', ffi.NULL)",
    "ffi.cast('_Bool', ffi.cast('int *', 8))",
    "int(ffi.cast('_Bool', 1)), bool(ffi.cast('_Bool', 0))",
    "p = ffi.new('_Bool[2]'); p[0] = 2",
    "p = ffi.new('_Bool[2]'); p[0] = True; p[1] = 0; r = list(p)",
    "ffi.unpack(ffi.new('_Bool[]', [1, 0, 1]), 3)",
    "b = ffi.new('unsigned char *', 2); r = ffi.cast('_Bool *', b)[0]",
    "b = ffi.new('unsigned char *', 1); r = ffi.cast('_Bool *', b)[0]",
    "b = ffi.new('unsigned char[2]', [0, 7]); r = ffi.unpack(ffi.cast('_Bool *', b), 2)",
)

FLOAT_CASES = []
for _t in FLOAT_TYPES:
    FLOAT_CASES += cases(
        f"ffi.new('{_t} *', 1.5)[0]",
        f"ffi.new('{_t} *', 1)[0]",
        f"ffi.new('{_t} *', True)[0]",
        f"ffi.new('{_t} *', -0.0)[0]",
        f"ffi.new('{_t} *', float('inf'))[0]",
        f"ffi.new('{_t} *', float('-inf'))[0]",
        f"math.isnan(ffi.new('{_t} *', float('nan'))[0])",
        f"ffi.new('{_t} *', 1e300)[0]",
        f"ffi.new('{_t} *', 1e-320)[0]",
        f"ffi.new('{_t} *', 2**64)[0]",
        f"ffi.new('{_t} *', 2**1024)",
        f"ffi.new('{_t} *', '1.5')",
        f"ffi.new('{_t} *', b'1')",
        f"ffi.new('{_t} *', None)",
        f"ffi.new('{_t} *', 1j)",
        f"ffi.new('{_t} *', ffi.cast('{_t}', 2.5))[0]",
        f"ffi.new('{_t} *', ffi.cast('int', 2))",
        f"ffi.cast('{_t}', 1.1)",
        f"ffi.cast('{_t}', 2**30 + 1)",
        f"ffi.cast('{_t}', 2**64 - 1)",
        f"ffi.cast('{_t}', -2**63)",
        f"ffi.cast('{_t}', 2**1024)",
        f"ffi.cast('{_t}', -0.0)",
        f"ffi.cast('{_t}', b'A')",
        f"ffi.cast('{_t}', 'A')",
        f"ffi.cast('{_t}', ffi.cast('int', -5))",
        f"ffi.cast('{_t}', ffi.cast('unsigned long long', 2**64 - 1))",
        f"ffi.cast('{_t}', ffi.cast('char', b'A'))",
        f"ffi.cast('{_t}', ffi.cast('double', 0.1))",
        f"ffi.cast('{_t}', ffi.cast('long double', 0.1))",
        f"ffi.cast('{_t}', ffi.cast('int *', 16))",
        f"ffi.cast('{_t}', ffi.NULL)",
        f"ffi.cast('{_t}', 1e300)",
        f"float(ffi.cast('{_t}', 0.1))",
        f"int(ffi.cast('{_t}', 3.99)), int(ffi.cast('{_t}', -3.99))",
        f"int(ffi.cast('{_t}', float('nan')))",
        f"int(ffi.cast('{_t}', float('inf')))",
        f"bool(ffi.cast('{_t}', 0.0)), bool(ffi.cast('{_t}', -0.0)), bool(ffi.cast('{_t}', 0.5))",
        f"bool(ffi.cast('{_t}', float('nan')))",
        f"ffi.cast('{_t}', 1.5) == 1.5, ffi.cast('{_t}', 1.5) == ffi.cast('{_t}', 1.5)",
        f"ffi.cast('int', ffi.cast('{_t}', 2.7))",
        f"ffi.cast('unsigned char', ffi.cast('{_t}', 200.0))",
        f"ffi.cast('_Bool', ffi.cast('{_t}', 0.25))",
        f"list(ffi.new('{_t}[]', [1, 2.5, -0.0]))",
        f"ffi.unpack(ffi.new('{_t}[]', [1, 2.5]), 2)",
        f"p = ffi.new('{_t}[1]'); p[0] = 'x'",
        f"p = ffi.new('{_t}[1]'); p[0] = 7; r = p[0]",
        f"complex(ffi.cast('{_t}', 1.5))",
    )

COMPLEX_CASES = []
for _t in COMPLEX_TYPES:
    COMPLEX_CASES += cases(
        f"ffi.new('{_t} *', 1+2j)[0]",
        f"ffi.new('{_t} *', 1.5)[0]",
        f"ffi.new('{_t} *', 3)[0]",
        f"ffi.new('{_t} *', 'x')",
        f"ffi.new('{_t} *', complex('nan+infj'))[0]",
        f"ffi.cast('{_t}', 1+2j)",
        f"ffi.cast('{_t}', 2.5)",
        f"ffi.cast('{_t}', 7)",
        f"ffi.cast('{_t}', ffi.cast('int', 3))",
        f"ffi.cast('{_t}', ffi.cast('double _Complex', 0.1+0.2j))",
        f"complex(ffi.cast('{_t}', 1-1j))",
        f"float(ffi.cast('{_t}', 1-1j))",
        f"int(ffi.cast('{_t}', 1-1j))",
        f"bool(ffi.cast('{_t}', 0j))",
        f"ffi.cast('double', ffi.cast('{_t}', 1+1j))",
        f"list(ffi.new('{_t}[]', [1j, 2]))",
        f"ffi.unpack(ffi.new('{_t}[]', [1j, 2]), 2)",
        f"bytes(ffi.buffer(ffi.new('{_t} *', 1+2j)))",
    )

POINTER_CASES = cases(
    "ffi.new('int **')[0]",
    "ffi.new('int **')",
    "ffi.new('int *[3]')",
    "ffi.new('int *[3]')[1]",
    "ffi.NULL",
    "ffi.NULL == 0",
    "ffi.cast('int *', 0) == ffi.NULL",
    "ffi.cast('long *', 0) == ffi.cast('char *', 0)",
    "ffi.cast('int *', 0)",
    "ffi.cast('int *', 0x1234)",
    "int(ffi.cast('intptr_t', ffi.cast('int *', 0x1234)))",
    "int(ffi.cast('uintptr_t', ffi.cast('void *', -1)))",
    "int(ffi.cast('intptr_t', ffi.cast('void *', -1)))",
    "int(ffi.cast('unsigned char', ffi.cast('void *', 0x1ff)))",
    "int(ffi.cast('uintptr_t', ffi.cast('char *', 2**64 + 3)))",
    "ffi.cast('int *', -2**63 - 1)",
    "ffi.cast('int *', 1.5)",
    "ffi.cast('int *', b'x')",
    "ffi.cast('int *', None)",
    "ffi.cast('int *', 'x')",
    "ffi.cast('int *', ffi.cast('float', 1.0))",
    "ffi.cast('int *', ffi.cast('long', 64))",
    "ffi.cast('int *', ffi.cast('enum color', 8))",
    "ffi.cast('int *', ffi.cast('char', b'a'))",
    "ffi.cast('point_t *', ffi.cast('void *', 32)) == ffi.cast('char *', 32)",
    "int(ffi.cast('point_t *', 16))",
    "float(ffi.cast('point_t *', 16))",
    "bool(ffi.cast('point_t *', 16)), bool(ffi.NULL)",
    "p = ffi.new('int **'); q = ffi.new('int *'); p[0] = q; r = p[0] == q",
    "p = ffi.new('int **'); p[0] = ffi.new('long *')",
    "p = ffi.new('int **'); p[0] = ffi.new('unsigned int *')",
    "p = ffi.new('int **'); p[0] = ffi.NULL; r = p[0]",
    "p = ffi.new('int **'); p[0] = 0",
    "p = ffi.new('int **'); p[0] = None",
    "p = ffi.new('int **'); p[0] = ffi.cast('void *', 8); r = int(ffi.cast('intptr_t', p[0]))",
    "p = ffi.new('void **'); p[0] = ffi.new('double *'); r = p[0] != ffi.NULL",
    "p = ffi.new('int **'); p[0] = ffi.new('int[3]'); r = p[0] != ffi.NULL",
    "p = ffi.new('int **'); p[0] = ffi.new('int[3][4]')",
    "p = ffi.new('int (**)[4]'); p[0] = ffi.new('int[3][4]'); r = p[0] != ffi.NULL",
    "p = ffi.new('char **'); p[0] = b'abc'",
    "a = ffi.new('char[]', b'a'); p = ffi.new('const char **'); p[0] = a; r = ffi.string(p[0])",
    "a = ffi.new('const char[]', b'a'); p = ffi.new('char **'); p[0] = a; r = ffi.string(p[0])",
    "p = ffi.new('node_t *'); p.next = p; r = p.next.next == p",
    "p = ffi.new('node_t *'); p.next = ffi.new('point_t *')",
    "(lambda p: ffi.new('int **', p)[0][0])(ffi.new('int *', 5))",
    "ffi.new('int **', 5)",
    "ffi.new('void **', ffi.new('int *'))[0] != ffi.NULL",
    "ffi.new('void *')",
    "ffi.new('void')",
    "ffi.new('struct opaque_s *')",
    "ffi.new('struct opaque_s **')[0]",
    "ffi.new('int(*)(int)')",
    "ffi.new('binop_t *')[0]",
    "ffi.new('binop_t[2]')",
    "ffi.new('int (*)[3]')",
    "ffi.new('int (*)[3]')[0]",
    "list(ffi.new('int (*)[3]', [1, 2, 3])[0])",
    "ffi.cast('int(*)(int)', 0)",
    "ffi.cast('binop_t', 0x10)",
    "ffi.cast('binop_t', ffi.cast('void *', 0x10)) == ffi.cast('void *', 0x10)",
    "ffi.cast('void *', ffi.cast('binop_t', 0x10))",
    "bool(ffi.cast('binop_t', 0))",
    "ffi.cast('int *', ffi.new('int[3]'))",
    "ffi.cast('int *', ffi.new('point_t *'))",
    "ffi.cast('point_t *', ffi.new('point_t *')[0])",
    "ffi.cast('int', ffi.new('point_t *')[0])",
    "ffi.cast('point_t', 0)",
    "ffi.cast('union u', 0)",
    "ffi.cast('int[3]', 0)",
    "ffi.cast('int[3]', ffi.new('int[3]'))",
    "ffi.cast('void', 0)",
    "ffi.cast('struct opaque_s *', 8)",
    "ffi.cast('struct opaque_s *', 8)[0]",
    "ffi.cast('struct opaque_s *', 8) + 1",
    "ffi.cast('void *', 8) + 1",
    "ffi.cast('void *', 8) - ffi.cast('void *', 4)",
    "ffi.cast('void *', 8)[0]",
)

NULL_CASES = cases(
    "ffi.cast('int *', 0)[0]",
    "ffi.cast('int *', 0)[3]",
    "ffi.cast('int **', 0)[0]",
    "ffi.cast('point_t *', 0)[0]",
    "p = ffi.cast('int *', 0); p[0] = 5",
    "ffi.NULL[0]",
    "ffi.string(ffi.cast('char *', 0))",
    "ffi.string(ffi.cast('wchar_t *', 0))",
    "ffi.unpack(ffi.cast('int *', 0), 2)",
    "ffi.unpack(ffi.cast('char *', 0), 0)",
    "ffi.cast('int *', 0)[0:2]",
    "list(ffi.cast('int *', 0)[0:0])",
    "ffi.cast('int *', 0) + 1",
    "ffi.cast('int *', 0) - ffi.cast('int *', 0)",
    "ffi.cast('int', 5) - ffi.cast('int', 3)",
    "ffi.new('point_t *')[0] - ffi.new('point_t *')[0]",
    "ffi.cast('binop_t', 8) - ffi.cast('binop_t', 4)",
    "ffi.cast('binop_t', 8) - ffi.cast('int *', 4)",
    "ffi.new('int[2]') - ffi.new('int[2]')",
    "ffi.cast('point_t *', 0) + 1 == ffi.cast('char *', 8)",
)

ARRAY_CASES = cases(
    "list(ffi.new('int[3]', [1, 2]))",
    "list(ffi.new('int[3]', (1, 2, 3)))",
    "ffi.new('int[3]', [1, 2, 3, 4])",
    "ffi.new('int[]', [1, 2, 3, 4])",
    "ffi.new('int[]', 3)",
    "list(ffi.new('int[]', 3))",
    "ffi.new('int[]', 0)",
    "ffi.new('int[]', -1)",
    "ffi.new('int[]', 2**64)",
    "ffi.new('int[]', sys.maxsize)",
    "ffi.new('int[]', 1.5)",
    "ffi.new('int[]')",
    "ffi.new('int[]', None)",
    "ffi.new('int[]', b'abc')",
    "ffi.new('int[]', 'abc')",
    "ffi.new('int[]', range(3))",
    "ffi.new('int[]', iter([1, 2]))",
    "ffi.new('int[3]', {0: 1})",
    "ffi.new('int[3]', 5)",
    "ffi.new('int[0]')",
    "len(ffi.new('int[0]'))",
    "ffi.new('int[3]', [1, 'x'])",
    "ffi.new('int[3]', [1, 2**40])",
    "ffi.new('int[2][3]', [[1, 2, 3], [4, 5, 6]])[1][2]",
    "ffi.new('int[2][3]', [[1, 2, 3], [4, 5, 6]])[1]",
    "ffi.typeof(ffi.new('int[2][3]')[0])",
    "len(ffi.new('int[2][3]')[0])",
    "ffi.new('int[2][3]', [[1, 2, 3, 4]])",
    "ffi.new('int[2][3]', [[1], [2], [3]])",
    "ffi.new('int[2][3]', [1, 2])",
    "[list(x) for x in ffi.new('int[2][3]', [[1], (2, 3)])]",
    "ffi.new('int[][3]', 2)",
    "[list(x) for x in ffi.new('int[][3]', [[1], [2, 3]])]",
    "ffi.sizeof(ffi.new('int[][3]', 4))",
    "ffi.new('int[][]', 2)",
    "ffi.new('int[2][3][4]')[1][2]",
    "ffi.new('int[2][3][4]')[1][2][3]",
    "p = ffi.new('int[2][3]'); p[1][2] = 9; r = ffi.unpack(ffi.cast('int *', p), 6)",
    "p = ffi.new('int[2][3]'); p[1] = [7, 8, 9]; r = list(p[1])",
    "p = ffi.new('int[2][3]'); p[1] = [7, 8, 9, 10]",
    "p = ffi.new('int[2][3]'); p[0] = p[1]; r = list(p[0])",
    "p = ffi.new('int[2][3]'); p[0] = ffi.new('int[2]')",
    "ffi.new('point_array_t')",
    "ffi.new('point_array_t', [{'x': 1}, (2, 3)])[1].y",
    "ffi.new('arr5_t', [1, 2, 3])[2]",
    "ffi.typeof(ffi.new('arr5_t'))",
    "ffi.new('arr5_t *')",
    "ffi.new('arr5_t *')[0]",
    "ffi.new('point_t[2]', [{'x': 1}, (2, 3)])[1].x",
    "ffi.new('point_t[]', 3)[2]",
    "ffi.new('point_t[]', [[1, 2], [3, 4]])[1].y",
    "ffi.new('point_t[]', [[1, 2, 3]])",
    "ffi.new('point_t[]', [5])",
    "len(ffi.new('char *[]', 4))",
    "ffi.new('char *[]', [ffi.new('char[]', b'x')])[0] != ffi.NULL",
)

INDEX_CASES = cases(
    "ffi.new('int[3]', [1, 2, 3])[2]",
    "ffi.new('int[3]')[3]",
    "ffi.new('int[3]')[-1]",
    "ffi.new('int[3]')[2**70]",
    "ffi.new('int[3]')['a']",
    "ffi.new('int[3]')[1.0]",
    "ffi.new('int[3]')[None]",
    "ffi.new('int[3]')[True]",
    "ffi.new('int[3]')[ffi.cast('int', 1)]",
    "ffi.new('int *', 5)[0]",
    "ffi.new('int *', 5)[1]",
    "ffi.new('int *')[-1]",
    "a = ffi.new('int[3]', [1, 2, 3]); p = a + 1; r = (p[-1], p[1])",
    "p = ffi.new('int[3]'); p[3] = 1",
    "p = ffi.new('int[3]'); p[-1] = 1",
    "p = ffi.new('int[3]'); p['a'] = 1",
    "ffi.new('int[5]', [0, 1, 2, 3, 4])[1:3]",
    "a = ffi.new('int[5]', [0, 1, 2, 3, 4]); r = list(a[1:3])",
    "ffi.new('int[5]')[:2]",
    "ffi.new('int[5]')[1:]",
    "ffi.new('int[5]')[::2]",
    "ffi.new('int[5]')[0:4:2]",
    "ffi.new('int[5]')[3:1]",
    "ffi.new('int[5]')[0:6]",
    "ffi.new('int[5]')[-1:2]",
    "len(ffi.new('int[5]')[5:5])",
    "ffi.new('int[5]')[2:2]",
    "ffi.new('int[5]')[1.0:2]",
    "ffi.typeof(ffi.new('int[5]')[1:3])",
    "a = ffi.new('int[5]', [0, 1, 2, 3, 4]); r = list(ffi.cast('int *', a)[1:4])",
    "ffi.cast('int *', ffi.new('int[5]'))[1:4]",
    "ffi.new('int[2][3]')[0:2]",
    "ffi.typeof(ffi.new('int[2][3]')[0:2])",
    "p = ffi.new('int[5]'); p[1:3] = [7, 8]; r = list(p)",
    "p = ffi.new('int[5]'); p[1:3] = (7, 8); r = list(p)",
    "p = ffi.new('int[5]'); p[1:3] = [7]",
    "p = ffi.new('int[5]'); p[1:3] = [7, 8, 9]",
    "p = ffi.new('int[5]'); p[1:3] = ffi.new('int[2]', [5, 6]); r = list(p)",
    "p = ffi.new('int[5]'); p[1:3] = ffi.new('int[3]', [5, 6])",
    "p = ffi.new('int[5]'); p[1:3] = ffi.new('long[2]', [5, 6])",
    "p = ffi.new('int[5]'); p[1:3] = 5",
    "p = ffi.new('int[5]'); p[1:3] = iter([1, 2])",
    "p = ffi.new('int[5]'); p[1:3] = [1, 2**40]",
    "p = ffi.new('int[5]'); p[4:6] = [1, 2]",
    "p = ffi.new('int[5]'); p[::2] = [1, 2]",
    "p = ffi.new('int[5]', [1, 2, 3, 4, 5]); p[0:4] = p[1:5]; r = list(p)",
    "p = ffi.new('int[5]', [1, 2, 3, 4, 5]); p[1:5] = p[0:4]; r = list(p)",
    "p = ffi.new('int[3]'); del p[0]",
    "p = ffi.new('point_t[3]'); p[1] = {'x': 4}; r = (p[1].x, p[1].y)",
    "p = ffi.new('point_t[3]'); p[1] = [4, 5, 6]",
    "p = ffi.new('point_t[3]'); p[1] = 5",
    "p = ffi.new('point_t[3]'); p[0] = p[1]; r = p[0].x",
    "p = ffi.new('point_t[3]'); p[0] = ffi.new('struct pt3 *')[0]",
    "p = ffi.new('point_t[3]'); p[0:2] = [{'x': 1}, [2, 3]]; r = [(q.x, q.y) for q in p]",
)

ARITH_CASES = cases(
    "a = ffi.new('int[5]', [0, 10, 20, 30, 40]); r = (a + 2)[0]",
    "a = ffi.new('int[5]', [0, 10, 20, 30, 40]); r = (2 + a)[0]",
    "a = ffi.new('int[5]'); r = (a + 2) - a",
    "a = ffi.new('int[5]'); r = a - (a + 2)",
    "a = ffi.new('int[5]'); r = (a + 3) - 1 == a + 2",
    "a = ffi.new('int[5]'); r = ffi.cast('char *', a + 1) - ffi.cast('char *', a)",
    "a = ffi.new('int[5]'); r = (a + 1) - ffi.cast('char *', a)",
    "a = ffi.new('int[5]'); r = (a + 1) - ffi.cast('unsigned int *', a)",
    "a = ffi.new('int[5]'); r = a + 1.0",
    "a = ffi.new('int[5]'); r = a + a",
    "a = ffi.new('int[5]'); r = a * 2",
    "a = ffi.new('int[5]'); r = -a",
    "a = ffi.new('int[5]'); r = a - 'x'",
    "a = ffi.new('int[5]'); r = 1 - a",
    "a = ffi.new('int[5]'); r = a + 2**70",
    "a = ffi.new('int[5]'); r = ffi.typeof(a + 1)",
    "a = ffi.new('point_t[5]'); r = ffi.cast('char *', a + 1) - ffi.cast('char *', a)",
    "a = ffi.new('int[2][3]'); r = ffi.typeof(a + 1)",
    "a = ffi.new('int[2][3]'); r = ffi.cast('char *', a + 1) - ffi.cast('char *', a)",
    "a = ffi.new('int *'); p = a; p += 1; r = p - a",
    "a = ffi.new('int *'); p = a + 1; p -= 1; r = p == a",
    "a = ffi.cast('char *', 100); r = int(ffi.cast('intptr_t', a + 5))",
    "a = ffi.cast('double *', 100); r = int(ffi.cast('intptr_t', a - 5))",
    "a = ffi.cast('int *', 100); b = ffi.cast('int *', 103); r = b - a",
    "ffi.cast('binop_t', 8) + 1",
    "ffi.cast('int', 5) + 1",
    "ffi.cast('int', 5) - ffi.cast('int', 1)",
    "ffi.new('point_t *')[0] + 1",
)

COMPARE_CASES = cases(
    "a = ffi.new('int[5]'); r = (a == a, a != a, a < a + 1, a + 1 > a, a <= a, a >= a + 1)",
    "a = ffi.new('int[5]'); r = a == ffi.cast('int *', a)",
    "a = ffi.new('int[5]'); r = a == ffi.cast('void *', a)",
    "a = ffi.new('int[5]'); r = a == ffi.cast('char *', a)",
    "a = ffi.new('int[5]'); r = (a + 1) > ffi.cast('char *', a)",
    "ffi.new('int *') == ffi.new('int *')",
    "ffi.new('int *') == 5",
    "ffi.new('int *') == None",
    "ffi.new('int *') != 'x'",
    "ffi.new('int *') < 5",
    "ffi.new('int *') < None",
    "ffi.cast('int', 5) == 5, ffi.cast('int', 5) == 5.0, ffi.cast('int', 5) == ffi.cast('long', 5)",
    "ffi.cast('int', 5) == ffi.cast('double', 5.0)",
    "ffi.cast('int', 5) < ffi.cast('int', 6)",
    "ffi.cast('int', 5) < 6",
    "ffi.cast('double', 1.5) == 1.5, ffi.cast('double', 1.5) < 2",
    "ffi.cast('char', b'a') == b'a', ffi.cast('char', b'a') == ffi.cast('char', b'a')",
    "ffi.cast('char', b'a') < ffi.cast('char', b'b')",
    "ffi.cast('wchar_t', 'a') == 'a', ffi.cast('wchar_t', 'a') == ffi.cast('wchar_t', 'a')",
    "ffi.cast('enum color', 5) == 5, ffi.cast('enum color', 5) == ffi.cast('enum color', 5)",
    "ffi.cast('enum color', 5) == ffi.cast('int', 5)",
    "ffi.cast('enum color', 5) == 'GREEN'",
    "ffi.cast('_Bool', 1) == True, ffi.cast('_Bool', 1) == 1",
    "ffi.cast('int *', 0) == ffi.cast('int', 0)",
    "ffi.cast('int *', 16) == ffi.cast('binop_t', 16)",
    "ffi.cast('void *', 16) < ffi.cast('binop_t', 32)",
    "p = ffi.new('point_t *'); r = (p[0] == p[0], p[0] == ffi.new('point_t *')[0])",
    "p = ffi.new('point_t *'); r = p[0] == p",
    "p = ffi.new('point_t *'); r = p[0] < p[0]",
    "ffi.typeof('int') == ffi.typeof('int'), ffi.typeof('int') == ffi.typeof('signed int')",
    "ffi.typeof('int') != ffi.typeof('long'), ffi.typeof('int *') is ffi.typeof('int*')",
    "ffi.typeof('myint_t') is ffi.typeof('int'), ffi.typeof('cint_t') == ffi.typeof('int')",
    "ffi.typeof('int') < ffi.typeof('long')",
    "ffi.typeof('struct nested') == ffi.typeof('struct nested')",
)

HASH_CASES = cases(
    "hash(ffi.cast('int', 5))",
    "hash(ffi.cast('int', -1))",
    "hash(ffi.cast('unsigned long long', 2**64 - 1))",
    "hash(ffi.cast('int', 5)) == hash(5)",
    "hash(ffi.cast('double', 1.5)) == hash(1.5)",
    "hash(ffi.cast('double', 1.0)) == hash(1)",
    "hash(ffi.cast('char', b'a'))",
    "hash(ffi.cast('char', b'a')) == hash(b'a')",
    "hash(ffi.cast('wchar_t', 'a')) == hash('a')",
    "hash(ffi.cast('enum color', 5))",
    "hash(ffi.cast('_Bool', 1))",
    "hash(ffi.cast('float _Complex', 1+1j)) == hash(1+1j)",
    "p = ffi.new('int *'); r = hash(p) == hash(ffi.cast('void *', p))",
    "p = ffi.new('int *'); r = hash(p) == hash(ffi.cast('char *', p))",
    "p = ffi.new('int *'); r = len({p, ffi.cast('int *', p), ffi.cast('long *', p)})",
    "p = ffi.new('point_t *'); r = hash(p[0]) == hash(p[0])",
    "hash(ffi.NULL) == hash(ffi.cast('int *', 0))",
    "hash(ffi.typeof('int')) == hash(ffi.typeof('signed int'))",
    "len({ffi.typeof('int'), ffi.typeof('int'), ffi.typeof('long')})",
    "b = ffi.buffer(ffi.new('char[]', b'ab')); r = hash(b)",
)

CONVERT_CASES = cases(
    "bool(ffi.NULL), bool(ffi.new('int *')), bool(ffi.cast('int', 0)), bool(ffi.cast('int', -3))",
    "bool(ffi.new('point_t *')[0])",
    "bool(ffi.new('int[0]'))",
    "bool(ffi.cast('char', b'\\x00')), bool(ffi.cast('char', b'a'))",
    "bool(ffi.cast('wchar_t', 0))",
    "bool(ffi.cast('enum color', 0))",
    "int(ffi.cast('char', b'A'))",
    "int(ffi.cast('wchar_t', 65))",
    "int(ffi.cast('enum neg', -3))",
    "int(ffi.cast('_Bool', 1))",
    "int(ffi.new('int *'))",
    "int(ffi.new('point_t *')[0])",
    "int(ffi.new('int[3]'))",
    "float(ffi.cast('int', 3))",
    "float(ffi.cast('unsigned long long', 2**64 - 1))",
    "float(ffi.cast('char', b'A'))",
    "float(ffi.cast('enum color', 5))",
    "float(ffi.new('int *'))",
    "float(ffi.new('point_t *')[0])",
    "float(ffi.cast('long double', 1e308)) * 10",
    "float(ffi.cast('long double', 2**64 + 1))",
    "int(ffi.cast('long double', 2**64 + 1))",
    "int(ffi.cast('long double', 1e30))",
    "int(ffi.cast('double', 1e30))",
    "int(ffi.cast('float', 1e30))",
    "complex(ffi.cast('int', 3))",
    "complex(ffi.new('int *'))",
    "ffi.cast('int', 5).__index__()",
    "[0, 1, 2][ffi.cast('int', 1)]",
    "[0, 1, 2][ffi.cast('char', b'\\x01')]",
    "round(ffi.cast('double', 2.5))",
    "abs(ffi.cast('int', -5))",
    "-ffi.cast('int', 5)",
    "str(ffi.cast('int', 5))",
    "format(ffi.cast('int', 5))",
    "'%d' % ffi.cast('int', 5)",
    "bytes(ffi.cast('char', b'a'))",
    "ffi.cast('int', 5).x",
    "ffi.cast('int', 5)[0]",
    "len(ffi.cast('int', 5))",
    "len(ffi.new('int *'))",
    "len(ffi.new('point_t *'))",
    "len(ffi.new('point_t *')[0])",
    "len(ffi.new('int[7]')), len(ffi.new('int[]', 9)), len(ffi.new('int[2][3]'))",
    "list(ffi.new('int[3]', [1, 2, 3]))",
    "list(ffi.new('int *'))",
    "list(ffi.new('point_t *')[0])",
    "list(ffi.cast('int', 5))",
    "[list(x) for x in ffi.new('int[2][2]', [[1, 2], [3, 4]])]",
    "[p.x for p in ffi.new('point_t[2]', [[1, 2], [3, 4]])]",
    "2 in ffi.new('int[3]', [1, 2, 3]), 7 in ffi.new('int[3]')",
    "b'b' in ffi.new('char[]', b'abc')",
    "it = iter(ffi.new('int[2]', [5, 6])); r = (next(it), next(it))",
    "a = ffi.new('int[2]', [5, 6]); it = iter(a); del a; r = list(it)",
    "list(reversed(ffi.new('int[3]', [1, 2, 3])))",
    "sorted(ffi.new('int[3]', [3, 1, 2]))",
    "sum(ffi.new('double[3]', [0.5, 1, 2]))",
    "dir(ffi.new('point_t *'))",
    "sorted(dir(ffi.new('struct anon *')))",
    "dir(ffi.new('point_t *')[0])",
    "dir(ffi.new('int *'))",
)

STRUCT_CASES = cases(
    "p = ffi.new('point_t *', [1, 2]); r = (p.x, p.y)",
    "p = ffi.new('point_t *', (1,)); r = (p.x, p.y)",
    "p = ffi.new('point_t *', {'y': 2}); r = (p.x, p.y)",
    "p = ffi.new('point_t *', {}); r = (p.x, p.y)",
    "p = ffi.new('point_t *', []); r = (p.x, p.y)",
    "ffi.new('point_t *', {'z': 1})",
    "ffi.new('point_t *', {1: 1})",
    "ffi.new('point_t *', [1, 2, 3])",
    "ffi.new('point_t *', 5)",
    "ffi.new('point_t *', None)",
    "ffi.new('point_t *', b'ab')",
    "ffi.new('point_t *', [1.5])",
    "ffi.new('point_t *', {'x': 2**40})",
    "ffi.new('point_t *', ffi.new('point_t *', [3, 4])[0]).y",
    "ffi.new('point_t *', ffi.new('point_t *', [3, 4]))",
    "ffi.new('point_t *', ffi.new('struct pt3 *')[0])",
    "ffi.new('point_t')",
    "ffi.new('struct nope *')",
    "ffi.new('point_t *').z",
    "p = ffi.new('point_t *'); p.z = 1",
    "p = ffi.new('point_t *'); p.x = 'a'",
    "p = ffi.new('point_t *'); p.x = 2**31",
    "p = ffi.new('point_t *'); p.x = -2**31; r = p.x",
    "p = ffi.new('point_t *'); p.x = 1.5",
    "p = ffi.new('point_t *'); p.x += 5; p.x *= 3; r = p.x",
    "p = ffi.new('point_t *'); del p.x",
    "p = ffi.new('point_t *', [1, 2]); q = p[0]; r = (q.x, q.y, ffi.typeof(q))",
    "p = ffi.new('point_t *', [1, 2]); q = p[0]; q.x = 9; r = p.x",
    "p = ffi.new('point_t *', [1, 2]); r = p[0]",
    "p = ffi.new('point_t *', [1, 2]); r = (p[0].x, p[0].y)",
    "p = ffi.new('point_t *', [1, 2]); r = p[1]",
    "p = ffi.new('point_t *'); p[0] = [5, 6]; r = (p.x, p.y)",
    "p = ffi.new('point_t *'); p[0] = {'y': 6}; r = (p.x, p.y)",
    "p = ffi.new('point_t *'); p[0] = ffi.new('point_t *', [7, 8])[0]; r = (p.x, p.y)",
    "p = ffi.new('point_t *'); p[0] = ffi.new('point_t *', [7, 8])",
    "p = ffi.new('point_t *'); p[0] = 5",
    "s = ffi.new('struct nested *'); r = (s.tag, s.p.x, s.arr[1].b, list(s.tail))",
    "s = ffi.new('struct nested *'); r = (s.p, s.arr, s.tail, ffi.typeof(s.p), ffi.typeof(s.arr))",
    "s = ffi.new('struct nested *', [b'T', [1, 2], [[1, 2.5, b'c'], {'b': -1.0}], [7, 8]]); "
    "r = (s.tag, s.p.x, s.p.y, s.arr[0].a, s.arr[0].b, s.arr[0].c, s.arr[1].b, list(s.tail))",
    "s = ffi.new('struct nested *', {'p': {'x': 1}, 'tail': (3,)}); r = (s.p.x, s.tail[0])",
    "ffi.new('struct nested *', {'p': [1, 2, 3]})",
    "ffi.new('struct nested *', {'arr': [{}, {}, {}]})",
    "ffi.new('struct nested *', {'tail': [1, 2, 3, 4]})",
    "ffi.new('struct nested *', {'tag': 65})",
    "ffi.new('struct nested *', {'p': 5})",
    "s = ffi.new('struct nested *'); s.p = [3, 4]; r = (s.p.x, s.p.y)",
    "s = ffi.new('struct nested *'); s.p = {'y': 4}; r = s.p.y",
    "s = ffi.new('struct nested *'); s.p = ffi.new('point_t *', [5, 6])[0]; r = s.p.y",
    "s = ffi.new('struct nested *'); s.p = ffi.new('point_t *', [5, 6])",
    "s = ffi.new('struct nested *'); s.p = 5",
    "s = ffi.new('struct nested *'); s.tail = [4, 5, 6]; r = list(s.tail)",
    "s = ffi.new('struct nested *'); s.tail = [4, 5]; r = list(s.tail)",
    "s = ffi.new('struct nested *'); s.tail = [1, 2, 3, 4]",
    "s = ffi.new('struct nested *'); s.tail = ffi.new('int[3]', [1, 2, 3]); r = list(s.tail)",
    "s = ffi.new('struct nested *'); s.tail = ffi.new('int[2]')",
    "s = ffi.new('struct nested *'); s.arr[1].c = b'z'; r = s.arr[1].c",
    "s = ffi.new('struct nested *'); s.arr[1] = [1, 2, b'q']; r = (s.arr[1].a, s.arr[1].c)",
    "s = ffi.new('struct nested *'); s.arr[2]",
    "s = ffi.new('struct nested *'); t = s.tail; t[2] = 5; r = s.tail[2]",
    "u = ffi.new('union u *', [5]); r = (u.i, list(u.b))",
    "u = ffi.new('union u *', {'f': 1.5}); r = (u.f, u.i)",
    "u = ffi.new('union u *', {'d': -2.0}); r = bytes(ffi.buffer(u))",
    "u = ffi.new('union u *', {'b': [1, 2, 3, 4]}); r = hex(u.i)",
    "ffi.new('union u *', [1, 2])",
    "ffi.new('union u *', {'i': 1, 'f': 2.0})",
    "ffi.new('union u *', 5)",
    "u = ffi.new('union u *'); u.i = -1; r = (list(u.b), u.f)",
    "a = ffi.new('struct anon *', {'kind': 1, 'ival': 5}); r = (a.kind, a.ival)",
    "a = ffi.new('struct anon *', {'dval': 2.5, 'hi': 3}); r = (a.dval, a.hi, a.lo)",
    "a = ffi.new('struct anon *', [1, [2], [3, 4]]); r = (a.kind, a.ival, a.lo, a.hi)",
    "a = ffi.new('struct anon *', [1, 2, 3, 4]); r = (a.kind, a.ival, a.dval, a.lo, a.hi)",
    "a = ffi.new('struct anon *', [1, 2]); r = (a.kind, a.ival)",
    "a = ffi.new('struct anon *'); a.lo = 7; a.hi = -1; r = (a.lo, a.hi, bytes(ffi.buffer(a)))",
    "a = ffi.new('struct anon *'); a.dval = 1.0; r = a.ival",
    "m = ffi.new('struct mixed *', [b'c', 'w', '\\u1234', '\\U0001F600', True, 1.5, 2.5]); "
    "r = (m.c, m.w, m.c16, m.c32, m.flag, m.f, m.ld)",
    "m = ffi.new('struct mixed *'); r = (m.c, m.w, m.c16, m.c32, m.flag, m.f, m.ld)",
    "m = ffi.new('struct mixed *'); m.flag = 2",
    "m = ffi.new('struct mixed *'); m.c16 = '\\U0001F600'",
    "c = ffi.new('struct cplx *', [1+1j, 2-2j]); r = (c.fc, c.dc)",
    "w = ffi.new('struct with_ptrs *'); r = (w.name, w.values, w.extra)",
    "w = ffi.new('struct with_ptrs *'); w.name = ffi.new('char[]', b'x')",
    "n = ffi.new('char[]', b'nm'); w = ffi.new('struct with_ptrs *', [n]); r = ffi.string(w.name)",
    "w = ffi.new('struct with_ptrs *'); w.name = b'abc'",
    "w = ffi.new('struct with_ptrs *'); w.values = ffi.new('long[2]')",
    "w = ffi.new('struct with_ptrs *'); w.extra = ffi.new('long[2]'); r = w.extra != ffi.NULL",
    "w = ffi.new('struct with_ptrs *'); w.extra = 5",
    "ffi.new('tenum_t *', 2)[0]",
    "ffi.new('node_t *', [5, ffi.NULL]).value",
    "(lambda n: ffi.new('struct selfref *', {'next': n}).next.value)(ffi.new('node_t *'))",
    "ffi.new('struct opaque_s *')",
    "ffi.cast('struct opaque_s *', 16).x",
)

BITFIELD_CASES = cases(
    "b = ffi.new('struct bits *', [7, 31, -8, -2, 1, 2**39 - 1]); "
    "r = (b.a, b.b, b.c, b.d, b.e, b.f, bytes(ffi.buffer(b)))",
    "b = ffi.new('struct bits *', {'f': -2**39}); r = (b.f, bytes(ffi.buffer(b)))",
    "b = ffi.new('struct bits *', [8])",
    "b = ffi.new('struct bits *', [-1])",
    "b = ffi.new('struct bits *', [0, 32])",
    "b = ffi.new('struct bits *', [0, 0, 8])",
    "b = ffi.new('struct bits *', [0, 0, -9])",
    "b = ffi.new('struct bits *', [0, 0, 0, 2])",
    "b = ffi.new('struct bits *', [0, 0, 0, -3])",
    "b = ffi.new('struct bits *', [0, 0, 0, 0, 2])",
    "b = ffi.new('struct bits *', [0, 0, 0, 0, -1])",
    "b = ffi.new('struct bits *', {'f': 2**39})",
    "b = ffi.new('struct bits *', [0, 0, 0, 0, 0, 0, 0])",
    "b = ffi.new('struct bits *'); b.a = 5; b.b = 17; r = (b.a, b.b, bytes(ffi.buffer(b)))",
    "b = ffi.new('struct bits *'); b.a = 8",
    "b = ffi.new('struct bits *'); b.a = -1",
    "b = ffi.new('struct bits *'); b.c = 7; r = b.c",
    "b = ffi.new('struct bits *'); b.c = -8; r = b.c",
    "b = ffi.new('struct bits *'); b.c = 8",
    "b = ffi.new('struct bits *'); b.d = -2; r = b.d",
    "b = ffi.new('struct bits *'); b.d = 2",
    "b = ffi.new('struct bits *'); b.e = True; r = b.e",
    "b = ffi.new('struct bits *'); b.e = 2",
    "b = ffi.new('struct bits *'); b.a = 1.5",
    "b = ffi.new('struct bits *'); b.a = 'x'",
    "b = ffi.new('struct bits *'); b.f = 2**39",
    "b = ffi.new('struct bits *'); b.f = -2**39 - 1",
    "b = ffi.new('struct bits *'); b.f = -1; r = (b.f, b.a, bytes(ffi.buffer(b)))",
    "u = ffi.new('unsigned char[8]', [0xff] * 8); b = ffi.cast('struct bits *', u); "
    "r = (b.a, b.b, b.c, b.d, b.e, b.f)",
    "ffi.offsetof('struct bits', 'a')",
    "ffi.offsetof('struct bits', 'f')",
    "ffi.addressof(ffi.new('struct bits *'), 'a')",
    "ffi.addressof(ffi.new('struct bits *')[0], 'b')",
    "[(n, f.offset, f.bitshift, f.bitsize) for n, f in ffi.typeof('struct bits').fields]",
)

BITFIELD_CDEF_CASES = [
    pytest.param(["struct s { int a:1; int b:31; };"], code, id="int:1 | " + code)
    for code in ["ffi.new('struct s *', [-1, 5]).a", "ffi.new('struct s *', [1])",
                 "ffi.new('struct s *', [0, -2**30]).b", "ffi.sizeof('struct s')"]
] + [
    pytest.param(["struct s { unsigned char a:4, :0; unsigned char b:4; int :3; int c; };"],
                 code, id="zero-width | " + code)
    for code in ["ffi.sizeof('struct s'), ffi.offsetof('struct s', 'c')",
                 "[(n, f.offset, f.bitshift, f.bitsize) for n, f in ffi.typeof('struct s').fields]",
                 "b = ffi.new('struct s *', [15, 15, 1]); r = bytes(ffi.buffer(b))"]
] + [
    pytest.param(["struct s { char x; long long y:7; int z:20; };"], code, id="packing | " + code)
    for code in ["ffi.sizeof('struct s'), ffi.alignof('struct s')",
                 "[(n, f.offset, f.bitshift, f.bitsize) for n, f in ffi.typeof('struct s').fields]",
                 "b = ffi.new('struct s *', [b'a', -1, 2**19 - 1]); r = bytes(ffi.buffer(b))"]
] + [
    pytest.param([("struct s { char a; int b:3; int c:7; };", {"packed": True})], code,
                 id="packed | " + code)
    for code in ["ffi.sizeof('struct s'), ffi.alignof('struct s')",
                 "[(n, f.offset, f.bitshift, f.bitsize) for n, f in ffi.typeof('struct s').fields]"]
] + [
    pytest.param(["enum color { RED, GREEN = 5 }; struct s { _Bool a:1; enum color c:4; };"],
                 code, id="enum-bits | " + code)
    for code in ["ffi.new('struct s *', [1, 5]).c", "ffi.new('struct s *', [0, 8])",
                 "ffi.new('struct s *', [0, -1])", "ffi.sizeof('struct s')"]
]

FLEX_CASES = cases(
    "ffi.new('struct flex *')",
    "ffi.new('struct flex *').data",
    "ffi.typeof(ffi.new('struct flex *').data)",
    "ffi.new('struct flex *', [3, [1, 2, 3]])",
    "f = ffi.new('struct flex *', [3, [1, 2, 3]]); r = (f.n, f.data[0], f.data[2])",
    "f = ffi.new('struct flex *', {'data': [4, 5]}); r = f.data[1]",
    "f = ffi.new('struct flex *', {'data': 4}); r = (f.data[3], ffi.sizeof(f[0]))",
    "len(ffi.new('struct flex *', [3, [1, 2, 3]]).data)",
    "list(ffi.new('struct flex *', [3, [1, 2, 3]]).data)",
    "ffi.new('struct flex *', [3, [1, 2, 3]]).data[3]",
    "ffi.sizeof(ffi.new('struct flex *', [3, [1, 2, 3]]))",
    "ffi.sizeof(ffi.new('struct flex *', [3, [1, 2, 3]])[0])",
    "ffi.sizeof('struct flex'), ffi.alignof('struct flex'), ffi.offsetof('struct flex', 'data')",
    "ffi.typeof('struct flex').fields[1][1].type",
    "ffi.new('struct flex[2]')",
    "ffi.new('struct flex *', [1, 2])",
    "f = ffi.new('struct flex *', [0, [1, 2]]); f.data = [3, 4]; r = list(f.data[0:2])",
    "f = ffi.new('struct flex *', [0, [1, 2]]); f.data[1] = 7; r = f.data[1]",
    "f0 = ffi.new('struct flex0 *', [2, b'ab']); r = (f0.n, f0.data[1], ffi.sizeof('struct flex0'))",
    "ffi.typeof('struct flex0').fields[1][1].type",
    "len(ffi.new('struct flex0 *').data)",
    "ffi.buffer(ffi.new('struct flex *', [3, [1, 2, 3]]))[:]",
)

ENUM_CASES = cases(
    "ffi.cast('enum color', 5)",
    "ffi.cast('enum color', 7)",
    "ffi.cast('enum color', -1)",
    "ffi.cast('enum color', 2**32 + 5)",
    "ffi.cast('enum color', 1.5)",
    "ffi.cast('enum color', 'GREEN')",
    "ffi.cast('enum color', b'A')",
    "ffi.cast('enum neg', -3)",
    "ffi.cast('enum neg', -2)",
    "ffi.cast('enum big', -1)",
    "ffi.cast('enum big', 0xFFFFFFFF)",
    "ffi.cast('tenum_t', 2)",
    "ffi.cast('enum empty_e', 0)",
    "ffi.string(ffi.cast('enum color', 5))",
    "ffi.string(ffi.cast('enum color', 7))",
    "ffi.string(ffi.cast('enum neg', -2))",
    "ffi.string(ffi.cast('enum neg', -4))",
    "ffi.string(ffi.cast('enum big', 0xFFFFFFFF))",
    "ffi.string(ffi.cast('tenum_t', 2))",
    "ffi.string(ffi.cast('enum color', 5), 1)",
    "ffi.new('enum color *', 6)[0]",
    "ffi.new('enum color *', 'GREEN')",
    "ffi.new('enum color *', 2**31)",
    "ffi.new('enum color *', -2**31)[0]",
    "ffi.new('enum big *', 2**32 - 1)[0]",
    "ffi.new('enum big *', -1)",
    "ffi.new('enum neg *', -4)[0]",
    "ffi.new('enum color[]', [0, 5, 6])",
    "ffi.unpack(ffi.new('enum color[]', [0, 5, 6]), 3)",
    "list(ffi.new('enum color[]', [0, 5, 6]))",
    "p = ffi.new('enum color *'); p[0] = 6; r = p[0]",
    "p = ffi.new('enum color *'); p[0] = 'BLUE'",
    "ffi.typeof('enum color'), ffi.typeof('enum color').kind, ffi.typeof('enum color').cname",
    "ffi.typeof('enum color').elements, ffi.typeof('enum color').relements",
    "ffi.typeof('enum neg').elements, ffi.typeof('enum neg').relements",
    "ffi.typeof('enum big').elements, ffi.typeof('enum big').relements",
    "ffi.typeof('tenum_t').elements, ffi.typeof('tenum_t').relements",
    "ffi.typeof('tenum_t').cname",
    "ffi.sizeof('enum color'), ffi.sizeof('enum big'), ffi.sizeof('enum neg'), ffi.sizeof('tenum_t')",
    "ffi.alignof('enum big')",
    "int(ffi.cast('enum big', -1)), int(ffi.cast('enum neg', 2**32 - 1))",
    "ffi.cast('int', ffi.cast('enum big', 0xFFFFFFFF))",
    "ffi.cast('enum color', ffi.cast('enum neg', -3))",
    "ffi.typeof('enum color').fields",
    "ffi.typeof('enum color').item",
    "ffi.typeof('enum nope')",
    "ffi.sizeof('enum nope')",
)

TYPEOF_CASES = cases(
    "ffi.typeof('int')",
    "ffi.typeof(ffi.typeof('int'))",
    "ffi.typeof(ffi.new('int *'))",
    "ffi.typeof(ffi.new('int[]', 3))",
    "ffi.typeof(ffi.new('point_t *')[0])",
    "ffi.typeof(ffi.new('struct nested *').p)",
    "ffi.typeof(5)",
    "ffi.typeof(None)",
    "ffi.typeof(b'int')",
    "ffi.typeof('')",
    "ffi.typeof('int[')",
    "ffi.typeof('int int')",
    "ffi.typeof('unknown_t')",
    "ffi.typeof('struct nope')",
    "ffi.typeof('struct nope *')",
    "ffi.typeof('union nope')",
    "ffi.typeof('struct opaque_s')",
    "ffi.typeof('int x')",
    "ffi.typeof('int;')",
    "ffi.typeof('int[-1]')",
    "ffi.typeof('int[2**3]')",
    "ffi.typeof('int[3+4]')",
    "ffi.typeof('int[0x10]')",
    "ffi.typeof('int[sizeof(int)]')",
    "ffi.typeof('int[RED]')",
    "ffi.typeof('int[GREEN]')",
    "ffi.typeof('int[3][]')",
    "ffi.typeof('void')",
    "ffi.typeof('void *')",
    "ffi.typeof('void **')",
    "ffi.typeof('unsigned')",
    "ffi.typeof('signed')",
    "ffi.typeof('short int')",
    "ffi.typeof('long int')",
    "ffi.typeof('long long int')",
    "ffi.typeof('unsigned long long int')",
    "ffi.typeof('signed char')",
    "ffi.typeof('long unsigned')",
    "ffi.typeof('int long')",
    "ffi.typeof('long long long')",
    "ffi.typeof('long char')",
    "ffi.typeof('unsigned double')",
    "ffi.typeof('short long')",
    "ffi.typeof('const int')",
    "ffi.typeof('volatile int')",
    "ffi.typeof('const volatile int')",
    "ffi.typeof('int const *')",
    "ffi.typeof('int * const')",
    "ffi.typeof('const int * const *')",
    "ffi.typeof('char * restrict')",
    "ffi.typeof('char * __restrict')",
    "ffi.typeof('const char *[3]')",
    "ffi.typeof('int *[3]')",
    "ffi.typeof('int (*)[3]')",
    "ffi.typeof('int (*[3])(int)')",
    "ffi.typeof('int (**)(int)')",
    "ffi.typeof('int (*(*)(int))(long)')",
    "ffi.typeof('int (*)[3][4]')",
    "ffi.typeof('int[2][3]').item",
    "ffi.typeof('int(*)(int)')",
    "ffi.typeof('int(int)')",
    "ffi.typeof('int(*)(void)')",
    "ffi.typeof('int(*)()')",
    "ffi.typeof('int(*)(...)')",
    "ffi.typeof('int(*)(int, ...)')",
    "ffi.typeof('int(*)(int x, long y)')",
    "ffi.typeof('int(*)(int[3])')",
    "ffi.typeof('int(*)(int[])')",
    "ffi.typeof('int(*)(int(int))')",
    "ffi.typeof('int(*)(point_t)')",
    "ffi.typeof('int(*)(point_t *, struct nested)')",
    "ffi.typeof('void(*)(void)')",
    "ffi.typeof('point_t(*)(float, double)')",
    "ffi.typeof('int(*)(void, int)')",
    "ffi.typeof('int(*)(int[3])(int)')",
    "ffi.typeof('int[3](int)')",
    "ffi.typeof('int(*)(char, short, float, _Bool)')",
    "ffi.typeof('myint_t')",
    "ffi.typeof('myint_t *')",
    "ffi.typeof('arr5_t')",
    "ffi.typeof('arr5_t *')",
    "ffi.typeof('arr5_t[2]')",
    "ffi.typeof('byte_t')",
    "ffi.typeof('node_t')",
    "ffi.typeof('node_t *')",
    "ffi.typeof('binop_t')",
    "ffi.typeof('binop_t *')",
    "ffi.typeof('vfn_t')",
    "ffi.typeof('dfn_t')",
    "ffi.typeof('point_array_t')",
    "ffi.typeof('cint_t')",
    "ffi.typeof('cint_t *')",
    "ffi.typeof('tenum_t')",
    "ffi.typeof('point_t')",
    "ffi.typeof('struct nested')",
    "ffi.typeof('union u')",
    "ffi.typeof('struct u')",
    "ffi.typeof('union pt3')",
    "ffi.typeof('enum color')",
    "ffi.typeof('  int  *  ')",
    "ffi.typeof('int*')",
    "ffi.typeof('int\\t*\\n*')",
    "ffi.typeof('int /* comment */ *')",
    "ffi.typeof('__int128')",
    "ffi.typeof('long double *')",
    "ffi.typeof('float _Complex')",
    "ffi.typeof('_Complex double')",
    "ffi.typeof('complex double')",
    "ffi.typeof('FILE *')",
    "ffi.typeof('int __attribute__((aligned(16)))')",
    "ffi.typeof('int (__cdecl *)(int)')",
    "ffi.typeof('int (__stdcall *)(int)')",
    "ffi.typeof('struct { int a; }')",
)

CTYPE_ATTR_CASES = []
for _t in ["int", "int *", "int[3]", "int[]", "int[2][3]", "point_t", "point_t *",
           "struct nested", "union u", "struct anon", "struct bits", "struct flex",
           "struct opaque_s", "struct opaque_s *", "enum color", "enum neg", "tenum_t",
           "binop_t", "vfn_t", "dfn_t", "int(*)(int[3], point_t)", "void", "void *",
           "char", "_Bool", "double", "float _Complex", "wchar_t", "char32_t",
           "arr5_t", "node_t *", "struct mixed", "struct with_ptrs", "const char *",
           "int *[4]", "int (*)[4]", "point_array_t"]:
    CTYPE_ATTR_CASES += cases(
        f"t = ffi.typeof('{_t}'); r = (t.kind, t.cname, repr(t), str(t))",
        f"sorted(dir(ffi.typeof('{_t}')))",
        f"[(a, getattr(ffi.typeof('{_t}'), a)) for a in sorted(dir(ffi.typeof('{_t}')))]",
    )
CTYPE_ATTR_CASES += cases(
    "ffi.typeof('int').item",
    "ffi.typeof('int').fields",
    "ffi.typeof('int').length",
    "ffi.typeof('int *').length",
    "ffi.typeof('point_t').item",
    "ffi.typeof('binop_t').item",
    "ffi.typeof('int[]').length",
    "ffi.typeof('int[3]').item.item",
    "ffi.typeof('int[2][3]').item.length",
    "ffi.typeof('point_t').fields[0][1].type is ffi.typeof('int')",
    "ffi.typeof('struct nested').fields",
    "ffi.typeof('struct anon').fields",
    "ffi.typeof('struct opaque_s').fields",
    "ffi.typeof('union u').fields",
    "ffi.typeof('struct bits').fields",
    "ffi.typeof('struct flex').fields",
    "ffi.typeof('struct mixed').fields",
    "f = ffi.typeof('point_t').fields[0][1]; r = sorted(a for a in dir(f) if not a.startswith('_'))",
    "f = ffi.typeof('point_t').fields[0][1]; f.offset = 3",
    "t = ffi.typeof('int'); t.kind = 'x'",
    "t = ffi.typeof('int'); t.foo = 1",
    "ffi.typeof('binop_t').args, ffi.typeof('binop_t').result, ffi.typeof('binop_t').ellipsis",
    "ffi.typeof('vfn_t').args, ffi.typeof('vfn_t').result, ffi.typeof('vfn_t').ellipsis",
    "ffi.typeof('dfn_t').args, ffi.typeof('dfn_t').result, ffi.typeof('dfn_t').ellipsis",
    "ffi.typeof('binop_t').abi == ffi.typeof('dfn_t').abi",
    "ffi.typeof('int(*)(int[3], point_t)').args",
    "ffi.typeof('int(*)(int[3][4])').args",
    "ffi.typeof('int(*)(int(int))').args",
    "ffi.typeof('int(*)(float)').args",
    "ffi.typeof('int(*)(enum color)').args",
    "ffi.typeof('point_t(*)(void)').result",
    "ffi.typeof('int[3](*)(void)')",
    "ffi.typeof('int(*)(void)').args",
    "ffi.typeof('int(*)()').args",
    "ffi.typeof('int(*)(struct opaque_s)')",
    "ffi.typeof('int(*)(int, void)')",
    "ffi.typeof('int(*)(void, ...)')",
)

SIZE_CASES = cases(
    "ffi.sizeof('int[3]'), ffi.alignof('int[3]')",
    "ffi.sizeof('int[2][3]'), ffi.alignof('int[2][3]')",
    "ffi.sizeof('int[]')",
    "ffi.alignof('int[]')",
    "ffi.sizeof('int[0]')",
    "ffi.sizeof('void')",
    "ffi.alignof('void')",
    "ffi.sizeof('void *'), ffi.alignof('void *')",
    "ffi.sizeof('struct opaque_s')",
    "ffi.alignof('struct opaque_s')",
    "ffi.sizeof('struct opaque_s *')",
    "ffi.sizeof('binop_t'), ffi.alignof('binop_t')",
    "ffi.sizeof('int(int)')",
    "ffi.sizeof('__int128')",
    "ffi.sizeof(ffi.new('int[]', 5))",
    "ffi.sizeof(ffi.new('int *'))",
    "ffi.sizeof(ffi.new('point_t *')[0])",
    "ffi.sizeof(ffi.new('struct nested *').arr)",
    "ffi.sizeof(ffi.new('int[7]')[2:5])",
    "ffi.sizeof(ffi.cast('int', 5))",
    "ffi.sizeof(ffi.cast('char', b'a'))",
    "ffi.sizeof(ffi.NULL)",
    "ffi.alignof(ffi.new('int[3]'))",
    "ffi.alignof(ffi.new('point_t *')[0])",
    "ffi.alignof(ffi.cast('short', 1))",
    "ffi.sizeof(ffi.typeof('struct nested'))",
    "ffi.sizeof(5)",
    "ffi.sizeof(None)",
    "ffi.alignof(5)",
    "ffi.sizeof(b'int')",
    "ffi.sizeof(ffi.buffer(ffi.new('int[2]')))",
)
for _t in ["point_t", "struct pt3", "struct nested", "union u", "struct anon", "struct bits",
           "struct flex", "struct flex0", "struct selfref", "struct with_ptrs", "struct mixed",
           "struct cplx", "enum color", "enum neg", "enum big", "tenum_t", "myint_t", "arr5_t",
           "byte_t", "node_t", "point_array_t", "cint_t", "long double", "point_t[3]",
           "struct pt3[0]", "char[7]", "wchar_t[3]", "char16_t[3]"]:
    SIZE_CASES += cases(f"ffi.sizeof('{_t}'), ffi.alignof('{_t}')")

OFFSETOF_CASES = cases(
    "ffi.offsetof('point_t', 'x'), ffi.offsetof('point_t', 'y')",
    "ffi.offsetof('struct pt3', 'b'), ffi.offsetof('struct pt3', 'c')",
    "ffi.offsetof('struct nested', 'p')",
    "ffi.offsetof('struct nested', 'p', 'y')",
    "ffi.offsetof('struct nested', 'arr')",
    "ffi.offsetof('struct nested', 'arr', 1)",
    "ffi.offsetof('struct nested', 'arr', 1, 'c')",
    "ffi.offsetof('struct nested', 'arr', 5, 'c')",
    "ffi.offsetof('struct nested', 'arr', -1)",
    "ffi.offsetof('struct nested', 'tail', 2)",
    "ffi.offsetof('struct nested', 'tail', 2, 'x')",
    "ffi.offsetof('struct nested', 'p', 0)",
    "ffi.offsetof('struct nested', 'nope')",
    "ffi.offsetof('struct nested', 'p', 'nope')",
    "ffi.offsetof('struct nested', 0)",
    "ffi.offsetof('struct nested', 1.5)",
    "ffi.offsetof('struct nested', None)",
    "ffi.offsetof('struct nested')",
    "ffi.offsetof('struct anon', 'ival'), ffi.offsetof('struct anon', 'dval')",
    "ffi.offsetof('struct anon', 'lo'), ffi.offsetof('struct anon', 'hi')",
    "ffi.offsetof('union u', 'd')",
    "ffi.offsetof('struct mixed', 'ld')",
    "ffi.offsetof('struct flex', 'data')",
    "ffi.offsetof('struct flex', 'data', 3)",
    "ffi.offsetof('int[10]', 3)",
    "ffi.offsetof('int[10]', 30)",
    "ffi.offsetof('int[]', 3)",
    "ffi.offsetof('int[2][5]', 1, 2)",
    "ffi.offsetof('point_t[4]', 2, 'y')",
    "ffi.offsetof('point_array_t', 3)",
    "ffi.offsetof('point_t *', 'x')",
    "ffi.offsetof('point_t *', 2)",
    "ffi.offsetof('int *', 3)",
    "ffi.offsetof('int *', -3)",
    "ffi.offsetof('int', 'x')",
    "ffi.offsetof('int', 0)",
    "ffi.offsetof('struct opaque_s', 'x')",
    "ffi.offsetof('void *', 1)",
    "ffi.offsetof('binop_t', 0)",
    "ffi.offsetof(ffi.typeof('point_t'), 'y')",
    "ffi.offsetof(ffi.new('point_t *'), 'y')",
    "ffi.offsetof('node_t', 'next')",
    "ffi.offsetof('struct selfref', 'next', 'value')",
    "ffi.offsetof('struct with_ptrs', 'values', 1)",
)

ADDRESSOF_CASES = cases(
    "s = ffi.new('struct nested *'); r = ffi.addressof(s, 'p')",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s[0], 'p')",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s[0])",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s[0]) == s",
    "s = ffi.new('struct nested *'); "
    "r = ffi.cast('char *', ffi.addressof(s, 'arr', 1, 'c')) - ffi.cast('char *', s)",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s, 'arr', 1)",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s, 'tail')",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s, 'tail', 2)",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s, 'p', 'y') == ffi.addressof(s.p, 'y')",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s, 'nope')",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s, 'tail', 3)",
    "s = ffi.new('struct nested *'); r = ffi.addressof(s.p)",
    "s = ffi.new('struct nested *'); ffi.addressof(s, 'p').x = 3; r = s.p.x",
    "a = ffi.new('int[5]'); r = ffi.addressof(a, 2)",
    "a = ffi.new('int[5]'); r = ffi.addressof(a, 2) - ffi.addressof(a, 0)",
    "a = ffi.new('int[5]'); r = ffi.addressof(a)",
    "a = ffi.new('int[5]'); r = ffi.addressof(a) == ffi.cast('void *', a)",
    "a = ffi.new('int[5]'); r = ffi.addressof(a, 5)",
    "a = ffi.new('int[5]'); r = ffi.addressof(a, 9)",
    "a = ffi.new('int[]', 5); r = ffi.addressof(a, 9)",
    "a = ffi.new('int[2][3]'); r = ffi.addressof(a, 1, 2) - ffi.cast('int *', a)",
    "p = ffi.new('int *'); r = ffi.addressof(p)",
    "p = ffi.new('int *'); r = ffi.addressof(p, 0)",
    "p = ffi.new('point_t *'); r = ffi.addressof(p, 'y')",
    "p = ffi.new('point_t *'); r = ffi.addressof(p[0], 'y') == ffi.addressof(p, 'y')",
    "ffi.addressof(5)",
    "ffi.addressof(None)",
    "ffi.addressof(ffi.cast('int', 5))",
    "ffi.addressof(ffi.new('struct anon *'), 'hi')",
    "ffi.addressof(ffi.new('union u *'), 'b')",
    "u = ffi.new('union u *'); r = ffi.addressof(u, 'd') == ffi.addressof(u, 'i')",
)

STRING_CASES = cases(
    "ffi.string(ffi.new('char[]', b'hi\\x00there'))",
    "ffi.string(ffi.new('char[]', b'hello'), 3)",
    "ffi.string(ffi.new('char[]', b'hello'), 0)",
    "ffi.string(ffi.new('char[]', b'hello'), 100)",
    "ffi.string(ffi.new('char[]', b'hello'), -1)",
    "ffi.string(ffi.new('char[]', b'hello'), 1.5)",
    "ffi.string(ffi.new('char[]', b'hello'), None)",
    "ffi.string(ffi.new('char[5]', b'hello'))",
    "ffi.string(ffi.new('char[]', b''))",
    "ffi.string(ffi.new('char[4]'))",
    "a = ffi.new('char[]', b'abc'); r = ffi.string(ffi.cast('char *', a))",
    "a = ffi.new('char[]', b'abcdef'); r = ffi.string(ffi.cast('char *', a), 2)",
    "a = ffi.new('char[]', b'abc'); r = ffi.string(a + 1)",
    "ffi.string(ffi.new('const char[]', b'abc'))",
    "ffi.string(ffi.new('signed char[]', [65, 66, 0]))",
    "ffi.string(ffi.new('unsigned char[]', [65, 66, 0]))",
    "ffi.string(ffi.new('byte_t[]', [65, 66, 0]))",
    "ffi.string(ffi.new('int[]', [65, 66, 0]))",
    "ffi.string(ffi.new('_Bool[]', [1, 0]))",
    "ffi.string(ffi.new('double[]', [1.0]))",
    "ffi.string(ffi.new('int *'))",
    "ffi.string(ffi.cast('int', 65))",
    "ffi.string(ffi.cast('char', b'x'))",
    "ffi.string(ffi.cast('char', b'\\x00'))",
    "ffi.string(ffi.cast('signed char', 65))",
    "ffi.string(ffi.cast('_Bool', 1))",
    "ffi.string(ffi.cast('double', 1.0))",
    "ffi.string(ffi.new('point_t *'))",
    "ffi.string(ffi.new('point_t *')[0])",
    "ffi.string(ffi.NULL)",
    "ffi.string(b'abc')",
    "ffi.string('abc')",
    "ffi.string(None)",
    "ffi.string(ffi.new('char[]', b'ab'), maxlen=1)",
    "ffi.string(cdata=ffi.new('char[]', b'ab'))",
    "ffi.string(ffi.new('wchar_t[]', 'h\\u1234llo'), 2)",
    "ffi.string(ffi.new('wchar_t[3]', 'abc'))",
    "ffi.string(ffi.new('wchar_t[5]'))",
    "a = ffi.new('wchar_t[]', 'ab\\x00c'); r = ffi.string(ffi.cast('wchar_t *', a))",
    "ffi.string(ffi.cast('wchar_t', 0))",
    "ffi.string(ffi.cast('char16_t', 0xD800))",
    "ffi.string(ffi.cast('char32_t', 0xD800))",
    "ffi.string(ffi.cast('char32_t', 0x7FFFFFFF))",
    "ffi.string(ffi.cast('char32_t', -1))",
    "ffi.string(ffi.new('char32_t[]', [0x41, 0x110000, 0]))",
    "ffi.string(ffi.new('char32_t[]', [0x41, 0x110000, 0]), 1)",
    "ffi.string(ffi.new('char16_t[]', [0xD83D, 0xDE00, 0]))",
    "ffi.string(ffi.new('char16_t[]', [0xD83D, 0x41, 0]))",
    "ffi.string(ffi.new('char16_t[]', [0xDE00, 0xD83D, 0]))",
    "ffi.string(ffi.new('char16_t[]', [0xD83D, 0xDE00, 0]), 1)",
    "ffi.string(ffi.new('char16_t[2]', [0x41, 0xD83D]))",
    "p = ffi.new('struct nested *'); r = ffi.string(p.arr[0].c)",
    "ffi.string(ffi.new('struct mixed *').c32)",
)

UNPACK_CASES = cases(
    "ffi.unpack(ffi.new('char[]', b'a\\x00bc'), 4)",
    "ffi.unpack(ffi.new('char[]', b'abc'), 0)",
    "ffi.unpack(ffi.new('char[]', b'abc'), -1)",
    "ffi.unpack(ffi.new('char[]', b'abc'), 1.0)",
    "ffi.unpack(ffi.new('char[]', b'abc'), None)",
    "ffi.unpack(ffi.new('char[]', b'abc'), 2**70)",
    "ffi.unpack(ffi.new('signed char[]', [-1, 2]), 2)",
    "ffi.unpack(ffi.new('unsigned char[]', [255, 2]), 2)",
    "ffi.unpack(ffi.new('int[]', [1, 2, 3]), 3)",
    "ffi.unpack(ffi.new('int[]', [1, 2, 3]), 2)",
    "a = ffi.new('int[]', [1, 2, 3]); r = ffi.unpack(ffi.cast('int *', a), 3)",
    "ffi.unpack(ffi.new('int *', 7), 1)",
    "ffi.unpack(ffi.new('double[]', [0.5, -0.0]), 2)",
    "ffi.unpack(ffi.new('long double[]', [0.5, 3]), 2)",
    "ffi.unpack(ffi.new('wchar_t[]', 'ab\\x00c'), 4)",
    "ffi.unpack(ffi.new('char16_t[]', '\\U0001F600'), 2)",
    "ffi.unpack(ffi.new('char16_t[]', '\\U0001F600'), 1)",
    "ffi.unpack(ffi.new('char32_t[]', [0x41, 0x110000]), 2)",
    "ffi.unpack(ffi.new('point_t[]', [[1, 2], [3, 4]]), 2)",
    "[p.y for p in ffi.unpack(ffi.new('point_t[]', [[1, 2], [3, 4]]), 2)]",
    "ffi.unpack(ffi.new('int *[2]'), 2)",
    "ffi.unpack(ffi.new('int[2][2]'), 2)",
    "ffi.unpack(ffi.new('binop_t[2]'), 2)",
    "ffi.unpack(ffi.new('enum color[]', [5, 7]), 2)",
    "ffi.unpack(ffi.new('_Bool[]', [True, False]), 2)",
    "ffi.unpack(ffi.cast('void *', 8), 2)",
    "ffi.unpack(ffi.new('void **'), 1)",
    "ffi.unpack(ffi.cast('struct opaque_s *', 8), 1)",
    "ffi.unpack(ffi.cast('int', 5), 1)",
    "ffi.unpack(ffi.new('point_t *')[0], 1)",
    "ffi.unpack(b'abc', 2)",
    "ffi.unpack(ffi.new('float _Complex[]', [1j]), 1)",
    "ffi.unpack(ffi.new('struct flex *', [2, [5, 6]]).data, 2)",
)

BUFFER_CASES = cases(
    "len(ffi.buffer(ffi.new('int[4]')))",
    "ffi.buffer(ffi.new('int[]', [1, 2]))[:]",
    "ffi.buffer(ffi.new('char[]', b'abc'))[:]",
    "bytes(ffi.buffer(ffi.new('char[]', b'abc')))",
    "ffi.buffer(ffi.new('char[]', b'abc'), 2)[:]",
    "len(ffi.buffer(ffi.new('char[]', b'abc'), 0))",
    "ffi.buffer(ffi.new('char[]', b'abc'), -1)",
    "ffi.buffer(ffi.new('char[]', b'abc'), 1.5)",
    "ffi.buffer(ffi.new('char[]', b'abc'), None)[:]",
    "len(ffi.buffer(ffi.new('int *')))",
    "len(ffi.buffer(ffi.new('point_t *')))",
    "len(ffi.buffer(ffi.new('point_t *')[0]))",
    "len(ffi.buffer(ffi.new('struct nested *').tail))",
    "len(ffi.buffer(ffi.new('int[5]')[1:3]))",
    "len(ffi.buffer(ffi.new('int[2][3]')))",
    "len(ffi.buffer(ffi.new('int **')))",
    "len(ffi.buffer(ffi.cast('int *', ffi.new('int[4]'))))",
    "len(ffi.buffer(ffi.cast('int *', ffi.new('int[4]')), 12))",
    "ffi.buffer(ffi.new('void **')[0])",
    "ffi.buffer(ffi.cast('struct opaque_s *', 8))",
    "ffi.buffer(ffi.cast('int', 5))",
    "ffi.buffer(ffi.new('point_t *')[0])[:]",
    "ffi.buffer(5)",
    "ffi.buffer(b'abc')",
    "ffi.buffer(None)",
    "ffi.buffer(ffi.cast('binop_t', 8))",
    "b = ffi.buffer(ffi.new('char[]', b'abcdef')); r = (b[0], b[-1], b[1:3], b[::2], b[4:1], b[-3:])",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b[7]",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b[-5]",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b['x']",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b[1.0]",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b[::-1]",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b[1:100]",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[0:2] = b'xy'; r = ffi.string(p)",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[0] = b'z'; r = ffi.string(p)",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[0] = 90; r = ffi.string(p)",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[0] = 300",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[0] = b'zz'",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[-1] = b'z'; r = bytes(b)",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[9] = b'z'",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[0:2] = b'xyz'",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[0:2] = b'x'",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[:] = b'12345'; r = bytes(b)",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[1:3] = bytearray(b'QR'); r = bytes(b)",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[1:3] = memoryview(b'QR'); r = bytes(b)",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[1:3] = 'QR'",
    "p = ffi.new('char[]', b'abcd'); b = ffi.buffer(p); b[1:3] = [1, 2]",
    "p = ffi.new('char[]', b'abcdef'); b = ffi.buffer(p); b[::2] = b'XYZ'; r = bytes(b)",
    "p = ffi.new('char[]', b'abcdef'); b = ffi.buffer(p); b[0:4] = b[2:6]; r = bytes(b)",
    "p = ffi.new('int[2]'); b = ffi.buffer(p); b[:] = b'\\x01\\x00\\x00\\x00\\xff\\xff\\xff\\xff'; "
    "r = list(p)",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = (b == b'abc\\x00', b != b'x', b < b'b', b > b'a')",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b == ffi.buffer(ffi.new('char[]', b'abc'))",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b == 'abc'",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b + b'x'",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b * 2",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b'b' in b",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = list(b)",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = bytes(memoryview(b))",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); m = memoryview(b); r = (m.format, m.itemsize, m.readonly, m.nbytes, m.shape)",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = bytearray(b)",
    "b = ffi.buffer(ffi.new('char[]', b'abc')); r = b.__len__()",
    "b = ffi.buffer(ffi.new('int[2]')); r = type(b).__name__",
    "ffi.buffer(ffi.new('char[]', b'ab')) is not ffi.buffer(ffi.new('char[]', b'ab'))",
    "ffi.buffer.__name__",
    "ffi.buffer(cdata=ffi.new('char[]', b'ab'), size=1)[:]",
    "ffi.buffer(ffi.new('int[]', [1, 2]), 100)[:4]",
)

FROM_BUFFER_CASES = cases(
    "ffi.from_buffer(bytearray(b'abc'))",
    "len(ffi.from_buffer(bytearray(b'abc')))",
    "ffi.from_buffer(b'abc')",
    "ffi.from_buffer(b'abc')[1]",
    "ffi.from_buffer(b'abc', require_writable=True)",
    "ffi.from_buffer(bytearray(b'abc'), require_writable=True)[2]",
    "ffi.from_buffer(memoryview(b'abc'))",
    "ffi.from_buffer(memoryview(b'abcdef')[::2])",
    "ffi.from_buffer('str')",
    "ffi.from_buffer(5)",
    "ffi.from_buffer(None)",
    "ffi.from_buffer([1, 2])",
    "ffi.from_buffer(ffi.new('char[]', b'ab'))",
    "ffi.from_buffer(ffi.buffer(ffi.new('char[]', b'ab')))",
    "ffi.from_buffer('int[]', bytearray(8))",
    "len(ffi.from_buffer('int[]', bytearray(8)))",
    "len(ffi.from_buffer('int[]', bytearray(7)))",
    "len(ffi.from_buffer('int[]', bytearray(3)))",
    "ffi.from_buffer('int[2]', bytearray(8))",
    "ffi.from_buffer('int[2]', bytearray(4))",
    "ffi.from_buffer('int[2]', bytearray(12))",
    "ffi.from_buffer('int *', bytearray(8))",
    "ffi.from_buffer('int *', bytearray(8))[0]",
    "ffi.from_buffer('int *', bytearray(2))",
    "ffi.from_buffer('point_t *', bytearray(8))",
    "ffi.from_buffer('point_t[]', bytearray(20))",
    "ffi.from_buffer('int', bytearray(8))",
    "ffi.from_buffer('point_t', bytearray(8))",
    "ffi.from_buffer('void *', bytearray(8))",
    "ffi.from_buffer('void[]', bytearray(8))",
    "ffi.from_buffer('char *', bytearray(8))",
    "ffi.from_buffer('int[][3]', bytearray(40))",
    "len(ffi.from_buffer('int[][3]', bytearray(40)))",
    "ffi.from_buffer('struct opaque_s *', bytearray(8))",
    "ffi.from_buffer(ffi.typeof('int[]'), bytearray(8))",
    "ffi.from_buffer('char[]', b'abc', True)",
    "ffi.from_buffer('char[]', b'abc', False)",
    "ffi.from_buffer('char[]', bytearray(b'abc'), require_writable=1)",
    "import array; r = list(ffi.from_buffer('int[]', array.array('i', [1, 2, 3])))",
    "import array; r = ffi.from_buffer(array.array('i', [1, 2, 3]))",
    "ba = bytearray(8); p = ffi.from_buffer('int[]', ba); p[1] = -1; r = bytes(ba)",
    "ba = bytearray(b'xyz'); p = ffi.from_buffer(ba); ba[0] = 65; r = p[0]",
    "p = ffi.from_buffer(bytearray(b'xyz')); r = ffi.typeof(p)",
    "p = ffi.from_buffer(bytearray(b'xyz')); r = ffi.string(p)",
    "p = ffi.from_buffer(bytearray(b'xyz')); r = ffi.buffer(p)[:]",
    "p = ffi.from_buffer(bytearray(b'xyz')); r = ffi.sizeof(p)",
    "p = ffi.from_buffer(b''); r = (len(p), repr(p))",
    "ffi.from_buffer(bytearray(b'abc'), cdecl='int')",
    "ffi.from_buffer(python_buffer=bytearray(b'abc'))",
)

MEMMOVE_CASES = cases(
    "d = ffi.new('char[5]'); ffi.memmove(d, b'abcd', 3); r = ffi.string(d)",
    "d = ffi.new('char[5]'); ffi.memmove(d, bytearray(b'abcd'), 4); r = ffi.string(d)",
    "d = ffi.new('char[5]'); ffi.memmove(d, memoryview(b'abcd'), 2); r = ffi.string(d)",
    "d = ffi.new('int[3]'); ffi.memmove(d, ffi.new('int[]', [1, 2, 3]), 12); r = list(d)",
    "d = ffi.new('int[3]'); ffi.memmove(d, ffi.new('long[]', [1, 2]), 8); r = list(d)",
    "d = ffi.new('int[5]', [1, 2, 3, 4, 5]); ffi.memmove(d + 1, d, 12); r = list(d)",
    "d = ffi.new('int[5]', [1, 2, 3, 4, 5]); ffi.memmove(d, d + 1, 12); r = list(d)",
    "ba = bytearray(4); ffi.memmove(ba, ffi.new('char[]', b'xyz'), 3); r = ba",
    "ba = bytearray(4); ffi.memmove(ba, b'xy', 2); r = ba",
    "ffi.memmove(b'abcd', b'xy', 2)",
    "d = ffi.new('char[5]'); ffi.memmove(d, 'abcd', 2)",
    "d = ffi.new('char[5]'); ffi.memmove(d, 5, 2)",
    "d = ffi.new('char[5]'); ffi.memmove(d, None, 0)",
    "d = ffi.new('char[5]'); ffi.memmove(d, b'ab', -1)",
    "d = ffi.new('char[5]'); ffi.memmove(d, b'ab', 0); r = bytes(ffi.buffer(d))",
    "d = ffi.new('char[5]'); ffi.memmove(d, b'ab', 4); r = bytes(ffi.buffer(d))",
    "d = ffi.new('char[5]'); ffi.memmove(d, ffi.new('char[2]', b'ab'), 4)",
    "d = ffi.new('char[5]'); ffi.memmove(d, b'ab', 1.0)",
    "d = ffi.new('char[5]'); ffi.memmove(ffi.cast('int', 5), b'ab', 1)",
    "d = ffi.new('point_t *'); ffi.memmove(d, ffi.new('point_t *', [3, 4]), 8); r = d.y",
    "d = ffi.new('point_t *'); ffi.memmove(d[0], b'\\x01\\x00\\x00\\x00', 4)",
    "d = ffi.new('char[5]'); ffi.memmove(dest=d, src=b'ab', n=2); r = ffi.string(d)",
)

GETCTYPE_CASES = cases(
    "ffi.getctype('int')",
    "ffi.getctype('int', '*')",
    "ffi.getctype('int', 'x')",
    "ffi.getctype('int', ' x ')",
    "ffi.getctype('int*', 'x')",
    "ffi.getctype('int *', '*')",
    "ffi.getctype('int[3]')",
    "ffi.getctype('int[3]', '*p')",
    "ffi.getctype('int[3]', '*')",
    "ffi.getctype('int[3]', 'a')",
    "ffi.getctype('int[3]', '[4]')",
    "ffi.getctype('int[2][3]', '*')",
    "ffi.getctype('int', '[5]')",
    "ffi.getctype('int', '(*)(void)')",
    "ffi.getctype('int(*)(int)')",
    "ffi.getctype('int(*)(int)', 'f')",
    "ffi.getctype('int(*)(int)', '*')",
    "ffi.getctype('int(*)(int)', '[2]')",
    "ffi.getctype('int(int)')",
    "ffi.getctype('int(int)', 'f')",
    "ffi.getctype('binop_t', 'op')",
    "ffi.getctype('vfn_t')",
    "ffi.getctype('int(*(*)(int))(long)')",
    "ffi.getctype('int(*[3])(int)', 'tbl')",
    "ffi.getctype(ffi.typeof('point_t'))",
    "ffi.getctype(ffi.typeof('point_t'), '*')",
    "ffi.getctype('struct nested', '&')",
    "ffi.getctype('struct nested *', '&')",
    "ffi.getctype('const char *', 'const')",
    "ffi.getctype('const char *')",
    "ffi.getctype('char * const')",
    "ffi.getctype('enum color', 'c')",
    "ffi.getctype('tenum_t')",
    "ffi.getctype('union u[2]')",
    "ffi.getctype('myint_t')",
    "ffi.getctype('arr5_t', '*')",
    "ffi.getctype('unsigned')",
    "ffi.getctype('long long int')",
    "ffi.getctype('_Bool')",
    "ffi.getctype('float _Complex')",
    "ffi.getctype(ffi.new('int[3]'))",
    "ffi.getctype(5)",
    "ffi.getctype('int', 5)",
    "ffi.getctype('int', None)",
    "ffi.getctype('nope_t')",
)

MISC_CASES = cases(
    "ffi.list_types()",
    "ffi.typeof(ffi.NULL)",
    "isinstance(ffi.new('int *'), ffi.CData), isinstance(ffi.typeof('int'), ffi.CType)",
    "isinstance(ffi.typeof('int'), ffi.CData), isinstance(ffi.new('int *'), ffi.CType)",
    "ffi.CData()",
    "ffi.CType()",
    "ffi.new(ffi.typeof('int *'), 5)[0]",
    "ffi.new(ffi.typeof('int'))",
    "ffi.new(5)",
    "ffi.new(None)",
    "ffi.new('int *', 1, 2)",
    "ffi.new(cdecl='int *', init=3)[0]",
    "ffi.cast(ffi.typeof('int'), 5)",
    "ffi.cast(5, 5)",
    "ffi.cast('int')",
    "ffi.cast('int *', ffi.new('int *')) is not None",
    "ffi.cast('int', ffi.cast('int', 5))",
    "ffi.cast('int', ffi.new('int[3]')) != 0",
    "ffi.cast('double', ffi.new('int[3]'))",
    "ffi.cast('int', ffi.new('point_t *')[0])",
    "ffi.cast('int', ffi.typeof('int'))",
    "ffi.cast('int', object())",
    "ffi.cast('int', 2**64)",
    "ffi.cast('int', -2**64 - 1)",
    "ffi.cast('long long', ffi.cast('unsigned long long', 2**64 - 1))",
    "ffi.cast('unsigned short', ffi.cast('signed char', -1))",
    "ffi.cast('unsigned char', ffi.cast('_Bool', 1))",
    "ffi.cast('short', ffi.cast('wchar_t', 0x12345))",
    "ffi.cast('int', ffi.cast('enum color', 6))",
    "ffi.cast('char', ffi.cast('int', 0x141))",
    "ffi.cast('wchar_t', ffi.cast('char', b'A'))",
    "ffi.cast('char16_t', ffi.cast('wchar_t', 0x1F600))",
    "ffi.cast('int', ffi.cast('char16_t', 0xFFFF))",
    "ffi.cast('int', ffi.cast('char32_t', 0xFFFFFFFF))",
    "ffi.cast('float', ffi.cast('double', 1e300))",
    "ffi.cast('double', ffi.cast('float', 0.1))",
    "ffi.cast('float', ffi.cast('long double', 1.1))",
    "ffi.cast('long double', ffi.cast('long double', 1.5))",
    "ffi.cast('long double', 2**64 + 1)",
    "ffi.cast('unsigned long long', ffi.cast('long double', 2.0**63))",
    "ffi.cast('long long', ffi.cast('double', -2.0**62))",
    "ffi.cast('uint8_t', ffi.cast('double', 255.9))",
    "ffi.cast('int32_t', ffi.cast('float', -2.5))",
    "ffi.cast('unsigned int', ffi.cast('uint64_t', 2**40 + 7))",
    "repr(ffi.new('int *')).startswith('<cdata')",
    "ffi.new('char[]', b'x')",
    "ffi.new('point_t *')",
    "ffi.new('point_t *')[0]",
    "ffi.new('struct nested *').p",
    "ffi.new('struct nested *').arr",
    "ffi.new('int[5]')[1:3]",
    "ffi.cast('int *', ffi.new('int[5]'))[1:3]",
    "ffi.cast('void *', 0)",
    "ffi.cast('char *', 0xdeadbeef)",
    "ffi.cast('float', 0.1)",
    "ffi.cast('double', 0.1)",
    "ffi.cast('long double', 0.1)",
    "ffi.cast('char', b'\\n')",
    "ffi.cast('char', b'\\xff')",
    "ffi.cast('wchar_t', 0x1F600)",
    "ffi.cast('wchar_t', 10)",
    "ffi.cast('_Bool', 1)",
    "ffi.cast('float _Complex', 1.5+2j)",
    "ffi.cast('binop_t', 0)",
    "ffi.from_buffer(bytearray(4))",
    "ffi.new('int[3]')",
    "ffi.new('arr5_t')",
    "ffi.new('enum color *')",
    "ffi.new('enum color *')[0]",
    "ffi.new('struct flex *', [2, [1, 2]])",
    "ffi.new('struct flex *', [2, [1, 2]]).data",
    "ffi.new_handle(5)",
    "ffi.from_handle(ffi.new_handle([1, 2]))",
    "h = ffi.new_handle(5); r = ffi.typeof(h)",
    "ffi.from_handle(ffi.NULL)",
)

GC_RELEASE_CASES = cases(
    "p = ffi.new('int[3]'); ffi.release(p); r = repr(p)",
    "p = ffi.new('int[3]'); ffi.release(p); r = p[0]",
    "p = ffi.new('int[3]'); ffi.release(p); ffi.release(p)",
    "p = ffi.new('int *');\nwith p as q:\n    q[0] = 1\nr = repr(p)",
    "p = ffi.cast('int *', 8); ffi.release(p); r = 1",
    "p = ffi.from_buffer(bytearray(4)); ffi.release(p); r = repr(p)",
    "log = []; p = ffi.gc(ffi.cast('int *', 8), log.append); del p; r = len(log)",
    "log = []; p = ffi.gc(ffi.cast('int *', 8), log.append); r = repr(p)",
    "log = []; p = ffi.gc(ffi.cast('int *', 8), log.append); ffi.release(p); r = len(log)",
    "log = []; p = ffi.gc(ffi.cast('int *', 8), None); r = repr(p)",
    "ffi.gc(5, print)",
)

CDEF_CASES = [
    pytest.param(["struct a { int x; }; struct b { struct a arr[2]; };"],
                 "ffi.sizeof('struct b')",
                 id="['struct a { int x; }; struct b { struct a arr[2]; };'] | ffi.sizeof('struct b')"),
    pytest.param(["typedef struct { int x; } S; typedef S A[3];"], "ffi.sizeof('A[3]')",
                 id="['typedef struct { int x; } S; typedef S A[3];'] | ffi.sizeof('A[3]')"),
    pytest.param(["struct a { int (*cb)(void *); };"], "ffi.sizeof('struct a')",
                 id="function-pointer field"),
    pytest.param(["typedef int (*f)(int); typedef struct { f op; } ops_t;"],
                 "ffi.sizeof('ops_t'), ffi.typeof('ops_t').fields[0][1].type",
                 id="function-pointer field via typedef"),
    pytest.param(["struct s { void (*tbl[4])(int); };"],
                 "ffi.typeof('struct s').fields[0][1].type", id="function-pointer array field"),
    pytest.param(["struct a { int x; }; struct b { struct a one; };"],
                 "ffi.sizeof('struct b')", id="struct-in-struct same call"),
    pytest.param(["struct a { int x; };", "struct b { struct a arr[2]; };"],
                 "ffi.sizeof('struct b')", id="array of struct, two calls"),
    pytest.param(["struct s { int x; }; struct s { int y; };"], "ffi.sizeof('struct s')",
                 id="duplicate struct"),
    pytest.param(["struct s { int x; };", "struct s { int x; };"], "ffi.sizeof('struct s')",
                 id="duplicate struct, two calls"),
    pytest.param(["typedef int T; typedef long T;"], "ffi.sizeof('T')", id="conflicting typedef"),
    pytest.param(["typedef int T; typedef int T;"], "ffi.sizeof('T')", id="identical typedef"),
    pytest.param(["struct s { struct s inner; };"], "ffi.sizeof('struct s')",
                 id="recursive struct"),
    pytest.param(["struct s { struct undecl x; };"], "ffi.sizeof('struct s')",
                 id="field of opaque type"),
    pytest.param(["struct s { int a[]; int b; };"], "ffi.sizeof('struct s')",
                 id="flexible member not last"),
    pytest.param(["struct s { int x; int x; };"], "ffi.sizeof('struct s')",
                 id="duplicate field"),
    pytest.param(["struct s { int x:33; };"], "ffi.sizeof('struct s')", id="too-wide bitfield"),
    pytest.param(["struct s { double x:3; };"], "ffi.sizeof('struct s')",
                 id="bitfield of double"),
    pytest.param(["struct s { int x:0; };"], "ffi.sizeof('struct s')", id="named zero-width"),
    pytest.param(["struct s { int x:-1; };"], "ffi.sizeof('struct s')", id="negative width"),
    pytest.param(["struct s { char c; int i; };"], "ffi.sizeof('struct s'), "
                 "ffi.offsetof('struct s', 'i')", id="plain"),
    pytest.param(["enum e { A = 1 << 4, B = A | 1, C = ~0, D = -(3), E = 'x' };"],
                 "ffi.typeof('enum e').elements", id="enum constant expressions"),
    pytest.param(["enum e { A = 0x7FFFFFFFFFFFFFFF };"], "ffi.sizeof('enum e'), "
                 "ffi.typeof('enum e').relements", id="64-bit enum"),
    pytest.param(["enum e { A = -1, B = 0xFFFFFFFF };"], "ffi.sizeof('enum e'), "
                 "ffi.cast('enum e', -1)", id="signed 64-bit enum"),
    pytest.param(["enum e { A = 2**3 };"], "ffi.typeof('enum e')", id="bad enum expr"),
    pytest.param(["#define N 5\nstruct s { int a[N]; };"], "ffi.sizeof('struct s')",
                 id="macro constant in array"),
    pytest.param(["struct s { int a[...]; };"], "ffi.sizeof('struct s')", id="dotdotdot array"),
    pytest.param(["struct s { int a; ...; };"], "ffi.sizeof('struct s')", id="dotdotdot struct"),
    pytest.param(["typedef int... T;"], "ffi.sizeof('T')", id="dotdotdot typedef"),
    pytest.param(["static const int N = 4; struct s { int a[N]; };"], "ffi.sizeof('struct s')",
                 id="const in array"),
    pytest.param(["struct s { int a; } __attribute__((packed));"], "ffi.sizeof('struct s')",
                 id="attribute packed"),
    pytest.param(["struct s { char c; int i; };"], "ffi.sizeof('struct s')", id="syntax ok"),
    pytest.param(["struct s { char c; int i; }"], "ffi.sizeof('struct s')", id="syntax error"),
    pytest.param(["int x"], "ffi.sizeof('int')", id="missing semicolon"),
    pytest.param(["typedef struct { int a; } T; typedef T *TP;"], "ffi.typeof('TP'), "
                 "ffi.typeof('TP').item.fields[0][0]", id="typedef of pointer"),
    pytest.param(["typedef struct s1 s1_t; struct s1 { s1_t *next; int v; };"],
                 "ffi.sizeof('s1_t'), ffi.typeof('s1_t').fields[0][1].type",
                 id="forward typedef"),
    pytest.param(["union v { struct { int a, b; } s; long l; };"],
                 "ffi.sizeof('union v'), ffi.typeof('union v').fields[0][1].type",
                 id="anonymous struct type inside union"),
    pytest.param(["struct s { union { struct { int a; }; int b; }; int c; };"],
                 "[(n, f.offset) for n, f in ffi.typeof('struct s').fields]",
                 id="deep anonymous"),
    pytest.param(["struct s { _Bool a; __int128 b; };"], "ffi.sizeof('struct s')",
                 id="int128 field"),
    pytest.param(["typedef char T[3][4]; struct s { T t; };"],
                 "ffi.sizeof('struct s'), ffi.typeof('struct s').fields[0][1].type",
                 id="2d array typedef field"),
    pytest.param([("struct s { char a; double b; };", {"packed": True})],
                 "ffi.sizeof('struct s'), ffi.alignof('struct s'), ffi.offsetof('struct s', 'b')",
                 id="packed cdef"),
    pytest.param([("struct s { char a; double b; };", {"pack": 2})],
                 "ffi.sizeof('struct s'), ffi.alignof('struct s'), ffi.offsetof('struct s', 'b')",
                 id="pack=2 cdef"),
    pytest.param([("struct s { char a; double b; };", {"pack": 3})],
                 "ffi.sizeof('struct s')", id="pack=3 cdef"),
    pytest.param(["struct s { const int a; volatile char *b; char * const c; };"],
                 "[(n, f.type) for n, f in ffi.typeof('struct s').fields]",
                 id="qualified fields"),
    pytest.param(["struct s { int x; };"], "ffi.typeof('struct s').cname, "
                 "ffi.list_types()", id="list_types single"),
    pytest.param(["typedef struct s s; struct s { int x; };"], "ffi.list_types(), "
                 "ffi.typeof('s')", id="typedef same name"),
    pytest.param(["typedef enum e { E1 } e_t;"], "ffi.list_types(), ffi.typeof('e_t')",
                 id="list_types enum typedef"),
    pytest.param(["int f(int); extern int g; int h(void);"], "ffi.list_types()",
                 id="list_types ignores functions"),
    pytest.param(["struct opaque;"], "ffi.list_types()", id="list_types opaque struct"),
    pytest.param(["union opaque;"], "ffi.list_types()", id="list_types opaque union"),
]


ALL_CASES = (
    cases(*_integer_cases()) + cases(*_misc_primitive_cases()) + CHAR_CASES + WCHAR_CASES
    + BOOL_CASES + FLOAT_CASES + COMPLEX_CASES + POINTER_CASES + NULL_CASES + ARRAY_CASES
    + INDEX_CASES + ARITH_CASES + COMPARE_CASES + HASH_CASES + CONVERT_CASES + STRUCT_CASES
    + BITFIELD_CASES + FLEX_CASES + ENUM_CASES + TYPEOF_CASES + CTYPE_ATTR_CASES
    + SIZE_CASES + OFFSETOF_CASES + ADDRESSOF_CASES + STRING_CASES + UNPACK_CASES
    + BUFFER_CASES + FROM_BUFFER_CASES + MEMMOVE_CASES + GETCTYPE_CASES + MISC_CASES
    + GC_RELEASE_CASES
)


# ---- known disagreements: id -> reason --------------------------------------------------

KNOWN = {}
# reason -> the phrase under which docs/differences.md lists it (None: not documented yet)
KNOWN_DOCS = {}


def _known(reason, *ids, doc=None):
    KNOWN_DOCS[reason] = doc
    for case_id in ids:
        assert case_id not in KNOWN, case_id
        KNOWN[case_id] = reason


# -- values and cdata operations, kept on purpose (docs/differences.md, "Values, conversions
#    and cdata operations")
_known("slicing a NULL pointer: nffi raises RuntimeError, cffi returns a 'sliced length 2' cdata",
       "ffi.cast('int *', 0)[0:2]", doc="Slicing a NULL pointer")
_known("'long double' cdata comparisons: nffi compares by value, cffi raises NotImplementedError",
       "ffi.cast('long double', 1.5) == 1.5, ffi.cast('long double', 1.5) == "
       "ffi.cast('long double', 1.5)", doc="Comparing `long double` cdata")
_known("a buffer or unpack() past the end of memory nffi allocated: nffi IndexError, cffi "
       "reads past the allocation", "ffi.buffer(ffi.new('int[]', [1, 2]), 100)[:4]",
       doc="Sizes past what nffi allocated")
_known("indexing a pointer to an opaque struct: cffi returns a 'struct opaque_s &' cdata, "
       "nffi TypeError", "ffi.cast('struct opaque_s *', 8)[0]",
       doc="Indexing a pointer to an opaque struct")

# -- type strings: exception classes
_known("unsupported type spelling: nffi CDefError, cffi FFIError ('Unsupported type' / "
       "'unsupported expression')",
       "ffi.typeof('int int')", "ffi.typeof('long long long')", "ffi.typeof('long char')",
       "ffi.typeof('unsigned double')", "ffi.typeof('short long')", "ffi.typeof('__int128')",
       "ffi.sizeof('__int128')", "ffi.typeof('int[2**3]')", "ffi.typeof('int[sizeof(int)]')",
       doc="Invalid type spellings are `CDefError`")
_known("'void' among several parameters: nffi CDefError, cffi TypeError (incomplete type) or, "
       "with '...', accepted", "ffi.typeof('int(*)(void, int)')",
       "ffi.typeof('int(*)(int, void)')", "ffi.typeof('int(*)(void, ...)')",
       doc="`void` among several parameters")

# -- the type parser: accepted by one side only
_known("'int long' / '_Complex double' (specifiers in another order): nffi accepts, cffi FFIError",
       "ffi.typeof('int long')", "ffi.typeof('_Complex double')",
       doc="Type specifiers in any order")

# -- naming
_known("cffi names a struct/enum after the typedef that refers to it ('node_t', 's1_t *'); "
       "nffi keeps the tag name ('struct selfref')",
       "ffi.typeof('node_t')", "ffi.typeof('node_t *')",
       "t = ffi.typeof('node_t *'); r = (t.kind, t.cname, repr(t), str(t))",
       "[(a, getattr(ffi.typeof('node_t *'), a)) for a in sorted(dir(ffi.typeof('node_t *')))]",
       "p = ffi.new('node_t *'); p.next = ffi.new('point_t *')",
       "forward typedef", "typedef same name", "list_types enum typedef",
       doc="A struct keeps its tag name")

# -- cdef
_known("negative bit-field width: nffi CDefError, cffi accepts", "negative width",
       doc="A negative bit-field width")
_known("enum values from expressions (<<, |, ~, char): nffi evaluates, cffi FFIError",
       "enum constant expressions",
       doc="Enum values and array lengths may be constant expressions")
_known("unsupported enum expression: nffi CDefError, cffi FFIError", "bad enum expr",
       doc="Invalid type spellings are `CDefError`")
_known("__int128 in a cdef: nffi CDefError, cffi FFIError", "int128 field",
       doc="Invalid type spellings are `CDefError`")

# id -> (why cffi's answer is not a usable oracle, the exception class nffi must raise)
ORACLE_BUGS = {}
for _id in ["ffi.cast('wchar_t', -1)", "ffi.cast('wchar_t', 0x110000)",
            "ffi.string(ffi.cast('wchar_t', 0x110000))", "ffi.cast('char32_t', -1)",
            "ffi.cast('char32_t', 0x110000)", "ffi.string(ffi.cast('char32_t', 0x110000))",
            "ffi.string(ffi.cast('char32_t', 0x7FFFFFFF))", "ffi.string(ffi.cast('char32_t', -1))"]:
    ORACLE_BUGS[_id] = ("cffi raises SystemError 'invalid maximum character passed to "
                        "PyUnicode_New' for a 32-bit character outside Unicode", "ValueError")
ORACLE_BUGS["d = ffi.new('char[5]'); ffi.memmove(d, b'ab', 4); r = bytes(ffi.buffer(d))"] = (
    "cffi does not check n against the source's length and copies what follows it in "
    "memory", "ValueError")
ORACLE_BUGS["d = ffi.new('char[5]'); ffi.memmove(d, ffi.new('char[2]', b'ab'), 4)"] = (
    "cffi copies 4 bytes out of a 2-byte array, reading past it", "ValueError")
ORACLE_BUGS["ffi.typeof('')"] = ("cffi raises AttributeError from inside its parser",
                                 "CDefError")


_ALL_IDS = set()


def _mark_known(params):
    out = []
    seen = set()
    for p in params:
        if p.id in seen:
            continue
        seen.add(p.id)
        reason = KNOWN.get(p.id)
        if reason is not None:
            p = pytest.param(*p.values, id=p.id, marks=list(p.marks) + [
                pytest.mark.xfail(strict=True, reason=reason)])
        out.append(p)
    _ALL_IDS.update(seen)
    return out


def check_case(pair, cdefs, code, case_id):
    if case_id in ORACLE_BUGS:
        # cffi's answer is itself a bug (some of these read out of bounds, which
        # AddressSanitizer aborts on), so cffi is not run; nffi must give the exception
        reason, expected = ORACLE_BUGS[case_id]
        nffi_out = outcome(pair[0], code, cdefs)
        assert nffi_out[:2] == ("raise", expected), (code, nffi_out, reason)
        return
    nffi_out, cffi_out = (outcome(ffi, code, cdefs) for ffi in pair)
    compare(nffi_out, cffi_out, code, pair[1])


@pytest.mark.parametrize("cdefs, code", _mark_known(ALL_CASES))
def test_same_as_cffi(ffi_pair, request, cdefs, code):
    pair = ffi_pair if cdefs is None else make_pair()
    check_case(pair, cdefs, code, request.node.callspec.id)


@pytest.mark.parametrize("cdefs, code", _mark_known(BITFIELD_CDEF_CASES + CDEF_CASES))
def test_cdef_same_as_cffi(request, cdefs, code):
    check_case(make_pair(), cdefs, code, request.node.callspec.id)


def test_known_lists_name_existing_cases():
    assert not (set(KNOWN) | set(ORACLE_BUGS)) - _ALL_IDS


def test_every_known_disagreement_is_in_the_differences_doc():
    """Issue 5's rule: a disagreement with cffi is fixed or listed in docs/differences.md."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "docs", "differences.md")
    with open(path, encoding="utf-8") as f:
        text = " ".join(f.read().split())
    missing = [reason for reason, doc in KNOWN_DOCS.items()
               if doc is None or " ".join(doc.split()) not in text]
    assert not missing, missing


# ---- NULL dereference, nffi only, each in a subprocess ---------------------------------
# cffi itself segfaults on these (it checks NULL only for indexing), so there is no oracle;
# the rule is the CFFI reference's: an exception, never a crash.

NULL_SAFETY = [
    "r = ffi.cast('point_t *', 0).x",
    "p = ffi.cast('point_t *', 0); p.x = 1",
    "r = ffi.cast('struct nested *', 0).p.x",
    "r = ffi.cast('struct nested *', 0).tail[0]",
    "r = ffi.new('point_t **')[0].y",
    "r = ffi.cast('union u *', 0).i",
    "r = ffi.cast('struct bits *', 0).a",
    "p = ffi.cast('struct bits *', 0); p.b = 1",
    "r = ffi.cast('struct anon *', 0).lo",
    "r = ffi.cast('struct flex *', 0).data[0]",
    "r = list(ffi.cast('int *', 0)[0:2])",
    "ffi.memmove(ffi.NULL, b'ab', 2)",
    "ffi.memmove(ffi.new('char[2]'), ffi.NULL, 2)",
    "b = ffi.buffer(ffi.new('char[]', b'ab')); del b[0]",
    # ffi.buffer() refuses a NULL pointer with a size (cffi accepts it and then crashes)
    "r = ffi.buffer(ffi.cast('char *', 0), 4)[:]",
    "r = ffi.buffer(ffi.cast('char *', 0), 4)[0]",
    "r = bytes(ffi.buffer(ffi.cast('char *', 0), 4))",
    "r = ffi.buffer(ffi.cast('char *', 0), 4)[1:3]",
    "b = ffi.buffer(ffi.cast('char *', 0), 4); b[0:2] = b'ab'",
    "r = memoryview(ffi.buffer(ffi.cast('char *', 0), 4)).tobytes()",
    # out-of-bounds writes through an owning 'T *' and a flexible array member raise
    "p = ffi.new('int *'); p[1] = 7",
    "f = ffi.new('struct flex *', [1, [5]]); f.data[4] = 9",
]

# (out-of-bounds writes through an owning 'T *' or a flexible array member now raise
# IndexError and are checked in NULL_SAFETY above)

_ISOLATED = r"""
import sys
sys.path.insert(0, sys.argv[1])
import nffi
from conftest import CDEF_BASE, CDEF
ffi = nffi.FFI()
ffi.cdef(CDEF_BASE)
ffi.cdef(CDEF)
try:
    exec(sys.argv[2], {"ffi": ffi})
except Exception as e:
    print("raised", type(e).__name__)
else:
    print("returned")
"""


@pytest.mark.parametrize("code", NULL_SAFETY)
def test_null_safety(code):
    import nffi
    env = dict(os.environ)
    src_dir = os.path.dirname(os.path.dirname(os.path.abspath(nffi.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([src_dir, env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", _ISOLATED,
                           os.path.dirname(os.path.abspath(__file__)), code],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, "crashed (%d): %s" % (proc.returncode, proc.stderr[-500:])
    assert proc.stdout.startswith("raised"), proc.stdout
