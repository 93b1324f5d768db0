"""Type stubs (``.pyi``) for the ``lib`` of a cdef, so that editors complete ``lib.`` and
mypy checks the calls::

    python -m nffi.stubgen decls.h -o _mylib.pyi          # a file of cdef source
    python -m nffi.stubgen mypkg.build:ffi -o _mylib.pyi  # an FFI object, by module:attribute

The stub declares ``class Lib`` (one method per function, one attribute per constant and
global variable), ``lib: Lib`` and ``ffi: FFI``. That is the shape of an API-mode module
(``ffi.set_source("_mylib", ...)``): name the stub after the module, put it beside it,
and ``from _mylib import lib`` is checked. In ABI mode, annotate the library::

    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from _mylib import Lib
    lib: "Lib" = ffi.dlopen("mylib")

How C types become Python types (what nffi accepts as an argument, what a call returns):

=============================  ==========================  ===========================
C type                         argument                    result
=============================  ==========================  ===========================
integers, enums                ``int``                     ``int``
``_Bool``                      ``int`` (``bool`` is one)   ``bool``
``float``, ``double``          ``float`` (or ``int``)      ``float``
``long double``                ``float | CData``           ``CData``
complex types                  ``complex``                 ``complex``
``char``                       ``bytes`` (one byte)        ``bytes``
``wchar_t``, ``char16/32_t``   ``str`` (one character)     ``str``
``char *``, ``const char *``   ``bytes | CData``           ``CData``
``void *``                     ``CData``                   ``CData``
other pointers                 ``CData``, or a list or     ``CData``
                               tuple of items
structs, unions (by value)     ``CData``, a dict, a list   ``CData``
function pointers              ``CData``                   ``CData``
``void``                                                   ``None``
=============================  ==========================  ===========================

A NULL pointer is ``ffi.NULL`` (a CData), as nffi and cffi take no ``None`` for it. A
variadic function takes ``*args: Any`` after its fixed parameters.
"""
import argparse
import importlib
import keyword
import os
import sys

__all__ = ["stub_for_ffi", "stub_for_cdef", "main"]

_WIDE_CHARS = {"wchar_t", "char16_t", "char32_t"}
_FLOATS = {"float", "double"}


def _primitive(ct, argument):
    name = ct.cname
    if name == "char":
        return "bytes"
    if name in _WIDE_CHARS:
        return "str"
    if name == "_Bool":
        return "int" if argument else "bool"
    if name in _FLOATS:
        return "float"
    if name == "long double":
        return "float | CData" if argument else "CData"
    if "_Complex" in name:
        return "complex"
    return "int"


def python_type(ct, argument):
    """The Python type (as stub text) that nffi accepts for a C type as a function's
    argument (argument=True), or that it gives back as a result or a global's value."""
    kind = ct.kind
    if kind == "primitive":
        return _primitive(ct, argument)
    if kind == "enum":
        return "int"
    if kind == "void":
        return "None"
    if not argument:
        return "CData"
    if kind == "pointer":
        if ct.item.kind == "primitive" and ct.item.cname == "char":
            return "bytes | CData"
        if ct.item.kind == "void":
            return "CData"
        return "CData | list[Any] | tuple[Any, ...]"    # a list: a temporary array
    if kind == "array":
        return "CData | list[Any] | tuple[Any, ...]"
    if kind in ("struct", "union"):
        return "CData | dict[str, Any] | list[Any] | tuple[Any, ...]"
    return "CData"                          # function pointers: ffi.callback(), ffi.NULL


def _identifier(name, taken):
    name = name if name.isidentifier() and not keyword.iskeyword(name) else "arg"
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = "%s%d" % (name, n)
    taken.add(candidate)
    return candidate


def _function_stub(name, ct):
    taken = set()
    params = ["%s: %s" % (_identifier("arg%d" % i, taken), python_type(arg, True))
              for i, arg in enumerate(ct.args)]
    if params:
        params.append("/")
    if ct.ellipsis:
        params.append("*args: Any")
    doc = ct.cname.replace("(*)", " " + name, 1)
    return ('    @staticmethod\n    def %s(%s) -> %s:\n        """%s"""\n'
            % (name, ", ".join(params), python_type(ct.result, False), doc))


def _value_type(value):
    if value is None:          # '#define NAME ...': an integer the compiler knows
        return "int"
    for py in (bool, int, float, bytes, str):
        if isinstance(value, py):
            return py.__name__
    return "Any"


def stub_for_ffi(ffi, module_doc=None):
    """The text of a .pyi for the lib of an FFI object: what its cdef declared."""
    model = ffi._model
    functions, attributes = [], []
    for name in sorted(model.functions):
        ct = model.resolve(model.functions[name].type, allow_function=True)
        functions.append(_function_stub(name, ct))
    for name in sorted(model.variables):
        ct = model.resolve(model.variables[name].type, allow_function=True)
        if ct.kind == "function":            # 'func_t f;': a function by a typedef
            functions.append(_function_stub(name, ct))
        else:
            attributes.append("    %s: %s    # %s\n" % (
                name, python_type(ct, False), ct.cname))
    for name in sorted(set(model.constants) | set(model.constant_decls)):
        decl = model.constant_decls.get(name)
        if decl is not None and decl.type is not None:   # 'static const T NAME;'
            py = python_type(model.resolve(decl.type), False)
        else:                                # '#define', enumerators
            py = _value_type(model.constants.get(name))
        attributes.append("    %s: Final[%s]\n" % (name, py))
    lines = ['"""%s"""\n' % (module_doc or "Stubs written by python -m nffi.stubgen."),
             "from typing import Any, Final\n\n",
             "from nffi import FFI\n",
             "from nffi._core import CData\n\n\n",
             "class Lib:\n",
             '    """The functions, constants and globals of the cdef."""\n']
    lines += attributes
    if attributes and functions:
        lines.append("\n")
    lines.append("\n".join(functions))
    lines.append("\n\nlib: Lib\nffi: FFI\n")
    return "".join(lines)


def stub_for_cdef(source, module_doc=None):
    """The text of a .pyi for the lib of a cdef given as source text."""
    from . import FFI
    ffi = FFI()
    ffi.cdef(source)
    return stub_for_ffi(ffi, module_doc)


def _load_ffi(spec):
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    ffi = module
    for part in attribute.split("."):
        ffi = getattr(ffi, part)
    if not hasattr(ffi, "_model"):
        raise SystemExit("nffi.stubgen: %s is not an nffi FFI object (%s)"
                         % (spec, type(ffi).__name__))
    return ffi


def main(argv=None):
    """The command line: ``python -m nffi.stubgen SOURCE [-o OUTPUT]``."""
    parser = argparse.ArgumentParser(
        prog="python -m nffi.stubgen",
        description="Write a .pyi stub for the lib of a cdef (see the module docstring).")
    parser.add_argument("source", help="a file of cdef source, or module:attribute "
                        "naming an FFI object (the module is imported)")
    parser.add_argument("-o", "--output", help="the .pyi to write (default: standard "
                        "output)")
    args = parser.parse_args(argv)
    if ":" in args.source and not os.path.exists(args.source):
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())   # as 'python -m' users expect
        text = stub_for_ffi(_load_ffi(args.source),
                            "Stubs of %s's lib, by python -m nffi.stubgen." % args.source)
    else:
        with open(args.source, encoding="utf-8") as f:
            source = f.read()
        text = stub_for_cdef(source, "Stubs of the cdef %s, by python -m nffi.stubgen."
                             % os.path.basename(args.source))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
