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
              "MANIFEST.in", "src/nffi-compat.pth",
              ".ci/run", ".ci/sanitize", ".ci/pythons", ".ci/conformance",
              ".ci/conformance-floor"}
    suffixes = {"src/nffi": (".py", ".c", ".h"), "tests": (".py", ".c"),
                "docs": (".md",), "benchmarks": (".py", ".c", ".md"), "tools": (".py",)}
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
        ".pytest_cache", ".fuzz-cdef-*"))
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
                   "src/_nffi_compat_hook.py"):
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
