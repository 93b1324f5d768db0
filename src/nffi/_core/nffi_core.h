/* nffi_core.h -- the shared declarations of the native core.
 *
 * Owns the layout of the two central objects (CType, CData), the kind flags, and the
 * prototypes each .c file exports to the others.  Every .c file of the core includes
 * this header and nothing else of the core.
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
    PyObject *ct_fields;         /* struct/union: dict name -> CField (flattened), else NULL */
    PyObject *ct_field_list;     /* struct/union: tuple of (name, CField), declared order */
    PyObject *ct_stuff;          /* function: tuple (args tuple, result, ellipsis, abi);
                                    enum: tuple (dict value->name, dict name->value);
                                    struct/union: tuple of CFields, the declared members
                                    (anonymous members unflattened; call.c's libffi view);
                                    pointer: the cached 'T[]' type */
    PyObject *ct_init_fields;    /* struct/union: tuple of the CFields a list initializer
                                    fills, in order: the flattened fields, without those
                                    flagged BF_IGNORE_IN_CTOR (as cffi), else NULL */
    struct CTypeObject *ct_pointer_type;   /* borrowed cache of 'T *', cleared when it dies */
    void *ct_extra;              /* call.c: cached libffi description of a function type */
    struct DirectPlan *ct_direct;  /* direct.c: cached direct-call plan of a function type */
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
    PyObject *c_extra;           /* CDataGC: destructor / from_buffer source / handle obj */
    PyObject *c_extra2;          /* CDataGC: original cdata given to ffi.gc, allocator free */
} CDataObject;

#define CD_OWNS_MEMORY   0x01    /* inline memory owned by this object (ffi.new) */
#define CD_PTR_TO_OWNED  0x02    /* a 'T *' from ffi.new whose pointee it owns */
#define CD_RELEASED      0x04    /* ffi.release() was called */
#define CD_GC_DESTRUCTOR 0x08    /* CDataGC: call c_extra(c_extra2) on release */
#define CD_FROM_BUFFER   0x10    /* CDataGC: c_extra is a Py_buffer holder */
#define CD_HANDLE        0x20    /* CDataGC: c_extra is the handle's Python object */
#define CD_ALLOCATOR     0x40    /* CDataGC: c_extra is the free function, c_extra2 the raw */
#define CD_CALLBACK      0x80    /* CDataCallback (callback.c): owns a libffi closure;
                                    c_extra is the callable, c_extra2 onerror */

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

/* ---- module-level state ------------------------------------------------------------ */
extern PyObject *nffi_FFIError;          /* the 'ffi.error' exception class */

/* ---- ctype.c ----------------------------------------------------------------------- */
int nffi_ctype_init(PyObject *module);
CTypeObject *nffi_new_pointer_type(CTypeObject *item);
CTypeObject *nffi_new_array_type(CTypeObject *ptrtype, Py_ssize_t length);
PyObject *nffi_ctype_repr_name(CTypeObject *ct);  /* the C name as a new str */
PyObject *nffi_getcname(CTypeObject *ct, const char *extra);
CFieldObject *nffi_struct_field(CTypeObject *ct, PyObject *name);  /* borrowed, or NULL
                                                                       + AttributeError */

/* ---- convert.c --------------------------------------------------------------------- */
int nffi_convert_from_object(char *data, CTypeObject *ct, PyObject *obj);
int nffi_convert_from_object_room(char *data, CTypeObject *ct, PyObject *obj,
                                  Py_ssize_t room);
PyObject *nffi_convert_to_object(char *data, CTypeObject *ct, PyObject *owner);
int nffi_write_field(char *data, CFieldObject *cf, PyObject *obj, Py_ssize_t room);
PyObject *nffi_read_field(char *data, CFieldObject *cf, PyObject *owner);
int nffi_as_integer(PyObject *obj, CTypeObject *ct, unsigned long long *out, int *negative);
PY_LONG_LONG nffi_read_signed(const char *data, Py_ssize_t size);
unsigned PY_LONG_LONG nffi_read_unsigned(const char *data, Py_ssize_t size);
void nffi_write_raw_integer(char *data, unsigned PY_LONG_LONG value, Py_ssize_t size);
double nffi_read_float(const char *data, CTypeObject *ct);
void nffi_write_float(char *data, CTypeObject *ct, double value);
long double nffi_read_longdouble(const char *data);
PyObject *nffi_read_char_as_str(const char *data, CTypeObject *ct);
int nffi_char_from_object(PyObject *obj, CTypeObject *ct, uint32_t *out);
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
PyObject *nffi_newp(CTypeObject *ct, PyObject *init);
PyObject *nffi_newp_ex(CTypeObject *ct, PyObject *init, int zero);  /* zero=0: not cleared */
PyObject *nffi_cast(CTypeObject *ct, PyObject *value);
Py_ssize_t nffi_cdata_length(CDataObject *cd);     /* array item count, -1 if none */
Py_ssize_t nffi_cdata_sizeof(CDataObject *cd);
int nffi_check_released(CDataObject *cd);
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

/* ---- call.c, direct.c, function.c, callback.c, errno.c, lib.c --------------------------- */
PyObject *nffi_cdata_call(PyObject *cd, PyObject *args, PyObject *kwds);  /* CData tp_call */
PyObject *nffi_call_libffi(CDataObject *fn, PyObject *const *args, Py_ssize_t nargs,
                           int has_keywords);
void nffi_note_argument(Py_ssize_t index, CTypeObject *fct);  /* "argument N of '...'" */
typedef struct TempBlock TempBlock;   /* call.c: temporaries of one call (lists, files) */
int nffi_convert_call_argument(char *slot, CTypeObject *ct, PyObject *obj, TempBlock **temps);
void nffi_call_temps_free(TempBlock *temps);
int nffi_capi_init(PyObject *module);   /* capi.c: the C API capsule of generated modules */
typedef struct DirectPlan DirectPlan;
DirectPlan *nffi_direct_plan(CTypeObject *fct);  /* NULL: none (or error if set) */
void nffi_direct_plan_free(DirectPlan *plan);
int nffi_direct_call(const DirectPlan *plan, CDataObject *fn, PyObject *const *args,
                     Py_ssize_t nargs, PyObject **result);  /* 0: take libffi's path */
extern PyTypeObject CFunction_Type;
int nffi_function_init(PyObject *module);
CDataObject *nffi_function_new(CTypeObject *fct, char *address, PyObject *owner);
void *nffi_function_cif(CTypeObject *fct); /* cached 'ffi_cif *' of a function ctype, or
                                              NULL + exception if libffi cannot call it */
int nffi_callback_init(PyObject *module);
int nffi_errno_init(PyObject *module);
/* ffi.errno of this thread; initial-exec: read and written around every call, and the
   default model of a shared object would cost a __tls_get_addr() call each time */
extern _Thread_local int nffi_saved_errno __attribute__((tls_model("initial-exec")));
int nffi_lib_init(PyObject *module);
int nffi_libobject_init(PyObject *module);
int nffi_library_check_open(PyObject *owner); /* -1 + error if owner is a closed library */

/* ---- errors helpers (cdata.c) ------------------------------------------------------- */
const char *nffi_ctype_name(CTypeObject *ct);   /* UTF-8 of ct_name, never NULL */

#endif
