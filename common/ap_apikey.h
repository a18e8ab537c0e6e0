/* ap_apikey.h -- the API key format, in one place for the tool that mints
 * keys (`autopostctl api-keys create`) and the service that checks them
 * (autopost-api).
 *
 * A key is "apk_" + 64 lowercase hex characters: 32 bytes from OpenSSL's
 * RAND_bytes, so guessing one is hopeless and a plain SHA-256 of the whole
 * key string is a safe thing to store (no salt or slow hash is needed for
 * 256 random bits; a fast hash keeps the per-request check cheap).
 * api_keys.key_prefix holds the first AP_APIKEY_PREFIX_LEN characters so an
 * operator can tell keys apart without the key. */
#ifndef AP_APIKEY_H
#define AP_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#define AP_APIKEY_SCHEME "apk_"
#define AP_APIKEY_LEN (4 + 64)    /* characters, without the NUL */
#define AP_APIKEY_PREFIX_LEN 12   /* "apk_" + 8 hex: shown by api-keys list */
#define AP_APIKEY_HASH_HEX_LEN 64 /* SHA-256 as lowercase hex */

/* Fills key (AP_APIKEY_LEN + 1 bytes) with a new random key; false when the
 * random generator fails (then key holds nothing usable). */
bool ap_apikey_generate(char key[AP_APIKEY_LEN + 1]);

/* Whether s has the key's shape; a request whose token does not is refused
 * before any database work. */
bool ap_apikey_well_formed(const char *s);

/* SHA-256 of the key string as lowercase hex (the value api_keys.key_hash
 * stores, written decode(hex, 'hex') in SQL). */
void ap_apikey_hash_hex(const char *key, char out[AP_APIKEY_HASH_HEX_LEN + 1]);

#endif
