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

static json_t *text_or_null(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

/* The answer's example_ids column: a JSON array of ids (store/sql/failed.sql). */
static json_t *example_ids(const PGresult *res, int row) {
    json_t *ids = json_loads(PQgetvalue(res, row, AP_STORE_FAILED_COL_EXAMPLE_IDS), 0, NULL);
    if (json_is_array(ids)) return ids;
    json_decref(ids);
    return json_array();
}

static int failed_json(const PGresult *res) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < PQntuples(res); i++) {
        json_t *o = json_object();
        json_object_set_new(o, "platform",
                            json_string(PQgetvalue(res, i, AP_STORE_FAILED_COL_PLATFORM)));
        json_object_set_new(o, "status",
                            json_string(PQgetvalue(res, i, AP_STORE_FAILED_COL_STATUS)));
        json_object_set_new(o, "error_class",
                            text_or_null(res, i, AP_STORE_FAILED_COL_ERROR_CLASS));
        json_object_set_new(o, "error_code", text_or_null(res, i, AP_STORE_FAILED_COL_ERROR_CODE));
        json_object_set_new(o, "error_message",
                            text_or_null(res, i, AP_STORE_FAILED_COL_ERROR_MESSAGE));
        json_object_set_new(
            o, "count",
            json_integer(strtoll(PQgetvalue(res, i, AP_STORE_FAILED_COL_COUNT), NULL, 10)));
        json_object_set_new(o, "latest",
                            json_string(PQgetvalue(res, i, AP_STORE_FAILED_COL_LATEST)));
        json_object_set_new(o, "example_ids", example_ids(res, i));
        json_array_append_new(arr, o);
    }
    return ctl_print_json(arr);
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
        char msg[512];
        ctl_truncate(dash(res, i, AP_STORE_FAILED_COL_ERROR_MESSAGE), 90, msg, sizeof(msg));
        printf("%7s  %-10s  %-11s  %-24s  [%s] %s: %s\n",
               PQgetvalue(res, i, AP_STORE_FAILED_COL_COUNT),
               PQgetvalue(res, i, AP_STORE_FAILED_COL_PLATFORM),
               PQgetvalue(res, i, AP_STORE_FAILED_COL_STATUS),
               PQgetvalue(res, i, AP_STORE_FAILED_COL_LATEST),
               dash(res, i, AP_STORE_FAILED_COL_ERROR_CLASS),
               dash(res, i, AP_STORE_FAILED_COL_ERROR_CODE), msg);
        json_t *ids = example_ids(res, i), *id;
        size_t k;
        printf("%7s  %-10s  %-11s  %-24s  e.g.", "", "", "", "");
        json_array_foreach(ids, k, id)
            printf(" %s", json_string_value(id) ? json_string_value(id) : "?");
        printf("\n");
        json_decref(ids);
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
    PGresult *res = ctl_store(ctx, AP_STORE_FAILED, params, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot read failed schedules: %s", err);
    rc = json ? failed_json(res) : failed_text(res);
    PQclear(res);
    return rc;
}
