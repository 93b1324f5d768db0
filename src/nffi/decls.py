"""The parsed form of C declarations: what nffi.cparser produces and nffi.model consumes.

Type nodes describe a C type as written (a typedef name stays a name; array parameters do
not decay yet).  They are frozen and hashable so that the model can cache on them.
Declaration nodes carry the 1-based line and column of the declared name in the cdef
source, for error messages.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple, Union


# ---- type nodes ------------------------------------------------------------------------

@dataclass(frozen=True)
class Primitive:
    """A built-in type under its canonical name: "int", "unsigned long long",
    "signed char", "char", "_Bool", "double", "long double", "float _Complex",
    "int32_t", "size_t", "wchar_t", "char16_t", ... (see cparser.PRIMITIVE_NAMES)."""
    name: str


@dataclass(frozen=True)
class Void:
    pass


@dataclass(frozen=True)
class Named:
    """A reference to a typedef name."""
    name: str


@dataclass(frozen=True)
class Tagged:
    """A reference to a struct, union or enum by tag.  kind is "struct", "union" or
    "enum".  Anonymous definitions get a generated tag starting with "$"."""
    kind: str
    name: str


@dataclass(frozen=True)
class Pointer:
    item: "Type"
    const: bool = False          # 'T * const': accepted and ignored, as cffi does


@dataclass(frozen=True)
class Array:
    item: "Type"
    length: Union[int, None, str]   # None for 'T[]'; the string "..." for 'T[...]' (API mode)


@dataclass(frozen=True)
class Function:
    """A function type.  args are as written (no decay); abi is None or e.g. "__stdcall"."""
    args: Tuple["Type", ...]
    result: "Type"
    ellipsis: bool = False
    abi: Optional[str] = None


Type = Union[Primitive, Void, Named, Tagged, Pointer, Array, Function]


# ---- declaration nodes -----------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    name: str                    # "" for an anonymous struct/union member
    type: Type
    bitsize: Optional[int] = None   # None: not a bitfield
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class StructDef:
    """struct/union tag { fields };  fields is None for a forward declaration 'struct foo;'."""
    kind: str                    # "struct" or "union"
    name: str                    # tag, or "$..." for an anonymous one
    fields: Optional[Tuple[Field, ...]]
    partial: bool = False        # the body contained '...;' (layout completed by API mode)
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class EnumDef:
    name: str                    # tag, or "$..." for an anonymous one
    enumerators: Tuple[Tuple[str, int], ...]
    partial: bool = False        # the list ended with '...'
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Typedef:
    name: str
    type: Type
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class FunctionDecl:
    name: str
    type: Function
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class VariableDecl:
    name: str
    type: Type
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class ConstantDecl:
    """'#define NAME value' (type None) or 'static const T NAME = value;'.
    value is None for '#define NAME ...' and 'static const T NAME;' (known only to the
    compiler, API mode)."""
    name: str
    value: Union[int, float, None]
    type: Optional[Type] = None
    line: int = 0
    column: int = 0


Declaration = Union[StructDef, EnumDef, Typedef, FunctionDecl, VariableDecl, ConstantDecl]
