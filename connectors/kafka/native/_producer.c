/* connectors.kafka.native._producer: placeholder; bind(path) binds librdkafka (rdkafka_api.h)
 * and returns its version string. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "rdkafka_api.h"

static PyObject *bind(PyObject *self, PyObject *args) {
    const char *path;
    char err[512];
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    if (rdk_bind(path, err, sizeof err) != 0) {
        PyErr_SetString(PyExc_OSError, err);
        return NULL;
    }
    return PyUnicode_FromString(rdk.rd_kafka_version_str());
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS, "bind(path) -> librdkafka version: bind the library at path."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_producer", NULL, -1, methods};

PyMODINIT_FUNC PyInit__producer(void) { return PyModule_Create(&module); }
