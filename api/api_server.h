/* api_server.h -- the HTTP daemon's life (server.c), for main.c. */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "ap_config.h"
#include "api.h"

typedef struct api_server {
    const ap_config *cfg;
    api_ratelimit *ratelimit;
    struct MHD_Daemon *daemon;
} api_server;

/* Serves on api.http_bind:api.http_port with api.threads threads; false
 * with err when the address is bad or cannot be bound. */
bool api_server_start(api_server *srv, char *err, size_t errlen);
/* Stops serving and waits for the threads; safe without a start. */
void api_server_stop(api_server *srv);

#endif
