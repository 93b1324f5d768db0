"""The build engine: compile C (or C++) into a Python extension module or a plain shared
library with the interpreter's own compiler and flags (``sysconfig``), without setuptools.

Two entry points:

* ``build_extension(module_name, sources, tmpdir, ...)`` -> path of the built extension
  module (``<tmpdir>/<last part of the dotted name><EXT_SUFFIX>``, or ``target``);
* ``build_shared_library(name, sources, tmpdir, ...)`` -> path of ``lib<name>.so`` (or
  ``target``), for code loaded with ``dlopen`` (rffi's ExternalCompilationInfo).

Both take the keyword arguments of a setuptools ``Extension`` (``include_dirs``,
``define_macros``, ``undef_macros``, ``library_dirs``, ``libraries``,
``runtime_library_dirs``, ``extra_objects``, ``extra_compile_args``, ``extra_link_args``,
``depends``, ``language``).  What they build is cached by a hash of everything that goes
into it (commands, flags, the bytes of every source and ``depends`` file): an unchanged
output is not rebuilt.  Outputs are written under a temporary name and renamed into place,
so two processes building the same thing at the same time both succeed and nobody loads a
half-written file.  A missing compiler or missing Python headers raise
``VerificationError`` naming the Debian packages to install; a compiler error raises
``VerificationError`` carrying the compiler's own messages (file:line:column).
"""
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from .errors import VerificationError

__all__ = ["build_extension", "build_shared_library", "extension_filename", "c_compiler"]

_CXX_EXTENSIONS = (".cpp", ".cxx", ".cc", ".c++", ".C")
_SETUPTOOLS_ONLY = ("py_limited_api", "export_symbols", "swig_opts", "optional",
                    "extra_link_objects", "sources_extra")


def extension_filename(module_name):
    """The file name an extension module 'a.b.c' is built under: 'c' + EXT_SUFFIX."""
    return module_name.rpartition(".")[2] + sysconfig.get_config_var("EXT_SUFFIX")


def _config_words(name, default=""):
    return shlex.split(sysconfig.get_config_var(name) or default)


def _toolchain(language):
    """(compiler words, compile flags, link-shared words) for 'c' or 'c++'."""
    cc = _config_words("CC", "cc")
    ldshared = _config_words("LDSHARED", "cc -shared")
    if language == "c++":
        cxx = _config_words("CXX", "c++")
        cc = cxx
        ldshared = cxx[:1] + ldshared[1:]      # the same link flags, with the C++ driver
    flags = _config_words("CFLAGS") + _config_words("CCSHARED")
    if language == "c++":
        # CFLAGS may carry C-only options (-Wstrict-prototypes ...); drop those
        flags = [f for f in flags if not f.startswith(("-Wstrict-prototypes", "-std=c"))]
    return cc, flags, ldshared


def _check_compiler(words, python_headers):
    program = words[0]
    if shutil.which(program) is None:
        raise VerificationError(
            "no C compiler: %r (sysconfig's CC/CXX) is not installed or not on PATH.  "
            "On Debian or Ubuntu: apt-get install gcc g++ python3-dev" % program)
    if python_headers:
        include = sysconfig.get_paths()["include"]
        if not os.path.exists(os.path.join(include, "Python.h")):
            raise VerificationError(
                "the Python headers are missing (no Python.h in %s).  On Debian or "
                "Ubuntu: apt-get install python3-dev" % include)


def c_compiler():
    """The C compiler command sysconfig names (what built CPython) as a list of words,
    checked to be installed (else VerificationError naming the Debian package): what
    ffi.cdef_header() runs as its preprocessor."""
    words = _toolchain("c")[0]
    _check_compiler(words, python_headers=False)
    return words


def _language_of(sources, language):
    if language:
        return "c++" if language.lower() in ("c++", "cpp", "cxx") else "c"
    return "c++" if any(str(s).endswith(_CXX_EXTENSIONS) for s in sources) else "c"


def _file_digest(path, h):
    try:
        with open(path, "rb") as f:
            h.update(f.read())
    except OSError as e:
        raise VerificationError("cannot read %s: %s" % (path, e)) from None


def _command(sources, output, options, python_headers, debug):
    """The single compile-and-link command line."""
    cc, flags, ldshared = _toolchain(options["language"])
    _check_compiler(cc, python_headers)
    cmd = list(ldshared) + list(flags)
    if debug:
        cmd += ["-O0", "-g", "-UNDEBUG"]
    if python_headers:
        paths = sysconfig.get_paths()
        for d in dict.fromkeys((paths["include"], paths["platinclude"])):
            cmd.append("-I" + d)
    for d in options["include_dirs"]:
        cmd.append("-I" + os.fspath(d))
    for macro in options["define_macros"]:
        name, value = (macro, None) if isinstance(macro, str) else macro
        cmd.append("-D%s" % name if value is None else "-D%s=%s" % (name, value))
    for name in options["undef_macros"]:
        cmd.append("-U" + name)
    cmd += list(options["extra_compile_args"])
    for source in map(os.fspath, sources):
        if options["language"] == "c++" and source.endswith(".c"):
            cmd += ["-x", "c", source, "-x", "none"]    # a C file stays C (as setuptools)
        else:
            cmd.append(source)
    cmd += [os.fspath(o) for o in options["extra_objects"]]
    cmd += ["-o", output]
    for d in options["library_dirs"]:
        cmd.append("-L" + os.fspath(d))
    for d in options["runtime_library_dirs"]:
        cmd.append("-Wl,-rpath," + os.fspath(d))
    for lib in options["libraries"]:
        cmd.append("-l" + lib)
    cmd += list(options["extra_link_args"])
    return cmd


def _options(kwargs, sources):
    options = {
        "include_dirs": list(kwargs.pop("include_dirs", None) or ()),
        "define_macros": list(kwargs.pop("define_macros", None) or ()),
        "undef_macros": list(kwargs.pop("undef_macros", None) or ()),
        "library_dirs": list(kwargs.pop("library_dirs", None) or ()),
        "libraries": list(kwargs.pop("libraries", None) or ()),
        "runtime_library_dirs": list(kwargs.pop("runtime_library_dirs", None) or ()),
        "extra_objects": list(kwargs.pop("extra_objects", None) or ()),
        "extra_compile_args": list(kwargs.pop("extra_compile_args", None) or ()),
        "extra_link_args": list(kwargs.pop("extra_link_args", None) or ()),
        "depends": list(kwargs.pop("depends", None) or ()),
        "language": None,
    }
    options["language"] = _language_of(sources, kwargs.pop("language", None))
    for name in _SETUPTOOLS_ONLY:
        kwargs.pop(name, None)                 # meaningful to setuptools only
    if kwargs:
        raise TypeError("unexpected build option(s): %s" % ", ".join(sorted(kwargs)))
    return options


def _stamp_of(path):
    st = os.stat(path)
    return "%d %d %d" % (st.st_ino, st.st_size, st.st_mtime_ns)


def _build(sources, output, kwargs, python_headers, debug, verbose):
    sources = [os.fspath(s) for s in sources]
    if not sources:
        raise ValueError("nothing to build: no source files")
    options = _options(dict(kwargs), sources)
    cmd = _command(sources, output, options, python_headers, debug)
    h = hashlib.sha256()
    h.update(repr((cmd, sys.version, sys.platform)).encode())
    for path in sources + [os.fspath(d) for d in options["depends"]]:
        _file_digest(path, h)
    for path in options["extra_objects"]:
        if os.path.exists(path):
            _file_digest(path, h)
    digest = h.hexdigest()
    stamp_file = output + ".nffi-hash"
    # cached: the stamp names this digest and the very file now at 'output' (inode,
    # size, mtime), so an output replaced by another build is not taken for ours
    try:
        with open(stamp_file) as f:
            if f.read() == "%s %s" % (digest, _stamp_of(output)):
                if verbose:
                    print("nffi: %s is up to date" % output)
                return output
    except OSError:
        pass
    outdir = os.path.dirname(os.path.abspath(output))
    os.makedirs(outdir, exist_ok=True)
    fd, temp_output = tempfile.mkstemp(prefix=".nffi-", suffix=os.path.basename(output),
                                       dir=outdir)
    os.close(fd)
    try:
        cmd[cmd.index("-o") + 1] = temp_output
        if verbose:
            print(" ".join(shlex.quote(w) for w in cmd))
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace")
        except OSError as e:
            raise VerificationError("cannot run the compiler %r: %s" % (cmd[0], e)) from None
        if proc.returncode != 0:
            raise VerificationError("compilation of %s failed (exit status %d):\n%s"
                                    % (", ".join(sources), proc.returncode,
                                       proc.stdout.strip()))
        if verbose and proc.stdout.strip():
            print(proc.stdout.rstrip())
        os.replace(temp_output, output)
    except BaseException:
        try:
            os.unlink(temp_output)
        except OSError:
            pass
        raise
    fd, temp_stamp = tempfile.mkstemp(prefix=".nffi-", dir=outdir)
    with os.fdopen(fd, "w") as f:
        f.write("%s %s" % (digest, _stamp_of(output)))
    os.replace(temp_stamp, stamp_file)
    return output


def build_extension(module_name, sources, tmpdir=".", target=None, debug=None,
                    verbose=False, **kwargs):
    """Compile 'sources' into the extension module 'module_name' (dotted names allowed:
    the file is named after the last part) in 'tmpdir', or at 'target'; return its path.

    kwargs: include_dirs, define_macros, undef_macros, library_dirs, libraries,
    runtime_library_dirs, extra_objects, extra_compile_args, extra_link_args, depends,
    language ('c' or 'c++'; by default C++ when a source ends in .cpp/.cxx/.cc).
    debug=None follows sys.flags.debug (-O0 -g, assertions on)."""
    if target is None:
        target = extension_filename(module_name)
    output = os.path.join(os.fspath(tmpdir), target)
    if debug is None:
        debug = bool(sys.flags.debug)
    return _build(sources, output, kwargs, True, debug, verbose)


def build_shared_library(name, sources, tmpdir=".", target=None, debug=False,
                         verbose=False, **kwargs):
    """Compile 'sources' into a plain shared library 'lib<name>.so' in 'tmpdir' (or at
    'target'), for dlopen(); same keyword arguments as build_extension().  The Python
    headers are not put on the include path."""
    if target is None:
        target = "lib%s%s" % (name, sysconfig.get_config_var("SHLIB_SUFFIX") or ".so")
    output = os.path.join(os.fspath(tmpdir), target)
    return _build(sources, output, kwargs, False, debug, verbose)
