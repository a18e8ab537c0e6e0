/* linkedin_videos.c -- imitation of LinkedIn's Videos API:
 *
 *   POST /linkedin/rest/videos?action=initializeUpload
 *        {"initializeUploadRequest":{"owner","fileSizeBytes",...}}
 *        -> {"value":{"video":"urn:li:video:C<n>","uploadToken":"",
 *            "uploadInstructions":[{"uploadUrl","firstByte","lastByte"}]}}
 *        parts of 4 MiB (the last one shorter), up to 500 MB
 *   PUT  /linkedin/dms-uploads/video/<n>/<part>   the part's exact bytes
 *        -> 200 with an ETag; the same part again replaces it
 *   POST /linkedin/rest/videos?action=finalizeUpload
 *        {"finalizeUploadRequest":{"video","uploadToken","uploadedPartIds"}}
 *        -> 200: every part arrived and the ids are their ETags in order;
 *        else 400
 *   GET  /linkedin/rest/videos/<urn>  {"id","owner","status",...}:
 *        PROCESSING for linkedin_video_processing_polls calls, then
 *        AVAILABLE (or PROCESSING_FAILED with linkedin_video_processing_fail)
 * Before finalize the status is WAITING_UPLOAD.
 *
 * Failure modes (knobs):
 *   linkedin_video_part_fail = k      in every upload, the first PUT of part
 *                                     k is stored and then answered 502
 *   linkedin_video_processing_polls   PROCESSING this many times first
 *   linkedin_video_processing_fail    processing ends PROCESSING_FAILED
 *   linkedin_video_expire_uploads = n the next n uploads (counted since the
 *                                     knob changed) expire after their first
 *                                     part: later PUTs get 403
 *
 * Tests read GET /_sandbox/linkedin/videos: per upload the part numbers in
 * arrival order, the parts and bytes assembled at finalize and their POSIX
 * cksum (what `cksum` prints for the original file), the polls and the
 * status. No file is kept whole: parts are folded into a running checksum
 * as they arrive (fold.h), and a part sent again with other bytes after
 * it was folded makes finalize refuse the upload. Only the MHD thread
 * touches this file's state. */
#include "linkedin_videos.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

/* Remembered uploads, the oldest dropped: a mixed seed has 250 in flight. */
#define LV_MAX_UPLOADS 512
#define LV_PART (4LL * 1024 * 1024)
#define LV_MAX_BYTES (500LL * 1024 * 1024)
#define LV_MAX_PARTS 125 /* 500 MB / 4 MiB, rounded up */
#define LV_MAX_ARRIVALS 1024

typedef enum lv_status { LV_WAITING, LV_PROCESSING, LV_AVAILABLE, LV_FAILED } lv_status;
static const char *const lv_status_names[] = {"WAITING_UPLOAD", "PROCESSING", "AVAILABLE",
                                              "PROCESSING_FAILED"};

typedef struct lv_upload {
    uint64_t n;
    char owner[100];
    long long size;
    int nparts;
    sandbox_fold fold; /* what arrived, as a running checksum */
    char etag[LV_MAX_PARTS][40];
    int arrivals[LV_MAX_ARRIVALS]; /* part numbers, 1-based */
    int narrivals;
    int failed_part; /* the knob's 502 was answered */
    int expired;
    lv_status status;
    int polls;
    int assembled_parts;
    long long assembled;
    uint32_t cksum;
} lv_upload;

static lv_upload *lv_uploads[LV_MAX_UPLOADS];
static size_t lv_next;
static long lv_expire_knob = -1, lv_expired;

static void lv_error(sandbox_request *req, unsigned status, const char *code, const char *message) {
    sandbox_stats_error((int)status);
    sandbox_reply_json(
        req, status,
        json_pack("{s:i,s:s,s:s}", "status", (int)status, "code", code, "message", message));
}

static long long lv_part_first(int i) { return (long long)i * LV_PART; }

static long long lv_part_len(const lv_upload *u, int i) {
    long long left = u->size - lv_part_first(i);
    return left < LV_PART ? left : LV_PART;
}

static void lv_free(lv_upload *u) {
    if (u) sandbox_fold_free(&u->fold);
    free(u);
}

static lv_upload *lv_find_n(uint64_t n) {
    for (size_t i = 0; i < LV_MAX_UPLOADS; i++)
        if (lv_uploads[i] && lv_uploads[i]->n == n) return lv_uploads[i];
    return NULL;
}

static lv_upload *lv_find_urn(const char *urn) {
    char *end;
    if (urn == NULL || strncmp(urn, "urn:li:video:C", 14) != 0) return NULL;
    uint64_t n = strtoull(urn + 14, &end, 10);
    return *end == '\0' ? lv_find_n(n) : NULL;
}

static int lv_should_expire(void) {
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (k.linkedin_video_expire_uploads != lv_expire_knob) {
        lv_expire_knob = k.linkedin_video_expire_uploads;
        lv_expired = 0;
    }
    if (lv_expired >= lv_expire_knob) return 0;
    lv_expired++;
    return 1;
}

static void lv_initialize(sandbox_request *req) {
    const char *init = sandbox_req_param(req, "initializeUploadRequest");
    json_t *root = init ? json_loads(init, 0, NULL) : NULL;
    json_t *owner = json_object_get(root, "owner"), *size = json_object_get(root, "fileSizeBytes");
    if (!json_is_string(owner) || json_string_length(owner) >= 100 ||
        (strncmp(json_string_value(owner), "urn:li:person:", 14) != 0 &&
         strncmp(json_string_value(owner), "urn:li:organization:", 20) != 0) ||
        !json_is_integer(size) || json_integer_value(size) <= 0 ||
        json_integer_value(size) > LV_MAX_BYTES) {
        json_decref(root);
        lv_error(req, 422, "UNPROCESSABLE_ENTITY",
                 "ERROR :: /initializeUploadRequest :: owner URN and fileSizeBytes (1 byte to "
                 "500 MB) are required");
        return;
    }
    lv_upload *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        json_decref(root);
        lv_error(req, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error");
        return;
    }
    u->n = sandbox_next_object_id();
    u->size = (long long)json_integer_value(size);
    u->nparts = (int)((u->size + LV_PART - 1) / LV_PART);
    if (sandbox_fold_init(&u->fold, u->nparts) != 0) {
        free(u);
        json_decref(root);
        lv_error(req, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error");
        return;
    }
    u->expired = 0;
    snprintf(u->owner, sizeof(u->owner), "%s", json_string_value(owner));
    json_decref(root);
    size_t slot = lv_next++ % LV_MAX_UPLOADS;
    lv_free(lv_uploads[slot]);
    lv_uploads[slot] = u;
    const char *host = sandbox_req_header(req, "Host");
    json_t *list = json_array();
    for (int i = 0; list && i < u->nparts; i++) {
        char url[512];
        snprintf(url, sizeof(url), "%s://%.200s/linkedin/dms-uploads/video/%" PRIu64 "/%d",
                 sandbox_url_scheme(), host ? host : "localhost", u->n, i + 1);
        json_array_append_new(list,
                              json_pack("{s:s,s:I,s:I}", "uploadUrl", url, "firstByte",
                                        (json_int_t)lv_part_first(i), "lastByte",
                                        (json_int_t)(lv_part_first(i) + lv_part_len(u, i) - 1)));
    }
    char urn[64];
    snprintf(urn, sizeof(urn), "urn:li:video:C%" PRIu64, u->n);
    sandbox_reply_json(req, 200,
                       json_pack("{s:{s:s,s:s,s:o}}", "value", "video", urn, "uploadToken", "",
                                 "uploadInstructions", list ? list : json_array()));
}

void sandbox_li_videos_put(sandbox_request *req, const char *rest) {
    char *end;
    uint64_t n = strtoull(rest, &end, 10);
    long part = *end == '/' ? strtol(end + 1, &end, 10) : 0;
    lv_upload *u = *end == '\0' ? lv_find_n(n) : NULL;
    size_t len = 0;
    const char *body = sandbox_req_body(req, &len);
    if (u == NULL || part < 1 || part > u->nparts) {
        lv_error(req, 404, "NOT_FOUND", "Upload URL not found");
        return;
    }
    if (u->expired) {
        lv_error(req, 403, "FORBIDDEN", "Upload URL expired");
        return;
    }
    if (u->status != LV_WAITING) {
        lv_error(req, 400, "ILLEGAL_ARGUMENT", "The upload was already finalized");
        return;
    }
    int i = (int)part - 1;
    if (body == NULL || (long long)len != lv_part_len(u, i)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Part %d must be exactly %lld bytes (got %zu)", (int)part,
                 lv_part_len(u, i), len);
        lv_error(req, 400, "ILLEGAL_ARGUMENT", msg);
        return;
    }
    if (sandbox_fold_take(&u->fold, i, (const unsigned char *)body, len) != 0) {
        lv_error(req, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error");
        return;
    }
    uint32_t crc = sandbox_crc_update(0, (const unsigned char *)body, len);
    snprintf(u->etag[i], sizeof(u->etag[i]), "\"p%d-%08" PRIx32 "\"", (int)part, crc);
    if (u->narrivals < LV_MAX_ARRIVALS) u->arrivals[u->narrivals++] = (int)part;
    if (u->narrivals == 1 && lv_should_expire()) u->expired = 1; /* later PUTs get 403 */
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (k.linkedin_video_part_fail == part && !u->failed_part) {
        u->failed_part = 1;
        lv_error(req, 502, "BAD_GATEWAY", "Bad Gateway");
        return;
    }
    if (sandbox_reply_header(req, "ETag", u->etag[i]) != 0)
        sandbox_log("linkedin: cannot add ETag");
    sandbox_reply_empty(req, 200);
}

static void lv_finalize(sandbox_request *req) {
    const char *fin = sandbox_req_param(req, "finalizeUploadRequest");
    json_t *root = fin ? json_loads(fin, 0, NULL) : NULL;
    json_t *ids = json_object_get(root, "uploadedPartIds");
    json_t *token = json_object_get(root, "uploadToken");
    lv_upload *u = lv_find_urn(json_string_value(json_object_get(root, "video")));
    const char *err = NULL;
    if (u == NULL)
        err = "ERROR :: /finalizeUploadRequest/video :: unknown video";
    else if (u->status != LV_WAITING)
        err = "ERROR :: /finalizeUploadRequest/video :: already finalized";
    else if (!json_is_string(token) || !json_is_array(ids) ||
             json_array_size(ids) != (size_t)u->nparts)
        err = "ERROR :: /finalizeUploadRequest :: uploadToken and one uploadedPartId per part";
    for (int i = 0; err == NULL && i < u->nparts; i++) {
        json_t *id = json_array_get(ids, (size_t)i);
        if (!sandbox_fold_has(&u->fold, i))
            err = "ERROR :: /finalizeUploadRequest :: a part was never uploaded";
        else if (!json_is_string(id) || strcmp(json_string_value(id), u->etag[i]) != 0)
            err = "ERROR :: /finalizeUploadRequest/uploadedPartIds :: not the parts' ETags in "
                  "order";
    }
    if (err == NULL && u->fold.resent_other_bytes)
        err = "sandbox: a part was sent again with other bytes after later ones; the sandbox "
              "keeps no copy to reassemble it";
    if (err) {
        json_decref(root);
        lv_error(req, 400, "ILLEGAL_ARGUMENT", err);
        return;
    }
    json_decref(root);
    /* Every part arrived, so every part is folded: fold.bytes == size. */
    u->assembled_parts = u->fold.folded;
    u->assembled = u->fold.bytes;
    u->cksum = sandbox_fold_cksum(&u->fold);
    sandbox_fold_drop_held(&u->fold);
    u->status = LV_PROCESSING;
    sandbox_reply_empty(req, 200);
}

void sandbox_li_videos_action(sandbox_request *req) {
    const char *action = sandbox_req_query(req, "action");
    if (action && strcmp(action, "initializeUpload") == 0)
        lv_initialize(req);
    else if (action && strcmp(action, "finalizeUpload") == 0)
        lv_finalize(req);
    else
        lv_error(req, 400, "ILLEGAL_ARGUMENT", "action must be initializeUpload or finalizeUpload");
}

void sandbox_li_videos_get(sandbox_request *req, const char *urn) {
    lv_upload *u = lv_find_urn(urn);
    if (u == NULL) {
        lv_error(req, 404, "NOT_FOUND", "Video not found");
        return;
    }
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (u->status == LV_PROCESSING && ++u->polls > k.linkedin_video_processing_polls)
        u->status = k.linkedin_video_processing_fail ? LV_FAILED : LV_AVAILABLE;
    json_t *v = json_pack("{s:s,s:s,s:s}", "id", urn, "owner", u->owner, "status",
                          lv_status_names[u->status]);
    if (v && u->status == LV_FAILED)
        json_object_set_new(v, "processingFailureReason", json_string("Video codec not supported"));
    sandbox_reply_json(req, 200, v);
}

int sandbox_li_videos_available(const char *urn, const char *owner) {
    const lv_upload *u = lv_find_urn(urn);
    return u && u->status == LV_AVAILABLE && owner && strcmp(u->owner, owner) == 0;
}

json_t *sandbox_li_videos_json(void) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < LV_MAX_UPLOADS && i < lv_next; i++) {
        size_t slot =
            lv_next > LV_MAX_UPLOADS ? (lv_next + i) % LV_MAX_UPLOADS : i; /* oldest first */
        const lv_upload *u = lv_uploads[slot];
        json_t *arrivals = json_array();
        for (int a = 0; arrivals && a < u->narrivals; a++)
            json_array_append_new(arrivals, json_integer(u->arrivals[a]));
        char urn[64], ck[16];
        snprintf(urn, sizeof(urn), "urn:li:video:C%" PRIu64, u->n);
        snprintf(ck, sizeof(ck), "%" PRIu32, u->cksum);
        json_array_append_new(
            arr,
            json_pack("{s:s,s:s,s:I,s:i,s:s,s:b,s:o,s:i,s:I,s:s,s:i}", "video", urn, "owner",
                      u->owner, "file_size", (json_int_t)u->size, "parts", u->nparts, "status",
                      lv_status_names[u->status], "expired", u->expired, "arrivals",
                      arrivals ? arrivals : json_array(), "assembled_parts", u->assembled_parts,
                      "bytes", (json_int_t)u->assembled, "cksum", ck, "polls", u->polls));
    }
    return arr ? json_pack("{s:o}", "videos", arr) : NULL;
}

void sandbox_li_videos_reset(void) {
    for (size_t i = 0; i < LV_MAX_UPLOADS; i++) {
        lv_free(lv_uploads[i]);
        lv_uploads[i] = NULL;
    }
    lv_next = 0;
    lv_expire_knob = -1;
    lv_expired = 0;
}
