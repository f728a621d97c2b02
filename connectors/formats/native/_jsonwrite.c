/* connectors.formats.native._jsonwrite: one JSON object text per row of Arrow columns, in one
 * C pass (the Kafka sink's json fast path; Python side: connectors/kafka/encode.py,
 * ``_json_native``).
 *
 * write(n, prefixes, columns) -> (offsets: bytes, data: bytes, size: int) | None
 *   n         the number of rows
 *   prefixes  sequence of len(columns) + 1 bytes: the text before each column's value
 *             ('{"a":', ',"b":', ...) and the text that ends each row ('}')
 *   columns   sequence of (kind, param, offset, validity, values, str_data):
 *             kind K_* below; param the DECIMAL scale (1..6) or the TIMESTAMP's units per
 *             second (1, 1000, 1000000); offset the Arrow array offset; validity a buffer
 *             (bit-packed) or None for no NULLs; values the values buffer (int32 offsets for
 *             strings); str_data the string bytes (None otherwise). Any buffer-protocol object.
 * Returns the Arrow binary layout: n + 1 int32 offsets and the bytes, of which the first size
 * are the text (data is allocated at an upper bound of the text's size and not shrunk).
 *
 * The text is the one the Arrow-kernel path writes (casts to strings, see encode.py): integers
 * in decimal; true/false; DECIMAL128 as its digits with the point before the last `scale`
 * (trailing zeros kept, "0." before a magnitude under 1, '-' for negatives); TIMESTAMP as
 * "YYYY-MM-DD HH:MM:SS" plus '.' and the fraction digits of its unit with trailing zeros and a
 * bare '.' trimmed, in quotes; strings in quotes as is; NULL as null.
 * None means "not handled", and the caller takes the Arrow-kernel path: a valid string holds
 * '"', '\\', a byte under 0x20 or 0x7f (needs escaping); a valid timestamp is outside years
 * 1..9999; or the text would exceed 2^31-1 bytes (int32 offsets).
 * The pass runs with the GIL released, into memory sized up front from per-kind maxima. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { K_I8, K_I16, K_I32, K_I64, K_BOOL, K_DEC128, K_TS, K_STR, K_COUNT };

#define MAX_COLS 4096
/* Short copies (prefixes, digits) are fixed-size memcpy's, which compile to a few moves
 * (a call to libc's memcpy per value cost more than the copy): they may write up to SLACK
 * bytes past the text, so the output is allocated SLACK bytes larger, and their sources are
 * padded to that size. */
#define SLACK 64
#define PAD 32
#define YEAR_1 (-62135596800LL)     /* 0001-01-01 00:00:00 in seconds since the epoch */
#define YEAR_10000 (253402300800LL) /* 10000-01-01 00:00:00 */

typedef struct {
    int kind;
    long long param;
    Py_ssize_t offset;
    const uint8_t *validity;
    const uint8_t *values;
    const int32_t *str_offsets;
    const uint8_t *str_data;
    const char *prefix;
    Py_ssize_t prefix_len;
    char pad[PAD]; /* the prefix, when shorter than PAD, zero-padded */
} Col;

/* Short copies (prefixes, digits) are fixed-size memcpy's, which compile to a few moves
 * (a call to libc's memcpy per value cost more than the copy): they may write up to SLACK
 * bytes past the text, so the output is allocated SLACK bytes larger, and their sources are
 * padded to that size. */

/* Writes v's decimal digits ending just before end; returns the first digit's address. */
static char *u64_digits(uint64_t v, char *end) {
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static char *put_i64(char *p, int64_t v) {
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) *p++ = '-';
    int digits = 1;
    for (uint64_t t = mag; t >= 10; t /= 10) digits++;
    u64_digits(mag, p + digits);
    return p + digits;
}

/* DECIMAL128 (little-endian two's complement) with 1 <= scale <= 6: at most 39 digits, a
 * '-', a '.' (and the zeros padding to scale + 1 digits fit within that). */
static char *put_dec128(char *p, const uint8_t *raw, int scale) {
    uint64_t lo, hi;
    memcpy(&lo, raw, 8);
    memcpy(&hi, raw + 8, 8);
    unsigned __int128 v = ((unsigned __int128)hi << 64) | lo;
    int neg = (int64_t)hi < 0;
    if (neg) v = (unsigned __int128)0 - v;
    /* the digits end SLACK bytes before tmp's end, so that fixed-size copies stay inside */
    char tmp[48 + SLACK];
    char *end = tmp + 48, *s = end;
    /* 64-bit divisions while the magnitude allows (prices and the like): the 128-bit ones
     * are library calls */
    while (v >> 64) {
        *--s = (char)('0' + (int)(v % 10));
        v /= 10;
    }
    s = u64_digits((uint64_t)v, s);
    while (end - s < scale + 1) *--s = '0';
    if (neg) *p++ = '-';
    size_t whole = (size_t)(end - s) - (size_t)scale;
    memcpy(p, s, 40); /* (whole <= 39; the output has SLACK spare bytes) */
    p += whole;
    *p++ = '.';
    memcpy(p, s + whole, 8);
    return p + scale;
}

static char *put2(char *p, unsigned v) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Days since 1970-01-01 -> proleptic Gregorian year, month, day. Shifts the year to start on
 * March 1st (the leap day is then the last day of a year) and counts in 400-year eras of
 * 146097 days; within an era, the year follows from the day by removing the leap days of every
 * 4th, 100th (not) and 400th year, and the month from the day of that March-based year by the
 * 153-days-per-5-months pattern. */
static void civil(int64_t days, int64_t *year, unsigned *month, unsigned *day) {
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                               /* 0..146096 */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;      /* 0..399 */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                    /* 0..365 */
    unsigned mp = (5 * doy + 2) / 153;                                         /* 0 = March */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2);
}

/* A tz-naive timestamp in its unit (per_s per second), years 1..9999 checked by the caller. */
static inline char *put_ts(char *p, int64_t v, int64_t per_s) {
    /* (per_s is one of three constants: dividing by each literal lets the compiler multiply) */
    int64_t secs = per_s == 1 ? v : per_s == 1000 ? v / 1000 : v / 1000000;
    int64_t frac = v - secs * per_s;
    if (frac < 0) {
        frac += per_s;
        secs -= 1;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int64_t year;
    unsigned month, day;
    civil(days, &year, &month, &day);
    *p++ = '"';
    p = put2(p, (unsigned)(year / 100));
    p = put2(p, (unsigned)(year % 100));
    *p++ = '-';
    p = put2(p, month);
    *p++ = '-';
    p = put2(p, day);
    *p++ = ' ';
    p = put2(p, (unsigned)(sod / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(sod % 60));
    if (frac) {
        int digits = per_s == 1000 ? 3 : 6;
        char f[8];
        for (int i = digits - 1; i >= 0; i--) {
            f[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        while (f[digits - 1] == '0') digits--;
        *p++ = '.';
        memcpy(p, f, 8);
        p += digits;
    }
    *p++ = '"';
    return p;
}

static inline int valid(const Col *c, Py_ssize_t i) {
    Py_ssize_t j = c->offset + i;
    return c->validity == NULL || ((c->validity[j >> 3] >> (j & 7)) & 1);
}

static int needs_escape(const uint8_t *s, Py_ssize_t len) {
    for (Py_ssize_t i = 0; i < len; i++) {
        uint8_t b = s[i];
        if (b < 0x20 || b == '"' || b == '\\' || b == 0x7f) return 1;
    }
    return 0;
}

/* Checks the rows the text cannot be written for; 1 when one is found. */
static int declines(const Col *c, Py_ssize_t n) {
    if (c->kind == K_TS) {
        const int64_t *v = (const int64_t *)c->values + c->offset;
        int64_t lo = YEAR_1 * c->param, hi = YEAR_10000 * c->param;
        for (Py_ssize_t i = 0; i < n; i++)
            if (valid(c, i) && (v[i] < lo || v[i] >= hi)) return 1;
    } else if (c->kind == K_STR) {
        const int32_t *o = c->str_offsets + c->offset;
        for (Py_ssize_t i = 0; i < n; i++)
            if (valid(c, i) && needs_escape(c->str_data + o[i], (Py_ssize_t)o[i + 1] - o[i])) return 1;
    }
    return 0;
}

static char *put_value(char *p, const Col *c, Py_ssize_t i) {
    Py_ssize_t j = c->offset + i;
    if (!valid(c, i)) {
        memcpy(p, "null", 4);
        return p + 4;
    }
    switch (c->kind) {
    case K_I8: return put_i64(p, ((const int8_t *)c->values)[j]);
    case K_I16: return put_i64(p, ((const int16_t *)c->values)[j]);
    case K_I32: return put_i64(p, ((const int32_t *)c->values)[j]);
    case K_I64: return put_i64(p, ((const int64_t *)c->values)[j]);
    case K_BOOL:
        if ((c->values[j >> 3] >> (j & 7)) & 1) {
            memcpy(p, "true", 4);
            return p + 4;
        }
        memcpy(p, "false", 5);
        return p + 5;
    case K_DEC128: return put_dec128(p, c->values + 16 * j, (int)c->param);
    case K_TS: return put_ts(p, ((const int64_t *)c->values)[j], c->param);
    default: { /* K_STR */
        int32_t a = c->str_offsets[j], b = c->str_offsets[j + 1];
        *p++ = '"';
        memcpy(p, c->str_data + a, (size_t)(b - a));
        p += b - a;
        *p++ = '"';
        return p;
    }
    }
}

static const Py_ssize_t VALUE_MAX[K_COUNT] = {4, 6, 11, 20, 5, 41, 28, 0};
static const Py_ssize_t VALUE_WIDTH[K_COUNT] = {1, 2, 4, 8, 0, 16, 8, 4};

/* Acquires views[k] for obj (None -> NULL pointer); checks that it holds at least need bytes. */
static int get_buf(PyObject *obj, Py_buffer *view, int *held, const uint8_t **ptr, Py_ssize_t need,
                   const char *what) {
    *ptr = NULL;
    if (obj == Py_None) {
        if (need > 0 && strcmp(what, "validity") != 0) {
            PyErr_Format(PyExc_ValueError, "_jsonwrite: missing %s buffer", what);
            return -1;
        }
        return 0;
    }
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) return -1;
    *held = 1;
    if (view->len < need) {
        PyErr_Format(PyExc_ValueError, "_jsonwrite: %s buffer of %zd bytes, need %zd", what, view->len,
                     need);
        return -1;
    }
    *ptr = (const uint8_t *)view->buf;
    return 0;
}

static PyObject *jw_write(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *prefixes_obj, *columns_obj;
    if (!PyArg_ParseTuple(args, "nOO", &n, &prefixes_obj, &columns_obj)) return NULL;
    PyObject *prefixes = PySequence_Fast(prefixes_obj, "prefixes must be a sequence");
    if (prefixes == NULL) return NULL;
    PyObject *columns = PySequence_Fast(columns_obj, "columns must be a sequence");
    if (columns == NULL) {
        Py_DECREF(prefixes);
        return NULL;
    }
    Py_ssize_t ncols = PySequence_Fast_GET_SIZE(columns);
    PyObject *result = NULL, *offsets_obj = NULL, *data_obj = NULL;
    Col *cols = NULL;
    Py_buffer *views = NULL;
    int *held = NULL;
    if (n < 0 || ncols < 1 || ncols > MAX_COLS || PySequence_Fast_GET_SIZE(prefixes) != ncols + 1) {
        PyErr_SetString(PyExc_ValueError, "_jsonwrite: bad row count, columns or prefixes");
        goto done;
    }
    cols = PyMem_Calloc((size_t)ncols, sizeof(Col));
    views = PyMem_Calloc((size_t)ncols * 3, sizeof(Py_buffer));
    held = PyMem_Calloc((size_t)ncols * 3, sizeof(int));
    if (cols == NULL || views == NULL || held == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* bytes per row outside the values: every prefix and the row's end */
    Py_ssize_t fixed = 0;
    for (Py_ssize_t k = 0; k <= ncols; k++) {
        PyObject *b = PySequence_Fast_GET_ITEM(prefixes, k);
        if (!PyBytes_Check(b)) {
            PyErr_SetString(PyExc_TypeError, "_jsonwrite: prefixes must be bytes");
            goto done;
        }
        fixed += PyBytes_GET_SIZE(b);
        if (k < ncols) {
            cols[k].prefix = PyBytes_AS_STRING(b);
            cols[k].prefix_len = PyBytes_GET_SIZE(b);
            if (cols[k].prefix_len < PAD) memcpy(cols[k].pad, cols[k].prefix, (size_t)cols[k].prefix_len);
        }
    }
    const char *suffix = PyBytes_AS_STRING(PySequence_Fast_GET_ITEM(prefixes, ncols));
    Py_ssize_t suffix_len = PyBytes_GET_SIZE(PySequence_Fast_GET_ITEM(prefixes, ncols));
    char suffix_pad[PAD] = {0};
    if (suffix_len < PAD) memcpy(suffix_pad, suffix, (size_t)suffix_len);
    /* the most bytes the text can take: a double keeps it exact far beyond int32 */
    double bound = (double)fixed * (double)n;
    for (Py_ssize_t k = 0; k < ncols; k++) {
        Col *c = &cols[k];
        PyObject *validity, *values, *str_data;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(columns, k), "iLnOOO;_jsonwrite: a column is "
                              "(kind, param, offset, validity, values, str_data)",
                              &c->kind, &c->param, &c->offset, &validity, &values, &str_data))
            goto done;
        int ok_param = c->kind == K_DEC128 ? (c->param >= 1 && c->param <= 6)
                     : c->kind == K_TS ? (c->param == 1 || c->param == 1000 || c->param == 1000000) : 1;
        if (c->kind < 0 || c->kind >= K_COUNT || !ok_param || c->offset < 0) {
            PyErr_SetString(PyExc_ValueError, "_jsonwrite: bad column kind, parameter or offset");
            goto done;
        }
        Py_ssize_t end = c->offset + n;
        Py_ssize_t need = c->kind == K_BOOL ? (end + 7) / 8 : VALUE_WIDTH[c->kind] * (end + (c->kind == K_STR));
        if (get_buf(validity, &views[3 * k], &held[3 * k], &c->validity, n ? (end + 7) / 8 : 0, "validity") < 0 ||
            get_buf(values, &views[3 * k + 1], &held[3 * k + 1], &c->values, need, "values") < 0)
            goto done;
        double most = (double)VALUE_MAX[c->kind];
        if (c->kind == K_STR) {
            c->str_offsets = (const int32_t *)c->values;
            int32_t first = c->str_offsets[c->offset], last = c->str_offsets[end];
            if (first < 0 || last < first) {
                PyErr_SetString(PyExc_ValueError, "_jsonwrite: bad string offsets");
                goto done;
            }
            for (Py_ssize_t i = c->offset; i < end; i++)
                if (c->str_offsets[i + 1] < c->str_offsets[i]) {
                    PyErr_SetString(PyExc_ValueError, "_jsonwrite: bad string offsets");
                    goto done;
                }
            if (get_buf(str_data, &views[3 * k + 2], &held[3 * k + 2], &c->str_data, last, "string data") < 0)
                goto done;
            bound += (double)(last - first);
            most = 2;
        }
        bound += (most > 4 ? most : 4) * (double)n;
    }
    if (bound > (double)INT32_MAX) {
        result = Py_None; /* int32 offsets cannot frame it: not handled */
        Py_INCREF(result);
        goto done;
    }
    offsets_obj = PyBytes_FromStringAndSize(NULL, (n + 1) * 4);
    data_obj = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)bound + SLACK);
    if (offsets_obj == NULL || data_obj == NULL) goto done;
    int32_t *offsets = (int32_t *)PyBytes_AS_STRING(offsets_obj);
    char *data = PyBytes_AS_STRING(data_obj);
    int declined = 0;
    Py_ssize_t total = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < ncols && !declined; k++) declined = declines(&cols[k], n);
    if (!declined) {
        char *p = data;
        offsets[0] = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            for (Py_ssize_t k = 0; k < ncols; k++) {
                const Col *c = &cols[k];
                if (c->prefix_len < PAD)
                    memcpy(p, c->pad, PAD);
                else
                    memcpy(p, c->prefix, (size_t)c->prefix_len);
                p = put_value(p + c->prefix_len, c, i);
            }
            if (suffix_len < PAD)
                memcpy(p, suffix_pad, PAD);
            else
                memcpy(p, suffix, (size_t)suffix_len);
            p += suffix_len;
            offsets[i + 1] = (int32_t)(p - data);
        }
        total = p - data;
    }
    Py_END_ALLOW_THREADS
    if (declined) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    /* (not shrunk to total: shrinking a large block copied it; the caller slices) */
    PyObject *total_obj = PyLong_FromSsize_t(total);
    if (total_obj == NULL) goto done;
    result = PyTuple_Pack(3, offsets_obj, data_obj, total_obj);
    Py_DECREF(total_obj);
done:
    Py_XDECREF(offsets_obj);
    Py_XDECREF(data_obj);
    if (views != NULL && held != NULL)
        for (Py_ssize_t k = 0; k < 3 * ncols; k++)
            if (held[k]) PyBuffer_Release(&views[k]);
    PyMem_Free(cols);
    PyMem_Free(views);
    PyMem_Free(held);
    Py_DECREF(prefixes);
    Py_DECREF(columns);
    return result;
}

static PyMethodDef methods[] = {
    {"write", jw_write, METH_VARARGS,
     "write(n, prefixes, columns) -> (offsets, data) | None: one JSON object text per row "
     "(see the module's source for the contract)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_jsonwrite",
                                    "One JSON object text per row of Arrow columns (C).", -1, methods};

PyMODINIT_FUNC PyInit__jsonwrite(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    const char *names[K_COUNT] = {"INT8", "INT16", "INT32", "INT64", "BOOL", "DECIMAL128", "TIMESTAMP", "STRING"};
    for (int k = 0; k < K_COUNT; k++)
        if (PyModule_AddIntConstant(m, names[k], k) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    return m;
}
