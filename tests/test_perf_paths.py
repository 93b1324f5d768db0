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


# ---- released memory: one flag test on the fast paths, nothing lost -------------------

def _views_of_released():
    ffi = nffi.FFI()
    ffi.cdef("struct in_ { int a; }; struct out { int z; struct in_ i; int arr[3]; };")
    buf = bytearray(ffi.sizeof("struct out"))
    p = ffi.from_buffer("struct out *", buf)
    views = {"field view": p.i, "array view": p.arr, "pointer view": p + 0}
    ffi.release(p)
    return ffi, p, views


def test_field_read_through_view_of_released_memory_raises():
    ffi, p, views = _views_of_released()
    with pytest.raises(ValueError, match="released"):
        views["field view"].a
    with pytest.raises(ValueError, match="released"):
        views["field view"].a = 3
    with pytest.raises(ValueError, match="released"):
        p.z


def test_item_access_through_view_of_released_memory_raises():
    ffi, p, views = _views_of_released()
    for access in (lambda: views["array view"][1], lambda: views["pointer view"].z):
        with pytest.raises(ValueError, match="released"):
            access()
    with pytest.raises(ValueError, match="released"):
        views["array view"][1] = 5
    with pytest.raises(ValueError, match="released"):
        ffi.cast("int *", views["array view"])


def test_function_of_closed_library_raises():
    ffi = nffi.FFI()
    ffi.cdef("int abs(int);")
    lib = ffi.dlopen(None)
    f = lib.abs
    assert f(-3) == 3
    ffi.dlclose(lib)
    with pytest.raises(ValueError, match="closed"):
        f(-3)


# ---- integer results: small ones shared, every width and sign right --------------------

@pytest.mark.parametrize("ctype,values", [
    ("signed char", [-128, -6, -5, -1, 0, 1, 127]),
    ("unsigned char", [0, 1, 255]),
    ("short", [-32768, -6, -5, 256, 257, 32767]),
    ("unsigned short", [0, 256, 257, 65535]),
    ("int", [-2**31, -6, -5, 0, 256, 257, 2**31 - 1]),
    ("unsigned int", [0, 255, 256, 257, 2**32 - 1]),
    ("long long", [-2**63, -6, -5, 0, 256, 257, 2**63 - 1]),
    ("unsigned long long", [0, 256, 257, 2**64 - 1]),
])
def test_integer_reads(ctype, values):
    ffi = nffi.FFI()
    ffi.cdef("struct s { char pad; %s v; };" % ctype)
    p = ffi.new("struct s *")
    a = ffi.new("%s[2]" % ctype)
    for v in values:
        p.v = v
        a[1] = v
        assert p.v == v and type(p.v) is int
        assert a[1] == v and int(ffi.cast(ctype, v)) == v
    with pytest.raises(OverflowError):
        p.v = values[-1] + 1
    with pytest.raises(OverflowError):
        p.v = values[0] - 1


def test_bool_and_enum_fields_keep_their_rules():
    ffi = nffi.FFI()
    ffi.cdef("enum e { A, B = 7 }; struct s { _Bool b; enum e e; };")
    p = ffi.new("struct s *")
    p.b = 1
    p.e = 7
    assert p.b is True and p.e == 7
    ffi.cast("unsigned char *", ffi.addressof(p[0], "b"))[0] = 2
    with pytest.raises(ValueError, match="_Bool"):
        p.b
    with pytest.raises(OverflowError):
        p.b = 2


def test_direct_call_integer_results():
    ffi = nffi.FFI()
    ffi.cdef("int abs(int); long labs(long); size_t strlen(const char *);")
    lib = ffi.dlopen(None)
    for v in (0, 5, -5, 256, -257, 2**31 - 1):
        assert lib.abs(v) == abs(v)
    assert lib.labs(-2**62) == 2**62
    assert lib.strlen(b"x" * 300) == 300 and lib.strlen(b"") == 0
