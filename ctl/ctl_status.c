/* ctl_status.c -- `status`: how the pipeline is doing, for an operator.
 *
 * A table for people and --json for scripts (jansson, so every string is
 * escaped; times RFC 3339 UTC, read as epoch milliseconds). Per platform:
 * schedules by status, due now, in flight, consumer lag, the oldest waiting
 * job and the last minute's rates; then the urgent lanes with work, the
 * dispatcher's lag, the top error reasons and the failing webhook
 * endpoints (ctl_webhooks.c). The statements are the store's
 * (store/sql/ctl_status_*.sql).
 *
 * It must answer during an incident, which is when NATS may be down: the
 * database part is always printed, the bus part is bounded by a short
 * connect timeout and reported as unreachable instead of hanging. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static const char status_usage[] =
    "usage: autopostctl status [--json] [--watch [SECONDS]] [--count N]\n\n"
    "Per platform: schedules due now, per status, in flight (delivered to a\n"
    "publisher, not acked), consumer lag (pending + ack pending), the oldest\n"
    "waiting job, published and failed in the last minute; the dispatcher's\n"
    "lag and the top error reasons. The database part is printed even when\n"
    "NATS is unreachable. --watch refreshes every SECONDS (default 2) until\n"
    "interrupted, or N times with --count. Takes --config FILE.\n";

typedef struct lag {
    bool known; /* false: NATS down or consumer missing */
    uint64_t pending;
    int64_t ack_pending;
    const char *why; /* when !known */
} lag;

typedef struct platform_row {
    char name[AP_PLATFORM_NAME_MAX];
    long long counts[CTL_NSTATUSES];
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
    long long total[CTL_NSTATUSES];
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
    for (size_t k = 0; k < CTL_NSTATUSES; k++) {
        if (strcmp(PQgetvalue(res, i, 1), ctl_statuses[k]) != 0) continue;
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
    for (size_t k = 0; o && k < CTL_NSTATUSES; k++)
        json_object_set_new(o, ctl_statuses[k], json_integer(counts[k]));
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
            rc = ctl_print_json(root);
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
