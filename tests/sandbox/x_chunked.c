/* x_chunked.c -- imitation of X's chunked media upload (video and GIF):
 *
 *   POST /x/2/media/upload/initialize   {"media_type","total_bytes","media_category"}
 *        -> 200 {"data":{"id","media_key","expires_after_secs"}}
 *   POST /x/2/media/upload/{id}/append  multipart: segment_index (0..999), media
 *        -> 200 {"data":{"expires_at"}}; the same segment_index again replaces
 *           it (X keeps the last copy), so a resend duplicates nothing
 *   POST /x/2/media/upload/{id}/finalize -> the segments must be 0..n-1 and add
 *        up to total_bytes; then processing_info {"state":"pending",
 *        "check_after_secs":1}
 *   GET  /x/2/media/upload?media_id={id}&command=STATUS
 *        -> processing_info: in_progress for x_processing_polls calls, then
 *           succeeded (or failed with x_processing_fail)
 * An unknown, expired or other user's media id -> 404 (X's "Not Found").
 * Limits as X documents them: video (video/mp4, video/quicktime) up to
 * 512 MB, GIF (image/gif) up to 15 MB, a segment up to 5 MB.
 *
 * Failure modes (knobs):
 *   x_append_fail_segment = k   in every upload, the first append of segment
 *                               k-1 is stored and then answered 503 (a
 *                               gateway error after X kept it); 0 = off
 *   x_processing_polls = n      STATUS says in_progress n times first
 *   x_processing_fail = 1       processing ends failed (InvalidMedia)
 *   x_expire_uploads = n        the next n uploads (counted since the knob
 *                               changed) are forgotten right after their
 *                               first append: later calls get 404
 *
 * Tests read what arrived from GET /_sandbox/x/uploads: per upload the
 * segment indexes in arrival order, the number of segments and bytes
 * assembled at finalize and their POSIX cksum (what `cksum` prints for the
 * original file), the polls and the state.
 *
 * No file is kept whole (the media bench sends 200 MiB): segments are
 * folded into a running checksum as they arrive (fold.h); a folded segment
 * sent again with other bytes makes finalize refuse the upload. Only the
 * MHD thread touches this file's state. */
#include "x_chunked.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fold.h"

/* Remembered uploads, the oldest dropped: a mixed seed has 250 in flight. */
#define XC_MAX_UPLOADS 512
#define XC_MAX_SEGMENTS 1000
#define XC_MAX_ARRIVALS 4096
#define XC_MAX_SEGMENT_BYTES (5L * 1024 * 1024)
#define XC_VIDEO_MAX (512LL * 1024 * 1024)
#define XC_GIF_MAX (15LL * 1024 * 1024)

typedef enum xc_state { XC_UPLOADING, XC_PROCESSING, XC_SUCCEEDED, XC_FAILED, XC_EXPIRED } xc_state;
static const char *const xc_state_names[] = {"uploading", "processing", "succeeded", "failed",
                                             "expired"};

typedef struct xc_upload {
    char id[24], user[24], media_type[48], category[24];
    long long total;
    sandbox_fold fold; /* what arrived, as a running checksum */
    int arrivals[XC_MAX_ARRIVALS];
    int narrivals;
    int failed_append; /* the knob's 503 was answered */
    xc_state state;
    int polls;
    int segments;        /* assembled at finalize */
    long long assembled; /* bytes at finalize */
    uint32_t cksum;
} xc_upload;

static xc_upload *xc_uploads[XC_MAX_UPLOADS];
static size_t xc_next;
static long xc_expire_knob = -1, xc_expired; /* x_expire_uploads as last seen, and its count */

/* ---- uploads ---- */

static void xc_free(xc_upload *u) {
    if (u) sandbox_fold_free(&u->fold);
    free(u);
}

static xc_upload *xc_find(const char *id, const char *user) {
    for (size_t i = 0; id && i < XC_MAX_UPLOADS; i++)
        if (xc_uploads[i] && strcmp(xc_uploads[i]->id, id) == 0 &&
            strcmp(xc_uploads[i]->user, user) == 0)
            return xc_uploads[i];
    return NULL;
}

static void xc_problem(sandbox_request *req, unsigned status, const char *title,
                       const char *detail) {
    sandbox_stats_error((int)status);
    sandbox_reply_json(req, status,
                       json_pack("{s:s,s:s,s:s,s:i}", "title", title, "detail", detail, "type",
                                 "https://api.twitter.com/2/problems/invalid-request", "status",
                                 (int)status));
}

static void xc_not_found(sandbox_request *req) {
    xc_problem(req, 404, "Not Found Error", "Could not find the media id (unknown or expired).");
}

static int xc_type_fits(const char *category, const char *type, long long total) {
    if (strcmp(category, "tweet_video") == 0)
        return (strcmp(type, "video/mp4") == 0 || strcmp(type, "video/quicktime") == 0) &&
               total <= XC_VIDEO_MAX;
    if (strcmp(category, "tweet_gif") == 0)
        return strcmp(type, "image/gif") == 0 && total <= XC_GIF_MAX;
    return 0;
}

static void xc_init(sandbox_request *req, const char *user) {
    const char *type = sandbox_req_param(req, "media_type");
    const char *category = sandbox_req_param(req, "media_category");
    const char *total_text = sandbox_req_param(req, "total_bytes");
    char *end = NULL;
    long long total = total_text ? strtoll(total_text, &end, 10) : -1;
    if (type == NULL || category == NULL || total_text == NULL || *end != '\0' || total < 1 ||
        strlen(type) >= 48 || strlen(category) >= 24 || !xc_type_fits(category, type, total)) {
        xc_problem(req, 400, "Invalid Request",
                   "media_type, media_category (tweet_video or tweet_gif) and total_bytes "
                   "within X's limits are required.");
        return;
    }
    xc_upload *u = calloc(1, sizeof(*u));
    if (u == NULL || sandbox_fold_init(&u->fold, XC_MAX_SEGMENTS) != 0) {
        free(u);
        sandbox_reply_json(req, 500, NULL);
        return;
    }
    snprintf(u->id, sizeof(u->id), "%" PRIu64, sandbox_next_object_id());
    snprintf(u->user, sizeof(u->user), "%s", user);
    snprintf(u->media_type, sizeof(u->media_type), "%s", type);
    snprintf(u->category, sizeof(u->category), "%s", category);
    u->total = total;
    size_t slot = xc_next++ % XC_MAX_UPLOADS;
    xc_free(xc_uploads[slot]);
    xc_uploads[slot] = u;
    char key[40];
    snprintf(key, sizeof(key), "7_%s", u->id);
    sandbox_reply_json(req, 200,
                       json_pack("{s:{s:s,s:s,s:i}}", "data", "id", u->id, "media_key", key,
                                 "expires_after_secs", 86400));
}

/* x_expire_uploads: is this upload one of the next n to forget? */
static int xc_should_expire(const sandbox_knobs *k) {
    if (k->x_expire_uploads != xc_expire_knob) {
        xc_expire_knob = k->x_expire_uploads;
        xc_expired = 0;
    }
    if (xc_expired >= xc_expire_knob) return 0;
    xc_expired++;
    return 1;
}

static void xc_append(sandbox_request *req, xc_upload *u) {
    size_t idx_len = 0, len = 0;
    const char *idx_text = sandbox_req_part(req, "segment_index", &idx_len);
    const char *data = sandbox_req_part(req, "media", &len);
    char digits[8];
    if (u->state != XC_UPLOADING) {
        xc_problem(req, 400, "Invalid Request", "The upload was already finalized.");
        return;
    }
    if (idx_text == NULL || idx_len == 0 || idx_len >= sizeof(digits) || data == NULL || len == 0 ||
        (long)len > XC_MAX_SEGMENT_BYTES) {
        xc_problem(req, 400, "Invalid Request",
                   "segment_index and a media part of 1 byte to 5 MB are required.");
        return;
    }
    memcpy(digits, idx_text, idx_len);
    digits[idx_len] = '\0';
    char *end;
    long idx = strtol(digits, &end, 10);
    if (*end != '\0' || idx < 0 || idx >= XC_MAX_SEGMENTS) {
        xc_problem(req, 400, "Invalid Request", "segment_index must be 0 to 999.");
        return;
    }
    if (sandbox_fold_take(&u->fold, (int)idx, (const unsigned char *)data, len) != 0) {
        sandbox_reply_json(req, 500, NULL);
        return;
    }
    if (u->narrivals < XC_MAX_ARRIVALS) u->arrivals[u->narrivals++] = (int)idx;
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (u->narrivals == 1 && xc_should_expire(&k)) {
        u->state = XC_EXPIRED; /* this answer goes out; the next call finds nothing */
        sandbox_fold_drop_held(&u->fold);
    }
    if (k.x_append_fail_segment > 0 && idx == k.x_append_fail_segment - 1 && !u->failed_append) {
        u->failed_append = 1;
        xc_problem(req, 503, "Service Unavailable", "Service Unavailable");
        return;
    }
    sandbox_reply_json(req, 200,
                       json_pack("{s:{s:I}}", "data", "expires_at",
                                 (json_int_t)(sandbox_req_received_ms(req) / 1000 + 86400)));
}

static json_t *xc_processing(const xc_upload *u) {
    switch (u->state) {
    case XC_SUCCEEDED: return json_pack("{s:s,s:i}", "state", "succeeded", "progress_percent", 100);
    case XC_FAILED:
        return json_pack("{s:s,s:i,s:{s:i,s:s,s:s}}", "state", "failed", "progress_percent", 100,
                         "error", "code", 1, "name", "InvalidMedia", "message",
                         "Unsupported video: longer than 140 seconds");
    case XC_PROCESSING:
    default:
        return json_pack("{s:s,s:i,s:i}", "state", u->polls == 0 ? "pending" : "in_progress",
                         "check_after_secs", 1, "progress_percent", u->polls * 10 % 100);
    }
}

static void xc_reply_processing(sandbox_request *req, const xc_upload *u) {
    char key[40];
    snprintf(key, sizeof(key), "7_%s", u->id);
    sandbox_reply_json(req, 200,
                       json_pack("{s:{s:s,s:s,s:I,s:o}}", "data", "id", u->id, "media_key", key,
                                 "size", (json_int_t)u->assembled, "processing_info",
                                 xc_processing(u)));
}

static void xc_finalize(sandbox_request *req, xc_upload *u) {
    if (u->state != XC_UPLOADING) {
        xc_problem(req, 400, "Invalid Request", "The upload was already finalized.");
        return;
    }
    int n = sandbox_fold_no_gap(&u->fold) ? u->fold.folded : -1; /* -1: a segment is missing */
    long long bytes = u->fold.bytes;
    if (n <= 0 || bytes != u->total) {
        xc_problem(req, 400, "Invalid Request",
                   "The segments are not 0..n-1 or do not add up to total_bytes.");
        return;
    }
    if (u->fold.resent_other_bytes) {
        xc_problem(req, 400, "Invalid Request",
                   "sandbox: a segment was sent again with other bytes after later ones; "
                   "the sandbox keeps no copy to reassemble it.");
        return;
    }
    u->cksum = sandbox_fold_cksum(&u->fold);
    u->segments = n;
    u->assembled = bytes;
    sandbox_fold_drop_held(&u->fold);
    u->state = XC_PROCESSING;
    xc_reply_processing(req, u);
}

static void xc_status(sandbox_request *req, xc_upload *u) {
    const char *cmd = sandbox_req_query(req, "command");
    if (cmd == NULL || strcmp(cmd, "STATUS") != 0 || u->state == XC_UPLOADING) {
        xc_problem(req, 400, "Invalid Request", "command=STATUS of a finalized upload only.");
        return;
    }
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    u->polls++;
    if (u->state == XC_PROCESSING && u->polls > k.x_processing_polls)
        u->state = k.x_processing_fail ? XC_FAILED : XC_SUCCEEDED;
    xc_reply_processing(req, u);
}

x_chunked_route sandbox_x_chunked_route(const char *method, char *const *seg, int n) {
    int post = strcmp(method, "POST") == 0;
    if (n < 3 || strcmp(seg[1], "media") != 0 || strcmp(seg[2], "upload") != 0)
        return X_CHUNKED_NONE;
    if (post && n == 4 && strcmp(seg[3], "initialize") == 0) return X_CHUNKED_INIT;
    if (post && n == 5 && strcmp(seg[4], "append") == 0) return X_CHUNKED_APPEND;
    if (post && n == 5 && strcmp(seg[4], "finalize") == 0) return X_CHUNKED_FINALIZE;
    if (strcmp(method, "GET") == 0 && n == 3) return X_CHUNKED_STATUS;
    return X_CHUNKED_NONE;
}

void sandbox_x_chunked_handle(sandbox_request *req, x_chunked_route route, const char *user,
                              const char *id) {
    if (route == X_CHUNKED_INIT) {
        xc_init(req, user);
        return;
    }
    if (route == X_CHUNKED_STATUS) id = sandbox_req_query(req, "media_id");
    xc_upload *u = xc_find(id, user);
    if (u == NULL || u->state == XC_EXPIRED) {
        xc_not_found(req);
        return;
    }
    if (route == X_CHUNKED_APPEND)
        xc_append(req, u);
    else if (route == X_CHUNKED_FINALIZE)
        xc_finalize(req, u);
    else
        xc_status(req, u);
}

int sandbox_x_chunked_ready(const char *id, const char *user) {
    const xc_upload *u = xc_find(id, user);
    return u && u->state == XC_SUCCEEDED;
}

json_t *sandbox_x_chunked_json(void) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < XC_MAX_UPLOADS && i < xc_next; i++) {
        /* oldest first */
        size_t slot = xc_next > XC_MAX_UPLOADS ? (xc_next + i) % XC_MAX_UPLOADS : i;
        const xc_upload *u = xc_uploads[slot];
        json_t *arrivals = json_array();
        for (int a = 0; arrivals && a < u->narrivals; a++)
            json_array_append_new(arrivals, json_integer(u->arrivals[a]));
        char ck[16];
        snprintf(ck, sizeof(ck), "%" PRIu32, u->cksum);
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:i,s:I,s:s,s:i}", "id", u->id, "user",
                           u->user, "media_type", u->media_type, "media_category", u->category,
                           "total_bytes", (json_int_t)u->total, "state", xc_state_names[u->state],
                           "arrivals", arrivals ? arrivals : json_array(), "segments", u->segments,
                           "bytes", (json_int_t)u->assembled, "cksum", ck, "polls", u->polls));
    }
    return arr ? json_pack("{s:o}", "uploads", arr) : NULL;
}

void sandbox_x_chunked_reset(void) {
    for (size_t i = 0; i < XC_MAX_UPLOADS; i++) {
        xc_free(xc_uploads[i]);
        xc_uploads[i] = NULL;
    }
    xc_next = 0;
    xc_expire_knob = -1;
    xc_expired = 0;
}
