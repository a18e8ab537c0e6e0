/* ap_store.h -- the one home of schedule SQL (issue 15 §2).
 *
 * The store owns the statements that read or change post_schedules state;
 * the services call ap_store_* and hold no schedule SQL of their own. Each
 * statement is a file in store/sql/ (ap_store_sql.h) whose top comment says
 * its parameters and its answer; here it is an ap_store_op, run with
 * ap_store_run. The callers keep what is theirs: when to BEGIN and COMMIT,
 * how to build the parameters (dispatcher/fold.c), and what a failure means
 * to their user (a 503, an exit code, a nak).
 *
 * ap_store_run prepares each statement once per connection
 * (ap_store_prepared.h). The scheduler's claim is the one statement a
 * caller prepares itself (scheduler/claim.c can run it under an EXPLAIN prefix),
 * so it comes out as text: ap_store_claim_statement. */
#ifndef AP_STORE_H
#define AP_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "ap_status.h"

/* The claim statement and its parameter count: fair (admission per tenant
 * and per account, platform limits; 9 parameters) or oldest first (1). */
typedef struct ap_store_claim {
    const char *sql;
    int nparams;
} ap_store_claim;

ap_store_claim ap_store_claim_statement(bool fair);

/* The statements, by who runs them; store/sql/<name>.sql documents each. */
typedef enum ap_store_op {
    /* the scheduler, in the claim's transaction */
    AP_STORE_MARK_QUEUED,  /* mark_queued.sql */
    AP_STORE_MARK_INVALID, /* mark_invalid.sql */
    AP_STORE_MARK_EXPIRED, /* mark_expired.sql */
    AP_STORE_EXPIRE_DUE,   /* expire_due.sql, before the claim */
    /* the dispatcher: a batch's fold (dispatcher/fold.h) */
    AP_STORE_FOLD_HISTORY,
    AP_STORE_FOLD_UPDATE,
    AP_STORE_OWNER_LOOKUP,
    AP_STORE_ACCOUNT_CREDENTIALS,
    AP_STORE_ACCOUNT_REAUTH,
    AP_STORE_ACCOUNT_PAUSE,
    AP_STORE_ACCOUNT_USAGE,
    /* the dispatcher: a MAX_DELIVERIES give-up */
    AP_STORE_ADVISORY_FAIL,
    AP_STORE_ADVISORY_HISTORY,
    /* hands: autopostctl and the console */
    AP_STORE_LOCK_SCHEDULE,
    AP_STORE_CANCEL,
    AP_STORE_SCHEDULE_PLATFORM,
    AP_STORE_RETRY,
    AP_STORE_RETRY_CANDIDATES,
    AP_STORE_FAILED,
    /* reads for the console: times as RFC 3339 text, columns named as its
     * JSON keys */
    AP_STORE_STATUS_TOTALS,
    AP_STORE_STATUS_BY_PLATFORM,
    AP_STORE_SCHEDULE_DETAIL,
    AP_STORE_SCHEDULE_HISTORY,
    AP_STORE_SCHEDULE_RECENT,
    AP_STORE_OUTCOME_SERIES,
    /* reads for autopostctl list, show and status: times as epoch ms,
     * columns by position (ctl_show.c and ctl_status.c name them) */
    AP_STORE_CTL_LIST,
    AP_STORE_CTL_SHOW,
    AP_STORE_CTL_HISTORY,
    AP_STORE_CTL_STATUS_COUNTS,
    AP_STORE_CTL_STATUS_REASONS,
    AP_STORE_ACCOUNT_LIMIT_WAIT,
    /* autopostctl schedule: a post and its schedule */
    AP_STORE_SCHEDULE_CREATE,
    /* a recurring post (autopostctl schedule/import and the API) */
    AP_STORE_SERIES_CREATE,
    /* autopost-api (api/): every statement names the key's tenant or runs
     * after a check that does; schedules in the API's shape
     * (api_schedule_json reads the columns by position) */
    AP_STORE_API_SCHEDULES_CREATE,
    AP_STORE_API_POST_SCHEDULES,
    AP_STORE_API_SCHEDULE_PAGE,
    AP_STORE_API_SCHEDULE,
    AP_STORE_API_RESCHEDULE,
    AP_STORE_POST_CANCEL, /* a post's pending schedules (a series' cancel) */
    /* the scheduler: recurring posts (scheduler/recurrence.c) */
    AP_STORE_RECURRENCE_DUE,
    AP_STORE_OCCURRENCES_INSERT,
    AP_STORE_RECURRENCE_ADVANCE,
    AP_STORE_OCCURRENCES_SKIP_STALE,
    AP_STORE_NOPS
} ap_store_op;

/* The answers' columns, where callers read them by position. */
enum {
    AP_STORE_DUE_COL_ID,
    AP_STORE_DUE_COL_RRULE,
    AP_STORE_DUE_COL_TZ,
    AP_STORE_DUE_COL_START,
    AP_STORE_DUE_COL_UNTIL_MS,
    AP_STORE_DUE_COL_NOW_MS
};
enum { AP_STORE_OWNER_COL_ID, AP_STORE_OWNER_COL_ACCOUNT, AP_STORE_OWNER_COL_PLATFORM };
enum { AP_STORE_LOCK_COL_STATUS, AP_STORE_LOCK_COL_GENERATION, AP_STORE_LOCK_COL_ATTEMPTS };
enum { AP_STORE_RETRY_COL_ID, AP_STORE_RETRY_COL_GENERATION, AP_STORE_RETRY_COL_OLD_STATUS };
enum {
    AP_STORE_FAILED_COL_PLATFORM,
    AP_STORE_FAILED_COL_STATUS,
    AP_STORE_FAILED_COL_ERROR_CLASS,
    AP_STORE_FAILED_COL_ERROR_CODE,
    AP_STORE_FAILED_COL_ERROR_MESSAGE,
    AP_STORE_FAILED_COL_COUNT,
    AP_STORE_FAILED_COL_LATEST,
    AP_STORE_FAILED_COL_EXAMPLE_IDS
};

/* The statement's text (the whole .sql file), its name (the file's, for
 * logs) and how many parameters it takes; NULL / 0 for an unknown op. */
const char *ap_store_sql(ap_store_op op);
const char *ap_store_op_name(ap_store_op op);
int ap_store_nparams(ap_store_op op);
/* Whether a success answers rows (PGRES_TUPLES_OK) or only a count. */
bool ap_store_returns_rows(ap_store_op op);

/* Runs op on conn with ap_store_nparams(op) text parameters (NULL is SQL
 * NULL). AP_OK: *out (when out is not NULL) is the answer, the caller's to
 * PQclear; otherwise it is cleared here. AP_EPG: err says why and sqlstate
 * (when not NULL) holds the SQLSTATE, "" when the connection rather than
 * the statement failed. AP_EINVAL for an unknown op. */
ap_status ap_store_run(PGconn *conn, ap_store_op op, const char *const *params, PGresult **out,
                       char sqlstate[6], char *err, size_t errlen);

/* A schedule row as AP_STORE_LOCK_SCHEDULE found it. */
typedef struct ap_store_locked {
    char status[16];
    char generation[16];
    char attempts[16];
} ap_store_locked;

/* Inside a transaction: locks schedule id (FOR UPDATE) and reads its
 * state, the first step of a hand cancel or retry. AP_OK with *found false
 * when there is no such row; otherwise as ap_store_run. */
ap_status ap_store_lock_schedule(PGconn *conn, const char *id, ap_store_locked *row, bool *found,
                                 char *err, size_t errlen);

#endif
