/* ctl_api_keys.c -- `api-keys create|list|revoke`: the keys applications use
 * with autopost-api, each scoped to one tenant.
 *
 * The key is made here (common/ap_apikey.h: 32 random bytes), printed once
 * as the last word of `create`'s output, and never stored: the row keeps
 * its SHA-256 and its first characters (key_prefix), which is all `list`
 * can show. A lost key is revoked and replaced, never recovered. Revoking
 * sets revoked_at; the API refuses such a key on its next request (it looks
 * the key up on every request, no cache to outlive the revocation). */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "ap_apikey.h"
#include "ap_utf8.h"
#include "ap_uuid.h"
#include "ctl.h"

static const char api_keys_usage[] =
    "usage: autopostctl api-keys create --tenant TENANT_ID [--name NAME]\n"
    "       autopostctl api-keys list [--tenant TENANT_ID]\n"
    "       autopostctl api-keys revoke KEY_ID\n\n"
    "create  makes a new key for the tenant and prints it once, as the last word\n"
    "        of the output: store it now, autopost keeps only its SHA-256.\n"
    "list    id, tenant, name, prefix (the key's first characters), created, last\n"
    "        used, revoked. Never the key.\n"
    "revoke  the key stops working at once (401 on its next request).\n"
    "\nall take --config FILE.\n";

static int api_keys_create(ctl_ctx *ctx, int argc, char **argv) {
    const char *tenant_arg = NULL, *name = "";
    const ctl_opt opts[] = {
        {.name = "tenant", .string = &tenant_arg}, {.name = "name", .string = &name}, {0}};
    int rc = ctl_parse_options(ctx, "api-keys create", api_keys_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("api-keys create", "unexpected argument \"%s\"", argv[optind]);
    char tenant[37];
    if (tenant_arg == NULL) return ctl_usage_error("api-keys create", "--tenant is required");
    if (!ap_uuid_normalize(tenant_arg, tenant))
        return ctl_fail("--tenant: \"%s\" is not a tenant id (a UUID)", tenant_arg);
    if (!ap_utf8_valid(name)) return ctl_fail("--name is not valid UTF-8");
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char key[AP_APIKEY_LEN + 1], hash[AP_APIKEY_HASH_HEX_LEN + 1], prefix[AP_APIKEY_PREFIX_LEN + 1];
    if (!ap_apikey_generate(key)) return ctl_fail("the random generator failed; no key made");
    ap_apikey_hash_hex(key, hash);
    memcpy(prefix, key, AP_APIKEY_PREFIX_LEN);
    prefix[AP_APIKEY_PREFIX_LEN] = '\0';
    char err[512];
    const char *params[] = {tenant, name, prefix, hash};
    /* INSERT ... SELECT: an unknown tenant inserts nothing, said plainly. */
    PGresult *res = ctl_exec(ctx,
                             "INSERT INTO api_keys (tenant_id, name, key_prefix, key_hash) "
                             "SELECT id, $2, $3, decode($4, 'hex') FROM tenants WHERE id = $1 "
                             "RETURNING id",
                             4, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        rc = ctl_fail("cannot create the key: %s", err);
    } else if (PQntuples(res) == 0) {
        rc = ctl_fail("tenant %s not found", tenant);
    } else {
        printf("created key %s for tenant %s (shown once; store it now): %s\n",
               PQgetvalue(res, 0, 0), tenant, key);
        rc = CTL_EXIT_OK;
    }
    PQclear(res);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

static int api_keys_list(ctl_ctx *ctx, int argc, char **argv) {
    const char *tenant_arg = NULL;
    const ctl_opt opts[] = {{.name = "tenant", .string = &tenant_arg}, {0}};
    int rc = ctl_parse_options(ctx, "api-keys list", api_keys_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("api-keys list", "unexpected argument \"%s\"", argv[optind]);
    char tenant[37];
    if (tenant_arg && !ap_uuid_normalize(tenant_arg, tenant))
        return ctl_fail("--tenant: \"%s\" is not a tenant id (a UUID)", tenant_arg);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {tenant_arg ? tenant : NULL};
    PGresult *res = ctl_exec(
        ctx,
        "SELECT id, tenant_id, name, key_prefix, " CTL_SQL_MS("created_at") ", " CTL_SQL_MS(
            "last_used_at") ", " CTL_SQL_MS("revoked_at") " FROM api_keys "
                                                          "WHERE ($1::uuid IS NULL OR tenant_id = "
                                                          "$1) "
                                                          "ORDER BY created_at, id",
        1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot list API keys: %s", err);
    printf("%-36s  %-36s  %-16s  %-12s  %-24s  %-24s  %s\n", "ID", "TENANT", "NAME", "PREFIX",
           "CREATED", "LAST USED", "REVOKED");
    for (int i = 0; i < PQntuples(res); i++) {
        char name[128], created[32], used[32], revoked[32];
        ctl_truncate(PQgetvalue(res, i, 2), 16, name, sizeof(name));
        ctl_format_ms(PQgetvalue(res, i, 4), created, sizeof(created));
        ctl_format_ms(PQgetvalue(res, i, 5), used, sizeof(used));
        ctl_format_ms(PQgetvalue(res, i, 6), revoked, sizeof(revoked));
        printf("%-36s  %-36s  %-16s  %-12s  %-24s  %-24s  %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), name, PQgetvalue(res, i, 3), created, used, revoked);
    }
    PQclear(res);
    return CTL_EXIT_OK;
}

static int api_keys_revoke(ctl_ctx *ctx, int argc, char **argv) {
    int rc = ctl_parse_options(ctx, "api-keys revoke", api_keys_usage, NULL, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (argc - optind != 1) return ctl_usage_error("api-keys revoke", "expected one KEY_ID");
    char id[37];
    if (!ap_uuid_normalize(argv[optind], id))
        return ctl_fail("\"%s\" is not an API key id (a UUID)", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {id};
    /* coalesce: revoking twice keeps the first revocation's time. */
    PGresult *res = ctl_exec(ctx,
                             "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
                             "WHERE id = $1 RETURNING key_prefix",
                             1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot revoke key %s: %s", id, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return ctl_fail("API key %s not found", id);
    }
    printf("revoked key %s (%s...)\n", id, PQgetvalue(res, 0, 0));
    PQclear(res);
    return CTL_EXIT_OK;
}

int ctl_cmd_api_keys(ctl_ctx *ctx, int argc, char **argv) {
    if (argc < 2) return ctl_usage_error("api-keys", "missing sub-command (create, list, revoke)");
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs(api_keys_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(verb, "create") == 0) return api_keys_create(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0) return api_keys_list(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "revoke") == 0) return api_keys_revoke(ctx, argc - 1, argv + 1);
    return ctl_usage_error("api-keys", "unknown sub-command \"%s\" (create, list, revoke)", verb);
}
