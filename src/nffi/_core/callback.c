/* callback.c -- C function pointers that call Python callables (ffi.callback).
 *
 * Owns CDataCallback, the subtype of CData whose c_data is the code address of a
 * libffi closure (valid exactly as long as the object lives), and the closure handler:
 * it takes the GIL (C threads included; on the thread of the call that released it, by
 * resuming that thread state: nffi_callback_begin), converts the C arguments to Python
 * onto the stack, calls the callable by vectorcall and writes its result back (an exact
 * int without the conversion engine), or on an exception calls 'onerror' or reports
 * it ("from nffi callback <...>", "cffi" under nffi.compat) and returns the 'error'
 * value.  errno is saved when C calls in and restored on the way back, so that
 * ffi.errno works in the callable.
 */
#include "nffi_core.h"
#include <ffi.h>

/* Inline storage of a CDataCallback. */
typedef struct {
    ffi_closure *closure;
    PyObject *callable;          /* NULL once cleared by the GC */
    PyObject *onerror;           /* NULL: none */
    Py_ssize_t error_size;       /* bytes of 'error' written to the result on failure */
    max_align_t error[];         /* the result returned when the callable fails */
} CallbackData;

static CallbackData *callback_data(CDataObject *cd)
{
    return (CallbackData *)CDATA_INLINE(cd);
}

/* libffi wants integer results narrower than a word written as a whole ffi_arg. */
static int is_small_integer(const NffiPlanArg *r)
{
    return (r->kind == NFFI_ARG_INT || r->kind == NFFI_ARG_CHAR) &&
           r->ct->ct_size < (Py_ssize_t)sizeof(ffi_arg);
}

/* Bytes the closure's result buffer receives. */
static Py_ssize_t result_size(const NffiPlanArg *r)
{
    if (r->kind == NFFI_ARG_VOID)
        return 0;
    return is_small_integer(r) ? (Py_ssize_t)sizeof(ffi_arg) : r->ct->ct_size;
}

/* Convert a value returned by the callable (or the 'error' value) into resp. */
static int write_result(char *resp, CTypeObject *fct, PyObject *obj)
{
    const NffiPlanArg *r = &fct->ct_call_plan->result;   /* built before the callback */
    if (r->kind == NFFI_ARG_VOID) {
        if (obj == Py_None)
            return 0;
        PyErr_SetString(PyExc_TypeError, "callback with the return type 'void' must return "
                        "None");
        return -1;
    }
    int64_t v;
    if (nffi_int_fast_value(r, obj, &v)) {      /* an exact int in range: no engine */
        if (is_small_integer(r)) {
            ffi_arg value = (ffi_arg)v;         /* widened by its own signedness */
            memcpy(resp, &value, sizeof(value));
        }
        else
            nffi_write_raw_integer(resp, (unsigned long long)v, r->ct->ct_size);
        return 0;
    }
    if (!is_small_integer(r))
        return nffi_convert(resp, r->ct, obj, NFFI_CONV_FRESH, NULL);
    char tmp[sizeof(ffi_arg)];
    if (nffi_convert_from_object(tmp, r->ct, obj) < 0)
        return -1;
    ffi_arg value = (ffi_arg)nffi_register_image(r, tmp);
    memcpy(resp, &value, sizeof(value));
    return 0;
}

/* ---- the closure handler ------------------------------------------------------------ */

/* The C arguments as Python objects into pyargs[0..nargs-1]; -1 (and nothing left to
 * release) on failure. */
static int convert_arguments(const NffiCallPlan *plan, void **args, PyObject **pyargs)
{
    for (Py_ssize_t i = 0; i < plan->nargs; i++) {
        CTypeObject *at = plan->args[i].ct;
        PyObject *x;
        if (at->ct_flags & CT_STRUCT_OR_UNION) {
            /* a copy: libffi's argument memory dies when the callback returns */
            CDataObject *cd = nffi_cdata_new_owned(at, at->ct_size, 0);
            if (cd != NULL)
                memcpy(cd->c_data, args[i], at->ct_size);
            x = (PyObject *)cd;
        }
        else
            x = nffi_convert_to_object(args[i], at, NULL);
        if (x == NULL) {
            while (--i >= 0)
                Py_DECREF(pyargs[i]);
            return -1;
        }
        pyargs[i] = x;
    }
    return 0;
}

/* Call the callable with the converted arguments, by vectorcall (no tuple): on the
 * stack for the common counts, else in memory of their own. */
#define STACK_ARGUMENTS 8

static PyObject *call_callable(PyObject *callable, const NffiCallPlan *plan, void **args,
                               int *converted)
{
    PyObject *stack[STACK_ARGUMENTS + 1];
    Py_ssize_t n = plan->nargs;
    PyObject **argv = n <= STACK_ARGUMENTS ? stack : PyMem_New(PyObject *, n + 1);
    *converted = 0;
    if (argv == NULL)
        return PyErr_NoMemory();
    PyObject *result = NULL;
    if (convert_arguments(plan, args, argv + 1) == 0) {
        *converted = 1;
        result = PyObject_Vectorcall(callable, argv + 1, n | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                     NULL);
        for (Py_ssize_t i = 1; i <= n; i++)
            Py_DECREF(argv[i]);
    }
    if (argv != stack)
        PyMem_Free(argv);
    return result;
}

/* Who reports a failing callback: "nffi", or "cffi" once nffi.compat is installed (its
 * programs, and cffi's tests, expect cffi's wording). */
static const char *reporter = "nffi";

static PyObject *set_compat_messages(PyObject *self, PyObject *flag)
{
    int on = PyObject_IsTrue(flag);
    if (on < 0)
        return NULL;
    reporter = on ? "cffi" : "nffi";
    Py_RETURN_NONE;
}

/* Hand the pending exception to sys.unraisablehook as "Exception ignored <what>", with
 * public API only: PyErr_FormatUnraisable from 3.13; before it (CPython's function for
 * this was private), nffi.errors._write_unraisable does the same in Python. */
static void write_unraisable(const char *what)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyErr_FormatUnraisable("Exception ignored %s", what);
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL)
        PyException_SetTraceback(value, tb);
    PyObject *errors = PyImport_ImportModule("nffi.errors");
    PyObject *r = errors != NULL && value != NULL
        ? PyObject_CallMethod(errors, "_write_unraisable", "sO", what, value) : NULL;
    if (r == NULL && PyErr_Occurred())
        PyErr_WriteUnraisable(NULL);   /* the report itself failed: say so, tersely */
    Py_XDECREF(r);
    Py_XDECREF(errors);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
#endif
}

/* Report the pending exception as unraisable, naming the callback. */
static void report(CDataObject *cd, const char *extra)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *callable = callback_data(cd)->callable;
    PyObject *msg = callable != NULL
        ? PyUnicode_FromFormat("from %s callback %R%s", reporter, callable, extra)
        : PyUnicode_FromFormat("from %s callback <cleared>%s", reporter, extra);
    const char *text = msg != NULL ? PyUnicode_AsUTF8(msg) : NULL;
    if (text == NULL) {
        PyErr_Clear();
        text = "from a callback";
    }
    PyErr_Restore(type, value, tb);
    write_unraisable(text);
    Py_XDECREF(msg);
}

/* The callable raised (or its result could not be converted): onerror, or a report;
 * resp gets onerror's result if it gave a usable one, else the 'error' value. */
static void handle_error(CDataObject *cd, char *resp, const char *extra)
{
    CallbackData *data = callback_data(cd);
    PyObject *onerror = callback_data(cd)->onerror;
    memcpy(resp, data->error, data->error_size);
    if (onerror == NULL) {
        report(cd, extra);
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL)
        PyException_SetTraceback(value, tb);
    Py_INCREF(onerror);
    PyObject *r = PyObject_CallFunctionObjArgs(onerror, type ? type : Py_None,
                                               value ? value : Py_None, tb ? tb : Py_None,
                                               NULL);
    Py_DECREF(onerror);
    if (r != NULL && (r == Py_None || write_result(resp, cd->c_type, r) == 0)) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    else {
        memcpy(resp, data->error, data->error_size);
        PyObject *type2, *value2, *tb2;
        PyErr_Fetch(&type2, &value2, &tb2);
        PyErr_Restore(type, value, tb);
        report(cd, extra);
        PyErr_Restore(type2, value2, tb2);
        write_unraisable("during handling of the above exception by 'onerror'");
    }
    Py_XDECREF(r);
}

static void run_callback(CDataObject *cd, char *resp, void **args)
{
    Py_INCREF(cd);     /* the callable may drop the last reference to its own callback */
    PyObject *callable = callback_data(cd)->callable, *result = NULL;
    if (callable == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the callback was cleared by the garbage collector");
        handle_error(cd, resp, "");
        Py_DECREF(cd);
        return;
    }
    Py_INCREF(callable);
    int converted;
    result = call_callable(callable, cd->c_type->ct_call_plan, args, &converted);
    if (result == NULL)
        handle_error(cd, resp, converted ? "" : ", trying to convert the arguments to Python");
    else if (write_result(resp, cd->c_type, result) < 0)
        handle_error(cd, resp, ", trying to convert the result back to C");
    Py_XDECREF(result);
    Py_DECREF(callable);
    Py_DECREF(cd);
}

static void closure_handler(ffi_cif *cif, void *resp, void **args, void *userdata)
{
    PyGILState_STATE state = nffi_callback_begin();
    run_callback((CDataObject *)userdata, resp, args);
    nffi_callback_end(state);
}

/* ---- the CDataCallback type ------------------------------------------------------------ */

static void callback_dealloc(CDataObject *cd)
{
    PyObject_GC_UnTrack(cd);
    if (cd->c_weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)cd);
    CallbackData *data = callback_data(cd);
    if (data->closure != NULL)
        ffi_closure_free(data->closure);
    Py_CLEAR(callback_data(cd)->callable);
    Py_CLEAR(callback_data(cd)->onerror);
    Py_CLEAR(cd->c_owner);
    Py_CLEAR(cd->c_type);
    PyObject_GC_Del(cd);
}

static int callback_traverse(CDataObject *cd, visitproc visit, void *arg)
{
    Py_VISIT(callback_data(cd)->callable);
    Py_VISIT(callback_data(cd)->onerror);
    Py_VISIT(cd->c_owner);
    return 0;
}

static int callback_clear(CDataObject *cd)
{
    Py_CLEAR(callback_data(cd)->callable);
    Py_CLEAR(callback_data(cd)->onerror);
    return 0;
}

static PyObject *callback_repr(CDataObject *cd)
{
    PyObject *callable = callback_data(cd)->callable;
    if (callable == NULL)
        return PyUnicode_FromFormat("<cdata '%s' calling <cleared>>",
                                    nffi_ctype_name(cd->c_type));
    return PyUnicode_FromFormat("<cdata '%s' calling %R>", nffi_ctype_name(cd->c_type),
                                callable);
}

static PyTypeObject CDataCallback_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CDataCallback",
    .tp_basicsize = sizeof(CDataObject),
    .tp_itemsize = 1,
    .tp_dealloc = (destructor)callback_dealloc,
    .tp_repr = (reprfunc)callback_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)callback_traverse,
    .tp_clear = (inquiry)callback_clear,
    .tp_base = &CData_Type,
    .tp_doc = "A cdata function pointer whose C code calls a Python callable.",
};

/* ---- callback(fnptr_ctype, callable, error=None, onerror=None) ------------------------- */

static int check_callback_args(CTypeObject *ct, PyObject *callable, PyObject *onerror)
{
    if (!(ct->ct_flags & CT_FUNCTIONPTR)) {
        PyErr_Format(PyExc_TypeError, "expected a function ctype, got '%s'",
                     nffi_ctype_name(ct));
        return -1;
    }
    if (!PyCallable_Check(callable)) {
        PyErr_Format(PyExc_TypeError, "expected a callable object, not %.200s",
                     Py_TYPE(callable)->tp_name);
        return -1;
    }
    if (onerror != Py_None && !PyCallable_Check(onerror)) {
        PyErr_Format(PyExc_TypeError, "expected a callable object for 'onerror', not %.200s",
                     Py_TYPE(onerror)->tp_name);
        return -1;
    }
    return 0;
}

/* The cif of a function type a callback can have, or NULL + exception. */
static ffi_cif *callback_cif(CTypeObject *ct)
{
    NffiCallPlan *plan = nffi_call_plan(ct);
    if (plan == NULL)
        return NULL;
    ffi_cif *cif = plan->ellipsis ? NULL : nffi_function_cif(ct);
    if (cif == NULL && (!PyErr_Occurred() ||
                        PyErr_ExceptionMatches(PyExc_NotImplementedError))) {
        PyErr_Clear();
        PyErr_Format(PyExc_NotImplementedError, "%s: callback with unsupported argument or "
                     "return type or with '...'", nffi_ctype_name(ct));
    }
    return cif;
}

static CDataObject *callback_alloc(CTypeObject *ct, Py_ssize_t error_size)
{
    Py_ssize_t nitems = (Py_ssize_t)(CDATA_INLINE_OFFSET - sizeof(CDataObject)) +
                        (Py_ssize_t)sizeof(CallbackData) + error_size;
    CDataObject *cd = (CDataObject *)PyType_GenericAlloc(&CDataCallback_Type, nitems);
    if (cd == NULL)
        return NULL;
    Py_INCREF(ct);
    cd->c_type = ct;
    cd->c_length = -1;
    cd->c_flags = CD_CALLBACK;
    callback_data(cd)->error_size = error_size;
    return cd;    /* zero-filled: no closure yet, error value 0 */
}

/* callback() and _extern_callback(): with_closure=0 makes the object of an 'extern
 * "Python"' function of a generated module, which C reaches through the generated
 * function and nffi_callback_run_exact(), not through a libffi closure (c_data NULL). */
static PyObject *new_callback(PyObject *args, int with_closure)
{
    CTypeObject *ct;
    PyObject *callable, *error = Py_None, *onerror = Py_None;
    if (!PyArg_ParseTuple(args, "O!O|OO:callback", &CType_Type, &ct, &callable, &error,
                          &onerror) || check_callback_args(ct, callable, onerror) < 0)
        return NULL;
    ffi_cif *cif = callback_cif(ct);
    if (cif == NULL)
        return NULL;
    CDataObject *cd = callback_alloc(ct, result_size(&ct->ct_call_plan->result));
    if (cd == NULL)
        return NULL;
    CallbackData *data = callback_data(cd);
    if (error != Py_None && write_result((char *)data->error, ct, error) < 0)
        goto fail;
    if (with_closure) {
        void *code = NULL;
        data->closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
        if (data->closure == NULL) {
            PyErr_SetString(PyExc_MemoryError, "cannot allocate a libffi closure");
            goto fail;
        }
        if (ffi_prep_closure_loc(data->closure, cif, closure_handler, cd, code) != FFI_OK) {
            PyErr_SetString(PyExc_SystemError, "libffi cannot prepare the closure");
            goto fail;
        }
        cd->c_data = code;
    }
    data->callable = Py_NewRef(callable);
    if (onerror != Py_None)
        data->onerror = Py_NewRef(onerror);
    return (PyObject *)cd;

fail:
    Py_DECREF(cd);
    return NULL;
}

static PyObject *make_callback(PyObject *self, PyObject *args)
{
    return new_callback(args, 1);
}

static PyObject *make_extern_callback(PyObject *self, PyObject *args)
{
    return new_callback(args, 0);
}

int nffi_is_callback(PyObject *obj)
{
    return Py_IS_TYPE(obj, &CDataCallback_Type);
}

/* A call of a generated 'extern "Python"' function (capi.c): as the closure handler,
 * with the result written as the C type itself (a small integer is not widened to a
 * libffi word).  The caller holds the GIL (nffi_callback_begin). */
void nffi_callback_run_exact(PyObject *callback, void *result, void **args)
{
    CDataObject *cd = (CDataObject *)callback;
    const NffiPlanArg *r = &cd->c_type->ct_call_plan->result;
    if (is_small_integer(r)) {
        ffi_arg word = 0;
        run_callback(cd, (char *)&word, args);
        nffi_write_raw_integer(result, (unsigned long long)word, r->ct->ct_size);
    }
    else
        run_callback(cd, result, args);
}

static PyMethodDef callback_functions[] = {
    {"callback", make_callback, METH_VARARGS,
     "callback(fnptr_ctype, callable, error=None, onerror=None) -> a C function pointer "
     "calling callable"},
    {"_extern_callback", make_extern_callback, METH_VARARGS,
     "_extern_callback(fnptr_ctype, callable, error=None, onerror=None) -> the callback "
     "of an 'extern \"Python\"' function of a compiled module (no closure)"},
    {"_compat_messages", set_compat_messages, METH_O,
     "_compat_messages(flag): report failing callbacks with cffi's wording (nffi.compat)"},
    {NULL}
};

int nffi_callback_init(PyObject *module)
{
    if (PyType_Ready(&CDataCallback_Type) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "CDataCallback", (PyObject *)&CDataCallback_Type) < 0)
        return -1;
    return PyModule_AddFunctions(module, callback_functions);
}
