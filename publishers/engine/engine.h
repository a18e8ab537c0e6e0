/* engine.h -- the publisher engine's shared state, for its own files only.
 *
 * One replica is a publisher: a fetch thread per lane (fetch.c, lanes.h)
 * fills that lane's inbox, the engine thread (runtime.c, set up by
 * startup.c) starts jobs from them, runs each job's slot
 * (slots.c: the flow, settle, the fence) over one curl multi handle, gets
 * the job a usable credential (credentials.c), and reads the PubAcks of its
 * JetStream writes. Retry policy is retry.c. Everything here but the fetch
 * threads' inboxes (under publisher.mu) belongs to the engine thread. */
#ifndef AP_ENGINE_H
#define AP_ENGINE_H

#include "runtime.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "ap_crypto.h"
#include "ap_deadline.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_time.h"
#include "ap_trace.h"
#include "deferral.h"
#include "guard.h"
#include "http_engine.h"
#include "job_state.h"
#include "jsasync.h"
#include "lanes.h"
#include "reack.h"

#define FETCH_WAIT_MS 500
#define ENGINE_TICK_MS 100
#define KV_BUSY_RETRY_MS 2000
/* How often a job waiting for another replica's token refresh looks again
 * (a local table lookup, no network). */
#define CRED_WAIT_POLL_MS 50
/* Before the read-back that closes an ambiguous last attempt: time for the
 * platform to show a post it did create before we call it not there. */
#define FINAL_CHECK_DELAY_MS 2000
/* A duplicate refusal's read-back (engine_settle_duplicate, duplicates.c): a moment for the
 * platform to list the post it just compared ours with, and how far before
 * the job was queued it looks, so that an older post with the same text can
 * be named in the reason (the adapters add their own minute of slack). */
#define DUPLICATE_CHECK_DELAY_MS 1000
#define DUPLICATE_LOOKBACK_MS (5 * 60 * 1000)

/* How a job is handed back once its result is stored. */
typedef enum settle_action { SETTLE_ACK, SETTLE_TERM, SETTLE_NAK } settle_action;

/* Tags of the asynchronous JetStream writes and reads a slot waits for.
 * OP_MARK (a reauth mark: the result waits for it) has the slot as owner;
 * OP_SHARED_WRITE (a pause mark, a record written as the slot goes) has
 * none: nobody waits, a failure is only logged. */
enum {
    OP_CLAIM,
    OP_RECORD,
    OP_RESULT,
    OP_FENCE,
    OP_READ_RECORD,
    OP_TAKEOVER,
    OP_DEFER,
    OP_MARK,
    OP_LOCK,      /* our refresh lock's write */
    OP_READ_LOCK, /* the refresh lock we lost to */
    OP_READ_CRED, /* the shared credential, read before spending a refresh token */
    OP_SHARED_WRITE
};

/* A publish request goes out without re-checking the attempt record only
 * this soon after our last successful write of it (guard.h, the fence). */
#define FENCE_FRESH_MS 1000

typedef struct job_slot {
    struct job_slot *prev, *next;
    natsMsg *msg;
    ap_lane lane; /* the consumer it came from: its inbox and its count */
    ap_job *job;
    /* The job's trace (its traceparent header) with this delivery's own
     * span: on every log line about the job and on its result message.
     * A job without a valid header starts a trace; trace_id "" only if
     * even that failed. */
    ap_trace trace;
    char key[64]; /* guard key and Nats-Msg-Id: "<schedule id>-<generation>" */
    int attempt;

    /* The credential the flow uses: the job's, or a newer one (refreshed
     * here or by another replica), whose sealed form then goes back in the
     * result for the dispatcher to store. */
    ap_credential cred;
    char cred_digest[AP_CRYPTO_DIGEST_HEX_LEN]; /* of the sealed form in use */
    uint8_t *new_sealed;
    size_t new_sealed_len;
    ap_flow_mode pending_mode; /* the flow to start once the credential is settled */
    int64_t pending_since;
    bool refresh_tried; /* one refresh per delivery */
    bool after_reauth;  /* that refresh follows a REAUTH answer */
    int64_t cred_wait_deadline;
    uint64_t lock_rev;  /* our refresh lock's revision */
    int64_t lock_at_ms; /* when we wrote it (its value says so) */
    bool lock_retried;  /* taken over a released lock's delete marker once */
    uint64_t stream_seq;
    ap_flow_input in;
    void *flow;
    const ap_adapter *flow_adapter; /* made flow: the platform's, or its comment flow */
    CURL *easy;
    struct curl_slist *headers;
    ap_http_request req;
    ap_http_response res;
    int64_t wake_at_ms; /* adapter asked to wait (AP_STEP_WAIT) */
    int64_t started_ms;
    /* Out of attempts on an ambiguous publish: the read-back that decides
     * between failed (nothing went live) and unconfirmed, and the answer
     * that made it necessary (for the row's reason). */
    bool final_check;
    ap_flow_result last_ambiguous;
    /* The platform refused the publish call as a duplicate and a read-back
     * decides whether the post it has is ours (engine_settle_duplicate, duplicates.c), with the
     * refusal kept for the row's reason. Once per delivery. */
    bool duplicate_check;
    ap_flow_result duplicate_refusal;
    int64_t last_progress_ms;
    uint64_t guard_rev;
    bool sent_any; /* a request of this delivery left us: outcome unknown */

    /* The outcome being reported: written to the attempt record and the
     * results stream asynchronously, then the job is settled. */
    int64_t claim_at_ms;          /* when our "started" record says this attempt began */
    int64_t fence_ok_ms;          /* monotonic: our last successful write of the record */
    int64_t verify_not_before_ms; /* monotonic: end of a takeover's window */
    int pending_ops;              /* JetStream writes waiting for their PubAck */
    int marks_pending;            /* of them, reauth marks the result waits for */
    bool result_waits_for_marks;  /* engine_report() held the result back */
    /* A takeover (JOB_TAKING_OVER): how the flow starts once the re-stamp is
     * stored; the mode and since wait in pending_mode/pending_since. */
    bool takeover_read_back_at_once; /* the holder wrote "started ... ended=1" */
    int takeover_from_attempt;
    /* DEFERRING: the wait and scope "deferred" stands for (final holds the reason). */
    int64_t deferral_wait_ms;
    ap_pause_scope deferral_scope;
    /* A post of several messages (chain_steps.c): the message in flight (0:
     * the post), the part our record last named in flight, the ids of the
     * messages before it (guard.h "ids="), the view of it the adapter sees
     * (in.job) and its parent's id (in.reply_to), the post's URL. */
    int part;
    int fenced_part;
    char chain_ids[AP_GUARD_CHAIN_IDS_LEN];
    ap_job part_job;
    char reply_to[128];
    char root_url[256];
    job_state state; /* the slot's phase: change it only with engine_slot_enter */
    bool active;     /* counted in publisher.active */
    bool result_stored;
    settle_action action;
    int64_t nak_delay_ms;
    Autopost__V1__Outcome outcome;
    ap_flow_result final;
} job_slot;

/* A fetched job waiting in the inbox, and when JetStream last heard of it. */
typedef struct held_msg {
    natsMsg *msg;
    int64_t progress_ms;
} held_msg;

/* Metric handles (no-ops without a registry), all labelled with the platform. */
typedef struct publisher_metrics {
    ap_counter *acks, *naks, *terms, *poison, *rate_limit_waits;
    ap_counter *outcomes[AP_OUTCOME_LAST + 1];        /* by outcome */
    ap_histogram *call_seconds[AP_CLASS_INVALID + 1]; /* by error class, [NONE] is "ok" */
    ap_gauge *in_flight;
    ap_gauge *loop_max_seconds;     /* engine thread: longest loop iteration's work */
    ap_counter *started[AP_LANE_N]; /* jobs started, by lane */
    int64_t loop_max_us;
    int64_t next_health_ms; /* engine thread only */
} publisher_metrics;

struct publisher;

/* One lane: its durable consumer, the jobs its fetch thread holds for the
 * engine, and how many of its jobs are running. */
typedef struct job_lane {
    struct publisher *p;
    ap_lane id;
    natsSubscription *sub;
    /* Under publisher.mu: fetched jobs not yet started, oldest at
     * inbox_head (see max_held), and fetched jobs not yet released. */
    held_msg *inbox;
    int inbox_head, inbox_len, inbox_cap;
    int inflight;
    bool fetch_done;
    bool fetch_started;
    int active;        /* engine thread only: this lane's part of publisher.active */
    ap_lag_gauges lag; /* this lane's fetch thread only */
    pthread_t fetcher;
} job_lane;

typedef struct publisher {
    const ap_config *cfg;
    const ap_platform_config *platform;
    const ap_adapter *adapter;
    ap_crypto_keyring keys; /* current + previous: a rotation does not strand queued jobs */
    ap_nats nats;
    kvStore *kv;      /* autopost_attempts_<platform>: bound at start (writes: jsa) */
    kvStore *acct_kv; /* autopost_accounts_<platform>: the watcher's (writes: jsa) */
    char attempts_bucket[AP_KV_BUCKET_LEN];
    char accounts_bucket[AP_KV_BUCKET_LEN];
    ap_accounts *acc;    /* local table of it (watcher thread) */
    char *client_secret; /* platforms.<name>.client_secret_file, NULL for public clients */
    ap_jsasync *jsa;     /* every KV write and read of the engine thread, and results */
    CURLM *multi;
    volatile sig_atomic_t *stop;

    pthread_mutex_t mu; /* guards the lanes' inboxes, inflight, fetch_done */
    pthread_cond_t room;
    job_lane lanes[AP_LANE_N];
    int max_held; /* per lane: concurrency and a quarter more, see engine_jobs_headroom() */

    job_slot *slots;   /* engine thread only */
    int active;        /* engine thread only: started jobs not yet reporting, both lanes */
    CURL **spare_easy; /* engine thread only: reset handles, see engine_easy_recycle() */
    int spare_len;
    unsigned rng;
    struct {
        uint64_t published, retried, failed, unconfirmed, poison, verified, deferred;
    } counts;
    publisher_metrics m;
    /* Engine thread only. After a reconnect (ap_nats_reconnects changed)
     * the writes awaiting PubAcks and the last acks are sent again. */
    uint64_t seen_reconnects;
    ap_reack reack;
} publisher;

static inline const char *sid(const job_slot *s) { return s->job ? s->job->schedule_id : NULL; }
static inline const char *tid(const job_slot *s) { return s->trace.trace_id; }

/* retry.c */
double engine_rand01(publisher *p);

/* fetch.c */
int engine_jobs_headroom(int concurrency);
void *engine_fetch_main(void *arg); /* arg: the job_lane it fills */
ap_status engine_subscribe_lane(publisher *p, ap_lane lane, char *err, size_t errlen);
/* Waits for the lanes' fetch threads that were started (they end on stop). */
void engine_join_fetchers(publisher *p);

/* slots.c */
void engine_slot_enter(job_slot *s, job_state to);
natsStatus engine_nak_msg(publisher *p, natsMsg *msg, int64_t delay_ms /* milliseconds */);
void engine_easy_recycle(publisher *p, CURL *e);
CURL *engine_easy_take(publisher *p);
/* startup.c: before the engine thread runs (err says what failed). */
void engine_metrics_init(publisher *p);
ap_status engine_load_client_secret(publisher *p, char *err, size_t errlen);
ap_status engine_subscribe(publisher *p, char *err, size_t errlen);

void engine_slot_release(publisher *p, job_slot *s);
void engine_hand_back_guard_unavailable(publisher *p, job_slot *s);
ap_status engine_guard_publish(publisher *p, job_slot *s, const ap_guard_record *rec, int tag,
                               int64_t expected_revision);
void engine_guard_write(publisher *p, job_slot *s, ap_guard_state state, const char *external_id);
void engine_settle(publisher *p, job_slot *s);
void engine_report(publisher *p, job_slot *s, Autopost__V1__Outcome outcome,
                   const ap_flow_result *r, ap_guard_state record, settle_action action,
                   int64_t nak_delay_ms);
void engine_finish_terminal(publisher *p, job_slot *s, Autopost__V1__Outcome outcome,
                            const ap_flow_result *r, bool write_guard);
void engine_finish_retry(publisher *p, job_slot *s, const ap_flow_result *r, ap_guard_state record);
bool engine_defer_if_paused(publisher *p, job_slot *s);
/* Before a publish flow's first request: past the job's deadline, with no
 * request of it possibly sent, the job ends EXPIRED without a call
 * (ap_deadline.h): true. */
bool engine_expire_if_late(publisher *p, job_slot *s);
void engine_start_flow_after(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since_ms,
                             int64_t delay_ms);
void engine_complete(publisher *p, job_slot *s, ap_flow_result *r);
void engine_on_fence_done(publisher *p, job_slot *s, const ap_js_done *d);
void engine_on_defer_done(publisher *p, job_slot *s, const ap_js_done *d);
/* pauses.c: a limit in the way (deferral.h) ends the job DEFERRED for wait_ms,
 * sharing a pause of scope with every replica. */
void engine_finish_deferred(publisher *p, job_slot *s, ap_flow_result *r, int64_t wait_ms,
                            ap_pause_scope scope);
/* duplicates.c: begin: a publish flow's DUPLICATE end on an adapter that can
 * read back starts the read-back (true) instead of failing. settle: its
 * read-back ended with r; false when it could not tell (r is then the
 * refusal, made ambiguous). */
bool engine_begin_duplicate_check(publisher *p, job_slot *s, const ap_flow_result *r);
bool engine_settle_duplicate(publisher *p, job_slot *s, ap_flow_result *r);
void engine_on_mark_done(publisher *p, job_slot *s, const ap_js_done *d);
ap_status engine_kv_publish(publisher *p, const char *bucket, const char *key, const char *value,
                            int64_t expected, job_slot *owner, int tag);
void engine_advance(publisher *p, job_slot *s, const ap_http_response *prev);
void engine_fail_before_call(publisher *p, job_slot *s, ap_error_class cls, const char *code,
                             const char *message, bool write_guard);

/* chain_steps.c */
void engine_chain_stamp(const job_slot *s, ap_guard_record *rec);
void engine_chain_restore(job_slot *s, const ap_guard_record *rec);
void engine_chain_input(job_slot *s);
/* The adapter of the slot's message: the platform's own, or its comment
 * flow (ap_adapter.comment) for a first comment. */
const ap_adapter *engine_chain_adapter(const publisher *p, const job_slot *s);
/* A message was found or published (r): the next one, or the outcome. */
void engine_chain_published(publisher *p, job_slot *s, ap_flow_result *r);
/* A terminal outcome met mid-chain: names what is live; a first comment's
 * failure leaves the post published. */
void engine_chain_terminal(job_slot *s, Autopost__V1__Outcome *outcome, ap_flow_result *r);
/* The result's part_external_ids: pointers into buf (len bytes). */
size_t engine_chain_result_ids(const job_slot *s, char *buf, size_t len, char **ids, size_t max);

/* credentials.c */
void engine_mark_reauth(publisher *p, job_slot *s, const char *reason);
void engine_settle_credential(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since);
void engine_credential_wait_tick(publisher *p, job_slot *s);
void engine_begin_refresh(publisher *p, job_slot *s, bool after_reauth);
void engine_mark_refresh_ambiguous(publisher *p, job_slot *s);
void engine_on_refresh_done(publisher *p, job_slot *s, const ap_http_response *res);
void engine_on_account_event(publisher *p, job_slot *s, const ap_js_done *d);

#endif
