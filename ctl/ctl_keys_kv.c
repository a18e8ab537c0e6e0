/* ctl_keys_kv.c -- `keys rotate`'s second half: the refreshed credentials
 * that publishers share in each platform's autopost_accounts_<platform> KV
 * bucket.
 *
 * A publisher that refreshes a token writes the new one, sealed, as
 * cred.<account id> (publishers/engine/accounts.h) before the dispatcher stores it
 * in PostgreSQL; a publisher that starts later reads it from there. A
 * rotation that re-sealed only PostgreSQL left these under the old key, so
 * dropping the old key from credentials.previous_key_files made them
 * unreadable (and kept a token readable with a key meant to be retired).
 *
 * Every cred.* value not under the current key is opened with the keyring
 * and re-sealed under the current key, keeping its issued_at (publishers
 * order credentials by it), and written with kvStore_Update against the
 * revision read: a publisher that wrote a newer credential in between wins,
 * and that one is re-read on the next pass. A value that does not open
 * with any configured key is purged, and the account named: the publishers
 * fall back to the PostgreSQL copy, which the dispatcher keeps current. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "ap_crypto.h"
#include "ctl.h"

/* How often one key is re-read after losing the race to a publisher. */
#define KV_UPDATE_ATTEMPTS 3

/* The entry's value as a NUL-terminated copy; NULL when out of memory. */
static char *entry_text(kvEntry *e) {
    int len = kvEntry_ValueLen(e);
    char *v = malloc((size_t)(len > 0 ? len : 0) + 1);
    if (v == NULL) return NULL;
    if (len > 0) memcpy(v, kvEntry_Value(e), (size_t)len);
    v[len > 0 ? len : 0] = '\0';
    return v;
}

/* The account id: the key's part after its last dot. */
static const char *key_account(const char *key) {
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

/* Re-seals the value of one key (one attempt). AP_OK with *outcome set
 * ('r' rotated, 'c' already current, 'p' purged, '-' gone), AP_ECONFLICT when
 * a publisher wrote it meanwhile, another status (err filled) to stop. */
static ap_status reseal_key(kvStore *kv, const char *bucket, const char *platform,
                            const ap_crypto_keyring *ring, const char *instance, const char *key,
                            bool dry_run, char *outcome, char *err, size_t errlen) {
    kvEntry *e = NULL;
    natsStatus ns = kvStore_Get(&e, kv, key);
    if (ns == NATS_NOT_FOUND) {
        *outcome = '-';
        return AP_OK;
    }
    if (ns != NATS_OK) {
        ap_nats_error(err, errlen, "kv get", ns, 0);
        return AP_EIO;
    }
    uint64_t revision = kvEntry_Revision(e);
    char *text = entry_text(e);
    kvEntry_Destroy(e);
    if (text == NULL) return AP_ENOMEM;
    const char *account = key_account(key);
    uint8_t *sealed = NULL, *resealed = NULL;
    size_t len = 0, relen = 0, plainlen = 0;
    int64_t issued = 0;
    char *plain = NULL, *value = NULL, aad[AP_CREDENTIAL_AAD_LEN];
    const uint8_t *kid;
    ap_status s = ap_acct_cred_parse(text, &sealed, &len, &issued);
    if (s == AP_OK && ap_crypto_sealed_kid(sealed, len, &kid) == AP_OK &&
        memcmp(kid, ap_crypto_keyring_current(ring)->kid, AP_CRYPTO_KID_LEN) == 0 &&
        ap_crypto_sealed_version(sealed, len) == AP_CRYPTO_SEAL_VERSION) {
        *outcome = 'c';
        goto done;
    }
    /* Opened as sealed (a legacy AP1 value binds the account only), re-sealed
     * bound to the bucket's platform. */
    if (s == AP_OK)
        s = ap_credential_aad(aad, sizeof(aad), ap_crypto_sealed_version(sealed, len), platform,
                              account);
    if (s == AP_OK) s = ap_crypto_keyring_open(ring, aad, sealed, len, &plain, &plainlen);
    if (s == AP_ENOMEM) goto done;
    if (s != AP_OK) {
        fprintf(stderr,
                "autopostctl keys rotate: account %s: the refreshed credential in KV %s does not "
                "open with the configured keys (%s): %s; the publishers will use the PostgreSQL "
                "copy\n",
                account, bucket, ap_status_str(s), dry_run ? "would purge it" : "purged");
        s = AP_OK;
        *outcome = 'p';
        if (!dry_run && (ns = kvStore_Purge(kv, key, NULL)) != NATS_OK) {
            ap_nats_error(err, errlen, "kv purge", ns, 0);
            s = AP_EIO;
        }
        goto done;
    }
    *outcome = 'r';
    if (dry_run) goto done;
    s = ap_credential_aad(aad, sizeof(aad), AP_CRYPTO_SEAL_VERSION, platform, account);
    if (s == AP_OK)
        s = ap_crypto_seal(ap_crypto_keyring_current(ring), aad, (const uint8_t *)plain, plainlen,
                           &resealed, &relen);
    if (s != AP_OK) {
        snprintf(err, errlen, "account %s: cannot seal with the current key: %s", account,
                 ap_status_str(s));
        goto done;
    }
    if ((value = ap_acct_cred_value(resealed, relen, issued, instance)) == NULL) {
        s = AP_ENOMEM;
        goto done;
    }
    uint64_t written = 0;
    ns = kvStore_UpdateString(&written, kv, key, value, revision);
    if (ns != NATS_OK) {
        /* Tell a lost compare-and-set (a publisher wrote since we read)
         * from a server that is not answering. */
        ap_nats_error(err, errlen, "kv update", ns, 0);
        s = AP_EIO;
        kvEntry *now = NULL;
        natsStatus gs = kvStore_Get(&now, kv, key);
        if (gs == NATS_NOT_FOUND || (gs == NATS_OK && kvEntry_Revision(now) != revision))
            s = AP_ECONFLICT;
        kvEntry_Destroy(now);
    }
done:
    if (s == AP_ENOMEM) snprintf(err, errlen, "out of memory");
    if (plain) explicit_bzero(plain, plainlen);
    free(plain);
    free(sealed);
    free(resealed);
    free(value);
    free(text);
    return s;
}

/* One platform's bucket. */
static int rotate_bucket(ctl_ctx *ctx, ap_nats *n, const char *platform,
                         const ap_crypto_keyring *ring, bool dry_run) {
    char err[512], bucket[AP_KV_BUCKET_LEN];
    if (ap_kv_bucket_accounts(bucket, sizeof(bucket), platform) != AP_OK)
        return ctl_fail("keys rotate: platform %s: no bucket name", platform);
    kvStore *kv = NULL;
    kvKeysList keys = {NULL, 0};
    long rotated = 0, current = 0, purged = 0;
    int rc = CTL_EXIT_OK;
    natsStatus ns = js_KeyValue(&kv, n->js, bucket);
    if (ns == NATS_OK) ns = kvStore_Keys(&keys, kv, NULL);
    if (ns == NATS_NOT_FOUND) ns = NATS_OK; /* an empty (or absent) bucket */
    if (ns != NATS_OK) {
        ap_nats_error(err, sizeof(err), bucket, ns, 0);
        rc = ctl_fail("keys rotate: PostgreSQL is done, KV is not: %s", err);
        goto cleanup;
    }
    for (int i = 0; i < keys.Count && rc == CTL_EXIT_OK; i++) {
        if (strncmp(keys.Keys[i], "cred.", 5) != 0) continue;
        char outcome = '-';
        ap_status s = AP_ECONFLICT;
        for (int attempt = 0; s == AP_ECONFLICT && attempt < KV_UPDATE_ATTEMPTS; attempt++)
            s = reseal_key(kv, bucket, platform, ring, ctx->cfg.instance, keys.Keys[i], dry_run,
                           &outcome, err, sizeof(err));
        if (s == AP_ECONFLICT)
            snprintf(err, sizeof(err), "key %s kept changing under us", keys.Keys[i]);
        if (s != AP_OK) {
            rc = ctl_fail("keys rotate: KV %s: %s (PostgreSQL is done; run it again)", bucket,
                          err);
            break;
        }
        rotated += outcome == 'r';
        current += outcome == 'c';
        purged += outcome == 'p';
    }
    printf("KV %s        %s %ld, already current %ld, %s %ld\n", bucket,
           dry_run ? "to rotate" : "rotated", rotated, current, dry_run ? "to purge" : "purged",
           purged);
cleanup:
    kvKeysList_Destroy(&keys);
    kvStore_Destroy(kv);
    return rc;
}

int ctl_keys_rotate_kv(ctl_ctx *ctx, const ap_crypto_keyring *ring, bool dry_run) {
    if (ctx->cfg.nats_url == NULL) {
        printf("KV %s_<platform>        not checked (nats.url is not set)\n", AP_KV_ACCOUNTS);
        return CTL_EXIT_OK;
    }
    char err[512];
    ap_nats n;
    if (ctl_nats_open(ctx, &n, CTL_NATS_SHORT_TIMEOUT_MS, err, sizeof(err)) != AP_OK)
        return ctl_fail("keys rotate: PostgreSQL is done, but the refreshed credentials in KV "
                        "are not: %s; run it again when NATS is back",
                        err);
    int rc = CTL_EXIT_OK;
    for (int i = 0; i < ctx->cfg.nplatforms && rc == CTL_EXIT_OK; i++)
        rc = rotate_bucket(ctx, &n, ctx->cfg.platforms[i].name, ring, dry_run);
    ap_nats_close(&n);
    return rc;
}
