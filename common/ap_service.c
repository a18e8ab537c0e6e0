/* ap_service.c -- see ap_service.h. */
#include "ap_service.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ap_log.h"

volatile sig_atomic_t ap_service_stop;
static unsigned int grace_seconds;

static void on_stop_signal(int sig) {
    (void)sig;
    if (!ap_service_stop && grace_seconds > 0) alarm(grace_seconds);
    ap_service_stop = 1;
}

int ap_service_args(int argc, char **argv, const char *name, void (*usage)(FILE *out),
                    const char **config_path, int *check_only) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"check-config", no_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *config_path = optarg; break;
        case 'k': *check_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", name, argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

int ap_service_setup(ap_config *cfg, const char *path, int needs, const char *platform,
                     bool check_only, const char *service) {
    if (ap_config_setup(cfg, path, needs, platform) != 0) {
        ap_config_free(cfg);
        return 1;
    }
    if (check_only) {
        printf("config ok\n");
        ap_config_free(cfg);
        return 0;
    }
    ap_log_level level = AP_LOG_INFO;
    ap_log_level_parse(cfg->log_level, &level); /* validated by ap_config_setup */
    ap_log_set_level(level);
    ap_log_init(service, cfg->instance);
    return -1;
}

int ap_service_protect_secrets(char *err, size_t errlen) {
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        snprintf(err, errlen, "cannot turn core dumps off (RLIMIT_CORE): %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot make the process non-dumpable: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void ap_service_signals(const ap_config *cfg) {
    grace_seconds = (unsigned int)((cfg->shutdown_grace_ms + 999) / 1000);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
