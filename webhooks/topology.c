/* topology.c -- the webhooks consumer on AUTOPOST_EVENTS (topology.h). */
#include "topology.h"

#include <stdio.h>

#include "ap_log.h"
#include "ap_nats.h"
#include "ap_time.h"
#include "event.h"

static bool not_found(natsStatus s, jsErrCode jerr, jsErrCode which) {
    return s == NATS_NOT_FOUND || jerr == which;
}

static ap_status ensure_events_stream(jsCtx *js, const ap_config *cfg, bool create, char *err,
                                      size_t errlen) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, WH_EVENTS_STREAM, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK) return AP_OK;
    if (!not_found(s, jerr, JSStreamNotFoundErr) || !create) {
        ap_nats_error(err, errlen, "stream " WH_EVENTS_STREAM, s, jerr);
        return AP_ENATS;
    }
    /* The stream's one definition is the topology's (common/ap_nats.c). */
    return ap_js_apply_topology(js, cfg, err, errlen);
}

static ap_status ensure_consumer(jsCtx *js, bool create, char *err, size_t errlen) {
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, WH_EVENTS_STREAM, WH_EVENTS_CONSUMER, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    ci = NULL;
    if (!create || (s != NATS_OK && !not_found(s, jerr, JSConsumerNotFoundErr))) {
        if (s == NATS_OK) return AP_OK;
        ap_nats_error(err, errlen, "consumer " WH_EVENTS_CONSUMER, s, jerr);
        return AP_ENATS;
    }
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = WH_EVENTS_CONSUMER;
    cc.Description = "autopost-webhooks: one delivery row per matching endpoint, ack after COMMIT";
    cc.FilterSubject = WH_EVENTS_SUBJECT_PREFIX ">";
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = 30 * 1000 * AP_NS_PER_MS;
    cc.MaxDeliver = -1; /* an event must never be dropped */
    cc.MaxAckPending = 2000;
    jerr = 0;
    s = s == NATS_OK ? js_UpdateConsumer(&ci, js, WH_EVENTS_STREAM, &cc, NULL, &jerr)
                     : js_AddConsumer(&ci, js, WH_EVENTS_STREAM, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "consumer " WH_EVENTS_CONSUMER " on " WH_EVENTS_STREAM, s, jerr);
        return AP_ENATS;
    }
    return AP_OK;
}

ap_status wh_topology_apply(jsCtx *js, const ap_config *cfg, bool create, char *err,
                            size_t errlen) {
    ap_status st = ensure_events_stream(js, cfg, create, err, errlen);
    return st == AP_OK ? ensure_consumer(js, create, err, errlen) : st;
}

ap_status wh_topology_ready_wait(jsCtx *js, const ap_config *cfg, volatile sig_atomic_t *stop) {
    int64_t delay = 250;
    char err[512];
    while (!*stop) {
        if (wh_topology_apply(js, cfg, cfg->nats_manage_topology, err, sizeof(err)) == AP_OK)
            return AP_OK;
        ap_log_warn("topology_retry", NULL, "webhooks consumer not ready yet: %s", err);
        for (int64_t waited = 0; waited < delay && !*stop; waited += 50) ap_sleep_ms(50);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    return AP_ETIMEOUT;
}
