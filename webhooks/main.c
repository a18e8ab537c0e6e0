/* autopost-webhooks -- delivers outcome events to tenants' webhook endpoints.
 *
 *   autopost-webhooks --config autopost.yaml
 *   autopost-webhooks --config autopost.yaml --check-config
 *
 * Two loops: the intake (intake.c) turns AUTOPOST_EVENTS messages into
 * delivery rows on its own thread; the delivery loop (delivery.c) sends them
 * on the main thread. Flags, config, signals and the lifecycle live here. */
#include <curl/curl.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ap_config.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_service.h"
#include "delivery.h"
#include "intake.h"
#include "topology.h"

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-webhooks [--config FILE] [--check-config]\n"
                 "  Delivers AUTOPOST_EVENTS to webhook endpoints, signed, with retries.\n"
                 "  Environment: AUTOPOST_NATS_URL, AUTOPOST_POSTGRES_DSN, "
                 "AUTOPOST_CREDENTIALS_KEY(_FILE), AUTOPOST_INSTANCE, AUTOPOST_LOG_LEVEL\n");
}

static void *intake_thread(void *arg) {
    wh_intake_run(arg);
    return NULL;
}

static int run(const ap_config *cfg) {
    char err[512];
    ap_nats nats = {0};
    wh_intake *intake = NULL;
    wh_delivery_loop *delivery = NULL;
    int rc = 1;
    pthread_t tid;
    bool started = false;
    if (ap_nats_connect(&nats, cfg, "autopost-webhooks", NULL, err, sizeof(err)) != AP_OK) {
        ap_log_error("webhooks_failed", NULL, "%s", err);
        goto cleanup;
    }
    if (wh_topology_ready_wait(nats.js, cfg, &ap_service_stop) != AP_OK) {
        rc = ap_service_stop ? 0 : 1; /* stopped while waiting */
        goto cleanup;
    }
    ap_health_set(AP_CHECK_TOPOLOGY, true);
    ap_health_set(AP_CHECK_NATS, true);
    if (wh_intake_create(&intake, cfg, nats.js, &ap_service_stop, err, sizeof(err)) != AP_OK ||
        wh_delivery_create(&delivery, cfg, &ap_service_stop, err, sizeof(err)) != AP_OK) {
        ap_log_error("webhooks_failed", NULL, "%s", err);
        goto cleanup;
    }
    if (pthread_create(&tid, NULL, intake_thread, intake) != 0) {
        ap_log_error("webhooks_failed", NULL, "cannot start the intake thread");
        goto cleanup;
    }
    started = true;
    ap_log_info("webhooks_started", NULL, "delivering with up to %d requests in flight",
                cfg->webhooks_concurrency);
    wh_delivery_run(delivery);
    rc = 0;
cleanup:
    if (started) pthread_join(tid, NULL);
    wh_delivery_destroy(delivery);
    wh_intake_destroy(intake);
    ap_nats_close(&nats);
    return rc;
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    int check_only = 0;
    int exit_now =
        ap_service_args(argc, argv, "autopost-webhooks", usage, &config_path, &check_only);
    if (exit_now >= 0) return exit_now;
    char err[256];
    /* It holds the credentials key (to open endpoints' secrets). */
    if (ap_service_protect_secrets(err, sizeof(err)) != 0) {
        fprintf(stderr, "autopost-webhooks: %s\n", err);
        return 1;
    }
    ap_config cfg;
    exit_now = ap_service_setup(&cfg, config_path, AP_NEED_NATS | AP_NEED_PG | AP_NEED_KEY, NULL,
                                check_only, "webhooks");
    if (exit_now >= 0) return exit_now;
    ap_service_signals(&cfg);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ap_log_error("webhooks_failed", NULL, "curl_global_init failed");
        ap_config_free(&cfg);
        return 1;
    }
    int rc = 1;
    if (ap_health_start(&cfg, "webhooks", AP_CHECK_NATS | AP_CHECK_TOPOLOGY | AP_CHECK_POSTGRES,
                        err, sizeof(err)) != AP_OK)
        ap_log_error("webhooks_failed", NULL, "%s", err);
    else
        rc = run(&cfg);
    ap_health_stop();
    curl_global_cleanup();
    ap_config_free(&cfg);
    /* Not nats_Close: a connection thread could still be releasing the
     * library while the process exits. */
    ap_nats_shutdown();
    return rc;
}
