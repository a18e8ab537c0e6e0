/* cancel.h -- stopping one schedule by hand: the one sequence that
 * `autopostctl cancel` and POST /v1/schedules/{id}/cancel share.
 *
 * A queued schedule is already on the bus, so cancelling the row alone
 * would not stop a publisher that fetches the job a second later. In one
 * transaction the sequence
 *   1. locks the row (FOR UPDATE: the scheduler's claim skips it, the
 *      dispatcher's fold waits) and checks it is pending or queued;
 *   2. for a queued row, writes the cancel mark into the publishers'
 *      attempt record (guard.h, ap_guard_cancel: create-if-absent, a
 *      compare-and-set) in the bucket of the schedule's platform, BEFORE
 *      the row changes:
 *        - the mark is ours (or an earlier cancel's): no publisher will
 *          call the platform for this job, so the row may say cancelled;
 *        - a publisher's record is there (started, retry, published...):
 *          it won the race and its call has started or happened. Nothing
 *          changes; the caller says so, and the dispatcher records the real
 *          outcome. A row never reads "cancelled" while its post goes live;
 *        - the bucket cannot be reached: nothing changes (a cancel that
 *          cannot stop the job is not one); try again;
 *   3. runs the store's cancel (store/sql/cancel.sql) and commits.
 * A mark whose COMMIT then fails is harmless: the publisher that fetches
 * the job skips it and reports it cancelled, which the dispatcher records.
 * A pending row needs no mark: the scheduler publishes only rows it can
 * claim, and the lock keeps it off this one until the cancel commits. */
#ifndef AP_CANCEL_H
#define AP_CANCEL_H

#include <libpq-fe.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>

#include "ap_nats.h"
#include "ap_status.h"
#include "guard.h"

typedef enum ap_cancel_outcome {
    AP_CANCEL_DONE,            /* cancelled; status says from what */
    AP_CANCEL_NOT_FOUND,       /* no such schedule */
    AP_CANCEL_NOT_CANCELLABLE, /* neither pending nor queued: status says what it is */
    AP_CANCEL_STARTED,         /* a publisher holds the job: rec and value say what it wrote */
    AP_CANCEL_BUS_DOWN,        /* queued, and the mark could not be written: err says why */
} ap_cancel_outcome;

typedef struct ap_cancel_result {
    ap_cancel_outcome outcome;
    char status[16];     /* the state the row was in */
    char generation[16]; /* the row's generation (the record's key names it) */
    bool marked_before;  /* DONE from queued: an earlier cancel had written the mark */
    char bucket[AP_KV_BUCKET_LEN];
    char key[96];
    ap_guard_record rec; /* STARTED: the record found */
    char value[128];     /* STARTED: its text */
} ap_cancel_result;

/* The JetStream context the attempt buckets are reached through, opened on
 * first use (a pending schedule needs none); NULL with err filled when it
 * cannot be had now. */
typedef jsCtx *(*ap_cancel_js_fn)(void *arg, char *err, size_t errlen);

/* Cancels schedule id (a normalised UUID) on db, where no transaction is
 * open; actor goes into the history line. AP_OK: out->outcome says what
 * happened (err filled for AP_CANCEL_BUS_DOWN). Otherwise (AP_EPG: the
 * database failed) err says why and the row did not change. */
ap_status ap_cancel_schedule(PGconn *db, const char *id, const char *actor, ap_cancel_js_fn js,
                             void *js_arg, ap_cancel_result *out, char *err, size_t errlen);

#endif
