/* ap_recur.h -- recurring posts: an RFC 5545 RRULE in an IANA time zone,
 * expanded to UTC instants.
 *
 * libical expands the rule over local wall times (floating, no zone), and
 * this module turns each wall time into an instant with the zone's rules
 * (system tzdata, through libical's zone tables). Two wall times need a
 * stated rule, and the one here is RFC 5545's:
 *   - a wall time that does not exist (spring forward, e.g. 02:30 on the
 *     day New York moves 02:00 -> 03:00) is not an instance: RFC 5545
 *     3.3.10 says such recurrence instances "MUST be ignored and MUST NOT
 *     be counted". A start time that does not exist is refused.
 *   - a wall time that exists twice (fall back, e.g. 01:30 when 02:00 EDT
 *     becomes 01:00 EST) is its first occurrence, the earlier instant
 *     (RFC 5545 3.3.5).
 * COUNT counts the instances that exist; UNTIL is compared with the
 * instant when it is a UTC time ("...Z"), else with the local wall time.
 *
 * Limits, so that no rule costs more than a bounded walk: FREQ=SECONDLY is
 * refused, FREQ=MINUTELY takes only BYDAY (no position), BYHOUR, BYMINUTE
 * and BYSECOND, and a series ends 10 years after its start at the latest.
 *
 * Thread-safe: libical's zone cache is shared, so calls are serialised. */
#ifndef AP_RECUR_H
#define AP_RECUR_H

#include <stddef.h>
#include <stdint.h>

#include "ap_status.h"

typedef struct ap_recur ap_recur;

/* Why a rule was refused: which input ("rrule", "tz" or "start") and a
 * sentence for a person (no input bytes beyond what they typed). */
typedef struct ap_recur_error {
    const char *field;
    char reason[160];
} ap_recur_error;

/* Parses rrule (the RRULE value, e.g. "FREQ=DAILY;COUNT=3", an optional
 * leading "RRULE:" is accepted), tz (an IANA zone such as
 * "Asia/Ho_Chi_Minh") and start (local wall time "YYYY-MM-DDTHH:MM:SS" in
 * tz). A rule whose instances come closer together than min_interval_s
 * seconds is refused (0: no bound). AP_EINVAL with *why filled, AP_ENOMEM. */
ap_status ap_recur_new(ap_recur **out, const char *rrule, const char *tz, const char *start,
                       int64_t min_interval_s, ap_recur_error *why);

void ap_recur_free(ap_recur *r);

/* Up to max instants (epoch ms, UTC) strictly after after_ms, ascending,
 * into out; returns how many (fewer when the rule ends: COUNT, UNTIL, or
 * the 10-year horizon). r remembers where the walk passed after_ms, so
 * calls with growing after_ms (a materialiser) cost only what they return. */
size_t ap_recur_next(ap_recur *r, int64_t after_ms, int64_t *out, size_t max);

#endif
