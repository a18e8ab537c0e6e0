/* recurrence.h -- recurring posts become schedule rows (README "Recurring
 * posts"; the rule itself is common/ap_recur.h).
 *
 * One pass (ap_recurrence_tick), before each claim tick, in its own
 * transaction:
 *   1. occurrences_skip_stale: pending occurrences more than
 *      scheduler.recurrence_grace past their time end skipped with a reason
 *      (and a schedule.skipped event) instead of firing late: no catch-up
 *      burst after an outage;
 *   2. recurrence_due: series not yet materialised to now + 3/4 of
 *      scheduler.recurrence_horizon, FOR UPDATE SKIP LOCKED (two schedulers
 *      take disjoint series);
 *   3. each series' plan (ap_occurrence_plan_make, no I/O) becomes rows with
 *      occurrences_insert ... ON CONFLICT DO NOTHING on the unique
 *      (post, account, occurrence) index, and recurrence_advance records how
 *      far it got; COMMIT.
 * A crash anywhere leaves either nothing or everything of a series' pass;
 * a pass repeated after a crash, or by a second scheduler, inserts nothing
 * twice because of the unique index. */
#ifndef AP_RECURRENCE_H
#define AP_RECURRENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_pg.h"
#include "ap_recur.h"

/* Occurrences missed while no scheduler ran (more than the grace in the
 * past before they ever had rows): only the newest this many get a skipped
 * row each, per series and pass; the older ones are counted in the log. A
 * week's outage of a minutely rule is one log line and ten rows, not
 * 10,080 rows. */
#define AP_RECUR_MISSED_ROWS 10
/* Instants made into rows per series and pass; the next pass goes on. */
#define AP_RECUR_PASS_ROWS 2000
/* Instants walked per series and pass (missed ones included). */
#define AP_RECUR_PASS_WALK 200000

/* What one series' pass makes: at[i] is an instant (epoch ms, ascending),
 * missed[i] says it gets a skipped row rather than a pending one. */
typedef struct ap_occurrence_plan {
    int64_t at[AP_RECUR_MISSED_ROWS + AP_RECUR_PASS_ROWS];
    bool missed[AP_RECUR_MISSED_ROWS + AP_RECUR_PASS_ROWS];
    size_t n;
    size_t missed_total; /* missed occurrences walked, with or without a row */
    int64_t until_ms;    /* every instant <= this was handled */
    bool ended;          /* the rule has no instant after the last one */
} ap_occurrence_plan;

/* Plans the occurrences of r strictly after after_ms up to now_ms +
 * horizon_ms: those before now_ms - grace_ms are missed (the newest
 * AP_RECUR_MISSED_ROWS of them kept), the rest pending. Pure: tested in
 * tests/unit/test_recurrence.c. */
void ap_occurrence_plan_make(ap_recur *r, int64_t after_ms, int64_t now_ms, int64_t horizon_ms,
                             int64_t grace_ms, ap_occurrence_plan *p);

typedef struct ap_recurrence_stats {
    int series;        /* series materialised this pass */
    int pending;       /* pending rows made */
    int skipped;       /* skipped rows made (missed before they had rows) */
    long missed_norow; /* missed occurrences left without a row */
    int stale;         /* pending occurrences skipped for being too late */
} ap_recurrence_stats;

/* One pass (see the top of this file). */
ap_status ap_recurrence_tick(ap_pg *pg, const ap_config *cfg, ap_recurrence_stats *st, char *err,
                             size_t errlen);

#endif
