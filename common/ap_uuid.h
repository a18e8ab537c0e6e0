/* ap_uuid.h -- the one place that knows what a UUID looks like.
 *
 * autopost stores and compares UUIDs in PostgreSQL's canonical text form:
 * 36 characters, lowercase hex, dashes at 8/13/18/23. Input from people
 * (autopostctl, the console API) may be uppercase: normalise it first. */
#ifndef AP_UUID_H
#define AP_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define AP_UUID_TEXT_LEN 36

/* True for the canonical lowercase form only. */
bool ap_uuid_valid(const char *s);
/* Copies s lowercased into out; true if the result is a valid UUID. */
bool ap_uuid_normalize(const char *s, char out[AP_UUID_TEXT_LEN + 1]);
/* A time-ordered UUID (version 7, RFC 9562): unix_ms, then `counter` as a
 * 32-bit dedicated counter (RFC 9562 method 1), then 42 random bits from
 * OpenSSL's CSPRNG. Ids drawn with one timestamp and a rising counter sort
 * in that order, so bulk inserts append to the right edge of the
 * primary-key B-trees instead of touching random pages. False if the
 * random source fails. */
bool ap_uuid_v7(char out[AP_UUID_TEXT_LEN + 1], int64_t unix_ms, uint32_t counter);

#endif
