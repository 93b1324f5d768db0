/* lib.c -- native libraries: dlopen, dlsym, and the globals they hold.
 *
 * Owns the Library object returned by load_library(path_or_None, flags): a dlopen()
 * handle that gives function cdata (load_function), reads and writes global variables
 * (read_variable, variable), gives symbol addresses (address_of), and is closed
 * by close() or when it dies.  Every cdata made from a library keeps it alive through
 * c_owner; after close() each use raises LibraryClosedError (a ValueError, as in cffi,
 * and an ffi.error).  Also the RTLD_* constants.  The Python <lib> object is lib.py.
 *
 * Also owns GlobalVariable (Library.variable(ctype, name)): a global found once by
 * dlsym(), its ctype and address.  The <lib> object caches it in its dict and its C
 * attribute access (libobject.c) reads and writes through nffi_global_read/_write, so
 * `lib.x` costs a dict lookup and a conversion, with no Python code on the way.
 */
#include "nffi_core.h"
#include <dlfcn.h>

typedef struct {
    PyObject_HEAD
    void *handle;                /* NULL once closed (NffiLibraryHead: read inline) */
    PyObject *name;              /* str, for messages */
    int auto_close;              /* 0 for a handle given by the user as a 'void *' */
} LibraryObject;
_Static_assert(offsetof(LibraryObject, handle) == offsetof(NffiLibraryHead, handle),
               "NffiLibraryHead is the head of LibraryObject");

static PyObject *LibraryClosedError;

int nffi_library_closed_error(PyObject *lib)
{
    PyErr_Format(LibraryClosedError, "library '%U' has already been closed",
                 ((LibraryObject *)lib)->name);
    return -1;
}

static int check_open(LibraryObject *lib)
{
    return lib->handle != NULL ? 0 : nffi_library_closed_error((PyObject *)lib);
}

/* dlsym(); NULL with 'exc' set naming what was looked for if the symbol is missing. */
static void *lookup(LibraryObject *lib, const char *name, PyObject *exc, const char *what)
{
    if (check_open(lib) < 0)
        return NULL;
    dlerror();
    void *address = dlsym(lib->handle, name);
    if (address == NULL) {
        const char *err = dlerror();
        PyErr_Format(exc, "%s '%s' not found in library '%U': %s", what, name, lib->name,
                     err ? err : "the symbol's address is NULL");
    }
    return address;
}

/* ---- methods ----------------------------------------------------------------------- */

static PyObject *lib_load_function(LibraryObject *lib, PyObject *args)
{
    CTypeObject *ct;
    const char *name;
    int release_gil = 1;
    if (!PyArg_ParseTuple(args, "O!s|p:load_function", &CType_Type, &ct, &name, &release_gil))
        return NULL;
    if (!(ct->ct_flags & (CT_FUNCTIONPTR | CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "function or pointer or array cdata expected, got '%s'",
                     nffi_ctype_name(ct));
        return NULL;
    }
    void *address = lookup(lib, name, PyExc_AttributeError, "function/symbol");
    if (address == NULL)
        return NULL;
    CDataObject *fn = nffi_cdata_new_view(ct, address, (PyObject *)lib);
    if (fn != NULL && nffi_function_set_name(fn, name) < 0)   /* argument notes name it */
        Py_CLEAR(fn);
    if (fn != NULL && !release_gil)
        nffi_function_keep_gil(fn);
    return (PyObject *)fn;
}

/* ---- GlobalVariable ------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    CTypeObject *ct;
    char *address;
    LibraryObject *lib;          /* strong: the memory lives as long as the library is open */
    NffiPlanArg value;           /* classified as a call argument: its exact-int fast path */
} GlobalVariableObject;

PyObject *nffi_global_read(PyObject *var)
{
    GlobalVariableObject *gv = (GlobalVariableObject *)var;
    if (check_open(gv->lib) < 0)
        return NULL;
    return nffi_convert_to_object(gv->address, gv->ct, (PyObject *)gv->lib);
}

int nffi_global_write(PyObject *var, PyObject *value)
{
    GlobalVariableObject *gv = (GlobalVariableObject *)var;
    if (check_open(gv->lib) < 0)
        return -1;
    int64_t v;
    if (nffi_int_fast_value(&gv->value, value, &v)) {
        nffi_write_raw_integer(gv->address, (unsigned long long)v, gv->ct->ct_size);
        return 0;
    }
    return nffi_convert_from_object(gv->address, gv->ct, value);
}

static void global_dealloc(GlobalVariableObject *gv)
{
    Py_DECREF(gv->ct);
    Py_DECREF(gv->lib);
    PyObject_Free(gv);
}

static PyObject *global_repr(GlobalVariableObject *gv)
{
    return PyUnicode_FromFormat("<global variable of type '%s' in library '%U'>",
                                nffi_ctype_name(gv->ct), gv->lib->name);
}

PyTypeObject GlobalVariable_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.GlobalVariable",
    .tp_basicsize = sizeof(GlobalVariableObject),
    .tp_dealloc = (destructor)global_dealloc,
    .tp_repr = (reprfunc)global_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A global variable of a library (read and written by the <lib> object).",
};

/* variable(ctype, name) -> the GlobalVariable; KeyError if the symbol is missing. */
static PyObject *lib_variable(LibraryObject *lib, PyObject *args)
{
    CTypeObject *ct;
    const char *name;
    if (!PyArg_ParseTuple(args, "O!s:variable", &CType_Type, &ct, &name))
        return NULL;
    char *address = lookup(lib, name, PyExc_KeyError, "variable");
    if (address == NULL)
        return NULL;
    GlobalVariableObject *gv = PyObject_New(GlobalVariableObject, &GlobalVariable_Type);
    if (gv == NULL)
        return NULL;
    gv->ct = (CTypeObject *)Py_NewRef(ct);
    gv->address = address;
    gv->lib = (LibraryObject *)Py_NewRef(lib);
    memset(&gv->value, 0, sizeof(gv->value));
    nffi_plan_classify(ct, &gv->value);
    return (PyObject *)gv;
}

static PyObject *lib_read_variable(LibraryObject *lib, PyObject *args)
{
    PyObject *var = lib_variable(lib, args);
    if (var == NULL)
        return NULL;
    PyObject *value = nffi_global_read(var);
    Py_DECREF(var);
    return value;
}

/* address_of(name, ctype=None): the address as an int, or as a cdata of 'ctype' (a
 * pointer or array type) that keeps the library alive. */
static PyObject *lib_address_of(LibraryObject *lib, PyObject *args)
{
    const char *name;
    PyObject *ctobj = Py_None;
    if (!PyArg_ParseTuple(args, "s|O:address_of", &name, &ctobj))
        return NULL;
    if (ctobj != Py_None && (!CType_Check(ctobj) || !(((CTypeObject *)ctobj)->ct_flags &
                                                       (CT_POINTER | CT_ARRAY | CT_FUNCTIONPTR)))) {
        PyErr_SetString(PyExc_TypeError, "address_of(): expected a pointer or array ctype");
        return NULL;
    }
    void *address = lookup(lib, name, PyExc_AttributeError, "symbol");
    if (address == NULL)
        return NULL;
    if (ctobj == Py_None)
        return PyLong_FromVoidPtr(address);
    return (PyObject *)nffi_cdata_new_view((CTypeObject *)ctobj, address, (PyObject *)lib);
}

/* dlclose() of handles closed while calls into C were running (one of them may be about
 * to return into the library: a callback closed it), done when the last call returns. */
Py_ssize_t nffi_calls_running = 0;
int nffi_closes_deferred = 0;
static void **deferred_handles = NULL;
static Py_ssize_t deferred_count = 0, deferred_room = 0;

void nffi_library_close_deferred(void)
{
    for (Py_ssize_t i = 0; i < deferred_count; i++)
        dlclose(deferred_handles[i]);
    deferred_count = 0;
    nffi_closes_deferred = 0;
}

static void close_handle(LibraryObject *lib)
{
    void *handle = lib->handle;
    lib->handle = NULL;
    if (handle == NULL || !lib->auto_close)
        return;
    if (nffi_calls_running > 0) {
        if (deferred_count == deferred_room) {
            Py_ssize_t room = deferred_room ? 2 * deferred_room : 8;
            void **grown = PyMem_RawRealloc(deferred_handles, room * sizeof(void *));
            if (grown == NULL)
                return;          /* left open: a leak, never an unmapped return address */
            deferred_handles = grown;
            deferred_room = room;
        }
        deferred_handles[deferred_count++] = handle;
        nffi_closes_deferred = 1;
        return;
    }
    dlclose(handle);
}

static PyObject *lib_close(LibraryObject *lib, PyObject *noargs)
{
    close_handle(lib);
    Py_RETURN_NONE;
}

static PyObject *lib_get_closed(LibraryObject *lib, void *closure)
{
    return PyBool_FromLong(lib->handle == NULL);
}

static PyObject *lib_get_name(LibraryObject *lib, void *closure)
{
    return Py_NewRef(lib->name);
}

static PyMethodDef lib_methods[] = {
    {"load_function", (PyCFunction)lib_load_function, METH_VARARGS,
     "load_function(fnptr_ctype, name, release_gil=True) -> the function as a cdata "
     "(release_gil=False: its calls keep the GIL)"},
    {"read_variable", (PyCFunction)lib_read_variable, METH_VARARGS,
     "read_variable(ctype, name) -> the value of a global variable"},
    {"variable", (PyCFunction)lib_variable, METH_VARARGS,
     "variable(ctype, name) -> the global variable, for the <lib> object's cache"},
    {"address_of", (PyCFunction)lib_address_of, METH_VARARGS,
     "address_of(name, ctype=None) -> the address of a symbol (int, or cdata of ctype)"},
    {"close", (PyCFunction)lib_close, METH_NOARGS, "dlclose() the library (idempotent)"},
    {"close_lib", (PyCFunction)lib_close, METH_NOARGS, "the same as close() (cffi's name)"},
    {NULL}
};

static PyGetSetDef lib_getset[] = {
    {"closed", (getter)lib_get_closed, NULL, NULL},
    {"name", (getter)lib_get_name, NULL, NULL},
    {NULL}
};

static void lib_dealloc(LibraryObject *lib)
{
    close_handle(lib);
    Py_XDECREF(lib->name);
    PyObject_Free(lib);
}

static PyObject *lib_repr(LibraryObject *lib)
{
    return PyUnicode_FromFormat("<clibrary '%U'>", lib->name);
}

PyTypeObject nffi_Library_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.Library",
    .tp_basicsize = sizeof(LibraryObject),
    .tp_dealloc = (destructor)lib_dealloc,
    .tp_repr = (reprfunc)lib_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = lib_methods,
    .tp_getset = lib_getset,
    .tp_doc = "A native library opened with dlopen().",
};

/* ---- load_library(path_or_None_or_handle, flags=0) ---------------------------------- */

static PyObject *new_library(void *handle, PyObject *name, int auto_close)
{
    LibraryObject *lib = PyObject_New(LibraryObject, &nffi_Library_Type);
    if (lib == NULL) {
        if (auto_close)
            dlclose(handle);
        return NULL;
    }
    lib->handle = handle;
    Py_INCREF(name);
    lib->name = name;
    lib->auto_close = auto_close;
    return (PyObject *)lib;
}

static PyObject *library_from_handle(CDataObject *cd)
{
    if (!(cd->c_type->ct_flags & CT_POINTER) || cd->c_data == NULL) {
        PyErr_Format(PyExc_TypeError, "dlopen(name): expected a 'void *' handle, got "
                     "cdata '%s'%s", nffi_ctype_name(cd->c_type),
                     cd->c_data == NULL ? " NULL" : "");
        return NULL;
    }
    PyObject *name = PyObject_Repr((PyObject *)cd);
    if (name == NULL)
        return NULL;
    PyObject *lib = new_library(cd->c_data, name, 0);
    Py_DECREF(name);
    return lib;
}

static PyObject *open_path(PyObject *path, int flags)
{
    PyObject *encoded = NULL, *name;
    const char *cpath = NULL;
    if (path == Py_None)
        name = PyUnicode_FromString("<None>");
    else {
        if (!PyUnicode_FSConverter(path, &encoded))
            return NULL;
        cpath = PyBytes_AS_STRING(encoded);
        name = PyUnicode_DecodeFSDefault(cpath);
    }
    void *handle = NULL;
    if (name != NULL) {
        Py_BEGIN_ALLOW_THREADS
        handle = dlopen(cpath, flags);
        Py_END_ALLOW_THREADS
        if (handle == NULL) {
            const char *err = dlerror();
            PyErr_Format(PyExc_OSError, "cannot load library '%U': %s", name,
                         err ? err : "unknown error");
        }
    }
    PyObject *lib = handle != NULL ? new_library(handle, name, 1) : NULL;
    Py_XDECREF(name);
    Py_XDECREF(encoded);
    return lib;
}

static PyObject *load_library(PyObject *self, PyObject *args)
{
    PyObject *path;
    int flags = 0;
    if (!PyArg_ParseTuple(args, "O|i:load_library", &path, &flags))
        return NULL;
    if (CData_Check(path))
        return library_from_handle((CDataObject *)path);
    if (path != Py_None && !PyUnicode_Check(path) && !PyBytes_Check(path)) {
        PyErr_SetString(PyExc_TypeError, "dlopen(name): name must be a file name, None, or "
                        "an already-opened 'void *' handle");
        return NULL;
    }
    if ((flags & (RTLD_NOW | RTLD_LAZY)) == 0)
        flags |= RTLD_NOW;
    return open_path(path, flags);
}

static PyMethodDef lib_functions[] = {
    {"load_library", load_library, METH_VARARGS,
     "load_library(path_or_None, flags=0) -> a native library (dlopen)"},
    {NULL}
};

static int add_constants(PyObject *module)
{
    return PyModule_AddIntConstant(module, "RTLD_LAZY", RTLD_LAZY) < 0 ||
           PyModule_AddIntConstant(module, "RTLD_NOW", RTLD_NOW) < 0 ||
           PyModule_AddIntConstant(module, "RTLD_GLOBAL", RTLD_GLOBAL) < 0 ||
           PyModule_AddIntConstant(module, "RTLD_LOCAL", RTLD_LOCAL) < 0 ||
           PyModule_AddIntConstant(module, "RTLD_NODELETE", RTLD_NODELETE) < 0 ||
           PyModule_AddIntConstant(module, "RTLD_NOLOAD", RTLD_NOLOAD) < 0 ||
           PyModule_AddIntConstant(module, "RTLD_DEEPBIND", RTLD_DEEPBIND) < 0 ? -1 : 0;
}

int nffi_lib_init(PyObject *module)
{
    if (PyType_Ready(&nffi_Library_Type) < 0 || PyType_Ready(&GlobalVariable_Type) < 0)
        return -1;
    PyObject *bases = PyTuple_Pack(2, nffi_FFIError, PyExc_ValueError);
    if (bases == NULL)
        return -1;
    LibraryClosedError = PyErr_NewExceptionWithDoc(
        "nffi.LibraryClosedError",
        "A function or global variable of a library closed with ffi.dlclose() was used.",
        bases, NULL);
    Py_DECREF(bases);
    if (LibraryClosedError == NULL ||
            PyModule_AddObjectRef(module, "LibraryClosedError", LibraryClosedError) < 0 ||
            PyModule_AddObjectRef(module, "Library", (PyObject *)&nffi_Library_Type) < 0 ||
            add_constants(module) < 0)
        return -1;
    return PyModule_AddFunctions(module, lib_functions);
}
