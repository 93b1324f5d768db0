"""The FFI object: cffi's runtime interface, name for name.

The hot methods (new, cast, typeof, sizeof, alignof, string) are inherited from the
native base nffi._core.FFIBase, which caches type strings; everything else is here and
delegates to the model (declarations) and to the native core (memory).
"""
import os
import sys
import threading

from . import _core
from .errors import CDefError, FFIError, at_source

# The model (and through it the cdef parser) is imported by the first FFI(), not here:
# 'import nffi' stays cheap for programs that import it and may never declare anything.

_SSIZE_LIMIT = sys.maxsize + 1      # offsets are C ssize_t values

_unspecified = object()


# nffi's parser messages -> the words of cffi's compiled-module type parser, for the
# FFI of compiled modules, whose users (and cffi's tests) read them
_COMPILED_TYPE_ERRORS = (
    ("unexpected end of input, expected a type", "identifier expected"),
    ("unexpected character", "identifier expected"),
    ("expected a type", "identifier expected"),
    ("unexpected end of input, expected a tag name or '{' after 'enum'",
     "enum name expected"),
    ("expected a tag name or '{' after 'enum'", "enum name expected"),
    ("undefined enum name", "undefined enum name"),
    ("unexpected end of input, expected a tag name", "struct or union name expected"),
    ("expected a tag name", "struct or union name expected"),
    ("undefined struct/union name", "undefined struct/union name"),
    ("unknown identifier", "undefined type name"),
    ("unexpected end of input, expected ']'", "expected ']'"),
    ("unexpected end of input, expected ')'", "expected ')'"),
    ("expected ']'", "expected ']'"),
    ("expected ')'", "expected ')'"),
    ("expected the end of the type", "unexpected symbol"),
    ("invalid combination of type specifiers", "unexpected symbol"),
    ("expected an integer constant expression", "expected a positive integer constant"),
    ("cannot combine", "invalid combination of types"),
    ("incomplete type specifier", "identifier expected"),
)


def _compiled_type_error_text(error, text):
    """ffi.error's text for a bad type string in the FFI of a compiled module: the
    message, then (for strings of at most 500 characters, as cffi) the string with
    what is not printable ASCII shown as '?' and a caret under the offending byte."""
    message = getattr(error, "message", None) or str(error)
    for nffi_words, cffi_words in _COMPILED_TYPE_ERRORS:
        if message.startswith(nffi_words):
            message = cffi_words
            break
    if len(text) > 500:
        return message
    lines = text.split("\n")
    line = min(max(getattr(error, "line", None) or 1, 1), len(lines))
    offset = sum(len(x) + 1 for x in lines[:line - 1]) + (getattr(error, "column", None) or 1) - 1
    raw = text.encode("utf-8")
    where = len(text[:offset].encode("utf-8"))
    shown = "".join(" " if b in (9, 10) else chr(b) if 32 <= b < 127 else "?" for b in raw)
    return "%s\n%s\n%s^" % (message, shown, " " * where)


class FFI(_core.FFIBase):
    """An FFI instance: declarations (cdef) plus the operations of the CFFI reference."""

    NULL = _core.cast(_core.new_pointer_type(_core.new_void_type()), 0)

    CData = _core.CData
    CType = _core.CType
    buffer = _core.buffer
    error = _core.error

    RTLD_LAZY = os.RTLD_LAZY
    RTLD_NOW = os.RTLD_NOW
    RTLD_GLOBAL = os.RTLD_GLOBAL
    RTLD_LOCAL = os.RTLD_LOCAL
    RTLD_NODELETE = getattr(os, "RTLD_NODELETE", 0)
    RTLD_NOLOAD = getattr(os, "RTLD_NOLOAD", 0)
    RTLD_DEEPBIND = getattr(os, "RTLD_DEEPBIND", 0)

    # The rules this class follows where the FFI of compiled modules differs from cffi's
    # FFI class (errors of sizeof/alignof and of type strings, definitions in type
    # strings): given to the native base at construction, read back as self._flavour.
    _nffi_flavour = _core.FLAVOUR_FFI

    def __new__(cls, *args, **kwargs):
        # set up here, not in __init__, so that subclasses that do not call
        # FFI.__init__ still get a working object (as with cffi)
        from .model import Model
        self = super().__new__(cls, flavour=cls._nffi_flavour)
        self._nffi_start_model(Model)
        self._function_type_cache = {}    # type strings that may name a function type
        self._nffi_cdef_log = []          # API mode: the cdef/include calls, in order
        self._init_once_cache = {}
        self._init_once_lock = threading.Lock()
        self._init_once_running = {}     # tag -> thread running its function
        return self

    def __init__(self, backend=None):
        # 'backend' is accepted and ignored, for code written against cffi.FFI(backend=...)
        pass

    def _nffi_start_model(self, model_class):
        """The model a new FFI starts with: an empty one (a compiled module's FFI reads
        its own declarations on first need instead: nffi/apimodule.py)."""
        self._model = model_class()

    # ---- declarations ----------------------------------------------------------------

    @property
    def _nffi_keep_gil(self):
        """The names of the functions declared with cdef(..., release_gil=False) (their
        declarations record it: one fact, read by ABI-mode calls and API-mode wrappers)."""
        return frozenset(name for name, decl in self._model.functions.items()
                         if not getattr(decl, "release_gil", True))

    @property
    def _nffi_extern_python(self):
        """name -> "Python" / "Python+C" of the functions declared 'extern "Python"'
        (read from their declarations: FunctionDecl.extern_python)."""
        return {name: decl.extern_python for name, decl in self._model.functions.items()
                if getattr(decl, "extern_python", None)}

    def cdef(self, csource, override=False, packed=False, pack=None, release_gil=True):
        """Declare C types, functions, globals and constants (see cffi's cdef).
        release_gil=False: calls of the functions declared here keep the GIL, in ABI mode
        (the lib's functions) as in API mode (the compiled wrappers): faster, and safe only
        for short calls that never block and never wait for another thread that calls
        back into Python (see docs/differences.md)."""
        if packed not in (False, True, 0, 1):
            raise ValueError("'packed' should be False or True, got %r" % (packed,))
        if packed and pack:
            raise ValueError("'packed' and 'pack' cannot be combined (packed means pack=1)")
        file_type = self._model.typedefs.get("FILE")
        try:
            self._model.cdef(csource, override=override, packed=bool(packed),
                             pack=pack or None,     # pack=0 means no pack, as in cffi
                             release_gil=bool(release_gil))
        except (CDefError, FFIError) as error:
            raise at_source(error, csource)
        self._nffi_cdef_log.append(("cdef", csource, {"override": bool(override),
                                                      "packed": bool(packed),
                                                      "pack": pack or None}))
        if override or self._model.typedefs.get("FILE") != file_type:
            self._clear_type_caches()       # (a cdef may give FILE another meaning)

    # ---- declarations from real headers (nffi/headers.py, docs/headers.md) ------------

    def cdef_header(self, source, *, include_dirs=(), define_macros=(), undef_macros=(),
                    pkg_config=(), extra_args=(), only=None, exclude=None):
        """Declare what real C headers declare, as if given to cdef(): source is text
        for the system C preprocessor (usually '#include <zlib.h>' lines, possibly
        with #defines before them).  Typedefs, structs and unions (with the
        compiler's layout), enums, functions, global variables and object-like
        macros with a constant value are declared; only/exclude are glob patterns
        on names (what a kept declaration needs comes with it).  What cannot be
        represented is skipped, never fatal: ffi.skipped_declarations() lists it
        (see docs/headers.md)."""
        from . import headers
        declared, skipped = headers.load_header(
            self._model, source, include_dirs=include_dirs, define_macros=define_macros,
            undef_macros=undef_macros, pkg_config=pkg_config, extra_args=extra_args,
            only=only, exclude=exclude)
        # API mode replays the declarations themselves (no header parsing at import)
        self._nffi_cdef_log.append(("decls", declared, {"override": False}))
        if getattr(self, "_skipped_declarations", None) is None:
            self._skipped_declarations = []
        self._skipped_declarations.append(skipped)
        self._clear_type_caches()

    def skipped_declarations(self):
        """What the cdef_header() calls of this FFI did not declare, and why: a list
        of nffi.headers.SkippedDeclaration (name, reason, position: file and line)."""
        return [entry for skipped in getattr(self, "_skipped_declarations", None) or ()
                for entry in skipped]

    def include(self, ffi_to_include):
        """Make the typedefs, structs, unions, enums and integer constants declared so
        far in another FFI known here too (the same ctypes).  Functions and globals
        are not included: use the other FFI's library object for those."""
        if not isinstance(ffi_to_include, FFI):
            raise TypeError("ffi.include() expects an argument that is also an FFI "
                            "object, not '%s'" % type(ffi_to_include).__name__)
        if ffi_to_include is self:
            raise ValueError("an FFI cannot include itself (ffi.include(ffi))")
        self._model.include(ffi_to_include._model)
        self._clear_type_caches()
        self._nffi_cdef_log.append(("include", ffi_to_include))

    def _clear_type_caches(self):
        """What type strings mean changed (override, include): parse them again."""
        self._clear_type_cache()
        self._function_type_cache.clear()

    def _parse_type(self, text, allow_function=False):
        """Called by the native base on a type-cache miss.  cffi's FFI accepts anonymous
        struct/union/enum definitions in type strings ("struct { int a; } *"); the FFI
        of compiled modules does not, and reports bad type strings as ffi.error with a
        caret under the column."""
        if self._flavour == _core.FLAVOUR_FFI:
            try:
                return self._model.parse_type(text, allow_function=allow_function,
                                              allow_definitions=True, declared_tags_only=False)
            except CDefError as error:
                raise at_source(error, text)       # quoting the string, caret at the column
        try:
            return self._model.parse_type(text, allow_function=allow_function,
                                          allow_definitions=False, declared_tags_only=True)
        except CDefError as e:
            raise _core.error(_compiled_type_error_text(e, text)) from None

    def _typeof_other(self, obj):
        # a function of a compiled module's lib: a builtin bound to that lib
        owner = getattr(obj, "__self__", None)
        function_type = getattr(type(owner), "_nffi_function_type", None)
        if function_type is not None and type(obj).__name__ == \
                "builtin_function_or_method":
            return function_type(owner, obj.__name__)
        raise TypeError("expected a cdecl string or a cdata, got %s"
                        % type(obj).__name__)

    def _resolve_function_type(self, cdecl):
        """A type string that may name a bare function type ('int(int)')."""
        if isinstance(cdecl, str):
            ct = self._function_type_cache.get(cdecl)
            if ct is None:
                ct = self._parse_type(cdecl, allow_function=True)
                self._function_type_cache[cdecl] = ct
            return ct
        return self._resolve(cdecl)

    # ---- memory ----------------------------------------------------------------------

    def unpack(self, cdata, length):
        """The first ``length`` items of a pointer or array cdata as bytes (char), str
        (wide characters) or a list (any other item type)."""
        return _core.unpack(cdata, length)

    def from_buffer(self, cdecl, python_buffer=_unspecified, require_writable=False):
        """A cdata array (default type ``char[]``) over the memory of a Python buffer
        (bytearray, memoryview, array.array, ...), without copying; the cdata keeps
        the buffer alive. ``require_writable=True`` refuses read-only buffers."""
        if python_buffer is _unspecified:
            cdecl, python_buffer = "char[]", cdecl
        ct = self._resolve(cdecl)
        return _core.from_buffer(ct, python_buffer, require_writable)

    def memmove(self, dest, src, n):
        """Copy ``n`` bytes from ``src`` to ``dest`` (cdata pointers/arrays or Python
        buffers; the areas may overlap). Copies past a known end raise ValueError."""
        _core.memmove(dest, src, n)

    def offsetof(self, cdecl, *fields_or_indexes):
        """The offset in bytes of a field (``offsetof("struct s", "x")``), of nested
        fields and array indexes (``"a", 3, "b"``) from the start of a type."""
        if not fields_or_indexes:
            raise TypeError("offsetof() needs at least one field name or index")
        return self._typeoffsetof(self._resolve(cdecl), *fields_or_indexes)[1]

    def _typeoffsetof(self, ct, first, *more):
        ct, offset = _core.typeoffsetof(ct, first)
        for step in more:
            ct, extra = _core.typeoffsetof(ct, step, 1)
            offset += extra
            if not -_SSIZE_LIMIT <= offset < _SSIZE_LIMIT:
                raise OverflowError("offsetof(%s): the offset does not fit a ssize_t"
                                    % ", ".join(map(repr, (first,) + more)))
        return ct, offset

    def addressof(self, cdata, *fields_or_indexes):
        """A pointer to a struct/union/array cdata's memory, or to a field or item of
        it (``addressof(s, "x")``, ``addressof(a, 5)``); the result keeps the owner
        of the memory alive."""
        if not isinstance(cdata, _core.CData):
            addressof_hook = getattr(type(cdata), "__addressof__", None)
            if addressof_hook is not None:
                return addressof_hook(cdata, *fields_or_indexes)
            raise TypeError("addressof() expects a cdata or a library, got %s"
                            % type(cdata).__name__)
        ct = self.typeof(cdata)
        if fields_or_indexes:
            ct, offset = self._typeoffsetof(ct, *fields_or_indexes)
        else:
            if ct.kind == "pointer":
                raise TypeError("addressof(pointer)")
            offset = 0
        return _core.rawaddressof(_core.new_pointer_type(ct), cdata, offset)

    # ---- lifetime ----------------------------------------------------------------------

    def gc(self, cdata, destructor, size=0):
        """A new cdata pointing to the same memory that calls ``destructor(cdata)``
        when it is garbage-collected; ``destructor=None`` removes a destructor
        previously attached. ``size`` is a hint of the memory's size in bytes."""
        return _core.gcp(cdata, destructor, size)

    def new_allocator(self, alloc=None, free=None, should_clear_after_alloc=True):
        """An allocator: a callable like ffi.new using alloc(size)/free(cdata)."""
        if alloc is None and free is not None:
            raise TypeError("cannot pass 'free' without 'alloc'")
        clear = bool(should_clear_after_alloc)

        def allocator(cdecl, init=None):
            ct = self._resolve(cdecl)
            if alloc is None:
                return _core.newp(ct, init) if clear else _core.newp_noclear(ct, init)
            return _core.newp_allocated(ct, init, alloc, free, clear)
        return allocator

    def release(self, x):
        """Give back now what the cdata x holds (memory, buffer, destructor call)."""
        _core.release(x)

    def new_handle(self, x):
        """A ``void *`` cdata that ffi.from_handle() turns back into the object x."""
        return _core.newp_handle(self._resolve("void *"), x)

    def from_handle(self, x):
        """The object behind a ``void *`` made by ffi.new_handle()."""
        return _core.from_handle(x)

    def init_once(self, func, tag):
        """Run func() once per tag; concurrent callers wait; exceptions are not cached."""
        try:
            done, result = self._init_once_cache[tag]
            if done:
                return result
        except KeyError:
            pass
        with self._init_once_lock:
            entry = self._init_once_cache.get(tag)
            if entry is None:
                entry = (False, threading.Lock())
                self._init_once_cache[tag] = entry
        done, lock = entry
        if done:
            return lock
        me = threading.get_ident()
        if self._init_once_running.get(tag) == me:
            # func() of this very call asked for its own result: waiting would deadlock
            raise RuntimeError("init_once(): %r called again with the tag %r from within "
                               "its own function" % (func, tag))
        with lock:
            done, result = self._init_once_cache[tag]
            if done:
                return result
            self._init_once_running[tag] = me
            try:
                result = func()
            finally:
                del self._init_once_running[tag]
            self._init_once_cache[tag] = (True, result)
        return result

    # ---- libraries, calls, callbacks, errno ---------------------------------------------

    def dlopen(self, name, flags=0):
        """Open a native library (a path, a bare name like 'c' or 'm', None for the
        process itself, or a ``void *`` handle) and return its <lib> object."""
        from . import lib as _lib
        return self._keep_library(_lib.dlopen(self, name, flags))

    def _keep_library(self, lib):
        """The ffi keeps the libraries it opened alive, as in cffi."""
        libraries = getattr(self, "_libraries", None)
        if libraries is None:
            libraries = self._libraries = []
        libraries.append(lib)
        return lib

    def dlclose(self, lib):
        """Close a <lib> object returned by dlopen()."""
        from . import lib as _lib
        _lib.dlclose(lib)

    def callback(self, cdecl, python_callable=None, error=None, onerror=None):
        """A C function pointer of type cdecl ('int(int)' or 'int(*)(int)') calling
        python_callable; without python_callable, a decorator."""
        ct = self._resolve_function_type(cdecl)

        def callback_decorator_wrap(python_callable):
            if not callable(python_callable):
                raise TypeError("the 'python_callable' argument is not callable")
            return _core.callback(ct, python_callable, error, onerror)

        if python_callable is None:
            return callback_decorator_wrap
        return callback_decorator_wrap(python_callable)

    def def_extern(self, *args, **kwargs):
        """API mode only ('extern "Python"' functions of a compiled module)."""
        module = getattr(self, "_nffi_verified_module", None)
        if module is not None:          # the FFI that verify() built a module for
            return module.ffi.def_extern(*args, **kwargs)
        raise ValueError("ffi.def_extern() is only available on the FFI object of a "
                         "compiled (API-mode) module, not in ABI mode")

    @property
    def errno(self):
        """errno as saved after the last C call of this thread; set it to give the next
        C call of this thread a value of errno."""
        return _core.get_errno()

    @errno.setter
    def errno(self, value):
        _core.set_errno(value)

    # ---- introspection ------------------------------------------------------------------

    def getctype(self, cdecl, replace_with=""):
        """The C name of a type as a string; ``replace_with`` is inserted where a
        variable name would go (``getctype("int[5]", "x")`` is ``'int x[5]'``)."""
        # a bare function type ('int(int)') is refused, as in cffi: not a ctype
        ct = self._resolve(cdecl)
        replace_with = replace_with.strip()
        if replace_with.startswith("*") and "&[" in _core.getcname(ct, "&"):
            replace_with = "(%s)" % replace_with
        elif replace_with and replace_with[0] not in "[(":
            replace_with = " " + replace_with
        return _core.getcname(ct, replace_with)

    def list_types(self):
        """The names declared so far: (typedef names, struct names, union names),
        three sorted lists."""
        return self._model.list_types()

    def integer_const(self, name):
        """The value of an integer constant of the cdef (``#define``, ``static const``
        or an enumerator), without opening a library."""
        value = self._model.constants.get(name)
        if not isinstance(value, int):
            raise FFIError("no integer constant '%s'" % (name,))
        return value

    # ---- API mode: set_source / compile / emit_c_code / verify (nffi.apimode) --------------

    def set_source(self, module_name, source, source_extension=".c", **kwds):
        """Declare the extension module that compile() builds: its (dotted) name, the C
        source placed before the generated wrappers, and the keyword arguments of a
        setuptools Extension (include_dirs, libraries, define_macros, ...)."""
        from . import apimode
        apimode.set_source(self, module_name, source, source_extension, kwds)

    def compile(self, tmpdir=".", verbose=False, target=None, debug=None):
        """Generate and build the module declared by set_source(); returns its path."""
        from . import apimode
        return apimode.compile(self, tmpdir, verbose, target, debug)

    def emit_c_code(self, filename):
        """Write the C source compile() would build to 'filename'."""
        from . import apimode
        apimode.emit_c_code(self, filename)

    def emit_python_code(self, filename):
        """After set_source(name, None): write the out-of-line ABI module (a .py file in
        cffi's format, loadable by nffi and by cffi) to 'filename' or a file object."""
        from . import cffi_writer
        cffi_writer.emit_python_code(self, filename)

    def distutils_extension(self, tmpdir="build", verbose=True):
        """Write the C source of the module declared by set_source() under 'tmpdir' and
        return a setuptools Extension that builds it (see nffi.setuptools_ext)."""
        from . import setuptools_ext
        return setuptools_ext.distutils_extension(self, tmpdir, verbose)

    def set_source_pkgconfig(self, module_name, pkgconfig_libs, source,
                             source_extension=".c", **kwds):
        """set_source() with the compiler and linker flags that pkg-config gives for
        the packages 'pkgconfig_libs' added to kwds (see nffi.pkgconfig)."""
        from . import pkgconfig
        if not isinstance(pkgconfig_libs, list) or not pkgconfig_libs:
            raise TypeError("the pkgconfig_libs argument must be a non-empty list of "
                            "package names")
        kwds = pkgconfig.merge_flags(pkgconfig.flags_from_pkgconfig(pkgconfig_libs), kwds)
        self.set_source(module_name, source, source_extension, **kwds)

    def verify(self, source="", tmpdir=None, **kwargs):
        """Build (or reuse, by hash) a module from the cdefs and 'source', load it and
        return its lib; this FFI then uses the compiled module's types."""
        from . import apimode
        return apimode.verify(self, source, tmpdir, **kwargs)
