"""setuptools integration (nffi/setuptools_ext.py), pkg-config (nffi/pkgconfig.py),
distutils_extension(), set_source_pkgconfig() and the cffi shim package.

Builds run ``python setup.py ...`` in child processes.  nffi's setup keywords are entry
points of its installed distribution; so that these tests use the nffi under test
without installing it, a minimal ``nffi_keywords-0.dist-info`` carrying the same
entry points as pyproject.toml is put on the children's path.

The ``network`` tests (skipped unless NFFI_TEST_NETWORK=1) install nffi itself into
fresh virtual environments and build packages with pip.
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)
from conftest import NFFI_PARENT  # noqa: E402

import nffi  # noqa: E402
from nffi import pkgconfig  # noqa: E402

ROOT = os.path.dirname(TESTS_DIR)


def _entry_points_of_pyproject():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        text = f.read()
    section = text.split('[project.entry-points."distutils.setup_keywords"]')[1]
    section = section.split("\n[")[0]
    return [line.strip().replace('"', "") for line in section.splitlines()
            if "=" in line and not line.startswith("#")]


@pytest.fixture(scope="module")
def keywords_dir(tmp_path_factory):
    """A directory holding a dist-info that registers nffi's setup keywords."""
    directory = tmp_path_factory.mktemp("keywords")
    info = directory / "nffi_keywords-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nffi-keywords\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[distutils.setup_keywords]\n" + "\n".join(_entry_points_of_pyproject()) + "\n")
    return str(directory)


def run_setup(project, args, keywords_dir, compat=False):
    env = {k: v for k, v in os.environ.items() if k not in ("NFFI_COMPAT", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([keywords_dir, NFFI_PARENT])
    if compat:
        env["NFFI_COMPAT"] = "1"
    return subprocess.run([sys.executable, "setup.py"] + args, cwd=str(project), env=env,
                          capture_output=True, text=True, timeout=300)


def run_python(project, code, compat=False):
    env = {k: v for k, v in os.environ.items() if k not in ("NFFI_COMPAT", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(project), NFFI_PARENT])
    if compat:
        env["NFFI_COMPAT"] = "1"
    return subprocess.run([sys.executable, "-c", code], cwd=str(project), env=env,
                          capture_output=True, text=True, timeout=120)


def make_project(path, keyword, import_line, abi=False):
    """A package 'pkg' with a build script declaring an API-mode module pkg._api
    (or an out-of-line module pkg._abi)."""
    (path / "pkg").mkdir()
    (path / "pkg" / "__init__.py").write_text("")
    if abi:
        build = """
            ffi.cdef("int abs(int); size_t strlen(const char *);")
            ffi.set_source("pkg._abi", None)
        """
    else:
        build = """
            ffi.cdef("int triple(int); size_t strlen(const char *);")
            ffi.set_source("pkg._api", "static int triple(int x) { return 3 * x; }\\n"
                                       "#include <string.h>")
        """
    (path / "pkg" / "_build.py").write_text(textwrap.dedent("""
        %s
        ffi = FFI()
    """ % import_line) + textwrap.dedent(build))
    (path / "setup.py").write_text(textwrap.dedent("""
        from setuptools import setup
        setup(name="pkg", version="0.1", packages=["pkg"],
              %s=["pkg/_build.py:ffi"])
    """ % keyword))
    return path


CHECK_API = ("import pkg._api as m, sys; print(m.lib.triple(14), m.lib.strlen(b'abcd'), "
             "type(m.ffi).__module__, 'nffi' in sys.modules)")
CHECK_ABI = ("import pkg._abi as m, sys; lib = m.ffi.dlopen(None); "
             "print(lib.abs(-42), lib.strlen(b'abcd'), type(m.ffi).__module__)")


def test_nffi_modules_api_inplace(tmp_path, keywords_dir):
    project = make_project(tmp_path, "nffi_modules", "from nffi import FFI")
    result = run_setup(project, ["build_ext", "--inplace"], keywords_dir)
    assert result.returncode == 0, result.stderr
    assert any(name.startswith("_api.") and name.endswith(".so")
               for name in os.listdir(project / "pkg"))
    check = run_python(project, CHECK_API)
    assert check.stdout.split() == ["42", "4", "nffi.apimodule", "True"], check.stderr


def test_nffi_modules_api_build_runs_pre_run_hook(tmp_path, keywords_dir):
    project = make_project(tmp_path, "nffi_modules", "from nffi import FFI")
    (project / "setup.py").write_text(textwrap.dedent("""
        from setuptools import setup
        from setuptools.command.build_ext import build_ext

        class Hooked(build_ext):
            def pre_run(self, ext, ffi):
                open("pre_run_saw_" + ext.name, "w").close()

        setup(name="pkg", version="0.1", packages=["pkg"],
              nffi_modules=["pkg/_build.py:ffi"], cmdclass={"build_ext": Hooked})
    """))
    result = run_setup(project, ["build"], keywords_dir)
    assert result.returncode == 0, result.stderr
    assert (project / "pre_run_saw_pkg._api").exists()
    built = [os.path.join(d, f) for d, _, files in os.walk(project / "build")
             for f in files if f.startswith("_api.") and f.endswith(".so")]
    assert len(built) == 1


def test_nffi_modules_out_of_line(tmp_path, keywords_dir):
    project = make_project(tmp_path, "nffi_modules", "from nffi import FFI", abi=True)
    result = run_setup(project, ["build"], keywords_dir)
    assert result.returncode == 0, result.stderr
    generated = project / "build" / "lib" / "pkg" / "_abi.py"
    assert generated.read_text().startswith("# auto-generated file\nimport _cffi_backend\n")
    assert not (project / "pkg" / "_abi.py").exists()
    result = run_setup(project, ["build_ext", "--inplace"], keywords_dir)
    assert result.returncode == 0, result.stderr
    assert (project / "pkg" / "_abi.py").read_text() == generated.read_text()
    # loads on nffi (through compat) and on the real cffi
    check = run_python(project, CHECK_ABI, compat=True)
    assert check.stdout.split() == ["42", "4", "nffi.compat"], check.stderr
    check = run_python(project, CHECK_ABI)
    assert check.stdout.split() == ["42", "4", "_cffi_backend"], check.stderr


def test_cffi_modules_with_nffi_compat(tmp_path, keywords_dir):
    """An unchanged cffi package; NFFI_COMPAT=1 in the build: nffi builds it (the real
    cffi is installed here, and its own cffi_modules entry point reaches nffi's)."""
    project = make_project(tmp_path, "cffi_modules", "from cffi import FFI")
    result = run_setup(project, ["build_ext", "--inplace"], keywords_dir, compat=True)
    assert result.returncode == 0, result.stderr
    assert "generating nffi module" in result.stdout + result.stderr
    check = run_python(project, CHECK_API)
    assert check.stdout.split() == ["42", "4", "nffi.apimodule", "True"], check.stderr


def test_cffi_modules_without_compat_left_to_real_cffi(tmp_path, keywords_dir):
    project = make_project(tmp_path, "cffi_modules", "from cffi import FFI")
    result = run_setup(project, ["build_ext", "--inplace"], keywords_dir)
    assert result.returncode == 0, result.stderr
    assert "generating nffi module" not in result.stdout + result.stderr
    check = run_python(project, "import pkg._api as m, sys; print(m.lib.triple(2), "
                                "'nffi' in sys.modules)")
    assert check.stdout.split() == ["6", "False"], check.stderr


def test_bad_module_specs(tmp_path, keywords_dir):
    project = make_project(tmp_path, "nffi_modules", "from nffi import FFI")
    for spec, message in [("pkg/_build.py", "must be of the form"),
                          ("pkg/_nothere.py:ffi", "does not name an existing file"),
                          ("pkg/_build.py:nope", "object 'nope' not found")]:
        (project / "setup.py").write_text(
            "from setuptools import setup\nsetup(name='pkg', version='0.1', "
            "packages=['pkg'], nffi_modules=[%r])\n" % spec)
        result = run_setup(project, ["build"], keywords_dir)
        assert result.returncode != 0
        assert message in result.stderr, result.stderr


# ---- distutils_extension, set_source_pkgconfig, pkgconfig ---------------------------------

def test_distutils_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ffi = nffi.FFI()
    ffi.cdef("int abs(int);")
    ffi.set_source("pkg.mod", "#include <stdlib.h>", libraries=["m"])
    ext = ffi.distutils_extension()
    assert ext.name == "pkg.mod"
    assert ext.sources == [os.path.join("build", "pkg", "mod.c")]
    assert ext.libraries == ["m"]
    assert "abs" in (tmp_path / "build" / "pkg" / "mod.c").read_text()
    abi = nffi.FFI()
    abi.set_source("x", None)
    with pytest.raises(TypeError):
        abi.distutils_extension()
    with pytest.raises(ValueError):
        nffi.FFI().distutils_extension()


def test_pkgconfig_flags_and_errors(monkeypatch):
    outputs = {"--cflags": "-I/opt/x/include -DABCD -DLEVEL=2 -O1\n",
               "--libs": "-L/opt/x/lib -lx -Wl,--as-needed\n"}
    monkeypatch.setattr(pkgconfig, "call", lambda lib, flag: outputs[flag])
    assert pkgconfig.flags_from_pkgconfig(["x"]) == {
        "include_dirs": ["/opt/x/include"], "library_dirs": ["/opt/x/lib"],
        "libraries": ["x"], "define_macros": [("ABCD", None), ("LEVEL", "2")],
        "extra_compile_args": ["-O1"], "extra_link_args": ["-Wl,--as-needed"]}
    ffi = nffi.FFI()
    ffi.set_source_pkgconfig("m", ["x"], "/* C */", libraries=["y"])
    assert ffi._nffi_source[3]["libraries"] == ["x", "y"]
    with pytest.raises(TypeError):
        ffi.set_source_pkgconfig("m", [], "")


def test_pkgconfig_missing_package_and_program(monkeypatch):
    if subprocess.run(["which", "pkg-config"], capture_output=True).returncode == 0:
        with pytest.raises(nffi.PkgConfigError, match="nffi_no_such_package"):
            pkgconfig.flags_from_pkgconfig(["nffi_no_such_package"])
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(nffi.PkgConfigError, match="cannot run pkg-config"):
        pkgconfig.call("libffi", "--cflags")


def test_pkgconfig_real_package():
    if subprocess.run(["pkg-config", "--exists", "libffi"]).returncode != 0:
        pytest.skip("pkg-config or libffi's .pc file is missing")
    flags = pkgconfig.flags_from_pkgconfig(["libffi"])
    assert "ffi" in flags["libraries"]


# ---- the cffi shim package -------------------------------------------------------------

SHIM_CHECK = """
import sys
import cffi, _cffi_backend
import cffi.setuptools_ext, cffi.pkgconfig, cffi.recompiler, cffi.ffiplatform
import cffi.verifier, cffi.api, cffi.error, cffi.model
import nffi.setuptools_ext, nffi.pkgconfig, nffi.verifier
print(cffi.nffi, cffi.setuptools_ext is nffi.setuptools_ext,
      cffi.pkgconfig is nffi.pkgconfig, cffi.verifier is nffi.verifier,
      cffi.api.FFI is cffi.FFI, cffi.error.VerificationError is cffi.VerificationError,
      type(_cffi_backend.FFI()).__module__,
      hasattr(cffi.recompiler, "make_py_source"), hasattr(cffi.recompiler, "Recompiler"))
"""


def test_shim_directory_gives_nffi_to_fresh_interpreters():
    """What cffi's own tests do: put dirname(dirname(cffi.__file__)) first on a child's
    path; its 'import cffi' must give nffi again (not the real cffi installed here)."""
    from nffi import compat
    env = {k: v for k, v in os.environ.items() if k not in ("NFFI_COMPAT", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([compat.SHIM_DIR, NFFI_PARENT])
    result = subprocess.run([sys.executable, "-c", SHIM_CHECK], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.split() == ["True"] * 6 + ["nffi.compat", "True", "True"], \
        result.stderr


# ---- fresh virtual environments (network: pip installs setuptools and nffi's build needs)

def _venv(path, system_site_packages=False):
    args = [sys.executable, "-m", "venv", str(path)]
    if system_site_packages:
        args.insert(3, "--system-site-packages")
    subprocess.run(args, check=True, timeout=300)
    python = str(path / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "setuptools>=77", "wheel"],
                   check=True, timeout=600)
    return python


def _pip(python, *args, cwd=None, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("NFFI_COMPAT", "PYTHONPATH")}
    env.update(env_extra or {})
    return subprocess.run([python, "-m", "pip"] + list(args), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def nffi_wheel(tmp_path_factory):
    """A wheel of the nffi under test (its core built once)."""
    if os.environ.get("NFFI_TEST_NETWORK", "0") in ("", "0"):
        pytest.skip("needs the network: set NFFI_TEST_NETWORK=1")
    out = tmp_path_factory.mktemp("wheel")
    result = _pip(sys.executable, "wheel", "--no-deps", "-w", str(out), ROOT)
    assert result.returncode == 0, result.stderr
    return [str(p) for p in out.iterdir() if p.name.endswith(".whl")][0]


@pytest.mark.network
@pytest.mark.parametrize("mode", ["install", "no-build-isolation", "editable", "wheel"])
def test_pip_builds_an_unchanged_cffi_package_with_nffi(tmp_path, nffi_wheel, mode):
    """Real cffi absent: nffi installed, then the package (cffi_modules=, API mode and
    an out-of-line module) with pip; its [build-system] requires nffi instead of cffi."""
    python = _venv(tmp_path / "venv")
    result = _pip(python, "install", "-q", nffi_wheel)
    assert result.returncode == 0, result.stderr
    (tmp_path / "project").mkdir()
    project = make_project(tmp_path / "project", "cffi_modules", "from cffi import FFI")
    (project / "pkg" / "_build_abi.py").write_text(textwrap.dedent("""
        from cffi import FFI
        ffi = FFI()
        ffi.cdef("int abs(int); size_t strlen(const char *);")
        ffi.set_source("pkg._abi", None)
    """))
    (project / "setup.py").write_text(textwrap.dedent("""
        from setuptools import setup
        setup(name="pkg", version="0.1", packages=["pkg"],
              cffi_modules=["pkg/_build.py:ffi", "pkg/_build_abi.py:ffi"])
    """))
    wheel_dir = os.path.dirname(nffi_wheel)
    (project / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=77", "nffi"]
        build-backend = "setuptools.build_meta"
    """))
    extra = ["--find-links", wheel_dir]
    if mode == "install":
        result = _pip(python, "install", *extra, ".", cwd=str(project))
    elif mode == "no-build-isolation":
        result = _pip(python, "install", "--no-build-isolation", ".", cwd=str(project))
    elif mode == "editable":
        result = _pip(python, "install", "--no-build-isolation", "-e", ".",
                      cwd=str(project))
    else:
        result = _pip(python, "wheel", *extra, "--no-deps", "-w", "dist", ".",
                      cwd=str(project))
        assert result.returncode == 0, result.stderr
        built = [p for p in os.listdir(project / "dist") if p.startswith("pkg-")]
        result = _pip(python, "install", str(project / "dist" / built[0]))
    assert result.returncode == 0, result.stdout + result.stderr
    check = subprocess.run([python, "-c", CHECK_API + "\n" + CHECK_ABI.replace(
        "import pkg._abi as m, sys;", "import nffi.compat; nffi.compat.install(); "
        "import pkg._abi as m;")], cwd=str(tmp_path), capture_output=True, text=True,
        timeout=120)
    assert check.stdout.split() == ["42", "4", "nffi.apimodule", "True",
                                    "42", "4", "nffi.compat"], check.stderr
    has_cffi = subprocess.run([python, "-c", "import importlib.util as u; "
                               "print(u.find_spec('_cffi_backend'))"],
                              capture_output=True, text=True)
    assert has_cffi.stdout.strip() == "None"        # no _cffi_backend anywhere


# ---- nffi in place of the cffi distribution (nffi/cffi_dist.py) ----------------------------

def test_provide_and_unprovide_cffi(tmp_path):
    from nffi import cffi_dist
    site = str(tmp_path)
    dist_info = cffi_dist.provide(site)
    names = sorted(os.listdir(site))
    assert names == ["cffi-2.0.0.dist-info", "nffi-provides-cffi.pth"]
    record = open(os.path.join(dist_info, "RECORD")).read().split()
    assert sorted(line.split(",")[0] for line in record) == [
        "cffi-2.0.0.dist-info/INSTALLER", "cffi-2.0.0.dist-info/METADATA",
        "cffi-2.0.0.dist-info/RECORD", "nffi-provides-cffi.pth"]
    # importlib.metadata sees cffi 2.0.0, and the .pth line is the shim directory
    from importlib import metadata
    dists = [d for d in metadata.distributions(path=[site]) if d.metadata["Name"] == "cffi"]
    assert [d.version for d in dists] == ["2.0.0"]
    from nffi.compat import SHIM_DIR
    assert open(os.path.join(site, "nffi-provides-cffi.pth")).read() == SHIM_DIR + "\n"
    assert cffi_dist.provide(site) == dist_info           # again: replaced, not doubled
    assert len(cffi_dist.unprovide(site)) == 2
    assert os.listdir(site) == []
    assert cffi_dist.unprovide(site) == []


def test_provide_refuses_a_real_cffi(tmp_path):
    from nffi import cffi_dist
    real = tmp_path / "cffi-1.17.1.dist-info"
    real.mkdir()
    (real / "INSTALLER").write_text("pip\n")
    with pytest.raises(RuntimeError, match="a real cffi is installed"):
        cffi_dist.provide(str(tmp_path))
    assert cffi_dist.unprovide(str(tmp_path)) == []
    assert real.exists()


def test_no_cffi_backend_shared_object_in_nffi():
    package = os.path.dirname(nffi.__file__)
    found = [os.path.join(d, f) for d, _, files in os.walk(package) for f in files
             if f.startswith("_cffi_backend") and not f.endswith((".py", ".pyc"))]
    assert found == []


def test_check_reports_a_real_backend(tmp_path):
    """'python -m nffi.compat check' names the real _cffi_backend on the path (this
    interpreter has cffi installed) and fails when it is loaded beside nffi.compat."""
    env = {k: v for k, v in os.environ.items() if k not in ("NFFI_COMPAT", "PYTHONPATH")}
    env["PYTHONPATH"] = NFFI_PARENT
    result = subprocess.run([sys.executable, "-m", "nffi.compat", "check"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert re.search(r"real _cffi_backend on sys.path: .*_cffi_backend\.", result.stdout)
    code = ("import warnings; warnings.simplefilter('error')\n"
            "import importlib.util, sys\n"
            "spec = importlib.util.find_spec('_cffi_backend')\n"
            "real = importlib.util.module_from_spec(spec); spec.loader.exec_module(real)\n"
            "sys.modules['_cffi_backend'] = real\n"
            "import nffi.compat\n"
            "try:\n    nffi.compat.install()\nexcept RuntimeWarning as w:\n"
            "    print('warned', 'real _cffi_backend' in str(w))\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.split() == ["warned", "True"], result.stderr


@pytest.mark.network
def test_provide_cffi_satisfies_requirements_in_a_venv(tmp_path, nffi_wheel):
    """No real cffi: provide-cffi, then pip installs a package that requires cffi
    (install_requires) without fetching it; the package imports cffi and an out-of-line
    module at run time with no NFFI_COMPAT; pip uninstall cffi removes the record."""
    python = _venv(tmp_path / "venv")
    assert _pip(python, "install", "-q", nffi_wheel).returncode == 0
    provide = subprocess.run([python, "-m", "nffi.compat", "provide-cffi"],
                             capture_output=True, text=True, timeout=120)
    assert provide.returncode == 0, provide.stderr
    (tmp_path / "project").mkdir()
    project = make_project(tmp_path / "project", "cffi_modules", "from cffi import FFI",
                           abi=True)
    (project / "setup.py").write_text(textwrap.dedent("""
        from setuptools import setup
        setup(name="pkg", version="0.1", packages=["pkg"], install_requires=["cffi>=1.0"],
              cffi_modules=["pkg/_build.py:ffi"])
    """))
    result = _pip(python, "install", "--no-build-isolation", "--no-index", ".",
                  cwd=str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    check = subprocess.run([python, "-c", "import cffi; print(cffi.nffi);" + CHECK_ABI],
                           cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert check.stdout.split() == ["True", "42", "4", "nffi.compat"], check.stderr
    result = _pip(python, "uninstall", "-y", "cffi")
    assert result.returncode == 0, result.stderr
    gone = subprocess.run([python, "-c", "import importlib.util as u; "
                           "print(u.find_spec('cffi'))"], capture_output=True, text=True)
    assert gone.stdout.strip() == "None"
