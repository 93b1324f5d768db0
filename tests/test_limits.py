"""Limits: huge and negative sizes, deeply nested types, very long cdef sources.

Hostile or absurd input must end in a clean Python exception (MemoryError, OverflowError,
ValueError, CDefError, RecursionError) or in success, never in a crash or a hang.  Where
cffi (the oracle) answers without crashing, nffi raises the same exception type; the
messages may differ in wording (e.g. 'ssize_t' vs 'Py_ssize_t').  Deep nesting is where
cffi itself fails with RecursionError from its Python parser; nffi's parser bounds the
nesting of one declaration (CDefError) while typedef chains can build types of any depth,
which the C core must then handle without overflowing the C stack.

Anything that could crash runs in a subprocess, so a regression fails one test instead of
killing the test run.
"""
import os
import subprocess
import sys
import textwrap
import time

import cffi
import pytest

import nffi
from nffi import CDefError

SRC_DIR = os.path.dirname(os.path.abspath(nffi.__file__))
M = sys.maxsize


def outcome(fn):
    """('ok', value) or ('raises', exception type name); a cdata or ctype result is
    reduced to its C type and, for slices, its length (addresses differ between runs)."""
    try:
        result = fn()
    except Exception as e:        # noqa: BLE001 - the type is what is compared
        return ("raises", type(e).__name__)
    if type(result).__name__ in ("CData", "CType", "_CDataBase", "CTypeDescr") or \
            type(result).__module__.split(".")[0] in ("nffi", "_cffi_backend"):
        text = repr(result)
        return ("ok", text.split("'")[1], "sliced length" in text and len(result))
    return ("ok", result)


def run_python(code, timeout=120):
    """Run `code` in a fresh interpreter that imports the nffi under test."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(SRC_DIR) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout)


# ---- huge and negative sizes -----------------------------------------------------------

# (type string, optional length or initializer): every one fails for certain on any
# machine (no 2**62-byte allocation can succeed), so the comparison is not environmental
HUGE_NEW = [
    ("char[]", 1 << 62),
    ("int[]", 2 ** 61),                 # 2**63 bytes: does not fit a ssize_t
    ("int[]", 2 ** 61 - 1),             # fits, cannot be allocated
    ("char[%d]" % 2 ** 63,),
    ("char[%d]" % 2 ** 62,),
    ("char[]", -1),
    ("int[]", -5),
    ("char[]", M),
    ("char[]", M + 1),
    ("char[]", M - 10),
    ("char[%d]" % M,),
    ("char[%d]" % (M + 1),),
    ("int[%d]" % (M // 4 + 1),),
    ("int[%d][%d]" % (2 ** 31, 2 ** 31),),
    ("char[%d][%d]" % (2 ** 40, 2 ** 40),),
    ("char[]", 2 ** 64),
    ("char[]", 2 ** 100),
    ("char *[]", M // 8),
    ("struct big[]", 2 ** 50),
    ("char[]", 1.5),
]


@pytest.fixture(scope="module")
def limits_pair():
    pair = []
    for module in (nffi, cffi):
        ffi = module.FFI()
        ffi.cdef("struct big { char x[1000000]; }; void *malloc(size_t); void free(void *);")
        pair.append((ffi, ffi.dlopen(None)))
    return pair


@pytest.mark.parametrize("args", HUGE_NEW, ids=[repr(a)[:40] for a in HUGE_NEW])
def test_huge_new_same_exception_as_cffi(limits_pair, args):
    (mine, _), (theirs, _) = limits_pair
    result = outcome(lambda: mine.new(*args))
    assert result == outcome(lambda: theirs.new(*args))
    assert result[0] == "raises"


@pytest.mark.parametrize("length", [1 << 62, 2 ** 61, -1, M])
def test_huge_allocator_same_exception_as_cffi(limits_pair, length):
    # a C allocator (malloc) that returns NULL, or a size that never reaches it
    results = []
    for ffi, lib in limits_pair:
        allocator = ffi.new_allocator(lib.malloc, lib.free)
        results.append(outcome(lambda: allocator("int[]", length)))
    assert results[0] == results[1]
    assert results[0][0] == "raises"


def test_allocator_returning_null(limits_pair):
    messages = []
    for ffi, _ in limits_pair:
        allocator = ffi.new_allocator(lambda size: ffi.NULL)
        with pytest.raises(MemoryError) as info:
            allocator("int *")
        messages.append(str(info.value))
    assert messages[0] == messages[1]


HUGE_OTHER = [
    lambda ffi: ffi.from_buffer("int[%d]" % 2 ** 60, bytearray(8)),
    lambda ffi: ffi.from_buffer("int[]", bytearray(9)),
    lambda ffi: ffi.typeof("char[%d]" % M),
    lambda ffi: ffi.sizeof("char[%d]" % M),
    lambda ffi: ffi.typeof("char[%d]" % 2 ** 64),
    lambda ffi: ffi.sizeof("int[%d]" % 2 ** 62),
    lambda ffi: ffi.cast("char[%d]" % 2 ** 62, 0),
    lambda ffi: ffi.unpack(ffi.new("char[4]"), -1),
    lambda ffi: ffi.string(ffi.new("char[4]"), -1),
    lambda ffi: ffi.new("char[]", b"x" * 100)[2 ** 62],
    lambda ffi: ffi.new("char[]", b"x" * 100)[-M - 1],
    lambda ffi: ffi.new("char[]", b"x" * 100) + M,
    lambda ffi: ffi.cast("char *", 16)[5:M],
]


@pytest.mark.parametrize("fn", HUGE_OTHER, ids=range(len(HUGE_OTHER)))
def test_huge_sizes_elsewhere(limits_pair, fn):
    (mine, _), (theirs, _) = limits_pair
    assert outcome(lambda: fn(mine)) == outcome(lambda: fn(theirs))


# ---- deep nesting ------------------------------------------------------------------------

def struct_chain(depth, member="a%d inner; int v;"):
    """cdef source of `depth` structs, each holding the previous one: a0 is int,
    a<i> is struct s<i> with a member of type a<i-1>."""
    return "typedef int a0;\n" + "\n".join(
        "struct s%d { %s }; typedef struct s%d a%d;" % (i, member % (i - 1), i, i)
        for i in range(1, depth + 1))


DEEP_DECLARATORS = {
    # name: (type string, the same declarator in a typedef)
    "10000 pointers": ("int" + "*" * 10000, "typedef int " + "*" * 10000 + "deep_t;"),
    "10000 arrays": ("int" + "[1]" * 10000, "typedef int deep_t" + "[1]" * 10000 + ";"),
    "10000 parentheses": ("int" + "(" * 10000 + "*" + ")" * 10000,
                          "typedef int " + "(" * 10000 + "*deep_t" + ")" * 10000 + ";"),
    "1000 function pointers": ("int" + "(*" * 1000 + ")(int)" * 1000,
                               "typedef int" + "(*" * 1000 + "deep_t" + ")(int)" * 1000 + ";"),
}


@pytest.mark.parametrize("name", DEEP_DECLARATORS)
def test_deep_declarator_is_a_clean_cdef_error(name):
    type_string, typedef = DEEP_DECLARATORS[name]
    ffi = nffi.FFI()
    start = time.perf_counter()
    with pytest.raises(CDefError, match="nested too deeply"):
        ffi.typeof(type_string)
    with pytest.raises(CDefError, match="nested too deeply"):
        ffi.cdef(typedef)
    assert time.perf_counter() - start < 10
    # the failed cdef left nothing behind, and the FFI still works
    with pytest.raises(CDefError):
        ffi.typeof("deep_t")
    ffi.cdef("typedef int *deep_t;")
    assert ffi.typeof("deep_t") is ffi.typeof("int *")


@pytest.mark.parametrize("source", [
    "struct top { " + "struct { " * 1000 + "int v; " + "} f; " * 1000 + "};",
    "int a[" + "(" * 5000 + "1" + ")" * 5000 + "];",
    "int a[" + "-" * 10000 + "1];",
    "int a[" + "- " * 10000 + "1];",
], ids=["1000 nested anonymous structs", "5000 parentheses in a constant",
        "10000 minus signs", "10000 unary minus"])
def test_deep_cdef_is_clean(source):
    ffi = nffi.FFI()
    start = time.perf_counter()
    try:
        ffi.cdef(source)
    except CDefError:
        pass
    assert time.perf_counter() - start < 10


def test_struct_nesting_1000_deep():
    ffi = nffi.FFI()
    start = time.perf_counter()
    ffi.cdef(struct_chain(1000))
    assert ffi.sizeof("struct s1000") == 4 * 1001
    assert ffi.offsetof("struct s1000", "v") == 4 * 1000
    assert ffi.offsetof("struct s1000", *["inner"] * 999) == 0
    p = ffi.new("a1000 *")
    inner = p[0]
    for _ in range(1000):
        inner = inner.inner
    assert inner == 0
    # an initializer as deep as the recursion limit allows
    init = 7
    for depth in range(300):
        init = {"inner": init, "v": depth}
    q = ffi.new("a300 *", init)
    assert q.v == 299 and q.inner.v == 298 and q.inner.inner.inner.v == 296
    assert time.perf_counter() - start < 30


def test_typedef_chains_of_any_depth():
    # the parser bounds one declaration, typedefs do not: 10000-level types work
    ffi = nffi.FFI()
    ffi.cdef("typedef int *p1;\n" + "\n".join(
        "typedef p%d *p%d;" % (i - 1, i) for i in range(2, 10001)))
    ffi.cdef("typedef int r1[1];\n" + "\n".join(
        "typedef r%d r%d[1];" % (i - 1, i) for i in range(2, 2001)))
    deep = ffi.new("p10000 *")
    assert deep[0] == ffi.NULL
    assert ffi.getctype("p10000") == "int" + " *" * 10000
    assert ffi.typeof("p10000").item.item is ffi.typeof("p9998")
    assert ffi.sizeof("r2000") == ffi.sizeof("int")
    init = 5
    for _ in range(500):
        init = [init]
    item = ffi.new("r500 *", init)[0]
    for _ in range(500):
        item = item[0]
    assert item == 5


DEEP_INIT_CHILD = textwrap.dedent("""
    N = 20000
    ffi = nffi.FFI()
    ffi.cdef("typedef int a0;\\n" + "\\n".join(
        "struct s%d { a%d inner; }; typedef struct s%d a%d;" % (i, i - 1, i, i)
        for i in range(1, N + 1)))
    init = 7
    for _ in range(N):
        init = {"inner": init}
    seen = []

    def convert():
        try:
            ffi.new("a%d *" % N, init)
            seen.append("no error")
        except RecursionError:
            seen.append("RecursionError")
        seen.append("ok" if ffi.new("a3 *", {"inner": {"inner": {"inner": 9}}})
                    .inner.inner.inner == 9 else "wrong")

    # the bound is the recursion limit; kept low so that even the larger frames of an
    # ASan build fit the thread's stack before it is reached
    sys.setrecursionlimit(300)
    threading.stack_size(1024 * 1024)
    thread = threading.Thread(target=convert)
    thread.start()
    thread.join()
    print(*seen)
""")



def test_deep_initializer_raises_recursion_error_not_a_crash():
    # 20000 nested struct levels converted in a thread with a 1 MiB stack: the C
    # conversion used to recurse once per level with no bound and overflow the stack
    result = run_python("import sys\nimport threading\nimport nffi\n" + DEEP_INIT_CHILD)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["RecursionError", "ok"], result.stdout


# ---- very long cdef sources ---------------------------------------------------------------

def test_cdef_with_100000_declarations():
    kinds = [
        "int f%d(int, long *);",
        "struct t%d { int a; char b; struct t%d *next; };",
        "typedef unsigned long u%d_t;",
        "extern double g%d;",
    ]
    lines = [kinds[i % 4].replace("%d", str(i)) for i in range(100000)]
    lines.append("enum big { " + ", ".join("E%d = %d" % (i, i) for i in range(10000)) + " };")
    ffi = nffi.FFI()
    start = time.perf_counter()
    ffi.cdef("\n".join(lines))
    elapsed = time.perf_counter() - start
    assert ffi.sizeof("struct t99997") == 2 * ffi.sizeof("void *")
    assert ffi.typeof("u99998_t") is ffi.typeof("unsigned long")
    assert ffi.integer_const("E9999") == 9999
    assert ffi.typeof("struct t1 *").item.fields[2][1].type is ffi.typeof("struct t1 *")
    # linear: ~3 s here on a shared machine; quadratic behaviour would take minutes
    assert elapsed < 60, elapsed


def test_cdef_error_at_the_end_of_a_long_source_is_reported_and_rolled_back():
    ffi = nffi.FFI()
    source = "\n".join("struct t%d { int a; };" % i for i in range(20000)) + "\nint broken(;"
    with pytest.raises(CDefError, match="line 20001"):
        ffi.cdef(source)
    # rolled back: 'struct t0' is again an undeclared (opaque) struct
    with pytest.raises(ValueError, match="struct t0"):
        ffi.sizeof("struct t0")


def test_long_comment_and_long_identifier():
    ffi = nffi.FFI()
    ffi.cdef("/*" + "x" * 10 ** 7 + "*/ struct " + "n" * 100000 + " { int a; };")
    assert ffi.sizeof("struct " + "n" * 100000) == 4


def test_deeply_nested_struct_by_value_in_a_call_type():
    """Describing a struct nested 8,000 deep to libffi stops at Python's recursion
    limit instead of overflowing the C stack (here in a thread with a small stack)."""
    import threading
    ffi = nffi.FFI()
    ffi.cdef("struct s0 { int x; }; typedef struct s0 a0;\n" +
             "".join("struct s%d { a%d inner; }; typedef struct s%d a%d;\n" % (i, i - 1, i, i)
                     for i in range(1, 8000)))
    outcome = []

    def run():
        try:
            ffi.callback("int(a7999)", lambda x: 0)
            outcome.append("created")
        except RecursionError:
            outcome.append("RecursionError")

    old = threading.stack_size(512 * 1024)
    try:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert outcome == ["RecursionError"]


def test_pointer_arithmetic_far_outside_any_object():
    """Addresses far away (never dereferenced) are computed as the machine does; under
    UBSan (.ci/sanitize) this checks there is no C pointer-overflow undefined behaviour."""
    ffi = nffi.FFI()
    p = ffi.cast("int *", 16)
    assert int(ffi.cast("uintptr_t", p + 2 ** 61)) == (16 + 4 * 2 ** 61) % 2 ** 64
    assert int(ffi.cast("uintptr_t", p - 3)) == 4
    assert len(p[2 ** 61:2 ** 61 + 1]) == 1
    with pytest.raises(OverflowError):
        ffi.cast("char *", 16)[-1:sys.maxsize]
