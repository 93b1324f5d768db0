"""Declarations from real header files: the front end of ``ffi.cdef_header()``.

It owns the way from ``#include <zlib.h>`` to declarations in an FFI's model:

1. *Preprocessing* with the system preprocessor (the C compiler sysconfig names, as
   for API mode), ``-E -dD``: macro definitions are kept, so object-like macros can
   become constants; flags from ``pkg-config`` for the packages named.
2. *Parsing* the output with nffi's own parser in its GNU C mode
   (nffi.cparser.parse_header): attributes, ``__asm__`` symbol names, line markers,
   ``#pragma pack``, ...; what cannot be represented is skipped with its reason.
3. *Selecting* (``only``/``exclude`` glob patterns on names) with everything a kept
   declaration needs.
4. *Declaring* into the model as one transaction; a declaration the model refuses
   (a by-value member of a skipped struct, a name declared differently by an earlier
   call) is skipped too, never fatal.

Positions: the parser sees lines of the preprocessed text; the line markers map them
back to header files (``HeaderPosition``), for skipped declarations and errors.

Cache: parsing is the expensive step.  Its result is kept in memory and on disk, in
``$NFFI_CACHE_DIR/headers`` (default ``~/.cache/nffi/headers``; docs/headers.md): the
parse result per preprocessed text (SHA-256 key), each request (source and
preprocessor options) with the size and modification time of everything its text
depends on (files read, include search directories, .pc files), and the outcome of
declaring into a fresh FFI -- so that a later load, in this process or a later one,
whose dependencies are unchanged runs no preprocessor and loads no parse result.
"""
import bisect
import gc
import os
import re
import sys
import zlib

from . import cparser, layout, primitives
from .cachedir import cache_dir
from . import decls as decls_module
from .decls import (Array, ConstantDecl, EnumDef, Function, FunctionDecl, Named, Pointer,
                    Primitive, StructDef, Tagged, Typedef, VariableDecl, Void)
from .errors import CDefError, FFIError, PkgConfigError

try:    # pickle's C implementation, without pickle.py (a third of this module's import)
    from _pickle import dump as _pickle_dump, load as _pickle_load
except ImportError:         # pragma: no cover (not CPython)
    from pickle import dump as _pickle_dump, load as _pickle_load

__all__ = ["HeaderPosition", "SkippedDeclaration", "load_header"]




class _Record:
    """A small immutable record compared by value (what a frozen dataclass gives,
    without the cost of creating dataclasses when this module is imported: the first
    cdef_header() of a process pays it)."""
    __slots__ = ()

    def __init__(self, *values):
        if len(values) != len(self.__slots__):
            raise TypeError("%s() takes %d arguments" % (type(self).__name__,
                                                          len(self.__slots__)))
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("%s is immutable" % type(self).__name__)

    def _values(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % item for item in zip(self.__slots__, self._values())))


class HeaderPosition(_Record):
    """A place in a header file: file (its path as the preprocessor names it) and
    line."""
    __slots__ = ("file", "line")

    def __str__(self):
        return "%s:%d" % (self.file, self.line)


class SkippedDeclaration(_Record):
    """A declaration of a header that cdef_header() did not declare: name, reason
    and position (a HeaderPosition)."""
    __slots__ = ("name", "reason", "position")

    def __str__(self):
        return "%s: %s: %s" % (self.position, self.name or "(unnamed)", self.reason)


# ---- 1. preprocessing --------------------------------------------------------------------

# subprocess, shlex, shutil, hashlib and nffi.build (sysconfig) are imported when the
# preprocessor runs: a load that the cache answers needs none of them

def _compiler():
    """The C compiler command sysconfig names (what built CPython), as a list; the
    build engine's rule and its error naming the Debian package."""
    from . import build
    return build.c_compiler()


def _pkg_config(packages, *options):
    import shlex
    import shutil
    import subprocess
    if shutil.which("pkg-config") is None:
        raise PkgConfigError("pkg_config=%r needs the pkg-config program (on "
                             "Debian/Ubuntu: apt-get install pkg-config)" % (list(packages),))
    result = subprocess.run(["pkg-config"] + list(options) + list(packages),
                            capture_output=True, text=True)
    if result.returncode:
        raise PkgConfigError("pkg-config %s %s failed: %s"
                             % (" ".join(options), " ".join(packages), result.stderr.strip()))
    return shlex.split(result.stdout)


def _command(include_dirs, define_macros, undef_macros, pkg_config, extra_args):
    command = _compiler() + ["-E", "-dD", "-x", "c"]
    command += ["-I" + d for d in include_dirs]
    for macro in define_macros:
        if isinstance(macro, str):
            command.append("-D" + macro)
        else:
            name, value = macro
            command.append("-D%s" % name if value is None else "-D%s=%s" % (name, value))
    command += ["-U" + name for name in undef_macros]
    if pkg_config:
        command += _pkg_config(pkg_config, "--cflags")
    command += list(extra_args)
    return command + ["-"]


def _run(source, command):
    import subprocess
    try:
        return subprocess.run(command, input=source, capture_output=True, text=True)
    except OSError as e:
        raise FFIError("cdef_header(): cannot run the preprocessor %r: %s"
                       % (command[0], e)) from None


def preprocess(source, command):
    """Run the preprocessor command on source; the output text."""
    result = _run(source, command)
    if result.returncode:
        raise CDefError("cdef_header(): the preprocessor failed:\n%s"
                        % result.stderr.strip())
    return result.stdout


_LINE_MARKER_FILE_RE = re.compile(r'^# \d+ "([^"<][^"]*)"', re.MULTILINE)
_NONEXISTENT_RE = re.compile(r'^ignoring nonexistent directory "(.*)"$', re.MULTILINE)
_SEARCH_LIST_RE = re.compile(r'^#include .* search starts here:\n((?: .*\n)*)',
                             re.MULTILINE)


def _preprocess_with_stamps(source, options):
    """(preprocessed text, dependency stamps or None).  The stamps say what must stay
    unchanged for the text to stay the same: (path, size, mtime) of every file the
    preprocessor read, of every directory of its include search path (a header
    added there could shadow one it read) -- directories it ignored as nonexistent
    are recorded as absent (size -1) -- and of the .pc files of pkg_config."""
    command = _command(*options)
    result = _run(source, command[:-1] + ["-v", "-"])
    if result.returncode:
        preprocess(source, command)     # its error, without -v's report
    text = result.stdout
    paths = set(_LINE_MARKER_FILE_RE.findall(text))
    directories = set(os.path.dirname(path) for path in paths)
    for listing in _SEARCH_LIST_RE.findall(result.stderr):
        directories.update(line.strip() for line in listing.splitlines())
    absent = set(_NONEXISTENT_RE.findall(result.stderr))
    if options[3]:                                   # pkg_config
        try:
            paths.update(_pkg_config(options[3], "--path"))
        except PkgConfigError:      # (cannot say which files: no request entry)
            return text, None
    stamps = [(path, -1, -1) for path in sorted(absent)]
    for path in sorted(paths | (directories - absent)):
        try:
            info = os.stat(path or ".")
        except OSError:
            return text, None
        stamps.append((path, info.st_size, info.st_mtime_ns))
    return text, tuple(stamps)


def _stamps_current(stamps):
    for path, size, mtime in stamps:
        try:
            info = os.stat(path or ".")
        except OSError:
            if size == -1:
                continue
            return False
        if info.st_size != size or info.st_mtime_ns != mtime:
            return False
    return True


# ---- 2. parsing, with its cache ----------------------------------------------------------

def cache_directory():
    """Where parsed headers are kept between processes."""
    return cache_dir("headers")


# typedef names every FFI knows before any declaration (a header may use FILE without
# including <stdio.h>, as jpeglib.h does)
_PREDECLARED = frozenset(["FILE"])

_parsed = {}        # text key -> (text key, (declarations, skipped, marks))
_requests = {}      # request key -> (request, (text key, dependency stamps))
_outcomes = {}      # outcome key -> (text key and patterns, outcome in a fresh FFI)
_version = None


def _version_prefix():
    """Part of every cache key: a checksum of the source of the modules that decide
    what an entry holds -- the parser and its nodes, the layout rules (sizeof in
    constant expressions), the registry and model (what a declaration outcome is) and
    this module (the format) -- so that a changed nffi never reads an older one's."""
    global _version
    if _version is None:
        from . import model, registry
        crc, adler, length = 0, 1, 0
        for module in (cparser, decls_module, primitives, layout, registry, model,
                       sys.modules[__name__]):
            try:
                with open(module.__file__, "rb") as f:
                    data = f.read()
            except (OSError, TypeError):    # no source: a key of this process only
                data = b"%d %d" % (os.getpid(), id(module))
            crc, adler = zlib.crc32(data, crc), zlib.adler32(data, adler)
            length += len(data)
        _version = "%08x%08x%x" % (crc, adler, length)
    return _version


def _file_key(identity):
    """A file name for a cache entry whose content starts with its identity (checked
    on reading: a checksum that collides is a miss, never a wrong entry).  A checksum
    of zlib's, not hashlib's, whose import costs a later process more than all this."""
    data = identity.encode("utf-8", "surrogateescape")
    return "%08x%08x" % (zlib.crc32(data), zlib.adler32(data))


def _text_key(text):
    """The key of a preprocessed text: its SHA-256 (and the version)."""
    import hashlib
    return hashlib.sha256((_version_prefix() + "\0" + text).encode(
        "utf-8", "surrogateescape")).hexdigest()


def _recall(table, key, identity, suffix):
    """The value remembered under key (in this process, else on disk), or None."""
    entry = table.get(key) or _load(key + suffix)
    if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] == identity):
        return None
    table[key] = entry
    return entry[1]


def _remember(table, key, identity, suffix, value):
    table[key] = (identity, value)
    _store(key + suffix, (identity, value))


# environment variables that change what the preprocessor reads
_PREPROCESSOR_ENVIRONMENT = ("CPATH", "C_INCLUDE_PATH", "PKG_CONFIG_PATH")


class _Request:
    """A cdef_header() source with its preprocessor options (include_dirs,
    define_macros, undef_macros, pkg_config, extra_args), in this working directory
    and environment: what decides the preprocessed text, as long as the files it
    read are unchanged (the compiler is this interpreter's, fixed)."""

    def __init__(self, source, options):
        self.source = source
        self.options = options
        self.identity = repr((_version_prefix(), source, options, os.getcwd(),
                              [os.environ.get(name) for name in _PREPROCESSOR_ENVIRONMENT]))
        self.key = _file_key(self.identity)

    def known_text_key(self):
        """The key of the text this request gave before -- in this process or,
        through the disk cache, in an earlier one -- if every file and directory it
        depended on is unchanged (size and modification time); else None."""
        known = _recall(_requests, self.key, self.identity, ".request")
        if known is None or not _stamps_current(known[1]):
            return None
        return known[0]


def _parsed_headers(request, size_align):
    """(text key, (declarations, skipped, marks)) of a request: from the caches, or
    preprocessed and parsed."""
    key = request.known_text_key()
    if key is not None:
        found = _recall(_parsed, key, key, ".pickle")
        if found is not None:
            return key, found
    text, stamps = _preprocess_with_stamps(request.source, request.options)
    key = _text_key(text)
    found = _recall(_parsed, key, key, ".pickle")
    if found is None:
        found = _shared(cparser.parse_header(text, _PREDECLARED, {}, size_align), {})
        _remember(_parsed, key, key, ".pickle", found)
    if stamps is not None:
        _remember(_requests, request.key, request.identity, ".request", (key, stamps))
    return key, found


_TYPE_NODES = (Primitive, Void, Named, Tagged, Pointer, Array, Function)


def _shared(value, table):
    """value with each set of equal strings, type nodes and tuples of type nodes made
    one object: pickle writes and reads each once, which makes a later process's load
    of a parsed header several times faster."""
    kind = type(value)
    if kind is str:
        return table.setdefault(value, value)
    if kind is tuple or kind is list:
        items = [_shared(item, table) for item in value]
        if kind is list:
            return items
        value = tuple(items)
        if all(type(item) in _TYPE_NODES for item in value):
            return table.setdefault((tuple, value), value)
        return value
    fields = getattr(kind, "__dataclass_fields__", None)
    if fields is None:
        return value
    value = kind(**{name: _shared(getattr(value, name), table) for name in fields})
    if kind in _TYPE_NODES:
        # (the position of an Array is not compared: part of the key)
        return table.setdefault((kind, value, getattr(value, "line", 0),
                                 getattr(value, "column", 0)), value)
    return value


def clear_memory_caches():
    """Forget what this process parsed (the disk cache stays): for tests and
    benchmarks."""
    _parsed.clear()
    _requests.clear()
    _outcomes.clear()


def _load(name):
    try:
        with open(os.path.join(cache_directory(), name), "rb") as f:
            return _pickle_load(f)
    except Exception:       # absent, unreadable or from another version: parse again
        return None


def _store(name, value):
    """Write a cache file atomically (several processes may load the same headers)."""
    path = os.path.join(cache_directory(), name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = "%s.%d.tmp" % (path, os.getpid())
        with open(temporary, "wb") as f:
            _pickle_dump(value, f, protocol=5)
        os.replace(temporary, path)
    except OSError:
        pass                # a read-only home: no disk cache, still correct


class _Positions:
    """Preprocessed line -> HeaderPosition, from the line markers."""

    def __init__(self, marks):
        self._lines = [line for line, _, _ in marks]
        self._marks = marks

    def __call__(self, line):
        index = bisect.bisect_right(self._lines, line) - 1
        if index < 0:
            return HeaderPosition("<source>", line)
        start, file, file_line = self._marks[index]
        return HeaderPosition(file, file_line + line - start)


def _size_align(model):
    """sizeof/alignof of a type node for the parser's constant expressions: the
    typedefs and structs of the header being parsed (local.typedef_types,
    local.structs) first, then the model's."""
    from . import _core

    def size_align(node, local):
        typedef_align = None        # of the first aligned typedef of a chain
        while isinstance(node, Named) and node.name in local.typedef_types:
            typedef_align = typedef_align or local.typedef_align.get(node.name)
            node = local.typedef_types[node.name]
        size, align = size_align_of_type(node, local)
        return size, typedef_align or align

    def size_align_of_type(node, local):
        if isinstance(node, Array) and isinstance(node.length, int):
            size, align = size_align(node.item, local)
            return size * node.length, align
        if isinstance(node, Tagged) and (node.kind, node.name) in local.structs:
            decl = local.structs[(node.kind, node.name)]
            specs = []
            for field in decl.fields:
                size, align = size_align(field.type, local)
                specs.append(layout.FieldSpec(field.name, size, align, field.bitsize,
                                              False, field.align, field.packed))
            size, align, _ = layout.layout(decl.kind, specs, decl.packed, decl.pack,
                                           decl.align)
            return size, align
        ct = model.resolve(Pointer(Void()) if isinstance(node, Pointer) else node)
        return _core.sizeof(ct), _core.alignof(ct)
    return size_align


# ---- 3. selection ------------------------------------------------------------------------

def _matcher(patterns):
    if patterns is None:
        return None
    import fnmatch
    if isinstance(patterns, str):
        patterns = [patterns]
    regex = re.compile("|".join(fnmatch.translate(p) for p in patterns))
    return regex.match


def _names_of(decl):
    """The names only/exclude match against: a struct 'struct foo' also as 'foo'."""
    if isinstance(decl, StructDef):
        return (decl.name, "%s %s" % (decl.kind, decl.name))
    if isinstance(decl, EnumDef):
        return (decl.name, "enum " + decl.name) + tuple(n for n, _ in decl.enumerators)
    return (decl.name,)


def _type_references(node, out):
    """Add the ('typedef', name) / (kind, tag) a type node mentions to out."""
    while True:
        if isinstance(node, (Pointer, Array)):
            node = node.item
        elif isinstance(node, Function):
            for argument in node.args:
                _type_references(argument, out)
            node = node.result
        elif isinstance(node, Named):
            out.append(("typedef", node.name))
            return
        elif isinstance(node, Tagged):
            out.append((node.kind, node.name))
            return
        else:
            return


def _key(decl):
    if isinstance(decl, StructDef):
        return (decl.kind, decl.name)
    if isinstance(decl, EnumDef):
        return ("enum", decl.name)
    if isinstance(decl, Typedef):
        return ("typedef", decl.name)
    return ("name", decl.name)


def _select(decls, only, exclude):
    """The declarations matching only (all if None) and not exclude, with every
    typedef, struct, union and enum they need, in their original order."""
    keep_match, drop_match = _matcher(only), _matcher(exclude)
    if keep_match is None and drop_match is None:
        return decls
    by_key = {}
    for decl in decls:
        by_key.setdefault(_key(decl), []).append(decl)
    wanted = set()
    pending = []
    for decl in decls:
        names = _names_of(decl)
        if keep_match is not None and not any(keep_match(n) for n in names):
            continue
        if drop_match is not None and any(drop_match(n) for n in names):
            continue
        pending.append(_key(decl))
    while pending:
        key = pending.pop()
        if key in wanted:
            continue
        wanted.add(key)
        for decl in by_key.get(key, ()):
            references = []
            if isinstance(decl, StructDef):
                for field in decl.fields or ():
                    _type_references(field.type, references)
            elif not isinstance(decl, EnumDef) and getattr(decl, "type", None) is not None:
                _type_references(decl.type, references)
            pending.extend(references)
    return [decl for decl in decls if _key(decl) in wanted]


# ---- 4. declaring ------------------------------------------------------------------------

_NUMBERED_TAG_RE = re.compile(r"\$\d+")


def _field_shape(decl):
    """What makes two definitions of a struct the same, whatever the numbers the
    parser gave to their anonymous members ('$12' in one parse, '$57' in another)."""
    return (decl.kind, decl.packed, decl.pack, decl.align, decl.typedef_align,
            tuple((f.name, _NUMBERED_TAG_RE.sub("$", repr(f.type)), f.bitsize, f.align,
                   f.packed) for f in decl.fields))


def _prefilter(decls, registry, skip):
    """Drop what the model would refuse and is better skipped: declarations an earlier
    cdef/cdef_header made already (the same: silently; differently: listed), and
    structs with a by-value member whose struct definition was skipped."""
    complete = {key for key, d in registry.struct_defs.items() if d.fields is not None}
    complete.update(("enum", name) for name in registry.enum_defs)
    typedefs = dict(registry.typedefs)
    seen = {}
    result = []
    for decl in decls:
        if isinstance(decl, StructDef):
            if decl.fields is None:
                result.append(decl)
                continue
            old = registry.struct_defs.get((decl.kind, decl.name)) or seen.get(_key(decl))
            if old is not None and old.fields is not None:
                if _field_shape(old) != _field_shape(decl):
                    skip(decl, "%s %s is already declared differently"
                         % (decl.kind, decl.name))
                continue
            missing = _incomplete_member(decl, complete, typedefs)
            if missing is not None:
                skip(decl, "member '%s' has the incomplete type %s %s (its definition "
                     "was skipped)" % missing)
                continue
            complete.add((decl.kind, decl.name))
        elif isinstance(decl, EnumDef):
            complete.add(("enum", decl.name))
        elif isinstance(decl, Typedef):
            old = registry.typedefs.get(decl.name)
            if old is None and ("typedef", decl.name) in seen:
                old = seen[("typedef", decl.name)].type
            if old is not None:
                if old != decl.type:
                    skip(decl, "typedef %s is already declared differently" % decl.name)
                continue
            typedefs[decl.name] = decl.type
        else:
            table = (registry.functions if isinstance(decl, FunctionDecl) else
                     registry.variables if isinstance(decl, VariableDecl) else None)
            old = table.get(decl.name) if table is not None else None
            old = old or seen.get(_key(decl))
            if isinstance(decl, ConstantDecl):
                if decl.name in registry.constants or ("name", decl.name) in seen:
                    value = registry.constants.get(decl.name, getattr(old, "value", None))
                    if value != decl.value:
                        skip(decl, "constant %s is already declared with value %r"
                             % (decl.name, value))
                    continue
            elif old is not None:
                if getattr(old, "type", None) != decl.type:
                    skip(decl, "%s is already declared differently" % decl.name)
                    continue
                if decl.symbol is None or decl.symbol == getattr(old, "symbol", None):
                    continue
                # the same declaration again with an __asm__ name (glibc's sscanf):
                # the later one gives the symbol, as in C; the registry takes it
        seen[_key(decl)] = decl
        result.append(decl)
    return result


def _incomplete_member(decl, complete, typedefs):
    for field in decl.fields:
        node = field.type
        for _ in range(64):
            if isinstance(node, Array):
                node = node.item
            elif isinstance(node, Named) and node.name in typedefs:
                node = typedefs[node.name]
            else:
                break
        if isinstance(node, Tagged) and (node.kind, node.name) not in complete:
            return field.name or "(anonymous)", node.kind, node.name
    return None


def _declare(model, decls, skip, position):
    """model.declare(decls), dropping (and listing) each declaration the model refuses
    until the rest is accepted.  An error that names no declaration is raised, with
    the header position."""
    for _ in range(200):
        try:
            model.declare(decls)
            return decls
        except (CDefError, FFIError) as error:
            line, column, message = _located(error)
            if line is None:
                raise
            failing = [d for d in decls if d.line == line and
                       (column is None or d.column == column)]
            if not failing:
                raise CDefError("%s: %s" % (position(line), message)) from None
            for decl in failing:
                skip(decl, message)
            decls = [d for d in decls if not any(d is f for f in failing)]
    raise CDefError("cdef_header(): too many declarations refused")


_WHERE_RE = re.compile(r"line (\d+), column (\d+): (.*)", re.DOTALL)


def _located(error):
    """(line, column, message) of a model error: CDefError carries them; the
    registry's FFIError for a conflicting name starts with 'line L, column C: '."""
    if isinstance(error, CDefError):
        return error.line, error.column, error.message
    match = _WHERE_RE.match(str(error))
    if match is None:
        return None, None, str(error)
    return int(match.group(1)), int(match.group(2)), match.group(3)


def load_header(model, source, include_dirs=(), define_macros=(), undef_macros=(),
                pkg_config=(), extra_args=(), only=None, exclude=None):
    """Preprocess, parse, select and declare; return (the declarations declared, a
    SkippedList: iterating gives SkippedDeclaration, what the headers declare that was
    not declared, and why)."""
    # what a load creates (declarations, ctypes) lives as long as the FFI: the cyclic
    # collector's passes over it on the way are pure cost (a fifth of a cached load)
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_header(model, source, include_dirs, define_macros, undef_macros,
                            pkg_config, extra_args, only, exclude)
    finally:
        if collecting:
            gc.enable()


def _load_header(model, source, include_dirs, define_macros, undef_macros, pkg_config,
                 extra_args, only, exclude):
    if not isinstance(source, str):
        raise TypeError("cdef_header() source must be a str, not %s"
                        % type(source).__name__)
    options = tuple(tuple(option) if not isinstance(option, str) else (option,)
                    for option in (include_dirs, define_macros, undef_macros, pkg_config,
                                   extra_args))
    request = _Request(source, options)
    patterns = (_patterns_key(only), _patterns_key(exclude))
    with model._lock:
        # into an FFI that declared nothing yet, the outcome of selecting, filtering
        # and declaring is always the same: remembered (on disk too), it is one
        # model.declare(), with no parse result loaded
        if _is_fresh(model.registry):
            text_key = request.known_text_key()
            if text_key is not None:
                identity = repr((text_key, patterns))
                outcome = _recall(_outcomes, _file_key(identity), identity, ".outcome")
                if outcome is not None:
                    parse_skipped, declared, declare_skipped, marks = outcome
                    try:
                        model.declare(declared)
                        return declared, SkippedList(parse_skipped + declare_skipped,
                                                     _Positions(marks))
                    except (CDefError, FFIError):   # (not expected) the long way
                        _outcomes.pop(_file_key(identity), None)
    text_key, (decls, parse_skipped, marks) = _parsed_headers(request, _size_align(model))
    position = _Positions(marks)
    keep_match, drop_match = _matcher(only), _matcher(exclude)
    skipped = [(name, reason, line) for name, reason, line, _ in parse_skipped
               if (keep_match is None or keep_match(name))
               and (drop_match is None or not drop_match(name))]
    mark = len(skipped)

    def skip(decl, reason):
        skipped.append((decl.name.lstrip("$"), reason, decl.line))

    with model._lock:
        fresh = _is_fresh(model.registry)
        decls = _select(decls, only, exclude)
        decls = _prefilter(decls, model.registry, skip)
        decls = _declare(model, decls, skip, position)
        if fresh:
            identity = repr((text_key, patterns))
            _remember(_outcomes, _file_key(identity), identity, ".outcome",
                      (skipped[:mark], decls, skipped[mark:], marks))
    return decls, SkippedList(skipped, position)


def _patterns_key(patterns):
    return (patterns,) if patterns is None or isinstance(patterns, str) else tuple(patterns)


def _is_fresh(registry):
    return not (registry.functions or registry.variables or registry.constants
                or registry.struct_defs or registry.enum_defs or registry.constant_decls
                or set(registry.typedefs) != {"FILE"})


class SkippedList:
    """The skipped declarations of one cdef_header() call, made into
    SkippedDeclaration objects (with header positions) only when looked at."""

    def __init__(self, raw, position):
        self._raw = raw
        self._position = position

    def __iter__(self):
        position = self._position
        for name, reason, line in self._raw:
            yield SkippedDeclaration(name, reason, position(line))

    def __len__(self):
        return len(self._raw)
