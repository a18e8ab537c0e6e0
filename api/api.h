/* api.h -- autopost-api: the HTTP door applications use (issue 18).
 *
 *   main.c          flags, config, health endpoint, signals, the daemon's life
 *   server.c        libmicrohttpd glue: body (1 MiB cap), request id, log line,
 *                   then auth, rate limit and the route's handler
 *   routes.c        the route table: method + path pattern -> handler
 *   auth.c          Authorization: Bearer <key> -> the key's tenant
 *   ratelimit.c     a token bucket per key (api.rate_limit_per_second)
 *   errors.c        the one error shape {"error":{"code","message","details"}}
 *   db.c            one PostgreSQL connection per HTTP thread
 *   post_request.c  the POST /v1/posts body decoder (no I/O; fuzzed)
 *   posts.c         POST /v1/posts, GET /v1/posts/{id}
 *   series.c        recurring posts: occurrences, cancel, PATCH text
 *   idempotency.c   Idempotency-Key: claim, replay, remember
 *   schedules.c     GET /v1/schedules, cancel (cancel.h, with NATS), reschedule;
 *                   GET /v1/accounts
 *   webhooks.c      POST/GET /v1/webhooks, DELETE /v1/webhooks/{id},
 *                   GET /v1/webhooks/{id}/deliveries (webhooks/endpoints.h)
 *   openapi.c       api/openapi.yaml (embedded) served as JSON
 *
 * Threads: libmicrohttpd runs a pool of api.threads threads; a request is
 * handled start to end on one of them, and each thread has its own libpq
 * connection (a connection must not be shared between threads). Handlers
 * are plain functions from a request to a reply, so the decoder and the
 * error shapes are unit-tested without a server. */
#ifndef API_H
#define API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_crypto.h"
#include "ap_nats.h"
#include "ap_pg.h"
#include "ap_store.h"
#include "ap_trace.h"
#include "endpoints.h"

#define API_MAX_BODY (1024 * 1024) /* larger bodies get 413 */

/* What a handler sees of a request. */
typedef struct api_request {
    const char *method;
    const char *path;
    const char *path_id; /* the {id} segment of the matched route, or NULL */
    const char *body;    /* NUL-terminated; "" when none */
    size_t body_len;
    const char *idempotency_key; /* header, or NULL */
    char tenant_id[37];          /* the key's tenant (after auth) */
    char key_id[37];
    char request_id[37];
    /* This request's span of the caller's trace (its `traceparent`, or a
     * new trace when it sent none or an invalid one: never a 4xx). Stored
     * with the schedules a POST /v1/posts makes. */
    char traceparent[AP_TRACEPARENT_LEN + 1];
    const ap_config *cfg;
    const ap_crypto_keyring *keyring; /* seals webhook secrets (read-only) */
    /* The process's NATS connection (thread-safe in nats.c): a cancel of a
     * queued schedule marks the publishers' attempt record through it. */
    const ap_nats *nats;
    /* Query string values (NULL when absent). */
    const char *(*query)(void *conn, const char *name);
    void *conn;
} api_request;

/* A handler's answer: status, JSON body (owned, may be NULL), and an
 * optional Retry-After in seconds (0: none). */
typedef struct api_reply {
    unsigned int status;
    json_t *body;
    int retry_after_s;
    char *raw_body; /* already-serialised body (an idempotent replay); owned */
} api_reply;

typedef api_reply (*api_handler)(api_request *req, PGconn *db);

/* ---- routes.c ---------------------------------------------------------- */

typedef struct api_route {
    const char *method;
    const char *pattern; /* "/v1/posts/{id}": one {id} segment at most */
    api_handler handler;
    bool public_route; /* no key needed (the OpenAPI document) */
} api_route;

extern const api_route api_routes[]; /* ends with method == NULL */

/* The route for method + path, with *id_out pointing at the {id} segment
 * copied into id_buf (37 bytes; a longer segment does not match). Sets
 * *path_known when the path matches some route with another method (405). */
const api_route *api_route_find(const char *method, const char *path, char id_buf[37],
                                bool *path_known);

/* ---- errors.c ---------------------------------------------------------- */

/* {"error": {"code", "message", "details": []}} with status. */
api_reply api_error(unsigned int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds {"field", "reason"} to an error reply's details. */
void api_error_detail(api_reply *r, const char *field, const char *reason);
/* The 500 every database failure becomes; the cause goes to the log only. */
api_reply api_error_internal(const api_request *req, const char *what, const char *cause);

/* ---- auth.c ------------------------------------------------------------ */

/* Authorization header -> req->tenant_id / key_id: true when the key is
 * good, else false with *out the reply to send (401, or 500/503). */
bool api_auth(api_request *req, PGconn *db, const char *authorization, api_reply *out);

/* ---- ratelimit.c ------------------------------------------------------- */

typedef struct api_ratelimit api_ratelimit;
api_ratelimit *api_ratelimit_new(double per_second, double burst);
void api_ratelimit_free(api_ratelimit *rl);
/* Takes one token from key's bucket at now_ms; false with *retry_after_s
 * (>= 1) when it is empty. */
bool api_ratelimit_take(api_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);

/* ---- db.c -------------------------------------------------------------- */

/* This thread's connection (opened on first use, reset when broken); NULL
 * when the database cannot be reached now. */
PGconn *api_db(const ap_config *cfg);
/* Closes every thread's connection (after the daemon stopped). */
void api_db_close_all(void);
/* Runs a statement with text parameters; NULL (err filled) unless its
 * status is want. */
/* Runs a store statement (store/ap_store.h: every statement about
 * schedules lives there); NULL with err filled on failure. */
PGresult *api_db_store(PGconn *db, ap_store_op op, const char *const *params, char *err,
                       size_t errlen);
PGresult *api_db_exec(PGconn *db, const char *sql, int n, const char *const *params,
                      ExecStatusType want, char *err, size_t errlen);

/* ---- post_request.c ---------------------------------------------------- */

#define API_MAX_ACCOUNTS 50 /* account_ids per post */

struct ctl_post;
/* The decoded body of POST /v1/posts: the post (its account_id unset) and
 * the accounts it goes to. */
typedef struct api_post_request {
    char account_ids[API_MAX_ACCOUNTS][37];
    size_t naccounts;
    struct ctl_post *post; /* owned; api_post_request_free */
    bool at_given;         /* "at" was in the body (not null) */
    /* "recurrence": {"rrule", "tz", "start"} (README "Recurring posts"):
     * all three set (owned) or all NULL. Checked with ap_recur, without the
     * api.min_recurrence_interval bound (api_recurrence_check adds it). */
    char *recur_rrule, *recur_tz, *recur_start;
} api_post_request;

/* Decodes and checks what needs no database (shape, UUIDs, at, content,
 * URLs). false with *err a 422 (or 400 for JSON that does not parse). */
bool api_post_request_decode(api_post_request *pr, const char *body, size_t len, api_reply *err);
void api_post_request_free(api_post_request *pr);
/* The recurrence by ctl_recurrence_check (the rules autopostctl applies
 * too): with min_interval_ms (api.min_recurrence_interval) and, when now_ms
 * > 0, an occurrence after it. true when none was given or it passes; else
 * false with *err a 422 naming the field. */
bool api_recurrence_check(const api_post_request *pr, int64_t min_interval_ms, int64_t now_ms,
                          api_reply *err);

/* ---- handlers ---------------------------------------------------------- */

api_reply api_posts_create(api_request *req, PGconn *db);
api_reply api_posts_get(api_request *req, PGconn *db);
api_reply api_posts_patch(api_request *req, PGconn *db);
api_reply api_posts_cancel(api_request *req, PGconn *db);
api_reply api_posts_occurrences(api_request *req, PGconn *db);
api_reply api_accounts_list(api_request *req, PGconn *db);
api_reply api_schedules_list(api_request *req, PGconn *db);
api_reply api_schedules_cancel(api_request *req, PGconn *db);
api_reply api_schedules_patch(api_request *req, PGconn *db);
api_reply api_schedules_get(api_request *req, PGconn *db);
api_reply api_openapi_get(api_request *req, PGconn *db);
api_reply api_webhooks_create(api_request *req, PGconn *db);
api_reply api_webhooks_list(api_request *req, PGconn *db);
api_reply api_webhooks_delete(api_request *req, PGconn *db);
api_reply api_webhooks_deliveries(api_request *req, PGconn *db);

/* ---- webhooks.c: the POST /v1/webhooks body ------------------------------ */

/* {"url": "...", "events": ["schedule.published", ...]} and nothing else,
 * checked by the endpoint store's rules (url: wh_endpoint_url_check with
 * allow_private; each event: wh_event_types_check, one type per element). */
typedef struct api_webhook_request {
    char *url;                                                         /* owned */
    char events_csv[WH_MAX_EVENT_TYPES * (WH_EVENT_TYPE_MAX + 1) + 1]; /* "a,b" */
} api_webhook_request;

/* false with *err a 422 naming the field (or 400 for JSON that does not parse). */
bool api_webhook_request_decode(api_webhook_request *wr, const char *body, size_t len,
                                bool allow_private, api_reply *err);
void api_webhook_request_free(api_webhook_request *wr);

/* ---- posts.c / series.c: recurring posts ------------------------------- */

/* The key's tenant's accounts among pr's, each checked as a create checks
 * it (usable, the platform's rules for pr's post); false with *r a 422
 * listing every refusal (or a 500). */
bool api_posts_check_accounts(const api_request *req, PGconn *db, const api_post_request *pr,
                              api_reply *r);
/* A series' create rules that need the config or the clock
 * (api.min_recurrence_interval, an occurrence after now); false with *err. */
bool api_series_check(const api_post_request *pr, const ap_config *cfg, api_reply *err);
/* Inserts pr as a series (no schedule rows: the scheduler makes them);
 * *out the 201 body. media is the post's media as JSON text, variants its
 * variants (ctl_post_variants_json; NULL: none). */
bool api_series_insert(const api_request *req, PGconn *db, const api_post_request *pr,
                       const char *media, const char *variants, json_t **out, char *err,
                       size_t errlen);
/* {"rrule","tz","start","cancelled_at"} from columns col..col+3 (rule, zone,
 * start, cancelled-at epoch ms) of row, or JSON null for a one-off post. */
json_t *api_series_json(PGresult *res, int row, int col);

/* ---- openapi.c --------------------------------------------------------- */

/* Parses the embedded api/openapi.yaml into JSON once; false with err when
 * it does not parse (a build that ships a broken document must not start). */
bool api_openapi_load(char *err, size_t errlen);
/* The document (borrowed; NULL before a successful load). */
json_t *api_openapi_document(void);
void api_openapi_free(void);

/* ---- idempotency.c ----------------------------------------------------- */

typedef enum api_idem_state {
    API_IDEM_NEW,      /* the key is ours: do the work, then api_idem_remember */
    API_IDEM_REPLAY,   /* same key, same request: *replay is the first answer */
    API_IDEM_CONFLICT, /* same key, another request: 409 */
    API_IDEM_ERROR,
} api_idem_state;

/* Inside the caller's transaction: claims (tenant, key) for this request's
 * fingerprint, waiting for a concurrent holder of the same key to finish. */
api_idem_state api_idem_claim(const api_request *req, PGconn *db, api_reply *replay, char *err,
                              size_t errlen);
/* Stores the answer in the claimed row (same transaction). */
bool api_idem_remember(const api_request *req, PGconn *db, unsigned int status, const char *body,
                       char *err, size_t errlen);

/* ---- shared helpers ----------------------------------------------------- */

/* Epoch-ms text (as CTL_SQL_MS gives) -> RFC 3339 JSON string, or null. */
json_t *api_json_time(const char *ms_text);
/* A column: JSON null for SQL NULL, else a string. */
json_t *api_json_text(PGresult *res, int row, int col);

/* One schedule from a row of the store's api_* statements (columns by
 * position, store/sql/api_schedules_create.sql lists them), in the shape
 * GET /v1/posts/{id}, the list and the events share:
 * {"id","account_id","platform","status","attempts","scheduled_at",
 *  "published_at","external_id","external_url","error": {...} | null,
 *  "trace_id": 32 hex | null (a row stored before 0025)}. */
json_t *api_schedule_json(PGresult *res, int row);

#define API_SQL_MS(col) "(extract(epoch from " col ") * 1000)::bigint"

#endif
