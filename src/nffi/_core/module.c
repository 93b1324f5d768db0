/* module.c -- the nffi._core extension module: initialisation and the module-level
 * functions that take CType objects (the Python FFI class resolves type strings first).
 *
 * Owns: module init (each other file registers its types and functions through its
 * nffi_*_init), the 'ffi.error' exception, and newp / cast / typeof / sizeof / alignof
 * / string / unpack / memmove / typeoffsetof / rawaddressof as module functions.
 */
#include "nffi_core.h"

PyObject *nffi_FFIError;

int nffi_ownership_init(PyObject *module);
int nffi_llptr_init(PyObject *module);   /* llptr.c: rffi's pointer objects, llexternal */

static CTypeObject *expect_ctype(PyObject *obj)
{
    if (!CType_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "expected a ctype, got %.200s", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return (CTypeObject *)obj;
}

static CDataObject *expect_cdata(PyObject *obj, const char *func)
{
    if (!CData_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s() expected a cdata object, got %.200s", func,
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return (CDataObject *)obj;
}

static PyObject *m_newp(PyObject *self, PyObject *args)
{
    PyObject *ct, *init = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:newp", &ct, &init) || !expect_ctype(ct))
        return NULL;
    return nffi_newp((CTypeObject *)ct, init, 1);
}

static PyObject *m_newp_noclear(PyObject *self, PyObject *args)
{
    PyObject *ct, *init = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:newp_noclear", &ct, &init) || !expect_ctype(ct))
        return NULL;
    return nffi_newp((CTypeObject *)ct, init, 0);
}

static PyObject *m_cast(PyObject *self, PyObject *args)
{
    PyObject *ct, *value;
    if (!PyArg_ParseTuple(args, "OO:cast", &ct, &value) || !expect_ctype(ct))
        return NULL;
    return nffi_cast((CTypeObject *)ct, value);
}

static PyObject *m_typeof(PyObject *self, PyObject *arg)
{
    CDataObject *cd = expect_cdata(arg, "typeof");
    return cd ? Py_NewRef((PyObject *)cd->c_type) : NULL;
}

static PyObject *m_sizeof(PyObject *self, PyObject *arg)
{
    if (CData_Check(arg))
        return PyLong_FromSsize_t(nffi_cdata_sizeof((CDataObject *)arg));
    CTypeObject *ct = expect_ctype(arg);
    if (ct == NULL)
        return NULL;
    if (ct->ct_size < 0) {
        PyErr_Format(PyExc_ValueError, "ctype '%s' is of unknown size", nffi_ctype_name(ct));
        return NULL;
    }
    return PyLong_FromSsize_t(ct->ct_size);
}

static PyObject *m_alignof(PyObject *self, PyObject *arg)
{
    CTypeObject *ct = expect_ctype(arg);
    return ct ? nffi_ctype_alignof(ct) : NULL;
}

static PyObject *m_string(PyObject *self, PyObject *args)
{
    PyObject *obj;
    Py_ssize_t maxlen = -1;
    if (!PyArg_ParseTuple(args, "O|n:string", &obj, &maxlen))
        return NULL;
    CDataObject *cd = expect_cdata(obj, "string");
    return cd ? nffi_string(cd, maxlen) : NULL;
}

static PyObject *m_unpack(PyObject *self, PyObject *args)
{
    PyObject *obj;
    Py_ssize_t length;
    if (!PyArg_ParseTuple(args, "On:unpack", &obj, &length))
        return NULL;
    CDataObject *cd = expect_cdata(obj, "unpack");
    return cd ? nffi_unpack(cd, length) : NULL;
}

/* A raw address from a cdata pointer/array or a buffer object, and how many bytes are
 * known to be there (*limit, -1 for a bare pointer). */
static int memory_of(PyObject *obj, int writable, char **address, Py_buffer *view,
                     Py_ssize_t *limit)
{
    view->obj = NULL;
    *limit = -1;
    if (CData_Check(obj)) {
        CDataObject *cd = (CDataObject *)obj;
        if (!(cd->c_type->ct_flags & (CT_POINTER | CT_ARRAY))) {
            PyErr_Format(PyExc_TypeError, "expected a pointer or array cdata, got cdata '%s'",
                         nffi_ctype_name(cd->c_type));
            return -1;
        }
        if (nffi_check_released(cd) < 0)
            return -1;
        *address = cd->c_data;
        if ((cd->c_type->ct_flags & CT_ARRAY) && nffi_cdata_length(cd) >= 0)
            *limit = nffi_cdata_sizeof(cd);
        else
            *limit = nffi_owned_room(cd, cd->c_data);    /* -1: memory from C, unchecked */
        return 0;
    }
    if (PyObject_GetBuffer(obj, view, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0)
        return -1;
    *address = view->buf;
    *limit = view->len;
    return 0;
}

static PyObject *m_memmove(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"dest", "src", "n", NULL};
    PyObject *dest, *src;
    Py_ssize_t n;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOn:memmove", kwlist, &dest, &src, &n))
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "negative size");
        return NULL;
    }
    char *d, *s;
    Py_buffer dview, sview;
    Py_ssize_t dlimit, slimit;
    if (memory_of(src, 0, &s, &sview, &slimit) < 0)
        return NULL;
    if (memory_of(dest, 1, &d, &dview, &dlimit) < 0) {
        if (sview.obj)
            PyBuffer_Release(&sview);
        return NULL;
    }
    int error = 0;
    if ((slimit >= 0 && slimit < n) || (dlimit >= 0 && dlimit < n)) {
        PyErr_Format(PyExc_ValueError, "memmove() of %zd bytes exceeds the buffer size", n);
        error = 1;
    }
    else if (n > 0 && (d == NULL || s == NULL)) {
        PyErr_SetString(PyExc_RuntimeError, "memmove() on a NULL pointer");
        error = 1;
    }
    else if (n > 0)
        memmove(d, s, n);
    if (sview.obj)
        PyBuffer_Release(&sview);
    if (dview.obj)
        PyBuffer_Release(&dview);
    if (error)
        return NULL;
    Py_RETURN_NONE;
}

/* typeoffsetof(ctype, field_or_index, following=0) -> (ctype of the result, offset)
 * Steps one level into a struct (by field name) or a pointer/array (by index). */
static PyObject *m_typeoffsetof(PyObject *self, PyObject *args)
{
    PyObject *ctobj, *key;
    int following = 0;
    if (!PyArg_ParseTuple(args, "OO|i:typeoffsetof", &ctobj, &key, &following) ||
            !expect_ctype(ctobj))
        return NULL;
    CTypeObject *ct = (CTypeObject *)ctobj;
    if (PyUnicode_Check(key)) {
        CTypeObject *st = ct;
        if ((ct->ct_flags & CT_POINTER) && following == 0)
            st = ct->ct_item;
        if (!(st->ct_flags & CT_STRUCT_OR_UNION)) {
            PyErr_Format(PyExc_TypeError, "with a field name argument, expected a struct or "
                         "union ctype, got '%s'", nffi_ctype_name(st));
            return NULL;
        }
        if (st->ct_flags & CT_IS_OPAQUE) {
            PyErr_Format(PyExc_TypeError, "struct or union ctype '%s' is opaque",
                         nffi_ctype_name(st));
            return NULL;
        }
        PyObject *cf = PyDict_GetItemWithError(st->ct_fields, key);
        if (cf == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, key);
            return NULL;
        }
        CFieldObject *f = (CFieldObject *)cf;
        if (f->cf_bitshift >= 0) {
            PyErr_SetString(PyExc_TypeError, "not supported for bitfields");
            return NULL;
        }
        return Py_BuildValue("(On)", (PyObject *)f->cf_type, f->cf_offset);
    }
    if (!(ct->ct_flags & (CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "with an integer argument, expected an array or "
                     "pointer ctype, got '%s'", nffi_ctype_name(ct));
        return NULL;
    }
    Py_ssize_t index = PyNumber_AsSsize_t(key, PyExc_OverflowError);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    /* no bounds check: offsetof(T, arr[n]) is plain address arithmetic, as in C and cffi */
    if (ct->ct_item->ct_size < 0) {
        PyErr_Format(PyExc_TypeError, "ctype '%s' points to items of unknown size",
                     nffi_ctype_name(ct));
        return NULL;
    }
    Py_ssize_t offset;
    if (__builtin_mul_overflow(index, ct->ct_item->ct_size, &offset)) {
        PyErr_Format(PyExc_OverflowError, "index %zd of '%s' is too far: its offset does not "
                     "fit a ssize_t", index, nffi_ctype_name(ct));
        return NULL;
    }
    return Py_BuildValue("(On)", (PyObject *)ct->ct_item, offset);
}

/* rawaddressof(ptrtype, cdata, offset): a 'ptrtype' cdata at cdata's address + offset */
static PyObject *m_rawaddressof(PyObject *self, PyObject *args)
{
    PyObject *ctobj, *obj;
    Py_ssize_t offset;
    if (!PyArg_ParseTuple(args, "OOn:rawaddressof", &ctobj, &obj, &offset) ||
            !expect_ctype(ctobj))
        return NULL;
    CDataObject *cd = expect_cdata(obj, "addressof");
    if (cd == NULL)
        return NULL;
    CTypeObject *ct = (CTypeObject *)ctobj;
    if (!(ct->ct_flags & CT_POINTER)) {
        PyErr_SetString(PyExc_TypeError, "expected a pointer ctype");
        return NULL;
    }
    if (!(cd->c_type->ct_flags & (CT_STRUCT_OR_UNION | CT_ARRAY | CT_POINTER))) {
        PyErr_Format(PyExc_TypeError, "expected a cdata struct/union/array/pointer object, "
                     "got cdata '%s'", nffi_ctype_name(cd->c_type));
        return NULL;
    }
    return nffi_addressof_field(cd, ct, offset);
}

static PyMethodDef module_functions[] = {
    {"newp", m_newp, METH_VARARGS, NULL},
    {"newp_noclear", m_newp_noclear, METH_VARARGS, NULL},
    {"cast", m_cast, METH_VARARGS, NULL},
    {"typeof", m_typeof, METH_O, NULL},
    {"sizeof", m_sizeof, METH_O, NULL},
    {"alignof", m_alignof, METH_O, NULL},
    {"string", m_string, METH_VARARGS, NULL},
    {"unpack", m_unpack, METH_VARARGS, NULL},
    {"memmove", (PyCFunction)(void (*)(void))m_memmove, METH_VARARGS | METH_KEYWORDS, NULL},
    {"typeoffsetof", m_typeoffsetof, METH_VARARGS, NULL},
    {"rawaddressof", m_rawaddressof, METH_VARARGS, NULL},
    {NULL}
};

/* Multi-phase initialisation (PEP 489). The core's state is process-wide by design:
 * one registry interns every ctype once per process (primitives, pointer and array
 * types, function types and their call plans), and the types are static. So the module
 * object holds no state of its own (m_size 0), and a second module object in the same
 * process -- a re-import after `del sys.modules["nffi._core"]` -- shares the first
 * one's objects instead of initialising the core twice. Sub-interpreters are refused
 * at import (a clear ImportError) rather than sharing those objects between
 * interpreters; the free-threaded build (3.13t) keeps the GIL enabled while the core is
 * loaded (Py_MOD_GIL_USED): the core has not been audited for running without it. */
static PyObject *first_module_dict;     /* the namespace of the first exec, kept */

static int share_first_module(PyObject *m)
{
    PyObject *dict = PyModule_GetDict(m), *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(first_module_dict, &pos, &key, &value)) {
        /* the module's own dunders (__name__, __spec__, __file__, ...) stay its own */
        if (PyUnicode_Check(key) && PyUnicode_GetLength(key) > 4 &&
                PyUnicode_ReadChar(key, 0) == '_' && PyUnicode_ReadChar(key, 1) == '_')
            continue;
        if (PyDict_SetItem(dict, key, value) < 0)
            return -1;
    }
    return 0;
}

static int core_exec(PyObject *m)
{
    if (first_module_dict != NULL)
        return share_first_module(m);
    nffi_FFIError = PyErr_NewExceptionWithDoc(
        "ffi.error", "Raised by the core for errors of the C level (cffi's ffi.error).",
        NULL, NULL);
    if (nffi_FFIError == NULL || PyModule_AddObjectRef(m, "error", nffi_FFIError) < 0)
        return -1;
    if (nffi_ctype_init(m) < 0 || nffi_cdata_init(m) < 0 || nffi_ownership_init(m) < 0 ||
            nffi_buffer_init(m) < 0 || nffi_ffiobj_init(m) < 0)
        return -1;
    if (nffi_errno_init(m) < 0 || nffi_callback_init(m) < 0 || nffi_lib_init(m) < 0 ||
            nffi_function_init(m) < 0 || nffi_libobject_init(m) < 0 || nffi_capi_init(m) < 0 ||
            nffi_llptr_init(m) < 0)
        return -1;
    first_module_dict = Py_NewRef(PyModule_GetDict(m));
    return 0;
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
#ifdef Py_mod_multiple_interpreters      /* 3.12+ */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil                         /* 3.13+ */
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL}
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "nffi._core",
    .m_doc = "The native core of nffi: C types, cdata, conversions and calls.",
    .m_size = 0,
    .m_methods = module_functions,
    .m_slots = core_slots,
};

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModuleDef_Init(&core_module);
}
