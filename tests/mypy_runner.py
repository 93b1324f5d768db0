"""Runs mypy (a test dependency) on example programs, against this tree's nffi and its
stubs (MYPYPATH=src), with one cache per test session."""
import os
import re
import subprocess
import sys

import pytest

import nffi

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
SRC_DIR = os.path.join(os.path.dirname(TESTS_DIR), "src")     # (mypy reads the stubs here)
# where the nffi under test is imported from, for child processes that run it (an
# installed copy under .ci/pythons: the tree's src/ may hold a core for another Python)
NFFI_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nffi.__file__)))
EXAMPLES = os.path.join(TESTS_DIR, "typing_examples")


def run_mypy(paths, cache_dir, extra_path=(), strict=True):
    """mypy's (exit status, output lines) for the given files."""
    pytest.importorskip("mypy", reason="mypy is in the test extra (pip install -e .[test])")
    env = dict(os.environ, MYPYPATH=os.pathsep.join([SRC_DIR, *extra_path]))
    env.pop("PYTHONPATH", None)
    args = [sys.executable, "-m", "mypy", "--cache-dir", str(cache_dir),
            "--no-error-summary", "--show-error-codes", "--python-version", "3.11"]
    if strict:
        args.append("--strict")
    result = subprocess.run(args + list(paths), capture_output=True, text=True, env=env,
                            timeout=600)
    return result.returncode, [line for line in result.stdout.splitlines() if line]


def expected_errors(path):
    """{line: error code} from the '# E: code' markers of an example program."""
    with open(path) as f:
        return {n: m.group(1) for n, line in enumerate(f, 1)
                for m in [re.search(r"# E: ([\w-]+)", line)] if m}


def reported_errors(lines, path):
    """{line: error code} from mypy's output for one file."""
    name = os.path.basename(path)
    found = {}
    for line in lines:
        m = re.match(r"(.*?):(\d+): error: .*\[([\w-]+)\]$", line)
        if m and os.path.basename(m.group(1)) == name:
            found.setdefault(int(m.group(2)), m.group(3))
    return found
