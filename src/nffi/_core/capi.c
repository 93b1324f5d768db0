/* capi.c -- the C API capsule of generated (API-mode) modules.
 *
 * Owns the NffiCapi table (nffi_capi.h) exported as nffi._core._C_API: the entries are
 * thin adapters onto the core's own conversions, call-argument rules, error notes and
 * saved errno, so that a generated wrapper converts, fails and creates cdata exactly
 * as an ABI-mode call of the same function type does.
 */
#include "nffi_core.h"
#include "nffi_capi.h"

/* the fast paths of nffi_capi.h read a cdata through NffiCDataHead */
_Static_assert(offsetof(NffiCDataHead, c_type) == offsetof(CDataObject, c_type), "c_type");
_Static_assert(offsetof(NffiCDataHead, c_data) == offsetof(CDataObject, c_data), "c_data");
_Static_assert(offsetof(NffiCDataHead, c_flags) == offsetof(CDataObject, c_flags), "c_flags");
_Static_assert(NFFI_CD_RELEASED == CD_RELEASED, "CD_RELEASED");

static int capi_arg_to_c(void *dest, PyObject *ctype, PyObject *obj, void **temps)
{
    return nffi_convert_call_argument(dest, (CTypeObject *)ctype, obj, (TempBlock **)temps);
}

static void capi_free_temps(void *temps)
{
    nffi_call_temps_free(temps);
}

static PyObject *capi_from_c(const void *src, PyObject *ctype)
{
    CTypeObject *ct = (CTypeObject *)ctype;
    if (ct->ct_flags & CT_VOID)
        Py_RETURN_NONE;
    if (ct->ct_flags & CT_STRUCT_OR_UNION) {
        /* a struct returned by value lives on the wrapper's stack: copy it */
        CDataObject *cd = nffi_cdata_new_owned(ct, ct->ct_size, 0);
        if (cd != NULL)
            memcpy(cd->c_data, src, ct->ct_size);
        return (PyObject *)cd;
    }
    return nffi_convert_to_object((char *)src, ct, NULL);
}

static void capi_note_argument(Py_ssize_t index, PyObject *function_ctype)
{
    nffi_note_argument(index, (CTypeObject *)function_ctype);
}

static PyObject *capi_wrong_count(const char *name, Py_ssize_t expected, Py_ssize_t got)
{
    /* the messages CPython gives for METH_NOARGS / METH_O / the rest, as cffi's */
    if (expected == 0)
        PyErr_Format(PyExc_TypeError, "%s() takes no arguments (%zd given)", name, got);
    else if (expected == 1)
        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)",
                     name, got);
    else
        PyErr_Format(PyExc_TypeError, "%s expected %zd arguments, got %zd",
                     name, expected, got);
    return NULL;
}

static int *capi_errno_slot(void)
{
    return &nffi_saved_errno;
}

static PyObject *capi_function_type_item(PyObject *function_ctype, Py_ssize_t i)
{
    CTypeObject *fct = (CTypeObject *)function_ctype;
    if (!CType_Check(function_ctype) || !(fct->ct_flags & CT_FUNCTIONPTR)) {
        PyErr_SetString(PyExc_TypeError, "expected a function ctype");
        return NULL;
    }
    PyObject *args = PyTuple_GET_ITEM(fct->ct_stuff, 0);
    if (i < 0)
        return PyTuple_GET_ITEM(fct->ct_stuff, 1);
    if (i >= PyTuple_GET_SIZE(args)) {
        PyErr_SetString(PyExc_IndexError, "argument index out of range");
        return NULL;
    }
    return PyTuple_GET_ITEM(args, i);
}

static PyObject *capi_answers(const NffiAnswer *answers, Py_ssize_t count)
{
    PyObject *dict = PyDict_New();
    for (Py_ssize_t i = 0; dict != NULL && i < count; i++) {
        const NffiAnswer *a = &answers[i];
        PyObject *value;
        if (a->kind == NFFI_ANSWER_FLOAT)
            value = PyFloat_FromDouble(a->d);
        else if (a->negative)
            value = PyLong_FromLongLong((long long)a->u);
        else
            value = PyLong_FromUnsignedLongLong(a->u);
        if (value == NULL || PyDict_SetItemString(dict, a->key, value) < 0)
            Py_CLEAR(dict);
        Py_XDECREF(value);
    }
    return dict;
}

static NffiCapi capi = {
    .version = NFFI_CAPI_VERSION,
    .size = sizeof(NffiCapi),
    .cdata_type = &CData_Type,
    .arg_to_c = capi_arg_to_c,
    .free_temps = capi_free_temps,
    .from_c = capi_from_c,
    .note_argument = capi_note_argument,
    .wrong_count = capi_wrong_count,
    .errno_slot = capi_errno_slot,
    .function_type_item = capi_function_type_item,
    .answers = capi_answers,
};

int nffi_capi_init(PyObject *module)
{
    PyObject *capsule = PyCapsule_New(&capi, NFFI_CAPI_CAPSULE, NULL);
    if (capsule == NULL)
        return -1;
    int r = PyModule_AddObjectRef(module, "_C_API", capsule);
    Py_DECREF(capsule);
    return r;
}
