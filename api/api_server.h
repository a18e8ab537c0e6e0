/* api_server.h -- the HTTP daemon's life (server.c), for main.c. */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "ap_config.h"
#include "api.h"

#include "ap_metrics.h"

typedef struct api_server {
    const ap_config *cfg;
    api_ratelimit *ratelimit;
    const ap_crypto_keyring *keyring; /* webhook secrets are sealed with its current key */
    const ap_nats *nats;              /* the attempt records a cancel marks (cancel.h) */
    struct MHD_Daemon *daemon;
    /* autopost_api_requests_total{class="1xx".."5xx"} and the latency
     * histogram, in the process registry (no-ops without one). */
    ap_counter *requests[5];
    ap_histogram *latency;
} api_server;

/* Serves on api.http_bind:api.http_port with api.threads threads, counting
 * answers in ap_health_metrics() (start the health endpoint first); false
 * with err when the address is bad or cannot be bound. */
bool api_server_start(api_server *srv, char *err, size_t errlen);
/* Stops serving and waits for the threads; safe without a start. */
void api_server_stop(api_server *srv);

#endif
