/* llptr.c -- the hot paths of rffi's pointer objects and llexternal calls.
 *
 * nffi.lltype and nffi.rffi (Python) own the semantics: which values a store accepts,
 * the errors and their wording, leak records.  This file only runs the common case
 * natively and hands everything else back to the Python functions it was given:
 *   LLAllocation  the C base of lltype._Allocation: the record of one raw allocation
 *                 (address, type, freed flag, where it was made), and the allocator
 *                 itself (_malloc, _free: the live set and the leak records of spec 1.9
 *                 are lltype's dicts, updated here);
 *   LLPtr         the C base of lltype._ptr: the slots _T, _cd, _lo, _hi, _alloc;
 *   LLField       the descriptor of one primitive field on the pointer class of a struct
 *                 type: reads through the core's nffi_read_field, stores values that are
 *                 already of the exact low-level type through nffi_write_field, and calls
 *                 Python (to_c, check_live) for conversions and errors;
 *   LLTypedInt    the C base of lltype's value classes: their arithmetic's common case;
 *   LLExternal    the callable an llexternal returns: per argument a fast check of the
 *                 exact type (else the argument's Python converter), then the core's
 *                 function object, then the result's class or converter.
 */
#include "nffi_core.h"

/* ---- LLAllocation ------------------------------------------------------------------ */
typedef struct {
    PyObject_HEAD
    char freed;
    char released;      /* freed with tracking, or made immortal: not a leak */
    PyObject *address;  /* int */
    PyObject *T;        /* the allocated low-level type */
    PyObject *n;        /* the length of a var-sized type, or None */
    PyObject *where;    /* None, or the caller's frames: ((code, instruction offset), ...),
                           innermost first (formatted only when a leak is reported) */
} LLAllocationObject;

static PyMemberDef llallocation_members[] = {
    {"freed", T_BOOL, offsetof(LLAllocationObject, freed), 0, "True once free() ran"},
    {"released", T_BOOL, offsetof(LLAllocationObject, released), 0,
     "True once freed with tracking or made immortal: not a leak"},
    {"address", T_OBJECT, offsetof(LLAllocationObject, address), 0, NULL},
    {"T", T_OBJECT, offsetof(LLAllocationObject, T), 0, NULL},
    {"n", T_OBJECT, offsetof(LLAllocationObject, n), 0, NULL},
    {"where", T_OBJECT, offsetof(LLAllocationObject, where), 0, NULL},
    {NULL}
};

static int llallocation_traverse(LLAllocationObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->address);
    Py_VISIT(self->T);
    Py_VISIT(self->n);
    Py_VISIT(self->where);
    return 0;
}

static int llallocation_clear(LLAllocationObject *self)
{
    Py_CLEAR(self->address);
    Py_CLEAR(self->T);
    Py_CLEAR(self->n);
    Py_CLEAR(self->where);
    return 0;
}

static void llallocation_dealloc(LLAllocationObject *self)
{
    PyObject_GC_UnTrack(self);
    llallocation_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject LLAllocation_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi._core.LLAllocation",
    .tp_basicsize = sizeof(LLAllocationObject),
    .tp_dealloc = (destructor)llallocation_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)llallocation_traverse,
    .tp_clear = (inquiry)llallocation_clear,
    .tp_members = llallocation_members,
    .tp_new = PyType_GenericNew,     /* tp_methods: the allocator (below), set at init */
    .tp_doc = "Base of lltype._Allocation: the record of one raw allocation.",
};

/* Is alloc (a pointer's _alloc: None or an LLAllocation) a freed allocation?  The class
   last found to derive from LLAllocation is remembered (lltype's _Allocation: one class),
   which saves the subtype walk on every field access.  The reference is owned, so the
   class cannot die and another type take its address. */
static PyTypeObject *allocation_class;

static int allocation_freed(PyObject *alloc)
{
    if (alloc == NULL || alloc == Py_None)
        return 0;
    if (Py_TYPE(alloc) != allocation_class) {
        if (!PyObject_TypeCheck(alloc, &LLAllocation_Type))
            return 0;
        Py_XSETREF(allocation_class, (PyTypeObject *)Py_NewRef(Py_TYPE(alloc)));
    }
    return ((LLAllocationObject *)alloc)->freed;
}

/* ---- typed ints ------------------------------------------------------------------- */
/* int.__new__(cls, v) for a value class of lltype (an int subclass) and an int v that C
 * memory or a C result held, so in range: cls's own checks are skipped.  Small values
 * are made once per class and shared, as CPython shares small ints (the instances are
 * immutable); this saves the allocation on the most common reads and results. */
#define SMALL_MIN (-5)
#define SMALL_MAX 256
#define SMALL_CLASSES 16
static struct {
    PyObject *cls;                                  /* owned, NULL: a free entry */
    PyObject *values[SMALL_MAX - SMALL_MIN + 1];    /* owned, NULL until made */
} small_values[SMALL_CLASSES];

static PyObject *make_typed_int(PyObject *cls, PyObject *value)
{
    PyObject *args = PyTuple_Pack(1, value);
    PyObject *r = args == NULL ? NULL : PyLong_Type.tp_new((PyTypeObject *)cls, args, NULL);
    Py_XDECREF(args);
    return r;
}

/* The shared instance of cls for v (SMALL_MIN <= v <= SMALL_MAX), or NULL: maybe an
   error, or (no error) more classes than entries. */
static PyObject *small_typed_int(PyObject *cls, long long v)
{
    static int last;                        /* the entry of the last class served */
    int k = last;
    if (small_values[k].cls != cls) {
        for (k = 0; k < SMALL_CLASSES; k++) {
            if (small_values[k].cls == NULL)
                small_values[k].cls = Py_NewRef(cls);    /* first seen: this entry */
            if (small_values[k].cls == cls)
                break;
        }
        if (k == SMALL_CLASSES)
            return NULL;
        last = k;
    }
    PyObject **slot = &small_values[k].values[v - SMALL_MIN];
    if (*slot == NULL) {
        PyObject *value = PyLong_FromLongLong(v);
        *slot = value == NULL ? NULL : make_typed_int(cls, value);
        Py_XDECREF(value);
        if (*slot == NULL)
            return NULL;
    }
    return Py_NewRef(*slot);
}

static PyObject *typed_int(PyObject *cls, PyObject *value)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    if (!overflow && v >= SMALL_MIN && v <= SMALL_MAX) {
        PyObject *r = small_typed_int(cls, v);
        if (r != NULL || PyErr_Occurred())
            return r;
    }
    return make_typed_int(cls, value);
}

/* The instance of cls for the integer of C type ct at data (an integer ctype of up to 8
   bytes, not a bitfield), or NULL + error: the common reads of typed ints, without an
   intermediate int for the small values. */
static PyObject *typed_int_at(PyObject *cls, const char *data, CTypeObject *ct)
{
    PyObject *value;
    if (nffi_value_signed(ct)) {
        long long v = nffi_read_signed(data, ct->ct_size);
        if (v >= SMALL_MIN && v <= SMALL_MAX) {
            PyObject *r = small_typed_int(cls, v);
            if (r != NULL || PyErr_Occurred())
                return r;
        }
        value = PyLong_FromLongLong(v);
    } else {
        unsigned long long v = nffi_read_unsigned(data, ct->ct_size);
        if (v <= SMALL_MAX) {
            PyObject *r = small_typed_int(cls, (long long)v);
            if (r != NULL || PyErr_Occurred())
                return r;
        }
        value = PyLong_FromUnsignedLongLong(v);
    }
    PyObject *r = value == NULL ? NULL : make_typed_int(cls, value);
    Py_XDECREF(value);
    return r;
}

/* Can typed_int_at read values of ct? */
static int plain_integer(CTypeObject *ct)
{
    return (ct->ct_flags & CT_PRIMITIVE_INTEGER) && !(ct->ct_flags & (CT_IS_ENUM | CT_IS_BOOL))
           && ct->ct_size >= 1 && ct->ct_size <= 8;
}

/* ---- LLTypedInt: the arithmetic of lltype's value classes (spec 1.2) ---------------
 * The C base of lltype._TypedInt.  A binary operator whose operands are the same value
 * class, or one value class and a plain int or bool, computes with int's own operator
 * and gives the class's instance when the result is in the class's range: the common
 * case of RPython-style code (r_uint arithmetic, callbacks' r_int items).  Everything
 * else -- results out of range (wrapped or OverflowError), mixed classes, floats,
 * 128-bit classes, pow with a modulo -- is lltype._mixed_arith(op, a, b), which owns
 * the rules and the errors. */
static PyObject *mixed_arith;            /* lltype._mixed_arith */
static PyObject *operator_funcs[11];     /* operator.add ... in the order of ARITH_* */
enum { ARITH_ADD, ARITH_SUB, ARITH_MUL, ARITH_FLOORDIV, ARITH_MOD, ARITH_POW, ARITH_LSHIFT,
       ARITH_RSHIFT, ARITH_AND, ARITH_OR, ARITH_XOR };
static const char *const operator_names[11] = {"add", "sub", "mul", "floordiv", "mod", "pow",
                                               "lshift", "rshift", "and_", "or_", "xor"};

static PyTypeObject LLTypedInt_Type;

/* The range of a value class, read once from its _MIN and _MAX (fitting a long long and
   an unsigned long long: classes of up to 64 bits). */
#define RANGE_CLASSES 32
static struct {
    PyTypeObject *cls;          /* owned, NULL: a free entry */
    int known;                  /* 0: no C range (wider than 64 bits) */
    int is_unsigned;
    long long lo, hi;
    unsigned long long uhi;
} class_ranges[RANGE_CLASSES];

/* 1: r (an exact int) is within cls's range; 0: not, or unknown; -1: error */
static int in_class_range(PyTypeObject *cls, PyObject *r)
{
    static int last;
    int k = last;
    if (class_ranges[k].cls != cls) {
        for (k = 0; k < RANGE_CLASSES && class_ranges[k].cls != NULL; k++)
            if (class_ranges[k].cls == cls)
                break;
        if (k == RANGE_CLASSES)
            return 0;
        if (class_ranges[k].cls == NULL) {          /* first seen: read its range */
            PyObject *lo = PyObject_GetAttrString((PyObject *)cls, "_MIN");
            PyObject *hi = lo == NULL ? NULL : PyObject_GetAttrString((PyObject *)cls, "_MAX");
            if (hi == NULL) {
                Py_XDECREF(lo);
                return -1;
            }
            int overflow1, overflow2;
            long long l = PyLong_AsLongLongAndOverflow(lo, &overflow1);
            unsigned long long u = 0;
            long long h = 0;
            if (!overflow1 && l >= 0) {
                u = PyLong_AsUnsignedLongLong(hi);
                overflow2 = u == (unsigned long long)-1 && PyErr_Occurred();
            } else {
                h = PyLong_AsLongLongAndOverflow(hi, &overflow2);
            }
            Py_DECREF(lo);
            Py_DECREF(hi);
            if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_OverflowError))
                return -1;
            PyErr_Clear();
            class_ranges[k].known = !overflow1 && !overflow2;
            class_ranges[k].is_unsigned = l >= 0;
            class_ranges[k].lo = l;
            class_ranges[k].hi = h;
            class_ranges[k].uhi = u;
            class_ranges[k].cls = (PyTypeObject *)Py_NewRef(cls);
        }
        last = k;
    }
    if (!class_ranges[k].known)
        return 0;
    if (class_ranges[k].is_unsigned) {
        if (nffi_long_sign(r) < 0)
            return 0;
        unsigned long long v = PyLong_AsUnsignedLongLong(r);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        return v <= class_ranges[k].uhi;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(r, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    return !overflow && class_ranges[k].lo <= v && v <= class_ranges[k].hi;
}

static PyObject *typed_binop(PyObject *a, PyObject *b, int op, binaryfunc int_op)
{
    PyObject *typed = PyObject_TypeCheck(a, &LLTypedInt_Type) ? a : b;
    PyObject *other = typed == a ? b : a;
    PyTypeObject *cls = Py_TYPE(typed);
    if (Py_TYPE(other) == cls || PyLong_CheckExact(other) || PyBool_Check(other)) {
        PyObject *r = int_op(a, b);
        if (r == NULL || !PyLong_CheckExact(r))
            return r;                           /* an error, or int ** negative: a float */
        int ok = in_class_range(cls, r);
        if (ok != 0) {
            PyObject *result = ok < 0 ? NULL : typed_int((PyObject *)cls, r);
            Py_DECREF(r);
            return result;
        }
        Py_DECREF(r);
    }
    if (mixed_arith == NULL)
        Py_RETURN_NOTIMPLEMENTED;               /* before lltype's _setup */
    return PyObject_CallFunctionObjArgs(mixed_arith, operator_funcs[op], a, b, NULL);
}

#define TYPED_BINOP(fname, OP, slot)                                                     \
    static PyObject *fname(PyObject *a, PyObject *b)                                     \
    {                                                                                    \
        return typed_binop(a, b, OP, PyLong_Type.tp_as_number->slot);                   \
    }
TYPED_BINOP(typed_add, ARITH_ADD, nb_add)
TYPED_BINOP(typed_sub, ARITH_SUB, nb_subtract)
TYPED_BINOP(typed_mul, ARITH_MUL, nb_multiply)
TYPED_BINOP(typed_floordiv, ARITH_FLOORDIV, nb_floor_divide)
TYPED_BINOP(typed_mod, ARITH_MOD, nb_remainder)
TYPED_BINOP(typed_lshift, ARITH_LSHIFT, nb_lshift)
TYPED_BINOP(typed_rshift, ARITH_RSHIFT, nb_rshift)
TYPED_BINOP(typed_and, ARITH_AND, nb_and)
TYPED_BINOP(typed_or, ARITH_OR, nb_or)
TYPED_BINOP(typed_xor, ARITH_XOR, nb_xor)

static PyObject *int_pow(PyObject *a, PyObject *b)
{
    return PyLong_Type.tp_as_number->nb_power(a, b, Py_None);
}

static PyObject *typed_pow(PyObject *a, PyObject *b, PyObject *modulo)
{
    if (modulo != Py_None)                       /* pow(a, b, m): int's own */
        return PyLong_Type.tp_as_number->nb_power(a, b, modulo);
    return typed_binop(a, b, ARITH_POW, int_pow);
}

static PyNumberMethods lltypedint_as_number = {
    .nb_add = typed_add,
    .nb_subtract = typed_sub,
    .nb_multiply = typed_mul,
    .nb_floor_divide = typed_floordiv,
    .nb_remainder = typed_mod,
    .nb_power = typed_pow,
    .nb_lshift = typed_lshift,
    .nb_rshift = typed_rshift,
    .nb_and = typed_and,
    .nb_or = typed_or,
    .nb_xor = typed_xor,
};

/* LLTypedInt._setup(mixed_arith): done once by lltype */
static PyObject *lltypedint_setup(PyObject *unused, PyObject *func)
{
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "LLTypedInt._setup(callable)");
        return NULL;
    }
    Py_XSETREF(mixed_arith, Py_NewRef(func));
    Py_RETURN_NONE;
}

static PyMethodDef lltypedint_methods[] = {
    {"_setup", lltypedint_setup, METH_O | METH_STATIC,
     "_setup(mixed_arith): the Python rule of the cases the C operators do not serve"},
    {NULL}
};

static PyTypeObject LLTypedInt_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi._core.LLTypedInt",
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_as_number = &lltypedint_as_number,
    .tp_methods = lltypedint_methods,
    .tp_doc = "Base of lltype._TypedInt: the value classes' arithmetic (spec 1.2).",
};

static int lltypedint_init(PyObject *module)
{
    PyObject *operator = PyImport_ImportModule("operator");
    if (operator == NULL)
        return -1;
    for (int i = 0; i < 11; i++)
        if ((operator_funcs[i] = PyObject_GetAttrString(operator, operator_names[i])) == NULL) {
            Py_DECREF(operator);
            return -1;
        }
    Py_DECREF(operator);
    LLTypedInt_Type.tp_base = &PyLong_Type;
    if (PyType_Ready(&LLTypedInt_Type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "LLTypedInt", (PyObject *)&LLTypedInt_Type);
}

/* ---- LLPtr ------------------------------------------------------------------------- */
static PyObject *small_zero;     /* 0: the first valid index of most pointers */

typedef struct {
    PyObject_HEAD
    PyObject *T;        /* the Ptr type */
    PyObject *cd;       /* the cdata pointer (None: a Python-only function pointer) */
    PyObject *lo;       /* valid indices [lo, hi); hi None: unknown */
    PyObject *hi;
    PyObject *alloc;    /* the LLAllocation it derives from, or None */
    PyObject *callable; /* a function pointer's Python implementation, or None */
    PyObject *name;     /* a function pointer's name (unset: NULL) */
} LLPtrObject;

static PyMemberDef llptr_members[] = {
    {"_T", T_OBJECT_EX, offsetof(LLPtrObject, T), 0, NULL},
    {"_cd", T_OBJECT_EX, offsetof(LLPtrObject, cd), 0, NULL},
    {"_lo", T_OBJECT_EX, offsetof(LLPtrObject, lo), 0, NULL},
    {"_hi", T_OBJECT_EX, offsetof(LLPtrObject, hi), 0, NULL},
    {"_alloc", T_OBJECT_EX, offsetof(LLPtrObject, alloc), 0, NULL},
    {"_callable", T_OBJECT_EX, offsetof(LLPtrObject, callable), 0, NULL},
    {"_name", T_OBJECT_EX, offsetof(LLPtrObject, name), 0, NULL},
    {NULL}
};

static int llptr_traverse(LLPtrObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->T);
    Py_VISIT(self->cd);
    Py_VISIT(self->lo);
    Py_VISIT(self->hi);
    Py_VISIT(self->alloc);
    Py_VISIT(self->callable);
    Py_VISIT(self->name);
    return 0;
}

static int llptr_clear(LLPtrObject *self)
{
    Py_CLEAR(self->T);
    Py_CLEAR(self->cd);
    Py_CLEAR(self->lo);
    Py_CLEAR(self->hi);
    Py_CLEAR(self->alloc);
    Py_CLEAR(self->callable);
    Py_CLEAR(self->name);
    return 0;
}

static void llptr_dealloc(LLPtrObject *self)
{
    PyObject_GC_UnTrack(self);
    llptr_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject LLPtr_Type;     /* defined with its attribute access, below */
static PyTypeObject LLField_Type;

/* ---- store checks shared by fields and arguments ------------------------------------ */
/* What a value must exactly be to go to the core unconverted (lltype._store_check). */
enum {
    FAST_NONE = 0,      /* always through the Python converter */
    FAST_INT_RANGE,     /* an exact int within [lo, hi] (Signed fields, integer args) */
    FAST_CLASS,         /* an object whose type is exactly cls */
    FAST_FLOAT,         /* an exact float */
    FAST_BOOL,          /* an exact bool */
    FAST_CHAR,          /* bytes of length 1 */
    FAST_UNICHAR,       /* str of length 1 */
    FAST_BYTES,         /* bytes of any length (const char pointer arguments) */
    FAST_POINTER,       /* a pointer object of exactly the declared Ptr type */
    FAST_ANY_POINTER,   /* any pointer object with a cdata (void pointer arguments) */
    FAST_BYTES_COPY,    /* bytes, passed as a copy (writable char pointer arguments: C
                           may write there; see bytes_copy), or a pointer object of
                           exactly the declared Ptr type */
};

typedef struct {
    int kind;
    int is_unsigned;            /* FAST_INT_RANGE: compare as unsigned */
    long long lo, hi;           /* FAST_INT_RANGE, signed */
    unsigned long long uhi;     /* FAST_INT_RANGE, unsigned */
    PyObject *cls;              /* FAST_CLASS: the class; FAST_POINTER, FAST_BYTES(_COPY):
                                   the Ptr type a pointer object must have, None: any */
} FastCheck;

static int parse_fast_check(PyObject *spec, FastCheck *fc)
{
    /* spec: (kind, lo, hi, cls) -- for FAST_INT_RANGE the range [lo, hi] (lo >= 0: an
       unsigned range, hi up to 2**64 - 1); fc->cls is owned on success, NULL on error */
    PyObject *lo, *hi, *cls;
    memset(fc, 0, sizeof(*fc));
    if (!PyArg_ParseTuple(spec, "iOOO", &fc->kind, &lo, &hi, &cls))
        return -1;
    if (fc->kind == FAST_INT_RANGE) {
        fc->lo = PyLong_AsLongLong(lo);
        if (fc->lo == -1 && PyErr_Occurred())
            return -1;
        if (fc->lo >= 0) {
            fc->is_unsigned = 1;
            fc->uhi = PyLong_AsUnsignedLongLong(hi);
            if (fc->uhi == (unsigned long long)-1 && PyErr_Occurred())
                return -1;
        } else {
            fc->hi = PyLong_AsLongLong(hi);
            if (fc->hi == -1 && PyErr_Occurred())
                return -1;
        }
    }
    fc->cls = Py_NewRef(cls);
    return 0;
}

/* 1: value goes to the core as it is; 0: through the Python converter.  No error. */
static int fast_ok(const FastCheck *fc, PyObject *value)
{
    switch (fc->kind) {
    case FAST_INT_RANGE:
        if (!PyLong_CheckExact(value))
            return 0;
        if (fc->is_unsigned) {
            unsigned long long v = PyLong_AsUnsignedLongLong(value);
            if (v == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                return 0;
            }
            return v <= fc->uhi;
        } else {
            int overflow;
            long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (overflow || (v == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                return 0;
            }
            return fc->lo <= v && v <= fc->hi;
        }
    case FAST_CLASS:
        return (PyObject *)Py_TYPE(value) == fc->cls;
    case FAST_FLOAT:
        return PyFloat_CheckExact(value);
    case FAST_BOOL:
        return PyBool_Check(value);
    case FAST_CHAR:
        return PyBytes_CheckExact(value) && PyBytes_GET_SIZE(value) == 1;
    case FAST_UNICHAR:
        return PyUnicode_CheckExact(value) && PyUnicode_GET_LENGTH(value) == 1;
    case FAST_BYTES:
        return PyBytes_CheckExact(value);
    default:
        return 0;
    }
}

/* The cdata a pointer argument passes as it is, or NULL (borrowed; no error). */
static PyObject *fast_pointer(const FastCheck *fc, PyObject *value)
{
    if ((fc->kind != FAST_POINTER && fc->kind != FAST_ANY_POINTER && fc->kind != FAST_BYTES
         && fc->kind != FAST_BYTES_COPY) || !PyObject_TypeCheck(value, &LLPtr_Type))
        return NULL;
    LLPtrObject *p = (LLPtrObject *)value;
    if (p->cd == NULL || !CData_Check(p->cd) || allocation_freed(p->alloc))
        return NULL;         /* (freed: the Python converter raises) */
    if (fc->kind == FAST_ANY_POINTER || fc->cls == Py_None || p->T == fc->cls)
        return p->cd;
    return NULL;
}

/* ---- LLField ----------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    PyObject *cname;        /* the C field name (str) */
    PyObject *reader;       /* None, or callable: the core's value -> the low-level value */
    PyObject *int_class;    /* None, or a typed int class: reads give int.__new__(cls, v) */
    FastCheck store;        /* stores that need no conversion */
    PyObject *to_c;         /* callable: value -> the core's value (checks, errors) */
    PyObject *check_live;   /* callable(ptr, writing): raises the use-after-free / NULL
                               error of the Python side */
    CTypeObject *cached_ct; /* the struct pointer ctype last seen, and its field */
    CFieldObject *cached_cf;
} LLFieldObject;

static PyObject *llfield_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *cname, *reader, *int_class, *store, *to_c, *check_live;
    if (!PyArg_ParseTuple(args, "UOOO!OO:LLField", &cname, &reader, &int_class,
                          &PyTuple_Type, &store, &to_c, &check_live))
        return NULL;
    LLFieldObject *self = (LLFieldObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    if (parse_fast_check(store, &self->store) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->cname = Py_NewRef(cname);
    self->reader = Py_NewRef(reader);
    self->int_class = Py_NewRef(int_class);
    self->to_c = Py_NewRef(to_c);
    self->check_live = Py_NewRef(check_live);
    return (PyObject *)self;
}

static int llfield_traverse(LLFieldObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->reader);
    Py_VISIT(self->int_class);
    Py_VISIT(self->store.cls);
    Py_VISIT(self->to_c);
    Py_VISIT(self->check_live);
    Py_VISIT(self->cached_ct);
    Py_VISIT(self->cached_cf);
    return 0;
}

static int llfield_clear(LLFieldObject *self)
{
    Py_CLEAR(self->cname);
    Py_CLEAR(self->reader);
    Py_CLEAR(self->int_class);
    Py_CLEAR(self->store.cls);
    Py_CLEAR(self->to_c);
    Py_CLEAR(self->check_live);
    Py_CLEAR(self->cached_ct);
    Py_CLEAR(self->cached_cf);
    return 0;
}

static void llfield_dealloc(LLFieldObject *self)
{
    PyObject_GC_UnTrack(self);
    llfield_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The Python side's error for a freed or NULL pointer (NULL return, error set). */
static char *live_error(LLFieldObject *self, PyObject *obj, int writing)
{
    PyObject *r = PyObject_CallFunctionObjArgs(self->check_live, obj,
                                               writing ? Py_True : Py_False, NULL);
    if (r != NULL) {
        Py_DECREF(r);
        PyErr_Format(PyExc_RuntimeError, "field %U: the pointer is not usable", self->cname);
    }
    return NULL;
}

/* The address of the struct p points to and the field there, or NULL + error. */
static char *field_target(LLFieldObject *self, LLPtrObject *p, int writing, CFieldObject **cf)
{
    if (allocation_freed(p->alloc))
        return live_error(self, (PyObject *)p, writing);
    if (p->cd == NULL || !CData_Check(p->cd)) {
        PyErr_Format(PyExc_TypeError, "field %U: %R has no C pointer", self->cname, p);
        return NULL;
    }
    CDataObject *cd = (CDataObject *)p->cd;
    if (cd->c_data == NULL)
        return live_error(self, (PyObject *)p, writing);
    CTypeObject *ct = cd->c_type;
    if (ct != self->cached_ct) {
        if (!(ct->ct_flags & CT_POINTER) || ct->ct_item->ct_fields == NULL) {
            PyErr_Format(PyExc_TypeError, "field %U: %R is not a pointer to a complete "
                         "struct", self->cname, p);
            return NULL;
        }
        PyObject *field = PyDict_GetItemWithError(ct->ct_item->ct_fields, self->cname);
        if (field == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_AttributeError, "%U has no field %U",
                             ct->ct_item->ct_name, self->cname);
            return NULL;
        }
        Py_XSETREF(self->cached_cf, (CFieldObject *)Py_NewRef(field));
        Py_XSETREF(self->cached_ct, (CTypeObject *)Py_NewRef(ct));
    }
    *cf = self->cached_cf;
    return cd->c_data;
}

static int check_pointer(LLFieldObject *self, PyObject *obj)
{
    if (PyObject_TypeCheck(obj, &LLPtr_Type))
        return 0;
    PyErr_Format(PyExc_TypeError, "field %U: %R is not a pointer object", self->cname, obj);
    return -1;
}

static PyObject *low_level_value(LLFieldObject *self, PyObject *value);

static PyObject *llfield_read(LLFieldObject *self, LLPtrObject *p)
{
    CFieldObject *cf;
    char *data = field_target(self, p, 0, &cf);
    if (data == NULL)
        return NULL;
    if (self->int_class != Py_None && cf->cf_bitshift < 0 && plain_integer(cf->cf_type))
        return typed_int_at(self->int_class, data + cf->cf_offset, cf->cf_type);
    PyObject *value = nffi_read_field(data, cf, p->cd);
    return value == NULL ? NULL : low_level_value(self, value);
}

/* The low-level value of what the core read (a reference to value is consumed). */
static PyObject *low_level_value(LLFieldObject *self, PyObject *value)
{
    if (self->int_class == Py_None && self->reader == Py_None)
        return value;
    PyObject *result;
    if (self->int_class != Py_None) {
        result = typed_int(self->int_class, value);
    } else {
        result = PyObject_CallOneArg(self->reader, value);
    }
    Py_DECREF(value);
    return result;
}

static int llfield_write(LLFieldObject *self, LLPtrObject *p, PyObject *value)
{
    CFieldObject *cf;
    if (self->store.kind == FAST_INT_RANGE && PyLong_CheckExact(value)) {
        /* a Signed field: the core's own range check is the fast check; a value out of
           range goes to to_c, which raises rffi's error */
        char *data = field_target(self, p, 1, &cf);
        if (data == NULL)
            return -1;
        if (nffi_write_field(data, cf, value, -1) == 0)
            return 0;
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
    }
    if (fast_ok(&self->store, value))
        Py_INCREF(value);
    else if ((value = PyObject_CallOneArg(self->to_c, value)) == NULL)
        return -1;
    char *data = field_target(self, p, 1, &cf);
    int r = data == NULL ? -1 : nffi_write_field(data, cf, value, -1);
    Py_DECREF(value);
    return r;
}

/* the descriptor protocol: used when the field is reached some other way than the
   pointer's own attribute access (e.g. through a subclass, or LLField.__get__ called) */
static PyObject *llfield_get(LLFieldObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return check_pointer(self, obj) < 0 ? NULL : llfield_read(self, (LLPtrObject *)obj);
}

static int llfield_set(LLFieldObject *self, PyObject *obj, PyObject *value)
{
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete field %U", self->cname);
        return -1;
    }
    return check_pointer(self, obj) < 0 ? -1 : llfield_write(self, (LLPtrObject *)obj, value);
}

static PyTypeObject LLField_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi._core.LLField",
    .tp_basicsize = sizeof(LLFieldObject),
    .tp_dealloc = (destructor)llfield_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)llfield_traverse,
    .tp_clear = (inquiry)llfield_clear,
    .tp_descr_get = (descrgetfunc)llfield_get,
    .tp_descr_set = (descrsetfunc)llfield_set,
    .tp_new = llfield_new,
    .tp_doc = "LLField(cname, reader, int_class, store_check, to_c, check_live): a primitive "
              "field of the pointer objects of a struct type (lltype._field_property).",
};

/* ---- LLPtr's attribute access --------------------------------------------------------
 * A field is an LLField in the dict of the pointer's own class (lltype makes one class
 * per Ptr type): found there, it is read or written directly, as cdata.c does for a
 * cdata's fields; anything else takes the generic way.  A name not found goes to the
 * subclass's _no_attribute(name), which raises the error naming the struct type. */
static PyObject *str_no_attribute;   /* "_no_attribute" */

/* A small cache (type, name) -> LLField in front of the class dict lookup: a hit costs
 * two pointer compares.  Entries hold references, so a cached type or name cannot die
 * and have its address reused; lltype never changes a pointer class's fields once the
 * class exists (they are made with it), so an entry never goes stale. */
#define FIELD_CACHE_SIZE 256
static struct {
    PyObject *type;
    PyObject *name;
    PyObject *field;
} field_cache[FIELD_CACHE_SIZE];

/* The LLField 'name' in the dict of self's own class (borrowed), or NULL (maybe + error). */
static PyObject *own_field(PyObject *self, PyObject *name)
{
    PyObject *type = (PyObject *)Py_TYPE(self);
    size_t slot = (((uintptr_t)type >> 4) ^ ((uintptr_t)name >> 4)) % FIELD_CACHE_SIZE;
    if (field_cache[slot].type == type && field_cache[slot].name == name)
        return field_cache[slot].field;
    PyObject *dict = Py_TYPE(self)->tp_dict;
    if (dict == NULL || !PyUnicode_CheckExact(name))
        return NULL;
    PyObject *descr = PyDict_GetItemWithError(dict, name);     /* borrowed */
    if (descr == NULL || !Py_IS_TYPE(descr, &LLField_Type))
        return NULL;
    PyObject *old_type = field_cache[slot].type, *old_name = field_cache[slot].name;
    PyObject *old_field = field_cache[slot].field;
    field_cache[slot].type = Py_NewRef(type);
    field_cache[slot].name = Py_NewRef(name);
    field_cache[slot].field = Py_NewRef(descr);
    Py_XDECREF(old_type);
    Py_XDECREF(old_name);
    Py_XDECREF(old_field);
    return descr;
}

/* Struct field names never start with '_' (spec 1.4: NameError), while the slots and
   methods the Python side reads all the time (_T, _cd, _alloc ...) do: those skip the
   field lookup. */
static int private_name(PyObject *name)
{
    return PyUnicode_CheckExact(name) && PyUnicode_GET_LENGTH(name) > 0 &&
           PyUnicode_READ_CHAR(name, 0) == '_';
}

static PyObject *llptr_getattro(PyObject *self, PyObject *name)
{
    if (private_name(name))
        return PyObject_GenericGetAttr(self, name);
    PyObject *field = own_field(self, name);
    if (field != NULL) {
        Py_INCREF(field);          /* its reader or check may run Python code */
        PyObject *value = llfield_read((LLFieldObject *)field, (LLPtrObject *)self);
        Py_DECREF(field);
        return value;
    }
    if (PyErr_Occurred())
        return NULL;
    PyObject *value = PyObject_GenericGetAttr(self, name);
    if (value != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return value;
    PyErr_Clear();
    return PyObject_CallMethodOneArg(self, str_no_attribute, name);
}

static int llptr_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    PyObject *field = private_name(name) ? NULL : own_field(self, name);
    if (field != NULL && value != NULL) {
        Py_INCREF(field);          /* its converter or check may run Python code */
        int r = llfield_write((LLFieldObject *)field, (LLPtrObject *)self, value);
        Py_DECREF(field);
        return r;
    }
    if (PyErr_Occurred())
        return -1;
    return PyObject_GenericSetAttr(self, name, value);
}

/* ---- LLPtr's items ---------------------------------------------------------------------
 * The pointer class of a nolength array of primitives or pointers has an LLField named
 * _llitems (cname unused) saying how its items read and store.  p[i] with an int i within
 * the known bounds, on a live pointer, is served here; anything else (slices, bounds and
 * use-after-free errors, conversions, other classes) goes to the class's _getitem /
 * _setitem. */
static PyObject *str_llitems, *str_getitem, *str_setitem;

/* The address of item key of p when the fast path applies (and *items), else NULL
   without an error. */
static char *fast_item(LLPtrObject *p, PyObject *key, LLFieldObject **items)
{
    PyObject *descr = PyLong_CheckExact(key) ? own_field((PyObject *)p, str_llitems) : NULL;
    if (descr == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (p->lo == NULL || p->hi == NULL)
        return NULL;                                  /* slots deleted: Python's errors */
    Py_ssize_t i = PyLong_AsSsize_t(key);
    Py_ssize_t lo = p->lo == small_zero ? 0 : PyLong_AsSsize_t(p->lo);   /* (the usual) */
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return NULL;
    }
    if (i < lo || (p->hi != Py_None && (!PyLong_CheckExact(p->hi) ||
                                        i >= PyLong_AsSsize_t(p->hi))))
        return NULL;
    if (allocation_freed(p->alloc) || p->cd == NULL || !CData_Check(p->cd))
        return NULL;
    CDataObject *cd = (CDataObject *)p->cd;
    CTypeObject *ct = cd->c_type;
    if (cd->c_data == NULL || !(ct->ct_flags & CT_POINTER) || ct->ct_item->ct_size <= 0)
        return NULL;
    *items = (LLFieldObject *)descr;
    return nffi_item_address(cd->c_data, (uintptr_t)i, ct->ct_item->ct_size);
}

static PyObject *llptr_getitem(PyObject *self, PyObject *key)
{
    LLFieldObject *items;
    char *data = fast_item((LLPtrObject *)self, key, &items);
    if (data == NULL)
        return PyObject_CallMethodOneArg(self, str_getitem, key);
    CTypeObject *item = ((CDataObject *)((LLPtrObject *)self)->cd)->c_type->ct_item;
    if (items->int_class != Py_None && plain_integer(item))
        return typed_int_at(items->int_class, data, item);
    PyObject *value = nffi_convert_to_object(data, item, ((LLPtrObject *)self)->cd);
    if (value == NULL)
        return NULL;
    Py_INCREF(items);              /* a reader may run Python code: keep it alive */
    PyObject *result = low_level_value(items, value);
    Py_DECREF(items);
    return result;
}

static int llptr_setitem(PyObject *self, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "items of a pointer object cannot be deleted");
        return -1;
    }
    LLFieldObject *items;
    char *data = fast_item((LLPtrObject *)self, key, &items);
    if (data != NULL && fast_ok(&items->store, value))
        return nffi_convert_from_object(
            data, ((CDataObject *)((LLPtrObject *)self)->cd)->c_type->ct_item, value);
    PyObject *r = PyObject_CallMethodObjArgs(self, str_setitem, key, value, NULL);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

static PyMappingMethods llptr_as_mapping = {
    .mp_subscript = llptr_getitem,
    .mp_ass_subscript = llptr_setitem,
};

/* A pointer object of class cls (a subclass made by lltype, without __new__ or __init__
   of its own), all slots set in one call. */
static PyObject *make_pointer(PyTypeObject *cls, PyObject *T, PyObject *cd, PyObject *lo,
                              PyObject *hi, PyObject *alloc)
{
    LLPtrObject *p = (LLPtrObject *)cls->tp_alloc(cls, 0);
    if (p == NULL)
        return NULL;
    p->T = Py_NewRef(T);
    p->cd = Py_NewRef(cd);
    p->lo = Py_NewRef(lo);
    p->hi = Py_NewRef(hi);
    p->alloc = Py_NewRef(alloc);
    p->callable = Py_NewRef(Py_None);
    return (PyObject *)p;
}

/* LLPtr._make(cls, T, cd, lo=0, hi=None, alloc=None) */
static PyObject *llptr_make(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 3 || nargs > 6 || !PyType_Check(args[0]) ||
            !PyType_IsSubtype((PyTypeObject *)args[0], &LLPtr_Type)) {
        PyErr_SetString(PyExc_TypeError, "LLPtr._make(cls, T, cd, lo=0, hi=None, "
                        "alloc=None): cls must be a subclass of LLPtr");
        return NULL;
    }
    return make_pointer((PyTypeObject *)args[0], args[1], args[2],
                        nargs > 3 ? args[3] : small_zero, nargs > 4 ? args[4] : Py_None,
                        nargs > 5 ? args[5] : Py_None);
}

/* The address a pointer holds: its cdata's, or (a Python-only function pointer, no
   cdata) the object's identity. */
static PyObject *llptr_address(LLPtrObject *self, PyObject *noarg)
{
    if (self->cd != NULL && CData_Check(self->cd))
        return PyLong_FromVoidPtr(((CDataObject *)self->cd)->c_data);
    return PyLong_FromVoidPtr(self);
}

/* False only for NULL (spec 1.5 rule 2) */
static int llptr_bool(LLPtrObject *self)
{
    if (self->cd != NULL && CData_Check(self->cd))
        return ((CDataObject *)self->cd)->c_data != NULL;
    return 1;
}

static PyNumberMethods llptr_as_number = {
    .nb_bool = (inquiry)llptr_bool,
};

/* LLPtr._string(p, types, maxlen): what ffi.string(p's cdata, maxlen) gives, for a
   pointer p whose type is one of the tuple types, live and not NULL (rffi's charp2str,
   wcharp2unicode ...); None for anything else, whose error rffi then reports. */
static PyObject *llptr_string(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t maxlen;
    if (nargs != 3 || !PyTuple_Check(args[1]) ||
            ((maxlen = PyLong_AsSsize_t(args[2])) == -1 && PyErr_Occurred())) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "LLPtr._string(p, types: tuple, maxlen)");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], &LLPtr_Type))
        Py_RETURN_NONE;
    LLPtrObject *p = (LLPtrObject *)args[0];
    int typed = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args[1]); i++)
        typed |= PyTuple_GET_ITEM(args[1], i) == p->T;
    if (!typed || allocation_freed(p->alloc) || p->cd == NULL || !CData_Check(p->cd) ||
            ((CDataObject *)p->cd)->c_data == NULL)
        Py_RETURN_NONE;
    return nffi_string((CDataObject *)p->cd, maxlen);
}

/* LLPtr._recast(p, T): rffi.cast(T, p) for a pointer type T (a Ptr whose _ctype and
   _pointer_class lltype has made) and a pointer object p whose cdata's ctype differs
   from T's -- types realized to different ctypes are different types, so this is a new
   pointer of type T at p's address, of unknown length, of p's allocation (its free is
   checked); None in every other case, which
   the Python side handles. */
static PyObject *str_ctype, *str_pointer_class;

static PyObject *llptr_recast(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "LLPtr._recast(p, T)");
        return NULL;
    }
    LLPtrObject *p = (LLPtrObject *)args[0];
    if (!PyObject_TypeCheck(args[0], &LLPtr_Type) || p->T == args[1] || p->cd == NULL ||
            !CData_Check(p->cd))
        Py_RETURN_NONE;
    PyObject *ct = PyObject_GetAttr(args[1], str_ctype);
    PyObject *cls = ct == NULL ? NULL : PyObject_GetAttr(args[1], str_pointer_class);
    PyObject *result = NULL;
    if (cls == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            result = Py_NewRef(Py_None);
        }
    } else if (!CType_Check(ct) || !(((CTypeObject *)ct)->ct_flags & CT_POINTER) ||
               (PyObject *)((CDataObject *)p->cd)->c_type == ct || !PyType_Check(cls) ||
               !PyType_IsSubtype((PyTypeObject *)cls, &LLPtr_Type)) {
        result = Py_NewRef(Py_None);
    } else {
        PyObject *cd = (PyObject *)nffi_cdata_new_view((CTypeObject *)ct,
                                                      ((CDataObject *)p->cd)->c_data, NULL);
        if (cd != NULL) {
            /* the allocation kept: a use after its free raises, as through p */
            result = make_pointer((PyTypeObject *)cls, args[1], cd, small_zero, Py_None,
                                  p->alloc != NULL ? p->alloc : Py_None);
            Py_DECREF(cd);
        }
    }
    Py_XDECREF(ct);
    Py_XDECREF(cls);
    return result;
}

static PyMethodDef llptr_methods[] = {
    {"_recast", (PyCFunction)(void (*)(void))llptr_recast, METH_FASTCALL | METH_STATIC,
     "_recast(p, T): rffi.cast(T, p) between pointer types of different ctypes, or None"},
    {"_string", (PyCFunction)(void (*)(void))llptr_string, METH_FASTCALL | METH_STATIC,
     "_string(p, types, maxlen): ffi.string of a live pointer of one of types, or None"},
    {"_make", (PyCFunction)(void (*)(void))llptr_make, METH_FASTCALL | METH_STATIC,
     "_make(cls, T, cd, lo=0, hi=None, alloc=None): a pointer object of class cls"},
    {"_address", (PyCFunction)llptr_address, METH_NOARGS,
     "_address(): the address held, as an int (0 for NULL)"},
    {NULL}
};

static PyTypeObject LLPtr_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi._core.LLPtr",
    .tp_basicsize = sizeof(LLPtrObject),
    .tp_dealloc = (destructor)llptr_dealloc,
    .tp_getattro = llptr_getattro,
    .tp_setattro = llptr_setattro,
    .tp_as_mapping = &llptr_as_mapping,
    .tp_as_number = &llptr_as_number,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)llptr_traverse,
    .tp_clear = (inquiry)llptr_clear,
    .tp_members = llptr_members,
    .tp_methods = llptr_methods,
    .tp_new = PyType_GenericNew,
    .tp_doc = "Base of lltype._ptr: the slots of a pointer object.",
};

/* ---- the allocator (lltype.malloc / free, spec 1.7 and 1.9) -------------------------
 * lltype decides types, sizes and errors; this does the per-call work: the C malloc, the
 * pointer object, the record in lltype's live set (address -> record) and, while leak
 * tracking is on, in the leak records with the caller's frames.  The frames are kept as
 * (code, instruction offset) pairs and formatted only if a leak is reported. */
enum { MALLOC_ZERO = 1, MALLOC_IMMORTAL = 2, MALLOC_TRACK = 4 };
#define TRACE_FRAMES 10

static PyTypeObject *heap_record_class;  /* lltype._Allocation */
static PyObject *heap_live;              /* lltype._live */
static PyObject *heap_internal;          /* names of modules whose frames traces skip */
static PyObject *heap_leaks;             /* the leak records while tracking, else NULL */
static PyObject *str_name;               /* "__name__" */

/* _setup(record_class, live, internal_modules): done once by lltype */
static PyObject *heap_setup(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyType_Check(args[0]) ||
            !PyType_IsSubtype((PyTypeObject *)args[0], &LLAllocation_Type) ||
            !PyDict_CheckExact(args[1]) || !PyFrozenSet_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "LLAllocation._setup(record_class, live: dict, "
                        "internal_modules: frozenset)");
        return NULL;
    }
    Py_XSETREF(heap_record_class, (PyTypeObject *)Py_NewRef(args[0]));
    Py_XSETREF(heap_live, Py_NewRef(args[1]));
    Py_XSETREF(heap_internal, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

/* _set_leaks(records or None) -> the previous records or None (tracking on / off) */
static PyObject *heap_set_leaks(PyObject *unused, PyObject *records)
{
    if (records != Py_None && !PyDict_CheckExact(records)) {
        PyErr_SetString(PyExc_TypeError, "LLAllocation._set_leaks(dict or None)");
        return NULL;
    }
    PyObject *previous = heap_leaks != NULL ? heap_leaks : Py_NewRef(Py_None);
    heap_leaks = records == Py_None ? NULL : Py_NewRef(records);
    return previous;
}

static PyObject *heap_get_leaks(PyObject *unused, PyObject *noarg)
{
    return Py_NewRef(heap_leaks != NULL ? heap_leaks : Py_None);
}

/* 1 if frame runs code of one of lltype's internal modules, 0 if not, -1 on error */
static int frame_is_internal(PyFrameObject *frame)
{
    PyObject *globals = PyFrame_GetGlobals(frame);
    PyObject *name = globals == NULL ? NULL : PyDict_GetItemWithError(globals, str_name);
    int r = name == NULL ? (PyErr_Occurred() ? -1 : 0) : PySet_Contains(heap_internal, name);
    Py_XDECREF(globals);
    return r;
}

/* The frames of malloc's caller outside lltype's internal modules: a tuple of up to
   TRACE_FRAMES (code, instruction offset), innermost first.  The line numbers are found
   when a leak is reported: finding one scans the code's line table, which for the code
   of a large module costs more than everything else malloc does. */
static PyObject *caller_frames(void)
{
    PyFrameObject *frame = PyEval_GetFrame();          /* borrowed */
    Py_XINCREF(frame);
    PyObject *frames = PyList_New(0);
    if (frames == NULL)
        goto error;
    int skipping = 1;
    while (frame != NULL && PyList_GET_SIZE(frames) < TRACE_FRAMES) {
        int internal = skipping ? frame_is_internal(frame) : 0;
        if (internal < 0)
            goto error;
        if (!internal) {
            skipping = 0;
            PyObject *item = Py_BuildValue("(Ni)", PyFrame_GetCode(frame),
                                           PyFrame_GetLasti(frame));
            if (item == NULL || PyList_Append(frames, item) < 0) {
                Py_XDECREF(item);
                goto error;
            }
            Py_DECREF(item);
        }
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_SETREF(frame, back);
    }
    Py_XDECREF(frame);
    PyObject *result = PyList_AsTuple(frames);
    Py_DECREF(frames);
    return result;
error:
    Py_XDECREF(frame);
    Py_XDECREF(frames);
    return NULL;
}

/* The new record of a live allocation at raw (registered in the live set and, with
   MALLOC_TRACK while tracking, in the leak records), or NULL + error (nothing
   registered). */
static PyObject *new_record(char *raw, PyObject *T, PyObject *n, int flags)
{
    LLAllocationObject *rec = (LLAllocationObject *)heap_record_class->tp_alloc(
        heap_record_class, 0);
    if (rec == NULL)
        return NULL;
    rec->T = Py_NewRef(T);
    rec->n = Py_NewRef(n);
    rec->where = Py_NewRef(Py_None);
    if ((rec->address = PyLong_FromVoidPtr(raw)) == NULL)
        goto error;
    if ((flags & MALLOC_TRACK) && heap_leaks != NULL &&
            (rec->where = caller_frames()) == NULL)
        goto error;
    if (PyDict_SetItem(heap_live, rec->address, (PyObject *)rec) < 0)
        goto error;
    if ((flags & MALLOC_TRACK) && heap_leaks != NULL &&
            PyDict_SetItem(heap_leaks, (PyObject *)rec, (PyObject *)rec) < 0) {
        PyDict_DelItem(heap_live, rec->address);    /* cannot fail: it is there */
        goto error;
    }
    return (PyObject *)rec;
error:
    Py_DECREF(rec);
    return NULL;
}

/* Undo new_record's registrations (an error after it). */
static void drop_record(PyObject *rec)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (heap_leaks != NULL && PyDict_Contains(heap_leaks, rec) == 1)
        PyDict_DelItem(heap_leaks, rec);
    PyDict_DelItem(heap_live, ((LLAllocationObject *)rec)->address);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
}

static PyObject *make_pointer(PyTypeObject *cls, PyObject *T, PyObject *cd, PyObject *lo,
                              PyObject *hi, PyObject *alloc);

/* _malloc(cls, PTR, ctype, size, hi, T, n, flags, init): a pointer object of class cls
 * (Ptr type PTR, cdata of pointer ctype) to size fresh bytes (at least one is
 * allocated): init's bytes then zeros if init is bytes, else zeros with MALLOC_ZERO or
 * MALLOC_IMMORTAL, else 0xDD.  Valid indices [0, hi).  Not immortal: recorded as
 * described above. */
static PyObject *heap_malloc(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9 || !PyType_Check(args[0]) ||
            !PyType_IsSubtype((PyTypeObject *)args[0], &LLPtr_Type) ||
            !CType_Check(args[2]) || !(((CTypeObject *)args[2])->ct_flags & CT_POINTER) ||
            !(args[8] == Py_None || PyBytes_CheckExact(args[8])) || heap_live == NULL) {
        PyErr_SetString(PyExc_TypeError, "LLAllocation._malloc(cls, PTR, pointer ctype, "
                        "size, hi, T, n, flags, init: bytes or None), after _setup");
        return NULL;
    }
    Py_ssize_t size = PyLong_AsSsize_t(args[3]);
    int flags = PyLong_AsLong(args[7]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *init = args[8];
    Py_ssize_t ninit = init == Py_None ? 0 : PyBytes_GET_SIZE(init);
    if (size < 0 || ninit > size) {
        PyErr_SetString(PyExc_ValueError, "LLAllocation._malloc: bad size");
        return NULL;
    }
    size_t nbytes = size > 0 ? (size_t)size : 1;
    char *raw;
    if (init != Py_None) {
        if ((raw = malloc(nbytes)) != NULL) {
            memcpy(raw, PyBytes_AS_STRING(init), (size_t)ninit);
            memset(raw + ninit, 0, nbytes - (size_t)ninit);
        }
    } else if (flags & (MALLOC_ZERO | MALLOC_IMMORTAL)) {
        raw = calloc(1, nbytes);
    } else if ((raw = malloc(nbytes)) != NULL) {
        memset(raw, 0xDD, nbytes);      /* exposes reads of uninitialized memory */
    }
    if (raw == NULL) {
        PyErr_Format(PyExc_MemoryError, "malloc of %zd bytes failed", size);
        return NULL;
    }
    PyObject *cd = (PyObject *)nffi_cdata_new_view((CTypeObject *)args[2], raw, NULL);
    PyObject *rec = NULL, *p = NULL;
    if (cd == NULL)
        goto error;
    if (flags & MALLOC_IMMORTAL)
        rec = Py_NewRef(Py_None);
    else if ((rec = new_record(raw, args[5], args[6], flags)) == NULL)
        goto error;
    p = make_pointer((PyTypeObject *)args[0], args[1], cd, small_zero, args[4], rec);
    if (p == NULL) {
        if (rec != Py_None)
            drop_record(rec);
        goto error;
    }
    Py_DECREF(cd);
    Py_DECREF(rec);
    return p;
error:
    Py_XDECREF(cd);
    Py_XDECREF(rec);
    free(raw);
    return NULL;
}

/* _free(p, track) -> True when p pointed to the start of a live allocation, now freed
 * (with track, its leak record is dropped); False, freeing nothing, for anything else
 * (lltype.free then says what is wrong). */
static PyObject *heap_free(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || heap_live == NULL) {
        PyErr_SetString(PyExc_TypeError, "LLAllocation._free(p, track), after _setup");
        return NULL;
    }
    int track = PyObject_IsTrue(args[1]);
    if (track < 0)
        return NULL;
    if (!PyObject_TypeCheck(args[0], &LLPtr_Type))
        Py_RETURN_FALSE;
    PyObject *cd = ((LLPtrObject *)args[0])->cd;
    if (cd == NULL || !CData_Check(cd) || !(((CDataObject *)cd)->c_type->ct_flags & CT_POINTER))
        Py_RETURN_FALSE;
    char *raw = ((CDataObject *)cd)->c_data;
    PyObject *address = PyLong_FromVoidPtr(raw);
    if (address == NULL)
        return NULL;
    PyObject *rec = PyDict_GetItemWithError(heap_live, address);     /* borrowed */
    if (rec == NULL || !PyObject_TypeCheck(rec, &LLAllocation_Type)) {
        Py_DECREF(address);
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_FALSE;
    }
    Py_INCREF(rec);
    int r = PyDict_DelItem(heap_live, address);
    Py_DECREF(address);
    if (r == 0 && track && heap_leaks != NULL && (r = PyDict_Contains(heap_leaks, rec)) == 1)
        r = PyDict_DelItem(heap_leaks, rec);
    if (r < 0) {
        Py_DECREF(rec);
        return NULL;
    }
    ((LLAllocationObject *)rec)->freed = 1;
    if (track)
        ((LLAllocationObject *)rec)->released = 1;
    Py_DECREF(rec);
    free(raw);
    Py_RETURN_TRUE;
}

static PyMethodDef llallocation_methods[] = {
    {"_setup", (PyCFunction)(void (*)(void))heap_setup, METH_FASTCALL | METH_STATIC,
     "_setup(record_class, live, internal_modules): connect the allocator to lltype"},
    {"_set_leaks", heap_set_leaks, METH_O | METH_STATIC,
     "_set_leaks(records or None) -> the previous ones: leak tracking on or off"},
    {"_get_leaks", heap_get_leaks, METH_NOARGS | METH_STATIC,
     "_get_leaks() -> the current leak records, or None when tracking is off"},
    {"_malloc", (PyCFunction)(void (*)(void))heap_malloc, METH_FASTCALL | METH_STATIC,
     "_malloc(cls, PTR, ctype, size, hi, T, n, flags, init): raw memory and its pointer"},
    {"_free", (PyCFunction)(void (*)(void))heap_free, METH_FASTCALL | METH_STATIC,
     "_free(p, track) -> True if p was a live allocation, now freed"},
    {NULL}
};

/* ---- LLExternal -------------------------------------------------------------------- */
#define LLEXTERNAL_MAX_ARGS 16

enum { RESULT_VOID, RESULT_AS_IS, RESULT_INT_CLASS, RESULT_CONVERTER };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *dict;             /* __name__, __qualname__, __doc__, _ptr */
    PyObject *fn;               /* the core's function cdata, NULL until resolved */
    PyObject *resolve;          /* callable() -> the function cdata */
    PyObject *converters;       /* tuple: per argument, the Python converter, or None
                                   for a Void argument (dropped) */
    Py_ssize_t nargs;
    int result_kind;
    PyObject *result;           /* RESULT_INT_CLASS: the class; RESULT_CONVERTER: callable */
    PyObject *armed;            /* a list whose item 0 says a callback may have failed,
                                   or None (no pointer argument) */
    PyObject *reraise;          /* callable(): raise a callback's saved exception */
    FastCheck checks[LLEXTERNAL_MAX_ARGS];
    PyObject *scratch[LLEXTERNAL_MAX_ARGS];  /* FAST_BYTES_COPY: see bytes_copy, or NULL */
} LLExternalObject;

/* The bytes object a writable 'char *' argument passes for the bytes data (the core
 * passes a bytes' buffer as it is): a copy that Python never sees, so C may write into
 * it.  The argument's scratch object is reused when nothing else holds it (the previous
 * call returned; a call running in another thread holds it) and it is large enough: the
 * copy is then NUL-terminated at len(data) inside a larger buffer, all C needs.  Else a
 * fresh copy, which becomes the scratch object if that is free and the copy is short.
 * NULL: no copy is needed (empty data without a free scratch: the converter's case),
 * or an error. */
#define SCRATCH_MIN 64
#define SCRATCH_MAX 4096

static PyObject *bytes_copy(PyObject **scratch, PyObject *data)
{
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    PyObject *copy = *scratch;
    int scratch_free = copy == NULL || Py_REFCNT(copy) == 1;
    if (copy == NULL || !scratch_free || PyBytes_GET_SIZE(copy) < n) {
        if (n == 0 && !scratch_free)
            return NULL;               /* never the shared empty bytes */
        copy = PyBytes_FromStringAndSize(NULL, n > SCRATCH_MIN ? n : SCRATCH_MIN);
        if (copy == NULL)
            return NULL;
        if (scratch_free && n <= SCRATCH_MAX)
            Py_XSETREF(*scratch, Py_NewRef(copy));
    } else {
        Py_INCREF(copy);
    }
    memcpy(PyBytes_AS_STRING(copy), PyBytes_AS_STRING(data), (size_t)n);
    PyBytes_AS_STRING(copy)[n] = '\0';
    return copy;
}

static PyObject *llexternal_vectorcall(LLExternalObject *self, PyObject *const *args,
                                       size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_Format(PyExc_TypeError, "%R takes no keyword arguments", self);
        return NULL;
    }
    if (nargs != self->nargs) {
        PyErr_Format(PyExc_TypeError, "%R takes %zd argument(s), got %zd", self,
                     self->nargs, nargs);
        return NULL;
    }
    PyObject *fn = self->fn;
    if (fn == NULL) {
        fn = PyObject_CallNoArgs(self->resolve);
        if (fn == NULL)
            return NULL;
        if (self->fn == NULL)
            self->fn = fn;       /* the reference is ours */
        else {                   /* another thread resolved it meanwhile */
            Py_DECREF(fn);
            fn = self->fn;
        }
    }
    PyObject *passed[LLEXTERNAL_MAX_ARGS];
    Py_ssize_t npassed = 0;
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyObject *conv = PyTuple_GET_ITEM(self->converters, i);
        if (conv == Py_None)
            continue;                                  /* a Void argument */
        PyObject *a = args[i], *cd, *copy;
        if (fast_ok(&self->checks[i], a))
            Py_INCREF(a);
        else if (self->checks[i].kind == FAST_BYTES_COPY && PyBytes_CheckExact(a) &&
                 (copy = bytes_copy(&self->scratch[i], a)) != NULL)
            a = copy;
        else if (PyErr_Occurred())
            goto done;
        else if ((cd = fast_pointer(&self->checks[i], a)) != NULL)
            a = Py_NewRef(cd);
        else if ((a = PyObject_CallOneArg(conv, a)) == NULL)
            goto done;
        passed[npassed++] = a;
    }
    result = PyObject_Vectorcall(fn, passed, npassed, NULL);
    if (result != NULL && self->armed != Py_None && PyList_GET_SIZE(self->armed) > 0) {
        int armed = PyObject_IsTrue(PyList_GET_ITEM(self->armed, 0));
        PyObject *r = armed ? PyObject_CallNoArgs(self->reraise) : Py_NewRef(Py_None);
        if (armed < 0 || r == NULL)
            Py_CLEAR(result);
        Py_XDECREF(r);
    }
    if (result != NULL) {
        PyObject *value = result;
        switch (self->result_kind) {
        case RESULT_VOID:
            result = Py_NewRef(Py_None);
            break;
        case RESULT_INT_CLASS: {
            result = typed_int(self->result, value);
            break;
        }
        case RESULT_CONVERTER:
            result = PyObject_CallOneArg(self->result, value);
            break;
        default:
            value = NULL;      /* returned as it is */
        }
        Py_XDECREF(value);
    }
done:
    while (npassed > 0)
        Py_DECREF(passed[--npassed]);
    return result;
}

static PyObject *llexternal_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *resolve, *converters, *checks, *result, *armed, *reraise;
    int result_kind;
    if (!PyArg_ParseTuple(args, "OO!O!iOOO:LLExternal", &resolve, &PyTuple_Type,
                          &converters, &PyTuple_Type, &checks, &result_kind, &result,
                          &armed, &reraise))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(converters);
    if (n > LLEXTERNAL_MAX_ARGS || PyTuple_GET_SIZE(checks) != n) {
        PyErr_SetString(PyExc_ValueError, "LLExternal: too many arguments, or the checks "
                        "do not match the converters");
        return NULL;
    }
    if (armed != Py_None && (!PyList_Check(armed) || PyList_GET_SIZE(armed) < 1)) {
        PyErr_SetString(PyExc_TypeError, "LLExternal: armed must be a list or None");
        return NULL;
    }
    LLExternalObject *self = (LLExternalObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = (vectorcallfunc)llexternal_vectorcall;
    self->resolve = Py_NewRef(resolve);
    self->converters = Py_NewRef(converters);
    self->result_kind = result_kind;
    self->result = Py_NewRef(result);
    self->armed = Py_NewRef(armed);
    self->reraise = Py_NewRef(reraise);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *spec = PyTuple_GET_ITEM(checks, i);
        if (!PyTuple_Check(spec) || parse_fast_check(spec, &self->checks[i]) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "LLExternal: a check must be a tuple");
            Py_DECREF(self);
            return NULL;
        }
        self->nargs = i + 1;     /* the checks parsed so far hold references */
    }
    self->nargs = n;
    return (PyObject *)self;
}

static int llexternal_traverse(LLExternalObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    Py_VISIT(self->fn);
    Py_VISIT(self->resolve);
    Py_VISIT(self->converters);
    Py_VISIT(self->result);
    Py_VISIT(self->armed);
    Py_VISIT(self->reraise);
    for (Py_ssize_t i = 0; i < self->nargs; i++)
        Py_VISIT(self->checks[i].cls);
    return 0;
}

static int llexternal_clear(LLExternalObject *self)
{
    Py_CLEAR(self->dict);
    Py_CLEAR(self->fn);
    Py_CLEAR(self->resolve);
    Py_CLEAR(self->converters);
    Py_CLEAR(self->result);
    Py_CLEAR(self->armed);
    Py_CLEAR(self->reraise);
    for (Py_ssize_t i = 0; i < self->nargs; i++) {
        Py_CLEAR(self->checks[i].cls);
        Py_CLEAR(self->scratch[i]);
    }
    return 0;
}

static void llexternal_dealloc(LLExternalObject *self)
{
    PyObject_GC_UnTrack(self);
    llexternal_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *llexternal_repr(LLExternalObject *self)
{
    PyObject *name = self->dict == NULL ? NULL :
                     PyDict_GetItemString(self->dict, "__name__");   /* borrowed */
    if (name != NULL)
        return PyUnicode_FromFormat("<llexternal %S>", name);
    return PyUnicode_FromFormat("<llexternal at %p>", self);
}

static PyGetSetDef llexternal_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL}
};

static PyTypeObject LLExternal_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi._core.LLExternal",
    .tp_basicsize = sizeof(LLExternalObject),
    .tp_dealloc = (destructor)llexternal_dealloc,
    .tp_repr = (reprfunc)llexternal_repr,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(LLExternalObject, vectorcall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_traverse = (traverseproc)llexternal_traverse,
    .tp_clear = (inquiry)llexternal_clear,
    .tp_dictoffset = offsetof(LLExternalObject, dict),
    .tp_getset = llexternal_getset,
    .tp_new = llexternal_new,
    .tp_doc = "LLExternal(resolve, converters, checks, result_kind, result, armed, "
              "reraise): the callable of an llexternal (rffi._make_wrapper).",
};

int nffi_llptr_init(PyObject *module)
{
    PyTypeObject *types[] = {&LLAllocation_Type, &LLPtr_Type, &LLField_Type,
                             &LLExternal_Type};
    const char *names[] = {"LLAllocation", "LLPtr", "LLField", "LLExternal"};
    str_no_attribute = PyUnicode_InternFromString("_no_attribute");
    str_llitems = PyUnicode_InternFromString("_llitems");
    str_getitem = PyUnicode_InternFromString("_getitem");
    str_setitem = PyUnicode_InternFromString("_setitem");
    str_name = PyUnicode_InternFromString("__name__");
    str_ctype = PyUnicode_InternFromString("_ctype");
    str_pointer_class = PyUnicode_InternFromString("_pointer_class");
    small_zero = PyLong_FromLong(0);
    if (!str_no_attribute || !str_llitems || !str_getitem || !str_setitem || !str_name ||
            !str_ctype || !str_pointer_class || !small_zero)
        return -1;
    LLAllocation_Type.tp_methods = llallocation_methods;
    if (lltypedint_init(module) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (PyType_Ready(types[i]) < 0 ||
                PyModule_AddObjectRef(module, names[i], (PyObject *)types[i]) < 0)
            return -1;
    return 0;
}
