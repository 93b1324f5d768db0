"""Fuzzing the whole declaration path: ``ffi.cdef()`` (parser, model, layout, the core
building ctypes) and type strings (``typeof``/``sizeof``/``new``/``cast``), of
``nffi.FFI`` and of the compat FFI of compiled modules (``nffi.compat.CompiledFFI``).

Rule (issue 5): every input ends in success, ``CDefError`` or ``ffi.error`` -- never a
crash, a hang or another exception, except exactly the class that cffi itself raises for
the same input and the same operation (cffi is the oracle: ``cffi.FFI`` for ``nffi.FFI``,
``_cffi_backend.FFI`` for the compat FFI).  Where cffi raises an internal error
(``AttributeError``, ``KeyError``, ``AssertionError``, ...) or cannot run the operation
it is no oracle, and only the first rule applies.

Also a differential property: generated valid cdefs that cffi accepts, nffi accepts, with
the same sizes, alignments, field offsets and enum values.

tools/fuzz_cdef.py runs the same checks under atheris (an offline tool).
"""
import os
import re
import warnings

import _cffi_backend
import cffi
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import nffi
from conftest import CDEF, CDEF_BASE, fuzz_examples
from nffi.compat import CompiledFFI
from nffi.errors import CDefError
from test_cparser import (C_ALPHABET, VALID_CDEFS, mutate, render_declaration,
                          time_limit, types)

# fuzzed enums without values warn (as cffi's do): expected here, not worth a report
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*has no values explicitly defined:UserWarning")

# exception classes that are always fine (ffi.error is the same class for every FFI)
ALLOWED = (CDefError, nffi.FFI.error)
# what cffi raises from inside itself when it is confused: not an oracle
CFFI_INTERNAL = ("AttributeError", "KeyError", "AssertionError", "IndexError",
                 "UnboundLocalError", "NameError", "RecursionError", "SystemError",
                 "NotImplementedError", "VerificationMissing", "VerificationError")
TIME_LIMIT = 10     # seconds per input: a hang fails
# nffi evaluates constant expressions that cffi does not ('int[0|~5]', see "Enum values
# and array lengths may be constant expressions" in docs/differences.md): where cffi
# says (first) it cannot, nffi's answer must be cffi's for the spelled-out value (second
# and third: class and message of nffi's exception)
EVALUATED = [("unsupported expression", "ValueError", "negative array length")]


class Finding(AssertionError):
    """An input that broke the rule."""


def check_position(error, text):
    """A CDefError's line and column, when given, point inside the text."""
    if not isinstance(error, CDefError):
        return
    lines = text.split("\n")
    if error.line is not None:
        if not 1 <= error.line <= len(lines):
            raise Finding("%r: line %r outside the text (%s)" % (text, error.line, error))
        if error.column is not None and not 1 <= error.column <= len(lines[error.line - 1]) + 1:
            raise Finding("%r: column %r outside line %d (%s)"
                          % (text, error.column, error.line, error))
    elif error.column is not None and error.column < 1:
        raise Finding("%r: column %r (%s)" % (text, error.column, error))


def _run(action, ffi):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            action(ffi)
        except Exception as e:      # noqa: BLE001 (judged by the caller)
            return e
    return None


def judge(what, text, action, nffi_ffi, *oracles, oracle_action=None, first_use=None):
    """Run action(nffi_ffi); an exception outside ALLOWED must be of the class that
    action(oracle) (or oracle_action(oracle)) raises for one of the oracles (None: no
    oracle).  Returns the exception nffi raised, or None.  first_use: (make a fresh
    oracle, the first use of the type there): cffi raises the error of an invalid
    struct at its first use only (later uses see an opaque struct), nffi at every use
    (its message names the cdef line)."""
    with time_limit(TIME_LIMIT):
        error = _run(action, nffi_ffi)
    if error is None:
        return None
    if isinstance(error, ALLOWED):
        check_position(error, text)
        return error
    oracles = [o for o in oracles if o is not None]
    if first_use is not None and "(cdef line" in str(error):
        fresh, first_action = first_use
        oracles, oracle_action = [o for o in [fresh()] if o is not None], first_action
    if isinstance(error, MemoryError) and what.startswith(("new", "ffi new", "compat new")):
        return error        # an allocation too large for this machine: cffi's class too
    if not oracles:
        raise Finding("%s %r: nffi raised %s(%s); cffi is no oracle here"
                      % (what, text, type(error).__name__, error)) from error
    name = type(error).__name__
    for oracle in oracles:
        expected = _run(oracle_action or action, oracle)
        if expected is not None and type(expected).__name__ == name:
            return error
        if expected is not None and any(
                theirs in str(expected) and name == ours_class and ours in str(error)
                for theirs, ours_class, ours in EVALUATED):
            return error
    if expected is None:
        answer = "succeeded"
    elif type(expected).__name__ in CFFI_INTERNAL:
        answer = "is no oracle (%s: %s)" % (type(expected).__name__, expected)
    else:
        answer = "%s(%s)" % (type(expected).__name__, expected)
    raise Finding("%s %r: nffi raised %s(%s), cffi %s"
                  % (what, text, name, error, answer)) from error


# ---- cdef() and every type it declared ---------------------------------------------------

ENUM_TAG = re.compile(r"\benum\s+([A-Za-z_]\w*)")


def declared_type_names(ffi, text):
    typedefs, structs, unions = ffi.list_types()
    names = list(typedefs) + ["struct " + s for s in structs] + ["union " + u for u in unions]
    names += ["enum " + tag for tag in sorted(set(ENUM_TAG.findall(text)))]
    return names


NEW_LIMIT = 1 << 20     # new() of larger types is not tried: the memory is zero-filled


def small(ffi, name):
    """False for a type whose new() would allocate more than NEW_LIMIT bytes."""
    try:
        return ffi.sizeof(name) <= NEW_LIMIT
    except Exception:       # noqa: BLE001 (unknown size: new() raises, that is tried)
        return True


def type_actions(name):
    """The operations tried on each declared type (and on type strings)."""
    def fields(f):
        t = f.typeof(name)
        if t.kind in ("struct", "union"):
            for field_name, field in t.fields or ():
                (field.type, field.offset, field.bitsize)
                if field_name and field.bitsize < 0 and t.kind == "struct":
                    f.offsetof(name, field_name)
    return [
        ("typeof", lambda f: f.typeof(name)),
        ("sizeof", lambda f: f.sizeof(name)),
        ("alignof", lambda f: f.alignof(name)),
        ("new *", lambda f: small(f, name) and f.new(name + " *")),
        ("new [2]", lambda f: small(f, name) and f.new(name + "[2]")),
        ("cast * 0", lambda f: f.cast(name + " *", 0)),
        ("fields", fields),
        ("getctype", lambda f: f.getctype(name)),
        ("getctype *x", lambda f: f.getctype(name, "*x")),
    ]


ATTRIBUTE = re.compile(r"\b(__attribute__|__attribute|__declspec)\s*\(")


def cffi_spelling(text):
    """The text as cffi can read it: C's other whitespace characters (carriage return,
    form feed, vertical tab) are spaces (pycparser refuses them outside comments), and
    without the attributes that nffi skips (cffi refuses every one; see
    docs/differences.md)."""
    text = re.sub(r"[\r\f\v]", " ", text)
    while True:
        match = ATTRIBUTE.search(text)
        if match is None:
            return text
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += (text[end] == "(") - (text[end] == ")")
            end += 1
        text = text[:match.start()] + " " + text[end:]


def partial_oracle(text, make_cffi):
    """A cffi FFI given, one by one, the top-level declarations of text that it
    accepts (None if it accepts none)."""
    oracle, accepted, depth, start = make_cffi(), 0, 0, 0
    for i, char in enumerate(text):
        depth += (char in "({[") - (char in ")}]")
        if char == ";" and depth <= 0:
            accepted += _run(lambda f: f.cdef(text[start:i + 1]), oracle) is None
            start, depth = i + 1, 0
    return oracle if accepted else None


def fuzz_cdef(text, make_cffi=cffi.FFI):
    """cdef(text) on a fresh nffi.FFI, then every operation on every declared type."""
    ours = nffi.FFI()
    oracle_text = cffi_spelling(text)
    if judge("cdef", text, lambda f: f.cdef(text), ours, make_cffi(),
             oracle_action=lambda f: f.cdef(oracle_text)) is not None:
        return
    def fresh_oracle():
        oracle = make_cffi()
        if _run(lambda f: f.cdef(oracle_text), oracle) is not None:
            # cffi refused the whole text: it is asked with the declarations it accepts
            oracle = partial_oracle(oracle_text, make_cffi)
        return oracle
    oracle = fresh_oracle()
    with time_limit(TIME_LIMIT):
        names = declared_type_names(ours, text)
    for name in names:
        for what, action in type_actions(name):
            judge("%s(%r) after cdef" % (what, name), text, action, ours, oracle,
                  first_use=(fresh_oracle, lambda f: f.typeof(name)))


# ---- type strings -------------------------------------------------------------------------

TYPE_PREAMBLE = ("typedef int foo_t; struct s { int a; char b; };"
                 " enum e { E0, E1 = 5 };")
_pairs = {}


def _prepared(kind, fresh=False):
    """The FFIs type strings are tried on, each with the oracle for it, made once (or
    afresh: a type string that defines an enum declares its constants in the FFI, and
    the oracle is not asked about every input, so their states would drift apart)."""
    if fresh or kind not in _pairs:
        if kind == "ffi":
            pair = (nffi.FFI(), cffi.FFI())
            for ffi in pair:
                for source in (CDEF_BASE, CDEF, TYPE_PREAMBLE):
                    ffi.cdef(source)
        else:
            # compat: the FFI of compiled modules, no cdef(); cffi's own as the oracle, and
            # cffi.FFI for the valid C spellings that the parser of cffi's compiled FFI
            # does not read (redundant parentheses: 'int((*))(int)')
            pair = (CompiledFFI(), _cffi_backend.FFI(), cffi.FFI())
        _pairs[kind] = pair
    return _pairs[kind]


STRING_ACTIONS = [
    ("typeof", lambda t: lambda f: f.typeof(t)),
    ("sizeof", lambda t: lambda f: f.sizeof(t)),
    ("alignof", lambda t: lambda f: f.alignof(t)),
    ("new", lambda t: lambda f: _small_item(f, t) and f.new(t)),
    ("cast 0", lambda t: lambda f: f.cast(t, 0)),
    ("getctype", lambda t: lambda f: f.getctype(t)),
]


def _small_item(ffi, text):
    try:
        t = ffi.typeof(text)
        if t.kind == "array" and t.length is not None:
            return small(ffi, t)
        return t.kind not in ("pointer", "array") or small(ffi, t.item)
    except Exception:       # noqa: BLE001 (new() raises too, that is tried)
        return True


def fuzz_type_string(text):
    for kind in ("ffi", "compat"):
        ours, *oracles = _prepared(kind, fresh="{" in text)
        # a spelling nffi reads and cffi does not ('double long', see differences.md):
        # cffi is asked about the same type in its own spelling
        oracle_text = cffi_spelling(text)
        try:
            with time_limit(TIME_LIMIT):
                canonical = ours.typeof(text).cname
        except Exception:       # noqa: BLE001 (judged below)
            pass
        else:
            if all(_run(lambda f: f.typeof(oracle_text), o) is not None for o in oracles) and \
                    any(_run(lambda f: f.typeof(canonical), o) is None for o in oracles):
                oracle_text = canonical
        for what, make in STRING_ACTIONS:
            judge("%s %s" % (kind, what), text, make(text), ours, *oracles,
                  oracle_action=make(oracle_text))


# ---- generators -----------------------------------------------------------------------------

def _corpus():
    sources = list(VALID_CDEFS) + [CDEF_BASE, CDEF, TYPE_PREAMBLE]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "test_cdata_differential.py"), encoding="utf-8") as f:
        text = f.read()
    # the cdef sources of CDEF_CASES and BITFIELD_CDEF_CASES: pytest.param(["..."]
    sources += [eval(m) for m in re.findall(r'pytest\.param\(\[\(?("(?:[^"\\]|\\.)*")', text)]
    return sources


CORPUS = _corpus()
TYPE_CORPUS = [
    "int", "unsigned long long", "char *", "int[10]", "int[]", "point_t *", "struct pt3[2]",
    "int(*)(int, ...)", "void(*)(void)", "struct { int a; } *", "union { int i; char c; }",
    "enum { Q1, Q2 = 3 }", "enum color *", "node_t *", "arr5_t", "binop_t[3]",
    "int (*(*)(int))[4]", "const char * const *", "struct opaque_s *", "foo_t **",
    "double _Complex", "float _Complex *", "_Bool[3]", "wchar_t *", "char32_t[2]",
    "long double", "size_t", "int8_t *", "void *", "struct s", "union u[2]", "enum e",
]


MUTATION_TOKENS = [
    "int", "char", "void", "long", "unsigned", "double", "float", "_Bool", "struct", "union",
    "enum", "typedef", "const", "*", "[", "]", "(", ")", "{", "}", ";", ",", ":", "...",
    "0", "1", "-1", "3", "64", "0x7fffffff", "4294967296", "point_t", "foo_t", "s", "u",
    "e", "x", "__int128", "__attribute__((packed))", "__stdcall", "static const int",
    "int[2]", "void (*)(void)", "struct pt3", "struct s", "volatile", "=", "<<", "|", "~",
]


@st.composite
def mutated_cdefs(draw):
    return mutate(draw, draw(st.sampled_from(CORPUS)), st.sampled_from(MUTATION_TOKENS))


@st.composite
def mutated_type_strings(draw):
    return mutate(draw, draw(st.sampled_from(TYPE_CORPUS)), st.sampled_from(MUTATION_TOKENS))


@st.composite
def generated_type_strings(draw):
    node = draw(types(with_partial=draw(st.booleans())))
    return render_declaration(node, "").strip()


FUZZ = settings(max_examples=fuzz_examples(300), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(mutated_cdefs())
def test_mutated_cdefs(text):
    fuzz_cdef(text)


@FUZZ
@given(st.lists(C_ALPHABET, max_size=60).map("".join))
def test_random_c_like_cdefs(text):
    fuzz_cdef(text)


@FUZZ
@given(mutated_type_strings())
@example("int[-110101010101010101010]")     # below Py_ssize_t: OverflowError, as cffi
def test_mutated_type_strings(text):
    fuzz_type_string(text)


@FUZZ
@given(generated_type_strings())
def test_generated_type_strings(text):
    fuzz_type_string(text)


@settings(FUZZ, max_examples=fuzz_examples(50))
@given(st.text(max_size=40))
def test_random_text_type_strings(text):
    fuzz_type_string(text)


# ---- differential property: valid cdefs, same layouts as cffi --------------------------------

PRIMITIVES = ["char", "signed char", "unsigned char", "short", "unsigned short", "int",
              "unsigned int", "long", "unsigned long", "long long", "unsigned long long",
              "float", "double", "_Bool", "int8_t", "uint16_t", "int32_t", "uint64_t",
              "size_t", "wchar_t", "char16_t", "char32_t", "void *", "char *"]
INT_BITS = {"char": 8, "signed char": 8, "unsigned char": 8, "short": 16,
            "unsigned short": 16, "int": 32, "unsigned int": 32, "long long": 64,
            "unsigned long long": 64}


@st.composite
def valid_programs(draw):
    """(source, struct/union names, typedef names, enum tags): a random valid cdef whose
    declarations only use what was declared before them (or pointers to themselves)."""
    complete = list(PRIMITIVES)      # type spellings usable by value
    decls, aggregates, typedefs, enums = [], [], [], []
    counter = iter(range(1000))

    def field_type(draw, self_tag):
        kind = draw(st.sampled_from(["plain", "plain", "array", "pointer", "fnptr",
                                     "bitfield", "anonymous"]))
        base = draw(st.sampled_from(complete))
        name = "f%d" % next(counter)
        if kind == "plain":
            return "%s %s;" % (base, name)
        if kind == "array":
            dims = "".join("[%d]" % draw(st.integers(1, 4))
                           for _ in range(draw(st.integers(1, 2))))
            return "%s %s%s;" % (base, name, dims)
        if kind == "pointer":
            target = draw(st.sampled_from(complete + [self_tag]))
            return "%s *%s;" % (target, name)
        if kind == "fnptr":
            arg = draw(st.sampled_from(complete))
            return "int (*%s)(%s, %s *);" % (name, arg, self_tag)
        if kind == "bitfield":
            int_type = draw(st.sampled_from(sorted(INT_BITS)))
            return "%s %s:%d;" % (int_type, name, draw(st.integers(1, INT_BITS[int_type])))
        inner = draw(st.sampled_from(["struct", "union"]))
        return "%s { int a%d; %s b%d; };" % (inner, next(counter), base, next(counter))

    for _ in range(draw(st.integers(1, 6))):
        what = draw(st.sampled_from(["struct", "union", "struct", "enum", "typedef"]))
        n = next(counter)
        if what in ("struct", "union"):
            tag = "%s t%d" % (what, n)
            fields = " ".join(field_type(draw, tag) for _ in range(draw(st.integers(1, 5))))
            if draw(st.booleans()):
                decls.append("%s { %s };" % (tag, fields))
                aggregates.append(tag)
                complete.append(tag)
            else:       # typedef of an anonymous one: cffi names it after the typedef
                decls.append("typedef %s { %s } T%d;" % (what, fields, n))
                typedefs.append("T%d" % n)
                complete.append("T%d" % n)
        elif what == "enum":
            values, text = [], []
            for i in range(draw(st.integers(1, 4))):
                if draw(st.booleans()):
                    value = draw(st.integers(-2**31, 2**32 - 1))
                    text.append("E%d_%d = %d" % (n, i, value))
                else:
                    text.append("E%d_%d" % (n, i))
            decls.append("enum e%d { %s };" % (n, ", ".join(text)))
            enums.append("e%d" % n)
            complete.append("enum e%d" % n)
        else:
            base = draw(st.sampled_from(complete))
            shape = draw(st.sampled_from(["", " *", "[3]", "(*)(int)"]))
            name = "T%d" % n
            if shape == "(*)(int)":
                decls.append("typedef %s (*%s)(int);" % (base, name))
            else:
                decls.append("typedef %s%s %s%s;" % (base, " *" if shape == " *" else "",
                                                    name, shape if shape == "[3]" else ""))
            typedefs.append(name)
            complete.append(name)
    return "\n".join(decls), aggregates, typedefs, enums


def layout_facts(ffi, aggregates, typedefs, enums):
    facts = []
    for name in aggregates + typedefs:
        t = ffi.typeof(name)
        facts.append((name, ffi.sizeof(t), ffi.alignof(t)))
        if t.kind in ("struct", "union"):
            facts.append([(n, f.offset, f.bitshift, f.bitsize) for n, f in t.fields])
    for tag in enums:
        facts.append((tag, ffi.sizeof("enum " + tag),
                      sorted(ffi.typeof("enum " + tag).elements.items())))
    return facts


@settings(max_examples=fuzz_examples(120), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(valid_programs())
def test_valid_cdefs_agree_with_cffi(program):
    source, aggregates, typedefs, enums = program
    oracle = cffi.FFI()
    try:
        oracle.cdef(source)
        expected = layout_facts(oracle, aggregates, typedefs, enums)
    except Exception:       # noqa: BLE001 (cffi refuses it: not a valid program for cffi)
        assume(False)
    ours = nffi.FFI()
    with time_limit(TIME_LIMIT):
        ours.cdef(source)
        assert layout_facts(ours, aggregates, typedefs, enums) == expected, source


# ---- regressions found by the fuzzers --------------------------------------------------------

def test_judge_catches_an_unexpected_exception_class():
    """The checker itself can fail: a KeyError out of nffi is a finding."""
    def bad(ffi):
        if isinstance(ffi, nffi.FFI):
            raise KeyError("x")
        raise CDefError("x")
    with pytest.raises(Finding):
        judge("op", "x", bad, nffi.FFI(), cffi.FFI())
    with pytest.raises(Finding):
        check_position(CDefError("m", 3, 1), "one line")


# inputs the fuzzers found (hypothesis and tools/fuzz_cdef.py), each checked by the rule
FOUND_CDEFS = [
    # OverflowError out of cdef(): an array length too large for ssize_t (atheris)
    "static const int N = 111111111111111111111111111111111111111111111111111114; "
    "struct s { int a[N]; };",
    "typedef int T[4611686018427387904];",
    # OverflowError out of the core when a struct larger than ssize_t was completed
    "struct a { int x; }; struct q { char a[9223372036854775807]; int b; };",
    # a cdef using '\r' as whitespace (pycparser refuses it: cffi spells it with spaces)
    "union\ropaque;",
    "typedef int T; typedef long T;",
    "struct s { int x; }; struct s { int x; };",
    "struct a { int x; }; struct b { struct a arr[2]; };",
    # cffi refuses the second line: asked about the first alone
    "typedef  int (__stdcall cb_t)(int, ...);int \nextern cb_t [4];",
    # nffi accepted a variable named like a typedef declared before it (C and cffi: no)
    "typedef int T; typedef int T; typedef long T;long T;", "typedef int f;\nint f(int);",
    # FFIError; cffi: the last #define of a cdef counts (atheris)
    "#define N 10\n#define N 6",
]
FOUND_TYPE_STRINGS = [
    "int(((*)))(int, ...)",         # cffi's compiled-module parser: no extra parentheses
    "double long", "struct  pt3[2]", "struct s", "int ()\r[4]", "int\r[4]\r[]",
    "int[0\r|00|~5]",               # cffi: 'unsupported expression'
    "int (wchar_t(__attribute__(intc#ed)))[5]",
    "enum { A = 1 << 4,  B = A | 1 }",
]


@pytest.mark.parametrize("text", FOUND_CDEFS)
def test_found_cdefs(text):
    fuzz_cdef(text)


@pytest.mark.parametrize("text", FOUND_TYPE_STRINGS)
def test_found_type_strings(text):
    fuzz_type_string(text)


def test_too_large_is_a_cdef_error_and_changes_nothing():
    ffi = nffi.FFI()
    ffi.cdef("struct a;")
    for source, column in [("struct a { int x; }; struct q { char a[9223372036854775807]; "
                            "int b; };", 29),
                           ("struct a { int x; }; typedef int T[4611686018427387904];", 34),
                           ("struct a { int x; }; struct q { int a[99999999999999999999]; };",
                            37)]:
        with pytest.raises(CDefError) as info:
            ffi.cdef(source)
        assert (info.value.line, info.value.column) == (1, column), info.value
        assert ffi.typeof("struct a").fields is None     # the transaction was undone
    ffi.cdef("struct a { long x; };")
    assert ffi.sizeof("struct a") == ffi.sizeof("long")


def test_arrays_of_a_struct_of_the_same_cdef():
    ffi = nffi.FFI()
    ffi.cdef("""
        struct a { short x; };
        struct b { struct a m[2][3]; struct a (*p)[2]; int (*f)(struct a (*)[4]); };
        typedef struct a A2[2];
        void g(A2 *, struct a[3]);
        struct c { A2 x; struct b y[2]; };
        typedef struct { char c; } S; typedef S SA[3];
    """)
    assert ffi.typeof("struct b").fields[0][1].type is ffi.typeof("struct a[2][3]")
    assert ffi.typeof("struct b").fields[1][1].type is ffi.typeof("struct a(*)[2]")
    assert ffi.typeof("struct b").fields[2][1].type is ffi.typeof("int(*)(struct a(*)[4])")
    assert ffi.typeof("struct c").fields[0][1].type is ffi.typeof("struct a[2]")
    assert ffi.sizeof("struct c") == ffi.offsetof("struct c", "y") + 2 * ffi.sizeof("struct b")
    assert ffi.offsetof("struct c", "y") == ffi.alignof("struct b") == ffi.alignof("void *")
    assert ffi.sizeof("SA") == 3
    # a failing cdef leaves a forward-declared struct opaque, its arrays unmade
    ffi.cdef("struct later;")
    with pytest.raises(CDefError):
        ffi.cdef("struct later { int x; }; struct d { struct later l[2]; }; "
                 "int h(unknown_t);")
    assert ffi.typeof("struct later").fields is None
    assert "d" not in ffi.list_types()[1]
    ffi.cdef("struct later { long x; }; struct d { struct later l[2]; };")
    assert ffi.sizeof("struct d") == 2 * ffi.sizeof("long")


def test_compat_type_strings_name_only_declared_structs():
    ffi = CompiledFFI()
    for text, column in [("struct foo *", 8), ("union u[2]", 7), ("enum e", 6),
                         ("int(*)(struct  bar)", 16)]:
        with pytest.raises(ffi.error) as info:
            ffi.typeof(text)
        assert info.value.args[0].split("\n")[2] == " " * (column - 1) + "^", info.value
    assert ffi.typeof("FILE *").cname == "FILE *"


@pytest.mark.parametrize("ctype", ["float", "double", "long double", "double _Complex"])
def test_bitfield_of_a_floating_type_is_refused(ctype):
    ffi = nffi.FFI()
    ffi.cdef("struct s { %s x:1; };" % ctype)        # as cffi: refused when used
    with pytest.raises(TypeError) as info:
        ffi.new("struct s *")
    assert "field 'struct s.x' declared as '%s' cannot be a bit field (cdef line 1, " \
        "column %d)" % (ctype, 13 + len(ctype)) == str(info.value)


def test_a_typedef_name_is_not_redeclared_as_a_variable_or_function():
    ffi = nffi.FFI()
    ffi.cdef("int v; int g(int); typedef int v; typedef long g;")   # the other order is C
    ffi.cdef("typedef int T;")
    for source, column in [("long T;", 6), ("int T(int);", 5), ("static const int T = 1;", 18)]:
        with pytest.raises(CDefError, match="'T' is already declared as a typedef") as info:
            ffi.cdef(source)
        assert (info.value.line, info.value.column) == (1, column)
    ffi.cdef("#define T 1")             # a macro is no declaration (as in cffi)


def test_a_macro_redefined_in_the_same_cdef_takes_the_last_value():
    ffi = nffi.FFI()
    ffi.cdef("#define N 10\n#define N 6\nextern int a[N];")
    assert ffi.integer_const("N") == 6
    with pytest.raises(nffi.FFIError, match="line 1, column 9"):
        ffi.cdef("#define N 7")             # in another cdef: as cffi, a conflict
    for source in ["static const int M = 1;\n#define M 6", "#define M 6\nenum e { M = 2 };"]:
        with pytest.raises(nffi.FFIError, match="line 2"):
            nffi.FFI().cdef(source)
