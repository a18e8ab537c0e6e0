/* job_state.c -- the table of a slot's allowed moves (see job_state.h). */
#include "job_state.h"

#define BIT(s) (1u << (s))

/* allowed[from] has a bit for every state it may move to. */
static const unsigned allowed[] = {
    [JOB_CLAIMING] = BIT(JOB_PREPARING) | BIT(JOB_SETTLING),
    [JOB_PREPARING] =
        BIT(JOB_AWAITING_CREDENTIAL) | BIT(JOB_REFRESHING) | BIT(JOB_CALLING) | BIT(JOB_SETTLING),
    [JOB_AWAITING_CREDENTIAL] =
        BIT(JOB_AWAITING_CREDENTIAL) | BIT(JOB_PREPARING) | BIT(JOB_SETTLING),
    [JOB_REFRESHING] = BIT(JOB_PREPARING) | BIT(JOB_SETTLING),
    [JOB_CALLING] = BIT(JOB_CALLING) | BIT(JOB_FENCING) | BIT(JOB_REFRESHING) |
                    BIT(JOB_AWAITING_CREDENTIAL) | BIT(JOB_SETTLING),
    [JOB_FENCING] = BIT(JOB_CALLING) | BIT(JOB_SETTLING),
    [JOB_SETTLING] = BIT(JOB_SETTLING), /* settle runs again when the last PubAck lands */
};

static const char *const names[] = {
    [JOB_CLAIMING] = "claiming",
    [JOB_PREPARING] = "preparing",
    [JOB_AWAITING_CREDENTIAL] = "awaiting_credential",
    [JOB_REFRESHING] = "refreshing",
    [JOB_CALLING] = "calling",
    [JOB_FENCING] = "fencing",
    [JOB_SETTLING] = "settling",
};

#define NSTATES (sizeof(allowed) / sizeof(allowed[0]))

bool job_state_allowed(job_state from, job_state to) {
    return (unsigned)from < NSTATES && (unsigned)to < NSTATES && (allowed[from] & BIT(to)) != 0;
}

bool job_state_enter(job_state *state, job_state to) {
    if (!job_state_allowed(*state, to)) return false;
    *state = to;
    return true;
}

const char *job_state_name(job_state s) { return (unsigned)s < NSTATES ? names[s] : "invalid"; }
