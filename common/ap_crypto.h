/* ap_crypto.h -- credentials sealed with AES-256-GCM (OpenSSL).
 *
 * Account tokens are stored sealed in PostgreSQL and travel sealed inside
 * PublishJob messages; only publishers (and autopostctl, which seals them)
 * hold the key. The account id is bound as associated data, so a sealed
 * token copied onto another account does not open.
 *
 * Sealed layout: "AP1" | key id (8 bytes) | nonce (12) | tag (16) | ciphertext.
 * The key id (first 8 bytes of SHA-256 of the key) lets keys rotate: a
 * publisher can tell which key a blob needs. */
#ifndef AP_CRYPTO_H
#define AP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_status.h"

#define AP_CRYPTO_KEY_LEN 32
#define AP_CRYPTO_KID_LEN 8
#define AP_CRYPTO_OVERHEAD (3 + AP_CRYPTO_KID_LEN + 12 + 16)
#define AP_CRYPTO_MAX_PLAINTEXT 8192

typedef struct ap_crypto_key {
    uint8_t key[AP_CRYPTO_KEY_LEN];
    uint8_t kid[AP_CRYPTO_KID_LEN];
} ap_crypto_key;

/* From credentials_key_hex (env) or credentials.key_file (64 hex chars). */
ap_status ap_crypto_key_load(ap_crypto_key *key, const ap_config *cfg, char *err, size_t errlen);
ap_status ap_crypto_key_from_hex(ap_crypto_key *key, const char *hex);
void ap_crypto_key_wipe(ap_crypto_key *key);

/* *out is malloc'ed (caller frees), *outlen = len + AP_CRYPTO_OVERHEAD. */
ap_status ap_crypto_seal(const ap_crypto_key *key, const char *aad, const uint8_t *plain,
                         size_t len, uint8_t **out, size_t *outlen);
/* *plain is malloc'ed and NUL-terminated; wipe and free it after use. */
ap_status ap_crypto_open(const ap_crypto_key *key, const char *aad, const uint8_t *sealed,
                         size_t len, char **plain, size_t *plainlen);

#endif
