/* delivery.h -- the delivery loop: due webhook_deliveries rows out as signed
 * POSTs, on one thread, with libcurl's multi interface (no thread per
 * request; webhooks.concurrency requests in flight).
 *
 * Claim: one statement takes up to the free slots' worth of due pending
 * rows (FOR UPDATE SKIP LOCKED, so replicas share the work without taking
 * the same row), counts the attempt and moves next_attempt_at past the
 * request's timeout: the row is leased, not locked, so no transaction stays
 * open across HTTP, and a replica that dies mid-request leaves the row due
 * again a little later (at least once; receivers dedup by event id).
 *
 * Request: POST url, body = the event's bytes, Content-Type:
 * application/json, Autopost-Event-Id, Autopost-Signature (signature.h),
 * made at send time with the endpoint's secret (opened from its sealed
 * form with the credentials keyring). No redirects. Unless
 * webhooks.allow_private: https only, and every socket's address must be
 * public (common/ap_netpolicy.h, checked in libcurl's open-socket callback
 * like the publishers' media downloads, so DNS rebinding gains nothing).
 *
 * Outcome (retry.h): 2xx -> delivered (and the endpoint is no longer
 * failing); otherwise retried with backoff, or, once the delivery is older
 * than webhooks.give_up_after, failed and the endpoint marked failing. The
 * outcome UPDATE names the attempt it claimed, so a late answer to a lease
 * that expired and was claimed again changes nothing. */
#ifndef WH_DELIVERY_H
#define WH_DELIVERY_H

#include <signal.h>

#include "ap_config.h"
#include "ap_status.h"

typedef struct wh_delivery_loop wh_delivery_loop;

ap_status wh_delivery_create(wh_delivery_loop **out, const ap_config *cfg,
                             volatile sig_atomic_t *stop, char *err, size_t errlen);
/* Claims and sends until *stop; then lets the requests in flight finish
 * (each bounded by webhooks.timeout) and returns. */
void wh_delivery_run(wh_delivery_loop *d);
/* NULL is a no-op. */
void wh_delivery_destroy(wh_delivery_loop *d);

#endif
