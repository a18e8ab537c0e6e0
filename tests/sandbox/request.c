/* request.c -- one request as the core holds it: its body (form or
 * JSON, decoded into parameters), the sandbox_req_* accessors the
 * platforms read, and the sandbox_reply_* answers they give, queued to
 * libmicrohttpd by sandbox_req_send().
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"

void sandbox_req_free(sandbox_request *req) {
    for (size_t i = 0; i < req->nparams; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    for (int i = 0; i < req->nhdr; i++) {
        free(req->hdr_name[i]);
        free(req->hdr_value[i]);
    }
    free(req->params);
    free(req->body);
    free(req->resp);
    free(req);
}

void sandbox_req_append(sandbox_request *req, const char *data, size_t n) {
    if (req->body_too_large) return;
    if (req->body_len + n > SANDBOX_MAX_BODY) {
        req->body_too_large = 1;
        return;
    }
    if (sandbox_reserve((void **)&req->body, &req->body_cap, req->body_len + n + 1, 1) != 0) {
        req->body_too_large = 1; /* answered 413: the honest failure mode */
        return;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
}

static int sandbox_req_add_param(sandbox_request *req, char *key, char *value) {
    if (key == NULL || value == NULL ||
        sandbox_reserve((void **)&req->params, &req->params_cap, req->nparams + 1,
                        sizeof(*req->params)) != 0) {
        free(key);
        free(value);
        return -1;
    }
    req->params[req->nparams].key = key;
    req->params[req->nparams].value = value;
    req->nparams++;
    return 0;
}

static int sandbox_hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of application/x-www-form-urlencoded text. */
static char *sandbox_form_decode(const char *s, size_t n) {
    char *out = malloc(n + 1), *o = out;
    if (out == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = sandbox_hexval(s[i + 1])) >= 0 &&
                   (lo = sandbox_hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int sandbox_parse_form(sandbox_request *req) {
    const char *p = req->body ? req->body : "";
    const char *end = p + req->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            const char *kend = eq ? eq : stop;
            const char *v = eq ? eq + 1 : stop;
            if (sandbox_req_add_param(req, sandbox_form_decode(p, (size_t)(kend - p)),
                                      sandbox_form_decode(v, (size_t)(stop - v))) != 0)
                return -1;
        }
        p = stop + 1;
    }
    return 0;
}

/* JSON scalars become the text a form post would have carried. */
static char *sandbox_json_to_text(json_t *v) {
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_STRING: return strdup(json_string_value(v));
    case JSON_TRUE: return strdup("true");
    case JSON_FALSE: return strdup("false");
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(tmp);
    case JSON_REAL: snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v)); return strdup(tmp);
    default: return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

static int sandbox_parse_json(sandbox_request *req) {
    json_error_t err;
    const char *key;
    json_t *v, *root = json_loadb(req->body ? req->body : "", req->body_len, 0, &err);
    int rc = 0;
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    json_object_foreach(root, key, v) {
        if (json_is_null(v)) continue;
        if (sandbox_req_add_param(req, strdup(key), sandbox_json_to_text(v)) != 0) {
            rc = -1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

/* Bodies are read as JSON or form data by Content-Type; others (multipart
 * uploads...) carry no parameters, as if the fields were missing. */
void sandbox_req_parse_body(sandbox_request *req) {
    const char *ct = sandbox_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    int rc = 0;
    if (req->body_len == 0) return;
    if (sandbox_has_prefix_ci(ct, "application/json"))
        rc = sandbox_parse_json(req);
    else if (ct == NULL || sandbox_has_prefix_ci(ct, "application/x-www-form-urlencoded"))
        rc = sandbox_parse_form(req);
    if (rc != 0) req->body_invalid = 1;
}

/* ------------------------------------------------------------------------
 * Platform-facing accessors and replies
 * --------------------------------------------------------------------- */

const char *sandbox_req_method(const sandbox_request *req) { return req->method; }
const char *sandbox_url_scheme(void) { return server.tls ? "https" : "http"; }
const char *sandbox_req_path(const sandbox_request *req) { return req->path; }
int sandbox_req_body_valid(const sandbox_request *req) { return !req->body_invalid; }
int64_t sandbox_req_received_ms(const sandbox_request *req) { return req->received_ms; }

const char *sandbox_req_header(const sandbox_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sandbox_req_query(const sandbox_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sandbox_req_param(const sandbox_request *req, const char *name) {
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, name) == 0) return req->params[i].value;
    return sandbox_req_query(req, name);
}

static const char *sandbox_find_bytes(const char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) return hay + i;
    return NULL;
}

const char *sandbox_req_part(const sandbox_request *req, const char *name, size_t *len) {
    const char *ct = sandbox_req_header(req, "Content-Type"), *b;
    size_t n;
    const char *body = sandbox_req_body(req, &n);
    char delim[128], want[64];
    if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0 || body == NULL ||
        (b = strstr(ct, "boundary=")) == NULL || strlen(b + 9) == 0 || strlen(b + 9) > 100)
        return NULL;
    snprintf(delim, sizeof(delim), "\r\n--%s", b + 9);
    snprintf(want, sizeof(want), "name=\"%s\"", name);
    for (const char *p = sandbox_find_bytes(body, n, delim + 2); p;) {
        const char *hdr_end = sandbox_find_bytes(p, n - (size_t)(p - body), "\r\n\r\n");
        if (hdr_end == NULL) return NULL;
        const char *data = hdr_end + 4;
        const char *next = sandbox_find_bytes(data, n - (size_t)(data - body), delim);
        if (next == NULL) return NULL;
        if (sandbox_find_bytes(p, (size_t)(hdr_end - p), want)) {
            *len = (size_t)(next - data);
            return data;
        }
        p = next + 2;
    }
    return NULL;
}

sandbox_fault sandbox_req_fault(const sandbox_request *req, sandbox_op op) {
    if (req->fault == SANDBOX_FAULT_RESEND) return SANDBOX_FAULT_NONE; /* the core's */
    if (op == SANDBOX_OP_WRITE) return req->fault;
    if (req->fault == SANDBOX_FAULT_HANG || req->fault == SANDBOX_FAULT_CLOSE)
        return SANDBOX_FAULT_NONE;
    pthread_mutex_lock(&server.lock);
    int on_reads = server.knobs.faults_on_reads;
    pthread_mutex_unlock(&server.lock);
    return on_reads ? req->fault : SANDBOX_FAULT_NONE;
}

/* Takes ownership of body (malloc'd, NUL-terminated). */
void sandbox_reply_raw(sandbox_request *req, unsigned status, const char *type, char *body) {
    free(req->resp);
    req->resp = body;
    req->resp_len = body ? strlen(body) : 0;
    req->resp_type = type;
    req->status = status;
}

void sandbox_reply_json(sandbox_request *req, unsigned status, json_t *body) {
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        /* Out of memory while building the answer: say so, tersely. */
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        text = strdup("{\"error\":\"out of memory\"}");
    }
    sandbox_reply_raw(req, status, "application/json", text);
}

void sandbox_reply_bytes(sandbox_request *req, unsigned status, const char *type, const void *data,
                         size_t len) {
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        sandbox_reply_json(req, 500, NULL);
        return;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    sandbox_reply_raw(req, status, type, copy);
    req->resp_len = len; /* binary: not up to the first NUL */
}

const char *sandbox_req_body(const sandbox_request *req, size_t *len) {
    *len = req->body_len;
    return req->body;
}

void sandbox_reply_empty(sandbox_request *req, unsigned status) {
    char *text = strdup("");
    sandbox_reply_raw(req, text ? status : MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                      text);
}

int sandbox_reply_header(sandbox_request *req, const char *name, const char *value) {
    if (req->nhdr == SANDBOX_MAX_HEADERS) return -1;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    req->hdr_name[req->nhdr] = n;
    req->hdr_value[req->nhdr] = v;
    req->nhdr++;
    return 0;
}

void sandbox_hold(sandbox_request *req) { req->hold = 1; }

void sandbox_req_close_on_hold(sandbox_request *req) { req->fault = SANDBOX_FAULT_CLOSE; }

enum MHD_Result sandbox_req_send(sandbox_request *req) {
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (req->resp == NULL) sandbox_reply_json(req, 500, NULL);
    if (req->resp == NULL) return MHD_NO;
    r = MHD_create_response_from_buffer(req->resp_len, req->resp, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) return MHD_NO;
    req->resp = NULL; /* now owned (and freed) by the response */
    ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, req->resp_type);
    for (int i = 0; i < req->nhdr && ret == MHD_YES; i++)
        ret = MHD_add_response_header(r, req->hdr_name[i], req->hdr_value[i]);
    if (ret == MHD_YES) ret = MHD_queue_response(req->conn, req->status, r);
    MHD_destroy_response(r);
    return ret;
}
