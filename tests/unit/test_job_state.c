/* test_job_state.c -- a publisher slot's phases and the moves between them
 * (publishers/engine/job_state.c): the moves a job's life makes are
 * allowed, the ones that would break an exactly-once rule are refused. */
#include "job_state.h"
#include "test.h"

#define ALL_STATES for (int i = JOB_CLAIMING; i <= JOB_READING_ACCOUNT; i++)

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
    const job_state refresh[] = {JOB_PREPARING,       JOB_LOCKING,   JOB_PREPARING,
                                 JOB_READING_ACCOUNT, JOB_PREPARING, JOB_REFRESHING,
                                 JOB_PREPARING,       JOB_CALLING,   JOB_SETTLING};
    CHECK(walk(refresh, 9));
    const job_state wait[] = {JOB_PREPARING, JOB_AWAITING_CREDENTIAL, JOB_AWAITING_CREDENTIAL,
                              JOB_PREPARING, JOB_CALLING};
    CHECK(walk(wait, 5));
    /* A REAUTH answer earns one refresh, then the flow runs again. */
    const job_state reauth[] = {JOB_PREPARING,  JOB_CALLING,         JOB_LOCKING,
                                JOB_PREPARING,  JOB_READING_ACCOUNT, JOB_PREPARING,
                                JOB_REFRESHING, JOB_PREPARING,       JOB_CALLING};
    CHECK(walk(reauth, 9));
    /* The record already says how it ended: report it, no call. */
    const job_state known[] = {JOB_SETTLING};
    CHECK(walk(known, 1));
    /* A redelivery: the claim lost, the record is read, then re-stamped. */
    const job_state takeover[] = {JOB_READING_RECORD, JOB_TAKING_OVER, JOB_PREPARING, JOB_CALLING,
                                  JOB_SETTLING};
    CHECK(walk(takeover, 5));
    const job_state ended[] = {JOB_READING_RECORD, JOB_SETTLING};
    CHECK(walk(ended, 2));
    /* A paused account, found before any call or answered by the platform. */
    const job_state paused[] = {JOB_DEFERRING, JOB_SETTLING};
    CHECK(walk(paused, 2));
    const job_state limited[] = {JOB_PREPARING, JOB_CALLING, JOB_DEFERRING, JOB_SETTLING};
    CHECK(walk(limited, 4));
    /* A REAUTH answer, the lock lost: read it, wait for its holder. */
    const job_state lost[] = {JOB_PREPARING,          JOB_CALLING,         JOB_LOCKING,
                              JOB_PREPARING,          JOB_READING_ACCOUNT, JOB_PREPARING,
                              JOB_AWAITING_CREDENTIAL};
    CHECK(walk(lost, 7));
    const job_state paused_after_takeover[] = {JOB_READING_RECORD, JOB_TAKING_OVER, JOB_DEFERRING,
                                               JOB_SETTLING};
    CHECK(walk(paused_after_takeover, 4));
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

static void test_no_call_while_a_record_write_or_read_is_unanswered(void) {
    /* The record's read, our takeover stamp and "deferred" must be answered
     * before anything may reach the platform (README, exactly once). */
    const job_state waiting[] = {JOB_READING_RECORD, JOB_TAKING_OVER, JOB_DEFERRING, JOB_LOCKING,
                                 JOB_READING_ACCOUNT};
    for (int w = 0; w < 5; w++) {
        CHECK(!job_state_allowed(waiting[w], JOB_CALLING));
        CHECK(!job_state_allowed(waiting[w], JOB_FENCING));
        CHECK(!job_state_allowed(waiting[w], JOB_REFRESHING));
        CHECK(!job_state_allowed(waiting[w], JOB_AWAITING_CREDENTIAL));
    }
    /* No token is spent before the lock is stored and the shared one read. */
    ALL_STATES if (i != JOB_PREPARING) CHECK(!job_state_allowed((job_state)i, JOB_REFRESHING));
    CHECK(!job_state_allowed(JOB_LOCKING, JOB_READING_ACCOUNT));
    /* The record's read never skips the re-stamp. */
    CHECK(!job_state_allowed(JOB_READING_RECORD, JOB_PREPARING));
    CHECK(!job_state_allowed(JOB_READING_RECORD, JOB_DEFERRING));
    /* "deferred" ends the delivery. */
    ALL_STATES if (i != JOB_SETTLING) CHECK(!job_state_allowed(JOB_DEFERRING, (job_state)i));
    /* Only a lost claim leads to the read. */
    ALL_STATES if (i != JOB_CLAIMING) CHECK(!job_state_allowed((job_state)i, JOB_READING_RECORD));
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
    CHECK_STR_EQ(job_state_name(JOB_READING_RECORD), "reading_record");
    CHECK_STR_EQ(job_state_name(JOB_TAKING_OVER), "taking_over");
    CHECK_STR_EQ(job_state_name(JOB_DEFERRING), "deferring");
    CHECK_STR_EQ(job_state_name(JOB_LOCKING), "locking");
    CHECK_STR_EQ(job_state_name(JOB_READING_ACCOUNT), "reading_account");
    CHECK_STR_EQ(job_state_name((job_state)99), "invalid");
}

int main(void) {
    RUN(test_a_fresh_slot_is_claiming);
    RUN(test_lives_a_job_leads);
    RUN(test_every_phase_can_end_in_settling);
    RUN(test_settling_is_final);
    RUN(test_no_call_before_the_claim_is_answered);
    RUN(test_no_call_while_a_record_write_or_read_is_unanswered);
    RUN(test_fence_only_from_a_running_flow);
    RUN(test_refused_move_leaves_the_state);
    RUN(test_names);
    return TEST_RESULT();
}
