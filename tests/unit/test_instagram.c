/* test_instagram.c -- the Instagram adapter (publishers/platforms/instagram.c on the
 * container flow of publishers/platforms/container.c) driven without a network. */
#include "ap_time.h"
#include "container_case.h"

#define IGUSER "17841400000000001"
#define V CC_BASE "/v19.0/"

static void ig_init(cc_case *c) {
    cc_init(c, "instagram", "v19.0", IGUSER);
    c->job.n_media = 1;
}

/* ---- validation ---------------------------------------------------------- */

static void test_registered(void) {
    const ap_adapter *ad = ap_adapter_find("instagram");
    CHECK(ad != NULL);
    if (ad) CHECK_STR_EQ(ad->name, "instagram");
}

static void test_validate_kinds(void) {
    cc_case c;
    char reason[256];
    ig_init(&c);
    CHECK(cc_valid(&c, reason, sizeof(reason))); /* image */
    cc_video(&c, 0);
    CHECK(cc_valid(&c, reason, sizeof(reason))); /* reel */
    c.job.n_media = 10;
    CHECK(cc_valid(&c, reason, sizeof(reason))); /* carousel of 10 */
    c.job.n_media = 11;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "too many media items: 11 (at most 10 for instagram)");
    c.job.n_media = 0;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "no text-only posts");
    ig_init(&c);
    c.media[0].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_UNSPECIFIED;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "media 1: Instagram needs an image or a video");
    ig_init(&c);
    c.media[0].url = "ftp://cdn.example/a.jpg";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "http(s)");
    ig_init(&c);
    c.job.account_external_id = "1784/media";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "no valid Instagram user id");
}

static void test_validate_caption_length(void) {
    cc_case c;
    char reason[256];
    char *at = cc_mixed_text(2200), *over = cc_mixed_text(2201);
    ig_init(&c);
    c.job.text = at;
    CHECK(cc_valid(&c, reason, sizeof(reason)));
    c.job.text = over;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "caption has 2201 characters; Instagram allows at most 2200");
    /* The link rides in the caption and counts: 2190 + "\n" + 10-char link. */
    free(at);
    at = cc_mixed_text(2190);
    c.job.text = at;
    c.job.link = "http://a.b";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    c.job.link = "http://ab";
    CHECK(cc_valid(&c, reason, sizeof(reason)));
    c.job.text = "caf\xe9";
    c.job.link = "";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "not valid UTF-8");
    free(at);
    free(over);
}

static void test_validate_hashtags(void) {
    cc_case c;
    char reason[256], text[400] = "";
    ig_init(&c);
    for (int i = 0; i < 30; i++) snprintf(text + strlen(text), 12, "#t%d ", i);
    c.job.text = text;
    CHECK(cc_valid(&c, reason, sizeof(reason)));
    strcat(text, "#one_more");
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "31 hashtags; Instagram allows at most 30");
    /* Not hashtags: "C#", a lone "#", "##". */
    c.job.text = "C# and # and ## and issue#4";
    CHECK(cc_valid(&c, reason, sizeof(reason)));
}

/* ---- publish flows ------------------------------------------------------- */

static void test_image_flow(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    int64_t before = ap_now_ms();
    cc_start(&c, AP_FLOW_PUBLISH);
    int64_t after = ap_now_ms();
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, V IGUSER "/content_publishing_limit?fields=quota_usage,config");
    CHECK_STR_EQ(cc_header(&c.req, "Authorization"), "Bearer " CC_TOKEN);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, V IGUSER "/media");
    CHECK_STR_EQ(
        c.req.body,
        "image_url=https%3A%2F%2Fcdn.example%2F1.jpg&caption=Xin%20ch%C3%A0o%20%23sandbox");
    CHECK_STR_EQ(cc_header(&c.req, "Content-Type"), "application/x-www-form-urlencoded");
    CHECK(strstr(c.req.body, CC_TOKEN) == NULL);
    CHECK(cc_feed(&c, 200, "{\"id\":\"900\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, V "900?fields=status_code,status");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\",\"id\":\"900\"}", &r) == AP_STEP_WAIT);
    CHECK(c.wait == 1000);
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V "900?fields=status_code,status");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_WAIT);
    CHECK(c.wait == 2000); /* backs off */
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, V IGUSER "/media_publish");
    CHECK_STR_EQ(c.req.body, "creation_id=900");
    CHECK(cc_feed(&c, 200, "{\"id\":\"17920000000000042\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "17920000000000042");
    /* The platform's count goes out with the result, stamped when it was
     * asked (before the request left), for the scheduler's claim. */
    CHECK(r.platform_usage == 3);
    CHECK(r.platform_usage_at_ms >= before && r.platform_usage_at_ms <= after);
    cc_finish(&c);
}

static void test_reel_request(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    cc_video(&c, 0);
    c.job.link = "https://example.com/x";
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body,
                 "media_type=REELS&video_url=https%3A%2F%2Fcdn.example%2F1.mp4"
                 "&caption=Xin%20ch%C3%A0o%20%23sandbox%0Ahttps%3A%2F%2Fexample.com%2Fx");
    cc_finish(&c);
}

static void test_carousel_flow(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    c.job.n_media = 3;
    cc_video(&c, 1);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V IGUSER "/media");
    CHECK_STR_EQ(c.req.body, "image_url=https%3A%2F%2Fcdn.example%2F1.jpg&is_carousel_item=true");
    CHECK(cc_feed(&c, 200, "{\"id\":\"901\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body, "media_type=VIDEO&video_url=https%3A%2F%2Fcdn.example%2F2.mp4"
                             "&is_carousel_item=true");
    CHECK(cc_feed(&c, 200, "{\"id\":\"902\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body, "image_url=https%3A%2F%2Fcdn.example%2F3.jpg&is_carousel_item=true");
    CHECK(cc_feed(&c, 200, "{\"id\":\"903\"}", &r) == AP_STEP_REQUEST);
    /* The video item must be ready before the carousel is made. */
    CHECK_STR_EQ(c.req.url, V "902?fields=status_code,status");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_WAIT);
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V "902?fields=status_code,status");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V IGUSER "/media");
    CHECK_STR_EQ(c.req.body, "media_type=CAROUSEL&children=901%2C902%2C903"
                             "&caption=Xin%20ch%C3%A0o%20%23sandbox");
    CHECK(cc_feed(&c, 200, "{\"id\":\"910\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V "910?fields=status_code,status");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.body, "creation_id=910");
    CHECK(cc_feed(&c, 200, "{\"id\":\"555\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "555");
    cc_finish(&c);
}

#define LIST_URL V IGUSER "/media?fields=id,caption,timestamp,permalink&limit=50"

/* Drives an image post up to (and including) sending media_publish. */
static void to_publish(cc_case *c) {
    ap_flow_result r;
    ig_init(c);
    cc_start(c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(c, 200, "{\"id\":\"900\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_CONTAINS(c->req.url, "/media_publish");
}

/* ---- quota ------------------------------------------------------------------ */

static void test_quota_used_up_before_any_container(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200,
                  "{\"data\":[{\"quota_usage\":50,\"config\":{\"quota_total\":50,"
                  "\"quota_duration\":86400}}]}",
                  &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_QUOTA);
    /* No reset time from the platform: the runtime waits quota_wait. */
    CHECK(r.retry_after_ms == 0 && r.pause == AP_PAUSE_ACCOUNT);
    CHECK_CONTAINS(r.error_message, "50 of 50");
    CHECK(r.platform_usage == 50 && r.platform_usage_at_ms > 0);
    CHECK(c.req.url == NULL); /* no container made */
    cc_finish(&c);
}

static void test_quota_unreadable_goes_on(void) {
    const char *bodies[] = {"{}", "{\"data\":[]}", "garbage",
                            "{\"data\":[{\"quota_usage\":\"50\",\"config\":{}}]}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        cc_case c;
        ap_flow_result r;
        ig_init(&c);
        cc_start(&c, AP_FLOW_PUBLISH);
        CHECK(cc_feed(&c, 200, bodies[i], &r) == AP_STEP_REQUEST);
        CHECK_STR_EQ(c.req.url, V IGUSER "/media");
        cc_finish(&c);
    }
}

/* After a publish answer without an id: the pause, then the container's
 * status read. */
static void to_status(cc_case *c, ap_step_kind k, const ap_flow_result *r) {
    ap_flow_result w;
    CHECK(k == AP_STEP_WAIT);
    CHECK(c->wait == 1000);
    CHECK_STR_EQ(r->note_event, "container_status");
    CHECK_CONTAINS(r->note, "reading its status");
    CHECK(cc_wake(c, &w) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, V "900?fields=status_code,status");
}

static void test_quota_error_at_publish(void) {
    cc_case c;
    ap_flow_result r;
    to_publish(&c);
    ap_step_kind k = cc_feed(&c, 400,
                             "{\"error\":{\"message\":\"Application request limit reached\","
                             "\"code\":9,\"error_subcode\":2207042,\"is_transient\":false}}",
                             &r);
    to_status(&c, k, &r);
    /* Unpublished: the refusal stands, and is not asked again. */
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_DONE);
    CHECK(c.req.url == NULL);
    CHECK(r.error_class == AP_CLASS_QUOTA);
    CHECK_STR_EQ(r.error_code, "9/2207042");
    /* No reset time from the platform: the runtime waits quota_wait. */
    CHECK(r.retry_after_ms == 0 && r.pause == AP_PAUSE_ACCOUNT);
    CHECK(r.platform_usage == 3 && r.platform_usage_at_ms > 0); /* read before the call */
    cc_finish(&c);
}

/* ---- container states ------------------------------------------------------- */

static void test_container_error_is_permanent(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"id\":\"900\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200,
                  "{\"status_code\":\"ERROR\",\"status\":\"Error: Media download has failed.\"}",
                  &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "container_error");
    CHECK_CONTAINS(r.error_message, "Media download has failed");
    cc_finish(&c);
}

static void test_expired_container_starts_over_bounded(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    for (int round = 0; round < 3; round++) {
        CHECK_STR_EQ(c.req.url, V IGUSER "/media"); /* a new container each time */
        CHECK(cc_feed(&c, 200, "{\"id\":\"900\"}", &r) == AP_STEP_REQUEST);
        ap_step_kind k = cc_feed(&c, 200, "{\"status_code\":\"EXPIRED\"}", &r);
        CHECK(k == (round < 2 ? AP_STEP_REQUEST : AP_STEP_DONE));
    }
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(r.error_code, "container_expired");
    cc_finish(&c);
}

static void test_polling_gives_up_after_budget(void) {
    cc_case c;
    ap_flow_result r;
    int64_t total = 0;
    int waits = 0;
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"id\":\"900\"}", &r) == AP_STEP_REQUEST);
    while (cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_WAIT) {
        CHECK(c.wait >= 1000 && c.wait <= 15000);
        total += c.wait;
        if (++waits > 200) break;
        CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    }
    CHECK(waits < 200);
    CHECK(total >= 10 * 60 * 1000);
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(r.error_code, "container_slow");
    cc_finish(&c);
}

static void test_unknown_status_retries(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"id\":\"900\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "not json", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_RETRY);
    cc_finish(&c);
}

/* ---- errors ---------------------------------------------------------------- */

static void test_lost_answers(void) {
    cc_case c;
    ap_flow_result r;
    /* Lost container creation: nothing is published, retry. */
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_lost(&c, true, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_RETRY);
    cc_finish(&c);
    /* Lost media_publish: may be live; the container's status decides,
     * and when it cannot be read the call stays ambiguous. */
    to_publish(&c);
    to_status(&c, cc_lost(&c, true, &r), &r);
    CHECK(cc_lost(&c, true, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK(!r.not_found);
    CHECK_CONTAINS(r.error_message, "may be live");
    CHECK_CONTAINS(r.error_message, "status could not be read");
    cc_finish(&c);
    /* Never sent: nothing to ask about. */
    to_publish(&c);
    CHECK(cc_lost(&c, false, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_RETRY);
    cc_finish(&c);
    /* A 5xx to media_publish may come after the post was made. */
    to_publish(&c);
    to_status(&c, cc_feed(&c, 500, "{\"error\":{\"code\":2,\"is_transient\":true}}", &r), &r);
    CHECK(cc_feed(&c, 500, "{\"error\":{\"code\":2}}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    cc_finish(&c);
    /* ...but not to container creation. */
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 503, "", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_RETRY);
    cc_finish(&c);
    /* A 200 to media_publish without an id; the status is unreadable. */
    to_publish(&c);
    to_status(&c, cc_feed(&c, 200, "{}", &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":7}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    CHECK_CONTAINS(r.error_message, "unreadable");
    cc_finish(&c);
}

/* ---- the container's status after a publish call without an id ------------ */

#define LISTED_OURS                                                                                \
    "{\"data\":[{\"id\":\"17920000000000077\",\"caption\":\"Xin chào #sandbox\","                 \
    "\"timestamp\":\"2026-11-28T09:00:40+0000\",\"permalink\":\"https://www.instagram.com/p/z/"    \
    "\"}]}"
#define ALREADY_PUBLISHED                                                                          \
    "{\"error\":{\"message\":\"(#100) The container has already been published\",\"code\":100}}"

static void expect_found(cc_case *c, ap_flow_result *r) {
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, LIST_URL);
    CHECK(cc_feed(c, 200, LISTED_OURS, r) == AP_STEP_DONE);
    CHECK(r->error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r->external_id, "17920000000000077");
    CHECK_STR_EQ(r->external_url, "https://www.instagram.com/p/z/");
    CHECK_STR_EQ(r->error_code, "container_published"); /* the history line says how */
    CHECK_CONTAINS(r->error_message, "confirmed by the container's status: PUBLISHED");
    CHECK_STR_EQ(r->note_event, "container_status");
}

static void test_status_published_after_lost_publish(void) {
    cc_case c;
    ap_flow_result r;
    to_publish(&c);
    to_status(&c, cc_lost(&c, true, &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"PUBLISHED\",\"id\":\"900\"}", &r) ==
          AP_STEP_REQUEST);
    CHECK_CONTAINS(r.note, "PUBLISHED");
    expect_found(&c, &r);
    cc_finish(&c);
}

/* A proxy resent the call: the second answer says what the first did. */
static void test_status_published_after_already_published_error(void) {
    cc_case c;
    ap_flow_result r;
    to_publish(&c);
    to_status(&c, cc_feed(&c, 400, ALREADY_PUBLISHED, &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"PUBLISHED\"}", &r) == AP_STEP_REQUEST);
    expect_found(&c, &r);
    CHECK_CONTAINS(r.error_message, "already been published");
    cc_finish(&c);
    /* The same after a 5xx. */
    to_publish(&c);
    to_status(&c, cc_feed(&c, 502, "", &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"PUBLISHED\"}", &r) == AP_STEP_REQUEST);
    expect_found(&c, &r);
    cc_finish(&c);
}

/* Live but not listed yet (listings lag), or the listing failed: never
 * "not found", never failed. */
static void test_status_published_not_listed_is_ambiguous(void) {
    const char *lists[] = {"{\"data\":[]}",
                           /* the same caption before this attempt: someone else's */
                           "{\"data\":[{\"id\":\"5\",\"caption\":\"Xin chào #sandbox\","
                           "\"timestamp\":\"2026-11-20T09:00:00+0000\"}]}",
                           "garbage", NULL};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        cc_case c;
        ap_flow_result r;
        to_publish(&c);
        to_status(&c, cc_lost(&c, true, &r), &r);
        CHECK(cc_feed(&c, 200, "{\"status_code\":\"PUBLISHED\"}", &r) == AP_STEP_REQUEST);
        CHECK_STR_EQ(c.req.url, LIST_URL);
        if (lists[i])
            CHECK(cc_feed(&c, 200, lists[i], &r) == AP_STEP_DONE);
        else
            CHECK(cc_feed(&c, 500, "", &r) == AP_STEP_DONE);
        CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
        CHECK(!r.not_found);
        CHECK_STR_EQ(r.error_code, "container_unlisted");
        cc_finish(&c);
    }
}

/* FINISHED: the call did not go through; the same container again. */
static void test_status_finished_republishes_same_container(void) {
    cc_case c;
    ap_flow_result r;
    to_publish(&c);
    to_status(&c, cc_feed(&c, 400, ALREADY_PUBLISHED, &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(r.note_event, "container_status");
    CHECK_CONTAINS(r.note, "publishing the same container again (1 of 2)");
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, V IGUSER "/media_publish");
    CHECK_STR_EQ(c.req.body, "creation_id=900");
    CHECK(c.req.once);
    CHECK(cc_feed(&c, 200, "{\"id\":\"17920000000000042\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "17920000000000042");
    cc_finish(&c);
}

/* Bounded: two more calls, then the flow ends; no new container ever. */
static void test_status_finished_republish_bounded(void) {
    cc_case c;
    ap_flow_result r;
    int publishes = 1;
    to_publish(&c);
    for (;;) {
        to_status(&c, cc_feed(&c, 503, "{\"error\":{\"code\":2}}", &r), &r);
        ap_step_kind k = cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r);
        if (k == AP_STEP_DONE) break;
        CHECK(k == AP_STEP_REQUEST);
        CHECK_STR_EQ(c.req.body, "creation_id=900");
        if (++publishes > 5) break;
    }
    CHECK(publishes == 3);
    CHECK(r.error_class == AP_CLASS_RETRY); /* proven unpublished: a new try is safe */
    CHECK_CONTAINS(r.error_message, "nothing went live");
    cc_finish(&c);
}

static void test_status_other_after_publish(void) {
    cc_case c;
    ap_flow_result r;
    /* EXPIRED: never published, so a new container is safe. */
    to_publish(&c);
    to_status(&c, cc_lost(&c, true, &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"EXPIRED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.method, "POST");
    CHECK_STR_EQ(c.req.url, V IGUSER "/media");
    CHECK_CONTAINS(r.note, "EXPIRED unpublished");
    cc_finish(&c);
    /* ERROR: the media failed, nothing is live. */
    to_publish(&c);
    to_status(&c, cc_lost(&c, true, &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"ERROR\",\"status\":\"Error: bad media\"}", &r) ==
          AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "container_error");
    cc_finish(&c);
    /* IN_PROGRESS after a publish call: cannot tell. */
    to_publish(&c);
    to_status(&c, cc_lost(&c, true, &r), &r);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    cc_finish(&c);
    /* A refused token stays a token refusal, whatever the status read says. */
    to_publish(&c);
    to_status(&c, cc_feed(&c, 400, "{\"error\":{\"code\":190,\"error_subcode\":463}}", &r), &r);
    CHECK(cc_feed(&c, 400, "{\"error\":{\"code\":190,\"error_subcode\":463}}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    cc_finish(&c);
}

/* A container found PUBLISHED while waiting for it is ours too. */
static void test_published_while_polling(void) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"id\":\"900\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"PUBLISHED\"}", &r) == AP_STEP_REQUEST);
    expect_found(&c, &r);
    CHECK_CONTAINS(r.error_message, "already PUBLISHED while waiting");
    cc_finish(&c);
}

static ap_flow_result first_answer(long status, const char *body, const char *hname,
                                   const char *hvalue) {
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed_h(&c, status, body, hname, hvalue, &r) == AP_STEP_DONE);
    cc_finish(&c);
    return r;
}

static void test_error_classes(void) {
    ap_flow_result r = first_answer(
        400, "{\"error\":{\"message\":\"Session has expired\",\"code\":190,\"error_subcode\":463}}",
        NULL, NULL);
    CHECK(r.error_class == AP_CLASS_REAUTH);
    CHECK_STR_EQ(r.error_code, "190/463");
    CHECK_CONTAINS(r.error_message, "reconnect the account");
    r = first_answer(400, "{\"error\":{\"code\":4}}", "X-Business-Use-Case-Usage",
                     "{\"1784\":[{\"type\":\"instagram\",\"estimated_time_to_regain_access\":7}]}");
    CHECK(r.error_class == AP_CLASS_RETRY);
    CHECK(r.retry_after_ms == 7 * 60 * 1000);
    CHECK_CONTAINS(r.error_message, "rate limited by Instagram");
    r = first_answer(400, "{\"error\":{\"code\":4}}", "X-App-Usage",
                     "{\"call_count\":100,\"total_cputime\":3,\"total_time\":3}");
    CHECK(r.retry_after_ms == 60 * 1000);
    r = first_answer(400, "{\"error\":{\"code\":80001}}", "Retry-After", "120");
    CHECK(r.retry_after_ms == 120 * 1000);
    r = first_answer(403, "{\"error\":{\"code\":10,\"message\":\"no\"}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "instagram_content_publish");
    r = first_answer(400, "{\"error\":{\"code\":100,\"error_user_msg\":\"Bad aspect ratio\"}}",
                     NULL, NULL);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_CONTAINS(r.error_message, "Bad aspect ratio");
    r = first_answer(500, "{\"error\":{\"code\":1,\"is_transient\":true}}", NULL, NULL);
    CHECK(r.error_class == AP_CLASS_RETRY);
}

/* ---- verify ---------------------------------------------------------------- */

static ap_flow_result verify_page(cc_case *c, const char *body, ap_step_kind want) {
    ap_flow_result r;
    CHECK(cc_feed(c, 200, body, &r) == want);
    return r;
}

static void test_verify_found(void) {
    cc_case c;
    ig_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    CHECK_STR_EQ(c.req.method, "GET");
    CHECK_STR_EQ(c.req.url, LIST_URL);
    ap_flow_result r = verify_page(&c,
                                   "{\"data\":[{\"id\":\"1\",\"caption\":\"other\",\"timestamp\":"
                                   "\"2026-11-28T09:05:00+0000\"},"
                                   "{\"id\":\"2\",\"caption\":\"Xin chào "
                                   "#sandbox\",\"timestamp\":\"2026-11-28T09:00:30+0000\","
                                   "\"permalink\":\"https://www.instagram.com/p/abc/\"}]}",
                                   AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "2");
    CHECK_STR_EQ(r.external_url, "https://www.instagram.com/p/abc/");
    cc_finish(&c);
}

static void test_verify_same_caption_before_attempt_is_not_ours(void) {
    cc_case c;
    ig_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    ap_flow_result r = verify_page(&c,
                                   "{\"data\":[{\"id\":\"2\",\"caption\":\"Xin chào #sandbox\","
                                   "\"timestamp\":\"2026-11-27T07:00:30+0000\"}],"
                                   "\"paging\":{\"next\":\"" CC_BASE "/v19.0/next\"}}",
                                   AP_STEP_DONE);
    CHECK(r.not_found); /* older than the attempt: no need for more pages */
    CHECK(r.error_class != AP_CLASS_NONE);
    cc_finish(&c);
}

static void test_verify_pages(void) {
    cc_case c;
    ig_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    verify_page(
        &c,
        "{\"data\":[{\"id\":\"5\",\"caption\":\"x\",\"timestamp\":\"2026-11-28T10:00:00+0000\"}],"
        "\"paging\":{\"next\":\"" CC_BASE "/v19.0/" IGUSER "/media?after=5\"}}",
        AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, CC_BASE "/v19.0/" IGUSER "/media?after=5");
    CHECK_STR_EQ(cc_header(&c.req, "Authorization"), "Bearer " CC_TOKEN);
    ap_flow_result r = verify_page(&c, "{\"data\":[],\"paging\":{}}", AP_STEP_DONE);
    CHECK(r.not_found);
    cc_finish(&c);
    /* A next page on another host is not followed (it would get our token). */
    ig_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    r = verify_page(&c, "{\"data\":[],\"paging\":{\"next\":\"https://evil.example/x\"}}",
                    AP_STEP_DONE);
    CHECK(r.not_found);
    cc_finish(&c);
}

static void test_verify_cannot_tell(void) {
    const char *bodies[] = {"garbage", "{}", "{\"data\":{}}", ""};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        cc_case c;
        ig_init(&c);
        cc_start(&c, AP_FLOW_VERIFY);
        ap_flow_result r = verify_page(&c, bodies[i], AP_STEP_DONE);
        CHECK(!r.not_found);
        CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
        cc_finish(&c);
    }
    cc_case c;
    ap_flow_result r;
    ig_init(&c);
    c.job.text = ""; /* nothing to recognise it by */
    cc_start(&c, AP_FLOW_VERIFY);
    r = verify_page(&c, "{\"data\":[{\"id\":\"9\"}]}", AP_STEP_DONE);
    CHECK(!r.not_found);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    cc_finish(&c);
    ig_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    CHECK(cc_lost(&c, false, &r) == AP_STEP_DONE);
    CHECK(!r.not_found);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    cc_finish(&c);
    ig_init(&c);
    cc_start(&c, AP_FLOW_VERIFY);
    CHECK(cc_feed(&c, 400, "{\"error\":{\"code\":190}}", &r) == AP_STEP_DONE);
    CHECK(!r.not_found);
    cc_finish(&c);
}

int main(void) {
    RUN(test_registered);
    RUN(test_validate_kinds);
    RUN(test_validate_caption_length);
    RUN(test_validate_hashtags);
    RUN(test_image_flow);
    RUN(test_reel_request);
    RUN(test_carousel_flow);
    RUN(test_quota_used_up_before_any_container);
    RUN(test_quota_unreadable_goes_on);
    RUN(test_quota_error_at_publish);
    RUN(test_container_error_is_permanent);
    RUN(test_expired_container_starts_over_bounded);
    RUN(test_polling_gives_up_after_budget);
    RUN(test_unknown_status_retries);
    RUN(test_lost_answers);
    RUN(test_status_published_after_lost_publish);
    RUN(test_status_published_after_already_published_error);
    RUN(test_status_published_not_listed_is_ambiguous);
    RUN(test_status_finished_republishes_same_container);
    RUN(test_status_finished_republish_bounded);
    RUN(test_status_other_after_publish);
    RUN(test_published_while_polling);
    RUN(test_error_classes);
    RUN(test_verify_found);
    RUN(test_verify_same_caption_before_attempt_is_not_ours);
    RUN(test_verify_pages);
    RUN(test_verify_cannot_tell);
    return TEST_RESULT();
}
