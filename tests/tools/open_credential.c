/* open_credential.c -- opens a sealed account credential as PostgreSQL holds
 * it, following the layout common/ap_crypto.h documents, with OpenSSL
 * directly instead of ap_crypto_open(): the test reads the stored bytes
 * without trusting the code it tests. Used by tests/e2e/test_token_refresh.sh
 * (it replaces a python3 one-liner, so the tests need no Python).
 *
 *   open_credential KEY_FILE PLATFORM ACCOUNT_ID < HEX_BLOB
 *
 * KEY_FILE holds the 64 hex characters of the key; stdin the blob in hex
 * (`encode(credentials, 'hex')`). Layout: "AP2" | key id (8) | nonce (12) |
 * tag (16) | ciphertext, AES-256-GCM, associated data = the first 11 bytes
 * followed by "PLATFORM/ACCOUNT_ID" (a legacy "AP1" blob: the account id
 * alone). Prints the plaintext (the credential's JSON).
 * Exit 0 when the blob opens, 1 when it does not, 2 on bad input. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define HEADER 11 /* "AP1" + key id */
#define NONCE 12
#define TAG 16
#define MAX_BLOB 65536

static int die(const char *what) {
    fprintf(stderr, "open_credential: %s\n", what);
    return 2;
}

/* Hex digits of text (whitespace skipped) into out; returns the byte count or -1. */
static long unhex(const char *text, unsigned char *out, size_t cap) {
    size_t n = 0;
    int hi = -1;
    for (const char *p = text; *p; p++) {
        if (isspace((unsigned char)*p)) continue;
        int v = isdigit((unsigned char)*p)    ? *p - '0'
                : isxdigit((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10
                                              : -1;
        if (v < 0) return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n == cap) return -1;
        out[n++] = (unsigned char)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (long)n : -1;
}

static char *slurp(FILE *f) {
    static char buf[2 * MAX_BLOB + 64];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    if (ferror(f) || n == sizeof(buf) - 1) return NULL;
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 4) return die("usage: open_credential KEY_FILE PLATFORM ACCOUNT_ID < HEX_BLOB");
    FILE *kf = fopen(argv[1], "r");
    if (kf == NULL) return die("cannot open the key file");
    char *keyhex = slurp(kf);
    fclose(kf);
    unsigned char key[32];
    if (keyhex == NULL || unhex(keyhex, key, sizeof(key)) != (long)sizeof(key))
        return die("the key file must hold 64 hex characters");

    static unsigned char blob[MAX_BLOB], plain[MAX_BLOB];
    char *blobhex = slurp(stdin);
    long len = blobhex ? unhex(blobhex, blob, sizeof(blob)) : -1;
    if (len < HEADER + NONCE + TAG || (memcmp(blob, "AP1", 3) != 0 && memcmp(blob, "AP2", 3) != 0))
        return die("stdin is not a sealed credential in hex");
    static char aad[512];
    int aad_len = blob[2] == '2' ? snprintf(aad, sizeof(aad), "%s/%s", argv[2], argv[3])
                                 : snprintf(aad, sizeof(aad), "%s", argv[3]);
    if (aad_len < 0 || (size_t)aad_len >= sizeof(aad)) return die("platform or account id too long");
    const unsigned char *nonce = blob + HEADER, *tag = nonce + NONCE, *ct = tag + TAG;
    int ct_len = (int)(len - HEADER - NONCE - TAG), n = 0, total = 0;

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx != NULL && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
             EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &n, blob, HEADER) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, aad_len) == 1 &&
             EVP_DecryptUpdate(ctx, plain, &n, ct, ct_len) == 1;
    total = n;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, (void *)tag) == 1 &&
         EVP_DecryptFinal_ex(ctx, plain + total, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        fprintf(stderr, "open_credential: does not open with this key, platform and account id\n");
        return 1;
    }
    total += n;
    fwrite(plain, 1, (size_t)total, stdout);
    putchar('\n');
    return fflush(stdout) == 0 ? 0 : 2;
}
