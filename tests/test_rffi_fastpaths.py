"""The native fast paths of rffi (src/nffi/_core/llptr.c) against rffi's Python rules.

Struct fields through a Ptr and llexternal calls are served by llptr.c when the value is
already of the exact low-level type, and by lltype/rffi's Python converters otherwise.
These tests check that the two paths cannot be told apart: the same values are accepted,
the same errors raised, the same result types returned, and that what the fast path adds
(a fresh copy of bytes for a writable char pointer, the field cache) is safe.
"""
import pytest
from hypothesis import given, settings, strategies as st

from nffi import lltype, rffi
from nffi.cbuild import ExternalCompilationInfo
from nffi.lltype import Bool, Char, Float, Ptr, Signed, free, malloc

pytestmark = pytest.mark.usefixtures("rffi_no_leaks")

S = rffi.CStruct("FastS", ("x", Signed), ("i", rffi.INT), ("u", rffi.UINT), ("f", Float),
           ("c", Char), ("b", Bool), ("q", rffi.ULONGLONG), ("p", rffi.CCHARP))
FIELDS = [name for name in S._names]

values = st.one_of(
    st.integers(min_value=-2**65, max_value=2**65), st.floats(allow_nan=False),
    st.booleans(), st.binary(max_size=2), st.text(max_size=1), st.none(),
    st.integers(min_value=0, max_value=2**32 - 1).map(rffi.r_uint),
    st.integers(min_value=-2**31, max_value=2**31 - 1).map(lambda v: rffi.cast(rffi.INT, v)),
    st.integers(min_value=0, max_value=2**64 - 1).map(lambda v: rffi.cast(rffi.ULONGLONG, v)))


def expected_store(FT, value):
    """What rffi's Python rule (lltype._to_c) says about storing value: the exception
    class, or None when the store is accepted."""
    try:
        lltype._to_c(FT, value, "field")
    except Exception as e:          # noqa: BLE001 -- the class is what we compare
        return type(e)
    return None


@settings(max_examples=300)
@given(name=st.sampled_from(FIELDS), value=values)
def test_field_store_matches_python_rule(name, value):
    p = malloc(S, zero=True)
    try:
        FT = S._flds[name]
        expected = expected_store(FT, value)
        if expected is not None:
            with pytest.raises(expected):
                setattr(p, name, value)
            return
        setattr(p, name, value)
        got = getattr(p, name)
        assert lltype.typeOf(got) == FT or (value is None and not got)
        if value is not None:
            assert got == value
    finally:
        free(p)


def test_field_reads_give_the_value_classes():
    p = malloc(S, zero=True)
    p.c_u = rffi.r_uint(2**32 - 1)
    p.c_q = rffi.cast(rffi.ULONGLONG, -1)
    p.c_i = rffi.cast(rffi.INT, -3)
    assert type(p.c_x) is int
    assert type(p.c_u) is rffi.r_uint and p.c_u == 2**32 - 1
    assert type(p.c_q) is rffi.r_ulonglong and p.c_q == 2**64 - 1
    assert type(p.c_i) is rffi.r_int and p.c_i == -3
    assert type(p.c_p) is type(lltype.nullptr(rffi.CCHARP.TO)) and not p.c_p
    free(p)


def test_signed_store_bounds():
    p = malloc(S, zero=True)
    p.c_x = 2**63 - 1
    p.c_x = -2**63
    assert p.c_x == -2**63
    for bad in (2**63, -2**63 - 1, True, 1.0, rffi.r_uint(1)):
        with pytest.raises(TypeError, match="field 'c_x'"):
            p.c_x = bad
    assert p.c_x == -2**63
    free(p)


def test_freed_and_null_pointers_on_the_fast_path():
    p = malloc(S, zero=True)
    q = lltype.cast_pointer(lltype.Ptr(S), p)        # a second pointer object, same memory
    p.c_x = 1
    free(p)
    for ptr in (p, q):
        with pytest.raises(RuntimeError, match="freed"):
            ptr.c_x
        with pytest.raises(RuntimeError, match="freed"):
            ptr.c_x = 2
        with pytest.raises(RuntimeError, match="freed"):
            ptr.c_f = 1.5
    n = lltype.nullptr(S)
    with pytest.raises(RuntimeError, match="NULL"):
        n.c_x
    with pytest.raises(RuntimeError, match="NULL"):
        n.c_x = 5
    with pytest.raises(RuntimeError, match="NULL"):
        n.c_i = rffi.cast(rffi.INT, 1)


def test_field_descriptor_protocol_and_missing_names():
    p = malloc(S, zero=True)
    descr = type(p).__dict__["c_x"]
    assert type(p).c_x is descr
    p.c_x = 42
    assert descr.__get__(p, type(p)) == 42
    descr.__set__(p, 7)
    assert p.c_x == 7
    with pytest.raises(TypeError):
        descr.__get__(object(), object)
    with pytest.raises(AttributeError):
        del p.c_x
    with pytest.raises(AttributeError, match="has no field 'c_nope'"):
        p.c_nope
    with pytest.raises(AttributeError):
        p.c_nope = 1
    free(p)


def test_many_struct_types_share_the_field_cache():
    # more (class, name) pairs than the cache has slots: every read still finds its field
    types = [rffi.CStruct("Many%d" % k, ("a", Signed), ("b", Signed)) for k in range(300)]
    ptrs = [malloc(T, zero=True) for T in types]
    for k, p in enumerate(ptrs):
        p.c_a, p.c_b = k, -k
    for k, p in enumerate(ptrs):
        assert (p.c_a, p.c_b) == (k, -k)
    for p in ptrs:
        free(p)


# -- llexternal --------------------------------------------------------------------------

ECI = ExternalCompilationInfo(separate_module_sources=["""
    #include <string.h>
    long fp_first_upper(char *s) { long c = s[0]; s[0] = 'X'; return c; }
    long fp_sum3(long a, unsigned int b, double c) { return a + (long)b + (long)c; }
    unsigned long fp_addr(void *p) { return (unsigned long)p; }
    unsigned long fp_len(const char *s) { return s ? strlen(s) : 99; }
    /* writes over its whole string, then reports what it saw */
    unsigned long fp_scribble(char *s) {
        unsigned long n = strlen(s); memset(s, 'Z', n); return n; }
"""])


def test_writable_char_pointer_gets_a_fresh_copy():
    f = rffi.llexternal("fp_first_upper", [rffi.CCHARP], Signed, compilation_info=ECI)
    one = b"a"
    assert f(one) == ord("a")
    assert one == b"a" and bytes([97]) == b"a"          # the shared 1-byte object is intact
    data = b"hello"
    assert f(data) == ord("h") and data == b"hello"
    assert f(b"") == 0
    buf = rffi.str2charp(b"abc")
    assert f(buf) == ord("a") and rffi.charp2str(buf) == b"Xbc"   # a pointer: no copy
    rffi.free_charp(buf)


def test_writable_char_pointer_copies_are_reused_safely():
    # the copy of bytes for a 'char *' is a per-argument scratch buffer when free: each
    # call must see exactly its own data, NUL-terminated, and C's writes never reach
    # Python's bytes, whatever the lengths in sequence (shorter after longer, empty,
    # longer than the scratch buffer)
    f = rffi.llexternal("fp_scribble", [rffi.CCHARP], rffi.SIZE_T, compilation_info=ECI)
    lengths = [5, 70, 3, 0, 1, 5000, 2, 64, 65, 4096, 4097, 0, 10]
    for n in lengths:
        data = bytes(range(1, 256)) * (n // 255 + 1)
        data = data[:n]
        keep = bytes(data)
        assert f(data) == n
        assert data == keep
    assert f(b"abc\x00def") == 3          # C sees the data up to its first NUL


def test_writable_char_pointer_copies_in_threads():
    import threading
    eci = ExternalCompilationInfo(separate_module_sources=["""
        #include <string.h>
        #include <unistd.h>
        unsigned long fp_slow_len(char *s) {
            unsigned long n = strlen(s); usleep(200); memset(s, 'Q', n); return n; }
    """])
    f = rffi.llexternal("fp_slow_len", [rffi.CCHARP], rffi.SIZE_T, compilation_info=eci,
                        releasegil=True)
    errors = []

    def worker(k):
        for i in range(50):
            data = b"x" * ((k * 7 + i) % 90)
            if f(data) != len(data) or data != b"x" * len(data):
                errors.append((k, i))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_native_call_checks_arguments():
    f = rffi.llexternal("fp_sum3", [Signed, rffi.UINT, Float], Signed, compilation_info=ECI)
    assert type(f).__name__ == "LLExternal"
    assert f.__name__ == "fp_sum3" and "fp_sum3" in repr(f) and f.__doc__
    assert f(1, 2, 3.0) == 6
    assert f(1, rffi.r_uint(2), 3) == 6             # an int for a Float argument converts
    assert f(1, 2**32 + 2, 3.0) == 6                 # integers wrap, as rffi.cast
    with pytest.raises(TypeError):
        f(1, 2)
    with pytest.raises(TypeError):
        f(1, 2, c=3.0)
    with pytest.raises(TypeError, match="argument 3"):
        f(1, 2, "x")
    with pytest.raises(TypeError, match="argument 1"):
        f(1.5, 2, 3.0)


def test_native_call_pointer_arguments():
    addr = rffi.llexternal("fp_addr", [rffi.VOIDP], rffi.SIZE_T, compilation_info=ECI)
    length = rffi.llexternal("fp_len", [rffi.CONST_CCHARP], rffi.SIZE_T, compilation_info=ECI)
    p = malloc(S, zero=True)
    assert addr(p) == lltype.cast_ptr_to_int(p)      # VOIDP takes any pointer
    assert addr(None) == 0
    assert type(addr(None)) is lltype.r_uint
    assert length(b"abcd") == 4 and length(None) == 99
    s = rffi.str2charp(b"xyz")
    assert length(s) == 3                            # CCHARP for CONST_CCHARP
    with pytest.raises(TypeError):
        length(p)                                    # a pointer of another type
    with pytest.raises(TypeError):
        length("str")
    rffi.free_charp(s)
    free(p)


@settings(max_examples=200)
@given(st.lists(st.one_of(st.integers(min_value=-2**65, max_value=2**65),
                          st.floats(allow_nan=False, allow_infinity=False,
                                    min_value=-1e6, max_value=1e6),
                          st.booleans(), st.none(), st.binary(max_size=1)),
                min_size=3, max_size=3))
def test_native_and_python_wrappers_agree(args):
    FT = lltype.FuncType([Signed, rffi.UINT, Float], Signed)
    native = rffi.llexternal("fp_sum3", FT.ARGS, FT.RESULT, compilation_info=ECI)
    python = rffi._python_wrapper("fp_sum3", FT, native._ptr._symbol, None, 0)

    def outcome(f):
        try:
            r = f(*args)
        except Exception as e:      # noqa: BLE001 -- the class is what we compare
            return type(e)
        return (type(r), r)
    assert outcome(native) == outcome(python)


def test_native_objects_reject_bad_input_without_crashing():
    from nffi import _core
    for bad in [(1, "lo", 0, None), (1, 0, "hi", None), ("kind", 0, 0, None), (1, 0)]:
        with pytest.raises(TypeError):
            _core.LLField("x", None, None, bad, None, None)
        with pytest.raises(TypeError):
            _core.LLExternal(lambda: None, (None,), (bad,), 0, None, None, None)
    with pytest.raises(ValueError):
        _core.LLExternal(lambda: None, (None,) * 17, ((0, 0, 0, None),) * 17, 0, None, None,
                         None)
    with pytest.raises(TypeError):
        _core.LLPtr._make(int, None, None, 0, None, None)
    # a pointer object whose slots were deleted: Python's errors, never a crash
    a = malloc(rffi.CArray(Signed), 3)
    d = lltype.direct_arrayitems(a)
    del d._lo
    with pytest.raises(AttributeError):
        d[0]
    with pytest.raises(AttributeError):
        d[0] = 1
    free(a)


# -- rffi.cast between pointer types, charp2str: native common cases ------------------

POINTER_TYPES = [rffi.VOIDP, rffi.CCHARP, rffi.INTP, rffi.LONGP, rffi.CONST_CCHARP,
                 rffi.CONST_VOIDP, Ptr(S), rffi.CCHARPP]


@pytest.mark.parametrize("SRC", POINTER_TYPES)
@pytest.mark.parametrize("DST", POINTER_TYPES)
def test_pointer_casts_match_the_general_rule(SRC, DST):
    p = malloc(rffi.CArray(Signed), 4, zero=True)
    try:
        src = lltype._cast(SRC, p)
        fast = rffi.cast(DST, src)
        slow = lltype._cast(DST, src)          # the Python rule, always
        assert lltype.typeOf(fast) == DST == lltype.typeOf(slow)
        assert rffi.cast(Signed, fast) == rffi.cast(Signed, slow) == rffi.cast(Signed, p)
        if DST is SRC:
            assert fast is src                 # unchanged, bounds and all
        else:
            assert fast._hi is None                # unknown length
            assert fast._alloc is slow._alloc is p._alloc      # its free still checked
    finally:
        free(p)
    assert not rffi.cast(rffi.INTP, lltype.nullptr(rffi.VOIDP.TO))


def test_charp2str_native_and_error_paths():
    p = rffi.str2charp(b"abc\x00def")
    assert rffi.charp2str(p) == b"abc" and rffi.charp2strn(p, 2) == b"ab"
    assert rffi.constcharp2str(rffi.cast(rffi.CONST_CCHARP, p)) == b"abc"
    with pytest.raises(TypeError):
        rffi.charp2str(rffi.cast(rffi.VOIDP, p))     # not a char pointer type
    with pytest.raises(TypeError):
        rffi.charp2str(b"abc")
    with pytest.raises(TypeError):
        rffi.charp2strn(p, "3")
    rffi.free_charp(p)
    with pytest.raises(RuntimeError, match="freed"):
        rffi.charp2str(p)
    with pytest.raises(RuntimeError, match="NULL"):
        rffi.charp2str(lltype.nullptr(rffi.CCHARP.TO))
    with pytest.raises(RuntimeError, match="NULL"):
        rffi.wcharp2unicode(lltype.nullptr(rffi.CWCHARP.TO))
