/* api.c -- the console's JSON, straight from PostgreSQL.
 *
 * Each handler runs one or two parameterized statements and turns the
 * result into JSON generically: column names become keys, integer columns
 * numbers, NULL null, and times arrive already formatted as RFC 3339 UTC by
 * the SQL (TS below), so the session's time zone never shows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_store_cancel.h"
#include "ap_store_retry.h"
#include "ap_uuid.h"
#include "console.h"

#define TS(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* PostgreSQL type oids of the integer types (pg_type.h is server-side). */
#define INT8OID 20
#define INT4OID 23
#define NUMERICOID 1700
#define BOOLOID 16

api_reply api_error(unsigned int status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return (api_reply){status, json_pack("{s:s}", "error", msg)};
}

static json_t *cell(const PGresult *res, int row, int col) {
    if (PQgetisnull(res, row, col)) return json_null();
    const char *v = PQgetvalue(res, row, col);
    switch (PQftype(res, col)) {
    case INT8OID:
    case INT4OID: return json_integer(strtoll(v, NULL, 10));
    case NUMERICOID: return json_real(strtod(v, NULL));
    case BOOLOID: return json_boolean(*v == 't');
    default: return json_string(v);
    }
}

static json_t *row_object(const PGresult *res, int row) {
    json_t *o = json_object();
    for (int c = 0; o && c < PQnfields(res); c++)
        json_object_set_new(o, PQfname(res, c), cell(res, row, c));
    return o;
}

static json_t *rows_array(const PGresult *res) {
    json_t *a = json_array();
    for (int i = 0; a && i < PQntuples(res); i++) json_array_append_new(a, row_object(res, i));
    return a;
}

/* Runs sql; NULL (and *fail set to a 503 reply) when the database is not
 * there or the statement fails. The reason goes to the log, never into the
 * answer: PostgreSQL's text names tables, columns, roles and hosts. */
static PGresult *query(console *c, const char *sql, int n, const char *const *params,
                       api_reply *fail) {
    if (ap_pg_ensure(&c->pg) != AP_OK) {
        ap_log_warn("postgres_down", NULL, "%s", PQerrorMessage(c->pg.conn));
        *fail = api_error(503, "database unavailable");
        return NULL;
    }
    PGresult *res = PQexecParams(c->pg.conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        ap_log_warn("query_failed", NULL, "%s", PQresultErrorMessage(res));
        *fail = api_error(503, "database unavailable");
        PQclear(res);
        return NULL;
    }
    return res;
}

static api_reply reply_rows(console *c, const char *sql, int n, const char *const *params) {
    api_reply r;
    PGresult *res = query(c, sql, n, params, &r);
    if (res == NULL) return r;
    r = (api_reply){200, rows_array(res)};
    PQclear(res);
    return r;
}

/* ---- the statements ------------------------------------------------------ */

// clang-format off
/* The figures of `autopostctl status` that come from the database, per
 * platform: one scan of post_schedules. */
static const char platforms_sql[] =
    "SELECT a.platform, "
    "count(*) FILTER (WHERE s.status = 'pending' AND s.scheduled_at <= now()) AS due_now, "
    "count(*) FILTER (WHERE s.status = 'pending') AS pending, "
    "count(*) FILTER (WHERE s.status = 'queued') AS queued, "
    "count(*) FILTER (WHERE s.status = 'retrying') AS retrying, "
    "count(*) FILTER (WHERE s.status = 'published') AS published, "
    "count(*) FILTER (WHERE s.status = 'failed') AS failed, "
    "count(*) FILTER (WHERE s.status = 'unconfirmed') AS unconfirmed, "
    "count(*) FILTER (WHERE s.status = 'cancelled') AS cancelled, "
    "count(*) FILTER (WHERE s.status = 'published' "
    "  AND s.published_at > now() - interval '1 minute') AS published_1m, "
    "count(*) FILTER (WHERE s.status IN ('failed', 'unconfirmed') "
    "  AND s.updated_at > now() - interval '1 minute') AS failed_1m, "
    "(extract(epoch FROM now() - min(CASE "
    "  WHEN s.status IN ('queued', 'retrying') THEN coalesce(s.queued_at, s.scheduled_at) "
    "  WHEN s.status = 'pending' AND s.scheduled_at <= now() THEN s.scheduled_at END)) "
    "  * 1000)::bigint AS oldest_waiting_ms "
    "FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id "
    "GROUP BY a.platform ORDER BY a.platform";

static const char overview_sql[] =
    "SELECT " TS("now()") " AS at, count(*) AS total, "
    "count(*) FILTER (WHERE status = 'pending' AND scheduled_at <= now()) AS due_now, "
    "count(*) FILTER (WHERE status = 'pending') AS pending, "
    "count(*) FILTER (WHERE status = 'queued') AS queued, "
    "count(*) FILTER (WHERE status = 'retrying') AS retrying, "
    "count(*) FILTER (WHERE status = 'published') AS published, "
    "count(*) FILTER (WHERE status = 'failed') AS failed, "
    "count(*) FILTER (WHERE status = 'unconfirmed') AS unconfirmed, "
    "count(*) FILTER (WHERE status = 'cancelled') AS cancelled, "
    "count(*) FILTER (WHERE status = 'published' "
    "  AND published_at > now() - interval '1 minute') AS published_1m, "
    "count(*) FILTER (WHERE status IN ('failed', 'unconfirmed') "
    "  AND updated_at > now() - interval '1 minute') AS failed_1m "
    "FROM post_schedules";

static const char schedule_sql[] =
    "SELECT s.id, s.status, s.generation, s.attempts, s.error_class, s.error_code, "
    "s.error_message, s.external_post_id, s.external_url, "
    TS("s.scheduled_at") " AS scheduled_at, "
    TS("s.queued_at") " AS queued_at, "
    TS("s.published_at") " AS published_at, "
    TS("s.created_at") " AS created_at, "
    TS("s.updated_at") " AS updated_at, "
    "a.id AS account_id, a.platform, a.external_id AS account_external_id, "
    "a.display_name AS account_name, p.text, p.link, p.media::text AS media "
    "FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id "
    "JOIN posts p ON p.id = s.post_id WHERE s.id = $1";

static const char history_sql[] =
    "SELECT id, generation, attempt, event, error_class, error_code, error_message, "
    "external_post_id, http_status, actor, "
    TS("started_at") " AS started_at, "
    TS("finished_at") " AS finished_at, "
    TS("recorded_at") " AS recorded_at "
    "FROM schedule_attempts WHERE schedule_id = $1 ORDER BY id";

static const char schedules_sql[] =
    "SELECT s.id, a.platform, s.status, s.attempts, s.generation, "
    TS("s.scheduled_at") " AS scheduled_at, "
    TS("s.updated_at") " AS updated_at, "
    "s.error_class, s.error_code, left(s.error_message, 200) AS error_message "
    "FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id "
    "WHERE ($1::text IS NULL OR s.status = $1) AND ($2::text IS NULL OR a.platform = $2) "
    "ORDER BY s.updated_at DESC, s.id LIMIT $3::bigint";

/* The grouping of `autopostctl failed`. */
static const char failed_sql[] =
    "SELECT a.platform, s.status, s.error_class, s.error_code, "
    "left(s.error_message, 300) AS error_message, count(*) AS count, "
    TS("max(s.updated_at)") " AS latest, "
    "to_json((array_agg(s.id::text ORDER BY s.updated_at DESC, s.id))[1:3])::text AS example_ids "
    "FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id "
    "WHERE s.status IN ('failed', 'unconfirmed') "
    "GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 7 DESC, 1, 2 LIMIT $1::bigint";

/* Throughput and lateness over time. The window is the last $1 minutes,
 * cut to the span of the events in it and into about 60 buckets (never
 * under 100 ms): a ten-second test run and a busy day both draw as a curve.
 * Lateness is published_at - scheduled_at: when our side recorded the post,
 * which includes the dispatcher's batch. */
static const char series_sql[] =
    "WITH ev AS ("
    "  SELECT published_at AS t, 'published' AS kind, "
    "         extract(epoch FROM published_at - scheduled_at) * 1000 AS late_ms "
    "    FROM post_schedules WHERE status = 'published' "
    "     AND published_at > now() - $1::int * interval '1 minute' "
    "  UNION ALL "
    "  SELECT updated_at, 'failed', NULL FROM post_schedules "
    "   WHERE status IN ('failed', 'unconfirmed') "
    "     AND updated_at > now() - $1::int * interval '1 minute'), "
    "w AS (SELECT min(t) AS t0, "
    "      greatest(100, ceil(extract(epoch FROM max(t) - min(t)) * 1000 / 60))::bigint AS step_ms "
    "      FROM ev), "
    "b AS (SELECT floor(extract(epoch FROM ev.t - w.t0) * 1000 / w.step_ms)::bigint AS i, "
    "             ev.kind, ev.late_ms FROM ev, w) "
    "SELECT " TS("w.t0 + b.i * w.step_ms * interval '1 millisecond'") " AS t, "
    "count(*) FILTER (WHERE kind = 'published') AS published, "
    "count(*) FILTER (WHERE kind = 'failed') AS failed, "
    "(percentile_disc(0.5) WITHIN GROUP (ORDER BY late_ms))::bigint AS late_p50_ms, "
    "(percentile_disc(0.95) WITHIN GROUP (ORDER BY late_ms))::bigint AS late_p95_ms, "
    "max(late_ms)::bigint AS late_max_ms, max(w.step_ms) AS step_ms "
    "FROM b, w GROUP BY b.i, w.t0, w.step_ms ORDER BY b.i";

static const char cancel_sql[] = AP_STORE_SQL_CANCEL_PENDING(
    "SELECT $1::uuid AS id", "'autopost-console'", "'cancelled by operator'");

static const char retry_sql[] = AP_STORE_SQL_RETRY(
    "SELECT id, status AS old_status FROM post_schedules WHERE id = $1 FOR UPDATE", "$2");
// clang-format on

/* ---- overview and platforms ------------------------------------------------ */

static json_t *lag_json(const console_lag *l) {
    if (!l->known) return json_null();
    return json_pack("{s:I, s:I}", "pending", (json_int_t)l->pending, "ack_pending",
                     (json_int_t)l->ack_pending);
}

/* Adds the bus figures to a platform row: consumer, in_flight, lag (null
 * when unknown: NATS off, down, or the platform not configured here). */
static void add_platform_lag(console *c, json_t *row) {
    const char *name = json_string_value(json_object_get(row, "platform"));
    console_lag l = {0};
    pthread_mutex_lock(&c->bus.mu);
    for (int i = 0; name && i < c->cfg->nplatforms; i++)
        if (strcmp(c->cfg->platforms[i].name, name) == 0) l = c->bus.platforms[i];
    pthread_mutex_unlock(&c->bus.mu);
    json_object_set_new(row, "consumer", lag_json(&l));
    json_object_set_new(row, "in_flight", l.known ? json_integer(l.ack_pending) : json_null());
    json_object_set_new(
        row, "lag", l.known ? json_integer((json_int_t)l.pending + l.ack_pending) : json_null());
}

api_reply api_platforms(console *c) {
    api_reply r = reply_rows(c, platforms_sql, 0, NULL);
    size_t i;
    json_t *row;
    if (r.status == 200) json_array_foreach(r.body, i, row) add_platform_lag(c, row);
    return r;
}

api_reply api_overview(console *c) {
    api_reply r;
    PGresult *res = query(c, overview_sql, 0, NULL, &r);
    if (res == NULL) return r;
    json_t *o = row_object(res, 0);
    PQclear(res);
    json_object_set_new(o, "read_only", json_boolean(c->token == NULL));
    pthread_mutex_lock(&c->bus.mu);
    bool enabled = c->bus.enabled, connected = c->bus.connected;
    console_lag dispatcher = c->bus.dispatcher;
    pthread_mutex_unlock(&c->bus.mu);
    json_object_set_new(o, "nats",
                        enabled ? json_pack("{s:b}", "connected", connected) : json_null());
    json_object_set_new(o, "dispatcher", lag_json(&dispatcher));
    return (api_reply){200, o};
}

/* ---- schedules ----------------------------------------------------------- */

api_reply api_schedule(console *c, const char *id) {
    char canonical_id[AP_UUID_TEXT_LEN + 1];
    if (!ap_uuid_normalize(id, canonical_id)) return api_error(400, "not a schedule id (a UUID)");
    id = canonical_id;
    const char *params[] = {id};
    api_reply r;
    PGresult *s = query(c, schedule_sql, 1, params, &r);
    if (s == NULL) return r;
    if (PQntuples(s) == 0) {
        PQclear(s);
        return api_error(404, "schedule %s not found", id);
    }
    json_t *o = row_object(s, 0);
    PQclear(s);
    PGresult *h = query(c, history_sql, 1, params, &r);
    if (h == NULL) {
        json_decref(o);
        return r;
    }
    json_object_set_new(o, "history", rows_array(h));
    PQclear(h);
    return (api_reply){200, o};
}

static const char *limit_or(const char *limit, const char *dflt) {
    if (limit == NULL || *limit == '\0' || strlen(limit) > 5) return dflt;
    for (const char *p = limit; *p; p++)
        if (*p < '0' || *p > '9') return dflt;
    return atoi(limit) > 0 ? limit : dflt;
}

api_reply api_schedules(console *c, const char *status, const char *platform, const char *limit) {
    const char *params[] = {status && *status ? status : NULL,
                            platform && *platform ? platform : NULL, limit_or(limit, "50")};
    return reply_rows(c, schedules_sql, 3, params);
}

api_reply api_failed(console *c, const char *limit) {
    const char *params[] = {limit_or(limit, "20")};
    return reply_rows(c, failed_sql, 1, params);
}

api_reply api_series(console *c, const char *minutes) {
    const char *params[] = {limit_or(minutes, "60")};
    return reply_rows(c, series_sql, 1, params);
}

/* ---- actions --------------------------------------------------------------- */

api_reply api_retry(console *c, const char *id) {
    char canonical_id[AP_UUID_TEXT_LEN + 1];
    if (!ap_uuid_normalize(id, canonical_id)) return api_error(400, "not a schedule id (a UUID)");
    id = canonical_id;
    const char *params[] = {id, "autopost-console"};
    api_reply r;
    PGresult *res = query(c, retry_sql, 2, params, &r);
    if (res == NULL) return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return api_error(409, "schedule %s is missing or not failed, unconfirmed or cancelled", id);
    }
    r = (api_reply){200, row_object(res, 0)};
    PQclear(res);
    return r;
}

api_reply api_cancel(console *c, const char *id) {
    char canonical_id[AP_UUID_TEXT_LEN + 1];
    if (!ap_uuid_normalize(id, canonical_id)) return api_error(400, "not a schedule id (a UUID)");
    id = canonical_id;
    const char *params[] = {id};
    api_reply r;
    PGresult *res = query(c, cancel_sql, 1, params, &r);
    if (res == NULL) return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return api_error(409,
                         "schedule %s is missing or not pending (a queued schedule is cancelled "
                         "with `autopostctl cancel`, which also stops the publishers)",
                         id);
    }
    r = (api_reply){200, row_object(res, 0)};
    PQclear(res);
    return r;
}
