"""The recompiler of API mode: the C source of an extension module from an FFI's
declarations and the user's C source (``ffi.set_source``).

The generated module contains, after the user's source:

* a direct-call function ``_nffi_d_NAME`` per function (its address is
  ``ffi.addressof(lib, "NAME")``; it also works for functions that are macros);
* one METH_FASTCALL wrapper body per signature of (non-variadic) functions: exact ints
  in range, floats, bytes and cdata pointers of the exact type are converted inline;
  anything else goes through the core's C API (nffi_capi.h, the capsule
  ``nffi._core._C_API``), i.e. through the very converters of ABI mode, so errors are
  identical.  The call sits in the core's call bracket (GIL released unless the function
  was declared with ``cdef(..., release_gil=False)``, the thread's ``ffi.errno`` restored
  before and saved after it), as in ABI mode.  Functions sharing a signature share the
  body (a module of many functions compiles faster), each with an entry point of its own;
* the addresses of the global variables (a getter each) and the 'extern "Python"'
  functions (C functions calling the core's callback path);
* the compiler's answers (``NffiAnswer``): sizes, alignments and field offsets of every
  struct/union, ``[...]`` lengths, the values of constants and enumerators;
* the declarations themselves (parsed, pickled) and a ``PyInit`` that hands all of it to
  the core, which makes ``ffi`` and ``lib`` lazily (nffi/apimodule.py).
"""
import os
import pickle

from . import _core, cparser
from .decls import (Array, Function, Named, Opaque, Pointer, Primitive, Tagged,
                    UnknownPrimitive, Void)
from .errors import VerificationError

_HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_core", "nffi_capi.h")

_FLOATS = ("float", "double")
_SLOW_PRIMITIVES = ("char", "wchar_t", "char16_t", "char32_t", "_Bool", "long double",
                    "float _Complex", "double _Complex")


def capi_header_text():
    with open(_HEADER) as f:
        return f.read()


def _c_string(text):
    """A C string literal for any text (split in lines, escapes for the rest)."""
    return _c_bytes_literal(text.encode("utf-8"))


def _c_bytes_literal(data):
    """A C string literal for any bytes: one piece per line of the data (or per 64
    bytes), printable ASCII as is, everything else as 3-digit octal escapes."""
    out = []
    lines = data.splitlines(True) or [b""]
    lines = [line[i:i + 64] for line in lines for i in range(0, max(len(line), 1), 64)]
    for line in lines:
        piece = []
        for ch in line:
            c = chr(ch)
            if c == "\\" or c == '"':
                piece.append("\\" + c)
            elif c == "\n":
                piece.append("\\n")
            elif 32 <= ch < 127 and c != "?":       # '?': no trigraphs
                piece.append(c)
            else:
                piece.append("\\%03o" % ch)
        out.append('"%s"' % "".join(piece))
    return "\n    ".join(out)


class Recompiler:
    """Turns one FFI (its model and the recorded cdef actions) plus the user's source
    into the text of the extension module's .c file."""

    def __init__(self, ffi, module_name, source, cplusplus=False):
        self.ffi = ffi
        self.model = ffi._model
        self.module_name = module_name
        self.source = source
        self.cplusplus = cplusplus
        self.tag_names = self._anonymous_tag_names()

    # ---- C spelling of type nodes -------------------------------------------------------

    def _anonymous_tag_names(self):
        """'$...' tags of anonymous structs/unions/enums -> the typedef naming them."""
        names = {}
        for name, node in self.model.typedefs.items():
            if isinstance(node, Tagged) and node.name.startswith("$"):
                names.setdefault((node.kind, node.name), name)
        return names

    def spell_tagged(self, kind, tag):
        if tag.startswith("$"):
            name = self.tag_names.get((kind, tag))
            if name is None:
                return None
            return name
        return "%s %s" % (kind, tag)

    def declarator(self, node, inner=""):
        """The C declaration of 'inner' with type 'node' ('int (*x)[5]', ...)."""
        if isinstance(node, Primitive):
            return self._join(node.name, inner)
        if isinstance(node, Void):
            return self._join("void", inner)
        if isinstance(node, Named):
            # spelled as what it names (as cffi: the C source need not have the
            # typedef, e.g. one from an included FFI), except anonymous structs
            target = self.model.typedefs.get(node.name)
            if target is None or self._only_named(target):
                return self._join(node.name, inner)
            return self.declarator(target, inner)
        if isinstance(node, (Opaque, UnknownPrimitive)):
            return self._join(node.name, inner)
        if isinstance(node, Tagged):
            spelled = self.spell_tagged(node.kind, node.name)
            if spelled is None:
                raise VerificationError("cannot name the anonymous %s %s in C: give it "
                                        "a typedef name" % (node.kind, node.name[1:]))
            return self._join(spelled, inner)
        if isinstance(node, Pointer):
            inner = "*" + inner
            if isinstance(node.item, (Array, Function)):
                inner = "(%s)" % inner
            return self.declarator(node.item, inner)
        if isinstance(node, Array):
            length = "" if node.length is None else node.length
            if length == "...":
                raise VerificationError("internal: '[...]' reached the C spelling")
            return self.declarator(node.item, "%s[%s]" % (inner, length))
        if isinstance(node, Function):
            params = ", ".join(self.declarator(self.decay(a)) for a in node.args)
            if node.ellipsis:
                params = params + ", ..." if params else "..."
            elif not params:
                params = "void"
            return self.declarator(node.result, "%s(%s)" % (inner, params))
        raise VerificationError("cannot spell the type %r in C" % (node,))

    @staticmethod
    def _only_named(target):
        """A typedef that C can only spell by its name: of an anonymous struct, or of
        something the cdef leaves to the compiler ('typedef ... T', 'typedef int... T')."""
        if next(_unknown_lengths(target), None) is not None:
            return True
        if isinstance(target, Pointer):
            target = target.item
        return (isinstance(target, (Opaque, UnknownPrimitive)) or
                (isinstance(target, Tagged) and target.name.startswith("$")))

    def _resolve_or_none(self, node):
        """The ctype of a node now, or None when only the compiled module knows it
        (a 'typedef int... T', a struct with '...' by value): its conversions then go
        through the C API."""
        try:
            return self.model.resolve(node, allow_function=True)
        except Exception:
            return None

    @staticmethod
    def _join(base, inner):
        return "%s %s" % (base, inner) if inner else base

    def decay(self, node):
        """Parameters: arrays become pointers, functions function pointers."""
        if isinstance(node, Array):
            return Pointer(node.item)
        if isinstance(node, Function) or self.model._is_function(node):
            return Pointer(node)
        return node

    # ---- classification of ctypes for the inline paths ----------------------------------

    def _kind(self, ct):
        """'void', 'int', 'uint', 'float', 'pointer' or 'other' (through the C API)."""
        if ct is None:
            return "other"
        kind = ct.kind
        if kind == "void":
            return "void"
        if kind == "pointer":
            item = ct.item
            if item.kind == "void" or (item.kind == "primitive" and item.cname in
                                       ("char", "signed char", "unsigned char")):
                return "bytes-pointer"        # also takes bytes, inline
            return "pointer"
        if kind == "primitive":
            name = ct.cname
            if name in _SLOW_PRIMITIVES:
                return "other"
            if name in _FLOATS:
                return "float"
            return "int" if int(_core.cast(ct, -1)) < 0 else "uint"
        return "other"

    # ---- the module ---------------------------------------------------------------------

    def check(self):
        """What API mode refuses before any C is written, with cffi's exceptions."""
        for (kind, tag), decl in sorted(self.model.struct_defs.items()):
            if decl.pack is not None and decl.pack > 1:
                raise NotImplementedError(
                    "'%s %s' is declared with 'pack=%d'; only 0 or 1 are supported in API "
                    "mode (try to use \"...;\", which does not require a 'pack' "
                    "declaration)" % (kind, tag.lstrip("$"), decl.pack))
        owners = {}
        for tag, decl in sorted(self.model.enum_defs.items()):
            for name, _ in decl.enumerators:
                if name in owners:
                    raise VerificationError("enumerator '%s' is declared in both enum %s "
                                            "and enum %s" % (name, owners[name],
                                                             tag.lstrip("$")))
                owners[name] = tag.lstrip("$")
        for name, decl in sorted(self.model.functions.items()):
            for where, node in ([("argument", a) for a in decl.type.args] +
                                [("result", decl.type.result)]):
                try:
                    self.declarator(self.decay(node))
                except VerificationError as e:      # contains cffi's wording
                    raise VerificationError("in %s of %s: unknown type name in C (%s)"
                                            % (where, name, e)) from None
            ct = self._resolve_or_none(decl.type.result)
            if ct is not None and ct.kind in ("struct", "union") and ct.fields is None:
                raise TypeError("function %s: '%s' is used as result type, but is opaque"
                                % (name, ct.cname))

    def write(self, spec):
        """The C text.  'spec' (filled here) is what the runtime needs besides the
        compiler's answers: the cdef actions, the names in the order of the tables."""
        self.check()
        model = self.model
        out = []
        w = out.append
        w("/* Generated by nffi's recompiler for module %r: do not edit. */\n"
          % self.module_name)
        w("#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n")
        w(capi_header_text())
        functions = sorted(model.functions.values(), key=lambda d: d.name)
        externs = [d for d in functions if d.name in self.ffi._nffi_extern_python]
        functions = [d for d in functions if d.name not in self.ffi._nffi_extern_python]
        if externs:
            # declared before the source, which may call them
            w("\n/* ---- extern \"Python\" functions ---- */\n")
            w(self._c_linkage_begin())
            for decl in externs:
                w("%s%s;\n" % (self._extern_storage(decl),
                                self.declarator(decl.type, decl.name)))
            w(self._c_linkage_end())
        w("\n/* ---- the source given to set_source() ---- */\n"
          "#define _NFFI_ 1\n#define _CFFI_ 1    /* cffi's name: sources test it */\n")
        w(self.source)
        w("\n\n/* ---- nffi's part ---- */\n")
        w("static const NffiCapi *_nffi_api;\n"
          "static NffiModule _nffi_module;      /* filled by PyInit */\n")

        wrapped = sorted((d for d in functions if not d.type.ellipsis),
                         key=lambda d: d.name.encode("utf-8"))   # the core's bsearch
        variadic = [d for d in functions if d.type.ellipsis]
        variables = sorted(model.variables.values(), key=lambda d: d.name)
        for decl in wrapped:
            w(self._direct_function(decl))
        wrappers, nslots, signatures = self._wrappers(wrapped)
        w("static PyObject *_nffi_types[%d];    /* ctypes by slot, realized on first need */\n"
          "#define _nffi_type(slot) (_nffi_types[slot] != NULL ? _nffi_types[slot] : \\\n"
          "                          _nffi_api->realize(&_nffi_module, (slot)))\n"
          % max(nslots, 1))
        if any(d.type.args for d in wrapped):
            w("/* an argument the inline paths do not take: the core's conversion */\n"
              "NFFI_NOINLINE static int _nffi_arg(void *dest, Py_ssize_t slot, PyObject *obj, "
              "void **temps)\n{\n    return _nffi_api->arg_to_c(dest, _nffi_type(slot), obj, "
              "temps);\n}\n")
        w(wrappers)
        w(self._method_table(wrapped))

        # addresses: the wrapped functions' direct versions, variadic functions, globals
        # global variables: a function returning the address, called at each access
        # (the variable may be a macro like '(*get_value())')
        for decl in variables:
            w("static void *_nffi_var_%s(void) { return (void *)&(%s); }\n"
              % (decl.name, decl.name))
        w(self._variable_size_checks(variables))
        w(self._c_linkage_begin())
        w(self._extern_python_functions(externs))
        w(self._c_linkage_end())
        addresses = (["(void *)_nffi_d_%s" % d.name for d in wrapped] +
                     ["(void *)%s" % d.name for d in externs] +
                     ["(void *)&%s" % d.name for d in variadic] +
                     ["(void *)_nffi_var_%s" % d.name for d in variables])
        const_vars = self._constant_variables()
        for decl in const_vars:
            w("static %s;\n" % self.declarator(decl.type, "_nffi_cv_%s" % decl.name))
        addresses += ["(void *)&_nffi_cv_%s" % d.name for d in const_vars]
        w("static void *_nffi_addresses[] = {\n    %s\n};\n"
          % ",\n    ".join(addresses or ["NULL"]))

        answers = self._answers()
        # filled in at initialisation: a 'static const int' of the source is no
        # constant expression for a static initializer in C
        w("static NffiAnswer _nffi_answers[%d];\n" % max(len(answers), 1))
        w("static void _nffi_fill_answers(void)\n{\n    NffiAnswer *_nffi_a = _nffi_answers;\n")
        for decl in const_vars:          # copies of the 'static const T X;' of the source
            w("    _nffi_cv_%s = %s;\n" % (decl.name, decl.name))
        for i, (key, expression, is_float) in enumerate(answers):
            w("    _nffi_a[%d].key = %s;\n" % (i, _c_string(key)))
            if is_float:
                w("    _nffi_a[%d].kind = NFFI_ANSWER_FLOAT;\n    _nffi_a[%d].d = (double)(%s);\n"
                  % (i, i, expression))
            else:
                w("    _nffi_a[%d].kind = NFFI_ANSWER_INT;\n    _nffi_a[%d].negative = (%s) <= 0;\n"
                  "    _nffi_a[%d].u = (unsigned long long)(%s);\n" % (i, i, expression, i,
                                                                 expression))
        w("    (void)_nffi_a;\n}\n")

        spec.update(
            cdefs=parsed_actions(cdef_actions(self.ffi)),
            functions=[d.name for d in wrapped],
            variadic=[d.name for d in variadic],
            extern_python=[d.name for d in externs],
            variables=[d.name for d in variables],
            const_vars=[d.name for d in const_vars],
            no_release_gil=sorted(self.ffi._nffi_keep_gil),
            signatures=signatures,
            checked=[d.name for d in wrapped if self._checked_at_read(d)],
        )
        w(self._init_function(len(wrapped), len(spec["checked"]), nslots, len(addresses),
                              len(answers), len(externs), pickle.dumps(spec, protocol=4)))
        return "".join(out)

    def _variable_size_checks(self, variables):
        """A global variable whose size the cdef already knows (its type needs nothing
        of the compiler) is checked by the compiler: a wrong declaration fails the
        build, as with cffi.  The others are checked when the module's declarations are
        read (nffi/apimodule.py)."""
        out = []
        for decl in variables:
            if isinstance(decl.type, Array) and decl.type.length in (None, "..."):
                continue
            ct = self._resolve_or_none(decl.type)
            try:
                size = _core.sizeof(ct) if ct is not None else None
            except Exception:
                size = None
            if size is None:
                continue
            message = ("global variable '%s' has size %d in the cdef ('%s'), but not in C"
                       % (decl.name, size, ct.cname))
            out.append("NFFI_STATIC_ASSERT(sizeof(%s) == %d, %s);\n"
                       % (decl.name, size, _c_string(message)))
        return "".join(out)

    def _constant_variables(self):
        """'static const T X;' of a T that is not an integer or floating type: a copy
        of X made when the module is initialised, read once by the runtime."""
        result = []
        for decl in sorted(self.model.constant_decls.values(), key=lambda d: d.name):
            if decl.type is None or decl.value is not None:
                continue
            if self._constant_is_number(decl):
                continue
            result.append(decl)
        return result

    def _constant_is_number(self, decl):
        return self._number_kind(decl.type) is not None

    def _number_kind(self, node):
        """'int' or 'float' for a type whose values travel as answers, else None."""
        target = node
        while isinstance(target, Named):
            target = self.model.typedefs.get(target.name)
        if isinstance(target, UnknownPrimitive):
            return "float" if target.kind == "float" else "int"
        ct = self._resolve_or_none(node)
        if ct is None or ct.kind not in ("primitive", "enum"):
            return None
        kind = "int" if ct.kind == "enum" else self._kind(ct)
        return {"int": "int", "uint": "int", "float": "float"}.get(kind)

    def _answers(self):
        """(key, C expression, is_float) for everything the runtime asks the compiler."""
        model = self.model
        answers = []
        for (kind, tag), decl in sorted(model.struct_defs.items()):
            if decl.fields is None:
                continue
            spelled = self.spell_tagged(kind, tag)
            if spelled is None:
                continue
            key = "%s %s" % (kind, tag)
            if not decl.needs_compiler and self._contains_partial(decl, set()):
                answers.append(("partial " + key, "1", False))
            answers.append(("sizeof " + key, "sizeof(%s)" % spelled, False))
            answers.append(("alignof " + key, "__alignof__(%s)" % spelled, False))
            for i, field in enumerate(decl.fields):
                leaf = None if field.name else self._first_leaf(field.type, set())
                if leaf is not None:     # where the anonymous member starts
                    answers.append(("anonoffset %s.%d" % (key, i),
                                    "offsetof(%s, %s)" % (spelled, leaf), False))
            for name in self._anonymous_members_fields(decl, set()):
                member = "((%s *)0)->%s" % (spelled, name)
                answers.append(("inner offsetof %s.%s" % (key, name),
                                "offsetof(%s, %s)" % (spelled, name), False))
                answers.append(("inner fieldsize %s.%s" % (key, name),
                                "sizeof(%s)" % member, False))
            for field in decl.fields:
                if not field.name or field.bitsize is not None:
                    continue
                member = "((%s *)0)->%s" % (spelled, field.name)
                answers.append(("offsetof %s.%s" % (key, field.name),
                                "offsetof(%s, %s)" % (spelled, field.name), False))
                if not (isinstance(field.type, Array) and field.type.length is None):
                    answers.append(("fieldsize %s.%s" % (key, field.name),
                                    "sizeof(%s)" % member, False))
                check = self._field_type_check(field.type, member)
                if check is not None:
                    answers.append(("fieldtype %s.%s" % (key, field.name), check, False))
                for suffix in _unknown_lengths(field.type):
                    item = member + suffix
                    answers.append(("len %s.%s%s" % (key, field.name, suffix),
                                    "sizeof(%s) / sizeof(%s[0])" % (item, item), False))
        for name, decl in sorted(model.variables.items()):
            if isinstance(decl.type, Array) and decl.type.length in (None, "..."):
                item = name + "[0]"         # the length is open: its items are checked
                answers.append(("sizeof var " + item, "sizeof(%s)" % item, False))
            else:
                answers.append(("sizeof var " + name, "sizeof(%s)" % name, False))
            for suffix in _unknown_lengths(decl.type):
                item = name + suffix
                answers.append(("len var " + item, "sizeof(%s) / sizeof(%s[0])"
                                % (item, item), False))
        for name, node in sorted(model.typedefs.items()):
            for suffix in _unknown_lengths(node):
                # through a pointer: 'T' may be an array of unknown outer length
                item = "(*(%s *)0)%s" % (name, suffix)
                answers.append(("len typedef " + name + suffix,
                                "sizeof(%s) / sizeof(%s[0])" % (item, item), False))
        for tag, decl in sorted(model.enum_defs.items()):
            spelled = self.spell_tagged("enum", tag)
            if spelled is not None:
                answers.append(("sizeof enum " + tag, "sizeof(%s)" % spelled, False))
                answers.append(("signed enum " + tag, "((%s)-1) < (%s)1" % (spelled, spelled),
                                False))
            for name, _ in decl.enumerators:
                answers.append(("const " + name, name, False))
        for name, decl in sorted(model.constant_decls.items()):
            if decl.type is None:
                answers.append(("const " + name, name, False))
            elif self._constant_is_number(decl):
                answers.append(("const " + name, name,
                                self._number_kind(decl.type) == "float"))
        for name, node in sorted(model.typedefs.items()):
            if isinstance(node, UnknownPrimitive):
                answers.append(("sizeof typedef " + name, "sizeof(%s)" % name, False))
                answers.append(("signed typedef " + name, "((%s)-1) < (%s)1" % (name, name),
                                False))
                answers.append(("floating typedef " + name, "(%s)0.5 != 0" % name, False))
        return answers

    def _c_linkage_begin(self):
        """In C++, the extern "Python" functions have C linkage: the source may
        declare them (in an 'extern "C"' block) and C callers find them."""
        return 'extern "C" {\n' if self.cplusplus else ""

    def _c_linkage_end(self):
        return "}\n" if self.cplusplus else ""

    def _anonymous_members_fields(self, decl, seen):
        """The names of the fields that the anonymous struct/union members of 'decl'
        bring into it (at any depth; not bit-fields nor open-length arrays): C names
        them from the outer struct, so the compiler can place and size them."""
        for field in decl.fields or ():
            node = field.type
            if field.name or not isinstance(node, Tagged) or (node.kind, node.name) in seen:
                continue
            seen.add((node.kind, node.name))
            inner = self.model.struct_defs.get((node.kind, node.name))
            if inner is None:
                continue
            for f in inner.fields or ():
                sized = not (isinstance(f.type, Array) and f.type.length is None) and \
                    next(_unknown_lengths(f.type), None) is None
                if f.name and f.bitsize is None and sized:
                    yield f.name
            yield from self._anonymous_members_fields(inner, seen)

    def _first_leaf(self, node, seen):
        """The name, as C spells it from the outer struct, of the field at offset 0 of
        the anonymous struct/union member of type 'node' (its first field, or the first
        leaf of its first anonymous member); None if that is a bit-field or unknown."""
        if not isinstance(node, Tagged) or (node.kind, node.name) in seen:
            return None
        seen.add((node.kind, node.name))
        inner = self.model.struct_defs.get((node.kind, node.name))
        if inner is None or not inner.fields:
            return None
        first = inner.fields[0]
        if first.name:
            return first.name if first.bitsize is None else None
        return self._first_leaf(first.type, seen)

    def _contains_partial(self, decl, seen):
        """Does the struct/union 'decl' contain by value (in arrays too) one whose
        layout only the compiler knows?  Then its own layout comes from the compiler."""
        for field in decl.fields or ():
            node = field.type
            while isinstance(node, (Array, Named)):
                node = node.item if isinstance(node, Array) else \
                    self.model.typedefs.get(node.name)
            if not isinstance(node, Tagged) or (node.kind, node.name) in seen:
                continue
            seen.add((node.kind, node.name))
            inner = self.model.struct_defs.get((node.kind, node.name))
            if inner is not None and (inner.needs_compiler or
                                      self._contains_partial(inner, seen)):
                return True
        return False

    def _field_type_check(self, node, member):
        """A C expression, 1 when the field 'member' has a type compatible with the
        cdef's 'node', for what sizes and offsets do not show (as cffi's verify, which
        compiles such checks): an integer declared where C has a floating type or the
        reverse, and a pointer to another arithmetic type ('int *' for 'long *'; C
        only, and regardless of 'const', which the cdef drops).  None: not checked."""
        ct = self._resolve_or_none(node)
        if ct is None:
            return None
        if ct.kind == "primitive" and ct.cname != "_Bool" and "_Complex" not in ct.cname:
            floating = self._kind(ct) == "float" or ct.cname == "long double"
            return "((__typeof__(%s))0.5 != 0) == %d" % (member, floating)
        if ct.kind == "pointer" and ct.item.kind == "primitive" and not self.cplusplus \
                and not isinstance(node, Named) and \
                ct.item.cname not in ("char16_t", "char32_t"):   # <uchar.h> in C
            return "__builtin_types_compatible_p(__typeof__(*(%s)), %s)" % (
                member, ct.item.cname)
        return None

    def _extern_storage(self, decl):
        return "" if self.ffi._nffi_extern_python[decl.name] == "Python+C" else "static "

    def _extern_python_functions(self, externs):
        """The 'extern "Python"' functions: each a C function that hands its arguments
        (as pointers to them) to the core's callback path with the Python function that
        @ffi.def_extern() attached (_nffi_externs[k].callback): no libffi closure."""
        if not externs:
            return ""
        out = ["static NffiExternPython _nffi_externs[%d] = {\n" % len(externs)]
        out += ["    {%s, NULL},\n" % _c_string("%s.%s" % (self.module_name, d.name))
                for d in externs]
        out.append("};\n")
        for k, decl in enumerate(externs):
            out.append(self._extern_python_function(decl, k))
        return "".join(out)

    def _extern_python_function(self, decl, index):
        ftype = decl.type
        params = [self.decay(a) for a in ftype.args]
        names = ["x%d" % i for i in range(len(params))]
        proto = ", ".join(self.declarator(p, n) for p, n in zip(params, names)) or "void"
        head = self.declarator(ftype.result, "%s(%s)" % (decl.name, proto))
        void = isinstance(ftype.result, Void)
        lines = ["%s%s\n{\n" % (self._extern_storage(decl), head)]
        a = lines.append
        a("    void *_nffi_args[%d];\n" % max(len(params), 1))
        if void:
            a("    char _nffi_r = 0;\n")
        else:
            a("    %s;\n    memset(&_nffi_r, 0, sizeof(_nffi_r));\n"
              % self.declarator(ftype.result, "_nffi_r"))
        for i in range(len(params)):
            a("    _nffi_args[%d] = &x%d;\n" % (i, i))
        a("    if (_nffi_api != NULL)\n"
          "        _nffi_api->call_python(&_nffi_externs[%d], _nffi_args, &_nffi_r);\n"
          % index)
        a("    (void)_nffi_args;\n")
        a("    return;\n" if void else "    return _nffi_r;\n")
        a("}\n")
        return "".join(lines)

    def _call(self, decl, params):
        """The C call of a declared function with arguments x0, x1, ...  The cdef drops
        'const' from pointed-to types: in C, pointer arguments go as 'void *' (which
        converts to any pointer parameter without a warning) and a pointer result is
        cast back to the cdef's type."""
        args = []
        for i, p in enumerate(params):
            is_pointer = isinstance(p, Pointer) or (
                isinstance(p, Named) and isinstance(self.model.typedefs.get(p.name), Pointer))
            args.append("(void *)x%d" % i if is_pointer and not self.cplusplus else "x%d" % i)
        call = "%s(%s)" % (decl.name, ", ".join(args))
        result = decl.type.result
        if isinstance(result, Pointer):
            call = "(%s)%s" % (self.declarator(result), call)
        return call

    def _direct_function(self, decl):
        ftype = decl.type
        params = [self.decay(a) for a in ftype.args]
        names = ["x%d" % i for i in range(len(params))]
        proto = ", ".join(self.declarator(p, n) for p, n in zip(params, names)) or "void"
        call = self._call(decl, params)
        head = self.declarator(ftype.result, "_nffi_d_%s(%s)" % (decl.name, proto))
        body = "%s;" % call if isinstance(ftype.result, Void) else "return %s;" % call
        return "static %s { %s }\n" % (head, body)

    def _signature(self, decl):
        """What a wrapper's code depends on besides the function's name and address:
        functions with the same signature share one wrapper body (a module of many
        functions compiles faster), each keeping a tiny entry point of its own."""
        # the type nodes, not their C spelling: 'int(*)(int)' may be of another ABI
        return (tuple(self.decay(a) for a in decl.type.args), decl.type.result,
                decl.name not in self.ffi._nffi_keep_gil)

    def _wrappers(self, wrapped):
        """The C of the METH_FASTCALL wrappers of 'wrapped'; the number of ctype slots;
        the signatures as [(first slot, a function of that signature)] for the runtime.
        A signature used once: the wrapper is its body, calling the function directly;
        used more: one body '_nffi_s_K' taking the name and the direct-call function,
        and per function a wrapper that jumps to it."""
        groups = {}
        for decl in wrapped:
            groups.setdefault(self._signature(decl), []).append(decl)
        out = []
        signatures = []
        slot = 0
        for k, decls in enumerate(groups.values()):
            first = decls[0]
            signatures.append((slot, first.name))
            if len(decls) == 1:
                out.append(self._wrapper_body(first, slot, shared=None))
            else:
                out.append(self._wrapper_body(first, slot, shared=k))
                for decl in decls:
                    out.append("static PyObject *_nffi_f_%s(PyObject *self, PyObject *const "
                               "*args, Py_ssize_t nargs)\n{\n    (void)self;\n    return "
                               "_nffi_s_%d(args, nargs, \"%s\", _nffi_d_%s);\n}\n"
                               % (decl.name, k, decl.name, decl.name))
            slot += len(first.type.args) + 1
        return "".join(out), slot, signatures

    def _checked_at_read(self, decl):
        """Does the function's type depend on a 'typedef float... T' (whose real type
        the compiler may contradict)?  Its wrapper is then made by nffi/apimodule.py,
        which resolves the type first and raises cffi's error at 'lib.NAME'."""
        nodes = list(decl.type.args) + [decl.type.result]
        seen = set()
        while nodes:
            node = nodes.pop()
            if isinstance(node, Named):
                if node.name in seen:
                    continue
                seen.add(node.name)
                node = self.model.typedefs.get(node.name)
            if isinstance(node, UnknownPrimitive) and node.kind == "float":
                return True
            if isinstance(node, (Pointer, Array)):
                nodes.append(node.item)
        return False

    def _method_table(self, wrapped):
        """The wrappers sorted by name (the core's bsearch), those whose type is checked
        at read after the others (NffiModule.nchecked)."""
        checked = [d for d in wrapped if self._checked_at_read(d)]
        wrapped = [d for d in wrapped if d not in checked] + checked
        out = ["static PyMethodDef _nffi_methods[] = {\n"]
        for decl in wrapped:
            spelled = self.declarator(decl.type, decl.name)
            if not decl.type.args and not decl.type.ellipsis:
                spelled = spelled.replace(decl.name + "(void)", decl.name + "()")   # as cffi
            doc = "%s;\n\nCFFI C function from %s.lib" % (spelled, self.module_name)
            out.append('    {"%s", (PyCFunction)(void (*)(void))_nffi_f_%s, METH_FASTCALL,\n'
                       '     %s},\n' % (decl.name, decl.name, _c_string(doc)))
        out.append("    {NULL, NULL, 0, NULL}\n};\n")
        return "".join(out)

    def _wrapper_body(self, decl, base, shared):
        """The METH_FASTCALL wrapper of 'decl' (shared=None), or the body '_nffi_s_K'
        that all functions of decl's signature share (shared=K).  Slots base+i hold
        argument i's ctype, base+n the result's (_nffi_type() realizes them)."""
        ftype = decl.type
        params = [self.decay(a) for a in ftype.args]
        arg_cts = [self._resolve_or_none(p) for p in params]
        n = len(params)
        if shared is None:
            name = '"%s"' % decl.name
            target = "_nffi_d_%s" % decl.name
            lines = ["static PyObject *_nffi_f_%s(PyObject *self, PyObject *const *args, "
                     "Py_ssize_t nargs)\n{\n" % decl.name]
        else:
            name = "_nffi_name"
            target = "_nffi_fn"
            types = ", ".join(self.declarator(p) for p in params) or "void"
            fn = self.declarator(ftype.result, "(*_nffi_fn)(%s)" % types)
            lines = ["NFFI_NOINLINE static PyObject *_nffi_s_%d(PyObject *const *args, "
                     "Py_ssize_t nargs,\n        const char *_nffi_name, %s)\n{\n"
                     % (shared, fn)]
        a = lines.append
        kinds = [self._kind(ct) for ct in arg_cts]
        for i, p in enumerate(params):
            a("    %s;\n" % self.declarator(p, "x%d" % i))
        rkind = "void" if isinstance(ftype.result, Void) else \
            self._kind(self._resolve_or_none(ftype.result))
        if rkind != "void":
            a("    %s;\n" % self.declarator(ftype.result, "_nffi_result"))
        uses_temps = any(k not in ("int", "uint", "float") for k in kinds)
        if uses_temps:
            a("    void *_nffi_temps = NULL;\n")
        # the core's conversion of one argument may run user code (__int__, ...) that
        # releases a cdata another argument's pointer was taken from: re-checked after
        recheck = uses_temps and n >= 2
        if recheck:
            a("    int _nffi_slow = 0;\n")
        if any(k in ("int", "uint") for k in kinds):
            a("    long long _nffi_v;\n")
        if "pointer" in kinds or "bytes-pointer" in kinds:
            a("    void *_nffi_p;\n")
        if n:
            a("    Py_ssize_t _nffi_i;\n")
        if shared is None:
            a("    (void)self;\n")
        a("    (void)args;\n")
        a("    if (nargs != %d)\n        return _nffi_api->wrong_count(%s, %d, nargs);\n"
          % (n, name, n))
        for i, kind in enumerate(kinds):
            x = "x%d" % i
            slot = base + i
            slow = ("_nffi_arg(&%s, %d, args[%d], %s) < 0"
                    % (x, slot, i, "&_nffi_temps" if uses_temps else "NULL"))
            if recheck:
                slow = "(_nffi_slow = 1, %s)" % slow
            ctext = self.declarator(params[i])
            if kind == "int":
                a("    if (nffi_exact_llong(args[%d], &_nffi_v) && (long long)(%s)_nffi_v == _nffi_v)\n"
                  "        %s = (%s)_nffi_v;\n" % (i, ctext, x, ctext))
                a("    else if (%s) { _nffi_i = %d; goto fail; }\n" % (slow, i))
            elif kind == "uint":
                a("    if (nffi_exact_llong(args[%d], &_nffi_v) && _nffi_v >= 0 && "
                  "(unsigned long long)(%s)_nffi_v == (unsigned long long)_nffi_v)\n"
                  "        %s = (%s)_nffi_v;\n" % (i, ctext, x, ctext))
                a("    else if (%s) { _nffi_i = %d; goto fail; }\n" % (slow, i))
            elif kind == "float":
                a("    if (PyFloat_CheckExact(args[%d]))\n        %s = (%s)"
                  "PyFloat_AS_DOUBLE(args[%d]);\n" % (i, x, ctext, i))
                a("    else if (%s) { _nffi_i = %d; goto fail; }\n" % (slow, i))
            elif kind in ("pointer", "bytes-pointer"):
                if kind == "bytes-pointer":
                    a("    if (PyBytes_CheckExact(args[%d])) {\n"
                      "        _nffi_p = PyBytes_AS_STRING(args[%d]);\n"
                      "        memcpy(&%s, &_nffi_p, sizeof(_nffi_p));\n    }\n    else"
                      % (i, i, x))
                else:
                    a("   ")
                a(" if (nffi_exact_pointer(_nffi_api, args[%d], _nffi_types[%d], &_nffi_p))\n"
                  "        memcpy(&%s, &_nffi_p, sizeof(_nffi_p));\n" % (i, slot, x))
                a("    else if (%s) { _nffi_i = %d; goto fail; }\n" % (slow, i))
            else:
                a("    if (%s) { _nffi_i = %d; goto fail; }\n" % (slow, i))
        if recheck:
            a("    if (_nffi_slow && _nffi_api->recheck(args, %d) < 0) {\n"
              "        if (_nffi_temps != NULL)\n            _nffi_api->free_temps(_nffi_temps);\n"
              "        return NULL;\n    }\n" % n)
        call = "%s(%s)" % (target, ", ".join("x%d" % i for i in range(n)))
        if rkind != "void":
            call = "_nffi_result = %s" % call
        if self._signature(decl)[2]:
            a("    {\n        PyThreadState *_nffi_s = _nffi_api->call_begin(1);\n"
              "        %s;\n        _nffi_api->call_end(_nffi_s);\n    }\n" % call)
        else:       # the GIL kept: only errno goes in and out (one call less)
            a("    {\n        int *_nffi_errno = _nffi_api->errno_slot();\n"
              "        errno = *_nffi_errno;\n        %s;\n        *_nffi_errno = errno;\n"
              "    }\n" % call)
        if uses_temps:
            a("    if (_nffi_temps != NULL)\n        _nffi_api->free_temps(_nffi_temps);\n")
        if rkind == "void":
            a("    Py_RETURN_NONE;\n")
        elif rkind == "int":
            a("    return PyLong_FromLongLong((long long)_nffi_result);\n")
        elif rkind == "uint":
            a("    return PyLong_FromUnsignedLongLong((unsigned long long)_nffi_result);\n")
        elif rkind == "float":
            a("    return PyFloat_FromDouble((double)_nffi_result);\n")
        else:
            a("    return _nffi_api->from_c(&_nffi_result, _nffi_type(%d));\n" % (base + n))
        if n:
            a("  fail:\n")
            a("    _nffi_api->note_argument(_nffi_i, %s);\n" % name)
            if uses_temps:
                a("    if (_nffi_temps != NULL)\n        _nffi_api->free_temps(_nffi_temps);\n")
            a("    return NULL;\n")
        a("}\n")
        return "".join(lines)

    def _init_function(self, nwrapped, nchecked, nslots, naddresses, nanswers, nexterns,
                       spec_data):
        """PyInit: check the core's C API, describe the module (_nffi_module) and let
        the core build it; nothing else happens at import (see nffi/apimodule.py)."""
        short = self.module_name.rpartition(".")[2]
        out = []
        a = out.append
        a("static struct PyModuleDef _nffi_moduledef = {\n"
          "    PyModuleDef_HEAD_INIT, %s, NULL, -1, NULL, NULL, NULL, NULL, NULL\n};\n"
          % _c_string(self.module_name))
        a("static const char _nffi_spec[] =\n    %s;\n" % _c_bytes_literal(spec_data))
        a("PyMODINIT_FUNC PyInit_%s(void)\n{\n" % short)
        a("    _nffi_api = (const NffiCapi *)PyCapsule_Import(NFFI_CAPI_CAPSULE, 0);\n"
          "    if (_nffi_api == NULL)\n        return NULL;\n"
          "    if (_nffi_api->version != NFFI_CAPI_VERSION) {\n"
          "        PyErr_Format(PyExc_ImportError, \"%s: built for nffi C API version %%d, "
          "this nffi has version %%d: rebuild it\", NFFI_CAPI_VERSION, "
          "_nffi_api->version);\n        _nffi_api = NULL;\n        return NULL;\n    }\n"
          % short)
        fields = [("def", "&_nffi_moduledef"),
                  ("functions", "_nffi_methods"), ("nfunctions", nwrapped - nchecked),
                  ("nchecked", nchecked),
                  ("types", "_nffi_types"), ("ntypes", nslots),
                  ("addresses", "_nffi_addresses"), ("naddresses", naddresses),
                  ("answers", "_nffi_answers"), ("nanswers", nanswers),
                  ("fill_answers", "_nffi_fill_answers"),
                  ("externs", "_nffi_externs" if nexterns else "NULL"),
                  ("nexterns", nexterns),
                  ("spec", "_nffi_spec"), ("spec_size", "sizeof(_nffi_spec) - 1")]
        for field, value in fields:
            a("    _nffi_module.%s = %s;\n" % (field, value))
        a("    return _nffi_api->init_module(&_nffi_module);\n}\n")
        return "".join(out)


def _unknown_lengths(node):
    """For each '[...]' dimension of an array type node, the C suffix that names an
    array of that dimension from the declared name: '' for the outermost, '[0]' for
    the next... (the owner names of nffi.model._inner_dimension)."""
    suffix = ""
    while isinstance(node, Array):
        if node.length == "...":
            yield suffix
        suffix += "[0]"
        node = node.item


def cdef_actions(ffi):
    """The cdef/include calls the runtime replays to rebuild the declarations: an
    included FFI that has its own compiled module is imported from it, any other is
    replayed inline (its types then belong to this module's ffi)."""
    actions = []
    for action in ffi._nffi_cdef_log:
        if action[0] == "include":
            other = action[1]
            source = getattr(other, "_nffi_source", None)
            verified = getattr(other, "_nffi_verified_module", None)
            if source is not None:
                actions.append(("include", source[0], other))
            elif verified is not None:      # its types are those of its verify() module
                actions.append(("include", verified.__name__, other))
            else:
                actions.extend(cdef_actions(other))
        else:
            actions.append(action)
    return actions


def parsed_actions(actions):
    """The cdef actions with each cdef text replaced by its parsed declarations
    (pickled nffi.decls nodes): the module's import then skips the parser.  The cdefs
    are parsed again here in order, so that each sees the typedefs before it."""
    from .model import Model
    scratch = Model()
    result = []
    for action in actions:
        if action[0] == "include":
            scratch.include(action[2]._model)       # its typedef names, for the parser
            result.append(action[:2])
            continue
        decls = replay_cdef(scratch, action)
        result.append(("decls", pickle.dumps(decls, protocol=4), action[2]))
    return result


def replay_cdef(scratch, action):
    """The declarations of one ("cdef", text, options) or ("decls", decls, options)
    entry of an FFI's cdef log, declared into the Model 'scratch' as well, so that
    the next entry is parsed with the typedef names and constants before it."""
    kind, payload, options = action
    if kind == "decls":             # cdef_header(): declarations, parsed already
        decls = payload
    else:
        decls = cparser.parse_cdef(payload, scratch.typedefs, scratch.constants,
                                   packed=options["packed"], pack=options["pack"])
    try:
        scratch.declare(decls, options["override"])
    except Exception:
        pass    # ffi.cdef() accepted it; what only the compiler knows is named anyway
    return decls


def make_c_source(ffi, module_name, source, cplusplus=False):
    """The text of the generated .c (or .cpp) file."""
    spec = {"module": module_name}
    return Recompiler(ffi, module_name, source, cplusplus).write(spec)
