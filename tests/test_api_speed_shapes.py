"""API mode: the shapes that make compiled modules fast to build and to import.

* importing builds nothing: no declaration is read and no ctype is made until something
  needs one (cffi's modules are lazy too); lib.f creates its wrapper on first read;
* functions of one signature share one wrapper body (tiny entry points of their own),
  and still behave each as itself (names in errors, results);
* 'extern "Python"' functions are generated C functions calling the core's callback
  path (no libffi closure);
* the lib object looks like cffi's: __dict__, __all__, dir(), __class__, __name__,
  'from mod.lib import *';
* a declaration that the compiler contradicts is still reported, at first use.

Differential against cffi's API mode where cffi can answer."""
import itertools
import os
import sys
import threading

import cffi
import pytest

import nffi
from nffi import VerificationError
from test_api_mode import _load

_counter = itertools.count()


def build(tmp_path, cdef, source, which="nffi"):
    ffi = (nffi.FFI if which == "nffi" else cffi.FFI)()
    ffi.cdef(cdef)
    name = "_shape_%s_%d_%d" % (which, os.getpid(), next(_counter))
    ffi.set_source(name, source)
    return _load(name, ffi.compile(tmpdir=str(tmp_path / which)))


def build_both(tmp_path, cdef, source):
    return build(tmp_path, cdef, source, "nffi"), build(tmp_path, cdef, source, "cffi")


SHARED_CDEF = """
    int add(int, int);
    int sub(int, int);
    int mul(int, int);
    struct pt { int x, y; };
    int px(struct pt *);
    int py(struct pt *);
    double half(double);
    extern int counter;
    #define K 42
    enum e { A, B = 5 };
"""
SHARED_SOURCE = """
    static int add(int a, int b) { return a + b; }
    static int sub(int a, int b) { return a - b; }
    static int mul(int a, int b) { return a * b; }
    struct pt { int x, y; };
    static int px(struct pt *p) { return p->x; }
    static int py(struct pt *p) { return p->y; }
    static double half(double x) { return x / 2; }
    int counter = 7;
    #define K 42
    enum e { A, B = 5 };
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return build_both(tmp_path_factory.mktemp("shared"), SHARED_CDEF, SHARED_SOURCE)


def test_import_reads_no_declaration(tmp_path):
    mod = build(tmp_path, SHARED_CDEF, SHARED_SOURCE)
    ffi, lib = mod.ffi, mod.lib
    assert not ffi._nffi_loaded
    f = lib.add                            # the wrapper: no ctype needed
    assert f(2, 3) == 5 and lib.half(3.0) == 1.5
    assert lib.add is f                    # cached: a dict lookup from now on
    assert not ffi._nffi_loaded
    p = ffi.new("struct pt *", [4, 9])     # the first use of a type reads them
    assert ffi._nffi_loaded
    assert lib.px(p) == 4 and lib.py(p) == 9


def test_first_call_needing_a_ctype_realizes_its_signature(tmp_path):
    mod = build(tmp_path, SHARED_CDEF, SHARED_SOURCE)
    lib = mod.lib
    with pytest.raises(TypeError) as e:   # not an int: the core's converter, which
        lib.sub("x", 1)                    # needs the ctype: realized now
    assert "sub()" in " ".join(getattr(e.value, "__notes__", [])) + str(e.value)
    assert mod.ffi._nffi_loaded


def test_first_use_from_many_threads(tmp_path):
    mod = build(tmp_path, SHARED_CDEF, SHARED_SOURCE)
    ffi, lib = mod.ffi, mod.lib
    points = [ffi.new("struct pt *", [i, -i]) for i in range(8)]
    mod2 = build(tmp_path, SHARED_CDEF, SHARED_SOURCE)   # a fresh one for the race
    results, errors = [], []
    barrier = threading.Barrier(8)

    def run(i):
        try:
            barrier.wait()
            p = mod2.ffi.new("struct pt *", [i, -i])
            results.append((mod2.lib.px(p), mod2.lib.py(p), mod2.lib.mul(i, 2)))
        except Exception as exc:        # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [(i, -i, 2 * i) for i in range(8)]
    assert [lib.px(p) for p in points] == list(range(8))


@pytest.mark.parametrize("name, args", [
    ("add", (2, 3)), ("sub", (2, 3)), ("mul", (6, 7)), ("add", (2**31, 0)),
    ("sub", ("x", 1)), ("mul", (1,)), ("mul", (1, 2, 3)), ("add", (1.5, 2)),
    ("half", (3,)), ("half", ("x",)),
])
def test_shared_bodies_behave_as_each_function(shared, name, args):
    mod_n, mod_c = shared
    outcomes = []
    for mod in (mod_n, mod_c):
        try:
            outcomes.append(("ok", getattr(mod.lib, name)(*args)))
        except Exception as e:
            text = str(e) + " ".join(getattr(e, "__notes__", []))
            outcomes.append(("error", type(e).__name__, text))
    assert outcomes[0][:2] == outcomes[1][:2]
    if outcomes[0][0] == "error":
        assert name in outcomes[0][2]          # the shared body names its caller


def test_functions_of_one_signature_share_a_body():
    ffi = nffi.FFI()
    ffi.cdef(SHARED_CDEF)
    ffi.set_source("_shape_text", SHARED_SOURCE)
    from nffi import apimode
    text = apimode._c_text(ffi)
    # add/sub/mul share one body, px/py another; half has its own wrapper
    assert text.count("NFFI_NOINLINE static PyObject *_nffi_s_") == 2
    assert '_nffi_s_0(args, nargs, "sub", _nffi_d_sub)' in text
    assert "_nffi_f_half(PyObject *self" in text


def test_typeof_and_addressof_of_functions(shared):
    for mod in shared:
        ffi, lib = mod.ffi, mod.lib
        assert ffi.typeof(lib.add) is ffi.typeof("int(*)(int, int)")
        assert ffi.addressof(lib, "sub")(5, 3) == 2
        assert lib.add.__self__ is lib
        assert lib.add.__name__ == "add"


def test_lib_object_looks_like_cffis(shared):
    mod_n, mod_c = shared
    assert dir(mod_n.lib) == dir(mod_c.lib)
    assert sorted(mod_n.lib.__all__) == sorted(mod_c.lib.__all__)
    assert "counter" not in mod_n.lib.__all__       # no global variables in __all__
    assert set(mod_n.lib.__dict__) == set(mod_c.lib.__dict__)
    for name in ("add", "K", "A", "B"):
        assert mod_n.lib.__dict__[name] == getattr(mod_n.lib, name)
    assert mod_n.lib.__class__ is mod_c.lib.__class__      # both say 'module'
    assert mod_n.lib.__name__ == mod_n.__name__ + ".lib"
    assert mod_n.lib.__loader__ is None and mod_n.lib.__spec__ is None
    namespaces = []
    for mod in (mod_n, mod_c):
        ns = {}
        exec("from %s.lib import *" % mod.__name__, ns)
        namespaces.append(sorted(k for k in ns if not k.startswith("__")))
    assert namespaces[0] == namespaces[1]
    for mod in (mod_n, mod_c):
        with pytest.raises(AttributeError):
            mod.lib.no_such_name
        with pytest.raises(AttributeError):
            mod.lib.add = 3
        with pytest.raises(AttributeError):
            mod.lib.K = 3
        with pytest.raises(AttributeError):
            mod.lib.new_name = 3
        assert mod.lib.counter == 7
        mod.lib.counter = 8
        assert mod.lib.counter == 8
        mod.lib.counter = 7


def test_names_are_found_in_any_order(tmp_path):
    names = ["A", "Z", "_a", "a", "a_b", "aB", "ab", "b", "a0", "a9", "zz", "B_"]
    cdef = "\n".join("int %s(void);" % n for n in names)
    source = "\n".join("static int %s(void) { return %d; }" % (n, i)
                       for i, n in enumerate(names))
    lib = build(tmp_path, cdef, source).lib
    for i, n in enumerate(names):
        assert getattr(lib, n)() == i


EXTERN_CDEF = """
    extern "Python" signed char cb_schar(signed char);
    extern "Python" unsigned short cb_ushort(unsigned short);
    extern "Python" _Bool cb_bool(int);
    extern "Python" float cb_float(float);
    extern "Python" double cb_double(double, double);
    extern "Python" struct pt cb_struct(int, int);
    extern "Python" void *cb_ptr(void *);
    extern "Python" void cb_void(int);
    extern "Python" long long cb_ll(long long);
    struct pt { int x, y; };
    int call_schar(signed char);
    int call_ushort(unsigned short);
    int call_bool(int);
    double call_float(float);
    double call_double(double, double);
    int call_struct(int, int);
    int call_ptr_is_same(void);
    void call_void(int);
    long long call_ll(long long);
"""
EXTERN_SOURCE = """
    struct pt { int x, y; };
    static signed char cb_schar(signed char);
    static unsigned short cb_ushort(unsigned short);
    static _Bool cb_bool(int);
    static float cb_float(float);
    static double cb_double(double, double);
    static struct pt cb_struct(int, int);
    static void *cb_ptr(void *);
    static void cb_void(int);
    static long long cb_ll(long long);
    static int call_schar(signed char c) { return cb_schar(c); }
    static int call_ushort(unsigned short c) { return cb_ushort(c); }
    static int call_bool(int x) { return cb_bool(x); }
    static double call_float(float x) { return cb_float(x); }
    static double call_double(double a, double b) { return cb_double(a, b); }
    static int call_struct(int x, int y) { struct pt p = cb_struct(x, y); return p.x * 100 + p.y; }
    static int marker;
    static int call_ptr_is_same(void) { return cb_ptr(&marker) == &marker; }
    static void call_void(int x) { cb_void(x); }
    static long long call_ll(long long x) { return cb_ll(x); }
"""


def test_extern_python_results_of_every_shape_match_cffi(tmp_path):
    outcomes = []
    for mod in build_both(tmp_path, EXTERN_CDEF, EXTERN_SOURCE):
        ffi, lib = mod.ffi, mod.lib
        seen = []
        ffi.def_extern(name="cb_schar")(lambda c: -c - 1)
        ffi.def_extern(name="cb_ushort")(lambda c: c + 1)
        ffi.def_extern(name="cb_bool")(lambda x: x > 0)
        ffi.def_extern(name="cb_float")(lambda x: x * 2)
        ffi.def_extern(name="cb_double")(lambda a, b: a - b)
        ffi.def_extern(name="cb_struct")(lambda x, y: {"x": y, "y": x})
        ffi.def_extern(name="cb_ptr")(lambda p: p)
        ffi.def_extern(name="cb_void")(seen.append)
        ffi.def_extern(name="cb_ll")(lambda x: x * 3)
        lib.call_void(5)
        outcomes.append((lib.call_schar(5), lib.call_schar(-128), lib.call_ushort(65534),
                         lib.call_bool(3), lib.call_bool(-3), lib.call_float(1.25),
                         lib.call_double(1.5, 0.25), lib.call_struct(3, 4),
                         lib.call_ptr_is_same(), seen, lib.call_ll(-2**40)))
    assert outcomes[0] == outcomes[1]


def test_extern_python_errors_and_replacement_match_cffi(tmp_path, capfd, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_type))
    outcomes = []
    for mod in build_both(tmp_path, EXTERN_CDEF, EXTERN_SOURCE):
        ffi, lib = mod.ffi, mod.lib
        del reported[:]
        capfd.readouterr()
        nothing = lib.call_schar(1)                   # nothing attached: 0
        err = capfd.readouterr().err
        ffi.def_extern(name="cb_schar", error=7)(lambda c: 1 // 0)
        with_error = lib.call_schar(1)                # raised: the error value
        ffi.def_extern(name="cb_schar")(lambda c: 300)   # out of range: reported, 0
        out_of_range = lib.call_schar(1)
        ffi.def_extern(name="cb_schar")(lambda c: c * 2)  # replaced
        replaced = lib.call_schar(4)
        outcomes.append((nothing, "no code was attached" in err, with_error, out_of_range,
                         replaced, list(reported), ffi.typeof(lib.cb_schar) is
                         ffi.typeof("signed char(*)(signed char)")))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][5] == [ZeroDivisionError, OverflowError]


def test_wrong_global_size_fails_the_build(tmp_path):
    """As cffi (whose generated code does not compile then): the compiler checks the
    size the cdef gives a global variable."""
    for cdef, source in (("extern short glob;", "long glob;"),
                         ("extern int glob[10];", "int glob[9];")):
        with pytest.raises(VerificationError, match="global variable 'glob' has size"):
            build(tmp_path, cdef, source)


def test_wrong_struct_and_constant_reported_at_use(tmp_path):
    mod_n, mod_c = build_both(tmp_path, "struct s { int a; int b; };\n#define FOO 41\n"
                                        "int f(int);",
                              "struct s { int a; long long b; };\n#define FOO 42\n"
                              "static int f(int x) { return x; }")
    messages = []
    for mod in (mod_n, mod_c):
        assert mod.lib.f(3) == 3
        with pytest.raises(mod.ffi.error) as e1:
            mod.ffi.new("struct s *")
        with pytest.raises(mod.ffi.error) as e2:
            mod.lib.FOO
        messages.append((str(e1.value), str(e2.value)))
    assert messages[0] == messages[1]
    assert "wrong size for field 'b'" in messages[0][0]
    assert "'FOO' is equal to 42" in messages[0][1]


def test_variadic_and_extern_are_function_pointers(tmp_path):
    cdef = 'int printf(const char *, ...); extern "Python" int cb(int);'
    source = "#include <stdio.h>\nstatic int cb(int);"
    mod_n, mod_c = build_both(tmp_path, cdef, source)
    for mod in (mod_n, mod_c):
        ffi, lib = mod.ffi, mod.lib
        assert ffi.typeof(lib.printf) is ffi.typeof("int(*)(char *, ...)")
        assert ffi.typeof(lib.cb) is ffi.typeof("int(*)(int)")
        assert ffi.addressof(lib, "cb") == lib.cb


@pytest.mark.parametrize("cdef, source", [
    ("int f(void); int g(void);", "static int f(void) { return 1; } "
                                  "static int g(void) { return 2; }"),
    ("extern int counter;", "int counter;"),
    ('extern "Python" int cb(int);', "static int cb(int);"),
    ("#define K 3", "#define K 3"),
])
def test_generated_code_is_warning_free_in_every_shape(tmp_path, cdef, source):
    import subprocess
    import sysconfig
    ffi = nffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source("_shape_warn", source)
    c_file = tmp_path / "_shape_warn.c"
    ffi.emit_c_code(str(c_file))
    proc = subprocess.run(["gcc", "-c", "-o", str(tmp_path / "x.o"), "-Wall", "-Wextra",
                           "-Werror", "-I" + sysconfig.get_paths()["include"], str(c_file)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr


def test_same_spelling_other_ctype_does_not_share_a_body(tmp_path):
    """'int(*)(int)' of two calling conventions: spelled alike in C, two ctypes."""
    cdef = ("int call1(int(__cdecl *cb)(int));\n"
            "int call2(int(__stdcall *cb)(int));")
    source = ("static int call1(int(*cb)(int)) { return cb(3); }\n"
              "static int call2(int(*cb)(int)) { return cb(4); }")
    mod = build(tmp_path, cdef, source)
    ffi, lib = mod.ffi, mod.lib
    cb1 = ffi.callback("int(__cdecl *)(int)", lambda x: x * 10)
    cb2 = ffi.callback("int(__stdcall *)(int)", lambda x: x * 100)
    assert lib.call1(cb1) == 30 and lib.call2(cb2) == 400


def test_introspection_never_reads_the_declarations(tmp_path):
    """Tools walk sys.modules and probe lib.__file__ & co (hypothesis does): that reads
    nothing, so a module whose declarations fail to load only fails where it is used."""
    mod = build(tmp_path, "struct s { int a; };\n#define FOO 1", "struct s { int a; };\n#define FOO 1")
    lib = mod.lib
    for name in ("__file__", "__path__", "__wrapped__", "__test__"):
        assert getattr(lib, name, None) is None
    assert not mod.ffi._nffi_loaded
    assert lib.FOO == 1 and mod.ffi._nffi_loaded
