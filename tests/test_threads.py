"""Threads: several Python threads hammer nffi at once for a bounded time.

Each worker, in a loop until the deadline: calls C functions (GIL released during the
call) and checks the results; allocates and frees cdata (ffi.new, ffi.gc over malloc, an
allocator, from_buffer, handles) and checks their contents; sets errno through a C call
and reads it back with ffi.errno, and sets ffi.errno and reads it back in C (errno is
per thread: a value from another thread would be a bug); calls Python callbacks from C,
both on its own thread and from threads that C creates (PyGILState); and increments
shared counters held in cdata under a lock, from Python and from the C-created threads,
so a lost update shows as a wrong total.

NFFI_THREAD_COUNT (default 6) and NFFI_THREAD_SECONDS (default 2.5) set the size.
"""
import gc
import os
import sys
import threading
import time

import pytest

import nffi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_calls import testlib_path  # noqa: E402,F401 - the compiled test library fixture

THREADS = int(os.environ.get("NFFI_THREAD_COUNT", "6"))
SECONDS = float(os.environ.get("NFFI_THREAD_SECONDS", "2.5"))

CDEF = """
    int id_int(int); double add_double(double, double);
    struct small { int x, y; };
    struct small small_add(struct small a, struct small b);
    int sum_ints(const int *a, int n);
    void fill_ints(int *a, int n);
    int call_int_cb(int (*cb)(int), int x);
    void call_void_cb(void (*cb)(int), int n);
    long run_threads(int nthreads, int count, int (*cb)(int));
    int set_errno(int value);
    int get_errno(void);
"""
LIBC_CDEF = """
    void *malloc(size_t); void free(void *); size_t strlen(const char *);
    void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
"""


class Shared:
    """State every worker touches: counters in cdata, guarded by one lock."""

    def __init__(self, ffi):
        self.lock = threading.Lock()
        self.counters = ffi.new("long[4]")     # [python increments, C-thread increments, ...]
        self.point = ffi.new("struct small *")
        self.python_increments = 0             # per-thread totals, summed at the end
        self.c_thread_increments = 0


def worker(index, ffi, lib, libc, shared, deadline, stats):
    my_errno = 1000 + index
    base = index * 100000
    allocator = ffi.new_allocator(libc.malloc, libc.free)
    numbers = list(range(index, index + 16))
    counted_here = 0
    counted_in_c = [0]
    iterations = 0

    def plus_index(x):
        return x + index

    def count_in_c_thread(x):
        # called on a thread C created: touches the shared cdata under the lock
        with shared.lock:
            shared.counters[1] += 1
            counted_in_c[0] += 1
        return x

    def compare(a, b):
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x > y) - (x < y)

    own_callback = ffi.callback("int(int)", plus_index)
    c_thread_callback = ffi.callback("int(int)", count_in_c_thread)
    compare_callback = ffi.callback("int(const void *, const void *)", compare)
    while time.monotonic() < deadline:
        iterations += 1
        # C calls
        assert lib.id_int(base + iterations) == base + iterations
        assert lib.add_double(index, 0.5) == index + 0.5
        assert lib.small_add([index, 1], [2, iterations]).y == 1 + iterations
        assert lib.sum_ints(numbers, 16) == sum(numbers)
        assert libc.strlen(b"x" * index) == index
        # errno set in C, read in Python; set in Python, read in C
        assert lib.set_errno(my_errno + iterations) == -1
        assert ffi.errno == my_errno + iterations
        ffi.errno = my_errno
        assert lib.get_errno() == my_errno
        # allocation and release
        array = ffi.new("int[]", 64)
        lib.fill_ints(array, 64)
        assert array[63] == 63 * 63
        block = ffi.gc(ffi.cast("int *", libc.malloc(64)), libc.free)
        block[15] = index
        assert block[15] == index
        if iterations % 2:
            ffi.release(block)
        with allocator("struct small *", [index, iterations]) as p:
            assert (p.x, p.y) == (index, iterations)
        raw = bytearray(b"%d" % index)
        with ffi.from_buffer(raw) as view:
            assert ffi.string(view) == b"%d" % index
        handle = ffi.new_handle(numbers)
        assert ffi.from_handle(handle) is numbers
        # callbacks from C on this thread
        assert lib.call_int_cb(own_callback, iterations) == 2 * (iterations + index)
        assert lib.call_int_cb(ffi.callback("int(int)", lambda x: -x), 7) == -14
        data = ffi.new("int[]", [5, index, 3, -1])
        libc.qsort(data, 4, 4, compare_callback)
        assert list(data) == sorted([5, index, 3, -1])
        # callbacks from threads C creates, which also increment shared cdata
        if iterations % 8 == 0:
            expected = sum(t * 1000 + i for t in range(2) for i in range(10))
            assert lib.run_threads(2, 10, c_thread_callback) == expected
        # a shared counter in cdata, incremented under the lock
        with shared.lock:
            shared.counters[0] += 1
            shared.point.x += 2
            shared.point.y -= 1
        counted_here += 1
        # the per-thread errno survived everything above
        assert ffi.errno == my_errno
        if iterations % 64 == 0:
            gc.collect()
    with shared.lock:
        shared.python_increments += counted_here
        shared.c_thread_increments += counted_in_c[0]
    stats[index] = iterations


@pytest.fixture(scope="module")
def libs(testlib_path):
    ffi = nffi.FFI()
    ffi.cdef(CDEF)
    ffi.cdef(LIBC_CDEF)
    return ffi, ffi.dlopen(testlib_path), ffi.dlopen(None)


def test_threads_stress(libs):
    ffi, lib, libc = libs
    shared = Shared(ffi)
    stats = {}
    errors = []
    deadline = time.monotonic() + SECONDS

    def run(index):
        try:
            worker(index, ffi, lib, libc, shared, deadline, stats)
        except BaseException as e:      # reported by the main thread
            errors.append((index, e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    if errors:
        raise errors[0][1]
    assert sorted(stats) == list(range(THREADS))
    total = sum(stats.values())
    print("\n%d threads x %.1f s: %d iterations (%s), %d increments from C threads"
          % (THREADS, SECONDS, total, ", ".join(str(stats[i]) for i in sorted(stats)),
             shared.c_thread_increments))
    assert min(stats.values()) > 0
    assert shared.counters[0] == shared.python_increments == total
    assert shared.counters[1] == shared.c_thread_increments
    assert shared.c_thread_increments == 20 * sum(n // 8 for n in stats.values())
    assert (shared.point.x, shared.point.y) == (2 * total, -total)


def test_errno_isolated_between_threads_switching_often(libs):
    # many short turns: each thread's value must survive the others' C calls
    ffi, lib, _ = libs
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    wrong = []

    def run(value):
        for i in range(2000):
            lib.set_errno(value + i)
            lib.id_int(i)                    # a call that does not touch errno
            if ffi.errno != value + i:
                wrong.append((value + i, ffi.errno))
                return
    try:
        threads = [threading.Thread(target=run, args=(10000 * k,)) for k in range(1, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    assert wrong == []
