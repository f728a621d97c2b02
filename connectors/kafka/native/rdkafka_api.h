/* The part of librdkafka's public C API (librdkafka 2.x, rdkafka.h) that FlowSQL's native
 * Kafka modules call, declared here and bound at run time with dlopen/dlsym.
 *
 * Why not #include <rdkafka.h> and link: the librdkafka FlowSQL runs with is the one inside
 * the confluent-kafka wheel (confluent_kafka.libs/librdkafka-<hash>.so.1), which ships no
 * header and is not on the linker's path. Binding that very file at run time means one
 * librdkafka in the process (dlopen of an already loaded file returns the same handle),
 * the version confluent-kafka was tested with, and a build that needs only a C compiler and
 * Python's headers. The declarations below restate librdkafka's stable public ABI (struct
 * layouts and prototypes unchanged since 1.x); nothing of librdkafka's source is copied.
 *
 * Use: each module includes this header once (after Python.h), and calls rdk_bind(path, err,
 * errlen) before any rdk.<function>; its Python ``bind(path)`` is rdk_py_bind below. Entries are grouped by the module that needs them; add a function by
 * adding one RDK_FN line to its group.
 */
#ifndef FLOWSQL_RDKAFKA_API_H
#define FLOWSQL_RDKAFKA_API_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h> /* ssize_t */

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_topic_conf_s rd_kafka_topic_conf_t;
typedef struct rd_kafka_queue_s rd_kafka_queue_t;
typedef struct rd_kafka_error_s rd_kafka_error_t;
typedef struct rd_kafka_headers_s rd_kafka_headers_t;
typedef int rd_kafka_resp_err_t; /* an enum in rdkafka.h: int-sized */

typedef enum { RD_KAFKA_PRODUCER = 0, RD_KAFKA_CONSUMER = 1 } rd_kafka_type_t;
typedef enum {
    RD_KAFKA_CONF_UNKNOWN = -2, RD_KAFKA_CONF_INVALID = -1, RD_KAFKA_CONF_OK = 0
} rd_kafka_conf_res_t;
typedef enum {
    RD_KAFKA_TIMESTAMP_NOT_AVAILABLE = 0,
    RD_KAFKA_TIMESTAMP_CREATE_TIME = 1,
    RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME = 2
} rd_kafka_timestamp_type_t;

#define RDK_ERR_NO_ERROR 0
#define RDK_ERR__PARTITION_EOF (-191)
#define RDK_ERR__TIMED_OUT (-185)
#define RDK_ERR__QUEUE_FULL (-184)
#define RDK_ERR__FATAL (-150)
#define RDK_OFFSET_INVALID (-1001)

typedef struct rd_kafka_message_s {
    rd_kafka_resp_err_t err;
    rd_kafka_topic_t *rkt;
    int32_t partition;
    void *payload;
    size_t len;
    void *key;
    size_t key_len;
    int64_t offset;
    void *_private;
} rd_kafka_message_t;

typedef struct rd_kafka_topic_partition_s {
    char *topic;
    int32_t partition;
    int64_t offset;
    void *metadata;
    size_t metadata_size;
    void *opaque;
    rd_kafka_resp_err_t err;
    void *_private;
} rd_kafka_topic_partition_t;

typedef struct rd_kafka_topic_partition_list_s {
    int cnt;
    int size;
    rd_kafka_topic_partition_t *elems;
} rd_kafka_topic_partition_list_t;

typedef void (*rdk_dr_msg_cb_t)(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque);
typedef void (*rdk_error_cb_t)(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* RDK_FN(return type, name, (parameters)) */
#define RDK_FUNCTIONS(RDK_FN)                                                                   \
    /* -- common ------------------------------------------------------------------------ */ \
    RDK_FN(int, rd_kafka_version, (void))                                                       \
    RDK_FN(const char *, rd_kafka_version_str, (void))                                          \
    RDK_FN(const char *, rd_kafka_err2str, (rd_kafka_resp_err_t))                              \
    RDK_FN(const char *, rd_kafka_err2name, (rd_kafka_resp_err_t))                             \
    RDK_FN(rd_kafka_conf_t *, rd_kafka_conf_new, (void))                                        \
    RDK_FN(rd_kafka_conf_res_t, rd_kafka_conf_set,                                              \
           (rd_kafka_conf_t *, const char *, const char *, char *, size_t))                   \
    RDK_FN(void, rd_kafka_conf_destroy, (rd_kafka_conf_t *))                                    \
    RDK_FN(void, rd_kafka_conf_set_opaque, (rd_kafka_conf_t *, void *))                         \
    RDK_FN(void, rd_kafka_conf_set_error_cb, (rd_kafka_conf_t *, rdk_error_cb_t))               \
    RDK_FN(rd_kafka_t *, rd_kafka_new, (rd_kafka_type_t, rd_kafka_conf_t *, char *, size_t))   \
    RDK_FN(void, rd_kafka_destroy, (rd_kafka_t *))                                              \
    RDK_FN(int, rd_kafka_poll, (rd_kafka_t *, int))                                             \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_fatal_error, (rd_kafka_t *, char *, size_t))           \
    RDK_FN(rd_kafka_topic_partition_list_t *, rd_kafka_topic_partition_list_new, (int))        \
    RDK_FN(void, rd_kafka_topic_partition_list_destroy, (rd_kafka_topic_partition_list_t *))    \
    RDK_FN(rd_kafka_topic_partition_t *, rd_kafka_topic_partition_list_add,                     \
           (rd_kafka_topic_partition_list_t *, const char *, int32_t))                          \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_error_code, (const rd_kafka_error_t *))               \
    RDK_FN(const char *, rd_kafka_error_string, (const rd_kafka_error_t *))                     \
    RDK_FN(int, rd_kafka_error_is_fatal, (const rd_kafka_error_t *))                            \
    RDK_FN(int, rd_kafka_error_is_retriable, (const rd_kafka_error_t *))                        \
    RDK_FN(int, rd_kafka_error_txn_requires_abort, (const rd_kafka_error_t *))                  \
    RDK_FN(void, rd_kafka_error_destroy, (rd_kafka_error_t *))                                  \
    RDK_FN(void, rd_kafka_message_destroy, (rd_kafka_message_t *))                              \
    RDK_FN(const char *, rd_kafka_topic_name, (const rd_kafka_topic_t *))                      \
    /* -- logs, both modules --------------------------------------------------------------- */ \
    RDK_FN(void, rd_kafka_conf_set_log_cb,                                                      \
           (rd_kafka_conf_t *, void (*)(const rd_kafka_t *, int, const char *, const char *)))  \
    RDK_FN(void *, rd_kafka_opaque, (const rd_kafka_t *))                                       \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_set_log_queue, (rd_kafka_t *, rd_kafka_queue_t *))     \
    /* -- consumer (_consumer.c) -------------------------------------------------------- */ \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_poll_set_consumer, (rd_kafka_t *))                     \
    RDK_FN(rd_kafka_queue_t *, rd_kafka_queue_get_consumer, (rd_kafka_t *))                     \
    RDK_FN(void, rd_kafka_queue_destroy, (rd_kafka_queue_t *))                                  \
    RDK_FN(ssize_t, rd_kafka_consume_batch_queue,                                               \
           (rd_kafka_queue_t *, int, rd_kafka_message_t **, size_t))                            \
    RDK_FN(int64_t, rd_kafka_message_timestamp,                                                 \
           (const rd_kafka_message_t *, rd_kafka_timestamp_type_t *))                           \
    RDK_FN(const char *, rd_kafka_message_errstr, (const rd_kafka_message_t *))                 \
    RDK_FN(rd_kafka_error_t *, rd_kafka_incremental_assign,                                     \
           (rd_kafka_t *, const rd_kafka_topic_partition_list_t *))                             \
    RDK_FN(rd_kafka_error_t *, rd_kafka_incremental_unassign,                                   \
           (rd_kafka_t *, const rd_kafka_topic_partition_list_t *))                             \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_pause_partitions,                                      \
           (rd_kafka_t *, rd_kafka_topic_partition_list_t *))                                   \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_resume_partitions,                                     \
           (rd_kafka_t *, rd_kafka_topic_partition_list_t *))                                   \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_consumer_close, (rd_kafka_t *))                        \
    /* -- producer (_producer.c) -------------------------------------------------------- */ \
    RDK_FN(void, rd_kafka_conf_set_dr_msg_cb, (rd_kafka_conf_t *, rdk_dr_msg_cb_t))             \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_last_error, (void))                                    \
    RDK_FN(rd_kafka_topic_t *, rd_kafka_topic_new,                                              \
           (rd_kafka_t *, const char *, rd_kafka_topic_conf_t *))                               \
    RDK_FN(void, rd_kafka_topic_destroy, (rd_kafka_topic_t *))                                  \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_producev, (rd_kafka_t *, ...))                         \
    RDK_FN(int, rd_kafka_produce_batch,                                                         \
           (rd_kafka_topic_t *, int32_t, int, rd_kafka_message_t *, int))                       \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_flush, (rd_kafka_t *, int))                            \
    RDK_FN(int, rd_kafka_outq_len, (rd_kafka_t *))                                              \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_purge, (rd_kafka_t *, int))                            \
    /* metadata: (rk, all_topics, only_rkt, const struct rd_kafka_metadata **, timeout_ms) */   \
    RDK_FN(rd_kafka_resp_err_t, rd_kafka_metadata,                                              \
           (rd_kafka_t *, int, rd_kafka_topic_t *, const void **, int))                         \
    RDK_FN(void, rd_kafka_metadata_destroy, (const void *))

#define RDK_DECLARE(ret, name, params) ret(*name) params;
struct rdk_api {
    RDK_FUNCTIONS(RDK_DECLARE)
};
#undef RDK_DECLARE

static struct rdk_api rdk;
static int rdk_bound = 0;

/* Bind every function above from the librdkafka shared object at ``path``. Returns 0, or -1
 * with a message in ``err``. Binding again after a success is a no-op. */
static int rdk_bind(const char *path, char *err, size_t errlen) {
    if (rdk_bound) return 0;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(err, errlen, "dlopen(%s) failed: %s", path, dlerror());
        return -1;
    }
#define RDK_BIND(ret, name, params)                                                    \
    *(void **)(&rdk.name) = dlsym(lib, #name);                                         \
    if (rdk.name == NULL) {                                                            \
        snprintf(err, errlen, "%s has no symbol %s (librdkafka 2.x needed)", path, #name); \
        return -1;                                                                     \
    }
    RDK_FUNCTIONS(RDK_BIND)
#undef RDK_BIND
    rdk_bound = 1;
    return 0;
}

#ifdef Py_PYTHON_H
/* The modules' ``bind(path) -> librdkafka version``: rdk_bind for Python (OSError on failure). */
static PyObject *rdk_py_bind(PyObject *self, PyObject *args) {
    const char *path;
    char err[512];
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    if (rdk_bind(path, err, sizeof err) != 0) {
        PyErr_SetString(PyExc_OSError, err);
        return NULL;
    }
    return PyUnicode_FromString(rdk.rd_kafka_version_str());
}
#define RDK_PY_BIND_METHOD \
    {"bind", rdk_py_bind, METH_VARARGS, "bind(path) -> librdkafka version: bind the library at path."}
#endif

#endif
