/* jsasync.h -- JetStream publishes whose PubAcks come back to one thread.
 *
 * The publisher runtime needs three JetStream writes per job (claim the
 * attempt record, record the outcome, publish the result). Done one round
 * trip at a time they cap a replica near 700 jobs/s; done asynchronously they
 * overlap across every job in flight. nats.c calls a context's PubAck handler
 * on its own thread, so this module keeps a map from each published message
 * to its owner and turns every PubAck (or failure, or timeout) into an event
 * the engine thread collects with ap_jsasync_take().
 *
 * A KV write is a JetStream publish on $KV.<bucket>.<key>; compare-and-set is
 * the Nats-Expected-Last-Subject-Sequence header (0 = "must not exist"). */
#ifndef AP_JSASYNC_H
#define AP_JSASYNC_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "ap_status.h"

typedef struct ap_jsasync ap_jsasync;

typedef struct ap_js_done {
    void *owner; /* as given to ap_jsasync_publish */
    int tag;     /* the owner's name for the operation */
    bool ok;     /* stored by the server */
    natsStatus status;
    jsErrCode err;  /* e.g. JSStreamWrongLastSequenceErr: a lost compare-and-set */
    uint64_t seq;   /* stream sequence (a KV record's new revision) */
    bool duplicate; /* dropped by the server's dedup window */
} ap_js_done;

/* wake(arg) is called (from a nats.c thread) whenever events are ready.
 * max_wait_ms bounds how long a PubAck may take before it is a failure. */
ap_status ap_jsasync_new(ap_jsasync **out, natsConnection *nc, int64_t max_wait_ms,
                         void (*wake)(void *), void *wake_arg);
/* Publishes msg (always consumed). expected_last_subject_seq < 0 means no
 * compare-and-set. On AP_OK exactly one event will follow for (owner, tag). */
ap_status ap_jsasync_publish(ap_jsasync *a, natsMsg *msg, void *owner, int tag,
                             int64_t expected_last_subject_seq);
/* Moves up to max ready events into out; returns how many. */
int ap_jsasync_take(ap_jsasync *a, ap_js_done *out, int max);
/* Waits up to timeout_ms for outstanding PubAcks, then frees everything. */
void ap_jsasync_destroy(ap_jsasync *a, int64_t timeout_ms);

#endif
