/* test_facebook.c -- the Facebook adapter (publishers/platforms/facebook.c) driven
 * without a network: requests are inspected as values and Graph API answers
 * are fed back as ap_http_response values. */
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "test.h"

#define TOKEN "EAAtestPageToken123"
#define PAGE "1234567890"
#define BASE "https://graph.example"

typedef struct fb_case {
    ap_job job;
    Autopost__V1__Media media[11];
    Autopost__V1__Media *media_ptrs[11];
    ap_platform_config platform;
    ap_flow_input in;
    const ap_adapter *ad;
    void *flow;
    ap_http_request req;
} fb_case;

/* A text + link post for page PAGE; add media with add_photo(). */
static void case_init(fb_case *c) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    memset(c, 0, sizeof(*c));
    c->job = job_init;
    c->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c->job.generation = 1;
    c->job.account_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    c->job.platform = "facebook";
    c->job.text = "Xin chào & hello=1";
    c->job.link = "https://example.com/a?b=c";
    c->job.account_external_id = PAGE;
    for (int i = 0; i < 11; i++) {
        c->media[i] = media_init;
        c->media[i].url = "https://cdn.example/p.jpg";
        c->media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
        c->media_ptrs[i] = &c->media[i];
    }
    c->job.media = c->media_ptrs;
    snprintf(c->platform.name, sizeof(c->platform.name), "facebook");
    c->platform.base_url = BASE;
    c->platform.api_version = "v19.0";
    c->in.job = &c->job;
    c->in.platform = &c->platform;
    c->in.token = TOKEN;
    c->in.mode = AP_FLOW_PUBLISH;
    c->ad = ap_adapter_find("facebook");
}

static void add_photo(fb_case *c) { c->job.n_media = 1; }

/* Starts the flow; the first step must ask for a request. */
static void start(fb_case *c, ap_flow_mode mode, int64_t since_ms) {
    c->in.mode = mode;
    c->in.since_ms = since_ms;
    c->flow = c->ad->flow_new(&c->in);
    CHECK(c->flow != NULL);
    ap_flow_result r;
    int64_t wait = 0;
    memset(&r, 0, sizeof(r));
    CHECK(c->ad->step(c->flow, &c->in, NULL, &c->req, &wait, &r) == AP_STEP_REQUEST);
}

static void finish_case(fb_case *c) {
    c->ad->flow_free(c->flow);
    c->flow = NULL;
    ap_http_request_clear(&c->req);
}

static void add_response_header(ap_http_response *res, const char *name, const char *value) {
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    res->nheaders++;
}

/* Feeds one HTTP answer (hname may be NULL) and returns the final result. */
static ap_flow_result answer(fb_case *c, long status, const char *body, const char *hname,
                             const char *hvalue) {
    ap_http_response res;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&res, 0, sizeof(res));
    memset(&r, 0, sizeof(r));
    res.status = status;
    res.request_sent = true;
    if (body) {
        res.body = strdup(body);
        res.body_len = strlen(body);
    }
    if (hname) add_response_header(&res, hname, hvalue);
    ap_http_request next;
    memset(&next, 0, sizeof(next));
    CHECK(c->ad->step(c->flow, &c->in, &res, &next, &wait, &r) == AP_STEP_DONE);
    ap_http_request_clear(&next);
    ap_http_response_clear(&res);
    return r;
}

/* Runs a whole publish flow against one answer. */
static ap_flow_result publish(long status, const char *body, const char *hname,
                              const char *hvalue) {
    fb_case c;
    case_init(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    ap_flow_result r = answer(&c, status, body, hname, hvalue);
    finish_case(&c);
    return r;
}

static const char *req_header(const ap_http_request *req, const char *name) {
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

/* ---- validate ------------------------------------------------------------ */

static bool valid(fb_case *c, char *reason, size_t len) {
    reason[0] = '\0';
    return c->ad->validate(&c->job, reason, len);
}

static void test_adapter_registered(void) {
    const ap_adapter *ad = ap_adapter_find("facebook");
    CHECK(ad != NULL);
    if (ad) CHECK_STR_EQ(ad->name, "facebook");
    CHECK(ap_adapter_find("myspace") == NULL);
    CHECK(ap_adapter_find(NULL) == NULL);
}

static void test_validate_ok(void) {
    fb_case c;
    char reason[256];
    case_init(&c);
    CHECK(valid(&c, reason, sizeof(reason)));
    add_photo(&c);
    CHECK(valid(&c, reason, sizeof(reason)));
    c.job.text = "";
    c.job.link = "";
    CHECK(valid(&c, reason, sizeof(reason))); /* a photo alone is a post */
}

static void test_validate_empty_post(void) {
    fb_case c;
    char reason[256];
    case_init(&c);
    c.job.text = "";
    c.job.link = "";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "empty post");
}

/* Text of n copies of "ệ" (3 bytes, 1 character). */
static char *vietnamese_text(size_t n) {
    char *s = malloc(n * 3 + 1);
    for (size_t i = 0; i < n; i++) memcpy(s + i * 3, "\xe1\xbb\x87", 3);
    s[n * 3] = '\0';
    return s;
}

static void test_validate_length_counts_characters(void) {
    fb_case c;
    char reason[256];
    case_init(&c);
    char *at_limit = vietnamese_text(63206), *over = vietnamese_text(63207);
    c.job.text = at_limit; /* 189,618 bytes but 63,206 characters */
    CHECK(valid(&c, reason, sizeof(reason)));
    c.job.text = over;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "text has 63207 characters; Facebook allows at most 63206");
    free(at_limit);
    free(over);
}

static void test_validate_invalid_utf8(void) {
    const char *bad[] = {"caf\xe9", "\xff", "ab\xe1\xbb", "\xc0\xaf", "\xf5\x80\x80\x80"};
    fb_case c;
    char reason[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        case_init(&c);
        c.job.text = (char *)bad[i];
        CHECK(!valid(&c, reason, sizeof(reason)));
        CHECK_CONTAINS(reason, "not valid UTF-8");
    }
}

static void test_validate_media(void) {
    fb_case c;
    char reason[256];
    case_init(&c);
    add_photo(&c);
    c.media[0].url = "ftp://cdn.example/p.jpg";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "media 1: URL must be http(s)");

    case_init(&c);
    c.job.n_media = 10; /* a multi-photo post */
    CHECK(valid(&c, reason, sizeof(reason)));
    c.job.n_media = 11;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "too many media items: 11 (at most 10 for facebook)");

    case_init(&c);
    c.job.n_media = 3;
    c.media[2].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "video");

    case_init(&c);
    add_photo(&c);
    c.media[0].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    c.job.link = NULL;
    CHECK(valid(&c, reason, sizeof(reason))); /* one video, alone: a page video */
    c.job.format = "reel";
    CHECK(valid(&c, reason, sizeof(reason)));
    c.job.link = "https://example.com/more";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "cannot carry a link");
    c.job.link = NULL;
    c.media[0].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_STR_EQ(reason, "format reel takes exactly one video");
    c.job.format = "story";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_STR_EQ(reason, "format story is not supported on facebook");
}

static void test_validate_link(void) {
    fb_case c;
    char reason[256];
    case_init(&c);
    c.job.link = "javascript:alert(1)";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "link must be an http(s) URL");
}

static void test_validate_page_id(void) {
    const char *bad[] = {"", "123/feed", "123?x=1", "12 3", "123#", "..%2F"};
    fb_case c;
    char reason[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        case_init(&c);
        c.job.account_external_id = (char *)bad[i];
        CHECK(!valid(&c, reason, sizeof(reason)));
        CHECK_CONTAINS(reason, "no valid Facebook page id");
    }
}

/* ---- the publish request --------------------------------------------------- */

static void test_feed_request(void) {
    fb_case c;
    case_init(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, BASE "/v19.0/" PAGE "/feed");
    CHECK_STR_EQ(c.req.body, "message=Xin%20ch%C3%A0o%20%26%20hello%3D1"
                             "&link=https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc");
    CHECK(c.req.body_len == strlen(c.req.body));
    CHECK_STR_EQ(req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    CHECK_STR_EQ(req_header(&c.req, "Content-Type"), "application/x-www-form-urlencoded");
    finish_case(&c);
}

static void test_token_never_in_url_or_body(void) {
    fb_case c;
    case_init(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK(strstr(c.req.url, TOKEN) == NULL);
    CHECK(strstr(c.req.url, "access_token") == NULL);
    CHECK(strstr(c.req.body, TOKEN) == NULL);
    finish_case(&c);
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856400000);
    CHECK(strstr(c.req.url, TOKEN) == NULL);
    finish_case(&c);
}

static void test_feed_request_text_only_and_link_only(void) {
    fb_case c;
    case_init(&c);
    c.job.link = "";
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.body, "message=Xin%20ch%C3%A0o%20%26%20hello%3D1");
    finish_case(&c);
    case_init(&c);
    c.job.text = "";
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.body, "link=https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc");
    finish_case(&c);
}

static void test_photo_request(void) {
    fb_case c;
    case_init(&c);
    add_photo(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, BASE "/v19.0/" PAGE "/photos");
    /* A photo cannot carry a link attachment: the link rides in the caption. */
    CHECK_STR_EQ(c.req.body, "url=https%3A%2F%2Fcdn.example%2Fp.jpg"
                             "&caption=Xin%20ch%C3%A0o%20%26%20hello%3D1%0A"
                             "https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc");
    CHECK_STR_EQ(req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    finish_case(&c);
}

static void test_photo_request_without_caption(void) {
    fb_case c;
    case_init(&c);
    add_photo(&c);
    c.job.text = "";
    c.job.link = "";
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.body, "url=https%3A%2F%2Fcdn.example%2Fp.jpg");
    finish_case(&c);
}

static void test_overlong_url_is_not_cut(void) {
    /* A URL cut at the buffer's end could name another endpoint (the page
     * itself instead of its /feed): the flow must refuse to build it. */
    char page[1100];
    memset(page, '7', sizeof(page) - 1);
    page[sizeof(page) - 1] = '\0';
    for (int mode = AP_FLOW_PUBLISH; mode <= AP_FLOW_VERIFY; mode++) {
        fb_case c;
        ap_flow_result r;
        int64_t wait = 0;
        case_init(&c);
        c.job.account_external_id = page;
        c.flow = c.ad->flow_new(&c.in);
        c.in.mode = (ap_flow_mode)mode;
        memset(&r, 0, sizeof(r));
        CHECK(c.ad->step(c.flow, &c.in, NULL, &c.req, &wait, &r) == AP_STEP_DONE);
        CHECK(c.req.url == NULL);
        CHECK(r.error_class == AP_CLASS_RETRY);
        CHECK_STR_EQ(r.error_code, "internal");
        finish_case(&c);
    }
}

/* ---- classifying the publish answer ---------------------------------------- */

static void test_success_feed(void) {
    ap_flow_result r = publish(200, "{\"id\":\"1_2\"}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "1_2");
    CHECK_STR_EQ(r.external_url, "https://www.facebook.com/1_2");
    CHECK(r.http_status == 200);
}

static void test_success_photo_uses_post_id(void) {
    fb_case c;
    case_init(&c);
    add_photo(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    ap_flow_result r = answer(&c, 200, "{\"id\":\"998\",\"post_id\":\"" PAGE "_998\"}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, PAGE "_998");
    finish_case(&c);
}

static void test_success_without_id_is_ambiguous(void) {
    const char *bodies[] = {"{}", "{\"id\":\"\"}", "{\"id\":12}", "not json", "", "[]"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        ap_flow_result r = publish(200, bodies[i], NULL, NULL);
        CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
        CHECK_STR_EQ(r.error_code, "no_id");
        CHECK_STR_EQ(r.external_id, "");
    }
    ap_flow_result r = publish(200, NULL, NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
}

static void test_expired_token_is_reauth(void) {
    ap_flow_result r =
        publish(400,
                "{\"error\":{\"message\":\"Error validating access token\",\"type\":"
                "\"OAuthException\",\"code\":190,\"error_subcode\":463,\"fbtrace_id\":\"A1\"}}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    CHECK_STR_EQ(r.error_code, "190/463");
    CHECK(r.http_status == 400);
    CHECK_CONTAINS(r.error_message, "reconnect the account");
    CHECK_CONTAINS(r.error_message, "Error validating access token");
    r = publish(400, "{\"error\":{\"code\":102}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    CHECK_STR_EQ(r.error_code, "102");
}

#define USAGE_7_MIN                                                                                \
    "{\"123\":[{\"type\":\"pages\",\"call_count\":100,\"estimated_time_to_regain_access\":7}]}"

static void test_rate_limits_retry_after_usage_hint(void) {
    const int codes[] = {4, 17, 32, 613, 80001};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char body[128], code[16];
        snprintf(body, sizeof(body), "{\"error\":{\"message\":\"slow down\",\"code\":%d}}",
                 codes[i]);
        snprintf(code, sizeof(code), "%d", codes[i]);
        ap_flow_result r = publish(400, body, "X-Business-Use-Case-Usage", USAGE_7_MIN);
        CHECK(r.error_class == AP_CLASS_RETRY);
        CHECK_STR_EQ(r.error_code, code);
        CHECK(r.retry_after_ms == 7 * 60 * 1000);
        CHECK_CONTAINS(r.error_message, "rate limited by Facebook: slow down");
        /* Code 4 is the app's budget: every account of the platform waits. */
        CHECK(r.pause == (codes[i] == 4 ? AP_PAUSE_APP : AP_PAUSE_ACCOUNT));
    }
}

static void test_rate_limit_takes_longest_hint(void) {
    /* Several business entries: the longest wait wins. */
    ap_flow_result r = publish(
        400, "{\"error\":{\"code\":80001}}", "x-business-use-case-usage",
        "{\"1\":[{\"estimated_time_to_regain_access\":2}],"
        "\"2\":[{\"estimated_time_to_regain_access\":0},{\"estimated_time_to_regain_access\":9}]}");
    CHECK(r.retry_after_ms == 9 * 60 * 1000);
    /* Retry-After longer than the usage hint. */
    r = publish(400, "{\"error\":{\"code\":4}}", "Retry-After", "900");
    CHECK(r.retry_after_ms == 900 * 1000);
}

static void test_rate_limit_without_hint_uses_default(void) {
    ap_flow_result r = publish(400, "{\"error\":{\"code\":17}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK(r.retry_after_ms == 60 * 1000);
    r = publish(400, "{\"error\":{\"code\":17}}", "X-Business-Use-Case-Usage", "garbage{");
    CHECK(r.retry_after_ms == 60 * 1000);
    r = publish(400, "{\"error\":{\"code\":17}}", "X-Business-Use-Case-Usage",
                "{\"1\":[{\"estimated_time_to_regain_access\":-5}]}");
    CHECK(r.retry_after_ms == 60 * 1000);
}

static void test_permission_is_permanent(void) {
    ap_flow_result r =
        publish(403, "{\"error\":{\"message\":\"no perm\",\"code\":200}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "200");
    CHECK_CONTAINS(r.error_message, "pages_manage_posts");
    r = publish(400, "{\"error\":{\"code\":10}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
}

static void test_duplicate(void) {
    ap_flow_result r = publish(
        400, "{\"error\":{\"message\":\"Duplicate status message\",\"code\":506}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_DUPLICATE);
    CHECK_STR_EQ(r.error_code, "506");
}

/* A 5xx to the publishing call may hide a post that went live: the
 * runtime must read the page back before trying again, never repost. */
static void test_server_error_at_publish_is_ambiguous(void) {
    ap_flow_result r = publish(
        500, "{\"error\":{\"message\":\"unknown\",\"code\":2,\"is_transient\":true}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_STR_EQ(r.error_code, "2");
    CHECK_CONTAINS(r.error_message, "may be live");
    /* is_transient alone, on a 400 and with an unknown code: refused, retry. */
    r = publish(400, "{\"error\":{\"code\":9999,\"is_transient\":true}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
    /* 503 with Retry-After. */
    r = publish(503, "", "Retry-After", "30");
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_STR_EQ(r.error_code, "http_503");
}

static void test_bad_parameter_is_permanent(void) {
    ap_flow_result r =
        publish(400, "{\"error\":{\"message\":\"Invalid parameter\",\"code\":100}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "100");
    CHECK_CONTAINS(r.error_message, "Invalid parameter");
}

static void test_non_json_gateway_error(void) {
    ap_flow_result r = publish(502, "<html>Bad Gateway</html>", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_STR_EQ(r.error_code, "http_502");
    CHECK(r.http_status == 502);
    r = publish(429, NULL, NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = publish(404, "<html>", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
}

static ap_flow_result transport_error(ap_flow_mode mode, bool sent) {
    fb_case c;
    ap_http_response res;
    ap_http_request next;
    ap_flow_result r;
    int64_t wait = 0;
    case_init(&c);
    start(&c, mode, 1795856400000);
    memset(&res, 0, sizeof(res));
    memset(&next, 0, sizeof(next));
    memset(&r, 0, sizeof(r));
    res.transport_error = 28; /* CURLE_OPERATION_TIMEDOUT */
    res.request_sent = sent;
    snprintf(res.transport_message, sizeof(res.transport_message), "Timeout was reached");
    CHECK(c.ad->step(c.flow, &c.in, &res, &next, &wait, &r) == AP_STEP_DONE);
    finish_case(&c);
    return r;
}

static void test_transport_error_before_sending_retries(void) {
    ap_flow_result r = transport_error(AP_FLOW_PUBLISH, false);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(r.error_code, "transport");
    CHECK_CONTAINS(r.error_message, "Timeout was reached");
}

static void test_transport_error_after_sending_is_ambiguous(void) {
    ap_flow_result r = transport_error(AP_FLOW_PUBLISH, true);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_CONTAINS(r.error_message, "may be live");
}

/* ---- verify mode ------------------------------------------------------------ */

static void test_verify_request(void) {
    fb_case c;
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856400999); /* 1795856400 s, minus a minute of slack */
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, BASE "/v19.0/" PAGE
                                 "/feed?fields=id,message,created_time&since=1795856340&limit=100");
    CHECK(c.req.body == NULL);
    CHECK_STR_EQ(req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    finish_case(&c);
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 0); /* unknown start: never a negative since */
    CHECK_CONTAINS(c.req.url, "&since=0&");
    finish_case(&c);
}

static ap_flow_result verify(fb_case *c, long status, const char *body) {
    start(c, AP_FLOW_VERIFY, 1795856400000);
    ap_flow_result r = answer(c, status, body, NULL, NULL);
    finish_case(c);
    return r;
}

static void test_verify_found(void) {
    fb_case c;
    case_init(&c);
    ap_flow_result r = verify(&c, 200,
                              "{\"data\":[{\"id\":\"" PAGE "_1\",\"message\":\"other\"},"
                              "{\"id\":\"" PAGE "_2\",\"message\":\"Xin chào & hello=1\","
                              "\"created_time\":\"2026-11-28T09:00:01+0000\"}]}");
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK(!r.not_found);
    CHECK_STR_EQ(r.external_id, PAGE "_2");
    CHECK_STR_EQ(r.external_url, "https://www.facebook.com/" PAGE "_2");
}

static void test_verify_found_photo_by_caption(void) {
    fb_case c;
    case_init(&c);
    add_photo(&c);
    ap_flow_result r = verify(&c, 200,
                              "{\"data\":[{\"id\":\"" PAGE "_3\",\"message\":\"Xin chào & "
                              "hello=1\\nhttps://example.com/a?b=c\"}]}");
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, PAGE "_3");
}

static void test_verify_not_found(void) {
    fb_case c;
    case_init(&c);
    ap_flow_result r = verify(&c, 200,
                              "{\"data\":[{\"id\":\"" PAGE "_1\",\"message\":\"Xin chào\"},"
                              "{\"id\":\"" PAGE "_9\"}],\"paging\":{}}");
    CHECK(r.not_found);
    CHECK(r.error_class != AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "");
    case_init(&c);
    r = verify(&c, 200, "{\"data\":[]}");
    CHECK(r.not_found);
}

static void test_verify_unreadable_is_ambiguous(void) {
    const char *bodies[] = {"garbage", "{}", "{\"data\":{}}", "", "[1,2]"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        fb_case c;
        case_init(&c);
        ap_flow_result r = verify(&c, 200, bodies[i]);
        CHECK(!r.not_found);
        CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    }
}

static void test_verify_post_without_text_is_ambiguous(void) {
    /* Feed items of link-only posts have no "message": "not found" would be
     * a guess, and the runtime would publish a second time on it. */
    fb_case c;
    case_init(&c);
    c.job.text = "";
    ap_flow_result r = verify(&c, 200, "{\"data\":[{\"id\":\"" PAGE "_5\"}]}");
    CHECK(!r.not_found);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
}

static void test_verify_error_answer_is_not_not_found(void) {
    fb_case c;
    case_init(&c);
    ap_flow_result r = verify(&c, 400, "{\"error\":{\"code\":190,\"error_subcode\":460}}");
    CHECK(!r.not_found);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    case_init(&c);
    r = verify(&c, 500, "oops");
    CHECK(!r.not_found);
    CHECK(r.error_class == AP_CLASS_RETRY);
}

static void test_verify_transport_error_is_ambiguous(void) {
    ap_flow_result r = transport_error(AP_FLOW_VERIFY, false);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK(!r.not_found);
}

/* ---- multi-photo posts ------------------------------------------------------- */

/* Feeds a 200 answer and expects the flow to ask for another request. */
static void answer_next(fb_case *c, const char *body, ap_http_request *next) {
    ap_http_response res;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&res, 0, sizeof(res));
    memset(&r, 0, sizeof(r));
    memset(next, 0, sizeof(*next));
    res.status = 200;
    res.request_sent = true;
    res.body = strdup(body);
    res.body_len = strlen(body);
    CHECK(c->ad->step(c->flow, &c->in, &res, next, &wait, &r) == AP_STEP_REQUEST);
    ap_http_response_clear(&res);
}

static void multi_case(fb_case *c) {
    case_init(c);
    c->job.n_media = 3;
    c->media[0].url = "https://cdn.example/1.jpg";
    c->media[1].url = "https://cdn.example/2.jpg";
    c->media[2].url = "https://cdn.example/3.jpg";
}

static void test_multi_photo_flow(void) {
    fb_case c;
    ap_http_request next;
    multi_case(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.url, BASE "/v19.0/" PAGE "/photos");
    CHECK_STR_EQ(c.req.body, "url=https%3A%2F%2Fcdn.example%2F1.jpg&published=false");
    CHECK_STR_EQ(req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    answer_next(&c, "{\"id\":\"501\"}", &next);
    CHECK_STR_EQ(next.body, "url=https%3A%2F%2Fcdn.example%2F2.jpg&published=false");
    ap_http_request_clear(&next);
    answer_next(&c, "{\"id\":\"502\"}", &next);
    CHECK_STR_EQ(next.body, "url=https%3A%2F%2Fcdn.example%2F3.jpg&published=false");
    ap_http_request_clear(&next);
    answer_next(&c, "{\"id\":\"503\"}", &next);
    CHECK_STR_EQ(next.method, "POST");
    CHECK_STR_EQ(next.url, BASE "/v19.0/" PAGE "/feed");
    /* The link rides in the message, as for a single photo. */
    CHECK_STR_EQ(next.body, "message=Xin%20ch%C3%A0o%20%26%20hello%3D1%0A"
                            "https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc"
                            "&attached_media=%5B%7B%22media_fbid%22%3A%22501%22%7D%2C"
                            "%7B%22media_fbid%22%3A%22502%22%7D%2C"
                            "%7B%22media_fbid%22%3A%22503%22%7D%5D");
    CHECK_STR_EQ(req_header(&next, "Authorization"), "Bearer " TOKEN);
    ap_http_request_clear(&next);
    ap_flow_result r = answer(&c, 200, "{\"id\":\"" PAGE "_77\"}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, PAGE "_77");
    finish_case(&c);
}

static ap_flow_result multi_lost(int photos_answered, bool sent) {
    fb_case c;
    ap_http_request next;
    ap_http_response res;
    ap_flow_result r;
    int64_t wait = 0;
    multi_case(&c);
    c.job.n_media = 2;
    start(&c, AP_FLOW_PUBLISH, 0);
    for (int i = 0; i < photos_answered; i++) {
        answer_next(&c, i == 0 ? "{\"id\":\"1\"}" : "{\"id\":\"2\"}", &next);
        ap_http_request_clear(&next);
    }
    memset(&res, 0, sizeof(res));
    memset(&r, 0, sizeof(r));
    memset(&next, 0, sizeof(next));
    res.transport_error = 28;
    res.request_sent = sent;
    CHECK(c.ad->step(c.flow, &c.in, &res, &next, &wait, &r) == AP_STEP_DONE);
    finish_case(&c);
    return r;
}

static void test_multi_photo_only_feed_call_is_ambiguous(void) {
    /* A lost unpublished photo is not a post: retry. */
    CHECK(multi_lost(0, true).error_class == AP_CLASS_RETRY);
    CHECK(multi_lost(1, true).error_class == AP_CLASS_RETRY);
    CHECK(multi_lost(2, false).error_class == AP_CLASS_RETRY);
    /* The lost feed call may have published. */
    ap_flow_result r = multi_lost(2, true);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_CONTAINS(r.error_message, "may be live");
}

static void test_multi_photo_upload_errors(void) {
    fb_case c;
    ap_http_request next;
    multi_case(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    answer_next(&c, "{\"id\":\"501\"}", &next);
    ap_http_request_clear(&next);
    ap_flow_result r =
        answer(&c, 400, "{\"error\":{\"code\":190,\"error_subcode\":463}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    finish_case(&c);
    /* A photo answer without an id: nothing is published, try again. */
    multi_case(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    r = answer(&c, 200, "{\"id\":\"../x\"}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(r.error_code, "no_id");
    finish_case(&c);
}

int main(void) {
    RUN(test_adapter_registered);
    RUN(test_validate_ok);
    RUN(test_validate_empty_post);
    RUN(test_validate_length_counts_characters);
    RUN(test_validate_invalid_utf8);
    RUN(test_validate_media);
    RUN(test_validate_link);
    RUN(test_validate_page_id);
    RUN(test_feed_request);
    RUN(test_token_never_in_url_or_body);
    RUN(test_feed_request_text_only_and_link_only);
    RUN(test_photo_request);
    RUN(test_photo_request_without_caption);
    RUN(test_overlong_url_is_not_cut);
    RUN(test_success_feed);
    RUN(test_success_photo_uses_post_id);
    RUN(test_success_without_id_is_ambiguous);
    RUN(test_expired_token_is_reauth);
    RUN(test_rate_limits_retry_after_usage_hint);
    RUN(test_rate_limit_takes_longest_hint);
    RUN(test_rate_limit_without_hint_uses_default);
    RUN(test_permission_is_permanent);
    RUN(test_duplicate);
    RUN(test_server_error_at_publish_is_ambiguous);
    RUN(test_bad_parameter_is_permanent);
    RUN(test_non_json_gateway_error);
    RUN(test_transport_error_before_sending_retries);
    RUN(test_transport_error_after_sending_is_ambiguous);
    RUN(test_verify_request);
    RUN(test_verify_found);
    RUN(test_verify_found_photo_by_caption);
    RUN(test_verify_not_found);
    RUN(test_verify_unreadable_is_ambiguous);
    RUN(test_verify_post_without_text_is_ambiguous);
    RUN(test_verify_error_answer_is_not_not_found);
    RUN(test_verify_transport_error_is_ambiguous);
    RUN(test_multi_photo_flow);
    RUN(test_multi_photo_only_feed_call_is_ambiguous);
    RUN(test_multi_photo_upload_errors);
    return TEST_RESULT();
}
