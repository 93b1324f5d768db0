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
output is not rebuilt (the hashes are kept in nffi.cachedir's "build-stamps").  An extension
module is compiled in two steps, leaving '<source>.o' beside it as setuptools and cffi
do; a shared library in one.  Outputs are written under a temporary name and renamed into place,
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

from .cachedir import cache_dir
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


def _stamp_file(output):
    """Where the hash of what built 'output' is kept: in the user's cache directory
    (not beside the output, where cffi's users expect only the .c, .o and .so files),
    or None when there is no writable cache directory (then nothing is cached)."""
    directory = cache_dir("build-stamps")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    key = hashlib.sha256(os.path.abspath(output).encode("utf-8", "surrogateescape"))
    return os.path.join(directory, key.hexdigest()[:40])


def _object_names(sources, outdir):
    """The object file of each source in a two-step build: '<stem>.o' in outdir (as
    setuptools leaves them), numbered when two sources share a stem."""
    names, seen = [], set()
    for source in sources:
        stem = os.path.splitext(os.path.basename(source))[0]
        name, n = stem + ".o", 1
        while name in seen:
            n += 1
            name = "%s-%d.o" % (stem, n)
        seen.add(name)
        names.append(os.path.join(outdir, name))
    return names


def _run(cmd, sources, verbose):
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


def _two_steps(cmd, sources, outdir, temps, extra_objects):
    """Split the one compile-and-link command into one compile per source ('-c', into
    a temporary object file) and the link; returns (commands, [(temp, object)])."""
    source_set = set(sources) | {os.fspath(o) for o in extra_objects}
    output_at = cmd.index("-o")
    compile_flags = [w for w in cmd[1:output_at] if w not in source_set
                     and not w.startswith(("-L", "-l", "-Wl,"))]
    objects = []
    commands = []
    for source, final in zip(sources, _object_names(sources, outdir)):
        fd, temp = tempfile.mkstemp(prefix=".nffi-", suffix=".o", dir=outdir)
        os.close(fd)
        temps.append(temp)
        commands.append([cmd[0]] + [w for w in compile_flags if w != "-shared"]
                        + ["-c", source, "-o", temp])
        objects.append((temp, final))
    link = [w for w in cmd if w not in set(sources)]
    at = link.index("-o")
    link[at:at] = [temp for temp, _ in objects]
    commands.append(link)
    return commands, objects


def _stamp_of(path):
    st = os.stat(path)
    return "%d %d %d" % (st.st_ino, st.st_size, st.st_mtime_ns)


def _build(sources, output, kwargs, python_headers, debug, verbose, objects_beside=False):
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
    stamp_file = _stamp_file(output)
    # cached: the stamp names this digest and the very file now at 'output' (inode,
    # size, mtime), so an output replaced by another build is not taken for ours
    try:
        with open(stamp_file) as f:
            if f.read() == "%s %s" % (digest, _stamp_of(output)):
                if verbose:
                    print("nffi: %s is up to date" % output)
                return output
    except (OSError, TypeError):
        pass
    outdir = os.path.dirname(os.path.abspath(output))
    os.makedirs(outdir, exist_ok=True)
    fd, temp_output = tempfile.mkstemp(prefix=".nffi-", suffix=os.path.basename(output),
                                       dir=outdir)
    os.close(fd)
    temps = [temp_output]
    try:
        cmd[cmd.index("-o") + 1] = temp_output
        if objects_beside:
            commands, objects = _two_steps(cmd, sources, outdir, temps,
                                           options["extra_objects"])
        else:
            commands, objects = [cmd], []
        for command in commands:
            _run(command, sources, verbose)
        for temp, final in objects:
            os.replace(temp, final)
        os.replace(temp_output, output)
    except BaseException:
        for temp in temps:
            try:
                os.unlink(temp)
            except OSError:
                pass
        raise
    if stamp_file is not None:
        try:
            fd, temp_stamp = tempfile.mkstemp(prefix=".nffi-",
                                              dir=os.path.dirname(stamp_file))
            with os.fdopen(fd, "w") as f:
                f.write("%s %s" % (digest, _stamp_of(output)))
            os.replace(temp_stamp, stamp_file)
        except OSError:
            pass
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
    return _build(sources, output, kwargs, True, debug, verbose, objects_beside=True)


def build_shared_library(name, sources, tmpdir=".", target=None, debug=False,
                         verbose=False, **kwargs):
    """Compile 'sources' into a plain shared library 'lib<name>.so' in 'tmpdir' (or at
    'target'), for dlopen(); same keyword arguments as build_extension().  The Python
    headers are not put on the include path."""
    if target is None:
        target = "lib%s%s" % (name, sysconfig.get_config_var("SHLIB_SUFFIX") or ".so")
    output = os.path.join(os.fspath(tmpdir), target)
    return _build(sources, output, kwargs, False, debug, verbose)
