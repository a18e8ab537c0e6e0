/* test_threads.c -- the Threads adapter (publishers/platforms/threads.c on the
 * container flow of publishers/platforms/container.c) driven without a network. */
#include "container_case.h"

#define TUSER "25000000000000007"
#define V CC_BASE "/v1.0/"
#define TH_QUOTA_OK "{\"data\":[{\"quota_usage\":10,\"config\":{\"quota_total\":250}}]}"

static void th_init(cc_case *c) { cc_init(c, "threads", "v1.0", TUSER); }

static void test_registered(void) {
    const ap_adapter *ad = ap_adapter_find("threads");
    CHECK(ad != NULL);
    if (ad) CHECK_STR_EQ(ad->name, "threads");
}

/* 500 code points pass and 501 fail, whatever their UTF-8 length: the text
 * mixes Vietnamese letters with tone marks and emoji. */
static void test_validate_500_501(void) {
    cc_case c;
    char reason[256];
    char *at = cc_mixed_text(500), *over = cc_mixed_text(501);
    th_init(&c);
    c.job.text = at;
    CHECK(strlen(at) > 1000); /* far more bytes than characters */
    CHECK(cc_valid(&c, reason, sizeof(reason)));
    c.job.text = over;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "text has 501 characters; Threads allows at most 500");
    /* Real Vietnamese: "Tiếng Việt có dấu" is 17 characters. */
    char viet[1200] = "";
    for (int i = 0; i < 29; i++) strcat(viet, "Tiếng Việt có dấu"); /* 493 */
    strcat(viet, "🙂🙂🙂🙂🙂🙂🙂");                   /* 500 */
    c.job.text = viet;
    CHECK(cc_valid(&c, reason, sizeof(reason)));
    strcat(viet, "ệ");
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "501 characters");
    free(at);
    free(over);
}

static void test_validate_other_rules(void) {
    cc_case c;
    char reason[256];
    th_init(&c);
    CHECK(cc_valid(&c, reason, sizeof(reason))); /* text only is a Threads post */
    c.job.n_media = 10;
    CHECK(cc_valid(&c, reason, sizeof(reason)));
    c.job.n_media = 11;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "too many media items");
    th_init(&c);
    c.job.text = "";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "empty post");
    /* The link counts: 490 + "\n" + a 10-character link = 501. */
    char *t = cc_mixed_text(490);
    th_init(&c);
    c.job.text = t;
    c.job.link = "http://a.b";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    free(t);
    th_init(&c);
    c.job.account_external_id = "";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "no valid Threads user id");
}

static void test_text_flow_needs_no_polling(void) {
    cc_case c;
    ap_flow_result r;
    th_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK_STR_EQ(c.req.url, V TUSER "/threads_publishing_limit?fields=quota_usage,config");
    CHECK_STR_EQ(cc_header(&c.req, "Authorization"), "Bearer " CC_TOKEN);
    CHECK(cc_feed(&c, 200, TH_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, V TUSER "/threads");
    CHECK_STR_EQ(c.req.body, "media_type=TEXT&text=Xin%20ch%C3%A0o%20%23sandbox");
    CHECK(cc_feed(&c, 200, "{\"id\":\"700\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V TUSER "/threads_publish");
    CHECK_STR_EQ(c.req.body, "creation_id=700");
    CHECK(cc_feed(&c, 200, "{\"id\":\"1800\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "1800");
    cc_finish(&c);
}

static void test_image_flow_polls(void) {
    cc_case c;
    ap_flow_result r;
    th_init(&c);
    c.job.n_media = 1;
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, TH_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body, "media_type=IMAGE&image_url=https%3A%2F%2Fcdn.example%2F1.jpg"
                             "&text=Xin%20ch%C3%A0o%20%23sandbox");
    CHECK(cc_feed(&c, 200, "{\"id\":\"700\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V "700?fields=status,error_message");
    CHECK(cc_feed(&c, 200, "{\"status\":\"IN_PROGRESS\"}", &r) == AP_STEP_WAIT);
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"status\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body, "creation_id=700");
    cc_finish(&c);
}

static void test_video_error_reason(void) {
    cc_case c;
    ap_flow_result r;
    th_init(&c);
    c.job.n_media = 1;
    cc_video(&c, 0);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, TH_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body, "media_type=VIDEO&video_url=https%3A%2F%2Fcdn.example%2F1.mp4"
                             "&text=Xin%20ch%C3%A0o%20%23sandbox");
    CHECK(cc_feed(&c, 200, "{\"id\":\"700\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"status\":\"ERROR\",\"error_message\":\"FAILED_DOWNLOADING_VIDEO\"}",
                  &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message,
                   "Threads could not process the media: FAILED_DOWNLOADING_VIDEO");
    cc_finish(&c);
}

static void test_carousel_requests(void) {
    cc_case c;
    ap_flow_result r;
    th_init(&c);
    c.job.n_media = 2;
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, TH_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body, "media_type=IMAGE&image_url=https%3A%2F%2Fcdn.example%2F1.jpg"
                             "&is_carousel_item=true");
    CHECK(cc_feed(&c, 200, "{\"id\":\"701\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"id\":\"702\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body,
                 "media_type=CAROUSEL&children=701%2C702&text=Xin%20ch%C3%A0o%20%23sandbox");
    CHECK(cc_feed(&c, 200, "{\"id\":\"710\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V "710?fields=status,error_message");
    cc_finish(&c);
}

static void test_quota(void) {
    cc_case c;
    ap_flow_result r;
    th_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, "{\"data\":[{\"quota_usage\":250,\"config\":{\"quota_total\":250}}]}",
                  &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_QUOTA);
    CHECK_CONTAINS(r.error_message, "Threads publishing quota (250 of 250");
    CHECK(r.retry_after_ms == 0 && r.pause == AP_PAUSE_ACCOUNT); /* runtime: quota_wait */
    cc_finish(&c);
}

static void test_publish_lost_is_ambiguous(void) {
    cc_case c;
    ap_flow_result r;
    th_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, TH_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"id\":\"700\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_lost(&c, true, &r) == AP_STEP_WAIT); /* then the container's status */
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK(cc_lost(&c, true, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    cc_finish(&c);
    th_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 400, "{\"error\":{\"code\":190,\"error_subcode\":460}}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    CHECK_CONTAINS(r.error_message, "Threads access token");
    cc_finish(&c);
}

/* A text post up to threads_publish, its answer, and the status read. */
static void th_to_status(cc_case *c, long status, const char *body) {
    ap_flow_result r;
    th_init(c);
    cc_start(c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(c, 200, TH_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(c, 200, "{\"id\":\"700\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c->req.url, V TUSER "/threads_publish");
    ap_step_kind k = body ? cc_feed(c, status, body, &r) : cc_lost(c, true, &r);
    CHECK(k == AP_STEP_WAIT);
    CHECK_STR_EQ(r.note_event, "container_status");
    CHECK(cc_wake(c, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c->req.url, V "700?fields=status,error_message");
}

static void test_publish_status_published(void) {
    cc_case c;
    ap_flow_result r;
    th_to_status(&c, 0, NULL);
    CHECK(cc_feed(&c, 200, "{\"status\":\"PUBLISHED\",\"id\":\"700\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V TUSER "/threads?fields=id,text,timestamp,permalink&limit=50");
    CHECK(cc_feed(&c, 200,
                  "{\"data\":[{\"id\":\"1802\",\"text\":\"Xin chào #sandbox\","
                  "\"timestamp\":\"2026-11-28T09:01:00+0000\"}]}",
                  &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "1802");
    CHECK_STR_EQ(r.error_code, "container_published");
    cc_finish(&c);
    /* Listed later: ambiguous, never failed. */
    th_to_status(&c, 500, "{\"error\":{\"code\":2}}");
    CHECK(cc_feed(&c, 200, "{\"status\":\"PUBLISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"data\":[]}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK(!r.not_found);
    cc_finish(&c);
}

static void test_publish_status_finished(void) {
    cc_case c;
    ap_flow_result r;
    th_to_status(&c, 400,
                 "{\"error\":{\"code\":100,\"message\":\"The container has already been "
                 "published\"}}");
    CHECK(cc_feed(&c, 200, "{\"status\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V TUSER "/threads_publish");
    CHECK_STR_EQ(c.req.body, "creation_id=700"); /* the same container */
    CHECK(cc_feed(&c, 200, "{\"id\":\"1803\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "1803");
    cc_finish(&c);
    /* A rate limit on an unpublished container: wait as told, no new call. */
    th_to_status(&c, 400, "{\"error\":{\"code\":32}}");
    CHECK(cc_feed(&c, 200, "{\"status\":\"FINISHED\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK(r.pause == AP_PAUSE_ACCOUNT);
    cc_finish(&c);
}

static void test_verify(void) {
    cc_case c;
    ap_flow_result r;
    th_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    CHECK_STR_EQ(c.req.url, V TUSER "/threads?fields=id,text,timestamp,permalink&limit=50");
    CHECK(cc_feed(&c, 200,
                  "{\"data\":[{\"id\":\"1801\",\"text\":\"Xin chào #sandbox\","
                  "\"timestamp\":\"2026-11-28T09:01:00+0000\","
                  "\"permalink\":\"https://www.threads.net/@u/post/x\"}]}",
                  &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "1801");
    CHECK_STR_EQ(r.external_url, "https://www.threads.net/@u/post/x");
    cc_finish(&c);
    th_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    CHECK(cc_feed(&c, 200, "{\"data\":[{\"id\":\"1\",\"text\":\"other\"}]}", &r) == AP_STEP_DONE);
    CHECK(r.not_found);
    cc_finish(&c);
}

int main(void) {
    RUN(test_registered);
    RUN(test_validate_500_501);
    RUN(test_validate_other_rules);
    RUN(test_text_flow_needs_no_polling);
    RUN(test_image_flow_polls);
    RUN(test_video_error_reason);
    RUN(test_carousel_requests);
    RUN(test_quota);
    RUN(test_publish_lost_is_ambiguous);
    RUN(test_publish_status_published);
    RUN(test_publish_status_finished);
    RUN(test_verify);
    return TEST_RESULT();
}
