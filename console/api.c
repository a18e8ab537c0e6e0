/* api.c -- the console's JSON, straight from PostgreSQL.
 *
 * Each handler runs one or two of the store's statements (store/sql) and
 * turns the result into JSON generically: column names become keys, integer
 * columns numbers, NULL null, and times arrive already formatted as RFC 3339
 * UTC by the SQL, so the session's time zone never shows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_store.h"
#include "ap_uuid.h"
#include "console.h"
#include "endpoints.h"

/* The actor of the history lines the console's actions write. */
#define CONSOLE_ACTOR "autopost-console"

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

/* Runs one of the store's statements; NULL (and *fail set to a 503 reply)
 * when the database is not there or the statement fails. The reason goes to
 * the log, never into the answer: PostgreSQL's text names tables, columns,
 * roles and hosts. */
static PGresult *query(console *c, ap_store_op op, const char *const *params, api_reply *fail) {
    char err[512];
    PGresult *res = NULL;
    if (ap_pg_ensure(&c->pg) != AP_OK) {
        ap_log_warn("postgres_down", NULL, "%s", PQerrorMessage(c->pg.conn));
        *fail = api_error(503, "database unavailable");
        return NULL;
    }
    if (ap_store_run(c->pg.conn, op, params, &res, NULL, err, sizeof(err)) != AP_OK) {
        ap_log_warn("query_failed", NULL, "%s: %s", ap_store_op_name(op), err);
        *fail = api_error(503, "database unavailable");
        return NULL;
    }
    return res;
}

static api_reply reply_rows(console *c, ap_store_op op, const char *const *params) {
    api_reply r;
    PGresult *res = query(c, op, params, &r);
    if (res == NULL) return r;
    r = (api_reply){200, rows_array(res)};
    PQclear(res);
    return r;
}

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
    api_reply r = reply_rows(c, AP_STORE_STATUS_BY_PLATFORM, NULL);
    size_t i;
    json_t *row;
    if (r.status == 200) json_array_foreach(r.body, i, row) add_platform_lag(c, row);
    return r;
}

api_reply api_overview(console *c) {
    api_reply r;
    PGresult *res = query(c, AP_STORE_STATUS_TOTALS, NULL, &r);
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
    PGresult *s = query(c, AP_STORE_SCHEDULE_DETAIL, params, &r);
    if (s == NULL) return r;
    if (PQntuples(s) == 0) {
        PQclear(s);
        return api_error(404, "schedule %s not found", id);
    }
    json_t *o = row_object(s, 0);
    PQclear(s);
    PGresult *h = query(c, AP_STORE_SCHEDULE_HISTORY, params, &r);
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
    return reply_rows(c, AP_STORE_SCHEDULE_RECENT, params);
}

/* The grouping of `autopostctl failed` (store/sql/failed.sql), every
 * platform and both statuses. */
api_reply api_failed(console *c, const char *limit) {
    const char *params[] = {NULL, NULL, limit_or(limit, "20")};
    return reply_rows(c, AP_STORE_FAILED, params);
}

api_reply api_series(console *c, const char *minutes) {
    const char *params[] = {limit_or(minutes, "60")};
    return reply_rows(c, AP_STORE_OUTCOME_SERIES, params);
}

/* ---- webhooks ------------------------------------------------------------- */

/* Endpoints marked failing (their deliveries gave up), from the endpoint
 * store autopostctl status reads (webhooks/endpoints.h): id, tenant_id,
 * url, failing_since. */
api_reply api_webhooks_failing(console *c) {
    char err[512];
    wh_endpoint *list = NULL;
    int n = 0;
    if (ap_pg_ensure(&c->pg) != AP_OK) {
        ap_log_warn("postgres_down", NULL, "%s", PQerrorMessage(c->pg.conn));
        return api_error(503, "database unavailable");
    }
    if (wh_endpoint_list(c->pg.conn, NULL, true, &list, &n, err, sizeof(err)) != AP_OK) {
        ap_log_warn("query_failed", NULL, "webhook endpoints: %s", err);
        return api_error(503, "database unavailable");
    }
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", list[i].id, "tenant_id",
                                             list[i].tenant_id, "url", list[i].url, "failing_since",
                                             list[i].failing_since));
    wh_endpoints_free(list, n);
    return arr ? (api_reply){200, arr} : api_error(503, "out of memory");
}

/* ---- actions --------------------------------------------------------------- */

api_reply api_retry(console *c, const char *id) {
    char canonical_id[AP_UUID_TEXT_LEN + 1];
    if (!ap_uuid_normalize(id, canonical_id)) return api_error(400, "not a schedule id (a UUID)");
    id = canonical_id;
    char ids[AP_UUID_TEXT_LEN + 3];
    snprintf(ids, sizeof(ids), "{%s}", id);
    const char *params[] = {ids, CONSOLE_ACTOR};
    api_reply r;
    PGresult *res = query(c, AP_STORE_RETRY, params, &r);
    if (res == NULL) return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return api_error(409,
                         "schedule %s is missing, not failed, unconfirmed or cancelled, or part "
                         "of its thread is live (a retry would post that again)",
                         id);
    }
    r = (api_reply){200, row_object(res, 0)};
    PQclear(res);
    return r;
}

api_reply api_cancel(console *c, const char *id) {
    char canonical_id[AP_UUID_TEXT_LEN + 1];
    if (!ap_uuid_normalize(id, canonical_id)) return api_error(400, "not a schedule id (a UUID)");
    id = canonical_id;
    /* Only a pending schedule: a queued one is already on the bus, and
     * stopping it needs the publishers' attempt record (`autopostctl
     * cancel` does that). */
    const char *params[] = {id, "{pending}", CONSOLE_ACTOR};
    api_reply r;
    PGresult *res = query(c, AP_STORE_CANCEL, params, &r);
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
