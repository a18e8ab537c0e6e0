/* scheduler.c -- see scheduler.h for the tick's contract. */
#include "scheduler.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_deadline.h"
#include "ap_failpoint.h"
#include "ap_format.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_pg_array.h"
#include "ap_platforms.h"
#include "ap_proto.h"
#include "ap_store.h"
#include "ap_thread.h"
#include "ap_time.h"
#include "claim.h"
#include "recurrence.h"

#define PUBACK_WAIT_MS 10000

typedef struct claimed_row {
    const char *id;
    char msg_id[64];
    int generation;
    bool acked;
    bool duplicate;
    bool rejected;
    bool expired; /* rejected because its deadline passed (mark_expired) */
    char reason[256];
    char code[32];
    char trace_id[AP_TRACE_ID_LEN + 1]; /* for this row's log lines */
} claimed_row;

typedef struct tick_batch {
    claimed_row *rows;
    int n;
    claimed_row **by_msg_id; /* sorted, for the PubAck callback */
    int acked, duplicates, errors;
    pthread_mutex_t mu;
} tick_batch;

/* The PubAck handler is registered once per JetStream context; this is the
 * batch it currently reports to (ticks never overlap within a process). */
static tick_batch *volatile current_batch;

static int cmp_row_ptr(const void *a, const void *b) {
    return strcmp((*(claimed_row *const *)a)->msg_id, (*(claimed_row *const *)b)->msg_id);
}

/* PubAck callback (runs on a nats.c thread). */
static void on_puback(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
    tick_batch *b = closure;
    const char *id = NULL;
    if (natsMsgHeader_Get(msg, AP_HDR_MSG_ID, &id) != NATS_OK || id == NULL) return;
    claimed_row key, *keyp = &key;
    snprintf(key.msg_id, sizeof(key.msg_id), "%s", id);
    claimed_row **hit = bsearch(&keyp, b->by_msg_id, (size_t)b->n, sizeof(*hit), cmp_row_ptr);
    if (hit == NULL) return;
    pthread_mutex_lock(&b->mu);
    if (pa != NULL && pae == NULL) {
        (*hit)->acked = true;
        (*hit)->duplicate = pa->Duplicate;
        b->acked++;
        if (pa->Duplicate) b->duplicates++;
    } else {
        b->errors++;
        ap_log_job_warn("puback_failed", (*hit)->id, (*hit)->trace_id, "job not stored: %s",
                        pae && pae->ErrText ? pae->ErrText
                                            : natsStatus_GetText(pae ? pae->Err : 0));
    }
    pthread_mutex_unlock(&b->mu);
}

/* Media JSON from the posts row -> PublishJob media, and the post's format,
 * which rides on the first item (ap_format.h). Returns false with a reason
 * when the stored value is unusable. */
static bool build_media(const char *json, ap_job *job, Autopost__V1__Media *storage,
                        Autopost__V1__Media **ptrs, char *reason, size_t len) {
    json_error_t jerr;
    json_t *arr = json_loads(json, 0, &jerr);
    bool ok = false;
    if (!json_is_array(arr)) {
        snprintf(reason, len, "stored media is not a JSON array");
        goto cleanup;
    }
    if (json_array_size(arr) > AP_MAX_MEDIA) {
        snprintf(reason, len, "too many media items: %zu (at most %d)", json_array_size(arr),
                 AP_MAX_MEDIA);
        goto cleanup;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        autopost__v1__media__init(&storage[i]);
        json_t *url = json_object_get(item, "url"), *type = json_object_get(item, "type"),
               *alt = json_object_get(item, "alt_text");
        if (!json_is_string(url)) {
            snprintf(reason, len, "media %zu has no url", i + 1);
            goto cleanup;
        }
        storage[i].url = strdup(json_string_value(url));
        storage[i].alt_text = strdup(json_is_string(alt) ? json_string_value(alt) : "");
        const char *t = json_is_string(type) ? json_string_value(type) : "image";
        if (strcmp(t, "image") == 0)
            storage[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
        else if (strcmp(t, "video") == 0)
            storage[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
        else if (strcmp(t, "gif") == 0)
            storage[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF;
        else if (strcmp(t, "document") == 0)
            storage[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT;
        else {
            snprintf(reason, len, "media %zu has unknown type \"%.32s\"", i + 1, t);
            goto cleanup;
        }
        ptrs[i] = &storage[i];
        job->n_media = i + 1;
    }
    json_t *fmt = json_object_get(json_array_get(arr, 0), AP_FORMAT_MEDIA_KEY);
    ap_format f = AP_FORMAT_FEED;
    if (fmt != NULL && (!json_is_string(fmt) || !ap_format_parse(json_string_value(fmt), &f))) {
        snprintf(reason, len, "stored format is not one of feed, story, reel");
        goto cleanup;
    }
    job->format = f == AP_FORMAT_FEED ? "" : (char *)ap_format_name(f);
    job->media = ptrs;
    ok = true;
cleanup:
    json_decref(arr);
    return ok;
}

static void free_media(ap_job *job, Autopost__V1__Media *storage) {
    for (size_t i = 0; i < AP_MAX_MEDIA; i++) {
        free(storage[i].url);
        free(storage[i].alt_text);
    }
    job->n_media = 0;
}

/* Builds and publishes one row's job; returns false (reason set) when the
 * row must be failed instead. */
static bool publish_row(PGresult *res, int i, ap_nats *nats, const ap_config *cfg,
                        claimed_row *row) {
    /* The job message carries the schedule's trace with our own span. A row
     * stored before 0025 has none: its job starts one (not stored). */
    ap_trace trace;
    bool traced =
        ap_trace_continue(PQgetisnull(res, i, C_TRACE) ? NULL : PQgetvalue(res, i, C_TRACE),
                          &trace) != AP_TRACE_FAILED;
    if (traced) memcpy(row->trace_id, trace.trace_id, sizeof(row->trace_id));
    const char *platform = PQgetvalue(res, i, C_PLATFORM);
    const char *status = PQgetvalue(res, i, C_STATUS);
    const ap_platform_config *pc = ap_config_platform(cfg, platform);
    int64_t scheduled_at_ms = strtoll(PQgetvalue(res, i, C_AT), NULL, 10);
    /* The job carries the effective deadline (common/ap_deadline.h), so a
     * publisher needs neither the post's deadline nor this config. */
    int64_t deadline_ms = ap_deadline_effective(strtoll(PQgetvalue(res, i, C_DEADLINE), NULL, 10),
                                                scheduled_at_ms, pc ? pc->max_lateness_ms : 0);
    int64_t now_ms = ap_now_ms();
    if (ap_deadline_passed(deadline_ms, now_ms)) {
        row->expired = true;
        snprintf(row->code, sizeof(row->code), "%s", AP_DEADLINE_CODE);
        ap_deadline_reason(row->reason, sizeof(row->reason), deadline_ms, now_ms, "the scheduler");
        return false;
    }
    if (strcmp(status, "active") != 0) {
        snprintf(row->code, sizeof(row->code), "account_%s", status);
        snprintf(row->reason, sizeof(row->reason), "%s",
                 strcmp(status, "reauth_required") == 0
                     ? "the account needs to be reconnected (its token was rejected)"
                     : "the account is disabled");
        return false;
    }
    if (pc == NULL || !pc->enabled) {
        snprintf(row->code, sizeof(row->code), "unknown_platform");
        snprintf(row->reason, sizeof(row->reason), "platform \"%s\" is %s", platform,
                 ap_platform_info_find(platform) ? "not enabled in this deployment"
                                                 : "not supported");
        return false;
    }

    ap_job job = AUTOPOST__V1__PUBLISH_JOB__INIT;
    Autopost__V1__Media media[AP_MAX_MEDIA];
    Autopost__V1__Media *media_ptrs[AP_MAX_MEDIA];
    memset(media, 0, sizeof(media));
    size_t cred_len = 0;
    unsigned char *cred = NULL;
    ap_thread thread = {0};
    bool ok = false;
    job.schedule_id = (char *)row->id;
    job.generation = (uint32_t)row->generation;
    job.post_id = PQgetvalue(res, i, C_POST);
    job.account_id = PQgetvalue(res, i, C_ACCOUNT);
    job.platform = (char *)platform;
    job.text = PQgetvalue(res, i, C_TEXT);
    job.link = PQgetvalue(res, i, C_LINK);
    job.account_external_id = PQgetvalue(res, i, C_EXTERNAL);
    job.scheduled_at_ms = scheduled_at_ms;
    job.enqueued_at_ms = now_ms;
    job.deadline_ms = deadline_ms;
    job.urgent = strcmp(PQgetvalue(res, i, C_URGENT), "t") == 0;
    job.first_comment = PQgetvalue(res, i, C_COMMENT);
    if (!ap_thread_from_json(PQgetvalue(res, i, C_THREAD), &thread, row->reason,
                             sizeof(row->reason))) {
        snprintf(row->code, sizeof(row->code), "invalid_thread");
        goto cleanup;
    }
    ap_thread_attach(&thread, &job);
    if (!build_media(PQgetvalue(res, i, C_MEDIA), &job, media, media_ptrs, row->reason,
                     sizeof(row->reason))) {
        snprintf(row->code, sizeof(row->code), "invalid_media");
        goto cleanup;
    }
    /* The sealed credential travels as is: the scheduler never sees a token. */
    cred = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, C_CRED), &cred_len);
    if (cred == NULL) {
        snprintf(row->code, sizeof(row->code), "credential");
        snprintf(row->reason, sizeof(row->reason), "the account's stored credential is unreadable");
        goto cleanup;
    }
    job.sealed_credential.data = cred;
    job.sealed_credential.len = cred_len;

    natsMsg *m = NULL;
    if (ap_job_to_msg(&job, &m) != AP_OK || (traced && ap_msg_set_trace(m, &trace) != AP_OK)) {
        natsMsg_Destroy(m);
        row->reason[0] = '\0'; /* not the row's fault: leave it pending */
        ok = true;
        goto cleanup;
    }
    natsStatus s = js_PublishMsgAsync(nats->js, &m, NULL);
    if (s != NATS_OK) {
        natsMsg_Destroy(m); /* stays pending, retried next tick */
        ap_log_job_warn("publish_failed", row->id, row->trace_id, "async publish: %s",
                        natsStatus_GetText(s));
    }
    ok = true;
cleanup:
    if (cred) PQfreemem(cred);
    free_media(&job, media);
    ap_thread_free(&thread);
    return ok;
}

/* The acked rows become queued, the rejected ones failed (or expired), in
 * the claim's transaction (store/sql/mark_queued.sql, mark_invalid.sql,
 * mark_expired.sql). */
static ap_status mark_rows(ap_pg *pg, tick_batch *b, ap_tick_stats *st, char *err, size_t errlen) {
    ap_pg_array acked;
    ap_pg_array_init(&acked);
    for (int i = 0; i < b->n; i++)
        if (b->rows[i].acked && !b->rows[i].rejected) ap_pg_array_text(&acked, b->rows[i].id);
    char *ids = ap_pg_array_finish(&acked);
    if (ids == NULL) return AP_ENOMEM;
    const char *p1[] = {ids};
    ap_status s = ap_store_run(pg->conn, AP_STORE_MARK_QUEUED, p1, NULL, NULL, err, errlen);
    free(ids);
    for (int i = 0; s == AP_OK && i < b->n; i++) {
        claimed_row *r = &b->rows[i];
        if (!r->rejected) continue;
        if (r->expired) {
            const char *eparams[] = {r->id, r->reason};
            s = ap_store_run(pg->conn, AP_STORE_MARK_EXPIRED, eparams, NULL, NULL, err, errlen);
            if (s == AP_OK) {
                st->expired++;
                ap_log_info("schedule_expired", r->id, "%s", r->reason);
            }
            continue;
        }
        const char *params[] = {r->id, r->code, r->reason};
        s = ap_store_run(pg->conn, AP_STORE_MARK_INVALID, params, NULL, NULL, err, errlen);
        if (s == AP_OK) {
            st->failed++;
            ap_log_job_warn("schedule_rejected", r->id, r->trace_id, "%s", r->reason);
        }
    }
    return s;
}

ap_status ap_scheduler_explain_claim(ap_pg *pg, const ap_config *cfg, FILE *out, char *err,
                                     size_t errlen) {
    ap_status s = ap_pg_exec(pg, "BEGIN", err, errlen);
    if (s != AP_OK) return s;
    PGresult *res = ap_claim_run(pg, cfg, "EXPLAIN (ANALYZE, BUFFERS) ");
    if ((s = ap_pg_result_ok(res, PGRES_TUPLES_OK, err, errlen)) == AP_OK) {
        for (int i = 0; i < PQntuples(res); i++) fprintf(out, "%s\n", PQgetvalue(res, i, 0));
    }
    PQclear(res);
    char ignored[256];
    /* EXPLAIN ANALYZE really locked the rows it would claim: give them back. */
    ap_pg_exec(pg, "ROLLBACK", ignored, sizeof(ignored));
    return s;
}

/* Rows past their effective deadline end expired before the claim looks
 * (store/sql/expire_due.sql): after an outage the stale ones go, the fresh
 * ones are claimed. Every tick: without deadlines it is one probe of an
 * empty partial index, and no scan at all for platforms without
 * max_lateness. */
#define EXPIRE_PER_PASS "1000" /* the rest next tick */

static ap_status expire_due(ap_pg *pg, const ap_config *cfg, ap_tick_stats *st, char *err,
                            size_t errlen) {
    ap_pg_array names, lateness;
    ap_pg_array_init(&names);
    ap_pg_array_init(&lateness);
    for (int i = 0; i < cfg->nplatforms; i++) {
        ap_pg_array_text(&names, cfg->platforms[i].name);
        ap_pg_array_int(&lateness, cfg->platforms[i].max_lateness_ms);
    }
    char *platforms = ap_pg_array_finish(&names), *late = ap_pg_array_finish(&lateness);
    if (platforms == NULL || late == NULL) {
        free(platforms);
        free(late);
        snprintf(err, errlen, "out of memory building expire_due's parameters");
        return AP_ENOMEM;
    }
    const char *params[] = {platforms, late, EXPIRE_PER_PASS};
    PGresult *res = NULL;
    ap_status s = ap_store_run(pg->conn, AP_STORE_EXPIRE_DUE, params, &res, NULL, err, errlen);
    free(platforms);
    free(late);
    if (s != AP_OK) return s;
    st->expired += atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return AP_OK;
}

ap_status ap_scheduler_tick(ap_pg *pg, ap_nats *nats, const ap_config *cfg, ap_tick_stats *st,
                            char *err, size_t errlen) {
    memset(st, 0, sizeof(*st));
    tick_batch b;
    memset(&b, 0, sizeof(b));
    PGresult *res = NULL;
    ap_status s = ap_pg_exec(pg, "BEGIN", err, errlen);
    if (s != AP_OK) return s;

    if ((s = expire_due(pg, cfg, st, err, errlen)) != AP_OK) goto rollback;
    res = ap_claim_run(pg, cfg, NULL);
    if ((s = ap_pg_result_ok(res, PGRES_TUPLES_OK, err, errlen)) != AP_OK) goto rollback;
    b.n = PQntuples(res);
    st->claimed = b.n;
    if (b.n == 0) {
        PQclear(res);
        return ap_pg_exec(pg, "COMMIT", err, errlen);
    }
    b.rows = calloc((size_t)b.n, sizeof(*b.rows));
    b.by_msg_id = calloc((size_t)b.n, sizeof(*b.by_msg_id));
    if (b.rows == NULL || b.by_msg_id == NULL || pthread_mutex_init(&b.mu, NULL) != 0) {
        s = AP_ENOMEM;
        goto rollback;
    }
    for (int i = 0; i < b.n; i++) {
        b.rows[i].id = PQgetvalue(res, i, C_ID);
        b.rows[i].generation = atoi(PQgetvalue(res, i, C_GEN));
        ap_job_msg_id(b.rows[i].msg_id, sizeof(b.rows[i].msg_id), b.rows[i].id,
                      (uint32_t)b.rows[i].generation);
        b.by_msg_id[i] = &b.rows[i];
    }
    qsort(b.by_msg_id, (size_t)b.n, sizeof(*b.by_msg_id), cmp_row_ptr);

    /* The PubAck handler is per context; point it at this batch. */
    jsCtx *js = nats->js;
    current_batch = &b;
    for (int i = 0; i < b.n; i++) {
        if (!publish_row(res, i, nats, cfg, &b.rows[i])) b.rows[i].rejected = true;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBACK_WAIT_MS;
    natsStatus ns = js_PublishAsyncComplete(js, &po);
    if (ns != NATS_OK) {
        /* Unacked ones stay pending; whatever did land is deduplicated when
         * the next tick republishes it. Only a timeout guarantees nats.c's
         * pending map exists (see publishers/engine/jsasync.c). */
        natsMsgList pending = {0};
        if (ns == NATS_TIMEOUT && js_PublishAsyncGetPendingList(&pending, js) == NATS_OK)
            natsMsgList_Destroy(&pending);
        ap_log_warn("puback_timeout", NULL, "waiting for PubAcks: %s", natsStatus_GetText(ns));
    }
    current_batch = NULL;

    pthread_mutex_lock(&b.mu);
    for (int i = 0; i < b.n; i++) {
        if (b.rows[i].acked && !b.rows[i].rejected) st->queued++;
        if (!b.rows[i].acked && !b.rows[i].rejected) st->unacked++;
    }
    st->duplicates = b.duplicates;
    pthread_mutex_unlock(&b.mu);

    if ((s = mark_rows(pg, &b, st, err, errlen)) != AP_OK) goto rollback;
    ap_failpoint("scheduler_before_commit");
    s = ap_pg_exec(pg, "COMMIT", err, errlen);
    goto done;

rollback:
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
        char ignored[64];
        ap_pg_exec(pg, "ROLLBACK", ignored, sizeof(ignored));
    }
done:
    if (b.rows) pthread_mutex_destroy(&b.mu);
    free(b.rows);
    free(b.by_msg_id);
    PQclear(res);
    return s;
}

static void on_puback_dispatch(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
                               void *closure) {
    tick_batch *b = current_batch;
    if (b) on_puback(js, msg, pa, pae, b);
    natsMsg_Destroy(msg); /* with an AckHandler, the message is ours again */
}

/* The loop's metrics; every handle is a no-op without a registry. */
typedef struct scheduler_metrics {
    ap_counter *claimed, *published, *rejected, *expired;
    ap_histogram *tick_seconds;
} scheduler_metrics;

static void scheduler_metrics_init(scheduler_metrics *m) {
    ap_metrics *reg = ap_health_metrics();
    m->claimed = ap_metrics_counter(reg, "autopost_jobs_claimed_total",
                                    "Due schedules claimed by committed ticks.", NULL);
    m->published = ap_metrics_counter(reg, "autopost_jobs_published_total",
                                      "Jobs stored in JetStream (PubAck received) and marked "
                                      "queued by committed ticks.",
                                      NULL);
    m->rejected = ap_metrics_counter(reg, "autopost_jobs_rejected_total",
                                     "Schedules failed by the scheduler with a stored reason "
                                     "(disabled account, unknown platform, bad media).",
                                     NULL);
    m->expired = ap_metrics_counter(reg, "autopost_scheduler_expired_total",
                                    "Schedules the scheduler ended expired (past the post's "
                                    "deadline or platforms.<p>.max_lateness) without "
                                    "publishing them.",
                                    NULL);
    m->tick_seconds = ap_metrics_histogram(
        reg, "autopost_scheduler_tick_seconds",
        "Duration of one claim/publish/commit tick, idle and failed ticks included.", NULL,
        ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
}

int ap_scheduler_run(const ap_config *cfg, volatile sig_atomic_t *stop) {
    scheduler_metrics metrics;
    ap_nats nats;
    ap_pg pg;
    char err[1024];
    int rc = 1;
    bool listening = false;
    memset(&pg, 0, sizeof(pg));
    scheduler_metrics_init(&metrics);

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_puback_dispatch;
    jo.PublishAsync.MaxPending = 4096;
    char client[128];
    snprintf(client, sizeof(client), "autopost-scheduler/%s", cfg->instance);
    if (ap_nats_connect(&nats, cfg, client, &jo, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        return 1;
    }
    if (ap_pg_open(&pg, cfg->pg_dsn, "autopost-scheduler", err, sizeof(err)) != AP_OK)
        ap_log_warn("postgres_unavailable", NULL, "%s (will keep retrying)", err);
    if (ap_js_topology_ready_wait(nats.js, cfg, AP_ROLE_SCHEDULER, NULL, stop) != AP_OK) {
        rc = 0;
        goto cleanup;
    }
    ap_health_set(AP_CHECK_TOPOLOGY, true);
    ap_log_info("started", NULL, "tick %lld ms, batch %d", (long long)cfg->scheduler_tick_ms,
                cfg->scheduler_batch_size);

    int64_t last_error_log = 0;
    while (!*stop) {
        ap_health_beat();
        ap_health_set(AP_CHECK_NATS, natsConnection_Status(nats.nc) == NATS_CONN_STATUS_CONNECTED);
        bool pg_ok = ap_pg_ensure(&pg) == AP_OK;
        ap_health_set(AP_CHECK_POSTGRES, pg_ok);
        if (!pg_ok) {
            listening = false;
            ap_sleep_ms(200);
            continue;
        }
        if (!listening) {
            listening = ap_pg_exec(&pg, "LISTEN autopost_due", err, sizeof(err)) == AP_OK;
        }
        /* Recurring posts first: their rows made and late ones skipped
         * before the claim looks for due rows (recurrence.h). */
        ap_recurrence_stats rst;
        if (ap_recurrence_tick(&pg, cfg, &rst, err, sizeof(err)) != AP_OK) {
            int64_t now = ap_mono_ms();
            if (now - last_error_log > 2000) {
                ap_log_warn("recurrence_failed", NULL, "%s", err);
                last_error_log = now;
            }
        } else if (rst.series > 0 || rst.stale > 0) {
            ap_log_info("recurrence", NULL,
                        "series=%d pending=%d skipped=%d missed_without_row=%ld stale_skipped=%d",
                        rst.series, rst.pending, rst.skipped, rst.missed_norow, rst.stale);
        }
        ap_tick_stats st;
        int64_t t0 = ap_mono_ms();
        ap_status s = ap_scheduler_tick(&pg, &nats, cfg, &st, err, sizeof(err));
        ap_histogram_observe(metrics.tick_seconds, (double)(ap_mono_ms() - t0) / 1000.0);
        if (s != AP_OK) {
            int64_t now = ap_mono_ms();
            if (now - last_error_log > 2000) {
                ap_log_warn("tick_failed", NULL, "%s", err);
                last_error_log = now;
            }
            if (PQstatus(pg.conn) != CONNECTION_OK) listening = false;
            ap_pg_wait_notify(&pg, cfg->scheduler_tick_ms, stop); /* NOTIFY autopost_due */
            continue;
        }
        ap_counter_add(metrics.claimed, (uint64_t)st.claimed);
        ap_counter_add(metrics.published, (uint64_t)st.queued);
        ap_counter_add(metrics.rejected, (uint64_t)st.failed);
        ap_counter_add(metrics.expired, (uint64_t)st.expired);
        if (st.claimed > 0 || st.expired > 0)
            ap_log_info("tick", NULL,
                        "claimed=%d queued=%d rejected=%d expired=%d unacked=%d duplicates=%d in "
                        "%lld ms",
                        st.claimed, st.queued, st.failed, st.expired, st.unacked, st.duplicates,
                        (long long)(ap_mono_ms() - t0));
        /* A full batch means more are due right now: go again at once. */
        if (st.claimed < cfg->scheduler_batch_size || st.unacked > 0)
            ap_pg_wait_notify(&pg, cfg->scheduler_tick_ms, stop); /* NOTIFY autopost_due */
    }
    rc = 0;
    ap_log_info("stopped", NULL, "scheduler stopped");
cleanup:
    ap_pg_close(&pg);
    ap_nats_close(&nats);
    return rc;
}
