/* ap_time.h -- clocks, RFC 3339 timestamps and human durations ("250ms").
 *
 * All autopost times are int64 milliseconds since the Unix epoch (UTC);
 * JetStream wants nanoseconds and NakWithDelay wants milliseconds, so the
 * conversion lives at those call sites, named, never implicit. */
#ifndef AP_TIME_H
#define AP_TIME_H

#include <stddef.h>
#include <stdint.h>

#define AP_NS_PER_MS INT64_C(1000000)

int64_t ap_now_ms(void);  /* wall clock, for timestamps */
int64_t ap_mono_ms(void); /* monotonic, for timeouts and intervals */
void ap_sleep_ms(int64_t ms);

/* Parses "2026-11-28T09:00:00Z", "...T09:00:00.250+07:00". Returns 0 or -1. */
int ap_time_parse_rfc3339(const char *s, int64_t *out_ms);
/* Writes "2026-11-28T09:00:00.000Z"; buf needs 32 bytes. */
void ap_time_format_rfc3339(int64_t ms, char *buf, size_t len);

/* Parses "1500ms", "2s", "5m", "1h", "1h30m", or a bare number of seconds.
 * Returns 0 or -1 (negative, empty, over 366 days, unknown unit). */
int ap_duration_parse(const char *s, int64_t *out_ms);

#endif
