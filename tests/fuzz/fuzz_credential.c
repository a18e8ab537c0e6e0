/* fuzz_credential.c -- libFuzzer target: the parsers of account credential
 * state. The first byte picks one:
 *   0  a sealed credential's plaintext (bare token or JSON, ap_crypto.h):
 *      what decodes must survive encode + decode unchanged;
 *   1  a token endpoint's answer (refresh.h), with the rest as its body and
 *      the second byte as the HTTP status: the outcome must be consistent
 *      with the new credential it fills;
 *   2  a value of the KV bucket autopost_accounts (anyone with access can
 *      write one), applied under each key kind and looked up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "ap_crypto.h"
#include "refresh.h"

#define ACCOUNT "5b2f8a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"

static void plaintext(const uint8_t *data, size_t size) {
    ap_credential c, again;
    if (ap_credential_decode((const char *)data, size, &c) != AP_OK) {
        if (c.access_token || c.refresh_token) abort();
        return;
    }
    if (c.access_token == NULL) abort();
    size_t n = 0;
    char *s = ap_credential_encode(&c, &n);
    if (s == NULL) { /* a bare token that is not UTF-8 has no JSON form */
        ap_credential_wipe(&c);
        return;
    }
    /* A bare token holding a NUL is cut there by encode: compare strings. */
    if (ap_credential_decode(s, n, &again) != AP_OK) abort();
    if (strcmp(again.access_token, c.access_token) != 0) abort();
    if ((again.refresh_token == NULL) != (c.refresh_token == NULL)) abort();
    if (c.refresh_token && strcmp(again.refresh_token, c.refresh_token) != 0) abort();
    if (again.expires_at_ms != c.expires_at_ms || again.issued_at_ms != c.issued_at_ms) abort();
    free(s);
    ap_credential_wipe(&c);
    ap_credential_wipe(&again);
}

static void token_answer(const uint8_t *data, size_t size) {
    if (size < 1) return;
    static const long statuses[] = {0, 200, 400, 401, 429, 500, 502, 503};
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.status = statuses[data[0] % 8];
    res.request_sent = data[0] & 0x80;
    res.body = malloc(size);
    if (res.body == NULL) return;
    memcpy(res.body, data + 1, size - 1);
    res.body_len = size - 1;
    ap_credential old = {.access_token = "a", .refresh_token = "r", .issued_at_ms = 1000};
    ap_credential out;
    char msg[256];
    ap_refresh_outcome o = ap_refresh_parse(&res, &old, 5000, &out, msg, sizeof(msg));
    if (o == AP_REFRESH_OK) {
        if (out.access_token == NULL || out.refresh_token == NULL || out.issued_at_ms != 5000)
            abort();
    } else if (out.access_token || out.refresh_token) {
        abort();
    }
    if (memchr(msg, '\0', sizeof(msg)) == NULL) abort();
    ap_credential_wipe(&out);
    free(res.body);
}

static void bucket_value(const uint8_t *data, size_t size) {
    static const char *const kinds[] = {"reauth", "cred", "refresh"};
    ap_accounts *a = NULL;
    if (ap_accounts_new(&a) != AP_OK) return;
    for (size_t k = 0; k < 3; k++) {
        char key[96];
        ap_acct_key(key, sizeof(key), kinds[k], ACCOUNT);
        ap_accounts_apply(a, key, (const char *)data, size, false, k + 1);
    }
    ap_acct_view v;
    if (ap_accounts_lookup(a, ACCOUNT, INT64_MIN, &v)) {
        if (memchr(v.reauth_reason, '\0', sizeof(v.reauth_reason)) == NULL) abort();
        if (v.cred && v.cred_len == 0) abort();
        (void)ap_acct_blocked(&v, "00", 0);
    }
    ap_acct_view_clear(&v);
    ap_accounts_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    switch (data[0] % 3) {
    case 0: plaintext(data + 1, size - 1); break;
    case 1: token_answer(data + 1, size - 1); break;
    default: bucket_value(data + 1, size - 1);
    }
    return 0;
}
