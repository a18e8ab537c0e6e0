/* ctl_keys.c -- `keys id` and `keys rotate`: the credentials key's life.
 *
 * Tokens are stored sealed under one key (common/ap_crypto.h); every blob
 * names its key by id in bytes 3..10. Rotating the key is therefore two
 * independent steps: the services learn the new key while still accepting
 * the old one (credentials.key_file = new, previous_key_files = old), then
 * `keys rotate` re-seals every stored row under the new key. Rows already
 * under the current key id and in the current, platform-bound format (AP2)
 * are skipped; legacy AP1 rows are re-sealed as AP2 even under the current
 * key, which is how an upgrade binds old rows. The command is idempotent and can
 * be re-run after a failure or after an `accounts add` that still used the
 * old key on some other machine.
 *
 * Rows are read in id order, a batch at a time, and each batch is one
 * transaction: SELECT ... FOR NO KEY UPDATE (an UPDATE of a non-key column
 * needs no stronger lock, and this one does not block new schedules'
 * foreign-key checks), open with the keyring, seal with the current key,
 * UPDATE, COMMIT. A row that does not open is counted and named by its
 * account id (never by anything derived from its token) and left as it was;
 * the command then exits 1 so a deploy script cannot miss it. The refreshed
 * credentials publishers keep in KV follow (ctl_keys_kv.c), then the webhook
 * endpoints' signing secrets (webhooks/endpoints.h, one transaction). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_crypto.h"
#include "ctl.h"
#include "endpoints.h"

#define KEYS_DEFAULT_BATCH 500
#define KEYS_MAX_BATCH 10000
#define KEYS_MAX_BATCH_TEXT "10000" /* for the --batch-size message */

static const char keys_usage[] =
    "usage: autopostctl keys id [--all]\n"
    "       autopostctl keys rotate [--batch-size N] [--dry-run]\n\n"
    "id       prints the id of the current credentials key (16 hex characters: the\n"
    "         first 8 bytes of its SHA-256, not secret). --all also lists the\n"
    "         previous keys (credentials.previous_key_files).\n"
    "rotate   re-seals every stored account token with the current key. Tokens are\n"
    "         opened with whichever configured key sealed them; rows already under\n"
    "         the current key (and bound to their platform) are skipped, so running\n"
    "         it again is safe. Works in\n"
    "         batches of N rows (default 500), one transaction each. Prints how many\n"
    "         rows were rotated, already current and failed to open (those are\n"
    "         named by account id on stderr, and the exit status is 1).\n"
    "         --dry-run opens every row that would be rotated and changes nothing.\n"
    "         With nats.url set it then does the same for the refreshed credentials\n"
    "         publishers share in KV autopost_accounts; one that opens with no\n"
    "         configured key is purged (named on stderr): publishers then use the\n"
    "         PostgreSQL copy. Webhook endpoints' signing secrets are re-sealed\n"
    "         the same way (one that opens with no key is named and left).\n"
    "\nRotation: see README \"Security\". Both take --config FILE.\n";

/* ---- id ----------------------------------------------------------------- */

static int keys_id(ctl_ctx *ctx, int argc, char **argv) {
    bool all = false;
    const ctl_opt opts[] = {{.name = "all", .flag = &all}, {0}};
    int rc = ctl_parse_options(ctx, "keys id", keys_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("keys id", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_KEY)) != CTL_EXIT_OK) return rc;
    ap_crypto_keyring ring;
    char err[512], hex[AP_CRYPTO_KID_HEX_LEN];
    if (ap_crypto_keyring_load(&ring, &ctx->cfg, err, sizeof(err)) != AP_OK)
        return ctl_fail("credentials key: %s", err);
    for (int i = 0; i < (all ? ring.nkeys : 1); i++) {
        ap_crypto_kid_hex(ring.keys[i].kid, hex);
        if (all)
            printf("%s  %s\n", hex, i == 0 ? "current" : "previous");
        else
            printf("%s\n", hex);
    }
    ap_crypto_keyring_wipe(&ring);
    return CTL_EXIT_OK;
}

/* ---- rotate ------------------------------------------------------------- */

static void webhook_open_failure(const char *endpoint_id, void *arg) {
    (void)arg;
    fprintf(stderr,
            "autopostctl keys rotate: webhook %s: its secret does not open with any "
            "configured key\n",
            endpoint_id);
}

/* The webhook secrets' pass; adds its failures to *failed. */
static int rotate_webhook_secrets(ctl_ctx *ctx, const ap_crypto_keyring *ring, bool dry_run,
                                  long *failed) {
    wh_reseal_counts c;
    char err[512];
    if (wh_endpoint_reseal(ctx->pg.conn, ring, dry_run, webhook_open_failure, NULL, &c, err,
                           sizeof(err)) != AP_OK)
        return ctl_fail("keys rotate: webhook secrets: %s (rolled back)", err);
    printf("webhook secrets  %s %ld, already current %ld, failed to open %ld\n",
           dry_run ? "to rotate" : "rotated", c.rotated, c.current, c.failed);
    *failed += c.failed;
    return CTL_EXIT_OK;
}

typedef struct rotate_counts {
    long rotated, current, failed;
} rotate_counts;

/* Why a row did not open, in words that name no secret. */
static void open_failure(ap_status s, const uint8_t *sealed, size_t len, char *buf, size_t n) {
    const uint8_t *kid;
    char hex[AP_CRYPTO_KID_HEX_LEN] = "?";
    if (ap_crypto_sealed_kid(sealed, len, &kid) == AP_OK) ap_crypto_kid_hex(kid, hex);
    if (s == AP_EINVAL)
        snprintf(buf, n, "stored credentials are not a sealed token (unknown format)");
    else if (s == AP_ENOTFOUND)
        snprintf(buf, n,
                 "sealed with key id %s, which is not configured (add that key to "
                 "credentials.previous_key_files)",
                 hex);
    else
        snprintf(buf, n,
                 "does not open with key id %s (corrupted, or sealed for another account); "
                 "reconnect the account",
                 hex);
}

/* Seals plain for (platform, account id) with key, in the current format,
 * and writes it to the row. */
static ap_status store_resealed(ctl_ctx *ctx, const ap_crypto_key *key, const char *platform,
                                const char *id, const char *plain, size_t plainlen, char *err,
                                size_t errlen) {
    uint8_t *sealed = NULL;
    size_t len = 0;
    char aad[AP_CREDENTIAL_AAD_LEN];
    ap_status s = ap_credential_aad(aad, sizeof(aad), AP_CRYPTO_SEAL_VERSION, platform, id);
    if (s == AP_OK) s = ap_crypto_seal(key, aad, (const uint8_t *)plain, plainlen, &sealed, &len);
    if (s != AP_OK) {
        snprintf(err, errlen, "account %s: cannot seal with the current key: %s", id,
                 ap_status_str(s));
        return s;
    }
    const char *params[] = {id, (const char *)sealed};
    int lengths[] = {0, (int)len};
    int formats[] = {0, 1}; /* the blob goes as binary bytea */
    PGresult *res = PQexecParams(ctx->pg.conn,
                                 "UPDATE social_accounts SET credentials = $2, updated_at = now() "
                                 "WHERE id = $1::uuid",
                                 2, NULL, params, lengths, formats, 0);
    s = ap_pg_result_ok(res, PGRES_COMMAND_OK, err, errlen);
    PQclear(res);
    free(sealed);
    return s;
}

/* Re-seals one row under the current key and stores it. Returns AP_OK,
 * AP_ECONFLICT when the row does not open (reason in why), or another error
 * that stops the whole run (err filled). */
static ap_status rotate_row(ctl_ctx *ctx, const ap_crypto_keyring *ring, const char *platform,
                            const char *id, const uint8_t *sealed, size_t len, bool dry_run,
                            char *why, size_t whylen, char *err, size_t errlen) {
    char *plain = NULL, aad[AP_CREDENTIAL_AAD_LEN];
    size_t plainlen = 0;
    /* Opened as the format it was sealed in (a legacy AP1 blob binds the
     * account id only); re-sealed below in the current, platform-bound one. */
    ap_status s = ap_credential_aad(aad, sizeof(aad), ap_crypto_sealed_version(sealed, len),
                                    platform, id);
    if (s == AP_OK) s = ap_crypto_keyring_open(ring, aad, sealed, len, &plain, &plainlen);
    if (s == AP_ENOMEM) {
        snprintf(err, errlen, "out of memory");
        return s;
    }
    if (s != AP_OK) {
        open_failure(s, sealed, len, why, whylen);
        return AP_ECONFLICT;
    }
    if (!dry_run)
        s = store_resealed(ctx, ap_crypto_keyring_current(ring), platform, id, plain, plainlen,
                           err, errlen);
    explicit_bzero(plain, plainlen);
    free(plain);
    return s;
}

/* One batch of rows with ids after `after` ("" for the first; updated to the last id seen), in
 * one transaction. *nrows = 0 means the table is done. Counts are added to
 * *total only once the batch committed. */
static int rotate_batch(ctl_ctx *ctx, const ap_crypto_keyring *ring, char *after, long batch,
                        bool dry_run, rotate_counts *total, int *nrows) {
    char err[512], limit[24];
    rotate_counts c = {0, 0, 0};
    const uint8_t *current_kid = ap_crypto_keyring_current(ring)->kid;
    snprintf(limit, sizeof(limit), "%ld", batch);
    if (ctl_begin(ctx, err, sizeof(err)) != AP_OK) return ctl_fail("keys rotate: %s", err);
    const char *params[] = {*after ? after : NULL, limit}; /* NULL: from the start */
    /* Binary results: credentials arrive as raw bytes (id::text is text
     * either way, NUL-terminated by libpq). */
    PGresult *res =
        PQexecParams(ctx->pg.conn,
                     "SELECT id::text, credentials, platform FROM social_accounts "
                     "WHERE ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2::int "
                     "FOR NO KEY UPDATE",
                     2, NULL, params, NULL, NULL, 1);
    if (ap_pg_result_ok(res, PGRES_TUPLES_OK, err, sizeof(err)) != AP_OK) {
        PQclear(res);
        ctl_rollback(ctx);
        return ctl_fail("keys rotate: cannot read accounts: %s", err);
    }
    *nrows = PQntuples(res);
    ap_status s = AP_OK;
    for (int i = 0; i < *nrows && s == AP_OK; i++) {
        const char *id = PQgetvalue(res, i, 0), *platform = PQgetvalue(res, i, 2);
        const uint8_t *blob = (const uint8_t *)PQgetvalue(res, i, 1), *kid;
        size_t len = (size_t)PQgetlength(res, i, 1);
        snprintf(after, 37, "%s", id);
        if (ap_crypto_sealed_kid(blob, len, &kid) == AP_OK &&
            memcmp(kid, current_kid, AP_CRYPTO_KID_LEN) == 0 &&
            ap_crypto_sealed_version(blob, len) == AP_CRYPTO_SEAL_VERSION) {
            c.current++;
            continue;
        }
        char why[256];
        s = rotate_row(ctx, ring, platform, id, blob, len, dry_run, why, sizeof(why), err,
                       sizeof(err));
        if (s == AP_OK) {
            c.rotated++;
        } else if (s == AP_ECONFLICT) {
            fprintf(stderr, "autopostctl keys rotate: account %s: %s\n", id, why);
            c.failed++;
            s = AP_OK;
        }
    }
    PQclear(res);
    if (s != AP_OK) {
        ctl_rollback(ctx);
        return ctl_fail("keys rotate: %s (this batch was rolled back)", err);
    }
    if (dry_run) {
        ctl_rollback(ctx);
    } else if (ctl_commit(ctx, err, sizeof(err)) != AP_OK) {
        ctl_rollback(ctx);
        return ctl_fail("keys rotate: commit failed: %s (this batch was rolled back)", err);
    }
    total->rotated += c.rotated;
    total->current += c.current;
    total->failed += c.failed;
    return CTL_EXIT_OK;
}

static int keys_rotate(ctl_ctx *ctx, int argc, char **argv) {
    long batch = KEYS_DEFAULT_BATCH;
    bool dry_run = false;
    const ctl_opt opts[] = {
        {.name = "batch-size",
         .number = &batch,
         .min = 1,
         .max = KEYS_MAX_BATCH,
         .invalid = "--batch-size must be 1 to " KEYS_MAX_BATCH_TEXT ", not \"%s\""},
        {.name = "dry-run", .flag = &dry_run},
        {0}};
    int rc = ctl_parse_options(ctx, "keys rotate", keys_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("keys rotate", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG | AP_NEED_KEY)) != CTL_EXIT_OK) return rc;
    ap_crypto_keyring ring;
    rotate_counts total = {0, 0, 0};
    char err[512], hex[AP_CRYPTO_KID_HEX_LEN];
    char after[37] = ""; /* the last id done */
    int nrows = 0;
    if (ap_crypto_keyring_load(&ring, &ctx->cfg, err, sizeof(err)) != AP_OK)
        return ctl_fail("credentials key: %s", err);
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) goto cleanup;
    do {
        rc = rotate_batch(ctx, &ring, after, batch, dry_run, &total, &nrows);
    } while (rc == CTL_EXIT_OK && nrows > 0);
    if (rc != CTL_EXIT_OK) {
        fprintf(stderr,
                "autopostctl keys rotate: before stopping: %ld rotated, %ld failed to open\n",
                total.rotated, total.failed);
        goto cleanup;
    }
    ap_crypto_kid_hex(ap_crypto_keyring_current(&ring)->kid, hex);
    printf("current key id   %s\n", hex);
    printf("%-16s %ld\n", dry_run ? "to rotate" : "rotated", total.rotated);
    printf("already current  %ld\n", total.current);
    printf("failed to open   %ld\n", total.failed);
    if ((rc = ctl_keys_rotate_kv(ctx, &ring, dry_run)) != CTL_EXIT_OK) goto cleanup;
    long webhook_failed = 0;
    if ((rc = rotate_webhook_secrets(ctx, &ring, dry_run, &webhook_failed)) != CTL_EXIT_OK)
        goto cleanup;
    if (total.failed > 0)
        rc = ctl_fail("%ld account(s) could not be opened with the configured keys (named above); "
                      "their credentials were left as they were",
                      total.failed);
    else if (webhook_failed > 0)
        rc = ctl_fail("%ld webhook secret(s) could not be opened with the configured keys (named "
                      "above); they were left as they were",
                      webhook_failed);
cleanup:
    ap_crypto_keyring_wipe(&ring);
    return rc;
}

int ctl_cmd_keys(ctl_ctx *ctx, int argc, char **argv) {
    if (argc < 2) return ctl_usage_error("keys", "missing sub-command (id, rotate)");
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs(keys_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(verb, "id") == 0) return keys_id(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "rotate") == 0) return keys_rotate(ctx, argc - 1, argv + 1);
    return ctl_usage_error("keys", "unknown sub-command \"%s\" (id, rotate)", verb);
}
