/* retry.h -- what happens after one webhook delivery attempt: delivered,
 * retried later, or given up. No I/O: the delivery loop (delivery.c) asks,
 * tests/unit/test_webhooks.c checks the numbers.
 *
 * Backoff is exponential with full jitter (the wait is uniform in
 * [0, cap], cap = retry_initial * 2^(attempts-1), at most retry_max): many
 * endpoints that failed together (a receiver's outage) come back spread
 * out instead of in one wave. Giving up is by age, not by count: a delivery
 * is retried until an attempt fails give_up_after after the event reached
 * the service (24 h by default), whatever the backoff did meanwhile. */
#ifndef WH_RETRY_H
#define WH_RETRY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct wh_retry_policy {
    int64_t initial_ms;       /* webhooks.retry_initial */
    int64_t max_ms;           /* webhooks.retry_max */
    int64_t give_up_after_ms; /* webhooks.give_up_after */
} wh_retry_policy;

typedef enum wh_outcome {
    WH_DELIVERED, /* a 2xx answer */
    WH_RETRY,     /* anything else, or no answer: try again at next_ms */
    WH_GIVE_UP,   /* same, but the delivery is older than give_up_after */
} wh_outcome;

/* The longest wait after `attempts` failed attempts (>= 1). */
int64_t wh_retry_cap_ms(const wh_retry_policy *p, int attempts);
/* The wait itself: random64 (any 64-bit random value) scaled into [0, cap]. */
int64_t wh_retry_delay_ms(const wh_retry_policy *p, int attempts, uint64_t random64);

/* http_status: the answer's status, 0 when there was none (timeout,
 * refused address, connection error). created_ms: when the delivery row was
 * made; now_ms: when the attempt ended. *next_ms is set for WH_RETRY. */
wh_outcome wh_retry_decide(const wh_retry_policy *p, long http_status, int attempts,
                           int64_t created_ms, int64_t now_ms, uint64_t random64, int64_t *next_ms);

#endif
