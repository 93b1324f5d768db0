/* capi.c -- what the core gives generated (API-mode) modules.
 *
 * Owns the NffiCapi table (nffi_capi.h) exported as nffi._core._C_API: the entries are
 * thin adapters onto the core's own conversions, call-argument rules, error notes, call
 * bracket (GIL and errno, as ABI mode) and callback path, so that a generated wrapper
 * converts, fails and creates cdata exactly as an ABI-mode call of the same function
 * type does, and an 'extern "Python"' function runs its Python code as ffi.callback's
 * would (without a libffi closure).  Also owns the lazy side of a compiled module:
 * init_module() (its ffi and lib, nothing else), realize() (the ctypes of a wrapper
 * signature on first need, asked of nffi/apimodule.py), the tables read on first use
 * (_compiled_tables), and the two objects of its `lib` that must be fast: GlobalVar (a
 * global variable: its ctype and the generated function that returns its address,
 * called at every access, as the variable may be a macro such as `(*get_value())`) and
 * CompiledLibBase (the C base of nffi/apimodule.py's CompiledLibrary: what was read is
 * served from its cache in one lookup, globals read and written through their
 * GlobalVar, wrappers created from the module's method table on first read).
 */
#include "nffi_core.h"
#include "nffi_capi.h"

/* the fast paths of nffi_capi.h read a cdata through NffiCDataHead */
_Static_assert(offsetof(NffiCDataHead, c_type) == offsetof(CDataObject, c_type), "c_type");
_Static_assert(offsetof(NffiCDataHead, c_data) == offsetof(CDataObject, c_data), "c_data");
_Static_assert(offsetof(NffiCDataHead, c_flags) == offsetof(CDataObject, c_flags), "c_flags");
_Static_assert(NFFI_CD_RELEASED == CD_RELEASED, "CD_RELEASED");
_Static_assert(NFFI_CD_CHECK_OWNER == CD_CHECK_OWNER, "CD_CHECK_OWNER");

static int capi_arg_to_c(void *dest, PyObject *ctype, PyObject *obj, void **temps)
{
    if (ctype == NULL)                   /* realize() failed: its exception is set */
        return -1;
    return nffi_convert(dest, (CTypeObject *)ctype, obj, NFFI_CONV_ARGUMENT | NFFI_CONV_FRESH,
                        (NffiTemps **)temps);
}

static void capi_free_temps(void *temps)
{
    nffi_temps_free(temps);
}

static PyObject *capi_from_c(const void *src, PyObject *ctype)
{
    CTypeObject *ct = (CTypeObject *)ctype;
    if (ct == NULL)                      /* realize() failed */
        return NULL;
    if (ct->ct_flags & CT_VOID)
        Py_RETURN_NONE;
    if (ct->ct_flags & CT_STRUCT_OR_UNION) {
        /* a struct returned by value lives on the wrapper's stack: copy it */
        CDataObject *cd = nffi_cdata_new_owned(ct, ct->ct_size, 0);
        if (cd != NULL)
            memcpy(cd->c_data, src, ct->ct_size);
        return (PyObject *)cd;
    }
    return nffi_convert_to_object((char *)src, ct, NULL);
}

static void capi_note_argument(Py_ssize_t index, const char *function_name)
{
    nffi_add_argument_note(index, function_name, NULL);
}

static PyObject *capi_wrong_count(const char *name, Py_ssize_t expected, Py_ssize_t got)
{
    /* the messages CPython gives for METH_NOARGS / METH_O / the rest, as cffi's */
    if (expected == 0)
        PyErr_Format(PyExc_TypeError, "%s() takes no arguments (%zd given)", name, got);
    else if (expected == 1)
        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)",
                     name, got);
    else
        PyErr_Format(PyExc_TypeError, "%s expected %zd arguments, got %zd",
                     name, expected, got);
    return NULL;
}

static int *capi_errno_slot(void)
{
    return &nffi_saved_errno;
}

#define MODULE_CAPSULE "nffi._core.NffiModule"

static PyObject *capi_init_module(NffiModule *module)
{
    PyObject *m = PyModule_Create(module->def);
    if (m == NULL)
        return NULL;
    PyObject *capsule = PyCapsule_New(module, MODULE_CAPSULE, NULL);
    PyObject *runtime = capsule ? PyImport_ImportModule("nffi.apimodule") : NULL;
    PyObject *ffi = runtime ? PyObject_CallMethod(runtime, "load", "OO", m, capsule) : NULL;
    Py_XDECREF(runtime);
    Py_XDECREF(capsule);
    if (ffi == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    /* a module initialised again (a new ffi, new struct ctypes): its slots start empty;
       the old ctypes are left alive, a call of the old lib may still be using them */
    for (Py_ssize_t i = 0; i < module->ntypes; i++)
        module->types[i] = NULL;
    Py_XSETREF(module->runtime, ffi);    /* kept, as the module's static tables are */
    return m;
}

static PyObject *str_nffi_realize;

static PyObject *capi_realize(NffiModule *module, Py_ssize_t slot)
{
    if (module->runtime == NULL) {
        PyErr_SetString(PyExc_SystemError, "nffi: a generated module's types are asked "
                        "for before its initialisation");
        return NULL;
    }
    /* the runtime answers (first slot of the signature, its ctypes) */
    PyObject *n = PyLong_FromSsize_t(slot);
    PyObject *r = n ? PyObject_CallMethodOneArg(module->runtime, str_nffi_realize, n) : NULL;
    Py_XDECREF(n);
    if (r == NULL)
        return NULL;
    Py_ssize_t base;
    PyObject *types;
    if (!PyArg_ParseTuple(r, "nO!", &base, &PyTuple_Type, &types))
        goto fail;
    Py_ssize_t count = PyTuple_GET_SIZE(types);
    if (base < 0 || base > slot || slot >= base + count || base + count > module->ntypes) {
        PyErr_SetString(PyExc_SystemError, "nffi: _nffi_realize() answered out of range");
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *ct = PyTuple_GET_ITEM(types, i);
        if (!PyObject_TypeCheck(ct, &CType_Type)) {
            PyErr_SetString(PyExc_SystemError, "nffi: _nffi_realize() must give ctypes");
            goto fail;
        }
        if (module->types[base + i] == NULL)
            module->types[base + i] = Py_NewRef(ct);
    }
    Py_DECREF(r);
    return module->types[slot];
  fail:
    Py_DECREF(r);
    return NULL;
}

static PyThreadState *capi_call_begin(int release_gil)
{
    return nffi_call_begin(release_gil);
}

static void capi_call_end(PyThreadState *state)
{
    nffi_call_end(state);
}

static void capi_call_python(NffiExternPython *xp, void **args, void *result)
{
    PyGILState_STATE state = nffi_callback_begin();
    PyObject *callback = xp->callback;
    if (callback != NULL)
        nffi_callback_run_exact(callback, result, args);
    else {
        /* cffi's message; the generated function returns a zero result */
        fprintf(stderr, "extern \"Python\": function %s() called, but no code was attached "
                "to it yet with @ffi.def_extern().  Returning 0.\n", xp->qualified_name);
        fflush(stderr);
    }
    nffi_callback_end(state);
}

static int capi_recheck(PyObject *const *args, Py_ssize_t nargs)
{
    return nffi_recheck_arguments(NULL, args, nargs);
}

static NffiCapi capi = {
    .version = NFFI_CAPI_VERSION,
    .size = sizeof(NffiCapi),
    .cdata_type = &CData_Type,
    .arg_to_c = capi_arg_to_c,
    .free_temps = capi_free_temps,
    .from_c = capi_from_c,
    .note_argument = capi_note_argument,
    .wrong_count = capi_wrong_count,
    .errno_slot = capi_errno_slot,
    .init_module = capi_init_module,
    .realize = capi_realize,
    .call_begin = capi_call_begin,
    .call_end = capi_call_end,
    .call_python = capi_call_python,
    .recheck = capi_recheck,
};

/* The NffiModule of a generated module's capsule, or NULL + exception. */
static NffiModule *module_of(PyObject *capsule)
{
    return (NffiModule *)PyCapsule_GetPointer(capsule, MODULE_CAPSULE);
}

/* _core._compiled_tables(capsule) -> (declarations, answers, addresses): what
 * nffi/apimodule.py reads when it first needs the declarations */
static PyObject *m_compiled_tables(PyObject *self, PyObject *capsule)
{
    NffiModule *module = module_of(capsule);
    if (module == NULL)
        return NULL;
    module->fill_answers();
    PyObject *answers = PyDict_New();
    for (Py_ssize_t i = 0; answers != NULL && i < module->nanswers; i++) {
        const NffiAnswer *a = &module->answers[i];
        PyObject *value;
        if (a->kind == NFFI_ANSWER_FLOAT)
            value = PyFloat_FromDouble(a->d);
        else if (a->negative)
            value = PyLong_FromLongLong((long long)a->u);
        else
            value = PyLong_FromUnsignedLongLong(a->u);
        if (value == NULL || PyDict_SetItemString(answers, a->key, value) < 0)
            Py_CLEAR(answers);
        Py_XDECREF(value);
    }
    PyObject *addresses = answers ? PyTuple_New(module->naddresses) : NULL;
    for (Py_ssize_t i = 0; addresses != NULL && i < module->naddresses; i++) {
        PyObject *address = PyLong_FromVoidPtr(module->addresses[i]);
        if (address == NULL)
            Py_CLEAR(addresses);
        else
            PyTuple_SET_ITEM(addresses, i, address);
    }
    PyObject *result = addresses ? Py_BuildValue("y#OO", module->spec, module->spec_size,
                                                 answers, addresses) : NULL;
    Py_XDECREF(answers);
    Py_XDECREF(addresses);
    return result;
}

/* _core._extern_attach(capsule, index, callback): what @ffi.def_extern() attaches */
static PyObject *m_extern_attach(PyObject *self, PyObject *args)
{
    PyObject *capsule, *callback;
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "OnO:_extern_attach", &capsule, &index, &callback))
        return NULL;
    NffiModule *module = module_of(capsule);
    if (module == NULL)
        return NULL;
    if (index < 0 || index >= module->nexterns) {
        PyErr_SetString(PyExc_IndexError, "_extern_attach(): no such extern \"Python\"");
        return NULL;
    }
    if (!nffi_is_callback(callback)) {
        PyErr_SetString(PyExc_TypeError, "_extern_attach(): expected a callback object");
        return NULL;
    }
    PyObject *old = module->externs[index].callback;
    module->externs[index].callback = Py_NewRef(callback);
    Py_XDECREF(old);        /* a C call running it holds its own reference */
    Py_RETURN_NONE;
}

/* ---- GlobalVar ---------------------------------------------------------------------- */

typedef void *(*AddressGetter)(void);

typedef struct {
    PyObject_HEAD
    CTypeObject *ct;             /* the variable's type */
    CTypeObject *ptrtype;        /* 'T *' */
    AddressGetter getter;        /* generated: returns &(variable) */
    PyObject *name;
    int decays;                  /* 'T x[]': reads as a 'T *' to it (ct is 'T *') */
    int plain_integer;           /* not decays, and ct a plain integer type */
    NffiPlanArg value;           /* classified as a call argument: its exact-int fast path */
} GlobalVarObject;

/* The variable's address now, or NULL + ffi.error (a macro variable like
 * '(*get_value())' whose function returned NULL) */
static char *globalvar_address_now(GlobalVarObject *gv)
{
    char *address = gv->getter();
    if (address == NULL)
        PyErr_Format(nffi_FFIError, "global variable '%U' is at address NULL", gv->name);
    return address;
}

static PyTypeObject GlobalVar_Type;

static PyObject *globalvar_read(GlobalVarObject *gv)
{
    char *address = globalvar_address_now(gv);
    if (address == NULL)
        return NULL;
    if (gv->plain_integer)               /* the common case, inline */
        return nffi_integer_to_object(address, gv->ct);
    if (gv->decays) {
        PyObject *value = PyLong_FromVoidPtr(address);
        PyObject *result = value ? nffi_cast(gv->ct, value) : NULL;
        Py_XDECREF(value);
        return result;
    }
    if (gv->ct->ct_size < 0) {           /* only its address can be taken, as cffi */
        PyErr_Format(PyExc_TypeError, "cdata '%s' is opaque", nffi_ctype_name(gv->ct));
        return NULL;
    }
    return nffi_convert_to_object(address, gv->ct, NULL);
}

static int globalvar_write(GlobalVarObject *gv, PyObject *value)
{
    if (gv->decays) {
        PyErr_Format(PyExc_TypeError, "cannot assign to the array '%U' of unknown length",
                     gv->name);
        return -1;
    }
    if (gv->ct->ct_size < 0) {
        PyErr_Format(PyExc_TypeError, "'%s' is opaque", nffi_ctype_name(gv->ct));
        return -1;
    }
    char *address = globalvar_address_now(gv);
    if (address == NULL)
        return -1;
    int64_t v;
    if (nffi_int_fast_value(&gv->value, value, &v)) {
        nffi_write_raw_integer(address, (unsigned long long)v, gv->ct->ct_size);
        return 0;
    }
    return nffi_convert_from_object(address, gv->ct, value);
}

static PyObject *globalvar_address(GlobalVarObject *gv, PyObject *noargs)
{
    char *raw = globalvar_address_now(gv);
    if (raw == NULL)
        return NULL;
    PyObject *address = PyLong_FromVoidPtr(raw);
    if (address == NULL)
        return NULL;
    PyObject *result = nffi_cast(gv->ptrtype, address);
    Py_DECREF(address);
    return result;
}

static PyObject *globalvar_get(GlobalVarObject *gv, PyObject *noargs)
{
    return globalvar_read(gv);
}

static PyObject *globalvar_set(GlobalVarObject *gv, PyObject *value)
{
    if (globalvar_write(gv, value) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static void globalvar_dealloc(GlobalVarObject *gv)
{
    Py_XDECREF(gv->ct);
    Py_XDECREF(gv->ptrtype);
    Py_XDECREF(gv->name);
    Py_TYPE(gv)->tp_free((PyObject *)gv);
}

static PyMethodDef globalvar_methods[] = {
    {"get", (PyCFunction)globalvar_get, METH_NOARGS, "The variable's value now."},
    {"set", (PyCFunction)globalvar_set, METH_O, "Store a value into the variable."},
    {"address", (PyCFunction)globalvar_address, METH_NOARGS, "A 'T *' to the variable."},
    {NULL}
};

static PyTypeObject GlobalVar_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.GlobalVar",
    .tp_basicsize = sizeof(GlobalVarObject),
    .tp_dealloc = (destructor)globalvar_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = globalvar_methods,
    .tp_doc = "A global variable of a compiled module (its type and address getter).",
};

/* _core._global_var(ctype, getter_address, name, decays=False): for nffi/apimodule.py only; the address
 * must be that of a generated 'void *getter(void)' */
static PyObject *m_global_var(PyObject *self, PyObject *args)
{
    PyObject *ctobj, *address, *name;
    int decays = 0;
    if (!PyArg_ParseTuple(args, "O!O!U|p:_global_var", &CType_Type, &ctobj, &PyLong_Type,
                          &address, &name, &decays))
        return NULL;
    void *getter = PyLong_AsVoidPtr(address);
    if (getter == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "_global_var(): NULL getter");
        return NULL;
    }
    CTypeObject *ptrtype = nffi_new_pointer_type((CTypeObject *)ctobj);
    if (ptrtype == NULL)
        return NULL;
    GlobalVarObject *gv = PyObject_New(GlobalVarObject, &GlobalVar_Type);
    if (gv == NULL) {
        Py_DECREF(ptrtype);
        return NULL;
    }
    gv->ct = (CTypeObject *)Py_NewRef(ctobj);
    gv->ptrtype = ptrtype;
    gv->name = Py_NewRef(name);
    gv->decays = decays;
    gv->plain_integer = !decays && nffi_is_plain_integer(gv->ct);
    memcpy(&gv->getter, &getter, sizeof(getter));
    nffi_plan_classify(gv->ct, &gv->value);
    return (PyObject *)gv;
}

/* ---- CompiledLibBase ------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *cache;             /* name -> wrapper, constant or GlobalVar: what was read */
    PyObject *functions;         /* name -> function cdata of a wrapper used as a pointer */
    NffiModule *module;          /* the generated module's tables */
    PyObject *capsule;           /* ... held by this capsule */
    PyObject *modname;           /* __module__ of the wrappers */
    PyObject *weakreflist;
    /* the global variable last read or written through the lib, and its name (the
       string object of that access: an attribute name in code is interned, so the
       next access of the same name in the same code is one pointer comparison) */
    PyObject *last_name;
    GlobalVarObject *last_var;
} CompiledLibObject;

/* Found 'var' for 'name' in the cache: remember it for the next access (new refs). */
static void clib_remember(CompiledLibObject *self, PyObject *name, PyObject *var)
{
    Py_XSETREF(self->last_name, Py_NewRef(name));
    Py_XSETREF(self->last_var, (GlobalVarObject *)Py_NewRef(var));
}

static PyObject *str_nffi_getattr, *str_nffi_setattr, *str_nffi_prefix;

static int compare_method_name(const void *key, const void *entry)
{
    return strcmp((const char *)key, ((const PyMethodDef *)entry)->ml_name);
}

/* The wrapper of the C function 'name', created and cached on first read (its self is
 * the lib, as cffi's); NULL without an exception if there is no such function.  The
 * 'checked' part of the table only for nffi/apimodule.py (_compiled_wrapper). */
static PyObject *clib_function(CompiledLibObject *self, PyObject *name, int checked)
{
    NffiModule *module = self->module;
    if (module == NULL || self->cache == NULL)
        return NULL;
    PyMethodDef *table = module->functions + (checked ? module->nfunctions : 0);
    Py_ssize_t count = checked ? module->nchecked : module->nfunctions;
    if (count == 0)
        return NULL;
    const char *text = PyUnicode_AsUTF8(name);
    if (text == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyMethodDef *def = bsearch(text, table, (size_t)count, sizeof(PyMethodDef),
                               compare_method_name);
    if (def == NULL)
        return NULL;
    PyObject *function = PyCFunction_NewEx(def, (PyObject *)self, self->modname);
    if (function == NULL || PyDict_SetItem(self->cache, name, function) < 0) {
        Py_XDECREF(function);
        return NULL;
    }
    return function;
}

static PyObject *clib_getattro(CompiledLibObject *self, PyObject *name)
{
    if (name == self->last_name)
        return globalvar_read(self->last_var);
    if (PyUnicode_CheckExact(name) && self->cache != NULL) {    /* (NULL: cleared) */
        PyObject *value = PyDict_GetItemWithError(self->cache, name);
        if (value != NULL) {
            if (Py_IS_TYPE(value, &GlobalVar_Type)) {
                clib_remember(self, name, value);
                return globalvar_read((GlobalVarObject *)value);
            }
            return Py_NewRef(value);
        }
        if (PyErr_Occurred())
            return NULL;
        value = clib_function(self, name, 0);
        if (value != NULL || PyErr_Occurred())
            return value;
    }
    /* the class's attributes, then nffi/apimodule.py: constants, global variables and
       the rest on first read, errors */
    PyObject *value = PyObject_GenericGetAttr((PyObject *)self, name);
    if (value != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return value;
    /* a missing hook (a bare CompiledLibBase, a subclass without them) stays missing:
       asking the hook for itself would recurse until the C stack overflows */
    if (PyUnicode_Check(name) && (PyUnicode_Compare(name, str_nffi_getattr) == 0 ||
                                  PyUnicode_Compare(name, str_nffi_setattr) == 0))
        return NULL;
    PyErr_Clear();
    return PyObject_CallMethodOneArg((PyObject *)self, str_nffi_getattr, name);
}

static int clib_setattro(CompiledLibObject *self, PyObject *name, PyObject *value)
{
    if (name == self->last_name && value != NULL)
        return globalvar_write(self->last_var, value);
    if (!PyUnicode_Check(name))
        return PyObject_GenericSetAttr((PyObject *)self, name, value);
    PyObject *known = self->cache ? PyDict_GetItemWithError(self->cache, name) : NULL;
    if (known != NULL && Py_IS_TYPE(known, &GlobalVar_Type)) {
        if (value == NULL) {
            PyErr_Format(PyExc_AttributeError, "cannot delete the global variable "
                         "'%U' of a library", name);
            return -1;
        }
        clib_remember(self, name, known);
        return globalvar_write((GlobalVarObject *)known, value);
    }
    if (PyErr_Occurred())
        return -1;
    if (PyUnicode_Tailmatch(name, str_nffi_prefix, 0, PY_SSIZE_T_MAX, -1) == 1)
        return PyObject_GenericSetAttr((PyObject *)self, name, value);   /* its own state */
    /* not read yet, or a function or constant: nffi/apimodule.py decides */
    /* (name, value), or (name) to delete */
    PyObject *r = PyObject_CallMethodObjArgs((PyObject *)self, str_nffi_setattr, name,
                                             value, NULL);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

static PyObject *clib_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* the capsule first; the subclass's __init__ takes the rest */
    if (PyTuple_GET_SIZE(args) < 1) {
        PyErr_SetString(PyExc_TypeError, "CompiledLibBase(capsule, ...): no capsule");
        return NULL;
    }
    PyObject *capsule = PyTuple_GET_ITEM(args, 0);
    NffiModule *module = NULL;
    if (capsule != Py_None && (module = module_of(capsule)) == NULL)
        return NULL;
    CompiledLibObject *self = (CompiledLibObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->module = module;
    self->capsule = Py_NewRef(capsule);
    self->cache = PyDict_New();
    self->functions = PyDict_New();
    self->modname = module != NULL ? PyUnicode_FromString(module->def->m_name)
                                   : Py_NewRef(Py_None);
    if (self->cache == NULL || self->functions == NULL || self->modname == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyObject *clib_get_cache(CompiledLibObject *self, void *closure)
{
    if (self->cache == NULL)
        self->cache = PyDict_New();         /* cleared by the GC: start again */
    return Py_XNewRef(self->cache);
}

static int clib_traverse(CompiledLibObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cache);
    Py_VISIT(self->functions);
    return 0;
}

static int clib_clear(CompiledLibObject *self)
{
    Py_CLEAR(self->cache);
    Py_CLEAR(self->functions);
    return 0;
}

static void clib_dealloc(CompiledLibObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    clib_clear(self);
    Py_CLEAR(self->last_name);
    Py_CLEAR(self->last_var);
    Py_CLEAR(self->capsule);
    Py_CLEAR(self->modname);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyGetSetDef clib_getset[] = {
    {"_nffi_cache", (getter)clib_get_cache, NULL,
     "name -> wrapper, constant or GlobalVar: what was read from the library", NULL},
    {NULL}
};

static PyTypeObject CompiledLibBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nffi.CompiledLibBase",
    .tp_basicsize = sizeof(CompiledLibObject),
    .tp_dealloc = (destructor)clib_dealloc,
    .tp_getattro = (getattrofunc)clib_getattro,
    .tp_setattro = (setattrofunc)clib_setattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)clib_traverse,
    .tp_clear = (inquiry)clib_clear,
    .tp_weaklistoffset = offsetof(CompiledLibObject, weakreflist),
    .tp_getset = clib_getset,
    .tp_new = clib_new,
    .tp_doc = "Base of a compiled module's lib (capsule): wrappers created on first read "
              "from the module's table, constants and global variables (read and written "
              "at each access) cached by nffi/apimodule.py.",
};

/* _core._compiled_wrapper(lib, name): the wrapper of a function whose type
 * nffi/apimodule.py checked (NffiModule.nchecked), made and cached */
static PyObject *m_compiled_wrapper(PyObject *self, PyObject *args)
{
    PyObject *lib, *name;
    if (!PyArg_ParseTuple(args, "O!U:_compiled_wrapper", &CompiledLibBase_Type, &lib, &name))
        return NULL;
    PyObject *function = clib_function((CompiledLibObject *)lib, name, 1);
    if (function == NULL && !PyErr_Occurred())
        PyErr_SetObject(PyExc_AttributeError, name);
    return function;
}

/* The function cdata (borrowed) that 'lib.f' of a compiled module stands for where a
 * pointer is expected (cffi converts it to the function's address): a wrapper's self
 * is its lib, whose __addressof__ makes it (kept in lib->functions); NULL without an
 * error if obj is no such wrapper. */
CDataObject *nffi_compiled_function_of(PyObject *obj)
{
    if (!PyCFunction_Check(obj))
        return NULL;
    PyObject *self = PyCFunction_GET_SELF(obj);
    if (self == NULL || !PyObject_TypeCheck(self, &CompiledLibBase_Type) ||
            ((CompiledLibObject *)self)->functions == NULL)    /* cleared by the GC */
        return NULL;
    CompiledLibObject *lib = (CompiledLibObject *)self;
    PyObject *name = PyObject_GetAttrString(obj, "__name__");
    if (name == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *function = PyDict_GetItemWithError(lib->functions, name);   /* borrowed */
    if (function == NULL && !PyErr_Occurred()) {
        PyObject *made = PyObject_CallMethod(self, "__addressof__", "O", name);
        if (made != NULL && PyDict_SetItem(lib->functions, name, made) == 0)
            function = made;                 /* now held by lib->functions */
        Py_XDECREF(made);
    }
    Py_DECREF(name);
    if (function == NULL || !CData_Check(function) ||
            !(((CDataObject *)function)->c_type->ct_flags & CT_FUNCTIONPTR)) {
        PyErr_Clear();
        return NULL;
    }
    return (CDataObject *)function;
}

static PyMethodDef capi_module_functions[] = {
    {"_global_var", m_global_var, METH_VARARGS,
     "_global_var(ctype, getter_address, name, decays=False): a GlobalVar (compiled modules only)"},
    {"_compiled_tables", m_compiled_tables, METH_O,
     "_compiled_tables(capsule) -> (pickled declarations, answers, addresses) of a compiled "
     "module"},
    {"_compiled_wrapper", m_compiled_wrapper, METH_VARARGS,
     "_compiled_wrapper(lib, name): the wrapper of a function whose type was checked"},
    {"_extern_attach", m_extern_attach, METH_VARARGS,
     "_extern_attach(capsule, index, callback): attach code to an extern \"Python\""},
    {NULL}
};

int nffi_capi_init(PyObject *module)
{
    str_nffi_getattr = PyUnicode_InternFromString("_nffi_getattr");
    str_nffi_setattr = PyUnicode_InternFromString("_nffi_setattr");
    str_nffi_prefix = PyUnicode_InternFromString("_nffi_");
    str_nffi_realize = PyUnicode_InternFromString("_nffi_realize");
    if (str_nffi_getattr == NULL || str_nffi_setattr == NULL || str_nffi_prefix == NULL ||
            str_nffi_realize == NULL || PyType_Ready(&GlobalVar_Type) < 0 ||
            PyType_Ready(&CompiledLibBase_Type) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "CompiledLibBase",
                              (PyObject *)&CompiledLibBase_Type) < 0 ||
            PyModule_AddObjectRef(module, "GlobalVar", (PyObject *)&GlobalVar_Type) < 0 ||
            PyModule_AddFunctions(module, capi_module_functions) < 0)
        return -1;
    PyObject *capsule = PyCapsule_New(&capi, NFFI_CAPI_CAPSULE, NULL);
    if (capsule == NULL)
        return -1;
    int r = PyModule_AddObjectRef(module, "_C_API", capsule);
    Py_DECREF(capsule);
    return r;
}
