/* ap_crypto.h -- credentials sealed with AES-256-GCM (OpenSSL).
 *
 * Account tokens are stored sealed in PostgreSQL and travel sealed inside
 * PublishJob messages; only publishers (and autopostctl, which seals them)
 * hold the key. The platform and the account id are bound as associated
 * data ("<platform>/<account id>"), so a sealed token copied onto another
 * account, or handed to another platform's publisher, does not open.
 *
 * Sealed layout: "AP2" | key id (8 bytes) | nonce (12) | tag (16) | ciphertext.
 * "AP1" blobs (sealed before the platform was bound: account id only) still
 * open; `autopostctl keys rotate` re-seals them as AP2.
 * The key id (first 8 bytes of SHA-256 of the key) lets keys rotate: a
 * publisher can tell which key a blob needs.
 *
 * Rotation: a keyring holds the current key (credentials.key_file, or
 * AUTOPOST_CREDENTIALS_KEY) and the previous ones still accepted for opening
 * (credentials.previous_key_files). Seals always use the current key; opens
 * pick the key whose id the blob names, so a publisher opens jobs sealed
 * before and after the switch without knowing which key sealed which, and
 * `autopostctl keys rotate` re-seals the stored rows under the current key.
 * The key id is not secret (it is a hash prefix and travels in every blob);
 * it is what operators compare (`autopostctl keys id`). */
#ifndef AP_CRYPTO_H
#define AP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_status.h"

#define AP_CRYPTO_KEY_LEN 32
#define AP_CRYPTO_KID_LEN 8
#define AP_CRYPTO_OVERHEAD (3 + AP_CRYPTO_KID_LEN + 12 + 16)
#define AP_CRYPTO_MAX_PLAINTEXT 8192
#define AP_CRYPTO_KID_OFFSET 3 /* after the "AP2" magic */
#define AP_CRYPTO_SEAL_VERSION 2 /* what ap_crypto_seal writes */
#define AP_CRYPTO_KID_HEX_LEN (AP_CRYPTO_KID_LEN * 2 + 1)
/* Current + previous keys: rotations overlap rarely, so a handful is plenty
 * and a fixed array keeps the keyring free of allocations. */
#define AP_CRYPTO_MAX_KEYS 8

typedef struct ap_crypto_key {
    uint8_t key[AP_CRYPTO_KEY_LEN];
    uint8_t kid[AP_CRYPTO_KID_LEN];
} ap_crypto_key;

/* From credentials_key_hex (env) or credentials.key_file (64 hex chars). */
ap_status ap_crypto_key_load(ap_crypto_key *key, const ap_config *cfg, char *err, size_t errlen);
ap_status ap_crypto_key_from_hex(ap_crypto_key *key, const char *hex);
void ap_crypto_key_wipe(ap_crypto_key *key);

/* kid as 16 lowercase hex characters (out holds AP_CRYPTO_KID_HEX_LEN). */
void ap_crypto_kid_hex(const uint8_t *kid, char *out);

/* *out is malloc'ed (caller frees), *outlen = len + AP_CRYPTO_OVERHEAD. */
ap_status ap_crypto_seal(const ap_crypto_key *key, const char *aad, const uint8_t *plain,
                         size_t len, uint8_t **out, size_t *outlen);
/* The same in an explicit format version: 1 writes a legacy AP1 blob, which
 * only tests and upgrade checks need. */
ap_status ap_crypto_seal_version(const ap_crypto_key *key, int version, const char *aad,
                                 const uint8_t *plain, size_t len, uint8_t **out,
                                 size_t *outlen);
/* *plain is malloc'ed and NUL-terminated; wipe and free it after use. */
ap_status ap_crypto_open(const ap_crypto_key *key, const char *aad, const uint8_t *sealed,
                         size_t len, char **plain, size_t *plainlen);
/* The key id a sealed blob names: *kid points into sealed. AP_EINVAL when
 * the bytes are not a sealed blob of this format. */
ap_status ap_crypto_sealed_kid(const uint8_t *sealed, size_t len, const uint8_t **kid);

/* 2 for an AP2 blob, 1 for a legacy AP1 blob, 0 when not a sealed blob. */
int ap_crypto_sealed_version(const uint8_t *sealed, size_t len);

/* ---- keyring ------------------------------------------------------------ */

typedef struct ap_crypto_keyring {
    ap_crypto_key keys[AP_CRYPTO_MAX_KEYS]; /* keys[0] is the current key */
    int nkeys;
} ap_crypto_keyring;

/* The current key (as ap_crypto_key_load) plus every file listed in
 * credentials.previous_key_files (comma-separated; blanks around names and
 * empty items are ignored). A previous key equal to the current one is
 * skipped, so a half-finished rotation config still loads. */
ap_status ap_crypto_keyring_load(ap_crypto_keyring *ring, const ap_config *cfg, char *err,
                                 size_t errlen);
/* A ring holding only `current`. */
void ap_crypto_keyring_init(ap_crypto_keyring *ring, const ap_crypto_key *current);
/* Adds a key accepted for opening. A key already in the ring is a no-op;
 * AP_EINVAL when the ring is full or another key has the same key id. */
ap_status ap_crypto_keyring_add(ap_crypto_keyring *ring, const ap_crypto_key *key);
/* The key that seals (keys[0]). */
const ap_crypto_key *ap_crypto_keyring_current(const ap_crypto_keyring *ring);
/* The key with this id, or NULL. */
const ap_crypto_key *ap_crypto_keyring_find(const ap_crypto_keyring *ring, const uint8_t *kid);
/* ap_crypto_open with the key the blob names. AP_ENOTFOUND when no key of
 * the ring has that id; otherwise as ap_crypto_open. */
ap_status ap_crypto_keyring_open(const ap_crypto_keyring *ring, const char *aad,
                                 const uint8_t *sealed, size_t len, char **plain, size_t *plainlen);
void ap_crypto_keyring_wipe(ap_crypto_keyring *ring);

/* ---- what a sealed blob holds ---------------------------------------------
 *
 * The plaintext is either a bare access token (every account stored before
 * refresh support, and still accepted) or one JSON object:
 *
 *   {"v":1,"access_token":"...","refresh_token":"...","expires_at_ms":N,
 *    "issued_at_ms":N}
 *
 * issued_at_ms orders credentials of one account: `autopostctl` stamps the
 * time an operator set it, a publisher the time it refreshed it. Publishers
 * use the newest credential they know of; the dispatcher stores a refreshed
 * one only over an older one; a reauth mark applies to credentials no newer
 * than the one the platform refused. A bare token is issued_at 0. */
typedef struct ap_credential {
    char *access_token;    /* never NULL after a successful decode */
    char *refresh_token;   /* NULL when none */
    int64_t expires_at_ms; /* 0: unknown (the platform decides) */
    int64_t issued_at_ms;  /* 0: a bare token */
    bool platform_bound;   /* opened from an AP2 blob (false: legacy AP1) */
} ap_credential;

/* Is token usable in an HTTP header? False for NULL and for any C0 control
 * character or DEL: curl sends "Bearer <token>" as given, so a CR/LF inside
 * a token would inject header lines. ctl refuses such tokens, decode and
 * the token-endpoint answer path refuse them too. */
bool ap_credential_token_clean(const char *token);

/* Parses a plaintext (bare or JSON). The strings are malloc'ed copies:
 * release with ap_credential_wipe. AP_EINVAL for an empty token or a JSON
 * object without access_token, or a token with a control character. */
ap_status ap_credential_decode(const char *plain, size_t len, ap_credential *out);
/* The JSON form (always, even without a refresh token). malloc'ed and
 * NUL-terminated; wipe it after sealing. NULL when out of memory or when a
 * token is not valid UTF-8 (JSON cannot carry it). */
char *ap_credential_encode(const ap_credential *c, size_t *len);
/* Wipes and frees the strings; NULL is a no-op. */
void ap_credential_wipe(ap_credential *c);
/* The associated data of a credential sealed in format `version`:
 * "<platform>/<account id>" (2) or the account id alone (legacy 1).
 * AP_EINVAL when it does not fit or version 2 has no platform. */
#define AP_CREDENTIAL_AAD_LEN 192
ap_status ap_credential_aad(char *out, size_t outlen, int version, const char *platform,
                            const char *account_id);
/* Seals c for (platform, account_id) with the ring's current key. */
ap_status ap_credential_seal(const ap_crypto_keyring *ring, const char *platform,
                             const char *account_id, const ap_credential *c, uint8_t **out,
                             size_t *outlen);
/* Opens and decodes a sealed credential as `platform` would: an AP2 blob
 * sealed for another platform or account fails with AP_ECRYPTO. */
ap_status ap_credential_open(const ap_crypto_keyring *ring, const char *platform,
                             const char *account_id, const uint8_t *sealed, size_t len,
                             ap_credential *out);

/* A sealed blob's fingerprint: the first 16 bytes of its SHA-256, in hex
 * (out holds AP_CRYPTO_DIGEST_HEX_LEN). Not secret: it names which sealed
 * credential failed or was replaced without carrying any of it. */
#define AP_CRYPTO_DIGEST_HEX_LEN 33
void ap_crypto_digest_hex(const uint8_t *data, size_t len, char *out);

#endif
