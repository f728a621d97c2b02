/* connectors.formats.native._jsonscan: a schema-directed scanner of flat JSON object records
 * into Arrow column buffers (the JSON fast path; Python side: connectors/formats/json_scan.py).
 *
 * scan(data, offsets, width, start, n, fields) -> list | None
 *   data     buffer: the records' bytes
 *   offsets  buffer of int32 (width 4) or int64 (width 8) offsets, Arrow binary/string layout:
 *            record i is data[offsets[start+i] : offsets[start+i+1]]; or None (width 0): the n
 *            records are data joined by single '\n' (one more '\n' may end the last)
 *   fields   sequence of (name: bytes, kind: int), kinds K_* below
 * Returns, per field, (null_count, validity, values, string_data): Buffer objects (buffer
 * protocol, malloc'd, freed with the object) in Arrow's layout for int8..int64 / float32 /
 * float64 (values), bool (bit-packed values), string (int32 offsets in values, bytes in
 * string_data); validity is None when the column has no NULL.
 *
 * None means "not handled": some record is outside what this scanner converts exactly as
 * both the Arrow reader path (connectors/formats/json_format.decode_joined_json) and the
 * DuckDB query (decode_json_lines) do, and the caller takes those paths. It declines whenever: a record is not one JSON object (blank,
 * array, trailing bytes other than ' ', '\t', '\r'), holds a '\n', is invalid JSON or invalid
 * UTF-8, uses NaN/Infinity, holds a number whose exponent exceeds 300 in magnitude or that has
 * more than 300 digits, a key with an escape, a wanted key twice, a value of the wrong JSON
 * type for its column (a number for a string, "1" for a number, 1.0 or 1e2 for an integer,
 * 1 for a bool), an integer out of its column's range, a float that overflows, underflows to
 * zero or is subnormal in its column's width, "\u0000", a lone surrogate, nesting deeper than
 * 64, more than 2^31-1 bytes of one string column, "-0" in a float column (Arrow reads -0.0,
 * DuckDB 0), or a float32 value within one double ulp of a float32 rounding midpoint (Arrow
 * rounds the text once, DuckDB via double). Missing fields and JSON null are NULL; other keys'
 * values are validated and skipped. Floats are correctly rounded (Clinger's exact fast path,
 * else strtod_l in the C locale), as Arrow's fast_float conversion is.
 * The scan runs with the GIL released. Each key is first compared with the wanted name the
 * previous record had at the same position (records of a topic or file mostly share one key
 * order), then with every wanted name. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCANBUF_TYPE_NAME "_jsonscan.Buffer"
#include "scanbuf.h"

enum { K_I8, K_I16, K_I32, K_I64, K_F32, K_F64, K_BOOL, K_STR, K_COUNT };

#define MAX_DEPTH 64
#define MAX_EXP 300
#define MAX_DIGITS 300

/* ---- scanner state ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    Py_ssize_t len;
    int kind;
    int plain_name;    /* the name holds no '"', '\\' or control byte (so matching bytes
                          followed by '"' are a valid key) */
    uint64_t word, mask;  /* the name's first 8 bytes (zero padded), and which are used */
    int64_t seen;      /* last record that held this key */
    int64_t present;   /* non-null values */
    uint8_t *valid;    /* validity bitmap */
    uint8_t *values;   /* fixed-width values, bool bitmap, or int32 string offsets */
    char *sdata;       /* string bytes */
    size_t slen, scap;
} Field;

typedef struct {
    const unsigned char *p, *end;  /* the record's unread bytes */
} Cursor;

static locale_t c_locale;

static const double pow10d[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline void skip_ws(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

static inline int hexval(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static inline int hex4(const unsigned char *p, const unsigned char *end, unsigned *out) {
    if (end - p < 4) return 0;
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);
    if ((a | b | c | d) < 0) return 0;
    *out = (unsigned)((a << 12) | (b << 8) | (c << 4) | d);
    return 1;
}

/* 1: plain byte of a string (printable ASCII other than '"' and '\\'). */
static unsigned char plain[256];

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Nonzero when one of the 8 bytes of v is not plain (a control byte, '"', '\\' or >= 0x80);
 * bytes after the first such byte may be flagged falsely, which only ends the run early. */
static inline uint64_t not_plain8(uint64_t v) {
    uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((v - ONES * 0x20) & ~v) | v) & HIGHS;
}

/* The end of the run of plain bytes at p. */
static inline const unsigned char *plain_run(const unsigned char *p, const unsigned char *end) {
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (not_plain8(v)) break;
        p += 8;
    }
    while (p < end && plain[*p]) p++;
    return p;
}

/* A JSON string at c->p (just after the opening quote): validated, and when out != NULL its
 * decoded bytes appended there (room for end - p bytes is ensured by the caller). Returns the
 * number of bytes written (or of raw bytes when out == NULL), or -1 to decline. With
 * no_escape, a backslash declines (keys). */
static Py_ssize_t scan_string(Cursor *c, char *out, int no_escape) {
    const unsigned char *p = c->p, *end = c->end;
    char *o = out;
    for (;;) {
        const unsigned char *run = p;
        p = plain_run(p, end);
        if (out && p > run) {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
        }
        if (p >= end) return -1;
        unsigned char ch = *p;
        if (ch == '"') {
            c->p = p + 1;
            return out ? (Py_ssize_t)(o - out) : 0;
        }
        if (ch >= 0x80) {
            int k = utf8_len(p, end);
            if (!k) return -1;
            if (out) {
                memcpy(o, p, (size_t)k);
                o += k;
            }
            p += k;
            continue;
        }
        if (ch != '\\' || no_escape) return -1;  /* control character, or an escaped key */
        if (end - p < 2) return -1;
        unsigned char e = p[1];
        p += 2;
        char lit;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': {
            unsigned u;
            if (!hex4(p, end, &u)) return -1;
            p += 4;
            if (u == 0) return -1;  /* U+0000: the paths disagree about it */
            if (u >= 0xDC00 && u <= 0xDFFF) return -1;  /* lone low surrogate */
            uint32_t cp = u;
            if (u >= 0xD800 && u <= 0xDBFF) {
                unsigned lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, end, &lo)) return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return -1;
                p += 6;
                cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (out) {
                if (cp < 0x80) {
                    *o++ = (char)cp;
                } else if (cp < 0x800) {
                    *o++ = (char)(0xC0 | (cp >> 6));
                    *o++ = (char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    *o++ = (char)(0xE0 | (cp >> 12));
                    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                    *o++ = (char)(0x80 | (cp & 0x3F));
                } else {
                    *o++ = (char)(0xF0 | (cp >> 18));
                    *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                    *o++ = (char)(0x80 | (cp & 0x3F));
                }
            }
            continue;
        }
        default: return -1;
        }
        if (out) *o++ = lit;
    }
}

/* A JSON number's text, parsed by the grammar
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
typedef struct {
    const unsigned char *start, *stop;
    int neg, is_int, inexact;  /* inexact: a nonzero digit beyond the 19 kept in mant */
    uint64_t mant;             /* the significant digits (at most 19) */
    int mant_digits;           /* digits in mant, leading zeros not counted */
    long e10;                  /* value = mant * 10^e10 (when !inexact) */
    int nonzero;
} Num;

static int scan_number(Cursor *c, Num *num) {
    const unsigned char *p = c->p, *end = c->end;
    memset(num, 0, sizeof *num);
    num->start = p;
    num->is_int = 1;
    if (p < end && *p == '-') {
        num->neg = 1;
        p++;
    }
    if (p >= end) return 0;
    int digits = 0;
    if (*p == '0') {
        p++;
        digits = 1;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            unsigned d = *p++ - '0';
            digits++;
            if (num->mant_digits < 19) {
                num->mant = num->mant * 10 + d;
                num->mant_digits++;
            } else {
                num->e10++;
                if (d) num->inexact = 1;
            }
        }
        num->nonzero = 1;
    } else {
        return 0;
    }
    if (p < end && *p == '.') {
        num->is_int = 0;
        p++;
        const unsigned char *f = p;
        while (p < end && *p >= '0' && *p <= '9') {
            unsigned d = *p++ - '0';
            digits++;
            if (d) num->nonzero = 1;
            if (num->mant == 0 && d == 0) {
                num->e10--;  /* leading zeros of the significand */
            } else if (num->mant_digits < 19) {
                num->mant = num->mant * 10 + d;
                num->mant_digits++;
                num->e10--;
            } else if (d) {
                num->inexact = 1;
            }
        }
        if (p == f) return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        num->is_int = 0;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        const unsigned char *f = p;
        long ev = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (ev <= MAX_EXP) ev = ev * 10 + (*p - '0');
            p++;
        }
        if (p == f) return 0;
        if (ev > MAX_EXP) return 0;  /* Arrow's parser refuses some of these: decline all */
        num->e10 += eneg ? -ev : ev;
    }
    if (digits > MAX_DIGITS) return 0;
    num->stop = p;
    c->p = p;
    return 1;
}

static inline uint64_t int_limit(int kind) {
    switch (kind) {
    case K_I8: return 127;
    case K_I16: return 32767;
    case K_I32: return 2147483647;
    default: return INT64_MAX;
    }
}

/* The common integer: -?[1-9][0-9]{0,17} or 0, ending where a number ends. Returns 0, with
 * the cursor unmoved, for anything else (then the general number path decides). */
static inline int scan_int(Cursor *c, int kind, int64_t *out) {
    const unsigned char *p = c->p, *end = c->end;
    int neg = p < end && *p == '-';
    p += neg;
    const unsigned char *first = p;
    uint64_t mag = 0;
    while (p < end && *p >= '0' && *p <= '9' && p - first < 18) mag = mag * 10 + (*p++ - '0');
    if (p == first || (*first == '0' && p - first > 1)) return 0;
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E')) return 0;
    if (mag > int_limit(kind) + neg) return 0;
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    c->p = p;
    return 1;
}

static int num_to_int(const Num *num, int kind, int64_t *out) {
    if (!num->is_int || num->inexact || num->e10 != 0) return 0;
    uint64_t mag = num->mant;  /* at most 19 digits: below 2^64 */
    uint64_t limit;
    switch (kind) {
    case K_I8: limit = 127; break;
    case K_I16: limit = 32767; break;
    case K_I32: limit = 2147483647; break;
    default: limit = INT64_MAX; break;
    }
    if (num->neg) {
        if (mag > limit + 1) return 0;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > limit) return 0;
        *out = (int64_t)mag;
    }
    return 1;
}

static int num_to_double(const Num *num, double *out) {
    double d;
    if (num->mant == 0 && !num->nonzero) {
        if (num->neg && num->is_int) return 0;  /* "-0": Arrow reads -0.0, DuckDB 0.0 */
        d = 0.0;
    } else if (!num->inexact && num->mant <= (UINT64_C(1) << 53) && num->e10 >= -22 &&
               num->e10 <= 22) {
        d = (double)num->mant;  /* Clinger: exact operands, one correctly rounded operation */
        d = num->e10 >= 0 ? d * pow10d[num->e10] : d / pow10d[-num->e10];
    } else {
        char tmp[MAX_DIGITS + 32];
        size_t len = (size_t)(num->stop - num->start);
        if (len >= sizeof tmp) return 0;
        memcpy(tmp, num->start, len);
        tmp[len] = 0;
        d = fabs(strtod_l(tmp, NULL, c_locale));
        if (!isfinite(d) || d < DBL_MIN) return 0;  /* overflow, underflow, subnormal */
    }
    *out = num->neg ? -d : d;
    return 1;
}

/* Arrow rounds the text to float32 once; the DuckDB path may round it to double first (and
 * print and re-read that). They agree unless the double lies within one double ulp of a
 * float32 rounding boundary (a midpoint): then decline. */
static int num_to_float(const Num *num, float *out) {
    double d;
    if (!num_to_double(num, &d)) return 0;
    double a = fabs(d);
    if (a == 0.0) {
        *out = (float)d;
        return 1;
    }
    float f = (float)a;
    if (!isfinite(f) || f < FLT_MIN) return 0;
    double lo = ((double)f + (double)nextafterf(f, 0.0f)) / 2;
    double hi = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
    double below = nextafter(a, 0.0), above = nextafter(a, INFINITY);
    if ((lo >= below && lo <= above) || (hi >= below && hi <= above)) return 0;
    *out = d < 0 ? -f : f;
    return 1;
}

static inline int scan_literal(Cursor *c, const char *lit, size_t len) {
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, lit, len) != 0) return 0;
    c->p += len;
    return 1;
}

/* Validate and skip any JSON value. */
static int skip_value(Cursor *c, int depth) {
    if (c->p >= c->end) return 0;
    unsigned char ch = *c->p;
    Num num;
    switch (ch) {
    case '"':
        c->p++;
        return scan_string(c, NULL, 0) >= 0;
    case 't': return scan_literal(c, "true", 4);
    case 'f': return scan_literal(c, "false", 5);
    case 'n': return scan_literal(c, "null", 4);
    case '{':
    case '[': {
        if (depth >= MAX_DEPTH) return 0;
        int obj = ch == '{';
        unsigned char close = obj ? '}' : ']';
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 1;
        }
        for (;;) {
            if (obj) {
                if (c->p >= c->end || *c->p != '"') return 0;
                c->p++;
                if (scan_string(c, NULL, 0) < 0) return 0;
                skip_ws(c);
                if (c->p >= c->end || *c->p != ':') return 0;
                c->p++;
                skip_ws(c);
            }
            if (!skip_value(c, depth + 1)) return 0;
            skip_ws(c);
            if (c->p >= c->end) return 0;
            if (*c->p == ',') {
                c->p++;
                skip_ws(c);
                continue;
            }
            if (*c->p == close) {
                c->p++;
                return 1;
            }
            return 0;
        }
    }
    default:
        if (ch == '-' || (ch >= '0' && ch <= '9')) return scan_number(c, &num);
        return 0;
    }
}

static int ensure_room(Field *f, size_t more) {
    if (f->slen + more <= f->scap) return 1;
    size_t cap = f->scap * 2;
    if (cap < f->slen + more) cap = f->slen + more;
    char *q = realloc(f->sdata, cap);
    if (q == NULL) return 0;
    f->sdata = q;
    f->scap = cap;
    return 1;
}

/* A wanted field's value at c->p, into row i. */
static int scan_wanted(Cursor *c, Field *f, int64_t i) {
    if (c->p >= c->end) return 0;
    unsigned char ch = *c->p;
    if (ch == 'n') return scan_literal(c, "null", 4);
    Num num;
    switch (f->kind) {
    case K_STR: {
        if (ch != '"') return 0;
        c->p++;
        const unsigned char *q = plain_run(c->p, c->end);
        if (q < c->end && *q == '"') {  /* no escape, no multi-byte character */
            size_t k = (size_t)(q - c->p);
            if (!ensure_room(f, k)) return 0;
            memcpy(f->sdata + f->slen, c->p, k);
            f->slen += k;
            c->p = q + 1;
            if (f->slen > INT32_MAX) return 0;
            break;
        }
        if (!ensure_room(f, (size_t)(c->end - c->p))) return 0;
        Py_ssize_t k = scan_string(c, f->sdata + f->slen, 0);
        if (k < 0) return 0;
        f->slen += (size_t)k;
        if (f->slen > INT32_MAX) return 0;
        break;
    }
    case K_BOOL:
        if (scan_literal(c, "true", 4)) {
            set_bit(f->values, i);
        } else if (!scan_literal(c, "false", 5)) {
            return 0;
        }
        break;
    case K_F64: {
        double d;
        if (!scan_number(c, &num) || !num_to_double(&num, &d)) return 0;
        ((double *)f->values)[i] = d;
        break;
    }
    case K_F32: {
        float v;
        if (!scan_number(c, &num) || !num_to_float(&num, &v)) return 0;
        ((float *)f->values)[i] = v;
        break;
    }
    default: {
        int64_t v;
        if (!scan_int(c, f->kind, &v) && (!scan_number(c, &num) || !num_to_int(&num, f->kind, &v)))
            return 0;
        switch (f->kind) {
        case K_I8: ((int8_t *)f->values)[i] = (int8_t)v; break;
        case K_I16: ((int16_t *)f->values)[i] = (int16_t)v; break;
        case K_I32: ((int32_t *)f->values)[i] = (int32_t)v; break;
        default: ((int64_t *)f->values)[i] = v; break;
        }
    }
    }
    set_bit(f->valid, i);
    f->present++;
    return 1;
}

/* Whether the bytes at key are f's name followed by '"'. */
static inline int hint_matches(const Field *f, const unsigned char *key, const unsigned char *end) {
    Py_ssize_t len = f->len;
    if (end - key <= len || key[len] != '"') return 0;
    if (len <= 8 && end - key >= 8 && f->mask) {
        uint64_t v;
        memcpy(&v, key, 8);
        return (v & f->mask) == f->word;
    }
    return memcmp(key, f->name, (size_t)len) == 0;
}

/* One record: all of c->p .. c->end. */
static int scan_record(Cursor *c, Field *fields, int nf, int *hint, int nhint, int64_t i) {
    skip_ws(c);
    if (c->p >= c->end || *c->p != '{') return 0;
    c->p++;
    skip_ws(c);
    int k = 0;  /* key position in the record */
    if (c->p < c->end && *c->p == '}') {
        c->p++;
    } else {
        for (;; k++) {
            if (c->p >= c->end || *c->p != '"') return 0;
            c->p++;
            const unsigned char *key = c->p;
            int found = -1;
            Py_ssize_t klen;
            if (k < nhint && hint[k] >= 0 && fields[hint[k]].plain_name &&
                hint_matches(&fields[hint[k]], key, c->end)) {
                /* the key the record at this position had last time */
                found = hint[k];
                klen = fields[found].len;
                c->p = key + klen + 1;
            } else {
                const unsigned char *q = plain_run(c->p, c->end);
                if (q < c->end && *q == '"') {
                    c->p = q + 1;
                } else if (scan_string(c, NULL, 1) < 0) {
                    return 0;
                }
                klen = c->p - 1 - key;
            }
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') return 0;
            c->p++;
            skip_ws(c);
            if (found < 0 && k < nhint) {
                int h = hint[k];
                if (h >= 0 && fields[h].len == klen && memcmp(fields[h].name, key, (size_t)klen) == 0)
                    found = h;
            }
            if (found < 0) {
                for (int j = 0; j < nf; j++) {
                    if (fields[j].len == klen && memcmp(fields[j].name, key, (size_t)klen) == 0) {
                        found = j;
                        break;
                    }
                }
                if (k < nhint) hint[k] = found;
            }
            if (found >= 0) {
                Field *f = &fields[found];
                if (f->seen == i) return 0;  /* duplicate key */
                f->seen = i;
                if (!scan_wanted(c, f, i)) return 0;
            } else if (!skip_value(c, 1)) {
                return 0;
            }
            skip_ws(c);
            if (c->p >= c->end) return 0;
            if (*c->p == ',') {
                c->p++;
                skip_ws(c);
                continue;
            }
            if (*c->p == '}') {
                c->p++;
                break;
            }
            return 0;
        }
    }
    skip_ws(c);
    for (int j = 0; j < nf; j++) {
        if (fields[j].kind == K_STR) ((int32_t *)fields[j].values)[i + 1] = (int32_t)fields[j].slen;
    }
    return c->p == c->end;
}

static void free_fields(Field *fields, int nf) {
    for (int j = 0; j < nf; j++) {
        free(fields[j].valid);
        free(fields[j].values);
        free(fields[j].sdata);
    }
}

static const int widths[K_COUNT] = {1, 2, 4, 8, 4, 8, 0, 0};

static PyObject *scan(PyObject *self, PyObject *args) {
    Py_buffer data, offs = {0};
    PyObject *offsets_obj, *fields_obj;
    int width;
    Py_ssize_t start, n;
    if (!PyArg_ParseTuple(args, "y*OinnO", &data, &offsets_obj, &width, &start, &n, &fields_obj))
        return NULL;
    PyObject *result = NULL, *seq = NULL;
    Field *fields = NULL;
    int *hint = NULL;
    int nf = 0, have_offs = 0;
    if (offsets_obj != Py_None) {
        if (PyObject_GetBuffer(offsets_obj, &offs, PyBUF_SIMPLE) < 0) goto done;
        have_offs = 1;
        if ((width != 4 && width != 8) || start < 0 || n < 0 ||
            (start + n + 1) * width > offs.len) {
            PyErr_SetString(PyExc_ValueError, "offsets do not cover the records");
            goto done;
        }
    } else if (width != 0 || n < 0) {
        PyErr_SetString(PyExc_ValueError, "joined records take width 0");
        goto done;
    }
    seq = PySequence_Tuple(fields_obj);  /* holds the names while the GIL is released */
    if (seq == NULL) goto done;
    Py_ssize_t nfs = PyTuple_GET_SIZE(seq);
    if (nfs > 4096) {
        PyErr_SetString(PyExc_ValueError, "too many fields");
        goto done;
    }
    nf = (int)nfs;
    fields = calloc((size_t)nf + 1, sizeof(Field));
    hint = malloc(sizeof(int) * 64);
    if (fields == NULL || hint == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int k = 0; k < 64; k++) hint[k] = -1;
    size_t bitmap = (size_t)(n + 7) / 8 + 1;
    for (int j = 0; j < nf; j++) {
        PyObject *item = PyTuple_GET_ITEM(seq, j);
        const char *name;
        Py_ssize_t len;
        int kind;
        if (!PyArg_ParseTuple(item, "y#i", &name, &len, &kind)) goto done;
        if (kind < 0 || kind >= K_COUNT) {
            PyErr_SetString(PyExc_ValueError, "unknown field kind");
            goto done;
        }
        Field *f = &fields[j];
        f->name = name;  /* borrowed from the bytes object, held by seq */
        f->len = len;
        f->kind = kind;
        f->seen = -1;
        f->plain_name = 1;
        for (Py_ssize_t b = 0; b < len;) {
            const unsigned char *u = (const unsigned char *)name + b;
            int step = *u >= 0x80 ? utf8_len(u, (const unsigned char *)name + len) : plain[*u];
            if (!step) {
                f->plain_name = 0;
                break;
            }
            b += step;
        }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (len <= 8) {
            memcpy(&f->word, name, (size_t)len);  /* calloc'd: the rest stays zero */
            f->mask = len == 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * len)) - 1;
        }
#endif
        f->valid = calloc(bitmap, 1);
        if (kind == K_BOOL) {
            f->values = calloc(bitmap, 1);
        } else if (kind == K_STR) {
            f->values = calloc((size_t)n + 1, 4);
            f->scap = (size_t)n * 16 + 64;
            f->sdata = malloc(f->scap);
        } else {
            f->values = calloc((size_t)n + 1, (size_t)widths[kind]);
        }
        if (f->valid == NULL || f->values == NULL || (kind == K_STR && f->sdata == NULL)) {
            PyErr_NoMemory();
            goto done;
        }
    }

    int ok = 1;
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *base = data.buf;
    Cursor c;
    if (have_offs) {
        for (Py_ssize_t i = 0; i < n && ok; i++) {
            int64_t a, b;
            if (width == 4) {
                a = ((const int32_t *)offs.buf)[start + i];
                b = ((const int32_t *)offs.buf)[start + i + 1];
            } else {
                a = ((const int64_t *)offs.buf)[start + i];
                b = ((const int64_t *)offs.buf)[start + i + 1];
            }
            if (a < 0 || b < a || b > data.len) {
                ok = -1;
                break;
            }
            c.p = base + a;
            c.end = base + b;
            ok = scan_record(&c, fields, nf, hint, 64, i);
        }
    } else {
        const unsigned char *p = base, *end = base + data.len;
        for (Py_ssize_t i = 0; i < n && ok; i++) {
            const unsigned char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
            if (nl == NULL && i < n - 1) {  /* fewer records than n */
                ok = 0;
                break;
            }
            c.p = p;
            c.end = nl ? nl : end;
            ok = scan_record(&c, fields, nf, hint, 64, i);
            p = nl ? nl + 1 : end;
        }
        if (ok == 1 && p != end) ok = 0;  /* more records than n */
    }
    Py_END_ALLOW_THREADS
    if (ok == -1) {
        PyErr_SetString(PyExc_ValueError, "offsets out of the data buffer");
        goto done;
    }
    if (!ok) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }

    result = PyList_New(nf);
    if (result == NULL) goto done;
    for (int j = 0; j < nf; j++) {
        Field *f = &fields[j];
        int64_t nulls = n - f->present;
        PyObject *valid, *values, *sdata;
        if (nulls) {
            valid = buf_new(f->valid, (Py_ssize_t)bitmap);
        } else {
            free(f->valid);
            valid = Py_None;
            Py_INCREF(valid);
        }
        f->valid = NULL;
        Py_ssize_t vlen = f->kind == K_BOOL ? (Py_ssize_t)bitmap
                          : f->kind == K_STR ? (n + 1) * 4 : n * widths[f->kind];
        values = buf_new(f->values, vlen);
        f->values = NULL;
        if (f->kind == K_STR) {
            char *s = f->slen ? realloc(f->sdata, f->slen) : NULL;
            if (s == NULL) {
                s = f->sdata;  /* shrinking failed or nothing written: keep the block */
            }
            sdata = buf_new(s, (Py_ssize_t)f->slen);
            f->sdata = NULL;
        } else {
            sdata = Py_None;
            Py_INCREF(sdata);
        }
        PyObject *t = column_tuple(nulls, valid, values, sdata);
        if (t == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, j, t);
    }

done:
    if (fields) free_fields(fields, nf);
    free(fields);
    free(hint);
    Py_XDECREF(seq);
    if (have_offs) PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(data, offsets, width, start, n, fields) -> list | None (see the module source)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_jsonscan",
                                    "Schema-directed scanner of flat JSON records into Arrow "
                                    "buffers (connectors/formats/json_scan.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__jsonscan(void) {
    for (int ch = 0x20; ch < 0x80; ch++) plain[ch] = ch != '"' && ch != '\\';
    if (c_locale == (locale_t)0) {
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (c_locale == (locale_t)0) return PyErr_NoMemory();
    }
    if (PyType_Ready(&BufType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "INT8", K_I8) < 0 || PyModule_AddIntConstant(m, "INT16", K_I16) < 0 ||
        PyModule_AddIntConstant(m, "INT32", K_I32) < 0 || PyModule_AddIntConstant(m, "INT64", K_I64) < 0 ||
        PyModule_AddIntConstant(m, "FLOAT32", K_F32) < 0 ||
        PyModule_AddIntConstant(m, "FLOAT64", K_F64) < 0 ||
        PyModule_AddIntConstant(m, "BOOL", K_BOOL) < 0 || PyModule_AddIntConstant(m, "STRING", K_STR) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
