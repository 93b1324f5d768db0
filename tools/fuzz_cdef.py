"""atheris harness for cdef() and type strings (an offline tool, not a test dependency:
``pip install atheris``).

Each input is C text, tried both as a cdef (``nffi.FFI().cdef`` and then every operation
on every declared type) and as a type string (typeof/sizeof/alignof/new/cast/getctype on
``nffi.FFI`` and on the compat FFI), with the rule of tests/test_cdef_fuzz.py: success,
``CDefError``, ``ffi.error``, or exactly the class cffi raises for the same input.
Findings are appended to FINDINGS (one JSON line each: input, message) and the run goes
on, so a campaign collects distinct findings; a crash or a hang (-timeout) stops libFuzzer
with the input saved, as usual.

    python tools/fuzz_cdef.py -seed_corpus            # writes the seeds into CORPUS
    python tools/fuzz_cdef.py CORPUS -max_total_time=600 -timeout=10

The seeds are the cdefs and type strings of the tests (structure-aware mutation starts
from valid declarations).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "src"), os.path.join(ROOT, "tests")]
CORPUS = os.environ.get("NFFI_FUZZ_CORPUS", os.path.join(ROOT, ".fuzz-cdef-corpus"))
FINDINGS = os.environ.get("NFFI_FUZZ_FINDINGS", os.path.join(ROOT, ".fuzz-cdef-findings"))

import atheris  # noqa: E402

with atheris.instrument_imports(include=["nffi"]):
    import nffi  # noqa: E402,F401

import test_cdef_fuzz as rules  # noqa: E402

seen = set()
counts = {"inputs": 0, "findings": 0}


def one_input(data):
    counts["inputs"] += 1
    text = data.decode("utf-8", "replace")
    for target in (rules.fuzz_cdef, rules.fuzz_type_string):
        try:
            target(text)
        except rules.Finding as finding:
            message = str(finding)
            # distinct by the operation and the exception classes involved
            key = (target.__name__, message.split(":")[0].split(" ")[0],
                   type(finding.__cause__).__name__, message.split("cffi ")[-1][:40])
            counts["findings"] += 1
            if key not in seen:
                seen.add(key)
                with open(FINDINGS, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"target": target.__name__, "input": text,
                                        "message": message}) + "\n")


def write_seeds():
    os.makedirs(CORPUS, exist_ok=True)
    for i, source in enumerate(rules.CORPUS + rules.TYPE_CORPUS):
        with open(os.path.join(CORPUS, "seed%04d" % i), "w", encoding="utf-8") as f:
            f.write(source)
    print("%d seeds in %s" % (len(rules.CORPUS) + len(rules.TYPE_CORPUS), CORPUS))


def main():
    if "-seed_corpus" in sys.argv:
        write_seeds()
        return
    import atexit
    atexit.register(lambda: print("fuzz_cdef: %(inputs)d inputs, %(findings)d findings"
                                  % counts, "(%d distinct, in %s)" % (len(seen), FINDINGS),
                                  file=sys.stderr))
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
