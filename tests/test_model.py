"""The model: the registry (declarations as data, transactions), the realizer and its
layout provider, the '...' declarations of API mode used in ABI mode (differential
against cffi), and cffi's out-of-line tables loaded in one transaction."""
import ast
import os
import warnings

import pytest

import nffi
from nffi import _core, cffi_tables, layout
from nffi.decls import Field, Primitive, StructDef, Tagged, Typedef, VariableDecl
from nffi.errors import FFIError
from nffi.model import Model
from nffi.registry import Registry

cffi = pytest.importorskip("cffi")

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "nffi")


# ---- the registry knows nothing of the core ----------------------------------------------

def test_registry_does_not_import_the_core():
    with open(os.path.join(SRC, "registry.py")) as f:
        tree = ast.parse(f.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.update([node.module] + [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert imported <= {"decls", "errors", "ConstantDecl", "EnumDef", "FunctionDecl",
                        "StructDef", "Tagged", "Typedef", "VariableDecl", "CDefError",
                        "FFIError"}, imported


def test_registry_transaction_is_all_or_nothing():
    registry = Registry()
    point = StructDef("struct", "pt", (Field("x", Primitive("int")),))
    registry.transaction([point, Typedef("pt_t", Tagged("struct", "pt"))])
    assert registry.struct_defs[("struct", "pt")] == point
    before = registry.snapshot()
    with pytest.raises(FFIError):
        registry.transaction([Typedef("other_t", Primitive("long")),
                              VariableDecl("v", Primitive("int")),
                              Typedef("pt_t", Primitive("int"))])      # conflicts
    assert registry.snapshot() == before
    assert "other_t" not in registry.typedefs and "v" not in registry.variables


class _FailingObserver:
    """An observer that records what the registry tells it, then fails to commit."""

    def __init__(self):
        self.state = ["initial"]
        self.seen = []

    def snapshot(self):
        return list(self.state)

    def restore(self, state):
        self.state = state

    def begin(self):
        self.state.append("begun")

    def end(self):
        self.seen.append("end")

    def declared(self, decl, override):
        self.seen.append(decl.name)
        self.state.append(decl.name)

    def commit(self, decls):
        raise RuntimeError("cannot build")


def test_registry_restores_its_observer_too():
    registry, observer = Registry(), _FailingObserver()
    with pytest.raises(RuntimeError):
        registry.transaction([Typedef("a_t", Primitive("int"))], observer=observer)
    assert observer.seen == ["a_t", "end"]
    assert observer.state == ["initial"] and "a_t" not in registry.typedefs


# ---- the layout provider -------------------------------------------------------------------

class _SpreadLayout(layout.ABILayout):
    """A provider that answers differently from gcc: every field 16 bytes after the
    previous one; it also knows what only a compiler knows in ABI mode."""

    def __init__(self):
        super().__init__(lambda name: _core.sizeof(nffi.FFI().typeof(name)))
        self.asked = []

    def struct_layout(self, decl, fields):
        self.asked.append(("struct_layout", decl.name, decl.partial, decl.packed))
        placed = [layout.FieldLayout(16 * i) for i in range(len(fields))]
        return 16 * len(fields) + 8, 8, placed

    def array_length(self, owner, node):
        self.asked.append(("array_length", owner))
        return 7

    def enum_integer_type(self, decl, values):
        return "signed char"

    def unknown_primitive(self, node):
        return "int16_t" if node.kind == "integer" else "double"


def _ffi_with(provider):
    ffi = nffi.FFI()
    ffi._model = Model(provider)
    return ffi


def test_a_provider_decides_the_layout():
    provider = _SpreadLayout()
    ffi = _ffi_with(provider)
    ffi.cdef("struct s { char a; int b; ...; }; struct p { char c; short d; };", packed=True)
    assert ffi.offsetof("struct s", "b") == 16 and ffi.sizeof("struct s") == 40
    assert ffi.offsetof("struct p", "d") == 16 and ffi.alignof("struct p") == 8
    assert ("struct_layout", "s", True, True) in provider.asked
    p = ffi.new("struct s *", [b"\x01", 2])
    assert (p.a, p.b) == (b"\x01", 2)
    # the ABI provider, for the same declarations: gcc's packed layout, and '...' refused
    abi = nffi.FFI()
    abi.cdef("struct s { char a; int b; ...; }; struct p { char c; short d; };", packed=True)
    assert abi.offsetof("struct p", "d") == 1
    with pytest.raises(nffi.VerificationMissing):
        abi.sizeof("struct s")


def test_a_provider_answers_what_only_the_compiler_knows():
    provider = _SpreadLayout()
    ffi = _ffi_with(provider)
    ffi.cdef("""typedef int... small_t; typedef float... real_t;
                struct s { int a[...]; }; extern int g[...]; typedef char name_t[...];
                enum e { A, B = ..., ... };""")
    assert ffi.typeof("small_t") is ffi.typeof("int16_t")
    assert ffi.typeof("real_t") is ffi.typeof("double")
    assert ffi.typeof("struct s").fields[0][1].type is ffi.typeof("int[7]")
    assert ffi.typeof("name_t") is ffi.typeof("char[7]")
    assert ffi.sizeof("enum e") == 1
    assert ("array_length", ("field", "struct", "s", "a")) in provider.asked
    assert ("array_length", ("typedef", "name_t")) in provider.asked
    assert ("array_length", ("variable", "g")) in provider.asked


# ---- '...' in ABI mode: cffi's errors, when used ---------------------------------------------

DOTDOTDOT_USES = [
    ("struct s { int a; ...; };", "ffi.new('struct s *')"),
    ("struct s { int a; ...; };", "ffi.sizeof('struct s')"),
    ("struct s { int a; ...; };", "ffi.typeof('struct s *')"),
    ("typedef struct { int a; ...; } s_t;", "ffi.sizeof('s_t')"),
    ("struct s { int a; ...; }; typedef struct s s_t;", "ffi.typeof('s_t')"),
    ("struct s { int a; ...; }; struct t { struct s x; };", "ffi.sizeof('struct t')"),
    ("struct s { int a; ...; }; struct u { struct s *p; };", "ffi.sizeof('struct u')"),
    ("struct s { int a[...]; };", "ffi.sizeof('struct s')"),
    ("struct s { int a[...]; };", "ffi.typeof('struct s *')"),
    ("typedef int arr_t[...];", "ffi.typeof('arr_t')"),
    ("typedef int arr_t[...][3];", "ffi.typeof('arr_t *')"),
    ("extern int g[...][4];", "ffi.dlopen(None).g"),
    ("typedef ... foo_t;", "ffi.typeof('foo_t *')"),
    ("typedef ... foo_t;", "ffi.sizeof('foo_t')"),
    ("typedef ... foo_t;", "ffi.new('foo_t *')"),
    ("typedef ... foo_t; struct w { foo_t *p; };", "ffi.sizeof('struct w')"),
    ("typedef ... *foo_p;", "ffi.typeof('foo_p').item.kind"),
    ("typedef ... foo_t;", "ffi.list_types()"),
    ("typedef int... foo_t;", "ffi.typeof('foo_t')"),
    ("typedef int... foo_t;", "ffi.typeof('foo_t *')"),
    ("typedef unsigned long... foo_t;", "ffi.cast('foo_t', 1)"),
    ("typedef float... foo_t;", "ffi.typeof('foo_t')"),
    ("typedef int... foo_t; foo_t g;", "ffi.dlopen(None).g"),
    ("typedef int... foo_t; struct w { foo_t *p; };", "ffi.sizeof('struct w')"),
    ("#define FOO ...", "ffi.dlopen(None).FOO"),
    ("static const int FOO;", "ffi.dlopen(None).FOO"),
    ("static const int FOO;", "dir(ffi.dlopen(None))"),
    ("enum e { A, B, ... };", "ffi.dlopen(None).A"),
    ("enum e { A, B, ... };", "ffi.typeof('enum e')"),
    ("enum e { A = ..., B };", "ffi.typeof('enum e')"),
    ("enum e { A, ... }; struct w { enum e x; };", "ffi.sizeof('struct w')"),
    ("typedef enum { A, ... } e_t;", "ffi.typeof('e_t')"),
]


def _outcome(module, source, use):
    ffi = module.FFI()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ffi.cdef(source)            # both accept every one of these cdefs
        try:
            value = eval(use, {"ffi": ffi})
        except Exception as e:
            return type(e).__name__, e
    return "ok", value


@pytest.mark.parametrize("source, use", DOTDOTDOT_USES)
def test_dotdotdot_in_abi_mode_is_an_error_when_used_as_in_cffi(source, use):
    ours, ours_value = _outcome(nffi, source, use)
    theirs, theirs_value = _outcome(cffi, source, use)
    assert ours == theirs, (ours_value, theirs_value)
    if ours == "ok":
        assert str(ours_value) == str(theirs_value)
    elif ours in ("VerificationMissing", "NotImplementedError", "CDefError") and \
            "FOO" not in source and ".A" not in use:
        assert "line 1" in str(ours_value)         # where the cdef declared it


def test_bitfields_with_dotdotdot_are_refused_at_cdef_as_in_cffi():
    source = "struct s { int a : 3; ...; };"
    with pytest.raises(NotImplementedError):
        cffi.FFI().cdef(source)
    with pytest.raises(nffi.CDefError):
        nffi.FFI().cdef(source)


def test_include_of_a_partial_declaration_fails_when_used():
    base = nffi.FFI()
    base.cdef("enum e { A, ... }; struct s { int a; ...; }; struct ok { int b; };")
    user = nffi.FFI()
    user.include(base)
    assert user.sizeof("struct ok") == 4
    with pytest.raises(nffi.VerificationMissing):
        user.typeof("enum e")
    with pytest.raises(nffi.VerificationMissing):
        user.sizeof("struct s")


# ---- FILE ----------------------------------------------------------------------------------

def test_file_is_struct_io_file_and_a_definition_is_the_ffis_own():
    ffi = nffi.FFI()
    assert ffi.typeof("struct _IO_FILE *") is ffi.typeof("FILE *")
    ffi.cdef("typedef struct _IO_FILE FILE;")       # as <stdio.h> says: no conflict
    ffi.cdef("struct FILE { int x; };")             # another tag, as in cffi
    assert ffi.sizeof("struct FILE") == 4
    assert nffi.FFI().typeof("FILE").fields is None
    # glibc's definition (cdef_header of <stdio.h>): this FFI's FILE, not the others'
    ffi.cdef("struct _IO_FILE { int x; };")
    assert ffi.sizeof("FILE") == 4 and ffi.typeof("FILE") is ffi.typeof("struct _IO_FILE")
    assert nffi.FFI().typeof("FILE").fields is None


# ---- cffi's out-of-line tables: one transaction ------------------------------------------------

def _word(op, arg):
    return ((arg << 8) | op).to_bytes(4, "big", signed=True)


def _raw(value):
    return value.to_bytes(4, "big", signed=True)


def _tables(second_global_type):
    """Tables of a module: int (0), struct pt {int x, y;} (1), struct pt * (2), enum
    color (3), then two globals named 'g' of types 0 and second_global_type."""
    types = (_word(cffi_tables.OP_PRIMITIVE, 7) + _word(cffi_tables.OP_STRUCT_UNION, 0)
             + _word(cffi_tables.OP_POINTER, 1) + _word(cffi_tables.OP_ENUM, 0))
    struct_unions = ((_raw(1) + _raw(0) + b"pt",
                      _word(cffi_tables.OP_NOOP, 0) + b"x",
                      _word(cffi_tables.OP_NOOP, 0) + b"y"),)
    enums = (_raw(3) + _raw(8) + b"color\0RED,BLUE",)
    globals_ = (_word(cffi_tables.OP_ENUM, 0) + b"BLUE", 1,
                _word(cffi_tables.OP_ENUM, 0) + b"RED", 0,
                _word(cffi_tables.OP_GLOBAL_VAR, 0) + b"g", 0,
                _word(cffi_tables.OP_GLOBAL_VAR, second_global_type) + b"g", 0)
    typenames = (_raw(2) + b"pt_p",)
    return types, globals_, struct_unions, enums, typenames


def _load(ffi, second_global_type):
    types, globals_, struct_unions, enums, typenames = _tables(second_global_type)
    return cffi_tables.load_tables(ffi, "mod", 0x2601, types, globals_, struct_unions,
                                   enums, typenames, ())


def test_tables_load_in_one_transaction():
    ffi = nffi.FFI()
    _load(ffi, 0)                   # the same global twice: accepted
    assert ffi.offsetof("struct pt", "y") == 4
    assert ffi.typeof("pt_p").item is ffi.typeof("struct pt")
    assert ffi.integer_const("BLUE") == 1

    ffi = nffi.FFI()
    before = ffi.list_types()
    with pytest.raises(FFIError):
        _load(ffi, 2)               # 'g' again, as 'struct pt *': fails after the rest
    model = ffi._model
    assert ffi.list_types() == before
    assert not model.struct_defs and not model.enum_defs and not model.variables
    assert "BLUE" not in model.constants and "pt_p" not in model.typedefs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ffi.typeof("struct pt").fields is None     # an opaque struct, as before
    _load(ffi, 0)                   # and it can then load the good tables
    assert ffi.sizeof("struct pt") == 8


def test_packed_flag_of_the_tables_is_on_the_declaration():
    types, globals_, (pt,), enums, typenames = _tables(0)
    packed_pt = (_raw(1) + _raw(cffi_tables.F_PACKED) + b"pt",
                 _word(cffi_tables.OP_NOOP, 0) + b"x")
    ffi = nffi.FFI()
    cffi_tables.load_tables(ffi, "mod", 0x2601, types, globals_, (packed_pt,), enums,
                            typenames, ())
    assert ffi._model.struct_defs[("struct", "pt")].packed is True
    assert ffi.alignof("struct pt") == 1
