/* test_x.c -- the X adapter (publishers/platforms/x.c) driven without a network:
 * requests are inspected as values, X API answers are fed back. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "ap_time.h"
#include "test.h"

#define TOKEN "xUserToken123"
#define USER "1234567890123"
#define BASE "https://api.x.example"

typedef struct x_case {
    ap_job job;
    Autopost__V1__Media media[5];
    Autopost__V1__Media *media_ptrs[5];
    ap_platform_config platform;
    ap_flow_input in;
    const ap_adapter *ad;
    void *flow;
    ap_http_request req;
} x_case;

static void case_init(x_case *c) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    memset(c, 0, sizeof(*c));
    c->job = job_init;
    c->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c->job.generation = 1;
    c->job.account_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    c->job.platform = "x";
    c->job.text = "Xin chào <3 & co";
    c->job.link = "https://example.com/a?b=c";
    c->job.account_external_id = USER;
    for (int i = 0; i < 5; i++) {
        c->media[i] = media_init;
        c->media[i].url = "https://cdn.example/p.jpg";
        c->media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
        c->media_ptrs[i] = &c->media[i];
    }
    c->job.media = c->media_ptrs;
    snprintf(c->platform.name, sizeof(c->platform.name), "x");
    c->platform.base_url = BASE;
    c->platform.api_version = "2";
    c->in.job = &c->job;
    c->in.platform = &c->platform;
    c->in.token = TOKEN;
    c->ad = ap_adapter_find("x");
}

static void start(x_case *c, ap_flow_mode mode, int64_t since_ms) {
    c->in.mode = mode;
    c->in.since_ms = since_ms;
    c->flow = c->ad->flow_new(&c->in);
    CHECK(c->flow != NULL);
    ap_flow_result r;
    int64_t wait = 0;
    memset(&r, 0, sizeof(r));
    CHECK(c->ad->step(c->flow, &c->in, NULL, &c->req, &wait, &r) == AP_STEP_REQUEST);
}

static void finish_case(x_case *c) {
    c->ad->flow_free(c->flow);
    ap_http_request_clear(&c->req);
}

static void add_header(ap_http_response *res, const char *name, const char *value) {
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    res->nheaders++;
}

/* Feeds one answer; *next gets the follow-up request (if any). */
static ap_step_kind feed(x_case *c, long status, const char *body, const char *hname,
                         const char *hvalue, ap_http_request *next, ap_flow_result *r) {
    ap_http_response res;
    int64_t wait = 0;
    memset(&res, 0, sizeof(res));
    memset(r, 0, sizeof(*r));
    memset(next, 0, sizeof(*next));
    res.status = status;
    res.request_sent = true;
    if (body) {
        res.body = strdup(body);
        res.body_len = strlen(body);
    }
    if (hname) add_header(&res, hname, hvalue);
    ap_step_kind k = c->ad->step(c->flow, &c->in, &res, next, &wait, r);
    ap_http_response_clear(&res);
    return k;
}

static ap_flow_result answer(x_case *c, long status, const char *body, const char *hname,
                             const char *hvalue) {
    ap_http_request next;
    ap_flow_result r;
    CHECK(feed(c, status, body, hname, hvalue, &next, &r) == AP_STEP_DONE);
    ap_http_request_clear(&next);
    return r;
}

static ap_flow_result publish(long status, const char *body, const char *hname,
                              const char *hvalue) {
    x_case c;
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

static bool valid(x_case *c, char *reason, size_t len) {
    reason[0] = '\0';
    return c->ad->validate(&c->job, reason, len);
}

static char *repeat(const char *unit, size_t n) {
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

static void test_registered(void) {
    const ap_adapter *ad = ap_adapter_find("x");
    CHECK(ad != NULL);
    if (ad) CHECK_STR_EQ(ad->name, "x");
}

static void test_validate_length(void) {
    x_case c;
    char reason[256];
    case_init(&c);
    CHECK(valid(&c, reason, sizeof(reason)));
    /* 256 letters + newline + link (23) = 280: fits. One more letter: 281. */
    char *text = repeat("a", 256);
    c.job.text = text;
    CHECK(valid(&c, reason, sizeof(reason)));
    free(text);
    text = repeat("a", 257);
    c.job.text = text;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "weighs 281");
    free(text);
    /* Without a link: 140 Vietnamese letters with tone marks fit, 141 do not. */
    c.job.link = "";
    text = repeat("\xE1\xBB\x87", 140);
    c.job.text = text;
    CHECK(valid(&c, reason, sizeof(reason)));
    free(text);
    text = repeat("\xE1\xBB\x87", 141);
    c.job.text = text;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "282");
    free(text);
    c.job.text = "bad \xFF utf8";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "UTF-8");
}

static void test_validate_media_and_account(void) {
    x_case c;
    char reason[256];
    case_init(&c);
    c.job.n_media = 5;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "too many media");
    c.job.n_media = 2;
    c.media[1].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "one video");
    c.job.n_media = 1;
    CHECK(valid(&c, reason, sizeof(reason))); /* one image */
    c.media_ptrs[0] = &c.media[1];
    CHECK(valid(&c, reason, sizeof(reason))); /* one video: the chunked upload */
    c.media[1].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF;
    CHECK(valid(&c, reason, sizeof(reason))); /* one GIF */
    c.job.n_media = 2;
    c.media_ptrs[1] = &c.media[0];
    CHECK(!valid(&c, reason, sizeof(reason))); /* a GIF and an image */
    CHECK_CONTAINS(reason, "one video or GIF");
    c.job.n_media = 1;
    c.media[1].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT;
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "documents");
    c.media_ptrs[0] = &c.media[0];
    c.media_ptrs[1] = &c.media[1];
    c.media[1].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
    c.job.n_media = 4;
    CHECK(valid(&c, reason, sizeof(reason)));
    c.job.n_media = 0;
    c.job.account_external_id = "12/../34";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "X user id");
    c.job.account_external_id = "";
    CHECK(!valid(&c, reason, sizeof(reason)));
}

/* ---- publish ------------------------------------------------------------- */

static void test_publish_request(void) {
    x_case c;
    case_init(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, BASE "/2/tweets");
    CHECK_STR_EQ(req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    CHECK_STR_EQ(req_header(&c.req, "Content-Type"), "application/json");
    json_t *body = json_loadb(c.req.body, c.req.body_len, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(body, "text")),
                 "Xin chào <3 & co\nhttps://example.com/a?b=c");
    CHECK(json_object_size(body) == 1);
    json_decref(body);
    CHECK(strstr(c.req.url, TOKEN) == NULL);
    finish_case(&c);

    /* A link already in the text is not repeated. */
    case_init(&c);
    c.job.text = "read https://example.com/a?b=c now";
    start(&c, AP_FLOW_PUBLISH, 0);
    body = json_loadb(c.req.body, c.req.body_len, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(body, "text")),
                 "read https://example.com/a?b=c now");
    json_decref(body);
    finish_case(&c);
}

static void test_publish_success(void) {
    ap_flow_result r = publish(
        201, "{\"data\":{\"id\":\"1861234567890123456\",\"text\":\"Xin chào\"}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "1861234567890123456");
    CHECK_STR_EQ(r.external_url, "https://x.com/i/web/status/1861234567890123456");
    r = publish(201, "{\"data\":{\"text\":\"no id\"}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    r = publish(201, "{\"data\":{\"id\":\"../../evil\"}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
}

static void test_publish_errors(void) {
    ap_flow_result r =
        publish(401,
                "{\"title\":\"Unauthorized\",\"type\":\"about:blank\",\"status\":401,\"detail\":"
                "\"Unauthorized\"}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    CHECK_STR_EQ(r.error_code, "http_401");
    r = publish(403,
                "{\"detail\":\"You are not allowed to create a Tweet with duplicate content.\","
                "\"type\":\"about:blank\",\"title\":\"Forbidden\",\"status\":403}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_DUPLICATE);
    CHECK_CONTAINS(r.error_message, "duplicate content");
    r = publish(403,
                "{\"detail\":\"You are not permitted to perform this action.\",\"type\":"
                "\"about:blank\",\"title\":\"Forbidden\",\"status\":403}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "not permitted");
    r = publish(400,
                "{\"errors\":[{\"message\":\"$.text: too long\"}],\"title\":\"Invalid Request\","
                "\"type\":\"https://api.twitter.com/2/problems/invalid-request\"}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    r = publish(503, "{\"title\":\"Service Unavailable\"}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = publish(500, "<html>oops</html>", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_CONTAINS(r.error_message, "no error details");
}

static void test_rate_limit_wait(void) {
    char reset[32];
    /* The reset is an epoch second 10 minutes away: wait about that long. */
    snprintf(reset, sizeof(reset), "%lld", (long long)(ap_now_ms() / 1000 + 600));
    ap_flow_result r =
        publish(429, "{\"title\":\"Too Many Requests\"}", "x-rate-limit-reset", reset);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK(r.retry_after_ms > 590 * 1000 && r.retry_after_ms <= 600 * 1000);
    CHECK(r.pause == AP_PAUSE_ACCOUNT);
    /* The app's 24-hour allowance spent: the whole app pauses. */
    r = publish(429, "{}", "x-app-limit-24hour-remaining", "0");
    CHECK(r.error_class == AP_CLASS_RETRY && r.pause == AP_PAUSE_APP);
    r = publish(429, "{}", "x-app-limit-24hour-remaining", "12");
    CHECK(r.pause == AP_PAUSE_ACCOUNT);
    r = publish(429, "{}", "Retry-After", "1200");
    CHECK(r.retry_after_ms == 1200 * 1000);
    r = publish(429, "{}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY && r.retry_after_ms == 60 * 1000);
    r = publish(429, "{}", "x-rate-limit-reset", "99999999999999"); /* nonsense */
    CHECK(r.retry_after_ms == 60 * 1000);
    /* The user's 24-hour allowance: quota, until its own reset. */
    x_case c;
    ap_http_request next;
    ap_http_response res;
    int64_t wait = 0;
    case_init(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    memset(&res, 0, sizeof(res));
    memset(&next, 0, sizeof(next));
    res.status = 429;
    res.request_sent = true;
    add_header(&res, "x-user-limit-24hour-remaining", "0");
    snprintf(reset, sizeof(reset), "%lld", (long long)(ap_now_ms() / 1000 + 3600));
    add_header(&res, "x-user-limit-24hour-reset", reset);
    add_header(&res, "x-rate-limit-reset", "1");
    CHECK(c.ad->step(c.flow, &c.in, &res, &next, &wait, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_QUOTA && r.pause == AP_PAUSE_ACCOUNT);
    CHECK(r.retry_after_ms > 3590 * 1000 && r.retry_after_ms <= 3600 * 1000);
    ap_http_response_clear(&res);
    finish_case(&c);
}

static void test_transport(void) {
    x_case c;
    ap_http_response res;
    ap_http_request next;
    ap_flow_result r;
    int64_t wait;
    for (int sent = 0; sent <= 1; sent++) {
        case_init(&c);
        start(&c, AP_FLOW_PUBLISH, 0);
        memset(&res, 0, sizeof(res));
        memset(&next, 0, sizeof(next));
        memset(&r, 0, sizeof(r));
        res.transport_error = 28;
        res.request_sent = sent;
        snprintf(res.transport_message, sizeof(res.transport_message), "Timeout was reached");
        CHECK(c.ad->step(c.flow, &c.in, &res, &next, &wait, &r) == AP_STEP_DONE);
        CHECK(r.error_class == (sent ? AP_CLASS_AMBIGUOUS : AP_CLASS_RETRY));
        finish_case(&c);
    }
}

/* ---- verify -------------------------------------------------------------- */

static void test_verify_request(void) {
    x_case c;
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000); /* 2026-11-28T09:01:00Z, less a minute of slack */
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, BASE "/2/users/" USER "/tweets?start_time=2026-11-28T09:00:00Z"
                                 "&max_results=100&tweet.fields=created_at,text");
    CHECK_STR_EQ(req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    finish_case(&c);
}

static ap_flow_result verify(const char *body) {
    x_case c;
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    ap_flow_result r = answer(&c, 200, body, NULL, NULL);
    finish_case(&c);
    return r;
}

static void test_verify_match(void) {
    /* X returns entities escaped and the link as a t.co URL. */
    ap_flow_result r =
        verify("{\"data\":[{\"id\":\"11\",\"text\":\"other\"},{\"id\":\"22\",\"text\":"
               "\"Xin ch\\u00e0o &lt;3 &amp; co\\nhttps://t.co/AbC123\"}],"
               "\"meta\":{\"result_count\":2}}");
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "22");
    CHECK(!r.not_found);
    /* Decomposed à from X still matches after NFC. */
    r = verify("{\"data\":[{\"id\":\"33\",\"text\":\"Xin cha\\u0300o &lt;3 &amp; co\\n"
               "https://t.co/x\"}]}");
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "33");
    CHECK(r.created_at_ms == 0); /* X did not say when: "not said" */
    /* created_at is what tells our post from an older one after a 403
     * duplicate (runtime.c); garbage there is "not said", never a guess. */
    r = verify("{\"data\":[{\"id\":\"44\",\"text\":\"Xin ch\\u00e0o &lt;3 &amp; co\\n"
               "https://t.co/x\",\"created_at\":\"2026-11-28T09:01:02.500Z\"}]}");
    CHECK_STR_EQ(r.external_id, "44");
    CHECK(r.created_at_ms == INT64_C(1795856462500));
    r = verify("{\"data\":[{\"id\":\"45\",\"text\":\"Xin ch\\u00e0o &lt;3 &amp; co\\n"
               "https://t.co/x\",\"created_at\":\"yesterday\"}]}");
    CHECK_STR_EQ(r.external_id, "45");
    CHECK(r.created_at_ms == 0);
}

static void test_verify_not_found(void) {
    ap_flow_result r = verify("{\"meta\":{\"result_count\":0}}");
    CHECK(r.not_found);
    CHECK(r.error_class != AP_CLASS_NONE);
    r = verify("{\"data\":[{\"id\":\"11\",\"text\":\"Xin chào <3 & co\"}],\"meta\":{}}");
    CHECK(r.not_found); /* same words without the link is another post */
    r = verify("not json");
    CHECK(!r.not_found);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    r = verify("{\"meta\":{}}");
    CHECK(!r.not_found);
}

static void test_verify_pages(void) {
    x_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    CHECK(feed(&c, 200,
               "{\"data\":[{\"id\":\"11\",\"text\":\"other\"}],\"meta\":{\"result_count\":1,"
               "\"next_token\":\"7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i\"}}",
               NULL, NULL, &next, &r) == AP_STEP_REQUEST);
    CHECK_CONTAINS(next.url, "&pagination_token=7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i");
    CHECK_STR_EQ(req_header(&next, "Authorization"), "Bearer " TOKEN);
    ap_http_request_clear(&next);
    r = answer(&c, 200,
               "{\"data\":[{\"id\":\"44\",\"text\":\"Xin chào &lt;3 &amp; co\\nhttps://t.co/z\"}]}",
               NULL, NULL);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "44");
    finish_case(&c);

    /* Endless pages: give up as ambiguous, never "not found". */
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    ap_step_kind k;
    int pages = 1;
    while ((k = feed(&c, 200, "{\"data\":[],\"meta\":{\"next_token\":\"t\"}}", NULL, NULL, &next,
                     &r)) == AP_STEP_REQUEST) {
        ap_http_request_clear(&next);
        CHECK(++pages <= 10);
        if (pages > 10) break;
    }
    CHECK(k == AP_STEP_DONE);
    CHECK(!r.not_found && r.error_class == AP_CLASS_AMBIGUOUS);
    ap_http_request_clear(&next);
    finish_case(&c);
}

/* ---- media --------------------------------------------------------------- */

/* Feeds a download answer (body of n bytes, Content-Type type). */
static ap_step_kind feed_download(x_case *c, long status, const char *body, size_t n,
                                  const char *type, ap_http_request *next, ap_flow_result *r) {
    ap_http_response res;
    int64_t wait = 0;
    memset(&res, 0, sizeof(res));
    memset(r, 0, sizeof(*r));
    memset(next, 0, sizeof(*next));
    res.status = status;
    res.request_sent = true;
    res.body = malloc(n + 1);
    memcpy(res.body, body, n);
    res.body[n] = '\0';
    res.body_len = n;
    if (type) add_header(&res, "Content-Type", type);
    ap_step_kind k = c->ad->step(c->flow, &c->in, &res, next, &wait, r);
    ap_http_response_clear(&res);
    return k;
}

static void test_media_flow(void) {
    static const char jpeg[] = "\xFF\xD8\xFF\xE0\0\x10JFIF\0binary";
    x_case c;
    ap_http_request next, next2;
    ap_flow_result r;
    case_init(&c);
    c.job.n_media = 2;
    c.media[1].url = "https://cdn.example/second.png";
    start(&c, AP_FLOW_PUBLISH, 0);
    /* 1: download the first image, without our token. */
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, "https://cdn.example/p.jpg");
    CHECK(req_header(&c.req, "Authorization") == NULL);
    CHECK(c.req.max_response == 5 * 1024 * 1024 + 1);
    /* 2: upload it as multipart, bytes intact. */
    CHECK(feed_download(&c, 200, jpeg, sizeof(jpeg), "image/jpeg", &next, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(next.method, "POST");
    CHECK_STR_EQ(next.url, BASE "/2/media/upload");
    CHECK_STR_EQ(req_header(&next, "Authorization"), "Bearer " TOKEN);
    CHECK_CONTAINS(req_header(&next, "Content-Type"), "multipart/form-data; boundary=");
    const char *boundary = strstr(req_header(&next, "Content-Type"), "boundary=");
    bool found = false;
    for (size_t i = 0; next.body && i + sizeof(jpeg) <= next.body_len; i++)
        found = found || memcmp(next.body + i, jpeg, sizeof(jpeg)) == 0;
    CHECK(found);
    CHECK(boundary && strstr(next.body, boundary + 9) == next.body + 2);
    CHECK_CONTAINS(next.body, "name=\"media_category\"\r\n\r\ntweet_image\r\n");
    CHECK_CONTAINS(next.body, "Content-Type: image/jpeg\r\n");
    ap_http_request_clear(&next);
    /* 3: the second image. */
    CHECK(feed(&c, 200, "{\"data\":{\"id\":\"1880000000000000001\",\"media_key\":\"3_1\"}}", NULL,
               NULL, &next, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(next.url, "https://cdn.example/second.png");
    CHECK(feed_download(&c, 200, "PNG", 3, "image/png", &next2, &r) == AP_STEP_REQUEST);
    ap_http_request_clear(&next);
    CHECK_CONTAINS(next2.body, "Content-Type: image/png\r\n");
    ap_http_request_clear(&next2);
    /* 4: the tweet names both media ids (the v1.1 answer shape works too). */
    CHECK(feed(&c, 200, "{\"media_id_string\":\"1880000000000000002\"}", NULL, NULL, &next, &r) ==
          AP_STEP_REQUEST);
    CHECK_STR_EQ(next.url, BASE "/2/tweets");
    json_t *body = json_loadb(next.body, next.body_len, 0, NULL);
    json_t *ids = json_object_get(json_object_get(body, "media"), "media_ids");
    CHECK(json_array_size(ids) == 2);
    CHECK_STR_EQ(json_string_value(json_array_get(ids, 0)), "1880000000000000001");
    CHECK_STR_EQ(json_string_value(json_array_get(ids, 1)), "1880000000000000002");
    CHECK(json_is_string(json_object_get(body, "text")));
    json_decref(body);
    ap_http_request_clear(&next);
    CHECK(feed(&c, 201, "{\"data\":{\"id\":\"77\",\"text\":\"t\"}}", NULL, NULL, &next, &r) ==
          AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "77");
    finish_case(&c);
}

/* The first answer of a one-image flow decides. */
static ap_flow_result download_answer(long status, const char *type, int transport, bool sent) {
    x_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    c.job.n_media = 1;
    start(&c, AP_FLOW_PUBLISH, 0);
    if (transport) {
        ap_http_response res;
        int64_t wait = 0;
        memset(&res, 0, sizeof(res));
        memset(&next, 0, sizeof(next));
        res.transport_error = transport;
        res.request_sent = sent;
        CHECK(c.ad->step(c.flow, &c.in, &res, &next, &wait, &r) == AP_STEP_DONE);
    } else {
        CHECK(feed_download(&c, status, "data", 4, type, &next, &r) == AP_STEP_DONE);
    }
    finish_case(&c);
    return r;
}

static void test_media_download_errors(void) {
    ap_flow_result r = download_answer(404, "text/html", 0, true);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "answered 404");
    r = download_answer(200, "text/html", 0, true);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "not an image");
    r = download_answer(503, NULL, 0, true);
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = download_answer(0, NULL, 23, true); /* over the size cap */
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "larger than");
    r = download_answer(0, NULL, 28, true); /* timeout: nothing is public yet */
    CHECK(r.error_class == AP_CLASS_RETRY);
}

static ap_flow_result upload_answer(long status, const char *body, int transport) {
    x_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    c.job.n_media = 1;
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK(feed_download(&c, 200, "img", 3, "image/gif", &next, &r) == AP_STEP_REQUEST);
    ap_http_request_clear(&next);
    if (transport) {
        ap_http_response res;
        int64_t wait = 0;
        memset(&res, 0, sizeof(res));
        res.transport_error = transport;
        res.request_sent = true;
        CHECK(c.ad->step(c.flow, &c.in, &res, &next, &wait, &r) == AP_STEP_DONE);
    } else {
        CHECK(feed(&c, status, body, NULL, NULL, &next, &r) == AP_STEP_DONE);
    }
    finish_case(&c);
    return r;
}

static void test_media_upload_errors(void) {
    ap_flow_result r = upload_answer(0, NULL, 28);
    CHECK(r.error_class == AP_CLASS_RETRY); /* not ambiguous: no post yet */
    r = upload_answer(500, "{}", 0);
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = upload_answer(401, "{\"title\":\"Unauthorized\",\"status\":401}", 0);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    r = upload_answer(400, "{\"title\":\"Invalid Request\",\"detail\":\"bad image\"}", 0);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    r = upload_answer(200, "{\"data\":{}}", 0);
    CHECK(r.error_class == AP_CLASS_RETRY);
}

static void test_verify_media(void) {
    x_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    c.job.n_media = 1;
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    /* X adds the image's t.co link at the end of the text. */
    CHECK(feed(&c, 200,
               "{\"data\":[{\"id\":\"55\",\"text\":\"Xin chào &lt;3 &amp; co\\nhttps://t.co/a "
               "https://t.co/img\"}]}",
               NULL, NULL, &next, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "55");
    finish_case(&c);
    /* Images without text: cannot be recognised, so never "not found". */
    case_init(&c);
    c.job.n_media = 1;
    c.job.text = "";
    c.job.link = "";
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    CHECK(feed(&c, 200, "{\"data\":[{\"id\":\"56\",\"text\":\"https://t.co/img\"}]}", NULL, NULL,
               &next, &r) == AP_STEP_DONE);
    CHECK(!r.not_found && r.error_class == AP_CLASS_AMBIGUOUS);
    finish_case(&c);
}

int main(void) {
    RUN(test_registered);
    RUN(test_validate_length);
    RUN(test_validate_media_and_account);
    RUN(test_publish_request);
    RUN(test_publish_success);
    RUN(test_publish_errors);
    RUN(test_rate_limit_wait);
    RUN(test_transport);
    RUN(test_verify_request);
    RUN(test_verify_match);
    RUN(test_verify_not_found);
    RUN(test_verify_pages);
    RUN(test_media_flow);
    RUN(test_media_download_errors);
    RUN(test_media_upload_errors);
    RUN(test_verify_media);
    return TEST_RESULT();
}
