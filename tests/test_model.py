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
    assert imported <= {"decls", "errors", "ConstantDecl", "EnumDef", "Function",
                        "FunctionDecl", "Named", "StructDef", "Tagged", "Typedef",
                        "VariableDecl", "CDefError", "FFIError"}, imported


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


# ---- errors at first use, as cffi ------------------------------------------------------

USE_ERRORS = [
    "struct s { float x:1; };",
    "struct s { char x:0; };",
    "struct s { char x:9; };",
    "struct s { struct undeclared b; };",
    "struct s { struct undeclared b[2]; };",
    "struct s { int x[]; int y; };",
    "struct s { int x; int x; };",
    "struct s { struct s inner; };",
    "struct s { void *p; struct t x; }; struct t { struct u y[2]; }; struct u { int z; };",
    "struct s { struct t a; }; struct t { struct s b; };",
    "typedef ... foo_t; struct s { void (*x)(foo_t); };",
    "struct s { int x; void (*f)(struct s); };",
    "struct s { int x; void (*f)(struct t); }; struct t { int y; };",
    "struct s { int x; struct t (*f)(void); }; struct t { int y; };",
]


@pytest.mark.parametrize("source", USE_ERRORS)
def test_struct_errors_are_raised_at_first_use_as_cffi(source):
    ours, theirs = nffi.FFI(), cffi.FFI()
    ours.cdef(source)
    theirs.cdef(source)            # both accept the cdef
    try:
        expected = theirs.typeof("struct s")
    except Exception as e:      # noqa: BLE001 (the oracle's class is compared)
        expected = e
    if not isinstance(expected, Exception):
        assert ours.sizeof("struct s") == theirs.sizeof("struct s")
        return
    for use in ("typeof", "sizeof", "new"):     # every use, not only the first
        with pytest.raises(type(expected)) as info:
            getattr(ours, use)("struct s *" if use == "new" else "struct s")
        message = str(info.value)
        assert str(expected).strip('"') in message
        assert "(cdef line 1, column " in message


def test_a_struct_waits_for_a_member_defined_in_a_later_cdef():
    ffi = nffi.FFI()
    ffi.cdef("struct d { struct e x; int y; };")
    with pytest.raises(TypeError, match="has ctype 'struct e' of unknown size"):
        ffi.new("struct d *")
    ffi.cdef("int unrelated(void);")
    with pytest.raises(TypeError):
        ffi.sizeof("struct d")
    ffi.cdef("struct e { double q; };")
    assert ffi.sizeof("struct d") == 16
    assert ffi.new("struct d *", [[1.5], 2]).x.q == 1.5


def test_a_failed_cdef_leaves_waiting_structs_as_they_were():
    ffi = nffi.FFI()
    ffi.cdef("struct d { struct e x; };")
    with pytest.raises(nffi.CDefError):
        ffi.cdef("struct e { int q; }; int bad(unknown_t);")
    with pytest.raises(TypeError):
        ffi.sizeof("struct d")
    ffi.cdef("struct e { int q; };")
    assert ffi.sizeof("struct d") == 4


def test_function_typedef_as_the_type_of_a_declaration():
    ffi = nffi.FFI()
    ffi.cdef("typedef double func_t(double); func_t sin; typedef func_t f2; f2 cos;")
    assert sorted(ffi._model.functions) == ["cos", "sin"] and not ffi._model.variables
    lib = ffi.dlopen("m")
    assert lib.cos(0.0) == 1.0
    assert ffi.typeof(lib.sin) is ffi.typeof("double(*)(double)")


def test_typedef_int_dotdotdot_is_refused_by_verify_as_cffi():
    ffi = nffi.FFI()
    ffi.cdef("typedef int... t1;")
    with pytest.raises(nffi.VerificationError) as info:
        ffi.verify("")
    assert str(info.value) == ("feature not supported with ffi.verify(), but only with "
                               "ffi.set_source(): 'typedef int... t1'")


# ---- cffi's backend protocol (nffi.compat's FFI(backend=...)) ----------------------------

class _FakeType:
    """Its text is made when shown (cffi completes a struct after the pointers to it)."""

    def __init__(self, text, *parts):
        self.text, self.parts = text, parts

    def __str__(self):
        return self.text % tuple(str(p) if not isinstance(p, tuple) else ", ".join(map(str, p))
                                 for p in self.parts)


class _FakeStruct:
    def __init__(self, name):
        self.name, self.fields = name, None

    showing = set()     # the structs being shown (a struct that points to itself)

    def __str__(self):
        if id(self) in self.showing:
            return self.name
        self.showing.add(id(self))
        try:
            return "%s{%s}" % (self.name, ", ".join("%s %s:%s" % (t, n, b)
                                                     for n, t, b in self.fields or ()))
        finally:
            self.showing.discard(id(self))


class _FakeBackend:
    """A backend in cffi's protocol whose types are strings (as cffi's test_parsing)."""

    buffer = "buffer type"      # what cffi's FFI reads of its backend at construction

    def __init__(self):
        self.loaded = []

    def cast(self, ctype, value):
        return "casted!"

    def _get_types(self):
        return "CData", "CType"

    def nonstandard_integer_types(self):
        return {}

    def new_primitive_type(self, name):
        return _FakeType("<%s>", name)

    def new_void_type(self):
        return _FakeType("<void>")

    def new_pointer_type(self, item):
        return _FakeType("<pointer to %s>", item)

    def new_array_type(self, pointer, length):
        return _FakeType("<array %s x %s>", pointer, length)

    def new_function_type(self, args, result, ellipsis, *abi):
        return _FakeType("<func (%s), %s, %s>", tuple(args), result, ellipsis)

    def new_struct_type(self, name):
        return _FakeStruct(name)

    new_union_type = new_struct_type

    def complete_struct_or_union(self, s, fields, tp=None, size=-1, align=-1, *flags):
        s.fields = fields

    def load_library(self, name, flags):
        self.loaded.append(name)
        return self

    def load_function(self, btype, name):
        return ("function", name, str(btype))

    def read_variable(self, btype, name):
        return ("variable", name, str(btype))


FOREIGN_CDEF = """
    typedef unsigned int UInt;
    typedef struct { int a, b; } foo_t, *foo_p;
    struct node { struct node *next; double v[3]; };
    int foo(foo_p[]);
    short vararg(int, ...);
    UInt g(struct node *, char (*)[4]);
    extern long counter;
    #define K 42
"""


@pytest.mark.parametrize("name", ["UInt", "foo_t", "foo_p", "struct node",
                                  "int(*)(int, ...)", "char[4]", "void *"])
def test_foreign_backend_types_as_cffi_builds_them(name):
    from nffi.compat import CffiFFI
    ours, theirs = CffiFFI(backend=_FakeBackend()), cffi.FFI(backend=_FakeBackend())
    ours.cdef(FOREIGN_CDEF)
    theirs.cdef(FOREIGN_CDEF)
    mine, cffis = str(ours.typeof(name)), str(theirs.typeof(name))
    # nffi names anonymous structs after their typedef ('foo_t'), cffi '$foo_t'
    assert mine == cffis.replace("$foo_t", "foo_t")
    assert ours.typeof(name) is ours.typeof(name)       # built once


def test_foreign_backend_library():
    from nffi.compat import CffiFFI
    backend = _FakeBackend()
    ours, theirs = CffiFFI(backend=backend), cffi.FFI(backend=_FakeBackend())
    ours.cdef(FOREIGN_CDEF)
    theirs.cdef(FOREIGN_CDEF)
    lib, their_lib = ours.dlopen(None), theirs.dlopen(None)
    for name in ("foo", "vararg", "g"):
        assert getattr(lib, name) == getattr(their_lib, name)
    assert lib.counter[:2] == ("variable", "counter")
    assert lib.K == their_lib.K == 42
    ours.dlopen("m")            # a bare name is found as cffi finds it
    assert "libm" in backend.loaded[-1]
    ours.cdef("long foo(void);", override=True)
    assert lib.foo[2] == "<func (), <long>, False>"      # resolved at each access
    with pytest.raises(AttributeError):
        lib.undeclared


def test_own_backend_is_nffi_itself():
    from nffi.compat import CffiFFI
    ffi = CffiFFI(backend=_core)
    assert ffi.typeof("int") is nffi.FFI().typeof("int")


def test_struct_opaque_in_an_included_ffi_and_defined_here():
    # ABI mode completes it, as cffi's ABI mode does
    parent = nffi.FFI()
    parent.cdef("struct foo_s;")
    child = nffi.FFI()
    child.include(parent)
    child.cdef("struct foo_s { int x, y; };")
    assert child.sizeof("struct foo_s") == 8
    # API mode refuses it when used, as cffi (the compiled parent saw it opaque)
    parent, child = Model(), Model(_CompilerLike())
    parent.cdef("struct foo_s;")
    child.include(parent)
    child.cdef("struct foo_s { int x, y; };")
    with pytest.raises(NotImplementedError, match="'struct foo_s' is opaque in the "
                       "ffi.include\\(\\), but no longer in the ffi doing the include"):
        child.resolve(Tagged("struct", "foo_s"))


class _CompilerLike(layout.LayoutProvider):
    """A provider that is not ABI mode's (as API mode's), answering as gcc."""

    _gcc = layout.ABILayout(lambda name: _core.sizeof(nffi.FFI().typeof(name)))

    def struct_layout(self, decl, fields):
        return self._gcc.struct_layout(decl, fields)

    def enum_integer_type(self, decl, values):
        return self._gcc.enum_integer_type(decl, values)
