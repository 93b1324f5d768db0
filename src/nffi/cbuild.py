"""ExternalCompilationInfo: what C an rffi declaration needs, and compiling it.

An ``ExternalCompilationInfo`` (ECI) is an immutable value listing includes, libraries,
inline C sources and flags (spec: rffi-api.md section 3).  Its sources are compiled into
a shared library by nffi's build engine (``nffi.build``, the one API mode uses: the
interpreter's compiler, content-hash cache, atomic writes); this module only generates
the C files, chooses the cache directory and loads each library once per distinct ECI.
``probe_integer``/``probe_float`` evaluate a C expression with the ECI's header, which is
how ``rffi.COpaque`` sizes and ``rffi.CConstant`` values are found.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading

from . import cachedir

__all__ = ["ExternalCompilationInfo", "CompilationError"]


class CompilationError(Exception):
    """The C compiler failed; ``out`` and ``err`` hold its output."""

    def __init__(self, out, err):
        Exception.__init__(self, out, err)
        self.out = out
        self.err = err

    def __str__(self):
        return "C compilation failed:\n%s%s" % (self.out, self.err)


_LIST_FIELDS = (
    "pre_include_bits", "includes", "include_dirs", "post_include_bits", "libraries",
    "library_dirs", "separate_module_sources", "separate_module_files", "compile_extra",
    "link_extra", "frameworks", "link_files", "testonly_libraries", "export_symbols",
)
_FIELDS = _LIST_FIELDS + ("use_cpp_linker",)
_CONCATENATED = ("compile_extra", "link_extra")

_PRELUDE = """\
/* nffi's prelude for ExternalCompilationInfo sources (RPython's precommondefs.h) */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#ifdef _WIN64
typedef long long Signed;
typedef unsigned long long Unsigned;
#else
typedef long Signed;
typedef unsigned long Unsigned;
#endif
#ifdef _WIN32
#define RPY_EXPORTED extern __declspec(dllexport)
#else
#define RPY_EXPORTED extern __attribute__((visibility("default")))
#endif
#define RPY_EXTERN RPY_EXPORTED
#define RPY_UNUSED __attribute__((unused))
#ifndef INLINE
#define INLINE inline
#endif
"""


class ExternalCompilationInfo:
    """The C needed by rffi declarations: includes, libraries, inline sources, flags."""

    def __init__(self, pre_include_bits=[], includes=[], include_dirs=[],
                 post_include_bits=[], libraries=[], library_dirs=[],
                 separate_module_sources=[], separate_module_files=[], compile_extra=[],
                 link_extra=[], frameworks=[], link_files=[], testonly_libraries=[],
                 export_symbols=[], use_cpp_linker=False):
        values = locals()
        for name in _LIST_FIELDS:
            value = values[name]
            if not isinstance(value, (list, tuple)):
                raise TypeError("ExternalCompilationInfo: %s must be a list or a tuple, "
                                "not %s" % (name, type(value).__name__))
            object.__setattr__(self, name, tuple(
                os.fspath(v) if isinstance(v, os.PathLike) else v for v in value))
        object.__setattr__(self, "use_cpp_linker", bool(use_cpp_linker))

    def __setattr__(self, name, value):
        raise AttributeError("ExternalCompilationInfo is immutable (use merge or "
                             "copy_without)")

    def _key(self):
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other):
        return type(other) is type(self) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "<ExternalCompilationInfo (%s)>" % ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in _FIELDS)

    def _copy(self, **changes):
        values = {name: getattr(self, name) for name in _FIELDS}
        values.update(changes)
        return ExternalCompilationInfo(**values)

    # -- combining
    def merge(self, *others):
        """A new ECI: the ordered union of every field (flags concatenated)."""
        unique = []
        for other in others:
            if not isinstance(other, ExternalCompilationInfo):
                raise TypeError("merge: %r is not an ExternalCompilationInfo" % (other,))
            if other not in unique:
                unique.append(other)
        everything = [self] + unique
        values = {}
        for name in _LIST_FIELDS:
            if name in _CONCATENATED:
                values[name] = sum((getattr(e, name) for e in everything), ())
            else:
                values[name] = tuple(dict.fromkeys(
                    item for e in everything for item in getattr(e, name)))
        values["use_cpp_linker"] = any(e.use_cpp_linker for e in everything)
        return ExternalCompilationInfo(**values)

    def copy_without(self, *fieldnames):
        """A copy with the given fields reset to their defaults."""
        for name in fieldnames:
            if name not in _FIELDS:
                raise AttributeError("ExternalCompilationInfo has no field %r" % name)
        return self._copy(**{name: (False if name == "use_cpp_linker" else ())
                             for name in fieldnames})

    # -- constructors from flags
    @classmethod
    def from_compiler_flags(cls, flags):
        """An ECI from compiler flags: -I to include_dirs, -D to #defines, rest extra."""
        pre_include_bits, include_dirs, compile_extra = [], [], []
        for arg in flags.split():
            if arg.startswith("-I"):
                include_dirs.append(arg[2:])
            elif arg.startswith("-D"):
                macro, _, value = arg[2:].partition("=")
                if macro.startswith("_XOPEN_SOURCE"):
                    continue
                pre_include_bits.append("#define %s %s" % (macro, value or "1"))
            elif arg.startswith(("-L", "-l")):
                raise ValueError("linker flag found in compiler options: %r" % arg)
            else:
                compile_extra.append(arg)
        return cls(pre_include_bits=pre_include_bits, include_dirs=include_dirs,
                   compile_extra=compile_extra)

    @classmethod
    def from_linker_flags(cls, flags):
        """An ECI from linker flags: -L to library_dirs, -l to libraries, rest extra."""
        libraries, library_dirs, link_extra = [], [], []
        for arg in flags.split():
            if arg.startswith("-L"):
                library_dirs.append(arg[2:])
            elif arg.startswith("-l"):
                libraries.append(arg[2:])
            elif arg.startswith(("-I", "-D")):
                raise ValueError("compiler flag found in linker options: %r" % arg)
            else:
                link_extra.append(arg)
        return cls(libraries=libraries, library_dirs=library_dirs, link_extra=link_extra)

    @classmethod
    def from_config_tool(cls, execonfigtool):
        """An ECI from ``<tool> --cflags`` and ``<tool> --libs``."""
        path = shutil.which(execonfigtool)
        if path is None:
            raise ImportError("cannot find %r" % execonfigtool)
        cflags = _run([path, "--cflags"])
        libs = _run([path, "--libs"])
        return cls.from_compiler_flags(cflags).merge(cls.from_linker_flags(libs))

    @classmethod
    def from_pkg_config(cls, pkgname):
        """An ECI from ``pkg-config <pkgname> --cflags`` and ``--libs``."""
        if not isinstance(pkgname, str):
            raise TypeError("from_pkg_config: the package name must be a str, not %s"
                            % type(pkgname).__name__)
        exists = "failed: 'pkg-config %s --exists'" % pkgname
        tool = shutil.which("pkg-config")
        if tool is None:
            raise ImportError(exists)
        if subprocess.run([tool, pkgname, "--exists"]).returncode != 0:
            raise ImportError(exists)
        cflags = _run([tool, pkgname, "--cflags"])
        libs = _run([tool, pkgname, "--libs"])
        return cls.from_compiler_flags(cflags).merge(cls.from_linker_flags(libs))

    # -- the generated header and sources
    def write_c_header(self, fileobj):
        """Write the prelude, pre_include_bits, the #includes, post_include_bits."""
        fileobj.write(_PRELUDE)
        for bit in self.pre_include_bits:
            fileobj.write(bit + "\n")
        for header in self.includes:
            fileobj.write("#include <%s>\n" % header)
        for bit in self.post_include_bits:
            fileobj.write(bit + "\n")

    def _header_text(self):
        import io
        out = io.StringIO()
        self.write_c_header(out)
        return out.getvalue()

    def _source_texts(self):
        header = self._header_text()
        return [header + "\n" + source + "\n" for source in self.separate_module_sources]

    def get_module_files(self):
        """``(separate_module_files, this ECI without them)``."""
        return self.separate_module_files, self.copy_without("separate_module_files")

    def convert_sources_to_files(self, cache_dir=None, being_main=False):
        """Write each source (with the header) to module_<n>.c; an ECI naming the files."""
        if not self.separate_module_sources:
            return self
        if cache_dir is None:
            cache_dir = tempfile.mkdtemp(prefix="nffi-eci-")
        cache_dir = os.fspath(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
        files = []
        for text in self._source_texts():
            n = 0
            while os.path.exists(os.path.join(cache_dir, "module_%d.c" % n)):
                n += 1
            path = os.path.join(cache_dir, "module_%d.c" % n)
            _write_atomically(path, text)
            files.append(path)
        return self._copy(separate_module_sources=(),
                          separate_module_files=self.separate_module_files + tuple(files))

    # -- compiling
    def compile_shared_lib(self, outputfilename=None, ignore_a_files=False,
                           debug_mode=True, defines=[]):
        """Compile the sources and files into a shared library; an ECI that links it."""
        if not self.separate_module_sources and not self.separate_module_files:
            return self
        key = (self, outputfilename, ignore_a_files, debug_mode, tuple(defines))
        with _compile_lock:
            compiled = _compiled.get(key)
            if compiled is None:
                path = _compile(self, outputfilename, ignore_a_files, debug_mode, defines)
                compiled = self._copy(separate_module_sources=(), separate_module_files=(),
                                      libraries=(path,) + self.libraries)
                _compiled[key] = compiled
        return compiled

    def probe_integer(self, expression):
        """The value of C integer ``expression`` compiled with this ECI's header."""
        return self._probe("long long", expression)

    def probe_float(self, expression):
        """The value of C floating ``expression`` compiled with this ECI's header."""
        return self._probe("double", expression)

    def _probe(self, c_type, expression):
        from . import rffi
        source = "RPY_EXPORTED %s nffi_probe_value(void) { return (%s)(%s); }" % (
            c_type, c_type, expression)
        T = rffi.LONGLONG if c_type == "long long" else rffi.DOUBLE
        probe = rffi.llexternal("nffi_probe_value", [], T, compilation_info=self.merge(
            ExternalCompilationInfo(separate_module_sources=[source])), releasegil=False)
        return probe()


_compiled = {}
_compile_lock = threading.RLock()


def _run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, check=True, text=True).stdout


def _write_atomically(path, text):
    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(prefix=".nffi-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def cache_dir():
    """Where compiled ECI libraries are kept: $NFFI_CACHE_DIR/eci, else the user's
    cache directory (nffi.cachedir)."""
    return cachedir.cache_dir("eci")


def _compile(eci, outputfilename, ignore_a_files, debug_mode, defines):
    from . import build, __version__
    from .errors import VerificationError
    texts = eci._source_texts()
    h = hashlib.sha256()
    h.update(repr((eci._key(), __version__, sys.version, tuple(defines), debug_mode,
                   ignore_a_files)).encode())
    for text in texts:
        h.update(text.encode())
    for path in eci.separate_module_files:
        try:
            with open(path, "rb") as f:
                h.update(f.read())
        except OSError as e:
            raise CompilationError("", "cannot read %s: %s" % (path, e)) from None
    digest = h.hexdigest()[:24]
    directory = os.path.join(cache_dir(), digest)
    os.makedirs(directory, exist_ok=True)
    sources = []
    for n, text in enumerate(texts):
        path = os.path.join(directory, "module_%d.c" % n)
        try:
            with open(path) as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            _write_atomically(path, text)
        sources.append(path)
    sources += list(eci.separate_module_files)
    link_files = [f for f in eci.link_files
                  if not (ignore_a_files and f.endswith(".a"))]
    if outputfilename is not None:
        ext = ".dylib" if sys.platform == "darwin" else ".so"
        target_dir, target = os.path.split(os.path.abspath(os.fspath(outputfilename) + ext))
    else:
        target_dir, target = directory, None
    compile_extra = list(eci.compile_extra)
    if debug_mode:
        compile_extra.append("-g")
    link_extra = list(eci.link_extra)
    for framework in eci.frameworks:
        if sys.platform == "darwin":
            link_extra += ["-framework", framework]
    libraries = [lib for lib in eci.libraries if not os.path.isabs(lib)]
    extra_objects = link_files + [lib for lib in eci.libraries if os.path.isabs(lib)]
    try:
        return build.build_shared_library(
            "eci_" + digest, sources, tmpdir=target_dir, target=target,
            include_dirs=list(eci.include_dirs), library_dirs=list(eci.library_dirs),
            libraries=libraries, extra_objects=extra_objects,
            extra_compile_args=compile_extra, extra_link_args=link_extra,
            define_macros=[tuple(d.split("=", 1)) if "=" in d else d for d in defines],
            language="c++" if eci.use_cpp_linker else "c")
    except VerificationError as e:
        raise CompilationError("", str(e)) from None
