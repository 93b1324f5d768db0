"""Instructions per operation of the benchmark rows, counted by valgrind's callgrind.

On a shared, loaded machine wall-clock medians of single rows swing by 10-30 % (and by
far more for the callback rows); the number of instructions an operation executes does
not depend on the load.  It is not a time (a GIL round trip costs more per instruction
than a dict lookup), so the table of run.py stays the judge; this is the tool for
deciding whether a change to a hot path made it cheaper, and by how much.

    python benchmarks/instructions.py --only "call abs"            # nffi, cffi API, ctypes
    python benchmarks/instructions.py --only "field" --impls nffi,ctypes

For each selected row and implementation, the row's setup and its compiled loop (the
one run.py times, with the same unroll) run in a child process under callgrind twice,
with N and 2N iterations; the difference divided by N x unroll is the cost of one
operation plus the loop's share, and the same for the row's baseline (the empty loop)
is subtracted.  PYTHONHASHSEED is fixed so that dict probing is the same in all runs.
Needs valgrind on PATH.  Rows whose one operation lasts milliseconds (qsort) use a
small N; typeof scaling and real-header rows are not supported.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rows as rows_mod      # noqa: E402
import run as run_mod        # noqa: E402
import timing                # noqa: E402

DEFAULT_IMPLS = ("nffi", "cffi API", "ctypes")


def _child(row_name, impl, count, baseline):
    """Set the row up and run its loop (or its baseline loop) count times."""
    row = next(r for r in rows_mod.ROWS if getattr(r, "name", None) == row_name)
    envs, _ = run_mod.make_envs((impl,), lambda *a: None)
    env = envs[impl]
    if isinstance(env, timing.Failure):
        raise SystemExit(env.reason)
    bench = row.setups[impl](env)
    if baseline:
        loop = timing._compile_loop(bench.baseline, bench.baseline_names, bench.unroll)
    else:
        loop = timing._compile_loop(bench.stmt, bench.names, bench.unroll)
    loop(1)                      # first execution: caches filled, as run.py's check does
    loop(count)


def _instructions(row_name, impl, count, baseline):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
               sys.executable, os.path.abspath(__file__), "--child", row_name, impl,
               str(count)] + (["--baseline"] if baseline else [])
        env = dict(os.environ, PYTHONHASHSEED="0")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        found = re.search(r"(?:Collected :|I\s+refs:)\s+([\d,]+)", proc.stderr)
        if proc.returncode != 0 or not found:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError("callgrind run failed: %s" % tail)
        return int(found.group(1).replace(",", ""))


def per_operation(row, impl, n):
    """Instructions of one operation of row for impl (baseline subtracted)."""
    unroll = row.setups[impl](_env_for(impl)).unroll
    costs = []
    for baseline in (False, True):
        a = _instructions(row.name, impl, n, baseline)
        b = _instructions(row.name, impl, 2 * n, baseline)
        costs.append((b - a) / (n * unroll))
    return costs[0] - costs[1]


_ENVS = {}


def _env_for(impl):
    if impl not in _ENVS:
        envs, _ = run_mod.make_envs((impl,), lambda *a: None)
        _ENVS[impl] = envs[impl]
    return _ENVS[impl]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="rows whose name contains this (required)")
    ap.add_argument("--impls", default=",".join(DEFAULT_IMPLS))
    ap.add_argument("-n", type=int, default=0, help="iterations (default: by row group)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]), args.baseline)
        return 0
    if not args.only:
        ap.error("--only is required (every row under valgrind takes long)")
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    selected = [r for r in run_mod.select_rows(args.only) if hasattr(r, "setups")]
    if not selected:
        print("no row matches %r" % args.only, file=sys.stderr)
        return 2
    print("%-45s %s" % ("instructions per operation", "  ".join("%12s" % i for i in impls)))
    for row in selected:
        n = args.n or (2 if "qsort" in row.name else 50 if "callbacks" in row.name else 2000)
        cells = []
        for impl in impls:
            if impl not in row.setups or row.setups[impl] is rows_mod.NA:
                cells.append("%12s" % "n/a")
                continue
            try:
                cells.append("%12.0f" % per_operation(row, impl, n))
            except Exception as exc:          # noqa: BLE001
                cells.append("%12s" % "failed")
                print("  %s / %s: %s" % (row.name, impl, exc), file=sys.stderr)
        print("%-45s %s" % (row.name[:45], "  ".join(cells)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
