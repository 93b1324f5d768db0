"""The GNU C mode of the parser never fails on a header: every declaration it cannot
read is skipped (with a reason), whatever the mutation of real preprocessed text."""
import re
import shutil
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from nffi import cparser

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None,
                                reason="needs the C compiler (Debian package: gcc)")

_TOKEN_RE = re.compile(r'"[^"\n]*"|\w+|\n|[^\s\w]')
_EXTRA = ["{", "}", "(", ")", "[", "]", ";", ",", "__attribute__", "__asm__", "#", "\n",
          "struct", "typedef", "enum", "=", "...", "sizeof", "_Static_assert", ":"]


@pytest.fixture(scope="module")
def tokens():
    text = subprocess.run(["gcc", "-E", "-dD", "-x", "c", "-"],
                          input="#include <stdio.h>\n#include <stdlib.h>\n",
                          capture_output=True, text=True, check=True).stdout
    return _TOKEN_RE.findall(text)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_headers_are_skipped_never_fatal(tokens, data):
    start = data.draw(st.integers(0, len(tokens) - 1))
    piece = tokens[start:start + data.draw(st.integers(1, 300))]
    for _ in range(data.draw(st.integers(1, 6))):
        index = data.draw(st.integers(0, len(piece)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete" and index < len(piece):
            del piece[index]
        elif action == "replace" and index < len(piece):
            piece[index] = data.draw(st.sampled_from(_EXTRA + tokens[start:start + 50]))
        else:
            piece.insert(index, data.draw(st.sampled_from(_EXTRA)))
    text = " ".join(piece).replace(" \n ", "\n")
    decls, skipped, marks = cparser.parse_header(text, frozenset(["FILE"]), {})
    assert all(reason for _, reason, _, _ in skipped)
