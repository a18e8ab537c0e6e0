/* facebook.c -- Facebook Pages through the Graph API.
 *
 * Publish: one call.
 *   text/link  POST {base}/{version}/{page-id}/feed    message, link  -> {"id"}
 *   one photo  POST {base}/{version}/{page-id}/photos  url, caption   -> {"id","post_id"}
 * Verify (a previous attempt died after sending):
 *   GET {base}/{version}/{page-id}/feed?fields=id,message,created_time&since=T
 *   and look for our message; Facebook itself rejects an identical message
 *   on the same page (error 506), so text equality identifies our post.
 *
 * Errors come in the body, {"error":{"code","error_subcode","message",
 * "is_transient","fbtrace_id"}}, often with HTTP 400 even for throttling, so
 * we classify on the code, never on the HTTP status alone:
 *   4, 17, 32, 613, 80000-80014  rate limits    -> retry after the usage hint
 *   1, 2, is_transient, 5xx       transient      -> retry
 *   190, 102, 104                 token          -> reauth
 *   10, 200-299                   permission     -> permanent (reconnect the page)
 *   506                           duplicate text -> duplicate
 *   everything else (100, ...)    -> permanent
 * The token goes in the Authorization header, never in a URL we might log. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "ap_time.h"

#define FACEBOOK_MAX_TEXT 63206 /* characters in a Page post */
#define FACEBOOK_MAX_MEDIA 1    /* single photo; multi-photo comes with attached_media */
#define FACEBOOK_RATE_LIMIT_DEFAULT_MS (60 * 1000)

#define FACEBOOK_VERIFY_MAX_PAGES 20 /* 20 x 100 feed items since the lost attempt */

typedef struct fb_flow {
    int calls;       /* requests sent so far in this flow */
    char *next_page; /* AP_FLOW_VERIFY: the feed's paging.next, when there is more */
} fb_flow;

/* UTF-8 code points, or -1 when the text is not valid UTF-8. */
static long utf8_length(const char *s) {
    long n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra;
        if (*p < 0x80)
            extra = 0;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2)
            extra = 1;
        else if ((*p & 0xF0) == 0xE0)
            extra = 2;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4)
            extra = 3;
        else
            return -1;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xC0) != 0x80) return -1;
        n++;
    }
    return n;
}

static bool fb_validate(const ap_job *job, char *reason, size_t len) {
    if (!ap_validate_common(job, FACEBOOK_MAX_MEDIA, reason, len)) return false;
    long chars = utf8_length(job->text ? job->text : "");
    if (chars < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (chars > FACEBOOK_MAX_TEXT) {
        snprintf(reason, len, "text has %ld characters; Facebook allows at most %d", chars,
                 FACEBOOK_MAX_TEXT);
        return false;
    }
    if (job->n_media == 1 && job->media[0]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO) {
        snprintf(reason, len, "video posts are not supported for Facebook yet");
        return false;
    }
    if (job->account_external_id == NULL || *job->account_external_id == '\0' ||
        strpbrk(job->account_external_id, "/?#&% ") != NULL) {
        snprintf(reason, len, "account has no valid Facebook page id");
        return false;
    }
    return true;
}

static void *fb_flow_new(const ap_flow_input *in) { return calloc(1, sizeof(fb_flow)); }

static void fb_flow_free(void *state) {
    fb_flow *f = state;
    if (f) free(f->next_page);
    free(f);
}

/* What we post as the message/caption: a photo cannot carry a link
 * attachment, so its link rides in the caption. Caller frees. */
static char *fb_message(const ap_job *job) {
    const char *text = job->text ? job->text : "";
    if (job->n_media == 0 || job->link == NULL || *job->link == '\0') return strdup(text);
    size_t n = strlen(text) + strlen(job->link) + 2;
    char *m = malloc(n);
    if (m) snprintf(m, n, "%s%s%s", text, *text ? "\n" : "", job->link);
    return m;
}

static int fb_auth_header(ap_http_request *req, const char *token) {
    char value[4200];
    if (strlen(token) > 4096) return -1;
    snprintf(value, sizeof(value), "Bearer %s", token);
    int rc = ap_http_request_add_header(req, "Authorization", value);
    explicit_bzero(value, sizeof(value));
    return rc;
}

static int fb_build_publish(const ap_flow_input *in, ap_http_request *req) {
    const ap_job *job = in->job;
    const ap_platform_config *p = in->platform;
    char url[1024];
    int n;
    char *message = fb_message(job);
    if (message == NULL) return -1;
    ap_http_request_init(req, "POST");
    if (job->n_media == 1) {
        n = snprintf(url, sizeof(url), "%s/%s/%s/photos", p->base_url, p->api_version,
                     job->account_external_id);
        const char *pairs[] = {"url", job->media[0]->url, "caption", *message ? message : NULL,
                               NULL};
        req->body = ap_http_form(pairs);
    } else {
        n = snprintf(url, sizeof(url), "%s/%s/%s/feed", p->base_url, p->api_version,
                     job->account_external_id);
        const char *pairs[] = {"message", *message ? message : NULL, "link",
                               (job->link && *job->link) ? job->link : NULL, NULL};
        req->body = ap_http_form(pairs);
    }
    free(message);
    /* A cut URL could name another endpoint (".../123" instead of ".../123/feed"). */
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    req->url = strdup(url);
    if (req->body == NULL || req->url == NULL) return -1;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/x-www-form-urlencoded") != 0)
        return -1;
    return fb_auth_header(req, in->token);
}

static int fb_build_verify(const ap_flow_input *in, ap_http_request *req) {
    char url[1024];
    /* A minute of slack for clock skew between us and the platform. */
    long long since = (in->since_ms / 1000) - 60;
    int n = snprintf(url, sizeof(url),
                     "%s/%s/%s/feed?fields=id,message,created_time&since=%lld&limit=100",
                     in->platform->base_url, in->platform->api_version,
                     in->job->account_external_id, since > 0 ? since : 0);
    ap_http_request_init(req, "GET");
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    req->url = strdup(url);
    if (req->url == NULL) return -1;
    return fb_auth_header(req, in->token);
}

/* Minutes until access is regained, from X-Business-Use-Case-Usage:
 * {"<id>":[{"type":"pages","estimated_time_to_regain_access":M,...}]}. */
static int64_t fb_usage_wait_ms(const ap_http_response *res) {
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

static bool is_rate_limit_code(long long code) {
    return code == 4 || code == 17 || code == 32 || code == 613 || (code >= 80000 && code <= 80014);
}

/* Classifies a non-success Graph response into result. */
static void fb_classify_error(const ap_http_response *res, ap_flow_result *r) {
    json_t *root = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    json_t *err = root ? json_object_get(root, "error") : NULL;
    long long code = -1, sub = 0;
    const char *msg = "no error details in the response";
    bool transient = false;
    if (json_is_object(err)) {
        json_t *c = json_object_get(err, "code"), *s = json_object_get(err, "error_subcode"),
               *m = json_object_get(err, "message");
        if (json_is_integer(c)) code = json_integer_value(c);
        if (json_is_integer(s)) sub = json_integer_value(s);
        if (json_is_string(m)) msg = json_string_value(m);
        transient = json_is_true(json_object_get(err, "is_transient"));
    }
    char code_text[64];
    if (code < 0)
        snprintf(code_text, sizeof(code_text), "http_%ld", res->status);
    else if (sub)
        snprintf(code_text, sizeof(code_text), "%lld/%lld", code, sub);
    else
        snprintf(code_text, sizeof(code_text), "%lld", code);

    if (is_rate_limit_code(code)) {
        int64_t wait = fb_usage_wait_ms(res);
        long long ra =
            ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
        if (ra > wait) wait = ra;
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code_text, "rate limited by Facebook: %s",
                     msg);
        r->retry_after_ms = wait > 0 ? wait : FACEBOOK_RATE_LIMIT_DEFAULT_MS;
    } else if (code == 190 || code == 102 || code == 104) {
        ap_flow_fail(r, AP_CLASS_REAUTH, res->status, code_text,
                     "the page's access token is invalid or expired; reconnect the account: %s",
                     msg);
    } else if (code == 10 || (code >= 200 && code <= 299)) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code_text,
                     "missing permission; reconnect the page granting pages_manage_posts: %s", msg);
    } else if (code == 506) {
        ap_flow_fail(r, AP_CLASS_DUPLICATE, res->status, code_text,
                     "Facebook rejected the post as a duplicate of a recent one: %s", msg);
    } else if (transient || code == 1 || code == 2 || res->status >= 500 || res->status == 429) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code_text, "Facebook error: %s", msg);
        long long ra =
            ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
        r->retry_after_ms = ra > 0 ? ra : 0;
    } else {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code_text, "Facebook refused the post: %s",
                     msg);
    }
    json_decref(root);
}

static void fb_transport_error(const ap_http_response *res, ap_flow_result *r) {
    if (res->request_sent)
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, 0, "transport",
                     "no answer after the request was sent (%s): the post may be live",
                     res->transport_message);
    else
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "transport", "request not sent: %s",
                     res->transport_message);
}

static void fb_parse_publish(const ap_flow_input *in, const ap_http_response *res,
                             ap_flow_result *r) {
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    /* /photos answers {"id": photo, "post_id": post}; /feed answers {"id": post}. */
    json_t *id = root ? json_object_get(root, "post_id") : NULL;
    if (!json_is_string(id)) id = root ? json_object_get(root, "id") : NULL;
    if (json_is_string(id) && json_string_length(id) > 0 && json_string_length(id) < 120) {
        r->error_class = AP_CLASS_NONE;
        r->http_status = res->status;
        snprintf(r->external_id, sizeof(r->external_id), "%s", json_string_value(id));
        snprintf(r->external_url, sizeof(r->external_url), "https://www.facebook.com/%s",
                 r->external_id);
    } else {
        /* 200 without an id: the post may exist; don't repost blindly. */
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "no_id",
                     "Facebook answered %ld without a post id", res->status);
    }
    json_decref(root);
}

/* Keeps paging.next for the next read-back request, but only when it points
 * back at the configured API: the request carries the page's token. */
static void fb_remember_next_page(fb_flow *f, const ap_flow_input *in, json_t *root) {
    free(f->next_page);
    f->next_page = NULL;
    json_t *next = json_object_get(json_object_get(root, "paging"), "next");
    const char *base = in->platform->base_url;
    if (!json_is_string(next) || json_string_length(next) > 2048) return;
    const char *url = json_string_value(next);
    size_t n = strlen(base);
    if (strncmp(url, base, n) == 0 && url[n] == '/') f->next_page = strdup(url);
}

static void fb_parse_verify(fb_flow *f, const ap_flow_input *in, const ap_http_response *res,
                            ap_flow_result *r) {
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    json_t *data = root ? json_object_get(root, "data") : NULL;
    char *message = fb_message(in->job);
    if (!json_is_array(data) || message == NULL) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_unreadable",
                     "could not read the page feed to check whether the post went live");
        goto cleanup;
    }
    if (*message == '\0') {
        /* Feed items without text carry no "message": we could never match
         * one, and "not found" would let the runtime post a second time. */
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_no_text",
                     "a post without text cannot be looked up on the page feed");
        goto cleanup;
    }
    size_t i;
    json_t *item;
    json_array_foreach(data, i, item) {
        json_t *m = json_object_get(item, "message"), *id = json_object_get(item, "id");
        if (json_is_string(m) && json_is_string(id) && strcmp(json_string_value(m), message) == 0 &&
            json_string_length(id) > 0 && json_string_length(id) < 120) {
            r->error_class = AP_CLASS_NONE;
            r->http_status = res->status;
            snprintf(r->external_id, sizeof(r->external_id), "%s", json_string_value(id));
            snprintf(r->external_url, sizeof(r->external_url), "https://www.facebook.com/%s",
                     r->external_id);
            goto cleanup;
        }
    }
    fb_remember_next_page(f, in, root);
    r->not_found = true;
    ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_not_found",
                 "post not found on the page");
cleanup:
    free(message);
    json_decref(root);
}

static ap_step_kind fb_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                            ap_http_request *req, int64_t *wait_ms, ap_flow_result *result) {
    fb_flow *f = state;
    if (prev == NULL) {
        int rc = in->mode == AP_FLOW_VERIFY ? fb_build_verify(in, req) : fb_build_publish(in, req);
        if (rc != 0) {
            ap_flow_fail(result, AP_CLASS_RETRY, 0, "internal", "could not build the request");
            return AP_STEP_DONE;
        }
        f->calls++;
        return AP_STEP_REQUEST;
    }
    if (prev->transport_error != 0) {
        fb_transport_error(prev, result);
        if (in->mode == AP_FLOW_VERIFY) result->error_class = AP_CLASS_AMBIGUOUS;
    } else if (prev->status >= 200 && prev->status < 300) {
        if (in->mode == AP_FLOW_VERIFY) {
            fb_parse_verify(f, in, prev, result);
            /* Not on this page of the feed: look at older items before
             * concluding that the post is absent. */
            if (result->not_found && f->next_page && f->calls < FACEBOOK_VERIFY_MAX_PAGES) {
                memset(result, 0, sizeof(*result));
                ap_http_request_init(req, "GET");
                req->url = f->next_page;
                f->next_page = NULL;
                if (fb_auth_header(req, in->token) != 0) {
                    ap_flow_fail(result, AP_CLASS_AMBIGUOUS, 0, "internal",
                                 "could not build the read-back request");
                    return AP_STEP_DONE;
                }
                f->calls++;
                return AP_STEP_REQUEST;
            }
            if (result->not_found && f->next_page) {
                /* Ran out of pages to check: we cannot say it is absent. */
                result->not_found = false;
                ap_flow_fail(result, AP_CLASS_AMBIGUOUS, prev->status, "verify_too_many",
                             "too many posts on the page since the lost attempt to be sure");
            }
        } else {
            fb_parse_publish(in, prev, result);
        }
    } else {
        fb_classify_error(prev, result);
    }
    return AP_STEP_DONE;
}

const ap_adapter ap_adapter_facebook = {
    .name = "facebook",
    .validate = fb_validate,
    .flow_new = fb_flow_new,
    .step = fb_step,
    .flow_free = fb_flow_free,
};
