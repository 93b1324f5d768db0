"""Sphinx configuration of nffi's documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (tests/test_docs.py runs it
with warnings as errors). The guides are the Markdown files of docs/ (myst-parser); the
API reference (docs/reference/) is autodoc of the docstrings, read by import from the
installed nffi (from src/ when none is installed: src/ may hold a core built for another
Python, so it does not come first).
"""
import os
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
try:
    import nffi  # (the version, and autodoc imports it anyway)
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(DOCS), "src"))
    import nffi

project = "nffi"
author = "the nffi authors"
copyright = "the nffi authors; MIT licence"
release = nffi.__version__
version = ".".join(release.split(".")[:2])

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3          # links to '#section' of another page resolve

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_typehints = "signature"

html_theme = "alabaster"
html_title = "nffi %s" % release
