/* autopost-scheduler -- turns due schedules into JetStream jobs.
 *
 *   autopost-scheduler --config autopost.yaml
 *
 * Run as many replicas as you like: they claim disjoint rows. */
#include <getopt.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ap_config.h"
#include "ap_health.h"
#include "ap_nats.h"
#include "ap_log.h"
#include "ap_service.h"
#include "scheduler.h"

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-scheduler [--config FILE] [--check-config | --explain-claim]\n"
                 "  --explain-claim  print the due-row claim's plan and timing (EXPLAIN ANALYZE,\n"
                 "                   rolled back: nothing is claimed) and exit\n"
                 "  Environment: AUTOPOST_NATS_URL, AUTOPOST_POSTGRES_DSN, AUTOPOST_INSTANCE, "
                 "AUTOPOST_LOG_LEVEL\n");
}

static int explain_claim(ap_config *cfg) {
    char err[512];
    ap_pg pg;
    ap_status s = ap_pg_open(&pg, cfg->pg_dsn, "autopost-scheduler-explain", err, sizeof(err));
    if (s == AP_OK) s = ap_scheduler_explain_claim(&pg, cfg, stdout, err, sizeof(err));
    if (s != AP_OK) fprintf(stderr, "autopost-scheduler: %s\n", err);
    ap_pg_close(&pg);
    ap_config_free(cfg);
    return s == AP_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    int check_only = 0, explain = 0, c;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"check-config", no_argument, 0, 'k'},
                                         {"explain-claim", no_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'k': check_only = 1; break;
        case 'e': explain = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    ap_config cfg;
    int exit_now = ap_service_setup(&cfg, config_path, AP_NEED_NATS | AP_NEED_PG, NULL, check_only,
                                    "scheduler");
    if (exit_now >= 0) return exit_now;
    if (explain) return explain_claim(&cfg);
    ap_service_signals(&cfg);

    char err[512];
    if (ap_health_start(&cfg, "scheduler", AP_CHECK_NATS | AP_CHECK_TOPOLOGY | AP_CHECK_POSTGRES,
                        err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        ap_config_free(&cfg);
        return 1;
    }
    int rc = ap_scheduler_run(&cfg, &ap_service_stop);
    ap_health_stop();
    ap_config_free(&cfg);
    ap_nats_shutdown();
    return rc;
}
