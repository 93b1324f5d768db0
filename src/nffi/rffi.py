"""RPython's rffi on nffi: C type names, casts, llexternal, callbacks, errno, strings.

The top half of nffi's rffi front end (spec: rffi-api.md section 2).  The types are
``nffi.lltype`` types; an ``llexternal`` is bound lazily to a C symbol (found with
``dlopen``/``dlsym`` through nffi itself, in the ECI's compiled library first) and called
as an nffi function-pointer cdata, so the call goes through the core's call plans (direct
calls where the signature allows).  Each wrapper is generated Python source specialised
to its signature: the common argument kinds (exact ints in range, floats) are checked
inline, everything else goes through ``_ArgConverter``.
"""
import functools
import sys
import threading
import traceback

from . import _core, lltype
from . import primitives as _primitives
from .lltype import (Array, Bool, Char, FixedSizeArray, Float, FuncType, LongFloat,
                     Number, OpaqueType, Ptr, Signed, SingleFloat, Struct, UniChar,
                     Void, _ffi, _ptr, _ptr_of, _c_name, _strip, nullptr, r_longfloat,
                     r_singlefloat, typeOf)
from .cbuild import ExternalCompilationInfo

NULL = None

# ---------------------------------------------------------------------------------------
# Type names (spec 2.1), from nffi.primitives (the one table of primitive types), plus
# three POSIX typedefs that table does not have.  Names of the same signedness and size
# are one object, named after the first one.  Signedness follows RPython: unsigned are
# the names starting with 'u' or 'unsigned', and size_t (so mode_t is signed, as RPython
# declares it, and wchar_t is signed).

_POSIX_TYPEDEFS = [         # (rffi name, C name, the C type nffi measures it with)
    ("TIME_T", "time_t", "long"),
    ("MODE_T", "mode_t", "unsigned short" if sys.platform == "darwin" else "unsigned int"),
    ("PID_T", "pid_t", "int"),
]
_INTEGER_ROWS = [(row.rffi_name, row.name, row.name) for row in _primitives.PRIMITIVES
                 if row.rffi_name and row.kind in ("signed", "unsigned", "wchar")]
_INTEGER_ROWS += _POSIX_TYPEDEFS

NUMBER_TYPES = []
_C_SPELLING = {}          # Number -> the C name it was first declared with
for _name, _c, _measure in _INTEGER_ROWS:
    _signed = not (_c.startswith("u") or _c == "size_t")
    _T = lltype.build_number(_name, _measure, signed=_signed)
    globals()[_name] = _T
    globals()["r_" + _name.lower()] = _T._type if _T._type is not int else lltype.r_longlong
    globals()[_name + "P"] = Ptr(Array(_T, hints={"nolength": True}))
    if _T not in NUMBER_TYPES:
        NUMBER_TYPES.append(_T)
    _C_SPELLING.setdefault(_T, _measure)
del _name, _c, _measure, _signed, _T

# The 128-bit integers, "only if the compiler has them": GCC and Clang have __int128 on
# every 64-bit target.  nffi's core has no 128-bit type: they serve values, arithmetic,
# casts and sizeof; memory, fields and calls raise TypeError (lltype._c_name).
if lltype._LONG_BITS == 64:
    __INT128_T = lltype.build_number("__INT128_T", "__int128", signed=True, bits=128)
    __UINT128_T = lltype.build_number("__UINT128_T", "unsigned __int128", signed=False,
                                      bits=128)
    r___int128_t, r___uint128_t = __INT128_T._type, __UINT128_T._type
    __INT128_TP = Ptr(Array(__INT128_T, hints={"nolength": True}))
    __UINT128_TP = Ptr(Array(__UINT128_T, hints={"nolength": True}))
    NUMBER_TYPES += [__INT128_T, __UINT128_T]
    _C_SPELLING[__INT128_T] = "__int128"
    _C_SPELLING[__UINT128_T] = "unsigned __int128"

SIGNED = lltype.Signed
UNSIGNED = lltype.Unsigned
CHAR = lltype.Char
BOOL = lltype.Bool
DOUBLE = lltype.Float
FLOAT = lltype.SingleFloat
LONGDOUBLE = lltype.LongFloat
r_singlefloat = lltype.r_singlefloat
r_longfloat = lltype.r_longfloat


def CArray(T):
    """A C array of T with no length header: ``Array(T, hints={'nolength': True})``."""
    return Array(T, hints={"nolength": True})


def CArrayPtr(T):
    """``Ptr(CArray(T))``: a C ``T *``."""
    return Ptr(CArray(T))


def CFixedArray(T, n):
    """``FixedSizeArray(T, n)``: a C ``T[n]``."""
    return FixedSizeArray(T, n)


def CCallback(args, res):
    """``Ptr(FuncType(args, res))``: a C function pointer."""
    return Ptr(FuncType(args, res))


SIGNEDP = CArrayPtr(SIGNED)
SIGNEDPP = CArrayPtr(SIGNEDP)
UNSIGNEDP = CArrayPtr(UNSIGNED)
DOUBLEP = CArrayPtr(DOUBLE)
FLOATP = CArrayPtr(FLOAT)
LONGDOUBLEP = CArrayPtr(LONGDOUBLE)
CCHARP = Ptr(Array(Char, hints={"nolength": True}))
CONST_CCHARP = Ptr(Array(Char, hints={"nolength": True, "render_as_const": True}))
CCHARPP = CArrayPtr(CCHARP)
CWCHARP = CArrayPtr(UniChar)
CWCHARPP = CArrayPtr(CWCHARP)
VOIDP = Ptr(lltype._VOID_ARRAY)
CONST_VOIDP = Ptr(Array(Char, hints={"nolength": True, "render_as_void": True,
                                     "render_as_const": True}))
VOIDPP = CArrayPtr(VOIDP)
_CHAR_POINTERS = (CCHARP, CONST_CCHARP, VOIDP, CONST_VOIDP)

# ---------------------------------------------------------------------------------------
# Type constructors (spec 2.2)


def CStruct(name, *fields, **kwds):
    """A C ``struct <name>``: fields are ``(name, TYPE)``, accessed as ``p.c_<name>``."""
    hints = dict(kwds.pop("hints", None) or {})
    hints.update(external="C", c_name=name)
    return Struct(name, *[("c_" + fname, T) for fname, T in fields], hints=hints, **kwds)


def CStructPtr(*args, **kwds):
    """``Ptr(CStruct(...))``."""
    return Ptr(CStruct(*args, **kwds))


def COpaque(name=None, ptr_typedef=None, hints=None, compilation_info=None):
    """An opaque C type; its size is ``sizeof(name)``, probed by the compiler on demand."""
    hints = dict(hints or {})
    hints.update(external="C", c_name=name, c_pointer_typedef=ptr_typedef)
    T = OpaqueType(name or "opaque", hints)
    if name is not None:
        eci = compilation_info or ExternalCompilationInfo()
        cache = []

        def size():
            if not cache:
                cache.append(eci.probe_integer("sizeof(%s)" % name))
            return cache[0]
        T._size_provider = size
    return T


def COpaquePtr(name=None, typedef=None, hints=None, compilation_info=None):
    """``Ptr(COpaque(name, ptr_typedef=typedef, ...))``."""
    return Ptr(COpaque(name, ptr_typedef=typedef, hints=hints,
                       compilation_info=compilation_info))


class CConstant:
    """A C constant or ``#define`` of type TP, evaluated by a compiled probe."""

    def __init__(self, c_name, TP):
        TP = _strip(TP)
        if not (isinstance(TP, Number) or TP in (Char, Bool, Float)):
            raise TypeError("CConstant %r: type %s must be a number, Char, Bool or Float"
                            % (c_name, TP))
        self.c_name = c_name
        self.TP = TP
        self._lltype_ = TP
        self._values = {}

    def __repr__(self):
        return "CConstant(%r, %s)" % (self.c_name, self.TP)

    def getvalue(self, compilation_info=None):
        """The constant's value as a TP value, compiled with ``compilation_info``."""
        eci = compilation_info or ExternalCompilationInfo()
        value = self._values.get(eci)
        if value is None:
            if self.TP is Float:
                value = eci.probe_float("(double)(%s)" % self.c_name)
            else:
                raw = eci.probe_integer("(long long)(%s)" % self.c_name)
                value = cast(self.TP, raw)
            self._values[eci] = value
        return value


# ---------------------------------------------------------------------------------------
# cast, ptradd, sizeof, offsetof (spec 2.3)

_recast = _core.LLPtr._recast         # the pointer-to-pointer common case of cast


def cast(TYPE, value):
    """A forced C cast of ``value`` to ``TYPE`` (wrapping, no checks)."""
    if type(TYPE) is Ptr:
        # the common case (a callback's void pointers to their item type) in C, once
        # lltype has made TYPE's ctype and class
        p = _recast(value, TYPE)
        if p is not None:
            return p
    elif isinstance(value, CConstant):
        value = value.getvalue()
    return lltype._cast(TYPE, value)


def ptradd(ptr, n):
    """C ``ptr + n`` for a pointer to a nolength array; the length becomes unknown."""
    if not isinstance(ptr, _ptr) or not isinstance(ptr._T.TO, Array) \
            or not ptr._T.TO._nolength():
        raise TypeError("ptradd: %r is not a pointer to a nolength array" % (ptr,))
    if ptr._T.TO._hints.get("render_as_void"):       # void *: no arithmetic in C
        return _ptr_of(ptr._T, _ffi.cast(_ffi.typeof(ptr._cd), _ffi.cast("char *", ptr._cd) + n),
                       alloc=ptr._alloc)
    return _ptr_of(ptr._T, ptr._cd + n, alloc=ptr._alloc)    # freed with it: use raises


def sizeof(T):
    """The size in bytes of T as the C compiler lays it out."""
    if not isinstance(T, lltype.LowLevelType):
        raise TypeError("sizeof: %r is not a low-level type" % (T,))
    return lltype._sizeof(T)


def offsetof(STRUCT, fieldname):
    """The byte offset of field ``fieldname`` (its full name, e.g. 'c_x') in STRUCT."""
    S = _strip(STRUCT)
    if not isinstance(S, Struct):
        raise TypeError("offsetof: %r is not a struct type" % (STRUCT,))
    if fieldname not in S._flds:
        raise AttributeError("offsetof: %s has no field %r" % (S._short_name(), fieldname))
    if isinstance(S, FixedSizeArray):
        return int(fieldname[4:]) * sizeof(S.OF)
    if S._flds[fieldname] is Void:
        following = [n for n in S._names[S._names.index(fieldname):]
                     if S._flds[n] is not Void]
        return offsetof(S, following[0]) if following else sizeof(S)
    return _ffi.offsetof(lltype._complete(S), lltype._c_field_name(fieldname))


def size_and_sign(T):
    """``(sizeof(T), is_unsigned)``."""
    T = _strip(T)
    unsigned = (isinstance(T, Number) and not T._signed) or T in (Char, UniChar, Bool)
    return sizeof(T), unsigned


# ---------------------------------------------------------------------------------------
# Struct helpers (spec 2.8)

def make(STRUCT, **fields):
    """Malloc a STRUCT (raw, tracked) and set each field given by keyword."""
    p = lltype.malloc(STRUCT, flavor="raw", zero=True)
    for name, value in fields.items():
        setattr(p, name, value)
    return p


def structcopy(pdst, psrc):
    """Copy every field of ``*psrc`` into ``*pdst`` (pointers of equal type)."""
    if not isinstance(pdst, _ptr) or not isinstance(psrc, _ptr):
        raise TypeError("structcopy needs two pointers")
    if pdst._T != psrc._T or not isinstance(pdst._T.TO, Struct):
        raise TypeError("structcopy: %s and %s are not pointers to the same struct type"
                        % (pdst._T._short_name(), psrc._T._short_name()))
    pdst._check_live("structcopy")
    psrc._check_live("structcopy")
    _ffi.memmove(pdst._cd, psrc._cd, sizeof(pdst._T.TO))


def setintfield(p, name, value):
    """``p.name = cast(FIELDTYPE, value)`` for an integer field."""
    FT = _strip(p._T.TO._flds[name]) if name in p._T.TO._flds else None
    if FT is None:
        raise AttributeError("%s has no field %r" % (p._T.TO._short_name(), name))
    if not isinstance(FT, Number):
        raise TypeError("setintfield: field %r of %s is a %s, not an integer"
                        % (name, p._T.TO._short_name(), FT))
    setattr(p, name, cast(FT, value))


def getintfield(p, name):
    """``cast(Signed, p.name)`` as a plain int."""
    return int(cast(Signed, getattr(p, name)))


# ---------------------------------------------------------------------------------------
# errno (spec 2.6)

RFFI_ERR_NONE = 0
RFFI_SAVE_ERRNO = 1
RFFI_READSAVED_ERRNO = 2
RFFI_ZERO_ERRNO_BEFORE = 4
RFFI_FULL_ERRNO = RFFI_SAVE_ERRNO | RFFI_READSAVED_ERRNO
RFFI_FULL_ERRNO_ZERO = RFFI_SAVE_ERRNO | RFFI_ZERO_ERRNO_BEFORE
RFFI_SAVE_LASTERROR = 8
RFFI_READSAVED_LASTERROR = 16
RFFI_SAVE_WSALASTERROR = 32
RFFI_FULL_LASTERROR = RFFI_SAVE_LASTERROR | RFFI_READSAVED_LASTERROR
RFFI_ERR_ALL = RFFI_FULL_ERRNO | RFFI_FULL_LASTERROR
RFFI_ALT_ERRNO = 64

class _ThreadState(threading.local):
    """Per-thread rffi state; class attributes are the defaults (a missing attribute of a
    threading.local costs an exception on every read: this is on the call path)."""
    errno = 0
    alterrno = 0
    callback_exc = None


_thread_state = _ThreadState()


def get_saved_errno():
    """The errno saved by the last RFFI_SAVE_ERRNO call of this thread."""
    return _thread_state.errno


def set_saved_errno(errno):
    """Set this thread's saved errno (read by RFFI_READSAVED_ERRNO calls)."""
    _thread_state.errno = int(errno)


def get_saved_alterrno():
    """The alternate saved errno of this thread (RFFI_ALT_ERRNO)."""
    return _thread_state.alterrno


def set_saved_alterrno(errno):
    """Set this thread's alternate saved errno."""
    _thread_state.alterrno = int(errno)


def _errno_before(flags):
    slot = "alterrno" if flags & RFFI_ALT_ERRNO else "errno"
    if flags & RFFI_READSAVED_ERRNO:
        _ffi.errno = getattr(_thread_state, slot)
    elif flags & RFFI_ZERO_ERRNO_BEFORE:
        _ffi.errno = 0


def _errno_after(flags):
    if flags & RFFI_SAVE_ERRNO:
        setattr(_thread_state, "alterrno" if flags & RFFI_ALT_ERRNO else "errno", _ffi.errno)


# ---------------------------------------------------------------------------------------
# Argument and result conversion of llexternal wrappers (spec 2.4)

_INT_MIN, _UINT_MAX = lltype._INT_MIN, lltype._UINT_MAX     # the 64 bits a cast takes


class _ArgConverter:
    """Converts a wrapper argument of declared type T to what the nffi cdata call takes.

    Temporaries (copies of bytes and str) are owned cdata: they live until the wrapper
    drops them, right after the C call, also when it raises."""

    def __init__(self, fname, index, T, eci):
        self.fname = fname
        self.index = index
        self.T = T
        self.eci = eci
        if isinstance(T, Ptr):
            self.any_pointer = T is VOIDP or T is CONST_VOIDP
            self.also = (CCHARP,) if T is CONST_CCHARP else ()
            # bytes for a const pointer go to C as they are (C must not write there);
            # for a writable one C gets a fresh copy, as ll2ctypes gives
            self.bytes_mode = ("direct" if T in (CONST_CCHARP, CONST_VOIDP) else "copy") \
                if T in _CHAR_POINTERS else None
            self.wide = T == CWCHARP
            self.function = isinstance(T.TO, FuncType)

    def error(self, value, expected):
        if self.index < 0:                    # the result of a callback
            return TypeError("%s must return %s, not %r" % (self.fname, expected, value))
        return TypeError("%s(): argument %d must be %s, not %r"
                         % (self.fname, self.index + 1, expected, value))

    def __call__(self, value):
        T = self.T
        if isinstance(value, CConstant):
            if value.TP != T:
                raise self.error(value, T._short_name())
            value = value.getvalue(self.eci)
        if isinstance(T, Number):
            if type(value) is float or not isinstance(value, int):
                raise self.error(value, "an integer (%s)" % T._short_name())
            if not _INT_MIN <= value <= _UINT_MAX:
                raise OverflowError("%s(): argument %d: %d does not fit in 64 bits"
                                    % (self.fname, self.index + 1, value))
            return int(cast(T, int(value)))
        if T is Float or T is SingleFloat or T is LongFloat:
            if isinstance(value, (int, float)) or (
                    T is SingleFloat and type(value) is r_singlefloat) or (
                    T is LongFloat and type(value) is r_longfloat):
                return float(value)
            raise self.error(value, "a float")
        if T is Bool:
            if isinstance(value, int):
                return value != 0
            raise self.error(value, "a bool or an int")
        if T is Char:
            if type(value) is bytes and len(value) == 1:
                return value
            raise self.error(value, "bytes of length 1")
        if T is UniChar:
            if type(value) is str and len(value) == 1:
                return value
            raise self.error(value, "a str of length 1")
        if isinstance(T, Ptr):
            return self.pointer(value)
        if isinstance(T, Struct):
            if isinstance(value, _ptr) and value._T.TO == T:
                value._check_live("passing by value")
                return value._cd[0]
            raise self.error(value, "a pointer to %s (passed by value)" % T._short_name())
        raise self.error(value, T._short_name())

    def pointer(self, value):
        T = self.T
        if value is None:
            return _ffi.NULL
        if isinstance(value, _ptr):
            vt = value._T
            if vt is T or self.any_pointer or vt in self.also or vt == T:
                alloc = value._alloc
                if alloc is not None and alloc.freed:     # C would get freed memory
                    value._check_live("%s(): argument %d" % (self.fname, self.index + 1)
                                      if self.index >= 0 else "%s's result" % self.fname)
                return value._c_pointer()
            raise self.error(value, "a pointer of type %s" % T._short_name())
        if self.bytes_mode is not None:
            if type(value) is bytes:
                return value if self.bytes_mode == "direct" else _ffi.new("char[]", value)
            raise self.error(value, "bytes, None or a %s pointer" % T._short_name())
        if self.wide:
            if type(value) is str:
                return _ffi.new("wchar_t[]", value)
            raise self.error(value, "a str, None or a CWCHARP")
        if self.function:
            if callable(value):
                return _callback(value, T.TO, reraise=False)
            raise self.error(value, "a callable or a function pointer")
        raise self.error(value, "a pointer of type %s or None" % T._short_name())


def _result_converter(T):
    """What a wrapper returns for C result type T (INT as a plain int, UINT as r_uint)."""
    if isinstance(T, Number):
        if T._bits == 32:
            cls = None if T._signed else lltype.r_uint
        else:
            cls = None if T._type is int else T._type
        # C gives a value in range: skip the checks of cls(...)
        return None if cls is None else functools.partial(int.__new__, cls)
    return lltype._reader(T)


# ---------------------------------------------------------------------------------------
# Callbacks (spec 2.5)

_callbacks = {}            # (callable, FuncType, reraise) -> nffi callback cdata (immortal)
_callbacks_lock = threading.Lock()
_reraise_armed = [False]   # set once a re-raising callback exists: wrappers then check


def _callback(fn, FT, reraise):
    key = (fn, FT, reraise)
    cb = _callbacks.get(key)
    if cb is None:
        with _callbacks_lock:
            cb = _callbacks.get(key)
            if cb is None:
                cb = _callbacks[key] = _make_callback(fn, FT, reraise)
                if reraise:
                    _reraise_armed[0] = True
    return cb


def _callback_of_functionptr(p):
    """The C callback of a Python function pointer (functionptr/llhelper)."""
    if p._callable is None:
        raise RuntimeError("function pointer %s has no implementation to call from C"
                           % p._name_for_errors())
    return _callback(p._callable, p._T.TO, reraise=True)


def _make_callback(fn, FT, reraise):
    name = getattr(fn, "__name__", repr(fn))
    readers = [(A is Void, lltype._reader(A)) for A in FT.ARGS]
    RESULT = FT.RESULT
    result_conv = None if RESULT is Void else _ArgConverter("callback " + name, -1,
                                                            RESULT, None)

    def zero():
        if RESULT is Void:
            return None
        code = getattr(fn, "_errorcode_", None)
        if code is not None:
            try:
                return result_conv(code)
            except Exception:
                pass
        if isinstance(RESULT, Ptr):
            return _ffi.NULL
        return result_conv(lltype._zero(RESULT))

    def convert_result(result):
        if RESULT is Void:
            return None
        if isinstance(RESULT, Ptr):
            if result is None or isinstance(result, _ptr):
                return result_conv.pointer(result)
            # bytes or a callable would need a temporary that dies on return
            raise TypeError("callback %s must return a pointer of type %s or None, "
                            "not %r" % (name, RESULT._short_name(), result))
        return result_conv(result)

    def failed(e):
        if reraise:
            _thread_state.callback_exc = e
        else:
            sys.stderr.write("Warning: uncaught exception in callback: %s %s\n"
                             % (name, e))
            traceback.print_exc()
        return zero()

    # generated, as llexternal wrappers are: C's arguments read by their types, the
    # result's common case (an int in range, a float) returned as it is
    ns = {"fn": fn, "convert_result": convert_result, "failed": failed,
          "BaseException": BaseException}
    params, passed = [], []
    for i, (is_void, read) in enumerate(readers):
        if is_void:
            passed.append("None")
            continue
        params.append("c%d" % i)
        if read is None:
            passed.append("c%d" % i)
        else:
            ns["read%d" % i] = read
            passed.append("read%d(c%d)" % (i, i))
    if isinstance(RESULT, Number):
        lo, hi = ((-(1 << (RESULT._bits - 1)), (1 << (RESULT._bits - 1)) - 1)
                  if RESULT._signed else (0, (1 << RESULT._bits) - 1))
        fast = "if (type(r) is int or type(r) is _cls) and %d <= r <= %d: return r" % (lo, hi)
        ns["_cls"] = RESULT._type
    elif RESULT is Float:
        fast = "if type(r) is float: return r"
    else:
        fast = "pass"
    source = ("def trampoline(%s):\n"
              "    try:\n"
              "        r = fn(%s)\n"
              "        %s\n"
              "        return convert_result(r)\n"
              "    except BaseException as e:\n"
              "        return failed(e)\n" % (", ".join(params), ", ".join(passed), fast))
    exec(compile(source, "<rffi callback %s>" % name, "exec"), ns)
    trampoline = ns["trampoline"]

    return _ffi.callback(_c_name(Ptr(FT)), trampoline)


def _reraise_callback_exception():
    exc = _thread_state.callback_exc
    if exc is not None:
        _thread_state.callback_exc = None
        raise exc


def llhelper(FPTR, f):
    """A function pointer of type FPTR that runs ``f`` (also when C calls it)."""
    return lltype.functionptr(FPTR.TO, f.__name__, _callable=f)


_keepalives = {}


def register_keepalive(obj):
    """Keep ``obj`` alive; returns an int that C can carry and give back."""
    pos = 0
    while pos in _keepalives:
        pos += 1
    _keepalives[pos] = obj
    return pos


def _store_type(obj):
    try:
        return typeOf(obj)
    except (TypeError, OverflowError):
        return type(obj)


def get_keepalive_object(pos, TP):
    """The object registered at ``pos`` (of type TP)."""
    obj = _keepalives[pos]
    if _store_type(obj) != TP:
        raise TypeError("keepalive %d holds a %r, not a %r" % (pos, _store_type(obj), TP))
    return obj


def unregister_keepalive(pos, TP):
    """Free keepalive slot ``pos``."""
    get_keepalive_object(pos, TP)
    del _keepalives[pos]


# ---------------------------------------------------------------------------------------
# llexternal (spec 2.4)

def _c_spelling(T):
    """How generated C (macro wrappers, CExternVariable) writes low-level type T."""
    T = _strip(T)
    if T is Void:
        return "void"
    if isinstance(T, Number):
        return _C_SPELLING.get(T, T._c_name)
    if isinstance(T, lltype.Primitive):
        return T._c_name
    if isinstance(T, Ptr):
        TO = _strip(T.TO)
        if T in (CCHARP, CONST_CCHARP):
            return "const char *" if T == CONST_CCHARP else "char *"
        if T in (VOIDP, CONST_VOIDP):
            return "const void *" if T == CONST_VOIDP else "void *"
        if isinstance(TO, Array) and TO._nolength() and not isinstance(
                TO.OF, (Struct, Array, FuncType)):
            return _c_spelling(TO.OF) + " *"
        if isinstance(TO, Struct) and TO._hints.get("c_name"):
            return "struct %s *" % TO._hints["c_name"]
        if isinstance(TO, OpaqueType) and TO._hints.get("c_pointer_typedef"):
            return TO._hints["c_pointer_typedef"]
        if isinstance(TO, OpaqueType) and TO._hints.get("c_name"):
            return TO._hints["c_name"] + " *"
        return "void *"
    if isinstance(T, Struct) and T._hints.get("c_name"):
        return "struct %s" % T._hints["c_name"]
    raise TypeError("no C spelling for %s" % T)


class _Symbol:
    """The lazily found C function of one llexternal declaration."""

    def __init__(self, name, FT, eci, macro, natural_arity, releasegil=True):
        self.name = name
        self.releasegil = releasegil
        self.FT = FT
        self.eci = eci
        self.macro = macro
        self.natural_arity = natural_arity
        self.cdata = None
        self.lock = threading.Lock()

    def ctype_name(self):
        FT = self.FT
        if self.natural_arity < 0:
            return _c_name(Ptr(FT))
        args = [A for A in FT.ARGS if A is not Void][:self.natural_arity]
        return "%s(*)(%s)" % (_c_name(FT.RESULT), ", ".join(
            [_c_name(A) for A in args] + ["..."]))

    def resolve(self):
        with self.lock:
            if self.cdata is None:
                eci = self.eci
                symbol = self.name
                if self.macro:
                    symbol, eci = self.macro_wrapper()
                address = _find_symbol(symbol, eci)
                for A in self.FT.ARGS:
                    if isinstance(A, Struct):
                        lltype._complete(A)
                cdata = _ffi.cast(self.ctype_name(), address)
                self.cdata = cdata if self.releasegil else _core._keep_gil(cdata)
            return self.cdata

    def macro_wrapper(self):
        macro = self.name if self.macro is True else self.macro
        FT = self.FT
        wrapper = "_nffi_macro_%s" % self.name
        params = []
        call_args = []
        for i, A in enumerate(FT.ARGS):
            if A is Void:
                continue
            params.append("%s a%d" % (_c_spelling(A), i))
            call_args.append("a%d" % i)
        call = "%s(%s)" % (macro, ", ".join(call_args))
        body = call + ";" if FT.RESULT is Void else "return %s;" % call
        source = "%s %s(%s) { %s }\n" % (_c_spelling(FT.RESULT), wrapper,
                                        ", ".join(params) or "void", body)
        return wrapper, self.eci.merge(ExternalCompilationInfo(
            separate_module_sources=[source]))


_dl = None
_dl_lock = threading.Lock()
_library_handles = {}


def _dlfuncs():
    global _dl
    with _dl_lock:
        if _dl is None:
            from .api import FFI
            ffi = FFI()
            ffi.cdef("void *dlopen(const char *, int); void *dlsym(void *, const char *);"
                     "char *dlerror(void);")
            try:
                lib = ffi.dlopen(None)
                lib.dlsym
            except Exception:
                lib = ffi.dlopen("libdl.so.2")
            _dl = (ffi, lib)
    return _dl


_RTLD_NOW, _RTLD_LOCAL = 2, 0


def _dlopen(path):
    handle = _library_handles.get(path)
    if handle is None:
        ffi, lib = _dlfuncs()
        handle = lib.dlopen(path.encode() if path is not None else ffi.NULL,
                            _RTLD_NOW | _RTLD_LOCAL)
        if handle == ffi.NULL:
            error = lib.dlerror()
            raise OSError("cannot load %r: %s" % (path, ffi.string(error).decode(
                "utf-8", "replace") if error != ffi.NULL else "unknown error"))
        _library_handles[path] = handle
    return handle


def _dlsym(handle, name):
    ffi, lib = _dlfuncs()
    lib.dlerror()
    address = lib.dlsym(handle, name.encode())
    return None if address == ffi.NULL else address


def _find_library(name, library_dirs):
    import os
    ext = "dylib" if sys.platform == "darwin" else "so"
    for directory in library_dirs:
        for candidate in ("lib%s.%s" % (name, ext), "%s.%s" % (name, ext)):
            path = os.path.join(directory, candidate)
            if os.path.exists(path):
                return path
    if os.path.isabs(name) and os.path.exists(name):
        return name
    from ctypes.util import find_library   # a path search only: no ctypes FFI is used
    return find_library(name)


def _find_symbol(name, eci):
    """The address of C symbol ``name`` for an llexternal of ECI ``eci`` (spec 2.4)."""
    if eci.separate_module_sources or eci.separate_module_files:
        eci = eci.compile_shared_lib()
    wanted = list(eci.testonly_libraries) + list(eci.libraries) + list(eci.frameworks)
    found, missing = [], []
    for libname in wanted:
        path = _find_library(libname, eci.library_dirs)
        if path is None:
            missing.append(libname)
            continue
        found.append(path)
        address = _dlsym(_dlopen(path), name)
        if address is not None:
            return address
    address = _dlsym(_dlopen(None), name)
    if address is not None:
        return address
    if wanted and not found:
        if len(missing) == 1:
            raise NotImplementedError("cannot find the library %r" % missing[0])
        raise NotImplementedError("cannot find any of the libraries %r" % missing)
    where = ", ".join(found) if found else "the standard C library"
    raise NotImplementedError("function %r not found in %s" % (name, where))


class _ExternalPtr(_ptr):
    """The function pointer of an llexternal: resolved on first use."""
    __slots__ = ("_symbol",)

    def _c_pointer(self):
        return self._resolved()

    def _resolved(self):
        symbol = self._symbol
        return symbol.cdata if symbol.cdata is not None else symbol.resolve()

    def __call__(self, *args):
        if self._callable is None:
            self._callable = _exact_caller(self)
        return _ptr.__call__(self, *args)

    def __bool__(self):
        return True

    def _address(self):
        return int(_ffi.cast("uintptr_t", self._resolved()))

    def __repr__(self):
        return "<* fn %s>" % self._symbol.name


def _exact_caller(p):
    """Calls C with exactly typed lltype values; the result exactly typed (no wrapper)."""
    FT = p._T.TO
    symbol = p._symbol

    def call(*args):
        c_args = [lltype._strict_to_c(A, a) for A, a in zip(FT.ARGS, args) if A is not Void]
        fn = p._resolved()
        if symbol.natural_arity >= 0:
            c_args = _variadic_args(FT, symbol.natural_arity, c_args)
        result = fn(*c_args)
        return None if FT.RESULT is Void else lltype._from_c(FT.RESULT, result)
    return call


def _variadic_args(FT, natural_arity, c_args):
    real = [A for A in FT.ARGS if A is not Void]
    return c_args[:natural_arity] + [
        _ffi.cast(_c_name(A), c) for A, c in zip(real[natural_arity:],
                                                   c_args[natural_arity:])]


def llexternal(name, args, result, _callable=None, compilation_info=None,
               sandboxsafe=False, releasegil="auto", _nowrapper=False, calling_conv=None,
               elidable_function=False, macro=None, random_effects_on_gcobjs="auto",
               save_err=RFFI_ERR_NONE, natural_arity=-1):
    """Declare the C function ``name(args) -> result``; see rffi-api.md 2.4."""
    if isinstance(args, (str, bytes)) or not hasattr(args, "__iter__"):
        raise TypeError("llexternal(%r): args must be a sequence of low-level types" % name)
    args = list(args)
    for i, A in enumerate(args):
        if not isinstance(A, lltype.LowLevelType):
            raise TypeError("llexternal(%r): argument %d: %r is not a low-level type"
                            % (name, i + 1, A))
    if not isinstance(result, lltype.LowLevelType) or isinstance(
            _strip(result), lltype.ContainerType):
        raise TypeError("llexternal(%r): result %r must be a primitive or pointer type"
                        % (name, result))
    for T in list(args) + [result]:
        if isinstance(_strip(T), Number) and _strip(T)._bits > lltype._CORE_MAX_BITS:
            lltype._c_name(T)           # raises: a 128-bit integer cannot travel to C
    if _callable is not None and not callable(_callable):
        raise TypeError("llexternal(%r): _callable %r is not callable" % (name, _callable))
    if macro and _callable is not None:
        raise ValueError("llexternal(%r): macro= and _callable= are exclusive" % name)
    if _nowrapper and save_err:
        raise ValueError("llexternal(%r): _nowrapper=True cannot save errno" % name)
    if elidable_function and random_effects_on_gcobjs is True:
        raise ValueError("llexternal(%r): an elidable function cannot have random effects"
                         % name)
    if compilation_info is None:
        compilation_info = ExternalCompilationInfo()
    if not isinstance(compilation_info, ExternalCompilationInfo):
        raise TypeError("llexternal(%r): compilation_info must be an "
                        "ExternalCompilationInfo" % name)
    FT = FuncType(args, result)
    if releasegil == "auto":
        releasegil = not (sandboxsafe or _nowrapper)
    symbol = _Symbol(name, FT, compilation_info, macro, natural_arity, bool(releasegil))
    fptr = _ExternalPtr.__new__(_ExternalPtr)
    fptr._T = Ptr(FT)
    fptr._cd = None
    fptr._lo, fptr._hi, fptr._alloc = 0, None, None
    fptr._callable = None
    fptr._name = name
    fptr._symbol = symbol
    if _nowrapper:
        return fptr
    wrapper = _make_wrapper(name, FT, symbol, _callable, save_err)
    wrapper._ptr = fptr
    return wrapper


_RESULT_VOID, _RESULT_AS_IS, _RESULT_INT_CLASS, _RESULT_CONVERTER = range(4)  # llptr.c


def _make_wrapper(name, FT, symbol, _callable, save_err):
    """The callable of one llexternal: native (llptr.c's LLExternal) for a plain call,
    else a Python wrapper generated for its signature."""
    if _callable is None and symbol.natural_arity < 0 and len(FT.ARGS) <= 16 and \
            not save_err & (RFFI_READSAVED_ERRNO | RFFI_ZERO_ERRNO_BEFORE | RFFI_SAVE_ERRNO):
        wrapper = _native_wrapper(name, FT, symbol)
    else:
        wrapper = _python_wrapper(name, FT, symbol, _callable, save_err)
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = "C function %s: %s" % (name, FT)
    return wrapper


def _native_wrapper(name, FT, symbol):
    """An LLExternal: per argument the exact-type check of the fast path (else its
    _ArgConverter), the core's function, then the result's class or converter."""
    converters, checks = [], []
    has_pointer = False
    for i, A in enumerate(FT.ARGS):
        if A is Void:
            converters.append(None)
            checks.append((lltype._FAST_NONE, 0, 0, None))
            continue
        conv = _ArgConverter(name, i, A, symbol.eci)
        if isinstance(A, Number):
            lo, hi = (-(1 << (A._bits - 1)), (1 << (A._bits - 1)) - 1) if A._signed \
                else (0, (1 << A._bits) - 1)
            checks.append((lltype._FAST_INT_RANGE, lo, hi, None))
        elif A is Float:
            checks.append((lltype._FAST_FLOAT, 0, 0, None))
        elif isinstance(A, Ptr):
            has_pointer = True
            conv = conv.pointer
            if conv.__self__.bytes_mode == "direct":
                kind = lltype._FAST_BYTES        # bytes as they are, or a pointer of type A
            elif conv.__self__.bytes_mode == "copy":
                kind = lltype._FAST_BYTES_COPY   # a copy of bytes, or a pointer of type A
            elif conv.__self__.any_pointer:
                kind = lltype._FAST_ANY_POINTER
            else:
                kind = lltype._FAST_POINTER
            checks.append((kind, 0, 0, None if conv.__self__.any_pointer else A))
        else:
            checks.append((lltype._FAST_NONE, 0, 0, None))
        converters.append(conv)
    if FT.RESULT is Void:
        result_kind, result = _RESULT_VOID, None
    else:
        result = _result_converter(FT.RESULT)
        if result is None:
            result_kind = _RESULT_AS_IS
        elif lltype._typed_int_class(result) is not None:      # int.__new__(cls, r)
            result_kind, result = _RESULT_INT_CLASS, lltype._typed_int_class(result)
        else:
            result_kind = _RESULT_CONVERTER
    return _core.LLExternal(symbol.resolve, tuple(converters), tuple(checks), result_kind,
                            result, _reraise_armed if has_pointer else None,
                            _reraise_callback_exception)


def _python_wrapper(name, FT, symbol, _callable, save_err):
    """Generate the Python wrapper of one llexternal, specialised to its signature."""
    ns = {"_resolve": symbol.resolve, "_errno_before": _errno_before,
          "_errno_after": _errno_after, "_reraise": _reraise_callback_exception,
          "_variadic": _variadic_args, "_FT": FT, "_armed": _reraise_armed,
          "_new": _ffi.new, "_int_new": int.__new__}
    params, lines, passed = [], [], []
    has_pointer = False
    for i, A in enumerate(FT.ARGS):
        a = "a%d" % i
        params.append(a)
        if A is Void:
            continue
        conv = ns["c%d" % i] = _ArgConverter(name, i, A, symbol.eci)
        if isinstance(A, Number):
            lo, hi = (-(1 << (A._bits - 1)), (1 << (A._bits - 1)) - 1) if A._signed \
                else (0, (1 << A._bits) - 1)
            lines.append("if type(%s) is not int or not %d <= %s <= %d: %s = c%d(%s)"
                         % (a, lo, a, hi, a, i, a))
        elif A is Float:
            lines.append("if type(%s) is not float: %s = c%d(%s)" % (a, a, i, a))
        else:
            if isinstance(A, Ptr):
                ns["c%d" % i] = conv.pointer
                has_pointer = True
                if conv.bytes_mode == "direct":
                    lines.append("if type(%s) is not bytes: %s = c%d(%s)" % (a, a, i, a))
                    passed.append(a)
                    continue
                if conv.bytes_mode == "copy":
                    lines.append("if type(%s) is bytes: %s = _new('char[]', %s)" % (a, a, a))
                    lines.append("else: %s = c%d(%s)" % (a, i, a))
                    passed.append(a)
                    continue
            lines.append("%s = c%d(%s)" % (a, i, a))
        passed.append(a)
    if _callable is not None:
        ns["_impl"] = _callable
        call = "_impl(%s)" % ", ".join(params)
        lines = [("%s = _low(%d, %s)" % (a, i, a)) for i, a in enumerate(params)]
        ns["_low"] = _low_level_arg_maker(name, FT, symbol.eci)
        lines.append("return " + call)
    else:
        call_args = ", ".join(passed)
        if symbol.natural_arity >= 0:
            call_args = "*_variadic(_FT, %d, [%s])" % (symbol.natural_arity, call_args)
        lines.append("fn = _fn")
        lines.append("if fn is None: fn = _fn_set(_resolve())")
        if save_err & (RFFI_READSAVED_ERRNO | RFFI_ZERO_ERRNO_BEFORE):
            lines.append("_errno_before(%d)" % save_err)
        lines.append("r = fn(%s)" % call_args)
        if save_err & RFFI_SAVE_ERRNO:
            lines.append("_errno_after(%d)" % save_err)
        if has_pointer:
            lines.append("if _armed[0]: _reraise()")
        conv = None if FT.RESULT is Void else _result_converter(FT.RESULT)
        if FT.RESULT is Void:
            lines.append("return None")
        elif conv is None:
            lines.append("return r")
        elif lltype._typed_int_class(conv) is not None:      # int.__new__(cls, r)
            ns["_cls"] = lltype._typed_int_class(conv)
            lines.append("return _int_new(_cls, r)")
        else:
            ns["_res"] = conv
            lines.append("return _res(r)")
        ns["_fn"] = None

        def fn_set(cd):
            ns["_fn"] = cd
            return cd
        ns["_fn_set"] = fn_set
    source = "def %s(%s):\n    %s\n" % ("_wrapper", ", ".join(params),
                                         "\n    ".join(lines))
    exec(compile(source, "<llexternal %s>" % name, "exec"), ns)
    return ns["_wrapper"]


def _low_level_arg_maker(name, FT, eci):
    """For _callable: turn a wrapper argument into the low-level value of its type."""
    def low(i, value):
        A = FT.ARGS[i]
        if A is Void:
            return value
        if isinstance(A, (Number,)) or A in (Bool, Char, UniChar):
            _ArgConverter(name, i, A, eci)(value)
            return cast(A, value)
        if A is Float:
            return float(_ArgConverter(name, i, A, eci)(value))
        if A in (SingleFloat, LongFloat):
            return cast(A, _ArgConverter(name, i, A, eci)(value))
        if isinstance(A, Ptr):
            if value is None:
                return nullptr(A.TO)
            if isinstance(value, _ptr):
                _ArgConverter(name, i, A, eci).pointer(value)
                return value if value._T == A else cast(A, value)
            if type(value) is bytes and A in _CHAR_POINTERS:
                return cast(A, _ptr_of(CCHARP, _ffi.new("char[]", value)))
            _ArgConverter(name, i, A, eci).pointer(value)
        return value
    return low


def llexternal_use_eci(compilation_info):
    """A no-op function (only meaningful under translation)."""
    def use_eci():
        pass
    return use_eci


c_memcpy = llexternal("memcpy", [VOIDP, CONST_VOIDP, SIZE_T], lltype.Void,
                      releasegil=False)
c_memset = llexternal("memset", [VOIDP, SIGNED, SIZE_T], lltype.Void, releasegil=False)


def CExternVariable(TYPE, name, eci, c_type=None, sandboxsafe=False, _nowrapper=False,
                    getter_only=False, declare_as_extern=True):
    """``(getter, setter)`` llexternals for the C global variable ``name``."""
    c_type = c_type or _c_spelling(TYPE)
    getter_name = "get_" + name
    setter_name = "set_" + name
    lines = []
    if declare_as_extern:
        lines.append("extern %s %s;" % (c_type, name))
    lines.append("%s %s(void) { return %s; }" % (c_type, getter_name, name))
    if not getter_only:
        lines.append("void %s(%s v) { %s = v; }" % (setter_name, c_type, name))
    new_eci = eci.merge(ExternalCompilationInfo(separate_module_sources=["\n".join(lines)]))
    getter = llexternal(getter_name, [], TYPE, compilation_info=new_eci,
                        sandboxsafe=sandboxsafe, _nowrapper=_nowrapper)
    if getter_only:
        return getter
    setter = llexternal(setter_name, [TYPE], lltype.Void, compilation_info=new_eci,
                        sandboxsafe=sandboxsafe, _nowrapper=_nowrapper)
    return getter, setter


# ---------------------------------------------------------------------------------------
# String helpers (spec 2.7)

def _need_bytes(s, fname):
    if type(s) is not bytes:
        raise TypeError("%s() needs bytes, not %s" % (fname, type(s).__name__))


def _need_str(u, fname):
    if type(u) is not str:
        raise TypeError("%s() needs a str, not %s" % (fname, type(u).__name__))


def _need_pointer(p, types, fname):
    if not isinstance(p, _ptr) or p._T not in types:
        raise TypeError("%s() needs a pointer of type %s, not %r"
                        % (fname, " or ".join(T._short_name() for T in types), p))
    alloc, cd = p._alloc, p._cd
    if (alloc is not None and alloc.freed) or not cd:     # freed or NULL: the error
        p._check_live(fname + "()")
    return cd


def str2charp(s, track_allocation=True):
    """A malloc'ed NUL-terminated copy of bytes ``s`` (free it with free_charp)."""
    if type(s) is not bytes:
        _need_bytes(s, "str2charp")
    return lltype._malloc_copy(CCHARP.TO, s, track_allocation)


def free_charp(p, track_allocation=True):
    """Free a str2charp result."""
    if not lltype._heap_free(p, track_allocation):
        lltype.free(p, track_allocation=track_allocation)      # raises the error


def str2constcharp(s, track_allocation=True):
    """str2charp, typed CONST_CCHARP."""
    return cast(CONST_CCHARP, str2charp(s, track_allocation))


_READ_CHARP = (CCHARP, CONST_CCHARP)


_string = _core.LLPtr._string      # ffi.string of a live pointer of given types


def _known_size(p):
    """How many chars from ``p`` on lie in memory nffi knows the end of (malloc'ed), or
    None (from C, or moved by ptradd): reads stop there instead of running past it."""
    hi = p._hi if isinstance(p, _ptr) else None
    return hi if type(hi) is int else None


def _bounded_string(p, size, maxlen, fname, types=None):
    """charp2str(n) (or the wide one, by ``types``) within the ``size`` known chars:
    ValueError if no NUL is there and the read would have gone on past them."""
    cd = _need_pointer(p, types or _READ_CHARP, fname)
    s = _ffi.string(cd, size if maxlen is None else min(maxlen, size))
    if len(s) == size and (maxlen is None or maxlen > size):
        raise ValueError("%s(): no NUL within the %d chars of %r" % (fname, size, p))
    return s


def charp2str(p):
    """The bytes at ``p`` up to the first NUL."""
    size = _known_size(p)
    if size is not None:
        return _bounded_string(p, size, None, "charp2str")
    s = _string(p, _READ_CHARP, -1)
    return s if s is not None else _ffi.string(_need_pointer(p, _READ_CHARP, "charp2str"))


constcharp2str = charp2str


def charp2strn(p, maxlen):
    """The bytes at ``p`` up to the first NUL or ``maxlen`` bytes."""
    size = _known_size(p)
    if size is not None:
        return _bounded_string(p, size, maxlen if maxlen >= 0 else None, "charp2strn")
    s = _string(p, _READ_CHARP, maxlen) if type(maxlen) is int and maxlen >= 0 else None
    return s if s is not None else \
        _ffi.string(_need_pointer(p, _READ_CHARP, "charp2strn"), maxlen)


def charpsize2str(p, size):
    """Exactly ``size`` bytes at ``p``, NULs included."""
    cd = _need_pointer(p, _READ_CHARP, "charpsize2str")
    _check_size(p, size, "charpsize2str")
    return _ffi.buffer(cd, size)[:] if size else b""


def _check_size(p, size, fname):
    """ValueError for a negative size or one past the chars known to be there."""
    known = _known_size(p)
    if size < 0 or (known is not None and size > known):
        raise ValueError("%s(): %d chars%s of %r" % (
            fname, size, "" if size < 0 else ", more than the %d there" % known, p))


constcharpsize2str = charpsize2str


def str2chararray(s, array, maxsize):
    """Copy ``min(len(s), maxsize)`` bytes of ``s`` to ``array``; returns that count."""
    _need_bytes(s, "str2chararray")
    n = min(len(s), maxsize)
    cd = _need_pointer(array, _READ_CHARP, "str2chararray")
    _check_size(array, n, "str2chararray")
    _ffi.memmove(cd, s, n)
    return n


def str2rawmem(s, array, start, length):
    """Copy ``s[start:start+length]`` to ``array[0:length]``."""
    _need_bytes(s, "str2rawmem")
    cd = _need_pointer(array, _READ_CHARP, "str2rawmem")
    _check_size(array, length, "str2rawmem")
    _ffi.memmove(cd, s[start:start + length], length)


def liststr2charpp(l):
    """A NULL-terminated CCHARPP of str2charp copies of the bytes in ``l``."""
    array = lltype.malloc(CCHARPP.TO, len(l) + 1)
    try:
        for i, s in enumerate(l):
            array[i] = str2charp(s)
    except BaseException:
        for j in range(i):
            free_charp(array[j])
        lltype.free(array)
        raise
    array[len(l)] = nullptr(CCHARP.TO)
    return array


def free_charpp(ref):
    """Free each string of a NULL-terminated CCHARPP, then the array."""
    i = 0
    while ref[i]:
        free_charp(ref[i])
        i += 1
    lltype.free(ref)


def charpp2liststr(p):
    """The list of bytes of a NULL-terminated CCHARPP (frees nothing)."""
    result = []
    i = 0
    while p[i]:
        result.append(charp2str(p[i]))
        i += 1
    return result


_COPY_FLAG = b"\x06"


def get_nonmovingbuffer_ll(s):
    """``(buf, llobj, flag)``: a tracked raw copy of ``s`` (its last item not set)."""
    _need_bytes(s, "get_nonmovingbuffer_ll")
    buf = lltype.malloc(CCHARP.TO, len(s) + 1)
    _ffi.memmove(buf._cd, s, len(s))
    return buf, s, _COPY_FLAG


def get_nonmovingbuffer_ll_final_null(s):
    """get_nonmovingbuffer_ll, with ``buf[len(s)]`` set to NUL."""
    buf, llobj, flag = get_nonmovingbuffer_ll(s)
    buf[len(s)] = b"\x00"
    return buf, llobj, flag


def free_nonmovingbuffer_ll(buf, llobj, flag):
    """Release a get_nonmovingbuffer_ll buffer."""
    if flag == _COPY_FLAG:
        lltype.free(buf)


def _removed(name):
    def removed(*args, **kwds):
        raise Exception("rffi.%s() was removed from RPython: use %s_ll() instead"
                        % (name, name))
    removed.__name__ = name
    return removed


get_nonmovingbuffer = _removed("get_nonmovingbuffer")
get_nonmovingbuffer_final_null = _removed("get_nonmovingbuffer_final_null")
free_nonmovingbuffer = _removed("free_nonmovingbuffer")

_RAW_CASE = 2


def alloc_buffer(count):
    """``(raw, gc_buf, case)``: a writable tracked CCHARP of ``count`` items."""
    return lltype.malloc(CCHARP.TO, count), None, _RAW_CASE


def str_from_buffer(raw_buf, gc_buf, case_num, allocated_size, needed_size):
    """The first ``needed_size`` bytes of an alloc_buffer buffer."""
    if needed_size > allocated_size:
        raise ValueError("str_from_buffer: needed_size %d > allocated_size %d"
                         % (needed_size, allocated_size))
    return charpsize2str(raw_buf, needed_size)


def keep_buffer_alive_until_here(raw_buf, gc_buf, case_num):
    """Free what alloc_buffer made."""
    lltype.free(raw_buf)


class _Scoped:
    """Base of the scoped helpers: a value made now, released on exit."""

    def __enter__(self):
        return self.buf

    def __exit__(self, *exc):
        self.release()
        return False


class scoped_str2charp(_Scoped):
    """``with scoped_str2charp(s_or_None) as p``: a str2charp copy (NULL for None)."""

    def __init__(self, value):
        self.buf = nullptr(CCHARP.TO) if value is None else str2charp(value)

    def release(self):
        """Free the copy (done by ``__exit__``)."""
        if self.buf:
            free_charp(self.buf)


class scoped_view_charp(scoped_str2charp):
    """``with scoped_view_charp(s) as p``: a NUL-terminated read-only view (a copy)."""

    def __init__(self, value):
        _need_bytes(value, "scoped_view_charp")
        scoped_str2charp.__init__(self, value)


class scoped_nonmovingbuffer(_Scoped):
    """``with scoped_nonmovingbuffer(s) as buf``: get_nonmovingbuffer_ll's buffer."""

    def __init__(self, data):
        self.buf, self.llobj, self.flag = get_nonmovingbuffer_ll(data)

    def release(self):
        """Release the buffer (done by ``__exit__``)."""
        free_nonmovingbuffer_ll(self.buf, self.llobj, self.flag)


class scoped_alloc_buffer:
    """``with scoped_alloc_buffer(n) as b``: ``b.raw``, ``b.size``, ``b.str(k)``."""

    def __init__(self, size):
        self.size = size

    def __enter__(self):
        self.raw, self.gc_buf, self.case_num = alloc_buffer(self.size)
        return self

    def __exit__(self, *exc):
        keep_buffer_alive_until_here(self.raw, self.gc_buf, self.case_num)
        return False

    def str(self, length):
        """The first ``length`` bytes of the buffer."""
        return str_from_buffer(self.raw, self.gc_buf, self.case_num, self.size, length)


# -- unicode (wchar_t)

_WCHAR_SIZE = _ffi.sizeof("wchar_t")
_WCHAR_CODEC = "utf-32-le" if _WCHAR_SIZE == 4 else "utf-16-le"
if sys.byteorder == "big":
    _WCHAR_CODEC = _WCHAR_CODEC.replace("le", "be")


def _wchars(u):
    return u.encode(_WCHAR_CODEC, "surrogatepass")


def unicode2wcharp(u, track_allocation=True):
    """A malloc'ed NUL-terminated wchar_t copy of str ``u``."""
    _need_str(u, "unicode2wcharp")
    return lltype._malloc_copy(CWCHARP.TO, _wchars(u), track_allocation)


def free_wcharp(p, track_allocation=True):
    """Free a unicode2wcharp result."""
    lltype.free(p, track_allocation=track_allocation)


_READ_WCHARP = (CWCHARP,)


def wcharp2unicode(w):
    """The text at ``w`` up to the first NUL."""
    size = _known_size(w)
    if size is not None:
        return _bounded_string(w, size, None, "wcharp2unicode", _READ_WCHARP)
    u = _string(w, _READ_WCHARP, -1)
    return u if u is not None else \
        _ffi.string(_need_pointer(w, _READ_WCHARP, "wcharp2unicode"))


def wcharp2unicoden(w, maxlen):
    """The text at ``w`` up to the first NUL or ``maxlen`` characters."""
    size = _known_size(w)
    if size is not None:
        return _bounded_string(w, size, maxlen if maxlen >= 0 else None, "wcharp2unicoden",
                               _READ_WCHARP)
    return _ffi.string(_need_pointer(w, (CWCHARP,), "wcharp2unicoden"), maxlen)


def wcharpsize2unicode(w, size):
    """Exactly ``size`` wide characters at ``w``."""
    cd = _need_pointer(w, (CWCHARP,), "wcharpsize2unicode")
    _check_size(w, size, "wcharpsize2unicode")
    return _ffi.buffer(cd, size * _WCHAR_SIZE)[:].decode(_WCHAR_CODEC, "surrogatepass") \
        if size else ""


def unicode2wchararray(u, array, maxsize):
    """Copy ``min(len(u), maxsize)`` characters to ``array``; returns that count."""
    _need_str(u, "unicode2wchararray")
    data = _wchars(u)[:maxsize * _WCHAR_SIZE]
    cd = _need_pointer(array, (CWCHARP,), "unicode2wchararray")
    _check_size(array, len(data) // _WCHAR_SIZE, "unicode2wchararray")
    _ffi.memmove(cd, data, len(data))
    return len(data) // _WCHAR_SIZE


def unicode2rawmem(u, array, start, length):
    """Copy ``u[start:start+length]`` to ``array[0:length]``."""
    _need_str(u, "unicode2rawmem")
    data = _wchars(u[start:start + length])
    cd = _need_pointer(array, (CWCHARP,), "unicode2rawmem")
    _check_size(array, len(data) // _WCHAR_SIZE, "unicode2rawmem")
    _ffi.memmove(cd, data, len(data))


def get_nonmoving_unicodebuffer_ll(u):
    """``(buf, llobj, flag)``: a tracked raw copy of ``u`` of exactly len(u) items."""
    _need_str(u, "get_nonmoving_unicodebuffer_ll")
    data = _wchars(u)
    buf = lltype.malloc(CWCHARP.TO, len(data) // _WCHAR_SIZE)
    _ffi.memmove(buf._cd, data, len(data))
    return buf, u, _COPY_FLAG


def free_nonmoving_unicodebuffer_ll(buf, llobj, flag):
    """Release a get_nonmoving_unicodebuffer_ll buffer."""
    if flag == _COPY_FLAG:
        lltype.free(buf)


def alloc_unicodebuffer(count):
    """``(raw, gc_buf, case)``: a writable tracked CWCHARP of ``count`` items."""
    return lltype.malloc(CWCHARP.TO, count), None, _RAW_CASE


def unicode_from_buffer(raw_buf, gc_buf, case_num, allocated_size, needed_size):
    """The first ``needed_size`` characters of an alloc_unicodebuffer buffer."""
    if needed_size > allocated_size:
        raise ValueError("unicode_from_buffer: needed_size %d > allocated_size %d"
                         % (needed_size, allocated_size))
    return wcharpsize2unicode(raw_buf, needed_size)


keep_unicodebuffer_alive_until_here = keep_buffer_alive_until_here


class scoped_unicode2wcharp(_Scoped):
    """``with scoped_unicode2wcharp(u_or_None) as w``."""

    def __init__(self, value):
        self.buf = nullptr(CWCHARP.TO) if value is None else unicode2wcharp(value)

    def release(self):
        """Free the copy (done by ``__exit__``)."""
        if self.buf:
            free_wcharp(self.buf)


class scoped_nonmoving_unicodebuffer(_Scoped):
    """``with scoped_nonmoving_unicodebuffer(u) as w``: len(u) items, no NUL."""

    def __init__(self, data):
        self.buf, self.llobj, self.flag = get_nonmoving_unicodebuffer_ll(data)

    def release(self):
        """Release the buffer (done by ``__exit__``)."""
        free_nonmoving_unicodebuffer_ll(self.buf, self.llobj, self.flag)


class scoped_alloc_unicodebuffer(scoped_alloc_buffer):
    """``with scoped_alloc_unicodebuffer(n) as b``: ``b.raw``, ``b.size``, ``b.str(k)``."""

    def __enter__(self):
        self.raw, self.gc_buf, self.case_num = alloc_unicodebuffer(self.size)
        return self

    def str(self, length):
        """The first ``length`` characters of the buffer."""
        return unicode_from_buffer(self.raw, self.gc_buf, self.case_num, self.size, length)


def wcharpsize2utf8(w, size):
    """UTF-8 bytes of ``size`` wide characters at ``w``."""
    return wcharpsize2unicode(w, size).encode("utf-8", "surrogatepass")


def wcharp2utf8(w):
    """``(utf8_bytes, count)`` of the text at ``w`` up to the NUL."""
    u = wcharp2unicode(w)
    return u.encode("utf-8", "surrogatepass"), len(u)


def wcharp2utf8n(w, maxlen):
    """``(utf8_bytes, count)`` up to the NUL or ``maxlen`` characters."""
    u = wcharp2unicoden(w, maxlen)
    return u.encode("utf-8", "surrogatepass"), len(u)


def utf82wcharp(utf8, length, track_allocation=True):
    """A NUL-terminated CWCHARP of UTF-8 ``utf8`` (``length`` code points)."""
    _need_bytes(utf8, "utf82wcharp")
    u = utf8.decode("utf-8", "surrogatepass")
    if length < 0:
        length = len(u)
    elif length < len(u):       # RPython writes past its buffer here: an error instead
        raise ValueError("utf82wcharp: length %d is less than the %d code points of the "
                         "text" % (length, len(u)))
    data = _wchars(u)
    w = lltype.malloc(CWCHARP.TO, length + 1, track_allocation=track_allocation)
    _ffi.memmove(w._cd, data, len(data))
    w._cd[len(data) // _WCHAR_SIZE] = "\x00"
    return w


class scoped_utf82wcharp(_Scoped):
    """``with scoped_utf82wcharp(utf8, length=-1) as w`` (NULL for None)."""

    def __init__(self, value, length=-1):
        self.buf = nullptr(CWCHARP.TO) if value is None else utf82wcharp(value, length)

    def release(self):
        """Free the copy (done by ``__exit__``)."""
        if self.buf:
            free_wcharp(self.buf)


_raw_addresses = {}


def get_raw_address_of_string(s):
    """A never-freed, untracked NUL-terminated copy of ``s``; one per bytes value."""
    _need_bytes(s, "get_raw_address_of_string")
    p = _raw_addresses.get(s)
    if p is None:
        p = lltype.malloc(CCHARP.TO, len(s) + 1, immortal=True)
        _ffi.memmove(p._cd, s, len(s))
        _raw_addresses[s] = p
    return p
