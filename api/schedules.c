/* schedules.c -- GET /v1/schedules, POST /v1/schedules/{id}/cancel,
 * PATCH /v1/schedules/{id}, GET /v1/accounts, and the schedule's JSON shape.
 *
 * Every statement names the key's tenant: a schedule belongs to its
 * account's tenant, so each one joins social_accounts and filters on
 * tenant_id; another tenant's id is 404, the same as an unknown one.
 *
 * The list pages by schedule id (stable: ids never change and the order
 * does not depend on state or time); the cursor is the last id seen,
 * wrapped so clients treat it as opaque. Cancel checks the tenant, then
 * runs the hand cancel autopostctl runs (cancel.h; a schedule never changes
 * tenant): a pending schedule is cancelled in the database; a queued one is
 * already on the bus, so the cancel mark goes into the publishers' attempt
 * record first, through the process's NATS connection. 409 when a
 * publisher already holds it (it may be live) or it is past cancelling,
 * 503 when NATS cannot be reached (nothing changed). Reschedule moves a pending schedule's time;
 * the status guard in the UPDATE loses cleanly to a scheduler that queues the row at that moment.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_store.h"
#include "ap_time.h"
#include "api.h"
#include "cancel.h"
#include "ctl_post.h"

#define LIST_DEFAULT 50
#define LIST_MAX 200
#define CURSOR_TAG "v1:"

json_t *api_json_time(const char *ms_text) {
    if (ms_text == NULL || *ms_text == '\0') return json_null();
    char buf[40];
    ap_time_format_rfc3339(strtoll(ms_text, NULL, 10), buf, sizeof(buf));
    return json_string(buf);
}

json_t *api_json_text(PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

/* The trace id column (NULL or empty for a row stored before 0025). */
static json_t *api_json_trace_id(PGresult *res, int row, int col) {
    if (PQnfields(res) <= col || PQgetisnull(res, row, col) || !*PQgetvalue(res, row, col))
        return json_null();
    return json_string(PQgetvalue(res, row, col));
}

/* Column 14 (every api_*schedule* statement; 0026): the ids of a
 * thread's parts and first comment after the post's, as a JSON array. */
static json_t *part_ids_json(PGresult *res, int i) {
    json_t *ids = PQnfields(res) > 14 && !PQgetisnull(res, i, 14)
                      ? json_loads(PQgetvalue(res, i, 14), 0, NULL)
                      : NULL;
    if (json_is_array(ids)) return ids;
    json_decref(ids);
    return json_array();
}

json_t *api_schedule_json(PGresult *res, int i) {
    json_t *error =
        PQgetisnull(res, i, 9) && PQgetisnull(res, i, 10) && PQgetisnull(res, i, 11)
            ? json_null()
            : json_pack("{s:o, s:o, s:o}", "class", api_json_text(res, i, 9), "code",
                        api_json_text(res, i, 10), "message", api_json_text(res, i, 11));
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "id",
                     PQgetvalue(res, i, 0), "account_id", PQgetvalue(res, i, 1), "platform",
                     PQgetvalue(res, i, 2), "status", PQgetvalue(res, i, 3), "attempts",
                     atoi(PQgetvalue(res, i, 4)), "scheduled_at",
                     api_json_time(PQgetvalue(res, i, 5)), "deadline",
                     api_json_time(PQgetvalue(res, i, 13)), "published_at",
                     api_json_time(PQgetvalue(res, i, 6)), "external_id", api_json_text(res, i, 7),
                     "external_url", api_json_text(res, i, 8), "error", error, "trace_id",
                     api_json_trace_id(res, i, 12), "part_external_ids", part_ids_json(res, i),
                     "priority", PQgetvalue(res, i, 15));
}

/* ---- cursor ---------------------------------------------------------------- */

static void cursor_encode(const char *last_id, char *out, size_t len) {
    unsigned char raw[3 + 36 + 1], b64[64];
    snprintf((char *)raw, sizeof(raw), CURSOR_TAG "%s", last_id);
    int n = EVP_EncodeBlock(b64, raw, 39); /* 39 bytes: 52 characters, no padding */
    for (int i = 0; i < n; i++) b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    snprintf(out, len, "%.*s", n, (const char *)b64);
}

static bool cursor_decode(const char *cursor, char id[37]) {
    unsigned char b64[53], raw[64];
    if (strlen(cursor) != 52) return false;
    for (int i = 0; i < 52; i++)
        b64[i] = cursor[i] == '-' ? '+' : cursor[i] == '_' ? '/' : (unsigned char)cursor[i];
    b64[52] = '\0';
    if (EVP_DecodeBlock(raw, b64, 52) != 39 || memcmp(raw, CURSOR_TAG, 3) != 0) return false;
    raw[39] = '\0';
    return ap_uuid_normalize((const char *)raw + 3, id);
}

/* ---- list ------------------------------------------------------------------ */

static api_reply bad_query(const char *field, const char *reason) {
    api_reply r = api_error(422, "validation_failed", "%s: %s", field, reason);
    api_error_detail(&r, field, reason);
    return r;
}

static bool status_known(const char *s) {
    static const char *const all[] = {"pending",     "queued",    "retrying", "published", "failed",
                                      "unconfirmed", "cancelled", "skipped",  "expired",   NULL};
    for (const char *const *p = all; *p; p++)
        if (strcmp(*p, s) == 0) return true;
    return false;
}

api_reply api_schedules_list(api_request *req, PGconn *db) {
    const char *status = req->query(req->conn, "status");
    const char *account = req->query(req->conn, "account_id");
    const char *limit_arg = req->query(req->conn, "limit");
    const char *cursor = req->query(req->conn, "cursor");
    const char *post = req->query(req->conn, "post_id");
    char account_id[37], post_id[37], after[37], limit[24], err[512];
    long n = LIST_DEFAULT;
    if (status && *status == '\0') status = NULL;
    if (status && !status_known(status))
        return bad_query("status", "one of pending, queued, retrying, published, failed, "
                                   "unconfirmed, cancelled, skipped, expired");
    if (account && *account && !ap_uuid_normalize(account, account_id))
        return bad_query("account_id", "expected an account id (a UUID)");
    if (post && *post && !ap_uuid_normalize(post, post_id))
        return bad_query("post_id", "expected a post id (a UUID)");
    if (limit_arg && *limit_arg) {
        char *end;
        n = strtol(limit_arg, &end, 10);
        if (*end != '\0' || n < 1) return bad_query("limit", "expected a whole number from 1");
        if (n > LIST_MAX) n = LIST_MAX; /* capped, not refused */
    }
    if (cursor && *cursor && !cursor_decode(cursor, after))
        return bad_query("cursor", "not a cursor this API gave out");
    snprintf(limit, sizeof(limit), "%ld", n + 1); /* one more: is there a next page? */
    const char *params[] = {req->tenant_id, status, account && *account ? account_id : NULL,
                            cursor && *cursor ? after : NULL, limit, post && *post ? post_id : NULL};
    PGresult *res = api_db_store(db, AP_STORE_API_SCHEDULE_PAGE, params, err, sizeof(err));
    if (res == NULL) return api_error_internal(req, "list schedules", err);
    int rows = PQntuples(res), shown = rows > n ? (int)n : rows;
    json_t *data = json_array();
    for (int i = 0; i < shown; i++) json_array_append_new(data, api_schedule_json(res, i));
    json_t *next = json_null();
    if (rows > n) {
        char c[64];
        cursor_encode(PQgetvalue(res, shown - 1, 0), c, sizeof(c));
        json_decref(next);
        next = json_string(c);
    }
    PQclear(res);
    return (api_reply){.status = 200,
                       .body = json_pack("{s:o, s:o}", "data", data, "next_cursor", next)};
}

/* ---- one schedule ------------------------------------------------------------ */

/* The tenant's schedule as JSON, or a 404 (or 500) reply in *r. */
static json_t *read_schedule(api_request *req, PGconn *db, const char *id, api_reply *r) {
    char err[512];
    const char *params[] = {id, req->tenant_id};
    PGresult *res = api_db_store(db, AP_STORE_API_SCHEDULE, params, err, sizeof(err));
    if (res == NULL) {
        *r = api_error_internal(req, "read schedule", err);
        return NULL;
    }
    json_t *o = PQntuples(res) == 1 ? api_schedule_json(res, 0) : NULL;
    PQclear(res);
    if (o == NULL) *r = api_error(404, "not_found", "no such schedule");
    return o;
}

/* GET /v1/schedules/{id}: one of the tenant's schedules, the shape every
 * schedule answer has; another tenant's is a 404, as a missing one. */
api_reply api_schedules_get(api_request *req, PGconn *db) {
    char id[37];
    if (!ap_uuid_normalize(req->path_id, id))
        return api_error(404, "not_found", "no such schedule");
    api_reply r;
    json_t *o = read_schedule(req, db, id, &r);
    if (o == NULL) return r;
    return (api_reply){.status = 200, .body = o};
}

/* After a reschedule that changed nothing: 404 for not ours, else 409
 * naming the state it is in. */
static api_reply not_moved(api_request *req, PGconn *db, const char *id) {
    api_reply r;
    json_t *o = read_schedule(req, db, id, &r);
    if (o == NULL) return r;
    r = api_error(409, "not_pending",
                  "schedule %s is %s: only a pending schedule can be rescheduled", id,
                  json_string_value(json_object_get(o, "status")));
    json_decref(o);
    return r;
}

/* The bus for ap_cancel_schedule: the process's connection, while it is up
 * (a JetStream request on a broken one would wait out its whole timeout). */
static jsCtx *cancel_js(void *arg, char *err, size_t errlen) {
    const ap_nats *n = arg;
    if (n == NULL || n->nc == NULL || n->js == NULL) {
        snprintf(err, errlen, "NATS is not configured");
        return NULL;
    }
    if (natsConnection_Status(n->nc) != NATS_CONN_STATUS_CONNECTED) {
        snprintf(err, errlen, "NATS is not connected");
        return NULL;
    }
    return n->js;
}

/* What ap_cancel_schedule's outcome means to an application. */
static api_reply cancel_reply(api_request *req, PGconn *db, const char *id,
                              const ap_cancel_result *c, const char *err) {
    api_reply r;
    switch (c->outcome) {
    case AP_CANCEL_DONE: {
        json_t *o = read_schedule(req, db, id, &r);
        return o ? (api_reply){.status = 200, .body = o} : r;
    }
    case AP_CANCEL_NOT_FOUND: return api_error(404, "not_found", "no such schedule");
    case AP_CANCEL_NOT_CANCELLABLE:
        return api_error(409, "not_cancellable",
                         "schedule %s is %s: only a pending or queued schedule can be cancelled",
                         id, c->status);
    case AP_CANCEL_STARTED:
        return api_error(409, "publishing_started",
                         "schedule %s is already being published (its attempt is %s): it may be "
                         "live, so it cannot be cancelled; its outcome will show here",
                         id, ap_guard_state_name(c->rec.state));
    case AP_CANCEL_BUS_DOWN:
    default:
        ap_log_warn("cancel_unavailable", id, "request_id=%s %s", req->request_id, err);
        r = api_error(503, "unavailable",
                      "schedule %s is queued and the publishers cannot be told now; nothing "
                      "changed, try again",
                      id);
        r.retry_after_s = 5;
        return r;
    }
}

api_reply api_schedules_cancel(api_request *req, PGconn *db) {
    char id[37], err[512] = "";
    if (!ap_uuid_normalize(req->path_id, id))
        return api_error(404, "not_found", "no such schedule");
    api_reply r;
    json_t *mine = read_schedule(req, db, id, &r); /* 404 unless the key's tenant owns it */
    if (mine == NULL) return r;
    json_decref(mine);
    ap_cancel_result c;
    if (ap_cancel_schedule(db, id, "autopost-api", cancel_js, (void *)req->nats, &c, err,
                           sizeof(err)) != AP_OK)
        return api_error_internal(req, "cancel", err);
    return cancel_reply(req, db, id, &c, err);
}

/* {"at": "<RFC 3339>" | "now"} and nothing else. */
static bool decode_patch(const api_request *req, ctl_post *p, api_reply *r) {
    json_error_t jerr;
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    char why[512];
    bool ok = false;
    if (root == NULL) {
        *r = api_error(400, "invalid_json", "the body is not JSON: %s", jerr.text);
        return false;
    }
    json_t *at = json_object_get(root, "at");
    if (!json_is_object(root) || json_object_size(root) != 1 || !json_is_string(at))
        *r = bad_query("at", "the body must be {\"at\": \"<RFC 3339 time>\"}");
    else if (!ctl_post_set_at(p, json_string_value(at), why, sizeof(why)))
        *r = bad_query("at", why);
    else if (!ctl_post_check_at(p, ap_now_ms(), req->cfg->scheduler_max_past_ms, false, why,
                                sizeof(why)))
        *r = bad_query("at", why);
    else
        ok = true;
    json_decref(root);
    return ok;
}

/* A schedule is not moved past its own deadline (README "Deadlines"): it
 * could only expire there. false with *r: the 422 (field "at"), a 404 or
 * a 500. A concurrent change of the deadline is impossible (nothing
 * updates the column), so checking first is enough. */
static bool reschedule_meets_deadline(api_request *req, PGconn *db, const char *id,
                                      const ctl_post *p, api_reply *r) {
    json_t *o = read_schedule(req, db, id, r);
    if (o == NULL) return false;
    const char *deadline = json_string_value(json_object_get(o, "deadline"));
    int64_t dl = 0, at = p->at_now ? ap_now_ms() : p->at_ms;
    bool ok = deadline == NULL || ap_time_parse_rfc3339(deadline, &dl) != 0 || at <= dl;
    if (!ok) {
        char why[160];
        snprintf(why, sizeof(why), "the new time is after the schedule's deadline %s", deadline);
        *r = bad_query("at", why);
    }
    json_decref(o);
    return ok;
}

api_reply api_schedules_patch(api_request *req, PGconn *db) {
    char id[37], err[512], at[40];
    if (!ap_uuid_normalize(req->path_id, id))
        return api_error(404, "not_found", "no such schedule");
    ctl_post p;
    ctl_post_init(&p);
    api_reply r;
    if (!decode_patch(req, &p, &r)) return r;
    if (!reschedule_meets_deadline(req, db, id, &p, &r)) return r;
    if (!p.at_now) ap_time_format_rfc3339(p.at_ms, at, sizeof(at));
    const char *params[] = {id, req->tenant_id, p.at_now ? NULL : at};
    PGresult *res = api_db_store(db, AP_STORE_API_RESCHEDULE, params, err, sizeof(err));
    if (res == NULL) return api_error_internal(req, "reschedule", err);
    bool moved = PQntuples(res) == 1;
    PQclear(res);
    if (!moved) return not_moved(req, db, id);
    json_t *o = read_schedule(req, db, id, &r);
    return o ? (api_reply){.status = 200, .body = o} : r;
}

/* ---- accounts ---------------------------------------------------------------- */

api_reply api_accounts_list(api_request *req, PGconn *db) {
    char err[512];
    const char *params[] = {req->tenant_id};
    PGresult *res = api_db_exec(
        db,
        "SELECT id, platform, external_id, display_name, status, "
        "status_reason, " API_SQL_MS("created_at") " FROM social_accounts WHERE tenant_id = $1 "
                                                   "ORDER BY platform, external_id, id",
        1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return api_error_internal(req, "list accounts", err);
    json_t *data = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(
            data, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", PQgetvalue(res, i, 0),
                            "platform", PQgetvalue(res, i, 1), "external_id", PQgetvalue(res, i, 2),
                            "name", PQgetvalue(res, i, 3), "status", PQgetvalue(res, i, 4),
                            "status_reason", api_json_text(res, i, 5), "created_at",
                            api_json_time(PQgetvalue(res, i, 6))));
    PQclear(res);
    return (api_reply){.status = 200, .body = json_pack("{s:o}", "data", data)};
}
