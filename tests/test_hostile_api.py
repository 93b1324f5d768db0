"""Hostile use of API-mode (compiled) modules: user code run in the middle of a call,
a global write or a conversion (__int__, __index__, __float__, callbacks, extern
"Python") that releases, resizes, clears or re-enters what the operation uses must
raise a clear exception, never crash or hand C freed memory; integer truncation raises
OverflowError on every API-mode path (arguments, results, globals, struct fields), as
cffi does (the oracle, where it can answer: cffi itself passes freed memory to C in
the release-during-conversion cases, nffi raises as its ABI mode does).

Run under .ci/sanitize too: a use-after-free here is an ASan report."""
import gc
import itertools
import os
import sys

import cffi
import pytest

import nffi
from nffi import _core

from test_api_mode import _load

_counter = itertools.count()

CDEF = """
    struct pt { int x, y; };
    int add(int, int);
    long sum(int *p, int n);
    long sum_again(int *p, int n);
    long sum_rev(int n, int *p);
    long sum_both(int *p, int *q, int n);
    int first(int *p);
    struct pt mkpt(int x, int y);
    int ptx(struct pt p);
    size_t slen(const char *s);
    unsigned char echo_uc(unsigned char);
    signed char echo_sc(long);
    unsigned short trunc_us(long);
    extern int g;
    extern unsigned char g_uc;
    extern struct pt g_pt;
    extern int g_arr[4];
    int call_cb(int (*cb)(int), int);
    extern "Python" int pycb(int);
    int call_py(int);
    int vsum(int n, ...);
    void *malloc(size_t);
    void free(void *);
"""
SOURCE = r"""
    #include <stdarg.h>
    #include <stdlib.h>
    #include <string.h>
    struct pt { int x, y; };
    static int add(int a, int b) { return a + b; }
    static long sum(int *p, int n) { long s = 0; for (int i = 0; i < n; i++) s += p[i]; return s; }
    static long sum_again(int *p, int n) { return sum(p, n); }
    static long sum_rev(int n, int *p) { return sum(p, n); }
    static long sum_both(int *p, int *q, int n) { return sum(p, n) + sum(q, n); }
    static int first(int *p) { return p[0]; }
    static struct pt mkpt(int x, int y) { struct pt p = { x, y }; return p; }
    static int ptx(struct pt p) { return p.x; }
    static size_t slen(const char *s) { return strlen(s); }
    static unsigned char echo_uc(unsigned char c) { return c; }
    static signed char echo_sc(long v) { return (signed char)v; }
    static unsigned short trunc_us(long v) { return (unsigned short)v; }
    int g = 5;
    unsigned char g_uc = 1;
    struct pt g_pt = { 1, 2 };
    int g_arr[4] = { 1, 2, 3, 4 };
    static int call_cb(int (*cb)(int), int x) { return cb(x); }
    static int pycb(int);
    static int call_py(int x) { return pycb(x); }
    static int vsum(int n, ...) {
        va_list ap; int s = 0;
        va_start(ap, n);
        for (int i = 0; i < n; i++) s += va_arg(ap, int);
        va_end(ap);
        return s;
    }
"""


SIZED_CDEF = """
    typedef int... small_t;
    typedef int... big_t;
    struct s { small_t a; ...; };
    enum e { E1 = 1, E2 = 300 };
    small_t echo_small(small_t);
    big_t echo_big(big_t);
    _Bool echo_bool(_Bool);
    enum e echo_e(enum e);
    int take_s(struct s);
    extern small_t g_small;
"""
SIZED_SOURCE = """
    typedef short small_t;
    typedef unsigned long long big_t;
    struct s { int pad; small_t a; char tail; };
    enum e { E1 = 1, E2 = 300 };
    static small_t echo_small(small_t x) { return x; }
    static big_t echo_big(big_t x) { return x; }
    static _Bool echo_bool(_Bool b) { return b; }
    static enum e echo_e(enum e x) { return x; }
    static int take_s(struct s v) { return v.a; }
    small_t g_small = 3;
"""



def _build(FFI, tmp, which):
    """The module of CDEF and SIZED_CDEF, one build per FFI class (compiling is the
    slow part of these tests)."""
    ffi = FFI()
    ffi.cdef(CDEF + SIZED_CDEF)
    name = "_hostile_api_%s_%d_%d" % (which, os.getpid(), next(_counter))
    ffi.set_source(name, SOURCE + SIZED_SOURCE)
    return _load(name, ffi.compile(tmpdir=str(tmp / which)))


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return _build(nffi.FFI, tmp_path_factory.mktemp("hostile_api"), "nffi")


@pytest.fixture(scope="module")
def cmod(tmp_path_factory):
    return _build(cffi.FFI, tmp_path_factory.mktemp("hostile_api"), "cffi")


def freeable(mod, cdecl, init=None):
    """A cdata whose release really frees (C's malloc and free): a dangling pointer to
    it is a use-after-free that ASan sees."""
    return mod.ffi.new_allocator(mod.lib.malloc, mod.lib.free)(cdecl, init)


class Releases:
    """An integer whose conversion releases a cdata (ffi.release)."""
    def __init__(self, ffi, cd, value=1):
        self.ffi, self.cd, self.value = ffi, cd, value

    def __int__(self):
        self.ffi.release(self.cd)
        return self.value
    __index__ = __int__


class Clears:
    """An integer whose conversion empties the container it sits in."""
    def __init__(self, box):
        self.box = box

    def __int__(self):
        self.box.clear()
        gc.collect()
        return 1
    __index__ = __int__


# ---- user code releasing another argument of the same call ------------------------------

@pytest.mark.parametrize("call", [
    lambda lib, p, r: lib.sum(p, r),            # pointer taken inline, then __int__
    lambda lib, p, r: lib.sum_rev(r, p),        # __int__ first, then the pointer
    lambda lib, p, r: lib.sum_both(p, p, r),
    lambda lib, p, r: lib.sum_again(p, r),      # a body shared by two functions
])
def test_argument_released_by_a_later_conversion_raises(mod, call):
    """cffi hands C the freed memory; nffi re-checks the cdata arguments once a
    conversion ran user code, as its ABI mode does (tests/adversarial_probes.py)."""
    p = freeable(mod, "int[4]", [1, 2, 3, 4])
    assert mod.lib.sum(p, 4) == 10
    with pytest.raises(ValueError, match=r"cdata 'int\[4\]' has been released"):
        call(mod.lib, p, Releases(mod.ffi, p, 4))


def test_from_buffer_released_and_resized_by_a_later_conversion_raises(mod):
    ffi = mod.ffi
    b = bytearray(16)
    p = ffi.from_buffer("int[]", b)

    class ReleaseAndResize:
        def __int__(self):
            ffi.release(p)
            b[:] = bytes(10**6)          # the old storage is freed
            return 4
    with pytest.raises(ValueError, match=r"cdata 'int\[\]' has been released"):
        mod.lib.sum(p, ReleaseAndResize())


def test_one_pointer_argument_released_before_the_call(mod):
    p = freeable(mod, "int[2]", [7, 8])
    ffi = mod.ffi
    ffi.release(p)
    with pytest.raises(ValueError, match="has been released"):
        mod.lib.first(p)
    q = ffi.new("int[2]", [3, 4])
    assert mod.lib.first(q + 1) == 4                # a view: the slow path, still right


def test_struct_by_value_is_copied_before_user_code_runs(mod):
    """A struct argument is copied at its conversion: releasing its source afterwards
    cannot reach C, and the re-check refuses the released cdata as ABI mode does."""
    ffi = mod.ffi
    s = freeable(mod, "struct pt *", [6, 7])
    assert mod.lib.ptx(s[0]) == 6
    assert mod.lib.mkpt(1, 2).y == 2


def test_list_argument_cleared_by_its_own_item(mod):
    L = [1] * 10
    L[0] = Clears(L)
    with pytest.raises(RuntimeError, match="changed size"):
        mod.lib.sum(L, 10)
    L = [1] * 10
    assert mod.lib.sum(L, Clears(L)) == 1       # a temporary copy: the list may change


def test_struct_argument_from_a_dict_cleared_by_its_own_item(mod):
    D = {"x": 1, "y": 2}
    D["x"] = Clears(D)
    with pytest.raises(RuntimeError, match="changed size"):
        mod.lib.ptx(D)


def test_a_callback_argument_cannot_be_released(mod):
    ffi = mod.ffi
    cb = ffi.callback("int(int)", lambda x: x * 3)
    with pytest.raises(ValueError):
        mod.lib.call_cb(cb, Releases(ffi, cb))
    assert mod.lib.call_cb(cb, 2) == 6


def test_variadic_argument_released_by_a_later_conversion(mod):
    ffi = mod.ffi
    p = freeable(mod, "int[1]", [5])
    with pytest.raises(ValueError, match="has been released"):
        mod.lib.vsum(ffi.cast("int", Releases(ffi, p, 1)), ffi.cast("int *", p))


# ---- callbacks and extern "Python" that misbehave --------------------------------------

@pytest.fixture
def unraisable(monkeypatch):
    """The exceptions reported through sys.unraisablehook (class names)."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_type.__name__))
    return seen


def test_extern_python_misbehaving(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib

    @ffi.def_extern(name="pycb")
    def reenter(x):
        return lib.call_py(x - 1) + 1 if x > 0 else 0
    assert lib.call_py(60) == 60

    @ffi.def_extern(name="pycb")
    def forever(x):
        return lib.call_py(x + 1)
    # RecursionError, reported (by then the hook itself fails, as with cffi): 0 returned
    assert lib.call_py(0) == 0

    @ffi.def_extern(name="pycb")
    def replaces_itself(x):
        @ffi.def_extern(name="pycb")
        def other(y):
            return 7
        gc.collect()                             # the running function's last reference
        return 3
    assert (lib.call_py(1), lib.call_py(1)) == (3, 7)

    for bad, error in ((2**40, "OverflowError"), ("x", "TypeError"), (None, "TypeError"),
                       (1.5, "TypeError")):
        ffi.def_extern(name="pycb")(lambda x, bad=bad: bad)
        del unraisable[:]
        assert lib.call_py(1) == 0
        assert unraisable == [error]


def test_callback_results_that_do_not_fit(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib
    for bad, error in ((2**31, "OverflowError"), (-2**31 - 1, "OverflowError"),
                       ("x", "TypeError")):
        cb = ffi.callback("int(int)", lambda x, bad=bad: bad)
        del unraisable[:]
        assert lib.call_cb(cb, 4) == 0
        assert unraisable == [error]


# ---- no silent truncation: arguments, results, globals, fields (differential) ----------

@pytest.mark.parametrize("expr", [
    "lib.add(2**31, 0)", "lib.add(-2**31 - 1, 0)", "lib.add(0, 2**64)",
    "lib.echo_uc(256)", "lib.echo_uc(-1)", "lib.echo_sc(2**63)",
    "lib.mkpt(1, 2**33)", "lib.ptx({'x': 2**31, 'y': 0})", "lib.ptx([0, -2**31 - 1])",
    "lib.sum([1, 2**31], 2)", "lib.sum(ffi.new('int[2]'), 2**31)",
    "setattr(lib, 'g', 2**31)", "setattr(lib, 'g_uc', 256)", "setattr(lib, 'g_uc', -1)",
    "setattr(lib.g_pt, 'x', 2**31)", "setattr(lib, 'g_pt', {'x': 2**32})",
    "setattr(lib, 'g_arr', [1, 2, 2**40])", "lib.g_arr.__setitem__(0, 2**31)",
])
def test_integer_truncation_raises_as_cffi(mod, cmod, expr):
    for m in (mod, cmod):
        with pytest.raises(OverflowError):
            eval(expr, {"lib": m.lib, "ffi": m.ffi})
    assert mod.lib.g == 5 and mod.lib.g_uc == 1 and list(mod.lib.g_arr) == [1, 2, 3, 4]


@pytest.mark.parametrize("expr", [
    "lib.echo_sc(200)", "lib.trunc_us(70000)", "lib.trunc_us(-1)", "lib.echo_uc(255)",
])
def test_results_are_the_c_values_as_cffi(mod, cmod, expr):
    """A result is what C returned (C's own conversion truncated it, not nffi)."""
    values = [eval(expr, {"lib": m.lib}) for m in (mod, cmod)]
    assert values[0] == values[1]


def test_global_write_whose_value_clears_the_lib_cache(mod):
    """__int__ dropping the lib's cached global variable object during the write."""
    lib = mod.lib
    assert lib.g == 5

    class Drops:
        def __int__(self):
            lib._nffi_cache.clear()
            gc.collect()
            return 9
        __index__ = __int__
    try:
        with pytest.raises(TypeError):
            lib.g = 1.5
        lib.g = Drops()
        assert lib.g == 9
    finally:
        lib.g = 5


def test_global_array_write_from_a_list_cleared_by_its_item(mod):
    L = [1, 2, 3, 4]
    L[0] = Clears(L)
    with pytest.raises(RuntimeError, match="changed size"):
        mod.lib.g_arr = L
    with pytest.raises(IndexError):
        mod.lib.g_arr = [1, 2, 3, 4, 5]
    assert list(mod.lib.g_arr) == [1, 2, 3, 4]


# ---- the compiled lib's base class used directly ---------------------------------------

@pytest.mark.parametrize("action", [
    lambda lib: lib.anything, lambda lib: setattr(lib, "anything", 1),
    lambda lib: delattr(lib, "anything"), lambda lib: lib._nffi_getattr,
])
def test_compiled_lib_base_without_its_hooks_raises(action):
    """nffi._core.CompiledLibBase(None) (or a subclass without the runtime's hooks): a
    missing attribute asked the missing hook for itself until the C stack overflowed."""
    class Sub(_core.CompiledLibBase):
        pass
    for lib in (_core.CompiledLibBase(None), Sub(None)):
        with pytest.raises(AttributeError):
            action(lib)


@pytest.mark.parametrize("call, exc", [
    (lambda ffi: _core._compiled_tables(None), ValueError),
    (lambda ffi: _core._compiled_tables(ffi), ValueError),
    (lambda ffi: _core._extern_attach(None, 0, None), ValueError),
    (lambda ffi: _core._global_var(ffi.typeof("int"), 0, "x"), ValueError),
    (lambda ffi: _core._compiled_wrapper(None, "x"), TypeError),
    (lambda ffi: _core.CompiledLibBase(), TypeError),
    (lambda ffi: _core.CompiledLibBase(42), ValueError),
])
def test_core_helpers_of_compiled_modules_refuse_garbage(mod, call, exc):
    with pytest.raises(exc):
        call(mod.ffi)


# ---- no silent truncation through what the compiler answers (typedef int..., ...) -----

@pytest.fixture(scope="module")
def sized(mod, cmod):
    return mod, cmod


@pytest.mark.parametrize("expr", [
    "lib.echo_small(70000)", "lib.echo_small(-40000)", "lib.echo_small(32767)",
    "lib.echo_big(-1)", "lib.echo_big(2**64)", "lib.echo_big(2**64 - 1)",
    "lib.echo_bool(2)", "lib.echo_bool(-1)", "lib.echo_bool(1)",
    "lib.echo_e(-1)", "lib.echo_e(2**31)", "lib.echo_e(2**32)", "lib.echo_e(300)",
    "lib.take_s({'a': 40000})", "lib.take_s({'a': -5})",
    "setattr(lib, 'g_small', 40000)", "setattr(lib, 'g_small', -32769)", "lib.g_small",
    "ffi.new('struct s *', {'a': 2**15}).a", "setattr(ffi.new('struct s *'), 'a', -2**15 - 1)",
    "ffi.new('small_t *', 2**15)[0]", "lib.echo_big(ffi.cast('big_t', -1))",
])
def test_compiler_sized_types_never_truncate_silently(sized, expr):
    outcomes = []
    for m in sized:
        try:
            outcomes.append(("ok", eval(expr, {"lib": m.lib, "ffi": m.ffi})))
        except Exception as e:                  # noqa: B902 - compared with cffi
            outcomes.append((type(e).__name__,))
    assert outcomes[0] == outcomes[1]
    if "40000" in expr or "2**15" in expr or "70000" in expr:
        assert outcomes[0] == ("OverflowError",)
