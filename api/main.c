/* autopost-api -- the HTTP API applications use to create posts and read
 * their outcomes (issue 18).
 *
 *   autopost-api --config autopost.yaml
 *
 * Serves /v1/... on api.http_bind:api.http_port (default 127.0.0.1:8088)
 * and, like every service, /healthz /readyz /metrics on service.http_port.
 * Needs PostgreSQL (its own role, autopost_api: migrations 0011 and 0015)
 * and the credentials key (credentials.key_file): POST /v1/webhooks seals
 * each endpoint's signing secret with it, as `autopostctl webhooks add`
 * does; the keyring is loaded once here and only read by the HTTP threads.
 * And NATS (its own user, api: README "Permissions each service needs"):
 * cancelling a queued schedule writes the cancel mark into the publishers'
 * attempt record (cancel.h); one connection, shared by the HTTP threads
 * (nats.c connections are thread-safe), reconnecting on its own.
 * The main thread beats the health endpoint, checks the database every few
 * seconds on a connection of its own and watches the NATS connection's
 * status, which is what /readyz reports; the HTTP threads never block on
 * it. */
#include <stdio.h>
#include <string.h>

#include "ap_crypto.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_pg.h"
#include "ap_service.h"
#include "ap_time.h"
#include "api.h"
#include "api_server.h"

#define READY_CHECK_MS 2000

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-api [--config FILE] [--check-config]\n"
                 "  Serves the HTTP API on api.http_bind:api.http_port.\n"
                 "  Environment: AUTOPOST_POSTGRES_DSN, AUTOPOST_CREDENTIALS_KEY_FILE,\n"
                 "  AUTOPOST_NATS_URL (and the other AUTOPOST_NATS_*), AUTOPOST_LOG_LEVEL\n");
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    int check_only = 0;
    int exit_now = ap_service_args(argc, argv, "autopost-api", usage, &config_path, &check_only);
    if (exit_now >= 0) return exit_now;
    char err[512];
    /* It holds the credentials key (to seal webhook secrets). */
    if (ap_service_protect_secrets(err, sizeof(err)) != 0) {
        fprintf(stderr, "autopost-api: %s\n", err);
        return 1;
    }
    ap_config cfg;
    exit_now = ap_service_setup(&cfg, config_path, AP_NEED_PG | AP_NEED_KEY | AP_NEED_NATS, NULL,
                                check_only, "api");
    if (exit_now >= 0) return exit_now;
    ap_service_signals(&cfg);
    int rc = 1;
    ap_crypto_keyring keyring;
    memset(&keyring, 0, sizeof(keyring));
    ap_nats nats;
    memset(&nats, 0, sizeof(nats));
    api_server srv = {.cfg = &cfg, .keyring = &keyring, .nats = &nats};
    ap_pg probe;
    memset(&probe, 0, sizeof(probe));
    if (!api_openapi_load(err, sizeof(err))) {
        ap_log_error("startup_failed", NULL, "api/openapi.yaml: %s", err);
        goto cleanup;
    }
    if (ap_crypto_keyring_load(&keyring, &cfg, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    srv.ratelimit = api_ratelimit_new(cfg.api_rate_limit_per_second, cfg.api_rate_limit_burst);
    if (srv.ratelimit == NULL) {
        ap_log_error("startup_failed", NULL, "out of memory");
        goto cleanup;
    }
    if (ap_health_start(&cfg, "api", AP_CHECK_POSTGRES | AP_CHECK_NATS, err, sizeof(err)) !=
        AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    /* Connects in the background when the server is not up yet: until then
     * /readyz says so and a queued schedule's cancel answers 503. */
    if (ap_nats_connect(&nats, &cfg, "autopost-api", NULL, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    if (ap_pg_open(&probe, cfg.pg_dsn, "autopost-api-probe", err, sizeof(err)) != AP_OK)
        ap_log_warn("postgres_down", NULL, "%s (will retry)", err);
    if (!api_server_start(&srv, err, sizeof(err))) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    ap_log_info("api_started", NULL, "serving http://%s:%d/v1/ (%d threads, %d requests/s per key)",
                cfg.api_http_bind, cfg.api_http_port, cfg.api_threads,
                cfg.api_rate_limit_per_second);
    for (int64_t next = 0; !ap_service_stop; ap_sleep_ms(100)) {
        ap_health_beat();
        ap_health_set(AP_CHECK_NATS, natsConnection_Status(nats.nc) == NATS_CONN_STATUS_CONNECTED);
        if (ap_mono_ms() < next) continue;
        ap_health_set(AP_CHECK_POSTGRES, ap_pg_ensure(&probe) == AP_OK && ap_pg_alive(&probe));
        next = ap_mono_ms() + READY_CHECK_MS;
    }
    ap_log_info("api_stopping", NULL, "signal received");
    rc = 0;
cleanup:
    api_server_stop(&srv);
    api_db_close_all();
    ap_nats_close(&nats);
    ap_nats_shutdown();
    ap_health_stop();
    ap_pg_close(&probe);
    api_ratelimit_free(srv.ratelimit);
    api_openapi_free();
    ap_crypto_keyring_wipe(&keyring);
    ap_config_free(&cfg);
    return rc;
}
