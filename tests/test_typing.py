"""nffi's own API is typed (py.typed, src/nffi/__init__.pyi and _core.pyi): mypy --strict
accepts a typed program that uses it, reports misuse, and the program runs."""
import os
import subprocess
import sys

import pytest

from mypy_runner import EXAMPLES, NFFI_PARENT, SRC_DIR, run_mypy

EXAMPLE = os.path.join(EXAMPLES, "nffi_api_example.py")


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("mypy-cache")


def test_package_is_marked_typed():
    for name in ("py.typed", "__init__.pyi", "_core.pyi"):
        assert os.path.exists(os.path.join(SRC_DIR, "nffi", name)), name


def test_typed_example_passes_mypy_strict(mypy_cache):
    status, lines = run_mypy([EXAMPLE], mypy_cache)
    assert status == 0, "\n".join(lines)


def test_typed_example_runs():
    env = dict(os.environ, PYTHONPATH=NFFI_PARENT)
    result = subprocess.run([sys.executable, EXAMPLE], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("7 ")        # p.x + p.y after p.x = 5


def test_mypy_reports_misuse_of_the_api(mypy_cache, tmp_path):
    bad = tmp_path / "bad_api.py"
    bad.write_text("from nffi import FFI\n"
                   "ffi = FFI()\n"
                   "ffi.cdef(5)\n"                             # not a str
                   "n: str = ffi.sizeof('int')\n"              # an int
                   "ffi.new('int *').x = 1\n"                  # fine: cdata attributes
                   "ffi.no_such_method()\n")
    status, lines = run_mypy([str(bad)], mypy_cache)
    assert status == 1
    text = "\n".join(lines)
    assert "bad_api.py:3: error" in text and "[arg-type]" in text
    assert "bad_api.py:4: error" in text and "[assignment]" in text
    assert "bad_api.py:5: error" not in text
    assert "bad_api.py:6: error" in text and "[attr-defined]" in text
