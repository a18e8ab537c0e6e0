/* autopost-dispatcher -- folds publish results into PostgreSQL.
 *
 *   autopost-dispatcher --config autopost.yaml
 *   autopost-dispatcher --config autopost.yaml --check-config
 *
 * Flags, config and signals live here; everything else is in dispatcher.c
 * and the files it uses (advisory.c, relay.c). */
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ap_config.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_service.h"
#include "dispatcher.h"

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-dispatcher [--config FILE] [--check-config]\n"
                 "  Applies publish results from JetStream to PostgreSQL, in batches.\n"
                 "  Environment: AUTOPOST_NATS_URL, AUTOPOST_POSTGRES_DSN, AUTOPOST_INSTANCE, "
                 "AUTOPOST_LOG_LEVEL\n");
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    int check_only = 0;
    int exit_now =
        ap_service_args(argc, argv, "autopost-dispatcher", usage, &config_path, &check_only);
    if (exit_now >= 0) return exit_now;

    ap_config cfg;
    exit_now = ap_service_setup(&cfg, config_path, AP_NEED_NATS | AP_NEED_PG, NULL, check_only,
                                "dispatcher");
    if (exit_now >= 0) return exit_now;
    ap_service_signals(&cfg);

    int rc = 0;
    char err[512];
    ap_dispatcher *d = NULL;
    if (ap_health_start(&cfg, "dispatcher", AP_CHECK_NATS | AP_CHECK_TOPOLOGY | AP_CHECK_POSTGRES,
                        err, sizeof(err)) != AP_OK) {
        ap_log_error("dispatcher_failed", NULL, "%s", err);
        rc = 1;
    } else if (ap_dispatcher_create(&d, &cfg, &ap_service_stop, err, sizeof(err)) != AP_OK) {
        ap_log_error("dispatcher_failed", NULL, "%s", err);
        rc = 1;
    } else if (ap_dispatcher_run(d) != AP_OK) {
        rc = 1;
    }
    ap_dispatcher_destroy(d);
    ap_health_stop();
    ap_config_free(&cfg);
    ap_nats_shutdown();
    return rc;
}
