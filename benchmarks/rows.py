"""Row declarations of the nffi benchmark table.

A row is one operation measured for every implementation:

    "nffi"      nffi.FFI in ABI mode (ffi.cdef + ffi.dlopen)
    "cffi ABI"  cffi.FFI in ABI mode
    "cffi API"  a compiled cffi extension module (its .ffi and .lib)
    "ctypes"    the standard library's ctypes

A setup is a function ``setup(env) -> timing.Bench``.  The ``ffi`` setup of a row
serves the three FFI implementations, which share cffi's interface; its env has

    env.ffi    the FFI object, with CDEF below declared
    env.libc   the C library (ffi.dlopen(None); in API mode the module's lib)
    env.blib   benchmarks/_benchlib.c  (ffi.dlopen(...); in API mode the module's lib)
    env.FFI    the FFI class, to make fresh FFI objects (None in API mode)
    env.kind   "nffi", "cffi ABI" or "cffi API"

and the ``ctypes`` setup's env has ``ct`` (the ctypes module), ``PT`` (the
Structure for struct pt), ``libc``, ``blib`` (CDLLs with argtypes/restype set) and
``CMP`` (the CFUNCTYPE of the qsort comparator).  A setup may raise: the cell shows
n/a with the reason under the table.  ``ctypes=NA`` (or leaving an implementation out
of ``impls``) means the operation has no counterpart there.

To add a row: append a Row(...) to ROWS.
"""
import random

from timing import Bench

# Every FFI implementation declares this (the API-mode module is built from it too).
CDEF = """
struct pt { int x, y; };
int abs(int);
size_t strlen(const char *);
int snprintf(char *, size_t, const char *, ...);
void qsort(void *, size_t, size_t, int (*)(const int *, const int *));
long add6(long, long, long, long, long, long);
double add3d(double, double, double);
struct pt mkpt(int, int);
int sumpt(struct pt);
extern int gx;
extern struct pt gpt;
int call_n(int (*)(int), int);
void qsort_v(void *, size_t, size_t, int (*)(const void *, const void *));
"""

IMPLS = ("nffi", "cffi ABI", "cffi API", "ctypes")
FFI_IMPLS = IMPLS[:3]
PEERS = IMPLS[1:]

MEMORY_TARGET = 1.0
CALL_TARGET = 0.9
QSORT_TARGET = 0.85
KEEP_GIL_TARGET = 0.5   # a GIL-keeping call against cffi API mode's GIL-releasing one
UNROLL = 10             # copies of a cheap statement per loop iteration
CALL_UNROLL = 2         # calls cost more: fewer copies, more loop iterations

NA = "no counterpart"   # ctypes=NA: the cell shows n/a, no footnote


class Row:
    """One operation.

    name     label in the table (also what --only matches)
    target   maximum wanted ratio nffi / best peer, or None (informational row)
    ffi      setup for nffi, cffi ABI and cffi API
    ctypes   setup for ctypes, or NA
    impls    the implementations measured (default: all four); the peers are the
             ones other than nffi
    settings overrides of timing.Settings for this row (e.g. samples, budget_s)
    quick    overrides applied on top of ``settings`` under --quick
    """

    def __init__(self, name, group, target=None, *, ffi=None, ctypes=NA, impls=IMPLS,
                 settings=None, quick=None):
        self.name = name
        self.group = group
        self.target = target
        self.setups = {}
        for impl in impls:
            if impl == "ctypes":
                self.setups[impl] = ctypes
            else:
                self.setups[impl] = ffi
        self.settings = settings or {}
        self.quick = quick or {}


class Derived:
    """A row computed from other rows' results: ``compute(results)`` gets
    {row name: {impl: timing.Result | timing.Failure}} and returns nffi's ratio."""

    def __init__(self, name, group, target, deps, compute, describe=""):
        self.name = name
        self.group = group
        self.target = target
        self.deps = deps
        self.compute = compute
        self.describe = describe


# ---- memory operations ------------------------------------------------------------

def _new_struct(e):
    return Bench('ffi.new("struct pt *")', unroll=UNROLL, ffi=e.ffi)


def _new_struct_ct(e):
    return Bench("PT()", unroll=UNROLL, PT=e.PT)


def _new_array(e):
    return Bench('ffi.new("int[100]")', unroll=UNROLL, ffi=e.ffi)


def _new_array_ct(e):
    return Bench("A()", unroll=UNROLL, A=e.ct.c_int * 100)


def _field_read(e):
    p = e.ffi.new("struct pt *", [1, 2])
    return Bench("p.y", unroll=UNROLL, check="p.y == 2", p=p)


def _field_read_ct(e):
    return Bench("p.y", unroll=UNROLL, check="p.y == 2", p=e.PT(1, 2))


def _field_write(e):
    p = e.ffi.new("struct pt *")
    return Bench("p.y = 5", unroll=UNROLL, check="p.y == 5", p=p)


def _field_write_ct(e):
    return Bench("p.y = 5", unroll=UNROLL, check="p.y == 5", p=e.PT())


def _item_read(e):
    a = e.ffi.new("int[100]", list(range(100)))
    return Bench("a[5]", unroll=UNROLL, check="a[5] == 5", a=a)


def _item_read_ct(e):
    a = (e.ct.c_int * 100)(*range(100))
    return Bench("a[5]", unroll=UNROLL, check="a[5] == 5", a=a)


def _item_write(e):
    return Bench("a[5] = 7", unroll=UNROLL, check="a[5] == 7", a=e.ffi.new("int[100]"))


def _item_write_ct(e):
    return Bench("a[5] = 7", unroll=UNROLL, check="a[5] == 7", a=(e.ct.c_int * 100)())


def _cast_int(e):
    return Bench('ffi.cast("int", 5)', unroll=UNROLL,
                 check='int(ffi.cast("int", 5)) == 5', ffi=e.ffi)


def _cast_int_ct(e):
    return Bench("c_int(5)", unroll=UNROLL, check="c_int(5).value == 5",
                 c_int=e.ct.c_int)


_S100 = b"a" * 100


def _string(e):
    buf = e.ffi.new("char[101]", _S100)
    return Bench("ffi.string(buf)", unroll=UNROLL, check="ffi.string(buf) == s",
                 ffi=e.ffi, buf=buf, s=_S100)


def _string_ct(e):
    buf = (e.ct.c_char * 101)()
    buf.value = _S100
    return Bench("buf.value", unroll=UNROLL, check="buf.value == s", buf=buf, s=_S100)


def _typeof(e):
    e.ffi.typeof("struct pt *")
    return Bench('ffi.typeof("struct pt *")', unroll=UNROLL, ffi=e.ffi)


def _sizeof(e):
    return Bench('ffi.sizeof("struct pt")', unroll=UNROLL,
                 check='ffi.sizeof("struct pt") == 8', ffi=e.ffi)


def _sizeof_ct(e):
    return Bench("sizeof(PT)", unroll=UNROLL, check="sizeof(PT) == 8",
                 sizeof=e.ct.sizeof, PT=e.PT)


# ---- calls --------------------------------------------------------------------------

def _abs(e):
    return Bench("libc.abs(-5)", unroll=CALL_UNROLL, check="libc.abs(-5) == 5", libc=e.libc)


_abs_ct = _abs


def _abs_keep_gil(e):
    """nffi: abs declared with cdef(..., release_gil=False); cffi API mode has no such
    option and releases the GIL (the comparison the target is about)."""
    libc = e.libc
    if e.kind == "nffi":
        ffi = e.FFI()
        ffi.cdef("int abs(int);", release_gil=False)
        libc = ffi.dlopen(None)
    return Bench("libc.abs(-5)", unroll=CALL_UNROLL, check="libc.abs(-5) == 5", libc=libc)


def _add6(e):
    return Bench("blib.add6(1, 2, 3, 4, 5, 6)", unroll=CALL_UNROLL,
                 check="blib.add6(1, 2, 3, 4, 5, 6) == 21", blib=e.blib)


_add6_ct = _add6


def _add3d(e):
    return Bench("blib.add3d(1.0, 2.0, 3.5)", unroll=CALL_UNROLL,
                 check="blib.add3d(1.0, 2.0, 3.5) == 6.5", blib=e.blib)


_add3d_ct = _add3d

_S32 = b"0123456789abcdef0123456789abcdef"


def _strlen(e):
    return Bench("libc.strlen(s)", unroll=CALL_UNROLL, check="libc.strlen(s) == 32",
                 libc=e.libc, s=_S32)


_strlen_ct = _strlen


def _mkpt(e):
    return Bench("blib.mkpt(1, 2)", unroll=CALL_UNROLL, check="blib.mkpt(1, 2).y == 2",
                 blib=e.blib)


_mkpt_ct = _mkpt


def _sumpt(e):
    p = e.ffi.new("struct pt *", [1, 2])
    return Bench("blib.sumpt(s)", unroll=CALL_UNROLL, check="blib.sumpt(s) == 3",
                 blib=e.blib, s=p[0], keep=p)


def _sumpt_ct(e):
    return Bench("blib.sumpt(s)", unroll=CALL_UNROLL, check="blib.sumpt(s) == 3",
                 blib=e.blib, s=e.PT(1, 2))


def _snprintf(e):
    buf = e.ffi.new("char[32]")
    return Bench("libc.snprintf(buf, 32, fmt, five)", unroll=CALL_UNROLL,
                 check="ffi.string(buf) == b'5'",
                 libc=e.libc, ffi=e.ffi, buf=buf, fmt=b"%d", five=e.ffi.cast("int", 5))


def _snprintf_ct(e):
    buf = e.ct.create_string_buffer(32)
    return Bench("libc.snprintf(buf, 32, fmt, 5)", unroll=CALL_UNROLL,
                 check="buf.value == b'5'", libc=e.libc, buf=buf, fmt=b"%d")


_QSORT_N = 1000
_QSORT_DATA = list(range(_QSORT_N))
random.Random(1234).shuffle(_QSORT_DATA)


def _compare(a, b):
    x = a[0]
    y = b[0]
    return (x > y) - (x < y)


def _qsort(e):
    ffi = e.ffi
    src = ffi.new("int[]", _QSORT_DATA)
    buf = ffi.new("int[]", _QSORT_N)
    cmp = ffi.callback("int(*)(const int *, const int *)", _compare)
    return Bench("""
        ffi.memmove(buf, src, 4 * n)
        libc.qsort(buf, n, 4, cmp)
        """, check="list(buf) == sorted(list(src))",
        ffi=ffi, libc=e.libc, buf=buf, src=src, cmp=cmp, n=_QSORT_N)


def _qsort_ct(e):
    ct = e.ct
    src = (ct.c_int * _QSORT_N)(*_QSORT_DATA)
    buf = (ct.c_int * _QSORT_N)()
    cmp = e.CMP(_compare)
    return Bench("""
        memmove(buf, src, 4 * n)
        libc.qsort(buf, n, 4, cmp)
        """, check="list(buf) == sorted(list(src))",
        memmove=ct.memmove, libc=e.libc, buf=buf, src=src, cmp=cmp, n=_QSORT_N)


def _qsort_void(e):
    """The comparator as cffi's documentation writes it: 'void *' arguments cast to
    'int *' inside (ctypes: its usual POINTER(c_int) comparator)."""
    ffi = e.ffi
    cast = ffi.cast

    def _compare_void(a, b):
        x = cast("int *", a)[0]
        y = cast("int *", b)[0]
        return (x > y) - (x < y)

    src = ffi.new("int[]", _QSORT_DATA)
    buf = ffi.new("int[]", _QSORT_N)
    cmp = ffi.callback("int(*)(const void *, const void *)", _compare_void)
    return Bench("""
        ffi.memmove(buf, src, 4 * n)
        blib.qsort_v(buf, n, 4, cmp)
        """, check="list(buf) == sorted(list(src))",
        ffi=ffi, blib=e.blib, buf=buf, src=src, cmp=cmp, n=_QSORT_N)


def _identity(i):
    return i


def _callbacks(e):
    cb = e.ffi.callback("int(*)(int)", _identity)
    return Bench("blib.call_n(cb, 100)", check="blib.call_n(cb, 100) == 4950",
                 blib=e.blib, cb=cb)


def _callbacks_ct(e):
    cb = e.ct.CFUNCTYPE(e.ct.c_int, e.ct.c_int)(_identity)
    return Bench("blib.call_n(cb, 100)", check="blib.call_n(cb, 100) == 4950",
                 blib=e.blib, cb=cb, keep=cb)


# ---- globals --------------------------------------------------------------------------

def _global_read(e):
    return Bench("blib.gx", unroll=UNROLL, check="blib.gx == 3", blib=e.blib)


def _global_read_ct(e):
    return Bench("v.value", unroll=UNROLL, check="v.value == 3",
                 v=e.ct.c_int.in_dll(e.blib, "gx"))


def _global_write(e):
    return Bench("blib.gx = 3", unroll=UNROLL, check="blib.gx == 3", blib=e.blib)


def _global_write_ct(e):
    return Bench("v.value = 3", unroll=UNROLL, check="v.value == 3",
                 v=e.ct.c_int.in_dll(e.blib, "gx"))


def _global_struct(e):
    return Bench("blib.gpt", unroll=UNROLL, check="blib.gpt.y == 2", blib=e.blib)


# ---- typeof scaling -----------------------------------------------------------------

def typedefs(n):
    return "".join("typedef struct s%d { int a; } t%d;\n" % (i, i) for i in range(n))


def _fresh_types(n):
    """Never-repeating type strings naming the typedefs: 't<k> * * [<i>]'."""
    i = 0
    while True:
        i += 1
        yield "t%d * * [%d]" % ((i * 7919) % n, i)


def _typeof_fresh(n):
    def setup(e):
        if e.FFI is None:
            raise RuntimeError("needs an FFI class")
        ffi = e.FFI()
        ffi.cdef(typedefs(n))
        # the string generation is subtracted: the baseline loop runs next() only
        return Bench("ffi.typeof(nxt())", ffi=ffi, nxt=_fresh_types(n).__next__,
                     baseline="nxt()", baseline_ns={"nxt": _fresh_types(n).__next__})
    return setup


_SCALING_SETTINGS = {"samples": 41, "budget_s": 5.0}
_SCALING_QUICK = {"samples": 15, "budget_s": 1.5}


def _scaling_ratio(results):
    big = results["typeof fresh type, N=10000"]["nffi"]
    small = results["typeof fresh type, N=100"]["nffi"]
    for r in (big, small):
        if not hasattr(r, "median"):
            raise RuntimeError(r.reason)
    return big.median / small.median


# ---- declarations from real headers (nffi only: its peers cannot read headers) -----

HEADER_SET = ("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
              "#include <unistd.h>\n#include <sys/socket.h>\n#include <netdb.h>\n"
              "#include <pthread.h>\n")


OPENSSL_SET = "#include <openssl/ssl.h>\n#include <openssl/evp.h>\n"


def _header_load(cold, source=HEADER_SET):
    """ffi.cdef_header() of source into a fresh FFI.  cold: with every cache
    emptied first (preprocessor and parser run; the disk cache goes to a fresh
    temporary directory); else what a second FFI pays (same process)."""
    def setup(e):
        if e.kind != "nffi":
            raise RuntimeError("cdef_header() is nffi's")
        import os
        import tempfile
        from nffi import headers
        directory = tempfile.mkdtemp(prefix="nffi-bench-headers-")

        def load():
            os.environ["NFFI_CACHE_DIR"] = directory    # rows run interleaved
            if cold:
                headers.clear_memory_caches()
                cache = os.path.join(directory, "headers")
                for name in os.listdir(cache) if os.path.isdir(cache) else ():
                    os.unlink(os.path.join(cache, name))
            e.FFI().cdef_header(source)
        load()
        return Bench(func=load)
    return setup


def _header_load_later_process(source=HEADER_SET):
    """ffi.cdef_header() of source in a later process: a child interpreter (with its
    bytecode cached, as an installed nffi has) imports nffi, makes an FFI and loads
    the headers that an earlier process loaded (the disk cache); the baseline is the
    same child without the cdef_header() call, so the time is that call's alone."""
    def setup(e):
        if e.kind != "nffi":
            raise RuntimeError("cdef_header() is nffi's")
        import os
        import subprocess
        import sys
        import tempfile
        import nffi
        directory = tempfile.mkdtemp(prefix="nffi-bench-headers-")
        env = dict(os.environ, NFFI_CACHE_DIR=directory,
                   PYTHONPYCACHEPREFIX=os.path.join(directory, "bytecode"),
                   PYTHONPATH=os.pathsep.join(
                       [os.path.dirname(os.path.dirname(nffi.__file__))]
                       + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        prologue = "import sys; sys.path.insert(0, %r); import nffi; ffi = nffi.FFI()\n" % (
            os.path.dirname(os.path.dirname(nffi.__file__)),)
        load = prologue + "ffi.cdef_header(%r)\n" % (source,)
        # both leave without the interpreter's teardown (freeing what was loaded is no
        # part of loading)
        prologue, load = prologue + "import os; os._exit(0)\n", load + "import os; os._exit(0)\n"

        def child(code):
            def run():
                subprocess.run([sys.executable, "-c", code], env=env, check=True)
            return run
        child(load)()           # the earlier process: fills the disk cache
        return Bench(func=child(load), baseline="_f()",
                     baseline_ns={"_f": child(prologue)})
    return setup


_HEADER_SETTINGS = {"samples": 7, "budget_s": 6.0}
_HEADER_QUICK = {"samples": 3, "budget_s": 2.0}

MEM, CALL, GLOBALS, SCALE, HEADERS = ("memory", "calls", "globals", "typeof scaling",
                                      "real headers")

ROWS = [
    Row('new("struct pt *")', MEM, MEMORY_TARGET, ffi=_new_struct, ctypes=_new_struct_ct),
    Row('new("int[100]")', MEM, MEMORY_TARGET, ffi=_new_array, ctypes=_new_array_ct),
    Row("struct field read p.y", MEM, MEMORY_TARGET, ffi=_field_read,
        ctypes=_field_read_ct),
    Row("struct field write p.y = 5", MEM, MEMORY_TARGET, ffi=_field_write,
        ctypes=_field_write_ct),
    Row("array item read a[5]", MEM, MEMORY_TARGET, ffi=_item_read, ctypes=_item_read_ct),
    Row("array item write a[5] = 7", MEM, MEMORY_TARGET, ffi=_item_write,
        ctypes=_item_write_ct),
    Row('cast("int", 5)', MEM, MEMORY_TARGET, ffi=_cast_int, ctypes=_cast_int_ct),
    Row("string(char[101]), 100 chars", MEM, MEMORY_TARGET, ffi=_string,
        ctypes=_string_ct),
    Row('typeof("struct pt *"), cached', MEM, MEMORY_TARGET, ffi=_typeof, ctypes=NA),
    Row('sizeof("struct pt")', MEM, MEMORY_TARGET, ffi=_sizeof, ctypes=_sizeof_ct),

    Row("call abs(int)", CALL, CALL_TARGET, ffi=_abs, ctypes=_abs_ct),
    Row("call abs(int), release_gil=False", CALL, KEEP_GIL_TARGET, ffi=_abs_keep_gil,
        impls=("nffi", "cffi API")),
    Row("call add6(6 x long)", CALL, CALL_TARGET, ffi=_add6, ctypes=_add6_ct),
    Row("call add3d(3 x double)", CALL, CALL_TARGET, ffi=_add3d, ctypes=_add3d_ct),
    Row("call strlen(bytes[32])", CALL, CALL_TARGET, ffi=_strlen, ctypes=_strlen_ct),
    Row("call mkpt(int, int) -> struct pt", CALL, CALL_TARGET, ffi=_mkpt,
        ctypes=_mkpt_ct),
    Row("call sumpt(struct pt)", CALL, CALL_TARGET, ffi=_sumpt, ctypes=_sumpt_ct),
    Row('call snprintf(buf, 32, "%d", int)', CALL, CALL_TARGET, ffi=_snprintf,
        ctypes=_snprintf_ct),
    Row("qsort 1000 ints, Python comparator", CALL, QSORT_TARGET, ffi=_qsort,
        ctypes=_qsort_ct, settings={"samples": 41}, quick={"samples": 15}),

    Row("qsort 1000 ints, 'void *' comparator", CALL, QSORT_TARGET, ffi=_qsort_void,
        ctypes=_qsort_ct, settings={"samples": 41}, quick={"samples": 15}),
    Row("100 callbacks from C", CALL, QSORT_TARGET, ffi=_callbacks, ctypes=_callbacks_ct),

    Row("global read lib.gx", GLOBALS, MEMORY_TARGET, ffi=_global_read,
        ctypes=_global_read_ct),
    Row("global write lib.gx = 3", GLOBALS, MEMORY_TARGET, ffi=_global_write,
        ctypes=_global_write_ct),
    Row("global struct lib.gpt", GLOBALS, MEMORY_TARGET, ffi=_global_struct, ctypes=NA),

    Row("typeof fresh type, N=100", SCALE, None, ffi=_typeof_fresh(100),
        impls=("nffi", "cffi ABI"), settings=_SCALING_SETTINGS, quick=_SCALING_QUICK),
    Row("typeof fresh type, N=1000", SCALE, 0.001, ffi=_typeof_fresh(1000),
        impls=("nffi", "cffi ABI"), settings=_SCALING_SETTINGS, quick=_SCALING_QUICK),
    Row("typeof fresh type, N=10000", SCALE, None, ffi=_typeof_fresh(10000),
        impls=("nffi",), settings=_SCALING_SETTINGS, quick=_SCALING_QUICK),
    Derived("typeof scaling nffi N=10000 / N=100", SCALE, 2.0,
            deps=("typeof fresh type, N=10000", "typeof fresh type, N=100"),
            compute=_scaling_ratio,
            describe="ratio of nffi's own times, not a comparison with a peer"),

    Row("cdef_header 7 system headers, cold", HEADERS, None, ffi=_header_load(True),
        impls=("nffi",), settings=_HEADER_SETTINGS, quick=_HEADER_QUICK),
    Row("cdef_header 7 system headers, second FFI", HEADERS, None,
        ffi=_header_load(False), impls=("nffi",), settings=_HEADER_SETTINGS,
        quick=_HEADER_QUICK),
    Row("cdef_header 7 system headers, later process", HEADERS, None,
        ffi=_header_load_later_process(), impls=("nffi",),
        settings={"samples": 21, "budget_s": 15.0}, quick=_HEADER_QUICK),
    Row("cdef_header <openssl/ssl.h> <openssl/evp.h>, cold", HEADERS, None,
        ffi=_header_load(True, OPENSSL_SET), impls=("nffi",), settings=_HEADER_SETTINGS,
        quick=_HEADER_QUICK),
]
