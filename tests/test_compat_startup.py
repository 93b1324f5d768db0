"""Ways of running a program on nffi.compat: the NFFI_COMPAT environment variable (through
the nffi-compat.pth file that installation puts in site-packages), and
``python -m nffi.compat script.py`` / ``python -m nffi.compat -m module``.

Everything runs in fresh interpreters: compat is never installed in the test process.
"""
import os
import site
import subprocess
import sys
import sysconfig

import pytest

from conftest import NFFI_PARENT

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
SRC_DIR = os.path.join(os.path.dirname(TESTS_DIR), "src")
PTH_FILE = os.path.join(SRC_DIR, "nffi-compat.pth")

# prints what 'import cffi' gives and whether nffi was imported at all
REPORT = ("import sys; nffi_loaded = 'nffi' in sys.modules; import cffi, _cffi_backend; "
          "print(nffi_loaded, getattr(cffi, 'nffi', False), "
          "type(_cffi_backend.FFI()).__module__)")


def run(args, env_extra=None, cwd=None, pythonpath=NFFI_PARENT):
    env = {k: v for k, v in os.environ.items() if k not in ("NFFI_COMPAT", "PYTHONPATH")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)


# ---- NFFI_COMPAT --------------------------------------------------------------------------

@pytest.fixture
def site_dir(tmp_path):
    """A directory holding nffi-compat.pth, processed as a site-packages directory."""
    with open(PTH_FILE) as f:
        (tmp_path / "nffi-compat.pth").write_text(f.read())
    return str(tmp_path)


def with_site_dir(site_dir, code, isolated=False):
    # addsitedir() processes the .pth files of a directory the way start-up processes
    # those of site-packages (installing compat twice, if nffi is installed here with
    # its .pth too, is harmless: install() does nothing the second time)
    # isolated (-S): without the real site-packages, whose own nffi-compat.pth (of an
    # older install) may do something else
    return [*(["-S"] if isolated else []),
            "-c", "import site; site.addsitedir(%r); %s" % (site_dir, code)]


@pytest.mark.parametrize("value, installed", [
    ("1", True), ("yes", True), ("0", False), ("", False), (None, False)])
def test_nffi_compat_variable(site_dir, value, installed):
    env = {} if value is None else {"NFFI_COMPAT": value}
    # when installed, cffi is nffi's: the real site-packages is not needed
    result = run(with_site_dir(site_dir, REPORT, isolated=installed), env)
    assert result.returncode == 0, result.stderr
    if installed:
        # nffi is loaded by 'import cffi', not at start-up
        assert result.stdout.split() == ["False", "True", "nffi.compat"]
    else:
        # without the variable the .pth line imports nothing, and cffi is the real one
        assert result.stdout.split() == ["False", "False", "_cffi_backend"]


def test_nffi_compat_reaches_child_interpreters(site_dir):
    child = "import subprocess, sys; subprocess.run([sys.executable] + %r, check=True)" % (
        with_site_dir(site_dir, REPORT, isolated=True),)
    result = run(with_site_dir(site_dir, child, isolated=True), {"NFFI_COMPAT": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "nffi.compat"]


# what start-up leaves behind, then what each first import of a cffi name gives
LAZY_REPORT = """
import sys
loaded = sorted(m for m in sys.modules if m == "nffi" or m.startswith("nffi."))
print("start", loaded, "_nffi_compat_hook" in sys.modules)
%s
"""


@pytest.mark.parametrize("first_import, check", [
    ("import cffi", "print(cffi.nffi, cffi.FFI().sizeof('int'))"),
    ("import _cffi_backend", "print(_cffi_backend.FFI.__module__, "
                             "sys.modules['cffi'].nffi)"),
    ("from cffi import FFI", "print(FFI.__module__, FFI().sizeof('long'))"),
    ("import cffi.model", "print(cffi.nffi, 'int' in cffi.model.PrimitiveType.ALL_PRIMITIVE_TYPES)"),
])
def test_nffi_compat_finder_is_lazy(site_dir, first_import, check):
    code = LAZY_REPORT % ("%s\n%s\nprint(sys.meta_path[0].__module__)" % (first_import, check))
    result = run(with_site_dir(site_dir, code, isolated=True), {"NFFI_COMPAT": "1"})
    assert result.returncode == 0, result.stderr
    start, rest = result.stdout.split("\n", 1)
    # start-up imported the hook only: not nffi, not the core
    assert start == "start [] True"
    expected = {"import cffi": "True 4",
                "import _cffi_backend": "nffi.compat True",
                "from cffi import FFI": "nffi.compat 8",   # compat.CffiFFI
                "import cffi.model": "True True"}[first_import]
    lines = rest.split("\n")
    assert lines[0] == expected
    assert lines[1] != "_nffi_compat_hook"      # the finder removed itself


def test_nffi_compat_after_cffi_was_imported(site_dir):
    # the hook called when cffi is already loaded (an earlier .pth imported it): compat
    # replaces it at once
    code = ("import sys, types; sys.modules['cffi'] = types.ModuleType('cffi'); "
            "import _nffi_compat_hook; _nffi_compat_hook.install_finder(); "
            "import cffi; print(getattr(cffi, 'nffi', False))")
    result = run(["-S", "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]


def _installed_pth():
    for directory in [*site.getsitepackages(), sysconfig.get_path("purelib")]:
        path = os.path.join(directory, "nffi-compat.pth")
        if os.path.exists(path):
            return path
    return None


@pytest.mark.skipif(_installed_pth() is None,
                    reason="nffi is not installed here with its .pth (pip install -e .)")
def test_installed_pth_file(tmp_path):
    where = run(["-c", "import importlib.util; print(importlib.util.find_spec('nffi').origin)"],
                cwd=str(tmp_path), pythonpath=None).stdout.strip()
    if os.path.dirname(os.path.dirname(where)) != SRC_DIR:
        # e.g. a worktree tested while the editable install points at another checkout,
        # whose .pth may be older
        pytest.skip("the installed nffi is another tree's (%s)" % (where or "not importable"))
    with open(_installed_pth()) as installed, open(PTH_FILE) as source:
        assert installed.read() == source.read()
    result = run(["-c", REPORT], {"NFFI_COMPAT": "1"}, cwd=str(tmp_path), pythonpath=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "nffi.compat"]


# ---- python -m nffi.compat ----------------------------------------------------------------

SCRIPT = """
import sys
import cffi
ffi = cffi.FFI()
ffi.cdef("int abs(int);")
print(__name__, cffi.nffi, sys.argv[1:], ffi.sizeof("int"))
sys.exit(int(sys.argv[-1]))
"""


def test_run_script(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(SCRIPT)
    result = run(["-m", "nffi.compat", str(script), "a", "0"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["__main__", "True", "['a',", "'0']", "4"]
    # the script's exit status is the interpreter's
    assert run(["-m", "nffi.compat", str(script), "3"]).returncode == 3


def test_run_module(tmp_path):
    (tmp_path / "progmod.py").write_text(SCRIPT)
    result = run(["-m", "nffi.compat", "-m", "progmod", "x", "0"],
                 pythonpath=os.pathsep.join([NFFI_PARENT, str(tmp_path)]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["__main__", "True", "['x',", "'0']", "4"]


@pytest.mark.parametrize("args", [[], ["-m"]])
def test_run_usage(args):
    result = run(["-m", "nffi.compat", *args])
    assert result.returncode == 2
    assert "usage: python -m nffi.compat" in result.stderr
