"""cffi.recompiler under nffi.compat: the out-of-line writer (nffi.cffi_writer) --
Recompiler(ffi, module_name) with collect_type_table() and cffi_types,
make_py_source() -- and make_c_source() / recompile() for API mode."""
import io
import os

from nffi import apimode
from nffi.cffi_format import VERSION_BASE, VERSION_CHAR16CHAR32, VERSION_EMBEDDED
from nffi.cffi_writer import Recompiler, make_py_source

NativeIO = io.StringIO

__all__ = ["Recompiler", "make_py_source", "make_c_source", "recompile", "NativeIO"]


def make_c_source(ffi, module_name, preamble, target_c_file, verbose=False):
    """Write nffi's C source of the API-mode module; returns whether the file changed."""
    before = _read(target_c_file)
    saved = getattr(ffi, "_nffi_source", None)
    ffi._nffi_source = (module_name, preamble, os.path.splitext(
        str(target_c_file))[1] or ".c", {})
    try:
        apimode.emit_c_code(ffi, target_c_file)
    finally:
        ffi._nffi_source = saved
    return _read(target_c_file) != before


def recompile(ffi, module_name, preamble, tmpdir=".", call_c_compiler=True, c_file=None,
              source_extension=".c", extradir=None, compiler_verbose=1, target=None,
              debug=None, **kwds):
    """set_source() then compile() (or, without the compiler, just write the source)."""
    saved = getattr(ffi, "_nffi_source", None)
    ffi._nffi_source = None
    ffi.set_source(module_name, preamble, source_extension, **kwds)
    try:
        if not call_c_compiler:
            if preamble is None:
                return make_py_source(ffi, module_name, c_file)
            return make_c_source(ffi, module_name, preamble, c_file)
        return ffi.compile(tmpdir=tmpdir, verbose=compiler_verbose, target=target,
                           debug=debug)
    finally:
        if saved is not None:
            ffi._nffi_source = saved


def _read(path):
    if hasattr(path, "write"):
        return None
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
