/* call.c -- calling C functions through libffi.
 *
 * Owns: the libffi description of a function ctype (an ffi_cif, the ffi_type array of
 * its arguments and the ffi_type structures of structs passed by value), built once
 * per function ctype in one PyMem block cached in ct_extra (ctype.c frees it); and
 * nffi_cdata_call, the tp_call of CData: fnptr(*args).  Arguments are converted with
 * the rules of ffi.new plus those of function calls (bytes for 'char *' and 'void *',
 * a list or tuple for 'T *', str for 'wchar_t *', a Python file for 'FILE *', cdata
 * objects in the variadic part), the call runs with the GIL released and with errno
 * restored from / saved into ffi.errno (errno.c), and the result is converted back.
 */
#include "nffi_core.h"
#include <alloca.h>
#include <errno.h>
#include <ffi.h>
#include <stdio.h>

#define ALIGN16(n) (((size_t)(n) + 15) & ~(size_t)15)
#define STACK_ARGS_LIMIT 2048      /* argument buffers up to this size live on the stack */
#define SMALL_RESULT 64            /* results up to this size go through a stack buffer */

typedef struct {
    ffi_cif cif;                 /* prepared for non-variadic functions only */
    Py_ssize_t nargs;            /* fixed arguments */
    int ellipsis;
    ffi_type **atypes;           /* nargs entries, then NULL */
    ffi_type *rtype;
    Py_ssize_t *arg_offsets;     /* where each fixed argument goes in the buffer */
    Py_ssize_t args_size;        /* bytes of the buffer of the fixed arguments */
    Py_ssize_t result_size;      /* bytes of the result buffer */
} CallInfo;

/* ---- ffi_type of a ctype ------------------------------------------------------------ */

static ffi_type *integer_ffi_type(Py_ssize_t size, int is_signed)
{
    switch (size) {
    case 1: return is_signed ? &ffi_type_sint8 : &ffi_type_uint8;
    case 2: return is_signed ? &ffi_type_sint16 : &ffi_type_uint16;
    case 4: return is_signed ? &ffi_type_sint32 : &ffi_type_uint32;
    case 8: return is_signed ? &ffi_type_sint64 : &ffi_type_uint64;
    }
    return NULL;
}

/* The ffi_type of a scalar ctype (pointers included), or NULL for anything else. */
static ffi_type *scalar_ffi_type(CTypeObject *ct)
{
    int f = ct->ct_flags;
    if (f & (CT_POINTER | CT_FUNCTIONPTR))
        return &ffi_type_pointer;
    if (f & CT_PRIMITIVE_FLOAT) {
        if (f & CT_IS_LONGDOUBLE)
            return &ffi_type_longdouble;
        return ct->ct_size == sizeof(float) ? &ffi_type_float : &ffi_type_double;
    }
    if (f & CT_PRIMITIVE_INTEGER)
        return integer_ffi_type(ct->ct_size, (f & CT_PRIMITIVE_SIGNED) != 0);
    if (f & CT_PRIMITIVE_CHAR) {
        int is_signed = ct->ct_char_kind == 1 ? ((char)-1 < 0) : (f & CT_IS_SIGNED_WCHAR) != 0;
        return integer_ffi_type(ct->ct_size, is_signed);
    }
    return NULL;
}

static const char API_MODE_ONLY[] = "if the function is 'API mode' and non-variadic (i.e. "
    "declared inside ffibuilder.cdef()+ffibuilder.set_source() and not taking a final "
    "'...' argument)";

static Py_ssize_t unsupported(CTypeObject *top, CTypeObject *ct, const char *role)
{
    const char *name = nffi_ctype_name(top);
    if (ct->ct_flags & CT_UNION)
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s by libffi.  "
                     "Unions are only supported as %s %s", name, role, role, API_MODE_ONLY);
    else if (ct->ct_flags & CT_PRIMITIVE_COMPLEX)
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' (size %zd) not supported as %s "
                     "(libffi has no support for complex types: they can only be passed to "
                     "and from API-mode functions)", name, top->ct_size, role);
    else
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s (its "
                     "layout is packed or otherwise not the natural one, which libffi "
                     "cannot describe)", name, role);
    return -1;
}

/* Strip array levels: the element type and how many of it ('T[2][3]' -> T, 6). */
static CTypeObject *element_type(CTypeObject *ct, Py_ssize_t *count)
{
    *count = 1;
    while (ct->ct_flags & CT_ARRAY) {
        *count *= ct->ct_length > 0 ? ct->ct_length : 0;
        ct = ct->ct_item;
    }
    return ct;
}

static int has_bitfields(CTypeObject *ct)
{
    Py_ssize_t n = PyTuple_GET_SIZE(ct->ct_field_list);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GET_ITEM(ct->ct_field_list, i);
        if (((CFieldObject *)PyTuple_GET_ITEM(pair, 1))->cf_bitshift >= 0)
            return 1;
    }
    return 0;
}

static Py_ssize_t type_cost(CTypeObject *ct, CTypeObject *top, const char *role);

/* Check that a struct is laid out the way libffi lays out its element list (natural
 * alignment, no packing) and count the bytes its description needs. */
static Py_ssize_t struct_cost(CTypeObject *ct, CTypeObject *top, const char *role)
{
    if (has_bitfields(ct)) {
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s.  It is a "
                     "struct with bit fields, which libffi does not support.  Such structs "
                     "are only supported as %s %s", nffi_ctype_name(top), role, role,
                     API_MODE_ONLY);
        return -1;
    }
    PyObject *fields = ct->ct_stuff;     /* declared members, anonymous ones unflattened */
    Py_ssize_t nfields = PyTuple_GET_SIZE(fields), nelems = 0, offset = 0, align = 1;
    Py_ssize_t cost = 0;
    for (Py_ssize_t i = 0; i < nfields; i++) {
        CFieldObject *cf = (CFieldObject *)PyTuple_GET_ITEM(fields, i);
        Py_ssize_t count;
        CTypeObject *item = element_type(cf->cf_type, &count);
        if (count == 0)
            continue;
        Py_ssize_t sub = type_cost(item, top, role);
        if (sub < 0)
            return -1;
        cost += sub;
        nelems += count;
        offset = (offset + item->ct_align - 1) / item->ct_align * item->ct_align;
        if (offset != cf->cf_offset)
            return unsupported(top, ct, role);
        offset += cf->cf_type->ct_size;
        if (item->ct_align > align)
            align = item->ct_align;
    }
    offset = (offset + align - 1) / align * align;
    if (nelems == 0 || offset != ct->ct_size || align != ct->ct_align)
        return unsupported(top, ct, role);
    return cost + ALIGN16(sizeof(ffi_type)) + ALIGN16((nelems + 1) * sizeof(ffi_type *));
}

/* Bytes the description of ct needs beyond the static ffi_types (0 for scalars), or -1
 * with an exception if libffi cannot pass ct.  'role': "argument" or "return value". */
static Py_ssize_t type_cost(CTypeObject *ct, CTypeObject *top, const char *role)
{
    if (scalar_ffi_type(ct) != NULL)
        return 0;
    if (ct->ct_flags & CT_STRUCT_OR_UNION) {
        if (ct->ct_flags & CT_IS_OPAQUE) {
            if (ct == top && role[0] == 'r')
                PyErr_Format(PyExc_TypeError, "result type '%s' is not yet initialized",
                             nffi_ctype_name(ct));
            else
                PyErr_Format(PyExc_TypeError, "ctype '%s' has incomplete type",
                             nffi_ctype_name(ct));
            return -1;
        }
        if (ct->ct_flags & CT_UNION)
            return unsupported(top, ct, role);
        /* structs nest without bound: keep the recursion within Python's limit */
        if (Py_EnterRecursiveCall(" while describing a struct to libffi"))
            return -1;
        Py_ssize_t cost = struct_cost(ct, top, role);
        Py_LeaveRecursiveCall();
        return cost;
    }
    return unsupported(top, ct, role);
}

static void *arena_take(char **arena, size_t size)
{
    void *p = *arena;
    *arena += ALIGN16(size);
    return p;
}

/* Fill the description of ct (checked by type_cost) from the arena. */
static ffi_type *build_type(CTypeObject *ct, char **arena)
{
    ffi_type *scalar = scalar_ffi_type(ct);
    if (scalar != NULL)
        return scalar;
    PyObject *fields = ct->ct_stuff;
    Py_ssize_t nfields = PyTuple_GET_SIZE(fields), nelems = 0, count;
    for (Py_ssize_t i = 0; i < nfields; i++) {
        element_type(((CFieldObject *)PyTuple_GET_ITEM(fields, i))->cf_type, &count);
        nelems += count;
    }
    ffi_type *t = arena_take(arena, sizeof(ffi_type));
    ffi_type **elements = arena_take(arena, (nelems + 1) * sizeof(ffi_type *));
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < nfields; i++) {
        CTypeObject *item = element_type(((CFieldObject *)PyTuple_GET_ITEM(fields, i))->cf_type,
                                         &count);
        if (count == 0)
            continue;
        ffi_type *it = build_type(item, arena);
        for (Py_ssize_t j = 0; j < count; j++)
            elements[k++] = it;
    }
    elements[k] = NULL;
    t->size = 0;
    t->alignment = 0;
    t->type = FFI_TYPE_STRUCT;
    t->elements = elements;
    return t;
}

/* ---- the cached call description ---------------------------------------------------- */

static Py_ssize_t slot_size(CTypeObject *ct)
{
    return ALIGN16(ct->ct_size > (Py_ssize_t)sizeof(ffi_arg) ? ct->ct_size
                                                           : (Py_ssize_t)sizeof(ffi_arg));
}

static Py_ssize_t result_cost(CTypeObject *rct)
{
    if (rct->ct_flags & CT_VOID)
        return 0;
    return type_cost(rct, rct, "return value");
}

static CallInfo *build_call_info(CTypeObject *fct)
{
    PyObject *fargs = PyTuple_GET_ITEM(fct->ct_stuff, 0);
    CTypeObject *rct = (CTypeObject *)PyTuple_GET_ITEM(fct->ct_stuff, 1);
    Py_ssize_t nargs = PyTuple_GET_SIZE(fargs);
    Py_ssize_t cost = result_cost(rct);
    if (cost < 0)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        CTypeObject *at = (CTypeObject *)PyTuple_GET_ITEM(fargs, i);
        Py_ssize_t c = type_cost(at, at, "argument");
        if (c < 0)
            return NULL;
        cost += c;
    }
    size_t total = ALIGN16(sizeof(CallInfo)) + ALIGN16((nargs + 1) * sizeof(ffi_type *)) +
                   ALIGN16((nargs + 1) * sizeof(Py_ssize_t)) + (size_t)cost;
    char *block = PyMem_Malloc(total);
    if (block == NULL)
        return (CallInfo *)PyErr_NoMemory();
    memset(block, 0, total);
    char *arena = block;
    CallInfo *info = arena_take(&arena, sizeof(CallInfo));
    info->atypes = arena_take(&arena, (nargs + 1) * sizeof(ffi_type *));
    info->arg_offsets = arena_take(&arena, (nargs + 1) * sizeof(Py_ssize_t));
    info->nargs = nargs;
    info->ellipsis = PyTuple_GET_ITEM(fct->ct_stuff, 2) == Py_True;
    info->rtype = (rct->ct_flags & CT_VOID) ? &ffi_type_void : build_type(rct, &arena);
    Py_ssize_t offset = 0;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        CTypeObject *at = (CTypeObject *)PyTuple_GET_ITEM(fargs, i);
        info->atypes[i] = build_type(at, &arena);
        info->arg_offsets[i] = offset;
        offset += slot_size(at);
    }
    info->args_size = offset;
    info->result_size = (rct->ct_flags & CT_VOID) ? (Py_ssize_t)sizeof(ffi_arg)
                                                  : ALIGN16(rct->ct_size > 16 ? rct->ct_size : 16);
    if (!info->ellipsis && ffi_prep_cif(&info->cif, FFI_DEFAULT_ABI, (unsigned)nargs,
                                        info->rtype, info->atypes) != FFI_OK) {
        PyMem_Free(block);
        PyErr_Format(PyExc_NotImplementedError, "libffi cannot prepare a call of '%s'",
                     nffi_ctype_name(fct));
        return NULL;
    }
    return info;
}

static CallInfo *get_call_info(CTypeObject *fct)
{
    if (fct->ct_extra == NULL)
        fct->ct_extra = build_call_info(fct);
    return (CallInfo *)fct->ct_extra;
}

void *nffi_function_cif(CTypeObject *fct)
{
    CallInfo *info = get_call_info(fct);
    if (info == NULL)
        return NULL;
    if (info->ellipsis) {
        PyErr_Format(PyExc_NotImplementedError, "'%s' is variadic", nffi_ctype_name(fct));
        return NULL;
    }
    return &info->cif;
}

/* ---- temporary memory of one call ------------------------------------------------------ */

/* Arrays built from lists, str buffers, FILE * made from Python files: freed (and
 * closed) when the call returns. */
struct TempBlock {
    struct TempBlock *next;
    FILE *file;
    max_align_t data[];
};

static void *temp_alloc(TempBlock **temps, size_t size)
{
    TempBlock *b = PyMem_Malloc(sizeof(TempBlock) + size);
    if (b == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    b->next = *temps;
    b->file = NULL;
    *temps = b;
    memset(b->data, 0, size);
    return b->data;
}

void nffi_call_temps_free(TempBlock *t)
{
    while (t != NULL) {
        TempBlock *next = t->next;
        if (t->file != NULL)
            fclose(t->file);
        PyMem_Free(t);
        t = next;
    }
}

/* ---- arguments ------------------------------------------------------------------------ */

static void store_pointer(char *slot, const void *p)
{
    memcpy(slot, &p, sizeof(p));
}

/* 'T[]' for a 'T *', cached in the pointer type's ct_stuff as cdata.c does (borrowed) */
static CTypeObject *open_array_of(CTypeObject *ptrtype)
{
    if (ptrtype->ct_stuff == NULL) {
        CTypeObject *arr = nffi_new_array_type(ptrtype, -1);
        if (arr == NULL)
            return NULL;
        ptrtype->ct_stuff = (PyObject *)arr;
    }
    return (CTypeObject *)ptrtype->ct_stuff;
}

/* A list, tuple or str given for a 'T *': a temporary 'T[]' holding its items. */
static int array_argument(char *slot, CTypeObject *ct, PyObject *obj, TempBlock **temps)
{
    CTypeObject *item = ct->ct_item;
    if (PyUnicode_Check(obj) &&
            !((item->ct_flags & CT_PRIMITIVE_CHAR) && item->ct_char_kind > 1)) {
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be a %s, not str",
                     nffi_ctype_name(ct), (ct->ct_flags & CT_IS_CHAR_PTR)
                     ? "bytes or list or tuple" : "list or tuple");
        return -1;
    }
    CTypeObject *arr = open_array_of(ct);
    if (arr == NULL)
        return -1;
    Py_ssize_t n = nffi_initializer_length(arr, obj);
    if (n < 0)
        return -1;
    if (item->ct_size > 0 && n > (PY_SSIZE_T_MAX - 1024) / item->ct_size) {
        PyErr_SetString(PyExc_OverflowError, "array size would overflow a ssize_t");
        return -1;
    }
    char *buf = temp_alloc(temps, (size_t)(n * item->ct_size));
    if (buf == NULL || nffi_convert_array_from_object(buf, arr, obj, n) < 0)
        return -1;
    store_pointer(slot, buf);
    return 0;
}

/* A Python file object for a 'FILE *': a FILE of its own for the call (file.c). */
static int file_argument(char *slot, PyObject *obj, TempBlock **temps)
{
    if (temp_alloc(temps, 0) == NULL)
        return -1;
    FILE *f = nffi_file_copy(obj);
    if (f == NULL)
        return -1;
    (*temps)->file = f;
    store_pointer(slot, f);
    return 0;
}

static int pointer_argument(char *slot, CTypeObject *ct, PyObject *obj, TempBlock **temps)
{
    if (CData_Check(obj))
        return nffi_convert_from_object(slot, ct, obj);
    CTypeObject *item = ct->ct_item;
    if (PyBytes_Check(obj) && (ct->ct_flags & (CT_IS_CHAR_PTR | CT_IS_VOID_PTR))) {
        store_pointer(slot, PyBytes_AS_STRING(obj));
        return 0;
    }
    if ((PyList_Check(obj) || PyTuple_Check(obj) || PyUnicode_Check(obj)) &&
            item->ct_size >= 0 && !(item->ct_flags & CT_VOID))
        return array_argument(slot, ct, obj, temps);
    if (item->ct_flags & CT_IS_FILE) {
        int is_file = nffi_is_python_file(obj);
        if (is_file < 0)
            return -1;
        if (is_file)
            return file_argument(slot, obj, temps);
    }
    return nffi_convert_from_object(slot, ct, obj);
}

/* Add "argument N of 'int(*)(int)'" to the pending exception, as a note (PEP 678):
 * the message itself stays cffi's. */
void nffi_note_argument(Py_ssize_t index, CTypeObject *fct)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL) {
        PyObject *r = PyObject_CallMethod(value, "add_note", "N",
                                          PyUnicode_FromFormat("argument %zd of '%s'",
                                                               index + 1,
                                                               nffi_ctype_name(fct)));
        if (r == NULL)
            PyErr_Clear();
        Py_XDECREF(r);
    }
    PyErr_Restore(type, value, tb);
}

/* One fixed argument of a call into 'slot' (also for API mode's generated wrappers,
 * through capi.c): temporaries it needs are chained on *temps. */
int nffi_convert_call_argument(char *slot, CTypeObject *ct, PyObject *obj, TempBlock **temps)
{
    if (ct->ct_flags & CT_POINTER)
        return pointer_argument(slot, ct, obj, temps);
    if (ct->ct_flags & CT_STRUCT_OR_UNION)
        memset(slot, 0, ct->ct_size);     /* fields a list or dict leaves out are 0 */
    return nffi_convert_from_object(slot, ct, obj);
}

/* ---- the variadic part ------------------------------------------------------------------ */

static int variadic_type_error(Py_ssize_t index, PyObject *obj)
{
    PyErr_Format(PyExc_TypeError, "argument %zd passed in the variadic part needs to be a "
                 "cdata object (got %.200s)", index + 1, Py_TYPE(obj)->tp_name);
    return -1;
}

/* Bytes a variadic argument takes in the buffer (after the C promotions). */
static Py_ssize_t variadic_slot_size(PyObject *obj)
{
    CTypeObject *ct = ((CDataObject *)obj)->c_type;
    if (ct->ct_flags & (CT_STRUCT_OR_UNION | CT_IS_LONGDOUBLE))
        return slot_size(ct);
    return 16;
}

/* Write a cdata passed in the variadic part with the default argument promotions of C
 * (small integers to int, float to double, arrays to pointers). */
static int variadic_argument(char *slot, CDataObject *cd, ffi_type **type, TempBlock **temps)
{
    CTypeObject *ct = cd->c_type;
    int f = ct->ct_flags;
    if (f & (CT_POINTER | CT_FUNCTIONPTR | CT_ARRAY)) {
        store_pointer(slot, cd->c_data);
        *type = &ffi_type_pointer;
        return 0;
    }
    if ((f & CT_PRIMITIVE_FLOAT) && !(f & CT_IS_LONGDOUBLE)) {
        double d = nffi_read_float(cd->c_data, ct);
        memcpy(slot, &d, sizeof(d));
        *type = &ffi_type_double;
        return 0;
    }
    ffi_type *t = scalar_ffi_type(ct);
    if (t != NULL && ct->ct_size < (Py_ssize_t)sizeof(int)) {
        int is_signed = t == &ffi_type_sint8 || t == &ffi_type_sint16;
        int v = is_signed ? (int)nffi_read_signed(cd->c_data, ct->ct_size)
                          : (int)nffi_read_unsigned(cd->c_data, ct->ct_size);
        memcpy(slot, &v, sizeof(v));
        *type = &ffi_type_sint;
        return 0;
    }
    if (t == NULL) {
        Py_ssize_t cost = type_cost(ct, ct, "argument");
        if (cost < 0)
            return -1;
        char *arena = temp_alloc(temps, (size_t)cost);
        if (arena == NULL)
            return -1;
        t = build_type(ct, &arena);
    }
    memcpy(slot, cd->c_data, ct->ct_size);
    *type = t;
    return 0;
}

/* ---- the call --------------------------------------------------------------------------- */

typedef struct {
    CTypeObject *fct;
    CallInfo *info;
    ffi_cif cif;                 /* for variadic calls */
    ffi_cif *cifp;
    void **avalues;
    TempBlock *temps;
} Call;

static int convert_fixed_arguments(Call *call, PyObject *const *args, char *buffer)
{
    PyObject *fargs = PyTuple_GET_ITEM(call->fct->ct_stuff, 0);
    for (Py_ssize_t i = 0; i < call->info->nargs; i++) {
        char *slot = buffer + call->info->arg_offsets[i];
        if (nffi_convert_call_argument(slot, (CTypeObject *)PyTuple_GET_ITEM(fargs, i),
                             args[i], &call->temps) < 0) {
            nffi_note_argument(i, call->fct);
            return -1;
        }
        call->avalues[i] = slot;
    }
    return 0;
}

/* Buffers, conversion and cif of a call with a variadic part. */
static int prepare_variadic(Call *call, PyObject *const *args, Py_ssize_t ntotal)
{
    Py_ssize_t nfixed = call->info->nargs;
    Py_ssize_t size = call->info->args_size;
    for (Py_ssize_t i = nfixed; i < ntotal; i++) {
        PyObject *obj = args[i];
        if (!CData_Check(obj))
            return variadic_type_error(i, obj);
        size += variadic_slot_size(obj);
    }
    char *buffer = temp_alloc(&call->temps, (size_t)size);
    ffi_type **atypes = temp_alloc(&call->temps, (ntotal + 1) * sizeof(ffi_type *));
    call->avalues = temp_alloc(&call->temps, (ntotal + 1) * sizeof(void *));
    if (buffer == NULL || atypes == NULL || call->avalues == NULL)
        return -1;
    if (convert_fixed_arguments(call, args, buffer) < 0)
        return -1;
    memcpy(atypes, call->info->atypes, nfixed * sizeof(ffi_type *));
    char *slot = buffer + call->info->args_size;
    for (Py_ssize_t i = nfixed; i < ntotal; i++) {
        CDataObject *cd = (CDataObject *)args[i];
        if (variadic_argument(slot, cd, &atypes[i], &call->temps) < 0) {
            nffi_note_argument(i, call->fct);
            return -1;
        }
        call->avalues[i] = slot;
        slot += variadic_slot_size((PyObject *)cd);
    }
    if (ffi_prep_cif_var(&call->cif, FFI_DEFAULT_ABI, (unsigned)nfixed, (unsigned)ntotal,
                         call->info->rtype, atypes) != FFI_OK) {
        PyErr_Format(PyExc_NotImplementedError, "libffi cannot prepare this call of '%s'",
                     nffi_ctype_name(call->fct));
        return -1;
    }
    call->cifp = &call->cif;
    return 0;
}

static int check_callable(CDataObject *cd, int has_keywords)
{
    CTypeObject *ct = cd->c_type;
    if (!(ct->ct_flags & CT_FUNCTIONPTR)) {
        PyErr_Format(PyExc_TypeError, "cdata '%s' is not callable", nffi_ctype_name(ct));
        return -1;
    }
    if (has_keywords) {
        PyErr_SetString(PyExc_TypeError,
                        "a cdata function cannot be called with keyword arguments");
        return -1;
    }
    if (cd->c_data == NULL) {
        PyErr_Format(PyExc_RuntimeError, "cannot call null pointer pointer from cdata '%s'",
                     nffi_ctype_name(ct));
        return -1;
    }
    if (cd->c_owner != NULL && nffi_library_check_open(cd->c_owner) < 0)
        return -1;
    return 0;
}

static int check_count(Call *call, Py_ssize_t got)
{
    Py_ssize_t expected = call->info->nargs;
    if (call->info->ellipsis ? got >= expected : got == expected)
        return 0;
    PyErr_Format(PyExc_TypeError, "'%s' expects %s%zd arguments, got %zd",
                 nffi_ctype_name(call->fct), call->info->ellipsis ? "at least " : "",
                 expected, got);
    return -1;
}

static PyObject *convert_result(Call *call, char *rbuf, CDataObject *big_result)
{
    CTypeObject *rct = (CTypeObject *)PyTuple_GET_ITEM(call->fct->ct_stuff, 1);
    if (big_result != NULL)
        return (PyObject *)big_result;
    if (rct->ct_flags & CT_VOID)
        Py_RETURN_NONE;
    if (rct->ct_flags & CT_STRUCT_OR_UNION) {
        CDataObject *cd = nffi_cdata_new_owned(rct, rct->ct_size, 0);
        if (cd != NULL)
            memcpy(cd->c_data, rbuf, rct->ct_size);
        return (PyObject *)cd;
    }
    return nffi_convert_to_object(rbuf, rct, NULL);
}

static void do_call(ffi_cif *cif, void *fn, void *rvalue, void **avalues)
{
    Py_BEGIN_ALLOW_THREADS
    errno = nffi_saved_errno;
    ffi_call(cif, FFI_FN(fn), rvalue, avalues);
    nffi_saved_errno = errno;
    Py_END_ALLOW_THREADS
}

PyObject *nffi_call_libffi(CDataObject *cd, PyObject *const *args, Py_ssize_t nargs,
                           int has_keywords)
{
    if (check_callable(cd, has_keywords) < 0)
        return NULL;
    Call call = { cd->c_type, NULL, {0}, NULL, NULL, NULL };
    call.info = get_call_info(call.fct);
    if (call.info == NULL || check_count(&call, nargs) < 0)
        return NULL;
    int ok;
    if (call.info->ellipsis) {
        ok = prepare_variadic(&call, args, nargs) == 0;
    }
    else {
        Py_ssize_t size = call.info->args_size;
        char *buffer = size <= STACK_ARGS_LIMIT ? alloca(size + 16)
                                                : temp_alloc(&call.temps, (size_t)size);
        call.avalues = alloca((call.info->nargs + 1) * sizeof(void *));
        call.cifp = &call.info->cif;
        ok = buffer != NULL && convert_fixed_arguments(&call, args, buffer) == 0;
    }
    PyObject *result = NULL;
    if (ok) {
        max_align_t small[SMALL_RESULT / sizeof(max_align_t)];
        char *rbuf = (char *)small;
        CDataObject *big = NULL;
        if (call.info->result_size > SMALL_RESULT) {
            CTypeObject *rct = (CTypeObject *)PyTuple_GET_ITEM(call.fct->ct_stuff, 1);
            big = nffi_cdata_new_owned(rct, rct->ct_size, 0);
            rbuf = big ? big->c_data : NULL;
        }
        if (rbuf != NULL) {
            do_call(call.cifp, cd->c_data, rbuf, call.avalues);
            result = convert_result(&call, rbuf, big);
        }
    }
    nffi_call_temps_free(call.temps);
    return result;
}

PyObject *nffi_cdata_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    return nffi_call_libffi((CDataObject *)self, &PyTuple_GET_ITEM(args, 0),
                            PyTuple_GET_SIZE(args), kwds != NULL && PyDict_GET_SIZE(kwds) != 0);
}
