/* http.c -- request/response values (http.h) and their libcurl glue.
 *
 * The runtime owns a curl multi handle; this file turns an ap_http_request
 * into a configured easy handle and the finished transfer back into an
 * ap_http_response. Policies that protect us live here, once: no redirects
 * (a platform never needs them and they could leak the Authorization header),
 * only http/https, a body size cap, connect and total timeouts, TLS
 * verification (against platforms.<p>.ca_file when set) unless the platform
 * config turns it off for a sandbox. */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "ap_netpolicy.h"
#include "http_engine.h"

void ap_http_request_init(ap_http_request *req, const char *method) {
    memset(req, 0, sizeof(*req));
    req->method = method;
}

int ap_http_request_add_header(ap_http_request *req, const char *name, const char *value) {
    if (req->nheaders == AP_HTTP_MAX_HEADERS) return -1;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    req->headers[req->nheaders].name = n;
    req->headers[req->nheaders].value = v;
    req->nheaders++;
    return 0;
}

static void headers_clear(ap_http_header *h, int *n) {
    for (int i = 0; i < *n; i++) {
        free(h[i].name);
        if (h[i].value) {
            /* Authorization values carry tokens: don't leave them in the heap. */
            explicit_bzero(h[i].value, strlen(h[i].value));
            free(h[i].value);
        }
    }
    *n = 0;
}

void ap_http_request_clear(ap_http_request *req) {
    free(req->url);
    if (req->body) {
        explicit_bzero(req->body, req->body_len);
        free(req->body);
    }
    headers_clear(req->headers, &req->nheaders);
    const char *method = req->method;
    memset(req, 0, sizeof(*req));
    req->method = method;
}

const char *ap_http_response_header(const ap_http_response *res, const char *name) {
    for (int i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, name) == 0) return res->headers[i].value;
    return NULL;
}

void ap_http_response_clear(ap_http_response *res) {
    free(res->body);
    headers_clear(res->headers, &res->nheaders);
    memset(res, 0, sizeof(*res));
}

char *ap_http_urlencode(const char *s) {
    char *escaped = curl_easy_escape(NULL, s, (int)strlen(s));
    if (escaped == NULL) return NULL;
    char *copy = strdup(escaped);
    curl_free(escaped);
    return copy;
}

char *ap_http_form(const char *const *pairs) {
    size_t cap = 256, len = 0;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    out[0] = '\0';
    for (size_t i = 0; pairs[i]; i += 2) {
        if (pairs[i + 1] == NULL) continue;
        char *v = ap_http_urlencode(pairs[i + 1]);
        if (v == NULL) goto fail;
        size_t need = len + strlen(pairs[i]) + strlen(v) + 3;
        if (need > cap) {
            while (cap < need) cap *= 2;
            char *grown = realloc(out, cap);
            if (grown == NULL) {
                free(v);
                goto fail;
            }
            out = grown;
        }
        len += (size_t)sprintf(out + len, "%s%s=%s", len ? "&" : "", pairs[i], v);
        free(v);
    }
    return out;
fail:
    free(out);
    return NULL;
}

long long ap_http_retry_after_ms(const char *value, long long now_ms) {
    if (value == NULL) return -1;
    while (isspace((unsigned char)*value)) value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long secs = strtoll(value, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        if (*end != '\0' || secs < 0 || secs > 7 * 86400) return -1;
        return secs * 1000;
    }
    time_t when = curl_getdate(value, NULL); /* IMF-fixdate and friends */
    if (when == (time_t)-1) return -1;
    if (when < 0) return 0; /* before 1970: long past */
    /* The same week's ceiling as delta seconds; it also keeps a date in year
     * 888888883 (curl accepts it) from overflowing the multiplication. */
    if ((long long)when > now_ms / 1000 + 7 * 86400) return -1;
    long long delta = (long long)when * 1000 - now_ms;
    return delta > 0 ? delta : 0;
}

/* ---- libcurl glue (http_engine.h) ----------------------------------------- */

/* Response headers adapters may read; anything else is dropped on arrival. */
static const char *const kept_headers[] = {
    "retry-after",
    "x-business-use-case-usage",
    "x-app-usage",
    "x-page-usage",
    "x-rate-limit-reset",
    "x-rate-limit-remaining",
    "x-restli-id",
    "location",
    "content-type",
    /* a ranged read of a video: where the chunk sits and the file's size */
    "content-range",
    /* LinkedIn: a video part's id, named again in finalizeUpload */
    "etag",
    /* X: the user's 24-hour post allowance */
    "x-user-limit-24hour-reset",
    "x-user-limit-24hour-remaining",
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
    ap_http_response *res = userdata;
    size_t n = size * nmemb;
    size_t cap = res->max_body ? res->max_body : AP_HTTP_MAX_BODY;
    if (res->body_len + n > cap) return 0; /* aborts: CURLE_WRITE_ERROR */
    char *grown = realloc(res->body, res->body_len + n + 1);
    if (grown == NULL) return 0;
    res->body = grown;
    memcpy(res->body + res->body_len, data, n);
    res->body_len += n;
    res->body[res->body_len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
    ap_http_response *res = userdata;
    size_t n = size * nmemb;
    const char *colon = memchr(data, ':', n);
    if (colon == NULL) {
        if (n > 5 && strncmp(data, "HTTP/", 5) == 0) headers_clear(res->headers, &res->nheaders);
        return n; /* status line (a new response after 100-continue resets) */
    }
    size_t name_len = (size_t)(colon - data);
    for (size_t i = 0; i < sizeof(kept_headers) / sizeof(kept_headers[0]); i++) {
        if (strlen(kept_headers[i]) != name_len || strncasecmp(data, kept_headers[i], name_len))
            continue;
        if (res->nheaders == AP_HTTP_MAX_HEADERS) break;
        const char *v = colon + 1, *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t')) v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
        if (end - v > 4096) break;
        res->headers[res->nheaders].name = strndup(data, name_len);
        res->headers[res->nheaders].value = strndup(v, (size_t)(end - v));
        if (res->headers[res->nheaders].name && res->headers[res->nheaders].value)
            res->nheaders++;
        else {
            free(res->headers[res->nheaders].name);
            free(res->headers[res->nheaders].value);
        }
        break;
    }
    return n;
}

/* libcurl calls this before every send of the request, its own resends
 * included: libcurl (7.88 as today's, transfer.c Curl_retry_request) sends a
 * request again on a fresh connection when the reused one it rode closes
 * before any answer byte, and when an HTTP/2 server refused its stream. For a `once` request
 * a second call means that resend: refuse it (the transfer ends with
 * CURLE_ABORTED_BY_CALLBACK before anything leaves) and let the adapter read
 * back, because the first send may have been processed. Connection reuse
 * stays: curl does not pick a kept connection whose close it has already
 * seen, so a refused resend costs a read-back only when the close arrives
 * while the request is on its way, which is also when it may have been
 * processed. */
static int on_prereq(void *userdata, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port) {
    (void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
    ap_http_response *res = userdata;
    if (++res->sends == 1) return CURL_PREREQFUNC_OK;
    res->resend_refused = true;
    return CURL_PREREQFUNC_ABORT;
}

/* libcurl asks for every socket it opens, redirects and Happy Eyeballs'
 * second family included, with the address it is about to connect to: the
 * one place where the check cannot be raced by a second DNS answer. */
static curl_socket_t on_open_socket(void *userdata, curlsocktype purpose,
                                    struct curl_sockaddr *address) {
    ap_http_response *res = userdata;
    const char *why = NULL;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !ap_netpolicy_address_is_public(&address->addr, address->addrlen, &why)) {
        res->address_refused = true;
        return CURL_SOCKET_BAD; /* the transfer ends with CURLE_COULDNT_CONNECT */
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* A post's media URL: https only, public addresses only, on a connection of
 * its own (a kept connection to the platform's host would skip the socket
 * check), redirects through the same checks. */
static CURLcode set_outside_policy(CURL *e, bool allow_private, ap_http_response *res) {
    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, (long)AP_HTTP_MAX_REDIRECTS);
    if (allow_private) {
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        return c;
    }
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SET(CURLOPT_OPENSOCKETDATA, res);
    SET(CURLOPT_FRESH_CONNECT, 1L);
    SET(CURLOPT_FORBID_REUSE, 1L);
#undef SET
    return c;
}

CURL *ap_http_easy_new(CURL *reuse, const ap_http_request *req, const ap_platform_config *platform,
                       bool media_allow_private, ap_http_response *res,
                       struct curl_slist **headers_out) {
    CURL *e = reuse ? reuse : curl_easy_init();
    if (e == NULL) return NULL;
    res->max_body = req->max_response;
    res->outside_url = req->outside_url;
    struct curl_slist *headers = NULL;
    for (int i = 0; i < req->nheaders; i++) {
        char line[8192];
        int n = snprintf(line, sizeof(line), "%s: %s", req->headers[i].name, req->headers[i].value);
        struct curl_slist *next = curl_slist_append(headers, line);
        /* The line may hold a token: wipe what was written, not all 8 KiB. */
        explicit_bzero(line, n >= 0 && (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
        if (next == NULL) goto fail;
        headers = next;
    }
    /* Expect: 100-continue adds a round trip for no benefit on small bodies. */
    struct curl_slist *next = curl_slist_append(headers, "Expect:");
    if (next == NULL) goto fail;
    headers = next;

    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_TIMEOUT_MS, (long)platform->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)platform->connect_timeout_ms);
    SET(CURLOPT_SSL_VERIFYPEER, platform->tls_verify ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, platform->tls_verify ? 2L : 0L);
    /* Only when set: CAINFO NULL would mean no bundle at all, not the
     * system's (a kept handle is reset before reuse, so nothing lingers). */
    if (platform->ca_file) SET(CURLOPT_CAINFO, platform->ca_file);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, res);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, res);
    SET(CURLOPT_USERAGENT, "autopost/0.1");
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (req->once) {
        SET(CURLOPT_PREREQFUNCTION, on_prereq);
        SET(CURLOPT_PREREQDATA, res);
    }
    if (strcmp(req->method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE, (long)req->body_len);
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
    } else if (strcmp(req->method, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body) {
            SET(CURLOPT_POSTFIELDSIZE, (long)req->body_len);
            SET(CURLOPT_POSTFIELDS, req->body);
        }
    }
#undef SET
    if (c == CURLE_OK && req->outside_url) c = set_outside_policy(e, media_allow_private, res);
    if (c != CURLE_OK) goto fail;
    *headers_out = headers;
    return e;
fail:
    ap_http_headers_free(headers);
    curl_easy_cleanup(e);
    return NULL;
}

void ap_http_headers_free(struct curl_slist *headers) {
    for (struct curl_slist *h = headers; h != NULL; h = h->next)
        if (h->data) explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(headers);
}

void ap_http_easy_finish(CURL *e, int curl_code, ap_http_response *res) {
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    /* Bytes of request actually written to the socket: zero means the
     * platform cannot have seen it, so a retry is safe. */
    long request_size = 0;
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &request_size);
    res->transport_error = curl_code;
    /* A refused resend means the first send went out and got no answer. */
    res->request_sent = request_size > 0 || res->resend_refused;
    res->status = curl_code == CURLE_OK ? status : 0;
    /* A refused address followed by an allowed one (the other family)
     * that answered is no refusal. */
    res->address_refused = res->address_refused && curl_code != CURLE_OK;
    res->scheme_refused = res->outside_url && curl_code == CURLE_UNSUPPORTED_PROTOCOL;
    if (res->address_refused || res->scheme_refused)
        /* Nothing about the refused host (its status, curl's text) goes on. */
        snprintf(res->transport_message, sizeof(res->transport_message), "%s",
                 res->address_refused ? "address not allowed" : "only https is allowed");
    else if (res->resend_refused)
        snprintf(res->transport_message, sizeof(res->transport_message), "%s",
                 "the connection closed with no answer after the request was sent; "
                 "libcurl's resend was refused");
    else if (curl_code != CURLE_OK)
        snprintf(res->transport_message, sizeof(res->transport_message), "%s",
                 curl_easy_strerror((CURLcode)curl_code));
}
