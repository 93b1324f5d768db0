"""nffi.build: the build engine of API mode (and of rffi's ExternalCompilationInfo)."""
import importlib.util
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from conftest import NFFI_PARENT

from nffi import FFI, VerificationError, build

EXT_SOURCE = r"""
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *noargs) { return PyLong_FromLong(ANSWER); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "%s", NULL, -1, methods};
PyMODINIT_FUNC PyInit_%s(void) { return PyModule_Create(&def); }
"""


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_extension_with_macros_and_cache(tmp_path):
    src = _write(tmp_path, "m1.c", EXT_SOURCE % ("m1", "m1"))
    path = build.build_extension("m1", [src], tmpdir=tmp_path,
                                 define_macros=[("ANSWER", "42")])
    assert path.endswith(sysconfig.get_config_var("EXT_SUFFIX"))
    assert _load("m1", path).answer() == 42
    first = os.stat(path).st_mtime_ns
    # unchanged: not rebuilt
    assert build.build_extension("m1", [src], tmpdir=tmp_path,
                                 define_macros=[("ANSWER", "42")]) == path
    assert os.stat(path).st_mtime_ns == first
    # a different option: rebuilt
    build.build_extension("m1", [src], tmpdir=tmp_path, define_macros=[("ANSWER", "43")])
    assert os.stat(path).st_mtime_ns != first


def test_depends_change_rebuilds(tmp_path):
    header = _write(tmp_path, "answer.h", "#define ANSWER 7\n")
    src = _write(tmp_path, "m2.c", '#include "answer.h"\n' + EXT_SOURCE % ("m2", "m2"))
    path = build.build_extension("m2", [src], tmpdir=tmp_path, include_dirs=[tmp_path],
                                 depends=[header])
    first = os.stat(path).st_mtime_ns
    _write(tmp_path, "answer.h", "#define ANSWER 8\n")
    build.build_extension("m2", [src], tmpdir=tmp_path, include_dirs=[tmp_path],
                          depends=[header])
    assert os.stat(path).st_mtime_ns != first


def test_dotted_name_and_target(tmp_path):
    src = _write(tmp_path, "m3.c", EXT_SOURCE % ("pkg.m3", "m3"))
    path = build.build_extension("pkg.m3", [src], tmpdir=tmp_path,
                                 define_macros=[("ANSWER", "1")])
    assert os.path.basename(path).startswith("m3.")
    path = build.build_extension("pkg.m3", [src], tmpdir=tmp_path, target="m3.so",
                                 define_macros=[("ANSWER", "1")])
    assert path == os.path.join(str(tmp_path), "m3.so")


def test_compiler_error_names_file_and_line(tmp_path):
    src = _write(tmp_path, "bad.c", "int f(void) {\n  return undefined_thing;\n}\n")
    with pytest.raises(VerificationError) as e:
        build.build_shared_library("bad", [src], tmpdir=tmp_path)
    assert "bad.c:2" in str(e.value)
    assert "undefined_thing" in str(e.value)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".nffi-")]


def test_missing_compiler_names_debian_packages(tmp_path, monkeypatch):
    src = _write(tmp_path, "x.c", "int f(void) { return 1; }\n")
    real = sysconfig.get_config_var

    def fake(name):
        if name in ("CC", "LDSHARED"):
            return "nffi-no-such-compiler -shared"
        return real(name)
    monkeypatch.setattr(sysconfig, "get_config_var", fake)
    with pytest.raises(VerificationError) as e:
        build.build_shared_library("x", [src], tmpdir=tmp_path)
    assert "gcc" in str(e.value) and "python3-dev" in str(e.value)
    assert "nffi-no-such-compiler" in str(e.value)


def test_shared_library_loads_in_abi_mode(tmp_path):
    src = _write(tmp_path, "lib.c", "int twice(int x) { return 2 * x + OFFSET; }\n")
    path = build.build_shared_library("twice", [src], tmpdir=tmp_path,
                                      define_macros=[("OFFSET", "1")])
    assert os.path.basename(path) == "libtwice.so"
    ffi = FFI()
    ffi.cdef("int twice(int);")
    assert ffi.dlopen(path).twice(20) == 41


def test_cplusplus_source(tmp_path):
    src = _write(tmp_path, "lib.cpp", textwrap.dedent("""
        #include <vector>
        extern "C" int count3(void) { std::vector<int> v(3); return (int)v.size(); }
    """))
    path = build.build_shared_library("cpp", [src], tmpdir=tmp_path)
    ffi = FFI()
    ffi.cdef("int count3(void);")
    assert ffi.dlopen(path).count3() == 3


def test_unknown_option_is_an_error(tmp_path):
    src = _write(tmp_path, "x.c", "int f(void) { return 1; }\n")
    with pytest.raises(TypeError, match="bogus"):
        build.build_shared_library("x", [src], tmpdir=tmp_path, bogus=1)


def test_two_processes_build_the_same_module(tmp_path):
    src = _write(tmp_path, "m4.c", EXT_SOURCE % ("m4", "m4"))
    script = textwrap.dedent("""
        import sys
        from nffi import build
        p = build.build_extension("m4", [%r], tmpdir=%r, define_macros=[("ANSWER", "5")])
        import importlib.util
        spec = importlib.util.spec_from_file_location("m4", p)
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        assert m.answer() == 5
    """ % (src, str(tmp_path)))
    # the nffi under test first (an installed one, or this tree's src/ with its core)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([NFFI_PARENT] + sys.path))
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
