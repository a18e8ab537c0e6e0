/* retry.c -- backoff with full jitter and the give-up rule (retry.h). */
#include "retry.h"

int64_t wh_retry_cap_ms(const wh_retry_policy *p, int attempts) {
    int64_t cap = p->initial_ms;
    /* Doubling stops at the ceiling, so no shift can overflow. */
    for (int i = 1; i < attempts && cap < p->max_ms; i++) cap *= 2;
    return cap < p->max_ms ? cap : p->max_ms;
}

int64_t wh_retry_delay_ms(const wh_retry_policy *p, int attempts, uint64_t random64) {
    int64_t cap = wh_retry_cap_ms(p, attempts);
    if (cap <= 0) return 0;
    return (int64_t)(random64 % ((uint64_t)cap + 1));
}

wh_outcome wh_retry_decide(const wh_retry_policy *p, long http_status, int attempts,
                           int64_t created_ms, int64_t now_ms, uint64_t random64,
                           int64_t *next_ms) {
    if (http_status >= 200 && http_status <= 299) return WH_DELIVERED;
    if (now_ms - created_ms >= p->give_up_after_ms) return WH_GIVE_UP;
    *next_ms = now_ms + wh_retry_delay_ms(p, attempts, random64);
    return WH_RETRY;
}
