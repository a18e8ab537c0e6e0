/* fold.h -- how a batch of PublishResults becomes a few SQL statements.
 *
 * The dispatcher applies a whole fetched batch with two statements in one
 * transaction (store/sql/fold_history.sql, fold_update.sql): one INSERT of
 * every result into schedule_attempts and one UPDATE of post_schedules from
 * the batch collapsed to one row per schedule and generation. Both take
 * their rows as PostgreSQL array parameters that unnest() turns back into a
 * table, so the cost is two round trips per batch whatever its size.
 * Building those parameters is pure C, kept here so that unit tests cover
 * the hard parts (which result wins; array escaping is common/ap_pg_array.h)
 * without a database.
 *
 * Fold rules, enforced by the UPDATE itself against the row as it finds it
 * (under the row lock, so redeliveries and several dispatcher replicas can't
 * race past them), and only for rows
 * whose generation equals the result's (a manual retry bumps the generation;
 * results of the old one then only add history):
 *
 *   published    from any other status, even cancelled or failed: the post is
 *                live, and the row must say so.
 *   failed, unconfirmed, cancelled, expired
 *                only from pending, queued or retrying: a terminal state is
 *                never overwritten by another terminal state.
 *   retrying     only from pending, queued or retrying, and only if its
 *                attempt is not older than the row's attempts (a late
 *                retrying never hides a later attempt); on a retrying row
 *                only a newer attempt counts, so a redelivery rewrites
 *                nothing.
 *   published, but another published schedule of the account (or an
 *                earlier row of the batch) already holds the same post:
 *                failed, class duplicate, code post_held, naming that
 *                schedule, with a history line of the dispatcher's. One
 *                post is the outcome of one schedule.
 *   deferred     only from pending, queued or retrying: back to pending with
 *                generation + 1 and not_before = finished_at + retry_after,
 *                attempts unchanged (a limit is not a failure). The bumped
 *                generation makes any later copy of the result stale.
 *
 * attempts only grows (greatest), updated_at moves only when a row changes,
 * and the history insert ignores duplicates, so applying the same batch
 * twice changes nothing: that is what makes "ack after COMMIT" safe with
 * at-least-once delivery.
 *
 * Ownership: every string in an ap_fold belongs to it (ap_fold_free). */
#ifndef AP_FOLD_H
#define AP_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_pg_array.h"
#include "ap_proto.h"
#include "ap_status.h"

/* ---- the fold ------------------------------------------------------------ */

enum { AP_FOLD_HISTORY_NPARAMS = 12, AP_FOLD_UPDATE_NPARAMS = 13 };

/* The parameters of store/sql/fold_history.sql and fold_update.sql (run as
 * AP_STORE_FOLD_HISTORY and AP_STORE_FOLD_UPDATE), and one row of the
 * UPDATE's answer, in update-row order. */
enum {
    AP_FOLD_COL_INDEX,      /* 1-based update row */
    AP_FOLD_COL_APPLIED,    /* "t" when the row moved */
    AP_FOLD_COL_OLD_STATUS, /* NULL: no such schedule */
    AP_FOLD_COL_ROW_GENERATION,
    AP_FOLD_COL_NEW_STATUS, /* what the UPDATE wrote (RETURNING); NULL when it did not move */
};

typedef struct ap_fold {
    size_t nhistory;    /* rows in history[] (every result) */
    size_t nupdates;    /* rows in update[] (one per schedule + generation) */
    size_t *update_src; /* update row i comes from results[update_src[i]] */
    char *history[AP_FOLD_HISTORY_NPARAMS];
    char *update[AP_FOLD_UPDATE_NPARAMS];
} ap_fold;

void ap_fold_init(ap_fold *f);
/* Builds both statements' parameters from n decoded results (n >= 1); f
 * copies what it needs, so the results may be freed afterwards. */
ap_status ap_fold_build(ap_fold *f, ap_result *const *results, size_t n);
/* Releases and re-inits f; NULL is a no-op. */
void ap_fold_free(ap_fold *f);

/* Which of two results for the same schedule and generation decides the
 * row: > 0 when a wins, < 0 when b wins, 0 when they are equivalent.
 * published beats everything; a terminal outcome beats retrying; then the
 * higher attempt wins. */
int ap_fold_precedence(const ap_result *a, const ap_result *b);

/* ---- account effects -------------------------------------------------------
 *
 * Two results change the account, in the same transaction as the fold:
 *
 *   a refreshed credential (PublishResult.refreshed_credential) replaces the
 *   stored one if it is newer (credentials_issued_at_ms), one per account per
 *   batch, the newest;
 *   a FAILED result of class REAUTH marks an active account reauth_required
 *   with the platform's message, unless the stored credential is newer than
 *   the refused one (the operator reconnected meanwhile), and fails every
 *   other pending/queued/retrying schedule of the account with a history
 *   line 'account_reauth'. Only the transition fails them: later REAUTH
 *   results of the same account (jobs already in the stream, which the
 *   publishers fail without a call) find it marked and change nothing more.
 *
 * Races with the scheduler: a scheduler claiming the account's rows at the
 * same moment holds their row locks (FOR UPDATE SKIP LOCKED); the UPDATE
 * waits for its commit and then fails those rows too (queued by then). Their
 * jobs, already in the stream, meet the publishers' reauth mark and end
 * without a call; their results find the rows failed and only add history.
 * After the commit the scheduler itself refuses the account's rows
 * (account_reauth_required). */
enum {
    AP_ACCOUNT_CRED_NPARAMS = 3,
    AP_ACCOUNT_REAUTH_NPARAMS = 4,
    AP_ACCOUNT_PAUSE_NPARAMS = 3,
    AP_ACCOUNT_USAGE_NPARAMS = 3
};
/* The parameters of store/sql/account_*.sql. Refreshed credentials, pauses
 * (pause_scope set: the account, or every account of the platform, waits
 * until finished_at + retry_after) and the platform's own usage count are
 * one row per account per batch, the newest; account_reauth answers how
 * many schedules it failed. */

typedef struct ap_account_reauth {
    char account_id[40];
    char issued_at[24];
    char reason[600];  /* the platform's message: status_reason */
    char message[700]; /* stored on the other schedules */
    uint64_t failed;   /* schedules the statement failed (its one-row answer) */
} ap_account_reauth;

typedef struct ap_account_fold {
    size_t ncredentials;
    char *credentials[AP_ACCOUNT_CRED_NPARAMS]; /* NULL when ncredentials == 0 */
    ap_account_reauth *reauth;
    size_t nreauth;
    size_t npauses;
    char *pauses[AP_ACCOUNT_PAUSE_NPARAMS]; /* NULL when npauses == 0 */
    size_t nusage;
    char *usage[AP_ACCOUNT_USAGE_NPARAMS]; /* NULL when nusage == 0 */
} ap_account_fold;

void ap_account_fold_init(ap_account_fold *f);
ap_status ap_account_fold_build(ap_account_fold *f, ap_result *const *results, size_t n);
void ap_account_fold_free(ap_account_fold *f);

/* ---- who may report on a schedule (issue 17) ------------------------------
 *
 * A publisher may publish only on autopost.results.<its platform> (the NATS
 * permissions of deploy/), so the subject, not the message, says which
 * platform speaks. A result is applied only when the schedule's account is
 * that platform's, the result names no other platform and no other account
 * than the schedule's. Anything else (a compromised or confused publisher
 * reaching for another platform's schedules, accounts, pauses or stored
 * credentials) is terminated whole, before any SQL writes: a forged result
 * changes no row. A result for a schedule that does not exist may name no
 * account (nothing vouches for it); one that names none keeps today's
 * behaviour (history ignored, "unknown schedule" logged, acked). */
typedef enum {
    AP_OWNER_OK,
    AP_OWNER_NO_PLATFORM,      /* the subject names no platform */
    AP_OWNER_PLATFORM,         /* the result or the schedule's account is another platform's */
    AP_OWNER_ACCOUNT,          /* the result names another account than the schedule's */
    AP_OWNER_UNKNOWN_SCHEDULE, /* names an account for a schedule that does not exist */
    AP_OWNER_N
} ap_owner_verdict;

/* What PostgreSQL holds for each schedule comes from store/sql/owner_lookup.sql. */

/* The <platform> of "autopost.results.<platform>" copied into buf; NULL when
 * the subject has another shape or the name does not fit. */
const char *ap_owner_subject_platform(const char *subject, char *buf, size_t len);

/* schedule_account / account_platform: what PostgreSQL holds for
 * r->schedule_id, both NULL when the schedule does not exist. */
ap_owner_verdict ap_owner_check(const ap_result *r, const char *subject_platform,
                                const char *schedule_account, const char *account_platform);
const char *ap_owner_verdict_name(ap_owner_verdict v);

/* ---- MAX_DELIVERIES advisories -------------------------------------------- */

#define AP_ADVISORY_MAX_DELIVER_TYPE "io.nats.jetstream.advisory.v1.max_deliver"

typedef struct ap_advisory {
    char stream[64];
    char consumer[64];
    uint64_t stream_seq;
    uint64_t deliveries;
} ap_advisory;

/* Parses a JetStream MAX_DELIVERIES advisory; AP_EINVAL with err on anything
 * else (wrong type, missing or non-positive stream_seq, not JSON). */
ap_status ap_advisory_parse(const char *data, size_t len, ap_advisory *out, char *err,
                            size_t errlen);

/* Applied by store/sql/advisory_fail.sql and advisory_history.sql. */

/* The error_message stored on a schedule the broker gave up on. */
void ap_advisory_message(char *buf, size_t len, uint64_t deliveries);

/* ---- terminal transitions, for autopost_dispatcher_terminal_total ----------
 *
 * Every row the dispatcher moves into a terminal status, counted after COMMIT
 * by the statement's own row counts, by the status written and by what
 * decided it: a result, the reauth cascade (fold.h "account effects": rows
 * moved without a result of their own) or a MAX_DELIVERIES give-up. Without
 * the last two, failures per minute seen from the component that writes
 * outcomes undercount (issue 23 §3). A row can be counted twice over its life
 * (failed, then published by a later result: reality wins), so the counter
 * counts transitions, not rows in a status. */
typedef enum {
    AP_TERMINAL_PUBLISHED,
    AP_TERMINAL_FAILED,
    AP_TERMINAL_UNCONFIRMED,
    AP_TERMINAL_CANCELLED,
    AP_TERMINAL_EXPIRED,
    AP_TERMINAL_NSTATUS
} ap_terminal_status;

typedef enum {
    AP_CAUSE_RESULT,         /* a PublishResult moved the row */
    AP_CAUSE_REAUTH_CASCADE, /* the account was marked reauth_required */
    AP_CAUSE_MAX_DELIVERIES, /* the broker gave up on the job */
    AP_CAUSE_N
} ap_terminal_cause;

/* The terminal status a post_schedules.status text names, or -1 for an open
 * one (pending, queued, retrying) or anything else. */
int ap_terminal_status_of(const char *status);
const char *ap_terminal_status_name(ap_terminal_status s);
const char *ap_terminal_cause_name(ap_terminal_cause c);

#endif
