/* test_jsasync.c -- the engine's asynchronous KV read
 * (publishers/engine/jsasync.c): how a direct get's reply becomes an event.
 * A record read wrongly would start a second post (a "published" taken for
 * absent) or stall a job (an answer taken for a failure), so every reply
 * the server gives is decoded here without a network. */
#include "jsasync.h"
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

int main(void) {
    if (nats_Open(-1) != NATS_OK) return 1; /* messages need the library's collector */
    RUN(test_a_stored_value);
    RUN(test_not_found_is_an_answer);
    RUN(test_a_delete_marker_has_no_value);
    RUN(test_other_statuses_are_failures);
    RUN(test_a_reply_without_a_sequence_is_a_failure);
    nats_Close();
    return TEST_RESULT();
}
