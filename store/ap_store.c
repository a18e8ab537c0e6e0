/* ap_store.c -- see ap_store.h: which embedded statement an op is, and the
 * one way they are run. */
#include "ap_store.h"

#include <stdio.h>
#include <string.h>

#include "ap_pg.h"
#include "ap_store_prepared.h"
#include "ap_store_sql.h"

enum { CLAIM_FAIR_NPARAMS = 9, CLAIM_FIFO_NPARAMS = 1 };

ap_store_claim ap_store_claim_statement(bool fair) {
    ap_store_claim c = {fair ? AP_STORE_SQL_CLAIM_FAIR : AP_STORE_SQL_CLAIM_FIFO,
                        fair ? CLAIM_FAIR_NPARAMS : CLAIM_FIFO_NPARAMS};
    return c;
}

typedef struct store_statement {
    const char *name;
    const char *sql;
    int nparams;
    bool rows;
} store_statement;

/* nparams must be the highest $n of the file: PostgreSQL refuses a
 * parameter the text does not use (test_store checks every entry). */
static const store_statement statements[AP_STORE_NOPS] = {
    [AP_STORE_MARK_QUEUED] = {"mark_queued", AP_STORE_SQL_MARK_QUEUED, 1, false},
    [AP_STORE_MARK_INVALID] = {"mark_invalid", AP_STORE_SQL_MARK_INVALID, 3, false},
    [AP_STORE_MARK_EXPIRED] = {"mark_expired", AP_STORE_SQL_MARK_EXPIRED, 2, false},
    [AP_STORE_EXPIRE_DUE] = {"expire_due", AP_STORE_SQL_EXPIRE_DUE, 3, true},
    [AP_STORE_FOLD_HISTORY] = {"fold_history", AP_STORE_SQL_FOLD_HISTORY, 12, false},
    [AP_STORE_FOLD_UPDATE] = {"fold_update", AP_STORE_SQL_FOLD_UPDATE, 13, true},
    [AP_STORE_OWNER_LOOKUP] = {"owner_lookup", AP_STORE_SQL_OWNER_LOOKUP, 1, true},
    [AP_STORE_ACCOUNT_CREDENTIALS] = {"account_credentials", AP_STORE_SQL_ACCOUNT_CREDENTIALS, 3,
                                      false},
    [AP_STORE_ACCOUNT_REAUTH] = {"account_reauth", AP_STORE_SQL_ACCOUNT_REAUTH, 4, true},
    [AP_STORE_ACCOUNT_PAUSE] = {"account_pause", AP_STORE_SQL_ACCOUNT_PAUSE, 3, false},
    [AP_STORE_ACCOUNT_USAGE] = {"account_usage", AP_STORE_SQL_ACCOUNT_USAGE, 3, false},
    [AP_STORE_ADVISORY_FAIL] = {"advisory_fail", AP_STORE_SQL_ADVISORY_FAIL, 4, false},
    [AP_STORE_ADVISORY_HISTORY] = {"advisory_history", AP_STORE_SQL_ADVISORY_HISTORY, 5, false},
    [AP_STORE_LOCK_SCHEDULE] = {"lock_schedule", AP_STORE_SQL_LOCK_SCHEDULE, 1, true},
    [AP_STORE_CANCEL] = {"cancel", AP_STORE_SQL_CANCEL, 3, true},
    [AP_STORE_SCHEDULE_PLATFORM] = {"schedule_platform", AP_STORE_SQL_SCHEDULE_PLATFORM, 1, true},
    [AP_STORE_RETRY] = {"retry", AP_STORE_SQL_RETRY, 2, true},
    [AP_STORE_RETRY_CANDIDATES] = {"retry_candidates", AP_STORE_SQL_RETRY_CANDIDATES, 8, true},
    [AP_STORE_FAILED] = {"failed", AP_STORE_SQL_FAILED, 3, true},
    [AP_STORE_STATUS_TOTALS] = {"status_totals", AP_STORE_SQL_STATUS_TOTALS, 0, true},
    [AP_STORE_STATUS_BY_PLATFORM] = {"status_by_platform", AP_STORE_SQL_STATUS_BY_PLATFORM, 0,
                                     true},
    [AP_STORE_SCHEDULE_DETAIL] = {"schedule_detail", AP_STORE_SQL_SCHEDULE_DETAIL, 1, true},
    [AP_STORE_SCHEDULE_HISTORY] = {"schedule_history", AP_STORE_SQL_SCHEDULE_HISTORY, 1, true},
    [AP_STORE_SCHEDULE_RECENT] = {"schedule_recent", AP_STORE_SQL_SCHEDULE_RECENT, 3, true},
    [AP_STORE_OUTCOME_SERIES] = {"outcome_series", AP_STORE_SQL_OUTCOME_SERIES, 1, true},
    [AP_STORE_CTL_LIST] = {"ctl_list", AP_STORE_SQL_CTL_LIST, 3, true},
    [AP_STORE_CTL_SHOW] = {"ctl_show", AP_STORE_SQL_CTL_SHOW, 1, true},
    [AP_STORE_CTL_HISTORY] = {"ctl_history", AP_STORE_SQL_CTL_HISTORY, 1, true},
    [AP_STORE_CTL_STATUS_COUNTS] = {"ctl_status_counts", AP_STORE_SQL_CTL_STATUS_COUNTS, 0, true},
    [AP_STORE_CTL_STATUS_REASONS] = {"ctl_status_reasons", AP_STORE_SQL_CTL_STATUS_REASONS, 0,
                                     true},
    [AP_STORE_ACCOUNT_LIMIT_WAIT] = {"account_limit_wait", AP_STORE_SQL_ACCOUNT_LIMIT_WAIT, 2,
                                     true},
    [AP_STORE_SCHEDULE_CREATE] = {"schedule_create", AP_STORE_SQL_SCHEDULE_CREATE, 10, true},
    [AP_STORE_SERIES_CREATE] = {"series_create", AP_STORE_SQL_SERIES_CREATE, 9, true},
    [AP_STORE_API_SCHEDULES_CREATE] = {"api_schedules_create", AP_STORE_SQL_API_SCHEDULES_CREATE, 6,
                                       true},
    [AP_STORE_API_POST_SCHEDULES] = {"api_post_schedules", AP_STORE_SQL_API_POST_SCHEDULES, 2,
                                     true},
    [AP_STORE_API_SCHEDULE_PAGE] = {"api_schedule_page", AP_STORE_SQL_API_SCHEDULE_PAGE, 6, true},
    [AP_STORE_API_SCHEDULE] = {"api_schedule", AP_STORE_SQL_API_SCHEDULE, 2, true},
    [AP_STORE_API_RESCHEDULE] = {"api_reschedule", AP_STORE_SQL_API_RESCHEDULE, 3, true},
    [AP_STORE_POST_CANCEL] = {"post_cancel", AP_STORE_SQL_POST_CANCEL, 2, true},
    [AP_STORE_RECURRENCE_DUE] = {"recurrence_due", AP_STORE_SQL_RECURRENCE_DUE, 2, true},
    [AP_STORE_OCCURRENCES_INSERT] = {"occurrences_insert", AP_STORE_SQL_OCCURRENCES_INSERT, 4,
                                     true},
    [AP_STORE_RECURRENCE_ADVANCE] = {"recurrence_advance", AP_STORE_SQL_RECURRENCE_ADVANCE, 3,
                                     false},
    [AP_STORE_OCCURRENCES_SKIP_STALE] = {"occurrences_skip_stale",
                                         AP_STORE_SQL_OCCURRENCES_SKIP_STALE, 2, true},
};

static const store_statement *statement(ap_store_op op) {
    return (unsigned)op < AP_STORE_NOPS ? &statements[op] : NULL;
}

const char *ap_store_sql(ap_store_op op) {
    const store_statement *s = statement(op);
    return s ? s->sql : NULL;
}

const char *ap_store_op_name(ap_store_op op) {
    const store_statement *s = statement(op);
    return s ? s->name : NULL;
}

int ap_store_nparams(ap_store_op op) {
    const store_statement *s = statement(op);
    return s ? s->nparams : 0;
}

bool ap_store_returns_rows(ap_store_op op) {
    const store_statement *s = statement(op);
    return s && s->rows;
}

/* The statement's answer: prepared once per connection and backend, then
 * only bound and executed (ap_store_prepared.h). A failed PQprepare is
 * returned as the answer, so the caller sees its error like any other. */
static PGresult *run(PGconn *conn, ap_store_op op, const store_statement *s,
                     const char *const *params) {
    char name[64];
    int prepared = ap_store_prepared_lookup(conn, (int)op, s->name, name, sizeof(name));
    if (prepared < 0) return PQexecParams(conn, s->sql, s->nparams, NULL, params, NULL, NULL, 0);
    if (prepared == 0) {
        PGresult *res = PQprepare(conn, name, s->sql, s->nparams, NULL);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) return res;
        PQclear(res);
        ap_store_prepared_mark(conn, (int)op, true);
    }
    PGresult *res = PQexecPrepared(conn, name, s->nparams, params, NULL, NULL, 0);
    const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* 26000: the backend does not know the name after all (a connection
     * object reused for another backend): prepare it on the next run. */
    if (code && strcmp(code, "26000") == 0) ap_store_prepared_mark(conn, (int)op, false);
    return res;
}

ap_status ap_store_run(PGconn *conn, ap_store_op op, const char *const *params, PGresult **out,
                       char sqlstate[6], char *err, size_t errlen) {
    const store_statement *s = statement(op);
    if (out) *out = NULL;
    if (sqlstate) sqlstate[0] = '\0';
    if (s == NULL) {
        if (err && errlen) snprintf(err, errlen, "store: unknown statement %d", (int)op);
        return AP_EINVAL;
    }
    PGresult *res = run(conn, op, s, params);
    if (ap_pg_result_ok(res, s->rows ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, err, errlen) != AP_OK) {
        const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (sqlstate) snprintf(sqlstate, 6, "%s", code ? code : "");
        PQclear(res);
        return AP_EPG;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return AP_OK;
}

ap_status ap_store_lock_schedule(PGconn *conn, const char *id, ap_store_locked *row, bool *found,
                                 char *err, size_t errlen) {
    const char *params[] = {id};
    PGresult *res = NULL;
    ap_status st = ap_store_run(conn, AP_STORE_LOCK_SCHEDULE, params, &res, NULL, err, errlen);
    if (st != AP_OK) return st;
    *found = PQntuples(res) == 1;
    if (*found) {
        snprintf(row->status, sizeof(row->status), "%s",
                 PQgetvalue(res, 0, AP_STORE_LOCK_COL_STATUS));
        snprintf(row->generation, sizeof(row->generation), "%s",
                 PQgetvalue(res, 0, AP_STORE_LOCK_COL_GENERATION));
        snprintf(row->attempts, sizeof(row->attempts), "%s",
                 PQgetvalue(res, 0, AP_STORE_LOCK_COL_ATTEMPTS));
    }
    PQclear(res);
    return AP_OK;
}
