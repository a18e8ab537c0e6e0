/* delivery.c -- the delivery loop (delivery.h): claim, sign, POST with curl
 * multi, record the outcome. */
#include "delivery.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ap_crypto.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_netpolicy.h"
#include "ap_pg.h"
#include "ap_time.h"
#include "endpoints.h"
#include "event.h"
#include "retry.h"
#include "signature.h"

/* How often an idle loop looks for due rows. */
#define CLAIM_IDLE_MS 250
/* A claimed row is due again this long after its request's timeout: only a
 * replica that died mid-request leaves it unrecorded that long. */
#define LEASE_MARGIN_MS 30000
#define LAST_ERROR_MAX 200
/* Retention (webhooks.delivery_retention): finished rows older than that go,
 * PRUNE_BATCH at a time (a full batch: prune again on the next turn). */
#define PRUNE_BATCH 5000
#define PRUNE_INTERVAL_MS 60000

static const char claim_due[] =
    "WITH due AS ("
    "  SELECT id FROM webhook_deliveries"
    "  WHERE state = 'pending' AND next_attempt_at <= now()"
    "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_attempt_at = now(), "
    "  next_attempt_at = now() + $2::bigint * interval '1 millisecond' "
    "FROM due, webhook_endpoints e "
    "WHERE d.id = due.id AND e.id = d.webhook_id "
    "RETURNING d.id, d.attempts, d.event_id, d.body, e.id, e.url, e.secret_sealed, "
    "  (extract(epoch FROM d.created_at) * 1000)::bigint";

/* Finished rows only: a pending delivery is a promise whatever its age. */
static const char prune_finished[] =
    "DELETE FROM webhook_deliveries WHERE ctid = ANY (ARRAY("
    "  SELECT ctid FROM webhook_deliveries WHERE state IN ('delivered', 'failed')"
    "  AND coalesce(last_attempt_at, created_at) < now() - $1::bigint * interval '1 millisecond'"
    "  LIMIT $2))";

/* Every outcome a turn of the loop collected, in one statement: one round
 * trip per turn instead of one per delivery. A row moves only if it is
 * still the attempt this replica claimed (attempts, pending): a lease that
 * ran out and was claimed again elsewhere keeps the newer attempt's word.
 * An endpoint that answered 2xx in the batch is not failing; one whose
 * delivery was given up is (from the first give-up on). */
static const char record_outcomes[] =
    "WITH o AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(id bigint, attempts int, "
    "    outcome text, status int, why text, delay_ms bigint)), "
    "d AS (UPDATE webhook_deliveries w SET "
    "    state = CASE o.outcome WHEN 'retry' THEN 'pending' ELSE o.outcome END, "
    "    delivered_at = CASE WHEN o.outcome = 'delivered' THEN now() ELSE w.delivered_at END, "
    "    next_attempt_at = CASE WHEN o.outcome = 'retry' "
    "      THEN now() + o.delay_ms * interval '1 millisecond' ELSE w.next_attempt_at END, "
    "    last_status = NULLIF(o.status, 0), last_error = o.why "
    "  FROM o WHERE w.id = o.id AND w.attempts = o.attempts AND w.state = 'pending' "
    "  RETURNING w.webhook_id, o.outcome), "
    "e AS (SELECT webhook_id, bool_or(outcome = 'delivered') AS answered FROM d "
    "  WHERE outcome <> 'retry' GROUP BY webhook_id) "
    "UPDATE webhook_endpoints x SET failing_since = CASE WHEN e.answered THEN NULL "
    "  ELSE coalesce(x.failing_since, now()) END "
    "FROM e WHERE x.id = e.webhook_id "
    "  AND (e.answered IS DISTINCT FROM (x.failing_since IS NULL))";

typedef struct transfer {
    bool busy;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    long long id;
    int attempts;
    int64_t created_ms;
    int64_t started_mono_ms;
    bool address_refused;
    char webhook_id[AP_UUID_TEXT_LEN + 1];
    char event_id[AP_UUID_TEXT_LEN + 1];
    /* A schedule event's trace with this attempt's span: the traceparent
     * header and the trace_id of the lines about it ("" when none). */
    ap_trace trace;
    char schedule_id[AP_UUID_TEXT_LEN + 1];
} transfer;

/* A finished attempt waiting for this turn's record_outcomes. */
typedef struct outcome {
    long long id;
    int attempts;
    long status;
    wh_outcome decision;
    int64_t delay_ms;
    char why[LAST_ERROR_MAX];
    char webhook_id[AP_UUID_TEXT_LEN + 1];
    char event_id[AP_UUID_TEXT_LEN + 1];
    char schedule_id[AP_UUID_TEXT_LEN + 1]; /* "" when the event names none */
    char trace_id[AP_TRACE_ID_LEN + 1];     /* "" when the event has no trace */
} outcome;

struct wh_delivery_loop {
    const ap_config *cfg;
    volatile sig_atomic_t *stop;
    ap_pg pg;
    ap_crypto_keyring ring;
    CURLM *multi;
    transfer *slots;
    int nslots;
    int inflight;
    outcome *outcomes; /* nslots of them: at most one per slot per turn */
    int noutcomes;
    wh_retry_policy policy;
    int64_t next_claim_ms, next_prune_ms;
    ap_counter *delivered, *retried, *failed, *pruned;
    ap_histogram *latency;
};

ap_status wh_delivery_create(wh_delivery_loop **out, const ap_config *cfg,
                             volatile sig_atomic_t *stop, char *err, size_t errlen) {
    wh_delivery_loop *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    d->cfg = cfg;
    d->stop = stop;
    d->nslots = cfg->webhooks_concurrency;
    d->policy = (wh_retry_policy){cfg->webhooks_retry_initial_ms, cfg->webhooks_retry_max_ms,
                                  cfg->webhooks_give_up_after_ms};
    ap_status st = ap_crypto_keyring_load(&d->ring, cfg, err, errlen);
    if (st != AP_OK) goto fail;
    d->slots = calloc((size_t)d->nslots, sizeof(*d->slots));
    d->outcomes = calloc((size_t)d->nslots, sizeof(*d->outcomes));
    d->multi = curl_multi_init();
    if (d->slots == NULL || d->outcomes == NULL || d->multi == NULL) {
        snprintf(err, errlen, "out of memory");
        st = AP_ENOMEM;
        goto fail;
    }
    char pg_err[256];
    if (ap_pg_open(&d->pg, cfg->pg_dsn, "autopost-webhooks", pg_err, sizeof(pg_err)) != AP_OK)
        ap_log_warn("postgres_down", NULL, "delivery: %s (retrying)", pg_err);
    ap_metrics *reg = ap_health_metrics();
    const char *const ok[] = {"outcome", "delivered", NULL};
    const char *const again[] = {"outcome", "retried", NULL};
    const char *const gave_up[] = {"outcome", "failed", NULL};
    const char *help = "Webhook delivery attempts by outcome (failed: gave up after "
                       "webhooks.give_up_after).";
    d->delivered = ap_metrics_counter(reg, "autopost_webhook_deliveries_total", help, ok);
    d->retried = ap_metrics_counter(reg, "autopost_webhook_deliveries_total", help, again);
    d->failed = ap_metrics_counter(reg, "autopost_webhook_deliveries_total", help, gave_up);
    d->pruned =
        ap_metrics_counter(reg, "autopost_webhook_deliveries_pruned_total",
                           "Finished deliveries deleted after webhooks.delivery_retention.", NULL);
    d->latency = ap_metrics_histogram(reg, "autopost_webhook_request_seconds",
                                      "Time from sending a delivery to its answer or error.", NULL,
                                      ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
    *out = d;
    return AP_OK;
fail:
    wh_delivery_destroy(d);
    return st;
}

static void transfer_release(wh_delivery_loop *d, transfer *t) {
    if (t->easy) {
        curl_multi_remove_handle(d->multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    free(t->body);
    memset(t, 0, sizeof(*t));
}

void wh_delivery_destroy(wh_delivery_loop *d) {
    if (d == NULL) return;
    for (int i = 0; d->slots && i < d->nslots; i++)
        if (d->slots[i].busy) transfer_release(d, &d->slots[i]);
    free(d->slots);
    free(d->outcomes);
    if (d->multi) curl_multi_cleanup(d->multi);
    ap_crypto_keyring_wipe(&d->ring);
    ap_pg_close(&d->pg);
    free(d);
}

/* ---- outcome ------------------------------------------------------------ */

static uint64_t jitter_random(void) {
    uint64_t r = 0;
    /* Jitter needs spread, not secrecy: the clock will do if RAND fails. */
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1) r = (uint64_t)ap_mono_ms();
    return r;
}

/* Decides what the attempt means (delivered, retry later, give up) and
 * queues it for this turn's flush_outcomes. */
static void record(wh_delivery_loop *d, const transfer *t, long status, const char *why) {
    if (d->noutcomes >= d->nslots) return; /* cannot happen: one per slot per turn */
    outcome *o = &d->outcomes[d->noutcomes++];
    int64_t now = ap_now_ms(), next = now;
    o->decision = wh_retry_decide(&d->policy, status, t->attempts, t->created_ms, now,
                                  jitter_random(), &next);
    o->id = t->id;
    o->attempts = t->attempts;
    o->status = status;
    o->delay_ms = next - now;
    snprintf(o->why, sizeof(o->why), "%s", why ? why : "");
    memcpy(o->webhook_id, t->webhook_id, sizeof(o->webhook_id));
    memcpy(o->event_id, t->event_id, sizeof(o->event_id));
    memcpy(o->schedule_id, t->schedule_id, sizeof(o->schedule_id));
    memcpy(o->trace_id, t->trace.trace_id, sizeof(o->trace_id));
}

static const char *decision_name(wh_outcome o) {
    return o == WH_DELIVERED ? "delivered" : o == WH_RETRY ? "retry" : "failed";
}

/* The queued outcomes as record_outcomes' JSON parameter (malloc'ed). */
static char *outcomes_json(const wh_delivery_loop *d) {
    json_t *rows = json_array();
    for (int i = 0; rows && i < d->noutcomes; i++) {
        const outcome *o = &d->outcomes[i];
        json_t *row =
            json_pack("{sI si ss sI ss? sI}", "id", (json_int_t)o->id, "attempts", o->attempts,
                      "outcome", decision_name(o->decision), "status", (json_int_t)o->status, "why",
                      o->why[0] ? o->why : NULL, "delay_ms", (json_int_t)o->delay_ms);
        if (row == NULL || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            return NULL;
        }
    }
    char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;
    json_decref(rows);
    return text;
}

/* Writes every queued outcome in one statement. When that fails nothing is
 * lost: each lease runs out and the row is sent again (at least once). */
static void flush_outcomes(wh_delivery_loop *d) {
    if (d->noutcomes == 0) return;
    char err[256] = "no connection";
    char *json = outcomes_json(d);
    ap_status st = json ? ap_pg_ensure(&d->pg) : AP_ENOMEM;
    if (json == NULL) snprintf(err, sizeof(err), "the outcomes could not be encoded");
    if (st == AP_OK) {
        const char *params[] = {json};
        PGresult *res = PQexecParams(d->pg.conn, record_outcomes, 1, NULL, params, NULL, NULL, 0);
        st = ap_pg_result_ok(res, PGRES_COMMAND_OK, err, sizeof(err));
        PQclear(res);
    }
    free(json);
    for (int i = 0; i < d->noutcomes; i++) {
        const outcome *o = &d->outcomes[i];
        if (st != AP_OK) {
            /* The lease runs out and the row is sent again: at least once. */
            ap_log_job_warn("delivery_unrecorded", o->schedule_id, o->trace_id, "delivery %lld: %s",
                            o->id, err);
            continue;
        }
        ap_counter_inc(o->decision == WH_DELIVERED ? d->delivered
                       : o->decision == WH_RETRY   ? d->retried
                                                   : d->failed);
        ap_log_job_info("webhook_attempt", o->schedule_id, o->trace_id,
                        "delivery %lld event %s webhook %s attempt %d: %s (status %ld%s%s)", o->id,
                        o->event_id, o->webhook_id, o->attempts, decision_name(o->decision),
                        o->status, o->why[0] ? ", " : "", o->why);
        if (o->decision == WH_GIVE_UP)
            ap_log_job_warn("webhook_failing", o->schedule_id, o->trace_id,
                            "webhook %s gave up on event %s after %d attempts", o->webhook_id,
                            o->event_id, o->attempts);
    }
    d->noutcomes = 0;
}

/* ---- request ------------------------------------------------------------ */

static size_t discard_body(char *data, size_t size, size_t n, void *userdata) {
    (void)data, (void)userdata;
    return size * n;
}

/* Every socket libcurl opens for a delivery, whatever the name resolved to. */
static curl_socket_t open_public_socket(void *userdata, curlsocktype purpose,
                                        struct curl_sockaddr *address) {
    transfer *t = userdata;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !ap_netpolicy_address_is_public(&address->addr, address->addrlen, NULL)) {
        t->address_refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

static ap_status add_header(struct curl_slist **list, const char *name, const char *value) {
    char line[256];
    int n = snprintf(line, sizeof(line), "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof(line)) return AP_EINVAL;
    struct curl_slist *next = curl_slist_append(*list, line);
    if (next == NULL) return AP_ENOMEM;
    *list = next;
    return AP_OK;
}

static ap_status sign_headers(wh_delivery_loop *d, transfer *t, const unsigned char *sealed,
                              size_t sealed_len) {
    char aad[WH_SECRET_AAD_LEN];
    char *secret = NULL;
    size_t secret_len = 0;
    ap_status st = wh_secret_aad(aad, t->webhook_id);
    if (st == AP_OK)
        st = ap_crypto_keyring_open(&d->ring, aad, sealed, sealed_len, &secret, &secret_len);
    if (st != AP_OK) return AP_ECRYPTO;
    char signature[WH_SIGNATURE_HEADER_MAX];
    st = wh_signature_header(secret, secret_len, ap_now_ms() / 1000, t->body, strlen(t->body),
                             signature, sizeof(signature));
    explicit_bzero(secret, secret_len);
    free(secret);
    if (st == AP_OK) st = add_header(&t->headers, "Content-Type", "application/json");
    if (st == AP_OK) st = add_header(&t->headers, "Autopost-Event-Id", t->event_id);
    if (st == AP_OK) st = add_header(&t->headers, "Autopost-Signature", signature);
    if (st == AP_OK) st = add_header(&t->headers, "Expect", ""); /* no 100-continue round trip */
    char traceparent[AP_TRACEPARENT_LEN + 1];
    if (st == AP_OK && ap_trace_format(&t->trace, traceparent, sizeof(traceparent)))
        st = add_header(&t->headers, AP_TRACE_HEADER, traceparent);
    return st;
}

static CURLcode configure(wh_delivery_loop *d, transfer *t, const char *url) {
    CURL *e = t->easy;
    long timeout = (long)d->cfg->webhooks_timeout_ms;
    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPHEADER, t->headers);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, t->body);
    SET(CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_CONNECTTIMEOUT_MS, timeout < 5000 ? timeout : 5000L);
    SET(CURLOPT_WRITEFUNCTION, discard_body);
    SET(CURLOPT_USERAGENT, "autopost-webhooks/0.1");
    SET(CURLOPT_PRIVATE, t);
    if (d->cfg->webhooks_allow_private) {
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
    } else {
        /* Kept connections were all opened through this check, so reuse is
         * safe; a new one always passes it. */
        SET(CURLOPT_PROTOCOLS_STR, "https");
        SET(CURLOPT_OPENSOCKETFUNCTION, open_public_socket);
        SET(CURLOPT_OPENSOCKETDATA, t);
    }
#undef SET
    return c;
}

static transfer *free_slot(wh_delivery_loop *d) {
    for (int i = 0; i < d->nslots; i++)
        if (!d->slots[i].busy) return &d->slots[i];
    return NULL;
}

/* One claimed row out; a row that cannot be sent is recorded at once. */
static void start_one(wh_delivery_loop *d, PGresult *res, int row) {
    transfer *t = free_slot(d);
    if (t == NULL) return; /* cannot happen: the claim asked for free slots only */
    t->busy = true;
    t->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    t->attempts = atoi(PQgetvalue(res, row, 1));
    snprintf(t->event_id, sizeof(t->event_id), "%s", PQgetvalue(res, row, 2));
    snprintf(t->webhook_id, sizeof(t->webhook_id), "%s", PQgetvalue(res, row, 4));
    t->created_ms = strtoll(PQgetvalue(res, row, 7), NULL, 10);
    t->body = strdup(PQgetvalue(res, row, 3));
    (void)wh_event_trace(t->body, &t->trace, t->schedule_id); /* none: sent without */
    size_t sealed_len = 0;
    unsigned char *sealed =
        PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, 6), &sealed_len);
    const char *why = NULL;
    if (t->body == NULL || sealed == NULL)
        why = "out of memory";
    else if (sign_headers(d, t, sealed, sealed_len) != AP_OK)
        why = "the secret does not open";
    else if ((t->easy = curl_easy_init()) == NULL ||
             configure(d, t, PQgetvalue(res, row, 5)) != CURLE_OK ||
             curl_multi_add_handle(d->multi, t->easy) != CURLM_OK)
        why = "the request could not be prepared";
    PQfreemem(sealed);
    if (why != NULL) {
        ap_log_job_error("delivery_not_sent", t->schedule_id, t->trace.trace_id,
                         "delivery %lld: %s", t->id, why);
        record(d, t, 0, why);
        transfer_release(d, t);
        return;
    }
    t->started_mono_ms = ap_mono_ms();
    d->inflight++;
}

/* Claims due rows for the free slots. While requests are in flight it
 * waits until an eighth of the slots are free, so a busy loop claims rows
 * in batches rather than one round trip per finished request. */
static void claim(wh_delivery_loop *d) {
    int want = d->nslots - d->inflight, batch = d->nslots / 8 > 1 ? d->nslots / 8 : 1;
    if (want <= 0 || (d->inflight > 0 && want < batch)) return;
    if (ap_mono_ms() < d->next_claim_ms) return;
    ap_status st = ap_pg_ensure(&d->pg);
    PGresult *res = NULL;
    char err[256] = "no connection";
    if (st == AP_OK) {
        char limit[16], lease[24];
        snprintf(limit, sizeof(limit), "%d", want);
        snprintf(lease, sizeof(lease), "%" PRId64, d->cfg->webhooks_timeout_ms + LEASE_MARGIN_MS);
        const char *params[] = {limit, lease};
        res = PQexecParams(d->pg.conn, claim_due, 2, NULL, params, NULL, NULL, 0);
        st = ap_pg_result_ok(res, PGRES_TUPLES_OK, err, sizeof(err));
    }
    ap_health_set(AP_CHECK_POSTGRES, st == AP_OK);
    int got = st == AP_OK ? PQntuples(res) : 0;
    if (st != AP_OK) ap_log_warn("claim_failed", NULL, "claim deliveries: %s", err);
    for (int i = 0; i < got; i++) start_one(d, res, i);
    PQclear(res);
    /* A full claim may leave more due rows: ask again at once. */
    d->next_claim_ms = got == want ? 0 : ap_mono_ms() + CLAIM_IDLE_MS;
}

/* Deletes finished deliveries older than webhooks.delivery_retention (0:
 * keeps them all). A short retention (tests) is checked more often. */
static void prune(wh_delivery_loop *d) {
    int64_t keep = d->cfg->webhooks_delivery_retention_ms, now = ap_mono_ms();
    if (keep <= 0 || now < d->next_prune_ms || PQstatus(d->pg.conn) != CONNECTION_OK) return;
    int64_t interval = keep / 2 < PRUNE_INTERVAL_MS ? keep / 2 : PRUNE_INTERVAL_MS;
    char keep_ms[24], batch[16], err[256] = "no answer";
    snprintf(keep_ms, sizeof(keep_ms), "%" PRId64, keep);
    snprintf(batch, sizeof(batch), "%d", PRUNE_BATCH);
    const char *params[] = {keep_ms, batch};
    PGresult *res = PQexecParams(d->pg.conn, prune_finished, 2, NULL, params, NULL, NULL, 0);
    if (ap_pg_result_ok(res, PGRES_COMMAND_OK, err, sizeof(err)) == AP_OK) {
        long deleted = strtol(PQcmdTuples(res), NULL, 10);
        ap_counter_add(d->pruned, (uint64_t)(deleted > 0 ? deleted : 0));
        if (deleted > 0)
            ap_log_info("deliveries_pruned", NULL,
                        "%ld finished deliveries older than %" PRId64 " ms deleted", deleted, keep);
        if (deleted >= PRUNE_BATCH) interval = 0;
    } else {
        ap_log_warn("deliveries_prune_failed", NULL, "%s", err);
    }
    PQclear(res);
    d->next_prune_ms = now + interval;
}

static void finish(wh_delivery_loop *d, CURLMsg *msg) {
    transfer *t = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    if (t == NULL) return;
    long status = 0;
    CURLcode code = msg->data.result;
    if (code == CURLE_OK) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    ap_histogram_observe(d->latency, (double)(ap_mono_ms() - t->started_mono_ms) / 1000.0);
    char why[LAST_ERROR_MAX];
    /* What a tenant may read back (GET .../deliveries): the status, or a
     * generic reason; never curl's text, which can name resolved addresses. */
    if (t->address_refused)
        snprintf(why, sizeof(why), "address not allowed");
    else if (code != CURLE_OK)
        snprintf(why, sizeof(why), "%s", curl_easy_strerror(code));
    else if (status < 200 || status > 299)
        snprintf(why, sizeof(why), "HTTP %ld", status);
    else
        why[0] = '\0';
    record(d, t, status, why[0] ? why : NULL);
    transfer_release(d, t);
    d->inflight--;
}

void wh_delivery_run(wh_delivery_loop *d) {
    while (!*d->stop || d->inflight > 0) {
        ap_health_beat();
        if (!*d->stop) claim(d);
        flush_outcomes(d); /* rows the claim could not send */
        if (!*d->stop) prune(d);
        int running = 0;
        curl_multi_perform(d->multi, &running);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(d->multi, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE) finish(d, msg);
        flush_outcomes(d);
        int64_t wait = d->next_claim_ms == 0 ? 0 : d->next_claim_ms - ap_mono_ms();
        if (wait > CLAIM_IDLE_MS) wait = CLAIM_IDLE_MS;
        if (wait > 0 || d->inflight > 0)
            curl_multi_poll(d->multi, NULL, 0, wait > 0 ? (int)wait : 10, NULL);
    }
}
