"""The probes of tests/test_adversarial.py, and the child process that runs them.

A probe is Python code run against a fresh `ffi = nffi.FFI()` (with `nffi`, `gc`, `sys`,
`threading`, `LIB` -- the path of tests/clib/adversarial.c compiled -- and `CDEF`, its
declarations, in scope), and what must come of it:

* ``raises=NAME``: an exception of that class (a builtin, or an attribute of nffi);
* ``value=EXPR``: no exception, and the variable ``result`` equal to EXPR;
* ``unraisable=NAME``: no exception, and sys.unraisablehook saw an exception of that
  class (an exception in a destructor is reported, never lost, never a crash);
* neither: no exception.

Each has ``why``: the rule (nffi's docs or cffi's behaviour) that makes this the answer;
"cffi crashes" says that cffi crashes there and nffi must raise.

Run as a script (`python adversarial_probes.py FIRST`) it runs the probes from index
FIRST on and prints one JSON line per probe ("start" before, the outcome after), so that
the parent can tell which probe killed or hung the process and start again after it.
"""
import json
import os
import sys

PROBE_TIMEOUT = 20          # seconds; a probe that takes longer is reported as a hang


class Probe:
    def __init__(self, cls, name, code, why, raises=None, value=None, unraisable=None):
        self.cls, self.name, self.code, self.why = cls, name, code, why
        self.raises, self.value, self.unraisable = raises, value, unraisable

    @property
    def id(self):
        return "c%s-%s" % (self.cls, self.name)


PROBES = []


def probe(cls, name, code, why, **expect):
    PROBES.append(Probe(cls, name, code, why, **expect))


# Shared helpers defined in every probe's namespace.
PRELUDE = '''
class Clears:
    """An integer whose conversion empties the container it sits in."""
    def __init__(self, box): self.box = box
    def __int__(self):
        self.box.clear(); gc.collect(); return 1
    __index__ = __int__
    def __float__(self):
        self.box.clear(); gc.collect(); return 1.0

class Releases:
    """An integer whose conversion releases a cdata (ffi.release)."""
    def __init__(self, cd=None): self.cd = cd
    def __int__(self):
        ffi.release(self.cd); return 1
    __index__ = __int__
    def __float__(self):
        ffi.release(self.cd); return 1.0

class Closes:
    """An integer whose conversion closes a library (ffi.dlclose)."""
    def __init__(self, lib): self.lib = lib
    def __int__(self):
        ffi.dlclose(self.lib); return 3
    __index__ = __int__

def freeable(cdecl, init=None):
    """A cdata whose release really frees: an allocator over C malloc/free."""
    libc = ffi.dlopen(None)
    alloc = ffi.new_allocator(libc.malloc, libc.free)
    return alloc(cdecl, init)

def fresh_buffer(cdecl, n):
    return ffi.from_buffer(cdecl, bytearray(n))
'''


# NFFI_ADVERSARIAL_REPEAT=N: also run each probe (but the slow ones) N more times and
# report how much memory that kept (tracemalloc, RSS): the leak check of the probes.
REPEAT = int(os.environ.get("NFFI_ADVERSARIAL_REPEAT", "0"))


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _growth(p, ns, lib_path):
    """(tracemalloc bytes, RSS bytes) kept by REPEAT more runs of p, after a warm-up."""
    import gc
    import tracemalloc
    code = compile(p.code, p.id, "exec")
    sys.unraisablehook = lambda u: None

    ffi = ns["ffi"]

    def run(n):
        for _ in range(n):
            scope = dict(ns)
            try:
                exec(code, scope)
            except BaseException:   # noqa: B902 - the outcome was checked once already
                pass
            # an FFI keeps every library it opened alive (as cffi's does): by design, so
            # dropped between runs to see what nffi itself keeps
            getattr(ffi, "_libraries", []).clear()
    run(max(1, REPEAT // 10))
    gc.collect()
    tracemalloc.start()
    before, rss = tracemalloc.get_traced_memory()[0], _rss()
    run(REPEAT)
    gc.collect()
    after, rss_after = tracemalloc.get_traced_memory()[0], _rss()
    tracemalloc.stop()
    return after - before, rss_after - rss


def _run_child(first):
    import gc
    import signal
    import threading

    import nffi

    unraisable = []

    def on_alarm(signum, frame):
        raise TimeoutError("probe took more than %d s" % PROBE_TIMEOUT)
    signal.signal(signal.SIGALRM, on_alarm)
    lib_path = os.environ["NFFI_ADVERSARIAL_LIB"]
    for index in range(first, len(PROBES)):
        p = PROBES[index]
        print(json.dumps({"start": index, "id": p.id}), flush=True)
        ffi = nffi.FFI()
        ffi.cdef(CDEF)
        ns = {"nffi": nffi, "ffi": ffi, "gc": gc, "sys": sys, "threading": threading,
              "LIB": lib_path, "CDEF": CDEF}
        exec(PRELUDE, ns)
        del unraisable[:]
        sys.unraisablehook = lambda u: unraisable.append(u.exc_type.__name__)
        outcome = {"index": index, "id": p.id}
        signal.alarm(PROBE_TIMEOUT)
        try:
            exec(p.code, ns)
            gc.collect()
        except BaseException as e:   # noqa: B902 - every outcome is reported
            outcome["raised"] = type(e).__name__
            outcome["message"] = str(e)[:300]
            outcome["mro"] = [c.__name__ for c in type(e).__mro__]
        finally:
            signal.alarm(0)
        outcome["unraisable"] = list(unraisable)
        if REPEAT and p.cls != 7 and p.name not in SLOW:
            outcome["growth"] = _growth(p, ns, lib_path)
        if "raised" not in outcome and "result" in ns:
            outcome["result"] = repr(ns["result"])[:300]
            if p.value is not None:
                try:
                    outcome["equal"] = bool(ns["result"] == eval(p.value, ns))
                except Exception as e:
                    outcome["equal"] = False
                    outcome["message"] = "comparing: %r" % (e,)
        print(json.dumps(outcome), flush=True)


# The C library the probes call (compiled by the test, path in NFFI_ADVERSARIAL_LIB).
C_SOURCE = r'''
#include <string.h>
int g_array[5] = { 1, 2, 3, 4, 5 };
int g_int = 42;
int add(int a, int b) { return a + b; }
long sum_ints(const int *p, int n) { long s = 0; for (int i = 0; i < n; i++) s += p[i]; return s; }
size_t length_of(const char *s) { return strlen(s); }
int call_cb(int (*cb)(int), int x) { return cb(x) * 2; }
int first_int(const int *p) { return p[0]; }
'''
CDEF = '''
int g_array[5];
int g_int;
int add(int, int);
long sum_ints(const int *p, int n);
size_t length_of(const char *);
int call_cb(int (*cb)(int), int x);
int first_int(const int *p);
struct s { int a, b, c; };
struct flex { int n; int data[]; };
struct node { int value; struct node *next; };
void *malloc(size_t);
void free(void *);
'''


# too slow to repeat in the leak check (big loops, sleeps, threads, deep nesting)
SLOW = {"init-once-threads", "threads-release-while-reading", "deep-list-initializer",
        "typeof-deep-pointer", "typeof-deep-parens", "cdef-deep-struct-nesting",
        "ffi-in-cycle-used-by-destructor", "gc-destructor-raises-on-death",
        "allocator-free-raises-on-death", "gc-none-keeps-memory", "new-huge-length"}

# ==== the probes ===========================================================================
# Class numbers follow issue 15: 1 destructors that raise, 2 ffi.gc(p, None), 3 an FFI
# collected while its objects die, 4 user code in the middle of a conversion, 5 released,
# closed and collected memory, 6 known bounds, 7 recursion in deallocation, 8 odd
# subclassing, 9 hangs, 10 silent wrong results; 0 other probes of the public operations.

DOCS_RAISE = "nffi's promise: every detectable misuse raises (docs/guide.md)"
RELEASED = ("after ffi.release() the cdata is unusable: nffi raises ValueError on every "
            "use that can tell (docs/guide.md); cffi crashes or reads freed memory")

# ---- 1: destructors and custom free functions that raise ----
probe(1, "gc-destructor-raises-on-death",
      "for i in range(200):\n    p = ffi.gc(ffi.new('int *'), lambda x: 1/0)\n    del p",
      "cffi reports an exception of a destructor as unraisable and goes on",
      unraisable="ZeroDivisionError")
probe(1, "gc-destructor-raises-on-release",
      "p = ffi.gc(ffi.new('int *'), lambda x: 1/0)\nffi.release(p)",
      "ffi.release() runs the destructor now: its exception propagates (cffi)",
      raises="ZeroDivisionError")
probe(1, "gc-destructor-raises-then-release-again",
      "p = ffi.gc(ffi.new('int *'), lambda x: 1/0)\ntry:\n    ffi.release(p)\nexcept ZeroDivisionError:\n    pass\nffi.release(p)\nresult = 1",
      "the destructor runs exactly once; a second release does nothing", value="1")
probe(1, "allocator-free-raises-on-death",
      "keep = []\ndef alloc(n):\n    b = ffi.new('char[]', n); keep.append(b); return ffi.cast('void *', b)\n"
      "a = ffi.new_allocator(alloc, lambda p: 1/0)\nfor i in range(200):\n    p = a('int *'); del p",
      "an allocator's free that raises is reported as unraisable, as cffi does",
      unraisable="ZeroDivisionError")
probe(1, "allocator-free-raises-on-release",
      "keep = []\ndef alloc(n):\n    b = ffi.new('char[]', n); keep.append(b); return ffi.cast('void *', b)\n"
      "a = ffi.new_allocator(alloc, lambda p: 1/0)\nffi.release(a('int[4]'))",
      "ffi.release() calls free now: its exception propagates", raises="ZeroDivisionError")
probe(1, "allocator-alloc-raises",
      "a = ffi.new_allocator(lambda n: 1/0, None)\na('int *')",
      "an exception of alloc() propagates", raises="ZeroDivisionError")
probe(1, "allocator-alloc-returns-int",
      "a = ffi.new_allocator(lambda n: 5, None)\na('int *')",
      "cffi: alloc() must return a cdata object", raises="TypeError")
probe(1, "allocator-alloc-returns-null",
      "a = ffi.new_allocator(lambda n: ffi.NULL, None)\na('int *')",
      "cffi: MemoryError when alloc() returns NULL", raises="MemoryError")
probe(1, "allocator-alloc-returns-struct",
      "a = ffi.new_allocator(lambda n: ffi.new('struct s *')[0], None)\na('int *')",
      "cffi: alloc() must return a cdata pointer", raises="TypeError")
probe(1, "gc-destructor-releases-itself",
      "box = []\ndef d(x):\n    ffi.release(box[0])\np = ffi.gc(ffi.new('int *'), d)\nbox.append(p)\nffi.release(p)\nresult = 1",
      "a destructor re-entering release() of its own object finds it released: no second call",
      value="1")
probe(1, "gc-destructor-resurrects-original",
      "saved = []\np = ffi.gc(ffi.new('int[3]', [7, 8, 9]), saved.append)\ndel p\ngc.collect()\nresult = list(saved[0])",
      "the destructor gets the original cdata, which stays valid as long as it is referenced",
      value="[7, 8, 9]")
probe(1, "gc-destructor-raises-base-exception",
      "p = ffi.gc(ffi.new('int *'), lambda x: (_ for _ in ()).throw(KeyboardInterrupt))\ndel p",
      "even a BaseException of a destructor is reported, not propagated from a dealloc",
      unraisable="KeyboardInterrupt")
probe(1, "gc-chain-destructors-raise",
      "p = ffi.new('int *')\nfor i in range(100):\n    p = ffi.gc(p, lambda x: 1/0)\ndel p",
      "each destructor of a chain is reported once; the chain is freed",
      unraisable="ZeroDivisionError")

# ---- 2: ffi.gc(p, None) detaches only the destructor ----
probe(2, "gc-none-keeps-memory",
      "called = []\np = ffi.gc(ffi.new('int[1000]'), called.append)\nffi.gc(p, None)\n"
      "other = [ffi.new('int[1000]', [-1] * 1000) for i in range(50)]\np[999] = 5\ngc.collect()\n"
      "result = (p[999], p[0], called)",
      "ffi.gc(p, None) removes the destructor, never the owner of the memory",
      value="(5, 0, [])")
probe(2, "gc-none-no-destructor-on-release",
      "called = []\np = ffi.gc(ffi.new('int *'), called.append)\nffi.gc(p, None)\nffi.release(p)\nresult = called",
      "a detached destructor is not called", value="[]")
probe(2, "gc-none-twice",
      "p = ffi.gc(ffi.new('int *'), lambda x: None)\nffi.gc(p, None)\nffi.gc(p, None)\nresult = p[0]",
      "detaching twice is harmless", value="0")
probe(2, "gc-none-on-plain-cdata",
      "ffi.gc(ffi.new('int *'), None)",
      "cffi: can remove destructor only on an object returned by ffi.gc()", raises="TypeError")
probe(2, "gc-none-views-stay-valid",
      "p = ffi.gc(ffi.new('int[10]', list(range(10))), lambda x: None)\nv = p + 5\nffi.gc(p, None)\ndel p\ngc.collect()\n"
      "junk = [ffi.new('int[10]', [-1] * 10) for i in range(50)]\nresult = v[0]",
      "views keep the memory alive as views of the original do", value="5")

# ---- 3: an FFI collected while objects that use it die ----
probe(3, "ffi-in-cycle-used-by-destructor",
      "seen = []\nfor i in range(10):\n    f = nffi.FFI()\n    f.cdef('struct t { int a; };')\n"
      "    def d(x, f=f):\n        try:\n            seen.append(f.typeof('struct t *'))\n        except Exception as e:\n            seen.append(type(e).__name__)\n"
      "    f.keep = f.gc(f.new('int *'), d)\n    f.me = f\n    del f, d\n    gc.collect()\nresult = len(seen)",
      "a destructor that runs after the collector cleared its FFI gets an exception or "
      "an answer, never a NULL dereference", value="10")
probe(3, "ffi-in-cycle-cdata-repr",
      "f = nffi.FFI()\nf.cdef('struct t { int a; };')\nclass H: pass\nh = H(); h.f = f; h.p = f.new('struct t *'); f.h = h\n"
      "del f, h\ngc.collect()\nresult = 1",
      "collecting a cycle of an FFI and its cdata frees both", value="1")
probe(3, "ffi-cleared-then-used",
      "f = nffi.FFI()\nf.cdef('struct t { int a; };')\nkeep = []\n"
      "class H:\n    def __del__(self):\n        keep.append(self.f.sizeof('struct t'))\n"
      "h = H(); h.f = f; f.h = h\ndel f, h\ngc.collect()\nresult = keep",
      "finalizers of a cycle run before the collector clears it: the FFI still answers",
      value="[4]")

# ---- 4: user code in the middle of a conversion ----
probe(4, "new-array-list-cleared",
      "L = [0] * 10\nL[0] = Clears(L)\nffi.new('int[10]', L)",
      "cffi crashes (reads the freed list); nffi re-reads the list's size after user code",
      raises="RuntimeError")
probe(4, "new-open-array-list-cleared",
      "L = [0] * 10\nL[0] = Clears(L)\nffi.new('int[]', L)",
      "cffi crashes; nffi raises", raises="RuntimeError")
probe(4, "slice-assign-list-cleared",
      "p = ffi.new('int[10]')\nL = [0] * 10\nL[0] = Clears(L)\np[0:10] = L",
      "cffi crashes; nffi raises", raises="RuntimeError")
probe(4, "struct-list-cleared",
      "L = [0, 0, 0]\nL[0] = Clears(L)\nffi.new('struct s *', L)",
      "cffi crashes; nffi raises", raises="RuntimeError")
probe(4, "struct-dict-changed",
      "D = {'a': 0, 'b': 1, 'c': 2}\nclass Grow:\n    def __int__(self):\n        D.clear(); D.update({str(i): i for i in range(40)}); return 1\n"
      "D['a'] = Grow()\nffi.new('struct s *', D)",
      "a dict changed during the conversion raises (as Python's dict iteration does)",
      raises="RuntimeError")
probe(4, "double-array-list-cleared",
      "L = [0.0] * 10\nL[0] = Clears(L)\nffi.new('double[10]', L)",
      "__float__ clearing the list: nffi raises", raises="RuntimeError")
probe(4, "call-list-argument-cleared",
      "lib = ffi.dlopen(LIB)\nL = [0] * 10\nL[0] = Clears(L)\nlib.sum_ints(L, 10)",
      "a list argument becomes a temporary array: its conversion re-reads the list",
      raises="RuntimeError")
probe(4, "item-write-releases-target",
      "p = freeable('int[4]')\np[0] = Releases(p)",
      "cffi writes into freed memory; nffi pins the target while user code runs: the "
      "release raises", raises="ValueError")
probe(4, "field-write-releases-target",
      "p = freeable('struct s *')\np.a = Releases(p)",
      "cffi writes into freed memory; nffi raises", raises="ValueError")
probe(4, "slice-write-releases-target",
      "p = freeable('int[4]')\np[0:3] = [1, Releases(p), 3]",
      "cffi writes into freed memory; nffi raises", raises="ValueError")
probe(4, "item-write-releases-buffer-target",
      "b = bytearray(16)\np = ffi.from_buffer('int[]', b)\np[1] = Releases(p)\nb.extend(bytes(10**6))",
      "a from_buffer cdata stays pinned while written: the bytearray cannot be freed under "
      "the write", raises="ValueError")
probe(4, "call-argument-releases-other",
      "lib = ffi.dlopen(LIB)\np = freeable('int[4]', [1, 2, 3, 4])\nlib.first_int(p) + lib.add(0, 0)\n"
      "r = Releases(p)\nf = lib.sum_ints\nf(p, r)",
      "cffi passes freed memory to C; nffi re-checks the arguments after user code ran",
      raises="ValueError")
probe(4, "call-argument-closes-library",
      "lib = ffi.dlopen(LIB)\nf = lib.add\nf(1, Closes(lib))",
      "cffi calls into unmapped code; nffi re-checks the library after user code ran",
      raises="ValueError")
probe(4, "call-argument-closes-library-first",
      "lib = ffi.dlopen(LIB)\nf = lib.add\nf(Closes(lib), 1)",
      "cffi calls into unmapped code; nffi raises", raises="ValueError")
probe(4, "libffi-call-argument-closes-library",
      "ffi2 = nffi.FFI()\nffi2.cdef('struct s { int a, b, c; }; long sum_ints(const int *p, int n);')\n"
      "lib = ffi2.dlopen(LIB)\nf = lib.sum_ints\nf(ffi2.new('int[2]'), Closes(lib))",
      "the libffi path re-checks too", raises="ValueError")
probe(4, "index-raises-propagates",
      "class Bad:\n    def __int__(self): raise KeyError('x')\nffi.new('int[2]', [1, Bad()])",
      "an exception of __int__ propagates unchanged", raises="KeyError")
probe(4, "int-returns-non-int",
      "class Bad:\n    def __int__(self): return 'x'\nffi.new('int *', Bad())",
      "Python's rule: __int__ must return an int", raises="TypeError")
probe(4, "list-of-lists-cleared",
      "L = [[0, 0], [0, 0], [0, 0]]\nL[1][0] = Clears(L)\nffi.new('int[3][2]', L)",
      "a nested list cleared from within: raises", raises="RuntimeError")
probe(4, "list-grown-during-conversion",
      "L = [0, 0, 0]\nclass Grow:\n    def __int__(self):\n        L.extend(range(1000)); return 1\nL[0] = Grow()\nffi.new('int[3]', L)",
      "a list that grew is not written past the array: raises", raises="RuntimeError")
probe(4, "buffer-slice-assign-from-self",
      "p = ffi.new('char[8]', b'abcdefg')\nb = ffi.buffer(p)\nb[0:4] = b[4:8]\nresult = bytes(b)",
      "buffer slice assignment from bytes of the same memory", value="b'efg\\x00efg\\x00'")
probe(4, "tuple-item-conversion-frees-nothing",
      "t = (1, 2, Clears([]))\nresult = list(ffi.new('int[3]', t))",
      "a tuple cannot change: items whose conversion runs code convert", value="[1, 2, 1]")

# ---- 5: released, closed and collected memory through another path ----
for name, code in [
        ("item", "p[0]"), ("slice", "p[0:2]"), ("add", "p + 1"), ("sub", "p - 1"),
        ("addressof", "ffi.addressof(p, 1)"), ("cast", "ffi.cast('int *', p)"),
        ("cast-int", "ffi.cast('intptr_t', p)"), ("slice-assign", "p[0:2] = [1, 2]"),
        ("item-assign", "p[1] = 5"), ("buffer", "ffi.buffer(p)"), ("unpack", "ffi.unpack(p, 2)"),
        ("iterate", "list(p)"), ("memmove-dest", "ffi.memmove(p, b'abcd', 4)"),
        ("memmove-src", "ffi.memmove(bytearray(4), p, 4)"),
        ("string", "ffi.string(ffi.cast('char *', p))"),
        ("call-argument", "ffi.dlopen(LIB).sum_ints(p, 2)")]:
    for maker, made in [("gc", "ffi.gc(freeable('int[4]'), lambda x: None)"),
                        ("allocator", "freeable('int[4]')"),
                        ("from-buffer", "fresh_buffer('int[]', 16)")]:
        probe(5, "released-%s-%s" % (maker, name), "p = %s\nffi.release(p)\n%s" % (made, code),
              RELEASED, raises="ValueError")
probe(5, "released-view-item",
      "p = freeable('int[4]')\nv = p + 1\nffi.release(p)\nv[0]", RELEASED, raises="ValueError")
probe(5, "released-slice-view-item",
      "p = freeable('int[4]')\nv = p[1:3]\nffi.release(p)\nv[0]", RELEASED, raises="ValueError")
probe(5, "released-field-view",
      "p = freeable('struct s *')\nv = ffi.addressof(p[0], 'b')\nffi.release(p)\nv[0]",
      RELEASED, raises="ValueError")
probe(5, "released-struct-field-read",
      "p = freeable('struct s *')\nffi.release(p)\np.a", RELEASED, raises="ValueError")
probe(5, "released-struct-field-write",
      "p = freeable('struct s *')\nffi.release(p)\np.a = 1", RELEASED, raises="ValueError")
probe(5, "released-buffer-read",
      "p = freeable('int[4]')\nb = ffi.buffer(p)\nffi.release(p)\nb[0]", RELEASED,
      raises="ValueError")
probe(5, "released-buffer-slice",
      "p = freeable('int[4]')\nb = ffi.buffer(p)\nffi.release(p)\nb[0:4]", RELEASED,
      raises="ValueError")
probe(5, "released-buffer-write",
      "p = freeable('int[4]')\nb = ffi.buffer(p)\nffi.release(p)\nb[0:1] = b'x'", RELEASED,
      raises="ValueError")
probe(5, "released-buffer-bytes",
      "p = freeable('int[4]')\nb = ffi.buffer(p)\nffi.release(p)\nbytes(b)", RELEASED,
      raises="ValueError")
probe(5, "released-buffer-compare",
      "p = freeable('int[4]')\nb = ffi.buffer(p)\nffi.release(p)\nb == b'x'", RELEASED,
      raises="ValueError")
probe(5, "release-while-exported",
      "p = freeable('int[4]')\nm = memoryview(ffi.buffer(p))\nffi.release(p)",
      "a memoryview points at the memory: releasing it raises, as resizing an exported "
      "bytearray does (cffi frees it under the view)", raises="ValueError")
probe(5, "release-after-export-ends",
      "p = freeable('int[4]')\nm = memoryview(ffi.buffer(p))\nm.release()\nffi.release(p)\nresult = 1",
      "once the export ends, release works", value="1")
probe(5, "with-block-then-use",
      "with freeable('int[4]') as p:\n    p[0] = 1\np[0]", RELEASED, raises="ValueError")
probe(5, "from-buffer-holds-export",
      "b = bytearray(16)\np = ffi.from_buffer(b)\nb.extend(bytes(100))",
      "from_buffer holds the buffer: the bytearray cannot be resized (Python's BufferError)",
      raises="BufferError")
probe(5, "from-buffer-released-allows-resize",
      "b = bytearray(16)\np = ffi.from_buffer(b)\nffi.release(p)\nb.extend(bytes(100))\nresult = len(b)",
      "after release the buffer is given back", value="116")
probe(5, "gc-wrapper-view-keeps-memory",
      "p = ffi.gc(ffi.new('int[10]', list(range(10))), lambda x: None)\nv = p + 3\ndel p\ngc.collect()\n"
      "junk = [ffi.new('int[10]', [-1] * 10) for i in range(50)]\nresult = v[0]",
      "views taken through an ffi.gc() wrapper keep the memory alive as views of the "
      "original do", value="3")
probe(5, "gc-wrapper-slice-keeps-memory",
      "p = ffi.gc(ffi.new('int[10]', list(range(10))), lambda x: None)\nv = p[2:5]\ndel p\ngc.collect()\n"
      "junk = [ffi.new('int[10]', [-1] * 10) for i in range(50)]\nresult = list(v)",
      "as above, for a slice", value="[2, 3, 4]")
probe(5, "gc-wrapper-flexible-array",
      "q = ffi.gc(ffi.new('struct flex *', [3, [1, 2, 3]]), lambda x: None)\na = q.data\ndel q\ngc.collect()\n"
      "junk = [ffi.new('int[3]', [9, 9, 9]) for i in range(100)]\nresult = (len(a), list(a))",
      "the flexible array read through the wrapper keeps its memory and its bound",
      value="(3, [1, 2, 3])")
probe(5, "gc-wrapper-flexible-array-bound",
      "q = ffi.gc(ffi.new('struct flex *', [3, [1, 2, 3]]), lambda x: None)\nq.data[3]",
      "the allocated bound is known through the wrapper too", raises="IndexError")
probe(5, "allocator-view-keeps-memory",
      "p = freeable('int[4]', [1, 2, 3, 4])\nv = p + 2\ndel p\ngc.collect()\nresult = v[0]",
      "a view of allocator memory keeps the allocation (and its free) alive", value="3")
probe(5, "from-buffer-view-keeps-buffer",
      "p = ffi.from_buffer('int[]', bytearray(b'\\x01\\0\\0\\0\\x02\\0\\0\\0'))\nv = p + 1\ndel p\ngc.collect()\nresult = v[0]",
      "a view of from_buffer memory keeps the buffer", value="2")
probe(5, "dlclose-then-global-array",
      "lib = ffi.dlopen(LIB)\na = lib.g_array\nffi.dlclose(lib)\na[0]",
      "cffi faults (unmapped memory); nffi: the library is closed (ValueError)",
      raises="ValueError")
probe(5, "dlclose-then-global-slice",
      "lib = ffi.dlopen(LIB)\na = lib.g_array\nffi.dlclose(lib)\na[0:2]",
      "as above", raises="ValueError")
probe(5, "dlclose-then-global-pointer",
      "lib = ffi.dlopen(LIB)\na = lib.g_array + 1\nffi.dlclose(lib)\na[0]",
      "as above, through arithmetic", raises="ValueError")
probe(5, "dlclose-then-addressof-global",
      "lib = ffi.dlopen(LIB)\np = ffi.addressof(lib, 'g_int')\nffi.dlclose(lib)\np[0]",
      "as above, for ffi.addressof(lib, name)", raises="ValueError")
probe(5, "dlclose-then-function",
      "lib = ffi.dlopen(LIB)\nf = lib.add\nffi.dlclose(lib)\nf(1, 2)",
      "cffi: calling a function of a closed library raises", raises="ValueError")
probe(5, "dlclose-then-attribute",
      "lib = ffi.dlopen(LIB)\nffi.dlclose(lib)\nlib.g_int",
      "cffi: library has been closed", raises="ValueError")
probe(5, "dlclose-in-callback",
      "lib = ffi.dlopen(LIB)\n@ffi.callback('int(int)')\ndef cb(x):\n    ffi.dlclose(lib)\n    return x + 1\n"
      "result = lib.call_cb(cb, 5)",
      "dlclose() while a call into the library runs must not unmap the code it returns "
      "to: the dlclose waits for the call (cffi crashes)", value="12")
probe(5, "dlclose-in-callback-then-call",
      "lib = ffi.dlopen(LIB)\n@ffi.callback('int(int)')\ndef cb(x):\n    ffi.dlclose(lib)\n    return x\n"
      "lib.call_cb(cb, 5)\nlib.add(1, 2)",
      "after the call the library is closed for new uses", raises="ValueError")
probe(5, "dlclose-twice",
      "lib = ffi.dlopen(LIB)\nffi.dlclose(lib)\nffi.dlclose(lib)\nresult = 1",
      "cffi: closing twice is allowed", value="1")

# ---- 6: bounds that are known ----
probe(6, "owned-pointer-slice-past-end",
      "p = ffi.new('int *')\np[0:50000] = [1] * 50000",
      "cffi writes past the allocation; nffi knows the one item it owns", raises="IndexError")
probe(6, "owned-pointer-slice-read-past-end",
      "p = ffi.new('int *')\np[0:2]", "as above, for a read", raises="IndexError")
probe(6, "owned-pointer-slice-negative",
      "p = ffi.new('int *')\np[-1:1]", "as above, before the item", raises="IndexError")
probe(6, "owned-pointer-slice-one",
      "p = ffi.new('int *', 7)\nresult = list(p[0:1])", "the owned item itself", value="[7]")
probe(6, "owned-pointer-index-one",
      "p = ffi.new('int *')\np[1]", "cffi: an owned 'T *' can only be indexed by 0",
      raises="IndexError")
probe(6, "array-index-past-end",
      "ffi.new('int[3]')[3]", "cffi: index too large", raises="IndexError")
probe(6, "array-index-negative",
      "ffi.new('int[3]')[-1]", "cffi: negative index", raises="IndexError")
probe(6, "array-slice-past-end",
      "ffi.new('int[3]')[0:4]", "cffi: index too large", raises="IndexError")
probe(6, "array-slice-assign-past-end",
      "p = ffi.new('int[3]')\np[1:5] = [1, 2, 3, 4]", "cffi: index too large", raises="IndexError")
probe(6, "array-slice-huge",
      "ffi.new('int[3]')[0:2**62]", "cffi: index too large", raises="IndexError")
probe(6, "array-slice-overflow",
      "ffi.new('int[3]')[0:2**70]", "indexes beyond ssize_t", raises="OverflowError")
probe(6, "too-many-initializers",
      "ffi.new('int[2]', [1, 2, 3])", "cffi: too many initializers", raises="IndexError")
probe(6, "from-handle-small-array",
      "ffi.from_handle(ffi.new('char[1]'))",
      "the guide: from_handle raises where it can tell; nffi reads nothing of memory it "
      "allocated itself", raises="RuntimeError")
probe(6, "from-handle-from-buffer",
      "ffi.from_handle(ffi.from_buffer(bytearray(1)))",
      "as above, for a buffer", raises="RuntimeError")
probe(6, "from-handle-null",
      "ffi.from_handle(ffi.NULL)", "cffi: cannot use from_handle() on NULL pointer",
      raises="RuntimeError")
probe(6, "from-handle-int",
      "ffi.from_handle(5)", "a 'void *' cdata is expected", raises="TypeError")
probe(6, "from-handle-struct",
      "ffi.from_handle(ffi.new('struct s *')[0])", "a 'void *' cdata is expected",
      raises="TypeError")
probe(6, "from-handle-roundtrip-cast",
      "o = object()\nh = ffi.new_handle(o)\nresult = ffi.from_handle(ffi.cast('void *', h)) is o",
      "a handle passed through C (a cast) comes back", value="True")
probe(6, "flex-struct-write-past-allocation",
      "q = ffi.new('struct flex *', [2, [1, 2]])\nq.data = [1, 2, 3, 4, 5, 6, 7, 8]",
      "the allocated size of a variable-size struct is known", raises="IndexError")
probe(6, "new-negative-length",
      "ffi.new('int[]', -1)", "cffi: negative array length", raises="ValueError")
probe(6, "new-huge-length",
      "ffi.new('char[]', 2**62)", "cannot allocate: MemoryError, not a crash",
      raises="MemoryError")
probe(6, "new-length-overflow",
      "ffi.new('int[]', 2**62)", "the byte size does not fit: OverflowError (cffi)",
      raises="OverflowError")
probe(6, "buffer-size-past-end", "ffi.buffer(ffi.new('int[2]'), 100)",
      "cffi makes a buffer past the allocation; nffi knows the size of what it allocated",
      raises="IndexError")
probe(6, "buffer-size-past-from-buffer", "ffi.buffer(ffi.from_buffer(bytearray(4)), 10)",
      "as above, for from_buffer memory", raises="IndexError")
probe(6, "unpack-past-end", "ffi.unpack(ffi.new('int[2]'), 100)",
      "cffi reads past the allocation; nffi raises", raises="IndexError")
probe(6, "unpack-past-end-of-view", "ffi.unpack(ffi.new('int[2]') + 1, 2)",
      "as above, from a pointer into the array", raises="IndexError")
probe(6, "unpack-to-end-of-view", "result = ffi.unpack(ffi.new('int[2]', [1, 2]) + 1, 1)",
      "up to the end is fine", value="[2]")
probe(6, "memmove-past-owned-pointer", "ffi.memmove(ffi.new('int *'), b'x' * 8, 8)",
      "cffi writes past the allocation; nffi knows the one item", raises="ValueError")
probe(6, "memmove-past-array-view", "ffi.memmove(ffi.new('int[2]') + 1, b'x' * 8, 8)",
      "as above, through a pointer into an array", raises="ValueError")
probe(6, "buffer-index-past-end",
      "ffi.buffer(ffi.new('char[4]'))[4]", "Python's rule for sequences", raises="IndexError")

# ---- 7: recursion in deallocation ----
probe(7, "handle-chain",
      "h = None\nfor i in range(1000000):\n    h = ffi.new_handle(h)\ndel h\nresult = 1",
      "freeing a million nested handles must not overflow the C stack (CPython's "
      "trashcan, as containers)", value="1")
probe(7, "gc-chain",
      "p = ffi.new('int *')\nfor i in range(300000):\n    p = ffi.gc(p, lambda x: None)\ndel p\nresult = 1",
      "as above for ffi.gc() wrappers", value="1")
probe(7, "from-buffer-chain",
      "x = ffi.from_buffer(bytearray(8))\nfor i in range(200000):\n    x = ffi.from_buffer(ffi.buffer(x))\ndel x\nresult = 1",
      "as above for from_buffer of a buffer of ...", value="1")
probe(7, "list-of-handles-chain",
      "h = None\nfor i in range(300000):\n    h = ffi.new_handle([h])\ndel h\nresult = 1",
      "handles nested through lists", value="1")

# ---- 8: odd subclassing ----
probe(8, "libbase-subclass-attribute",
      "Base = type(ffi.dlopen(LIB)).__mro__[1]\nclass L(Base): pass\nL().anything",
      "a subclass without the lookup hook: AttributeError, not an endless recursion",
      raises="AttributeError")
probe(8, "library-new-without-init",
      "T = type(ffi.dlopen(LIB))\no = T.__new__(T)\no.add",
      "a <lib> made without __init__ has no library: AttributeError, not a recursion",
      raises="AttributeError")
probe(8, "library-new-without-init-dir",
      "T = type(ffi.dlopen(LIB))\no = T.__new__(T)\ndir(o)", "as above, for dir()",
      raises="AttributeError")
probe(8, "ffibase-subclass",
      "Base = type(ffi).__mro__[1]\nclass F(Base): pass\nF().new('int *')",
      "a native FFI base without the Python front end: AttributeError (no _parse_type)",
      raises="AttributeError")
probe(8, "ffi-subclass-without-init",
      "class F(nffi.FFI):\n    def __init__(self): pass\nf = F()\nresult = f.sizeof('int')",
      "cffi allows an FFI subclass that does not call FFI.__init__", value="4")
probe(8, "cdata-subclass-new",
      "class C(type(ffi.new('int *')).__mro__[0]): pass\nC.__new__(C)",
      "cdata objects are made by ffi only", raises="TypeError")
probe(8, "ctype-subclass",
      "class C(type(ffi.typeof('int'))): pass", "ctypes cannot be subclassed",
      raises="TypeError")
probe(8, "buffer-subclass",
      "class B(type(ffi.buffer(ffi.new('int *')))): pass", "buffer cannot be subclassed",
      raises="TypeError")
probe(8, "gc-cdata-subclass",
      "class G(type(ffi.gc(ffi.new('int *'), lambda x: None))): pass",
      "the gc cdata type cannot be subclassed", raises="TypeError")

# ---- 9: hangs ----
probe(9, "init-once-reentered",
      "def f():\n    return ffi.init_once(f, 'tag')\nffi.init_once(f, 'tag')",
      "cffi deadlocks; nffi raises: the function asked for its own result",
      raises="RuntimeError")
probe(9, "init-once-other-tag-inside",
      "def g():\n    return 2\ndef f():\n    return ffi.init_once(g, 'b') + 1\nresult = ffi.init_once(f, 'a')",
      "another tag inside is fine", value="3")
probe(9, "init-once-retried-after-error",
      "n = []\ndef f():\n    n.append(1)\n    if len(n) == 1: raise ValueError\n    return 5\n"
      "try:\n    ffi.init_once(f, 't')\nexcept ValueError:\n    pass\nresult = ffi.init_once(f, 't')",
      "cffi: an exception is not cached, the next call runs f again", value="5")
probe(9, "init-once-threads",
      "out = []\nimport time\ndef f():\n    time.sleep(0.05); out.append(1); return 7\n"
      "ts = [threading.Thread(target=lambda: out.append(ffi.init_once(f, 'x'))) for i in range(4)]\n"
      "[t.start() for t in ts]; [t.join() for t in ts]\nresult = sorted(out)",
      "concurrent callers wait for the one run", value="[1, 7, 7, 7, 7]")
probe(9, "init-once-reentered-after-error",
      "def f():\n    return ffi.init_once(f, 'tag')\ntry:\n    ffi.init_once(f, 'tag')\nexcept RuntimeError:\n    pass\n"
      "result = ffi.init_once(lambda: 9, 'tag')",
      "the failed run leaves the tag usable", value="9")

# ---- 10: silent wrong results ----
probe(10, "offsetof-overflow", "ffi.offsetof('int[10]', 2**62)",
      "cffi: OverflowError, not a wrapped offset", raises="OverflowError")
probe(10, "offsetof-overflow-negative", "ffi.offsetof('int[10]', -2**62)",
      "as above, below", raises="OverflowError")
probe(10, "offsetof-two-steps-overflow", "ffi.offsetof('int[4][4]', 2**59, 2**59)",
      "the sum of two offsets that does not fit", raises="OverflowError")
probe(10, "addressof-overflow", "ffi.addressof(ffi.new('int[10]'), 2**62)",
      "cffi: OverflowError", raises="OverflowError")
probe(10, "pointer-add-overflow", "ffi.new('int[10]') + 2**63",
      "the offset does not fit a ssize_t", raises="OverflowError")
probe(10, "cast-source-keyword", "result = int(ffi.cast('int', source=3))",
      "cffi names cast()'s arguments (cdecl, source)", value="3")
probe(10, "cast-cdecl-keyword", "result = int(ffi.cast(cdecl='int', source=3))",
      "as above", value="3")
probe(10, "typeof-keyword", "result = ffi.typeof(cdecl='int').cname",
      "cffi: typeof(cdecl)", value="'int'")
probe(10, "sizeof-keyword", "result = ffi.sizeof(cdecl='int')", "cffi: sizeof(cdecl)",
      value="4")
probe(10, "alignof-keyword", "result = ffi.alignof(cdecl='int')", "cffi: alignof(cdecl)",
      value="4")
probe(10, "handle-keywords", "result = ffi.from_handle(x=ffi.new_handle(x=12))",
      "cffi: new_handle(x), from_handle(x)", value="12")
probe(10, "release-keyword", "ffi.release(x=ffi.new('int *'))\nresult = 1",
      "cffi: release(x)", value="1")
probe(10, "cast-missing-argument", "ffi.cast('int')", "Python's rule",
      raises="TypeError")
probe(10, "sizeof-unknown-keyword", "ffi.sizeof(ctype='int')", "Python's rule",
      raises="TypeError")
probe(10, "bytes-subclass-char-pointer-direct",
      "class B(bytes): pass\nlib = ffi.dlopen(LIB)\nresult = lib.length_of(B(b'hello'))",
      "cffi takes a bytes subclass for 'char *', on every call path", value="5")
probe(10, "bytes-subclass-char-pointer-libffi",
      "class B(bytes): pass\nlib = ffi.dlopen(LIB)\nf = ffi.cast('size_t(*)(const char *, ...)', ffi.cast('void *', lib.length_of))\n"
      "result = f(B(b'hey'))", "as above on the libffi path (variadic)", value="3")
probe(10, "int-overflow", "ffi.new('int *', 2**31)", "cffi: OverflowError",
      raises="OverflowError")
probe(10, "uchar-negative", "ffi.new('unsigned char *', -1)", "cffi: OverflowError",
      raises="OverflowError")
probe(10, "int-from-float", "ffi.new('int *', 1.5)", "cffi: an integer is required",
      raises="TypeError")
probe(10, "bool-out-of-range", "ffi.new('_Bool *', 2)", "cffi: a _Bool is 0 or 1",
      raises="OverflowError")
probe(10, "char-too-long", "ffi.new('char *', b'ab')", "cffi: a char is one byte",
      raises="TypeError")
probe(10, "array-string-too-long", "ffi.new('char[2]', b'abc')",
      "cffi: initializer string is too long", raises="IndexError")
probe(10, "struct-too-many", "ffi.new('struct s *', [1, 2, 3, 4])",
      "cffi: too many initializers", raises="ValueError")
probe(10, "struct-unknown-field", "ffi.new('struct s *', {'zz': 1})",
      "cffi: no such field", raises="KeyError")
probe(10, "field-write-overflow", "p = ffi.new('struct s *')\np.a = 2**40",
      "truncation raises", raises="OverflowError")
probe(10, "slice-assign-overflow", "p = ffi.new('short[2]')\np[0:2] = [1, 2**20]",
      "truncation raises", raises="OverflowError")

# ---- 0: other operations, hostile arguments ----
probe(0, "null-index", "ffi.NULL[0]", "cffi: cannot dereference null pointer",
      raises="RuntimeError")
probe(0, "null-cast-index", "ffi.cast('int *', 0)[0]", "cffi: null pointer",
      raises="RuntimeError")
probe(0, "null-field", "ffi.cast('struct s *', 0).a", "cffi: null pointer",
      raises="RuntimeError")
probe(0, "null-string", "ffi.string(ffi.cast('char *', 0))", "cffi: null pointer",
      raises="RuntimeError")
probe(0, "null-unpack", "ffi.unpack(ffi.cast('int *', 0), 3)", "cffi: null pointer",
      raises="RuntimeError")
probe(0, "null-buffer", "ffi.buffer(ffi.cast('char *', 0), 4)",
      "no buffer of NULL memory", raises="RuntimeError")
probe(0, "null-call", "ffi.cast('int(*)(int)', 0)(1)", "cffi: cannot call null pointer",
      raises="RuntimeError")
probe(0, "null-slice-empty", "result = len(ffi.cast('int *', 0)[0:0])",
      "an empty slice of NULL reads nothing", value="0")
probe(0, "opaque-index", "ffi.cdef('struct opq;')\nffi.cast('struct opq *', 16)[0]",
      "nffi refuses to read an item of unknown size (cffi returns an unusable "
      "'struct opq &' cdata)", raises="TypeError")
probe(0, "opaque-new", "ffi.cdef('struct opq;')\nffi.new('struct opq *')",
      "cffi: cannot instantiate an incomplete struct", raises="TypeError")
probe(0, "void-new", "ffi.new('void *')", "cffi: cannot instantiate void",
      raises="TypeError")
probe(0, "function-new", "ffi.new('int(*)(int)')", "a function pointer cannot be new'ed",
      raises="TypeError")
probe(0, "new-non-pointer", "ffi.new('int')", "cffi: expected a pointer or array ctype",
      raises="TypeError")
probe(0, "typeof-garbage", "ffi.typeof('int int int ***** [')", "cffi: CDefError",
      raises="CDefError")
probe(0, "typeof-deep-pointer", "ffi.typeof('int' + '*' * 100000)",
      "a nesting bound, never a C stack overflow", raises="CDefError")
probe(0, "typeof-deep-parens", "ffi.typeof('int' + '(' * 100000)",
      "as above, with parentheses", raises="CDefError")
probe(0, "cdef-deep-struct-nesting",
      "ffi.cdef('struct deep { ' + 'struct { ' * 5000 + 'int x; ' + '} a; ' * 5000 + '};')",
      "deeply nested definitions raise, never overflow the C stack", raises="CDefError")
probe(0, "deep-list-initializer",
      "x = 1\nfor i in range(100000):\n    x = [x]\nffi.new('int[1]', x)",
      "a deeply nested initializer for a flat array: a TypeError, no recursion",
      raises="TypeError")
probe(0, "self-referencing-list",
      "L = []\nL.append(L)\nffi.new('struct node *', [1, L])",
      "a list that contains itself is no pointer", raises="TypeError")
probe(0, "sizeof-void", "ffi.sizeof('void')", "cffi: void has no size",
      raises="ValueError")
probe(0, "sizeof-opaque", "ffi.cdef('struct opq2;')\nffi.sizeof('struct opq2')",
      "cffi: unknown size", raises="ValueError")
probe(0, "alignof-cdata", "ffi.alignof(ffi.new('int *'))",
      "cffi's FFI class: alignof takes a type", raises="TypeError")
probe(0, "string-of-int", "ffi.string(5)", "a cdata is expected", raises="TypeError")
probe(0, "string-negative-maxlen", "result = ffi.string(ffi.new('char[4]', b'ab'), -1)",
      "maxlen -1 means no limit", value="b'ab'")
probe(0, "string-unterminated-array",
      "result = ffi.string(ffi.new('char[3]', b'abc'))",
      "an array bounds the string: no read past it", value="b'abc'")
probe(0, "unpack-negative", "ffi.unpack(ffi.new('int[2]'), -1)",
      "cffi: negative length", raises="ValueError")
probe(0, "memmove-negative", "ffi.memmove(ffi.new('char[4]'), b'abcd', -1)",
      "cffi: negative size", raises="ValueError")
probe(0, "memmove-from-str", "ffi.memmove(ffi.new('char[4]'), 'abcd', 4)",
      "cffi: str is no buffer", raises="TypeError")
probe(0, "memmove-readonly-dest", "ffi.memmove(b'abcd', b'efgh', 4)",
      "cffi: the destination must be writable (BufferError)", raises="BufferError")
probe(0, "from-buffer-str", "ffi.from_buffer('abc')",
      "cffi: from_buffer() cannot return the address of a unicode object", raises="TypeError")
probe(0, "from-buffer-int", "ffi.from_buffer(5)", "not a buffer", raises="TypeError")
probe(0, "from-buffer-too-small", "ffi.from_buffer('int[10]', bytearray(8))",
      "cffi: buffer is too small", raises="ValueError")
probe(0, "from-buffer-readonly-writable", "ffi.from_buffer(b'abc', require_writable=True)",
      "a read-only buffer is refused when writable is required", raises="BufferError")
probe(0, "from-buffer-struct-type", "ffi.from_buffer('struct s', bytearray(12))",
      "cffi: expected an array or pointer ctype", raises="TypeError")
probe(0, "cast-struct", "ffi.cast('struct s', 0)", "cffi: cannot cast to a struct",
      raises="TypeError")
probe(0, "cast-float-to-pointer", "result = int(ffi.cast('intptr_t', ffi.cast('int *', 1.5)))",
      "cffi truncates a float cast to a pointer", value="1")
probe(0, "cast-nan-to-int", "ffi.cast('int', float('nan'))",
      "a nan has no integer value", raises="ValueError")
probe(0, "cast-str-to-int", "ffi.cast('int', 'ab')",
      "cffi: a string of length 1 only", raises="TypeError")
probe(0, "int-of-pointer", "int(ffi.new('int *'))",
      "cffi: int() of a pointer cdata is refused", raises="TypeError")
probe(0, "float-of-struct", "float(ffi.new('struct s *')[0])",
      "no number in a struct", raises="TypeError")
probe(0, "len-of-pointer", "len(ffi.new('int *'))", "cffi: a pointer has no len()",
      raises="TypeError")
probe(0, "struct-index", "ffi.new('struct s *')[0][0]", "cffi: a struct cannot be indexed",
      raises="TypeError")
probe(0, "struct-missing-field", "ffi.new('struct s *').zz", "cffi: no such field",
      raises="AttributeError")
probe(0, "del-item", "p = ffi.new('int[2]')\ndel p[0]", "cdata items cannot be deleted",
      raises="TypeError")
probe(0, "del-field", "p = ffi.new('struct s *')\ndel p.a", "fields cannot be deleted",
      raises="AttributeError")
probe(0, "slice-with-step", "ffi.new('int[4]')[0:4:2]", "cffi: slice with step",
      raises="IndexError")
probe(0, "slice-open", "ffi.new('int[4]')[:2]", "cffi: slice start must be specified",
      raises="IndexError")
probe(0, "pointer-difference-mixed", "ffi.new('int[2]') - ffi.new('char[2]')",
      "cffi: pointers of different types", raises="TypeError")
probe(0, "compare-with-object", "result = ffi.new('int *') == object()",
      "no comparison: False", value="False")
probe(0, "hash-of-pointer", "p = ffi.cast('int *', 16)\nresult = hash(p) == hash(ffi.cast('int *', 16))",
      "equal pointers hash equally", value="True")
probe(0, "callback-raises",
      "lib = ffi.dlopen(LIB)\n@ffi.callback('int(int)', error=-1)\ndef cb(x):\n    raise ValueError\nresult = lib.call_cb(cb, 1)",
      "cffi: an exception in a callback is reported, the call gets the error value",
      value="-2", unraisable="ValueError")
probe(0, "callback-returns-wrong-type",
      "lib = ffi.dlopen(LIB)\n@ffi.callback('int(int)')\ndef cb(x):\n    return 'x'\nresult = lib.call_cb(cb, 1)",
      "cffi: a wrong result type is reported, the result is 0", value="0",
      unraisable="TypeError")
probe(0, "callback-onerror-raises",
      "lib = ffi.dlopen(LIB)\ndef oe(*a):\n    raise KeyError\n@ffi.callback('int(int)', onerror=oe)\ndef cb(x):\n    1/0\nresult = lib.call_cb(cb, 1)",
      "cffi: an exception in onerror is reported too", value="0", unraisable="KeyError")
probe(0, "callback-not-callable", "ffi.callback('int(int)', 5)",
      "cffi: expected a callable", raises="TypeError")
probe(0, "callback-bad-type", "ffi.callback('int', lambda: 0)",
      "cffi: expected a function ctype", raises="TypeError")
probe(0, "callback-dies-while-referenced",
      "lib = ffi.dlopen(LIB)\ncb = ffi.callback('int(int)', lambda x: x)\nf = ffi.cast('int(*)(int)', cb)\nresult = lib.call_cb(f, 4)",
      "a cast of a live callback calls it", value="8")
probe(0, "call-wrong-count", "ffi.dlopen(LIB).add(1)", "cffi: wrong number of arguments",
      raises="TypeError")
probe(0, "call-keywords", "ffi.dlopen(LIB).add(a=1, b=2)",
      "cffi: no keyword arguments", raises="TypeError")
probe(0, "call-wrong-type", "ffi.dlopen(LIB).add('a', 2)", "cffi: an integer is required",
      raises="TypeError")
probe(0, "call-pointer-wrong-type", "ffi.dlopen(LIB).first_int(ffi.new('char[4]'))",
      "cffi: initializer for ctype 'int *' must be a cdata pointer", raises="TypeError")
probe(0, "call-pointer-from-str", "ffi.dlopen(LIB).length_of('abc')",
      "cffi: a str is no 'char *'", raises="TypeError")
probe(0, "call-variadic-needs-types",
      "ffi2 = nffi.FFI()\nffi2.cdef('int printf(const char *, ...);')\nffi2.dlopen(None).printf(b'%d', 1)",
      "cffi: variadic arguments need a cdata, ints are refused", raises="TypeError")
probe(0, "dlopen-missing", "ffi.dlopen('/nonexistent/lib.so')", "cffi: OSError",
      raises="OSError")
probe(0, "lib-missing-symbol",
      "ffi2 = nffi.FFI()\nffi2.cdef('int no_such_function_here(int);')\nffi2.dlopen(LIB).no_such_function_here",
      "cffi: AttributeError naming the symbol", raises="AttributeError")
probe(0, "lib-undeclared", "ffi.dlopen(LIB).not_declared", "cffi: AttributeError",
      raises="AttributeError")
probe(0, "lib-set-function", "lib = ffi.dlopen(LIB)\nlib.add = 5",
      "cffi: a function of the library cannot be assigned", raises="AttributeError")
probe(0, "global-write-overflow", "lib = ffi.dlopen(LIB)\nlib.g_int = 2**40",
      "truncation raises", raises="OverflowError")
probe(0, "global-array-write-too-long", "lib = ffi.dlopen(LIB)\nlib.g_array = list(range(6))",
      "cffi: too many initializers", raises="IndexError")
probe(0, "new-handle-then-from-handle-dead",
      "h = ffi.new_handle(object())\np = ffi.cast('void *', h)\nresult = ffi.from_handle(p) is not None",
      "a handle alive is found", value="True")
probe(0, "errno-roundtrip", "ffi.errno = 7\nresult = ffi.errno", "cffi: ffi.errno is settable",
      value="7")
probe(0, "errno-bad-type", "ffi.errno = 'x'", "an integer is required", raises="TypeError")
probe(0, "getctype-garbage", "ffi.getctype(5)", "a ctype or cdecl is expected",
      raises="TypeError")
probe(0, "new-struct-cdata-wrong-type", "ffi.new('struct s *', ffi.new('int *'))",
      "cffi: a struct initializer is a list, dict or struct", raises="TypeError")
probe(0, "struct-assign-other-struct",
      "ffi.cdef('struct t { int a, b, c; };')\np = ffi.new('struct s *')\np[0] = ffi.new('struct t *')[0]",
      "cffi: a struct of another type is refused", raises="TypeError")
probe(0, "wchar-surrogate", "ffi.new('wchar_t[]', '\\ud800')\nresult = 1",
      "a lone surrogate in a 4-byte wchar_t is stored as is (cffi)", value="1")
probe(0, "char16-out-of-range", "ffi.new('char16_t *', '\\U00010000')",
      "cffi: a char16_t holds one UTF-16 unit", raises="TypeError")
probe(0, "enum-out-of-range", "ffi.cdef('enum e1 { E1 = 1 };')\nffi.cast('enum e1', 2**40)\nresult = 1",
      "a cast wraps (documented)", value="1")
probe(0, "gc-of-non-cdata", "ffi.gc(5, lambda x: None)", "cffi: expected a cdata",
      raises="TypeError")
probe(0, "release-of-non-cdata", "ffi.release(5)", "a cdata is expected", raises="TypeError")
probe(0, "release-of-cast", "ffi.release(ffi.cast('int *', 0))",
      "cffi: only ffi.new/gc/from_buffer/allocator cdata can be released", raises="ValueError")
probe(0, "with-of-cast", "with ffi.cast('int *', 0):\n    pass",
      "cffi: as for release()", raises="ValueError")
probe(0, "new-allocator-free-without-alloc", "ffi.new_allocator(free=lambda p: None)",
      "cffi: cannot pass 'free' without 'alloc'", raises="TypeError")
probe(0, "release-handle", "ffi.release(ffi.new_handle(1))",
      "cffi: a handle cannot be released", raises="ValueError")
probe(0, "threads-release-while-reading",
      "p = freeable('int[1000]')\nerrors = []\ndef reader():\n    try:\n        for i in range(20000): p[i % 1000]\n    except ValueError:\n        pass\n"
      "t = threading.Thread(target=reader)\nt.start()\nffi.release(p)\nt.join()\nresult = 1",
      "a release racing with reads in another thread (both hold the GIL in turn): reads "
      "after it raise", value="1")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    _run_child(int(sys.argv[1]))
