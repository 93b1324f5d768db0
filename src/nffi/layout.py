"""Struct and union layout: where the C compiler puts each member, and how big it is.

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
* In a union every member is at offset 0; a bit-field occupies ``ceil(width / 8)``
  bytes of it.  An empty struct or union has size 0 and alignment 1 (gcc extension).

Bit-field positions are reported the way cffi's introspection does (see FieldLayout).
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

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
           pack: Optional[int] = None) -> Tuple[int, int, List[FieldLayout]]:
    """Lay out a struct or union the way gcc does.

    kind is "struct" or "union"; packed is __attribute__((packed)) on the aggregate;
    pack is N of an enclosing '#pragma pack(N)' (None when there is none).
    Returns (size, alignment, one FieldLayout per field in order).  Raises
    ValueError for declarations gcc rejects (bad bit-field widths, misplaced flexible
    array members).
    """
    _check_declaration(kind, fields, pack)
    record = _Record(kind, packed, pack)
    placed = [record.place(spec) for spec in fields]
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
        """Effective alignment of a member: packed -> 1, pack(N) -> min(align, N)."""
        if self.packed:
            return 1
        if self.pack is not None:
            return min(spec.align, self.pack)
        return spec.align

    def _bitfield_record_align(self, spec):
        """What a named bit-field contributes to the aggregate's alignment.

        gcc (update_alignment_for_field) tests '#pragma pack' before 'packed', so
        under both it is min(align, N), not 1.
        """
        if self.pack is not None:
            return min(spec.align, self.pack)
        if self.packed:
            return 1
        return spec.align

    def _integer_mode_align(self, spec, position):
        """gcc (layout_decl) gives a bit-field exactly as wide as an integer mode
        (8, 16, 32, 64 or 128 bits) that mode's alignment -- its width, on x86-64 and
        AArch64 -- when the position before any PCC move is already that aligned, and
        a named one passes it on to the aggregate.  It only shows with types aligned
        below their size (e.g. a 'long long' typedef with aligned(4)): otherwise the
        type's own alignment is at least as large."""
        if spec.bitsize not in (8, 16, 32, 64, 128) or self.packed:
            return 1
        if position % spec.bitsize:
            return 1
        mode_align = spec.bitsize // BITS_PER_BYTE
        return mode_align if self.pack is None else min(mode_align, self.pack)

    def _bitfield_may_move(self):
        """The PCC rule (no straddling) applies only without packed / #pragma pack."""
        return not self.packed and self.pack is None

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
        if spec.name:
            self.align = max(self.align, self._bitfield_record_align(spec),
                             self._integer_mode_align(spec, position))
        if self.is_union:
            self.end_bit = max(self.end_bit, _round_up(spec.bitsize, BITS_PER_BYTE))
            return self._bitfield_layout(spec, 0)
        start = position
        if self._bitfield_may_move() and _spans_too_many_units(start, spec):
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
