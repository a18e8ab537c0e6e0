/* test_common_time.c -- RFC 3339 timestamps and durations (common/ap_time.c). */
#include <stdint.h>

#include "ap_time.h"
#include "test.h"

/* 2026-11-28T09:00:00Z in ms: a fixed anchor for the offset cases. */
#define T_2026_11_28_0900Z INT64_C(1795856400000)

static int64_t parse(const char *s) {
    int64_t ms = -12345;
    if (ap_time_parse_rfc3339(s, &ms) != 0) return -1;
    return ms;
}

static int rejects(const char *s) {
    int64_t ms = 0;
    return ap_time_parse_rfc3339(s, &ms) == -1;
}

static void test_parse_utc(void) {
    CHECK(parse("1970-01-01T00:00:00Z") == 0);
    CHECK(parse("2026-11-28T09:00:00Z") == T_2026_11_28_0900Z);
    CHECK(parse("2026-11-28t09:00:00z") == T_2026_11_28_0900Z); /* RFC 3339 allows lowercase */
    CHECK(parse("2026-11-28 09:00:00Z") == T_2026_11_28_0900Z); /* and a space */
    CHECK(parse("2000-03-01T00:00:00Z") == INT64_C(951868800000));
}

static void test_parse_offsets(void) {
    /* 16:00 in Hanoi (+07:00) is 09:00 UTC. */
    CHECK(parse("2026-11-28T16:00:00+07:00") == T_2026_11_28_0900Z);
    /* 03:30 in Newfoundland-ish -05:30 is 09:00 UTC. */
    CHECK(parse("2026-11-28T03:30:00-05:30") == T_2026_11_28_0900Z);
    CHECK(parse("2026-11-28T09:00:00+00:00") == T_2026_11_28_0900Z);
    CHECK(parse("2026-11-28T09:00:00-00:00") == T_2026_11_28_0900Z);
    /* An offset that crosses midnight and the year. */
    CHECK(parse("2027-01-01T06:00:00+07:00") == parse("2026-12-31T23:00:00Z"));
}

static void test_parse_fractions(void) {
    CHECK(parse("2026-11-28T09:00:00.5Z") == T_2026_11_28_0900Z + 500);
    CHECK(parse("2026-11-28T09:00:00.25Z") == T_2026_11_28_0900Z + 250);
    CHECK(parse("2026-11-28T09:00:00.123456Z") == T_2026_11_28_0900Z + 123); /* truncated */
    CHECK(parse("2026-11-28T16:00:00.250+07:00") == T_2026_11_28_0900Z + 250);
    CHECK(rejects("2026-11-28T09:00:00.Z"));
}

static void test_leap_years(void) {
    CHECK(parse("2024-02-29T00:00:00Z") == parse("2024-03-01T00:00:00Z") - 86400000);
    CHECK(parse("2000-02-29T12:00:00Z") > 0); /* divisible by 400 */
    CHECK(rejects("2023-02-29T00:00:00Z"));
    CHECK(rejects("1900-02-29T00:00:00Z")); /* divisible by 100, not 400 */
    CHECK(rejects("2024-02-30T00:00:00Z"));
}

static void test_leap_second_clamped(void) {
    CHECK(parse("2016-12-31T23:59:60Z") == parse("2016-12-31T23:59:59Z"));
}

static void test_rejects_bad_input(void) {
    CHECK(rejects("2026-11-28T09:00:00"));  /* no zone: ambiguous */
    CHECK(rejects("2026-13-01T09:00:00Z")); /* month */
    CHECK(rejects("2026-00-01T09:00:00Z"));
    CHECK(rejects("2026-04-31T09:00:00Z")); /* day */
    CHECK(rejects("2026-04-00T09:00:00Z"));
    CHECK(rejects("2026-11-28T24:00:00Z"));       /* hour */
    CHECK(rejects("2026-11-28T09:60:00Z"));       /* minute */
    CHECK(rejects("2026-11-28T09:00:61Z"));       /* second */
    CHECK(rejects("2026-11-28T09:00:00Zjunk"));   /* trailing junk */
    CHECK(rejects("2026-11-28T09:00:00+07:00 ")); /* even a space */
    CHECK(rejects("2026-11-28T09:00:00+7:00"));   /* offset needs two digits */
    CHECK(rejects("2026-11-28T09:00:00+24:00"));
    CHECK(rejects("2026-11-28T09:00:00+07:60"));
    CHECK(rejects("2026-11-28"));
    CHECK(rejects("26-11-28T09:00:00Z"));
    CHECK(rejects("2026-11-28X09:00:00Z"));
    CHECK(rejects(""));
    CHECK(rejects(NULL));
}

static void test_format(void) {
    char buf[32];
    ap_time_format_rfc3339(T_2026_11_28_0900Z + 7, buf, sizeof(buf));
    CHECK_STR_EQ(buf, "2026-11-28T09:00:00.007Z");
    ap_time_format_rfc3339(0, buf, sizeof(buf));
    CHECK_STR_EQ(buf, "1970-01-01T00:00:00.000Z");
    ap_time_format_rfc3339(-1, buf, sizeof(buf)); /* before the epoch: floor, not truncate */
    CHECK_STR_EQ(buf, "1969-12-31T23:59:59.999Z");
}

static void test_format_round_trip(void) {
    const int64_t samples[] = {0,
                               1,
                               999,
                               T_2026_11_28_0900Z,
                               T_2026_11_28_0900Z + 123,
                               INT64_C(951782400000) /* 2000-02-29 */,
                               INT64_C(4102444799999),
                               -1500};
    char buf[32];
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        ap_time_format_rfc3339(samples[i], buf, sizeof(buf));
        CHECK(parse(buf) == samples[i]);
    }
}

static int64_t dur(const char *s) {
    int64_t ms = -12345;
    if (ap_duration_parse(s, &ms) != 0) return -1;
    return ms;
}

static void test_durations(void) {
    CHECK(dur("250ms") == 250);
    CHECK(dur("2s") == 2000);
    CHECK(dur("5m") == 300000);
    CHECK(dur("1h") == 3600000);
    CHECK(dur("1h30m") == 5400000);
    CHECK(dur("1m30s500ms") == 90500);
    CHECK(dur("30") == 30000); /* a bare number is seconds */
    CHECK(dur("0") == 0);
    CHECK(dur("0s") == 0);
}

static void test_durations_rejected(void) {
    CHECK(dur("") == -1);
    CHECK(dur(NULL) == -1);
    CHECK(dur("-1s") == -1);
    CHECK(dur("5x") == -1);
    CHECK(dur("1.5s") == -1);
    CHECK(dur("s") == -1);
    CHECK(dur("1h30") == -1); /* a bare number only on its own */
    CHECK(dur(" 5s") == -1);
    CHECK(dur("5s ") == -1);
    CHECK(dur("5S") == -1);
}

static void test_durations_overflow(void) {
    /* Used to overflow int64 (undefined behaviour) instead of failing. */
    CHECK(dur("9999999999999h") == -1);
    CHECK(dur("2562047788015h") == -1);
    CHECK(dur("99999999999999999999") == -1);
    CHECK(dur("8784h") == 8784 * INT64_C(3600000)); /* 366 days: the documented ceiling */
    CHECK(dur("8784h1ms") == -1);
}

int main(void) {
    RUN(test_parse_utc);
    RUN(test_parse_offsets);
    RUN(test_parse_fractions);
    RUN(test_leap_years);
    RUN(test_leap_second_clamped);
    RUN(test_rejects_bad_input);
    RUN(test_format);
    RUN(test_format_round_trip);
    RUN(test_durations);
    RUN(test_durations_rejected);
    RUN(test_durations_overflow);
    return TEST_RESULT();
}
