/* connectors.kafka.native._producer: a librdkafka producer that takes Arrow arrays.
 *
 * Contract (what exists today):
 * - bind(path) binds librdkafka (rdkafka_api.h) and returns its version string; call it once
 *   before creating a Producer (connectors.kafka.native.module does).
 * - Producer(config: dict[str, str], log=None): a librdkafka producer from client
 *   properties (values are str()'d; an unknown/invalid property or a failing rd_kafka_new
 *   raises ValueError with librdkafka's message). ``log(level, facility, message)`` (syslog
 *   levels) receives librdkafka's log lines; they are queued by librdkafka (log.queue) and
 *   delivered from poll()/flush()/produce() on the calling thread, never from librdkafka's own
 *   threads. Without ``log``, librdkafka prints to stderr.
 * - produce(topic, values, keys=None, partitions=None, timestamps=None) -> int: enqueues one
 *   message per element of ``values`` in a C loop with the GIL released, and returns the
 *   count when all are queued. Arrays come through the Arrow PyCapsule interface
 *   (``__arrow_c_array__``: pa.Array and friends; zero copy, slices honoured):
 *     values, keys: binary / large_binary / string / large_string (or null type): NULL value
 *                   = tombstone, NULL key = no key, an empty one is an empty (non-NULL) field;
 *     partitions:   an int for all messages, or an int32 array; -1 or NULL = librdkafka's
 *                   partitioner (RD_KAFKA_PARTITION_UA);
 *     timestamps:   int64 array of epoch ms; 0 or NULL = the producer's time.
 *   Without timestamps, chunks of 512 go through rd_kafka_produce_batch (one clock read and
 *   topic lock per chunk), else each message through rd_kafka_producev. librdkafka copies
 *   every payload (RD_KAFKA_MSG_F_COPY): Python owns the buffers. A full queue (QUEUE_FULL)
 *   is waited out by polling (2 ms steps, serving delivery reports) and retried from the
 *   first message not queued (order kept): backpressure; pending Python signals are checked
 *   about once a second of waiting and raise (the messages before are queued). A message
 *   refused for another reason (e.g. MSG_SIZE_TOO_LARGE, UNKNOWN_PARTITION) is skipped, the
 *   others are queued, and the call then raises Error(message, code, index) for the first
 *   refused one.
 *   Order: as librdkafka keeps it per partition, except that messages with an explicit
 *   partition queued before the client knew the topic's partitions may be reordered (seen
 *   in tests); call partition_count(topic) first, as the kafka writer does.
 * - Delivery reports are handled in C (no Python per message): a failed delivery is counted
 *   and the first one kept (code, name, reason, topic, partition): failures(), first_error().
 *   Set delivery.report.only.error=true so that delivered messages are not reported at all.
 * - queue_full_ms(): how long produce() waited for room so far (backpressure), in ms.
 * - poll(timeout_ms=0) -> events served; flush(timeout_ms) -> messages still queued or in
 *   flight (0: all acknowledged or failed); len(producer): messages queued or in flight.
 *   All release the GIL while librdkafka waits.
 * - partition_count(topic, timeout_ms) -> int (the broker's metadata); raises Error with the
 *   broker's code (e.g. 3 UNKNOWN_TOPIC_OR_PART, -185 _TIMED_OUT).
 * - close(): purges what was not delivered (the caller flushes first when it must not lose
 *   anything), destroys the handle (GIL released); idempotent, and done by dealloc too. A
 *   close while another thread is inside produce/poll/flush raises RuntimeError.
 * Concurrency: methods may be called from several Python threads; delivery-report state is
 * guarded by a mutex (delivery reports run on whichever thread polls).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <string.h>

#include "rdkafka_api.h"

/* librdkafka constants (rdkafka.h) this module uses */
enum {
    VT_END = 0, VT_TOPIC = 1, VT_RKT = 2, VT_PARTITION = 3, VT_VALUE = 4, VT_KEY = 5,
    VT_OPAQUE = 6, VT_MSGFLAGS = 7, VT_TIMESTAMP = 8
};
#define MSG_F_COPY 0x2
#define PARTITION_UA ((int32_t)-1)
#define PURGE_F_QUEUE 0x1
#define PURGE_F_INFLIGHT 0x2
#define PURGE_F_NON_BLOCKING 0x4
#define QUEUE_FULL_WAIT_MS 2
#define PRODUCE_CHUNK 512
#define MSG_F_PARTITION 0x8

/* rd_kafka_metadata_t and its topic / partition entries (rdkafka.h, stable since 0.9) */
struct md_partition {
    int32_t id;
    rd_kafka_resp_err_t err;
    int32_t leader;
    int replica_cnt;
    int32_t *replicas;
    int isr_cnt;
    int32_t *isrs;
};
struct md_topic {
    char *topic;
    int partition_cnt;
    struct md_partition *partitions;
    rd_kafka_resp_err_t err;
};
struct md {
    int broker_cnt;
    void *brokers;
    int topic_cnt;
    struct md_topic *topics;
    int32_t orig_broker_id;
    char *orig_broker_name;
};

/* ---- Arrow C data interface (the Arrow specification's ABI, declared from the spec) ---- */
struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};
struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

enum col_kind { COL_ABSENT = 0, COL_NULL, COL_BIN32, COL_BIN64, COL_I32, COL_I64 };

/* one imported column; the capsules own the exported data until col_release */
typedef struct {
    PyObject *capsules; /* the (schema, array) tuple of __arrow_c_array__ */
    int kind;
    int64_t length, offset;
    const uint8_t *validity; /* NULL: no NULLs */
    const void *offsets;     /* binary: int32 / int64 offsets */
    const uint8_t *data;     /* binary: bytes; ints: values */
} col_t;

static void col_release(col_t *c) {
    Py_CLEAR(c->capsules);
}

static inline int col_valid(const col_t *c, int64_t i) {
    if (c->validity == NULL) return 1;
    int64_t j = c->offset + i;
    return (c->validity[j >> 3] >> (j & 7)) & 1;
}

/* binary element i: pointer (NULL: a NULL element) and length */
static inline const uint8_t *col_bytes(const col_t *c, int64_t i, size_t *len) {
    static const uint8_t empty[1] = {0};
    if (c->kind == COL_ABSENT || c->kind == COL_NULL || !col_valid(c, i)) {
        *len = 0;
        return NULL;
    }
    int64_t j = c->offset + i, start, end;
    if (c->kind == COL_BIN32) {
        start = ((const int32_t *)c->offsets)[j];
        end = ((const int32_t *)c->offsets)[j + 1];
    } else {
        start = ((const int64_t *)c->offsets)[j];
        end = ((const int64_t *)c->offsets)[j + 1];
    }
    *len = (size_t)(end - start);
    if (*len == 0 || c->data == NULL) return empty; /* empty, not NULL */
    return c->data + start;
}

/* Import ``obj`` (anything with __arrow_c_array__) into ``c``; ``what`` names the argument in
 * errors; ``binary`` selects the accepted types. Returns 0, or -1 with an exception set. */
static int col_import(PyObject *obj, col_t *c, const char *what, int binary, int int_kind) {
    memset(c, 0, sizeof *c);
    PyObject *caps = PyObject_CallMethod(obj, "__arrow_c_array__", NULL);
    if (caps == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Format(PyExc_TypeError, "%s: expected an Arrow array (__arrow_c_array__), got %s",
                         what, Py_TYPE(obj)->tp_name);
        }
        return -1;
    }
    if (!PyTuple_Check(caps) || PyTuple_GET_SIZE(caps) != 2) {
        Py_DECREF(caps);
        PyErr_Format(PyExc_TypeError, "%s: __arrow_c_array__ did not return (schema, array)", what);
        return -1;
    }
    c->capsules = caps;
    struct ArrowSchema *schema = PyCapsule_GetPointer(PyTuple_GET_ITEM(caps, 0), "arrow_schema");
    struct ArrowArray *array = schema == NULL ? NULL
        : PyCapsule_GetPointer(PyTuple_GET_ITEM(caps, 1), "arrow_array");
    if (array == NULL) goto fail;
    const char *f = schema->format;
    if (strcmp(f, "n") == 0) c->kind = COL_NULL;
    else if (binary && (strcmp(f, "z") == 0 || strcmp(f, "u") == 0)) c->kind = COL_BIN32;
    else if (binary && (strcmp(f, "Z") == 0 || strcmp(f, "U") == 0)) c->kind = COL_BIN64;
    else if (!binary && int_kind == COL_I32 && strcmp(f, "i") == 0) c->kind = COL_I32;
    else if (!binary && int_kind == COL_I64 && strcmp(f, "l") == 0) c->kind = COL_I64;
    else {
        PyErr_Format(PyExc_TypeError, "%s: unsupported Arrow type (format '%s'; expected %s)",
                     what, f, binary ? "binary, large_binary, string or large_string"
                                     : (int_kind == COL_I32 ? "int32" : "int64"));
        goto fail;
    }
    if (array->dictionary != NULL || array->n_children != 0) {
        PyErr_Format(PyExc_TypeError, "%s: nested or dictionary arrays are not supported", what);
        goto fail;
    }
    c->length = array->length;
    c->offset = array->offset;
    if (c->kind == COL_NULL) return 0;
    c->validity = array->null_count == 0 ? NULL : (const uint8_t *)array->buffers[0];
    if (c->kind == COL_BIN32 || c->kind == COL_BIN64) {
        if (array->n_buffers != 3) goto bad_layout;
        c->offsets = array->buffers[1];
        c->data = (const uint8_t *)array->buffers[2];
        if (c->offsets == NULL && c->length > 0) goto bad_layout;
    } else {
        if (array->n_buffers != 2) goto bad_layout;
        c->data = (const uint8_t *)array->buffers[1];
        if (c->data == NULL && c->length > 0) goto bad_layout;
    }
    return 0;
bad_layout:
    PyErr_Format(PyExc_ValueError, "%s: unexpected Arrow buffer layout", what);
fail:
    col_release(c);
    return -1;
}

/* ---- the Producer type ------------------------------------------------------------------ */

static PyObject *Error; /* _producer.Error(message, code[, index]) */

/* raise Error(librdkafka's message, code[, index of the failed message]) */
static void set_error(rd_kafka_resp_err_t err, int64_t index) {
    PyObject *args = index < 0 ? Py_BuildValue("(si)", rdk.rd_kafka_err2str(err), err)
                               : Py_BuildValue("(siL)", rdk.rd_kafka_err2str(err), err,
                                               (long long)index);
    if (args != NULL) {
        PyErr_SetObject(Error, args);
        Py_DECREF(args);
    }
}

typedef struct {
    PyObject_HEAD
    rd_kafka_t *rk;
    PyObject *log;        /* callable(level, facility, message) or NULL */
    int busy;             /* threads inside a call that released the GIL (guarded by the GIL) */
    int closing;          /* set before destroy: the log callback stays out of Python */
    int64_t queue_full_ms; /* produce() waited this long for room (guarded by the GIL) */
    pthread_mutex_t lock; /* the delivery-report state below */
    int64_t failures;
    rd_kafka_resp_err_t first_err;
    char first_reason[512];
    char first_topic[256];
    int32_t first_partition;
} Producer;

/* delivery report: librdkafka calls it from poll/flush on the polling thread; pure C */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    Producer *self = (Producer *)opaque;
    if (msg->err == RDK_ERR_NO_ERROR) return;
    pthread_mutex_lock(&self->lock);
    if (self->failures++ == 0) {
        self->first_err = msg->err;
        snprintf(self->first_reason, sizeof self->first_reason, "%s", rdk.rd_kafka_err2str(msg->err));
        snprintf(self->first_topic, sizeof self->first_topic, "%s",
                 msg->rkt ? rdk.rd_kafka_topic_name(msg->rkt) : "");
        self->first_partition = msg->partition;
    }
    pthread_mutex_unlock(&self->lock);
}

/* log lines: forwarded to the main queue (log.queue), so this runs inside rd_kafka_poll or
 * rd_kafka_flush on a Python thread that released the GIL */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    Producer *self = (Producer *)rdk.rd_kafka_opaque(rk);
    if (self == NULL || self->closing || self->log == NULL) return;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(self->log, "iss", level, fac, buf);
    if (r == NULL) PyErr_WriteUnraisable(self->log);
    Py_XDECREF(r);
    PyGILState_Release(g);
}

static int Producer_init(Producer *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"config", "log", NULL};
    PyObject *config, *log = Py_None;
    char err[512];
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!|O", kwlist, &PyDict_Type, &config, &log))
        return -1;
    if (!rdk_bound) {
        PyErr_SetString(PyExc_RuntimeError, "_producer.bind(path) was not called");
        return -1;
    }
    if (self->rk != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Producer already initialized");
        return -1;
    }
    if (log != Py_None && !PyCallable_Check(log)) {
        PyErr_SetString(PyExc_TypeError, "log must be callable or None");
        return -1;
    }
    rd_kafka_conf_t *conf = rdk.rd_kafka_conf_new();
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(config, &pos, &key, &value)) {
        PyObject *ks = PyObject_Str(key), *vs = PyObject_Str(value);
        const char *k = ks ? PyUnicode_AsUTF8(ks) : NULL, *v = vs ? PyUnicode_AsUTF8(vs) : NULL;
        if (k == NULL || v == NULL) {
            Py_XDECREF(ks);
            Py_XDECREF(vs);
            rdk.rd_kafka_conf_destroy(conf);
            return -1;
        }
        if (rdk.rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
            PyErr_SetString(PyExc_ValueError, err);
            Py_DECREF(ks);
            Py_DECREF(vs);
            rdk.rd_kafka_conf_destroy(conf);
            return -1;
        }
        Py_DECREF(ks);
        Py_DECREF(vs);
    }
    if (log != Py_None &&
        rdk.rd_kafka_conf_set(conf, "log.queue", "true", err, sizeof err) != RD_KAFKA_CONF_OK) {
        PyErr_SetString(PyExc_ValueError, err);
        rdk.rd_kafka_conf_destroy(conf);
        return -1;
    }
    rdk.rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (log != Py_None) rdk.rd_kafka_conf_set_log_cb(conf, on_log);
    rdk.rd_kafka_conf_set_opaque(conf, self);
    if (log != Py_None) {
        Py_INCREF(log);
        self->log = log;
    }
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) { /* conf is still ours */
        rdk.rd_kafka_conf_destroy(conf);
        PyErr_SetString(PyExc_ValueError, err);
        return -1;
    }
    if (log != Py_None) rdk.rd_kafka_set_log_queue(rk, NULL); /* to the main queue: poll */
    self->rk = rk;
    return 0;
}

static PyObject *Producer_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    Producer *self = (Producer *)type->tp_alloc(type, 0);
    if (self != NULL) pthread_mutex_init(&self->lock, NULL);
    return (PyObject *)self;
}

static void destroy(Producer *self) {
    rd_kafka_t *rk = self->rk;
    if (rk == NULL) return;
    self->rk = NULL;
    self->closing = 1;
    Py_BEGIN_ALLOW_THREADS
    rdk.rd_kafka_purge(rk, PURGE_F_QUEUE | PURGE_F_INFLIGHT | PURGE_F_NON_BLOCKING);
    rdk.rd_kafka_destroy(rk);
    Py_END_ALLOW_THREADS
}

static void Producer_dealloc(Producer *self) {
    destroy(self);
    Py_CLEAR(self->log);
    pthread_mutex_destroy(&self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int open_check(Producer *self) {
    if (self->rk == NULL) {
        PyErr_SetString(PyExc_ValueError, "the producer is closed");
        return -1;
    }
    return 0;
}

static PyObject *Producer_close(Producer *self, PyObject *unused) {
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "close() while another thread uses the producer");
        return NULL;
    }
    destroy(self);
    Py_RETURN_NONE;
}

/* one produce() call's work, done without the GIL */
typedef struct {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const col_t *values, *keys, *parts, *stamps;
    int32_t fixed; /* the partition when ``parts`` is absent */
    int64_t n, i;  /* messages; the next to enqueue */
    rd_kafka_resp_err_t first_err;
    int64_t first_index;
    int64_t waited_ms; /* on a full queue */
} job_t;

static inline int32_t job_partition(const job_t *j, int64_t x) {
    if (j->parts->kind == COL_I32 && col_valid(j->parts, x))
        return ((const int32_t *)j->parts->data)[j->parts->offset + x];
    return j->fixed;
}

static inline void job_refused(job_t *j, rd_kafka_resp_err_t err, int64_t x) {
    if (j->first_err == RDK_ERR_NO_ERROR) {
        j->first_err = err;
        j->first_index = x;
    }
}

/* Enqueue messages j->i.. : without timestamps in chunks of rd_kafka_produce_batch (one clock
 * read and topic lock per chunk, one partition lookup per chunk for a fixed partition), else
 * one rd_kafka_producev each. A message refused for another reason than a full queue is
 * noted (the first one) and skipped. A full queue: poll in short steps (a poll returns early
 * only on an event, and delivered messages make none with delivery.report.only.error) and
 * retry from the first message not queued, so the order is kept. Returns 1 after about a
 * second of waiting (the caller checks Python's signals and calls again), 0 when done. */
static int enqueue(job_t *j) {
    rd_kafka_message_t chunk[PRODUCE_CHUNK];
    int waited_ms = 0;
    const int per_message = j->parts->kind == COL_I32;
    while (j->i < j->n) {
        int full = 0;
        if (j->stamps->kind != COL_I64) {
            int m = (int)(j->n - j->i < PRODUCE_CHUNK ? j->n - j->i : PRODUCE_CHUNK);
            for (int b = 0; b < m; b++) {
                int64_t x = j->i + b;
                size_t vlen, klen;
                rd_kafka_message_t *msg = &chunk[b];
                memset(msg, 0, sizeof *msg);
                msg->payload = (void *)col_bytes(j->values, x, &vlen);
                msg->len = vlen;
                msg->key = (void *)col_bytes(j->keys, x, &klen);
                msg->key_len = klen;
                msg->partition = job_partition(j, x);
            }
            rdk.rd_kafka_produce_batch(j->rkt, per_message ? PARTITION_UA : j->fixed,
                                       MSG_F_COPY | (per_message ? MSG_F_PARTITION : 0), chunk, m);
            int done = m;
            for (int b = 0; b < m; b++) { /* after a QUEUE_FULL, all the rest have it too */
                if (chunk[b].err == RDK_ERR__QUEUE_FULL) {
                    done = b;
                    full = 1;
                    break;
                }
                if (chunk[b].err != RDK_ERR_NO_ERROR) job_refused(j, chunk[b].err, j->i + b);
            }
            j->i += done;
        } else {
            int64_t x = j->i;
            size_t vlen, klen;
            const uint8_t *v = col_bytes(j->values, x, &vlen);
            const uint8_t *k = col_bytes(j->keys, x, &klen);
            int64_t ts = col_valid(j->stamps, x)
                ? ((const int64_t *)j->stamps->data)[j->stamps->offset + x] : 0;
            rd_kafka_resp_err_t err = rdk.rd_kafka_producev(
                j->rk, VT_RKT, j->rkt, VT_PARTITION, job_partition(j, x),
                VT_MSGFLAGS, (int)MSG_F_COPY, VT_VALUE, (void *)v, vlen,
                VT_KEY, (const void *)k, klen, VT_TIMESTAMP, ts, VT_END);
            if (err == RDK_ERR__QUEUE_FULL) {
                full = 1;
            } else {
                if (err != RDK_ERR_NO_ERROR) job_refused(j, err, x);
                j->i++;
            }
        }
        if (full) {
            rdk.rd_kafka_poll(j->rk, QUEUE_FULL_WAIT_MS);
            waited_ms += QUEUE_FULL_WAIT_MS;
            j->waited_ms += QUEUE_FULL_WAIT_MS;
            if (waited_ms >= 1000) return 1;
        }
    }
    return 0;
}

static PyObject *Producer_produce(Producer *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"topic", "values", "keys", "partitions", "timestamps", NULL};
    const char *topic;
    PyObject *values_obj, *keys_obj = Py_None, *parts_obj = Py_None, *ts_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sO|OOO", kwlist, &topic, &values_obj,
                                     &keys_obj, &parts_obj, &ts_obj))
        return NULL;
    if (open_check(self) < 0) return NULL;
    col_t values, keys, parts, stamps;
    memset(&keys, 0, sizeof keys);
    memset(&parts, 0, sizeof parts);
    memset(&stamps, 0, sizeof stamps);
    int32_t fixed = PARTITION_UA;
    if (col_import(values_obj, &values, "values", 1, 0) < 0) return NULL;
    int64_t n = values.length;
    if (keys_obj != Py_None && col_import(keys_obj, &keys, "keys", 1, 0) < 0) goto fail;
    if (PyLong_Check(parts_obj)) {
        long p = PyLong_AsLong(parts_obj);
        if (p == -1 && PyErr_Occurred()) goto fail;
        if (p < -1 || p > INT32_MAX) {
            PyErr_Format(PyExc_ValueError, "partitions: %ld is not a partition", p);
            goto fail;
        }
        fixed = (int32_t)p;
    } else if (parts_obj != Py_None && col_import(parts_obj, &parts, "partitions", 0, COL_I32) < 0) {
        goto fail;
    }
    if (ts_obj != Py_None && col_import(ts_obj, &stamps, "timestamps", 0, COL_I64) < 0) goto fail;
    const col_t *cols[] = {&keys, &parts, &stamps};
    const char *names[] = {"keys", "partitions", "timestamps"};
    for (int c = 0; c < 3; c++) {
        if (cols[c]->kind != COL_ABSENT && cols[c]->length != n) {
            PyErr_Format(PyExc_ValueError, "%s has %lld elements, values %lld", names[c],
                         (long long)cols[c]->length, (long long)n);
            goto fail;
        }
    }
    rd_kafka_topic_t *rkt = rdk.rd_kafka_topic_new(self->rk, topic, NULL);
    if (rkt == NULL) {
        set_error(rdk.rd_kafka_last_error(), -1);
        goto fail;
    }

    job_t job = {self->rk, rkt, &values, &keys, &parts, &stamps, fixed, n, 0, 0, -1, 0};
    int interrupted = 0, stopped;
    self->busy++;
    do {
        Py_BEGIN_ALLOW_THREADS
        stopped = enqueue(&job);
        Py_END_ALLOW_THREADS
        if (stopped && PyErr_CheckSignals() < 0) interrupted = 1;
    } while (stopped && !interrupted);
    self->busy--;
    self->queue_full_ms += job.waited_ms;
    rdk.rd_kafka_topic_destroy(rkt);
    col_release(&values);
    col_release(&keys);
    col_release(&parts);
    col_release(&stamps);
    if (interrupted) return NULL;
    if (job.first_err != RDK_ERR_NO_ERROR) {
        set_error(job.first_err, job.first_index);
        return NULL;
    }
    rdk.rd_kafka_poll(self->rk, 0);
    return PyLong_FromLongLong(n);
fail:
    col_release(&values);
    col_release(&keys);
    col_release(&parts);
    col_release(&stamps);
    return NULL;
}

static PyObject *Producer_poll(Producer *self, PyObject *args) {
    int timeout_ms = 0, served;
    if (!PyArg_ParseTuple(args, "|i", &timeout_ms)) return NULL;
    if (open_check(self) < 0) return NULL;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    served = rdk.rd_kafka_poll(self->rk, timeout_ms);
    Py_END_ALLOW_THREADS
    self->busy--;
    return PyLong_FromLong(served);
}

static PyObject *Producer_flush(Producer *self, PyObject *args) {
    int timeout_ms, left;
    if (!PyArg_ParseTuple(args, "i", &timeout_ms)) return NULL;
    if (open_check(self) < 0) return NULL;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    rdk.rd_kafka_flush(self->rk, timeout_ms);
    left = rdk.rd_kafka_outq_len(self->rk);
    Py_END_ALLOW_THREADS
    self->busy--;
    return PyLong_FromLong(left);
}

static Py_ssize_t Producer_len(Producer *self) {
    return self->rk == NULL ? 0 : rdk.rd_kafka_outq_len(self->rk);
}

static PyObject *Producer_failures(Producer *self, PyObject *unused) {
    pthread_mutex_lock(&self->lock);
    long long n = self->failures;
    pthread_mutex_unlock(&self->lock);
    return PyLong_FromLongLong(n);
}

static PyObject *Producer_queue_full_ms(Producer *self, PyObject *unused) {
    return PyLong_FromLongLong(self->queue_full_ms);
}

static PyObject *Producer_first_error(Producer *self, PyObject *unused) {
    PyObject *r;
    pthread_mutex_lock(&self->lock);
    if (self->failures == 0) {
        pthread_mutex_unlock(&self->lock);
        Py_RETURN_NONE;
    }
    r = Py_BuildValue("(isssi)", self->first_err, rdk.rd_kafka_err2name(self->first_err),
                      self->first_reason, self->first_topic, self->first_partition);
    pthread_mutex_unlock(&self->lock);
    return r;
}

static PyObject *Producer_partition_count(Producer *self, PyObject *args) {
    const char *topic;
    int timeout_ms;
    if (!PyArg_ParseTuple(args, "si", &topic, &timeout_ms)) return NULL;
    if (open_check(self) < 0) return NULL;
    rd_kafka_topic_t *rkt = rdk.rd_kafka_topic_new(self->rk, topic, NULL);
    if (rkt == NULL) {
        set_error(rdk.rd_kafka_last_error(), -1);
        return NULL;
    }
    const struct md *md = NULL;
    rd_kafka_resp_err_t err;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    err = rdk.rd_kafka_metadata(self->rk, 0, rkt, (const void **)&md, timeout_ms);
    Py_END_ALLOW_THREADS
    self->busy--;
    rdk.rd_kafka_topic_destroy(rkt);
    int count = -1;
    if (err == RDK_ERR_NO_ERROR) {
        for (int t = 0; t < md->topic_cnt; t++) {
            if (strcmp(md->topics[t].topic, topic) != 0) continue;
            err = md->topics[t].err;
            count = md->topics[t].partition_cnt;
        }
        rdk.rd_kafka_metadata_destroy(md);
        if (err == RDK_ERR_NO_ERROR && count <= 0) err = 3; /* UNKNOWN_TOPIC_OR_PART */
    }
    if (err != RDK_ERR_NO_ERROR) {
        set_error(err, -1);
        return NULL;
    }
    return PyLong_FromLong(count);
}

static PyMethodDef Producer_methods[] = {
    {"produce", (PyCFunction)(void (*)(void))Producer_produce, METH_VARARGS | METH_KEYWORDS,
     "produce(topic, values, keys=None, partitions=None, timestamps=None) -> int queued"},
    {"poll", (PyCFunction)Producer_poll, METH_VARARGS, "poll(timeout_ms=0) -> events served"},
    {"flush", (PyCFunction)Producer_flush, METH_VARARGS,
     "flush(timeout_ms) -> messages still queued or in flight"},
    {"failures", (PyCFunction)Producer_failures, METH_NOARGS, "failed deliveries so far"},
    {"queue_full_ms", (PyCFunction)Producer_queue_full_ms, METH_NOARGS,
     "milliseconds produce() waited for room in a full queue, so far (backpressure)"},
    {"first_error", (PyCFunction)Producer_first_error, METH_NOARGS,
     "None, or (code, name, reason, topic, partition) of the first failed delivery"},
    {"partition_count", (PyCFunction)Producer_partition_count, METH_VARARGS,
     "partition_count(topic, timeout_ms) -> int"},
    {"close", (PyCFunction)Producer_close, METH_NOARGS, "purge what is queued; destroy"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Producer_as_sequence = {.sq_length = (lenfunc)Producer_len};

static PyTypeObject ProducerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "connectors.kafka.native._producer.Producer",
    .tp_basicsize = sizeof(Producer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A librdkafka producer over Arrow arrays (module docstring).",
    .tp_new = Producer_new,
    .tp_init = (initproc)Producer_init,
    .tp_dealloc = (destructor)Producer_dealloc,
    .tp_methods = Producer_methods,
    .tp_as_sequence = &Producer_as_sequence,
};

static PyMethodDef methods[] = {
    RDK_PY_BIND_METHOD,
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_producer",
    "A librdkafka producer that takes Arrow arrays (see _producer.c for the contract).", -1,
    methods};

PyMODINIT_FUNC PyInit__producer(void) {
    if (PyType_Ready(&ProducerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Error = PyErr_NewExceptionWithDoc("connectors.kafka.native._producer.Error",
                                      "A librdkafka error: args (message, code[, index]).",
                                      NULL, NULL);
    if (Error == NULL || PyModule_AddObject(m, "Error", Error) < 0) return NULL;
    Py_INCREF(Error);
    Py_INCREF(&ProducerType);
    if (PyModule_AddObject(m, "Producer", (PyObject *)&ProducerType) < 0) return NULL;
    return m;
}
