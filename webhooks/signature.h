/* signature.h -- the Autopost-Signature header of a webhook delivery and the
 * secret it is made with (Stripe's scheme, which receivers already know).
 *
 *   Autopost-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * The HMAC key is the secret string exactly as `autopostctl webhooks add`
 * (or POST /v1/webhooks) printed it, "whsec_" + 64 hex characters, so a
 * receiver passes the string it was given to its HMAC function. t is part of
 * the signed bytes: a receiver that rejects an old t (the README suggests
 * 5 minutes) cannot be fed a captured delivery again later. The body is
 * signed as the raw bytes sent; a receiver must verify before parsing. */
#ifndef WH_SIGNATURE_H
#define WH_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "ap_status.h"

#define WH_SECRET_PREFIX "whsec_"
#define WH_SECRET_RANDOM_BYTES 32
#define WH_SECRET_LEN (sizeof(WH_SECRET_PREFIX) - 1 + 2 * WH_SECRET_RANDOM_BYTES)
/* "t=" + up to 20 digits + ",v1=" + 64 hex + NUL */
#define WH_SIGNATURE_HEADER_MAX 96

/* A new secret from OpenSSL's CSPRNG into out (WH_SECRET_LEN + 1 bytes).
 * AP_ECRYPTO when the random source fails. */
ap_status wh_secret_generate(char out[WH_SECRET_LEN + 1]);

/* The header value for body sent at unix time t, signed with secret.
 * AP_EINVAL when out is too small or t is negative; AP_ECRYPTO when
 * OpenSSL fails. */
ap_status wh_signature_header(const char *secret, size_t secret_len, int64_t t, const char *body,
                              size_t body_len, char *out, size_t outlen);

#endif
