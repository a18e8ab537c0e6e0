/* test_facebook_video.c -- a Facebook page video and reel (facebook_video.c),
 * driven through the Facebook adapter without a network: each request is
 * inspected as a value, each answer (the media host's ranged reads, the
 * Graph API's upload phases, rupload) is fed back, and the parsers are
 * checked on their own. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "facebook_video.h"
#include "test.h"
#include "video_case.h"

#define PAGE "104857600123"
#define BASE "https://graph.example"
#define VIDEOS BASE "/v19.0/" PAGE "/videos"
#define REELS BASE "/v19.0/" PAGE "/video_reels"
#define VIDEO_URL "https://cdn.example/clip.mp4"
#define VID "1203456789"
#define RUPLOAD BASE "/video-upload/v19.0/" VID
#define CHUNK 1000
#define TOTAL VC_TOTAL
#define TEXT "Our launch, in motion"

#define START_OK                                                                                   \
    "{\"upload_session_id\":\"2876543210\",\"video_id\":\"" VID "\",\"start_offset\":\"0\","       \
    "\"end_offset\":\"1000\"}"

static void case_start(vc_case *c, const char *format) {
    vc_init(c, "facebook", BASE, "v19.0", PAGE, TEXT, VIDEO_URL, CHUNK);
    c->job.format = (char *)format;
    vc_start(c);
}

static void check_fetch(vc_case *c, const char *range) { vc_check_fetch(c, VIDEO_URL, range); }

/* A page video transfer of bytes [first, first+len) at start_offset first. */
static void check_transfer(vc_case *c, long first, long len) {
    char part[96];
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, VIDEOS);
    CHECK_STR_EQ(vc_req_header(&c->req, "Authorization"), "Bearer " VC_TOKEN);
    CHECK_CONTAINS(vc_req_header(&c->req, "Content-Type"), "multipart/form-data; boundary=");
    CHECK_CONTAINS(c->req.body, "name=\"upload_phase\"\r\n\r\ntransfer\r\n");
    CHECK_CONTAINS(c->req.body, "name=\"upload_session_id\"\r\n\r\n2876543210\r\n");
    snprintf(part, sizeof(part), "name=\"start_offset\"\r\n\r\n%ld\r\n", first);
    CHECK_CONTAINS(c->req.body, part);
    CHECK_CONTAINS(c->req.body, "name=\"video_file_chunk\"; filename=");
    CHECK(vc_body_has(&c->req, c->file + first, (size_t)len));
    CHECK(!vc_body_has(&c->req, c->file + first, (size_t)len + 1)); /* exactly the range */
    CHECK(!c->req.once); /* a resend gets the offsets Facebook has: harmless */
}

static ap_step_kind offsets(vc_case *c, long start, long end) {
    char body[96];
    snprintf(body, sizeof(body), "{\"start_offset\":\"%ld\",\"end_offset\":\"%ld\"}", start, end);
    return vc_answer(c, 200, body);
}

static void check_finish_page(vc_case *c) {
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, VIDEOS);
    CHECK(c->req.once); /* the publishing call: never resent below us */
    CHECK_CONTAINS(c->req.body, "upload_phase=finish");
    CHECK_CONTAINS(c->req.body, "upload_session_id=2876543210");
    CHECK_CONTAINS(c->req.body, "published=true");
    CHECK_CONTAINS(c->req.body, "description=Our%20launch%2C%20in%20motion");
}

/* From the answer to finish: the status poll says ready, the post is done. */
static void check_ready(vc_case *c, const char *url) {
    CHECK(c->wait > 0);
    CHECK(vc_resume(c) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, BASE "/v19.0/" VID "?fields=status");
    CHECK(vc_answer(c, 200, "{\"status\":{\"video_status\":\"processing\"},\"id\":\"" VID "\"}") ==
          AP_STEP_WAIT);
    CHECK(vc_resume(c) == AP_STEP_REQUEST);
    CHECK(vc_answer(c, 200, "{\"status\":{\"video_status\":\"ready\"},\"id\":\"" VID "\"}") ==
          AP_STEP_DONE);
    CHECK(c->r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c->r.external_id, VID);
    CHECK_STR_EQ(c->r.external_url, url);
}

/* Up to the finish of a page video whose three chunks went through. */
static void upload_page_video(vc_case *c) {
    case_start(c, NULL);
    check_fetch(c, "bytes=0-999");
    CHECK(vc_serve(c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c->req.url, VIDEOS);
    CHECK_CONTAINS(c->req.body, "upload_phase=start");
    CHECK_CONTAINS(c->req.body, "file_size=2500");
    CHECK(vc_answer(c, 200, START_OK) == AP_STEP_REQUEST);
    check_transfer(c, 0, 1000); /* the first read is that range: not read again */
    CHECK(offsets(c, 1000, 2000) == AP_STEP_REQUEST);
    check_fetch(c, "bytes=1000-1999");
    CHECK(vc_serve(c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    check_transfer(c, 1000, 1000);
    CHECK(offsets(c, 2000, 2500) == AP_STEP_REQUEST);
    check_fetch(c, "bytes=2000-2499");
    CHECK(vc_serve(c, 2000, 2499, TOTAL, NULL) == AP_STEP_REQUEST);
    check_transfer(c, 2000, 500);
    CHECK(offsets(c, 2500, 2500) == AP_STEP_REQUEST);
    check_finish_page(c);
}

static void test_page_video_flow(void) {
    vc_case c;
    upload_page_video(&c);
    CHECK(vc_answer(&c, 200, "{\"success\":true}") == AP_STEP_WAIT);
    check_ready(&c, "https://www.facebook.com/" PAGE "/videos/" VID);
    vc_end(&c);
}

/* A transfer answered 5xx is sent again with the same bytes, in the flow. */
static void test_transfer_5xx_resent(void) {
    vc_case c;
    case_start(&c, NULL);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, START_OK) == AP_STEP_REQUEST);
    check_transfer(&c, 0, 1000);
    CHECK(vc_answer(&c, 503,
                    "{\"error\":{\"code\":2,\"message\":\"Service temporarily unavailable\","
                    "\"is_transient\":true}}") == AP_STEP_WAIT);
    CHECK(c.wait > 0);
    CHECK_STR_EQ(c.r.note_event, "facebook_video_resend");
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    check_transfer(&c, 0, 1000); /* the same bytes, from the chunk in hand */
    CHECK(vc_no_answer(&c, true) == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    check_transfer(&c, 0, 1000);
    CHECK(offsets(&c, 1000, 2000) == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=1000-1999");
    /* Out of sends: a retry of the job, never ambiguous (nothing is public). */
    CHECK(vc_serve(&c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    for (int i = 0; i < 3; i++) {
        CHECK(vc_answer(&c, 500, "{}") == AP_STEP_WAIT);
        CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    }
    CHECK(vc_answer(&c, 500, "{}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    vc_end(&c);
}

/* Facebook asks for a shorter range than the first read: only those bytes
 * go, and the next range is read from where Facebook says. */
static void test_ranges_facebook_asks_for(void) {
    vc_case c;
    case_start(&c, NULL);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200,
                    "{\"upload_session_id\":\"2876543210\",\"video_id\":\"" VID
                    "\",\"start_offset\":0,\"end_offset\":600}") == AP_STEP_REQUEST);
    check_transfer(&c, 0, 600);
    CHECK(offsets(&c, 600, 2500) == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=600-1599"); /* never more than a chunk */
    CHECK(vc_serve(&c, 600, 1599, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    /* Facebook keeps asking for the same bytes: not forever. */
    for (int i = 0; i < 3; i++) {
        check_transfer(&c, 600, 1000);
        CHECK(offsets(&c, 600, 1600) == AP_STEP_REQUEST);
    }
    CHECK(offsets(&c, 600, 1600) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(c.r.error_code, "media_upload");
    vc_end(&c);
}

/* Graph's 6000 on a transfer: the session is gone; a new one from start. */
static void test_expired_session_restarts(void) {
    vc_case c;
    case_start(&c, NULL);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    for (int restart = 0; restart < 3; restart++) {
        CHECK(vc_answer(&c, 200, START_OK) == AP_STEP_REQUEST);
        check_transfer(&c, 0, 1000);
        ap_step_kind k =
            vc_answer(&c, 400,
                      "{\"error\":{\"message\":\"The upload session has expired\",\"type\":"
                      "\"OAuthException\",\"code\":6000,\"error_subcode\":1363037}}");
        if (restart < 2) {
            CHECK(k == AP_STEP_REQUEST);
            CHECK_STR_EQ(c.r.note_event, "facebook_video_restart");
            CHECK_CONTAINS(c.req.body, "upload_phase=start");
        } else {
            CHECK(k == AP_STEP_DONE); /* kept expiring: the job is retried later */
            CHECK(c.r.error_class == AP_CLASS_RETRY);
            CHECK_STR_EQ(c.r.error_code, "media_expired");
        }
    }
    vc_end(&c);
}

static void test_processing_failed(void) {
    vc_case c;
    upload_page_video(&c);
    CHECK(vc_answer(&c, 200, "{\"success\":true}") == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200,
                    "{\"status\":{\"video_status\":\"error\",\"processing_phase\":{\"status\":"
                    "\"error\",\"error\":{\"message\":\"Video could not be processed\"}}}}") ==
          AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_processing_failed");
    CHECK_CONTAINS(c.r.error_message, "Video could not be processed");
    vc_end(&c);
}

static const char *const listed =
    "{\"data\":[{\"id\":\"999\"},{\"id\":\"" VID "\",\"published\":true}],\"paging\":{}}";

/* The finish's answer is lost: the video id is looked up on the page. */
static void test_ambiguous_finish_read_back(void) {
    vc_case c;
    upload_page_video(&c);
    CHECK(vc_no_answer(&c, true) == AP_STEP_WAIT);
    CHECK_STR_EQ(c.r.note_event, "facebook_video_readback");
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, VIDEOS "?fields=id,published&limit=100");
    CHECK(vc_answer(&c, 200, listed) == AP_STEP_WAIT); /* found: published */
    check_ready(&c, "https://www.facebook.com/" PAGE "/videos/" VID);
    vc_end(&c);

    /* Not listed: that finish did not happen; the same session again. */
    upload_page_video(&c);
    CHECK(vc_answer(&c, 502, "<html>Bad Gateway</html>") == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":[{\"id\":\"999\"}]}") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.r.note_event, "facebook_video_refinish");
    check_finish_page(&c);
    CHECK(vc_answer(&c, 200, "{\"success\":true}") == AP_STEP_WAIT);
    check_ready(&c, "https://www.facebook.com/" PAGE "/videos/" VID);
    vc_end(&c);

    /* Listed but unpublished, three times: ambiguous, never a fourth finish. */
    upload_page_video(&c);
    for (int i = 0; i < 3; i++) {
        CHECK(vc_answer(&c, 200, "{\"success\":false}") == AP_STEP_WAIT);
        CHECK(vc_resume(&c) == AP_STEP_REQUEST);
        ap_step_kind k =
            vc_answer(&c, 200, "{\"data\":[{\"id\":\"" VID "\",\"published\":false}]}");
        CHECK(k == (i < 2 ? AP_STEP_REQUEST : AP_STEP_DONE));
    }
    CHECK(c.r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_STR_EQ(c.r.error_code, "verify_not_found");
    vc_end(&c);

    /* A refused second finish: the first one may have published it. */
    upload_page_video(&c);
    CHECK(vc_no_answer(&c, true) == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":[]}") == AP_STEP_REQUEST);
    check_finish_page(&c);
    CHECK(
        vc_answer(&c, 400, "{\"error\":{\"code\":100,\"message\":\"Video already published\"}}") ==
        AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_STR_EQ(c.r.error_code, "verify_refused");
    CHECK_CONTAINS(c.r.error_message, "Video already published");
    vc_end(&c);

    /* The page cannot be read: ambiguous, for the runtime's read-back. */
    upload_page_video(&c);
    CHECK(vc_no_answer(&c, true) == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 400, "{\"error\":{\"code\":100,\"message\":\"nope\"}}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_AMBIGUOUS);
    vc_end(&c);
}

/* Facebook refused the finish: not published, classified as Graph says. */
static void test_finish_refused(void) {
    vc_case c;
    upload_page_video(&c);
    CHECK(
        vc_answer(&c, 400, "{\"error\":{\"code\":190,\"error_subcode\":463,\"message\":\"x\"}}") ==
        AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_REAUTH);
    vc_end(&c);
    upload_page_video(&c); /* never sent: safe to retry */
    CHECK(vc_no_answer(&c, false) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    vc_end(&c);
}

static void check_rupload(vc_case *c, long first, long len) {
    char offset[24];
    snprintf(offset, sizeof(offset), "%ld", first);
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, RUPLOAD);
    CHECK_STR_EQ(vc_req_header(&c->req, "Authorization"), "OAuth " VC_TOKEN);
    CHECK_STR_EQ(vc_req_header(&c->req, "offset"), offset);
    CHECK_STR_EQ(vc_req_header(&c->req, "file_size"), "2500");
    CHECK(c->req.body_len == (size_t)len && memcmp(c->req.body, c->file + first, (size_t)len) == 0);
    CHECK(!c->req.once);
}

static void test_reel_flow(void) {
    vc_case c;
    case_start(&c, "reel");
    check_fetch(&c, "bytes=0-999");
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, REELS);
    CHECK_STR_EQ(c.req.body, "upload_phase=start");
    CHECK(vc_answer(&c, 200, "{\"video_id\":\"" VID "\",\"upload_url\":\"" RUPLOAD "\"}") ==
          AP_STEP_REQUEST);
    check_rupload(&c, 0, 1000);
    CHECK(vc_answer(&c, 500, "{\"debug_info\":{\"retriable\":true}}") == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    check_rupload(&c, 0, 1000); /* the same bytes again */
    CHECK(vc_answer(&c, 200, "{\"success\":true}") == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=1000-1999");
    CHECK(vc_serve(&c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    check_rupload(&c, 1000, 1000);
    CHECK(vc_answer(&c, 200, "{\"success\":true}") == AP_STEP_REQUEST);
    CHECK(vc_serve(&c, 2000, 2499, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    check_rupload(&c, 2000, 500);
    CHECK(vc_answer(&c, 200, "{\"success\":true}") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, REELS);
    CHECK(c.req.once);
    CHECK_CONTAINS(c.req.body, "upload_phase=finish");
    CHECK_CONTAINS(c.req.body, "video_id=" VID);
    CHECK_CONTAINS(c.req.body, "video_state=PUBLISHED");
    CHECK_CONTAINS(c.req.body, "description=Our%20launch");
    /* Lost answer: the reel is looked up among the page's reels. */
    CHECK(vc_no_answer(&c, true) == AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, REELS "?fields=id,published&limit=100");
    CHECK(vc_answer(&c, 200, listed) == AP_STEP_WAIT);
    check_ready(&c, "https://www.facebook.com/" PAGE "/reels/" VID);
    vc_end(&c);
}

/* rupload refusing a reel's upload URL (expired): a new reel upload. */
static void test_reel_upload_url_expired(void) {
    vc_case c;
    case_start(&c, "reel");
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"video_id\":\"" VID "\",\"upload_url\":\"" RUPLOAD "\"}") ==
          AP_STEP_REQUEST);
    check_rupload(&c, 0, 1000);
    CHECK(vc_answer(&c, 404, "{\"debug_info\":{\"retriable\":false,\"type\":\"NotFoundError\"}}") ==
          AP_STEP_REQUEST);
    CHECK_STR_EQ(c.r.note_event, "facebook_video_restart");
    CHECK_STR_EQ(c.req.url, REELS);
    CHECK_STR_EQ(c.req.body, "upload_phase=start");
    vc_end(&c);
}

static void test_refusals(void) {
    vc_case c;
    /* An upload URL that is not Facebook's never gets the token. */
    case_start(&c, "reel");
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200,
                    "{\"video_id\":\"" VID
                    "\",\"upload_url\":\"https://evil.example/up\"}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    vc_end(&c);
    /* Not a video, or too large: refused before Facebook hears of it. */
    case_start(&c, NULL);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "image/gif") == AP_STEP_DONE);
    CHECK_STR_EQ(c.r.error_code, "media_type");
    vc_end(&c);
    case_start(&c, "reel");
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/quicktime") == AP_STEP_DONE); /* reels: mp4 */
    CHECK_STR_EQ(c.r.error_code, "media_type");
    vc_end(&c);
    case_start(&c, NULL);
    CHECK(vc_serve(&c, 0, 999, AP_FB_VIDEO_MAX_BYTES + 1, "video/mp4") == AP_STEP_DONE);
    CHECK_STR_EQ(c.r.error_code, "media_too_large");
    vc_end(&c);
    /* An upload error before finish is never ambiguous or duplicate. */
    case_start(&c, NULL);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 500, "{}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    vc_end(&c);
}

/* A lost attempt of a video post is read back on the feed, by its text. */
static void test_verify_video_post(void) {
    vc_case c;
    vc_init(&c, "facebook", BASE, "v19.0", PAGE, TEXT, VIDEO_URL, CHUNK);
    c.in.mode = AP_FLOW_VERIFY;
    c.in.since_ms = 1795856400000;
    vc_start(&c);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_CONTAINS(c.req.url, BASE "/v19.0/" PAGE "/feed?fields=id,message,created_time");
    CHECK(vc_answer(&c, 200, "{\"data\":[{\"id\":\"" PAGE "_5\",\"message\":\"" TEXT "\"}]}") ==
          AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c.r.external_id, PAGE "_5");
    vc_end(&c);
}

#define OFFS_OK "{\"start_offset\":\"5\",\"end_offset\":\"9\"}", 37
#define OFFS_BAD "{\"start_offset\":\"9\",\"end_offset\":\"5\"}", 37

static void test_parsers(void) {
    ap_fb_video_start s;
    const char *page = START_OK;
    CHECK(ap_fb_video_parse_start(page, strlen(page), false, &s) == 0);
    CHECK_STR_EQ(s.session, "2876543210");
    CHECK_STR_EQ(s.video_id, VID);
    CHECK(s.start == 0 && s.end == 1000);
    CHECK(ap_fb_video_parse_start(page, strlen(page), true, &s) != 0); /* no upload_url */
    CHECK(s.video_id[0] == '\0');
    static const char *const bad[] = {
        "",
        "[]",
        "{\"video_id\":\"1\"}",
        "{\"upload_session_id\":\"1\",\"video_id\":\"1\",\"start_offset\":\"-1\","
        "\"end_offset\":\"5\"}",
        "{\"upload_session_id\":\"1\",\"video_id\":\"1\",\"start_offset\":\"9\","
        "\"end_offset\":\"5\"}",
        "{\"upload_session_id\":\"1/2\",\"video_id\":\"1\",\"start_offset\":0,\"end_offset\":5}",
        "{\"upload_session_id\":\"1\",\"video_id\":\"1\",\"start_offset\":\"0x1\","
        "\"end_offset\":\"5\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(ap_fb_video_parse_start(bad[i], strlen(bad[i]), false, &s) != 0);
    int64_t a = 0, b = 0;
    CHECK(ap_fb_video_parse_offsets(OFFS_OK, &a, &b) == 0);
    CHECK(a == 5 && b == 9);
    CHECK(ap_fb_video_parse_offsets(OFFS_BAD, &a, &b) != 0);
    CHECK(ap_fb_video_parse_success("{\"success\":true}", 16) == 0);
    CHECK(ap_fb_video_parse_success("{\"success\":\"true\"}", 18) != 0);
    ap_fb_video_status st;
    char why[64];
    CHECK(ap_fb_video_parse_status("{\"status\":{\"video_status\":\"ready\"}}", 35, &st, why,
                                   sizeof(why)) == 0);
    CHECK(st == AP_FVS_READY);
    CHECK(ap_fb_video_parse_status("{\"status\":{\"video_status\":\"new\"}}", 33, &st, why,
                                   sizeof(why)) != 0);
    CHECK(ap_fb_video_listed(listed, strlen(listed), VID) == 1);
    CHECK(ap_fb_video_listed(listed, strlen(listed), "12") == 0);
    CHECK(ap_fb_video_listed("{}", 2, VID) == -1);
}

int main(void) {
    RUN(test_page_video_flow);
    RUN(test_transfer_5xx_resent);
    RUN(test_ranges_facebook_asks_for);
    RUN(test_expired_session_restarts);
    RUN(test_processing_failed);
    RUN(test_ambiguous_finish_read_back);
    RUN(test_finish_refused);
    RUN(test_reel_flow);
    RUN(test_reel_upload_url_expired);
    RUN(test_refusals);
    RUN(test_verify_video_post);
    RUN(test_parsers);
    return TEST_RESULT();
}
