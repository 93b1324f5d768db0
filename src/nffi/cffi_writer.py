"""Writing modules in cffi's out-of-line ABI format: ``ffi.set_source("name", None)``
then ``ffi.compile()`` or ``ffi.emit_python_code(filename)``.

The module written is the one cffi writes for the same cdefs, byte for byte, so that it
loads on real cffi as on nffi (nffi.cffi_tables reads it back).  The text depends on
how cffi names and orders types, so this module first restates the cdefs the way cffi's
parser records them (``CffiDeclarations``: the keys 'function f', 'struct s',
'typedef t', 'anonymous t', 'macro M', ...; types compared by structure, structs,
unions and enums by identity, each with cffi's C name), then lays out the type table as
cffi's recompiler does (``Recompiler``): every type gets an index, function types come
first as FUNCTION / argument / FUNCTION_END runs, and the order of everything is the
order of the types' C names.

The same ``Recompiler`` answers ``cffi.recompiler.Recompiler(ffi, name)`` under
nffi.compat (``collect_type_table()``, ``cffi_types``), which cffi's tests read.
The opcodes and flags are nffi.cffi_format's, shared with the reader.
"""
import io
import os

from . import _core, primitives
from .cffi_format import (F_CHECK_FIELDS, F_EXTERNAL, F_OPAQUE, F_PACKED, F_UNION,
                          OP_ARRAY, OP_BITFIELD, OP_CONSTANT_INT, OP_DLOPEN_CONST,
                          OP_DLOPEN_FUNC, OP_ENUM, OP_FUNCTION, OP_FUNCTION_END,
                          OP_GLOBAL_VAR, OP_NAMES, OP_NOOP, OP_OPEN_ARRAY, OP_POINTER,
                          OP_PRIMITIVE, OP_STRUCT_UNION, PRIM_VOID, VERSION_BASE,
                          enum_primitive, four_bytes, opcode)
from .decls import (Array, ConstantDecl, EnumDef, Function, FunctionDecl, Named, Opaque,
                    Pointer, Primitive, StructDef, Tagged, Typedef, UnknownPrimitive,
                    VariableDecl, Void)
from .errors import VerificationError, VerificationMissing
from .layout import ABILayout
from .model import primitive_type
from .recompiler import replay_cdef

__all__ = ["Recompiler", "make_py_source", "py_source", "compile_py", "emit_python_code"]

Q_CONST = 0x01

# cffi's names of the complex types
_CFFI_NAMES = {"float _Complex": "_cffi_float_complex_t",
               "double _Complex": "_cffi_double_complex_t"}


# ---- types as cffi's parser sees them ----------------------------------------------------
#
# Each type has cffi's "C name with a marker": the C name with '&' where a declarator
# goes ('int *&', 'int(*&)(double)').  str() is '<C name>', the key cffi sorts by.

class _Type:
    is_array = False
    is_raw_function = False
    is_struct = False

    def cname(self):
        return self.marker.replace("&", "")

    def __repr__(self):
        return "<%s>" % self.cname()

    def parts(self):
        """The types this one is made of, in cffi's order of collection."""
        return ()


class _ByStructure(_Type):
    """Equal when of the same class with equal items (cffi's BaseType)."""

    def __eq__(self, other):
        return type(self) is type(other) and self.items == other.items

    def __hash__(self):
        return hash((type(self), self.items))


class _Void(_ByStructure):
    marker = "void&"
    items = ()


class _Primitive(_ByStructure):
    def __init__(self, name):
        self.name = name
        self.items = (name,)
        self.marker = _CFFI_NAMES.get(name, name) + "&"

    def is_integer(self):
        row = primitives.BY_NAME[self.name]
        return row.kind in ("signed", "unsigned", "bool")


class _UnknownPrimitive(_ByStructure):
    """'typedef int... t;' / 'typedef float... t;' (API mode only)."""

    def __init__(self, name, kind):
        self.name = name
        self.kind = kind
        self.items = (name, kind)
        self.marker = name + "&"

    def is_integer(self):
        return self.kind == "integer"


def _qualify(quals, text):
    if quals & Q_CONST:
        text = " const " + text.lstrip()
    return text


class _FunctionBase(_ByStructure):
    def __init__(self, args, result, ellipsis, abi):
        self.args, self.result, self.ellipsis, self.abi = args, result, ellipsis, abi
        self.items = (args, result, ellipsis, abi)
        shown = [arg.cname() for arg in args] + (["..."] if ellipsis else [])
        text = self.pattern % ", ".join(shown or ["void"])
        if abi is not None:
            text = text[:1] + abi + " " + text[1:]
        self.marker = result.marker.replace("&", text)

    def parts(self):
        return self.args + (self.result,)


class _RawFunction(_FunctionBase):
    """A function type ('int(int)'), as cffi's type tables hold them."""
    pattern = "(&)(%s)"
    is_raw_function = True


class _FunctionPointer(_FunctionBase):
    pattern = "(*&)(%s)"

    def raw(self):
        return _RawFunction(self.args, self.result, self.ellipsis, self.abi)


class _Pointer(_ByStructure):
    def __init__(self, item, quals=0):
        self.item, self.quals = item, quals
        self.items = (item, quals)
        extra = "(*&)" if item.is_array else " *&"
        self.marker = item.marker.replace("&", _qualify(quals, extra))

    def parts(self):
        return (self.item,)


class _NamedPointer(_Pointer):
    """'typedef struct { ... } *name_p;': a pointer type known by its typedef name."""

    def __init__(self, item, name, quals=0):
        super().__init__(item, quals)
        self.name = name
        self.items = (item, name)
        self.marker = name + "&"


class _Array(_ByStructure):
    is_array = True

    def __init__(self, item, length):
        self.item, self.length = item, length
        self.items = (item, length)
        brackets = "&[]" if length is None else (
            "&[/*...*/]" if length == "..." else "&[%s]" % length)
        self.marker = item.marker.replace("&", brackets)

    def parts(self):
        return (self.item,)


class _Tagged(_Type):
    """A struct, union or enum: one object per declaration (compared by identity)."""
    forcename = None
    origin = None

    def __init__(self, kind, name):
        self.kind, self.name = kind, name
        self.rename()

    def rename(self, forcename=None):
        if forcename:
            self.forcename = forcename
        self.marker = (self.forcename or "%s %s" % (self.kind, self.name)) + "&"


class _StructOrUnion(_Tagged):
    is_struct = True
    fields = None               # [(name, type, bit size or -1)], None: opaque
    partial = False
    packed = 0

    def anonymous_members(self):
        return [t for name, t, _ in self.fields or () if name == "" and t.is_struct]

    def flat_fields(self, expand_anonymous):
        for name, t, bits in self.fields:
            if name == "" and t.is_struct and expand_anonymous:
                yield from t.flat_fields(True)
            else:
                yield name, t, bits


class _Enum(_Tagged):
    def __init__(self, name, enumerators=(), values=(), partial=False):
        super().__init__("enum", name)
        self.enumerators, self.values, self.partial = enumerators, values, partial

    def hidden_name(self):
        """cffi gives an enum not named by a typedef at its first mention the hidden
        name '$enum_<tag>' (its C name stays 'enum <tag>'): no later typedef renames
        it, and an anonymous one is declared as 'anonymous $enum_$<n>'."""
        self.forcename = "$enum_" + self.name


class CffiDeclarations:
    """The cdefs of an FFI as cffi's parser records them: ``entries`` maps cffi's keys
    ('function f', 'struct s', 'typedef t', 'anonymous t', 'macro M', 'constant C',
    'variable v', 'enum e', 'union u') to (type or value, qualifiers); ``included``
    holds the types taken over from included FFIs; ``included_ffis`` those FFIs."""

    def __init__(self, ffi):
        from .model import Model
        if getattr(ffi, "_skipped_declarations", None) is not None:
            # (their declarations are not in the cdef log this restates)
            raise VerificationError("out-of-line ABI modules are written from cdef() "
                                    "declarations only; this FFI used cdef_header()")
        self.ffi = ffi
        self.entries = {}
        self.included = set()
        self.included_ffis = []
        self._anonymous = {}        # nffi's '$<n>' tag -> the cffi type
        self._anonymous_count = 0
        self._file = None
        scratch = Model()           # typedef names and constants, for the parser
        for action in ffi._nffi_cdef_log:
            if action[0] == "include":
                other = action[1]
                self.included_ffis.append(other)
                self._include(CffiDeclarations(other))
                scratch.include(other._model)
                continue
            options = action[2]
            decls = replay_cdef(scratch, action)
            self._number_anonymous(decls)
            for i, decl in enumerate(decls):
                self._typedef_next = decls[i + 1] if i + 1 < len(decls) else None
                self._declaration(decl, options)

    # ---- declarations ---------------------------------------------------------------

    def _declare(self, key, value, quals=0):
        self.entries[key] = (value, quals)

    def _include(self, other):
        for key, (value, quals) in other.entries.items():
            if key.startswith("anonymous $enum_$"):
                continue
            if key.split(" ", 1)[0] in ("struct", "union", "enum", "anonymous", "typedef"):
                self._declare(key, value, quals)
                self.included.add(value)
        self.included |= other.included

    def _number_anonymous(self, decls):
        """cffi numbers anonymous structs, unions and enums per FFI ('$1', '$2', ...)
        where each starts (an enclosing one before those inside it), nffi's parser per
        process where each ends: renumber by position in the cdef."""
        tags = sorted((d.line, d.column, int(d.name[1:]), d) for d in decls
                      if isinstance(d, (StructDef, EnumDef)) and d.name[1:].isdigit()
                      and d.name.startswith("$"))
        for _, _, _, decl in tags:
            self._anonymous_count += 1
            name = "$%d" % self._anonymous_count
            if isinstance(decl, EnumDef):
                t = self._anonymous[decl.name] = self._enum_from(decl, name)
                t.hidden_name()
                self._declare("anonymous " + t.forcename, t)
            else:
                self._anonymous[decl.name] = _StructOrUnion(decl.kind, name)

    def _declaration(self, decl, options):
        if isinstance(decl, StructDef):
            t = self._tagged(decl.kind, decl.name)
            if decl.fields is not None:
                t.fields = [(f.name, self.type_of(f.type),
                             -1 if f.bitsize is None else f.bitsize) for f in decl.fields]
                t.partial = decl.partial
                t.packed = 1 if decl.packed else (decl.pack or 0)
        elif isinstance(decl, EnumDef):
            if not decl.name.startswith("$"):
                key = "enum " + decl.name
                fresh = key not in self.entries
                t = self._tagged("enum", decl.name, decl)
                following = self._typedef_next
                if fresh and isinstance(following, Typedef) and \
                        following.type == Tagged("enum", decl.name):
                    # 'typedef enum e {...} t;': named t by its first mention
                    t.forcename = None
                    t.rename(following.name)
            elif not decl.name[1:].isdigit():
                self._tagged("enum", decl.name, decl)
        elif isinstance(decl, Typedef):
            self._typedef(decl)
        elif isinstance(decl, FunctionDecl):
            kind = {"Python": "extern_python", "Python+C": "extern_python_plus_c"}.get(
                decl.extern_python, "function")
            self._declare(kind + " " + decl.name,
                          _FunctionPointer(*self.type_of(decl.type).items))
        elif isinstance(decl, VariableDecl):
            t = self.type_of(decl.type)
            if isinstance(t, _RawFunction):       # 'func_t f;'
                self._declare("function " + decl.name, _FunctionPointer(*t.items))
            else:
                self._declare("variable " + decl.name, t)
        elif isinstance(decl, ConstantDecl):
            self._constant(decl)

    def _typedef(self, decl):
        node = decl.type
        if isinstance(node, Opaque):                    # 'typedef ... t;'
            t = _StructOrUnion("struct", "$" + decl.name)
            t.rename(decl.name)
            t.origin = "unknown_type"
        elif isinstance(node, Pointer) and isinstance(node.item, Opaque):
            t = _NamedPointer(_StructOrUnion("struct", "$$" + decl.name), decl.name)
        elif isinstance(node, Pointer) and isinstance(node.item, Tagged) \
                and node.item.name[1:].isdigit() and node.item.name.startswith("$") \
                and self.type_of(node.item).forcename is None:
            t = _NamedPointer(self.type_of(node.item), decl.name,
                              Q_CONST if node.item_const else 0)
        else:
            t = self.type_of(node)
            if isinstance(node, Tagged) and isinstance(t, _Tagged):
                # 'typedef struct s t;' names the struct t, if it is the first name
                # given ('$<n>': a later declarator of 'typedef struct {..} *p, t;')
                if not t.forcename and not t.name[1:].isdigit():
                    t.rename(decl.name)
                if t.forcename and "$" in t.name:
                    self._declare("anonymous " + t.forcename, t)
        self._declare("typedef " + decl.name, t)

    def _constant(self, decl):
        if decl.type is None:                           # '#define X ...'
            self._declare("macro " + decl.name, "..." if decl.value is None else decl.value)
            return
        t = self.type_of(decl.type)
        if isinstance(decl.value, int) and getattr(t, "is_integer", lambda: False)():
            self._declare("macro " + decl.name, decl.value)
        else:
            self._declare("constant " + decl.name, t, Q_CONST)

    # ---- types ------------------------------------------------------------------------

    def _tagged(self, kind, name, enum_decl=None):
        """The one object of a struct, union or enum, made on first mention."""
        if name.startswith("$"):
            if name in self._anonymous:
                return self._anonymous[name]
            if kind == "enum":
                t = self._enum_from(enum_decl, name) if enum_decl else _Enum(name)
            else:
                t = _StructOrUnion(kind, name)
            t.rename(name[1:])                         # '$t': anonymous, typedef'd as t
            self._declare("anonymous " + name[1:], t)
            self._anonymous[name] = t
            return t
        key = "%s %s" % (kind, name)
        if key in self.entries:
            return self.entries[key][0]
        if kind == "enum":
            t = self._enum_from(enum_decl, name) if enum_decl else _Enum(name)
            t.hidden_name()
        else:
            t = _StructOrUnion(kind, name)
        self._declare(key, t)
        return t

    def _enum_from(self, decl, name):
        values = [v for _, v in decl.enumerators]
        return _Enum(name, tuple(n for n, _ in decl.enumerators), tuple(values),
                     decl.partial or None in values)

    def type_of(self, node, quals=0):
        """The cffi type of an nffi type node."""
        if isinstance(node, Primitive):
            return _Primitive(node.name)
        if isinstance(node, Void):
            return _Void()
        if isinstance(node, Pointer):
            item = self.type_of(node.item)
            if isinstance(item, _RawFunction):
                return _FunctionPointer(*item.items)
            return _Pointer(item, Q_CONST if node.item_const else 0)
        if isinstance(node, Array):
            return _Array(self.type_of(node.item), node.length)
        if isinstance(node, Function):
            return _RawFunction(tuple(self._argument(a) for a in node.args),
                                self.type_of(node.result), node.ellipsis, node.abi)
        if isinstance(node, Tagged):
            return self._tagged(node.kind, node.name)
        if isinstance(node, Named):
            if node.name == "FILE" and "typedef FILE" not in self.entries:
                if self._file is None:
                    self._file = _StructOrUnion("struct", "_IO_FILE")
                    self._file.rename("FILE")
                    self._file.origin = "unknown_type"
                return self._file
            entry = self.entries.get("typedef " + node.name)
            if entry is None:
                raise VerificationError("unknown type name '%s'" % node.name)
            return entry[0]
        if isinstance(node, UnknownPrimitive):
            return _UnknownPrimitive(node.name, node.kind)
        if isinstance(node, Opaque):
            return self.entries["typedef " + node.name][0]
        raise NotImplementedError(node)

    def _argument(self, node):
        t = self.type_of(node)
        if isinstance(t, _Array):           # as cffi: 'T x[]' is a 'T *'
            return _Pointer(t.item, Q_CONST if getattr(node, "item_const", False) else 0)
        if isinstance(t, _RawFunction):
            return _FunctionPointer(*t.items)
        return t


# ---- the recompiler ---------------------------------------------------------------------

class CffiOp:
    """One word of the type table; str() as cffi's tests print it: '(FUNCTION 1)'."""

    def __init__(self, op, arg):
        self.op, self.arg = op, arg

    def __str__(self):
        return "(%s %s)" % (OP_NAMES.get(self.op, self.op), self.arg)

    __repr__ = __str__

    def as_python_bytes(self):
        if self.op is None:
            if isinstance(self.arg, int) or str(self.arg).isdigit():
                value = int(self.arg)
                if value >= 2 ** 31:
                    raise OverflowError("cannot emit %r: limited to 2**31-1" % (self.arg,))
                return four_bytes(value)
        if isinstance(self.arg, str):
            raise VerificationError("cannot emit to Python: %r" % (self.arg,))
        return four_bytes(opcode(self.op, self.arg))


class _Global:
    def __init__(self, name, op, check_value=0):
        self.name, self.op, self.check_value = name, op, check_value

    def as_python_expr(self):
        return "b'%s%s',%d" % (self.op.as_python_bytes(), self.name, self.check_value)


class _StructEntry:
    def __init__(self, name, type_index, flags, fields):
        self.name, self.type_index, self.flags, self.fields = name, type_index, flags, fields

    def as_python_expr(self):
        fields = []
        for name, op, bits in self.fields:
            width = four_bytes(bits) if op.op == OP_BITFIELD else ""
            fields.append("b'%s%s%s'" % (op.as_python_bytes(), width, name))
        return "(b'%s%s%s',%s)" % (four_bytes(self.type_index), four_bytes(self.flags),
                                   self.name, ",".join(fields))


class _EnumEntry:
    def __init__(self, name, type_index, size, signed, enumerators):
        self.name, self.type_index = name, type_index
        self.size, self.signed, self.enumerators = size, signed, enumerators

    def as_python_expr(self):
        return "b'%s%s%s\\x00%s'" % (four_bytes(self.type_index),
                                     four_bytes(enum_primitive(self.size, self.signed)),
                                     self.name, ",".join(self.enumerators))


class _TypenameEntry:
    def __init__(self, name, type_index):
        self.name, self.type_index = name, type_index

    def as_python_expr(self):
        return "b'%s%s'" % (four_bytes(self.type_index), self.name)


def _with_context(error, key):
    """cffi prefixes errors with the declaration ('macro FOO: ...')."""
    if error.args and type(error.args[0]) is str:
        error.args = ("%s: %s" % (key, error.args[0]),) + error.args[1:]
    return error


class Recompiler:
    """cffi's recompiler, as far as the type table and the out-of-line Python module
    go: ``collect_type_table()`` fills ``cffi_types`` (a tuple of CffiOp),
    ``collect_step_tables()`` the globals, struct/union, enum and typename entries,
    ``write_py_source_to_f(f)`` writes the module."""

    def __init__(self, ffi, module_name, target_is_python=False):
        self.ffi = ffi
        self.module_name = module_name
        self.target_is_python = target_is_python
        self.declarations = CffiDeclarations(ffi)

    # -- the type table

    def _collect(self, t):
        if isinstance(t, tuple):
            for x in t:
                self._collect(x)
            return
        if not isinstance(t, _Type) or t in self._typesdict:
            return
        self._typesdict[t] = None
        if isinstance(t, _FunctionPointer):
            self._collect(t.raw())
        elif t.is_struct:
            if t.fields is not None and t not in self.declarations.included:
                for _, field_type, _ in t.flat_fields(not self.target_is_python):
                    self._collect(field_type)
        else:
            for part in t.parts():
                self._collect(part)

    def _collect_struct(self, t):
        self._collect(t)
        if self.target_is_python:       # nested anonymous members too, in ABI mode
            for member in t.anonymous_members():
                self._collect_struct(member)

    def _collect_declaration(self, kind, t):
        if kind == "typedef" or kind == "variable":
            self._collect(t)
        elif kind == "function":
            self._collect(t.raw())
            if t.ellipsis and not self.target_is_python:
                self._collect(t)
        elif kind in ("struct", "union"):
            self._collect_struct(t)
        elif kind == "anonymous":
            if isinstance(t, _Enum):
                self._collect(t)
            else:
                self._collect_struct(t)
        elif kind == "enum" or kind.startswith("extern_python"):
            self._collect(t)
        elif kind == "constant":
            if self.target_is_python or not t.is_integer():
                self._collect(t)

    def _each_declaration(self):
        for key, (value, quals) in sorted(self.declarations.entries.items(),
                                          key=lambda item: item[0]):
            kind, name = key.split(" ", 1)
            yield key, kind, name, value

    def collect_type_table(self):
        self._typesdict = {}
        for key, kind, name, value in self._each_declaration():
            try:
                self._collect_declaration(kind, value)
            except Exception as e:
                raise _with_context(e, key)
        all_types = sorted(self._typesdict, key=str)
        types = []
        for t in all_types:                   # function types first
            if t.is_raw_function:
                self._typesdict[t] = len(types)
                types.append(t)
                for arg in t.args:
                    if self._typesdict[arg] is None:
                        self._typesdict[arg] = len(types)
                    types.append(arg)
                types.append("END")
        for t in all_types:
            if not t.is_raw_function and self._typesdict[t] is None:
                self._typesdict[t] = len(types)
                types.append(t)
                if t.is_array and t.length is not None:
                    types.append("LEN")
        structs = sorted((t for t in all_types if t.is_struct), key=lambda t: t.name)
        enums = sorted((t for t in all_types if isinstance(t, _Enum)), key=lambda t: t.name)
        self._struct_unions = {t: i for i, t in enumerate(structs)}
        self._enums = {t: i for i, t in enumerate(enums)}
        for t in all_types:
            self._emit(types, t, self._typesdict[t])
        self.cffi_types = tuple(types)

    def _emit(self, types, t, index):
        if isinstance(t, _Void):
            types[index] = CffiOp(OP_PRIMITIVE, PRIM_VOID)
        elif isinstance(t, _Primitive):
            types[index] = CffiOp(OP_PRIMITIVE, primitives.BY_NAME[t.name].cffi_number)
        elif isinstance(t, _UnknownPrimitive):
            types[index] = CffiOp(OP_PRIMITIVE, "_cffi_prim_%s(sizeof(%s))"
                                  % ("int" if t.is_integer() else "float", t.name))
        elif isinstance(t, _RawFunction):
            types[index] = CffiOp(OP_FUNCTION, self._typesdict[t.result])
            for arg in t.args:
                index += 1
                real = self._typesdict[arg]
                if index != real:
                    if isinstance(arg, _Primitive):
                        self._emit(types, arg, index)
                    else:
                        types[index] = CffiOp(OP_NOOP, real)
            if t.abi not in (None, "__stdcall"):
                raise NotImplementedError("abi=%r" % (t.abi,))
            types[index + 1] = CffiOp(OP_FUNCTION_END,
                                      int(t.ellipsis) | (2 if t.abi == "__stdcall" else 0))
        elif isinstance(t, _FunctionPointer):
            types[index] = CffiOp(OP_POINTER, self._typesdict[t.raw()])
        elif isinstance(t, _Pointer):
            types[index] = CffiOp(OP_POINTER, self._typesdict[t.item])
        elif isinstance(t, _Array):
            item = self._typesdict[t.item]
            if t.length is None:
                types[index] = CffiOp(OP_OPEN_ARRAY, item)
            elif t.length == "...":
                raise VerificationError(
                    "type %s badly placed: the '...' array length can only be used on "
                    "global arrays or on fields of structures"
                    % str(t).replace("/*...*/", "..."))
            else:
                types[index] = CffiOp(OP_ARRAY, item)
                types[index + 1] = CffiOp(None, str(t.length))
        elif t.is_struct:
            types[index] = CffiOp(OP_STRUCT_UNION, self._struct_unions[t])
        elif isinstance(t, _Enum):
            types[index] = CffiOp(OP_ENUM, self._enums[t])

    # -- the other tables (Python target)

    def collect_step_tables(self):
        self._globals, self._structs, self._enum_entries, self._typenames = [], [], [], []
        self._seen_structs = set()
        for key, kind, name, value in self._each_declaration():
            try:
                self._step(kind, name, value)
            except Exception as e:
                raise _with_context(e, key)
        self._add_missing_structs()
        for entries in (self._globals, self._structs, self._enum_entries, self._typenames):
            entries.sort(key=lambda entry: entry.name)

    def _step(self, kind, name, t):
        if kind == "typedef":
            self._typenames.append(_TypenameEntry(name, self._typesdict[t]))
            if t.is_struct and t.origin == "unknown_type":
                self._struct_step(t)
            elif isinstance(t, _NamedPointer):
                self._struct_step(t.item, named_pointer=t)
        elif kind == "function":
            self._globals.append(_Global(name, CffiOp(OP_DLOPEN_FUNC,
                                                      self._typesdict[t.raw()])))
        elif kind in ("struct", "union"):
            self._struct_step(t)
        elif kind == "anonymous":
            if isinstance(t, _Enum):
                self._enum_step(t)
            else:
                self._struct_step(t)
        elif kind == "enum":
            self._enum_step(t)
        elif kind == "constant":
            self._globals.append(_Global(name, CffiOp(OP_DLOPEN_CONST, self._typesdict[t])))
        elif kind == "macro":
            if t == "...":
                raise VerificationError("cannot use the syntax '...' in '#define %s ...' "
                                        "when using the ABI mode" % name)
            self._globals.append(_Global(name, CffiOp(OP_CONSTANT_INT, -1), t))
        elif kind == "variable":
            self._globals.append(_Global(name, CffiOp(OP_GLOBAL_VAR, self._typesdict[t])))
        elif kind.startswith("extern_python"):
            raise VerificationError("cannot use 'extern \"Python\"' in the ABI mode")

    def _struct_step(self, t, named_pointer=None, unnamed=False):
        included = self.declarations.included
        flags = F_UNION if t.kind == "union" else 0
        if t.fields is None:
            flags |= F_OPAQUE
        expand = t.fields is not None
        if t not in included and (named_pointer is None or named_pointer not in included):
            if t.fields is not None and not t.partial and not t.anonymous_members():
                flags |= F_CHECK_FIELDS
            if t.packed:
                if t.packed > 1:
                    raise NotImplementedError(
                        "%r is declared with 'pack=%r'; only 0 or 1 are supported in API "
                        "mode (try to use \"...;\", which does not require a 'pack' "
                        "declaration)" % (t, t.packed))
                flags |= F_PACKED
        else:
            flags |= F_EXTERNAL
            expand = False
        fields = []
        if expand:
            for field_name, field_type, bits in t.flat_fields(not self.target_is_python):
                inner = field_type
                while inner.is_array:
                    inner = inner.item
                if inner.is_struct and inner.fields is None:
                    raise TypeError("field '%s.%s' is of an opaque type (not declared in "
                                    "cdef())" % (t.name, field_name))
                op = OP_BITFIELD if bits >= 0 else OP_NOOP
                fields.append((field_name, CffiOp(op, self._typesdict[field_type]), bits))
        self._structs.append(_StructEntry(t.name, self._typesdict[t], flags, fields))
        self._seen_structs.add(t)

    def _add_missing_structs(self):
        for t, _ in sorted(self._struct_unions.items(), key=lambda item: item[1]):
            if t in self._seen_structs:
                continue
            if t.name.startswith("$") and t.name[1:].isdigit():
                pass
            elif t.name == "_IO_FILE" and t.forcename == "FILE":
                self._typenames.append(_TypenameEntry("FILE", self._typesdict[t]))
            else:
                raise NotImplementedError("internal inconsistency: %r" % (t,))
            self._struct_step(t)

    def _enum_step(self, t):
        if self.target_is_python and t.partial:
            raise VerificationMissing("enum %s: the values of its enumerators are only "
                                      "known to the C compiler (API mode)" % t.cname())
        for enumerator, value in zip(t.enumerators, t.values):
            self._globals.append(_Global(enumerator, CffiOp(OP_ENUM, -1), value))
        size, signed = self._enum_integer(t)
        self._enum_entries.append(_EnumEntry(t.name, self._typesdict[t], size, signed,
                                             t.enumerators))

    def _enum_integer(self, t):
        """(size, signed) of the enum's integer type, by nffi's rule (layout.py)."""
        def size(name):
            return _core.sizeof(primitive_type(name))
        decl = EnumDef(t.name, tuple(zip(t.enumerators, t.values)))
        name = ABILayout(size).enum_integer_type(decl, t.values)
        return size(name), primitives.BY_NAME[name].kind == "signed"

    # -- the module

    def write_py_source_to_f(self, f):
        lines = ["# auto-generated file", "import _cffi_backend"]
        for i, other in enumerate(self.declarations.included_ffis):
            source = getattr(other, "_nffi_source", None)
            if source is None:
                raise VerificationError(
                    "ffi object %r includes %r, but the latter has not been prepared "
                    "with set_source()" % (self.ffi, other))
            if source[1] is not None:
                raise VerificationError("not implemented yet: ffi.include() of a C-based "
                                        "ffi inside a Python-based ffi")
            lines.append("from %s import ffi as _ffi%d" % (source[0], i))
        lines.append("")
        lines.append("ffi = _cffi_backend.FFI('%s'," % self.module_name)
        lines.append("    _version = 0x%x," % VERSION_BASE)
        lines.append("    _types = b'%s'," % "".join(op.as_python_bytes()
                                                    for op in self.cffi_types))
        for keyword, entries in (("globals", self._globals),
                                 ("struct_unions", self._structs),
                                 ("enums", self._enum_entries),
                                 ("typenames", self._typenames)):
            if entries:
                lines.append("    _%s = %s," % (keyword, _tuple_text(entries)))
        if self.declarations.included_ffis:
            lines.append("    _includes = (%s,)," % ", ".join(
                "_ffi%d" % i for i in range(len(self.declarations.included_ffis))))
        lines.append(")")
        f.write("\n".join(lines) + "\n")


def _tuple_text(entries):
    texts = [entry.as_python_expr() for entry in entries]
    if len(texts) == 1:
        texts.append("")
    return "(%s)" % ",".join(texts)


def py_source(ffi, module_name):
    """The text of the out-of-line module 'module_name' for ffi's cdefs."""
    recompiler = Recompiler(ffi, module_name, target_is_python=True)
    recompiler.collect_type_table()
    recompiler.collect_step_tables()
    out = io.StringIO()
    recompiler.write_py_source_to_f(out)
    return out.getvalue()


def make_py_source(ffi, module_name, target_py_file, verbose=False):
    """Write the module to a file name (rewritten only if its text changed; returns
    whether it was) or a file object.  cffi.recompiler.make_py_source under compat."""
    text = py_source(ffi, module_name)
    if hasattr(target_py_file, "write"):
        target_py_file.write(text)
        return True
    path = os.fspath(target_py_file)
    try:
        with open(path) as f:
            if f.read() == text:
                if verbose:
                    print("(already up-to-date)")
                return False
    except OSError:
        pass
    if verbose:
        print("writing %s" % path)
    with open(path + ".~", "w") as f:       # a failed write keeps the old module
        f.write(text)
    os.replace(path + ".~", path)
    return True


def _source(ffi):
    source = getattr(ffi, "_nffi_source", None)
    if source is None:
        raise ValueError("set_source() must be called before emit_python_code() or "
                         "compile()")
    return source


def compile_py(ffi, tmpdir=".", verbose=False):
    """ffi.compile() after set_source(name, None): write <tmpdir>/<package dirs>/<name>.py
    and return its path."""
    module_name = _source(ffi)[0]
    parts = module_name.split(".")
    directory = os.path.join(os.fspath(tmpdir), *parts[:-1])
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, parts[-1] + ".py")
    make_py_source(ffi, module_name, path, verbose=verbose)
    return path


def emit_python_code(ffi, filename):
    """ffi.emit_python_code(): the out-of-line module to a file name or file object."""
    module_name, source = _source(ffi)[:2]
    if source is not None:
        raise TypeError("emit_python_code() is only for ABI mode (set_source(name, "
                        "None)); use emit_c_code() for API mode")
    make_py_source(ffi, module_name, filename)
