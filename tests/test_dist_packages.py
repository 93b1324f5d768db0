"""Real packages that use cffi's API mode with ``cffi_modules=``, built from their
source distributions with nffi standing in for cffi, then tested with their own test
suites; the same packages built with the real cffi give the expected counts.

Network test (``-m network``, skipped unless NFFI_TEST_NETWORK=1): pip downloads the
sdists and installs setuptools, the test tools and (for the comparison) cffi into fresh
virtual environments.  In the nffi environments the real cffi is never installed:
``python -m nffi.compat provide-cffi`` satisfies the packages' cffi requirements and
nffi's ``cffi_modules`` setup keyword builds their extensions.

The packages bundle their C code (brotlicffi: brotli, cmarkgfm: cmark-gfm) or call the
C library (xattr).  brotlicffi's sdist lacks the sample files its tests read: they are
generated (and compressed by the real cffi's build).  Counts are in docs/compat.md.
"""
import os
import re
import subprocess
import sys
import tarfile

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)
from test_dist_setuptools import _pip, _venv, nffi_wheel  # noqa: E402,F401

# name -> (version, test directory in the sdist, what its tests and build need)
PACKAGES = {
    "brotlicffi": ("1.2.1.0", "test", ["pytest", "hypothesis"]),
    "xattr": ("1.3.0", "tests", ["pytest"]),
    "cmarkgfm": ("2025.10.22", "tests", ["pytest", "pycparser"]),
}

SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")


@pytest.fixture(scope="module")
def sdists(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sdists")
    result = _pip(sys.executable, "download", "-q", "--no-deps", "--no-binary", ":all:",
                  "-d", str(directory),
                  *["%s==%s" % (name, spec[0]) for name, spec in PACKAGES.items()])
    assert result.returncode == 0, result.stderr
    return directory


def build_and_test(tmp_path, sdists, name, backend, wheel):
    """Install the package from its sdist in a fresh venv with 'backend' ("cffi" or
    "nffi"), run its test suite; returns ({'passed': n, ...}, pytest's last lines)."""
    version, tests, needs = PACKAGES[name]
    python = _venv(tmp_path / ("venv-" + backend))
    result = _pip(python, "install", "-q", *needs)
    assert result.returncode == 0, result.stderr
    if backend == "cffi":
        result = _pip(python, "install", "-q", "cffi==2.0.0")
    else:
        result = _pip(python, "install", "-q", wheel)
        assert result.returncode == 0, result.stderr
        result = subprocess.run([python, "-m", "nffi.compat", "provide-cffi"],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    archive = [f for f in os.listdir(sdists)
               if f.lower().replace("-", "_").startswith(name.replace("-", "_") + "_")][0]
    source = tmp_path / ("src-" + backend)
    with tarfile.open(os.path.join(sdists, archive)) as tar:
        tar.extractall(source)
    project = source / os.listdir(source)[0]
    result = _pip(python, "install", "--no-build-isolation", "--no-deps", ".",
                  cwd=str(project))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built_by = subprocess.run(
        [python, "-c", "import importlib, sys; importlib.import_module(%r); "
                       "print('nffi' if 'nffi' in sys.modules else 'cffi')"
         % {"brotlicffi": "brotlicffi", "xattr": "xattr", "cmarkgfm": "cmarkgfm"}[name]],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert built_by.stdout.strip() == backend, built_by.stderr
    if name == "brotlicffi":
        _brotli_testdata(tmp_path / "brotli-testdata", python,
                         project / "libbrotli" / "tests" / "testdata")
    run = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--import-mode=importlib", "--rootdir", str(project),
                          str(project / tests)],
                         cwd=str(tmp_path), capture_output=True, text=True, timeout=1800)
    last = [line for line in run.stdout.splitlines() if SUMMARY.search(line)]
    counts = {kind if not kind.startswith("error") else "errors": int(n)
              for n, kind in SUMMARY.findall(last[-1] if last else "")}
    return counts, "\n".join(run.stdout.splitlines()[-30:])


BROTLI_SAMPLES = r"""
import os, random, sys
import brotlicffi
directory = sys.argv[1]
os.makedirs(directory)
rng = random.Random(13)
words = ["alice", "rabbit", "hole", "queen", "tea", "hatter", "said", "the", "and"]
samples = {
    "alice29.txt": " ".join(rng.choice(words) for _ in range(30000)).encode(),
    "empty": b"",
    "x": b"X",
    "zeros": bytes(100000),
    "random_bytes": bytes(rng.randrange(256) for _ in range(65536)),
    "ukkonooa": ("ukko nooa " * 1000).encode(),
}
for name, data in samples.items():
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)
    with open(os.path.join(directory, name + ".compressed"), "wb") as f:
        f.write(brotlicffi.compress(data))
"""


def _brotli_testdata(shared, python, target):
    """brotlicffi's tests read libbrotli/tests/testdata, which its sdist does not ship:
    sample files and their compressed forms, written once by the first build (the
    real cffi's) and used by both."""
    if not shared.exists():
        result = subprocess.run([python, "-c", BROTLI_SAMPLES, str(shared)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(shared, target)


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_real_package_on_nffi_as_on_cffi(tmp_path, sdists, nffi_wheel, name):
    expected, cffi_tail = build_and_test(tmp_path, sdists, name, "cffi", None)
    got, nffi_tail = build_and_test(tmp_path, sdists, name, "nffi", nffi_wheel)
    print("%s with cffi: %s\n%s with nffi: %s" % (name, expected, name, got))
    assert expected.get("passed", 0) > 0, cffi_tail
    assert got == expected, nffi_tail
