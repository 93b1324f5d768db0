"""RPython's low-level types on nffi: primitives, containers, pointers and raw memory.

This is the bottom half of nffi's rffi front end (spec: rffi-api.md section 1).  Low-level
types are plain Python objects compared structurally; each one is realized as a C type
of rffi's private ``FFI`` (``_ffi``) through ordinary ``cdef`` declarations, so layouts,
conversions and memory accesses are the ones of nffi's model and native core, never
re-derived here.  A pointer object (``_ptr``) is a thin typed wrapper around a cdata
pointer that has no owner: raw memory comes from the C library's ``malloc`` and lives until
``free``.  What is checked here and not by C: exact value types on stores (1.5 rule 5),
bounds of arrays whose length is known, use after ``free`` of tracked pointers, and the
leak records of ``start_tracking_allocations``.
"""
import functools
import itertools
import keyword
import operator
import struct as _struct
import sys
import threading

from . import _core
from .api import FFI

__all__ = [
    "LowLevelType", "Primitive", "Number", "ContainerType", "Struct", "Array",
    "FixedSizeArray", "FuncType", "OpaqueType", "Typedef", "ForwardReference", "Ptr",
    "Signed", "Unsigned", "SignedLongLong", "UnsignedLongLong", "Char", "UniChar", "Bool",
    "Float", "SingleFloat", "LongFloat", "Void", "r_uint", "r_longlong", "r_ulonglong",
    "r_singlefloat", "r_longfloat", "intmask", "typeOf", "nullptr", "malloc", "free",
    "scoped_alloc", "render_immortal", "cast_pointer", "cast_primitive", "cast_ptr_to_int",
    "direct_arrayitems", "direct_ptradd", "direct_fieldptr", "functionptr",
    "start_tracking_allocations", "stop_tracking_allocations", "is_tracking_allocations",
    "tracked_allocations", "track_allocations", "InvalidCast", "MallocMismatch",
    "UninitializedMemoryAccess", "build_number",
]

# rffi's own FFI: every low-level type becomes a declaration of it (see _c_name).
_ffi = FFI()
_ffi.cdef("void *malloc(size_t); void *calloc(size_t, size_t); void free(void *);"
          "void *memset(void *, int, size_t); void *memcpy(void *, const void *, size_t);")
_libc = _ffi.dlopen(None)
_NULL = _ffi.NULL
_LONG_BITS = 8 * _ffi.sizeof("long")


class InvalidCast(TypeError):
    """cast_pointer between pointer types not related through their first field."""


class MallocMismatch(Exception):
    """Raised by stop_tracking_allocations(check=True) when raw allocations leaked.

    ``args[0]`` is the leak dict ``{key: (description, traceback_str)}``."""

    def __str__(self):
        leaks = self.args[0] if self.args else {}
        lines = ["%d raw allocation(s) not freed:" % len(leaks)]
        for description, where in leaks.values():
            lines.append("  %s, allocated at:" % description)
            lines.extend("    " + line for line in where.splitlines())
        return "\n".join(lines)


class UninitializedMemoryAccess(Exception):
    """Exists for RPython compatibility; never raised (raw memory is real memory)."""


# ---------------------------------------------------------------------------------------
# Integer value classes (spec 1.2)

def _value_class_of(other):
    """What an operand contributes to an arithmetic result class: a class, float, or None."""
    if isinstance(other, _TypedInt):
        return type(other)
    if isinstance(other, int):          # plain int and bool adopt the typed side's class
        return int
    if isinstance(other, float):
        return float
    return None


def _result_class(cls, other):
    kind = _value_class_of(other)
    if kind is None or kind is float or kind is int:
        return kind and (cls if kind is int else float)
    if kind is cls:
        return cls
    if kind.SIGNED != cls.SIGNED:
        raise TypeError("mixing %s and %s (signed and unsigned) in arithmetic"
                        % (cls.__name__, kind.__name__))
    return kind if kind.BITS > cls.BITS else cls


def _mixed_arith(op, a, b):
    """``op(a, b)`` (op from the operator module) where a or b is a typed int, in the
    cases the C base of the value classes does not serve (llptr.c's LLTypedInt): a result
    out of the class's range (wrapped, or OverflowError), mixed classes, floats."""
    typed = a if isinstance(a, _TypedInt) else b
    cls = _result_class(type(typed), b if typed is a else a)
    if cls is None:
        return NotImplemented
    if cls is float:
        result = op(float(a), float(b))
    else:
        result = op(int(a), int(b))
    if cls is float or not isinstance(result, int):
        return result                   # float mixing, or int ** negative
    return cls._make(result)


def _unary(op):
    def method(self):
        return type(self)(op(int(self)))
    return method


def _out_of_range(value, cls):
    """The OverflowError of a signed value class; a huge value is described by its size
    (str() of an int of more than 4300 digits raises ValueError)."""
    shown = "%d" % value if value.bit_length() <= 256 else \
        "a%s integer of %d bits" % (" negative" if value < 0 else "n", value.bit_length())
    return OverflowError("%s out of range for %s (%d-bit signed)"
                         % (shown, cls.__name__, cls.BITS))


class _TypedInt(_core.LLTypedInt):
    """Base of the integer value classes: an int with a C width and signedness."""
    __slots__ = ()
    BITS = 64
    SIGNED = True
    MASK = (1 << 64) - 1

    def __new__(cls, value=0):
        if type(value) is int:
            pass
        elif isinstance(value, float):
            value = int(value)              # truncates toward zero
        else:
            value = operator.index(value)
        if cls.SIGNED:
            if not -(1 << (cls.BITS - 1)) <= value < (1 << (cls.BITS - 1)):
                raise _out_of_range(value, cls)
        else:
            value &= cls.MASK
        return int.__new__(cls, value)

    def __repr__(self):
        return "%s(%d)" % (type(self).__name__, int(self))

    __str__ = int.__repr__

    def __truediv__(self, other):
        if _value_class_of(other) is None:
            return NotImplemented
        return float(self) / float(other)

    def __rtruediv__(self, other):
        if _value_class_of(other) is None:
            return NotImplemented
        return float(other) / float(self)

    def __divmod__(self, other):
        return (self // other, self % other)

    def __rdivmod__(self, other):
        return (other // self, other % self)

    # binary operators: the C base's (LLTypedInt), with _mixed_arith for the rest
    __neg__ = _unary(operator.neg)
    __pos__ = _unary(operator.pos)
    __abs__ = _unary(operator.abs)
    __invert__ = _unary(operator.invert)

    def __hash__(self):
        return int.__hash__(self)

    @classmethod
    def _make(cls, value):
        """cls(value) for a plain int: wrapped (unsigned) or range-checked (signed)."""
        if cls.SIGNED:
            if not -(1 << (cls.BITS - 1)) <= value < (1 << (cls.BITS - 1)):
                raise _out_of_range(value, cls)
            return int.__new__(cls, value)
        return int.__new__(cls, value & cls.MASK)


_value_classes = {}       # (signed, bits) -> class


def _value_class(signed, bits, name):
    """The unique value class of (signed, bits), created with ``name`` on first request."""
    key = (signed, bits)
    cls = _value_classes.get(key)
    if cls is None:
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        cls = type(name, (_TypedInt,), {"__slots__": (), "BITS": bits, "SIGNED": signed,
                                        "MASK": (1 << bits) - 1, "_MIN": lo, "_MAX": hi,
                                        "__module__": __name__})
        _value_classes[key] = cls
    return cls


_core.LLTypedInt._setup(_mixed_arith)
r_longlong = _value_class(True, 64, "r_longlong")
r_uint = _value_class(False, _LONG_BITS, "r_uint")
r_ulonglong = _value_class(False, 64, "r_ulonglong")


def intmask(x):
    """Wrap any integer into the Signed range; returns a plain int."""
    x = int(x) & ((1 << _LONG_BITS) - 1)
    return x - (1 << _LONG_BITS) if x >> (_LONG_BITS - 1) else x


class _OpaqueFloat:
    """Common base of r_singlefloat and r_longfloat: a float value that is a black box."""
    __slots__ = ("_value",)

    def __float__(self):
        return self._value

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash((type(self), self._key()))

    def __bool__(self):
        raise TypeError("%s is a black box: convert it with float() first"
                        % type(self).__name__)

    def _no_order(self, other):
        raise TypeError("%s values cannot be ordered" % type(self).__name__)

    __lt__ = __le__ = __gt__ = __ge__ = _no_order

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self._value)


class r_singlefloat(_OpaqueFloat):
    """A C ``float``: precision is lost at construction."""
    __slots__ = ()

    def __init__(self, value=0.0):
        self._value = _struct.unpack("f", _struct.pack("f", float(value)))[0]

    def _key(self):
        return _struct.pack("f", self._value)


class r_longfloat(_OpaqueFloat):
    """A C ``long double`` (nffi keeps double precision in Python)."""
    __slots__ = ()

    def __init__(self, value=0.0):
        self._value = float(value)

    def _key(self):
        return _struct.pack("d", self._value)


# ---------------------------------------------------------------------------------------
# Types (spec 1.1, 1.4)

_compare_stack = threading.local()


class LowLevelType:
    """Base of every low-level type.  Types compare structurally and are hashable."""

    def _key(self):
        """What structural equality compares (every concrete type class defines it)."""
        raise NotImplementedError

    def __eq__(self, other):
        if isinstance(other, Typedef):
            other = other.OF
        if self is other:
            return True
        if self.__class__ is not other.__class__ or hash(self) != hash(other):
            return False
        # recursive structs (through ForwardReference) compare as equal while in progress
        busy = getattr(_compare_stack, "pairs", None)
        if busy is None:
            busy = _compare_stack.pairs = set()
        pair = (id(self), id(other))
        if pair in busy:
            return True
        busy.add(pair)
        try:
            return self._cached_key() == other._cached_key()
        finally:
            busy.discard(pair)

    def _cached_key(self):
        # a type does not change once built (become() swaps the whole __dict__)
        key = self.__dict__.get("_key_cache")
        if key is None:
            key = self.__dict__["_key_cache"] = self._key()
        return key

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        # types do not change once built (become() swaps the whole __dict__), so the
        # hash is computed once: types are dict keys on every hot path (Ptr, C names)
        h = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = hash(self._shallow_key())
        return h

    def _shallow_key(self):
        return self._key()

    def _is_varsize(self):
        return False

    def _short_name(self):
        return str(self)

    def __repr__(self):
        return "<%s>" % self

    def __str__(self):
        return self.__class__.__name__


class Primitive(LowLevelType):
    """A primitive type: unique objects, equal only to themselves."""

    def __init__(self, name, default, c_name):
        self._name = name
        self._default = default
        self._c_name = c_name

    def __eq__(self, other):
        if isinstance(other, Typedef):
            other = other.OF
        return self is other

    def __hash__(self):
        return id(self)

    def __str__(self):
        return self._name

    def __reduce__(self):
        return self._name

    def _example(self):
        return self._default


class Number(Primitive):
    """An integer type, unique per (signedness, size)."""

    def __init__(self, name, type_, c_name, signed, bits):
        Primitive.__init__(self, name, type_(0), c_name)
        self._type = type_
        self._signed = signed
        self._bits = bits
        self._mask = (1 << bits) - 1


_numbers = {}          # (signed, bits) -> Number
_type_of_class = {}    # value class -> Number


def build_number(name, c_name, signed=None, bits=None):
    """The Number type of C type ``c_name``: the existing one of that signedness and size,
    or a new one called ``name`` (whose value class is ``_value_class(signed, bits)``).
    ``bits`` is given for the integers wider than nffi's core has (rffi's 128-bit ones):
    their values, arithmetic, casts and sizeof work; memory, fields and calls do not
    (_c_name raises TypeError)."""
    if bits is None:
        bits = 8 * _ffi.sizeof(c_name)
    if signed is None:
        signed = int(_ffi.cast(c_name, -1)) < 0
    key = (signed, bits)
    existing = _numbers.get(key)
    if existing is not None:
        return existing
    if key == (True, _LONG_BITS):
        type_ = int
        cls = _value_class(True, bits, "r_longlong")
    else:
        type_ = cls = _value_class(signed, bits, "r_" + name.lower())
    number = Number(name, type_, c_name, signed, bits)
    _numbers[key] = number
    _type_of_class[cls] = number
    return number


Signed = build_number("Signed", "long")
Unsigned = build_number("Unsigned", "unsigned long")
SignedLongLong = build_number("SignedLongLong", "long long")
UnsignedLongLong = build_number("UnsignedLongLong", "unsigned long long")
Char = Primitive("Char", b"\x00", "char")
UniChar = Primitive("UniChar", "\x00", "wchar_t")
Bool = Primitive("Bool", False, "_Bool")
Float = Primitive("Float", 0.0, "double")
SingleFloat = Primitive("SingleFloat", r_singlefloat(0.0), "float")
LongFloat = Primitive("LongFloat", r_longfloat(0.0), "long double")
Void = Primitive("Void", None, "void")
_SIGNED_MIN, _SIGNED_MAX = -(1 << (_LONG_BITS - 1)), (1 << (_LONG_BITS - 1)) - 1


class ContainerType(LowLevelType):
    """Base of the types that can be pointed to (and malloc'ed)."""


def _frozen_hints(hints):
    return tuple(sorted((k, repr(v)) for k, v in (hints or {}).items()))


class Struct(ContainerType):
    """``Struct(name, (fieldname, TYPE), ..., hints=None)``: a C struct (or union)."""

    def __init__(self, name, *fields, **kwds):
        hints = kwds.pop("hints", None)
        if kwds:
            raise TypeError("Struct() got unexpected keyword(s) %s" % sorted(kwds))
        self._name = name
        self._hints = dict(hints or {})
        self._install_fields(fields)

    def _install_fields(self, fields):
        flds = {}
        names = []
        for position, item in enumerate(fields):
            if not (isinstance(item, tuple) and len(item) == 2):
                raise TypeError("Struct %r: field %d must be a (name, TYPE) pair, got %r"
                                % (self._name, position, item))
            name, T = item
            if not isinstance(name, str):
                raise TypeError("Struct %r: field name %r is not a str" % (self._name, name))
            if name.startswith("_"):
                raise NameError("Struct %r: field name %r must not start with '_'"
                                % (self._name, name))
            if name in flds:
                raise TypeError("Struct %r: repeated field name %r" % (self._name, name))
            if not isinstance(T, LowLevelType):
                raise TypeError("Struct %r: field %r: %r is not a low-level type"
                                % (self._name, name, T))
            T = _strip(T)
            if isinstance(T, FuncType):
                raise TypeError("Struct %r: field %r cannot be a FuncType (use a Ptr)"
                                % (self._name, name))
            if isinstance(T, ContainerType) and T._is_varsize() and position != len(fields) - 1:
                raise TypeError("Struct %r: var-sized field %r must be the last field"
                                % (self._name, name))
            if isinstance(T, Struct) and T._is_varsize():
                raise TypeError("Struct %r: field %r: a var-sized struct cannot be inlined"
                                % (self._name, name))
            flds[name] = T
            names.append(name)
        self._flds = flds
        self._names = tuple(names)
        self._arrayfld = None
        if names:
            last = flds[names[-1]]
            if isinstance(last, Array):
                self._arrayfld = names[-1]

    def _is_varsize(self):
        return self._arrayfld is not None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._flds[name]
        except KeyError:
            raise AttributeError("struct %s has no field %r" % (self._name, name)) from None

    def _key(self):
        return (self.__class__, self._name, self._names,
                tuple(self._flds[n] for n in self._names), _frozen_hints(self._hints))

    def _shallow_key(self):
        return (self.__class__, self._name, self._names, _frozen_hints(self._hints))

    def __str__(self):
        kind = "union" if self._hints.get("union") else "struct"
        return "%s %s { %s }" % (kind, self._name, "; ".join(
            "%s: %s" % (n, self._flds[n]._short_name()) for n in self._names))

    def _short_name(self):
        return "%s %s" % ("union" if self._hints.get("union") else "struct", self._name)


class Array(ContainerType):
    """``Array(OF, hints=None)``: a var-sized array (with a length header unless nolength)."""

    def __init__(self, *fields, **kwds):
        hints = kwds.pop("hints", None)
        if kwds:
            raise TypeError("Array() got unexpected keyword(s) %s" % sorted(kwds))
        if len(fields) == 1 and isinstance(fields[0], LowLevelType):
            OF = _strip(fields[0])
        else:
            OF = Struct("<arrayitem>", *fields)
        if isinstance(OF, ContainerType) and OF._is_varsize():
            raise TypeError("Array items cannot be var-sized: %s" % OF)
        if isinstance(OF, FuncType):
            raise TypeError("Array items cannot be a FuncType (use a Ptr)")
        self.OF = OF
        self._hints = dict(hints or {})

    def _is_varsize(self):
        return True

    def _nolength(self):
        return bool(self._hints.get("nolength"))

    def _key(self):
        return (self.__class__, self.OF, _frozen_hints(self._hints))

    def _shallow_key(self):
        return (self.__class__, _frozen_hints(self._hints), type(self.OF))

    def __str__(self):
        return "Array of %s%s" % (self.OF._short_name(),
                                  " (nolength)" if self._nolength() else "")


class FixedSizeArray(Struct):
    """``FixedSizeArray(OF, length)``: ``OF items[length]``, fields ``item0`` ..."""

    def __init__(self, OF, length, **kwds):
        if not isinstance(OF, LowLevelType):
            raise TypeError("FixedSizeArray: %r is not a low-level type" % (OF,))
        if not isinstance(length, int) or length < 0:
            raise TypeError("FixedSizeArray: length must be an int >= 0, got %r" % (length,))
        OF = _strip(OF)
        if isinstance(OF, ContainerType) and OF._is_varsize():
            raise TypeError("FixedSizeArray items cannot be var-sized: %s" % OF)
        self.OF = OF
        self.length = length
        Struct.__init__(self, "FixedSizeArray", *[("item%d" % i, OF) for i in range(length)],
                        **kwds)

    def _key(self):
        return (self.__class__, self.OF, self.length, _frozen_hints(self._hints))

    def _shallow_key(self):
        return (self.__class__, self.length, _frozen_hints(self._hints), type(self.OF))

    def __str__(self):
        return "%s[%d]" % (self.OF._short_name(), self.length)

    _short_name = __str__


class FuncType(ContainerType):
    """``FuncType(args, result)``: a C function type."""

    def __init__(self, args, result):
        args = tuple(args)
        for i, T in enumerate(args):
            if not isinstance(T, LowLevelType):
                raise TypeError("FuncType: argument %d: %r is not a low-level type" % (i, T))
        if not isinstance(result, LowLevelType):
            raise TypeError("FuncType: result %r is not a low-level type" % (result,))
        result = _strip(result)
        if isinstance(result, ContainerType):
            raise TypeError("FuncType: a C function cannot return the container %s"
                            % result)
        self.ARGS = tuple(_strip(T) for T in args)
        self.RESULT = result

    def _key(self):
        return (self.__class__, self.ARGS, self.RESULT)

    def _shallow_key(self):
        return (self.__class__, len(self.ARGS), type(self.RESULT))

    def __str__(self):
        return "Func(%s -> %s)" % (", ".join(T._short_name() for T in self.ARGS),
                                   self.RESULT._short_name())


class OpaqueType(ContainerType):
    """``OpaqueType(tag, hints={})``: a type with no fields (size known only through hints)."""

    def __init__(self, tag, hints={}):
        self.tag = tag
        self._hints = dict(hints)

    def _key(self):
        return (self.__class__, self.tag, _frozen_hints(self._hints))

    def __str__(self):
        return "Opaque %s" % self.tag


class Typedef(LowLevelType):
    """``Typedef(OF, c_name)``: another name for ``OF``, equal to it both ways."""

    def __init__(self, OF, c_name):
        if isinstance(OF, Typedef):
            OF = OF.OF
        if not isinstance(OF, LowLevelType):
            raise TypeError("Typedef: %r is not a low-level type" % (OF,))
        self.OF = OF
        self.c_name = c_name

    def __eq__(self, other):
        return self.OF == other

    def __hash__(self):
        return hash(self.OF)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.OF, name)

    def __str__(self):
        return "%s (typedef %s)" % (self.OF, self.c_name)


def _strip(T):
    return T.OF if isinstance(T, Typedef) else T


class ForwardReference(ContainerType):
    """Placeholder of a recursive struct: ``F.become(S)`` turns it into ``S``."""

    def become(self, realcontainertype):
        """Turn this placeholder into ``realcontainertype`` (existing Ptr(self) follow)."""
        if not isinstance(realcontainertype, ContainerType) or isinstance(
                realcontainertype, ForwardReference):
            raise TypeError("ForwardReference can only become a container type, not %r"
                            % (realcontainertype,))
        self.__class__ = realcontainertype.__class__
        self.__dict__ = realcontainertype.__dict__

    def __hash__(self):
        raise TypeError("%r object is not hashable (call become() first)" % self)

    def __eq__(self, other):
        return self is other

    def __str__(self):
        return "ForwardReference"


_ptr_types = {}
_forward_ptr_types = {}


class Ptr(LowLevelType):
    """``Ptr(TO)``: the type of pointers to a container type.  Cached: equal TO, same Ptr."""

    def __new__(cls, TO):
        if isinstance(TO, Typedef) or not isinstance(TO, ContainerType):
            raise TypeError("Ptr() needs a container type (Struct, Array, FixedSizeArray, "
                            "FuncType, OpaqueType or ForwardReference), not %r" % (TO,))
        if isinstance(TO, ForwardReference) and type(TO) is ForwardReference:
            cache, key = _forward_ptr_types, id(TO)
        else:
            cache, key = _ptr_types, TO
        existing = cache.get(key)
        if existing is not None:
            return existing
        self = object.__new__(cls)
        self.TO = TO
        self._pointer_class = None
        if cache is _forward_ptr_types:
            self._keepalive = TO
        cache[key] = self
        return self

    def __init__(self, TO):
        pass

    def _key(self):
        return (Ptr, self.TO)

    def __eq__(self, other):
        if isinstance(other, Typedef):
            other = other.OF
        return self is other or (isinstance(other, Ptr) and self.TO == other.TO)

    def __hash__(self):
        h = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = hash((Ptr, self.TO))
        return h

    def _example(self):
        return nullptr(self.TO)

    def __str__(self):
        return "* %s" % self.TO._short_name()

    def _short_name(self):
        return "Ptr %s" % self.TO._short_name()


# ---------------------------------------------------------------------------------------
# Realization: every low-level type as one C type name of _ffi

_CORE_MAX_BITS = 64      # the widest integer of nffi's core
_c_names = {}            # container or Ptr type -> C spelling (one identifier or "struct X")
_c_defined = set()       # names of struct bodies already given to _ffi.cdef
_counter = itertools.count(1)
_realize_lock = threading.RLock()


def _c_field_name(name):
    return name + "_" if keyword.iskeyword(name) or name in _C_KEYWORDS else name


_C_KEYWORDS = frozenset("auto break case char const continue default do double else enum "
                        "extern float for goto if inline int long register restrict return "
                        "short signed sizeof static struct switch typedef union unsigned void "
                        "volatile while _Bool _Complex".split())


def _c_name(T):
    """The C spelling of ``T`` in _ffi, declaring what is needed (struct bodies lazily)."""
    T = _strip(T)
    if isinstance(T, Primitive):
        if isinstance(T, Number) and T._bits > _CORE_MAX_BITS:
            raise TypeError("%s: nffi's core has no %d-bit integer type, so it can be used "
                            "in values, arithmetic, casts and sizeof only (not in memory, "
                            "struct fields, arrays or calls)" % (T, T._bits))
        return T._c_name
    name = _c_names.get(T)
    if name is not None:
        return name
    with _realize_lock:
        name = _c_names.get(T)
        if name is not None:
            return name
        n = next(_counter)
        if isinstance(T, Ptr):
            TO = _strip(T.TO)
            if type(TO) is ForwardReference:
                raise TypeError("pointer to a ForwardReference that has not become a type")
            name = "_ll_p%d" % n
            if isinstance(TO, FuncType):
                _c_names[T] = name
                args = [_c_name(A) for A in TO.ARGS if A is not Void] or ["void"]
                _ffi.cdef("typedef %s (*%s)(%s);" % (_c_name(TO.RESULT), name,
                                                     ", ".join(args)))
                for A in TO.ARGS:
                    if isinstance(A, Struct):
                        _complete(A)
                return name
            if isinstance(TO, OpaqueType) or (isinstance(TO, Array)
                                              and TO._hints.get("render_as_void")):
                target = "void"
            elif isinstance(TO, Array) and TO._nolength():
                target = _c_name(TO.OF)
            else:
                target = _c_name(TO)
            _ffi.cdef("typedef %s *%s;" % (target, name))
        elif isinstance(T, (Struct, Array)):
            kind = "union" if T._hints.get("union") else "struct"
            name = "%s _ll_s%d" % (kind, n)
            _ffi.cdef("%s;" % name)
        else:
            raise TypeError("%s has no C representation" % (T,))
        _c_names[T] = name
        return name


def _complete(T):
    """Declare the body of struct/array-header type ``T`` (and what it inlines)."""
    T = _strip(T)
    name = _c_name(T)
    if name in _c_defined:
        return name
    with _realize_lock:
        if name in _c_defined:
            return name
        _c_defined.add(name)
        if isinstance(T, Array):
            lines = ["long length;"]
            if T.OF is not Void:
                if isinstance(T.OF, Struct):
                    _complete(T.OF)
                lines.append("%s items[];" % _c_name(T.OF))
        elif isinstance(T, FixedSizeArray):
            if isinstance(T.OF, Struct):
                _complete(T.OF)
            lines = (["%s items[%d];" % (_c_name(T.OF), T.length)]
                     if T.length and T.OF is not Void else [])
        else:
            lines = []
            for fname in T._names:
                FT = T._flds[fname]
                if FT is Void:
                    continue
                if isinstance(FT, (Struct, Array)):
                    if isinstance(FT, Array) and FT._nolength():
                        if isinstance(FT.OF, Struct):
                            _complete(FT.OF)
                        lines.append("%s %s[];" % (_c_name(FT.OF), _c_field_name(fname)))
                        continue
                    _complete(FT)
                lines.append("%s %s;" % (_c_name(FT), _c_field_name(fname)))
        if not lines:
            lines = ["char _ll_empty[0];"]
        try:
            _ffi.cdef("%s { %s };" % (name, " ".join(lines)))
        except Exception:
            _c_defined.discard(name)
            raise
        return name


def _pointer_ctype(PTR):
    """The nffi ctype of the cdata held by a pointer object of type PTR (cached on PTR:
    Ptr types are interned and their C names never change)."""
    ct = PTR.__dict__.get("_ctype")
    if ct is None:
        ct = PTR.__dict__["_ctype"] = _ffi.typeof(_c_name(PTR))
    return ct


# ---------------------------------------------------------------------------------------
# Values: low-level value <-> what nffi's core reads and writes

def typeOf(value):
    """The low-level type of ``value`` (spec 1.3)."""
    tp = type(value)
    if tp is int:
        if _SIGNED_MIN <= value <= _SIGNED_MAX:
            return Signed
        raise OverflowError("%d is out of the range of Signed" % value)
    if tp is bool:
        return Bool
    T = _type_of_class.get(tp)
    if T is not None:
        return T
    if tp is float:
        return Float
    if isinstance(value, _ptr):
        return value._T
    if tp is r_singlefloat:
        return SingleFloat
    if tp is r_longfloat:
        return LongFloat
    if tp is bytes or tp is str:
        if len(value) == 1:
            return Char if tp is bytes else UniChar
        raise TypeError("typeOf(%r): only strings of length 1 have a low-level type"
                        % (value,))
    if value is None:
        return Void
    T = getattr(value, "_lltype_", None)
    if T is not None:
        return T
    raise TypeError("typeOf(%r): no low-level type for a %s" % (value, tp.__name__))


def _reader(T):
    """A function converting what the core reads from memory of type T to its value."""
    T = _strip(T)
    if isinstance(T, Number):
        cls = T._type
        # memory holds a value in range: skip the checks of cls(...)
        return None if cls is int else functools.partial(int.__new__, cls)
    if T is SingleFloat:
        return r_singlefloat
    if T is LongFloat:
        return lambda c: r_longfloat(float(c))
    if isinstance(T, Ptr):
        cls = T._pointer_class
        if cls is None:
            if isinstance(_strip(T.TO), ForwardReference) or T in _classes_in_making:
                return T._wrap     # the class waits for become(), or is being made (a
                                   # struct pointing to itself): made at the first read
            cls = _make_pointer_class(T)
        # a C-level partial: no Python frame per pointer read (callback arguments,
        # results, fields)
        return functools.partial(_new_ptr, cls, T)
    return None       # Char, UniChar, Bool, Float: the core already gives the value


def _typed_int_class(conv):
    """The class of a reader int.__new__(cls, value) (_reader's typed ints), else None:
    native code makes those ints without calling the reader."""
    if isinstance(conv, functools.partial) and conv.func is int.__new__:
        return conv.args[0]
    return None


def _from_c(T, c):
    conv = _reader(T)
    return c if conv is None else conv(c)


def _to_c(T, value, where):
    """The core-side value of a low-level ``value`` stored as type T (exact type check)."""
    T = _strip(T)
    if value is None and isinstance(T, Ptr):
        return _NULL
    try:
        VT = typeOf(value)
    except (TypeError, OverflowError):
        VT = None
    if VT is None or VT != T:
        if isinstance(T, Ptr) and T.TO == _VOID_ARRAY and isinstance(VT, Ptr):
            return value._cd            # VOIDP accepts any pointer
        raise TypeError("%s: expected a value of type %s, got %r of type %s"
                        % (where, T._short_name(), value,
                           VT._short_name() if VT is not None else type(value).__name__))
    if isinstance(T, Ptr):
        return value._c_pointer()
    if isinstance(value, _OpaqueFloat):
        return float(value)
    return value


def _zero(T):
    T = _strip(T)
    if isinstance(T, Ptr):
        return nullptr(T.TO)
    return T._default


# The array type behind rffi.VOIDP (it is defined here so that stores can recognise it).
_VOID_ARRAY = Array(Char, hints={"nolength": True, "render_as_void": True})


# ---------------------------------------------------------------------------------------
# Pointer objects

class _Allocation(_core.LLAllocation):
    """The record of one live raw allocation made by malloc: ``address``, ``T``, ``n``,
    ``freed``, ``released`` (freed with tracking, or made immortal: not a leak) and
    ``where`` (the caller's frames while tracking: see _format_trace).  Its fields live in the C base, which
    makes records (the allocator, llptr.c) and which the pointer objects' native field
    access reads."""
    __slots__ = ()

    def __repr__(self):
        return "<raw %s%s at 0x%x>" % (self.T._short_name(),
                                       "" if self.n is None else " [%d]" % self.n,
                                       self.address)


class _ptr(_core.LLPtr):
    """A pointer object: a typed view of a cdata pointer.  ``_cd`` is the nffi cdata
    (None for a Python-only function pointer), ``[_lo, _hi)`` the valid indices (``_hi``
    None: unknown), ``_alloc`` the malloc record it derives from (use-after-free checks).
    The slots live in the C base (llptr.c) so that native field access reads them;
    ``_callable`` and ``_name`` serve function pointers.  Made by _ptr_of, per Ptr type a
    subclass with the struct's fields as descriptors."""
    __slots__ = ()

    # -- identity and truth
    # (truth is NULL or not, and _address() the address held: the C base's)
    def __eq__(self, other):
        if not isinstance(other, _ptr) or other._T != self._T:
            raise TypeError("comparing a pointer of type %s with %r: only pointers of the "
                            "same type compare" % (self._T._short_name(), other))
        return self._address() == other._address()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        raise TypeError("pointer objects are not hashable")

    def _c_pointer(self):
        """The cdata to pass to C (a Python-only function pointer gets a C callback)."""
        if self._cd is None:
            return _callback_for(self)
        return self._cd

    @property
    def _cdata(self):
        """The nffi cdata of this pointer (use it with any FFI's ``cast``/``buffer``)."""
        return self._c_pointer()

    def __repr__(self):
        if self._cd is None:
            return "<* fn %s>" % self._name
        addr = self._address()
        return "<* %s at 0x%x>" % (self._T.TO._short_name(), addr) if addr else \
            "<* NULL %s>" % self._T.TO._short_name()

    # -- checks
    def _check_live(self, what):
        alloc = self._alloc
        if alloc is not None and alloc.freed:
            raise RuntimeError("%s through a pointer to freed memory (%r)" % (what, alloc))
        if self._cd == _NULL:
            raise RuntimeError("%s through a NULL pointer of type %s"
                               % (what, self._T._short_name()))

    def _derived(self, T, cd, lo=0, hi=None):
        return _ptr_of(T, cd, lo, hi, self._alloc)

    # -- struct fields (descriptors generated per Ptr(Struct) type: see
    # _make_pointer_class); the C base calls this when a name is not found (a
    # Python-level __getattr__ would slow down every field read)
    def _no_attribute(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError("%s has no field %r" % (self._T.TO._short_name(), name))

    # -- items
    def _items(self):
        """(cdata pointer to item 0, item type) of an array pointer."""
        TO = self._T.TO
        if isinstance(TO, FixedSizeArray):
            items_type = TO.__dict__.get("_items_ctype")
            if items_type is None:
                items_type = TO.__dict__["_items_ctype"] = _pointer_ctype(
                    Ptr(_nolength_array(TO.OF)))
            return _ffi.cast(items_type, self._cd), TO.OF
        if isinstance(TO, Array):
            if TO._nolength():
                if TO._hints.get("render_as_void"):
                    return _ffi.cast("char *", self._cd), TO.OF
                return self._cd, TO.OF
            return self._cd.items, TO.OF
        raise TypeError("%s is not an array: it has no items" % self._T._short_name())

    def _index(self, i):
        if isinstance(i, slice):
            raise TypeError("pointer objects do not support slices")
        i = operator.index(i)
        self._check_live("item access")
        hi = self._hi
        if hi is None and isinstance(self._T.TO, Array) and not self._T.TO._nolength():
            hi = self._cd.length
        if i < self._lo or (hi is not None and i >= hi):
            if hi is None:
                raise IndexError("negative index %d into an array of unknown length (use "
                                 "rffi.ptradd to step backwards)" % i)
            raise IndexError("index %d out of bounds [%d, %d) of %s"
                             % (i, self._lo, hi, self._T._short_name()))
        return i

    # p[i] and p[i] = v: the C base serves the common case (llptr.c, the class's
    # _llitems) and calls these for everything else
    def _getitem(self, i):
        i = self._index(i)
        items, OF = self._items()
        if isinstance(OF, Struct):
            return self._derived(Ptr(OF), items + i)
        return _from_c(OF, items[i])

    def _setitem(self, i, value):
        i = self._index(i)
        items, OF = self._items()
        if isinstance(OF, Struct):
            raise TypeError("cannot assign to item %d: items of %s are inlined structs"
                            % (i, self._T._short_name()))
        items[i] = _to_c(OF, value, "item %d of %s" % (i, self._T._short_name()))

    def __len__(self):
        TO = self._T.TO
        if isinstance(TO, FixedSizeArray):
            return TO.length
        if isinstance(TO, Array) and not TO._nolength():
            self._check_live("len()")
            return self._cd.length
        raise TypeError("len() of %s: the length is not stored" % self._T._short_name())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # -- calls
    def __call__(self, *args):
        TO = self._T.TO
        if not isinstance(TO, FuncType):
            raise TypeError("%s is not callable" % self._T._short_name())
        if len(args) != len(TO.ARGS):
            raise TypeError("%s takes %d argument(s), got %d"
                            % (self._name_for_errors(), len(TO.ARGS), len(args)))
        for i, (A, a) in enumerate(zip(TO.ARGS, args)):
            _check_strict_arg(self._name_for_errors(), i, A, a)
        if self._callable is not None:
            return self._callable(*args)
        if self._cd is None:
            raise RuntimeError("calling %s, which has no implementation"
                               % self._name_for_errors())
        self._check_live("call")
        c_args = [_strict_to_c(A, a) for A, a in zip(TO.ARGS, args) if A is not Void]
        result = self._cd(*c_args)
        return None if TO.RESULT is Void else _from_c(TO.RESULT, result)

    def _name_for_errors(self):
        return getattr(self, "_name", None) or "function pointer %r" % self


def _check_strict_arg(fname, i, A, a):
    """1.5 rule 9: exact types, None for pointers, any pointer for VOIDP, Ptr(S) for S."""
    if A is Void:
        return
    if a is None and isinstance(A, Ptr):
        return
    try:
        VT = typeOf(a)
    except (TypeError, OverflowError):
        VT = None
    if VT == A:
        return
    if isinstance(A, Ptr) and A.TO == _VOID_ARRAY and isinstance(a, _ptr):
        return
    if isinstance(A, Struct) and isinstance(a, _ptr) and a._T.TO == A:
        return
    raise TypeError("%s: argument %d must be of type %s, got %r"
                    % (fname, i + 1, A._short_name(), a))


def _strict_to_c(A, a):
    if isinstance(A, Struct):
        return a._cd[0]
    if isinstance(A, Ptr):
        return _NULL if a is None else a._c_pointer()
    if isinstance(a, _OpaqueFloat):
        return float(a)
    return a


def _nolength_array(OF):
    return Array(OF, hints={"nolength": True})


def _ptr_of(PTR, cd, lo=0, hi=None, alloc=None):
    cls = PTR._pointer_class
    if cls is None:
        cls = _make_pointer_class(PTR)
    return _new_ptr(cls, PTR, cd, lo, hi, alloc)


_new_ptr = _core.LLPtr._make


# A pointer object of type PTR for a cdata read from memory or returned by C.
Ptr._wrap = lambda self, cd: _ptr_of(self, cd)


_classes_in_making = set()     # Ptr types whose _make_pointer_class is running


def _make_pointer_class(PTR):
    """A _ptr subclass whose properties are the fields of PTR.TO (struct pointers)."""
    TO = _strip(PTR.TO)
    namespace = {"__slots__": ()}
    _classes_in_making.add(PTR)
    try:
        if isinstance(TO, Struct):
            _complete(TO)
            for fname in TO._names:
                namespace[fname] = _field_property(TO, fname)
            if isinstance(TO, FixedSizeArray):
                for fname in TO._names:
                    namespace[fname] = _fixed_item_property(TO, int(fname[4:]))
        elif isinstance(TO, Array) and TO._nolength() and \
                not TO._hints.get("render_as_void") and \
                not isinstance(TO.OF, (Struct, Array)) and TO.OF is not Void:
            namespace.update(_item_accessors(TO.OF))
    finally:
        _classes_in_making.discard(PTR)
    cls = type("_ptr_" + type(TO).__name__, (_ptr,), namespace)
    PTR._pointer_class = cls
    return cls


def _item_accessors(OF):
    """The native item access of a pointer to a nolength array of primitives or pointers
    (llptr.c reads the class's _llitems; the cname is unused)."""
    reader, int_class = _read_conversion(OF)
    return {"_llitems": _core.LLField("[]", reader, int_class, _store_check(OF), None, None)}


# What a stored value must exactly be to go to the core unconverted: the kinds of
# llptr.c's FastCheck (its enum, in the same order).
(_FAST_NONE, _FAST_INT_RANGE, _FAST_CLASS, _FAST_FLOAT, _FAST_BOOL, _FAST_CHAR, _FAST_UNICHAR,
 _FAST_BYTES, _FAST_POINTER, _FAST_ANY_POINTER, _FAST_BYTES_COPY) = range(11)


def _store_check(T):
    """(kind, lo, hi, cls): when a value stored as T is already exactly what the core
    stores (the fast path of stores and calls; anything else goes through _to_c)."""
    T = _strip(T)
    if T is Signed:
        return (_FAST_INT_RANGE, _SIGNED_MIN, _SIGNED_MAX, None)
    if isinstance(T, Number):
        return (_FAST_CLASS, 0, 0, T._type)
    kind = {Float: _FAST_FLOAT, Bool: _FAST_BOOL, Char: _FAST_CHAR,
            UniChar: _FAST_UNICHAR}.get(T, _FAST_NONE) if isinstance(T, Primitive) \
        else _FAST_NONE
    return (kind, 0, 0, None)


def _field_property(S, fname):
    """The descriptor of field ``fname`` on pointers to S: native (llptr.c's LLField) for
    primitive and pointer fields, a property for inlined structs and arrays."""
    FT = S._flds[fname]
    cname = _c_field_name(fname)
    where = "field %r of %s" % (fname, S._short_name())
    if FT is Void:
        return property(lambda self: None, lambda self, v: None)
    if isinstance(FT, (Struct, Array)):
        PF = Ptr(FT)
        hi = FT.length if isinstance(FT, FixedSizeArray) else None
        nolength = isinstance(FT, Array) and FT._nolength()

        def get(self):
            self._check_live("reading " + where)
            if nolength:       # a flexible array member reads as a pointer
                return self._derived(PF, getattr(self._cd, cname))
            return self._derived(PF, _ffi.addressof(self._cd, cname), 0, hi)

        def set(self, value):
            raise TypeError("cannot assign to %s: it is an inlined %s"
                            % (where, FT._short_name()))
        return property(get, set)
    conv, int_class = _read_conversion(FT)
    read, write = "reading " + where, "assigning " + where

    def to_c(value):
        return _to_c(FT, value, write)

    def check_live(p, writing):
        p._check_live(write if writing else read)
    return _core.LLField(cname, conv, int_class, _store_check(FT), to_c, check_live)


def _read_conversion(T):
    """(reader, int_class) of an LLField for values of type T: _reader(T), with a typed
    int's int.__new__(cls, v) given as the class (llptr.c makes it without a call)."""
    conv = _reader(T)
    cls = _typed_int_class(conv)
    return (None, cls) if cls is not None else (conv, None)


def _fixed_item_property(FA, index):
    where = "item%d of %s" % (index, FA._short_name())

    def get(self):
        return self[index]

    def set(self, value):
        try:
            self[index] = value
        except TypeError as e:
            raise TypeError("%s: %s" % (where, e)) from None
    return property(get, set)


def nullptr(T):
    """The NULL pointer of type ``Ptr(T)``."""
    PTR = Ptr(T)
    return _ptr_of(PTR, _ffi.cast(_c_name(PTR), 0))


# ---------------------------------------------------------------------------------------
# Sizes (used by rffi.sizeof and by malloc)

def _opaque_size(T):
    provider = getattr(T, "_size_provider", None)
    if provider is None:
        return None
    return provider()


def _sizeof(T):
    """Size in bytes of a fixed-size type (TypeError for Void, var-sized, FuncType)."""
    T = _strip(T)
    if T is Void or isinstance(T, FuncType):
        raise TypeError("sizeof(%s): it has no size" % T._short_name())
    if isinstance(T, OpaqueType):
        size = _opaque_size(T)
        if size is None:
            raise TypeError("sizeof(%s): size unknown (give the opaque type a C name)" % T)
        return size
    if isinstance(T, ContainerType) and T._is_varsize():
        raise TypeError("sizeof(%s): it is var-sized" % T._short_name())
    if isinstance(T, Struct):
        _complete(T)
    if isinstance(T, Number) and T._bits > _CORE_MAX_BITS:
        return T._bits // 8                   # (the core does not know the type)
    return _ffi.sizeof(_c_name(T))


def _varsize_bytes(T, n):
    """Bytes needed by var-sized T with n items in its last array."""
    if isinstance(T, Array):
        if T.OF is Void:
            item = 0
        else:
            item = _sizeof(T.OF)
        if T._nolength():
            return n * item
        _complete(T)
        name = _c_name(T)
        start = _ffi.offsetof(name, "items") if T.OF is not Void else _ffi.sizeof(name)
        return max(_ffi.sizeof(name), start + n * item)
    _complete(T)
    name = _c_name(T)
    last = T._arrayfld
    offset = _ffi.offsetof(name, _c_field_name(last))
    return max(_ffi.sizeof(name), offset + _varsize_bytes(T._flds[last], n))


def _set_lengths(T, cd, n):
    """Store n into the length header(s) of freshly malloc'ed var-sized T."""
    if isinstance(T, Array):
        if not T._nolength():
            cd.length = n
        return
    last = T._arrayfld
    FT = T._flds[last]
    if isinstance(FT, Array) and FT._nolength():
        return
    _set_lengths(FT, _ffi.addressof(cd, _c_field_name(last)), n)


# ---------------------------------------------------------------------------------------
# Allocation and leak tracking (spec 1.7, 1.9)

_live = {}                 # address -> _Allocation, every live malloc'ed block
_tracking_lock = threading.Lock()

# The modules whose frames a leak record skips, so that it names the function that called
# malloc or rffi.str2charp.
_INTERNAL_MODULES = frozenset({__name__, "nffi.rffi", "contextlib"})

# The allocator is native (llptr.c): it keeps _live and, while tracking is on, the leak
# records (a dict record -> record; _core.LLAllocation._set_leaks turns tracking on/off).
_core.LLAllocation._setup(_Allocation, _live, _INTERNAL_MODULES)
_heap_malloc = _core.LLAllocation._malloc
_heap_free = _core.LLAllocation._free
_get_leaks = _core.LLAllocation._get_leaks
_set_leaks = _core.LLAllocation._set_leaks
_MALLOC_ZERO, _MALLOC_IMMORTAL, _MALLOC_TRACK = 1, 2, 4      # llptr.c's flags


def _format_trace(where):
    """A record's frames ((code, instruction offset), innermost first) as a traceback
    text."""
    return "\n".join('File "%s", line %s, in %s' % (code.co_filename, _line_of(code, lasti),
                                                    code.co_name)
                     for code, lasti in reversed(where))


def _line_of(code, lasti):
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line
    return "?"


class _MallocInfo:
    """What malloc needs to know about a type, computed once per type."""
    __slots__ = ("PTR", "cls", "ctype", "size", "varsize", "bounded", "fixed_len",
                 "header", "item")

    def __init__(self, T):
        self.PTR = Ptr(T)
        self.cls = self.PTR._pointer_class or _make_pointer_class(self.PTR)
        self.varsize = T._is_varsize()
        self.bounded = isinstance(T, Array) and T._nolength()    # hi = n
        self.fixed_len = T.length if isinstance(T, FixedSizeArray) else None
        self.header = self.item = None
        if isinstance(T, OpaqueType):
            self.size = _opaque_size(T)
            if self.size is None:
                raise TypeError("unmallocable type: %s has no known size" % T)
        elif self.varsize:
            self.size = None
            if isinstance(T, Array) and T.OF is not Void:
                self.item = _sizeof(T.OF)
            if self.bounded:
                self.header = 0
        else:
            self.size = _sizeof(T)
        self.ctype = _pointer_ctype(self.PTR)

    def nbytes(self, T, n):
        if self.header is not None:             # nolength array: n items, no header
            return n * self.item
        return _varsize_bytes(T, n)


def _malloc_info(T):
    """(T without typedefs, its _MallocInfo)."""
    info = T.__dict__.get("_malloc_info") if isinstance(T, ContainerType) else None
    if info is None:
        T = _strip(T)
        if not isinstance(T, (Struct, Array, OpaqueType)) or type(T) is ForwardReference:
            raise TypeError("unmallocable type: %r" % (T,))
        info = T.__dict__["_malloc_info"] = _MallocInfo(T)
    return T, info


def malloc(T, n=None, flavor="raw", zero=False, track_allocation=True, immortal=False,
           add_memory_pressure=False, nonmovable=False):
    """Allocate raw memory for ``T`` (``n`` items for var-sized types); see spec 1.7."""
    if flavor != "raw":
        raise TypeError("malloc: flavor=%r is not supported (only 'raw': GC containers "
                        "are not ported)" % (flavor,))
    info = T.__dict__.get("_malloc_info") if isinstance(T, ContainerType) else None
    if info is None:
        T, info = _malloc_info(T)
    if info.varsize:
        if n is None:
            raise TypeError("malloc(%s): the length n is required for a var-sized type"
                            % T._short_name())
        if type(n) is not int:
            if not isinstance(n, int):
                raise TypeError("malloc: n must be an int, not %s" % type(n).__name__)
            n = int(n)
        if n < 0:
            raise ValueError("malloc: negative length %d" % n)
        size = info.nbytes(T, n)
    elif n is not None:
        raise TypeError("malloc(%s): n is given but the type is not var-sized"
                        % T._short_name())
    else:
        size = info.size
    flags = ((_MALLOC_ZERO if zero else 0) | (_MALLOC_IMMORTAL if immortal else 0) |
             (_MALLOC_TRACK if track_allocation else 0))
    p = _heap_malloc(info.cls, info.PTR, info.ctype, size,
                     n if info.bounded else info.fixed_len, T, n, flags, None)
    if info.varsize and not info.bounded:
        _set_lengths(T, p._cd, n)
    return p


def _malloc_copy(T, data, track_allocation):
    """A malloc(T, n) of a nolength array whose first bytes are ``data`` and the rest
    zeros, n = the items data fills plus one (the terminator): the strings of rffi."""
    info = T.__dict__.get("_malloc_info")
    if info is None:
        T, info = _malloc_info(T)
    n = len(data) // info.item + 1
    return _heap_malloc(info.cls, info.PTR, info.ctype, n * info.item, n, T, n,
                        _MALLOC_TRACK if track_allocation else 0, data)


def free(p, flavor="raw", track_allocation=True):
    """Free memory allocated by ``malloc``; RuntimeError for anything else (spec 1.7)."""
    if flavor != "raw":
        raise TypeError("free: flavor=%r is not supported (only 'raw')" % (flavor,))
    if _heap_free(p, track_allocation):
        return
    if not isinstance(p, _ptr):
        raise TypeError("free: %r is not a pointer" % (p,))
    if p._cd is None:
        raise RuntimeError("free: %r is a Python function pointer, not malloc'ed memory" % p)
    address = p._address()
    if not address:
        raise RuntimeError("free of a NULL pointer of type %s" % p._T._short_name())
    if p._alloc is not None and p._alloc.freed:
        raise RuntimeError("double free of %r" % p._alloc)
    raise RuntimeError("free: address 0x%x (%s) was not allocated by malloc or is "
                       "already freed" % (address, p._T._short_name()))


def _forget(record):
    """Drop a record from leak tracking (the current level and any outer level)."""
    record.released = True
    leaks = _get_leaks()
    if leaks is not None:
        leaks.pop(record, None)


def _leak_report(records):
    return {rec: ("%r" % rec, _format_trace(rec.where or ()))
            for rec in list(records) if not rec.released}


class scoped_alloc:
    """``with scoped_alloc(T, n=None, zero=False) as p:`` malloc now, free on exit."""

    def __init__(self, T, n=None, zero=False):
        self.buf = malloc(T, n=n, flavor="raw", zero=zero) if n is not None else \
            malloc(T, flavor="raw", zero=zero)

    def __enter__(self):
        return self.buf

    def __exit__(self, *exc):
        free(self.buf, flavor="raw")
        return False


def render_immortal(p, track_allocation=True):
    """Never free ``p``'s memory: drop it from leak tracking and from the live set."""
    if not isinstance(p, _ptr):
        raise TypeError("render_immortal: %r is not a pointer" % (p,))
    record = _live.pop(p._address(), None)
    if record is not None and track_allocation:
        _forget(record)


def start_tracking_allocations():
    """Turn leak tracking on; returns the previous records if it was already on."""
    with _tracking_lock:
        return _set_leaks({})


def stop_tracking_allocations(check, prev=None):
    """Return (and clear) the leak records; raise MallocMismatch if check and any remain."""
    if _get_leaks() is None:
        raise RuntimeError("stop_tracking_allocations: tracking is not on")
    import gc
    for _ in range(3):
        gc.collect()
    with _tracking_lock:
        remaining = _leak_report(_set_leaks(prev))
    if check and remaining:
        raise MallocMismatch(remaining)
    return remaining


def is_tracking_allocations():
    """True while leak tracking is on."""
    return _get_leaks() is not None


def tracked_allocations():
    """A snapshot of the current leak records."""
    return _leak_report(_get_leaks() or {})


class track_allocations:
    """``with track_allocations(check=True):`` a nested start, a stop (checked) on exit."""

    def __init__(self, check=True):
        self.check = check

    def __enter__(self):
        self.prev = start_tracking_allocations()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.leaks = stop_tracking_allocations(self.check and exc_type is None, self.prev)
        return False


# ---------------------------------------------------------------------------------------
# Pointer helpers (spec 1.8)

def _first_field_chain(S):
    """S, then the type of S's first field, recursively while it is an inlined struct."""
    chain = []
    while isinstance(S, Struct) and not isinstance(S, FixedSizeArray):
        chain.append(S)
        if not S._names:
            break
        S = S._flds[S._names[0]]
    return chain


def cast_pointer(PTRTYPE, p):
    """Cast between struct pointers related through their first field (either way)."""
    if not isinstance(PTRTYPE, Ptr) or not isinstance(p, _ptr):
        raise TypeError("cast_pointer(%r, %r): both must be pointers" % (PTRTYPE, p))
    if p._T == PTRTYPE:
        return p
    src, dst = _strip(p._T.TO), _strip(PTRTYPE.TO)
    if not (dst in _first_field_chain(src) or src in _first_field_chain(dst)):
        raise InvalidCast("cast_pointer: %s and %s are not related through their first "
                          "field (use rffi.cast)" % (p._T._short_name(),
                                                     PTRTYPE._short_name()))
    return _ptr_of(PTRTYPE, _ffi.cast(_c_name(PTRTYPE), p._cd), alloc=p._alloc)


def cast_ptr_to_int(p):
    """The address held by pointer ``p`` (0 for NULL)."""
    if not isinstance(p, _ptr):
        raise TypeError("cast_ptr_to_int: %r is not a pointer" % (p,))
    return p._address()


def _bounds(p):
    """(lo, hi) index bounds of array pointer p (hi None when unknown)."""
    hi = p._hi
    TO = p._T.TO
    if hi is None and isinstance(TO, Array) and not TO._nolength():
        hi = p._cd.length
    return p._lo, hi


def direct_arrayitems(p):
    """A Ptr(FixedSizeArray(OF, 1)) to item 0 of array p, keeping p's bounds."""
    if not isinstance(p, _ptr) or not isinstance(p._T.TO, (Array, FixedSizeArray)):
        raise TypeError("direct_arrayitems: %r is not an array pointer" % (p,))
    p._check_live("direct_arrayitems")
    items, OF = p._items()
    lo, hi = _bounds(p)
    return _direct(OF, items, 0, hi, p._alloc)


def _direct(OF, items_cd, offset, parent_len, alloc):
    T = Ptr(FixedSizeArray(OF, 1))
    cd = _ffi.cast(_c_name(T), items_cd + offset) if offset else _ffi.cast(_c_name(T),
                                                                         items_cd)
    return _ptr_of(T, cd, -offset, None if parent_len is None else parent_len - offset,
                   alloc)


def direct_ptradd(p, n):
    """Move a direct pointer (or a nolength array pointer) by n items."""
    if not isinstance(p, _ptr):
        raise TypeError("direct_ptradd: %r is not a pointer" % (p,))
    TO = p._T.TO
    if isinstance(TO, Array) and TO._nolength():
        from .rffi import ptradd
        return ptradd(p, n)
    if not (isinstance(TO, FixedSizeArray) and TO.length == 1):
        raise TypeError("direct_ptradd: %r does not come from direct_arrayitems/"
                        "direct_fieldptr" % (p,))
    p._check_live("direct_ptradd")
    items, OF = p._items()
    parent_len = None if p._hi is None else p._hi - p._lo
    start = -p._lo + n
    base = items - (-p._lo)
    return _direct(OF, base, start, parent_len, p._alloc)


def direct_fieldptr(p, name):
    """A Ptr(FixedSizeArray(FIELDTYPE, 1)) to field ``name`` of struct pointer p."""
    if not isinstance(p, _ptr) or not isinstance(p._T.TO, Struct):
        raise TypeError("direct_fieldptr: %r is not a struct pointer" % (p,))
    S = p._T.TO
    if name not in S._flds:
        raise TypeError("direct_fieldptr: %s has no field %r" % (S._short_name(), name))
    p._check_live("direct_fieldptr")
    FT = S._flds[name]
    T = Ptr(FixedSizeArray(FT, 1))
    if isinstance(S, FixedSizeArray):
        address = p._items()[0] + int(name[4:])
    else:
        address = _ffi.addressof(p._cd, _c_field_name(name))
    return _ptr_of(T, _ffi.cast(_c_name(T), address), 0, 1, p._alloc)


def functionptr(TYPE, name, _callable=None, **attrs):
    """A Ptr(TYPE) whose calls run ``_callable`` (strict argument types, 1.5 rule 9)."""
    if not isinstance(TYPE, FuncType):
        raise TypeError("functionptr: %r is not a FuncType" % (TYPE,))
    p = _ptr_of(Ptr(TYPE), None)
    p._callable = _callable
    p._name = name
    return p


def _callback_for(p):
    """The C function pointer of a Python-only function pointer (rffi makes callbacks)."""
    from .rffi import _callback_of_functionptr
    return _callback_of_functionptr(p)


def cast_primitive(TGT, value):
    """Convert ``value`` to primitive type TGT with rffi.cast's rules."""
    if not isinstance(_strip(TGT), Primitive):
        raise TypeError("cast_primitive: %r is not a primitive type" % (TGT,))
    if isinstance(value, _ptr):
        raise TypeError("cast_primitive: %r is a pointer (use rffi.cast)" % (value,))
    return _cast(TGT, value)


def _cast(TYPE, value):
    """rffi.cast: a forced C cast (spec 2.3)."""
    if type(TYPE) is Number and type(value) is int and _INT_MIN <= value <= _UINT_MAX:
        # the common number cast (arguments, fields): C's wrapping conversion
        value &= TYPE._mask
        if TYPE._signed and value >> (TYPE._bits - 1):
            value -= 1 << TYPE._bits
        cls = TYPE._type
        return value if cls is int else int.__new__(cls, value)
    if not isinstance(TYPE, LowLevelType):
        raise TypeError("cast: %r is not a low-level type" % (TYPE,))
    T = _strip(TYPE)
    if isinstance(value, _ptr):
        if value._T is T or value._T == T:
            return value
        if isinstance(T, Ptr):
            return _ptr_of(T, _ffi.cast(_pointer_ctype(T), value._c_pointer()),
                           alloc=value._alloc)      # a use after its free raises
        return _cast_number(T, value._address(), "pointer")
    if value is None and isinstance(T, Ptr):
        return nullptr(T.TO)
    VT = typeOf(value) if type(value) is not int else None
    if VT is not None and VT == T:
        return value
    if isinstance(T, Ptr):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("cast(%s, %r): only ints and pointers cast to a pointer"
                            % (T._short_name(), value))
        address = _wrap_bits(_check_64(value), 64, False)
        return _ptr_of(T, _ffi.cast(_c_name(T), address))
    if isinstance(value, (bytes, str)):
        if len(value) != 1:
            raise TypeError("cast(%s, %r): only one-character strings cast"
                            % (T._short_name(), value))
        value = ord(value)
    elif isinstance(value, _OpaqueFloat):
        value = float(value)
    elif not isinstance(value, (int, float)):
        raise TypeError("cast(%s, %r): cannot cast a %s" % (T._short_name(), value,
                                                            type(value).__name__))
    return _cast_number(T, value, type(value).__name__)


_INT_MIN, _UINT_MAX = -(1 << 63), (1 << 64) - 1       # what casts take (64 bits)


def _check_64(value, bits=64):
    """value, if it fits in ``bits`` bits signed or unsigned (what casts take)."""
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise OverflowError("cast: integer %d out of bounds (more than %d bits)"
                            % (value, bits))
    return value


def _wrap_bits(value, bits, signed):
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _cast_number(T, value, source):
    """Cast a Python int or float to primitive T with C's conversion (wrapping)."""
    if T is Float:
        return float(value)
    if T is SingleFloat:
        return r_singlefloat(value)
    if T is LongFloat:
        return r_longfloat(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise OverflowError("cast(%s, %r): not a finite number" % (T, value))
        value = int(value)
    value = _check_64(int(value), max(64, getattr(T, "_bits", 64)))
    if T is Bool:
        return value != 0
    if T is Char:
        return bytes((value & 0xFF,))
    if T is UniChar:
        return chr(_wrap_bits(value, 8 * _ffi.sizeof("wchar_t"), False))
    if isinstance(T, Number):
        return T._type(_wrap_bits(value, T._bits, T._signed))
    raise TypeError("cast(%s, <%s>): cannot cast to this type" % (T, source))
