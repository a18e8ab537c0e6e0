/* ctl_status.c -- the read-only commands: `list`, `show` and `status`.
 *
 * Each has a table for people and --json for scripts. JSON is built with
 * jansson so every string is escaped correctly, whatever a post contains;
 * times are RFC 3339 UTC in both forms (read as epoch milliseconds, so the
 * session's time zone never leaks into the output).
 *
 * `status` must answer during an incident, which is when NATS may be down:
 * the database part is always printed, the bus part is bounded by a short
 * connect timeout and reported as unreachable instead of hanging. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "usage: autopostctl status [--json]\n\n"
    "Schedules per platform and status, each configured platform's publisher\n"
    "consumer lag (pending, ack pending) and the dispatcher's lag. The database\n"
    "part is printed even when NATS is unreachable. Takes --config FILE.\n";

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
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"status", required_argument, NULL, 's'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const char *status = NULL, *platform = NULL;
    long limit = 50;
    bool json = false;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(list_usage, stdout); return CTL_EXIT_OK;
        case 's': status = optarg; break;
        case 'p': platform = optarg; break;
        case 'j': json = true; break;
        case 'l':
            if (!ctl_int_arg(optarg, 1, 1000000, &limit))
                return ctl_usage_error("list", "--limit must be a number from 1 to 1000000");
            break;
        default: return ctl_bad_option("list", c, argv);
        }
    }
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
    PGresult *res = ctl_exec(
        ctx,
        "SELECT s.id, a.platform, a.external_id, " CTL_SQL_MS(
            "s.scheduled_at") ", s.status, "
                              "s.attempts, s.generation, s.error_message, " CTL_SQL_MS(
                                  "s.updated_at") " "
                                                  "FROM post_schedules s JOIN social_accounts a ON "
                                                  "a.id = s.account_id "
                                                  "WHERE ($1::text IS NULL OR s.status = $1) AND "
                                                  "($2::text IS NULL OR a.platform = $2) "
                                                  "ORDER BY s.updated_at DESC, s.id LIMIT "
                                                  "$3::bigint",
        3, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot list schedules: %s", err);
    rc = list_print(res, json);
    PQclear(res);
    return rc;
}

/* ---- show --------------------------------------------------------------- */

/* Column numbers of the show query, in order. */
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
    S_MEDIA
};

static const char
    show_sql
        [] = "SELECT s.id, s.status, s.generation, s.attempts, s.error_class, s.error_code, "
             "s.error_message, s.external_post_id, s.external_url, " CTL_SQL_MS("s.scheduled_at") ", " CTL_SQL_MS("s.queued_at") ", " CTL_SQL_MS(
                 "s.published_at") ", " CTL_SQL_MS("s.created_at") ", " CTL_SQL_MS("s.updated_at") ", "
                                                                                                   "a.id, a.platform, a.external_id, a.display_name, a.status, "
                                                                                                   "p.id, p.text, p.link, p.media::text "
                                                                                                   "FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id "
                                                                                                   "JOIN posts p ON p.id = s.post_id WHERE s.id = $1";

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

static const char history_sql[] =
    "SELECT id, generation, attempt, event, error_class, error_code, error_message, "
    "external_post_id, http_status, actor, " CTL_SQL_MS("started_at") ", " CTL_SQL_MS(
        "finished_at") ", " CTL_SQL_MS("recorded_at") " "
                                                      "FROM schedule_attempts WHERE schedule_id = "
                                                      "$1 ORDER BY id";

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
    json_object_set_new(account, "id", jcol(s, 0, S_ACCOUNT_ID));
    json_object_set_new(account, "platform", jcol(s, 0, S_PLATFORM));
    json_object_set_new(account, "external_id", jcol(s, 0, S_ACCOUNT_EXT));
    json_object_set_new(account, "name", jcol(s, 0, S_ACCOUNT_NAME));
    json_object_set_new(account, "status", jcol(s, 0, S_ACCOUNT_STATUS));
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

static void show_text(const PGresult *s, const PGresult *h) {
    printf("%-14s %s\n", "schedule", PQgetvalue(s, 0, S_ID));
    printf("%-14s %s\n", "status", PQgetvalue(s, 0, S_STATUS));
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
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(show_usage, stdout); return CTL_EXIT_OK;
        case 'j': json = true; break;
        default: return ctl_bad_option("show", c, argv);
        }
    }
    if (argc - optind != 1) return ctl_usage_error("show", "expected one SCHEDULE_ID");
    char id[37];
    if (!ctl_uuid_text(argv[optind], id))
        return ctl_fail("\"%s\" is not a schedule id (a UUID)", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    const char *params[] = {id};
    PGresult *s = ctl_exec(ctx, show_sql, 1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (s == NULL) return ctl_fail("cannot read schedule %s: %s", id, err);
    if (PQntuples(s) == 0) {
        PQclear(s);
        return ctl_fail("schedule %s not found", id);
    }
    PGresult *h = ctl_exec(ctx, history_sql, 1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (h == NULL) {
        PQclear(s);
        return ctl_fail("cannot read the history of %s: %s", id, err);
    }
    if (json)
        rc = print_json(show_json(s, h));
    else
        show_text(s, h);
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
    bool configured;
    lag consumer;
} platform_row;

typedef struct status_report {
    platform_row *rows;
    size_t n;
    long long total[NSTATUSES];
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

static int status_counts(ctl_ctx *ctx, status_report *r) {
    char err[512];
    for (int i = 0; i < ctx->cfg.nplatforms; i++) {
        platform_row *p = report_platform(r, ctx->cfg.platforms[i].name);
        if (p == NULL) return ctl_fail("out of memory");
        p->configured = true;
    }
    PGresult *res = ctl_exec(ctx,
                             "SELECT a.platform, s.status, count(*) FROM post_schedules s "
                             "JOIN social_accounts a ON a.id = s.account_id "
                             "GROUP BY a.platform, s.status ORDER BY a.platform",
                             0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot count schedules: %s", err);
    for (int i = 0; i < PQntuples(res); i++) {
        platform_row *p = report_platform(r, PQgetvalue(res, i, 0));
        if (p == NULL) {
            PQclear(res);
            return ctl_fail("out of memory");
        }
        long long n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        for (size_t k = 0; k < NSTATUSES; k++) {
            if (strcmp(PQgetvalue(res, i, 1), statuses[k]) != 0) continue;
            p->counts[k] += n;
            r->total[k] += n;
        }
    }
    PQclear(res);
    return CTL_EXIT_OK;
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
        for (size_t i = 0; i < r->n; i++) r->rows[i].consumer.why = "NATS unreachable";
        return;
    }
    r->nats_reachable = true;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->rows[i].configured) {
            r->rows[i].consumer.why = "platform not configured here";
            continue;
        }
        char durable[64];
        ap_consumer_name_publisher(durable, sizeof(durable), r->rows[i].name);
        consumer_lag(n.js, AP_STREAM_JOBS, durable, &r->rows[i].consumer);
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

static int status_print_json(const status_report *r) {
    json_t *root = json_object(), *platforms = json_object();
    if (root == NULL || platforms == NULL) {
        json_decref(root);
        json_decref(platforms);
        return print_json(NULL);
    }
    for (size_t i = 0; i < r->n; i++) {
        json_t *p = json_counts(r->rows[i].counts);
        json_object_set_new(p, "consumer", json_lag(&r->rows[i].consumer));
        json_object_set_new(p, "configured", json_boolean(r->rows[i].configured));
        json_object_set_new(platforms, r->rows[i].name, p);
    }
    json_object_set_new(root, "platforms", platforms);
    json_object_set_new(root, "dispatcher", json_lag(&r->dispatcher));
    json_object_set_new(root, "total", json_counts(r->total));
    json_t *nats = json_object();
    json_object_set_new(nats, "reachable", json_boolean(r->nats_reachable));
    json_object_set_new(nats, "error",
                        r->nats_reachable ? json_null() : json_string(r->nats_error));
    json_object_set_new(root, "nats", nats);
    return print_json(root);
}

static void print_lag_cell(const lag *l) {
    if (l->known)
        printf("  %16llu %11lld", (unsigned long long)l->pending, (long long)l->ack_pending);
    else
        printf("  %16s %11s", "-", "-");
}

static int status_print_text(const status_report *r) {
    printf("%-12s", "PLATFORM");
    for (size_t k = 0; k < NSTATUSES; k++) printf(" %11s", statuses[k]);
    printf("  %16s %11s\n", "CONSUMER PENDING", "ACK PENDING");
    for (size_t i = 0; i < r->n; i++) {
        printf("%-12s", r->rows[i].name);
        for (size_t k = 0; k < NSTATUSES; k++) printf(" %11lld", r->rows[i].counts[k]);
        print_lag_cell(&r->rows[i].consumer);
        if (!r->rows[i].consumer.known && r->nats_reachable && r->rows[i].consumer.why)
            printf("  (%s)", r->rows[i].consumer.why);
        putchar('\n');
    }
    printf("%-12s", "total");
    for (size_t k = 0; k < NSTATUSES; k++) printf(" %11lld", r->total[k]);
    putchar('\n');
    if (!r->nats_reachable)
        printf("\n%s; consumer lag unknown\n", r->nats_error);
    else if (r->dispatcher.known)
        printf("\ndispatcher (%s): %llu pending, %lld ack pending\n", AP_STREAM_RESULTS,
               (unsigned long long)r->dispatcher.pending, (long long)r->dispatcher.ack_pending);
    else
        printf("\ndispatcher (%s): %s\n", AP_STREAM_RESULTS, r->dispatcher.why);
    return CTL_EXIT_OK;
}

int ctl_cmd_status(ctl_ctx *ctx, int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(status_usage, stdout); return CTL_EXIT_OK;
        case 'j': json = true; break;
        default: return ctl_bad_option("status", c, argv);
        }
    }
    if (optind < argc) return ctl_usage_error("status", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    status_report r;
    memset(&r, 0, sizeof(r));
    if ((rc = status_counts(ctx, &r)) == CTL_EXIT_OK) {
        status_lags(ctx, &r);
        rc = json ? status_print_json(&r) : status_print_text(&r);
    }
    free(r.rows);
    return rc;
}
