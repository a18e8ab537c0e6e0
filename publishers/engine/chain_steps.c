/* chain_steps.c -- a post of several messages (publishers/platforms/chain.h)
 * on the engine thread: one message after the other, each its own adapter
 * flow, each exactly once.
 *
 * Why the attempt record carries the progress (guard.h "part=N ids=..."),
 * against the traps of README "How a post goes out exactly once":
 *   - before message N's first request that can create something, the fence
 *     re-writes our record as "started part=N ids=<ids of 0..N-1>" with a
 *     compare-and-set (needs_fence in slots.c forces it when the record
 *     names an earlier part, whatever FENCE_FRESH_MS says), and only its
 *     PubAck lets the request go. So a record never names a part before one
 *     whose request may be out: a redelivery that finds "part=N" knows
 *     0..N-1 are live with those ids, and that N may be;
 *   - that redelivery takes over as for the post (re-stamp, takeover window)
 *     and reads message N back (AP_FLOW_VERIFY with its parent as
 *     reply_to): found -> its id is added and N+1 goes on; certainly absent
 *     -> N is published; cannot tell -> ambiguous, as for a post. Nothing
 *     before N is ever sent again;
 *   - a takeover writes the same record, so a replica fenced off stops
 *     before its next part exactly as before its post;
 *   - one key per job (not one per part) keeps one compare-and-set chain:
 *     the fence, the retry and the outcome of every part are ordered by its
 *     revision, and `nats kv get` shows the whole progress in one line.
 * A limit met after the post is live is a retry of that part, never a
 * deferral: a deferral moves the schedule to its next generation, a fresh
 * record, which would start the chain again. For the same reason a chain
 * under way does not expire at its deadline.
 *
 * Outcome: published when every message is (the result's external id is
 * the post's, part_external_ids the others'); a part that fails for good
 * after the post is live ends the schedule failed with the live ids in the
 * reason and in the result; a first comment that fails for good leaves the
 * schedule published with error_code first_comment_failed and the reason:
 * the post is live, and failing it would invite posting it again. */
#include "engine.h"

#include "ap_failpoint.h"
#include "chain.h"

void engine_chain_stamp(const job_slot *s, ap_guard_record *rec) {
    rec->part = s->part;
    snprintf(rec->chain_ids, sizeof(rec->chain_ids), "%s", s->chain_ids);
}

void engine_chain_restore(job_slot *s, const ap_guard_record *rec) {
    size_t len = ap_chain_len(s->job);
    size_t have = ap_chain_ids_count(rec->chain_ids);
    /* A record from before this job had a chain, or one that does not add
     * up, is read as the post alone. */
    if (rec->part <= 0 || (size_t)rec->part > len + 1 || have != (size_t)rec->part) return;
    s->part = rec->part;
    s->fenced_part = rec->part;
    snprintf(s->chain_ids, sizeof(s->chain_ids), "%s", rec->chain_ids);
}

void engine_chain_input(job_slot *s) {
    if (s->part == 0) {
        s->in.job = s->job;
        s->in.reply_to = NULL;
        return;
    }
    ap_chain_part_job(s->job, (size_t)s->part, &s->part_job);
    s->in.job = &s->part_job;
    size_t parent = ap_chain_parent(s->job, (size_t)s->part);
    if (!ap_chain_ids_nth(s->chain_ids, parent, s->reply_to, sizeof(s->reply_to)))
        s->reply_to[0] = '\0';
    s->in.reply_to = s->reply_to;
}

const ap_adapter *engine_chain_adapter(const publisher *p, const job_slot *s) {
    if (s->part > 0 && p->adapter->comment && ap_chain_is_comment(s->job, (size_t)s->part))
        return p->adapter->comment;
    return p->adapter;
}

/* What is live so far, for a reason: "post 11, parts 12, 13". */
static void live_ids(const job_slot *s, char *buf, size_t len) {
    char id[128];
    int n = 0;
    buf[0] = '\0';
    for (size_t i = 0; ap_chain_ids_nth(s->chain_ids, i, id, sizeof(id)); i++) {
        int w = snprintf(buf + n, len - (size_t)n, "%s%s",
                         i == 0   ? "post "
                         : i == 1 ? ", parts "
                                  : ", ",
                         id);
        if (w < 0 || (size_t)w >= len - (size_t)n) break;
        n += w;
    }
}

void engine_chain_published(publisher *p, job_slot *s, ap_flow_result *r) {
    size_t len = ap_chain_len(s->job);
    if (len == 0) {
        engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED, r, true);
        return;
    }
    if (!ap_chain_ids_append(s->chain_ids, sizeof(s->chain_ids), r->external_id)) {
        char live[512];
        live_ids(s, live, sizeof(live));
        ap_flow_result bad = *r;
        ap_flow_fail(&bad, AP_CLASS_AMBIGUOUS, r->http_status, "chain_id_unusable",
                     "message %d of the thread went live as \"%.64s\", an id that cannot be "
                     "recorded; live before it: %s",
                     s->part, r->external_id, *live ? live : "nothing");
        engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED, &bad, true);
        return;
    }
    if (s->part == 0) snprintf(s->root_url, sizeof(s->root_url), "%s", r->external_url);
    if (s->part > 0) {
        ap_log_job_info("chain_part_published", sid(s), tid(s), "%s %d of %zu live as %s",
                        ap_chain_is_comment(s->job, (size_t)s->part) ? "first comment" : "part",
                        s->part, len, r->external_id);
        /* The fault tests' crash between two parts (README "How a chain goes
         * out exactly once"): the record still names this part in flight. */
        ap_failpoint("publisher_chain_part");
    }
    if ((size_t)s->part < len) {
        s->part++;
        s->final_check = false;
        s->duplicate_check = false;
        engine_start_flow_after(p, s, AP_FLOW_PUBLISH, 0, 0);
        return;
    }
    s->part = (int)len + 1; /* all live: a published record names no part in flight */
    ap_flow_result all = *r;
    if (!ap_chain_ids_nth(s->chain_ids, 0, all.external_id, sizeof(all.external_id)))
        all.external_id[0] = '\0';
    snprintf(all.external_url, sizeof(all.external_url), "%s", s->root_url);
    all.error_message[0] = '\0';
    all.error_code[0] = '\0';
    engine_finish_terminal(p, s, AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED, &all, true);
}

void engine_chain_terminal(job_slot *s, Autopost__V1__Outcome *outcome, ap_flow_result *r) {
    if (s->part == 0) return;
    if (*outcome != AUTOPOST__V1__OUTCOME__OUTCOME_FAILED &&
        *outcome != AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED)
        return;
    char live[512], why[sizeof(r->error_message)];
    bool unconfirmed = *outcome == AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED;
    live_ids(s, live, sizeof(live));
    snprintf(why, sizeof(why), "%s", r->error_message);
    if (ap_chain_is_comment(s->job, (size_t)s->part)) {
        /* The post (and its thread) is live: it stays published, and the
         * comment's failure is what the row says. */
        *outcome = AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED;
        r->error_class = AP_CLASS_NONE;
        snprintf(r->error_code, sizeof(r->error_code), "first_comment_failed");
        int n = snprintf(r->error_message, sizeof(r->error_message),
                         "published (%s); the first comment %s: %.300s", live,
                         unconfirmed ? "is unconfirmed" : "failed", why);
        if (n < 0) r->error_message[0] = '\0'; /* cut when long: the result has every id */
        if (!ap_chain_ids_nth(s->chain_ids, 0, r->external_id, sizeof(r->external_id)))
            r->external_id[0] = '\0';
        snprintf(r->external_url, sizeof(r->external_url), "%s", s->root_url);
        return;
    }
    int n = snprintf(r->error_message, sizeof(r->error_message),
                     "part %d of the thread: %.300s; already live (not posted again): %s", s->part,
                     why, live);
    if (n < 0) r->error_message[0] = '\0'; /* cut when long: the result has every id */
    if (!ap_chain_ids_nth(s->chain_ids, 0, r->external_id, sizeof(r->external_id)))
        r->external_id[0] = '\0';
}

size_t engine_chain_result_ids(const job_slot *s, char *buf, size_t len, char **ids, size_t max) {
    size_t n = 0;
    if (s->part == 0 && ap_chain_ids_count(s->chain_ids) == 0) return 0;
    snprintf(buf, len, "%s", s->chain_ids);
    char *save = NULL;
    size_t i = 0;
    for (char *w = strtok_r(buf, ",", &save); w && n < max; w = strtok_r(NULL, ",", &save), i++)
        if (i > 0) ids[n++] = w; /* 0 is the post: external_post_id */
    return n;
}
