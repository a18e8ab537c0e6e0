/* facebook_video.c -- a Facebook Page video or reel: upload, then publish.
 *
 * Page video (Graph API resumable upload, one request each):
 *   FETCH     GET <media URL>  Range: bytes=0-(C-1)            (no token sent)
 *               -> 206, Content-Range: bytes 0-L/TOTAL: the size and type
 *   START     POST {base}/{ver}/{page}/videos  upload_phase=start, file_size=TOTAL
 *               -> {"upload_session_id","video_id","start_offset","end_offset"}
 *   for each range Facebook asks for, in order:
 *     FETCH   GET <media URL>  Range: bytes=start-(end-1)  (at most C bytes;
 *               skipped when the bytes in hand are that range already)
 *     TRANSFER POST .../{page}/videos  multipart: upload_phase=transfer,
 *               upload_session_id, start_offset, video_file_chunk
 *               -> {"start_offset","end_offset"}: the next range; equal
 *                  offsets mean Facebook has the whole file
 *   FINISH    POST .../{page}/videos  upload_phase=finish, upload_session_id,
 *               description, published=true -> {"success":true}
 * Reel (the Reels publishing API):
 *   FETCH     as above
 *   START     POST .../{page}/video_reels  upload_phase=start -> {"video_id","upload_url"}
 *   TRANSFER  POST <upload_url> (rupload.facebook.com/video-upload/...)
 *               headers Authorization: OAuth, offset, file_size; body the
 *               chunk's bytes -> {"success":true}; one chunk per call
 *   FINISH    POST .../{page}/video_reels  upload_phase=finish, video_id,
 *               video_state=PUBLISHED, description -> {"success":true}
 * then, for both, STATUS: GET .../{video-id}?fields=status until
 * video_status is ready (published) or error (processing failed: the
 * video never shows; the post fails as permanent, with Facebook's reason).
 *
 * Finish is the one publishing call: it is sent once (req->once) and
 * everything before it is retryable and creates nothing public (an upload
 * nobody finishes is dropped by Facebook). A transfer or status call that
 * gets no answer or a 5xx is sent again in this flow with the same bytes
 * (Facebook answers with the offsets it has, so a resend never stores a
 * range twice), up to FV_MAX_SENDS times. An upload session Facebook no
 * longer knows (Graph code 6000 on a transfer: expired) restarts from
 * start, at most FV_MAX_RESTARTS times.
 *
 * A finish whose answer is lost (no answer after sending, a 5xx, a 2xx
 * without success) is read back in this flow: we know the video id before
 * finishing, so we look for exactly that id among the page's videos (or
 * reels). Listed: published. Not listed: the finish did not happen, and
 * the SAME upload is finished again (a video id becomes one video at most),
 * at most FV_MAX_FINISHES times in all. Unreadable: ambiguous, for the
 * runtime's read-back (facebook.c: the page feed, by the description). */
#include "facebook_video.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_time.h"
#include "chunked.h"
#include "graph.h"

#define FV_MAX_SENDS 4    /* one transfer/status/read-back call, first send included */
#define FV_MAX_RESTARTS 2 /* fresh upload sessions after Facebook forgot one */
#define FV_MAX_FINISHES 3 /* finish calls of one upload, read back in between */
#define FV_MAX_STALLS 3   /* transfer answers in a row asking for the same bytes again */
#define FV_MAX_POLLS 120  /* status calls before "published, still processing" */
#define FV_POLL_MS 1000   /* grows by FV_POLL_MS every 5 polls */
#define FV_POLL_MAX_MS 10000
#define FV_BACKOFF_MS 500
#define FV_BACKOFF_MAX_MS 30000
#define FV_READBACK_WAIT_MS 2000
#define FV_ERROR_UPLOAD 6000 /* Graph's video upload error: the session is gone */

static const ap_graph_names fv_names = {"Facebook", "pages_manage_posts"};

struct ap_fb_video {
    ap_fb_video_state state;
    bool reel;
    size_t index;
    size_t chunk_bytes;
    ap_chunk_reader rd;   /* the file's size and the chunk in hand */
    ap_fb_video_start up; /* the upload: session, video id, upload URL */
    int64_t start, end;   /* the range Facebook wants next ([start, end)) */
    size_t send_len;      /* bytes of the chunk in hand that the transfer sends */
    int sends;            /* of the current transfer/status/read-back call */
    int restarts, finishes, polls;
    int stalls;            /* transfer answers in a row that did not move start_offset on */
    long published_status; /* the HTTP status that told us it is published */
};

/* ---- the flow -------------------------------------------------------------- */

ap_fb_video *ap_fb_video_new(size_t index, bool reel, size_t chunk_bytes) {
    ap_fb_video *v = calloc(1, sizeof(*v));
    if (v == NULL) return NULL;
    v->index = index;
    v->reel = reel;
    v->chunk_bytes = chunk_bytes > 0 ? chunk_bytes : 4 * 1024 * 1024;
    ap_chunk_reader_init(&v->rd, index, reel ? "reel" : "video");
    v->state = AP_FV_FETCH;
    return v;
}

void ap_fb_video_free(ap_fb_video *v) {
    if (v) ap_chunk_reader_drop(&v->rd);
    free(v);
}

ap_fb_video_state ap_fb_video_state_of(const ap_fb_video *v) { return v->state; }

static const char *fv_what(const ap_fb_video *v) { return v->reel ? "reel" : "video"; }
static const char *fv_edge(const ap_fb_video *v) { return v->reel ? "video_reels" : "videos"; }

/* ---- requests ---- */

static const char *fv_description(const ap_flow_input *in) {
    return in->job->text && *in->job->text ? in->job->text : NULL;
}

static int fv_build_fetch(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    bool first = v->up.video_id[0] == '\0';
    size_t want = first ? v->chunk_bytes : v->send_len;
    return ap_chunk_build_fetch(&v->rd, in->job->media[v->index]->url, first ? 0 : v->start, want,
                                req);
}

static int fv_build_start(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    char size[24];
    snprintf(size, sizeof(size), "%lld", (long long)v->rd.total);
    const char *pairs[] = {"upload_phase", "start", "file_size", v->reel ? NULL : size, NULL};
    return ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/%s", in->platform->base_url,
                            in->platform->api_version, in->job->account_external_id, fv_edge(v));
}

/* The chunk in hand from v->start, v->send_len of its bytes. */
static const char *fv_chunk(const ap_fb_video *v) { return v->rd.bytes + (v->start - v->rd.first); }

static int fv_build_transfer(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    char offset[24], salt[64];
    snprintf(offset, sizeof(offset), "%lld", (long long)v->start);
    snprintf(salt, sizeof(salt), "%.8s-%lld", in->job->schedule_id, (long long)v->start);
    const char *pairs[] = {
        "upload_phase", "transfer", "upload_session_id", v->up.session, "start_offset",
        offset,         NULL};
    if (ap_graph_request(req, "POST", in->token, NULL, "%s/%s/%s/videos", in->platform->base_url,
                         in->platform->api_version, in->job->account_external_id) != 0)
        return -1;
    return ap_chunk_build_multipart(req, salt, pairs, "video_file_chunk", fv_chunk(v), v->send_len);
}

/* rupload takes the token as "OAuth <token>" and the bytes as the body. */
static int fv_build_rupload(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    char offset[24], size[24], auth[4200];
    ap_http_request_init(req, "POST");
    if ((req->url = strdup(v->up.upload_url)) == NULL || in->token == NULL ||
        strlen(in->token) > 4096 || (req->body = malloc(v->send_len + 1)) == NULL)
        return -1;
    memcpy(req->body, fv_chunk(v), v->send_len);
    req->body_len = v->send_len;
    snprintf(offset, sizeof(offset), "%lld", (long long)v->start);
    snprintf(size, sizeof(size), "%lld", (long long)v->rd.total);
    snprintf(auth, sizeof(auth), "OAuth %s", in->token);
    int rc = ap_http_request_add_header(req, "Authorization", auth);
    explicit_bzero(auth, sizeof(auth));
    if (rc != 0 || ap_http_request_add_header(req, "offset", offset) != 0 ||
        ap_http_request_add_header(req, "file_size", size) != 0)
        return -1;
    return ap_http_request_add_header(req, "Content-Type", "application/octet-stream");
}

static int fv_build_finish(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    const ap_platform_config *p = in->platform;
    const char *page_pairs[] = {"upload_phase", "finish",      "upload_session_id",
                                v->up.session,  "description", fv_description(in),
                                "published",    "true",        NULL};
    const char *reel_pairs[] = {"upload_phase", "finish",           "video_id",
                                v->up.video_id, "video_state",      "PUBLISHED",
                                "description",  fv_description(in), NULL};
    int rc =
        ap_graph_request(req, "POST", in->token, v->reel ? reel_pairs : page_pairs, "%s/%s/%s/%s",
                         p->base_url, p->api_version, in->job->account_external_id, fv_edge(v));
    req->once = true; /* the post itself: never resent below us */
    return rc;
}

static int fv_build_readback(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    return ap_graph_request(req, "GET", in->token, NULL,
                            "%s/%s/%s/%s?fields=id,published&limit=100", in->platform->base_url,
                            in->platform->api_version, in->job->account_external_id, fv_edge(v));
}

static int fv_build_status(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    return ap_graph_request(req, "GET", in->token, NULL, "%s/%s/%s?fields=status",
                            in->platform->base_url, in->platform->api_version, v->up.video_id);
}

static int fv_build(const ap_flow_input *in, const ap_fb_video *v, ap_http_request *req) {
    switch (v->state) {
    case AP_FV_FETCH: return fv_build_fetch(in, v, req);
    case AP_FV_START: return fv_build_start(in, v, req);
    case AP_FV_TRANSFER:
        return v->reel ? fv_build_rupload(in, v, req) : fv_build_transfer(in, v, req);
    case AP_FV_FINISH: return fv_build_finish(in, v, req);
    case AP_FV_READBACK: return fv_build_readback(in, v, req);
    case AP_FV_STATUS: return fv_build_status(in, v, req);
    case AP_FV_DONE:
    case AP_FV_FAILED:
    default: return -1;
    }
}

/* ---- answers ---- */

/* Facebook's accepted video containers (Pages video docs: mp4 and mov are
 * recommended; reels take mp4). */
static bool fv_type_ok(const ap_fb_video *v, const char *type) {
    if (type == NULL) return false;
    size_t n = strcspn(type, "; ");
    if (n == 9 && strncasecmp(type, "video/mp4", 9) == 0) return true;
    return !v->reel && n == 15 && strncasecmp(type, "video/quicktime", 15) == 0;
}

/* The range the next transfer sends, from v->start: fetched unless the
 * chunk in hand holds it already. */
static ap_flow_next fv_next_chunk(ap_fb_video *v, long status, ap_flow_result *r) {
    if (v->start >= v->rd.total) {
        ap_chunk_reader_drop(&v->rd);
        v->sends = 0;
        v->state = AP_FV_FINISH;
        return AP_NEXT_REQUEST;
    }
    int64_t end = v->reel || v->end > v->rd.total ? v->rd.total : v->end;
    if (end <= v->start || v->stalls > FV_MAX_STALLS)
        return ap_flow_vfail(r, AP_CLASS_RETRY, status, "media_upload",
                             "Facebook asked for bytes %lld-%lld of the %s's %lld",
                             (long long)v->start, (long long)end, fv_what(v),
                             (long long)v->rd.total);
    int64_t len = end - v->start;
    v->send_len = (size_t)(len > (int64_t)v->chunk_bytes ? (int64_t)v->chunk_bytes : len);
    bool in_hand = v->rd.bytes && v->rd.first <= v->start &&
                   v->rd.first + (int64_t)v->rd.len >= v->start + (int64_t)v->send_len;
    v->sends = 0;
    if (!in_hand) ap_chunk_reader_drop(&v->rd);
    v->state = in_hand ? AP_FV_TRANSFER : AP_FV_FETCH;
    return AP_NEXT_REQUEST;
}

static ap_flow_next fv_take_fetch(ap_fb_video *v, const ap_http_response *res, ap_flow_result *r) {
    bool first = v->up.video_id[0] == '\0';
    if (!ap_chunk_take(&v->rd, res, first ? 0 : v->start, r)) return AP_NEXT_DONE;
    if (first) {
        /* The first read tells the size and type: Facebook's limits now,
         * before Facebook hears of the upload. */
        const char *type = ap_http_response_header(res, "content-type");
        int64_t max = v->reel ? AP_FB_REEL_MAX_BYTES : AP_FB_VIDEO_MAX_BYTES;
        if (!fv_type_ok(v, type))
            return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_type",
                                 "the %s's URL does not serve %s (%.40s)", fv_what(v),
                                 v->reel ? "video/mp4" : "video/mp4 or video/quicktime",
                                 type ? type : "no Content-Type");
        if (v->rd.total > max)
            return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_too_large",
                                 "the %s is larger than Facebook's limit of %lld bytes", fv_what(v),
                                 (long long)max);
        v->state = AP_FV_START;
        return AP_NEXT_REQUEST;
    }
    if (v->rd.len < v->send_len)
        return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_range",
                             "the %s's host sent fewer bytes than asked from %lld", fv_what(v),
                             (long long)v->start);
    v->state = AP_FV_TRANSFER;
    return AP_NEXT_REQUEST;
}

/* A failed Facebook call before finish: nothing is public, so never
 * duplicate or ambiguous. */
static ap_flow_next fv_graph_error(const ap_http_response *res, ap_flow_result *r) {
    if (res->transport_error != 0)
        ap_flow_transport_error(res, false, r);
    else
        ap_graph_classify_error(res, &fv_names, false, r);
    if (r->error_class == AP_CLASS_DUPLICATE || r->error_class == AP_CLASS_AMBIGUOUS)
        r->error_class = AP_CLASS_RETRY;
    return AP_NEXT_DONE;
}

static const char *fv_call(const ap_fb_video *v) {
    return v->state == AP_FV_TRANSFER   ? "transfer"
           : v->state == AP_FV_READBACK ? "read-back"
                                        : "status";
}

/* No answer or a 5xx to a call that is safe to repeat: again, in this flow,
 * after a short backoff (or Facebook's Retry-After); false when out of sends. */
static bool fv_again(ap_fb_video *v, const ap_http_response *res, int64_t *wait_ms,
                     ap_flow_result *r) {
    if (++v->sends >= FV_MAX_SENDS) return false;
    int64_t wait = (int64_t)FV_BACKOFF_MS << (v->sends - 1);
    long long ra = ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
    if (ra > wait) wait = ra;
    *wait_ms = wait > FV_BACKOFF_MAX_MS ? FV_BACKOFF_MAX_MS : wait;
    snprintf(r->note_event, sizeof(r->note_event), "facebook_video_resend");
    if (v->state == AP_FV_TRANSFER)
        snprintf(r->note, sizeof(r->note),
                 "Facebook %s transfer of bytes %lld-%lld: %s; sending the same bytes again in "
                 "%lld ms",
                 fv_what(v), (long long)v->start, (long long)(v->start + (int64_t)v->send_len - 1),
                 res->transport_error ? "no answer" : "5xx", (long long)*wait_ms);
    else
        snprintf(r->note, sizeof(r->note), "Facebook %s %s call: %s; sending it again in %lld ms",
                 fv_what(v), fv_call(v), res->transport_error ? "no answer" : "5xx",
                 (long long)*wait_ms);
    return true;
}

static bool fv_retryable(const ap_http_response *res) {
    return res->transport_error != 0 || res->status >= 500;
}

/* Facebook no longer knows the upload session: a new one from start. */
static ap_flow_next fv_restart(ap_fb_video *v, const ap_http_response *res, ap_flow_result *r) {
    if (++v->restarts > FV_MAX_RESTARTS)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_expired",
                             "Facebook's upload sessions for the %s kept expiring", fv_what(v));
    snprintf(r->note_event, sizeof(r->note_event), "facebook_video_restart");
    snprintf(r->note, sizeof(r->note),
             "Facebook answered %ld to the transfer of %s %s (expired): uploading the %s again "
             "from start",
             res->status, v->reel ? "reel" : "session", v->reel ? v->up.video_id : v->up.session,
             fv_what(v));
    memset(&v->up, 0, sizeof(v->up));
    v->start = v->end = 0;
    v->sends = 0;
    v->state = AP_FV_START;
    return AP_NEXT_REQUEST;
}

static bool fv_upload_url_ok(const ap_flow_input *in, const char *url) {
    static const char rupload[] = "https://rupload.facebook.com/";
    size_t n = strlen(in->platform->base_url);
    if (strncmp(url, in->platform->base_url, n) == 0 && url[n] == '/') return true;
    return strncmp(url, rupload, sizeof(rupload) - 1) == 0;
}

static ap_flow_next fv_take_start(ap_fb_video *v, const ap_flow_input *in,
                                  const ap_http_response *res, ap_flow_result *r) {
    if (res->transport_error != 0 || res->status < 200 || res->status >= 300)
        return fv_graph_error(res, r);
    if (ap_fb_video_parse_start(res->body, res->body_len, v->reel, &v->up) != 0)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_upload",
                             "Facebook started the %s upload without a video id%s", fv_what(v),
                             v->reel ? " or upload URL" : ", session or offsets");
    if (v->reel && !fv_upload_url_ok(in, v->up.upload_url))
        return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_upload",
                             "Facebook's upload URL for the reel is not on a Facebook host");
    v->start = v->reel ? 0 : v->up.start;
    v->end = v->reel ? v->rd.total : v->up.end;
    v->stalls = 0;
    return fv_next_chunk(v, res->status, r);
}

static ap_flow_next fv_take_transfer(ap_fb_video *v, const ap_http_response *res, int64_t *wait_ms,
                                     ap_flow_result *r) {
    if (fv_retryable(res))
        return fv_again(v, res, wait_ms, r) ? AP_NEXT_WAIT : fv_graph_error(res, r);
    if (res->status < 200 || res->status >= 300) {
        ap_graph_classify_error(res, &fv_names, false, r);
        char *end = NULL;
        long code = strtol(r->error_code, &end, 10);
        /* Graph's 6000 (a page video's session), or rupload refusing a reel's
         * upload URL (expired or unknown): a new upload is safe. */
        bool gone = v->reel ? (res->status == 400 || res->status == 403 || res->status == 404 ||
                               res->status == 410)
                            : code == FV_ERROR_UPLOAD && (*end == '\0' || *end == '/');
        if (gone) {
            memset(r, 0, sizeof(*r));
            return fv_restart(v, res, r);
        }
        return fv_graph_error(res, r);
    }
    int64_t start = v->start + (int64_t)v->send_len, end = v->rd.total;
    if (v->reel ? ap_fb_video_parse_success(res->body, res->body_len) != 0
                : ap_fb_video_parse_offsets(res->body, res->body_len, &start, &end) != 0)
        return ap_flow_vfail(r, AP_CLASS_RETRY, res->status, "media_upload",
                             "Facebook's answer to the %s transfer at %lld was unreadable",
                             fv_what(v), (long long)v->start);
    /* A resent range is answered with the same offsets once; more in a row
     * means Facebook is not taking our bytes. */
    v->stalls = start <= v->start ? v->stalls + 1 : 0;
    v->start = start;
    v->end = end;
    return fv_next_chunk(v, res->status, r);
}

static int64_t fv_poll_wait(const ap_fb_video *v) {
    int64_t wait = FV_POLL_MS * (1 + v->polls / 5);
    return wait > FV_POLL_MAX_MS ? FV_POLL_MAX_MS : wait;
}

/* The published post's result: the video id and its page URL. */
static void fv_fill_published(const ap_fb_video *v, const ap_flow_input *in, ap_flow_result *r) {
    memset(r, 0, sizeof(*r));
    r->error_class = AP_CLASS_NONE;
    r->http_status = v->published_status;
    snprintf(r->external_id, sizeof(r->external_id), "%s", v->up.video_id);
    snprintf(r->external_url, sizeof(r->external_url), "https://www.facebook.com/%s/%s/%s",
             in->job->account_external_id, v->reel ? "reels" : "videos", v->up.video_id);
}

/* Published: its processing is checked next, then the flow ends with
 * fv_fill_published's result. */
static ap_flow_next fv_published(ap_fb_video *v, long status, int64_t *wait_ms, ap_flow_result *r) {
    memset(r, 0, sizeof(*r));
    v->published_status = status;
    v->sends = 0;
    v->polls = 0;
    v->state = AP_FV_STATUS;
    *wait_ms = fv_poll_wait(v);
    return AP_NEXT_WAIT;
}

static ap_flow_next fv_take_finish(ap_fb_video *v, const ap_http_response *res, int64_t *wait_ms,
                                   ap_flow_result *r) {
    v->finishes++;
    if (res->transport_error != 0 && !res->request_sent) {
        ap_flow_transport_error(res, true, r); /* never reached Facebook */
        return AP_NEXT_DONE;
    }
    bool ok = res->transport_error == 0 && res->status >= 200 && res->status < 300;
    if (ok && ap_fb_video_parse_success(res->body, res->body_len) == 0)
        return fv_published(v, res->status, wait_ms, r);
    if (!ok && res->transport_error == 0 && res->status < 500) {
        ap_graph_classify_error(res, &fv_names, true, r); /* Facebook said no to this call */
        if (v->finishes > 1) {
            /* ...but an earlier finish, whose answer was lost, may have
             * published it ("already published" reads as a refusal). */
            char why[sizeof(r->error_message)];
            snprintf(why, sizeof(why), "%s", r->error_message);
            ap_flow_vfail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_refused",
                          "finishing %s %s again was refused (%.300s); an earlier finish may have "
                          "published it",
                          fv_what(v), v->up.video_id, why);
        }
        return AP_NEXT_DONE;
    }
    /* No answer, a 5xx or a 2xx without success: did it publish? We know
     * the video id, so ask the page. */
    snprintf(r->note_event, sizeof(r->note_event), "facebook_video_readback");
    snprintf(r->note, sizeof(r->note),
             "Facebook's answer to finishing %s %s was lost (%s): looking for it on the page",
             fv_what(v), v->up.video_id, res->transport_error ? "no answer" : "unreadable");
    v->sends = 0;
    v->state = AP_FV_READBACK;
    *wait_ms = FV_READBACK_WAIT_MS;
    return AP_NEXT_WAIT;
}

static ap_flow_next fv_take_readback(ap_fb_video *v, const ap_http_response *res, int64_t *wait_ms,
                                     ap_flow_result *r) {
    if (fv_retryable(res) && fv_again(v, res, wait_ms, r)) return AP_NEXT_WAIT;
    int found = res->transport_error == 0 && res->status >= 200 && res->status < 300
                    ? ap_fb_video_listed(res->body, res->body_len, v->up.video_id)
                    : -1;
    if (found == 1) return fv_published(v, res->status, wait_ms, r);
    if (found < 0)
        return ap_flow_vfail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_unreadable",
                             "finishing %s %s got no clear answer and the page's %s could not "
                             "be read: it may be live",
                             fv_what(v), v->up.video_id, fv_edge(v));
    if (v->finishes >= FV_MAX_FINISHES)
        return ap_flow_vfail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_not_found",
                             "finishing %s %s never got a clear answer and it is not on the "
                             "page yet: it may still appear",
                             fv_what(v), v->up.video_id);
    /* Not there: that finish did not happen. The same upload again: one
     * video id becomes one video at most. */
    snprintf(r->note_event, sizeof(r->note_event), "facebook_video_refinish");
    snprintf(r->note, sizeof(r->note), "%s %s is not on the page: finishing the same upload again",
             fv_what(v), v->up.video_id);
    v->state = AP_FV_FINISH;
    return AP_NEXT_REQUEST;
}

/* After publishing: ready ends the post, error fails it (the video never
 * shows), anything slow or unreadable leaves it published with a note. */
static ap_flow_next fv_take_status(ap_fb_video *v, const ap_flow_input *in,
                                   const ap_http_response *res, int64_t *wait_ms,
                                   ap_flow_result *r) {
    if (fv_retryable(res) && fv_again(v, res, wait_ms, r)) return AP_NEXT_WAIT;
    ap_fb_video_status status = AP_FVS_UNKNOWN;
    char why[200];
    bool read = res->transport_error == 0 && res->status >= 200 && res->status < 300 &&
                ap_fb_video_parse_status(res->body, res->body_len, &status, why, sizeof(why)) == 0;
    v->sends = 0;
    if (read && status == AP_FVS_ERROR)
        return ap_flow_vfail(r, AP_CLASS_PERMANENT, res->status, "media_processing_failed",
                             "Facebook could not process the %s (%s); it is not shown on the page",
                             fv_what(v), why[0] ? why : "no reason given");
    if (read && status == AP_FVS_UPLOADING && ++v->polls <= FV_MAX_POLLS) {
        *wait_ms = fv_poll_wait(v);
        return AP_NEXT_WAIT;
    }
    fv_fill_published(v, in, r);
    if (!read || status != AP_FVS_READY) {
        snprintf(r->note_event, sizeof(r->note_event), "facebook_video_processing");
        snprintf(r->note, sizeof(r->note), "%s %s is published; Facebook's processing status is %s",
                 fv_what(v), v->up.video_id, read ? "still not ready" : "unreadable");
    }
    v->state = AP_FV_DONE;
    return AP_NEXT_DONE;
}

static ap_flow_next fv_take(ap_fb_video *v, const ap_flow_input *in, const ap_http_response *res,
                            int64_t *wait_ms, ap_flow_result *r) {
    switch (v->state) {
    case AP_FV_FETCH: return fv_take_fetch(v, res, r);
    case AP_FV_START: return fv_take_start(v, in, res, r);
    case AP_FV_TRANSFER: return fv_take_transfer(v, res, wait_ms, r);
    case AP_FV_FINISH: return fv_take_finish(v, res, wait_ms, r);
    case AP_FV_READBACK: return fv_take_readback(v, res, wait_ms, r);
    case AP_FV_STATUS: return fv_take_status(v, in, res, wait_ms, r);
    case AP_FV_DONE:
    case AP_FV_FAILED:
    default: return ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "the flow was already over");
    }
}

ap_step_kind ap_fb_video_step(ap_fb_video *v, const ap_flow_input *in, const ap_http_response *prev,
                              ap_http_request *req, int64_t *wait_ms, ap_flow_result *r) {
    if (prev) {
        bool failed = false;
        ap_step_kind k = ap_flow_next_kind(fv_take(v, in, prev, wait_ms, r), r, &failed);
        if (failed) v->state = AP_FV_FAILED;
        if (k != AP_STEP_REQUEST) return k;
    }
    if (fv_build(in, v, req) != 0) {
        bool finishing = v->state == AP_FV_FINISH;
        v->state = AP_FV_FAILED;
        ap_flow_vfail(r, AP_CLASS_RETRY, 0, "internal", "could not build the %s request%s",
                      fv_what(v), finishing ? " (before finishing: nothing is published)" : "");
        return AP_STEP_DONE;
    }
    return AP_STEP_REQUEST;
}
