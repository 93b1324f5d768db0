/* function.c -- function types: their call plan; and CFunction, the callable cdata.
 *
 * Owns the call plan of a function ctype (nffi_core.h): built once, when the first
 * function of that type is made or called, and cached in ct_call_plan.  The arguments
 * and the result are classified here, once, for every path: direct calls (direct.c adds
 * the registers and the call shape), libffi calls (call.c adds libffi's description at
 * the first such call), callbacks and generated wrappers.  Also CFunction, the subtype
 * of CData that every function-pointer view is: its vectorcall entry goes to direct.c
 * when the plan has a direct call and to libffi (call.c) otherwise, without building an
 * argument tuple either way.
 */
#include "nffi_core.h"
#include <limits.h>

/* ---- the call plan ----------------------------------------------------------------------- */

void nffi_plan_classify(CTypeObject *ct, NffiPlanArg *a)
{
    int f = ct->ct_flags;
    a->ct = ct;
    if (f & CT_VOID)
        a->kind = NFFI_ARG_VOID;
    else if (f & (CT_POINTER | CT_FUNCTIONPTR)) {
        a->kind = NFFI_ARG_POINTER;
        a->takes_bytes = (unsigned char)nffi_pointer_takes_bytes(ct);
    }
    else if ((f & CT_PRIMITIVE_FLOAT) && !(f & CT_IS_LONGDOUBLE))
        a->kind = ct->ct_size == sizeof(float) ? NFFI_ARG_FLOAT : NFFI_ARG_DOUBLE;
    else if ((f & CT_STRUCT_OR_UNION) && ct->ct_size > 0 && !(f & CT_IS_OPAQUE))
        a->kind = NFFI_ARG_STRUCT;
    else if ((f & (CT_PRIMITIVE_INTEGER | CT_PRIMITIVE_CHAR)) && ct->ct_size <= 8) {
        a->kind = (f & CT_PRIMITIVE_CHAR) ? NFFI_ARG_CHAR : NFFI_ARG_INT;
        a->is_signed = (unsigned char)nffi_abi_signed(ct);
        Py_ssize_t value_bits = ct->ct_size * 8 - a->is_signed;   /* the fast path's range */
        a->max = (f & CT_IS_BOOL) ? 1 : value_bits >= 63 ? LLONG_MAX : (1LL << value_bits) - 1;
        a->min = a->is_signed ? -a->max - 1 : 0;
    }
    else
        a->kind = NFFI_ARG_OTHER;
}

NffiCallPlan *nffi_call_plan(CTypeObject *fct)
{
    if (fct->ct_call_plan != NULL)
        return fct->ct_call_plan;
    PyObject *fargs = fct->ct_fn_args;
    Py_ssize_t nargs = PyTuple_GET_SIZE(fargs);
    NffiCallPlan *plan = PyMem_Calloc(1, sizeof(NffiCallPlan) + nargs * sizeof(NffiPlanArg));
    if (plan == NULL)
        return (NffiCallPlan *)PyErr_NoMemory();
    plan->nargs = nargs;
    plan->ellipsis = fct->ct_fn_ellipsis;
    nffi_plan_classify(fct->ct_fn_result, &plan->result);
    for (Py_ssize_t i = 0; i < nargs; i++) {
        nffi_plan_classify((CTypeObject *)PyTuple_GET_ITEM(fargs, i), &plan->args[i]);
        plan->has_pointers |= plan->args[i].kind == NFFI_ARG_POINTER;
    }
    plan->direct = nffi_direct_prepare(plan);
    fct->ct_call_plan = plan;
    return plan;
}

void nffi_call_plan_free(NffiCallPlan *plan)
{
    if (plan != NULL) {
        nffi_libffi_free(plan->libffi);
        PyMem_Free(plan);
    }
}

/* ---- CFunction ------------------------------------------------------------------------- */

/* The vectorcall entry of a function whose plan has no direct call (direct.c's entry,
 * nffi_direct_vectorcall, serves the others and comes here for what it does not take). */
PyObject *nffi_cfunction_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    CFunctionObject *fn = (CFunctionObject *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    int has_keywords = kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0;
    return nffi_call_libffi(&fn->cd, args, nargs, has_keywords, fn->release_gil);
}

static void cfunction_dealloc(PyObject *self)
{
    Py_CLEAR(((CFunctionObject *)self)->name);
    CData_Type.tp_dealloc(self);
}

PyTypeObject CFunction_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CFunction",
    .tp_basicsize = sizeof(CFunctionObject),
    .tp_itemsize = 1,
    .tp_dealloc = cfunction_dealloc,
    .tp_vectorcall_offset = offsetof(CFunctionObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_base = &CData_Type,
    .tp_doc = "A C function pointer cdata; calling it calls the C function.",
};

CDataObject *nffi_function_new(CTypeObject *fct, char *address, PyObject *owner)
{
    NffiCallPlan *plan = nffi_call_plan(fct);
    if (plan == NULL)
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
    fn->cd.c_flags = nffi_owner_flags(owner);
    fn->vectorcall = plan->direct ? nffi_direct_vectorcall : nffi_cfunction_vectorcall;
    fn->plan = plan;
    fn->name = NULL;
    fn->release_gil = 1;
    return &fn->cd;
}

int nffi_function_set_name(CDataObject *fn, const char *name)
{
    if (Py_TYPE(fn) != &CFunction_Type)
        return 0;
    PyObject *str = PyUnicode_FromString(name);
    if (str == NULL)
        return -1;
    Py_XSETREF(((CFunctionObject *)fn)->name, str);
    return 0;
}

void nffi_function_keep_gil(CDataObject *fn)
{
    if (Py_TYPE(fn) == &CFunction_Type)
        ((CFunctionObject *)fn)->release_gil = 0;
}

int nffi_function_releases_gil(CDataObject *fn)
{
    return Py_TYPE(fn) != &CFunction_Type || ((CFunctionObject *)fn)->release_gil;
}

PyObject *nffi_function_name(CDataObject *fn)
{
    return Py_TYPE(fn) == &CFunction_Type ? ((CFunctionObject *)fn)->name : NULL;
}

/* _core._call_libffi(fn, *args): the call through libffi even when a direct call
 * exists, so that tests can check that both paths agree. */
static PyObject *call_libffi(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || !CData_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "_call_libffi(fn, *args): fn must be a cdata");
        return NULL;
    }
    CDataObject *fn = (CDataObject *)args[0];
    return nffi_call_libffi(fn, args + 1, nargs - 1, 0, nffi_function_releases_gil(fn));
}

/* _core._keep_gil(fn): calls of this function object keep the GIL (rffi's
 * llexternal(..., releasegil=False); cdef(..., release_gil=False) marks the functions of
 * a library through lib.c).  Returns fn. */
static PyObject *keep_gil(PyObject *module, PyObject *fn)
{
    if (Py_TYPE(fn) != &CFunction_Type) {
        PyErr_Format(PyExc_TypeError, "_keep_gil(fn): fn must be a C function cdata, not %.200s",
                     Py_TYPE(fn)->tp_name);
        return NULL;
    }
    nffi_function_keep_gil((CDataObject *)fn);
    return Py_NewRef(fn);
}

/* _core._is_direct(fn): whether calls of fn's type take a direct call shape (tests). */
static PyObject *is_direct(PyObject *module, PyObject *fn)
{
    if (!CData_Check(fn) || !(((CDataObject *)fn)->c_type->ct_flags & CT_FUNCTIONPTR)) {
        PyErr_SetString(PyExc_TypeError, "_is_direct(fn): fn must be a function cdata");
        return NULL;
    }
    NffiCallPlan *plan = nffi_call_plan(((CDataObject *)fn)->c_type);
    return plan == NULL ? NULL : PyBool_FromLong(plan->direct);
}

static PyMethodDef function_module_methods[] = {
    {"_call_libffi", (PyCFunction)(void (*)(void))call_libffi, METH_FASTCALL,
     "_call_libffi(fn, *args): call fn through libffi, bypassing direct calls (tests)"},
    {"_keep_gil", keep_gil, METH_O,
     "_keep_gil(fn): calls of the function object fn keep the GIL; returns fn"},
    {"_is_direct", is_direct, METH_O,
     "_is_direct(fn): True if calls of fn take a direct call shape (tests)"},
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
