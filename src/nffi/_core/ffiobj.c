/* ffiobj.c -- the native base of the FFI object: its hot methods and type cache.
 *
 * Owns FFIBase, the C type that nffi.FFI (Python, nffi/api.py) subclasses.  It keeps a
 * per-FFI dict from type strings to CType objects so that ffi.new("int[10]") costs one
 * dict lookup after the first call; on a miss it calls the Python method
 * self._parse_type(string), which parses in O(len(string)) and returns the CType.
 * new, cast, typeof, sizeof, alignof and string are implemented here (vectorcall).
 * Its flavour (NffiFlavour, given to FFIBase.__new__ and fixed from then on) selects the
 * few rules in which the FFI of compiled modules differs from cffi's FFI class.
 */
#include "nffi_core.h"

/* The type strings used last, by identity: a statement like ffi.new("struct pt *") passes
 * the same str object (a constant of its code) every time, so a pointer comparison finds
 * its ctype without hashing and probing the dict.  The slot holds strong references (an
 * address is never reused while it is there) and always agrees with type_cache: both are
 * emptied together (clear_type_cache). */
#define RECENT_TYPES 32          /* a power of two */
typedef struct {
    PyObject *key;               /* str, or NULL */
    PyObject *ct;                /* its CType in type_cache */
} RecentType;

typedef struct {
    PyObject_HEAD
    PyObject *type_cache;        /* dict: str -> CType; changed only here (read-only view
                                    as _type_cache, emptied by _clear_type_cache()) */
    RecentType recent[RECENT_TYPES];
    PyObject *dict;              /* instance __dict__ for the Python subclass */
    PyObject *weakreflist;
    int flavour;                 /* an NffiFlavour */
} FFIBaseObject;

static PyObject *str_parse_type;   /* interned "_parse_type" */

/* The CType of the type string str if this FFI has seen it (borrowed), else NULL, with
 * an exception set only if the lookup failed. */
static inline PyObject *cached_ctype(FFIBaseObject *self, PyObject *str)
{
    RecentType *slot = &self->recent[((uintptr_t)str >> 4) & (RECENT_TYPES - 1)];
    if (slot->key == str)
        return slot->ct;
    PyObject *ct = PyDict_GetItemWithError(self->type_cache, str);
    if (ct != NULL) {
        PyObject *old_key = slot->key, *old_ct = slot->ct;
        slot->key = Py_NewRef(str);
        slot->ct = Py_NewRef(ct);
        Py_XDECREF(old_key);     /* (type_cache still holds old_ct: no destructor runs) */
        Py_XDECREF(old_ct);
    }
    return ct;
}

static void clear_type_cache(FFIBaseObject *self)
{
    for (int i = 0; i < RECENT_TYPES; i++) {
        Py_CLEAR(self->recent[i].key);
        Py_CLEAR(self->recent[i].ct);
    }
    if (self->type_cache != NULL)
        PyDict_Clear(self->type_cache);
}

static CTypeObject *resolve_ctype_slow(FFIBaseObject *self, PyObject *cdecl);

/* A CType from a cdecl string or a CType; new reference. */
static inline CTypeObject *resolve_ctype(FFIBaseObject *self, PyObject *cdecl)
{
    if (PyUnicode_CheckExact(cdecl)) {
        PyObject *ct = cached_ctype(self, cdecl);
        if (ct != NULL)
            return (CTypeObject *)Py_NewRef(ct);
    }
    return resolve_ctype_slow(self, cdecl);
}

static CTypeObject *resolve_ctype_slow(FFIBaseObject *self, PyObject *cdecl)
{
    if (CType_Check(cdecl)) {
        Py_INCREF(cdecl);
        return (CTypeObject *)cdecl;
    }
    if (PyUnicode_Check(cdecl)) {
        PyObject *ct = cached_ctype(self, cdecl);
        if (ct != NULL) {
            Py_INCREF(ct);
            return (CTypeObject *)ct;
        }
        if (PyErr_Occurred())
            return NULL;
        ct = PyObject_CallMethodOneArg((PyObject *)self, str_parse_type, cdecl);
        if (ct == NULL)
            return NULL;
        if (!CType_Check(ct)) {
            Py_DECREF(ct);
            PyErr_SetString(PyExc_TypeError, "_parse_type() must return a CType");
            return NULL;
        }
        if (PyDict_SetItem(self->type_cache, cdecl, ct) < 0) {
            Py_DECREF(ct);
            return NULL;
        }
        return (CTypeObject *)ct;
    }
    PyErr_Format(PyExc_TypeError, "expected a cdecl string or a ctype object, got %.200s",
                 Py_TYPE(cdecl)->tp_name);
    return NULL;
}

/* Arguments of fname(names[0], names[1], ...), positional or by keyword, into params
 * (which hold the defaults, NULL for the 'required' first ones); Python's messages. */
static int fast_arguments(const char *fname, const char *const *names, int n, int required,
                          PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                          PyObject **params)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs + nkw > n) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)", fname,
                     n, nargs + nkw);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        params[i] = args[i];
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int slot = n - 1;
        while (slot >= 0 && PyUnicode_CompareWithASCIIString(key, names[slot]) != 0)
            slot--;
        if (slot < 0 || slot < nargs) {
            PyErr_Format(PyExc_TypeError, slot < 0 ? "%s() got an unexpected keyword "
                         "argument '%U'" : "%s() got multiple values for argument '%U'",
                         fname, key);
            return -1;
        }
        params[slot] = args[nargs + k];
    }
    for (int i = 0; i < required; i++) {
        if (params[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname,
                         names[i]);
            return -1;
        }
    }
    return 0;
}

static PyObject *ffi_new(FFIBaseObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    static const char *const names[] = {"cdecl", "init"};
    PyObject *params[2] = {NULL, Py_None};
    if (fast_arguments("new", names, 2, 1, args, nargs, kwnames, params) < 0)
        return NULL;
    PyObject *init = params[1];
    CTypeObject *ct = resolve_ctype(self, params[0]);
    if (ct == NULL)
        return NULL;
    PyObject *r = nffi_newp(ct, init, 1);
    Py_DECREF(ct);
    return r;
}

static PyObject *ffi_cast(FFIBaseObject *self, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    static const char *const names[] = {"cdecl", "source"};
    PyObject *params[2] = {NULL, NULL};
    if (kwnames == NULL && nargs == 2) {
        params[0] = args[0];
        params[1] = args[1];
    }
    else if (fast_arguments("cast", names, 2, 2, args, nargs, kwnames, params) < 0)
        return NULL;
    CTypeObject *ct = resolve_ctype(self, params[0]);
    if (ct == NULL)
        return NULL;
    PyObject *r = nffi_cast(ct, params[1]);
    Py_DECREF(ct);
    return r;
}

/* The one argument of fname(cdecl), positional or by keyword (as cffi names it). */
static PyObject *cdecl_argument_slow(const char *fname, PyObject *const *args,
                                     Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"cdecl"};
    PyObject *param = NULL;
    if (fast_arguments(fname, names, 1, 1, args, nargs, kwnames, &param) < 0)
        return NULL;
    return param;
}

static inline PyObject *cdecl_argument(const char *fname, PyObject *const *args,
                                       Py_ssize_t nargs, PyObject *kwnames)
{
    if (kwnames == NULL && nargs == 1)
        return args[0];
    return cdecl_argument_slow(fname, args, nargs, kwnames);
}

/* The ctype of the one positional argument of a call if it is a type string in the
 * identity slots (borrowed), else NULL: the fast path of typeof and sizeof, small enough
 * that they need no stack frame (the rest is in their _slow functions). */
static inline PyObject *recent_argument_ctype(FFIBaseObject *self, PyObject *const *args,
                                              Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1 || kwnames != NULL)
        return NULL;
    RecentType *slot = &self->recent[((uintptr_t)args[0] >> 4) & (RECENT_TYPES - 1)];
    return slot->key == args[0] ? slot->ct : NULL;
}

static Py_NO_INLINE PyObject *ffi_typeof_slow(FFIBaseObject *self, PyObject *const *args,
                                              Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *arg = cdecl_argument("typeof", args, nargs, kwnames);
    if (arg == NULL)
        return NULL;
    if (PyUnicode_CheckExact(arg)) {
        PyObject *ct = cached_ctype(self, arg);
        if (ct != NULL)
            return Py_NewRef(ct);
        if (PyErr_Occurred())
            return NULL;
    }
    if (CData_Check(arg)) {
        PyObject *ct = (PyObject *)((CDataObject *)arg)->c_type;
        Py_INCREF(ct);
        return ct;
    }
    if (PyUnicode_Check(arg))
        return (PyObject *)resolve_ctype(self, arg);
    /* functions of 'lib' and other objects: the Python side knows */
    return PyObject_CallMethod((PyObject *)self, "_typeof_other", "O", arg);
}

static PyObject *ffi_typeof(FFIBaseObject *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    PyObject *ct = recent_argument_ctype(self, args, nargs, kwnames);
    if (ct != NULL)
        return Py_NewRef(ct);
    return ffi_typeof_slow(self, args, nargs, kwnames);
}

/* The FFI of a compiled module (cffi's or nffi's API mode) differs from cffi's FFI class
 * in the two error cases below, as in cffi. */
#define is_compiled_flavour(self) ((self)->flavour != NFFI_FLAVOUR_FFI)

static Py_NO_INLINE PyObject *ffi_sizeof_slow(FFIBaseObject *self, PyObject *const *args,
                                              Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *arg = cdecl_argument("sizeof", args, nargs, kwnames);
    if (arg == NULL)
        return NULL;
    if (PyUnicode_CheckExact(arg)) {     /* the common case first: a cached type string */
        PyObject *ct = cached_ctype(self, arg);
        if (ct != NULL && ((CTypeObject *)ct)->ct_size >= 0)
            return nffi_long_from_signed(((CTypeObject *)ct)->ct_size);
        if (ct == NULL && PyErr_Occurred())
            return NULL;
    }
    if (CData_Check(arg))
        return PyLong_FromSsize_t(nffi_cdata_sizeof((CDataObject *)arg));
    CTypeObject *ct = resolve_ctype(self, arg);
    if (ct == NULL)
        return NULL;
    Py_ssize_t size = ct->ct_size;
    /* an incomplete type: ValueError in cffi's FFI, ffi.error in the compiled one */
    if (size < 0 && is_compiled_flavour(self))
        PyErr_Format(nffi_FFIError, "don't know the size of ctype '%s'", nffi_ctype_name(ct));
    else if (size < 0)
        PyErr_Format(PyExc_ValueError, "ctype '%s' is of unknown size", nffi_ctype_name(ct));
    Py_DECREF(ct);
    return size < 0 ? NULL : PyLong_FromSsize_t(size);
}

static PyObject *ffi_sizeof(FFIBaseObject *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    PyObject *ct = recent_argument_ctype(self, args, nargs, kwnames);
    if (ct != NULL && ((CTypeObject *)ct)->ct_size >= 0)
        return nffi_long_from_signed(((CTypeObject *)ct)->ct_size);
    return ffi_sizeof_slow(self, args, nargs, kwnames);
}

static PyObject *ffi_alignof(FFIBaseObject *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    PyObject *arg = cdecl_argument("alignof", args, nargs, kwnames);
    if (arg == NULL)
        return NULL;
    if (CData_Check(arg) && !is_compiled_flavour(self)) {
        PyErr_Format(PyExc_TypeError, "alignof() expects a ctype or a type string, got "
                     "cdata '%s'", nffi_ctype_name(((CDataObject *)arg)->c_type));
        return NULL;
    }
    CTypeObject *ct = CData_Check(arg) ? (CTypeObject *)Py_NewRef(((CDataObject *)arg)->c_type)
                                       : resolve_ctype(self, arg);
    if (ct == NULL)
        return NULL;
    PyObject *align = nffi_ctype_alignof(ct);
    Py_DECREF(ct);
    return align;
}

static PyObject *ffi_string(FFIBaseObject *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    static const char *const names[] = {"cdata", "maxlen"};
    PyObject *params[2] = {NULL, NULL};
    if (fast_arguments("string", names, 2, 1, args, nargs, kwnames, params) < 0)
        return NULL;
    PyObject *cdata = params[0], *maxlenobj = params[1];
    Py_ssize_t maxlen = -1;
    if (maxlenobj != NULL) {
        maxlen = PyNumber_AsSsize_t(maxlenobj, PyExc_OverflowError);
        if (maxlen == -1 && PyErr_Occurred())
            return NULL;
    }
    if (!CData_Check(cdata)) {
        PyErr_Format(PyExc_TypeError, "string() argument 1 must be a cdata, not %.200s",
                     Py_TYPE(cdata)->tp_name);
        return NULL;
    }
    return nffi_string((CDataObject *)cdata, maxlen);
}

static PyObject *ffi_resolve(FFIBaseObject *self, PyObject *arg)
{
    return (PyObject *)resolve_ctype(self, arg);
}

static PyObject *ffi_clear_type_cache(FFIBaseObject *self, PyObject *unused)
{
    clear_type_cache(self);
    Py_RETURN_NONE;
}

static PyObject *ffibase_init_subclass(PyObject *cls, PyObject *args, PyObject *kwds);

/* The docstrings start with a text signature ("name($self, ...)\n--\n\n"), which
 * inspect.signature() and the API reference read. */
static PyMethodDef ffibase_methods[] = {
    {"new", (PyCFunction)(void (*)(void))ffi_new, METH_FASTCALL | METH_KEYWORDS,
     "new($self, cdecl, init=None)\n--\n\n"
     "Allocate a new instance of a pointer or array type (``struct pt *``,\n"
     "``int[10]``, ``char[]``), zero-filled, optionally initialised from init (a number, a sequence,\n"
     "a dict for a struct, bytes for a char array). The memory is owned by the returned\n"
     "cdata and freed when it is garbage-collected or ffi.release()d."},
    {"cast", (PyCFunction)(void (*)(void))ffi_cast, METH_FASTCALL | METH_KEYWORDS,
     "cast($self, cdecl, source)\n--\n\n"
     "A C cast: a cdata of type cdecl from an integer, a float, a character or another\n"
     "cdata; integers wrap around to the type's width as in C."},
    {"typeof", (PyCFunction)(void (*)(void))ffi_typeof, METH_FASTCALL | METH_KEYWORDS,
     "typeof($self, cdecl)\n--\n\n"
     "The <ctype> of a type string or of a cdata (or of a function of a <lib>)."},
    {"sizeof", (PyCFunction)(void (*)(void))ffi_sizeof, METH_FASTCALL | METH_KEYWORDS,
     "sizeof($self, cdecl)\n--\n\n"
     "The size in bytes of a type (string or <ctype>) or of a cdata's memory."},
    {"alignof", (PyCFunction)(void (*)(void))ffi_alignof, METH_FASTCALL | METH_KEYWORDS,
     "alignof($self, cdecl)\n--\n\n"
     "The natural alignment in bytes of a type (string or <ctype>)."},
    {"string", (PyCFunction)(void (*)(void))ffi_string, METH_FASTCALL | METH_KEYWORDS,
     "string($self, cdata, maxlen=-1)\n--\n\n"
     "The bytes (char) or str (wchar_t, char16_t, char32_t) that a pointer or array\n"
     "cdata holds, up to the first null or maxlen items; a char or an enum cdata gives\n"
     "its character or its enumerator's name."},
    {"_resolve", (PyCFunction)ffi_resolve, METH_O, "cdecl string or ctype -> ctype (cached)."},
    {"_clear_type_cache", (PyCFunction)ffi_clear_type_cache, METH_NOARGS,
     "forget the type strings seen (their meaning changed: override, include)."},
    {"__init_subclass__", (PyCFunction)(void (*)(void))ffibase_init_subclass,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "Gives the subclass its own descriptors of FFIBase's methods (fast calls)."},
    {NULL}
};

/* FFIBase.__init_subclass__: every subclass gets its own descriptors of the methods
 * above (bound to the subclass), unless it overrides them.  CPython's specialised calls
 * of a method descriptor (3.11-3.13) require the instance's type to be exactly the
 * descriptor's type; through FFIBase's own descriptors, every ffi.new(...) on an
 * instance of nffi.FFI took the generic call path instead (about 15 ns a call). */
static PyObject *ffibase_init_subclass(PyObject *cls, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "FFIBase.__init_subclass__() takes no arguments");
        return NULL;
    }
    if (!PyType_Check(cls))
        Py_RETURN_NONE;
    for (PyMethodDef *def = ffibase_methods; def->ml_name != NULL; def++) {
        if (def->ml_flags & METH_CLASS)
            continue;                /* this very method */
        PyObject *current = PyObject_GetAttrString(cls, def->ml_name);
        if (current == NULL)
            return NULL;
        int inherited = Py_IS_TYPE(current, &PyMethodDescr_Type) &&
                        ((PyMethodDescrObject *)current)->d_method == def;
        Py_DECREF(current);
        if (!inherited)
            continue;                /* overridden by the subclass: keep its own */
        PyObject *descr = PyDescr_NewMethod((PyTypeObject *)cls, def);
        if (descr == NULL)
            return NULL;
        int r = PyObject_SetAttrString(cls, def->ml_name, descr);
        Py_DECREF(descr);
        if (r < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* FFIBase.__new__(cls, *, flavour=FLAVOUR_FFI) */
static PyObject *ffibase_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"flavour", NULL};
    int flavour = NFFI_FLAVOUR_FFI;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$i:FFIBase", kwlist, &flavour))
        return NULL;
    if (flavour < NFFI_FLAVOUR_FFI || flavour > NFFI_FLAVOUR_API_MODULE) {
        PyErr_Format(PyExc_ValueError, "unknown FFI flavour %d", flavour);
        return NULL;
    }
    FFIBaseObject *self = (FFIBaseObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->flavour = flavour;
    self->type_cache = PyDict_New();
    if (self->type_cache == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int ffibase_traverse(FFIBaseObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->type_cache);
    for (int i = 0; i < RECENT_TYPES; i++)
        Py_VISIT(self->recent[i].ct);
    Py_VISIT(self->dict);
    return 0;
}

/* The collector may clear an FFI that objects destroyed after it still use (a destructor,
 * a cdata's repr): type_cache stays a dict, emptied, so a later lookup misses and asks
 * _parse_type, which raises (the model went with the dict) instead of reading NULL. */
static int ffibase_clear(FFIBaseObject *self)
{
    clear_type_cache(self);
    Py_CLEAR(self->dict);
    return 0;
}

static void ffibase_dealloc(FFIBaseObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    clear_type_cache(self);
    Py_CLEAR(self->type_cache);
    Py_CLEAR(self->dict);
    /* a Python subclass's subtype_dealloc releases the heap type itself */
    tp->tp_free((PyObject *)self);
}

/* _type_cache: a read-only view of the type-string cache (tests, debugging) */
static PyObject *ffibase_get_type_cache(FFIBaseObject *self, void *closure)
{
    return PyDictProxy_New(self->type_cache);
}

static PyGetSetDef ffibase_getset[] = {
    {"_type_cache", (getter)ffibase_get_type_cache, NULL,
     "read-only view of the cache from type strings to ctypes"},
    {NULL}
};

static PyMemberDef ffibase_members[] = {
    {"_flavour", T_INT, offsetof(FFIBaseObject, flavour), READONLY,
     "the NffiFlavour given at construction: _core.FLAVOUR_FFI, FLAVOUR_CFFI_COMPILED or "
     "FLAVOUR_API_MODULE"},
    {NULL}
};

static PyTypeObject FFIBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi._core.FFIBase",
    .tp_basicsize = sizeof(FFIBaseObject),
    .tp_dealloc = (destructor)ffibase_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)ffibase_traverse,
    .tp_clear = (inquiry)ffibase_clear,
    .tp_methods = ffibase_methods,
    .tp_members = ffibase_members,
    .tp_getset = ffibase_getset,
    .tp_dictoffset = offsetof(FFIBaseObject, dict),
    .tp_weaklistoffset = offsetof(FFIBaseObject, weakreflist),
    .tp_new = ffibase_new,
};

int nffi_ffiobj_init(PyObject *module)
{
    str_parse_type = PyUnicode_InternFromString("_parse_type");
    if (str_parse_type == NULL || PyType_Ready(&FFIBase_Type) < 0 ||
            PyModule_AddIntConstant(module, "FLAVOUR_FFI", NFFI_FLAVOUR_FFI) < 0 ||
            PyModule_AddIntConstant(module, "FLAVOUR_CFFI_COMPILED",
                                    NFFI_FLAVOUR_CFFI_COMPILED) < 0 ||
            PyModule_AddIntConstant(module, "FLAVOUR_API_MODULE", NFFI_FLAVOUR_API_MODULE) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "FFIBase", (PyObject *)&FFIBase_Type);
}
