/* function.c -- the cdata of C function pointers, callable through vectorcall.
 *
 * Owns CFunction, the subtype of CData that every function-pointer view is (functions
 * of a dlopen()ed library, casts to a function pointer type, function pointers read
 * from memory).  It stores the vectorcall entry and the direct-call plan of its ctype,
 * so that a call goes straight to direct.c when the signature has one and to libffi
 * (call.c) otherwise, without building an argument tuple either way.
 */
#include "nffi_core.h"

typedef struct {
    CDataObject cd;
    vectorcallfunc vectorcall;
    DirectPlan *plan;            /* owned by the ctype (ct_direct); NULL: libffi only */
} CFunctionObject;

static PyObject *cfunction_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                      PyObject *kwnames)
{
    CFunctionObject *fn = (CFunctionObject *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    int has_keywords = kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0;
    PyObject *result;
    if (fn->plan != NULL && !has_keywords &&
            nffi_direct_call(fn->plan, &fn->cd, args, nargs, &result))
        return result;
    return nffi_call_libffi(&fn->cd, args, nargs, has_keywords);
}

PyTypeObject CFunction_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CFunction",
    .tp_basicsize = sizeof(CFunctionObject),
    .tp_itemsize = 1,
    /* tp_dealloc: CData's (no reference beyond those of the CData part) */
    .tp_vectorcall_offset = offsetof(CFunctionObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_base = &CData_Type,
    .tp_doc = "A C function pointer cdata; calling it calls the C function.",
};

CDataObject *nffi_function_new(CTypeObject *fct, char *address, PyObject *owner)
{
    DirectPlan *plan = nffi_direct_plan(fct);
    if (plan == NULL && PyErr_Occurred())
        return NULL;
    CFunctionObject *fn = PyObject_Malloc(sizeof(CFunctionObject));
    if (fn == NULL)
        return (CDataObject *)PyErr_NoMemory();
    PyObject_InitVar((PyVarObject *)fn, &CFunction_Type, 0);
    Py_INCREF(fct);
    fn->cd.c_type = fct;
    fn->cd.c_data = address;
    Py_XINCREF(owner);
    fn->cd.c_owner = owner;
    fn->cd.c_weakreflist = NULL;
    fn->cd.c_length = -1;
    fn->cd.c_flags = 0;
    fn->vectorcall = cfunction_vectorcall;
    fn->plan = plan;
    return &fn->cd;
}

/* _core._call_libffi(fn, *args): the call through libffi even when a direct call
 * exists, so that tests can check that both paths agree. */
static PyObject *call_libffi(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || !CData_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "_call_libffi(fn, *args): fn must be a cdata");
        return NULL;
    }
    return nffi_call_libffi((CDataObject *)args[0], args + 1, nargs - 1, 0);
}

static PyMethodDef function_module_methods[] = {
    {"_call_libffi", (PyCFunction)(void (*)(void))call_libffi, METH_FASTCALL,
     "_call_libffi(fn, *args): call fn through libffi, bypassing direct calls (tests)"},
    {NULL}
};

int nffi_function_init(PyObject *module)
{
    if (PyType_Ready(&CFunction_Type) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "CFunction", (PyObject *)&CFunction_Type) < 0)
        return -1;
    return PyModule_AddFunctions(module, function_module_methods);
}
