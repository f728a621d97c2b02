/* connectors.formats.native._csvscan: a scanner of unquoted CSV lines into Arrow column
 * buffers (the streaming filesystem source's CSV fast path; Python side:
 * connectors/formats/csv_scan.py).
 *
 * scan(data, length, nfields, delimiter, quote, fields) -> (n, list) | None
 *   data       buffer: complete lines (a last line without '\n' counts), of which the first
 *              length bytes are read
 *   nfields    the number of fields every line holds
 *   delimiter  the field delimiter (a byte value other than '\n', '\r' and quote)
 *   quote      the quote character's byte value, or -1 when quoting is off
 *   fields     sequence of (position, kind): the wanted fields (0-based positions, distinct,
 *              any order), kinds K_* below; the result's columns are in this order
 * Returns n, the number of rows (empty lines are skipped, as Arrow's ignore_empty_lines
 * does), and per wanted field (null_count, validity, values, string_data): Buffer objects
 * (buffer protocol, malloc'd, freed with the object) in Arrow's layout: int8..int64 values,
 * or int32 offsets in values and the bytes in string_data for strings; validity is None
 * when the column has no NULL.
 *
 * None means "not handled": the block holds something this scanner does not convert
 * exactly as Arrow's CSV reader does with the settings of
 * connectors/formats/csv_format._arrow_batches (null_values [""], strings never NULL,
 * check_utf8, ignore_empty_lines), and the caller reads it that way. It declines whenever:
 * the quote character appears anywhere in the block (quoting on), a '\r' appears anywhere
 * (Arrow ends lines at a lone '\r' too), a line has more or fewer than nfields fields, an
 * integer field is not empty and not -?[0-9]+ (Arrow also takes blanks around the digits,
 * hex "0x..": those decline, never guess), an integer is out of its column's range, or a
 * wanted string field is not valid UTF-8. An empty integer field is NULL; an empty string
 * field is "". Unwanted fields are split (the field count is checked), not validated.
 * A UTF-8 byte-order mark is data here: the caller strips the one that starts a file.
 * The scan runs with the GIL released, in one pass over the bytes: fields end at the first
 * delimiter or '\n', found 8 bytes at a time. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCANBUF_TYPE_NAME "_csvscan.Buffer"
#include "scanbuf.h"

enum { K_I8, K_I16, K_I32, K_I64, K_STR, K_COUNT };

static const int widths[K_COUNT] = {1, 2, 4, 8, 4};
static const uint64_t limits[K_COUNT] = {127, 32767, 2147483647, INT64_MAX, 0};

#define MAX_FIELDS 100000

typedef struct {
    int kind;
    int64_t present;   /* non-null values */
    uint8_t *valid;    /* validity bitmap */
    uint8_t *values;   /* fixed-width values, or int32 string offsets */
    char *sdata;       /* string bytes (room for the whole block) */
    size_t slen;
} Col;

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Bytes of v equal to the byte repeated in pat: the lowest flagged byte is exact (higher ones
 * may be flagged falsely, and only the lowest is used). */
static inline uint64_t eq8(uint64_t v, uint64_t pat) {
    uint64_t x = v ^ pat;
    return (x - ONES) & ~x & HIGHS;
}

/* The index of the first flagged byte of a nonzero mask (in memory order). */
static inline int first_byte(uint64_t m) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_ctzll(m) >> 3;
#else
    return __builtin_clzll(m) >> 3;
#endif
}

/* The end of the field at p: the first delimiter or '\n', or end. */
static inline const unsigned char *field_end(const unsigned char *p, const unsigned char *end,
                                             unsigned char delim, uint64_t dpat) {
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t m = eq8(v, dpat) | eq8(v, ONES * '\n');
        if (m) return p + first_byte(m);
        p += 8;
    }
    while (p < end && *p != delim && *p != '\n') p++;
    return p;
}

/* The end of the string field at p, its multi-byte characters validated; NULL to decline. */
static inline const unsigned char *text_end(const unsigned char *p, const unsigned char *end,
                                            unsigned char delim, uint64_t dpat) {
    for (;;) {
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            uint64_t m = eq8(v, dpat) | eq8(v, ONES * '\n') | (v & HIGHS);
            if (m) {
                p += first_byte(m);
                break;
            }
            p += 8;
        }
        while (p < end && *p < 0x80 && *p != delim && *p != '\n') p++;
        if (p >= end || *p < 0x80) return p;  /* the delimiter, '\n' or the end */
        int k = utf8_len(p, end);
        if (!k) return NULL;
        p += k;
    }
}

static void free_cols(Col *cols, int nc) {
    for (int j = 0; j < nc; j++) {
        free(cols[j].valid);
        free(cols[j].values);
        free(cols[j].sdata);
    }
}

/* The rows of base[0:len] into cols (slot[k]: the column of field k, or -1). Returns the
 * number of rows, or -1 to decline. */
static int64_t scan_lines(const unsigned char *base, size_t len, int nf, const int *slot,
                          Col *cols, unsigned char delim, int64_t cap) {
    const unsigned char *p = base, *end = base + len;
    uint64_t dpat = ONES * delim;
    int64_t i = 0;
    while (p < end) {
        if (*p == '\n') {  /* an empty line */
            p++;
            continue;
        }
        if (i >= cap) return -1;  /* cannot happen: cap bounds the rows of len bytes */
        for (int k = 0; k < nf; k++) {
            int j = slot[k];
            if (j < 0) {
                p = field_end(p, end, delim, dpat);
            } else if (cols[j].kind == K_STR) {
                Col *c = &cols[j];
                const unsigned char *s = p;
                p = text_end(p, end, delim, dpat);
                if (p == NULL) return -1;
                memcpy(c->sdata + c->slen, s, (size_t)(p - s));
                c->slen += (size_t)(p - s);
                ((int32_t *)c->values)[i + 1] = (int32_t)c->slen;
            } else {
                Col *c = &cols[j];
                int neg = p < end && *p == '-';
                p += neg;
                const unsigned char *digits = p;
                while (p < end && *p == '0') p++;  /* leading zeros: Arrow takes them */
                const unsigned char *sig = p;
                uint64_t mag = 0;
                while (p < end && (unsigned)(*p - '0') < 10u) {
                    if (p - sig >= 19) return -1;  /* beyond int64 */
                    mag = mag * 10 + (uint64_t)(*p - '0');
                    p++;
                }
                int64_t v = 0;
                if (p == digits) {
                    if (neg) return -1;  /* "-" alone */
                    /* empty: NULL (anything else in the field fails the separator check) */
                } else {
                    if (mag > limits[c->kind] + (uint64_t)neg) return -1;
                    v = neg ? (int64_t)(UINT64_C(0) - mag) : (int64_t)mag;
                    set_bit(c->valid, i);
                    c->present++;
                }
                switch (c->kind) {
                case K_I8: ((int8_t *)c->values)[i] = (int8_t)v; break;
                case K_I16: ((int16_t *)c->values)[i] = (int16_t)v; break;
                case K_I32: ((int32_t *)c->values)[i] = (int32_t)v; break;
                default: ((int64_t *)c->values)[i] = v; break;
                }
            }
            if (k + 1 < nf) {
                if (p >= end || *p != delim) return -1;  /* too few fields, or junk */
                p++;
            } else if (p < end) {
                if (*p != '\n') return -1;  /* too many fields, or junk */
                p++;
            }
        }
        i++;
    }
    return i;
}

/* The (null_count, validity, values, string_data) tuple of a scanned column; takes its
 * memory. */
static PyObject *col_result(Col *c, int64_t n) {
    int64_t nulls = c->kind == K_STR ? 0 : n - c->present;
    PyObject *valid, *values, *sdata;
    if (nulls) {
        valid = buf_new(c->valid, (Py_ssize_t)((n + 7) / 8));
    } else {
        free(c->valid);
        valid = Py_None;
        Py_INCREF(valid);
    }
    c->valid = NULL;
    Py_ssize_t vlen = (Py_ssize_t)((c->kind == K_STR ? n + 1 : n) * widths[c->kind]);
    void *shrunk = realloc(c->values, vlen ? (size_t)vlen : 1);
    values = buf_new(shrunk ? shrunk : c->values, vlen);
    c->values = NULL;
    if (c->kind == K_STR) {
        shrunk = realloc(c->sdata, c->slen ? c->slen : 1);
        sdata = buf_new(shrunk ? shrunk : c->sdata, (Py_ssize_t)c->slen);
        c->sdata = NULL;
    } else {
        sdata = Py_None;
        Py_INCREF(sdata);
    }
    return column_tuple(nulls, valid, values, sdata);
}

static PyObject *scan(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t length;
    int nf, delim, quote;
    PyObject *fields_obj;
    if (!PyArg_ParseTuple(args, "y*niiiO", &data, &length, &nf, &delim, &quote, &fields_obj))
        return NULL;
    PyObject *result = NULL, *seq = NULL, *list = NULL;
    Col *cols = NULL;
    int *slot = NULL;
    int nc = 0;
    if (length < 0 || length > data.len) {
        PyErr_SetString(PyExc_ValueError, "length outside the data buffer");
        goto done;
    }
    if (nf < 1 || nf > MAX_FIELDS) {
        PyErr_SetString(PyExc_ValueError, "field count out of range");
        goto done;
    }
    if (delim < 0 || delim > 255 || delim == '\n' || delim == '\r' || delim == quote ||
        quote < -1 || quote > 255 || quote == '\n' || quote == '\r') {
        PyErr_SetString(PyExc_ValueError, "unsupported delimiter or quote character");
        goto done;
    }
    seq = PySequence_Tuple(fields_obj);
    if (seq == NULL) goto done;
    Py_ssize_t ncs = PyTuple_GET_SIZE(seq);
    if (ncs > nf) {
        PyErr_SetString(PyExc_ValueError, "more wanted fields than fields");
        goto done;
    }
    nc = (int)ncs;
    cols = calloc((size_t)nc + 1, sizeof(Col));
    slot = malloc(sizeof(int) * (size_t)nf);
    if (cols == NULL || slot == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int k = 0; k < nf; k++) slot[k] = -1;
    /* every row but the last takes at least nf bytes (nf - 1 delimiters and '\n'), the last
     * at least one byte */
    int64_t cap = (int64_t)length / nf + 1;
    size_t bitmap = (size_t)(cap + 7) / 8;
    int strings = 0;
    for (int j = 0; j < nc; j++) {
        int position, kind;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(seq, j), "ii", &position, &kind)) goto done;
        if (position < 0 || position >= nf || slot[position] >= 0) {
            PyErr_SetString(PyExc_ValueError, "wanted field positions must be distinct and < nfields");
            goto done;
        }
        if (kind < 0 || kind >= K_COUNT) {
            PyErr_SetString(PyExc_ValueError, "unknown field kind");
            goto done;
        }
        slot[position] = j;
        Col *c = &cols[j];
        c->kind = kind;
        c->valid = calloc(bitmap + 1, 1);
        if (kind == K_STR) {
            strings = 1;
            c->values = calloc((size_t)cap + 1, 4);
            c->sdata = malloc((size_t)length + 1);
        } else {
            c->values = malloc((size_t)cap * (size_t)widths[kind] + 1);
        }
        if (c->valid == NULL || c->values == NULL || (kind == K_STR && c->sdata == NULL)) {
            PyErr_NoMemory();
            goto done;
        }
    }

    int64_t n = -1;
    const unsigned char *base = data.buf;
    int bad = strings && length > INT32_MAX;  /* string offsets are int32 */
    Py_BEGIN_ALLOW_THREADS
    if (!bad && quote >= 0 && memchr(base, quote, (size_t)length) != NULL) bad = 1;
    if (!bad && memchr(base, '\r', (size_t)length) != NULL) bad = 1;
    if (!bad) n = scan_lines(base, (size_t)length, nf, slot, cols, (unsigned char)delim, cap);
    Py_END_ALLOW_THREADS
    if (n < 0) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }

    list = PyList_New(nc);
    if (list == NULL) goto done;
    for (int j = 0; j < nc; j++) {
        PyObject *t = col_result(&cols[j], n);
        if (t == NULL) goto done;
        PyList_SET_ITEM(list, j, t);
    }
    result = Py_BuildValue("(LO)", (long long)n, list);

done:
    Py_XDECREF(list);
    if (cols) free_cols(cols, nc);
    free(cols);
    free(slot);
    Py_XDECREF(seq);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(data, length, nfields, delimiter, quote, fields) -> (n, list) | None "
     "(see the module source)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_csvscan",
                                    "Scanner of unquoted CSV lines into Arrow buffers "
                                    "(connectors/formats/csv_scan.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__csvscan(void) {
    if (PyType_Ready(&BufType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "INT8", K_I8) < 0 || PyModule_AddIntConstant(m, "INT16", K_I16) < 0 ||
        PyModule_AddIntConstant(m, "INT32", K_I32) < 0 || PyModule_AddIntConstant(m, "INT64", K_I64) < 0 ||
        PyModule_AddIntConstant(m, "STRING", K_STR) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
