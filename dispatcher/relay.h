/* relay.h -- the outbox relay: committed event rows -> JetStream AUTOPOST_EVENTS.
 *
 * Event rows are written by triggers in the same transaction as the state
 * change they describe (deploy/migrations/0012_events.sql). The relay runs
 * in the dispatcher process on its own thread, with its own PostgreSQL and
 * NATS connections, so a slow results batch never delays an event and the
 * other way round. One pass:
 *
 *   BEGIN; SELECT the oldest unrelayed rows ORDER BY seq LIMIT n
 *          FOR UPDATE SKIP LOCKED        (replicas share the work)
 *   publish each body on autopost.events.<tenant id>.<type>,
 *          Nats-Msg-Id = event id; wait for every PubAck
 *   UPDATE relayed_at for the acked ones; COMMIT
 *
 * This is the scheduler's claim pattern: the row locks only say "this
 * replica is on it". Events are only read after the transaction that wrote
 * them committed, so nothing is ever sent for a change that rolled back. A
 * crash after a PubAck and before the COMMIT leaves the rows unrelayed: the
 * next pass publishes the same bytes under the same id and JetStream's
 * duplicate window drops the copy (PubAck "duplicate"), so the stream holds
 * one message per event id. A crash before the publish loses nothing: the
 * row is still there.
 *
 * It wakes on NOTIFY autopost_events (sent by the triggers at COMMIT) and
 * also sweeps every second, which covers a notification lost while its
 * connection was down and a batch left behind by a PubAck timeout. */
#ifndef AP_RELAY_H
#define AP_RELAY_H

#include <signal.h>
#include <stddef.h>

#include "ap_config.h"
#include "ap_status.h"

typedef struct ap_relay ap_relay;

/* Starts the relay thread; it connects on its own and keeps retrying
 * PostgreSQL and NATS. cfg and stop must outlive it. */
ap_status ap_relay_start(ap_relay **out, const ap_config *cfg, volatile sig_atomic_t *stop,
                         char *err, size_t errlen);

/* Waits for the thread (it returns once *stop is set, after finishing the
 * pass in hand) and frees everything; NULL is a no-op. */
void ap_relay_join(ap_relay *r);

#endif
