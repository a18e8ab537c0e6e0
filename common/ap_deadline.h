/* ap_deadline.h -- when a schedule stops being worth publishing (README
 * "Deadlines").
 *
 * A post may carry its own deadline, and platforms.<p>.max_lateness gives
 * every post of a platform one of scheduled_at + that. The effective
 * deadline is the earlier of the two; past it, a schedule that has not
 * started its platform call ends 'expired' (reason deadline_passed) instead
 * of going out late, e.g. hours after an outage.
 *
 * Where it is checked: the scheduler, before and at the claim (a due row
 * past it is expired, not published); the publisher, right before the first
 * request of a publish flow (also after a deferral or a redelivery). The
 * one rule that protects exactly-once: a job whose attempt record says a
 * call may have started, or whose delivery already sent a request, is never
 * expired: the post may be live, so it follows the read-back path and ends
 * published, failed or unconfirmed like any other.
 *
 * Pure functions, no I/O: the whole decision is unit-tested alone. Times
 * are epoch milliseconds; 0 means "none" everywhere. */
#ifndef AP_DEADLINE_H
#define AP_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The error_code stored on an expired schedule. */
#define AP_DEADLINE_CODE "deadline_passed"

/* The earlier of post_deadline_ms and scheduled_at_ms + max_lateness_ms,
 * ignoring whichever is 0; 0 when neither is set. */
int64_t ap_deadline_effective(int64_t post_deadline_ms, int64_t scheduled_at_ms,
                              int64_t max_lateness_ms);

/* True when the deadline has passed at now_ms (a call may still start at
 * the deadline itself). A deadline of 0 never passes. */
bool ap_deadline_passed(int64_t deadline_ms, int64_t now_ms);

typedef enum ap_deadline_verdict {
    AP_DEADLINE_GO,     /* call the platform (or read back) as usual */
    AP_DEADLINE_EXPIRE, /* no call: end the job expired */
} ap_deadline_verdict;

/* The publisher's decision right before a publish flow's first request.
 * call_may_have_started: the attempt record was found "started" (or
 * unreadable), or this delivery already sent a request: never expired. */
ap_deadline_verdict ap_deadline_decide(int64_t deadline_ms, int64_t now_ms,
                                       bool call_may_have_started);

/* The stored reason: "deadline 2026-...Z passed <n> s before <who> could
 * start the platform call", truncated to len. */
void ap_deadline_reason(char *buf, size_t len, int64_t deadline_ms, int64_t now_ms,
                        const char *who);

#endif
