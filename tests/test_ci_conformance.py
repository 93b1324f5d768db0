""".ci/conformance, the CI floor on cffi's own test suite, driven by fake runners (the
real runner takes seconds and lives outside the repository)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, ".ci", "conformance")


def floors():
    result = {}
    with open(os.path.join(ROOT, ".ci", "conformance-floor")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                result[line[0]] = int(line[1])
    return result


def run(tmp_path, runner_body):
    """Run .ci/conformance with a fake runner whose body is Python source."""
    runner = tmp_path / "run"
    runner.write_text("import sys\n" + runner_body)
    env = dict(os.environ, NFFI_CONFORMANCE_RUNNER=str(runner))
    proc = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def report(counts):
    """Runner source printing the runner's per-file lines for {file: passed}."""
    lines = ["%-40s %4d passed %4d failed %4d skipped %4d errors" % (name, n, 1, 0, 0)
             for name, n in counts.items()]
    return "print(%r)\n" % "\n".join(lines)


def test_floor_file_lists_the_default_files():
    assert {"testing/cffi0/test_ffi_backend.py",
            "testing/cffi1/test_ffi_obj.py"} <= set(floors())     # API mode adds its files
    assert all(n > 0 for n in floors().values())


def test_at_the_floor_passes(tmp_path):
    status, out = run(tmp_path, report(floors()))
    assert status == 0, out


def test_the_runner_gets_the_files_of_the_floor(tmp_path):
    body = ("assert sys.argv[1:] == %r, sys.argv\n" % list(floors())) + report(floors())
    status, out = run(tmp_path, body)
    assert status == 0, out


@pytest.mark.parametrize("name", sorted(floors()))
def test_below_the_floor_fails(tmp_path, name):
    counts = dict(floors())
    counts[name] -= 1
    status, out = run(tmp_path, report(counts))
    assert status == 1
    assert "FAILED: %s: %d passed, below the floor of %d" % (
        name, counts[name], floors()[name]) in out


def test_a_file_not_reported_fails(tmp_path):
    counts = dict(floors())
    counts.popitem()
    status, out = run(tmp_path, report(counts))
    assert status == 1 and "not reported by the runner" in out


def test_a_failing_runner_fails(tmp_path):
    status, out = run(tmp_path, report(floors()) + "sys.exit(2)\n")
    assert status == 1 and "exited with status 2" in out


def test_a_missing_runner_only_warns(tmp_path):
    env = dict(os.environ, NFFI_CONFORMANCE_RUNNER=str(tmp_path / "nowhere"))
    proc = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True)
    assert proc.returncode == 0
    assert "WARNING" in proc.stdout and "NOT checked" in proc.stdout
