/* test_ctl_post.c -- autopostctl's post model: the checks `schedule` and
 * `import` run before anything reaches PostgreSQL, the JSON Lines record
 * parser, and the COPY text encoding that `import` streams.
 *
 * ctl/ is an executable, not a library, so the one I/O-free file under test
 * is compiled into this test directly. */
#include "ap_time.h"
#include "ctl_post.h"

#include "test.h"

static char reason[512];

static void test_url_rules(void) {
    CHECK(ctl_url_ok("https://example.com/a.jpg", "media", reason, sizeof(reason)));
    CHECK(ctl_url_ok("http://example.com", "link", reason, sizeof(reason)));
    CHECK(ctl_url_ok("HTTPS://EXAMPLE.COM/x?y=1#z", "link", reason, sizeof(reason)));

    CHECK(!ctl_url_ok("ftp://example.com/a.jpg", "media[0]", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "media[0]: only http:// and https:// URLs");
    CHECK_CONTAINS(reason, "ftp://example.com/a.jpg");
    CHECK(!ctl_url_ok("javascript:alert(1)", "link", reason, sizeof(reason)));
    CHECK(!ctl_url_ok("file:///etc/passwd", "link", reason, sizeof(reason)));
    CHECK(!ctl_url_ok("example.com/a.jpg", "link", reason, sizeof(reason)));
    CHECK(!ctl_url_ok("https://", "link", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "has no host");
    CHECK(!ctl_url_ok("http:///path", "link", reason, sizeof(reason)));
    CHECK(!ctl_url_ok("https://exa mple.com", "link", reason, sizeof(reason)));
    CHECK(!ctl_url_ok("https://example.com/\n", "link", reason, sizeof(reason)));
}

static void test_check_content(void) {
    ctl_post p;
    ctl_post_init(&p);
    p.text = strdup("");
    CHECK(!ctl_post_check(&p, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "content is empty");
    free(p.text);
    p.text = strdup("  \n\t ");
    CHECK(!ctl_post_check(&p, reason, sizeof(reason)));
    p.link = strdup("https://example.com");
    CHECK(ctl_post_check(&p, reason, sizeof(reason))); /* a bare link is content */
    free(p.link);
    p.link = strdup("ftp://example.com");
    CHECK(!ctl_post_check(&p, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "link:");
    free(p.link);
    p.link = NULL;
    CHECK(ctl_post_add_media(&p, "https://cdn/a.jpg", NULL, "alt", reason, sizeof(reason)));
    CHECK(ctl_post_check(&p, reason, sizeof(reason))); /* media only is content too */
    CHECK(!ctl_post_add_media(&p, "https://cdn/a.mp3", "audio", NULL, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "not image, video, gif or document");
    {
        /* A document keeps its type and title through the stored media JSON. */
        ctl_post d;
        ctl_post_init(&d);
        CHECK(ctl_post_add_media(&d, "https://cdn/deck.pdf", "document", "Q3", reason,
                                 sizeof(reason)));
        CHECK(d.media[0].type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT);
        char *json = ctl_post_media_json(&d);
        CHECK_STR_EQ(
            json, "[{\"url\":\"https://cdn/deck.pdf\",\"type\":\"document\",\"alt_text\":\"Q3\"}]");
        free(json);
        ctl_post_free(&d);
    }
    for (int i = 0; i < AP_MAX_MEDIA; i++)
        CHECK(ctl_post_add_media(&p, "https://cdn/b.jpg", "image", NULL, reason, sizeof(reason)));
    CHECK(!ctl_post_check(&p, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "too many media items");
    ctl_post_free(&p);

    ctl_post_init(&p);
    p.text = strdup("bad \xC3\x28 utf-8");
    CHECK(!ctl_post_check(&p, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "UTF-8");
    ctl_post_free(&p);
    ctl_post_free(NULL);
}

static void test_at(void) {
    ctl_post p;
    ctl_post_init(&p);
    CHECK(ctl_post_set_at(&p, "now", reason, sizeof(reason)));
    CHECK(p.at_now);
    CHECK(ctl_post_set_at(&p, "2026-11-28T09:00:00+07:00", reason, sizeof(reason)));
    CHECK(!p.at_now);
    CHECK(p.at_ms == INT64_C(1795831200000));
    CHECK(!ctl_post_set_at(&p, "tomorrow", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "not an RFC 3339 time");
    CHECK(!ctl_post_set_at(&p, "2026-02-30T00:00:00Z", reason, sizeof(reason)));
    ctl_post_free(&p);
}

/* The past-time rule, against a fixed clock: 2026-01-01T00:00:00Z. */
static void test_at_past(void) {
    const int64_t now = INT64_C(1767225600000), max_past = 5 * 60 * 1000;
    ctl_post p;
    ctl_post_init(&p);
    /* Six years late (the line): refused, naming the field, the
     * time, how late and the limit. */
    CHECK(ctl_post_set_at(&p, "2020-01-01T00:00:00Z", reason, sizeof(reason)));
    reason[0] = '\0';
    CHECK(!ctl_post_check_at(&p, now, max_past, false, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "at: 2020-01-01T00:00:00");
    CHECK_CONTAINS(reason, "2192d in the past");
    CHECK_CONTAINS(reason, "scheduler.max_past (5m)");
    /* ... unless the caller says past times are meant. */
    CHECK(ctl_post_check_at(&p, now, max_past, true, reason, sizeof(reason)));
    /* The boundary: exactly max_past ago passes, one millisecond more does not. */
    p.at_ms = now - max_past;
    CHECK(ctl_post_check_at(&p, now, max_past, false, reason, sizeof(reason)));
    p.at_ms = now - max_past - 1;
    CHECK(!ctl_post_check_at(&p, now, max_past, false, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "5m in the past");
    /* Slightly late and future times pass. */
    p.at_ms = now - 1000;
    CHECK(ctl_post_check_at(&p, now, max_past, false, reason, sizeof(reason)));
    p.at_ms = now + 86400000;
    CHECK(ctl_post_check_at(&p, now, max_past, false, reason, sizeof(reason)));
    /* max_past 0: any past time is refused; 90 s shows as written. */
    p.at_ms = now - 1;
    CHECK(!ctl_post_check_at(&p, now, 0, false, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "(0ms)");
    p.at_ms = now - 600000;
    CHECK(!ctl_post_check_at(&p, now, 90000, false, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "10m in the past, more than scheduler.max_past (90s)");
    /* "now" is the current time, whatever the limit. */
    CHECK(ctl_post_set_at(&p, "now", reason, sizeof(reason)));
    CHECK(ctl_post_check_at(&p, now, 0, false, reason, sizeof(reason)));
    ctl_post_free(&p);
}

/* A deadline: parsed, and never earlier than the post's time. */
static void test_deadline(void) {
    ctl_post p;
    ctl_post_init(&p);
    p.text = strdup("x");
    CHECK(ctl_post_set_at(&p, "2026-11-28T09:00:00Z", reason, sizeof(reason)));
    CHECK(ctl_post_set_deadline(&p, "2026-11-28T10:00:00Z", reason, sizeof(reason)));
    CHECK(p.deadline_ms == INT64_C(1795860000000));
    CHECK(ctl_post_check(&p, reason, sizeof(reason)));
    /* Equal to at: allowed (the call may start at the deadline itself). */
    CHECK(ctl_post_set_deadline(&p, "2026-11-28T09:00:00Z", reason, sizeof(reason)));
    CHECK(ctl_post_check(&p, reason, sizeof(reason)));
    /* Earlier than at: refused, naming the field first (the API's 422 field). */
    CHECK(ctl_post_set_deadline(&p, "2026-11-28T08:59:59Z", reason, sizeof(reason)));
    CHECK(!ctl_post_check(&p, reason, sizeof(reason)));
    CHECK(strncmp(reason, "deadline: ", 10) == 0);
    CHECK_CONTAINS(reason, "earlier than at");
    /* With at "now", a deadline already gone is earlier than now. */
    CHECK(ctl_post_set_at(&p, "now", reason, sizeof(reason)));
    CHECK(!ctl_post_check(&p, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "earlier than at (now, ");
    CHECK(!ctl_post_set_deadline(&p, "soon", reason, sizeof(reason)));
    CHECK(strncmp(reason, "deadline: ", 10) == 0);
    ctl_post_free(&p);
}

/* Parses one record into a fresh post; returns whether it was accepted. */
static bool parse(const char *line) {
    ctl_post p;
    ctl_post_init(&p);
    reason[0] = '\0';
    bool ok = ctl_post_from_json(&p, line, strlen(line), reason, sizeof(reason));
    ctl_post_free(&p);
    return ok;
}

#define ACC "\"account_id\": \"0e8cd25a-4ea1-49d1-a3f0-0be633296b0c\""

static void test_json_records(void) {
    ctl_post p;
    ctl_post_init(&p);
    const char *line = "{" ACC ", \"at\": \"2026-11-28T09:00:00Z\", \"text\": \"hi\\tthere\", "
                       "\"link\": \"https://example.com\", \"media\": [{\"url\": "
                       "\"https://cdn/a.mp4\", \"type\": \"video\", \"alt_text\": \"a clip\"}]}";
    CHECK(ctl_post_from_json(&p, line, strlen(line), reason, sizeof(reason)));
    CHECK_STR_EQ(p.account_id, "0e8cd25a-4ea1-49d1-a3f0-0be633296b0c");
    CHECK_STR_EQ(p.text, "hi\tthere");
    CHECK_STR_EQ(p.link, "https://example.com");
    CHECK(p.nmedia == 1);
    CHECK(p.media[0].type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK_STR_EQ(p.media[0].alt_text, "a clip");
    char *media = ctl_post_media_json(&p);
    CHECK_STR_EQ(media,
                 "[{\"url\":\"https://cdn/a.mp4\",\"type\":\"video\",\"alt_text\":\"a clip\"}]");
    free(media);
    ctl_post_free(&p);

    CHECK(parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"link\": null, \"media\": []}"));
    CHECK(parse("{" ACC ", \"at\": \"now\", \"media\": [{\"url\": \"https://cdn/a.jpg\"}]}"));

    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"colour\": \"red\"}"));
    CHECK_CONTAINS(reason, "unknown key \"colour\"");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"text\": \"y\"}"));
    CHECK_CONTAINS(reason, "duplicate");
    CHECK(!parse("{" ACC ", \"text\": \"x\"}"));
    CHECK_CONTAINS(reason, "at is missing");
    CHECK(!parse("{\"at\": \"now\", \"text\": \"x\"}"));
    CHECK_CONTAINS(reason, "account_id is missing");
    CHECK(!parse("{\"account_id\": \"42\", \"at\": \"now\", \"text\": \"x\"}"));
    CHECK_CONTAINS(reason, "account_id: expected a UUID");
    CHECK(!parse("{" ACC ", \"at\": 1795831200, \"text\": \"x\"}"));
    CHECK_CONTAINS(reason, "at: expected an RFC 3339 string");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": 7}"));
    CHECK_CONTAINS(reason, "text: expected a string");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"\"}"));
    CHECK_CONTAINS(reason, "content is empty");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"media\": [{\"url\": "
                 "\"ftp://cdn/a.jpg\"}]}"));
    CHECK_CONTAINS(reason, "media[0]: only http");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"media\": [{\"url\": "
                 "\"https://cdn/a.jpg\", \"size\": 1}]}"));
    CHECK_CONTAINS(reason, "media[0]: unknown key \"size\"");
    CHECK(
        !parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"media\": [{\"type\": \"image\"}]}"));
    CHECK_CONTAINS(reason, "url is missing");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"media\": {\"url\": \"x\"}}"));
    CHECK(!parse("[1, 2]"));
    CHECK_CONTAINS(reason, "expected a JSON object");
    CHECK(!parse("not json"));
    CHECK_CONTAINS(reason, "invalid JSON");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"nul \\u0000 inside\"}"));
    CHECK(parse("{" ACC ", \"at\": \"2026-11-28T09:00:00Z\", \"deadline\": "
                "\"2026-11-28T09:30:00Z\", \"text\": \"x\"}"));
    CHECK(parse("{" ACC ", \"at\": \"now\", \"deadline\": null, \"text\": \"x\"}"));
    CHECK(!parse("{" ACC ", \"at\": \"2026-11-28T09:00:00Z\", \"deadline\": "
                 "\"2026-11-28T08:00:00Z\", \"text\": \"x\"}"));
    CHECK_CONTAINS(reason, "deadline: ");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"deadline\": 5, \"text\": \"x\"}"));
    CHECK_CONTAINS(reason, "deadline: expected an RFC 3339 string");

    /* "priority": the lane (README "Urgent lane"). */
    ctl_post_init(&p);
    line = "{" ACC ", \"at\": \"now\", \"text\": \"x\", \"priority\": \"urgent\"}";
    CHECK(ctl_post_from_json(&p, line, strlen(line), reason, sizeof(reason)));
    CHECK(p.urgent);
    CHECK_STR_EQ(ctl_post_priority(&p), "urgent");
    ctl_post_free(&p);
    CHECK(parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"priority\": \"normal\"}"));
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"priority\": \"high\"}"));
    CHECK_CONTAINS(reason, "priority: \"high\" is not one of normal, urgent");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"priority\": true}"));
    CHECK_CONTAINS(reason, "priority: expected");
}

/* "recurrence" in an import line: the API's shape and the API's rules
 * (ctl_recurrence_check), instead of "at", never with it. */
static void test_json_recurrence(void) {
    ctl_post p;
    ctl_post_init(&p);
    const char *line = "{" ACC ", \"text\": \"weekly\", \"recurrence\": {\"rrule\": "
                       "\"FREQ=WEEKLY;BYDAY=MO\", \"tz\": \"Europe/Paris\", \"start\": "
                       "\"2030-01-07T09:00:00\"}}";
    CHECK(ctl_post_from_json(&p, line, strlen(line), reason, sizeof(reason)));
    CHECK_STR_EQ(p.recur_rrule, "FREQ=WEEKLY;BYDAY=MO");
    CHECK_STR_EQ(p.recur_tz, "Europe/Paris");
    CHECK_STR_EQ(p.recur_start, "2030-01-07T09:00:00");
    /* A series has no at: the past-time rule does not apply to it. */
    CHECK(ctl_post_check_at(&p, ap_now_ms(), 300000, false, reason, sizeof(reason)));
    ctl_post_free(&p);

    CHECK(!parse("{" ACC ", \"text\": \"x\", \"at\": \"now\", \"recurrence\": {\"rrule\": "
                 "\"FREQ=DAILY\", \"tz\": \"UTC\", \"start\": \"2030-01-01T09:00:00\"}}"));
    CHECK_CONTAINS(reason, "either at or recurrence");
    CHECK(!parse("{" ACC ", \"text\": \"x\", \"recurrence\": {\"rrule\": \"FREQ=FORTNIGHTLY\", "
                 "\"tz\": \"UTC\", \"start\": \"2030-01-01T09:00:00\"}}"));
    CHECK_CONTAINS(reason, "recurrence.rrule");
    CHECK(!parse("{" ACC ", \"text\": \"x\", \"recurrence\": {\"rrule\": \"FREQ=DAILY\", "
                 "\"tz\": \"Mars/Olympus\", \"start\": \"2030-01-01T09:00:00\"}}"));
    CHECK_CONTAINS(reason, "recurrence.tz");
    CHECK(!parse("{" ACC ", \"text\": \"x\", \"recurrence\": {\"rrule\": \"FREQ=DAILY\", "
                 "\"tz\": \"UTC\"}}"));
    CHECK_CONTAINS(reason, "recurrence.start is missing");
    CHECK(!parse("{" ACC ", \"text\": \"x\", \"recurrence\": {\"rrule\": \"FREQ=DAILY\", "
                 "\"tz\": \"UTC\", \"start\": \"2030-01-01T09:00:00\", \"every\": 1}}"));
    CHECK_CONTAINS(reason, "unknown key \"every\"");

    /* The bounds that need the config and the clock. */
    const char *field = NULL;
    char why[200];
    CHECK(!ctl_recurrence_check("FREQ=MINUTELY", "UTC", "2030-01-01T09:00:00", 3600000, 0, &field,
                                why, sizeof(why)));
    CHECK_STR_EQ(field, "rrule");
    CHECK(ctl_recurrence_check("FREQ=HOURLY", "UTC", "2030-01-01T09:00:00", 3600000, 0, &field, why,
                               sizeof(why)));
    CHECK(!ctl_recurrence_check("FREQ=DAILY;COUNT=2", "UTC", "2020-01-01T09:00:00", 0, ap_now_ms(),
                                &field, why, sizeof(why)));
    CHECK_STR_EQ(field, "start");
    CHECK_CONTAINS(why, "no occurrence after now");
}

static void test_platform_rules(void) {
    ctl_post p;
    ctl_post_init(&p);
    snprintf(p.account_id, sizeof(p.account_id), "0e8cd25a-4ea1-49d1-a3f0-0be633296b0c");
    p.at_now = true;
    p.text = strdup("hello");
    CHECK(ctl_post_validate_platform(&p, "facebook", "1234567890", reason, sizeof(reason)));
    CHECK(!ctl_post_validate_platform(&p, "myspace", "1", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "no publisher adapter for platform \"myspace\"");
    free(p.text);
    p.text = malloc(70001);
    memset(p.text, 'a', 70000);
    p.text[70000] = '\0';
    CHECK(!ctl_post_validate_platform(&p, "facebook", "1234567890", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "not valid for facebook");
    ctl_post_free(&p);

    CHECK(ctl_account_usable("a", "active", "", reason, sizeof(reason)));
    CHECK(!ctl_account_usable("a", "disabled", "", reason, sizeof(reason)));
    CHECK_STR_EQ(reason, "account a is disabled");
    CHECK(!ctl_account_usable("a", "reauth_required", "token expired", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "needs re-authorisation");
    CHECK_CONTAINS(reason, "token expired");
}

/* "variants" (README "Variants"): the resolution order, each field on its
 * own, the 300-character text that LinkedIn takes and X refuses unless its
 * variant is shorter, and the reasons naming the variant. */
#define UUID_A "0e8cd25a-4ea1-49d1-a3f0-0be633296b0c"
#define UUID_B "7d4f0a52-2f36-4c1e-9a8e-3f5b6c7d8e9f"

static char *long_text(size_t n) {
    char *t = malloc(n + 1);
    memset(t, 'a', n);
    t[n] = '\0';
    return t;
}

static void test_variants(void) {
    ctl_post p;
    ctl_post_init(&p);
    char *text = long_text(300), line[1024];
    snprintf(line, sizeof(line),
             "{" ACC ", \"at\": \"now\", \"text\": \"%s\", \"media\": [{\"url\": "
             "\"https://cdn/a.jpg\"}], \"variants\": {\"x\": {\"text\": \"short for x\"}, "
             "\"linkedin\": {\"media\": [{\"url\": \"https://cdn/b.mp4\", \"type\": \"video\"}]}}}",
             text);
    CHECK(ctl_post_from_json(&p, line, strlen(line), reason, sizeof(reason)));
    CHECK(p.nvariants == 2);
    /* X: the variant's text, the post's media. */
    const ctl_variant *v = ctl_post_variant_for(&p, UUID_A, "x");
    CHECK(v && strcmp(v->key, "x") == 0);
    ctl_post view = ctl_post_with_variant(&p, v);
    CHECK_STR_EQ(view.text, "short for x");
    CHECK(view.nmedia == 1 && strcmp(view.media[0].url, "https://cdn/a.jpg") == 0);
    CHECK(ctl_post_validate_platform(&p, "x", "1", reason, sizeof(reason)));
    /* LinkedIn: the post's 300 characters, the variant's media. */
    view = ctl_post_with_variant(&p, ctl_post_variant_for(&p, UUID_A, "linkedin"));
    CHECK(strlen(view.text) == 300);
    CHECK(view.nmedia == 1 && view.media[0].type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    CHECK(ctl_post_variant_for(&p, UUID_A, "facebook") == NULL);
    /* Stored: each variant's media in posts.media's shape; shown without
     * the format key. */
    char *stored = NULL;
    CHECK(ctl_post_variants_json(&p, &stored) && stored != NULL);
    CHECK_STR_EQ(stored, "{\"x\":{\"text\":\"short for x\"},\"linkedin\":{\"media\":[{\"url\":"
                         "\"https://cdn/b.mp4\",\"type\":\"video\",\"alt_text\":\"\"}]}}");
    json_t *shown = ctl_post_variants_from_json(stored);
    CHECK(json_object_size(shown) == 2);
    json_decref(shown);
    free(stored);
    ctl_post_free(&p);

    /* Without the X variant, X refuses the 300 characters; LinkedIn not. */
    ctl_post_init(&p);
    snprintf(p.account_id, sizeof(p.account_id), UUID_A);
    p.at_now = true;
    p.text = text;
    CHECK(!ctl_post_validate_platform(&p, "x", "1", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "not valid for x");
    CHECK(ctl_post_validate_platform(&p, "linkedin", "urn:li:person:1", reason, sizeof(reason)));
    /* A variant too long for its platform is named. */
    CHECK(ctl_post_add_variant_text(&p, "x", "still fine", reason, sizeof(reason)));
    CHECK(ctl_post_validate_platform(&p, "x", "1", reason, sizeof(reason)));
    char *too_long = long_text(281);
    CHECK(ctl_post_add_variant_text(&p, UUID_A, too_long, reason, sizeof(reason)));
    free(too_long);
    /* The account's entry beats the platform's. */
    CHECK(!ctl_post_validate_platform(&p, "x", "1", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "variants." UUID_A ": not valid for x");
    ctl_post_free(&p);

    /* Account keys are normalised; the account's entry wins for it only. */
    ctl_post_init(&p);
    p.text = strdup("post");
    CHECK(ctl_post_add_variant_text(&p, "x", "platform", reason, sizeof(reason)));
    CHECK(ctl_post_add_variant_text(&p, "0E8CD25A-4EA1-49D1-A3F0-0BE633296B0C", "account", reason,
                                    sizeof(reason)));
    CHECK_STR_EQ(ctl_post_variant_for(&p, UUID_A, "x")->text, "account");
    CHECK_STR_EQ(ctl_post_variant_for(&p, UUID_B, "x")->text, "platform");
    CHECK(ctl_post_variant_for(&p, UUID_B, "threads") == NULL);
    CHECK(!ctl_post_add_variant_text(&p, UUID_A, "twice", reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "variants." UUID_A ": given twice");
    char field[128];
    const char ids[1][37] = {UUID_B};
    CHECK(!ctl_post_check_variant_keys(&p, ids, 1, field, sizeof(field), reason, sizeof(reason)));
    CHECK_STR_EQ(field, "variants." UUID_A);
    CHECK_STR_EQ(reason, "not a platform name or one of the post's account ids");
    ctl_post_free(&p);

    /* Bad variants, each named by its field. */
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"myspace\": "
                 "{\"text\": \"y\"}}}"));
    CHECK_STR_EQ(reason, "variants.myspace: not a platform name or one of the post's account ids");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"" UUID_B
                 "\": {\"text\": \"y\"}}}"));
    CHECK_CONTAINS(reason, "variants." UUID_B ": not a platform name");
    CHECK(parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"" UUID_A
                "\": {\"text\": \"y\"}}}"));
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": "
                 "{\"txt\": \"y\"}}}"));
    CHECK_STR_EQ(reason, "variants.x: unknown key \"txt\" (known: text, media)");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": "
                 "{\"text\": 5}}}"));
    CHECK_STR_EQ(reason, "variants.x.text: expected a string");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": {}}}"));
    CHECK_CONTAINS(reason, "variants.x: expected an object with text and/or media");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": [1]}"));
    CHECK_CONTAINS(reason, "variants: expected an object");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": {\"media\": "
                 "[{\"url\": \"ftp://cdn/a.jpg\"}]}}}"));
    CHECK_CONTAINS(reason, "variants.x.media[0].url: only http:// and https://");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": {\"media\": "
                 "[{\"type\": \"image\"}]}}}"));
    CHECK_STR_EQ(reason, "variants.x.media[0].url: missing");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": {\"media\": "
                 "[{\"url\": \"https://cdn/a\", \"type\": \"audio\"}]}}}"));
    CHECK_CONTAINS(reason, "variants.x.media[0].type: media type \"audio\"");
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": {\"media\": "
                 "[{\"url\": \"https://cdn/a\", \"size\": 1}]}}}"));
    CHECK_CONTAINS(reason, "variants.x.media[0]: unknown key \"size\"");
    /* A variant's content as it replaces the post's must not be empty. */
    CHECK(!parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": {\"x\": "
                 "{\"text\": \" \", \"media\": []}}}"));
    CHECK_CONTAINS(reason, "variants.x: content is empty");
    CHECK(parse("{" ACC ", \"at\": \"now\", \"text\": \"x\", \"variants\": null}"));
}

static void test_copy_encoding(void) {
    ap_buf b = {0};
    CHECK(ctl_copy_field(&b, "a\tb\nc\\d\re", '\t'));
    CHECK(ctl_copy_field(&b, NULL, '\t'));
    CHECK(ctl_copy_field(&b, "", '\t'));
    CHECK(ctl_copy_field(&b, "plain \xF0\x9F\x98\x80", '\n'));
    CHECK_STR_EQ(b.data, "a\\tb\\nc\\\\d\\re\t\\N\t\tplain \xF0\x9F\x98\x80\n");
    ap_buf_free(&b);
    ap_buf_free(&b); /* twice is harmless */
}

int main(void) {
    RUN(test_url_rules);
    RUN(test_check_content);
    RUN(test_at);
    RUN(test_at_past);
    RUN(test_deadline);
    RUN(test_json_records);
    RUN(test_json_recurrence);
    RUN(test_platform_rules);
    RUN(test_variants);
    RUN(test_copy_encoding);
    return TEST_RESULT();
}
