/* test_common_proto.c -- PublishJob / PublishResult on the bus (common/ap_proto.c)
 * and the JSON escaping every log line relies on (common/ap_log.c).
 *
 * natsMsg_Create needs no connection (only nats_Open), so messages are built
 * and read back entirely in memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_log.h"
#include "ap_proto.h"
#include "test.h"

#define SID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define ACCOUNT "7c9e6679-7425-40de-944b-e07fc1f90ae7"

/* A valid job with one image; media and strings point at static storage. */
typedef struct job_fixture {
    ap_job job;
    Autopost__V1__Media media[AP_MAX_MEDIA + 1];
    Autopost__V1__Media *media_ptrs[AP_MAX_MEDIA + 1];
    uint8_t sealed[4];
} job_fixture;

static void job_fixture_init(job_fixture *f) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    f->job = job_init;
    for (int i = 0; i <= AP_MAX_MEDIA; i++) {
        f->media[i] = media_init;
        f->media[i].url = "https://cdn.example/p.jpg";
        f->media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
        f->media_ptrs[i] = &f->media[i];
    }
    memcpy(f->sealed, "AP1x", 4);
    f->job.schedule_id = SID;
    f->job.generation = 3;
    f->job.post_id = "post-1";
    f->job.account_id = ACCOUNT;
    f->job.platform = "facebook";
    f->job.text = "Xin chào thế giới";
    f->job.link = "https://example.com/a?b=c";
    f->job.n_media = 1;
    f->job.media = f->media_ptrs;
    f->job.scheduled_at_ms = INT64_C(1795856400250);
    f->job.account_external_id = "1234567890";
    f->job.sealed_credential.data = f->sealed;
    f->job.sealed_credential.len = sizeof(f->sealed);
    f->job.enqueued_at_ms = INT64_C(1795856400000);
}

/* Packs job into a malloc'ed buffer. */
static uint8_t *pack_job(const ap_job *job, size_t *len) {
    *len = autopost__v1__publish_job__get_packed_size(job);
    uint8_t *buf = malloc(*len ? *len : 1);
    autopost__v1__publish_job__pack(job, buf);
    return buf;
}

/* Decodes job's bytes; returns the status and err. */
static ap_status decode_job(const ap_job *job, char *err, size_t errlen) {
    size_t len;
    uint8_t *buf = pack_job(job, &len);
    ap_job *out = NULL;
    err[0] = '\0';
    ap_status s = ap_job_decode(buf, len, &out, err, errlen);
    ap_job_free(out);
    free(buf);
    return s;
}

static const char *header(natsMsg *m, const char *name) {
    const char *v = NULL;
    return natsMsgHeader_Get(m, name, &v) == NATS_OK ? v : NULL;
}

static void test_job_to_msg_headers(void) {
    job_fixture f;
    job_fixture_init(&f);
    natsMsg *m = NULL;
    CHECK(ap_job_to_msg(&f.job, &m) == AP_OK);
    CHECK(m != NULL);
    if (m == NULL) return;
    CHECK_STR_EQ(natsMsg_GetSubject(m), "autopost.jobs.facebook");
    CHECK_STR_EQ(header(m, "Nats-Msg-Id"), SID "-3");
    CHECK_STR_EQ(header(m, "Autopost-Schedule-Id"), SID);
    CHECK_STR_EQ(header(m, "Autopost-Generation"), "3");
    CHECK_STR_EQ(header(m, "Autopost-Platform"), "facebook");
    CHECK_STR_EQ(header(m, "Autopost-Account-Id"), ACCOUNT);
    CHECK_STR_EQ(header(m, "Autopost-Scheduled-At"), "2026-11-28T09:00:00.250Z");
    CHECK_STR_EQ(header(m, "Content-Type"), "application/protobuf; proto=autopost.v1.PublishJob");
    CHECK_STR_EQ(header(m, "Autopost-Priority"), "normal");
    natsMsg_Destroy(m);
}

/* The urgent lane: its own subject (and so its own consumer), the same
 * dedup id, the lane in a header and in the payload. */
static void test_urgent_job_subject(void) {
    job_fixture f;
    job_fixture_init(&f);
    f.job.urgent = true;
    natsMsg *m = NULL;
    CHECK(ap_job_to_msg(&f.job, &m) == AP_OK);
    if (m == NULL) return;
    CHECK_STR_EQ(natsMsg_GetSubject(m), "autopost.jobs.facebook.urgent");
    CHECK_STR_EQ(header(m, "Nats-Msg-Id"), SID "-3");
    CHECK_STR_EQ(header(m, "Autopost-Priority"), "urgent");
    ap_job *back = NULL;
    char why[128];
    CHECK(ap_job_decode(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &back, why,
                        sizeof(why)) == AP_OK);
    CHECK(back != NULL && back->urgent);
    ap_job_free(back);
    natsMsg_Destroy(m);
}

static void test_job_msg_round_trip(void) {
    job_fixture f;
    job_fixture_init(&f);
    natsMsg *m = NULL;
    CHECK(ap_job_to_msg(&f.job, &m) == AP_OK);
    if (m == NULL) return;
    ap_job *out = NULL;
    char err[256] = "";
    CHECK(ap_job_decode(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &out, err,
                        sizeof(err)) == AP_OK);
    CHECK_STR_EQ(err, "");
    if (out) {
        CHECK_STR_EQ(out->schedule_id, SID);
        CHECK(out->generation == 3);
        CHECK_STR_EQ(out->post_id, "post-1");
        CHECK_STR_EQ(out->account_id, ACCOUNT);
        CHECK_STR_EQ(out->platform, "facebook");
        CHECK_STR_EQ(out->text, "Xin chào thế giới");
        CHECK_STR_EQ(out->link, "https://example.com/a?b=c");
        CHECK(out->n_media == 1);
        CHECK_STR_EQ(out->media[0]->url, "https://cdn.example/p.jpg");
        CHECK(out->media[0]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE);
        CHECK(out->scheduled_at_ms == INT64_C(1795856400250));
        CHECK_STR_EQ(out->account_external_id, "1234567890");
        CHECK(out->sealed_credential.len == 4 &&
              memcmp(out->sealed_credential.data, "AP1x", 4) == 0);
        CHECK(out->enqueued_at_ms == INT64_C(1795856400000));
    }
    ap_job_free(out);
    natsMsg_Destroy(m);
}

static void test_msg_id(void) {
    char buf[64];
    ap_job_msg_id(buf, sizeof(buf), SID, 4294967295u);
    CHECK_STR_EQ(buf, SID "-4294967295");
}

static void test_job_decode_rejects_bytes(void) {
    ap_job *out = NULL;
    char err[256];
    CHECK(ap_job_decode("", 0, &out, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "job payload size 0 outside 1..262144 bytes");
    const char garbage[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
    CHECK(ap_job_decode(garbage, sizeof(garbage) - 1, &out, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "not a protobuf autopost.v1.PublishJob");
    const char json[] = "{\"schedule_id\":\"" SID "\"}";
    CHECK(ap_job_decode(json, sizeof(json) - 1, &out, err, sizeof(err)) == AP_EINVAL);
    CHECK(out == NULL);
}

static void test_job_decode_rejects_oversized(void) {
    size_t n = AP_MAX_JOB_BYTES + 1;
    char *big = calloc(1, n);
    ap_job *out = NULL;
    char err[256];
    CHECK(ap_job_decode(big, n, &out, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "outside 1..262144 bytes");
    free(big);
}

static void test_job_decode_rejects_fields(void) {
    job_fixture f;
    char err[256];
    job_fixture_init(&f);
    f.job.schedule_id = "not-a-uuid";
    CHECK(decode_job(&f.job, err, sizeof(err)) == AP_EINVAL);
    CHECK_STR_EQ(err, "invalid PublishJob: schedule_id is not a UUID");

    job_fixture_init(&f);
    f.job.generation = 0;
    CHECK(decode_job(&f.job, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "generation is 0");

    job_fixture_init(&f);
    f.job.account_id = "";
    CHECK(decode_job(&f.job, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "account_id is not a UUID");
}

/* protobuf-c reads the overlong tag 0x81 0x00 as field 0 and keeps it as an
 * unknown field it cannot write back readably: the decoder refuses it, while
 * an unknown field with a real number (a newer scheduler's) is kept. */
static void test_job_decode_rejects_field_zero(void) {
    job_fixture f;
    char err[256];
    job_fixture_init(&f);
    size_t len = 0;
    uint8_t *buf = pack_job(&f.job, &len);
    static const uint8_t field0[] = {0x81, 0x00, 'o', 'm', '/', 'a', '?', 'b', '=', 'c'};
    static const uint8_t field99[] = {0x98, 0x06, 0x07}; /* field 99, varint 7 */
    uint8_t *bad = malloc(len + sizeof(field0));
    uint8_t *newer = malloc(len + sizeof(field99));
    CHECK(bad != NULL && newer != NULL);
    memcpy(bad, buf, len);
    memcpy(bad + len, field0, sizeof(field0));
    memcpy(newer, buf, len);
    memcpy(newer + len, field99, sizeof(field99));
    ap_job *job = NULL;
    CHECK(ap_job_decode(bad, len + sizeof(field0), &job, err, sizeof(err)) == AP_EINVAL);
    CHECK(job == NULL);
    CHECK_CONTAINS(err, "a field numbered 0");
    CHECK(ap_job_decode(newer, len + sizeof(field99), &job, err, sizeof(err)) == AP_OK);
    ap_job_free(job);
    free(bad);
    free(newer);
    free(buf);
}

static void test_job_decode_rejects_platform_token(void) {
    const char *bad[] = {"",          "Facebook", "face.book",
                         "face book", "fb>",      "a_platform_name_that_is_far_too_long"};
    job_fixture f;
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        job_fixture_init(&f);
        f.job.platform = (char *)bad[i];
        CHECK(decode_job(&f.job, err, sizeof(err)) == AP_EINVAL);
        CHECK_CONTAINS(err, "platform is not a valid name");
    }
    job_fixture_init(&f);
    f.job.platform = "x_2";
    CHECK(decode_job(&f.job, err, sizeof(err)) == AP_OK);
}

static void test_job_decode_media_limit(void) {
    job_fixture f;
    char err[256];
    job_fixture_init(&f);
    f.job.n_media = AP_MAX_MEDIA;
    CHECK(decode_job(&f.job, err, sizeof(err)) == AP_OK);
    f.job.n_media = AP_MAX_MEDIA + 1;
    CHECK(decode_job(&f.job, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "too many media items");
}

/* A valid result; strings point at static storage. */
static ap_result result_fixture(void) {
    ap_result r = AUTOPOST__V1__PUBLISH_RESULT__INIT;
    r.schedule_id = SID;
    r.generation = 2;
    r.outcome = AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING;
    r.error_class = AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_RETRY;
    r.error_code = "4";
    r.error_message = "rate limited";
    r.attempt = 5;
    r.platform = "facebook";
    r.retry_after_ms = 420000;
    r.http_status = 400;
    r.account_id = ACCOUNT;
    return r;
}

static ap_status decode_result(const ap_result *r, char *err, size_t errlen) {
    size_t len = autopost__v1__publish_result__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    autopost__v1__publish_result__pack(r, buf);
    ap_result *out = NULL;
    err[0] = '\0';
    ap_status s = ap_result_decode(buf, len, &out, err, errlen);
    ap_result_free(out);
    free(buf);
    return s;
}

static void test_result_msg_round_trip(void) {
    ap_result r = result_fixture();
    natsMsg *m = NULL;
    CHECK(ap_result_to_msg(&r, &m) == AP_OK);
    if (m == NULL) return;
    CHECK_STR_EQ(natsMsg_GetSubject(m), "autopost.results.facebook");
    CHECK_STR_EQ(header(m, "Nats-Msg-Id"), SID "-2-5-retrying");
    CHECK_STR_EQ(header(m, "Autopost-Outcome"), "retrying");
    CHECK_STR_EQ(header(m, "Autopost-Attempt"), "5");
    CHECK_STR_EQ(header(m, "Autopost-Error-Class"), "retry");
    CHECK_STR_EQ(header(m, "Content-Type"),
                 "application/protobuf; proto=autopost.v1.PublishResult");
    ap_result *out = NULL;
    char err[256] = "";
    CHECK(ap_result_decode(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &out, err,
                           sizeof(err)) == AP_OK);
    if (out) {
        CHECK(out->outcome == AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING);
        CHECK(out->retry_after_ms == 420000);
        CHECK(out->http_status == 400);
        CHECK_STR_EQ(out->error_message, "rate limited");
    }
    ap_result_free(out);
    natsMsg_Destroy(m);
}

static void test_result_decode_rejects_outcome(void) {
    ap_result r = result_fixture();
    char err[256];
    r.outcome = AUTOPOST__V1__OUTCOME__OUTCOME_UNSPECIFIED;
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "unknown outcome");
    r.outcome = (Autopost__V1__Outcome)42;
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "unknown outcome");
}

static void test_result_decode_rejects_ids(void) {
    ap_result r = result_fixture();
    char err[256];
    r.schedule_id = "0F8FAD5B-D9CB-469F-A165-70867728950E"; /* uppercase is not canonical */
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "schedule_id is not a UUID");
    r = result_fixture();
    r.generation = 0;
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "generation is 0");
}

static void test_result_decode_rejects_long_fields(void) {
    char long_text[3000];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    char err[256];
    ap_result r = result_fixture();
    r.external_post_id = long_text + sizeof(long_text) - 1 - 257;
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "a field is too long");
    r = result_fixture();
    r.external_post_id = long_text + sizeof(long_text) - 1 - 256; /* exactly the limit */
    CHECK(decode_result(&r, err, sizeof(err)) == AP_OK);
    r = result_fixture();
    r.error_message = long_text + sizeof(long_text) - 1 - 2049;
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
    r = result_fixture();
    r.error_code = long_text + sizeof(long_text) - 1 - 65;
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
    r = result_fixture();
    r.external_url = long_text + sizeof(long_text) - 1 - 1025;
    CHECK(decode_result(&r, err, sizeof(err)) == AP_EINVAL);
}

static void test_result_decode_rejects_bytes(void) {
    ap_result *out = NULL;
    char err[256];
    CHECK(ap_result_decode("", 0, &out, err, sizeof(err)) == AP_EINVAL);
    CHECK(ap_result_decode("\x0a\xff", 2, &out, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "not a protobuf autopost.v1.PublishResult");
    char *big = calloc(1, AP_MAX_RESULT_BYTES + 1);
    CHECK(ap_result_decode(big, AP_MAX_RESULT_BYTES + 1, &out, err, sizeof(err)) == AP_EINVAL);
    free(big);
}

static void test_outcome_and_class_names(void) {
    CHECK_STR_EQ(ap_outcome_name(AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED), "published");
    CHECK_STR_EQ(ap_outcome_name(AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED), "unconfirmed");
    CHECK_STR_EQ(ap_outcome_name((Autopost__V1__Outcome)99), "unspecified");
    CHECK_STR_EQ(ap_error_class_name(AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_REAUTH), "reauth");
    CHECK_STR_EQ(ap_error_class_name((Autopost__V1__ErrorClass)99), "unknown");
}

static void test_json_escape_specials(void) {
    char buf[128];
    size_t n = ap_json_escape(buf, sizeof(buf), "say \"hi\"\\ now");
    CHECK_STR_EQ(buf, "say \\\"hi\\\"\\\\ now");
    CHECK(n == strlen(buf));
    ap_json_escape(buf, sizeof(buf), "a\nb\rc\td");
    CHECK_STR_EQ(buf, "a\\nb\\rc\\td");
    ap_json_escape(buf, sizeof(buf), "\x01\x1f x");
    CHECK_STR_EQ(buf, "\\u0001\\u001f x");
    ap_json_escape(buf, sizeof(buf), "Tiếng Việt ✓ 😀");
    CHECK_STR_EQ(buf, "Tiếng Việt ✓ 😀"); /* UTF-8 passes through */
    ap_json_escape(buf, sizeof(buf), "");
    CHECK_STR_EQ(buf, "");
}

static void test_json_escape_truncates_whole_escapes(void) {
    char buf[8];
    memset(buf, '#', sizeof(buf));
    CHECK(ap_json_escape(buf, 4, "ab\"c") == 2); /* "\"" needs 2 bytes: 2+2+NUL > 4 */
    CHECK_STR_EQ(buf, "ab");
    CHECK(ap_json_escape(buf, 7, "a\x01") == 1); /* "\u0001" needs 6 bytes + NUL */
    CHECK_STR_EQ(buf, "a");
    CHECK(ap_json_escape(buf, 1, "abc") == 0);
    CHECK_STR_EQ(buf, "");
    buf[0] = '#';
    CHECK(ap_json_escape(buf, 0, "abc") == 0);
    CHECK(buf[0] == '#'); /* len 0: nothing written, not even NUL */
}

static void test_json_escape_never_cuts_utf8(void) {
    /* "ệ" is 3 bytes (e1 bb 87), "😀" is 4 (f0 9f 98 80). */
    char buf[16];
    for (size_t len = 1; len <= 8; len++) {
        size_t n = ap_json_escape(buf, len, "ab\xe1\xbb\x87");
        CHECK(n == (len >= 6 ? 5u : len >= 3 ? 2u : len - 1));
        CHECK(strlen(buf) == n);
    }
    CHECK(ap_json_escape(buf, 6, "x\xf0\x9f\x98\x80") == 5);
    CHECK_STR_EQ(buf, "x\xf0\x9f\x98\x80");
    CHECK(ap_json_escape(buf, 5, "x\xf0\x9f\x98\x80") == 1);
    CHECK_STR_EQ(buf, "x");
    CHECK(ap_json_escape(buf, 3, "\xc3\xa9\xc3\xa9") == 2); /* "éé": one é fits */
    CHECK_STR_EQ(buf, "\xc3\xa9");
}

/* Runs one ap_log call with stderr sent to a temp file; returns the line. */
static const char *capture_log(const char *event, const char *sid, const char *msg) {
    static char buf[8192];
    char path[] = "/tmp/ap_test_log_XXXXXX";
    int fd = mkstemp(path);
    buf[0] = '\0';
    if (fd < 0) return buf;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    ap_log_info(event, sid, "%s", msg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return buf;
}

static void test_log_line(void) {
    const char *line = capture_log("job_published", SID, "said \"hi\"\n");
    CHECK(strncmp(line, "{\"ts\":\"", 7) == 0);
    CHECK_CONTAINS(line, "\"level\":\"info\"");
    CHECK_CONTAINS(line, "\"event\":\"job_published\",\"schedule_id\":\"" SID "\"");
    CHECK_CONTAINS(line, "\"msg\":\"said \\\"hi\\\"\\n\"}\n");
}

static void test_log_line_stays_bounded(void) {
    /* A 5,000-byte schedule id used to push the write offset past the
     * 4 KiB line buffer (stack overflow under ASan). */
    static char sid[5000], msg[3000];
    memset(sid, 'a', sizeof(sid) - 1);
    memset(msg, '"', sizeof(msg) - 1); /* every byte escapes to two */
    const char *line = capture_log("ev", sid, msg);
    size_t n = strlen(line);
    CHECK(n > 0 && n < 4096);
    CHECK(n > 0 && strcmp(line + n - 3, "\"}\n") == 0); /* still a whole JSON object */
    CHECK_CONTAINS(line, "\"msg\":\"\\\"");
}

int main(void) {
    /* natsMsg_Destroy hands messages to the library's collector: open it. */
    if (nats_Open(-1) != NATS_OK) return 1;
    RUN(test_job_to_msg_headers);
    RUN(test_urgent_job_subject);
    RUN(test_job_msg_round_trip);
    RUN(test_msg_id);
    RUN(test_job_decode_rejects_bytes);
    RUN(test_job_decode_rejects_oversized);
    RUN(test_job_decode_rejects_fields);
    RUN(test_job_decode_rejects_field_zero);
    RUN(test_job_decode_rejects_platform_token);
    RUN(test_job_decode_media_limit);
    RUN(test_result_msg_round_trip);
    RUN(test_result_decode_rejects_outcome);
    RUN(test_result_decode_rejects_ids);
    RUN(test_result_decode_rejects_long_fields);
    RUN(test_result_decode_rejects_bytes);
    RUN(test_outcome_and_class_names);
    RUN(test_json_escape_specials);
    RUN(test_json_escape_truncates_whole_escapes);
    RUN(test_json_escape_never_cuts_utf8);
    RUN(test_log_line);
    RUN(test_log_line_stays_bounded);
    nats_Close();
    return TEST_RESULT();
}
