"""Loading the modules that cffi generates in out-of-line ABI mode.

``ffi.set_source("name", None); ffi.compile()`` makes cffi write a Python module that
builds its FFI object from compact tables::

    ffi = _cffi_backend.FFI('name', _version=0x2601, _types=b'...', _globals=(...),
                            _struct_unions=(...), _enums=(...), _typenames=(...),
                            _includes=(...))

Such a module carries no sizes or offsets: the layouts are computed when it is loaded,
as a cdef() would compute them.  This reader turns the tables back into nffi's parsed
declarations (nffi.decls nodes) and records them in the FFI's model, so that from there
on the FFI is the same as one given the original cdef().

The format, as described by cffi's cffi_opcode.py, parse_c_type.h and recompiler.py:

* an opcode is a 32-bit big-endian word: the low byte is the operation, the rest a
  signed argument;
* ``_types`` is an array of opcodes; the type of index i is described from word i on:
  PRIMITIVE n (n: cffi_number in nffi.primitives), POINTER i, ARRAY i (followed by a raw word, the
  length), OPEN_ARRAY i ('T[]'), STRUCT_UNION s (s indexes _struct_unions), ENUM e
  (e indexes _enums), FUNCTION r (r: the result type; then one word per argument,
  itself a type, and FUNCTION_END flags, bit 0 for '...', bit 1 for __stdcall), and
  NOOP i (the same type as index i);
* ``_globals``: a flat tuple of pairs ``b'<opcode><name>', int``: DLOPEN_FUNC i (a
  function of type i), GLOBAL_VAR i (a variable), CONSTANT_INT (an integer constant whose
  value is the int), ENUM (an enumerator, the int is its value), DLOPEN_CONST i (a
  constant of type i whose value is read from the library);
* ``_struct_unions``: tuples ``(b'<type index><flags><name>', field...)`` where a field
  is ``b'<opcode><name>'``, the opcode being NOOP i (a field of type i) or BITFIELD i
  followed by a word giving the bit width; an empty name is an anonymous member (or an
  unnamed bit-field); flags are F_UNION, F_CHECK_FIELDS, F_PACKED, F_EXTERNAL (declared
  by an included FFI) and F_OPAQUE (no fields known);
* ``_enums``: ``b'<type index><primitive><name>\\0<enumerator>,<enumerator>...'``;
* ``_typenames``: ``b'<type index><name>'``;
* ``_includes``: the FFI objects of other such modules (``ffi.include()``).
"""
from . import _core, primitives
from .decls import (Array, ConstantDecl, EnumDef, Field, Function, FunctionDecl, Pointer,
                    Primitive, StructDef, Tagged, Typedef, VariableDecl, Void)

__all__ = ["load_tables", "OutOfLineLibrary"]

from .cffi_format import (F_EXTERNAL, F_OPAQUE, F_PACKED, F_UNION, check_version,
                          OP_ARRAY, OP_BITFIELD, OP_CONSTANT_INT, OP_DLOPEN_CONST,
                          OP_DLOPEN_FUNC, OP_ENUM, OP_FUNCTION, OP_FUNCTION_END,
                          OP_GLOBAL_VAR, OP_NOOP, OP_OPEN_ARRAY, OP_POINTER, OP_PRIMITIVE,
                          OP_STRUCT_UNION)


def _word(data, pos):
    """The signed 32-bit big-endian word at byte offset pos."""
    return int.from_bytes(data[pos:pos + 4], "big", signed=True)


def _split_opcode(word):
    return word & 0xFF, word >> 8


class _TableReader:
    """Builds decls nodes from the tables of one module."""

    def __init__(self, module_name, types, struct_unions, enums):
        self.module_name = module_name
        if not isinstance(types, bytes) or len(types) % 4:
            raise self.error("_types must be bytes, a multiple of 4 long")
        self.words = [_word(types, i) for i in range(0, len(types), 4)]
        self.struct_unions = [self._parse_struct_header(entry, i)
                              for i, entry in enumerate(struct_unions or ())]
        self.enums = [self._parse_enum_header(entry, i) for i, entry in enumerate(enums or ())]
        self._nodes = {}
        self._visiting = set()
        # anonymous structs ('$1') that an included module defines too: each module
        # numbers its own, so ours get another tag (rename_anonymous)
        self.renamed = {}

    def rename_anonymous(self, includes):
        for name, flags, _ in self.struct_unions:
            kind = "union" if flags & F_UNION else "struct"
            if name.startswith("$") and not flags & F_EXTERNAL and any(
                    (kind, name) in included._model.struct_defs for included in includes):
                self.renamed[(kind, name)] = "%s@%s" % (name, self.module_name)

    def error(self, message):
        return _core.error("cffi out-of-line module '%s': %s" % (self.module_name, message))

    def name(self, raw, where, separator=False):
        """A name of the tables (bytes): UTF-8 without NUL (but the one separator of an
        enum entry), else the module's error naming where it is."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("%s: name %r is not UTF-8" % (where, raw)) from None
        if text.count("\0") > separator:
            raise self.error("%s: name %r holds a NUL" % (where, raw))
        return text

    # ---- the type table ---------------------------------------------------------------

    def type_node(self, index):
        node = self._nodes.get(index)
        if node is None:
            if not isinstance(index, int) or not 0 <= index < len(self.words):
                raise self.error("type index %r out of range (the _types table has %d "
                                 "entries)" % (index, len(self.words)))
            if index in self._visiting:
                raise self.error("_types[%d] refers to itself" % index)
            self._visiting.add(index)
            try:
                node = self._read_type(index)
            finally:
                self._visiting.discard(index)
            self._nodes[index] = node
        return node

    def _read_type(self, index):
        op, arg = _split_opcode(self.words[index])
        if op == OP_PRIMITIVE:
            if arg != 0 and arg not in primitives.BY_CFFI_NUMBER:
                raise self.error("_types[%d]: unknown primitive type number %d "
                                 "(API-mode types cannot be loaded in ABI mode)" % (index, arg))
            return Void() if arg == 0 else Primitive(primitives.BY_CFFI_NUMBER[arg].name)
        if op == OP_POINTER:
            return Pointer(self.type_node(arg))
        if op == OP_ARRAY:
            if index + 1 >= len(self.words) or self.words[index + 1] < 0:
                raise self.error("_types[%d]: array without a valid length" % index)
            return Array(self.type_node(arg), self.words[index + 1])
        if op == OP_OPEN_ARRAY:
            return Array(self.type_node(arg), None)
        if op == OP_STRUCT_UNION:
            return self._struct_tag(arg, "_types[%d]" % index)
        if op == OP_ENUM:
            if not 0 <= arg < len(self.enums):
                raise self.error("_types[%d]: enum number %d out of range" % (index, arg))
            return Tagged("enum", self.enums[arg][0])
        if op == OP_FUNCTION:
            return self._read_function(index, arg)
        if op == OP_NOOP:
            return self.type_node(arg)
        raise self.error("_types[%d]: opcode %d is not a type" % (index, op))

    def _read_function(self, index, result_index):
        args = []
        pos = index + 1
        while True:
            if pos >= len(self.words):
                raise self.error("_types[%d]: function type without FUNCTION_END" % index)
            op, arg = _split_opcode(self.words[pos])
            if op == OP_FUNCTION_END:
                break
            # an argument is a type of its own: a primitive, or NOOP pointing elsewhere,
            # or (when this is where the argument type was first emitted) any type
            args.append(self.type_node(pos))
            pos += 1
        if arg & ~3:
            raise self.error("_types[%d]: unknown function flags 0x%x" % (pos, arg))
        return Function(tuple(args), self.type_node(result_index), bool(arg & 1),
                        "__stdcall" if arg & 2 else None)

    # ---- struct/union and enum entries ------------------------------------------------

    def _parse_struct_header(self, entry, number):
        if not isinstance(entry, tuple) or not entry or not isinstance(entry[0], bytes) \
                or len(entry[0]) < 8:
            raise self.error("_struct_unions[%d] is not a valid entry" % number)
        flags = _word(entry[0], 4)
        name = self.name(entry[0][8:], "_struct_unions[%d]" % number)
        return name, flags, entry[1:]

    def _parse_enum_header(self, entry, number):
        if not isinstance(entry, bytes) or len(entry) < 8 or b"\0" not in entry[8:]:
            raise self.error("_enums[%d] is not a valid entry" % number)
        name, enumerators = self.name(entry[8:], "_enums[%d]" % number, True).split("\0", 1)
        return name, [e for e in enumerators.split(",") if e]

    def _struct_tag(self, number, where):
        if not 0 <= number < len(self.struct_unions):
            raise self.error("%s: struct/union number %d out of range" % (where, number))
        name, flags, _ = self.struct_unions[number]
        # (cffi's tables call the FILE of <stdio.h> 'struct _IO_FILE', as the model does)
        kind = "union" if flags & F_UNION else "struct"
        return Tagged(kind, self.renamed.get((kind, name), name))

    def struct_defs(self):
        """The StructDefs of the structs and unions defined by this module (not those
        of included modules)."""
        result = []
        for number, (name, flags, fields) in enumerate(self.struct_unions):
            tag = self._struct_tag(number, "_struct_unions[%d]" % number)
            if flags & F_EXTERNAL:
                continue
            if flags & F_OPAQUE:
                result.append(StructDef(tag.kind, tag.name, None))
                continue
            decoded = tuple(self._read_field(field, name, i) for i, field in enumerate(fields))
            result.append(StructDef(tag.kind, tag.name, decoded,
                                    packed=bool(flags & F_PACKED)))
        return result

    def check_external(self, includes):
        """The structs and unions marked F_EXTERNAL must be those of an included module
        (the model takes them over from it: the same ctypes)."""
        for number, (name, flags, _) in enumerate(self.struct_unions):
            if not flags & F_EXTERNAL:
                continue
            tag = self._struct_tag(number, "_struct_unions[%d]" % number)
            if not any((tag.kind, name) in included._model.struct_defs
                       or name in _declared_tags(included, tag.kind)
                       for included in includes):
                raise self.error("%s '%s' is marked as coming from an included module, "
                                 "which does not declare it" % (tag.kind, name))

    def _read_field(self, data, struct_name, i):
        where = "_struct_unions '%s', field %d" % (struct_name, i)
        if not isinstance(data, bytes) or len(data) < 4:
            raise self.error(where + " is not a valid entry")
        op, arg = _split_opcode(_word(data, 0))
        if op == OP_NOOP:
            return Field(self.name(data[4:], where), self.type_node(arg))
        if op == OP_BITFIELD and len(data) >= 8:
            return Field(self.name(data[8:], where), self.type_node(arg), _word(data, 4))
        raise self.error(where + ": unexpected opcode %d" % op)

    def enum_defs(self, enum_values):
        result = []
        for name, enumerators in self.enums:
            values = []
            for enumerator in enumerators:
                if enumerator not in enum_values:
                    raise self.error("enum '%s': no value for '%s' in _globals"
                                     % (name, enumerator))
                values.append((enumerator, enum_values[enumerator]))
            result.append(EnumDef(name, tuple(values)))
        return result


def _read_globals(reader, globals_):
    """(declarations, enumerator values, names of the constants read from the library)."""
    globals_ = tuple(globals_ or ())
    if len(globals_) % 2:
        raise reader.error("_globals must hold (name entry, value) pairs")
    decls, enum_values, library_constants = [], {}, set()
    for i in range(0, len(globals_), 2):
        entry, value = globals_[i], globals_[i + 1]
        if not isinstance(entry, bytes) or len(entry) < 5 or not isinstance(value, int):
            raise reader.error("_globals[%d] is not a valid entry" % i)
        op, arg = _split_opcode(_word(entry, 0))
        name = reader.name(entry[4:], "_globals[%d]" % i)
        if op == OP_DLOPEN_FUNC:
            node = reader.type_node(arg)
            if not isinstance(node, Function):
                raise reader.error("function '%s' does not have a function type" % name)
            decls.append(FunctionDecl(name, node))
        elif op == OP_GLOBAL_VAR:
            decls.append(VariableDecl(name, reader.type_node(arg)))
        elif op == OP_CONSTANT_INT:
            decls.append(ConstantDecl(name, value))
        elif op == OP_ENUM:
            enum_values[name] = value
        elif op == OP_DLOPEN_CONST:
            decls.append(ConstantDecl(name, None, reader.type_node(arg)))
            library_constants.add(name)
        else:
            raise reader.error("global '%s' has opcode %d, which out-of-line ABI mode does "
                               "not produce (is this an API-mode module?)" % (name, op))
    return decls, enum_values, library_constants


def _declared_tags(ffi, kind):
    """The struct or union tags an out-of-line module's tables name (opaque ones too)."""
    names = getattr(ffi, "_nffi_type_names", None)
    return () if names is None else names[1 if kind == "struct" else 2]


def _by_value_tags(node):
    """The struct/union tags whose layout a field of this type needs."""
    while isinstance(node, Array):
        node = node.item
    if isinstance(node, Tagged) and node.kind != "enum":
        return [(node.kind, node.name)]
    return []


def _in_dependency_order(struct_defs):
    """The definitions reordered so that a struct comes after the structs it contains
    by value, as C source has them (cffi's tables sort them by name); the model lays
    out each definition when it is declared."""
    by_key = {(d.kind, d.name): d for d in struct_defs}
    ordered, placed, visiting = [], set(), set()

    def place(key):
        decl = by_key.get(key)
        if decl is None or key in placed:
            return
        if key in visiting:
            raise _core.error("%s '%s' contains itself" % key)
        visiting.add(key)
        for field in decl.fields or ():
            for dependency in _by_value_tags(field.type):
                place(dependency)
        visiting.discard(key)
        placed.add(key)
        ordered.append(decl)

    for decl in struct_defs:
        place((decl.kind, decl.name))
    return ordered


def load_tables(ffi, module_name, version, types, globals_, struct_unions, enums,
                typenames, includes):
    """Declare in ffi's model what the tables of a cffi out-of-line module describe.
    Returns (the names of the constants whose value is read from the library, what
    ffi.list_types() gives for the module: its typedef, struct and union names)."""
    if not isinstance(module_name, str):
        module_name = module_name.decode("utf-8") if isinstance(module_name, bytes) else "?"
    check_version(module_name, version)
    reader = _TableReader(module_name, types, struct_unions, enums)
    global_decls, enum_values, library_constants = _read_globals(reader, globals_)
    model = ffi._model
    includes = tuple(includes or ())
    for included in includes:
        if not hasattr(included, "_nffi_type_names"):
            raise TypeError("cffi out-of-line module '%s': _includes must hold the ffi "
                            "objects of other out-of-line modules, not %r"
                            % (module_name, included))
    reader.check_external(includes)
    reader.rename_anonymous(includes)
    typedefs = []
    for i, entry in enumerate(typenames or ()):
        if not isinstance(entry, bytes) or len(entry) < 5:
            raise reader.error("_typenames[%d] is not a valid entry" % i)
        typedefs.append(Typedef(reader.name(entry[4:], "_typenames[%d]" % i),
                                reader.type_node(_word(entry, 0))))
    # one transaction: the included modules' types (ffi.include()), enums (struct fields
    # may have their type), structs in dependency order, then everything else
    model.declare(reader.enum_defs(enum_values) + _in_dependency_order(reader.struct_defs())
                  + typedefs + global_decls, includes=[i._model for i in includes])
    # the integer constants that come from included modules (lib hides them in dir())
    declared = {decl.name for decl in global_decls} | set(enum_values)
    ffi._nffi_included_constants = frozenset(
        name for included in includes for name, value in included._model.constants.items()
        if isinstance(value, int) and name not in declared)
    structs = sorted(name for name, flags, _ in reader.struct_unions
                     if not name.startswith("$") and not flags & F_UNION)
    unions = sorted(name for name, flags, _ in reader.struct_unions
                    if not name.startswith("$") and flags & F_UNION)
    type_names = sorted(t.name for t in typedefs)
    return frozenset(library_constants), (type_names, structs, unions)


class OutOfLineLibrary:
    """Mixin for the <lib> objects of loaded out-of-line modules (see nffi.compat),
    which behave as cffi's do for these modules: constants of a non-integer type
    ('static const double x;') are read from the library, and a symbol missing from
    the library is an ffi.error (a name not declared at all is an AttributeError)."""

    def _nffi_getattr(self, name):
        """What `lib.name` is when the instance dict does not have it (called by
        nffi.lib's FFILibrary)."""
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        self._nffi_check_declared(name)
        try:
            if name not in self._nffi_ffi._nffi_library_constants:
                return super()._nffi_getattr(name)
            model = self._nffi_ffi._model
            ct = model.resolve(model.constant_decls[name].type, allow_function=True)
            if ct.kind in ("struct", "union") and ct.fields is None:
                raise _core.error("constant '%s' is of type '%s', whose size is not known"
                                  % (name, ct.cname))
            value = self._nffi_library.read_variable(ct, name)
        except (AttributeError, KeyError) as e:
            raise self._nffi_missing_symbol(name, e) from None
        except _core.LibraryClosedError:
            # cffi's wording for the libs of these modules
            raise _core.error("library '%s' has been closed"
                              % self._nffi_library.name) from None
        self.__dict__[name] = value
        return value

    def _nffi_setattr(self, name, value):
        """`lib.name = value` for a name not cached yet (called by _core.LibBase)."""
        self._nffi_check_declared(name)
        try:
            super()._nffi_setattr(name, value)
        except KeyError as e:
            raise self._nffi_missing_symbol(name, e) from None

    def __dir__(self):
        # as cffi, not the integer constants that come from included modules
        hidden = getattr(self._nffi_ffi, "_nffi_included_constants", ())
        return [name for name in super().__dir__() if name not in hidden]

    def _nffi_check_declared(self, name):
        if self._nffi_kind(name) is None:
            for included in getattr(self._nffi_ffi, "_nffi_includes", ()):
                model = included._model
                if name in model.functions or name in model.variables \
                        or name in model.constant_decls:
                    raise _core.error("function, global variable or non-integer constant "
                                      "'%s' must be fetched from its original 'lib' object"
                                      % name)
            raise AttributeError("cffi library '%s' has no function, constant or global "
                                 "variable named '%s'" % (self._nffi_library.name, name))

    def _nffi_missing_symbol(self, name, exc):
        detail = exc.args[0] if exc.args else ""
        _, found, reason = str(detail).partition(" not found in library ")
        if not found:
            return exc
        return _core.error("symbol '%s' not found in library %s" % (name, reason))
