"""The <lib> objects of ABI mode: what FFI.dlopen() returns.

A lib object gives access, by attribute, to what the FFI's cdef declared, found in one
native library (nffi._core.Library, a dlopen() handle):

* functions: the function as a callable cdata, looked up on first access and cached;
* global variables: found on first access and cached as a _core.GlobalVariable, then
  read and written in the library's memory at each access by _core.LibBase (struct and
  array globals come back as cdata views of that memory);
* integer constants (``#define``, ``static const``, enum values): their value.

Names are resolved through the FFI's model at each first access, so declarations made
after dlopen() are visible too.  ``ffi.addressof(lib, name)`` comes through
``__addressof__``; ``ffi.dlclose(lib)`` closes the library, after which functions and
variables raise (LibraryClosedError, a ValueError as in cffi, and an ffi.error).
"""
import ctypes.util
import os

from . import _core
from .decls import ConstantDecl
from .errors import VerificationMissing

__all__ = ["FFILibrary", "dlopen", "dlclose"]


def _open_library(name, flags):
    """A _core.Library for a path, a bare name ('c', 'm': found the way ctypes does),
    None (the process itself) or an already-opened 'void *' handle."""
    if name is None or isinstance(name, _core.CData):
        return _core.load_library(name, flags)
    if not isinstance(name, (str, bytes)):
        raise TypeError("dlopen(name): name must be a file name, None, or an "
                        "already-opened 'void *' handle")
    name = os.fsdecode(name)
    try:
        return _core.load_library(name, flags)
    except OSError as e:
        first_error = e
    path = ctypes.util.find_library(name)
    if path is None:
        raise OSError("%s.  Additionally, ctypes.util.find_library() did not manage to "
                      "locate a library called %r" % (first_error, name)) from None
    return _core.load_library(path, flags)


class FFILibrary(_core.LibBase):
    """The attributes are the C functions, global variables and constants declared in
    the FFI's cdef, looked up in the native library.  Functions, constants and global
    variables are cached in the instance dict on first access; _core.LibBase serves them
    from there (reading and writing the globals)."""

    __slots__ = ("_nffi_ffi", "_nffi_library")

    def __init__(self, ffi, library):
        # the slots' own setters: LibBase's attribute assignment means C globals
        FFILibrary._nffi_ffi.__set__(self, ffi)
        FFILibrary._nffi_library.__set__(self, library)

    # ---- name resolution ------------------------------------------------------------------

    def _nffi_kind(self, name):
        """('function', ctype, decl) / ('variable', ctype, decl) / ('constant', value,
        None) / ('const-variable', None, None), or None if cdef did not declare the name."""
        model = self._nffi_ffi._model
        decl = model.functions.get(name)
        if decl is not None:
            if decl.extern_python:
                raise AttributeError(
                    "'%s' is declared extern \"%s\": only a compiled module has it "
                    "(API mode: set_source() and compile()); with dlopen() use "
                    "ffi.callback()" % (name, decl.extern_python))
            return "function", model.resolve(decl.type, allow_function=True), decl
        decl = model.variables.get(name)
        if decl is not None:
            ct = model.resolve(decl.type, allow_function=True)
            return ("function" if ct.kind == "function" and model._is_function(decl.type)
                    else "variable"), ct, decl
        if name in model.constants:
            return "constant", model.constants[name], None
        decl = model.constant_decls.get(name)
        if isinstance(decl, ConstantDecl) and decl.type is not None:
            return "const-variable", None, None
        return None

    def _nffi_symbol(self, name):
        """The library symbol of a declared function or variable: its __asm__ name
        when a header renamed it (glibc's 'fscanf' is '__isoc99_fscanf'), else name."""
        model = self._nffi_ffi._model
        decl = model.functions.get(name) or model.variables.get(name)
        return getattr(decl, "symbol", None) or name

    def _nffi_check_constant(self, name, value):
        model = self._nffi_ffi._model
        for enum in model.enum_defs.values():
            if enum.partial and any(n == name for n, _ in enum.enumerators):
                raise VerificationMissing(
                    "enum %s: the value of '%s' is only known in API mode (the enum is "
                    "declared with '...')" % (enum.name, name))
        if not isinstance(value, (int, float, bytes)):    # float, bytes: header macros
            raise NotImplementedError("non-integer constant '%s' cannot be accessed from a "
                                      "dlopen() library" % (name,))

    def _nffi_getattr(self, name):
        """What `lib.name` is when the instance dict does not have it."""
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        found = self._nffi_kind(name)
        if found is None:
            raise AttributeError(name)
        kind, what, decl = found
        if kind == "function":
            value = self._nffi_library.load_function(what, self._nffi_symbol(name),
                                                     decl.release_gil)
        elif kind == "variable":
            variable = self._nffi_library.variable(what, self._nffi_symbol(name))
            self.__dict__[name] = variable
            return getattr(self, name)
        elif kind == "constant":
            self._nffi_check_constant(name, what)
            value = what
        else:
            raise NotImplementedError("non-integer constant '%s' cannot be accessed from a "
                                      "dlopen() library" % (name,))
        self.__dict__[name] = value
        return value

    def _nffi_setattr(self, name, value):
        """`lib.name = value` when the instance dict has no global variable of that name."""
        found = self._nffi_kind(name)
        if found is None:
            raise AttributeError(name)
        kind, ct, _ = found
        if kind != "variable":
            raise AttributeError("cannot write to %s '%s'"
                                 % ("function" if kind == "function" else "constant", name))
        variable = self._nffi_library.variable(ct, self._nffi_symbol(name))
        self.__dict__[name] = variable
        setattr(self, name, value)

    def __dir__(self):
        model = self._nffi_ffi._model
        names = set(model.functions) | set(model.variables) | set(model.constants)
        names.update(name for name, decl in model.constant_decls.items()
                     if decl.value is not None or decl.type is not None)
        return sorted(names)

    def __addressof__(self, name):
        """ffi.addressof(lib, name): the function pointer, or a pointer to the global
        variable (for an array variable, the array itself, as cffi gives)."""
        found = self._nffi_kind(name)
        if found is None or found[0] not in ("function", "variable"):
            raise AttributeError(name)
        kind, ct, _ = found
        if kind == "function":
            return getattr(self, name)
        symbol = self._nffi_symbol(name)
        if ct.kind == "array":
            return self._nffi_library.read_variable(ct, symbol)
        return self._nffi_library.address_of(symbol, _core.new_pointer_type(ct))

    def __repr__(self):
        return "<nffi lib %r>" % (self._nffi_library.name,)


def dlopen(ffi, name, flags=0):
    """A new lib object for FFI.dlopen()."""
    return FFILibrary(ffi, _open_library(name, flags))


def dlclose(lib):
    """Close the native library of a lib object (a second close does nothing)."""
    if not isinstance(lib, FFILibrary):
        raise TypeError("dlclose() expects a library returned by dlopen(), not %s"
                        % type(lib).__name__)
    lib.__dict__.clear()
    lib._nffi_library.close()
