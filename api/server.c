/* server.c -- autopost-api's HTTP side: libmicrohttpd in, api_reply out.
 *
 * Per request, in this order:
 *   1. a request id (UUIDv7) is made; every answer carries it as
 *      X-Request-Id and the one log line per request names it, so a client's
 *      report ("request 0190... failed") leads to the server's record;
 *   2. the body is read up to API_MAX_BODY; a Content-Length over it is
 *      refused (413) before the body is read, a chunked body that grows over
 *      it is dropped as it arrives and refused at the end;
 *   3. the route table (routes.c) finds the handler: 404 for an unknown path,
 *      405 for a known path with another method;
 *   4. the key is checked (auth.c, 401), then its rate (ratelimit.c, 429 with
 *      Retry-After), then the handler runs with this thread's connection.
 * The answer is JSON with Cache-Control: no-store (answers are per key). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_buf.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_time.h"
#include "ap_uuid.h"
#include "api.h"
#include "api_server.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

/* One request's state between libmicrohttpd's calls. */
typedef struct request_state {
    char request_id[37];
    ap_trace trace; /* trace_id "" when even starting one failed */
    int64_t start_ms;
    ap_buf body;
    bool too_large;
    bool answered;
} request_state;

static atomic_uint request_counter;

static const char *query_value(void *conn, const char *name) {
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static mhd_result send_reply(api_server *srv, struct MHD_Connection *conn, request_state *st,
                             const char *method, const char *url, const char *tenant, api_reply r) {
    char *text =
        r.raw_body ? r.raw_body
                   : (r.body ? json_dumps(r.body, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup(""));
    json_decref(r.body);
    unsigned int status = r.status;
    if (text == NULL) {
        status = 500;
        text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\","
                      "\"details\":[]}}");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(text ? strlen(text) : 0, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Request-Id", st->request_id);
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    if (r.retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", r.retry_after_s);
        MHD_add_response_header(resp, "Retry-After", secs);
    }
    mhd_result m = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    st->answered = true;
    if (status >= 100 && status < 600) ap_counter_inc(srv->requests[status / 100 - 1]);
    ap_histogram_observe(srv->latency, (double)(ap_mono_ms() - st->start_ms) / 1000.0);
    ap_log_job_info("api_request", NULL, st->trace.trace_id,
                    "request_id=%s method=%s path=%s status=%u tenant=%s ms=%lld", st->request_id,
                    method, url, status, tenant && *tenant ? tenant : "-",
                    (long long)(ap_mono_ms() - st->start_ms));
    return m;
}

/* Steps 3 and 4 (see the top of the file). */
static api_reply dispatch(api_server *srv, struct MHD_Connection *conn, api_request *req) {
    char id[37];
    bool path_known;
    const api_route *route = api_route_find(req->method, req->path, id, &path_known);
    if (route == NULL)
        return path_known ? api_error(405, "method_not_allowed", "%s is not allowed on %s",
                                      req->method, req->path)
                          : api_error(404, "not_found", "no route %s %s", req->method, req->path);
    req->path_id = id[0] ? id : NULL;
    if (route->public_route) return route->handler(req, NULL);
    PGconn *db = api_db(srv->cfg);
    if (db == NULL) {
        api_reply r = api_error(503, "unavailable", "the database is unreachable; try again");
        r.retry_after_s = 1;
        return r;
    }
    api_reply r;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!api_auth(req, db, auth, &r)) return r;
    int retry_after = 0;
    if (!api_ratelimit_take(srv->ratelimit, req->key_id, ap_mono_ms(), &retry_after)) {
        r = api_error(429, "rate_limited", "too many requests for this key; retry in %d s",
                      retry_after);
        r.retry_after_s = retry_after;
        return r;
    }
    /* req->path_id points into this frame's id: the handler runs before it ends. */
    return route->handler(req, db);
}

static mhd_result count_traceparent(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
    (void)kind;
    (void)value;
    if (key && strcasecmp(key, AP_TRACE_HEADER) == 0) ++*(int *)cls;
    return MHD_YES;
}

/* The request's span: the caller's trace continued, or a new one. Two
 * traceparent fields are as good as none (the spec: no way to pick). */
static void request_trace(struct MHD_Connection *conn, request_state *st) {
    int n = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_traceparent, &n);
    const char *h =
        n == 1 ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, AP_TRACE_HEADER) : NULL;
    if (ap_trace_continue(h, &st->trace) == AP_TRACE_FAILED) {
        memset(&st->trace, 0, sizeof(st->trace));
        ap_log_warn("trace_failed", NULL, "request_id=%s: no random bytes for a trace id",
                    st->request_id);
    }
}

static bool declared_too_large(struct MHD_Connection *conn) {
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    return cl && strtoull(cl, NULL, 10) > API_MAX_BODY;
}

static mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **req_cls) {
    api_server *srv = cls;
    request_state *st = *req_cls;
    if (st == NULL) {
        if ((st = calloc(1, sizeof(*st))) == NULL) return MHD_NO;
        *req_cls = st;
        st->start_ms = ap_mono_ms();
        if (!ap_uuid_v7(st->request_id, ap_now_ms(), atomic_fetch_add(&request_counter, 1)))
            snprintf(st->request_id, sizeof(st->request_id), "-");
        request_trace(conn, st);
        if (!declared_too_large(conn)) return MHD_YES;
        /* Answered before the body is read: no 100 Continue, no upload. */
        return send_reply(
            srv, conn, st, method, url, NULL,
            api_error(413, "payload_too_large", "the body is over %d bytes", API_MAX_BODY));
    }
    if (*upload_data_size > 0) {
        if (!st->too_large && st->body.len + *upload_data_size > API_MAX_BODY) st->too_large = true;
        if (!st->too_large) ap_buf_append(&st->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->answered) return MHD_YES;
    if (st->too_large)
        return send_reply(
            srv, conn, st, method, url, NULL,
            api_error(413, "payload_too_large", "the body is over %d bytes", API_MAX_BODY));
    if (ap_buf_failed(&st->body))
        return send_reply(srv, conn, st, method, url, NULL,
                          api_error(503, "unavailable", "out of memory reading the body"));
    api_request req = {
        .method = method,
        .path = url,
        .body = st->body.data ? st->body.data : "", /* ap_buf keeps a NUL after len */
        .body_len = st->body.len,
        .idempotency_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key"),
        .cfg = srv->cfg,
        .keyring = srv->keyring,
        .nats = srv->nats,
        .query = query_value,
        .conn = conn,
    };
    memcpy(req.request_id, st->request_id, sizeof(req.request_id));
    if (!ap_trace_format(&st->trace, req.traceparent, sizeof(req.traceparent)))
        req.traceparent[0] = '\0';
    api_reply r = dispatch(srv, conn, &req);
    return send_reply(srv, conn, st, method, url, req.tenant_id, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
    request_state *st = *req_cls;
    if (st == NULL) return;
    ap_buf_free(&st->body);
    free(st);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    ap_log_warn("http", NULL, "%s", msg);
}

bool api_server_start(api_server *srv, char *err, size_t errlen) {
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 5; i++) {
        const char *const labels[] = {"class", classes[i], NULL};
        srv->requests[i] = ap_metrics_counter(ap_health_metrics(), "autopost_api_requests_total",
                                              "HTTP answers of the API, by status class.", labels);
    }
    srv->latency = ap_metrics_histogram(ap_health_metrics(), "autopost_api_request_seconds",
                                        "Time from request to answer.", NULL,
                                        ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)srv->cfg->api_http_port);
    if (inet_pton(AF_INET, srv->cfg->api_http_bind, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "api.http_bind: \"%s\" is not an IPv4 address",
                 srv->cfg->api_http_bind);
        return false;
    }
    srv->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
        (uint16_t)srv->cfg->api_http_port, NULL, NULL, on_request, srv, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)srv->cfg->api_threads,
        MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(err, errlen, "cannot serve http on %s:%d", srv->cfg->api_http_bind,
                 srv->cfg->api_http_port);
        return false;
    }
    return true;
}

void api_server_stop(api_server *srv) {
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
