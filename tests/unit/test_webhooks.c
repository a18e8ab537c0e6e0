/* test_webhooks.c -- the webhook service's no-I/O parts: the signature
 * header (webhooks/signature.c), backoff and give-up (webhooks/retry.c),
 * what an AUTOPOST_EVENTS message must be (webhooks/event.c) and which
 * URLs and event types an endpoint may have (webhooks/endpoints.c). */
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "event.h"
#include "retry.h"
#include "signature.h"
#include "test.h"

#define SECRET "whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TENANT "00000000-0000-0000-0000-000000000001"
#define EVENT_ID "0190f3a2-7b1c-7d4e-8f00-0123456789ab"

/* Expected value from the openssl CLI, as a receiver would compute it:
 * printf '%s' '1700000000.{"id":"x"}' | openssl dgst -sha256 -hmac "$SECRET" */
static void test_signature_known_vector(void) {
    char out[WH_SIGNATURE_HEADER_MAX];
    const char *body = "{\"id\":\"x\"}";
    CHECK(wh_signature_header(SECRET, strlen(SECRET), 1700000000, body, strlen(body), out,
                              sizeof(out)) == AP_OK);
    CHECK_STR_EQ(out, "t=1700000000,v1="
                      "da620e0edccca4d4b1aa1a70ac0dc611b160fe5d0869b73dd628ed91f6105eae");
}

static void test_signature_covers_time_body_and_secret(void) {
    char a[WH_SIGNATURE_HEADER_MAX], b[WH_SIGNATURE_HEADER_MAX];
    const char *body = "{\"id\":\"x\"}";
    CHECK(wh_signature_header(SECRET, strlen(SECRET), 1700000000, body, strlen(body), a,
                              sizeof(a)) == AP_OK);
    CHECK(wh_signature_header(SECRET, strlen(SECRET), 1700000001, body, strlen(body), b,
                              sizeof(b)) == AP_OK);
    CHECK(strcmp(strchr(a, ','), strchr(b, ',')) != 0);
    CHECK(wh_signature_header(SECRET, strlen(SECRET), 1700000000, "{\"id\":\"y\"}", 10, b,
                              sizeof(b)) == AP_OK);
    CHECK(strcmp(a, b) != 0);
    CHECK(wh_signature_header(SECRET, strlen(SECRET) - 1, 1700000000, body, strlen(body), b,
                              sizeof(b)) == AP_OK);
    CHECK(strcmp(a, b) != 0);
    /* A buffer too small and a negative time are refused, not cut. */
    CHECK(wh_signature_header(SECRET, strlen(SECRET), 1700000000, body, strlen(body), b, 20) ==
          AP_EINVAL);
    CHECK(wh_signature_header(SECRET, strlen(SECRET), -1, body, strlen(body), b, sizeof(b)) ==
          AP_EINVAL);
}

static void test_secret_shape(void) {
    char s1[WH_SECRET_LEN + 1], s2[WH_SECRET_LEN + 1];
    CHECK(wh_secret_generate(s1) == AP_OK);
    CHECK(wh_secret_generate(s2) == AP_OK);
    CHECK(strlen(s1) == WH_SECRET_LEN);
    CHECK(strncmp(s1, WH_SECRET_PREFIX, strlen(WH_SECRET_PREFIX)) == 0);
    CHECK(strspn(s1 + strlen(WH_SECRET_PREFIX), "0123456789abcdef") == 64);
    CHECK(strcmp(s1, s2) != 0);
}

static const wh_retry_policy defaults = {5000, 3600 * 1000, 24 * 3600 * 1000LL};

static void test_backoff_doubles_to_the_ceiling(void) {
    CHECK(wh_retry_cap_ms(&defaults, 1) == 5000);
    CHECK(wh_retry_cap_ms(&defaults, 2) == 10000);
    CHECK(wh_retry_cap_ms(&defaults, 3) == 20000);
    CHECK(wh_retry_cap_ms(&defaults, 10) == 5000LL << 9);
    CHECK(wh_retry_cap_ms(&defaults, 11) == 3600 * 1000); /* 5120 s > 1 h */
    CHECK(wh_retry_cap_ms(&defaults, 1000000) == 3600 * 1000);
    wh_retry_policy odd = {7000, 5000, 1000};
    CHECK(wh_retry_cap_ms(&odd, 1) == 5000); /* initial above the ceiling */
}

static void test_backoff_full_jitter(void) {
    /* uniform in [0, cap]: the extremes are reachable, nothing beyond. */
    CHECK(wh_retry_delay_ms(&defaults, 1, 0) == 0);
    CHECK(wh_retry_delay_ms(&defaults, 1, 5000) == 5000);
    CHECK(wh_retry_delay_ms(&defaults, 1, 5001) == 0);
    CHECK(wh_retry_delay_ms(&defaults, 3, UINT64_MAX) <= 20000);
    for (uint64_t r = 0; r < 100000; r += 997) {
        int64_t d = wh_retry_delay_ms(&defaults, 30, r * 2654435761u);
        CHECK(d >= 0 && d <= 3600 * 1000);
    }
}

static void test_decide(void) {
    int64_t next = -1, t0 = 1000000;
    CHECK(wh_retry_decide(&defaults, 200, 1, t0, t0 + 10, 0, &next) == WH_DELIVERED);
    CHECK(wh_retry_decide(&defaults, 204, 1, t0, t0 + 10, 0, &next) == WH_DELIVERED);
    CHECK(wh_retry_decide(&defaults, 299, 1, t0, t0 + 10, 0, &next) == WH_DELIVERED);
    CHECK(next == -1);
    /* Not 2xx, or no answer at all: retried within the first cap. */
    const long again[] = {0, 199, 300, 301, 400, 410, 500, 503};
    for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
        next = -1;
        CHECK(wh_retry_decide(&defaults, again[i], 1, t0, t0 + 10, 4999, &next) == WH_RETRY);
        CHECK(next == t0 + 10 + 4999);
    }
    /* Age, not the count, ends it: just before the window still retries. */
    int64_t day = 24 * 3600 * 1000LL;
    CHECK(wh_retry_decide(&defaults, 500, 40, t0, t0 + day - 1, 0, &next) == WH_RETRY);
    CHECK(wh_retry_decide(&defaults, 500, 40, t0, t0 + day, 0, &next) == WH_GIVE_UP);
    CHECK(wh_retry_decide(&defaults, 0, 2, t0, t0 + day + 5, 0, &next) == WH_GIVE_UP);
    /* A success after the window is still a success. */
    CHECK(wh_retry_decide(&defaults, 200, 50, t0, t0 + 2 * day, 0, &next) == WH_DELIVERED);
}

static ap_status parse(const char *subject, const char *msg_id, const char *body, wh_event *ev) {
    char err[160];
    return wh_event_parse(subject, msg_id, body, strlen(body), ev, err, sizeof(err));
}

#define BODY(tenant, type)                                                                         \
    "{\"id\": \"" EVENT_ID "\", \"type\": \"" type "\", \"created_at\": "                          \
    "\"2026-12-06T03:00:00.000Z\", \"tenant_id\": \"" tenant "\", \"data\": {}}"
#define SUBJECT(tenant, type) WH_EVENTS_SUBJECT_PREFIX tenant "." type

static void test_event_accepted(void) {
    wh_event ev;
    CHECK(parse(SUBJECT(TENANT, "schedule.published"), EVENT_ID, BODY(TENANT, "schedule.published"),
                &ev) == AP_OK);
    CHECK_STR_EQ(ev.id, EVENT_ID);
    CHECK_STR_EQ(ev.tenant_id, TENANT);
    CHECK_STR_EQ(ev.type, "schedule.published");
    /* No Nats-Msg-Id header is fine (the subject and body still agree). */
    CHECK(parse(SUBJECT(TENANT, "account.reauth_required"), NULL,
                BODY(TENANT, "account.reauth_required"), &ev) == AP_OK);
}

static void test_event_refused(void) {
    wh_event ev;
    /* The subject names another tenant than the body: never guess. */
    CHECK(parse(WH_EVENTS_SUBJECT_PREFIX "00000000-0000-0000-0000-000000000002.schedule.published",
                EVENT_ID, BODY(TENANT, "schedule.published"), &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT(TENANT, "schedule.failed"), EVENT_ID, BODY(TENANT, "schedule.published"),
                &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT(TENANT, "schedule.published"), "0190f3a2-7b1c-7d4e-8f00-000000000000",
                BODY(TENANT, "schedule.published"), &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT(TENANT, "*"), EVENT_ID, BODY(TENANT, "*"), &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT(TENANT, "a,b"), EVENT_ID, BODY(TENANT, "a,b"), &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT("not-a-uuid", "x"), EVENT_ID, BODY("not-a-uuid", "x"), &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT(TENANT, "x"), NULL, "[]", &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT(TENANT, "x"), NULL, "{\"id\": 1}", &ev) == AP_EINVAL);
    CHECK(parse(SUBJECT(TENANT, "x"), NULL, "not json", &ev) == AP_EINVAL);
    const char with_nul[] = "{\"id\": \"" EVENT_ID "\"}\0 ";
    char err[160];
    CHECK(wh_event_parse(SUBJECT(TENANT, "x"), NULL, with_nul, sizeof(with_nul) - 1, &ev, err,
                         sizeof(err)) == AP_EINVAL);
    CHECK(wh_event_parse(SUBJECT(TENANT, "x"), NULL, "", 0, &ev, err, sizeof(err)) == AP_EINVAL);
}

static bool url_ok(const char *url, bool allow_private) {
    char err[160];
    return wh_endpoint_url_check(url, allow_private, err, sizeof(err)) == AP_OK;
}

/* A delivery's traceparent: the schedule event's trace id, a new span. */
static void test_event_trace(void) {
    ap_trace t;
    char sid[AP_UUID_TEXT_LEN + 1], tp[AP_TRACEPARENT_LEN + 1];
    const char *traced = "{\"id\": \"e\", \"data\": {\"schedule\": {\"id\": "
                         "\"0E8CD25A-4EA1-49D1-A3F0-0BE633296B0C\", \"trace_id\": "
                         "\"4bf92f3577b34da6a3ce929d0e0e4736\"}}}";
    CHECK(wh_event_trace(traced, &t, sid));
    CHECK_STR_EQ(sid, "0e8cd25a-4ea1-49d1-a3f0-0be633296b0c");
    CHECK_STR_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(ap_trace_format(&t, tp, sizeof(tp)));
    CHECK(strncmp(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0);
    CHECK_STR_EQ(tp + 52, "-01");
    ap_trace again;
    CHECK(wh_event_trace(traced, &again, sid));
    CHECK(strcmp(again.span_id, t.span_id) != 0); /* a span per attempt */

    /* No trace: none sent, but the schedule id still names the lines. */
    CHECK(!wh_event_trace("{\"data\": {\"schedule\": {\"id\": "
                          "\"0e8cd25a-4ea1-49d1-a3f0-0be633296b0c\", \"trace_id\": null}}}",
                          &t, sid));
    CHECK_STR_EQ(sid, "0e8cd25a-4ea1-49d1-a3f0-0be633296b0c");
    CHECK(t.trace_id[0] == '\0');
    CHECK(!wh_event_trace("{\"data\": {\"schedule\": {\"trace_id\": "
                          "\"4BF92F3577B34DA6A3CE929D0E0E4736\"}}}",
                          &t, sid));
    CHECK(sid[0] == '\0');
    CHECK(!wh_event_trace("{\"data\": {\"account\": {\"id\": \"a\"}}}", &t, sid));
    CHECK(!wh_event_trace("not json", &t, sid));
    CHECK(!wh_event_trace(NULL, &t, sid));
}

static void test_endpoint_urls(void) {
    CHECK(url_ok("https://hooks.example.com/autopost", false));
    CHECK(url_ok("https://93.184.216.34/x", false));
    CHECK(!url_ok("http://hooks.example.com/autopost", false)); /* https only */
    CHECK(!url_ok("https://127.0.0.1:9000/", false));
    CHECK(!url_ok("https://localhost/", false));
    CHECK(!url_ok("https://10.1.2.3/", false));
    CHECK(!url_ok("https://169.254.169.254/latest/meta-data", false));
    CHECK(!url_ok("https://[::1]/", false));
    CHECK(!url_ok("https://[fd00:ec2::254]/", false));
    CHECK(!url_ok("https://[::ffff:10.0.0.1]/", false));
    CHECK(!url_ok("ftp://hooks.example.com/", false));
    CHECK(!url_ok("https://exa mple.com/", false));
    CHECK(!url_ok(NULL, false));
    /* Tests and development: loopback over http. */
    CHECK(url_ok("http://127.0.0.1:9000/hook", true));
    CHECK(!url_ok("ftp://127.0.0.1/", true));
}

static void test_event_types(void) {
    char err[160];
    CHECK(wh_event_types_check("schedule.published", err, sizeof(err)) == AP_OK);
    CHECK(wh_event_types_check("schedule.published,schedule.failed", err, sizeof(err)) == AP_OK);
    CHECK(wh_event_types_check("*", err, sizeof(err)) == AP_OK);
    CHECK(wh_event_types_check("", err, sizeof(err)) == AP_EINVAL);
    CHECK(wh_event_types_check("a,,b", err, sizeof(err)) == AP_EINVAL);
    CHECK(wh_event_types_check("Schedule.Published", err, sizeof(err)) == AP_EINVAL);
    CHECK(wh_event_types_check("a}", err, sizeof(err)) == AP_EINVAL); /* array literal */
    CHECK(wh_event_types_check("a\"b", err, sizeof(err)) == AP_EINVAL);
    char many[WH_MAX_EVENT_TYPES * 2 + 8] = "";
    for (int i = 0; i <= WH_MAX_EVENT_TYPES; i++) strcat(many, i ? ",a" : "a");
    CHECK(wh_event_types_check(many, err, sizeof(err)) == AP_EINVAL);
}

int main(void) {
    RUN(test_signature_known_vector);
    RUN(test_signature_covers_time_body_and_secret);
    RUN(test_secret_shape);
    RUN(test_backoff_doubles_to_the_ceiling);
    RUN(test_backoff_full_jitter);
    RUN(test_decide);
    RUN(test_event_accepted);
    RUN(test_event_refused);
    RUN(test_event_trace);
    RUN(test_endpoint_urls);
    RUN(test_event_types);
    return TEST_RESULT();
}
