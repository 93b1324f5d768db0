/* nffi_capi.h -- the C API that nffi's generated (API-mode) extension modules use.
 *
 * Owns the versioned table of function pointers exported by nffi._core in the capsule
 * "nffi._core._C_API" (filled in by capi.c), the table entries generated modules
 * describe themselves with, and the inline conversions their wrappers use on the fast
 * path.  Generated code includes this header's text verbatim (nffi/recompiler.py copies
 * it into the .c file), so it may only use the public C API of CPython and C99/C++.
 * Everything a wrapper cannot do inline goes through the table, so that conversions,
 * errors and the cdata objects created are those of ABI mode.
 */
#ifndef NFFI_CAPI_H
#define NFFI_CAPI_H

#include <Python.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>
#include <wchar.h>
#ifdef __cplusplus
typedef bool _Bool;              /* cdef spells C's boolean type _Bool */
#else
#  include <uchar.h>             /* char16_t, char32_t */
#endif

#define NFFI_CAPI_VERSION 1
#define NFFI_CAPI_CAPSULE "nffi._core._C_API"

/* The head of a cdata object, as far as the fast paths read it (capi.c checks that it
 * matches CDataObject of nffi_core.h). */
typedef struct {
    PyObject_VAR_HEAD
    PyObject *c_type;
    char *c_data;
    PyObject *c_owner;
    PyObject *c_weakreflist;
    Py_ssize_t c_length;
    int c_flags;
} NffiCDataHead;

#define NFFI_CD_RELEASED 0x04

/* One answer of the C compiler, computed when the module is compiled: a size, an
 * offset, an array length or a constant's value, keyed by a string the runtime
 * (nffi/apimodule.py) understands ("sizeof struct s", "offsetof struct s.a", ...). */
typedef struct {
    const char *key;
    int kind;                    /* NFFI_ANSWER_INT or NFFI_ANSWER_FLOAT */
    int negative;                /* INT: the value is negative (u holds it as 2's complement) */
    unsigned long long u;
    double d;
} NffiAnswer;

#define NFFI_ANSWER_INT 0
#define NFFI_ANSWER_FLOAT 1

typedef struct {
    int version;                 /* NFFI_CAPI_VERSION */
    int size;                    /* sizeof(NffiCapi), to add entries compatibly */
    PyTypeObject *cdata_type;    /* the plain cdata type (not its subtypes) */
    /* one argument of a call into 'dest' (a C variable of the argument's type): the
       same conversion as ABI-mode calls; temporaries (arrays from lists, FILE from
       files) are chained on *temps, freed by free_temps() after the call */
    int (*arg_to_c)(void *dest, PyObject *ctype, PyObject *obj, void **temps);
    void (*free_temps)(void *temps);
    /* a C value to Python (a struct/union result is copied into a new cdata) */
    PyObject *(*from_c)(const void *src, PyObject *ctype);
    /* add "argument N of name()" to the pending exception (ABI mode's note) */
    void (*note_argument)(Py_ssize_t index, const char *function_name);
    /* TypeError for a call with a wrong number of arguments; returns NULL */
    PyObject *(*wrong_count)(const char *name, Py_ssize_t expected, Py_ssize_t got);
    /* this thread's saved errno (ffi.errno): restored into errno before a C call and
       saved from errno after it */
    int *(*errno_slot)(void);
    /* the compiler's answers as a dict key -> int/float */
    PyObject *(*answers)(const NffiAnswer *answers, Py_ssize_t count);
    /* an 'extern "Python"' function was called before @ffi.def_extern() attached code
       to it: the message cffi writes to stderr (any thread, GIL not needed) */
    void (*extern_python_missing)(const char *qualified_name);
} NffiCapi;

/* ---- fast paths used by generated wrappers ------------------------------------------ */

/* An exact int that fits 'long long': 1 and *out; else 0 (no error set).  Not inlined:
 * one copy per module halves the compile time of a module with many functions, for the
 * cost of one call (the conversion is a call into CPython anyway). */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int nffi_exact_llong(PyObject *obj, long long *out)
{
    int overflow;
    if (!PyLong_CheckExact(obj))
        return 0;
    *out = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* The pointer held by a plain cdata of exactly 'ctype' (not released): 1 and *out. */
static inline int nffi_exact_pointer(const NffiCapi *api, PyObject *obj, PyObject *ctype,
                                     void **out)
{
    NffiCDataHead *cd = (NffiCDataHead *)obj;
    if (Py_TYPE(obj) != api->cdata_type || cd->c_type != ctype ||
            (cd->c_flags & NFFI_CD_RELEASED))
        return 0;
    *out = (void *)cd->c_data;
    return 1;
}

#endif
