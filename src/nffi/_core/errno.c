/* errno.c -- ffi.errno: the errno value saved per thread around C calls.
 *
 * Owns nffi_saved_errno, a thread-local copy of errno: the call bracket (nffi_call_begin
 * / nffi_call_end in nffi_core.h, used by direct.c and call.c) writes it into errno
 * right before each C call and saves errno into it right after (with the GIL
 * released); the callback bracket saves it when C calls into Python and restores it on
 * the way back.  nffi_errno_call_begin/end and nffi_errno_callback_begin/end are the
 * two brackets as functions, for generated modules.  The module functions get_errno()
 * and set_errno(v) read and write it for the current thread (the FFI.errno property).
 */
#include "nffi_core.h"
#include <limits.h>

_Thread_local int nffi_saved_errno __attribute__((tls_model("initial-exec"))) = 0;
_Thread_local PyThreadState *nffi_released_state __attribute__((tls_model("initial-exec")))
    = NULL;

PyThreadState *nffi_errno_call_begin(void)
{
    return nffi_call_begin(1);
}

void nffi_errno_call_end(PyThreadState *state)
{
    nffi_call_end(state);
}

PyGILState_STATE nffi_errno_callback_begin(void)
{
    return nffi_callback_begin();
}

void nffi_errno_callback_end(PyGILState_STATE state)
{
    nffi_callback_end(state);
}

static PyObject *get_errno(PyObject *self, PyObject *noargs)
{
    return PyLong_FromLong(nffi_saved_errno);
}

static PyObject *set_errno(PyObject *self, PyObject *arg)
{
    int overflow;
    long value = PyLong_AsLongAndOverflow(arg, &overflow);
    if (value == -1 && PyErr_Occurred())
        return NULL;
    if (overflow || value < INT_MIN || value > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "errno value too large");
        return NULL;
    }
    nffi_saved_errno = (int)value;
    Py_RETURN_NONE;
}

static PyMethodDef errno_functions[] = {
    {"get_errno", get_errno, METH_NOARGS, "The saved errno of the current thread."},
    {"set_errno", set_errno, METH_O, "Set the errno passed to this thread's next C call."},
    {NULL}
};

int nffi_errno_init(PyObject *module)
{
    return PyModule_AddFunctions(module, errno_functions);
}
