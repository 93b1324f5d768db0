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

#define NFFI_CAPI_VERSION 3
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
#define NFFI_CD_CHECK_OWNER 0x100   /* its owner may be released or closed: full check */

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

/* An 'extern "Python"' function of a generated module: the callback object that
 * @ffi.def_extern() attached (a CDataCallback without a libffi closure), or NULL. */
typedef struct {
    const char *qualified_name;  /* "module.name", for the message when nothing is attached */
    PyObject *callback;          /* set and replaced by the core, under the GIL */
} NffiExternPython;

/* What a generated module describes itself with: one static instance per module, handed
 * to the core by init_module().  Everything here is read lazily: the import builds no
 * ctype and creates no wrapper object (a wrapper when lib.NAME is first read, the ctypes
 * of its signature when a call first needs them, the declarations at the first use of
 * ffi or of a type). */
typedef struct {
    struct PyModuleDef *def;     /* the module's definition (its name) */
    PyMethodDef *functions;      /* the wrappers, sorted by name (strcmp) */
    Py_ssize_t nfunctions;
    Py_ssize_t nchecked;         /* after them, sorted too: wrappers made only once
                                    nffi/apimodule.py has checked their type */
    PyObject **types;            /* ctypes of the wrappers' arguments and results, by slot:
                                    NULL until realize() fills the slots of a signature */
    Py_ssize_t ntypes;
    void **addresses;            /* functions, extern "Python", globals, ... (see apimodule) */
    Py_ssize_t naddresses;
    NffiAnswer *answers;         /* the compiler's answers */
    Py_ssize_t nanswers;
    void (*fill_answers)(void);  /* computes them (not constant expressions in C) */
    NffiExternPython *externs;   /* the extern "Python" functions, in the order of the spec */
    Py_ssize_t nexterns;
    const char *spec;            /* the declarations and tables, pickled (nffi/apimodule.py) */
    Py_ssize_t spec_size;
    PyObject *runtime;           /* the module's ffi, set by the core: realizes slots */
} NffiModule;

typedef struct {
    int version;                 /* NFFI_CAPI_VERSION */
    int size;                    /* sizeof(NffiCapi), to add entries compatibly */
    PyTypeObject *cdata_type;    /* the plain cdata type (not its subtypes) */
    /* one argument of a call into 'dest' (a C variable of the argument's type): the
       same conversion as ABI-mode calls; temporaries (arrays from lists, FILE from
       files) are chained on *temps, freed by free_temps() after the call.  ctype NULL:
       -1 with the exception set (a failed realize()) */
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
    /* PyInit of a generated module: the module object with its ffi and lib */
    PyObject *(*init_module)(NffiModule *module);
    /* the ctype in module->types[slot], realized (with the other slots of its
       signature) on first need; borrowed, or NULL + exception */
    PyObject *(*realize)(NffiModule *module, Py_ssize_t slot);
    /* the bracket of a wrapper's C call, ABI mode's: the GIL released (release_gil),
       ffi.errno into errno before and back after; call_end(call_begin(...)) */
    PyThreadState *(*call_begin)(int release_gil);
    void (*call_end)(PyThreadState *state);
    /* an 'extern "Python"' function called from C (any thread, GIL not needed): the
       arguments as pointers to their values, the result written as the C type itself;
       with nothing attached, cffi's message on stderr and a zero result */
    void (*call_python)(NffiExternPython *xp, void **args, void *result);
    /* after a wrapper's arguments were converted, when a conversion went through
       arg_to_c (which may run user code: __int__, __index__, ...): -1 + ValueError if a
       cdata argument was released meanwhile (its pointer, already taken, is dangling) */
    int (*recheck)(PyObject *const *args, Py_ssize_t nargs);
} NffiCapi;

/* ---- fast paths used by generated wrappers ------------------------------------------ */

/* A declaration the C compiler checks (a global variable's size): a build error. */
#ifdef __cplusplus
#  define NFFI_STATIC_ASSERT(condition, message) static_assert(condition, message)
#else
#  define NFFI_STATIC_ASSERT(condition, message) _Static_assert(condition, message)
#endif

/* The body a signature's functions share is not inlined into their entry points. */
#if defined(__GNUC__)
#  define NFFI_NOINLINE __attribute__((noinline))
#else
#  define NFFI_NOINLINE
#endif

/* The value of an exact int (PyLong_CheckExact) held in one digit (|v| < 2**30, the
 * common case): 1 and *out, else 0; inline, no call into CPython.  (The core uses it
 * too.)  Under the limited API, always 0. */
static inline int nffi_compact_long(PyObject *obj, long long *out)
{
#if defined(Py_LIMITED_API)
    (void)obj; (void)out;
    return 0;
#elif PY_VERSION_HEX < 0x030C0000
    Py_ssize_t digits = Py_SIZE(obj);
    if (digits < -1 || digits > 1)
        return 0;
    *out = digits == 0 ? 0 : digits * (long long)((PyLongObject *)obj)->ob_digit[0];
    return 1;                            /* (a zero may have no digit allocated) */
#else
    if (!PyUnstable_Long_IsCompact((PyLongObject *)obj))
        return 0;
    *out = PyUnstable_Long_CompactValue((PyLongObject *)obj);
    return 1;
#endif
}

/* An exact int that fits 'long long': 1 and *out; else 0 (no error set).  The common
 * small ones are read without a call into CPython.  Not inlined: one copy per module
 * keeps the compile time of a module of many signatures down (inlined into each
 * wrapper, the build of 200 functions of distinct signatures took 1.5 x as long). */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int nffi_exact_llong(PyObject *obj, long long *out)
{
    int overflow;
    if (!PyLong_CheckExact(obj))
        return 0;
    if (nffi_compact_long(obj, out))
        return 1;
    *out = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* The pointer held by a plain cdata of exactly 'ctype' that is not released and whose
 * owner cannot be released or closed under it (else the slow path checks): 1, *out. */
static inline int nffi_exact_pointer(const NffiCapi *api, PyObject *obj, PyObject *ctype,
                                     void **out)
{
    NffiCDataHead *cd = (NffiCDataHead *)obj;
    if (Py_TYPE(obj) != api->cdata_type || cd->c_type != ctype ||
            (cd->c_flags & (NFFI_CD_RELEASED | NFFI_CD_CHECK_OWNER)))
        return 0;
    *out = (void *)cd->c_data;
    return 1;
}

#endif
