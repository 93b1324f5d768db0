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
/* 100 callbacks: C calls a Python function (the floor of extern "Python"); with
   WITH_GIL_RELEASE the loop runs without the GIL, each call takes it (as C code that
   calls back from a GIL-releasing call must) and keeps errno around the Python part */
static PyObject *py_cb;
static int cb(int x) {
#ifdef WITH_GIL_RELEASE
    int e = errno; PyGILState_STATE st = PyGILState_Ensure();
#endif
    long v = -1;
    PyObject *arg = PyLong_FromLong(x);
    PyObject *r = arg ? PyObject_CallOneArg(py_cb, arg) : NULL;
    Py_XDECREF(arg);
    if (r != NULL) { v = PyLong_AsLong(r); Py_DECREF(r); }
    if (v == -1 && PyErr_Occurred()) PyErr_WriteUnraisable(py_cb);
#ifdef WITH_GIL_RELEASE
    PyGILState_Release(st); errno = e;
#endif
    return (int)v;
}
static int run_callbacks(int n) { int s = 0; for (int i = 0; i < n; i++) s += cb(i); return s; }
static PyObject *f_set_cb(PyObject *s, PyObject *const *a, Py_ssize_t n) {
    Py_XSETREF(py_cb, Py_NewRef(a[0])); Py_RETURN_NONE; }
static PyObject *f_run_callbacks(PyObject *s, PyObject *const *a, Py_ssize_t n) {
    long x = PyLong_AsLong(a[0]); int r; if (x == -1 && PyErr_Occurred()) return NULL;
    CALL(r = run_callbacks((int)x)) return PyLong_FromLong(r); }
/* a C global read and written as an attribute: an object whose getattro/setattro
   know the one name (interned, so compared by address) */
static int counter;
static PyObject *str_counter;
static PyObject *g_getattro(PyObject *self, PyObject *name) {
    if (name == str_counter) return PyLong_FromLong(counter);
    return PyObject_GenericGetAttr(self, name); }
static int g_setattro(PyObject *self, PyObject *name, PyObject *value) {
    if (name == str_counter && value != NULL) {
        long v = PyLong_AsLong(value); if (v == -1 && PyErr_Occurred()) return -1;
        counter = (int)v; return 0; }
    return PyObject_GenericSetAttr(self, name, value); }
static PyTypeObject G_Type = {PyVarObject_HEAD_INIT(NULL, 0) .tp_name = "G",
    .tp_basicsize = sizeof(PyObject), .tp_getattro = g_getattro, .tp_setattro = g_setattro,
    .tp_flags = Py_TPFLAGS_DEFAULT};
static PyMethodDef methods[] = {
    {"set_cb", (PyCFunction)(void(*)(void))f_set_cb, METH_FASTCALL, NULL},
    {"run_callbacks", (PyCFunction)(void(*)(void))f_run_callbacks, METH_FASTCALL, NULL},
    {"iabs", (PyCFunction)(void(*)(void))f_iabs, METH_FASTCALL, NULL},
    {"add", (PyCFunction)(void(*)(void))f_add, METH_FASTCALL, NULL},
    {"add6", (PyCFunction)(void(*)(void))f_add6, METH_FASTCALL, NULL},
    {"muladd", (PyCFunction)(void(*)(void))f_muladd, METH_FASTCALL, NULL},
    {"my_strlen", (PyCFunction)(void(*)(void))f_strlen, METH_FASTCALL, NULL},
    {NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, MODNAME_STR, NULL, -1, methods};
PyMODINIT_FUNC INIT(void) {
    PyObject *m = PyModule_Create(&def);
    str_counter = PyUnicode_InternFromString("counter");
    if (m == NULL || str_counter == NULL || PyType_Ready(&G_Type) < 0) return NULL;
    PyObject *g = PyType_GenericNew(&G_Type, NULL, NULL);
    if (g == NULL || PyModule_AddObject(m, "g", g) < 0) return NULL;
    return m; }
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


def many_functions_source(n, distinct=False):
    """n functions 'int fK(int, int)'; distinct=True: each of its own signature (the
    worst case for nffi, whose functions of one signature share a wrapper body)."""
    types = ["int", "long", "unsigned int", "short", "double", "float", "char *",
             "unsigned long", "signed char", "long long"]

    def signature(i):
        if not distinct:
            return "int", ("int", "int")
        k = len(types)
        return types[i % k], (types[(i // k) % k], types[(i // (k * k)) % k] if i >= k * k
                              else "int", "int")[:2 + (i // 100)]
    cdef, source = [], []
    for i in range(n):
        result, args = signature(i)
        params = ", ".join("%s a%d" % (a, j) for j, a in enumerate(args))
        cdef.append("%s f%d(%s);" % (result, i, ", ".join(args)))
        body = "return (%s)0;" % result if "*" in result else \
            "return (%s)(%s);" % (result, " + ".join(
                "(long)a%d" % j if "*" not in a else "0" for j, a in enumerate(args)))
        source.append("static %s f%d(%s) { %s }" % (result, i, params, body))
    return "\n".join(cdef), "\n".join(source)


def time_build(which, tmp, n=200, distinct=False):
    cdef, source = many_functions_source(n, distinct)
    ffi = (cffi.FFI if which == "cffi" else nffi.FFI)()
    ffi.cdef(cdef)
    name = "_many_%s%s" % (which, "_d" if distinct else "")
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


# ---- instruction counts (valgrind's callgrind: independent of the machine's load) ----

# (row, impl, statement): impl names a module of build_all(); 'f' is the row's function
INSTRUCTION_ROWS = [(label, impl, "f(*args)") for label, _, _ in CALLS[:5]
                    for impl in ("fast+gil", "nffi", "fast", "nffi keepGIL")] + [
    ("global read", "fast", "g.counter"), ("global read", "nffi", "lib.counter"),
    ("global write", "fast", "g.counter = 1"), ("global write", "nffi", "lib.counter = 1"),
    ("lib.f (no call)", "fast", "m.run_callbacks"),
    ("lib.f (no call)", "nffi", "lib.run_callbacks"),
]
UNROLL = 20


def build_all(tmp):
    """{impl: (module name, path)} of the modules the rows run on."""
    fast, fast_gil = build_fast(tmp, False), build_fast(tmp, True)
    mods = {"fast": fast, "fast+gil": fast_gil, "cffi": build_api(tmp, "cffi", "_bench_cffi"),
            "nffi": build_api(tmp, "nffi", "_bench_nffi"),
            "nffi keepGIL": build_api(tmp, "nffi", "_bench_nffi_keep", release_gil=False)}
    return {impl: (m.__name__, m.__file__) for impl, m in mods.items()}


def _instr_child(label, impl, stmt, name, path, count, baseline):
    mod = load(name, path)
    fname, args = next(((f, a) for lab, f, a in CALLS if lab == label), (None, ()))
    ns = {"m": mod, "g": getattr(mod, "g", None), "lib": getattr(mod, "lib", None),
          "args": args}
    ns["f"] = getattr(ns["lib"] or mod, fname) if fname else None
    body = "pass" if baseline else stmt
    src = "def loop(n):\n    for _ in range(n):\n" + "".join(
        "        %s\n" % body for _ in range(UNROLL))
    exec(src, ns)
    ns["loop"](50)           # caches filled, specialisation done
    ns["loop"](count)


def _callgrind(label, impl, stmt, name, path, count, baseline):
    import re
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
               sys.executable, os.path.abspath(__file__), "--instr-child", label, impl,
               stmt, name, path, str(count)] + (["--baseline"] if baseline else [])
        env = dict(os.environ, PYTHONHASHSEED="0")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        found = re.search(r"(?:Collected :|I\s+refs:)\s+([\d,]+)", proc.stderr)
        if proc.returncode != 0 or not found:
            raise RuntimeError("callgrind: %s" % proc.stderr.strip()[-500:])
        return int(found.group(1).replace(",", ""))


def instructions(argv):
    """Instructions per operation of each row (run N and 2N times under callgrind; the
    same for the empty loop subtracted)."""
    # arguments after --instructions: rows whose "label / impl" contains one of them
    only = argv[argv.index("--instructions") + 1:] or [""]
    tmp = tempfile.mkdtemp(prefix="nffi-api-instr-")
    mods = build_all(tmp)
    n = 2000
    print("%-22s %-14s %12s" % ("instructions per op", "impl", "instructions"))
    for label, impl, stmt in INSTRUCTION_ROWS:
        if not any(o in "%s / %s" % (label, impl) for o in only):
            continue
        name, path = mods[impl]
        costs = []
        for baseline in (False, True):
            a = _callgrind(label, impl, stmt, name, path, n, baseline)
            b = _callgrind(label, impl, stmt, name, path, 2 * n, baseline)
            costs.append((b - a) / (n * UNROLL))
        print("%-22s %-14s %12.0f" % (label, impl, costs[0] - costs[1]), flush=True)


def main(argv):
    if argv[:1] == ["--instr-child"]:
        label, impl, stmt, name, path, count = argv[1:7]
        return _instr_child(label, impl, stmt, name, path, int(count), "--baseline" in argv)
    if "--instructions" in argv:
        return instructions(argv)
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
    # globals: "fast" is the floor (an object whose getattro knows the name)
    print("%-22s %9s %9s %9s %9s %11s %7s" % ("", "fast", "fast+gil", "cffi API", "nffi API",
                                             "", "ratio"))
    for label, stmt, floor_stmt in (("global read", "lib.counter", "g.counter"),
                                    ("global write", "lib.counter = 1", "g.counter = 1")):
        floor = ns_per_call(floor_stmt, {"g": fast.g}, quick)
        values = [ns_per_call(stmt, {"lib": m.lib}, quick) for m in (cffi_mod, nffi_mod)]
        print("%-22s %9.1f %9s %9.1f %9.1f %11s %7.2f" % (label, floor, "", values[0],
                                                        values[1], "", values[1] / floor))
    # 100 callbacks: the floor is "fast+gil" (C releases the GIL, each call takes it)
    for mod in (fast, fast_gil):
        mod.set_cb(lambda i: i)
    floors = [ns_per_call("f(100)", {"f": m.run_callbacks}, quick) for m in (fast, fast_gil)]
    values = [ns_per_call("lib.run_callbacks(100)", {"lib": m.lib}, quick)
              for m in (cffi_mod, nffi_mod)]
    print("%-22s %9.1f %9.1f %9.1f %9.1f %11s %7.2f" % ("100 callbacks", floors[0], floors[1],
                                                      values[0], values[1], "",
                                                      values[1] / floors[1]))
    # lib.f itself: the attribute read, against a module attribute
    attr = [ns_per_call("m.run_callbacks", {"m": fast}, quick)] + \
        [ns_per_call("lib.run_callbacks", {"lib": m.lib}, quick) for m in (cffi_mod, nffi_mod)]
    print("%-22s %9.1f %9s %9.1f %9.1f %11s %7.2f" % ("lib.f (no call)", attr[0], "", attr[1],
                                                      attr[2], "", attr[2] / attr[0]))
    cffi_t, cffi_name, cffi_path = time_build("cffi", tmp)
    nffi_t, nffi_name, nffi_path = time_build("nffi", tmp)
    print("build 200 functions (CPU s): cffi %.2f s, nffi %.2f s (ratio %.2f)"
          % (cffi_t, nffi_t, nffi_t / cffi_t))
    cffi_t2 = time_build("cffi", tmp, distinct=True)[0]
    nffi_t2 = time_build("nffi", tmp, distinct=True)[0]
    print("build 200 functions of 200 signatures (CPU s): cffi %.2f s, nffi %.2f s "
          "(ratio %.2f)" % (cffi_t2, nffi_t2, nffi_t2 / cffi_t2))
    ci = time_import(cffi_name, cffi_path, 200)
    ni = time_import(nffi_name, nffi_path, 200)
    print("import + touch 200 functions: cffi %.2f ms, nffi %.2f ms (ratio %.2f)"
          % (ci * 1e3, ni * 1e3, ni / ci))


if __name__ == "__main__":
    main(sys.argv[1:])
