/* test_retry.c -- backoff between attempts (ap_retry_delay_ms in
 * publishers/engine/retry.c). rnd is passed in, so every case is exact. */
#include <stdint.h>

#include "runtime.h"
#include "test.h"

#define BASE 1000
#define CAP (5 * 60 * 1000)
#define DAY (INT64_C(24) * 3600 * 1000)
#define TOP 0.999999 /* the largest rnd a [0, 1) generator gives, near enough */

static void test_grows_exponentially(void) {
    /* rnd just below 1 gives (almost) the full delay: base * 2^(attempt-1). */
    CHECK(ap_retry_delay_ms(1, BASE, CAP, 0, TOP) == 999);
    CHECK(ap_retry_delay_ms(2, BASE, CAP, 0, TOP) == 1999);
    CHECK(ap_retry_delay_ms(3, BASE, CAP, 0, TOP) == 3999);
    CHECK(ap_retry_delay_ms(4, BASE, CAP, 0, TOP) == 7999);
    for (int a = 1; a < 8; a++)
        CHECK(ap_retry_delay_ms(a + 1, BASE, CAP, 0, 0.0) ==
              2 * ap_retry_delay_ms(a, BASE, CAP, 0, 0.0));
}

static void test_capped(void) {
    CHECK(ap_retry_delay_ms(9, BASE, CAP, 0, 0.0) == 128000);   /* 256 s, under the cap */
    CHECK(ap_retry_delay_ms(10, BASE, CAP, 0, 0.0) == CAP / 2); /* 512 s, capped to 300 s */
    CHECK(ap_retry_delay_ms(50, BASE, CAP, 0, TOP) <= CAP);
    CHECK(ap_retry_delay_ms(1000000, BASE, CAP, 0, TOP) <= CAP);   /* no overflow */
    CHECK(ap_retry_delay_ms(3, 10 * CAP, CAP, 0, 0.0) == CAP / 2); /* base above cap */
}

static void test_jitter_bounds(void) {
    for (int a = 1; a <= 12; a++) {
        int64_t d = BASE;
        for (int i = 1; i < a && d < CAP; i++) d *= 2;
        if (d > CAP) d = CAP;
        int64_t lo = ap_retry_delay_ms(a, BASE, CAP, 0, 0.0);
        int64_t hi = ap_retry_delay_ms(a, BASE, CAP, 0, 0.999);
        int64_t mid = ap_retry_delay_ms(a, BASE, CAP, 0, 0.5);
        CHECK(lo == d / 2);
        CHECK(hi >= d / 2 && hi <= d);
        CHECK(hi > lo);
        CHECK(mid >= lo && mid <= hi);
    }
}

static void test_hint_wins_when_longer(void) {
    CHECK(ap_retry_delay_ms(1, BASE, CAP, 7 * 60 * 1000, 0.5) == 7 * 60 * 1000); /* > cap too */
    CHECK(ap_retry_delay_ms(1, BASE, CAP, 600, 0.0) == 600);                     /* 600 > 500 */
    CHECK(ap_retry_delay_ms(5, BASE, CAP, 600, 0.0) == 8000); /* backoff longer */
    CHECK(ap_retry_delay_ms(5, BASE, CAP, -1, 0.0) == 8000);  /* no hint */
}

static void test_never_more_than_a_day(void) {
    CHECK(ap_retry_delay_ms(1, BASE, CAP, 3 * DAY, 0.5) == DAY);
    CHECK(ap_retry_delay_ms(1, BASE, CAP, INT64_MAX, 0.5) == DAY);
    CHECK(ap_retry_delay_ms(60, BASE, 10 * DAY, 0, TOP) == DAY);
}

static void test_zero_and_odd_inputs(void) {
    CHECK(ap_retry_delay_ms(0, BASE, CAP, 0, 0.0) == BASE / 2); /* attempt 0 acts as 1 */
    CHECK(ap_retry_delay_ms(-3, BASE, CAP, 0, 0.0) == BASE / 2);
    CHECK(ap_retry_delay_ms(4, 0, CAP, 0, 0.5) == 0);
    CHECK(ap_retry_delay_ms(1, 1, CAP, 0, 0.0) == 0);
}

int main(void) {
    RUN(test_grows_exponentially);
    RUN(test_capped);
    RUN(test_jitter_bounds);
    RUN(test_hint_wins_when_longer);
    RUN(test_never_more_than_a_day);
    RUN(test_zero_and_odd_inputs);
    return TEST_RESULT();
}
