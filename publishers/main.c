/* autopost-publisher -- one platform's publisher replica.
 *
 *   autopost-publisher --platform facebook --config autopost.yaml
 *
 * Flags, config and signals live here; everything else is in runtime.c. */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "adapter.h"
#include "ap_config.h"
#include "ap_health.h"
#include "ap_nats.h"
#include "ap_log.h"
#include "ap_service.h"
#include "runtime.h"

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-publisher --platform NAME [--config FILE] [--check-config]\n"
                 "  Pulls jobs of one platform from JetStream and publishes them.\n"
                 "  Environment: AUTOPOST_NATS_URL, AUTOPOST_CREDENTIALS_KEY(_FILE), "
                 "AUTOPOST_INSTANCE, AUTOPOST_LOG_LEVEL\n");
}

int main(int argc, char **argv) {
    const char *config_path = NULL, *platform = NULL;
    int check_only = 0;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"platform", required_argument, 0, 'p'},
                                         {"check-config", no_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'p': platform = optarg; break;
        case 'k': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    char why[256];
    if (ap_service_protect_secrets(why, sizeof(why)) != 0) {
        fprintf(stderr, "autopost-publisher: %s\n", why);
        return 1;
    }
    if (platform == NULL) {
        fprintf(stderr, "autopost-publisher: --platform is required\n");
        usage(stderr);
        return 2;
    }
    if (ap_adapter_find(platform) == NULL) {
        fprintf(stderr, "autopost-publisher: no adapter for platform \"%s\"\n", platform);
        return 2;
    }
    char service[64];
    snprintf(service, sizeof(service), "publisher-%s", platform);
    ap_config cfg;
    int exit_now =
        ap_service_setup(&cfg, config_path, AP_NEED_NATS | AP_NEED_KEY | AP_NEED_PLATFORM, platform,
                         check_only, service);
    if (exit_now >= 0) return exit_now;
    ap_service_signals(&cfg);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "autopost-publisher: curl_global_init failed\n");
        ap_config_free(&cfg);
        return 1;
    }
    char err[512];
    if (ap_health_start(&cfg, service, AP_CHECK_NATS | AP_CHECK_TOPOLOGY, err, sizeof(err)) !=
        AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        curl_global_cleanup();
        ap_config_free(&cfg);
        return 1;
    }
    int rc = ap_publisher_run(&cfg, platform, &ap_service_stop);
    ap_health_stop();
    curl_global_cleanup();
    ap_config_free(&cfg);
    ap_nats_shutdown();
    return rc;
}
