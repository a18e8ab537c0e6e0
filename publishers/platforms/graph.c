/* graph.c -- see graph.h. Error facts from Meta's Graph API docs: errors come
 * in the body, {"error":{"code","error_subcode","message","is_transient",
 * "fbtrace_id"}}, often with HTTP 400 even for throttling, so we classify on
 * the code, never on the HTTP status alone. */
#include "graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_time.h"
#include "ap_url.h"

/* Minutes until access is regained, from X-Business-Use-Case-Usage:
 * {"<id>":[{"type":"pages","estimated_time_to_regain_access":M,...}]}. */
static int64_t business_usage_wait_ms(const ap_http_response *res) {
    const char *h = ap_http_response_header(res, "x-business-use-case-usage");
    int64_t best = -1;
    if (h == NULL) return -1;
    json_t *root = json_loads(h, 0, NULL);
    if (root == NULL) return -1;
    const char *key;
    json_t *arr;
    json_object_foreach(root, key, arr) {
        size_t i;
        json_t *entry;
        if (!json_is_array(arr)) continue;
        json_array_foreach(arr, i, entry) {
            json_t *m = json_object_get(entry, "estimated_time_to_regain_access");
            if (json_is_integer(m) && json_integer_value(m) >= 0 &&
                json_integer_value(m) < 24 * 60) {
                int64_t ms = json_integer_value(m) * 60 * 1000;
                if (ms > best) best = ms;
            }
        }
    }
    json_decref(root);
    return best;
}

/* X-App-Usage: {"call_count":P,"total_cputime":P,"total_time":P} in percent
 * of the app's hourly allowance; no time, so a full one means "the default". */
static int64_t app_usage_wait_ms(const ap_http_response *res) {
    const char *h = ap_http_response_header(res, "x-app-usage");
    if (h == NULL) return -1;
    json_t *root = json_loads(h, 0, NULL);
    int64_t wait = -1;
    const char *key;
    json_t *v;
    if (json_is_object(root)) {
        json_object_foreach(root, key, v) {
            if (json_is_number(v) && json_number_value(v) >= 100.0)
                wait = AP_GRAPH_RATE_LIMIT_DEFAULT_MS;
        }
    }
    json_decref(root);
    return wait;
}

int64_t ap_graph_wait_hint_ms(const ap_http_response *res) {
    int64_t wait = business_usage_wait_ms(res);
    int64_t app = app_usage_wait_ms(res);
    long long ra = ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
    if (app > wait) wait = app;
    if (ra > wait) wait = ra;
    return wait;
}

static bool is_rate_limit_code(long long code) {
    return code == 4 || code == 9 || code == 17 || code == 32 || code == 613 ||
           (code >= 80000 && code <= 80014);
}

void ap_graph_classify_error(const ap_http_response *res, const ap_graph_names *names,
                             bool publish_step, ap_flow_result *r) {
    json_t *root = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    json_t *err = root ? json_object_get(root, "error") : NULL;
    long long code = -1, sub = 0;
    const char *msg = "no error details in the response";
    const char *who = names->platform;
    bool transient = false;
    if (json_is_object(err)) {
        json_t *c = json_object_get(err, "code"), *s = json_object_get(err, "error_subcode"),
               *m = json_object_get(err, "message"), *um = json_object_get(err, "error_user_msg");
        if (json_is_integer(c)) code = json_integer_value(c);
        if (json_is_integer(s)) sub = json_integer_value(s);
        /* error_user_msg says it in words a person acts on; prefer it. */
        if (json_is_string(um) && json_string_length(um) > 0)
            msg = json_string_value(um);
        else if (json_is_string(m))
            msg = json_string_value(m);
        transient = json_is_true(json_object_get(err, "is_transient"));
    }
    char code_text[64];
    if (code < 0)
        snprintf(code_text, sizeof(code_text), "http_%ld", res->status);
    else if (sub)
        snprintf(code_text, sizeof(code_text), "%lld/%lld", code, sub);
    else
        snprintf(code_text, sizeof(code_text), "%lld", code);

    int64_t hint = ap_graph_wait_hint_ms(res);
    if (code == 9 && sub == 2207042) {
        ap_flow_fail(r, AP_CLASS_QUOTA, res->status, code_text,
                     "the account reached its %s publishing limit for the last 24 hours: %s", who,
                     msg);
        /* No hint: the runtime waits platforms.<p>.quota_wait. */
        r->retry_after_ms = hint > 0 ? hint : 0;
        r->pause = AP_PAUSE_ACCOUNT;
    } else if (is_rate_limit_code(code)) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code_text, "rate limited by %s: %s", who, msg);
        r->retry_after_ms = hint > 0 ? hint : AP_GRAPH_RATE_LIMIT_DEFAULT_MS;
        /* Code 4 is the app's own call budget; the others are the user's,
         * page's or account's. */
        r->pause = code == 4 ? AP_PAUSE_APP : AP_PAUSE_ACCOUNT;
    } else if (code == 190 || code == 102 || code == 104) {
        ap_flow_fail(r, AP_CLASS_REAUTH, res->status, code_text,
                     "the %s access token is invalid or expired; reconnect the account: %s", who,
                     msg);
    } else if (code == 10 || (code >= 200 && code <= 299)) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code_text,
                     "missing permission; reconnect the account granting %s: %s", names->permission,
                     msg);
    } else if (code == 506) {
        ap_flow_fail(r, AP_CLASS_DUPLICATE, res->status, code_text,
                     "%s rejected the post as a duplicate of a recent one: %s", who, msg);
    } else if (publish_step && res->status >= 500) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, code_text,
                     "%s failed while publishing (%s): the post may be live", who, msg);
    } else if (transient || code == 1 || code == 2 || res->status >= 500 || res->status == 429) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code_text, "%s error: %s", who, msg);
        r->retry_after_ms = hint > 0 ? hint : 0;
    } else {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code_text, "%s refused the post: %s", who,
                     msg);
    }
    json_decref(root);
}

json_t *ap_graph_parse_object(const ap_http_response *res) {
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

const char *ap_graph_id(json_t *obj, const char *key) {
    json_t *id = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_string(id)) return NULL;
    size_t n = json_string_length(id);
    const char *s = json_string_value(id);
    if (n == 0 || n >= 120 || strlen(s) != n || strpbrk(s, "/?#&% \t\r\n") != NULL) return NULL;
    return s;
}

int64_t ap_graph_time_ms(const char *s) {
    char buf[40];
    int64_t ms;
    size_t n = s ? strlen(s) : 0;
    if (n < 5 || n >= sizeof(buf) - 1) return -1;
    /* Graph writes the zone without a colon ("+0000"); RFC 3339 wants one. */
    if ((s[n - 5] == '+' || s[n - 5] == '-') && s[n - 3] != ':')
        snprintf(buf, sizeof(buf), "%.*s:%s", (int)(n - 2), s, s + n - 2);
    else
        snprintf(buf, sizeof(buf), "%s", s);
    return ap_time_parse_rfc3339(buf, &ms) == 0 ? ms : -1;
}

char *ap_graph_next_page(json_t *root, const char *base_url) {
    json_t *next = json_object_get(json_object_get(root, "paging"), "next");
    if (!json_is_string(next) || json_string_length(next) > AP_URL_MAX) return NULL;
    const char *url = json_string_value(next);
    size_t n = strlen(base_url);
    if (strncmp(url, base_url, n) == 0 && url[n] == '/') return strdup(url);
    return NULL;
}

int ap_graph_request(ap_http_request *req, const char *method, const char *token,
                     const char *const *pairs, const char *fmt, ...) {
    char url[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(url, sizeof(url), fmt, ap);
    va_end(ap);
    ap_http_request_init(req, method);
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    req->url = strdup(url);
    if (req->url == NULL) return -1;
    if (pairs) {
        req->body = ap_http_form(pairs);
        if (req->body == NULL) return -1;
        req->body_len = strlen(req->body);
        if (ap_http_request_add_header(req, "Content-Type", "application/x-www-form-urlencoded") !=
            0)
            return -1;
    }
    return ap_flow_bearer_header(req, token);
}
