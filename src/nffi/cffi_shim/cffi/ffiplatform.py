"""cffi.ffiplatform under nffi.compat: building a setuptools Extension with nffi's
build engine (nffi.build), and the path helper cffi's verifier uses."""
import os

from nffi import build
from nffi.errors import VerificationError, VerificationMissing
from nffi.verifier import maybe_relative_path

__all__ = ["get_extension", "compile", "maybe_relative_path", "VerificationError",
           "VerificationMissing"]

LIST_OF_FILE_NAMES = ["sources", "include_dirs", "library_dirs", "extra_objects",
                      "depends"]


def get_extension(srcfilename, modname, sources=(), **kwds):
    """A setuptools Extension named modname built from srcfilename and 'sources'."""
    from setuptools import Extension
    return Extension(name=modname, sources=[srcfilename] + list(sources), **kwds)


def compile(tmpdir, ext, compiler_verbose=0, debug=None):
    """Build 'ext' into tmpdir; returns the absolute path of the built file."""
    options = {name: getattr(ext, name) for name in (
        "include_dirs", "define_macros", "undef_macros", "library_dirs", "libraries",
        "runtime_library_dirs", "extra_objects", "extra_compile_args", "extra_link_args",
        "depends", "language") if getattr(ext, name, None)}
    path = build.build_extension(ext.name, ext.sources, tmpdir=tmpdir, debug=debug,
                                 verbose=bool(compiler_verbose), **options)
    return os.path.abspath(path)
