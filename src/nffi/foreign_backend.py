"""cffi's backend protocol, for ``cffi.FFI(backend=obj)`` with a backend other than
cffi's own (nffi.compat): the one adapter that hands nffi's types to such a backend.

cffi's pure-Python FFI builds its types by calling methods of its backend object
(``new_primitive_type(name)``, ``new_pointer_type(item)``, ``new_array_type(ptr,
length)``, ``new_function_type(args, result, ellipsis[, abi])``, ``new_struct_type`` /
``new_union_type(name)`` then ``complete_struct_or_union(t, fields, tp, size, align)``,
``new_enum_type(name, names, values, base)``, ``new_void_type()``) and opens libraries
with ``load_library(name, flags)``, whose ``load_function(type, name)`` and
``read_variable(type, name)`` give functions and globals.  cffi's tests use a fake
backend that returns strings.

nffi keeps one model: declarations are parsed, declared and resolved as always, and a
resolved nffi CType is translated, once, into the backend's type by walking it.  Only
``typeof`` and ``dlopen`` go through the backend (what code written for such backends
uses); every other FFI method stays nffi's (docs/differences.md).
"""
import ctypes.util
import os
import threading

__all__ = ["BackendAdapter", "BackendLibrary"]


class BackendAdapter:
    """Translates nffi ctypes into the types of a foreign cffi backend (cached per
    ctype, as cffi caches per type)."""

    def __init__(self, backend):
        self.backend = backend
        self._types = {}
        self._lock = threading.RLock()

    def btype(self, ct):
        """The backend's type for the nffi CType ct."""
        with self._lock:
            found = self._types.get(ct)
            if found is None:
                found = self._build(ct)
            return found

    def _build(self, ct):
        backend, kind = self.backend, ct.kind
        if kind == "primitive":
            built = backend.new_primitive_type(ct.cname)
        elif kind == "void":
            built = backend.new_void_type()
        elif kind == "pointer":
            built = backend.new_pointer_type(self.btype(ct.item))
        elif kind == "array":
            built = backend.new_array_type(
                backend.new_pointer_type(self.btype(ct.item)), ct.length)
        elif kind == "function":
            # as cffi: only __stdcall is passed, as the backend's FFI_STDCALL
            abi = ((backend.FFI_STDCALL,) if ct.abi == "__stdcall" and not ct.ellipsis
                   and hasattr(backend, "FFI_STDCALL") else ())
            built = backend.new_function_type(tuple(self.btype(a) for a in ct.args),
                                              self.btype(ct.result), ct.ellipsis, *abi)
        elif kind == "enum":
            pairs = sorted(ct.relements.items(), key=lambda item: item[1])
            built = backend.new_enum_type(ct.cname, tuple(n for n, _ in pairs),
                                          tuple(v for _, v in pairs),
                                          backend.new_primitive_type("int"))
        elif kind in ("struct", "union"):
            new = backend.new_struct_type if kind == "struct" else backend.new_union_type
            built = new(ct.cname)
            self._types[ct] = built     # before the fields: they may point back to it
            if ct.fields is not None:
                fields = [(name, self.btype(field.type),
                           field.bitsize if field.bitsize >= 0 else -1)
                          for name, field in ct.fields]
                backend.complete_struct_or_union(built, fields, None, -1, -1)
            return built
        else:
            raise NotImplementedError("cannot give the ctype '%s' to the backend %r"
                                      % (ct.cname, self.backend))
        self._types[ct] = built
        return built

    def load_library(self, name, flags):
        """The backend's library for ffi.dlopen(name, flags), found as cffi finds it:
        a bare name ('m', 'c') through ctypes.util.find_library()."""
        if not isinstance(name, (str, bytes)):
            return self.backend.load_library(name, flags)
        name = os.fsdecode(name)
        first_error = None
        if "." in name or "/" in name or os.sep in name:
            try:
                return self.backend.load_library(name, flags)
            except OSError as e:
                first_error = e
        path = ctypes.util.find_library(name)
        if path is None:
            raise OSError("cannot load library %r%s: ctypes.util.find_library() did not "
                          "find it" % (name, " (%s)" % first_error if first_error else ""))
        return self.backend.load_library(path, flags)


class BackendLibrary:
    """What ffi.dlopen() returns with a foreign backend: functions and global
    variables through the backend's library object, constants from the declarations.
    Names are resolved at each access (a cdef(..., override=True) is seen)."""

    def __init__(self, ffi, adapter, library):
        self.__dict__["_nffi_ffi"] = ffi
        self.__dict__["_nffi_adapter"] = adapter
        self.__dict__["_nffi_library"] = library

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        model = self._nffi_ffi._model
        decl = model.functions.get(name) or model.variables.get(name)
        if decl is not None:
            ct = model.resolve(decl.type, allow_function=True)
            btype = self._nffi_adapter.btype(ct)
            if ct.kind == "function" and model.is_function(decl.type):
                return self._nffi_library.load_function(btype, name)
            return self._nffi_library.read_variable(btype, name)
        if name in model.constants:
            return model.constants[name]
        raise AttributeError(name)

    def __dir__(self):
        model = self._nffi_ffi._model
        return sorted(set(model.functions) | set(model.variables) | set(model.constants))
