"""Hostile use of the rffi layer (nffi.rffi, nffi.lltype, _core's llptr.c): memory used
after lltype.free through every derived pointer (ptradd, rffi.cast, direct pointers,
scoped allocations), string helpers asked to read or write past the end of memory nffi
allocated and knows the size of, callbacks that misbehave, the native classes used
bare.  Each must raise (RuntimeError for freed memory, as the Python side's
_check_live words it; ValueError for a size past the known end; TypeError for garbage),
never read or write freed or foreign memory (run under .ci/sanitize too: ASan reports
what a silent pass would hide)."""
import pytest

from nffi import _core, lltype, rffi
from nffi.lltype import Array, FuncType, Ptr, Signed, Struct, Void, free, malloc
from nffi.rffi import llhelper

pytestmark = pytest.mark.usefixtures("rffi_no_leaks")

S = Struct("S", ("a", Signed), ("b", rffi.INT))
INTS = Array(rffi.INT, hints={"nolength": True})
CMP = Ptr(FuncType([rffi.VOIDP, rffi.VOIDP], rffi.INT))
strlen = rffi.llexternal("strlen", [rffi.CCHARP], rffi.SIZE_T)
memset = rffi.llexternal("memset", [rffi.VOIDP, rffi.INT, rffi.SIZE_T], rffi.VOIDP)
qsort = rffi.llexternal("qsort", [rffi.VOIDP, rffi.SIZE_T, rffi.SIZE_T, CMP], Void)

FREED = "pointer to freed memory"


# ---- use after free through a derived pointer -------------------------------------------

@pytest.mark.parametrize("derive, use", [
    (lambda p: rffi.ptradd(p, 1), lambda q: q[0]),
    (lambda p: rffi.ptradd(p, 1), lambda q: q.__setitem__(0, rffi.r_int(1))),
    (lambda p: lltype.direct_ptradd(lltype.direct_arrayitems(p), 1), lambda q: q[0]),
    (lambda p: rffi.cast(rffi.CCHARP, p), lambda q: q[0]),
    (lambda p: rffi.cast(rffi.VOIDP, p), lambda q: rffi.cast(rffi.INTP, q)[0]),
    (lambda p: rffi.cast(rffi.CCHARP, p), lambda q: rffi.charp2str(q)),
    (lambda p: rffi.cast(rffi.CCHARP, p), lambda q: strlen(q)),
    (lambda p: rffi.ptradd(rffi.cast(rffi.CCHARP, p), 2), lambda q: strlen(q)),
    (lambda p: rffi.cast(rffi.VOIDP, p), lambda q: memset(q, 0, 4)),
    (lambda p: p, lambda q: memset(q, 0, 4)),
])
def test_pointer_derived_from_freed_memory_raises(derive, use):
    """ptradd and rffi.cast between pointer types used to make pointers that forgot
    their allocation: read after lltype.free, they read freed memory (ASan: a
    heap-use-after-free), and llexternal handed freed memory to C."""
    p = malloc(INTS, 4, flavor="raw", zero=True)
    q = derive(p)
    use(q)                                      # fine while p lives
    free(p, flavor="raw")
    with pytest.raises(RuntimeError, match=FREED):
        use(q)


def test_cast_pointer_to_an_integer_after_free_is_still_the_address():
    p = malloc(S, flavor="raw")
    address = rffi.cast(Signed, p)
    free(p, flavor="raw")
    assert rffi.cast(Signed, p) == address == rffi.cast(Signed, rffi.cast(rffi.VOIDP, p))


def test_free_of_a_derived_pointer_is_refused():
    p = malloc(INTS, 4, flavor="raw")
    with pytest.raises(RuntimeError, match="not allocated by malloc"):
        free(rffi.ptradd(p, 1), flavor="raw")
    free(rffi.cast(rffi.VOIDP, p), flavor="raw")  # its address: the allocation
    with pytest.raises(RuntimeError, match="double free"):
        free(p, flavor="raw")


@pytest.mark.parametrize("use", [
    lambda p: p.a, lambda p: setattr(p, "a", 1), lambda p: free(p, flavor="raw"),
    lambda p: lltype.direct_fieldptr(p, "b"), lambda p: rffi.structcopy(p, p),
])
def test_scoped_alloc_escaping_its_block(use):
    with lltype.scoped_alloc(S) as p:
        p.a = 1
    with pytest.raises(RuntimeError, match=FREED + "|double free"):
        use(p)


# ---- string helpers and the known end of the memory -------------------------------------

def _filled(n, char=b"x"):
    p = malloc(rffi.CCHARP.TO, n, flavor="raw")
    for i in range(n):
        p[i] = char
    return p


@pytest.mark.parametrize("read", [
    lambda p: rffi.charp2str(p), lambda p: rffi.charp2strn(p, 100),
    lambda p: rffi.charpsize2str(p, 4), lambda p: rffi.charpsize2str(p, -1),
])
def test_reads_past_the_end_of_a_malloced_string_raise(read):
    """No NUL within the allocation (or a size past it): the read ran past the end
    (ASan: heap-buffer-overflow)."""
    p = _filled(3)
    try:
        with pytest.raises(ValueError, match=r"chars"):
            read(p)
        assert rffi.charp2strn(p, 3) == rffi.charpsize2str(p, 3) == b"xxx"
        p[2] = b"\x00"
        assert rffi.charp2str(p) == rffi.charp2strn(p, 100) == b"xx"
        assert rffi.charp2str(rffi.ptradd(p, 1)) == b"x"     # moved: unknown end, C's rule
    finally:
        free(p, flavor="raw")


@pytest.mark.parametrize("write", [
    lambda p: rffi.str2chararray(b"abcdef", p, 100),
    lambda p: rffi.str2rawmem(b"abcdef", p, 0, 6),
])
def test_writes_past_the_end_of_a_malloced_string_raise(write):
    p = _filled(3)
    try:
        with pytest.raises(ValueError, match="more than the 3 there"):
            write(p)
        assert rffi.charpsize2str(p, 3) == b"xxx"        # nothing written
        assert rffi.str2chararray(b"abcdef", p, 3) == 3
        assert rffi.charpsize2str(p, 3) == b"abc"
    finally:
        free(p, flavor="raw")


def test_wide_strings_past_the_end_raise():
    w = malloc(rffi.CWCHARP.TO, 2, flavor="raw")
    try:
        w[0], w[1] = "a", "b"
        for call in (lambda: rffi.wcharp2unicode(w), lambda: rffi.wcharp2unicoden(w, 9),
                     lambda: rffi.wcharpsize2unicode(w, 3),
                     lambda: rffi.unicode2wchararray("abcd", w, 4),
                     lambda: rffi.unicode2rawmem("abcd", w, 0, 4)):
            with pytest.raises(ValueError):
                call()
        assert rffi.wcharpsize2unicode(w, 2) == rffi.wcharp2unicoden(w, 2) == "ab"
    finally:
        free(w, flavor="raw")


def test_string_helpers_after_free_raise():
    p = rffi.str2charp(b"abc")
    rffi.free_charp(p)
    for call in (lambda: rffi.charp2str(p), lambda: rffi.charp2strn(p, 2),
                 lambda: rffi.charpsize2str(p, 2), lambda: rffi.str2chararray(b"a", p, 1)):
        with pytest.raises(RuntimeError, match=FREED):
            call()


# ---- callbacks from C ----------------------------------------------------------------

def _ints(values):
    a = malloc(INTS, len(values), flavor="raw")
    for i, v in enumerate(values):
        a[i] = rffi.r_int(v)
    return a


def test_callbacks_that_misbehave_do_not_crash():
    a = _ints([4, 3, 2, 1])
    try:
        def ok(x, y):
            return rffi.cast(rffi.INTP, x)[0] - rffi.cast(rffi.INTP, y)[0]

        def reenters(x, y):
            b = _ints([2, 1])
            try:
                qsort(rffi.cast(rffi.VOIDP, b), 2, 4, llhelper(CMP, ok))
                assert [b[0], b[1]] == [1, 2]
            finally:
                free(b, flavor="raw")
            return ok(x, y)
        qsort(rffi.cast(rffi.VOIDP, a), 4, 4, llhelper(CMP, reenters))
        assert [a[i] for i in range(4)] == [1, 2, 3, 4]
        # the callback's exception is raised again once C returned (RPython's rule)
        for bad, exc in ((lambda x, y: 1 // 0, ZeroDivisionError),
                         (lambda x, y: "x", TypeError), (lambda x, y: None, TypeError)):
            with pytest.raises(exc):
                qsort(rffi.cast(rffi.VOIDP, a), 4, 4, llhelper(CMP, bad))
        with pytest.raises(TypeError):
            qsort(rffi.cast(rffi.VOIDP, a), 4, 4, llhelper(CMP, lambda: 0))
    finally:
        free(a, flavor="raw")


# ---- the native classes used bare or with garbage ----------------------------------------

@pytest.mark.parametrize("call, exc", [
    (lambda: _core.LLPtr.__new__(_core.LLPtr)[0], AttributeError),
    (lambda: _core.LLPtr.__new__(_core.LLPtr).a, AttributeError),
    (lambda: _core.LLPtr._make(1, 2, 3, 4, 5), TypeError),
    (lambda: _core.LLPtr._string(1, 2), TypeError),
    (lambda: _core.LLPtr._recast(1, 2, 3), TypeError),
    (lambda: _core.LLAllocation._malloc(1, 2, 3, 4), TypeError),
    (lambda: _core.LLAllocation._setup(1, 2), TypeError),
    (lambda: _core.LLField(1, 2, 3), TypeError),
    (lambda: _core.LLExternal(1, 2, 3), TypeError),
    (lambda: malloc(INTS, 2**62, flavor="raw"), (OverflowError, MemoryError)),
    (lambda: malloc(INTS, -1, flavor="raw"), ValueError),
])
def test_native_classes_refuse_garbage(call, exc):
    with pytest.raises(exc):
        call()
    assert _core.LLAllocation._free(1, False) is False      # not a pointer: not freed


def test_field_descriptor_on_foreign_objects():
    p = malloc(S, flavor="raw")
    try:
        field = type(p).__dict__["a"]
        with pytest.raises(TypeError):
            field.__get__(3, int)
        q = malloc(INTS, 2, flavor="raw")
        try:
            with pytest.raises(TypeError):
                field.__set__(q, 3)
        finally:
            free(q, flavor="raw")
    finally:
        free(p, flavor="raw")
    with pytest.raises(RuntimeError, match=FREED):
        field.__get__(p, type(p))


@pytest.mark.parametrize("make", [
    lambda: rffi.r_int(1) << 10**6, lambda: rffi.r_short(-2**100000),
    lambda: rffi.r_long(10**5000), lambda: rffi.r_int(3) * rffi.r_int(2**30),
])
def test_signed_overflow_of_huge_values_is_an_overflow_error(make):
    """The message printed the value: past 4300 digits that raised ValueError instead."""
    with pytest.raises(OverflowError, match="out of range for r_"):
        make()
