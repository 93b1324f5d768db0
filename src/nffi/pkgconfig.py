"""Compiler and linker flags from pkg-config, for set_source_pkgconfig() and build
scripts (``cffi.pkgconfig`` under nffi.compat).

``flags_from_pkgconfig(["libfoo"])`` runs ``pkg-config --cflags`` and ``--libs`` for each
package and returns the keyword arguments of a setuptools Extension (include_dirs,
library_dirs, libraries, define_macros, extra_compile_args, extra_link_args); a missing
pkg-config or package raises PkgConfigError with pkg-config's own message.
"""
import subprocess
import sys

from .errors import PkgConfigError

__all__ = ["merge_flags", "call", "flags_from_pkgconfig"]


def merge_flags(cfg1, cfg2):
    """Add the lists of cfg2 to those of cfg1 (in place; keys new to cfg1 are copied);
    returns cfg1."""
    for key, value in cfg2.items():
        if key not in cfg1:
            cfg1[key] = value
        else:
            if not isinstance(cfg1[key], list):
                raise TypeError("cfg1[%r] should be a list of strings" % (key,))
            if not isinstance(value, list):
                raise TypeError("cfg2[%r] should be a list of strings" % (key,))
            cfg1[key].extend(value)
    return cfg1


def call(libname, flag, encoding=sys.getfilesystemencoding()):
    """The output of 'pkg-config --print-errors <flag> <libname>' as text."""
    command = ["pkg-config", "--print-errors", flag, libname]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        raise PkgConfigError("cannot run pkg-config: %s" % (str(e).strip(),)) from None
    out, err = process.communicate()
    if process.returncode != 0:
        if isinstance(err, bytes):
            err = err.decode(encoding, "replace")
        raise PkgConfigError(err.strip() or "pkg-config %s %s failed (exit status %d)"
                             % (flag, libname, process.returncode))
    try:
        text = out.decode(encoding)
    except UnicodeDecodeError:
        raise PkgConfigError("pkg-config %s %s returned bytes that cannot be decoded with "
                             "encoding %r:\n%r" % (flag, libname, encoding, out)) from None
    if "\\" in text:
        raise PkgConfigError("pkg-config %s %s returned an unsupported backslash-escaped "
                             "output:\n%r" % (flag, libname, out))
    return text


def _flags(libname):
    cflags = call(libname, "--cflags").split()
    libs = call(libname, "--libs").split()
    result = {
        "include_dirs": [f[2:] for f in cflags if f.startswith("-I")],
        "library_dirs": [f[2:] for f in libs if f.startswith("-L")],
        "libraries": [f[2:] for f in libs if f.startswith("-l")],
        "define_macros": [],
        "extra_compile_args": [f for f in cflags if not f.startswith(("-I", "-D"))],
        "extra_link_args": [f for f in libs if not f.startswith(("-L", "-l"))],
    }
    for f in cflags:
        if f.startswith("-D"):
            name, _, value = f[2:].partition("=")
            result["define_macros"].append((name, value if value else None))
    return result


def flags_from_pkgconfig(libs):
    """The Extension keyword arguments for the pkg-config packages 'libs' (merged)."""
    result = {}
    for libname in libs:
        merge_flags(result, _flags(libname))
    return result
