/* test_api.c -- autopost-api's parts that need no server: the route table
 * against api/openapi.yaml (both ways), route matching, the POST /v1/posts
 * decoder and its 422 details, the POST /v1/webhooks decoder (url and
 * events by the endpoint store's rules), the error shape, the rate limiter
 * and the API key format. */
#include <stdlib.h>

#include "ap_apikey.h"
#include "api.h"
#include "ctl_post.h"
#include "test.h"

static const char *const methods[] = {"get", "post", "patch", "put", "delete", NULL};

/* Every route is documented, and every documented operation is a route. */
static void test_routes_match_openapi(void) {
    char err[256];
    CHECK(api_openapi_load(err, sizeof(err)));
    json_t *paths = json_object_get(api_openapi_document(), "paths");
    CHECK(json_is_object(paths));
    size_t routes = 0;
    for (const api_route *r = api_routes; r->method; r++, routes++) {
        char lower[16];
        size_t i = 0;
        for (; r->method[i] && i < sizeof(lower) - 1; i++) lower[i] = (char)(r->method[i] | 0x20);
        lower[i] = '\0';
        json_t *op = json_object_get(json_object_get(paths, r->pattern), lower);
        if (!json_is_object(op))
            fprintf(stderr, "undocumented route %s %s\n", r->method, r->pattern);
        CHECK(json_is_object(op));
    }
    size_t documented = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) {
        for (const char *const *m = methods; *m; m++) {
            if (json_object_get(item, *m) == NULL) continue;
            documented++;
            char upper[16], id[37];
            size_t i = 0;
            for (; (*m)[i]; i++) upper[i] = (char)((*m)[i] & ~0x20);
            upper[i] = '\0';
            /* The documented path, with a real id in its {id}. */
            char concrete[256];
            const char *hole = strstr(path, "{id}");
            if (hole)
                snprintf(concrete, sizeof(concrete), "%.*s%s%s", (int)(hole - path), path,
                         "0190a5b4-0000-7000-8000-000000000001", hole + 4);
            else
                snprintf(concrete, sizeof(concrete), "%s", path);
            bool known;
            const api_route *r = api_route_find(upper, concrete, id, &known);
            if (r == NULL) fprintf(stderr, "documented but not served: %s %s\n", upper, path);
            CHECK(r != NULL && strcmp(r->pattern, path) == 0);
        }
    }
    CHECK(documented == routes);
    api_openapi_free();
}

static void test_route_find(void) {
    char id[37];
    bool known;
    const api_route *r = api_route_find("POST", "/v1/schedules/abc/cancel", id, &known);
    CHECK(r && r->handler == api_schedules_cancel);
    CHECK_STR_EQ(id, "abc");
    r = api_route_find("GET", "/v1/posts", id, &known);
    CHECK(r == NULL && known); /* 405, not 404 */
    r = api_route_find("GET", "/v1/postsx", id, &known);
    CHECK(r == NULL && !known);
    r = api_route_find("GET", "/v1/posts/", id, &known);
    CHECK(r == NULL);
    r = api_route_find("GET", "/v1/posts/a/b", id, &known);
    CHECK(r == NULL);
    char long_id[64];
    memset(long_id, 'a', 40);
    snprintf(long_id + 40, sizeof(long_id) - 40, "%s", "");
    char path[128];
    snprintf(path, sizeof(path), "/v1/posts/%s", long_id);
    CHECK(api_route_find("GET", path, id, &known) == NULL);
    r = api_route_find("GET", "/v1/openapi.json", id, &known);
    CHECK(r && r->public_route && id[0] == '\0');
    r = api_route_find("GET", "/v1/webhooks/w1/deliveries", id, &known);
    CHECK(r && r->handler == api_webhooks_deliveries && !r->public_route);
    CHECK_STR_EQ(id, "w1");
    r = api_route_find("DELETE", "/v1/webhooks/w2", id, &known);
    CHECK(r && r->handler == api_webhooks_delete);
    r = api_route_find("DELETE", "/v1/webhooks", id, &known);
    CHECK(r == NULL && known); /* 405 */
}

/* Decodes a POST /v1/webhooks body; returns the first detail's field and
 * reason as "field: reason" ("" when accepted, events in *csv). */
static const char *webhook_refusal(const char *body, bool allow_private, unsigned int *status,
                                   char csv[64]) {
    static char out[256];
    api_webhook_request wr;
    api_reply r = {0};
    bool ok = api_webhook_request_decode(&wr, body, strlen(body), allow_private, &r);
    *status = ok ? 0 : r.status;
    int n = snprintf(csv, 64, "%.63s", ok ? wr.events_csv : "");
    CHECK(n >= 0 && n < 64);
    json_t *d = json_array_get(json_object_get(json_object_get(r.body, "error"), "details"), 0);
    snprintf(out, sizeof(out), "%s%s%s", d ? json_string_value(json_object_get(d, "field")) : "",
             d ? ": " : "", d ? json_string_value(json_object_get(d, "reason")) : "");
    if (ok) CHECK(wr.url != NULL);
    api_webhook_request_free(&wr);
    json_decref(r.body);
    return out;
}

static void test_webhook_request(void) {
    unsigned int st;
    char csv[64];
    CHECK_STR_EQ(webhook_refusal("{\"url\": \"https://hooks.example.com/in\", \"events\": "
                                 "[\"schedule.published\", \"schedule.failed\"]}",
                                 false, &st, csv),
                 "");
    CHECK(st == 0);
    CHECK_STR_EQ(csv, "schedule.published,schedule.failed");
    CHECK_STR_EQ(
        webhook_refusal("{\"url\": \"https://h.example/\", \"events\": [\"*\"]}", false, &st, csv),
        "");
    CHECK_STR_EQ(csv, "*");
    /* Private and plain-http URLs: refused unless webhooks.allow_private. */
    const char *private_urls[] = {"http://127.0.0.1:9/h",
                                  "https://127.0.0.1/h",
                                  "https://10.1.2.3/h",
                                  "https://169.254.169.254/latest",
                                  "https://[::1]/h",
                                  "https://localhost/h",
                                  NULL};
    for (const char *const *u = private_urls; *u; u++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"url\": \"%s\", \"events\": [\"*\"]}", *u);
        const char *why = webhook_refusal(body, false, &st, csv);
        CHECK(st == 422 && strncmp(why, "url: ", 5) == 0);
        CHECK_STR_EQ(webhook_refusal(body, true, &st, csv), "");
    }
    CHECK_STR_EQ(
        webhook_refusal("{\"url\": \"ftp://h.example/\", \"events\": [\"*\"]}", true, &st, csv),
        "url: not an http(s) URL autopost accepts");
    CHECK_STR_EQ(webhook_refusal("{\"events\": [\"*\"]}", false, &st, csv),
                 "url: required: the endpoint's https URL");
    /* Events: present, a non-empty list of single, well-formed types. */
    const char *u = "{\"url\": \"https://h.example/\", ";
    char body[512];
    snprintf(body, sizeof(body), "%s\"events\": []}", u);
    CHECK(strncmp(webhook_refusal(body, false, &st, csv), "events: ", 8) == 0 && st == 422);
    snprintf(body, sizeof(body), "%s\"events\": \"*\"}", u);
    CHECK(strncmp(webhook_refusal(body, false, &st, csv), "events: ", 8) == 0);
    snprintf(body, sizeof(body), "%s\"events\": [\"schedule.published\", \"Bad\"]}", u);
    CHECK(strncmp(webhook_refusal(body, false, &st, csv), "events[1]: ", 11) == 0);
    snprintf(body, sizeof(body), "%s\"events\": [\"a,b\"]}", u);
    CHECK(strncmp(webhook_refusal(body, false, &st, csv), "events[0]: ", 11) == 0);
    snprintf(body, sizeof(body), "%s\"events\": [7]}", u);
    CHECK(strncmp(webhook_refusal(body, false, &st, csv), "events[0]: ", 11) == 0);
    /* Unknown fields, non-objects, bad JSON. */
    snprintf(body, sizeof(body), "%s\"events\": [\"*\"], \"secret\": \"mine\"}", u);
    CHECK_STR_EQ(webhook_refusal(body, false, &st, csv), "secret: unknown field");
    CHECK(strncmp(webhook_refusal("[1]", false, &st, csv), "body: ", 6) == 0 && st == 422);
    webhook_refusal("{not json", false, &st, csv);
    CHECK(st == 400);
}

/* Decodes body and returns the reply's first detail field ("" when the
 * body was accepted). */
static const char *decode_field(const char *body, unsigned int *status) {
    static char field[128];
    api_post_request pr;
    api_reply r = {0};
    bool ok = api_post_request_decode(&pr, body, strlen(body), &r);
    api_post_request_free(&pr);
    *status = ok ? 0 : r.status;
    json_t *d = json_array_get(json_object_get(json_object_get(r.body, "error"), "details"), 0);
    snprintf(field, sizeof(field), "%s",
             d ? json_string_value(json_object_get(d, "field")) : (ok ? "" : "-"));
    json_decref(r.body);
    return field;
}

#define ACC "\"0190a5b4-0000-7000-8000-000000000001\""

static void test_post_request(void) {
    unsigned int st;
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"hi\"}", &st), "");
    CHECK(st == 0);
    api_post_request pr;
    api_reply r = {0};
    const char *full = "{\"account_ids\": [" ACC "], \"text\": \"t\", \"link\": \"https://e.x/\","
                       " \"media\": [{\"url\": \"https://e.x/a.jpg\", \"type\": \"video\"}],"
                       " \"at\": \"2030-01-02T03:04:05Z\"}";
    CHECK(api_post_request_decode(&pr, full, strlen(full), &r));
    CHECK(pr.naccounts == 1 && pr.post->nmedia == 1 && !pr.post->at_now);
    CHECK(pr.post->media[0].type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO);
    api_post_request_free(&pr);
    const char *doc = "{\"account_ids\": [" ACC "], \"media\": [{\"url\": \"https://e.x/d.pdf\","
                      " \"type\": \"document\", \"alt_text\": \"Q3 deck\"}]}";
    CHECK(api_post_request_decode(&pr, doc, strlen(doc), &r));
    CHECK(pr.post->nmedia == 1 &&
          pr.post->media[0].type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT);
    api_post_request_free(&pr);

    CHECK_STR_EQ(decode_field("{\"text\": \"hi\"}", &st), "account_ids");
    CHECK(st == 422);
    CHECK_STR_EQ(decode_field("{\"account_ids\": [], \"text\": \"hi\"}", &st), "account_ids");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC ", \"x\"], \"text\": \"hi\"}", &st),
                 "account_ids[1]");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC ", " ACC "], \"text\": \"hi\"}", &st),
                 "account_ids[1]");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": 5}", &st), "text");
    CHECK_STR_EQ(
        decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"at\": \"soon\"}", &st), "at");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"link\": \"ftp://e.x/\"}", &st),
                 "link");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"media\": [{\"url\": "
                              "\"https://e.x/a\", \"type\": \"audio\"}]}",
                              &st),
                 "media[0].type");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"media\": [{}]}", &st),
                 "media[0].url");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"media\": [{\"url\": "
                              "\"file:///etc/passwd\"}]}",
                              &st),
                 "media[0]");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \" \"}", &st), "body");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"txt\": \"a\"}", &st), "txt");
    CHECK_STR_EQ(
        decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"text\": \"b\"}", &st), "-");
    CHECK(st == 400); /* duplicate keys are not JSON we accept */
    CHECK_STR_EQ(decode_field("[1]", &st), "body");
    CHECK(st == 422);
    CHECK_STR_EQ(decode_field("{", &st), "-");
    CHECK(st == 400);
}

/* "variants" (README "Variants"): decoded into the post, keys checked
 * against the accounts once they are all known, each 422 naming the
 * variant's field. */
#define ACC_ID "0190a5b4-0000-7000-8000-000000000001"
static void test_post_request_variants(void) {
    unsigned int st;
    api_post_request pr;
    api_reply r = {0};
    /* The variants key may come before account_ids: keys are checked last. */
    const char *ok = "{\"variants\": {\"" ACC_ID "\": {\"text\": \"mine\"}, \"x\": {\"media\": "
                     "[]}}, \"account_ids\": [" ACC "], \"text\": \"t\"}";
    CHECK(api_post_request_decode(&pr, ok, strlen(ok), &r));
    CHECK(pr.post->nvariants == 2);
    CHECK_STR_EQ(ctl_post_variant_for(pr.post, ACC_ID, "x")->text, "mine");
    CHECK(ctl_post_variant_for(pr.post, "0190a5b4-0000-7000-8000-000000000002", "x")->has_media);
    api_post_request_free(&pr);
#define BODY(v) "{\"account_ids\": [" ACC "], \"text\": \"t\", \"variants\": " v "}"
    CHECK_STR_EQ(decode_field(BODY("{\"myspace\": {\"text\": \"y\"}}"), &st), "variants.myspace");
    CHECK(st == 422);
    CHECK_STR_EQ(
        decode_field(BODY("{\"0190a5b4-0000-7000-8000-000000000009\": {\"text\": \"y\"}}"), &st),
        "variants.0190a5b4-0000-7000-8000-000000000009");
    CHECK_STR_EQ(decode_field(BODY("{\"x\": {\"text\": 5}}"), &st), "variants.x.text");
    CHECK_STR_EQ(decode_field(BODY("{\"x\": {\"link\": \"https://e.x\"}}"), &st), "variants.x");
    CHECK_STR_EQ(decode_field(BODY("{\"x\": {\"media\": [{\"url\": \"ftp://e.x/a\"}]}}"), &st),
                 "variants.x.media[0].url");
    CHECK_STR_EQ(decode_field(BODY("{\"x\": {\"media\": [{\"url\": \"https://e.x/a\", \"type\": "
                                   "\"audio\"}]}}"),
                              &st),
                 "variants.x.media[0].type");
    CHECK_STR_EQ(decode_field(BODY("{\"x\": {\"media\": {}}}"), &st), "variants.x.media");
    CHECK_STR_EQ(decode_field(BODY("{\"x\": {\"text\": \"\", \"media\": []}}"), &st), "variants.x");
    CHECK_STR_EQ(decode_field(BODY("[]"), &st), "variants");
    CHECK_STR_EQ(decode_field(BODY("{\"" ACC_ID "\": {\"text\": \"a\"}, \"0190A5B4-0000-7000-8000-"
                                   "000000000001\": {\"text\": \"b\"}}"),
                              &st),
                 "variants." ACC_ID);
    CHECK_STR_EQ(decode_field(BODY("null"), &st), "");
#undef BODY
}

/* "priority": normal (the default) or urgent; never on a series. */
static void test_post_request_priority(void) {
    unsigned int st;
    api_post_request pr;
    api_reply r = {0};
    const char *urgent = "{\"account_ids\": [" ACC "], \"text\": \"t\", \"priority\": \"urgent\"}";
    CHECK(api_post_request_decode(&pr, urgent, strlen(urgent), &r));
    CHECK(pr.post->urgent);
    api_post_request_free(&pr);
    const char *plain = "{\"account_ids\": [" ACC "], \"text\": \"t\", \"priority\": \"normal\"}";
    CHECK(api_post_request_decode(&pr, plain, strlen(plain), &r));
    CHECK(!pr.post->urgent);
    api_post_request_free(&pr);
    const char *none = "{\"account_ids\": [" ACC "], \"text\": \"t\"}";
    CHECK(api_post_request_decode(&pr, none, strlen(none), &r));
    CHECK(!pr.post->urgent);
    api_post_request_free(&pr);
    CHECK_STR_EQ(
        decode_field("{\"account_ids\": [" ACC "], \"text\": \"t\", \"priority\": \"asap\"}", &st),
        "priority");
    CHECK(st == 422);
    CHECK_STR_EQ(
        decode_field("{\"account_ids\": [" ACC "], \"text\": \"t\", \"priority\": 1}", &st),
        "priority");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"t\", \"priority\": "
                              "\"urgent\", \"recurrence\": {\"rrule\": \"FREQ=DAILY\", \"tz\": "
                              "\"UTC\", \"start\": \"2030-01-01T09:00:00\"}}",
                              &st),
                 "priority");
}

/* "deadline": RFC 3339, not earlier than "at" (422 on the field), not with
 * a recurrence. */
#define DL_BODY(at, dl)                                                                            \
    "{\"account_ids\": [" ACC "], \"text\": \"a\", \"at\": " at ", \"deadline\": " dl "}"
static void test_post_request_deadline(void) {
    unsigned int st;
    api_post_request pr;
    api_reply r = {0};
    const char *ok = DL_BODY("\"2030-01-02T03:04:05Z\"", "\"2030-01-02T04:04:05+01:00\"");
    CHECK(api_post_request_decode(&pr, ok, strlen(ok), &r));
    CHECK(pr.post->deadline_ms == pr.post->at_ms); /* the same instant: allowed */
    api_post_request_free(&pr);
    CHECK_STR_EQ(decode_field(DL_BODY("\"2030-01-02T03:04:05Z\"", "null"), &st), "");
    CHECK_STR_EQ(decode_field(DL_BODY("\"2030-01-02T03:04:05Z\"", "\"2030-01-02T03:04:04Z\""), &st),
                 "deadline");
    CHECK(st == 422);
    CHECK_STR_EQ(decode_field(DL_BODY("\"now\"", "\"2020-01-01T00:00:00Z\""), &st), "deadline");
    CHECK(st == 422);
    CHECK_STR_EQ(decode_field(DL_BODY("\"now\"", "\"tomorrow\""), &st), "deadline");
    CHECK_STR_EQ(decode_field(DL_BODY("\"now\"", "17"), &st), "deadline");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"deadline\": "
                              "\"2030-01-02T03:04:05Z\", \"recurrence\": {\"rrule\": "
                              "\"FREQ=DAILY\", \"tz\": \"UTC\", \"start\": "
                              "\"2030-01-01T09:00:00\"}}",
                              &st),
                 "deadline");
    CHECK(st == 422);
}

/* "recurrence" instead of "at": all three fields, checked by ap_recur,
 * never with "at"; api_recurrence_check adds api.min_recurrence_interval. */
#define REC_BODY(rec) "{\"account_ids\": [" ACC "], \"text\": \"a\", \"recurrence\": " rec "}"
static void test_post_request_recurrence(void) {
    unsigned int st;
    const char *good = REC_BODY("{\"rrule\": \"FREQ=DAILY;COUNT=3\", \"tz\": "
                                "\"America/New_York\", \"start\": \"2027-03-13T09:00:00\"}");
    api_post_request pr;
    api_reply r = {0};
    CHECK(api_post_request_decode(&pr, good, strlen(good), &r));
    CHECK_STR_EQ(pr.recur_rrule, "FREQ=DAILY;COUNT=3");
    CHECK_STR_EQ(pr.recur_tz, "America/New_York");
    CHECK_STR_EQ(pr.recur_start, "2027-03-13T09:00:00");
    CHECK(api_recurrence_check(&pr, 60000, 0, &r));
    api_post_request_free(&pr);

    const char *minutely = REC_BODY("{\"rrule\": \"FREQ=MINUTELY;INTERVAL=1\", \"tz\": \"UTC\", "
                                    "\"start\": \"2027-01-01T00:00:00\"}");
    CHECK(api_post_request_decode(&pr, minutely, strlen(minutely), &r));
    CHECK(api_recurrence_check(&pr, 60000, 0, &r)); /* exactly the bound is allowed */
    r = (api_reply){0};
    CHECK(!api_recurrence_check(&pr, 120000, 0, &r));
    CHECK(r.status == 422);
    json_t *d = json_array_get(json_object_get(json_object_get(r.body, "error"), "details"), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(d, "field")), "recurrence.rrule");
    json_decref(r.body);
    api_post_request_free(&pr);

    CHECK_STR_EQ(decode_field(REC_BODY("{\"rrule\": \"FREQ=DAILY\", \"tz\": \"Mars/Olympus\", "
                                       "\"start\": \"2027-01-01T09:00:00\"}"),
                              &st),
                 "recurrence.tz");
    CHECK(st == 422);
    CHECK_STR_EQ(decode_field(REC_BODY("{\"rrule\": \"FREQ=SOMETIMES\", \"tz\": \"UTC\", "
                                       "\"start\": \"2027-01-01T09:00:00\"}"),
                              &st),
                 "recurrence.rrule");
    /* 02:30 on the day New York springs forward does not exist. */
    CHECK_STR_EQ(decode_field(REC_BODY("{\"rrule\": \"FREQ=DAILY\", \"tz\": "
                                       "\"America/New_York\", \"start\": \"2027-03-14T02:30:00\"}"),
                              &st),
                 "recurrence.start");
    CHECK_STR_EQ(decode_field(REC_BODY("{\"rrule\": \"FREQ=DAILY\", \"tz\": \"UTC\"}"), &st),
                 "recurrence.start");
    CHECK_STR_EQ(decode_field(REC_BODY("{\"rrule\": \"FREQ=DAILY\", \"tz\": \"UTC\", \"start\": "
                                       "\"2027-01-01T09:00:00\", \"every\": 1}"),
                              &st),
                 "recurrence");
    CHECK_STR_EQ(decode_field(REC_BODY("{\"rrule\": 5, \"tz\": \"UTC\", \"start\": "
                                       "\"2027-01-01T09:00:00\"}"),
                              &st),
                 "recurrence.rrule");
    CHECK_STR_EQ(decode_field(REC_BODY("\"FREQ=DAILY\""), &st), "recurrence");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"at\": "
                              "\"2030-01-02T03:04:05Z\", \"recurrence\": {\"rrule\": "
                              "\"FREQ=DAILY\", \"tz\": \"UTC\", \"start\": "
                              "\"2030-01-01T09:00:00\"}}",
                              &st),
                 "recurrence");
    CHECK(st == 422);
    /* "at": null is no "at". */
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"at\": null, "
                              "\"recurrence\": {\"rrule\": \"FREQ=DAILY\", \"tz\": \"UTC\", "
                              "\"start\": \"2030-01-01T09:00:00\"}}",
                              &st),
                 "");
}

static void test_error_shape(void) {
    api_reply r = api_error(422, "validation_failed", "bad %s", "thing");
    api_error_detail(&r, "text", "too long");
    char *s = json_dumps(r.body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR_EQ(s, "{\"error\":{\"code\":\"validation_failed\",\"message\":\"bad thing\","
                    "\"details\":[{\"field\":\"text\",\"reason\":\"too long\"}]}}");
    free(s);
    json_decref(r.body);
}

/* A body whose parse error quotes bytes that are not UTF-8 still gets the
 * error shape (json_pack refuses such strings: the answer was empty). */
static void test_error_not_utf8(void) {
    unsigned int st;
    /* An escape followed by a lone lead byte (the fuzzer's find). */
    const char body[] = "{\"link\": \"https\\\xdd\x82\xa2\"}";
    CHECK_STR_EQ(decode_field(body, &st), "-");
    CHECK(st == 400);
    api_reply r = api_error(400, "invalid_json", "bad \xff byte");
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(r.body, "error"), "message")),
                 "bad ? byte");
    json_decref(r.body);
    r = api_error(422, "validation_failed", "x");
    api_error_detail(&r, "f\xc3", "r\xe2\x82");
    json_t *d = json_array_get(json_object_get(json_object_get(r.body, "error"), "details"), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(d, "field")), "f?");
    CHECK_STR_EQ(json_string_value(json_object_get(d, "reason")), "r??");
    json_decref(r.body);
}

static void test_ratelimit(void) {
    api_ratelimit *rl = api_ratelimit_new(2, 3);
    int retry = 0;
    for (int i = 0; i < 3; i++) CHECK(api_ratelimit_take(rl, "k1", 1000, &retry));
    CHECK(!api_ratelimit_take(rl, "k1", 1000, &retry));
    CHECK(retry == 1);
    CHECK(api_ratelimit_take(rl, "k2", 1000, &retry)); /* another key has its own bucket */
    CHECK(api_ratelimit_take(rl, "k1", 1500, &retry)); /* 0.5 s at 2/s: one token back */
    CHECK(!api_ratelimit_take(rl, "k1", 1500, &retry));
    api_ratelimit_free(rl);
    rl = api_ratelimit_new(0.1, 1); /* one every 10 s */
    CHECK(api_ratelimit_take(rl, "k", 0, &retry));
    CHECK(!api_ratelimit_take(rl, "k", 0, &retry));
    CHECK(retry == 10);
    api_ratelimit_free(rl);
}

static void test_apikey(void) {
    char a[AP_APIKEY_LEN + 1], b[AP_APIKEY_LEN + 1], h[AP_APIKEY_HASH_HEX_LEN + 1];
    CHECK(ap_apikey_generate(a) && ap_apikey_generate(b));
    CHECK(strlen(a) == 68 && strncmp(a, "apk_", 4) == 0 && strcmp(a, b) != 0);
    CHECK(ap_apikey_well_formed(a));
    CHECK(!ap_apikey_well_formed("apk_"));
    a[10] = 'G';
    CHECK(!ap_apikey_well_formed(a));
    ap_apikey_hash_hex("abc", h); /* the SHA-256 test vector */
    CHECK_STR_EQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* README "Threads and first comments": the fields decode into the post
 * model; shape errors name the part. Per-platform rules (thread[3].text too
 * long) are ctl_post_validate_platform's, in test_chain.c. */
static void test_post_request_thread(void) {
    unsigned int st;
    api_post_request pr;
    api_reply r = {0};
    const char *ok =
        "{\"account_ids\": [" ACC "], \"text\": \"1/3\", \"thread\": [{\"text\": "
        "\"2/3\"}, {\"text\": \"3/3\", \"media\": [{\"url\": \"https://e.x/a.jpg\"}]}],"
        " \"first_comment\": \"thanks\"}";
    CHECK(api_post_request_decode(&pr, ok, strlen(ok), &r));
    CHECK(pr.post->thread.n == 2 && pr.post->thread.parts[1].n_media == 1);
    CHECK_STR_EQ(pr.post->thread.parts[0].text, "2/3");
    CHECK_STR_EQ(pr.post->first_comment, "thanks");
    api_post_request_free(&pr);
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"thread\": "
                              "[{\"text\": \"b\"}, {\"txt\": \"c\"}]}",
                              &st),
                 "thread[1]");
    CHECK(st == 422);
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"thread\": "
                              "[{\"text\": 5}]}",
                              &st),
                 "thread[0].text");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"thread\": "
                              "[{\"text\": \"b\", \"media\": [{\"url\": \"https://e.x/\", "
                              "\"type\": \"pdf\"}]}]}",
                              &st),
                 "thread[0].media[0].type");
    CHECK_STR_EQ(
        decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"first_comment\": 3}", &st),
        "first_comment");
    CHECK_STR_EQ(decode_field("{\"account_ids\": [" ACC "], \"text\": \"a\", \"thread\": "
                              "[{\"text\": \"b\"}], \"recurrence\": {\"rrule\": \"FREQ=DAILY\", "
                              "\"tz\": \"UTC\", \"start\": \"2030-01-01T09:00:00\"}}",
                              &st),
                 "thread");
}

int main(void) {
    RUN(test_routes_match_openapi);
    RUN(test_post_request_thread);
    RUN(test_route_find);
    RUN(test_post_request);
    RUN(test_post_request_priority);
    RUN(test_post_request_variants);
    RUN(test_post_request_recurrence);
    RUN(test_post_request_deadline);
    RUN(test_webhook_request);
    RUN(test_error_shape);
    RUN(test_error_not_utf8);
    RUN(test_ratelimit);
    RUN(test_apikey);
    return TEST_RESULT();
}
