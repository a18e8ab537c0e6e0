/* slots.c -- a job's slot on the engine thread: curl handles, the
 * adapter flow step by step, the fence before a publish request, and
 * settling the outcome (attempt record, then PublishResult, then
 * ack / nak / term). A duplicate refusal is read back before it is
 * believed (duplicates.c); a limit in the way defers the job (pauses.c).
 * See runtime.c for a job's whole life. */
#include "engine.h"

/* Every nak goes through here so that it is counted. */
natsStatus engine_nak_msg(publisher *p, natsMsg *msg, int64_t delay_ms /* milliseconds */) {
    natsStatus st =
        delay_ms > 0 ? natsMsg_NakWithDelay(msg, delay_ms, NULL) : natsMsg_Nak(msg, NULL);
    if (st == NATS_OK) ap_counter_inc(p->m.naks);
    return st;
}

/* ---- slots -------------------------------------------------------------- */

/* A finished transfer's easy handle, reset (no URL, header list, callback
 * data or credential of the last call stays set) and kept for the next
 * call instead of allocating curl's per-handle state on every call (malloc
 * and free were the publisher's largest own cost in perf). At most
 * concurrency are kept. The multi handle owns the connections either way. */
void engine_easy_recycle(publisher *p, CURL *e) {
    curl_multi_remove_handle(p->multi, e);
    if (p->spare_easy && p->spare_len < p->platform->concurrency) {
        curl_easy_reset(e);
        p->spare_easy[p->spare_len++] = e;
        return;
    }
    curl_easy_cleanup(e);
}

CURL *engine_easy_take(publisher *p) {
    return p->spare_len > 0 ? p->spare_easy[--p->spare_len] : NULL;
}

/* The job no longer counts against concurrency: its flow is over. */
static void slot_deactivate(publisher *p, job_slot *s) {
    if (!s->active) return;
    s->active = false;
    p->active--;
    p->lanes[s->lane].active--;
}

void engine_slot_release(publisher *p, job_slot *s) {
    ap_lane lane = s->lane;
    slot_deactivate(p, s);
    if (s->prev)
        s->prev->next = s->next;
    else if (p->slots == s)
        p->slots = s->next;
    if (s->next) s->next->prev = s->prev;
    if (s->easy) engine_easy_recycle(p, s->easy);
    ap_http_headers_free(s->headers);
    ap_http_request_clear(&s->req);
    ap_http_response_clear(&s->res);
    if (s->flow) s->flow_adapter->flow_free(s->flow);
    ap_credential_wipe(&s->cred);
    free(s->new_sealed);
    ap_job_free(s->job);
    natsMsg_Destroy(s->msg);
    free(s);
    pthread_mutex_lock(&p->mu);
    p->lanes[lane].inflight--;
    pthread_cond_broadcast(&p->room); /* one fetch thread per lane waits on it */
    pthread_mutex_unlock(&p->mu);
}

/* The attempt record cannot be written or read: hand the job back for a
 * little later, without a call. */
void engine_hand_back_guard_unavailable(publisher *p, job_slot *s) {
    ap_log_job_warn("guard_unavailable", sid(s), tid(s),
                    "attempt record unreachable; retrying later");
    engine_nak_msg(p, s->msg, KV_BUSY_RETRY_MS);
    engine_slot_release(p, s);
}

/* Publishes the attempt's PublishResult; its PubAck comes back as an
 * OP_RESULT event and only then is the job settled, so the job is never acked
 * before its outcome is durably on the results stream. */
static ap_status emit_result_async(publisher *p, job_slot *s) {
    const ap_flow_result *r = &s->final;
    ap_result res = AUTOPOST__V1__PUBLISH_RESULT__INIT;
    res.schedule_id = s->job->schedule_id;
    res.generation = s->job->generation;
    res.account_id = s->job->account_id;
    res.platform = (char *)p->platform->name;
    res.outcome = s->outcome;
    res.attempt = (uint32_t)s->attempt;
    res.started_at_ms = s->started_ms;
    res.finished_at_ms = ap_now_ms();
    res.publisher_instance = p->cfg->instance;
    bool deferred = s->outcome == AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED;
    res.retry_after_ms = s->action == SETTLE_NAK || deferred ? s->nak_delay_ms : 0;
    res.pause_scope = deferred ? r->pause : AP_PAUSE_NONE;
    res.external_post_id = (char *)r->external_id;
    res.external_url = (char *)r->external_url;
    res.error_class = r->error_class;
    res.error_code = (char *)r->error_code;
    res.error_message = (char *)r->error_message;
    res.http_status = (int32_t)r->http_status;
    res.credential_issued_at_ms = s->cred.issued_at_ms;
    res.platform_usage = r->platform_usage;
    res.platform_usage_at_ms = r->platform_usage_at_ms;
    char ids_buf[AP_GUARD_CHAIN_IDS_LEN], *part_ids[AP_GUARD_CHAIN_IDS_LEN / 2];
    res.n_part_external_ids = engine_chain_result_ids(s, ids_buf, sizeof(ids_buf), part_ids,
                                                      sizeof(part_ids) / sizeof(part_ids[0]));
    res.part_external_ids = res.n_part_external_ids ? part_ids : NULL;
    if (s->new_sealed) {
        res.refreshed_credential.data = s->new_sealed;
        res.refreshed_credential.len = s->new_sealed_len;
    }
    natsMsg *m = NULL;
    if (ap_result_to_msg(&res, &m) != AP_OK) return AP_ENOMEM;
    if (tid(s)[0] && ap_msg_set_trace(m, &s->trace) != AP_OK) {
        natsMsg_Destroy(m);
        return AP_ENOMEM;
    }
    ap_status st = ap_jsasync_publish(p->jsa, m, s, OP_RESULT, -1);
    if (st == AP_OK) s->pending_ops++;
    return st;
}

/* An asynchronous write of the attempt record (guard.h), answered as tag. */
ap_status engine_guard_publish(publisher *p, job_slot *s, const ap_guard_record *rec, int tag,
                               int64_t expected_revision) {
    natsMsg *m = NULL;
    ap_guard_record stamped = *rec;
    engine_chain_stamp(s, &stamped);
    ap_status st = ap_guard_message(&m, p->attempts_bucket, s->key, &stamped, p->cfg->instance);
    if (st != AP_OK) return st;
    st = ap_jsasync_publish(p->jsa, m, s, tag, expected_revision);
    if (st == AP_OK) s->pending_ops++;
    return st;
}

/* The record written as the slot goes (abandoned at shutdown, out of
 * memory before a call): a compare-and-set on our revision whose PubAck
 * nobody waits for. If it is lost, the redelivery finds "started" and reads
 * back (after the takeover window): slower, never a second post. */
void engine_guard_write(publisher *p, job_slot *s, ap_guard_state state, const char *external_id) {
    ap_guard_record rec = {.state = state, .attempt = s->attempt, .at_ms = ap_now_ms()};
    if (external_id) snprintf(rec.external_id, sizeof(rec.external_id), "%s", external_id);
    engine_chain_stamp(s, &rec);
    natsMsg *m = NULL;
    ap_status st = ap_guard_message(&m, p->attempts_bucket, s->key, &rec, p->cfg->instance);
    if (st == AP_OK)
        st = ap_jsasync_publish(p->jsa, m, NULL, OP_SHARED_WRITE, (int64_t)s->guard_rev);
    if (st != AP_OK)
        ap_log_job_warn("guard_write_failed", sid(s), tid(s), "attempt record -> %s: %s",
                        ap_guard_state_name(state), ap_status_str(st));
}

/* A write of key in bucket as a publish on $KV.<bucket>.<key>: value, or a
 * delete marker when value is NULL; expected is the key's revision for a
 * compare-and-set (0: must not exist, -1: none). Answered as (owner, tag)
 * when owner is a slot (counted in its pending_ops, and in marks_pending
 * for OP_MARK: engine_on_mark_done); with no owner nobody waits and a
 * failure is only logged (tag OP_SHARED_WRITE). */
ap_status engine_kv_publish(publisher *p, const char *bucket, const char *key, const char *value,
                            int64_t expected, job_slot *owner, int tag) {
    char subject[AP_KV_BUCKET_LEN + 128];
    int n = snprintf(subject, sizeof(subject), "$KV.%s.%s", bucket, key);
    if (n < 0 || (size_t)n >= sizeof(subject)) return AP_EINVAL;
    natsMsg *m = NULL;
    if (natsMsg_Create(&m, subject, NULL, value, value ? (int)strlen(value) : 0) != NATS_OK)
        return AP_ENOMEM;
    if (value == NULL && natsMsgHeader_Set(m, "KV-Operation", "DEL") != NATS_OK) {
        natsMsg_Destroy(m);
        return AP_ENOMEM;
    }
    if (owner == NULL) tag = OP_SHARED_WRITE;
    ap_status st = ap_jsasync_publish(p->jsa, m, owner, tag, expected);
    if (st == AP_OK && owner) {
        owner->pending_ops++;
        if (tag == OP_MARK) owner->marks_pending++;
    }
    return st;
}

/* Both writes are stored (or failed): hand the job back and say so. */
void engine_settle(publisher *p, job_slot *s) {
    const ap_flow_result *r = &s->final;
    if (!s->result_stored) {
        ap_log_job_error("result_publish_failed", sid(s), tid(s),
                         "could not store the %s result; the job will be redelivered and its "
                         "attempt record completes it",
                         ap_outcome_name(s->outcome));
        engine_slot_release(p, s); /* no ack: the redelivery re-reports */
        return;
    }
    if (s->outcome >= 0 && s->outcome <= AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED)
        ap_counter_inc(p->m.outcomes[s->outcome]);
    natsStatus st;
    switch (s->action) {
    case SETTLE_ACK:
        st = natsMsg_Ack(s->msg, NULL);
        if (st == NATS_OK) ap_counter_inc(p->m.acks);
        ap_reack_note(&p->reack, s->msg, false, ap_mono_ms());
        break;
    case SETTLE_TERM:
        st = natsMsg_Term(s->msg, NULL);
        if (st == NATS_OK) ap_counter_inc(p->m.terms);
        ap_reack_note(&p->reack, s->msg, true, ap_mono_ms());
        break;
    default:
        st = engine_nak_msg(p, s->msg, s->nak_delay_ms);
        if (st == NATS_OK && r->retry_after_ms > 0) ap_counter_inc(p->m.rate_limit_waits);
    }
    if (st != NATS_OK)
        ap_log_job_warn("ack_failed", sid(s), tid(s), "ack/nak/term: %s (redelivery is harmless)",
                        natsStatus_GetText(st));
    switch (s->outcome) {
    case AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED:
        p->counts.published++;
        ap_log_job_info("job_published", sid(s), tid(s), "published as %s (attempt %d)",
                        r->external_id, s->attempt);
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING:
        p->counts.retried++;
        ap_log_job_info("job_retrying", sid(s), tid(s), "%s: %s; attempt %d, next in %lld ms",
                        ap_error_class_name(r->error_class), r->error_message, s->attempt,
                        (long long)s->nak_delay_ms);
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED:
        p->counts.unconfirmed++;
        ap_log_job_warn("job_unconfirmed", sid(s), tid(s), "%s", r->error_message);
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED:
        ap_log_job_info("job_cancelled", sid(s), tid(s), "cancelled before any platform call");
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED:
        ap_log_info("job_expired", sid(s), "%s", r->error_message);
        break;
    case AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED:
        p->counts.deferred++;
        ap_counter_inc(p->m.rate_limit_waits);
        ap_log_job_info("job_deferred", sid(s), tid(s),
                        "%s; back to pending for %lld ms (attempt %d kept)", r->error_message,
                        (long long)s->nak_delay_ms, s->attempt);
        break;
    default:
        p->counts.failed++;
        ap_log_job_warn("job_failed", sid(s), tid(s), "%s: %s (attempt %d)",
                        ap_error_class_name(r->error_class), r->error_message, s->attempt);
    }
    engine_slot_release(p, s);
}

/* The one way a slot changes phase (job_state.h). A refused move is a bug
 * in the engine: logged, and the slot keeps its phase. */
void engine_slot_enter(job_slot *s, job_state to) {
    job_state from = s->state;
    if (!job_state_enter(&s->state, to))
        ap_log_job_error("job_state_invalid", sid(s), tid(s), "refused move %s -> %s",
                         job_state_name(from), job_state_name(to));
}

/* Reports an outcome: the attempt record (when `record` is not NONE) and the
 * result are written together; engine_settle() runs when both PubAcks are back.
 * Either order of landing is safe: a redelivery that finds the record
 * re-reports from it, one that finds only "started" reads the platform back. */
void engine_report(publisher *p, job_slot *s, Autopost__V1__Outcome outcome,
                   const ap_flow_result *r, ap_guard_state record, settle_action action,
                   int64_t nak_delay_ms) {
    engine_slot_enter(s, JOB_SETTLING);
    slot_deactivate(p, s); /* the next held job may start while this one stores */
    s->outcome = outcome;
    s->action = action;
    s->nak_delay_ms = nak_delay_ms;
    if (r)
        s->final = *r;
    else
        memset(&s->final, 0, sizeof(s->final));
    if (record != AP_GUARD_NONE && s->guard_rev > 0) {
        ap_guard_record rec = {.state = record, .attempt = s->attempt, .at_ms = ap_now_ms()};
        if (record == AP_GUARD_STARTED) { /* a retry after an unclear answer */
            rec.at_ms = s->claim_at_ms;   /* the read-back looks from there */
            rec.ended = true;             /* no call of ours is in flight */
        }
        snprintf(rec.external_id, sizeof(rec.external_id), "%s", s->final.external_id);
        if (engine_guard_publish(p, s, &rec, OP_RECORD, (int64_t)s->guard_rev) != AP_OK)
            ap_log_job_warn("guard_write_failed", sid(s), tid(s), "attempt record -> %s not sent",
                            ap_guard_state_name(record));
    }
    /* A reauth mark is stored before the result makes the dispatcher fail
     * the account's other schedules (credentials.c). */
    if (s->marks_pending > 0)
        s->result_waits_for_marks = true;
    else if (emit_result_async(p, s) != AP_OK)
        s->result_stored = false;
    if (s->pending_ops == 0) engine_settle(p, s);
}

void engine_on_mark_done(publisher *p, job_slot *s, const ap_js_done *d) {
    s->marks_pending--;
    if (!d->ok)
        ap_log_job_warn("reauth_mark_failed", sid(s), tid(s),
                        "could not share the reauth mark of account %s: %s (%d) (the dispatcher "
                        "still marks the account)",
                        s->job->account_id, natsStatus_GetText(d->status), (int)d->err);
    if (s->result_waits_for_marks && s->marks_pending == 0) {
        s->result_waits_for_marks = false;
        if (emit_result_async(p, s) != AP_OK) s->result_stored = false;
    }
    if (s->state == JOB_SETTLING && s->pending_ops == 0) engine_settle(p, s);
}

/* Terminal outcome: record, report, then Ack (published/cancelled) or Term
 * (failed, unconfirmed, expired). */
void engine_finish_terminal(publisher *p, job_slot *s, Autopost__V1__Outcome outcome,
                            const ap_flow_result *r, bool write_guard) {
    ap_flow_result chained;
    if (s->part > 0 && r) {
        chained = *r;
        engine_chain_terminal(s, &outcome, &chained);
        r = &chained;
    }
    ap_guard_state g = AP_GUARD_NONE;
    if (write_guard)
        g = outcome == AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED     ? AP_GUARD_PUBLISHED
            : outcome == AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED ? AP_GUARD_UNCONFIRMED
            : outcome == AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED     ? AP_GUARD_EXPIRED
                                                                    : AP_GUARD_FAILED;
    bool ack = outcome == AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED ||
               outcome == AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED;
    engine_report(p, s, outcome, r, g, ack ? SETTLE_ACK : SETTLE_TERM, 0);
}

/* Retryable outcome: report RETRYING and hand the job back with a delay.
 * record: RETRY when nothing went live; STARTED (written "ended") after a
 * flow whose last answer was unclear, so the next delivery reads back at
 * once; NONE leaves the record as it is. */
void engine_finish_retry(publisher *p, job_slot *s, const ap_flow_result *r,
                         ap_guard_state record) {
    const ap_platform_config *pc = p->platform;
    int64_t delay = ap_retry_delay_ms(s->attempt, pc->backoff_base_ms, pc->backoff_max_ms,
                                      r->retry_after_ms, engine_rand01(p));
    engine_report(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING, r, record, SETTLE_NAK, delay);
}

bool engine_expire_if_late(publisher *p, job_slot *s) {
    int64_t now = ap_now_ms();
    /* Only a publish flow gets here; sent_any: this delivery already sent a
     * request (a reauth answer's second try), so the post may be live. A
     * record that said "started" never makes a publish flow (VERIFY). */
    if (ap_deadline_decide(s->job->deadline_ms, now, s->sent_any) != AP_DEADLINE_EXPIRE)
        return false;
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    snprintf(r.error_code, sizeof(r.error_code), "%s", AP_DEADLINE_CODE);
    ap_deadline_reason(r.error_message, sizeof(r.error_message), s->job->deadline_ms, now,
                       "the publisher");
    engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED, &r, true);
    return true;
}

/* Starts a flow whose first step runs after delay_ms (0: at once). */
void engine_start_flow_after(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since_ms,
                             int64_t delay_ms) {
    engine_slot_enter(s, JOB_CALLING);
    if (s->flow) s->flow_adapter->flow_free(s->flow);
    s->flow = NULL;
    s->in.mode = mode;
    engine_chain_input(s);
    s->flow_adapter = engine_chain_adapter(p, s);
    /* A publish flow that finds its own container published looks for the
     * post among those made since this attempt began. */
    s->in.since_ms = mode == AP_FLOW_PUBLISH && since_ms <= 0 ? s->started_ms : since_ms;
    s->flow = s->flow_adapter->flow_new(&s->in);
    if (s->flow == NULL) {
        /* Out of memory before any call: hand it back untouched. */
        engine_guard_write(p, s, AP_GUARD_RETRY, NULL);
        engine_nak_msg(p, s->msg, 1000);
        engine_slot_release(p, s);
        return;
    }
    if (delay_ms > 0)
        s->wake_at_ms = ap_mono_ms() + delay_ms;
    else
        engine_advance(p, s, NULL);
}

static void start_flow(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since_ms) {
    engine_start_flow_after(p, s, mode, since_ms, 0);
}

void engine_complete(publisher *p, job_slot *s, ap_flow_result *r) {
    bool out_of_attempts = s->attempt >= p->platform->max_attempts;
    if (s->in.mode == AP_FLOW_VERIFY && s->duplicate_check) {
        if (engine_settle_duplicate(p, s, r)) return;
    } else if (s->in.mode == AP_FLOW_VERIFY) {
        if (r->error_class == AP_CLASS_NONE) {
            p->counts.verified++;
            ap_log_job_info("verify_found", sid(s), tid(s), "an earlier attempt did publish: %s",
                            r->external_id);
            engine_chain_published(p, s, r);
            return;
        }
        if (r->not_found && s->final_check) {
            /* Checked after the last attempt: the platform has no such post,
             * so nothing went live and the post can fail with the answer
             * that made the attempt ambiguous. */
            ap_flow_result last = s->last_ambiguous;
            last.error_class = AP_CLASS_RETRY;
            size_t n = strlen(last.error_message);
            snprintf(last.error_message + n, sizeof(last.error_message) - n, "%s",
                     "; read back afterwards: not on the platform, nothing was posted");
            ap_log_job_info("verify_not_found", sid(s), tid(s),
                            "last attempt left no post; failing");
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &last, true);
            return;
        }
        if (r->not_found) {
            ap_log_job_info("verify_not_found", sid(s), tid(s),
                            "earlier attempt left no post; publishing");
            start_flow(p, s, AP_FLOW_PUBLISH, 0);
            return;
        }
        if (s->final_check) *r = s->last_ambiguous; /* could not tell: keep the cause */
        r->error_class = AP_CLASS_AMBIGUOUS;        /* could not tell */
    }
    if (s->in.mode == AP_FLOW_PUBLISH && r->error_class == AP_CLASS_DUPLICATE &&
        engine_begin_duplicate_check(p, s, r))
        return;
    if (r->error_class == AP_CLASS_REAUTH) {
        /* A 401 proves the post was not made: with a refresh token, one
         * refresh and one more try of the same flow. */
        if (!s->refresh_tried && ap_refresh_possible(p->platform, &s->cred)) {
            ap_log_job_info("reauth_refresh", sid(s), tid(s),
                            "platform refused the access token (%s); "
                            "refreshing it once",
                            r->error_message);
            engine_begin_refresh(p, s, true);
            return;
        }
        engine_mark_reauth(p, s, r->error_message);
    }
    ap_deferral d;
    /* Mid-chain a limit is a retry of the part (chain_steps.c). */
    if (s->in.mode == AP_FLOW_PUBLISH && s->part == 0 &&
        ap_deferral_decide(r, p->platform->quota_wait_ms, &d)) {
        engine_finish_deferred(p, s, r, d.wait_ms, d.scope);
        return;
    }
    switch (r->error_class) {
    case AP_CLASS_NONE: engine_chain_published(p, s, r); break;
    case AP_CLASS_RETRY:
    case AP_CLASS_QUOTA:
        if (out_of_attempts)
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, r, true);
        else
            engine_finish_retry(p, s, r, AP_GUARD_RETRY);
        break;
    case AP_CLASS_AMBIGUOUS:
        /* The record stays "started" (marked ended): the next delivery reads back first. */
        if (out_of_attempts && s->in.mode == AP_FLOW_PUBLISH && !s->final_check) {
            /* No delivery is left to read back: do it now, after a pause
             * that lets the platform show a post it did create. */
            s->final_check = true;
            s->last_ambiguous = *r;
            engine_start_flow_after(p, s, AP_FLOW_VERIFY, s->started_ms - 1000,
                                    FINAL_CHECK_DELAY_MS);
        } else if (out_of_attempts) {
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED, r, true);
        } else {
            engine_finish_retry(p, s, r, AP_GUARD_STARTED);
        }
        break;
    default: engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, r, true);
    }
}

/* Sends the prepared request. */
static void send_prepared(publisher *p, job_slot *s) {
    if (curl_multi_add_handle(p->multi, s->easy) != CURLM_OK) {
        ap_flow_result r;
        memset(&r, 0, sizeof(r));
        ap_flow_fail(&r, AP_CLASS_RETRY, 0, "internal", "could not start the HTTP call");
        engine_complete(p, s, &r);
        return;
    }
    s->sent_any = true;
}

/* A request that may create a post re-checks the record first unless we
 * wrote it within FENCE_FRESH_MS (guard.h): after a takeover it must not go. */
static bool needs_fence(const job_slot *s) {
    return s->in.mode == AP_FLOW_PUBLISH &&
           (s->req.method == NULL || strcmp(s->req.method, "GET") != 0) &&
           (ap_mono_ms() - s->fence_ok_ms > FENCE_FRESH_MS || s->fenced_part != s->part);
}

/* Re-writes our "started" record with a compare-and-set on our revision;
 * engine_on_fence_done() sends the prepared request or stops. */
static void fence_check(publisher *p, job_slot *s) {
    ap_guard_record rec = {
        .state = AP_GUARD_STARTED, .attempt = s->attempt, .at_ms = s->claim_at_ms};
    if (engine_guard_publish(p, s, &rec, OP_FENCE, (int64_t)s->guard_rev) != AP_OK) {
        engine_hand_back_guard_unavailable(p, s);
        return;
    }
    engine_slot_enter(s, JOB_FENCING);
}

void engine_on_fence_done(publisher *p, job_slot *s, const ap_js_done *d) {
    engine_slot_enter(s, JOB_CALLING);
    if (d->ok) {
        s->guard_rev = d->seq;
        s->fence_ok_ms = ap_mono_ms();
        s->fenced_part = s->part; /* the record names this part in flight now */
        send_prepared(p, s);
        return;
    }
    if (d->err == JSStreamWrongLastSequenceErr) {
        /* Another delivery owns the job now and reports its outcome: this
         * one sends nothing and is dropped, neither acked nor naked. */
        ap_log_job_warn("fenced_off", sid(s), tid(s),
                        "another delivery took this job over; this one stops before its call");
        engine_slot_release(p, s);
        return;
    }
    engine_hand_back_guard_unavailable(p, s);
}

void engine_advance(publisher *p, job_slot *s, const ap_http_response *prev) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    int64_t wait_ms = 0;
    ap_http_request_clear(&s->req);
    ap_step_kind k = s->flow_adapter->step(s->flow, &s->in, prev, &s->req, &wait_ms, &r);
    if (r.note_event[0]) ap_log_job_info(r.note_event, sid(s), tid(s), "%s", r.note);
    if (prev && s->easy) {
        /* A call that led to a further step counts as ok; the one that ended
         * the flow carries its error class. */
        curl_off_t us = 0;
        int cls = k == AP_STEP_DONE ? (int)r.error_class : AP_CLASS_NONE;
        if (cls < AP_CLASS_NONE || cls > AP_CLASS_INVALID) cls = AP_CLASS_RETRY;
        if (curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK)
            ap_histogram_observe(p->m.call_seconds[cls], (double)us / 1e6);
    }
    if (s->easy) { /* the previous transfer is fully consumed now */
        engine_easy_recycle(p, s->easy);
        s->easy = NULL;
        ap_http_headers_free(s->headers);
        s->headers = NULL;
    }
    ap_http_response_clear(&s->res);
    switch (k) {
    case AP_STEP_REQUEST:
        s->easy = ap_http_easy_new(engine_easy_take(p), &s->req, p->platform,
                                   p->cfg->publisher_media_allow_private, &s->res, &s->headers);
        if (s->easy == NULL || curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK) {
            ap_flow_fail(&r, AP_CLASS_RETRY, 0, "internal", "could not start the HTTP call");
            engine_complete(p, s, &r);
            return;
        }
        if (needs_fence(s)) {
            fence_check(p, s);
            return;
        }
        send_prepared(p, s);
        break;
    case AP_STEP_WAIT: s->wake_at_ms = ap_mono_ms() + (wait_ms > 0 ? wait_ms : 0); break;
    case AP_STEP_DONE: engine_complete(p, s, &r); break;
    }
}

void engine_fail_before_call(publisher *p, job_slot *s, ap_error_class cls, const char *code,
                             const char *message, bool write_guard) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, cls, 0, code, "%s", message);
    engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &r, write_guard);
}

/* ---- credentials ----------------------------------------------------------- */
