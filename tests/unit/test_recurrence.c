/* test_recurrence.c -- the materialiser's plan (scheduler/recurrence.h):
 * which occurrences become pending rows, which missed ones keep a skipped
 * row, how far a pass gets, and when a rule has ended. No database. */
#include <stdlib.h>

#include "ap_time.h"
#include "recurrence.h"
#include "test.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

static int64_t at(const char *rfc3339) {
    int64_t ms = 0;
    CHECK(ap_time_parse_rfc3339(rfc3339, &ms) == 0);
    return ms;
}

static ap_recur *rule(const char *rrule, const char *tz, const char *start) {
    ap_recur *r = NULL;
    CHECK(ap_recur_new(&r, rrule, tz, start, 0, NULL) == AP_OK);
    return r;
}

/* A daily rule seen on a normal day: tomorrow's occurrence is within 24 h,
 * nothing missed, not ended, until = the horizon's end. */
static void test_daily_within_horizon(void) {
    ap_occurrence_plan *p = malloc(sizeof(*p));
    ap_recur *r = rule("FREQ=DAILY", "America/New_York", "2027-03-13T09:00:00");
    int64_t now = at("2027-03-13T15:00:00Z");
    ap_occurrence_plan_make(r, now, now, 24 * HOUR, 10 * MIN, p);
    CHECK(p->n == 1 && !p->missed[0]);
    CHECK(p->at[0] == at("2027-03-14T13:00:00Z")); /* 09:00 EDT after the spring change */
    CHECK(p->missed_total == 0 && !p->ended);
    CHECK(p->until_ms == now + 24 * HOUR);
    ap_recur_free(r);
    free(p);
}

/* COUNT ends the rule: the plan says so, and until is the last instant. */
static void test_count_ends(void) {
    ap_occurrence_plan *p = malloc(sizeof(*p));
    ap_recur *r = rule("FREQ=MINUTELY;COUNT=2", "UTC", "2027-01-01T10:00:00");
    int64_t now = at("2027-01-01T09:59:30Z");
    ap_occurrence_plan_make(r, now, now, 24 * HOUR, 10 * MIN, p);
    CHECK(p->n == 2 && !p->missed[0] && !p->missed[1]);
    CHECK(p->at[0] == at("2027-01-01T10:00:00Z") && p->at[1] == at("2027-01-01T10:01:00Z"));
    CHECK(p->ended && p->until_ms == at("2027-01-01T10:01:00Z"));
    ap_recur_free(r);
    free(p);
}

/* A week without a scheduler for a minutely rule: the 10,080-odd missed
 * occurrences leave only the newest AP_RECUR_MISSED_ROWS as skipped rows;
 * those within the grace and the next horizon's are pending; a pass stops
 * at AP_RECUR_PASS_ROWS pending rows and says where. */
static void test_outage_no_burst(void) {
    ap_occurrence_plan *p = malloc(sizeof(*p));
    ap_recur *r = rule("FREQ=MINUTELY", "UTC", "2027-01-01T00:00:00");
    int64_t last = at("2027-01-01T00:00:00Z"), now = last + 7 * 24 * HOUR + 30000;
    ap_occurrence_plan_make(r, last, now, 20 * MIN, 5 * MIN, p);
    /* missed: every minute after last and before now - 5 min */
    size_t expect_missed = (size_t)((now - 5 * MIN - last) / MIN);
    CHECK(p->missed_total == expect_missed);
    size_t kept = 0;
    while (kept < p->n && p->missed[kept]) kept++;
    CHECK(kept == AP_RECUR_MISSED_ROWS);
    CHECK(p->at[kept - 1] == last + (int64_t)expect_missed * MIN); /* the newest missed */
    for (size_t i = 1; i < p->n; i++) CHECK(p->at[i] == p->at[i - 1] + MIN);
    CHECK(p->n - kept == 5 + 20); /* within the grace, then the horizon */
    CHECK(!p->ended && p->until_ms == now + 20 * MIN);
    ap_recur_free(r);

    /* A horizon longer than a pass: stops at AP_RECUR_PASS_ROWS, resumes. */
    r = rule("FREQ=MINUTELY", "UTC", "2027-01-01T00:00:00");
    ap_occurrence_plan_make(r, last, last, 31 * 24 * HOUR, 10 * MIN, p);
    CHECK(p->n == AP_RECUR_PASS_ROWS && p->missed_total == 0);
    CHECK(p->until_ms == p->at[p->n - 1]);
    int64_t until = p->until_ms;
    ap_occurrence_plan_make(r, until, last, 31 * 24 * HOUR, 10 * MIN, p);
    CHECK(p->n == AP_RECUR_PASS_ROWS && p->at[0] == until + MIN);
    ap_recur_free(r);
    free(p);
}

/* Nothing due: a yearly rule far from now plans nothing and stays open. */
static void test_nothing_in_horizon(void) {
    ap_occurrence_plan *p = malloc(sizeof(*p));
    ap_recur *r = rule("FREQ=YEARLY", "Asia/Ho_Chi_Minh", "2027-06-01T08:00:00");
    int64_t now = at("2027-06-02T00:00:00Z");
    ap_occurrence_plan_make(r, now, now, 24 * HOUR, 10 * MIN, p);
    CHECK(p->n == 0 && !p->ended && p->until_ms == now + 24 * HOUR);
    ap_recur_free(r);
    free(p);
}

int main(void) {
    RUN(test_daily_within_horizon);
    RUN(test_count_ends);
    RUN(test_outage_no_burst);
    RUN(test_nothing_in_horizon);
    return TEST_RESULT();
}
