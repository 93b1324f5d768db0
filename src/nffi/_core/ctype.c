/* ctype.c -- C type objects (CType), struct fields (CField) and the type registry.
 *
 * Owns: the table of primitive types with their platform sizes and alignments, the
 * constructors the model layer calls to build every type, the process-wide registry
 * that makes every primitive, pointer, array and function ctype unique, the C names of
 * types ("int(*)[5]") with the insertion point used by ffi.getctype(), and the
 * introspection attributes of ffi.CType.
 *
 * The registry.  Primitives and 'void' are made at start-up and live forever.  A pointer
 * type is found through a borrowed link on its item type (ct_pointer_type); arrays and
 * function types through a dict from a key of their parts' addresses to the ctype's
 * address: an entry keeps nothing alive (an array of a struct of a dead FFI dies with
 * it), a ctype deletes its entry when it dies, and the parts it holds cannot be freed
 * (and their addresses reused) before.  Struct, union and enum ctypes belong to the FFI
 * declaring them.  Locking: with the GIL, the GIL is the lock -- a lookup and the insert
 * after a miss run no Python code in between (keys are tuples of ints); building the
 * ctype may (the GC can run a __del__), so it comes first and the insert checks again,
 * keeping the first ctype.  A PyThread_type_lock would add nothing, and held while such
 * a __del__ built a type it would deadlock.  A free-threaded build would need a PyMutex
 * around those sections and a try-incref (a dying ctype may still be found); the core
 * does not declare itself free-threading safe (no Py_mod_gil slot) and does not have it.
 */
#include "nffi_core.h"
#include <wchar.h>

/* ---- primitive table ------------------------------------------------------------- */

#include "primitives.h"     /* generated from nffi/primitives.py */

/* ---- allocation and naming ------------------------------------------------------- */

static CTypeObject *ctype_alloc(int flags, const char *name, Py_ssize_t name_position)
{
    CTypeObject *ct = PyObject_GC_New(CTypeObject, &CType_Type);
    if (ct == NULL)
        return NULL;
    /* every field after the object header starts as 0 / NULL, these excepted */
    memset((char *)ct + sizeof(PyObject), 0, sizeof(CTypeObject) - sizeof(PyObject));
    ct->ct_flags = flags;
    ct->ct_size = -1;
    ct->ct_align = 1;
    ct->ct_length = -1;
    ct->ct_name = PyUnicode_FromString(name);
    ct->ct_name_position = name_position;
    if (ct->ct_name == NULL) {
        Py_DECREF(ct);
        return NULL;
    }
    PyObject_GC_Track(ct);
    return ct;
}

/* A ctype named by inserting 'insert' into base's name at its insertion point; its own
 * insertion point is base's plus 'shift'. */
static CTypeObject *ctype_alloc_derived(int flags, CTypeObject *base, const char *insert,
                                        Py_ssize_t shift)
{
    PyObject *full = nffi_getcname(base, insert);
    const char *utf8 = full ? PyUnicode_AsUTF8(full) : NULL;
    CTypeObject *ct = utf8 ? ctype_alloc(flags, utf8, base->ct_name_position + shift) : NULL;
    Py_XDECREF(full);
    return ct;
}

const char *nffi_ctype_name(CTypeObject *ct)
{
    const char *s = PyUnicode_AsUTF8(ct->ct_name);
    if (s == NULL) {
        PyErr_Clear();
        return "?";
    }
    return s;
}

PyObject *nffi_getcname(CTypeObject *ct, const char *extra)
{
    PyObject *name = ct->ct_name;
    PyObject *head = PyUnicode_Substring(name, 0, ct->ct_name_position);
    PyObject *tail = PyUnicode_Substring(name, ct->ct_name_position,
                                         PyUnicode_GET_LENGTH(name));
    PyObject *full = NULL;
    if (head && tail)
        full = PyUnicode_FromFormat("%U%s%U", head, extra, tail);
    Py_XDECREF(head);
    Py_XDECREF(tail);
    return full;
}

/* ---- the type registry (see the header comment) ------------------------------------ */

static PyObject *primitives;      /* dict: name -> CType, every primitive and 'void' */
static PyObject *registry;        /* dict: key -> int, the address of an interned ctype */

/* The ctype interned under 'key' (a new reference), or NULL (no error) if none.  Given
 * a new 'ct' (stolen), interns it unless another ctype got there while it was built:
 * then that one is returned and 'ct' dropped. */
static CTypeObject *registry_intern(PyObject *key, CTypeObject *ct)
{
    PyObject *address = ct ? PyLong_FromVoidPtr(ct) : NULL;
    if (ct != NULL && address == NULL) {
        Py_DECREF(ct);
        return NULL;
    }
    PyObject *found = PyDict_GetItemWithError(registry, key);
    CTypeObject *kept = found ? (CTypeObject *)Py_NewRef(PyLong_AsVoidPtr(found)) : NULL;
    if (ct != NULL && kept == NULL && !PyErr_Occurred() &&
            PyDict_SetItem(registry, key, address) == 0) {
        ct->ct_registry_key = Py_NewRef(key);
        kept = (CTypeObject *)Py_NewRef(ct);
    }
    Py_XDECREF(address);
    Py_XDECREF(ct);
    return kept;
}

/* A dying ctype leaves the registry (before anything in its dealloc may run code). */
static void registry_remove(CTypeObject *ct)
{
    if (ct->ct_item != NULL && ct->ct_item->ct_pointer_type == ct)
        ct->ct_item->ct_pointer_type = NULL;
    if (ct->ct_registry_key == NULL)
        return;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (PyDict_DelItem(registry, ct->ct_registry_key) < 0)
        PyErr_WriteUnraisable(ct->ct_registry_key);    /* not the dying ctype itself */
    PyErr_Restore(type, value, traceback);
    Py_CLEAR(ct->ct_registry_key);
}

/* ---- constructors -------------------------------------------------------------- */

/* Every primitive and 'void', made once when the module is initialised. */
static int make_primitives(void)
{
    primitives = PyDict_New();
    for (const PrimitiveInfo *p = primitive_table; primitives != NULL && p->name; p++) {
        CTypeObject *ct = ctype_alloc(p->flags, p->name, (Py_ssize_t)strlen(p->name));
        if (ct == NULL)
            return -1;
        ct->ct_size = p->size;
        ct->ct_align = p->align;
        ct->ct_char_kind = p->char_kind;
        if (p->char_kind == 'w') {
            ct->ct_char_kind = (int)sizeof(wchar_t);
            if ((wchar_t)-1 < 0)
                ct->ct_flags |= CT_IS_SIGNED_WCHAR;
        }
        int err = PyDict_SetItemString(primitives, p->name, (PyObject *)ct);
        Py_DECREF(ct);
        if (err < 0)
            return -1;
    }
    CTypeObject *void_type = primitives ? ctype_alloc(CT_VOID, "void", 4) : NULL;
    int err = void_type == NULL || PyDict_SetItemString(primitives, "void",
                                                        (PyObject *)void_type) < 0;
    Py_XDECREF(void_type);
    return err ? -1 : 0;
}

static PyObject *new_primitive_type(PyObject *self, PyObject *args)
{
    PyObject *name;
    if (!PyArg_ParseTuple(args, "U:new_primitive_type", &name))
        return NULL;
    PyObject *ct = PyDict_GetItemWithError(primitives, name);
    if (ct == NULL && !PyErr_Occurred())
        PyErr_Format(PyExc_KeyError, "unknown primitive type name '%U'", name);
    return Py_XNewRef(ct);
}

static PyObject *new_void_type(PyObject *self, PyObject *noargs)
{
    return Py_XNewRef(PyDict_GetItemString(primitives, "void"));
}

static int is_char_type(CTypeObject *ct)
{
    return ct->ct_size == 1 && (ct->ct_flags & (CT_PRIMITIVE_CHAR | CT_PRIMITIVE_INTEGER))
        && !(ct->ct_flags & (CT_IS_BOOL | CT_IS_ENUM));
}

CTypeObject *nffi_new_pointer_type(CTypeObject *item)
{
    if (item->ct_pointer_type != NULL)
        return (CTypeObject *)Py_NewRef(item->ct_pointer_type);
    int flags = CT_POINTER;
    if (item->ct_flags & CT_VOID)
        flags |= CT_IS_VOID_PTR;
    if (is_char_type(item))
        flags |= CT_IS_CHAR_PTR;
    CTypeObject *ct = ctype_alloc_derived(flags, item, (item->ct_flags & CT_ARRAY) ? "(*)"
                                                                                : " *", 2);
    if (ct == NULL)
        return NULL;
    ct->ct_size = sizeof(void *);
    ct->ct_align = _Alignof(void *);
    ct->ct_item = (CTypeObject *)Py_NewRef(item);
    if (item->ct_pointer_type != NULL) {    /* made meanwhile (the GC ran Python code) */
        Py_DECREF(ct);
        return (CTypeObject *)Py_NewRef(item->ct_pointer_type);
    }
    item->ct_pointer_type = ct;    /* borrowed: cleared by registry_remove() */
    return ct;
}

static PyObject *new_pointer_type(PyObject *self, PyObject *arg)
{
    if (!CType_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected a ctype");
        return NULL;
    }
    return (PyObject *)nffi_new_pointer_type((CTypeObject *)arg);
}

static CTypeObject *build_array_type(CTypeObject *item, Py_ssize_t length)
{
    char brackets[48];
    if (length < 0)
        strcpy(brackets, "[]");
    else
        snprintf(brackets, sizeof(brackets), "[%zd]", length);
    int flags = CT_ARRAY;
    if (is_char_type(item))
        flags |= CT_IS_CHAR_PTR;
    CTypeObject *ct = ctype_alloc_derived(flags, item, brackets, 0);
    if (ct == NULL)
        return NULL;
    if (length >= 0) {
        if (item->ct_size > 0 && length > PY_SSIZE_T_MAX / item->ct_size) {
            Py_DECREF(ct);
            PyErr_SetString(PyExc_OverflowError, "array size would overflow a ssize_t");
            return NULL;
        }
        ct->ct_size = length * item->ct_size;
    }
    ct->ct_length = length;
    ct->ct_align = item->ct_align;
    ct->ct_item = (CTypeObject *)Py_NewRef(item);
    return ct;
}

/* 'T[length]' ('T[]' for a negative length) for the 'T *' ptrtype, unique per process */
CTypeObject *nffi_new_array_type(CTypeObject *ptrtype, Py_ssize_t length)
{
    if (!(ptrtype->ct_flags & CT_POINTER)) {
        PyErr_SetString(PyExc_TypeError, "first arg must be a pointer ctype");
        return NULL;
    }
    CTypeObject *item = ptrtype->ct_item;
    if (item->ct_size < 0) {
        PyErr_Format(PyExc_ValueError, "array item of unknown size: '%s'",
                     nffi_ctype_name(item));
        return NULL;
    }
    if (length < 0 && ptrtype->ct_open_array != NULL)
        return (CTypeObject *)Py_NewRef(ptrtype->ct_open_array);
    PyObject *key = Py_BuildValue("(iNn)", CT_ARRAY, PyLong_FromVoidPtr(item),
                                  length < 0 ? (Py_ssize_t)-1 : length);
    if (key == NULL)
        return NULL;
    CTypeObject *ct = registry_intern(key, NULL);
    if (ct == NULL && !PyErr_Occurred() && (ct = build_array_type(item, length)) != NULL)
        ct = registry_intern(key, ct);
    Py_DECREF(key);
    if (ct != NULL && length < 0)
        Py_XSETREF(ptrtype->ct_open_array, (CTypeObject *)Py_NewRef(ct));
    return ct;
}

static PyObject *new_array_type(PyObject *self, PyObject *args)
{
    CTypeObject *ptrtype;
    PyObject *lengthobj;
    if (!PyArg_ParseTuple(args, "O!O:new_array_type", &CType_Type, &ptrtype, &lengthobj))
        return NULL;
    Py_ssize_t length = -1;
    if (lengthobj != Py_None) {
        length = PyNumber_AsSsize_t(lengthobj, PyExc_OverflowError);
        if (length == -1 && PyErr_Occurred())
            return NULL;
        if (length < 0) {
            PyErr_SetString(PyExc_ValueError, "negative array length");
            return NULL;
        }
    }
    return (PyObject *)nffi_new_array_type(ptrtype, length);
}

static PyObject *new_struct_or_union(PyObject *args, int flags, const char *fmt)
{
    const char *name;
    if (!PyArg_ParseTuple(args, fmt, &name))
        return NULL;
    CTypeObject *ct = ctype_alloc(flags | CT_IS_OPAQUE, name, (Py_ssize_t)strlen(name));
    if (ct == NULL)
        return NULL;
    if (strcmp(name, "struct _IO_FILE") == 0 || strcmp(name, "FILE") == 0)
        ct->ct_flags |= CT_IS_FILE;
    return (PyObject *)ct;
}

static PyObject *new_struct_type(PyObject *self, PyObject *args)
{
    return new_struct_or_union(args, CT_STRUCT, "s:new_struct_type");
}

static PyObject *new_union_type(PyObject *self, PyObject *args)
{
    return new_struct_or_union(args, CT_UNION, "s:new_union_type");
}

static CFieldObject *cfield_new(PyObject *name, CTypeObject *type, Py_ssize_t offset,
                                int bitshift, int bitsize, int flags)
{
    CFieldObject *cf = PyObject_New(CFieldObject, &CField_Type);
    if (cf == NULL)
        return NULL;
    Py_INCREF(type);
    cf->cf_type = type;
    cf->cf_offset = offset;
    cf->cf_bitshift = (short)bitshift;
    cf->cf_bitsize = (short)bitsize;
    cf->cf_flags = flags;
    Py_INCREF(name);
    cf->cf_name = name;
    return cf;
}

/* The CFields a list initializer fills, in order, as cffi fills them: the flattened
 * fields except those flagged BF_IGNORE_IN_CTOR. */
static PyObject *list_initializer_fields(PyObject *fields)
{
    PyObject *result = PyList_New(0), *name, *cf;
    Py_ssize_t pos = 0;
    while (result != NULL && PyDict_Next(fields, &pos, &name, &cf)) {
        if (!(((CFieldObject *)cf)->cf_flags & BF_IGNORE_IN_CTOR) &&
                PyList_Append(result, cf) < 0)
            Py_CLEAR(result);
    }
    Py_XSETREF(result, result ? PyList_AsTuple(result) : NULL);
    return result;
}

/* The declared members, for call.c.  init_fields lists them as (name, ctype, offset):
 * named ones are looked up in 'fields'; anonymous struct/union members ("") get a
 * CField of their own. */
static PyObject *init_order(PyObject *fields, PyObject *init_fields)
{
    PyObject *seq = PySequence_Fast(init_fields, "init_fields must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = PyTuple_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        PyObject *name;
        CTypeObject *type;
        Py_ssize_t offset;
        PyObject *cf = NULL;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "UO!n:init field", &name,
                              &CType_Type, &type, &offset))
            goto error;
        if (PyUnicode_GET_LENGTH(name) > 0) {
            cf = PyDict_GetItemWithError(fields, name);
            if (cf == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetObject(PyExc_KeyError, name);
                goto error;
            }
            Py_INCREF(cf);
        }
        else {
            cf = (PyObject *)cfield_new(name, type, offset, -1, -1, 0);
            if (cf == NULL)
                goto error;
        }
        PyTuple_SET_ITEM(result, i, cf);
    }
    Py_DECREF(seq);
    return result;

error:
    Py_DECREF(seq);
    Py_XDECREF(result);
    return NULL;
}

/* complete_struct_or_union(ct, fields, size, align, flags, members)
 * fields: sequence of (name, ctype, offset, bitshift, bitsize[, field flags]);
 * members: the declared members as (name, ctype, offset), see init_order();
 * anonymous members are already flattened by the model (nffi/layout.py computes the
 * offsets), which also gives each field its BF_IGNORE_IN_CTOR flag. */
static PyObject *complete_struct_or_union(PyObject *self, PyObject *args)
{
    CTypeObject *ct;
    PyObject *fields;
    Py_ssize_t size, align;
    int extra_flags;
    PyObject *init_fields;
    if (!PyArg_ParseTuple(args, "O!OnniO:complete_struct_or_union", &CType_Type, &ct,
                          &fields, &size, &align, &extra_flags, &init_fields))
        return NULL;
    if (!(ct->ct_flags & CT_STRUCT_OR_UNION) || !(ct->ct_flags & CT_IS_OPAQUE)) {
        PyErr_Format(PyExc_TypeError, "ctype '%s' is not an incomplete struct or union",
                     nffi_ctype_name(ct));
        return NULL;
    }
    PyObject *seq = PySequence_Fast(fields, "fields must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        goto error;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name;
        CTypeObject *ftype;
        Py_ssize_t offset;
        int bitshift, bitsize, fflags = 0;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "UO!nii|i:field", &name,
                              &CType_Type, &ftype, &offset, &bitshift, &bitsize, &fflags))
            goto error;
        CFieldObject *cf = cfield_new(name, ftype, offset, bitshift, bitsize, fflags);
        if (cf == NULL)
            goto error;
        int err = PyDict_SetItem(dict, name, (PyObject *)cf);
        Py_DECREF(cf);
        if (err < 0)
            goto error;
        /* a struct ending in 'T x[]', or in such a struct, has a variable size; so does
           one with 'T x[]' elsewhere (a '...;' struct of API mode: the compiler placed
           it, and the array runs to the end of the memory, as cffi) */
        if (((ftype->ct_flags & CT_ARRAY) && ftype->ct_length < 0) ||
                (i == n - 1 && (ftype->ct_flags & CT_WITH_VAR_ARRAY)))
            ct->ct_flags |= CT_WITH_VAR_ARRAY;
    }
    Py_DECREF(seq);
    PyObject *members = init_order(dict, init_fields);
    PyObject *initializers = members == NULL ? NULL : list_initializer_fields(dict);
    if (initializers == NULL) {
        Py_XDECREF(members);
        Py_DECREF(dict);
        return NULL;
    }
    ct->ct_members = members;
    ct->ct_init_fields = initializers;
    nffi_field_cache_clear(ct);
    ct->ct_fields = dict;
    ct->ct_size = size;
    ct->ct_align = align;
    ct->ct_flags &= ~CT_IS_OPAQUE;
    ct->ct_flags |= extra_flags;
    Py_RETURN_NONE;

error:
    Py_DECREF(seq);
    Py_XDECREF(dict);
    return NULL;
}

/* 'R(*)(A, B, ...)': the C name is the result's with "(*)(A, B, ...)" inserted */
static CTypeObject *build_function_type(PyObject *fargs, CTypeObject *result, int ellipsis,
                                        PyObject *abi)
{
    Py_ssize_t nargs = PyTuple_GET_SIZE(fargs);
    PyObject *names = PyList_New(0), *joined = NULL, *suffix = NULL;
    CTypeObject *ct = NULL;
    if (names == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (PyList_Append(names, ((CTypeObject *)PyTuple_GET_ITEM(fargs, i))->ct_name) < 0)
            goto done;
    }
    if (ellipsis) {
        PyObject *dots = PyUnicode_FromString("...");
        int err = dots == NULL || PyList_Append(names, dots) < 0;
        Py_XDECREF(dots);
        if (err)
            goto done;
    }
    PyObject *comma = PyUnicode_FromString(", ");
    joined = comma ? PyUnicode_Join(comma, names) : NULL;
    Py_XDECREF(comma);
    suffix = joined ? PyUnicode_FromFormat("(*)(%U)", joined) : NULL;
    const char *suffix_utf8 = suffix ? PyUnicode_AsUTF8(suffix) : NULL;
    if (suffix_utf8 == NULL)
        goto done;
    ct = ctype_alloc_derived(CT_FUNCTIONPTR, result, suffix_utf8, 2);
    if (ct == NULL)
        goto done;
    ct->ct_size = sizeof(void (*)(void));
    ct->ct_align = _Alignof(void (*)(void));
    ct->ct_fn_args = Py_NewRef(fargs);
    ct->ct_fn_result = (CTypeObject *)Py_NewRef(result);
    ct->ct_fn_ellipsis = ellipsis;
    ct->ct_fn_abi = Py_NewRef(abi);
done:
    Py_DECREF(names);
    Py_XDECREF(joined);
    Py_XDECREF(suffix);
    return ct;
}

/* new_function_type(args_tuple, result, ellipsis=False, abi=None): unique per process */
static PyObject *new_function_type(PyObject *self, PyObject *args)
{
    PyObject *fargs, *abi = Py_None;
    CTypeObject *result;
    int ellipsis = 0;
    if (!PyArg_ParseTuple(args, "O!O!|pO:new_function_type", &PyTuple_Type, &fargs,
                          &CType_Type, &result, &ellipsis, &abi))
        return NULL;
    Py_ssize_t nargs = PyTuple_GET_SIZE(fargs);
    PyObject *key = PyTuple_New(4 + nargs);
    if (key == NULL)
        return NULL;
    PyTuple_SET_ITEM(key, 0, PyLong_FromLong(CT_FUNCTIONPTR));
    PyTuple_SET_ITEM(key, 1, PyLong_FromVoidPtr(result));
    PyTuple_SET_ITEM(key, 2, PyBool_FromLong(ellipsis));
    PyTuple_SET_ITEM(key, 3, Py_NewRef(abi));
    int complete = 1;            /* every argument a ctype, and no PyLong failed */
    for (Py_ssize_t i = 0; i < 4 + nargs && complete; i++) {
        PyObject *arg = i >= 4 ? PyTuple_GET_ITEM(fargs, i - 4) : NULL;
        if (arg != NULL && !CType_Check(arg))
            PyErr_SetString(PyExc_TypeError, "function arguments must be ctypes");
        else if (arg != NULL)
            PyTuple_SET_ITEM(key, i, PyLong_FromVoidPtr(arg));
        complete = PyTuple_GET_ITEM(key, i) != NULL;
    }
    CTypeObject *ct = complete ? registry_intern(key, NULL) : NULL;
    if (ct == NULL && complete && !PyErr_Occurred() &&
            (ct = build_function_type(fargs, result, ellipsis, abi)) != NULL)
        ct = registry_intern(key, ct);
    Py_DECREF(key);
    return (PyObject *)ct;
}

/* new_enum_type(name, enumerators, values, basetype) */
static PyObject *new_enum_type(PyObject *self, PyObject *args)
{
    const char *name;
    PyObject *names, *values;
    CTypeObject *base;
    if (!PyArg_ParseTuple(args, "sO!O!O!:new_enum_type", &name, &PyTuple_Type, &names,
                          &PyTuple_Type, &values, &CType_Type, &base))
        return NULL;
    if (PyTuple_GET_SIZE(names) != PyTuple_GET_SIZE(values) ||
            !(base->ct_flags & CT_PRIMITIVE_INTEGER)) {
        PyErr_SetString(PyExc_TypeError, "bad enum description");
        return NULL;
    }
    PyObject *by_value = PyDict_New(), *by_name = PyDict_New();
    if (by_value == NULL || by_name == NULL)
        goto error;
    for (Py_ssize_t i = PyTuple_GET_SIZE(names) - 1; i >= 0; i--) {
        /* iterate backwards so that the first name wins for duplicated values */
        PyObject *n = PyTuple_GET_ITEM(names, i), *v = PyTuple_GET_ITEM(values, i);
        if (PyDict_SetItem(by_value, v, n) < 0 || PyDict_SetItem(by_name, n, v) < 0)
            goto error;
    }
    CTypeObject *ct = ctype_alloc((base->ct_flags & CT_PRIMITIVE_INTEGER) | CT_IS_ENUM,
                                  name, (Py_ssize_t)strlen(name));
    if (ct == NULL)
        goto error;
    ct->ct_size = base->ct_size;
    ct->ct_align = base->ct_align;
    ct->ct_enum_names = by_value;
    ct->ct_enum_values = by_name;
    return (PyObject *)ct;

error:
    Py_XDECREF(by_value);
    Py_XDECREF(by_name);
    return NULL;
}

static PyObject *getcname(PyObject *self, PyObject *args)
{
    CTypeObject *ct;
    const char *extra;
    if (!PyArg_ParseTuple(args, "O!s:getcname", &CType_Type, &ct, &extra))
        return NULL;
    return nffi_getcname(ct, extra);
}

PyObject *nffi_ctype_alignof(CTypeObject *ct)
{
    if (ct->ct_size < 0 && !(ct->ct_flags & CT_ARRAY)) {
        PyErr_Format(PyExc_ValueError, "ctype '%s' is of unknown alignment",
                     nffi_ctype_name(ct));
        return NULL;
    }
    return PyLong_FromSsize_t(ct->ct_align);
}

/* ---- CType object protocol ------------------------------------------------------ */

static void ctype_dealloc(CTypeObject *ct)
{
    PyObject_GC_UnTrack(ct);
    registry_remove(ct);
    if (ct->ct_weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)ct);
    Py_XDECREF(ct->ct_item);
    Py_XDECREF(ct->ct_open_array);
    Py_XDECREF(ct->ct_name);
    Py_XDECREF(ct->ct_fields);
    Py_XDECREF(ct->ct_members);
    Py_XDECREF(ct->ct_init_fields);
    Py_XDECREF(ct->ct_fn_args);
    Py_XDECREF(ct->ct_fn_result);
    Py_XDECREF(ct->ct_fn_abi);
    Py_XDECREF(ct->ct_enum_names);
    Py_XDECREF(ct->ct_enum_values);
    nffi_call_plan_free(ct->ct_call_plan);
    nffi_field_cache_clear(ct);
    Py_TYPE(ct)->tp_free((PyObject *)ct);
}

static int ctype_traverse(CTypeObject *ct, visitproc visit, void *arg)
{
    Py_VISIT(ct->ct_item);
    Py_VISIT(ct->ct_open_array);
    Py_VISIT(ct->ct_fields);
    Py_VISIT(ct->ct_members);
    Py_VISIT(ct->ct_init_fields);
    Py_VISIT(ct->ct_fn_args);
    Py_VISIT(ct->ct_fn_result);
    return 0;
}

/* Only the struct fields can form reference cycles (a field's type pointing back to
 * the struct through a cached array type); the other references are acyclic. */
static int ctype_clear(CTypeObject *ct)
{
    if (ct->ct_flags & CT_STRUCT_OR_UNION) {
        nffi_field_cache_clear(ct);
        Py_CLEAR(ct->ct_fields);
        Py_CLEAR(ct->ct_members);
        Py_CLEAR(ct->ct_init_fields);
    }
    return 0;
}

static PyObject *ctype_repr(CTypeObject *ct)
{
    return PyUnicode_FromFormat("<ctype '%U'>", ct->ct_name);
}

static const char *ctype_kind(CTypeObject *ct)
{
    int f = ct->ct_flags;
    if (f & CT_IS_ENUM) return "enum";
    if (f & CT_PRIMITIVE_ANY) return "primitive";
    if (f & CT_POINTER) return "pointer";
    if (f & CT_ARRAY) return "array";
    if (f & CT_VOID) return "void";
    if (f & CT_STRUCT) return "struct";
    if (f & CT_UNION) return "union";
    if (f & CT_FUNCTIONPTR) return "function";
    return "?";
}

static PyObject *no_attribute(CTypeObject *ct, const char *attr)
{
    PyErr_Format(PyExc_AttributeError, "ctype '%s' of kind '%s' has no attribute '%s'",
                 nffi_ctype_name(ct), ctype_kind(ct), attr);
    return NULL;
}

static PyObject *ctype_get_kind(CTypeObject *ct, void *c)
{
    return PyUnicode_FromString(ctype_kind(ct));
}

static PyObject *ctype_get_cname(CTypeObject *ct, void *c)
{
    Py_INCREF(ct->ct_name);
    return ct->ct_name;
}

static PyObject *ctype_get_item(CTypeObject *ct, void *c)
{
    if (!(ct->ct_flags & (CT_POINTER | CT_ARRAY)))
        return no_attribute(ct, "item");
    Py_INCREF(ct->ct_item);
    return (PyObject *)ct->ct_item;
}

static PyObject *ctype_get_length(CTypeObject *ct, void *c)
{
    if (!(ct->ct_flags & CT_ARRAY))
        return no_attribute(ct, "length");
    if (ct->ct_length < 0)
        Py_RETURN_NONE;
    return PyLong_FromSsize_t(ct->ct_length);
}

static PyObject *ctype_get_fields(CTypeObject *ct, void *c)
{
    if (!(ct->ct_flags & CT_STRUCT_OR_UNION))
        return no_attribute(ct, "fields");
    if (ct->ct_fields == NULL)
        Py_RETURN_NONE;
    return PyDict_Items(ct->ct_fields);
}

static PyObject *function_part(CTypeObject *ct, const char *attr, PyObject *value)
{
    if (!(ct->ct_flags & CT_FUNCTIONPTR))
        return no_attribute(ct, attr);
    return Py_NewRef(value);
}

static PyObject *ctype_get_args(CTypeObject *ct, void *c)
{ return function_part(ct, "args", ct->ct_fn_args); }
static PyObject *ctype_get_result(CTypeObject *ct, void *c)
{ return function_part(ct, "result", (PyObject *)ct->ct_fn_result); }
static PyObject *ctype_get_ellipsis(CTypeObject *ct, void *c)
{ return function_part(ct, "ellipsis", ct->ct_fn_ellipsis ? Py_True : Py_False); }

static PyObject *ctype_get_abi(CTypeObject *ct, void *c)
{
    if (!(ct->ct_flags & CT_FUNCTIONPTR))
        return no_attribute(ct, "abi");
    if (ct->ct_fn_abi == Py_None)
        return PyLong_FromLong(2);   /* FFI_DEFAULT_ABI on x86-64 and AArch64 Linux */
    return Py_NewRef(ct->ct_fn_abi);
}

static PyObject *enum_part(CTypeObject *ct, const char *attr, PyObject *dict)
{
    if (!(ct->ct_flags & CT_IS_ENUM))
        return no_attribute(ct, attr);
    return PyDict_Copy(dict);
}

static PyObject *ctype_get_elements(CTypeObject *ct, void *c)
{ return enum_part(ct, "elements", ct->ct_enum_names); }
static PyObject *ctype_get_relements(CTypeObject *ct, void *c)
{ return enum_part(ct, "relements", ct->ct_enum_values); }

static PyGetSetDef ctype_getset[] = {
    {"kind", (getter)ctype_get_kind, NULL, NULL},
    {"cname", (getter)ctype_get_cname, NULL, NULL},
    {"item", (getter)ctype_get_item, NULL, NULL},
    {"length", (getter)ctype_get_length, NULL, NULL},
    {"fields", (getter)ctype_get_fields, NULL, NULL},
    {"args", (getter)ctype_get_args, NULL, NULL},
    {"result", (getter)ctype_get_result, NULL, NULL},
    {"ellipsis", (getter)ctype_get_ellipsis, NULL, NULL},
    {"abi", (getter)ctype_get_abi, NULL, NULL},
    {"elements", (getter)ctype_get_elements, NULL, NULL},
    {"relements", (getter)ctype_get_relements, NULL, NULL},
    {NULL}
};

/* dir() lists only the attributes that exist for this kind, as cffi does */
static PyObject *ctype_dir(CTypeObject *ct, PyObject *noargs)
{
    int f = ct->ct_flags;
    if (f & CT_IS_ENUM)
        return Py_BuildValue("[ssss]", "cname", "elements", "kind", "relements");
    if (f & (CT_POINTER))
        return Py_BuildValue("[sss]", "cname", "item", "kind");
    if (f & CT_ARRAY)
        return Py_BuildValue("[ssss]", "cname", "item", "kind", "length");
    if (f & CT_STRUCT_OR_UNION)
        return Py_BuildValue("[sss]", "cname", "fields", "kind");
    if (f & CT_FUNCTIONPTR)
        return Py_BuildValue("[ssssss]", "abi", "args", "cname", "ellipsis", "kind", "result");
    return Py_BuildValue("[ss]", "cname", "kind");
}

static PyMethodDef ctype_methods[] = {
    {"__dir__", (PyCFunction)ctype_dir, METH_NOARGS, NULL},
    {NULL}
};

PyTypeObject CType_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CType",
    .tp_basicsize = sizeof(CTypeObject),
    .tp_dealloc = (destructor)ctype_dealloc,
    .tp_repr = (reprfunc)ctype_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)ctype_traverse,
    .tp_clear = (inquiry)ctype_clear,
    .tp_weaklistoffset = offsetof(CTypeObject, ct_weakreflist),
    .tp_getset = ctype_getset,
    .tp_methods = ctype_methods,
    .tp_doc = "A C type (the <ctype> objects of ffi.typeof()).",
};

/* ---- CField ------------------------------------------------------------------------ */

static void cfield_dealloc(CFieldObject *cf)
{
    Py_XDECREF(cf->cf_type);
    Py_XDECREF(cf->cf_name);
    PyObject_Free(cf);
}

static PyMemberDef cfield_members[] = {
    {"type", T_OBJECT, offsetof(CFieldObject, cf_type), READONLY},
    {"offset", T_PYSSIZET, offsetof(CFieldObject, cf_offset), READONLY},
    {"bitshift", T_SHORT, offsetof(CFieldObject, cf_bitshift), READONLY},
    {"bitsize", T_SHORT, offsetof(CFieldObject, cf_bitsize), READONLY},
    {"flags", T_INT, offsetof(CFieldObject, cf_flags), READONLY},
    {NULL}
};

PyTypeObject CField_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CField",
    .tp_basicsize = sizeof(CFieldObject),
    .tp_dealloc = (destructor)cfield_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_members = cfield_members,
};

/* ---- module registration ---------------------------------------------------------- */

static PyMethodDef ctype_functions[] = {
    {"new_primitive_type", new_primitive_type, METH_VARARGS, NULL},
    {"new_void_type", new_void_type, METH_NOARGS, NULL},
    {"new_pointer_type", new_pointer_type, METH_O, NULL},
    {"new_array_type", new_array_type, METH_VARARGS, NULL},
    {"new_struct_type", new_struct_type, METH_VARARGS, NULL},
    {"new_union_type", new_union_type, METH_VARARGS, NULL},
    {"complete_struct_or_union", complete_struct_or_union, METH_VARARGS, NULL},
    {"new_function_type", new_function_type, METH_VARARGS, NULL},
    {"new_enum_type", new_enum_type, METH_VARARGS, NULL},
    {"getcname", getcname, METH_VARARGS, NULL},
    {NULL}
};

int nffi_ctype_init(PyObject *module)
{
    registry = PyDict_New();
    if (registry == NULL || PyType_Ready(&CType_Type) < 0 || PyType_Ready(&CField_Type) < 0 ||
            make_primitives() < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "CType", (PyObject *)&CType_Type) < 0 ||
            PyModule_AddObjectRef(module, "CField", (PyObject *)&CField_Type) < 0)
        return -1;
    return PyModule_AddFunctions(module, ctype_functions);
}
