/* nffi_core.h -- the shared declarations of the native core.
 *
 * Owns the layout of the two central objects (CType, CData), the kind flags, and the
 * prototypes each .c file exports to the others.  Every .c file of the core includes
 * this header and nothing else of the core (it includes nffi_capi.h, whose inline fast
 * paths the core shares with generated wrappers).
 */
#ifndef NFFI_CORE_H
#define NFFI_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include "nffi_capi.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nffi's bitfield access assumes a little-endian target"
#endif

/* ---- kind flags of a CType ------------------------------------------------------ */
#define CT_PRIMITIVE_SIGNED   0x0001   /* signed integers, and enums with a signed base */
#define CT_PRIMITIVE_UNSIGNED 0x0002   /* unsigned integers, _Bool, unsigned enums */
#define CT_PRIMITIVE_CHAR     0x0004   /* char, wchar_t, char16_t, char32_t */
#define CT_PRIMITIVE_FLOAT    0x0008   /* float, double, long double */
#define CT_PRIMITIVE_COMPLEX  0x0010   /* float _Complex, double _Complex */
#define CT_POINTER            0x0020
#define CT_ARRAY              0x0040
#define CT_STRUCT             0x0080
#define CT_UNION              0x0100
#define CT_FUNCTIONPTR        0x0200
#define CT_VOID               0x0400
#define CT_IS_ENUM            0x0800
#define CT_IS_LONGDOUBLE      0x1000
#define CT_IS_BOOL            0x2000
#define CT_IS_OPAQUE          0x4000   /* struct/union declared but not completed */
#define CT_IS_VOID_PTR        0x8000   /* 'void *' */
#define CT_IS_CHAR_PTR       0x10000   /* pointer or array to char/signed char/unsigned char */
#define CT_WITH_VAR_ARRAY    0x20000   /* struct ending in a flexible array member */
#define CT_IS_FILE           0x40000   /* the opaque FILE struct */
#define CT_IS_PACKED         0x80000
#define CT_IS_SIGNED_WCHAR  0x100000  /* wchar_t where it is signed (Linux) */

#define CT_PRIMITIVE_INTEGER (CT_PRIMITIVE_SIGNED | CT_PRIMITIVE_UNSIGNED)
#define CT_PRIMITIVE_ANY (CT_PRIMITIVE_INTEGER | CT_PRIMITIVE_CHAR | CT_PRIMITIVE_FLOAT | \
                          CT_PRIMITIVE_COMPLEX)
#define CT_STRUCT_OR_UNION (CT_STRUCT | CT_UNION)
#define CT_POINTER_LIKE (CT_POINTER | CT_ARRAY | CT_FUNCTIONPTR)

/* ---- CType ----------------------------------------------------------------------- */
typedef struct CTypeObject {
    PyObject_HEAD
    int ct_flags;
    int ct_char_kind;            /* for CT_PRIMITIVE_CHAR: 1 (char), 2 (char16_t), 4 (char32_t),
                                    'w' (wchar_t) -- see convert.c */
    Py_ssize_t ct_size;          /* -1 when unknown (void, opaque, T[]) */
    Py_ssize_t ct_align;
    Py_ssize_t ct_length;        /* arrays: item count, -1 for T[] */
    struct CTypeObject *ct_item; /* pointer: the pointee; array: the item type */
    PyObject *ct_name;           /* str: the C name, e.g. "int *", "struct foo[5]" */
    Py_ssize_t ct_name_position; /* where getctype(extra) inserts "extra" into ct_name */
    PyObject *ct_fields;         /* struct/union: dict name -> CField (flattened), in
                                    declared order; NULL while opaque */
    PyObject *ct_members;        /* struct/union: tuple of CFields, the declared members
                                    (anonymous members unflattened; call.c's libffi view) */
    PyObject *ct_init_fields;    /* struct/union: tuple of the CFields a list initializer
                                    fills, in order: the flattened fields, without those
                                    flagged BF_IGNORE_IN_CTOR (as cffi), else NULL */
    /* function types */
    PyObject *ct_fn_args;        /* tuple of the argument CTypes */
    struct CTypeObject *ct_fn_result;
    int ct_fn_ellipsis;          /* 1: variadic ('...') */
    PyObject *ct_fn_abi;         /* the abi given to new_function_type(), None: default */
    /* enums */
    PyObject *ct_enum_names;     /* dict: value -> name (the first name of a value) */
    PyObject *ct_enum_values;    /* dict: name -> value */
    /* the type registry (ctype.c) */
    PyObject *ct_registry_key;   /* interned array/function types: their key, else NULL */
    struct CTypeObject *ct_pointer_type;   /* borrowed 'T *', cleared when it dies */
    struct CTypeObject *ct_open_array;     /* pointer 'T *': the registry's 'T[]', kept
                                              alive while 'T *' lives (slices make it) */
    struct NffiCallPlan *ct_call_plan;  /* function types: the call plan (function.c),
                                           built on first use, NULL before */
    struct FieldCacheEntry *ct_field_cache;  /* cdata.c: struct/union field lookups */
    PyObject *ct_weakreflist;
} CTypeObject;

typedef struct {
    PyObject_HEAD
    CTypeObject *cf_type;
    Py_ssize_t cf_offset;
    short cf_bitshift;           /* -1 when not a bitfield */
    short cf_bitsize;            /* -1 when not a bitfield */
    int cf_flags;                /* BF_IGNORE_IN_CTOR, as cffi's field flags */
    PyObject *cf_name;
} CFieldObject;

/* A field a list initializer skips: a member of a union other than its first (also
 * when reached through anonymous struct/union members), as cffi flags it. */
#define BF_IGNORE_IN_CTOR 0x01

extern PyTypeObject CType_Type;
extern PyTypeObject CField_Type;
#define CType_Check(ob) (Py_TYPE(ob) == &CType_Type)

/* ---- CData ----------------------------------------------------------------------- */
/* A cdata is a reference to C memory.  For struct, union and primitive types c_data
 * points to the value; for pointer, array and function types c_data *is* the pointer
 * (the address of the first item for arrays).  Memory the object owns is allocated
 * inline after the object (ob_size bytes) and c_data points into it. */
typedef struct {
    PyObject_VAR_HEAD
    CTypeObject *c_type;
    char *c_data;
    PyObject *c_owner;           /* object keeping c_data's memory alive, or NULL */
    PyObject *c_weakreflist;
    Py_ssize_t c_length;         /* arrays of variable length and slices: item count;
                                    var-size structs: the allocated size; else -1 */
    int c_flags;
} CDataObject;

#define CD_OWNS_MEMORY   0x01    /* inline memory owned by this object (ffi.new) */
#define CD_PTR_TO_OWNED  0x02    /* a 'T *' from ffi.new whose pointee it owns */
#define CD_RELEASED      0x04    /* ffi.release() was called */
#define CD_GC_DESTRUCTOR 0x08    /* CDataGC: ffi.gc() with a destructor */
#define CD_FROM_BUFFER   0x10    /* CDataGC: ffi.from_buffer(), holds gc_view */
#define CD_HANDLE        0x20    /* CDataGC: ffi.new_handle(), gc_object is the handle's */
#define CD_ALLOCATOR     0x40    /* CDataGC: memory from a custom allocator */
#define CD_CALLBACK      0x80    /* CDataCallback (callback.c): owns a libffi closure */
#define CD_CHECK_OWNER   0x100   /* c_owner may go away under it: a releasable cdata
                                    (ffi.gc, from_buffer, allocators) or a library (closed),
                                    set with c_owner; without it (nor CD_RELEASED) the
                                    memory is live and nffi_check_released is one test */

/* CDataGC (ownership.c): a cdata holding a resource besides memory; c_flags says which.
 * ffi.release() or the object's death gives it back once. */
typedef struct {
    CDataObject cd;
    PyObject *gc_destructor;     /* ffi.gc()'s destructor, or an allocator's free (or NULL),
                                    called with gc_original on release */
    PyObject *gc_original;       /* the cdata given to ffi.gc(), or that alloc() returned */
    PyObject *gc_object;         /* a handle's object, or from_buffer()'s exporter */
    Py_buffer gc_view;           /* CD_FROM_BUFFER: the buffer held until release */
    Py_ssize_t gc_pins;          /* writes in progress and buffer exports (nffi_pin) */
} CDataGCObject;

/* the inline storage starts here, 16-byte aligned */
#define CDATA_INLINE_OFFSET ((sizeof(CDataObject) + 15) & ~(size_t)15)
#define CDATA_INLINE(cd) ((char *)(cd) + CDATA_INLINE_OFFSET)

extern PyTypeObject CData_Type;
extern PyTypeObject CDataGC_Type;
extern PyTypeObject Buffer_Type;
#define CData_Check(ob) (Py_TYPE(ob) == &CData_Type || PyObject_TypeCheck(ob, &CData_Type))

/* The address of item 'index' of 'size' bytes from 'base', computed as the machine
 * does (wrapping), without the undefined behaviour of C pointer arithmetic that leaves
 * an object: a cdata pointer may point anywhere, even if reading there would crash. */
static inline char *nffi_item_address(char *base, uintptr_t index, Py_ssize_t size)
{
    return (char *)((uintptr_t)base + index * (uintptr_t)size);
}

/* The sign (-1, 0, 1) of an int object (PyLong_Check is true), with public API only:
 * PyLong_AsLongAndOverflow reports an int too large for a long by its sign. */
static inline int nffi_long_sign(PyObject *v)
{
    int overflow;
    long x = PyLong_AsLongAndOverflow(v, &overflow);
    return overflow != 0 ? overflow : (x > 0) - (x < 0);
}

/* Recursion over nesting that the user controls (nested initializers, structs described
 * to libffi) stops at Python's recursion limit, counted per thread here: from 3.12,
 * Py_EnterRecursiveCall counts C code against a fixed limit of its own (10,000 levels on
 * 3.13), which overflows a small thread stack first.  The counter lives in convert.c. */
extern _Thread_local int nffi_nesting_depth __attribute__((tls_model("initial-exec")));

static inline int nffi_enter_nesting(const char *where)
{
    if (nffi_nesting_depth >= Py_GetRecursionLimit()) {
        PyErr_Format(PyExc_RecursionError, "maximum recursion depth exceeded%s", where);
        return -1;
    }
    nffi_nesting_depth++;
    return 0;
}

static inline void nffi_leave_nesting(void)
{
    nffi_nesting_depth--;
}

/* ---- module-level state ------------------------------------------------------------ */
extern PyObject *nffi_FFIError;          /* the 'ffi.error' exception class */

/* ---- ctype.c ----------------------------------------------------------------------- */
int nffi_ctype_init(PyObject *module);
CTypeObject *nffi_new_pointer_type(CTypeObject *item);
CTypeObject *nffi_new_array_type(CTypeObject *ptrtype, Py_ssize_t length);
PyObject *nffi_getcname(CTypeObject *ct, const char *extra);
PyObject *nffi_ctype_alignof(CTypeObject *ct);   /* ffi.alignof(ct): an int, or ValueError */

/* ---- convert.c: the conversion engine ------------------------------------------------
 * nffi_convert() writes a Python object as a C value of type ct at data.  The policy
 * is a set of flags; 0 is the checked conversion of ffi.new and assignment (a value that
 * does not fit raises).  The others add to it or change it: */
#define NFFI_CONV_CAST     0x01  /* ffi.cast, rffi.cast: integers wrap around, floats
                                    truncate, a cdata gives its value or address, any
                                    integer or cdata address becomes a pointer (or array),
                                    a one-character bytes/str its code, a file its FILE */
#define NFFI_CONV_ARGUMENT 0x02  /* a call argument: a 'T *' also takes bytes ('char *',
                                    'void *'), a list, tuple or str (a temporary 'T[]'),
                                    a Python file ('FILE *': the file's own FILE) */
#define NFFI_CONV_FRESH    0x04  /* data holds garbage: a struct/union initializer zeroes
                                    the fields it leaves out (arguments, callback results) */
/* Memory a call argument needs only during the call (arrays built from lists and str,
   the buffers of a variadic call), chained from a NULL start; call.c frees the chain
   when the call returns. */
typedef struct NffiTemps {
    struct NffiTemps *next;
    max_align_t data[];
} NffiTemps;
int nffi_convert(char *data, CTypeObject *ct, PyObject *obj, int flags, NffiTemps **temps);
PyObject *nffi_sequence_item(PyObject *seq, Py_ssize_t i, Py_ssize_t n, CTypeObject *ct);
void *nffi_temps_alloc(NffiTemps **temps, size_t size);  /* call.c: zeroed, or NULL +
                                                             MemoryError */
void nffi_temps_free(NffiTemps *temps);        /* call.c: after the call */
/* A 'char *' or 'void *' call argument may be a bytes object (its buffer is passed). */
static inline int nffi_pointer_takes_bytes(CTypeObject *ct)
{
    return (ct->ct_flags & CT_POINTER) && (ct->ct_flags & (CT_IS_CHAR_PTR | CT_IS_VOID_PTR));
}
/* Does obj as a call argument of type ct go into temporaries (a 'T *' given anything but
   a cdata or the bytes it takes)? */
static inline int nffi_argument_needs_temporaries(CTypeObject *ct, PyObject *obj)
{
    return (ct->ct_flags & CT_POINTER) &&      /* bytes first: CData_Check costs more */
           !(PyBytes_Check(obj) && nffi_pointer_takes_bytes(ct)) && !CData_Check(obj);
}
/* The checked policy, with room bytes writable at data (more than ct_size for a struct
   allocated with items of its flexible array member; -1: unknown). */
int nffi_convert_from_object_room(char *data, CTypeObject *ct, PyObject *obj,
                                  Py_ssize_t room);
static inline int nffi_convert_from_object(char *data, CTypeObject *ct, PyObject *obj)
{
    return nffi_convert(data, ct, obj, 0, NULL);
}
PyObject *nffi_convert_to_object(char *data, CTypeObject *ct, PyObject *owner);
/* nffi_convert_to_object of the plain integer kinds (every integer but _Bool, whose
   value is checked), inline for the hot reads (fields, items) */
static inline int nffi_is_plain_integer(CTypeObject *ct)
{
    return (ct->ct_flags & CT_PRIMITIVE_INTEGER) && !(ct->ct_flags & CT_IS_BOOL);
}
static inline PyObject *nffi_integer_to_object(const char *data, CTypeObject *ct);  /* below */
/* Integer results as int objects; -5..256, the commonest, without a call (references to
   CPython's own shared objects, taken once by nffi_small_ints_init, convert.c). */
#define NFFI_SMALL_INT_MIN (-5)
#define NFFI_SMALL_INT_MAX 256
extern PyObject *nffi_small_ints[NFFI_SMALL_INT_MAX - NFFI_SMALL_INT_MIN + 1];
int nffi_small_ints_init(void);
static inline PyObject *nffi_long_from_signed(long long v)
{
    if (v >= NFFI_SMALL_INT_MIN && v <= NFFI_SMALL_INT_MAX)
        return Py_NewRef(nffi_small_ints[v - NFFI_SMALL_INT_MIN]);
    return PyLong_FromLongLong(v);
}
static inline PyObject *nffi_long_from_unsigned(unsigned long long v)
{
    if (v <= NFFI_SMALL_INT_MAX)
        return Py_NewRef(nffi_small_ints[v - NFFI_SMALL_INT_MIN]);
    return PyLong_FromUnsignedLongLong(v);
}
int nffi_write_field(char *data, CFieldObject *cf, PyObject *obj, Py_ssize_t room);
PyObject *nffi_read_field(char *data, CFieldObject *cf, PyObject *owner);
/* Integer and character values read as signed: signed integers, and wchar_t where it is
   signed; a char's value is its byte, 0..255 (compare nffi_abi_signed). */
static inline int nffi_value_signed(CTypeObject *ct)
{
    return (ct->ct_flags & (CT_PRIMITIVE_SIGNED | CT_IS_SIGNED_WCHAR)) != 0;
}
/* Integers of 1, 2, 4 or 8 bytes at any alignment (inline: on every hot path). */
static inline PY_LONG_LONG nffi_read_signed(const char *data, Py_ssize_t size)
{
    switch (size) {
    case 1: return *(const int8_t *)data;
    case 2: { int16_t v; memcpy(&v, data, 2); return v; }
    case 4: { int32_t v; memcpy(&v, data, 4); return v; }
    case 8: { int64_t v; memcpy(&v, data, 8); return v; }
    }
    return 0;
}

static inline unsigned PY_LONG_LONG nffi_read_unsigned(const char *data, Py_ssize_t size)
{
    switch (size) {
    case 1: return *(const uint8_t *)data;
    case 2: { uint16_t v; memcpy(&v, data, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, data, 4); return v; }
    case 8: { uint64_t v; memcpy(&v, data, 8); return v; }
    }
    return 0;
}

static inline void nffi_write_raw_integer(char *data, unsigned PY_LONG_LONG value, Py_ssize_t size)
{
    switch (size) {
    case 1: *(uint8_t *)data = (uint8_t)value; break;
    case 2: { uint16_t v = (uint16_t)value; memcpy(data, &v, 2); break; }
    case 4: { uint32_t v = (uint32_t)value; memcpy(data, &v, 4); break; }
    case 8: { uint64_t v = (uint64_t)value; memcpy(data, &v, 8); break; }
    }
}
static inline PyObject *nffi_integer_to_object(const char *data, CTypeObject *ct)
{
    if (ct->ct_flags & CT_PRIMITIVE_SIGNED)
        return nffi_long_from_signed(nffi_read_signed(data, ct->ct_size));
    return nffi_long_from_unsigned(nffi_read_unsigned(data, ct->ct_size));
}
/* nffi_compact_long(obj, &v): the value of an exact int held in one digit (nffi_capi.h,
   shared with the generated wrappers) */
/* The checked write of an exact int held in one digit (|v| < 2**30, so it fits any
   signed type of 4 bytes or more) into a plain integer type at data, inline: 1 if done,
   0 if the engine must decide (other objects, other types, out of range: it reports). */
static inline int nffi_write_int_fast(char *data, CTypeObject *ct, PyObject *obj)
{
    long long v;
    if (!PyLong_CheckExact(obj) || !nffi_is_plain_integer(ct) || !nffi_compact_long(obj, &v))
        return 0;
    Py_ssize_t size = ct->ct_size;
    if (ct->ct_flags & CT_PRIMITIVE_SIGNED) {
        if (size < 4 && (v < -(1LL << (size * 8 - 1)) || v >= (1LL << (size * 8 - 1))))
            return 0;
    }
    else if (v < 0 || (size < 4 && v >= (1LL << (size * 8))))
        return 0;
    nffi_write_raw_integer(data, (unsigned long long)v, size);
    return 1;
}
double nffi_read_float(const char *data, CTypeObject *ct);
long double nffi_read_longdouble(const char *data);
int nffi_convert_array_from_object(char *data, CTypeObject *ct, PyObject *obj,
                                   Py_ssize_t length);
Py_ssize_t nffi_initializer_length(CTypeObject *arraytype, PyObject *init);

/* ---- file.c ------------------------------------------------------------------------ */
int nffi_is_python_file(PyObject *obj);          /* an io.IOBase: 1, 0, or -1 + error */
FILE *nffi_file_copy(PyObject *obj);             /* a new FILE on a dup of its fd */
FILE *nffi_file_of(PyObject *obj);               /* the file's own FILE (for casts) */

/* ---- cdata.c ----------------------------------------------------------------------- */
int nffi_cdata_init(PyObject *module);
CDataObject *nffi_cdata_new_view(CTypeObject *ct, char *data, PyObject *owner);
CDataObject *nffi_cdata_new_owned(CTypeObject *ct, Py_ssize_t datasize, int zero);
CDataObject *nffi_cdata_new_value(CTypeObject *ct);  /* inline storage of ct_size */
typedef struct {
    Py_ssize_t datasize;         /* bytes to allocate */
    Py_ssize_t length;           /* item count of a 'T[]', else -1 */
    PyObject *init;              /* borrowed: the initializer still to apply, or None */
} NewPlan;
int nffi_plan_new(CTypeObject *ct, PyObject *init, NewPlan *plan);
int nffi_fill_new(CDataObject *cd, CTypeObject *ct, NewPlan *plan);
PyObject *nffi_newp(CTypeObject *ct, PyObject *init, int zero);  /* zero=0: not cleared */
PyObject *nffi_cast(CTypeObject *ct, PyObject *value);
Py_ssize_t nffi_cdata_length(CDataObject *cd);     /* array item count, -1 if none */
Py_ssize_t nffi_cdata_sizeof(CDataObject *cd);
/* 0 if cd's memory may be used, -1 + ValueError if it was released (ffi.release of it or
   of the object owning the memory it views) or its library was closed.  The common case
   (memory of ffi.new, or from C with no owner) is the one flag test. */
int nffi_check_released_slow(CDataObject *cd);
static inline int nffi_check_released(CDataObject *cd)
{
    if (!(cd->c_flags & (CD_RELEASED | CD_CHECK_OWNER)))
        return 0;
    return nffi_check_released_slow(cd);
}
/* The c_flags of a cdata with this owner (cdata.c and function.c set c_owner) */
static inline int nffi_owner_flags(PyObject *owner)
{
    return owner != NULL && Py_TYPE(owner) != &CData_Type ? CD_CHECK_OWNER : 0;
}
Py_ssize_t nffi_owned_room(CDataObject *cd, char *data);
PyObject *nffi_memory_owner(CDataObject *cd);   /* borrowed, or NULL: memory from C */
/* ownership.c: pin the releasable object (ffi.gc, from_buffer, allocator) cd's memory
 * belongs to while C code that may run user code writes into it or a buffer export
 * points at it; ffi.release() of a pinned object raises.  *pinned gets a new reference
 * or NULL (nothing to pin); -1 if that memory was released already. */
int nffi_pin(CDataObject *cd, PyObject **pinned);
void nffi_unpin(PyObject *pinned);
void nffi_field_cache_clear(CTypeObject *st);
PyObject *nffi_string(CDataObject *cd, Py_ssize_t maxlen);
PyObject *nffi_unpack(CDataObject *cd, Py_ssize_t length);
PyObject *nffi_addressof_field(CDataObject *cd, CTypeObject *ptrtype, Py_ssize_t offset);

/* ---- ownership.c ------------------------------------------------------------------- */
int nffi_check_releasable(CDataObject *cd);   /* 0, or -1 + ValueError */
int nffi_release(CDataObject *cd);   /* ffi.release(): give back what a cdata holds, once */

/* ---- buffer.c ---------------------------------------------------------------------- */
int nffi_buffer_init(PyObject *module);
PyObject *nffi_buffer_new(CDataObject *cd, Py_ssize_t size);

/* ---- ffiobj.c ---------------------------------------------------------------------- */
int nffi_ffiobj_init(PyObject *module);
/* What kind of FFI object an FFIBase is, fixed when it is created: the rules that differ
 * (error types of sizeof/alignof and of type strings, definitions in type strings) read it */
typedef enum {
    NFFI_FLAVOUR_FFI = 0,              /* nffi.FFI, as cffi's FFI class */
    NFFI_FLAVOUR_CFFI_COMPILED = 1,    /* compat's CompiledFFI: the ffi of cffi's modules */
    NFFI_FLAVOUR_API_MODULE = 2,       /* the ffi of a module built by nffi's API mode */
} NffiFlavour;

/* ---- calls: function.c, direct.c, call.c, callback.c, errno.c ----------------------
 * The call plan of a function ctype is decided once and cached on it (ct_call_plan):
 * how each argument and the result travel (kind, signedness in registers, the bytes
 * rule of 'char *'), whether a direct call applies (direct.c: registers and call shape)
 * and, built at the first libffi call, libffi's description (call.c).  Direct calls,
 * libffi calls, callbacks and generated wrappers all read the same plan. */
enum {
    NFFI_ARG_VOID,       /* results only */
    NFFI_ARG_INT,        /* integers of up to 64 bits, _Bool, enums */
    NFFI_ARG_CHAR,       /* char, wchar_t, char16_t, char32_t */
    NFFI_ARG_POINTER,    /* pointers and function pointers */
    NFFI_ARG_FLOAT,
    NFFI_ARG_DOUBLE,
    NFFI_ARG_STRUCT,     /* structs and unions by value, of a known size */
    NFFI_ARG_OTHER,      /* long double, complex: libffi's */
};
typedef struct {
    CTypeObject *ct;             /* borrowed from the function ctype */
    unsigned char kind;          /* NFFI_ARG_* */
    unsigned char is_signed;     /* INT, CHAR: sign-extended to a register (nffi_abi_signed) */
    unsigned char takes_bytes;   /* POINTER: a bytes object is accepted (its buffer) */
    unsigned char reg;           /* direct calls: index among the integer or float registers */
    unsigned char reg2;          /* STRUCT: the register of the second eightbyte */
    unsigned char eightbytes;    /* STRUCT, direct calls: 1 or 2 (direct.c classifies them) */
    unsigned char sse;           /* STRUCT: bit k set if eightbyte k is of class SSE */
    long long min, max;          /* INT: the range of the exact-int fast path */
} NffiPlanArg;
typedef struct NffiCallPlan {
    Py_ssize_t nargs;            /* fixed arguments */
    int ellipsis;
    int has_pointers;            /* a POINTER argument: it may need temporaries */
    NffiPlanArg result;
    int direct;                  /* direct.c calls it through a shape (call_shapes.h): */
    int64_t (*int_shape)(void *fn, const int64_t *ints, const double *floats);
    double (*double_shape)(void *fn, const int64_t *ints, const double *floats);
    float (*float_shape)(void *fn, const int64_t *ints, const double *floats);
    void (*pair_shape)(void);    /* a two-eightbyte struct result: a shape of the pair
                                    type of its classes (call_shapes.h), cast back */
    struct LibffiCall *libffi;   /* call.c: built at the first libffi call */
    NffiPlanArg args[];
} NffiCallPlan;
/* Sign-extended when passed or returned in a register, per the ABI: signed integers,
   wchar_t where signed, and char where the platform's char is signed. */
static inline int nffi_abi_signed(CTypeObject *ct)
{
    if ((ct->ct_flags & CT_PRIMITIVE_CHAR) && ct->ct_char_kind == 1)
        return (char)-1 < 0;
    return (ct->ct_flags & (CT_PRIMITIVE_SIGNED | CT_IS_SIGNED_WCHAR)) != 0;
}
/* An INT or CHAR value at data as its register image: extended to 64 bits by its ABI
   signedness (what callees and callers may rely on above the C type's width). */
static inline int64_t nffi_register_image(const NffiPlanArg *a, const char *data)
{
    return a->is_signed ? nffi_read_signed(data, a->ct->ct_size)
                        : (int64_t)nffi_read_unsigned(data, a->ct->ct_size);
}
NffiCallPlan *nffi_call_plan(CTypeObject *fct);   /* cached; NULL + MemoryError */
void nffi_plan_classify(CTypeObject *ct, NffiPlanArg *a);  /* one argument or result */
/* The fast path for an INT: the value of an exact int that fits a's range, read without
   a function call for the common small ones (CPython's compact representation); 0 if
   obj is not such an int (the conversion engine then decides, and reports errors). */
static inline int nffi_int_fast_value(const NffiPlanArg *a, PyObject *obj, int64_t *out)
{
    if (a->kind != NFFI_ARG_INT || !PyLong_CheckExact(obj))
        return 0;
    long long v;
    int compact = nffi_compact_long(obj, &v);
    if (!compact) {
        int overflow;
        v = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (overflow)
            return 0;
    }
    if (v < a->min || v > a->max)
        return 0;
    *out = v;
    return 1;
}
void nffi_call_plan_free(NffiCallPlan *plan);     /* ctype.c, when the ctype dies */
int nffi_direct_prepare(NffiCallPlan *plan);      /* direct.c: 1 if a direct call applies */
/* CFunction (function.c): the CData subtype of function pointers, called by vectorcall */
typedef struct {
    CDataObject cd;
    vectorcallfunc vectorcall;   /* direct.c's entry when the plan has a direct call */
    NffiCallPlan *plan;          /* owned by the ctype (ct_call_plan) */
    PyObject *name;              /* str: the C name of a library's function, or NULL */
    int release_gil;             /* 0: declared with cdef(..., release_gil=False) */
} CFunctionObject;
PyObject *nffi_cfunction_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames);   /* function.c: libffi's path */
PyObject *nffi_direct_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames);      /* direct.c */
void nffi_libffi_free(struct LibffiCall *libffi);
PyObject *nffi_cdata_call(PyObject *cd, PyObject *args, PyObject *kwds);  /* CData tp_call */
PyObject *nffi_call_libffi(CDataObject *fn, PyObject *const *args, Py_ssize_t nargs,
                           int has_keywords, int release_gil);
/* "argument N of name()" (a function of a library) or "argument N of '<ctype>'" */
void nffi_note_argument(Py_ssize_t index, CDataObject *fn);
void nffi_add_argument_note(Py_ssize_t index, const char *name, CTypeObject *fct);
extern PyTypeObject CFunction_Type;
int nffi_function_init(PyObject *module);
CDataObject *nffi_function_new(CTypeObject *fct, char *address, PyObject *owner);
int nffi_function_set_name(CDataObject *fn, const char *name);  /* for messages */
/* Calls of fn keep the GIL (a library's function declared with cdef(...,
   release_gil=False)); every other function cdata releases it. */
void nffi_function_keep_gil(CDataObject *fn);
int nffi_function_releases_gil(CDataObject *fn);
PyObject *nffi_function_name(CDataObject *fn);   /* borrowed str, or NULL if unnamed */
void *nffi_function_cif(CTypeObject *fct); /* cached 'ffi_cif *' of a function ctype, or
                                              NULL + exception if libffi cannot call it */
int nffi_callback_init(PyObject *module);
int nffi_errno_init(PyObject *module);
/* ffi.errno of this thread; initial-exec: read and written around every call, and the
   default model of a shared object would cost a __tls_get_addr() call each time */
extern _Thread_local int nffi_saved_errno __attribute__((tls_model("initial-exec")));
/* The thread state that a call into C released on this thread, while that C code runs
   (NULL otherwise: in Python, or in a call that kept the GIL).  A callback on the same
   thread resumes it directly (PyEval_RestoreThread), without PyGILState's bookkeeping;
   a callback from any other thread finds NULL and takes PyGILState's way. */
extern _Thread_local PyThreadState *nffi_released_state __attribute__((tls_model("initial-exec")));
#define NFFI_GILSTATE_RESUMED ((PyGILState_STATE)-1)  /* callback_begin resumed the state */
/* The bracket of every call into C: the GIL released (unless the function was declared
   with cdef(..., release_gil=False): then begin returns NULL) and this thread's ffi.errno
   in errno during the call, errno saved back after it.  (Inline for the core's own calls;
   errno.c exports both brackets as functions for generated modules.) */
/* Calls into C in progress, in any thread (changed with the GIL held): while there are
   some, lib.c defers dlclose(), since one of them may return into the library's code
   (a callback that closes it). */
extern Py_ssize_t nffi_calls_running;
extern int nffi_closes_deferred;
void nffi_library_close_deferred(void);        /* lib.c */
static inline PyThreadState *nffi_call_begin(int release_gil)
{
    nffi_calls_running++;
    PyThreadState *state = release_gil ? PyEval_SaveThread() : NULL;
    nffi_released_state = state;
    errno = nffi_saved_errno;
    return state;
}
static inline void nffi_call_end(PyThreadState *state)
{
    nffi_saved_errno = errno;
    if (state != NULL)
        PyEval_RestoreThread(state);
    nffi_released_state = NULL;
    if (--nffi_calls_running == 0 && nffi_closes_deferred)
        nffi_library_close_deferred();
}
/* The reverse bracket, of a call from C into Python (callbacks, from any thread):
   C's errno becomes ffi.errno while Python runs, and ffi.errno goes back into errno. */
static inline PyGILState_STATE nffi_callback_begin(void)
{
    int c_errno = errno;
    PyThreadState *released = nffi_released_state;
    PyGILState_STATE state;
    if (released != NULL) {
        nffi_released_state = NULL;          /* in Python now (nested calls set it anew) */
        PyEval_RestoreThread(released);
        state = NFFI_GILSTATE_RESUMED;
    }
    else
        state = PyGILState_Ensure();
    nffi_saved_errno = c_errno;
    return state;
}
static inline void nffi_callback_end(PyGILState_STATE state)
{
    int c_errno = nffi_saved_errno;
    if (state == NFFI_GILSTATE_RESUMED)
        nffi_released_state = PyEval_SaveThread();   /* back into the C call */
    else
        PyGILState_Release(state);
    errno = c_errno;
}
/* The entry points of the core for generated (API-mode) modules, through capi.c:
   nffi_convert (+ NFFI_CONV_* flags) and nffi_temps_free for arguments and callback
   results, nffi_convert_to_object for results and callback arguments, nffi_call_plan,
   nffi_note_argument, and these two brackets as functions: */
PyThreadState *nffi_errno_call_begin(void);
void nffi_errno_call_end(PyThreadState *state);
PyGILState_STATE nffi_errno_callback_begin(void);
void nffi_errno_callback_end(PyGILState_STATE state);
int nffi_capi_init(PyObject *module);   /* capi.c: nffi._core._C_API, compiled libs */
/* callback.c, for generated 'extern "Python"' functions: is obj a callback object (of
   ffi.callback or _extern_callback), and run one (GIL held) with C's arguments */
int nffi_is_callback(PyObject *obj);
void nffi_callback_run_exact(PyObject *callback, void *result, void **args);
/* capi.c: the function cdata (borrowed) that 'lib.f' of a compiled module wraps, where
   a pointer is expected (cffi converts it to the function's address); NULL: obj is not
   one, no error set */
CDataObject *nffi_compiled_function_of(PyObject *obj);
int nffi_lib_init(PyObject *module);
int nffi_libobject_init(PyObject *module);
/* lib.c: the head of a Library object, read inline on every call of its functions (its
   handle is NULL once closed); nffi_library_check_open: -1 + error if owner (a cdata's
   c_owner) is a closed library, else 0. */
typedef struct {
    PyObject_HEAD
    void *handle;
} NffiLibraryHead;
extern PyTypeObject nffi_Library_Type;
int nffi_library_closed_error(PyObject *lib);
static inline int nffi_library_check_open(PyObject *owner)
{
    if (Py_IS_TYPE(owner, &nffi_Library_Type) && ((NffiLibraryHead *)owner)->handle == NULL)
        return nffi_library_closed_error(owner);
    return 0;
}
/* convert.c: after the arguments of a call to fn were converted (which may have run user
   code): -1 + error if fn's library was closed or a cdata argument released meanwhile
   (fn NULL: a compiled module's wrapper, no library to check) */
int nffi_recheck_arguments(CDataObject *fn, PyObject *const *args, Py_ssize_t nargs);
extern PyTypeObject GlobalVariable_Type;      /* lib.c: a library's global, as lib.x */
PyObject *nffi_global_read(PyObject *var);
int nffi_global_write(PyObject *var, PyObject *value);

/* ---- errors helpers (cdata.c) ------------------------------------------------------- */
const char *nffi_ctype_name(CTypeObject *ct);   /* UTF-8 of ct_name, never NULL */

#endif
