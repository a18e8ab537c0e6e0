/* ap_store_sql.h -- the schedule statements, one .sql file each.
 *
 * Every statement that reads or changes post_schedules state lives in
 * store/sql/<name>.sql (readable, runnable with psql, its parameters and
 * answer described at its top) and reaches C as AP_STORE_SQL_<NAME>,
 * embedded at build time by cmake/embed_store_sql.cmake the way autopostctl
 * carries its migrations. Callers use the ap_store_* functions of
 * ap_store.h, not these arrays. A .sql file without a declaration here, or
 * the other way round, fails the build or the link. */
#ifndef AP_STORE_SQL_H
#define AP_STORE_SQL_H

/* The scheduler's claim, fair (admission, rate limits; 8 parameters) and
 * oldest-first (1 parameter); scheduler/claim.h explains both. */
extern const char AP_STORE_SQL_CLAIM_FAIR[];
extern const char AP_STORE_SQL_CLAIM_FIFO[];

/* The rest, in the order of ap_store_op (ap_store.h). */
extern const char AP_STORE_SQL_MARK_QUEUED[];
extern const char AP_STORE_SQL_MARK_INVALID[];
extern const char AP_STORE_SQL_MARK_EXPIRED[];
extern const char AP_STORE_SQL_EXPIRE_DUE[];
extern const char AP_STORE_SQL_FOLD_HISTORY[];
extern const char AP_STORE_SQL_FOLD_UPDATE[];
extern const char AP_STORE_SQL_OWNER_LOOKUP[];
extern const char AP_STORE_SQL_ACCOUNT_CREDENTIALS[];
extern const char AP_STORE_SQL_ACCOUNT_REAUTH[];
extern const char AP_STORE_SQL_ACCOUNT_PAUSE[];
extern const char AP_STORE_SQL_ACCOUNT_USAGE[];
extern const char AP_STORE_SQL_ADVISORY_FAIL[];
extern const char AP_STORE_SQL_ADVISORY_HISTORY[];
extern const char AP_STORE_SQL_LOCK_SCHEDULE[];
extern const char AP_STORE_SQL_CANCEL[];
extern const char AP_STORE_SQL_SCHEDULE_PLATFORM[];
extern const char AP_STORE_SQL_RETRY[];
extern const char AP_STORE_SQL_RETRY_CANDIDATES[];
extern const char AP_STORE_SQL_FAILED[];
extern const char AP_STORE_SQL_STATUS_TOTALS[];
extern const char AP_STORE_SQL_STATUS_BY_PLATFORM[];
extern const char AP_STORE_SQL_SCHEDULE_DETAIL[];
extern const char AP_STORE_SQL_SCHEDULE_HISTORY[];
extern const char AP_STORE_SQL_SCHEDULE_RECENT[];
extern const char AP_STORE_SQL_OUTCOME_SERIES[];
extern const char AP_STORE_SQL_CTL_LIST[];
extern const char AP_STORE_SQL_CTL_SHOW[];
extern const char AP_STORE_SQL_CTL_HISTORY[];
extern const char AP_STORE_SQL_CTL_STATUS_COUNTS[];
extern const char AP_STORE_SQL_CTL_STATUS_REASONS[];
extern const char AP_STORE_SQL_ACCOUNT_LIMIT_WAIT[];
extern const char AP_STORE_SQL_SCHEDULE_CREATE[];
extern const char AP_STORE_SQL_SERIES_CREATE[];
extern const char AP_STORE_SQL_API_SCHEDULES_CREATE[];
extern const char AP_STORE_SQL_API_POST_SCHEDULES[];
extern const char AP_STORE_SQL_API_SCHEDULE_PAGE[];
extern const char AP_STORE_SQL_API_SCHEDULE[];
extern const char AP_STORE_SQL_API_RESCHEDULE[];
extern const char AP_STORE_SQL_POST_CANCEL[];
extern const char AP_STORE_SQL_RECURRENCE_DUE[];
extern const char AP_STORE_SQL_OCCURRENCES_INSERT[];
extern const char AP_STORE_SQL_RECURRENCE_ADVANCE[];
extern const char AP_STORE_SQL_OCCURRENCES_SKIP_STALE[];

#endif
