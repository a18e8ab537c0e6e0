/* recurrence.c -- see recurrence.h: recurring posts' occurrences become
 * schedule rows a horizon ahead, and late ones end skipped. */
#include "recurrence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_pg_array.h"
#include "ap_store.h"

#define WALK_CHUNK 256
#define STALE_PER_PASS "1000" /* the rest next tick */
#define SERIES_PER_PASS "50"

void ap_occurrence_plan_make(ap_recur *r, int64_t after_ms, int64_t now_ms, int64_t horizon_ms,
                             int64_t grace_ms, ap_occurrence_plan *p) {
    const int64_t horizon_end = now_ms + horizon_ms, missed_before = now_ms - grace_ms;
    int64_t ring[AP_RECUR_MISSED_ROWS]; /* the newest missed instants */
    size_t nring = 0, npending = 0, walked = 0;
    int64_t *pending = p->at + AP_RECUR_MISSED_ROWS; /* moved down at the end */
    int64_t cursor = after_ms;
    p->missed_total = 0;
    p->until_ms = horizon_end;
    p->ended = false;
    for (;;) {
        int64_t chunk[WALK_CHUNK];
        size_t k = ap_recur_next(r, cursor, chunk, WALK_CHUNK);
        for (size_t i = 0; i < k; i++) {
            int64_t t = chunk[i];
            if (t > horizon_end) goto done; /* until stays the horizon's end */
            if (t < missed_before) {
                ring[nring++ % AP_RECUR_MISSED_ROWS] = t;
                p->missed_total++;
            } else if (npending == AP_RECUR_PASS_ROWS) {
                p->until_ms = cursor; /* t is the next pass's first */
                goto done;
            } else {
                pending[npending++] = t;
            }
            cursor = t;
            if (++walked == AP_RECUR_PASS_WALK) {
                p->until_ms = t;
                goto done;
            }
        }
        if (k < WALK_CHUNK) {
            p->ended = true;
            p->until_ms = cursor;
            goto done;
        }
    }
done:;
    /* The kept missed instants, oldest first, then the pending ones. */
    size_t kept = nring < AP_RECUR_MISSED_ROWS ? nring : AP_RECUR_MISSED_ROWS;
    size_t first = nring < AP_RECUR_MISSED_ROWS ? 0 : nring % AP_RECUR_MISSED_ROWS;
    memmove(p->at + kept, pending, npending * sizeof(*pending));
    for (size_t i = 0; i < kept; i++) {
        p->at[i] = ring[(first + i) % AP_RECUR_MISSED_ROWS];
        p->missed[i] = true;
    }
    for (size_t i = kept; i < kept + npending; i++) p->missed[i] = false;
    p->n = kept + npending;
}

/* Inserts the plan's rows for one series and records how far it got. */
static ap_status materialise(ap_pg *pg, PGresult *due, int row, const ap_occurrence_plan *plan,
                             const ap_config *cfg, ap_recurrence_stats *st, char *err,
                             size_t errlen) {
    const char *id = PQgetvalue(due, row, AP_STORE_DUE_COL_ID);
    ap_pg_array at, status;
    ap_pg_array_init(&at);
    ap_pg_array_init(&status);
    for (size_t i = 0; i < plan->n; i++) {
        ap_pg_array_int(&at, plan->at[i]);
        ap_pg_array_text(&status, plan->missed[i] ? "skipped" : "pending");
    }
    char *at_list = ap_pg_array_finish(&at), *status_list = ap_pg_array_finish(&status);
    char reason[256], until[24];
    int n = snprintf(reason, sizeof(reason),
                     "occurrence missed: no scheduler ran while it was due (more than "
                     "scheduler.recurrence_grace, %lld s, ago); skipped instead of going out late",
                     (long long)(cfg->scheduler_recurrence_grace_ms / 1000));
    snprintf(until, sizeof(until), "%lld", (long long)plan->until_ms);
    ap_status s = AP_ENOMEM;
    if (at_list == NULL || status_list == NULL || n < 0 || (size_t)n >= sizeof(reason)) goto done;
    PGresult *res = NULL;
    if (plan->n > 0) {
        const char *params[] = {id, at_list, status_list, reason};
        s = ap_store_run(pg->conn, AP_STORE_OCCURRENCES_INSERT, params, &res, NULL, err, errlen);
        if (s != AP_OK) goto done;
        st->pending += atoi(PQgetvalue(res, 0, 0));
        st->skipped += atoi(PQgetvalue(res, 0, 1));
        PQclear(res);
    }
    const char *aparams[] = {id, plan->ended ? "true" : "false", until};
    s = ap_store_run(pg->conn, AP_STORE_RECURRENCE_ADVANCE, aparams, NULL, NULL, err, errlen);
    if (s == AP_OK && plan->missed_total > 0) {
        size_t kept = 0;
        while (kept < plan->n && plan->missed[kept]) kept++;
        long norow = (long)(plan->missed_total - kept);
        st->missed_norow += norow;
        ap_log_warn("occurrences_missed", NULL,
                    "post %s: %zu occurrences passed while no scheduler ran; the newest %zu "
                    "recorded as skipped, %ld older ones only counted here",
                    id, plan->missed_total, kept, norow);
    }
done:
    free(at_list);
    free(status_list);
    return s;
}

/* Plans and materialises every series recurrence_due answered. */
static ap_status materialise_due(ap_pg *pg, PGresult *due, const ap_config *cfg,
                                 ap_recurrence_stats *st, char *err, size_t errlen) {
    ap_occurrence_plan *plan = malloc(sizeof(*plan));
    if (plan == NULL) return AP_ENOMEM;
    ap_status s = AP_OK;
    for (int i = 0; s == AP_OK && i < PQntuples(due); i++) {
        ap_recur *r = NULL;
        ap_recur_error why = {0};
        ap_status rs = ap_recur_new(&r, PQgetvalue(due, i, AP_STORE_DUE_COL_RRULE),
                                    PQgetvalue(due, i, AP_STORE_DUE_COL_TZ),
                                    PQgetvalue(due, i, AP_STORE_DUE_COL_START), 0, &why);
        if (rs == AP_ENOMEM) {
            s = rs;
            break;
        }
        if (rs != AP_OK) {
            /* The API accepted it, so the zone data or libical changed under
             * it: stop the series loudly rather than retry it every tick. */
            ap_log_error("recurrence_invalid", NULL, "post %s: %s %s; the series is stopped",
                         PQgetvalue(due, i, AP_STORE_DUE_COL_ID), why.field ? why.field : "rule",
                         why.reason);
            memset(plan, 0, sizeof(*plan));
            plan->ended = true;
        } else {
            ap_occurrence_plan_make(
                r, strtoll(PQgetvalue(due, i, AP_STORE_DUE_COL_UNTIL_MS), NULL, 10),
                strtoll(PQgetvalue(due, i, AP_STORE_DUE_COL_NOW_MS), NULL, 10),
                cfg->scheduler_recurrence_horizon_ms, cfg->scheduler_recurrence_grace_ms, plan);
        }
        ap_recur_free(r);
        s = materialise(pg, due, i, plan, cfg, st, err, errlen);
        if (s == AP_OK) st->series++;
    }
    free(plan);
    return s;
}

ap_status ap_recurrence_tick(ap_pg *pg, const ap_config *cfg, ap_recurrence_stats *st, char *err,
                             size_t errlen) {
    memset(st, 0, sizeof(*st));
    char grace[24], ahead[24];
    snprintf(grace, sizeof(grace), "%lld", (long long)cfg->scheduler_recurrence_grace_ms);
    /* Revisited when less than 3/4 of the horizon is materialised. */
    snprintf(ahead, sizeof(ahead), "%lld",
             (long long)(cfg->scheduler_recurrence_horizon_ms -
                         cfg->scheduler_recurrence_horizon_ms / 4));
    ap_status s = ap_pg_exec(pg, "BEGIN", err, errlen);
    if (s != AP_OK) return s;
    PGresult *res = NULL;
    const char *sparams[] = {grace, STALE_PER_PASS};
    s = ap_store_run(pg->conn, AP_STORE_OCCURRENCES_SKIP_STALE, sparams, &res, NULL, err, errlen);
    if (s != AP_OK) goto rollback;
    st->stale = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *dparams[] = {ahead, SERIES_PER_PASS};
    s = ap_store_run(pg->conn, AP_STORE_RECURRENCE_DUE, dparams, &res, NULL, err, errlen);
    if (s != AP_OK) goto rollback;
    s = materialise_due(pg, res, cfg, st, err, errlen);
    PQclear(res);
    if (s != AP_OK) goto rollback;
    return ap_pg_exec(pg, "COMMIT", err, errlen);
rollback:
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
        char ignored[64];
        ap_pg_exec(pg, "ROLLBACK", ignored, sizeof(ignored));
    }
    return s;
}
