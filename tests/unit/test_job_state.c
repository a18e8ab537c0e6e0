/* test_job_state.c -- a publisher slot's phases and the moves between them
 * (publishers/engine/job_state.c): the moves a job's life makes are
 * allowed, the ones that would break an exactly-once rule are refused. */
#include "job_state.h"
#include "test.h"

#define ALL_STATES for (int i = JOB_CLAIMING; i <= JOB_SETTLING; i++)

/* Walks a path through job_state_enter; true when every move was taken. */
static bool walk(const job_state *path, int n) {
    job_state s = JOB_CLAIMING;
    for (int i = 0; i < n; i++)
        if (!job_state_enter(&s, path[i])) return false;
    return s == path[n - 1];
}

static void test_a_fresh_slot_is_claiming(void) {
    job_state s = {0};
    CHECK(s == JOB_CLAIMING);
    CHECK_STR_EQ(job_state_name(s), "claiming");
}

static void test_lives_a_job_leads(void) {
    /* Claim, credential, publish, fence, publish, store the outcome. */
    const job_state publish[] = {JOB_PREPARING, JOB_CALLING,  JOB_FENCING,
                                 JOB_CALLING,   JOB_SETTLING, JOB_SETTLING};
    CHECK(walk(publish, 6));
    /* The token is due: refresh first; another replica holds the lock. */
    const job_state refresh[] = {JOB_PREPARING, JOB_REFRESHING, JOB_PREPARING, JOB_CALLING,
                                 JOB_SETTLING};
    CHECK(walk(refresh, 5));
    const job_state wait[] = {JOB_PREPARING, JOB_AWAITING_CREDENTIAL, JOB_AWAITING_CREDENTIAL,
                              JOB_PREPARING, JOB_CALLING};
    CHECK(walk(wait, 5));
    /* A REAUTH answer earns one refresh, then the flow runs again. */
    const job_state reauth[] = {JOB_PREPARING, JOB_CALLING, JOB_REFRESHING, JOB_PREPARING,
                                JOB_CALLING};
    CHECK(walk(reauth, 5));
    /* The record already says how it ended: report it, no call. */
    const job_state known[] = {JOB_SETTLING};
    CHECK(walk(known, 1));
}

static void test_every_phase_can_end_in_settling(void) {
    ALL_STATES CHECK(job_state_allowed((job_state)i, JOB_SETTLING));
}

static void test_settling_is_final(void) {
    /* Once the outcome is being stored, no further call may start. */
    ALL_STATES if (i != JOB_SETTLING) CHECK(!job_state_allowed(JOB_SETTLING, (job_state)i));
}

static void test_no_call_before_the_claim_is_answered(void) {
    CHECK(!job_state_allowed(JOB_CLAIMING, JOB_CALLING));
    CHECK(!job_state_allowed(JOB_CLAIMING, JOB_FENCING));
    CHECK(!job_state_allowed(JOB_CLAIMING, JOB_REFRESHING));
    /* Nothing goes back to claiming: one claim per delivery. */
    ALL_STATES CHECK(!job_state_allowed((job_state)i, JOB_CLAIMING));
}

static void test_fence_only_from_a_running_flow(void) {
    ALL_STATES if (i != JOB_CALLING) CHECK(!job_state_allowed((job_state)i, JOB_FENCING));
    /* A fenced request goes on only as a call (or the job ends). */
    CHECK(!job_state_allowed(JOB_FENCING, JOB_REFRESHING));
    CHECK(!job_state_allowed(JOB_FENCING, JOB_PREPARING));
}

static void test_refused_move_leaves_the_state(void) {
    job_state s = JOB_SETTLING;
    CHECK(!job_state_enter(&s, JOB_CALLING));
    CHECK(s == JOB_SETTLING);
    s = JOB_CLAIMING;
    CHECK(!job_state_enter(&s, (job_state)99));
    CHECK(s == JOB_CLAIMING);
    CHECK(!job_state_allowed((job_state)99, JOB_SETTLING));
}

static void test_names(void) {
    CHECK_STR_EQ(job_state_name(JOB_AWAITING_CREDENTIAL), "awaiting_credential");
    CHECK_STR_EQ(job_state_name(JOB_FENCING), "fencing");
    CHECK_STR_EQ(job_state_name((job_state)99), "invalid");
}

int main(void) {
    RUN(test_a_fresh_slot_is_claiming);
    RUN(test_lives_a_job_leads);
    RUN(test_every_phase_can_end_in_settling);
    RUN(test_settling_is_final);
    RUN(test_no_call_before_the_claim_is_answered);
    RUN(test_fence_only_from_a_running_flow);
    RUN(test_refused_move_leaves_the_state);
    RUN(test_names);
    return TEST_RESULT();
}
