"""The parsed form of C declarations: what nffi.cparser produces and nffi.model consumes.

Type nodes describe a C type as written (a typedef name stays a name; array parameters do
not decay yet).  They are frozen and hashable so that the model can cache on them.
Declaration nodes carry the 1-based line and column of the declared name in the cdef
source, for error messages.

A declaration is plain data: everything that decides its layout or meaning is a field of
its node -- the packing of a struct (``packed``, ``pack``), and the API-mode markers of
cffi's dialect, which say that only the C compiler knows a fact:

=====================================  ==================================================
cdef text                              node
=====================================  ==================================================
``struct s { int a; ...; };``          ``StructDef(partial=True)``: real layout from the
                                       compiler (the fields given are a subset)
``int a[...];`` (field, global,        ``Array(item, "...")``: the length
typedef)
``typedef ... foo_t;``                 ``Typedef("foo_t", Opaque("foo_t"))``: usable
                                       through pointers only (ABI mode too)
``typedef ... *foo_t;``                ``Typedef("foo_t", Pointer(Opaque("foo_t",
                                       behind_pointer=True)))``
``typedef int... foo_t;``              ``Typedef("foo_t", UnknownPrimitive("foo_t",
                                       "integer"))``: an integer type of unknown size
                                       and signedness (``float...``: "float")
``#define FOO ...``                    ``ConstantDecl("FOO", None)``
``static const T FOO;``                ``ConstantDecl("FOO", None, T)``
``enum e { A, B, ... };``              ``EnumDef(partial=True)``; ``A = ...`` gives the
                                       enumerator the value None (as those after it that
                                       have no value of their own)
=====================================  ==================================================

Which declarations need the compiler is answered here (``needs_compiler``), once, for
both modes: ABI mode raises cffi's error when such a declaration is used, API mode asks
the compiler.
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
    # where a '[...]' was written, for errors (not part of the type: not compared)
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Function:
    """A function type.  args are as written (no decay); abi is None or e.g. "__stdcall"."""
    args: Tuple["Type", ...]
    result: "Type"
    ellipsis: bool = False
    abi: Optional[str] = None


@dataclass(frozen=True)
class Opaque:
    """A type known by nothing but its name: 'typedef ... name;' (as cffi, an opaque
    struct-like type, usable through pointers; its C name is name).  behind_pointer is
    True for the item of 'typedef ... *name;', a pointer to something unknown (cffi
    shows that item as 'struct $$name')."""
    name: str
    behind_pointer: bool = False


@dataclass(frozen=True)
class UnknownPrimitive:
    """'typedef int... name;' (kind "integer") or 'typedef float... name;' (kind
    "float"): a primitive type whose size, signedness or precision only the compiler
    knows (API mode asks it; ABI mode refuses to use it, as cffi)."""
    name: str
    kind: str
    line: int = field(default=0, compare=False)     # of the name, for errors
    column: int = field(default=0, compare=False)


Type = Union[Primitive, Void, Named, Tagged, Pointer, Array, Function, Opaque,
             UnknownPrimitive]


# ---- declaration nodes -----------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    name: str                    # "" for an anonymous struct/union member
    type: Type
    bitsize: Optional[int] = None   # None: not a bitfield
    line: int = 0
    column: int = 0
    # GNU C of real headers: __attribute__((aligned(N))) / _Alignas(N) on the member
    # (None: none) and __attribute__((packed)) on the member
    align: Optional[int] = None
    packed: bool = False


@dataclass(frozen=True)
class StructDef:
    """struct/union tag { fields };  fields is None for a forward declaration 'struct foo;'.
    packed is __attribute__((packed)) and pack the N of '#pragma pack(N)' (None: none),
    as given to the cdef that declared it (cdef(..., packed=True, pack=N))."""
    kind: str                    # "struct" or "union"
    name: str                    # tag, or "$..." for an anonymous one
    fields: Optional[Tuple[Field, ...]]
    partial: bool = False        # the body contained '...;' (layout completed by API mode)
    line: int = 0
    column: int = 0
    packed: bool = False
    pack: Optional[int] = None
    align: Optional[int] = None  # __attribute__((aligned(N))) on the struct (real headers)
    # 'typedef struct {...} T __attribute__((aligned(N)));': the alignment of the
    # typedef whose anonymous struct this is (gcc does not round its size up)
    typedef_align: Optional[int] = None

    @property
    def needs_compiler(self):
        """Does its layout come from the C compiler: '...;' in the body, or a field
        whose array length is '...'?  (A member struct that needs it is found by the
        model, which knows the other declarations.)"""
        return self.partial or any(_has_unknown_length(f.type) for f in self.fields or ())


@dataclass(frozen=True)
class EnumDef:
    name: str                    # tag, or "$..." for an anonymous one
    enumerators: Tuple[Tuple[str, Optional[int]], ...]   # value None: '= ...'
    partial: bool = False        # '...' in the list: values known to the compiler
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Typedef:
    name: str
    type: Type
    line: int = 0
    column: int = 0
    # GNU C of real headers: 'typedef int T __attribute__((aligned(N)));' gives T the
    # alignment N, larger or smaller than its type's (None: its type's)
    align: Optional[int] = None


@dataclass(frozen=True)
class FunctionDecl:
    """symbol: the name to look up in the library when it differs from name (GNU C's
    'int f(void) __asm__("g");', used by glibc), else None.  release_gil: calls release
    the GIL (False: cdef(..., release_gil=False)).  extern_python: "Python" for
    'extern "Python" int f(int);' (C calls a Python function attached with
    @ffi.def_extern(); only a compiled module has it), "Python+C" for 'extern
    "Python+C"' / 'extern "C+Python"' (also callable from other C files), else None."""
    name: str
    type: Function
    line: int = 0
    column: int = 0
    symbol: Optional[str] = None
    release_gil: bool = True
    extern_python: Optional[str] = None


@dataclass(frozen=True)
class VariableDecl:
    """release_gil: as FunctionDecl's, for a function declared through a typedef of a
    function type ('func_t f;')."""
    name: str
    type: Type
    line: int = 0
    column: int = 0
    symbol: Optional[str] = None    # as FunctionDecl.symbol
    release_gil: bool = True


@dataclass(frozen=True)
class ConstantDecl:
    """'#define NAME value' (type None) or 'static const T NAME = value;'.
    value is None for '#define NAME ...' and 'static const T NAME;' (known only to the
    compiler, API mode)."""
    name: str
    value: Union[int, float, bytes, None]     # bytes: a string macro of a header
    type: Optional[Type] = None
    line: int = 0
    column: int = 0


Declaration = Union[StructDef, EnumDef, Typedef, FunctionDecl, VariableDecl, ConstantDecl]


def _has_unknown_length(node):
    while isinstance(node, Array):
        if node.length == "...":
            return True
        node = node.item
    return False
