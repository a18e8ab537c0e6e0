/* runtime.h -- the publisher runtime shared by every platform.
 *
 * One replica = a fetch thread per lane + one engine thread:
 *   fetch threads  pull jobs from the durable consumers publisher-<platform>
 *                  and publisher-<platform>-urgent (lanes.h), each while it
 *                  holds fewer than `concurrency` and a quarter;
 *   engine thread  starts held jobs, urgent first while normal ones keep
 *                  publisher.normal_share of the slots (lanes.h), and runs
 *                  every job's adapter flow on one curl multi handle
 *                  (thousands of concurrent calls without a thread each),
 *                  guards each attempt in the KV bucket, publishes a
 *                  PublishResult, then acks / naks with delay / terms.
 * MaxAckPending on the consumer caps in-flight jobs across all replicas. */
#ifndef AP_RUNTIME_H
#define AP_RUNTIME_H

#include <signal.h>
#include <stdint.h>

#include "adapter.h"
#include "ap_config.h"

/* Runs until *stop becomes non-zero, then drains (finishes or hands back
 * in-flight work within publisher.drain_grace). Returns 0 on a clean exit. */
int ap_publisher_run(const ap_config *cfg, const char *platform, volatile sig_atomic_t *stop);

/* Delay before the next attempt: exponential from base (attempt 1 -> base),
 * capped, with jitter in [d/2, d]; never shorter than the platform's hint.
 * rnd is a uniform random number in [0, 1). */
int64_t ap_retry_delay_ms(int attempt, int64_t base_ms, int64_t cap_ms, int64_t hint_ms,
                          double rnd);

#endif
