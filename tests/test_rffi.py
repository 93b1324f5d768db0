"""nffi.rffi: type names, casts, llexternal, callbacks, errno, string and struct helpers.

Ports the untranslated checks of RPython's test_rffi.py and test_ll2ctypes.py that
rffi-api.md keeps (section 7 lists the patterns), with C compiled by the system compiler
through ExternalCompilationInfo, and a test for every error the spec names.
"""
import errno
import sys
import threading

import pytest

from nffi import lltype, rffi
from nffi.cbuild import CompilationError, ExternalCompilationInfo
from nffi.lltype import Ptr, Signed, Void, free, malloc

LP64 = sys.maxsize > 2**32


pytestmark = pytest.mark.usefixtures("rffi_no_leaks")


@pytest.fixture(autouse=True, scope="module")
def private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NFFI_CACHE_DIR", str(tmp_path_factory.mktemp("eci-cache")))
    yield
    mp.undo()


# -- 2.1 type names ----------------------------------------------------------------------

def test_type_names():
    if LP64 and sys.platform.startswith("linux"):
        for name in ("LONG", "LONGLONG", "SSIZE_T", "INTPTR_T", "PTRDIFF_T", "TIME_T"):
            assert getattr(rffi, name) is Signed, name
        for name in ("ULONG", "ULONGLONG", "SIZE_T", "UINTPTR_T"):
            assert getattr(rffi, name) is lltype.Unsigned, name
        assert rffi.PID_T is rffi.INT and rffi.MODE_T is rffi.INT
    assert rffi.INT is not Signed and rffi.UINT is not lltype.Unsigned
    assert rffi.CCHARP.TO._hints["nolength"]
    assert rffi.INTP == rffi.CArrayPtr(rffi.INT)
    assert rffi.VOIDP != rffi.CCHARP != rffi.CONST_CCHARP
    assert rffi.r_uint is not lltype.r_uint
    assert rffi.r_uint(-1) == 2**32 - 1
    assert rffi.NULL is None
    assert rffi.ExternalCompilationInfo is ExternalCompilationInfo
    assert rffi.INT in rffi.NUMBER_TYPES
    for T in rffi.NUMBER_TYPES:
        assert rffi.sizeof(T) in (1, 2, 4, 8, 16)


def test_size_and_sign():
    assert rffi.size_and_sign(rffi.UINT) == (4, True)
    assert rffi.size_and_sign(rffi.INT) == (4, False)
    assert rffi.size_and_sign(rffi.CHAR) == (1, True)
    assert rffi.size_and_sign(rffi.DOUBLE) == (8, False)


# -- 2.2 constructors ----------------------------------------------------------------------

def test_cstruct():
    TP = rffi.CStructPtr("xx", ("one", rffi.INT), ("two", rffi.CHAR))
    assert TP.TO._hints["c_name"] == "xx" and TP.TO._hints["external"] == "C"
    hints = {"x": 1}
    rffi.CStruct("yy", ("a", rffi.INT), hints=hints)
    assert hints == {"x": 1}
    p = malloc(TP.TO, flavor="raw")
    p.c_one = rffi.cast(rffi.INT, 3)
    p.c_two = b"x"
    assert p.c_one == 3 and p.c_two == b"x"
    free(p, flavor="raw")


def test_make_and_structcopy():
    X = rffi.CStruct("X", ("one", rffi.INT), ("inner", rffi.CStruct("Y", ("v", Signed))))
    p = rffi.make(X, c_one=rffi.cast(rffi.INT, 3))
    p.c_inner.c_v = 11
    q = malloc(X)
    rffi.structcopy(q, p)
    assert q.c_one == 3 and q.c_inner.c_v == 11
    with pytest.raises(TypeError):
        rffi.structcopy(q, malloc(rffi.CStruct("Z", ("a", Signed)), immortal=True))
    free(p)
    free(q)


def test_copaque_size_by_probe():
    eci = ExternalCompilationInfo(includes=["sys/time.h"])
    TP = rffi.COpaquePtr("struct timeval", compilation_info=eci)
    assert rffi.sizeof(TP.TO) == 16 if LP64 else 8
    p = malloc(TP.TO, flavor="raw")
    gettimeofday = rffi.llexternal("gettimeofday", [TP, rffi.VOIDP], rffi.INT,
                                   compilation_info=eci)
    assert gettimeofday(p, None) == 0
    free(p)
    bad = rffi.COpaque("struct no_such_thing")
    with pytest.raises(CompilationError) as info:
        rffi.sizeof(bad)
    assert "no_such_thing" in str(info.value)
    assert rffi.COpaquePtr("FILE")          # no compilation until needed


def test_cconstant():
    eci = ExternalCompilationInfo(includes=["errno.h"])
    c = rffi.CConstant("EINVAL", rffi.INT)
    assert lltype.typeOf(c) == rffi.INT
    assert repr(c) == "CConstant('EINVAL', INT)"
    assert c.getvalue(eci) == errno.EINVAL
    assert type(c.getvalue(eci)) is rffi.r_int
    with pytest.raises(TypeError):
        rffi.CConstant("X", rffi.CCHARP)
    ident = rffi.llexternal("abs", [rffi.INT], rffi.INT, compilation_info=eci)
    assert ident(c) == errno.EINVAL


def test_cextern_variable():
    eci = ExternalCompilationInfo(separate_module_sources=["long counter = 42;"])
    get, set_ = rffi.CExternVariable(rffi.LONG, "counter", eci)
    assert get() == 42
    set_(7)
    assert get() == 7
    only = rffi.CExternVariable(rffi.LONG, "counter", eci, getter_only=True)
    assert only() == 42          # another ECI (no setter): its own library and state


# -- 2.3 cast ------------------------------------------------------------------------------

def test_cast_numbers():
    assert rffi.cast(rffi.SIGNEDCHAR, 0x123481) == -127
    assert rffi.cast(rffi.UCHAR, 0x123481) == 0x81
    x = rffi.cast(rffi.SIZE_T, -1)
    assert x == 2**64 - 1 and type(x) is rffi.r_size_t
    assert rffi.cast(Signed, 42.5) == 42 and type(rffi.cast(Signed, 42.5)) is int
    assert rffi.cast(rffi.CHAR, 0x123456) == b"\x56"
    assert rffi.cast(Signed, b"x") == 120
    assert rffi.cast(lltype.UniChar, 0x263A) == "\u263a"
    assert rffi.cast(lltype.Bool, 7) is True
    assert rffi.cast(rffi.DOUBLE, rffi.cast(rffi.FLOAT, 1.5)) == 1.5
    with pytest.raises(OverflowError):
        rffi.cast(rffi.INT, 2**64)
    with pytest.raises(TypeError):
        rffi.cast(5, 5)
    with pytest.raises(TypeError):
        rffi.cast(rffi.INT, "xy")
    v = rffi.r_int(3)
    assert rffi.cast(rffi.INT, v) is v


def test_cast_pointers():
    FILEP = rffi.COpaquePtr("FILE")
    assert rffi.cast(FILEP, -1) == rffi.cast(FILEP, -1)
    assert rffi.cast(Signed, rffi.cast(FILEP, -1)) == -1
    assert rffi.cast(rffi.DOUBLE, rffi.cast(rffi.VOIDP, 16)) == 16.0
    a = malloc(rffi.CArray(rffi.INT), 2)
    a[1] = rffi.cast(rffi.INT, 9)
    b = rffi.cast(rffi.CCHARP, a)
    assert rffi.cast(rffi.INTP, rffi.ptradd(b, 4))[0] == 9
    with pytest.raises(TypeError):
        rffi.ptradd(malloc(lltype.Struct("PS", ("x", Signed)), immortal=True), 1)
    free(a)


def test_cast_int_to_function_pointer():
    F = rffi.CCallback([rffi.INT], rffi.INT)
    cabs = rffi.llexternal("abs", [rffi.INT], rffi.INT, _nowrapper=True)
    address = rffi.cast(Signed, cabs)
    f = rffi.cast(F, address)
    assert f(rffi.cast(rffi.INT, -3)) == 3


# -- 2.4 llexternal --------------------------------------------------------------------

def test_strlen_with_include():
    strlen = rffi.llexternal("strlen", [rffi.CCHARP], rffi.SIZE_T,
                             compilation_info=ExternalCompilationInfo(includes=["string.h"]))
    assert strlen(b"abcd") == 4
    s = rffi.str2charp(b"xxx")
    res = strlen(s)
    rffi.free_charp(s)
    assert res == 3 and type(res) is lltype.r_uint
    with pytest.raises(TypeError):
        strlen("text")
    with pytest.raises(TypeError):
        strlen()
    with pytest.raises(TypeError):
        strlen(b"a", b"b")
    assert strlen.__name__ == "strlen"
    assert lltype.typeOf(strlen._ptr) == Ptr(lltype.FuncType([rffi.CCHARP], rffi.SIZE_T))


def test_int_arguments_wrap_and_results():
    cabs = rffi.llexternal("abs", [rffi.INT], rffi.INT)
    assert cabs(-5) == 5 and type(cabs(-5)) is int
    assert cabs(2**32 - 5) == 5
    assert cabs(rffi.r_uchar(3)) == 3
    assert cabs(True) == 1
    with pytest.raises(TypeError):
        cabs(1.5)
    with pytest.raises(OverflowError):
        cabs(2**64)
    with pytest.raises(TypeError):
        cabs(b"x")
    raw = rffi.llexternal("abs", [rffi.INT], rffi.INT, _nowrapper=True)
    r = raw(rffi.cast(rffi.INT, -2))
    assert r == 2 and type(r) is rffi.r_int
    with pytest.raises(TypeError):
        raw(-2)


def test_float_and_libm():
    eci = ExternalCompilationInfo(includes=["math.h"], libraries=["m"])
    sqrt = rffi.llexternal("sqrt", [rffi.DOUBLE], rffi.DOUBLE, compilation_info=eci)
    assert sqrt(4) == 2.0 and sqrt(2.25) == 1.5
    frexp = rffi.llexternal("frexp", [rffi.DOUBLE, rffi.CFixedArray(rffi.INT, 1)],
                            rffi.DOUBLE, compilation_info=eci)
    # by value is not what frexp takes: use the out-parameter pattern with INTP instead
    frexp = rffi.llexternal("frexp", [rffi.DOUBLE, rffi.INTP], rffi.DOUBLE,
                            compilation_info=eci)
    out = malloc(rffi.CFixedArray(rffi.INT, 1))
    assert frexp(8.0, rffi.cast(rffi.INTP, out)) == 0.5
    assert out[0] == 4
    free(out)
    fabsf = rffi.llexternal("fabsf", [rffi.FLOAT], rffi.FLOAT, compilation_info=eci)
    r = fabsf(-1.5)
    assert type(r) is lltype.r_singlefloat and float(r) == 1.5


def test_inline_c_sources():
    eci = ExternalCompilationInfo(
        post_include_bits=["int add(int, int); struct pt { long x, y; };"],
        separate_module_sources=["""
            RPY_EXTERN int add(int a, int b) { return a + b; }
            long sumpt(struct pt p) { return p.x + p.y; }
            long getx(struct pt *p) { return p->x; }
            static int hidden(void) { return 1; }
            int reuse(void) { return add(1, 2); }
        """])
    add = rffi.llexternal("add", [rffi.INT, rffi.INT], rffi.INT, compilation_info=eci)
    assert add(3, 4) == 7
    PT = rffi.CStruct("pt", ("x", rffi.LONG), ("y", rffi.LONG))
    sumpt = rffi.llexternal("sumpt", [PT], rffi.LONG, compilation_info=eci)
    getx = rffi.llexternal("getx", [Ptr(PT)], rffi.LONG, compilation_info=eci)
    p = malloc(PT)
    p.c_x, p.c_y = 3, 4
    assert sumpt(p) == 7 and getx(p) == 3
    with pytest.raises(TypeError):
        getx(rffi.cast(rffi.VOIDP, p))
    free(p)
    hidden = rffi.llexternal("hidden", [], rffi.INT, compilation_info=eci)
    with pytest.raises(NotImplementedError):
        hidden()


def test_header_in_include_dir(tmp_path):
    (tmp_path / "x.h").write_text("#define X_FACTOR 3\nint times(int);\n")
    eci = ExternalCompilationInfo(includes=["x.h"], include_dirs=[str(tmp_path)],
                                  separate_module_sources=[
                                      "int times(int v) { return X_FACTOR * v; }"])
    times = rffi.llexternal("times", [rffi.INT], rffi.INT, compilation_info=eci)
    assert times(5) == 15


def test_macro():
    eci = ExternalCompilationInfo(post_include_bits=["#define fn(x) (42 + x)"])
    fn = rffi.llexternal("fn", [rffi.INT], rffi.INT, compilation_info=eci, macro=True)
    assert fn(1) == 43
    g = rffi.llexternal("g", [rffi.INT], rffi.INT, compilation_info=eci, macro="fn")
    assert g(2) == 44 and g.__name__ == "g"


def test_missing_symbol_and_library():
    foobar = rffi.llexternal("foobar_no_such_function", [], rffi.INT)
    with pytest.raises(NotImplementedError) as info:
        foobar()
    assert "foobar_no_such_function" in str(info.value)
    assert "standard C library" in str(info.value)
    f = rffi.llexternal("f", [], rffi.INT, compilation_info=ExternalCompilationInfo(
        libraries=["no_such_library_nffi"]))
    with pytest.raises(NotImplementedError) as info:
        f()
    assert "cannot find the library 'no_such_library_nffi'" in str(info.value)


def test_compilation_error_shows_compiler_message():
    eci = ExternalCompilationInfo(separate_module_sources=["int broken(void) { return x_undeclared; }"])
    broken = rffi.llexternal("broken", [], rffi.INT, compilation_info=eci)
    with pytest.raises(CompilationError) as info:
        broken()
    assert "x_undeclared" in str(info.value)


def test_declaration_errors():
    with pytest.raises(TypeError):
        rffi.llexternal("f", [5], rffi.INT)
    with pytest.raises(TypeError):
        rffi.llexternal("f", [], lltype.Struct("S", ("x", Signed)))
    with pytest.raises(TypeError):
        rffi.llexternal("f", [], rffi.INT, _callable=5)
    with pytest.raises(ValueError):
        rffi.llexternal("f", [], rffi.INT, _callable=lambda: 1, macro=True)
    with pytest.raises(ValueError):
        rffi.llexternal("f", [], rffi.INT, _nowrapper=True, save_err=rffi.RFFI_SAVE_ERRNO)
    with pytest.raises(ValueError):
        rffi.llexternal("f", [], rffi.INT, elidable_function=True,
                        random_effects_on_gcobjs=True)


def test_callable_replaces_c():
    f = rffi.llexternal("not_in_c", [rffi.INT, rffi.CCHARP], rffi.INT,
                        _callable=lambda n, s: rffi.cast(rffi.INT, n + len(rffi.charp2str(s))))
    assert f(2, b"abc") == 5


def test_pointer_results_and_none():
    eci = ExternalCompilationInfo(separate_module_sources=[
        "char *maybe(int n) { static char s[] = \"hi\"; return n ? s : 0; }"])
    maybe = rffi.llexternal("maybe", [rffi.INT], rffi.CCHARP, compilation_info=eci)
    r = maybe(1)
    assert lltype.typeOf(r) == rffi.CCHARP and rffi.charp2str(r) == b"hi"
    null = maybe(0)
    assert null is not None and not null
    strlen = rffi.llexternal("strlen", [rffi.CCHARP], rffi.SIZE_T)
    assert strlen(r) == 2


def test_varargs():
    snprintf = rffi.llexternal("snprintf", [rffi.CCHARP, rffi.SIZE_T, rffi.CCHARP,
                                            rffi.INT, rffi.DOUBLE], rffi.INT,
                               natural_arity=3)
    with rffi.scoped_alloc_buffer(64) as buf:
        n = snprintf(buf.raw, 64, b"%d %.1f", 42, 2.5)
        assert buf.str(n) == b"42 2.5"


def test_output_buffer():
    eci = ExternalCompilationInfo(separate_module_sources=[
        "#include <string.h>\nvoid fill(char *b, int n) { memset(b, 'a', n); b[n] = 0; }"])
    fill = rffi.llexternal("fill", [rffi.CCHARP, rffi.INT], Void, compilation_info=eci)
    buf = malloc(rffi.CCHARP.TO, 10, flavor="raw")
    assert fill(buf, 5) is None
    assert rffi.charp2str(buf) == b"aaaaa"
    free(buf, flavor="raw")


def test_same_eci_shares_state():
    src = "static int n; int bump(void) { return ++n; }"
    e1 = ExternalCompilationInfo(separate_module_sources=[src])
    e2 = ExternalCompilationInfo(separate_module_sources=[src])
    b1 = rffi.llexternal("bump", [], rffi.INT, compilation_info=e1)
    b2 = rffi.llexternal("bump", [], rffi.INT, compilation_info=e2)
    assert (b1(), b2(), b1()) == (1, 2, 3)
    e3 = ExternalCompilationInfo(separate_module_sources=[src + "\n/* other */"])
    b3 = rffi.llexternal("bump", [], rffi.INT, compilation_info=e3)
    assert b3() == 1


def test_c_memcpy_memset():
    a = malloc(rffi.CCHARP.TO, 4)
    rffi.c_memset(a, ord("z"), 4)
    b = malloc(rffi.CCHARP.TO, 4)
    rffi.c_memcpy(b, a, 4)
    assert rffi.charpsize2str(b, 4) == b"zzzz"
    free(a)
    free(b)
    assert rffi.llexternal_use_eci(ExternalCompilationInfo())() is None


# -- 2.5 callbacks ------------------------------------------------------------------------

CMP = rffi.CCallback([rffi.VOIDP, rffi.VOIDP], rffi.INT)
qsort = rffi.llexternal("qsort", [rffi.VOIDP, rffi.SIZE_T, rffi.SIZE_T, CMP], Void)


def test_qsort_with_python_comparator():
    values = [5, 3, 1, 4, 2]
    a = malloc(rffi.INTP.TO, len(values))
    for i, v in enumerate(values):
        a[i] = rffi.cast(rffi.INT, v)
    seen = []

    def compare(x, y):
        seen.append((lltype.typeOf(x), lltype.typeOf(y)))
        return rffi.cast(rffi.INTP, x)[0] - rffi.cast(rffi.INTP, y)[0]
    qsort(rffi.cast(rffi.VOIDP, a), len(values), rffi.sizeof(rffi.INT), compare)
    assert [a[i] for i in range(5)] == [1, 2, 3, 4, 5]
    assert seen[0] == (rffi.VOIDP, rffi.VOIDP)
    free(a)


def test_llhelper_exception_reraised():
    def compare(x, y):
        raise KeyError("boom")
    a = malloc(rffi.INTP.TO, 2, zero=True)
    with pytest.raises(KeyError):
        qsort(rffi.cast(rffi.VOIDP, a), 2, 4, rffi.llhelper(CMP, compare))
    free(a)


def test_plain_callable_exception_is_printed(capsys):
    def compare(x, y):
        raise ValueError("bad compare")
    compare._errorcode_ = 0
    a = malloc(rffi.INTP.TO, 2, zero=True)
    qsort(rffi.cast(rffi.VOIDP, a), 2, 4, compare)
    err = capsys.readouterr().err
    assert "Warning: uncaught exception in callback: compare bad compare" in err
    free(a)


def test_callback_int_arguments_are_exact():
    eci = ExternalCompilationInfo(separate_module_sources=[
        "int apply(int (*f)(int, char), int v) { return f(v, 'q'); }"])
    F = rffi.CCallback([rffi.INT, rffi.CHAR], rffi.INT)
    apply_ = rffi.llexternal("apply", [F, rffi.INT], rffi.INT, compilation_info=eci)
    got = []

    def f(n, c):
        got.append((type(n), c))
        return n * 2
    assert apply_(f, 21) == 42
    assert got == [(rffi.r_int, b"q")]
    assert apply_(lltype.functionptr(F.TO, "g", _callable=lambda n, c: n + 1), 1) == 2


def test_callbacks_from_other_threads():
    eci = ExternalCompilationInfo(separate_module_sources=["""
        #include <pthread.h>
        static int (*cb)(int);
        static int result;
        static void *run(void *arg) { result = cb(5); return 0; }
        int in_thread(int (*f)(int)) {
            pthread_t t; cb = f; pthread_create(&t, 0, run, 0); pthread_join(t, 0);
            return result;
        }"""], libraries=["pthread"])
    F = rffi.CCallback([rffi.INT], rffi.INT)
    in_thread = rffi.llexternal("in_thread", [F], rffi.INT, compilation_info=eci)
    assert in_thread(lambda n: n * 3) == 15


def test_keepalive():
    obj = object()
    pos = rffi.register_keepalive(obj)
    assert rffi.get_keepalive_object(pos, object) is obj
    rffi.unregister_keepalive(pos, object)
    with pytest.raises(KeyError):
        rffi.get_keepalive_object(pos, object)


# -- 2.6 errno ----------------------------------------------------------------------------

def test_save_errno():
    close = rffi.llexternal("close", [rffi.INT], rffi.INT, save_err=rffi.RFFI_SAVE_ERRNO)
    rffi.set_saved_errno(0)
    assert close(-1) == -1
    assert rffi.get_saved_errno() == errno.EBADF


def test_readsaved_and_alt_errno():
    eci = ExternalCompilationInfo(separate_module_sources=[
        "#include <errno.h>\nint get_errno(void) { return errno; }"])
    read_saved = rffi.llexternal("get_errno", [], rffi.INT, compilation_info=eci,
                                 save_err=rffi.RFFI_READSAVED_ERRNO)
    zero = rffi.llexternal("get_errno", [], rffi.INT, compilation_info=eci,
                           save_err=rffi.RFFI_ZERO_ERRNO_BEFORE)
    alt = rffi.llexternal("get_errno", [], rffi.INT, compilation_info=eci,
                          save_err=rffi.RFFI_READSAVED_ERRNO | rffi.RFFI_ALT_ERRNO)
    rffi.set_saved_errno(17)
    rffi.set_saved_alterrno(23)
    assert read_saved() == 17
    assert zero() == 0
    assert alt() == 23
    results = []
    t = threading.Thread(target=lambda: results.append(rffi.get_saved_errno()))
    t.start()
    t.join()
    assert results == [0]                   # per thread


# -- 2.7 strings ----------------------------------------------------------------------------

def test_str2charp_roundtrip():
    s = rffi.str2charp(b"a\x00b")
    assert s[3] == b"\x00" and rffi.charp2str(s) == b"a"
    assert rffi.charpsize2str(s, 3) == b"a\x00b"
    with pytest.raises(IndexError):
        s[4]
    rffi.free_charp(s)
    s = rffi.str2charp(b"hello")
    assert rffi.charp2strn(s, 3) == b"hel" and rffi.charp2strn(s, 10) == b"hello"
    rffi.free_charp(s)
    with pytest.raises(TypeError):
        rffi.str2charp("text")
    c = rffi.str2constcharp(b"k")
    assert rffi.constcharp2str(c) == b"k"
    rffi.free_charp(rffi.cast(rffi.CCHARP, c))
    with pytest.raises(TypeError):
        rffi.charp2str(5)


def test_chararray_and_rawmem():
    a = malloc(rffi.CCHARP.TO, 4, zero=True)
    assert rffi.str2chararray(b"abcdef", a, 3) == 3
    assert rffi.charp2str(a) == b"abc"
    rffi.str2rawmem(b"xyzw", a, 1, 2)
    assert rffi.charpsize2str(a, 3) == b"yzc"
    free(a)


def test_charpp():
    pp = rffi.liststr2charpp([b"one", b"two", b""])
    assert rffi.charpp2liststr(pp) == [b"one", b"two", b""]
    assert not pp[3]
    rffi.free_charpp(pp)


def test_nonmoving_buffers():
    buf, llobj, flag = rffi.get_nonmovingbuffer_ll(b"abc")
    assert flag == b"\x06" and rffi.charpsize2str(buf, 3) == b"abc"
    rffi.free_nonmovingbuffer_ll(buf, llobj, flag)
    buf, llobj, flag = rffi.get_nonmovingbuffer_ll_final_null(b"abc")
    assert rffi.charp2str(buf) == b"abc"
    rffi.free_nonmovingbuffer_ll(buf, llobj, flag)
    with rffi.scoped_nonmovingbuffer(b"xyz") as b:
        assert rffi.charpsize2str(b, 3) == b"xyz"
    with pytest.raises(Exception, match="_ll"):
        rffi.get_nonmovingbuffer(b"x")


def test_alloc_buffer():
    raw, gc_buf, case = rffi.alloc_buffer(8)
    try:
        assert case == 2
        rffi.str2chararray(b"abcdefgh", raw, 8)
        assert rffi.str_from_buffer(raw, gc_buf, case, 8, 5) == b"abcde"
        with pytest.raises(ValueError):
            rffi.str_from_buffer(raw, gc_buf, case, 8, 9)
    finally:
        rffi.keep_buffer_alive_until_here(raw, gc_buf, case)
    with rffi.scoped_alloc_buffer(4) as b:
        b.raw[0] = b"q"
        assert b.size == 4 and b.str(1) == b"q"


def test_scoped_strings():
    with rffi.scoped_str2charp(b"hi") as p:
        assert rffi.charp2str(p) == b"hi"
    with rffi.scoped_str2charp(None) as p:
        assert not p
    with rffi.scoped_view_charp(b"v") as p:
        assert rffi.charp2str(p) == b"v"


def test_unicode_helpers():
    u = "a\u263a\U0001f600"
    w = rffi.unicode2wcharp(u)
    assert rffi.wcharp2unicode(w) == u
    assert rffi.wcharp2unicoden(w, 2) == u[:2]
    assert rffi.wcharpsize2unicode(w, 3) == u
    assert rffi.wcharp2utf8(w) == (u.encode("utf-8"), 3)
    assert rffi.wcharp2utf8n(w, 1) == (b"a", 1)
    assert rffi.wcharpsize2utf8(w, 2) == u[:2].encode("utf-8")
    rffi.free_wcharp(w)
    with pytest.raises(TypeError):
        rffi.unicode2wcharp(b"bytes")
    w = rffi.utf82wcharp(u.encode("utf-8"), 3)
    assert rffi.wcharp2unicode(w) == u
    rffi.free_wcharp(w)
    with rffi.scoped_unicode2wcharp("xy") as w:
        assert rffi.wcharp2unicode(w) == "xy"
    with rffi.scoped_utf82wcharp(b"ok") as w:
        assert rffi.wcharp2unicode(w) == "ok"
    with rffi.scoped_nonmoving_unicodebuffer("abc") as w:
        assert rffi.wcharpsize2unicode(w, 3) == "abc"
        with pytest.raises(IndexError):
            w[3]
    with rffi.scoped_alloc_unicodebuffer(3) as b:
        assert rffi.unicode2wchararray("xyzw", b.raw, 3) == 3
        assert b.str(2) == "xy"
    a = malloc(rffi.CWCHARP.TO, 3, zero=True)
    rffi.unicode2rawmem("abcd", a, 1, 2)
    assert rffi.wcharp2unicode(a) == "bc"
    free(a)
    wcslen = rffi.llexternal("wcslen", [rffi.CWCHARP], rffi.SIZE_T)
    assert wcslen("abc") == 3


def test_raw_address_of_string():
    p = rffi.get_raw_address_of_string(b"constant")
    assert rffi.get_raw_address_of_string(b"constant") == p
    assert rffi.charp2str(p) == b"constant"


def test_interop_with_ffi():
    import nffi
    ffi = nffi.FFI()
    ffi.cdef("struct pt { long x; long y; };")
    PT = rffi.CStruct("pt", ("x", rffi.LONG), ("y", rffi.LONG))
    p = malloc(PT, zero=True)
    q = ffi.cast("struct pt *", p._cdata)
    q.y = 9
    assert p.c_y == 9
    assert ffi.sizeof("struct pt") == rffi.sizeof(PT)
    free(p)


def test_callback_returning_pointers(capsys):
    eci = ExternalCompilationInfo(separate_module_sources=[
        "#include <stddef.h>\n"
        "long is_null(char *(*f)(void)) { return f() == NULL; }"])
    F = rffi.CCallback([], rffi.CCHARP)
    is_null = rffi.llexternal("is_null", [F], rffi.LONG, compilation_info=eci)
    keep = rffi.str2charp(b"k")
    assert is_null(lambda: None) == 1
    assert is_null(lambda: keep) == 0

    def gives_bytes():
        return b"temporary"
    assert is_null(gives_bytes) == 1            # error printed, NULL returned
    assert "must return a pointer" in capsys.readouterr().err
    rffi.free_charp(keep)


def test_utf82wcharp_length():
    w = rffi.utf82wcharp("\xe9t\xe9".encode("utf-8"), 5)        # room for 5 + NUL
    assert rffi.wcharp2unicode(w) == "\xe9t\xe9"
    rffi.free_wcharp(w)
    with pytest.raises(ValueError):
        rffi.utf82wcharp(b"abc", 2)


def test_library_search(tmp_path):
    built = ExternalCompilationInfo(separate_module_sources=[
        "int in_mylib(void) { return 99; }"]).compile_shared_lib(
            outputfilename=str(tmp_path / "libmylib"))
    assert built.libraries[0] == str(tmp_path / "libmylib.so")
    eci = ExternalCompilationInfo(libraries=["mylib"], library_dirs=[str(tmp_path)])
    f = rffi.llexternal("in_mylib", [], rffi.INT, compilation_info=eci)
    assert f() == 99
    testonly = ExternalCompilationInfo(testonly_libraries=["mylib"],
                                       library_dirs=[str(tmp_path)])
    assert rffi.llexternal("in_mylib", [], rffi.INT, compilation_info=testonly)() == 99
    missing = rffi.llexternal("in_mylib", [], rffi.INT, compilation_info=
                              ExternalCompilationInfo(libraries=["nope_a", "nope_b"]))
    with pytest.raises(NotImplementedError, match=r"cannot find any of the libraries"):
        missing()
    absent = rffi.llexternal("not_in_mylib", [], rffi.INT, compilation_info=eci)
    with pytest.raises(NotImplementedError, match="not_in_mylib.*libmylib"):
        absent()


def test_float_constant():
    eci = ExternalCompilationInfo(includes=["math.h"])
    pi = rffi.CConstant("M_PI", rffi.DOUBLE)
    assert abs(pi.getvalue(eci) - 3.141592653589793) < 1e-15
    assert rffi.CConstant("CHAR_BIT", rffi.INT).getvalue(
        ExternalCompilationInfo(includes=["limits.h"])) == 8


def test_errorcode_returned_to_c(capsys):
    eci = ExternalCompilationInfo(separate_module_sources=[
        "long call_it(long (*f)(long)) { return f(1); }"])
    F = rffi.CCallback([Signed], Signed)
    call_it = rffi.llexternal("call_it", [F], Signed, compilation_info=eci)

    def raising(n):
        raise ValueError("no")
    raising._errorcode_ = -42
    assert call_it(raising) == -42

    def wrong_type(n):
        return "not a number"
    assert call_it(wrong_type) == 0
    assert "callback wrong_type must return an integer" in capsys.readouterr().err


def test_macro_spellings_of_pointer_types():
    eci = ExternalCompilationInfo(post_include_bits=[
        "#include <stddef.h>\nstruct stuff; typedef struct stuff *stuff_ptr;\n"
        "struct pt { long x; };\n"
        "#define IS_NULL(p) ((p) == NULL)\n#define GETX(p) ((p)->x)"])
    STUFFP = rffi.COpaquePtr(typedef="stuff_ptr", compilation_info=eci)
    is_null = rffi.llexternal("is_null", [STUFFP], Signed, compilation_info=eci,
                              macro="IS_NULL")
    assert is_null(lltype.nullptr(STUFFP.TO)) == 1
    PT = rffi.CStruct("pt", ("x", rffi.LONG))
    getx = rffi.llexternal("getx", [Ptr(PT)], rffi.LONG, compilation_info=eci,
                           macro="GETX")
    p = rffi.make(PT, c_x=5)
    assert getx(p) == 5
    free(p)


def test_float_argument_kinds():
    eci = ExternalCompilationInfo(includes=["math.h"], libraries=["m"])
    fabs = rffi.llexternal("fabs", [rffi.DOUBLE], rffi.DOUBLE, compilation_info=eci)
    assert fabs(-2) == 2.0 and fabs(True) == 1.0 and fabs(rffi.r_int(-3)) == 3.0
    for bad in (b"1", None, lltype.r_singlefloat(1.0)):
        with pytest.raises(TypeError):
            fabs(bad)
    fabsf = rffi.llexternal("fabsf", [rffi.FLOAT], rffi.FLOAT, compilation_info=eci)
    assert float(fabsf(lltype.r_singlefloat(-0.5))) == 0.5
    assert float(fabsf(-1)) == 1.0


def test_releasegil_decides_whether_the_call_holds_the_gil():
    """releasegil=False keeps the GIL during the call; 'auto' releases it unless
    sandboxsafe or _nowrapper (rffi-api.md 2.4). CPython's PyGILState_Check, called as
    the C function, tells whether the calling thread holds the GIL."""
    def check(**kwargs):
        return rffi.llexternal("PyGILState_Check", [], rffi.INT, **kwargs)
    assert check(releasegil=False)() == 1
    assert check(releasegil=True)() == 0
    assert check()() == 0
    assert check(sandboxsafe=True)() == 1
    assert check(_nowrapper=True)() == 1
    assert check(releasegil=False, save_err=rffi.RFFI_SAVE_ERRNO)() == 1   # Python wrapper


# -- 128-bit integers (spec 2.1: "only if the compiler has them") ----------------------

@pytest.mark.skipif(not LP64, reason="__int128 exists on 64-bit targets")
def test_int128_values_arithmetic_and_casts():
    T, U = rffi.__INT128_T, rffi.__UINT128_T
    assert T in rffi.NUMBER_TYPES and U in rffi.NUMBER_TYPES
    assert rffi.sizeof(T) == 16 and rffi.size_and_sign(U) == (16, True)
    assert rffi.__INT128_TP.TO.OF is T
    x = rffi.r___int128_t(2**100)
    assert lltype.typeOf(x) is T and type(x * 2) is rffi.r___int128_t
    with pytest.raises(OverflowError):
        rffi.r___int128_t(2**127)
    with pytest.raises(OverflowError):
        x * 2**30                                    # signed: no wrapping
    assert rffi.r___uint128_t(-1) == 2**128 - 1      # unsigned: wraps
    with pytest.raises(TypeError):
        x + rffi.r___uint128_t(1)                    # signed and unsigned do not mix
    assert rffi.cast(U, -1) == 2**128 - 1 and type(rffi.cast(U, -1)) is rffi.r___uint128_t
    assert rffi.cast(T, 2**127) == -2**127           # casts wrap, over 128 bits
    assert rffi.cast(rffi.INT, rffi.r___int128_t(2**40 + 5)) == 5
    assert rffi.cast(rffi.LONGLONG, rffi.cast(T, -5)) == -5
    with pytest.raises(OverflowError):
        rffi.cast(T, 2**128)


@pytest.mark.skipif(not LP64, reason="__int128 exists on 64-bit targets")
def test_int128_cannot_reach_memory_or_c():
    T = rffi.__INT128_T
    with pytest.raises(TypeError, match="128-bit"):
        malloc(rffi.CStruct("w128", ("a", T)))
    with pytest.raises(TypeError, match="128-bit"):
        malloc(rffi.CArray(T), 2)
    with pytest.raises(TypeError, match="128-bit"):
        rffi.llexternal("abs", [T], rffi.INT)
    with pytest.raises(TypeError, match="128-bit"):
        rffi.llexternal("abs", [rffi.INT], rffi.__UINT128_T)
