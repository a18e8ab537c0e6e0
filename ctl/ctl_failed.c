/* ctl_failed.c -- `failed`: what went wrong, grouped by reason.
 *
 * During an incident hundreds of rows fail for the same few reasons (a
 * revoked token, a platform outage). One line per reason, with a count, the
 * platform and a few example ids to `show`, says more than a list of rows,
 * and its filters are the ones `retry` takes, so a group can be re-queued
 * once its cause is fixed. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char failed_usage[] =
    "usage: autopostctl failed [--platform P] [--status failed|unconfirmed] [--limit N]\n"
    "                          [--json]\n\n"
    "Failed and unconfirmed schedules grouped by platform, status and reason\n"
    "(error class, code, message), largest group first (default limit 20):\n"
    "count, the latest time, and up to three example ids. Re-queue a group\n"
    "with `autopostctl retry --platform P --reason TEXT`. Takes --config FILE.\n";

#define EXAMPLES 3

// clang-format off
static const char failed_sql[] =
    "SELECT a.platform, s.status, s.error_class, s.error_code, s.error_message, count(*), "
    CTL_SQL_MS("max(s.updated_at)") ", "
    "array_to_string((array_agg(s.id::text ORDER BY s.updated_at DESC, s.id))[1:3], ' ') "
    "FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id "
    "WHERE s.status IN ('failed', 'unconfirmed') AND ($1::text IS NULL OR a.platform = $1) "
    "AND ($2::text IS NULL OR s.status = $2) "
    "GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 7 DESC, 1, 2 LIMIT $3::bigint";
// clang-format on

static json_t *text_or_null(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static int failed_json(const PGresult *res) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < PQntuples(res); i++) {
        char at[32];
        ctl_format_ms(PQgetvalue(res, i, 6), at, sizeof(at));
        json_t *ids = json_array();
        char *list = strdup(PQgetvalue(res, i, 7)), *save = NULL;
        for (char *t = list ? strtok_r(list, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
            json_array_append_new(ids, json_string(t));
        free(list);
        json_t *o = json_object();
        json_object_set_new(o, "platform", json_string(PQgetvalue(res, i, 0)));
        json_object_set_new(o, "status", json_string(PQgetvalue(res, i, 1)));
        json_object_set_new(o, "error_class", text_or_null(res, i, 2));
        json_object_set_new(o, "error_code", text_or_null(res, i, 3));
        json_object_set_new(o, "error_message", text_or_null(res, i, 4));
        json_object_set_new(o, "count", json_integer(strtoll(PQgetvalue(res, i, 5), NULL, 10)));
        json_object_set_new(o, "latest", json_string(at));
        json_object_set_new(o, "example_ids", ids);
        json_array_append_new(arr, o);
    }
    if (arr == NULL) return ctl_fail("out of memory building JSON");
    int rc = json_dumpf(arr, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0
                 ? CTL_EXIT_OK
                 : ctl_fail("cannot write JSON");
    putchar('\n');
    json_decref(arr);
    return rc;
}

static const char *dash(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) || !*PQgetvalue(res, row, col) ? "-"
                                                                     : PQgetvalue(res, row, col);
}

static int failed_text(const PGresult *res) {
    int n = PQntuples(res);
    if (n == 0) {
        printf("no failed or unconfirmed schedules\n");
        return CTL_EXIT_OK;
    }
    printf("%7s  %-10s  %-11s  %-24s  %s\n", "COUNT", "PLATFORM", "STATUS", "LATEST",
           "REASON / EXAMPLE IDS");
    for (int i = 0; i < n; i++) {
        char at[32], msg[512];
        ctl_format_ms(PQgetvalue(res, i, 6), at, sizeof(at));
        ctl_truncate(dash(res, i, 4), 90, msg, sizeof(msg));
        printf("%7s  %-10s  %-11s  %-24s  [%s] %s: %s\n", PQgetvalue(res, i, 5),
               PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), at, dash(res, i, 2), dash(res, i, 3),
               msg);
        printf("%7s  %-10s  %-11s  %-24s  e.g. %s\n", "", "", "", "", PQgetvalue(res, i, 7));
    }
    return CTL_EXIT_OK;
}

static bool take_failed_status(char *value, void *target) {
    if (strcmp(value, "failed") != 0 && strcmp(value, "unconfirmed") != 0) return false;
    *(const char **)target = value;
    return true;
}

int ctl_cmd_failed(ctl_ctx *ctx, int argc, char **argv) {
    const char *platform = NULL, *status = NULL;
    long limit = 20;
    bool json = false;
    const ctl_opt opts[] = {{.name = "platform", .string = &platform},
                            {.name = "status",
                             .take = take_failed_status,
                             .target = &status,
                             .invalid = "--status must be failed or unconfirmed"},
                            {.name = "limit",
                             .number = &limit,
                             .min = 1,
                             .max = 100000,
                             .invalid = "--limit must be a number from 1 to 100000"},
                            {.name = "json", .flag = &json},
                            {0}};
    int rc = ctl_parse_options(ctx, "failed", failed_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc) return ctl_usage_error("failed", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512], limit_text[24];
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    const char *params[] = {platform, status, limit_text};
    PGresult *res = ctl_exec(ctx, failed_sql, 3, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot read failed schedules: %s", err);
    rc = json ? failed_json(res) : failed_text(res);
    PQclear(res);
    return rc;
}
