/* ctl_accounts.c -- `accounts add|list|set-status`.
 *
 * A token is sealed (AES-256-GCM, common/ap_crypto.h) before it leaves this
 * process, with the account id as associated data. That is why the id is
 * drawn from PostgreSQL first and the row inserted second: the sealed blob
 * must name the id it will live under, so a blob copied onto another row
 * does not open. The token itself is never printed, logged or selected
 * back; `accounts list` shows everything but it. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_crypto.h"
#include "ctl.h"
#include "ctl_post.h"

static const char accounts_usage[] =
    "usage: autopostctl accounts add --platform P --external-id ID --token TOKEN [--name NAME]\n"
    "       autopostctl accounts import FILE|-\n"
    "       autopostctl accounts list [--platform P] [--json]\n"
    "       autopostctl accounts set-status ACCOUNT_ID active|disabled [--reason TEXT]\n\n"
    "add          stores a social account with its access token sealed (never in clear);\n"
    "             prints the new account id. --token - reads the token from stdin,\n"
    "             which keeps it out of `ps` and shell history.\n"
    "import       adds many accounts from JSON Lines, all or nothing; prints their\n"
    "             ids in order (see `autopostctl accounts import --help`).\n"
    "list         every account: id, platform, external id, name, status.\n"
    "set-status   enables or disables an account (a disabled account takes no posts).\n"
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

static int insert_account(ctl_ctx *ctx, const char *platform, const char *external_id,
                          const char *name, const char *token) {
    char err[512], id[64];
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
    if (ap_crypto_seal(&key, id, (const uint8_t *)token, strlen(token), &sealed, &sealed_len) !=
        AP_OK) {
        ctl_fail("cannot seal the token");
        goto cleanup;
    }
    const char *params[] = {id, platform, external_id, name, (const char *)sealed};
    int lengths[] = {0, 0, 0, 0, (int)sealed_len};
    int formats[] = {0, 0, 0, 0, 1}; /* credentials go as binary bytea */
    res = PQexecParams(ctx->pg.conn,
                       "INSERT INTO social_accounts (id, platform, external_id, display_name, "
                       "credentials) VALUES ($1, $2, $3, $4, $5)",
                       5, NULL, params, lengths, formats, 0);
    if (ap_pg_result_ok(res, PGRES_COMMAND_OK, err, sizeof(err)) != AP_OK) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (state && strcmp(state, "23505") == 0)
            ctl_fail("an account for %s with external id \"%s\" already exists (see "
                     "`autopostctl accounts list`)",
                     platform, external_id);
        else
            ctl_fail("cannot store the account: %s", err);
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

static int accounts_add(ctl_ctx *ctx, int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"external-id", required_argument, NULL, 'e'},
                                         {"token", required_argument, NULL, 't'},
                                         {"name", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *platform = NULL, *external_id = NULL, *name = "";
    char *token_arg = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(accounts_usage, stdout); return CTL_EXIT_OK;
        case 'p': platform = optarg; break;
        case 'e': external_id = optarg; break;
        case 't': token_arg = optarg; break;
        case 'n': name = optarg; break;
        default: return ctl_bad_option("accounts add", c, argv);
        }
    }
    if (optind < argc)
        return ctl_usage_error("accounts add", "unexpected argument \"%s\"", argv[optind]);
    if (!platform || !external_id || !token_arg)
        return ctl_usage_error("accounts add",
                               "--platform, --external-id and --token are required");
    /* Copy the token and blank it in argv: shortens the time `ps` shows it. */
    char *token = strcmp(token_arg, "-") == 0 ? read_token_stdin() : strdup(token_arg);
    if (strcmp(token_arg, "-") != 0) memset(token_arg, 'x', strlen(token_arg));
    if (token == NULL) return ctl_fail("out of memory");

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
    if (elen == 0 || elen > 128 || !ctl_utf8_valid(external_id)) {
        ctl_fail("--external-id must be 1 to 128 characters of UTF-8");
        goto cleanup;
    }
    if (strlen(name) > 200 || !ctl_utf8_valid(name)) {
        ctl_fail("--name must be at most 200 characters of UTF-8");
        goto cleanup;
    }
    if (*token == '\0') {
        ctl_fail("the token is empty");
        goto cleanup;
    }
    if (strlen(token) > AP_CRYPTO_MAX_PLAINTEXT) {
        ctl_fail("the token is longer than %d bytes", AP_CRYPTO_MAX_PLAINTEXT);
        goto cleanup;
    }
    rc = insert_account(ctx, platform, external_id, name, token);
cleanup:
    wipe_free(token);
    return rc;
}

/* ---- list --------------------------------------------------------------- */

static int accounts_list(ctl_ctx *ctx, int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const char *platform = NULL;
    bool json = false;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(accounts_usage, stdout); return CTL_EXIT_OK;
        case 'p': platform = optarg; break;
        case 'j': json = true; break;
        default: return ctl_bad_option("accounts list", c, argv);
        }
    }
    if (optind < argc)
        return ctl_usage_error("accounts list", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {platform};
    PGresult *res =
        ctl_exec(ctx,
                 "SELECT id, platform, external_id, display_name, status, "
                 "coalesce(status_reason, ''), " CTL_SQL_MS(
                     "created_at") " "
                                   "FROM social_accounts WHERE ($1::text IS NULL OR platform = $1) "
                                   "ORDER BY platform, external_id",
                 1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot list accounts: %s", err);
    int n = PQntuples(res);
    if (json) {
        json_t *arr = json_array();
        for (int i = 0; arr && i < n; i++) {
            char created[32];
            ctl_format_ms(PQgetvalue(res, i, 6), created, sizeof(created));
            json_array_append_new(
                arr,
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s}", "id", PQgetvalue(res, i, 0),
                          "platform", PQgetvalue(res, i, 1), "external_id", PQgetvalue(res, i, 2),
                          "name", PQgetvalue(res, i, 3), "status", PQgetvalue(res, i, 4),
                          "status_reason", *PQgetvalue(res, i, 5) ? PQgetvalue(res, i, 5) : NULL,
                          "created_at", created));
        }
        rc = arr && json_dumpf(arr, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0
                 ? CTL_EXIT_OK
                 : ctl_fail("cannot write JSON");
        putchar('\n');
        json_decref(arr);
    } else {
        printf("%-36s  %-10s  %-20s  %-24s  %s\n", "ID", "PLATFORM", "EXTERNAL ID", "NAME",
               "STATUS");
        for (int i = 0; i < n; i++) {
            char ext[128], name[128];
            ctl_truncate(PQgetvalue(res, i, 2), 20, ext, sizeof(ext));
            ctl_truncate(PQgetvalue(res, i, 3), 24, name, sizeof(name));
            printf("%-36s  %-10s  %-20s  %-24s  %s%s%s\n", PQgetvalue(res, i, 0),
                   PQgetvalue(res, i, 1), ext, name, PQgetvalue(res, i, 4),
                   *PQgetvalue(res, i, 5) ? ": " : "", PQgetvalue(res, i, 5));
        }
    }
    PQclear(res);
    return rc;
}

/* ---- set-status --------------------------------------------------------- */

static int accounts_set_status(ctl_ctx *ctx, int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *reason = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(accounts_usage, stdout); return CTL_EXIT_OK;
        case 'r': reason = optarg; break;
        default: return ctl_bad_option("accounts set-status", c, argv);
        }
    }
    if (argc - optind != 2)
        return ctl_usage_error("accounts set-status", "expected ACCOUNT_ID and active|disabled");
    char id[37];
    const char *status = argv[optind + 1];
    if (!ctl_uuid_text(argv[optind], id))
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
        return ctl_usage_error("accounts", "missing sub-command (add, import, list, set-status)");
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs(accounts_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(verb, "add") == 0) return accounts_add(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "import") == 0) return ctl_accounts_import(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0) return accounts_list(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "set-status") == 0) return accounts_set_status(ctx, argc - 1, argv + 1);
    return ctl_usage_error("accounts", "unknown sub-command \"%s\" (add, import, list, set-status)",
                           verb);
}
