/* file.c -- Python file objects where C expects a 'FILE *'.
 *
 * Owns the conversion of a Python file (io.IOBase) into a C FILE: a FILE opened with
 * fdopen() on a dup() of the file's descriptor, after flushing Python's buffer, with the
 * file's mode.  Call arguments and ffi.cast("FILE *", f) get one unbuffered FILE per
 * Python file, kept in an attribute of that file and closed when the file object dies
 * (as cffi: C may keep the FILE a call gave it, e.g. in 'stdout').  Best effort, as in cffi: Python's
 * buffer is flushed when the FILE is made, not at each C write.
 */
#include "nffi_core.h"

#include <unistd.h>

int nffi_is_python_file(PyObject *obj)
{
    static PyObject *io_base = NULL;
    if (io_base == NULL) {
        PyObject *io = PyImport_ImportModule("io");
        if (io == NULL)
            return -1;
        io_base = PyObject_GetAttrString(io, "IOBase");
        Py_DECREF(io);
        if (io_base == NULL)
            return -1;
    }
    return PyObject_IsInstance(obj, io_base);
}

/* fdopen()'s mode for a Python file's 'mode' attribute ("rb+" -> "r+"). */
static void file_mode(PyObject *file, char mode[3])
{
    const char *m = NULL;
    PyObject *attr = PyObject_GetAttrString(file, "mode");
    if (attr != NULL && PyUnicode_Check(attr))
        m = PyUnicode_AsUTF8(attr);
    if (m == NULL)
        PyErr_Clear();
    mode[0] = 'r';
    mode[1] = '+';
    mode[2] = 0;
    if (m != NULL && m[0] != 0) {
        mode[0] = strchr(m, 'w') || strchr(m, 'x') ? 'w' : strchr(m, 'a') ? 'a' : 'r';
        if (!strchr(m, '+'))
            mode[1] = 0;
    }
    Py_XDECREF(attr);
}

FILE *nffi_file_copy(PyObject *obj)
{
    PyObject *r = PyObject_CallMethod(obj, "flush", NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    int fd = PyObject_AsFileDescriptor(obj);
    if (fd < 0)
        return NULL;
    char mode[3];
    file_mode(obj, mode);
    int fd2 = dup(fd);
    FILE *f = fd2 < 0 ? NULL : fdopen(fd2, mode);
    if (f == NULL) {
        PyErr_SetFromErrno(PyExc_OSError);
        if (fd2 >= 0)
            close(fd2);
    }
    return f;
}

#define FILE_ATTRIBUTE "__nffi_FILE"

static void close_file_capsule(PyObject *capsule)
{
    FILE *f = PyCapsule_GetPointer(capsule, FILE_ATTRIBUTE);
    if (f != NULL)
        fclose(f);
    else
        PyErr_Clear();
}

/* The FILE kept with obj: unbuffered, so that what C writes is in the file at once
   (Python's buffer is flushed each time the FILE is asked for). */
FILE *nffi_file_of(PyObject *obj)
{
    PyObject *capsule = PyObject_GetAttrString(obj, FILE_ATTRIBUTE);
    if (capsule != NULL) {
        FILE *f = PyCapsule_GetPointer(capsule, FILE_ATTRIBUTE);
        Py_DECREF(capsule);
        PyObject *r = f ? PyObject_CallMethod(obj, "flush", NULL) : NULL;
        Py_XDECREF(r);
        return r ? f : NULL;
    }
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
        return NULL;
    PyErr_Clear();
    FILE *f = nffi_file_copy(obj);
    if (f == NULL)
        return NULL;
    setbuf(f, NULL);
    capsule = PyCapsule_New(f, FILE_ATTRIBUTE, close_file_capsule);
    if (capsule == NULL) {
        fclose(f);
        return NULL;
    }
    int r = PyObject_SetAttrString(obj, FILE_ATTRIBUTE, capsule);
    Py_DECREF(capsule);     /* on failure this closes f */
    return r < 0 ? NULL : f;
}
