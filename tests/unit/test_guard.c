/* test_guard.c -- the attempt record's one-line value (publishers/engine/guard.c),
 * its key and $KV subject, and the takeover window. The KV calls need a
 * server and are covered by the e2e tests (test_takeover_fence, test_ctl). */
#include <string.h>

#include "guard.h"
#include "test.h"

static ap_guard_record record(ap_guard_state state, int attempt, long long at_ms) {
    ap_guard_record r;
    memset(&r, 0, sizeof(r));
    r.state = state;
    r.attempt = attempt;
    r.at_ms = at_ms;
    return r;
}

static int parse(const char *value, ap_guard_record *out) {
    return ap_guard_parse(value, strlen(value), out);
}

static void test_format(void) {
    char buf[256];
    ap_guard_record r = record(AP_GUARD_STARTED, 2, 1795856400000LL);
    ap_guard_format(buf, sizeof(buf), &r, "pub-7");
    CHECK_STR_EQ(buf, "started attempt=2 at=1795856400000 by=pub-7");
    ap_guard_format(buf, sizeof(buf), &r, NULL);
    CHECK_STR_EQ(buf, "started attempt=2 at=1795856400000 by=-");
}

static void test_round_trip_every_stored_state(void) {
    /* NONE (no record) and UNKNOWN (unreadable) are never written. */
    for (int s = AP_GUARD_STARTED; s <= AP_GUARD_EXPIRED; s++) {
        char buf[256];
        ap_guard_record in = record((ap_guard_state)s, s + 1, 1795856400000LL + s), out;
        ap_guard_format(buf, sizeof(buf), &in, "pub-1");
        CHECK(parse(buf, &out) == 0);
        CHECK(out.state == in.state);
        CHECK(out.attempt == in.attempt);
        CHECK(out.at_ms == in.at_ms);
        CHECK_STR_EQ(out.external_id, "");
        CHECK(strncmp(buf, ap_guard_state_name(in.state), strlen(ap_guard_state_name(in.state))) ==
              0);
    }
}

static void test_published_carries_id(void) {
    char buf[256];
    ap_guard_record in = record(AP_GUARD_PUBLISHED, 1, 1795856400000LL), out;
    snprintf(in.external_id, sizeof(in.external_id), "1234567890_998877");
    ap_guard_format(buf, sizeof(buf), &in, "pub-1");
    CHECK_STR_EQ(buf, "published attempt=1 at=1795856400000 by=pub-1 id=1234567890_998877");
    CHECK(parse(buf, &out) == 0);
    CHECK(out.state == AP_GUARD_PUBLISHED);
    CHECK_STR_EQ(out.external_id, "1234567890_998877");
    /* Only "published" records an id. */
    in.state = AP_GUARD_FAILED;
    ap_guard_format(buf, sizeof(buf), &in, "pub-1");
    CHECK(strstr(buf, "id=") == NULL);
}

static void test_started_ended(void) {
    char buf[256];
    ap_guard_record in = record(AP_GUARD_STARTED, 3, 1795856400000LL), out;
    in.ended = true;
    ap_guard_format(buf, sizeof(buf), &in, "pub-2");
    CHECK_STR_EQ(buf, "started attempt=3 at=1795856400000 by=pub-2 ended=1");
    CHECK(parse(buf, &out) == 0);
    CHECK(out.state == AP_GUARD_STARTED && out.ended && out.attempt == 3);
    /* Without the word (an older publisher's record) a call may be live. */
    CHECK(parse("started attempt=3 at=1795856400000 by=pub-2", &out) == 0);
    CHECK(!out.ended);
    /* Only "started" says it. */
    in.state = AP_GUARD_RETRY;
    ap_guard_format(buf, sizeof(buf), &in, "pub-2");
    CHECK(strstr(buf, "ended") == NULL);
}

static void test_format_truncates_safely(void) {
    char buf[16];
    ap_guard_record r = record(AP_GUARD_PUBLISHED, 1, 1795856400000LL);
    snprintf(r.external_id, sizeof(r.external_id), "123");
    ap_guard_format(buf, sizeof(buf), &r, "pub-1");
    CHECK(strlen(buf) == sizeof(buf) - 1);
}

static void test_parse_unknown_word(void) {
    ap_guard_record out;
    CHECK(parse("posted attempt=1 at=5 by=x", &out) == -1);
    CHECK(out.state == AP_GUARD_UNKNOWN);
    CHECK(parse("none attempt=1", &out) == -1);
    CHECK(parse("unknown", &out) == -1);
    CHECK(parse("Started attempt=1", &out) == -1);
    CHECK(parse("", &out) == -1);
    CHECK(parse("   ", &out) == -1);
}

static void test_parse_tolerates_missing_and_extra_fields(void) {
    ap_guard_record out;
    CHECK(parse("retry", &out) == 0);
    CHECK(out.state == AP_GUARD_RETRY && out.attempt == 0 && out.at_ms == 0);
    CHECK(parse("cancelled by=ctl reason=user future=1", &out) == 0);
    CHECK(out.state == AP_GUARD_CANCELLED);
}

static void test_parse_respects_length(void) {
    /* The KV value is not NUL-terminated: only len bytes count. */
    ap_guard_record out;
    const char value[] = "failed attempt=3 at=42 by=x";
    CHECK(ap_guard_parse(value, 6, &out) == 0);
    CHECK(out.state == AP_GUARD_FAILED && out.attempt == 0);
    CHECK(ap_guard_parse("startedXX", 7, &out) == 0);
    CHECK(out.state == AP_GUARD_STARTED);
}

static void test_parse_rejects_overlong(void) {
    /* The value's room grew with a chain's ids (AP_GUARD_VALUE_LEN). */
    char big[AP_GUARD_VALUE_LEN * 2];
    memset(big, 'x', sizeof(big));
    memcpy(big, "started ", 8);
    ap_guard_record out;
    CHECK(ap_guard_parse(big, AP_GUARD_VALUE_LEN, &out) == -1);
    CHECK(ap_guard_parse(big, sizeof(big), &out) == -1);
    CHECK(out.state == AP_GUARD_UNKNOWN);
    big[AP_GUARD_VALUE_LEN - 2] = '\0';
    CHECK(ap_guard_parse(big, AP_GUARD_VALUE_LEN - 1, &out) == 0);
}

static void test_long_id_is_truncated_not_overflowed(void) {
    char value[400];
    ap_guard_record out;
    memset(value, '7', sizeof(value));
    memcpy(value, "published id=", 13);
    value[sizeof(value) - 1] = '\0';
    CHECK(parse(value, &out) == 0);
    CHECK(strlen(out.external_id) == sizeof(out.external_id) - 1);
}

static void test_state_names(void) {
    CHECK_STR_EQ(ap_guard_state_name(AP_GUARD_NONE), "none");
    CHECK_STR_EQ(ap_guard_state_name(AP_GUARD_UNCONFIRMED), "unconfirmed");
    CHECK_STR_EQ(ap_guard_state_name(AP_GUARD_UNKNOWN), "unknown");
    CHECK_STR_EQ(ap_guard_state_name((ap_guard_state)99), "unknown");
}

static void test_key(void) {
    char buf[64];
    CHECK(ap_guard_key(buf, sizeof(buf), "0b6f0c1e-2f3a-4d5b-8c9d-0e1f2a3b4c5d", "3") == AP_OK);
    CHECK_STR_EQ(buf, "0b6f0c1e-2f3a-4d5b-8c9d-0e1f2a3b4c5d-3");
    /* A key that does not fit is refused, never cut (it would name another record). */
    char small[8];
    CHECK(ap_guard_key(small, sizeof(small), "0b6f0c1e", "3") == AP_EINVAL);
}

static void test_message_is_a_kv_write(void) {
    natsMsg *m = NULL;
    ap_guard_record r = record(AP_GUARD_STARTED, 1, 1795856400000LL);
    CHECK(ap_guard_message(&m, "autopost_attempts_x", "abc-1", &r, "pub-2") == AP_OK);
    CHECK(m != NULL);
    if (m == NULL) return;
    CHECK_STR_EQ(natsMsg_GetSubject(m), "$KV.autopost_attempts_x.abc-1");
    CHECK(natsMsg_GetDataLength(m) == (int)strlen("started attempt=1 at=1795856400000 by=pub-2"));
    CHECK(memcmp(natsMsg_GetData(m), "started attempt=1 at=1795856400000 by=pub-2",
                 (size_t)natsMsg_GetDataLength(m)) == 0);
    natsMsg_Destroy(m);
    char key[200];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    CHECK(ap_guard_message(&m, "autopost_attempts_x", key, &r, "pub-2") == AP_EINVAL);
    CHECK(m == NULL);
}

static void test_takeover_window(void) {
    /* 2 x the platform timeout + 5 s (guard.h). */
    CHECK(ap_guard_takeover_window_ms(30000) == 65000);
    CHECK(ap_guard_takeover_window_ms(0) == 5000);
}

int main(void) {
    if (nats_Open(-1) != NATS_OK) return 1; /* natsMsg_Create needs it, not a server */
    RUN(test_format);
    RUN(test_round_trip_every_stored_state);
    RUN(test_published_carries_id);
    RUN(test_started_ended);
    RUN(test_format_truncates_safely);
    RUN(test_parse_unknown_word);
    RUN(test_parse_tolerates_missing_and_extra_fields);
    RUN(test_parse_respects_length);
    RUN(test_parse_rejects_overlong);
    RUN(test_long_id_is_truncated_not_overflowed);
    RUN(test_state_names);
    RUN(test_key);
    RUN(test_message_is_a_kv_write);
    RUN(test_takeover_window);
    nats_Close();
    return TEST_RESULT();
}
