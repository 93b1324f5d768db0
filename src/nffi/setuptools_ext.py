"""setuptools integration: the ``nffi_modules=`` and ``cffi_modules=`` keywords of
``setup()``, and ``ffi.distutils_extension()``.

``setup(..., nffi_modules=["pkg/_build.py:ffibuilder"])`` runs each build script,
takes its FFI object (or calls it, if it is a function) and, as cffi does:

* API mode (``set_source(name, "C source", **kwds)``): adds an Extension ``name``
  whose C file nffi's recompiler writes into build_ext's temporary directory when
  ``build_ext`` runs (after the command's ``pre_run(ext, ffi)`` hook, if it has one);
* out-of-line ABI mode (``set_source(name, None)``): adds the module ``name`` to
  ``py_modules`` and writes it (cffi's format, nffi.cffi_writer) when ``build_py`` runs,
  and into the source tree for ``build_ext --inplace`` (editable installs).

Both keywords are entry points of nffi's distribution (``distutils.setup_keywords``).
``cffi_modules=`` does the same for packages written for cffi: the build scripts'
``import cffi`` gives nffi (nffi.compat is installed for them).  When the real cffi is
installed too, its own ``cffi_modules`` entry point runs as well: then nffi builds only
if nffi.compat is active (``NFFI_COMPAT=1``; cffi's entry point then reaches this very
code through ``cffi.setuptools_ext``), and leaves the build to cffi otherwise.
"""
import os
import sys
import sysconfig

__all__ = ["nffi_modules", "cffi_modules", "add_module", "distutils_extension"]


def _error(message):
    try:
        from setuptools.errors import SetupError
    except ImportError:                 # older setuptools
        from distutils.errors import DistutilsSetupError as SetupError
    raise SetupError(message)


def _log(message):
    try:
        from distutils import log
        log.info(message)
    except ImportError:
        print(message)


def _execfile(filename, namespace):
    with open(filename) as f:
        source = f.read()
    exec(compile(source + "\n", filename, "exec"), namespace, namespace)


def _load_builder(spec):
    """The FFI object named by 'path/build.py:variable'."""
    from .api import FFI
    if not isinstance(spec, str):
        _error("argument to 'cffi_modules=...' or 'nffi_modules=...' must be a str or a "
               "list of str, not %r" % (type(spec).__name__,))
    try:
        build_file, variable = spec.split(":")
    except ValueError:
        _error("%r must be of the form 'path/build.py:ffi_variable'" % (spec,))
    if not os.path.exists(build_file):
        hint = ""
        rewritten = build_file.replace(".", "/") + ".py"
        if os.path.exists(rewritten):
            hint = " (rewrite the entry to [%r])" % (rewritten + ":" + variable,)
        _error("%r does not name an existing file%s" % (build_file, hint))
    namespace = {"__name__": "__cffi__", "__file__": build_file}
    _execfile(build_file, namespace)
    try:
        ffi = namespace[variable]
    except KeyError:
        _error("%r: object %r not found in module" % (spec, variable))
    if not isinstance(ffi, FFI):
        ffi = ffi()                     # a function that returns the FFI
    if not isinstance(ffi, FFI):
        _error("%r is not an FFI instance (got %r)" % (spec, type(ffi).__name__))
    if getattr(ffi, "_nffi_source", None) is None:
        _error("%r: the set_source() method was not called" % (spec,))
    return ffi


def add_module(dist, spec):
    """Add what the build script 'path/build.py:ffi' declares to the distribution."""
    ffi = _load_builder(spec)
    module_name, source, extension, kwds = ffi._nffi_source
    if source is None:
        _add_py_module(dist, ffi, module_name)
    else:
        _add_c_module(dist, ffi, module_name, extension, dict(kwds))


def _add_c_module(dist, ffi, module_name, extension, kwds):
    from setuptools import Extension
    from setuptools.command.build_ext import build_ext
    from . import apimode

    sources = ["$PLACEHOLDER"] + list(kwds.pop("sources", None) or ())
    ext = Extension(name=module_name, sources=sources, **kwds)
    dist.ext_modules = (dist.ext_modules or []) + [ext]
    base = dist.cmdclass.get("build_ext", build_ext)

    class build_ext_make_mod(base):
        def run(self):
            if ext.sources[0] == "$PLACEHOLDER":
                c_file = os.path.join(self.build_temp, module_name + extension)
                _log("generating nffi module %r" % c_file)
                os.makedirs(self.build_temp, exist_ok=True)
                pre_run = getattr(self, "pre_run", None)
                if pre_run is not None:
                    pre_run(ext, ffi)
                apimode.emit_c_code(ffi, c_file)
                ext.sources[0] = c_file
            base.run(self)

    dist.cmdclass["build_ext"] = build_ext_make_mod


def _add_py_module(dist, ffi, module_name):
    from setuptools.command.build_ext import build_ext
    from setuptools.command.build_py import build_py
    from .cffi_writer import make_py_source

    def generate(py_file):
        _log("generating out-of-line module %r" % py_file)
        os.makedirs(os.path.dirname(py_file) or ".", exist_ok=True)
        if not make_py_source(ffi, module_name, py_file):
            _log("already up-to-date")

    parts = module_name.split(".")
    base_py = dist.cmdclass.get("build_py", build_py)

    class build_py_make_mod(base_py):
        def run(self):
            base_py.run(self)
            generate(os.path.join(self.build_lib, *parts[:-1], parts[-1] + ".py"))

        def get_source_files(self):
            saved = self.py_modules
            try:
                if saved:
                    self.py_modules = [m for m in saved if m != module_name]
                return base_py.get_source_files(self)
            finally:
                self.py_modules = saved

    dist.cmdclass["build_py"] = build_py_make_mod
    dist.py_modules = (dist.py_modules or []) + [module_name]
    base_ext = dist.cmdclass.get("build_ext", build_ext)

    class build_ext_make_mod(base_ext):
        def run(self):
            base_ext.run(self)
            if self.inplace:
                package_dir = self.get_finalized_command("build_py").get_package_dir(
                    ".".join(parts[:-1]))
                generate(os.path.join(package_dir, parts[-1] + ".py"))

    dist.cmdclass["build_ext"] = build_ext_make_mod


def _add_all(dist, attr, value):
    if getattr(dist, "_nffi_added_" + attr, False):
        return              # two entry points of the same keyword (see the docstring)
    setattr(dist, "_nffi_added_" + attr, True)
    for spec in [value] if isinstance(value, str) else value:
        add_module(dist, spec)


def nffi_modules(dist, attr, value):
    """setup(nffi_modules=["path/build.py:ffi", ...]) (a setuptools keyword)."""
    _add_all(dist, attr, value)


def _cffi_is_nffi():
    return getattr(sys.modules.get("cffi"), "nffi", False)


def _real_cffi_handles_keyword():
    """Does an installed real cffi register its own 'cffi_modules' keyword?"""
    from importlib import metadata
    for ep in metadata.entry_points(group="distutils.setup_keywords", name="cffi_modules"):
        if ep.value.split(":")[0] == "cffi.setuptools_ext":
            dist = getattr(ep, "dist", None)
            files = (dist.files or ()) if dist is not None else ()
            # nffi's 'provide-cffi' record lists no module files
            if any(str(f).startswith("cffi/") for f in files):
                return True
    return False


def cffi_modules(dist, attr, value):
    """setup(cffi_modules=[...]) (a setuptools keyword): as nffi_modules, for packages
    written for cffi, whose build scripts then import nffi as cffi."""
    if not _cffi_is_nffi():
        if _real_cffi_handles_keyword():
            return          # real cffi builds it (NFFI_COMPAT=1 makes nffi do it)
        from . import compat
        compat.install()
    _add_all(dist, attr, value)


def _set_py_limited_api(Extension, kwds):
    """cffi's rule, for build scripts that call it: py_limited_api=True with setuptools
    >= 26 on a non-debug, non-free-threaded CPython.  nffi itself never sets it: its
    generated modules use the full C API of the interpreter they are built for."""
    if "py_limited_api" not in kwds and not hasattr(sys, "gettotalrefcount"):
        import setuptools
        major = setuptools.__version__.partition(".")[0]
        if not major.isdigit() or int(major) >= 26:
            kwds["py_limited_api"] = True
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        kwds["py_limited_api"] = False
    if kwds.get("py_limited_api") is False:
        kwds.setdefault("define_macros", []).append(("_CFFI_NO_LIMITED_API", None))
    return kwds


def distutils_extension(ffi, tmpdir="build", verbose=True):
    """Write the C source of ffi's module under tmpdir (as compile() would) and return
    a setuptools Extension that builds it."""
    from setuptools import Extension
    from . import apimode
    source = getattr(ffi, "_nffi_source", None)
    if source is None:
        verifier = getattr(ffi, "verifier", None)
        if verifier is not None:
            return verifier.get_extension()
        raise ValueError("set_source() must be called before distutils_extension()")
    module_name, c_source, extension, kwds = source
    if c_source is None:
        raise TypeError("distutils_extension() is only for C extension modules, not for "
                        "out-of-line ABI modules (set_source(name, None))")
    parts = module_name.split(".")
    c_file = os.path.join(os.fspath(tmpdir), *parts[:-1], parts[-1] + extension)
    before = _read(c_file)
    os.makedirs(os.path.dirname(c_file) or ".", exist_ok=True)
    apimode.emit_c_code(ffi, c_file)
    if verbose:
        sys.stderr.write("%s: %r\n" % ("not modified" if _read(c_file) == before
                                       else "regenerated", c_file))
    kwds = dict(kwds)
    sources = [c_file] + list(kwds.pop("sources", None) or ())
    return Extension(name=module_name, sources=sources, **kwds)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
