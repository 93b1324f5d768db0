"""The documentation site builds with Sphinx, warnings as errors (docs/conf.py): the
guides of docs/, the API reference from the docstrings, every page in a toctree."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")


def test_sphinx_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx", reason="sphinx is in the test extra")
    pytest.importorskip("myst_parser", reason="myst-parser is in the test extra")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), DOCS, str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (tmp_path / "html" / "reference" / "nffi.html").read_text()
    # autodoc found the C methods with their signatures, and the Python ones
    for anchor in ("nffi.FFI.new", "nffi.FFI.cdef", "nffi._core.CType.kind"):
        assert 'id="%s"' % anchor in reference, anchor
    for page in ("migrating-from-ctypes", "cffi-code-that-will-not-run", "typing",
                 "guide", "reference/rffi"):
        assert (tmp_path / "html" / (page + ".html")).exists(), page


def test_every_markdown_page_is_in_the_site():
    with open(os.path.join(DOCS, "index.md")) as f:
        index = f.read()
    pages = [name[:-3] for name in os.listdir(DOCS) if name.endswith(".md")
             and name != "index.md"]
    assert pages
    for page in pages:
        assert "\n%s\n" % page in index, "docs/%s.md is not in index.md's toctrees" % page
