"""Struct and union layout: where the C compiler puts each member, and how big it is.

It also defines the *layout provider* interface (LayoutProvider, at the end): every
number the model needs that is the compiler's business, asked by the realizer
(nffi.model).  ABILayout answers with the rules below (ABI mode); API mode plugs in a
provider answering from the compiled module.

This module owns one question: given the members of a ``struct`` or ``union`` (their
sizes, alignments and bit-field widths, already resolved by the caller) and the
packing in effect (``__attribute__((packed))`` and/or ``#pragma pack(N)``), compute the
size and alignment of the aggregate and the byte offset (and bit position, for
bit-fields) of every member, exactly as gcc does.  It is pure Python and knows
nothing about C types beyond the numbers it is handed.

The rules are those of gcc for targets that define PCC_BITFIELD_TYPE_MATTERS and do
not make unnamed bit-fields align the aggregate: x86-64 System V and AArch64 Linux
(AAPCS64).  They were checked member by member against gcc on x86-64 (see
tests/test_layout.py).  The two ABIs differ only in the sizes and alignments of the
member types (e.g. ``char`` signedness does not matter here, and ``long double`` is
16/16 on both), which the caller supplies.  32-bit ARM (AAPCS), where unnamed
bit-fields do align the aggregate, and the Microsoft bit-field layout (mingw
``ms_struct``) are not modelled.

Rules applied, with gcc's terms (gcc/stor-layout.cc):

* An ordinary member is aligned to its *effective alignment*: its type's alignment,
  lowered to 1 in a packed aggregate and to ``min(align, N)`` under ``#pragma pack(N)``.
  The aggregate is aligned to the largest effective alignment of its members (at
  least 1) and its size is rounded up to that alignment.
* Bit-fields are allocated bit by bit from the least significant bit.  Without any
  packing, a bit-field that would span more alignment units of its type than the
  type itself has is moved to the next boundary of its type's alignment (gcc:
  ``excess_unit_span``); for the usual types, whose size equals their alignment,
  this means "a bit-field never straddles a boundary of its own type's alignment".
  Under ``packed`` or ``#pragma pack`` bit-fields are never moved: they follow the
  previous one at the very next bit.
* A named bit-field raises the aggregate's alignment to its type's alignment, lowered
  by ``#pragma pack(N)`` to ``min(align, N)``, or else by ``packed`` to 1.  (So under
  both ``packed`` and ``pack(N)`` a named bit-field still aligns the aggregate to
  ``min(align, N)``, while ordinary members are aligned to 1.)  Unnamed bit-fields
  never change the aggregate's alignment.  One more source of alignment, visible
  only with types aligned below their size: a named bit-field exactly 8, 16, 32, 64
  or 128 bits wide that starts on a multiple of its width aligns the aggregate to
  its width in bytes (gcc gives it the integer mode's alignment).
* A zero-width bit-field (always unnamed) moves the next member to the next boundary
  of its type's *full* alignment, ignoring ``packed`` and ``#pragma pack``, and does
  not change the aggregate's alignment.
* A flexible array member has size 0 but is aligned like any member, so it can add
  tail padding and alignment.
* GNU attributes of real headers (nffi.headers): ``packed`` on a member lowers its
  alignment to 1 (a packed bit-field is never moved and aligns nothing);
  ``aligned(N)`` on a member raises its alignment to N (a bit-field starts on an N
  boundary and aligns the aggregate), capped by ``#pragma pack``; ``aligned(N)`` on
  the aggregate raises its alignment, whatever the packing, and rounds its size.
* In a union every member is at offset 0; a bit-field occupies ``ceil(width / 8)``
  bytes of it.  An empty struct or union has size 0 and alignment 1 (gcc extension).

Bit-field positions are reported the way cffi's introspection does (see FieldLayout).
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .errors import CDefError, VerificationMissing

BITS_PER_BYTE = 8


@dataclass
class FieldSpec:
    """One declared member, as input to layout()."""
    name: str                       # "" for unnamed bit-fields and anonymous struct/union members
    size: int                       # sizeof the member's type (whole array; 0 for 'T x[]')
                                    # (the caller checks that a _Bool bit-field is <= 1 bit)
    align: int                      # alignof the member's type
    bitsize: Optional[int] = None   # None: not a bit-field
    flexible: bool = False          # a flexible array member 'T x[]' (last member of a struct)
    user_align: Optional[int] = None  # __attribute__((aligned(N))) / _Alignas(N) on the member
    packed: bool = False            # __attribute__((packed)) on the member


@dataclass
class FieldLayout:
    """Where one member ended up.

    For a bit-field occupying bits [bitpos, bitpos + bitsize) of the aggregate
    (bit ``j`` of byte ``i`` is bit ``8*i + j``), ``offset`` is ``bitpos // 8`` rounded
    down to a multiple of the member's effective alignment, and ``bitshift`` is
    ``bitpos - 8 * offset``.  A zero-width bit-field reports where it moved the
    position to, with bitsize 0.  Ordinary members have bitshift and bitsize -1.
    """
    offset: int
    bitshift: int = -1
    bitsize: int = -1


def layout(kind: str, fields: List[FieldSpec], packed: bool = False,
           pack: Optional[int] = None,
           align: Optional[int] = None) -> Tuple[int, int, List[FieldLayout]]:
    """Lay out a struct or union the way gcc does.

    kind is "struct" or "union"; packed is __attribute__((packed)) on the aggregate;
    pack is N of an enclosing '#pragma pack(N)' (None when there is none); align is N
    of __attribute__((aligned(N))) on the aggregate (None: none), which raises its
    alignment whatever the packing.
    Returns (size, alignment, one FieldLayout per field in order).  Raises
    ValueError for declarations gcc rejects (bad bit-field widths, misplaced flexible
    array members).
    """
    _check_declaration(kind, fields, pack)
    record = _Record(kind, packed, pack)
    placed = [record.place(spec) for spec in fields]
    if align is not None:
        record.align = max(record.align, align)
    return record.size(), record.align, placed


# ---- validation --------------------------------------------------------------------------

def _check_declaration(kind, fields, pack):
    if kind not in ("struct", "union"):
        raise ValueError("kind must be 'struct' or 'union', not %r" % (kind,))
    if pack is not None and (pack < 1 or pack & (pack - 1)):
        raise ValueError("#pragma pack(%r): alignment must be a small power of two"
                         % (pack,))
    for index, spec in enumerate(fields):
        if spec.bitsize is not None:
            _check_bitfield(spec)
        if spec.flexible:
            _check_flexible_array(kind, spec, is_last=index == len(fields) - 1)


def _describe(spec):
    return "'%s'" % spec.name if spec.name else "an unnamed bit-field"


def _check_bitfield(spec):
    if spec.bitsize < 0:
        raise ValueError("negative width in bit-field %s" % _describe(spec))
    if spec.bitsize == 0 and spec.name:
        raise ValueError("zero width for bit-field '%s'" % spec.name)
    if spec.bitsize > spec.size * BITS_PER_BYTE:
        raise ValueError("width of %s (%d bits) exceeds its type (%d bits)"
                         % (_describe(spec), spec.bitsize, spec.size * BITS_PER_BYTE))
    if spec.flexible:
        raise ValueError("bit-field %s cannot be a flexible array member"
                         % _describe(spec))


def _check_flexible_array(kind, spec, is_last):
    if kind == "union":
        raise ValueError("flexible array member '%s' in a union" % spec.name)
    if not is_last:
        raise ValueError("flexible array member '%s' not at the end of the struct"
                         % spec.name)


# ---- placement ---------------------------------------------------------------------------

def _round_up(value, multiple):
    return -(-value // multiple) * multiple


def _bytes_for_bits(bits):
    return -(-bits // BITS_PER_BYTE)


class _Record:
    """The layout of one aggregate, built member by member (gcc: record_layout_info)."""

    def __init__(self, kind, packed, pack):
        self.is_union = kind == "union"
        self.packed = packed
        self.pack = pack
        self.align = 1          # bytes; gcc starts every record at BITS_PER_UNIT
        self.end_bit = 0        # struct: first free bit; union: largest member, in bits

    def place(self, spec):
        """Place one member; return its FieldLayout."""
        if spec.bitsize is None:
            return self._place_ordinary(spec)
        if spec.bitsize == 0:
            return self._place_zero_width(spec)
        return self._place_bitfield(spec)

    def size(self):
        """Total size: the bytes used, rounded up to the alignment."""
        return _round_up(_bytes_for_bits(self.end_bit), self.align)

    # -- alignment rules

    def _member_align(self, spec):
        """Effective alignment of a member: packed (the aggregate's or the member's)
        -> 1, then raised to the member's own aligned(N), then pack(N) -> min(align, N)
        (gcc: '#pragma pack' caps even an explicitly aligned member)."""
        align = 1 if (self.packed or spec.packed) else spec.align
        if spec.user_align is not None:
            align = max(align, spec.user_align)
        if self.pack is not None:
            return min(align, self.pack)
        return align

    def _bitfield_record_align(self, spec):
        """What a named bit-field contributes to the aggregate's alignment.

        gcc (update_alignment_for_field) tests '#pragma pack' before 'packed', so
        under both it is min(align, N), not 1.
        """
        if self.pack is not None:
            return min(spec.align, self.pack)
        if self.packed or spec.packed:
            return 1
        return spec.align

    def _integer_mode_align(self, spec, position):
        """gcc (layout_decl) gives a bit-field exactly as wide as an integer mode
        (8, 16, 32, 64 or 128 bits) that mode's alignment -- its width, on x86-64 and
        AArch64 -- when the position before any PCC move is already that aligned, and
        a named one passes it on to the aggregate.  It only shows with types aligned
        below their size (e.g. a 'long long' typedef with aligned(4)): otherwise the
        type's own alignment is at least as large."""
        if spec.bitsize not in (8, 16, 32, 64, 128) or self.packed or spec.packed:
            return 1
        if position % spec.bitsize:
            return 1
        mode_align = spec.bitsize // BITS_PER_BYTE
        return mode_align if self.pack is None else min(mode_align, self.pack)

    def _bitfield_may_move(self, spec):
        """The PCC rule (no straddling) applies only without packed (the aggregate's
        or the member's) / #pragma pack."""
        return not self.packed and not spec.packed and self.pack is None

    # -- member kinds

    def _place_ordinary(self, spec):
        align = self._member_align(spec)
        self.align = max(self.align, align)
        size_bits = spec.size * BITS_PER_BYTE
        if self.is_union:
            self.end_bit = max(self.end_bit, size_bits)
            return FieldLayout(0)
        start = _round_up(self.end_bit, align * BITS_PER_BYTE)
        self.end_bit = start + size_bits
        return FieldLayout(start // BITS_PER_BYTE)

    def _place_zero_width(self, spec):
        # 'T :0' pads to the next boundary of T's full alignment even when packed or
        # under #pragma pack, and leaves the aggregate's alignment alone.
        if not self.is_union:
            self.end_bit = _round_up(self.end_bit, spec.align * BITS_PER_BYTE)
        return self._bitfield_layout(spec, 0 if self.is_union else self.end_bit)

    def _place_bitfield(self, spec):
        position = 0 if self.is_union else self.end_bit
        user_align = 1
        if spec.user_align is not None:         # aligned(N) on the bit-field itself
            user_align = spec.user_align if self.pack is None else min(spec.user_align,
                                                                         self.pack)
            position = _round_up(position, user_align * BITS_PER_BYTE)
        if spec.name:
            self.align = max(self.align, self._bitfield_record_align(spec),
                             self._integer_mode_align(spec, position), user_align)
        if self.is_union:
            self.end_bit = max(self.end_bit, _round_up(spec.bitsize, BITS_PER_BYTE))
            return self._bitfield_layout(spec, 0)
        start = position
        if self._bitfield_may_move(spec) and _spans_too_many_units(start, spec):
            start = _round_up(start, spec.align * BITS_PER_BYTE)
        self.end_bit = start + spec.bitsize
        return self._bitfield_layout(spec, start)

    def _bitfield_layout(self, spec, bitpos):
        """Report bitpos as (offset aligned to the effective alignment, shift)."""
        offset = bitpos // BITS_PER_BYTE
        offset -= offset % self._member_align(spec)
        return FieldLayout(offset, bitpos - offset * BITS_PER_BYTE, spec.bitsize)


def _spans_too_many_units(bitpos, spec):
    """gcc's excess_unit_span: would the bit-field, placed at bitpos, touch more
    alignment units of its type than the type itself occupies?  (With size ==
    alignment, as for all x86-64 and AArch64 integer types: does it straddle a
    boundary of its type's alignment?)"""
    unit = spec.align * BITS_PER_BYTE
    units_touched = (bitpos % unit + spec.bitsize + unit - 1) // unit
    return units_touched > spec.size * BITS_PER_BYTE // unit


# ---- layout providers --------------------------------------------------------------------

class NeedsCompiler(Exception):
    """Raised by a layout provider for a question only the C compiler can answer (a
    declaration with '...' used in ABI mode).  error is the exception the user gets when
    the declaration is *used*, as cffi raises it; a cdef() that merely declares it does
    not fail (the model catches this class)."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


class LayoutProvider:
    """Where the model gets every number that is the compiler's business.

    The model (nffi.model.Realizer) builds ctypes from declarations; whenever a fact is
    not in the declaration itself -- a struct's size, alignment and field offsets, the
    length of an 'x[...]' array, the integer type of an enum or of 'typedef int... T',
    the value of '#define X ...' -- it asks its provider.  ABI mode uses ABILayout
    (gcc's rules, below); API mode plugs in a provider that answers from the compiled
    module (the compiler's sizeof/offsetof/alignof, carried as data).  A provider may
    raise NeedsCompiler for what it cannot know.

    ``owner`` arguments say which declaration a question is about, as plain data:
    ("field", kind, tag, field name), ("variable", name), ("typedef", name),
    ("constant", name), or None (a type string).
    """

    def struct_layout(self, decl, fields):
        """(size, alignment, [FieldLayout per field]) of a struct/union definition.

        decl is the nffi.decls.StructDef (its packed, pack and partial say how it was
        declared); fields holds one FieldSpec per decl.fields, with the size and
        alignment of each field's type as the realizer resolved them."""
        raise NotImplementedError

    def array_length(self, owner, node):
        """The length of the array type node (an nffi.decls.Array whose length is
        '...') that the declaration 'owner' declares."""
        raise NotImplementedError

    def enum_integer_type(self, decl, values):
        """The canonical name of the integer type of an enum ("unsigned int", ...).
        decl is the nffi.decls.EnumDef, values its enumerators' values (None for those
        that only the compiler knows)."""
        raise NotImplementedError

    def unknown_primitive(self, node):
        """The canonical name of the primitive type that 'typedef int... T' (or
        'float...') stands for; node is the nffi.decls.UnknownPrimitive."""
        raise NotImplementedError

    def constant_value(self, decl):
        """The value of '#define X ...' or 'static const T X;' (a ConstantDecl whose
        value is None)."""
        raise NotImplementedError


def _describe_owner(owner):
    if owner is None:
        return "an array type"
    if owner[0] == "field":
        return "field '%s' of %s %s" % (owner[3], owner[1], owner[2])
    return "%s '%s'" % owner


class ABILayout(LayoutProvider):
    """The provider of ABI mode: layouts by gcc's rules (layout() above), enums by
    gcc's choice of integer type; the '...' declarations of API mode raise, when used,
    the error cffi raises for them.

    primitive_size(name) gives the size in bytes of a primitive type (the core's
    sizeof), for the enum rule."""

    def __init__(self, primitive_size):
        self._primitive_size = primitive_size

    def struct_layout(self, decl, fields):
        if decl.partial:
            raise NeedsCompiler(_only_the_compiler_knows(decl.kind, decl.name, decl))
        size, align, placed = layout(decl.kind, fields, packed=decl.packed,
                                     pack=decl.pack, align=decl.align)
        if decl.typedef_align is not None:
            align = max(align, decl.typedef_align)
        return size, align, placed

    def array_length(self, owner, node):
        if owner is not None and owner[0] == "field":
            raise NeedsCompiler(_only_the_compiler_knows(owner[1], owner[2], node))
        raise NeedsCompiler(CDefError(
            "%s: the array length '[...]'%s is only known to the C compiler (declare it "
            "with a length, or use API mode: set_source())"
            % (_describe_owner(owner), _at(node))))

    def enum_integer_type(self, decl, values):
        if decl.partial:
            raise NeedsCompiler(_only_the_compiler_knows("enum", decl.name, decl))
        return _gcc_enum_type(values, self._primitive_size)

    def unknown_primitive(self, node):
        raise NeedsCompiler(NotImplementedError(
            "%s type '%s'%s can only be used after compilation"
            % (node.kind, node.name, _at(node))))

    def constant_value(self, decl):
        raise NeedsCompiler(NotImplementedError(
            "constant '%s' is only known to the C compiler ('...' in the cdef): use API "
            "mode (set_source())" % decl.name))


def _at(node):
    """' (cdef line L, column C)' where a node was declared, if known."""
    if not getattr(node, "line", 0):
        return ""
    return " (cdef line %d, column %d)" % (node.line, node.column)


def _only_the_compiler_knows(kind, tag, where):
    """VerificationMissing, as cffi raises it, for a struct/union/enum declared with
    '...' (where: the node that has the '...', for its position)."""
    name = tag[1:] if tag.startswith("$") else "%s %s" % (kind, tag)
    at = " at " + _at(where)[2:-1] if getattr(where, "line", 0) else ""
    return VerificationMissing("%s: only the C compiler knows its layout or values "
                               "('...'%s); use API mode (set_source())" % (name, at))


def _gcc_enum_type(values, primitive_size):
    """The integer type gcc gives an enum: unsigned int when no value is negative,
    else int; the next wider type when the values do not fit."""
    low = min(values, default=0)
    high = max(values, default=0)
    candidates = (["unsigned int", "unsigned long", "unsigned long long"] if low >= 0
                  else ["int", "long", "long long"])
    for name in candidates:
        bits = BITS_PER_BYTE * primitive_size(name)
        if low >= 0 and high < (1 << bits):
            return name
        if low < 0 and -(1 << (bits - 1)) <= low and high < (1 << (bits - 1)):
            return name
    raise CDefError("enum values do not fit in any integer type: %r..%r" % (low, high))
