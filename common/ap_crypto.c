/* ap_crypto.c -- see ap_crypto.h. */
#include "ap_crypto.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t seal_magic[3] = {'A', 'P', '1'};

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

ap_status ap_crypto_key_from_hex(ap_crypto_key *key, const char *hex) {
    size_t n = strlen(hex);
    while (n > 0 && isspace((unsigned char)hex[n - 1])) n--;
    if (n != AP_CRYPTO_KEY_LEN * 2) return AP_EINVAL;
    for (size_t i = 0; i < AP_CRYPTO_KEY_LEN; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return AP_EINVAL;
        key->key[i] = (uint8_t)(hi << 4 | lo);
    }
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(key->key, AP_CRYPTO_KEY_LEN, digest);
    memcpy(key->kid, digest, AP_CRYPTO_KID_LEN);
    return AP_OK;
}

ap_status ap_crypto_key_load(ap_crypto_key *key, const ap_config *cfg, char *err, size_t errlen) {
    if (cfg->credentials_key_hex) {
        if (ap_crypto_key_from_hex(key, cfg->credentials_key_hex) != AP_OK) {
            snprintf(err, errlen,
                     "AUTOPOST_CREDENTIALS_KEY: expected 64 hex characters (32 bytes)");
            return AP_EINVAL;
        }
        return AP_OK;
    }
    if (cfg->credentials_key_file == NULL) {
        snprintf(err, errlen, "credentials.key_file: missing required value");
        return AP_EINVAL;
    }
    FILE *f = fopen(cfg->credentials_key_file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open credentials key file: %s", cfg->credentials_key_file,
                 strerror(errno));
        return AP_EIO;
    }
    char buf[130] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    ap_status s = ap_crypto_key_from_hex(key, buf);
    explicit_bzero(buf, sizeof(buf));
    if (s != AP_OK)
        snprintf(err, errlen, "%s: credentials key file must hold 64 hex characters (32 bytes)",
                 cfg->credentials_key_file);
    return s;
}

void ap_crypto_key_wipe(ap_crypto_key *key) { explicit_bzero(key, sizeof(*key)); }

ap_status ap_crypto_seal(const ap_crypto_key *key, const char *aad, const uint8_t *plain,
                         size_t len, uint8_t **out, size_t *outlen) {
    if (len > AP_CRYPTO_MAX_PLAINTEXT) return AP_EINVAL;
    size_t total = len + AP_CRYPTO_OVERHEAD;
    uint8_t *buf = malloc(total);
    if (buf == NULL) return AP_ENOMEM;
    uint8_t *kid = buf + 3, *nonce = kid + AP_CRYPTO_KID_LEN, *tag = nonce + 12, *ct = tag + 16;
    memcpy(buf, seal_magic, 3);
    memcpy(kid, key->kid, AP_CRYPTO_KID_LEN);
    ap_status s = AP_ECRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    if (ctx == NULL || RAND_bytes(nonce, 12) != 1 ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->key, nonce) != 1)
        goto cleanup;
    /* Associated data: header + account id, so neither can be swapped. */
    if (EVP_EncryptUpdate(ctx, NULL, &n, buf, 3 + AP_CRYPTO_KID_LEN) != 1) goto cleanup;
    if (aad && EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1)
        goto cleanup;
    if (len > 0 && EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) != 1) goto cleanup;
    if (EVP_EncryptFinal_ex(ctx, ct + n, &n) != 1) goto cleanup;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) goto cleanup;
    *out = buf;
    *outlen = total;
    buf = NULL;
    s = AP_OK;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    return s;
}

ap_status ap_crypto_open(const ap_crypto_key *key, const char *aad, const uint8_t *sealed,
                         size_t len, char **plain, size_t *plainlen) {
    if (len < AP_CRYPTO_OVERHEAD || len > AP_CRYPTO_OVERHEAD + AP_CRYPTO_MAX_PLAINTEXT ||
        memcmp(sealed, seal_magic, 3) != 0)
        return AP_EINVAL;
    const uint8_t *kid = sealed + 3, *nonce = kid + AP_CRYPTO_KID_LEN, *tag = nonce + 12,
                  *ct = tag + 16;
    if (memcmp(kid, key->kid, AP_CRYPTO_KID_LEN) != 0) return AP_ENOTFOUND; /* other key */
    size_t ctlen = len - AP_CRYPTO_OVERHEAD;
    char *buf = malloc(ctlen + 1);
    if (buf == NULL) return AP_ENOMEM;
    ap_status s = AP_ECRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    if (ctx == NULL || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->key, nonce) != 1)
        goto cleanup;
    if (EVP_DecryptUpdate(ctx, NULL, &n, sealed, 3 + AP_CRYPTO_KID_LEN) != 1) goto cleanup;
    if (aad && EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1)
        goto cleanup;
    n = 0;
    if (ctlen > 0 && EVP_DecryptUpdate(ctx, (uint8_t *)buf, &n, ct, (int)ctlen) != 1) goto cleanup;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) != 1) goto cleanup;
    if (EVP_DecryptFinal_ex(ctx, (uint8_t *)buf + n, &m) != 1) goto cleanup; /* tampered */
    buf[n + m] = '\0';
    *plain = buf;
    *plainlen = (size_t)(n + m);
    buf = NULL;
    s = AP_OK;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    if (buf) {
        explicit_bzero(buf, ctlen + 1);
        free(buf);
    }
    return s;
}
