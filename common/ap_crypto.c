/* ap_crypto.c -- see ap_crypto.h. */
#include "ap_crypto.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AP2 seals everything new; AP1 blobs (sealed before credentials named their
 * platform) still open. The magic is authenticated with the rest of the
 * header, so an AP2 blob cannot be relabelled AP1 to drop its platform. */
static const uint8_t seal_magic[3] = {'A', 'P', '2'};
static const uint8_t legacy_magic[3] = {'A', 'P', '1'};

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

/* Reads a key file; `what` prefixes error messages (the config key, or
 * nothing for the current key, whose messages predate rotation). The file's
 * bytes are wiped from the stack whatever happens. */
static ap_status key_from_file(ap_crypto_key *key, const char *path, const char *what, char *err,
                               size_t errlen) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s%s: cannot open credentials key file: %s", what, path,
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
        snprintf(err, errlen, "%s%s: credentials key file must hold 64 hex characters (32 bytes)",
                 what, path);
    return s;
}

ap_status ap_crypto_key_load(ap_crypto_key *key, const ap_config *cfg, char *err, size_t errlen) {
    /* The file first: a file readable by the service alone leaks less than
     * an environment variable (inherited, listed by tools, in crash dumps). */
    if (cfg->credentials_key_file) return key_from_file(key, cfg->credentials_key_file, "", err, errlen);
    if (cfg->credentials_key_hex) {
        if (ap_crypto_key_from_hex(key, cfg->credentials_key_hex) != AP_OK) {
            snprintf(err, errlen,
                     "AUTOPOST_CREDENTIALS_KEY: expected 64 hex characters (32 bytes)");
            return AP_EINVAL;
        }
        return AP_OK;
    }
    snprintf(err, errlen, "credentials.key_file: missing required value");
    return AP_EINVAL;
}

void ap_crypto_key_wipe(ap_crypto_key *key) { explicit_bzero(key, sizeof(*key)); }

void ap_crypto_kid_hex(const uint8_t *kid, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < AP_CRYPTO_KID_LEN; i++) {
        out[2 * i] = digits[kid[i] >> 4];
        out[2 * i + 1] = digits[kid[i] & 0x0f];
    }
    out[2 * AP_CRYPTO_KID_LEN] = '\0';
}

ap_status ap_crypto_seal(const ap_crypto_key *key, const char *aad, const uint8_t *plain,
                         size_t len, uint8_t **out, size_t *outlen) {
    return ap_crypto_seal_version(key, AP_CRYPTO_SEAL_VERSION, aad, plain, len, out, outlen);
}

ap_status ap_crypto_seal_version(const ap_crypto_key *key, int version, const char *aad,
                                 const uint8_t *plain, size_t len, uint8_t **out,
                                 size_t *outlen) {
    if (len > AP_CRYPTO_MAX_PLAINTEXT || (version != 1 && version != 2)) return AP_EINVAL;
    size_t total = len + AP_CRYPTO_OVERHEAD;
    uint8_t *buf = malloc(total);
    if (buf == NULL) return AP_ENOMEM;
    uint8_t *kid = buf + 3, *nonce = kid + AP_CRYPTO_KID_LEN, *tag = nonce + 12, *ct = tag + 16;
    memcpy(buf, version == 1 ? legacy_magic : seal_magic, 3);
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

ap_status ap_crypto_sealed_kid(const uint8_t *sealed, size_t len, const uint8_t **kid) {
    if (sealed == NULL || len < AP_CRYPTO_OVERHEAD ||
        len > AP_CRYPTO_OVERHEAD + AP_CRYPTO_MAX_PLAINTEXT ||
        (memcmp(sealed, seal_magic, 3) != 0 && memcmp(sealed, legacy_magic, 3) != 0))
        return AP_EINVAL;
    *kid = sealed + AP_CRYPTO_KID_OFFSET;
    return AP_OK;
}

int ap_crypto_sealed_version(const uint8_t *sealed, size_t len) {
    const uint8_t *kid;
    if (ap_crypto_sealed_kid(sealed, len, &kid) != AP_OK) return 0;
    return sealed[2] - '0';
}

ap_status ap_crypto_open(const ap_crypto_key *key, const char *aad, const uint8_t *sealed,
                         size_t len, char **plain, size_t *plainlen) {
    const uint8_t *kid;
    if (ap_crypto_sealed_kid(sealed, len, &kid) != AP_OK) return AP_EINVAL;
    const uint8_t *nonce = kid + AP_CRYPTO_KID_LEN, *tag = nonce + 12, *ct = tag + 16;
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

/* ---- keyring -------------------------------------------------------------- */

void ap_crypto_keyring_init(ap_crypto_keyring *ring, const ap_crypto_key *current) {
    memset(ring, 0, sizeof(*ring));
    ring->keys[0] = *current;
    ring->nkeys = 1;
}

ap_status ap_crypto_keyring_add(ap_crypto_keyring *ring, const ap_crypto_key *key) {
    const ap_crypto_key *same = ap_crypto_keyring_find(ring, key->kid);
    if (same != NULL)
        /* Equal ids of different keys: a 2^-64 accident, but opening would
         * then try the wrong key for ever. Refuse rather than guess. */
        return memcmp(same->key, key->key, AP_CRYPTO_KEY_LEN) == 0 ? AP_OK : AP_EINVAL;
    if (ring->nkeys >= AP_CRYPTO_MAX_KEYS) return AP_EINVAL;
    ring->keys[ring->nkeys++] = *key;
    return AP_OK;
}

const ap_crypto_key *ap_crypto_keyring_current(const ap_crypto_keyring *ring) {
    return ring->nkeys > 0 ? &ring->keys[0] : NULL;
}

const ap_crypto_key *ap_crypto_keyring_find(const ap_crypto_keyring *ring, const uint8_t *kid) {
    for (int i = 0; i < ring->nkeys; i++)
        if (memcmp(ring->keys[i].kid, kid, AP_CRYPTO_KID_LEN) == 0) return &ring->keys[i];
    return NULL;
}

ap_status ap_crypto_keyring_open(const ap_crypto_keyring *ring, const char *aad,
                                 const uint8_t *sealed, size_t len, char **plain,
                                 size_t *plainlen) {
    const uint8_t *kid;
    if (ap_crypto_sealed_kid(sealed, len, &kid) != AP_OK) return AP_EINVAL;
    const ap_crypto_key *key = ap_crypto_keyring_find(ring, kid);
    if (key == NULL) return AP_ENOTFOUND;
    return ap_crypto_open(key, aad, sealed, len, plain, plainlen);
}

void ap_crypto_keyring_wipe(ap_crypto_keyring *ring) { explicit_bzero(ring, sizeof(*ring)); }

/* One item of credentials.previous_key_files (already trimmed). */
static ap_status keyring_add_file(ap_crypto_keyring *ring, const char *path, char *err,
                                  size_t errlen) {
    ap_crypto_key key;
    ap_status s = key_from_file(&key, path, "credentials.previous_key_files: ", err, errlen);
    if (s == AP_OK && ap_crypto_keyring_add(ring, &key) != AP_OK) {
        s = AP_EINVAL;
        if (ap_crypto_keyring_find(ring, key.kid))
            snprintf(err, errlen,
                     "credentials.previous_key_files: %s: another configured key has the same "
                     "key id",
                     path);
        else
            snprintf(err, errlen, "credentials.previous_key_files: more than %d keys in total",
                     AP_CRYPTO_MAX_KEYS);
    }
    ap_crypto_key_wipe(&key);
    return s;
}

ap_status ap_crypto_keyring_load(ap_crypto_keyring *ring, const ap_config *cfg, char *err,
                                 size_t errlen) {
    ap_crypto_key current;
    memset(ring, 0, sizeof(*ring));
    ap_status s = ap_crypto_key_load(&current, cfg, err, errlen);
    if (s != AP_OK) return s;
    ap_crypto_keyring_init(ring, &current);
    ap_crypto_key_wipe(&current);
    if (cfg->credentials_previous_key_files == NULL) return AP_OK;
    char *list = strdup(cfg->credentials_previous_key_files);
    if (list == NULL) {
        ap_crypto_keyring_wipe(ring);
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item && s == AP_OK;
         item = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*item)) item++;
        size_t n = strlen(item);
        while (n > 0 && isspace((unsigned char)item[n - 1])) item[--n] = '\0';
        if (n > 0) s = keyring_add_file(ring, item, err, errlen);
    }
    free(list);
    if (s != AP_OK) ap_crypto_keyring_wipe(ring);
    return s;
}

/* ---- credentials ---------------------------------------------------------- */

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d == NULL) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void wipe_str(char *s) {
    if (s == NULL) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void ap_credential_wipe(ap_credential *c) {
    if (c == NULL) return;
    wipe_str(c->access_token);
    wipe_str(c->refresh_token);
    memset(c, 0, sizeof(*c));
}

static int64_t json_ms(json_t *v) {
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

bool ap_credential_token_clean(const char *token) {
    if (token == NULL) return false;
    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

ap_status ap_credential_decode(const char *plain, size_t len, ap_credential *out) {
    memset(out, 0, sizeof(*out));
    if (plain == NULL || len == 0) return AP_EINVAL;
    if (plain[0] != '{') {
        /* A bare access token, as stored before refresh support. A NUL
         * would cut it short wherever it is used as a string. */
        if (memchr(plain, '\0', len) != NULL) return AP_EINVAL;
        out->access_token = dup_n(plain, len);
        if (out->access_token == NULL) return AP_ENOMEM;
        if (!ap_credential_token_clean(out->access_token)) {
            ap_credential_wipe(out);
            return AP_EINVAL;
        }
        return AP_OK;
    }
    json_error_t jerr;
    json_t *root = json_loadb(plain, len, JSON_REJECT_DUPLICATES, &jerr);
    ap_status st = AP_EINVAL;
    json_t *at = json_object_get(root, "access_token");
    json_t *rt = json_object_get(root, "refresh_token");
    if (!json_is_object(root) || !json_is_string(at) || json_string_length(at) == 0 ||
        (rt != NULL && !json_is_null(rt) && !json_is_string(rt)))
        goto cleanup;
    st = AP_ENOMEM;
    out->access_token = dup_n(json_string_value(at), json_string_length(at));
    if (out->access_token == NULL) goto cleanup;
    if (json_is_string(rt) && json_string_length(rt) > 0) {
        out->refresh_token = dup_n(json_string_value(rt), json_string_length(rt));
        if (out->refresh_token == NULL) goto cleanup;
    }
    out->expires_at_ms = json_ms(json_object_get(root, "expires_at_ms"));
    out->issued_at_ms = json_ms(json_object_get(root, "issued_at_ms"));
    st = AP_EINVAL;
    if (!ap_credential_token_clean(out->access_token) ||
        (out->refresh_token && !ap_credential_token_clean(out->refresh_token)))
        goto cleanup;
    st = AP_OK;
cleanup:
    /* jansson keeps its own copies of the strings: wipe them before freeing. */
    if (json_is_string(at)) explicit_bzero((char *)json_string_value(at), json_string_length(at));
    if (json_is_string(rt)) explicit_bzero((char *)json_string_value(rt), json_string_length(rt));
    json_decref(root);
    if (st != AP_OK) ap_credential_wipe(out);
    return st;
}

char *ap_credential_encode(const ap_credential *c, size_t *len) {
    if (c == NULL || c->access_token == NULL) return NULL;
    json_t *o =
        json_pack("{s:i,s:s,s:s?,s:I,s:I}", "v", 1, "access_token", c->access_token,
                  "refresh_token", c->refresh_token, "expires_at_ms", (json_int_t)c->expires_at_ms,
                  "issued_at_ms", (json_int_t)c->issued_at_ms);
    if (o == NULL) return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_t *at = json_object_get(o, "access_token"), *rt = json_object_get(o, "refresh_token");
    if (json_is_string(at)) explicit_bzero((char *)json_string_value(at), json_string_length(at));
    if (json_is_string(rt)) explicit_bzero((char *)json_string_value(rt), json_string_length(rt));
    json_decref(o);
    if (s && len) *len = strlen(s);
    return s;
}

ap_status ap_credential_aad(char *out, size_t outlen, int version, const char *platform,
                            const char *account_id) {
    int n = version >= 2 ? snprintf(out, outlen, "%s/%s", platform ? platform : "", account_id)
                         : snprintf(out, outlen, "%s", account_id);
    /* An empty platform would make every platform's blobs interchangeable. */
    if (n < 0 || (size_t)n >= outlen || (version >= 2 && (platform == NULL || *platform == '\0')))
        return AP_EINVAL;
    return AP_OK;
}

ap_status ap_credential_seal(const ap_crypto_keyring *ring, const char *platform,
                             const char *account_id, const ap_credential *c, uint8_t **out,
                             size_t *outlen) {
    char aad[AP_CREDENTIAL_AAD_LEN];
    if (ap_credential_aad(aad, sizeof(aad), AP_CRYPTO_SEAL_VERSION, platform, account_id) != AP_OK)
        return AP_EINVAL;
    size_t n = 0;
    char *plain = ap_credential_encode(c, &n);
    if (plain == NULL) return AP_ENOMEM;
    ap_status st = n > AP_CRYPTO_MAX_PLAINTEXT
                       ? AP_EINVAL
                       : ap_crypto_seal(ap_crypto_keyring_current(ring), aad,
                                        (const uint8_t *)plain, n, out, outlen);
    explicit_bzero(plain, n);
    free(plain);
    return st;
}

ap_status ap_credential_open(const ap_crypto_keyring *ring, const char *platform,
                             const char *account_id, const uint8_t *sealed, size_t len,
                             ap_credential *out) {
    char *plain = NULL, aad[AP_CREDENTIAL_AAD_LEN];
    size_t n = 0;
    memset(out, 0, sizeof(*out));
    int version = ap_crypto_sealed_version(sealed, len);
    if (version == 0) return AP_EINVAL;
    if (ap_credential_aad(aad, sizeof(aad), version, platform, account_id) != AP_OK)
        return AP_EINVAL;
    ap_status st = ap_crypto_keyring_open(ring, aad, sealed, len, &plain, &n);
    if (st != AP_OK) return st;
    st = ap_credential_decode(plain, n, out);
    out->platform_bound = version >= 2;
    explicit_bzero(plain, n);
    free(plain);
    return st;
}

void ap_crypto_digest_hex(const uint8_t *data, size_t len, char *out) {
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256(data, len, d);
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}
