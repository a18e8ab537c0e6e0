/* autopost-dispatcher -- folds publish results into PostgreSQL.
 *
 *   autopost-dispatcher --config autopost.yaml
 *   autopost-dispatcher --config autopost.yaml --check-config
 *
 * Flags, config and signals live here; everything else is in dispatcher.c. */
#include <getopt.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ap_config.h"
#include "ap_health.h"
#include "ap_log.h"
#include "dispatcher.h"

static volatile sig_atomic_t stop_requested;
static unsigned int shutdown_grace_s;

/* The loop finishes its batch and exits on its own; the alarm is only the
 * backstop for a call that hangs (e.g. a reconnect to a black-holed database
 * host), so the process still ends within service.shutdown_grace. */
static void on_signal(int sig) {
    (void)sig;
    if (!stop_requested && shutdown_grace_s > 0) alarm(shutdown_grace_s);
    stop_requested = 1;
}

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-dispatcher [--config FILE] [--check-config]\n"
                 "  Applies publish results from JetStream to PostgreSQL, in batches.\n"
                 "  Environment: AUTOPOST_NATS_URL, AUTOPOST_POSTGRES_DSN, AUTOPOST_INSTANCE, "
                 "AUTOPOST_LOG_LEVEL\n");
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    int check_only = 0;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"check-config", no_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'k': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "autopost-dispatcher: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
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
    ap_log_level_parse(cfg.log_level, &level); /* validated by ap_config_setup */
    ap_log_set_level(level);
    ap_log_init("dispatcher", cfg.instance);

    shutdown_grace_s = (unsigned int)((cfg.shutdown_grace_ms + 999) / 1000);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 0;
    char err[512];
    ap_dispatcher *d = NULL;
    if (ap_health_start(&cfg, "dispatcher", AP_CHECK_NATS | AP_CHECK_TOPOLOGY | AP_CHECK_POSTGRES,
                        err, sizeof(err)) != AP_OK) {
        ap_log_error("dispatcher_failed", NULL, "%s", err);
        rc = 1;
    } else if (ap_dispatcher_create(&d, &cfg, &stop_requested, err, sizeof(err)) != AP_OK) {
        ap_log_error("dispatcher_failed", NULL, "%s", err);
        rc = 1;
    } else if (ap_dispatcher_run(d) != AP_OK) {
        rc = 1;
    }
    ap_dispatcher_destroy(d);
    ap_health_stop();
    ap_config_free(&cfg);
    nats_Close();
    return rc;
}
