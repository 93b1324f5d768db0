"""The integer constant expressions of real headers are evaluated as C does (issue 18):
every value has an integer type, operands go through the usual arithmetic conversions
and results wrap to their type ('-1U' is UINT_MAX).  Checked against the C compiler:
random expressions become macros of a header, and a generated C program prints what
gcc makes of each (compiled with -fwrapv, so that signed overflow wraps there as it
does in nffi's evaluation, as gcc folds it)."""
import os
import shutil
import subprocess
import sysconfig
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from nffi import FFI
from conftest import fuzz_examples

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="needs the C compiler (Debian package: gcc)")

_MAX_ULLONG = (1 << 64) - 1
_SUFFIXES = ["", "u", "U", "l", "L", "ul", "UL", "lu", "LU", "ll", "LL", "ull", "ULL",
             "llu", "LLU", "uLL"]
_CASTS = ["char", "signed char", "unsigned char", "short", "unsigned short", "int",
          "unsigned", "long", "unsigned long", "long long", "unsigned long long", "_Bool",
          "size_t", "int64_t", "uint32_t"]
_BINARY = ["+", "-", "*", "/", "%", "<<", ">>", "<", ">", "<=", ">=", "==", "!=", "&",
           "^", "|", "&&", "||"]
_INTERESTING = [0, 1, 2, 7, 31, 32, 63, 64, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff,
                0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
                0x8000000000000000, _MAX_ULLONG]


@st.composite
def _literal(draw):
    value = draw(st.one_of(st.sampled_from(_INTERESTING),
                           st.integers(0, _MAX_ULLONG), st.integers(0, 300)))
    base = draw(st.sampled_from(["dec", "hex", "oct"]))
    suffix = draw(st.sampled_from(_SUFFIXES))
    if base == "dec" and "u" not in suffix.lower() and value > (1 << 63) - 1:
        suffix += "u"           # (else gcc types it __int128: 'so large it is unsigned')
    text = {"dec": "%d", "hex": "0x%x", "oct": "0%o"}[base] % value
    return text + suffix


_CHARS = st.sampled_from(["'a'", "'\\xff'", "'\\0'", "'\\x80'", "'\\177'", "'\\n'"])


def _expressions():
    leaves = st.one_of(_literal(), _CHARS)

    def extend(inner):
        return st.one_of(
            st.builds(lambda op, e: "%s(%s)" % (op, e), st.sampled_from("-~!+"), inner),
            st.builds(lambda t, e: "((%s)(%s))" % (t, e), st.sampled_from(_CASTS), inner),
            st.builds(lambda a, op, b: "(%s %s %s)" % (a, op, b), inner,
                      st.sampled_from(_BINARY), inner),
            st.builds(lambda c, a, b: "(%s ? %s : %s)" % (c, a, b), inner, inner, inner))
    return st.recursive(leaves, extend, max_leaves=6)


def _gcc_values(header, names):
    """What the compiler makes of each macro: its value (as an integer)."""
    show = ('#define SHOW(e) do { if ((__typeof__(e))-1 < 0) printf("%lld\\n", '
            '(long long)(e)); else printf("%llu\\n", (unsigned long long)(e)); } '
            'while (0)\n')
    program = (header + "#include <stdio.h>\n" + show + "int main(void) {\n"
               + "".join("    SHOW(%s);\n" % name for name in names) + "    return 0;\n}\n")
    with tempfile.TemporaryDirectory() as directory:
        source = os.path.join(directory, "constants.c")
        exe = os.path.join(directory, "constants")
        with open(source, "w") as f:
            f.write(program)
        cc = (sysconfig.get_config_var("CC") or "cc").split()
        subprocess.run(cc + ["-w", "-fwrapv", source, "-o", exe], check=True)
        output = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    return [int(line) for line in output.split()]


def _check(expressions):
    lines = ["#include <stddef.h>\n#include <stdint.h>\n"]
    names = []
    for i, expression in enumerate(expressions):
        # the value, and two probes of its type: all ones when converted (width and
        # signedness), and INT_MAX + 1 in it (int wraps, wider types do not)
        for j, probe in enumerate(["%s", "((%s) * 0 - 1)", "((%s) * 0 + 0x7fffffff + 1)"]):
            names.append("E%d_%d" % (i, j))
            lines.append("#define %s %s\n" % (names[-1], probe % expression))
    header = "".join(lines)
    ffi = FFI()
    ffi.cdef_header(header, only=["E*"])
    skipped = {s.name: s.reason for s in ffi.skipped_declarations()}
    refused = [name for name in names if name in skipped]
    # nffi refuses (skips) what C leaves undefined: a shift by the width or more, or a
    # negative amount, a division by zero
    assert all("shift count" in skipped[name] or "division by zero" in skipped[name]
               for name in refused), skipped
    kept = [name for name in names if name not in skipped]
    lib = ffi.dlopen(None)
    ours = [getattr(lib, name) for name in kept]
    theirs = _gcc_values(header, kept)
    wrong = [(name, header.split("#define %s " % name)[1].split("\n")[0], a, b)
             for name, a, b in zip(kept, ours, theirs) if a != b]
    assert wrong == []


def test_known_expressions_match_the_compiler():
    _check(["(-1U)", "(-1 < 1U)", "(-1L < 1U)", "(-1LL < 1UL)", "(0x7fffffff + 1)",
            "0xffffffff", "(-0x80000000)", "(1 ? -1 : 0U)", "'\\xff'", "(1ULL << 63)",
            "(-1 / 2U)", "((unsigned char)300)", "((_Bool)2)", "(~0U >> 1)",
            "(sizeof(int) - 5)", "((size_t)-1)", "(-(unsigned short)1)", "(1 << 31)",
            "(0 && (1 / 0))", "(4294967295 + 1)", "(-2147483648)", "(0x8000000000000000 > 0)"])


@settings(max_examples=fuzz_examples(25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_expressions(), min_size=1, max_size=25))
def test_random_expressions_match_the_compiler(expressions):
    _check(expressions)
