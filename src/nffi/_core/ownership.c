/* ownership.c -- cdata that hold resources other than their inline memory.
 *
 * Owns CDataGC, the garbage-collected subtype of CData used by ffi.gc (a destructor to
 * call), ffi.from_buffer (a Py_buffer held until release), ffi.new_handle (a Python
 * object referenced by a unique void *), and custom allocators (a free function); and
 * ffi.release(), which gives those resources back at a known time, exactly once.
 */
#include "nffi_core.h"

static CDataGCObject *cdatagc_new(CTypeObject *ct, char *data, int flags)
{
    CDataGCObject *gc = (CDataGCObject *)PyType_GenericAlloc(&CDataGC_Type, 0);
    if (gc == NULL)
        return NULL;
    gc->cd.c_type = (CTypeObject *)Py_NewRef(ct);
    gc->cd.c_data = data;
    gc->cd.c_length = -1;
    gc->cd.c_flags = flags;
    return gc;   /* zero-filled, and tracked by the GC already (PyType_GenericAlloc) */
}

/* Give back what the object holds; safe to call more than once. */
static int release_resources(CDataGCObject *gc)
{
    int flags = gc->cd.c_flags;
    if (flags & CD_RELEASED)
        return 0;
    if (gc->gc_pins > 0) {
        PyErr_Format(PyExc_ValueError, "cannot release cdata '%s' while it is in use (a "
                     "write into it is running, or a buffer of it is exported)",
                     nffi_ctype_name(gc->cd.c_type));
        return -1;
    }
    gc->cd.c_flags |= CD_RELEASED;
    if (flags & CD_FROM_BUFFER) {
        PyBuffer_Release(&gc->gc_view);
        Py_CLEAR(gc->gc_object);
        return 0;
    }
    if (flags & (CD_GC_DESTRUCTOR | CD_ALLOCATOR)) {
        PyObject *destructor = gc->gc_destructor, *arg = gc->gc_original;
        gc->gc_destructor = NULL;
        gc->gc_original = NULL;
        int r = 0;
        if (destructor != NULL) {
            PyObject *res = PyObject_CallOneArg(destructor, arg);
            if (res == NULL)
                r = -1;
            Py_XDECREF(res);
        }
        Py_XDECREF(destructor);
        Py_XDECREF(arg);
        return r;
    }
    gc->cd.c_flags &= ~CD_RELEASED;   /* nothing to release: handles */
    return 0;
}

static void cdatagc_dealloc(CDataGCObject *gc)
{
    PyObject_GC_UnTrack(gc);
    /* a chain of these (h = ffi.new_handle(h), p = ffi.gc(p, f)) is freed iteratively, as
       CPython's containers are: recursion would overflow the C stack */
    Py_TRASHCAN_BEGIN(gc, cdatagc_dealloc)
    if (gc->cd.c_weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)gc);
    /* the destructor (Python code) may run: keep any exception being raised meanwhile, and
       report the destructor's own as unraisable, naming the destructor -- never this dying
       object, which the hook would take a new reference to */
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyObject *context = Py_XNewRef(gc->gc_destructor);
    if (release_resources(gc) < 0)
        PyErr_WriteUnraisable(context);
    Py_XDECREF(context);
    PyErr_Restore(type, value, traceback);
    Py_CLEAR(gc->gc_destructor);
    Py_CLEAR(gc->gc_original);
    Py_CLEAR(gc->gc_object);
    Py_CLEAR(gc->cd.c_owner);
    Py_CLEAR(gc->cd.c_type);
    PyObject_GC_Del(gc);
    Py_TRASHCAN_END
}

static int cdatagc_traverse(CDataGCObject *gc, visitproc visit, void *arg)
{
    Py_VISIT(gc->cd.c_owner);
    Py_VISIT(gc->gc_destructor);
    Py_VISIT(gc->gc_original);
    Py_VISIT(gc->gc_object);
    return 0;
}

static PyObject *cdatagc_repr(CDataGCObject *gc)
{
    CDataObject *cd = &gc->cd;
    const char *name = nffi_ctype_name(cd->c_type);
    if (cd->c_flags & CD_HANDLE)
        return PyUnicode_FromFormat("<cdata '%s' handle to %R>", name, gc->gc_object);
    if (cd->c_flags & CD_FROM_BUFFER) {
        if (gc->gc_object == NULL)
            return PyUnicode_FromFormat("<cdata '%s' buffer RELEASED>", name);
        const char *src = Py_TYPE(gc->gc_object)->tp_name;
        if (cd->c_type->ct_flags & CT_ARRAY)
            return PyUnicode_FromFormat("<cdata '%s' buffer len %zd from '%s' object>", name,
                                        nffi_cdata_length(cd), src);
        return PyUnicode_FromFormat("<cdata '%s' buffer from '%s' object>", name, src);
    }
    if (cd->c_flags & CD_OWNS_MEMORY)
        return CData_Type.tp_repr((PyObject *)cd);
    if (cd->c_data == NULL)
        return PyUnicode_FromFormat("<cdata '%s' NULL>", name);
    return PyUnicode_FromFormat("<cdata '%s' %p>", name, cd->c_data);
}

PyTypeObject CDataGC_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CDataGC",
    .tp_basicsize = sizeof(CDataGCObject),
    .tp_itemsize = 0,
    .tp_dealloc = (destructor)cdatagc_dealloc,
    .tp_repr = (reprfunc)cdatagc_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)cdatagc_traverse,
    .tp_base = &CData_Type,
};

/* ---- pins ---------------------------------------------------------------------- */

int nffi_pin(CDataObject *cd, PyObject **pinned)
{
    *pinned = NULL;
    PyObject *owner = nffi_memory_owner(cd);
    if (owner == NULL || Py_TYPE(owner) != &CDataGC_Type)
        return 0;
    if (nffi_check_released((CDataObject *)owner) < 0)
        return -1;
    ((CDataGCObject *)owner)->gc_pins++;
    *pinned = Py_NewRef(owner);
    return 0;
}

void nffi_unpin(PyObject *pinned)
{
    if (pinned != NULL) {
        ((CDataGCObject *)pinned)->gc_pins--;
        Py_DECREF(pinned);
    }
}

/* ---- ffi.gc ---------------------------------------------------------------------- */

static PyObject *gcp(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"cdata", "destructor", "size", NULL};
    CDataObject *orig;
    PyObject *destructor;
    Py_ssize_t size = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O|n:gc", kwlist, &CData_Type, &orig,
                                     &destructor, &size))
        return NULL;
    if (destructor == Py_None) {
        if (Py_TYPE(orig) == &CDataGC_Type && (orig->c_flags & CD_GC_DESTRUCTOR)) {
            /* only the destructor is detached: gc_original may own the memory */
            Py_CLEAR(((CDataGCObject *)orig)->gc_destructor);
            Py_RETURN_NONE;
        }
        PyErr_SetString(PyExc_TypeError, "Can remove destructor only on a object "
                        "previously returned by ffi.gc()");
        return NULL;
    }
    CDataGCObject *gc = cdatagc_new(orig->c_type, orig->c_data, CD_GC_DESTRUCTOR);
    if (gc == NULL)
        return NULL;
    gc->cd.c_length = orig->c_length;
    gc->gc_destructor = Py_NewRef(destructor);
    gc->gc_original = Py_NewRef(orig);
    return (PyObject *)gc;
}

/* ---- ffi.from_buffer ----------------------------------------------------------------- */

static PyObject *from_buffer(PyObject *self, PyObject *args)
{
    CTypeObject *ct;
    PyObject *obj;
    int require_writable = 0;
    if (!PyArg_ParseTuple(args, "O!O|p:from_buffer", &CType_Type, &ct, &obj, &require_writable))
        return NULL;
    if (!(ct->ct_flags & (CT_ARRAY | CT_POINTER))) {
        PyErr_Format(PyExc_TypeError, "expected an array or pointer ctype, got '%s'",
                     nffi_ctype_name(ct));
        return NULL;
    }
    if (PyUnicode_Check(obj)) {
        PyErr_SetString(PyExc_TypeError,
                        "from_buffer() cannot return the address of a unicode object");
        return NULL;
    }
    CDataGCObject *gc = cdatagc_new(ct, NULL, CD_RELEASED);  /* nothing to release yet */
    CDataObject *cd = (CDataObject *)gc;
    Py_buffer *view = gc ? &gc->gc_view : NULL;
    if (gc == NULL || PyObject_GetBuffer(obj, view, require_writable ? PyBUF_WRITABLE
                                                                     : PyBUF_SIMPLE) < 0) {
        Py_XDECREF(gc);
        return NULL;
    }
    cd->c_flags = CD_FROM_BUFFER;
    gc->gc_object = Py_NewRef(obj);
    cd->c_data = view->buf;
    if (ct->ct_flags & CT_ARRAY) {
        Py_ssize_t itemsize = ct->ct_item->ct_size;
        if (ct->ct_length < 0) {
            cd->c_length = itemsize > 0 ? view->len / itemsize : 0;
        }
        else if (view->len < ct->ct_size) {
            PyErr_Format(PyExc_ValueError, "buffer is too small (%zd bytes) for '%s' "
                         "(%zd bytes)", view->len, nffi_ctype_name(ct), ct->ct_size);
            Py_DECREF(cd);
            return NULL;
        }
    }
    return (PyObject *)cd;
}

/* ---- handles ---------------------------------------------------------------------- */

static PyObject *newp_handle(PyObject *self, PyObject *args)
{
    CTypeObject *ct;
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "O!O:newp_handle", &CType_Type, &ct, &obj))
        return NULL;
    if (!(ct->ct_flags & CT_IS_VOID_PTR)) {
        PyErr_Format(PyExc_TypeError, "needs 'void *', got '%s'", nffi_ctype_name(ct));
        return NULL;
    }
    CDataGCObject *gc = cdatagc_new(ct, NULL, CD_HANDLE);
    if (gc == NULL)
        return NULL;
    gc->cd.c_data = (char *)gc;   /* unique while the handle lives */
    gc->gc_object = Py_NewRef(obj);
    return (PyObject *)gc;
}

static PyObject *from_handle(PyObject *self, PyObject *arg)
{
    if (!CData_Check(arg) || !(((CDataObject *)arg)->c_type->ct_flags &
                               (CT_POINTER | CT_ARRAY))) {
        PyErr_SetString(PyExc_TypeError, "expected a 'cdata' object with a 'void *' out of "
                        "new_handle()");
        return NULL;
    }
    CDataObject *handle = (CDataObject *)((CDataObject *)arg)->c_data;
    if (handle == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "cannot use from_handle() on NULL pointer");
        return NULL;
    }
    /* a dead or foreign pointer here is undefined behaviour, as the reference says;
       check what can be checked cheaply, and read nothing of memory nffi knows is not a
       handle (ffi.new, allocator and from_buffer memory: it may be smaller than one) */
    CDataObject *cd = (CDataObject *)arg;
    if (nffi_owned_room(cd, (char *)handle) >= 0 ||
            (Py_TYPE(cd) == &CDataGC_Type && (cd->c_flags & CD_FROM_BUFFER)) || Py_TYPE(handle) != &CDataGC_Type || !(handle->c_flags & CD_HANDLE) ||
            handle->c_data != (char *)handle) {
        PyErr_SetString(PyExc_RuntimeError, "from_handle(): not a live handle from "
                        "new_handle()");
        return NULL;
    }
    return Py_NewRef(((CDataGCObject *)handle)->gc_object);
}

/* ---- custom allocators ------------------------------------------------------------ */

/* newp_allocated(ct, init, alloc, free, clear): ffi.new_allocator()(ct, init) with a
 * Python or C 'alloc' returning a cdata pointer; 'free' (may be None) is called with
 * that cdata when the result dies or is released. */
static PyObject *newp_allocated(PyObject *self, PyObject *args)
{
    CTypeObject *ct;
    PyObject *init, *alloc, *free_fn;
    int clear;
    if (!PyArg_ParseTuple(args, "O!OOOp:newp_allocated", &CType_Type, &ct, &init, &alloc,
                          &free_fn, &clear))
        return NULL;
    NewPlan plan;
    if (nffi_plan_new(ct, init, &plan) < 0)
        return NULL;
    PyObject *raw = PyObject_CallFunction(alloc, "n", plan.datasize);
    if (raw == NULL)
        return NULL;
    /* cffi's two messages, word for word */
    if (!CData_Check(raw)) {
        PyErr_Format(PyExc_TypeError, "alloc() must return a cdata object (got %.200s)",
                     Py_TYPE(raw)->tp_name);
        Py_DECREF(raw);
        return NULL;
    }
    if (!(((CDataObject *)raw)->c_type->ct_flags & (CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "alloc() must return a cdata pointer, not '%s'",
                     nffi_ctype_name(((CDataObject *)raw)->c_type));
        Py_DECREF(raw);
        return NULL;
    }
    char *memory = ((CDataObject *)raw)->c_data;
    if (memory == NULL) {
        Py_DECREF(raw);
        /* say who failed: a bare MemoryError would suggest Python itself ran out */
        PyErr_SetString(PyExc_MemoryError, "alloc() returned NULL");
        return NULL;
    }
    CDataGCObject *gc = cdatagc_new(ct, memory, CD_ALLOCATOR);
    if (gc == NULL) {
        Py_DECREF(raw);
        return NULL;
    }
    gc->gc_original = raw;                     /* the reference is moved here */
    if (free_fn != Py_None)
        gc->gc_destructor = Py_NewRef(free_fn);
    if (clear)
        memset(memory, 0, plan.datasize);
    if (nffi_fill_new(&gc->cd, ct, &plan) < 0) {
        Py_DECREF(gc);
        return NULL;
    }
    return (PyObject *)gc;
}

/* ---- release ------------------------------------------------------------------------ */

/* Only what ffi.new(), ffi.gc(), ffi.from_buffer() or an allocator returned may be
 * released or used in a 'with' block, as in cffi. */
int nffi_check_releasable(CDataObject *cd)
{
    if (Py_TYPE(cd) == &CDataGC_Type && !(cd->c_flags & CD_HANDLE))
        return 0;
    if ((cd->c_flags & CD_OWNS_MEMORY) && (cd->c_type->ct_flags & (CT_POINTER | CT_ARRAY)))
        return 0;
    PyErr_SetString(PyExc_ValueError, "only 'cdata' object from ffi.new(), ffi.gc(), "
                    "ffi.from_buffer() or ffi.new_allocator()() can be used with the 'with' "
                    "keyword or ffi.release()");
    return -1;
}

int nffi_release(CDataObject *cd)
{
    if (nffi_check_releasable(cd) < 0)
        return -1;
    if (Py_TYPE(cd) == &CDataGC_Type)
        return release_resources((CDataGCObject *)cd);
    return 0;
}

static PyObject *release(PyObject *self, PyObject *arg)
{
    if (!CData_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "expected a cdata, got %.200s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (nffi_release((CDataObject *)arg) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef ownership_functions[] = {
    {"gcp", (PyCFunction)(void (*)(void))gcp, METH_VARARGS | METH_KEYWORDS, NULL},
    {"from_buffer", from_buffer, METH_VARARGS, NULL},
    {"newp_handle", newp_handle, METH_VARARGS, NULL},
    {"from_handle", from_handle, METH_O, NULL},
    {"release", release, METH_O, NULL},
    {"newp_allocated", newp_allocated, METH_VARARGS, NULL},
    {NULL}
};

int nffi_ownership_init(PyObject *module)
{
    if (PyType_Ready(&CDataGC_Type) < 0)
        return -1;
    return PyModule_AddFunctions(module, ownership_functions);
}
