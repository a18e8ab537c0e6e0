/* test_x_video.c -- X's chunked upload of a video or GIF (x_video.c), driven
 * through the X adapter without a network: each request is inspected as a
 * value, each answer (the media host's ranged reads, X's upload calls) is
 * fed back, and the parsers are checked on their own. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "chunked.h"
#include "test.h"
#include "video_case.h"
#include "x_video.h"

#define TOKEN VC_TOKEN
#define BASE "https://api.x.example"
#define VIDEO_URL "https://cdn.example/clip.mp4"
#define MID "1880000000000000777"
#define UP BASE "/2/media/upload/"
#define CHUNK 1000
#define TOTAL VC_TOTAL

typedef vc_case v_case;

static void case_start(v_case *c, Autopost__V1__MediaType type) {
    vc_init(c, "x", BASE, "2", "1234567890", "a video", VIDEO_URL, CHUNK);
    c->media[0].type = type;
    vc_start(c);
}

static void case_end(v_case *c) { vc_end(c); }

static void check_fetch(v_case *c, const char *range) {
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, VIDEO_URL);
    CHECK_STR_EQ(vc_req_header(&c->req, "Range"), range);
    CHECK(vc_req_header(&c->req, "Authorization") == NULL); /* the token only goes to X */
    CHECK(c->req.outside_url);                              /* SSRF policy, redirects re-checked */
    CHECK(c->req.max_response == CHUNK);                    /* one chunk, never the file */
}

static void check_append(v_case *c, int segment, long first, long len) {
    char part[96];
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, UP MID "/append");
    CHECK_STR_EQ(vc_req_header(&c->req, "Authorization"), "Bearer " TOKEN);
    CHECK_CONTAINS(vc_req_header(&c->req, "Content-Type"), "multipart/form-data; boundary=");
    snprintf(part, sizeof(part), "name=\"segment_index\"\r\n\r\n%d\r\n", segment);
    CHECK_CONTAINS(c->req.body, part);
    CHECK(vc_body_has(&c->req, c->file + first, (size_t)len));
    CHECK(!c->req.once); /* a resend stores the same segment again: harmless */
}

/* Chunks, init, appends (one 5xx on the way), finalize, two polls, tweet. */
static void test_video_flow(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    check_fetch(&c, "bytes=0-999");
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, UP "initialize");
    json_t *init = json_loadb(c.req.body, c.req.body_len, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(init, "media_type")), "video/mp4");
    CHECK(json_integer_value(json_object_get(init, "total_bytes")) == TOTAL);
    CHECK_STR_EQ(json_string_value(json_object_get(init, "media_category")), "tweet_video");
    json_decref(init);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\",\"expires_after_secs\":86399}}") ==
          AP_STEP_REQUEST);
    check_append(&c, 0, 0, 1000);
    /* A 5xx to the append: the same segment again, after a short wait. */
    CHECK(vc_answer(&c, 503, "{\"title\":\"Service Unavailable\"}") == AP_STEP_WAIT);
    CHECK(c.wait > 0 && c.wait <= 30000);
    CHECK_STR_EQ(c.r.note_event, "x_media_resend");
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    check_append(&c, 0, 0, 1000);
    CHECK(vc_answer(&c, 204, NULL) == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=1000-1999");
    CHECK(vc_serve(&c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    check_append(&c, 1, 1000, 1000);
    CHECK(vc_answer(&c, 204, NULL) == AP_STEP_REQUEST);
    check_fetch(&c, "bytes=2000-2499"); /* the last range stops at the file's end */
    CHECK(vc_serve(&c, 2000, 2499, TOTAL, NULL) == AP_STEP_REQUEST);
    check_append(&c, 2, 2000, 500);
    CHECK(vc_answer(&c, 204, NULL) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, UP MID "/finalize");
    CHECK(vc_answer(&c, 200,
                    "{\"data\":{\"id\":\"" MID "\",\"processing_info\":{\"state\":\"pending\","
                    "\"check_after_secs\":2}}}") == AP_STEP_WAIT);
    CHECK(c.wait == 2000);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, BASE "/2/media/upload?media_id=" MID "&command=STATUS");
    CHECK_STR_EQ(vc_req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    CHECK(vc_answer(&c, 200,
                    "{\"data\":{\"processing_info\":{\"state\":\"in_progress\","
                    "\"check_after_secs\":0,\"progress_percent\":40}}}") == AP_STEP_WAIT);
    CHECK(c.wait == 1000); /* 0 means soon, not a busy loop */
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"processing_info\":{\"state\":\"succeeded\"}}}") ==
          AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, BASE "/2/tweets");
    CHECK(c.req.once);
    json_t *tweet = json_loadb(c.req.body, c.req.body_len, 0, NULL);
    json_t *ids = json_object_get(json_object_get(tweet, "media"), "media_ids");
    CHECK(json_array_size(ids) == 1);
    CHECK_STR_EQ(json_string_value(json_array_get(ids, 0)), MID);
    json_decref(tweet);
    CHECK(vc_answer(&c, 201, "{\"data\":{\"id\":\"42\",\"text\":\"a video\"}}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c.r.external_id, "42");
    case_end(&c);
}

/* A GIF: image/gif, tweet_gif; a small file whose host ignores Range. */
static void test_gif_small_plain_answer(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF);
    CHECK(vc_serve(&c, 0, 299, -1, "image/gif") == AP_STEP_REQUEST);
    json_t *init = json_loadb(c.req.body, c.req.body_len, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(init, "media_type")), "image/gif");
    CHECK(json_integer_value(json_object_get(init, "total_bytes")) == 300);
    CHECK_STR_EQ(json_string_value(json_object_get(init, "media_category")), "tweet_gif");
    json_decref(init);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    check_append(&c, 0, 0, 300);
    CHECK(vc_answer(&c, 200, "{}") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, UP MID "/finalize");
    /* No processing_info: nothing to wait for. */
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, BASE "/2/tweets");
    case_end(&c);
}

/* Processing fails: permanent, with X's reason, and no tweet. */
static void test_processing_failed(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, 1000, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 204, NULL) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"processing_info\":{\"state\":\"in_progress\"}}}") ==
          AP_STEP_WAIT);
    CHECK(vc_resume(&c) == AP_STEP_REQUEST);
    CHECK(
        vc_answer(&c, 200,
                  "{\"data\":{\"processing_info\":{\"state\":\"failed\",\"error\":{\"code\":1,"
                  "\"name\":\"InvalidMedia\",\"message\":\"Video longer than 140 seconds\"}}}}") ==
        AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_processing_failed");
    CHECK_CONTAINS(c.r.error_message, "Video longer than 140 seconds");
    CHECK(c.req.url == NULL); /* no tweet */
    case_end(&c);
}

/* X forgot the media id: a new upload from chunk 0 and initialize; after
 * XV_MAX_RESTARTS, a retry of the whole job. */
static void test_expired_media_restarts(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 204, NULL) == AP_STEP_REQUEST);
    CHECK(vc_serve(&c, 1000, 1999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    for (int restart = 1; restart <= 2; restart++) {
        CHECK(vc_answer(&c, 404, "{\"title\":\"Not Found Error\"}") == AP_STEP_REQUEST);
        CHECK_STR_EQ(c.r.note_event, "x_media_restart");
        check_fetch(&c, "bytes=0-999");
        CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
        CHECK_STR_EQ(c.req.url, UP "initialize");
        CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
        check_append(&c, 0, 0, 1000);
    }
    CHECK(vc_answer(&c, 404, "{\"title\":\"Not Found Error\"}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(c.r.error_code, "media_expired");
    case_end(&c);
}

/* The append's resends are bounded; then the job is retried, never
 * ambiguous (nothing is public). */
static void test_append_gives_up(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    ap_step_kind k;
    int sends = 1;
    while ((k = vc_answer(&c, 502, NULL)) == AP_STEP_WAIT) {
        CHECK(vc_resume(&c) == AP_STEP_REQUEST);
        check_append(&c, 0, 0, 1000);
        sends++;
    }
    CHECK(k == AP_STEP_DONE);
    CHECK(sends == 4);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    case_end(&c);
    /* No answer after sending: also resent, not ambiguous. */
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.transport_error = 28;
    res.request_sent = true;
    CHECK(vc_reply(&c, &res) == AP_STEP_WAIT);
    case_end(&c);
}

/* The first ranged answer decides what goes to X at all. */
static ap_flow_result first_fetch(Autopost__V1__MediaType type, long status, const char *range,
                                  const char *ctype, int transport, bool refused) {
    v_case c;
    ap_http_response res;
    case_start(&c, type);
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.transport_error = transport;
    res.address_refused = refused;
    res.request_sent = !refused;
    res.body = strdup("0123456789");
    res.body_len = 10;
    if (range) vc_add_header(&res, "Content-Range", range);
    if (ctype) vc_add_header(&res, "Content-Type", ctype);
    CHECK(vc_reply(&c, &res) == AP_STEP_DONE);
    CHECK(c.req.url == NULL); /* X never heard of it */
    ap_flow_result r = c.r;
    case_end(&c);
    return r;
}

static void test_first_chunk_refusals(void) {
    const Autopost__V1__MediaType V = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO,
                                  G = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF;
    ap_flow_result r = first_fetch(V, 206, "bytes 0-9/536870913", "video/mp4", 0, false);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "media_too_large");
    r = first_fetch(G, 206, "bytes 0-9/15728641", "image/gif", 0, false);
    CHECK_STR_EQ(r.error_code, "media_too_large");
    CHECK_CONTAINS(r.error_message, "GIF");
    r = first_fetch(V, 206, "bytes 0-9/100", "image/gif", 0, false);
    CHECK_STR_EQ(r.error_code, "media_type");
    r = first_fetch(G, 206, "bytes 0-9/100", "video/mp4", 0, false);
    CHECK_STR_EQ(r.error_code, "media_type");
    r = first_fetch(V, 206, "bytes 5-14/100", "video/mp4", 0, false); /* not what we asked */
    CHECK_STR_EQ(r.error_code, "media_range");
    r = first_fetch(V, 206, "bytes */100", "video/mp4", 0, false);
    CHECK_STR_EQ(r.error_code, "media_range");
    r = first_fetch(V, 0, NULL, NULL, 23, false); /* more than a chunk: Range ignored */
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "media_range");
    r = first_fetch(V, 0, NULL, NULL, 0, true);
    CHECK_STR_EQ(r.error_code, "media_url_refused");
    CHECK_STR_EQ(r.error_message, "media 1: address not allowed");
    r = first_fetch(V, 503, NULL, NULL, 0, false);
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = first_fetch(V, 404, NULL, NULL, 0, false);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "answered 404");
    r = first_fetch(V, 0, NULL, NULL, 7, false);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(r.error_code, "media_download");
}

/* The file changes size between two chunks: start over later. */
static void test_file_changed(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 204, NULL) == AP_STEP_REQUEST);
    CHECK(vc_serve(&c, 1000, 1999, TOTAL + 1, "video/mp4") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(c.r.error_code, "media_changed");
    case_end(&c);
}

/* X's errors on upload calls: reauth stays reauth, nothing is ambiguous. */
static void test_upload_errors(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 401, "{\"title\":\"Unauthorized\"}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_REAUTH);
    case_end(&c);
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, TOTAL, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"not digits\"}}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    case_end(&c);
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, 1000, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 400, "{\"title\":\"Invalid Request\",\"detail\":\"bad segment\"}") ==
          AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    case_end(&c);
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(vc_serve(&c, 0, 999, 1000, "video/mp4") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"id\":\"" MID "\"}}") == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 204, NULL) == AP_STEP_REQUEST);
    CHECK(vc_answer(&c, 200, "{\"data\":{\"processing_info\":{\"state\":\"exploded\"}}}") ==
          AP_STEP_DONE); /* a state we do not know is not "ready" */
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    case_end(&c);
}

/* A lost attempt of a video post is read back like any other: the timeline,
 * no upload, and the t.co link X adds for the video is ignored. */
static void test_verify_video_post(void) {
    v_case c;
    case_start(&c, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    ap_http_request_clear(&c.req);
    c.ad->flow_free(c.flow);
    c.in.mode = AP_FLOW_VERIFY;
    c.in.since_ms = 1795856400000;
    c.flow = c.ad->flow_new(&c.in);
    CHECK(c.ad->step(c.flow, &c.in, NULL, &c.req, &c.wait, &c.r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_CONTAINS(c.req.url, BASE "/2/users/1234567890/tweets?");
    CHECK(
        vc_answer(&c, 200,
                  "{\"data\":[{\"id\":\"42\",\"text\":\"a video https://t.co/abc\","
                  "\"created_at\":\"2026-11-28T12:00:00.000Z\"}],\"meta\":{\"result_count\":1}}") ==
        AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c.r.external_id, "42");
    case_end(&c);
}

static void test_parsers(void) {
    int64_t a, b, t, exp;
    CHECK(ap_chunk_parse_content_range("bytes 0-999/2500", &a, &b, &t) == 0);
    CHECK(a == 0 && b == 999 && t == 2500);
    CHECK(ap_chunk_parse_content_range("bytes 2000-2499/2500", &a, &b, &t) == 0);
    CHECK(ap_chunk_parse_content_range("bytes 0-999/*", &a, &b, &t) != 0);
    CHECK(ap_chunk_parse_content_range("bytes */2500", &a, &b, &t) != 0);
    CHECK(ap_chunk_parse_content_range("bytes 9-3/2500", &a, &b, &t) != 0);
    CHECK(ap_chunk_parse_content_range("bytes 0-2500/2500", &a, &b, &t) != 0);
    CHECK(ap_chunk_parse_content_range("bytes 0-1/99999999999999999999", &a, &b, &t) != 0);
    CHECK(ap_chunk_parse_content_range("items 0-1/2", &a, &b, &t) != 0);
    CHECK(ap_chunk_parse_content_range(NULL, &a, &b, &t) != 0);
    char id[40];
    const char *ok = "{\"data\":{\"id\":\"123\",\"expires_after_secs\":60}}";
    CHECK(ap_x_video_parse_init(ok, strlen(ok), id, sizeof(id), &exp) == 0);
    CHECK_STR_EQ(id, "123");
    CHECK(exp == 60);
    const char *bad = "{\"data\":{\"id\":123}}";
    CHECK(ap_x_video_parse_init(bad, strlen(bad), id, sizeof(id), &exp) != 0);
    CHECK(ap_x_video_parse_init("[", 1, id, sizeof(id), &exp) != 0);
    ap_x_processing p;
    const char *pend = "{\"data\":{\"processing_info\":{\"state\":\"pending\","
                       "\"check_after_secs\":5,\"progress_percent\":10}}}";
    CHECK(ap_x_video_parse_processing(pend, strlen(pend), &p) == 0);
    CHECK(p.state == AP_XP_PENDING && p.check_after_s == 5 && p.progress_percent == 10);
    const char *v11 = "{\"processing_info\":{\"state\":\"succeeded\"}}"; /* no data wrapper */
    CHECK(ap_x_video_parse_processing(v11, strlen(v11), &p) == 0);
    CHECK(p.state == AP_XP_SUCCEEDED);
    CHECK(ap_x_video_parse_processing("{}", 2, &p) == 0);
    CHECK(p.state == AP_XP_NONE);
    CHECK(ap_x_video_parse_processing("nope", 4, &p) != 0);
    const char *neg = "{\"processing_info\":{\"state\":\"pending\",\"check_after_secs\":-4}}";
    CHECK(ap_x_video_parse_processing(neg, strlen(neg), &p) == 0);
    CHECK(p.check_after_s == -1);
}

int main(void) {
    RUN(test_video_flow);
    RUN(test_gif_small_plain_answer);
    RUN(test_processing_failed);
    RUN(test_expired_media_restarts);
    RUN(test_append_gives_up);
    RUN(test_first_chunk_refusals);
    RUN(test_file_changed);
    RUN(test_upload_errors);
    RUN(test_verify_video_post);
    RUN(test_parsers);
    return TEST_RESULT();
}
