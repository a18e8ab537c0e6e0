/* server.h -- the platform sandbox core, as seen by main.c and by the
 * platform imitations (facebook.c, x.c, linkedin.c, containers.c, ...).
 *
 * The core owns everything that is not specific to one social network:
 * the HTTP server (libmicrohttpd), the delay queue that imitates latency
 * without a thread per request, fault injection (5xx, throttling, hangs),
 * the in-memory record of accepted posts with the per-page rate limiter and
 * duplicate detection, the counters, and the /_sandbox/ admin API.
 *
 * A platform is a sandbox_platform value: a name, a URL prefix and one
 * handle() function. The core calls handle() once per request, at the
 * moment the (possibly delayed) answer is due; handle() reads the request
 * through the sandbox_req_* accessors and answers with sandbox_reply_json()
 * or sandbox_hold(). Platforms never see libmicrohttpd, so adding a network
 * is one new file plus its line in common/platforms.list (which puts it in
 * the route table in server.c). The core's own files share core.h.
 *
 * Threading: handle() always runs on the single libmicrohttpd polling
 * thread. The post store functions take the core's mutex themselves; their
 * callbacks run with that mutex held and must not call back into the store.
 */

#ifndef SANDBOX_SERVER_H
#define SANDBOX_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ------------------------------------------------------------------------
 * Knobs and lifecycle (used by main.c)
 * --------------------------------------------------------------------- */

/* Behaviour that tests tune at start (flags) or at run time
 * (POST /_sandbox/config). Rates are fractions in [0,1]. */
typedef struct sandbox_knobs {
    long latency_ms;          /* base delay before every platform answer */
    long latency_jitter_ms;   /* extra delay, uniform in [0, jitter] */
    double error_rate_5xx;    /* fraction answered with a transient 5xx */
    double throttle_rate;     /* fraction answered with an app rate limit */
    double hang_rate;         /* fraction of publishes accepted, never answered */
    double close_rate;        /* fraction of publishes accepted, then the connection
                                 closed with no answer (a crash after commit, a
                                 proxy or idle-timeout race) */
    double resend_rate;       /* fraction of publishes a retrying proxy sends twice:
                                 the first commits, the client gets the second
                                 answer (a duplicate refusal, where the platform
                                 has one) */
    long duplicate_window_ms; /* a post duplicates an earlier one of the same page
                                 and message only this recently (platforms
                                 compare recent posts); 0 = ever */
    long page_rate_limit;     /* max accepted publishes per page per window; 0 = off */
    long rate_window_ms;      /* window of page_rate_limit and of the stat */
    int reject_duplicates;    /* same page + same message -> duplicate error */
    int faults_on_reads;      /* also inject 5xx/throttle into read calls */
    long max_held;            /* cap on hung connections kept open */

    /* Instagram and Threads (containers.c) */
    long container_ready_ms;                /* media containers stay IN_PROGRESS this long */
    double publish_error_after_commit_rate; /* fraction of *_publish calls that publish,
                                               then answer an error: a 5xx or "already
                                               published" (what a proxy's retry sees) */
    long instagram_quota;                   /* posts per account per rolling quota_window_ms */
    long threads_quota;
    long quota_window_ms; /* the quotas' rolling window (real: 24 h); short in tests */
    /* Platform imitations (x.c, linkedin.c). */
    long x_user_post_limit;  /* X: posts per user per x_user_window_ms (real: 200) */
    long x_user_window_ms;   /* X: that window (real: 15 minutes) */
    long x_user_daily_limit; /* X: posts per user per 24 h (tier-dependent); 0 = off */
    /* X's chunked media upload (x_chunked.c): failure modes. */
    long x_append_fail_segment; /* k: the first append of segment k-1 is stored, then 503 */
    long x_processing_polls;    /* STATUS says in_progress this many times first */
    int x_processing_fail;      /* processing ends failed */
    long x_expire_uploads;      /* the next n uploads are forgotten after one append */
    /* X replies (a thread's parts, first comments): the x_reply_fault_at-th
     * reply since either knob last changed gets x_reply_fault, once: 1 = 503
     * (nothing stored), 2 = 429 (nothing stored), 3 = stored, then the
     * connection closed without an answer (a reset after commit), 4 = 403
     * "Reply to this conversation is not allowed" (permanent). */
    long x_reply_fault;
    long x_reply_fault_at;
    long linkedin_min_version; /* LinkedIn-Version below this YYYYMM -> 426; 0 = any */
    /* LinkedIn's Videos API (linkedin_videos.c): failure modes. */
    long linkedin_video_part_fail;        /* k: the first PUT of part k is stored, then 502 */
    long linkedin_video_processing_polls; /* the status says PROCESSING this many times first */
    int linkedin_video_processing_fail;   /* processing ends PROCESSING_FAILED */
    long linkedin_video_expire_uploads;   /* the next n uploads expire after one part */
    /* Facebook page videos and reels (facebook_videos.c): failure modes. */
    long facebook_video_transfer_fail;    /* k: chunk k of each upload is stored, then 500 */
    long facebook_video_processing_polls; /* the status says processing this many times first */
    int facebook_video_processing_fail;   /* processing ends in error */
    long facebook_video_expire_uploads;   /* the next n sessions expire after one chunk */
    /* LinkedIn's Documents API (linkedin_documents.c): failure modes. */
    long linkedin_document_put_fail;         /* n: the first n PUTs of an upload: stored, 502 */
    long linkedin_document_processing_polls; /* the status says PROCESSING this many times */
    int linkedin_document_processing_fail;   /* processing ends PROCESSING_FAILED */
    long linkedin_document_expire_uploads;   /* the next n uploads' URLs are expired (403) */
    long token_ttl_s; /* expires_in of access tokens the token endpoints issue */
} sandbox_knobs;

typedef struct sandbox_config {
    const char *host; /* address or name to bind; "" = all interfaces */
    unsigned port;    /* 0 = let the kernel pick */
    uint64_t seed;    /* RNG seed: same seed + same requests = same faults */
    /* PEM text of the certificate and its key; both NULL = plain HTTP. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    sandbox_knobs knobs;
} sandbox_config;

void sandbox_knobs_default(sandbox_knobs *k);
/* Sets knob name ("latency_ms", "hang_rate", ...) from text; -1 if the
 * knob is unknown or the value is out of range. */
int sandbox_knob_parse(sandbox_knobs *k, const char *name, const char *text);
int sandbox_server_start(const sandbox_config *cfg);
/* A copy of the knobs as they are now (they change at run time), for
 * platform imitations. */
void sandbox_knobs_get(sandbox_knobs *out);
unsigned sandbox_server_port(void);
void sandbox_server_stop(void);

/* ------------------------------------------------------------------------
 * Platform interface (used by facebook.c and friends)
 * --------------------------------------------------------------------- */

typedef struct sandbox_request sandbox_request;

typedef struct sandbox_platform {
    const char *name;   /* recorded with each post: "facebook" */
    const char *prefix; /* URL prefix routed here; "/" catches everything */
    void (*handle)(sandbox_request *req);
} sandbox_platform;

/* Fault drawn for a request when it arrived. Publishes may get any of
 * them; reads get none unless the faults_on_reads knob is set, and never
 * a hang, so that an ambiguous publish can always be read back. */
typedef enum sandbox_fault {
    SANDBOX_FAULT_NONE = 0,
    SANDBOX_FAULT_5XX,
    SANDBOX_FAULT_THROTTLE,
    SANDBOX_FAULT_HANG,
    SANDBOX_FAULT_CLOSE, /* like HANG for the platform: commit, then no answer */
    /* Handled by the core, invisible to platforms (sandbox_req_fault says
     * NONE): a request that commits a post is processed a second time and the
     * client gets that second answer, as behind a proxy that retried it. */
    SANDBOX_FAULT_RESEND
} sandbox_fault;

typedef enum sandbox_op { SANDBOX_OP_READ = 0, SANDBOX_OP_WRITE } sandbox_op;

const char *sandbox_req_method(const sandbox_request *req);
const char *sandbox_req_path(const sandbox_request *req);
const char *sandbox_req_header(const sandbox_request *req, const char *name);
const char *sandbox_req_query(const sandbox_request *req, const char *name);
/* Body field (form or JSON object) first, then the query string. */
const char *sandbox_req_param(const sandbox_request *req, const char *name);
int sandbox_req_body_valid(const sandbox_request *req);
int64_t sandbox_req_received_ms(const sandbox_request *req);
sandbox_fault sandbox_req_fault(const sandbox_request *req, sandbox_op op);

/* Answer with a JSON body (steals the reference); Content-Type is
 * application/json. Extra headers may be added before or after. */
void sandbox_reply_json(sandbox_request *req, unsigned status, json_t *body);
int sandbox_reply_header(sandbox_request *req, const char *name, const char *value);
/* Answer with no body (LinkedIn's 201 carries only headers). */
void sandbox_reply_empty(sandbox_request *req, unsigned status);
/* Answer with len bytes of type (copied; binary-safe, e.g. an image). */
void sandbox_reply_bytes(sandbox_request *req, unsigned status, const char *type, const void *data,
                         size_t len);
/* "https" when the sandbox serves TLS, else "http": for the upload URLs it
 * hands out (a publisher sends its token only to the API's own scheme). */
const char *sandbox_url_scheme(void);
/* The raw request body (NULL when none); for multipart uploads. */
const char *sandbox_req_body(const sandbox_request *req, size_t *len);
/* The data of the multipart/form-data part named name (len bytes, not
 * NUL-terminated); NULL when absent or malformed. X's append, Facebook's
 * video transfer. */
const char *sandbox_req_part(const sandbox_request *req, const char *name, size_t *len);
/* Never answer: keep the connection open until the client gives up; for a
 * request that drew SANDBOX_FAULT_CLOSE, close the connection at once
 * instead, with not one byte of answer. */
void sandbox_hold(sandbox_request *req);
/* Makes sandbox_hold() close the connection at once (a reset after commit),
 * for a platform's own targeted fault. */
void sandbox_req_close_on_hold(sandbox_request *req);

void sandbox_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Counters the platform feeds: one per platform error code answered. */
void sandbox_stats_error(int code);
/* One more publish committed and then answered with an error (stat
 * errors_after_commit). */
void sandbox_stats_error_after_commit(void);
/* A publishing call refused because the account's quota was used up. */
void sandbox_stats_quota_refusal(void);
/* Fresh numeric object id, unique for the life of the process. */
uint64_t sandbox_next_object_id(void);
/* POSIX cksum (what `cksum` prints): CRC-32 of the bytes, crc_step per
 * byte from 0, then cksum_finish folds the length in. */
uint32_t sandbox_crc_step(uint32_t crc, unsigned char byte);
/* crc_step over len bytes, a table at a time (a 200 MiB upload). */
uint32_t sandbox_crc_update(uint32_t crc, const unsigned char *data, size_t len);
uint32_t sandbox_cksum_finish(uint32_t crc, unsigned long long len);
/* Random bits that do not disturb the fault sequence (trace ids...). */
uint64_t sandbox_random_aux(void);

/* What an access token allows, the same for every platform (tokens.c). */
typedef enum sandbox_token_state {
    SANDBOX_TOKEN_OK = 0,
    SANDBOX_TOKEN_EXPIRED,
    SANDBOX_TOKEN_REVOKED,
    SANDBOX_TOKEN_INVALID,      /* missing, empty or not ours */
    SANDBOX_TOKEN_NO_PERMISSION /* reads work, publishing is refused */
} sandbox_token_state;

sandbox_token_state sandbox_token_state_of(const char *platform, const char *token);

/* Access tokens the token endpoints (oauth.c) issue start with this and are
 * tracked until their expiry (wall-clock ms); 0 on success. */
#define SANDBOX_ISSUED_TOKEN_PREFIX "sbx-at."
int sandbox_token_issue(const char *token, int64_t expires_at_ms);
void sandbox_tokens_reset(void);

/* OAuth 2.0 token endpoints (oauth.c): their stats and reset, and the
 * lifetime they give access tokens (knob token_ttl_s). */
json_t *sandbox_oauth_stats_json(void);
void sandbox_oauth_reset(void);
long sandbox_token_ttl_s(void);

/* ------------------------------------------------------------------------
 * Post store
 * --------------------------------------------------------------------- */

typedef struct sandbox_post {
    /* Strings are const so a platform can fill a draft from borrowed
     * request data; the store keeps its own heap copies. */
    uint64_t seq;         /* sandbox id: 1, 2, 3... in acceptance order */
    const char *platform; /* filled by the store from the request */
    const char *id;       /* id returned to the client (post id) */
    const char *page_id;
    const char *kind;    /* "feed" | "photo" */
    const char *message; /* NULL when absent */
    const char *link;
    const char *photo_url;
    const char *photo_id;
    const char *token;
    const char *in_reply_to; /* a reply (X, Threads): the post it answers; NULL: none */
    int published;           /* unpublished photos are not posts */
    int hung;                /* accepted but never answered */
    int64_t received_at_ms;  /* wall clock, filled by the store */
    int64_t accepted_at_ms;  /* wall clock, never decreasing */
} sandbox_post;

typedef enum sandbox_accept_status {
    SANDBOX_ACCEPT_OK = 0,
    SANDBOX_ACCEPT_THROTTLED, /* page_rate_limit reached */
    SANDBOX_ACCEPT_DUPLICATE, /* same page + message, reject_duplicates */
    SANDBOX_ACCEPT_NOMEM
} sandbox_accept_status;

typedef struct sandbox_accept_result {
    sandbox_accept_status status;
    long window_count;      /* accepted publishes of the page in window */
    long limit;             /* page_rate_limit at the time (0 = off) */
    int64_t retry_after_ms; /* THROTTLED: when the page may publish again */
} sandbox_accept_result;

/* Apply the page rate limit and duplicate rules, then record a copy of
 * draft (strings are duplicated; platform/times/seq are filled in). */
sandbox_accept_result sandbox_accept_post(sandbox_request *req, const sandbox_post *draft);

/* Posts of one page, newest first; stop when cb returns 0. */
typedef int (*sandbox_post_cb)(const sandbox_post *p, void *ud);
void sandbox_posts_of_page(const char *platform, const char *page_id, sandbox_post_cb cb, void *ud);
/* The post whose id or photo id is id; returns 1 if found (cb called). */
int sandbox_post_by_id(const char *platform, const char *id, sandbox_post_cb cb, void *ud);

#endif
