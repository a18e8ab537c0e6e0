/* ctl_show.c -- `list` and `show`: schedules as they stand.
 *
 * Each has a table for people and --json for scripts. JSON is built with
 * jansson so every string is escaped correctly, whatever a post contains;
 * times are RFC 3339 UTC in both forms (read as epoch milliseconds, so the
 * session's time zone never leaks into the output). The statements are the
 * store's (store/sql/ctl_*.sql, account_limit_wait.sql). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_time.h"
#include "ctl.h"
#include "ctl_post.h"

static const char list_usage[] =
    "usage: autopostctl list [--status S] [--platform P] [--limit N] [--json]\n\n"
    "Recent schedules, most recently changed first (default limit 50):\n"
    "id, platform, account external id, scheduled time, status, attempts, error.\n"
    "S is one of pending, queued, retrying, published, failed, unconfirmed,\n"
    "cancelled. Takes --config FILE.\n";

static const char show_usage[] =
    "usage: autopostctl show SCHEDULE_ID [--json]\n\n"
    "One schedule in full: state, reason (error class, code, message), external\n"
    "post id and URL, attempts, generation, times, the post's content and the\n"
    "attempt history. Takes --config FILE.\n";

static bool valid_status(const char *s) {
    for (size_t i = 0; i < CTL_NSTATUSES; i++)
        if (strcmp(s, ctl_statuses[i]) == 0) return true;
    return false;
}

/* ---- small JSON helpers ------------------------------------------------- */

/* A text column as a JSON string, or null when SQL NULL. */
static json_t *jcol(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_t *jint(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? json_null()
                                      : json_integer(strtoll(PQgetvalue(res, row, col), NULL, 10));
}

/* An epoch-milliseconds column as an RFC 3339 string, or null. */
static json_t *jtime(const PGresult *res, int row, int col) {
    if (PQgetisnull(res, row, col)) return json_null();
    char buf[32];
    ctl_format_ms(PQgetvalue(res, row, col), buf, sizeof(buf));
    return json_string(buf);
}

/* A text column for a table: "-" for NULL or empty. */
static const char *tcol(const PGresult *res, int row, int col) {
    const char *v = PQgetvalue(res, row, col);
    return (PQgetisnull(res, row, col) || *v == '\0') ? "-" : v;
}

/* ---- list --------------------------------------------------------------- */

static int list_print(const PGresult *res, bool json) {
    int n = PQntuples(res);
    if (json) {
        json_t *arr = json_array();
        for (int i = 0; arr && i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "id", jcol(res, i, 0));
            json_object_set_new(o, "platform", jcol(res, i, 1));
            json_object_set_new(o, "account_external_id", jcol(res, i, 2));
            json_object_set_new(o, "scheduled_at", jtime(res, i, 3));
            json_object_set_new(o, "status", jcol(res, i, 4));
            json_object_set_new(o, "attempts", jint(res, i, 5));
            json_object_set_new(o, "generation", jint(res, i, 6));
            json_object_set_new(o, "error", jcol(res, i, 7));
            json_object_set_new(o, "updated_at", jtime(res, i, 8));
            if (json_array_append_new(arr, o) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return ctl_print_json(arr);
    }
    printf("%-36s  %-10s  %-16s  %-24s  %-11s  %8s  %s\n", "ID", "PLATFORM", "ACCOUNT",
           "SCHEDULED AT", "STATUS", "ATTEMPTS", "ERROR");
    for (int i = 0; i < n; i++) {
        char account[96], at[32], error[256];
        ctl_truncate(PQgetvalue(res, i, 2), 16, account, sizeof(account));
        ctl_format_ms(PQgetvalue(res, i, 3), at, sizeof(at));
        ctl_truncate(tcol(res, i, 7), 60, error, sizeof(error));
        printf("%-36s  %-10s  %-16s  %-24s  %-11s  %8s  %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), account, at, PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
               error);
    }
    if (n == 0) fprintf(stderr, "autopostctl: no schedules match\n");
    return CTL_EXIT_OK;
}

int ctl_cmd_list(ctl_ctx *ctx, int argc, char **argv) {
    const char *status = NULL, *platform = NULL;
    long limit = 50;
    bool json = false;
    const ctl_opt opts[] = {{.name = "status", .string = &status},
                            {.name = "platform", .string = &platform},
                            {.name = "limit",
                             .number = &limit,
                             .min = 1,
                             .max = 1000000,
                             .invalid = "--limit must be a number from 1 to 1000000"},
                            {.name = "json", .flag = &json},
                            {0}};
    int rc = ctl_parse_options(ctx, "list", list_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc) return ctl_usage_error("list", "unexpected argument \"%s\"", argv[optind]);
    if (status && !valid_status(status))
        return ctl_usage_error("list",
                               "unknown status \"%s\" (pending, queued, retrying, published, "
                               "failed, unconfirmed, cancelled)",
                               status);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512], limit_text[24];
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    const char *params[] = {status, platform, limit_text};
    PGresult *res = ctl_store(ctx, AP_STORE_CTL_LIST, params, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot list schedules: %s", err);
    rc = list_print(res, json);
    PQclear(res);
    return rc;
}

/* ---- show --------------------------------------------------------------- */

/* Column numbers of store/sql/ctl_show.sql, in order. */
enum {
    S_ID,
    S_STATUS,
    S_GENERATION,
    S_ATTEMPTS,
    S_ERROR_CLASS,
    S_ERROR_CODE,
    S_ERROR_MESSAGE,
    S_EXT_ID,
    S_EXT_URL,
    S_SCHEDULED,
    S_QUEUED,
    S_PUBLISHED,
    S_CREATED,
    S_UPDATED,
    S_ACCOUNT_ID,
    S_PLATFORM,
    S_ACCOUNT_EXT,
    S_ACCOUNT_NAME,
    S_ACCOUNT_STATUS,
    S_POST_ID,
    S_TEXT,
    S_LINK,
    S_MEDIA,
    S_NOT_BEFORE,   /* a deferred schedule waits for this (README "Rate limits") */
    S_PAUSED_UNTIL, /* the account's pause after a platform's "slow down" */
    S_TRACE_ID,     /* W3C trace id (README "Tracing"); NULL for rows before 0025 */
    S_PART_IDS      /* a thread's and first comment's ids, space-separated ("" for none) */
};

enum {
    H_ID,
    H_GENERATION,
    H_ATTEMPT,
    H_EVENT,
    H_ERROR_CLASS,
    H_ERROR_CODE,
    H_ERROR_MESSAGE,
    H_EXT_ID,
    H_HTTP_STATUS,
    H_ACTOR,
    H_STARTED,
    H_FINISHED,
    H_RECORDED
};

static json_t *show_json(const PGresult *s, const PGresult *h) {
    json_t *o = json_object(), *account = json_object(), *post = json_object(),
           *history = json_array();
    if (!o || !account || !post || !history) {
        json_decref(o), json_decref(account), json_decref(post), json_decref(history);
        return NULL;
    }
    json_object_set_new(o, "id", jcol(s, 0, S_ID));
    json_object_set_new(o, "status", jcol(s, 0, S_STATUS));
    json_object_set_new(o, "generation", jint(s, 0, S_GENERATION));
    json_object_set_new(o, "attempts", jint(s, 0, S_ATTEMPTS));
    json_object_set_new(o, "error_class", jcol(s, 0, S_ERROR_CLASS));
    json_object_set_new(o, "error_code", jcol(s, 0, S_ERROR_CODE));
    json_object_set_new(o, "error_message", jcol(s, 0, S_ERROR_MESSAGE));
    json_object_set_new(o, "external_post_id", jcol(s, 0, S_EXT_ID));
    json_object_set_new(o, "external_url", jcol(s, 0, S_EXT_URL));
    json_object_set_new(o, "scheduled_at", jtime(s, 0, S_SCHEDULED));
    json_object_set_new(o, "queued_at", jtime(s, 0, S_QUEUED));
    json_object_set_new(o, "published_at", jtime(s, 0, S_PUBLISHED));
    json_object_set_new(o, "created_at", jtime(s, 0, S_CREATED));
    json_object_set_new(o, "updated_at", jtime(s, 0, S_UPDATED));
    json_object_set_new(o, "not_before", jtime(s, 0, S_NOT_BEFORE));
    json_object_set_new(o, "trace_id", jcol(s, 0, S_TRACE_ID));
    json_t *parts = json_array();
    char *ids = strdup(PQgetvalue(s, 0, S_PART_IDS)), *save = NULL;
    for (char *t = ids ? strtok_r(ids, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
        json_array_append_new(parts, json_string(t));
    free(ids);
    json_object_set_new(o, "part_external_ids", parts);
    json_object_set_new(account, "id", jcol(s, 0, S_ACCOUNT_ID));
    json_object_set_new(account, "platform", jcol(s, 0, S_PLATFORM));
    json_object_set_new(account, "external_id", jcol(s, 0, S_ACCOUNT_EXT));
    json_object_set_new(account, "name", jcol(s, 0, S_ACCOUNT_NAME));
    json_object_set_new(account, "status", jcol(s, 0, S_ACCOUNT_STATUS));
    json_object_set_new(account, "paused_until", jtime(s, 0, S_PAUSED_UNTIL));
    json_object_set_new(o, "account", account);
    json_object_set_new(post, "id", jcol(s, 0, S_POST_ID));
    json_object_set_new(post, "text", jcol(s, 0, S_TEXT));
    json_object_set_new(post, "link", jcol(s, 0, S_LINK));
    json_t *media = json_loads(PQgetvalue(s, 0, S_MEDIA), 0, NULL);
    json_object_set_new(post, "media", media ? media : json_array());
    json_object_set_new(o, "post", post);
    for (int i = 0; i < PQntuples(h); i++) {
        json_t *e = json_object();
        json_object_set_new(e, "id", jint(h, i, H_ID));
        json_object_set_new(e, "generation", jint(h, i, H_GENERATION));
        json_object_set_new(e, "attempt", jint(h, i, H_ATTEMPT));
        json_object_set_new(e, "event", jcol(h, i, H_EVENT));
        json_object_set_new(e, "error_class", jcol(h, i, H_ERROR_CLASS));
        json_object_set_new(e, "error_code", jcol(h, i, H_ERROR_CODE));
        json_object_set_new(e, "error_message", jcol(h, i, H_ERROR_MESSAGE));
        json_object_set_new(e, "external_post_id", jcol(h, i, H_EXT_ID));
        json_object_set_new(e, "http_status", jint(h, i, H_HTTP_STATUS));
        json_object_set_new(e, "actor", jcol(h, i, H_ACTOR));
        json_object_set_new(e, "started_at", jtime(h, i, H_STARTED));
        json_object_set_new(e, "finished_at", jtime(h, i, H_FINISHED));
        json_object_set_new(e, "recorded_at", jtime(h, i, H_RECORDED));
        json_array_append_new(history, e);
    }
    json_object_set_new(o, "history", history);
    return o;
}

static void show_time(const char *label, const PGresult *s, int col) {
    char buf[32];
    ctl_format_ms(PQgetvalue(s, 0, col), buf, sizeof(buf));
    printf("%-14s %s\n", label, buf);
}

/* Multi-line text, indented under its label. */
static void show_block(const char *label, const char *text) {
    printf("%-14s ", label);
    for (const char *p = text; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1]) printf("%-14s ", "");
    }
    putchar('\n');
}

static void show_media(const char *media_json) {
    json_t *media = json_loads(media_json, 0, NULL);
    size_t i;
    json_t *m;
    if (!json_is_array(media) || json_array_size(media) == 0) {
        printf("%-14s -\n", "media");
        json_decref(media);
        return;
    }
    json_array_foreach(media, i, m) {
        const char *url = json_string_value(json_object_get(m, "url"));
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *alt = json_string_value(json_object_get(m, "alt_text"));
        printf("%-14s %zu. %s %s%s%s%s\n", i == 0 ? "media" : "", i + 1, type ? type : "?",
               url ? url : "?", alt && *alt ? " (alt: " : "", alt && *alt ? alt : "",
               alt && *alt ? ")" : "");
    }
    json_decref(media);
}

/* Prints "waiting for the account limit" when a due pending schedule's
 * account has no free slot; prints nothing otherwise or when it cannot tell. */
static void show_limit_wait(ctl_ctx *ctx, const PGresult *s) {
    if (strcmp(PQgetvalue(s, 0, S_STATUS), "pending") != 0 || !ctx->cfg_loaded) return;
    /* Not due yet, or deferred: it waits for its time, not for a slot. */
    int64_t now = ap_now_ms();
    if (atoll(PQgetvalue(s, 0, S_SCHEDULED)) > now ||
        (!PQgetisnull(s, 0, S_NOT_BEFORE) && atoll(PQgetvalue(s, 0, S_NOT_BEFORE)) > now))
        return;
    const ap_platform_config *pc = ap_config_platform(&ctx->cfg, PQgetvalue(s, 0, S_PLATFORM));
    if (pc == NULL || pc->account_limit <= 0) return;
    char window[24], err[256];
    snprintf(window, sizeof(window), "%lld", (long long)pc->account_window_ms);
    const char *params[] = {PQgetvalue(s, 0, S_ACCOUNT_ID), window};
    PGresult *r = ctl_store(ctx, AP_STORE_ACCOUNT_LIMIT_WAIT, params, err, sizeof(err));
    if (r == NULL) return;
    if (PQntuples(r) == 1) {
        long long queued = atoll(PQgetvalue(r, 0, 0)), ours = atoll(PQgetvalue(r, 0, 1)),
                  elsewhere = atoll(PQgetvalue(r, 0, 2));
        if (queued + ours + elsewhere >= pc->account_limit) {
            char read_at[32] = "never", opens[32] = "?";
            if (!PQgetisnull(r, 0, 4)) ctl_format_ms(PQgetvalue(r, 0, 4), read_at, sizeof(read_at));
            if (!PQgetisnull(r, 0, 5)) ctl_format_ms(PQgetvalue(r, 0, 5), opens, sizeof(opens));
            printf("%-14s waiting for the account limit: %lld counted of %d per %lld s"
                   " (queued %lld, published %lld, made elsewhere %lld by the platform's count"
                   " %s read %s); a slot opens by %s%s\n",
                   "", queued + ours + elsewhere, pc->account_limit,
                   (long long)(pc->account_window_ms / 1000), queued, ours, elsewhere,
                   PQgetisnull(r, 0, 3) ? "-" : PQgetvalue(r, 0, 3), read_at, opens,
                   queued > 0 ? " or when a queued job ends" : "");
        }
    }
    PQclear(r);
}

static void show_text(ctl_ctx *ctx, const PGresult *s, const PGresult *h) {
    printf("%-14s %s\n", "schedule", PQgetvalue(s, 0, S_ID));
    printf("%-14s %s\n", "status", PQgetvalue(s, 0, S_STATUS));
    printf("%-14s %s\n", "trace_id", tcol(s, 0, S_TRACE_ID));
    if (!PQgetisnull(s, 0, S_ERROR_CLASS) || !PQgetisnull(s, 0, S_ERROR_CODE) ||
        !PQgetisnull(s, 0, S_ERROR_MESSAGE)) {
        char reason[4096];
        snprintf(reason, sizeof(reason), "[%s] %s: %s", tcol(s, 0, S_ERROR_CLASS),
                 tcol(s, 0, S_ERROR_CODE), tcol(s, 0, S_ERROR_MESSAGE));
        show_block("reason", reason);
    }
    printf("%-14s %s (%s %s, \"%s\", %s)\n", "account", PQgetvalue(s, 0, S_ACCOUNT_ID),
           PQgetvalue(s, 0, S_PLATFORM), PQgetvalue(s, 0, S_ACCOUNT_EXT),
           PQgetvalue(s, 0, S_ACCOUNT_NAME), PQgetvalue(s, 0, S_ACCOUNT_STATUS));
    show_time("scheduled at", s, S_SCHEDULED);
    /* Only while it matters: a deferred schedule's wait. */
    if (strcmp(PQgetvalue(s, 0, S_STATUS), "pending") == 0 && !PQgetisnull(s, 0, S_NOT_BEFORE))
        show_time("not before", s, S_NOT_BEFORE);
    if (!PQgetisnull(s, 0, S_PAUSED_UNTIL)) show_time("account paused", s, S_PAUSED_UNTIL);
    show_limit_wait(ctx, s);
    printf("%-14s %s\n", "generation", PQgetvalue(s, 0, S_GENERATION));
    printf("%-14s %s\n", "attempts", PQgetvalue(s, 0, S_ATTEMPTS));
    printf("%-14s %s\n", "external id", tcol(s, 0, S_EXT_ID));
    printf("%-14s %s\n", "external url", tcol(s, 0, S_EXT_URL));
    if (*PQgetvalue(s, 0, S_PART_IDS)) /* README "Threads and first comments" */
        printf("%-14s %s\n", "part ids", PQgetvalue(s, 0, S_PART_IDS));
    show_time("queued at", s, S_QUEUED);
    show_time("published at", s, S_PUBLISHED);
    show_time("created at", s, S_CREATED);
    show_time("updated at", s, S_UPDATED);
    printf("\n%-14s %s\n", "post", PQgetvalue(s, 0, S_POST_ID));
    show_block("text", PQgetvalue(s, 0, S_TEXT));
    printf("%-14s %s\n", "link", tcol(s, 0, S_LINK));
    show_media(PQgetvalue(s, 0, S_MEDIA));
    printf("\nhistory (%d)\n", PQntuples(h));
    for (int i = 0; i < PQntuples(h); i++) {
        char at[32], msg[256];
        ctl_format_ms(PQgetvalue(h, i, H_RECORDED), at, sizeof(at));
        ctl_truncate(PQgetvalue(h, i, H_ERROR_MESSAGE), 100, msg, sizeof(msg));
        printf("  %s  gen %s attempt %s  %-15s by %s", at, PQgetvalue(h, i, H_GENERATION),
               PQgetvalue(h, i, H_ATTEMPT), PQgetvalue(h, i, H_EVENT), tcol(h, i, H_ACTOR));
        if (!PQgetisnull(h, i, H_HTTP_STATUS)) printf("  http %s", PQgetvalue(h, i, H_HTTP_STATUS));
        if (!PQgetisnull(h, i, H_ERROR_CLASS) || !PQgetisnull(h, i, H_ERROR_CODE))
            printf("  [%s] %s", tcol(h, i, H_ERROR_CLASS), tcol(h, i, H_ERROR_CODE));
        if (*msg) printf("  %s", msg);
        if (!PQgetisnull(h, i, H_EXT_ID)) printf("  -> %s", PQgetvalue(h, i, H_EXT_ID));
        putchar('\n');
    }
}

int ctl_cmd_show(ctl_ctx *ctx, int argc, char **argv) {
    bool json = false;
    const ctl_opt opts[] = {{.name = "json", .flag = &json}, {0}};
    int rc = ctl_parse_options(ctx, "show", show_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (argc - optind != 1) return ctl_usage_error("show", "expected one SCHEDULE_ID");
    char id[37];
    if (!ap_uuid_normalize(argv[optind], id))
        return ctl_fail("\"%s\" is not a schedule id (a UUID)", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {id};
    PGresult *s = ctl_store(ctx, AP_STORE_CTL_SHOW, params, err, sizeof(err));
    if (s == NULL) return ctl_fail("cannot read schedule %s: %s", id, err);
    if (PQntuples(s) == 0) {
        PQclear(s);
        return ctl_fail("schedule %s not found", id);
    }
    PGresult *h = ctl_store(ctx, AP_STORE_CTL_HISTORY, params, err, sizeof(err));
    if (h == NULL) {
        PQclear(s);
        return ctl_fail("cannot read the history of %s: %s", id, err);
    }
    if (json)
        rc = ctl_print_json(show_json(s, h));
    else
        show_text(ctx, s, h);
    PQclear(s);
    PQclear(h);
    return rc;
}
