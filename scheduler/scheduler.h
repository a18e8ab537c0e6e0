/* scheduler.h -- claims due schedules and turns them into JetStream jobs.
 *
 * One tick (ap_scheduler_tick), in one transaction:
 *   0. pending rows past their effective deadline (the post's deadline or
 *      platforms.<p>.max_lateness) end expired (store/sql/expire_due.sql);
 *   1. SELECT due pending rows ... FOR UPDATE OF s SKIP LOCKED LIMIT batch
 *      (replicas claim disjoint rows and never wait on each other);
 *   2. rows that can never be published (account disabled or missing its
 *      platform, bad media) are failed with a stored reason, and a claimed
 *      row already past its deadline is expired;
 *   3. the rest are published with js_PublishMsgAsync, Nats-Msg-Id =
 *      "<schedule id>-<generation>", and we wait for every PubAck;
 *   4. only acked rows become 'queued'; COMMIT.
 * A crash before COMMIT leaves the rows pending; the next tick republishes
 * them and JetStream's duplicate window drops the copies.
 * Before each tick, the loop runs recurrence.h's pass in its own
 * transaction: recurring posts' occurrences become ordinary pending rows
 * for the claim, and late ones end skipped. */
#ifndef AP_SCHEDULER_H
#define AP_SCHEDULER_H

#include <signal.h>
#include <stdio.h>

#include "ap_config.h"
#include "ap_nats.h"
#include "ap_pg.h"

typedef struct ap_tick_stats {
    int claimed;
    int queued;
    int failed;     /* rejected with a stored reason */
    int expired;    /* past their deadline: expired, not published (ap_deadline.h) */
    int unacked;    /* stay pending for the next tick */
    int duplicates; /* PubAck said the server already had it */
} ap_tick_stats;

/* Runs one claim/publish/commit cycle. */
ap_status ap_scheduler_tick(ap_pg *pg, ap_nats *nats, const ap_config *cfg, ap_tick_stats *stats,
                            char *err, size_t errlen);

/* Prints the claim's plan and timing (EXPLAIN ANALYZE of the statement a
 * tick runs, with this config's parameters) and rolls back: nothing is
 * claimed. `autopost-scheduler --explain-claim`; the benchmark's "due-row
 * query" figure. */
ap_status ap_scheduler_explain_claim(ap_pg *pg, const ap_config *cfg, FILE *out, char *err,
                                     size_t errlen);

/* The service loop: ticks every scheduler.tick, at once when PostgreSQL
 * notifies "autopost_due", and back to back while batches come back full. */
int ap_scheduler_run(const ap_config *cfg, volatile sig_atomic_t *stop);

#endif
