"""Adversarial probes: no crash, hang or silent wrong result from Python code (issue 15).

The probes (tests/adversarial_probes.py: code, expected outcome, and why) run in child
processes, so that a crash or a hang is one failed probe, not a dead test run: the child
announces each probe before running it; when it dies or stops answering, the probe it
was running is recorded as crashed (with the signal and the last lines of its output) or
hung, and a new child goes on with the next probe.  Under .ci/sanitize the children run
under AddressSanitizer too (they inherit LD_PRELOAD and the options), and an ASan report
kills the child: the probe fails here and the report is in the job's log.

Each probe's outcome is checked against its expectation: the exception class it must
raise, the value it must produce, or the unraisable exception it must report.
"""
import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import adversarial_probes as ap  # noqa: E402
import cc  # noqa: E402

BATCH_TIMEOUT = ap.PROBE_TIMEOUT + 40   # a child silent that long is hung


@pytest.fixture(scope="session")
def adversarial_lib():
    """tests/adversarial_probes.py's C library, compiled once (cached by its source)."""
    import hashlib
    source = ap.C_SOURCE.encode()
    key = hashlib.sha256(cc.CC.encode() + b"\0" + source).hexdigest()[:32]
    path = os.path.join(cc.cache_dir(), "adversarial-%s.so" % key)
    if not os.path.exists(path):
        c_file = path + ".%d.c" % os.getpid()
        with open(c_file, "wb") as f:
            f.write(source)
        tmp = path + ".%d.tmp" % os.getpid()
        result = subprocess.run([cc.CC, "-shared", "-fPIC", "-O1", c_file, "-o", tmp],
                                capture_output=True, text=True)
        os.unlink(c_file)
        if result.returncode != 0:
            pytest.fail("compiling the probes' library failed:\n" + result.stderr)
        os.replace(tmp, path)
    return path


def _run_batch(first, lib_path):
    """Run probes from index `first` in one child; return ({index: outcome}, next index)."""
    env = dict(os.environ, NFFI_ADVERSARIAL_LIB=lib_path)
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "adversarial_probes.py"),
                             str(first)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    outcomes, current, started_id = {}, None, None
    deadline = time.monotonic() + BATCH_TIMEOUT
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    hung = False
    while True:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            hung = True
            proc.kill()
            break
        line = proc.stdout.readline()
        if not line:
            break
        record = json.loads(line)
        if "start" in record:
            current = record["start"]
            started_id = record["id"]
            deadline = time.monotonic() + BATCH_TIMEOUT
        else:
            outcomes[record["index"]] = record
            current = None
    proc.wait()
    stderr = proc.stderr.read()
    sel.close()
    if current is None:
        return outcomes, len(ap.PROBES)
    outcomes[current] = {"index": current, "id": started_id,
                         "died": "hung" if hung else proc.returncode, "stderr": stderr[-3000:]}
    return outcomes, current + 1


@pytest.fixture(scope="session")
def outcomes(adversarial_lib):
    results, first = {}, 0
    while first < len(ap.PROBES):
        batch, first = _run_batch(first, adversarial_lib)
        results.update(batch)
    return results


def _check(p, outcome):
    if outcome is None:
        return "no outcome recorded"
    if outcome.get("id", p.id) != p.id:
        return "the child ran %s at this index (probes file changed during the run?)" % (
            outcome["id"],)
    if "died" in outcome:
        return "the process %s:\n%s" % (
            "hung" if outcome["died"] == "hung" else "died (status %s)" % outcome["died"],
            outcome["stderr"])
    problems = []
    if p.raises is not None:
        if "raised" not in outcome:
            problems.append("expected %s, got no exception (result %s)"
                            % (p.raises, outcome.get("result")))
        elif p.raises not in outcome["mro"]:
            problems.append("expected %s, got %s: %s" % (p.raises, outcome["raised"],
                                                          outcome["message"]))
    elif "raised" in outcome:
        problems.append("unexpected %s: %s" % (outcome["raised"], outcome["message"]))
    elif p.value is not None and not outcome.get("equal"):
        problems.append("expected result == %s, got %s %s"
                        % (p.value, outcome.get("result"), outcome.get("message", "")))
    if p.unraisable is not None and p.unraisable not in outcome["unraisable"]:
        problems.append("expected an unraisable %s, saw %s" % (p.unraisable,
                                                               outcome["unraisable"]))
    return "; ".join(problems)


@pytest.mark.parametrize("index", range(len(ap.PROBES)), ids=[p.id for p in ap.PROBES])
def test_probe(outcomes, index):
    p = ap.PROBES[index]
    problem = _check(p, outcomes.get(index))
    assert not problem, "%s\n  code: %s\n  why: %s" % (problem, p.code.replace("\n", "\n        "),
                                                      p.why)


def test_probes_cover_every_class():
    """Issue 15's ten classes each have probes, and there are at least 150 in all."""
    assert {p.cls for p in ap.PROBES} >= set(range(1, 11))
    assert len(ap.PROBES) >= 150
    assert len({p.id for p in ap.PROBES}) == len(ap.PROBES)


GROWTH_LIMIT = 256 * 1024         # bytes kept by REPEAT runs of one probe (tracemalloc)
RSS_LIMIT = 32 * 1024 * 1024      # bytes: page-granular, and a high-water mark (garbage
                                  # of cycles waits for the collector), so only gross leaks


@pytest.mark.skipif(not ap.REPEAT, reason="the leak check of the probes: set "
                    "NFFI_ADVERSARIAL_REPEAT=100000 (minutes)")
def test_probes_do_not_leak(outcomes):
    """Each probe (but the slow ones) repeated NFFI_ADVERSARIAL_REPEAT times keeps no
    memory: tracemalloc (Python's allocators: cdata, ctypes, temporaries) and RSS."""
    leaks = []
    for index, p in enumerate(ap.PROBES):
        growth = outcomes.get(index, {}).get("growth")
        if growth is not None and (growth[0] > GROWTH_LIMIT or growth[1] > RSS_LIMIT):
            leaks.append("%s: +%d bytes traced, +%d bytes RSS" % (p.id, growth[0], growth[1]))
    assert not leaks, "\n".join(leaks)
