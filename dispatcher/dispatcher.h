/* dispatcher.h -- the results consumer: folds PublishResults into PostgreSQL.
 *
 * Publishers never write to the database; they publish what happened on
 * autopost.results.<platform>. The dispatcher pulls those from the durable
 * consumer "dispatcher" on AUTOPOST_RESULTS and applies each fetched batch in
 * ONE transaction (two statements, see fold.h), acking every message only
 * after COMMIT. If PostgreSQL fails, the batch is rolled back and nak'ed with
 * a delay; the consumer has no MaxDeliver, so a result is never dropped
 * however long the database is away. The fold is idempotent and only moves a
 * row forward, which is what makes redelivery harmless.
 *
 * It also consumes AUTOPOST_ADVISORIES (durable "dispatcher-advisories"):
 * when a job hits MaxDeliver on AUTOPOST_JOBS (a publisher crashed or timed
 * out on every delivery, so no result will ever come), the schedule is marked
 * failed with a 'gave_up' history line and the dead job message is deleted
 * from the work queue, where it would otherwise stay forever.
 *
 * One thread does everything: the work per message is tiny next to a COMMIT,
 * and a single fetch -> apply -> ack loop keeps the ack-after-commit rule
 * obvious. Several replicas may share the consumer; the fold is safe under
 * concurrency because its rules are checked by the UPDATE itself. */
#ifndef AP_DISPATCHER_H
#define AP_DISPATCHER_H

#include <signal.h>
#include <stddef.h>

#include "ap_config.h"
#include "ap_status.h"

typedef struct ap_dispatcher ap_dispatcher;

/* Connects to NATS (retrying in the background) and PostgreSQL (a database
 * that is down is waited for later, not an error). cfg and stop must outlive
 * the dispatcher; it stops when *stop becomes non-zero. */
ap_status ap_dispatcher_create(ap_dispatcher **out, const ap_config *cfg,
                               volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Applies the topology, binds the consumers and runs until *stop: the batch
 * in hand is finished (commit + ack, or nak) before it returns AP_OK. */
ap_status ap_dispatcher_run(ap_dispatcher *d);

/* Unsubscribes and closes everything; NULL is a no-op. */
void ap_dispatcher_destroy(ap_dispatcher *d);

#endif
