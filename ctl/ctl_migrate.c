/* ctl_migrate.c -- `migrate` and `streams apply`: bring PostgreSQL and
 * JetStream to the shape this build of autopost expects.
 *
 * migrate applies the embedded migrations (ctl_migrations.h) that
 * schema_migrations does not list yet, each in its own transaction together
 * with its schema_migrations row, so a failure leaves the database at the
 * previous version, never half-way. The whole run holds a session advisory
 * lock: two deploy jobs starting at once serialise instead of racing on
 * CREATE TABLE, and the second one finds everything applied.
 *
 * A migration's text runs through PQexec because it holds several
 * statements; it is compiled into the binary, never user input. A migration
 * must therefore not need to run outside a transaction (no CREATE INDEX
 * CONCURRENTLY). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_migrations.h"
#include "event.h"
#include "topology.h"

static const char migrate_usage[] =
    "usage: autopostctl migrate [--config FILE]\n\n"
    "Applies the SQL migrations built into autopostctl that the database has not\n"
    "seen yet (recorded in schema_migrations). Safe to run again and from several\n"
    "places at once: runs are serialised with a PostgreSQL advisory lock.\n";

static const char streams_usage[] =
    "usage: autopostctl streams apply [--config FILE]\n"
    "       autopostctl streams migrate-kv [--delete-legacy] [--config FILE]\n\n"
    "apply       creates or updates the JetStream streams, consumers and key-value\n"
    "            buckets (one consumer and two buckets per configured platform)\n"
    "            autopost runs on. Idempotent.\n"
    "migrate-kv  copies the shared buckets of older releases (autopost_attempts,\n"
    "            autopost_accounts) into the per-platform ones, so no attempt\n"
    "            record is lost across the upgrade; run it with the publishers\n"
    "            stopped, after apply. Safe to repeat. --delete-legacy then\n"
    "            deletes the old buckets. Needs NATS (admin) and PostgreSQL.\n";

/* The version is the file name's leading decimal number. Read it from the
 * name rather than trusting the generated integer literal, which C would
 * read as octal because of the leading zeros ("0010" is 8). */
static int migration_version(const ap_migration *m) {
    char *end;
    long v = strtol(m->name, &end, 10);
    return (end != m->name && v > 0 && v < 1000000) ? (int)v : -1;
}

static int check_embedded(void) {
    int prev = 0;
    for (const ap_migration *m = ap_migrations; m->name; m++) {
        int v = migration_version(m);
        if (v <= prev)
            return ctl_fail("embedded migration %s: version %d is not above the previous (%d)",
                            m->name, v, prev);
        prev = v;
    }
    return CTL_EXIT_OK;
}

static int take_lock(ctl_ctx *ctx) {
    char err[512];
    const char *key[] = {CTL_MIGRATE_LOCK_KEY};
    PGresult *res = ctl_exec(ctx, "SELECT pg_try_advisory_lock($1::bigint)", 1, key,
                             PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot take the migration lock: %s", err);
    bool got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (got) return CTL_EXIT_OK;
    fprintf(stderr, "autopostctl: another migrate is running; waiting for it to finish\n");
    res = ctl_exec(ctx, "SELECT pg_advisory_lock($1::bigint)", 1, key, PGRES_TUPLES_OK, err,
                   sizeof(err));
    if (res == NULL) return ctl_fail("cannot take the migration lock: %s", err);
    PQclear(res);
    return CTL_EXIT_OK;
}

static void release_lock(ctl_ctx *ctx) {
    const char *key[] = {CTL_MIGRATE_LOCK_KEY};
    /* Closing the session would release it too; this is only tidiness. */
    PQclear(PQexecParams(ctx->pg.conn, "SELECT pg_advisory_unlock($1::bigint)", 1, NULL, key, NULL,
                         NULL, 0));
}

/* Which versions are applied: a sorted array (caller frees) of *n entries. */
static int load_applied(ctl_ctx *ctx, int **out, int *n) {
    char err[512];
    PGresult *res = ctl_exec(ctx,
                             "CREATE TABLE IF NOT EXISTS schema_migrations ("
                             " version integer PRIMARY KEY,"
                             " name text NOT NULL,"
                             " applied_at timestamptz NOT NULL DEFAULT now())",
                             0, NULL, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot create schema_migrations: %s", err);
    PQclear(res);
    res = ctl_exec(ctx, "SELECT version FROM schema_migrations ORDER BY version", 0, NULL,
                   PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot read schema_migrations: %s", err);
    *n = PQntuples(res);
    *out = calloc((size_t)*n + 1, sizeof(int));
    if (*out == NULL) {
        PQclear(res);
        return ctl_fail("out of memory");
    }
    for (int i = 0; i < *n; i++) (*out)[i] = atoi(PQgetvalue(res, i, 0));
    PQclear(res);
    return CTL_EXIT_OK;
}

static bool is_applied(const int *applied, int n, int version) {
    for (int i = 0; i < n; i++)
        if (applied[i] == version) return true;
    return false;
}

static int apply_one(ctl_ctx *ctx, const ap_migration *m, int version) {
    char err[512], vtext[16];
    if (ctl_begin(ctx, err, sizeof(err)) != AP_OK)
        return ctl_fail("migration %s: %s", m->name, err);
    if (ap_pg_exec(&ctx->pg, m->sql, err, sizeof(err)) != AP_OK) goto fail;
    snprintf(vtext, sizeof(vtext), "%d", version);
    const char *params[] = {vtext, m->name};
    PGresult *res = ctl_exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                             2, params, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) goto fail;
    PQclear(res);
    if (ctl_commit(ctx, err, sizeof(err)) != AP_OK) goto fail;
    printf("applied %s\n", m->name);
    return CTL_EXIT_OK;
fail:
    ctl_rollback(ctx);
    return ctl_fail("migration %s failed (rolled back): %s", m->name, err);
}

static int run_migrations(ctl_ctx *ctx) {
    int *applied = NULL, napplied = 0, nnew = 0, latest = 0, rc;
    if ((rc = load_applied(ctx, &applied, &napplied)) != CTL_EXIT_OK) return rc;
    for (const ap_migration *m = ap_migrations; m->name; m++) {
        int v = migration_version(m);
        latest = v;
        if (is_applied(applied, napplied, v)) continue;
        if ((rc = apply_one(ctx, m, v)) != CTL_EXIT_OK) goto cleanup;
        nnew++;
    }
    for (int i = 0; i < napplied; i++)
        if (applied[i] > latest)
            fprintf(stderr,
                    "autopostctl: warning: the database has migration %d, newer than this "
                    "autopostctl knows (%d)\n",
                    applied[i], latest);
    if (nnew == 0) printf("up to date (version %d)\n", latest);
    rc = CTL_EXIT_OK;
cleanup:
    free(applied);
    return rc;
}

int ctl_cmd_migrate(ctl_ctx *ctx, int argc, char **argv) {
    int rc = ctl_parse_options(ctx, "migrate", migrate_usage, NULL, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("migrate", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = check_embedded()) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    if ((rc = take_lock(ctx)) != CTL_EXIT_OK) return rc;
    rc = run_migrations(ctx);
    release_lock(ctx);
    return rc;
}

/* ---- streams apply ------------------------------------------------------ */

static void print_topology(const ap_config *cfg) {
    printf("stream    %-22s %s*, %s*%s\n", AP_STREAM_JOBS, AP_SUBJECT_JOBS_PREFIX,
           AP_SUBJECT_JOBS_PREFIX, AP_SUBJECT_URGENT_SUFFIX);
    printf("stream    %-22s %s*\n", AP_STREAM_RESULTS, AP_SUBJECT_RESULTS_PREFIX);
    printf("stream    %-22s %s\n", AP_STREAM_ADVISORIES, AP_SUBJECT_MAX_DELIVERIES);
    printf("stream    %-22s %s>\n", AP_STREAM_EVENTS, AP_SUBJECT_EVENTS_PREFIX);
    for (int i = 0; i < cfg->nplatforms; i++) {
        char durable[80];
        ap_consumer_name_publisher(durable, sizeof(durable), cfg->platforms[i].name);
        printf("consumer  %-22s on %s, filter %s%s, max ack pending %d\n", durable, AP_STREAM_JOBS,
               AP_SUBJECT_JOBS_PREFIX, cfg->platforms[i].name, cfg->platforms[i].max_ack_pending);
        ap_consumer_name_urgent(durable, sizeof(durable), cfg->platforms[i].name);
        printf("consumer  %-22s on %s, filter %s%s%s, max ack pending %d\n", durable,
               AP_STREAM_JOBS, AP_SUBJECT_JOBS_PREFIX, cfg->platforms[i].name,
               AP_SUBJECT_URGENT_SUFFIX, cfg->platforms[i].max_ack_pending);
    }
    printf("consumer  %-22s on %s\n", AP_CONSUMER_DISPATCHER, AP_STREAM_RESULTS);
    printf("consumer  %-22s on %s\n", AP_CONSUMER_ADVISORIES, AP_STREAM_ADVISORIES);
    printf("consumer  %-22s on %s (the stream made if missing)\n", WH_EVENTS_CONSUMER,
           WH_EVENTS_STREAM);
    for (int i = 0; i < cfg->nplatforms; i++) {
        char attempts[AP_KV_BUCKET_LEN], accounts[AP_KV_BUCKET_LEN];
        if (ap_kv_bucket_attempts(attempts, sizeof(attempts), cfg->platforms[i].name) == AP_OK &&
            ap_kv_bucket_accounts(accounts, sizeof(accounts), cfg->platforms[i].name) == AP_OK)
            printf("kv        %s, %s\n", attempts, accounts);
    }
}

int ctl_cmd_streams(ctl_ctx *ctx, int argc, char **argv) {
    bool delete_legacy = false;
    const ctl_opt opts[] = {{.name = "delete-legacy", .flag = &delete_legacy}, {.name = NULL}};
    int rc = ctl_parse_options(ctx, "streams", streams_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind >= argc)
        return ctl_usage_error("streams", "missing sub-command (apply, migrate-kv)");
    if (optind + 1 < argc)
        return ctl_usage_error("streams", "unexpected argument \"%s\"", argv[optind + 1]);
    if (strcmp(argv[optind], "migrate-kv") == 0) return ctl_streams_migrate_kv(ctx, delete_legacy);
    if (strcmp(argv[optind], "apply") != 0)
        return ctl_usage_error(
            "streams", "unknown sub-command \"%s\" (expected apply or migrate-kv)", argv[optind]);
    if (delete_legacy) return ctl_usage_error("streams", "--delete-legacy goes with migrate-kv");
    if ((rc = ctl_setup(ctx, AP_NEED_NATS)) != CTL_EXIT_OK) return rc;
    if (ctx->cfg.nplatforms == 0)
        fprintf(stderr, "autopostctl: warning: no platforms configured, so no publisher "
                        "consumers will be created\n");
    ap_nats n;
    char err[512];
    if (ctl_nats_open(ctx, &n, ctx->cfg.nats_connect_timeout_ms, err, sizeof(err)) != AP_OK)
        return ctl_fail("%s", err);
    ap_status s = ap_js_apply_topology(n.js, &ctx->cfg, err, sizeof(err));
    /* The webhooks consumer on AUTOPOST_EVENTS (webhooks/topology.h). */
    if (s == AP_OK) s = wh_topology_apply(n.js, &ctx->cfg, true, err, sizeof(err));
    ap_nats_close(&n);
    if (s != AP_OK) return ctl_fail("applying the JetStream topology failed: %s", err);
    print_topology(&ctx->cfg);
    return CTL_EXIT_OK;
}
