/* test_common_recur.c -- recurrence rules in IANA zones (common/ap_recur.c):
 * the instants across DST changes in both directions and in zones with and
 * without DST, COUNT/UNTIL, and the inputs a request can get wrong. */
#include <stdint.h>
#include <string.h>

#include "ap_recur.h"
#include "ap_time.h"
#include "test.h"

#define MAXN 8

/* The first n instants of a rule (after the epoch) as RFC 3339 strings,
 * joined by spaces; "" when the rule is refused. */
static const char *instants(const char *rrule, const char *tz, const char *start, size_t n,
                            int64_t after_ms) {
    static char joined[MAXN * 40];
    joined[0] = '\0';
    ap_recur *r = NULL;
    ap_recur_error why;
    if (ap_recur_new(&r, rrule, tz, start, 60, &why) != AP_OK) return joined;
    int64_t out[MAXN];
    size_t got = ap_recur_next(r, after_ms, out, n > MAXN ? MAXN : n);
    for (size_t i = 0; i < got; i++) {
        char one[40];
        ap_time_format_rfc3339(out[i], one, sizeof(one));
        if (i > 0) strcat(joined, " ");
        strcat(joined, one);
    }
    ap_recur_free(r);
    return joined;
}

/* The field a refused rule names ("" when it is accepted). */
static const char *refused_field(const char *rrule, const char *tz, const char *start,
                                 int64_t min_interval_s) {
    ap_recur *r = NULL;
    ap_recur_error why;
    if (ap_recur_new(&r, rrule, tz, start, min_interval_s, &why) == AP_OK) {
        ap_recur_free(r);
        return "";
    }
    CHECK(why.reason[0] != '\0');
    return why.field ? why.field : "(none)";
}

static void test_new_york_spring_forward_keeps_wall_time(void) {
    /* 2027-03-14 02:00 EST -> 03:00 EDT: 09:00 is 14:00Z before, 13:00Z after. */
    CHECK_STR_EQ(instants("FREQ=DAILY", "America/New_York", "2027-03-13T09:00:00", 3, 0),
                 "2027-03-13T14:00:00.000Z 2027-03-14T13:00:00.000Z 2027-03-15T13:00:00.000Z");
}

static void test_nonexistent_wall_time_is_not_an_instance(void) {
    /* 02:30 does not exist on 2027-03-14 in New York: ignored and not
     * counted (RFC 5545 3.3.10), so COUNT=3 reaches 03-16. */
    CHECK_STR_EQ(instants("FREQ=DAILY;COUNT=3", "America/New_York", "2027-03-13T02:30:00", 5, 0),
                 "2027-03-13T07:30:00.000Z 2027-03-15T06:30:00.000Z 2027-03-16T06:30:00.000Z");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", "America/New_York", "2027-03-14T02:30:00", 60),
                 "start");
}

static void test_berlin_fall_back_takes_the_first(void) {
    /* 2027-10-31 03:00 CEST -> 02:00 CET: 02:30 happens twice; the first
     * (CEST, 00:30Z) is the instant (RFC 5545 3.3.5). */
    CHECK_STR_EQ(instants("FREQ=DAILY", "Europe/Berlin", "2027-10-30T02:30:00", 3, 0),
                 "2027-10-30T00:30:00.000Z 2027-10-31T00:30:00.000Z 2027-11-01T01:30:00.000Z");
}

static void test_zone_without_dst(void) {
    CHECK_STR_EQ(instants("FREQ=WEEKLY;BYDAY=MO,FR", "Asia/Ho_Chi_Minh", "2027-03-12T09:00:00", 3,
                          0),
                 "2027-03-12T02:00:00.000Z 2027-03-15T02:00:00.000Z 2027-03-19T02:00:00.000Z");
    CHECK_STR_EQ(instants("FREQ=DAILY;COUNT=2", "UTC", "2027-01-01T00:00:00", 5, 0),
                 "2027-01-01T00:00:00.000Z 2027-01-02T00:00:00.000Z");
}

static void test_until_and_after(void) {
    /* UNTIL in UTC is inclusive and compared with the instant. */
    CHECK_STR_EQ(instants("FREQ=DAILY;UNTIL=20270315T130000Z", "America/New_York",
                          "2027-03-13T09:00:00", 8, 0),
                 "2027-03-13T14:00:00.000Z 2027-03-14T13:00:00.000Z 2027-03-15T13:00:00.000Z");
    /* A date UNTIL takes the whole local day. */
    CHECK_STR_EQ(instants("FREQ=DAILY;UNTIL=20270314", "America/New_York", "2027-03-13T09:00:00",
                          8, 0),
                 "2027-03-13T14:00:00.000Z 2027-03-14T13:00:00.000Z");
    int64_t after = 0;
    CHECK(ap_time_parse_rfc3339("2027-03-14T13:00:00Z", &after) == 0);
    CHECK_STR_EQ(instants("FREQ=DAILY;COUNT=3", "America/New_York", "2027-03-13T09:00:00", 5,
                          after),
                 "2027-03-15T13:00:00.000Z");
    CHECK_STR_EQ(instants("FREQ=MINUTELY;COUNT=2", "Europe/London", "2027-06-01T10:15:00", 5, 0),
                 "2027-06-01T09:15:00.000Z 2027-06-01T09:16:00.000Z");
}

static void test_minimum_interval(void) {
    CHECK_STR_EQ(refused_field("FREQ=SECONDLY;INTERVAL=30", "UTC", "2027-01-01T00:00:00", 60),
                 "rrule");
    CHECK_STR_EQ(refused_field("FREQ=HOURLY;BYMINUTE=0,30", "UTC", "2027-01-01T00:00:00", 3600),
                 "rrule");
    CHECK_STR_EQ(refused_field("FREQ=MINUTELY", "UTC", "2027-01-01T00:00:00", 60), "");
    CHECK_STR_EQ(refused_field("FREQ=MINUTELY;INTERVAL=1", "UTC", "2027-01-01T00:00:00", 120),
                 "rrule");
}

static void test_costly_shapes_are_refused(void) {
    const char *s = "2027-03-13T09:00:00", *ny = "America/New_York";
    /* libical would search these minute by minute or second by second. */
    CHECK_STR_EQ(refused_field("FREQ=SECONDLY;INTERVAL=3600", ny, s, 0), "rrule");
    CHECK_STR_EQ(refused_field("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30", ny, s, 60), "rrule");
    CHECK_STR_EQ(refused_field("FREQ=MINUTELY;BYDAY=1MO", ny, s, 60), "rrule");
    CHECK_STR_EQ(refused_field("FREQ=MINUTELY;INTERVAL=15;BYDAY=MO,TU;BYHOUR=9,10", ny, s, 60), "");
    /* Matches nothing: the walk ends at the horizon instead of spinning. */
    CHECK_STR_EQ(refused_field("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", ny, s, 60), "rrule");
    CHECK_STR_EQ(refused_field("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", ny, s, 60), "rrule");
}

static void test_series_end_at_the_horizon(void) {
    ap_recur *r = NULL;
    ap_recur_error why;
    CHECK(ap_recur_new(&r, "FREQ=YEARLY", "UTC", "2027-06-01T12:00:00", 60, &why) == AP_OK);
    if (r == NULL) return;
    int64_t out[20];
    size_t n = ap_recur_next(r, 0, out, 20);
    CHECK(n == 11); /* 2027 through 2037 */
    char last[40];
    if (n > 0) ap_time_format_rfc3339(out[n - 1], last, sizeof(last));
    CHECK_STR_EQ(n > 0 ? last : "", "2037-06-01T12:00:00.000Z");
    ap_recur_free(r);
}

/* A materialiser asks for the next few again and again: resuming where the
 * previous call stopped must give exactly what a walk from the start gives. */
static void check_resume_matches(const char *rrule, const char *tz, const char *start) {
    ap_recur *walker = NULL, *fresh = NULL;
    ap_recur_error why;
    CHECK(ap_recur_new(&walker, rrule, tz, start, 60, &why) == AP_OK);
    if (walker == NULL) return;
    int64_t after = 0, got[3], want[3];
    for (int round = 0; round < 40; round++) {
        size_t n = ap_recur_next(walker, after, got, 3);
        CHECK(ap_recur_new(&fresh, rrule, tz, start, 60, &why) == AP_OK);
        if (fresh == NULL) break;
        size_t m = ap_recur_next(fresh, after, want, 3);
        ap_recur_free(fresh);
        CHECK(n == m);
        for (size_t i = 0; i < n && i < m; i++) CHECK(got[i] == want[i]);
        if (n == 0) break;
        after = got[0]; /* one step at a time, so the resume point moves */
    }
    ap_recur_free(walker);
}

static void test_resume_gives_the_same_instants(void) {
    check_resume_matches("FREQ=DAILY;COUNT=30", "America/New_York", "2027-03-01T02:30:00");
    check_resume_matches("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "Europe/Berlin",
                         "2027-10-01T02:30:00");
    check_resume_matches("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "Asia/Ho_Chi_Minh",
                         "2027-01-29T09:00:00");
    check_resume_matches("FREQ=MINUTELY;INTERVAL=7;COUNT=50", "Australia/Sydney",
                         "2027-04-04T02:20:00");
    check_resume_matches("FREQ=HOURLY;INTERVAL=5;BYDAY=SA,SU", "America/New_York",
                         "2027-11-06T23:00:00");
}

static void test_bad_input_names_its_field(void) {
    const char *ny = "America/New_York", *s = "2027-03-13T09:00:00";
    CHECK_STR_EQ(refused_field("garbage", ny, s, 60), "rrule");
    CHECK_STR_EQ(refused_field("", ny, s, 60), "rrule");
    CHECK_STR_EQ(refused_field("FREQ=DAILY;RSCALE=HEBREW", ny, s, 60), "rrule");
    CHECK_STR_EQ(refused_field("FREQ=DAILY;UNTIL=20200101T000000Z", ny, s, 60), "rrule");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", "Mars/Olympus_Mons", s, 60), "tz");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", "../../etc/passwd", s, 60), "tz");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", "", s, 60), "tz");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", ny, "2027-02-30T09:00:00", 60), "start");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", ny, "2027-3-1T09:00:00", 60), "start");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", ny, "2027-03-01T09:00:00Z", 60), "start");
    CHECK_STR_EQ(refused_field("FREQ=DAILY", ny, "2027-03-01 09:00:00", 60), "start");
    CHECK_STR_EQ(refused_field("RRULE:FREQ=DAILY", ny, s, 60), "");
    CHECK_STR_EQ(refused_field(NULL, ny, s, 60), "rrule");
}

int main(void) {
    RUN(test_new_york_spring_forward_keeps_wall_time);
    RUN(test_nonexistent_wall_time_is_not_an_instance);
    RUN(test_berlin_fall_back_takes_the_first);
    RUN(test_zone_without_dst);
    RUN(test_until_and_after);
    RUN(test_minimum_interval);
    RUN(test_bad_input_names_its_field);
    RUN(test_costly_shapes_are_refused);
    RUN(test_series_end_at_the_horizon);
    RUN(test_resume_gives_the_same_instants);
    return TEST_RESULT();
}
