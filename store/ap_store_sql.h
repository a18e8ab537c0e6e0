/* ap_store_sql.h -- the schedule statements, one .sql file each.
 *
 * Every statement that reads or changes post_schedules state is meant to
 * live in store/sql/<name>.sql (readable, runnable with psql) and reach C
 * as AP_STORE_SQL_<NAME>, embedded at build time by
 * cmake/embed_store_sql.cmake the way autopostctl carries its migrations.
 * Callers use the ap_store_* functions of ap_store.h, not these arrays,
 * except where a caller prepares the statement itself. A .sql file without
 * a declaration here, or the other way round, fails the link or the build. */
#ifndef AP_STORE_SQL_H
#define AP_STORE_SQL_H

/* The scheduler's claim, fair (admission, rate limits; 8 parameters) and
 * oldest-first (1 parameter); scheduler.c explains both. */
extern const char AP_STORE_SQL_CLAIM_FAIR[];
extern const char AP_STORE_SQL_CLAIM_FIFO[];

#endif
