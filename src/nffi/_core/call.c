/* call.c -- calling C functions through libffi.
 *
 * Owns the libffi part of a call plan (an ffi_cif, the ffi_type array of the arguments
 * and the ffi_type structures of structs passed by value, in one PyMem block built at
 * the first libffi call of a function type), the temporaries of a call (NffiTemps:
 * nffi_temps_alloc/free, also for generated wrappers), and nffi_call_libffi / nffi_cdata_call
 * (the tp_call of CData: fnptr(*args)).  Arguments are converted by the conversion
 * engine under the call-argument policy (convert.c), the variadic part takes cdata
 * objects with C's default promotions, the call runs inside the errno/GIL bracket
 * (nffi_core.h), and the result is converted back.
 */
#include "nffi_core.h"
#include <alloca.h>
#include <ffi.h>
#include <stdio.h>

#define ALIGN16(n) (((size_t)(n) + 15) & ~(size_t)15)
#define STACK_ARGS_LIMIT 2048      /* argument buffers up to this size live on the stack */
#define SMALL_RESULT 64            /* results up to this size go through a stack buffer */

typedef struct LibffiCall {
    ffi_cif cif;                 /* prepared for non-variadic functions only */
    ffi_type **atypes;           /* nargs entries, then NULL */
    ffi_type *rtype;
    Py_ssize_t *arg_offsets;     /* where each fixed argument goes in the buffer */
    Py_ssize_t args_size;        /* bytes of the buffer of the fixed arguments */
    Py_ssize_t result_size;      /* bytes of the result buffer */
} LibffiCall;

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
    if (f & (CT_PRIMITIVE_INTEGER | CT_PRIMITIVE_CHAR))
        return integer_ffi_type(ct->ct_size, nffi_abi_signed(ct));
    return NULL;
}

static const char API_MODE_ONLY[] = "if the function is 'API mode' and non-variadic (i.e. "
    "declared inside ffibuilder.cdef()+ffibuilder.set_source() and not taking a final "
    "'...' argument)";

/* Is ct aligned less than one of its members' types (packed, or '#pragma pack')? */
static int is_packed(CTypeObject *ct)
{
    if (ct->ct_flags & CT_IS_PACKED)
        return 1;
    if (!(ct->ct_flags & CT_STRUCT_OR_UNION) || ct->ct_members == NULL)
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ct->ct_members); i++) {
        CTypeObject *ft = ((CFieldObject *)PyTuple_GET_ITEM(ct->ct_members, i))->cf_type;
        if (ft->ct_align > ct->ct_align)
            return 1;
    }
    return 0;
}

static int unsupported(CTypeObject *top, CTypeObject *ct, const char *role)
{
    const char *name = nffi_ctype_name(top);
    if (ct->ct_flags & CT_UNION)
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s by libffi.  "
                     "Unions are only supported as %s %s", name, role, role, API_MODE_ONLY);
    else if (ct->ct_flags & CT_PRIMITIVE_COMPLEX)
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' (size %zd) not supported as %s "
                     "(libffi has no support for complex types: they can only be passed to "
                     "and from API-mode functions)", name, top->ct_size, role);
    else if (is_packed(ct))
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s.  It is a "
                     "'packed' structure, with a different layout than expected by libffi."
                     "  Such structs are only supported as %s %s", name, role, role,
                     API_MODE_ONLY);
    else        /* cffi's wording: the fields are not where libffi would put them */
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s.  It is a "
                     "struct declared with \"...;\", but the C calling convention may "
                     "depend on the missing fields; or, it contains anonymous "
                     "struct/unions.  Such structs are only supported as %s %s", name,
                     role, role, API_MODE_ONLY);
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
    Py_ssize_t pos = 0;
    PyObject *name, *cf;
    while (PyDict_Next(ct->ct_fields, &pos, &name, &cf)) {
        if (((CFieldObject *)cf)->cf_bitshift >= 0)
            return 1;
    }
    return 0;
}

static void *arena_take(char **arena, size_t size)
{
    void *p = *arena;
    *arena += ALIGN16(size);
    return p;
}

static ffi_type *describe(CTypeObject *ct, CTypeObject *top, const char *role, char **arena,
                          Py_ssize_t *cost);

/* A struct laid out the way libffi lays out its element list (natural alignment, no
 * packing): see describe(). */
static ffi_type *describe_struct(CTypeObject *ct, CTypeObject *top, const char *role,
                                 char **arena, Py_ssize_t *cost)
{
    if (has_bitfields(ct)) {
        PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s.  It is a "
                     "struct with bit fields, which libffi does not support.  Such structs "
                     "are only supported as %s %s", nffi_ctype_name(top), role, role,
                     API_MODE_ONLY);
        return NULL;
    }
    PyObject *fields = ct->ct_members;   /* declared members, anonymous ones unflattened */
    Py_ssize_t nfields = PyTuple_GET_SIZE(fields), nelems = 0, offset = 0, align = 1, count;
    for (Py_ssize_t i = 0; i < nfields; i++) {
        CFieldObject *cf = (CFieldObject *)PyTuple_GET_ITEM(fields, i);
        CTypeObject *item = element_type(cf->cf_type, &count);
        /* an anonymous union: cffi's message for anonymous members (nffi describes
           anonymous structs, which cffi refuses too) */
        if (PyUnicode_GET_LENGTH(cf->cf_name) == 0 && (cf->cf_type->ct_flags & CT_UNION))
            return unsupported(top, ct, role), NULL;
        if ((cf->cf_type->ct_flags & CT_ARRAY) && cf->cf_type->ct_length == 0) {
            PyErr_Format(PyExc_NotImplementedError, "ctype '%s' not supported as %s.  It "
                         "is a struct with a zero-length array, which libffi does not "
                         "support.  Such structs are only supported as %s %s",
                         nffi_ctype_name(top), role, role, API_MODE_ONLY);
            return NULL;
        }
        if (count == 0)
            continue;
        if (arena == NULL && describe(item, top, role, NULL, cost) == NULL)
            return NULL;
        nelems += count;
        offset = (offset + item->ct_align - 1) / item->ct_align * item->ct_align;
        if (offset != cf->cf_offset)
            return unsupported(top, ct, role), NULL;
        offset += cf->cf_type->ct_size;
        if (item->ct_align > align)
            align = item->ct_align;
    }
    offset = (offset + align - 1) / align * align;
    if (nelems == 0 || offset != ct->ct_size || align != ct->ct_align)
        return unsupported(top, ct, role), NULL;
    *cost += ALIGN16(sizeof(ffi_type)) + ALIGN16((nelems + 1) * sizeof(ffi_type *));
    if (arena == NULL)
        return &ffi_type_void;            /* checked and counted, not built */
    ffi_type *t = arena_take(arena, sizeof(ffi_type));
    ffi_type **elements = arena_take(arena, (nelems + 1) * sizeof(ffi_type *));
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < nfields; i++) {
        CTypeObject *item = element_type(((CFieldObject *)PyTuple_GET_ITEM(fields, i))->cf_type,
                                         &count);
        ffi_type *it = count > 0 ? describe(item, top, role, arena, cost) : NULL;
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

/* The ffi_type of ct, in two passes over the same rules: with arena NULL, check that
 * libffi can pass ct (else NULL + an exception naming 'top' and 'role', "argument" or
 * "return value") and add to *cost the bytes its description takes beyond the static
 * ffi_types; then, with an arena of that size, build it there. */
static ffi_type *describe(CTypeObject *ct, CTypeObject *top, const char *role, char **arena,
                          Py_ssize_t *cost)
{
    ffi_type *scalar = scalar_ffi_type(ct);
    if (scalar != NULL)
        return scalar;
    if ((ct->ct_flags & CT_STRUCT_OR_UNION) && (ct->ct_flags & CT_IS_OPAQUE)) {
        if (ct == top && role[0] == 'r')
            PyErr_Format(PyExc_TypeError, "result type '%s' is not yet initialized",
                         nffi_ctype_name(ct));
        else
            PyErr_Format(PyExc_TypeError, "ctype '%s' has incomplete type",
                         nffi_ctype_name(ct));
        return NULL;
    }
    if (!(ct->ct_flags & CT_STRUCT))
        return unsupported(top, ct, role), NULL;
    /* structs nest without bound: keep the recursion within Python's limit */
    if (nffi_enter_nesting(" while describing a struct to libffi") < 0)
        return NULL;
    ffi_type *t = describe_struct(ct, top, role, arena, cost);
    nffi_leave_nesting();
    return t;
}

/* ---- temporaries of a call ------------------------------------------------------------- */

void *nffi_temps_alloc(NffiTemps **temps, size_t size)
{
    NffiTemps *b = PyMem_Malloc(sizeof(NffiTemps) + size);
    if (b == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    b->next = *temps;
    *temps = b;
    memset(b->data, 0, size);
    return b->data;
}

void nffi_temps_free(NffiTemps *t)
{
    while (t != NULL) {
        NffiTemps *next = t->next;
        PyMem_Free(t);
        t = next;
    }
}

/* ---- libffi's part of the call plan ------------------------------------------------ */

static Py_ssize_t slot_size(CTypeObject *ct)
{
    return ALIGN16(ct->ct_size > (Py_ssize_t)sizeof(ffi_arg) ? ct->ct_size
                                                           : (Py_ssize_t)sizeof(ffi_arg));
}

static LibffiCall *build_libffi(const NffiCallPlan *plan, CTypeObject *fct)
{
    CTypeObject *rct = plan->result.ct;
    int is_void = plan->result.kind == NFFI_ARG_VOID;
    Py_ssize_t nargs = plan->nargs;
    Py_ssize_t cost = 0;
    if (!is_void && describe(rct, rct, "return value", NULL, &cost) == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++)
        if (describe(plan->args[i].ct, plan->args[i].ct, "argument", NULL, &cost) == NULL)
            return NULL;
    size_t total = ALIGN16(sizeof(LibffiCall)) + ALIGN16((nargs + 1) * sizeof(ffi_type *)) +
                   ALIGN16((nargs + 1) * sizeof(Py_ssize_t)) + (size_t)cost;
    char *block = PyMem_Calloc(1, total);
    if (block == NULL)
        return (LibffiCall *)PyErr_NoMemory();
    char *arena = block;
    LibffiCall *info = arena_take(&arena, sizeof(LibffiCall));
    info->atypes = arena_take(&arena, (nargs + 1) * sizeof(ffi_type *));
    info->arg_offsets = arena_take(&arena, (nargs + 1) * sizeof(Py_ssize_t));
    info->rtype = is_void ? &ffi_type_void : describe(rct, rct, "return value", &arena, &cost);
    Py_ssize_t offset = 0;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        info->atypes[i] = describe(plan->args[i].ct, plan->args[i].ct, "argument", &arena, &cost);
        info->arg_offsets[i] = offset;
        offset += slot_size(plan->args[i].ct);
    }
    info->args_size = offset;
    info->result_size = is_void ? (Py_ssize_t)sizeof(ffi_arg)
                                : ALIGN16(rct->ct_size > 16 ? rct->ct_size : 16);
    if (!plan->ellipsis && ffi_prep_cif(&info->cif, FFI_DEFAULT_ABI, (unsigned)nargs,
                                        info->rtype, info->atypes) != FFI_OK) {
        PyMem_Free(block);
        PyErr_Format(PyExc_NotImplementedError, "libffi cannot prepare a call of '%s'",
                     nffi_ctype_name(fct));
        return NULL;
    }
    return info;
}

/* The plan of fct with its libffi part, or NULL + exception if libffi cannot call it. */
static NffiCallPlan *libffi_plan(CTypeObject *fct)
{
    NffiCallPlan *plan = nffi_call_plan(fct);
    if (plan != NULL && plan->libffi == NULL && (plan->libffi = build_libffi(plan, fct)) == NULL)
        return NULL;
    return plan;
}

void nffi_libffi_free(LibffiCall *libffi)
{
    PyMem_Free(libffi);
}

void *nffi_function_cif(CTypeObject *fct)
{
    NffiCallPlan *plan = libffi_plan(fct);
    if (plan == NULL)
        return NULL;
    if (plan->ellipsis) {
        PyErr_Format(PyExc_NotImplementedError, "'%s' is variadic", nffi_ctype_name(fct));
        return NULL;
    }
    return &plan->libffi->cif;
}

/* Add "argument N of strlen()" (or, for a function pointer without a name, "argument N
 * of 'int(*)(int)'") to the pending exception, as a note (PEP 678): the message itself
 * stays cffi's.  'name': the function's C name, or NULL to name its ctype 'fct'. */
void nffi_add_argument_note(Py_ssize_t index, const char *name, CTypeObject *fct)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL) {
        PyObject *r = PyObject_CallMethod(
            value, "add_note", "N", name != NULL
                ? PyUnicode_FromFormat("argument %zd of %s()", index + 1, name)
                : PyUnicode_FromFormat("argument %zd of '%s'", index + 1,
                                       nffi_ctype_name(fct)));
        if (r == NULL)
            PyErr_Clear();
        Py_XDECREF(r);
    }
    PyErr_Restore(type, value, tb);
}

void nffi_note_argument(Py_ssize_t index, CDataObject *fn)
{
    /* a C name is ASCII: its UTF-8 is the str's own data, read without allocating (an
       exception is pending here) */
    PyObject *name = nffi_function_name(fn);
    nffi_add_argument_note(index, name != NULL ? PyUnicode_AsUTF8(name) : NULL, fn->c_type);
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
static int variadic_argument(char *slot, CDataObject *cd, ffi_type **type, NffiTemps **temps)
{
    CTypeObject *ct = cd->c_type;
    int f = ct->ct_flags;
    if (f & CT_POINTER_LIKE) {
        memcpy(slot, &cd->c_data, sizeof(cd->c_data));
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
        int v = nffi_abi_signed(ct) ? (int)nffi_read_signed(cd->c_data, ct->ct_size)
                                    : (int)nffi_read_unsigned(cd->c_data, ct->ct_size);
        memcpy(slot, &v, sizeof(v));
        *type = &ffi_type_sint;
        return 0;
    }
    if (t == NULL) {
        Py_ssize_t cost = 0;
        char *arena;
        if (describe(ct, ct, "argument", NULL, &cost) == NULL ||
                (arena = nffi_temps_alloc(temps, (size_t)cost)) == NULL)
            return -1;
        t = describe(ct, ct, "argument", &arena, &cost);
    }
    memcpy(slot, cd->c_data, ct->ct_size);
    *type = t;
    return 0;
}

/* ---- the call --------------------------------------------------------------------------- */

typedef struct {
    CTypeObject *fct;
    CDataObject *fn;             /* the function called (for messages) */
    const NffiCallPlan *plan;
    ffi_cif cif;                 /* for variadic calls */
    ffi_cif *cifp;
    void **avalues;
    NffiTemps *temps;
} Call;

static int convert_fixed_arguments(Call *call, PyObject *const *args, char *buffer)
{
    const NffiCallPlan *plan = call->plan;
    for (Py_ssize_t i = 0; i < plan->nargs; i++) {
        char *slot = buffer + plan->libffi->arg_offsets[i];
        if (nffi_convert(slot, plan->args[i].ct, args[i],
                         NFFI_CONV_ARGUMENT | NFFI_CONV_FRESH, &call->temps) < 0) {
            nffi_note_argument(i, call->fn);
            return -1;
        }
        call->avalues[i] = slot;
    }
    return 0;
}

/* Bytes of the argument buffer of a call with a variadic part (its arguments after the
 * C promotions), or -1 + TypeError if one of them is not a cdata. */
static Py_ssize_t variadic_buffer_size(Call *call, PyObject *const *args, Py_ssize_t ntotal)
{
    Py_ssize_t size = call->plan->libffi->args_size;
    for (Py_ssize_t i = call->plan->nargs; i < ntotal; i++) {
        if (!CData_Check(args[i]))
            return variadic_type_error(i, args[i]);
        size += variadic_slot_size(args[i]);
    }
    return size;
}

/* Conversion and cif of a call with a variadic part, into buffers of the sizes above. */
static int prepare_variadic(Call *call, PyObject *const *args, Py_ssize_t ntotal,
                            char *buffer, ffi_type **atypes)
{
    const LibffiCall *info = call->plan->libffi;
    Py_ssize_t nfixed = call->plan->nargs;
    if (convert_fixed_arguments(call, args, buffer) < 0)
        return -1;
    memcpy(atypes, info->atypes, nfixed * sizeof(ffi_type *));
    char *slot = buffer + info->args_size;
    for (Py_ssize_t i = nfixed; i < ntotal; i++) {
        CDataObject *cd = (CDataObject *)args[i];
        if (variadic_argument(slot, cd, &atypes[i], &call->temps) < 0) {
            nffi_note_argument(i, call->fn);
            return -1;
        }
        call->avalues[i] = slot;
        slot += variadic_slot_size((PyObject *)cd);
    }
    if (ffi_prep_cif_var(&call->cif, FFI_DEFAULT_ABI, (unsigned)nfixed, (unsigned)ntotal,
                         info->rtype, atypes) != FFI_OK) {
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
    Py_ssize_t expected = call->plan->nargs;
    if (call->plan->ellipsis ? got >= expected : got == expected)
        return 0;
    PyErr_Format(PyExc_TypeError, "'%s' expects %s%zd arguments, got %zd",
                 nffi_ctype_name(call->fct), call->plan->ellipsis ? "at least " : "",
                 expected, got);
    return -1;
}

static PyObject *convert_result(Call *call, char *rbuf, CDataObject *big_result)
{
    CTypeObject *rct = call->plan->result.ct;
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

PyObject *nffi_call_libffi(CDataObject *cd, PyObject *const *args, Py_ssize_t nargs,
                           int has_keywords, int release_gil)
{
    if (check_callable(cd, has_keywords) < 0)
        return NULL;
    Call call = { .fct = cd->c_type, .fn = cd };
    call.plan = libffi_plan(call.fct);
    if (call.plan == NULL || check_count(&call, nargs) < 0)
        return NULL;
    const LibffiCall *info = call.plan->libffi;
    int variadic = call.plan->ellipsis;
    Py_ssize_t size = variadic ? variadic_buffer_size(&call, args, nargs) : info->args_size;
    if (size < 0)
        return NULL;
    /* the buffers live on the stack unless they are large (a macro: alloca) */
#define SCRATCH(bytes) ((bytes) <= STACK_ARGS_LIMIT ? alloca((bytes) + 16) \
                        : nffi_temps_alloc(&call.temps, (size_t)(bytes)))
    Py_ssize_t pointers = (nargs + 1) * (Py_ssize_t)sizeof(void *);
    char *buffer = SCRATCH(size);
    ffi_type **atypes = variadic ? SCRATCH(pointers) : NULL;
    call.avalues = SCRATCH(pointers);
#undef SCRATCH
    call.cifp = (ffi_cif *)&info->cif;
    int ok = buffer != NULL && call.avalues != NULL && (!variadic || atypes != NULL) &&
             (variadic ? prepare_variadic(&call, args, nargs, buffer, atypes)
                       : convert_fixed_arguments(&call, args, buffer)) == 0 &&
             nffi_recheck_arguments(cd, args, nargs) == 0;   /* converting ran user code */
    PyObject *result = NULL;
    if (ok) {
        max_align_t small[SMALL_RESULT / sizeof(max_align_t)];
        char *rbuf = (char *)small;
        CDataObject *big = NULL;
        if (info->result_size > SMALL_RESULT) {
            CTypeObject *rct = call.plan->result.ct;
            big = nffi_cdata_new_owned(rct, rct->ct_size, 0);
            rbuf = big ? big->c_data : NULL;
        }
        if (rbuf != NULL) {
            PyThreadState *state = nffi_call_begin(release_gil);
            ffi_call(call.cifp, FFI_FN(cd->c_data), rbuf, call.avalues);
            nffi_call_end(state);
            result = convert_result(&call, rbuf, big);
        }
    }
    nffi_temps_free(call.temps);
    return result;
}

PyObject *nffi_cdata_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    return nffi_call_libffi((CDataObject *)self, &PyTuple_GET_ITEM(args, 0),
                            PyTuple_GET_SIZE(args), kwds != NULL && PyDict_GET_SIZE(kwds) != 0,
                            1);
}
