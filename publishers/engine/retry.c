/* retry.c -- the retry policy: how long a job waits before its next
 * attempt (exponential, capped, jittered, never shorter than the platform's
 * hint). */
#include "engine.h"

int64_t ap_retry_delay_ms(int attempt, int64_t base_ms, int64_t cap_ms, int64_t hint_ms,
                          double rnd) {
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap_ms; i++) d *= 2;
    if (d > cap_ms) d = cap_ms;
    /* Jitter spreads a burst of failures (3,000 jobs hitting one 5xx) apart. */
    d = d / 2 + (int64_t)((double)(d - d / 2) * rnd);
    if (hint_ms > d) d = hint_ms;
    const int64_t day = 24 * 3600 * 1000;
    return d > day ? day : d;
}

double engine_rand01(publisher *p) { return (double)rand_r(&p->rng) / ((double)RAND_MAX + 1.0); }
