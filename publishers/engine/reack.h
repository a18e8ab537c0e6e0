/* reack.h -- acks sent just before a reconnect, sent again after it.
 *
 * An ack is a plain publish nobody answers: one written to a connection
 * whose server dies (kill -9, a node lost) is gone without a trace, and the
 * job comes back after AckWait (60 s by default) to be re-reported from its
 * attempt record. After a reconnect the engine sends the last few seconds'
 * acks and terms again. Both are final and idempotent: the server ignores
 * one for a message it has already removed. Naks are not repeated: a lost
 * nak only means the retry comes after AckWait instead of its delay, and a
 * repeated one could bring a retried job back early.
 *
 * Engine thread only; no I/O but the resends. */
#ifndef AP_REACK_H
#define AP_REACK_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

/* Enough for the acks of a few seconds at several thousand jobs a second;
 * older ones fall out first. */
#define AP_REACK_CAP 16384
/* How far back a reconnect looks: a dead server's socket held at most what
 * was written since its last answer, well under this. */
#define AP_REACK_WINDOW_MS 5000

typedef struct ap_reack_entry {
    char *reply;   /* the message's ack subject ($JS.ACK....), malloc'ed */
    int64_t at_ms; /* monotonic */
    bool term;
} ap_reack_entry;

typedef struct ap_reack {
    ap_reack_entry *ring; /* AP_REACK_CAP entries, allocated on first use */
    int next;
} ap_reack;

/* Remembers msg's ack (term: its term). Out of memory: forgotten, which
 * only costs the redelivery this avoids. */
void ap_reack_note(ap_reack *r, natsMsg *msg, bool term, int64_t now_ms);
/* Sends again every ack and term noted within AP_REACK_WINDOW_MS before
 * now_ms; returns how many. */
int ap_reack_resend(ap_reack *r, natsConnection *nc, int64_t now_ms);
void ap_reack_free(ap_reack *r);

#endif
