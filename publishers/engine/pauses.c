/* pauses.c -- a limit in the way (deferral.h decides): the job ends
 * DEFERRED under the next generation, and a platform's pause is shared with
 * every replica through the accounts bucket. Also the pause check before a
 * job's first call. */
#include "engine.h"

/* Records a pause for every replica: pause.<account> or pause.app.<platform>
 * in the accounts bucket, and at once in our own table, so this replica's
 * next job sees it without waiting for the write (nobody waits: a lost
 * write is logged, and the dispatcher holds the account's new posts back
 * from the deferred result). Only a later end is written, so replicas
 * answering the same limit do not shorten it. */
static void record_pause(publisher *p, job_slot *s, ap_pause_scope scope, int64_t until_ms,
                         const char *reason) {
    char key[96], why[160];
    bool app = false;
    if (scope == AP_PAUSE_APP)
        ap_acct_app_pause_key(key, sizeof(key), p->platform->name);
    else
        ap_acct_key(key, sizeof(key), "pause", s->job->account_id);
    int64_t known = ap_accounts_paused_until(p->acc, s->job->account_id, p->platform->name, why,
                                             sizeof(why), &app);
    if (known >= until_ms && (app || scope != AP_PAUSE_APP)) return;
    char *v = ap_acct_pause_value(until_ms, ap_now_ms(), p->cfg->instance, reason);
    if (v == NULL) return;
    ap_status st = engine_kv_publish(p, p->accounts_bucket, key, v, -1, NULL, OP_SHARED_WRITE);
    if (st != AP_OK)
        ap_log_job_warn("pause_record_failed", sid(s), tid(s),
                        "could not share the pause %s: %s (this replica still keeps it, and the "
                        "dispatcher holds the account's new posts back)",
                        key, ap_status_str(st));
    ap_accounts_apply(p->acc, key, v, strlen(v), false, 0);
    ap_log_job_warn("platform_pause", sid(s), tid(s), "%s paused for %lld ms: %s", key,
                    (long long)(until_ms - ap_now_ms()), reason);
    free(v);
}

/* A limit is in the way: the attempt record says "deferred" (this key is
 * done: the schedule continues under the next generation) before the result
 * can make the dispatcher bump the generation, then the job is acked. The
 * record's write is a compare-and-set whose PubAck the slot waits for
 * (DEFERRING, engine_on_defer_done). If it cannot be written, the old way:
 * a retry with the wait as delay. */
static void defer_as_retry(publisher *p, job_slot *s, ap_flow_result *r, int64_t wait_ms) {
    ap_log_job_warn("guard_write_failed", sid(s), tid(s),
                    "attempt record -> deferred not stored; retrying");
    if (r->retry_after_ms < wait_ms) r->retry_after_ms = wait_ms;
    engine_finish_retry(p, s, r, AP_GUARD_RETRY);
}

void engine_finish_deferred(publisher *p, job_slot *s, ap_flow_result *r, int64_t wait_ms,
                            ap_pause_scope scope) {
    int64_t until = ap_now_ms() + wait_ms;
    if (scope != AP_PAUSE_NONE) record_pause(p, s, scope, until, r->error_message);
    ap_guard_record rec = {.state = AP_GUARD_DEFERRED, .attempt = s->attempt, .at_ms = until};
    if (s->guard_rev == 0) {
        defer_as_retry(p, s, r, wait_ms);
        return;
    }
    engine_slot_enter(s, JOB_DEFERRING);
    s->final = *r;
    s->deferral_wait_ms = wait_ms;
    s->deferral_scope = scope;
    if (engine_guard_publish(p, s, &rec, OP_DEFER, (int64_t)s->guard_rev) != AP_OK)
        defer_as_retry(p, s, r, wait_ms);
}

void engine_on_defer_done(publisher *p, job_slot *s, const ap_js_done *d) {
    ap_flow_result r = s->final;
    if (!d->ok) {
        defer_as_retry(p, s, &r, s->deferral_wait_ms);
        return;
    }
    s->guard_rev = d->seq;
    r.pause = s->deferral_scope;
    engine_report(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED, &r, AP_GUARD_NONE, SETTLE_ACK,
                  s->deferral_wait_ms);
}

/* Before any call: a job of a paused account (or app) waits out the pause. */
bool engine_defer_if_paused(publisher *p, job_slot *s) {
    char why[256];
    bool app = false;
    int64_t until = ap_accounts_paused_until(p->acc, s->job->account_id, p->platform->name, why,
                                             sizeof(why), &app);
    int64_t now = ap_now_ms();
    if (until <= now) return false;
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, AP_CLASS_RETRY, 0, app ? "app_paused" : "account_paused",
                 "%s paused by the platform's limit for %lld s more: %s",
                 app ? "the app" : "the account", (long long)((until - now + 999) / 1000), why);
    engine_finish_deferred(p, s, &r, until - now, AP_PAUSE_NONE);
    return true;
}
