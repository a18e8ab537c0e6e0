/* fetch.c -- the fetch threads, the pull subscriptions they read and the
 * inboxes they fill for the engine (runtime.c starts the threads).
 *
 * One fetch thread per lane (lanes.h), each with its own pull subscription
 * (only one fetch at a time per subscription) and its own inbox, so a pull
 * that waits for normal jobs never delays an urgent one. The numbers below
 * hold per lane; the engine shares concurrency between the lanes.
 *
 * platforms.<p>.concurrency caps the jobs a replica works on at once, from
 * the claim of the attempt record to the end of the flow; a job that is only
 * storing its outcome (the record and the result, both PubAcks) no longer
 * counts. The replica holds a quarter more jobs than that, fetched but not
 * started: when a flow ends, the next job starts at once instead of after
 * the finished one's JetStream round trips and a fetch (bench/README.md,
 * seed profile). A held job has no attempt record yet and goes from claim
 * to request as fast as without the headroom (the reverted call-slot queue
 * let a claimed job wait for a call); like running jobs it gets InProgress,
 * so JetStream does not hand it to another replica while it waits. */
#include "engine.h"

int engine_jobs_headroom(int concurrency) { return (concurrency + 3) / 4; }

/* Appends a fetched batch to the lane's inbox (mu held). false: out of memory. */
static bool inbox_append(job_lane *lane, natsMsgList *list) {
    if (lane->inbox_len + list->Count > lane->inbox_cap && lane->inbox_head > 0) {
        memmove(lane->inbox, lane->inbox + lane->inbox_head,
                sizeof(*lane->inbox) * (size_t)(lane->inbox_len - lane->inbox_head));
        lane->inbox_len -= lane->inbox_head;
        lane->inbox_head = 0;
    }
    if (lane->inbox_len + list->Count > lane->inbox_cap) {
        int cap = (lane->inbox_len + list->Count) * 2;
        held_msg *grown = realloc(lane->inbox, sizeof(*grown) * (size_t)cap);
        if (grown == NULL) return false;
        lane->inbox = grown;
        lane->inbox_cap = cap;
    }
    int64_t now = ap_mono_ms();
    for (int i = 0; i < list->Count; i++) {
        lane->inbox[lane->inbox_len++] = (held_msg){.msg = list->Msgs[i], .progress_ms = now};
        list->Msgs[i] = NULL; /* ownership moves to the engine */
    }
    lane->inflight += list->Count;
    return true;
}

void *engine_fetch_main(void *arg) {
    job_lane *lane = arg;
    publisher *p = lane->p;
    int64_t last_error_log = 0;
    while (!*p->stop) {
        pthread_mutex_lock(&p->mu);
        while (lane->inflight >= p->max_held && !*p->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->room, &p->mu, &ts);
        }
        int want = p->max_held - lane->inflight;
        pthread_mutex_unlock(&p->mu);
        if (*p->stop) break;
        ap_lag_gauges_refresh(&lane->lag, p->nats.nc, p->nats.js);
        if (want > p->cfg->publisher_fetch_batch) want = p->cfg->publisher_fetch_batch;

        natsMsgList list = {0};
        natsStatus s = natsSubscription_Fetch(&list, lane->sub, ap_js_fetch_batch(lane->sub, want),
                                              FETCH_WAIT_MS, NULL);
        if (s == NATS_OK && list.Count > 0) {
            pthread_mutex_lock(&p->mu);
            bool taken = inbox_append(lane, &list);
            pthread_mutex_unlock(&p->mu);
            /* Not taken (out of memory): not acked, they come back after AckWait. */
            if (taken) curl_multi_wakeup(p->multi);
        } else if (s != NATS_OK && s != NATS_TIMEOUT) {
            /* Disconnected, server restarting...: nats.c reconnects; wait. */
            int64_t now = ap_mono_ms();
            if (now - last_error_log > 5000) {
                ap_log_warn("fetch_failed", NULL, "fetch (%s lane): %s (retrying)",
                            ap_lane_name(lane->id), natsStatus_GetText(s));
                last_error_log = now;
            }
            ap_sleep_ms(200);
        }
        natsMsgList_Destroy(&list);
    }
    pthread_mutex_lock(&p->mu);
    lane->fetch_done = true;
    pthread_mutex_unlock(&p->mu);
    curl_multi_wakeup(p->multi);
    return NULL;
}

/* Binds the lane's durable pull consumer (created by the topology). */
ap_status engine_subscribe_lane(publisher *p, ap_lane lane, char *err, size_t errlen) {
    char durable[80], subject[96], what[128];
    bool urgent = lane == AP_LANE_URGENT;
    if (urgent)
        ap_consumer_name_urgent(durable, sizeof(durable), p->platform->name);
    else
        ap_consumer_name_publisher(durable, sizeof(durable), p->platform->name);
    ap_job_subject(subject, sizeof(subject), p->platform->name, urgent);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = AP_STREAM_JOBS;
    so.Consumer = durable;
    jsErrCode jerr = 0;
    natsStatus s =
        js_PullSubscribe(&p->lanes[lane].sub, p->nats.js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        snprintf(what, sizeof(what), "pull subscribe %s", durable);
        ap_nats_error(err, errlen, what, s, jerr);
        return AP_ENATS;
    }
    return AP_OK;
}

void engine_join_fetchers(publisher *p) {
    for (int l = 0; l < AP_LANE_N; l++) {
        if (!p->lanes[l].fetch_started) continue;
        pthread_join(p->lanes[l].fetcher, NULL);
        p->lanes[l].fetch_started = false;
    }
}
