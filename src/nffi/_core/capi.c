/* capi.c -- what the core gives generated (API-mode) modules.
 *
 * Owns the NffiCapi table (nffi_capi.h) exported as nffi._core._C_API: the entries are
 * thin adapters onto the core's own conversions, call-argument rules, error notes and
 * saved errno, so that a generated wrapper converts, fails and creates cdata exactly
 * as an ABI-mode call of the same function type does.  Also owns the two objects of a
 * compiled module's `lib` that must be fast: GlobalVar (a global variable: its ctype
 * and the generated function that returns its address, called at every access, as the
 * variable may be a macro such as `(*get_value())`) and CompiledLibBase (the C base of
 * nffi/apimodule.py's CompiledLibrary: functions and constants from its instance dict,
 * global variables read and written through their GlobalVar, in one attribute lookup).
 */
#include "nffi_core.h"
#include "nffi_capi.h"

/* the fast paths of nffi_capi.h read a cdata through NffiCDataHead */
_Static_assert(offsetof(NffiCDataHead, c_type) == offsetof(CDataObject, c_type), "c_type");
_Static_assert(offsetof(NffiCDataHead, c_data) == offsetof(CDataObject, c_data), "c_data");
_Static_assert(offsetof(NffiCDataHead, c_flags) == offsetof(CDataObject, c_flags), "c_flags");
_Static_assert(NFFI_CD_RELEASED == CD_RELEASED, "CD_RELEASED");

CDataObject *nffi_compiled_function_of(PyObject *obj)
{
    /* the generated module binds each native wrapper to its function cdata (the
       'self' of PyCFunction_NewEx in nffi/recompiler.py) */
    if (!PyCFunction_Check(obj))
        return NULL;
    PyObject *self = PyCFunction_GET_SELF(obj);
    if (self == NULL || !CData_Check(self) ||
            !(((CDataObject *)self)->c_type->ct_flags & CT_FUNCTIONPTR))
        return NULL;
    return (CDataObject *)self;
}

static int capi_arg_to_c(void *dest, PyObject *ctype, PyObject *obj, void **temps)
{
    return nffi_convert(dest, (CTypeObject *)ctype, obj, NFFI_CONV_ARGUMENT | NFFI_CONV_FRESH,
                        (NffiTemps **)temps);
}

static void capi_free_temps(void *temps)
{
    nffi_temps_free(temps);
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

static void capi_note_argument(Py_ssize_t index, const char *function_name)
{
    nffi_add_argument_note(index, function_name, NULL);
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

static void capi_extern_python_missing(const char *qualified_name)
{
    fprintf(stderr, "extern \"Python\": function %s() called, but no code was attached to "
            "it yet with @ffi.def_extern().  Returning 0.\n", qualified_name);
    fflush(stderr);
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
    .answers = capi_answers,
    .extern_python_missing = capi_extern_python_missing,
};

/* ---- GlobalVar ---------------------------------------------------------------------- */

typedef void *(*AddressGetter)(void);

typedef struct {
    PyObject_HEAD
    CTypeObject *ct;             /* the variable's type */
    CTypeObject *ptrtype;        /* 'T *' */
    AddressGetter getter;        /* generated: returns &(variable) */
    PyObject *name;
    int decays;                  /* 'T x[]': reads as a 'T *' to it (ct is 'T *') */
} GlobalVarObject;

/* The variable's address now, or NULL + ffi.error (a macro variable like
 * '(*get_value())' whose function returned NULL) */
static char *globalvar_address_now(GlobalVarObject *gv)
{
    char *address = gv->getter();
    if (address == NULL)
        PyErr_Format(nffi_FFIError, "global variable '%U' is at address NULL", gv->name);
    return address;
}

static PyTypeObject GlobalVar_Type;

static PyObject *globalvar_read(GlobalVarObject *gv)
{
    char *address = globalvar_address_now(gv);
    if (address == NULL)
        return NULL;
    if (gv->decays) {
        PyObject *value = PyLong_FromVoidPtr(address);
        PyObject *result = value ? nffi_cast(gv->ct, value) : NULL;
        Py_XDECREF(value);
        return result;
    }
    if (gv->ct->ct_size < 0) {           /* only its address can be taken, as cffi */
        PyErr_Format(PyExc_TypeError, "cdata '%s' is opaque", nffi_ctype_name(gv->ct));
        return NULL;
    }
    return nffi_convert_to_object(address, gv->ct, NULL);
}

static int globalvar_write(GlobalVarObject *gv, PyObject *value)
{
    if (gv->decays) {
        PyErr_Format(PyExc_TypeError, "cannot assign to the array '%U' of unknown length",
                     gv->name);
        return -1;
    }
    if (gv->ct->ct_size < 0) {
        PyErr_Format(PyExc_TypeError, "'%s' is opaque", nffi_ctype_name(gv->ct));
        return -1;
    }
    char *address = globalvar_address_now(gv);
    return address == NULL ? -1 : nffi_convert_from_object(address, gv->ct, value);
}

static PyObject *globalvar_address(GlobalVarObject *gv, PyObject *noargs)
{
    char *raw = globalvar_address_now(gv);
    if (raw == NULL)
        return NULL;
    PyObject *address = PyLong_FromVoidPtr(raw);
    if (address == NULL)
        return NULL;
    PyObject *result = nffi_cast(gv->ptrtype, address);
    Py_DECREF(address);
    return result;
}

static PyObject *globalvar_get(GlobalVarObject *gv, PyObject *noargs)
{
    return globalvar_read(gv);
}

static PyObject *globalvar_set(GlobalVarObject *gv, PyObject *value)
{
    if (globalvar_write(gv, value) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static void globalvar_dealloc(GlobalVarObject *gv)
{
    Py_XDECREF(gv->ct);
    Py_XDECREF(gv->ptrtype);
    Py_XDECREF(gv->name);
    Py_TYPE(gv)->tp_free((PyObject *)gv);
}

static PyMethodDef globalvar_methods[] = {
    {"get", (PyCFunction)globalvar_get, METH_NOARGS, "The variable's value now."},
    {"set", (PyCFunction)globalvar_set, METH_O, "Store a value into the variable."},
    {"address", (PyCFunction)globalvar_address, METH_NOARGS, "A 'T *' to the variable."},
    {NULL}
};

static PyTypeObject GlobalVar_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.GlobalVar",
    .tp_basicsize = sizeof(GlobalVarObject),
    .tp_dealloc = (destructor)globalvar_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = globalvar_methods,
    .tp_doc = "A global variable of a compiled module (its type and address getter).",
};

/* _core._global_var(ctype, getter_address, name, decays=False): for nffi/apimodule.py only; the address
 * must be that of a generated 'void *getter(void)' */
static PyObject *m_global_var(PyObject *self, PyObject *args)
{
    PyObject *ctobj, *address, *name;
    int decays = 0;
    if (!PyArg_ParseTuple(args, "O!O!U|p:_global_var", &CType_Type, &ctobj, &PyLong_Type,
                          &address, &name, &decays))
        return NULL;
    void *getter = PyLong_AsVoidPtr(address);
    if (getter == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "_global_var(): NULL getter");
        return NULL;
    }
    CTypeObject *ptrtype = nffi_new_pointer_type((CTypeObject *)ctobj);
    if (ptrtype == NULL)
        return NULL;
    GlobalVarObject *gv = PyObject_New(GlobalVarObject, &GlobalVar_Type);
    if (gv == NULL) {
        Py_DECREF(ptrtype);
        return NULL;
    }
    gv->ct = (CTypeObject *)Py_NewRef(ctobj);
    gv->ptrtype = ptrtype;
    gv->name = Py_NewRef(name);
    gv->decays = decays;
    memcpy(&gv->getter, &getter, sizeof(getter));
    return (PyObject *)gv;
}

/* ---- CompiledLibBase ------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *dict;              /* functions, constants (and what Python code adds) */
    PyObject *globals;           /* name -> GlobalVar */
    PyObject *weakreflist;
} CompiledLibObject;

static PyObject *str_nffi_getattr;

static PyObject *clib_getattro(CompiledLibObject *self, PyObject *name)
{
    if (PyUnicode_CheckExact(name)) {
        if (self->dict != NULL) {
            PyObject *value = PyDict_GetItemWithError(self->dict, name);
            if (value != NULL)
                return Py_NewRef(value);
            if (PyErr_Occurred())
                return NULL;
        }
        if (self->globals != NULL) {
            PyObject *gv = PyDict_GetItemWithError(self->globals, name);
            if (gv != NULL)
                return globalvar_read((GlobalVarObject *)gv);
            if (PyErr_Occurred())
                return NULL;
        }
    }
    PyObject *value = PyObject_GenericGetAttr((PyObject *)self, name);
    if (value != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return value;
    PyErr_Clear();
    return PyObject_CallMethodOneArg((PyObject *)self, str_nffi_getattr, name);
}

static int clib_setattro(CompiledLibObject *self, PyObject *name, PyObject *value)
{
    if (self->globals != NULL && PyUnicode_Check(name)) {
        PyObject *gv = PyDict_GetItemWithError(self->globals, name);
        if (gv != NULL) {
            if (value == NULL) {
                PyErr_Format(PyExc_AttributeError, "cannot delete the global variable "
                             "'%U' of a library", name);
                return -1;
            }
            return globalvar_write((GlobalVarObject *)gv, value);
        }
        if (PyErr_Occurred())
            return -1;
    }
    if (self->dict != NULL && PyUnicode_Check(name) &&
            PyDict_GetItemWithError(self->dict, name) != NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot write to function or constant '%U'",
                     name);
        return -1;
    }
    if (PyErr_Occurred())
        return -1;
    PyErr_Format(PyExc_AttributeError, "cannot %s '%U': no such global variable in the "
                 "library", value == NULL ? "delete" : "set", name);
    return -1;
}

static PyObject *clib_get_globals(CompiledLibObject *self, void *closure)
{
    if (self->globals == NULL) {
        self->globals = PyDict_New();
        if (self->globals == NULL)
            return NULL;
    }
    return Py_NewRef(self->globals);
}

static int clib_traverse(CompiledLibObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    Py_VISIT(self->globals);
    return 0;
}

static int clib_clear(CompiledLibObject *self)
{
    Py_CLEAR(self->dict);
    Py_CLEAR(self->globals);
    return 0;
}

static void clib_dealloc(CompiledLibObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    clib_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyGetSetDef clib_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {"_nffi_globals", (getter)clib_get_globals, NULL,
     "name -> GlobalVar: the global variables of the library", NULL},
    {NULL}
};

static PyTypeObject CompiledLibBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CompiledLibBase",
    .tp_basicsize = sizeof(CompiledLibObject),
    .tp_dealloc = (destructor)clib_dealloc,
    .tp_getattro = (getattrofunc)clib_getattro,
    .tp_setattro = (setattrofunc)clib_setattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)clib_traverse,
    .tp_clear = (inquiry)clib_clear,
    .tp_weaklistoffset = offsetof(CompiledLibObject, weakreflist),
    .tp_dictoffset = offsetof(CompiledLibObject, dict),
    .tp_getset = clib_getset,
    .tp_new = PyType_GenericNew,
    .tp_doc = "Base of a compiled module's lib: functions and constants from the instance "
              "dict, global variables through _nffi_globals.",
};

static PyMethodDef capi_module_functions[] = {
    {"_global_var", m_global_var, METH_VARARGS,
     "_global_var(ctype, getter_address, name, decays=False): a GlobalVar (compiled modules only)"},
    {NULL}
};

int nffi_capi_init(PyObject *module)
{
    str_nffi_getattr = PyUnicode_InternFromString("_nffi_getattr");
    if (str_nffi_getattr == NULL || PyType_Ready(&GlobalVar_Type) < 0 ||
            PyType_Ready(&CompiledLibBase_Type) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "CompiledLibBase",
                              (PyObject *)&CompiledLibBase_Type) < 0 ||
            PyModule_AddFunctions(module, capi_module_functions) < 0)
        return -1;
    PyObject *capsule = PyCapsule_New(&capi, NFFI_CAPI_CAPSULE, NULL);
    if (capsule == NULL)
        return -1;
    int r = PyModule_AddObjectRef(module, "_C_API", capsule);
    Py_DECREF(capsule);
    return r;
}
