/* test_formats.c -- a post's format (common/ap_format.h, README "Formats"):
 * which platform takes which format, the Instagram story's rules and its
 * container flow (publishers/platforms/instagram.c on container.c), and how
 * the doors carry the format (ctl_post: the API and autopostctl). */
#include "ap_format.h"
#include "container_case.h"
#include "ctl_post.h"

#define IGUSER "17841400000000001"
#define V CC_BASE "/v19.0/"

static void story_init(cc_case *c) {
    cc_init(c, "instagram", "v19.0", IGUSER);
    c->job.n_media = 1;
    c->job.text = "";
    c->job.format = "story";
}

/* ---- names ---------------------------------------------------------------- */

static void test_names(void) {
    ap_format f = AP_FORMAT_REEL;
    CHECK(ap_format_parse(NULL, &f) && f == AP_FORMAT_FEED);
    CHECK(ap_format_parse("", &f) && f == AP_FORMAT_FEED);
    CHECK(ap_format_parse("story", &f) && f == AP_FORMAT_STORY);
    CHECK(ap_format_parse("reel", &f) && f == AP_FORMAT_REEL);
    CHECK(ap_format_parse("feed", &f) && f == AP_FORMAT_FEED);
    CHECK(!ap_format_parse("Story", &f));
    CHECK(!ap_format_parse("stories", &f));
    CHECK_STR_EQ(ap_format_name(AP_FORMAT_STORY), "story");
}

/* ---- per platform ----------------------------------------------------------- */

/* A story or reel anywhere but Instagram (and a Facebook reel) is invalid, naming the format and
 * the platform; feed ("" or "feed") is what every platform did before. */
static void test_other_platforms_refuse(void) {
    static const char *const platforms[] = {"x", "linkedin", "threads", "facebook"};
    static const char *const formats[] = {"story", "reel"};
    for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
        cc_case c;
        char reason[512], want[96];
        cc_init(&c, platforms[i], "v19.0", "12345");
        c.job.n_media = 1;
        if (c.ad == NULL) {
            CHECK(c.ad != NULL);
            continue;
        }
        for (size_t k = 0; k < 2; k++) {
            c.job.format = (char *)formats[k];
            CHECK(!cc_valid(&c, reason, sizeof(reason)));
            snprintf(want, sizeof(want), "format %s is not supported on %s", formats[k],
                     platforms[i]);
            /* Facebook publishes reels (facebook_video.c): of one video only. */
            if (strcmp(platforms[i], "facebook") == 0 && strcmp(formats[k], "reel") == 0)
                snprintf(want, sizeof(want), "format reel takes exactly one video");
            CHECK_STR_EQ(reason, want);
        }
        c.job.format = "carousel";
        CHECK(!cc_valid(&c, reason, sizeof(reason)));
        CHECK_CONTAINS(reason, "format \"carousel\" is not one of feed, story, reel");
        /* feed is never the reason a post is refused */
        c.job.format = "feed";
        if (!cc_valid(&c, reason, sizeof(reason))) CHECK(strncmp(reason, "format", 6) != 0);
    }
}

static void test_instagram_story_rules(void) {
    cc_case c;
    char reason[512];
    story_init(&c);
    CHECK(cc_valid(&c, reason, sizeof(reason))); /* image story */
    cc_video(&c, 0);
    CHECK(cc_valid(&c, reason, sizeof(reason))); /* video story */
    c.job.text = "hello";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "format story carries no text or link");
    CHECK_CONTAINS(reason, "Instagram ignores text on stories");
    c.job.text = "";
    c.job.link = "https://example.com/x";
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "format story carries no text or link");
    c.job.link = "";
    c.job.n_media = 2;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "format story takes exactly one image or video (got 2 media)");
    c.job.n_media = 0;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
}

static void test_instagram_reel_rules(void) {
    cc_case c;
    char reason[512];
    cc_init(&c, "instagram", "v19.0", IGUSER);
    c.job.n_media = 1;
    c.job.format = "reel";
    CHECK(!cc_valid(&c, reason, sizeof(reason))); /* an image is no reel */
    CHECK_CONTAINS(reason, "format reel takes exactly one video");
    cc_video(&c, 0);
    CHECK(cc_valid(&c, reason, sizeof(reason)));
    c.job.n_media = 2;
    CHECK(!cc_valid(&c, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "format reel takes exactly one video");
}

/* ---- the story flow ------------------------------------------------------- */

/* Up to the container: quota read, then one STORIES container, no caption. */
static void story_to_container(cc_case *c, const char *want_body) {
    ap_flow_result r;
    cc_start(c, AP_FLOW_PUBLISH);
    CHECK_STR_EQ(c->req.url, V IGUSER "/content_publishing_limit?fields=quota_usage,config");
    CHECK(cc_feed(c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, V IGUSER "/media");
    CHECK_STR_EQ(c->req.body, want_body);
    CHECK(strstr(c->req.body, "caption") == NULL);
    CHECK(!c->req.once); /* a container is not a post: safe to resend */
    CHECK(cc_feed(c, 200, "{\"id\":\"700\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, V "700?fields=status_code,status");
}

static void test_image_story_flow(void) {
    cc_case c;
    ap_flow_result r;
    story_init(&c);
    story_to_container(&c, "media_type=STORIES&image_url=https%3A%2F%2Fcdn.example%2F1.jpg");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V IGUSER "/media_publish");
    CHECK_STR_EQ(c.req.body, "creation_id=700");
    CHECK(c.req.once);
    CHECK(cc_feed(&c, 200, "{\"id\":\"17930000000000007\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "17930000000000007");
    cc_finish(&c);
}

/* A video story is processed first: IN_PROGRESS (waits, backing off), then
 * FINISHED, then the one publishing call. */
static void test_video_story_in_progress_then_finished(void) {
    cc_case c;
    ap_flow_result r;
    story_init(&c);
    cc_video(&c, 0);
    story_to_container(&c, "media_type=STORIES&video_url=https%3A%2F%2Fcdn.example%2F1.mp4");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_WAIT);
    CHECK(c.wait == 1000);
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V "700?fields=status_code,status");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_WAIT);
    CHECK(c.wait == 2000);
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V IGUSER "/media_publish");
    CHECK(cc_feed(&c, 200, "{\"id\":\"17930000000000008\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "17930000000000008");
    cc_finish(&c);
}

/* ERROR while processing: permanent with Instagram's reason, never published. */
static void test_video_story_error(void) {
    cc_case c;
    ap_flow_result r;
    story_init(&c);
    cc_video(&c, 0);
    story_to_container(&c, "media_type=STORIES&video_url=https%3A%2F%2Fcdn.example%2F1.mp4");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_WAIT);
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK(cc_feed(&c, 200,
                  "{\"status_code\":\"ERROR\",\"status\":\"Error: the video is too long for a "
                  "story\"}",
                  &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(r.error_code, "container_error");
    CHECK_CONTAINS(r.error_message, "too long for a story");
    cc_finish(&c);
}

/* Every step before the publishing call is retryable; the publishing call
 * stays the ambiguous one, settled by the container's status. */
static void test_story_lost_answers(void) {
    cc_case c;
    ap_flow_result r;
    story_init(&c);
    cc_start(&c, AP_FLOW_PUBLISH);
    CHECK(cc_feed(&c, 200, CC_QUOTA_OK, &r) == AP_STEP_REQUEST);
    CHECK(cc_lost(&c, true, &r) == AP_STEP_DONE); /* the container's answer lost */
    CHECK(r.error_class == AP_CLASS_RETRY);
    cc_finish(&c);

    story_init(&c);
    story_to_container(&c, "media_type=STORIES&image_url=https%3A%2F%2Fcdn.example%2F1.jpg");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"FINISHED\"}", &r) == AP_STEP_REQUEST);
    CHECK(cc_lost(&c, true, &r) == AP_STEP_WAIT); /* publish answer lost: read status */
    CHECK(cc_wake(&c, &r) == AP_STEP_REQUEST);
    CHECK_STR_EQ(c.req.url, V "700?fields=status_code,status");
    CHECK(cc_feed(&c, 200, "{\"status_code\":\"IN_PROGRESS\"}", &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    cc_finish(&c);
}

/* ---- the doors ---------------------------------------------------------- */

static void test_ctl_post_format(void) {
    ctl_post p;
    char reason[512];
    ctl_post_init(&p);
    CHECK(p.format == AP_FORMAT_FEED);
    CHECK(!ctl_post_set_format(&p, "carousel", reason, sizeof(reason)));
    CHECK_STR_EQ(reason, "format: \"carousel\" is not one of feed, story, reel");
    CHECK(!ctl_post_set_format(&p, "", reason, sizeof(reason)));
    CHECK(ctl_post_set_format(&p, "story", reason, sizeof(reason)));
    p.text = strdup("");
    CHECK(!ctl_post_check(&p, reason, sizeof(reason))); /* no media to carry it */
    CHECK_CONTAINS(reason, "format: a story needs an image or a video");
    CHECK(
        ctl_post_add_media(&p, "https://cdn.example/s.mp4", "video", NULL, reason, sizeof(reason)));
    CHECK(ctl_post_check(&p, reason, sizeof(reason)));
    /* Stored on the first media item; the scheduler reads it back there. */
    char *json = ctl_post_media_json(&p);
    CHECK(json != NULL);
    if (json)
        CHECK_STR_EQ(json, "[{\"url\":\"https://cdn.example/s.mp4\",\"type\":\"video\","
                           "\"alt_text\":\"\",\"format\":\"story\"}]");
    free(json);
    CHECK(ctl_post_validate_platform(&p, "instagram", IGUSER, reason, sizeof(reason)));
    CHECK(!ctl_post_validate_platform(&p, "x", "12345", reason, sizeof(reason)));
    CHECK_STR_EQ(reason, "not valid for x: format story is not supported on x");
    CHECK(ctl_reason_is_format(reason));
    CHECK(!ctl_reason_is_format("not valid for x: text has 300 characters"));
    ctl_post_free(&p);

    /* feed adds nothing to the stored media (rows as before formats) */
    ctl_post_init(&p);
    p.text = strdup("hi");
    CHECK(ctl_post_add_media(&p, "https://cdn.example/a.jpg", NULL, NULL, reason, sizeof(reason)));
    json = ctl_post_media_json(&p);
    CHECK(json != NULL && strstr(json, "format") == NULL);
    free(json);
    ctl_post_free(&p);
}

static void test_import_record_format(void) {
    ctl_post p;
    char reason[512];
    static const char ok[] =
        "{\"account_id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\",\"at\":\"now\","
        "\"media\":[{\"url\":\"https://cdn.example/a.jpg\"}],\"format\":\"story\"}";
    static const char bad[] =
        "{\"account_id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\",\"at\":\"now\","
        "\"media\":[{\"url\":\"https://cdn.example/a.jpg\"}],\"format\":\"fleet\"}";
    ctl_post_init(&p);
    CHECK(ctl_post_from_json(&p, ok, strlen(ok), reason, sizeof(reason)));
    CHECK(p.format == AP_FORMAT_STORY);
    ctl_post_free(&p);
    ctl_post_init(&p);
    CHECK(!ctl_post_from_json(&p, bad, strlen(bad), reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "format: \"fleet\" is not one of feed, story, reel");
    ctl_post_free(&p);
}

int main(void) {
    RUN(test_names);
    RUN(test_other_platforms_refuse);
    RUN(test_instagram_story_rules);
    RUN(test_instagram_reel_rules);
    RUN(test_image_story_flow);
    RUN(test_video_story_in_progress_then_finished);
    RUN(test_video_story_error);
    RUN(test_story_lost_answers);
    RUN(test_ctl_post_format);
    RUN(test_import_record_format);
    return TEST_RESULT();
}
