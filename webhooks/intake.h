/* intake.h -- from AUTOPOST_EVENTS to webhook_deliveries.
 *
 * A batch of events is fetched from the durable consumer "webhooks"; in one
 * transaction each event becomes one delivery row per endpoint of the
 * event's own tenant that subscribed to its type (ON CONFLICT DO NOTHING on
 * (webhook id, event id), so a redelivered event, or the same event fetched
 * by two replicas, adds nothing); after COMMIT the batch is acked. A crash
 * between COMMIT and ack only redelivers events whose rows exist. A message
 * that is not an event (event.h) is terminated and counted, never
 * delivered. PostgreSQL trouble naks the batch with a delay.
 *
 * The intake runs on its own thread with its own PostgreSQL connection; it
 * shares the process's NATS connection (nats.c is thread-safe). */
#ifndef WH_INTAKE_H
#define WH_INTAKE_H

#include <nats/nats.h>
#include <signal.h>

#include "ap_config.h"
#include "ap_status.h"

typedef struct wh_intake wh_intake;

/* Binds the consumer (which must exist: topology.h) and connects to
 * PostgreSQL (a failed connect is retried by the loop). */
ap_status wh_intake_create(wh_intake **out, const ap_config *cfg, jsCtx *js,
                           volatile sig_atomic_t *stop, char *err, size_t errlen);
/* Fetch, insert, ack until *stop. */
void wh_intake_run(wh_intake *in);
/* NULL is a no-op. */
void wh_intake_destroy(wh_intake *in);

#endif
