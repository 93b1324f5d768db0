/* buffer.c -- ffi.buffer: a Python view of raw C memory.
 *
 * Owns the 'buffer' type: construction from a pointer or array cdata (keeping that cdata
 * alive), the buffer protocol (writable, so memoryview/file.readinto work), len, byte
 * indexing and iteration, [a:b] slicing and slice assignment, and comparison with
 * bytes-like objects.
 */
#include "nffi_core.h"

typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t size;
    PyObject *keepalive;         /* the cdata the memory belongs to */
    PyObject *weakreflist;
} BufferObject;

PyObject *nffi_buffer_new(CDataObject *cd, Py_ssize_t size)
{
    CTypeObject *ct = cd->c_type;
    if (!(ct->ct_flags & (CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "expected a pointer or array cdata, got '%s'",
                     nffi_ctype_name(ct));
        return NULL;
    }
    if (nffi_check_released(cd) < 0)
        return NULL;
    if (size < 0) {
        if (ct->ct_flags & CT_ARRAY)
            size = nffi_cdata_sizeof(cd);
        else if ((ct->ct_item->ct_flags & CT_WITH_VAR_ARRAY) && cd->c_length >= 0)
            size = cd->c_length;
        else
            size = ct->ct_item->ct_size;
        if (size < 0) {
            PyErr_Format(PyExc_TypeError, "ctype '%s' points to items of unknown size",
                         nffi_ctype_name(ct));
            return NULL;
        }
    }
    Py_ssize_t room = nffi_owned_room(cd, cd->c_data);
    if (room >= 0 && size > room) {
        PyErr_Format(PyExc_IndexError, "buffer of %zd bytes past the end of cdata '%s' (%zd "
                     "bytes from there)", size, nffi_ctype_name(ct), room);
        return NULL;
    }
    if (cd->c_data == NULL && size > 0) {
        PyErr_Format(PyExc_RuntimeError, "cannot make a buffer of a NULL cdata '%s'",
                     nffi_ctype_name(ct));
        return NULL;
    }
    BufferObject *b = PyObject_GC_New(BufferObject, &Buffer_Type);
    if (b == NULL)
        return NULL;
    b->data = cd->c_data;
    b->size = size;
    Py_INCREF(cd);
    b->keepalive = (PyObject *)cd;
    b->weakreflist = NULL;
    PyObject_GC_Track(b);
    return (PyObject *)b;
}

static PyObject *buffer_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"cdata", "size", NULL};
    PyObject *cd;
    Py_ssize_t size = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|n:buffer", kwlist, &cd, &size))
        return NULL;
    if (!CData_Check(cd)) {
        PyErr_Format(PyExc_TypeError, "expected a cdata, got %.200s", Py_TYPE(cd)->tp_name);
        return NULL;
    }
    return nffi_buffer_new((CDataObject *)cd, size);
}

static void buffer_dealloc(BufferObject *b)
{
    PyObject_GC_UnTrack(b);
    if (b->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)b);
    Py_XDECREF(b->keepalive);
    PyObject_GC_Del(b);
}

static int buffer_traverse(BufferObject *b, visitproc visit, void *arg)
{
    Py_VISIT(b->keepalive);
    return 0;
}

static int buffer_clear(BufferObject *b)
{
    Py_CLEAR(b->keepalive);
    return 0;
}

/* Whether b's memory may be touched: not after the cdata it belongs to was released (or
 * the collector cleared b in a cycle). */
static int buffer_usable(BufferObject *b)
{
    if (b->keepalive == NULL) {
        PyErr_SetString(PyExc_ValueError, "buffer of a cdata that is gone");
        return -1;
    }
    return nffi_check_released((CDataObject *)b->keepalive);
}

/* An export pins the cdata (view->internal holds the pin): releasing it while a
 * memoryview points at its memory raises, as resizing an exported bytearray does. */
static int buffer_getbuf(BufferObject *b, Py_buffer *view, int flags)
{
    PyObject *pinned;
    if (buffer_usable(b) < 0 || nffi_pin((CDataObject *)b->keepalive, &pinned) < 0)
        return -1;
    if (PyBuffer_FillInfo(view, (PyObject *)b, b->data, b->size, 0, flags) < 0) {
        nffi_unpin(pinned);
        return -1;
    }
    view->internal = pinned;
    return 0;
}

static void buffer_releasebuf(BufferObject *b, Py_buffer *view)
{
    nffi_unpin((PyObject *)view->internal);
}

static PyBufferProcs buffer_as_buffer = {
    .bf_getbuffer = (getbufferproc)buffer_getbuf,
    .bf_releasebuffer = (releasebufferproc)buffer_releasebuf,
};

static Py_ssize_t buffer_length(BufferObject *b)
{
    return b->size;
}

static int normalize_index(BufferObject *b, Py_ssize_t *i)
{
    if (*i < 0)
        *i += b->size;
    if (*i < 0 || *i >= b->size) {
        PyErr_SetString(PyExc_IndexError, "buffer index out of range");
        return -1;
    }
    return 0;
}

static int slice_range(BufferObject *b, PyObject *key, Py_ssize_t *start, Py_ssize_t *stop)
{
    Py_ssize_t step;
    if (PySlice_Unpack(key, start, stop, &step) < 0)
        return -1;
    if (step != 1) {
        PyErr_SetString(PyExc_TypeError, "buffer doesn't support slicing with step != 1");
        return -1;
    }
    PySlice_AdjustIndices(b->size, start, stop, step);
    if (*stop < *start)
        *stop = *start;
    return 0;
}

static PyObject *buffer_item(BufferObject *b, Py_ssize_t i)
{
    if (buffer_usable(b) < 0 || normalize_index(b, &i) < 0)
        return NULL;
    return PyBytes_FromStringAndSize(b->data + i, 1);
}

static PyObject *buffer_subscript(BufferObject *b, PyObject *key)
{
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop;
        if (slice_range(b, key, &start, &stop) < 0 || buffer_usable(b) < 0)
            return NULL;
        return PyBytes_FromStringAndSize(b->data + start, stop - start);
    }
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    return buffer_item(b, i);
}

static int buffer_ass_subscript(BufferObject *b, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "cannot delete buffer items");
        return -1;
    }
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop;
        if (slice_range(b, key, &start, &stop) < 0)
            return -1;
        Py_buffer src;
        PyObject *pinned;   /* the source's buffer export may run user code */
        if (buffer_usable(b) < 0 || nffi_pin((CDataObject *)b->keepalive, &pinned) < 0)
            return -1;
        if (PyObject_GetBuffer(value, &src, PyBUF_SIMPLE) < 0) {
            nffi_unpin(pinned);
            return -1;
        }
        int r = 0;
        if (src.len != stop - start) {
            PyErr_SetString(PyExc_ValueError, "right operand length must match slice length");
            r = -1;
        }
        else
            memmove(b->data + start, src.buf, src.len);
        PyBuffer_Release(&src);
        nffi_unpin(pinned);
        return r;
    }
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if ((i == -1 && PyErr_Occurred()) || normalize_index(b, &i) < 0)
        return -1;
    if (!PyBytes_Check(value) || PyBytes_GET_SIZE(value) != 1) {
        PyErr_Format(PyExc_TypeError, "must assign a bytes of length 1, not %.200s",
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    if (buffer_usable(b) < 0)
        return -1;
    b->data[i] = PyBytes_AS_STRING(value)[0];
    return 0;
}

/* a sequence of 1-byte bytes, as cffi's: iteration and 'in' work */
static PySequenceMethods buffer_as_sequence = {
    .sq_length = (lenfunc)buffer_length,
    .sq_item = (ssizeargfunc)buffer_item,
};

static PyMappingMethods buffer_as_mapping = {
    .mp_length = (lenfunc)buffer_length,
    .mp_subscript = (binaryfunc)buffer_subscript,
    .mp_ass_subscript = (objobjargproc)buffer_ass_subscript,
};

static PyObject *buffer_richcompare(PyObject *a, PyObject *b, int op)
{
    if (buffer_usable((BufferObject *)a) < 0 ||
            (Py_TYPE(b) == &Buffer_Type && buffer_usable((BufferObject *)b) < 0))
        return NULL;
    PyObject *ba = PyBytes_FromStringAndSize(((BufferObject *)a)->data,
                                             ((BufferObject *)a)->size);
    if (ba == NULL)
        return NULL;
    PyObject *bb;
    if (Py_TYPE(b) == &Buffer_Type)
        bb = PyBytes_FromStringAndSize(((BufferObject *)b)->data, ((BufferObject *)b)->size);
    else if (PyObject_CheckBuffer(b))
        bb = PyBytes_FromObject(b);
    else {
        Py_DECREF(ba);
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (bb == NULL) {
        Py_DECREF(ba);
        return NULL;
    }
    PyObject *r = PyObject_RichCompare(ba, bb, op);
    Py_DECREF(ba);
    Py_DECREF(bb);
    return r;
}

static PyObject *buffer_repr(BufferObject *b)
{
    return PyUnicode_FromFormat("<nffi.buffer object at %p of size %zd>", b, b->size);
}

PyTypeObject Buffer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.buffer",
    .tp_basicsize = sizeof(BufferObject),
    .tp_dealloc = (destructor)buffer_dealloc,
    .tp_repr = (reprfunc)buffer_repr,
    .tp_as_mapping = &buffer_as_mapping,
    .tp_as_sequence = &buffer_as_sequence,
    .tp_as_buffer = &buffer_as_buffer,
    .tp_hash = PyObject_HashNotImplemented,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)buffer_traverse,
    .tp_clear = (inquiry)buffer_clear,
    .tp_richcompare = buffer_richcompare,
    .tp_weaklistoffset = offsetof(BufferObject, weakreflist),
    .tp_new = buffer_tp_new,
    .tp_doc = "buffer(cdata, size=-1)\n--\n\n"
              "The raw memory of a pointer or array cdata, as a Python buffer (slicing,\n"
              "bytes(), memoryview()); size defaults to the array's size or the pointed-to\n"
              "item's.",
};

int nffi_buffer_init(PyObject *module)
{
    if (PyType_Ready(&Buffer_Type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "buffer", (PyObject *)&Buffer_Type);
}
