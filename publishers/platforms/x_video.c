/* x_video.c -- X's chunked media upload for a video or an animated GIF.
 *
 * The steps (X API v2, media upload docs), one request each:
 *   FETCH     GET <media URL>  Range: bytes=O-(O+C-1)       (no token sent)
 *               -> 206, Content-Range: bytes O-L/TOTAL, the chunk's bytes
 *   INIT      POST {base}/{ver}/media/upload/initialize
 *               {"media_type","total_bytes","media_category":tweet_video|tweet_gif}
 *               -> {"data":{"id","expires_after_secs"}}       (after chunk 0 told TOTAL)
 *   APPEND    POST {base}/{ver}/media/upload/{id}/append
 *               multipart: segment_index (0..999), media (the chunk)
 *   ... FETCH and APPEND alternate until TOTAL bytes are appended ...
 *   FINALIZE  POST {base}/{ver}/media/upload/{id}/finalize
 *               -> {"data":{"processing_info":{"state","check_after_secs",...}}}
 *   STATUS    GET  {base}/{ver}/media/upload?media_id={id}&command=STATUS
 *               after check_after_secs, until succeeded or failed
 * and then the tweet (x.c) names the media id.
 *
 * The ranged reads (one chunk in memory, the outbound policy on every
 * read, a host that ignores Range refused, TOTAL checked on every answer)
 * are chunked.c's, shared with LinkedIn's video upload.
 *
 * Retries: nothing here is public, so no answer is ambiguous. An append,
 * finalize or status call that gets no answer or a 5xx is sent again in
 * this flow (same segment_index: X keeps the last copy of a segment, so a
 * gateway error after X stored it duplicates nothing), up to
 * XV_MAX_SENDS times with a short backoff, then the job is retried from
 * the start. A media id X no longer knows (404: expired or lost) restarts
 * the upload from initialize, at most XV_MAX_RESTARTS times. Processing
 * that fails ends the post as permanent: the tweet is never sent. */
#include "x_video.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_time.h"
#include "chunked.h"
#include "x.h"

#define XV_MAX_SENDS 4       /* one append/finalize/status call, first send included */
#define XV_MAX_RESTARTS 2    /* fresh media ids after X forgot one */
#define XV_MAX_POLLS 120     /* STATUS calls before "X is too slow", retried later */
#define XV_POLL_MIN_MS 1000  /* check_after_secs is whole seconds; 0 means "soon" */
#define XV_POLL_MAX_MS 60000 /* a longer hint is still asked again within a minute */
#define XV_BACKOFF_MS 500
#define XV_BACKOFF_MAX_MS 30000

struct ap_x_video {
    ap_x_video_state state;
    size_t index; /* which of the job's media */
    size_t chunk_bytes;
    bool gif;
    char media_id[40];
    char content_type[64];
    ap_chunk_reader rd; /* the file's size and the chunk in hand */
    int64_t offset;     /* where the chunk in hand starts = bytes appended */
    int segment;        /* segment_index of the chunk in hand */
    int sends;          /* of the current append/finalize/status call */
    int restarts;
    int polls;
};

/* ---- parsers ---------------------------------------------------------------- */

int ap_x_video_parse_init(const char *body, size_t len, char *id, size_t id_len,
                          int64_t *expires_after_s) {
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *data = json_object_get(root, "data");
    json_t *jid = json_object_get(data, "id"), *exp = json_object_get(data, "expires_after_secs");
    int rc = -1;
    if (json_is_string(jid) && ap_x_id_text_ok(json_string_value(jid), json_string_length(jid)) &&
        json_string_length(jid) < id_len) {
        snprintf(id, id_len, "%s", json_string_value(jid));
        *expires_after_s = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : -1;
        rc = 0;
    }
    json_decref(root);
    return rc;
}

static ap_x_processing_state xv_state_named(const char *s) {
    static const struct {
        const char *name;
        ap_x_processing_state state;
    } names[] = {{"pending", AP_XP_PENDING},
                 {"in_progress", AP_XP_IN_PROGRESS},
                 {"succeeded", AP_XP_SUCCEEDED},
                 {"failed", AP_XP_FAILED}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0) return names[i].state;
    return AP_XP_NONE;
}

int ap_x_video_parse_processing(const char *body, size_t len, ap_x_processing *p) {
    memset(p, 0, sizeof(*p));
    p->check_after_s = -1;
    p->progress_percent = -1;
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    json_t *data = json_object_get(root, "data");
    json_t *info = json_object_get(json_is_object(data) ? data : root, "processing_info");
    int rc = 0;
    if (info == NULL) {
        p->state = AP_XP_NONE; /* nothing to process (X leaves it out) */
    } else if (!json_is_object(info) || !json_is_string(json_object_get(info, "state")) ||
               (p->state = xv_state_named(json_string_value(json_object_get(info, "state")))) ==
                   AP_XP_NONE) {
        rc = -1; /* a state we do not know is not "ready" */
    } else {
        json_t *after = json_object_get(info, "check_after_secs");
        json_t *pct = json_object_get(info, "progress_percent");
        json_t *err = json_object_get(info, "error");
        if (json_is_integer(after) && json_integer_value(after) >= 0 &&
            json_integer_value(after) <= 86400)
            p->check_after_s = (int64_t)json_integer_value(after);
        if (json_is_integer(pct) && json_integer_value(pct) >= 0 && json_integer_value(pct) <= 100)
            p->progress_percent = (int)json_integer_value(pct);
        json_t *msg = json_object_get(err, "message");
        if (!json_is_string(msg)) msg = json_object_get(err, "name");
        if (json_is_string(msg)) snprintf(p->error, sizeof(p->error), "%s", json_string_value(msg));
    }
    json_decref(root);
    return rc;
}

/* ---- the flow -------------------------------------------------------------- */

ap_x_video *ap_x_video_new(const ap_flow_input *in, size_t index, size_t chunk_bytes) {
    ap_x_video *v = calloc(1, sizeof(*v));
    if (v == NULL) return NULL;
    v->index = index;
    v->chunk_bytes = chunk_bytes > 0 ? chunk_bytes : 4 * 1024 * 1024;
    v->gif = in->job->media[index]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF;
    ap_chunk_reader_init(&v->rd, index, v->gif ? "GIF" : "video");
    v->state = AP_XV_FETCH;
    return v;
}

void ap_x_video_free(ap_x_video *v) {
    if (v) ap_chunk_reader_drop(&v->rd);
    free(v);
}

ap_x_video_state ap_x_video_state_of(const ap_x_video *v) { return v->state; }

const char *ap_x_video_media_id(const ap_x_video *v) {
    return v->state == AP_XV_READY ? v->media_id : "";
}

static const char *xv_what(const ap_x_video *v) { return v->gif ? "GIF" : "video"; }

/* ---- requests ---- */

static int xv_url(const ap_flow_input *in, const ap_x_video *v, const char *what,
                  ap_http_request *req) {
    char url[1024];
    int n = what ? snprintf(url, sizeof(url), "%s/%s/media/upload/%s/%s", in->platform->base_url,
                            in->platform->api_version, v->media_id, what)
                 : snprintf(url, sizeof(url), "%s/%s/media/upload/initialize",
                            in->platform->base_url, in->platform->api_version);
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    req->url = strdup(url);
    return req->url ? 0 : -1;
}

static int xv_build_fetch(const ap_flow_input *in, const ap_x_video *v, ap_http_request *req) {
    return ap_chunk_build_fetch(&v->rd, in->job->media[v->index]->url, v->offset, v->chunk_bytes,
                                req);
}

static int xv_build_init(const ap_flow_input *in, const ap_x_video *v, ap_http_request *req) {
    ap_http_request_init(req, "POST");
    json_t *body =
        json_pack("{s:s,s:I,s:s}", "media_type", v->content_type, "total_bytes",
                  (json_int_t)v->rd.total, "media_category", v->gif ? "tweet_gif" : "tweet_video");
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (req->body == NULL || xv_url(in, v, NULL, req) != 0) return -1;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/json") != 0) return -1;
    return ap_flow_bearer_header(req, in->token);
}

/* multipart/form-data: segment_index, then media (the chunk's bytes). */
static int xv_build_append(const ap_flow_input *in, const ap_x_video *v, ap_http_request *req) {
    char salt[64], segment[16];
    ap_http_request_init(req, "POST");
    snprintf(salt, sizeof(salt), "%.8s-%d", in->job->schedule_id, v->segment);
    snprintf(segment, sizeof(segment), "%d", v->segment);
    const char *pairs[] = {"segment_index", segment, NULL};
    if (ap_chunk_build_multipart(req, salt, pairs, "media", v->rd.bytes, v->rd.len) != 0 ||
        xv_url(in, v, "append", req) != 0)
        return -1;
    return ap_flow_bearer_header(req, in->token);
}

static int xv_build_finalize(const ap_flow_input *in, const ap_x_video *v, ap_http_request *req) {
    ap_http_request_init(req, "POST");
    if (xv_url(in, v, "finalize", req) != 0) return -1;
    return ap_flow_bearer_header(req, in->token);
}

static int xv_build_status(const ap_flow_input *in, const ap_x_video *v, ap_http_request *req) {
    char url[1024];
    ap_http_request_init(req, "GET");
    int n = snprintf(url, sizeof(url), "%s/%s/media/upload?media_id=%s&command=STATUS",
                     in->platform->base_url, in->platform->api_version, v->media_id);
    if (n < 0 || (size_t)n >= sizeof(url) || (req->url = strdup(url)) == NULL) return -1;
    return ap_flow_bearer_header(req, in->token);
}

static int xv_build(const ap_flow_input *in, const ap_x_video *v, ap_http_request *req) {
    switch (v->state) {
    case AP_XV_FETCH: return xv_build_fetch(in, v, req);
    case AP_XV_INIT: return xv_build_init(in, v, req);
    case AP_XV_APPEND: return xv_build_append(in, v, req);
    case AP_XV_FINALIZE: return xv_build_finalize(in, v, req);
    case AP_XV_STATUS: return xv_build_status(in, v, req);
    case AP_XV_READY:
    case AP_XV_FAILED:
    default: return -1;
    }
}

/* ---- answers ---- */

/* The media type X is told, from the host's Content-Type (parameters cut). */
static bool xv_type_ok(ap_x_video *v, const char *type) {
    if (type == NULL) return false;
    size_t n = strcspn(type, "; ");
    if (n == 0 || n >= sizeof(v->content_type)) return false;
    snprintf(v->content_type, sizeof(v->content_type), "%.*s", (int)n, type);
    for (char *c = v->content_type; *c; c++) *c = (char)tolower((unsigned char)*c);
    if (v->gif) return strcmp(v->content_type, "image/gif") == 0;
    return strcmp(v->content_type, "video/mp4") == 0 ||
           strcmp(v->content_type, "video/quicktime") == 0;
}

/* The first chunk also tells the size and type: check X's limits now,
 * before X hears of the upload. */
static bool xv_first_chunk_ok(ap_x_video *v, const ap_http_response *res, ap_flow_result *r) {
    int64_t max = v->gif ? AP_X_GIF_MAX_BYTES : AP_X_VIDEO_MAX_BYTES;
    if (!xv_type_ok(v, ap_http_response_header(res, "content-type"))) {
        ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_type",
                      v->gif ? "the GIF's URL does not serve image/gif (%s)"
                             : "the video's URL does not serve video/mp4 or video/quicktime (%s)",
                      v->content_type[0] ? v->content_type : "no Content-Type");
        return false;
    }
    if (v->rd.total > max) {
        char lim[64];
        snprintf(lim, sizeof(lim), "%lld bytes", (long long)max);
        ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_too_large",
                      v->gif ? "the GIF is larger than X's limit of %s"
                             : "the video is larger than X's limit of %s",
                      lim);
        return false;
    }
    if ((v->rd.total + (int64_t)v->chunk_bytes - 1) / (int64_t)v->chunk_bytes > AP_X_MAX_SEGMENTS) {
        ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_too_many_parts",
                      "the %s needs more than 1000 appends; raise platforms.x.media_chunk_size",
                      xv_what(v));
        return false;
    }
    return true;
}

static ap_flow_next xv_take_fetch(ap_x_video *v, const ap_http_response *res, ap_flow_result *r) {
    if (!ap_chunk_take(&v->rd, res, v->offset, r)) return AP_NEXT_DONE;
    if (v->offset == 0 && !xv_first_chunk_ok(v, res, r)) return AP_NEXT_DONE;
    v->state = v->media_id[0] ? AP_XV_APPEND : AP_XV_INIT;
    return AP_NEXT_REQUEST;
}

/* An X error on an upload call: nothing is public, so never duplicate or
 * ambiguous. */
static ap_flow_next xv_x_error(ap_x_video *v, const ap_http_response *res, ap_flow_result *r) {
    ap_x_classify_error(res, false, r);
    if (r->error_class == AP_CLASS_DUPLICATE || r->error_class == AP_CLASS_AMBIGUOUS)
        r->error_class = AP_CLASS_RETRY;
    return AP_NEXT_DONE;
}

/* No answer or a 5xx to a call that is safe to repeat: again, in this
 * flow, after a short backoff (or X's Retry-After). */
static ap_flow_next xv_again(ap_x_video *v, const ap_http_response *res, int64_t *wait_ms,
                             ap_flow_result *r) {
    if (++v->sends >= XV_MAX_SENDS) {
        if (res->transport_error != 0) {
            ap_flow_transport_error(res, false, r);
            return AP_NEXT_DONE;
        }
        return xv_x_error(v, res, r);
    }
    int64_t wait = (int64_t)XV_BACKOFF_MS << (v->sends - 1);
    long long ra = ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
    if (ra > wait) wait = ra;
    *wait_ms = wait > XV_BACKOFF_MAX_MS ? XV_BACKOFF_MAX_MS : wait;
    snprintf(r->note_event, sizeof(r->note_event), "x_media_resend");
    snprintf(r->note, sizeof(r->note), "X %s upload call %s (%s); sending it again in %lld ms",
             xv_what(v),
             v->state == AP_XV_APPEND     ? "append"
             : v->state == AP_XV_FINALIZE ? "finalize"
                                          : "status",
             res->transport_error ? "no answer" : "5xx", (long long)*wait_ms);
    return AP_NEXT_WAIT;
}

/* X no longer knows the media id (expired, or lost on its side): a new
 * upload from initialize, chunk 0 read again. */
static ap_flow_next xv_restart(ap_x_video *v, const ap_http_response *res, ap_flow_result *r) {
    if (++v->restarts > XV_MAX_RESTARTS)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_expired",
                             "X kept forgetting the %s upload's media id", xv_what(v));
    snprintf(r->note_event, sizeof(r->note_event), "x_media_restart");
    snprintf(r->note, sizeof(r->note),
             "X answered %ld for media id %s (expired or unknown): uploading the %s again from "
             "initialize",
             res->status, v->media_id, xv_what(v));
    v->media_id[0] = '\0';
    v->offset = 0;
    v->segment = 0;
    v->sends = 0;
    v->polls = 0;
    ap_chunk_reader_drop(&v->rd);
    v->state = AP_XV_FETCH;
    return AP_NEXT_REQUEST;
}

static ap_flow_next xv_take_init(ap_x_video *v, const ap_http_response *res, ap_flow_result *r) {
    int64_t expires = 0;
    if (res->transport_error != 0) {
        ap_flow_transport_error(res, false, r);
        return AP_NEXT_DONE;
    }
    if (res->status < 200 || res->status >= 300) return xv_x_error(v, res, r);
    if (ap_x_video_parse_init(res->body, res->body_len, v->media_id, sizeof(v->media_id),
                              &expires) != 0)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_upload",
                             "X accepted the %s upload without a media id", xv_what(v));
    v->segment = 0;
    v->sends = 0;
    v->state = AP_XV_APPEND;
    return AP_NEXT_REQUEST;
}

static ap_flow_next xv_take_append(ap_x_video *v, const ap_http_response *res, int64_t *wait_ms,
                                   ap_flow_result *r) {
    if (res->transport_error != 0 || res->status >= 500) return xv_again(v, res, wait_ms, r);
    if (res->status == 404) return xv_restart(v, res, r);
    if (res->status < 200 || res->status >= 300) return xv_x_error(v, res, r);
    v->offset += (int64_t)v->rd.len;
    v->segment++;
    v->sends = 0;
    ap_chunk_reader_drop(&v->rd);
    v->state = v->offset >= v->rd.total ? AP_XV_FINALIZE : AP_XV_FETCH;
    return AP_NEXT_REQUEST;
}

/* finalize and STATUS answer the same processing_info. */
static ap_flow_next xv_take_processing(ap_x_video *v, const ap_http_response *res, int64_t *wait_ms,
                                       ap_flow_result *r) {
    if (res->transport_error != 0 || res->status >= 500) return xv_again(v, res, wait_ms, r);
    if (res->status == 404) return xv_restart(v, res, r);
    if (res->status < 200 || res->status >= 300) return xv_x_error(v, res, r);
    v->sends = 0;
    ap_x_processing p;
    if (ap_x_video_parse_processing(res->body, res->body_len, &p) != 0)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_processing",
                             "X's processing status of the %s was unreadable", xv_what(v));
    switch (p.state) {
    case AP_XP_NONE:
    case AP_XP_SUCCEEDED: v->state = AP_XV_READY; return AP_NEXT_DONE;
    case AP_XP_FAILED: {
        char why[200];
        snprintf(why, sizeof(why), "%s: %s", xv_what(v), p.error[0] ? p.error : "no reason given");
        return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_processing_failed",
                             "X could not process the %s; nothing was posted", why);
    }
    case AP_XP_PENDING:
    case AP_XP_IN_PROGRESS:
    default: break;
    }
    if (++v->polls > XV_MAX_POLLS)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_processing_slow",
                             "X was still processing the %s after many checks", xv_what(v));
    int64_t wait = p.check_after_s >= 0 ? p.check_after_s * 1000 : XV_POLL_MIN_MS;
    *wait_ms = wait < XV_POLL_MIN_MS   ? XV_POLL_MIN_MS
               : wait > XV_POLL_MAX_MS ? XV_POLL_MAX_MS
                                       : wait;
    v->state = AP_XV_STATUS;
    return AP_NEXT_WAIT;
}

static ap_flow_next xv_take(ap_x_video *v, const ap_http_response *res, int64_t *wait_ms,
                            ap_flow_result *r) {
    switch (v->state) {
    case AP_XV_FETCH: return xv_take_fetch(v, res, r);
    case AP_XV_INIT: return xv_take_init(v, res, r);
    case AP_XV_APPEND: return xv_take_append(v, res, wait_ms, r);
    case AP_XV_FINALIZE:
    case AP_XV_STATUS: return xv_take_processing(v, res, wait_ms, r);
    case AP_XV_READY:
    case AP_XV_FAILED:
    default:
        return ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "the %s upload was already over",
                             xv_what(v));
    }
}

ap_step_kind ap_x_video_step(ap_x_video *v, const ap_flow_input *in, const ap_http_response *prev,
                             ap_http_request *req, int64_t *wait_ms, ap_flow_result *r) {
    if (prev) {
        bool failed = false;
        ap_step_kind k = ap_flow_next_kind(xv_take(v, prev, wait_ms, r), r, &failed);
        if (failed) v->state = AP_XV_FAILED;
        if (k != AP_STEP_REQUEST) return k;
    }
    if (xv_build(in, v, req) != 0) {
        v->state = AP_XV_FAILED;
        ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "could not build the %s upload request",
                      xv_what(v));
        return AP_STEP_DONE;
    }
    return AP_STEP_REQUEST;
}
