/* test_common_crypto.c -- AES-256-GCM credential sealing (common/ap_crypto.c). */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_config.h"
#include "ap_crypto.h"
#include "test.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "ffeeddccbbaa99887766554433221100FFEEDDCCBBAA99887766554433221100"
#define ACCOUNT "5b2f8a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define OTHER_ACCOUNT "6c3f8a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define TOKEN "EAAGm0PX4ZCpsBAKZCfake-page-token-0123456789"

/* Offsets in the sealed layout: "AP1" | kid (8) | nonce (12) | tag (16) | ct. */
#define OFF_KID 3
#define OFF_NONCE (OFF_KID + AP_CRYPTO_KID_LEN)
#define OFF_TAG (OFF_NONCE + 12)
#define OFF_CT (OFF_TAG + 16)

static ap_crypto_key key_a(void) {
    ap_crypto_key k;
    CHECK(ap_crypto_key_from_hex(&k, KEY_A) == AP_OK);
    return k;
}

static ap_crypto_key key_b(void) {
    ap_crypto_key k;
    CHECK(ap_crypto_key_from_hex(&k, KEY_B) == AP_OK);
    return k;
}

static void seal_token(const ap_crypto_key *k, uint8_t **out, size_t *outlen) {
    *out = NULL;
    *outlen = 0;
    CHECK(ap_crypto_seal(k, ACCOUNT, (const uint8_t *)TOKEN, strlen(TOKEN), out, outlen) == AP_OK);
}

/* Opens sealed with key/aad; returns the status, frees any plaintext. */
static ap_status try_open(const ap_crypto_key *k, const char *aad, const uint8_t *sealed,
                          size_t len) {
    char *plain = NULL;
    size_t plainlen = 0;
    ap_status s = ap_crypto_open(k, aad, sealed, len, &plain, &plainlen);
    if (s == AP_OK) {
        explicit_bzero(plain, plainlen);
        free(plain);
    } else {
        CHECK(plain == NULL);
    }
    return s;
}

static void test_seal_open_round_trip(void) {
    ap_crypto_key k = key_a();
    uint8_t *sealed;
    size_t len;
    seal_token(&k, &sealed, &len);
    CHECK(len == strlen(TOKEN) + AP_CRYPTO_OVERHEAD);
    CHECK(memcmp(sealed, "AP2", 3) == 0);
    CHECK(ap_crypto_sealed_version(sealed, len) == 2);
    CHECK(memcmp(sealed + OFF_KID, k.kid, AP_CRYPTO_KID_LEN) == 0);
    char *plain = NULL;
    size_t plainlen = 0;
    CHECK(ap_crypto_open(&k, ACCOUNT, sealed, len, &plain, &plainlen) == AP_OK);
    CHECK(plainlen == strlen(TOKEN));
    CHECK_STR_EQ(plain, TOKEN); /* NUL-terminated */
    free(plain);
    free(sealed);
}

static void test_empty_plaintext(void) {
    ap_crypto_key k = key_a();
    uint8_t *sealed = NULL;
    size_t len = 0;
    CHECK(ap_crypto_seal(&k, ACCOUNT, (const uint8_t *)"", 0, &sealed, &len) == AP_OK);
    CHECK(len == AP_CRYPTO_OVERHEAD);
    char *plain = NULL;
    size_t plainlen = 99;
    CHECK(ap_crypto_open(&k, ACCOUNT, sealed, len, &plain, &plainlen) == AP_OK);
    CHECK(plainlen == 0);
    CHECK_STR_EQ(plain, "");
    free(plain);
    free(sealed);
}

static void test_seal_uses_fresh_nonce(void) {
    ap_crypto_key k = key_a();
    uint8_t *s1, *s2;
    size_t l1, l2;
    seal_token(&k, &s1, &l1);
    seal_token(&k, &s2, &l2);
    CHECK(l1 == l2);
    CHECK(memcmp(s1 + OFF_NONCE, s2 + OFF_NONCE, 12) != 0);
    CHECK(memcmp(s1 + OFF_CT, s2 + OFF_CT, l1 - OFF_CT) != 0);
    free(s1);
    free(s2);
}

static void test_sealed_never_contains_plaintext(void) {
    ap_crypto_key k = key_a();
    uint8_t *sealed;
    size_t len;
    seal_token(&k, &sealed, &len);
    /* Not the whole token, nor any 8-byte window of it. */
    for (size_t i = 0; i + 8 <= strlen(TOKEN); i++)
        CHECK(memmem(sealed, len, &TOKEN[i], 8) == NULL);
    free(sealed);
}

static void test_other_account_fails(void) {
    ap_crypto_key k = key_a();
    uint8_t *sealed;
    size_t len;
    seal_token(&k, &sealed, &len);
    CHECK(try_open(&k, OTHER_ACCOUNT, sealed, len) == AP_ECRYPTO);
    CHECK(try_open(&k, NULL, sealed, len) == AP_ECRYPTO);
    CHECK(try_open(&k, "", sealed, len) == AP_ECRYPTO);
    CHECK(try_open(&k, ACCOUNT, sealed, len) == AP_OK);
    free(sealed);
}

static void test_tampering_fails(void) {
    ap_crypto_key k = key_a();
    uint8_t *sealed;
    size_t len;
    seal_token(&k, &sealed, &len);
    const size_t offsets[] = {OFF_NONCE, OFF_NONCE + 11, OFF_TAG, OFF_TAG + 15, OFF_CT, len - 1};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        sealed[offsets[i]] ^= 0x01;
        CHECK(try_open(&k, ACCOUNT, sealed, len) == AP_ECRYPTO);
        sealed[offsets[i]] ^= 0x01;
    }
    CHECK(try_open(&k, ACCOUNT, sealed, len) == AP_OK);
    free(sealed);
}

static void test_bad_magic_rejected(void) {
    ap_crypto_key k = key_a();
    uint8_t *sealed;
    size_t len;
    seal_token(&k, &sealed, &len);
    sealed[2] = '3'; /* "AP3": some future format */
    CHECK(try_open(&k, ACCOUNT, sealed, len) == AP_EINVAL);
    CHECK(ap_crypto_sealed_version(sealed, len) == 0);
    /* The known formats relabel into each other only by breaking the tag. */
    sealed[2] = '1';
    CHECK(try_open(&k, ACCOUNT, sealed, len) == AP_ECRYPTO);
    free(sealed);
}

static void test_other_key_is_not_found(void) {
    ap_crypto_key a = key_a(), b = key_b();
    CHECK(memcmp(a.kid, b.kid, AP_CRYPTO_KID_LEN) != 0);
    uint8_t *sealed;
    size_t len;
    seal_token(&a, &sealed, &len);
    CHECK(try_open(&b, ACCOUNT, sealed, len) == AP_ENOTFOUND);
    /* Same key id but a different key (a forged header) still fails closed. */
    ap_crypto_key forged = b;
    memcpy(forged.kid, a.kid, AP_CRYPTO_KID_LEN);
    CHECK(try_open(&forged, ACCOUNT, sealed, len) == AP_ECRYPTO);
    free(sealed);
}

static void test_truncated_rejected(void) {
    ap_crypto_key k = key_a();
    uint8_t *sealed;
    size_t len;
    seal_token(&k, &sealed, &len);
    CHECK(try_open(&k, ACCOUNT, sealed, 0) == AP_EINVAL);
    CHECK(try_open(&k, ACCOUNT, sealed, 3) == AP_EINVAL);
    CHECK(try_open(&k, ACCOUNT, sealed, AP_CRYPTO_OVERHEAD - 1) == AP_EINVAL);
    CHECK(try_open(&k, ACCOUNT, sealed, len - 1) == AP_ECRYPTO); /* cut ciphertext */
    free(sealed);
}

static void test_oversized_rejected(void) {
    ap_crypto_key k = key_a();
    size_t n = AP_CRYPTO_MAX_PLAINTEXT + 1;
    uint8_t *big = calloc(1, n + AP_CRYPTO_OVERHEAD);
    uint8_t *sealed = NULL;
    size_t len = 0;
    CHECK(ap_crypto_seal(&k, ACCOUNT, big, n, &sealed, &len) == AP_EINVAL);
    CHECK(sealed == NULL);
    memcpy(big, "AP1", 3);
    CHECK(try_open(&k, ACCOUNT, big, n + AP_CRYPTO_OVERHEAD) == AP_EINVAL);
    free(big);
}

static void test_key_from_hex(void) {
    ap_crypto_key k;
    CHECK(ap_crypto_key_from_hex(&k, KEY_A) == AP_OK);
    CHECK(k.key[0] == 0x00 && k.key[1] == 0x01 && k.key[31] == 0x1f);
    CHECK(ap_crypto_key_from_hex(&k, KEY_A "\n") == AP_OK); /* trailing newline of a file */
    CHECK(ap_crypto_key_from_hex(&k, KEY_B) == AP_OK);      /* mixed case */
    CHECK(k.key[0] == 0xff && k.key[16] == 0xff);
}

static void test_key_from_hex_rejects(void) {
    ap_crypto_key k;
    CHECK(ap_crypto_key_from_hex(&k, "") == AP_EINVAL);
    CHECK(ap_crypto_key_from_hex(&k, "0011") == AP_EINVAL);
    CHECK(ap_crypto_key_from_hex(&k, KEY_A "00") == AP_EINVAL); /* 33 bytes */
    char odd[] = KEY_A;
    odd[63] = '\0'; /* 63 characters */
    CHECK(ap_crypto_key_from_hex(&k, odd) == AP_EINVAL);
    char nonhex[] = KEY_A;
    nonhex[10] = 'g';
    CHECK(ap_crypto_key_from_hex(&k, nonhex) == AP_EINVAL);
    nonhex[10] = ' ';
    CHECK(ap_crypto_key_from_hex(&k, nonhex) == AP_EINVAL);
}

/* Writes content to a fresh temp file; returns its path (static buffer). */
static const char *temp_file(const char *content) {
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/ap_test_key_XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
        close(fd);
    }
    return path;
}

static void test_key_load_from_file(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    const char *path = temp_file(KEY_A "\n");
    cfg.credentials_key_file = strdup(path);
    ap_crypto_key k, want = key_a();
    char err[512] = "";
    CHECK(ap_crypto_key_load(&k, &cfg, err, sizeof(err)) == AP_OK);
    CHECK(memcmp(&k, &want, sizeof(k)) == 0);
    unlink(path);
    ap_config_free(&cfg);
}

static void test_key_load_bad_file(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    const char *path = temp_file("not a key\n");
    cfg.credentials_key_file = strdup(path);
    ap_crypto_key k;
    char err[512] = "";
    CHECK(ap_crypto_key_load(&k, &cfg, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "credentials key file must hold 64 hex characters");
    CHECK(strstr(err, "not a key") == NULL); /* never echo key material */
    unlink(path);
    CHECK(ap_crypto_key_load(&k, &cfg, err, sizeof(err)) == AP_EIO);
    CHECK_CONTAINS(err, "cannot open credentials key file");
    ap_config_free(&cfg);
}

/* The key file is preferred: with both set, the file decides (here it is
 * missing, so the load fails even though the environment's key is good). */
static void test_key_load_file_wins(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    cfg.credentials_key_file = strdup("/nonexistent/key");
    cfg.credentials_key_hex = strdup(KEY_B);
    ap_crypto_key k, want = key_b();
    char err[512] = "";
    CHECK(ap_crypto_key_load(&k, &cfg, err, sizeof(err)) != AP_OK);
    CHECK_CONTAINS(err, "/nonexistent/key");
    free(cfg.credentials_key_file);
    cfg.credentials_key_file = NULL;
    CHECK(ap_crypto_key_load(&k, &cfg, err, sizeof(err)) == AP_OK);
    CHECK(memcmp(&k, &want, sizeof(k)) == 0);
    free(cfg.credentials_key_hex);
    cfg.credentials_key_hex = strdup("1234");
    CHECK(ap_crypto_key_load(&k, &cfg, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "AUTOPOST_CREDENTIALS_KEY: expected 64 hex characters");
    ap_config_free(&cfg);
}

static void test_key_load_missing(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    ap_crypto_key k;
    char err[512] = "";
    CHECK(ap_crypto_key_load(&k, &cfg, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "credentials.key_file: missing required value");
    ap_config_free(&cfg);
}

static void test_key_wipe(void) {
    ap_crypto_key k = key_a(), zero;
    memset(&zero, 0, sizeof(zero));
    ap_crypto_key_wipe(&k);
    CHECK(memcmp(&k, &zero, sizeof(k)) == 0);
}

/* ---- keyring ------------------------------------------------------------ */

#define KEY_C "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000"

static ap_crypto_key key_c(void) {
    ap_crypto_key k;
    CHECK(ap_crypto_key_from_hex(&k, KEY_C) == AP_OK);
    return k;
}

/* Opens with a ring; returns the status, checks the token when it opened. */
static ap_status ring_open(const ap_crypto_keyring *ring, const uint8_t *sealed, size_t len) {
    char *plain = NULL;
    size_t plainlen = 0;
    ap_status s = ap_crypto_keyring_open(ring, ACCOUNT, sealed, len, &plain, &plainlen);
    if (s == AP_OK) {
        CHECK_STR_EQ(plain, TOKEN);
        explicit_bzero(plain, plainlen);
        free(plain);
    } else {
        CHECK(plain == NULL);
    }
    return s;
}

static void test_kid_hex(void) {
    ap_crypto_key k = key_a();
    char hex[AP_CRYPTO_KID_HEX_LEN];
    ap_crypto_kid_hex(k.kid, hex);
    CHECK(strlen(hex) == 16);
    char want[AP_CRYPTO_KID_HEX_LEN];
    for (int i = 0; i < AP_CRYPTO_KID_LEN; i++) snprintf(want + 2 * i, 3, "%02x", k.kid[i]);
    CHECK_STR_EQ(hex, want);
}

static void test_sealed_kid(void) {
    ap_crypto_key a = key_a();
    uint8_t *sealed;
    size_t len;
    const uint8_t *kid = NULL;
    seal_token(&a, &sealed, &len);
    CHECK(ap_crypto_sealed_kid(sealed, len, &kid) == AP_OK);
    CHECK(kid == sealed + AP_CRYPTO_KID_OFFSET);
    CHECK(kid && memcmp(kid, a.kid, AP_CRYPTO_KID_LEN) == 0);
    CHECK(ap_crypto_sealed_kid(sealed, AP_CRYPTO_OVERHEAD - 1, &kid) == AP_EINVAL);
    CHECK(ap_crypto_sealed_kid(NULL, 0, &kid) == AP_EINVAL);
    sealed[0] = 'X';
    CHECK(ap_crypto_sealed_kid(sealed, len, &kid) == AP_EINVAL);
    free(sealed);
}

/* The point of the keyring: blobs sealed before and after a key switch both
 * open, whichever key the ring lists first. */
static void test_keyring_opens_by_key_id(void) {
    ap_crypto_key a = key_a(), b = key_b(), c = key_c();
    uint8_t *old_blob, *new_blob, *foreign;
    size_t old_len, new_len, foreign_len;
    seal_token(&a, &old_blob, &old_len);
    seal_token(&b, &new_blob, &new_len);
    seal_token(&c, &foreign, &foreign_len);

    ap_crypto_keyring ring;
    ap_crypto_keyring_init(&ring, &b); /* current: B, previous: A */
    CHECK(ap_crypto_keyring_add(&ring, &a) == AP_OK);
    CHECK(ring.nkeys == 2);
    CHECK(ap_crypto_keyring_current(&ring) == &ring.keys[0]);
    CHECK(memcmp(ap_crypto_keyring_current(&ring)->kid, b.kid, AP_CRYPTO_KID_LEN) == 0);
    CHECK(ap_crypto_keyring_find(&ring, a.kid) == &ring.keys[1]);
    CHECK(ap_crypto_keyring_find(&ring, c.kid) == NULL);
    CHECK(ring_open(&ring, old_blob, old_len) == AP_OK);
    CHECK(ring_open(&ring, new_blob, new_len) == AP_OK);
    CHECK(ring_open(&ring, foreign, foreign_len) == AP_ENOTFOUND);
    CHECK(ring_open(&ring, old_blob, 5) == AP_EINVAL);
    old_blob[old_len - 1] ^= 0x01; /* the right key, tampered blob */
    CHECK(ring_open(&ring, old_blob, old_len) == AP_ECRYPTO);
    old_blob[old_len - 1] ^= 0x01;

    /* After the rotation finished and A is dropped, A's blobs are refused. */
    ap_crypto_keyring only_b;
    ap_crypto_keyring_init(&only_b, &b);
    CHECK(ring_open(&only_b, old_blob, old_len) == AP_ENOTFOUND);
    CHECK(ring_open(&only_b, new_blob, new_len) == AP_OK);

    ap_crypto_keyring_wipe(&ring);
    CHECK(ring.nkeys == 0);
    free(old_blob);
    free(new_blob);
    free(foreign);
}

static void test_keyring_add_rules(void) {
    ap_crypto_key a = key_a(), b = key_b();
    ap_crypto_keyring ring;
    ap_crypto_keyring_init(&ring, &a);
    CHECK(ap_crypto_keyring_add(&ring, &a) == AP_OK); /* the current key again: no-op */
    CHECK(ring.nkeys == 1);
    /* Another key claiming a present key id is refused, not shadowed. */
    ap_crypto_key forged = b;
    memcpy(forged.kid, a.kid, AP_CRYPTO_KID_LEN);
    CHECK(ap_crypto_keyring_add(&ring, &forged) == AP_EINVAL);
    CHECK(ring.nkeys == 1);
    /* Full ring. */
    for (int i = 1; i < AP_CRYPTO_MAX_KEYS; i++) {
        ap_crypto_key k = a;
        k.key[0] = (uint8_t)i;
        k.kid[0] = (uint8_t)(a.kid[0] ^ i);
        CHECK(ap_crypto_keyring_add(&ring, &k) == AP_OK);
    }
    CHECK(ring.nkeys == AP_CRYPTO_MAX_KEYS);
    CHECK(ap_crypto_keyring_add(&ring, &b) == AP_EINVAL);
    ap_crypto_keyring_wipe(&ring);
}

/* A second temp file (temp_file reuses one static buffer). */
static char *temp_file_dup(const char *content) { return strdup(temp_file(content)); }

static void test_keyring_load_previous_files(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    char *cur = temp_file_dup(KEY_B "\n"), *prev1 = temp_file_dup(KEY_A),
         *prev2 = temp_file_dup(KEY_C "\n");
    char list[512];
    /* Blanks around names, an empty item and the current key listed again. */
    snprintf(list, sizeof(list), " %s ,, %s,%s ,", prev1, prev2, cur);
    cfg.credentials_key_file = strdup(cur);
    cfg.credentials_previous_key_files = strdup(list);
    ap_crypto_keyring ring;
    ap_crypto_key a = key_a(), b = key_b(), c = key_c();
    char err[512] = "";
    CHECK(ap_crypto_keyring_load(&ring, &cfg, err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(err, "");
    CHECK(ring.nkeys == 3);
    CHECK(memcmp(&ring.keys[0], &b, sizeof(b)) == 0); /* key_file is current */
    CHECK(memcmp(&ring.keys[1], &a, sizeof(a)) == 0);
    CHECK(memcmp(&ring.keys[2], &c, sizeof(c)) == 0);
    ap_crypto_keyring_wipe(&ring);

    /* With key_file set, the environment's key is not used: the file wins. */
    cfg.credentials_key_hex = strdup(KEY_C);
    CHECK(ap_crypto_keyring_load(&ring, &cfg, err, sizeof(err)) == AP_OK);
    CHECK(ring.nkeys == 3);
    CHECK(memcmp(&ring.keys[0], &b, sizeof(b)) == 0);
    ap_crypto_keyring_wipe(&ring);

    /* No previous keys: a ring of one. */
    free(cfg.credentials_previous_key_files);
    cfg.credentials_previous_key_files = NULL;
    CHECK(ap_crypto_keyring_load(&ring, &cfg, err, sizeof(err)) == AP_OK);
    CHECK(ring.nkeys == 1);
    ap_crypto_keyring_wipe(&ring);

    unlink(cur);
    unlink(prev1);
    unlink(prev2);
    free(cur);
    free(prev1);
    free(prev2);
    ap_config_free(&cfg);
}

static void test_keyring_load_errors(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    char *cur = temp_file_dup(KEY_A), *bad = temp_file_dup("not a key\n");
    cfg.credentials_key_file = strdup(cur);
    ap_crypto_keyring ring;
    char err[512] = "";

    cfg.credentials_previous_key_files = strdup(bad);
    CHECK(ap_crypto_keyring_load(&ring, &cfg, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "credentials.previous_key_files: ");
    CHECK_CONTAINS(err, bad);
    CHECK_CONTAINS(err, "must hold 64 hex characters");
    CHECK(strstr(err, "not a key") == NULL);
    CHECK(ring.nkeys == 0); /* wiped on failure */

    free(cfg.credentials_previous_key_files);
    cfg.credentials_previous_key_files = strdup("/nonexistent/old.key");
    CHECK(ap_crypto_keyring_load(&ring, &cfg, err, sizeof(err)) == AP_EIO);
    CHECK_CONTAINS(err, "credentials.previous_key_files: /nonexistent/old.key: cannot open");

    /* The current key's own errors come first and unchanged. */
    free(cfg.credentials_key_file);
    cfg.credentials_key_file = strdup(bad);
    CHECK(ap_crypto_keyring_load(&ring, &cfg, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "credentials key file must hold 64 hex characters");
    CHECK(strstr(err, "previous_key_files") == NULL);

    unlink(cur);
    unlink(bad);
    free(cur);
    free(bad);
    ap_config_free(&cfg);
}

int main(void) {
    RUN(test_seal_open_round_trip);
    RUN(test_empty_plaintext);
    RUN(test_seal_uses_fresh_nonce);
    RUN(test_sealed_never_contains_plaintext);
    RUN(test_other_account_fails);
    RUN(test_tampering_fails);
    RUN(test_bad_magic_rejected);
    RUN(test_other_key_is_not_found);
    RUN(test_truncated_rejected);
    RUN(test_oversized_rejected);
    RUN(test_key_from_hex);
    RUN(test_key_from_hex_rejects);
    RUN(test_key_load_from_file);
    RUN(test_key_load_bad_file);
    RUN(test_key_load_file_wins);
    RUN(test_key_load_missing);
    RUN(test_key_wipe);
    RUN(test_kid_hex);
    RUN(test_sealed_kid);
    RUN(test_keyring_opens_by_key_id);
    RUN(test_keyring_add_rules);
    RUN(test_keyring_load_previous_files);
    RUN(test_keyring_load_errors);
    return TEST_RESULT();
}
