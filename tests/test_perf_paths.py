"""The fast paths added for speed keep the behaviour of the slow ones (issue 17).

Timings are never asserted here (benchmarks/ does that); these tests check that each
shortcut gives what the general path gives, and is invalidated when it must be.
"""
import pytest

import nffi
from nffi import _core


# ---- FFIBase methods: each subclass gets its own descriptors ------------------------

HOT_METHODS = ("new", "cast", "typeof", "sizeof", "alignof", "string", "_resolve")


def test_subclass_gets_own_method_descriptors():
    for name in HOT_METHODS:
        descr = nffi.FFI.__dict__[name]
        assert descr.__objclass__ is nffi.FFI, name


def test_subclass_override_is_kept_and_inherited():
    class Mine(nffi.FFI):
        def sizeof(self, cdecl):
            return "mine"

    class Below(Mine):
        pass

    assert Below().sizeof("int") == "mine"
    assert Below.__dict__["new"].__objclass__ is Below
    assert "sizeof" not in Below.__dict__
    assert Below().new("int *", 5)[0] == 5


def test_init_subclass_rejects_arguments():
    with pytest.raises(TypeError):
        class Bad(nffi.FFI, spam=1):
            pass


def test_init_subclass_chains_from_python():
    seen = []

    class Hooked(nffi.FFI):
        def __init_subclass__(cls, **kw):
            seen.append(cls.__name__)
            super().__init_subclass__(**kw)

    class Child(Hooked):
        pass

    assert seen == ["Child"]
    assert Child.__dict__["sizeof"].__objclass__ is Child
    assert Child().sizeof("long") == nffi.FFI().sizeof("long")


# ---- the type-string cache: identity front and dict agree ----------------------------

def test_type_cache_is_read_only_view():
    ffi = nffi.FFI()
    ffi.sizeof("int")
    assert ffi._type_cache["int"] is ffi.typeof("int")
    with pytest.raises((TypeError, AttributeError)):
        ffi._type_cache.clear()


def test_cached_string_follows_override():
    ffi = nffi.FFI()
    ffi.cdef("typedef struct { int a; } t;")
    s = "t"                      # the same str object every time: the identity cache hits
    assert ffi.sizeof(s) == 4
    assert ffi.typeof(s) is ffi.typeof("t")
    ffi.cdef("typedef struct { long a, b; } t;", override=True)
    assert ffi.sizeof(s) == 16
    assert ffi.new(s + " *").a == 0
    assert ffi.typeof(s).fields[1][0] == "b"


def test_cached_strings_many_and_equal_but_not_identical():
    ffi = nffi.FFI()
    names = ["int[%d]" % i for i in range(1, 200)]     # more than the identity slots
    for _ in range(2):
        for i, name in enumerate(names, 1):
            assert ffi.sizeof(name) == 4 * i
            assert ffi.sizeof("".join(["int[", str(i), "]"])) == 4 * i


def test_sizeof_paths_agree():
    ffi = nffi.FFI()
    ffi.cdef("struct pt { int x, y; }; struct opaque;")
    assert ffi.sizeof("struct pt") == ffi.sizeof(ffi.typeof("struct pt")) == 8
    assert ffi.sizeof(cdecl="struct pt") == 8
    assert ffi.sizeof(ffi.new("struct pt *")[0]) == 8
    for _ in range(2):                   # a cached incomplete type still raises
        with pytest.raises(ValueError, match="unknown size"):
            ffi.sizeof("struct opaque")
