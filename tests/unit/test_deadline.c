/* test_deadline.c -- the deadline decision (common/ap_deadline.c): which
 * deadline applies, when it has passed, and that a call that may have
 * started is never expired. */
#include <stdint.h>
#include <string.h>

#include "ap_deadline.h"
#include "test.h"

#define T0 INT64_C(1795856400000) /* 2026-11-28T09:00:00Z */
#define MIN INT64_C(60000)
#define HOUR (60 * MIN)

static void test_effective_picks_the_earlier(void) {
    /* Neither set: no deadline. */
    CHECK(ap_deadline_effective(0, T0, 0) == 0);
    /* Only the post's own. */
    CHECK(ap_deadline_effective(T0 + HOUR, T0, 0) == T0 + HOUR);
    /* Only the platform's max_lateness. */
    CHECK(ap_deadline_effective(0, T0, 15 * MIN) == T0 + 15 * MIN);
    /* Both: the earlier wins, either way round. */
    CHECK(ap_deadline_effective(T0 + 10 * MIN, T0, 15 * MIN) == T0 + 10 * MIN);
    CHECK(ap_deadline_effective(T0 + 2 * HOUR, T0, 15 * MIN) == T0 + 15 * MIN);
    /* A lateness that would overflow is no bound, not a deadline in the past. */
    CHECK(ap_deadline_effective(0, T0, INT64_MAX) == 0);
    CHECK(ap_deadline_effective(T0 + HOUR, T0, INT64_MAX) == T0 + HOUR);
    /* Negative values are "none" (a bad row must not expire everything). */
    CHECK(ap_deadline_effective(-5, T0, -5) == 0);
}

static void test_passed(void) {
    CHECK(!ap_deadline_passed(0, T0));            /* none never passes */
    CHECK(!ap_deadline_passed(T0, T0 - 1));       /* before */
    CHECK(!ap_deadline_passed(T0, T0));           /* at the deadline a call may still start */
    CHECK(ap_deadline_passed(T0, T0 + 1));        /* a millisecond late */
    CHECK(ap_deadline_passed(T0, T0 + 5 * HOUR)); /* after an outage */
}

static void test_decide(void) {
    /* Fresh job, deadline ahead: go. */
    CHECK(ap_deadline_decide(T0 + MIN, T0, false) == AP_DEADLINE_GO);
    /* Fresh job (or one whose record says retry / deferred: nothing went
     * live), deadline passed: expire without a call. */
    CHECK(ap_deadline_decide(T0 - 1, T0, false) == AP_DEADLINE_EXPIRE);
    /* No deadline: go however late. */
    CHECK(ap_deadline_decide(0, T0 + 100 * HOUR, false) == AP_DEADLINE_GO);
    /* The attempt record says a call may have started: never expired, it
     * reads back, however far past the deadline. */
    CHECK(ap_deadline_decide(T0 - 1, T0, true) == AP_DEADLINE_GO);
    CHECK(ap_deadline_decide(T0 - 100 * HOUR, T0, true) == AP_DEADLINE_GO);
}

static void test_reason(void) {
    char buf[256];
    ap_deadline_reason(buf, sizeof(buf), T0, T0 + 90 * 1000, "the publisher");
    CHECK(strstr(buf, "2026-11-28T09:00:00.000Z") != NULL);
    CHECK(strstr(buf, "90 s") != NULL);
    CHECK(strstr(buf, "the publisher") != NULL);
    /* Truncation keeps a terminated prefix. */
    char small[16];
    ap_deadline_reason(small, sizeof(small), T0, T0 + 1000, "x");
    CHECK(strlen(small) == sizeof(small) - 1);
}

int main(void) {
    RUN(test_effective_picks_the_earlier);
    RUN(test_passed);
    RUN(test_decide);
    RUN(test_reason);
    return TEST_RESULT();
}
