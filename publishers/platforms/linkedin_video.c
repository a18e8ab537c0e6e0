/* linkedin_video.c -- LinkedIn's video upload (Videos API) before a post.
 *
 * The steps (LinkedIn Videos API docs, versioned REST headers), one
 * request each:
 *   FETCH     GET <media URL>  Range: bytes=0-(C-1)               (no token sent)
 *               -> 206, Content-Range: bytes 0-L/TOTAL: the size (and type)
 *   INIT      POST {base}/rest/videos?action=initializeUpload
 *               {"initializeUploadRequest":{"owner","fileSizeBytes":TOTAL,
 *                "uploadCaptions":false,"uploadThumbnail":false}}
 *               -> {"value":{"video":urn:li:video:..,"uploadToken",
 *                   "uploadInstructions":[{"uploadUrl","firstByte","lastByte"}]}}
 *   for each instruction, in order:
 *     FETCH   GET <media URL>  Range: bytes=firstByte-lastByte
 *               (skipped when the bytes in hand are that part already)
 *     PUT     uploadUrl, the part's bytes (application/octet-stream)
 *               -> 2xx with an ETag header, kept in order
 *   FINALIZE  POST {base}/rest/videos?action=finalizeUpload
 *               {"finalizeUploadRequest":{"video","uploadToken","uploadedPartIds":[ETags]}}
 *   STATUS    GET {base}/rest/videos/{urn, URL-encoded} after a wait, until
 *               "status" is AVAILABLE (WAITING_UPLOAD, PROCESSING: wait more;
 *               PROCESSING_FAILED: the post fails)
 * and then the post (linkedin.c) carries content.media.id = the video URN.
 *
 * One part in memory at a time: the ranged reads are chunked.c's (the
 * outbound policy on each read, a host that ignores Range refused, the
 * size checked on every answer), and a part larger than
 * AP_LI_VIDEO_MAX_PART is refused instead of buffered. The upload URLs are
 * checked twice: they must be LinkedIn's (or the configured API's) before
 * they get our token, and each PUT goes through the outbound policy like a
 * media download (outside_url), so an answer naming a private address
 * reaches nothing.
 *
 * Retries: nothing here is public, so no answer is ambiguous. A PUT,
 * finalize or status call that gets no answer or a 5xx is sent again in
 * this flow (a PUT with the same part's bytes, to the same URL: the part is
 * stored once, whichever send landed), up to LV_MAX_SENDS times with a
 * short backoff, then the job is retried from the start. An upload URL that
 * answers 403 or 404 has expired: a new upload from initializeUpload, at
 * most LV_MAX_RESTARTS times. Processing that fails ends the post as
 * permanent: the post is never sent. */
#include "linkedin_video.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_time.h"
#include "ap_url.h"
#include "chunked.h"
#include "linkedin.h"

#define LV_MAX_SENDS 4    /* one PUT/finalize/status call, first send included */
#define LV_MAX_RESTARTS 2 /* fresh uploads after expired upload URLs */
#define LV_MAX_POLLS 180  /* status calls before "LinkedIn is too slow", retried later */
#define LV_POLL_MS 1000   /* the first wait; grows by LV_POLL_MS every 5 polls */
#define LV_POLL_MAX_MS 10000
#define LV_BACKOFF_MS 500
#define LV_BACKOFF_MAX_MS 30000
#define LV_ETAG_MAX 256

struct ap_li_video {
    ap_li_video_state state;
    size_t index; /* which of the job's media */
    size_t first_read;
    ap_chunk_reader rd; /* the file's size and the bytes in hand */
    ap_li_video_upload up;
    char **etags; /* per part, in order; NULL until its PUT succeeded */
    size_t part;  /* the part being read or sent */
    int sends;    /* of the current PUT/finalize/status call */
    int restarts;
    int polls;
};

/* ---- parsers ---------------------------------------------------------------- */

void ap_li_video_upload_clear(ap_li_video_upload *u) {
    for (size_t i = 0; i < u->nparts; i++) free(u->parts[i].url);
    free(u->parts);
    free(u->token);
    memset(u, 0, sizeof(*u));
}

static bool lv_byte_ok(json_t *n) {
    return json_is_integer(n) && json_integer_value(n) >= 0 &&
           json_integer_value(n) < (json_int_t)1 << 40;
}

static int lv_parse_part(json_t *item, ap_li_video_part *p) {
    json_t *url = json_object_get(item, "uploadUrl");
    json_t *first = json_object_get(item, "firstByte"), *last = json_object_get(item, "lastByte");
    if (!json_is_string(url) || json_string_length(url) == 0 ||
        json_string_length(url) > AP_URL_MAX || !lv_byte_ok(first) || !lv_byte_ok(last) ||
        json_integer_value(first) > json_integer_value(last))
        return -1;
    p->first = (int64_t)json_integer_value(first);
    p->last = (int64_t)json_integer_value(last);
    p->url = strdup(json_string_value(url));
    return p->url ? 0 : -1;
}

int ap_li_video_parse_init(const char *body, size_t len, ap_li_video_upload *u) {
    memset(u, 0, sizeof(*u));
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *value = json_object_get(root, "value");
    json_t *video = json_object_get(value, "video"), *token = json_object_get(value, "uploadToken");
    json_t *list = json_object_get(value, "uploadInstructions");
    int rc = -1;
    if (!json_is_string(video) || !ap_linkedin_urn_ok(json_string_value(video)) ||
        strncmp(json_string_value(video), "urn:li:video:", 13) != 0 || !json_is_array(list) ||
        json_array_size(list) == 0 || json_array_size(list) > AP_LI_VIDEO_MAX_PARTS ||
        (token != NULL && (!json_is_string(token) || json_string_length(token) > 4096)))
        goto cleanup;
    snprintf(u->video, sizeof(u->video), "%s", json_string_value(video));
    u->token = strdup(token ? json_string_value(token) : "");
    u->parts = calloc(json_array_size(list), sizeof(*u->parts));
    if (u->token == NULL || u->parts == NULL) goto cleanup;
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (lv_parse_part(json_array_get(list, i), &u->parts[i]) != 0) goto cleanup;
        u->nparts = i + 1;
    }
    rc = 0;
cleanup:
    if (rc != 0) {
        u->nparts = u->parts ? json_array_size(list) : 0; /* free every url set */
        ap_li_video_upload_clear(u);
    }
    json_decref(root);
    return rc;
}

/* ---- the flow -------------------------------------------------------------- */

ap_li_video *ap_li_video_new(size_t index, size_t first_read) {
    ap_li_video *v = calloc(1, sizeof(*v));
    if (v == NULL) return NULL;
    v->index = index;
    v->first_read = first_read > 0 ? first_read : 4 * 1024 * 1024;
    if (v->first_read > AP_LI_VIDEO_MAX_PART) v->first_read = AP_LI_VIDEO_MAX_PART;
    ap_chunk_reader_init(&v->rd, index, "video");
    v->state = AP_LV_FETCH;
    return v;
}

static void lv_forget_upload(ap_li_video *v) {
    for (size_t i = 0; v->etags && i < v->up.nparts; i++) free(v->etags[i]);
    free(v->etags);
    v->etags = NULL;
    ap_li_video_upload_clear(&v->up);
    v->part = 0;
}

void ap_li_video_free(ap_li_video *v) {
    if (v) {
        lv_forget_upload(v);
        ap_chunk_reader_drop(&v->rd);
    }
    free(v);
}

ap_li_video_state ap_li_video_state_of(const ap_li_video *v) { return v->state; }

const char *ap_li_video_urn(const ap_li_video *v) {
    return v->state == AP_LV_READY ? v->up.video : "";
}

/* ---- requests ---- */

static const ap_li_video_part *lv_part(const ap_li_video *v) { return &v->up.parts[v->part]; }

static size_t lv_part_size(const ap_li_video_part *p) { return (size_t)(p->last - p->first + 1); }

static int lv_build_fetch(const ap_flow_input *in, const ap_li_video *v, ap_http_request *req) {
    const char *url = in->job->media[v->index]->url;
    if (v->up.nparts == 0) return ap_chunk_build_fetch(&v->rd, url, 0, v->first_read, req);
    return ap_chunk_build_fetch(&v->rd, url, lv_part(v)->first, lv_part_size(lv_part(v)), req);
}

static int lv_post_json(const ap_flow_input *in, const char *action, json_t *body,
                        ap_http_request *req) {
    char url[1024];
    int n = snprintf(url, sizeof(url), "%s/rest/videos?action=%s", in->platform->base_url, action);
    ap_http_request_init(req, "POST");
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (n < 0 || (size_t)n >= sizeof(url) || req->body == NULL || (req->url = strdup(url)) == NULL)
        return -1;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/json") != 0) return -1;
    return ap_linkedin_headers(req, in);
}

static int lv_build_init(const ap_flow_input *in, const ap_li_video *v, ap_http_request *req) {
    json_t *body = json_pack("{s:{s:s,s:I,s:b,s:b}}", "initializeUploadRequest", "owner",
                             in->job->account_external_id, "fileSizeBytes", (json_int_t)v->rd.total,
                             "uploadCaptions", 0, "uploadThumbnail", 0);
    return lv_post_json(in, "initializeUpload", body, req);
}

static int lv_build_put(const ap_flow_input *in, const ap_li_video *v, ap_http_request *req) {
    ap_http_request_init(req, "PUT");
    /* A LinkedIn host (checked when the instructions came), and still
     * through the outbound policy on every address it resolves to. */
    req->outside_url = true;
    req->url = strdup(lv_part(v)->url);
    req->body = malloc(v->rd.len + 1);
    if (req->url == NULL || req->body == NULL) return -1;
    memcpy(req->body, v->rd.bytes, v->rd.len);
    req->body[v->rd.len] = '\0';
    req->body_len = v->rd.len;
    if (ap_http_request_add_header(req, "Content-Type", "application/octet-stream") != 0) return -1;
    return ap_flow_bearer_header(req, in->token);
}

static int lv_build_finalize(const ap_flow_input *in, const ap_li_video *v, ap_http_request *req) {
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < v->up.nparts; i++)
        if (json_array_append_new(ids, json_string(v->etags[i])) != 0) {
            json_decref(ids);
            ids = NULL;
        }
    json_t *body = ids ? json_pack("{s:{s:s,s:s,s:o}}", "finalizeUploadRequest", "video",
                                   v->up.video, "uploadToken", v->up.token, "uploadedPartIds", ids)
                       : NULL;
    return lv_post_json(in, "finalizeUpload", body, req);
}

static int lv_build_status(const ap_flow_input *in, const ap_li_video *v, ap_http_request *req) {
    char url[1024];
    char *urn = ap_http_urlencode(v->up.video);
    ap_http_request_init(req, "GET");
    if (urn == NULL) return -1;
    int n = snprintf(url, sizeof(url), "%s/rest/videos/%s", in->platform->base_url, urn);
    free(urn);
    if (n < 0 || (size_t)n >= sizeof(url) || (req->url = strdup(url)) == NULL) return -1;
    return ap_linkedin_headers(req, in);
}

static int lv_build(const ap_flow_input *in, const ap_li_video *v, ap_http_request *req) {
    switch (v->state) {
    case AP_LV_FETCH: return lv_build_fetch(in, v, req);
    case AP_LV_INIT: return lv_build_init(in, v, req);
    case AP_LV_PUT: return lv_build_put(in, v, req);
    case AP_LV_FINALIZE: return lv_build_finalize(in, v, req);
    case AP_LV_STATUS: return lv_build_status(in, v, req);
    case AP_LV_READY:
    case AP_LV_FAILED:
    default: return -1;
    }
}

/* ---- answers ---- */

/* LinkedIn takes MP4 (Videos API docs). */
static bool lv_type_ok(const char *type) {
    if (type == NULL) return false;
    size_t n = strcspn(type, "; ");
    return n == 9 && strncasecmp(type, "video/mp4", 9) == 0;
}

/* The bytes in hand are exactly the current part: nothing to read again. */
static bool lv_holding_part(const ap_li_video *v) {
    const ap_li_video_part *p = lv_part(v);
    return v->rd.bytes != NULL && v->rd.first == p->first && v->rd.len == lv_part_size(p);
}

static ap_flow_next lv_next_part(ap_li_video *v) {
    v->sends = 0;
    if (v->part == v->up.nparts) {
        v->state = AP_LV_FINALIZE;
        return AP_NEXT_REQUEST;
    }
    v->state = lv_holding_part(v) ? AP_LV_PUT : AP_LV_FETCH;
    return AP_NEXT_REQUEST;
}

static ap_flow_next lv_take_fetch(ap_li_video *v, const ap_http_response *res, ap_flow_result *r) {
    bool first = v->up.nparts == 0;
    if (!ap_chunk_take(&v->rd, res, first ? 0 : lv_part(v)->first, r)) return AP_NEXT_DONE;
    if (first) {
        /* The first read tells the size and type: LinkedIn's limits now,
         * before LinkedIn hears of the upload. */
        const char *type = ap_http_response_header(res, "content-type");
        if (!lv_type_ok(type))
            return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_type",
                                 "the video's URL does not serve video/mp4 (%.40s)",
                                 type ? type : "no Content-Type");
        if (v->rd.total > AP_LI_VIDEO_MAX_BYTES)
            return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_too_large",
                                 "the video is larger than LinkedIn's limit of %lld bytes",
                                 (long long)AP_LI_VIDEO_MAX_BYTES);
        v->state = AP_LV_INIT;
        return AP_NEXT_REQUEST;
    }
    if (!lv_holding_part(v))
        return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_range",
                             "the video's host sent other bytes than part %zu asked for",
                             v->part + 1);
    v->state = AP_LV_PUT;
    return AP_NEXT_REQUEST;
}

/* A failed LinkedIn call of the upload: never duplicate or ambiguous. */
static ap_flow_next lv_li_error(ap_li_video *v, const ap_flow_input *in,
                                const ap_http_response *res, const char *what, ap_flow_result *r) {
    ap_linkedin_media_error(in, res, what, r);
    return AP_NEXT_DONE;
}

static const char *lv_call(const ap_li_video *v) {
    return v->state == AP_LV_PUT        ? "video part upload"
           : v->state == AP_LV_FINALIZE ? "video finalizeUpload"
           : v->state == AP_LV_STATUS   ? "video status"
                                        : "video initializeUpload";
}

/* No answer or a 5xx to a call that is safe to repeat: again, in this
 * flow, after a short backoff (or LinkedIn's Retry-After). */
static ap_flow_next lv_again(ap_li_video *v, const ap_flow_input *in, const ap_http_response *res,
                             int64_t *wait_ms, ap_flow_result *r) {
    if (++v->sends >= LV_MAX_SENDS) return lv_li_error(v, in, res, lv_call(v), r);
    int64_t wait = (int64_t)LV_BACKOFF_MS << (v->sends - 1);
    long long ra = ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
    if (ra > wait) wait = ra;
    *wait_ms = wait > LV_BACKOFF_MAX_MS ? LV_BACKOFF_MAX_MS : wait;
    snprintf(r->note_event, sizeof(r->note_event), "linkedin_video_resend");
    if (v->state == AP_LV_PUT)
        snprintf(r->note, sizeof(r->note),
                 "LinkedIn video part %zu/%zu (bytes %lld-%lld): %s; sending the same bytes "
                 "again in %lld ms",
                 v->part + 1, v->up.nparts, (long long)lv_part(v)->first,
                 (long long)lv_part(v)->last, res->transport_error ? "no answer" : "5xx",
                 (long long)*wait_ms);
    else
        snprintf(r->note, sizeof(r->note), "LinkedIn %s: %s; sending it again in %lld ms",
                 lv_call(v), res->transport_error ? "no answer" : "5xx", (long long)*wait_ms);
    return AP_NEXT_WAIT;
}

/* The upload URL expired (LinkedIn's 403/404 on a part): a new upload from
 * initializeUpload; the file's size is known, the parts are read again. */
static ap_flow_next lv_restart(ap_li_video *v, const ap_http_response *res, ap_flow_result *r) {
    if (++v->restarts > LV_MAX_RESTARTS)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_expired",
                             "LinkedIn's video upload URLs kept expiring");
    snprintf(r->note_event, sizeof(r->note_event), "linkedin_video_restart");
    snprintf(r->note, sizeof(r->note),
             "LinkedIn answered %ld to video part %zu of %s (upload URL expired): uploading the "
             "video again from initializeUpload",
             res->status, v->part + 1, v->up.video);
    lv_forget_upload(v);
    v->sends = 0;
    v->polls = 0;
    v->state = AP_LV_INIT;
    return AP_NEXT_REQUEST;
}

/* The instructions cover the file once, in order, in parts we can hold,
 * at URLs that may have our token. */
static bool lv_instructions_ok(ap_li_video *v, const ap_flow_input *in, long status,
                               ap_flow_result *r) {
    int64_t next = 0;
    for (size_t i = 0; i < v->up.nparts; i++) {
        const ap_li_video_part *p = &v->up.parts[i];
        if (p->first != next || p->last - p->first + 1 > AP_LI_VIDEO_MAX_PART) {
            ap_flow_vfail(
                r, AP_CLASS_RETRY, status, "media_upload",
                "LinkedIn's upload instructions for the video do not cover its %lld bytes in "
                "parts of at most %d bytes (part %zu: %lld-%lld)",
                (long long)v->rd.total, AP_LI_VIDEO_MAX_PART, i + 1, (long long)p->first,
                (long long)p->last);
            return false;
        }
        if (!ap_linkedin_upload_url_ok(in, p->url)) {
            ap_flow_vfail(r, AP_CLASS_PERMANENT, status, "media_upload",
                          "LinkedIn's upload URL for video part %zu is not on a LinkedIn host",
                          i + 1);
            return false;
        }
        next = p->last + 1;
    }
    if (next != v->rd.total) {
        ap_flow_vfail(r, AP_CLASS_RETRY, status, "media_upload",
                      "LinkedIn's upload instructions cover %lld of the video's %lld bytes",
                      (long long)next, (long long)v->rd.total);
        return false;
    }
    return true;
}

static ap_flow_next lv_take_init(ap_li_video *v, const ap_flow_input *in,
                                 const ap_http_response *res, ap_flow_result *r) {
    if (res->transport_error != 0 || res->status < 200 || res->status >= 300)
        return lv_li_error(v, in, res, "video initializeUpload", r);
    if (ap_li_video_parse_init(res->body, res->body_len, &v->up) != 0)
        return ap_flow_vfail(
            r, AP_CLASS_RETRY, res->status, "media_upload",
            "LinkedIn's initializeUpload for the video gave no video URN or upload "
            "instructions");
    if (!lv_instructions_ok(v, in, res->status, r)) return AP_NEXT_DONE;
    if ((v->etags = calloc(v->up.nparts, sizeof(*v->etags))) == NULL)
        return ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "out of memory");
    v->part = 0;
    return lv_next_part(v);
}

static ap_flow_next lv_take_put(ap_li_video *v, const ap_flow_input *in,
                                const ap_http_response *res, int64_t *wait_ms, ap_flow_result *r) {
    if (res->address_refused || res->scheme_refused)
        return ap_flow_vfail(r, AP_CLASS_PERMANENT, 0, "upload_url_refused",
                             "LinkedIn's upload URL for video part %zu: %s", v->part + 1,
                             res->address_refused ? "address not allowed"
                                                  : "only https URLs are allowed");
    if (res->transport_error != 0 || res->status >= 500) return lv_again(v, in, res, wait_ms, r);
    if (res->status == 403 || res->status == 404) return lv_restart(v, res, r);
    if (res->status < 200 || res->status >= 300) return lv_li_error(v, in, res, lv_call(v), r);
    const char *etag = ap_http_response_header(res, "etag");
    if (etag == NULL || *etag == '\0' || strlen(etag) > LV_ETAG_MAX || strpbrk(etag, "\r\n"))
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_upload",
                             "LinkedIn took video part %zu without an ETag", v->part + 1);
    if ((v->etags[v->part] = strdup(etag)) == NULL)
        return ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "out of memory");
    ap_chunk_reader_drop(&v->rd);
    v->part++;
    return lv_next_part(v);
}

static int64_t lv_poll_wait(const ap_li_video *v) {
    int64_t wait = LV_POLL_MS * (1 + v->polls / 5);
    return wait > LV_POLL_MAX_MS ? LV_POLL_MAX_MS : wait;
}

static ap_flow_next lv_take_finalize(ap_li_video *v, const ap_flow_input *in,
                                     const ap_http_response *res, int64_t *wait_ms,
                                     ap_flow_result *r) {
    if (res->transport_error != 0 || res->status >= 500) return lv_again(v, in, res, wait_ms, r);
    if (res->status < 200 || res->status >= 300) return lv_li_error(v, in, res, lv_call(v), r);
    v->sends = 0;
    v->polls = 0;
    v->state = AP_LV_STATUS;
    *wait_ms = lv_poll_wait(v);
    return AP_NEXT_WAIT;
}

static ap_flow_next lv_take_status(ap_li_video *v, const ap_flow_input *in,
                                   const ap_http_response *res, int64_t *wait_ms,
                                   ap_flow_result *r) {
    if (res->transport_error != 0 || res->status >= 500) return lv_again(v, in, res, wait_ms, r);
    if (res->status < 200 || res->status >= 300) return lv_li_error(v, in, res, lv_call(v), r);
    v->sends = 0;
    ap_li_asset_status status;
    char why[160];
    if (ap_li_parse_asset_status(res->body, res->body_len, &status, why, sizeof(why)) != 0)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_processing",
                             "LinkedIn's status of video %s was unreadable", v->up.video);
    if (status == AP_LI_ASSET_AVAILABLE) {
        v->state = AP_LV_READY;
        return AP_NEXT_DONE;
    }
    if (status == AP_LI_ASSET_PROCESSING_FAILED)
        return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_processing_failed",
                             "LinkedIn could not process the video (%s); nothing was posted",
                             why[0] ? why : "no reason given");
    if (++v->polls > LV_MAX_POLLS)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_processing_slow",
                             "LinkedIn was still processing video %s after many checks",
                             v->up.video);
    *wait_ms = lv_poll_wait(v);
    return AP_NEXT_WAIT;
}

static ap_flow_next lv_take(ap_li_video *v, const ap_flow_input *in, const ap_http_response *res,
                            int64_t *wait_ms, ap_flow_result *r) {
    switch (v->state) {
    case AP_LV_FETCH: return lv_take_fetch(v, res, r);
    case AP_LV_INIT: return lv_take_init(v, in, res, r);
    case AP_LV_PUT: return lv_take_put(v, in, res, wait_ms, r);
    case AP_LV_FINALIZE: return lv_take_finalize(v, in, res, wait_ms, r);
    case AP_LV_STATUS: return lv_take_status(v, in, res, wait_ms, r);
    case AP_LV_READY:
    case AP_LV_FAILED:
    default:
        return ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "the video upload was already over");
    }
}

ap_step_kind ap_li_video_step(ap_li_video *v, const ap_flow_input *in, const ap_http_response *prev,
                              ap_http_request *req, int64_t *wait_ms, ap_flow_result *r) {
    if (prev) {
        bool failed = false;
        ap_step_kind k = ap_flow_next_kind(lv_take(v, in, prev, wait_ms, r), r, &failed);
        if (failed) v->state = AP_LV_FAILED;
        if (k != AP_STEP_REQUEST) return k;
    }
    if (lv_build(in, v, req) != 0) {
        v->state = AP_LV_FAILED;
        ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "could not build the video upload request");
        return AP_STEP_DONE;
    }
    return AP_STEP_REQUEST;
}
