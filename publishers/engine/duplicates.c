/* duplicates.c -- a duplicate refusal is evidence, not a failure.
 *
 * X and LinkedIn refuse a post whose text repeats a recent post of the
 * account. When the post they have is ours (the call went through, its answer
 * was lost and something below us sent it again: a proxy's retry), failing
 * the schedule would invite the user to post it by hand a second time. So a
 * DUPLICATE end of a publish flow, on an adapter with duplicate_reads_back,
 * is followed by a read-back of the account's recent posts, and the matched
 * post's creation time decides:
 *
 *   made at or after the job was queued (to the second, a second of slack
 *   for clocks)                      -> published with that post, and a
 *                                       history line saying how we know;
 *   made before, or none found       -> failed duplicate, naming it;
 *   found, but no time given         -> unconfirmed, for a person;
 *   the read-back could not tell     -> ambiguous: the next delivery reads
 *                                       back again (or unconfirmed at the end).
 *
 * The job's enqueued_at_ms bounds the first attempt from below: nothing of
 * ours can be older. A job without it keeps the refusal as a failure. */
#include "engine.h"

static int64_t duplicate_floor_ms(const ap_job *job) {
    return job->enqueued_at_ms / 1000 * 1000 - 1000;
}

bool engine_begin_duplicate_check(publisher *p, job_slot *s, const ap_flow_result *r) {
    if (!p->adapter->duplicate_reads_back || s->duplicate_check || s->job->enqueued_at_ms <= 0)
        return false;
    s->duplicate_check = true;
    s->duplicate_refusal = *r;
    ap_log_job_info("duplicate_read_back", sid(s), tid(s),
                    "%s; reading back whether the post is ours", r->error_message);
    engine_start_flow_after(p, s, AP_FLOW_VERIFY,
                            duplicate_floor_ms(s->job) - DUPLICATE_LOOKBACK_MS,
                            DUPLICATE_CHECK_DELAY_MS);
    return true;
}

/* Appends text to r's error_message (cut if it does not fit). */
static void append_reason(ap_flow_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void append_reason(ap_flow_result *r, const char *fmt, ...) {
    size_t n = strlen(r->error_message);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error_message + n, sizeof(r->error_message) - n, fmt, ap);
    va_end(ap);
}

/* The read-back after a duplicate refusal has ended with r. Returns false
 * when it could not tell: r is then the refusal, made ambiguous, for the
 * caller's ambiguous path. */
bool engine_settle_duplicate(publisher *p, job_slot *s, ap_flow_result *r) {
    ap_flow_result refusal = s->duplicate_refusal;
    int64_t floor = duplicate_floor_ms(s->job);
    char made[32], queued[32];
    ap_time_format_rfc3339(r->created_at_ms, made, sizeof(made));
    ap_time_format_rfc3339(s->job->enqueued_at_ms, queued, sizeof(queued));
    if (r->error_class == AP_CLASS_NONE && r->created_at_ms > 0 && r->created_at_ms >= floor) {
        p->counts.verified++;
        ap_flow_result ours = *r;
        snprintf(ours.error_message, sizeof(ours.error_message),
                 "the platform refused a duplicate; read back found our post %s made at %s",
                 r->external_id, made);
        ap_log_job_info("duplicate_confirmed", sid(s), tid(s), "%s", ours.error_message);
        engine_chain_published(p, s, &ours);
        return true;
    }
    if (r->error_class == AP_CLASS_NONE && r->created_at_ms > 0) {
        append_reason(&refusal,
                      "; read back: the existing post %s was made at %s, before this "
                      "schedule was queued (%s)",
                      r->external_id, made, queued);
    } else if (r->error_class == AP_CLASS_NONE) {
        refusal.error_class = AP_CLASS_AMBIGUOUS;
        append_reason(&refusal,
                      "; read back found post %s but not when it was made: check "
                      "whether it is this schedule's",
                      r->external_id);
        engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED, &refusal, true);
        return true;
    } else if (r->not_found) {
        append_reason(&refusal,
                      "; read back: no post with this text since shortly before this "
                      "schedule was queued (%s), so the one the platform has is older",
                      queued);
    } else {
        refusal.error_class = AP_CLASS_AMBIGUOUS;
        append_reason(&refusal, "; could not read back whether the post is ours: %s",
                      r->error_message);
        *r = refusal;
        return false;
    }
    ap_log_job_info("duplicate_not_ours", sid(s), tid(s), "%s", refusal.error_message);
    engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &refusal, true);
    return true;
}
