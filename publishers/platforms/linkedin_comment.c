/* linkedin_comment.c -- a post's first comment on LinkedIn (chain.h): a
 * comment by the post's author on the live post, through the Community
 * Management API's social actions.
 *
 *   POST {base}/rest/socialActions/{post urn}/comments
 *        {"actor": <author urn>, "object": <post urn>, "message": {"text"}}
 *        -> 201 {"id", "$URN", ...}
 *   GET  {base}/rest/socialActions/{post urn}/comments?count=100
 *        -> {"elements": [{"id", "message": {"text"}, "created": {"time"}}]}
 *
 * The comment's "id" (digits) is its external id: its "$URN" holds a comma,
 * which the chain's id list keeps for separating ids. The POST is a `once`
 * request; a 5xx or no answer after it is ambiguous and read back among the
 * post's comments (our text, made since the attempt began). Errors are
 * classified as for a post (ap_linkedin_classify_error). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_utf8.h"
#include "linkedin.h"

#define LI_COMMENT_MAX_CHARS 1250 /* LinkedIn's limit for a comment */
#define LI_COMMENT_PAGE 100

typedef struct li_comment_flow {
    bool sent;
} li_comment_flow;

static bool lic_validate(const ap_job *job, char *reason, size_t len) {
    long chars = job->text ? ap_utf8_length(job->text) : 0;
    if (chars < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (chars == 0 || chars > LI_COMMENT_MAX_CHARS) {
        snprintf(reason, len, "a LinkedIn comment takes 1 to %d characters, not %ld",
                 LI_COMMENT_MAX_CHARS, chars);
        return false;
    }
    return true;
}

static void *lic_new(const ap_flow_input *in) { return calloc(1, sizeof(li_comment_flow)); }
static void lic_free(void *state) { free(state); }

static int lic_build(const ap_flow_input *in, ap_http_request *req) {
    bool verify = in->mode == AP_FLOW_VERIFY;
    char url[1024];
    char *urn = ap_http_urlencode(in->reply_to);
    ap_http_request_init(req, verify ? "GET" : "POST");
    if (urn == NULL) return -1;
    int n = snprintf(url, sizeof(url), "%s/rest/socialActions/%s/comments%s",
                     in->platform->base_url, urn, verify ? "?count=100" : "");
    free(urn);
    if (n < 0 || (size_t)n >= sizeof(url) || (req->url = strdup(url)) == NULL) return -1;
    if (!verify) {
        req->once = true; /* a public comment: never resent below us */
        json_t *body = json_pack("{s:s,s:s,s:{s:s}}", "actor", in->job->account_external_id,
                                 "object", in->reply_to, "message", "text", in->job->text);
        req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (req->body == NULL) return -1;
        req->body_len = strlen(req->body);
        if (ap_http_request_add_header(req, "Content-Type", "application/json") != 0) return -1;
    }
    return ap_linkedin_headers(req, in);
}

static const char *lic_id(json_t *obj) {
    json_t *id = json_object_get(obj, "id");
    const char *s = json_is_string(id) ? json_string_value(id) : NULL;
    return s && *s && strlen(s) < 64 && strspn(s, "0123456789") == strlen(s) ? s : NULL;
}

static void lic_find(const ap_flow_input *in, const ap_http_response *res, ap_flow_result *r) {
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL), *item;
    json_t *elements = json_object_get(root, "elements");
    size_t i;
    if (!json_is_array(elements)) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_unreadable",
                     "could not read the post's comments to check whether ours went live");
        json_decref(root);
        return;
    }
    json_array_foreach(elements, i, item) {
        json_t *t = json_object_get(json_object_get(item, "message"), "text");
        json_t *at = json_object_get(json_object_get(item, "created"), "time");
        const char *id = lic_id(item);
        int64_t ms = json_is_integer(at) ? (int64_t)json_integer_value(at) : -1;
        if (id == NULL || !json_is_string(t) || strcmp(json_string_value(t), in->job->text) != 0)
            continue;
        if (ms >= 0 && ms < in->since_ms - 60 * 1000) continue; /* older: not ours */
        ap_flow_comment_found(r, res->status, id, ms);
        json_decref(root);
        return;
    }
    bool more = json_array_size(elements) >= LI_COMMENT_PAGE;
    json_decref(root);
    ap_flow_comment_not_found(r, res->status, more);
}

static ap_step_kind lic_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                             ap_http_request *req, int64_t *wait_ms, ap_flow_result *r) {
    li_comment_flow *f = state;
    bool verify = in->mode == AP_FLOW_VERIFY;
    if (in->reply_to == NULL || !ap_linkedin_urn_ok(in->reply_to)) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, 0, "internal", "a comment needs the post's URN");
        return AP_STEP_DONE;
    }
    if (prev == NULL) {
        if (f->sent || lic_build(in, req) != 0) {
            ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "could not build the request");
            return AP_STEP_DONE;
        }
        f->sent = true;
        return AP_STEP_REQUEST;
    }
    if (prev->transport_error != 0) {
        ap_flow_transport_error(prev, true, r);
        if (verify) r->error_class = AP_CLASS_AMBIGUOUS;
    } else if (prev->status >= 200 && prev->status < 300 && verify) {
        lic_find(in, prev, r);
    } else if (prev->status >= 200 && prev->status < 300) {
        json_t *root = json_loadb(prev->body ? prev->body : "", prev->body_len, 0, NULL);
        const char *id = lic_id(root);
        if (id) {
            r->error_class = AP_CLASS_NONE;
            r->http_status = prev->status;
            snprintf(r->external_id, sizeof(r->external_id), "%s", id);
        } else {
            ap_flow_fail(r, AP_CLASS_AMBIGUOUS, prev->status, "no_id",
                         "LinkedIn answered the comment without an id");
        }
        json_decref(root);
    } else {
        ap_linkedin_classify_error(in, prev, !verify, r);
        if (verify && r->error_class != AP_CLASS_REAUTH) r->error_class = AP_CLASS_AMBIGUOUS;
    }
    return AP_STEP_DONE;
}

const ap_adapter ap_adapter_linkedin_comment = {
    .name = "linkedin",
    .validate = lic_validate,
    .flow_new = lic_new,
    .step = lic_step,
    .flow_free = lic_free,
};
