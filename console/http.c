/* http.c -- the console's HTTP side: routes, the token, the embedded page.
 *
 *   GET  /                       the page (and /app.js, /style.css)
 *   GET  /healthz                "ok"
 *   GET  /api/overview           counts by status, last-minute rates, read_only
 *   GET  /api/platforms          the same per platform, with the oldest waiting job
 *   GET  /api/schedules?status=&platform=&limit=
 *   GET  /api/schedules/ID       one schedule with its full history
 *   GET  /api/failed?limit=      failed and unconfirmed, grouped by reason
 *   GET  /api/series?minutes=    throughput and lateness over time
 *   GET  /api/webhooks/failing   webhook endpoints marked failing
 *   POST /api/schedules/ID/retry, /api/schedules/ID/cancel
 *
 * Read-only unless console.token_file is set: then a POST must carry
 * "Authorization: Bearer TOKEN". Without a configured token every POST is
 * 403 (no token can open it); with one, a missing or wrong token is 401. The
 * comparison hashes both sides and compares the digests in constant time, so
 * neither the token's bytes nor its length leak through timing. A browser
 * cannot send that header cross-site without a CORS preflight we never
 * answer, so a page elsewhere cannot make an operator's browser retry.
 *
 * Every request but /healthz (the kubelet's probe names the pod's address)
 * must name an allowed host in its Host header (console_allowed_hosts), or
 * it is 421: a name an attacker controls that resolves to 127.0.0.1 (DNS
 * rebinding) would otherwise let a page of theirs read this one's API from
 * an operator's browser as a same-origin page. With console.read_token_file
 * set, every /api/ read also needs a Bearer token: the read token or the
 * action token. */
#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "console.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

static mhd_result send_bytes(struct MHD_Connection *conn, unsigned int status, const char *type,
                             const void *data, size_t len, bool copy) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* Everything the page needs is ours: no other origin may be loaded. */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    mhd_result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static mhd_result send_reply(struct MHD_Connection *conn, api_reply r) {
    char *text = r.body ? json_dumps(r.body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(r.body);
    if (text == NULL) return send_bytes(conn, 500, "text/plain", "out of memory\n", 14, false);
    mhd_result m = send_bytes(conn, r.status, "application/json", text, strlen(text), true);
    free(text);
    return m;
}

static bool bearer_is(const char *token, struct MHD_Connection *conn) {
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (token == NULL || h == NULL || strncmp(h, "Bearer ", 7) != 0) return false;
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), want);
    SHA256((const unsigned char *)h + 7, strlen(h + 7), got);
    return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

static bool token_ok(const console *c, struct MHD_Connection *conn) {
    return bearer_is(c->token, conn);
}

/* Reads are open unless a read token is configured; the action token
 * reads too, so an operator who may act needs one token only. */
static bool read_ok(const console *c, struct MHD_Connection *conn) {
    return c->read_token == NULL || bearer_is(c->read_token, conn) || bearer_is(c->token, conn);
}

/* The Host header's name, without its port, lower case, into out; false
 * when there is none or it does not fit. "[::1]:8090" gives "::1". */
static bool host_name(const char *host, char *out, size_t outlen) {
    if (host == NULL || *host == '\0') return false;
    const char *start = host, *end;
    if (*host == '[') {
        start = host + 1;
        if ((end = strchr(start, ']')) == NULL) return false;
    } else {
        end = strchr(host, ':');
        if (end == NULL) end = host + strlen(host);
    }
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= outlen) return false;
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)start[i]);
    out[n] = '\0';
    return true;
}

static bool host_allowed(const console *c, struct MHD_Connection *conn) {
    char name[256];
    if (!host_name(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"), name, sizeof(name)))
        return false;
    size_t n = strlen(name);
    for (const char *p = c->allowed_hosts; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0) return true;
        p = comma ? comma + 1 : p + len;
    }
    return false;
}

/* Appends name (trimmed, lower case, an IPv6 literal without its brackets,
 * as host_name gives it) and a comma to list (cap bytes). */
static bool add_host(char *list, size_t cap, const char *name, size_t len) {
    while (len > 0 && isspace((unsigned char)*name)) name++, len--;
    while (len > 0 && isspace((unsigned char)name[len - 1])) len--;
    if (len >= 2 && name[0] == '[' && name[len - 1] == ']') name++, len -= 2;
    size_t used = strlen(list);
    if (len == 0 || len > 253 || used + len + 2 > cap) return false;
    for (size_t i = 0; i < len; i++) list[used + i] = (char)tolower((unsigned char)name[i]);
    list[used + len] = ',';
    list[used + len + 1] = '\0';
    return true;
}

char *console_allowed_hosts(const ap_config *cfg, char *err, size_t errlen) {
    const char *conf = cfg->console_allowed_hosts;
    size_t cap = (conf ? strlen(conf) : 0) + 512;
    char *list = calloc(1, cap);
    if (list == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bool ok = true;
    if (conf) {
        for (const char *p = conf; ok;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            ok = add_host(list, cap, p, len);
            if (comma == NULL) break;
            p = comma + 1;
        }
    } else {
        const char *bind = cfg->console_http_bind;
        ok = add_host(list, cap, "localhost", 9) && add_host(list, cap, "127.0.0.1", 9) &&
             add_host(list, cap, "::1", 3) &&
             (strcmp(bind, "0.0.0.0") == 0 || add_host(list, cap, bind, strlen(bind)));
    }
    if (!ok) {
        snprintf(err, errlen,
                 "console.allowed_hosts: \"%s\": every comma-separated name must "
                 "be 1 to 253 characters",
                 conf ? conf : "");
        free(list);
        return NULL;
    }
    list[strlen(list) - 1] = '\0'; /* the last comma */
    return list;
}

static const char *arg(struct MHD_Connection *conn, const char *key) {
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/* "/api/schedules/ID[/action]" -> id (37 bytes) and action ("" if none). */
static bool split_schedule_path(const char *url, char id[37], const char **action) {
    const char *rest = url + strlen("/api/schedules/");
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n > 36) return false;
    memcpy(id, rest, n);
    id[n] = '\0';
    *action = slash ? slash + 1 : "";
    return true;
}

static mhd_result route_post(console *c, struct MHD_Connection *conn, const char *url) {
    char id[37];
    const char *action;
    if (strncmp(url, "/api/schedules/", 15) != 0 || !split_schedule_path(url, id, &action) ||
        (strcmp(action, "retry") != 0 && strcmp(action, "cancel") != 0))
        return send_reply(conn, api_error(404, "no such action"));
    if (c->token == NULL)
        return send_reply(conn, api_error(403, "read-only console: set console.token_file to "
                                               "allow retry and cancel"));
    if (!token_ok(c, conn))
        return send_reply(conn, api_error(401, "missing or wrong Bearer token"));
    api_reply r = strcmp(action, "retry") == 0 ? api_retry(c, id) : api_cancel(c, id);
    ap_log_info("console_action", id, "%s: HTTP %u", action, r.status);
    return send_reply(conn, r);
}

static mhd_result route_get(console *c, struct MHD_Connection *conn, const char *url) {
    if (strncmp(url, "/api/", 5) == 0 && !read_ok(c, conn))
        return send_reply(conn, api_error(401, "missing or wrong Bearer token"));
    for (const console_asset *a = console_assets; a->path; a++)
        if (strcmp(url, a->path) == 0)
            return send_bytes(conn, 200, a->content_type, a->data, a->len, false);
    if (strcmp(url, "/healthz") == 0) return send_bytes(conn, 200, "text/plain", "ok\n", 3, false);
    if (strcmp(url, "/api/overview") == 0) return send_reply(conn, api_overview(c));
    if (strcmp(url, "/api/platforms") == 0) return send_reply(conn, api_platforms(c));
    if (strcmp(url, "/api/failed") == 0) return send_reply(conn, api_failed(c, arg(conn, "limit")));
    if (strcmp(url, "/api/webhooks/failing") == 0) return send_reply(conn, api_webhooks_failing(c));
    if (strcmp(url, "/api/series") == 0)
        return send_reply(conn, api_series(c, arg(conn, "minutes")));
    if (strcmp(url, "/api/schedules") == 0)
        return send_reply(
            conn, api_schedules(c, arg(conn, "status"), arg(conn, "platform"), arg(conn, "limit")));
    char id[37];
    const char *action;
    if (strncmp(url, "/api/schedules/", 15) == 0 && split_schedule_path(url, id, &action) &&
        *action == '\0')
        return send_reply(conn, api_schedule(c, id));
    return send_reply(conn, api_error(404, "not found"));
}

static mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **req_cls) {
    console *c = cls;
    static int first_call_marker;
    /* libmicrohttpd calls once for the headers, then for each body chunk:
     * bodies are not used, so they are read and dropped. */
    if (*req_cls == NULL) {
        *req_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") != 0 && !host_allowed(c, conn))
        return send_reply(conn, api_error(421, "this console does not answer for that host name "
                                               "(console.allowed_hosts)"));
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) return route_get(c, conn, url);
    if (strcmp(method, "POST") == 0) return route_post(c, conn, url);
    return send_reply(conn, api_error(405, "method not allowed"));
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    ap_log_warn("http", NULL, "%s", msg);
}

struct MHD_Daemon *console_http_start(console *c, char *err, size_t errlen) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)c->cfg->console_http_port);
    if (inet_pton(AF_INET, c->cfg->console_http_bind, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "console.http_bind: \"%s\" is not an IPv4 address",
                 c->cfg->console_http_bind);
        return NULL;
    }
    /* One internal thread: the PostgreSQL connection is used from it alone. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
        (uint16_t)c->cfg->console_http_port, NULL, NULL, on_request, c, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
        64u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (d == NULL)
        snprintf(err, errlen, "cannot serve http on %s:%d", c->cfg->console_http_bind,
                 c->cfg->console_http_port);
    return d;
}
