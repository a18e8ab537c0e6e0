/* ctl_status.c -- the read-only commands: `list`, `show` and `status`.
 *
 * Each has a table for people and --json for scripts. JSON is built with
 * jansson so every string is escaped correctly, whatever a post contains;
 * times are RFC 3339 UTC in both forms (read as epoch milliseconds, so the
 * session's time zone never leaks into the output). The statements are the
 * store's (store/sql/ctl_*.sql, account_limit_wait.sql).
 *
 * `status` must answer during an incident, which is when NATS may be down:
 * the database part is always printed, the bus part is bounded by a short
 * connect timeout and reported as unreachable instead of hanging. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static const char status_usage[] =
    "usage: autopostctl status [--json] [--watch [SECONDS]] [--count N]\n\n"
    "Per platform: schedules due now, per status, in flight (delivered to a\n"
    "publisher, not acked), consumer lag (pending + ack pending), the oldest\n"
    "waiting job, published and failed in the last minute; the dispatcher's\n"
    "lag and the top error reasons. The database part is printed even when\n"
    "NATS is unreachable. --watch refreshes every SECONDS (default 2) until\n"
    "interrupted, or N times with --count. Takes --config FILE.\n";

static const char *const statuses[] = {"pending", "queued",      "retrying", "published",
                                       "failed",  "unconfirmed", "cancelled"};
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

static bool valid_status(const char *s) {
    for (size_t i = 0; i < NSTATUSES; i++)
        if (strcmp(s, statuses[i]) == 0) return true;
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

static int print_json(json_t *v) {
    if (v == NULL) return ctl_fail("out of memory building JSON");
    int rc = json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0
                 ? CTL_EXIT_OK
                 : ctl_fail("cannot write JSON");
    putchar('\n');
    json_decref(v);
    return rc;
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
        return print_json(arr);
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
    S_TRACE_ID      /* W3C trace id (README "Tracing"); NULL for rows before 0025 */
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
        rc = print_json(show_json(s, h));
    else
        show_text(ctx, s, h);
    PQclear(s);
    PQclear(h);
    return rc;
}

/* ---- status ------------------------------------------------------------- */

typedef struct lag {
    bool known; /* false: NATS down or consumer missing */
    uint64_t pending;
    int64_t ack_pending;
    const char *why; /* when !known */
} lag;

typedef struct platform_row {
    char name[AP_PLATFORM_NAME_MAX];
    long long counts[NSTATUSES];
    long long due_now;   /* pending, due and not deferred: the scheduler has not claimed them yet */
    long long oldest_ms; /* since when the oldest waiting job waits (0: none) */
    long long published_1m; /* published in the last minute */
    long long failed_1m;    /* failed or unconfirmed in the last minute */
    bool configured;
    lag consumer;
    lag urgent; /* publisher-<platform>-urgent (README "Urgent lane") */
} platform_row;

/* One line of "top error reasons". */
typedef struct reason_row {
    char platform[AP_PLATFORM_NAME_MAX];
    char status[16];
    char error_class[32];
    char error_code[64];
    char message[256];
    long long count;
} reason_row;

#define STATUS_REASONS 5

typedef struct status_report {
    platform_row *rows;
    size_t n;
    long long total[NSTATUSES];
    long long total_due, total_published_1m, total_failed_1m;
    long long now_ms; /* the database's clock, the one the scheduler uses */
    reason_row reasons[STATUS_REASONS];
    size_t nreasons;
    bool nats_reachable;
    char nats_error[512];
    lag dispatcher;
} status_report;

static platform_row *report_platform(status_report *r, const char *name) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->rows[i].name, name) == 0) return &r->rows[i];
    platform_row *rows = realloc(r->rows, (r->n + 1) * sizeof(*rows));
    if (rows == NULL) return NULL;
    r->rows = rows;
    platform_row *p = &r->rows[r->n++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    return p;
}

static void fold_count_row(status_report *r, platform_row *p, const PGresult *res, int i) {
    long long n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
    for (size_t k = 0; k < NSTATUSES; k++) {
        if (strcmp(PQgetvalue(res, i, 1), statuses[k]) != 0) continue;
        p->counts[k] += n;
        r->total[k] += n;
    }
    long long due = strtoll(PQgetvalue(res, i, 3), NULL, 10);
    long long pub = strtoll(PQgetvalue(res, i, 5), NULL, 10);
    long long bad = strtoll(PQgetvalue(res, i, 6), NULL, 10);
    p->due_now += due, r->total_due += due;
    p->published_1m += pub, r->total_published_1m += pub;
    p->failed_1m += bad, r->total_failed_1m += bad;
    if (!PQgetisnull(res, i, 4)) {
        long long oldest = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        if (p->oldest_ms == 0 || oldest < p->oldest_ms) p->oldest_ms = oldest;
    }
}

static int status_reasons(ctl_ctx *ctx, status_report *r) {
    char err[512];
    PGresult *res = ctl_store(ctx, AP_STORE_CTL_STATUS_REASONS, NULL, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot read error reasons: %s", err);
    for (int i = 0; i < PQntuples(res) && r->nreasons < STATUS_REASONS; i++) {
        reason_row *x = &r->reasons[r->nreasons++];
        snprintf(x->platform, sizeof(x->platform), "%s", PQgetvalue(res, i, 0));
        snprintf(x->status, sizeof(x->status), "%s", PQgetvalue(res, i, 1));
        snprintf(x->error_class, sizeof(x->error_class), "%s", PQgetvalue(res, i, 2));
        snprintf(x->error_code, sizeof(x->error_code), "%s", PQgetvalue(res, i, 3));
        snprintf(x->message, sizeof(x->message), "%s", PQgetvalue(res, i, 4));
        x->count = strtoll(PQgetvalue(res, i, 5), NULL, 10);
    }
    PQclear(res);
    return CTL_EXIT_OK;
}

static int status_counts(ctl_ctx *ctx, status_report *r) {
    char err[512];
    for (int i = 0; i < ctx->cfg.nplatforms; i++) {
        platform_row *p = report_platform(r, ctx->cfg.platforms[i].name);
        if (p == NULL) return ctl_fail("out of memory");
        p->configured = true;
    }
    PGresult *res = ctl_store(ctx, AP_STORE_CTL_STATUS_COUNTS, NULL, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot count schedules: %s", err);
    for (int i = 0; i < PQntuples(res); i++) {
        platform_row *p = report_platform(r, PQgetvalue(res, i, 0));
        if (p == NULL) {
            PQclear(res);
            return ctl_fail("out of memory");
        }
        fold_count_row(r, p, res, i);
        r->now_ms = strtoll(PQgetvalue(res, i, 7), NULL, 10);
    }
    PQclear(res);
    if (r->now_ms == 0) { /* no schedules at all: still show the time */
        res = ctl_exec(ctx, "SELECT " CTL_SQL_MS("now()"), 0, NULL, PGRES_TUPLES_OK, err,
                       sizeof(err));
        if (res == NULL) return ctl_fail("cannot read the database clock: %s", err);
        r->now_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return status_reasons(ctx, r);
}

static void consumer_lag(jsCtx *js, const char *stream, const char *consumer, lag *l) {
    ap_status s = ap_js_consumer_lag(js, stream, consumer, &l->pending, &l->ack_pending);
    l->known = s == AP_OK;
    l->why = s == AP_ENOTFOUND ? "consumer missing (run `autopostctl streams apply`)"
             : s == AP_OK      ? NULL
                               : "cannot read consumer info";
}

static void status_lags(ctl_ctx *ctx, status_report *r) {
    ap_nats n;
    if (ctl_nats_open(ctx, &n, CTL_NATS_SHORT_TIMEOUT_MS, r->nats_error, sizeof(r->nats_error)) !=
        AP_OK) {
        r->dispatcher.why = "NATS unreachable";
        for (size_t i = 0; i < r->n; i++)
            r->rows[i].consumer.why = r->rows[i].urgent.why = "NATS unreachable";
        return;
    }
    r->nats_reachable = true;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->rows[i].configured) {
            r->rows[i].consumer.why = r->rows[i].urgent.why = "platform not configured here";
            continue;
        }
        char durable[80];
        ap_consumer_name_publisher(durable, sizeof(durable), r->rows[i].name);
        consumer_lag(n.js, AP_STREAM_JOBS, durable, &r->rows[i].consumer);
        ap_consumer_name_urgent(durable, sizeof(durable), r->rows[i].name);
        consumer_lag(n.js, AP_STREAM_JOBS, durable, &r->rows[i].urgent);
    }
    consumer_lag(n.js, AP_STREAM_RESULTS, AP_CONSUMER_DISPATCHER, &r->dispatcher);
    ap_nats_close(&n);
}

static json_t *json_counts(const long long *counts) {
    json_t *o = json_object();
    for (size_t k = 0; o && k < NSTATUSES; k++)
        json_object_set_new(o, statuses[k], json_integer(counts[k]));
    return o;
}

static json_t *json_lag(const lag *l) {
    if (!l->known) return json_null();
    return json_pack("{s:I, s:I}", "pending", (json_int_t)l->pending, "ack_pending",
                     (json_int_t)l->ack_pending);
}

static json_t *json_ms(long long ms) {
    char text[24], buf[32];
    snprintf(text, sizeof(text), "%lld", ms);
    ctl_format_ms(text, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *json_oldest(const status_report *r, long long oldest_ms) {
    if (oldest_ms == 0) return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "since", json_ms(oldest_ms));
    json_object_set_new(o, "age_ms",
                        json_integer(r->now_ms > oldest_ms ? r->now_ms - oldest_ms : 0));
    return o;
}

static json_t *json_platform(const status_report *r, const platform_row *p) {
    json_t *o = json_counts(p->counts);
    if (o == NULL) return NULL;
    json_object_set_new(o, "consumer", json_lag(&p->consumer));
    json_object_set_new(o, "urgent_consumer", json_lag(&p->urgent));
    json_object_set_new(o, "configured", json_boolean(p->configured));
    json_object_set_new(o, "due_now", json_integer(p->due_now));
    json_object_set_new(o, "in_flight",
                        p->consumer.known ? json_integer(p->consumer.ack_pending) : json_null());
    json_object_set_new(
        o, "lag",
        p->consumer.known ? json_integer((json_int_t)p->consumer.pending + p->consumer.ack_pending)
                          : json_null());
    json_object_set_new(o, "oldest_waiting", json_oldest(r, p->oldest_ms));
    json_object_set_new(o, "rate_1m",
                        json_pack("{s:I, s:I}", "published", (json_int_t)p->published_1m, "failed",
                                  (json_int_t)p->failed_1m));
    return o;
}

static json_t *status_json(const status_report *r) {
    json_t *root = json_object(), *platforms = json_object(), *reasons = json_array();
    if (root == NULL || platforms == NULL || reasons == NULL) {
        json_decref(root), json_decref(platforms), json_decref(reasons);
        return NULL;
    }
    json_object_set_new(root, "at", json_ms(r->now_ms));
    for (size_t i = 0; i < r->n; i++)
        json_object_set_new(platforms, r->rows[i].name, json_platform(r, &r->rows[i]));
    json_object_set_new(root, "platforms", platforms);
    json_object_set_new(root, "dispatcher", json_lag(&r->dispatcher));
    json_t *total = json_counts(r->total);
    json_object_set_new(total, "due_now", json_integer(r->total_due));
    json_object_set_new(total, "rate_1m",
                        json_pack("{s:I, s:I}", "published", (json_int_t)r->total_published_1m,
                                  "failed", (json_int_t)r->total_failed_1m));
    json_object_set_new(root, "total", total);
    for (size_t i = 0; i < r->nreasons; i++) {
        const reason_row *x = &r->reasons[i];
        json_array_append_new(reasons,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "platform", x->platform,
                                        "status", x->status, "error_class", x->error_class,
                                        "error_code", x->error_code, "message", x->message, "count",
                                        (json_int_t)x->count));
    }
    json_object_set_new(root, "top_reasons", reasons);
    json_t *nats = json_object();
    json_object_set_new(nats, "reachable", json_boolean(r->nats_reachable));
    json_object_set_new(nats, "error",
                        r->nats_reachable ? json_null() : json_string(r->nats_error));
    json_object_set_new(root, "nats", nats);
    return root;
}

/* "-", "45s", "12m05s", "3h20m": how long the oldest job has waited. */
static void format_age(long long ms, char *buf, size_t len) {
    long long s = ms / 1000;
    if (ms <= 0 && s == 0)
        snprintf(buf, len, "0s");
    else if (s < 60)
        snprintf(buf, len, "%llds", s);
    else if (s < 3600)
        snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(buf, len, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
}

/* The columns an operator reads left to right as the pipeline runs. */
#define ST_HEAD "%-11s %7s %7s %7s %9s %8s %9s %7s %11s %9s %7s %7s %7s %8s\n"
#define ST_ROW "%-11s %7lld %7lld %7lld %9s %8lld %9lld %7lld %11lld %9lld %7s %7s %7lld %8lld"

static int status_print_text(const status_report *r) {
    char at[32], now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", r->now_ms);
    ctl_format_ms(now_text, at, sizeof(at));
    printf("autopost status at %s\n\n", at);
    printf(ST_HEAD, "PLATFORM", "DUE NOW", "PENDING", "QUEUED", "IN FLIGHT", "RETRYING",
           "PUBLISHED", "FAILED", "UNCONFIRMED", "CANCELLED", "LAG", "OLDEST", "PUB/MIN",
           "FAIL/MIN");
    for (size_t i = 0; i < r->n; i++) {
        const platform_row *p = &r->rows[i];
        char inflight[24] = "-", lagtext[24] = "-", oldest[24] = "-";
        if (p->consumer.known) {
            snprintf(inflight, sizeof(inflight), "%lld", (long long)p->consumer.ack_pending);
            snprintf(lagtext, sizeof(lagtext), "%llu",
                     (unsigned long long)p->consumer.pending +
                         (unsigned long long)p->consumer.ack_pending);
        }
        if (p->oldest_ms) format_age(r->now_ms - p->oldest_ms, oldest, sizeof(oldest));
        printf(ST_ROW, p->name, p->due_now, p->counts[0], p->counts[1], inflight, p->counts[2],
               p->counts[3], p->counts[4], p->counts[5], p->counts[6], lagtext, oldest,
               p->published_1m, p->failed_1m);
        if (!p->consumer.known && r->nats_reachable && p->consumer.why)
            printf("  (%s)", p->consumer.why);
        putchar('\n');
    }
    printf(ST_ROW "\n", "total", r->total_due, r->total[0], r->total[1], "", r->total[2],
           r->total[3], r->total[4], r->total[5], r->total[6], "", "", r->total_published_1m,
           r->total_failed_1m);
    printf("\nIN FLIGHT: delivered to a publisher, not yet acked; LAG: consumer pending + ack "
           "pending;\nOLDEST: the longest a due or queued job has waited; rates over the last "
           "minute.\n");
    bool urgent_shown = false; /* the urgent lanes with work (README "Urgent lane") */
    for (size_t i = 0; i < r->n; i++) {
        const lag *u = &r->rows[i].urgent;
        if (!u->known || u->pending + (uint64_t)u->ack_pending == 0) continue;
        printf("%surgent lane of %s: %llu pending, %lld ack pending\n", urgent_shown ? "" : "\n",
               r->rows[i].name, (unsigned long long)u->pending, (long long)u->ack_pending);
        urgent_shown = true;
    }
    if (!r->nats_reachable)
        printf("\n%s; consumer lag unknown\n", r->nats_error);
    else if (r->dispatcher.known)
        printf("\ndispatcher (%s): %llu pending, %lld ack pending\n", AP_STREAM_RESULTS,
               (unsigned long long)r->dispatcher.pending, (long long)r->dispatcher.ack_pending);
    else
        printf("\ndispatcher (%s): %s\n", AP_STREAM_RESULTS, r->dispatcher.why);
    if (r->nreasons) printf("\ntop error reasons (`autopostctl failed` for more):\n");
    for (size_t i = 0; i < r->nreasons; i++) {
        const reason_row *x = &r->reasons[i];
        char msg[256];
        ctl_truncate(x->message, 70, msg, sizeof(msg));
        printf("  %6lld  %-10s %-11s [%s] %s  %s\n", x->count, x->platform, x->status,
               x->error_class, x->error_code, msg);
    }
    return CTL_EXIT_OK;
}

static int status_once(ctl_ctx *ctx, bool json) {
    status_report r;
    memset(&r, 0, sizeof(r));
    int rc = status_counts(ctx, &r);
    if (rc == CTL_EXIT_OK) {
        status_lags(ctx, &r);
        char err[512];
        json_t *failing = ctl_webhooks_failing(ctx, err, sizeof(err));
        if (failing == NULL) {
            rc = ctl_fail("cannot read webhook endpoints: %s", err);
        } else if (json) {
            json_t *root = status_json(&r);
            if (root) json_object_set(root, "failing_webhooks", failing);
            rc = print_json(root);
        } else {
            rc = status_print_text(&r);
            ctl_webhooks_failing_print(failing);
        }
        json_decref(failing);
    }
    free(r.rows);
    fflush(stdout);
    return rc;
}

/* --watch: refresh in place on a terminal (home + clear, ANSI), or one
 * report after another, separated by a blank line, into a file or pipe. */
static int status_watch(ctl_ctx *ctx, bool json, long interval_s, long count) {
    bool tty = isatty(STDOUT_FILENO);
    int rc = CTL_EXIT_OK;
    for (long i = 0; count == 0 || i < count; i++) {
        if (i > 0) {
            struct timespec ts = {.tv_sec = interval_s, .tv_nsec = 0};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        }
        if (tty && !json)
            fputs("\033[H\033[2J", stdout);
        else if (i > 0 && !json)
            putchar('\n');
        if ((rc = status_once(ctx, json)) != CTL_EXIT_OK) return rc;
    }
    return rc;
}

int ctl_cmd_status(ctl_ctx *ctx, int argc, char **argv) {
    bool json = false, watch = false;
    long interval = 2, count = 0;
    const ctl_opt opts[] = {{.name = "json", .flag = &json},
                            {.name = "watch",
                             .number = &interval,
                             .min = 1,
                             .max = 86400,
                             .optional_value = true,
                             .seen = &watch,
                             .invalid = "--watch takes seconds from 1 to 86400"},
                            {.name = "count",
                             .number = &count,
                             .min = 1,
                             .max = 1000000,
                             .invalid = "--count must be a number from 1 to 1000000"},
                            {0}};
    int rc = ctl_parse_options(ctx, "status", status_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc) return ctl_usage_error("status", "unexpected argument \"%s\"", argv[optind]);
    if (count && !watch) return ctl_usage_error("status", "--count goes with --watch");
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    return watch ? status_watch(ctx, json, interval, count) : status_once(ctx, json);
}
