"""Shared timing helper of the nffi benchmark suite.

A measurement is described by a :class:`Bench`: either a Python statement with the
names it uses (``Bench('ffi.new("int[100]")', ffi=ffi)``) or a zero-argument
function (``Bench(func=run_once)``).  The statement is compiled into a tight loop::

    def _bench(_n, _ns):
        ffi = _ns["ffi"]            # every name becomes a fast local
        _t0 = perf_counter_ns()
        for _ in range(_n):
            ffi.new("int[100]")     # repeated `unroll` times
            ...
        return perf_counter_ns() - _t0

and the cost of the same loop with an empty body (``pass``; or, for the function form,
a call of a no-op function) is measured the same way and subtracted.

:func:`measure` times several benches of one row *round-robin*: sample 1 of every
bench, then sample 2 of every bench, ..., so that a burst of noise on the shared
machine hits every implementation alike.  The order within a round is shuffled (no
fixed phase relation with periodic noise), and samples are kept short (default
0.4 ms, below a scheduler time slice) so that most samples are not interrupted at all
and the median ignores those that are.  The result per bench is the median time per
operation over the samples, minus the median time per operation of its empty loop.
"""
import gc
import math
import random
import statistics
import textwrap
import time

__all__ = ["Bench", "Result", "Failure", "Settings", "measure", "format_ns"]

_clock = time.perf_counter_ns


def _noop():
    pass


class Bench:
    """One timed operation.

    ``stmt``      Python statement (may span several lines) executed once per operation.
    ``func``      alternatively, a zero-argument function called once per operation.
    ``unroll``    how many copies of the statement form the loop body (amortizes the
                  loop's own cost; the time reported is per copy).
    ``check``     optional Python expression evaluated once, after the first execution,
                  in the same names; a false value makes the bench fail ("wrong result").
    ``baseline``  optional statement replacing the empty-loop body whose cost is
                  subtracted (same names, same unroll); for statements whose
                  scaffolding (e.g. ``next(it)``) should not be counted.
    ``baseline_ns`` names for the baseline statement (default: the bench's names).
    ``keep``      objects kept alive while the bench exists (e.g. libraries).
    All other keyword arguments are the names the statement uses.
    """

    def __init__(self, stmt=None, *, func=None, unroll=1, check=None, baseline=None,
                 baseline_ns=None, keep=None, **names):
        if (stmt is None) == (func is None):
            raise ValueError("give exactly one of stmt and func")
        if func is not None:
            stmt = "_f()"
            names["_f"] = func
            if baseline is None:
                baseline = "_f()"
                baseline_ns = {"_f": _noop}
        self.stmt = stmt
        self.unroll = max(1, int(unroll))
        self.check = check
        self.names = names
        self.baseline = baseline if baseline is not None else "pass"
        self.baseline_names = baseline_ns if baseline_ns is not None else names
        self.keep = keep


def _compile_loop(stmt, names, unroll):
    for k in names:
        if not k.isidentifier():
            raise ValueError("bad name %r" % (k,))
    bind = "".join("    %s = _ns[%r]\n" % (k, k) for k in names)
    one = textwrap.indent(textwrap.dedent(stmt).strip("\n"), " " * 8)
    body = "\n".join([one] * unroll)
    src = ("def _bench(_n, _ns, _clock=_clock):\n"
           "%s"
           "    _r = range(_n)\n"
           "    _t0 = _clock()\n"
           "    for _ in _r:\n"
           "%s\n"
           "    _t1 = _clock()\n"
           "    return _t1 - _t0\n") % (bind, body)
    glb = {"_clock": _clock}
    exec(compile(src, "<bench %s>" % stmt.strip().splitlines()[0][:60], "exec"), glb)
    fn = glb["_bench"]
    return lambda n: fn(n, names)


class Settings:
    """How hard to measure.

    ``samples``      samples per bench (the median is taken over them).
    ``min_samples``  samples taken even when the time budget is exhausted.
    ``sample_ns``    wanted duration of one sample; the loop count is calibrated to it.
    ``max_iters``    upper bound of the loop count (loop body executions per sample).
    ``budget_s``     wall-clock budget of one row's sampling phase (None: unlimited).
    """

    def __init__(self, samples=31, min_samples=3, sample_ns=2_000_000, max_iters=10_000,
                 budget_s=None):
        self.samples = samples
        self.min_samples = min_samples
        self.sample_ns = sample_ns
        self.max_iters = max_iters
        self.budget_s = budget_s

    def replace(self, **kw):
        s = Settings(self.samples, self.min_samples, self.sample_ns, self.max_iters,
                     self.budget_s)
        for k, v in kw.items():
            if v is not None:
                setattr(s, k, v)
        return s


class Failure:
    """A bench that could not be set up or run; ``reason`` is one line."""

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return "Failure(%r)" % (self.reason,)


def describe_exception(exc):
    msg = str(exc).strip().splitlines()
    msg = msg[0] if msg else ""
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return "%s: %s" % (type(exc).__name__, msg) if msg else type(exc).__name__


class Result:
    """Median time per operation (baseline subtracted) and its spread."""

    def __init__(self, per_op, q1, q3, baseline, iters, unroll, samples):
        self.median = per_op          # ns per operation, empty loop subtracted
        self.q1 = q1                  # quartiles of the per-operation samples (subtracted)
        self.q3 = q3
        self.baseline = baseline      # ns per operation of the empty loop (subtracted)
        self.iters = iters            # loop iterations per sample
        self.unroll = unroll          # operations per loop iteration
        self.samples = samples        # samples taken

    @property
    def spread(self):
        """Half the interquartile range relative to the median (0.03 == +-3%)."""
        if self.median <= 0:
            return float("nan")
        return (self.q3 - self.q1) / 2.0 / self.median

    def as_dict(self):
        return {"median_ns": self.median, "q1_ns": self.q1, "q3_ns": self.q3,
                "baseline_ns": self.baseline, "iters_per_sample": self.iters,
                "ops_per_iter": self.unroll, "samples": self.samples}


class _Prepared:
    def __init__(self, bench):
        self.bench = bench
        self.run = _compile_loop(bench.stmt, bench.names, bench.unroll)
        self.base = _compile_loop(bench.baseline, bench.baseline_names, bench.unroll)
        self.iters = 1
        self.times = []
        self.base_times = []


def _quantile(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    pos = (len(sorted_vals) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def _calibrate(p, settings):
    """Pick the loop count so that one sample lasts about settings.sample_ns."""
    # The fastest of a few runs: an interruption during calibration must not make
    # the loop count tiny.
    n = 1
    while True:
        t = p.run(n)
        if t < 2 * settings.sample_ns:           # cheap: repeat, keep the fastest
            t = min(t, p.run(n), p.run(n))
        t = max(t, 1)
        if t >= settings.sample_ns / 8 or n >= settings.max_iters:
            break
        n = min(settings.max_iters, n * 10 if t < settings.sample_ns / 100 else n * 2)
    want = int(n * settings.sample_ns / t)
    p.iters = max(1, min(settings.max_iters, want))


def measure(benches, settings):
    """Time a dict {key: Bench | Failure} round-robin.

    Returns {key: Result | Failure}.  A bench whose compilation, first execution,
    check or any sample raises becomes a Failure; the others are unaffected.
    """
    out = {}
    prepared = {}
    gc_was_enabled = gc.isenabled()
    for key, bench in benches.items():
        if isinstance(bench, Failure):
            out[key] = bench
            continue
        try:
            p = _Prepared(bench)
            p.run(1)                               # first execution
            if bench.check is not None:
                ok = eval(bench.check, {}, dict(bench.names))
                if not ok:
                    raise AssertionError("wrong result: %s is false" % bench.check)
            p.base(1)
            gc.disable()
            try:
                _calibrate(p, settings)
            finally:
                if gc_was_enabled:
                    gc.enable()
            prepared[key] = p
        except Exception as exc:                   # noqa: BLE001 - report, don't crash
            out[key] = Failure(describe_exception(exc))

    keys = list(prepared)
    rng = random.Random(12345)
    start = time.perf_counter()
    gc.collect()
    try:
        for s in range(settings.samples):
            if (s >= settings.min_samples and settings.budget_s is not None
                    and time.perf_counter() - start > settings.budget_s):
                break
            if not keys:
                break
            order = list(keys)
            rng.shuffle(order)          # no fixed phase relation with periodic noise
            for key in order:
                p = prepared[key]
                gc.disable()
                try:
                    t = p.run(p.iters)
                    b = p.base(p.iters)
                except Exception as exc:           # noqa: BLE001
                    out[key] = Failure(describe_exception(exc))
                    keys.remove(key)
                    continue
                finally:
                    if gc_was_enabled:
                        gc.enable()
                ops = p.iters * p.bench.unroll
                p.times.append(t / ops)
                p.base_times.append(b / ops)
    finally:
        if gc_was_enabled:
            gc.enable()

    for key in keys:
        p = prepared[key]
        base = statistics.median(p.base_times)
        vals = sorted(x - base for x in p.times)
        out[key] = Result(statistics.median(vals), _quantile(vals, 0.25),
                          _quantile(vals, 0.75), base, p.iters, p.bench.unroll,
                          len(vals))
    gc.collect()
    return {k: out[k] for k in benches}


def format_ns(ns, micro="µs"):
    """12.3 ns / 456 ns / 7.89 µs / 12.3 ms / 1.23 s."""
    if ns is None or (isinstance(ns, float) and math.isnan(ns)):
        return "n/a"
    if ns < 0:
        ns = 0.0
    for scale, unit in ((1, "ns"), (1e3, micro), (1e6, "ms"), (1e9, "s")):
        v = ns / scale
        if v < 1000 or unit == "s":
            if v < 10:
                return "%.2f %s" % (v, unit)
            if v < 100:
                return "%.1f %s" % (v, unit)
            return "%.0f %s" % (v, unit)
    return "%.0f s" % (ns / 1e9)
