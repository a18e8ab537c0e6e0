/* core.h -- what the sandbox core's files share and nothing else sees:
 * the server state (one struct, one mutex), the request as the core holds
 * it, and the small helpers each core file calls in another.
 *
 * The platforms (facebook.c, x.c, ...) and main.c see only server.h. The
 * core is server.c (HTTP, timer thread, start/stop), request.c (parsing
 * and answers), admin.c (/_sandbox/), store.c (posts and counters),
 * knobs.c (the knob table), heap.c (the delay queue), dict.c (the hash
 * table) and util.c (clocks, RNG, strings, buffer). Functions named
 * *_locked expect server.lock held.
 */

#ifndef SANDBOX_CORE_H
#define SANDBOX_CORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "dict.h"
#include "heap.h"
#include "server.h"

#define SANDBOX_ADMIN_PREFIX "/_sandbox/"
#define SANDBOX_MAX_BODY (8 * 1024 * 1024) /* X appends chunks of up to 5 MB */
#define SANDBOX_MAX_HEADERS 4
#define SANDBOX_CONNECTION_LIMIT 20000
#define SANDBOX_LISTEN_BACKLOG 4096
#define SANDBOX_BATCH 256
#define SANDBOX_FIRST_OBJECT_ID 1000000000000001ULL
#define SANDBOX_KNOB_MAX 2147483647L
#define SANDBOX_SEP "\x1f" /* joins key parts; cannot occur in a URL path */

/* Accepted publishes of one page, in acceptance (= time) order, so the
 * rate limiter can binary-search its window and readback walks backwards. */
typedef struct sandbox_page {
    sandbox_post **posts;
    size_t len, cap;
} sandbox_page;

typedef struct sandbox_error_count {
    int code;
    uint64_t n;
} sandbox_error_count;

typedef struct sandbox_param {
    char *key;
    char *value;
} sandbox_param;

typedef enum sandbox_req_state {
    SANDBOX_ST_BODY = 0, /* receiving the upload */
    SANDBOX_ST_DELAYED,  /* suspended in the heap */
    SANDBOX_ST_ANSWERED, /* handler ran, response queued */
    SANDBOX_ST_HELD      /* suspended forever (hang), watched for close */
} sandbox_req_state;

struct sandbox_request {
    struct MHD_Connection *conn;
    const sandbox_platform *platform; /* NULL for the admin API */
    const char *method;               /* owned by MHD, lives as long */
    const char *path;
    sandbox_req_state state;
    char *body;
    size_t body_len, body_cap;
    int body_too_large;
    int body_invalid;
    sandbox_param *params;
    size_t nparams, params_cap;
    int64_t received_ms; /* wall clock */
    int64_t due_ms;      /* monotonic clock */
    uint64_t seq;        /* heap tie-break: equal due times keep order */
    sandbox_fault fault;
    unsigned status;
    char *resp;
    size_t resp_len;
    const char *resp_type;
    char *hdr_name[SANDBOX_MAX_HEADERS];
    char *hdr_value[SANDBOX_MAX_HEADERS];
    int nhdr;
    int hold;
    int committed; /* a post was accepted while answering (resend_rate) */
    int held;      /* linked in server.held_head and in the timer's epoll set */
    int fd;
    sandbox_request *held_prev, *held_next;
};

typedef struct sandbox_stats {
    uint64_t requests;
    /* Connections accepted: against requests, how well clients reuse them
     * (with TLS each one is a full handshake; bench/README.md). */
    uint64_t connections;
    uint64_t duplicate_accepts;
    uint64_t duplicates_rejected;
    uint64_t hangs;
    uint64_t hang_drops;
    uint64_t closes;              /* committed, then closed unanswered (close_rate) */
    uint64_t resends;             /* committed, then processed again (resend_rate) */
    uint64_t errors_after_commit; /* publish_error_after_commit_rate */
    uint64_t quota_refusals;      /* Instagram/Threads publishes refused over quota */
    long in_flight;
    long max_in_flight;
    sandbox_error_count *errors;
    size_t nerrors, errcap;
} sandbox_stats;

struct sandbox_server {
    struct MHD_Daemon *daemon;
    unsigned port;
    int tls; /* serving https: set at start, read-only after */
    pthread_mutex_t lock;
    pthread_t timer;
    int timer_started;
    int epfd; /* timer: wake eventfd + held sockets */
    int wakefd;
    int stopping;
    sandbox_knobs knobs;
    uint64_t seed, rng, rng_aux;
    uint64_t next_object_id;
    uint64_t next_seq;
    sandbox_heap heap; /* delayed requests (heap.c) */
    sandbox_request *held_head;
    long held_count;
    sandbox_post **posts;
    size_t nposts, posts_cap;
    uint64_t next_post_seq;
    int64_t last_accept_ms;
    sandbox_dict pages;    /* platform SEP page -> sandbox_page */
    sandbox_dict messages; /* platform SEP page SEP message -> post */
    sandbox_dict ids;      /* platform SEP id -> post */
    sandbox_stats stats;
};

/* The one server of this process (server.c); server.lock guards it. */
extern struct sandbox_server server;

typedef struct sandbox_buf {
    char *p;
    size_t len, cap;
    int oom;
} sandbox_buf;

/* util.c: clocks, RNG, strings, growable buffer, array growth */
char *sandbox_key(const char *a, const char *b, const char *c);
char *sandbox_strdup_or_null(const char *s);
double sandbox_rng_unit(uint64_t *state);
int sandbox_has_prefix_ci(const char *s, const char *prefix);
int sandbox_reserve(void **arr, size_t *cap, size_t need, size_t elem);
int64_t sandbox_mono_ms(void);
int64_t sandbox_wall_ms(void);
uint64_t sandbox_rng_next(uint64_t *state);
void sandbox_buf_add(sandbox_buf *b, const char *s, size_t n);
void sandbox_buf_str(sandbox_buf *b, const char *s);
void sandbox_rng_seed_locked(uint64_t seed);

/* knobs.c: knobs to and from JSON (POST /_sandbox/config) */
int sandbox_knobs_from_json(sandbox_knobs *k, uint64_t *seed, json_t *obj, char *err,
                            size_t errlen);
json_t *sandbox_knobs_json(const sandbox_knobs *k, uint64_t seed);

/* store.c: counters and the post store */
void sandbox_in_flight_add_locked(long n);
void sandbox_store_clear_locked(void);

/* request.c: request life, body parsing, answers */
enum MHD_Result sandbox_req_send(sandbox_request *req);
void sandbox_reply_raw(sandbox_request *req, unsigned status, const char *type, char *body);
void sandbox_req_append(sandbox_request *req, const char *data, size_t n);
void sandbox_req_free(sandbox_request *req);
void sandbox_req_parse_body(sandbox_request *req);

/* admin.c: the /_sandbox/ admin API, answered at once */
void sandbox_admin_handle(sandbox_request *req);

#endif
