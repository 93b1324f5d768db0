"""Tests of nffi.cparser, the C declaration parser.

cffi and pycparser serve as oracles only (is this spelling the same type for cffi? does
pycparser read the same tree?); the parser itself never uses them.
"""
import contextlib
import itertools
import os
import random
import re
import signal
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "src"))

from nffi import cparser  # noqa: E402
from nffi.cparser import PRIMITIVE_NAMES, parse_cdef, parse_type  # noqa: E402
from nffi.decls import (Array, ConstantDecl, EnumDef, Field, Function,  # noqa: E402
                        FunctionDecl, Named, Opaque, Pointer, Primitive, StructDef, Tagged,
                        Typedef, UnknownPrimitive, VariableDecl, Void)
from nffi.errors import CDefError  # noqa: E402

from conftest import fuzz_examples  # noqa: E402

try:
    import pycparser
    from pycparser import c_ast
except ImportError:     # the oracle tests are skipped without it
    pycparser = None

try:
    import cffi
except ImportError:
    cffi = None


INT = Primitive("int")
CHAR = Primitive("char")
LONG = Primitive("long")


def cdef(source, typedef_names=(), constants=None):
    return parse_cdef(source, set(typedef_names), dict(constants or {}))


def only(source, typedef_names=(), constants=None):
    declarations = cdef(source, typedef_names, constants)
    assert len(declarations) == 1, declarations
    return declarations[0]


def cdef_error(source, typedef_names=(), constants=None):
    with pytest.raises(CDefError) as info:
        cdef(source, typedef_names, constants)
    return info.value


def type_error(text, typedef_names=()):
    with pytest.raises(CDefError) as info:
        parse_type(text, set(typedef_names))
    return info.value


def fn(args, result, ellipsis=False, abi=None):
    return Function(tuple(args), result, ellipsis, abi)


def define_value(expression, constants=None):
    """The value the parser gives to '#define X <expression>'."""
    [declaration] = cdef("#define X %s\n" % expression, constants=constants)
    return declaration.value


def strip_positions(node):
    """Declarations compare without their line/column (tested separately)."""
    if isinstance(node, (list, tuple)):
        return type(node)(strip_positions(item) for item in node)
    if isinstance(node, StructDef):
        fields = node.fields and tuple(
            Field(f.name, f.type, f.bitsize) for f in node.fields)
        return StructDef(node.kind, node.name, fields, node.partial)
    if isinstance(node, EnumDef):
        return EnumDef(node.name, node.enumerators, node.partial)
    if isinstance(node, Typedef):
        return Typedef(node.name, node.type)
    if isinstance(node, FunctionDecl):
        return FunctionDecl(node.name, node.type)
    if isinstance(node, VariableDecl):
        return VariableDecl(node.name, node.type)
    if isinstance(node, ConstantDecl):
        return ConstantDecl(node.name, node.value, node.type)
    return node


def bare(source, typedef_names=(), constants=None):
    return strip_positions(cdef(source, typedef_names, constants))


@contextlib.contextmanager
def time_limit(seconds):
    """Fail instead of hanging forever (the hypothesis deadline only fires after the
    call returns)."""
    def on_alarm(signum, frame):
        raise AssertionError("parser did not finish within %s s" % seconds)
    if threading.current_thread() is not threading.main_thread():
        yield                       # signals only reach the main thread
        return
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- primitive types and their spellings ------------------------------------------------

SPELLINGS = [
    ("char", "char"), ("signed char", "signed char"), ("unsigned char", "unsigned char"),
    ("short", "short"), ("short int", "short"), ("signed short", "short"),
    ("signed short int", "short"), ("unsigned short", "unsigned short"),
    ("unsigned short int", "unsigned short"),
    ("int", "int"), ("signed", "int"), ("signed int", "int"),
    ("unsigned", "unsigned int"), ("unsigned int", "unsigned int"),
    ("long", "long"), ("long int", "long"), ("signed long", "long"),
    ("signed long int", "long"), ("unsigned long", "unsigned long"),
    ("unsigned long int", "unsigned long"), ("long unsigned int", "unsigned long"),
    ("long long", "long long"), ("long long int", "long long"),
    ("signed long long", "long long"), ("signed long long int", "long long"),
    ("unsigned long long", "unsigned long long"),
    ("unsigned long long int", "unsigned long long"),
    ("float", "float"), ("double", "double"), ("long double", "long double"),
    ("float _Complex", "float _Complex"), ("_Complex float", "float _Complex"),
    ("double _Complex", "double _Complex"), ("_Complex double", "double _Complex"),
    ("_Bool", "_Bool"), ("bool", "_Bool"),
    ("wchar_t", "wchar_t"), ("char16_t", "char16_t"), ("char32_t", "char32_t"),
    ("int8_t", "int8_t"), ("uint64_t", "uint64_t"), ("int_least16_t", "int_least16_t"),
    ("uint_least64_t", "uint_least64_t"), ("int_fast8_t", "int_fast8_t"),
    ("uint_fast32_t", "uint_fast32_t"), ("intptr_t", "intptr_t"),
    ("uintptr_t", "uintptr_t"), ("intmax_t", "intmax_t"), ("uintmax_t", "uintmax_t"),
    ("ptrdiff_t", "ptrdiff_t"), ("size_t", "size_t"), ("ssize_t", "ssize_t"),
]

EXPECTED_PRIMITIVE_NAMES = {
    "char", "signed char", "unsigned char", "short", "unsigned short", "int",
    "unsigned int", "long", "unsigned long", "long long", "unsigned long long", "float",
    "double", "long double", "float _Complex", "double _Complex", "_Bool", "wchar_t",
    "char16_t", "char32_t", "intptr_t", "uintptr_t", "intmax_t", "uintmax_t",
    "ptrdiff_t", "size_t", "ssize_t",
} | {"%s%s%d_t" % (sign, kind, width) for sign in ("int", "uint")
     for kind in ("", "_least", "_fast") for width in (8, 16, 32, 64)}


def test_primitive_names_are_exactly_the_canonical_names():
    assert PRIMITIVE_NAMES == EXPECTED_PRIMITIVE_NAMES
    assert isinstance(PRIMITIVE_NAMES, frozenset)


@pytest.mark.parametrize("spelling, canonical", SPELLINGS)
def test_every_order_of_a_spelling_gives_the_canonical_name(spelling, canonical):
    for words in set(itertools.permutations(spelling.split())):
        assert parse_type(" ".join(words), ()) == Primitive(canonical)


@pytest.mark.parametrize("spelling, canonical", SPELLINGS)
def test_spellings_in_declarations_with_qualifiers(spelling, canonical):
    words = spelling.split()
    text = "const %s volatile x;" % " ".join(words)
    assert bare(text) == [ConstantDecl("x", None, Primitive(canonical))]
    assert bare("extern %s y;" % spelling) == [VariableDecl("y", Primitive(canonical))]


@pytest.mark.skipif(cffi is None, reason="cffi not installed")
@pytest.mark.parametrize("spelling, canonical", [
    (s, c) for s, c in SPELLINGS if "_Complex" not in s and "bool" not in s.lower()])
def test_canonical_names_agree_with_cffi(spelling, canonical):
    assert cffi.FFI().typeof(spelling).cname == canonical


def test_every_primitive_name_parses_to_itself():
    for name in PRIMITIVE_NAMES:
        assert parse_type(name, ()) == Primitive(name)


def test_void():
    assert parse_type("void", ()) == Void()
    assert parse_type("void *", ()) == Pointer(Void())
    assert bare("typedef void v_t;") == [Typedef("v_t", Void())]


@pytest.mark.parametrize("spelling, bad_word", [
    ("unsigned float", "float"), ("long char", "char"), ("short long", "long"),
    ("signed unsigned", "unsigned"), ("long long long", "long"), ("short short", "short"),
    ("int int", "int"), ("char int", "int"), ("unsigned double", "double"),
    ("long float", "float"), ("_Complex int", "int"), ("size_t int", "int"),
    ("int8_t long", "long"), ("void int", "int"), ("unsigned void", "void"),
    ("bool int", "int"), ("long _Bool", "_Bool"), ("float double", "double"),
    ("short double", "double"), ("long long double", "double"),
    ("signed _Bool", "_Bool"), ("wchar_t unsigned", "unsigned"), ("char char", "char"),
    ("long double _Complex", "_Complex"), ("unsigned signed char", "signed"),
])
def test_invalid_combinations_point_at_the_bad_word(spelling, bad_word):
    error = type_error(spelling)
    assert error.text == bad_word
    assert error.column == spelling.rindex(bad_word) + 1
    assert error.line == 1
    error = cdef_error("\n  %s x;" % spelling)
    assert (error.line, error.column) == (2, 3 + spelling.rindex(bad_word))


def test_incomplete_specifier():
    error = type_error("_Complex")
    assert "incomplete" in str(error)
    assert (error.line, error.column) == (1, 1)


def test_typedef_name_cannot_combine_with_type_words():
    assert "cannot combine" in str(cdef_error("foo_t long x;", {"foo_t"}))
    assert "cannot combine" in str(cdef_error("int struct s x;"))
    # after a type, foo_t is the declared name, which a type string may give (as in cffi)
    assert parse_type("unsigned foo_t", {"foo_t"}) == Primitive("unsigned int")
    assert type_error("unsigned foo_t x", {"foo_t"}).text == "x"


# Primitive names that are no C keywords, as cffi lets a cdef typedef them.
PREDEFINED_TYPE_NAMES = sorted(name for name in PRIMITIVE_NAMES if " " not in name
                               and name not in ("char", "short", "int", "long", "float",
                                                "double", "_Bool"))


def test_predefined_type_names_are_the_non_keyword_primitive_names():
    assert "bool" in cparser._PREDEFINED_TYPE_NAMES
    assert cparser._PREDEFINED_TYPE_NAMES == set(PREDEFINED_TYPE_NAMES) | {"bool"}
    for keyword in ("int", "unsigned", "long", "_Bool", "_Complex", "void", "signed"):
        assert keyword not in cparser._PREDEFINED_TYPE_NAMES


@pytest.mark.parametrize("name", PREDEFINED_TYPE_NAMES + ["bool"])
def test_predefined_type_names_can_be_typedefd(name):
    assert bare("typedef long %s;" % name) == [Typedef(name, LONG)]
    assert bare("typedef unsigned long %s, *p_%s;" % (name, name)) == [
        Typedef(name, Primitive("unsigned long")),
        Typedef("p_" + name, Pointer(Primitive("unsigned long")))]
    # From then on the name is that typedef, in the same source and in later ones.
    assert bare("typedef int %s; %s x; %s *f(%s);" % ((name,) * 4)) == [
        Typedef(name, INT), VariableDecl("x", Named(name)),
        FunctionDecl("f", fn([Named(name)], Pointer(Named(name))))]
    assert parse_type(name, {name}) == Named(name)
    assert parse_type("%s *[2]" % name, {name}) == Array(Pointer(Named(name)), 2)
    assert parse_type("int(*)(%s)" % name, {name}) == Pointer(fn([Named(name)], INT))
    assert bare("%s y;" % name, {name}) == [VariableDecl("y", Named(name))]
    # Without a typedef it is the built-in type.
    primitive = Primitive("_Bool" if name == "bool" else name)
    assert parse_type(name, {"other"}) == primitive
    assert bare("%s z;" % name) == [VariableDecl("z", primitive)]
    assert bare("typedef %s %s;" % (name, name)) == [Typedef(name, primitive)]
    assert "cannot combine" in str(cdef_error("%s long x;" % name, {name}))


def test_predefined_type_names_from_cffi_examples():
    assert bare("typedef uint16_t char16_t; char16_t c;") == [
        Typedef("char16_t", Primitive("uint16_t")), VariableDecl("c", Named("char16_t"))]
    assert bare("typedef int bool; bool x;") == [
        Typedef("bool", INT), VariableDecl("x", Named("bool"))]
    assert bare("typedef _Bool bool; bool x;") == [
        Typedef("bool", Primitive("_Bool")), VariableDecl("x", Named("bool"))]
    assert bare("typedef unsigned int wchar_t;") == [
        Typedef("wchar_t", Primitive("unsigned int"))]
    assert parse_type("char16_t", {"char16_t"}) == Named("char16_t")
    assert parse_type("char16_t", set()) == Primitive("char16_t")
    # Like a typedef name, it is a declared name after another type, or a type name
    # at the start of a parameter.
    assert bare("unsigned size_t; struct s { int wchar_t; };") == [
        VariableDecl("size_t", Primitive("unsigned int")),
        StructDef("struct", "s", (Field("wchar_t", INT),))]
    assert bare("typedef int (bool);") == [Typedef("bool", INT)]
    assert bare("void f(int (size_t));") == [
        FunctionDecl("f", fn([fn([Primitive("size_t")], INT)], Void()))]
    # in a type string too, where the declared name is dropped ('unsigned size_t' is
    # 'unsigned int' for cffi as well)
    for text, base in (("unsigned size_t", "unsigned int"), ("long int8_t", "long"),
                       ("unsigned wchar_t", "unsigned int"), ("int bool", "int")):
        assert parse_type(text, set()) == Primitive(base)
        error = type_error(text + " x")
        assert "expected the end" in str(error)
        assert error.column == len(text) + 2


def test_c_keyword_primitive_names_stay_reserved():
    for name in ("int", "unsigned", "_Bool", "double", "void", "_Complex", "signed"):
        cdef_error("typedef long %s;" % name)
        assert parse_type("int", {name}) == INT
    assert parse_type("unsigned long", {"unsigned long", "long"}) == \
        Primitive("unsigned long")
    assert parse_type("float _Complex", {"float _Complex"}) == Primitive("float _Complex")
    # Still no tags, enumerators, macros or constants.
    assert "keyword" in str(cdef_error("enum e { size_t };"))
    assert "keyword" in str(cdef_error("#define bool 1\n"))
    assert cdef_error("struct wchar_t { int a; };").text == "wchar_t"


# ---- qualifiers, attributes, calling conventions -----------------------------------------

def test_qualifiers_are_ignored_except_pointer_const():
    assert parse_type("const volatile int", ()) == INT
    assert parse_type("int const", ()) == INT
    assert parse_type("const char *", ()) == Pointer(CHAR)
    assert parse_type("char * const", ()) == Pointer(CHAR, const=True)
    assert parse_type("char * volatile", ()) == Pointer(CHAR)
    assert parse_type("char *restrict", ()) == Pointer(CHAR)
    assert parse_type("char * __restrict const", ()) == Pointer(CHAR, const=True)
    assert parse_type("char * const * __restrict__", ()) == Pointer(Pointer(CHAR, True))
    assert parse_type("const char * const * const", ()) == \
        Pointer(Pointer(CHAR, True), True)


def test_qualifiers_in_parameters_and_fields():
    declaration = only("void f(const char *restrict s, int const n, "
                       "char *const argv[]);")
    assert declaration.type.args == (Pointer(CHAR), INT, Array(Pointer(CHAR, True), None))
    struct = only("struct s { volatile int a; const char *const b; };")
    assert [f.type for f in struct.fields] == [INT, Pointer(CHAR, True)]


def test_attributes_and_extension_are_skipped():
    declarations = bare("""
        __extension__ typedef long long ll_t;
        struct __attribute__((unused)) s { int a __attribute__((deprecated)); }
            __attribute__((may_alias, unused));
        int f(int) __attribute__((noreturn));
        void *__attribute__((malloc)) g(size_t n);
        __attribute__((deprecated("(use g)"))) int h(void);
        int x __attribute__((section("data")));
    """)
    assert declarations == [
        Typedef("ll_t", Primitive("long long")),
        StructDef("struct", "s", (Field("a", INT),)),
        FunctionDecl("f", fn([INT], INT)),
        FunctionDecl("g", fn([Primitive("size_t")], Pointer(Void()))),
        FunctionDecl("h", fn([], INT)),
        VariableDecl("x", INT),
    ]


@pytest.mark.parametrize("source, word", [
    ("struct s { int a; } __attribute__((packed));", "packed"),
    ("struct __attribute__((__packed__)) s { int a; };", "__packed__"),
    ("struct s { int a __attribute__((aligned(16))); };", "aligned"),
    ("typedef int T __attribute__((unused, aligned(8)));", "aligned"),
    ("typedef int v4 __attribute__((vector_size(16)));", "vector_size"),
    ("struct __declspec(align(8)) s { int a; };", "align"),
])
def test_attributes_that_change_a_layout_are_refused(source, word):
    # ignoring them would give layouts that differ from the compiler's (cffi refuses
    # every __attribute__)
    error = cdef_error(source)
    assert "'%s' changes the layout" % word in str(error)
    assert source[error.column - 1:].startswith(word)


def test_calling_conventions():
    declarations = bare("""
        int __stdcall f(int);
        int __cdecl g(int);
        int WINAPI h(int);
        int (__stdcall *fp)(int);
        typedef int (WINAPI *fp_t)(int);
        int *__stdcall returns_pointer(int);
        void set_callback(void (__stdcall *cb)(int));
    """)
    stdcall = fn([INT], INT, abi="__stdcall")
    assert declarations == [
        FunctionDecl("f", stdcall),
        FunctionDecl("g", fn([INT], INT, abi="__cdecl")),
        FunctionDecl("h", stdcall),
        VariableDecl("fp", Pointer(stdcall)),
        Typedef("fp_t", Pointer(stdcall)),
        FunctionDecl("returns_pointer", fn([INT], Pointer(INT), abi="__stdcall")),
        FunctionDecl("set_callback", fn([Pointer(fn([INT], Void(), abi="__stdcall"))],
                                        Void())),
    ]
    assert parse_type("int(__stdcall *)(int)", ()) == Pointer(stdcall)
    assert parse_type("int __cdecl (int)", ()) == fn([INT], INT, abi="__cdecl")


def test_calling_convention_belongs_to_the_function_whose_declarator_it_starts():
    # fp: pointer to a __stdcall function(long) returning a pointer to a __cdecl
    # function(int) returning int.
    result = parse_type("int (__cdecl *(__stdcall *)(long))(int)", ())
    assert result == Pointer(fn([LONG], Pointer(fn([INT], INT, abi="__cdecl")),
                                abi="__stdcall"))
    result = parse_type("int (__stdcall *(*)(long))(int)", ())
    assert result == Pointer(fn([LONG], Pointer(fn([INT], INT, abi="__stdcall"))))


# ---- declarators ------------------------------------------------------------------------

DECLARATOR_CASES = [
    ("int *", Pointer(INT)),
    ("int **", Pointer(Pointer(INT))),
    ("int[10]", Array(INT, 10)),
    ("int[]", Array(INT, None)),
    ("int[...]", Array(INT, "...")),
    ("int[2][3]", Array(Array(INT, 3), 2)),
    ("int[][3]", Array(Array(INT, 3), None)),
    ("int[...][3]", Array(Array(INT, 3), "...")),
    ("int *[3]", Array(Pointer(INT), 3)),
    ("int (*)[3]", Pointer(Array(INT, 3))),
    ("int (*)[]", Pointer(Array(INT, None))),
    ("int (**)[2][3]", Pointer(Pointer(Array(Array(INT, 3), 2)))),
    ("int (int)", fn([INT], INT)),
    ("int (*)(int)", Pointer(fn([INT], INT))),
    ("int (*)(void)", Pointer(fn([], INT))),
    ("int (*)()", Pointer(fn([], INT))),
    ("int(*)(int, ...)", Pointer(fn([INT], INT, ellipsis=True))),
    ("int (*[5])(int)", Array(Pointer(fn([INT], INT)), 5)),
    ("int (*(*)(int))(long)", Pointer(fn([INT], Pointer(fn([LONG], INT))))),
    ("int (*(*)[4])(void)", Pointer(Array(Pointer(fn([], INT)), 4))),
    ("char *(*)(char *, int (*)(char))",
     Pointer(fn([Pointer(CHAR), Pointer(fn([CHAR], INT))], Pointer(CHAR)))),
    ("int ((*))", Pointer(INT)),
    ("int (((*))[2])", Pointer(Array(INT, 2))),
    ("int ([4])", Array(INT, 4)),
    ("void (*)(int a, char *b)", Pointer(fn([INT, Pointer(CHAR)], Void()))),
    ("void (*)(int a[3], int f(int))",
     Pointer(fn([Array(INT, 3), fn([INT], INT)], Void()))),
    ("struct foo *", Pointer(Tagged("struct", "foo"))),
    ("union u[2]", Array(Tagged("union", "u"), 2)),
    ("enum e (*)(enum e)", Pointer(fn([Tagged("enum", "e")], Tagged("enum", "e")))),
    ("foo_t *", Pointer(Named("foo_t"))),
    ("unsigned long long[10]", Array(Primitive("unsigned long long"), 10)),
    ("  int  \n * \t", Pointer(INT)),
    ("int[0x10][010][0b11]", Array(Array(Array(INT, 3), 8), 16)),
    ("int[2 * 3 + 1]", Array(INT, 7)),
]


@pytest.mark.parametrize("text, expected", DECLARATOR_CASES)
def test_abstract_declarators(text, expected):
    assert parse_type(text, {"foo_t"}) == expected


@pytest.mark.parametrize("expected", [case[1] for case in DECLARATOR_CASES])
def test_same_types_with_a_name(expected):
    """The declarator printed around a name (see render_declaration) parses back."""
    declaration = only("typedef %s;" % render_declaration(expected, "x"), {"foo_t"})
    assert declaration == Typedef("x", expected, declaration.line, declaration.column)


def test_named_declarators():
    declarations = bare("""
        int *p, **pp, a[10], m[2][3], *ap[4], (*pa)[5], (*fa[5])(int);
        int (*(*fpf)(int))(long);
        void (*signal(int sig, void (*func)(int)))(int);
        int ((x)), (*(y));
        char *names[];
    """)
    handler = Pointer(fn([INT], Void()))
    assert declarations == [
        VariableDecl("p", Pointer(INT)),
        VariableDecl("pp", Pointer(Pointer(INT))),
        VariableDecl("a", Array(INT, 10)),
        VariableDecl("m", Array(Array(INT, 3), 2)),
        VariableDecl("ap", Array(Pointer(INT), 4)),
        VariableDecl("pa", Pointer(Array(INT, 5))),
        VariableDecl("fa", Array(Pointer(fn([INT], INT)), 5)),
        VariableDecl("fpf", Pointer(fn([INT], Pointer(fn([LONG], INT))))),
        FunctionDecl("signal", fn([INT, handler], handler)),
        VariableDecl("x", INT),
        VariableDecl("y", Pointer(INT)),
        VariableDecl("names", Array(Pointer(CHAR), None)),
    ]


@pytest.mark.parametrize("source, message", [
    ("int f(int)[3];", "cannot return an array"),
    ("int f(int)(int);", "cannot return a function"),
    ("int a[3](int);", "array of functions"),
    ("void a[3];", "array of void"),
    ("int a[3][];", "unknown length"),
    ("int a[1.5];", "not floating-point"),
    ("int a[N];", "unknown constant 'N'"),
    ("int (x;", "expected ')'"),
    ("int *;", "expected a name"),
    ("int (*)(int);", "expected a name"),
    ("int x[3;", "expected ']'"),
    ("int f(int, );", "expected a type"),
    ("int f(void, int);", "'void' must be the only parameter"),
    ("int f(int, void);", "'void' must be the only parameter"),
    ("int f(...);", "f: a function with only '(...)' as argument is not correct C"),
    ("int f(int, ..., int);", "expected ')'"),
    ("int f(int x) { return x; }", "unexpected <FuncDef>: this construct is valid C "
                                   "but not valid in cdef()"),
    ("int f(static int x);", "not allowed in a parameter"),
    ("void x;", "declared void"),
    ("int x = 3;", "initializer"),
    ("typedef int t = 3;", "initializer"),
    ("int f(int) = 0;", "initializer"),
    ("typedef static int t;", "cannot be combined"),
])
def test_invalid_declarators(source, message):
    assert message in str(cdef_error(source))


# ---- functions --------------------------------------------------------------------------

def test_function_declarations():
    declarations = bare("""
        int f(int a, char *b);
        void g(void);
        void h();
        int printf(const char *fmt, ...);
        extern int e(int);
        static inline int s(int);
        static int t(int);
        __inline int u(int);
        _Noreturn void die(void);
        void k(int a[10], int b[], int fn(int), int (*fp)(int));
        void unnamed(int, char *, struct foo *, foo_t);
        void array_params(int a[static 10], int b[const 3]);
    """, {"foo_t"})
    printf = fn([Pointer(CHAR)], INT, ellipsis=True)
    assert declarations == [
        FunctionDecl("f", fn([INT, Pointer(CHAR)], INT)),
        FunctionDecl("g", fn([], Void())),
        FunctionDecl("h", fn([], Void())),
        FunctionDecl("printf", printf),
        FunctionDecl("e", fn([INT], INT)),
        FunctionDecl("s", fn([INT], INT)),
        FunctionDecl("t", fn([INT], INT)),
        FunctionDecl("u", fn([INT], INT)),
        FunctionDecl("die", fn([], Void())),
        FunctionDecl("k", fn([Array(INT, 10), Array(INT, None), fn([INT], INT),
                              Pointer(fn([INT], INT))], Void())),
        FunctionDecl("unnamed", fn([INT, Pointer(CHAR), Pointer(Tagged("struct", "foo")),
                                    Named("foo_t")], Void())),
        FunctionDecl("array_params", fn([Array(INT, 10), Array(INT, 3)], Void())),
    ]


def test_parameter_named_like_a_typedef():
    # C: after a complete type, an identifier is the parameter's name even if it is
    # also a typedef name; inside parentheses a typedef name starts a parameter list.
    assert bare("void f(int foo_t);", {"foo_t"}) == [FunctionDecl("f", fn([INT], Void()))]
    assert bare("void f(int (foo_t));", {"foo_t"}) == [
        FunctionDecl("f", fn([fn([Named("foo_t")], INT)], Void()))]
    assert bare("void f(int (bar));") == [FunctionDecl("f", fn([INT], Void()))]


def test_struct_defined_in_a_parameter_is_emitted():
    declarations = bare("void f(struct p { int x; } *arg);")
    assert declarations == [
        StructDef("struct", "p", (Field("x", INT),)),
        FunctionDecl("f", fn([Pointer(Tagged("struct", "p"))], Void())),
    ]


# ---- typedefs ---------------------------------------------------------------------------

def test_typedefs():
    declarations = bare("""
        typedef int myint, *myintp, myarr[4];
        typedef int fn_t(int);
        typedef void (*cb_t)(void *);
        typedef int arr_t[3][4];
        typedef struct foo foo_t;
        typedef myint other_t;
        myint x;
        other_t *y;
        cb_t callbacks[2];
        fn_t function;
    """)
    assert declarations == [
        Typedef("myint", INT),
        Typedef("myintp", Pointer(INT)),
        Typedef("myarr", Array(INT, 4)),
        Typedef("fn_t", fn([INT], INT)),
        Typedef("cb_t", Pointer(fn([Pointer(Void())], Void()))),
        Typedef("arr_t", Array(Array(INT, 4), 3)),
        Typedef("foo_t", Tagged("struct", "foo")),
        Typedef("other_t", Named("myint")),
        VariableDecl("x", Named("myint")),
        VariableDecl("y", Pointer(Named("other_t"))),
        VariableDecl("callbacks", Array(Named("cb_t"), 2)),
        # A function declared through a typedef of a function type: the parser does
        # not resolve typedefs, the model sees the Named type is a function.
        VariableDecl("function", Named("fn_t")),
    ]


def test_typedef_names_from_earlier_cdefs():
    assert bare("FILE *open_it(const char *);", {"FILE"}) == [
        FunctionDecl("open_it", fn([Pointer(CHAR)], Pointer(Named("FILE"))))]
    assert parse_type("FILE *", {"FILE": object()}) == Pointer(Named("FILE"))


def test_typedef_redeclared_and_typedef_name_reused_as_name():
    assert bare("typedef int t; typedef int t;") == [Typedef("t", INT), Typedef("t", INT)]
    assert bare("typedef long t; t t2; unsigned t;") == [
        Typedef("t", LONG), VariableDecl("t2", Named("t")),
        VariableDecl("t", Primitive("unsigned int"))]


def test_unknown_type_name():
    error = cdef_error("int a;\n  foo_t x;")
    assert "unknown type name 'foo_t'" in str(error)
    assert (error.line, error.column, error.text) == (2, 3, "foo_t")
    error = type_error("FILE *")
    assert "unknown type name 'FILE'" in str(error)
    assert (error.line, error.column) == (1, 1)
    error = cdef_error("struct s { const foo_t x; };")
    assert (error.column, error.text) == (18, "foo_t")
    error = cdef_error("void f(int a, foo_t b);")
    assert (error.column, error.text) == (15, "foo_t")


def test_typedef_visible_only_after_its_declaration():
    error = cdef_error("t x; typedef int t;")
    assert "unknown type name 't'" in str(error)


# ---- struct, union, enum ----------------------------------------------------------------

def test_struct_definition_with_positions():
    declarations = cdef("struct point {\n    int x;\n    char *name;\n};")
    assert declarations == [StructDef("struct", "point", (
        Field("x", INT, None, 2, 9), Field("name", Pointer(CHAR), None, 3, 11)),
        False, 1, 8)]


def test_forward_declarations_and_references():
    assert bare("struct foo;") == [StructDef("struct", "foo", None)]
    assert bare("union u;") == [StructDef("union", "u", None)]
    assert bare("enum e;") == []
    assert bare("struct foo *p;") == [VariableDecl("p", Pointer(Tagged("struct", "foo")))]
    assert bare("extern struct foo bar;") == [VariableDecl("bar", Tagged("struct", "foo"))]
    assert bare("typedef struct foo foo_t; struct foo { foo_t *next; };") == [
        Typedef("foo_t", Tagged("struct", "foo")),
        StructDef("struct", "foo", (Field("next", Pointer(Named("foo_t"))),))]


def test_union_and_self_reference():
    assert bare("union u { int i; float f; union u *next; };") == [
        StructDef("union", "u", (Field("i", INT), Field("f", Primitive("float")),
                                 Field("next", Pointer(Tagged("union", "u")))))]


def test_nested_definitions_are_emitted_first():
    declarations = bare("""
        struct outer {
            struct inner { int a; } in;
            union { int i; char c; } anonymous_union_field;
            enum color { RED, GREEN } color;
            int b;
        };
    """)
    inner, union, color, outer = declarations
    assert inner == StructDef("struct", "inner", (Field("a", INT),))
    assert union.kind == "union" and re.fullmatch(r"\$\d+", union.name)
    assert color == EnumDef("color", (("RED", 0), ("GREEN", 1)))
    assert outer == StructDef("struct", "outer", (
        Field("in", Tagged("struct", "inner")),
        Field("anonymous_union_field", Tagged("union", union.name)),
        Field("color", Tagged("enum", "color")),
        Field("b", INT)))


def test_anonymous_members():
    declarations = cdef("struct s {\n  union { int a; float b; };\n  struct { int c; };\n};")
    union, struct, outer = declarations
    assert union.name.startswith("$") and struct.name.startswith("$")
    assert union.name != struct.name
    assert (union.line, union.column) == (2, 3)
    assert outer.fields == (
        Field("", Tagged("union", union.name), None, 2, 3),
        Field("", Tagged("struct", struct.name), None, 3, 3))


def test_named_nested_definition_without_declarator_is_an_anonymous_member():
    # As cffi reads it (C11 proper would only declare the tag); an enum is no member.
    declarations = bare("struct s { struct t { int a; }; enum { K = 2 }; int b[K]; };")
    assert declarations[0] == StructDef("struct", "t", (Field("a", INT),))
    assert declarations[1].enumerators == (("K", 2),)
    assert declarations[2] == StructDef("struct", "s", (
        Field("", Tagged("struct", "t")), Field("b", Array(INT, 2))))


@pytest.mark.skipif(cffi is None, reason="cffi not installed")
def test_named_nested_definition_member_agrees_with_cffi():
    ffi = cffi.FFI()
    ffi.cdef("struct s { struct t { int a; }; int b; };")
    assert [name for name, _ in ffi.typeof("struct s").fields] == ["a", "b"]


def test_bitfields():
    struct = only("struct b { int x:3; unsigned y : 1, z:2; int :0; int :4; "
                  "long w: 2 + 3; };")
    assert [(f.name, f.type, f.bitsize) for f in struct.fields] == [
        ("x", INT, 3), ("y", Primitive("unsigned int"), 1),
        ("z", Primitive("unsigned int"), 2), ("", INT, 0), ("", INT, 4), ("w", LONG, 5)]
    # a named zero-width one is read (the model refuses it when used, as cffi)
    assert only("struct b { int x:0; };").fields[0].bitsize == 0
    assert "negative" in str(cdef_error("struct b { int x:-1; };"))


def test_flexible_array_member_and_partial_struct():
    struct = only("struct msg { int len; ...; char data[]; };")
    assert struct.partial is True
    assert struct.fields[-1] == Field("data", Array(CHAR, None), None, 1, 33)
    assert only("struct s { ...; };") == StructDef("struct", "s", (), True, 1, 8)
    assert only("struct s { int a; };").partial is False


# ---- cffi's API-mode markers ('...'): each form and the node it gives ------------------

@pytest.mark.parametrize("source, expected", [
    ("struct s { int a; ...; };",
     StructDef("struct", "s", (Field("a", INT, None, 1, 16),), True, 1, 8)),
    ("union u { ...; };", StructDef("union", "u", (), True, 1, 7)),
    ("struct s { int a[...]; };",
     StructDef("struct", "s", (Field("a", Array(INT, "..."), None, 1, 16),), False, 1, 8)),
    ("struct s { char *p[...][2]; };",
     StructDef("struct", "s", (Field("p", Array(Array(Pointer(CHAR), 2), "..."),
                                     None, 1, 18),), False, 1, 8)),
    ("int g[...];", VariableDecl("g", Array(INT, "..."), 1, 5)),
    ("extern long tab[...][4];", VariableDecl("tab", Array(Array(LONG, 4), "..."), 1, 13)),
    ("typedef int arr_t[...];", Typedef("arr_t", Array(INT, "..."), 1, 13)),
    ("typedef ... foo_t;", Typedef("foo_t", Opaque("foo_t"), 1, 13)),
    ("typedef ... *foo_p;", Typedef("foo_p", Pointer(Opaque("foo_p", True)), 1, 14)),
    ("typedef int... foo_t;", Typedef("foo_t", UnknownPrimitive("foo_t", "integer"), 1, 16)),
    ("typedef unsigned long long... u_t;",
     Typedef("u_t", UnknownPrimitive("u_t", "integer"), 1, 31)),
    ("typedef char ... c_t;", Typedef("c_t", UnknownPrimitive("c_t", "integer"), 1, 18)),
    ("typedef float... f_t;", Typedef("f_t", UnknownPrimitive("f_t", "float"), 1, 18)),
    ("typedef double ... d_t;", Typedef("d_t", UnknownPrimitive("d_t", "float"), 1, 20)),
    ("#define FOO ...", ConstantDecl("FOO", None, None, 1, 9)),
    ("static const int FOO;", ConstantDecl("FOO", None, INT, 1, 18)),
    ("enum e { A, B, ... };", EnumDef("e", (("A", 0), ("B", 1)), True, 1, 6)),
    ("enum e { A, B = ..., C, D = 7, E, ... };",
     EnumDef("e", (("A", 0), ("B", None), ("C", None), ("D", 7), ("E", 8)), True, 1, 6)),
    ("enum e { A = ... };", EnumDef("e", (("A", None),), True, 1, 6)),
])
def test_dotdotdot_forms(source, expected):
    assert only(source) == expected


def test_dotdotdot_typedef_declares_each_name():
    assert bare("typedef int... a_t, b_t;") == [
        Typedef("a_t", UnknownPrimitive("a_t", "integer")),
        Typedef("b_t", UnknownPrimitive("b_t", "integer"))]
    assert bare("typedef ... a_t, *b_t;") == [
        Typedef("a_t", Opaque("a_t")), Typedef("b_t", Pointer(Opaque("b_t", True)))]
    # the typedef names are known to what follows
    assert bare("typedef ... a_t; a_t *f(void);") == [
        Typedef("a_t", Opaque("a_t")), FunctionDecl("f", fn([], Pointer(Named("a_t"))))]


@pytest.mark.parametrize("source, column", [
    ("typedef ... a_t[3];", 13), ("typedef ... **a_t;", 15), ("typedef ... (*a_t)(int);", 15),
    ("typedef int... *a_t;", 17), ("typedef _Bool... b_t;", 14),
    ("typedef long double... b_t;", 20), ("typedef const ... c_t;", 15),
    ("typedef struct s... c_t;", 17),
])
def test_dotdotdot_typedef_misuse(source, column):
    error = cdef_error(source)
    assert 'unsupported usage of "..." in typedef' in str(error)
    assert (error.line, error.column) == (1, column)


def test_dotdotdot_outside_typedef_is_a_syntax_error():
    assert cdef_error("int... x;").column == 4
    assert cdef_error("extern ... x;").column == 8


def test_enum_value_dotdotdot_is_unknown_to_expressions():
    assert "not known" in str(cdef_error("enum e { A = ... };\n#define X (A + 1)\n"))


def test_packing_is_recorded_on_each_definition():
    [inner, outer, forward] = parse_cdef(
        "struct o { struct i { char c; int x; } in; char d; }; struct f;", set(), {},
        packed=True)
    assert (outer.name, outer.packed, outer.pack) == ("o", True, None)
    assert (inner.name, inner.packed, inner.pack) == ("i", True, None)
    assert forward.fields is None
    [pk] = parse_cdef("union u { char c; int x; };", set(), {}, pack=2)
    assert (pk.packed, pk.pack) == (False, 2)
    assert only("struct s { int a; };").packed is False
    assert only("struct s { int a; };").pack is None
    # type strings define structs without packing
    node, [definition] = cparser.parse_type_with_definitions("struct { int a; } *", set())
    assert (definition.packed, definition.pack) == (False, None)


def test_bitfields_and_dotdotdot_do_not_mix():
    error = cdef_error("struct s { int a:3; ...; };")     # as cffi refuses it
    assert isinstance(error, NotImplementedError)
    assert "struct s: using both bitfields and '...;'" in str(error)
    assert (error.line, error.column) == (1, 21)


def test_needs_compiler():
    assert only("struct s { int a; ...; };").needs_compiler
    assert only("struct s { int a[...]; };").needs_compiler
    assert only("struct s { int a[2][...]; };").needs_compiler
    assert not only("struct s { int a[2]; int *b[]; };").needs_compiler
    assert not only("struct s;").needs_compiler


def test_anonymous_tags():
    declarations = bare("typedef struct { int x; } foo_t;")
    assert declarations == [StructDef("struct", "$foo_t", (Field("x", INT),)),
                            Typedef("foo_t", Tagged("struct", "$foo_t"))]
    declarations = bare("typedef const union { int x; } u_t, *u_p;")
    assert declarations[0].name == "$u_t"
    assert declarations[2] == Typedef("u_p", Pointer(Tagged("union", "$u_t")))
    declarations = bare("typedef enum { A, B } e_t;")
    assert declarations == [EnumDef("$e_t", (("A", 0), ("B", 1))),
                            Typedef("e_t", Tagged("enum", "$e_t"))]
    # Not directly the typedef's type: a number from the process-wide counter.
    pointer_first = bare("typedef struct { int x; } *foo_p, foo_t;")
    tag = pointer_first[0].name
    assert re.fullmatch(r"\$\d+", tag)
    assert pointer_first[1:] == [Typedef("foo_p", Pointer(Tagged("struct", tag))),
                                 Typedef("foo_t", Tagged("struct", tag))]
    variable = bare("struct { int x; } var;")
    assert re.fullmatch(r"\$\d+", variable[0].name)
    assert variable[0].name != tag
    assert int(variable[0].name[1:]) > int(tag[1:])
    # typedef after the struct is still a typedef of it
    assert bare("struct { int x; } typedef later_t;")[0].name == "$later_t"


def test_anonymous_enum_defines_constants():
    declarations = bare("enum { A = 3, B }; int arr[B];")
    assert re.fullmatch(r"\$\d+", declarations[0].name)
    assert declarations[0].enumerators == (("A", 3), ("B", 4))
    assert declarations[1] == VariableDecl("arr", Array(INT, 4))


def test_anonymous_struct_position_is_the_keyword():
    declarations = cdef("typedef\n  struct { int x; } foo_t;")
    assert (declarations[0].line, declarations[0].column) == (2, 3)
    assert (declarations[1].line, declarations[1].column) == (2, 21)


def test_enums():
    assert bare("enum e { A, B, C };") == [EnumDef("e", (("A", 0), ("B", 1), ("C", 2)))]
    assert bare("enum e { A = 5, B, C = -3, D, };") == [
        EnumDef("e", (("A", 5), ("B", 6), ("C", -3), ("D", -2)))]
    assert bare("enum e { A = 1 << 4, B = A | 1, C = K * 2, D = 'x' };",
                constants={"K": 10}) == [
        EnumDef("e", (("A", 16), ("B", 17), ("C", 20), ("D", 120)))]
    assert bare("enum e1 { X = 3 }; enum e2 { Y = X + 1, Z = Y * Y };") == [
        EnumDef("e1", (("X", 3),)), EnumDef("e2", (("Y", 4), ("Z", 16)))]
    assert bare("enum e { A, B, ... };") == [EnumDef("e", (("A", 0), ("B", 1)), True)]
    assert bare("enum e { ... };") == [EnumDef("e", (), True)]
    assert bare("enum e { A = 0x7fffffffffffffff, B };")[0].enumerators[1] == (
        "B", 0x8000000000000000)
    declaration = only("enum\n  color { RED };")
    assert (declaration.line, declaration.column) == (2, 3)


@pytest.mark.parametrize("source, message", [
    ("enum e { };", "at least one enumerator"),
    ("enum e { A B };", "expected '}'"),
    ("enum e { A, ..., B };", "expected '}'"),
    ("enum e { int };", "keyword 'int'"),
    ("enum e { A = };", "expected an integer constant expression"),
    ("enum e { A = UNKNOWN };", "unknown constant 'UNKNOWN'"),
    ("enum { A = 1.0 };", "not floating-point"),
])
def test_invalid_enums(source, message):
    assert message in str(cdef_error(source))


@pytest.mark.parametrize("source, message", [
    ("struct s { int a };", "expected ';'"),
    ("struct s { int f(int); };", "function type"),
    ("struct s { void v; };", "void type"),
    ("struct s { int; };", "does not declare anything"),
    ("struct s { struct t; };", "does not declare anything"),
    ("struct s { static int a; };", "not allowed in a field"),
    ("struct { int a; ", "expected a type"),
    ("struct;", "expected a tag name"),
    ("int;", "does not declare anything"),
    ("struct s { ... };", "expected ';'"),
])
def test_invalid_structs(source, message):
    assert message in str(cdef_error(source))


# ---- constant expressions ---------------------------------------------------------------

EXPRESSIONS = [
    ("42", 42), ("0", 0), ("0x1F", 31), ("0XfF", 255), ("017", 15), ("00", 0),
    ("0b101", 5), ("0B11", 3), ("10u", 10), ("10U", 10), ("10l", 10), ("10UL", 10),
    ("10lu", 10), ("10ll", 10), ("10LLU", 10), ("10uLL", 10), ("0x10ull", 16),
    ("'a'", 97), ("'\\n'", 10), ("'\\t'", 9), ("'\\x41'", 65), ("'\\0'", 0),
    ("'\\101'", 65), ("'\\''", 39), ("'\\\\'", 92), ("'\"'", 34), ("'\\xff'", 255),
    ("7 / 2", 3), ("-7 / 2", -3), ("7 / -2", -3), ("-7 / -2", 3),
    ("7 % 3", 1), ("-7 % 3", -1), ("7 % -3", 1), ("-7 % -3", -1),
    ("1 << 4", 16), ("-16 >> 2", -4), ("~0", -1), ("!0", 1), ("!5", 0), ("- - 1", 1),
    ("-(-(3))", 3), ("+4", 4), ("~~7", 7), ("!!9", 1),
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("2 - 3 - 4", -5), ("100 / 10 / 5", 2),
    ("1 < 2", 1), ("2 <= 1", 0), ("3 > 2", 1), ("3 >= 4", 0), ("3 == 3", 1),
    ("3 != 3", 0), ("6 & 3", 2), ("6 | 3", 7), ("6 ^ 3", 5),
    ("1 && 0", 0), ("2 && 3", 1), ("0 || 0", 0), ("0 || 2", 1),
    ("1 ? 2 : 3", 2), ("0 ? 2 : 3", 3), ("1 ? 2 : 0 ? 3 : 4", 2), ("0 ? 2 : 0 ? 3 : 4", 4),
    ("0 ? 1 : 1 ? 5 : 6", 5),
    # C precedence differs from Python's for comparisons and bitwise operators
    ("1 | 2 == 2", 1), ("6 & 3 == 3", 0), ("1 + 2 << 1", 6), ("1 < 2 == 1", 1),
    ("1 || 0 && 0", 1), ("2 ^ 3 & 1", 3), ("1 << 2 < 5", 1), ("-2 * -3 % 4", 2),
    # the operand not evaluated by && || ?: may divide by zero
    ("0 && 1 / 0", 0), ("1 || 1 / 0", 1), ("0 ? 1 / 0 : 5", 5), ("1 ? 5 : 1 % 0", 5),
    ("K + 1", 11), ("(K << 2) | K", 42), ("-K / 3", -3),
]


@pytest.mark.parametrize("expression, value", EXPRESSIONS)
def test_constant_expressions(expression, value):
    assert define_value(expression, {"K": 10}) == value
    assert bare("enum e { E = %s };" % expression, constants={"K": 10}) == [
        EnumDef("e", (("E", value),))]


@pytest.mark.parametrize("expression, message", [
    ("1 / 0", "division by zero"), ("1 % 0", "division by zero"),
    ("sizeof(int)", "sizeof is not supported"), ("1.5", "not floating-point"),
    ("1e3", "not floating-point"), ("0x1p3", "not floating-point"), (".5f", "not floating"),
    ("08", "invalid integer constant"), ("0x", "invalid integer constant"),
    ("1ul2", "invalid integer constant"), ("0xe1", None), ("1 +", "expected an integer constant"),
    ("(1", "expected ')'"), ("'ab'", "multi-character"), ("''", "empty character"),
    ("1 << -1", "out of range"), ("1 << 100000", "out of range"),
    ("UNKNOWN", "unknown constant"), ("1 ? 2", "expected ':'"),
    ('"s"', "expected an integer constant"), ("1 2", "expected the end"),
    ("'\\q'", "unknown escape"), ("'\\x100'", "out of range"),
    ("(int)1", "expected an integer constant expression, got 'int'"),
    ("9" * 200, "too large"), ("(1 << 1000) * (1 << 1000)", "too large"),
    ("1 = 1", "expected the end"), ("a--1", "unknown constant"),
])
def test_invalid_constant_expressions(expression, message):
    if message is None:         # a look-alike that is valid
        assert define_value(expression) == int(expression, 0)
        return
    assert message in str(cdef_error("#define X %s\n" % expression))


def test_define_of_unknown_value_cannot_be_used():
    error = cdef_error("#define N ...\nint a[N];")
    assert "not known" in str(error)
    assert (error.line, error.column) == (2, 7)


# Random expression trees, evaluated here by an independent reference evaluator with C
# semantics and given to the parser fully parenthesised.
BINARY_OPERATORS = ["+", "-", "*", "/", "%", "<<", ">>", "<", ">", "<=", ">=", "==",
                    "!=", "&", "^", "|", "&&", "||"]


def expression_trees():
    leaves = st.one_of(st.integers(0, 2 ** 40), st.sampled_from(["K", "NEG"]))
    return st.recursive(leaves, lambda children: st.one_of(
        st.tuples(st.sampled_from(["-", "+", "~", "!"]), children),
        st.tuples(st.sampled_from(BINARY_OPERATORS), children, children),
        st.tuples(st.just("?:"), children, children, children),
    ), max_leaves=12)


class Undefined(Exception):
    pass


def reference_value(tree, constants):
    """C semantics on Python integers: division truncates, && || ?: short-circuit."""
    if isinstance(tree, int):
        return tree
    if isinstance(tree, str):
        return constants[tree]
    operator, *operands = tree
    if operator == "?:":
        condition = reference_value(operands[0], constants)
        return reference_value(operands[1] if condition else operands[2], constants)
    if len(operands) == 1:
        value = reference_value(operands[0], constants)
        return {"-": -value, "+": value, "~": ~value, "!": int(not value)}[operator]
    left = reference_value(operands[0], constants)
    if operator == "&&":
        return int(bool(left) and bool(reference_value(operands[1], constants)))
    if operator == "||":
        return int(bool(left) or bool(reference_value(operands[1], constants)))
    right = reference_value(operands[1], constants)
    if operator in ("/", "%"):
        if right == 0:
            raise Undefined
        quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
        result = quotient if operator == "/" else left - right * quotient
    elif operator in ("<<", ">>"):
        if not 0 <= right < 1024:
            raise Undefined
        result = left << right if operator == "<<" else left >> right
    else:
        result = eval("left %s right" % operator)    # same meaning in Python for these
        result = int(result)
    if result.bit_length() > 1024:
        raise Undefined
    return result


def render_expression(tree):
    if not isinstance(tree, tuple):
        return str(tree)
    operator, *operands = tree
    if operator == "?:":
        return "(%s ? %s : %s)" % tuple(render_expression(o) for o in operands)
    if len(operands) == 1:
        return "(%s %s)" % (operator, render_expression(operands[0]))
    return "(%s %s %s)" % (render_expression(operands[0]), operator,
                           render_expression(operands[1]))


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(expression_trees())
def test_random_expressions_follow_c_semantics(tree):
    constants = {"K": 7, "NEG": -13}
    text = render_expression(tree)
    try:
        expected = reference_value(tree, constants)
    except Undefined:
        with pytest.raises(CDefError):
            define_value(text, constants)
        return
    assert define_value(text, constants) == expected


# ---- #define and other preprocessor lines -----------------------------------------------

def test_defines():
    declarations = cdef(
        "#define A 42\n"
        "#define B (A + 1)\n"
        "  #  define C 0x10UL\n"
        "#define D ...\n"
        "#define E -1 // comment\n"
        "#define F (1 + \\\n"
        "           2)\n"
        "#define G 7 /* spans\n  lines */\n"
        "int arr[B];\n"
        "#define H G * 2\n")
    assert strip_positions(declarations) == [
        ConstantDecl("A", 42), ConstantDecl("B", 43), ConstantDecl("C", 16),
        ConstantDecl("D", None), ConstantDecl("E", -1), ConstantDecl("F", 3),
        ConstantDecl("G", 7), VariableDecl("arr", Array(INT, 43)), ConstantDecl("H", 14)]
    positions = [(d.line, d.column) for d in declarations]
    assert positions == [(1, 9), (2, 9), (3, 13), (4, 9), (5, 9), (6, 9), (8, 9),
                         (10, 5), (11, 9)]


def test_define_inside_a_struct_body_and_after_enumerators():
    declarations = bare("enum { N = 4 };\n"
                        "struct s {\n"
                        "#define LEN (N * 2)\n"
                        "    int data[LEN];\n"
                        "};\n"
                        "#define LAST LEN\n")
    assert declarations[1:] == [
        ConstantDecl("LEN", 8), StructDef("struct", "s", (Field("data", Array(INT, 8)),)),
        ConstantDecl("LAST", 8)]


def test_define_at_start_and_end_without_newline():
    assert bare("#define A 1") == [ConstantDecl("A", 1)]
    assert bare("/* x */ #define A 1\nint b;") == [ConstantDecl("A", 1),
                                                  VariableDecl("b", INT)]
    assert bare("#\nint b;") == [VariableDecl("b", INT)]      # null directive


@pytest.mark.parametrize("source, message, line, column, text", [
    ("#include <stdio.h>\n", "unsupported preprocessor directive '#include'", 1, 2,
     "include"),
    ("int a;\n#ifdef X\n#endif\n", "'#ifdef'", 2, 2, "ifdef"),
    ("#if 1\n", "'#if'", 1, 2, "if"),
    ('#define S "str"\n', "expected an integer constant expression", 1, 11, '"str"'),
    ("#define F 1.5\n", "not floating-point", 1, 11, "1.5"),
    ("#define M(x) x\n", "function-like macros", 1, 10, "("),
    ("#define\n", "expected a macro name", 1, 8, None),
    ("#define X\n", "#define X needs a value", 1, 10, None),
    ("#define int 3\n", "keyword 'int'", 1, 9, "int"),
    ("#define T int\n", "got 'int'", 1, 11, "int"),
    ("#define X 1 2\n", "expected the end", 1, 13, "2"),
    ("int a; #define X 1\n", "got '#'", 1, 8, "#"),
    ("# 12 x\n", "expected the end of the line marker", 1, 6, "x"),
    ("#line\n", "unexpected end of line, expected a line number", 1, 6, None),
])
def test_invalid_directives(source, message, line, column, text):
    error = cdef_error(source)
    assert message in str(error)
    assert (error.line, error.column, error.text) == (line, column, text)


def test_define_with_space_before_parenthesis_is_an_object_macro():
    assert bare("#define X (3)\n#define Y\t(4)") == [ConstantDecl("X", 3),
                                                    ConstantDecl("Y", 4)]


# ---- global variables and constants -----------------------------------------------------

def test_global_variables():
    assert bare("""
        int x;
        extern struct foo bar;
        int arr[10];
        char *names[];
        static int counter;
        extern int (*handler)(int);
        const char *message;
        const int table[3];
    """) == [
        VariableDecl("x", INT),
        VariableDecl("bar", Tagged("struct", "foo")),
        VariableDecl("arr", Array(INT, 10)),
        VariableDecl("names", Array(Pointer(CHAR), None)),
        VariableDecl("counter", INT),
        VariableDecl("handler", Pointer(fn([INT], INT))),
        VariableDecl("message", Pointer(CHAR)),
        VariableDecl("table", Array(INT, 3)),     # arrays stay variables, as in cffi
    ]


def test_static_const_constants():
    declarations = cdef("static const int K = 5;\n"
                        "static const long L;\n"
                        "static const unsigned short S = K * 2 + 'a';\n"
                        "const int C;\n"
                        "extern const int E;\n"
                        "const int V = -3;\n"
                        "int * const P;\n"
                        "int arr[K];\n")
    assert strip_positions(declarations) == [
        ConstantDecl("K", 5, INT),
        ConstantDecl("L", None, LONG),
        ConstantDecl("S", 107, Primitive("unsigned short")),
        ConstantDecl("C", None, INT),
        ConstantDecl("E", None, INT),
        ConstantDecl("V", -3, INT),
        ConstantDecl("P", None, Pointer(INT, True)),
        VariableDecl("arr", Array(INT, 5)),
    ]
    assert (declarations[0].line, declarations[0].column) == (1, 18)


@pytest.mark.parametrize("source", [
    "static const int I = 1.5;",
    "static const double D = 1.5 + 1;",
    "static const double E = 1.5 1;",
    'static const char *const S = "abc";',
    "static const int X = {1};",
    "static const int Y = UNKNOWN;",
    "static const int Z = ;",
])
def test_static_const_with_non_integer_initializer(source):
    cdef_error(source)


def test_static_const_floating_initializer_is_accepted_without_value():
    # cffi reads the value of integer literals only; a floating literal (optionally
    # signed) is accepted for a floating or typedef'd type, its value unknown in ABI mode
    assert bare("static const float F = 42.5; static const double G = -1e3, H = +.5;\n"
                "typedef double d_t; static const d_t K = 3.;", ) == [
        ConstantDecl("F", None, Primitive("float")),
        ConstantDecl("G", None, Primitive("double")),
        ConstantDecl("H", None, Primitive("double")),
        Typedef("d_t", Primitive("double")),
        ConstantDecl("K", None, Named("d_t"))]
    assert bare("static const double I = 2;") == [ConstantDecl("I", 2, Primitive("double"))]


def test_several_declarators_and_stray_semicolons():
    assert bare(";; int a, *b, c[10];;\n;") == [
        VariableDecl("a", INT), VariableDecl("b", Pointer(INT)),
        VariableDecl("c", Array(INT, 10))]
    assert bare("") == []
    assert bare("  /* only a comment */ \n// and another\n") == []


# ---- positions --------------------------------------------------------------------------

@pytest.mark.parametrize("source, line, column, text", [
    ("int x y;", 1, 7, "y"),
    ("/* a comment\n spanning */ int\n  x y;", 3, 5, "y"),
    ("// line comment\nint f(int, );", 2, 12, ")"),
    ("int a;\r\nint b c;", 2, 7, "c"),
    ("\tint\t@;", 1, 6, "@"),
    ("int x; /* never closed", 1, 8, "/*"),
    ("int x = 'a", 1, 9, "'"),
    ('char *s = "abc', 1, 11, '"'),
    ("struct s {\n  int a\n};", 3, 1, "}"),
    ("int a[-x];", 1, 8, "x"),
    ("int x = 5;", 1, 7, "="),
    ("enum e { A = B };", 1, 14, "B"),
    ("int a \\ b;", 1, 7, "\\"),
    ("int caf\u00e9;", 1, 8, "\u00e9"),
    ("#define A 1 \\\n + \\\n 2 3\nint", 3, 4, "3"),
    ("int /* a\n b */ /* c */ 3;", 2, 15, "3"),
])
def test_error_positions(source, line, column, text):
    error = cdef_error(source)
    assert (error.line, error.column, error.text) == (line, column, text)
    assert "line %d, column %d" % (line, column) in str(error)


def test_error_at_end_of_input():
    error = cdef_error("int\n  x")
    assert "end of input" in str(error)
    assert (error.line, error.column, error.text) == (2, 4, None)
    error = type_error("")
    assert "expected a type" in str(error)
    assert (error.line, error.column) == (1, 1)


def test_positions_after_comments_and_continuations():
    declarations = cdef("/* one\n two */ int /* x */ a; // tail\n"
                        "int \\\n  b;\n\t  struct s { int c; } d;")
    # "\t  struct s { int c; } d;": a tab counts as one column
    assert [(d.line, d.column) for d in declarations] == [(2, 21), (4, 3), (5, 11),
                                                          (5, 24)]
    assert declarations[2].fields[0].column == 19


# ---- parse_type -------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("", "expected a type"), ("   ", "expected a type"), ("int x y", "expected the end"),
    ("int *p q", "expected the end"), ("int;", "expected the end"),
    ("int a(*)", "expected a type"), ("int (*p)(int) x", "expected the end"),
    ("int, int", "expected the end"), ("foo_t", "unknown identifier 'foo_t'"),
    ("struct { int a; }", "'struct' definitions are not allowed"),
    ("enum e { A }", "'enum' definitions are not allowed"),
    ("int (*)(union { int a; } *)", "'union' definitions are not allowed"),
    ("static int", "not allowed in a type"), ("typedef int", "not allowed in a type"),
    ("#define X 1", "preprocessor directives are not allowed"),
    ("int[3", "expected ']'"), ("int (*)(int", "expected ')'"),
    ("int[N]", "unknown constant 'N'"), ("*", "expected a type"),
    ("int (x", "expected ')'"), ("int)", "expected the end"),
    ("struct", "expected a tag name"), ("const", "expected a type"),
])
def test_parse_type_rejects(text, message):
    assert message in str(type_error(text))


def test_parse_type_repeated_calls_are_independent():
    assert parse_type("t *", {"t"}) == Pointer(Named("t"))
    type_error("t *")                       # no longer a type name
    assert parse_type("t *", {"t"}) == Pointer(Named("t"))
    assert parse_type("bool", {"bool"}) == Named("bool")
    assert parse_type("bool", set()) == Primitive("_Bool")
    assert parse_type("bool", {"bool"}) == Named("bool")


def test_parse_type_with_constants():
    char = Primitive("char")
    assert parse_type("char[DD]", {}, {"DD": 2}) == Array(char, 2)
    assert parse_type("char[DD]", set(), constants={"DD": 2}) == Array(char, 2)
    assert parse_type("int *[A * 2 + B][A]", set(), {"A": 3, "B": 1}) == \
        Array(Array(Pointer(INT), 3), 7)
    assert parse_type("foo_t(*)[N]", {"foo_t"}, {"N": 4}) == \
        Pointer(Array(Named("foo_t"), 4))
    assert parse_type("int(*)(char[N])", (), {"N": 5}) == \
        Pointer(fn([Array(char, 5)], INT))
    # Results never come from a stale cache: the same text with other constants.
    assert parse_type("char[DD]", {}, {"DD": 3}) == Array(char, 3)
    assert "unknown constant 'DD'" in str(type_error("char[DD]"))
    with pytest.raises(CDefError, match="unknown constant 'DD'"):
        parse_type("char[DD]", set(), {"EE": 1})
    assert parse_type("char[DD]", {}, {"DD": 2}) == Array(char, 2)
    with pytest.raises(CDefError, match="not known here"):
        parse_type("char[DD]", set(), {"DD": None})     # '#define DD ...'
    # Only probed, never iterated.
    names, constants = ProbeOnlyNames([]), ProbeOnlyConstants({"N": 6})
    assert parse_type("char[N]", names, constants) == Array(char, 6)
    assert constants.lookups <= 2


def test_negative_array_lengths_are_left_to_the_model():
    assert parse_type("int[-5]", ()) == Array(INT, -5)
    assert parse_type("char[A]", (), {"A": -1}) == Array(CHAR, -1)
    assert parse_type("int[2][-1]", ()) == Array(Array(INT, -1), 2)
    assert parse_type("int[0]", ()) == Array(INT, 0)
    assert parse_type("int[-0]", ()) == Array(INT, 0)
    assert bare("int a[-1];\n#define M -3\nchar b[M + 1];") == [
        VariableDecl("a", Array(INT, -1)), ConstantDecl("M", -3),
        VariableDecl("b", Array(CHAR, -2))]
    assert bare("struct s { int x[1 - 2]; };") == [
        StructDef("struct", "s", (Field("x", Array(INT, -1)),))]


# ---- cost: only `in` and `[]` on the given containers -----------------------------------

class ProbeOnlyNames:
    """A container that counts lookups and refuses to be iterated or measured."""

    def __init__(self, names):
        self.names = set(names)
        self.lookups = 0

    def __contains__(self, name):
        self.lookups += 1
        return name in self.names

    def __iter__(self):
        raise AssertionError("typedef_names must not be iterated")

    def __len__(self):
        raise AssertionError("typedef_names must not be measured")


class ProbeOnlyConstants(ProbeOnlyNames):
    def __init__(self, values):
        super().__init__(values)
        self.values = dict(values)

    def __getitem__(self, name):
        self.lookups += 1
        return self.values[name]

    def keys(self):
        raise AssertionError("constants must not be iterated")


def test_containers_are_only_probed():
    source = "".join("typedef t%d u%d; int a%d[K + %d];\n" % (i, i, i, i) for i in range(200))
    small = ProbeOnlyNames(["t%d" % i for i in range(200)])
    large = ProbeOnlyNames(["t%d" % i for i in range(20000)])
    small_constants = ProbeOnlyConstants({"K": 1})
    large_constants = ProbeOnlyConstants(dict({"K": 1}, **{"C%d" % i: i
                                                           for i in range(20000)}))
    first = parse_cdef(source, small, small_constants)
    second = parse_cdef(source, large, large_constants)
    assert first == second
    assert small.lookups == large.lookups <= 2 * 200
    assert small_constants.lookups == large_constants.lookups <= 2 * 200


def test_parse_cdef_of_many_typedefs():
    # (how the time grows with the number of declarations is measured by the
    # "typeof scaling" rows of benchmarks/run.py: timing assertions do not belong in
    # tests on a shared machine)
    source = "".join("typedef int t%d;\n" % i for i in range(20000))
    declarations = parse_cdef(source, set(), {})
    assert len(declarations) == 20000


def test_parse_type_with_many_known_names():
    names = {"t%d" % i for i in range(100000)}
    assert parse_type("t99999 *", names) is not None
    for text in ("struct foo *", "unsigned long long[10]"):
        assert parse_type(text, names) is not None


# ---- robustness: garbage and mutations never raise anything but CDefError ---------------

VALID_CDEFS = [
    "typedef struct foo { int x; char *name; } foo_t, *foo_p;",
    "struct s { union { int a; float b; }; int c:3; int :0; char d[]; };",
    "struct p { union { int a; float b; }; int n; ...; char d[]; };",
    "enum e { A = 1 << 3, B = A | 1, C, ... };",
    "int (*signal(int sig, void (*func)(int)))(int);",
    "#define N 10\nint arr[N][2];\nstatic const int K = N * 2;\n",
    "typedef int (__stdcall *cb_t)(int, ...);\nextern cb_t callbacks[4];",
    "void f(const char *restrict s, unsigned long long n, foo_t t) "
    "__attribute__((nonnull(1)));",
    "typedef enum { RED, GREEN = 'g', BLUE = -1 } color_t; color_t c;",
    "struct list { struct list *next; int (*cmp)(const void *, const void *); };",
    "int printf(const char *, ...); long double ld; float _Complex fc;",
]


def parse_anything(text):
    """Parse text as a cdef and as a type; only CDefError may come out."""
    with time_limit(10):
        for parse in (lambda: parse_cdef(text, {"foo_t"}, {"K": 3}),
                      lambda: parse_type(text, {"foo_t"})):
            try:
                parse()
            except CDefError as error:
                assert error.line is None or error.line >= 1
                assert error.column is None or error.column >= 1


C_ALPHABET = st.sampled_from(list("intcharsuvoldgfe_xyzKN0123456789*()[]{};,.:=+-/%<>!~?&|^#")
                             + list("'\"\\ \t\n")
                             + ["int ", "struct ", "enum ", "typedef ", "...", "/*", "*/",
                                "//", "#define ", "unsigned ", "foo_t", "__attribute__",
                                "__stdcall", "const ", "(*", ")(", "\\\n"])


@settings(max_examples=fuzz_examples(200), deadline=3000,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_never_crashes(text):
    parse_anything(text)


@settings(max_examples=fuzz_examples(150), deadline=3000,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data):
    parse_anything(data.decode("latin-1"))


@settings(max_examples=fuzz_examples(200), deadline=3000,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(C_ALPHABET, max_size=80))
def test_random_c_like_text_never_crashes(pieces):
    parse_anything("".join(pieces))


TOKEN_SPLIT_RE = re.compile(r"\s+|\w+|\.\.\.|\S")


def mutate(draw, source, replacements=None):
    """source with 1 to 6 random token edits (also used by test_cdef_fuzz.py);
    replacements: a strategy for tokens that replace one (no replacing without it)."""
    pieces = TOKEN_SPLIT_RE.findall(source)
    actions = ["delete", "duplicate", "swap", "insert"] + ["replace"] * (replacements is not None)
    for _ in range(draw(st.integers(1, 6))):
        if not pieces:
            break
        index = draw(st.integers(0, len(pieces) - 1))
        action = draw(st.sampled_from(actions))
        if action == "delete":
            del pieces[index]
        elif action == "duplicate":
            pieces.insert(index, pieces[index] * draw(st.integers(1, 3)))
        elif action == "swap":
            other = draw(st.integers(0, len(pieces) - 1))
            pieces[index], pieces[other] = pieces[other], pieces[index]
        elif action == "insert":
            pieces.insert(index, draw(C_ALPHABET))
        else:
            pieces[index] = draw(replacements)
    return "".join(pieces)


@st.composite
def mutated_cdefs(draw):
    return mutate(draw, draw(st.sampled_from(VALID_CDEFS)))


@settings(max_examples=fuzz_examples(300), deadline=3000,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated_cdefs())
def test_mutated_cdefs_never_crash(text):
    parse_anything(text)


@pytest.mark.parametrize("depth", [10, 20, 100, 5000])
def test_deep_nesting_is_an_error_not_a_crash(depth):
    # Iterative constructs have no depth limit (unary operators are read in a loop):
    assert define_value("- " * depth + "1") == (-1) ** depth
    assert define_value("1" + " + 1" * depth) == depth + 1
    if depth <= 20:
        assert cdef("int " + "*" * depth + "p;")
    else:   # type nodes are hashed recursively: their depth is bounded too
        assert "nested too deeply" in str(cdef_error("int " + "*" * depth + "p;"))
        assert "nested too deeply" in str(type_error("int " + "*" * depth))
        assert "nested too deeply" in str(type_error("int " + "[1]" * depth))
        deep_argument = "void (*)(" * (depth // 2) + "int" + ")" * (depth // 2)
        assert "nested too deeply" in str(type_error(deep_argument))
    # Recursive ones are limited (64 levels) and fail cleanly beyond:
    sources = [
        "#define X " + "(" * depth + "1" + ")" * depth,
        "int " + "(" * depth + "*x" + ")" * depth + ";",
        "struct a { " * depth + "int x;" + " } f;" * depth,
        "void f(" * depth + "int" + ")" * depth + ";",
        "enum e { A = " + "(" * depth + "1" + ")" * depth + " };",
    ]
    for source in sources:
        if depth <= 20:
            assert cdef(source)
        else:
            error = cdef_error(source)
            assert "nested too deeply" in str(error)
    if depth > 20:
        assert "nested too deeply" in str(type_error("int " + "(" * depth + "*" + ")" * depth))


@pytest.mark.parametrize("text", [
    "/* " * 20000, "'\\" * 20000, '"\\' * 20000, "int x;\n" + "'\\" * 20000 + "\n",
    ".." * 30000, "0" * 60000, "(" * 60000, "int x" + "[1" * 30000, "#define X " + "(" * 60000,
    "struct s { " * 20000, "int f(" * 20000, "__attribute__((" * 20000,
])
def test_long_hostile_inputs_fail_in_linear_time(text):
    with time_limit(30):                # a hang guard, not a timing assertion
        with pytest.raises(CDefError) as info:
            parse_cdef(text, set(), {})
    assert len(info.value.text or "") <= 60000


def test_mutation_sample_contains_valid_inputs():
    # Sanity check of the corpus: every unmutated cdef parses.
    for source in VALID_CDEFS:
        assert cdef(source, {"foo_t"})


# ---- round trip: random declarator trees printed to C and parsed back -------------------

BASE_TYPES = [INT, CHAR, Primitive("unsigned long long"), Primitive("double"),
              Primitive("size_t"), Named("foo_t"), Tagged("struct", "s"),
              Tagged("union", "u"), Tagged("enum", "e")]


@st.composite
def types(draw, depth=4, role="any", with_abi=True, with_partial=True):
    """A random valid C type.  role restricts it where C does: an array item is no
    function, no void and no array of unknown length; a function result is no array
    and no function; a parameter is not void."""
    kinds = ["base"]
    if depth > 0:
        kinds += ["pointer", "array"]
        if role not in ("array item", "result"):
            kinds.append("function")
        if role == "result":
            kinds.remove("array")
    kind = draw(st.sampled_from(kinds))
    more = dict(with_abi=with_abi, with_partial=with_partial)
    if kind == "base":
        void_allowed = role not in ("array item", "parameter")
        return draw(st.sampled_from(BASE_TYPES + [Void()] * void_allowed))
    if kind == "pointer":
        return Pointer(draw(types(depth - 1, "any", **more)), draw(st.booleans()))
    if kind == "array":
        lengths = [st.integers(0, 99)]
        if role != "array item":
            lengths.append(st.none())
        if with_partial:
            lengths.append(st.just("..."))
        return Array(draw(types(depth - 1, "array item", **more)),
                     draw(st.one_of(*lengths)))
    args = tuple(draw(st.lists(types(depth - 1, "parameter", **more), max_size=3)))
    result = draw(types(depth - 1, "result", **more))
    abi = draw(st.sampled_from([None, "__stdcall", "__cdecl"])) if with_abi else None
    return Function(args, result, bool(args) and draw(st.booleans()), abi)


def base_name(node):
    if isinstance(node, Primitive):
        return node.name
    if isinstance(node, Void):
        return "void"
    if isinstance(node, Named):
        return node.name
    return "%s %s" % (node.kind, node.name)


def render_declaration(node, inner, parameter_names=None):
    """C text declaring `inner` (a name, or "" for an abstract declarator) with type
    node, built inside-out as C declarators are."""
    while True:
        if isinstance(node, Pointer):
            inner = "*" + (" const " if node.const else "") + inner
            node = node.item
        elif isinstance(node, Array):
            if inner.startswith("*"):
                inner = "(%s)" % inner
            length = "" if node.length is None else str(node.length)
            inner = "%s[%s]" % (inner, length)
            node = node.item
        elif isinstance(node, Function):
            if node.abi and (inner.startswith("*") or inner.startswith("(")):
                inner = "(%s %s)" % (node.abi, inner)
            elif node.abi:
                inner = "%s %s" % (node.abi, inner)
            elif inner.startswith("*"):
                inner = "(%s)" % inner
            inner = "%s(%s)" % (inner, render_parameters(node, parameter_names))
            node = node.result
        else:
            return "%s %s" % (base_name(node), inner)


def render_parameters(function, parameter_names):
    if not function.args:
        return "void" if parameter_names is None else ""
    texts = []
    for index, arg in enumerate(function.args):
        name = "" if parameter_names is None else "%s%d" % (parameter_names, index)
        texts.append(render_declaration(arg, name, parameter_names))
    if function.ellipsis:
        texts.append("...")
    return ", ".join(texts)


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(types(), st.sampled_from([None, "arg"]))
def test_random_declarators_round_trip(node, parameter_names):
    typedef = "typedef %s;" % render_declaration(node, "the_type", parameter_names)
    assert bare(typedef, {"foo_t"}) == [Typedef("the_type", node)]
    assert parse_type(render_declaration(node, "", parameter_names), {"foo_t"}) == node
    if isinstance(node, Void):
        return
    declaration = bare("extern %s;" % render_declaration(node, "thing"), {"foo_t"})
    if isinstance(node, Function):
        assert declaration == [FunctionDecl("thing", node)]
    elif isinstance(node, Pointer) and node.const:     # 'T *const thing': read-only
        assert declaration == [ConstantDecl("thing", None, node)]
    else:
        assert declaration == [VariableDecl("thing", node)]


# ---- pycparser as an oracle -------------------------------------------------------------

PYCPARSER_PREAMBLE = ("typedef int foo_t; typedef unsigned long size_t; "
                      "typedef int wchar_t;\n")


def from_pycparser(node):
    """Convert a pycparser type node into an nffi.decls type node."""
    if isinstance(node, c_ast.TypeDecl):
        inner = node.type
        if isinstance(inner, c_ast.IdentifierType):
            names = " ".join(inner.names)
            return Named(names) if names == "foo_t" else parse_type(names, ())
        kind = {c_ast.Struct: "struct", c_ast.Union: "union", c_ast.Enum: "enum"}
        return Tagged(kind[type(inner)], inner.name)
    if isinstance(node, c_ast.PtrDecl):
        return Pointer(from_pycparser(node.type), "const" in node.quals)
    if isinstance(node, c_ast.ArrayDecl):
        length = None if node.dim is None else int(node.dim.value)
        return Array(from_pycparser(node.type), length)
    if isinstance(node, c_ast.FuncDecl):
        params = node.args.params if node.args is not None else []
        ellipsis = bool(params) and isinstance(params[-1], c_ast.EllipsisParam)
        params = [p for p in params if not isinstance(p, c_ast.EllipsisParam)]
        args = [from_pycparser(p.type) for p in params]
        if args == [Void()]:
            args = []
        return Function(tuple(args), from_pycparser(node.type), ellipsis)
    if isinstance(node, c_ast.Typename):
        return from_pycparser(node.type)
    raise AssertionError("unexpected pycparser node %r" % (node,))


def parse_with_pycparser(source):
    return pycparser.c_parser.CParser().parse(PYCPARSER_PREAMBLE + source)


@pytest.mark.skipif(pycparser is None, reason="pycparser not installed")
@settings(max_examples=fuzz_examples(200), deadline=None)
@given(types(with_abi=False, with_partial=False), st.sampled_from([None, "arg"]))
def test_random_declarators_agree_with_pycparser(node, parameter_names):
    source = "typedef %s;" % render_declaration(node, "the_type", parameter_names)
    ast = parse_with_pycparser(source)
    assert from_pycparser(ast.ext[-1].type) == node
    assert bare(source, {"foo_t"}) == [Typedef("the_type", node)]


PYCPARSER_COMPATIBLE_CDEFS = [
    source for source in VALID_CDEFS
    if not re.search(r"\.\.\.\s*[;}]|__stdcall|__attribute__|#define|_Complex", source)
] + [
    "struct a { struct b { int x; } in; union { int i; } un; enum { Q } q; };",
    "typedef int t1, *t2, t3[4], t4(int), (*t5)(int);",
    "static const int K = 3 * 4 - 1; int v[K];",
]


@pytest.mark.skipif(pycparser is None, reason="pycparser not installed")
@pytest.mark.parametrize("source", PYCPARSER_COMPATIBLE_CDEFS)
def test_valid_corpus_is_valid_c_and_agrees_on_declared_names(source):
    ast = parse_with_pycparser(source)
    expected_names = [node.name for node in ast.ext[3:] if node.name]
    ours = [d.name for d in cdef(source, {"foo_t"})
            if isinstance(d, (Typedef, FunctionDecl, VariableDecl, ConstantDecl))]
    assert ours == expected_names


def test_random_seeded_cdef_round_trip_of_structs():
    """Structs with random field types, printed and parsed back."""
    generator = random.Random(1234)
    leaves = [INT, CHAR, Primitive("unsigned short"), Pointer(CHAR), Named("foo_t"),
              Array(INT, 3), Pointer(fn([INT], Void())), Array(Array(CHAR, 2), 5)]
    for _ in range(100):
        fields = tuple(Field("f%d" % i, generator.choice(leaves))
                       for i in range(generator.randint(1, 6)))
        body = " ".join("%s;" % render_declaration(f.type, f.name) for f in fields)
        assert bare("struct r { %s };" % body, {"foo_t"}) == [
            StructDef("struct", "r", fields)]


# ---- extern "Python" (a flag on the function declaration) ------------------------------

EXTERN_PYTHON_CDEF = """
    int bok(int, int);
    extern "Python" int foobar(int, int);
    extern "Python + C" { int plus1(int); typedef int t_in_block; int plus2(void); }
    extern "C+Python" void cp(void);
    extern "Python" {int g1(int, int);int g2(int);}
    int baz(int, int);
"""


def test_extern_python_is_a_flag_on_the_function():
    decls = {d.name: d for d in cdef(EXTERN_PYTHON_CDEF)}
    kinds = {name: getattr(d, "extern_python", None) for name, d in decls.items()}
    assert kinds == {"bok": None, "foobar": "Python", "plus1": "Python+C",
                     "t_in_block": None, "plus2": "Python+C", "cp": "Python+C",
                     "g1": "Python", "g2": "Python", "baz": None}
    assert decls["foobar"].type == decls["bok"].type == fn([INT, INT], INT)
    assert (decls["foobar"].line, decls["foobar"].column) == (3, 25)


@pytest.mark.skipif(cffi is None, reason="cffi is the oracle")
def test_extern_python_agrees_with_cffi():
    ffi = cffi.FFI()
    ffi.cdef(EXTERN_PYTHON_CDEF)
    theirs = {}
    for key in ffi._parser._declarations:
        kind, name = key.split(" ", 1)
        if kind in ("function", "extern_python", "extern_python_plus_c"):
            theirs[name] = {"function": None, "extern_python": "Python",
                            "extern_python_plus_c": "Python+C"}[kind]
    ours = {d.name: d.extern_python for d in cdef(EXTERN_PYTHON_CDEF)
            if isinstance(d, FunctionDecl)}
    assert ours == theirs


@pytest.mark.parametrize("source, message", [
    ('extern "Python" int x;', "cannot declare constants or variables with 'extern "
                               "\"Python\"'"),
    ('extern "Python" { int f(int);', "expected '}'"),
    ('extern "Java" int f(int);', "unsupported language linkage"),
    ('extern "Python" { extern "Python" int f(int); }', "inside another one"),
])
def test_extern_python_errors(source, message):
    assert message in cdef_error(source).message


def test_extern_python_in_abi_mode_is_declared_but_not_in_lib():
    import nffi
    ffi = nffi.FFI()
    ffi.cdef('extern "Python" int cb(int); int abs(int);')
    lib = ffi.dlopen(None)
    assert lib.abs(-3) == 3
    with pytest.raises(AttributeError, match="compiled module"):
        lib.cb
    assert ffi.typeof("int(*)(int)") is ffi.typeof(ffi.callback("int(int)", abs))


# ---- cffi's dialect: line markers, #pragma, '//' continued, cffi's error texts ---------

def _cffi_text_of(source, method="cdef"):
    """(class, str) of the error nffi.compat's FFI (cffi's texts) raises."""
    from nffi.compat import CffiFFI
    ffi = CffiFFI()
    with pytest.raises(Exception) as info:
        ffi.cdef(source) if method == "cdef" else ffi.cast(source, 0)
    return info.type, str(info.value)


def _cffi_oracle(source, method="cdef"):
    ffi = cffi.FFI()
    with pytest.raises(Exception) as info:
        ffi.cdef(source) if method == "cdef" else ffi.cast(source, 0)
    return info.type.__name__, str(info.value)


CFFI_ERROR_TEXTS = [
    ("int foo(...);", "cdef"),
    (" x y z ", "cdef"),
    ("\n\n\n x y z ", "cdef"),
    ("void f(foobarbazzz);", "cdef"),
    ("void f(foobarbazzz, int);", "cdef"),
    ("void foo(void) {}", "cdef"),
    ('#define FOO "blah"', "cdef"),
    ("#define FOO 1 + x", "cdef"),
    ("typedef enum foo_e foo_t; enum foo_e { AA, BB };", "cdef"),
    ("foobarbazunknown", "cast"),
]


@pytest.mark.skipif(cffi is None, reason="cffi is the oracle")
@pytest.mark.parametrize("source, method", CFFI_ERROR_TEXTS)
def test_compat_error_texts_are_cffis(source, method):
    kind, text = _cffi_text_of(source, method)
    oracle_kind, oracle_text = _cffi_oracle(source, method)
    assert kind.__name__ == oracle_kind or issubclass(kind, getattr(
        __import__("builtins"), oracle_kind, ()))
    if oracle_text.startswith("cannot parse") or oracle_text.startswith("parse error"):
        # the rest is pycparser's and varies with its version (nffi writes what
        # cffi's own tests expect: 'FILE:LINE:COLUMN: before: TOKEN')
        assert text.split("\n")[0] == oracle_text.split("\n")[0]
        assert text.split("\n")[1].split(":")[:2] == oracle_text.split("\n")[1].split(":")[:2]
    else:
        assert text == oracle_text


@pytest.mark.parametrize("source, method", CFFI_ERROR_TEXTS)
def test_nffi_error_texts_keep_the_position(source, method):
    import nffi
    ffi = nffi.FFI()
    with pytest.raises(Exception) as info:
        ffi.cdef(source) if method == "cdef" else ffi.cast(source, 0)
    assert isinstance(info.value, CDefError)
    text = str(info.value)
    assert re.match(r"line \d+, column \d+: ", text)
    assert "^" in text.splitlines()[-1]
    if not info.value.before:       # cffi's semantic messages are contained
        assert info.value.cffi_text().split(": ", 1)[-1].split("\n")[0] in text


@pytest.mark.parametrize("marker", ['# 8 "baz.c"', '#line 8 "baz.c"',
                                    ' \t # \t line \t 8 \t "baz.c" \t', '# 8 "baz.c" 1 3'])
def test_line_markers_give_error_positions(marker):
    source = "int a;\n%s\n\nsome syntax error here\nint b;\n" % marker
    error = cdef_error(source)
    assert (error.line, error.column) == (4, 1)     # in the source given
    error._mark_file(cparser._Parser(source, set(), {}, True).line_marks or [])
    import nffi
    with pytest.raises(CDefError) as info:
        nffi.FFI().cdef(source)
    text = str(info.value)
    assert text.startswith("baz.c:9:1: unknown type name 'some'")
    assert text.endswith("    some syntax error here\n    ^")       # the source's line
    info.value.cffi_style = True
    assert str(info.value) == "parse error\nbaz.c:9:6: before: syntax"


def test_line_markers_follow_each_other_and_ignore_comments():
    source = ('/*\n#line 5 "foo.c"\n*/\nvoid xx(void);\n#line 6 "bar.c"\n'
              '// # 35 "foo.c"\nint a;\n some syntax error\n')
    import nffi
    with pytest.raises(CDefError) as info:
        nffi.FFI().cdef(source)
    assert str(info.value).startswith("bar.c:8:2: ")
    # declarations after a marker are declared as usual
    assert [d.name for d in cdef('# 1 "x.h"\nint a;\n#line 7\nint b;')] == ["a", "b"]


def test_pragma_is_ignored_with_cffis_warning():
    with pytest.warns(UserWarning, match="#pragma in cdef.. are entirely ignored"):
        assert [d.name for d in cdef("#pragma foobar\nint a;\n#pragma pack(1)")] == ["a"]


def test_line_comment_continued_by_backslash_newline():
    source = ("double // blah \\\n   more comments\nx(void);\n"
              "double // blah // blah\\\\\ny(void);\n"
              "double // blah\\ \\\n  etc\nz(void);\n")
    decls = cdef(source)
    assert [(d.name, d.line) for d in decls] == [("x", 3), ("y", 5), ("z", 8)]
    if cffi is not None:
        ffi = cffi.FFI()
        ffi.cdef(source)
        assert sorted(k for k in ffi._parser._declarations) == [
            "function x", "function y", "function z"]


def test_enum_defined_after_a_first_mention():
    with pytest.raises(NotImplementedError) as info:
        cdef("typedef enum foo_e foo_t; enum foo_e { AA, BB };")
    assert isinstance(info.value, CDefError)
    assert (info.value.line, info.value.column) == (1, 32)
    assert "should appear on the first time the enum is mentioned" in str(info.value)
    # the other order is fine
    assert len(cdef("enum foo_e { AA, BB }; typedef enum foo_e foo_t;")) == 2


def test_redefining_file_and_common_type_names():
    import nffi
    ffi = nffi.FFI()
    assert ffi.typeof("FILE *").item.cname == "FILE"
    ffi.cdef("typedef char FILE;")
    assert repr(ffi.cast("FILE", 123)) == "<cdata 'char' b'{'>"
    assert ffi.typeof("FILE *") is ffi.typeof("char *")       # the cache was cleared
    ffi.cdef("typedef char FILE;")                            # the same again: fine
    with pytest.raises(nffi.FFIError):
        ffi.cdef("typedef int FILE;")
    ffi = nffi.FFI()
    ffi.cdef("typedef int bool, *FILE;")
    assert repr(ffi.cast("bool", 123)) == "<cdata 'int' 123>"
    assert ffi.typeof("FILE") is ffi.typeof("int *")


def test_typedef_of_void_as_the_only_parameter():
    import nffi
    ffi = nffi.FFI()
    ffi.cdef("typedef void void_t1; typedef void_t1 void_t; typedef int (*func_t)(void_t);"
             "int f(void_t);")
    assert ffi.typeof("func_t").args == ()
    assert ffi.typeof("int(*)(void_t)") is ffi.typeof("int(*)(void)")
    with pytest.raises(CDefError):
        ffi.cdef("int g(void_t, int);")
