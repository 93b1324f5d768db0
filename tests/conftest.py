"""Shared fixtures for the differential tests: nffi against cffi (the oracle), the
amount of fuzzing (fuzz_examples), and the garbage collector's settled heap."""
import gc
import os

import cffi
import pytest

import nffi

# One set of declarations used by the differential and property tests.
# Two chunks, passed to two cdef() calls (an array of a struct declared in the same
# cdef() call works too: see CDEF_CASES in test_cdata_differential.py).
CDEF_BASE = """
    typedef struct { int x, y; } point_t;
    struct pt3 { short a; double b; char c; };
"""
CDEF = """
    struct nested { char tag; point_t p; struct pt3 arr[2]; int tail[3]; };
    union u { int i; unsigned char b[4]; float f; double d; };
    struct anon { int kind; union { int ival; double dval; }; struct { short lo, hi; }; };
    struct bits { unsigned int a:3; unsigned int b:5; int c:4; signed char d:2; _Bool e:1; long long f:40; };
    struct flex { int n; int data[]; };
    struct flex0 { short n; char data[0]; };
    struct selfref { int value; struct selfref *next; };
    struct opaque_s;
    struct with_ptrs { char *name; int *values; void *extra; };
    struct mixed { char c; wchar_t w; char16_t c16; char32_t c32; _Bool flag; float f; long double ld; };
    struct cplx { float _Complex fc; double _Complex dc; };
    enum color { RED, GREEN = 5, BLUE };
    enum neg { NEG_A = -3, NEG_B, NEG_C = 100 };
    enum big { BIG_A = 0, BIG_B = 0xFFFFFFFF };
    enum empty_e { SOLO };
    typedef enum { T_ONE = 1, T_TWO = 2, T_ALSO_TWO = 2 } tenum_t;
    typedef int myint_t;
    typedef myint_t arr5_t[5];
    typedef unsigned char byte_t;
    typedef struct selfref node_t;
    typedef int (*binop_t)(int, int);
    typedef void (*vfn_t)(const char *, ...);
    typedef double (*dfn_t)(void);
    typedef point_t point_array_t[4];
    typedef const int cint_t;
"""


# The directory the nffi under test was imported from: the tree's src/ (built in place)
# or an installation (.ci/pythons, the sdist check of test_packaging.py), whose src/
# has no built core.  Child interpreters get it as PYTHONPATH.
NFFI_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nffi.__file__)))


def make_pair(*cdefs, **cdef_kwargs):
    """(nffi FFI, cffi FFI), each given the same cdef() calls."""
    pair = (nffi.FFI(), cffi.FFI())
    for ffi in pair:
        for src in cdefs:
            ffi.cdef(src, **cdef_kwargs)
    return pair


@pytest.fixture(scope="session")
def ffi_pair():
    return make_pair(CDEF_BASE, CDEF)


# The fuzz and property tests run a CI amount by default (the whole suite in about a
# minute and a half on 2 cores); NFFI_FUZZ_SCALE multiplies every one of them, e.g.
# NFFI_FUZZ_SCALE=20 for a long campaign.
FUZZ_SCALE = float(os.environ.get("NFFI_FUZZ_SCALE", "1"))


def fuzz_examples(ci_amount):
    """Hypothesis max_examples for a fuzz test: its CI amount times NFFI_FUZZ_SCALE."""
    return max(1, round(ci_amount * FUZZ_SCALE))


# Under CI (CI=true, as .ci/run is started) the hypothesis tests draw the same inputs on
# every run: a submission must not fail on an input no earlier run drew (and cffi, the
# oracle, has been seen to disagree with itself on uninitialised memory). Outside CI each
# run draws new inputs, which is how the fuzz tests keep finding things.
if os.environ.get("CI"):
    from hypothesis import settings as _settings
    _settings.register_profile("nffi-ci", derandomize=True)
    _settings.load_profile("nffi-ci")


@pytest.fixture(autouse=True, scope="module")
def _settled_heap():
    """Each test module starts with the objects earlier modules left alive moved out of
    the collector's way (gc.freeze()): a full collection then scans only what this
    module made. Without it, the rffi tests' per-test leak check (three full
    collections) and hypothesis' automatic collections cost seconds per test late in
    the run, when the heap holds everything the suite cached (ctypes are interned for
    the process). Frozen objects are still freed by reference counting; only cycles
    among them that become garbage later are never reclaimed, which a test process
    can afford."""
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture
def rffi_no_leaks():
    """Every raw malloc of an rffi test must be freed (RPython's per-test leak check)."""
    from nffi import lltype
    prev = lltype.start_tracking_allocations()
    yield
    lltype.stop_tracking_allocations(True, prev)


# ---- the 'network' marker: tests that download from the package index (real packages
# built with nffi standing in for cffi, fresh virtual environments); skipped unless
# NFFI_TEST_NETWORK=1 --------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "network: downloads from the package index; run "
                                       "with NFFI_TEST_NETWORK=1")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NFFI_TEST_NETWORK", "0") not in ("", "0"):
        return
    skip = pytest.mark.skip(reason="needs the network: set NFFI_TEST_NETWORK=1")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)
