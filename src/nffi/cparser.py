"""The C declaration parser of nffi: cdef source text and type strings -> nffi.decls nodes.

This module owns the C *syntax* accepted by ``ffi.cdef()`` and by type strings such as
``ffi.new("int[10]")``: tokenizing, the ``#define`` subset of the preprocessor, declaration
specifiers (with the normalisation of primitive type spellings), declarators of full C
generality, struct/union/enum bodies and integer constant expressions.  It knows nothing
about sizes, layouts or libraries; the model (nffi.model) gives meaning to the nodes.

Design notes
------------
* One compiled regular expression tokenizes the whole input in a single pass, then a
  hand-written recursive-descent parser walks the token list.  Every step costs O(1)
  per token: the typedef names and constants of earlier cdefs are only ever probed with
  ``in`` / ``[]``, never iterated, so parsing does not slow down as a program declares
  more types (the quadratic behaviour this module exists to avoid).
* Preprocessor lines are split out by the tokenizer and executed when the parser reaches
  the place where they appeared, so a ``#define`` may use enumerators declared above it
  and may even appear in the middle of a struct body, as it can with cffi.
* Every invalid input raises CDefError with the 1-based line and column of the
  offending token; nesting depth is bounded so hostile input cannot blow the stack.
"""
import codecs
import dataclasses
import functools
import itertools
import os
import re
import struct
import sys
import warnings

from .decls import (Array, ConstantDecl, EnumDef, Field, Function, FunctionDecl, Named,
                    Opaque, Pointer, Primitive, StructDef, Tagged, Typedef, UnknownPrimitive,
                    VariableDecl, Void)
from . import primitives
from .errors import CDefError, CDefNotImplemented

__all__ = ["PRIMITIVE_NAMES", "parse_cdef", "parse_header", "parse_type",
           "parse_type_with_definitions"]


# ---- primitive type spellings -----------------------------------------------------------

# canonical name -> every accepted spelling (the words may come in any order), from the
# one table of primitives
_SPELLINGS = {row.name: row.spellings for row in primitives.PRIMITIVES}

PRIMITIVE_NAMES = frozenset(_SPELLINGS)


def _spelling_key(words):
    """Type specifier words in any order -> the key of the spelling tables."""
    return tuple(sorted(words))


def _build_spelling_tables():
    """Return (complete, prefixes): complete maps the sorted words of a full spelling to
    its type node; prefixes holds every sub-multiset of a valid spelling, so a bad word
    can be reported at the moment it is read."""
    complete = {("void",): Void()}
    for canonical, spellings in _SPELLINGS.items():
        node = Primitive(canonical)
        for spelling in spellings:
            complete[_spelling_key(spelling.split())] = node
    prefixes = set()
    for key in complete:
        for size in range(1, len(key) + 1):
            prefixes.update(itertools.combinations(key, size))
    return complete, frozenset(prefixes)


_COMPLETE_SPELLINGS, _SPELLING_PREFIXES = _build_spelling_tables()
_TYPE_WORDS = frozenset(word for key in _COMPLETE_SPELLINGS for word in key)


# ---- keywords ---------------------------------------------------------------------------

_CONST_QUALIFIERS = frozenset(["const", "__const", "__const__"])
_QUALIFIERS = _CONST_QUALIFIERS | frozenset(
    ["volatile", "__volatile", "__volatile__", "restrict", "__restrict", "__restrict__"])
_STORAGE_CLASSES = frozenset(["typedef", "extern", "static", "inline", "__inline",
                              "__inline__", "_Noreturn"])
_TAG_KINDS = frozenset(["struct", "union", "enum"])
_CALLING_CONVENTIONS = {"__cdecl": "__cdecl", "__stdcall": "__stdcall",
                        "WINAPI": "__stdcall"}
_ATTRIBUTE_WORDS = frozenset(["__attribute__", "__attribute", "__declspec"])
_IGNORED_WORDS = frozenset(["__extension__"])
# attributes that change sizes or alignments: ignoring them would give wrong layouts
_LAYOUT_ATTRIBUTES = frozenset(
    name for word in ["packed", "aligned", "align", "vector_size", "mode", "ms_struct",
                      "gcc_struct", "scalar_storage_order", "transparent_union"]
    for name in (word, "__%s__" % word))
# The GNU C of real headers (cdef_header, gnu=True): floating types that are other names
# of standard ones, types nffi cannot represent, and how __attribute__((mode(M))) sizes
# an integer type.
_GNU_TYPE_ALIASES = {"_Float32": "float", "_Float64": "double", "_Float32x": "double",
                     "_Float64x": "long double"}
_GNU_KEYWORD_SPELLINGS = {"__signed__": "signed", "__signed": "signed",
                          "__complex__": "_Complex", "__complex": "_Complex"}
_GNU_UNSUPPORTED_TYPES = frozenset(["__int128", "__int128_t", "__uint128_t", "_Float128",
                                    "__float128", "_Float16", "__fp16", "__bf16",
                                    "__ibm128", "__float80", "_Decimal32", "_Decimal64",
                                    "_Decimal128", "__builtin_va_list", "_Atomic",
                                    "__auto_type"])
_GNU_TYPEOF = frozenset(["__typeof__", "__typeof", "typeof"])
_GNU_THREAD_LOCAL = frozenset(["__thread", "_Thread_local", "thread_local"])
_GNU_IGNORED_STORAGE = frozenset(["register", "auto"])
_GNU_MODE_BYTES = {"QI": 1, "HI": 2, "SI": 4, "DI": 8, "word": 8, "pointer": 8,
                   "byte": 1}
_GNU_ASM_WORDS = frozenset(["__asm__", "__asm", "asm"])
_GNU_STATIC_ASSERT = frozenset(["_Static_assert", "static_assert"])
_GNU_SIZE_WORDS = {"sizeof": 0, "__alignof__": 1, "__alignof": 1, "_Alignof": 1,
                   "alignof": 1}
_BIGGEST_ALIGNMENT = 16         # gcc's __attribute__((aligned)) without a value (x86-64)

_OTHER_C_KEYWORDS = frozenset(
    ["auto", "break", "case", "continue", "default", "do", "else", "for", "goto", "if",
     "register", "return", "sizeof", "switch", "while", "_Alignas", "_Alignof",
     "_Atomic", "_Generic", "_Imaginary", "_Static_assert", "_Thread_local", "__int128",
     "typeof", "__typeof__", "__asm__", "asm"])
# Words that can never be a declared name, a tag or a constant.
_KEYWORDS = (_TYPE_WORDS | _QUALIFIERS | _STORAGE_CLASSES | _TAG_KINDS
             | frozenset(_CALLING_CONVENTIONS) | _ATTRIBUTE_WORDS | _IGNORED_WORDS
             | _OTHER_C_KEYWORDS)
_C_TYPE_KEYWORDS = frozenset(["void", "char", "short", "int", "long", "signed", "unsigned",
                              "float", "double", "_Bool", "_Complex"])
# Primitive type names that are no C keywords ('bool', 'wchar_t', 'size_t', 'int64_t'...)
# behave like predeclared typedef names: a cdef may typedef them ('typedef int bool;', as
# cffi allows), after which they name that typedef (Named), and like any typedef name they
# can be declared as names ('typedef unsigned long size_t;').  They stay in _KEYWORDS,
# so they are still no tags, enumerators, macros or constants.
_PREDEFINED_TYPE_NAMES = _TYPE_WORDS - _C_TYPE_KEYWORDS
assert all((name,) in _COMPLETE_SPELLINGS for name in _PREDEFINED_TYPE_NAMES)


# ---- tokenizer --------------------------------------------------------------------------

_NAME, _PUNCT, _INT, _NUMBER, _CHAR, _STRING = (
    "name", "punct", "int", "number", "char", "string")
_EOL = "eol"      # ends a preprocessor directive
_EOF = "eof"

# Every character of the input is covered by exactly one match (the final '.' catches
# anything else), so findall() gives the pieces in order and their offsets are the
# running sum of their lengths: much faster than finditer() and Match objects.
# An unterminated comment or literal swallows the rest of the input or line as one
# piece (reported later): retrying at each '/*' or quote would be quadratic.
_PIECE_RE = re.compile(r"""
    [ \t\r\f\v]+ | \n
  | [A-Za-z_][A-Za-z0-9_]*
  | \.\.\.
  | \.?[0-9](?:[eEpP][+-]|[.0-9A-Za-z_])*      # a C "preprocessing number"
  | /\*(?:.*?\*/|.*) | //(?:[^\n\\]|\\.)*              # '\'-newline continues a // comment
  | '(?:[^'\\\n]|\\[^\n])*' | "(?:[^"\\\n]|\\[^\n])*" | ['"][^\n]*
  | \\\r?\n                                      # line continuation
  | << | >> | <= | >= | == | != | && | \|\| | -> | \+\+ | --
  | .
""", re.VERBOSE | re.DOTALL)
_CLOSED_LITERAL_RE = re.compile(r"'(?:[^'\\\n]|\\[^\n])*'" r'|"(?:[^"\\\n]|\\[^\n])*"')

_INT_LITERAL_RE = re.compile(
    r"(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[1-9][0-9]*|0[0-7]*)"
    r"(?:[uU](?:ll|LL|[lL])?|(?:ll|LL|[lL])[uU]?)?")


def _piece_kinds_by_first_character():
    kinds = dict.fromkeys("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_", _NAME)
    kinds.update(dict.fromkeys("0123456789", _NUMBER))
    kinds.update(dict.fromkeys("-+*%&|^~!<>?:;,()[]{}=#", _PUNCT))
    kinds.update(dict.fromkeys(" \t\r\f\v", "space"))
    kinds.update({"\n": "newline", "'": _CHAR, '"': _STRING, "/": "slash", ".": "dot",
                  "\\": "backslash"})
    return kinds


_PIECE_KINDS = _piece_kinds_by_first_character()


class _Token:
    __slots__ = ("kind", "text", "line", "column")

    def __init__(self, kind, text, line, column):
        self.kind = kind
        self.text = text
        self.line = line
        self.column = column

    def __repr__(self):
        return "<%s %r at %d:%d>" % (self.kind, self.text, self.line, self.column)


def _error(message, token, before=None, cffi_form=None):
    """A CDefError at token.  before: the token where cffi's parser reports a syntax
    error (see CDefError.cffi_text); cffi_form: cffi's exact text when it differs."""
    if before is not None:
        before = (before.text or "end of input", before.line, before.column)
    return CDefError(message, token.line, token.column, token.text or None, before,
                     cffi_form)


def _classify_piece(kind, text):
    """The token kind of a piece whose first character is ambiguous, or None for a
    comment or line continuation; raises for text that is no C token."""
    if kind == "slash":
        if text == "/":
            return _PUNCT
        if text.startswith("/*") and (len(text) < 4 or not text.endswith("*/")):
            raise ValueError("unterminated comment")
        return None
    if kind == "dot":
        return _NUMBER if text[1:2].isdigit() else _PUNCT
    if kind == "backslash":
        if len(text) > 1:
            return None
        raise ValueError("unexpected character")
    if kind == _CHAR or kind == _STRING:
        if not _CLOSED_LITERAL_RE.fullmatch(text):
            raise ValueError("unterminated character or string constant")
        return kind
    raise ValueError("unexpected character")


def _tokenize(source):
    """Split source into (tokens, directives).  tokens ends with an EOF token; each
    directive is (index, directive_tokens): the tokens of one preprocessor line, from
    its '#' to a closing EOL token, which appeared just before tokens[index]."""
    tokens = []
    directives = []
    directive = None            # the token list of the directive being read, if any
    line = 1
    line_start = 0              # offset of the first character of the current line
    offset = 0                  # offset of the current piece
    at_line_start = True        # no token yet on this logical line: '#' starts a directive
    for text in _PIECE_RE.findall(source):
        kind = _PIECE_KINDS.get(text[0])
        if kind == "space":
            offset += len(text)
            continue
        if kind == "newline":
            if directive is not None:
                directive.append(_Token(_EOL, "", line, offset - line_start + 1))
                directive = None
            offset += 1
            line += 1
            line_start = offset
            at_line_start = True
            continue
        if kind != _NAME and kind != _PUNCT and kind != _NUMBER:
            try:
                kind = _classify_piece(kind, text)
            except ValueError as error:
                opening = text[:2] if text.startswith("/*") else text[:1]
                raise _error(str(error), _Token(kind, opening, line, offset - line_start + 1))
            if kind is None:
                # A comment or a backslash-newline does not end a logical line; only
                # keep the physical line count right.
                newlines = text.count("\n")
                if newlines:
                    line += newlines
                    line_start = offset + text.rindex("\n") + 1
                offset += len(text)
                continue
        token = _Token(kind, text, line, offset - line_start + 1)
        offset += len(text)
        if kind == _NUMBER and _INT_LITERAL_RE.fullmatch(text):
            token.kind = _INT
        if directive is not None:
            directive.append(token)
        elif at_line_start and text == "#":
            directive = [token]
            directives.append((len(tokens), directive))
        else:
            tokens.append(token)
        at_line_start = False
    end_column = len(source) - line_start + 1
    if directive is not None:
        directive.append(_Token(_EOL, "", line, end_column))
    tokens.append(_Token(_EOF, "", line, end_column))
    return tokens, directives


# ---- literal values and C arithmetic ----------------------------------------------------

_MAX_LITERAL_DIGITS = 100       # far beyond 128 bits; keeps int() away from its limits
_MAX_VALUE_BITS = 1024          # results beyond this are certainly a mistake (or an attack)
_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "a": 7, "b": 8, "f": 12, "v": 11,
                   "\\": 92, "'": 39, '"': 34, "?": 63}
_ESCAPE_RE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]+)|(.))", re.DOTALL)


def _int_literal_value(token):
    digits = token.text.rstrip("uUlL")
    if len(digits) > _MAX_LITERAL_DIGITS:
        raise _error("integer constant is too large", token)
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "01234567":
        return int(digits, 8)
    return int(digits, 0)


def _char_literal_value(token):
    """The value of a character constant, as an unsigned byte ('\\xff' is 255)."""
    body = token.text[1:-1]
    if not body:
        raise _error("empty character constant", token)
    if body[0] != "\\":
        if len(body) != 1:
            raise _error("multi-character constants are not supported", token)
        value = ord(body)
    else:
        value = _escape_value(body, token)
    if value > 0xFF:
        raise _error("character constant out of range", token)
    return value


def _escape_value(body, token):
    match = _ESCAPE_RE.fullmatch(body)
    if match is None:
        raise _error("multi-character constants are not supported", token)
    octal, hexadecimal, simple = match.groups()
    if octal is not None:
        return int(octal, 8)
    if hexadecimal is not None:
        if len(hexadecimal.lstrip("0")) > 2:
            raise _error("character constant out of range", token)
        return int(hexadecimal, 16)
    if simple in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[simple]
    raise _error("unknown escape sequence '\\%s'" % simple, token)


def _number_error_message(text):
    """Why a number token is not an integer literal."""
    is_hexadecimal = text[:2] in ("0x", "0X")
    if "." in text or (is_hexadecimal and re.search("[pP]", text)) or (
            not is_hexadecimal and re.search("[eE]", text)):
        return "only integer constants are supported, not floating-point ones"
    return "invalid integer constant"


def _may_be_floating(declared_type):
    """Can a constant of this declared type have a floating-point value?  (A typedef
    name may stand for a floating type: the parser does not know.)"""
    return isinstance(declared_type, Named) or (
        isinstance(declared_type, Primitive) and primitives.is_floating(declared_type.name))


def _c_divide(left, right):
    """C integer division truncates toward zero (Python's // floors)."""
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _c_remainder(left, right):
    return left - right * _c_divide(left, right)


_BINARY_PRECEDENCE = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
                      "<": 7, ">": 7, "<=": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9,
                      "*": 10, "/": 10, "%": 10}

_SIMPLE_BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b), ">": lambda a, b: int(a > b),
    "<=": lambda a, b: int(a <= b), ">=": lambda a, b: int(a >= b),
}

_UNARY = {"-": lambda a: -a, "+": lambda a: a, "~": lambda a: ~a,
          "!": lambda a: int(not a)}


# ---- C's integer types in the constant expressions of real headers ----------------------
# In headers (gnu=True) an expression is evaluated as C does: each value has an integer
# type (the type of a literal follows from its value, base and suffix), operands go
# through the usual arithmetic conversions and results wrap to their type's width
# ('-1U' is UINT_MAX, '(1 ? -1 : 0U) > 0'; signed overflow wraps, as gcc folds it).
# A value is an instance of a _CInt subclass, one per type; a plain int (an
# enumerator, a constant of an earlier cdef) has the first of int, long, unsigned
# long, unsigned long long that holds it.  cffi's cdef dialect keeps plain integers.

class _CInt(int):
    """An integer with its C type (the class); pickled and shown as a plain int."""
    __slots__ = ()
    rank = 0            # conversion rank: 1 int, 2 long, 3 long long
    unsigned = False
    bits = 0

    def __reduce__(self):
        return int, (int(self),)

    def __repr__(self):
        return repr(int(self))


def _c_int_type(name, rank, unsigned, code):
    return type("_CInt_" + name.replace(" ", "_"), (_CInt,),
                {"__slots__": (), "rank": rank, "unsigned": unsigned, "c_name": name,
                 "bits": 8 * struct.calcsize(code)})


_C_INT = _c_int_type("int", 1, False, "i")
_C_UINT = _c_int_type("unsigned int", 1, True, "I")
_C_LONG = _c_int_type("long", 2, False, "l")
_C_ULONG = _c_int_type("unsigned long", 2, True, "L")
_C_LLONG = _c_int_type("long long", 3, False, "q")
_C_ULLONG = _c_int_type("unsigned long long", 3, True, "Q")
_C_INT_TYPES = (_C_INT, _C_UINT, _C_LONG, _C_ULONG, _C_LLONG, _C_ULLONG)
_C_SIZE_T = _C_ULONG if struct.calcsize("N") == struct.calcsize("L") else _C_ULLONG

# the candidate types of an integer literal, by (decimal?, suffix): C11 6.4.4.1
_LITERAL_TYPES = {
    (True, ""): (_C_INT, _C_LONG, _C_LLONG),
    (False, ""): (_C_INT, _C_UINT, _C_LONG, _C_ULONG, _C_LLONG, _C_ULLONG),
    (True, "u"): (_C_UINT, _C_ULONG, _C_ULLONG),
    (True, "l"): (_C_LONG, _C_LLONG),
    (False, "l"): (_C_LONG, _C_ULONG, _C_LLONG, _C_ULLONG),
    (True, "ul"): (_C_ULONG, _C_ULLONG),
    (True, "ll"): (_C_LLONG,),
    (False, "ll"): (_C_LLONG, _C_ULLONG),
    (True, "ull"): (_C_ULLONG,),
}


def _fits(value, ctype):
    if ctype.unsigned:
        return 0 <= value < 1 << ctype.bits
    return -(1 << (ctype.bits - 1)) <= value < 1 << (ctype.bits - 1)


def _typed_literal(token, value):
    """An integer literal's value with its C type."""
    suffix = token.text[len(token.text.rstrip("uUlL")):].lower()
    suffix = ("u" if "u" in suffix else "") + "l" * suffix.count("l")
    decimal = not (len(token.text) > 1 and token.text[0] == "0")
    candidates = _LITERAL_TYPES.get((decimal, suffix)) or _LITERAL_TYPES[(True, suffix)]
    for ctype in candidates:
        if _fits(value, ctype):
            return ctype(value)
    if _fits(value, _C_ULLONG):         # gcc: 'so large that it is unsigned'
        return _C_ULLONG(value)
    raise _error("integer constant is too large for its type", token)


def _c_type(value):
    kind = type(value)
    if kind is not int and issubclass(kind, _CInt):
        return kind
    for ctype in (_C_INT, _C_LONG, _C_ULONG, _C_ULLONG):
        if _fits(value, ctype):
            return ctype
    return _C_LLONG if value < 0 else _C_ULLONG      # (wrapped by _c_value)


def _wrapped(value, bits, unsigned):
    """value modulo 2**bits, as two's complement if signed."""
    value &= (1 << bits) - 1
    if not unsigned and value >> (bits - 1):
        value -= 1 << bits
    return value


def _c_value(value, ctype):
    """value converted to ctype."""
    return ctype(_wrapped(value, ctype.bits, ctype.unsigned))


def _common_type(a, b):
    """The usual arithmetic conversions of two integer types (already promoted)."""
    if a is b:
        return a
    if a.unsigned == b.unsigned:
        return a if a.rank >= b.rank else b
    unsigned, signed = (a, b) if a.unsigned else (b, a)
    if unsigned.rank >= signed.rank:
        return unsigned
    if signed.bits > unsigned.bits:
        return signed
    return next(t for t in _C_INT_TYPES if t.rank == signed.rank and t.unsigned)


def _c_type_of_size(size, unsigned):
    """The type a cast to an integer type of this size gives (promoted: smaller than
    int gives int)."""
    if 8 * size < _C_INT.bits:
        return _C_INT
    return next((t for t in _C_INT_TYPES if t.bits == 8 * size and t.unsigned == unsigned),
                _C_ULLONG if unsigned else _C_LLONG)


def _c_unary(operator, value):
    if operator == "!":
        return _C_INT(not value)
    ctype = _c_type(value)
    return _c_value(_UNARY[operator](value), ctype)


def _c_binary(text, left, right, evaluating, token):
    """left OPERATOR right with C's types; when not evaluating, 0 of the result type
    (the type still matters to a '?:' around it)."""
    if text in ("<<", ">>"):
        ctype = _c_type(left)
        if not evaluating:
            return ctype(0)
        if not 0 <= right < ctype.bits:
            raise _error("shift count %d is out of range for %s" % (right, ctype.c_name),
                         token)
        left = _c_value(left, ctype)
        return _c_value(left << right if text == "<<" else left >> right, ctype)
    ctype = _common_type(_c_type(left), _c_type(right))
    result_type = _C_INT if text in _COMPARISONS else ctype
    if not evaluating:
        return result_type(0)
    left, right = int(_c_value(left, ctype)), int(_c_value(right, ctype))
    if text in _SIMPLE_BINARY:
        value = _SIMPLE_BINARY[text](left, right)
    else:
        if right == 0:
            raise _error("division by zero in a constant expression", token)
        value = _c_divide(left, right) if text == "/" else _c_remainder(left, right)
    return _c_value(value, result_type)


_COMPARISONS = frozenset(["==", "!=", "<", ">", "<=", ">="])


# ---- declarator building blocks ---------------------------------------------------------

class _PointerOp:
    """'*' in a declarator, with the qualifiers written after it."""
    __slots__ = ("const",)
    args_depth = 0

    def __init__(self):
        self.const = False

    def apply(self, item):
        return Pointer(item, self.const)


class _ArrayOp:
    __slots__ = ("length", "token", "check_item_size")
    args_depth = 0

    def __init__(self, length, token, check_item_size=True):
        self.length = length
        self.token = token
        # in a type string, items of unknown size are left to the model, which raises
        # cffi's ValueError ('array item of unknown size') with the C type's name
        self.check_item_size = check_item_size

    def apply(self, item):
        if isinstance(item, Function):
            raise _error("array of functions is not allowed", self.token)
        if self.check_item_size:
            if isinstance(item, Void):
                raise _error("array of void is not allowed", self.token)
            if isinstance(item, Array) and item.length is None:
                raise _error("array of arrays of unknown length is not allowed", self.token)
        if self.length == "...":
            return Array(item, self.length, self.token.line, self.token.column)
        return Array(item, self.length)


class _FunctionOp:
    __slots__ = ("args", "ellipsis", "abi", "token", "args_depth", "check_result")

    def __init__(self, args, ellipsis, token, args_depth=0):
        self.args = args
        self.ellipsis = ellipsis
        self.abi = None
        self.token = token
        self.args_depth = args_depth    # the depth of the deepest parameter type
        # in a type string, an array result is left to the model, which raises cffi's
        # TypeError ('invalid result type') with the C type's name
        self.check_result = True

    def apply(self, result):
        if isinstance(result, Array) and self.check_result:
            raise _error("a function cannot return an array", self.token)
        if isinstance(result, Function):
            raise _error("a function cannot return a function", self.token)
        return Function(self.args, result, self.ellipsis, self.abi)


class _Declarator:
    """A parsed declarator: its name (None if abstract) and the type constructors to
    apply, innermost (closest to the base type) first."""
    __slots__ = ("start", "name_token", "ops", "unclaimed_abi", "depth", "attrs", "asm")

    def __init__(self, start, name_token, ops, unclaimed_abi, attrs=None, asm=None):
        self.start = start
        self.name_token = name_token
        self.ops = ops
        self.unclaimed_abi = unclaimed_abi
        self.depth = 1              # of the type built by type_for()
        self.attrs = attrs          # GNU C: __attribute__s after the declarator
        self.asm = asm              # GNU C: the symbol of '__asm__("symbol")'

    def type_for(self, base):
        """Build the declared type.  Its depth is bounded: type nodes are compared and
        hashed recursively, so a 10000-deep 'int ****...' must not get through."""
        result = base
        depth = 1
        for op in self.ops:
            result = op.apply(result)
            depth = max(depth, op.args_depth) + 1
        if depth > _MAX_TYPE_DEPTH:
            raise _error("type is nested too deeply", self.name_token or self.start)
        self.depth = depth
        return result

    def declares_const_object(self, specifiers):
        """Is the declared object itself const ('const int x', 'int *const p')?"""
        if not self.ops:
            return specifiers.const
        outermost = self.ops[-1]
        return isinstance(outermost, _PointerOp) and outermost.const


# Declarator modes: must it name something?  (Type strings may name too, as in cffi.)
_NAMED, _EITHER = "named", "either"

# Where declaration specifiers are read: decides storage classes and anonymous tags.
_TOP_LEVEL, _FIELD, _PARAMETER, _TYPE_NAME = "top level", "field", "parameter", "type"


class _Specifiers:
    """The declaration specifiers before the declarators: 'static const unsigned int'.
    The class attributes are the defaults (cheaper than setting them all each time)."""
    base = None                 # the type node, once known
    storage = ()                # storage classes seen ("typedef", "static", ...)
    const = False
    abi = None
    tag_kind = None             # "struct"/"union"/"enum" when the type is tagged
    tag_token = None            # the tag name, or the keyword if anonymous
    tag_is_anonymous = False
    tag_defined = False         # a '{ body }' was given
    anonymous_slot = None       # index in the output of a not yet named definition
    unknown = None              # 'typedef ... T' / 'typedef int... T': "opaque",
                                # "integer" or "float" (see _unknown_type_marker)
    attrs = None                # GNU C: the __attribute__s read (see _gnu_attributes)

    def __init__(self, start):
        self.start = start      # first token, for error positions
        self.words = []         # primitive type words as written

    def has_type(self):
        return self.base is not None or bool(self.words) or self.tag_kind is not None


# the spellings of 'extern "..."' that cffi accepts (spaces removed) -> the kind
_EXTERN_PYTHON_KINDS = {"Python": "Python", "Python+C": "Python+C", "C+Python": "Python+C"}
_ARRAY_PARAMETER_WORDS = _QUALIFIERS | {"static"}
# the words cffi accepts before '...' in 'typedef int... T;' (an integer of unknown size)
_INTEGER_DOTDOTDOT_WORDS = frozenset(["int", "long", "short", "signed", "unsigned", "char"])
_EMPTY_DECLARATOR_FOLLOWERS = frozenset([")", ",", ""])     # "": end of input
_MAX_NESTING = 64                            # parentheses, declarators, struct bodies
_MAX_TYPE_DEPTH = 64                         # pointers, arrays, functions in one type
_anonymous_tag_numbers = itertools.count(1)  # process-wide, as the tags must be unique
_NO_CONSTANTS = {}


# ---- the parser -------------------------------------------------------------------------

# Type strings are short and repeated ("int *" in a loop): remember their tokens.  The
# parser never mutates tokens, so sharing them is safe; failures are not cached.
_tokenize_type_string = functools.lru_cache(maxsize=1024)(_tokenize)


class _Parser:
    def __init__(self, source, typedef_names, constants, allow_definitions,
                 type_string=False, packed=False, pack=None, gnu=False, size_align=None):
        tokenize = _tokenize_type_string if type_string else _tokenize
        self.gnu = gnu              # the GNU C of preprocessed real headers (see _Gnu)
        if gnu:
            self.g = _Gnu(size_align)
        self.packed = packed        # copied onto every struct/union definition
        self.pack = pack
        self.tokens, self.directives = tokenize(source)
        self.type_string = type_string
        self.pos = 0
        self.typedef_names = typedef_names
        self.constants = constants
        self.allow_definitions = allow_definitions
        self.local_typedefs = set()
        self.local_constants = {}
        self.declarations = []
        self.extern_python = None   # 'extern "Python"' in force: "Python" / "Python+C"
        self.function_name = None   # of the declarator whose parameters are being read
        self.parameter_number = 0   # of the parameter being read (1-based), for errors
        self.line_marks = []        # (line, file, its line): '# 42 "file"', '#line 42'
        self.mentioned_enums = set()    # 'enum e' named without its values here
        self.nesting = 0
        self.evaluating = True      # False inside the unevaluated operand of && || ?:
        self.next_directive = 0
        self.next_directive_at = self.directives[0][0] if self.directives else -1

    # -- token access

    def _advance(self):
        token = self.tokens[self.pos]
        if token.text:              # never step past the final EOF or EOL token
            self.pos += 1
            if self.pos == self.next_directive_at:
                self._run_directives()
        return token

    def _accept(self, text):
        """Consume the next token if it is the punctuator text."""
        token = self.tokens[self.pos]
        if token.text == text and token.kind == _PUNCT:
            self._advance()
            return True
        return False

    def _expect(self, text):
        token = self.tokens[self.pos]
        if token.text != text or token.kind != _PUNCT:
            raise self._unexpected(token, "expected '%s'" % text)
        return self._advance()

    def _unexpected(self, token, expectation):
        """A syntax error at token (cffi: 'cannot parse ... before: token')."""
        if token.kind == _EOF:
            return _error("unexpected end of input, %s" % expectation, token, token)
        if token.kind == _EOL:
            return _error("unexpected end of line, %s" % expectation, token, token)
        return _error("%s, got '%s'" % (expectation, token.text), token, token)

    def _expect_name(self, what):
        token = self.tokens[self.pos]
        if token.kind != _NAME:
            raise self._unexpected(token, "expected %s" % what)
        if token.text in _KEYWORDS:
            raise _error("expected %s, got the keyword '%s'" % (what, token.text), token)
        return self._advance()

    def _enter_nesting(self, token):
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            raise _error("declaration is nested too deeply", token)

    def _leave_nesting(self):
        self.nesting -= 1

    def _is_typedef_name(self, name):
        return name in self.local_typedefs or name in self.typedef_names

    def _skip_attributes(self):
        """Skip any number of '__attribute__((...))' / '__declspec(...)'; those that
        would change a layout ('packed', 'aligned', ...) are refused, not ignored.
        In GNU C mode they are read instead: returns the dict of _gnu_attributes
        (None when there were none)."""
        attrs = None
        while self.tokens[self.pos].text in _ATTRIBUTE_WORDS:
            if self.gnu:
                attrs = self._gnu_attributes(attrs)
                continue
            self._advance()
            self._skip_balanced_parentheses(check_layout=True)
        return attrs

    def _gnu_attributes(self, attrs):
        """Read one '__attribute__((a, b(x), ...))' into attrs: "packed" (True),
        "aligned" (N), "mode" (M), "unsupported" (the token of an attribute whose
        effect nffi cannot represent: vector_size, ...).  The rest (nonnull, format,
        deprecated, ...) does not change layouts or calls and is ignored."""
        attrs = {} if attrs is None else attrs
        word = self._advance()
        if word.text == "__declspec":
            self._skip_balanced_parentheses()
            return attrs
        self._expect("(")
        self._expect("(")
        while not self._accept(")"):
            if self._accept(","):
                continue
            token = self._expect_attribute_name()
            name = token.text.strip("_")
            has_arguments = self.tokens[self.pos].text == "("
            if name == "aligned":
                value = _BIGGEST_ALIGNMENT
                if has_arguments:
                    self._advance()
                    value = self._constant_expression()
                    self._expect(")")
                if value <= 0 or value & (value - 1):
                    raise _error("aligned(%d) is not a power of two" % value, token)
                attrs["aligned"] = max(attrs.get("aligned", 1), value)
            elif name in ("packed", "transparent_union"):
                attrs[name] = True
            elif name == "mode" and has_arguments:
                self._advance()
                attrs["mode"] = (self._expect_attribute_name().text.strip("_"), token)
                self._expect(")")
            elif name in ("vector_size", "ms_struct", "scalar_storage_order"):
                attrs["unsupported"] = token
                if has_arguments:
                    self._skip_balanced_parentheses()
            elif has_arguments:
                self._skip_balanced_parentheses()
        self._expect(")")
        return attrs

    def _expect_attribute_name(self):
        token = self.tokens[self.pos]
        if token.kind != _NAME:
            raise self._unexpected(token, "expected an attribute name")
        return self._advance()

    def _skip_balanced_parentheses(self, check_layout=False):
        self._expect("(")
        depth = 1
        while depth:
            token = self._advance()
            if not token.text:
                raise self._unexpected(token, "expected ')'")
            if token.kind == _PUNCT:
                depth += (token.text == "(") - (token.text == ")")
            elif check_layout and token.kind == _NAME and token.text in _LAYOUT_ATTRIBUTES:
                raise _error("__attribute__ '%s' changes the layout and is not supported "
                             "(cdef(..., packed=True) or pack=N give packed structs)"
                             % token.text, token)

    # -- entry points

    def parse_declarations(self):
        if self.next_directive_at == 0:
            self._run_directives()
        while True:
            token = self.tokens[self.pos]
            if token.kind == _EOF:
                return self.declarations
            if self._accept(";"):           # stray semicolons are harmless
                continue
            if self.gnu:
                self._gnu_declaration()
            else:
                self._declaration()

    def parse_type_name(self):
        if self.directives:
            raise _error("preprocessor directives are not allowed in a type",
                         self.directives[0][1][0])
        specifiers = self._specifiers(_TYPE_NAME)
        # A type string is read as one parameter declaration, as cffi reads it: it
        # may name what it declares ("int x", "int (*callback)(bool)"); the name is
        # dropped.
        declarator = self._declarator(_EITHER, specifiers.abi)
        token = self.tokens[self.pos]
        if token.kind != _EOF:
            raise self._unexpected(token, "expected the end of the type")
        return declarator.type_for(specifiers.base)

    # -- preprocessor

    def _run_directives(self):
        """Execute the directives that appeared before the current token.  They are
        parsed from their own token list, so the main position is saved around them."""
        saved = self.tokens, self.pos, self.evaluating
        while self.next_directive < len(self.directives):
            index, directive_tokens = self.directives[self.next_directive]
            if index > saved[1]:
                break
            self.next_directive += 1
            self.next_directive_at = -1     # no nested triggering while inside one
            self.tokens, self.pos, self.evaluating = directive_tokens, 0, True
            self._directive()
        self.tokens, self.pos, self.evaluating = saved
        if self.next_directive < len(self.directives):
            self.next_directive_at = self.directives[self.next_directive][0]

    def _directive(self):
        self._advance()                     # '#'
        token = self._advance()
        if token.kind == _EOL:
            return                          # the null directive '#' alone on a line
        if self.gnu:
            self._gnu_directive(token)
            return
        if token.kind == _INT or token.text == "line":
            self._line_marker(token)
            return
        if token.text == "pragma":
            warnings.warn("#pragma in cdef() are entirely ignored. They should be removed "
                          "for now, otherwise your code might behave differently in a "
                          "future version of CFFI if #pragma support gets added. Note that "
                          "'#pragma pack' needs to be replaced with the 'packed' keyword "
                          "argument to cdef().", stacklevel=_warning_stacklevel())
            return
        if token.kind != _NAME:
            raise _error("invalid preprocessor directive", token)
        if token.text != "define":
            raise _error("unsupported preprocessor directive '#%s' (only #define, #pragma "
                         "and line markers are supported)" % token.text, token)
        self._define()

    def _line_marker(self, token):
        """'# 42 "file"' (GCC's line markers) or '#line 42 "file"': the next line is
        line 42 of file, for the positions of errors."""
        number = self._advance() if token.text == "line" else token
        if number.kind != _INT:
            raise self._unexpected(number, "expected a line number")
        filename = self.tokens[self.pos]
        if filename.kind == _STRING:
            name = _string_literal_bytes(self._advance()).decode("utf-8", "replace")
        elif self.line_marks:
            name = self.line_marks[-1][1]
        else:
            name = "<cdef source string>"
        while self.tokens[self.pos].kind == _INT:
            self._advance()         # GCC's flags after the file name
        end = self.tokens[self.pos]
        if end.kind != _EOL:
            raise self._unexpected(end, "expected the end of the line marker")
        self.line_marks.append((token.line + 1, name, _int_literal_value(number)))

    def _define(self):
        name_token = self._expect_name("a macro name after #define")
        after_name = self.tokens[self.pos]
        if (after_name.text == "(" and after_name.line == name_token.line
                and after_name.column == name_token.column + len(name_token.text)):
            raise _error("function-like macros are not supported", after_name)
        try:
            if after_name.kind == _EOL:
                raise _error("#define %s needs a value: an integer constant expression "
                             "or '...'" % name_token.text, after_name)
            if after_name.text == "..." and self.tokens[self.pos + 1].kind == _EOL:
                self._advance()
                value = None
            else:
                value = self._constant_expression()
            end = self.tokens[self.pos]
            if end.kind != _EOL:
                raise self._unexpected(end, "#define %s: expected the end of an integer "
                                            "constant expression" % name_token.text)
        except CDefError as error:
            raise self._define_error(error, name_token, after_name) from None
        self.local_constants[name_token.text] = value
        self.declarations.append(ConstantDecl(name_token.text, value, None,
                                              name_token.line, name_token.column))

    def _define_error(self, error, name_token, after_name):
        """A '#define' whose value is not a constant: cffi's explanation first, then
        why (the position stays the offending token's)."""
        tokens = self.tokens[self.tokens.index(after_name):]
        value = " ".join(t.text for t in itertools.takewhile(lambda t: t.kind != _EOL,
                                                             tokens))
        name = name_token.text
        explanation = ("only supports one of the following syntax:\n"
                       "  #define %s ...     (literally dot-dot-dot)\n"
                       "  #define %s NUMBER  (with NUMBER an integer constant, "
                       "decimal/hex/octal)\n"
                       "got:\n"
                       "  #define %s %s" % (name, name, name, value))
        return CDefError("%s\n(%s)" % (explanation, error.message), error.line,
                         error.column, error.text, cffi_form=explanation)

    # -- declarations

    def _declaration(self):
        if self.gnu and self.tokens[self.pos].text in _GNU_STATIC_ASSERT:
            self._gnu_static_assert()
            return
        if self.tokens[self.pos].text == "extern" and \
                self.tokens[self.pos + 1].kind == _STRING:
            self._extern_python_declarations()
            return
        self._simple_declaration()

    def _extern_python_declarations(self):
        """'extern "Python" int f(int);' or 'extern "Python" { ... }' (also
        "Python+C", "C+Python", with any spaces inside the quotes): the functions
        declared get FunctionDecl.extern_python."""
        self._advance()                                 # 'extern'
        literal = self._advance()
        kind = _EXTERN_PYTHON_KINDS.get("".join(literal.text[1:-1].split()))
        if kind is None:
            raise _error('unsupported language linkage %s (only extern "Python", '
                         '"Python+C" or "C+Python")' % literal.text, literal)
        if self.extern_python is not None:
            raise _error('\'extern "Python"\' inside another one', literal)
        self.extern_python = kind
        try:
            brace = self.tokens[self.pos]
            if not self._accept("{"):
                self._simple_declaration()
                return
            while not self._accept("}"):
                if self.tokens[self.pos].kind == _EOF:
                    raise self._unexpected(self.tokens[self.pos], "expected '}' closing "
                                           "the 'extern \"Python\" {' at line %d"
                                           % brace.line)
                if not self._accept(";"):
                    self._declaration()
        finally:
            self.extern_python = None

    def _simple_declaration(self):
        specifiers = self._specifiers(_TOP_LEVEL)
        if self._accept(";"):
            self._declaration_without_declarator(specifiers)
            return
        first = True
        while True:
            declarator = self._declarator(_NAMED, specifiers.abi)
            if first:
                self._name_anonymous_definition(specifiers, declarator)
                first = False
            self._declare(specifiers, declarator)
            if not self._accept(","):
                break
        token = self.tokens[self.pos]
        if token.text == "{":
            if (self.gnu and self.declarations
                    and isinstance(self.declarations[-1], FunctionDecl)):
                self._gnu_function_body(specifiers)
                return
            raise _error("unexpected <FuncDef>: this construct is valid C but not valid "
                         "in cdef()", token)
        self._expect(";")

    def _declaration_without_declarator(self, specifiers):
        if specifiers.anonymous_slot is not None:
            self._name_anonymous_definition(specifiers, None)
        elif specifiers.tag_kind is None:
            raise _error("declaration does not declare anything", specifiers.start)
        elif not specifiers.tag_defined and specifiers.tag_kind != "enum":
            tag = specifiers.tag_token      # 'struct foo;': a forward declaration
            self.declarations.append(StructDef(specifiers.tag_kind, tag.text, None, False,
                                               tag.line, tag.column))

    def _name_anonymous_definition(self, specifiers, declarator):
        """Give its tag to 'struct { ... }' defined at top level: '$foo_t' when it is
        directly the type of a typedef foo_t (as cffi names it), else '$<number>'."""
        slot = specifiers.anonymous_slot
        if slot is None:
            return
        if ("typedef" in specifiers.storage and declarator is not None
                and not declarator.ops):
            tag = "$" + declarator.name_token.text
        else:
            tag = "$%d" % next(_anonymous_tag_numbers)
        definition = dataclasses.replace(self.declarations[slot], name=tag)
        self.declarations[slot] = definition
        self._defined(definition)
        specifiers.base = Tagged(specifiers.tag_kind, tag)
        specifiers.anonymous_slot = None

    def _declare(self, specifiers, declarator):
        """Emit the declaration of one declarator (and read its initializer, if any)."""
        name_token = declarator.name_token
        name = name_token.text
        if specifiers.unknown is not None:
            declared_type = self._unknown_type(specifiers, declarator)
        else:
            declared_type = declarator.type_for(specifiers.base)
        position = name_token.line, name_token.column
        is_typedef = "typedef" in specifiers.storage
        symbol = None
        if self.gnu:
            attrs = self._gnu_merged_attributes(specifiers, declarator)
            declared_type = self._gnu_typed(declared_type, attrs, name_token)
            if is_typedef:
                self.g.typedef_types[name] = declared_type
                # (on a typedef, 'aligned' may lower the alignment too)
                align = attrs.get("aligned") or self._gnu_typedef_align(declared_type)
                if align:
                    self.g.typedef_align[name] = align
                if attrs.get("aligned") and declared_type == Tagged(
                        specifiers.tag_kind, "$" + name):
                    self._gnu_align_own_struct(declared_type, attrs["aligned"])
            symbol = declarator.asm if declarator.asm != name else None
            if is_typedef and attrs.get("transparent_union"):
                self._gnu_transparent_union(name, declared_type, name_token)
        is_constant = (not is_typedef and not isinstance(declared_type, (Function, Array))
                       and declarator.declares_const_object(specifiers))
        value = self._initializer(is_constant, _may_be_floating(declared_type))
        if is_typedef:
            self.local_typedefs.add(name)
            declaration = Typedef(name, declared_type, *position,
                                  align=self.g.typedef_align.get(name) if self.gnu else None)
        elif isinstance(declared_type, Function):
            declaration = FunctionDecl(name, declared_type, *position, symbol=symbol,
                                       extern_python=self.extern_python)
        elif self.extern_python is not None:
            raise _error("cannot declare constants or variables with 'extern \"Python\"'"
                         " ('%s' is no function)" % name, name_token)
        elif isinstance(declared_type, Void):
            raise _error("'%s' is declared void" % name, name_token)
        elif is_constant:
            # cffi treats every const object as a read-only constant, even without
            # 'static'; with an initializer its value is known here.
            if value is not None:
                self.local_constants[name] = value
            declaration = ConstantDecl(name, value, declared_type, *position)
        else:
            declaration = VariableDecl(name, declared_type, *position, symbol=symbol)
        self.declarations.append(declaration)

    def _initializer(self, allowed, floating=False):
        token = self.tokens[self.pos]
        if token.text != "=" or token.kind != _PUNCT:
            return None
        if not allowed:
            raise _error("only const integer constants can have an initializer", token)
        self._advance()
        if floating and self._floating_literal_follows():
            # 'static const double x = -1.5;': accepted, value not known in ABI mode
            # (cffi too takes the value of integer literals only)
            while self.tokens[self.pos].text in ("+", "-"):
                self._advance()
            self._advance()
            return None
        return self._constant_expression()

    def _floating_literal_follows(self):
        """Is the next thing an optionally signed floating-point literal, alone?"""
        pos = self.pos
        while self.tokens[pos].text in ("+", "-") and self.tokens[pos].kind == _PUNCT:
            pos += 1
        token = self.tokens[pos]
        return (token.kind == _NUMBER
                and self.tokens[pos + 1].text in (",", ";")
                and _number_error_message(token.text).startswith("only integer"))

    # -- declaration specifiers

    def _specifiers(self, context):
        specifiers = _Specifiers(self.tokens[self.pos])
        while True:
            token = self.tokens[self.pos]
            if token.kind != _NAME:
                break
            text = token.text
            if text in _TYPE_WORDS:
                if text not in _PREDEFINED_TYPE_NAMES:
                    self._add_type_word(specifiers, token)
                elif specifiers.has_type():
                    break   # the declared name: 'typedef unsigned long size_t;'
                elif self._is_typedef_name(text):
                    specifiers.base = Named(text)   # typedef'd by the cdefs: 'bool'
                else:
                    self._add_type_word(specifiers, token)
            elif text in _QUALIFIERS:
                if text in _CONST_QUALIFIERS:
                    specifiers.const = True
            elif text in _TAG_KINDS:
                self._tagged_type(specifiers, context)
                continue
            elif text in _STORAGE_CLASSES:
                self._add_storage_class(specifiers, token, context)
            elif text in _CALLING_CONVENTIONS:
                specifiers.abi = _CALLING_CONVENTIONS[text]
            elif text in _ATTRIBUTE_WORDS:
                attrs = self._skip_attributes()
                if attrs:
                    specifiers.attrs = {**(specifiers.attrs or {}), **attrs}
                continue
            elif text in _IGNORED_WORDS:
                pass
            elif self.gnu and self._gnu_specifier(specifiers, token):
                continue
            elif specifiers.has_type() or text in _KEYWORDS:
                break       # the declarator's name (or an error reported below)
            elif self._is_typedef_name(text):
                specifiers.base = Named(text)
            else:
                break
            self._advance()
        token = self.tokens[self.pos]
        if token.text == "..." and token.kind == _PUNCT and "typedef" in specifiers.storage:
            self._unknown_type_marker(specifiers, token)
            return specifiers
        self._finish_specifiers(specifiers, context)
        return specifiers

    def _unknown_type_marker(self, specifiers, token):
        """'typedef ...', 'typedef int...', 'typedef float...' (cffi's API-mode types
        that only the compiler knows).  The base node needs the declared name; it is
        built by _unknown_type."""
        if specifiers.words:
            canonical = _COMPLETE_SPELLINGS.get(_spelling_key(specifiers.words))
            if canonical is not None and canonical.name in ("float", "double"):
                # (not 'long double', as cffi)
                specifiers.unknown = "float"
            elif canonical is not None and all(w in _INTEGER_DOTDOTDOT_WORDS
                                               for w in specifiers.words):
                specifiers.unknown = "integer"
        elif not specifiers.has_type() and not specifiers.const:
            specifiers.unknown = "opaque"
        if specifiers.unknown is None:
            raise _error('unsupported usage of "..." in typedef', token)
        specifiers.base = Void()        # replaced per declarator (_unknown_type)
        self._advance()

    def _unknown_type(self, specifiers, declarator):
        """The type node a 'typedef ... name;' style declarator declares."""
        name = declarator.name_token.text
        ops = declarator.ops
        if specifiers.unknown == "opaque":
            if not ops:
                return Opaque(name)
            if len(ops) == 1 and isinstance(ops[0], _PointerOp):
                return Pointer(Opaque(name, behind_pointer=True))
        elif not ops:
            return UnknownPrimitive(name, specifiers.unknown, declarator.name_token.line,
                                    declarator.name_token.column)
        raise _error('unsupported usage of "..." in typedef', declarator.name_token)

    def _add_type_word(self, specifiers, token):
        if specifiers.base is not None or specifiers.tag_kind is not None:
            raise _error("cannot combine '%s' with the type before it" % token.text, token)
        specifiers.words.append(token.text)
        if _spelling_key(specifiers.words) not in _SPELLING_PREFIXES:
            raise _error("invalid combination of type specifiers '%s'"
                         % " ".join(specifiers.words), token)

    def _add_storage_class(self, specifiers, token, context):
        if context != _TOP_LEVEL:
            raise _error("'%s' is not allowed in a %s" % (token.text, context), token)
        storage = specifiers.storage + (token.text,)
        if "typedef" in storage and ("extern" in storage or "static" in storage):
            raise _error("'%s' cannot be combined with '%s'"
                         % (token.text, storage[0]), token)
        specifiers.storage = storage

    def _finish_specifiers(self, specifiers, context):
        if specifiers.words:
            base = _COMPLETE_SPELLINGS.get(_spelling_key(specifiers.words))
            if base is None:
                raise _error("incomplete type specifier '%s'" % " ".join(specifiers.words),
                             specifiers.start)
            specifiers.base = base
        elif not specifiers.has_type():
            token = self.tokens[self.pos]
            if token.kind == _NAME and token.text not in _KEYWORDS:
                raise self._unknown_type_name(token, context)
            raise self._unexpected(token, "expected a type")

    def _unknown_type_name(self, token, context):
        """The error of a name that is no type where a type must be, with cffi's
        words: a parameter that is only a name is cffi's 'untyped argument', a type
        string that is only a name its 'unknown identifier'; anything else is a
        syntax error for cffi's parser, which stops at the next token."""
        after = self.tokens[self.pos + 1]
        if context == _PARAMETER and not self.type_string and self._identifier_list():
            return _error("%s arg %d: unknown type '%s' (if you meant to use the old C "
                          "syntax of giving untyped arguments, it is not supported)"
                          % (self.function_name or "in expression", self.parameter_number,
                             token.text), token)
        message = "unknown type name '%s'" % token.text
        if context == _TYPE_NAME and after.kind == _EOF and self.type_string:
            message = "unknown identifier '%s'" % token.text
            return _error(message + " (no type of that name is declared)", token,
                          cffi_form=message)
        return _error(message, token, before=after)

    def _identifier_list(self):
        """At the first parameter: are the parameters only names, 'f(a, b)' (the
        identifier list of old C, which cffi's parser reads as such)?"""
        if self.parameter_number != 1:
            return False
        pos = self.pos
        while self._is_plain_identifier(self.tokens[pos]) and \
                self.tokens[pos + 1].text == ",":
            pos += 2
        return self._is_plain_identifier(self.tokens[pos]) and \
            self.tokens[pos + 1].text == ")"

    def _is_plain_identifier(self, token):
        return (token.kind == _NAME and token.text not in _KEYWORDS
                and not self._is_typedef_name(token.text))

    # -- struct, union and enum

    def _tagged_type(self, specifiers, context):
        keyword = self._advance()
        if specifiers.has_type():
            raise _error("cannot combine '%s' with the type before it" % keyword.text,
                         keyword)
        kind = keyword.text
        attrs = self._skip_attributes()
        name_token = None
        token = self.tokens[self.pos]
        if token.kind == _NAME and token.text not in _KEYWORDS:
            name_token = self._advance()
        specifiers.tag_kind = kind
        specifiers.tag_token = name_token or keyword
        specifiers.tag_is_anonymous = name_token is None
        if self.tokens[self.pos].text != "{":
            if name_token is None:
                raise self._unexpected(self.tokens[self.pos],
                                       "expected a tag name or '{' after '%s'" % kind)
            specifiers.base = Tagged(kind, name_token.text)
            if kind == "enum":
                self.mentioned_enums.add(name_token.text)
            return
        if kind == "enum" and name_token is not None and \
                name_token.text in self.mentioned_enums:
            raise CDefNotImplemented(
                "enum %s: the '{}' declaration should appear on the first time the enum "
                "is mentioned, not later" % name_token.text, name_token.line,
                name_token.column, cffi_form="enum %s: the '{}' declaration should "
                "appear on the first time the enum is mentioned, not later"
                % name_token.text)
        specifiers.tag_defined = True
        definition = self._tag_definition(kind, name_token, specifiers.tag_token)
        after = self._skip_attributes()
        if attrs or after:
            definition = self._gnu_definition_attributes(definition, {**(attrs or {}),
                                                                      **(after or {})})
        if name_token is not None:
            self.declarations.append(definition)
            self._defined(definition)
            specifiers.base = Tagged(kind, name_token.text)
        elif context == _TOP_LEVEL:
            # The tag may be '$' + the typedef name, known only after the declarator.
            specifiers.anonymous_slot = len(self.declarations)
            self.declarations.append(definition)
        else:
            tag = "$%d" % next(_anonymous_tag_numbers)
            self.declarations.append(dataclasses.replace(definition, name=tag))
            self._defined(self.declarations[-1])
            specifiers.base = Tagged(kind, tag)

    def _tag_definition(self, kind, name_token, position_token):
        """Parse '{ body }' into a StructDef/EnumDef (named "" when anonymous)."""
        brace = self.tokens[self.pos]
        if not self.allow_definitions:
            raise _error("'%s' definitions are not allowed in a type string" % kind,
                         brace)
        if self.type_string and name_token is not None:
            raise _error("a type string may define only anonymous types; declare "
                         "'%s %s' with cdef()" % (kind, name_token.text), name_token)
        name = name_token.text if name_token is not None else ""
        position = position_token.line, position_token.column
        self._enter_nesting(brace)
        if kind == "enum":
            enumerators, partial = self._enum_body()
            definition = EnumDef(name, enumerators, partial, *position)
        else:
            fields, partial = self._struct_body()
            if partial is not None and any(f.bitsize is not None for f in fields):
                # as cffi: the layout of the other fields could not be checked
                message = "%s %s: using both bitfields and '...;'" % (
                    kind, name or "$<anonymous>")
                raise CDefNotImplemented(message, partial.line, partial.column,
                                         partial.text, cffi_form=message)
            definition = StructDef(kind, name, fields, partial is not None, *position,
                                   packed=self.packed, pack=self.pack)
        self._leave_nesting()
        return definition

    def _struct_body(self):
        self._expect("{")
        fields = []
        partial = None              # the '...' token of '...;', if any
        while True:
            token = self.tokens[self.pos]
            if self._accept("}"):
                break
            if self._accept(";"):
                continue
            if self._accept("..."):
                self._expect(";")
                partial = token     # '...;': the compiler completes the layout
                continue
            if self.gnu and token.text in _GNU_STATIC_ASSERT:
                self._gnu_static_assert()
                continue
            self._field_declaration(fields)
        return tuple(fields), partial

    def _field_declaration(self, fields):
        specifiers = self._specifiers(_FIELD)
        if self._accept(";"):
            self._member_without_declarator(specifiers, fields)
            return
        while True:
            fields.append(self._field(specifiers))
            if not self._accept(","):
                break
        self._expect(";")

    def _member_without_declarator(self, specifiers, fields):
        """'struct { int a; };' inside a struct is an anonymous member.  So is a named
        'struct t { int a; };', as cffi reads it (C11 would only declare the tag); an
        enum only declares its enumerators."""
        if not specifiers.tag_defined:
            raise _error("declaration does not declare anything", specifiers.start)
        tag_token = specifiers.tag_token
        if specifiers.tag_kind != "enum":
            fields.append(Field("", specifiers.base, None, tag_token.line,
                                tag_token.column))

    def _field(self, specifiers):
        token = self.tokens[self.pos]
        if token.text == ":":       # unnamed bitfield 'int :3' (padding)
            self._advance()
            return Field("", specifiers.base, self._bit_width(None),
                         specifiers.start.line, specifiers.start.column)
        declarator = self._declarator(_NAMED, specifiers.abi)
        name_token = declarator.name_token
        field_type = declarator.type_for(specifiers.base)
        if isinstance(field_type, (Function, Void)):
            raise _error("field '%s' cannot have a %s type"
                         % (name_token.text, "function" if isinstance(field_type, Function)
                            else "void"), name_token)
        bitsize = None
        colon = self.tokens[self.pos]
        if colon.text == ":":
            self._advance()
            bitsize = self._bit_width(name_token)
        if self.gnu:
            after = self._skip_attributes()
            attrs = self._gnu_merged_attributes(specifiers, declarator, after)
            field_type = self._gnu_typed(field_type, attrs, name_token)
            # (an aligned typedef's alignment is its type's: Typedef.align, which
            # packing overrides, unlike this attribute of the member)
            return Field(name_token.text, field_type, bitsize, name_token.line,
                         name_token.column, attrs.get("aligned") or None,
                         attrs.get("packed", False))
        return Field(name_token.text, field_type, bitsize, name_token.line,
                     name_token.column)

    def _bit_width(self, name_token):
        start = self.tokens[self.pos]
        width = self._constant_expression()
        if width < 0:
            raise _error("negative bit-field width", start)
        return width            # a named zero-width one fails when used, as in cffi

    def _enum_body(self):
        brace = self._expect("{")
        enumerators = []
        partial = False
        next_value = 0
        while self.tokens[self.pos].text != "}":
            if self._accept("..."):
                partial = True      # more enumerators, values known to the compiler
                self._accept(",")
                break
            name_token = self._expect_name("an enumerator name")
            if self.gnu:
                self._skip_attributes()     # 'A __attribute__((deprecated)) = 1'
            value = next_value
            if self._accept("="):
                if self._accept("..."):
                    partial = True      # 'A = ...': the value only the compiler knows
                    value = None
                else:
                    value = self._constant_expression()
            if isinstance(value, _CInt):
                value = int(value)      # (an enumerator's type is its enum's)
            enumerators.append((name_token.text, value))
            self.local_constants[name_token.text] = value
            next_value = None if value is None else value + 1
            if not self._accept(","):
                break
        if not enumerators and not partial:
            raise _error("an enum needs at least one enumerator", brace)
        self._expect("}")
        return tuple(enumerators), partial

    # -- declarators

    def _declarator(self, mode, abi=None, nested=False):
        """Parse a (possibly abstract) declarator; abi comes from the specifiers.

        A calling convention belongs to the function declarator 'D(params)' whose D it
        starts.  Written before the '*' of a parenthesised level, as in
        'int (__stdcall *fp)(int)', it starts the D of the enclosing level's parameter
        list, so it is handed back up.  Otherwise ('int __stdcall f(int)',
        'int *__stdcall f(int)', 'int (*__stdcall f(void))[3]') it goes to this
        level's own first parameter list."""
        start = self.tokens[self.pos]
        if start.text in _EMPTY_DECLARATOR_FOLLOWERS and mode != _NAMED and abi is None:
            return _Declarator(start, None, [], None)   # fast path: 'int' in "(int, int)"
        self._enter_nesting(start)
        pointer_ops, leading_abi, trailing_abi = self._pointers()
        name_token, inner = self._direct_declarator(mode)
        function_name = self.function_name
        if inner is None:
            self.function_name = name_token.text if name_token is not None else None
        try:
            suffix_ops = self._suffixes()
        finally:
            self.function_name = function_name
        own_abi = (inner.unclaimed_abi if inner is not None else None) or trailing_abi
        if not nested:
            own_abi = own_abi or leading_abi or abi
            leading_abi = None
        if own_abi and suffix_ops and isinstance(suffix_ops[0], _FunctionOp):
            suffix_ops[0].abi = own_abi
        ops = pointer_ops
        ops += reversed(suffix_ops)     # 'x[2][3]': the [3] applies first
        if inner is not None:
            ops += inner.ops
        self._leave_nesting()
        if self.gnu:
            return _Declarator(start, name_token, ops, leading_abi,
                               *self._gnu_declarator_suffix(inner))
        return _Declarator(start, name_token, ops, leading_abi)

    def _direct_declarator(self, mode):
        """The name or the parenthesised inner declarator: (name token, inner)."""
        token = self.tokens[self.pos]
        if token.kind == _NAME and (token.text not in _KEYWORDS
                                    or token.text in _PREDEFINED_TYPE_NAMES):
            return self._advance(), None
        if token.text == "(" and self._starts_nested_declarator(mode):
            self._advance()
            inner = self._declarator(mode, nested=True)
            self._expect(")")
            return inner.name_token, inner
        if mode == _NAMED:
            raise self._unexpected(token, "expected a name")
        return None, None

    def _pointers(self):
        """Read '*' with their qualifiers.  Return (pointer ops, calling convention
        written before the first '*', calling convention written after one)."""
        pointer_ops = []
        leading_abi = trailing_abi = None
        while True:
            token = self.tokens[self.pos]
            text = token.text
            if text == "*" and token.kind == _PUNCT:
                pointer_ops.append(_PointerOp())
            elif text in _QUALIFIERS and pointer_ops:
                if text in _CONST_QUALIFIERS:
                    pointer_ops[-1].const = True
            elif text in _CALLING_CONVENTIONS:
                if pointer_ops:
                    trailing_abi = _CALLING_CONVENTIONS[text]
                else:
                    leading_abi = _CALLING_CONVENTIONS[text]
            elif text in _ATTRIBUTE_WORDS:
                self._skip_attributes()
                continue
            else:
                return pointer_ops, leading_abi, trailing_abi
            self._advance()

    def _starts_nested_declarator(self, mode):
        """At '(': does a parenthesised declarator follow, rather than a parameter
        list?  Decided by the token after the '(' (C's own rule for the ambiguity)."""
        after = self.tokens[self.pos + 1]
        text = after.text
        if after.kind == _PUNCT:
            return text in ("*", "(", "[")
        if after.kind != _NAME:
            return False
        if text in _CALLING_CONVENTIONS or text in _ATTRIBUTE_WORDS:
            return True
        if text in _PREDEFINED_TYPE_NAMES:
            return mode == _NAMED       # a type name, as a typedef name would be
        if text in _KEYWORDS:
            return False
        return mode == _NAMED or not self._is_typedef_name(text)

    def _suffixes(self):
        ops = []
        while True:
            token = self.tokens[self.pos]
            if token.kind != _PUNCT:
                break
            if token.text == "[":
                ops.append(self._array_suffix())
            elif token.text == "(":
                op = self._function_suffix()
                op.check_result = not self.type_string
                ops.append(op)
            else:
                break
        if not self.gnu:                # (GNU C: _gnu_declarator_suffix reads them)
            self._skip_attributes()
        return ops

    def _gnu_declarator_suffix(self, inner):
        """GNU C: the __attribute__s and '__asm__("symbol")' after a declarator, with
        those of the inner declarator: (attrs, asm)."""
        attrs = asm = None
        while True:
            text = self.tokens[self.pos].text
            if text in _ATTRIBUTE_WORDS:
                attrs = self._skip_attributes()
            elif text in _GNU_ASM_WORDS:
                asm = self._gnu_asm_label()
            else:
                break
        if inner is not None and (inner.attrs or inner.asm):
            attrs = {**inner.attrs, **(attrs or {})} if inner.attrs else attrs
            asm = asm or inner.asm
        return attrs, asm

    def _array_suffix(self):
        bracket = self._advance()
        while self.tokens[self.pos].text in _ARRAY_PARAMETER_WORDS:
            self._advance()         # C99 'int a[static const 10]' in parameters
        token = self.tokens[self.pos]
        if token.kind == _INT and self.tokens[self.pos + 1].text == "]":
            length = _int_literal_value(token)      # fast path for the usual 'T[10]'
            self._advance()
        elif token.text == "]":
            length = None
        elif token.text == "..." and token.kind == _PUNCT:
            self._advance()
            length = "..."
        elif self.gnu and self.g.parameters:
            length = self._gnu_parameter_array_length()
        else:
            # A negative length is kept: the model raises the error cffi raises there.
            length = self._constant_expression()
        self._expect("]")
        return _ArrayOp(length, bracket, check_item_size=not self.type_string)

    def _function_suffix(self):
        parenthesis = self._advance()
        token = self.tokens[self.pos]
        if token.text == "void" and self.tokens[self.pos + 1].text == ")":
            self._advance()         # '(void)': no arguments
        if self._accept(")"):       # '()' too, as cffi reads it
            return _FunctionOp((), False, parenthesis)
        return self._parameter_list(parenthesis)

    def _parameter_list(self, parenthesis):
        """Parameters after '(' up to and including ')', of which there is one."""
        args = []
        args_depth = 0
        ellipsis = False
        while True:
            token = self.tokens[self.pos]
            if token.text == "..." and token.kind == _PUNCT:
                if not args:
                    raise _error("%s: a function with only '(...)' as argument is not "
                                 "correct C" % (self.function_name or "in expression"),
                                 token)
                self._advance()
                ellipsis = True
                self._expect(")")
                break
            self.parameter_number = len(args) + 1
            parameter_type, depth = self._parameter()
            args.append(parameter_type)
            args_depth = max(args_depth, depth)
            if not self._accept(","):
                self._expect(")")
                break
        return _FunctionOp(tuple(args), ellipsis, parenthesis, args_depth)

    def _parameter(self):
        """Return (type, depth of that type) of one parameter declaration."""
        specifiers = self._specifiers(_PARAMETER)
        if self.gnu:
            self.g.parameters += 1
            try:
                declarator = self._declarator(_EITHER, specifiers.abi)
            finally:
                self.g.parameters -= 1
        else:
            declarator = self._declarator(_EITHER, specifiers.abi)
        parameter_type = declarator.type_for(specifiers.base)
        if self.gnu and isinstance(parameter_type, Named) and \
                parameter_type.name in self.g.transparent:
            parameter_type = self.g.transparent[parameter_type.name]
        if isinstance(parameter_type, Void):
            raise _error("'void' must be the only parameter", specifiers.start)
        return parameter_type, declarator.depth

    # -- integer constant expressions

    def _constant_expression(self):
        """conditional-expression: evaluate an integer constant expression."""
        start = self.tokens[self.pos]
        self._enter_nesting(start)
        condition = self._binary_expression(1)
        if self._accept("?"):
            evaluating = self.evaluating
            self.evaluating = evaluating and bool(condition)
            if_true = self._constant_expression()
            self._expect(":")
            self.evaluating = evaluating and not condition
            if_false = self._constant_expression()
            self.evaluating = evaluating
            chosen = if_true if condition else if_false
            if self.gnu:        # the type of both branches
                chosen = _c_value(chosen, _common_type(_c_type(if_true), _c_type(if_false)))
            condition = chosen
        self._leave_nesting()
        return condition

    def _binary_expression(self, min_precedence):
        """Precedence climbing over the binary operators binding at least as tightly
        as min_precedence."""
        left = self._unary_expression()
        while True:
            operator = self.tokens[self.pos]
            precedence = (_BINARY_PRECEDENCE.get(operator.text)
                          if operator.kind == _PUNCT else None)
            if precedence is None or precedence < min_precedence:
                return left
            self._advance()
            if operator.text in ("&&", "||"):
                left = self._logical_operand(operator.text, left, precedence)
            else:
                right = self._binary_expression(precedence + 1)
                left = self._binary_value(operator, left, right)

    def _logical_operand(self, operator, left, precedence):
        """&& and || do not evaluate their right operand when the left decides."""
        decided = (not left) if operator == "&&" else bool(left)
        evaluating = self.evaluating
        self.evaluating = evaluating and not decided
        right = self._binary_expression(precedence + 1)
        self.evaluating = evaluating
        if operator == "&&":
            return int(bool(left) and bool(right))
        return int(bool(left) or bool(right))

    def _binary_value(self, operator, left, right):
        if self.gnu:
            return _c_binary(operator.text, left, right, self.evaluating, operator)
        if not self.evaluating:
            return 0                # the value is discarded: do not fail on it
        text = operator.text
        if text in _SIMPLE_BINARY:
            value = _SIMPLE_BINARY[text](left, right)
        elif text in ("/", "%"):
            if right == 0:
                raise _error("division by zero in a constant expression", operator)
            value = _c_divide(left, right) if text == "/" else _c_remainder(left, right)
        else:
            if not 0 <= right < _MAX_VALUE_BITS:
                raise _error("shift count %d is out of range" % right, operator)
            value = left << right if text == "<<" else left >> right
        return self._checked_value(value, operator)

    def _checked_value(self, value, token):
        if value.bit_length() > _MAX_VALUE_BITS:
            raise _error("constant expression value is too large", token)
        return value

    def _unary_expression(self):
        operators = []              # read iteratively: '- - - 1' must not recurse
        while True:
            token = self.tokens[self.pos]
            if token.kind == _PUNCT and token.text in _UNARY:
                operators.append(token.text)
                self._advance()
            else:
                break
        value = self._primary_expression()
        for operator in reversed(operators):
            value = _c_unary(operator, value) if self.gnu else _UNARY[operator](value)
        return value

    def _primary_expression(self):
        token = self.tokens[self.pos]
        kind = token.kind
        if kind == _INT:
            self._advance()
            value = self._checked_value(_int_literal_value(token), token)
            return _typed_literal(token, value) if self.gnu else value
        if kind == _CHAR:
            self._advance()
            value = _char_literal_value(token)
            if not self.gnu:
                return value
            # C: an int holding the char's value ('\xff' is -1 where char is signed)
            if value >= 0x80 and not _is_unsigned_name("char"):
                value -= 0x100
            return _C_INT(value)
        if kind == _NAME:
            return self._constant_value(token)
        if token.text == "(" and kind == _PUNCT:
            self._advance()
            if self.gnu and self._starts_type_name():
                return self._gnu_cast(token)
            value = self._constant_expression()
            self._expect(")")
            return value
        if kind == _NUMBER:
            raise _error(_number_error_message(token.text), token)
        raise self._unexpected(token, "expected an integer constant expression")

    def _constant_value(self, token):
        name = token.text
        if self.gnu and name in _GNU_SIZE_WORDS and self.g.size_align is not None:
            return self._gnu_size_of(token)
        if name == "sizeof":
            raise _error("sizeof is not supported in constant expressions", token)
        if name in _KEYWORDS:
            raise _error("expected an integer constant expression, got '%s'" % name, token)
        if name in self.local_constants:
            value = self.local_constants[name]
        elif name in self.constants:
            value = self.constants[name]
        else:
            raise _error("unknown constant '%s'" % name, token)
        if not isinstance(value, int):
            raise _error("the value of '%s' is not known here" % name, token)
        self._advance()
        return value

    # -- the GNU C of real headers (gnu=True: cdef_header after the system preprocessor)

    def _defined(self, definition):
        """Remember a struct/union definition of a header, for sizeof."""
        if self.gnu and isinstance(definition, StructDef):
            self.g.structs[(definition.kind, definition.name)] = definition

    def _gnu_align_own_struct(self, tagged, align):
        """'typedef struct {...} T __attribute__((aligned(N)));': the anonymous struct
        is T's alone, so it takes the alignment."""
        for index in range(len(self.declarations) - 1, -1, -1):
            decl = self.declarations[index]
            if isinstance(decl, StructDef) and decl.name == tagged.name:
                decl = dataclasses.replace(decl, typedef_align=align)
                self.declarations[index] = decl
                self._defined(decl)
                return

    def _gnu_declaration(self):
        """One top-level declaration; one that cannot be represented is skipped (with
        the reason and position in self.g.skipped), never fatal: the parser resumes
        after its ';'."""
        start = self.pos
        mark = len(self.declarations)
        try:
            self._declaration()
        except CDefError as error:
            removed = self.declarations[mark:]
            del self.declarations[mark:]
            for decl in removed:
                if isinstance(decl, Typedef):
                    self.local_typedefs.discard(decl.name)
                    self.g.typedef_types.pop(decl.name, None)
                elif isinstance(decl, EnumDef):
                    for name, _ in decl.enumerators:
                        self.local_constants.pop(name, None)
            self.nesting = 0
            self.evaluating = True
            name = _declared_name(self.tokens, start)
            self.g.skip(name, error.message, error.line or self.tokens[start].line,
                        error.column or self.tokens[start].column)
            self._gnu_resynchronize(start)

    def _gnu_resynchronize(self, start):
        """Skip to the end of the declaration begun at start: just after its ';' at
        depth 0, or after the '}' closing a function body (a '{...}' at depth 0 with
        no struct/union/enum keyword before it)."""
        depth = 0
        saw_tag = False
        for token in self.tokens[start:self.pos]:
            depth, saw_tag, _ = _resync_step(token, depth, saw_tag)
        while True:
            token = self.tokens[self.pos]
            if token.kind == _EOF:
                return
            self._advance()
            depth, saw_tag, done = _resync_step(token, depth, saw_tag)
            if done:
                return

    def _gnu_specifier(self, specifiers, token):
        """A GNU C word among the declaration specifiers; True if it was consumed."""
        text = token.text
        if text in _GNU_KEYWORD_SPELLINGS:
            self._advance()
            self._add_type_word(specifiers, _Token(_NAME, _GNU_KEYWORD_SPELLINGS[text],
                                                   token.line, token.column))
            return True
        if text in _GNU_TYPE_ALIASES and not specifiers.has_type() and \
                not self._is_typedef_name(text):
            self._advance()
            specifiers.base = Primitive(_GNU_TYPE_ALIASES[text])
            return True
        if text in _GNU_UNSUPPORTED_TYPES and not self._is_typedef_name(text):
            raise _error("the type '%s' is not supported by nffi" % text, token)
        if text in _GNU_TYPEOF and not specifiers.has_type():
            self._advance()
            self._expect("(")
            if not self._starts_type_name():
                raise _error("%s of an expression is not supported by nffi" % text, token)
            inner = self._specifiers(_TYPE_NAME)
            specifiers.base = self._declarator(_EITHER, inner.abi).type_for(inner.base)
            specifiers.const = specifiers.const or inner.const
            self._expect(")")
            return True
        if text in _GNU_THREAD_LOCAL:
            raise _error("thread-local variables are not supported by nffi", token)
        if text in _GNU_IGNORED_STORAGE:
            self._advance()         # 'register int x' in a prototype
            return True
        if text == "_Alignas":
            self._advance()
            self._expect("(")
            if self._starts_type_name():
                align = self._gnu_type_size(1, token)
            else:
                align = self._constant_expression()
            self._expect(")")
            attrs = dict(specifiers.attrs or ())
            attrs["aligned"] = max(attrs.get("aligned", 1), align)
            specifiers.attrs = attrs
            return True
        return False

    def _starts_type_name(self):
        token = self.tokens[self.pos]
        return token.kind == _NAME and (
            token.text in _TYPE_WORDS or token.text in _QUALIFIERS
            or token.text in _TAG_KINDS or token.text in _GNU_TYPE_ALIASES
            or (token.text not in self.local_constants and self._is_typedef_name(token.text)))

    def _gnu_merged_attributes(self, specifiers, declarator, more=None):
        attrs = specifiers.attrs
        if declarator.attrs:
            attrs = {**attrs, **declarator.attrs} if attrs else declarator.attrs
        if more:
            attrs = {**attrs, **more} if attrs else more
        return attrs or {}

    def _gnu_typed(self, declared_type, attrs, name_token):
        """The type of a declaration after its attributes: mode(M) resizes an integer
        type; attributes nffi cannot represent make it an error (the declaration is
        skipped)."""
        unsupported = attrs.get("unsupported")
        if unsupported is not None:
            raise _error("__attribute__((%s)) is not supported by nffi"
                         % unsupported.text.strip("_"), unsupported)
        mode = attrs.get("mode")
        if mode is None:
            return declared_type
        mode_name, token = mode
        size = _GNU_MODE_BYTES.get(mode_name)
        if size is None or not (isinstance(declared_type, Primitive)
                                and primitives.is_integer(declared_type.name)):
            raise _error("__attribute__((mode(%s))) is not supported here" % mode_name,
                         token)
        unsigned = _is_unsigned_name(declared_type.name)
        name = {1: "char", 2: "short", 4: "int", 8: "long long"}[size]
        name = ("unsigned " if unsigned else "signed " if size == 1 else "") + name
        return Primitive(name)

    def _gnu_typedef_align(self, declared_type):
        """The alignment a typedef name carries from its __attribute__((aligned))."""
        if isinstance(declared_type, Named):
            return self.g.typedef_align.get(declared_type.name, 0)
        return 0

    def _gnu_definition_attributes(self, definition, attrs):
        """Attributes written on a struct, union or enum definition."""
        unsupported = attrs.get("unsupported")
        if unsupported is not None:
            raise _error("__attribute__((%s)) is not supported by nffi"
                         % unsupported.text.strip("_"), unsupported)
        if isinstance(definition, EnumDef):
            if attrs.get("packed") or attrs.get("mode"):
                raise _error("packed enums are not supported by nffi", self.tokens[self.pos])
            return definition
        changes = {}
        if attrs.get("packed"):
            changes["packed"] = True
        if attrs.get("aligned"):
            changes["align"] = attrs["aligned"]
        return dataclasses.replace(definition, **changes) if changes else definition

    def _gnu_parameter_array_length(self):
        """The length of an array parameter, which may be a variable-length one
        ('regmatch_t m[nmatch]', 'int a[*]'): the parameter is a pointer anyway, so
        a length that is no constant is dropped (None)."""
        start = self.pos
        try:
            return self._constant_expression()
        except CDefError:
            self.pos = start
            depth = 0
            while True:
                token = self.tokens[self.pos]
                if not token.text or (token.text == "]" and depth == 0):
                    return None
                depth += (token.text == "[") - (token.text == "]")
                self._advance()

    def _gnu_transparent_union(self, name, declared_type, token):
        """'typedef union {...} T __attribute__((transparent_union));': a parameter
        of type T is passed as the union's first member (glibc's __SOCKADDR_ARG
        under _GNU_SOURCE), so it is declared as that member's type."""
        definition = (self.g.structs.get((declared_type.kind, declared_type.name))
                      if isinstance(declared_type, Tagged) else None)
        if definition is None or definition.kind != "union" or not definition.fields:
            raise _error("transparent_union needs a union with members", token)
        self.g.transparent[name] = definition.fields[0].type

    def _gnu_asm_label(self):
        """'__asm__("" "symbol")' after a declarator: the library symbol."""
        self._advance()
        self._expect("(")
        pieces = []
        while self.tokens[self.pos].kind == _STRING:
            pieces.append(_string_literal_bytes(self._advance()))
        self._expect(")")
        return b"".join(pieces).decode("latin-1") or None

    def _gnu_static_assert(self):
        self._advance()
        self._skip_balanced_parentheses()
        self._expect(";")

    def _gnu_function_body(self, specifiers):
        """Skip the body of an inline function defined in a header.  A 'static'
        (or plain 'inline') one is no symbol of the library: its declaration goes."""
        depth = 0
        while True:
            token = self._advance()
            if not token.text:
                raise self._unexpected(token, "expected '}'")
            if token.kind == _PUNCT and token.text == "{":
                depth += 1
            elif token.kind == _PUNCT and token.text == "}":
                depth -= 1
                if depth == 0:
                    break
        if "extern" not in specifiers.storage:
            decl = self.declarations.pop()
            self.g.skip(decl.name, "%s function defined in the header: not a symbol of "
                        "the library" % ("static inline" if "static" in specifiers.storage
                                         else "inline"), decl.line, decl.column)

    def _gnu_cast(self, token):
        """'(type) operand' in a constant expression (after the '('): the operand
        converted to the integer type, wrapping as C does."""
        specifiers = self._specifiers(_TYPE_NAME)
        declarator = self._declarator(_EITHER, specifiers.abi)
        node = declarator.type_for(specifiers.base)
        self._expect(")")
        value = self._unary_expression()
        while isinstance(node, Named) and node.name in self.g.typedef_types:
            node = self.g.typedef_types[node.name]
        if not (isinstance(node, Primitive) and primitives.is_integer(node.name)):
            raise _error("only casts to integer types are supported in constant "
                         "expressions", token)
        if self.g.size_align is None:
            raise _error("casts are not supported here", token)
        if node.name == "_Bool":
            return _C_INT(bool(value))
        size = self.g.size_align(node, self.g)[0]
        unsigned = _is_unsigned_name(node.name)
        return _c_type_of_size(size, unsigned)(_wrapped(value, 8 * size, unsigned))

    def _gnu_size_of(self, token):
        """sizeof(type), __alignof__(type), _Alignof(type) in a constant expression."""
        self._advance()
        self._expect("(")
        if not self._starts_type_name():
            raise _error("%s of an expression is not supported" % token.text, token)
        value = self._gnu_type_size(_GNU_SIZE_WORDS[token.text], token)
        self._expect(")")
        return _C_SIZE_T(value)

    def _gnu_type_size(self, which, token):
        """sizeof (which=0) or alignof (which=1) of the type name that follows."""
        specifiers = self._specifiers(_TYPE_NAME)
        declarator = self._declarator(_EITHER, specifiers.abi)
        node = declarator.type_for(specifiers.base)
        try:
            return self.g.size_align(node, self.g)[which]
        except (LookupError, ValueError, TypeError) as error:
            raise _error("cannot compute %s of this type here: %s"
                         % (token.text, error), token)

    def _gnu_directive(self, token):
        """The directives of 'gcc -E -dD' output: line markers, #define and #undef
        (object-like macros become constants), #pragma pack; the rest is ignored.
        Nothing here may raise: a macro that is no constant is skipped."""
        if token.kind == _INT:
            name = self.tokens[self.pos]
            if name.kind == _STRING:
                self.g.mark(token.line + 1, _string_literal_bytes(name).decode(
                    "utf-8", "replace"), int(token.text))
            return
        nesting = self.nesting
        try:
            if token.text == "define":
                self._gnu_define()
            elif token.text == "undef":
                self.g.undefine(self.tokens[self.pos].text, self.local_constants)
            elif token.text == "pragma" and self.tokens[self.pos].text == "pack":
                self._advance()
                self.pack = self.g.pragma_pack(self._pragma_arguments(), self.pack)
        except CDefError:
            pass
        self.nesting = nesting
        self.evaluating = True

    def _pragma_arguments(self):
        words = []
        while self.tokens[self.pos].kind != _EOL:
            token = self._advance()
            if token.text not in "(),":
                words.append(token.text)
        return words

    def _gnu_define(self):
        name_token = self._advance()
        name = name_token.text
        builtin = self.g.current_file in _PREDEFINED_MACRO_FILES
        after = self.tokens[self.pos]
        if (after.text == "(" and after.line == name_token.line
                and after.column == name_token.column + len(name)):
            if not builtin:
                self.g.skip(name, "function-like macro", name_token.line,
                            name_token.column)
            return
        try:
            if name_token.kind != _NAME or name in _KEYWORDS:
                raise _error("macro that redefines a keyword or type name", name_token)
            if after.kind == _EOL:
                raise _error("macro without a value", after)
            value = self._macro_value()
        except CDefError as error:
            if not builtin:
                self.g.skip(name, "macro that is no constant: " + error.message,
                            name_token.line, name_token.column)
            return
        if name in self.local_constants and name not in self.g.macros:
            if self.local_constants[name] != value and not builtin:
                self.g.skip(name, "macro with the name of an enumerator of another "
                            "value (the enumerator is declared)", name_token.line,
                            name_token.column)
            return      # '#define X X' after the enumerator X (glibc does this)
        self.local_constants[name] = value      # with its C type, for later macros
        if not builtin:
            self.g.define(ConstantDecl(name, int(value) if isinstance(value, _CInt)
                                       else value, None, name_token.line,
                                       name_token.column))

    def _macro_value(self):
        """The value of an object-like macro's body: an integer constant expression,
        a floating constant (optionally signed and parenthesised) or string literals."""
        start = self.pos
        tokens = self.tokens[start:]
        if tokens[0].kind == _STRING:
            pieces = []
            while self.tokens[self.pos].kind == _STRING:
                pieces.append(_string_literal_bytes(self._advance()))
            value = b"".join(pieces)
        else:
            floating = _floating_macro_value(tokens)
            if floating is not None:
                return floating
            value = self._constant_expression()
        end = self.tokens[self.pos]
        if end.kind != _EOL:
            raise self._unexpected(end, "expected the end of the constant")
        return value


# ---- the GNU C of real headers: state and helpers ---------------------------------------

def _resync_step(token, depth, saw_tag):
    """One token of _gnu_resynchronize: (depth, saw_tag, declaration ended?)."""
    if token.kind == _NAME:
        return depth, saw_tag or (depth == 0 and token.text in _TAG_KINDS), False
    if token.kind != _PUNCT:
        return depth, saw_tag, False
    text = token.text
    if text in ("(", "[", "{"):
        return depth + 1, saw_tag, False
    if text in (")", "]", "}"):
        depth = max(depth - 1, 0)
        return depth, saw_tag, text == "}" and depth == 0 and not saw_tag
    return depth, saw_tag, text == ";" and depth == 0


def _is_unsigned_name(name):
    """Is this integer primitive unsigned?  (char: signed, as on x86-64 Linux.)"""
    return primitives.BY_NAME[name].kind in ("unsigned", "bool", "char16", "char32")


# where 'cc -E -dD' puts the compiler's own macros (__INT_MAX__, __GNUC__, ...): they
# are known to the expressions of the header's macros but declare nothing
_PREDEFINED_MACRO_FILES = frozenset(["<built-in>", "<command-line>"])


_UNKNOWN_TYPE_NAME_RE = re.compile(r"unknown type name '([^']*)'")


class _Gnu:
    """What the parser keeps while reading a preprocessed header (gnu=True)."""

    def __init__(self, size_align):
        # size_align(type node, this object) -> (size, alignment), for sizeof and
        # __alignof__ in constant expressions (None: not supported); it reads the
        # header's own typedef_types and structs
        self.size_align = size_align
        self.skipped = []           # (name, reason, line, column): preprocessed lines
        self.skipped_names = {}     # name -> the reason it was first skipped
        self.marks = []             # line markers: (preprocessed line, file, its line)
        self.current_file = ""
        self.macros = {}            # name -> ConstantDecl of the macro in force
        self.typedef_types = {}     # typedef name -> type node, for sizeof
        self.typedef_align = {}     # typedef name -> its __attribute__((aligned(N)))
        self.structs = {}           # (kind, tag) -> StructDef, for sizeof
        self.pack_stack = []
        self.parameters = 0         # depth of parameter declarations being read
        self.transparent = {}       # transparent_union typedef -> its first member type

    def skip(self, name, reason, line, column):
        match = _UNKNOWN_TYPE_NAME_RE.match(reason)
        if match is not None and match.group(1) in self.skipped_names:
            # the type was declared, and skipped: say so rather than 'unknown' (the
            # first skipped type of a chain, with its reason)
            reason = self.skipped_names[match.group(1)]
            if not reason.startswith("uses the type"):
                reason = "uses the type '%s', which is skipped (%s)" % (match.group(1),
                                                                       reason)
        self.skipped_names.setdefault(name, reason)
        self.skipped.append((name, reason, line, column))

    def mark(self, line, file, file_line):
        self.marks.append((line, file, file_line))
        self.current_file = file

    def define(self, decl):
        self.macros.pop(decl.name, None)    # a redefinition takes the later place
        self.macros[decl.name] = decl

    def undefine(self, name, constants):
        if self.macros.pop(name, None) is not None:
            constants.pop(name, None)

    def pragma_pack(self, words, current):
        """The packing after '#pragma pack(words)': (), (N), (push[, id][, N]),
        (pop[, id])."""
        try:
            if not words:
                return None
            if words[0] == "push":
                self.pack_stack.append(current)
                return int(words[-1]) if words[-1].isdigit() else current
            if words[0] == "pop":
                return self.pack_stack.pop() if self.pack_stack else None
            return int(words[0])
        except ValueError:
            return current


_FLOATING_MACRO_RE = re.compile(
    r"([+-]?)(0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+"
    r"|(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)[fFlL]?")


def _floating_macro_value(tokens):
    """The value of a macro body that is a floating constant ('(-1.5e3f)'), or None."""
    texts = []
    for token in tokens:
        if token.kind == _EOL or token.kind == _EOF:
            break
        if token.text not in ("(", ")"):
            texts.append(token.text)
        if len(texts) > 3:
            return None
    match = _FLOATING_MACRO_RE.fullmatch("".join(texts))
    if match is None:
        return None
    sign, number = match.groups()
    value = float.fromhex(number) if number[:2] in ("0x", "0X") else float(number)
    return -value if sign == "-" else value


def _string_literal_bytes(token):
    """The bytes of a string literal token (C escapes)."""
    try:
        return codecs.escape_decode(token.text[1:-1].encode("latin-1", "backslashreplace"))[0]
    except (ValueError, UnicodeError):
        raise _error("invalid string literal", token) from None


def _declared_name(tokens, start):
    """A best guess of the name a declaration starting at tokens[start] declares, for
    the list of skipped declarations: the function name before the first '(' at depth
    0, else the last plain name at depth 0."""
    depth = 0
    last = None
    for index in range(start, min(start + 400, len(tokens) - 1)):
        token = tokens[index]
        if token.kind == _PUNCT:
            if token.text == ";" and depth == 0:
                break
            if token.text in ("(", "[", "{"):
                if token.text == "(" and depth == 0 and last is not None and \
                        tokens[index - 1] is last:
                    return last.text
                depth += 1
            elif token.text in (")", "]", "}"):
                depth -= 1
        elif token.kind == _NAME and depth == 0 and token.text not in _KEYWORDS:
            last = token
    return last.text if last is not None else ""


# ---- public API -------------------------------------------------------------------------

def parse_cdef(source, typedef_names, constants, packed=False, pack=None):
    """Parse the declarations of a cdef into a list of nffi.decls nodes, in source order.

    typedef_names: container of the typedef names declared by earlier cdefs (only
    ``in`` is used).  constants: mapping of the integer constants and enumerators of
    earlier cdefs.  Typedefs, enumerators and constants declared earlier in the same
    source are known too.  packed and pack (cdef(..., packed=, pack=)) are recorded on
    every struct and union the source defines.  Raises CDefError for any invalid input.
    """
    parser = _Parser(source, typedef_names, constants, allow_definitions=True,
                     packed=packed, pack=pack)
    try:
        return parser.parse_declarations()
    except RecursionError:
        raise CDefError("declaration is nested too deeply") from None
    except CDefError as error:
        if parser.line_marks:
            error._mark_file(parser.line_marks)
        raise


def _warning_stacklevel():
    """The stacklevel that makes warnings.warn() name the first caller outside nffi."""
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def parse_type(text, typedef_names, constants=None):
    """Parse one abstract type name such as "int *", "foo_t[10]" or "int(*)(int, ...)"
    into a type node.  Raises CDefError for anything else.

    typedef_names: as for parse_cdef.  constants: optional mapping of the integer
    constants usable in array lengths ("char[N]"), probed like parse_cdef's.  Only the
    tokens of a type string are cached, so the result always reflects these arguments.
    """
    if constants is None:
        constants = _NO_CONSTANTS
    parser = _Parser(text, typedef_names, constants, allow_definitions=False,
                     type_string=True)
    try:
        return parser.parse_type_name()
    except RecursionError:
        raise CDefError("type is nested too deeply") from None


def parse_type_with_definitions(text, typedef_names, constants=None):
    """Like parse_type, but the type string may also define anonymous structs, unions
    and enums ("struct { int a; } *"), as cffi's FFI allows.  Returns (type node,
    definitions): the StructDef/EnumDef nodes, with generated "$<number>" tags, that
    the model must declare before it resolves the type."""
    if constants is None:
        constants = _NO_CONSTANTS
    parser = _Parser(text, typedef_names, constants, allow_definitions=True,
                     type_string=True)
    try:
        node = parser.parse_type_name()
    except RecursionError:
        raise CDefError("type is nested too deeply") from None
    return node, parser.declarations


def parse_header(source, typedef_names, constants, size_align=None):
    """Parse preprocessed header text (the output of 'cc -E -dD') in the GNU C dialect
    of real headers: __attribute__ (packed, aligned, mode honoured; vector_size and the
    like make the declaration skipped; the rest ignored), __asm__ symbol names,
    __extension__, _Static_assert, _Alignas, inline function bodies, sizeof/alignof in
    constant expressions (through size_align(node, state) -> (size, align), state
    having the typedef_types and structs the header declared so far), line markers, #pragma pack, and object-like macros as constants
    (integer, floating and string values).

    Never raises for one declaration: what cannot be represented is skipped.  Returns
    (declarations, skipped, marks): skipped lists (name, reason, line, column) and
    marks the line markers (preprocessed line, header file, header line), to map the
    preprocessed lines of positions back to header files.
    """
    parser = _Parser(source, typedef_names, constants, allow_definitions=True,
                     gnu=True, size_align=size_align)
    try:
        decls = parser.parse_declarations()
    except RecursionError:
        raise CDefError("declaration is nested too deeply") from None
    gnu = parser.g
    return decls + list(gnu.macros.values()), gnu.skipped, gnu.marks
