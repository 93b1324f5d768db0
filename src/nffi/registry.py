"""The registry: what one FFI has been told, as plain declarations (nffi.decls nodes).

It records declarations by name, refuses conflicting ones (cffi's errors), and can be
snapshot and restored, which is how a cdef() that fails half-way leaves no trace.  It
builds nothing and knows nothing of the native core: nffi.model's realizer turns its
entries into ctypes, and any front end (cdef text, cffi's tables, API mode, rffi) may
fill it with the same nodes.
"""
from .decls import (ConstantDecl, EnumDef, Function, FunctionDecl, Named, StructDef,
                    Tagged, Typedef, VariableDecl)
from .errors import CDefError, FFIError

__all__ = ["Registry", "where", "error_at", "FILE_TAG"]

# the FILE of <stdio.h>, predeclared as 'typedef struct _IO_FILE FILE;' (glibc's and
# cffi's tag)
FILE_TAG = ("struct", "_IO_FILE")
_PREDECLARED_TYPEDEFS = {"FILE": Tagged(*FILE_TAG)}


def where(decl):
    """'line L, column C' of a declaration node, for messages."""
    return "line %s, column %s" % (getattr(decl, "line", "?"), getattr(decl, "column", "?"))


def error_at(message, decl):
    """A CDefError located at a declaration node (or a field)."""
    line = getattr(decl, "line", 0) or None
    column = getattr(decl, "column", 0) or None
    return CDefError(message, line, column)


def _conflict(message, decl):
    """A name declared again differently: FFIError, as cffi's."""
    return FFIError("%s: %s (cdef(..., override=True) replaces it)" % (where(decl), message))


class Registry:
    """The declarations of one FFI, by name.

    typedefs:       name -> type node ('FILE' is predeclared, as in cffi)
    struct_defs:    (kind, tag) -> StructDef with fields (forward declarations are not
                    recorded: a tag is known once anything names it)
    enum_defs:      tag -> EnumDef
    functions:      name -> FunctionDecl
    variables:      name -> VariableDecl
    constants:      name -> value of integer constants and enumerators (None for those
                    only the compiler knows); usable in later cdefs' expressions
    constant_decls: name -> ConstantDecl (also those without a value)
    """

    def __init__(self):
        self.typedefs = dict(_PREDECLARED_TYPEDEFS)
        self.struct_defs = {}
        self.enum_defs = {}
        self.functions = {}
        self.variables = {}
        self.constants = {}
        self.constant_decls = {}
        self._cdef_macros = set()   # names '#define'd by the running transaction

    # ---- transactions --------------------------------------------------------------------

    def transaction(self, decls, override=False, observer=None):
        """Record decls (nffi.decls nodes, e.g. one cdef's) all or nothing: if any of
        them conflicts, or the observer fails, the registry and the observer are left
        exactly as they were.

        observer (the realizer of nffi.model, or None) follows the registry: it is
        told of each declaration after the registry recorded it (declared(decl,
        override)), then asked to finish (commit(decls)); its state is saved and
        restored with the registry's (snapshot(), restore(state)); begin() and end()
        bracket the transaction."""
        observer = observer or _NO_OBSERVER
        saved = self.snapshot(), observer.snapshot()
        try:
            observer.begin()
            self._cdef_macros = set()
            self.check_ordinary_names(decls)
            for decl in decls:
                self.declare(decl, override)
                observer.declared(decl, override)
            observer.commit(decls)
        except BaseException:
            self.restore(saved[0])
            observer.restore(saved[1])
            raise
        finally:
            observer.end()

    def snapshot(self):
        """An opaque copy of the whole state, for restore()."""
        return {name: value.copy() for name, value in vars(self).items()
                if isinstance(value, (dict, set))}

    def restore(self, snapshot):
        for name, value in snapshot.items():
            setattr(self, name, value)

    # ---- recording -----------------------------------------------------------------------

    def check_ordinary_names(self, decls):
        """A function, variable or constant may not take the name of a typedef declared
        before it (C's one namespace of ordinary names); cffi's parser refuses it, so
        before any other declaration error, as here."""
        typedefs = set()
        for decl in decls:
            if isinstance(decl, Typedef):
                typedefs.add(decl.name)
            elif isinstance(decl, (FunctionDecl, VariableDecl, ConstantDecl)) and \
                    getattr(decl, "type", None) is not None and \
                    (decl.name in typedefs or decl.name in self.typedefs):
                raise error_at("'%s' is already declared as a typedef" % decl.name, decl)

    def declare(self, decl, override):
        """Record one declaration; raise FFIError/CDefError if it conflicts with what
        is recorded (unless override)."""
        if isinstance(decl, Typedef):
            # as cffi, a cdef may give FILE another meaning ('typedef char FILE;')
            predeclared = self.typedefs.get(decl.name) == _PREDECLARED_TYPEDEFS.get(
                decl.name, decl)
            self._declare_unique(self.typedefs, decl.name, decl.type, decl,
                                 override or predeclared, "typedef")
        elif isinstance(decl, StructDef):
            self._declare_struct(decl, override)
        elif isinstance(decl, EnumDef):
            self._declare_enum(decl, override)
        elif isinstance(decl, FunctionDecl):
            self._declare_unique(self.functions, decl.name, decl, decl, override, "function",
                                 same=lambda a, b: a.type == b.type)
        elif isinstance(decl, VariableDecl) and self._function_type(decl.type):
            # 'typedef double func_t(double); func_t sin;' declares a function
            self.declare(FunctionDecl(decl.name, self._function_type(decl.type),
                                      decl.line, decl.column, decl.symbol,
                                      decl.release_gil), override)
        elif isinstance(decl, VariableDecl):
            self._declare_unique(self.variables, decl.name, decl, decl, override, "variable",
                                 same=lambda a, b: a.type == b.type)
        elif isinstance(decl, ConstantDecl):
            self._declare_constant(decl, override)
        else:
            raise TypeError("not a declaration: %r" % (decl,))

    def _declare_unique(self, table, name, value, decl, override, what, same=None):
        old = table.get(name)
        if old is not None and not override:
            equal = same(old, value) if same else old == value
            if not equal:
                raise _conflict("multiple declarations of %s '%s'" % (what, name), decl)
        table[name] = value

    def _declare_struct(self, decl, override):
        if decl.fields is None:          # forward declaration
            return
        old = self.struct_defs.get((decl.kind, decl.name))
        if old is not None and old.fields is not None and not override:
            # as cffi, even when the definitions are the same (a cdef run twice)
            if decl.name.startswith("$"):       # 'typedef struct {...} T;' again
                raise _conflict("multiple declarations of anonymous %s" % decl.name[1:], decl)
            raise error_at("duplicate declaration of %s '%s'" % (decl.kind, decl.name), decl)
        self.struct_defs[(decl.kind, decl.name)] = decl

    def _declare_constant(self, decl, override):
        old = self.constants.get(decl.name)
        # a '#define' may be redefined later in the same cdef (the last one counts, as
        # in cffi and the C preprocessor); a constant declared before may not
        redefined_macro = decl.type is None and decl.name in self._cdef_macros
        if decl.type is None:
            self._cdef_macros.add(decl.name)
        if old is not None and old != decl.value and not override and not redefined_macro:
            raise FFIError("%s: constant '%s' is already declared with value %r"
                           % (where(decl), decl.name, old))
        if decl.value is not None:
            self.constants[decl.name] = decl.value
        self.constant_decls[decl.name] = decl

    def _declare_enum(self, decl, override):
        old = self.enum_defs.get(decl.name)
        if old is not None and old.enumerators != decl.enumerators and not override:
            raise error_at("enum '%s' is already declared differently" % decl.name, decl)
        self.enum_defs[decl.name] = decl
        for name, value in decl.enumerators:
            old_value = self.constants.get(name)
            if old_value is not None and old_value != value and not override:
                raise _conflict("multiple declarations of constant '%s' (value %r before)"
                                % (name, old_value), decl)
            self.constants[name] = value

    # ---- ffi.include() -------------------------------------------------------------------

    def copy(self):
        """An independent registry with the same declarations (for include())."""
        other = Registry.__new__(Registry)
        other.restore(self.snapshot())
        return other

    def include(self, other, observer=None, shared=None):
        """Take over another registry's typedefs, struct/union/enum definitions and
        integer constants (not its functions, variables or other constants, as cffi),
        as they are now.  A name declared differently in both raises FFIError and
        changes nothing.  observer (as for transaction()) first takes over what the
        other's observer shares (observer.include(shared, self))."""
        observer = observer or _NO_OBSERVER
        saved = self.snapshot(), observer.snapshot()
        try:
            observer.include(shared, self)
            self._include(other)
        except BaseException:
            self.restore(saved[0])
            observer.restore(saved[1])
            raise

    def _include(self, other):
        for name, node in other.typedefs.items():
            old = self.typedefs.get(name)
            if old is not None and old != node:
                raise FFIError("include: multiple declarations of typedef '%s'" % name)
            self.typedefs[name] = node
        for key, decl in other.struct_defs.items():
            self.struct_defs.setdefault(key, decl)
        for tag, decl in other.enum_defs.items():
            self.enum_defs.setdefault(tag, decl)
        for name, value in other.constants.items():
            if not isinstance(value, int):
                continue
            old = self.constants.get(name)
            if old is not None and old != value:
                raise FFIError("include: multiple declarations of constant '%s' (%r here)"
                               % (name, old))
            self.constants[name] = value

    # ---- queries -------------------------------------------------------------------------

    def _function_type(self, node):
        """The Function node a typedef name stands for (through typedefs), or None."""
        for _ in range(1000):           # (typedef chains are short; cycles cannot be)
            if not isinstance(node, Named):
                break
            node = self.typedefs.get(node.name)
        return node if isinstance(node, Function) else None

    def tag_declared(self, kind, tag):
        """Did a declaration define this struct/union/enum tag?"""
        return ((kind, tag) in self.struct_defs or (kind == "enum" and tag in self.enum_defs)
                or (kind, tag) == FILE_TAG)


class _NoObserver:
    """A registry used alone: nothing to build (nffi.model's Realizer is the real one)."""

    def snapshot(self):
        return None

    def restore(self, state):
        pass

    def begin(self):
        pass

    def declared(self, decl, override):
        pass

    def commit(self, decls):
        pass

    def end(self):
        pass

    def include(self, shared, registry):
        pass


_NO_OBSERVER = _NoObserver()
