/* runtime.c -- the publisher engine: ap_publisher_run, the engine thread's
 * loop, a job's start (decode, validate, claim) and the PubAck events (see
 * runtime.h for the big picture, engine.h for the files; what start-up
 * checks and binds is startup.c).
 *
 * A job's life in one replica:
 *
 *   fetch -> decode (garbage: Term + report) -> validate (invalid: FAILED,
 *   Term, no call) -> claim the attempt record (guard.h) -> open the sealed
 *   credential, take a newer one refreshed by any replica, refuse an account
 *   marked for reauth (accounts.h), refresh the token if it is due
 *   (refresh.h) -> adapter flow over curl multi -> record the outcome in the
 *   guard -> publish PublishResult (wait for its PubAck) -> Ack |
 *   NakWithDelay | Term.
 *
 * A limit (QUOTA, a rate limit with a wait hint, or a pause some replica
 * recorded for the account or the app) ends the job DEFERRED instead of
 * using up an attempt, and a limit the platform just answered pauses the
 * account (or app) in the shared bucket first (deferral.h).
 *
 * A final REAUTH answer marks the account in the shared bucket before the
 * result goes out (once a refresh token has had its one chance), so every
 * replica stops calling the platform for that credential.
 *
 * The result is published before the ack, and the guard is written before
 * the result: a crash anywhere leaves enough behind for the redelivery to
 * finish the job without calling the platform twice. */
#include "engine.h"

/* The attempt record's takeover window (guard.h), for a request the
 * earlier holder sent before the takeover. */
static int64_t takeover_window_ms(const publisher *p) {
    return ap_guard_takeover_window_ms(p->platform->timeout_ms);
}

/* Claims the attempt record and decides how this delivery proceeds. */
static void start_job(publisher *p, natsMsg *msg, ap_lane lane) {
    char why[256];
    jsMsgMetaData *meta = NULL;
    job_slot *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        natsMsg_Destroy(msg); /* unacked: redelivered after AckWait */
        pthread_mutex_lock(&p->mu);
        p->lanes[lane].inflight--;
        pthread_cond_broadcast(&p->room);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    s->msg = msg;
    s->lane = lane;
    p->lanes[lane].active++;
    ap_counter_inc(p->m.started[lane]);
    const char *traceparent = NULL;
    if (natsMsgHeader_Get(msg, AP_HDR_TRACEPARENT, &traceparent) != NATS_OK) traceparent = NULL;
    if (ap_trace_continue(traceparent, &s->trace) == AP_TRACE_FAILED)
        memset(&s->trace, 0, sizeof(s->trace));
    s->next = p->slots;
    if (p->slots) p->slots->prev = s;
    p->slots = s;
    s->active = true;
    p->active++;
    s->started_ms = ap_now_ms();
    s->last_progress_ms = ap_mono_ms();
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        s->attempt = (int)meta->NumDelivered;
        s->stream_seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    } else {
        s->attempt = 1;
    }

    if (ap_job_decode(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &s->job, why,
                      sizeof(why)) != AP_OK) {
        /* Poison: nothing we could ever do with it. Report and drop. */
        p->counts.poison++;
        ap_log_job_error("poison_message", NULL, tid(s),
                         "terminated message %llu on %s (%d bytes, delivery %d): %s",
                         (unsigned long long)s->stream_seq, natsMsg_GetSubject(msg),
                         natsMsg_GetDataLength(msg), s->attempt, why);
        ap_counter_inc(p->m.poison);
        if (natsMsg_Term(msg, NULL) == NATS_OK) ap_counter_inc(p->m.terms);
        engine_slot_release(p, s);
        return;
    }
    ap_job_msg_id(s->key, sizeof(s->key), s->job->schedule_id, s->job->generation);
    s->in.job = s->job;
    s->in.platform = p->platform;

    if (strcmp(s->job->platform, p->platform->name) != 0) {
        snprintf(why, sizeof(why), "job for platform \"%s\" arrived on %s", s->job->platform,
                 natsMsg_GetSubject(msg));
        engine_fail_before_call(p, s, AP_CLASS_INVALID, "wrong_platform", why, false);
        return;
    }
    if (!p->adapter->validate(s->job, why, sizeof(why))) {
        engine_fail_before_call(p, s, AP_CLASS_INVALID, "invalid", why, false);
        return;
    }

    /* Claim the attempt record: create-if-absent, answered as OP_CLAIM. */
    ap_guard_record started = {
        .state = AP_GUARD_STARTED, .attempt = s->attempt, .at_ms = ap_now_ms()};
    s->claim_at_ms = started.at_ms;
    if (engine_guard_publish(p, s, &started, OP_CLAIM, 0) != AP_OK)
        engine_hand_back_guard_unavailable(p, s);
}

/* A claim, or a takeover, is stored: the credential, then the flow. */
static void proceed_after_claim(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since) {
    /* A late job is not deferred for a pause only to expire later. A chain
     * whose post is live neither expires nor defers (chain_steps.c). */
    bool fresh = mode == AP_FLOW_PUBLISH && s->part == 0;
    if (fresh && engine_expire_if_late(p, s)) return;
    if (fresh && engine_defer_if_paused(p, s)) return;
    engine_settle_credential(p, s, mode, since);
}

/* The record says retry or started (rec): re-stamp it as ours with a
 * compare-and-set on the revision read, asynchronously (guard.h, the
 * takeover). Nothing reaches the platform before the PubAck says it is
 * stored (on_takeover_done); a lost compare-and-set or an unreachable
 * bucket hands the job back, as the synchronous write did. */
static void begin_takeover(publisher *p, job_slot *s, const ap_guard_record *rec, ap_flow_mode mode,
                           int64_t since) {
    ap_guard_record next = {.state = AP_GUARD_STARTED,
                            .attempt = s->attempt,
                            .at_ms = mode == AP_FLOW_VERIFY ? since : ap_now_ms()};
    s->pending_mode = mode;
    s->pending_since = since;
    s->claim_at_ms = next.at_ms;
    s->takeover_read_back_at_once = rec->state == AP_GUARD_STARTED && rec->ended;
    s->takeover_from_attempt = rec->attempt;
    engine_slot_enter(s, JOB_TAKING_OVER);
    if (engine_guard_publish(p, s, &next, OP_TAKEOVER, (int64_t)s->guard_rev) != AP_OK) {
        engine_nak_msg(p, s->msg, KV_BUSY_RETRY_MS);
        engine_slot_release(p, s);
    }
}

static void on_takeover_done(publisher *p, job_slot *s, const ap_js_done *d) {
    if (!d->ok) {
        ap_log_job_warn("takeover_failed", sid(s), tid(s),
                        "attempt record not re-stamped: %s (%d); retrying later",
                        natsStatus_GetText(d->status), (int)d->err);
        engine_nak_msg(p, s->msg, KV_BUSY_RETRY_MS);
        engine_slot_release(p, s);
        return;
    }
    s->guard_rev = d->seq;
    s->fence_ok_ms = ap_mono_ms();
    s->fenced_part = s->part;
    if (s->pending_mode == AP_FLOW_VERIFY) {
        /* The fence (guard.h): the earlier holder sends nothing new now,
         * but what it sent before may still land; unless it said its
         * calls were over, read back only after the takeover window. */
        if (!s->takeover_read_back_at_once)
            s->verify_not_before_ms = ap_mono_ms() + takeover_window_ms(p);
        ap_log_job_info("verify_start", sid(s), tid(s),
                        "attempt %d by another run did not finish; reading back %s",
                        s->takeover_from_attempt,
                        s->verify_not_before_ms ? "after the takeover window" : "first");
    }
    proceed_after_claim(p, s, s->pending_mode, s->pending_since);
}

/* The claim's answer decides how this delivery proceeds: g is AP_OK when the
 * record was created by us (revision in rec), AP_ECONFLICT when one was
 * already there (rec holds it), AP_ENATS when the bucket is unreachable. */
static void after_claim(publisher *p, job_slot *s, ap_status g, ap_guard_record rec) {
    if (g == AP_ENATS) {
        engine_hand_back_guard_unavailable(p, s);
        return;
    }
    s->guard_rev = rec.revision;
    ap_flow_mode mode = AP_FLOW_PUBLISH;
    int64_t since = 0;
    if (g == AP_ECONFLICT) {
        ap_flow_result r;
        memset(&r, 0, sizeof(r));
        /* A chain resumes where the record says (chain_steps.c). */
        engine_chain_restore(s, &rec);
        if (s->part > 0)
            ap_log_job_info("chain_resume", sid(s), tid(s), "record says %s at message %d after %s",
                            ap_guard_state_name(rec.state), s->part, rec.chain_ids);
        switch (rec.state) {
        case AP_GUARD_PUBLISHED:
            snprintf(r.external_id, sizeof(r.external_id), "%s", rec.external_id);
            ap_log_job_info("guard_published", sid(s), tid(s), "already published; re-reporting");
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED, &r, false);
            return;
        case AP_GUARD_CANCELLED:
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED, &r, false);
            return;
        case AP_GUARD_EXPIRED:
            snprintf(r.error_code, sizeof(r.error_code), "%s", AP_DEADLINE_CODE);
            snprintf(r.error_message, sizeof(r.error_message), "%s",
                     "an earlier delivery already expired this job: its deadline passed before "
                     "any platform call");
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED, &r, false);
            return;
        case AP_GUARD_FAILED:
            ap_flow_fail(&r, AP_CLASS_PERMANENT, 0, "already_failed",
                         "an earlier attempt already ended this schedule as failed");
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_FAILED, &r, false);
            return;
        case AP_GUARD_UNCONFIRMED:
            ap_flow_fail(&r, AP_CLASS_AMBIGUOUS, 0, "unconfirmed",
                         "an earlier attempt ended unconfirmed");
            engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED, &r, false);
            return;
        case AP_GUARD_DEFERRED: {
            /* Its result may not have landed: say it again. Once folded, the
             * row is at the next generation and this one is history. */
            int64_t left = rec.at_ms - ap_now_ms();
            ap_flow_fail(&r, AP_CLASS_RETRY, 0, "deferred",
                         "an earlier attempt was deferred by a platform limit");
            engine_report(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED, &r, AP_GUARD_NONE,
                          SETTLE_ACK, left > 0 ? left : 0);
            return;
        }
        case AP_GUARD_RETRY:
            /* Nothing of an earlier attempt went live: publish, once our
             * re-stamp is stored. */
            begin_takeover(p, s, &rec, AP_FLOW_PUBLISH, 0);
            return;
        default: /* started / unknown: an attempt died mid-call, or is still alive */
            since = rec.at_ms > 0 ? rec.at_ms : s->started_ms - p->cfg->ack_wait_ms;
            begin_takeover(p, s, &rec, AP_FLOW_VERIFY, since);
            return;
        }
    }

    proceed_after_claim(p, s, mode, since);
}

/* ---- PubAck events ------------------------------------------------------ */

static void on_claim_done(publisher *p, job_slot *s, const ap_js_done *d) {
    ap_guard_record rec;
    memset(&rec, 0, sizeof(rec));
    if (d->ok) {
        rec.revision = d->seq; /* ours: nothing was there before */
        s->fence_ok_ms = ap_mono_ms();
        after_claim(p, s, AP_OK, rec);
        return;
    }
    if (d->err == JSStreamWrongLastSequenceErr) {
        /* A record exists (a redelivery): read what it says, without
         * waiting here (on_record_read). */
        engine_slot_enter(s, JOB_READING_RECORD);
        if (ap_jsasync_kv_get(p->jsa, p->attempts_bucket, s->key, s, OP_READ_RECORD) != AP_OK) {
            after_claim(p, s, AP_ENATS, rec);
            return;
        }
        s->pending_ops++;
        return;
    }
    after_claim(p, s, AP_ENATS, rec);
}

/* The record our claim lost to. Absent after all (expired or purged in
 * between) or unreadable: handed back like an unreachable bucket. */
static void on_record_read(publisher *p, job_slot *s, const ap_js_done *d) {
    ap_guard_record rec;
    memset(&rec, 0, sizeof(rec));
    if (!d->ok || !d->found) {
        after_claim(p, s, AP_ENATS, rec);
        return;
    }
    if (ap_guard_parse(d->value, (size_t)d->value_len, &rec) != 0) rec.state = AP_GUARD_UNKNOWN;
    rec.revision = d->seq;
    after_claim(p, s, AP_ECONFLICT, rec);
}

/* A write nobody waits for (engine_shared_write without a slot). */
static void on_shared_write_done(const ap_js_done *d) {
    if (!d->ok)
        ap_log_warn("shared_write_failed", NULL,
                    "a pause mark or attempt record was not stored: %s (%d)",
                    natsStatus_GetText(d->status), (int)d->err);
}

static void take_events(publisher *p) {
    ap_js_done ev[256];
    int n;
    while ((n = ap_jsasync_take(p->jsa, ev, 256)) > 0) {
        for (int i = 0; i < n; i++) {
            job_slot *s = ev[i].owner;
            if (s == NULL) {
                on_shared_write_done(&ev[i]);
                ap_js_done_clear(&ev[i]);
                continue;
            }
            s->pending_ops--;
            switch (ev[i].tag) {
            case OP_CLAIM: on_claim_done(p, s, &ev[i]); break;
            case OP_READ_RECORD: on_record_read(p, s, &ev[i]); break;
            case OP_TAKEOVER: on_takeover_done(p, s, &ev[i]); break;
            case OP_DEFER: engine_on_defer_done(p, s, &ev[i]); break;
            case OP_FENCE: engine_on_fence_done(p, s, &ev[i]); break;
            case OP_MARK: engine_on_mark_done(p, s, &ev[i]); break;
            case OP_LOCK:
            case OP_READ_LOCK:
            case OP_READ_CRED: engine_on_account_event(p, s, &ev[i]); break;
            case OP_RECORD:
                if (ev[i].ok)
                    s->guard_rev = ev[i].seq;
                else
                    ap_log_job_warn("guard_write_failed", sid(s), tid(s),
                                    "attempt record not updated: %s (%d)",
                                    natsStatus_GetText(ev[i].status), (int)ev[i].err);
                if (s->state == JOB_SETTLING && s->pending_ops == 0) engine_settle(p, s);
                break;
            default: /* OP_RESULT */
                s->result_stored = ev[i].ok;
                if (s->state == JOB_SETTLING && s->pending_ops == 0) engine_settle(p, s);
            }
            ap_js_done_clear(&ev[i]);
        }
    }
}

/* ---- engine ------------------------------------------------------------- */

/* Takes the next held job to start (mu held): the lane rule (lanes.h)
 * picks the lane, and its oldest held job goes. NULL when none may start:
 * no room or nothing held. While stopping, any held job (to hand back). */
static natsMsg *inbox_take(publisher *p, ap_lane *lane) {
    job_lane *u = &p->lanes[AP_LANE_URGENT], *n = &p->lanes[AP_LANE_NORMAL];
    bool u_waiting = u->inbox_head < u->inbox_len, n_waiting = n->inbox_head < n->inbox_len;
    ap_lane pick;
    if (*p->stop)
        pick = u_waiting ? AP_LANE_URGENT : n_waiting ? AP_LANE_NORMAL : AP_LANE_N;
    else if (p->active >= p->platform->concurrency)
        pick = AP_LANE_N;
    else
        pick = ap_lane_pick(p->platform->concurrency, p->cfg->publisher_normal_share, u->active,
                            u_waiting, n_waiting);
    if (pick == AP_LANE_N) return NULL;
    job_lane *l = &p->lanes[pick];
    natsMsg *msg = l->inbox[l->inbox_head++].msg;
    if (l->inbox_head == l->inbox_len) l->inbox_head = l->inbox_len = 0;
    *lane = pick;
    return msg;
}

/* Starts held jobs while fewer than concurrency are active, each lane's
 * oldest first (stream order), urgent ones first up to their cap while
 * normal ones wait (lanes.h); when stopping, hands every held job back. */
static void take_inbox(publisher *p) {
    for (;;) {
        ap_lane lane = AP_LANE_NORMAL;
        pthread_mutex_lock(&p->mu);
        natsMsg *msg = inbox_take(p, &lane);
        pthread_mutex_unlock(&p->mu);
        if (msg == NULL) return;
        if (*p->stop) {
            /* Stopping: hand it straight back to another replica. */
            engine_nak_msg(p, msg, 0);
            natsMsg_Destroy(msg);
            pthread_mutex_lock(&p->mu);
            p->lanes[lane].inflight--;
            pthread_mutex_unlock(&p->mu);
        } else {
            start_job(p, msg, lane);
        }
    }
}

static void reap_transfers(publisher *p) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        job_slot *s = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (s == NULL) continue;
        ap_http_easy_finish(s->easy, m->data.result, &s->res);
        ap_http_response res = s->res; /* engine_advance() clears s->res after the step */
        memset(&s->res, 0, sizeof(s->res));
        if (s->state == JOB_REFRESHING) {
            engine_easy_recycle(p, s->easy);
            s->easy = NULL;
            ap_http_headers_free(s->headers);
            s->headers = NULL;
            ap_http_request_clear(&s->req);
            engine_on_refresh_done(p, s, &res);
        } else {
            engine_advance(p, s, &res);
        }
        ap_http_response_clear(&res);
    }
}

/* Wakes waiting flows and tells JetStream that long calls are still alive. */
static int64_t service_timers(publisher *p) {
    int64_t now = ap_mono_ms(), next = now + ENGINE_TICK_MS;
    int64_t progress_every = p->cfg->ack_wait_ms / 3;
    job_slot *s = p->slots;
    while (s) {
        job_slot *following = s->next; /* engine_advance() may release s */
        if (s->wake_at_ms && s->wake_at_ms <= now) {
            s->wake_at_ms = 0;
            if (s->state == JOB_AWAITING_CREDENTIAL)
                engine_credential_wait_tick(p, s);
            else
                engine_advance(p, s, NULL);
        } else {
            if (s->wake_at_ms && s->wake_at_ms < next) next = s->wake_at_ms;
            if (now - s->last_progress_ms >= progress_every) {
                natsMsg_InProgress(s->msg, NULL);
                s->last_progress_ms = now;
            }
        }
        s = following;
    }
    /* Held jobs wait for at most about one call; still, JetStream must not
     * hand them to another replica (and count a delivery) meanwhile. */
    pthread_mutex_lock(&p->mu);
    for (int l = 0; l < AP_LANE_N; l++) {
        job_lane *lane = &p->lanes[l];
        for (int i = lane->inbox_head; i < lane->inbox_len; i++) {
            if (now - lane->inbox[i].progress_ms >= progress_every) {
                natsMsg_InProgress(lane->inbox[i].msg, NULL);
                lane->inbox[i].progress_ms = now;
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
    return next - now;
}

/* Grace expired: release what is left. A job whose request may have been
 * sent stays unacked (its record says "started", so the redelivery reads
 * back); one that never called out is handed back at once. */
static void abandon_remaining(publisher *p) {
    while (p->slots) {
        job_slot *s = p->slots;
        if (s->state == JOB_SETTLING || (s->pending_ops > 0 && s->state != JOB_FENCING)) {
            ap_log_job_warn("drain_abandoned", sid(s), tid(s),
                            "outcome not yet stored at shutdown; the redelivery re-reports it");
        } else if (s->job && !s->sent_any) {
            /* A token refresh cut off mid-call may have spent the refresh
             * token: say so, so nobody spends it again before the cool-down. */
            if (s->state == JOB_REFRESHING) engine_mark_refresh_ambiguous(p, s);
            engine_guard_write(p, s, AP_GUARD_RETRY, NULL);
            engine_nak_msg(p, s->msg, 0);
        } else {
            ap_log_job_warn("drain_abandoned", sid(s), tid(s),
                            "still in flight at shutdown; redelivery will read back first");
        }
        engine_slot_release(p, s);
    }
}

/* The engine loop is the one /healthz watches; a busy loop turns thousands
 * of times a second, so it reports ten times a second at most. */
static void engine_report_health(publisher *p) {
    int64_t now = ap_mono_ms();
    if (now < p->m.next_health_ms) return;
    p->m.next_health_ms = now + ENGINE_TICK_MS;
    ap_health_beat();
    ap_health_set(AP_CHECK_NATS, natsConnection_Status(p->nats.nc) == NATS_CONN_STATUS_CONNECTED);
    pthread_mutex_lock(&p->mu);
    int inflight = p->lanes[AP_LANE_NORMAL].inflight + p->lanes[AP_LANE_URGENT].inflight;
    pthread_mutex_unlock(&p->mu);
    ap_gauge_set(p->m.in_flight, inflight);
}

/* nats.c thread: PubAck events are ready for the engine. */
static void wake_engine(void *arg) {
    publisher *p = arg;
    curl_multi_wakeup(p->multi);
}

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One turn's work (everything but the wait in curl_multi_poll): its
 * high-water mark is the gauge, so a call that blocked the engine thread
 * (a synchronous request in an outage) shows up however briefly it lasted. */
static void note_loop_turn(publisher *p, int64_t began_us) {
    int64_t took = mono_us() - began_us;
    if (took <= p->m.loop_max_us) return;
    p->m.loop_max_us = took;
    ap_gauge_set(p->m.loop_max_seconds, (double)took / 1e6);
}

static int engine_run(publisher *p) {
    int64_t drain_deadline = 0;
    int64_t last_stats = ap_mono_ms();
    for (;;) {
        int64_t turn_began_us = mono_us();
        engine_report_health(p);
        take_inbox(p);
        uint64_t reconnects = ap_nats_reconnects(&p->nats);
        if (reconnects != p->seen_reconnects) {
            p->seen_reconnects = reconnects;
            ap_jsasync_resend_after_reconnect(p->jsa);
            int reacked = ap_reack_resend(&p->reack, p->nats.nc, ap_mono_ms());
            ap_log_info("nats_resent", NULL,
                        "connection restored: writes awaiting a PubAck sent again, %d recent "
                        "acks repeated",
                        reacked);
        }
        take_events(p);
        int running = 0;
        curl_multi_perform(p->multi, &running);
        reap_transfers(p);
        int64_t wait = service_timers(p);
        take_inbox(p); /* flows that just ended made room for held jobs */

        if (*p->stop) {
            int64_t now = ap_mono_ms();
            if (drain_deadline == 0) {
                drain_deadline = now + p->cfg->publisher_drain_grace_ms;
                ap_log_info("draining", NULL, "stop requested: finishing in-flight jobs");
            }
            pthread_mutex_lock(&p->mu);
            bool idle = p->slots == NULL;
            for (int l = 0; l < AP_LANE_N; l++)
                idle = idle && p->lanes[l].fetch_done &&
                       p->lanes[l].inbox_head == p->lanes[l].inbox_len;
            pthread_mutex_unlock(&p->mu);
            if (idle) break;
            if (now >= drain_deadline) {
                abandon_remaining(p);
                break;
            }
        }
        if (ap_mono_ms() - last_stats >= 10000) {
            last_stats = ap_mono_ms();
            ap_log_info("stats", NULL,
                        "published=%llu retried=%llu failed=%llu unconfirmed=%llu poison=%llu "
                        "loop_max_ms=%.1f",
                        (unsigned long long)p->counts.published,
                        (unsigned long long)p->counts.retried, (unsigned long long)p->counts.failed,
                        (unsigned long long)p->counts.unconfirmed,
                        (unsigned long long)p->counts.poison, (double)p->m.loop_max_us / 1000.0);
        }
        note_loop_turn(p, turn_began_us);
        if (wait < 1) wait = 1;
        curl_multi_poll(p->multi, NULL, 0, (int)(wait > ENGINE_TICK_MS ? ENGINE_TICK_MS : wait),
                        NULL);
    }
    return 0;
}

int ap_publisher_run(const ap_config *cfg, const char *platform, volatile sig_atomic_t *stop) {
    publisher p;
    char err[512];
    int rc = 1;
    bool mutex_ready = false;
    memset(&p, 0, sizeof(p));
    for (int l = 0; l < AP_LANE_N; l++) {
        p.lanes[l].p = &p;
        p.lanes[l].id = (ap_lane)l;
    }
    p.cfg = cfg;
    p.stop = stop;
    p.platform = ap_config_platform(cfg, platform);
    p.adapter = ap_adapter_find(platform);
    p.rng = (unsigned)ap_now_ms() ^ (unsigned)getpid();
    if (p.platform == NULL || p.adapter == NULL) {
        ap_log_error("startup_failed", NULL, "platform %s is not configured", platform);
        return 1;
    }
    p.max_held = p.platform->concurrency + engine_jobs_headroom(p.platform->concurrency);
    /* Without it handles are simply not kept (engine_easy_recycle). */
    p.spare_easy = calloc((size_t)p.platform->concurrency, sizeof(*p.spare_easy));
    engine_metrics_init(&p);
    if (!p.platform->tls_verify)
        ap_log_warn("tls_verify_off", NULL,
                    "TLS certificate verification is OFF for %s: only acceptable for a sandbox",
                    platform);
    if (ap_crypto_keyring_load(&p.keys, cfg, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        return 1;
    }
    if (engine_load_client_secret(&p, err, sizeof(err)) != AP_OK || ap_accounts_new(&p.acc) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        ap_crypto_keyring_wipe(&p.keys);
        return 1;
    }
    p.multi = curl_multi_init();
    if (p.multi == NULL) goto cleanup;
    /* Keep one reusable connection per in-flight call. */
    curl_multi_setopt(p.multi, CURLMOPT_MAXCONNECTS, (long)p.platform->concurrency);
    if (pthread_mutex_init(&p.mu, NULL) != 0 || pthread_cond_init(&p.room, NULL) != 0) goto cleanup;
    mutex_ready = true;

    char client[128];
    snprintf(client, sizeof(client), "autopost-publisher-%s/%s", platform, cfg->instance);
    if (ap_nats_connect(&p.nats, cfg, client, NULL, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    if (ap_js_topology_ready_wait(p.nats.js, cfg, AP_ROLE_PUBLISHER, platform, stop) != AP_OK) {
        rc = 0; /* stopped before NATS ever came up */
        goto cleanup;
    }
    if (engine_subscribe(&p, err, sizeof(err)) != AP_OK) {
        ap_log_error("startup_failed", NULL, "%s", err);
        goto cleanup;
    }
    /* PubAcks must arrive well within AckWait, or the job comes back anyway. */
    if (ap_jsasync_new(&p.jsa, p.nats.nc, cfg->ack_wait_ms / 2, cfg->nats_inbox_prefix, wake_engine,
                       &p) != AP_OK) {
        ap_log_error("startup_failed", NULL, "cannot create the JetStream publish context");
        goto cleanup;
    }
    ap_health_set(AP_CHECK_TOPOLOGY, true);
    ap_log_info("started", NULL, "publishing %s jobs: concurrency %d, max attempts %d, base %s",
                platform, p.platform->concurrency, p.platform->max_attempts, p.platform->base_url);
    for (int l = 0; l < AP_LANE_N; l++) {
        if (pthread_create(&p.lanes[l].fetcher, NULL, engine_fetch_main, &p.lanes[l]) != 0) {
            *stop = 1; /* the other lane's thread, if any, ends too */
            goto cleanup;
        }
        p.lanes[l].fetch_started = true;
    }
    rc = engine_run(&p);
    engine_join_fetchers(&p);
    /* Messages fetched after the engine's last look go straight back. */
    take_inbox(&p);
    ap_log_info("stopped", NULL,
                "published=%llu retried=%llu failed=%llu poison=%llu loop_max_ms=%.1f",
                (unsigned long long)p.counts.published, (unsigned long long)p.counts.retried,
                (unsigned long long)p.counts.failed, (unsigned long long)p.counts.poison,
                (double)p.m.loop_max_us / 1000.0);
cleanup:
    engine_join_fetchers(&p);
    /* Writes still waiting for a PubAck get a moment; their jobs are unacked
     * either way, so nothing is lost if they never answer. */
    ap_jsasync_destroy(p.jsa, 2000);
    /* Destroy, not Unsubscribe: the durable consumer outlives this replica. */
    for (int l = 0; l < AP_LANE_N; l++)
        if (p.lanes[l].sub) natsSubscription_Destroy(p.lanes[l].sub);
    ap_accounts_free(p.acc); /* stops the watcher before its bucket goes */
    if (p.acct_kv) kvStore_Destroy(p.acct_kv);
    if (p.kv) kvStore_Destroy(p.kv);
    if (p.client_secret) {
        explicit_bzero(p.client_secret, strlen(p.client_secret));
        free(p.client_secret);
    }
    ap_nats_close(&p.nats);
    ap_reack_free(&p.reack);
    while (p.spare_len > 0) curl_easy_cleanup(p.spare_easy[--p.spare_len]);
    free(p.spare_easy);
    if (p.multi) curl_multi_cleanup(p.multi);
    if (mutex_ready) {
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.room);
    }
    for (int l = 0; l < AP_LANE_N; l++) free(p.lanes[l].inbox);
    ap_crypto_keyring_wipe(&p.keys);
    return rc;
}
