/* test_linkedin_video.c -- LinkedIn's video upload (linkedin_video.c), driven
 * through the LinkedIn adapter without a network: each request is inspected
 * as a value, each answer (the media host's ranged reads, LinkedIn's Videos
 * API) is fed back, and the parsers are checked on their own. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "linkedin_video.h"
#include "test.h"
#include "video_case.h"

#define TOKEN VC_TOKEN
#define AUTHOR "urn:li:organization:2414183"
#define BASE "https://api.linkedin.example"
#define VIDEO_URL "https://cdn.example/clip.mp4"
#define UPLOAD "https://www.linkedin.com/dms-uploads/"
#define URN "urn:li:video:C5505AQH"
#define FIRST_READ 1000
#define TOTAL VC_TOTAL

typedef vc_case v_case;

static void case_init(v_case *c) {
    vc_init(c, "linkedin", BASE, "202411", AUTHOR, "a video (launch)", VIDEO_URL, FIRST_READ);
}

static void case_start(v_case *c) {
    case_init(c);
    vc_start(c);
}

static void case_end(v_case *c) { vc_end(c); }

static void check_fetch(v_case *c, const char *range) {
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, VIDEO_URL);
    CHECK(c->req.outside_url);
    CHECK(vc_req_header(&c->req, "Authorization") == NULL); /* never the token to a media host */
    CHECK_STR_EQ(vc_req_header(&c->req, "Range"), range);
}

/* A PUT of bytes [first, last] to UPLOAD<name>. */
static void check_put(v_case *c, const char *name, long first, long last) {
    char url[128];
    snprintf(url, sizeof(url), UPLOAD "%s", name);
    CHECK_STR_EQ(c->req.method, "PUT");
    CHECK_STR_EQ(c->req.url, url);
    CHECK(c->req.outside_url); /* the outbound policy applies to upload URLs too */
    CHECK_STR_EQ(vc_req_header(&c->req, "Content-Type"), "application/octet-stream");
    CHECK_STR_EQ(vc_req_header(&c->req, "Authorization"), "Bearer " TOKEN);
    CHECK(c->req.body_len == (size_t)(last - first + 1));
    CHECK(c->req.body && memcmp(c->req.body, c->file + first, c->req.body_len) == 0);
}

/* initializeUpload's answer: parts of size bytes, URLs UPLOAD<tag><n>. */
static char *init_body(const char *urn, const char *tag, long size, long total) {
    json_t *list = json_array();
    for (long first = 0, n = 1; first < total; first += size, n++) {
        char url[128];
        long last = first + size - 1 < total - 1 ? first + size - 1 : total - 1;
        snprintf(url, sizeof(url), UPLOAD "%s%ld", tag, n);
        json_array_append_new(list, json_pack("{s:s,s:I,s:I}", "uploadUrl", url, "firstByte",
                                              (json_int_t)first, "lastByte", (json_int_t)last));
    }
    json_t *root = json_pack("{s:{s:s,s:o,s:s}}", "value", "video", urn, "uploadInstructions", list,
                             "uploadToken", "");
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static ap_step_kind answer_init(v_case *c, const char *urn, const char *tag, long size) {
    char *body = init_body(urn, tag, size, TOTAL);
    ap_step_kind k = vc_answer(c, 200, body);
    free(body);
    return k;
}

static void check_init(v_case *c) {
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, BASE "/rest/videos?action=initializeUpload");
    CHECK_STR_EQ(vc_req_header(&c->req, "LinkedIn-Version"), "202411");
    CHECK_STR_EQ(vc_req_header(&c->req, "X-Restli-Protocol-Version"), "2.0.0");
    CHECK(!c->req.outside_url);
    json_t *b = json_loads(c->req.body, 0, NULL);
    json_t *i = json_object_get(b, "initializeUploadRequest");
    CHECK_STR_EQ(json_string_value(json_object_get(i, "owner")), AUTHOR);
    CHECK(json_integer_value(json_object_get(i, "fileSizeBytes")) == TOTAL);
    CHECK(json_is_false(json_object_get(i, "uploadCaptions")));
    CHECK(json_is_false(json_object_get(i, "uploadThumbnail")));
    json_decref(b);
}

/* finalizeUpload names the video and its parts' ETags in order. */
static void check_finalize(v_case *c, const char *urn, const char *const *etags, size_t n) {
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, BASE "/rest/videos?action=finalizeUpload");
    json_t *b = json_loads(c->req.body, 0, NULL);
    json_t *f = json_object_get(b, "finalizeUploadRequest");
    CHECK_STR_EQ(json_string_value(json_object_get(f, "video")), urn);
    CHECK_STR_EQ(json_string_value(json_object_get(f, "uploadToken")), "");
    json_t *ids = json_object_get(f, "uploadedPartIds");
    CHECK(json_array_size(ids) == n);
    for (size_t i = 0; i < n; i++)
        CHECK_STR_EQ(json_string_value(json_array_get(ids, i)), etags[i]);
    json_decref(b);
}

/* Reads, init and three PUTs of 1000, 1000 and 500 bytes (part 1 is the
 * first read's bytes, not read twice). */
static void upload_parts(v_case *c, const char *urn, const char *tag) {
    char name[32];
    check_fetch(c, "bytes=0-999");
    CHECK(vc_serve(c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    check_init(c);
    CHECK(answer_init(c, urn, tag, 1000) == AP_STEP_REQUEST);
    snprintf(name, sizeof(name), "%s1", tag);
    check_put(c, name, 0, 999);
    CHECK(vc_answer_h(c, 200, NULL, "ETag", "etag-1") == AP_STEP_REQUEST);
    check_fetch(c, "bytes=1000-1999");
    CHECK(vc_serve(c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    snprintf(name, sizeof(name), "%s2", tag);
    check_put(c, name, 1000, 1999);
    CHECK(vc_answer_h(c, 201, NULL, "etag", "etag-2") == AP_STEP_REQUEST);
    check_fetch(c, "bytes=2000-2499");
    CHECK(vc_serve(c, 2000, 2499, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    snprintf(name, sizeof(name), "%s3", tag);
    check_put(c, name, 2000, 2499);
    CHECK(vc_answer_h(c, 200, NULL, "ETag", "etag-3") == AP_STEP_REQUEST);
}

static void test_video_flow(void) {
    v_case c;
    static const char *const etags[] = {"etag-1", "etag-2", "etag-3"};
    case_start(&c);
    upload_parts(&c, URN, "p");
    check_finalize(&c, URN, etags, 3);
    CHECK(vc_answer(&c, 200, NULL) == AP_STEP_WAIT);
    CHECK(c.wait >= 1000 && c.wait <= 10000);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, BASE "/rest/videos/urn%3Ali%3Avideo%3AC5505AQH");
    CHECK_STR_EQ(vc_req_header(&c.req, "LinkedIn-Version"), "202411");
    CHECK(vc_answer(&c, 200, "{\"status\":\"WAITING_UPLOAD\"}") == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"status\":\"PROCESSING\"}") == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"status\":\"AVAILABLE\",\"id\":\"" URN "\"}") == AP_STEP_REQUEST);
    /* The post, the one call that can make something public. */
    CHECK_STR_EQ(c.req.url, BASE "/rest/posts");
    CHECK(c.req.once);
    json_t *b = json_loads(c.req.body, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_object_get(json_object_get(b, "content"), "media"), "id")),
                 URN);
    CHECK_STR_EQ(json_string_value(json_object_get(b, "commentary")), "a video \\(launch\\)");
    json_decref(b);
    CHECK(vc_answer_h(&c, 201, NULL, "x-restli-id", "urn:li:share:7001") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c.r.external_id, "urn:li:share:7001");
    case_end(&c);
}

/* Parts of another size than the first read: part 1 is read again. */
static void test_parts_other_than_first_read(void) {
    v_case c;
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4; codecs=avc1") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN, "q", 1300) == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=0-1299");
    CHECK(vc_serve(&c, 0, 1299, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    check_put(&c, "q1", 0, 1299);
    CHECK(vc_answer_h(&c, 200, NULL, "ETag", "a") == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=1300-2499");
    /* A host that sends fewer bytes than the part: refused, not sent short. */
    CHECK(vc_serve(&c, 1300, 1999, TOTAL, "video/mp4") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_range");
    case_end(&c);
}

/* A part answered 5xx (or nothing) is sent again with the same bytes. */
static void test_put_resent(void) {
    v_case c;
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN, "p", 1000) == AP_STEP_REQUEST);
    CHECK(vc_answer_h(&c, 200, NULL, "ETag", "etag-1") == AP_STEP_REQUEST);
    CHECK(vc_serve(&c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 502, "bad gateway") == AP_STEP_WAIT);
    CHECK(c.r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c.r.note_event, "linkedin_video_resend");
    CHECK_CONTAINS(c.r.note, "part 2/3 (bytes 1000-1999)");
    CHECK(c.wait >= 500 && c.wait <= 30000);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    check_put(&c, "p2", 1000, 1999); /* no new read: the same bytes */
    ap_http_response none;
    memset(&none, 0, sizeof(none));
    none.transport_error = 28;
    none.request_sent = true;
    CHECK(vc_reply(&c, &none) == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    check_put(&c, "p2", 1000, 1999);
    CHECK(vc_answer(&c, 503, NULL) == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    /* The fourth failure ends the attempt: retried later, never ambiguous. */
    CHECK(vc_answer(&c, 500, NULL) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    case_end(&c);
}

/* An upload URL that expired (403/404): a new upload from initializeUpload. */
static void test_expired_upload_restarts(void) {
    v_case c;
    static const char *const etags[] = {"n1", "n2", "n3"};
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, "urn:li:video:OLD", "old", 1000) == AP_STEP_REQUEST);
    CHECK(vc_answer_h(&c, 200, NULL, "ETag", "o1") == AP_STEP_REQUEST);
    CHECK(vc_serve(&c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 403, "{\"message\":\"expired\"}") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.r.note_event, "linkedin_video_restart");
    check_init(&c);
    CHECK(answer_init(&c, "urn:li:video:NEW", "new", 1000) == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=0-999"); /* part 1 again: the bytes in hand were part 2 */
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    check_put(&c, "new1", 0, 999);
    CHECK(vc_answer_h(&c, 200, NULL, "ETag", "n1") == AP_STEP_REQUEST);
    CHECK(vc_serve(&c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer_h(&c, 200, NULL, "ETag", "n2") == AP_STEP_REQUEST);
    CHECK(vc_serve(&c, 2000, 2499, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer_h(&c, 200, NULL, "ETag", "n3") == AP_STEP_REQUEST);
    check_finalize(&c, "urn:li:video:NEW", etags, 3);
    case_end(&c);

    /* Expiring every time: bounded, then retried later. */
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    for (int i = 0; i < 3; i++) {
        CHECK(answer_init(&c, URN, "p", 1000) == AP_STEP_REQUEST);
        check_put(&c, "p1", 0, 999); /* part 1 still in hand: not read again */
        ap_step_kind k = vc_answer(&c, 404, NULL);
        CHECK(k == (i < 2 ? AP_STEP_REQUEST : AP_STEP_DONE));
    }
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(c.r.error_code, "media_expired");
    case_end(&c);
}

static void test_processing_failed(void) {
    v_case c;
    case_start(&c);
    upload_parts(&c, URN, "p");
    CHECK(vc_answer(&c, 200, NULL) == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(
        vc_answer(&c, 200,
                  "{\"status\":\"PROCESSING_FAILED\",\"processingFailureReason\":\"bad codec\"}") ==
        AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_processing_failed");
    CHECK_CONTAINS(c.r.error_message, "bad codec");
    CHECK(c.req.url == NULL); /* no post */
    case_end(&c);
}

static void test_refusals(void) {
    v_case c;
    /* Not MP4, or over 500 MB: refused before LinkedIn hears of it. */
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/quicktime") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_type");
    case_end(&c);
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, 600L * 1024 * 1024, "video/mp4") == AP_STEP_DONE);
    CHECK_STR_EQ(c.r.error_code, "media_too_large");
    case_end(&c);
    /* The media host is refused by the outbound policy. */
    case_start(&c);
    ap_http_response refused;
    memset(&refused, 0, sizeof(refused));
    refused.address_refused = true;
    CHECK(vc_reply(&c, &refused) == AP_STEP_DONE);
    CHECK_STR_EQ(c.r.error_code, "media_url_refused");
    CHECK_STR_EQ(c.r.error_message, "media 1: address not allowed");
    case_end(&c);
    /* Upload URLs elsewhere than LinkedIn never get the token. */
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    const char *evil =
        "{\"value\":{\"video\":\"" URN "\",\"uploadToken\":\"\",\"uploadInstructions\":"
        "[{\"uploadUrl\":\"https://evil.example/up\",\"firstByte\":0,"
        "\"lastByte\":2499}]}}";
    CHECK(vc_answer(&c, 200, evil) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(c.r.error_message, "not on a LinkedIn host");
    case_end(&c);
    /* Instructions that do not cover the file, or parts too large to hold. */
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    char *gap = init_body(URN, "p", 1000, TOTAL - 10);
    CHECK(vc_answer(&c, 200, gap) == AP_STEP_DONE);
    free(gap);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(c.r.error_code, "media_upload");
    case_end(&c);
    /* An upload URL resolving to a private address: permanent, no token sent. */
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN, "p", 1000) == AP_STEP_REQUEST);
    memset(&refused, 0, sizeof(refused));
    refused.address_refused = true;
    CHECK(vc_reply(&c, &refused) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "upload_url_refused");
    case_end(&c);
    /* A part taken without an ETag cannot be finalized. */
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN, "p", 1000) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, NULL) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    case_end(&c);
    /* LinkedIn's errors on initializeUpload: never ambiguous (nothing public). */
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 401, "{\"message\":\"expired token\"}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_REAUTH);
    case_end(&c);
    case_start(&c);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 500, NULL) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    case_end(&c);
}

static void test_validate(void) {
    v_case c;
    char reason[256];
    case_init(&c);
    CHECK(c.ad->validate(&c.job, reason, sizeof(reason)));
    c.job.n_media = 2; /* two videos */
    CHECK(!c.ad->validate(&c.job, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "one video");
    c.media[1].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE; /* mixed */
    CHECK(!c.ad->validate(&c.job, reason, sizeof(reason)));
    c.media[0].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE; /* two images */
    CHECK(c.ad->validate(&c.job, reason, sizeof(reason)));
}

/* A video post's read-back is the commentary's, as for any post. */
static void test_verify_video_post(void) {
    v_case c;
    case_init(&c);
    c.in.mode = AP_FLOW_VERIFY;
    c.flow = c.ad->flow_new(&c.in);
    CHECK(c.ad->step(c.flow, &c.in, NULL, &c.req, &c.wait, &c.r) == AP_STEP_REQUEST);
    CHECK_CONTAINS(c.req.url, BASE "/rest/posts?q=author");
    case_end(&c);
}

static void test_parsers(void) {
    ap_li_video_upload u;
    char *ok = init_body(URN, "p", 1000, TOTAL);
    CHECK(ap_li_video_parse_init(ok, strlen(ok), &u) == 0);
    CHECK_STR_EQ(u.video, URN);
    CHECK_STR_EQ(u.token, "");
    CHECK(u.nparts == 3 && u.parts[2].first == 2000 && u.parts[2].last == 2499);
    CHECK_STR_EQ(u.parts[0].url, UPLOAD "p1");
    ap_li_video_upload_clear(&u);
    free(ok);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"value\":{}}",
        "{\"value\":{\"video\":\"urn:li:image:1\",\"uploadInstructions\":[{\"uploadUrl\":\"u\","
        "\"firstByte\":0,\"lastByte\":1}]}}",
        "{\"value\":{\"video\":\"" URN "\",\"uploadInstructions\":[]}}",
        "{\"value\":{\"video\":\"" URN "\",\"uploadInstructions\":[{\"uploadUrl\":\"u\","
        "\"firstByte\":5,\"lastByte\":1}]}}",
        "{\"value\":{\"video\":\"" URN "\",\"uploadInstructions\":[{\"uploadUrl\":\"u\","
        "\"firstByte\":0,\"lastByte\":1},{\"uploadUrl\":3}]}}",
        "{\"value\":{\"video\":\"" URN "\",\"uploadToken\":7,\"uploadInstructions\":[{"
        "\"uploadUrl\":\"u\",\"firstByte\":0,\"lastByte\":1}]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(ap_li_video_parse_init(bad[i], strlen(bad[i]), &u) != 0);
        CHECK(u.nparts == 0 && u.parts == NULL && u.token == NULL);
    }
    ap_li_asset_status s;
    char why[64];
    const char *failed = "{\"status\":\"PROCESSING_FAILED\",\"processingFailureReason\":\"x\"}";
    CHECK(ap_li_parse_asset_status(failed, strlen(failed), &s, why, sizeof(why)) == 0);
    CHECK(s == AP_LI_ASSET_PROCESSING_FAILED);
    CHECK_STR_EQ(why, "x");
    CHECK(ap_li_parse_asset_status("{\"status\":\"AVAILABLE\"}", 22, &s, why, sizeof(why)) == 0);
    CHECK(s == AP_LI_ASSET_AVAILABLE);
    CHECK(ap_li_parse_asset_status("{\"status\":\"NEW\"}", 16, &s, why, sizeof(why)) != 0);
    CHECK(ap_li_parse_asset_status("nope", 4, &s, why, sizeof(why)) != 0);
}

int main(void) {
    RUN(test_video_flow);
    RUN(test_parts_other_than_first_read);
    RUN(test_put_resent);
    RUN(test_expired_upload_restarts);
    RUN(test_processing_failed);
    RUN(test_refusals);
    RUN(test_validate);
    RUN(test_verify_video_post);
    RUN(test_parsers);
    return TEST_RESULT();
}
