/* cancel.c -- the hand cancel of one schedule (see cancel.h): lock, check,
 * mark the attempt record of a queued job, cancel the row, commit. Linked
 * by autopostctl and autopost-api (autopost_cancel); what each outcome
 * means to their user (an exit code, a 409) stays with them. */
#include "cancel.h"

#include <stdio.h>
#include <string.h>

#include "ap_pg.h"
#include "ap_store.h"

static ap_status run_plain(PGconn *db, const char *sql, char *err, size_t errlen) {
    PGresult *res = PQexec(db, sql);
    ap_status st = ap_pg_result_ok(res, PGRES_COMMAND_OK, err, errlen);
    PQclear(res);
    return st;
}

/* The bucket and key of the row's attempt record. */
static ap_status name_record(PGconn *db, const char *id, ap_cancel_result *out, char *err,
                             size_t errlen) {
    const char *params[] = {id};
    PGresult *res = NULL;
    ap_status st = ap_store_run(db, AP_STORE_SCHEDULE_PLATFORM, params, &res, NULL, err, errlen);
    if (st != AP_OK) return st;
    if (PQntuples(res) != 1 ||
        ap_kv_bucket_attempts(out->bucket, sizeof(out->bucket), PQgetvalue(res, 0, 0)) != AP_OK ||
        ap_guard_key(out->key, sizeof(out->key), id, out->generation) != AP_OK) {
        snprintf(err, errlen, "cannot name the attempt record of schedule %s", id);
        st = AP_EINVAL;
    }
    PQclear(res);
    return st;
}

/* Writes the cancel mark: AP_OK when it is there (ours or an earlier
 * cancel's), AP_ECONFLICT when a publisher's record is, else the bus is
 * out of reach (err). */
static ap_status mark(ap_cancel_js_fn js_fn, void *js_arg, ap_cancel_result *out, char *err,
                      size_t errlen) {
    jsCtx *js = js_fn ? js_fn(js_arg, err, errlen) : NULL;
    if (js == NULL) {
        if (js_fn == NULL) snprintf(err, errlen, "NATS is not configured");
        return AP_ENATS;
    }
    kvStore *kv = NULL;
    natsStatus s = js_KeyValue(&kv, js, out->bucket);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, out->bucket, s, 0);
        return AP_ENATS;
    }
    ap_status st = ap_guard_cancel(kv, out->key, &out->rec, out->value, sizeof(out->value));
    kvStore_Destroy(kv);
    if (st == AP_ECONFLICT && out->rec.state == AP_GUARD_CANCELLED) {
        out->marked_before = true;
        return AP_OK;
    }
    if (st != AP_OK && st != AP_ECONFLICT)
        snprintf(err, errlen, "KV %s: %s", out->bucket, out->value);
    return st;
}

ap_status ap_cancel_schedule(PGconn *db, const char *id, const char *actor, ap_cancel_js_fn js,
                             void *js_arg, ap_cancel_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    bool found = false;
    ap_status st = run_plain(db, "BEGIN", err, errlen);
    if (st != AP_OK) return st;
    ap_store_locked row;
    if ((st = ap_store_lock_schedule(db, id, &row, &found, err, errlen)) != AP_OK) goto rollback;
    if (!found) {
        out->outcome = AP_CANCEL_NOT_FOUND;
        goto rollback;
    }
    snprintf(out->status, sizeof(out->status), "%s", row.status);
    snprintf(out->generation, sizeof(out->generation), "%s", row.generation);
    if (strcmp(out->status, "pending") != 0 && strcmp(out->status, "queued") != 0) {
        out->outcome = AP_CANCEL_NOT_CANCELLABLE;
        goto rollback;
    }
    if (strcmp(out->status, "queued") == 0) {
        if ((st = name_record(db, id, out, err, errlen)) != AP_OK) goto rollback;
        ap_status m = mark(js, js_arg, out, err, errlen);
        if (m == AP_ECONFLICT) out->outcome = AP_CANCEL_STARTED;
        if (m != AP_OK && m != AP_ECONFLICT) out->outcome = AP_CANCEL_BUS_DOWN;
        if (m != AP_OK) goto rollback;
    }
    const char *params[] = {id, "{pending,queued}", actor};
    PGresult *res = NULL;
    if ((st = ap_store_run(db, AP_STORE_CANCEL, params, &res, NULL, err, errlen)) != AP_OK)
        goto rollback;
    bool moved = PQntuples(res) == 1;
    PQclear(res);
    if (!moved) { /* the lock makes this impossible; say so rather than commit nothing */
        snprintf(err, errlen, "schedule %s changed under its lock", id);
        st = AP_EPG;
        goto rollback;
    }
    if ((st = run_plain(db, "COMMIT", err, errlen)) != AP_OK) goto rollback;
    out->outcome = AP_CANCEL_DONE;
    return AP_OK;
rollback:
    if (PQstatus(db) == CONNECTION_OK) PQclear(PQexec(db, "ROLLBACK"));
    return st;
}
