/* ctl_accounts_import.c -- `accounts import FILE`: many accounts from JSON
 * Lines, all or nothing (what tests/fixtures/seed.sh and onboarding scripts
 * use instead of one `accounts add` process per account).
 *
 * Same shape as `import`: every line is checked first and every bad one is
 * reported as FILE:LINE: reason; then, in one transaction, the ids are drawn
 * from PostgreSQL in a single query, each token is sealed with its own id as
 * associated data (as `accounts add` does), the rows are COPYed into a
 * staging table, clashes with existing accounts are reported by line, and
 * only a clean file is moved into social_accounts. Tokens stay in memory
 * only as long as needed and are wiped on the way out.
 *
 * A line's "tenant_id" puts the account in that tenant (omitted: the
 * default tenant); tenants that do not exist are reported by line, like
 * accounts that exist already, and nothing is added. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_crypto.h"
#include "ap_time.h"
#include "ctl.h"
#include "ctl_post.h"

static const char accounts_import_usage[] =
    "usage: autopostctl accounts import FILE|- [--config FILE]\n\n"
    "Adds accounts from JSON Lines, one object per line (blank lines skipped):\n"
    "  {\"platform\": \"facebook\", \"external_id\": \"1234\", \"token\": \"...\",\n"
    "   \"name\": \"My page\", \"tenant_id\": \"<tenant uuid>\"}\n"
    "\"tenant_id\" puts the account in that tenant (omitted: the default tenant,\n"
    "" CTL_DEFAULT_TENANT_ID "); an unknown tenant is an error.\n"
    "OAuth 2.0 accounts may add \"refresh_token\" and \"expires_in\" (seconds the\n"
    "access token stays valid from now); publishers refresh it when it is due\n"
    "(platforms.<name>.token_url).\n"
    "Every line is checked (platform configured, tenant exists, no duplicates in\n"
    "the file or the database); if any is bad each one is reported as FILE:LINE: reason and\n"
    "nothing is added. Otherwise prints the new account ids, one per line, in the\n"
    "file's order. Tokens are sealed before they are stored and never printed.\n";

typedef struct acct_row {
    long line;
    char *platform, *external_id, *name, *token, *refresh_token;
    long long expires_in; /* seconds; -1 when not given */
    char id[37];
    char tenant_id[AP_UUID_TEXT_LEN + 1]; /* normalised; the default tenant when not given */
    uint8_t *sealed;
    size_t sealed_len;
    bool bad;
    char *error;
} acct_row;

typedef struct acct_set {
    const char *label;
    int64_t issued_at_ms; /* one stamp for the whole import */
    acct_row *rows;
    size_t n, cap, nbad;
} acct_set;

static void wipe_free(char *s) {
    if (s == NULL) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static void acct_set_free(acct_set *s) {
    for (size_t i = 0; i < s->n; i++) {
        acct_row *r = &s->rows[i];
        free(r->platform);
        free(r->external_id);
        free(r->name);
        wipe_free(r->token);
        wipe_free(r->refresh_token);
        free(r->sealed);
        free(r->error);
    }
    free(s->rows);
}

static void row_fail(acct_set *s, acct_row *r, const char *reason) {
    if (r->bad) return;
    r->bad = true;
    r->error = strdup(reason);
    s->nbad++;
}

/* Copies a string member into *dst; rejects other types. */
static bool take_string(json_t *v, const char *key, char **dst, char *reason, size_t len) {
    if (!json_is_string(v)) {
        snprintf(reason, len, "%s: expected a string", key);
        return false;
    }
    *dst = strdup(json_string_value(v));
    if (*dst == NULL) snprintf(reason, len, "out of memory");
    return *dst != NULL;
}

static bool parse_record(const ap_config *cfg, acct_row *r, const char *line, size_t n,
                         char *reason, size_t len) {
    json_error_t jerr;
    json_t *root = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr), *v;
    const char *key;
    bool ok = false;
    if (root == NULL) {
        /* jansson quotes the input "near '...'", which may be a token. */
        char *near = strstr(jerr.text, " near ");
        if (near) *near = '\0';
        snprintf(reason, len, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        explicit_bzero(&jerr, sizeof(jerr));
        return false;
    }
    if (!json_is_object(root)) {
        snprintf(reason, len, "expected a JSON object");
        goto cleanup;
    }
    r->expires_in = -1;
    snprintf(r->tenant_id, sizeof(r->tenant_id), "%s", CTL_DEFAULT_TENANT_ID);
    json_object_foreach(root, key, v) {
        if (strcmp(key, "tenant_id") == 0) {
            if (!json_is_string(v) || !ap_uuid_normalize(json_string_value(v), r->tenant_id)) {
                snprintf(reason, len, "tenant_id: expected a tenant id (a UUID)");
                goto cleanup;
            }
            continue;
        }
        if (strcmp(key, "expires_in") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 10LL * 365 * 86400) {
                snprintf(reason, len, "expires_in: expected seconds from now (0 to 10 years)");
                goto cleanup;
            }
            r->expires_in = (long long)json_integer_value(v);
            continue;
        }
        char **dst = strcmp(key, "platform") == 0        ? &r->platform
                     : strcmp(key, "refresh_token") == 0 ? &r->refresh_token
                     : strcmp(key, "external_id") == 0   ? &r->external_id
                     : strcmp(key, "token") == 0         ? &r->token
                     : strcmp(key, "name") == 0          ? &r->name
                                                         : NULL;
        if (dst == NULL) {
            snprintf(reason, len,
                     "unknown key \"%.40s\" (known: platform, external_id, token, name, "
                     "tenant_id, refresh_token, expires_in)",
                     key);
            goto cleanup;
        }
        if ((dst == &r->name || dst == &r->refresh_token) && json_is_null(v)) continue;
        if (!take_string(v, key, dst, reason, len)) goto cleanup;
    }
    if (r->platform == NULL || r->external_id == NULL || r->token == NULL) {
        snprintf(reason, len, "%s is missing",
                 !r->platform      ? "platform"
                 : !r->external_id ? "external_id"
                                   : "token");
        goto cleanup;
    }
    if (ap_config_platform(cfg, r->platform) == NULL) {
        char known[256];
        ctl_platform_list(cfg, known, sizeof(known));
        snprintf(reason, len, "platform \"%.32s\" is not configured (configured: %s)", r->platform,
                 known);
        goto cleanup;
    }
    size_t elen = strlen(r->external_id);
    if (elen == 0 || elen > 128) {
        snprintf(reason, len, "external_id must be 1 to 128 characters");
        goto cleanup;
    }
    if (r->name && strlen(r->name) > 200) {
        snprintf(reason, len, "name is longer than 200 characters");
        goto cleanup;
    }
    /* The JSON wrapping and the refresh token share the sealed size. */
    size_t tlen = strlen(r->token) + (r->refresh_token ? strlen(r->refresh_token) : 0);
    if (*r->token == '\0' || tlen > AP_CRYPTO_MAX_PLAINTEXT - 256) {
        snprintf(reason, len, "token (with refresh_token) must be 1 to %d bytes",
                 AP_CRYPTO_MAX_PLAINTEXT - 256);
        goto cleanup;
    }
    if (r->refresh_token && *r->refresh_token == '\0') {
        snprintf(reason, len, "refresh_token is empty");
        goto cleanup;
    }
    if (!ap_credential_token_clean(r->token) ||
        (r->refresh_token && !ap_credential_token_clean(r->refresh_token))) {
        snprintf(reason, len, "token or refresh_token contains a control character (CR, LF, ...)");
        goto cleanup;
    }
    ok = true;
cleanup:
    json_decref(root);
    return ok;
}

static int parse_file(const ap_config *cfg, FILE *f, acct_set *s) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = CTL_EXIT_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        bool blank = true;
        for (ssize_t i = 0; i < len && blank; i++)
            blank = line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n';
        if (blank) continue;
        if (s->n == s->cap) {
            size_t ncap = s->cap ? s->cap * 2 : 256;
            acct_row *rows = realloc(s->rows, ncap * sizeof(*rows));
            if (rows == NULL) {
                rc = ctl_fail("out of memory at %s:%ld", s->label, lineno);
                break;
            }
            s->rows = rows;
            s->cap = ncap;
        }
        acct_row *r = &s->rows[s->n++];
        memset(r, 0, sizeof(*r));
        r->line = lineno;
        char reason[512];
        if (!parse_record(cfg, r, line, (size_t)len, reason, sizeof(reason)))
            row_fail(s, r, reason);
    }
    if (rc == CTL_EXIT_OK && ferror(f))
        rc = ctl_fail("%s: read error: %s", s->label, strerror(errno));
    if (line) explicit_bzero(line, cap); /* the last line may hold a token */
    free(line);
    return rc;
}

static int cmp_rows(const void *a, const void *b) {
    const acct_row *x = *(const acct_row *const *)a, *y = *(const acct_row *const *)b;
    int c = strcmp(x->platform, y->platform);
    if (c == 0) c = strcmp(x->external_id, y->external_id);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static bool same_account(const acct_row *a, const acct_row *b) {
    return strcmp(a->platform, b->platform) == 0 && strcmp(a->external_id, b->external_id) == 0;
}

/* The same (platform, external id) twice in one file is a mistake: every
 * repeat names the first line that has it. */
static int find_duplicates(acct_set *s) {
    acct_row **good = malloc((s->n + 1) * sizeof(*good));
    if (good == NULL) return ctl_fail("out of memory");
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!s->rows[i].bad) good[n++] = &s->rows[i];
    qsort(good, n, sizeof(*good), cmp_rows); /* equal keys end up in line order */
    for (size_t i = 1, first = 0; i < n; i++) {
        if (!same_account(good[i], good[first])) {
            first = i;
            continue;
        }
        char reason[128];
        snprintf(reason, sizeof(reason), "duplicate of line %ld (same platform and external_id)",
                 good[first]->line);
        row_fail(s, good[i], reason);
    }
    free(good);
    return CTL_EXIT_OK;
}

static void report_errors(const acct_set *s) {
    for (size_t i = 0; i < s->n; i++)
        if (s->rows[i].bad)
            fprintf(stderr, "%s:%ld: %s\n", s->label, s->rows[i].line,
                    s->rows[i].error ? s->rows[i].error : "out of memory");
}

/* Draws every id in one query, then seals each token under its id. */
static int draw_ids_and_seal(ctl_ctx *ctx, acct_set *s) {
    char err[512], count[24];
    ap_crypto_key key;
    ap_crypto_keyring ring;
    if (ap_crypto_key_load(&key, &ctx->cfg, err, sizeof(err)) != AP_OK)
        return ctl_fail("credentials key: %s", err);
    ap_crypto_keyring_init(&ring, &key);
    snprintf(count, sizeof(count), "%zu", s->n);
    const char *params[] = {count};
    PGresult *res = ctl_exec(ctx, "SELECT gen_random_uuid() FROM generate_series(1, $1::int)", 1,
                             params, PGRES_TUPLES_OK, err, sizeof(err));
    int rc = CTL_EXIT_OK;
    if (res == NULL || (size_t)PQntuples(res) != s->n) {
        rc = ctl_fail("cannot allocate account ids: %s", res ? "short answer" : err);
        goto cleanup;
    }
    for (size_t i = 0; i < s->n; i++) {
        acct_row *r = &s->rows[i];
        snprintf(r->id, sizeof(r->id), "%s", PQgetvalue(res, (int)i, 0));
        ap_credential cred = {.access_token = r->token,
                              .refresh_token = r->refresh_token,
                              .expires_at_ms =
                                  r->expires_in >= 0 ? s->issued_at_ms + r->expires_in * 1000 : 0,
                              .issued_at_ms = s->issued_at_ms};
        if (ap_credential_seal(&ring, r->platform, r->id, &cred, &r->sealed, &r->sealed_len) != AP_OK) {
            rc = ctl_fail("cannot seal the token of %s:%ld", s->label, r->line);
            goto cleanup;
        }
        wipe_free(r->token); /* sealed: the clear text is no longer needed */
        r->token = NULL;
        wipe_free(r->refresh_token);
        r->refresh_token = NULL;
    }
cleanup:
    PQclear(res);
    ap_crypto_key_wipe(&key);
    ap_crypto_keyring_wipe(&ring);
    return rc;
}

/* bytea in COPY text format: "\x" + hex (the backslash is escaped later). */
static char *bytea_hex(const uint8_t *b, size_t n) {
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * n + 3);
    if (out == NULL) return NULL;
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = digits[b[i] >> 4];
        out[3 + 2 * i] = digits[b[i] & 0x0F];
    }
    out[2 * n + 2] = '\0';
    return out;
}

static int copy_staging(ctl_ctx *ctx, const acct_set *s) {
    char err[512];
    PGresult *res = ctl_exec(ctx,
                             "COPY ctl_accounts_import (n, id, platform, external_id, "
                             "display_name, credentials, tenant_id) FROM STDIN",
                             0, NULL, PGRES_COPY_IN, err, sizeof(err));
    if (res == NULL) return ctl_fail("accounts import: cannot start COPY: %s", err);
    PQclear(res);
    ap_buf b = {0};
    const char *abort_msg = NULL;
    for (size_t i = 0; i < s->n && !abort_msg; i++) {
        const acct_row *r = &s->rows[i];
        char n[24];
        snprintf(n, sizeof(n), "%ld", r->line);
        char *hex = bytea_hex(r->sealed, r->sealed_len);
        if (!hex || !ctl_copy_field(&b, n, '\t') || !ctl_copy_field(&b, r->id, '\t') ||
            !ctl_copy_field(&b, r->platform, '\t') || !ctl_copy_field(&b, r->external_id, '\t') ||
            !ctl_copy_field(&b, r->name ? r->name : "", '\t') || !ctl_copy_field(&b, hex, '\t') ||
            !ctl_copy_field(&b, r->tenant_id, '\n'))
            abort_msg = "out of memory";
        free(hex);
    }
    if (!abort_msg && b.len && PQputCopyData(ctx->pg.conn, b.data, (int)b.len) != 1)
        abort_msg = "connection lost during COPY";
    ap_buf_free(&b);
    if (PQputCopyEnd(ctx->pg.conn, abort_msg) != 1 && abort_msg == NULL)
        abort_msg = "connection lost during COPY";
    int rc = CTL_EXIT_OK;
    while ((res = PQgetResult(ctx->pg.conn)) != NULL) {
        if (rc == CTL_EXIT_OK && ap_pg_result_ok(res, PGRES_COMMAND_OK, err, sizeof(err)) != AP_OK)
            rc = ctl_fail("accounts import: COPY failed: %s", abort_msg ? abort_msg : err);
        PQclear(res);
    }
    if (rc == CTL_EXIT_OK && abort_msg)
        rc = ctl_fail("accounts import: COPY failed: %s", abort_msg);
    return rc;
}

/* Lines the database refuses, each reported by line like any other bad
 * line: accounts that exist already, tenants that do not. The query answers
 * (line, reason) pairs. */
static int check_against_database(ctl_ctx *ctx, acct_set *s) {
    char err[512];
    PGresult *res = ctl_exec(
        ctx,
        "SELECT s.n, 'account already exists (id ' || a.id || ')' FROM ctl_accounts_import s "
        "JOIN social_accounts a ON a.platform = s.platform AND a.external_id = s.external_id "
        "UNION ALL "
        "SELECT s.n, 'tenant ' || s.tenant_id || ' does not exist' FROM ctl_accounts_import s "
        "WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = s.tenant_id) "
        "ORDER BY 1",
        0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("accounts import: %s", err);
    for (int i = 0; i < PQntuples(res); i++) {
        long line = strtol(PQgetvalue(res, i, 0), NULL, 10);
        for (size_t k = 0; k < s->n; k++)
            if (s->rows[k].line == line) row_fail(s, &s->rows[k], PQgetvalue(res, i, 1));
    }
    PQclear(res);
    return CTL_EXIT_OK;
}

static int store_all(ctl_ctx *ctx, acct_set *s) {
    char err[512];
    int rc;
    if (ctl_begin(ctx, err, sizeof(err)) != AP_OK) return ctl_fail("accounts import: %s", err);
    PGresult *res = ctl_exec(ctx,
                             "CREATE TEMP TABLE ctl_accounts_import (n integer NOT NULL, "
                             "id uuid NOT NULL, platform text NOT NULL, external_id text NOT NULL, "
                             "display_name text NOT NULL, credentials bytea NOT NULL, "
                             "tenant_id uuid NOT NULL) "
                             "ON COMMIT DROP",
                             0, NULL, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) {
        rc = ctl_fail("accounts import: %s", err);
        goto fail;
    }
    PQclear(res);
    if ((rc = copy_staging(ctx, s)) != CTL_EXIT_OK) goto fail;
    if ((rc = check_against_database(ctx, s)) != CTL_EXIT_OK) goto fail;
    if (s->nbad > 0) {
        report_errors(s);
        rc = ctl_fail("%zu of %zu accounts already exist or name an unknown tenant; nothing was "
                      "added",
                      s->nbad, s->n);
        goto fail;
    }
    char issued[24];
    snprintf(issued, sizeof(issued), "%lld", (long long)s->issued_at_ms);
    const char *params[] = {issued};
    res = ctl_exec(ctx,
                   "INSERT INTO social_accounts (id, platform, external_id, display_name, "
                   "credentials, credentials_issued_at_ms, tenant_id) SELECT id, platform, "
                   "external_id, display_name, credentials, $1::int8, tenant_id "
                   "FROM ctl_accounts_import",
                   1, params, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) {
        rc = ctl_fail("accounts import: cannot store the accounts: %s", err);
        goto fail;
    }
    PQclear(res);
    if (ctl_commit(ctx, err, sizeof(err)) != AP_OK) {
        rc = ctl_fail("accounts import: commit failed, nothing added: %s", err);
        goto fail;
    }
    for (size_t i = 0; i < s->n; i++) printf("%s\n", s->rows[i].id);
    return CTL_EXIT_OK;
fail:
    ctl_rollback(ctx);
    return rc;
}

int ctl_accounts_import(ctl_ctx *ctx, int argc, char **argv) {
    int rc = ctl_parse_options(ctx, "accounts import", accounts_import_usage, NULL, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (argc - optind != 1)
        return ctl_usage_error("accounts import", "expected one FILE (or - for stdin)");
    const char *path = argv[optind];
    if ((rc = ctl_setup(ctx, AP_NEED_PG | AP_NEED_KEY)) != CTL_EXIT_OK) return rc;
    bool use_stdin = strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "r");
    if (f == NULL) return ctl_fail("%s: %s", path, strerror(errno));
    acct_set s = {.label = use_stdin ? "<stdin>" : path, .issued_at_ms = ap_now_ms()};
    rc = parse_file(&ctx->cfg, f, &s);
    if (!use_stdin) fclose(f);
    if (rc != CTL_EXIT_OK) goto cleanup;
    if ((rc = find_duplicates(&s)) != CTL_EXIT_OK) goto cleanup;
    if (s.nbad > 0) {
        report_errors(&s);
        rc = ctl_fail("%zu of %zu lines are invalid; nothing was added", s.nbad, s.n);
        goto cleanup;
    }
    if (s.n == 0) goto cleanup;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) goto cleanup;
    if ((rc = draw_ids_and_seal(ctx, &s)) != CTL_EXIT_OK) goto cleanup;
    rc = store_all(ctx, &s);
cleanup:
    acct_set_free(&s);
    return rc;
}
