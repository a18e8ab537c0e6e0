/* claim.h -- the scheduler's claim: which due rows the next tick takes.
 *
 * The due-row queries. Both read the partial index post_schedules_due_idx in
 * order and stop early, so a tick costs the same whether 0 or 1,000,000 rows
 * wait in the future or 50,000 are due at once, and SKIP LOCKED lets
 * replicas share the work without blocking each other.
 *
 * The statements are store/sql/claim_fair.sql and claim_fifo.sql (ap_store.h);
 * these notes explain them. claim_fair is the default. It admits a schedule into the queue only
 * while its tenant and its account both have a free slot. A tenant's free slots are
 * scheduler.max_queued_per_tenant ($9) minus the queued + retrying jobs of all its accounts:
 * a tenant with 100,000 posts due over a thousand accounts holds at most $9 jobs in the
 * stream ahead of another tenant's single post (README "Fairness"). A tenant at its cap has
 * every account in "blocked", so its backlog is skipped like a blocked account's (the list is
 * as long as that tenant has accounts: the price of keeping tenant_id off post_schedules).
 * An account's free slots are the least of
 *   - scheduler.max_queued_per_account ($2) minus its queued + retrying jobs:
 *     an account with 10,000 posts due holds at most $2 jobs in the stream
 *     ahead of another account's single post (README "Fairness");
 *   - platforms.<p>.account_limit minus its jobs in the queue, its posts
 *     published within account_window, and the posts the platform counts
 *     that autopost did not make (the CLAIM_ELSEWHERE branch; README "Rate limits");
 *   - one job at a time until the platform's count is known (the stale probe, CLAIM_STALE);
 * and a platform's posts per tick are capped the same way by app_limit.
 * A post that waits for a slot stays pending: waiting burns no attempt.
 * Limits per platform arrive as parallel arrays $3..$7 (0 = no limit), and
 * $8 says which platforms report their own count (CLAIM_STALE).
 *
 * How it stays cheap: "blocked" lists the accounts with no free slot (at the
 * cap, at a rate limit, or paused); it is small, because it is bounded by
 * the jobs in the queue and the accounts with due rows. A rate window's use
 * ("limited") is counted only for the accounts with due rows on a limited
 * platform, each by key: counted per platform, every claim read all the
 * posts of the window (a day of Instagram's), however few rows were due
 * (bench/README.md 2026-12-07, 55 -> 11 ms a claim with 200 rows due and
 * 100,000 posts in the window). The window scan
 * ("win") walks the due index oldest first, skipping blocked accounts' rows
 * and deferred rows, and stops after four batches' worth. NOT IN (not NOT
 * EXISTS) keeps the blocked test a hashed filter on the index scan, so the
 * scan keeps its order and its LIMIT instead of becoming a join over every
 * due row. The slots then go round-robin, tenants first ("admitted"): every
 * tenant's first post, then every tenant's second, and so on, where a tenant's
 * posts are in turn round-robin over its accounts (every account's first post,
 * then every account's second).
 *
 * When the window is "crowded" (full, and some account in it has more due
 * rows than free slots) an account with a backlog may be hiding other
 * accounts' posts beyond the window; then, and only then, every due row of
 * the accounts with a slot is ranked ("cand" takes the second branch; the
 * one-time filter skips whichever branch is off). A tenant with more rows
 * in the window than free slots crowds it the same way, but only when there
 * is another tenant whose posts it could hide (a deployment with one tenant
 * never pays for it). That costs O(due rows) while a single account's or
 * tenant's backlog lasts, the price of the fairness bound; a burst spread
 * over many accounts and tenants stays O(batch).
 *
 * The claimed rows' posts and accounts are looked up one by one (LATERAL
 * ... OFFSET 0, which the planner may not turn into a join): left to itself
 * the planner hashed whole tables for a thousand candidates, a cost that
 * grows with every post and account. So are the accounts the ranking needs
 * ("tbusy", "wacct", "cacct": each distinct account once): joined as a
 * table, every claim read all accounts. And the window's per-account
 * figures (rows in the window, in the queue, of the rate limit used) are
 * summed over one UNION ALL ("wacct"), not joined: the planner cannot
 * know how many rows those CTEs hold and paired them by nested loops.
 * With 50,000 accounts and 1,000 in the queue a claim took 410-440 ms
 * before both changes, 53 ms after (bench/README.md 2026-12-07);
 * tests/e2e/test_plans.sh runs the claim and fails on either shape.
 * The final LIMIT comes after FOR UPDATE ... SKIP LOCKED, over two batches'
 * worth of candidates ("top"), so a second scheduler replica claiming at the
 * same moment gets the next batch, not nothing.
 *
 * Deferred rows. A deferred schedule waits for its not_before (set by the dispatcher).
 *
 * Paused accounts. Nothing of an account the platform told to slow down is admitted before
 * its paused_until (README "Rate limits"; set by the dispatcher).
 *
 * CLAIM_ELSEWHERE, posts the platform counts that autopost did not make (README "Rate
 * limits"). Instagram and Threads report an account's posts in their rolling
 * 24 h (quota_usage); a publisher reads it before every post and the
 * dispatcher keeps the newest observation, U asked at time T, on the account.
 * The claim counts, per account, our queued and retrying jobs, our posts
 * published within the window, and this branch's
 *     E = max(0, U - our posts published in (T - window, T])
 * for one window after T. Why this and not max(ours, U):
 *   - U alone counts our own posts as if they stayed a whole window after T;
 *     our posts leave at published_at + window, which we know, so they are
 *     counted by the first branch and taken out of U. Only posts made
 *     elsewhere (E), whose times we do not know, are held for the longest
 *     they can stay: until T + window. After that U says nothing.
 *   - T is when the publisher sent the read, before the platform counted. A
 *     post of ours the count missed was answered after T, so its
 *     published_at is after T: it is in the first branch, not taken out of
 *     U. A post answered after T that the platform did count is counted
 *     twice (in U as "elsewhere", and as ours) until a newer observation:
 *     the error only ever delays a post, never lets one more through.
 *   - Jobs queued or retrying are not in U unless the platform already has
 *     them (then counted twice, the safe way) and are counted as ours.
 *   - Stale or lost observations: the dispatcher keeps only a newer one, so
 *     a late or redelivered result cannot roll the count back; an account
 *     never observed, or observed more than a window ago, counts only ours.
 *     Clocks: T and published_at are publishers' clocks, the window ends at
 *     PostgreSQL's now(); a skew of seconds shifts a window edge by that much.
 *   - Posts made elsewhere after T are unseen until the next read: the
 *     publisher still reads the quota first and defers without publishing
 *     when it is used up, and the platform refuses past its cap, so the worst
 *     case is the old one (a deferral), never a second post. This limiter
 *     only ever holds posts back; it can cause no post, so it cannot break
 *     exactly-once.
 *
 * CLAIM_STALE, the probe. The first of a burst waits for the platform's count: an account of a
 * platform that reports it (Instagram, Threads), with no count asked within
 * the last minute (or the window, if shorter), gets one job at a time. That
 * job's publisher reads the count before anything else and reports it; the
 * claim after it knows the posts made elsewhere. Without it, a cold account
 * with posts made outside autopost would get account_limit jobs at once,
 * and each job's own quota read, made at the same moment, would see room:
 * the overrun issue 23 describes. The price is one job's time at the start
 * of a burst. A job whose read fails reports nothing and the account stays
 * at one job at a time until a read succeeds: slower, never over the cap.
 *
 * CLAIM_FREE, an account's free slots, for a row joined to its account ("a"), the
 * platform's limits ("l"), its queue count ("b") and its rate-window count
 * ("m"). Every due account of a limited platform has a "limited" row, its
 * use 0 when nothing is queued, retrying or published within the window:
 * used 0 of its limit, not "no limit".
 * Taking the limit from "l" keeps a cold account's first burst within it;
 * least() ignores NULL, so m.acc_n - m.used alone left only the admission
 * cap for exactly the accounts with the most posts waiting (issue 14).
 *
 * claim_fifo: scheduler.max_queued_per_account 0 turns admission off: oldest first
 * (the tenant cap too: it is part of admission).
 *
 * Lanes (README "Urgent lane"). Both statements read urgent due rows first,
 * from their own partial index (0023), and order every ranking by lane
 * before anything else: an urgent row takes the next free slot of its
 * account, tenant and platform, and the claim's LIMIT, ahead of the normal
 * backlog, while the caps and rate limits above count both lanes alike.
 * The job goes out on autopost.jobs.<platform>.urgent (ap_job_subject). */

#ifndef AP_SCHEDULER_CLAIM_H
#define AP_SCHEDULER_CLAIM_H

#include <libpq-fe.h>

#include "ap_config.h"
#include "ap_pg.h"

/* The claim's answer, one row per claimed schedule (store/sql/claim_*.sql). */
enum {
    C_ID,
    C_GEN,
    C_POST,
    C_ACCOUNT,
    C_PLATFORM,
    C_EXTERNAL,
    C_CRED,
    C_STATUS,
    C_TEXT,
    C_LINK,
    C_MEDIA,
    C_AT,
    C_URGENT,   /* boolean: the urgent lane (0023) */
    C_TRACE,    /* traceparent; NULL for a row stored before 0025 */
    C_DEADLINE, /* the post's own, epoch ms; 0 = none */
    C_THREAD,   /* posts.thread as JSON text; "" = none (0026) */
    C_COMMENT   /* posts.first_comment; "" = none */
};

/* Runs the claim inside the caller's transaction (claim_fair or claim_fifo,
 * as the config says, prepared once per connection; under the advisory
 * lock when a platform has a rate limit). With `prefix` (an EXPLAIN) it runs
 * that instead of the claim itself. Returns the result (NULL or an error
 * result when something failed). */
PGresult *ap_claim_run(ap_pg *pg, const ap_config *cfg, const char *prefix);

#endif
