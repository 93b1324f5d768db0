/* convert.c -- the conversion engine: Python objects to C values in memory, and back.
 *
 * One converter, nffi_convert(), for every way a Python object becomes a C value; what
 * differs between ffi.new, assignment, ffi.cast and call arguments is a policy given by
 * flags (nffi_core.h): checked (a value that does not fit raises, never truncated
 * silently), wrapping (casts: integers wrap around, floats truncate, addresses become
 * integers), call argument (bytes for 'char *', lists for 'T *', files for 'FILE *', in
 * temporaries freed after the call) and fresh memory (struct initializers zero what they
 * leave out).  Reading C memory back: primitives become Python values; structs, unions,
 * arrays and pointers become cdata views.  Also the raw integer/float/bitfield accessors
 * the rest of the core shares.
 */
#include "nffi_core.h"
#include <complex.h>

/* Each kind's conversion, and the slow paths within them, stay out of line: the engine
   is a dispatcher of tail calls, with little register saving on the hot paths (a call
   converts every argument). */
#define OUT_OF_LINE __attribute__((noinline))

/* see nffi_enter_nesting() in nffi_core.h */
_Thread_local int nffi_nesting_depth __attribute__((tls_model("initial-exec"))) = 0;

/* ---- raw memory accessors ----------------------------------------------------------- */

double nffi_read_float(const char *data, CTypeObject *ct)
{
    if (ct->ct_flags & CT_IS_LONGDOUBLE)
        return (double)nffi_read_longdouble(data);
    if (ct->ct_size == sizeof(float)) {
        float f;
        memcpy(&f, data, sizeof(f));
        return f;
    }
    double d;
    memcpy(&d, data, sizeof(d));
    return d;
}

long double nffi_read_longdouble(const char *data)
{
    long double x;
    memcpy(&x, data, sizeof(x));
    return x;
}

static void write_float(char *data, CTypeObject *ct, double value)
{
    if (ct->ct_flags & CT_IS_LONGDOUBLE) {
        long double x = value;
        memcpy(data, &x, sizeof(x));
    }
    else if (ct->ct_size == sizeof(float)) {
        float f = (float)value;
        memcpy(data, &f, sizeof(f));
    }
    else {
        memcpy(data, &value, sizeof(value));
    }
}

/* ---- integers --------------------------------------------------------------------- */

static int not_an_integer(void)
{
    PyErr_SetString(PyExc_TypeError, "an integer is required");
    return -1;
}

/* A Python int from obj, as cffi takes one: an int, or anything with __int__ (__index__
 * alone is not enough).  A checked conversion refuses floats and takes only integer or
 * character cdata; a cast truncates floats (ValueError for nan, OverflowError for inf). */
static PyObject *as_pylong(PyObject *obj, int flags)
{
    if (PyLong_Check(obj))
        return Py_NewRef(obj);
    if (!(flags & NFFI_CONV_CAST)) {
        if (CData_Check(obj) && !(((CDataObject *)obj)->c_type->ct_flags &
                                  (CT_PRIMITIVE_INTEGER | CT_PRIMITIVE_CHAR)))
            return not_an_integer(), NULL;
        if (PyFloat_Check(obj))
            return not_an_integer(), NULL;
    }
    PyNumberMethods *nb = Py_TYPE(obj)->tp_as_number;
    if (nb == NULL || nb->nb_int == NULL)
        return not_an_integer(), NULL;
    return PyNumber_Long(obj);
}

static int overflow_error(PyObject *value, CTypeObject *ct)
{
    PyErr_Format(PyExc_OverflowError, "integer %S does not fit '%s'", value,
                 nffi_ctype_name(ct));
    return -1;
}

/* The checked policy: obj as an integer value fitting ct (a primitive integer type), its
 * two's complement bits in *out; a value that does not fit raises OverflowError. */
static int integer_from_object(PyObject *obj, CTypeObject *ct, unsigned long long *out)
{
    PyObject *v = as_pylong(obj, 0);
    if (v == NULL)
        return -1;
    int result = 0;
    if (ct->ct_flags & CT_PRIMITIVE_SIGNED) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred())
            result = -1;
        else if (overflow)
            result = overflow_error(v, ct);
        else if (ct->ct_size < 8) {
            long long limit = 1LL << (ct->ct_size * 8 - 1);
            if (x < -limit || x >= limit)
                result = overflow_error(v, ct);
        }
        *out = (unsigned long long)x;
    }
    else {
        if (nffi_long_sign(v) < 0) {
            if (ct->ct_flags & CT_IS_BOOL)
                result = overflow_error(v, ct);
            else {
                PyErr_SetString(PyExc_OverflowError, "can't convert negative number to unsigned");
                result = -1;
            }
        }
        else {
            unsigned long long x = PyLong_AsUnsignedLongLong(v);
            if (x == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                result = overflow_error(v, ct);
            }
            else if ((ct->ct_flags & CT_IS_BOOL) && x > 1)
                result = overflow_error(v, ct);
            else if (ct->ct_size < 8 && (x >> (ct->ct_size * 8)) != 0)
                result = overflow_error(v, ct);
            *out = x;
        }
    }
    Py_DECREF(v);
    return result;
}

/* ---- what a cast reads from its source ------------------------------------------------ */


static int cannot_cast(CTypeObject *src, CTypeObject *target)
{
    PyErr_Format(PyExc_TypeError, "cannot cast ctype '%s' to ctype '%s'",
                 nffi_ctype_name(src), nffi_ctype_name(target));
    return -1;
}

/* A bytes or str of length 1 casts as its code: 1 and *code, else 0. */
static int one_character_code(PyObject *obj, Py_UCS4 *code)
{
    if (PyBytes_Check(obj) && PyBytes_GET_SIZE(obj) == 1)
        *code = (unsigned char)PyBytes_AS_STRING(obj)[0];
    else if (PyUnicode_Check(obj) && PyUnicode_GET_LENGTH(obj) == 1)
        *code = PyUnicode_READ_CHAR(obj, 0);
    else
        return 0;
    return 1;
}

/* The integer bits of a cdata cast source: its value, or its address. */
static int cdata_cast_bits(CDataObject *cd, unsigned long long *out, CTypeObject *target)
{
    CTypeObject *src = cd->c_type;
    if (src->ct_flags & CT_POINTER_LIKE) {
        *out = (unsigned long long)(uintptr_t)cd->c_data;
        return 0;
    }
    if (src->ct_flags & (CT_PRIMITIVE_INTEGER | CT_PRIMITIVE_CHAR)) {
        *out = nffi_value_signed(src)
            ? (unsigned long long)nffi_read_signed(cd->c_data, src->ct_size)
            : nffi_read_unsigned(cd->c_data, src->ct_size);
        return 0;
    }
    if (src->ct_flags & CT_PRIMITIVE_FLOAT) {
        double d = nffi_read_float(cd->c_data, src);
        if (target->ct_flags & CT_IS_BOOL) {
            /* a long double too small for a double is still true */
            *out = (src->ct_flags & CT_IS_LONGDOUBLE) ? nffi_read_longdouble(cd->c_data) != 0
                                                      : d != 0.0;
            return 0;
        }
        PyObject *asint = PyLong_FromDouble(d);   /* ValueError for nan, OverflowError inf */
        if (asint == NULL)
            return -1;
        *out = PyLong_AsUnsignedLongLongMask(asint);
        Py_DECREF(asint);
        return 0;
    }
    return cannot_cast(src, target);
}

/* The truth of a cast('_Bool', x) source that is not a cdata: any non-zero int (also
 * beyond 64 bits) or float is true; other objects by __float__, else __int__. */
static int bool_cast_bits(PyObject *value, unsigned long long *out)
{
    if (PyLong_Check(value)) {
        *out = nffi_long_sign(value) != 0;
        return 0;
    }
    if (PyFloat_Check(value)) {
        *out = PyFloat_AS_DOUBLE(value) != 0.0;
        return 0;
    }
    PyNumberMethods *nb = Py_TYPE(value)->tp_as_number;
    if (nb == NULL || (nb->nb_float == NULL && nb->nb_int == NULL)) {
        PyErr_SetString(PyExc_TypeError, "integer/float expected");
        return -1;
    }
    PyObject *number = nb->nb_float ? PyNumber_Float(value) : PyNumber_Long(value);
    if (number == NULL)
        return -1;
    int r = bool_cast_bits(number, out);
    Py_DECREF(number);
    return r;
}

/* The integer bits of a cast source: a cdata (its value or address), an int (wrapping),
 * a float (truncated), or, for integer and character targets, a one-character
 * bytes/str (its code). */
static int cast_source_bits(PyObject *value, unsigned long long *out, CTypeObject *target)
{
    if (PyLong_Check(value) && !(target->ct_flags & CT_IS_BOOL)) {     /* the common case */
        *out = PyLong_AsUnsignedLongLongMask(value);
        return (*out == (unsigned long long)-1 && PyErr_Occurred()) ? -1 : 0;
    }
    CDataObject *function = nffi_compiled_function_of(value);    /* 'lib.f': its address */
    if (function != NULL)
        value = (PyObject *)function;
    if (CData_Check(value))
        return cdata_cast_bits((CDataObject *)value, out, target);
    if (!(target->ct_flags & CT_POINTER_LIKE)) {
        Py_UCS4 code;
        if (one_character_code(value, &code)) {
            *out = code;
            return 0;
        }
        if (PyUnicode_Check(value)) {
            PyErr_Format(PyExc_TypeError, "cannot cast unicode string of length %zd to "
                         "ctype '%s'", PyUnicode_GET_LENGTH(value), nffi_ctype_name(target));
            return -1;
        }
        if (PyBytes_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "initializer for ctype 'char' must be a "
                            "bytes of length 1, not bytes");
            return -1;
        }
        if (target->ct_flags & CT_IS_BOOL)
            return bool_cast_bits(value, out);
    }
    PyObject *asint = as_pylong(value, NFFI_CONV_CAST);
    if (asint == NULL)
        return -1;
    *out = PyLong_AsUnsignedLongLongMask(asint);
    Py_DECREF(asint);
    return (*out == (unsigned long long)-1 && PyErr_Occurred()) ? -1 : 0;
}

/* The value of a cast source for a floating target: a cdata's value, the code of a
 * one-character bytes/str, or what float() gives. */
static int cast_source_double(PyObject *value, CTypeObject *target, double *out)
{
    if (CData_Check(value)) {
        CDataObject *cd = (CDataObject *)value;
        CTypeObject *src = cd->c_type;
        if (src->ct_flags & CT_PRIMITIVE_FLOAT)
            *out = nffi_read_float(cd->c_data, src);
        else if (!(src->ct_flags & (CT_PRIMITIVE_INTEGER | CT_PRIMITIVE_CHAR)))
            return cannot_cast(src, target);
        else if (nffi_value_signed(src))
            *out = (double)nffi_read_signed(cd->c_data, src->ct_size);
        else
            *out = (double)nffi_read_unsigned(cd->c_data, src->ct_size);
        return 0;
    }
    Py_UCS4 code;
    if (one_character_code(value, &code)) {
        *out = code;
        return 0;
    }
    *out = PyFloat_AsDouble(value);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* ---- characters ---------------------------------------------------------------------- */

static int char_size(CTypeObject *ct)
{
    return ct->ct_char_kind;   /* 1, 2 or 4 */
}

/* Read a char-kind value as its code (bytes value for char). */
static uint32_t read_char_code(const char *data, CTypeObject *ct)
{
    switch (char_size(ct)) {
    case 1: return *(const unsigned char *)data;
    case 2: { uint16_t v; memcpy(&v, data, 2); return v; }
    default: { uint32_t v; memcpy(&v, data, 4); return v; }
    }
}

static PyObject *read_char_as_str(const char *data, CTypeObject *ct)
{
    uint32_t code = read_char_code(data, ct);
    if (char_size(ct) == 1)
        return PyBytes_FromStringAndSize(data, 1);
    if (code > 0x10FFFF) {
        PyErr_Format(PyExc_ValueError, "%s out of range for conversion to unicode: 0x%x",
                     nffi_ctype_name(ct), (unsigned)code);
        return NULL;
    }
    return PyUnicode_FromOrdinal((int)code);
}

/* A str of length 1, or for 4-byte characters a surrogate pair of length 2. */
static int wide_char_from_str(PyObject *obj, CTypeObject *ct, uint32_t *out)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(obj);
    if (len == 1) {
        Py_UCS4 c = PyUnicode_READ_CHAR(obj, 0);
        if (char_size(ct) == 2 && c > 0xFFFF) {
            PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be a unicode "
                         "string of length 1, not larger-than-0xFFFF character",
                         nffi_ctype_name(ct));
            return -1;
        }
        *out = c;
        return 0;
    }
    if (len == 2 && char_size(ct) == 4) {
        Py_UCS4 hi = PyUnicode_READ_CHAR(obj, 0), lo = PyUnicode_READ_CHAR(obj, 1);
        if (hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
            *out = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return 0;
        }
    }
    PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be a unicode string of "
                 "length 1, not unicode string of length %zd", nffi_ctype_name(ct), len);
    return -1;
}

/* "initializer for ctype 'T' must be <expected>, not <what obj is>": a cdata is named by
   its C type, anything else by its Python type, as cffi does. */
static int initializer_type_error(CTypeObject *ct, const char *expected, PyObject *obj)
{
    if (CData_Check(obj))
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be %s, not cdata '%s'",
                     nffi_ctype_name(ct), expected,
                     nffi_ctype_name(((CDataObject *)obj)->c_type));
    else
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be %s, not %.200s",
                     nffi_ctype_name(ct), expected, Py_TYPE(obj)->tp_name);
    return -1;
}

static int char_from_object(PyObject *obj, CTypeObject *ct, uint32_t *out)
{
    if (char_size(ct) == 1) {
        if (PyBytes_Check(obj) && PyBytes_GET_SIZE(obj) == 1) {
            *out = (unsigned char)PyBytes_AS_STRING(obj)[0];
            return 0;
        }
    }
    else if (PyUnicode_Check(obj)) {
        return wide_char_from_str(obj, ct, out);
    }
    if (CData_Check(obj)) {
        CDataObject *cd = (CDataObject *)obj;
        if ((cd->c_type->ct_flags & CT_PRIMITIVE_CHAR) &&
                char_size(cd->c_type) == char_size(ct)) {
            *out = read_char_code(cd->c_data, cd->c_type);
            return 0;
        }
    }
    return initializer_type_error(ct, char_size(ct) == 1 ? "a bytes of length 1"
                                  : "a unicode string of length 1", obj);
}

static void write_char_code(char *data, CTypeObject *ct, uint32_t code)
{
    nffi_write_raw_integer(data, code, char_size(ct));
}

/* ---- arrays --------------------------------------------------------------------- */

static int too_many_initializers(CTypeObject *ct, Py_ssize_t got)
{
    PyErr_Format(PyExc_IndexError, "too many initializers for '%s' (got %zd)",
                 nffi_ctype_name(ct), got);
    return -1;
}

/* Write a bytes object into a char-like array, with a terminating NUL if it fits. */
static int array_from_bytes(char *data, CTypeObject *ct, PyObject *obj, Py_ssize_t length)
{
    Py_ssize_t n = PyBytes_GET_SIZE(obj);
    if (length >= 0 && n > length) {
        PyErr_Format(PyExc_IndexError, "initializer bytes is too long for '%s' "
                     "(got %zd characters)", nffi_ctype_name(ct), n);
        return -1;
    }
    const char *src = PyBytes_AS_STRING(obj);
    if (ct->ct_item->ct_flags & CT_IS_BOOL) {
        for (Py_ssize_t i = 0; i < n; i++)
            if ((unsigned char)src[i] > 1) {
                PyErr_SetString(PyExc_ValueError,
                                "an array of _Bool can only contain \\x00 or \\x01");
                return -1;
            }
    }
    memcpy(data, src, n);
    if (n < length)
        data[n] = 0;
    return 0;
}

/* Number of UTF-16 / UTF-32 units needed for a str, per the character size. */
static Py_ssize_t wide_length(PyObject *str, int size)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(str);
    if (size != 2)
        return n;
    Py_ssize_t extra = 0;
    if (PyUnicode_MAX_CHAR_VALUE(str) > 0xFFFF)
        for (Py_ssize_t i = 0; i < n; i++)
            if (PyUnicode_READ_CHAR(str, i) > 0xFFFF)
                extra++;
    return n + extra;
}

static int array_from_str(char *data, CTypeObject *ct, PyObject *obj, Py_ssize_t length)
{
    int size = char_size(ct->ct_item);
    Py_ssize_t n = wide_length(obj, size);
    if (length >= 0 && n > length) {
        PyErr_Format(PyExc_IndexError, "initializer unicode is too long for '%s' "
                     "(got %zd characters)", nffi_ctype_name(ct), n);
        return -1;
    }
    Py_ssize_t count = PyUnicode_GET_LENGTH(obj), pos = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(obj, i);
        if (size == 2 && c > 0xFFFF) {
            c -= 0x10000;
            nffi_write_raw_integer(data + 2 * pos++, 0xD800 | (c >> 10), 2);
            nffi_write_raw_integer(data + 2 * pos++, 0xDC00 | (c & 0x3FF), 2);
        }
        else {
            nffi_write_raw_integer(data + size * pos++, c, size);
        }
    }
    if (pos < length)
        nffi_write_raw_integer(data + size * pos, 0, size);
    return 0;
}

static int array_type_error(CTypeObject *ct, PyObject *obj)
{
    CTypeObject *item = ct->ct_item;
    const char *expected = "a list or tuple";
    if (ct->ct_flags & CT_IS_CHAR_PTR)
        expected = "a bytes or list or tuple";
    else if ((item->ct_flags & CT_PRIMITIVE_CHAR) && char_size(item) > 1)
        expected = "a unicode or list or tuple";
    return initializer_type_error(ct, expected, obj);
}

/* Item i of the list or tuple seq of n items being converted to ct, as a new reference.
 * Converting an item may run its __index__/__float__/..., which may change the list: the
 * size is read again each time (a change raises) and the item is held while converted. */
PyObject *nffi_sequence_item(PyObject *seq, Py_ssize_t i, Py_ssize_t n, CTypeObject *ct)
{
    if (PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_Format(PyExc_RuntimeError, "the list given for '%s' changed size while it was "
                     "being converted (from %zd to %zd items)", nffi_ctype_name(ct), n,
                     PySequence_Fast_GET_SIZE(seq));
        return NULL;
    }
    return Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
}

int nffi_convert_array_from_object(char *data, CTypeObject *ct, PyObject *obj,
                                   Py_ssize_t length)
{
    CTypeObject *item = ct->ct_item;
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(obj);
        if (length >= 0 && n > length)
            return too_many_initializers(ct, n);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *x = nffi_sequence_item(obj, i, n, ct);
            int r = x == NULL ? -1 : nffi_convert_from_object(data + i * item->ct_size, item, x);
            Py_XDECREF(x);
            if (r < 0)
                return -1;
        }
        return 0;
    }
    if (PyBytes_Check(obj) && (ct->ct_flags & CT_IS_CHAR_PTR))
        return array_from_bytes(data, ct, obj, length);
    if (PyUnicode_Check(obj) && (item->ct_flags & CT_PRIMITIVE_CHAR) && char_size(item) > 1)
        return array_from_str(data, ct, obj, length);
    if (CData_Check(obj) && ((CDataObject *)obj)->c_type == ct && ct->ct_length >= 0) {
        memmove(data, ((CDataObject *)obj)->c_data, ct->ct_size);
        return 0;
    }
    return array_type_error(ct, obj);
}

/* The item count a 'T[]' gets from an initializer (a list, bytes + NUL, str + NUL, or
 * an integer length).  -1 with an exception set when init is not usable. */
Py_ssize_t nffi_initializer_length(CTypeObject *arraytype, PyObject *init)
{
    CTypeObject *item = arraytype->ct_item;
    if (PyList_Check(init) || PyTuple_Check(init))
        return PySequence_Fast_GET_SIZE(init);
    if (PyBytes_Check(init) && (arraytype->ct_flags & CT_IS_CHAR_PTR))
        return PyBytes_GET_SIZE(init) + 1;
    if (PyUnicode_Check(init) && (item->ct_flags & CT_PRIMITIVE_CHAR) && char_size(item) > 1)
        return wide_length(init, char_size(item)) + 1;
    if (PyFloat_Check(init) || PyUnicode_Check(init) || PyBytes_Check(init) ||
            (Py_TYPE(init)->tp_as_number == NULL) ||
            (Py_TYPE(init)->tp_as_number->nb_index == NULL && !PyLong_Check(init))) {
        array_type_error(arraytype, init);
        return -1;
    }
    Py_ssize_t n = PyNumber_AsSsize_t(init, PyExc_OverflowError);
    if (n == -1 && PyErr_Occurred())
        return -1;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "negative array length");
        return -1;
    }
    return n;
}

/* ---- pointers ------------------------------------------------------------------------ */

static void store_pointer(char *data, const void *p)
{
    memcpy(data, &p, sizeof(p));
}

static int pointer_type_error(CTypeObject *ct, PyObject *obj)
{
    if (CData_Check(obj))
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be a pointer to same "
                     "type, not cdata '%s'", nffi_ctype_name(ct),
                     nffi_ctype_name(((CDataObject *)obj)->c_type));
    else
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be a cdata pointer, "
                     "not %.200s", nffi_ctype_name(ct), Py_TYPE(obj)->tp_name);
    return -1;
}

/* May a cdata of type 'src' (pointer, array or function) be stored into a 'dst'? */
static int pointer_compatible(CTypeObject *dst, CTypeObject *src)
{
    if (src == dst)
        return 1;
    if (src->ct_flags & CT_ARRAY) {
        if (src->ct_item == dst->ct_item)
            return 1;
    }
    else if (!(src->ct_flags & (CT_POINTER | CT_FUNCTIONPTR)))
        return 0;
    if ((dst->ct_flags | src->ct_flags) & CT_IS_VOID_PTR)
        return 1;
    /* pointers to single bytes (char, signed char, unsigned char...) mix freely */
    if ((dst->ct_flags & CT_IS_CHAR_PTR) && (src->ct_flags & CT_IS_CHAR_PTR))
        return 1;
    /* 'FILE *': the process-wide opaque FILE and an FFI's own FILE with glibc's fields
       (model.py) are one C type */
    if ((dst->ct_flags & CT_POINTER) && dst->ct_item != NULL && src->ct_item != NULL &&
            (dst->ct_item->ct_flags & src->ct_item->ct_flags & CT_IS_FILE))
        return 1;
    return 0;
}

/* A call argument: a list, tuple or str given for a 'T *' becomes a temporary 'T[]'
 * holding its items. */
static int array_argument(char *data, CTypeObject *ct, PyObject *obj, NffiTemps **temps)
{
    CTypeObject *item = ct->ct_item;
    if (PyUnicode_Check(obj) &&
            !((item->ct_flags & CT_PRIMITIVE_CHAR) && char_size(item) > 1)) {
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be a %s, not str",
                     nffi_ctype_name(ct), (ct->ct_flags & CT_IS_CHAR_PTR)
                     ? "bytes or list or tuple" : "list or tuple");
        return -1;
    }
    CTypeObject *arr = nffi_new_array_type(ct, -1);     /* the registry's 'T[]' */
    if (arr == NULL)
        return -1;
    Py_ssize_t n = nffi_initializer_length(arr, obj);
    char *buf = NULL;
    if (n >= 0 && item->ct_size > 0 && n > (PY_SSIZE_T_MAX - 1024) / item->ct_size)
        PyErr_SetString(PyExc_OverflowError, "array size would overflow a ssize_t");
    else if (n >= 0)
        buf = nffi_temps_alloc(temps, (size_t)(n * item->ct_size));
    int r = buf == NULL || nffi_convert_array_from_object(buf, arr, obj, n) < 0 ? -1 : 0;
    Py_DECREF(arr);
    store_pointer(data, buf);
    return r;
}

/* A Python file for a 'FILE *' (file.c): the file's own FILE, for a cast and a call
 * argument alike (as cffi: a FILE a call leaves behind, e.g. in 'stdout', stays valid
 * while the file lives).  1: done, 0: obj is no file. */
static OUT_OF_LINE int file_pointer(char *data, PyObject *obj)
{
    int is_file = nffi_is_python_file(obj);
    if (is_file <= 0)
        return is_file;
    FILE *f = nffi_file_of(obj);
    if (f == NULL)
        return -1;
    store_pointer(data, f);
    return 1;
}

/* A call argument for a 'T *' that is neither a cdata nor bytes (see
 * nffi_argument_needs_temporaries): a list, tuple or str becomes a temporary 'T[]', a
 * Python file for a 'FILE *' the file's FILE. */
static OUT_OF_LINE int temporary_pointer(char *data, CTypeObject *ct, PyObject *obj, NffiTemps **temps)
{
    CTypeObject *item = ct->ct_item;
    if ((PyList_Check(obj) || PyTuple_Check(obj) || PyUnicode_Check(obj)) &&
            item->ct_size >= 0 && !(item->ct_flags & CT_VOID))
        return array_argument(data, ct, obj, temps);
    if (item->ct_flags & CT_IS_FILE) {
        int done = file_pointer(data, obj);
        if (done != 0)
            return done < 0 ? -1 : 0;
    }
    return pointer_type_error(ct, obj);
}

/* A pointer (or, under a cast, an array or function pointer): a compatible cdata; under
 * a cast any integer or address, and a Python file for a 'FILE *'; as a call argument
 * also bytes for 'char *' and 'void *' and what temporary_pointer() takes. */
static OUT_OF_LINE int pointer_from_object(char *data, CTypeObject *ct, PyObject *obj, int flags,
                                    NffiTemps **temps)
{
    if (flags & NFFI_CONV_CAST) {
        if ((ct->ct_flags & CT_POINTER) && (ct->ct_item->ct_flags & CT_IS_FILE) &&
                !CData_Check(obj) && !PyLong_Check(obj)) {
            int done = file_pointer(data, obj);
            if (done != 0)
                return done < 0 ? -1 : 0;
        }
        unsigned long long bits;
        if (cast_source_bits(obj, &bits, ct) < 0)
            return -1;
        store_pointer(data, (void *)(uintptr_t)bits);
        return 0;
    }
    CDataObject *function;
    if (!CData_Check(obj) && (function = nffi_compiled_function_of(obj)) != NULL)
        obj = (PyObject *)function;          /* 'lib.f' of a compiled module, as cffi */
    if (CData_Check(obj)) {
        CDataObject *cd = (CDataObject *)obj;
        if (!pointer_compatible(ct, cd->c_type))
            return pointer_type_error(ct, obj);
        if (nffi_check_released(cd) < 0)
            return -1;
        store_pointer(data, cd->c_data);
        return 0;
    }
    if (flags & NFFI_CONV_ARGUMENT) {
        if (nffi_argument_needs_temporaries(ct, obj))
            return temporary_pointer(data, ct, obj, temps);
        if (PyBytes_Check(obj) && nffi_pointer_takes_bytes(ct)) {
            store_pointer(data, PyBytes_AS_STRING(obj));
            return 0;
        }
    }
    return pointer_type_error(ct, obj);
}

/* ---- structs and unions ------------------------------------------------------------- */

static int struct_from_sequence(char *data, CTypeObject *ct, PyObject *obj, Py_ssize_t room)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(obj);
    Py_ssize_t nfields = PyTuple_GET_SIZE(ct->ct_init_fields);
    /* the fields first, then the count: a bad value is reported before extra items,
       as cffi does */
    for (Py_ssize_t i = 0; i < n && i < nfields; i++) {
        CFieldObject *cf = (CFieldObject *)PyTuple_GET_ITEM(ct->ct_init_fields, i);
        PyObject *x = nffi_sequence_item(obj, i, n, ct);
        int r = x == NULL ? -1 : nffi_write_field(data, cf, x, room);
        Py_XDECREF(x);
        if (r < 0)
            return -1;
    }
    if (n > nfields) {
        PyErr_Format(PyExc_ValueError, "too many initializers for '%s' (got %zd)",
                     nffi_ctype_name(ct), n);
        return -1;
    }
    return 0;
}

static int struct_from_dict(char *data, CTypeObject *ct, PyObject *obj, Py_ssize_t room)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    /* every key is written, in the dict's order, also several members of a union
       (cffi does the same: {'a': 1, 'b': 2} on 'union { struct { int a, b; }; }') */
    Py_ssize_t size = PyDict_GET_SIZE(obj);
    while (PyDict_Next(obj, &pos, &key, &value)) {
        PyObject *cf = PyUnicode_Check(key) ? PyDict_GetItemWithError(ct->ct_fields, key)
                                            : NULL;
        if (cf == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, key);
            return -1;
        }
        /* held while converted: its __index__ may change the dict (which raises below) */
        Py_INCREF(value);
        int r = nffi_write_field(data, (CFieldObject *)cf, value, room);
        Py_DECREF(value);
        if (r < 0)
            return -1;
        if (PyDict_GET_SIZE(obj) != size) {
            PyErr_Format(PyExc_RuntimeError, "the dict given for '%s' changed size while it "
                         "was being converted", nffi_ctype_name(ct));
            return -1;
        }
    }
    return 0;
}

/* room: the bytes writable at data (more than ct_size when a flexible array member was
   allocated with the struct), or -1 when that is not known (memory from C). */
static int struct_from_object(char *data, CTypeObject *ct, PyObject *obj, Py_ssize_t room)
{
    if (ct->ct_flags & CT_IS_OPAQUE) {
        PyErr_Format(PyExc_TypeError, "'%s' is opaque", nffi_ctype_name(ct));
        return -1;
    }
    if (CData_Check(obj) && ((CDataObject *)obj)->c_type == ct) {
        memmove(data, ((CDataObject *)obj)->c_data, ct->ct_size);
        return 0;
    }
    if (PyList_Check(obj) || PyTuple_Check(obj))
        return struct_from_sequence(data, ct, obj, room);
    if (PyDict_Check(obj))
        return struct_from_dict(data, ct, obj, room);
    return initializer_type_error(ct, "a list or tuple or dict or struct-cdata", obj);
}

/* ---- bitfields ---------------------------------------------------------------------- */

/* Bitfields may span up to 16 bytes from cf_offset (see nffi/layout.py): read and
 * write only the bytes that hold the field's bits. */
static Py_ssize_t bitfield_bytes(CFieldObject *cf)
{
    return (cf->cf_bitshift + cf->cf_bitsize + 7) / 8;
}

static unsigned __int128 read_bitfield_raw(const char *data, CFieldObject *cf)
{
    unsigned __int128 raw = 0;
    memcpy(&raw, data + cf->cf_offset, bitfield_bytes(cf));
    unsigned __int128 mask = (((unsigned __int128)1) << cf->cf_bitsize) - 1;
    return (raw >> cf->cf_bitshift) & mask;
}

static PyObject *read_bitfield(const char *data, CFieldObject *cf)
{
    unsigned long long value = (unsigned long long)read_bitfield_raw(data, cf);
    CTypeObject *ct = cf->cf_type;
    if (ct->ct_flags & CT_PRIMITIVE_SIGNED) {
        unsigned long long sign = 1ULL << (cf->cf_bitsize - 1);
        long long sval = (long long)((value ^ sign) - sign);
        return PyLong_FromLongLong(sval);
    }
    return PyLong_FromUnsignedLongLong(value);     /* _Bool bit-fields too: ints, as cffi */
}

static int write_bitfield_int(char *data, CFieldObject *cf, PyObject *obj)
{
    CTypeObject *ct = cf->cf_type;
    unsigned long long bits;
    if (integer_from_object(obj, ct, &bits) < 0)
        return -1;
    int width = cf->cf_bitsize;
    int is_signed = (ct->ct_flags & CT_PRIMITIVE_SIGNED) != 0;
    long long lo = is_signed ? -(long long)(1ULL << (width - 1)) : 0;
    unsigned long long hi = is_signed ? (1ULL << (width - 1)) - 1
                                      : (width >= 64 ? ~0ULL : (1ULL << width) - 1);
    if (is_signed && width == 1)
        hi = 1;     /* as cffi: 'int x:1' takes 1 (and reads back -1) */
    int fits = is_signed ? ((long long)bits >= lo && (long long)bits <= (long long)hi)
                         : bits <= hi;
    if (!fits) {
        PyObject *v = as_pylong(obj, 0);
        if (v != NULL) {
            if (is_signed)
                PyErr_Format(PyExc_OverflowError, "value %S outside the range allowed by "
                             "the bit field width: %lld <= x <= %lld", v, lo, (long long)hi);
            else
                PyErr_Format(PyExc_OverflowError, "value %S outside the range allowed by "
                             "the bit field width: 0 <= x <= %llu", v, hi);
            Py_DECREF(v);
        }
        return -1;
    }
    unsigned __int128 raw = 0;
    Py_ssize_t nbytes = bitfield_bytes(cf);
    memcpy(&raw, data + cf->cf_offset, nbytes);
    unsigned __int128 mask = ((((unsigned __int128)1) << width) - 1) << cf->cf_bitshift;
    raw = (raw & ~mask) | ((((unsigned __int128)bits) << cf->cf_bitshift) & mask);
    memcpy(data + cf->cf_offset, &raw, nbytes);
    return 0;
}

/* as cffi: a bit-field takes an int or what __index__ gives (not a cdata, a float or an
   object with __int__ only) */
static int write_bitfield(char *data, CFieldObject *cf, PyObject *obj)
{
    PyObject *index = PyNumber_Index(obj);
    if (index == NULL)
        return -1;
    int r = write_bitfield_int(data, cf, index);
    Py_DECREF(index);
    return r;
}

/* ---- floating and complex numbers ------------------------------------------------------ */

static OUT_OF_LINE int float_from_object(char *data, CTypeObject *ct, PyObject *obj, int flags)
{
    if ((ct->ct_flags & CT_IS_LONGDOUBLE) && CData_Check(obj) &&
            (((CDataObject *)obj)->c_type->ct_flags & CT_IS_LONGDOUBLE)) {
        memcpy(data, ((CDataObject *)obj)->c_data, sizeof(long double));
        return 0;
    }
    double value;
    if (flags & NFFI_CONV_CAST) {
        if (cast_source_double(obj, ct, &value) < 0)
            return -1;
        if ((ct->ct_flags & CT_IS_LONGDOUBLE) && PyLong_Check(obj)) {
            /* keep the precision of large integers that a double would round */
            long long ll = PyLong_AsLongLong(obj);
            long double x = PyErr_Occurred() ? (PyErr_Clear(), (long double)value)
                                             : (long double)ll;
            memcpy(data, &x, sizeof(x));
            return 0;
        }
    }
    else if ((value = PyFloat_AsDouble(obj)) == -1.0 && PyErr_Occurred())
        return -1;
    write_float(data, ct, value);
    return 0;
}

/* A complex: what complex() takes; a cast also takes a primitive cdata (its value) and a
 * one-character bytes or str (its code). */
static OUT_OF_LINE int complex_from_object(char *data, CTypeObject *ct, PyObject *obj, int flags)
{
    PyObject *src = Py_NewRef(obj);
    if ((flags & NFFI_CONV_CAST) && CData_Check(obj)) {
        CTypeObject *srct = ((CDataObject *)obj)->c_type;
        Py_DECREF(src);
        if (!(srct->ct_flags & CT_PRIMITIVE_ANY))
            return cannot_cast(srct, ct);
        src = nffi_convert_to_object(((CDataObject *)obj)->c_data, srct, NULL);
        if (src == NULL)
            return -1;
    }
    Py_complex z = {0.0, 0.0};
    Py_UCS4 code;
    if (!(flags & NFFI_CONV_CAST) || !(PyBytes_Check(src) || PyUnicode_Check(src)))
        z = PyComplex_AsCComplex(src);
    else if (one_character_code(src, &code))
        z.real = code;
    else
        PyErr_Format(PyExc_TypeError, "cannot cast %.200s object to ctype '%s'",
                     Py_TYPE(src)->tp_name, nffi_ctype_name(ct));
    Py_DECREF(src);
    if (PyErr_Occurred())
        return -1;
    if (ct->ct_size == sizeof(float _Complex)) {
        float parts[2] = { (float)z.real, (float)z.imag };
        memcpy(data, parts, sizeof(parts));
    }
    else {
        double parts[2] = { z.real, z.imag };
        memcpy(data, parts, sizeof(parts));
    }
    return 0;
}

/* ---- the engine ------------------------------------------------------------------------- */

static OUT_OF_LINE int integer_to_memory(char *data, CTypeObject *ct, PyObject *obj, int flags)
{
    if (!(flags & NFFI_CONV_CAST) && nffi_write_int_fast(data, ct, obj))
        return 0;
    unsigned long long bits;
    if (!(flags & NFFI_CONV_CAST) ? integer_from_object(obj, ct, &bits) < 0
                                  : cast_source_bits(obj, &bits, ct) < 0)
        return -1;
    if ((flags & NFFI_CONV_CAST) && (ct->ct_flags & CT_IS_BOOL))
        bits = bits != 0;
    nffi_write_raw_integer(data, bits, ct->ct_size);
    return 0;
}

static OUT_OF_LINE int char_to_memory(char *data, CTypeObject *ct, PyObject *obj)
{
    uint32_t code;
    if (char_from_object(obj, ct, &code) < 0)
        return -1;
    write_char_code(data, ct, code);
    return 0;
}

static OUT_OF_LINE int initializer_to_memory(char *data, CTypeObject *ct, PyObject *obj, int flags,
                                      Py_ssize_t room)
{
    if ((flags & NFFI_CONV_FRESH) && (ct->ct_flags & CT_STRUCT_OR_UNION))
        memset(data, 0, ct->ct_size);   /* fields a list or dict leaves out are 0 */
    /* a nested initializer recurses through here once per level of the type; types can be
       nested arbitrarily deep through typedefs, so bound the depth (RecursionError, not
       a C stack overflow; see nffi_enter_nesting) */
    if (nffi_enter_nesting(" while converting a nested initializer") < 0)
        return -1;
    int result = (ct->ct_flags & CT_ARRAY)
        ? nffi_convert_array_from_object(data, ct, obj, ct->ct_length)
        : struct_from_object(data, ct, obj, room);
    nffi_leave_nesting();
    return result;
}

/* Write obj as a ct at data under the policy 'flags' (nffi_core.h), with room bytes
   writable there (more than ct_size when a flexible array member was allocated with the
   struct; -1: unknown, memory from C). */
static int convert(char *data, CTypeObject *ct, PyObject *obj, int flags, Py_ssize_t room,
                   NffiTemps **temps)
{
    int kind = ct->ct_flags;
    int cast = flags & NFFI_CONV_CAST;
    if ((kind & CT_PRIMITIVE_INTEGER) || (cast && (kind & CT_PRIMITIVE_CHAR)))
        return integer_to_memory(data, ct, obj, flags);
    if ((kind & (CT_POINTER | CT_FUNCTIONPTR)) || (cast && (kind & CT_ARRAY)))
        return pointer_from_object(data, ct, obj, flags, temps);
    if (kind & CT_PRIMITIVE_FLOAT)
        return float_from_object(data, ct, obj, flags);
    if (kind & CT_PRIMITIVE_CHAR)
        return char_to_memory(data, ct, obj);
    if (kind & CT_PRIMITIVE_COMPLEX)
        return complex_from_object(data, ct, obj, flags);
    if ((kind & (CT_STRUCT_OR_UNION | CT_ARRAY)) && !cast)
        return initializer_to_memory(data, ct, obj, flags, room);
    PyErr_Format(PyExc_TypeError, cast ? "cannot cast to ctype '%s'"
                 : "cannot write to a value of ctype '%s'", nffi_ctype_name(ct));
    return -1;
}

int nffi_convert(char *data, CTypeObject *ct, PyObject *obj, int flags, NffiTemps **temps)
{
    return convert(data, ct, obj, flags, ct->ct_size, temps);
}

int nffi_convert_from_object_room(char *data, CTypeObject *ct, PyObject *obj,
                                  Py_ssize_t room)
{
    return convert(data, ct, obj, 0, room, NULL);
}

/* ---- C to Python ------------------------------------------------------------------------ */


static PyObject *complex_to_object(const char *data, CTypeObject *ct)
{
    if (ct->ct_size == sizeof(float _Complex)) {
        float parts[2];
        memcpy(parts, data, sizeof(parts));
        return PyComplex_FromDoubles(parts[0], parts[1]);
    }
    double parts[2];
    memcpy(parts, data, sizeof(parts));
    return PyComplex_FromDoubles(parts[0], parts[1]);
}

static PyObject *longdouble_to_cdata(const char *data, CTypeObject *ct)
{
    CDataObject *cd = nffi_cdata_new_value(ct);
    if (cd != NULL)
        memcpy(cd->c_data, data, sizeof(long double));
    return (PyObject *)cd;
}

PyObject *nffi_small_ints[NFFI_SMALL_INT_MAX - NFFI_SMALL_INT_MIN + 1];

int nffi_small_ints_init(void)
{
    for (long v = NFFI_SMALL_INT_MIN; v <= NFFI_SMALL_INT_MAX; v++) {
        PyObject **slot = &nffi_small_ints[v - NFFI_SMALL_INT_MIN];
        if (*slot == NULL && (*slot = PyLong_FromLong(v)) == NULL)
            return -1;
    }
    return 0;
}

PyObject *nffi_convert_to_object(char *data, CTypeObject *ct, PyObject *owner)
{
    int flags = ct->ct_flags;
    if (nffi_is_plain_integer(ct))     /* (reads any alignment: packed fields) */
        return nffi_integer_to_object(data, ct);
    if (flags & CT_IS_BOOL) {
        unsigned long long v = nffi_read_unsigned(data, ct->ct_size);
        if (v > 1) {
            PyErr_Format(PyExc_ValueError, "got a _Bool of value %llu, expected 0 or 1", v);
            return NULL;
        }
        return PyBool_FromLong((long)v);
    }
    if (flags & (CT_POINTER | CT_FUNCTIONPTR)) {
        char *ptr;
        memcpy(&ptr, data, sizeof(ptr));
        return (PyObject *)nffi_cdata_new_view(ct, ptr, NULL);
    }
    if (flags & CT_PRIMITIVE_FLOAT) {
        if (flags & CT_IS_LONGDOUBLE)
            return longdouble_to_cdata(data, ct);
        return PyFloat_FromDouble(nffi_read_float(data, ct));
    }
    if (flags & CT_PRIMITIVE_CHAR)
        return read_char_as_str(data, ct);
    if (flags & (CT_STRUCT_OR_UNION | CT_ARRAY))
        return (PyObject *)nffi_cdata_new_view(ct, data, owner);
    if (flags & CT_PRIMITIVE_COMPLEX)
        return complex_to_object(data, ct);
    PyErr_Format(PyExc_TypeError, "cannot return a cdata '%s'", nffi_ctype_name(ct));
    return NULL;
}

/* A flexible array member 'T x[]' gets as many items as the initializer has (an integer
   initializer only gives the count and leaves the memory as it is, as in cffi), if they
   fit in the room the struct was allocated with. */
static int write_flexible_member(char *data, CFieldObject *cf, PyObject *obj, Py_ssize_t room)
{
    CTypeObject *ft = cf->cf_type;
    Py_ssize_t n = nffi_initializer_length(ft, obj);
    if (n < 0)
        return -1;
    Py_ssize_t itemsize = ft->ct_item->ct_size;
    if (room >= 0 && itemsize > 0 && n > (room - cf->cf_offset) / itemsize) {
        PyErr_Format(PyExc_IndexError, "flexible array member '%U' of ctype '%s' has room "
                     "for %zd items, the initializer gives %zd", cf->cf_name,
                     nffi_ctype_name(ft), (room - cf->cf_offset) / itemsize, n);
        return -1;
    }
    if (PyLong_Check(obj) || (!CData_Check(obj) && PyIndex_Check(obj)))
        return 0;
    return nffi_convert_array_from_object(data + cf->cf_offset, ft, obj, n);
}

/* Write a field of the struct at data, which has room bytes (-1: unknown). */
int nffi_write_field(char *data, CFieldObject *cf, PyObject *obj, Py_ssize_t room)
{
    if (cf->cf_bitshift >= 0)
        return write_bitfield(data, cf, obj);
    CTypeObject *ft = cf->cf_type;
    if ((ft->ct_flags & CT_ARRAY) && ft->ct_length < 0)
        return write_flexible_member(data, cf, obj, room);
    if (ft->ct_flags & CT_WITH_VAR_ARRAY)       /* a nested struct ending in 'T x[]' */
        return nffi_convert_from_object_room(data + cf->cf_offset, ft, obj,
                          room >= 0 ? room - cf->cf_offset : -1);
    return nffi_convert_from_object(data + cf->cf_offset, ft, obj);
}

PyObject *nffi_read_field(char *data, CFieldObject *cf, PyObject *owner)
{
    if (cf->cf_bitshift >= 0)
        return read_bitfield(data, cf);
    CTypeObject *ft = cf->cf_type;
    if ((ft->ct_flags & CT_ARRAY) && ft->ct_length <= 0) {
        /* 'T x[]' or 'T x[0]' (the old variable-size idiom): no usable length, so it
           reads as a 'T *' to its first item, as in cffi (cdata.c gives 'T[]' with a
           length when the struct's allocated size is known) */
        CTypeObject *ptr = nffi_new_pointer_type(ft->ct_item);
        if (ptr == NULL)
            return NULL;
        PyObject *r = (PyObject *)nffi_cdata_new_view(ptr, data + cf->cf_offset, owner);
        Py_DECREF(ptr);
        return r;
    }
    return nffi_convert_to_object(data + cf->cf_offset, ft, owner);
}

/* ---- re-checks after user code ran --------------------------------------------------- */

int nffi_recheck_arguments(CDataObject *fn, PyObject *const *args, Py_ssize_t nargs)
{
    if (fn != NULL && fn->c_owner != NULL && nffi_library_check_open(fn->c_owner) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < nargs; i++)
        if (CData_Check(args[i]) && nffi_check_released((CDataObject *)args[i]) < 0)
            return -1;
    return 0;
}
