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
 * the Nats-Expected-Last-Subject-Sequence header (0 = "must not exist").
 *
 * A KV read is a direct get (a plain request on
 * $JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>; nats.c's kvStore_Get
 * makes the same request, and the publishers' NATS users may already make
 * it) whose reply comes back on one wildcard subscription of our own inbox,
 * so a read during a NATS outage stalls only the job that asked: its event
 * is a failure after max_wait_ms like a PubAck's. The reply is a message
 * with the stored value and Nats-Sequence, or a 404 status. */
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
    /* A read (ap_jsasync_kv_get) only: ok and found with the value
     * (malloc'ed, NUL-terminated, freed by ap_js_done_clear) and its
     * revision in seq; ok and not found when the key has no value (absent,
     * deleted or purged). */
    bool found;
    char *value;
    int value_len;
} ap_js_done;

/* wake(arg) is called (from a nats.c thread) whenever events are ready.
 * max_wait_ms bounds how long a PubAck or a read's reply may take before it
 * is a failure. inbox_prefix is the connection's (nats.inbox_prefix; NULL:
 * nats.c's default "_INBOX"): reads are answered below it. */
ap_status ap_jsasync_new(ap_jsasync **out, natsConnection *nc, int64_t max_wait_ms,
                         const char *inbox_prefix, void (*wake)(void *), void *wake_arg);
/* Publishes msg (always consumed). expected_last_subject_seq < 0 means no
 * compare-and-set. On AP_OK exactly one event will follow for (owner, tag). */
ap_status ap_jsasync_publish(ap_jsasync *a, natsMsg *msg, void *owner, int tag,
                             int64_t expected_last_subject_seq);
/* Reads the last value of key in bucket; on AP_OK exactly one event will
 * follow for (owner, tag) (AP_EINVAL: the subject does not fit). */
ap_status ap_jsasync_kv_get(ap_jsasync *a, const char *bucket, const char *key, void *owner,
                            int tag);
/* After the connection was restored: every write still waiting for its
 * PubAck is sent again (its PubAck, or the write itself, may have died with
 * the old server) and every read asked again. Safe because every write can
 * be repeated: a result carries its Nats-Msg-Id (the copy is dropped), and a
 * compare-and-set sent twice is stored at most once; when the resent copy
 * loses (wrong last sequence), the key is read from its stream's leader
 * (kv_leader_read.h) and the write counts as
 * stored if the key holds exactly its bytes, else as lost. Without this, a
 * write whose server died waits out max_wait_ms and its job AckWait.
 * The same goes, whether or not a reconnect happened, for a write left
 * unanswered for 5 s (its stream leader may have died on another node) and
 * for one refused with "no responders" (no stream leader yet, so nothing was
 * stored; sent again every 250 ms), all within max_wait_ms of the first
 * send, after which the owner hears the failure. Engine thread only. */
void ap_jsasync_resend_after_reconnect(ap_jsasync *a);
/* Decodes a direct get's reply into d (ok/found/value/seq or a failure);
 * no I/O, for the tests too. */
void ap_jsasync_decode_get_reply(natsMsg *reply, ap_js_done *d);
/* Frees what an event owns (a read's value); safe on any event. */
void ap_js_done_clear(ap_js_done *d);
/* Moves up to max ready events into out; returns how many. A read whose
 * reply is overdue becomes a failure event (NATS_TIMEOUT) here. */
int ap_jsasync_take(ap_jsasync *a, ap_js_done *out, int max);
/* Waits up to timeout_ms for outstanding PubAcks, then frees everything. */
void ap_jsasync_destroy(ap_jsasync *a, int64_t timeout_ms);

#endif
