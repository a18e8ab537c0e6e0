/* job_state.h -- the phase a job's slot is in, and the moves between them.
 *
 * A slot's phase used to be four booleans (refreshing, waiting_cred,
 * fencing, settling) that had to be kept mutually exclusive by hand. Here it
 * is one value, changed only through job_state_enter, which refuses a move
 * the engine never makes:
 *
 *   CLAIMING --> PREPARING --> CALLING <--> FENCING
 *                  |  ^  ^        |
 *                  v  |  |        v
 *   AWAITING_CREDENTIAL  REFRESHING            (any) --> SETTLING
 *
 *   CLAIMING             the attempt record's claim awaits its PubAck
 *   PREPARING            the claim is answered; the credential is settled
 *   AWAITING_CREDENTIAL  another replica refreshes the account's token
 *   REFRESHING           our token request is the slot's transfer
 *   CALLING              the adapter flow runs (a request or a wait)
 *   FENCING              a prepared publish request waits for the record's
 *                        re-check (guard.h, the fence)
 *   SETTLING             the outcome is being stored, then ack/nak/term
 *
 * CALLING may go back to REFRESHING or AWAITING_CREDENTIAL (a REAUTH answer
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
} job_state;

/* Whether the engine ever moves a slot from `from` to `to`. */
bool job_state_allowed(job_state from, job_state to);

/* Moves *state to `to` when allowed: true. Otherwise leaves it and returns
 * false (a bug in the engine; the caller logs it). */
bool job_state_enter(job_state *state, job_state to);

const char *job_state_name(job_state s);

#endif
