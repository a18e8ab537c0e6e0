/* intake.c -- AUTOPOST_EVENTS -> webhook_deliveries (intake.h). */
#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_pg.h"
#include "ap_time.h"
#include "event.h"

#define INTAKE_BATCH 256
#define FETCH_WAIT_MS 500
#define NAK_DELAY_MS 2000

/* '*' subscribes to every type. Only the event's own tenant's endpoints. */
static const char insert_deliveries[] =
    "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body) "
    "SELECT e.id, $1, $3, $4 FROM webhook_endpoints e "
    "WHERE e.tenant_id = $2 AND (e.event_types @> ARRAY[$3]::text[] "
    "                            OR e.event_types @> ARRAY['*']::text[]) "
    "ON CONFLICT (webhook_id, event_id) DO NOTHING";

struct wh_intake {
    const ap_config *cfg;
    volatile sig_atomic_t *stop;
    natsSubscription *sub;
    ap_pg pg;
    ap_counter *events;
    ap_counter *deliveries_created;
    ap_counter *garbage;
};

ap_status wh_intake_create(wh_intake **out, const ap_config *cfg, jsCtx *js,
                           volatile sig_atomic_t *stop, char *err, size_t errlen) {
    wh_intake *in = calloc(1, sizeof(*in));
    if (in == NULL) {
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    in->cfg = cfg;
    in->stop = stop;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = WH_EVENTS_STREAM;
    so.Consumer = WH_EVENTS_CONSUMER; /* bind, never create */
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&in->sub, js, WH_EVENTS_SUBJECT_PREFIX ">", WH_EVENTS_CONSUMER,
                                    NULL, &so, &jerr);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "bind consumer " WH_EVENTS_CONSUMER, s, jerr);
        free(in);
        return AP_ENATS;
    }
    char pg_err[256];
    if (ap_pg_open(&in->pg, cfg->pg_dsn, "autopost-webhooks-intake", pg_err, sizeof(pg_err)) !=
        AP_OK)
        ap_log_warn("postgres_down", NULL, "intake: %s (retrying)", pg_err);
    ap_metrics *reg = ap_health_metrics();
    in->events = ap_metrics_counter(reg, "autopost_webhook_events_total",
                                    "Events taken from AUTOPOST_EVENTS and committed.", NULL);
    in->deliveries_created =
        ap_metrics_counter(reg, "autopost_webhook_deliveries_created_total",
                           "Delivery rows created (one per event and matching endpoint).", NULL);
    in->garbage =
        ap_metrics_counter(reg, "autopost_webhook_events_refused_total",
                           "AUTOPOST_EVENTS messages that were not events (terminated).", NULL);
    *out = in;
    return AP_OK;
}

void wh_intake_destroy(wh_intake *in) {
    if (in == NULL) return;
    if (in->sub) {
        natsSubscription_Unsubscribe(in->sub);
        natsSubscription_Destroy(in->sub);
    }
    ap_pg_close(&in->pg);
    free(in);
}

/* Checks one message; a refused one is terminated and NULLed in the list. */
static bool take_event(wh_intake *in, natsMsg **slot, wh_event *ev) {
    natsMsg *m = *slot;
    const char *msg_id = NULL;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id) != NATS_OK) msg_id = NULL;
    char err[160];
    if (wh_event_parse(natsMsg_GetSubject(m), msg_id, natsMsg_GetData(m),
                       (size_t)natsMsg_GetDataLength(m), ev, err, sizeof(err)) == AP_OK)
        return true;
    ap_log_warn("event_refused", NULL, "subject %s: %s", natsMsg_GetSubject(m), err);
    ap_counter_inc(in->garbage);
    natsMsg_Term(m, NULL);
    natsMsg_Destroy(m);
    *slot = NULL;
    return false;
}

static ap_status insert_batch(wh_intake *in, natsMsg **msgs, const wh_event *evs, int n,
                              long *created, char *err, size_t errlen) {
    if (ap_pg_exec(&in->pg, "BEGIN", err, errlen) != AP_OK) return AP_EPG;
    *created = 0;
    for (int i = 0; i < n; i++) {
        if (msgs[i] == NULL) continue;
        /* The body goes in as the bytes that came (wh_event_parse refused
         * any NUL, so the text is all of them). */
        char *body = strndup(natsMsg_GetData(msgs[i]), (size_t)natsMsg_GetDataLength(msgs[i]));
        if (body == NULL) {
            snprintf(err, errlen, "out of memory");
            ap_pg_exec(&in->pg, "ROLLBACK", NULL, 0);
            return AP_ENOMEM;
        }
        const char *params[] = {evs[i].id, evs[i].tenant_id, evs[i].type, body};
        PGresult *res =
            PQexecParams(in->pg.conn, insert_deliveries, 4, NULL, params, NULL, NULL, 0);
        free(body);
        ap_status st = ap_pg_result_ok(res, PGRES_COMMAND_OK, err, errlen);
        if (st == AP_OK) *created += strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        if (st != AP_OK) {
            ap_pg_exec(&in->pg, "ROLLBACK", NULL, 0);
            return st;
        }
    }
    return ap_pg_exec(&in->pg, "COMMIT", err, errlen);
}

static void handle_batch(wh_intake *in, natsMsgList *list) {
    wh_event evs[INTAKE_BATCH];
    int kept = 0;
    for (int i = 0; i < list->Count; i++) kept += take_event(in, &list->Msgs[i], &evs[i]);
    if (kept == 0) return;
    char err[512];
    long created = 0;
    ap_status st = ap_pg_ensure(&in->pg);
    if (st == AP_OK)
        st = insert_batch(in, list->Msgs, evs, list->Count, &created, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "no connection");
    ap_health_set(AP_CHECK_POSTGRES, st != AP_EPG);
    for (int i = 0; i < list->Count; i++) {
        natsMsg *m = list->Msgs[i];
        if (m == NULL) continue;
        if (st == AP_OK)
            natsMsg_Ack(m, NULL);
        else
            natsMsg_NakWithDelay(m, NAK_DELAY_MS, NULL);
    }
    if (st != AP_OK) {
        ap_log_warn("intake_failed", NULL, "%d events not stored, redelivered later: %s", kept,
                    err);
        return;
    }
    ap_counter_add(in->events, (uint64_t)kept);
    ap_counter_add(in->deliveries_created, (uint64_t)created);
    ap_log_info("events_taken", NULL, "%d events, %ld deliveries created", kept, created);
}

void wh_intake_run(wh_intake *in) {
    while (!*in->stop) {
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(
            &list, in->sub, ap_js_fetch_batch(in->sub, INTAKE_BATCH), FETCH_WAIT_MS, &jerr);
        ap_health_set(AP_CHECK_NATS, s == NATS_OK || s == NATS_TIMEOUT || s == NATS_NOT_FOUND);
        if (s == NATS_TIMEOUT || s == NATS_NOT_FOUND) continue; /* nothing now */
        if (s != NATS_OK) {
            ap_log_warn("fetch_failed", NULL, "fetch events: %s (jetstream error %d)",
                        natsStatus_GetText(s), (int)jerr);
            ap_sleep_ms(500);
            continue;
        }
        handle_batch(in, &list);
        natsMsgList_Destroy(&list);
    }
}
