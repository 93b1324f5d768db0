"""The process-wide type registry of the core (ctype.c): every primitive, pointer, array
(including 'T[]') and function ctype exists once per process, however it was made --
a type string, ffi.new, a slice, a cast, a library function, another FFI -- while
struct, union and enum ctypes belong to the FFI that declared them and the registry
keeps none of them alive."""
import gc
import threading
import weakref

import cffi
import pytest
from hypothesis import given, settings, strategies as st

import nffi
from nffi import _core
from nffi.compat import CompiledFFI

DECLS = """
    struct s { int a; char b; };
    union u { int i; double d; };
    enum e { E0, E1 };
    typedef int (*cb_t)(int);
"""

# item types of every kind an array can hold
ITEMS = ["int", "char", "unsigned char", "signed char", "_Bool", "double", "long double",
         "wchar_t", "char32_t", "float _Complex", "size_t", "int *", "void *", "char *",
         "struct s", "union u", "enum e", "cb_t", "int(*)(int, ...)", "int[3]",
         "struct s *[2]", "int(*)[3]"]


def make(module):
    ffi = module.FFI()
    ffi.cdef(DECLS)
    return ffi


@pytest.fixture
def ffi():
    return make(nffi)


@pytest.fixture
def oracle():
    return make(cffi)


def array_of(ffi, item, length=""):
    return ffi.getctype(ffi.typeof(item), "[%s]" % length)


@pytest.mark.parametrize("item", ITEMS)
def test_slices_have_the_open_array_type(ffi, oracle, item):
    for f, same in ((ffi, lambda a, b: a is b), (oracle, lambda a, b: a == b)):
        open_array = f.typeof(array_of(f, item))
        array = f.new(array_of(f, item, 4))
        pointer = f.cast(f.getctype(f.typeof(item), "*"), array)
        assert same(f.typeof(array[0:2]), open_array)
        assert same(f.typeof(array[1:1]), open_array)
        assert same(f.typeof(pointer[0:3]), open_array)
        assert same(f.typeof(f.new(array_of(f, item), 3)[0:1]), open_array)
        assert same(f.typeof(f.new(array_of(f, item), 3)), open_array)


@pytest.mark.parametrize("item", ITEMS)
def test_arrays_made_in_c_and_in_python_are_one_type(ffi, item):
    sized = ffi.typeof(array_of(ffi, item, 4))
    assert ffi.typeof(ffi.new(array_of(ffi, item, 4))) is sized
    assert ffi.typeof(ffi.new(array_of(ffi, item), 4)[0:4]).item is sized.item
    assert _core.new_array_type(ffi.typeof(ffi.getctype(sized.item, "*")), 4) is sized
    assert _core.new_array_type(_core.new_pointer_type(sized.item), None) is \
        ffi.typeof(array_of(ffi, item))


def test_from_buffer_and_flexible_members_use_the_registry_types(ffi):
    data = bytearray(16)
    assert ffi.typeof(ffi.from_buffer("int[]", data)) is ffi.typeof("int[]")
    ffi.cdef("struct flex { int n; int data[]; };")
    p = ffi.new("struct flex *", [2, [1, 2]])
    assert ffi.typeof(p.data) is ffi.typeof("int[]")


def test_list_arguments_for_pointers_use_the_registry_types(ffi):
    # a list given for 'int *' is converted as the registry's 'int[]' (call.c)
    open_array = ffi.typeof("int[]")
    callback = ffi.callback("int(int *, int)", lambda p, n: sum(p[0:n]))
    function = ffi.cast("int(*)(int *, int)", callback)
    assert function([40, 1, 1], 3) == 42
    assert function(ffi.new("int[]", [1, 2]), 2) == 3
    with pytest.raises(TypeError, match="int"):
        function(["x"], 1)
    assert ffi.typeof("int[]") is open_array


NON_STRUCT_TYPES = ["int", "unsigned long long", "void", "void *", "char **", "int[5]",
                    "int[]", "int *[3]", "int(*)[4]", "double[2][3]", "int(*)(int)",
                    "int(*)(int, ...)", "void(*)(void)", "char *(*)(const char *, size_t)",
                    "int(*(*)(int))(long)", "cb_t", "cb_t[2]", "float _Complex *"]


@pytest.mark.parametrize("text", NON_STRUCT_TYPES)
def test_non_struct_types_are_shared_between_ffis(text):
    first, second, compiled = make(nffi), make(nffi), CompiledFFI()
    compiled.cdef(DECLS)
    assert first.typeof(text) is second.typeof(text) is compiled.typeof(text)


def test_function_types_from_libraries_casts_and_strings_are_one(ffi):
    ffi.cdef("int abs(int); int printf(const char *, ...);")
    lib = ffi.dlopen(None)
    assert ffi.typeof(lib.abs) is ffi.typeof("int(*)(int)")
    assert ffi.typeof(lib.printf) is ffi.typeof("int(*)(const char *, ...)")
    assert ffi.typeof(ffi.cast("cb_t", 0)) is ffi.typeof("int(*)(int)")
    assert ffi.typeof("int(*)(int)").args == (ffi.typeof("int"),)
    assert ffi.typeof("int(*)(int)") is not ffi.typeof("int(*)(int, ...)")
    assert ffi.typeof("int(*)(int)") is not ffi.typeof("long(*)(int)")
    assert ffi.typeof("int(*)(int)") is not ffi.typeof("int(*)(long)")


def test_struct_types_stay_per_ffi(ffi):
    other = make(nffi)
    assert ffi.typeof("struct s") is not other.typeof("struct s")
    assert ffi.typeof("struct s[2]") is not other.typeof("struct s[2]")
    assert ffi.typeof("struct s[2]").item is ffi.typeof("struct s")
    assert ffi.typeof("struct s *(*)(void)") is not other.typeof("struct s *(*)(void)")
    assert ffi.typeof(ffi.new("struct s[2]")) is ffi.typeof("struct s[2]")


def derived_of(ffi):
    return [ffi.typeof(t) for t in ("struct s", "struct s *", "struct s[3]", "struct s[]",
                                    "union u[2]", "enum e[2]", "int(*)(struct s *)",
                                    "struct s(*)(enum e)")]


def test_the_registry_keeps_no_struct_alive_after_its_ffi_died():
    ffi = make(nffi)
    refs = [weakref.ref(ct) for ct in derived_of(ffi)]
    slice_type = weakref.ref(ffi.typeof(ffi.new("struct s[4]")[0:1]))
    del ffi
    gc.collect()
    assert [r() for r in refs] == [None] * len(refs)
    assert slice_type() is None
    # a new FFI declaring the same struct gets new types, built on its own struct
    again = make(nffi)
    assert again.typeof("struct s[3]").item is again.typeof("struct s")
    assert again.typeof("int(*)(struct s *)").args[0].item is again.typeof("struct s")


def test_dead_types_leave_the_registry():
    ptr = _core.new_pointer_type(_core.new_primitive_type("short"))
    first = _core.new_array_type(ptr, 77777)
    dead = weakref.ref(first)
    del first
    gc.collect()
    assert dead() is None
    again = _core.new_array_type(ptr, 77777)
    assert again.length == 77777 and again.item is ptr.item
    assert _core.new_array_type(ptr, 77777) is again


def test_primitives_and_void_are_unique():
    for name in ("int", "char", "double", "wchar_t", "_Bool", "size_t", "long double"):
        assert _core.new_primitive_type(name) is _core.new_primitive_type(name)
        assert _core.new_primitive_type(name) is nffi.FFI().typeof(name)
    assert _core.new_void_type() is _core.new_void_type() is nffi.FFI().typeof("void")


def test_threads_building_the_same_types_get_the_same_objects():
    item = _core.new_primitive_type("unsigned short")
    results = [[] for _ in range(8)]
    start = threading.Barrier(len(results))

    def build(out):
        start.wait()
        ptr = _core.new_pointer_type(_core.new_pointer_type(item))
        for n in range(300):
            out.append(_core.new_array_type(ptr, 1000 + n))
            out.append(_core.new_function_type((ptr,) * (n % 5), item, n % 2 == 0))

    threads = [threading.Thread(target=build, args=(out,)) for out in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for out in results[1:]:
        assert all(a is b for a, b in zip(out, results[0]))
        assert len(out) == len(results[0]) == 600


# types composed from a leaf by pointer, array and function-pointer steps
_LEAVES = ["int", "char", "double", "unsigned long", "void", "_Bool", "enum e", "struct s"]
_step = st.one_of(
    st.just("*"),
    st.integers(0, 6).map(lambda n: "[%d]" % n),
    st.tuples(st.lists(st.sampled_from(_LEAVES[:4]), max_size=3), st.booleans()).map(
        lambda p: "(*)(%s)" % (", ".join(p[0] + ["..."] * p[1]) or "void")),
)


def _compose(ffi, leaf, steps):
    ct = ffi.typeof(leaf)
    for step in steps:
        ct = ffi.typeof(ffi.getctype(ct, step))
    return ct


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_LEAVES), st.lists(_step, max_size=4))
def test_composed_types_are_interned(leaf, steps):
    first, second = make(nffi), make(nffi)
    try:
        ct = _compose(first, leaf, steps)
    except (nffi.CDefError, nffi.FFIError, ValueError, TypeError):
        return       # e.g. an array of void or a function returning an array
    assert _compose(first, leaf, steps) is ct
    assert first.typeof(ct.cname) is ct
    if leaf in ("enum e", "struct s"):
        assert second.typeof(ct.cname) is not ct and second.typeof(ct.cname).cname == ct.cname
    else:
        assert second.typeof(ct.cname) is ct
    if ct.kind == "array" and ct.length is not None:
        assert first.typeof(first.new(ct)[0:0]) is first.typeof(first.getctype(ct.item, "[]"))
