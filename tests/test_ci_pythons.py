""".ci/pythons, the CI job that runs the suite on the other supported Pythons: how it finds
them, reports the missing ones and fails, driven by fake interpreters (a real run takes
minutes: .ci/run does it)."""
import os
import stat
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, ".ci", "pythons")

# answers the version question of find_python; anything else (python -m venv) fails
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = "-c" ]; then echo {version}; exit 0; fi
echo "fake python: cannot $*" >&2
exit 3
"""


def fake_python(directory, name, version):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(FAKE_PYTHON.format(version=version))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def run(tmp_path, *versions, **env_extra):
    env = dict(os.environ, PYENV_ROOT=str(tmp_path / "pyenv"),
               PATH="%s:%s" % (tmp_path / "bin", os.environ["PATH"]))
    env.pop("NFFI_CI_REQUIRE_PYTHONS", None)
    env.update(env_extra)
    result = subprocess.run([SCRIPT, *versions], capture_output=True, text=True, env=env,
                            timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_missing_version_is_reported_by_name(tmp_path):
    status, output = run(tmp_path, "3.99")
    assert status == 0, output
    assert "Python 3.99: not found, NOT TESTED" in output


def test_missing_version_fails_when_required(tmp_path):
    status, output = run(tmp_path, "3.99", NFFI_CI_REQUIRE_PYTHONS="1")
    assert status == 1 and "Python 3.99: not found" in output


def test_free_threaded_build_is_not_taken(tmp_path):
    fake_python(tmp_path / "pyenv" / "versions" / "3.97.0t" / "bin", "python3.97", "3.97")
    status, output = run(tmp_path, "3.97")
    assert "Python 3.97: not found" in output, output


def test_a_failing_python_fails_the_job_and_others_still_run(tmp_path):
    fake_python(tmp_path / "pyenv" / "versions" / "3.98.1" / "bin", "python3.98", "3.98")
    status, output = run(tmp_path, "3.98", "3.99")
    assert status == 1, output
    assert "Python 3.98: FAILED to install" in output
    assert "fake python: cannot -m venv" in output
    assert "Python 3.99: not found" in output


def test_a_wrong_version_on_path_is_not_taken(tmp_path):
    fake_python(tmp_path / "bin", "python3.96", "3.11")
    status, output = run(tmp_path, "3.96")
    assert status == 0 and "Python 3.96: not found" in output, output
