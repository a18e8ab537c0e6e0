/* autopost-console -- the operators' web console.
 *
 *   autopost-console --config autopost.yaml
 *
 * Serves the page and its JSON API on console.http_bind:console.http_port
 * (default 127.0.0.1:8090). Needs PostgreSQL: it reads the schedules and
 * their history, and with console.token_file set it may retry or cancel
 * (see http.c for the token rules; console.read_token_file guards reads,
 * console.allowed_hosts the Host names it answers for). With nats.url set (and
 * console.consumer_lag not off) the main thread also reads the consumers'
 * lag every few seconds, as `autopostctl status` does; NATS being down only
 * leaves those figures null. */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_service.h"
#include "ap_time.h"
#include "console.h"

static void free_token(char *token) {
    if (token == NULL) return;
    explicit_bzero(token, strlen(token));
    free(token);
}

static void usage(FILE *out) {
    fprintf(out, "usage: autopost-console [--config FILE] [--check-config]\n"
                 "  Serves the web console on console.http_bind:console.http_port.\n"
                 "  Environment: AUTOPOST_POSTGRES_DSN, AUTOPOST_LOG_LEVEL\n");
}

/* The token file's first line, without surrounding whitespace. An empty
 * token would let anyone in: refuse it. */
static char *read_token(const char *key, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s: %s", key, path, strerror(errno));
        return NULL;
    }
    char buf[1024] = "";
    if (fgets(buf, sizeof(buf), f) == NULL) buf[0] = '\0';
    fclose(f);
    char *s = buf;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1])) s[--n] = '\0';
    if (n < 16) {
        snprintf(err, errlen, "%s: %s: the token must have at least 16 characters", key, path);
        explicit_bzero(buf, sizeof(buf));
        return NULL;
    }
    char *token = strdup(s);
    explicit_bzero(buf, sizeof(buf));
    if (token == NULL) snprintf(err, errlen, "out of memory");
    return token;
}

/* One round of consumer info requests; the results replace the shared
 * figures in one step. */
static void bus_refresh(console *con, ap_nats *n) {
    console_lag lags[AP_MAX_PLATFORMS], dispatcher = {0};
    bool connected = natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
    memset(lags, 0, sizeof(lags));
    for (int i = 0; connected && i < con->cfg->nplatforms; i++) {
        char durable[64];
        ap_consumer_name_publisher(durable, sizeof(durable), con->cfg->platforms[i].name);
        lags[i].known = ap_js_consumer_lag(n->js, AP_STREAM_JOBS, durable, &lags[i].pending,
                                           &lags[i].ack_pending) == AP_OK;
    }
    if (connected)
        dispatcher.known =
            ap_js_consumer_lag(n->js, AP_STREAM_RESULTS, AP_CONSUMER_DISPATCHER,
                               &dispatcher.pending, &dispatcher.ack_pending) == AP_OK;
    pthread_mutex_lock(&con->bus.mu);
    con->bus.connected = connected;
    memcpy(con->bus.platforms, lags, sizeof(lags));
    con->bus.dispatcher = dispatcher;
    pthread_mutex_unlock(&con->bus.mu);
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    int check_only = 0;
    int exit_now =
        ap_service_args(argc, argv, "autopost-console", usage, &config_path, &check_only);
    if (exit_now >= 0) return exit_now;
    ap_config cfg;
    exit_now = ap_service_setup(&cfg, config_path, AP_NEED_PG, NULL, check_only, "console");
    if (exit_now >= 0) return exit_now;
    ap_service_signals(&cfg);

    console con;
    memset(&con, 0, sizeof(con));
    con.cfg = &cfg;
    pthread_mutex_init(&con.bus.mu, NULL);
    ap_nats nats;
    memset(&nats, 0, sizeof(nats));
    bool used_nats = false;
    char err[512];
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    if (cfg.console_token_file &&
        (con.token = read_token("console.token_file", cfg.console_token_file, err, sizeof(err))) ==
            NULL) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    if (cfg.console_read_token_file &&
        (con.read_token = read_token("console.read_token_file", cfg.console_read_token_file, err,
                                     sizeof(err))) == NULL) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    if ((con.allowed_hosts = console_allowed_hosts(&cfg, err, sizeof(err))) == NULL) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    /* A database that is down now is retried per request (ap_pg_ensure). */
    if (ap_pg_open(&con.pg, cfg.pg_dsn, "autopost-console", err, sizeof(err)) != AP_OK)
        ap_log_warn("postgres_down", NULL, "%s (will retry)", err);
    if ((d = console_http_start(&con, err, sizeof(err))) == NULL) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    ap_log_info("console_started", NULL, "serving http://%s:%d/ (%s)", cfg.console_http_bind,
                cfg.console_http_port,
                con.token ? "retry and cancel need the Bearer token" : "read-only");
    if (cfg.nats_url && cfg.console_consumer_lag) {
        /* Bounded requests: this loop also notices the stop signal. */
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        used_nats = true;
        if (ap_nats_connect(&nats, &cfg, "autopost-console", &jo, err, sizeof(err)) == AP_OK) {
            pthread_mutex_lock(&con.bus.mu);
            con.bus.enabled = true;
            pthread_mutex_unlock(&con.bus.mu);
        } else {
            ap_log_warn("nats_unavailable", NULL, "%s: consumer lag stays unknown", err);
        }
    }
    for (int64_t next = 0; !ap_service_stop; ap_sleep_ms(100)) {
        if (nats.js == NULL || ap_mono_ms() < next) continue;
        bus_refresh(&con, &nats);
        next = ap_mono_ms() + AP_LAG_REFRESH_MS;
    }
    ap_log_info("console_stopping", NULL, "signal received");
    rc = 0;
cleanup:
    if (d) MHD_stop_daemon(d);
    ap_nats_close(&nats);
    if (used_nats) ap_nats_shutdown();
    pthread_mutex_destroy(&con.bus.mu);
    ap_pg_close(&con.pg);
    free_token(con.token);
    free_token(con.read_token);
    free(con.allowed_hosts);
    ap_config_free(&cfg);
    return rc;
}
