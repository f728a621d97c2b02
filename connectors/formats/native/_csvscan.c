/* connectors.formats.native._csvscan: a scanner of unquoted CSV lines into Arrow column
 * buffers (the streaming filesystem source's CSV fast path; Python side:
 * connectors/formats/csv_scan.py).
 *
 * scan(data, length, nfields, delimiter, quote, fields, outputs) -> (n, list) | None
 *   data       buffer: complete lines (a last line without '\n' counts), of which the first
 *              length bytes are read
 *   nfields    the number of fields every line holds
 *   delimiter  the field delimiter (a byte value other than '\n', '\r' and quote)
 *   quote      the quote character's byte value, or -1 when quoting is off
 *   fields     sequence of (position, kind): the wanted fields (0-based positions, distinct,
 *              any order), kinds K_* below
 *   outputs    per wanted field, (validity, values, string_data): writable buffers the caller
 *              allocates (from Arrow's memory pool, so the pages are reused block after
 *              block) for cap = rows_bound(length, nfields) rows: validity (cap + 7) / 8
 *              bytes, values cap * width (int32 string offsets: (cap + 1) * 4), string_data
 *              length bytes (None for an integer field)
 * Returns n, the number of rows (empty lines are skipped, as Arrow's ignore_empty_lines
 * does), and per wanted field (null_count, string_bytes); the outputs then hold the columns
 * in Arrow's layout: the first n values (or n + 1 offsets and string_bytes bytes), the
 * validity bits of n rows.
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
 * The scan runs with the GIL released, in one pass over the bytes: the separators of each
 * 64-byte chunk are found as bit masks (SSE2 on x86-64, a byte loop elsewhere), and each
 * wanted field is converted as its separator comes. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    char *sdata;       /* string bytes */
    size_t slen;
} Col;

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* The bit masks of one 64-byte chunk: bit j is byte j's. */
typedef struct {
    uint64_t seps;  /* delimiter or '\n' */
    uint64_t nls;   /* '\n' */
    uint64_t bad;   /* the quote character or '\r' */
} Masks;

#if defined(__SSE2__)
#include <emmintrin.h>

static inline uint64_t eq_mask(const __m128i v[4], __m128i c) {
    uint64_t m0 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[0], c));
    uint64_t m1 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[1], c));
    uint64_t m2 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[2], c));
    uint64_t m3 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[3], c));
    return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
}

static inline __attribute__((always_inline)) Masks chunk_masks(const unsigned char *p, unsigned char delim, unsigned char quote) {
    __m128i v[4] = {_mm_loadu_si128((const __m128i *)p), _mm_loadu_si128((const __m128i *)(p + 16)),
                    _mm_loadu_si128((const __m128i *)(p + 32)), _mm_loadu_si128((const __m128i *)(p + 48))};
    Masks m;
    m.nls = eq_mask(v, _mm_set1_epi8('\n'));
    m.seps = m.nls | eq_mask(v, _mm_set1_epi8((char)delim));
    m.bad = eq_mask(v, _mm_set1_epi8((char)quote)) | eq_mask(v, _mm_set1_epi8('\r'));
    return m;
}
#else
static inline __attribute__((always_inline)) Masks chunk_masks(const unsigned char *p, unsigned char delim, unsigned char quote) {
    Masks m = {0, 0, 0};
    for (int j = 0; j < 64; j++) {
        uint64_t bit = UINT64_C(1) << j;
        if (p[j] == '\n') m.nls |= bit;
        if (p[j] == '\n' || p[j] == delim) m.seps |= bit;
        if (p[j] == quote || p[j] == '\r') m.bad |= bit;
    }
    return m;
}
#endif

/* Whether s[0:len] is valid UTF-8 (ASCII words skipped 8 bytes at a time). */
static inline int valid_utf8(const unsigned char *s, size_t len) {
    const unsigned char *p = s, *end = s + len;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (v & HIGHS) break;
        p += 8;
    }
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int k = utf8_len(p, end);
        if (!k) return 0;
        p += k;
    }
    return 1;
}

/* Field s[0:len] into row i of c; 0 to decline. */
static inline __attribute__((always_inline)) int put_field(Col *c, const unsigned char *s, size_t len, int64_t i) {
    if (c->kind == K_STR) {
        if (!valid_utf8(s, len)) return 0;
        memcpy(c->sdata + c->slen, s, len);
        c->slen += len;
        ((int32_t *)c->values)[i + 1] = (int32_t)c->slen;
        return 1;
    }
    const unsigned char *p = s, *end = s + len;
    int64_t v = 0;
    if (len) {
        int neg = *p == '-';
        p += neg;
        if (p == end) return 0;  /* "-" alone */
        while (p < end && *p == '0') p++;  /* leading zeros: Arrow takes them */
        if (end - p > 19) return 0;  /* beyond int64 */
        uint64_t mag = 0;
        for (; p < end; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (d > 9) return 0;  /* not a digit: blanks, '+', '.', 'x' ... */
            mag = mag * 10 + d;
        }
        if (mag > limits[c->kind] + (uint64_t)neg) return 0;
        v = neg ? (int64_t)(UINT64_C(0) - mag) : (int64_t)mag;
        set_bit(c->valid, i);
        c->present++;
    }  /* else empty: NULL */
    switch (c->kind) {
    case K_I8: ((int8_t *)c->values)[i] = (int8_t)v; break;
    case K_I16: ((int16_t *)c->values)[i] = (int16_t)v; break;
    case K_I32: ((int32_t *)c->values)[i] = (int32_t)v; break;
    default: ((int64_t *)c->values)[i] = v; break;
    }
    return 1;
}

/* At most this many rows in len bytes of lines of nf fields: every row but the last takes at
 * least nf bytes (nf - 1 delimiters and '\n'), the last at least one byte. */
static int64_t rows_bound(Py_ssize_t len, int nf) { return (int64_t)len / nf + 1; }

/* The rows of base[0:len] into cols (slot[k]: the column of field k, or -1); quote is a byte
 * that declines the block (the quote character, or '\r' when quoting is off). Returns the
 * number of rows, or -1 to decline. The separators (delimiters and newlines) of each 64-byte
 * chunk are found as a bit mask, and the fields taken from one separator to the next. */
static int64_t scan_lines(const unsigned char *base, size_t len, int nf, const int *slot,
                          Col *cols, unsigned char delim, unsigned char quote, int64_t cap) {
    int64_t i = 0;    /* the row */
    int k = 0;        /* its field */
    size_t start = 0; /* the field's first byte */
    unsigned char tail[64];
    for (size_t off = 0; off < len; off += 64) {
        Masks m;
        if (len - off >= 64) {
            m = chunk_masks(base + off, delim, quote);
        } else {
            size_t rest = len - off;
            memset(tail, 0, sizeof tail);
            memcpy(tail, base + off, rest);
            m = chunk_masks(tail, delim, quote);
            uint64_t keep = (UINT64_C(1) << rest) - 1;
            m.seps &= keep;
            m.nls &= keep;
            m.bad &= keep;
        }
        if (m.bad) return -1;
        for (uint64_t seps = m.seps; seps; seps &= seps - 1) {
            int j = __builtin_ctzll(seps);
            size_t e = off + (size_t)j;
            if ((m.nls >> j) & 1) {
                if (k == 0 && e == start) {  /* an empty line */
                    start = e + 1;
                    continue;
                }
                if (k != nf - 1) return -1;  /* too few fields */
            } else if (k == nf - 1) {
                return -1;  /* too many fields */
            }
            if (k == 0 && i >= cap) return -1;  /* cannot happen: cap bounds the rows */
            int c = slot[k];
            if (c >= 0 && !put_field(&cols[c], base + start, e - start, i)) return -1;
            start = e + 1;
            if (k == nf - 1) {
                k = 0;
                i++;
            } else {
                k++;
            }
        }
    }
    if (start < len || k > 0) {  /* a last line without '\n' */
        if (k != nf - 1 || (k == 0 && i >= cap)) return -1;
        int c = slot[k];
        if (c >= 0 && !put_field(&cols[c], base + start, len - start, i)) return -1;
        i++;
    }
    return i;
}

/* The writable buffer obj into view, of at least need bytes; 0 with an exception set. */
static int out_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t need) {
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE) < 0) return 0;
    if (view->len < need) {
        PyBuffer_Release(view);
        view->obj = NULL;
        PyErr_SetString(PyExc_ValueError, "an output buffer is too small");
        return 0;
    }
    return 1;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t length;
    int nf, delim, quote;
    PyObject *fields_obj, *outs_obj;
    if (!PyArg_ParseTuple(args, "y*niiiOO", &data, &length, &nf, &delim, &quote, &fields_obj,
                          &outs_obj))
        return NULL;
    PyObject *result = NULL, *seq = NULL, *outs = NULL, *list = NULL;
    Col *cols = NULL;
    Py_buffer *views = NULL;  /* 3 per column: validity, values, string data */
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
    outs = seq ? PySequence_Tuple(outs_obj) : NULL;
    if (outs == NULL) goto done;
    Py_ssize_t ncs = PyTuple_GET_SIZE(seq);
    if (ncs > nf || PyTuple_GET_SIZE(outs) != ncs) {
        PyErr_SetString(PyExc_ValueError, "more wanted fields than fields, or not one output each");
        goto done;
    }
    nc = (int)ncs;
    cols = calloc((size_t)nc + 1, sizeof(Col));
    views = calloc((size_t)nc * 3 + 1, sizeof(Py_buffer));
    slot = malloc(sizeof(int) * (size_t)nf);
    if (cols == NULL || views == NULL || slot == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int k = 0; k < nf; k++) slot[k] = -1;
    int64_t cap = rows_bound(length, nf);
    for (int j = 0; j < nc; j++) {
        int position, kind;
        PyObject *valid, *values, *sdata;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(seq, j), "ii", &position, &kind) ||
            !PyArg_ParseTuple(PyTuple_GET_ITEM(outs, j), "OOO", &valid, &values, &sdata))
            goto done;
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
        Py_buffer *v = &views[3 * j];
        if (!out_buffer(valid, &v[0], (Py_ssize_t)((cap + 7) / 8))) goto done;
        c->valid = v[0].buf;
        if (kind == K_STR) {
            if (!out_buffer(values, &v[1], (Py_ssize_t)((cap + 1) * 4)) ||
                !out_buffer(sdata, &v[2], length))
                goto done;
            c->sdata = v[2].buf;
        } else if (!out_buffer(values, &v[1], (Py_ssize_t)(cap * widths[kind]))) {
            goto done;
        }
        c->values = v[1].buf;
    }

    int64_t n = -1;
    const unsigned char *base = data.buf;
    int bad = length > INT32_MAX;  /* string offsets are int32 */
    Py_BEGIN_ALLOW_THREADS
    for (int j = 0; j < nc; j++) {
        memset(cols[j].valid, 0, (size_t)((cap + 7) / 8));
        if (cols[j].kind == K_STR) ((int32_t *)cols[j].values)[0] = 0;
    }
    if (!bad)
        n = scan_lines(base, (size_t)length, nf, slot, cols, (unsigned char)delim,
                       (unsigned char)(quote >= 0 ? quote : '\r'), cap);
    Py_END_ALLOW_THREADS
    if (n < 0) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    list = PyList_New(nc);
    if (list == NULL) goto done;
    for (int j = 0; j < nc; j++) {
        Col *c = &cols[j];
        PyObject *t = Py_BuildValue("(Ln)", (long long)(c->kind == K_STR ? 0 : n - c->present),
                                    (Py_ssize_t)c->slen);
        if (t == NULL) goto done;
        PyList_SET_ITEM(list, j, t);
    }
    result = Py_BuildValue("(LO)", (long long)n, list);

done:
    Py_XDECREF(list);
    if (views) {
        for (int j = 0; j < nc * 3; j++)
            if (views[j].obj) PyBuffer_Release(&views[j]);
    }
    free(views);
    free(cols);
    free(slot);
    Py_XDECREF(outs);
    Py_XDECREF(seq);
    PyBuffer_Release(&data);
    return result;
}

static PyObject *py_rows_bound(PyObject *self, PyObject *args) {
    Py_ssize_t length;
    int nf;
    if (!PyArg_ParseTuple(args, "ni", &length, &nf)) return NULL;
    if (length < 0 || nf < 1) {
        PyErr_SetString(PyExc_ValueError, "length >= 0 and nfields >= 1");
        return NULL;
    }
    return PyLong_FromLongLong((long long)rows_bound(length, nf));
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(data, length, nfields, delimiter, quote, fields, outputs) -> (n, list) | None "
     "(see the module source)."},
    {"rows_bound", py_rows_bound, METH_VARARGS,
     "rows_bound(length, nfields) -> int: at most this many rows in length bytes."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_csvscan",
                                    "Scanner of unquoted CSV lines into Arrow buffers "
                                    "(connectors/formats/csv_scan.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__csvscan(void) {
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
