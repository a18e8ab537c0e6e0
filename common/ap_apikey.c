/* ap_apikey.c -- see ap_apikey.h. */
#include "ap_apikey.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

static void to_hex(const unsigned char *in, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool ap_apikey_generate(char key[AP_APIKEY_LEN + 1]) {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        key[0] = '\0';
        return false;
    }
    memcpy(key, AP_APIKEY_SCHEME, 4);
    to_hex(raw, sizeof(raw), key + 4);
    OPENSSL_cleanse(raw, sizeof(raw));
    return true;
}

bool ap_apikey_well_formed(const char *s) {
    if (s == NULL || strncmp(s, AP_APIKEY_SCHEME, 4) != 0 || strlen(s) != AP_APIKEY_LEN)
        return false;
    for (const char *c = s + 4; *c; c++)
        if (strchr(hex_digits, *c) == NULL) return false;
    return true;
}

void ap_apikey_hash_hex(const char *key, char out[AP_APIKEY_HASH_HEX_LEN + 1]) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), digest);
    to_hex(digest, sizeof(digest), out);
}
