/* advisory.h -- MAX_DELIVERIES advisories: jobs nobody will ever finish.
 *
 * When a job hits MaxDeliver on AUTOPOST_JOBS (a publisher crashed or timed
 * out on every delivery, so no result will ever come), nats-server publishes
 * an advisory that AUTOPOST_ADVISORIES captures. The dispatcher consumes it
 * (durable "dispatcher-advisories") in its loop, between results batches,
 * on the same PostgreSQL connection: the schedule is marked failed with a 'gave_up' history line
 * (forward-only, in one transaction) and the dead job message is deleted
 * from the work queue, where it would otherwise stay forever. The advisory
 * is acked only after both; any failure naks it, and doing it all again is
 * harmless because the fold is idempotent. The parsing and the SQL live in
 * fold.h and store/sql (advisory_*). */
#ifndef AP_ADVISORY_H
#define AP_ADVISORY_H

#include <signal.h>
#include <stdint.h>

#include "ap_metrics.h"
#include "ap_nats.h"
#include "ap_pg.h"

typedef struct ap_advisories {
    /* The dispatcher's, borrowed: it binds sub and releases it. */
    ap_nats *nats;
    ap_pg *pg;
    natsSubscription *sub;
    volatile sig_atomic_t *stop;
    ap_counter *handled;        /* autopost_advisories_total */
    ap_counter *gave_up_failed; /* terminal status failed, cause max_deliveries */
    int64_t next_poll_ms;
    /* For the dispatcher's stop line. */
    uint64_t gave_up, garbage;
} ap_advisories;

/* Handles the advisories waiting; does anything at most every 500 ms
 * (ADVISORY_POLL_MS) and is one cheap stream-info call when there are none.
 * Call it from the loop that owns pg, between batches. */
void ap_advisories_poll(ap_advisories *a);

#endif
