/* ap_health.c -- see ap_health.h.
 *
 * libmicrohttpd runs one internal polling thread (MHD_USE_AUTO picks epoll
 * or poll) for every connection: probes and scrapes are a few requests a
 * second at most, so a thread per connection would only cost memory. The
 * connection limit and timeout keep a stuck client from holding it. */
#include "ap_health.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ap_log.h"
#include "ap_nats.h"
#include "ap_time.h"

#ifndef AUTOPOST_VERSION
#define AUTOPOST_VERSION "unknown"
#endif

#define HTTP_CONNECTION_LIMIT 32
#define HTTP_CONNECTION_TIMEOUT_S 10
#define TEXT_PLAIN "text/plain; charset=utf-8"

static struct {
    ap_metrics *metrics;
    struct MHD_Daemon *daemon;
    ap_gauge *nats_connected;
    _Atomic int64_t last_beat_ms; /* monotonic; 0 until the loop's first beat */
    _Atomic int required;         /* AP_CHECK_* mask */
    _Atomic int passing;          /* AP_CHECK_* mask */
} health;

/* ---- state ------------------------------------------------------------------- */

ap_metrics *ap_health_metrics(void) { return health.metrics; }

void ap_health_beat(void) { atomic_store(&health.last_beat_ms, ap_mono_ms()); }

void ap_health_set(ap_health_check check, bool ok) {
    if (ok)
        atomic_fetch_or(&health.passing, (int)check);
    else
        atomic_fetch_and(&health.passing, ~(int)check);
    if (check == AP_CHECK_NATS) ap_gauge_set(health.nats_connected, ok ? 1 : 0);
}

int ap_health_liveness(char *body, size_t len) {
    int64_t last = atomic_load(&health.last_beat_ms);
    int64_t silent = last ? ap_mono_ms() - last : 0;
    if (silent > AP_HEALTH_STALE_MS) {
        snprintf(body, len, "stale: the service loop has not run for %lld s\n",
                 (long long)(silent / 1000));
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    snprintf(body, len, "ok\n");
    return MHD_HTTP_OK;
}

int ap_health_readiness(char *body, size_t len) {
    static const struct {
        int check;
        const char *reason;
    } checks[] = {
        {AP_CHECK_NATS, "nats: not connected\n"},
        {AP_CHECK_TOPOLOGY, "topology: JetStream streams and consumers not applied yet\n"},
        {AP_CHECK_POSTGRES, "postgres: not connected\n"},
    };
    int failing = atomic_load(&health.required) & ~atomic_load(&health.passing);
    size_t n = 0;
    body[0] = '\0';
    if (failing == 0) {
        snprintf(body, len, "ok\n");
        return MHD_HTTP_OK;
    }
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (!(failing & checks[i].check) || n >= len) continue;
        int w = snprintf(body + n, len - n, "%s", checks[i].reason);
        if (w > 0) n += (size_t)w;
    }
    return MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* ---- HTTP ---------------------------------------------------------------------- */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, void *body,
                               size_t len, enum MHD_ResponseMemoryMode mode,
                               const char *content_type) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(body);
        return MHD_NO;
    }
    enum MHD_Result ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (ret == MHD_YES) ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (ret == MHD_YES) ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned int status,
                                    const char *text) {
    return respond(conn, status, (void *)text, strlen(text), MHD_RESPMEM_MUST_COPY, TEXT_PLAIN);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
    (void)cls;
    (void)version;
    (void)upload_data;
    (void)req_cls;
    if (*upload_data_size != 0) { /* a body nobody asked for: drop it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    char body[512];
    if (strcmp(url, "/healthz") == 0) {
        int status = ap_health_liveness(body, sizeof(body));
        return respond_text(conn, (unsigned int)status, body);
    }
    if (strcmp(url, "/readyz") == 0) {
        int status = ap_health_readiness(body, sizeof(body));
        return respond_text(conn, (unsigned int)status, body);
    }
    if (strcmp(url, "/metrics") == 0) {
        char *text = NULL;
        size_t len = 0;
        if (ap_metrics_render(health.metrics, &text, &len) != AP_OK)
            return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        /* MHD frees it with free() once sent. */
        return respond(conn, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE,
                       AP_METRICS_CONTENT_TYPE);
    }
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz, /readyz, /metrics\n");
}

/* MHD's own messages (bind failures, accept errors) as JSON log lines. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    ap_log_warn("http_server", NULL, "%s", msg);
}

static ap_status http_listen(const char *bind_addr, int port, char *err, size_t errlen) {
    struct addrinfo hints, *ai = NULL;
    char port_text[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port_text, sizeof(port_text), "%d", port);
    int gai = getaddrinfo(bind_addr, port_text, &hints, &ai);
    if (gai != 0 || ai == NULL) {
        snprintf(err, errlen, "service.http_bind \"%s\": %s", bind_addr,
                 gai ? gai_strerror(gai) : "no address");
        if (ai) freeaddrinfo(ai);
        return AP_EINVAL;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    errno = 0;
    /* The logger goes first, or MHD reports the options before it on stderr. */
    health.daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)HTTP_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)HTTP_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    int saved = errno;
    freeaddrinfo(ai);
    if (health.daemon == NULL) {
        snprintf(err, errlen, "cannot serve http on %s:%d: %s", bind_addr, port,
                 saved ? strerror(saved) : "libmicrohttpd failed to start");
        return AP_EIO;
    }
    return AP_OK;
}

ap_status ap_health_start(const ap_config *cfg, const char *service, int checks, char *err,
                          size_t errlen) {
    ap_health_stop();
    health.metrics = ap_metrics_new();
    if (health.metrics == NULL) {
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    atomic_store(&health.last_beat_ms, 0);
    atomic_store(&health.required, checks);
    atomic_store(&health.passing, 0);
    const char *const build_labels[] = {"service", service, "version", AUTOPOST_VERSION, NULL};
    ap_gauge_set(ap_metrics_gauge(health.metrics, "autopost_build_info",
                                  "Always 1; the labels name the service and its version.",
                                  build_labels),
                 1);
    health.nats_connected = ap_metrics_gauge(health.metrics, "autopost_nats_connected",
                                             "1 while the NATS connection is up.", NULL);
    if (cfg->http_port <= 0) return AP_OK;
    ap_status st = http_listen(cfg->http_bind, cfg->http_port, err, errlen);
    if (st != AP_OK) {
        ap_health_stop();
        return st;
    }
    ap_log_info("http_listening", NULL, "/healthz, /readyz and /metrics on %s:%d", cfg->http_bind,
                cfg->http_port);
    return AP_OK;
}

void ap_health_stop(void) {
    if (health.daemon) MHD_stop_daemon(health.daemon); /* joins its thread */
    health.daemon = NULL;
    health.nats_connected = NULL;
    ap_metrics_free(health.metrics);
    health.metrics = NULL;
    atomic_store(&health.required, 0);
    atomic_store(&health.passing, 0);
}

/* ---- consumer lag ----------------------------------------------------------------- */

void ap_lag_gauges_init(ap_lag_gauges *lag, const char *stream, const char *consumer) {
    memset(lag, 0, sizeof(*lag));
    snprintf(lag->stream, sizeof(lag->stream), "%s", stream);
    snprintf(lag->consumer, sizeof(lag->consumer), "%s", consumer);
    const char *const labels[] = {"stream", lag->stream, "consumer", lag->consumer, NULL};
    lag->pending = ap_metrics_gauge(health.metrics, "autopost_consumer_pending",
                                    "Messages of the stream the consumer has not delivered yet "
                                    "(refreshed every 5 s).",
                                    labels);
    lag->ack_pending =
        ap_metrics_gauge(health.metrics, "autopost_consumer_ack_pending",
                         "Messages delivered and not acked yet (refreshed every 5 s).", labels);
}

void ap_lag_gauges_refresh(ap_lag_gauges *lag, natsConnection *nc, jsCtx *js) {
    if (lag->pending == NULL && lag->ack_pending == NULL) return;
    int64_t now = ap_mono_ms();
    if (now < lag->next_ms) return;
    lag->next_ms = now + AP_LAG_REFRESH_MS;
    if (nc == NULL || js == NULL || natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED) return;
    uint64_t pending = 0;
    int64_t ack_pending = 0;
    if (ap_js_consumer_lag(js, lag->stream, lag->consumer, &pending, &ack_pending) != AP_OK)
        return; /* keep the last values; the next refresh tries again */
    ap_gauge_set(lag->pending, (double)pending);
    ap_gauge_set(lag->ack_pending, (double)ack_pending);
}
