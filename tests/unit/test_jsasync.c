/* test_jsasync.c -- the engine's asynchronous KV read
 * (publishers/engine/jsasync.c): how a direct get's reply becomes an event.
 * A record read wrongly would start a second post (a "published" taken for
 * absent) or stall a job (an answer taken for a failure), so every reply
 * the server gives is decoded here without a network. The check of a resent
 * compare-and-set reads from the stream's leader instead (kv_leader_read.h):
 * its JSON replies are the ones nats-server 2.9 sent for a stored value and
 * a missing key. */
#include "jsasync.h"
#include "kv_leader_read.h"
#include "test.h"

#include <stdlib.h>

static natsMsg *reply(const char *data, const char *const *headers) {
    natsMsg *m = NULL;
    if (natsMsg_Create(&m, "_INBOX.x.1", NULL, data, data ? (int)strlen(data) : 0) != NATS_OK)
        return NULL;
    for (int i = 0; headers && headers[i]; i += 2)
        if (natsMsgHeader_Set(m, headers[i], headers[i + 1]) != NATS_OK) {
            natsMsg_Destroy(m);
            return NULL;
        }
    return m;
}

static void test_a_stored_value(void) {
    const char *const h[] = {"Nats-Stream",
                             "KV_autopost_attempts_x",
                             "Nats-Subject",
                             "$KV.autopost_attempts_x.s-1",
                             "Nats-Sequence",
                             "42",
                             NULL};
    natsMsg *m = reply("published attempt=1 at=5 by=a id=99", h);
    CHECK(m != NULL);
    ap_js_done d = {0};
    ap_jsasync_decode_get_reply(m, &d);
    CHECK(d.ok && d.found);
    CHECK(d.seq == 42);
    CHECK(d.value_len == 35);
    CHECK_STR_EQ(d.value, "published attempt=1 at=5 by=a id=99");
    ap_js_done_clear(&d);
    CHECK(d.value == NULL);
    natsMsg_Destroy(m);
}

static void test_not_found_is_an_answer(void) {
    const char *const h[] = {"Status", "404", "Description", "Message Not Found", NULL};
    natsMsg *m = reply(NULL, h);
    ap_js_done d = {0};
    ap_jsasync_decode_get_reply(m, &d);
    CHECK(d.ok && !d.found);
    CHECK(d.value == NULL);
    natsMsg_Destroy(m);
}

static void test_a_delete_marker_has_no_value(void) {
    const char *const h[] = {"Nats-Sequence", "7", "KV-Operation", "DEL", NULL};
    natsMsg *m = reply(NULL, h);
    ap_js_done d = {0};
    ap_jsasync_decode_get_reply(m, &d);
    CHECK(d.ok && !d.found);
    natsMsg_Destroy(m);
    const char *const purge[] = {"Nats-Sequence", "8", "KV-Operation", "PURGE", NULL};
    m = reply(NULL, purge);
    ap_jsasync_decode_get_reply(m, &d);
    CHECK(d.ok && !d.found);
    natsMsg_Destroy(m);
}

static void test_other_statuses_are_failures(void) {
    /* 408 (timeout), 503 (no leader): the record was not read, whatever it says. */
    const char *const codes[] = {"408", "503"};
    for (int i = 0; i < 2; i++) {
        const char *const h[] = {"Status", codes[i], NULL};
        natsMsg *m = reply(NULL, h);
        ap_js_done d = {0};
        ap_jsasync_decode_get_reply(m, &d);
        CHECK(!d.ok && !d.found);
        CHECK(d.status != NATS_OK);
        natsMsg_Destroy(m);
    }
}

static void test_a_reply_without_a_sequence_is_a_failure(void) {
    /* Not a direct get's answer: its revision is unknown, so no
     * compare-and-set could follow from it. */
    natsMsg *m = reply("started attempt=1 at=5 by=a", NULL);
    ap_js_done d = {0};
    ap_jsasync_decode_get_reply(m, &d);
    CHECK(!d.ok);
    CHECK(d.value == NULL);
    natsMsg_Destroy(m);
}

static void leader(const char *json, ap_js_done *d) {
    *d = (ap_js_done){0};
    ap_kv_leader_decode(json, (int)strlen(json), d);
}

static void test_the_leader_read_request(void) {
    char subject[128], body[128];
    CHECK(ap_kv_leader_request("$KV.autopost_attempts_x.s-1", subject, sizeof(subject), body,
                               sizeof(body)) == AP_OK);
    CHECK_STR_EQ(subject, "$JS.API.STREAM.MSG.GET.KV_autopost_attempts_x");
    CHECK_STR_EQ(body, "{\"last_by_subj\":\"$KV.autopost_attempts_x.s-1\"}");
    CHECK(ap_kv_leader_request("$KV.b.k\"}", subject, sizeof(subject), body, sizeof(body)) ==
          AP_EINVAL); /* never JSON that says something else */
    CHECK(ap_kv_leader_request("KV.b.k", subject, sizeof(subject), body, sizeof(body)) ==
          AP_EINVAL);
    CHECK(ap_kv_leader_request("$KV.bucket", subject, sizeof(subject), body, sizeof(body)) ==
          AP_EINVAL);
    CHECK(ap_kv_leader_request("$KV.b.k", subject, 10, body, sizeof(body)) == AP_EINVAL);
}

static void test_the_leader_answers_a_value(void) {
    ap_js_done d;
    leader("{\"type\":\"io.nats.jetstream.api.v1.stream_msg_get_response\",\"message\":"
           "{\"subject\":\"$KV.autopost_attempts_facebook.s-1\",\"seq\":1,"
           "\"data\":\"c3RhcnRlZCBhdHRlbXB0PTEgYXQ9NSBieT1h\","
           "\"time\":\"2026-12-07T00:05:48.041963418Z\"}}",
           &d);
    CHECK(d.ok && d.found);
    CHECK(d.seq == 1);
    CHECK(d.value_len == 27);
    CHECK_STR_EQ(d.value, "started attempt=1 at=5 by=a");
    ap_js_done_clear(&d);
    /* An empty value has no "data" at all. */
    leader("{\"message\":{\"subject\":\"$KV.b.k\",\"seq\":9}}", &d);
    CHECK(d.ok && d.found && d.seq == 9 && d.value_len == 0);
    ap_js_done_clear(&d);
}

static void test_the_leader_answers_no_value(void) {
    ap_js_done d;
    leader("{\"type\":\"io.nats.jetstream.api.v1.stream_msg_get_response\",\"error\":"
           "{\"code\":404,\"err_code\":10037,\"description\":\"no message found\"}}",
           &d);
    CHECK(d.ok && !d.found && d.value == NULL);
    /* "NATS/1.0\r\nKV-Operation: DEL\r\n\r\n" and the same with PURGE */
    leader("{\"message\":{\"seq\":7,\"hdrs\":\"TkFUUy8xLjANCktWLU9wZXJhdGlvbjogREVMDQoNCg==\"}}",
           &d);
    CHECK(d.ok && !d.found && d.seq == 7 && d.value == NULL);
    leader("{\"message\":{\"seq\":8,\"hdrs\":"
           "\"TkFUUy8xLjANCktWLU9wZXJhdGlvbjogUFVSR0UNCg0K\"}}",
           &d);
    CHECK(d.ok && !d.found && d.seq == 8);
    /* Other headers do not make a value a marker. */
    leader("{\"message\":{\"seq\":5,\"hdrs\":\"TkFUUy8xLjANClgtS1YtT3BlcmF0aW9uOiBERUwNCg0K\","
           "\"data\":\"eA==\"}}",
           &d);
    CHECK(d.ok && d.found && d.value_len == 1);
    CHECK_STR_EQ(d.value, "x");
    ap_js_done_clear(&d);
}

static void test_the_leader_failing_is_no_answer(void) {
    /* 503 (no leader yet), a sequence missing, base64 broken, not JSON: the
     * record was not read, so a check keeps its write lost. */
    const char *bad[] = {
        "{\"error\":{\"code\":503,\"description\":\"JetStream system temporarily unavailable\"}}",
        "{\"message\":{\"data\":\"eA==\"}}",
        "{\"message\":{\"seq\":3,\"data\":\"e@==\"}}",
        "{\"message\":{\"seq\":3,\"data\":\"eA=\"}}",
        "{\"message\":{\"seq\":3,\"data\":7}}",
        "{\"message\":{\"seq\":-3}}",
        "not json",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ap_js_done d;
        leader(bad[i], &d);
        CHECK(!d.ok && !d.found && d.value == NULL);
        CHECK(d.status != NATS_OK);
    }
}

int main(void) {
    if (nats_Open(-1) != NATS_OK) return 1; /* messages need the library's collector */
    RUN(test_a_stored_value);
    RUN(test_not_found_is_an_answer);
    RUN(test_a_delete_marker_has_no_value);
    RUN(test_other_statuses_are_failures);
    RUN(test_a_reply_without_a_sequence_is_a_failure);
    RUN(test_the_leader_read_request);
    RUN(test_the_leader_answers_a_value);
    RUN(test_the_leader_answers_no_value);
    RUN(test_the_leader_failing_is_no_answer);
    nats_Close();
    return TEST_RESULT();
}
