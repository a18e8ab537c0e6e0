/* job_state.h -- the phase a job's slot is in, and the moves between them.
 *
 * A slot's phase used to be four booleans (refreshing, waiting_cred,
 * fencing, settling) that had to be kept mutually exclusive by hand. Here it
 * is one value, changed only through job_state_enter, which refuses a move
 * the engine never makes:
 *
 *   CLAIMING ----------------> PREPARING --> CALLING <--> FENCING
 *      |                       ^  |  ^  ^        |
 *      v                       |  v  |  |        v
 *   READING_RECORD --> TAKING_OVER   AWAITING_CREDENTIAL  REFRESHING
 *
 *   CLAIMING, TAKING_OVER, CALLING --> DEFERRING;   (any) --> SETTLING
 *   PREPARING, CALLING --> LOCKING --> PREPARING <--> READING_ACCOUNT
 *
 *   CLAIMING             the attempt record's claim awaits its PubAck
 *   READING_RECORD       the claim lost (a record exists): its read awaits
 *                        the reply
 *   TAKING_OVER          the record said retry or started: our re-stamp
 *                        (compare-and-set) awaits its PubAck, and no call
 *                        goes out before it is stored
 *   DEFERRING            a limit is in the way: the record's "deferred"
 *                        awaits its PubAck before the result may say so
 *   LOCKING              the account's refresh lock (refresh.h) awaits its
 *                        PubAck: no refresh token is spent before it
 *   READING_ACCOUNT      a key of the accounts bucket (the shared
 *                        credential before a refresh, or the lock we lost
 *                        to) awaits its reply
 *   PREPARING            the claim is answered; the credential is settled
 *   AWAITING_CREDENTIAL  another replica refreshes the account's token
 *   REFRESHING           our token request is the slot's transfer
 *   CALLING              the adapter flow runs (a request or a wait)
 *   FENCING              a prepared publish request waits for the record's
 *                        re-check (guard.h, the fence)
 *   SETTLING             the outcome is being stored, then ack/nak/term
 *
 * CALLING may go back to LOCKING or AWAITING_CREDENTIAL (a REAUTH answer
 * earns the refresh token one chance) and to CALLING (a read-back after a
 * publish). Facts about the delivery (refresh_tried, sent_any, ...) stay
 * booleans on the slot: they are not phases. No I/O, testable alone. */
#ifndef AP_JOB_STATE_H
#define AP_JOB_STATE_H

#include <stdbool.h>

typedef enum job_state {
    JOB_CLAIMING, /* zero: a fresh slot */
    JOB_PREPARING,
    JOB_AWAITING_CREDENTIAL,
    JOB_REFRESHING,
    JOB_CALLING,
    JOB_FENCING,
    JOB_SETTLING,
    JOB_READING_RECORD,
    JOB_TAKING_OVER,
    JOB_DEFERRING,
    JOB_LOCKING,
    JOB_READING_ACCOUNT,
} job_state;

/* Whether the engine ever moves a slot from `from` to `to`. */
bool job_state_allowed(job_state from, job_state to);

/* Moves *state to `to` when allowed: true. Otherwise leaves it and returns
 * false (a bug in the engine; the caller logs it). */
bool job_state_enter(job_state *state, job_state to);

const char *job_state_name(job_state s);

#endif
