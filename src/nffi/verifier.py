"""cffi's Verifier (``cffi.verifier`` under nffi.compat): the object behind
``ffi.verify()`` that names, writes, builds and loads the module of a preamble, with
nffi's API mode (nffi.apimode) doing the work.

``Verifier(ffi, preamble, tmpdir=None, modulename=None, ext_package=None, tag='',
force_generic_engine=False, source_extension='.c', **extension_keywords)``: the module is
``<tmpdir>/<modulename>.c`` built into ``<tmpdir>/<modulename><EXT_SUFFIX>``; without a
modulename it is ``_cffi_<tag>_<engine><hash of everything that goes into it>``, so an
unchanged verify() reuses what was built.  tmpdir defaults to ``$CFFI_TMPDIR`` or the
``__pycache__`` beside the caller's file.  Both of cffi's engines build the same nffi
module; ``force_generic_engine`` only changes the name and what
``generates_python_module()`` answers.
"""
import hashlib
import importlib.machinery
import os
import shutil
import sys

from . import apimode, recompiler
__all__ = ["Verifier", "cleanup_tmpdir", "maybe_relative_path"]

_FORCE_GENERIC_ENGINE = False       # cffi's switch; read by cffi's tests


def maybe_relative_path(path):
    """'path' relative to the current directory when it lies below it, else as is."""
    if not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


class _CPythonEngine:
    _class_key = "x"
    _gen_python_module = True


class _GenericEngine:
    _class_key = "g"
    _gen_python_module = False


def _locate_engine_class(ffi, force_generic_engine):
    if force_generic_engine or getattr(sys, "_force_generic_engine_", False):
        return _GenericEngine
    return _CPythonEngine


def _get_so_suffixes():
    return list(importlib.machinery.EXTENSION_SUFFIXES) or [".so"]


def _caller_dir_pycache(depth=2):
    result = os.environ.get("CFFI_TMPDIR")
    if result:
        return result
    filename = sys._getframe(depth).f_code.co_filename
    return os.path.abspath(os.path.join(os.path.dirname(filename), "__pycache__"))


class Verifier:
    """See the module docstring."""

    def __init__(self, ffi, preamble, tmpdir=None, modulename=None, ext_package=None,
                 tag="", force_generic_engine=False, source_extension=".c", flags=None,
                 relative_to=None, **kwds):
        self.ffi = ffi
        self.preamble = preamble
        self.kwds = apimode.relative_to_file(kwds, relative_to)
        self.flags = flags
        self.ext_package = ext_package
        self.source_extension = source_extension
        self.force_generic_engine = force_generic_engine
        self._engine = _locate_engine_class(ffi, force_generic_engine)
        self.tmpdir = tmpdir or _caller_dir_pycache()     # (the caller of Verifier())
        if modulename:
            if tag:
                raise TypeError("can't specify both 'modulename' and 'tag'")
        else:
            key = repr((sys.version, preamble, sorted(self.kwds.items(), key=repr),
                        source_extension, [a[:2] for a in recompiler.cdef_actions(ffi)],
                        recompiler.capi_header_text()))
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            modulename = "_cffi_%s_%s%s" % (tag, self._engine._class_key, digest)
        self.sourcefilename = os.path.join(self.tmpdir, modulename + source_extension)
        self.modulefilename = os.path.join(self.tmpdir, modulename + _get_so_suffixes()[0])
        self._has_source = False
        self._has_module = False

    def get_module_name(self):
        """The module's name: the file name of modulefilename up to its first dot."""
        return os.path.basename(self.modulefilename).split(".", 1)[0]

    def generates_python_module(self):
        return self._engine._gen_python_module

    def _with_source(self, action):
        saved = getattr(self.ffi, "_nffi_source", None)
        self.ffi._nffi_source = (self.get_module_name(), self.preamble,
                                 self.source_extension, dict(self.kwds))
        try:
            return action()
        finally:
            self.ffi._nffi_source = saved

    def write_source(self, file=None):
        """Write the C source to sourcefilename (its directory created), or to a
        file object."""
        self._write_source(file)

    def _write_source(self, file=None):
        # (the step cffi's tests wrap)
        if file is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.sourcefilename)),
                        exist_ok=True)
        self._with_source(lambda: apimode.emit_c_code(
            self.ffi, file if file is not None else self.sourcefilename))
        if file is None:
            self._has_source = True

    def compile_module(self):
        """Build the module at modulefilename."""
        if not self._has_source:
            self.write_source()
        target = os.path.abspath(self.modulefilename)
        self._with_source(lambda: apimode.compile(self.ffi, self.tmpdir, target=target))
        self._has_module = True

    def load_library(self):
        """Build (unless built already) and load the module; returns its lib, and the
        FFI uses the compiled module's types from then on (as ffi.verify())."""
        options = dict(self.kwds)
        return apimode.verify(self.ffi, self.preamble, tmpdir=self.tmpdir,
                              modulename=self.get_module_name(),
                              source_extension=self.source_extension, **options)

    def get_extension(self):
        """A setuptools Extension that builds the module (writing the source first)."""
        from setuptools import Extension
        if not self._has_source:
            self.write_source()
        name = self.get_module_name()
        if self.ext_package:
            name = "%s.%s" % (self.ext_package, name)
        kwds = dict(self.kwds)
        sources = [maybe_relative_path(self.sourcefilename)] + list(kwds.pop("sources", ()))
        return Extension(name=name, sources=sources, **kwds)


def cleanup_tmpdir(tmpdir=None, keep_so=False):
    """Remove the modules ffi.verify() built in 'tmpdir' (default: the __pycache__
    beside the caller's file)."""
    tmpdir = tmpdir or _caller_dir_pycache(2)
    try:
        names = os.listdir(tmpdir)
    except OSError:
        return
    for name in names:
        if name.startswith(("_cffi_", "_nffi_v_")) and not (
                keep_so and name.endswith(tuple(_get_so_suffixes()))):
            path = os.path.join(tmpdir, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
