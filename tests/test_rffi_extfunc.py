"""nffi.extfunc.register_external: normal and fake modes, argument checks."""
import pytest

from nffi import extfunc, lltype, rffi
from nffi.extfunc import SignatureError, register_external


def test_normal_and_fake_modes():
    def f(x):
        return "function"

    ext = register_external(f, [int], int, llimpl=lambda x: "llimpl",
                            llfakeimpl=lambda x: "fake")
    assert ext(1) == "llimpl"
    assert not extfunc.is_fakeimpl_mode()
    with extfunc.fakeimpl_mode():
        assert extfunc.is_fakeimpl_mode()
        assert ext(1) == "fake"
        with extfunc.fakeimpl_mode(False):
            assert ext(1) == "llimpl"
        assert ext(1) == "fake"
    assert ext(1) == "llimpl"
    with pytest.raises(ZeroDivisionError):
        with extfunc.fakeimpl_mode():
            1 / 0
    assert not extfunc.is_fakeimpl_mode()
    assert f(1) == "function"                     # the original is untouched


def test_fallbacks():
    def g(x):
        return "g"
    only_llimpl = register_external(g, [int], llimpl=lambda x: "ll")
    with extfunc.fakeimpl_mode():
        assert only_llimpl(1) == "ll"

    def h(x):
        return "h"
    bare = register_external(h, [int])
    assert bare(1) == "h"
    with extfunc.fakeimpl_mode():
        assert bare(1) == "h"


def test_attributes_and_lookup():
    def k(a, b):
        return a + b
    ext = register_external(k, [int, float], float, export_name="ll_k", sandboxsafe=True)
    assert ext.name == "ll_k" and ext.function is k and ext.__wrapped__ is k
    assert ext.args == [int, float] and ext.result is float and ext.sandboxsafe
    assert extfunc.lookup(k) is ext and extfunc.lookup(ext) is ext
    assert extfunc.is_external(k) and not extfunc.is_external(len)
    with pytest.raises(KeyError):
        extfunc.lookup(len)
    with pytest.raises(ValueError):
        register_external(k, [int, int])
    assert register_external(lambda: 0, []).name == "<lambda>"


def test_signature_errors():
    def s(a, b, c, d, e, f):
        return "ok"
    ext = register_external(s, [int, float, str, bytes, [int], (int, bool)])
    assert ext(1, 2, "x", b"y", [1, 2], (3, True)) == "ok"
    assert ext(True, 2.5, "", b"", [], (0, False)) == "ok"
    cases = [("x", 2, "x", b"y", [], (1, True)),
             (1, "2", "x", b"y", [], (1, True)),
             (1, 2, b"x", b"y", [], (1, True)),
             (1, 2, "x", "y", [], (1, True)),
             (1, 2, "x", b"y", ["a"], (1, True)),
             (1, 2, "x", b"y", [], (1, 2)),
             (1, 2, "x", b"y", [], (1,))]
    for args in cases:
        with pytest.raises(SignatureError) as info:
            ext(*args)
        assert "s()" in str(info.value) and "arg" in str(info.value)
    with pytest.raises(SignatureError):
        ext(1, 2, "x", b"y", [], (1, True), 7)
    with pytest.raises(SignatureError):
        ext(1, 2, "x", b"y", [], c=(1, True))
    assert issubclass(SignatureError, TypeError)


def test_lowlevel_and_class_annotations():
    class Thing:
        pass

    def t(p, n, thing, anything):
        return "ok"
    ext = register_external(t, [rffi.CCHARP, rffi.INT, Thing, object()])
    p = lltype.nullptr(rffi.CCHARP.TO)
    assert ext(p, rffi.r_int(1), Thing(), 42) == "ok"
    with pytest.raises(SignatureError, match="arg 2"):
        ext(p, 1, Thing(), None)
    with pytest.raises(SignatureError, match="arg 1"):
        ext(b"x", rffi.r_int(1), Thing(), None)
    with pytest.raises(SignatureError, match="arg 3"):
        ext(p, rffi.r_int(1), object(), None)
    none_ext = register_external(lambda x: x, [None])
    assert none_ext(None) is None
    with pytest.raises(SignatureError):
        none_ext(0)
