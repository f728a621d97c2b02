/* connectors.kafka.native._consumer: a librdkafka consumer that hands over each consumed
 * batch as contiguous column buffers (Arrow layouts), so Python touches no message.
 *
 * Contract (the Python side is connectors/kafka/native_source.py):
 * - bind(path) binds librdkafka (rdkafka_api.h) and returns its version string.
 * - Consumer(properties: dict[str, str]): a KafkaConsumer handle (rd_kafka_new). A property
 *   librdkafka rejects raises ValueError with librdkafka's message; a failing rd_kafka_new
 *   raises Error. The main queue is forwarded to the consumer queue, and logs and error
 *   callbacks are served there (log.queue), i.e. only inside consume(), on the caller's
 *   thread, and handed back as events: nothing of librdkafka ever calls into Python.
 * - assign(list) / unassign(list): incremental (rd_kafka_incremental_assign/unassign) of
 *   (topic, partition[, offset]) tuples; pause(list) / resume(list) of (topic, partition).
 *   A failing call raises Error(message, code).
 * - consume(max_messages, timeout_ms, keys=True) waits at most timeout_ms for up to
 *   max_messages (rd_kafka_consume_batch_queue on the consumer queue, GIL released), copies
 *   the data messages, in the order consumed, into fresh bytearrays (GIL released for the
 *   copy) and returns the tuple
 *     (topics, topic_index, partitions, offsets, timestamps, timestamp_types, values, keys,
 *      events)
 *   topics: list of the topic names; topic_index int32[n] into it; partitions int32[n];
 *   offsets int64[n]; timestamps int64[n] (ms, -1 when not available); timestamp_types
 *   int8[n] (0 none, 1 create time, 2 log-append time); values and keys (keys None when
 *   keys=False): (offsets, data, validity, null_count, wide) in Arrow's binary layout,
 *   offsets int32[n+1] (int64 when wide, i.e. more than 2 GiB of data), validity a bitmap
 *   (bit set: not NULL) or None when no element is NULL; a NULL value is a tombstone.
 *   events: a list, in the order met, of
 *     ("eof", topic, partition, offset)                         end of partition
 *     ("error", code, name, message, fatal, topic, partition, offset)
 *         a consumer error (topic None and partition -1 when it concerns no partition; a
 *         fatal error carries the underlying code and message of rd_kafka_fatal_error)
 *     ("log", syslog_level, facility, message)
 *   At most 64 callback events (errors, logs) are kept per call; more are dropped.
 * - close(): rd_kafka_consumer_close then rd_kafka_destroy, GIL released; idempotent; any
 *   other call afterwards raises RuntimeError. Dealloc closes an open consumer.
 * - A Consumer may be used from several threads: calls are serialized by a lock.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <string.h>

#include "rdkafka_api.h"

#define MAX_CB_EVENTS 64

typedef struct {
    int is_log;
    int code; /* error code, or syslog level */
    char facility[32];
    char text[480];
} cb_event_t;

typedef struct {
    PyObject_HEAD
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    PyThread_type_lock lock;
    rd_kafka_message_t **msgs;
    size_t msgs_cap;
    cb_event_t events[MAX_CB_EVENTS];
    int nevents;
} Consumer;

static PyObject *Error; /* connectors.kafka.native._consumer.Error(message, code) */

/* -- librdkafka callbacks: served inside consume()/close() on the caller's thread, GIL
 * released; they only record into the object (the lock is held by that call). ----------- */
static void record(Consumer *c, int is_log, int code, const char *facility, const char *text) {
    if (c == NULL || c->nevents >= MAX_CB_EVENTS) return;
    cb_event_t *e = &c->events[c->nevents++];
    e->is_log = is_log;
    e->code = code;
    snprintf(e->facility, sizeof e->facility, "%s", facility ? facility : "");
    snprintf(e->text, sizeof e->text, "%s", text ? text : "");
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    record((Consumer *)opaque, 0, err, NULL, reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *text) {
    record((Consumer *)rdk.rd_kafka_opaque(rk), 1, level, facility, text);
}

/* -- helpers -------------------------------------------------------------------------------- */
static void raise_error(const char *message, int code) {
    PyObject *args = Py_BuildValue("(si)", message, code);
    if (args != NULL) {
        PyErr_SetObject(Error, args);
        Py_DECREF(args);
    }
}

static void lock(Consumer *self) {
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

/* Lock and check the consumer is open; returns 0, or -1 with RuntimeError and unlocked. */
static int lock_open(Consumer *self) {
    lock(self);
    if (self->rk == NULL) {
        PyThread_release_lock(self->lock);
        PyErr_SetString(PyExc_RuntimeError, "the consumer is closed");
        return -1;
    }
    return 0;
}

/* (topic, partition[, offset]) tuples -> a new partition list, or NULL with an exception. */
static rd_kafka_topic_partition_list_t *partition_list(PyObject *seq) {
    PyObject *fast = PySequence_Fast(seq, "expected a list of (topic, partition[, offset])");
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    rd_kafka_topic_partition_list_t *list = rdk.rd_kafka_topic_partition_list_new((int)n);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        const char *topic;
        int partition;
        long long offset = RDK_OFFSET_INVALID;
        if (!PyTuple_Check(item) ||
            !PyArg_ParseTuple(item, "si|L", &topic, &partition, &offset)) {
            if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Clear();
                PyErr_SetString(PyExc_TypeError,
                                "expected a list of (topic, partition[, offset]) tuples");
            }
            rdk.rd_kafka_topic_partition_list_destroy(list);
            Py_DECREF(fast);
            return NULL;
        }
        rdk.rd_kafka_topic_partition_list_add(list, topic, partition)->offset = offset;
    }
    Py_DECREF(fast);
    return list;
}

/* -- the type ------------------------------------------------------------------------------- */
static void close_handle(Consumer *self) { /* GIL released, lock held */
    if (self->rk == NULL) return;
    if (self->queue != NULL) rdk.rd_kafka_queue_destroy(self->queue);
    self->queue = NULL;
    rdk.rd_kafka_consumer_close(self->rk);
    rdk.rd_kafka_destroy(self->rk);
    self->rk = NULL;
}

static int Consumer_init(Consumer *self, PyObject *args, PyObject *kwds) {
    PyObject *props, *key, *value;
    Py_ssize_t pos = 0;
    char err[512];
    if (!PyArg_ParseTuple(args, "O!:Consumer", &PyDict_Type, &props)) return -1;
    if (!rdk_bound) {
        PyErr_SetString(PyExc_RuntimeError, "librdkafka is not bound: call bind(path) first");
        return -1;
    }
    if (self->rk != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Consumer.__init__ called twice");
        return -1;
    }
    if (self->lock == NULL && (self->lock = PyThread_allocate_lock()) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    rd_kafka_conf_t *conf = rdk.rd_kafka_conf_new();
    while (PyDict_Next(props, &pos, &key, &value)) {
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        const char *v = PyUnicode_Check(value) ? PyUnicode_AsUTF8(value) : NULL;
        if (k == NULL || v == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "consumer properties must be str -> str");
            rdk.rd_kafka_conf_destroy(conf);
            return -1;
        }
        if (rdk.rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
            PyErr_SetString(PyExc_ValueError, err);
            rdk.rd_kafka_conf_destroy(conf);
            return -1;
        }
    }
    if (rdk.rd_kafka_conf_set(conf, "log.queue", "true", err, sizeof err) != RD_KAFKA_CONF_OK) {
        PyErr_SetString(PyExc_ValueError, err);
        rdk.rd_kafka_conf_destroy(conf);
        return -1;
    }
    rdk.rd_kafka_conf_set_opaque(conf, self);
    rdk.rd_kafka_conf_set_error_cb(conf, on_error);
    rdk.rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_t *rk;
    Py_BEGIN_ALLOW_THREADS
    rk = rdk.rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (rk == NULL) {
        rdk.rd_kafka_conf_destroy(conf); /* not taken over on failure */
        raise_error(err, -1);
        return -1;
    }
    rdk.rd_kafka_poll_set_consumer(rk);
    rdk.rd_kafka_set_log_queue(rk, NULL); /* logs -> main queue -> consumer queue */
    self->queue = rdk.rd_kafka_queue_get_consumer(rk);
    self->rk = rk;
    return 0;
}

static void Consumer_dealloc(Consumer *self) {
    if (self->rk != NULL) {
        Py_BEGIN_ALLOW_THREADS
        close_handle(self);
        Py_END_ALLOW_THREADS
    }
    if (self->lock != NULL) PyThread_free_lock(self->lock);
    PyMem_RawFree(self->msgs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Consumer_close(Consumer *self, PyObject *unused) {
    lock(self);
    Py_BEGIN_ALLOW_THREADS
    close_handle(self);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

typedef rd_kafka_error_t *(*assign_fn)(rd_kafka_t *, const rd_kafka_topic_partition_list_t *);
typedef rd_kafka_resp_err_t (*pause_fn)(rd_kafka_t *, rd_kafka_topic_partition_list_t *);

static PyObject *assign_call(Consumer *self, PyObject *seq, assign_fn fn) {
    rd_kafka_topic_partition_list_t *list = partition_list(seq);
    if (list == NULL) return NULL;
    if (lock_open(self) != 0) {
        rdk.rd_kafka_topic_partition_list_destroy(list);
        return NULL;
    }
    rd_kafka_error_t *error;
    Py_BEGIN_ALLOW_THREADS
    error = fn(self->rk, list);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->lock);
    rdk.rd_kafka_topic_partition_list_destroy(list);
    if (error != NULL) {
        raise_error(rdk.rd_kafka_error_string(error), rdk.rd_kafka_error_code(error));
        rdk.rd_kafka_error_destroy(error);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Consumer_assign(Consumer *self, PyObject *seq) {
    return assign_call(self, seq, rdk.rd_kafka_incremental_assign);
}

static PyObject *Consumer_unassign(Consumer *self, PyObject *seq) {
    return assign_call(self, seq, rdk.rd_kafka_incremental_unassign);
}

static PyObject *pause_call(Consumer *self, PyObject *seq, pause_fn fn) {
    rd_kafka_topic_partition_list_t *list = partition_list(seq);
    if (list == NULL) return NULL;
    if (lock_open(self) != 0) {
        rdk.rd_kafka_topic_partition_list_destroy(list);
        return NULL;
    }
    rd_kafka_resp_err_t err = fn(self->rk, list);
    PyThread_release_lock(self->lock);
    rdk.rd_kafka_topic_partition_list_destroy(list);
    if (err != RDK_ERR_NO_ERROR) {
        raise_error(rdk.rd_kafka_err2str(err), err);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Consumer_pause(Consumer *self, PyObject *seq) {
    return pause_call(self, seq, rdk.rd_kafka_pause_partitions);
}

static PyObject *Consumer_resume(Consumer *self, PyObject *seq) {
    return pause_call(self, seq, rdk.rd_kafka_resume_partitions);
}

/* -- consume ------------------------------------------------------------------------------- */
typedef struct {
    PyObject *offsets, *data, *validity; /* bytearrays (validity NULL: no NULLs) */
    Py_ssize_t nulls;
    size_t bytes;
    int wide;
    char *off_p, *data_p;
    uint8_t *valid_p;
} binary_col;

static int binary_alloc(binary_col *c, Py_ssize_t n) {
    c->wide = c->bytes > (size_t)INT32_MAX;
    c->offsets = PyByteArray_FromStringAndSize(NULL, (n + 1) * (c->wide ? 8 : 4));
    c->data = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)c->bytes);
    c->validity = c->nulls ? PyByteArray_FromStringAndSize(NULL, (n + 7) / 8) : NULL;
    if (c->offsets == NULL || c->data == NULL || (c->nulls && c->validity == NULL)) return -1;
    c->off_p = PyByteArray_AS_STRING(c->offsets);
    c->data_p = PyByteArray_AS_STRING(c->data);
    c->valid_p = c->validity ? (uint8_t *)PyByteArray_AS_STRING(c->validity) : NULL;
    if (c->valid_p) memset(c->valid_p, 0xFF, (size_t)(n + 7) / 8);
    return 0;
}

static void binary_clear(binary_col *c) {
    Py_CLEAR(c->offsets);
    Py_CLEAR(c->data);
    Py_CLEAR(c->validity);
}

/* Append element j (NULL when p is NULL); *pos is the running data size. */
static inline void binary_put(binary_col *c, Py_ssize_t j, const void *p, size_t len, size_t *pos) {
    if (c->wide) ((int64_t *)c->off_p)[j] = (int64_t)*pos;
    else ((int32_t *)c->off_p)[j] = (int32_t)*pos;
    if (p == NULL) {
        c->valid_p[j >> 3] &= (uint8_t) ~(1u << (j & 7));
        return;
    }
    memcpy(c->data_p + *pos, p, len);
    *pos += len;
}

static void binary_end(binary_col *c, Py_ssize_t n, size_t pos) {
    if (c->wide) ((int64_t *)c->off_p)[n] = (int64_t)pos;
    else ((int32_t *)c->off_p)[n] = (int32_t)pos;
}

static PyObject *binary_tuple(binary_col *c) { /* steals the buffers */
    PyObject *validity = c->validity ? c->validity : Py_None;
    if (!c->validity) Py_INCREF(Py_None);
    PyObject *t = Py_BuildValue("(NNNnO)", c->offsets, c->data, validity, c->nulls,
                                c->wide ? Py_True : Py_False);
    c->offsets = c->data = c->validity = NULL;
    return t;
}

static PyObject *topic_or_none(const rd_kafka_message_t *m) {
    if (m->rkt == NULL) Py_RETURN_NONE;
    return PyUnicode_FromString(rdk.rd_kafka_topic_name(m->rkt));
}

/* The events of this call: error/EOF messages, then the callbacks' errors and logs. */
static PyObject *events_list(Consumer *self, ssize_t n) {
    PyObject *events = PyList_New(0);
    if (events == NULL) return NULL;
    for (ssize_t i = 0; i < n; i++) {
        const rd_kafka_message_t *m = self->msgs[i];
        if (m->err == RDK_ERR_NO_ERROR) continue;
        PyObject *e;
        if (m->err == RDK_ERR__PARTITION_EOF) {
            e = Py_BuildValue("(sNiL)", "eof", topic_or_none(m), (int)m->partition,
                              (long long)m->offset);
        } else {
            const char *text = rdk.rd_kafka_message_errstr(m);
            e = Py_BuildValue("(sissONiL)", "error", m->err, rdk.rd_kafka_err2name(m->err),
                              text ? text : rdk.rd_kafka_err2str(m->err), Py_False,
                              topic_or_none(m), (int)m->partition, (long long)m->offset);
        }
        if (e == NULL || PyList_Append(events, e) != 0) {
            Py_XDECREF(e);
            Py_DECREF(events);
            return NULL;
        }
        Py_DECREF(e);
    }
    for (int i = 0; i < self->nevents; i++) {
        cb_event_t *ev = &self->events[i];
        PyObject *e;
        if (ev->is_log) {
            e = Py_BuildValue("(siss)", "log", ev->code, ev->facility, ev->text);
        } else {
            int code = ev->code, fatal = code == RDK_ERR__FATAL;
            char text[512];
            snprintf(text, sizeof text, "%s", ev->text);
            if (fatal) code = rdk.rd_kafka_fatal_error(self->rk, text, sizeof text);
            e = Py_BuildValue("(sissOOiL)", "error", code, rdk.rd_kafka_err2name(code), text,
                              fatal ? Py_True : Py_False, Py_None, -1,
                              (long long)RDK_OFFSET_INVALID);
        }
        if (e == NULL || PyList_Append(events, e) != 0) {
            Py_XDECREF(e);
            Py_DECREF(events);
            return NULL;
        }
        Py_DECREF(e);
    }
    return events;
}

static void destroy_messages(Consumer *self, ssize_t n) {
    for (ssize_t i = 0; i < n; i++) rdk.rd_kafka_message_destroy(self->msgs[i]);
}

static PyObject *Consumer_consume(Consumer *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"max_messages", "timeout_ms", "keys", NULL};
    Py_ssize_t max = 10000;
    int timeout_ms = 0, want_keys = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|nip:consume", kwlist, &max, &timeout_ms,
                                     &want_keys))
        return NULL;
    if (max <= 0) {
        PyErr_SetString(PyExc_ValueError, "max_messages must be positive");
        return NULL;
    }
    if (lock_open(self) != 0) return NULL;
    if ((size_t)max > self->msgs_cap) { /* under the lock: another thread may be consuming */
        rd_kafka_message_t **grown = PyMem_RawRealloc(self->msgs, sizeof(*grown) * (size_t)max);
        if (grown == NULL) {
            PyThread_release_lock(self->lock);
            return PyErr_NoMemory();
        }
        self->msgs = grown;
        self->msgs_cap = (size_t)max;
    }

    /* 1. consume, and size the columns (GIL released) */
    ssize_t n;
    Py_ssize_t ndata = 0;
    binary_col values = {0}, keys = {0};
    Py_BEGIN_ALLOW_THREADS
    self->nevents = 0;
    n = rdk.rd_kafka_consume_batch_queue(self->queue, timeout_ms, self->msgs, (size_t)max);
    for (ssize_t i = 0; i < n; i++) {
        const rd_kafka_message_t *m = self->msgs[i];
        if (m->err != RDK_ERR_NO_ERROR) continue;
        ndata++;
        if (m->payload != NULL) values.bytes += m->len;
        else values.nulls++;
        if (m->key != NULL) keys.bytes += m->key_len;
        else keys.nulls++;
    }
    Py_END_ALLOW_THREADS
    if (n < 0) {
        PyThread_release_lock(self->lock);
        raise_error("rd_kafka_consume_batch_queue failed", -1);
        return NULL;
    }

    /* 2. the buffers (GIL held) */
    PyObject *offsets = PyByteArray_FromStringAndSize(NULL, ndata * 8);
    PyObject *stamps = PyByteArray_FromStringAndSize(NULL, ndata * 8);
    PyObject *types = PyByteArray_FromStringAndSize(NULL, ndata);
    PyObject *partitions = PyByteArray_FromStringAndSize(NULL, ndata * 4);
    PyObject *topic_index = PyByteArray_FromStringAndSize(NULL, ndata * 4);
    rd_kafka_topic_t **rkts = PyMem_RawMalloc(sizeof(*rkts) * (size_t)(ndata ? ndata : 1));
    int failed = offsets == NULL || stamps == NULL || types == NULL || partitions == NULL ||
                 topic_index == NULL || rkts == NULL || binary_alloc(&values, ndata) != 0 ||
                 (want_keys && binary_alloc(&keys, ndata) != 0);
    PyObject *topics = NULL, *events = NULL, *result = NULL;
    int ntopics = 0;
    if (!failed) {
        /* 3. the copy (GIL released: the buffers are not visible to Python yet) */
        int64_t *off_p = (int64_t *)PyByteArray_AS_STRING(offsets);
        int64_t *ts_p = (int64_t *)PyByteArray_AS_STRING(stamps);
        int8_t *type_p = (int8_t *)PyByteArray_AS_STRING(types);
        int32_t *part_p = (int32_t *)PyByteArray_AS_STRING(partitions);
        int32_t *tidx_p = (int32_t *)PyByteArray_AS_STRING(topic_index);
        Py_BEGIN_ALLOW_THREADS
        size_t vpos = 0, kpos = 0;
        Py_ssize_t j = 0;
        int last = -1;
        for (ssize_t i = 0; i < n; i++) {
            const rd_kafka_message_t *m = self->msgs[i];
            if (m->err != RDK_ERR_NO_ERROR) continue;
            if (last < 0 || rkts[last] != m->rkt) {
                last = -1;
                for (int t = 0; t < ntopics; t++)
                    if (rkts[t] == m->rkt) last = t;
                if (last < 0) {
                    last = ntopics++;
                    rkts[last] = m->rkt;
                }
            }
            rd_kafka_timestamp_type_t type;
            off_p[j] = m->offset;
            ts_p[j] = rdk.rd_kafka_message_timestamp(m, &type);
            type_p[j] = (int8_t)type;
            part_p[j] = m->partition;
            tidx_p[j] = last;
            binary_put(&values, j, m->payload, m->len, &vpos);
            if (want_keys) binary_put(&keys, j, m->key, m->key_len, &kpos);
            j++;
        }
        binary_end(&values, ndata, vpos);
        if (want_keys) binary_end(&keys, ndata, kpos);
        Py_END_ALLOW_THREADS
        /* 4. topic names and events (GIL held; the messages are still alive) */
        topics = PyList_New(ntopics);
        for (int t = 0; topics != NULL && t < ntopics; t++) {
            PyObject *name = PyUnicode_FromString(rdk.rd_kafka_topic_name(rkts[t]));
            if (name == NULL) Py_CLEAR(topics);
            else PyList_SET_ITEM(topics, t, name);
        }
        events = topics != NULL ? events_list(self, n) : NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    destroy_messages(self, n);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->lock);
    PyMem_RawFree(rkts);
    if (failed) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
    } else if (topics != NULL && events != NULL) {
        PyObject *vt = binary_tuple(&values);
        PyObject *kt = want_keys ? binary_tuple(&keys) : (Py_INCREF(Py_None), Py_None);
        if (vt != NULL && kt != NULL) {
            result = Py_BuildValue("(OOOOOOOOO)", topics, topic_index, partitions, offsets,
                                   stamps, types, vt, kt, events);
        }
        Py_XDECREF(vt);
        Py_XDECREF(kt);
    }
    Py_XDECREF(topics);
    Py_XDECREF(events);
    Py_XDECREF(offsets);
    Py_XDECREF(stamps);
    Py_XDECREF(types);
    Py_XDECREF(partitions);
    Py_XDECREF(topic_index);
    binary_clear(&values);
    binary_clear(&keys);
    return result;
}

static PyMethodDef Consumer_methods[] = {
    {"assign", (PyCFunction)Consumer_assign, METH_O,
     "assign([(topic, partition[, offset]), ...]): add to the assignment (incremental)."},
    {"unassign", (PyCFunction)Consumer_unassign, METH_O,
     "unassign([(topic, partition), ...]): remove from the assignment (incremental)."},
    {"pause", (PyCFunction)Consumer_pause, METH_O, "pause([(topic, partition), ...])"},
    {"resume", (PyCFunction)Consumer_resume, METH_O, "resume([(topic, partition), ...])"},
    {"consume", (PyCFunction)(void (*)(void))Consumer_consume, METH_VARARGS | METH_KEYWORDS,
     "consume(max_messages=10000, timeout_ms=0, keys=True) -> (topics, topic_index, "
     "partitions, offsets, timestamps, timestamp_types, values, keys, events)"},
    {"close", (PyCFunction)Consumer_close, METH_NOARGS,
     "close(): leave and destroy the consumer (idempotent)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ConsumerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "connectors.kafka.native._consumer.Consumer",
    .tp_basicsize = sizeof(Consumer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Consumer(properties: dict[str, str]): librdkafka consumer returning columns.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Consumer_init,
    .tp_dealloc = (destructor)Consumer_dealloc,
    .tp_methods = Consumer_methods,
};

/* -- module --------------------------------------------------------------------------------- */
static PyMethodDef methods[] = {
    RDK_PY_BIND_METHOD,
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_consumer", NULL, -1, methods};

PyMODINIT_FUNC PyInit__consumer(void) {
    if (PyType_Ready(&ConsumerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Error = PyErr_NewException("connectors.kafka.native._consumer.Error", NULL, NULL);
    if (Error == NULL || PyModule_AddObject(m, "Error", Error) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(Error);
    Py_INCREF(&ConsumerType);
    if (PyModule_AddObject(m, "Consumer", (PyObject *)&ConsumerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
