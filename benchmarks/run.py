"""nffi benchmark suite: nffi vs cffi (ABI and API mode) vs ctypes, side by side.

    python benchmarks/run.py [--quick] [--only SUBSTRING] [--json FILE]

See benchmarks/README.md.  The rows are declared in benchmarks/rows.py, the timing
method is in benchmarks/timing.py.
"""
import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import platform
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

_dont_write = sys.dont_write_bytecode
sys.dont_write_bytecode = True          # no __pycache__ in the repo
import rows as rowdefs                                          # noqa: E402
from rows import CDEF, IMPLS, PEERS, NA, Derived                # noqa: E402
from timing import Failure, Settings, measure, format_ns, describe_exception  # noqa: E402
sys.dont_write_bytecode = _dont_write

BENCHLIB_C = os.path.join(HERE, "_benchlib.c")
API_MODULE = "_nffi_bench_api"

DEFAULT = Settings(samples=151, min_samples=3, sample_ns=400_000, max_iters=10_000)
QUICK = Settings(samples=41, min_samples=3, sample_ns=300_000, max_iters=10_000)


# ---- builds (cached outside the repo) -----------------------------------------------

def cache_dir():
    d = os.environ.get("NFFI_BENCH_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "nffi-bench")
    os.makedirs(d, exist_ok=True)
    return d


def _hash(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _read_benchlib():
    with open(BENCHLIB_C) as f:
        return f.read()


def build_benchlib(log):
    """Compile _benchlib.c into the cache (once per source/compiler); return the path."""
    src = _read_benchlib()
    cc = shlex.split(os.environ.get("CC", "cc"))
    flags = ["-O2", "-shared", "-fPIC"]
    key = _hash(src, " ".join(cc + flags), platform.machine(), sys.platform)
    out = os.path.join(cache_dir(), "_benchlib-%s.so" % key)
    if not os.path.exists(out):
        log("building %s" % out)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache_dir())
        os.close(fd)
        try:
            proc = subprocess.run(cc + flags + [BENCHLIB_C, "-o", tmp],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError("cc failed: %s" % (proc.stderr.strip().splitlines()
                                                     or ["exit %d" % proc.returncode])[0])
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return out


# In API mode qsort is declared with the comparator type the benchmark uses
# (int (*)(const int *, const int *)); cast it to the libc prototype's type.
_API_EXTRA = """
#define qsort(b, n, s, c) qsort((b), (n), (s), (int (*)(const void *, const void *))(c))
"""


def build_api_module(log):
    """Build (once) and import the cffi API-mode module; return the module."""
    import cffi
    source = ("#include <stdlib.h>\n#include <string.h>\n#include <stdio.h>\n"
              + _read_benchlib() + _API_EXTRA)
    ext = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    key = _hash(CDEF, source, cffi.__version__, sys.version, ext, platform.machine())
    d = os.path.join(cache_dir(), "api-%s" % key)
    so = os.path.join(d, API_MODULE + ext)
    if not os.path.exists(so):
        log("building cffi API-mode module in %s" % d)
        tmpd = tempfile.mkdtemp(prefix="build-", dir=cache_dir())
        ffib = cffi.FFI()
        ffib.cdef(CDEF)
        ffib.set_source(API_MODULE, source)
        out = io.StringIO()
        cwd = os.getcwd()
        try:
            os.chdir(tmpd)       # whatever the build tools write goes to the cache
            with contextlib.redirect_stdout(out):
                built = ffib.compile(tmpdir=tmpd, verbose=False)
        except Exception as exc:
            raise RuntimeError("cffi API build failed: %s" % describe_exception(exc))
        finally:
            os.chdir(cwd)
        if os.path.basename(built) != API_MODULE + ext:
            raise RuntimeError("unexpected build output %s" % built)
        try:
            os.rename(tmpd, d)
        except OSError:
            if not os.path.exists(so):     # not a concurrent build that won the race
                raise
    spec = importlib.util.spec_from_file_location(API_MODULE, so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- implementations --------------------------------------------------------------

class _Lazy:
    """Attribute computed on first access; a failure is remembered and re-raised."""

    def __init__(self, fn):
        self.fn = fn
        self.name = fn.__name__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        cache = obj.__dict__.setdefault("_lazy", {})
        if self.name not in cache:
            try:
                cache[self.name] = (True, self.fn(obj))
            except Exception as exc:          # noqa: BLE001
                cache[self.name] = (False, exc)
        ok, val = cache[self.name]
        if not ok:
            raise val
        return val


class FFIEnv:
    """nffi or cffi in ABI mode."""

    def __init__(self, kind, FFI, benchlib):
        self.kind = kind
        self.FFI = FFI
        self._benchlib = benchlib        # path, or the exception of its build

    @_Lazy
    def ffi(self):
        ffi = self.FFI()
        ffi.cdef(CDEF)
        return ffi

    @_Lazy
    def libc(self):
        return self.ffi.dlopen(None)

    @_Lazy
    def blib(self):
        if isinstance(self._benchlib, Exception):
            raise self._benchlib
        return self.ffi.dlopen(self._benchlib)


class APIEnv:
    """cffi in API mode: the compiled module's ffi and lib."""
    kind = "cffi API"
    FFI = None

    def __init__(self, module):
        self.ffi = module.ffi
        self.libc = module.lib
        self.blib = module.lib


class CtypesEnv:
    kind = "ctypes"

    def __init__(self, benchlib):
        import ctypes as ct
        self.ct = ct
        self._benchlib = benchlib

        class PT(ct.Structure):
            _fields_ = [("x", ct.c_int), ("y", ct.c_int)]
        self.PT = PT
        self.CMP = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))

    @_Lazy
    def libc(self):
        ct = self.ct
        libc = ct.CDLL(None)
        libc.abs.argtypes = [ct.c_int]
        libc.abs.restype = ct.c_int
        libc.strlen.argtypes = [ct.c_char_p]
        libc.strlen.restype = ct.c_size_t
        libc.snprintf.argtypes = [ct.c_char_p, ct.c_size_t, ct.c_char_p]
        libc.snprintf.restype = ct.c_int
        libc.qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, self.CMP]
        libc.qsort.restype = None
        return libc

    @_Lazy
    def blib(self):
        if isinstance(self._benchlib, Exception):
            raise self._benchlib
        ct = self.ct
        lib = ct.CDLL(self._benchlib)
        lib.add6.argtypes = [ct.c_long] * 6
        lib.add6.restype = ct.c_long
        lib.add3d.argtypes = [ct.c_double] * 3
        lib.add3d.restype = ct.c_double
        lib.mkpt.argtypes = [ct.c_int, ct.c_int]
        lib.mkpt.restype = self.PT
        lib.sumpt.argtypes = [self.PT]
        lib.sumpt.restype = ct.c_int
        return lib


def nffi_is_cffi():
    return os.environ.get("NFFI_BENCH_IMPL", "").strip().lower() == "cffi"


def load_nffi_class():
    """The FFI class of the "nffi" column and a description of where it came from."""
    if nffi_is_cffi():
        import cffi
        return cffi.FFI, "cffi.FFI %s (NFFI_BENCH_IMPL=cffi: sanity check, not nffi!)" % (
            cffi.__version__)
    try:
        import nffi
    except ImportError:
        src = os.path.join(REPO, "src")
        for name in [m for m in sys.modules if m == "nffi" or m.startswith("nffi.")]:
            del sys.modules[name]
        sys.path.insert(0, src)
        import nffi
    return nffi.FFI, "nffi from %s" % os.path.dirname(getattr(nffi, "__file__", "?") or "?")


def make_envs(impls, log):
    """{impl: env or Failure} and a list of description lines."""
    envs, info = {}, []
    benchlib = None
    if any(i in impls for i in ("nffi", "cffi ABI", "ctypes")):
        try:
            benchlib = build_benchlib(log)
        except Exception as exc:              # noqa: BLE001
            benchlib = RuntimeError("building _benchlib.c: %s" % describe_exception(exc))
    if "nffi" in impls:
        try:
            FFI, desc = load_nffi_class()
            envs["nffi"] = FFIEnv("nffi", FFI, benchlib)
            info.append("nffi column: " + desc)
        except Exception as exc:              # noqa: BLE001
            envs["nffi"] = Failure("import nffi: " + describe_exception(exc))
            info.append("nffi column: unavailable (%s)" % envs["nffi"].reason)
    if "cffi ABI" in impls or "cffi API" in impls:
        try:
            import cffi
            info.append("cffi %s, ctypes, Python %s" % (cffi.__version__,
                                                         platform.python_version()))
        except Exception as exc:              # noqa: BLE001
            cffi = None
            envs["cffi ABI"] = envs["cffi API"] = Failure(
                "import cffi: " + describe_exception(exc))
    if "cffi ABI" in impls and "cffi ABI" not in envs:
        envs["cffi ABI"] = FFIEnv("cffi ABI", cffi.FFI, benchlib)
    if "cffi API" in impls and "cffi API" not in envs:
        try:
            envs["cffi API"] = APIEnv(build_api_module(log))
        except Exception as exc:              # noqa: BLE001
            envs["cffi API"] = Failure(describe_exception(exc))
    if "ctypes" in impls:
        try:
            envs["ctypes"] = CtypesEnv(benchlib)
        except Exception as exc:              # noqa: BLE001
            envs["ctypes"] = Failure("import ctypes: " + describe_exception(exc))
    return envs, info


# ---- table ----------------------------------------------------------------------------

class Table:
    def __init__(self, name_width, micro, out=sys.stdout):
        self.out = out
        self.micro = micro
        self.notes = []              # footnote texts, in order
        self.cols = [("operation", name_width, "<")]
        self.cols += [(impl, 9, ">") for impl in IMPLS]
        self.cols += [("best peer", 9, ">"), ("ratio", 7, ">"), ("target", 7, ">"),
                      ("met", 4, ">"), ("noise", 6, ">")]

    def _line(self, cells):
        parts = []
        for (name, width, align), cell in zip(self.cols, cells):
            parts.append(("%-*s" if align == "<" else "%*s") % (width, cell))
        print("  ".join(parts).rstrip(), file=self.out, flush=True)

    def header(self):
        self._line([c[0] for c in self.cols])
        self._line(["-" * c[1] for c in self.cols])

    def group(self, title):
        print("[%s]" % title, file=self.out, flush=True)

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)
        return "[%d]" % (self.notes.index(text) + 1)

    def cell(self, impl, res):
        if res is None:
            return ""
        if isinstance(res, Failure):
            if res.reason == NA:
                return "n/a"
            return "n/a" + self.note("%s: %s" % (impl, res.reason))
        return format_ns(res.median, self.micro)

    def row(self, name, results, best, ratio, target, met, noise, has_peers=True):
        cells = [name] + [self.cell(i, results.get(i)) for i in IMPLS]
        ratio_cell = fmt_ratio(ratio) if has_peers else ""
        cells += [best or "", ratio_cell, fmt_target(target), met, noise]
        self._line(cells)

    def footer(self):
        if self.notes:
            print(file=self.out)
        for i, text in enumerate(self.notes, 1):
            print("[%d] %s" % (i, text), file=self.out)


def fmt_target(t):
    if t is None:
        return ""
    return "<=%.2f" % t if t >= 0.01 else "<=%g" % t


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if r < 0.01:
        return "%.1e" % r
    if r < 10:
        return "%.3f" % r
    return "%.1f" % r


def _ok(res):
    return res is not None and not isinstance(res, Failure)


def judge(results, target, peers):
    """(best peer name, ratio, met) for one row's results."""
    measured = [(results[p].median, p) for p in peers if _ok(results.get(p))]
    best = min(measured)[1] if measured else None
    ratio = None
    if best is not None and _ok(results.get("nffi")):
        denom = results[best].median
        ratio = results["nffi"].median / denom if denom > 0 else float("inf")
    if target is None:
        met = ""
    elif ratio is None:
        met = "n/a"
    else:
        met = "yes" if ratio <= target else "NO"
    return best, ratio, met


# ---- main --------------------------------------------------------------------------

def select_rows(only):
    if not only:
        return list(rowdefs.ROWS)
    needle = only.lower()
    chosen = {r.name for r in rowdefs.ROWS if needle in r.name.lower()}
    for r in rowdefs.ROWS:
        if isinstance(r, Derived) and r.name in chosen:
            chosen.update(r.deps)
    selected = [r for r in rowdefs.ROWS if r.name in chosen]
    # a derived row whose inputs are all selected comes along
    for r in rowdefs.ROWS:
        if isinstance(r, Derived) and r not in selected and all(d in chosen for d in r.deps):
            selected.append(r)
    return [r for r in rowdefs.ROWS if r in selected]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fast smoke run (fewer, shorter samples)")
    ap.add_argument("--only", metavar="SUBSTRING",
                    help="run only the rows whose name contains SUBSTRING (case-insensitive)")
    ap.add_argument("--json", metavar="FILE", help="also save the results as JSON")
    ap.add_argument("--samples", type=int,
                    help="samples per measurement (default %d, quick %d)"
                    % (DEFAULT.samples, QUICK.samples))
    ap.add_argument("--impls", metavar="LIST",
                    help="comma-separated subset of: %s (case, spaces, - and _ ignored,"
                    " e.g. nffi,cffi-abi)" % ", ".join(IMPLS))
    ap.add_argument("--list", action="store_true", help="list the rows and exit")
    ap.add_argument("--rffi", action="store_true",
                    help="also run the rffi rows (rffi_bench.py: the rffi front end against "
                    "nffi's own ffi path; --only filters them too)")
    args = ap.parse_args(argv)

    selected = select_rows(args.only)
    if args.list:
        for r in rowdefs.ROWS:
            print("%-45s %s" % (r.name, r.group))
        return 0
    if not selected and args.rffi:            # only rffi rows match
        import rffi_bench
        rffi_bench.report(QUICK if args.quick else DEFAULT, args.only)
        return 0
    if not selected:
        print("no row matches %r" % args.only, file=sys.stderr)
        return 2
    impls = IMPLS
    if args.impls:
        def norm(x):
            return "".join(c for c in x.lower() if c.isalnum())
        known = {norm(i): i for i in IMPLS}
        wanted = [i for i in args.impls.split(",") if i.strip()]
        impls = tuple(known.get(norm(i), i) for i in wanted)
        bad = [i for i in impls if i not in IMPLS]
        if bad:
            print("unknown implementation(s): %s" % ", ".join(bad), file=sys.stderr)
            return 2

    base = QUICK if args.quick else DEFAULT
    base = base.replace(samples=args.samples)

    def log(msg):
        print("# " + msg, file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    envs, info = make_envs(impls, log)
    enc = (getattr(sys.stdout, "encoding", None) or "ascii")
    try:
        "µ".encode(enc)
        micro = "µs"
    except (UnicodeEncodeError, LookupError):
        micro = "us"

    print("nffi benchmarks: Python %s on %s %s, %s CPU(s)%s" % (
        platform.python_version(), platform.system(), platform.machine(),
        os.cpu_count(), ", QUICK" if args.quick else ""))
    for line in info:
        print("  " + line)
    print("  median time per operation (empty loop subtracted); %d samples round-robin;"
          " ratio = nffi / best peer" % base.samples)
    print()

    name_width = max(len(r.name) for r in selected)
    table = Table(name_width, micro)
    table.header()
    all_results = {}
    json_rows = []
    group = None
    for row in selected:
        if row.group != group:
            group = row.group
            table.group(group)
        if isinstance(row, Derived):
            try:
                ratio = row.compute(all_results)
            except Exception as exc:         # noqa: BLE001
                ratio = None
                table.note("%s: %s" % (row.name, describe_exception(exc)))
            met = "n/a" if ratio is None else ("yes" if ratio <= row.target else "NO")
            table.row(row.name, {}, "", ratio, row.target, met, "")
            json_rows.append({"name": row.name, "group": row.group, "target": row.target,
                              "ratio": ratio, "met": met, "derived": True,
                              "describe": row.describe})
            continue

        benches = {}
        for impl in IMPLS:
            if impl not in row.setups:
                continue
            if impl not in impls:
                benches[impl] = Failure("not selected (--impls)")
                continue
            setup = row.setups[impl]
            env = envs.get(impl)
            if setup is NA or setup is None:
                benches[impl] = Failure(NA)
            elif isinstance(env, Failure):
                benches[impl] = env
            else:
                try:
                    benches[impl] = setup(env)
                except Exception as exc:     # noqa: BLE001
                    benches[impl] = Failure("setup: " + describe_exception(exc))
        settings = base.replace(**row.settings)
        if args.quick:
            settings = settings.replace(**row.quick)
        if args.samples:
            settings = settings.replace(samples=args.samples)
        results = measure(benches, settings)
        all_results[row.name] = results
        peers = [p for p in PEERS if p in results]
        best, ratio, met = judge(results, row.target, peers)
        spreads = [r.spread for r in results.values() if _ok(r) and r.spread == r.spread]
        noise = "±%.0f%%" % (100 * max(spreads)) if spreads else ""
        table.row(row.name, results, best, ratio, row.target, met, noise,
                  has_peers=bool(peers))
        json_rows.append({
            "name": row.name, "group": row.group, "target": row.target, "ratio": ratio,
            "met": met, "best_peer": best,
            "results": {k: (v.as_dict() if _ok(v) else {"error": v.reason})
                        for k, v in results.items()}})

    table.footer()
    judged = [r for r in json_rows if r["target"] is not None]
    n_yes = sum(r["met"] == "yes" for r in judged)
    n_na = sum(r["met"] == "n/a" for r in judged)
    elapsed = time.perf_counter() - t_start
    print()
    vs_abi = sorted(r["results"]["nffi"]["median_ns"] / r["results"]["cffi ABI"]["median_ns"]
                    for r in json_rows
                    if "median_ns" in r.get("results", {}).get("nffi", {})
                    and r["results"].get("cffi ABI", {}).get("median_ns", 0) > 0)
    if vs_abi:
        print("nffi / cffi ABI over %d rows: median %.3f, min %.3f, max %.3f%s" % (
            len(vs_abi), vs_abi[len(vs_abi) // 2], vs_abi[0], vs_abi[-1],
            "  (NFFI_BENCH_IMPL=cffi: expect ~1.0)" if nffi_is_cffi() else ""))
    print("targets met: %d of %d%s; total time %.1f s" % (
        n_yes, len(judged), " (%d n/a)" % n_na if n_na else "", elapsed))

    if args.rffi:
        import rffi_bench
        print()
        rffi_bench.report(base, args.only)

    if args.json:
        doc = {"meta": {"python": sys.version, "platform": platform.platform(),
                        "cpus": os.cpu_count(), "quick": args.quick,
                        "samples": base.samples, "impls": list(impls),
                        "nffi_bench_impl": os.environ.get("NFFI_BENCH_IMPL", ""),
                        "info": info, "elapsed_s": elapsed,
                        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
               "rows": json_rows}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print("saved %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
