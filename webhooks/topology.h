/* topology.h -- the JetStream side of autopost-webhooks: the durable
 * consumer "webhooks" on AUTOPOST_EVENTS (explicit ack after the deliveries
 * are committed, MaxDeliver unlimited: an event must not be dropped).
 *
 * The stream itself is part of the topology every service applies
 * (common/ap_nats.c; the dispatcher's outbox relay writes it): when it is
 * missing and creating is allowed, the whole topology is applied, so the
 * stream has its one definition. With nats.manage_topology off
 * (least-privilege users) the service creates nothing: it waits until the
 * consumer exists (`autopostctl streams apply` as admin makes both). */
#ifndef WH_TOPOLOGY_H
#define WH_TOPOLOGY_H

#include <nats/nats.h>
#include <signal.h>
#include <stdbool.h>

#include "ap_config.h"
#include "ap_status.h"

/* Retries until the consumer is there (created when allowed) or *stop. */
ap_status wh_topology_ready_wait(jsCtx *js, const ap_config *cfg, volatile sig_atomic_t *stop);

/* One try: AP_OK when the stream and consumer are in place. With create
 * (the service under nats.manage_topology, and `autopostctl streams apply`)
 * a missing stream is made and the consumer created or updated; without,
 * they are only looked up. */
ap_status wh_topology_apply(jsCtx *js, const ap_config *cfg, bool create, char *err, size_t errlen);

#endif
