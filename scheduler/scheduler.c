/* scheduler.c -- see scheduler.h for the tick's contract. */
#include "scheduler.h"

#include <jansson.h>
#include <limits.h>
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
#include "recurrence.h"

#define PUBACK_WAIT_MS 10000

/* The due-row queries. Both read the partial index post_schedules_due_idx in
 * order and stop early, so a tick costs the same whether 0 or 1,000,000 rows
 * wait in the future or 50,000 are due at once, and SKIP LOCKED lets
 * replicas share the work without blocking each other.
 *
 * The statements are store/sql/claim_fair.sql and claim_fifo.sql (ap_store.h);
 * these notes explain them. claim_fair is the default. It admits a schedule into the queue only
 * while its tenant and its account both have a free slot. A tenant's free slots are
 * scheduler.max_queued_per_tenant ($9) minus the queued + retrying jobs of all its accounts:
 * a tenant with 100,000 posts due over a thousand accounts holds at most $9 jobs in the
 * stream ahead of another tenant's single post (README "Fairness"). A tenant at its cap has
 * every account in "blocked", so its backlog is skipped like a blocked account's (the list is
 * as long as that tenant has accounts: the price of keeping tenant_id off post_schedules).
 * An account's free slots are the least of
 *   - scheduler.max_queued_per_account ($2) minus its queued + retrying jobs:
 *     an account with 10,000 posts due holds at most $2 jobs in the stream
 *     ahead of another account's single post (README "Fairness");
 *   - platforms.<p>.account_limit minus its jobs in the queue, its posts
 *     published within account_window, and the posts the platform counts
 *     that autopost did not make (the CLAIM_ELSEWHERE branch; README "Rate limits");
 *   - one job at a time until the platform's count is known (the stale probe, CLAIM_STALE);
 * and a platform's posts per tick are capped the same way by app_limit.
 * A post that waits for a slot stays pending: waiting burns no attempt.
 * Limits per platform arrive as parallel arrays $3..$7 (0 = no limit), and
 * $8 says which platforms report their own count (CLAIM_STALE).
 *
 * How it stays cheap: "blocked" lists the accounts with no free slot (at the
 * cap, at a rate limit, or paused); it is small, because it is bounded by
 * the jobs in the queue and the posts within a rate window. The window scan
 * ("win") walks the due index oldest first, skipping blocked accounts' rows
 * and deferred rows, and stops after four batches' worth. NOT IN (not NOT
 * EXISTS) keeps the blocked test a hashed filter on the index scan, so the
 * scan keeps its order and its LIMIT instead of becoming a join over every
 * due row. The slots then go round-robin, tenants first ("admitted"): every
 * tenant's first post, then every tenant's second, and so on, where a tenant's
 * posts are in turn round-robin over its accounts (every account's first post,
 * then every account's second).
 *
 * When the window is "crowded" (full, and some account in it has more due
 * rows than free slots) an account with a backlog may be hiding other
 * accounts' posts beyond the window; then, and only then, every due row of
 * the accounts with a slot is ranked ("cand" takes the second branch; the
 * one-time filter skips whichever branch is off). A tenant with more rows
 * in the window than free slots crowds it the same way, but only when there
 * is another tenant whose posts it could hide (a deployment with one tenant
 * never pays for it). That costs O(due rows) while a single account's or
 * tenant's backlog lasts, the price of the fairness bound; a burst spread
 * over many accounts and tenants stays O(batch).
 *
 * The claimed rows' posts and accounts are looked up one by one (LATERAL
 * ... OFFSET 0, which the planner may not turn into a join): left to itself
 * the planner hashed whole tables for a thousand candidates, a cost that
 * grows with every post and account.
 * The final LIMIT comes after FOR UPDATE ... SKIP LOCKED, over two batches'
 * worth of candidates ("top"), so a second scheduler replica claiming at the
 * same moment gets the next batch, not nothing.
 *
 * Deferred rows. A deferred schedule waits for its not_before (set by the dispatcher).
 *
 * Paused accounts. Nothing of an account the platform told to slow down is admitted before
 * its paused_until (README "Rate limits"; set by the dispatcher).
 *
 * CLAIM_ELSEWHERE, posts the platform counts that autopost did not make (README "Rate
 * limits"). Instagram and Threads report an account's posts in their rolling
 * 24 h (quota_usage); a publisher reads it before every post and the
 * dispatcher keeps the newest observation, U asked at time T, on the account.
 * The claim counts, per account, our queued and retrying jobs, our posts
 * published within the window, and this branch's
 *     E = max(0, U - our posts published in (T - window, T])
 * for one window after T. Why this and not max(ours, U):
 *   - U alone counts our own posts as if they stayed a whole window after T;
 *     our posts leave at published_at + window, which we know, so they are
 *     counted by the first branch and taken out of U. Only posts made
 *     elsewhere (E), whose times we do not know, are held for the longest
 *     they can stay: until T + window. After that U says nothing.
 *   - T is when the publisher sent the read, before the platform counted. A
 *     post of ours the count missed was answered after T, so its
 *     published_at is after T: it is in the first branch, not taken out of
 *     U. A post answered after T that the platform did count is counted
 *     twice (in U as "elsewhere", and as ours) until a newer observation:
 *     the error only ever delays a post, never lets one more through.
 *   - Jobs queued or retrying are not in U unless the platform already has
 *     them (then counted twice, the safe way) and are counted as ours.
 *   - Stale or lost observations: the dispatcher keeps only a newer one, so
 *     a late or redelivered result cannot roll the count back; an account
 *     never observed, or observed more than a window ago, counts only ours.
 *     Clocks: T and published_at are publishers' clocks, the window ends at
 *     PostgreSQL's now(); a skew of seconds shifts a window edge by that much.
 *   - Posts made elsewhere after T are unseen until the next read: the
 *     publisher still reads the quota first and defers without publishing
 *     when it is used up, and the platform refuses past its cap, so the worst
 *     case is the old one (a deferral), never a second post. This limiter
 *     only ever holds posts back; it can cause no post, so it cannot break
 *     exactly-once.
 *
 * CLAIM_STALE, the probe. The first of a burst waits for the platform's count: an account of a
 * platform that reports it (Instagram, Threads), with no count asked within
 * the last minute (or the window, if shorter), gets one job at a time. That
 * job's publisher reads the count before anything else and reports it; the
 * claim after it knows the posts made elsewhere. Without it, a cold account
 * with posts made outside autopost would get account_limit jobs at once,
 * and each job's own quota read, made at the same moment, would see room:
 * the overrun issue 23 describes. The price is one job's time at the start
 * of a burst. A job whose read fails reports nothing and the account stays
 * at one job at a time until a read succeeds: slower, never over the cap.
 *
 * CLAIM_FREE, an account's free slots, for a row joined to its account ("a"), the
 * platform's limits ("l"), its queue count ("b") and its rate-window count
 * ("m"). An account with nothing queued, retrying or published within the
 * window has no "limited" row: it has used 0 of its limit, not "no limit".
 * Taking the limit from "l" keeps a cold account's first burst within it;
 * least() ignores NULL, so m.acc_n - m.used alone left only the admission
 * cap for exactly the accounts with the most posts waiting (issue 14).
 *
 * claim_fifo: scheduler.max_queued_per_account 0 turns admission off: oldest first
 * (the tenant cap too: it is part of admission).
 *
 * Lanes (README "Urgent lane"). Both statements read urgent due rows first,
 * from their own partial index (0023), and order every ranking by lane
 * before anything else: an urgent row takes the next free slot of its
 * account, tenant and platform, and the claim's LIMIT, ahead of the normal
 * backlog, while the caps and rate limits above count both lanes alike.
 * The job goes out on autopost.jobs.<platform>.urgent (ap_job_subject). */

enum {
    C_ID,
    C_GEN,
    C_POST,
    C_ACCOUNT,
    C_PLATFORM,
    C_EXTERNAL,
    C_CRED,
    C_STATUS,
    C_TEXT,
    C_LINK,
    C_MEDIA,
    C_AT,
    C_URGENT,   /* boolean: the urgent lane (0023) */
    C_TRACE,    /* traceparent; NULL for a row stored before 0025 */
    C_DEADLINE, /* the post's own, epoch ms; 0 = none */
    C_THREAD,   /* posts.thread as JSON text; "" = none (0026) */
    C_COMMENT   /* posts.first_comment; "" = none */
};

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

/* Advisory lock key of the rate-limited claim ("autopost" in ASCII). */
#define CLAIM_LOCK_KEY "8387236541416275828"

/* The claim's parameters as text: batch size, per-account queue cap, the
 * platforms' limits as parallel PostgreSQL arrays, per-tenant queue cap. */
typedef struct claim_params {
    char limit[16], per_account[16], per_tenant[16];
    char platforms[AP_MAX_PLATFORMS * (AP_PLATFORM_NAME_MAX + 1) + 3];
    char account_limits[AP_MAX_PLATFORMS * 12 + 3], account_ms[AP_MAX_PLATFORMS * 21 + 3];
    char app_limits[AP_MAX_PLATFORMS * 12 + 3], app_ms[AP_MAX_PLATFORMS * 21 + 3];
    char probes[AP_MAX_PLATFORMS * 2 + 3];
} claim_params;

static void array_append(char *buf, size_t len, const char *item) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", used > 1 ? "," : "", item);
}

/* Returns true when any platform has a rate limit. */
static bool claim_params_build(claim_params *cp, const ap_config *cfg) {
    bool limited = false;
    int cap = cfg->scheduler_max_queued_per_account;
    snprintf(cp->limit, sizeof(cp->limit), "%d", cfg->scheduler_batch_size);
    snprintf(cp->per_account, sizeof(cp->per_account), "%d", cap > 0 ? cap : INT_MAX);
    int tenant_cap = cfg->scheduler_max_queued_per_tenant;
    snprintf(cp->per_tenant, sizeof(cp->per_tenant), "%d", tenant_cap > 0 ? tenant_cap : INT_MAX);
    strcpy(cp->platforms, "{");
    strcpy(cp->account_limits, "{");
    strcpy(cp->account_ms, "{");
    strcpy(cp->app_limits, "{");
    strcpy(cp->app_ms, "{");
    strcpy(cp->probes, "{");
    for (int i = 0; i < cfg->nplatforms; i++) {
        const ap_platform_config *p = &cfg->platforms[i];
        char n[24];
        limited = limited || p->account_limit > 0 || p->app_limit > 0;
        array_append(cp->platforms, sizeof(cp->platforms), p->name);
        snprintf(n, sizeof(n), "%d", p->account_limit);
        array_append(cp->account_limits, sizeof(cp->account_limits), n);
        snprintf(n, sizeof(n), "%lld", (long long)p->account_window_ms);
        array_append(cp->account_ms, sizeof(cp->account_ms), n);
        snprintf(n, sizeof(n), "%d", p->app_limit);
        array_append(cp->app_limits, sizeof(cp->app_limits), n);
        snprintf(n, sizeof(n), "%lld", (long long)p->app_window_ms);
        array_append(cp->app_ms, sizeof(cp->app_ms), n);
        const ap_platform_info *info = ap_platform_info_find(p->name);
        array_append(cp->probes, sizeof(cp->probes), info && info->reports_usage ? "t" : "f");
    }
    strcat(cp->platforms, "}");
    strcat(cp->account_limits, "}");
    strcat(cp->account_ms, "}");
    strcat(cp->app_limits, "}");
    strcat(cp->app_ms, "}");
    strcat(cp->probes, "}");
    return limited;
}

/* The claim is parsed and planned once per connection, not on every tick:
 * it is the biggest statement a tick runs, and on an idle system parsing and
 * planning it was most of a tick's cost. A new connection (a reconnect gets
 * a new backend) prepares it again. One claim connection per process. */
#define CLAIM_STATEMENT "autopost_claim"
static struct {
    const PGconn *conn;
    int backend_pid;
} claim_statement;

/* Returns NULL when the statement is ready, else PostgreSQL's answer. The
 * statement (fair or oldest-first) follows from the config, fixed for the
 * process, so the connection alone says whether it is prepared. */
static PGresult *claim_prepare(ap_pg *pg, const char *sql, int nparams) {
    int pid = PQbackendPID(pg->conn);
    if (claim_statement.conn == pg->conn && claim_statement.backend_pid == pid) return NULL;
    PGresult *res = PQprepare(pg->conn, CLAIM_STATEMENT, sql, nparams, NULL);
    bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    claim_statement.conn = ok ? pg->conn : NULL;
    claim_statement.backend_pid = ok ? pid : 0;
    if (!ok) return res ? res : PQmakeEmptyPGresult(pg->conn, PGRES_FATAL_ERROR);
    PQclear(res);
    return NULL;
}

/* Runs the claim inside the caller's transaction; with `prefix` (an
 * EXPLAIN) it runs that instead of the claim itself. Returns the result
 * (NULL or an error result when something failed). */
static PGresult *claim(ap_pg *pg, const ap_config *cfg, const char *prefix) {
    claim_params cp;
    bool limited = claim_params_build(&cp, cfg);
    const char *params[] = {cp.limit,          cp.per_account, cp.platforms,
                            cp.account_limits, cp.account_ms,  cp.app_limits,
                            cp.app_ms,         cp.probes,      cp.per_tenant};
    if (limited) {
        /* Rate limits must hold across scheduler replicas too: one claim at a
         * time, released when this tick's transaction ends. */
        PGresult *lock = PQexec(pg->conn, "SELECT pg_advisory_xact_lock(" CLAIM_LOCK_KEY ")");
        if (lock == NULL || PQresultStatus(lock) != PGRES_TUPLES_OK) return lock;
        PQclear(lock);
    }
    bool fair = limited || cfg->scheduler_max_queued_per_account > 0;
    ap_store_claim statement = ap_store_claim_statement(fair);
    const char *sql = statement.sql;
    int nparams = statement.nparams;
    if (prefix) {
        size_t n = strlen(prefix) + strlen(sql) + 1;
        char *text = malloc(n);
        if (text == NULL) return NULL;
        snprintf(text, n, "%s%s", prefix, sql);
        PGresult *res = PQexecParams(pg->conn, text, nparams, NULL, params, NULL, NULL, 0);
        free(text);
        return res;
    }
    PGresult *failed = claim_prepare(pg, sql, nparams);
    if (failed) return failed;
    return PQexecPrepared(pg->conn, CLAIM_STATEMENT, nparams, params, NULL, NULL, 0);
}

ap_status ap_scheduler_explain_claim(ap_pg *pg, const ap_config *cfg, FILE *out, char *err,
                                     size_t errlen) {
    ap_status s = ap_pg_exec(pg, "BEGIN", err, errlen);
    if (s != AP_OK) return s;
    PGresult *res = claim(pg, cfg, "EXPLAIN (ANALYZE, BUFFERS) ");
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
    char platforms[AP_MAX_PLATFORMS * (AP_PLATFORM_NAME_MAX + 1) + 3] = "{";
    char late[AP_MAX_PLATFORMS * 21 + 3] = "{";
    for (int i = 0; i < cfg->nplatforms; i++) {
        char n[24];
        array_append(platforms, sizeof(platforms), cfg->platforms[i].name);
        snprintf(n, sizeof(n), "%lld", (long long)cfg->platforms[i].max_lateness_ms);
        array_append(late, sizeof(late), n);
    }
    strcat(platforms, "}");
    strcat(late, "}");
    const char *params[] = {platforms, late, EXPIRE_PER_PASS};
    PGresult *res = NULL;
    ap_status s = ap_store_run(pg->conn, AP_STORE_EXPIRE_DUE, params, &res, NULL, err, errlen);
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
    res = claim(pg, cfg, NULL);
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
