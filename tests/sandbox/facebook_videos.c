/* facebook_videos.c -- imitation of Facebook Page video and reel uploads:
 *
 *   POST /{v}/{page}/videos  upload_phase=start, file_size
 *        -> {"upload_session_id","video_id","start_offset":"0","end_offset":"N"}
 *   POST /{v}/{page}/videos  multipart: upload_phase=transfer, upload_session_id,
 *        start_offset, video_file_chunk -> {"start_offset","end_offset"}: the
 *        next range wanted (Graph sends offsets as strings). A range already
 *        stored (a resend) is not stored twice: the answer names what is next.
 *   POST /{v}/{page}/videos  upload_phase=finish, upload_session_id,
 *        description, published -> {"success":true} (published by facebook.c)
 *   POST /{v}/{page}/video_reels upload_phase=start -> {"video_id","upload_url"}
 *   POST /video-upload/{v}/{video-id}  (rupload; headers offset, file_size,
 *        Authorization: OAuth) the bytes from offset -> {"success":true}
 *   POST /{v}/{page}/video_reels upload_phase=finish, video_id,
 *        video_state=PUBLISHED, description -> {"success":true}
 *   GET  /{v}/{video-id}?fields=status -> {"status":{"video_status",
 *        "uploading_phase","processing_phase":{"status","error"}},"id"}
 * Facebook's own range size here is FBV_CHUNK: a client may send less, and
 * the next answer starts where the stored bytes end. A session that is
 * unknown or expired -> Graph error 6000/1363037; a finish before every
 * byte arrived -> 6000/1363040.
 *
 * Failure modes (knobs):
 *   facebook_video_transfer_fail = k   in every upload, chunk k (1-based) is
 *                                      stored, then answered 500 (transient)
 *   facebook_video_processing_polls = n  the status says processing n times
 *   facebook_video_processing_fail = 1   processing ends in error
 *   facebook_video_expire_uploads = n    the next n page-video sessions
 *                                        (counted since the knob changed)
 *                                        expire right after their first chunk
 * and close_rate/hang_rate apply to finish like any publish (facebook.c).
 *
 * Bytes are not kept: a running CRC (POSIX cksum) of the bytes in order is,
 * shown by GET /_sandbox/facebook/videos with the size, the start offsets
 * in arrival order, resends and the state. Only the MHD thread touches
 * this file's state. */
#include "facebook_videos.h"

#include "facebook_graph.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FBV_MAX_UPLOADS 512 /* remembered (the mixed seed has 250); the oldest is dropped */
#define FBV_MAX_ARRIVALS 2048
#define FBV_CHUNK (1024LL * 1024)
#define FBV_VIDEO_MAX (10LL * 1024 * 1024 * 1024)
#define FBV_REEL_MAX (1LL * 1024 * 1024 * 1024)
#define FBV_MAX_CHUNK_BYTES (64L * 1024 * 1024)

typedef struct fbv_upload {
    char id[32], session[32], page[80];
    int reel;
    long long total; /* file_size; a reel's from its first rupload */
    long long received;
    uint32_t crc;
    long long arrivals[FBV_MAX_ARRIVALS]; /* start offsets, in arrival order */
    int narrivals;
    int chunks, resends;
    int failed_transfer;
    int expired, published, polls;
    const char *processing; /* NULL until decided: "ready" | "error" */
} fbv_upload;

static fbv_upload *fbv_uploads[FBV_MAX_UPLOADS];
static size_t fbv_next;
static long fbv_expire_knob = -1, fbv_expired;

static fbv_upload *fbv_find(const char *id) {
    for (size_t i = 0; id && i < FBV_MAX_UPLOADS; i++)
        if (fbv_uploads[i] &&
            (strcmp(fbv_uploads[i]->id, id) == 0 ||
             (fbv_uploads[i]->session[0] && strcmp(fbv_uploads[i]->session, id) == 0)))
            return fbv_uploads[i];
    return NULL;
}

static void fbv_session_gone(sandbox_request *req) {
    fb_error(req, 400, 6000, 1363037,
             "There was a problem uploading your video file: the upload session has "
             "expired or does not exist. Please start a new upload.");
}

/* A form/JSON parameter, or a multipart text part copied into buf. */
static const char *fbv_field(sandbox_request *req, const char *name, char *buf, size_t len) {
    const char *v = sandbox_req_param(req, name);
    if (v && *v) return v;
    size_t n = 0;
    const char *part = sandbox_req_part(req, name, &n);
    if (part == NULL || n == 0 || n >= len) return NULL;
    memcpy(buf, part, n);
    buf[n] = '\0';
    return buf;
}

static int fbv_number(const char *s, long long *out) {
    char *end = NULL;
    if (s == NULL || *s == '\0') return -1;
    *out = strtoll(s, &end, 10);
    return *end == '\0' && *out >= 0 ? 0 : -1;
}

static json_t *fbv_offsets(const fbv_upload *u) {
    char start[24], end[24];
    long long e = u->received + FBV_CHUNK;
    snprintf(start, sizeof(start), "%lld", u->received);
    snprintf(end, sizeof(end), "%lld", e > u->total ? u->total : e);
    return json_pack("{s:s,s:s}", "start_offset", start, "end_offset", end);
}

/* facebook_video_expire_uploads: is this upload one of the next n? */
static int fbv_should_expire(const sandbox_knobs *k) {
    if (k->facebook_video_expire_uploads != fbv_expire_knob) {
        fbv_expire_knob = k->facebook_video_expire_uploads;
        fbv_expired = 0;
    }
    if (fbv_expired >= fbv_expire_knob) return 0;
    fbv_expired++;
    return 1;
}

static void fbv_start(sandbox_request *req, const char *version, const char *page, int reel) {
    long long total = 0;
    if (!reel && (fbv_number(sandbox_req_param(req, "file_size"), &total) != 0 || total < 1 ||
                  total > FBV_VIDEO_MAX)) {
        fb_error(req, 400, 100, 0, "(#100) file_size must be 1 byte to 10 GB");
        return;
    }
    fbv_upload *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        sandbox_reply_json(req, 500, NULL);
        return;
    }
    snprintf(u->id, sizeof(u->id), "%" PRIu64, sandbox_next_object_id());
    if (!reel) snprintf(u->session, sizeof(u->session), "%" PRIu64, sandbox_next_object_id());
    snprintf(u->page, sizeof(u->page), "%s", page);
    u->reel = reel;
    u->total = total;
    size_t slot = fbv_next++ % FBV_MAX_UPLOADS;
    free(fbv_uploads[slot]);
    fbv_uploads[slot] = u;
    if (reel) {
        const char *host = sandbox_req_header(req, "Host");
        char url[320];
        snprintf(url, sizeof(url), "http://%.200s/video-upload/%.20s/%s", host ? host : "localhost",
                 version, u->id);
        sandbox_reply_json(req, 200, json_pack("{s:s,s:s}", "video_id", u->id, "upload_url", url));
        return;
    }
    json_t *body = fbv_offsets(u);
    json_object_set_new(body, "upload_session_id", json_string(u->session));
    json_object_set_new(body, "video_id", json_string(u->id));
    sandbox_reply_json(req, 200, body);
}

/* Takes len bytes at start. Returns 0 with the reply still to send, or -1
 * when it answered an error. */
static int fbv_take_bytes(sandbox_request *req, fbv_upload *u, long long start, const char *data,
                          size_t len) {
    if (len == 0 || len > FBV_MAX_CHUNK_BYTES) {
        fb_error(req, 400, 100, 0, "(#100) a chunk of 1 byte to 64 MB is required");
        return -1;
    }
    if (u->narrivals < FBV_MAX_ARRIVALS) u->arrivals[u->narrivals++] = start;
    if (start < u->received && start + (long long)len <= u->received) {
        u->resends++; /* Facebook has these bytes: store nothing */
        return 0;
    }
    if (start != u->received || start + (long long)len > u->total) {
        fb_error(req, 400, 6000, 1363019,
                 "There was a problem uploading your video file: the chunk does not "
                 "start where the received bytes end or runs past file_size.");
        return -1;
    }
    for (size_t i = 0; i < len; i++) u->crc = sandbox_crc_step(u->crc, (unsigned char)data[i]);
    u->received += (long long)len;
    u->chunks++;
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (!u->reel && u->chunks == 1 && fbv_should_expire(&k)) u->expired = 1; /* after this answer */
    if (k.facebook_video_transfer_fail > 0 && u->chunks == k.facebook_video_transfer_fail &&
        !u->failed_transfer) {
        u->failed_transfer = 1; /* stored, then a gateway error */
        fb_error(req, 500, 1, 0, "An unknown error occurred");
        return -1;
    }
    return 0;
}

static void fbv_transfer(sandbox_request *req, const char *page) {
    char session[40], offset[24];
    const char *sid = fbv_field(req, "upload_session_id", session, sizeof(session));
    const char *off = fbv_field(req, "start_offset", offset, sizeof(offset));
    size_t len = 0;
    const char *data = sandbox_req_part(req, "video_file_chunk", &len);
    long long start = 0;
    fbv_upload *u = fbv_find(sid);
    if (u == NULL || u->reel || u->expired || strcmp(u->page, page) != 0) {
        fbv_session_gone(req);
        return;
    }
    if (fbv_number(off, &start) != 0 || data == NULL) {
        fb_error(req, 400, 100, 0,
                 "(#100) upload_session_id, start_offset and video_file_chunk are "
                 "required");
        return;
    }
    if (fbv_take_bytes(req, u, start, data, len) == 0) sandbox_reply_json(req, 200, fbv_offsets(u));
}

static int fbv_finish(sandbox_request *req, const char *page, int reel, fb_video_finish *fin) {
    char session[40], vid[40];
    const char *key = reel ? fbv_field(req, "video_id", vid, sizeof(vid))
                           : fbv_field(req, "upload_session_id", session, sizeof(session));
    fbv_upload *u = fbv_find(key);
    const char *state = sandbox_req_param(req, "video_state");
    if (u == NULL || u->reel != reel || u->expired || strcmp(u->page, page) != 0) {
        fbv_session_gone(req);
        return 1;
    }
    if (reel && (state == NULL || strcmp(state, "PUBLISHED") != 0)) {
        fb_error(req, 400, 100, 0, "(#100) video_state must be PUBLISHED here");
        return 1;
    }
    if (u->total == 0 || u->received != u->total) {
        fb_error(req, 400, 6000, 1363040,
                 "There was a problem uploading your video file: the upload is not "
                 "complete.");
        return 1;
    }
    memset(fin, 0, sizeof(*fin));
    snprintf(fin->video_id, sizeof(fin->video_id), "%s", u->id);
    fin->description = sandbox_req_param(req, "description");
    fin->already = u->published;
    return 0;
}

int sandbox_fb_videos_post(sandbox_request *req, const char *version, const char *page, int reel,
                           fb_video_finish *fin) {
    char phase_buf[16];
    const char *phase = fbv_field(req, "upload_phase", phase_buf, sizeof(phase_buf));
    if (phase && strcmp(phase, "start") == 0) {
        fbv_start(req, version, page, reel);
    } else if (phase && !reel && strcmp(phase, "transfer") == 0) {
        fbv_transfer(req, page);
    } else if (phase && strcmp(phase, "finish") == 0) {
        return fbv_finish(req, page, reel, fin);
    } else {
        fb_error(req, 400, 100, 0,
                 reel ? "(#100) upload_phase must be start or finish"
                      : "(#100) upload_phase must be start, transfer or finish");
    }
    return 1;
}

void sandbox_fb_videos_published(const char *video_id, int ok) {
    fbv_upload *u = fbv_find(video_id);
    if (u && ok) u->published = 1;
}

void sandbox_fb_videos_rupload(sandbox_request *req, const char *id) {
    fbv_upload *u = fbv_find(id);
    long long offset = 0, size = 0;
    size_t len = 0;
    const char *data = sandbox_req_body(req, &len);
    if (u == NULL || !u->reel || u->published) {
        sandbox_reply_json(req, 400,
                           json_pack("{s:{s:b,s:s,s:s}}", "debug_info", "retriable", 0, "type",
                                     "NotFoundError", "message", "Unknown or finished video id"));
        return;
    }
    if (fbv_number(sandbox_req_header(req, "offset"), &offset) != 0 ||
        fbv_number(sandbox_req_header(req, "file_size"), &size) != 0 || size < 1 ||
        size > FBV_REEL_MAX || (u->total && size != u->total) || data == NULL) {
        sandbox_reply_json(req, 400,
                           json_pack("{s:{s:b,s:s,s:s}}", "debug_info", "retriable", 0, "type",
                                     "BadRequest", "message",
                                     "offset and file_size headers (up to 1 GB) and the bytes "
                                     "are required"));
        return;
    }
    u->total = size;
    if (fbv_take_bytes(req, u, offset, data, len) == 0)
        sandbox_reply_json(req, 200, json_pack("{s:b}", "success", 1));
}

int sandbox_fb_videos_status(sandbox_request *req, const char *id) {
    fbv_upload *u = fbv_find(id);
    if (u == NULL || strcmp(u->id, id) != 0) return 0;
    const char *video = "upload_complete", *processing = "not_started";
    json_t *error = NULL;
    if (u->published) {
        sandbox_knobs k;
        sandbox_knobs_get(&k);
        if (u->processing == NULL && ++u->polls > k.facebook_video_processing_polls)
            u->processing = k.facebook_video_processing_fail ? "error" : "ready";
        video = u->processing ? u->processing : "processing";
        processing = u->processing == NULL                 ? "in_progress"
                     : strcmp(u->processing, "ready") == 0 ? "complete"
                                                           : "error";
        if (strcmp(processing, "error") == 0)
            error = json_pack("{s:s}", "message",
                              "Video processing failed: the file is not a valid video");
    } else if (u->received < u->total || u->total == 0) {
        video = "uploading";
    }
    json_t *phase = json_pack("{s:s}", "status", processing);
    if (error) json_object_set_new(phase, "error", error);
    sandbox_reply_json(req, 200,
                       json_pack("{s:{s:s,s:{s:s,s:I},s:o},s:s}", "status", "video_status", video,
                                 "uploading_phase", "status",
                                 u->received == u->total && u->total ? "complete" : "in_progress",
                                 "bytes_transferred", (json_int_t)u->received, "processing_phase",
                                 phase, "id", u->id));
    return 1;
}

json_t *sandbox_fb_videos_json(void) {
    json_t *list = json_array();
    for (size_t n = 0; list && n < FBV_MAX_UPLOADS; n++) {
        /* oldest first */
        const fbv_upload *u = fbv_uploads[(fbv_next + n) % FBV_MAX_UPLOADS];
        if (u == NULL) continue;
        json_t *arrivals = json_array();
        for (int i = 0; arrivals && i < u->narrivals; i++)
            json_array_append_new(arrivals, json_integer(u->arrivals[i]));
        json_array_append_new(
            list,
            json_pack(
                "{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:i,s:i,s:o,s:b,s:b,s:i,s:s}", "video_id", u->id,
                "session", u->session, "page", u->page, "kind", u->reel ? "reel" : "video",
                "file_size", (json_int_t)u->total, "bytes", (json_int_t)u->received, "cksum",
                (json_int_t)sandbox_cksum_finish(u->crc, (unsigned long long)u->received), "chunks",
                u->chunks, "resends", u->resends, "arrivals", arrivals ? arrivals : json_array(),
                "expired", u->expired, "published", u->published, "polls", u->polls, "processing",
                u->processing ? u->processing : ""));
    }
    return json_pack("{s:o}", "videos", list ? list : json_array());
}

void sandbox_fb_videos_reset(void) {
    for (size_t i = 0; i < FBV_MAX_UPLOADS; i++) {
        free(fbv_uploads[i]);
        fbv_uploads[i] = NULL;
    }
    fbv_next = 0;
    fbv_expire_knob = -1;
    fbv_expired = 0;
}
