/* advisory.c -- see advisory.h; the advisory's parsing is fold.c's, the
 * statements store/sql's (advisory_*). */
#include "advisory.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_proto.h"
#include "ap_store.h"
#include "ap_time.h"
#include "fold.h"
#include "term.h"

#define ADVISORY_POLL_MS 500
#define ADVISORY_BATCH 16
/* nats.c sends Expires minus 10 ms when it is >= 20 ms; 25 ms gives the
 * server 15 ms to answer inside our wait, so no late reply is left behind. */
#define ADVISORY_FETCH_MS 25
/* Nak delay when the give-up cannot be recorded (milliseconds), as for results. */
#define NAK_DELAY_MS 1000
/* As for a results batch (dispatcher.c): well below the consumer's AckWait. */
#define BEGIN_SQL "BEGIN; SET LOCAL statement_timeout = '10s'"
#define ACTOR_DISPATCHER "dispatcher"

static void term_advisory(ap_advisories *a, natsMsg *m, const char *why) {
    ap_term_garbage(m, "advisory_garbage", why);
    a->garbage++;
}

/* One transaction: mark failed (forward-only) and add the 'gave_up' line. */
static ap_status apply_gave_up(ap_advisories *a, const ap_job *job, uint64_t deliveries,
                               bool *moved, char *err, size_t errlen) {
    char gen[16], att[16], msg[256];
    PGresult *res = NULL;
    snprintf(gen, sizeof(gen), "%u", job->generation);
    snprintf(att, sizeof(att), "%" PRIu64, deliveries > INT32_MAX ? INT32_MAX : deliveries);
    ap_advisory_message(msg, sizeof(msg), deliveries);
    const char *params[] = {job->schedule_id, gen, msg, att, ACTOR_DISPATCHER};
    ap_status st;
    if ((st = ap_pg_exec(a->pg, BEGIN_SQL, err, errlen)) ||
        (st = ap_store_run(a->pg->conn, AP_STORE_ADVISORY_FAIL, params, &res, NULL, err, errlen)) ||
        (st = ap_store_run(a->pg->conn, AP_STORE_ADVISORY_HISTORY, params, NULL, NULL, err,
                           errlen)) ||
        (st = ap_pg_exec(a->pg, "COMMIT", err, errlen)))
        goto cleanup;
    /* Committed: the UPDATE's own row count (0 when the row had moved on). */
    uint64_t n = strtoull(PQcmdTuples(res), NULL, 10);
    *moved = n > 0;
    ap_counter_add(a->gave_up_failed, n);
cleanup:
    if (st != AP_OK) ap_pg_rollback(a->pg);
    PQclear(res);
    return st;
}

static void handle_advisory(ap_advisories *a, natsMsg *m) {
    char err[512];
    ap_advisory adv;
    natsMsg *job_msg = NULL;
    ap_job *job = NULL;
    jsErrCode jerr = 0;
    ap_counter_inc(a->handled);
    if (ap_advisory_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &adv, err,
                          sizeof(err)) != AP_OK) {
        term_advisory(a, m, err);
        return;
    }
    if (strcmp(adv.stream, AP_STREAM_JOBS) != 0) {
        snprintf(err, sizeof(err), "advisory for stream \"%s\", not " AP_STREAM_JOBS, adv.stream);
        term_advisory(a, m, err);
        return;
    }
    natsStatus s = js_GetMsg(&job_msg, a->nats->js, AP_STREAM_JOBS, adv.stream_seq, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) {
        ap_log_info("advisory_job_gone", NULL,
                    "job at " AP_STREAM_JOBS " seq %" PRIu64 " (consumer %s) is already gone",
                    adv.stream_seq, adv.consumer);
        natsMsg_Ack(m, NULL);
        goto cleanup;
    }
    if (s != NATS_OK) {
        ap_nats_error(err, sizeof(err), "get job message", s, jerr);
        ap_log_warn("advisory_retry", NULL, "%s; advisory nak'ed", err);
        natsMsg_NakWithDelay(m, NAK_DELAY_MS, NULL);
        goto cleanup;
    }
    bool moved = false;
    if (ap_job_decode(natsMsg_GetData(job_msg), (size_t)natsMsg_GetDataLength(job_msg), &job, err,
                      sizeof(err)) == AP_OK &&
        job->generation > INT32_MAX) {
        snprintf(err, sizeof(err), "generation out of range");
        ap_job_free(job);
        job = NULL;
    }
    if (job == NULL) {
        /* Nothing to mark; the dead message itself still has to go. */
        ap_log_error("advisory_job_garbage", NULL,
                     "job at " AP_STREAM_JOBS " seq %" PRIu64 " hit max deliveries and is not a "
                     "valid job (%s); deleting it",
                     adv.stream_seq, err);
    } else if (apply_gave_up(a, job, adv.deliveries, &moved, err, sizeof(err)) != AP_OK) {
        ap_log_warn("advisory_retry", job->schedule_id, "cannot record give-up (%s); nak'ed", err);
        natsMsg_NakWithDelay(m, NAK_DELAY_MS, NULL);
        goto cleanup;
    }
    jerr = 0;
    s = js_DeleteMsg(a->nats->js, AP_STREAM_JOBS, adv.stream_seq, NULL, &jerr);
    if (s != NATS_OK && s != NATS_NOT_FOUND && jerr != JSNoMessageFoundErr) {
        /* Doing it all again is harmless: the fold is idempotent. */
        ap_nats_error(err, sizeof(err), "delete job message", s, jerr);
        ap_log_warn("advisory_retry", job ? job->schedule_id : NULL, "%s; advisory nak'ed", err);
        natsMsg_NakWithDelay(m, NAK_DELAY_MS, NULL);
        goto cleanup;
    }
    natsMsg_Ack(m, NULL);
    if (job) {
        a->gave_up++;
        if (moved)
            ap_log_warn("schedule_gave_up", job->schedule_id,
                        "marked failed: %s job hit max deliveries (%" PRIu64
                        ", consumer %s); job message deleted",
                        job->platform, adv.deliveries, adv.consumer);
        else
            ap_log_info("schedule_gave_up_ignored", job->schedule_id,
                        "job hit max deliveries but the row has moved on (finished or newer "
                        "generation); job message deleted");
    }
cleanup:
    ap_job_free(job);
    natsMsg_Destroy(job_msg);
}

/* The advisory stream is a work queue, empty almost always: asking its
 * message count is one cheap round trip, where an empty pull would make the
 * server hold the request until it expires (nats-server 2.9 treats no_wait
 * with expires as "wait"). */
static bool advisories_waiting(ap_advisories *a) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, a->nats->js, AP_STREAM_ADVISORIES, NULL, &jerr);
    bool waiting = (s == NATS_OK && si->State.Msgs > 0);
    jsStreamInfo_Destroy(si);
    return waiting;
}

void ap_advisories_poll(ap_advisories *a) {
    int64_t now = ap_mono_ms();
    if (now < a->next_poll_ms) return;
    a->next_poll_ms = now + ADVISORY_POLL_MS;
    /* A JetStream API call made while disconnected sits in the reconnect
     * buffer for its whole timeout (5 s): skip it, so SIGTERM is prompt. */
    if (natsConnection_Status(a->nats->nc) != NATS_CONN_STATUS_CONNECTED || !advisories_waiting(a))
        return;
    jsFetchRequest req;
    jsFetchRequest_Init(&req);
    req.Batch = ap_js_fetch_batch(a->sub, ADVISORY_BATCH);
    req.NoWait = true;
    req.Expires = ADVISORY_FETCH_MS * AP_NS_PER_MS;
    natsMsgList list = {0};
    natsStatus s = natsSubscription_FetchRequest(&list, a->sub, &req);
    if (s != NATS_OK) return; /* none deliverable now (e.g. nak'ed, waiting) */
    for (int i = 0; i < list.Count; i++) {
        if (*a->stop)
            natsMsg_Nak(list.Msgs[i], NULL); /* for the next replica, now */
        else
            handle_advisory(a, list.Msgs[i]);
    }
    natsMsgList_Destroy(&list);
}
