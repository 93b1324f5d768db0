"""Ask the system C compiler what it thinks: a test helper shared by nffi's test files.

``run_c(source)`` compiles a complete C program with ``cc`` (gcc), runs it and returns
its stdout.  Binaries are cached under a per-user temporary directory, keyed by a hash of
the source, the compiler and the flags, so a second test run does not recompile.

``c_values(declarations, expressions)`` evaluates many integer C expressions in ONE
compiled program (a compilation costs ~50 ms, a run ~1 ms), e.g.::

    c_values("struct s { char a; int b; };",
             ["sizeof(struct s)", "_Alignof(struct s)", "offsetof(struct s, b)"])

Bit-fields have no address, so ``offsetof`` cannot locate them.  The expressions
``bitfield_pos("struct s", "f")`` and ``bitfield_width("struct s", "f")`` build C
expressions that set the member to all ones in a zeroed object and inspect its bytes;
they give the position of the lowest bit counted from the start of the object (byte
``i`` bit ``j`` is bit ``8*i + j``, the little-endian numbering) and the number of bits
set.  Both are -1 if the bits set are not contiguous.  ``f`` may be a member path such
as ``"inner.f"``.

Test files import it as ``import cc``: tests/ has no ``__init__.py``, so pytest's default
("prepend") import mode puts tests/ itself on ``sys.path``.  tests/test_layout.py also
inserts that directory explicitly, so it works under other import modes too.  (``from
tests.cc import ...`` works as well under ``python -m pytest`` from the repository root,
but mixing both spellings loads two copies of the module: pick ``import cc``.)
"""
import hashlib
import os
import shutil
import subprocess
import tempfile

CC = os.environ.get("CC", "cc")
DEFAULT_FLAGS = ("-std=gnu11", "-O0", "-w")

# Helpers prepended to every c_values() program.  NFFI_BITS sets member `f` of a zeroed
# T to all ones (-1 converts to all ones for every integer type; for _Bool it gives 1)
# and scans the bytes.
_PRELUDE = r"""
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>

static long long nffi_scan_bits(const unsigned char *bytes, size_t n, int want_width)
{
    long long first = -1, last = -1, count = 0;
    for (size_t i = 0; i < 8 * n; i++) {
        if (bytes[i / 8] >> (i % 8) & 1) {
            if (first < 0)
                first = (long long)i;
            last = (long long)i;
            count++;
        }
    }
    if (count == 0 || last - first + 1 != count)
        return -1;
    return want_width ? count : first;
}

#define NFFI_BITS(T, f, want_width) ({                                     \
    union { T object; unsigned char bytes[sizeof(T)]; } nffi_u;            \
    memset(&nffi_u, 0, sizeof nffi_u);                                     \
    nffi_u.object.f = -1;                                                  \
    nffi_scan_bits(nffi_u.bytes, sizeof(T), want_width); })
"""


class CompileError(RuntimeError):
    """The C compiler rejected the source; the message holds its diagnostics."""


def cache_dir():
    """The per-user directory that holds the cached binaries."""
    path = os.path.join(tempfile.gettempdir(), "nffi-cc-cache-%d" % os.getuid())
    os.makedirs(path, exist_ok=True)
    return path


def compile_c(source, flags=DEFAULT_FLAGS):
    """Compile a complete C program; return the path of the (cached) executable."""
    key = hashlib.sha256("\0".join([CC, *flags, source]).encode()).hexdigest()[:32]
    binary = os.path.join(cache_dir(), key)
    if os.path.exists(binary):
        return binary
    workdir = tempfile.mkdtemp(dir=cache_dir())
    try:
        c_file = os.path.join(workdir, "prog.c")
        with open(c_file, "w") as f:
            f.write(source)
        built = os.path.join(workdir, "prog")
        result = subprocess.run([CC, *flags, c_file, "-o", built],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise CompileError("%s failed:\n%s\n--- source ---\n%s"
                               % (CC, result.stderr, _numbered(source)))
        os.replace(built, binary)     # atomic: parallel runs never see half a binary
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return binary


def run_c(source, flags=DEFAULT_FLAGS):
    """Compile (or reuse) and run a C program; return its stdout."""
    binary = compile_c(source, flags)
    result = subprocess.run([binary], capture_output=True, text=True, check=True)
    return result.stdout


def c_values(declarations, expressions, flags=DEFAULT_FLAGS):
    """Evaluate integer C `expressions` after `declarations`, all in one program."""
    lines = ['    printf("%%lld\\n", (long long)(%s));' % expr for expr in expressions]
    source = "%s\n%s\n\nint main(void)\n{\n%s\n    return 0;\n}\n" % (
        _PRELUDE, declarations, "\n".join(lines))
    output = run_c(source, flags).split()
    assert len(output) == len(expressions), output
    return [int(value) for value in output]


def c_value_map(declarations, expressions, flags=DEFAULT_FLAGS):
    """Like c_values, but return a dict from each expression to its value."""
    return dict(zip(expressions, c_values(declarations, expressions, flags)))


def bitfield_pos(type_name, member):
    """A C expression: the first bit of bit-field `member` of `type_name` (or -1)."""
    return "NFFI_BITS(%s, %s, 0)" % (type_name, member)


def bitfield_width(type_name, member):
    """A C expression: the number of bits of bit-field `member` of `type_name` (or -1)."""
    return "NFFI_BITS(%s, %s, 1)" % (type_name, member)


def _numbered(source):
    return "\n".join("%4d  %s" % (i, line)
                     for i, line in enumerate(source.splitlines(), 1))
