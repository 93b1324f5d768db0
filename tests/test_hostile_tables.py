"""Corrupt tables of cffi out-of-line ABI modules (nffi/cffi_tables.py): the `_types`,
`_globals`, `_struct_unions`, `_enums` and `_typenames` that cffi's emit_python_code()
writes, mutated deterministically (bytes flipped, entries cut, wrong value types), must
load or raise the module's clear error (ffi.error naming the module, or the CDefError of
the declaration they describe), never another exception, never crash; what loads is
then used (types, fields, the library's names).  NFFI_FUZZ_SCALE multiplies the cases."""
import contextlib
import io
import os
import random

import cffi
import pytest

from nffi import CDefError, _core
from nffi.compat import CompiledFFI

CDEF = """
    typedef struct { int x, y; } point_t;
    struct node { int value; struct node *next; point_t pts[3]; };
    union u { int i; double d; char c[8]; };
    struct bits { unsigned a:3; int b:5; long long c:40; };
    enum color { RED, GREEN = 5, BLUE };
    typedef enum { T_ONE = 1, T_TWO } tenum_t;
    typedef int (*binop_t)(int, int);
    struct anon { int kind; union { int iv; double dv; }; };
    struct flex { int n; int data[]; };
    int add(int, int);
    double muladd(double, double, double);
    int printf(const char *, ...);
    struct node *find(struct node *, int);
    void *memset(void *, int, size_t);
    extern int errno_like;
    #define ANSWER 42
    static const double PI_ISH;
    typedef struct opaque_s opaque_t;
    opaque_t *get_opaque(void);
"""
TYPES = ("point_t", "struct node", "union u", "struct bits", "enum color", "tenum_t",
         "binop_t", "struct anon", "struct flex", "opaque_t *")
NAMES = ("add", "muladd", "printf", "memset", "ANSWER", "RED", "T_TWO", "errno_like",
         "PI_ISH", "find")
CASES = 150 * int(os.environ.get("NFFI_FUZZ_SCALE", "1"))


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """The keyword arguments cffi's out-of-line module passes to FFI(), as cffi wrote
    them (read back from the module's text)."""
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_hostile_tables", None)
    path = tmp_path_factory.mktemp("tables") / "_hostile_tables.py"
    with contextlib.redirect_stdout(io.StringIO()):     # cffi says "generating ..."
        ffi.emit_python_code(str(path))
    text = path.read_text()
    body = text.split("_cffi_backend.FFI('_hostile_tables',", 1)[1].rsplit(")", 1)[0]
    return eval("dict(" + body + ")")


def _flip(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if data:
            i = rng.randrange(len(data))
            data[i] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256),
                                  data[i] ^ (1 << rng.randrange(8))])
    if rng.random() < 0.1:
        del data[rng.randrange(len(data) + 1):]
    return bytes(data)


def _mutate(rng, tables):
    t = dict(tables)
    which = rng.choice(["_types", "_types", "_globals", "_struct_unions", "_enums",
                        "_typenames"])
    if which == "_types":
        t["_types"] = _flip(rng, t["_types"])
    elif which == "_globals":
        g = list(t["_globals"])
        i = rng.randrange(0, len(g), 2)
        if rng.random() < 0.7:
            g[i] = _flip(rng, g[i])
        else:
            g[i + 1] = rng.choice([-1, 2**70, "x", None])
        t["_globals"] = tuple(g)
    elif which == "_struct_unions":
        entries = [list(e) for e in t["_struct_unions"]]
        entry = rng.choice(entries)
        j = rng.randrange(len(entry))
        entry[j] = _flip(rng, entry[j])
        t["_struct_unions"] = tuple(tuple(e) for e in entries)
    else:
        entries = list(t[which])
        i = rng.randrange(len(entries))
        entries[i] = _flip(rng, entries[i])
        t[which] = tuple(entries)
    return t


CLEAR = (_core.error, CDefError)


def _use(ffi):
    """Everything a user might do with a module that loaded: errors must be clear."""
    for group in ffi.list_types():
        for name in group:
            for spelled in (name, "struct " + name, "union " + name):
                try:
                    ffi.sizeof(spelled)
                except CLEAR + (TypeError,):
                    pass
    for spelled in TYPES:
        try:
            ct = ffi.typeof(spelled)
            if ct.kind in ("struct", "union") and ffi.sizeof(ct) > 0:
                p = ffi.new(spelled + " *")
                for field, _ in ct.fields or ():
                    if field:
                        getattr(p, field)
        except CLEAR + (TypeError,):
            pass
    lib = ffi.dlopen(None)
    for name in NAMES:
        try:
            getattr(lib, name)
        except CLEAR + (AttributeError, NotImplementedError):
            pass


def test_the_unmutated_tables_load(tables):
    ffi = CompiledFFI("_hostile_tables", **tables)
    _use(ffi)
    oracle = cffi.FFI()
    oracle.cdef(CDEF)
    for spelled in TYPES:
        assert ffi.sizeof(spelled) == oracle.sizeof(spelled), spelled
    assert ffi.dlopen(None).ANSWER == 42


def test_mutated_tables_load_or_raise_clearly(tables):
    """A corrupt table raises ffi.error (or the declaration's CDefError); before, a name
    that was not UTF-8 or held a NUL raised UnicodeDecodeError / 'embedded null
    character' from deep inside."""
    odd = []
    for seed in range(CASES):
        mutated = _mutate(random.Random(seed), tables)
        try:
            _use(CompiledFFI("_fuzz", **mutated))
        except CLEAR:
            pass
        except Exception as e:                  # noqa: B902 - every other class is a bug
            odd.append("seed %d: %s: %s" % (seed, type(e).__name__, e))
    assert not odd, "\n".join(odd[:20])


@pytest.mark.parametrize("table, entry, message", [
    ("_typenames", b"\x00\x00\x00\x20\x80bad", r"_typenames\[0\]: name b'\\x80bad' is not UTF-8"),
    ("_typenames", b"\x00\x00\x00\x20a\x00b", r"_typenames\[0\]: name b'a\\x00b' holds a NUL"),
    ("_struct_unions", (b"\x00\x00\x00\x20\x00\x00\x00\x02p\x00t", b"\x00\x00\x09\x11x"),
     "_struct_unions\\[0\\]: name .* holds a NUL"),
    ("_struct_unions", (b"\x00\x00\x00\x20\x00\x00\x00\x02pt", b"\x00\x00\x09\x11\xff"),
     "_struct_unions 'pt', field 0: name .* is not UTF-8"),
    ("_enums", b"\x00\x00\x00\x1a\x00\x00\x00\x16c\xffolor\x00RED",
     r"_enums\[0\]: name .* is not UTF-8"),
    ("_enums", b"\x00\x00\x00\x1a\x00\x00\x00\x16color\x00RED\x00X",
     r"_enums\[0\]: name .* holds a NUL"),
])
def test_bad_names_in_tables_raise_the_module_error(tables, table, entry, message):
    mutated = dict(tables)
    mutated[table] = (entry,) + tuple(mutated[table])[1:]
    with pytest.raises(_core.error, match="cffi out-of-line module '_bad': " + message):
        CompiledFFI("_bad", **mutated)


def test_bad_global_name_raises_the_module_error(tables):
    mutated = dict(tables)
    mutated["_globals"] = (b"\xff\xff\xff\x1fAN\xffSWER", 42) + tuple(tables["_globals"])[2:]
    with pytest.raises(_core.error, match=r"_globals\[0\]: name .* is not UTF-8"):
        CompiledFFI("_bad", **mutated)
