"""Packaging: the metadata, the version in one place, what the sdist and the wheel hold.

The sdist and the wheel are built once per run (``python -m build --no-isolation`` on a
copy of the tree: the installed setuptools, no download), and their file lists checked:
the sdist carries everything the test suite needs, the wheel no C sources.  The build
itself must not warn.

``NFFI_TEST_SDIST=1`` also installs the sdist with its test extra into a fresh virtual
environment and runs the whole test suite from the unpacked sdist against that install
(a few minutes: not part of the default run).
"""
import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile

import pytest

import nffi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


# ---- metadata ---------------------------------------------------------------------------

def test_version_is_written_once():
    project = pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert (pyproject()["tool"]["setuptools"]["dynamic"]["version"]
            == {"attr": "nffi.__version__"})
    # setuptools reads the literal without importing nffi: it must stay a literal
    tree = ast.parse(read("src/nffi/__init__.py"))
    literals = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
                and isinstance(node.value, ast.Constant)]
    assert literals == [nffi.__version__]
    assert nffi.__version_info__ == tuple(int(x) for x in nffi.__version__.split("."))


def test_license_and_classifiers():
    project = pyproject()["project"]
    assert project["license"] == "MIT"          # an SPDX expression, not a table
    assert project["license-files"] == ["LICENSE"]
    assert read("LICENSE").startswith("MIT License\n")
    classifiers = project["classifiers"]
    # with an SPDX expression, a 'License ::' classifier is redundant (and refused)
    assert not [c for c in classifiers if c.startswith("License ::")]
    minimum = re.fullmatch(r">=3\.(\d+)", project["requires-python"]).group(1)
    versions = sorted(int(c.rsplit(".", 1)[1]) for c in classifiers
                      if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    assert versions[0] == int(minimum) and versions == list(range(versions[0],
                                                                  versions[-1] + 1))


def test_changelog_has_the_current_version():
    assert re.search(r"^## %s\b" % re.escape(nffi.__version__), read("CHANGELOG.md"), re.M)


# ---- the sdist and the wheel ----------------------------------------------------------------

def _build_tools_missing():
    if importlib.util.find_spec("build") is None:
        return "the 'build' package is not installed (pip install -e '.[test]')"
    import setuptools
    if int(setuptools.__version__.split(".")[0]) < 77:
        return ("setuptools %s is older than the build requirement (>= 77; "
                "pip install -e '.[test]')" % setuptools.__version__)
    return None


def _source_files(root):
    """What the sdist must hold: the files of the tree that building and testing use."""
    wanted = {"README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml", "setup.py",
              "MANIFEST.in", "src/nffi-compat.pth", "src/_nffi_compat_hook.py",
              ".ci/run", ".ci/sanitize", ".ci/pythons", ".ci/conformance",
              ".ci/conformance-floor"}
    suffixes = {"src/nffi": (".py", ".c", ".h", ".pyi", "py.typed"),
                "tests": (".py", ".c", ".h"), "docs": (".md", ".rst", "conf.py"),
                "benchmarks": (".py", ".c", ".md"), "tools": (".py",)}
    for top, endings in suffixes.items():
        for directory, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            relative = os.path.relpath(directory, root)
            wanted.update(os.path.join(relative, name) for name in files
                          if name.endswith(endings))
    return wanted


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(sdist path, wheel path, build output, the copy of the tree they were built from)."""
    missing = _build_tools_missing()
    if missing:
        pytest.skip(missing)
    work = tmp_path_factory.mktemp("dist")
    tree = work / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "__pycache__", ".hypothesis", "*.so", "*.o",
        ".pytest_cache", ".fuzz-cdef-*", "_build"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                             str(work / "out"), str(tree)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sdist, = (work / "out").glob("nffi-*.tar.gz")
    wheel, = (work / "out").glob("nffi-*.whl")
    return sdist, wheel, result.stdout + result.stderr, str(tree)


def test_build_does_not_warn(dists):
    output = dists[2]
    warnings = [line for line in output.splitlines()
                if re.search(r"warn", line, re.I)]
    assert warnings == [], "\n".join(warnings)


def test_sdist_holds_what_the_tests_need(dists):
    sdist = dists[0]
    prefix = "nffi-%s/" % nffi.__version__
    with tarfile.open(sdist) as tar:
        names = {name[len(prefix):] for name in tar.getnames() if name.startswith(prefix)}
    missing = _source_files(dists[3]) - names
    assert not missing, sorted(missing)
    for needed in ("tests/conftest.py", "tests/cc.py", "tests/clib/testlib.c",
                   "docs/guide.md", "benchmarks/run.py", "src/nffi/_core/nffi_core.h",
                   "src/_nffi_compat_hook.py", "docs/conf.py", "docs/reference/nffi.rst",
                   "tests/typing_examples/libc_cdef.h", "src/nffi/_core.pyi",
                   "src/nffi/py.typed"):
        assert needed in names
    assert not [n for n in names if n.endswith((".so", ".o", ".pyc"))]


def test_wheel_holds_no_c_sources_but_the_api_header(dists):
    wheel = dists[1]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read("nffi-%s.dist-info/METADATA" % nffi.__version__).decode()
    # the one header it ships: what API-mode modules include (nffi.recompiler)
    assert "nffi/_core/nffi_capi.h" in names
    assert not [n for n in names if n.endswith((".c", ".h"))
                and n != "nffi/_core/nffi_capi.h"], names
    assert "nffi-compat.pth" in names                   # at the root of site-packages
    assert "_nffi_compat_hook.py" in names              # what it imports (NFFI_COMPAT)
    for typing_file in ("nffi/py.typed", "nffi/__init__.pyi", "nffi/_core.pyi"):
        assert typing_file in names
    assert [n for n in names if re.fullmatch(r"nffi/_core\..*\.so", n)]
    assert "nffi-%s.dist-info/licenses/LICENSE" % nffi.__version__ in names
    assert re.search(r"^Version: %s$" % re.escape(nffi.__version__), metadata, re.M)
    assert re.search(r"^License-Expression: MIT$", metadata, re.M)


@pytest.mark.skipif(not os.environ.get("NFFI_TEST_SDIST"),
                    reason="installs the sdist and runs the whole suite from it "
                           "(minutes): set NFFI_TEST_SDIST=1")
def test_sdist_installs_and_passes_the_suite(dists, tmp_path):
    with tarfile.open(dists[0]) as tar:
        tar.extractall(tmp_path, filter="data")
    unpacked = tmp_path / ("nffi-%s" % nffi.__version__)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # the installed nffi only (not this tree's), and the same oracle as here
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NFFI_TEST_SDIST")}
    import cffi
    install = subprocess.run([python, "-m", "pip", "install", "-q", "%s[test]" % unpacked,
                              "cffi==%s" % cffi.__version__],
                             capture_output=True, text=True, env=env)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    where = subprocess.run([python, "-c", "import nffi; print(nffi.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert str(env_dir) in where.stdout, where
    suite = subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
                           capture_output=True, text=True, cwd=unpacked, env=env)
    assert suite.returncode == 0, suite.stdout[-5000:] + suite.stderr[-3000:]


# ---- import laziness, the native module's initialisation -----------------------------------

def _fresh(code):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(nffi.__file__)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


# what 'import nffi' must not import: the cdef parser and model (the first FFI() does),
# and the modules of API mode, headers, rffi and compat
LAZY_MODULES = ["nffi.cparser", "nffi.model", "nffi.decls", "nffi.registry", "nffi.layout",
                "nffi.lib", "nffi.headers", "nffi.build", "nffi.apimode", "nffi.recompiler",
                "nffi.rffi", "nffi.lltype", "nffi.compat", "dataclasses", "ctypes"]


def test_import_nffi_is_lazy():
    out = _fresh("import sys, nffi; print(sorted(set(%r) & set(sys.modules)))"
                 % (LAZY_MODULES,))
    assert out.strip() == "[]"
    # every public name is still there, and the first FFI() brings the model in
    out = _fresh("from nffi import *; from nffi import __all__, FFI; import sys; "
                 "print(all(name in globals() for name in __all__), "
                 "'nffi.model' in sys.modules, FFI().sizeof('int'), "
                 "'nffi.model' in sys.modules)")
    assert out.split() == ["True", "False", "4", "True"]


def test_core_reimport_shares_the_first_modules_objects():
    # multi-phase init: a second module object (re-import) gets the same types and
    # exception, not a second core
    out = _fresh("import sys, nffi._core as a; del sys.modules['nffi._core']; "
                 "import nffi._core as b; "
                 "print(a is b, a.FFIBase is b.FFIBase, a.CData is b.CData, "
                 "a.error is b.error, b.__spec__.name, a.__file__ == b.__file__, "
                 "b.cast(b.typeof(a.cast(a.new_primitive_type('int'), 1)), 7) == 7)")
    assert out.split() == ["False", "True", "True", "True", "nffi._core", "True", "True"]


# ---- docstrings and signatures of the public API -------------------------------------------

FFI_PUBLIC = sorted(name for name in dir(nffi.FFI) if not name.startswith("_"))


@pytest.mark.parametrize("name", FFI_PUBLIC)
def test_ffi_public_names_have_docstrings(name):
    import inspect
    obj = inspect.getattr_static(nffi.FFI, name)
    if isinstance(obj, (int, nffi.FFI.CData)):
        return                       # RTLD_* constants, NULL: documented in the class
    doc = getattr(obj, "__doc__", None)
    assert doc and doc.strip(), name
    if callable(getattr(nffi.FFI(), name)) and not isinstance(obj, type) or name == "buffer":
        inspect.signature(getattr(nffi.FFI(), name))     # raises if it has none


def test_c_methods_have_text_signatures():
    import inspect
    ffi = nffi.FFI()
    assert str(inspect.signature(ffi.new)) == "(cdecl, init=None)"
    assert str(inspect.signature(nffi.FFI.cast)) == "(self, /, cdecl, source)"
    assert str(inspect.signature(ffi.string)) == "(cdata, maxlen=-1)"
    assert str(inspect.signature(ffi.buffer)) == "(cdata, size=-1)"
    for name in ("typeof", "sizeof", "alignof"):
        assert str(inspect.signature(getattr(ffi, name))) == "(cdecl)"
    # the attributes of <ctype> are documented
    for name in ("kind", "cname", "item", "length", "fields", "args", "result",
                 "ellipsis", "abi", "elements", "relements"):
        assert getattr(nffi.FFI.CType, name).__doc__, name
    assert nffi.error.__doc__


SUBINTERPRETER_PROBE = """
try:
    import _interpreters as interpreters             # 3.13
except ImportError:
    import _xxsubinterpreters as interpreters        # 3.12
interp = interpreters.create()
try:
    failure = interpreters.run_string(interp, "import nffi._core")
except Exception as e:                               # 3.12 raises RunFailedError
    failure = e
print("does not support loading in subinterpreters" in str(failure))
"""


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Py_mod_multiple_interpreters: 3.12+")
def test_core_refuses_sub_interpreters():
    # the core's state is process-wide: a sub-interpreter gets a clear ImportError
    # instead of objects shared between interpreters
    assert _fresh(SUBINTERPRETER_PROBE).split() == ["True"]


@pytest.mark.parametrize("module_name", ["nffi", "nffi.compat", "nffi.stubgen",
                                         "_nffi_compat_hook"])
def test_public_functions_and_classes_have_docstrings(module_name):
    import importlib
    import inspect
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in dir(module)
                                                 if not n.startswith("_")]
    undocumented = [name for name in names
                    for obj in [getattr(module, name)]
                    if (inspect.isclass(obj) or inspect.isroutine(obj))
                    and getattr(obj, "__module__", None) in (module_name, "nffi")
                    and not (obj.__doc__ or "").strip()]
    assert undocumented == []
