"""nffi.lltype: types, value classes, pointer objects, raw memory, leak tracking.

Ports the untranslated checks of RPython's test_lltype.py / test_ll2ctypes.py that
rffi-api.md keeps, plus a test for every error the spec names.  Layouts are checked
against the system C compiler (tests/cc.py).
"""
import sys

import pytest
from hypothesis import given, strategies as st

import cc
from nffi import lltype, rffi
from nffi.lltype import (Array, Bool, Char, FixedSizeArray, Float, ForwardReference,
                         FuncType, OpaqueType, Ptr, Signed, SingleFloat, Struct, Typedef,
                         UniChar, Unsigned, Void, free, malloc, nullptr, typeOf)

LP64 = sys.maxsize > 2**32


pytestmark = pytest.mark.usefixtures("rffi_no_leaks")


# -- value classes (1.2) -------------------------------------------------------------

def test_unsigned_wraps_signed_overflows():
    assert rffi.r_uchar(300) == 44
    assert rffi.r_size_t(-1) == 2**64 - 1
    assert lltype.r_uint(-1) == 2**64 - 1
    with pytest.raises(OverflowError):
        rffi.r_short(40000)
    with pytest.raises(OverflowError):
        rffi.r_int(2**31)
    with pytest.raises(OverflowError):
        rffi.r_long(2**63)
    assert rffi.r_int(3.9) == 3 and rffi.r_int(-3.9) == -3


def test_arithmetic_keeps_class():
    x = rffi.r_uchar(250) + 10
    assert x == 4 and type(x) is rffi.r_uchar
    assert type(rffi.r_short(3) * 2) is rffi.r_short
    with pytest.raises(OverflowError):
        rffi.r_short(32767) + 1
    assert type(rffi.r_short(1) + rffi.r_int(1)) is rffi.r_int      # wider wins
    with pytest.raises(TypeError):
        rffi.r_int(1) + rffi.r_uint(1)
    assert type(rffi.r_int(1) + 0.5) is float
    assert rffi.r_int(7) / 2 == 3.5
    assert ~lltype.r_uint(0) == 2**64 - 1
    assert type(-rffi.r_uchar(1)) is rffi.r_uchar and -rffi.r_uchar(1) == 255
    assert divmod(rffi.r_int(7), 2) == (3, 1)
    assert type(1 - rffi.r_uint(2)) is rffi.r_uint
    assert int(rffi.r_int(5)) == 5 and type(int(rffi.r_int(5))) is int
    assert hash(rffi.r_int(5)) == hash(5)
    assert lltype.r_uint(1) << 64 == 0


def test_intmask():
    assert lltype.intmask(2**64 - 1) == -1
    assert lltype.intmask(2**63) == -2**63
    assert type(lltype.intmask(rffi.r_uint(5))) is int


def test_singlefloat_is_a_black_box():
    f = lltype.r_singlefloat(0.1)
    assert float(f) != 0.1 and abs(float(f) - 0.1) < 1e-7
    assert f == lltype.r_singlefloat(0.1)
    with pytest.raises(TypeError):
        bool(f)
    with pytest.raises(TypeError):
        f < f


@given(st.integers(-2**63, 2**64 - 1), st.sampled_from(
    [rffi.SIGNEDCHAR, rffi.UCHAR, rffi.SHORT, rffi.USHORT, rffi.INT, rffi.UINT,
     rffi.LONG, rffi.ULONG]))
def test_cast_wraps_like_c(value, T):
    bits = rffi.sizeof(T) * 8
    expected = value & ((1 << bits) - 1)
    if T._signed and expected >> (bits - 1):
        expected -= 1 << bits
    assert rffi.cast(T, value) == expected


# -- typeOf (1.3) ----------------------------------------------------------------------

def test_typeof():
    assert typeOf(5) is Signed
    assert typeOf(True) is Bool
    assert typeOf(1.5) is Float
    assert typeOf(b"x") is Char
    assert typeOf("x") is UniChar
    assert typeOf(None) is Void
    assert typeOf(lltype.r_uint(1)) is Unsigned
    assert typeOf(rffi.r_int(1)) is rffi.INT
    assert typeOf(lltype.r_singlefloat(1.0)) is SingleFloat
    with pytest.raises(OverflowError):
        typeOf(2**63)
    with pytest.raises(TypeError):
        typeOf(b"xy")
    with pytest.raises(TypeError):
        typeOf(object())


def test_numbers_unique():
    if LP64:
        assert lltype.SignedLongLong is Signed
        assert lltype.UnsignedLongLong is Unsigned
        assert rffi.LONG is Signed and rffi.SIZE_T is Unsigned
    assert rffi.INT is not Signed
    assert lltype.build_number("FOO", "int") is rffi.INT


# -- types (1.4) -----------------------------------------------------------------------

def test_struct_errors():
    with pytest.raises(NameError):
        Struct("S", ("_x", Signed))
    with pytest.raises(TypeError):
        Struct("S", ("x", Signed), ("x", Signed))
    with pytest.raises(TypeError):
        Struct("S", ("a", Array(Signed)), ("x", Signed))
    V = Struct("V", ("x", Signed), ("a", Array(Char)))
    assert V._arrayfld == "a"
    with pytest.raises(TypeError):
        Struct("W", ("v", V))
    with pytest.raises(TypeError):
        Array(V)
    with pytest.raises(TypeError):
        Struct("S", ("f", FuncType([], Void)))
    S = Struct("S", ("x", Signed))
    assert S.x is Signed
    with pytest.raises(AttributeError):
        S.y


def test_structural_equality():
    S1 = Struct("S", ("x", Signed), ("y", Char))
    S2 = Struct("S", ("x", Signed), ("y", Char))
    assert S1 == S2 and hash(S1) == hash(S2)
    assert Ptr(S1) is Ptr(S2)
    assert Struct("S", ("x", Signed), hints={"a": 1}) != Struct("S", ("x", Signed))
    assert rffi.VOIDP != rffi.CCHARP
    assert Typedef(Signed, "my_t") == Signed and Signed == Typedef(Signed, "my_t")
    assert Typedef(Typedef(Signed, "a"), "b").OF is Signed
    with pytest.raises(TypeError):
        Ptr(Typedef(S1, "x"))
    with pytest.raises(TypeError):
        Ptr(Signed)


def test_funcype_and_opaque():
    with pytest.raises(TypeError):
        FuncType([Signed], Struct("S", ("x", Signed)))
    F = FuncType([Signed, Void], Char)
    assert F.ARGS == (Signed, Void) and F.RESULT is Char
    assert OpaqueType("foo").tag == "foo"


def test_forward_reference():
    F = ForwardReference()
    with pytest.raises(TypeError):
        hash(F)
    PF = Ptr(F)
    S = Struct("Node", ("next", PF), ("value", Signed))
    F.become(S)
    assert PF.TO == S
    with pytest.raises(TypeError):
        ForwardReference().become(Signed)
    a = malloc(S, zero=True)
    b = malloc(S, zero=True)
    a.next = b
    b.value = 42
    assert a.next.value == 42
    assert a.next == b
    assert not b.next
    free(a)
    free(b)


# -- pointers (1.5) --------------------------------------------------------------------

S = Struct("S", ("x", Signed), ("c", Char), ("f", Float), ("i", rffi.INT),
           ("p", rffi.CCHARP))


def test_struct_fields_and_exact_stores():
    p = malloc(S, zero=True)
    assert p.x == 0 and p.c == b"\x00" and p.f == 0.0
    assert type(p.i) is rffi.r_int and not p.p
    p.x = -7
    p.c = b"z"
    p.f = 2.5
    p.i = rffi.cast(rffi.INT, 5)
    assert (p.x, p.c, p.f, p.i) == (-7, b"z", 2.5, 5)
    with pytest.raises(TypeError):
        p.i = 5
    with pytest.raises(TypeError):
        p.x = 1.0
    with pytest.raises(TypeError):
        p.c = "z"
    with pytest.raises(AttributeError):
        p.nope
    with pytest.raises(AttributeError):
        p.nope = 1
    rffi.setintfield(p, "i", 2**32 + 3)
    assert p.i == 3 and rffi.getintfield(p, "i") == 3
    free(p)


def test_inlined_struct_is_a_view():
    Inner = Struct("Inner", ("a", Signed))
    Outer = Struct("Outer", ("tag", Char), ("inner", Inner), ("arr", FixedSizeArray(Signed, 3)))
    o = malloc(Outer, zero=True)
    o.inner.a = 5
    assert o.inner.a == 5
    o.arr[2] = 9
    assert o.arr[2] == 9 and len(o.arr) == 3 and o.arr.item2 == 9
    with pytest.raises(TypeError):
        o.inner = o.inner
    with pytest.raises(IndexError):
        o.arr[3]
    free(o)


def test_pointer_comparison_rules():
    p = malloc(S)
    q = lltype.cast_pointer(Ptr(S), p)
    assert p == q and not (p != q)
    with pytest.raises(TypeError):
        p == None  # noqa: E711
    with pytest.raises(TypeError):
        p == 0
    with pytest.raises(TypeError):
        p == rffi.cast(rffi.VOIDP, p)
    with pytest.raises(TypeError):
        hash(p)
    assert bool(p) and not nullptr(S)
    free(p)


def test_array_with_length_layout():
    A = Array(rffi.INT)
    a = malloc(A, 5, zero=True)
    assert len(a) == 5
    assert rffi.cast(rffi.SIGNEDP, a)[0] == 5
    a[4] = rffi.cast(rffi.INT, 3)
    assert rffi.cast(rffi.INTP, rffi.ptradd(rffi.cast(rffi.CCHARP, a),
                                            rffi.sizeof(Signed)))[4] == 3
    for bad in (5, -1):
        with pytest.raises(IndexError):
            a[bad]
    with pytest.raises(TypeError):
        a[1:2]
    free(a)


def test_nolength_bounds():
    a = malloc(rffi.CArray(Signed), 3)
    a[2] = 1
    with pytest.raises(IndexError):
        a[3]
    with pytest.raises(TypeError):
        len(a)
    b = rffi.cast(rffi.SIGNEDP, a)
    b[2]                     # unknown length: any index >= 0
    with pytest.raises(IndexError):
        b[-1]
    free(a)


def test_varsized_struct():
    V = Struct("V", ("x", Signed), ("a", Array(Char)))
    v = malloc(V, 10)
    assert len(v.a) == 10
    v.a[9] = b"q"
    assert v.a[9] == b"q"
    with pytest.raises(IndexError):
        v.a[10]
    free(v)
    with pytest.raises(TypeError):
        malloc(V)
    with pytest.raises(TypeError):
        malloc(S, 3)
    with pytest.raises(TypeError):
        malloc(Array(Signed), 2.0)
    with pytest.raises(ValueError):
        malloc(Array(Signed), -1)


def test_struct_items_give_pointers():
    P = Struct("P", ("a", Signed), ("b", Signed))
    arr = malloc(rffi.CArray(P), 3, zero=True)
    arr[1].b = 7
    assert arr[1].b == 7
    with pytest.raises(TypeError):
        arr[0] = arr[1]
    free(arr)


def test_voidp_item_accepts_any_pointer():
    arr = malloc(rffi.VOIDPP.TO, 1)
    s = malloc(S)
    arr[0] = s
    assert rffi.cast(Ptr(S), arr[0]) == s
    free(s)
    free(arr)


def test_null_dereference_raises():
    p = nullptr(S)
    with pytest.raises(RuntimeError):
        p.x
    with pytest.raises(RuntimeError):
        p.x = 1
    q = nullptr(rffi.CCHARP.TO)
    with pytest.raises(RuntimeError):
        q[0]
    with pytest.raises(RuntimeError):
        len(nullptr(Array(Signed)))
    f = nullptr(FuncType([], Void))
    with pytest.raises(RuntimeError):
        f()


def test_use_after_free_raises():
    Inner = Struct("Inner2", ("a", Signed))
    Outer = Struct("Outer2", ("inner", Inner))
    o = malloc(Outer)
    inner = o.inner
    a = malloc(rffi.CArray(Signed), 2)
    d = lltype.direct_arrayitems(a)
    free(o)
    free(a)
    with pytest.raises(RuntimeError):
        o.inner
    with pytest.raises(RuntimeError):
        inner.a
    with pytest.raises(RuntimeError):
        inner.a = 1
    with pytest.raises(RuntimeError):
        a[0]
    with pytest.raises(RuntimeError):
        d[0]


def test_free_errors():
    p = malloc(S)
    free(p)
    with pytest.raises(RuntimeError):
        free(p)
    with pytest.raises(RuntimeError):
        free(nullptr(S))
    with pytest.raises(TypeError):
        free(5)
    with pytest.raises(TypeError):
        free(p, flavor="gc")
    a = malloc(rffi.CArray(Signed), 4)
    with pytest.raises(RuntimeError):
        free(rffi.ptradd(a, 1))               # interior pointer
    free(rffi.cast(rffi.VOIDP, a))            # any pointer to the start
    with pytest.raises(TypeError):
        malloc(S, flavor="gc")
    with pytest.raises(TypeError):
        malloc(Signed)
    with pytest.raises(TypeError):
        malloc(OpaqueType("unknown"))


def test_zero_and_0xdd():
    a = malloc(rffi.CArray(rffi.UCHAR), 8)
    assert all(a[i] == 0xDD for i in range(8))
    free(a)
    a = malloc(rffi.CArray(rffi.UCHAR), 8, zero=True)
    assert all(a[i] == 0 for i in range(8))
    free(a)


def test_function_pointer_strict_calls():
    F = FuncType([Signed, rffi.VOIDP, Void], Signed)
    seen = []

    def impl(n, p, v):
        seen.append((n, p, v))
        return n + 1
    f = lltype.functionptr(F, "impl", _callable=impl)
    assert f(1, None, "anything") == 2
    s = malloc(S)
    assert f(2, s, None) == 3                 # any pointer for VOIDP
    free(s)
    with pytest.raises(TypeError):
        f(1, None)
    with pytest.raises(TypeError):
        f(rffi.r_int(1), None, None)
    with pytest.raises(TypeError):
        lltype.functionptr(Signed, "x")
    with pytest.raises(RuntimeError):
        lltype.functionptr(F, "nothing")(1, None, None)


# -- layout (1.6) against the C compiler -------------------------------------------------

def test_layout_matches_c():
    T = Struct("T", ("c", Char), ("d", Float), ("s", rffi.SHORT), ("p", rffi.VOIDP),
               ("arr", FixedSizeArray(rffi.INT, 3)), ("b", Bool))
    U = Struct("U", ("c", Char), ("d", Float), hints={"union": True})
    A = Array(rffi.SHORT)
    values = cc.c_values(
        "struct T { char c; double d; short s; void *p; int arr[3]; _Bool b; };"
        "union U { char c; double d; };"
        "struct A { long length; short items[]; };",
        ["sizeof(struct T)", "offsetof(struct T, d)", "offsetof(struct T, s)",
         "offsetof(struct T, p)", "offsetof(struct T, arr)", "offsetof(struct T, b)",
         "sizeof(union U)", "offsetof(struct A, items)"])
    assert values == [rffi.sizeof(T), rffi.offsetof(T, "d"), rffi.offsetof(T, "s"),
                      rffi.offsetof(T, "p"), rffi.offsetof(T, "arr"),
                      rffi.offsetof(T, "b"), rffi.sizeof(U),
                      lltype._ffi.offsetof(lltype._complete(A), "items")]


def test_sizeof_errors():
    for T in (Void, FuncType([], Void), Array(Signed), OpaqueType("x")):
        with pytest.raises(TypeError):
            rffi.sizeof(T)
    assert rffi.sizeof(Ptr(S)) == rffi.sizeof(rffi.VOIDP)
    assert rffi.sizeof(Typedef(rffi.SHORT, "s_t")) == 2
    with pytest.raises(AttributeError):
        rffi.offsetof(S, "nope")


# -- helpers (1.8) ---------------------------------------------------------------------

def test_cast_pointer_first_field():
    Base = Struct("Base", ("tag", Signed))
    Sub = Struct("Sub", ("base", Base), ("extra", Signed))
    s = malloc(Sub, zero=True)
    b = lltype.cast_pointer(Ptr(Base), s)
    b.tag = 3
    assert s.base.tag == 3
    assert lltype.cast_pointer(Ptr(Sub), b) == s
    assert not lltype.cast_pointer(Ptr(Base), nullptr(Sub))
    with pytest.raises(lltype.InvalidCast):
        lltype.cast_pointer(Ptr(S), s)
    with pytest.raises(TypeError):
        lltype.cast_pointer(Ptr(S), 5)
    free(s)


def test_direct_helpers():
    a = malloc(rffi.CArray(Signed), 4)
    for i in range(4):
        a[i] = i * 10
    d = lltype.direct_arrayitems(a)
    assert d[3] == 30
    with pytest.raises(IndexError):
        d[4]
    with pytest.raises(IndexError):
        d[-1]
    d2 = lltype.direct_ptradd(d, 2)
    assert d2[0] == 20 and d2[-1] == 10 and d2[1] == 30
    with pytest.raises(IndexError):
        d2[2]
    P = Struct("DP", ("a", Signed), ("b", Signed))
    p = malloc(P, zero=True)
    fp = lltype.direct_fieldptr(p, "b")
    fp[0] = 5
    assert p.b == 5
    with pytest.raises(IndexError):
        fp[1]
    with pytest.raises(TypeError):
        lltype.direct_fieldptr(p, "zz")
    with pytest.raises(TypeError):
        lltype.direct_arrayitems(p)
    with pytest.raises(RuntimeError):
        lltype.direct_arrayitems(nullptr(rffi.CArray(Signed)))
    assert lltype.cast_ptr_to_int(p) == lltype.cast_ptr_to_int(rffi.cast(rffi.VOIDP, p)) != 0
    assert lltype.cast_ptr_to_int(nullptr(S)) == 0
    free(p)
    free(a)


def test_cast_primitive():
    assert lltype.cast_primitive(rffi.UCHAR, 300) == 44
    with pytest.raises(TypeError):
        lltype.cast_primitive(Ptr(S), 0)


# -- leak tracking (1.9) ---------------------------------------------------------------

def leaky_allocator():
    return malloc(S)


def test_leak_report_names_the_allocating_function():
    prev = lltype.start_tracking_allocations()
    p = leaky_allocator()
    with pytest.raises(lltype.MallocMismatch) as info:
        lltype.stop_tracking_allocations(True, prev)
    assert "leaky_allocator" in str(info.value)
    leaks = info.value.args[0]
    assert len(leaks) == 1
    free(p)


def test_tracking_nesting_and_flags():
    assert lltype.is_tracking_allocations()
    with lltype.track_allocations() as t:
        p = malloc(S)
        q = malloc(S, track_allocation=False)
        assert len(lltype.tracked_allocations()) == 1
        free(p)
        free(q)
    assert t.leaks == {}
    with pytest.raises(lltype.MallocMismatch):
        with lltype.track_allocations():
            p = malloc(S)
            free(p, track_allocation=False)    # still reported
    with lltype.track_allocations():
        p = malloc(S)
        lltype.render_immortal(p)
        i = malloc(S, immortal=True)
    assert i and p


def test_free_in_inner_level_of_outer_allocation():
    p = malloc(S)
    with lltype.track_allocations():
        free(p)


def test_stop_without_start():
    prev = lltype.start_tracking_allocations()
    lltype.stop_tracking_allocations(False, prev)
    saved = lltype._set_leaks(None)      # the fixture's level, put back below
    try:
        assert not lltype.is_tracking_allocations()
        with pytest.raises(RuntimeError):
            lltype.stop_tracking_allocations(False)
    finally:
        lltype._set_leaks(saved)


def test_scoped_alloc_frees_on_error():
    with pytest.raises(ZeroDivisionError):
        with lltype.scoped_alloc(rffi.CArray(Signed), 3, zero=True) as a:
            assert a[2] == 0
            1 / 0
    with pytest.raises(RuntimeError):
        a[0]


# -- random struct layouts against the C compiler --------------------------------------

_FIELD_TYPES = [("char", Char), ("signed char", rffi.SIGNEDCHAR), ("short", rffi.SHORT),
                ("unsigned short", rffi.USHORT), ("int", rffi.INT), ("long", Signed),
                ("unsigned long long", rffi.ULONGLONG), ("float", rffi.FLOAT),
                ("double", rffi.DOUBLE), ("long double", rffi.LONGDOUBLE),
                ("_Bool", Bool), ("void *", rffi.VOIDP), ("wchar_t", lltype.UniChar)]


def test_random_struct_layouts_match_c():
    import random
    rng = random.Random(1234)
    decls, exprs, expected, structs, kinds = [], [], [], [], []
    for k in range(40):
        fields = [rng.choice(_FIELD_TYPES) for _ in range(rng.randint(1, 7))]
        union = rng.random() < 0.2
        kind = "union" if union else "struct"
        lines = ["%s f%d;" % (c, i) for i, (c, _) in enumerate(fields)]
        ll_fields = [("f%d" % i, T) for i, (_, T) in enumerate(fields)]
        if k > 0 and rng.random() < 0.3:           # inline the previous one, and an array
            lines.append("%s s%d inner; int arr[3];" % (kinds[k - 1], k - 1))
            ll_fields += [("inner", structs[k - 1]), ("arr", FixedSizeArray(rffi.INT, 3))]
        decls.append("%s s%d { %s };" % (kind, k, " ".join(lines)))
        S = Struct("s%d" % k, *ll_fields, hints={"union": True} if union else None)
        structs.append(S)
        kinds.append(kind)
        exprs.append("sizeof(%s s%d)" % (kind, k))
        expected.append(rffi.sizeof(S))
        for name, _ in ll_fields:
            exprs.append("offsetof(%s s%d, %s)" % (kind, k, name))
            expected.append(rffi.offsetof(S, name))
    assert cc.c_values("\n".join(decls), exprs) == expected


def test_c_reads_what_rffi_wrote():
    eci = rffi.ExternalCompilationInfo(separate_module_sources=["""
        struct rec { char c; double d; short s[3]; struct rec *next; long tail; };
        long check(struct rec *r) {
            return r->c + (long)r->d + r->s[0] + r->s[2] + r->next->tail + r->tail;
        }
        void write(struct rec *r) { r->c = 'W'; r->s[1] = -7; r->tail = 1234567; }
    """])
    F = ForwardReference()
    REC = rffi.CStruct("rec", ("c", Char), ("d", Float),
                       ("s", FixedSizeArray(rffi.SHORT, 3)), ("next", Ptr(F)),
                       ("tail", Signed))
    F.become(REC)
    check = rffi.llexternal("check", [Ptr(REC)], Signed, compilation_info=eci)
    write = rffi.llexternal("write", [Ptr(REC)], Void, compilation_info=eci)
    a = malloc(REC, zero=True)
    b = malloc(REC, zero=True)
    a.c_c = b"\x01"
    a.c_d = 20.75
    a.c_s[0] = rffi.cast(rffi.SHORT, 300)
    a.c_s[2] = rffi.cast(rffi.SHORT, 4000)
    a.c_next = b
    b.c_tail = 50000
    a.c_tail = -3
    assert check(a) == 1 + 20 + 300 + 4000 + 50000 - 3
    write(b)
    assert (b.c_c, b.c_s[1], b.c_tail) == (b"W", -7, 1234567)
    free(a)
    free(b)


_ARITH_CLASSES = [rffi.r_uchar, rffi.r_ushort, rffi.r_uint, lltype.r_uint,
                  rffi.r_signedchar, rffi.r_short, rffi.r_int, lltype.r_longlong]


@given(st.sampled_from(_ARITH_CLASSES), st.integers(-2**64, 2**64), st.integers(-2**64, 2**64),
       st.sampled_from(["+", "-", "*", "//", "%", "&", "|", "^"]))
def test_value_class_arithmetic(cls, x, y, op):
    a = cls(x) if not cls.SIGNED else cls(max(min(x, 2**(cls.BITS - 1) - 1), -2**(cls.BITS - 1)))
    b = int(y)
    if op in ("//", "%") and b == 0:
        return
    exact = eval("int(a) %s b" % op)
    try:
        result = eval("a %s b" % op)
    except OverflowError:
        assert cls.SIGNED and not -2**(cls.BITS - 1) <= exact < 2**(cls.BITS - 1)
        return
    assert type(result) is cls
    if cls.SIGNED:
        assert result == exact
    else:
        assert result == exact % 2**cls.BITS


def _model(cls, value):
    """What a value class makes of an exact result: wrapped, or None (OverflowError)."""
    if cls.SIGNED:
        return value if -2**(cls.BITS - 1) <= value < 2**(cls.BITS - 1) else None
    return value % 2**cls.BITS


_ALL_CLASSES = _ARITH_CLASSES + ([rffi.r___int128_t, rffi.r___uint128_t]
                                 if hasattr(rffi, "r___int128_t") else [])


def _typed(cls, x):
    return cls(x) if not cls.SIGNED else cls(max(min(x, 2**(cls.BITS - 1) - 1),
                                                 -2**(cls.BITS - 1)))


@given(st.sampled_from(_ALL_CLASSES), st.sampled_from(_ALL_CLASSES + [int, bool]),
       st.integers(-2**70, 2**70), st.integers(-2**70, 2**70), st.booleans(),
       st.sampled_from(["+", "-", "*", "//", "%", "&", "|", "^", "<<", ">>", "**"]))
def test_value_class_operators_both_orders(cls, other_cls, x, y, swap, op):
    # the native operators (llptr.c's LLTypedInt) against the rule of spec 1.2: the same
    # class, or a plain int/bool, keeps the class; two classes of one signedness give the
    # wider; signed and unsigned do not mix
    a = _typed(cls, x)
    b = bool(y & 1) if other_cls is bool else int(y) if other_cls is int else \
        _typed(other_cls, y)
    if op in ("<<", ">>"):
        b = type(b)(abs(int(b)) % 70) if other_cls not in (int, bool) else abs(int(b)) % 70
    if op == "**":
        b = type(b)(abs(int(b)) % 4) if other_cls not in (int, bool) else abs(int(b)) % 4
    if op in ("<<", ">>", "**"):
        swap = False        # (a huge shift count or exponent: an endless computation)
    if other_cls is bool:
        swap = False        # bool's own operators run first and give an int (CPython's
                            # dispatch: bool is not a base of the value classes)
    left, right = (b, a) if swap else (a, b)
    if op in ("//", "%") and int(right) == 0:
        return
    if other_cls in (int, bool) or other_cls is cls:
        result_cls = cls
    elif other_cls.SIGNED != cls.SIGNED:
        with pytest.raises(TypeError):
            eval("left %s right" % op)
        return
    else:
        result_cls = cls if cls.BITS >= other_cls.BITS else other_cls
    exact = eval("int(left) %s int(right)" % op)
    expected = _model(result_cls, exact)
    if expected is None:
        with pytest.raises(OverflowError):
            eval("left %s right" % op)
        return
    result = eval("left %s right" % op)
    assert type(result) is result_cls and result == expected


def test_value_class_operators_with_floats_and_others():
    a = rffi.r_uint(7)
    assert a + 0.5 == 7.5 and type(a + 0.5) is float and type(0.5 * a) is float
    assert a / 2 == 3.5 and pow(a, 2, 5) == 4
    with pytest.raises(TypeError):
        a + "x"
    with pytest.raises(TypeError):
        "x" * rffi.r_short(2) + 1
    assert type(rffi.r_int(2) ** -1) is float


# -- the native allocator (llptr.c) ----------------------------------------------------

def _nested_allocation(depth):
    if depth == 0:
        return malloc(S)
    return _nested_allocation(depth - 1)


def test_leak_record_frames_are_the_callers_with_lines():
    with lltype.track_allocations(check=False) as t:
        p = _nested_allocation(15)
        line = sys._getframe().f_lineno + 1
        s = rffi.str2charp(b"abc")
    (rec_p, (desc, trace)), (rec_s, (_, trace_s)) = sorted(
        t.leaks.items(), key=lambda kv: kv[0].T is S, reverse=True)
    frames = trace.splitlines()
    assert len(frames) == 10                                     # at most 10 frames
    assert all("_nested_allocation" in f for f in frames)        # innermost last: malloc's
    assert "nffi/lltype.py" not in trace and "nffi/rffi.py" not in trace  # nffi's: skipped
    assert trace_s.splitlines()[-1].endswith(
        "line %d, in test_leak_record_frames_are_the_callers_with_lines" % line)
    assert desc.startswith("<raw struct") and rec_p.T is S and rec_p.n is None
    assert rec_s.n == 4
    free(p)
    rffi.free_charp(s)


def test_free_accepts_any_pointer_to_the_start():
    p = malloc(S)
    v = rffi.cast(rffi.VOIDP, p)
    free(v)                                  # a cast of it frees the block
    with pytest.raises(RuntimeError, match="freed"):
        p.x                                  # the original pointer sees the free
    with pytest.raises(RuntimeError):
        free(v)                              # and nothing is freed twice
    a = malloc(rffi.CArray(Signed), 4)
    with pytest.raises(RuntimeError, match="not allocated"):
        free(rffi.ptradd(a, 1))              # interior pointer: nothing freed
    a[3] = 5
    free(a)


def test_records_and_allocator_reject_bad_input():
    # the allocator's native entry points check what lltype passes them
    A = lltype._core.LLAllocation
    with pytest.raises(TypeError):
        A._malloc(1, 2, 3)
    with pytest.raises(TypeError):
        A._malloc(object, None, None, 8, None, S, None, 0, None)
    info = S.__dict__["_malloc_info"] if "_malloc_info" in S.__dict__ else \
        lltype._malloc_info(S)[1]
    with pytest.raises(ValueError):
        A._malloc(info.cls, info.PTR, info.ctype, -1, None, S, None, 0, None)
    with pytest.raises(ValueError):
        A._malloc(info.cls, info.PTR, info.ctype, 1, None, S, None, 0, b"too long")
    with pytest.raises(TypeError):
        A._malloc(info.cls, info.PTR, info.ctype, 8, None, S, None, 0, "text")
    assert A._free(5, True) is False and A._free(None, True) is False
    with pytest.raises(TypeError):
        A._set_leaks([])
    r = lltype._Allocation()               # a bare record: fields unset, not freed
    assert r.freed is False and r.address is None and r.where is None


def test_zero_length_and_untracked_strings():
    with lltype.track_allocations():
        p = rffi.str2charp(b"", track_allocation=False)
        assert rffi.charp2str(p) == b"" and p[0] == b"\x00"
        with pytest.raises(IndexError):
            p[1]                             # malloc'ed n = len + 1 items: bounded
        w = rffi.unicode2wcharp("h\u263a\U0001F600")
        assert rffi.wcharp2unicode(w) == "h\u263a\U0001F600"
        rffi.free_wcharp(w)
    rffi.free_charp(p, track_allocation=False)
