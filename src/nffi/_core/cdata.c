/* cdata.c -- the cdata objects: creation, ownership, and every operation on them.
 *
 * Owns: allocation of owned memory inline in the object (ffi.new), views into memory
 * owned by another object (kept alive through c_owner), casts, repr, comparison and
 * hashing, number conversions, indexing and slicing, pointer arithmetic, struct field
 * access, iteration, ffi.string / ffi.unpack, and the release of owned resources.
 */
#include "nffi_core.h"
#include <math.h>

/* ---- allocation ------------------------------------------------------------------- */

static CDataObject *cdata_alloc(PyTypeObject *type, CTypeObject *ct, Py_ssize_t inline_size)
{
    CDataObject *cd;
    if (inline_size > PY_SSIZE_T_MAX - (Py_ssize_t)CDATA_INLINE_OFFSET - 16) {
        PyErr_NoMemory();
        return NULL;
    }
    /* tp_itemsize is 1: the object holds CDATA_INLINE_OFFSET - basicsize padding bytes
       plus inline_size bytes of C data */
    Py_ssize_t nitems = (Py_ssize_t)(CDATA_INLINE_OFFSET - sizeof(CDataObject)) + inline_size;
    if (type == &CData_Type) {
        /* rounded up to the allocator's 16-byte granularity with the slack zeroed: a
           string read that runs past the data (ffi.string of a 'char *' to one char,
           which cffi's tests do) meets a NUL, not what the block held before */
        size_t used = CDATA_INLINE_OFFSET + (size_t)inline_size;
        size_t total = (used + 15) & ~(size_t)15;
        cd = (CDataObject *)PyObject_Malloc(total);
        if (cd == NULL)
            return (CDataObject *)PyErr_NoMemory();
        if (total > used)                    /* (views: no inline data, no slack) */
            memset((char *)cd + used, 0, total - used);
        PyObject_InitVar((PyVarObject *)cd, type, nitems);
    }
    else {
        cd = (CDataObject *)type->tp_alloc(type, nitems);
        if (cd == NULL)
            return NULL;
    }
    Py_INCREF(ct);
    cd->c_type = ct;
    cd->c_data = CDATA_INLINE(cd);
    cd->c_owner = NULL;
    cd->c_weakreflist = NULL;
    cd->c_length = -1;
    cd->c_flags = 0;
    return cd;
}

static Py_ssize_t cdata_inline_size(CDataObject *cd)
{
    return Py_SIZE(cd) - (Py_ssize_t)(CDATA_INLINE_OFFSET - sizeof(CDataObject));
}

CDataObject *nffi_cdata_new_view(CTypeObject *ct, char *data, PyObject *owner)
{
    if (ct->ct_flags & CT_FUNCTIONPTR)
        return nffi_function_new(ct, data, owner);
    CDataObject *cd = cdata_alloc(&CData_Type, ct, 0);
    if (cd == NULL)
        return NULL;
    cd->c_data = data;
    Py_XINCREF(owner);
    cd->c_owner = owner;
    cd->c_flags = nffi_owner_flags(owner);
    return cd;
}

CDataObject *nffi_cdata_new_owned(CTypeObject *ct, Py_ssize_t datasize, int zero)
{
    CDataObject *cd = cdata_alloc(&CData_Type, ct, datasize);
    if (cd == NULL)
        return NULL;
    if (zero)
        memset(cd->c_data, 0, datasize);
    cd->c_flags = CD_OWNS_MEMORY;
    return cd;
}

CDataObject *nffi_cdata_new_value(CTypeObject *ct)
{
    CDataObject *cd = cdata_alloc(&CData_Type, ct, ct->ct_size > 0 ? ct->ct_size : 0);
    if (cd != NULL && ct->ct_size > 0 && ct->ct_size <= 8)
        memset(cd->c_data, 0, 8);            /* one store: the block is rounded to 16 */
    else if (cd != NULL && ct->ct_size > 0)
        memset(cd->c_data, 0, ct->ct_size);
    return cd;
}

/* The object whose life keeps cd's memory valid, for views derived from cd: cd itself
 * when it owns the memory (ffi.new) or holds what keeps it valid (from_buffer: the
 * buffer; an allocator: the allocation, freed when it dies).  Through an ffi.gc() wrapper,
 * what views of its original keep (the wrapper is skipped: its destructor, often a closure
 * over the views' own scope, would make a cycle through views, which the collector does
 * not see); a wrapper already released stands for itself, so its views raise. */
PyObject *nffi_memory_owner(CDataObject *cd)
{
    while (Py_TYPE(cd) == &CDataGC_Type && (cd->c_flags & CD_GC_DESTRUCTOR) &&
           ((CDataGCObject *)cd)->gc_original != NULL)
        cd = (CDataObject *)((CDataGCObject *)cd)->gc_original;   /* iterative: chains */
    if ((cd->c_flags & CD_OWNS_MEMORY) ||
            (Py_TYPE(cd) == &CDataGC_Type && !(cd->c_flags & CD_HANDLE)))
        return (PyObject *)cd;
    return cd->c_owner;
}

static void cdata_dealloc(CDataObject *cd)
{
    if (cd->c_weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)cd);
    Py_DECREF(cd->c_type);
    Py_XDECREF(cd->c_owner);
    PyObject_Free(cd);
}

int nffi_check_released_slow(CDataObject *cd)
{
    /* a view (p + 1, p[0:2], p.field) of released memory is released too */
    PyObject *owner = cd->c_owner;
    if (owner != NULL && !CData_Check(owner) && nffi_library_check_open(owner) < 0)
        return -1;    /* a global of a library closed since: its memory is unmapped */
    if ((cd->c_flags & CD_RELEASED) || (owner != NULL && CData_Check(owner) &&
                                        (((CDataObject *)owner)->c_flags & CD_RELEASED))) {
        PyErr_Format(PyExc_ValueError, "cdata '%s' has been released",
                     nffi_ctype_name(cd->c_type));
        return -1;
    }
    return 0;
}

/* ---- lengths and sizes ------------------------------------------------------------- */

Py_ssize_t nffi_cdata_length(CDataObject *cd)
{
    if (!(cd->c_type->ct_flags & CT_ARRAY))
        return -1;
    if (cd->c_length >= 0)
        return cd->c_length;
    return cd->c_type->ct_length;
}

Py_ssize_t nffi_cdata_sizeof(CDataObject *cd)
{
    CTypeObject *ct = cd->c_type;
    if (ct->ct_flags & CT_ARRAY) {
        Py_ssize_t n = nffi_cdata_length(cd);
        if (n >= 0)
            return n * ct->ct_item->ct_size;
    }
    if ((ct->ct_flags & CT_WITH_VAR_ARRAY) && cd->c_length >= 0)
        return cd->c_length;
    return ct->ct_size;
}

/* ---- ffi.new ------------------------------------------------------------------------- */

/* Extra bytes a struct ending in 'T x[]' needs to hold the initializer's last item. */
static Py_ssize_t var_struct_size(CTypeObject *st, PyObject *init)
{
    Py_ssize_t nfields = PyTuple_GET_SIZE(st->ct_init_fields);
    if (nfields == 0)
        return st->ct_size;
    CFieldObject *last = (CFieldObject *)PyTuple_GET_ITEM(st->ct_init_fields, nfields - 1);
    PyObject *value = NULL;
    if ((PyList_Check(init) || PyTuple_Check(init)) &&
            PySequence_Fast_GET_SIZE(init) == nfields)
        value = PySequence_Fast_GET_ITEM(init, nfields - 1);
    else if (PyDict_Check(init))
        value = PyDict_GetItemWithError(init, last->cf_name);
    if (value == NULL)
        return PyErr_Occurred() ? -1 : st->ct_size;
    CTypeObject *arr = last->cf_type;
    if (arr->ct_flags & CT_WITH_VAR_ARRAY) {       /* a nested variable-size struct */
        Py_ssize_t inner = var_struct_size(arr, value);
        if (inner < 0)
            return -1;
        Py_ssize_t needed = last->cf_offset + inner;
        return needed > st->ct_size ? needed : st->ct_size;
    }
    if (!(arr->ct_flags & CT_ARRAY) || arr->ct_length >= 0)
        return st->ct_size;
    Py_ssize_t n = nffi_initializer_length(arr, value);
    if (n < 0)
        return -1;
    Py_ssize_t itemsize = arr->ct_item->ct_size;
    if (itemsize > 0 && n > (PY_SSIZE_T_MAX - last->cf_offset) / itemsize) {
        PyErr_SetString(PyExc_OverflowError, "array size would overflow a ssize_t");
        return -1;
    }
    Py_ssize_t needed = last->cf_offset + n * itemsize;
    return needed > st->ct_size ? needed : st->ct_size;
}

/* Decide the memory ffi.new(ct, init) needs: the byte size, the item count of a 'T[]',
 * and the initializer left to apply (an integer initializer only gives a length). */
int nffi_plan_new(CTypeObject *ct, PyObject *init, NewPlan *plan)
{
    plan->init = init;
    plan->length = -1;
    if (ct->ct_flags & CT_POINTER) {
        CTypeObject *item = ct->ct_item;
        if (item->ct_size < 0) {
            PyErr_Format(PyExc_TypeError, "cannot instantiate ctype '%s' of unknown size",
                         nffi_ctype_name(item));
            return -1;
        }
        plan->datasize = item->ct_size;
        if ((item->ct_flags & CT_WITH_VAR_ARRAY) && init != Py_None) {
            plan->datasize = var_struct_size(item, init);
            if (plan->datasize < 0)
                return -1;
        }
        return 0;
    }
    if (!(ct->ct_flags & CT_ARRAY)) {
        PyErr_Format(PyExc_TypeError, "expected a pointer or array ctype, got '%s'",
                     nffi_ctype_name(ct));
        return -1;
    }
    Py_ssize_t itemsize = ct->ct_item->ct_size;
    if (ct->ct_length >= 0) {
        plan->datasize = ct->ct_size;
        return 0;
    }
    Py_ssize_t length = nffi_initializer_length(ct, init);
    if (length < 0)
        return -1;
    if (PyLong_Check(init) || !PySequence_Check(init))
        plan->init = Py_None;
    if (itemsize > 0 && length > PY_SSIZE_T_MAX / itemsize) {
        PyErr_SetString(PyExc_OverflowError, "array size would overflow a ssize_t");
        return -1;
    }
    plan->length = length;
    plan->datasize = length * itemsize;
    return 0;
}

/* Apply a plan to freshly allocated memory cd->c_data (already zeroed if wanted). */
int nffi_fill_new(CDataObject *cd, CTypeObject *ct, NewPlan *plan)
{
    if (ct->ct_flags & CT_POINTER) {
        CTypeObject *item = ct->ct_item;
        if (item->ct_flags & CT_WITH_VAR_ARRAY)
            cd->c_length = plan->datasize;
        if (plan->init != Py_None)
            return nffi_convert_from_object_room(cd->c_data, item, plan->init,
                                                 plan->datasize);
        return 0;
    }
    cd->c_length = plan->length;
    if (plan->init != Py_None) {
        Py_ssize_t length = plan->length >= 0 ? plan->length : ct->ct_length;
        return nffi_convert_array_from_object(cd->c_data, ct, plan->init, length);
    }
    return 0;
}

PyObject *nffi_newp(CTypeObject *ct, PyObject *init, int zero)
{
    NewPlan plan;
    if (nffi_plan_new(ct, init, &plan) < 0)
        return NULL;
    CDataObject *cd = nffi_cdata_new_owned(ct, plan.datasize, zero);
    if (cd == NULL)
        return NULL;
    if (ct->ct_flags & CT_POINTER)
        cd->c_flags |= CD_PTR_TO_OWNED;
    if (nffi_fill_new(cd, ct, &plan) < 0) {
        Py_DECREF(cd);
        return NULL;
    }
    return (PyObject *)cd;
}

/* ---- ffi.cast ------------------------------------------------------------------------ */

/* The wrapping policy of the conversion engine (convert.c): a primitive cdata holds the
 * value; a pointer-like one the address; the engine refuses anything else. */
PyObject *nffi_cast(CTypeObject *ct, PyObject *value)
{
    int is_cdata = !PyLong_CheckExact(value) && CData_Check(value);   /* (ints: no MRO walk) */
    if (is_cdata && nffi_check_released((CDataObject *)value) < 0)
        return NULL;
    /* a pointer to a pointer type (a callback's 'void *' argument to 'int *'): the same
       address (what the engine does with it), without the engine's dispatch */
    if ((ct->ct_flags & CT_POINTER) && is_cdata &&
            (((CDataObject *)value)->c_type->ct_flags & CT_POINTER_LIKE))
        return (PyObject *)nffi_cdata_new_view(ct, ((CDataObject *)value)->c_data, NULL);
    if (!(ct->ct_flags & CT_PRIMITIVE_ANY)) {
        char *address;
        if (nffi_convert((char *)&address, ct, value, NFFI_CONV_CAST, NULL) < 0)
            return NULL;
        return (PyObject *)nffi_cdata_new_view(ct, address, NULL);
    }
    CDataObject *cd = nffi_cdata_new_value(ct);
    if (cd != NULL && nffi_convert(cd->c_data, ct, value, NFFI_CONV_CAST, NULL) < 0)
        Py_CLEAR(cd);
    return (PyObject *)cd;
}

/* ---- repr ------------------------------------------------------------------------- */

static PyObject *primitive_value_repr(CDataObject *cd)
{
    CTypeObject *ct = cd->c_type;
    if (ct->ct_flags & CT_IS_LONGDOUBLE) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%LE", nffi_read_longdouble(cd->c_data));
        return PyUnicode_FromString(buf);
    }
    PyObject *value = nffi_convert_to_object(cd->c_data, ct, NULL);
    if (value == NULL)
        return NULL;
    PyObject *r = PyObject_Repr(value);
    if (r != NULL && (ct->ct_flags & CT_IS_ENUM)) {
        PyObject *name = PyDict_GetItemWithError(ct->ct_enum_names, value);
        if (name != NULL) {
            Py_SETREF(r, PyUnicode_FromFormat("%U: %U", r, name));
        }
    }
    Py_DECREF(value);
    return r;
}

static PyObject *cdata_repr(CDataObject *cd)
{
    CTypeObject *ct = cd->c_type;
    const char *name = nffi_ctype_name(ct);
    if (cd->c_flags & CD_OWNS_MEMORY)
        return PyUnicode_FromFormat("<cdata '%s' owning %zd bytes>", name,
                                    cdata_inline_size(cd));
    if ((ct->ct_flags & CT_STRUCT_OR_UNION) && cd->c_owner != NULL &&
            CData_Check(cd->c_owner) &&
            (((CDataObject *)cd->c_owner)->c_flags & CD_PTR_TO_OWNED) &&
            ((CDataObject *)cd->c_owner)->c_data == cd->c_data)
        return PyUnicode_FromFormat("<cdata '%s' owning %zd bytes>", name,
                                    cdata_inline_size((CDataObject *)cd->c_owner));
    if (ct->ct_flags & (CT_PRIMITIVE_ANY)) {
        PyObject *value = primitive_value_repr(cd);
        if (value == NULL)
            return NULL;
        PyObject *r = PyUnicode_FromFormat("<cdata '%s' %U>", name, value);
        Py_DECREF(value);
        return r;
    }
    if (ct->ct_flags & CT_STRUCT_OR_UNION)
        return PyUnicode_FromFormat("<cdata '%s &' %p>", name, cd->c_data);
    if ((ct->ct_flags & CT_ARRAY) && cd->c_length >= 0)
        return PyUnicode_FromFormat("<cdata '%s' sliced length %zd>", name, cd->c_length);
    if (cd->c_data == NULL)
        return PyUnicode_FromFormat("<cdata '%s' NULL>", name);
    return PyUnicode_FromFormat("<cdata '%s' %p>", name, cd->c_data);
}

/* ---- numbers ---------------------------------------------------------------------- */

static PyObject *cdata_int(CDataObject *cd)
{
    CTypeObject *ct = cd->c_type;
    if (nffi_value_signed(ct)) {
        return PyLong_FromLongLong(nffi_read_signed(cd->c_data, ct->ct_size));
    }
    if (ct->ct_flags & (CT_PRIMITIVE_UNSIGNED | CT_PRIMITIVE_CHAR)) {
        return PyLong_FromUnsignedLongLong(nffi_read_unsigned(cd->c_data, ct->ct_size));
    }
    if (ct->ct_flags & CT_PRIMITIVE_FLOAT) {
        if (ct->ct_flags & CT_IS_LONGDOUBLE) {
            long double x = nffi_read_longdouble(cd->c_data);
            if (x >= -9.2e18L && x <= 9.2e18L)
                return PyLong_FromLongLong((long long)x);
        }
        return PyLong_FromDouble(nffi_read_float(cd->c_data, ct));
    }
    PyErr_Format(PyExc_TypeError, "int() not supported on cdata '%s'", nffi_ctype_name(ct));
    return NULL;
}

static PyObject *cdata_float(CDataObject *cd)
{
    CTypeObject *ct = cd->c_type;
    if (ct->ct_flags & CT_PRIMITIVE_FLOAT)
        return PyFloat_FromDouble(nffi_read_float(cd->c_data, ct));
    PyErr_Format(PyExc_TypeError, "float() not supported on cdata '%s'", nffi_ctype_name(ct));
    return NULL;
}

static int cdata_bool(CDataObject *cd)
{
    CTypeObject *ct = cd->c_type;
    if (ct->ct_flags & CT_PRIMITIVE_FLOAT) {
        if (ct->ct_flags & CT_IS_LONGDOUBLE)
            return nffi_read_longdouble(cd->c_data) != 0.0L;
        return nffi_read_float(cd->c_data, ct) != 0.0;
    }
    if (ct->ct_flags & (CT_PRIMITIVE_INTEGER | CT_PRIMITIVE_CHAR)) {
        return nffi_read_unsigned(cd->c_data, ct->ct_size) != 0;
    }
    if (ct->ct_flags & CT_PRIMITIVE_COMPLEX) {
        PyObject *v = nffi_convert_to_object(cd->c_data, ct, NULL);
        if (v == NULL)
            return -1;
        int r = PyObject_IsTrue(v);
        Py_DECREF(v);
        return r;
    }
    if (ct->ct_flags & (CT_POINTER | CT_FUNCTIONPTR))
        return cd->c_data != NULL;
    return 1;
}

static PyObject *cdata_complex(CDataObject *cd, PyObject *noargs)
{
    CTypeObject *ct = cd->c_type;
    if (ct->ct_flags & CT_PRIMITIVE_COMPLEX)
        return nffi_convert_to_object(cd->c_data, ct, NULL);
    PyErr_Format(PyExc_TypeError, "complex() not supported on cdata '%s'", nffi_ctype_name(ct));
    return NULL;
}

/* The pointer type of the items reachable by arithmetic on a pointer or array. */
static CTypeObject *arith_pointer_type(CTypeObject *ct)
{
    if (ct->ct_flags & CT_POINTER) {
        Py_INCREF(ct);
        return ct;
    }
    return nffi_new_pointer_type(ct->ct_item);
}

static Py_ssize_t item_size_for_arith(CDataObject *cd)
{
    CTypeObject *item = cd->c_type->ct_item;
    if (item->ct_flags & CT_VOID)
        return 1;   /* cffi treats 'void *' arithmetic as byte-sized, as gcc does */
    if (item->ct_size < 0) {
        PyErr_Format(PyExc_TypeError, "ctype '%s' points to items of unknown size",
                     nffi_ctype_name(cd->c_type));
        return -1;
    }
    return item->ct_size;
}

static PyObject *pointer_add(CDataObject *cd, PyObject *offsetobj, int sign)
{
    if (!(cd->c_type->ct_flags & (CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "cannot add a cdata '%s' and a number",
                     nffi_ctype_name(cd->c_type));
        return NULL;
    }
    if (nffi_check_released(cd) < 0)
        return NULL;
    Py_ssize_t offset = PyNumber_AsSsize_t(offsetobj, PyExc_OverflowError);
    if (offset == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t itemsize = item_size_for_arith(cd);
    if (itemsize < 0)
        return NULL;
    CTypeObject *ptrtype = arith_pointer_type(cd->c_type);
    if (ptrtype == NULL)
        return NULL;
    char *address = sign > 0 ? nffi_item_address(cd->c_data, offset, itemsize)
                             : nffi_item_address(cd->c_data, -(uintptr_t)offset, itemsize);
    PyObject *r = (PyObject *)nffi_cdata_new_view(ptrtype, address, nffi_memory_owner(cd));
    Py_DECREF(ptrtype);
    return r;
}

static int is_index_like(PyObject *obj)
{
    return PyLong_Check(obj) || (!CData_Check(obj) && PyIndex_Check(obj));
}

static PyObject *cdata_add(PyObject *a, PyObject *b)
{
    if (CData_Check(a) && is_index_like(b))
        return pointer_add((CDataObject *)a, b, 1);
    if (CData_Check(b) && is_index_like(a))
        return pointer_add((CDataObject *)b, a, 1);
    if (CData_Check(a) && !(((CDataObject *)a)->c_type->ct_flags & (CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "cannot add a cdata '%s' and a number",
                     nffi_ctype_name(((CDataObject *)a)->c_type));
        return NULL;
    }
    Py_RETURN_NOTIMPLEMENTED;
}

/* p - q, as cffi: q may be an array (it decays to its pointer type), p must be a pointer
   of exactly that type, and the distance must be a whole number of items. */
static PyObject *pointer_difference(CDataObject *p, CDataObject *q)
{
    CTypeObject *pt = p->c_type, *qt = q->c_type;
    int same_type = (pt->ct_flags & CT_POINTER) &&
        (qt == pt || ((qt->ct_flags & CT_ARRAY) && qt->ct_item == pt->ct_item));
    Py_ssize_t itemsize = !same_type ? 0
        : (pt->ct_item->ct_flags & CT_VOID) ? 1 : pt->ct_item->ct_size;
    if (itemsize <= 0) {        /* also when the types differ */
        /* named as cffi does: an array operand by the pointer type it decays to */
        CTypeObject *shown = (qt->ct_flags & CT_ARRAY) ? nffi_new_pointer_type(qt->ct_item)
                                                       : (CTypeObject *)Py_NewRef(qt);
        if (shown != NULL) {
            PyErr_Format(PyExc_TypeError, "cannot subtract cdata '%s' and cdata '%s'",
                         nffi_ctype_name(pt), nffi_ctype_name(shown));
            Py_DECREF(shown);
        }
        return NULL;
    }
    Py_ssize_t distance = (Py_ssize_t)((uintptr_t)p->c_data - (uintptr_t)q->c_data);
    if (distance % itemsize != 0) {
        PyErr_SetString(PyExc_ValueError, "pointer subtraction: the distance between the two "
                        "pointers is not a multiple of the item size");
        return NULL;
    }
    return PyLong_FromSsize_t(distance / itemsize);
}

static PyObject *cdata_sub(PyObject *a, PyObject *b)
{
    if (!CData_Check(a))
        Py_RETURN_NOTIMPLEMENTED;
    if (CData_Check(b))
        return pointer_difference((CDataObject *)a, (CDataObject *)b);
    if (is_index_like(b))
        return pointer_add((CDataObject *)a, b, -1);
    Py_RETURN_NOTIMPLEMENTED;
}

static PyNumberMethods cdata_as_number = {
    .nb_add = cdata_add,
    .nb_subtract = cdata_sub,
    .nb_bool = (inquiry)cdata_bool,
    .nb_int = (unaryfunc)cdata_int,
    .nb_float = (unaryfunc)cdata_float,
};

/* ---- comparison and hashing --------------------------------------------------------- */

static int is_primitive(CDataObject *cd)
{
    return (cd->c_type->ct_flags & CT_PRIMITIVE_ANY) != 0;
}

/* The Python value of a primitive cdata, for comparisons and hashing. */
static PyObject *primitive_value(CDataObject *cd)
{
    if (cd->c_type->ct_flags & CT_IS_LONGDOUBLE)
        return PyFloat_FromDouble((double)nffi_read_longdouble(cd->c_data));
    return nffi_convert_to_object(cd->c_data, cd->c_type, NULL);
}

static PyObject *cdata_richcompare(PyObject *a, PyObject *b, int op)
{
    CDataObject *cda = (CDataObject *)a;
    if (is_primitive(cda) || (CData_Check(b) && is_primitive((CDataObject *)b))) {
        PyObject *va = CData_Check(a) && is_primitive((CDataObject *)a)
            ? primitive_value((CDataObject *)a) : (Py_INCREF(a), a);
        PyObject *vb = CData_Check(b) && is_primitive((CDataObject *)b)
            ? primitive_value((CDataObject *)b) : (Py_INCREF(b), b);
        PyObject *r = NULL;
        if (va && vb) {
            if (CData_Check(va) || CData_Check(vb))
                r = (op == Py_EQ) ? Py_NewRef(Py_False) :
                    (op == Py_NE) ? Py_NewRef(Py_True) : Py_NewRef(Py_NotImplemented);
            else
                r = PyObject_RichCompare(va, vb, op);
        }
        Py_XDECREF(va);
        Py_XDECREF(vb);
        return r;
    }
    if (!CData_Check(b))
        Py_RETURN_NOTIMPLEMENTED;
    CDataObject *cdb = (CDataObject *)b;
    /* pointers and other non-primitives compare by address */
    char *x = cda->c_data, *y = cdb->c_data;
    int result;
    switch (op) {
    case Py_EQ: result = x == y; break;
    case Py_NE: result = x != y; break;
    case Py_LT: result = x < y; break;
    case Py_LE: result = x <= y; break;
    case Py_GT: result = x > y; break;
    default: result = x >= y; break;
    }
    return PyBool_FromLong(result);
}

/* The hash of an address, as CPython hashes pointers (its Py_HashPointer is public only
 * from 3.13): rotated by 4 bits, since addresses are aligned, and never -1. */
static Py_hash_t hash_pointer(const void *p)
{
    size_t y = (size_t)p;
    y = (y >> 4) | (y << (8 * sizeof(y) - 4));
    Py_hash_t h = (Py_hash_t)y;
    return h == -1 ? -2 : h;
}

static Py_hash_t cdata_hash(CDataObject *cd)
{
    if (is_primitive(cd)) {
        PyObject *v = primitive_value(cd);
        if (v == NULL)
            return -1;
        Py_hash_t h = PyObject_Hash(v);
        Py_DECREF(v);
        return h;
    }
    return hash_pointer(cd->c_data);
}

/* ---- indexing ------------------------------------------------------------------------ */

static char *item_address(CDataObject *cd, Py_ssize_t i)
{
    CTypeObject *ct = cd->c_type;
    if (!(ct->ct_flags & (CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' cannot be indexed",
                     nffi_ctype_name(ct));
        return NULL;
    }
    if (ct->ct_flags & CT_ARRAY) {
        if (i < 0) {
            PyErr_SetString(PyExc_IndexError, "negative index");
            return NULL;
        }
        Py_ssize_t length = nffi_cdata_length(cd);
        if (length >= 0 && i >= length) {
            PyErr_Format(PyExc_IndexError, "index too large for cdata '%s' (expected %zd < %zd)",
                         nffi_ctype_name(ct), i, length);
            return NULL;
        }
    }
    else if ((cd->c_flags & CD_PTR_TO_OWNED) && i != 0) {
        /* the owned memory holds exactly one item */
        PyErr_Format(PyExc_IndexError, "cdata '%s' owning one item can only be indexed by 0",
                     nffi_ctype_name(ct));
        return NULL;
    }
    CTypeObject *item = ct->ct_item;
    if (cd->c_data == NULL) {    /* checked first, as cffi: ffi.NULL[0] is a RuntimeError */
        PyErr_Format(PyExc_RuntimeError, "cannot dereference null pointer from cdata '%s'",
                     nffi_ctype_name(ct));
        return NULL;
    }
    if (item->ct_size < 0) {
        PyErr_Format(PyExc_TypeError, "cdata '%s' is opaque", nffi_ctype_name(item));
        return NULL;
    }
    if (nffi_check_released(cd) < 0)
        return NULL;
    return nffi_item_address(cd->c_data, i, item->ct_size);
}

/* The bytes usable at data inside cd's memory: up to the end of the ffi.new() (or
 * allocator) allocation or from_buffer() buffer that memory belongs to, also through an
 * ffi.gc() wrapper of it; or -1 (unknown, unchecked as in C) for memory from C. */
Py_ssize_t nffi_owned_room(CDataObject *cd, char *data)
{
    CDataObject *owner = (CDataObject *)nffi_memory_owner(cd);
    if (owner == NULL || !(owner->c_flags & (CD_OWNS_MEMORY | CD_ALLOCATOR | CD_FROM_BUFFER)))
        return -1;
    CTypeObject *ct = owner->c_type;
    Py_ssize_t size;
    if (owner->c_flags & CD_FROM_BUFFER)
        size = ((CDataGCObject *)owner)->gc_view.len;
    else if (ct->ct_flags & CT_POINTER)      /* ffi.new("T *"): one T, or a var-size struct */
        size = ((ct->ct_item->ct_flags & CT_WITH_VAR_ARRAY) && owner->c_length >= 0)
            ? owner->c_length : ct->ct_item->ct_size;
    else                                     /* an array, or a value (a struct result) */
        size = nffi_cdata_sizeof(owner);
    if (size < 0)
        return -1;
    if (data < owner->c_data || data > owner->c_data + size)
        return -1;
    return owner->c_data + size - data;
}

static PyObject *cdata_item(CDataObject *cd, Py_ssize_t i)
{
    char *p = item_address(cd, i);
    if (p == NULL)
        return NULL;
    CTypeObject *item = cd->c_type->ct_item;
    if (nffi_is_plain_integer(item))
        return nffi_integer_to_object(p, item);
    PyObject *r = nffi_convert_to_object(p, item, nffi_memory_owner(cd));
    /* p[0] of ffi.new("struct with_flexible_array *", ...) knows its allocated size */
    if (r != NULL && i == 0 && (item->ct_flags & CT_WITH_VAR_ARRAY) &&
            (cd->c_type->ct_flags & CT_POINTER) && cd->c_length >= 0)
        ((CDataObject *)r)->c_length = cd->c_length;
    return r;
}

/* Whether converting value may call Python code (its __int__, __index__, __float__, ...,
 * or the items of a list), which could release the memory being written: such writes pin
 * it (nffi_pin).  Exact ints, floats and bytes convert without running any. */
static inline int may_run_user_code(PyObject *value)
{
    return !(PyLong_CheckExact(value) || PyFloat_CheckExact(value) || PyBytes_CheckExact(value));
}

static int cdata_ass_item(CDataObject *cd, Py_ssize_t i, PyObject *value)
{
    char *p = item_address(cd, i);
    if (p == NULL)
        return -1;
    CTypeObject *item = cd->c_type->ct_item;
    if (nffi_write_int_fast(p, item, value))
        return 0;
    PyObject *pinned = NULL;
    if (may_run_user_code(value) && nffi_pin(cd, &pinned) < 0)
        return -1;
    int r = (item->ct_flags & CT_WITH_VAR_ARRAY)
        ? nffi_convert_from_object_room(p, item, value, nffi_owned_room(cd, p))
        : nffi_convert_from_object(p, item, value);
    nffi_unpin(pinned);
    return r;
}

/* Check an explicit [start:stop] slice; returns the start address or NULL. */
static char *slice_bounds(CDataObject *cd, PyObject *slice, Py_ssize_t *start,
                          Py_ssize_t *stop)
{
    PySliceObject *s = (PySliceObject *)slice;
    if (nffi_check_released(cd) < 0)
        return NULL;
    if (s->step != Py_None) {
        PyErr_SetString(PyExc_IndexError, "slice with step not supported");
        return NULL;
    }
    if (s->start == Py_None) {
        PyErr_SetString(PyExc_IndexError, "slice start must be specified");
        return NULL;
    }
    if (s->stop == Py_None) {
        PyErr_SetString(PyExc_IndexError, "slice stop must be specified");
        return NULL;
    }
    *start = PyNumber_AsSsize_t(s->start, PyExc_OverflowError);
    if (*start == -1 && PyErr_Occurred())
        return NULL;
    *stop = PyNumber_AsSsize_t(s->stop, PyExc_OverflowError);
    if (*stop == -1 && PyErr_Occurred())
        return NULL;
    if (*start > *stop) {
        PyErr_SetString(PyExc_IndexError, "slice start > stop");
        return NULL;
    }
    if (*start < 0 && *stop > PY_SSIZE_T_MAX + *start) {
        PyErr_SetString(PyExc_OverflowError, "slice length does not fit a ssize_t");
        return NULL;
    }
    CTypeObject *ct = cd->c_type;
    if (ct->ct_flags & CT_ARRAY) {
        if (*start < 0) {
            PyErr_SetString(PyExc_IndexError, "negative index");
            return NULL;
        }
        Py_ssize_t length = nffi_cdata_length(cd);
        if (length >= 0 && *stop > length) {
            PyErr_Format(PyExc_IndexError, "index too large (expected %zd <= %zd)", *stop, length);
            return NULL;
        }
    }
    else if (!(ct->ct_flags & CT_POINTER)) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' cannot be indexed",
                     nffi_ctype_name(ct));
        return NULL;
    }
    else if ((cd->c_flags & CD_PTR_TO_OWNED) && (*start < 0 || *stop > 1)) {
        /* the owned memory holds exactly one item, as in item_address() */
        PyErr_Format(PyExc_IndexError, "slice [%zd:%zd] out of the one item cdata '%s' owns",
                     *start, *stop, nffi_ctype_name(ct));
        return NULL;
    }
    if (ct->ct_item->ct_size < 0) {
        PyErr_Format(PyExc_TypeError, "cdata '%s' is opaque", nffi_ctype_name(ct->ct_item));
        return NULL;
    }
    if (cd->c_data == NULL && *stop > *start) {
        PyErr_Format(PyExc_RuntimeError, "cannot dereference null pointer from cdata '%s'",
                     nffi_ctype_name(ct));
        return NULL;
    }
    return nffi_item_address(cd->c_data, *start, ct->ct_item->ct_size);
}

/* 'T[]' for the item type of a pointer or array (the registry's, as ffi.typeof("T[]")) */
static CTypeObject *open_array_type(CTypeObject *ct)
{
    CTypeObject *ptr = arith_pointer_type(ct);
    if (ptr == NULL)
        return NULL;
    CTypeObject *arr = nffi_new_array_type(ptr, -1);
    Py_DECREF(ptr);
    return arr;
}

static PyObject *cdata_slice(CDataObject *cd, PyObject *slice)
{
    Py_ssize_t start, stop;
    char *p = slice_bounds(cd, slice, &start, &stop);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    CTypeObject *arr = open_array_type(cd->c_type);
    if (arr == NULL)
        return NULL;
    CDataObject *r = nffi_cdata_new_view(arr, p, nffi_memory_owner(cd));
    Py_DECREF(arr);
    if (r != NULL)
        r->c_length = stop - start;
    return (PyObject *)r;
}

static int cdata_ass_slice(CDataObject *cd, PyObject *slice, PyObject *value)
{
    Py_ssize_t start, stop;
    char *p = slice_bounds(cd, slice, &start, &stop);
    if (p == NULL && PyErr_Occurred())
        return -1;
    CTypeObject *item = cd->c_type->ct_item;
    Py_ssize_t n = stop - start;
    if (CData_Check(value)) {
        CDataObject *src = (CDataObject *)value;
        if ((src->c_type->ct_flags & CT_ARRAY) && src->c_type->ct_item == item) {
            if (nffi_cdata_length(src) != n) {
                PyErr_Format(PyExc_ValueError, "need a cdata of length %zd, got %zd", n,
                             nffi_cdata_length(src));
                return -1;
            }
            memmove(p, src->c_data, n * item->ct_size);
            return 0;
        }
    }
    if (PyBytes_Check(value) && (cd->c_type->ct_flags & CT_IS_CHAR_PTR)) {
        if (PyBytes_GET_SIZE(value) != n) {
            PyErr_Format(PyExc_ValueError, "need a string of length %zd, got %zd", n,
                         PyBytes_GET_SIZE(value));
            return -1;
        }
        memcpy(p, PyBytes_AS_STRING(value), n);
        return 0;
    }
    PyObject *pinned;
    if (nffi_pin(cd, &pinned) < 0)
        return -1;
    PyObject *seq = PySequence_Fast(value, "slice assignment needs an iterable");
    if (seq == NULL) {
        nffi_unpin(pinned);
        return -1;
    }
    Py_ssize_t got = PySequence_Fast_GET_SIZE(seq);
    int r = 0;
    if (got != n) {
        PyErr_Format(PyExc_ValueError, "need %zd values to unpack, got %zd", n, got);
        r = -1;
    }
    for (Py_ssize_t i = 0; r == 0 && i < n; i++) {
        PyObject *x = nffi_sequence_item(seq, i, n, cd->c_type);
        r = x == NULL ? -1 : nffi_convert_from_object(p + i * item->ct_size, item, x);
        Py_XDECREF(x);
    }
    Py_DECREF(seq);
    nffi_unpin(pinned);
    return r;
}

static PyObject *cdata_subscript(CDataObject *cd, PyObject *key)
{
    long long small;
    if (PyLong_CheckExact(key) && nffi_compact_long(key, &small))
        return cdata_item(cd, (Py_ssize_t)small);      /* 'p[0]', the common case */
    if (PyLong_CheckExact(key)) {
        Py_ssize_t i = PyLong_AsSsize_t(key);
        if (i != -1 || !PyErr_Occurred())
            return cdata_item(cd, i);
        PyErr_Clear();      /* too large: the IndexError below, as cffi */
    }
    if (PySlice_Check(key))
        return cdata_slice(cd, key);
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    return cdata_item(cd, i);
}

static int cdata_ass_subscript(CDataObject *cd, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "'del' of a cdata item is not supported");
        return -1;
    }
    long long small;
    if (PyLong_CheckExact(key) && nffi_compact_long(key, &small))
        return cdata_ass_item(cd, (Py_ssize_t)small, value);
    if (PySlice_Check(key))
        return cdata_ass_slice(cd, key, value);
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return -1;
    return cdata_ass_item(cd, i, value);
}

static Py_ssize_t cdata_len(CDataObject *cd)
{
    Py_ssize_t n = nffi_cdata_length(cd);
    if (n < 0) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' has no len()",
                     nffi_ctype_name(cd->c_type));
        return -1;
    }
    return n;
}

static PyMappingMethods cdata_as_mapping = {
    .mp_length = (lenfunc)cdata_len,
    .mp_subscript = (binaryfunc)cdata_subscript,
    .mp_ass_subscript = (objobjargproc)cdata_ass_subscript,
};

/* ---- struct fields ---------------------------------------------------------------- */

/* ---- the field lookup cache ---------------------------------------------------------- */

/* 'p.x' resolves a name to a field; a small direct-mapped cache keyed by the identity of
 * the (usually interned) name string saves the dict lookup.  Entries hold a reference to
 * the name, so an address cannot be reused by another string while cached; the fields
 * are borrowed from ct_fields, which the cache is cleared with. */
#define FIELD_CACHE_SIZE 8

struct FieldCacheEntry {
    PyObject *name;
    CFieldObject *field;
};

void nffi_field_cache_clear(CTypeObject *st)
{
    struct FieldCacheEntry *cache = st->ct_field_cache;
    if (cache == NULL)
        return;
    st->ct_field_cache = NULL;
    for (int i = 0; i < FIELD_CACHE_SIZE; i++)
        Py_XDECREF(cache[i].name);
    PyMem_Free(cache);
}

/* The field of st named name (borrowed), or NULL (with an exception only on error). */
static inline CFieldObject *lookup_field(CTypeObject *st, PyObject *name)
{
    size_t slot = ((uintptr_t)name >> 4) & (FIELD_CACHE_SIZE - 1);
    struct FieldCacheEntry *cache = st->ct_field_cache;
    if (cache != NULL && cache[slot].name == name)
        return cache[slot].field;
    PyObject *cf = PyDict_GetItemWithError(st->ct_fields, name);
    if (cf == NULL || !PyUnicode_CheckExact(name))
        return (CFieldObject *)cf;
    if (cache == NULL) {
        cache = PyMem_Calloc(FIELD_CACHE_SIZE, sizeof(struct FieldCacheEntry));
        if (cache == NULL)
            return (CFieldObject *)cf;       /* no cache, no harm */
        st->ct_field_cache = cache;
    }
    Py_XSETREF(cache[slot].name, Py_NewRef(name));
    cache[slot].field = (CFieldObject *)cf;
    return (CFieldObject *)cf;
}

/* The struct cdata's memory, and its type, for 's.x' and 'p.x'. NULL if not a struct. */
static CTypeObject *struct_of(CDataObject *cd, char **data)
{
    CTypeObject *ct = cd->c_type;
    if (ct->ct_flags & CT_STRUCT_OR_UNION) {
        *data = cd->c_data;
        return ct;
    }
    if ((ct->ct_flags & CT_POINTER) && (ct->ct_item->ct_flags & CT_STRUCT_OR_UNION)) {
        *data = cd->c_data;
        return ct->ct_item;
    }
    return NULL;
}

static CFieldObject *find_field(CDataObject *cd, PyObject *name, char **data)
{
    CTypeObject *st = struct_of(cd, data);
    if (st == NULL || st->ct_fields == NULL)
        return NULL;
    CFieldObject *cf = lookup_field(st, name);
    if (cf == NULL)
        return NULL;
    if (*data == NULL) {
        PyErr_Format(PyExc_RuntimeError, "cannot dereference null pointer from cdata '%s'",
                     nffi_ctype_name(cd->c_type));
        return NULL;
    }
    if (nffi_check_released(cd) < 0)
        return NULL;
    return (CFieldObject *)cf;
}

static PyObject *no_field_error(CDataObject *cd, PyObject *name)
{
    char *data;
    CTypeObject *st = struct_of(cd, &data);
    if (st != NULL && (st->ct_flags & CT_IS_OPAQUE))
        PyErr_Format(PyExc_AttributeError, "cdata '%s' points to an opaque type: cannot read "
                     "fields", nffi_ctype_name(cd->c_type));
    else if (st != NULL)
        PyErr_Format(PyExc_AttributeError, "cdata '%s' has no field '%U'",
                     nffi_ctype_name(cd->c_type), name);
    else
        PyErr_Format(PyExc_AttributeError, "cdata '%s' has no attribute '%U'",
                     nffi_ctype_name(cd->c_type), name);
    return NULL;
}

/* Read field cf of the struct cd points to or is (at data).  'p.data' for a flexible
 * array member 'T data[]' of a struct whose allocated size is known (ffi.new of a
 * variable-size struct) is a 'T[]' of the item count that fits, so that indexing it is
 * bounds-checked; elsewhere such a member reads as a 'T *' (see nffi_read_field). */
static PyObject *read_field_of(CDataObject *cd, char *data, CFieldObject *cf)
{
    CTypeObject *ft = cf->cf_type;
    if ((ft->ct_flags & CT_ARRAY) && ft->ct_length < 0 && cd->c_length >= 0 &&
            cf->cf_bitshift < 0 && ft->ct_item->ct_size > 0) {
        CTypeObject *st = (cd->c_type->ct_flags & CT_POINTER) ? cd->c_type->ct_item
                                                              : cd->c_type;
        if (st->ct_flags & CT_WITH_VAR_ARRAY) {
            CDataObject *r = nffi_cdata_new_view(ft, data + cf->cf_offset, nffi_memory_owner(cd));
            if (r != NULL) {
                Py_ssize_t room = cd->c_length - cf->cf_offset;
                r->c_length = room > 0 ? room / ft->ct_item->ct_size : 0;
            }
            return (PyObject *)r;
        }
    }
    return nffi_read_field(data, cf, nffi_memory_owner(cd));
}

/* The struct whose fields 'p.x' on cd reaches with no check left to make: a struct or
 * a pointer to one, complete, not NULL, whose memory cannot have been released (one flag
 * test, see nffi_check_released); else NULL (find_field checks, and reports). */
static inline CTypeObject *live_struct_of(CDataObject *cd)
{
    CTypeObject *ct = cd->c_type;
    CTypeObject *st = (ct->ct_flags & CT_POINTER) ? ct->ct_item : ct;
    if ((st->ct_flags & CT_STRUCT_OR_UNION) && st->ct_fields != NULL && cd->c_data != NULL &&
            !(cd->c_flags & (CD_RELEASED | CD_CHECK_OWNER)))
        return st;
    return NULL;
}

/* A field read or written as a plain integer in place (the commonest field) */
static inline int plain_integer_field(CFieldObject *cf)
{
    return cf->cf_bitshift < 0 && nffi_is_plain_integer(cf->cf_type);
}

static PyObject *cdata_getattro(CDataObject *cd, PyObject *name)
{
    /* fast path: 'p.x' on a live struct pointer or struct, the common case */
    CTypeObject *st = live_struct_of(cd);
    if (st != NULL) {
        CFieldObject *cf = lookup_field(st, name);
        if (cf != NULL && plain_integer_field(cf))
            return nffi_integer_to_object(cd->c_data + cf->cf_offset, cf->cf_type);
        if (cf != NULL)
            return read_field_of(cd, cd->c_data, cf);
        if (PyErr_Occurred())
            return NULL;
    }
    char *data;
    CFieldObject *cf = find_field(cd, name, &data);
    if (cf != NULL)
        return read_field_of(cd, data, cf);
    if (PyErr_Occurred())
        return NULL;
    PyObject *r = PyObject_GenericGetAttr((PyObject *)cd, name);
    if (r == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        return no_field_error(cd, name);
    }
    return r;
}

/* The bytes writable in the struct at data that cd is or points to (see nffi_owned_room). */
static Py_ssize_t struct_room(CDataObject *cd, char *data)
{
    CTypeObject *st = (cd->c_type->ct_flags & CT_POINTER) ? cd->c_type->ct_item : cd->c_type;
    if (!(st->ct_flags & CT_WITH_VAR_ARRAY))
        return st->ct_size;
    return nffi_owned_room(cd, data);
}

static int cdata_setattro(CDataObject *cd, PyObject *name, PyObject *value)
{
    /* fast path: 'p.x = 5', an exact int into an integer field of a live struct */
    CTypeObject *st = live_struct_of(cd);
    if (st != NULL && value != NULL && PyLong_CheckExact(value)) {
        CFieldObject *cf = lookup_field(st, name);
        if (cf != NULL && cf->cf_bitshift < 0 &&
                nffi_write_int_fast(cd->c_data + cf->cf_offset, cf->cf_type, value))
            return 0;
        if (cf != NULL && plain_integer_field(cf))   /* out of the fast range: the engine */
            return nffi_convert_from_object(cd->c_data + cf->cf_offset, cf->cf_type, value);
        if (cf == NULL && PyErr_Occurred())
            return -1;
    }
    char *data;
    CFieldObject *cf = find_field(cd, name, &data);
    if (cf != NULL) {
        if (value == NULL) {
            PyErr_SetString(PyExc_AttributeError, "cannot delete struct field");
            return -1;
        }
        PyObject *pinned = NULL;
        if (may_run_user_code(value) && nffi_pin(cd, &pinned) < 0)
            return -1;   /* (find_field checked that the memory was not released) */
        int r = nffi_write_field(data, cf, value, struct_room(cd, data));
        nffi_unpin(pinned);
        return r;
    }
    if (PyErr_Occurred())
        return -1;
    no_field_error(cd, name);
    return -1;
}

/* ---- iteration ---------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    CDataObject *array;
    Py_ssize_t index, length;
} CDataIterObject;

static void cdataiter_dealloc(CDataIterObject *it)
{
    Py_DECREF(it->array);
    PyObject_Free(it);
}

static PyObject *cdataiter_next(CDataIterObject *it)
{
    if (it->index >= it->length)
        return NULL;
    return cdata_item(it->array, it->index++);
}

static PyTypeObject CDataIter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CDataIter",
    .tp_basicsize = sizeof(CDataIterObject),
    .tp_dealloc = (destructor)cdataiter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)cdataiter_next,
};

static PyObject *cdata_iter(CDataObject *cd)
{
    Py_ssize_t length = nffi_cdata_length(cd);
    if (length < 0) {
        PyErr_Format(PyExc_TypeError, "cdata '%s' does not support iteration",
                     nffi_ctype_name(cd->c_type));
        return NULL;
    }
    CDataIterObject *it = PyObject_New(CDataIterObject, &CDataIter_Type);
    if (it == NULL)
        return NULL;
    Py_INCREF(cd);
    it->array = cd;
    it->index = 0;
    it->length = length;
    return (PyObject *)it;
}

/* ---- strings -------------------------------------------------------------------------- */

static Py_ssize_t bounded_strlen(const char *p, Py_ssize_t maxlen, int unit)
{
    Py_ssize_t n = 0;
    if (unit == 1) {
        if (maxlen < 0)
            return (Py_ssize_t)strlen(p);
        const char *end = memchr(p, 0, maxlen);
        return end ? end - p : maxlen;
    }
    while (maxlen < 0 || n < maxlen) {
        if (nffi_read_unsigned(p + n * unit, unit) == 0)
            break;
        n++;
    }
    return n;
}

/* Decode n UTF-16 or UTF-32 units into a str (surrogate pairs joined for UTF-16). */
static PyObject *decode_wide(const char *p, Py_ssize_t n, int unit)
{
    if (unit == 2) {
        int byteorder = 0;
        return PyUnicode_DecodeUTF16(p, n * 2, "surrogatepass", &byteorder);
    }
    const uint32_t *units = (const uint32_t *)p;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, units + i, 4);
        if (u > 0x10FFFF) {
            PyErr_Format(PyExc_ValueError, "character out of range for conversion to "
                         "unicode: 0x%x", (unsigned)u);
            return NULL;
        }
    }
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, p, n);
}

static PyObject *enum_string(CDataObject *cd)
{
    PyObject *value = nffi_convert_to_object(cd->c_data, cd->c_type, NULL);
    if (value == NULL)
        return NULL;
    PyObject *name = PyDict_GetItemWithError(cd->c_type->ct_enum_names, value);
    PyObject *r = name ? Py_NewRef(name) : (PyErr_Occurred() ? NULL : PyObject_Str(value));
    Py_DECREF(value);
    return r;
}

PyObject *nffi_string(CDataObject *cd, Py_ssize_t maxlen)
{
    CTypeObject *ct = cd->c_type;
    if (nffi_check_released(cd) < 0)
        return NULL;
    if (ct->ct_flags & (CT_POINTER | CT_ARRAY)) {
        CTypeObject *item = ct->ct_item;
        if (item->ct_flags & (CT_PRIMITIVE_CHAR | CT_PRIMITIVE_INTEGER) &&
                !(item->ct_flags & (CT_IS_ENUM | CT_IS_BOOL)) &&
                ((item->ct_flags & CT_PRIMITIVE_CHAR) || item->ct_size == 1)) {
            Py_ssize_t length = nffi_cdata_length(cd);
            if (length >= 0 && (maxlen < 0 || maxlen > length))
                maxlen = length;
            if (cd->c_data == NULL) {
                PyErr_Format(PyExc_RuntimeError, "cannot use string() on %R", (PyObject *)cd);
                return NULL;
            }
            int unit = (item->ct_flags & CT_PRIMITIVE_CHAR) ? item->ct_char_kind : 1;
            Py_ssize_t n = bounded_strlen(cd->c_data, maxlen, unit);
            if (unit == 1)
                return PyBytes_FromStringAndSize(cd->c_data, n);
            return decode_wide(cd->c_data, n, unit);
        }
    }
    else if (ct->ct_flags & CT_IS_ENUM) {
        return enum_string(cd);
    }
    else if (ct->ct_flags & CT_PRIMITIVE_CHAR) {
        if (ct->ct_char_kind == 1)
            return PyBytes_FromStringAndSize(cd->c_data, 1);
        uint32_t code = (uint32_t)nffi_read_unsigned(cd->c_data, ct->ct_char_kind);
        if (ct->ct_char_kind == 2 && code >= 0xD800 && code <= 0xDFFF)
            return PyUnicode_FromOrdinal((int)code);
        return decode_wide(cd->c_data, 1, ct->ct_char_kind);
    }
    else if ((ct->ct_flags & CT_PRIMITIVE_INTEGER) && !(ct->ct_flags & CT_IS_BOOL) &&
             ct->ct_size == 1) {
        /* 'signed char', 'uint8_t'...: one byte, as cffi; wider integers and _Bool
           are refused, as cffi refuses them */
        return PyBytes_FromStringAndSize(cd->c_data, 1);
    }
    PyErr_Format(PyExc_TypeError, "string(): unexpected cdata '%s' argument",
                 nffi_ctype_name(ct));
    return NULL;
}

PyObject *nffi_unpack(CDataObject *cd, Py_ssize_t length)
{
    CTypeObject *ct = cd->c_type;
    if (!(ct->ct_flags & (CT_POINTER | CT_ARRAY))) {
        PyErr_Format(PyExc_TypeError, "expected a pointer or array, got a cdata '%s'",
                     nffi_ctype_name(ct));
        return NULL;
    }
    if (length < 0) {
        PyErr_SetString(PyExc_ValueError, "negative array length");
        return NULL;
    }
    if (nffi_check_released(cd) < 0)
        return NULL;
    if (cd->c_data == NULL) {       /* even for length 0, as cffi */
        PyErr_Format(PyExc_RuntimeError, "cannot use unpack() on %R", (PyObject *)cd);
        return NULL;
    }
    CTypeObject *item = ct->ct_item;
    if (item->ct_size < 0 || (item->ct_flags & CT_VOID)) {
        PyErr_Format(PyExc_ValueError, "cdata '%s' points to items of unknown size",
                     nffi_ctype_name(ct));
        return NULL;
    }
    Py_ssize_t room = nffi_owned_room(cd, cd->c_data);
    if (room >= 0 && item->ct_size > 0 && length > room / item->ct_size) {
        PyErr_Format(PyExc_IndexError, "unpack() of %zd items past the end of cdata '%s' "
                     "(%zd bytes from there)", length, nffi_ctype_name(ct), room);
        return NULL;
    }
    if ((item->ct_flags & CT_PRIMITIVE_CHAR)) {
        if (item->ct_char_kind == 1)
            return PyBytes_FromStringAndSize(cd->c_data, length);
        return decode_wide(cd->c_data, length, item->ct_char_kind);
    }
    PyObject *list = PyList_New(length);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < length; i++) {
        PyObject *x = nffi_convert_to_object(cd->c_data + i * item->ct_size, item,
                                             nffi_memory_owner(cd));
        if (x == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, x);
    }
    return list;
}

PyObject *nffi_addressof_field(CDataObject *cd, CTypeObject *ptrtype, Py_ssize_t offset)
{
    if (nffi_check_released(cd) < 0)
        return NULL;
    return (PyObject *)nffi_cdata_new_view(ptrtype, cd->c_data + offset, nffi_memory_owner(cd));
}

/* ---- methods ------------------------------------------------------------------------ */

static PyObject *cdata_enter(PyObject *self, PyObject *noargs)
{
    if (nffi_check_releasable((CDataObject *)self) < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *cdata_exit(PyObject *self, PyObject *args)
{
    if (nffi_release((CDataObject *)self) < 0)
        return NULL;
    Py_RETURN_FALSE;
}

static PyObject *cdata_dir(CDataObject *cd, PyObject *noargs)
{
    char *data;
    CTypeObject *st = struct_of(cd, &data);
    if (st != NULL && st->ct_fields != NULL)
        return PyDict_Keys(st->ct_fields);
    return PyList_New(0);
}

static PyMethodDef cdata_methods[] = {
    {"__enter__", cdata_enter, METH_NOARGS, NULL},
    {"__exit__", cdata_exit, METH_VARARGS, NULL},
    {"__complex__", (PyCFunction)cdata_complex, METH_NOARGS, NULL},
    {"__dir__", (PyCFunction)cdata_dir, METH_NOARGS, NULL},
    {NULL}
};

PyTypeObject CData_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CData",
    .tp_basicsize = sizeof(CDataObject),
    .tp_itemsize = 1,
    .tp_dealloc = (destructor)cdata_dealloc,
    .tp_repr = (reprfunc)cdata_repr,
    .tp_as_number = &cdata_as_number,
    .tp_as_mapping = &cdata_as_mapping,
    .tp_hash = (hashfunc)cdata_hash,
    .tp_getattro = (getattrofunc)cdata_getattro,
    .tp_setattro = (setattrofunc)cdata_setattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_richcompare = cdata_richcompare,
    .tp_weaklistoffset = offsetof(CDataObject, c_weakreflist),
    .tp_iter = (getiterfunc)cdata_iter,
    .tp_call = nffi_cdata_call,
    .tp_methods = cdata_methods,
    .tp_doc = "A C data object (<cdata>): a reference to C memory of a given ctype.",
};

int nffi_cdata_init(PyObject *module)
{
    if (PyType_Ready(&CData_Type) < 0 || PyType_Ready(&CDataIter_Type) < 0 ||
            nffi_small_ints_init() < 0)   /* (convert.c's; cdata.c is initialised first) */
        return -1;
    return PyModule_AddObjectRef(module, "CData", (PyObject *)&CData_Type);
}
