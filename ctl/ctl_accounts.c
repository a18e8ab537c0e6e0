/* ctl_accounts.c -- `accounts add|list|set-status|set-credential`.
 *
 * Every account belongs to a tenant (--tenant, else the default tenant); a
 * tenant that does not exist is refused by the tenant_id foreign key, so the
 * check and the insert are one statement and nothing is stored.
 *
 * A token is sealed (AES-256-GCM, common/ap_crypto.h) before it leaves this
 * process, with the account id as associated data. That is why the id is
 * drawn from PostgreSQL first and the row inserted second: the sealed blob
 * must name the id it will live under, so a blob copied onto another row
 * does not open. The token itself is never printed, logged or selected
 * back; `accounts list` shows everything but it.
 *
 * What is sealed is a credential (common/ap_crypto.h): the access token,
 * optionally an OAuth 2.0 refresh token and the access token's expiry, and
 * the time it was set (credentials_issued_at_ms orders an account's
 * credentials, so a publisher's refresh never overwrites a newer one set by
 * an operator, and a reauth mark never applies to a newer one). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_crypto.h"
#include "ap_time.h"
#include "ctl.h"
#include "ctl_post.h"

static const char accounts_usage[] =
    "usage: autopostctl accounts add --platform P --external-id ID --token TOKEN [--name NAME]\n"
    "                               [--tenant TENANT_ID] [--refresh-token TOKEN]\n"
    "                               [--expires-in SECONDS]\n"
    "       autopostctl accounts set-credential ACCOUNT_ID --token TOKEN\n"
    "                               [--refresh-token TOKEN] [--expires-in SECONDS]\n"
    "       autopostctl accounts import FILE|-\n"
    "       autopostctl accounts list [--platform P] [--tenant TENANT_ID] [--json]\n"
    "       autopostctl accounts set-status ACCOUNT_ID active|disabled [--reason TEXT]\n\n"
    "add          stores a social account with its access token sealed (never in clear);\n"
    "             prints the new account id. --token - reads the token from stdin,\n"
    "             which keeps it out of `ps` and shell history. --tenant puts it in\n"
    "             that tenant; without it the account is in the default tenant\n"
    "             " CTL_DEFAULT_TENANT_ID ".\n"
    "import       adds many accounts from JSON Lines, all or nothing; prints their\n"
    "             ids in order (see `autopostctl accounts import --help`).\n"
    "list         every account: id, tenant, platform, external id, name, status.\n"
    "set-status   enables or disables an account (a disabled account takes no posts).\n"
    "set-credential\n"
    "             reconnects an account: stores a new token (and refresh token) and\n"
    "             moves a reauth_required account back to active; its new schedules\n"
    "             publish again. A disabled account stays disabled.\n"
    "--refresh-token and --expires-in (seconds the access token stays valid from\n"
    "now) are for OAuth 2.0 platforms whose publishers refresh tokens\n"
    "(platforms.<name>.token_url). A token value of - is read from stdin (the\n"
    "access token on the first line, the refresh token on the second).\n"
    "\nall take --config FILE.\n";

/* ---- add ---------------------------------------------------------------- */

/* Reads one line from stdin into a malloc'ed string without the newline. */
static char *read_token_stdin(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return strdup("");
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    return line;
}

static void wipe_free(char *s) {
    if (s == NULL) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* What --token, --refresh-token and --expires-in say, read and checked. */
typedef struct cred_args {
    char *token, *refresh_token; /* malloc'ed, wiped */
    long expires_in;             /* -1 when not given */
    int64_t issued_at_ms;
} cred_args;

static void cred_args_wipe(cred_args *a) {
    wipe_free(a->token);
    wipe_free(a->refresh_token);
    a->token = a->refresh_token = NULL;
}

/* Tokens stay writable: cred_args_take overwrites them in argv once copied,
 * so they do not linger where ps(1) can read them. */
static bool take_secret_arg(char *value, void *target) {
    *(char **)target = value;
    return true;
}

#define EXPIRES_IN_OPTION(dest)                                                                    \
    {                                                                                              \
        .name = "expires-in", .number = (dest), .min = 0, .max = 10L * 365 * 86400,                \
        .invalid = "--expires-in takes seconds (0 or more)"                                        \
    }

/* Copies the token arguments and blanks them in argv (shortens the time
 * `ps` shows them); "-" reads stdin. */
static int cred_args_take(cred_args *a, char *token_arg, char *refresh_arg) {
    a->token = strcmp(token_arg, "-") == 0 ? read_token_stdin() : strdup(token_arg);
    if (strcmp(token_arg, "-") != 0) memset(token_arg, 'x', strlen(token_arg));
    if (refresh_arg) {
        a->refresh_token = strcmp(refresh_arg, "-") == 0 ? read_token_stdin() : strdup(refresh_arg);
        if (strcmp(refresh_arg, "-") != 0) memset(refresh_arg, 'x', strlen(refresh_arg));
        if (a->refresh_token == NULL) return ctl_fail("out of memory");
    }
    if (a->token == NULL) return ctl_fail("out of memory");
    if (*a->token == '\0') return ctl_fail("the token is empty");
    if (a->refresh_token && *a->refresh_token == '\0')
        return ctl_fail("the refresh token is empty");
    if (!ap_utf8_valid(a->token) || (a->refresh_token && !ap_utf8_valid(a->refresh_token)))
        return ctl_fail("the tokens must be UTF-8 text");
    if (!ap_credential_token_clean(a->token) ||
        (a->refresh_token && !ap_credential_token_clean(a->refresh_token)))
        return ctl_fail("the tokens must not contain control characters (CR, LF, tab, ...): "
                        "they are sent in an HTTP header");
    size_t n = strlen(a->token) + (a->refresh_token ? strlen(a->refresh_token) : 0);
    if (n > AP_CRYPTO_MAX_PLAINTEXT - 256)
        return ctl_fail("the tokens are longer than %d bytes", AP_CRYPTO_MAX_PLAINTEXT - 256);
    a->issued_at_ms = ap_now_ms();
    return CTL_EXIT_OK;
}

static ap_status cred_args_seal(const cred_args *a, const ap_crypto_key *key, const char *platform,
                                const char *id, uint8_t **sealed, size_t *sealed_len) {
    ap_crypto_keyring ring;
    ap_crypto_keyring_init(&ring, key);
    ap_credential c = {.access_token = a->token,
                       .refresh_token = a->refresh_token,
                       .expires_at_ms =
                           a->expires_in >= 0 ? a->issued_at_ms + (int64_t)a->expires_in * 1000 : 0,
                       .issued_at_ms = a->issued_at_ms};
    ap_status st = ap_credential_seal(&ring, platform, id, &c, sealed, sealed_len);
    ap_crypto_keyring_wipe(&ring);
    return st;
}

/* The answer to an INSERT into social_accounts that PostgreSQL refused. */
static void report_insert_refused(PGresult *res, const char *err, const char *platform,
                                  const char *external_id, const char *tenant) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "23505") == 0)
        ctl_fail("an account for %s with external id \"%s\" already exists (see "
                 "`autopostctl accounts list`)",
                 platform, external_id);
    else if (state && strcmp(state, "23503") == 0)
        ctl_fail("tenant %s does not exist (see `autopostctl tenants list`); nothing was stored",
                 tenant);
    else
        ctl_fail("cannot store the account: %s", err);
}

static int insert_account(ctl_ctx *ctx, const char *platform, const char *external_id,
                          const char *name, const char *tenant, const cred_args *cred) {
    char err[512], id[64], issued[24];
    ap_crypto_key key;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    int rc = CTL_EXIT_FAIL;
    if (ap_crypto_key_load(&key, &ctx->cfg, err, sizeof(err)) != AP_OK)
        return ctl_fail("credentials key: %s", err);
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) goto cleanup;
    rc = CTL_EXIT_FAIL;
    PGresult *res =
        ctl_exec(ctx, "SELECT gen_random_uuid()", 0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        ctl_fail("cannot allocate an account id: %s", err);
        goto cleanup;
    }
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (cred_args_seal(cred, &key, platform, id, &sealed, &sealed_len) != AP_OK) {
        ctl_fail("cannot seal the token");
        goto cleanup;
    }
    snprintf(issued, sizeof(issued), "%lld", (long long)cred->issued_at_ms);
    const char *params[] = {id, platform, external_id, name, (const char *)sealed, issued, tenant};
    int lengths[] = {0, 0, 0, 0, (int)sealed_len, 0, 0};
    int formats[] = {0, 0, 0, 0, 1, 0, 0}; /* credentials go as binary bytea */
    res = PQexecParams(ctx->pg.conn,
                       "INSERT INTO social_accounts (id, platform, external_id, display_name, "
                       "credentials, credentials_issued_at_ms, tenant_id) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       7, NULL, params, lengths, formats, 0);
    if (ap_pg_result_ok(res, PGRES_COMMAND_OK, err, sizeof(err)) != AP_OK) {
        report_insert_refused(res, err, platform, external_id, tenant);
        PQclear(res);
        goto cleanup;
    }
    PQclear(res);
    printf("%s\n", id);
    rc = CTL_EXIT_OK;
cleanup:
    ap_crypto_key_wipe(&key);
    free(sealed);
    return rc;
}

/* --tenant ID: a UUID, normalised (lower case) into the char[37] target. */
static bool take_tenant_id(char *value, void *target) {
    return ap_uuid_normalize(value, (char *)target);
}

static int accounts_add(ctl_ctx *ctx, int argc, char **argv) {
    const char *platform = NULL, *external_id = NULL, *name = "";
    char tenant[AP_UUID_TEXT_LEN + 1] = CTL_DEFAULT_TENANT_ID;
    char *token_arg = NULL, *refresh_arg = NULL;
    cred_args cred = {.expires_in = -1};
    const ctl_opt opts[] = {
        {.name = "platform", .string = &platform},
        {.name = "external-id", .string = &external_id},
        {.name = "token", .take = take_secret_arg, .target = &token_arg},
        {.name = "name", .string = &name},
        {.name = "tenant",
         .take = take_tenant_id,
         .target = tenant,
         .invalid = "--tenant takes a tenant id (a UUID), not \"%s\""},
        {.name = "refresh-token", .take = take_secret_arg, .target = &refresh_arg},
        EXPIRES_IN_OPTION(&cred.expires_in),
        {0}};
    int rc = ctl_parse_options(ctx, "accounts add", accounts_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("accounts add", "unexpected argument \"%s\"", argv[optind]);
    if (!platform || !external_id || !token_arg)
        return ctl_usage_error("accounts add",
                               "--platform, --external-id and --token are required");
    if ((rc = cred_args_take(&cred, token_arg, refresh_arg)) != CTL_EXIT_OK) goto cleanup;

    rc = ctl_setup(ctx, AP_NEED_PG | AP_NEED_KEY);
    if (rc != CTL_EXIT_OK) goto cleanup;
    rc = CTL_EXIT_FAIL;
    if (ap_config_platform(&ctx->cfg, platform) == NULL) {
        char known[256];
        ctl_platform_list(&ctx->cfg, known, sizeof(known));
        ctl_fail("platform \"%s\" is not configured (configured: %s)", platform, known);
        goto cleanup;
    }
    size_t elen = strlen(external_id);
    if (elen == 0 || elen > 128 || !ap_utf8_valid(external_id)) {
        ctl_fail("--external-id must be 1 to 128 characters of UTF-8");
        goto cleanup;
    }
    if (strlen(name) > 200 || !ap_utf8_valid(name)) {
        ctl_fail("--name must be at most 200 characters of UTF-8");
        goto cleanup;
    }
    rc = insert_account(ctx, platform, external_id, name, tenant, &cred);
cleanup:
    cred_args_wipe(&cred);
    return rc;
}

/* ---- set-credential ----------------------------------------------------- */

/* One statement: the new credential replaces the old one and a
 * reauth_required account becomes active again. Publishers notice on their
 * own: the sealed blob (and its issued_at) differs from the one their reauth
 * mark names, so jobs carrying it call the platform again. */
static int store_credential(ctl_ctx *ctx, const char *id, const cred_args *cred) {
    char err[512], issued[24], platform[64];
    ap_crypto_key key;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    int rc = CTL_EXIT_FAIL;
    if (ap_crypto_key_load(&key, &ctx->cfg, err, sizeof(err)) != AP_OK)
        return ctl_fail("credentials key: %s", err);
    /* The seal binds the account's platform: read it first. */
    const char *lookup[] = {id};
    PGresult *res = ctl_exec(ctx, "SELECT platform FROM social_accounts WHERE id = $1", 1, lookup,
                             PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        ctl_fail("cannot read account %s: %s", id, err);
        goto cleanup;
    }
    bool found = PQntuples(res) == 1;
    if (found) snprintf(platform, sizeof(platform), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found) {
        ctl_fail("account %s not found", id);
        goto cleanup;
    }
    if (cred_args_seal(cred, &key, platform, id, &sealed, &sealed_len) != AP_OK) {
        ctl_fail("cannot seal the token");
        goto cleanup;
    }
    snprintf(issued, sizeof(issued), "%lld", (long long)cred->issued_at_ms);
    const char *params[] = {id, (const char *)sealed, issued, platform};
    int lengths[] = {0, (int)sealed_len, 0, 0};
    int formats[] = {0, 1, 0, 0};
    res = PQexecParams(
        ctx->pg.conn,
        "WITH old AS (SELECT id, status FROM social_accounts WHERE id = $1 AND platform = $4 "
        "FOR UPDATE) "
        "UPDATE social_accounts a SET credentials = $2, credentials_issued_at_ms = "
        "greatest($3::int8, a.credentials_issued_at_ms + 1), "
        "status = CASE WHEN a.status = 'reauth_required' THEN 'active' ELSE a.status END, "
        "status_reason = CASE WHEN a.status = 'reauth_required' THEN NULL ELSE a.status_reason "
        "END, updated_at = now() FROM old WHERE a.id = old.id "
        "RETURNING a.platform, a.external_id, old.status, a.status",
        4, NULL, params, lengths, formats, 0);
    if (ap_pg_result_ok(res, PGRES_TUPLES_OK, err, sizeof(err)) != AP_OK) {
        ctl_fail("cannot update account %s: %s", id, err);
    } else if (PQntuples(res) == 0) {
        ctl_fail("account %s not found", id);
    } else {
        printf("account %s (%s %s): credential replaced; status %s -> %s\n", id,
               PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
               PQgetvalue(res, 0, 3));
        rc = CTL_EXIT_OK;
    }
    PQclear(res);
cleanup:
    ap_crypto_key_wipe(&key);
    free(sealed);
    return rc;
}

static int accounts_set_credential(ctl_ctx *ctx, int argc, char **argv) {
    char *token_arg = NULL, *refresh_arg = NULL;
    cred_args cred = {.expires_in = -1};
    const ctl_opt opts[] = {
        {.name = "token", .take = take_secret_arg, .target = &token_arg},
        {.name = "refresh-token", .take = take_secret_arg, .target = &refresh_arg},
        EXPIRES_IN_OPTION(&cred.expires_in),
        {0}};
    int rc = ctl_parse_options(ctx, "accounts set-credential", accounts_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (argc - optind != 1)
        return ctl_usage_error("accounts set-credential", "expected ACCOUNT_ID");
    if (token_arg == NULL) return ctl_usage_error("accounts set-credential", "--token is required");
    char id[37];
    if (!ap_uuid_normalize(argv[optind], id))
        return ctl_fail("\"%s\" is not an account id (a UUID)", argv[optind]);
    if ((rc = cred_args_take(&cred, token_arg, refresh_arg)) != CTL_EXIT_OK) goto cleanup;
    if ((rc = ctl_setup(ctx, AP_NEED_PG | AP_NEED_KEY)) != CTL_EXIT_OK) goto cleanup;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) goto cleanup;
    rc = store_credential(ctx, id, &cred);
cleanup:
    cred_args_wipe(&cred);
    return rc;
}

/* ---- list --------------------------------------------------------------- */

static void print_accounts_json(PGresult *res, int *rc) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < PQntuples(res); i++) {
        char created[32];
        ctl_format_ms(PQgetvalue(res, i, 6), created, sizeof(created));
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s}", "id", PQgetvalue(res, i, 0),
                           "tenant_id", PQgetvalue(res, i, 7), "platform", PQgetvalue(res, i, 1),
                           "external_id", PQgetvalue(res, i, 2), "name", PQgetvalue(res, i, 3),
                           "status", PQgetvalue(res, i, 4), "status_reason",
                           *PQgetvalue(res, i, 5) ? PQgetvalue(res, i, 5) : NULL, "created_at",
                           created));
    }
    *rc = arr && json_dumpf(arr, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0
              ? CTL_EXIT_OK
              : ctl_fail("cannot write JSON");
    putchar('\n');
    json_decref(arr);
}

static void print_accounts_table(PGresult *res) {
    printf("%-36s  %-36s  %-10s  %-20s  %-24s  %s\n", "ID", "TENANT", "PLATFORM", "EXTERNAL ID",
           "NAME", "STATUS");
    for (int i = 0; i < PQntuples(res); i++) {
        char ext[128], name[128];
        ctl_truncate(PQgetvalue(res, i, 2), 20, ext, sizeof(ext));
        ctl_truncate(PQgetvalue(res, i, 3), 24, name, sizeof(name));
        printf("%-36s  %-36s  %-10s  %-20s  %-24s  %s%s%s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 7), PQgetvalue(res, i, 1), ext, name, PQgetvalue(res, i, 4),
               *PQgetvalue(res, i, 5) ? ": " : "", PQgetvalue(res, i, 5));
    }
}

static int accounts_list(ctl_ctx *ctx, int argc, char **argv) {
    const char *platform = NULL;
    char tenant[AP_UUID_TEXT_LEN + 1] = "";
    bool json = false;
    const ctl_opt opts[] = {{.name = "platform", .string = &platform},
                            {.name = "tenant",
                             .take = take_tenant_id,
                             .target = tenant,
                             .invalid = "--tenant takes a tenant id (a UUID), not \"%s\""},
                            {.name = "json", .flag = &json},
                            {0}};
    int rc = ctl_parse_options(ctx, "accounts list", accounts_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("accounts list", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {platform, *tenant ? tenant : NULL};
    PGresult *res = ctl_exec(ctx,
                             "SELECT id, platform, external_id, display_name, status, "
                             "coalesce(status_reason, ''), " CTL_SQL_MS(
                                 "created_at") ", "
                                               "tenant_id FROM social_accounts "
                                               "WHERE ($1::text IS NULL OR platform = $1) "
                                               "AND ($2::uuid IS NULL OR tenant_id = $2) "
                                               "ORDER BY platform, external_id",
                             2, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot list accounts: %s", err);
    if (json)
        print_accounts_json(res, &rc);
    else
        print_accounts_table(res);
    PQclear(res);
    return rc;
}

/* ---- set-status --------------------------------------------------------- */

static int accounts_set_status(ctl_ctx *ctx, int argc, char **argv) {
    const char *reason = NULL;
    const ctl_opt opts[] = {{.name = "reason", .string = &reason}, {0}};
    int rc = ctl_parse_options(ctx, "accounts set-status", accounts_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (argc - optind != 2)
        return ctl_usage_error("accounts set-status", "expected ACCOUNT_ID and active|disabled");
    char id[37];
    const char *status = argv[optind + 1];
    if (!ap_uuid_normalize(argv[optind], id))
        return ctl_fail("\"%s\" is not an account id (a UUID)", argv[optind]);
    if (strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0)
        return ctl_usage_error("accounts set-status",
                               "status must be active or disabled, not \"%s\"", status);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {id, status, reason};
    PGresult *res = ctl_exec(ctx,
                             "UPDATE social_accounts SET status = $2, "
                             "status_reason = CASE WHEN $2 = 'active' THEN NULL "
                             "ELSE coalesce($3, 'set by autopostctl') END, updated_at = now() "
                             "WHERE id = $1 RETURNING platform, external_id",
                             3, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot update account %s: %s", id, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return ctl_fail("account %s not found", id);
    }
    printf("account %s (%s %s) is now %s\n", id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
           status);
    PQclear(res);
    return CTL_EXIT_OK;
}

int ctl_cmd_accounts(ctl_ctx *ctx, int argc, char **argv) {
    if (argc < 2)
        return ctl_usage_error(
            "accounts", "missing sub-command (add, import, list, set-status, set-credential)");
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs(accounts_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(verb, "add") == 0) return accounts_add(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "import") == 0) return ctl_accounts_import(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0) return accounts_list(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "set-status") == 0) return accounts_set_status(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "set-credential") == 0)
        return accounts_set_credential(ctx, argc - 1, argv + 1);
    return ctl_usage_error(
        "accounts", "unknown sub-command \"%s\" (add, import, list, set-status, set-credential)",
        verb);
}
