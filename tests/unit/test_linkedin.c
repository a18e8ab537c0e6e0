/* test_linkedin.c -- the LinkedIn adapter (publishers/platforms/linkedin.c) driven
 * without a network: requests are inspected as values, Posts API answers
 * (status, headers, body) are fed back. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "linkedin.h"
#include "test.h"

#define TOKEN "AQVliTestToken"
#define AUTHOR "urn:li:person:8675309"
#define BASE "https://api.linkedin.example"

typedef struct li_case {
    ap_job job;
    Autopost__V1__Media media;
    Autopost__V1__Media *media_ptr;
    ap_platform_config platform;
    ap_flow_input in;
    const ap_adapter *ad;
    void *flow;
    ap_http_request req;
} li_case;

static void case_init(li_case *c) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    memset(c, 0, sizeof(*c));
    c->job = job_init;
    c->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c->job.account_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    c->job.platform = "linkedin";
    c->job.text = "Launch (v2) at 9:00 #news\nsecond line";
    c->job.link = "https://example.com/launch";
    c->job.account_external_id = AUTHOR;
    c->media = media_init;
    c->media.url = "https://cdn.example/p.jpg";
    c->media_ptr = &c->media;
    c->job.media = &c->media_ptr;
    snprintf(c->platform.name, sizeof(c->platform.name), "linkedin");
    c->platform.base_url = BASE;
    c->platform.api_version = "202411";
    c->in.job = &c->job;
    c->in.platform = &c->platform;
    c->in.token = TOKEN;
    c->ad = ap_adapter_find("linkedin");
}

static void start(li_case *c, ap_flow_mode mode, int64_t since_ms) {
    c->in.mode = mode;
    c->in.since_ms = since_ms;
    c->flow = c->ad->flow_new(&c->in);
    CHECK(c->flow != NULL);
    ap_flow_result r;
    int64_t wait = 0;
    memset(&r, 0, sizeof(r));
    CHECK(c->ad->step(c->flow, &c->in, NULL, &c->req, &wait, &r) == AP_STEP_REQUEST);
}

static void finish_case(li_case *c) {
    c->ad->flow_free(c->flow);
    ap_http_request_clear(&c->req);
}

static ap_step_kind feed(li_case *c, long status, const char *body, const char *hname,
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
    if (hname) {
        res.headers[0].name = strdup(hname);
        res.headers[0].value = strdup(hvalue);
        res.nheaders = 1;
    }
    ap_step_kind k = c->ad->step(c->flow, &c->in, &res, next, &wait, r);
    ap_http_response_clear(&res);
    return k;
}

static ap_flow_result publish(long status, const char *body, const char *hname,
                              const char *hvalue) {
    li_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK(feed(&c, status, body, hname, hvalue, &next, &r) == AP_STEP_DONE);
    ap_http_request_clear(&next);
    finish_case(&c);
    return r;
}

static const char *req_header(const ap_http_request *req, const char *name) {
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

/* ---- validate and escape -------------------------------------------------- */

static bool valid(li_case *c, char *reason, size_t len) {
    reason[0] = '\0';
    return c->ad->validate(&c->job, reason, len);
}

static void test_validate(void) {
    li_case c;
    char reason[256];
    case_init(&c);
    CHECK(c.ad != NULL);
    CHECK(valid(&c, reason, sizeof(reason)));
    c.job.account_external_id = "urn:li:organization:2414183";
    CHECK(valid(&c, reason, sizeof(reason)));
    c.job.account_external_id = "8675309";
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "URN");
    c.job.account_external_id = "urn:li:person:a/b";
    CHECK(!valid(&c, reason, sizeof(reason)));
    c.job.account_external_id = AUTHOR;
    c.job.n_media = 1;
    CHECK(valid(&c, reason, sizeof(reason))); /* an image */
    c.media.type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    CHECK(valid(&c, reason, sizeof(reason))); /* one video: the Videos API */
    c.media.type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
    c.job.n_media = 0;
    /* 3000 characters (Vietnamese: 3 bytes each) fit, 3001 do not. */
    char *text = malloc(3 * 3001 + 1);
    for (int i = 0; i < 3001; i++) memcpy(text + 3 * i, "\xE1\xBB\x87", 3);
    text[3 * 3000] = '\0';
    c.job.text = text;
    CHECK(valid(&c, reason, sizeof(reason)));
    text[3 * 3000] = '\xE1';
    text[3 * 3001] = '\0';
    CHECK(!valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "3001 characters");
    free(text);
}

static void test_escape(void) {
    char *e = ap_linkedin_escape("a (b) [c] {d} <e> @f |g ~h _i *j \\k #l Vi\xE1\xBB\x87t");
    CHECK_STR_EQ(e, "a \\(b\\) \\[c\\] \\{d\\} \\<e\\> \\@f \\|g \\~h \\_i \\*j \\\\k #l "
                    "Vi\xE1\xBB\x87t");
    free(e);
    e = ap_linkedin_escape("");
    CHECK_STR_EQ(e, "");
    free(e);
}

/* ---- publish ------------------------------------------------------------- */

static void test_publish_request(void) {
    li_case c;
    case_init(&c);
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, BASE "/rest/posts");
    CHECK_STR_EQ(req_header(&c.req, "LinkedIn-Version"), "202411");
    CHECK_STR_EQ(req_header(&c.req, "X-Restli-Protocol-Version"), "2.0.0");
    CHECK_STR_EQ(req_header(&c.req, "Authorization"), "Bearer " TOKEN);
    CHECK_STR_EQ(req_header(&c.req, "Content-Type"), "application/json");
    json_t *b = json_loadb(c.req.body, c.req.body_len, 0, NULL);
    CHECK(b != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(b, "author")), AUTHOR);
    CHECK_STR_EQ(json_string_value(json_object_get(b, "commentary")),
                 "Launch \\(v2\\) at 9:00 #news\nsecond line");
    CHECK_STR_EQ(json_string_value(json_object_get(b, "visibility")), "PUBLIC");
    CHECK_STR_EQ(json_string_value(json_object_get(b, "lifecycleState")), "PUBLISHED");
    CHECK(json_is_false(json_object_get(b, "isReshareDisabledByAuthor")));
    json_t *d = json_object_get(b, "distribution");
    CHECK_STR_EQ(json_string_value(json_object_get(d, "feedDistribution")), "MAIN_FEED");
    CHECK(json_is_array(json_object_get(d, "targetEntities")) &&
          json_array_size(json_object_get(d, "targetEntities")) == 0);
    CHECK(json_is_array(json_object_get(d, "thirdPartyDistributionChannels")));
    json_t *a = json_object_get(json_object_get(b, "content"), "article");
    CHECK_STR_EQ(json_string_value(json_object_get(a, "source")), "https://example.com/launch");
    CHECK_STR_EQ(json_string_value(json_object_get(a, "title")), "Launch (v2) at 9:00 #news");
    json_decref(b);
    finish_case(&c);

    /* No link: no content. */
    case_init(&c);
    c.job.link = "";
    start(&c, AP_FLOW_PUBLISH, 0);
    b = json_loadb(c.req.body, c.req.body_len, 0, NULL);
    CHECK(json_object_get(b, "content") == NULL);
    json_decref(b);
    finish_case(&c);
}

static void test_publish_success(void) {
    ap_flow_result r = publish(201, "", "x-restli-id", "urn:li:share:7134567890123456789");
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "urn:li:share:7134567890123456789");
    CHECK_STR_EQ(r.external_url,
                 "https://www.linkedin.com/feed/update/urn:li:share:7134567890123456789/");
    r = publish(201, "", "X-RestLi-Id", "urn:li:ugcPost:42"); /* any case */
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "urn:li:ugcPost:42");
    r = publish(201, "", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    r = publish(201, "", "x-restli-id", "urn:li:share:1 evil");
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
}

static void test_publish_errors(void) {
    ap_flow_result r = publish(401,
                               "{\"status\":401,\"serviceErrorCode\":65601,\"code\":"
                               "\"EXPIRED_ACCESS_TOKEN\",\"message\":\"The token used in the "
                               "request has expired\"}",
                               NULL, NULL);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    CHECK_STR_EQ(r.error_code, "EXPIRED_ACCESS_TOKEN");
    r = publish(403,
                "{\"status\":403,\"serviceErrorCode\":100,\"code\":\"ACCESS_DENIED\",\"message\":"
                "\"Not enough permissions\"}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "w_member_social");
    r = publish(422,
                "{\"status\":422,\"code\":\"DUPLICATE_POST\",\"message\":\"Content is a duplicate "
                "of urn:li:share:7000000000000000001\"}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_DUPLICATE);
    CHECK_STR_EQ(r.error_code, "DUPLICATE_POST");
    CHECK_CONTAINS(r.error_message, "duplicate of urn:li:share:7000000000000000001:");
    r = publish(422, "{\"status\":422,\"code\":\"UNPROCESSABLE_ENTITY\",\"message\":\"bad\"}", NULL,
                NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    r = publish(426,
                "{\"status\":426,\"code\":\"NONEXISTENT_VERSION\",\"message\":\"Requested "
                "version 202411 is not active\"}",
                NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "platforms.linkedin.api_version");
    CHECK_CONTAINS(r.error_message, "202411");
    r = publish(429, "{\"status\":429,\"code\":\"TOO_MANY_REQUESTS\",\"message\":\"limit\"}", NULL,
                NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK(r.retry_after_ms == 0); /* no reset header: the runtime's backoff decides */
    r = publish(503, "{\"status\":503}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = publish(500, "{\"status\":500,\"message\":\"Internal Server Error\"}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    r = publish(400, "garbage", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "http_400");
}

/* ---- verify -------------------------------------------------------------- */

static void test_verify(void) {
    li_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, BASE "/rest/posts?q=author&author=urn%3Ali%3Aperson%3A8675309"
                                 "&count=50&start=0&sortBy=LAST_MODIFIED");
    CHECK_STR_EQ(req_header(&c.req, "LinkedIn-Version"), "202411");
    CHECK(feed(&c, 200,
               "{\"elements\":[{\"id\":\"urn:li:share:9\",\"commentary\":\"Launch \\\\(v2\\\\) at "
               "9:00 #news\\nsecond line\",\"createdAt\":1795856470000}],\"paging\":{}}",
               NULL, NULL, &next, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "urn:li:share:9");
    CHECK(r.created_at_ms == INT64_C(1795856470000)); /* decides a DUPLICATE_POST (runtime.c) */
    finish_case(&c);

    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    CHECK(feed(&c, 200, "{\"elements\":[],\"paging\":{\"total\":0}}", NULL, NULL, &next, &r) ==
          AP_STEP_DONE);
    CHECK(r.not_found);
    finish_case(&c);

    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    CHECK(feed(&c, 200, "{\"message\":\"weird\"}", NULL, NULL, &next, &r) == AP_STEP_DONE);
    CHECK(!r.not_found && r.error_class == AP_CLASS_AMBIGUOUS);
    finish_case(&c);
}

/* A full page of recent posts: look at the next page before saying no. */
static void test_verify_pages(void) {
    li_case c;
    ap_http_request next;
    ap_flow_result r;
    json_t *page = json_pack("{s:[],s:{}}", "elements", "paging");
    for (int i = 0; i < 50; i++)
        json_array_append_new(json_object_get(page, "elements"),
                              json_pack("{s:s,s:s,s:I}", "id", "urn:li:share:1", "commentary",
                                        "other", "lastModifiedAt", (json_int_t)1795856470000));
    char *body = json_dumps(page, JSON_COMPACT);
    json_decref(page);
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    CHECK(feed(&c, 200, body, NULL, NULL, &next, &r) == AP_STEP_REQUEST);
    CHECK_CONTAINS(next.url, "&start=50&");
    ap_http_request_clear(&next);
    CHECK(feed(&c, 200, "{\"elements\":[{\"id\":\"urn:li:share:2\",\"commentary\":\"x\"}]}", NULL,
               NULL, &next, &r) == AP_STEP_DONE);
    CHECK(r.not_found);
    finish_case(&c);

    /* Endless full pages: ambiguous, never "not found". */
    case_init(&c);
    start(&c, AP_FLOW_VERIFY, 1795856460000);
    int pages = 1;
    while (feed(&c, 200, body, NULL, NULL, &next, &r) == AP_STEP_REQUEST && pages < 20) {
        ap_http_request_clear(&next);
        pages++;
    }
    CHECK(pages == 10);
    CHECK(!r.not_found && r.error_class == AP_CLASS_AMBIGUOUS);
    finish_case(&c);
    free(body);
}

/* ---- images -------------------------------------------------------------- */

static ap_step_kind feed_typed(li_case *c, long status, const char *body, size_t n,
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
    if (type) {
        res.headers[0].name = strdup("Content-Type");
        res.headers[0].value = strdup(type);
        res.nheaders = 1;
    }
    ap_step_kind k = c->ad->step(c->flow, &c->in, &res, next, &wait, r);
    ap_http_response_clear(&res);
    return k;
}

static void test_images_flow(void) {
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0binary";
    Autopost__V1__Media second = AUTOPOST__V1__MEDIA__INIT;
    Autopost__V1__Media *two[2];
    li_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    second.url = "https://cdn.example/two.png";
    c.media.alt_text = "a chart";
    two[0] = &c.media;
    two[1] = &second;
    c.job.media = two;
    c.job.n_media = 2;
    start(&c, AP_FLOW_PUBLISH, 0);
    for (int i = 0; i < 2; i++) {
        ap_http_request *get = i == 0 ? &c.req : &next;
        CHECK_STR_EQ(get->method, "GET");
        CHECK_STR_EQ(get->url,
                     i == 0 ? "https://cdn.example/p.jpg" : "https://cdn.example/two.png");
        CHECK(req_header(get, "Authorization") == NULL);
        CHECK(get->max_response == 10 * 1024 * 1024 + 1);
        if (i) ap_http_request_clear(&next);
        CHECK(feed_typed(&c, 200, png, sizeof(png), "image/png", &next, &r) == AP_STEP_REQUEST);
        CHECK_STR_EQ(next.method, "POST");
        CHECK_STR_EQ(next.url, BASE "/rest/images?action=initializeUpload");
        CHECK_STR_EQ(req_header(&next, "LinkedIn-Version"), "202411");
        json_t *b = json_loadb(next.body, next.body_len, 0, NULL);
        CHECK_STR_EQ(json_string_value(
                         json_object_get(json_object_get(b, "initializeUploadRequest"), "owner")),
                     AUTHOR);
        json_decref(b);
        ap_http_request_clear(&next);
        char init[256];
        snprintf(init, sizeof(init),
                 "{\"value\":{\"uploadUrlExpiresAt\":1795860000000,\"uploadUrl\":\"%s/dms-uploads/"
                 "%d\",\"image\":\"urn:li:image:C%d\"}}",
                 BASE, i, i);
        CHECK(feed(&c, 200, init, NULL, NULL, &next, &r) == AP_STEP_REQUEST);
        CHECK_STR_EQ(next.method, "PUT");
        CHECK_CONTAINS(next.url, BASE "/dms-uploads/");
        CHECK_STR_EQ(req_header(&next, "Authorization"), "Bearer " TOKEN);
        CHECK(next.body_len == sizeof(png) && memcmp(next.body, png, sizeof(png)) == 0);
        ap_http_request_clear(&next);
        CHECK(feed(&c, 201, "", NULL, NULL, &next, &r) == AP_STEP_REQUEST);
    }
    CHECK_STR_EQ(next.url, BASE "/rest/posts");
    json_t *b = json_loadb(next.body, next.body_len, 0, NULL);
    json_t *content = json_object_get(b, "content");
    CHECK(json_object_get(content, "article") == NULL);
    json_t *images = json_object_get(json_object_get(content, "multiImage"), "images");
    CHECK(json_array_size(images) == 2);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(images, 0), "id")),
                 "urn:li:image:C0");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(images, 0), "altText")),
                 "a chart");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(images, 1), "id")),
                 "urn:li:image:C1");
    /* No article beside images: the link ends the commentary. */
    CHECK_STR_EQ(json_string_value(json_object_get(b, "commentary")),
                 "Launch \\(v2\\) at 9:00 #news\nsecond line\nhttps://example.com/launch");
    json_decref(b);
    ap_http_request_clear(&next);
    CHECK(feed(&c, 201, "", "x-restli-id", "urn:li:share:5", &next, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "urn:li:share:5");
    finish_case(&c);
}

/* One image: the download, then init_status/init_body, then the PUT (a
 * transport error or 201). */
static ap_flow_result one_image(long init_status, const char *init_body, int put_transport) {
    li_case c;
    ap_http_request next;
    ap_flow_result r;
    case_init(&c);
    c.job.n_media = 1;
    start(&c, AP_FLOW_PUBLISH, 0);
    CHECK(feed_typed(&c, 200, "img", 3, "image/jpeg", &next, &r) == AP_STEP_REQUEST);
    ap_http_request_clear(&next);
    ap_step_kind k = feed(&c, init_status, init_body, NULL, NULL, &next, &r);
    if (k == AP_STEP_REQUEST) {
        ap_http_request_clear(&next);
        ap_http_response res;
        int64_t wait = 0;
        memset(&res, 0, sizeof(res));
        res.transport_error = put_transport;
        res.request_sent = true;
        res.status = put_transport ? 0 : 201;
        k = c.ad->step(c.flow, &c.in, &res, &next, &wait, &r);
        if (k == AP_STEP_REQUEST) {
            json_t *b = json_loadb(next.body, next.body_len, 0, NULL);
            CHECK_STR_EQ(json_string_value(json_object_get(
                             json_object_get(json_object_get(b, "content"), "media"), "id")),
                         "urn:li:image:D1");
            json_decref(b);
            ap_http_request_clear(&next);
            memset(&r, 0, sizeof(r));
            ap_flow_fail(&r, AP_CLASS_NONE, 0, "reached_post", "the post request was built");
        }
    }
    finish_case(&c);
    return r;
}

static void test_image_errors(void) {
    const char *ok_init =
        "{\"value\":{\"uploadUrl\":\"https://www.linkedin.com/dms-uploads/x\",\"image\":"
        "\"urn:li:image:D1\"}}";
    ap_flow_result r = one_image(200, ok_init, 0);
    CHECK_STR_EQ(r.error_code, "reached_post");
    r = one_image(200, ok_init, 28); /* PUT timed out: nothing is public */
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = one_image(500, "{\"status\":500}", 0);
    CHECK(r.error_class == AP_CLASS_RETRY);
    r = one_image(401, "{\"status\":401,\"code\":\"EXPIRED_ACCESS_TOKEN\"}", 0);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    r = one_image(200,
                  "{\"value\":{\"uploadUrl\":\"https://evil.example/up\",\"image\":\"urn:li:"
                  "image:D1\"}}",
                  0);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "not on a LinkedIn host");
    r = one_image(200, "{\"value\":{}}", 0);
    CHECK(r.error_class == AP_CLASS_RETRY);
}

int main(void) {
    RUN(test_validate);
    RUN(test_escape);
    RUN(test_publish_request);
    RUN(test_publish_success);
    RUN(test_publish_errors);
    RUN(test_verify);
    RUN(test_verify_pages);
    RUN(test_images_flow);
    RUN(test_image_errors);
    return TEST_RESULT();
}
