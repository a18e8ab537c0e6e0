/* runtime.c -- the publisher runtime (see runtime.h for the big picture).
 *
 * A job's life in one replica:
 *
 *   fetch -> decode (garbage: Term + report) -> validate (invalid: FAILED,
 *   Term, no call) -> claim the attempt record (guard.h) -> open the sealed
 *   credential, take a newer one refreshed by any replica, refuse an account
 *   marked for reauth (accounts.h), refresh the token if it is due
 *   (refresh.h) -> adapter flow over curl multi -> record the outcome in the
 *   guard -> publish PublishResult (wait for its PubAck) -> Ack |
 *   NakWithDelay | Term.
 *
 * A limit (QUOTA, a rate limit with a wait hint, or a pause some replica
 * recorded for the account or the app) ends the job DEFERRED instead of
 * using up an attempt, and a limit the platform just answered pauses the
 * account (or app) in the shared bucket first (deferral.h).
 *
 * A final REAUTH answer marks the account in the shared bucket before the
 * result goes out (once a refresh token has had its one chance), so every
 * replica stops calling the platform for that credential.
 *
 * The result is published before the ack, and the guard is written before
 * the result: a crash anywhere leaves enough behind for the redelivery to
 * finish the job without calling the platform twice. */
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
#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_time.h"
#include "deferral.h"
#include "guard.h"
#include "http_engine.h"
#include "jsasync.h"

#define FETCH_WAIT_MS 500
#define ENGINE_TICK_MS 100
#define KV_BUSY_RETRY_MS 2000
/* How often a job waiting for another replica's token refresh looks again
 * (a local table lookup, no network). */
#define CRED_WAIT_POLL_MS 50
/* Before the read-back that closes an ambiguous last attempt: time for the
 * platform to show a post it did create before we call it not there. */
#define FINAL_CHECK_DELAY_MS 2000
/* A duplicate refusal's read-back (settle_duplicate): a moment for the
 * platform to list the post it just compared ours with, and how far before
 * the job was queued it looks, so that an older post with the same text can
 * be named in the reason (the adapters add their own minute of slack). */
#define DUPLICATE_CHECK_DELAY_MS 1000
#define DUPLICATE_LOOKBACK_MS (5 * 60 * 1000)

/* How a job is handed back once its result is stored. */
typedef enum settle_action { SETTLE_ACK, SETTLE_TERM, SETTLE_NAK } settle_action;

/* Tags of the asynchronous JetStream writes a slot waits for. */
enum { OP_CLAIM, OP_RECORD, OP_RESULT, OP_FENCE };

/* A publish request goes out without re-checking the attempt record only
 * this soon after our last successful write of it (guard.h, the fence). */
#define FENCE_FRESH_MS 1000

typedef struct job_slot {
    struct job_slot *prev, *next;
    natsMsg *msg;
    ap_job *job;
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
    bool refreshing;    /* the easy handle is the token request */
    bool waiting_cred;  /* another replica refreshes this account */
    int64_t cred_wait_deadline;
    uint64_t lock_rev; /* our refresh lock's revision */
    uint64_t stream_seq;
    ap_flow_input in;
    void *flow;
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
     * decides whether the post it has is ours (settle_duplicate), with the
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
    bool fencing;                 /* the prepared request waits for its record re-check */
    int64_t verify_not_before_ms; /* monotonic: end of a takeover's window */
    int pending_ops;              /* JetStream writes waiting for their PubAck */
    bool settling;
    bool active; /* counted in publisher.active */
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
    ap_counter *outcomes[AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED + 1]; /* by outcome */
    ap_histogram *call_seconds[AP_CLASS_INVALID + 1]; /* by error class, [NONE] is "ok" */
    ap_gauge *in_flight;
    ap_lag_gauges lag;      /* fetch thread only */
    int64_t next_health_ms; /* engine thread only */
} publisher_metrics;

typedef struct publisher {
    const ap_config *cfg;
    const ap_platform_config *platform;
    const ap_adapter *adapter;
    ap_crypto_keyring keys; /* current + previous: a rotation does not strand queued jobs */
    ap_nats nats;
    kvStore *kv;
    kvStore *acct_kv;    /* autopost_accounts */
    ap_accounts *acc;    /* local table of it (watcher thread) */
    char *client_secret; /* platforms.<name>.client_secret_file, NULL for public clients */
    ap_jsasync *jsa;     /* PubAcks of attempt records and results */
    natsSubscription *sub;
    CURLM *multi;
    volatile sig_atomic_t *stop;

    pthread_mutex_t mu; /* guards inbox, inflight, fetch_done */
    pthread_cond_t room;
    /* Fetched jobs not yet started, oldest at inbox_head: see max_held. */
    held_msg *inbox;
    int inbox_head, inbox_len, inbox_cap;
    int inflight; /* fetched and not yet released */
    int max_held; /* concurrency and a quarter more: see jobs_headroom() */
    bool fetch_done;

    job_slot *slots;   /* engine thread only */
    int active;        /* engine thread only: started jobs not yet reporting */
    CURL **spare_easy; /* engine thread only: reset handles, see easy_recycle() */
    int spare_len;
    unsigned rng;
    struct {
        uint64_t published, retried, failed, unconfirmed, poison, verified, deferred;
    } counts;
    publisher_metrics m;
} publisher;

static void publisher_metrics_init(publisher *p) {
    publisher_metrics *m = &p->m;
    ap_metrics *reg = ap_health_metrics();
    const char *platform = p->platform->name;
    const char *const labels[] = {"platform", platform, NULL};
    m->acks = ap_metrics_counter(reg, "autopost_publisher_acks_total",
                                 "Jobs acked (published, or cancelled before any call).", labels);
    m->naks = ap_metrics_counter(reg, "autopost_publisher_naks_total",
                                 "Jobs handed back to JetStream for a later delivery.", labels);
    m->terms = ap_metrics_counter(reg, "autopost_publisher_terms_total",
                                  "Jobs terminated (final failure, unconfirmed, poison).", labels);
    m->poison =
        ap_metrics_counter(reg, "autopost_publisher_poison_total",
                           "Messages on the jobs subject that are not a valid PublishJob.", labels);
    m->rate_limit_waits = ap_metrics_counter(
        reg, "autopost_rate_limit_waits_total",
        "Naks whose delay came from the platform (Retry-After, usage headers), and "
        "deferrals (a limit or a pause: back to pending, no attempt used).",
        labels);
    m->in_flight = ap_metrics_gauge(reg, "autopost_publisher_in_flight",
                                    "Jobs fetched by this replica and not yet settled.", labels);
    for (int o = AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED;
         o <= AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED; o++) {
        const char *const ol[] = {"platform", platform, "outcome", ap_outcome_name(o), NULL};
        m->outcomes[o] = ap_metrics_counter(reg, "autopost_publisher_outcomes_total",
                                            "Results published, by outcome.", ol);
    }
    for (int c = AP_CLASS_NONE; c <= AP_CLASS_INVALID; c++) {
        const char *const cl[] = {"platform", platform, "outcome",
                                  c == AP_CLASS_NONE ? "ok" : ap_error_class_name(c), NULL};
        m->call_seconds[c] = ap_metrics_histogram(
            reg, "autopost_platform_call_seconds",
            "Platform HTTP call latency; outcome is the error class the call ended its flow "
            "with, or ok.",
            cl, ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
    }
    char durable[64];
    ap_consumer_name_publisher(durable, sizeof(durable), platform);
    ap_lag_gauges_init(&m->lag, AP_STREAM_JOBS, durable);
}

/* Every nak goes through here so that it is counted. */
static natsStatus nak_msg(publisher *p, natsMsg *msg, int64_t delay_ms /* milliseconds */) {
    natsStatus st =
        delay_ms > 0 ? natsMsg_NakWithDelay(msg, delay_ms, NULL) : natsMsg_Nak(msg, NULL);
    if (st == NATS_OK) ap_counter_inc(p->m.naks);
    return st;
}

/* ---- retry policy ------------------------------------------------------- */

int64_t ap_retry_delay_ms(int attempt, int64_t base_ms, int64_t cap_ms, int64_t hint_ms,
                          double rnd) {
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap_ms; i++) d *= 2;
    if (d > cap_ms) d = cap_ms;
    /* Jitter spreads a burst of failures (3,000 jobs hitting one 5xx) apart. */
    d = d / 2 + (int64_t)((double)(d - d / 2) * rnd);
    if (hint_ms > d) d = hint_ms;
    const int64_t day = 24 * 3600 * 1000;
    return d > day ? day : d;
}

static double rand01(publisher *p) { return (double)rand_r(&p->rng) / ((double)RAND_MAX + 1.0); }

/* ---- fetch thread -------------------------------------------------------
 *
 * platforms.<p>.concurrency caps the jobs a replica works on at once, from
 * the claim of the attempt record to the end of the flow; a job that is only
 * storing its outcome (the record and the result, both PubAcks) no longer
 * counts. The replica holds a quarter more jobs than that, fetched but not
 * started: when a flow ends, the next job starts at once instead of after
 * the finished one's JetStream round trips and a fetch (bench/README.md,
 * seed profile). A held job has no attempt record yet and goes from claim
 * to request as fast as without the headroom (the reverted call-slot queue
 * let a claimed job wait for a call); like running jobs it gets InProgress,
 * so JetStream does not hand it to another replica while it waits. */

static int jobs_headroom(int concurrency) { return (concurrency + 3) / 4; }

/* Appends a fetched batch to the inbox (mu held). false: out of memory. */
static bool inbox_append(publisher *p, natsMsgList *list) {
    if (p->inbox_len + list->Count > p->inbox_cap && p->inbox_head > 0) {
        memmove(p->inbox, p->inbox + p->inbox_head,
                sizeof(*p->inbox) * (size_t)(p->inbox_len - p->inbox_head));
        p->inbox_len -= p->inbox_head;
        p->inbox_head = 0;
    }
    if (p->inbox_len + list->Count > p->inbox_cap) {
        int cap = (p->inbox_len + list->Count) * 2;
        held_msg *grown = realloc(p->inbox, sizeof(*grown) * (size_t)cap);
        if (grown == NULL) return false;
        p->inbox = grown;
        p->inbox_cap = cap;
    }
    int64_t now = ap_mono_ms();
    for (int i = 0; i < list->Count; i++) {
        p->inbox[p->inbox_len++] = (held_msg){.msg = list->Msgs[i], .progress_ms = now};
        list->Msgs[i] = NULL; /* ownership moves to the engine */
    }
    p->inflight += list->Count;
    return true;
}

static void *fetch_main(void *arg) {
    publisher *p = arg;
    int64_t last_error_log = 0;
    while (!*p->stop) {
        pthread_mutex_lock(&p->mu);
        while (p->inflight >= p->max_held && !*p->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->room, &p->mu, &ts);
        }
        int want = p->max_held - p->inflight;
        pthread_mutex_unlock(&p->mu);
        if (*p->stop) break;
        ap_lag_gauges_refresh(&p->m.lag, p->nats.nc, p->nats.js);
        if (want > p->cfg->publisher_fetch_batch) want = p->cfg->publisher_fetch_batch;

        natsMsgList list = {0};
        natsStatus s = natsSubscription_Fetch(&list, p->sub, ap_js_fetch_batch(p->sub, want),
                                              FETCH_WAIT_MS, NULL);
        if (s == NATS_OK && list.Count > 0) {
            pthread_mutex_lock(&p->mu);
            bool taken = inbox_append(p, &list);
            pthread_mutex_unlock(&p->mu);
            /* Not taken (out of memory): not acked, they come back after AckWait. */
            if (taken) curl_multi_wakeup(p->multi);
        } else if (s != NATS_OK && s != NATS_TIMEOUT) {
            /* Disconnected, server restarting...: nats.c reconnects; wait. */
            int64_t now = ap_mono_ms();
            if (now - last_error_log > 5000) {
                ap_log_warn("fetch_failed", NULL, "fetch: %s (retrying)", natsStatus_GetText(s));
                last_error_log = now;
            }
            ap_sleep_ms(200);
        }
        natsMsgList_Destroy(&list);
    }
    pthread_mutex_lock(&p->mu);
    p->fetch_done = true;
    pthread_mutex_unlock(&p->mu);
    curl_multi_wakeup(p->multi);
    return NULL;
}

/* ---- slots -------------------------------------------------------------- */

/* A finished transfer's easy handle, reset (no URL, header list, callback
 * data or credential of the last call stays set) and kept for the next
 * call instead of allocating curl's per-handle state on every call (malloc
 * and free were the publisher's largest own cost in perf). At most
 * concurrency are kept. The multi handle owns the connections either way. */
static void easy_recycle(publisher *p, CURL *e) {
    curl_multi_remove_handle(p->multi, e);
    if (p->spare_easy && p->spare_len < p->platform->concurrency) {
        curl_easy_reset(e);
        p->spare_easy[p->spare_len++] = e;
        return;
    }
    curl_easy_cleanup(e);
}

static CURL *easy_take(publisher *p) {
    return p->spare_len > 0 ? p->spare_easy[--p->spare_len] : NULL;
}

/* The job no longer counts against concurrency: its flow is over. */
static void slot_deactivate(publisher *p, job_slot *s) {
    if (!s->active) return;
    s->active = false;
    p->active--;
}

static void slot_release(publisher *p, job_slot *s) {
    slot_deactivate(p, s);
    if (s->prev)
        s->prev->next = s->next;
    else if (p->slots == s)
        p->slots = s->next;
    if (s->next) s->next->prev = s->prev;
    if (s->easy) easy_recycle(p, s->easy);
    curl_slist_free_all(s->headers);
    ap_http_request_clear(&s->req);
    ap_http_response_clear(&s->res);
    if (s->flow) p->adapter->flow_free(s->flow);
    ap_credential_wipe(&s->cred);
    free(s->new_sealed);
    ap_job_free(s->job);
    natsMsg_Destroy(s->msg);
    free(s);
    pthread_mutex_lock(&p->mu);
    p->inflight--;
    pthread_cond_signal(&p->room);
    pthread_mutex_unlock(&p->mu);
}

static const char *sid(const job_slot *s) { return s->job ? s->job->schedule_id : NULL; }

/* The attempt record cannot be written or read: hand the job back for a
 * little later, without a call. */
static void hand_back_guard_unavailable(publisher *p, job_slot *s) {
    ap_log_warn("guard_unavailable", sid(s), "attempt record unreachable; retrying later");
    nak_msg(p, s->msg, KV_BUSY_RETRY_MS);
    slot_release(p, s);
}

/* Publishes the attempt's PublishResult; its PubAck comes back as an
 * OP_RESULT event and only then is the job settled, so the job is never acked
 * before its outcome is durably on the results stream. */
static ap_status emit_result_async(publisher *p, job_slot *s) {
    const ap_flow_result *r = &s->final;
    ap_result res = AUTOPOST__V1__PUBLISH_RESULT__INIT;
    res.schedule_id = s->job->schedule_id;
    res.generation = s->job->generation;
    res.account_id = s->job->account_id;
    res.platform = (char *)p->platform->name;
    res.outcome = s->outcome;
    res.attempt = (uint32_t)s->attempt;
    res.started_at_ms = s->started_ms;
    res.finished_at_ms = ap_now_ms();
    res.publisher_instance = p->cfg->instance;
    bool deferred = s->outcome == AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED;
    res.retry_after_ms = s->action == SETTLE_NAK || deferred ? s->nak_delay_ms : 0;
    res.pause_scope = deferred ? r->pause : AP_PAUSE_NONE;
    res.external_post_id = (char *)r->external_id;
    res.external_url = (char *)r->external_url;
    res.error_class = r->error_class;
    res.error_code = (char *)r->error_code;
    res.error_message = (char *)r->error_message;
    res.http_status = (int32_t)r->http_status;
    res.credential_issued_at_ms = s->cred.issued_at_ms;
    res.platform_usage = r->platform_usage;
    res.platform_usage_at_ms = r->platform_usage_at_ms;
    if (s->new_sealed) {
        res.refreshed_credential.data = s->new_sealed;
        res.refreshed_credential.len = s->new_sealed_len;
    }
    natsMsg *m = NULL;
    if (ap_result_to_msg(&res, &m) != AP_OK) return AP_ENOMEM;
    ap_status st = ap_jsasync_publish(p->jsa, m, s, OP_RESULT, -1);
    if (st == AP_OK) s->pending_ops++;
    return st;
}

/* An asynchronous write of the attempt record (guard.h), answered as tag. */
static ap_status guard_publish(publisher *p, job_slot *s, const ap_guard_record *rec, int tag,
                               int64_t expected_revision) {
    natsMsg *m = NULL;
    ap_status st = ap_guard_message(&m, s->key, rec, p->cfg->instance);
    if (st != AP_OK) return st;
    st = ap_jsasync_publish(p->jsa, m, s, tag, expected_revision);
    if (st == AP_OK) s->pending_ops++;
    return st;
}

static void guard_write(publisher *p, job_slot *s, ap_guard_state state, const char *external_id) {
    ap_guard_record rec = {.state = state, .attempt = s->attempt, .at_ms = ap_now_ms()};
    if (external_id) snprintf(rec.external_id, sizeof(rec.external_id), "%s", external_id);
    ap_status st = ap_guard_set(p->kv, s->key, &rec, p->cfg->instance, &s->guard_rev);
    if (st != AP_OK)
        ap_log_warn("guard_write_failed", sid(s), "attempt record -> %s: %s",
                    ap_guard_state_name(state), ap_status_str(st));
}

/* Both writes are stored (or failed): hand the job back and say so. */
static void settle(publisher *p, job_slot *s) {
    const ap_flow_result *r = &s->final;
    if (!s->result_stored) {
        ap_log_error("result_publish_failed", sid(s),
                     "could not store the %s result; the job will be redelivered and its "
                     "attempt record completes it",
                     ap_outcome_name(s->outcome));
        slot_release(p, s); /* no ack: the redelivery re-reports */
        return;
    }
    if (s->outcome >= 0 && s->outcome <= AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED)
        ap_counter_inc(p->m.outcomes[s->outcome]);
    natsStatus st;
    switch (s->action) {
    case SETTLE_ACK:
        st = natsMsg_Ack(s->msg, NULL);
        if (st == NATS_OK) ap_counter_inc(p->m.acks);
        break;
    case SETTLE_TERM:
        st = natsMsg_Term(s->msg, NULL);
        if (st == NATS_OK) ap_counter_inc(p->m.terms);
        break;
    default:
        st = nak_msg(p, s->msg, s->nak_delay_ms);
        if (st == NATS_OK && r->retry_after_ms > 0) ap_counter_inc(p->m.rate_limit_waits);
    }
    if (st != NATS_OK)
        ap_log_warn("ack_failed", sid(s), "ack/nak/term: %s (redelivery is harmless)",
                    natsStatus_GetText(st));
    switch (s->outcome) {
    case AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED:
        p->counts.published++;
        ap_log_info("job_published", sid(s), "published as %s (attempt %d)", r->external_id,
                    s->attempt);
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING:
        p->counts.retried++;
        ap_log_info("job_retrying", sid(s), "%s: %s; attempt %d, next in %lld ms",
                    ap_error_class_name(r->error_class), r->error_message, s->attempt,
                    (long long)s->nak_delay_ms);
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED:
        p->counts.unconfirmed++;
        ap_log_warn("job_unconfirmed", sid(s), "%s", r->error_message);
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED:
        ap_log_info("job_cancelled", sid(s), "cancelled before any platform call");
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED:
        p->counts.deferred++;
        ap_counter_inc(p->m.rate_limit_waits);
        ap_log_info("job_deferred", sid(s), "%s; back to pending for %lld ms (attempt %d kept)",
                    r->error_message, (long long)s->nak_delay_ms, s->attempt);
        break;
    default:
        p->counts.failed++;
        ap_log_warn("job_failed", sid(s), "%s: %s (attempt %d)",
                    ap_error_class_name(r->error_class), r->error_message, s->attempt);
    }
    slot_release(p, s);
}

/* Reports an outcome: the attempt record (when `record` is not NONE) and the
 * result are written together; settle() runs when both PubAcks are back.
 * Either order of landing is safe: a redelivery that finds the record
 * re-reports from it, one that finds only "started" reads the platform back. */
static void report(publisher *p, job_slot *s, Autopost__V1__Outcome outcome,
                   const ap_flow_result *r, ap_guard_state record, settle_action action,
                   int64_t nak_delay_ms) {
    s->settling = true;
    slot_deactivate(p, s); /* the next held job may start while this one stores */
    s->outcome = outcome;
    s->action = action;
    s->nak_delay_ms = nak_delay_ms;
    if (r)
        s->final = *r;
    else
        memset(&s->final, 0, sizeof(s->final));
    if (record != AP_GUARD_NONE && s->guard_rev > 0) {
        ap_guard_record rec = {.state = record, .attempt = s->attempt, .at_ms = ap_now_ms()};
        if (record == AP_GUARD_STARTED) { /* a retry after an unclear answer */
            rec.at_ms = s->claim_at_ms;   /* the read-back looks from there */
            rec.ended = true;             /* no call of ours is in flight */
        }
        snprintf(rec.external_id, sizeof(rec.external_id), "%s", s->final.external_id);
        if (guard_publish(p, s, &rec, OP_RECORD, (int64_t)s->guard_rev) != AP_OK)
            ap_log_warn("guard_write_failed", sid(s), "attempt record -> %s not sent",
                        ap_guard_state_name(record));
    }
    if (emit_result_async(p, s) != AP_OK) s->result_stored = false;
    if (s->pending_ops == 0) settle(p, s);
}

/* Terminal outcome: record, report, then Ack (published/cancelled) or Term. */
static void finish_terminal(publisher *p, job_slot *s, Autopost__V1__Outcome outcome,
                            const ap_flow_result *r, bool write_guard) {
    ap_guard_state g = AP_GUARD_NONE;
    if (write_guard)
        g = outcome == AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED     ? AP_GUARD_PUBLISHED
            : outcome == AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED ? AP_GUARD_UNCONFIRMED
                                                                    : AP_GUARD_FAILED;
    bool ack = outcome == AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED ||
               outcome == AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED;
    report(p, s, outcome, r, g, ack ? SETTLE_ACK : SETTLE_TERM, 0);
}

/* Retryable outcome: report RETRYING and hand the job back with a delay.
 * record: RETRY when nothing went live; STARTED (written "ended") after a
 * flow whose last answer was unclear, so the next delivery reads back at
 * once; NONE leaves the record as it is. */
static void finish_retry(publisher *p, job_slot *s, const ap_flow_result *r,
                         ap_guard_state record) {
    const ap_platform_config *pc = p->platform;
    int64_t delay = ap_retry_delay_ms(s->attempt, pc->backoff_base_ms, pc->backoff_max_ms,
                                      r->retry_after_ms, rand01(p));
    report(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING, r, record, SETTLE_NAK, delay);
}

/* Records a pause for every replica: pause.<account> or pause.app.<platform>
 * in the accounts bucket, and at once in our own table. Synchronous like
 * mark_reauth: the replica's next job must see it. Only a later end is
 * written, so replicas answering the same limit do not shorten it. */
static void record_pause(publisher *p, job_slot *s, ap_pause_scope scope, int64_t until_ms,
                         const char *reason) {
    char key[96], why[160];
    bool app = false;
    if (scope == AP_PAUSE_APP)
        ap_acct_app_pause_key(key, sizeof(key), p->platform->name);
    else
        ap_acct_key(key, sizeof(key), "pause", s->job->account_id);
    int64_t known = ap_accounts_paused_until(p->acc, s->job->account_id, p->platform->name, why,
                                             sizeof(why), &app);
    if (known >= until_ms && (app || scope != AP_PAUSE_APP)) return;
    char *v = ap_acct_pause_value(until_ms, ap_now_ms(), p->cfg->instance, reason);
    if (v == NULL) return;
    uint64_t rev = 0;
    natsStatus st = kvStore_PutString(&rev, p->acct_kv, key, v);
    if (st != NATS_OK)
        ap_log_warn("pause_record_failed", sid(s),
                    "could not share the pause %s: %s (this replica still keeps it, and the "
                    "dispatcher holds the account's new posts back)",
                    key, natsStatus_GetText(st));
    ap_accounts_apply(p->acc, key, v, strlen(v), false, rev);
    ap_log_warn("platform_pause", sid(s), "%s paused for %lld ms: %s", key,
                (long long)(until_ms - ap_now_ms()), reason);
    free(v);
}

/* A limit is in the way: the attempt record says "deferred" (this key is
 * done: the schedule continues under the next generation) before the result
 * can make the dispatcher bump the generation, then the job is acked. If the
 * record cannot be written, the old way: a retry with the wait as delay. */
static void finish_deferred(publisher *p, job_slot *s, ap_flow_result *r, int64_t wait_ms,
                            ap_pause_scope scope) {
    int64_t until = ap_now_ms() + wait_ms;
    if (scope != AP_PAUSE_NONE) record_pause(p, s, scope, until, r->error_message);
    ap_guard_record rec = {.state = AP_GUARD_DEFERRED, .attempt = s->attempt, .at_ms = until};
    if (s->guard_rev == 0 ||
        ap_guard_set(p->kv, s->key, &rec, p->cfg->instance, &s->guard_rev) != AP_OK) {
        ap_log_warn("guard_write_failed", sid(s),
                    "attempt record -> deferred not stored; retrying");
        if (r->retry_after_ms < wait_ms) r->retry_after_ms = wait_ms;
        finish_retry(p, s, r, AP_GUARD_RETRY);
        return;
    }
    r->pause = scope;
    report(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED, r, AP_GUARD_NONE, SETTLE_ACK, wait_ms);
}

/* Before any call: a job of a paused account (or app) waits out the pause. */
static bool defer_if_paused(publisher *p, job_slot *s) {
    char why[256];
    bool app = false;
    int64_t until = ap_accounts_paused_until(p->acc, s->job->account_id, p->platform->name, why,
                                             sizeof(why), &app);
    int64_t now = ap_now_ms();
    if (until <= now) return false;
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, AP_CLASS_RETRY, 0, app ? "app_paused" : "account_paused",
                 "%s paused by the platform's limit for %lld s more: %s",
                 app ? "the app" : "the account", (long long)((until - now + 999) / 1000), why);
    finish_deferred(p, s, &r, until - now, AP_PAUSE_NONE);
    return true;
}

static void advance(publisher *p, job_slot *s, const ap_http_response *prev);
static void begin_refresh(publisher *p, job_slot *s, bool after_reauth);
static void mark_refresh_ambiguous(publisher *p, job_slot *s);
static void mark_reauth(publisher *p, job_slot *s, const char *reason);

/* Starts a flow whose first step runs after delay_ms (0: at once). */
static void start_flow_after(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since_ms,
                             int64_t delay_ms) {
    if (s->flow) p->adapter->flow_free(s->flow);
    s->in.mode = mode;
    /* A publish flow that finds its own container published looks for the
     * post among those made since this attempt began. */
    s->in.since_ms = mode == AP_FLOW_PUBLISH && since_ms <= 0 ? s->started_ms : since_ms;
    s->flow = p->adapter->flow_new(&s->in);
    if (s->flow == NULL) {
        /* Out of memory before any call: hand it back untouched. */
        guard_write(p, s, AP_GUARD_RETRY, NULL);
        nak_msg(p, s->msg, 1000);
        slot_release(p, s);
        return;
    }
    if (delay_ms > 0)
        s->wake_at_ms = ap_mono_ms() + delay_ms;
    else
        advance(p, s, NULL);
}

static void start_flow(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since_ms) {
    start_flow_after(p, s, mode, since_ms, 0);
}

/* ---- a duplicate refusal is evidence, not a failure ----------------------
 *
 * X and LinkedIn refuse a post whose text repeats a recent post of the
 * account. When the post they have is ours (the call went through, its answer
 * was lost and something below us sent it again: a proxy's retry), failing
 * the schedule would invite the user to post it by hand a second time. So a
 * DUPLICATE end of a publish flow, on an adapter with duplicate_reads_back,
 * is followed by a read-back of the account's recent posts, and the matched
 * post's creation time decides:
 *
 *   made at or after the job was queued (to the second, a second of slack
 *   for clocks)                      -> published with that post, and a
 *                                       history line saying how we know;
 *   made before, or none found       -> failed duplicate, naming it;
 *   found, but no time given         -> unconfirmed, for a person;
 *   the read-back could not tell     -> ambiguous: the next delivery reads
 *                                       back again (or unconfirmed at the end).
 *
 * The job's enqueued_at_ms bounds the first attempt from below: nothing of
 * ours can be older. A job without it keeps the refusal as a failure. */
static int64_t duplicate_floor_ms(const ap_job *job) {
    return job->enqueued_at_ms / 1000 * 1000 - 1000;
}

static bool begin_duplicate_check(publisher *p, job_slot *s, const ap_flow_result *r) {
    if (!p->adapter->duplicate_reads_back || s->duplicate_check || s->job->enqueued_at_ms <= 0)
        return false;
    s->duplicate_check = true;
    s->duplicate_refusal = *r;
    ap_log_info("duplicate_read_back", sid(s), "%s; reading back whether the post is ours",
                r->error_message);
    start_flow_after(p, s, AP_FLOW_VERIFY, duplicate_floor_ms(s->job) - DUPLICATE_LOOKBACK_MS,
                     DUPLICATE_CHECK_DELAY_MS);
    return true;
}

/* Appends text to r's error_message (cut if it does not fit). */
static void append_reason(ap_flow_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void append_reason(ap_flow_result *r, const char *fmt, ...) {
    size_t n = strlen(r->error_message);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error_message + n, sizeof(r->error_message) - n, fmt, ap);
    va_end(ap);
}

/* The read-back after a duplicate refusal has ended with r. Returns false
 * when it could not tell: r is then the refusal, made ambiguous, for the
 * caller's ambiguous path. */
static bool settle_duplicate(publisher *p, job_slot *s, ap_flow_result *r) {
    ap_flow_result refusal = s->duplicate_refusal;
    int64_t floor = duplicate_floor_ms(s->job);
    char made[32], queued[32];
    ap_time_format_rfc3339(r->created_at_ms, made, sizeof(made));
    ap_time_format_rfc3339(s->job->enqueued_at_ms, queued, sizeof(queued));
    if (r->error_class == AP_CLASS_NONE && r->created_at_ms > 0 && r->created_at_ms >= floor) {
        p->counts.verified++;
        ap_flow_result ours = *r;
        snprintf(ours.error_message, sizeof(ours.error_message),
                 "the platform refused a duplicate; read back found our post %s made at %s",
                 r->external_id, made);
        ap_log_info("duplicate_confirmed", sid(s), "%s", ours.error_message);
        finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED, &ours, true);
        return true;
    }
    if (r->error_class == AP_CLASS_NONE && r->created_at_ms > 0) {
        append_reason(&refusal,
                      "; read back: the existing post %s was made at %s, before this "
                      "schedule was queued (%s)",
                      r->external_id, made, queued);
    } else if (r->error_class == AP_CLASS_NONE) {
        refusal.error_class = AP_CLASS_AMBIGUOUS;
        append_reason(&refusal,
                      "; read back found post %s but not when it was made: check "
                      "whether it is this schedule's",
                      r->external_id);
        finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED, &refusal, true);
        return true;
    } else if (r->not_found) {
        append_reason(&refusal,
                      "; read back: no post with this text since shortly before this "
                      "schedule was queued (%s), so the one the platform has is older",
                      queued);
    } else {
        refusal.error_class = AP_CLASS_AMBIGUOUS;
        append_reason(&refusal, "; could not read back whether the post is ours: %s",
                      r->error_message);
        *r = refusal;
        return false;
    }
    ap_log_info("duplicate_not_ours", sid(s), "%s", refusal.error_message);
    finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &refusal, true);
    return true;
}

static void complete(publisher *p, job_slot *s, ap_flow_result *r) {
    bool out_of_attempts = s->attempt >= p->platform->max_attempts;
    if (s->in.mode == AP_FLOW_VERIFY && s->duplicate_check) {
        if (settle_duplicate(p, s, r)) return;
    } else if (s->in.mode == AP_FLOW_VERIFY) {
        if (r->error_class == AP_CLASS_NONE) {
            p->counts.verified++;
            ap_log_info("verify_found", sid(s), "an earlier attempt did publish: %s",
                        r->external_id);
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED, r, true);
            return;
        }
        if (r->not_found && s->final_check) {
            /* Checked after the last attempt: the platform has no such post,
             * so nothing went live and the post can fail with the answer
             * that made the attempt ambiguous. */
            ap_flow_result last = s->last_ambiguous;
            last.error_class = AP_CLASS_RETRY;
            size_t n = strlen(last.error_message);
            snprintf(last.error_message + n, sizeof(last.error_message) - n, "%s",
                     "; read back afterwards: not on the platform, nothing was posted");
            ap_log_info("verify_not_found", sid(s), "last attempt left no post; failing");
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &last, true);
            return;
        }
        if (r->not_found) {
            ap_log_info("verify_not_found", sid(s), "earlier attempt left no post; publishing");
            start_flow(p, s, AP_FLOW_PUBLISH, 0);
            return;
        }
        if (s->final_check) *r = s->last_ambiguous; /* could not tell: keep the cause */
        r->error_class = AP_CLASS_AMBIGUOUS;        /* could not tell */
    }
    if (s->in.mode == AP_FLOW_PUBLISH && r->error_class == AP_CLASS_DUPLICATE &&
        begin_duplicate_check(p, s, r))
        return;
    if (r->error_class == AP_CLASS_REAUTH) {
        /* A 401 proves the post was not made: with a refresh token, one
         * refresh and one more try of the same flow. */
        if (!s->refresh_tried && ap_refresh_possible(p->platform, &s->cred)) {
            ap_log_info("reauth_refresh", sid(s),
                        "platform refused the access token (%s); "
                        "refreshing it once",
                        r->error_message);
            begin_refresh(p, s, true);
            return;
        }
        mark_reauth(p, s, r->error_message);
    }
    ap_deferral d;
    if (s->in.mode == AP_FLOW_PUBLISH && ap_deferral_decide(r, p->platform->quota_wait_ms, &d)) {
        finish_deferred(p, s, r, d.wait_ms, d.scope);
        return;
    }
    switch (r->error_class) {
    case AP_CLASS_NONE:
        finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED, r, true);
        break;
    case AP_CLASS_RETRY:
    case AP_CLASS_QUOTA:
        if (out_of_attempts)
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, r, true);
        else
            finish_retry(p, s, r, AP_GUARD_RETRY);
        break;
    case AP_CLASS_AMBIGUOUS:
        /* The record stays "started" (marked ended): the next delivery reads back first. */
        if (out_of_attempts && s->in.mode == AP_FLOW_PUBLISH && !s->final_check) {
            /* No delivery is left to read back: do it now, after a pause
             * that lets the platform show a post it did create. */
            s->final_check = true;
            s->last_ambiguous = *r;
            start_flow_after(p, s, AP_FLOW_VERIFY, s->started_ms - 1000, FINAL_CHECK_DELAY_MS);
        } else if (out_of_attempts) {
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED, r, true);
        } else {
            finish_retry(p, s, r, AP_GUARD_STARTED);
        }
        break;
    default: finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, r, true);
    }
}

/* Sends the prepared request. */
static void send_prepared(publisher *p, job_slot *s) {
    if (curl_multi_add_handle(p->multi, s->easy) != CURLM_OK) {
        ap_flow_result r;
        memset(&r, 0, sizeof(r));
        ap_flow_fail(&r, AP_CLASS_RETRY, 0, "internal", "could not start the HTTP call");
        complete(p, s, &r);
        return;
    }
    s->sent_any = true;
}

/* A request that may create a post re-checks the record first unless we
 * wrote it within FENCE_FRESH_MS (guard.h): after a takeover it must not go. */
static bool needs_fence(const job_slot *s) {
    return s->in.mode == AP_FLOW_PUBLISH &&
           (s->req.method == NULL || strcmp(s->req.method, "GET") != 0) &&
           ap_mono_ms() - s->fence_ok_ms > FENCE_FRESH_MS;
}

/* Re-writes our "started" record with a compare-and-set on our revision;
 * on_fence_done() sends the prepared request or stops. */
static void fence_check(publisher *p, job_slot *s) {
    ap_guard_record rec = {
        .state = AP_GUARD_STARTED, .attempt = s->attempt, .at_ms = s->claim_at_ms};
    if (guard_publish(p, s, &rec, OP_FENCE, (int64_t)s->guard_rev) != AP_OK) {
        hand_back_guard_unavailable(p, s);
        return;
    }
    s->fencing = true;
}

static void on_fence_done(publisher *p, job_slot *s, const ap_js_done *d) {
    s->fencing = false;
    if (d->ok) {
        s->guard_rev = d->seq;
        s->fence_ok_ms = ap_mono_ms();
        send_prepared(p, s);
        return;
    }
    if (d->err == JSStreamWrongLastSequenceErr) {
        /* Another delivery owns the job now and reports its outcome: this
         * one sends nothing and is dropped, neither acked nor naked. */
        ap_log_warn("fenced_off", sid(s),
                    "another delivery took this job over; this one stops before its call");
        slot_release(p, s);
        return;
    }
    hand_back_guard_unavailable(p, s);
}

static void advance(publisher *p, job_slot *s, const ap_http_response *prev) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    int64_t wait_ms = 0;
    ap_http_request_clear(&s->req);
    ap_step_kind k = p->adapter->step(s->flow, &s->in, prev, &s->req, &wait_ms, &r);
    if (r.note_event[0]) ap_log_info(r.note_event, sid(s), "%s", r.note);
    if (prev && s->easy) {
        /* A call that led to a further step counts as ok; the one that ended
         * the flow carries its error class. */
        curl_off_t us = 0;
        int cls = k == AP_STEP_DONE ? (int)r.error_class : AP_CLASS_NONE;
        if (cls < AP_CLASS_NONE || cls > AP_CLASS_INVALID) cls = AP_CLASS_RETRY;
        if (curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK)
            ap_histogram_observe(p->m.call_seconds[cls], (double)us / 1e6);
    }
    if (s->easy) { /* the previous transfer is fully consumed now */
        easy_recycle(p, s->easy);
        s->easy = NULL;
        curl_slist_free_all(s->headers);
        s->headers = NULL;
    }
    ap_http_response_clear(&s->res);
    switch (k) {
    case AP_STEP_REQUEST:
        s->easy = ap_http_easy_new(easy_take(p), &s->req, p->platform, &s->res, &s->headers);
        if (s->easy == NULL || curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK) {
            ap_flow_fail(&r, AP_CLASS_RETRY, 0, "internal", "could not start the HTTP call");
            complete(p, s, &r);
            return;
        }
        if (needs_fence(s)) {
            fence_check(p, s);
            return;
        }
        send_prepared(p, s);
        break;
    case AP_STEP_WAIT: s->wake_at_ms = ap_mono_ms() + (wait_ms > 0 ? wait_ms : 0); break;
    case AP_STEP_DONE: complete(p, s, &r); break;
    }
}

static void fail_before_call(publisher *p, job_slot *s, ap_error_class cls, const char *code,
                             const char *message, bool write_guard) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, cls, 0, code, "%s", message);
    finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &r, write_guard);
}

/* ---- credentials ----------------------------------------------------------- */

static void acct_kv_key(char *buf, size_t len, const char *kind, const job_slot *s) {
    ap_acct_key(buf, len, kind, s->job->account_id);
}

/* Marks the credential in use as refused, for every replica (the bucket)
 * and at once for this one (the local table). Synchronous: rare, and the
 * mark must be stored before the result makes the dispatcher fail the
 * account's other schedules. */
static void mark_reauth(publisher *p, job_slot *s, const char *reason) {
    char key[96];
    acct_kv_key(key, sizeof(key), "reauth", s);
    char *v = ap_acct_reauth_value(s->cred_digest, s->cred.issued_at_ms, ap_now_ms(),
                                   p->cfg->instance, reason && *reason ? reason : "reauth");
    if (v == NULL) return;
    uint64_t rev = 0;
    natsStatus st = kvStore_PutString(&rev, p->acct_kv, key, v);
    if (st != NATS_OK)
        ap_log_warn("reauth_mark_failed", sid(s),
                    "could not share the reauth mark of account %s: %s (the dispatcher still "
                    "marks the account)",
                    s->job->account_id, natsStatus_GetText(st));
    ap_accounts_apply(p->acc, key, v, strlen(v), false, rev);
    ap_log_warn("account_reauth", sid(s), "account %s needs reconnection: %s", s->job->account_id,
                reason);
    free(v);
}

/* A failure before the flow: retryable unless attempts are used up. A
 * pending read-back (VERIFY) keeps its "started" record, and never ends
 * FAILED: the earlier attempt may be live. */
static void credential_retry(publisher *p, job_slot *s, const char *code, const char *msg,
                             int64_t hint_ms) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, AP_CLASS_RETRY, 0, code, "%s", msg);
    r.retry_after_ms = hint_ms;
    bool verify = s->pending_mode == AP_FLOW_VERIFY;
    if (s->attempt >= p->platform->max_attempts)
        finish_terminal(p, s,
                        verify ? AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED
                               : AUTOPOST__V1__OUTCOME__OUTCOME_FAILED,
                        &r, true);
    else
        finish_retry(p, s, &r, verify ? AP_GUARD_NONE : AP_GUARD_RETRY);
}

/* The refresh lock's timing, from the token call's own timeout: a holder
 * that has not finished after twice that is dead. */
static int64_t lock_stale_ms(const publisher *p) { return 2 * p->platform->timeout_ms + 5000; }
/* The attempt record's takeover window (guard.h): the same bound, for a
 * request the earlier holder sent before the takeover. */
static int64_t takeover_window_ms(const publisher *p) {
    return ap_guard_takeover_window_ms(p->platform->timeout_ms);
}
static int64_t ambiguous_cooldown_ms(const publisher *p) { return 2 * lock_stale_ms(p); }

static void start_with_credential(publisher *p, job_slot *s) {
    s->in.token = s->cred.access_token;
    int64_t wait = s->verify_not_before_ms - ap_mono_ms();
    start_flow_after(p, s, s->pending_mode, s->pending_since, wait > 0 ? wait : 0);
}

/* Replaces the slot's credential with a sealed one newer than it (taking
 * ownership of sealed). Returns false (and frees sealed) if it does not open. */
static bool adopt_sealed(publisher *p, job_slot *s, uint8_t *sealed, size_t len) {
    ap_credential c;
    if (ap_credential_open(&p->keys, s->job->account_id, sealed, len, &c) != AP_OK ||
        c.issued_at_ms <= s->cred.issued_at_ms) {
        ap_credential_wipe(&c);
        free(sealed);
        return false;
    }
    ap_credential_wipe(&s->cred);
    s->cred = c;
    ap_crypto_digest_hex(sealed, len, s->cred_digest);
    free(s->new_sealed);
    s->new_sealed = sealed;
    s->new_sealed_len = len;
    return true;
}

/* Takes the newest shared credential if it beats ours. */
static void adopt_shared(publisher *p, job_slot *s, ap_acct_view *v) {
    if (v->cred == NULL) return;
    uint8_t *blob = v->cred;
    v->cred = NULL;
    adopt_sealed(p, s, blob, v->cred_len);
}

/* The credential is settled (or being waited for): refuse a marked one,
 * refresh a due one, else start the flow. */
static void proceed_with_credential(publisher *p, job_slot *s, const ap_acct_view *v) {
    if (ap_acct_blocked(v, s->cred_digest, s->cred.issued_at_ms)) {
        char why[700];
        snprintf(why, sizeof(why),
                 "the account needs to be reconnected (`autopostctl accounts set-credential`): %s",
                 v->reauth_reason);
        fail_before_call(p, s, AP_CLASS_REAUTH, "account_reauth_required", why, true);
        return;
    }
    if (!s->refresh_tried && ap_refresh_due(p->platform, &s->cred, ap_now_ms())) {
        begin_refresh(p, s, false);
        return;
    }
    start_with_credential(p, s);
}

/* Opens the job's credential, then proceeds. */
static void settle_credential(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since) {
    const ProtobufCBinaryData *sc = &s->job->sealed_credential;
    s->pending_mode = mode;
    s->pending_since = since;
    if (ap_credential_open(&p->keys, s->job->account_id, sc->data, sc->len, &s->cred) != AP_OK) {
        /* Most likely this replica lacks a key (a rotation without
         * previous_key_files), not the account's fault: the job fails but
         * the account is not marked (the dispatcher skips code "credential"). */
        fail_before_call(p, s, AP_CLASS_REAUTH, "credential",
                         "the account's credential cannot be opened with the configured keys "
                         "(wrong key or corrupted); check credentials.previous_key_files, or "
                         "reconnect the account",
                         true);
        return;
    }
    ap_crypto_digest_hex(sc->data, sc->len, s->cred_digest);
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, s->cred.issued_at_ms, &v);
    adopt_shared(p, s, &v);
    proceed_with_credential(p, s, &v);
    ap_acct_view_clear(&v);
}

/* Refresh not possible now: go on with the old access token while it is
 * still valid (and was not just refused), else hand the job back. */
static void refresh_unavailable(publisher *p, job_slot *s, const char *code, const char *msg,
                                int64_t hint_ms) {
    if (!s->after_reauth && !ap_credential_expired(&s->cred, ap_now_ms())) {
        ap_log_info("refresh_skipped", sid(s), "%s; the current access token is still valid", msg);
        start_with_credential(p, s);
        return;
    }
    credential_retry(p, s, code, msg, hint_ms);
}

static void wait_for_credential(publisher *p, job_slot *s) {
    int64_t now = ap_mono_ms();
    if (!s->waiting_cred) s->cred_wait_deadline = now + lock_stale_ms(p) + 5000;
    s->waiting_cred = true;
    s->wake_at_ms = now + CRED_WAIT_POLL_MS;
}

/* A waiting job looks at the local table again. */
static void credential_wait_tick(publisher *p, job_slot *s) {
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, s->cred.issued_at_ms, &v);
    if (v.cred) {
        s->waiting_cred = false;
        adopt_shared(p, s, &v);
        ap_log_info("token_shared", sid(s), "using the access token another replica refreshed");
        /* A fresh credential is used as it is: no second refresh. */
        s->refresh_tried = true;
        proceed_with_credential(p, s, &v);
    } else if (ap_acct_blocked(&v, s->cred_digest, s->cred.issued_at_ms)) {
        s->waiting_cred = false;
        proceed_with_credential(p, s, &v); /* fails it as REAUTH */
    } else if (!v.lock.present || v.lock.ambiguous) {
        s->waiting_cred = false;
        refresh_unavailable(p, s, "token_refresh",
                            v.lock.ambiguous ? "another replica's token refresh got no answer"
                                             : "another replica's token refresh did not complete",
                            v.lock.ambiguous ? ambiguous_cooldown_ms(p) : 0);
    } else if (ap_mono_ms() >= s->cred_wait_deadline) {
        s->waiting_cred = false;
        credential_retry(p, s, "token_refresh",
                         "timed out waiting for another replica's token refresh", 0);
    } else {
        s->wake_at_ms = ap_mono_ms() + CRED_WAIT_POLL_MS;
    }
    ap_acct_view_clear(&v);
}

/* Reads one key of the accounts bucket from the server into the table. */
static ap_status acct_kv_refresh_key(publisher *p, const char *key, kvEntry **out) {
    kvEntry *e = NULL;
    natsStatus st = kvStore_Get(&e, p->acct_kv, key);
    if (st == NATS_NOT_FOUND) return AP_ENOTFOUND;
    if (st != NATS_OK) return AP_ENATS;
    ap_accounts_apply(p->acc, key, (const char *)kvEntry_Value(e),
                      (size_t)(kvEntry_ValueLen(e) > 0 ? kvEntry_ValueLen(e) : 0),
                      kvEntry_Operation(e) != kvOp_Put, kvEntry_Revision(e));
    if (out)
        *out = e;
    else
        kvEntry_Destroy(e);
    return AP_OK;
}

static void release_lock(publisher *p, job_slot *s) {
    char key[96];
    acct_kv_key(key, sizeof(key), "refresh", s);
    natsStatus st = kvStore_Delete(p->acct_kv, key);
    if (st != NATS_OK)
        ap_log_warn("refresh_unlock_failed", sid(s),
                    "refresh lock not released: %s (it goes "
                    "stale on its own)",
                    natsStatus_GetText(st));
    ap_accounts_apply(p->acc, key, NULL, 0, true, s->lock_rev + 1);
    s->lock_rev = 0;
}

static void send_refresh(publisher *p, job_slot *s) {
    ap_http_request_clear(&s->req);
    if (ap_refresh_request(&s->req, p->platform, p->client_secret, s->cred.refresh_token) !=
            AP_OK ||
        (s->easy = ap_http_easy_new(easy_take(p), &s->req, p->platform, &s->res, &s->headers)) ==
            NULL ||
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK ||
        curl_multi_add_handle(p->multi, s->easy) != CURLM_OK) {
        release_lock(p, s);
        refresh_unavailable(p, s, "internal", "could not start the token refresh call", 0);
        return;
    }
    s->refreshing = true;
    ap_log_info("token_refresh", sid(s), "refreshing the access token of account %s",
                s->job->account_id);
}

/* We hold the lock: the refresh may already have happened elsewhere (our
 * table lagging behind the bucket), so read the shared credential from the
 * server before spending the single-use refresh token. */
static void refresh_locked(publisher *p, job_slot *s) {
    char key[96];
    acct_kv_key(key, sizeof(key), "cred", s);
    ap_status st = acct_kv_refresh_key(p, key, NULL);
    if (st == AP_ENATS) {
        release_lock(p, s);
        refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
        return;
    }
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, s->cred.issued_at_ms, &v);
    if (v.cred) {
        release_lock(p, s);
        adopt_shared(p, s, &v);
        proceed_with_credential(p, s, &v);
        ap_acct_view_clear(&v);
        return;
    }
    ap_acct_view_clear(&v);
    send_refresh(p, s);
}

static void begin_refresh(publisher *p, job_slot *s, bool after_reauth) {
    char key[96];
    s->refresh_tried = true;
    s->after_reauth = after_reauth;
    acct_kv_key(key, sizeof(key), "refresh", s);
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, INT64_MAX, &v);
    ap_refresh_lock lock = v.lock;
    ap_acct_view_clear(&v);
    int64_t now = ap_now_ms();
    char *value = ap_acct_lock_value(false, now, p->cfg->instance);
    if (value == NULL) {
        refresh_unavailable(p, s, "internal", "out of memory", 0);
        return;
    }
    uint64_t rev = 0;
    natsStatus st = NATS_OK;
    switch (ap_refresh_lock_decide(&lock, now, lock_stale_ms(p), ambiguous_cooldown_ms(p))) {
    case AP_LOCK_WAIT: wait_for_credential(p, s); goto done;
    case AP_LOCK_COOLDOWN:
        refresh_unavailable(p, s, "token_refresh_unconfirmed",
                            "an earlier token refresh got no answer; not refreshing again before "
                            "its cool-down",
                            lock.at_ms + ambiguous_cooldown_ms(p) - now);
        goto done;
    case AP_LOCK_TAKE: st = kvStore_CreateString(&rev, p->acct_kv, key, value); break;
    case AP_LOCK_TAKEOVER:
        st = kvStore_UpdateString(&rev, p->acct_kv, key, value, lock.revision);
        break;
    }
    if (st == NATS_OK) {
        s->lock_rev = rev;
        ap_accounts_apply(p->acc, key, value, strlen(value), false, rev);
        refresh_locked(p, s);
        goto done;
    }
    /* Lost the race (or the bucket is down): learn the lock's state and wait. */
    if (acct_kv_refresh_key(p, key, NULL) == AP_ENATS) {
        refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
        goto done;
    }
    wait_for_credential(p, s);
done:
    free(value);
}

/* Keeps our lock, marked: nobody spends the refresh token again before the
 * cool-down (refresh.h). */
static void mark_refresh_ambiguous(publisher *p, job_slot *s) {
    char key[96];
    char *value = ap_acct_lock_value(true, ap_now_ms(), p->cfg->instance);
    uint64_t rev = 0;
    acct_kv_key(key, sizeof(key), "refresh", s);
    if (value && kvStore_UpdateString(&rev, p->acct_kv, key, value, s->lock_rev) == NATS_OK)
        ap_accounts_apply(p->acc, key, value, strlen(value), false, rev);
    free(value);
}

/* The token endpoint answered (or did not). */
static void on_refresh_done(publisher *p, job_slot *s, const ap_http_response *res) {
    char msg[512], key[96];
    ap_credential nc;
    s->refreshing = false;
    ap_refresh_outcome o = ap_refresh_parse(res, &s->cred, ap_now_ms(), &nc, msg, sizeof(msg));
    switch (o) {
    case AP_REFRESH_OK: {
        uint8_t *sealed = NULL;
        size_t len = 0;
        char *value = NULL;
        if (ap_credential_seal(&p->keys, s->job->account_id, &nc, &sealed, &len) != AP_OK ||
            (value = ap_acct_cred_value(sealed, len, nc.issued_at_ms, p->cfg->instance)) == NULL) {
            /* The single-use token is spent and the new one cannot be kept. */
            ap_credential_wipe(&nc);
            free(sealed);
            release_lock(p, s);
            mark_reauth(p, s, "a refreshed credential could not be sealed");
            fail_before_call(p, s, AP_CLASS_REAUTH, "token_refresh",
                             "a refreshed credential could not be sealed; reconnect the account",
                             true);
            return;
        }
        acct_kv_key(key, sizeof(key), "cred", s);
        uint64_t rev = 0;
        natsStatus st = kvStore_PutString(&rev, p->acct_kv, key, value);
        if (st != NATS_OK)
            ap_log_warn("token_share_failed", sid(s),
                        "refreshed credential not shared (%s); it reaches PostgreSQL with this "
                        "job's result",
                        natsStatus_GetText(st));
        ap_accounts_apply(p->acc, key, value, strlen(value), false, rev);
        free(value);
        release_lock(p, s);
        ap_credential_wipe(&s->cred);
        s->cred = nc;
        ap_crypto_digest_hex(sealed, len, s->cred_digest);
        free(s->new_sealed);
        s->new_sealed = sealed;
        s->new_sealed_len = len;
        ap_log_info("token_refreshed", sid(s), "account %s: %s", s->job->account_id, msg);
        start_with_credential(p, s);
        return;
    }
    case AP_REFRESH_INVALID_GRANT:
        release_lock(p, s);
        mark_reauth(p, s, msg);
        fail_before_call(p, s, AP_CLASS_REAUTH, "invalid_grant", msg, true);
        return;
    case AP_REFRESH_NOT_DONE:
        release_lock(p, s);
        ap_log_warn("token_refresh_failed", sid(s), "%s", msg);
        refresh_unavailable(p, s, "token_refresh", msg, 0);
        return;
    case AP_REFRESH_AMBIGUOUS: {
        mark_refresh_ambiguous(p, s);
        ap_log_warn("token_refresh_unconfirmed", sid(s), "account %s: %s", s->job->account_id, msg);
        refresh_unavailable(p, s, "token_refresh_unconfirmed", msg, ambiguous_cooldown_ms(p));
        return;
    }
    }
}

/* Claims the attempt record and decides how this delivery proceeds. */
static void start_job(publisher *p, natsMsg *msg) {
    char why[256];
    jsMsgMetaData *meta = NULL;
    job_slot *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        natsMsg_Destroy(msg); /* unacked: redelivered after AckWait */
        pthread_mutex_lock(&p->mu);
        p->inflight--;
        pthread_mutex_unlock(&p->mu);
        return;
    }
    s->msg = msg;
    s->next = p->slots;
    if (p->slots) p->slots->prev = s;
    p->slots = s;
    s->active = true;
    p->active++;
    s->started_ms = ap_now_ms();
    s->last_progress_ms = ap_mono_ms();
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        s->attempt = (int)meta->NumDelivered;
        s->stream_seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    } else {
        s->attempt = 1;
    }

    if (ap_job_decode(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &s->job, why,
                      sizeof(why)) != AP_OK) {
        /* Poison: nothing we could ever do with it. Report and drop. */
        p->counts.poison++;
        ap_log_error("poison_message", NULL,
                     "terminated message %llu on %s (%d bytes, delivery %d): %s",
                     (unsigned long long)s->stream_seq, natsMsg_GetSubject(msg),
                     natsMsg_GetDataLength(msg), s->attempt, why);
        ap_counter_inc(p->m.poison);
        if (natsMsg_Term(msg, NULL) == NATS_OK) ap_counter_inc(p->m.terms);
        slot_release(p, s);
        return;
    }
    ap_job_msg_id(s->key, sizeof(s->key), s->job->schedule_id, s->job->generation);
    s->in.job = s->job;
    s->in.platform = p->platform;

    if (strcmp(s->job->platform, p->platform->name) != 0) {
        snprintf(why, sizeof(why), "job for platform \"%s\" arrived on %s", s->job->platform,
                 natsMsg_GetSubject(msg));
        fail_before_call(p, s, AP_CLASS_INVALID, "wrong_platform", why, false);
        return;
    }
    if (!p->adapter->validate(s->job, why, sizeof(why))) {
        fail_before_call(p, s, AP_CLASS_INVALID, "invalid", why, false);
        return;
    }

    /* Claim the attempt record: create-if-absent, answered as OP_CLAIM. */
    ap_guard_record started = {
        .state = AP_GUARD_STARTED, .attempt = s->attempt, .at_ms = ap_now_ms()};
    s->claim_at_ms = started.at_ms;
    if (guard_publish(p, s, &started, OP_CLAIM, 0) != AP_OK) hand_back_guard_unavailable(p, s);
}

/* The claim's answer decides how this delivery proceeds: g is AP_OK when the
 * record was created by us (revision in rec), AP_ECONFLICT when one was
 * already there (rec holds it), AP_ENATS when the bucket is unreachable. */
static void after_claim(publisher *p, job_slot *s, ap_status g, ap_guard_record rec) {
    natsMsg *msg = s->msg;
    if (g == AP_ENATS) {
        hand_back_guard_unavailable(p, s);
        return;
    }
    s->guard_rev = rec.revision;
    ap_flow_mode mode = AP_FLOW_PUBLISH;
    int64_t since = 0;
    if (g == AP_ECONFLICT) {
        ap_flow_result r;
        memset(&r, 0, sizeof(r));
        switch (rec.state) {
        case AP_GUARD_PUBLISHED:
            snprintf(r.external_id, sizeof(r.external_id), "%s", rec.external_id);
            ap_log_info("guard_published", sid(s), "already published; re-reporting");
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED, &r, false);
            return;
        case AP_GUARD_CANCELLED:
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED, &r, false);
            return;
        case AP_GUARD_FAILED:
            ap_flow_fail(&r, AP_CLASS_PERMANENT, 0, "already_failed",
                         "an earlier attempt already ended this schedule as failed");
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &r, false);
            return;
        case AP_GUARD_UNCONFIRMED:
            ap_flow_fail(&r, AP_CLASS_AMBIGUOUS, 0, "unconfirmed",
                         "an earlier attempt ended unconfirmed");
            finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED, &r, false);
            return;
        case AP_GUARD_DEFERRED: {
            /* Its result may not have landed: say it again. Once folded, the
             * row is at the next generation and this one is history. */
            int64_t left = rec.at_ms - ap_now_ms();
            ap_flow_fail(&r, AP_CLASS_RETRY, 0, "deferred",
                         "an earlier attempt was deferred by a platform limit");
            report(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED, &r, AP_GUARD_NONE, SETTLE_ACK,
                   left > 0 ? left : 0);
            return;
        }
        case AP_GUARD_RETRY: {
            ap_guard_record next = {
                .state = AP_GUARD_STARTED, .attempt = s->attempt, .at_ms = ap_now_ms()};
            if (ap_guard_set(p->kv, s->key, &next, p->cfg->instance, &s->guard_rev) != AP_OK) {
                nak_msg(p, msg, KV_BUSY_RETRY_MS);
                slot_release(p, s);
                return;
            }
            s->claim_at_ms = next.at_ms;
            s->fence_ok_ms = ap_mono_ms();
            break;
        }
        default: { /* started / unknown: an attempt died mid-call, or is still alive */
            since = rec.at_ms > 0 ? rec.at_ms : s->started_ms - p->cfg->ack_wait_ms;
            ap_guard_record next = {
                .state = AP_GUARD_STARTED, .attempt = s->attempt, .at_ms = since};
            if (ap_guard_set(p->kv, s->key, &next, p->cfg->instance, &s->guard_rev) != AP_OK) {
                nak_msg(p, msg, KV_BUSY_RETRY_MS);
                slot_release(p, s);
                return;
            }
            s->claim_at_ms = since;
            s->fence_ok_ms = ap_mono_ms();
            mode = AP_FLOW_VERIFY;
            /* The fence (guard.h): the earlier holder sends nothing new now,
             * but what it sent before may still land; unless it said its
             * calls were over, read back only after the takeover window. */
            if (rec.state != AP_GUARD_STARTED || !rec.ended)
                s->verify_not_before_ms = ap_mono_ms() + takeover_window_ms(p);
            ap_log_info("verify_start", sid(s),
                        "attempt %d by another run did not finish; reading back %s", rec.attempt,
                        s->verify_not_before_ms ? "after the takeover window" : "first");
        }
        }
    }

    if (mode == AP_FLOW_PUBLISH && defer_if_paused(p, s)) return;
    settle_credential(p, s, mode, since);
}

/* ---- PubAck events ------------------------------------------------------ */

static void on_claim_done(publisher *p, job_slot *s, const ap_js_done *d) {
    ap_guard_record rec;
    memset(&rec, 0, sizeof(rec));
    if (d->ok) {
        rec.revision = d->seq; /* ours: nothing was there before */
        s->fence_ok_ms = ap_mono_ms();
        after_claim(p, s, AP_OK, rec);
        return;
    }
    if (d->err == JSStreamWrongLastSequenceErr) {
        /* A record exists (a redelivery): read what it says. */
        ap_status r = ap_guard_read(p->kv, s->key, &rec);
        after_claim(p, s, r == AP_OK ? AP_ECONFLICT : AP_ENATS, rec);
        return;
    }
    after_claim(p, s, AP_ENATS, rec);
}

static void take_events(publisher *p) {
    ap_js_done ev[256];
    int n;
    while ((n = ap_jsasync_take(p->jsa, ev, 256)) > 0) {
        for (int i = 0; i < n; i++) {
            job_slot *s = ev[i].owner;
            s->pending_ops--;
            switch (ev[i].tag) {
            case OP_CLAIM: on_claim_done(p, s, &ev[i]); break;
            case OP_FENCE: on_fence_done(p, s, &ev[i]); break;
            case OP_RECORD:
                if (ev[i].ok)
                    s->guard_rev = ev[i].seq;
                else
                    ap_log_warn("guard_write_failed", sid(s), "attempt record not updated: %s (%d)",
                                natsStatus_GetText(ev[i].status), (int)ev[i].err);
                if (s->settling && s->pending_ops == 0) settle(p, s);
                break;
            default: /* OP_RESULT */
                s->result_stored = ev[i].ok;
                if (s->settling && s->pending_ops == 0) settle(p, s);
            }
        }
    }
}

/* ---- engine ------------------------------------------------------------- */

/* Starts held jobs, oldest first (stream order), while fewer than
 * concurrency are active; when stopping, hands every held job back. */
static void take_inbox(publisher *p) {
    natsMsg *batch[256];
    for (;;) {
        int n = 0, room = *p->stop ? 256 : p->platform->concurrency - p->active;
        if (room > 256) room = 256;
        pthread_mutex_lock(&p->mu);
        while (n < room && p->inbox_head < p->inbox_len) batch[n++] = p->inbox[p->inbox_head++].msg;
        if (p->inbox_head == p->inbox_len) p->inbox_head = p->inbox_len = 0;
        pthread_mutex_unlock(&p->mu);
        if (n == 0) return;
        for (int i = 0; i < n; i++) {
            if (*p->stop) {
                /* Stopping: hand it straight back to another replica. */
                nak_msg(p, batch[i], 0);
                natsMsg_Destroy(batch[i]);
                pthread_mutex_lock(&p->mu);
                p->inflight--;
                pthread_mutex_unlock(&p->mu);
            } else {
                start_job(p, batch[i]);
            }
        }
    }
}

static void reap_transfers(publisher *p) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        job_slot *s = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (s == NULL) continue;
        ap_http_easy_finish(s->easy, m->data.result, &s->res);
        ap_http_response res = s->res; /* advance() clears s->res after the step */
        memset(&s->res, 0, sizeof(s->res));
        if (s->refreshing) {
            easy_recycle(p, s->easy);
            s->easy = NULL;
            curl_slist_free_all(s->headers);
            s->headers = NULL;
            ap_http_request_clear(&s->req);
            on_refresh_done(p, s, &res);
        } else {
            advance(p, s, &res);
        }
        ap_http_response_clear(&res);
    }
}

/* Wakes waiting flows and tells JetStream that long calls are still alive. */
static int64_t service_timers(publisher *p) {
    int64_t now = ap_mono_ms(), next = now + ENGINE_TICK_MS;
    int64_t progress_every = p->cfg->ack_wait_ms / 3;
    job_slot *s = p->slots;
    while (s) {
        job_slot *following = s->next; /* advance() may release s */
        if (s->wake_at_ms && s->wake_at_ms <= now) {
            s->wake_at_ms = 0;
            if (s->waiting_cred)
                credential_wait_tick(p, s);
            else
                advance(p, s, NULL);
        } else {
            if (s->wake_at_ms && s->wake_at_ms < next) next = s->wake_at_ms;
            if (now - s->last_progress_ms >= progress_every) {
                natsMsg_InProgress(s->msg, NULL);
                s->last_progress_ms = now;
            }
        }
        s = following;
    }
    /* Held jobs wait for at most about one call; still, JetStream must not
     * hand them to another replica (and count a delivery) meanwhile. */
    pthread_mutex_lock(&p->mu);
    for (int i = p->inbox_head; i < p->inbox_len; i++) {
        if (now - p->inbox[i].progress_ms >= progress_every) {
            natsMsg_InProgress(p->inbox[i].msg, NULL);
            p->inbox[i].progress_ms = now;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return next - now;
}

/* Grace expired: release what is left. A job whose request may have been
 * sent stays unacked (its record says "started", so the redelivery reads
 * back); one that never called out is handed back at once. */
static void abandon_remaining(publisher *p) {
    while (p->slots) {
        job_slot *s = p->slots;
        if (s->settling || (s->pending_ops > 0 && !s->fencing)) {
            ap_log_warn("drain_abandoned", sid(s),
                        "outcome not yet stored at shutdown; the redelivery re-reports it");
        } else if (s->job && !s->sent_any) {
            /* A token refresh cut off mid-call may have spent the refresh
             * token: say so, so nobody spends it again before the cool-down. */
            if (s->refreshing) mark_refresh_ambiguous(p, s);
            guard_write(p, s, AP_GUARD_RETRY, NULL);
            nak_msg(p, s->msg, 0);
        } else {
            ap_log_warn("drain_abandoned", sid(s),
                        "still in flight at shutdown; redelivery will read back first");
        }
        slot_release(p, s);
    }
}

/* The engine loop is the one /healthz watches; a busy loop turns thousands
 * of times a second, so it reports ten times a second at most. */
static void engine_report_health(publisher *p) {
    int64_t now = ap_mono_ms();
    if (now < p->m.next_health_ms) return;
    p->m.next_health_ms = now + ENGINE_TICK_MS;
    ap_health_beat();
    ap_health_set(AP_CHECK_NATS, natsConnection_Status(p->nats.nc) == NATS_CONN_STATUS_CONNECTED);
    pthread_mutex_lock(&p->mu);
    int inflight = p->inflight;
    pthread_mutex_unlock(&p->mu);
    ap_gauge_set(p->m.in_flight, inflight);
}

/* nats.c thread: PubAck events are ready for the engine. */
static void wake_engine(void *arg) {
    publisher *p = arg;
    curl_multi_wakeup(p->multi);
}

static int engine_run(publisher *p) {
    int64_t drain_deadline = 0;
    int64_t last_stats = ap_mono_ms();
    for (;;) {
        engine_report_health(p);
        take_inbox(p);
        take_events(p);
        int running = 0;
        curl_multi_perform(p->multi, &running);
        reap_transfers(p);
        int64_t wait = service_timers(p);
        take_inbox(p); /* flows that just ended made room for held jobs */

        if (*p->stop) {
            int64_t now = ap_mono_ms();
            if (drain_deadline == 0) {
                drain_deadline = now + p->cfg->publisher_drain_grace_ms;
                ap_log_info("draining", NULL, "stop requested: finishing in-flight jobs");
            }
            pthread_mutex_lock(&p->mu);
            bool idle = p->fetch_done && p->inbox_head == p->inbox_len && p->slots == NULL;
            pthread_mutex_unlock(&p->mu);
            if (idle) break;
            if (now >= drain_deadline) {
                abandon_remaining(p);
                break;
            }
        }
        if (ap_mono_ms() - last_stats >= 10000) {
            last_stats = ap_mono_ms();
            ap_log_info("stats", NULL,
                        "published=%llu retried=%llu failed=%llu unconfirmed=%llu poison=%llu",
                        (unsigned long long)p->counts.published,
                        (unsigned long long)p->counts.retried, (unsigned long long)p->counts.failed,
                        (unsigned long long)p->counts.unconfirmed,
                        (unsigned long long)p->counts.poison);
        }
        if (wait < 1) wait = 1;
        curl_multi_poll(p->multi, NULL, 0, (int)(wait > ENGINE_TICK_MS ? ENGINE_TICK_MS : wait),
                        NULL);
    }
    return 0;
}

static ap_status subscribe(publisher *p, char *err, size_t errlen) {
    char durable[64], subject[96];
    ap_consumer_name_publisher(durable, sizeof(durable), p->platform->name);
    snprintf(subject, sizeof(subject), AP_SUBJECT_JOBS_PREFIX "%s", p->platform->name);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = AP_STREAM_JOBS;
    so.Consumer = durable;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&p->sub, p->nats.js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "pull subscribe", s, jerr);
        return AP_ENATS;
    }
    s = js_KeyValue(&p->kv, p->nats.js, AP_KV_ATTEMPTS);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "key-value bucket " AP_KV_ATTEMPTS, s, 0);
        return AP_ENATS;
    }
    s = js_KeyValue(&p->acct_kv, p->nats.js, AP_KV_ACCOUNTS);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "key-value bucket " AP_KV_ACCOUNTS, s, 0);
        return AP_ENATS;
    }
    if (ap_accounts_watch(p->acc, p->acct_kv) != AP_OK) {
        snprintf(err, errlen, "cannot start the accounts watcher");
        return AP_ENOMEM;
    }
    /* Jobs start once the marks and shared credentials are known, so a
     * restarted replica does not call for an account already marked. */
    for (int i = 0; i < 100 && !ap_accounts_synced(p->acc) && !*p->stop; i++) ap_sleep_ms(50);
    if (!ap_accounts_synced(p->acc))
        ap_log_warn("accounts_not_synced", NULL,
                    "accounts bucket not read within 5 s; starting anyway");
    return AP_OK;
}

/* The OAuth client secret, for confidential clients; kept only in memory. */
static ap_status load_client_secret(publisher *p, char *err, size_t errlen) {
    const char *path = p->platform->client_secret_file;
    snprintf(err, errlen, "out of memory");
    if (path == NULL) return AP_OK;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "platforms.%s.client_secret_file: %s: %s", p->platform->name, path,
                 strerror(errno));
        return AP_EIO;
    }
    char buf[1024] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) n--;
    buf[n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "platforms.%s.client_secret_file: %s is empty", p->platform->name,
                 path);
        return AP_EINVAL;
    }
    p->client_secret = strdup(buf);
    explicit_bzero(buf, sizeof(buf));
    return p->client_secret ? AP_OK : AP_ENOMEM;
}

int ap_publisher_run(const ap_config *cfg, const char *platform, volatile sig_atomic_t *stop) {
    publisher p;
    char err[512];
    int rc = 1;
    bool mutex_ready = false, thread_started = false;
    pthread_t fetcher;
    memset(&p, 0, sizeof(p));
    p.cfg = cfg;
    p.stop = stop;
    p.platform = ap_config_platform(cfg, platform);
    p.adapter = ap_adapter_find(platform);
    p.rng = (unsigned)ap_now_ms() ^ (unsigned)getpid();
    if (p.platform == NULL || p.adapter == NULL) {
        ap_log_error("startup_failed", NULL, "platform %s is not configured", platform);
        return 1;
    }
    p.max_held = p.platform->concurrency + jobs_headroom(p.platform->concurrency);
    /* Without it handles are simply not kept (easy_recycle). */
    p.spare_easy = calloc((size_t)p.platform->concurrency, sizeof(*p.spare_easy));
    publisher_metrics_init(&p);
    if (!p.platform->tls_verify)
        ap_log_warn("tls_verify_off", NULL,
                    "TLS certificate verification is OFF for %s: only acceptable for a sandbox",
                    platform);
    if (ap_crypto_keyring_load(&p.keys, cfg, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        return 1;
    }
    if (load_client_secret(&p, err, sizeof(err)) != AP_OK || ap_accounts_new(&p.acc) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        ap_crypto_keyring_wipe(&p.keys);
        return 1;
    }
    p.multi = curl_multi_init();
    if (p.multi == NULL) goto cleanup;
    /* Keep one reusable connection per in-flight call. */
    curl_multi_setopt(p.multi, CURLMOPT_MAXCONNECTS, (long)p.platform->concurrency);
    if (pthread_mutex_init(&p.mu, NULL) != 0 || pthread_cond_init(&p.room, NULL) != 0) goto cleanup;
    mutex_ready = true;

    char client[128];
    snprintf(client, sizeof(client), "autopost-publisher-%s/%s", platform, cfg->instance);
    if (ap_nats_connect(&p.nats, cfg, client, NULL, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    if (ap_js_topology_ready_wait(p.nats.js, cfg, AP_ROLE_PUBLISHER, platform, stop) != AP_OK) {
        rc = 0; /* stopped before NATS ever came up */
        goto cleanup;
    }
    if (subscribe(&p, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    /* PubAcks must arrive well within AckWait, or the job comes back anyway. */
    if (ap_jsasync_new(&p.jsa, p.nats.nc, cfg->ack_wait_ms / 2, wake_engine, &p) != AP_OK) {
        ap_log_error("startup_failed", NULL, "cannot create the JetStream publish context");
        goto cleanup;
    }
    ap_health_set(AP_CHECK_TOPOLOGY, true);
    ap_log_info("started", NULL, "publishing %s jobs: concurrency %d, max attempts %d, base %s",
                platform, p.platform->concurrency, p.platform->max_attempts, p.platform->base_url);
    if (pthread_create(&fetcher, NULL, fetch_main, &p) != 0) goto cleanup;
    thread_started = true;
    rc = engine_run(&p);
    pthread_join(fetcher, NULL);
    thread_started = false;
    /* Messages fetched after the engine's last look go straight back. */
    take_inbox(&p);
    ap_log_info("stopped", NULL, "published=%llu retried=%llu failed=%llu poison=%llu",
                (unsigned long long)p.counts.published, (unsigned long long)p.counts.retried,
                (unsigned long long)p.counts.failed, (unsigned long long)p.counts.poison);
cleanup:
    if (thread_started) {
        pthread_join(fetcher, NULL);
    }
    /* Writes still waiting for a PubAck get a moment; their jobs are unacked
     * either way, so nothing is lost if they never answer. */
    ap_jsasync_destroy(p.jsa, 2000);
    /* Destroy, not Unsubscribe: the durable consumer outlives this replica. */
    if (p.sub) natsSubscription_Destroy(p.sub);
    ap_accounts_free(p.acc); /* stops the watcher before its bucket goes */
    if (p.acct_kv) kvStore_Destroy(p.acct_kv);
    if (p.kv) kvStore_Destroy(p.kv);
    if (p.client_secret) {
        explicit_bzero(p.client_secret, strlen(p.client_secret));
        free(p.client_secret);
    }
    ap_nats_close(&p.nats);
    while (p.spare_len > 0) curl_easy_cleanup(p.spare_easy[--p.spare_len]);
    free(p.spare_easy);
    if (p.multi) curl_multi_cleanup(p.multi);
    if (mutex_ready) {
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.room);
    }
    free(p.inbox);
    ap_crypto_keyring_wipe(&p.keys);
    return rc;
}
