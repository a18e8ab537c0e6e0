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
#include "ap_log.h"
#include "scheduler.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { stop_requested = 1; }

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-scheduler [--config FILE] [--check-config]\n"
                 "  Environment: AUTOPOST_NATS_URL, AUTOPOST_POSTGRES_DSN, AUTOPOST_INSTANCE, "
                 "AUTOPOST_LOG_LEVEL\n");
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    int check_only = 0, c;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"check-config", no_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'k': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    ap_config cfg;
    if (ap_config_setup(&cfg, config_path, AP_NEED_NATS | AP_NEED_PG, NULL) != 0) {
        ap_config_free(&cfg);
        return 1;
    }
    if (check_only) {
        printf("config ok\n");
        ap_config_free(&cfg);
        return 0;
    }
    ap_log_level level = AP_LOG_INFO;
    ap_log_level_parse(cfg.log_level, &level);
    ap_log_set_level(level);
    ap_log_init("scheduler", cfg.instance);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    if (ap_health_start(&cfg, "scheduler", AP_CHECK_NATS | AP_CHECK_TOPOLOGY | AP_CHECK_POSTGRES,
                        err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        ap_config_free(&cfg);
        return 1;
    }
    int rc = ap_scheduler_run(&cfg, &stop_requested);
    ap_health_stop();
    ap_config_free(&cfg);
    nats_Close();
    return rc;
}
