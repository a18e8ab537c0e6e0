/* signature.c -- webhook secrets and the Autopost-Signature header
 * (signature.h). The signed bytes are fed to the MAC in pieces ("<t>", ".",
 * body) so a large event body is never copied. */
#include "signature.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define HMAC_SHA256_LEN 32

static void hex_encode(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

ap_status wh_secret_generate(char out[WH_SECRET_LEN + 1]) {
    unsigned char random[WH_SECRET_RANDOM_BYTES];
    if (RAND_bytes(random, sizeof(random)) != 1) return AP_ECRYPTO;
    size_t prefix = strlen(WH_SECRET_PREFIX);
    memcpy(out, WH_SECRET_PREFIX, prefix);
    hex_encode(random, sizeof(random), out + prefix);
    OPENSSL_cleanse(random, sizeof(random));
    return AP_OK;
}

static ap_status hmac_sha256(const char *key, size_t key_len, const char *const *parts,
                             const size_t *lens, int nparts, unsigned char mac[HMAC_SHA256_LEN]) {
    ap_status st = AP_ECRYPTO;
    EVP_MAC *alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = alg ? EVP_MAC_CTX_new(alg) : NULL;
    if (ctx == NULL) goto cleanup;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx, (const unsigned char *)key, key_len, params) != 1) goto cleanup;
    for (int i = 0; i < nparts; i++)
        if (EVP_MAC_update(ctx, (const unsigned char *)parts[i], lens[i]) != 1) goto cleanup;
    size_t out_len = 0;
    if (EVP_MAC_final(ctx, mac, &out_len, HMAC_SHA256_LEN) != 1 || out_len != HMAC_SHA256_LEN)
        goto cleanup;
    st = AP_OK;
cleanup:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(alg);
    return st;
}

ap_status wh_signature_header(const char *secret, size_t secret_len, int64_t t, const char *body,
                              size_t body_len, char *out, size_t outlen) {
    if (t < 0) return AP_EINVAL;
    char stamp[24];
    int n = snprintf(stamp, sizeof(stamp), "%" PRId64, t);
    if (n < 0 || (size_t)n >= sizeof(stamp)) return AP_EINVAL;
    const char *parts[] = {stamp, ".", body ? body : ""};
    const size_t lens[] = {(size_t)n, 1, body ? body_len : 0};
    unsigned char mac[HMAC_SHA256_LEN];
    ap_status st = hmac_sha256(secret, secret_len, parts, lens, 3, mac);
    if (st != AP_OK) return st;
    char mac_hex[2 * HMAC_SHA256_LEN + 1];
    hex_encode(mac, sizeof(mac), mac_hex);
    int m = snprintf(out, outlen, "t=%s,v1=%s", stamp, mac_hex);
    if (m < 0 || (size_t)m >= outlen) return AP_EINVAL;
    return AP_OK;
}
