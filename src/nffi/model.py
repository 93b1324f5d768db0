"""The model of one FFI: its registry (nffi.registry: what was declared) and the Realizer
that builds native ctypes from it (nffi._core.CType objects), on demand and once.

Primitive, pointer, array and function types are unique across the process (two FFI
objects give the same <ctype 'int *'>; the constructors below are the one place that asks
the core for them), so cdata can be passed from one FFI to another; struct, union and
enum types belong to the FFI that declared them.

The realizer asks a layout provider (nffi.layout.LayoutProvider) for every number that is
the compiler's business: ABILayout (gcc's rules) in ABI mode, the compiler's answers in
API mode.  A cdef is a transaction of the registry that the realizer follows: its
declarations are recorded, laid out and resolved, and only then committed; if anything
fails, registry and realizer are left exactly as they were.
"""
import dataclasses
import re
import sys
import threading
import warnings

from . import _core, cparser, layout, primitives
from .decls import (Array, ConstantDecl, Function, FunctionDecl, Named, Opaque,
                    Pointer, Primitive, StructDef, Tagged, Typedef, UnknownPrimitive,
                    VariableDecl, Void)
from .errors import CDefError, FFIError
from .layout import ABILayout, NeedsCompiler
from .registry import FILE_TAG, Registry, error_at

# ---- process-wide unique types -------------------------------------------------------

_unique_lock = threading.Lock()
_primitive_types = {}
void_type = _core.new_void_type()
# 'FILE' is one opaque struct for the whole process, as in cffi: 'struct _IO_FILE' (the
# tag of glibc's FILE, and of cffi's tables) by another name -- until an FFI defines
# 'struct _IO_FILE' (glibc's <stdio.h> through cdef_header): then that FFI has its own
file_type = _core.new_struct_type("FILE")


def primitive_type(name):
    ct = _primitive_types.get(name)
    if ct is None:
        with _unique_lock:
            ct = _primitive_types.setdefault(name, _core.new_primitive_type(name))
    return ct


def pointer_type(ct):
    return _core.new_pointer_type(ct)      # cached on the item type by the core


def array_type(item, length):
    # unique in the process: the core's registry interns it (a Python cache keyed by the
    # pointer type would keep a 'T[]' the pointer type anchors alive forever)
    return _core.new_array_type(pointer_type(item), length)


def function_type(args, result, ellipsis, abi=None):
    return _core.new_function_type(tuple(args), result, ellipsis, abi)   # interned too


class _FailsAtUse(NeedsCompiler):
    """A struct definition that cffi accepts in cdef() and refuses when the struct is
    used (an invalid bit-field, a member of unknown size): error is cffi's exception,
    which every use raises (see Realizer._lay_out)."""


class _IncompleteMember(_FailsAtUse):
    """A member struct (member: its ctype, None for an array of unknown items) is not
    complete yet: it may be defined later in the cdef.  field: the member."""

    def __init__(self, error, member, field):
        super().__init__(error)
        self.member, self.field = member, field


def _field_error(kind, template, owner, field, *more):
    """cffi's exception about a struct member (template: 'field '%s.%s' ...' with the
    struct's C name and the member's name), with the cdef position of the member."""
    message = template % ((owner.cname, field.name) + more)
    return kind("%s (cdef line %s, column %s)" % (message, field.line, field.column))


def _incomplete_type(message, ctype):
    """cffi's TypeError for a function type with an incomplete argument or result; its
    ctype attribute is that struct (see Realizer._give_up_deferred)."""
    error = TypeError(message)
    error.ctype = ctype
    return error


class _IncompleteItem(Exception):
    """A member's type is made of an incomplete struct (see _resolve_checked)."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


_INCOMPLETE_ITEM = re.compile(r"array item of unknown size|ctype '.*' has incomplete type"
                              r"|result type '.*' is not yet initialized")


class _UndeclaredTag(Exception):
    def __init__(self, kind, tag):
        super().__init__(kind, tag)
        self.kind, self.tag = kind, tag


# ---- the realizer: ctypes from declarations -----------------------------------------------

class Realizer:
    """Builds the ctypes of one FFI from its registry's declarations.

    It follows the registry's transactions (see nffi.registry.Registry.transaction):
    each struct/union definition is laid out when declared and the struct ctypes are
    completed when the transaction commits; every other ctype is built on demand by
    resolve() and cached (typedefs per name, struct/union/enum ctypes per tag).  Every
    number that is the compiler's business comes from the layout provider
    (nffi.layout.LayoutProvider: ABILayout in ABI mode).

    A declaration that only the compiler can complete (cffi's '...' forms) makes the
    provider raise NeedsCompiler: a transaction records such a struct as unrealizable
    and goes on; resolving anything that needs it raises NeedsCompiler again, which the
    Model turns into the user's error (cffi's, for ABI mode).
    """

    _undeclared_tags_refused = False    # set while parse_type(declared_tags_only=True)
    _type_string = False                # set while parse_type() resolves
    _laying_out = False                 # set while the members of a struct resolve
    _owner = None                       # the declaration being resolved (array lengths)

    def __init__(self, registry, provider):
        self.registry = registry
        self.provider = provider
        self._tagged_types = {}      # (kind, tag) -> CType (struct/union/enum, opaque)
        self._typedef_types = {}     # typedef name -> CType
        self._typedef_aligns = {}    # typedef name -> its Typedef.align (real headers)
        self._unrealizable = {}      # (kind, tag) -> the error its use raises
        self._pending_layouts = {}   # CType -> (size, align) decided but not yet committed
        self._pending_fields = {}    # CType -> its field tuples, same
        self._completions = []       # structs of the running transaction, laid out
        self._deferred = []          # (ctype, StructDef, _IncompleteMember) of this cdef
        self._incomplete = {}        # (kind, tag) -> (ctype, StructDef, _IncompleteMember)
                                     # of earlier cdefs still waiting (tried again by
                                     # each cdef)
        self._opaque_included = {}   # (kind, tag) -> True: opaque in an included FFI

    # ---- following the registry's transactions (the observer protocol) -------------------

    def snapshot(self):
        return {name: dict(value) for name, value in vars(self).items()
                if isinstance(value, dict)}

    def restore(self, state):
        for name, value in state.items():
            setattr(self, name, value)

    def begin(self):
        self._pending_layouts, self._pending_fields, self._completions = {}, {}, []
        self._deferred = []

    def end(self):
        self._pending_layouts, self._pending_fields, self._completions = {}, {}, []
        self._deferred = []

    def declared(self, decl, override):
        if isinstance(decl, Typedef):
            self._typedef_types.pop(decl.name, None)
            if decl.align is not None:
                self._typedef_aligns[decl.name] = decl.align
            else:
                self._typedef_aligns.pop(decl.name, None)
        elif isinstance(decl, StructDef):
            self._define_struct(decl, override)

    def commit(self, decls):
        self._lay_out_deferred()
        for decl in decls:
            self._check_resolvable(decl)
        # in declaration order: a struct's members by value (arrays of a struct of this
        # transaction included) are complete before it is
        for ct, fields, size, align, init_fields in self._completions:
            fields = [(f[0], self._materialize(f[1])) + tuple(f[2:]) for f in fields]
            init_fields = [(f[0], self._materialize(f[1]), f[2]) for f in init_fields]
            _core.complete_struct_or_union(ct, fields, size, align, 0, init_fields)

    def shareable(self):
        """What another realizer takes over on ffi.include(): (every struct/union/enum
        ctype, built now, by key; the errors of the unrealizable ones)."""
        tagged = {}
        for kind, tag in list(self.registry.struct_defs):
            tagged[(kind, tag)] = self._tagged_ctype(kind, tag)
        for tag in list(self.registry.enum_defs):
            try:
                tagged[("enum", tag)] = self._tagged_ctype("enum", tag)
            except NeedsCompiler:
                pass        # its use fails in the including FFI as here
        for key, ct in self._tagged_types.items():
            tagged.setdefault(key, ct)
        return tagged, dict(self._unrealizable)

    def include(self, shared, registry):
        """Take over the ctypes of another realizer (its shareable(): the very same
        objects, so that cdata pass between the two FFIs).  registry is ours, as it is
        before it takes over the other's declarations."""
        tagged, unrealizable = shared
        for key, ct in tagged.items():
            mine = self._tagged_types.get(key)
            if mine is not None and mine is not ct:
                if (mine.kind in ("struct", "union") and mine.fields is None
                        and key not in registry.struct_defs):
                    pass        # only forward-declared here: take theirs
                else:
                    raise FFIError("include: multiple declarations of %s '%s'" % key)
            self._tagged_types[key] = ct
            if ct.kind in ("struct", "union") and ct.fields is None and \
                    key not in unrealizable:
                self._opaque_included[key] = True
        for key, error in unrealizable.items():
            self._unrealizable.setdefault(key, error)
        self._typedef_types.clear()

    def _define_struct(self, decl, override):
        key = (decl.kind, decl.name)
        ct = self._tagged_ctype(decl.kind, decl.name)
        if decl.fields is None:          # forward declaration
            return
        if ct is file_type:
            # glibc's definition of FILE (<stdio.h> read by cdef_header): FILE becomes
            # a struct of this FFI with that layout, still a FILE to the core (a Python
            # file for a 'FILE *', which mixes with other FFIs' 'FILE *')
            ct = self._replace_tagged_ctype(decl.kind, decl.name)
        elif ct.fields is not None:
            if not override:
                raise error_at("%s '%s' is already defined" % (decl.kind, decl.name), decl)
            ct = self._replace_tagged_ctype(decl.kind, decl.name)
        self._unrealizable.pop(key, None)
        self._incomplete.pop(key, None)
        if key in self._opaque_included and not isinstance(self.provider, ABILayout):
            # API mode, as cffi's: the ctype is the included module's, which the
            # compiler saw opaque (ABI mode completes it, as cffi's does)
            self._unrealizable[key] = NotImplementedError(
                "'%s %s' is opaque in the ffi.include(), but no longer in the ffi doing "
                "the include (workaround: don't use ffi.include() but duplicate the "
                "declarations of everything using %s %s)" % (key * 2))
            return
        self._lay_out(ct, decl)

    def _lay_out(self, ct, decl):
        """Lay out a struct definition now, or record why it cannot be: a member struct
        not complete yet may be defined later in the same cdef (_lay_out_deferred
        tries again); what only the compiler knows (ABI mode), or what cffi refuses
        when the struct is used, is raised by every use."""
        try:
            self._completions.append(self._compute_layout(ct, decl))
        except _IncompleteMember as e:
            self._deferred.append((ct, decl, e))
        except NeedsCompiler as e:
            self._unrealizable[(decl.kind, decl.name)] = e.error

    def _lay_out_deferred(self):
        """The structs whose members were incomplete when they were declared, once the
        cdef declared everything (in rounds: one may need another)."""
        for key, (ct, decl, incomplete) in self._incomplete.items():
            self._unrealizable.pop(key)
            self._deferred.append((ct, decl, incomplete))
        self._incomplete = {}
        while self._deferred:
            waiting, self._deferred = self._deferred, []
            for ct, decl, _ in waiting:
                self._lay_out(ct, decl)
            if len(self._deferred) == len(waiting):
                self._give_up_deferred()

    def _give_up_deferred(self):
        """The deferred structs that no declaration completed: each use raises the
        error of its incomplete member, cffi's NotImplementedError when the members
        lead back to the struct itself."""
        waiting_for = {ct: incomplete.member for ct, _, incomplete in self._deferred}
        for ct, decl, incomplete in self._deferred:
            error, member, seen = incomplete.error, incomplete.member, set()
            while member in waiting_for and member not in seen:
                seen.add(member)
                if member is ct:
                    field = incomplete.field
                    error = NotImplementedError(
                        "recursive structure declaration for '%s' (cdef line %s, column "
                        "%s)" % (decl.name, field.line, field.column))
                    break
                member = waiting_for[member]
            self._unrealizable[(decl.kind, decl.name)] = error
            self._incomplete[(decl.kind, decl.name)] = (ct, decl, incomplete)
        self._deferred = []

    def _check_resolvable(self, decl):
        """Resolve what a declaration names now, so that errors point at the cdef; what
        only the compiler can complete fails when used, not here (as cffi)."""
        if isinstance(decl, (Typedef, FunctionDecl, VariableDecl)) or (
                isinstance(decl, ConstantDecl) and decl.type is not None):
            try:
                self._resolve_checked(decl.type, decl, allow_function=True,
                                      owner=_owner_of(decl))
            except NeedsCompiler:
                pass

    def _resolve_checked(self, node, decl, allow_function, owner=None,
                         item_errors_at_use=False):
        """Resolve for a cdef: every error is a CDefError pointing at the declaration
        (with item_errors_at_use, an array of items of unknown size or a function
        type with incomplete arguments raises _IncompleteItem instead)."""
        try:
            ct = self._resolve_owned(node, owner)
            if not allow_function and self._is_function(node):
                self.resolve(node)          # its error
            return ct
        except CDefError as e:
            if e.line is None:
                raise error_at(str(e), decl) from None
            raise
        except (ValueError, TypeError, OverflowError) as e:
            if item_errors_at_use and _INCOMPLETE_ITEM.match(str(e)):
                raise _IncompleteItem(e) from None
            raise error_at(str(e), decl) from None

    def _resolve_owned(self, node, owner):
        saved, self._owner = self._owner, owner
        try:
            return self._resolve(node)
        finally:
            self._owner = saved

    # ---- struct layout -------------------------------------------------------------------

    def _size_align(self, ct, field, owner):
        """(size, alignment) of a member's ctype; owner is the struct's ctype."""
        if isinstance(ct, _Pending):
            return ct.size, ct.align
        pending = self._pending_layouts.get(ct)
        if pending is not None:
            return pending
        if ct.kind in ("struct", "union") and ct.fields is None:
            raise _IncompleteMember(_field_error(
                TypeError, "field '%s.%s' has ctype '%s' of unknown size",
                owner, field, ct.cname), ct, field)
        if ct.kind == "void":
            raise _FailsAtUse(_field_error(
                TypeError, "field '%s.%s' has ctype '%s' of unknown size",
                owner, field, ct.cname))
        if ct.kind == "array" and ct.length is None:
            return 0, _core.alignof(ct)
        return _core.sizeof(ct), _core.alignof(ct)

    @staticmethod
    def _check_bit_field(field, ftype, size, owner):
        """cffi's errors for a bit-field it refuses, raised when the struct is used."""
        if ftype.kind not in ("primitive", "enum") or (
                ftype.kind == "primitive" and not primitives.is_integer(ftype.cname)):
            raise _FailsAtUse(_field_error(
                TypeError, "field '%s.%s' declared as '%s' cannot be a bit field",
                owner, field, ftype.cname))
        if field.bitsize == 0 and field.name:
            raise _FailsAtUse(_field_error(TypeError, "field '%s.%s' is declared with :0",
                                           owner, field))
        if field.bitsize > size * 8:
            raise _FailsAtUse(_field_error(
                TypeError, "bit field '%s.%s' is declared '%s:%d', which exceeds the "
                "width of the type", owner, field, ftype.cname, field.bitsize))

    def _compute_layout(self, ct, decl):
        field_types = []
        specs = []
        for i, field in enumerate(decl.fields):
            self._laying_out = True
            try:
                ftype = self._resolve_checked(field.type, field, allow_function=False,
                                              owner=("field", decl.kind, decl.name,
                                                     field.name), item_errors_at_use=True)
            except _IncompleteItem as e:
                # cffi's error when used ('struct b x[2]', 'void (*f)(struct b)' before
                # struct b is complete: it may be defined later in the cdef)
                error = e.error
                raise _IncompleteMember(
                    (ValueError if isinstance(error, ValueError) else TypeError)(
                        "%s (cdef line %s, column %s)" % (error, field.line, field.column)),
                    getattr(error, "ctype", None), field) from None
            finally:
                self._laying_out = False
            size, align = self._size_align(ftype, field, ct)
            align = self._typedef_alignment(field.type) or align
            flexible = ftype.kind == "array" and ftype.length is None
            if flexible and (i != len(decl.fields) - 1 or decl.kind == "union") \
                    and not decl.partial:   # (the compiler's layout places it)
                raise _FailsAtUse(_field_error(
                    TypeError, "field '%s.%s' has ctype '%s' of unknown size",
                    ct, field, ftype.cname))
            if field.bitsize is not None:
                self._check_bit_field(field, ftype, size, ct)
            field_types.append(ftype)
            specs.append(layout.FieldSpec(field.name, size, align, field.bitsize, flexible,
                                          field.align, field.packed))
        try:
            size, align, placed = self.provider.struct_layout(decl, specs)
        except ValueError as e:
            raise error_at("%s '%s': %s" % (decl.kind, decl.name, e), decl) from None
        if size > _SSIZE_MAX or any(where.offset > _SSIZE_MAX for where in placed):
            raise error_at("%s '%s' is too large (size %d)" % (decl.kind, decl.name, size),
                            decl)
        fields = self._flatten_fields(decl, field_types, placed)
        self._pending_layouts[ct] = (size, align)
        self._pending_fields[ct] = fields
        init_fields = [(field.name, ftype, where.offset)
                       for field, ftype, where in zip(decl.fields, field_types, placed)
                       if field.name or (field.bitsize is None
                                         and ftype.kind in ("struct", "union"))]
        return ct, fields, size, align, init_fields

    def _typedef_alignment(self, node):
        """The alignment of a member's type (or of its array's items) that is, or is a
        typedef of, a typedef declared with __attribute__((aligned(N))) (real headers:
        decls.Typedef.align); None if there is none."""
        while isinstance(node, Array):
            node = node.item
        for _ in range(1000):
            if not isinstance(node, Named):
                return None
            align = self._typedef_aligns.get(node.name)
            if align is not None:
                return align
            node = self.registry.typedefs.get(node.name)
        return None

    def _flatten_fields(self, decl, field_types, placed):
        """(name, ctype, offset, bitshift, bitsize, flags) for each named field; the
        members of anonymous struct/union fields are lifted into the parent, as in C11.
        flags is _IGNORE_IN_CTOR for the members of a union after its first (counting
        declared members, as cffi does) and for what is lifted out of them: a list
        initializer skips those."""
        fields = []
        seen = set()
        for index, (field, ftype, where) in enumerate(zip(decl.fields, field_types, placed)):
            flags = _IGNORE_IN_CTOR if decl.kind == "union" and index > 0 else 0
            if field.name:
                # cffi reports bitshift -2 for a flexible array member
                shift = -2 if (ftype.kind == "array" and ftype.length is None) else where.bitshift
                entries = [(field.name, ftype, where.offset, shift, where.bitsize, flags)]
            elif field.bitsize is None and ftype.kind in ("struct", "union"):
                entries = [(name, t, where.offset + off, shift, bits, inner | flags)
                           for name, t, off, shift, bits, inner in self._fields_of(ftype)]
            else:
                continue        # unnamed bit-field: padding only
            for entry in entries:
                if entry[0] in seen:
                    raise _FailsAtUse(KeyError("duplicate field name '%s' in %s '%s' "
                                               "(cdef line %s, column %s)" % (
                                                   entry[0], decl.kind, decl.name,
                                                   field.line, field.column)))
                seen.add(entry[0])
                fields.append(entry)
        return fields

    def _fields_of(self, ct):
        pending = self._pending_fields.get(ct)
        if pending is not None:
            return pending
        return [(name, cf.type, cf.offset, cf.bitshift, cf.bitsize, cf.flags)
                for name, cf in ct.fields or ()]

    # ---- resolution of type nodes into ctypes -------------------------------------------

    def resolve(self, node, allow_function=False, owner=None):
        """The CType of a type node.  A bare function type is accepted only when
        allow_function is true (it resolves to the function pointer type).  owner is
        the declaration whose type this is, for the provider (see LayoutProvider)."""
        # its errors first, as cffi's
        ct = self._resolve(node) if owner is self._owner else self._resolve_owned(node, owner)
        if not allow_function and self._is_function(node):
            raise CDefError("the type '%s' is a function type, not a pointer-to-function "
                            "type" % ct.cname.replace("(*)", ""))
        return ct

    def _is_function(self, node):
        seen = 0
        while isinstance(node, Named) and seen < 1000:
            node = self.registry.typedefs.get(node.name)
            seen += 1
        return isinstance(node, Function)

    def _resolve(self, node):
        kind = type(node)
        if kind is Primitive:
            return primitive_type(node.name)
        if kind is Pointer:
            item = node.item
            if isinstance(item, Function) or self._is_function(item):
                return self._resolve(item)          # a function pointer
            item = self._resolve(item)
            if isinstance(item, _Pending):
                return _Pending(node, "pointer", _POINTER_SIZE, _POINTER_SIZE, None)
            return pointer_type(item)
        if kind is Named:
            return self._typedef_ctype(node.name)
        if kind is Tagged:
            if self._undeclared_tags_refused and not self._tag_declared(node.kind, node.name):
                raise _UndeclaredTag(node.kind, node.name)
            error = self._unrealizable.get((node.kind, node.name))
            if error is not None:
                raise NeedsCompiler(error)
            return self._tagged_ctype(node.kind, node.name)
        if kind is Array:
            return self._array_ctype(node)
        if kind is Function:
            return self._function_ctype(node)
        if kind is Void:
            return void_type
        if kind is Opaque:
            return self._opaque_ctype(node)
        if kind is UnknownPrimitive:
            return primitive_type(self.provider.unknown_primitive(node))
        raise TypeError("unexpected type node %r" % (node,))

    def _typedef_ctype(self, name):
        ct = self._typedef_types.get(name)
        if ct is None:
            node = self.registry.typedefs.get(name)
            if node is None:
                raise CDefError("unknown identifier '%s'" % name)
            ct = self._resolve_owned(node, ("typedef", name))
            if not isinstance(ct, _Pending):
                self._typedef_types[name] = ct
        return ct

    def _array_ctype(self, node):
        if isinstance(node.item, Array) and self._owner is not None:
            # the inner dimension of 'T x[...][...]' has its own length: its owner is
            # named as C names it ('x[0]'), see _inner_dimension
            item = self._resolve_owned(node.item, _inner_dimension(self._owner))
        else:
            item = self._resolve(node.item)
        if isinstance(node.item, Function) or self._is_function(node.item):
            raise CDefError("array of functions: '%s'" % item.cname)
        length = node.length
        if isinstance(length, int) and length < 0:
            message = "negative array length: %s[%d]" % (item.cname, length)
            if self._undeclared_tags_refused:      # the FFI of compiled modules
                raise CDefError(message)           # (a type string): a syntax error
            if length < -sys.maxsize - 1:          # beyond Py_ssize_t: as cffi
                raise OverflowError("cannot fit 'int' into an index-sized integer")
            raise ValueError(message)
        if length == "...":
            length = self.provider.array_length(self._owner, node)
        pending = self._pending_size(item)
        if pending is not None:
            # a struct of this cdef, laid out but completed only when the cdef commits:
            # the array ctype is built then (see _materialize)
            size, align = pending
            if length is not None and size and length > _SSIZE_MAX // size:
                raise OverflowError("array size would overflow a ssize_t")
            return _Pending(node, "array", size * (length or 0), align, length)
        # items of unknown size ('void', 'int[]', an opaque struct): the core's
        # ValueError, as cffi's (a cdef reports it as CDefError, see _resolve_checked)
        return array_type(item, length)

    def _pending_size(self, ct):
        """(size, align) of a struct/union of the running cdef, or of an array of them,
        whose ctype is not complete yet; None for any other ctype."""
        if isinstance(ct, _Pending):
            return (ct.size, ct.align) if ct.kind == "array" and ct.length is not None else None
        if ct.kind in ("struct", "union") and ct.fields is None:
            return self._pending_layouts.get(ct)
        return None

    def _materialize(self, ct):
        """The real ctype of a _Pending, once the structs it contains are complete."""
        return self._resolve(ct.node) if isinstance(ct, _Pending) else ct

    def _function_ctype(self, node):
        if len(node.args) == 1 and not node.ellipsis and isinstance(node.args[0], Named) \
                and self._resolve(node.args[0]).kind == "void":
            node = dataclasses.replace(node, args=())   # '(void_t)', void_t a typedef
        args = [self._resolve_argument(a) for a in node.args]
        result = self._resolve(node.result)
        if any(isinstance(ct, _Pending) for ct in args + [result]):
            if result.kind == "array":
                raise TypeError("invalid result type: '%s' (a function cannot return an "
                                "array)" % result.cname)
            return _Pending(node, "function", _POINTER_SIZE, _POINTER_SIZE, None)
        if self._type_string or self._laying_out:
            # as cffi's type strings and struct members (a cdef may name such
            # functions: they fail when called); a struct of the running cdef is
            # complete for this purpose
            for ct in args:
                if ct.kind in ("struct", "union") and ct.fields is None and \
                        ct not in self._pending_layouts:
                    raise _incomplete_type("ctype '%s' has incomplete type" % ct.cname, ct)
            if result.kind in ("struct", "union") and result.fields is None and \
                    result not in self._pending_layouts:
                raise _incomplete_type("result type '%s' is not yet initialized"
                                       % result.cname, result)
        if result.kind == "array":
            # TypeError as cffi's; a cdef reports it as CDefError (_resolve_checked)
            raise TypeError("invalid result type: '%s' (a function cannot return an array)"
                            % result.cname)
        return function_type(args, result, node.ellipsis, _calling_convention(node.abi))

    def _resolve_argument(self, node):
        """Function parameters decay: arrays to pointers, functions to function pointers."""
        if isinstance(node, Array):
            item = self._resolve(node.item)
        else:
            item = self._resolve(node)
            if item.kind != "array":
                if item.kind == "void":
                    raise CDefError("function argument of type 'void'")
                return item
            if isinstance(item, _Pending):
                return _Pending(node, "pointer", _POINTER_SIZE, _POINTER_SIZE, None)
            item = item.item
        if isinstance(item, _Pending):
            return _Pending(node, "pointer", _POINTER_SIZE, _POINTER_SIZE, None)
        return pointer_type(item)

    def _tagged_ctype(self, kind, tag):
        key = (kind, tag)
        ct = self._tagged_types.get(key)
        if ct is not None:
            return ct
        if kind == "enum":
            ct = self._build_enum(tag)
        else:
            ct = self._new_struct_ctype(kind, tag)
        self._tagged_types[key] = ct
        return ct

    def _opaque_ctype(self, node):
        """'typedef ... name;': an opaque struct ctype of this FFI, named as cffi names
        it ('name', or 'struct $$name' for the item of 'typedef ... *name;')."""
        key = ("opaque pointer item" if node.behind_pointer else "opaque", node.name)
        ct = self._tagged_types.get(key)
        if ct is None:
            cname = "struct $$" + node.name if node.behind_pointer else node.name
            ct = self._tagged_types[key] = _core.new_struct_type(cname)
        return ct

    def _tag_declared(self, kind, tag):
        return (kind, tag) in self._tagged_types or self.registry.tag_declared(kind, tag)

    def _replace_tagged_ctype(self, kind, tag):
        if (kind, tag) == FILE_TAG:
            ct = _core.new_struct_type("FILE")      # an FFI's own, complete FILE
        else:
            ct = self._new_struct_ctype(kind, tag)
        self._tagged_types[(kind, tag)] = ct
        self._typedef_types.clear()
        return ct

    @staticmethod
    def _new_struct_ctype(kind, tag):
        if (kind, tag) == FILE_TAG:
            return file_type
        name = tag[1:] if tag.startswith("$") and not tag[1:].isdigit() else "%s %s" % (kind, tag)
        if kind == "struct":
            return _core.new_struct_type(name)
        return _core.new_union_type(name)

    def _build_enum(self, tag):
        decl = self.registry.enum_defs.get(tag)
        name = tag[1:] if tag.startswith("$") and not tag[1:].isdigit() else "enum " + tag
        if decl is None:
            # an enum used before (or without) its definition: an opaque 'unsigned int',
            # with cffi's warning (the guess may be wrong)
            warnings.warn("'%s' has no values explicitly defined; guessing that it is "
                          "equivalent to 'unsigned int'" % name, stacklevel=2)
            return _core.new_enum_type(name, (), (), primitive_type("unsigned int"))
        names = tuple(n for n, _ in decl.enumerators)
        values = tuple(v for _, v in decl.enumerators)
        base = primitive_type(self.provider.enum_integer_type(decl, values))
        return _core.new_enum_type(name, names, values, base)


# ---- the model of one FFI: a registry and its realizer ------------------------------------

class Model:
    """What one FFI object was told (a Registry) and the ctypes built from it (a
    Realizer using a layout provider), behind one lock.  The FFI, its lib and
    nffi.cffi_tables go through here."""

    def __init__(self, provider=None):
        self.registry = Registry()
        self.realizer = Realizer(self.registry, provider or _abi_layout)
        self._lock = threading.RLock()

    # the registry's tables, read by nffi.lib and nffi.cffi_tables
    typedefs = property(lambda self: self.registry.typedefs)
    struct_defs = property(lambda self: self.registry.struct_defs)
    enum_defs = property(lambda self: self.registry.enum_defs)
    functions = property(lambda self: self.registry.functions)
    variables = property(lambda self: self.registry.variables)
    constants = property(lambda self: self.registry.constants)
    constant_decls = property(lambda self: self.registry.constant_decls)

    # ---- declaring -----------------------------------------------------------------------

    def cdef(self, source, override=False, packed=False, pack=None, release_gil=True):
        """Parse and declare a cdef's source as one transaction.  release_gil=False is
        recorded on its functions (FunctionDecl/VariableDecl.release_gil)."""
        if not isinstance(source, str):
            raise TypeError("cdef() argument must be a str, not %s" % type(source).__name__)
        if pack is not None and pack not in (1, 2, 4, 8, 16):
            raise ValueError("pack must be 1, 2, 4, 8 or 16, got %r" % (pack,))
        with self._lock:
            decls = cparser.parse_cdef(source, self.registry.typedefs,
                                       self.registry.constants, packed=packed, pack=pack)
            if not release_gil:
                decls = [dataclasses.replace(d, release_gil=False)
                         if isinstance(d, (FunctionDecl, VariableDecl)) else d for d in decls]
            self.declare(decls, override)

    def declare(self, decls, override=False, includes=()):
        """Record already-parsed declarations (nffi.decls nodes) as one transaction, as
        cdef() does with the declarations it parses (nffi.cffi_tables builds them from
        cffi's out-of-line module tables): all are declared and laid out, or none.
        includes: other models to include() first, in the same transaction."""
        with self._lock:
            saved = self.registry.snapshot(), self.realizer.snapshot()
            try:
                for other in includes:
                    self.include(other)
                self.registry.transaction(decls, override, self.realizer)
            except BaseException as e:
                self.registry.restore(saved[0])
                self.realizer.restore(saved[1])
                if isinstance(e, NeedsCompiler):
                    raise e.error from None
                raise

    def include(self, other):
        """Take over the types of another model: its typedefs, structs, unions and enums
        (the very same ctypes, so cdata pass between the two FFIs) and its integer
        constants, as they are now; functions and variables stay with 'other', as in
        cffi.  A name declared differently in both raises FFIError (as cffi) and
        changes nothing."""
        if other is self:
            raise ValueError("an FFI cannot include itself")
        with other._lock:
            theirs = other.registry.copy()
            shared = other.realizer.shareable()
        with self._lock:
            self.registry.include(theirs, self.realizer, shared)

    # ---- resolving -----------------------------------------------------------------------

    def resolve(self, node, allow_function=False, owner=None):
        """The CType of a type node (see Realizer.resolve); what only the C compiler
        knows raises the provider's error (cffi's, in ABI mode)."""
        with self._lock:
            try:
                return self.realizer.resolve(node, allow_function, owner)
            except NeedsCompiler as e:
                raise e.error from None

    def is_function(self, node):
        """Is the type node (through typedefs) a bare function type?"""
        return self.realizer._is_function(node)

    _is_function = is_function

    def parse_type(self, text, allow_function=False, allow_definitions=False,
                   declared_tags_only=False):
        """The CType of a type string.  With allow_definitions, the string may define
        anonymous structs, unions and enums ("struct { int a; } *"); each parse of such
        a string declares new ones, as cffi's FFI does.  With declared_tags_only (the
        FFI of compiled modules), naming a struct, union or enum that no declaration
        named raises CDefError, as cffi's 'undefined struct/union name'."""
        with self._lock:
            realizer = self.realizer
            realizer._type_string = True
            try:
                return self._parse_type(text, allow_function, allow_definitions,
                                        declared_tags_only)
            except NeedsCompiler as e:
                raise e.error from None
            finally:
                realizer._type_string = False

    def _parse_type(self, text, allow_function, allow_definitions, declared_tags_only):
        registry, realizer = self.registry, self.realizer
        if not allow_definitions:
            node = cparser.parse_type(text, registry.typedefs, registry.constants)
            if not declared_tags_only:
                return realizer.resolve(node, allow_function=allow_function)
            realizer._undeclared_tags_refused = True
            try:
                return realizer.resolve(node, allow_function=allow_function)
            except _UndeclaredTag as e:
                where = re.search(r"\b%s\s+(%s)\b" % (e.kind, re.escape(e.tag)), text)
                what = "enum" if e.kind == "enum" else "struct/union"
                line = column = None
                if where:
                    line = text.count("\n", 0, where.start(1)) + 1
                    column = where.start(1) - text.rfind("\n", 0, where.start(1))
                raise CDefError("undefined %s name: '%s %s'" % (what, e.kind, e.tag),
                                line, column) from None
            finally:
                realizer._undeclared_tags_refused = False
        node, definitions = cparser.parse_type_with_definitions(
            text, registry.typedefs, registry.constants)
        if definitions:
            realizer._type_string = False       # the definitions are a cdef
            self.declare(definitions)
            realizer._type_string = True
        return realizer.resolve(node, allow_function=allow_function)

    def list_types(self):
        """(typedef names, struct tags, union tags), sorted, as ffi.list_types()."""
        typedefs = sorted(name for name in self.registry.typedefs if name != "FILE")
        # as cffi: every struct and union named so far, opaque ones included
        tags = set(self.registry.struct_defs) | {
            key for key, ct in self.realizer._tagged_types.items()
            if key[0] in ("struct", "union") and ct is not file_type}
        structs = sorted(tag for (kind, tag) in tags
                         if kind == "struct" and not tag.startswith("$"))
        unions = sorted(tag for (kind, tag) in tags
                        if kind == "union" and not tag.startswith("$"))
        return typedefs, structs, unions


def _calling_convention(abi):
    """The ABI a function type gets, as cffi: '__stdcall' is one of its own on 32-bit
    Windows only; '__cdecl' (and '__stdcall' elsewhere) is the default one, so that
    'int(__cdecl *)(int)' is the same ctype as 'int(*)(int)'."""
    if abi == "__stdcall" and sys.platform == "win32" and sys.maxsize < 2 ** 32:
        return abi
    return None


def _inner_dimension(owner):
    """The owner of the item type of an array that 'owner' declares: its name with
    '[0]' appended ('x' -> 'x[0]', the C expression of an item)."""
    return owner[:-1] + (owner[-1] + "[0]",)


def _owner_of(decl):
    """The owner (see nffi.layout.LayoutProvider) of what a declaration declares."""
    if isinstance(decl, Typedef):
        return ("typedef", decl.name)
    if isinstance(decl, VariableDecl):
        return ("variable", decl.name)
    if isinstance(decl, ConstantDecl):
        return ("constant", decl.name)
    return ("function", decl.name)


_IGNORE_IN_CTOR = 1         # a field flag, see _flatten_fields (BF_IGNORE_IN_CTOR in C)
_POINTER_SIZE = _core.sizeof(pointer_type(void_type))
_SSIZE_MAX = (1 << (8 * _POINTER_SIZE - 1)) - 1


class _Pending:
    """Stands for a ctype that a running cdef can build only once it commits: an array
    of a struct defined in the same cdef (and pointers, arrays or function types made of
    one).  The layout uses its size and alignment; _materialize builds the real ctype
    when the struct is complete.  Never leaves the transaction."""
    __slots__ = ("node", "kind", "size", "align", "length")

    def __init__(self, node, kind, size, align, length):
        self.node, self.kind, self.size, self.align, self.length = node, kind, size, align, length

    @property
    def cname(self):
        return "<%s being declared>" % self.kind


_abi_layout = ABILayout(lambda name: _core.sizeof(primitive_type(name)))
