"""API mode benchmark: nffi's generated wrappers against the floor.

    PYTHONPATH=src python benchmarks/api_mode.py [--quick]

Builds, in a temporary directory, the same C functions four ways and times the calls
side by side in one process:

* "fast": a hand-written METH_FASTCALL extension (the floor), and "fast+gil", the same
  releasing the GIL and keeping errno around each call as cffi and nffi do;
* cffi's API mode (``ffi.set_source`` + ``ffi.compile``);
* nffi's API mode, default (GIL released) and ``cdef(..., release_gil=False)``.

Then the build time of a 200-function module (nffi vs cffi) and the import time.
Figures are medians in ns per call; ratios are nffi / floor (DESIGN.md's API-mode
targets: <= 1.10 x fast+gil, release_gil=False <= 1.2 x fast).
"""
import importlib.util
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import timeit

import cffi

import nffi
from nffi import build

CDEF = """
    int iabs(int);
    int add(int, int);
    long add6(long, long, long, long, long, long);
    double muladd(double, double, double);
    size_t my_strlen(const char *);
    struct pt { int x, y; };
    struct pt mkpt(int, int);
    extern int counter;
    int run_callbacks(int);
"""
CALLBACK_CDEF = 'extern "Python" int cb(int);'
SOURCE = r"""
#include <string.h>
#include <stdlib.h>
static int iabs(int x) { return abs(x); }
static int add(int a, int b) { return a + b; }
static long add6(long a, long b, long c, long d, long e, long f) { return a+b+c+d+e+f; }
static double muladd(double a, double b, double c) { return a * b + c; }
static size_t my_strlen(const char *s) { return strlen(s); }
struct pt { int x, y; };
static struct pt mkpt(int x, int y) { struct pt p = {x, y}; return p; }
int counter = 0;
static int cb(int);
static int run_callbacks(int n) { int s = 0; for (int i = 0; i < n; i++) s += cb(i); return s; }
"""

FAST_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
static int iabs(int x) { return abs(x); }
static int add(int a, int b) { return a + b; }
static long add6(long a, long b, long c, long d, long e, long f) { return a+b+c+d+e+f; }
static double muladd(double a, double b, double c) { return a * b + c; }
static size_t my_strlen(const char *s) { return strlen(s); }
static _Thread_local int saved_errno;
#ifdef WITH_GIL_RELEASE
#define CALL(stmt) { Py_BEGIN_ALLOW_THREADS errno = saved_errno; stmt; saved_errno = errno; \
                     Py_END_ALLOW_THREADS }
#else
#define CALL(stmt) { stmt; }
#endif
static PyObject *f_iabs(PyObject *s, PyObject *const *a, Py_ssize_t n) {
    long x = PyLong_AsLong(a[0]); int r; if (x == -1 && PyErr_Occurred()) return NULL;
    CALL(r = iabs((int)x)) return PyLong_FromLong(r); }
static PyObject *f_add(PyObject *s, PyObject *const *a, Py_ssize_t n) {
    long x = PyLong_AsLong(a[0]), y = PyLong_AsLong(a[1]); int r;
    if (PyErr_Occurred()) return NULL;
    CALL(r = add((int)x, (int)y)) return PyLong_FromLong(r); }
static PyObject *f_add6(PyObject *s, PyObject *const *a, Py_ssize_t n) {
    long v[6]; long r; for (int i = 0; i < 6; i++) v[i] = PyLong_AsLong(a[i]);
    if (PyErr_Occurred()) return NULL;
    CALL(r = add6(v[0], v[1], v[2], v[3], v[4], v[5])) return PyLong_FromLong(r); }
static PyObject *f_muladd(PyObject *s, PyObject *const *a, Py_ssize_t n) {
    double x = PyFloat_AsDouble(a[0]), y = PyFloat_AsDouble(a[1]), z = PyFloat_AsDouble(a[2]);
    double r; if (PyErr_Occurred()) return NULL;
    CALL(r = muladd(x, y, z)) return PyFloat_FromDouble(r); }
static PyObject *f_strlen(PyObject *s, PyObject *const *a, Py_ssize_t n) {
    const char *p = PyBytes_AsString(a[0]); size_t r; if (p == NULL) return NULL;
    CALL(r = my_strlen(p)) return PyLong_FromSize_t(r); }
static PyMethodDef methods[] = {
    {"iabs", (PyCFunction)(void(*)(void))f_iabs, METH_FASTCALL, NULL},
    {"add", (PyCFunction)(void(*)(void))f_add, METH_FASTCALL, NULL},
    {"add6", (PyCFunction)(void(*)(void))f_add6, METH_FASTCALL, NULL},
    {"muladd", (PyCFunction)(void(*)(void))f_muladd, METH_FASTCALL, NULL},
    {"my_strlen", (PyCFunction)(void(*)(void))f_strlen, METH_FASTCALL, NULL},
    {NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, MODNAME_STR, NULL, -1, methods};
PyMODINIT_FUNC INIT(void) { return PyModule_Create(&def); }
"""

CALLS = [
    ("abs(-5)", "iabs", (-5,)),
    ("add(int, int)", "add", (3, 4)),
    ("add6(6 x long)", "add6", (1, 2, 3, 4, 5, 6)),
    ("muladd(3 x double)", "muladd", (1.5, 2.5, 3.5)),
    ("strlen(bytes)", "my_strlen", (b"hello world",)),
    ("mkpt() -> struct", "mkpt", (1, 2)),
]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ns_per_call(stmt, namespace, quick):
    timer = timeit.Timer(stmt, globals=namespace)
    number, _ = timer.autorange()
    runs = timer.repeat(repeat=5 if quick else 15, number=number)
    return statistics.median(runs) / number * 1e9


def build_fast(tmp, gil):
    name = "_fast_gil" if gil else "_fast"
    src = os.path.join(tmp, name + ".c")
    with open(src, "w") as f:
        f.write(FAST_SOURCE)
    macros = [("MODNAME_STR", '"%s"' % name), ("INIT", "PyInit_" + name)]
    if gil:
        macros.append(("WITH_GIL_RELEASE", "1"))
    return load(name, build.build_extension(name, [src], tmpdir=tmp, define_macros=macros))


def build_api(tmp, which, name, release_gil=True):
    ffi = (cffi.FFI if which == "cffi" else nffi.FFI)()
    if which == "cffi":
        ffi.cdef(CDEF)
    else:
        ffi.cdef(CDEF, release_gil=release_gil)
    ffi.cdef(CALLBACK_CDEF)
    ffi.set_source(name, SOURCE)
    path = ffi.compile(tmpdir=os.path.join(tmp, name))
    mod = load(name, path)

    @mod.ffi.def_extern()
    def cb(i):
        return i
    return mod


def many_functions_source(n):
    cdef = "\n".join("int f%d(int, int);" % i for i in range(n))
    source = "\n".join("static int f%d(int a, int b) { return a + b + %d; }" % (i, i)
                       for i in range(n))
    return cdef, source


def time_build(which, tmp, n=200):
    cdef, source = many_functions_source(n)
    ffi = (cffi.FFI if which == "cffi" else nffi.FFI)()
    ffi.cdef(cdef)
    name = "_many_%s" % which
    ffi.set_source(name, source)
    out = tempfile.mkdtemp(dir=tmp)
    # CPU time (this process and the compiler it runs): the machine may be shared
    t0 = _cpu_time()
    path = ffi.compile(tmpdir=out)
    return _cpu_time() - t0, name, path


def _cpu_time():
    import resource
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def time_import(name, path, n):
    code = ("import importlib.util,time;t=time.perf_counter();"
            "s=importlib.util.spec_from_file_location(%r,%r);"
            "m=importlib.util.module_from_spec(s);s.loader.exec_module(m);"
            "[getattr(m.lib,'f%%d'%%i) for i in range(%d)];"
            "print(time.perf_counter()-t)" % (name, path, n))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    # the interpreter and nffi/cffi are imported before timing (warm)
    pre = "import nffi, nffi.apimodule, _cffi_backend;"
    times = [float(subprocess.check_output([sys.executable, "-c", pre + code], env=env))
             for _ in range(5)]
    return statistics.median(times)


def main(argv):
    quick = "--quick" in argv
    tmp = tempfile.mkdtemp(prefix="nffi-api-bench-")
    fast, fast_gil = build_fast(tmp, False), build_fast(tmp, True)
    cffi_mod = build_api(tmp, "cffi", "_bench_cffi")
    nffi_mod = build_api(tmp, "nffi", "_bench_nffi")
    nffi_keep = build_api(tmp, "nffi", "_bench_nffi_keep", release_gil=False)
    print("%-22s %9s %9s %9s %9s %11s %7s %9s" % (
        "ns per call", "fast", "fast+gil", "cffi API", "nffi API", "nffi keepGIL",
        "ratio", "ratio kp"))
    for label, fname, args in CALLS:
        row = []
        for mod in (fast, fast_gil, cffi_mod.lib, nffi_mod.lib, nffi_keep.lib):
            f = getattr(mod, fname, None)
            row.append(None if f is None else ns_per_call("f(*args)", {"f": f, "args": args},
                                                          quick))
        ratio = row[3] / row[1] if row[1] else None
        ratio_keep = row[4] / row[0] if row[0] else None
        print("%-22s %9s %9s %9.1f %9.1f %11.1f %7s %9s" % (
            label, "%.1f" % row[0] if row[0] else "-", "%.1f" % row[1] if row[1] else "-",
            row[2], row[3], row[4], "%.2f" % ratio if ratio else "-",
            "%.2f" % ratio_keep if ratio_keep else "-"))
    for label, stmt in (("global read", "lib.counter"), ("global write", "lib.counter = 1"),
                        ("100 callbacks", "lib.run_callbacks(100)")):
        values = [ns_per_call(stmt, {"lib": m.lib}, quick) for m in (cffi_mod, nffi_mod)]
        print("%-22s %9s %9s %9.1f %9.1f" % (label, "", "", values[0], values[1]))
    cffi_t, cffi_name, cffi_path = time_build("cffi", tmp)
    nffi_t, nffi_name, nffi_path = time_build("nffi", tmp)
    print("build 200 functions (CPU s): cffi %.2f s, nffi %.2f s (ratio %.2f)"
          % (cffi_t, nffi_t, nffi_t / cffi_t))
    ci = time_import(cffi_name, cffi_path, 200)
    ni = time_import(nffi_name, nffi_path, 200)
    print("import + touch 200 functions: cffi %.2f ms, nffi %.2f ms (ratio %.2f)"
          % (ci * 1e3, ni * 1e3, ni / ci))


if __name__ == "__main__":
    main(sys.argv[1:])
