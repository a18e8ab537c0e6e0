/* ap_health.h -- the HTTP endpoint every service serves for Kubernetes probes
 * and Prometheus: GET /healthz, /readyz and /metrics on service.http_bind :
 * service.http_port (0 turns the endpoint off; the state below is still kept).
 *
 *   /healthz  200 "ok" while the service loop keeps calling ap_health_beat();
 *             503 once its last beat is older than AP_HEALTH_STALE_MS (a hung
 *             loop: restart it). Before the loop's first beat (start-up, still
 *             waiting for NATS) it answers 200: waiting for a dependency is
 *             not something a restart fixes, and readiness already says so.
 *   /readyz   200 when every check the service declared passes; otherwise
 *             503 with one "check: reason" line per failing check.
 *   /metrics  the process registry (ap_health_metrics()) in the Prometheus
 *             text format 0.0.4.
 *   other     404.
 *
 * One process = one endpoint, so the state is process-wide, like the log's.
 * The HTTP side runs on libmicrohttpd's single internal polling thread and
 * only reads atomics and renders the registry: the service threads set the
 * readiness flags themselves (ap_health_set) from what they see on their own
 * connections, because a libpq connection must not be used from two threads
 * and a JetStream request from the HTTP thread could block a probe.
 *
 * Every function may be called without ap_health_start (unit tests, tools):
 * the setters then only record state nobody serves, ap_health_metrics() is
 * NULL and so every metric handle registered from it is a no-op. */
#ifndef AP_HEALTH_H
#define AP_HEALTH_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_metrics.h"
#include "ap_status.h"

#define AP_HEALTH_STALE_MS 30000
/* How often ap_lag_gauges_refresh asks JetStream (one request each time). */
#define AP_LAG_REFRESH_MS 5000

/* Readiness checks; a service declares which apply to it (a bit mask). */
typedef enum ap_health_check {
    AP_CHECK_NATS = 1 << 0,     /* NATS connection status is CONNECTED */
    AP_CHECK_TOPOLOGY = 1 << 1, /* streams and consumers applied (and bound) */
    AP_CHECK_POSTGRES = 1 << 2, /* the service's PostgreSQL connection is OK */
} ap_health_check;

/* Creates the process registry (with autopost_build_info{service,version} and
 * autopost_nats_connected) and, when cfg->http_port > 0, starts listening.
 * service names the process in build_info ("scheduler",
 * "publisher-facebook"); checks is the AP_CHECK_* mask /readyz requires.
 * Fails when the address cannot be bound: probes pointed at a port nobody
 * serves would only restart the pod in a loop. */
ap_status ap_health_start(const ap_config *cfg, const char *service, int checks, char *err,
                          size_t errlen);
/* Stops listening (waits for the HTTP thread) and frees the registry; every
 * metric handle obtained from it is invalid afterwards. Safe to call twice or
 * without a start. */
void ap_health_stop(void);

/* The process registry, NULL before ap_health_start and after stop. */
ap_metrics *ap_health_metrics(void);

/* The service loop is alive; call at least every few seconds. */
void ap_health_beat(void);
/* Records the state of one check; AP_CHECK_NATS also sets
 * autopost_nats_connected. */
void ap_health_set(ap_health_check check, bool ok);

/* The probe answers without HTTP (for tests): fill body, return the status. */
int ap_health_liveness(char *body, size_t len);
int ap_health_readiness(char *body, size_t len);

/* autopost_consumer_pending / autopost_consumer_ack_pending for one durable
 * consumer, refreshed by the service's own thread at a low rate. */
typedef struct ap_lag_gauges {
    ap_gauge *pending;
    ap_gauge *ack_pending;
    char stream[64];
    char consumer[64];
    int64_t next_ms; /* monotonic: next refresh due */
} ap_lag_gauges;

/* Registers the two gauges in the process registry (no-op handles without
 * one). */
void ap_lag_gauges_init(ap_lag_gauges *lag, const char *stream, const char *consumer);
/* At most every AP_LAG_REFRESH_MS, and only while nc is connected (a
 * JetStream request on a broken connection waits out its whole timeout),
 * asks the consumer's info and sets the gauges. Blocks for one round trip
 * when it does ask: call it from a thread that can afford that. */
void ap_lag_gauges_refresh(ap_lag_gauges *lag, natsConnection *nc, jsCtx *js);

#endif
