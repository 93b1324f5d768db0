"""nffi.layout against the real C compiler.

Every case is written once as a small declaration model (Aggregate / Member below),
rendered to C for gcc and turned into FieldSpecs for layout(); then the size, the
alignment, every named member's offset and every named bit-field's bit position and
width must agree.  Hand-written cases are compiled together in one program; the
hypothesis test compiles one program per batch of random declarations.
"""
import functools
import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from typing import List, Optional, Union

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)     # for 'import cc' without a tests/__init__.py
import cc  # noqa: E402


def _import_layout_module():
    """nffi.layout, by file path if the nffi package itself cannot be imported (its
    __init__ may need the native core, which layout.py does not)."""
    try:
        from nffi import layout as module
        return module
    except ImportError:
        path = os.path.join(TESTS_DIR, os.pardir, "src", "nffi", "layout.py")
        spec = importlib.util.spec_from_file_location("nffi_layout_by_path", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module     # dataclasses look their module up
        spec.loader.exec_module(module)
        return module


nffi_layout = _import_layout_module()
FieldSpec, FieldLayout, layout = (nffi_layout.FieldSpec, nffi_layout.FieldLayout,
                                  nffi_layout.layout)


# ---- C types whose size and alignment gcc tells us ----------------------------------------

C_PRELUDE = """
typedef void (*nffi_fnptr)(void);
enum nffi_enum { NFFI_E0, NFFI_E1 = 5 };
enum __attribute__((packed)) nffi_small_enum { NFFI_S0, NFFI_S1 };
typedef long long nffi_ll_align4 __attribute__((aligned(4)));   /* size 8, align 4 */
"""

INTEGER_TYPES = [
    "char", "signed char", "unsigned char", "short", "unsigned short", "int",
    "unsigned int", "long", "unsigned long", "long long", "unsigned long long",
    "_Bool", "__int128", "unsigned __int128", "enum nffi_enum", "enum nffi_small_enum",
]
OTHER_TYPES = [
    "float", "double", "long double", "float _Complex", "double _Complex",
    "long double _Complex", "void *", "char *", "nffi_fnptr",
]
BITFIELD_TYPES = INTEGER_TYPES + ["nffi_ll_align4"]
ORDINARY_TYPES = INTEGER_TYPES + OTHER_TYPES


@functools.lru_cache(maxsize=None)
def primitive_sizes():
    """{C type: (sizeof, _Alignof)} measured with gcc in one program."""
    names = INTEGER_TYPES + OTHER_TYPES + ["nffi_ll_align4"]
    exprs = [e for name in names for e in ("sizeof(%s)" % name, "_Alignof(%s)" % name)]
    values = cc.c_values(C_PRELUDE, exprs)
    return {name: (values[2 * i], values[2 * i + 1]) for i, name in enumerate(names)}


# ---- declaration model ----------------------------------------------------------------------

@dataclass
class Member:
    name: str                                # "" for unnamed bit-fields / anonymous members
    ctype: Union[str, "Aggregate"]          # a C type name, or an anonymous Aggregate
    length: Optional[int] = None             # array length; None: not an array
    bitsize: Optional[int] = None
    flexible: bool = False                   # 'T name[]'
    align: Optional[int] = None              # __attribute__((aligned(N))) on the member
    packed: bool = False                     # __attribute__((packed)) on the member

    def c_declaration(self):
        if isinstance(self.ctype, Aggregate):
            return self.ctype.c_definition(indent="    ").rstrip() + ";"
        text = "%s %s" % (self.ctype, self.name)
        if self.flexible:
            text += "[]"
        elif self.length is not None:
            text += "[%d]" % self.length
        if self.bitsize is not None:
            text += " : %d" % self.bitsize
        if self.align is not None:
            text += " __attribute__((aligned(%d)))" % self.align
        if self.packed:
            text += " __attribute__((packed))"
        return text.rstrip() + ";"


@dataclass(repr=False)
class Aggregate:
    kind: str                                # "struct" or "union"
    tag: str                                 # "" for an anonymous member
    members: List[Member] = field(default_factory=list)
    packed: bool = False
    pack: Optional[int] = None               # '#pragma pack(N)' around the definition
    align: Optional[int] = None              # __attribute__((aligned(N))) on the aggregate

    def __repr__(self):
        # Short, for hypothesis' "falsifying example"; failures print the C source.
        return "<%s>" % self.c_type.strip()

    @property
    def c_type(self):
        return "%s %s" % (self.kind, self.tag)

    def c_definition(self, indent=""):
        attribute = " __attribute__((packed))" if self.packed else ""
        if self.align is not None:
            attribute += " __attribute__((aligned(%d)))" % self.align
        tag = " " + self.tag if self.tag else ""
        body = "".join("%s    %s\n" % (indent, member.c_declaration())
                       for member in self.members)
        return "%s%s%s {\n%s%s}" % (self.kind, attribute, tag, body, indent)

    def c_source(self):
        """The top-level definition, inside its '#pragma pack' region if any."""
        text = self.c_definition() + ";\n"
        if self.pack is not None:
            text = "#pragma pack(push, %d)\n%s#pragma pack(pop)\n" % (self.pack, text)
        return text


class TypeTable:
    """Sizes and alignments of primitives (from gcc) and of aggregates (from layout())."""

    def __init__(self):
        self.sizes = dict(primitive_sizes())

    def add(self, aggregate):
        size, align, _ = compute_layout(aggregate, self)
        self.sizes[aggregate.c_type] = (size, align)

    def size_align(self, ctype):
        if isinstance(ctype, Aggregate):
            size, align, _ = compute_layout(ctype, self)
            return size, align
        if ctype.endswith("*"):
            return self.sizes["void *"]
        return self.sizes[ctype]


def field_spec(member, types):
    size, align = types.size_align(member.ctype)
    if member.flexible:
        size = 0
    elif member.length is not None:
        size *= member.length
    return FieldSpec(member.name, size, align, member.bitsize, member.flexible,
                     member.align, member.packed)


def compute_layout(aggregate, types):
    specs = [field_spec(member, types) for member in aggregate.members]
    return layout(aggregate.kind, specs, packed=aggregate.packed, pack=aggregate.pack,
                  align=aggregate.align)


# ---- what gcc must agree with -----------------------------------------------------------------

def expectations(aggregate, types):
    """[(C expression, value layout() predicts)] for one top-level aggregate."""
    size, align, placed = compute_layout(aggregate, types)
    c_type = aggregate.c_type
    expected = [("sizeof(%s)" % c_type, size), ("_Alignof(%s)" % c_type, align)]
    expected += _member_expectations(c_type, aggregate, placed, 0, types)
    return expected


def _member_expectations(c_type, aggregate, placed, base_bit, types):
    """Offsets of named members, descending into anonymous members (whose members
    are reached by name from the enclosing type)."""
    expected = []
    for member, where in zip(aggregate.members, placed):
        start_bit = base_bit + 8 * where.offset
        if isinstance(member.ctype, Aggregate):
            _, _, inner = compute_layout(member.ctype, types)
            expected += _member_expectations(c_type, member.ctype, inner, start_bit, types)
        elif member.name and member.bitsize is not None:
            expected.append((cc.bitfield_pos(c_type, member.name),
                             start_bit + where.bitshift))
            expected.append((cc.bitfield_width(c_type, member.name), member.bitsize))
        elif member.name:
            expected.append(("offsetof(%s, %s)" % (c_type, member.name), start_bit // 8))
    return expected


def compare_with_gcc(aggregates):
    """Compile all aggregates (dependencies first) into one program.  Return
    {tag: report} for the aggregates on which layout() and gcc disagree; a report
    holds the C definitions of the aggregate and of those it uses, and the values."""
    types = TypeTable()
    checks = []
    for aggregate in aggregates:
        checks.append((aggregate, expectations(aggregate, types)))
        types.add(aggregate)
    declarations = C_PRELUDE + "".join(a.c_source() for a in aggregates)
    exprs = [expr for _, expected in checks for expr, _ in expected]
    actual = iter(cc.c_values(declarations, exprs))
    by_type = {a.c_type: a for a in aggregates}
    failures = {}
    for aggregate, expected in checks:
        wrong = ["  %s: layout() says %d, gcc says %d" % (expr, value, gcc_value)
                 for (expr, value), gcc_value in zip(expected, actual)
                 if value != gcc_value]
        if wrong:
            sources = [a.c_source() for a in dependencies(aggregate, by_type)]
            failures[aggregate.tag] = "".join(sources) + "\n".join(wrong)
    return failures


def dependencies(aggregate, by_type):
    """The named aggregates `aggregate` uses (transitively), then itself."""
    result = []
    for member in aggregate.members:
        if isinstance(member.ctype, Aggregate):
            inner = dependencies(member.ctype, by_type)[:-1]
        else:
            inner = dependencies(by_type[member.ctype], by_type) \
                if member.ctype in by_type else []
        result += [a for a in inner if a not in result]
    return result + [aggregate]


def describe_failures(failures, limit=3):
    return "\n\n".join(list(failures.values())[:limit])


# ---- hand-written cases ----------------------------------------------------------------------

def parse_member(text):
    """'unsigned int b : 3', 'int : 0', 'double x[]', 'char *p[4]' -> Member."""
    text = text.strip()
    bitsize = length = None
    flexible = False
    match = re.search(r":\s*(\d+)$", text)
    if match:
        bitsize, text = int(match.group(1)), text[:match.start()].strip()
    match = re.search(r"\[(\d*)\]$", text)
    if match:
        if match.group(1):
            length = int(match.group(1))
        else:
            flexible = True
        text = text[:match.start()].strip()
    match = re.match(r"(.*?)\s*\b([A-Za-z_]\w*)$", text)
    if bitsize is not None and (text in BITFIELD_TYPES or not match):
        return Member("", text, bitsize=bitsize)          # unnamed bit-field
    ctype, name = match.group(1).strip(), match.group(2)
    return Member(name, ctype, length, bitsize, flexible)


def parse_members(body):
    """'char a; int b:3;' -> [Member]; an Aggregate in a list is an anonymous member."""
    if isinstance(body, str):
        body = [body]
    members = []
    for part in body:
        if isinstance(part, Aggregate):
            members.append(Member("", part))
        else:
            members += [parse_member(m) for m in part.split(";") if m.strip()]
    return members


def struct(tag, body, packed=False, pack=None, kind="struct"):
    return Aggregate(kind, tag, parse_members(body), packed, pack)


def union(tag, body, packed=False, pack=None):
    return struct(tag, body, packed, pack, kind="union")


def with_attributes(aggregate, align=None, members=()):
    """GNU attributes (what real headers use): aligned(N) on the aggregate; members
    is [(index, align, packed)] for aligned(N) / packed on members."""
    aggregate.align = align
    for index, member_align, member_packed in members:
        aggregate.members[index].align = member_align
        aggregate.members[index].packed = member_packed
    return aggregate


HAND_CASES = {
    # ordinary members, natural alignment
    "empty_struct": [struct("h_empty", "")],
    "empty_union": [union("h_empty_u", "")],
    "char_int": [struct("h_ci", "char a; int b; char c;")],
    "all_scalars": [struct("h_scalars", "char a; short b; char c; int d; char e; long f; "
                           "char g; long long h; char i; float j; char k; double l; "
                           "char m; void *n; char o; _Bool p; char q; nffi_fnptr r;")],
    "long_double": [struct("h_ld", "char a; long double b; char c;")],
    "int128": [struct("h_i128", "char a; __int128 b; short c;")],
    "complex": [struct("h_cplx", "char a; float _Complex b; char c; double _Complex d; "
                       "char e; long double _Complex f;")],
    "arrays": [struct("h_arr", "char a[3]; short b[3]; char c; long double d[2]; char e;")],
    "union_basic": [union("h_u", "char a; int b; double c; char d[13];")],
    "union_long_double": [union("h_uld", "char a[17]; long double b;")],
    "nested": [struct("h_in", "char a; double b;"),
               struct("h_out", "char a; struct h_in b; char c; struct h_in d[2]; char e;")],
    "nested_union": [union("h_inu", "char a[5]; short b;"),
                     struct("h_outu", "char a; union h_inu b; char c;")],
    "anonymous_members": [struct("h_anon", ["char a;",
                                            Aggregate("union", "", parse_members(
                                                "int b; char c[7];")),
                                            "char d;",
                                            Aggregate("struct", "", parse_members(
                                                "char e; long long f : 5; char g;")),
                                            "char h;"])],
    # bit-fields of every type
    "bool_bits": [struct("h_bool", "_Bool a : 1; _Bool b : 1; char c; _Bool : 0; _Bool d : 1;")],
    "char_bits": [struct("h_charb", "char a : 3; signed char b : 4; unsigned char c : 2; "
                         "char d : 8;")],
    "short_bits": [struct("h_shortb", "short a : 9; short b : 9; unsigned short c : 16;")],
    "int_bits": [struct("h_intb", "int a : 1; unsigned int b : 31; int c : 2; "
                         "unsigned int d : 32;")],
    "long_bits": [struct("h_longb", "long a : 33; unsigned long b : 33; long c : 64;")],
    "long_long_bits": [struct("h_llb", "char a; long long b : 60; unsigned long long c : 4;")],
    "int128_bits": [struct("h_i128b", "char a; __int128 b : 100; unsigned __int128 c : 30;")],
    "enum_bits": [struct("h_enumb", "enum nffi_enum a : 3; char b; "
                         "enum nffi_small_enum c : 7; enum nffi_small_enum d : 2;")],
    "straddling": [struct("h_strad", "char a; int b : 25; short c : 10; short d : 7; "
                          "long long e : 40; long long f : 30;")],
    "bits_then_ordinary": [struct("h_bto", "int a : 3; char b; int c : 5; double d; "
                                  "short e : 1;")],
    "mixed_types_share": [struct("h_share", "char a : 4; int b : 4; long long c : 4; "
                                 "short d : 4;")],
    "only_char_bits": [struct("h_onlyc", "char a : 1;")],
    "only_int_bits": [struct("h_onlyi", "int a : 1;")],
    # unnamed and zero-width bit-fields
    "unnamed_no_align": [struct("h_unnamed", "char a; int : 3; char b;")],
    "unnamed_only": [struct("h_unnamed2", "long long : 40;")],
    "zero_width": [struct("h_zero", "char a; int : 0; char b;")],
    "zero_width_ll": [struct("h_zero_ll", "int a : 3; long long : 0; int b : 3;")],
    "zero_width_first": [struct("h_zero_first", "int : 0; char a;")],
    "zero_width_aligned": [struct("h_zero_al", "int a; int : 0; char b;")],
    "zero_width_end": [struct("h_zero_end", "short a : 9; int : 0;")],
    "zero_width_char": [struct("h_zero_char", "char a : 3; char : 0; char b : 3;")],
    "zero_width_union": [union("h_zero_u", "char a; long long : 0;")],
    "unnamed_union": [union("h_unnamed_u", "char a; int : 20;")],
    "bitfield_union": [union("h_bits_u", "char a; int b : 20; long long c : 3;")],
    # packed
    "packed": [struct("h_packed", "char a; int b; short c; double d;", packed=True)],
    "packed_bits": [struct("h_packed_bits", "char a; int b : 4; int c : 20;", packed=True)],
    "packed_straddle": [struct("h_packed_str", "char a : 7; int b : 30; long long c : 60; "
                               "char d;", packed=True)],
    "packed_zero_width": [struct("h_packed_zero", "char a; int : 0; char b;", packed=True)],
    "packed_union": [union("h_packed_u", "char a; int b; long double c;", packed=True)],
    "packed_nested": [struct("h_pn_in", "char a; int b;"),
                      struct("h_pn_out", "char a; struct h_pn_in b;", packed=True)],
    # #pragma pack(N)
    "pack1": [struct("h_pack1", "char a; int b; short c; double d;", pack=1)],
    "pack2": [struct("h_pack2", "char a; int b; short c; double d;", pack=2)],
    "pack4": [struct("h_pack4", "char a; double b; long double c;", pack=4)],
    "pack8": [struct("h_pack8", "char a; double b; long double c;", pack=8)],
    "pack16": [struct("h_pack16", "char a; long double b;", pack=16)],
    "pack2_bits": [struct("h_pack2_bits", "char a; long long b : 40; short c : 12;", pack=2)],
    "pack4_bits": [struct("h_pack4_bits", "char a; int b : 30; long long c : 40;", pack=4)],
    "pack1_bits": [struct("h_pack1_bits", "char a : 3; long long b : 62; int c : 9;", pack=1)],
    "pack_zero_width": [struct("h_pack_zero", "char a; long long : 0; char b;", pack=1)],
    "pack_and_packed_bits": [struct("h_pack_packed", "char a; int b : 4; char c;",
                                    packed=True, pack=4)],
    "pack_union_bits": [union("h_pack_u", "char a; long long b : 40;", pack=2)],
    # flexible array members
    "flexible": [struct("h_flex", "char a; int b[];")],
    "flexible_padding": [struct("h_flex_pad", "int a; char b; long double c[];")],
    "flexible_after_bits": [struct("h_flex_bits", "char a : 3; short b[];")],
    "flexible_packed": [struct("h_flex_packed", "char a; double b[];", packed=True)],
    "flexible_pack2": [struct("h_flex_pack2", "char a; double b[];", pack=2)],
    # types whose size is not their alignment (gcc's excess_unit_span in general)
    "align4_long_long_bits": [struct("h_ll4", "char a; nffi_ll_align4 b : 60; "
                                     "nffi_ll_align4 c : 20; nffi_ll_align4 d : 40;")],
    # ...and a bit-field as wide as an integer mode, on a boundary of that width,
    # aligns the aggregate to its width (gcc's layout_decl)
    "integer_mode_align": [struct("h_mode", "nffi_ll_align4 a : 64;")],
    "integer_mode_align_union": [union("h_mode_u", "char c; nffi_ll_align4 a : 64;")],
    "integer_mode_align_pack": [struct("h_mode_p", "nffi_ll_align4 a : 64;", pack=2)],
    "integer_mode_off_boundary": [struct("h_mode_off", "int x; nffi_ll_align4 a : 64;")],
    "integer_mode_unnamed": [struct("h_mode_un", "nffi_ll_align4 : 64; char c;")],
    # GNU attributes of real headers: aligned(N) and packed on members, aligned(N) on
    # the aggregate, with packed and #pragma pack around them
    "member_aligned": [with_attributes(struct("h_mal", "char a; int b; char c;"),
                                       members=[(1, 16, False)])],
    "member_aligned_packed": [with_attributes(struct("h_malp", "char a; long b; char c;",
                                                     packed=True), members=[(1, 8, False)])],
    "member_aligned_pack2": [with_attributes(struct("h_malp2", "char a; long b; int c;",
                                                    pack=2), members=[(1, 8, False)])],
    "member_packed": [with_attributes(struct("h_mp", "char a; int b; short c;"),
                                      members=[(1, None, True)])],
    "member_aligned_union": [with_attributes(union("h_malu", "char a; int b;"),
                                             members=[(0, 32, False)])],
    "aggregate_aligned": [with_attributes(struct("h_aa", "char a; int b;"), align=32)],
    "aggregate_aligned_packed": [with_attributes(struct("h_aap", "char a; int b;",
                                                        packed=True), align=2)],
    "aggregate_aligned_pack1": [with_attributes(struct("h_aap1", "char a; int b;", pack=1),
                                                align=8)],
    "aggregate_aligned_nested": [with_attributes(struct("h_aan_in", "char a;"), align=8),
                                 struct("h_aan_out", "char a; struct h_aan_in b; char c;")],
    # an anonymous member with no named member still takes its room
    "anonymous_unnamed_only": [struct("h_anon_un", ["char a;", Aggregate(
        "struct", "", parse_members("int : 3;")), "char b;"])],
}


@pytest.fixture(scope="module")
def hand_failures():
    """{case: failures}, all hand-written cases compiled as one program."""
    everything = [agg for aggregates in HAND_CASES.values() for agg in aggregates]
    tags = [agg.tag for agg in everything]
    assert len(tags) == len(set(tags)), "hand-written cases must use distinct tags"
    failures = compare_with_gcc(everything)
    return {name: {a.tag: failures[a.tag] for a in aggregates if a.tag in failures}
            for name, aggregates in HAND_CASES.items()}


@pytest.mark.parametrize("case", sorted(HAND_CASES))
def test_hand_written_case_matches_gcc(case, hand_failures):
    assert not hand_failures[case], "\n" + describe_failures(hand_failures[case])


# ---- the convention callers rely on (checked against cffi 2.0) ------------------------------

def test_bitfield_offsets_round_down_to_the_effective_alignment():
    fields = [FieldSpec("a", 1, 1), FieldSpec("b", 8, 8, 40), FieldSpec("c", 2, 2, 12)]
    assert layout("struct", fields, pack=2) == (8, 2, [
        FieldLayout(0, -1, -1), FieldLayout(0, 8, 40), FieldLayout(6, 0, 12)])


def test_packed_bitfields_report_byte_offsets():
    fields = [FieldSpec("a", 1, 1), FieldSpec("b", 4, 4, 4), FieldSpec("c", 4, 4, 20)]
    assert layout("struct", fields, packed=True) == (4, 1, [
        FieldLayout(0, -1, -1), FieldLayout(1, 0, 4), FieldLayout(1, 4, 20)])


def test_unpacked_bitfield_offset_is_aligned_to_its_type():
    fields = [FieldSpec("a", 1, 1), FieldSpec("b", 2, 2, 3), FieldSpec("c", 4, 4, 9)]
    size, align, placed = layout("struct", fields)
    assert (size, align) == (4, 4)
    assert placed[1:] == [FieldLayout(0, 8, 3), FieldLayout(0, 11, 9)]


def test_zero_width_bitfield_reports_its_position():
    fields = [FieldSpec("a", 1, 1), FieldSpec("", 4, 4, 0), FieldSpec("b", 1, 1)]
    assert layout("struct", fields)[2] == [
        FieldLayout(0, -1, -1), FieldLayout(4, 0, 0), FieldLayout(4, -1, -1)]


# ---- declarations gcc rejects -----------------------------------------------------------------

REJECTED = [
    ("struct", [FieldSpec("a", 4, 4, 33)], "exceeds its type"),
    ("struct", [FieldSpec("a", 1, 1, 9)], "exceeds its type"),
    ("union", [FieldSpec("", 2, 2, 17)], "exceeds its type"),
    ("struct", [FieldSpec("a", 4, 4, 0)], "zero width"),
    ("struct", [FieldSpec("a", 4, 4, -1)], "negative width"),
    ("struct", [FieldSpec("", 4, 4, -2)], "negative width"),
    ("struct", [FieldSpec("x", 0, 4, flexible=True), FieldSpec("a", 4, 4)], "not at the end"),
    ("union", [FieldSpec("a", 4, 4), FieldSpec("x", 0, 4, flexible=True)], "in a union"),
]


@pytest.mark.parametrize("kind, fields, message", REJECTED)
def test_invalid_declarations_raise_value_error(kind, fields, message):
    with pytest.raises(ValueError, match=message):
        layout(kind, fields)


@pytest.mark.parametrize("declaration", [
    "struct s { int a : 33; };",
    "struct s { char a : 9; };",
    "struct s { int a : 0; };",
    "struct s { int a : -1; };",
    "struct s { int x[]; int a; };",
    "union s { int a; int x[]; };",
])
def test_gcc_rejects_them_too(declaration):
    with pytest.raises(cc.CompileError):
        cc.compile_c(declaration + "\nint main(void) { return 0; }\n")


@pytest.mark.parametrize("arguments", [
    dict(kind="class"), dict(pack=3), dict(pack=0), dict(pack=-4)])
def test_bad_arguments_raise_value_error(arguments):
    kind = arguments.pop("kind", "struct")
    with pytest.raises(ValueError):
        layout(kind, [FieldSpec("a", 4, 4)], **arguments)


# ---- random declarations ----------------------------------------------------------------------
#
# Strategies are built once at module level and members are drawn by plain functions:
# creating strategy objects per draw made generation several times slower.  Shrinking
# is off: a 60-aggregate program shrinks slowly, and each failure report already
# isolates the aggregate that differs together with the definitions it uses.

KINDS = st.sampled_from(["struct", "union"])
PACKS = st.sampled_from([None, None, None, None, 1, 2, 4, 8, 16])
PERCENT = st.integers(0, 99)
ARRAY_LENGTHS = st.integers(1, 4)
MEMBER_COUNTS = [st.integers(0, 8), st.integers(1, 6), st.integers(1, 4)]   # by depth
BITFIELD_TYPE = st.sampled_from(BITFIELD_TYPES)
ORDINARY_TYPE = st.sampled_from(ORDINARY_TYPES)


ATTRIBUTE_ALIGNMENTS = st.sampled_from([1, 2, 4, 8, 16, 32])


@functools.lru_cache(maxsize=None)
def widths_up_to(max_width):
    """Any legal width, with the edges (0, 1, half, full) drawn more often."""
    edges = sorted({0, 1, max_width // 2, max_width})
    return st.one_of(st.integers(0, max_width), st.sampled_from(edges))


def draw_bitfield(draw):
    ctype = draw(BITFIELD_TYPE)
    max_width = 1 if ctype == "_Bool" else 8 * primitive_sizes()[ctype][0]
    width = draw(widths_up_to(max_width))
    named = width > 0 and draw(PERCENT) < 80       # 'T name : 0' is invalid
    member = Member("?" if named else "", ctype, bitsize=width)
    roll = draw(PERCENT)        # GNU attributes on named bit-fields, now and then
    if named and roll < 6:
        member.align = draw(ATTRIBUTE_ALIGNMENTS)
    elif named and roll < 10:
        member.packed = True
    return member


def draw_element_type(draw, nested_types):
    if nested_types and draw(PERCENT) < 25:
        return draw(st.sampled_from(nested_types))
    return draw(ORDINARY_TYPE)


def draw_ordinary(draw, nested_types):
    ctype = draw_element_type(draw, nested_types)
    length = draw(ARRAY_LENGTHS) if draw(PERCENT) < 25 else None
    member = Member("?", ctype, length)
    roll = draw(PERCENT)        # GNU attributes of real headers, now and then
    if roll < 8:
        member.align = draw(ATTRIBUTE_ALIGNMENTS)
    elif roll < 12:
        member.packed = True
    return member


def draw_anonymous(draw, pack, depth, nested_types):
    # '#pragma pack' is lexical: an anonymous member defined inside inherits it.
    members = draw_members(draw, pack, depth + 1, nested_types)
    inner = Aggregate(draw(KINDS), "", members, draw(PERCENT) < 25, pack)
    return Member("", inner)


def draw_members(draw, pack, depth, nested_types):
    members = []
    for _ in range(draw(MEMBER_COUNTS[depth])):
        roll = draw(PERCENT)
        if roll < 50:
            members.append(draw_bitfield(draw))
        elif roll < 88 or depth == len(MEMBER_COUNTS) - 1:
            members.append(draw_ordinary(draw, nested_types))
        else:
            members.append(draw_anonymous(draw, pack, depth, nested_types))
    return members


def draw_aggregate(draw, tag, nested_types):
    """A top-level struct or union, which may use the already defined nested_types."""
    kind, packed, pack = draw(KINDS), draw(PERCENT) < 25, draw(PACKS)
    members = draw_members(draw, pack, 0, nested_types)
    if kind == "struct" and draw(PERCENT) < 15:
        # gcc wants a named member before a flexible array member
        members = ([Member("?", "char")] + members
                   + [Member("?", draw_element_type(draw, nested_types), flexible=True)])
    aggregate = Aggregate(kind, tag, members, packed, pack)
    if draw(PERCENT) < 8:
        aggregate.align = draw(ATTRIBUTE_ALIGNMENTS)
    return name_members(aggregate)


def name_members(aggregate):
    """Replace each "?" name by a unique one (anonymous members share the enclosing
    struct's namespace)."""
    counter = iter(range(10 ** 6))

    def visit(agg):
        for member in agg.members:
            if member.name == "?":
                member.name = "f%d" % next(counter)
            if isinstance(member.ctype, Aggregate):
                visit(member.ctype)
    visit(aggregate)
    return aggregate


@st.composite
def programs(draw, size):
    """`size` top-level aggregates; later ones may nest earlier ones."""
    result, nestable = [], []
    for index in range(size):
        aggregate = draw_aggregate(draw, "r%d" % index, nestable)
        result.append(aggregate)
        if not any(m.flexible for m in aggregate.members):
            nestable.append(aggregate.c_type)     # keep structs with a FAM unnested
    return result


AGGREGATES_PER_PROGRAM = 60
PROGRAMS_PER_RUN = 8


@settings(max_examples=PROGRAMS_PER_RUN, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(AGGREGATES_PER_PROGRAM))
def test_random_declarations_match_gcc(aggregates):
    failures = compare_with_gcc(aggregates)
    assert not failures, "\n" + describe_failures(failures)


@settings(max_examples=300, deadline=None, database=None)
@given(programs(1))
def test_bitfield_reports_follow_the_convention(aggregates):
    """offset is a multiple of the effective alignment; bitshift is what remains."""
    (aggregate,) = aggregates
    types = TypeTable()
    _, _, placed = compute_layout(aggregate, types)
    for member, where in zip(aggregate.members, placed):
        if member.bitsize is None:
            assert (where.bitshift, where.bitsize) == (-1, -1)
            continue
        _, align = types.size_align(member.ctype)
        effective = 1 if (aggregate.packed or member.packed) else align
        effective = max(effective, member.align or 1)
        effective = min(effective, aggregate.pack or effective)
        assert where.offset % effective == 0
        assert 0 <= where.bitshift < 8 * effective
        assert where.bitsize == member.bitsize
