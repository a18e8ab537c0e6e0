/* linkedin_documents.c -- imitation of LinkedIn's Documents API (PDF
 * carousels):
 *
 *   POST /linkedin/rest/documents?action=initializeUpload
 *        {"initializeUploadRequest":{"owner"}}
 *        -> {"value":{"uploadUrlExpiresAt","uploadUrl","document":"urn:li:document:D<n>"}}
 *   PUT  /linkedin/dms-uploads/document/<n>   the whole file (up to 100 MB)
 *        -> 201; the same URL again replaces the file
 *   GET  /linkedin/rest/documents/<urn>  {"id","owner","status"}:
 *        WAITING_UPLOAD before the PUT, then PROCESSING for
 *        linkedin_document_processing_polls calls, then AVAILABLE (or
 *        PROCESSING_FAILED with linkedin_document_processing_fail)
 * A post names an AVAILABLE document of its author in content.media
 * {id, title}; the title is required.
 *
 * Failure modes (knobs):
 *   linkedin_document_put_fail = n       in every upload, the first n PUTs
 *                                        are stored and then answered 502
 *   linkedin_document_processing_polls   PROCESSING this many times first
 *   linkedin_document_processing_fail    processing ends PROCESSING_FAILED
 *   linkedin_document_expire_uploads = n the next n uploads (counted since
 *                                        the knob changed) are handed out
 *                                        expired: every PUT gets 403
 *
 * Tests read GET /_sandbox/linkedin/documents: per upload the PUTs that
 * arrived, the stored file's size and POSIX cksum (what `cksum` prints for
 * the original), the polls, the status and the title a post gave it. Only
 * the size and checksum of a file are kept; only the MHD thread touches
 * this file's state. */
#include "linkedin_documents.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LD_MAX_UPLOADS 32 /* remembered; the oldest is dropped */
#define LD_MAX_BYTES (100LL * 1024 * 1024)
#define LD_URL_TTL_MS (60LL * 60 * 1000) /* LinkedIn's upload URLs last about an hour */

typedef enum ld_status { LD_WAITING, LD_PROCESSING, LD_AVAILABLE, LD_FAILED } ld_status;
static const char *const ld_status_names[] = {"WAITING_UPLOAD", "PROCESSING", "AVAILABLE",
                                              "PROCESSING_FAILED"};

typedef struct ld_upload {
    uint64_t n;
    char owner[100];
    int puts;    /* PUTs that arrived (expired ones included) */
    int expired; /* handed out expired: every PUT is refused */
    long long bytes;
    uint32_t cksum;
    ld_status status;
    int polls;
    char title[401]; /* the last post naming it */
} ld_upload;

static ld_upload *ld_uploads[LD_MAX_UPLOADS];
static size_t ld_next;
static long ld_expire_knob = -1, ld_expired;

static void ld_error(sandbox_request *req, unsigned status, const char *code, const char *message) {
    sandbox_stats_error((int)status);
    sandbox_reply_json(
        req, status,
        json_pack("{s:i,s:s,s:s}", "status", (int)status, "code", code, "message", message));
}

static ld_upload *ld_find_n(uint64_t n) {
    for (size_t i = 0; i < LD_MAX_UPLOADS; i++)
        if (ld_uploads[i] && ld_uploads[i]->n == n) return ld_uploads[i];
    return NULL;
}

static ld_upload *ld_find_urn(const char *urn) {
    char *end;
    if (urn == NULL || strncmp(urn, "urn:li:document:D", 17) != 0) return NULL;
    uint64_t n = strtoull(urn + 17, &end, 10);
    return *end == '\0' ? ld_find_n(n) : NULL;
}

static int ld_should_expire(void) {
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (k.linkedin_document_expire_uploads != ld_expire_knob) {
        ld_expire_knob = k.linkedin_document_expire_uploads;
        ld_expired = 0;
    }
    if (ld_expired >= ld_expire_knob) return 0;
    ld_expired++;
    return 1;
}

static void ld_initialize(sandbox_request *req) {
    const char *init = sandbox_req_param(req, "initializeUploadRequest");
    json_t *root = init ? json_loads(init, 0, NULL) : NULL;
    json_t *owner = json_object_get(root, "owner");
    if (!json_is_string(owner) || json_string_length(owner) >= 100 ||
        (strncmp(json_string_value(owner), "urn:li:person:", 14) != 0 &&
         strncmp(json_string_value(owner), "urn:li:organization:", 20) != 0)) {
        json_decref(root);
        ld_error(req, 422, "UNPROCESSABLE_ENTITY",
                 "ERROR :: /initializeUploadRequest/owner :: a person or organization URN is "
                 "required");
        return;
    }
    ld_upload *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        json_decref(root);
        ld_error(req, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error");
        return;
    }
    u->n = sandbox_next_object_id();
    u->expired = ld_should_expire();
    snprintf(u->owner, sizeof(u->owner), "%s", json_string_value(owner));
    json_decref(root);
    size_t slot = ld_next++ % LD_MAX_UPLOADS;
    free(ld_uploads[slot]);
    ld_uploads[slot] = u;
    const char *host = sandbox_req_header(req, "Host");
    char url[512], urn[64];
    snprintf(url, sizeof(url), "http://%.200s/linkedin/dms-uploads/document/%" PRIu64,
             host ? host : "localhost", u->n);
    snprintf(urn, sizeof(urn), "urn:li:document:D%" PRIu64, u->n);
    /* An expired URL says so in its expiry, as a stale one would. */
    json_int_t expires =
        (json_int_t)(sandbox_req_received_ms(req) + (u->expired ? -1000 : LD_URL_TTL_MS));
    sandbox_reply_json(req, 200,
                       json_pack("{s:{s:I,s:s,s:s}}", "value", "uploadUrlExpiresAt", expires,
                                 "uploadUrl", url, "document", urn));
}

void sandbox_li_documents_put(sandbox_request *req, const char *rest) {
    char *end;
    uint64_t n = strtoull(rest, &end, 10);
    ld_upload *u = *end == '\0' && end != rest ? ld_find_n(n) : NULL;
    size_t len = 0;
    const char *body = sandbox_req_body(req, &len);
    if (u == NULL) {
        ld_error(req, 404, "NOT_FOUND", "Upload URL not found");
        return;
    }
    u->puts++;
    if (u->expired) {
        ld_error(req, 403, "FORBIDDEN", "Upload URL expired");
        return;
    }
    if (u->status != LD_WAITING) {
        ld_error(req, 400, "ILLEGAL_ARGUMENT", "The document was already uploaded and processed");
        return;
    }
    if (body == NULL || len == 0 || (long long)len > LD_MAX_BYTES) {
        ld_error(req, 400, "ILLEGAL_ARGUMENT", "A document must be 1 byte to 100 MB");
        return;
    }
    uint32_t crc = 0;
    for (size_t b = 0; b < len; b++) crc = sandbox_crc_step(crc, (unsigned char)body[b]);
    u->bytes = (long long)len; /* the same URL again: the last file counts */
    u->cksum = sandbox_cksum_finish(crc, (unsigned long long)len);
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (u->puts <= k.linkedin_document_put_fail) {
        ld_error(req, 502, "BAD_GATEWAY", "Bad Gateway");
        return;
    }
    u->status = LD_PROCESSING;
    sandbox_reply_empty(req, 201);
}

void sandbox_li_documents_action(sandbox_request *req) {
    const char *action = sandbox_req_query(req, "action");
    if (action && strcmp(action, "initializeUpload") == 0)
        ld_initialize(req);
    else
        ld_error(req, 400, "ILLEGAL_ARGUMENT", "action must be initializeUpload");
}

void sandbox_li_documents_get(sandbox_request *req, const char *urn) {
    ld_upload *u = ld_find_urn(urn);
    if (u == NULL) {
        ld_error(req, 404, "NOT_FOUND", "Document not found");
        return;
    }
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (u->status == LD_PROCESSING && ++u->polls > k.linkedin_document_processing_polls)
        u->status = k.linkedin_document_processing_fail ? LD_FAILED : LD_AVAILABLE;
    sandbox_reply_json(req, 200,
                       json_pack("{s:s,s:s,s:s}", "id", urn, "owner", u->owner, "status",
                                 ld_status_names[u->status]));
}

int sandbox_li_documents_use(const char *urn, const char *owner, const char *title) {
    ld_upload *u = ld_find_urn(urn);
    if (u == NULL || u->status != LD_AVAILABLE || owner == NULL || strcmp(u->owner, owner) != 0)
        return 0;
    snprintf(u->title, sizeof(u->title), "%s", title);
    return 1;
}

json_t *sandbox_li_documents_json(void) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < LD_MAX_UPLOADS && i < ld_next; i++) {
        size_t slot =
            ld_next > LD_MAX_UPLOADS ? (ld_next + i) % LD_MAX_UPLOADS : i; /* oldest first */
        const ld_upload *u = ld_uploads[slot];
        char urn[64], ck[16];
        snprintf(urn, sizeof(urn), "urn:li:document:D%" PRIu64, u->n);
        snprintf(ck, sizeof(ck), "%" PRIu32, u->cksum);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:b,s:I,s:s,s:s,s:i,s:s}", "document",
                                             urn, "owner", u->owner, "puts", u->puts, "expired",
                                             u->expired, "bytes", (json_int_t)u->bytes, "cksum", ck,
                                             "status", ld_status_names[u->status], "polls",
                                             u->polls, "title", u->title));
    }
    return arr ? json_pack("{s:o}", "documents", arr) : NULL;
}

void sandbox_li_documents_reset(void) {
    for (size_t i = 0; i < LD_MAX_UPLOADS; i++) {
        free(ld_uploads[i]);
        ld_uploads[i] = NULL;
    }
    ld_next = 0;
    ld_expire_knob = -1;
    ld_expired = 0;
}
