"""cdef(..., release_gil=False): the calls of that cdef's functions keep the GIL.

Whether a call holds the GIL is asked of CPython itself: PyGILState_Check(), found in
the running process (ffi.dlopen(None)), returns 1 when the calling thread holds the GIL
and 0 when the call released it.  Both call paths are checked (the direct call and
libffi's, forced with _core._call_libffi), the flag belongs to the declaration (not to
the function type, which is shared), errno is still carried, and Python callbacks run
while GIL-keeping calls run: on the caller's own thread, and from threads that C starts
while another Python thread makes GIL-keeping calls.
"""
import os
import sys
import threading

import pytest

import nffi
from nffi import _core

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_calls import testlib_path  # noqa: E402,F401 - the compiled test library fixture

GIL_CHECK = "int PyGILState_Check(void);"


def process_lib(cdef, **options):
    ffi = nffi.FFI()
    ffi.cdef(cdef, **options)
    return ffi, ffi.dlopen(None)


@pytest.mark.parametrize("release_gil, held", [(True, 0), (False, 1)])
def test_gil_state_during_call(release_gil, held):
    ffi, lib = process_lib(GIL_CHECK, release_gil=release_gil)
    assert lib.PyGILState_Check() == held                        # direct call
    assert _core._call_libffi(lib.PyGILState_Check) == held      # libffi's path
    assert ffi.addressof(lib, "PyGILState_Check")() == held      # the same function


def test_default_releases_the_gil():
    ffi, lib = process_lib(GIL_CHECK)
    assert lib.PyGILState_Check() == 0


def test_flag_belongs_to_the_declaration():
    """Two cdefs, one function type 'int(void)': each function follows its own cdef; a
    function pointer made from it by ffi.cast is a plain cdata and releases the GIL."""
    ffi = nffi.FFI()
    ffi.cdef(GIL_CHECK, release_gil=False)
    ffi.cdef("int Py_IsInitialized(void);")
    lib = ffi.dlopen(None)
    other_ffi, other_lib = process_lib(GIL_CHECK)
    assert ffi.typeof(lib.PyGILState_Check) is ffi.typeof(lib.Py_IsInitialized)
    assert lib.PyGILState_Check() == 1
    assert other_lib.PyGILState_Check() == 0
    assert lib.Py_IsInitialized() == 1
    assert ffi.cast("int(*)(void)", lib.PyGILState_Check)() == 0


def test_function_declared_through_a_typedef():
    ffi, lib = process_lib("typedef int check_t(void); check_t PyGILState_Check;",
                           release_gil=False)
    assert lib.PyGILState_Check() == 1


def test_release_gil_is_a_flag_of_cdef_only():
    ffi = nffi.FFI()
    ffi.cdef("int abs(int);", release_gil=0)          # any false value
    lib = ffi.dlopen(None)
    assert lib.abs(-3) == 3
    with pytest.raises(TypeError):
        ffi.cdef("int labs(int);", release_gl=False)


def test_errno_is_carried(testlib_path):
    ffi = nffi.FFI()
    ffi.cdef("int set_errno(int); int get_errno(void);", release_gil=False)
    lib = ffi.dlopen(testlib_path)
    assert lib.set_errno(42) == -1
    assert ffi.errno == 42
    ffi.errno = 17
    assert lib.get_errno() == 17


def test_callback_on_the_calling_thread():
    """qsort keeping the GIL calls its Python comparator on the same thread."""
    ffi, libc = process_lib("void qsort(void *, size_t, size_t, "
                            "int (*)(const void *, const void *));", release_gil=False)
    data = [5, 3, 9, 1, 7, 2]
    buf = ffi.new("int[]", data)
    seen = []

    @ffi.callback("int(*)(const void *, const void *)")
    def compare(a, b):
        seen.append(threading.get_ident())
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x > y) - (x < y)

    libc.qsort(buf, len(data), ffi.sizeof("int"), compare)
    assert list(buf) == sorted(data)
    assert set(seen) == {threading.get_ident()}


def test_callbacks_from_c_threads_while_gil_keeping_calls_run(testlib_path):
    """One Python thread makes GIL-keeping calls in a loop; meanwhile C threads started
    by a (GIL-releasing) call on the main thread call a Python callback.  Both finish
    with the right results: a GIL-keeping call only delays the callbacks."""
    ffi = nffi.FFI()
    ffi.cdef("long run_threads(int, int, int (*)(int));")
    ffi.cdef("int abs(int); " + GIL_CHECK, release_gil=False)
    lib = ffi.dlopen(testlib_path)
    libc = ffi.dlopen(None)
    stop = threading.Event()
    failures = []
    calls = [0]

    def keep_calling():
        while not stop.is_set():
            if libc.abs(-calls[0]) != calls[0] or libc.PyGILState_Check() != 1:
                failures.append(calls[0])
                return
            calls[0] += 1

    @ffi.callback("int(*)(int)")
    def double(x):
        return 2 * x

    worker = threading.Thread(target=keep_calling)
    worker.start()
    try:
        for _ in range(5):
            nthreads, count = 4, 200
            total = lib.run_threads(nthreads, count, double)
            expected = sum(2 * (base + i) for base in
                           [t * 1000 for t in range(nthreads)] for i in range(count))
            assert total == expected
    finally:
        stop.set()
        worker.join()
    assert failures == []
    assert calls[0] > 0


def test_nested_calls_and_callbacks_on_one_thread(testlib_path):
    """A callback on the thread of the call that released the GIL resumes that thread's
    state; calls made inside it release and take the GIL again, to any depth, with
    both kinds of calls mixed; other Python threads run in between."""
    ffi = nffi.FFI()
    ffi.cdef("int call_int_cb(int (*)(int), int);")      # returns 2 * cb(x)
    keep = nffi.FFI()
    keep.cdef("int call_int_cb(int (*)(int), int); " + GIL_CHECK, release_gil=False)
    lib = ffi.dlopen(testlib_path)
    klib = keep.dlopen(testlib_path)
    libc = keep.dlopen(None)
    ticks = [0]
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks[0] += 1

    states = []

    @ffi.callback("int(*)(int)")
    def inner(x):
        states.append(libc.PyGILState_Check())
        return x + 1

    @ffi.callback("int(*)(int)")
    def outer(x):
        states.append(libc.PyGILState_Check())
        if x <= 0:
            return 0
        via = lib if x % 2 else klib          # releasing and keeping calls, alternately
        return via.call_int_cb(outer, x - 1) + via.call_int_cb(inner, x)

    def model(x):                              # what outer(x) returns
        return 0 if x <= 0 else 2 * model(x - 1) + 2 * (x + 1)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        for depth in (1, 2, 5, 8):
            assert lib.call_int_cb(outer, depth) == 2 * model(depth)
    finally:
        stop.set()
        thread.join()
    assert states and set(states) == {1}
