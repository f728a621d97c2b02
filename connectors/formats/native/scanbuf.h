/* Shared by the scanners of connectors/formats/native (_jsonscan.c, _csvscan.c): the Buffer
 * type that hands malloc'd column memory to Python through the buffer protocol (wrapped by
 * pyarrow.py_buffer without a copy), the per-column result tuple, the UTF-8 sequence check
 * both apply as Arrow's validator does, and the validity-bit setter.
 *
 * Include after <Python.h>. The Buffer type and the result tuple come with SCANBUF_TYPE_NAME
 * defined as the type's dotted name: every module that includes it so gets its own static type
 * (call PyType_Ready(&BufType) in its init). */
#ifndef FLOWSQL_SCANBUF_H
#define FLOWSQL_SCANBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef SCANBUF_TYPE_NAME
typedef struct {
    PyObject_HEAD
    void *ptr;
    Py_ssize_t len;
} BufObject;

static void buf_dealloc(BufObject *self) {
    free(self->ptr);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int buf_getbuffer(BufObject *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->ptr, self->len, 1, flags);
}

static PyBufferProcs buf_as_buffer = {(getbufferproc)buf_getbuffer, NULL};

static PyTypeObject BufType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = SCANBUF_TYPE_NAME,
    .tp_basicsize = sizeof(BufObject),
    .tp_dealloc = (destructor)buf_dealloc,
    .tp_as_buffer = &buf_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory owned by the scanner's result, exported through the buffer protocol.",
};

/* Takes ownership of ptr (freed on failure too). */
static PyObject *buf_new(void *ptr, Py_ssize_t len) {
    BufObject *b = PyObject_New(BufObject, &BufType);
    if (b == NULL) {
        free(ptr);
        return NULL;
    }
    b->ptr = ptr;
    b->len = len;
    return (PyObject *)b;
}

/* A scanned column's (null_count, validity, values, string_data) tuple; steals the three
 * references, which may be NULL (a failed buf_new: then NULL, the others released). */
static PyObject *column_tuple(int64_t nulls, PyObject *valid, PyObject *values, PyObject *sdata) {
    PyObject *count = PyLong_FromLongLong((long long)nulls);
    PyObject *t = PyTuple_New(4);
    if (t == NULL || count == NULL || valid == NULL || values == NULL || sdata == NULL) {
        Py_XDECREF(t);
        Py_XDECREF(count);
        Py_XDECREF(valid);
        Py_XDECREF(values);
        Py_XDECREF(sdata);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, count);
    PyTuple_SET_ITEM(t, 1, valid);
    PyTuple_SET_ITEM(t, 2, values);
    PyTuple_SET_ITEM(t, 3, sdata);
    return t;
}

#endif /* SCANBUF_TYPE_NAME */

/* Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0. */
static inline int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char b0 = p[0];
    ptrdiff_t left = end - p;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        return (left >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (b0 == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (b0 == 0xED && p[1] > 0x9F) return 0;  /* surrogate */
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (b0 == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
        if (b0 == 0xF4 && p[1] > 0x8F) return 0;  /* > U+10FFFF */
        return 4;
    }
    return 0;
}

static inline void set_bit(uint8_t *bits, int64_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }

#endif
