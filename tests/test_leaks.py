"""Leaks: run each operation many times and require memory and reference counts to be flat.

Each test repeats one operation CYCLES times (default 30,000, which keeps the default run
to a few seconds; set NFFI_LEAK_CYCLES=1000000 for the long run) after a warm-up of
CYCLES/10 and a gc.collect(), and compares before and after:

* tracemalloc's current size: every allocation of Python's allocators, which is where
  cdata objects, CTypes and temporary argument blocks live; exact, so a leak of even 8
  bytes per cycle (240 kB over 3e4 cycles) exceeds the 64 KiB tolerance;
* the malloc heap in use (glibc's mallinfo2: uordblks + hblkhd): memory from malloc
  itself, e.g. lib.malloc under ffi.gc or an allocator; also exact, same tolerance;
* the process RSS (/proc/self/statm): everything else (mmap'd libffi closure pages);
  page-granular and noisier, so 1 MiB: 8 bytes per cycle over 1e6 cycles is 8 MB;
* sys.getrefcount of every Python object handed to the operation (initializers,
  destructors, buffers, handles' objects, callables) returns to where it started.

Under AddressSanitizer (its allocator keeps freed memory in quarantine and has no
mallinfo) the memory figures mean nothing: the operations still run, to exercise the
release paths under ASan, and only the reference counts are checked.

`pytest -s` prints the figures of every operation.
"""
import array
import ctypes
import gc
import os
import sys
import tracemalloc

import pytest

import nffi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_calls import testlib_path  # noqa: E402,F401 - the compiled test library fixture

CYCLES = int(os.environ.get("NFFI_LEAK_CYCLES", "30000"))
EXACT_TOLERANCE = 64 * 1024        # tracemalloc and malloc heap, bytes
RSS_TOLERANCE = 1024 * 1024        # bytes


def _under_asan():
    with open("/proc/self/maps") as f:
        return "libasan" in f.read()


UNDER_ASAN = _under_asan()
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _mallinfo2():
    """glibc's mallinfo2 (2.33+) through ctypes (not through nffi, which is under test)."""
    try:
        function = ctypes.CDLL(None).mallinfo2
    except AttributeError:
        return None
    function.restype = _MallInfo2
    return function


_MALLINFO2 = _mallinfo2()


def heap_in_use():
    if _MALLINFO2 is None:
        return None
    info = _MALLINFO2()
    return info.uordblks + info.hblkhd


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_SIZE


def measure():
    return {"traced": tracemalloc.get_traced_memory()[0], "heap": heap_in_use(), "rss": rss()}


def check_flat(name, operation, watched=(), cycles=CYCLES):
    """Run operation() cycles times; assert memory and refcounts of `watched` are flat."""
    refcounts = [sys.getrefcount(obj) for obj in watched]
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        for _ in range(max(cycles // 10, 100)):
            operation()
        gc.collect()
        before = measure()
        for _ in range(cycles):
            operation()
        gc.collect()
        after = measure()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    growth = {key: None if before[key] is None else after[key] - before[key] for key in before}
    print("\n%-34s %8d cycles  traced %10d -> %10d  heap %10s -> %10s  rss %10d -> %10d"
          % (name, cycles, before["traced"], after["traced"], before["heap"], after["heap"],
             before["rss"], after["rss"]))
    assert [sys.getrefcount(obj) for obj in watched] == refcounts, "reference leak"
    if UNDER_ASAN:
        return
    assert growth["traced"] < EXACT_TOLERANCE, growth
    if growth["heap"] is not None:
        assert growth["heap"] < EXACT_TOLERANCE, growth
    assert growth["rss"] < RSS_TOLERANCE, growth


def expect_error(exception_type, operation):
    """Like pytest.raises, at a fraction of its cost per cycle."""
    try:
        operation()
    except exception_type:
        return
    raise AssertionError("%s not raised" % exception_type.__name__)


LIBC_CDEF = """
    void *malloc(size_t); void free(void *); int abs(int); size_t strlen(const char *);
    void qsort(void *base, size_t nmemb, size_t size,
               int (*compar)(const void *, const void *));
    int snprintf(char *, size_t, const char *, ...);
    struct pt { int x, y; };
"""


@pytest.fixture(scope="module")
def ffi():
    ffi = nffi.FFI()
    ffi.cdef(LIBC_CDEF)
    return ffi


@pytest.fixture(scope="module")
def libc(ffi):
    return ffi.dlopen(None)


# ---- the type registry -------------------------------------------------------------------

def test_registry_forgets_dead_types():
    # a fresh array and function type each cycle: the registry's entries must go with them
    ptr = nffi._core.new_pointer_type(nffi._core.new_primitive_type("int"))
    check_flat("registry: array + function type", lambda: (
        nffi._core.new_array_type(ptr, 99991), nffi._core.new_function_type((ptr,), ptr)))


# ---- ffi.new and release ----------------------------------------------------------------

def test_new(ffi):
    init = [1, 2, 3]
    check_flat("new int[16] from a list", lambda: ffi.new("int[16]", init), [init])


def test_new_struct_and_string(ffi):
    init = {"x": 1, "y": 2}
    data = b"hello world" * 10
    check_flat("new struct from a dict + char[]",
               lambda: (ffi.new("struct pt *", init), ffi.new("char[]", data)), [init, data])


def test_new_release(ffi):
    check_flat("new + release", lambda: ffi.release(ffi.new("int[16]")))


def test_new_with(ffi):
    def operation():
        with ffi.new("int[16]") as p:
            p[3] = 4
    check_flat("with ffi.new()", operation)


def test_new_failing(ffi):
    init = [1, 2, 3]

    def operation():
        expect_error(IndexError, lambda: ffi.new("int[2]", init))
        expect_error(TypeError, lambda: ffi.new("struct pt *", [1, "x"]))
    check_flat("new with bad initializers", operation, [init])


# ---- allocators -------------------------------------------------------------------------

def test_allocator_c_malloc_free(ffi, libc):
    allocator = ffi.new_allocator(libc.malloc, libc.free)
    check_flat("allocator(malloc, free)", lambda: allocator("int[16]"), [allocator])


def test_allocator_python_functions(ffi, libc):
    calls = [0]

    def alloc(size):
        calls[0] += 1
        return libc.malloc(size)

    def free(pointer):
        libc.free(pointer)
    allocator = ffi.new_allocator(alloc, free)
    check_flat("allocator(python alloc, free)", lambda: allocator("int[16]", [5]),
               [alloc, free])
    assert calls[0] >= CYCLES


def test_allocator_default_and_no_clear(ffi):
    default = ffi.new_allocator()
    no_clear = ffi.new_allocator(should_clear_after_alloc=False)
    check_flat("new_allocator() / no clear",
               lambda: (default("int[16]"), no_clear("char[100]")))


def test_allocator_release_and_with(ffi, libc):
    allocator = ffi.new_allocator(libc.malloc, libc.free)

    def operation():
        ffi.release(allocator("int[16]"))
        with allocator("struct pt *") as p:
            p.x = 1
    check_flat("allocator: release + with", operation)


# ---- ffi.gc -----------------------------------------------------------------------------

def test_gc_c_destructor(ffi, libc):
    free = libc.free
    check_flat("gc(malloc(16), free)", lambda: ffi.gc(libc.malloc(16), free), [free])


def test_gc_python_destructor(ffi):
    called = [0]

    def destructor(p):
        called[0] += 1
    check_flat("gc(new, python destructor)", lambda: ffi.gc(ffi.new("int *"), destructor),
               [destructor])
    assert called[0] >= CYCLES


def test_gc_release_and_with(ffi, libc):
    free = libc.free

    def operation():
        ffi.release(ffi.gc(libc.malloc(16), free))
        with ffi.gc(libc.malloc(32), free) as p:
            assert p != ffi.NULL
    check_flat("gc: release + with", operation, [free])


# ---- from_buffer, cast, string, buffer, handles -----------------------------------------

def test_from_buffer(ffi):
    writable = bytearray(64)
    readonly = b"x" * 64
    numbers = array.array("i", range(16))

    def operation():
        ffi.from_buffer(writable)
        ffi.from_buffer("int[]", numbers, require_writable=True)
        ffi.release(ffi.from_buffer(readonly))
        with ffi.from_buffer(memoryview(writable)[8:]) as p:
            p[0] = b"y"
    check_flat("from_buffer (+ release, with)", operation, [writable, readonly, numbers])


def test_from_buffer_failing(ffi):
    text = "not a buffer"
    readonly = b"x" * 8

    def operation():
        expect_error(TypeError, lambda: ffi.from_buffer(text))
        expect_error(BufferError, lambda: ffi.from_buffer(readonly, require_writable=True))
    check_flat("from_buffer errors", operation, [text, readonly])


def test_cast(ffi):
    source = ffi.new("char[]", b"abc")
    check_flat("cast", lambda: (ffi.cast("int", 5), ffi.cast("void *", 1234),
                                ffi.cast("char *", source), ffi.cast("double", 2.5),
                                ffi.cast("unsigned char", -1)), [source])


def test_string_and_unpack(ffi):
    chars = ffi.new("char[]", b"hello world")
    wide = ffi.new("wchar_t[]", "h\xe9llo \U0001f600")
    check_flat("string / unpack",
               lambda: (ffi.string(chars), ffi.string(wide), ffi.string(chars, 3),
                        ffi.unpack(chars, 5), ffi.unpack(wide, 3)), [chars, wide])


def test_buffer(ffi):
    chars = ffi.new("char[]", b"hello world")

    def operation():
        buf = ffi.buffer(chars)
        buf[0:2] = b"HE"
        return buf[:], bytes(ffi.buffer(chars, 4)), memoryview(buf).nbytes
    check_flat("buffer", operation, [chars])


def test_handles(ffi):
    obj = object()

    def operation():
        handle = ffi.new_handle(obj)
        assert ffi.from_handle(handle) is obj
    check_flat("new_handle / from_handle", operation, [obj])


# ---- calls and callbacks ----------------------------------------------------------------

def test_call_libc(ffi, libc):
    text = b"hello"
    chars = ffi.new("char[]", b"hello world")
    out = ffi.new("char[64]")
    fmt = b"%d %s"
    check_flat("call abs / strlen / snprintf",
               lambda: (libc.abs(-5), libc.strlen(text), libc.strlen(chars),
                        libc.snprintf(out, 64, fmt, ffi.cast("int", 5), chars)),
               [text, chars, fmt])


def test_call_failing(ffi, libc):
    def operation():
        expect_error(TypeError, lambda: libc.abs("x"))
        expect_error(TypeError, lambda: libc.strlen([1, 2]))
        expect_error(TypeError, lambda: libc.abs(1, 2))
    check_flat("calls with bad arguments", operation)


def test_call_structs_and_lists(testlib_path):
    ffi = nffi.FFI()
    ffi.cdef("struct small { int x, y; }; struct small small_add(struct small, struct small);"
             "int sum_ints(const int *a, int n); void fill_ints(int *a, int n);")
    lib = ffi.dlopen(testlib_path)
    numbers = list(range(32))
    point = ffi.new("struct small *", [1, 2])
    out = ffi.new("int[8]")
    check_flat("call: structs by value, list args",
               lambda: (lib.small_add(point[0], point[0]).y, lib.sum_ints(numbers, 32),
                        lib.fill_ints(out, 8)), [numbers, point])


def test_callback_from_qsort(ffi, libc):
    data = ffi.new("int[]", [4, 1, 3, 2, 5, 0])

    def compare(a, b):
        x = ffi.cast("int *", a)[0]
        y = ffi.cast("int *", b)[0]
        return (x > y) - (x < y)
    callback = ffi.callback("int(const void *, const void *)", compare)

    def operation():
        data[0], data[5] = 9, -1
        libc.qsort(data, 6, ffi.sizeof("int"), callback)
    check_flat("callback called by qsort", operation, [compare, callback])
    assert list(data) == sorted(data)


def test_callback_raising(ffi, libc):
    data = ffi.new("int[]", [2, 1])
    seen = []

    def compare(a, b):
        raise ValueError("no")

    def onerror(exception, value, traceback):
        seen.append(exception)
        seen.clear()
    callback = ffi.callback("int(const void *, const void *)", compare, error=-1,
                            onerror=onerror)
    check_flat("callback raising (onerror)", lambda: libc.qsort(data, 2, 4, callback),
               [compare, onerror, callback])


def test_callback_creation(ffi, libc):
    # creating a callback allocates a libffi closure (mmap'd pages: only RSS sees them)
    ctype = ffi.typeof("int(*)(const void *, const void *)")
    data = ffi.new("int[]", [2, 1])

    def compare(a, b):
        return 0

    def operation():
        libc.qsort(data, 2, 4, ffi.callback(ctype, compare))
        ffi.callback("int(int)", abs)
    check_flat("callback create + call + free", operation, [compare, ctype])
