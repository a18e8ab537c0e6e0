/* test_common_credential.c -- what a sealed credential holds
 * (common/ap_crypto.h): bare tokens and the JSON form with refresh token,
 * expiry and issued_at. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_crypto.h"
#include "test.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define ACCOUNT "5b2f8a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"

static void bare_token_is_an_access_token(void) {
    ap_credential c;
    const char *t = "EAAGm0PX4ZCpsBAKZCfake-page-token";
    CHECK(ap_credential_decode(t, strlen(t), &c) == AP_OK);
    CHECK_STR_EQ(c.access_token, t);
    CHECK(c.refresh_token == NULL);
    CHECK(c.expires_at_ms == 0 && c.issued_at_ms == 0);
    ap_credential_wipe(&c);
    CHECK(c.access_token == NULL);
    /* Length, not NUL, ends it: a bare token is taken byte for byte. */
    CHECK(ap_credential_decode("abcdef", 3, &c) == AP_OK);
    CHECK_STR_EQ(c.access_token, "abc");
    ap_credential_wipe(&c);
    CHECK(ap_credential_decode("", 0, &c) == AP_EINVAL);
    CHECK(ap_credential_decode("ab\0cd", 5, &c) == AP_EINVAL); /* a NUL would cut it */
    CHECK(ap_credential_decode(NULL, 0, &c) == AP_EINVAL);
}

static void json_round_trip(void) {
    ap_credential in = {.access_token = "at-1",
                        .refresh_token = "rt-\"quoted\"\\1",
                        .expires_at_ms = 1700000000123,
                        .issued_at_ms = 1690000000456};
    size_t n = 0;
    char *s = ap_credential_encode(&in, &n);
    CHECK(s != NULL && n == strlen(s));
    CHECK(s && s[0] == '{');
    ap_credential out;
    CHECK(ap_credential_decode(s, n, &out) == AP_OK);
    CHECK_STR_EQ(out.access_token, "at-1");
    CHECK_STR_EQ(out.refresh_token, "rt-\"quoted\"\\1");
    CHECK(out.expires_at_ms == 1700000000123);
    CHECK(out.issued_at_ms == 1690000000456);
    ap_credential_wipe(&out);
    free(s);

    /* Without a refresh token the JSON form says null and decodes to NULL. */
    ap_credential bare = {.access_token = "only", .issued_at_ms = 5};
    s = ap_credential_encode(&bare, &n);
    CHECK(ap_credential_decode(s, n, &out) == AP_OK);
    CHECK(out.refresh_token == NULL);
    CHECK(out.issued_at_ms == 5 && out.expires_at_ms == 0);
    ap_credential_wipe(&out);
    free(s);
    CHECK(ap_credential_encode(&(ap_credential){0}, &n) == NULL);
}

static void bad_json_is_refused(void) {
    ap_credential c;
    const char *cases[] = {
        "{\"refresh_token\":\"r\"}",                       /* no access token */
        "{\"access_token\":\"\"}",                         /* empty */
        "{\"access_token\":5}",                            /* not a string */
        "{\"access_token\":\"a\",\"refresh_token\":7}",    /* wrong type */
        "{\"access_token\":\"a\",\"access_token\":\"b\"}", /* duplicate key */
        "{not json",
        "{\"access_token\":\"a\\r\\nX-Injected: 1\"}",    /* header injection */
        "{\"access_token\":\"a\",\"refresh_token\":\"r\\t\"}", /* any C0 */
        "bare\r\nX-Injected: 1",                         /* bare token, CRLF */
        "bare\x7f",                                       /* DEL */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(ap_credential_decode(cases[i], strlen(cases[i]), &c) == AP_EINVAL);
        CHECK(c.access_token == NULL && c.refresh_token == NULL);
    }
}

static void seal_open_round_trip(void) {
    ap_crypto_key k;
    CHECK(ap_crypto_key_from_hex(&k, KEY_A) == AP_OK);
    ap_crypto_keyring ring;
    ap_crypto_keyring_init(&ring, &k);
    ap_credential in = {.access_token = "at", .refresh_token = "rt", .issued_at_ms = 42};
    uint8_t *sealed = NULL;
    size_t len = 0;
    CHECK(ap_credential_seal(&ring, "facebook", ACCOUNT, &in, &sealed, &len) == AP_OK);
    CHECK(ap_crypto_sealed_version(sealed, len) == 2);
    /* Nothing of the tokens shows through. */
    CHECK(sealed && memmem(sealed, len, "\"rt\"", 4) == NULL);
    ap_credential out;
    CHECK(ap_credential_open(&ring, "facebook", ACCOUNT, sealed, len, &out) == AP_OK);
    CHECK(out.platform_bound);
    CHECK_STR_EQ(out.access_token, "at");
    CHECK_STR_EQ(out.refresh_token, "rt");
    CHECK(out.issued_at_ms == 42);
    ap_credential_wipe(&out);
    /* Bound to the account like any sealed blob... */
    CHECK(ap_credential_open(&ring, "facebook", "other-account", sealed, len, &out) ==
          AP_ECRYPTO);
    /* ...and to the platform: another platform's publisher cannot open it,
     * even for the same account id. */
    CHECK(ap_credential_open(&ring, "instagram", ACCOUNT, sealed, len, &out) == AP_ECRYPTO);
    /* Relabelling the blob as legacy AP1 (account id only) breaks the tag:
     * the format byte is authenticated. */
    sealed[2] = '1';
    CHECK(ap_credential_open(&ring, "instagram", ACCOUNT, sealed, len, &out) == AP_ECRYPTO);
    sealed[2] = '2';
    /* A platform is required to seal or open the current format. */
    uint8_t *none = NULL;
    size_t none_len = 0;
    CHECK(ap_credential_seal(&ring, "", ACCOUNT, &in, &none, &none_len) == AP_EINVAL);
    CHECK(ap_credential_open(&ring, NULL, ACCOUNT, sealed, len, &out) == AP_EINVAL);

    /* An account stored before refresh support and before platform binding:
     * a legacy AP1 blob of a bare token still opens (keys rotate re-seals it). */
    uint8_t *old = NULL;
    size_t old_len = 0;
    CHECK(ap_crypto_seal_version(&k, 1, ACCOUNT, (const uint8_t *)"legacy", 6, &old, &old_len) ==
          AP_OK);
    CHECK(ap_crypto_sealed_version(old, old_len) == 1);
    CHECK(ap_credential_open(&ring, "facebook", ACCOUNT, old, old_len, &out) == AP_OK);
    CHECK(!out.platform_bound);
    CHECK_STR_EQ(out.access_token, "legacy");
    CHECK(out.refresh_token == NULL && out.issued_at_ms == 0);
    ap_credential_wipe(&out);

    /* Digests: stable for one blob, different for another, 32 hex chars. */
    char d1[AP_CRYPTO_DIGEST_HEX_LEN], d2[AP_CRYPTO_DIGEST_HEX_LEN], d3[AP_CRYPTO_DIGEST_HEX_LEN];
    ap_crypto_digest_hex(sealed, len, d1);
    ap_crypto_digest_hex(sealed, len, d2);
    ap_crypto_digest_hex(old, old_len, d3);
    CHECK_STR_EQ(d1, d2);
    CHECK(strcmp(d1, d3) != 0);
    CHECK(strlen(d1) == 32);
    free(sealed);
    free(old);
    ap_crypto_keyring_wipe(&ring);
    ap_crypto_key_wipe(&k);
}

int main(void) {
    RUN(bare_token_is_an_access_token);
    RUN(json_round_trip);
    RUN(bad_json_is_refused);
    RUN(seal_open_round_trip);
    return TEST_RESULT();
}
