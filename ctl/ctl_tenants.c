/* ctl_tenants.c -- `tenants add|list`: the customers (workspaces) that own
 * accounts, posts and API keys (migration 0010).
 *
 * A tenant is only a name and an id here; what it owns points at it.
 * `tenants add` prints the new id alone as its last word, so a script can
 * write tid=$(autopostctl tenants add --name acme | awk '{print $NF}'). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ap_utf8.h"
#include "ctl.h"

static const char tenants_usage[] =
    "usage: autopostctl tenants add --name NAME\n"
    "       autopostctl tenants list\n\n"
    "add   creates a tenant (a customer or workspace: it owns accounts, posts and\n"
    "      API keys) and prints its id. Names are unique, 1 to 200 characters.\n"
    "list  every tenant: id, name, accounts, active API keys, created.\n"
    "The default tenant 00000000-0000-0000-0000-000000000001 holds every row\n"
    "that existed before tenants did.\n"
    "\nboth take --config FILE.\n";

static int tenants_add(ctl_ctx *ctx, int argc, char **argv) {
    const char *name = NULL;
    const ctl_opt opts[] = {{.name = "name", .string = &name}, {0}};
    int rc = ctl_parse_options(ctx, "tenants add", tenants_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("tenants add", "unexpected argument \"%s\"", argv[optind]);
    if (name == NULL || *name == '\0') return ctl_usage_error("tenants add", "--name is required");
    if (!ap_utf8_valid(name)) return ctl_fail("--name is not valid UTF-8");
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {name};
    /* ON CONFLICT: a taken name is a clear refusal, not a constraint dump. */
    PGresult *res = ctl_exec(ctx,
                             "INSERT INTO tenants (name) VALUES ($1) "
                             "ON CONFLICT (name) DO NOTHING RETURNING id",
                             1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot add tenant: %s", err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return ctl_fail("a tenant named \"%s\" already exists", name);
    }
    printf("%s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    return CTL_EXIT_OK;
}

static int tenants_list(ctl_ctx *ctx, int argc, char **argv) {
    int rc = ctl_parse_options(ctx, "tenants list", tenants_usage, NULL, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("tenants list", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    PGresult *res =
        ctl_exec(ctx,
                 "SELECT t.id, t.name, "
                 "(SELECT count(*) FROM social_accounts a WHERE a.tenant_id = t.id), "
                 "(SELECT count(*) FROM api_keys k WHERE k.tenant_id = t.id AND k.revoked_at IS "
                 "NULL), " CTL_SQL_MS("t.created_at") " FROM tenants t ORDER BY t.created_at, t.id",
                 0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot list tenants: %s", err);
    printf("%-36s  %-24s  %8s  %4s  %s\n", "ID", "NAME", "ACCOUNTS", "KEYS", "CREATED");
    for (int i = 0; i < PQntuples(res); i++) {
        char name[128], created[32];
        ctl_truncate(PQgetvalue(res, i, 1), 24, name, sizeof(name));
        ctl_format_ms(PQgetvalue(res, i, 4), created, sizeof(created));
        printf("%-36s  %-24s  %8s  %4s  %s\n", PQgetvalue(res, i, 0), name, PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), created);
    }
    PQclear(res);
    return CTL_EXIT_OK;
}

int ctl_cmd_tenants(ctl_ctx *ctx, int argc, char **argv) {
    if (argc < 2) return ctl_usage_error("tenants", "missing sub-command (add, list)");
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs(tenants_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(verb, "add") == 0) return tenants_add(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0) return tenants_list(ctx, argc - 1, argv + 1);
    return ctl_usage_error("tenants", "unknown sub-command \"%s\" (add, list)", verb);
}
