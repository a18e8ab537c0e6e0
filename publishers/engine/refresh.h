/* refresh.h -- OAuth 2.0 access token refresh (RFC 6749 section 6), as pure
 * decisions the runtime acts on. No I/O here: the runtime sends the request
 * on its curl multi handle and keeps the cross-replica lock in the
 * autopost_accounts KV bucket (accounts.h).
 *
 * When: before a job's flow when the access token expires within
 * platforms.<name>.token_refresh_margin, and once after a REAUTH answer if
 * the credential has a refresh token (the platform may have revoked the
 * access token early). Only with platforms.<name>.token_url configured.
 *
 * Single use: X rotates refresh tokens and each one works once, so exactly
 * one replica refreshes an account (a create-only lock key); the others wait
 * for the new credential to appear in the bucket and use it.
 *
 * Ambiguity: a refresh whose answer never arrived may have consumed the
 * refresh token server-side, and the new pair is lost with the answer.
 * Sending the same token again is not a blind retry we can make freely: the
 * lock is left in state "ambiguous" and nobody refreshes that account for a
 * cool-down (jobs keep using the old access token while it is still valid,
 * or wait). After the cool-down exactly one replica tries once more: either
 * the platform never processed the first request and it works, or it
 * answers invalid_grant and the account is marked reauth_required with a
 * message that says the rotation was probably lost. One attempt per
 * cool-down, never a loop. Answers that prove nothing was consumed (no
 * connection, 429, 503, a 4xx other than invalid_grant) release the lock. */
#ifndef AP_REFRESH_H
#define AP_REFRESH_H

#include <stdbool.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_crypto.h"
#include "http.h"

/* Refresh before the flow? */
bool ap_refresh_due(const ap_platform_config *pc, const ap_credential *c, int64_t now_ms);
/* Could a refresh help after a REAUTH answer? (The caller allows it once.) */
bool ap_refresh_possible(const ap_platform_config *pc, const ap_credential *c);
/* Is the access token past its expiry (so it is useless without a refresh)? */
bool ap_refresh_credential_expired(const ap_credential *c, int64_t now_ms);

/* What the lock key says and what to do about it. */
typedef struct ap_refresh_lock {
    bool present;
    bool ambiguous; /* the holder's refresh got no answer */
    int64_t at_ms;  /* when it was taken or turned ambiguous */
    uint64_t revision;
} ap_refresh_lock;

typedef enum ap_lock_action {
    AP_LOCK_TAKE,     /* absent: create it */
    AP_LOCK_WAIT,     /* another replica is refreshing now */
    AP_LOCK_TAKEOVER, /* stale (holder died) or cool-down over: compare-and-set */
    AP_LOCK_COOLDOWN  /* an ambiguous refresh is recent: do not refresh */
} ap_lock_action;

ap_lock_action ap_refresh_lock_decide(const ap_refresh_lock *l, int64_t now_ms, int64_t stale_ms,
                                      int64_t cooldown_ms);

/* The request. client_secret may be NULL (public client). */
ap_status ap_refresh_request(ap_http_request *req, const ap_platform_config *pc,
                             const char *client_secret, const char *refresh_token);

typedef enum ap_refresh_outcome {
    AP_REFRESH_OK,            /* *out holds the new credential */
    AP_REFRESH_INVALID_GRANT, /* the refresh token is dead: reconnect the account */
    AP_REFRESH_NOT_DONE,      /* definitely not consumed: try again later */
    AP_REFRESH_AMBIGUOUS      /* may have been consumed: see the comment above */
} ap_refresh_outcome;

/* Classifies the token endpoint's answer. On OK, out is the new credential:
 * a new refresh token when one came back (else the old one is kept),
 * expires_at from expires_in, issued_at = max(now, old issued_at + 1). msg
 * says what happened (never a token). A token with a control character is
 * refused (AMBIGUOUS); expires_in is clamped to AP_REFRESH_EXPIRES_IN_MAX. */
/* expires_in above this (ten years, in seconds) is taken as this. */
#define AP_REFRESH_EXPIRES_IN_MAX (10LL * 366 * 86400)

ap_refresh_outcome ap_refresh_parse(const ap_http_response *res, const ap_credential *old,
                                    int64_t now_ms, ap_credential *out, char *msg, size_t len);

#endif
