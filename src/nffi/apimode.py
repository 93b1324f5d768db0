"""API mode's front end: what FFI.set_source(), compile(), emit_c_code() and verify()
do.  The C text comes from nffi/recompiler.py, the build from nffi/build.py, and the
built module's ffi/lib from nffi/apimodule.py."""
import hashlib
import importlib.util
import os
import sys
import sysconfig

from . import _core, build, recompiler
from .decls import Tagged, UnknownPrimitive
from .errors import VerificationError

_EXTENSION_KEYWORDS = frozenset((
    "sources", "include_dirs", "define_macros", "undef_macros", "library_dirs",
    "libraries", "runtime_library_dirs", "extra_objects", "extra_compile_args",
    "extra_link_args", "depends", "language", "py_limited_api", "export_symbols",
    "swig_opts", "optional"))


def set_source(ffi, module_name, source, source_extension, kwds):
    if not isinstance(module_name, str):
        raise TypeError("'module_name' must be a string")
    previous = getattr(ffi, "_nffi_source", None)
    if previous is not None and previous[0] != module_name:
        # cffi refuses any second call; the same module name again replaces the
        # source and options (docs/differences.md)
        raise ValueError("set_source() cannot be called several times per ffi object")
    if os.sep in module_name or (os.altsep and os.altsep in module_name):
        raise ValueError("'module_name' must not contain '/': use a dotted module name")
    if source is None:              # out-of-line ABI mode: nffi.cffi_writer
        ffi._nffi_source = (module_name, None, ".py", dict(kwds))
        return
    unknown = set(kwds) - _EXTENSION_KEYWORDS
    if unknown:
        raise TypeError("set_source() got unexpected keyword argument(s): %s"
                        % ", ".join(sorted(unknown)))
    ffi._nffi_source = (module_name, source, source_extension, dict(kwds))


def _source_of(ffi):
    source = getattr(ffi, "_nffi_source", None)
    if source is None:
        raise ValueError("set_source() must be called before compile() or emit_c_code()")
    return source


def _c_text(ffi):
    module_name, source, extension, _ = _source_of(ffi)
    if source is None:
        raise TypeError("emit_c_code() is only for API mode; use emit_python_code() "
                        "after set_source(name, None)")
    return recompiler.make_c_source(ffi, module_name, source,
                                    cplusplus=extension in (".cpp", ".cxx", ".cc"))


def _write_if_changed(path, text):
    """Keep the file (and its mtime) when the text is the same."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = "%s.%d.tmp" % (path, os.getpid())
    with open(temp, "w") as f:
        f.write(text)
    os.replace(temp, path)


def emit_c_code(ffi, filename):
    """To a file name (rewritten only if the text changed) or a file object."""
    if hasattr(filename, "write"):
        filename.write(_c_text(ffi))
    else:
        path = os.fspath(filename)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):        # as cffi: no directory is created
            raise FileNotFoundError(2, "No such directory", directory)
        _write_if_changed(path, _c_text(ffi))


def compile(ffi, tmpdir=".", verbose=False, target=None, debug=None):
    module_name, source, extension, kwds = _source_of(ffi)
    if source is None:
        from . import cffi_writer
        return cffi_writer.compile_py(ffi, tmpdir, verbose)
    parts = module_name.split(".")
    outdir = os.path.join(os.fspath(tmpdir), *parts[:-1])
    c_file = os.path.join(outdir, parts[-1] + extension)
    _write_if_changed(c_file, _c_text(ffi))
    kwds = dict(kwds)
    # 'dir/../x.c' names x.c even when 'dir' does not exist (as setuptools)
    sources = [c_file] + [os.path.normpath(os.fspath(s)) for s in kwds.pop("sources", None) or ()]
    if target is not None and target.endswith(".*"):
        target = target[:-2] + sysconfig.get_config_var("EXT_SUFFIX")
    return os.path.abspath(build.build_extension(      # absolute, as cffi returns it
        module_name, sources, tmpdir=outdir, target=target, debug=debug, verbose=verbose,
        **kwds))


def _caller_pycache():
    frame = sys._getframe(3)
    filename = frame.f_globals.get("__file__")
    base = os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd()
    return os.path.join(base, "__pycache__")


def _load_module(module_name, path):
    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "__file__", None) == path:
        return module
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[module_name] = module
    return module


_VERIFY_ONLY = ("tag", "force_generic_engine", "flags", "relative_to", "ext_package",
                "compiler_verbose", "verbose", "modulename", "source_extension")


def relative_to_file(options, relative_to):
    """verify()'s relative_to=: the relative directories and files of the build
    options are taken relative to the directory of the file named, as cffi does."""
    if not relative_to:
        return options
    base = os.path.dirname(relative_to)
    options = dict(options)
    for key in ("include_dirs", "library_dirs", "runtime_library_dirs", "sources"):
        if options.get(key):
            options[key] = [os.path.join(base, os.fspath(p)) for p in options[key]]
    return options


def verify(ffi, source="", tmpdir=None, **kwargs):
    """Build a module named after a hash of everything that goes into it (so a
    previous build is reused), load it, and make 'ffi' use its declarations."""
    for name, node in sorted(ffi._model.typedefs.items()):
        if isinstance(node, UnknownPrimitive):      # as cffi's verify()
            raise VerificationError("feature not supported with ffi.verify(), but only "
                                    "with ffi.set_source(): 'typedef %s... %s'"
                                    % ("float" if node.kind == "float" else "int", name))
    if tmpdir is None:
        tmpdir = _caller_pycache()
    options = {k: v for k, v in kwargs.items() if k not in _VERIFY_ONLY}
    options = relative_to_file(options, kwargs.get("relative_to"))
    extension = kwargs.get("source_extension", ".c")
    verbose = bool(kwargs.get("verbose") or kwargs.get("compiler_verbose"))
    module_name = kwargs.get("modulename")
    if module_name is None:
        key = repr(([a[:2] for a in recompiler.cdef_actions(ffi)], sorted(ffi._nffi_keep_gil), source,
                    sorted(options.items(), key=repr), extension, sys.version,
                    recompiler.capi_header_text()))
        module_name = "_nffi_v_" + hashlib.sha256(key.encode()).hexdigest()[:20]
    builder_source = getattr(ffi, "_nffi_source", None)
    ffi._nffi_source = None
    set_source(ffi, module_name, source, extension, options)
    try:
        path = os.path.join(tmpdir, build.extension_filename(module_name))
        if not os.path.exists(path):
            path = compile(ffi, tmpdir, verbose=verbose)
        try:
            module = _load_module(module_name, path)
            model = module.ffi._model        # the declarations, read on first use
        except _core.error as e:
            raise VerificationError(str(e)) from None
        except ImportError as e:        # e.g. an undefined symbol, as cffi's verify()
            raise VerificationError("importing %r: %s" % (path, e)) from None
        _check_eagerly(model)
    finally:
        ffi._nffi_source = builder_source
    # the FFI that built it now sees the compiled module's types and layouts
    ffi._model = module.ffi._model
    ffi._clear_type_caches()
    ffi._nffi_verified_module = module
    module.lib._nffi_builder = ffi        # lib keeps the ffi alive, as cffi
    # the attribute by which cffi's verify() lib tells which engine built it
    engine = "_cffi_generic_module" if kwargs.get("force_generic_engine") else \
        "_cffi_python_module"
    module.lib._nffi_cache[engine] = module
    return module.lib


def _check_eagerly(model):
    """verify() reports what the compiled module would report on use (a misdeclared
    struct, a constant of another value) as VerificationError, as cffi's verify()."""
    for name, (real, declared) in model.constant_mismatches.items():
        # cffi's verify() wording
        raise VerificationError("%s has the real value %r, not %r" % (name, real, declared))
    for kind, tag in list(model.struct_defs):
        try:
            _core.sizeof(model.resolve(Tagged(kind, tag)))
        except _core.error as e:
            raise VerificationError(_verify_wording(str(e))) from None
        except Exception:
            pass                # opaque or otherwise unsized: not a verification error


def _verify_wording(message):
    """A layout mismatch as cffi's verify() words it: 'we have N' and no hint."""
    message = message.replace("(cdef says ", "(we have ")
    hint = message.find(' fix it or use "...;"')
    return message[:hint - 1] if hint > 0 else message
