/* facebook.c -- Facebook Pages through the Graph API.
 *
 * Publish:
 *   text/link   POST {base}/{version}/{page-id}/feed    message, link  -> {"id"}
 *   one photo   POST {base}/{version}/{page-id}/photos  url, caption   -> {"id","post_id"}
 *   2+ photos   POST .../{page-id}/photos url, published=false         -> {"id"} per photo,
 *               then POST .../{page-id}/feed message,
 *                    attached_media=[{"media_fbid":"<id>"},...]         -> {"id"}
 * Only the last call of a flow publishes: an unpublished photo whose answer
 * is lost is not a post (it is retried), a lost final answer is ambiguous.
 *   one video   the resumable upload and its finish (facebook_video.c): a page
 *               video on POST /{page-id}/videos, or with "format": "reel" a
 *               reel on POST /{page-id}/video_reels; finish publishes, and a
 *               lost finish is read back there by the video id
 * Verify (a previous attempt died after sending):
 *   GET {base}/{version}/{page-id}/feed?fields=id,message,created_time&since=T
 *   and look for our message; Facebook itself rejects an identical message
 *   on the same page (error 506), so text equality identifies our post. A
 *   video or reel shows in the feed with its description as the message.
 *
 * Errors are classified by the shared Graph rules (graph.h). A 5xx to the
 * publishing call stays a retry here, as before: Facebook's feed answers
 * 5xx only before it stores the post, in our experience of the API, and the
 * duplicate check (506) stops a double post if that ever changes.
 * The token goes in the Authorization header, never in a URL we might log. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "ap_utf8.h"
#include "facebook_video.h"
#include "graph.h"
#include "graph_comment.h"

#define FACEBOOK_MAX_TEXT 63206 /* characters in a Page post */
#define FACEBOOK_MAX_MEDIA 10   /* photos in one multi-photo post (attached_media) */

#define FACEBOOK_VERIFY_MAX_PAGES 20 /* 20 x 100 feed items since the lost attempt */

static const ap_graph_names fb_names = {"Facebook", "pages_manage_posts"};

typedef struct fb_flow {
    int calls;       /* requests sent so far in this flow */
    char *next_page; /* AP_FLOW_VERIFY: the feed's paging.next, when there is more */
    /* Multi-photo: ids of the unpublished photos uploaded so far. */
    size_t nphotos;
    char photo_ids[FACEBOOK_MAX_MEDIA][128];
    ap_fb_video *video; /* the job's video or reel; NULL otherwise */
} fb_flow;

static bool fb_is_video(const Autopost__V1__Media *m) {
    return m->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
}

/* What a video or a reel needs: one video, alone. */
static bool fb_validate_video(const ap_job *job, char *reason, size_t len) {
    ap_format format = AP_FORMAT_FEED;
    if (!ap_job_format(job, &format, reason, len)) return false;
    size_t videos = 0;
    for (size_t i = 0; i < job->n_media; i++) videos += fb_is_video(job->media[i]);
    if (format == AP_FORMAT_REEL && (job->n_media != 1 || videos != 1)) {
        snprintf(reason, len, "format reel takes exactly one video");
        return false;
    }
    if (videos > 0 && job->n_media > 1) {
        snprintf(reason, len, "Facebook takes up to %d photos or one video, not several or mixed",
                 FACEBOOK_MAX_MEDIA);
        return false;
    }
    if (videos > 0 && job->link && *job->link) {
        snprintf(reason, len, "a Facebook video cannot carry a link; put it in the text");
        return false;
    }
    return true;
}

static bool fb_validate(const ap_job *job, char *reason, size_t len) {
    if (!ap_validate_common(job, FACEBOOK_MAX_MEDIA, reason, len)) return false;
    long chars = ap_utf8_length(job->text ? job->text : "");
    if (chars < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (chars > FACEBOOK_MAX_TEXT) {
        snprintf(reason, len, "text has %ld characters; Facebook allows at most %d", chars,
                 FACEBOOK_MAX_TEXT);
        return false;
    }
    if (!fb_validate_video(job, reason, len)) return false;
    if (job->account_external_id == NULL || *job->account_external_id == '\0' ||
        strpbrk(job->account_external_id, "/?#&% ") != NULL) {
        snprintf(reason, len, "account has no valid Facebook page id");
        return false;
    }
    return true;
}

static void fb_flow_free(void *state) {
    fb_flow *f = state;
    if (f) {
        free(f->next_page);
        ap_fb_video_free(f->video);
    }
    free(f);
}

static void *fb_flow_new(const ap_flow_input *in) {
    fb_flow *f = calloc(1, sizeof(fb_flow));
    const ap_job *job = in->job;
    ap_format format = AP_FORMAT_FEED;
    char reason[8];
    if (f && in->mode == AP_FLOW_PUBLISH && job->n_media == 1 && fb_is_video(job->media[0])) {
        bool reel = ap_job_format(job, &format, reason, sizeof(reason)) && format == AP_FORMAT_REEL;
        f->video = ap_fb_video_new(0, reel, (size_t)in->platform->media_chunk_bytes);
        if (f->video == NULL) {
            fb_flow_free(f);
            return NULL;
        }
    }
    return f;
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

static bool fb_multi_photo(const ap_job *job) { return job->n_media >= 2; }

/* The next unpublished photo of a multi-photo post. */
static int fb_build_photo_upload(const ap_flow_input *in, fb_flow *f, ap_http_request *req) {
    const ap_platform_config *p = in->platform;
    const char *pairs[] = {"url", in->job->media[f->nphotos]->url, "published", "false", NULL};
    return ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/photos", p->base_url,
                            p->api_version, in->job->account_external_id);
}

/* attached_media=[{"media_fbid":"1"},...] from the uploaded photos. */
static char *fb_attached_media(const fb_flow *f) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < f->nphotos; i++) {
        if (json_array_append_new(arr, json_pack("{s:s}", "media_fbid", f->photo_ids[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return text;
}

static int fb_build_publish(const ap_flow_input *in, fb_flow *f, ap_http_request *req) {
    const ap_job *job = in->job;
    const ap_platform_config *p = in->platform;
    int rc;
    if (fb_multi_photo(job) && f->nphotos < job->n_media) return fb_build_photo_upload(in, f, req);
    char *message = fb_message(job);
    if (message == NULL) return -1;
    const char *msg = *message ? message : NULL;
    if (fb_multi_photo(job)) {
        char *attached = fb_attached_media(f);
        const char *pairs[] = {"message", msg, "attached_media", attached, NULL};
        rc = attached ? ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/feed",
                                         p->base_url, p->api_version, job->account_external_id)
                      : -1;
        free(attached);
    } else if (job->n_media == 1) {
        const char *pairs[] = {"url", job->media[0]->url, "caption", msg, NULL};
        rc = ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/photos", p->base_url,
                              p->api_version, job->account_external_id);
    } else {
        const char *pairs[] = {"message", msg, "link", (job->link && *job->link) ? job->link : NULL,
                               NULL};
        rc = ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/feed", p->base_url,
                              p->api_version, job->account_external_id);
    }
    free(message);
    req->once = true; /* the post itself: never resent below us */
    return rc;
}

static int fb_build_verify(const ap_flow_input *in, ap_http_request *req) {
    /* A minute of slack for clock skew between us and the platform. */
    long long since = (in->since_ms / 1000) - 60;
    return ap_graph_request(req, "GET", in->token, NULL,
                            "%s/%s/%s/feed?fields=id,message,created_time&since=%lld&limit=100",
                            in->platform->base_url, in->platform->api_version,
                            in->job->account_external_id, since > 0 ? since : 0);
}

/* The publishing call is the flow's last: the only one whose lost answer
 * may mean a live post. */
static bool fb_at_publish_step(const ap_flow_input *in, const fb_flow *f) {
    return !fb_multi_photo(in->job) || f->nphotos == in->job->n_media;
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
    f->next_page = ap_graph_next_page(root, in->platform->base_url);
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

/* An unpublished photo's answer: remember its id and go on. Returns true
 * when the flow continues with the next request in req. */
static bool fb_photo_uploaded(fb_flow *f, const ap_flow_input *in, const ap_http_response *res,
                              ap_http_request *req, ap_flow_result *r) {
    json_t *root = ap_graph_parse_object(res);
    const char *id = ap_graph_id(root, "id");
    if (id == NULL) {
        /* Unpublished photos are not posts: trying again cannot double-post. */
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "no_id",
                     "Facebook answered %ld without a photo id for photo %zu", res->status,
                     f->nphotos + 1);
        json_decref(root);
        return false;
    }
    snprintf(f->photo_ids[f->nphotos], sizeof(f->photo_ids[0]), "%s", id);
    f->nphotos++;
    json_decref(root);
    if (fb_build_publish(in, f, req) != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "could not build the request");
        return false;
    }
    f->calls++;
    return true;
}

/* Not on this page of the feed: look at older items before concluding that
 * the post is absent. Returns true when another page is requested. */
static bool fb_verify_next(fb_flow *f, const ap_flow_input *in, long status, ap_http_request *req,
                           ap_flow_result *result) {
    if (!result->not_found || f->next_page == NULL) return false;
    if (f->calls >= FACEBOOK_VERIFY_MAX_PAGES) {
        /* Ran out of pages to check: we cannot say it is absent. */
        result->not_found = false;
        ap_flow_fail(result, AP_CLASS_AMBIGUOUS, status, "verify_too_many",
                     "too many posts on the page since the lost attempt to be sure");
        return false;
    }
    memset(result, 0, sizeof(*result));
    ap_http_request_init(req, "GET");
    req->url = f->next_page;
    f->next_page = NULL;
    if (ap_flow_bearer_header(req, in->token) != 0) {
        ap_flow_fail(result, AP_CLASS_AMBIGUOUS, 0, "internal",
                     "could not build the read-back request");
        return false;
    }
    f->calls++;
    return true;
}

static ap_step_kind fb_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                            ap_http_request *req, int64_t *wait_ms, ap_flow_result *result) {
    fb_flow *f = state;
    if (f->video) return ap_fb_video_step(f->video, in, prev, req, wait_ms, result);
    if (prev == NULL) {
        int rc =
            in->mode == AP_FLOW_VERIFY ? fb_build_verify(in, req) : fb_build_publish(in, f, req);
        if (rc != 0) {
            ap_flow_fail(result, AP_CLASS_RETRY, 0, "internal", "could not build the request");
            return AP_STEP_DONE;
        }
        f->calls++;
        return AP_STEP_REQUEST;
    }
    bool publish_step = in->mode == AP_FLOW_PUBLISH && fb_at_publish_step(in, f);
    if (prev->transport_error != 0) {
        ap_flow_transport_error(prev, publish_step, result);
        if (in->mode == AP_FLOW_VERIFY) result->error_class = AP_CLASS_AMBIGUOUS;
    } else if (prev->status >= 200 && prev->status < 300) {
        if (in->mode == AP_FLOW_VERIFY) {
            fb_parse_verify(f, in, prev, result);
            if (fb_verify_next(f, in, prev->status, req, result)) return AP_STEP_REQUEST;
        } else if (!publish_step) {
            if (fb_photo_uploaded(f, in, prev, req, result)) return AP_STEP_REQUEST;
        } else {
            fb_parse_publish(in, prev, result);
        }
    } else {
        ap_graph_classify_error(prev, &fb_names, publish_step, result);
    }
    return AP_STEP_DONE;
}

const ap_adapter ap_adapter_facebook = {
    .name = "facebook",
    .validate = fb_validate,
    .flow_new = fb_flow_new,
    .step = fb_step,
    .flow_free = fb_flow_free,
    .formats = AP_FORMAT_BIT(AP_FORMAT_REEL),
    .first_comments = true,
    .comment = &ap_adapter_facebook_comment,
};
