/* server.c -- HTTP plumbing, delay queue, post store and admin API of the
 * platform sandbox.
 *
 * Design
 * ------
 * One libmicrohttpd daemon with a single internal polling thread (epoll
 * where available) serves every connection. Requests are never handed to a
 * thread of their own: when an answer must be delayed the connection is
 * suspended (MHD_ALLOW_SUSPEND_RESUME) and its request goes into a min-heap
 * ordered by due time. A second thread, the timer, sleeps in epoll_wait()
 * until the earliest due time, then resumes the due connections; MHD calls
 * the access handler again and only then is the answer produced (and a post
 * recorded). Thousands of delayed requests therefore cost one heap slot and
 * one idle socket each.
 *
 * Hung requests ("accepted but never answered") are suspended too, but a
 * suspended connection is invisible to MHD, which would never notice the
 * client giving up. So the timer's epoll set also watches each held socket
 * for EPOLLRDHUP: when the client closes, the connection is resumed and the
 * handler drops it. At shutdown every delayed or held connection is resumed
 * before MHD_stop_daemon(), as MHD requires.
 *
 * Locking: one mutex (server.lock) guards the heap, the held list, knobs,
 * RNG, counters and the post store. Lock order is server.lock before MHD's
 * internal mutexes (MHD_suspend_connection is called with it held); the
 * timer therefore never calls MHD_resume_connection with the lock held.
 *
 * Requests are routed by URL prefix: /_sandbox/ to the admin API here, the
 * rest through sandbox_routes[] to a platform imitation (see server.h).
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "server.h"

/* ------------------------------------------------------------------------
 * Route table: every platform of common/platforms.list has sandbox/<name>.c
 * defining sandbox_<name>; the helpers below are not platforms. The longest
 * matching prefix wins, so the order here does not matter: OAuth token
 * endpoints (oauth.c) beat their platforms' prefixes, and Facebook's "/"
 * only catches what nothing else claims.
 * --------------------------------------------------------------------- */

#define AP_PLATFORM(name, base_url, version, cap, cap_hours, reports) \
    extern const sandbox_platform sandbox_##name;
#include "ap_platform_list.h"
#undef AP_PLATFORM
extern const sandbox_platform sandbox_media;
extern const sandbox_platform sandbox_x_oauth;
extern const sandbox_platform sandbox_linkedin_oauth;

static const sandbox_platform *const sandbox_routes[] = {
#define AP_PLATFORM(name, base_url, version, cap, cap_hours, reports) &sandbox_##name,
#include "ap_platform_list.h"
#undef AP_PLATFORM
    &sandbox_media,
    &sandbox_x_oauth,
    &sandbox_linkedin_oauth,
};

#define SANDBOX_ADMIN_PREFIX "/_sandbox/"
#define SANDBOX_MAX_BODY (1024 * 1024)
#define SANDBOX_MAX_HEADERS 4
#define SANDBOX_CONNECTION_LIMIT 20000
#define SANDBOX_LISTEN_BACKLOG 4096
#define SANDBOX_BATCH 256
#define SANDBOX_FIRST_OBJECT_ID 1000000000000001ULL
#define SANDBOX_KNOB_MAX 2147483647L
#define SANDBOX_SEP "\x1f" /* joins key parts; cannot occur in a URL path */

/* ------------------------------------------------------------------------
 * Types
 * --------------------------------------------------------------------- */

typedef struct sandbox_dict_entry {
    struct sandbox_dict_entry *next;
    uint64_t hash;
    void *val;
    char key[];
} sandbox_dict_entry;

/* Chained hash table with string keys; values are borrowed pointers. */
typedef struct sandbox_dict {
    sandbox_dict_entry **buckets;
    size_t nbuckets;
    size_t count;
} sandbox_dict;

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

static struct sandbox_server {
    struct MHD_Daemon *daemon;
    unsigned port;
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
    sandbox_request **heap;
    size_t heap_len, heap_cap;
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
} server;

/* ------------------------------------------------------------------------
 * Small utilities: logging, clocks, RNG, strings, growable buffer
 * --------------------------------------------------------------------- */

void sandbox_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("autopost-sandbox: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* MHD logs every MHD_NO from the access handler as an "internal error";
 * ours are deliberate (a hung client left, a drop at the hang cap or at
 * shutdown), so that line would only be noise, thousands of times. */
__attribute__((format(printf, 2, 0))) static void sandbox_mhd_log(void *cls, const char *fmt,
                                                                  va_list ap) {
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (strncmp(msg, "Application reported internal error", 35) == 0) return;
    fprintf(stderr, "autopost-sandbox: libmicrohttpd: %s", msg);
}

static int64_t sandbox_clock_ms(clockid_t clk) {
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0) return 0; /* cannot fail on Linux */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sandbox_mono_ms(void) { return sandbox_clock_ms(CLOCK_MONOTONIC); }
static int64_t sandbox_wall_ms(void) { return sandbox_clock_ms(CLOCK_REALTIME); }

/* splitmix64: tiny, good enough for fault injection, trivially seedable. */
static uint64_t sandbox_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double sandbox_rng_unit(uint64_t *state) {
    return (double)(sandbox_rng_next(state) >> 11) / 9007199254740992.0;
}

static void sandbox_rng_seed_locked(uint64_t seed) {
    server.seed = seed;
    server.rng = seed;
    /* A separate stream for cosmetic randomness (trace ids) so that
     * formatting changes never shift which requests get faults. */
    server.rng_aux = seed ^ 0x5a5a5a5a5a5a5a5aULL;
}

static int sandbox_has_prefix_ci(const char *s, const char *prefix) {
    return s != NULL && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static char *sandbox_strdup_or_null(const char *s) { return s == NULL ? NULL : strdup(s); }

/* Joins two or three key parts with SANDBOX_SEP; c may be NULL. */
static char *sandbox_key(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) + 1 : 0) + 2;
    char *k = malloc(n);
    if (k == NULL) return NULL;
    snprintf(k, n, "%s" SANDBOX_SEP "%s%s%s", a, b, c ? SANDBOX_SEP : "", c ? c : "");
    return k;
}

typedef struct sandbox_buf {
    char *p;
    size_t len, cap;
    int oom;
} sandbox_buf;

static void sandbox_buf_add(sandbox_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sandbox_buf_str(sandbox_buf *b, const char *s) { sandbox_buf_add(b, s, strlen(s)); }

/* ------------------------------------------------------------------------
 * Dictionary
 * --------------------------------------------------------------------- */

static uint64_t sandbox_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
    return h;
}

static sandbox_dict_entry **sandbox_dict_slot(const sandbox_dict *d, const char *key, uint64_t h) {
    sandbox_dict_entry **e = &d->buckets[h & (d->nbuckets - 1)];
    while (*e && ((*e)->hash != h || strcmp((*e)->key, key) != 0)) e = &(*e)->next;
    return e;
}

static void *sandbox_dict_get(const sandbox_dict *d, const char *key) {
    if (d->nbuckets == 0) return NULL;
    sandbox_dict_entry **e = sandbox_dict_slot(d, key, sandbox_hash(key));
    return *e ? (*e)->val : NULL;
}

static int sandbox_dict_grow(sandbox_dict *d) {
    size_t n = d->nbuckets ? d->nbuckets * 2 : 64;
    sandbox_dict_entry **b = calloc(n, sizeof(*b));
    if (b == NULL) return -1;
    for (size_t i = 0; i < d->nbuckets; i++) {
        sandbox_dict_entry *e = d->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = n;
    return 0;
}

/* Insert or replace; 0 on success, -1 when out of memory (d unchanged). */
static int sandbox_dict_set(sandbox_dict *d, const char *key, void *val) {
    if (d->count >= d->nbuckets && sandbox_dict_grow(d) != 0) return -1;
    uint64_t h = sandbox_hash(key);
    sandbox_dict_entry **slot = sandbox_dict_slot(d, key, h);
    if (*slot) {
        (*slot)->val = val;
        return 0;
    }
    size_t klen = strlen(key) + 1;
    sandbox_dict_entry *e = malloc(sizeof(*e) + klen);
    if (e == NULL) return -1;
    memcpy(e->key, key, klen);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *slot = e;
    d->count++;
    return 0;
}

static void sandbox_dict_del(sandbox_dict *d, const char *key) {
    if (d->nbuckets == 0) return;
    sandbox_dict_entry **slot = sandbox_dict_slot(d, key, sandbox_hash(key));
    sandbox_dict_entry *e = *slot;
    if (e == NULL) return;
    *slot = e->next;
    free(e);
    d->count--;
}

static void sandbox_dict_clear(sandbox_dict *d, void (*free_val)(void *)) {
    for (size_t i = 0; i < d->nbuckets; i++) {
        sandbox_dict_entry *e = d->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            if (free_val) free_val(e->val);
            free(e);
        }
    }
    free(d->buckets);
    memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------------------------
 * Knobs: one table drives flags, GET and POST /_sandbox/config.
 * --------------------------------------------------------------------- */

typedef enum { SANDBOX_KNOB_LONG, SANDBOX_KNOB_RATE, SANDBOX_KNOB_BOOL } sandbox_knob_kind;

static const struct sandbox_knob_desc {
    const char *name;
    sandbox_knob_kind kind;
    size_t off;
} sandbox_knob_table[] = {
    {"latency_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, latency_ms)},
    {"latency_jitter_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, latency_jitter_ms)},
    {"error_rate_5xx", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, error_rate_5xx)},
    {"throttle_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, throttle_rate)},
    {"hang_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, hang_rate)},
    {"close_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, close_rate)},
    {"resend_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, resend_rate)},
    {"duplicate_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, duplicate_window_ms)},
    {"page_rate_limit", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, page_rate_limit)},
    {"rate_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, rate_window_ms)},
    {"reject_duplicates", SANDBOX_KNOB_BOOL, offsetof(sandbox_knobs, reject_duplicates)},
    {"faults_on_reads", SANDBOX_KNOB_BOOL, offsetof(sandbox_knobs, faults_on_reads)},
    {"max_held", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, max_held)},
    {"container_ready_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, container_ready_ms)},
    {"publish_error_after_commit_rate", SANDBOX_KNOB_RATE,
     offsetof(sandbox_knobs, publish_error_after_commit_rate)},
    {"instagram_quota", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, instagram_quota)},
    {"threads_quota", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, threads_quota)},
    {"quota_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, quota_window_ms)},
    {"x_user_post_limit", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_user_post_limit)},
    {"x_user_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_user_window_ms)},
    {"x_user_daily_limit", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_user_daily_limit)},
    {"linkedin_min_version", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, linkedin_min_version)},
    {"token_ttl_s", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, token_ttl_s)},
};

#define SANDBOX_NKNOBS (sizeof(sandbox_knob_table) / sizeof(sandbox_knob_table[0]))

void sandbox_knobs_default(sandbox_knobs *k) {
    memset(k, 0, sizeof(*k));
    k->rate_window_ms = 60000;
    k->reject_duplicates = 1;
    /* X and LinkedIn refuse a repeat of a recent post, not of any post ever;
     * a day is the order of magnitude (neither publishes the window). */
    k->duplicate_window_ms = 24 * 3600 * 1000;
    k->max_held = 5000;
    k->instagram_quota = 50; /* Instagram's documented limit */
    k->threads_quota = 250;  /* Threads' documented limit */
    k->quota_window_ms = 24 * 3600 * 1000;
    k->x_user_post_limit = 200;
    k->x_user_window_ms = 15 * 60 * 1000;
    k->token_ttl_s = 7200; /* X's access tokens live two hours */
}

void sandbox_knobs_get(sandbox_knobs *out) {
    pthread_mutex_lock(&server.lock);
    *out = server.knobs;
    pthread_mutex_unlock(&server.lock);
}

static const struct sandbox_knob_desc *sandbox_knob_find(const char *name) {
    for (size_t i = 0; i < SANDBOX_NKNOBS; i++)
        if (strcmp(sandbox_knob_table[i].name, name) == 0) return &sandbox_knob_table[i];
    return NULL;
}

static int sandbox_knob_store(sandbox_knobs *k, const struct sandbox_knob_desc *d, double v) {
    char *field = (char *)k + d->off;
    switch (d->kind) {
    case SANDBOX_KNOB_LONG:
        /* Written so that NaN fails before the cast. */
        if (!(v >= 0 && v <= SANDBOX_KNOB_MAX) || v != (double)(long)v) return -1;
        *(long *)field = (long)v;
        return 0;
    case SANDBOX_KNOB_RATE:
        if (!(v >= 0.0 && v <= 1.0)) return -1; /* also rejects NaN */
        *(double *)field = v;
        return 0;
    case SANDBOX_KNOB_BOOL:
        if (v != 0.0 && v != 1.0) return -1;
        *(int *)field = (int)v;
        return 0;
    }
    return -1;
}

int sandbox_knob_parse(sandbox_knobs *k, const char *name, const char *text) {
    const struct sandbox_knob_desc *d = sandbox_knob_find(name);
    char *end;
    double v;
    if (d == NULL || text == NULL || *text == '\0') return -1;
    if (d->kind == SANDBOX_KNOB_BOOL && strcmp(text, "true") == 0) text = "1";
    if (d->kind == SANDBOX_KNOB_BOOL && strcmp(text, "false") == 0) text = "0";
    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || *end != '\0') return -1;
    return sandbox_knob_store(k, d, v);
}

static json_t *sandbox_knobs_json(const sandbox_knobs *k, uint64_t seed) {
    json_t *o = json_object();
    int rc = 0;
    if (o == NULL) return NULL;
    for (size_t i = 0; i < SANDBOX_NKNOBS; i++) {
        const struct sandbox_knob_desc *d = &sandbox_knob_table[i];
        const char *field = (const char *)k + d->off;
        json_t *v = d->kind == SANDBOX_KNOB_LONG   ? json_integer(*(const long *)field)
                    : d->kind == SANDBOX_KNOB_RATE ? json_real(*(const double *)field)
                                                   : json_boolean(*(const int *)field);
        rc |= json_object_set_new(o, d->name, v);
    }
    rc |= json_object_set_new(o, "seed", json_integer((json_int_t)seed));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The number a JSON value stands for as knob d; -1 (always out of range)
 * when its type does not fit. Booleans also accept 0|1 like the flags. */
static double sandbox_knob_json_value(const struct sandbox_knob_desc *d, json_t *v) {
    if (d->kind == SANDBOX_KNOB_BOOL && json_is_boolean(v)) return json_is_true(v) ? 1.0 : 0.0;
    if (d->kind == SANDBOX_KNOB_BOOL && json_is_integer(v)) return (double)json_integer_value(v);
    if (d->kind != SANDBOX_KNOB_BOOL && json_is_number(v)) return json_number_value(v);
    return -1.0;
}

/* Validates every member of obj into *k (a copy); "seed" goes to *seed.
 * Returns 0, or -1 with a message in err. */
static int sandbox_knobs_from_json(sandbox_knobs *k, uint64_t *seed, json_t *obj, char *err,
                                   size_t errlen) {
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        const struct sandbox_knob_desc *d = sandbox_knob_find(name);
        int ok;
        if (strcmp(name, "seed") == 0) {
            ok = json_is_integer(v) && json_integer_value(v) >= 0;
            if (ok) *seed = (uint64_t)json_integer_value(v);
        } else if (d == NULL) {
            snprintf(err, errlen, "unknown knob '%s'", name);
            return -1;
        } else {
            ok = sandbox_knob_store(k, d, sandbox_knob_json_value(d, v)) == 0;
        }
        if (!ok) {
            snprintf(err, errlen, "invalid value for knob '%s'", name);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Counters
 * --------------------------------------------------------------------- */

static void sandbox_in_flight_add_locked(long n) {
    server.stats.in_flight += n;
    if (server.stats.in_flight > server.stats.max_in_flight)
        server.stats.max_in_flight = server.stats.in_flight;
}

static void sandbox_error_count_locked(int code) {
    sandbox_stats *s = &server.stats;
    for (size_t i = 0; i < s->nerrors; i++) {
        if (s->errors[i].code == code) {
            s->errors[i].n++;
            return;
        }
    }
    if (s->nerrors == s->errcap) {
        size_t cap = s->errcap ? s->errcap * 2 : 16;
        sandbox_error_count *e = realloc(s->errors, cap * sizeof(*e));
        if (e == NULL) return; /* losing a counter beats failing a request */
        s->errors = e;
        s->errcap = cap;
    }
    s->errors[s->nerrors].code = code;
    s->errors[s->nerrors].n = 1;
    s->nerrors++;
}

void sandbox_stats_error(int code) {
    pthread_mutex_lock(&server.lock);
    sandbox_error_count_locked(code);
    pthread_mutex_unlock(&server.lock);
}

void sandbox_stats_error_after_commit(void) {
    pthread_mutex_lock(&server.lock);
    server.stats.errors_after_commit++;
    pthread_mutex_unlock(&server.lock);
}

void sandbox_stats_quota_refusal(void) {
    pthread_mutex_lock(&server.lock);
    server.stats.quota_refusals++;
    pthread_mutex_unlock(&server.lock);
}

uint64_t sandbox_next_object_id(void) {
    pthread_mutex_lock(&server.lock);
    uint64_t id = server.next_object_id++;
    pthread_mutex_unlock(&server.lock);
    return id;
}

uint64_t sandbox_random_aux(void) {
    pthread_mutex_lock(&server.lock);
    uint64_t r = sandbox_rng_next(&server.rng_aux);
    pthread_mutex_unlock(&server.lock);
    return r;
}

/* ------------------------------------------------------------------------
 * Post store
 * --------------------------------------------------------------------- */

/* The store owns its copies; const only protects the platforms' drafts. */
static void sandbox_post_free(sandbox_post *p) {
    if (p == NULL) return;
    free((char *)p->id);
    free((char *)p->page_id);
    free((char *)p->kind);
    free((char *)p->message);
    free((char *)p->link);
    free((char *)p->photo_url);
    free((char *)p->photo_id);
    free((char *)p->token);
    free(p);
}

static void sandbox_page_free(void *v) {
    sandbox_page *pg = v;
    free(pg->posts);
    free(pg);
}

static sandbox_post *sandbox_post_copy(const sandbox_post *d) {
    sandbox_post *p = calloc(1, sizeof(*p));
    if (p == NULL) return NULL;
    *p = *d;
    p->id = strdup(d->id);
    p->page_id = strdup(d->page_id);
    p->kind = strdup(d->kind);
    p->message = sandbox_strdup_or_null(d->message);
    p->link = sandbox_strdup_or_null(d->link);
    p->photo_url = sandbox_strdup_or_null(d->photo_url);
    p->photo_id = sandbox_strdup_or_null(d->photo_id);
    p->token = sandbox_strdup_or_null(d->token);
    if (!p->id || !p->page_id || !p->kind || (d->message && !p->message) || (d->link && !p->link) ||
        (d->photo_url && !p->photo_url) || (d->photo_id && !p->photo_id) ||
        (d->token && !p->token)) {
        sandbox_post_free(p);
        return NULL;
    }
    return p;
}

static int sandbox_reserve(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need) n *= 2;
    void *p = realloc(*arr, n * elem);
    if (p == NULL) return -1;
    *arr = p;
    *cap = n;
    return 0;
}

static sandbox_page *sandbox_page_get_locked(const char *platform, const char *page_id) {
    char *key = sandbox_key(platform, page_id, NULL);
    sandbox_page *pg;
    if (key == NULL) return NULL;
    pg = sandbox_dict_get(&server.pages, key);
    if (pg == NULL && (pg = calloc(1, sizeof(*pg))) != NULL &&
        sandbox_dict_set(&server.pages, key, pg) != 0) {
        free(pg);
        pg = NULL;
    }
    free(key);
    return pg;
}

/* Index of the first post of pg accepted after now - window. */
static size_t sandbox_page_window_start(const sandbox_page *pg, int64_t now, long window) {
    size_t lo = 0, hi = pg->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pg->posts[mid]->accepted_at_ms > now - window)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Fills r for a page at its limit: retry when enough posts left the window. */
static void sandbox_page_throttle(const sandbox_page *pg, size_t start, int64_t now,
                                  sandbox_accept_result *r) {
    size_t idx = start + (size_t)(r->window_count - r->limit);
    int64_t leaves = pg->posts[idx]->accepted_at_ms + server.knobs.rate_window_ms;
    r->status = SANDBOX_ACCEPT_THROTTLED;
    r->retry_after_ms = leaves - now > 0 ? leaves - now : 1;
}

/* Accept clock: wall time, but never earlier than the previous accept,
 * so per-page lists stay sorted even if the system clock steps back. */
static int64_t sandbox_accept_clock_locked(void) {
    int64_t now = sandbox_wall_ms();
    if (now < server.last_accept_ms) now = server.last_accept_ms;
    server.last_accept_ms = now;
    return now;
}

static int sandbox_store_index_locked(sandbox_post *p, const char *dupkey) {
    char *idkey = sandbox_key(p->platform, p->id, NULL);
    char *photokey = p->photo_id ? sandbox_key(p->platform, p->photo_id, NULL) : NULL;
    int rc = -1;
    if (idkey == NULL || (p->photo_id && photokey == NULL)) goto out;
    if (sandbox_dict_set(&server.ids, idkey, p) != 0) goto out;
    if (photokey && sandbox_dict_set(&server.ids, photokey, p) != 0) {
        sandbox_dict_del(&server.ids, idkey);
        goto out;
    }
    if (dupkey && sandbox_dict_set(&server.messages, dupkey, p) != 0) {
        sandbox_dict_del(&server.ids, idkey);
        if (photokey) sandbox_dict_del(&server.ids, photokey);
        goto out;
    }
    rc = 0;
out:
    free(idkey);
    free(photokey);
    return rc;
}

/* Adds p everywhere; on failure nothing changes and the caller frees p. */
static int sandbox_store_add_locked(sandbox_post *p, sandbox_page *pg, const char *new_dupkey) {
    if (sandbox_reserve((void **)&server.posts, &server.posts_cap, server.nposts + 1,
                        sizeof(*server.posts)) != 0 ||
        sandbox_reserve((void **)&pg->posts, &pg->cap, pg->len + 1, sizeof(*pg->posts)) != 0 ||
        sandbox_store_index_locked(p, new_dupkey) != 0)
        return -1;
    p->seq = ++server.next_post_seq;
    server.posts[server.nposts++] = p;
    pg->posts[pg->len++] = p;
    return 0;
}

/* Page rate limit: fills r and returns 1 when the page is at its limit. */
static int sandbox_rate_limited_locked(const sandbox_page *pg, int64_t now,
                                       sandbox_accept_result *r) {
    const sandbox_knobs *k = &server.knobs;
    size_t start = sandbox_page_window_start(pg, now, k->rate_window_ms);
    r->window_count = (long)(pg->len - start);
    r->limit = k->page_rate_limit;
    if (r->limit <= 0 || k->rate_window_ms <= 0 || r->window_count < r->limit) return 0;
    sandbox_page_throttle(pg, start, now, r);
    return 1;
}

/* Duplicate rule, then the copy into the store. Only published posts with
 * a message take part in duplicate detection. */
static void sandbox_record_locked(sandbox_request *req, const sandbox_post *draft, sandbox_page *pg,
                                  int64_t now, sandbox_accept_result *r) {
    int keyed = draft->published && draft->message && draft->message[0];
    char *dupkey = keyed ? sandbox_key(req->platform->name, draft->page_id, draft->message) : NULL;
    if (keyed && dupkey == NULL) return;
    const sandbox_post *earlier = dupkey ? sandbox_dict_get(&server.messages, dupkey) : NULL;
    long window = server.knobs.duplicate_window_ms;
    int dup = earlier && (window <= 0 || earlier->accepted_at_ms > now - window);
    sandbox_post *p = NULL;
    if (dup && server.knobs.reject_duplicates) {
        server.stats.duplicates_rejected++;
        r->status = SANDBOX_ACCEPT_DUPLICATE;
    } else if ((p = sandbox_post_copy(draft)) != NULL) {
        p->platform = req->platform->name;
        p->received_at_ms = req->received_ms;
        p->accepted_at_ms = now;
        if (sandbox_store_add_locked(p, pg, dup ? NULL : dupkey) == 0) {
            req->committed = 1;
            if (dup) server.stats.duplicate_accepts++;
            r->status = SANDBOX_ACCEPT_OK;
            r->window_count++;
            p = NULL; /* owned by the store now */
        }
    }
    sandbox_post_free(p);
    free(dupkey);
}

static sandbox_accept_result sandbox_accept_locked(sandbox_request *req,
                                                   const sandbox_post *draft) {
    sandbox_accept_result r = {SANDBOX_ACCEPT_NOMEM, 0, 0, 0};
    int64_t now = sandbox_accept_clock_locked();
    sandbox_page *pg = sandbox_page_get_locked(req->platform->name, draft->page_id);
    if (pg != NULL && !sandbox_rate_limited_locked(pg, now, &r))
        sandbox_record_locked(req, draft, pg, now, &r);
    return r;
}

sandbox_accept_result sandbox_accept_post(sandbox_request *req, const sandbox_post *draft) {
    pthread_mutex_lock(&server.lock);
    sandbox_accept_result r = sandbox_accept_locked(req, draft);
    pthread_mutex_unlock(&server.lock);
    return r;
}

void sandbox_posts_of_page(const char *platform, const char *page_id, sandbox_post_cb cb,
                           void *ud) {
    char *key = sandbox_key(platform, page_id, NULL);
    if (key == NULL) return;
    pthread_mutex_lock(&server.lock);
    sandbox_page *pg = sandbox_dict_get(&server.pages, key);
    for (size_t i = pg ? pg->len : 0; i > 0; i--)
        if (!cb(pg->posts[i - 1], ud)) break;
    pthread_mutex_unlock(&server.lock);
    free(key);
}

int sandbox_post_by_id(const char *platform, const char *id, sandbox_post_cb cb, void *ud) {
    char *key = sandbox_key(platform, id, NULL);
    if (key == NULL) return 0;
    pthread_mutex_lock(&server.lock);
    sandbox_post *p = sandbox_dict_get(&server.ids, key);
    if (p) cb(p, ud);
    pthread_mutex_unlock(&server.lock);
    free(key);
    return p != NULL;
}

static void sandbox_store_clear_locked(void) {
    for (size_t i = 0; i < server.nposts; i++) sandbox_post_free(server.posts[i]);
    free(server.posts);
    server.posts = NULL;
    server.nposts = server.posts_cap = 0;
    sandbox_dict_clear(&server.ids, NULL);
    sandbox_dict_clear(&server.messages, NULL);
    sandbox_dict_clear(&server.pages, sandbox_page_free);
}

/* ------------------------------------------------------------------------
 * Request object: body accumulation and parameter parsing
 * --------------------------------------------------------------------- */

static void sandbox_req_free(sandbox_request *req) {
    for (size_t i = 0; i < req->nparams; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    for (int i = 0; i < req->nhdr; i++) {
        free(req->hdr_name[i]);
        free(req->hdr_value[i]);
    }
    free(req->params);
    free(req->body);
    free(req->resp);
    free(req);
}

static const sandbox_platform *sandbox_route(const char *path) {
    const sandbox_platform *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof(sandbox_routes) / sizeof(sandbox_routes[0]); i++) {
        size_t n = strlen(sandbox_routes[i]->prefix);
        if (strncmp(path, sandbox_routes[i]->prefix, n) == 0 && (best == NULL || n > best_len)) {
            best = sandbox_routes[i];
            best_len = n;
        }
    }
    return best;
}

static void sandbox_req_append(sandbox_request *req, const char *data, size_t n) {
    if (req->body_too_large) return;
    if (req->body_len + n > SANDBOX_MAX_BODY) {
        req->body_too_large = 1;
        return;
    }
    if (sandbox_reserve((void **)&req->body, &req->body_cap, req->body_len + n + 1, 1) != 0) {
        req->body_too_large = 1; /* answered 413: the honest failure mode */
        return;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
}

static int sandbox_req_add_param(sandbox_request *req, char *key, char *value) {
    if (key == NULL || value == NULL ||
        sandbox_reserve((void **)&req->params, &req->params_cap, req->nparams + 1,
                        sizeof(*req->params)) != 0) {
        free(key);
        free(value);
        return -1;
    }
    req->params[req->nparams].key = key;
    req->params[req->nparams].value = value;
    req->nparams++;
    return 0;
}

static int sandbox_hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of application/x-www-form-urlencoded text. */
static char *sandbox_form_decode(const char *s, size_t n) {
    char *out = malloc(n + 1), *o = out;
    if (out == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = sandbox_hexval(s[i + 1])) >= 0 &&
                   (lo = sandbox_hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int sandbox_parse_form(sandbox_request *req) {
    const char *p = req->body ? req->body : "";
    const char *end = p + req->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            const char *kend = eq ? eq : stop;
            const char *v = eq ? eq + 1 : stop;
            if (sandbox_req_add_param(req, sandbox_form_decode(p, (size_t)(kend - p)),
                                      sandbox_form_decode(v, (size_t)(stop - v))) != 0)
                return -1;
        }
        p = stop + 1;
    }
    return 0;
}

/* JSON scalars become the text a form post would have carried. */
static char *sandbox_json_to_text(json_t *v) {
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_STRING: return strdup(json_string_value(v));
    case JSON_TRUE: return strdup("true");
    case JSON_FALSE: return strdup("false");
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(tmp);
    case JSON_REAL: snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v)); return strdup(tmp);
    default: return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

static int sandbox_parse_json(sandbox_request *req) {
    json_error_t err;
    const char *key;
    json_t *v, *root = json_loadb(req->body ? req->body : "", req->body_len, 0, &err);
    int rc = 0;
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    json_object_foreach(root, key, v) {
        if (json_is_null(v)) continue;
        if (sandbox_req_add_param(req, strdup(key), sandbox_json_to_text(v)) != 0) {
            rc = -1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

/* Bodies are read as JSON or form data by Content-Type; others (multipart
 * uploads...) carry no parameters, as if the fields were missing. */
static void sandbox_req_parse_body(sandbox_request *req) {
    const char *ct = sandbox_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    int rc = 0;
    if (req->body_len == 0) return;
    if (sandbox_has_prefix_ci(ct, "application/json"))
        rc = sandbox_parse_json(req);
    else if (ct == NULL || sandbox_has_prefix_ci(ct, "application/x-www-form-urlencoded"))
        rc = sandbox_parse_form(req);
    if (rc != 0) req->body_invalid = 1;
}

/* ------------------------------------------------------------------------
 * Platform-facing accessors and replies
 * --------------------------------------------------------------------- */

const char *sandbox_req_method(const sandbox_request *req) { return req->method; }
const char *sandbox_req_path(const sandbox_request *req) { return req->path; }
int sandbox_req_body_valid(const sandbox_request *req) { return !req->body_invalid; }
int64_t sandbox_req_received_ms(const sandbox_request *req) { return req->received_ms; }

const char *sandbox_req_header(const sandbox_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sandbox_req_query(const sandbox_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sandbox_req_param(const sandbox_request *req, const char *name) {
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, name) == 0) return req->params[i].value;
    return sandbox_req_query(req, name);
}

sandbox_fault sandbox_req_fault(const sandbox_request *req, sandbox_op op) {
    if (req->fault == SANDBOX_FAULT_RESEND) return SANDBOX_FAULT_NONE; /* the core's */
    if (op == SANDBOX_OP_WRITE) return req->fault;
    if (req->fault == SANDBOX_FAULT_HANG || req->fault == SANDBOX_FAULT_CLOSE)
        return SANDBOX_FAULT_NONE;
    pthread_mutex_lock(&server.lock);
    int on_reads = server.knobs.faults_on_reads;
    pthread_mutex_unlock(&server.lock);
    return on_reads ? req->fault : SANDBOX_FAULT_NONE;
}

/* Takes ownership of body (malloc'd, NUL-terminated). */
static void sandbox_reply_raw(sandbox_request *req, unsigned status, const char *type, char *body) {
    free(req->resp);
    req->resp = body;
    req->resp_len = body ? strlen(body) : 0;
    req->resp_type = type;
    req->status = status;
}

void sandbox_reply_json(sandbox_request *req, unsigned status, json_t *body) {
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        /* Out of memory while building the answer: say so, tersely. */
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        text = strdup("{\"error\":\"out of memory\"}");
    }
    sandbox_reply_raw(req, status, "application/json", text);
}

void sandbox_reply_bytes(sandbox_request *req, unsigned status, const char *type, const void *data,
                         size_t len) {
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        sandbox_reply_json(req, 500, NULL);
        return;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    sandbox_reply_raw(req, status, type, copy);
    req->resp_len = len; /* binary: not up to the first NUL */
}

const char *sandbox_req_body(const sandbox_request *req, size_t *len) {
    *len = req->body_len;
    return req->body;
}

void sandbox_reply_empty(sandbox_request *req, unsigned status) {
    char *text = strdup("");
    sandbox_reply_raw(req, text ? status : MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                      text);
}

int sandbox_reply_header(sandbox_request *req, const char *name, const char *value) {
    if (req->nhdr == SANDBOX_MAX_HEADERS) return -1;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    req->hdr_name[req->nhdr] = n;
    req->hdr_value[req->nhdr] = v;
    req->nhdr++;
    return 0;
}

void sandbox_hold(sandbox_request *req) { req->hold = 1; }

static enum MHD_Result sandbox_req_send(sandbox_request *req) {
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (req->resp == NULL) sandbox_reply_json(req, 500, NULL);
    if (req->resp == NULL) return MHD_NO;
    r = MHD_create_response_from_buffer(req->resp_len, req->resp, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) return MHD_NO;
    req->resp = NULL; /* now owned (and freed) by the response */
    ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, req->resp_type);
    for (int i = 0; i < req->nhdr && ret == MHD_YES; i++)
        ret = MHD_add_response_header(r, req->hdr_name[i], req->hdr_value[i]);
    if (ret == MHD_YES) ret = MHD_queue_response(req->conn, req->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------------
 * Delay queue (min-heap on due time, then arrival order)
 * --------------------------------------------------------------------- */

static int sandbox_heap_less(const sandbox_request *a, const sandbox_request *b) {
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void sandbox_heap_swap(size_t i, size_t j) {
    sandbox_request *t = server.heap[i];
    server.heap[i] = server.heap[j];
    server.heap[j] = t;
}

/* Caller reserved room with sandbox_reserve first, so this cannot fail. */
static void sandbox_heap_push_locked(sandbox_request *req) {
    size_t i = server.heap_len++;
    server.heap[i] = req;
    while (i > 0 && sandbox_heap_less(server.heap[i], server.heap[(i - 1) / 2])) {
        sandbox_heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static sandbox_request *sandbox_heap_pop_locked(void) {
    sandbox_request *top = server.heap[0];
    size_t i = 0;
    server.heap[0] = server.heap[--server.heap_len];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < server.heap_len && sandbox_heap_less(server.heap[l], server.heap[m])) m = l;
        if (r < server.heap_len && sandbox_heap_less(server.heap[r], server.heap[m])) m = r;
        if (m == i) break;
        sandbox_heap_swap(i, m);
        i = m;
    }
    return top;
}

/* epoll_wait timeout until the earliest due request; -1 when none. */
static int sandbox_heap_timeout_locked(void) {
    if (server.heap_len == 0) return -1;
    int64_t wait = server.heap[0]->due_ms - sandbox_mono_ms();
    if (wait <= 0) return 0;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* ------------------------------------------------------------------------
 * Timer thread: resumes due and abandoned connections.
 * --------------------------------------------------------------------- */

static void sandbox_timer_wake(void) {
    uint64_t one = 1;
    if (write(server.wakefd, &one, sizeof(one)) != (ssize_t)sizeof(one) &&
        errno != EAGAIN) /* EAGAIN: counter saturated, a wake is pending */
        sandbox_log("cannot wake timer: %s", strerror(errno));
}

static void sandbox_held_unlink_locked(sandbox_request *req) {
    if (req->held_prev)
        req->held_prev->held_next = req->held_next;
    else
        server.held_head = req->held_next;
    if (req->held_next) req->held_next->held_prev = req->held_prev;
    req->held_prev = req->held_next = NULL;
    req->held = 0;
    server.held_count--;
    sandbox_in_flight_add_locked(-1);
    if (epoll_ctl(server.epfd, EPOLL_CTL_DEL, req->fd, NULL) != 0)
        sandbox_log("epoll_ctl(DEL, %d): %s", req->fd, strerror(errno));
}

/* Moves up to max requests that must be resumed into out: due ones, or
 * with all set (shutdown) every delayed and held one. */
static size_t sandbox_timer_take_locked(sandbox_request **out, size_t max, int all) {
    size_t n = 0;
    int64_t now = sandbox_mono_ms();
    while (n < max && server.heap_len > 0 && (all || server.heap[0]->due_ms <= now)) {
        out[n++] = sandbox_heap_pop_locked();
        sandbox_in_flight_add_locked(-1);
    }
    while (all && n < max && server.held_head != NULL) {
        out[n] = server.held_head;
        sandbox_held_unlink_locked(out[n++]);
    }
    return n;
}

static void sandbox_timer_resume(int all) {
    sandbox_request *batch[SANDBOX_BATCH];
    size_t n;
    do {
        pthread_mutex_lock(&server.lock);
        n = sandbox_timer_take_locked(batch, SANDBOX_BATCH, all);
        pthread_mutex_unlock(&server.lock);
        for (size_t i = 0; i < n; i++) MHD_resume_connection(batch[i]->conn);
    } while (n == SANDBOX_BATCH);
}

/* A held socket reported hang-up: the client gave up waiting. */
static void sandbox_timer_closed(sandbox_request *req) {
    int resume = 0;
    pthread_mutex_lock(&server.lock);
    if (req->held) {
        sandbox_held_unlink_locked(req);
        resume = 1;
    }
    pthread_mutex_unlock(&server.lock);
    if (resume) MHD_resume_connection(req->conn);
}

static void sandbox_timer_drain_wake(void) {
    uint64_t v;
    if (read(server.wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        sandbox_log("cannot read wake eventfd: %s", strerror(errno));
}

static void *sandbox_timer_main(void *arg) {
    struct epoll_event ev[64];
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&server.lock);
        int stop = server.stopping;
        int timeout = sandbox_heap_timeout_locked();
        pthread_mutex_unlock(&server.lock);
        if (stop) break;
        int n = epoll_wait(server.epfd, ev, 64, timeout);
        if (n < 0 && errno != EINTR) {
            sandbox_log("epoll_wait: %s", strerror(errno));
            n = 0;
            usleep(10000); /* do not spin if it keeps failing */
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL)
                sandbox_timer_drain_wake();
            else
                sandbox_timer_closed(ev[i].data.ptr);
        }
        sandbox_timer_resume(0);
    }
    sandbox_timer_resume(1); /* MHD must not be stopped with suspended connections */
    return NULL;
}

/* ------------------------------------------------------------------------
 * Request lifecycle: delay, answer, hold
 * --------------------------------------------------------------------- */

static int sandbox_stopping(void) {
    pthread_mutex_lock(&server.lock);
    int s = server.stopping;
    pthread_mutex_unlock(&server.lock);
    return s;
}

/* Draws the fault and the delay for a platform request, in arrival order,
 * from the seeded RNG: the same seed and request sequence give the same
 * faults. One draw picks at most one fault; rates are stacked in order. */
static int64_t sandbox_req_draw_locked(sandbox_request *req) {
    const sandbox_knobs *k = &server.knobs;
    double u = sandbox_rng_unit(&server.rng);
    double j = sandbox_rng_unit(&server.rng);
    server.stats.requests++;
    if (u < k->error_rate_5xx)
        req->fault = SANDBOX_FAULT_5XX;
    else if (u < k->error_rate_5xx + k->throttle_rate)
        req->fault = SANDBOX_FAULT_THROTTLE;
    else if (u < k->error_rate_5xx + k->throttle_rate + k->hang_rate)
        req->fault = SANDBOX_FAULT_HANG;
    else if (u < k->error_rate_5xx + k->throttle_rate + k->hang_rate + k->close_rate)
        req->fault = SANDBOX_FAULT_CLOSE;
    else if (u <
             k->error_rate_5xx + k->throttle_rate + k->hang_rate + k->close_rate + k->resend_rate)
        req->fault = SANDBOX_FAULT_RESEND;
    return k->latency_ms + (int64_t)(j * (double)(k->latency_jitter_ms + 1));
}

static enum MHD_Result sandbox_req_hold(sandbox_request *req) {
    if (req->fault == SANDBOX_FAULT_CLOSE) {
        /* The platform committed; MHD_NO closes the connection without a
         * byte of answer, as a crash after commit or a proxy would. On a
         * kept-alive connection this is what makes a client library resend. */
        pthread_mutex_lock(&server.lock);
        server.stats.closes++;
        pthread_mutex_unlock(&server.lock);
        return MHD_NO;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = req};
    int held = 0;
    pthread_mutex_lock(&server.lock);
    server.stats.hangs++;
    /* Register first: the timer cannot see the event before we unlock, and
     * by then the connection is suspended and linked. */
    if (ci != NULL && !server.stopping && server.held_count < server.knobs.max_held) {
        if (epoll_ctl(server.epfd, EPOLL_CTL_ADD, ci->connect_fd, &ev) == 0) {
            MHD_suspend_connection(req->conn);
            req->fd = ci->connect_fd;
            req->held = 1;
            req->held_next = server.held_head;
            if (server.held_head) server.held_head->held_prev = req;
            server.held_head = req;
            server.held_count++;
            sandbox_in_flight_add_locked(1);
            req->state = SANDBOX_ST_HELD;
            held = 1;
        } else {
            sandbox_log("epoll_ctl(ADD): %s", strerror(errno));
        }
    }
    if (!held) server.stats.hang_drops++; /* closed unanswered instead */
    pthread_mutex_unlock(&server.lock);
    return held ? MHD_YES : MHD_NO;
}

/* Forgets the answer handle() produced, for a second run of handle(). */
static void sandbox_reply_forget(sandbox_request *req) {
    free(req->resp);
    req->resp = NULL;
    req->resp_len = 0;
    for (int i = 0; i < req->nhdr; i++) {
        free(req->hdr_name[i]);
        free(req->hdr_value[i]);
    }
    req->nhdr = 0;
    req->status = 0;
}

static enum MHD_Result sandbox_req_answer(sandbox_request *req) {
    /* At shutdown resumed requests are dropped unanswered: nothing new is
     * recorded once the server has been told to stop. */
    if (req->state == SANDBOX_ST_DELAYED && sandbox_stopping()) return MHD_NO;
    req->state = SANDBOX_ST_ANSWERED;
    req->platform->handle(req);
    if (req->fault == SANDBOX_FAULT_RESEND && req->committed && !req->hold) {
        /* A proxy that lost the first answer sends the identical request
         * again: the platform processes it as any other request (its
         * duplicate rule answers) and only that answer reaches the client.
         * Once: a proxy retries a request, not its own retry. */
        sandbox_reply_forget(req);
        pthread_mutex_lock(&server.lock);
        server.stats.resends++;
        pthread_mutex_unlock(&server.lock);
        req->platform->handle(req);
    }
    if (req->hold) return sandbox_req_hold(req);
    return sandbox_req_send(req);
}

static enum MHD_Result sandbox_req_delay(sandbox_request *req, int64_t delay_ms) {
    int queued = 0, wake = 0;
    pthread_mutex_lock(&server.lock);
    if (!server.stopping && sandbox_reserve((void **)&server.heap, &server.heap_cap,
                                            server.heap_len + 1, sizeof(*server.heap)) == 0) {
        req->due_ms = sandbox_mono_ms() + delay_ms;
        req->seq = server.next_seq++;
        req->state = SANDBOX_ST_DELAYED;
        MHD_suspend_connection(req->conn);
        sandbox_heap_push_locked(req);
        sandbox_in_flight_add_locked(1);
        wake = server.heap[0] == req; /* the timer sleeps for a later one */
        queued = 1;
    }
    pthread_mutex_unlock(&server.lock);
    if (wake) sandbox_timer_wake();
    return queued ? MHD_YES : sandbox_req_answer(req);
}

static void sandbox_admin_handle(sandbox_request *req);

/* The full request is in: admin calls answer now, platform calls draw
 * their fate and wait out the latency first. */
static enum MHD_Result sandbox_req_complete(sandbox_request *req) {
    sandbox_req_parse_body(req);
    if (req->body_too_large) {
        sandbox_reply_raw(req, MHD_HTTP_CONTENT_TOO_LARGE, "application/json",
                          strdup("{\"error\":\"request body too large\"}"));
        return sandbox_req_send(req);
    }
    if (req->platform == NULL) {
        req->state = SANDBOX_ST_ANSWERED;
        sandbox_admin_handle(req);
        return sandbox_req_send(req);
    }
    pthread_mutex_lock(&server.lock);
    int64_t delay = sandbox_req_draw_locked(req);
    pthread_mutex_unlock(&server.lock);
    if (delay > 0) return sandbox_req_delay(req, delay);
    return sandbox_req_answer(req);
}

static enum MHD_Result sandbox_req_begin(struct MHD_Connection *conn, const char *url,
                                         const char *method, void **con_cls) {
    sandbox_request *req = calloc(1, sizeof(*req));
    if (req == NULL) return MHD_NO;
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->received_ms = sandbox_wall_ms();
    req->fd = -1;
    if (strncmp(url, SANDBOX_ADMIN_PREFIX, strlen(SANDBOX_ADMIN_PREFIX)) != 0 &&
        (req->platform = sandbox_route(url)) == NULL) {
        free(req); /* no catch-all platform in the table: refuse */
        return MHD_NO;
    }
    *con_cls = req;
    return MHD_YES;
}

static enum MHD_Result sandbox_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
    sandbox_request *req = *con_cls;
    (void)cls;
    (void)version;
    if (req == NULL) return sandbox_req_begin(conn, url, method, con_cls);
    if (*upload_data_size != 0) {
        sandbox_req_append(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (req->state) {
    case SANDBOX_ST_BODY: return sandbox_req_complete(req);
    case SANDBOX_ST_DELAYED: /* resumed by the timer: the answer is due */
        return sandbox_req_answer(req);
    case SANDBOX_ST_HELD: /* resumed because the client left, or shutdown */
    case SANDBOX_ST_ANSWERED:
    default: return MHD_NO;
    }
}

static void sandbox_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe) {
    sandbox_request *req = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (req == NULL) return;
    /* Held connections are always unlinked before they are resumed, and
     * MHD only closes resumed ones; this guards against surprises. */
    pthread_mutex_lock(&server.lock);
    if (req->held) sandbox_held_unlink_locked(req);
    pthread_mutex_unlock(&server.lock);
    sandbox_req_free(req);
    *con_cls = NULL;
}

/* ------------------------------------------------------------------------
 * Admin API: /_sandbox/...
 * --------------------------------------------------------------------- */

static void sandbox_admin_error(sandbox_request *req, unsigned status, const char *msg) {
    sandbox_reply_json(req, status, json_pack("{s:s}", "error", msg));
}

static void sandbox_admin_healthz(sandbox_request *req) {
    sandbox_reply_raw(req, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
}

static json_t *sandbox_str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *sandbox_post_json(const sandbox_post *p) {
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:I,s:I}", "sandbox_id",
        (json_int_t)p->seq, "id", p->id, "platform", p->platform, "page_id", p->page_id, "kind",
        p->kind, "message", sandbox_str_or_null(p->message), "link", sandbox_str_or_null(p->link),
        "photo_url", sandbox_str_or_null(p->photo_url), "photo_id",
        sandbox_str_or_null(p->photo_id), "token", sandbox_str_or_null(p->token), "published",
        p->published, "hung", p->hung, "received_at_ms", (json_int_t)p->received_at_ms,
        "accepted_at_ms", (json_int_t)p->accepted_at_ms);
}

static int sandbox_post_matches(const sandbox_post *p, const char *page, const char *pf) {
    return (page == NULL || strcmp(p->page_id, page) == 0) &&
           (pf == NULL || strcmp(p->platform, pf) == 0);
}

static void sandbox_admin_posts(sandbox_request *req) {
    const char *page = sandbox_req_query(req, "page_id");
    const char *pf = sandbox_req_query(req, "platform");
    json_t *arr = json_array();
    int rc = arr ? 0 : -1;
    pthread_mutex_lock(&server.lock);
    for (size_t i = 0; i < server.nposts && rc == 0; i++)
        if (sandbox_post_matches(server.posts[i], page, pf))
            rc = json_array_append_new(arr, sandbox_post_json(server.posts[i]));
    pthread_mutex_unlock(&server.lock);
    if (rc != 0) {
        json_decref(arr);
        arr = NULL;
    }
    sandbox_reply_json(req, MHD_HTTP_OK, arr ? json_pack("{s:o}", "posts", arr) : NULL);
}

/* TSV field: backslash, tab, CR and LF escaped so one post = one line. */
static void sandbox_tsv_field(sandbox_buf *b, const char *s) {
    for (; s && *s; s++) {
        const char *esc = *s == '\t'   ? "\\t"
                          : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r"
                          : *s == '\\' ? "\\\\"
                                       : NULL;
        if (esc)
            sandbox_buf_str(b, esc);
        else
            sandbox_buf_add(b, s, 1);
    }
}

static void sandbox_tsv_post(sandbox_buf *b, const sandbox_post *p) {
    char num[32];
    snprintf(num, sizeof(num), "\t%" PRId64 "\t", p->accepted_at_ms);
    sandbox_tsv_field(b, p->page_id);
    sandbox_buf_add(b, "\t", 1);
    sandbox_tsv_field(b, p->message);
    sandbox_buf_str(b, num);
    sandbox_tsv_field(b, p->id);
    sandbox_buf_add(b, "\n", 1);
}

static void sandbox_admin_posts_tsv(sandbox_request *req) {
    const char *page = sandbox_req_query(req, "page_id");
    const char *pf = sandbox_req_query(req, "platform");
    sandbox_buf b = {NULL, 0, 0, 0};
    sandbox_buf_add(&b, "", 0); /* an empty list is still a valid body */
    pthread_mutex_lock(&server.lock);
    for (size_t i = 0; i < server.nposts; i++)
        if (sandbox_post_matches(server.posts[i], page, pf)) sandbox_tsv_post(&b, server.posts[i]);
    pthread_mutex_unlock(&server.lock);
    if (b.oom) {
        free(b.p);
        sandbox_admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    sandbox_reply_raw(req, MHD_HTTP_OK, "text/tab-separated-values", b.p);
}

/* Largest number of accepted publishes of one page inside any window of
 * rate_window_ms: what a test compares with the configured limit. */
static long sandbox_max_in_window_locked(void) {
    long best = 0, window = server.knobs.rate_window_ms;
    for (size_t i = 0; i < server.pages.nbuckets; i++) {
        for (sandbox_dict_entry *e = server.pages.buckets[i]; e; e = e->next) {
            const sandbox_page *pg = e->val;
            for (size_t lo = 0, hi = 0; hi < pg->len; hi++) {
                while (lo < hi &&
                       pg->posts[lo]->accepted_at_ms <= pg->posts[hi]->accepted_at_ms - window)
                    lo++;
                if ((long)(hi - lo + 1) > best) best = (long)(hi - lo + 1);
            }
        }
    }
    return best;
}

static json_t *sandbox_errors_json_locked(void) {
    json_t *o = json_object();
    char code[16];
    int rc = o ? 0 : -1;
    for (size_t i = 0; i < server.stats.nerrors && rc == 0; i++) {
        snprintf(code, sizeof(code), "%d", server.stats.errors[i].code);
        rc = json_object_set_new(o, code, json_integer((json_int_t)server.stats.errors[i].n));
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *sandbox_stats_json_locked(void) {
    const sandbox_stats *s = &server.stats;
    json_t *errors = sandbox_errors_json_locked();
    if (errors == NULL) return NULL;
    json_t *oauth = sandbox_oauth_stats_json();
    if (oauth == NULL) {
        json_decref(errors);
        return NULL;
    }
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:o}", "requests",
        (json_int_t)s->requests, "connections", (json_int_t)s->connections, "accepted",
        (json_int_t)server.nposts, "duplicate_accepts", (json_int_t)s->duplicate_accepts,
        "duplicates_rejected", (json_int_t)s->duplicates_rejected, "hangs", (json_int_t)s->hangs,
        "hang_drops", (json_int_t)s->hang_drops, "closes", (json_int_t)s->closes, "resends",
        (json_int_t)s->resends, "errors_after_commit", (json_int_t)s->errors_after_commit,
        "quota_refusals", (json_int_t)s->quota_refusals, "held", (json_int_t)server.held_count,
        "in_flight", (json_int_t)s->in_flight, "max_in_flight", (json_int_t)s->max_in_flight,
        "errors", errors, "max_posts_per_page_in_window",
        (json_int_t)sandbox_max_in_window_locked(), "rate_window_ms",
        (json_int_t)server.knobs.rate_window_ms, "oauth", oauth);
}

long sandbox_token_ttl_s(void) {
    pthread_mutex_lock(&server.lock);
    long ttl = server.knobs.token_ttl_s;
    pthread_mutex_unlock(&server.lock);
    return ttl;
}

static void sandbox_admin_stats(sandbox_request *req) {
    pthread_mutex_lock(&server.lock);
    json_t *o = sandbox_stats_json_locked();
    pthread_mutex_unlock(&server.lock);
    sandbox_reply_json(req, MHD_HTTP_OK, o);
}

static void sandbox_admin_config_get(sandbox_request *req) {
    pthread_mutex_lock(&server.lock);
    json_t *o = sandbox_knobs_json(&server.knobs, server.seed);
    pthread_mutex_unlock(&server.lock);
    sandbox_reply_json(req, MHD_HTTP_OK, o);
}

/* All-or-nothing: knobs are validated on a copy, then swapped in. */
static void sandbox_admin_config_post(sandbox_request *req) {
    json_error_t jerr;
    char err[128];
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        sandbox_admin_error(req, MHD_HTTP_BAD_REQUEST, "body must be a JSON object");
        return;
    }
    pthread_mutex_lock(&server.lock);
    sandbox_knobs k = server.knobs;
    uint64_t seed = server.seed;
    int rc = sandbox_knobs_from_json(&k, &seed, body, err, sizeof(err));
    if (rc == 0) {
        server.knobs = k;
        if (seed != server.seed) sandbox_rng_seed_locked(seed);
    }
    pthread_mutex_unlock(&server.lock);
    json_decref(body);
    if (rc != 0)
        sandbox_admin_error(req, MHD_HTTP_BAD_REQUEST, err);
    else
        sandbox_admin_config_get(req);
}

/* Forgets posts and counters and restarts the RNG from the seed, so each
 * test case after a reset sees the same fault sequence. In-flight requests
 * are untouched (and will still be recorded when they answer). */
static void sandbox_admin_reset(sandbox_request *req) {
    pthread_mutex_lock(&server.lock);
    sandbox_store_clear_locked();
    free(server.stats.errors);
    long in_flight = server.stats.in_flight;
    memset(&server.stats, 0, sizeof(server.stats));
    server.stats.in_flight = server.stats.max_in_flight = in_flight;
    server.next_post_seq = 0;
    sandbox_rng_seed_locked(server.seed);
    pthread_mutex_unlock(&server.lock);
    sandbox_oauth_reset();
    sandbox_reply_json(req, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
}

static const struct sandbox_admin_route {
    const char *method;
    const char *path;
    void (*fn)(sandbox_request *req);
} sandbox_admin_routes[] = {
    {"GET", "healthz", sandbox_admin_healthz},     {"GET", "posts", sandbox_admin_posts},
    {"GET", "posts.tsv", sandbox_admin_posts_tsv}, {"GET", "stats", sandbox_admin_stats},
    {"GET", "config", sandbox_admin_config_get},   {"POST", "config", sandbox_admin_config_post},
    {"POST", "reset", sandbox_admin_reset},
};

static void sandbox_admin_handle(sandbox_request *req) {
    const char *sub = req->path + strlen(SANDBOX_ADMIN_PREFIX);
    int path_known = 0;
    for (size_t i = 0; i < sizeof(sandbox_admin_routes) / sizeof(sandbox_admin_routes[0]); i++) {
        const struct sandbox_admin_route *r = &sandbox_admin_routes[i];
        if (strcmp(r->path, sub) != 0) continue;
        path_known = 1;
        if (strcmp(r->method, req->method) == 0) {
            r->fn(req);
            return;
        }
    }
    if (path_known)
        sandbox_admin_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    else
        sandbox_admin_error(req, MHD_HTTP_NOT_FOUND, "unknown admin route");
}

/* ------------------------------------------------------------------------
 * Start and stop
 * --------------------------------------------------------------------- */

static int sandbox_resolve(const char *host, unsigned port, struct sockaddr_storage *ss,
                           int *is_v6) {
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int rc;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(host && *host ? host : "0.0.0.0", portstr, &hints, &res);
    if (rc != 0) {
        sandbox_log("cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *is_v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

static int sandbox_timer_start(void) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    server.epfd = epoll_create1(EPOLL_CLOEXEC);
    server.wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (server.epfd < 0 || server.wakefd < 0 ||
        epoll_ctl(server.epfd, EPOLL_CTL_ADD, server.wakefd, &ev) != 0) {
        sandbox_log("cannot set up the timer: %s", strerror(errno));
        return -1;
    }
    int rc = pthread_create(&server.timer, NULL, sandbox_timer_main, NULL);
    if (rc != 0) {
        sandbox_log("cannot start the timer thread: %s", strerror(rc));
        return -1;
    }
    server.timer_started = 1;
    return 0;
}

/* HTTPS is optional so a benchmark can price TLS handshakes and record
 * encryption against the same imitation (bench/run.sh BENCH_TLS=1). The
 * options go in as an array: without TLS the array simply ends earlier,
 * and the libmicrohttpd build must say it has TLS at all (Debian's links
 * GnuTLS) or we refuse to start rather than serve plain HTTP to a client
 * that expects https. */
static int sandbox_tls_options(const sandbox_config *cfg, unsigned *flags,
                               struct MHD_OptionItem *opts) {
    if (cfg->tls_cert_pem == NULL && cfg->tls_key_pem == NULL) return 0;
    if (cfg->tls_cert_pem == NULL || cfg->tls_key_pem == NULL) {
        sandbox_log("--tls-cert and --tls-key go together");
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        sandbox_log("this libmicrohttpd was built without TLS: cannot serve https");
        return -1;
    }
    *flags |= MHD_USE_TLS;
    opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem};
    opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem};
    return 2;
}

static void sandbox_connection_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                                      enum MHD_ConnectionNotificationCode code) {
    (void)cls, (void)conn, (void)socket_ctx;
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    pthread_mutex_lock(&server.lock);
    server.stats.connections++;
    pthread_mutex_unlock(&server.lock);
}

static int sandbox_daemon_start(const sandbox_config *cfg) {
    struct sockaddr_storage ss;
    int is_v6 = 0;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[3];
    int ntls = sandbox_tls_options(cfg, &flags, tls);
    if (ntls < 0) return -1;
    tls[ntls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (sandbox_resolve(cfg->host, cfg->port, &ss, &is_v6) != 0) return -1;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    if (is_v6) flags |= MHD_USE_IPv6;
    server.daemon =
        MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, sandbox_access, NULL,
                         MHD_OPTION_EXTERNAL_LOGGER, sandbox_mhd_log, NULL, /* must come first */
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)SANDBOX_CONNECTION_LIMIT, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                         (unsigned)SANDBOX_LISTEN_BACKLOG, MHD_OPTION_NOTIFY_COMPLETED,
                         sandbox_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                         sandbox_connection_notify, NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (server.daemon == NULL) {
        sandbox_log("cannot listen on %s:%u", cfg->host, cfg->port);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(server.daemon, MHD_DAEMON_INFO_BIND_PORT);
    server.port = di ? di->port : cfg->port;
    return 0;
}

int sandbox_server_start(const sandbox_config *cfg) {
    int rc = pthread_mutex_init(&server.lock, NULL);
    if (rc != 0) {
        sandbox_log("pthread_mutex_init: %s", strerror(rc));
        return -1;
    }
    server.epfd = server.wakefd = -1;
    server.knobs = cfg->knobs;
    server.next_object_id = SANDBOX_FIRST_OBJECT_ID;
    sandbox_rng_seed_locked(cfg->seed);
    if (sandbox_timer_start() != 0 || sandbox_daemon_start(cfg) != 0) {
        sandbox_server_stop();
        return -1;
    }
    return 0;
}

unsigned sandbox_server_port(void) { return server.port; }

void sandbox_server_stop(void) {
    pthread_mutex_lock(&server.lock);
    server.stopping = 1;
    pthread_mutex_unlock(&server.lock);
    if (server.timer_started) {
        sandbox_timer_wake();
        int rc = pthread_join(server.timer, NULL);
        if (rc != 0) sandbox_log("pthread_join: %s", strerror(rc));
        server.timer_started = 0;
    }
    if (server.daemon) MHD_stop_daemon(server.daemon);
    server.daemon = NULL;
    if (server.epfd >= 0) close(server.epfd);
    if (server.wakefd >= 0) close(server.wakefd);
    server.epfd = server.wakefd = -1;
    sandbox_store_clear_locked(); /* single-threaded again: no lock needed */
    free(server.stats.errors);
    free(server.heap);
    server.stats.errors = NULL;
    server.heap = NULL;
    pthread_mutex_destroy(&server.lock);
}
