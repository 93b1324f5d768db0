/* libobject.c -- the C base of the Python <lib> object (lib.py's FFILibrary).
 *
 * Owns LibBase: an object with an instance dict where lib.py caches what a name
 * resolved to (functions, constants, and global variables as lib.c's GlobalVariable).
 * Its attribute lookup reads that dict first, so `lib.func` costs one dict lookup, as in
 * a compiled module, and `lib.x` of a global one dict lookup and the read of the
 * variable; a name not cached falls back to the normal lookup and then to the
 * subclass's _nffi_getattr(name), which resolves the name from the cdef (and may cache
 * it).  Assignment writes a cached global directly and otherwise asks the subclass's
 * _nffi_setattr(name, value); attributes are never deleted.
 */
#include "nffi_core.h"

typedef struct {
    PyObject_HEAD
    PyObject *dict;
    PyObject *weakreflist;
} LibBaseObject;

static PyObject *str_nffi_getattr;   /* "_nffi_getattr" */
static PyObject *str_nffi_prefix;    /* "_nffi_" */
static PyObject *str_nffi_setattr;   /* "_nffi_setattr" */

static PyObject *libbase_getattro(LibBaseObject *self, PyObject *name)
{
    if (self->dict != NULL && PyUnicode_CheckExact(name)) {
        PyObject *value = PyDict_GetItemWithError(self->dict, name);
        if (value != NULL)
            return Py_IS_TYPE(value, &GlobalVariable_Type) ? nffi_global_read(value)
                                                           : Py_NewRef(value);
        if (PyErr_Occurred())
            return NULL;
    }
    PyObject *value = PyObject_GenericGetAttr((PyObject *)self, name);
    if (value != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return value;
    /* the subclass's own '_nffi_*' names are never C names: one it has not set (an object
       made by __new__ alone) stays an AttributeError instead of re-entering the hook */
    if (PyUnicode_Check(name) && PyUnicode_Tailmatch(name, str_nffi_prefix, 0, 6, -1) == 1)
        return NULL;
    PyErr_Clear();
    /* the hook is looked up on the type, not through this very function: a subclass that
       lacks it gets an AttributeError, not an endless recursion */
    PyObject *hook = PyObject_GetAttr((PyObject *)Py_TYPE(self), str_nffi_getattr);
    if (hook == NULL)
        return NULL;
    value = PyObject_CallFunctionObjArgs(hook, (PyObject *)self, name, NULL);
    Py_DECREF(hook);
    return value;
}

static int libbase_setattro(LibBaseObject *self, PyObject *name, PyObject *value)
{
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete the attribute '%S' of a library",
                     name);
        return -1;
    }
    if (self->dict != NULL && PyUnicode_CheckExact(name)) {
        PyObject *cached = PyDict_GetItemWithError(self->dict, name);
        if (cached != NULL && Py_IS_TYPE(cached, &GlobalVariable_Type))
            return nffi_global_write(cached, value);
        if (cached == NULL && PyErr_Occurred())
            return -1;
    }
    PyObject *args[3] = { (PyObject *)self, name, value };
    PyObject *result = PyObject_VectorcallMethod(str_nffi_setattr, args,
                                                 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_XDECREF(result);
    return result == NULL ? -1 : 0;
}

static int libbase_traverse(LibBaseObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    return 0;
}

static int libbase_clear(LibBaseObject *self)
{
    Py_CLEAR(self->dict);
    return 0;
}

static void libbase_dealloc(LibBaseObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    libbase_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyGetSetDef libbase_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL}
};

static PyTypeObject LibBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.LibBase",
    .tp_basicsize = sizeof(LibBaseObject),
    .tp_dealloc = (destructor)libbase_dealloc,
    .tp_getattro = (getattrofunc)libbase_getattro,
    .tp_setattro = (setattrofunc)libbase_setattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)libbase_traverse,
    .tp_clear = (inquiry)libbase_clear,
    .tp_weaklistoffset = offsetof(LibBaseObject, weakreflist),
    .tp_dictoffset = offsetof(LibBaseObject, dict),
    .tp_getset = libbase_getset,
    .tp_new = PyType_GenericNew,
    .tp_doc = "Base of <lib> objects: attribute access served from the instance dict first.",
};

int nffi_libobject_init(PyObject *module)
{
    str_nffi_getattr = PyUnicode_InternFromString("_nffi_getattr");
    str_nffi_prefix = PyUnicode_InternFromString("_nffi_");
    str_nffi_setattr = PyUnicode_InternFromString("_nffi_setattr");
    if (str_nffi_getattr == NULL || str_nffi_prefix == NULL || str_nffi_setattr == NULL ||
            PyType_Ready(&LibBase_Type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "LibBase", (PyObject *)&LibBase_Type);
}
