/* credentials.c -- the credential a job's flow uses: the sealed one from
 * the job, a newer one some replica refreshed (accounts.h), the refresh
 * itself under a shared lock (refresh.h), and the reauth mark that stops
 * every replica calling the platform with a refused credential. */
#include "engine.h"

static void acct_kv_key(char *buf, size_t len, const char *kind, const job_slot *s) {
    ap_acct_key(buf, len, kind, s->job->account_id);
}

/* Marks the credential in use as refused, for every replica (the bucket)
 * and at once for this one (the local table). The mark must be stored
 * before the result makes the dispatcher fail the account's other
 * schedules: the write is the slot's (OP_MARK), and engine_report() holds
 * the result back until its PubAck is in (engine_on_mark_done), without
 * holding up any other job. */
void engine_mark_reauth(publisher *p, job_slot *s, const char *reason) {
    char key[96];
    acct_kv_key(key, sizeof(key), "reauth", s);
    char *v = ap_acct_reauth_value(s->cred_digest, s->cred.issued_at_ms, ap_now_ms(),
                                   p->cfg->instance, reason && *reason ? reason : "reauth");
    if (v == NULL) return;
    ap_status st = engine_kv_publish(p, p->accounts_bucket, key, v, -1, s, OP_MARK);
    if (st != AP_OK)
        ap_log_job_warn("reauth_mark_failed", sid(s), tid(s),
                        "could not share the reauth mark of account %s: %s (the dispatcher still "
                        "marks the account)",
                        s->job->account_id, ap_status_str(st));
    ap_accounts_apply(p->acc, key, v, strlen(v), false, 0);
    ap_log_job_warn("account_reauth", sid(s), tid(s), "account %s needs reconnection: %s",
                    s->job->account_id, reason);
    free(v);
}

/* A failure before the flow: retryable unless attempts are used up. A
 * pending read-back (VERIFY) keeps its "started" record, and never ends
 * FAILED: the earlier attempt may be live. */
static void credential_retry(publisher *p, job_slot *s, const char *code, const char *msg,
                             int64_t hint_ms) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, AP_CLASS_RETRY, 0, code, "%s", msg);
    r.retry_after_ms = hint_ms;
    bool verify = s->pending_mode == AP_FLOW_VERIFY;
    if (s->attempt >= p->platform->max_attempts)
        engine_finish_terminal(p, s,
                               verify ? AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED
                                      : AUTOPOST__V1__OUTCOME__OUTCOME_FAILED,
                               &r, true);
    else
        engine_finish_retry(p, s, &r, verify ? AP_GUARD_NONE : AP_GUARD_RETRY);
}

/* The refresh lock's timing, from the token call's own timeout: a holder
 * that has not finished after twice that is dead. */
static int64_t lock_stale_ms(const publisher *p) { return 2 * p->platform->timeout_ms + 5000; }
static int64_t ambiguous_cooldown_ms(const publisher *p) { return 2 * lock_stale_ms(p); }

static void start_with_credential(publisher *p, job_slot *s) {
    s->in.token = s->cred.access_token;
    /* Right before the first request (a refresh may have taken a while). */
    if (s->pending_mode == AP_FLOW_PUBLISH && engine_expire_if_late(p, s)) return;
    int64_t wait = s->verify_not_before_ms - ap_mono_ms();
    engine_start_flow_after(p, s, s->pending_mode, s->pending_since, wait > 0 ? wait : 0);
}

/* Replaces the slot's credential with a sealed one newer than it (taking
 * ownership of sealed). Returns false (and frees sealed) if it does not open. */
static bool adopt_sealed(publisher *p, job_slot *s, uint8_t *sealed, size_t len) {
    ap_credential c;
    if (ap_credential_open(&p->keys, p->platform->name, s->job->account_id, sealed, len, &c) !=
            AP_OK ||
        c.issued_at_ms <= s->cred.issued_at_ms) {
        ap_credential_wipe(&c);
        free(sealed);
        return false;
    }
    ap_credential_wipe(&s->cred);
    s->cred = c;
    ap_crypto_digest_hex(sealed, len, s->cred_digest);
    free(s->new_sealed);
    s->new_sealed = sealed;
    s->new_sealed_len = len;
    return true;
}

/* Takes the newest shared credential if it beats ours. */
static void adopt_shared(publisher *p, job_slot *s, ap_acct_view *v) {
    if (v->cred == NULL) return;
    uint8_t *blob = v->cred;
    v->cred = NULL;
    adopt_sealed(p, s, blob, v->cred_len);
}

/* The credential is settled (or being waited for): refuse a marked one,
 * refresh a due one, else start the flow. */
static void proceed_with_credential(publisher *p, job_slot *s, const ap_acct_view *v) {
    if (ap_acct_blocked(v, s->cred_digest, s->cred.issued_at_ms)) {
        char why[700];
        snprintf(why, sizeof(why),
                 "the account needs to be reconnected (`autopostctl accounts set-credential`): %s",
                 v->reauth_reason);
        engine_fail_before_call(p, s, AP_CLASS_REAUTH, "account_reauth_required", why, true);
        return;
    }
    if (!s->refresh_tried && ap_refresh_due(p->platform, &s->cred, ap_now_ms())) {
        engine_begin_refresh(p, s, false);
        return;
    }
    start_with_credential(p, s);
}

/* Opens the job's credential, then proceeds. */
void engine_settle_credential(publisher *p, job_slot *s, ap_flow_mode mode, int64_t since) {
    const ProtobufCBinaryData *sc = &s->job->sealed_credential;
    engine_slot_enter(s, JOB_PREPARING);
    s->pending_mode = mode;
    s->pending_since = since;
    if (ap_credential_open(&p->keys, p->platform->name, s->job->account_id, sc->data, sc->len,
                           &s->cred) != AP_OK) {
        /* Most likely this replica lacks a key (a rotation without
         * previous_key_files), not the account's fault: the job fails but
         * the account is not marked (the dispatcher skips code "credential"). */
        engine_fail_before_call(
            p, s, AP_CLASS_REAUTH, "credential",
            "the account's credential cannot be opened with the configured keys "
            "(wrong key or corrupted); check credentials.previous_key_files, or "
            "reconnect the account",
            true);
        return;
    }
    ap_crypto_digest_hex(sc->data, sc->len, s->cred_digest);
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, s->cred.issued_at_ms, &v);
    adopt_shared(p, s, &v);
    proceed_with_credential(p, s, &v);
    ap_acct_view_clear(&v);
}

/* Refresh not possible now: go on with the old access token while it is
 * still valid (and was not just refused), else hand the job back. */
static void refresh_unavailable(publisher *p, job_slot *s, const char *code, const char *msg,
                                int64_t hint_ms) {
    if (!s->after_reauth && !ap_refresh_credential_expired(&s->cred, ap_now_ms())) {
        ap_log_job_info("refresh_skipped", sid(s), tid(s),
                        "%s; the current access token is still valid", msg);
        start_with_credential(p, s);
        return;
    }
    credential_retry(p, s, code, msg, hint_ms);
}

static void wait_for_credential(publisher *p, job_slot *s) {
    int64_t now = ap_mono_ms();
    if (s->state != JOB_AWAITING_CREDENTIAL) s->cred_wait_deadline = now + lock_stale_ms(p) + 5000;
    engine_slot_enter(s, JOB_AWAITING_CREDENTIAL);
    s->wake_at_ms = now + CRED_WAIT_POLL_MS;
}

/* A waiting job looks at the local table again. */
void engine_credential_wait_tick(publisher *p, job_slot *s) {
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, s->cred.issued_at_ms, &v);
    if (v.cred) {
        engine_slot_enter(s, JOB_PREPARING);
        adopt_shared(p, s, &v);
        ap_log_job_info("token_shared", sid(s), tid(s),
                        "using the access token another replica refreshed");
        /* A fresh credential is used as it is: no second refresh. */
        s->refresh_tried = true;
        proceed_with_credential(p, s, &v);
    } else if (ap_acct_blocked(&v, s->cred_digest, s->cred.issued_at_ms)) {
        engine_slot_enter(s, JOB_PREPARING);
        proceed_with_credential(p, s, &v); /* fails it as REAUTH */
    } else if (!v.lock.present || v.lock.ambiguous) {
        engine_slot_enter(s, JOB_PREPARING);
        refresh_unavailable(p, s, "token_refresh",
                            v.lock.ambiguous ? "another replica's token refresh got no answer"
                                             : "another replica's token refresh did not complete",
                            v.lock.ambiguous ? ambiguous_cooldown_ms(p) : 0);
    } else if (ap_mono_ms() >= s->cred_wait_deadline) {
        engine_slot_enter(s, JOB_PREPARING);
        credential_retry(p, s, "token_refresh",
                         "timed out waiting for another replica's token refresh", 0);
    } else {
        s->wake_at_ms = ap_mono_ms() + CRED_WAIT_POLL_MS;
    }
    ap_acct_view_clear(&v);
}

/* Our refresh lock goes: a delete marker nobody waits for (a lost one goes
 * stale on its own), and at once out of our table. */
static void release_lock(publisher *p, job_slot *s) {
    char key[96];
    acct_kv_key(key, sizeof(key), "refresh", s);
    ap_status st = engine_kv_publish(p, p->accounts_bucket, key, NULL, -1, NULL, OP_SHARED_WRITE);
    if (st != AP_OK)
        ap_log_job_warn("refresh_unlock_failed", sid(s), tid(s),
                        "refresh lock not released: %s (it goes stale on its own)",
                        ap_status_str(st));
    ap_accounts_apply(p->acc, key, NULL, 0, true, s->lock_rev + 1);
    s->lock_rev = 0;
}

static void send_refresh(publisher *p, job_slot *s) {
    ap_http_request_clear(&s->req);
    if (ap_refresh_request(&s->req, p->platform, p->client_secret, s->cred.refresh_token) !=
            AP_OK ||
        (s->easy = ap_http_easy_new(engine_easy_take(p), &s->req, p->platform,
                                    p->cfg->publisher_media_allow_private, &s->res, &s->headers)) ==
            NULL ||
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK ||
        curl_multi_add_handle(p->multi, s->easy) != CURLM_OK) {
        release_lock(p, s);
        refresh_unavailable(p, s, "internal", "could not start the token refresh call", 0);
        return;
    }
    engine_slot_enter(s, JOB_REFRESHING);
    ap_log_job_info("token_refresh", sid(s), tid(s), "refreshing the access token of account %s",
                    s->job->account_id);
}

/* Reads one key of the accounts bucket from the server, answered as tag
 * (engine_on_account_event): the slot waits in READING_ACCOUNT. */
static bool read_account_key(publisher *p, job_slot *s, const char *kind, int tag) {
    char key[96];
    acct_kv_key(key, sizeof(key), kind, s);
    if (ap_jsasync_kv_get(p->jsa, p->accounts_bucket, key, s, tag) != AP_OK) return false;
    s->pending_ops++;
    engine_slot_enter(s, JOB_READING_ACCOUNT);
    return true;
}

/* A read's answer into the table, as the watcher would have brought it. */
static void apply_read(publisher *p, job_slot *s, const char *kind, const ap_js_done *d) {
    char key[96];
    acct_kv_key(key, sizeof(key), kind, s);
    if (d->found) ap_accounts_apply(p->acc, key, d->value, (size_t)d->value_len, false, d->seq);
}

/* We hold the lock: the refresh may already have happened elsewhere (our
 * table lagging behind the bucket), so read the shared credential from the
 * server before spending the single-use refresh token (on_credential_read). */
static void refresh_locked(publisher *p, job_slot *s) {
    if (read_account_key(p, s, "cred", OP_READ_CRED)) return;
    release_lock(p, s);
    refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
}

static void on_credential_read(publisher *p, job_slot *s, const ap_js_done *d) {
    if (!d->ok) {
        release_lock(p, s);
        refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
        return;
    }
    apply_read(p, s, "cred", d);
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, s->cred.issued_at_ms, &v);
    if (v.cred) {
        release_lock(p, s);
        adopt_shared(p, s, &v);
        proceed_with_credential(p, s, &v);
        ap_acct_view_clear(&v);
        return;
    }
    ap_acct_view_clear(&v);
    send_refresh(p, s);
}

/* The lock is ours once its write is stored; lost (or the bucket is down):
 * learn the lock's state, then wait for its holder. */
static void on_lock_done(publisher *p, job_slot *s, const ap_js_done *d) {
    char key[96];
    if (d->ok) {
        s->lock_rev = d->seq;
        char *value = ap_acct_lock_value(false, s->lock_at_ms, p->cfg->instance);
        acct_kv_key(key, sizeof(key), "refresh", s);
        if (value) ap_accounts_apply(p->acc, key, value, strlen(value), false, d->seq);
        free(value);
        refresh_locked(p, s);
        return;
    }
    if (!read_account_key(p, s, "refresh", OP_READ_LOCK))
        refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
}

static bool publish_lock(publisher *p, job_slot *s, int64_t expected) {
    char key[96];
    char *value = ap_acct_lock_value(false, s->lock_at_ms, p->cfg->instance);
    if (value == NULL) return false;
    acct_kv_key(key, sizeof(key), "refresh", s);
    engine_slot_enter(s, JOB_LOCKING);
    ap_status st = engine_kv_publish(p, p->accounts_bucket, key, value, expected, s, OP_LOCK);
    free(value);
    if (st == AP_OK) return true;
    engine_slot_enter(s, JOB_PREPARING);
    return false;
}

static void on_lock_read(publisher *p, job_slot *s, const ap_js_done *d) {
    if (!d->ok) {
        refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
        return;
    }
    if (!d->found && !s->lock_retried) {
        /* "Must not exist" loses to the delete marker a released lock
         * leaves: take it once more over that marker's revision (what
         * kvStore_Create does). */
        s->lock_retried = true;
        if (!publish_lock(p, s, (int64_t)d->seq))
            refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
        return;
    }
    apply_read(p, s, "refresh", d);
    wait_for_credential(p, s);
}

void engine_on_account_event(publisher *p, job_slot *s, const ap_js_done *d) {
    engine_slot_enter(s, JOB_PREPARING);
    switch (d->tag) {
    case OP_LOCK: on_lock_done(p, s, d); break;
    case OP_READ_LOCK: on_lock_read(p, s, d); break;
    default: on_credential_read(p, s, d); /* OP_READ_CRED */
    }
}

/* Takes the shared refresh lock (refresh.h) with a compare-and-set whose
 * PubAck the slot waits for in LOCKING; no token is spent before it is
 * stored (on_lock_done). */
void engine_begin_refresh(publisher *p, job_slot *s, bool after_reauth) {
    s->refresh_tried = true;
    s->after_reauth = after_reauth;
    ap_acct_view v;
    ap_accounts_lookup(p->acc, s->job->account_id, INT64_MAX, &v);
    ap_refresh_lock lock = v.lock;
    ap_acct_view_clear(&v);
    int64_t now = ap_now_ms();
    int64_t expected = 0; /* AP_LOCK_TAKE: must not exist */
    switch (ap_refresh_lock_decide(&lock, now, lock_stale_ms(p), ambiguous_cooldown_ms(p))) {
    case AP_LOCK_WAIT: wait_for_credential(p, s); return;
    case AP_LOCK_COOLDOWN:
        refresh_unavailable(p, s, "token_refresh_unconfirmed",
                            "an earlier token refresh got no answer; not refreshing again before "
                            "its cool-down",
                            lock.at_ms + ambiguous_cooldown_ms(p) - now);
        return;
    case AP_LOCK_TAKE: break;
    case AP_LOCK_TAKEOVER: expected = (int64_t)lock.revision; break;
    }
    s->lock_at_ms = now;
    s->lock_retried = false;
    if (!publish_lock(p, s, expected))
        refresh_unavailable(p, s, "accounts_bucket", "accounts bucket unreachable", 0);
}

/* Keeps our lock, marked: nobody spends the refresh token again before the
 * cool-down (refresh.h). */
void engine_mark_refresh_ambiguous(publisher *p, job_slot *s) {
    char key[96];
    char *value = ap_acct_lock_value(true, ap_now_ms(), p->cfg->instance);
    if (value == NULL) return;
    acct_kv_key(key, sizeof(key), "refresh", s);
    /* A compare-and-set on our lock nobody waits for; our own table has the
     * mark at once (at our revision: the watcher brings the stored one). If
     * it is lost, someone took the stale lock over, and their value wins. */
    if (engine_kv_publish(p, p->accounts_bucket, key, value, (int64_t)s->lock_rev, NULL,
                          OP_SHARED_WRITE) == AP_OK)
        ap_accounts_apply(p->acc, key, value, strlen(value), false, s->lock_rev);
    free(value);
}

/* The token endpoint answered (or did not). */
void engine_on_refresh_done(publisher *p, job_slot *s, const ap_http_response *res) {
    char msg[512], key[96];
    ap_credential nc;
    engine_slot_enter(s, JOB_PREPARING);
    ap_refresh_outcome o = ap_refresh_parse(res, &s->cred, ap_now_ms(), &nc, msg, sizeof(msg));
    /* The answer holds the new tokens in clear: parsed, it is wiped. */
    if (res->body) explicit_bzero(res->body, res->body_len);
    switch (o) {
    case AP_REFRESH_OK: {
        uint8_t *sealed = NULL;
        size_t len = 0;
        char *value = NULL;
        if (ap_credential_seal(&p->keys, p->platform->name, s->job->account_id, &nc, &sealed,
                               &len) != AP_OK ||
            (value = ap_acct_cred_value(sealed, len, nc.issued_at_ms, p->cfg->instance)) == NULL) {
            /* The single-use token is spent and the new one cannot be kept. */
            ap_credential_wipe(&nc);
            free(sealed);
            release_lock(p, s);
            engine_mark_reauth(p, s, "a refreshed credential could not be sealed");
            engine_fail_before_call(
                p, s, AP_CLASS_REAUTH, "token_refresh",
                "a refreshed credential could not be sealed; reconnect the account", true);
            return;
        }
        acct_kv_key(key, sizeof(key), "cred", s);
        /* Shared without waiting: the job goes on with it at once, and it
         * reaches PostgreSQL with this job's result either way. */
        ap_status st =
            engine_kv_publish(p, p->accounts_bucket, key, value, -1, NULL, OP_SHARED_WRITE);
        if (st != AP_OK)
            ap_log_job_warn("token_share_failed", sid(s), tid(s),
                            "refreshed credential not shared (%s); it reaches PostgreSQL with this "
                            "job's result",
                            ap_status_str(st));
        ap_accounts_apply(p->acc, key, value, strlen(value), false, 0);
        free(value);
        release_lock(p, s);
        ap_credential_wipe(&s->cred);
        s->cred = nc;
        ap_crypto_digest_hex(sealed, len, s->cred_digest);
        free(s->new_sealed);
        s->new_sealed = sealed;
        s->new_sealed_len = len;
        ap_log_job_info("token_refreshed", sid(s), tid(s), "account %s: %s", s->job->account_id,
                        msg);
        start_with_credential(p, s);
        return;
    }
    case AP_REFRESH_INVALID_GRANT:
        release_lock(p, s);
        engine_mark_reauth(p, s, msg);
        engine_fail_before_call(p, s, AP_CLASS_REAUTH, "invalid_grant", msg, true);
        return;
    case AP_REFRESH_NOT_DONE:
        release_lock(p, s);
        ap_log_job_warn("token_refresh_failed", sid(s), tid(s), "%s", msg);
        refresh_unavailable(p, s, "token_refresh", msg, 0);
        return;
    case AP_REFRESH_AMBIGUOUS: {
        engine_mark_refresh_ambiguous(p, s);
        ap_log_job_warn("token_refresh_unconfirmed", sid(s), tid(s), "account %s: %s",
                        s->job->account_id, msg);
        refresh_unavailable(p, s, "token_refresh_unconfirmed", msg, ambiguous_cooldown_ms(p));
        return;
    }
    }
}
