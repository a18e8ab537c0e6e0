/* graph_comment.c -- see graph_comment.h. */
#include "graph_comment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_utf8.h"
#include "graph.h"

typedef struct comment_platform {
    ap_graph_names names;
    const char *text_field; /* of a listed comment: "message" | "text" */
    const char *time_field; /* "created_time" | "timestamp" */
} comment_platform;

static const comment_platform fb_comments = {
    {"Facebook", "pages_manage_engagement"}, "message", "created_time"};
static const comment_platform ig_comments = {
    {"Instagram", "instagram_manage_comments"}, "text", "timestamp"};

typedef struct comment_flow {
    const comment_platform *pf;
    bool sent;
} comment_flow;

/* Instagram caps a comment at 2,200 characters (its caption limit); the
 * same bound for Facebook keeps one rule for both. */
#define COMMENT_MAX_CHARS 2200

static bool comment_validate(const ap_job *job, char *reason, size_t len) {
    long chars = job->text ? ap_utf8_length(job->text) : 0;
    if (chars < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (chars == 0 || chars > COMMENT_MAX_CHARS) {
        snprintf(reason, len, "a comment takes 1 to %d characters, not %ld", COMMENT_MAX_CHARS,
                 chars);
        return false;
    }
    return true;
}

static void *comment_new(const comment_platform *pf) {
    comment_flow *f = calloc(1, sizeof(*f));
    if (f) f->pf = pf;
    return f;
}
static void *fb_comment_new(const ap_flow_input *in) { return comment_new(&fb_comments); }
static void *ig_comment_new(const ap_flow_input *in) { return comment_new(&ig_comments); }
static void comment_free(void *state) { free(state); }

/* Our comment among the post's: same text, made since the attempt began
 * (a minute of slack for clocks). One page of 100 is the post's newest
 * comments on both platforms: more than that and we cannot say "absent". */
static void comment_find(const comment_flow *f, const ap_flow_input *in,
                         const ap_http_response *res, ap_flow_result *r) {
    json_t *root = ap_graph_parse_object(res), *data = json_object_get(root, "data"), *item;
    size_t i;
    if (!json_is_array(data)) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_unreadable",
                     "could not read the post's comments to check whether ours went live");
        json_decref(root);
        return;
    }
    json_array_foreach(data, i, item) {
        json_t *t = json_object_get(item, f->pf->text_field);
        json_t *ts = json_object_get(item, f->pf->time_field);
        const char *id = ap_graph_id(item, "id");
        int64_t at = json_is_string(ts) ? ap_graph_time_ms(json_string_value(ts)) : -1;
        if (id == NULL || !json_is_string(t) || strcmp(json_string_value(t), in->job->text) != 0)
            continue;
        if (at >= 0 && at < in->since_ms - 60 * 1000) continue; /* an older one, not ours */
        ap_flow_comment_found(r, res->status, id, at);
        json_decref(root);
        return;
    }
    bool more = json_object_get(json_object_get(root, "paging"), "next") != NULL;
    json_decref(root);
    ap_flow_comment_not_found(r, res->status, more);
}

static ap_step_kind comment_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                                 ap_http_request *req, int64_t *wait_ms, ap_flow_result *r) {
    comment_flow *f = state;
    bool verify = in->mode == AP_FLOW_VERIFY;
    const ap_platform_config *p = in->platform;
    if (in->reply_to == NULL || *in->reply_to == '\0') {
        ap_flow_fail(r, AP_CLASS_PERMANENT, 0, "internal", "a comment needs the post's id");
        return AP_STEP_DONE;
    }
    if (prev == NULL && !f->sent) {
        int rc;
        f->sent = true;
        if (verify) {
            char fields[64];
            snprintf(fields, sizeof(fields), "id,%s,%s", f->pf->text_field, f->pf->time_field);
            rc = ap_graph_request(req, "GET", in->token, NULL,
                                  "%s/%s/%s/comments?fields=%s&limit=100", p->base_url,
                                  p->api_version, in->reply_to, fields);
        } else {
            const char *pairs[] = {"message", in->job->text, NULL};
            rc = ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/comments", p->base_url,
                                  p->api_version, in->reply_to);
            req->once = true; /* makes a public comment: never resent below us */
        }
        if (rc != 0) {
            ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "could not build the request");
            return AP_STEP_DONE;
        }
        return AP_STEP_REQUEST;
    }
    if (prev == NULL) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "comment flow stepped without an answer");
        return AP_STEP_DONE;
    }
    if (prev->transport_error != 0) {
        ap_flow_transport_error(prev, true, r);
        if (verify) r->error_class = AP_CLASS_AMBIGUOUS;
    } else if (prev->status >= 200 && prev->status < 300 && verify) {
        comment_find(f, in, prev, r);
    } else if (prev->status >= 200 && prev->status < 300) {
        json_t *root = ap_graph_parse_object(prev);
        const char *id = ap_graph_id(root, "id");
        if (id) {
            r->error_class = AP_CLASS_NONE;
            r->http_status = prev->status;
            snprintf(r->external_id, sizeof(r->external_id), "%s", id);
        } else {
            /* Graph took it (2xx) but named nothing: read back, never resend. */
            ap_flow_fail(r, AP_CLASS_AMBIGUOUS, prev->status, "no_id",
                         "%s answered the comment without an id", f->pf->names.platform);
        }
        json_decref(root);
    } else {
        ap_graph_classify_error(prev, &f->pf->names, !verify, r);
        if (verify && r->error_class != AP_CLASS_REAUTH) r->error_class = AP_CLASS_AMBIGUOUS;
    }
    return AP_STEP_DONE;
}

const ap_adapter ap_adapter_facebook_comment = {
    .name = "facebook",
    .validate = comment_validate,
    .flow_new = fb_comment_new,
    .step = comment_step,
    .flow_free = comment_free,
};

const ap_adapter ap_adapter_instagram_comment = {
    .name = "instagram",
    .validate = comment_validate,
    .flow_new = ig_comment_new,
    .step = comment_step,
    .flow_free = comment_free,
};
