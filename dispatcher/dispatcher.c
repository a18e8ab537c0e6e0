/* dispatcher.c -- see dispatcher.h for the design; the fold rules live in
 * fold.h and fold.c, the statements in store/sql (fold_*, account_*,
 * owner_lookup), the advisories in advisory.c.
 *
 * The loop, one iteration:
 *   1. PostgreSQL unusable? Then fetch nothing: results wait in the stream
 *      (not in our memory, not in a nak loop) until ap_pg_ensure reconnects.
 *   2. Now and then, handle MAX_DELIVERIES advisories (advisory.h).
 *   3. Fetch up to batch_size results: wait up to FETCH_IDLE_MS for the first,
 *      then keep collecting for flush_interval so a trickle still makes
 *      batches. Garbage is terminated right away and never reaches SQL.
 *   4. Results whose subject's platform does not own their schedule and
 *      account (fold.h "who may report") are terminated before any write.
 *   5. One transaction, COMMIT, then ack each message. On failure ROLLBACK and
 *      nak with a delay. A batch PostgreSQL rejects for its data (SQLSTATE
 *      class 22/23) is retried one result at a time so that one bad result
 *      cannot block the rest forever; only a result that fails alone with a
 *      data exception is terminated (logged with everything it said). */
#include "dispatcher.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "advisory.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_pg.h"
#include "ap_proto.h"
#include "ap_store.h"
#include "ap_time.h"
#include "fold.h"
#include "relay.h"
#include "term.h"

/* How long an empty Fetch waits: bounds how late we notice SIGTERM or an
 * advisory while idle. */
#define FETCH_IDLE_MS 100
/* Nak delay when PostgreSQL fails (NakWithDelay takes milliseconds). */
#define NAK_DELAY_MS 1000
#define PG_WAIT_STEP_MS 100
/* After a batch fails on a live connection (read-only standby, lock
 * timeouts, ...), wait before fetching more, doubling up to the max: without
 * it a backlog would cycle fetch -> fail -> nak as fast as it can. */
#define FAIL_BACKOFF_MIN_MS 500
#define FAIL_BACKOFF_MAX_MS 10000
#define NATS_RETRY_MS 250
/* Well below the consumer's 30 s AckWait: a batch stuck on a lock must fail
 * and be nak'ed before the server redelivers it to someone else. */
#define BEGIN_SQL "BEGIN; SET LOCAL statement_timeout = '10s'"

typedef struct batch {
    natsMsg **msgs; /* decoded results' messages, owned */
    ap_result **results;
    size_t n, cap;
    size_t fetched; /* including garbage */
    size_t garbage;
    size_t forged; /* terminated by the owner check */
} batch;

typedef struct fold_counts {
    size_t applied, ignored, stale, unknown;
    size_t applied_by_outcome[AP_OUTCOME_LAST + 1];
    /* Rows the committed statements moved into a terminal status. */
    uint64_t terminal[AP_TERMINAL_NSTATUS][AP_CAUSE_N];
} fold_counts;

/* Metric handles (no-ops without a registry). */
typedef struct dispatcher_metrics {
    ap_counter *applied[AP_OUTCOME_LAST + 1]; /* by outcome */
    ap_counter *batches, *advisories, *poison;
    ap_counter *forged[AP_OWNER_N]; /* by verdict; [AP_OWNER_OK] stays NULL */
    /* NULL where a cause cannot write that status (ap_counter_add ignores
     * NULL; register_terminal says which pairs exist). */
    ap_counter *terminal[AP_TERMINAL_NSTATUS][AP_CAUSE_N];
    ap_histogram *batch_seconds;
    ap_lag_gauges lag;
} dispatcher_metrics;

struct ap_dispatcher {
    const ap_config *cfg;
    volatile sig_atomic_t *stop;
    ap_nats nats;
    ap_pg pg;
    natsSubscription *results;
    ap_advisories adv; /* shares our connections, polled from our loop */
    ap_relay *relay;   /* its own thread; started once the topology is there */
    batch batch;
    bool nats_trouble;       /* log a broken fetch once, not every loop */
    int64_t fail_backoff_ms; /* 0 while batches commit */
    struct {
        uint64_t results, batches, garbage, naks; /* the advisories count their own */
    } total;
    dispatcher_metrics m;
};

static void register_terminal(dispatcher_metrics *m, ap_metrics *reg, ap_terminal_status st,
                              ap_terminal_cause cause) {
    const char *const labels[] = {"status", ap_terminal_status_name(st), "cause",
                                  ap_terminal_cause_name(cause), NULL};
    m->terminal[st][cause] = ap_metrics_counter(
        reg, "autopost_dispatcher_terminal_total",
        "Schedules the dispatcher moved into a terminal status (committed rows), by the status "
        "written and what decided it.",
        labels);
}

static void dispatcher_metrics_init(ap_dispatcher *d) {
    dispatcher_metrics *m = &d->m;
    ap_metrics *reg = ap_health_metrics();
    for (int o = AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED; o <= AP_OUTCOME_LAST; o++) {
        const char *const labels[] = {"outcome", ap_outcome_name(o), NULL};
        m->applied[o] = ap_metrics_counter(
            reg, "autopost_results_applied_total",
            "Results that moved their schedule row (committed), by outcome.", labels);
    }
    m->batches = ap_metrics_counter(reg, "autopost_dispatcher_batches_total",
                                    "Batches of results processed (committed or not).", NULL);
    m->batch_seconds =
        ap_metrics_histogram(reg, "autopost_dispatcher_batch_seconds",
                             "Time to apply one batch: transaction, COMMIT and acks.", NULL,
                             ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
    m->advisories = ap_metrics_counter(reg, "autopost_advisories_total",
                                       "MAX_DELIVERIES advisories handled.", NULL);
    m->poison = ap_metrics_counter(reg, "autopost_results_poison_total",
                                   "Results terminated: not a valid PublishResult, or refused "
                                   "by PostgreSQL on their own.",
                                   NULL);
    for (int v = AP_OWNER_OK + 1; v < AP_OWNER_N; v++) {
        const char *const labels[] = {"reason", ap_owner_verdict_name(v), NULL};
        m->forged[v] = ap_metrics_counter(
            reg, "autopost_results_forged_total",
            "Results terminated unapplied because their subject's platform does not own the "
            "schedule or account they name, by reason.",
            labels);
    }
    ap_lag_gauges_init(&m->lag, AP_STREAM_RESULTS, AP_CONSUMER_DISPATCHER);
    /* Every pair a statement of ours can write, registered up front so each
     * series exists at 0: a result writes any terminal status; the cascade
     * and the give-up write only failed (fold.c's SQL). */
    for (int st = 0; st < AP_TERMINAL_NSTATUS; st++) register_terminal(m, reg, st, AP_CAUSE_RESULT);
    register_terminal(m, reg, AP_TERMINAL_FAILED, AP_CAUSE_REAUTH_CASCADE);
    register_terminal(m, reg, AP_TERMINAL_FAILED, AP_CAUSE_MAX_DELIVERIES);
}

/* After a COMMIT: the rows it moved, by the outcome that moved them, and
 * the terminal transitions among them by status and cause. */
static void count_applied(ap_dispatcher *d, const fold_counts *c) {
    for (size_t o = 0; o < sizeof(c->applied_by_outcome) / sizeof(c->applied_by_outcome[0]); o++)
        ap_counter_add(d->m.applied[o], c->applied_by_outcome[o]);
    for (int st = 0; st < AP_TERMINAL_NSTATUS; st++)
        for (int cause = 0; cause < AP_CAUSE_N; cause++) {
            if (c->terminal[st][cause] == 0) continue;
            if (d->m.terminal[st][cause] == NULL)
                ap_log_error("metric_missing", NULL,
                             "%" PRIu64 " %s transitions by %s have no counter series",
                             c->terminal[st][cause], ap_terminal_status_name(st),
                             ap_terminal_cause_name(cause));
            ap_counter_add(d->m.terminal[st][cause], c->terminal[st][cause]);
        }
}

/* ---- small helpers --------------------------------------------------------- */

static void sleep_unless_stopped(ap_dispatcher *d, int64_t ms) {
    for (int64_t waited = 0; waited < ms && !*d->stop; waited += 20) ap_sleep_ms(20);
}

static void nats_trouble(ap_dispatcher *d, const char *what, natsStatus s, jsErrCode jerr) {
    if (!d->nats_trouble) {
        char err[512];
        ap_nats_error(err, sizeof(err), what, s, jerr);
        ap_log_warn("nats_unavailable", NULL, "%s; retrying", err);
    }
    d->nats_trouble = true;
    sleep_unless_stopped(d, NATS_RETRY_MS);
}

/* JetStream API calls made while disconnected sit in the reconnect buffer
 * for their whole timeout (5 s): skip them instead, so SIGTERM is prompt. */
static bool nats_connected(ap_dispatcher *d) {
    return natsConnection_Status(d->nats.nc) == NATS_CONN_STATUS_CONNECTED;
}

static void wait_for_nats(ap_dispatcher *d) {
    while (!*d->stop && !nats_connected(d)) ap_sleep_ms(20);
}

/* Once per loop: heartbeat, readiness and (every few seconds) consumer lag.
 * Returns whether PostgreSQL is usable, reconnecting if needed. */
static bool report_health(ap_dispatcher *d) {
    ap_health_beat();
    bool nats_ok = nats_connected(d);
    ap_health_set(AP_CHECK_NATS, nats_ok);
    if (nats_ok) ap_lag_gauges_refresh(&d->m.lag, d->nats.nc, d->nats.js);
    /* An idle connection whose server went away is only noticed by reading. */
    bool pg_ok = ap_pg_alive(&d->pg) || ap_pg_ensure(&d->pg) == AP_OK;
    ap_health_set(AP_CHECK_POSTGRES, pg_ok);
    return pg_ok;
}

static void nats_fine(ap_dispatcher *d) {
    if (d->nats_trouble) ap_log_info("nats_available", NULL, "fetching again");
    d->nats_trouble = false;
}

/* Class 22 (data exception) and 23 (integrity constraint): about the rows,
 * not the database's health, so waiting would not help the whole batch. */
static bool sqlstate_is_data(const char *sqlstate) {
    return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0;
}

/* ---- PostgreSQL ------------------------------------------------------------ */

/* Runs a transaction command (BEGIN, COMMIT); on failure fills err and the
 * SQLSTATE ("" when the connection, not the statement, failed). */
static ap_status pg_command(ap_dispatcher *d, const char *sql, char sqlstate[6], char *err,
                            size_t errlen) {
    PGresult *res = PQexec(d->pg.conn, sql);
    ap_status st = ap_pg_result_ok(res, PGRES_COMMAND_OK, err, errlen);
    const char *code = res && st != AP_OK ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (st != AP_OK) snprintf(sqlstate, 6, "%s", code ? code : "");
    PQclear(res);
    return st;
}

/* Runs one of the store's statements (ap_store.h): their SQL lives there. */
static ap_status pg_store(ap_dispatcher *d, ap_store_op op, const char *const *params,
                          PGresult **out, char sqlstate[6], char *err, size_t errlen) {
    return ap_store_run(d->pg.conn, op, params, out, sqlstate, err, errlen);
}

/* ---- results -------------------------------------------------------------- */

static ap_status batch_init(batch *b, size_t cap) {
    memset(b, 0, sizeof(*b));
    b->msgs = calloc(cap, sizeof(*b->msgs));
    b->results = calloc(cap, sizeof(*b->results));
    b->cap = cap;
    return (b->msgs && b->results) ? AP_OK : AP_ENOMEM;
}

static void batch_reset(batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        natsMsg_Destroy(b->msgs[i]);
        ap_result_free(b->results[i]);
        b->msgs[i] = NULL;
        b->results[i] = NULL;
    }
    b->n = b->fetched = b->garbage = b->forged = 0;
}

static void batch_free(batch *b) {
    if (b->msgs) batch_reset(b);
    free(b->msgs);
    free(b->results);
    memset(b, 0, sizeof(*b));
}

/* The trace id a result message carries (ap_trace.h), "" when none: the
 * dispatcher's lines about that schedule carry it. It sends nothing on, so
 * it makes no span of its own. */
typedef struct trace_text {
    char id[AP_TRACE_ID_LEN + 1];
} trace_text;

static trace_text msg_trace_id(natsMsg *m) {
    trace_text t = {""};
    ap_trace tr;
    if (ap_msg_trace(m, &tr)) memcpy(t.id, tr.trace_id, sizeof(t.id));
    return t;
}

/* Terminates a message nobody can ever apply; the service keeps going. */
static void term_garbage(ap_dispatcher *d, natsMsg *m, const char *event, const char *why) {
    ap_term_garbage(m, event, why);
    d->total.garbage++;
}

/* Takes ownership of m. */
static void batch_take(ap_dispatcher *d, batch *b, natsMsg *m) {
    char err[256];
    ap_result *r = NULL;
    b->fetched++;
    if (ap_result_decode(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &r, err,
                         sizeof(err)) != AP_OK) {
        term_garbage(d, m, "result_garbage", err);
        b->garbage++;
        ap_counter_inc(d->m.poison);
        natsMsg_Destroy(m);
        return;
    }
    /* post_schedules.generation is int4: a larger one can match no row and
     * would only fail the batch. */
    if (r->generation > INT32_MAX) {
        term_garbage(d, m, "result_garbage", "invalid PublishResult: generation out of range");
        b->garbage++;
        ap_counter_inc(d->m.poison);
        ap_result_free(r);
        natsMsg_Destroy(m);
        return;
    }
    b->msgs[b->n] = m;
    b->results[b->n] = r;
    b->n++;
}

static void collect_batch(ap_dispatcher *d, batch *b) {
    int64_t deadline = 0;
    while (b->fetched < b->cap && !*d->stop) {
        int64_t wait = FETCH_IDLE_MS;
        if (b->fetched > 0) {
            wait = deadline - ap_mono_ms();
            if (wait <= 0) break;
        }
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(
            &list, d->results, ap_js_fetch_batch(d->results, (int)(b->cap - b->fetched)), wait,
            &jerr);
        /* "Nothing now". nats.c 3.4.1 can also answer NATS_TIMEOUT at once
         * after an earlier pull expired; the next loop simply asks again. */
        if (s == NATS_TIMEOUT || s == NATS_NOT_FOUND) break;
        if (s != NATS_OK) {
            nats_trouble(d, "fetch results", s, jerr);
            break;
        }
        nats_fine(d);
        if (b->fetched == 0) deadline = ap_mono_ms() + d->cfg->dispatcher_flush_ms;
        for (int i = 0; i < list.Count; i++) {
            batch_take(d, b, list.Msgs[i]);
            list.Msgs[i] = NULL;
        }
        natsMsgList_Destroy(&list);
    }
}

/* Logs what the UPDATE found for each collapsed row; runs after COMMIT so
 * the lines describe what is durable. */
static void report_rows(const ap_fold *f, ap_result *const *results, natsMsg *const *msgs,
                        PGresult *res, fold_counts *c) {
    for (int row = 0; row < PQntuples(res); row++) {
        long idx = strtol(PQgetvalue(res, row, AP_FOLD_COL_INDEX), NULL, 10) - 1;
        if (idx < 0 || (size_t)idx >= f->nupdates) continue;
        const ap_result *r = results[f->update_src[idx]];
        trace_text trace = msg_trace_id(msgs[f->update_src[idx]]);
        const char *outcome = ap_outcome_name(r->outcome);
        if (PQgetisnull(res, row, AP_FOLD_COL_OLD_STATUS)) {
            c->unknown++;
            ap_log_job_warn("result_unknown_schedule", r->schedule_id, trace.id,
                            "%s result (attempt %u) for a schedule that does not exist; acked",
                            outcome, r->attempt);
            continue;
        }
        const char *old = PQgetvalue(res, row, AP_FOLD_COL_OLD_STATUS);
        long gen = strtol(PQgetvalue(res, row, AP_FOLD_COL_ROW_GENERATION), NULL, 10);
        if (PQgetvalue(res, row, AP_FOLD_COL_APPLIED)[0] == 't') {
            c->applied++;
            /* The status the UPDATE returned, not the result's outcome: the
             * counter says what the database holds. */
            int st = ap_terminal_status_of(PQgetvalue(res, row, AP_FOLD_COL_NEW_STATUS));
            Autopost__V1__Outcome o = r->outcome;
            if (o == AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED && st == AP_TERMINAL_FAILED) {
                /* One post, one schedule (fold.h): another schedule holds it. */
                o = AUTOPOST__V1__OUTCOME__OUTCOME_FAILED;
                ap_log_job_warn("post_held", r->schedule_id, trace.id,
                                "published as %s, a post another schedule of the account already "
                                "holds: failed as a duplicate",
                                r->external_post_id);
            }
            if (o >= 0 && o <= AP_OUTCOME_LAST) c->applied_by_outcome[o]++;
            if (st >= 0) c->terminal[st][AP_CAUSE_RESULT]++;
            ap_log_job_debug("result_applied", r->schedule_id, trace.id,
                             "%s -> %s (attempt %u, generation %u)", old, outcome, r->attempt,
                             r->generation);
        } else if (gen != (long)r->generation) {
            c->stale++;
            ap_log_job_debug("result_stale", r->schedule_id, trace.id,
                             "%s result of generation %u kept as history only: row is at "
                             "generation %ld",
                             outcome, r->generation, gen);
        } else {
            c->ignored++;
            ap_log_job_debug("result_ignored", r->schedule_id, trace.id,
                             "%s (attempt %u) does not move a %s row forward", outcome, r->attempt,
                             old);
        }
    }
}

/* Refreshed credentials and reauth marks (fold.h), inside the batch's
 * transaction; af->reauth[i].failed says how many schedules each mark
 * failed, counted only once the batch commits. */
static ap_status apply_account_effects(ap_dispatcher *d, ap_account_fold *af, char sqlstate[6],
                                       char *err, size_t errlen) {
    ap_status st;
    if (af->ncredentials > 0 &&
        (st = pg_store(d, AP_STORE_ACCOUNT_CREDENTIALS, (const char *const *)af->credentials, NULL,
                       sqlstate, err, errlen)) != AP_OK)
        return st;
    if (af->npauses > 0 &&
        (st = pg_store(d, AP_STORE_ACCOUNT_PAUSE, (const char *const *)af->pauses, NULL, sqlstate,
                       err, errlen)) != AP_OK)
        return st;
    if (af->nusage > 0 && (st = pg_store(d, AP_STORE_ACCOUNT_USAGE, (const char *const *)af->usage,
                                         NULL, sqlstate, err, errlen)) != AP_OK)
        return st;
    for (size_t i = 0; i < af->nreauth; i++) {
        ap_account_reauth *a = &af->reauth[i];
        const char *params[] = {a->account_id, a->reason, a->issued_at, a->message};
        PGresult *res = NULL;
        if ((st = pg_store(d, AP_STORE_ACCOUNT_REAUTH, params, &res, sqlstate, err, errlen)) !=
            AP_OK)
            return st;
        char *end = NULL;
        const char *n = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
        a->failed = strtoull(n, &end, 10);
        bool counted = *n != '\0' && *end == '\0';
        PQclear(res);
        if (!counted) {
            /* Committing a cascade we cannot count would hide it again. */
            snprintf(err, errlen, "account reauth: unexpected answer \"%.32s\"", n);
            return AP_EPG;
        }
    }
    return AP_OK;
}

static void report_accounts(const ap_account_fold *af, fold_counts *c) {
    if (af->ncredentials > 0)
        ap_log_info("credentials_refreshed", NULL,
                    "%zu account credential(s) refreshed by publishers offered for storage",
                    af->ncredentials);
    for (size_t i = 0; i < af->nreauth; i++) {
        c->terminal[AP_TERMINAL_FAILED][AP_CAUSE_REAUTH_CASCADE] += af->reauth[i].failed;
        ap_log_info("account_reauth", NULL,
                    "account %s: reauth result applied (%" PRIu64
                    " other open schedule(s) failed): %s",
                    af->reauth[i].account_id, af->reauth[i].failed, af->reauth[i].reason);
    }
}

/* The whole fold in one transaction. */
static ap_status apply_results(ap_dispatcher *d, ap_result *const *results, natsMsg *const *msgs,
                               size_t n, fold_counts *c, char sqlstate[6], char *err,
                               size_t errlen) {
    ap_fold f;
    ap_account_fold af;
    PGresult *res = NULL;
    ap_fold_init(&f);
    ap_account_fold_init(&af);
    sqlstate[0] = '\0';
    ap_status st = ap_fold_build(&f, results, n);
    if (st == AP_OK) st = ap_account_fold_build(&af, results, n);
    if (st != AP_OK) {
        snprintf(err, errlen, "building the batch: %s", ap_status_str(st));
        goto cleanup;
    }
    if ((st = pg_command(d, BEGIN_SQL, sqlstate, err, errlen)) ||
        (st = pg_store(d, AP_STORE_FOLD_HISTORY, (const char *const *)f.history, NULL, sqlstate,
                       err, errlen)) ||
        (st = pg_store(d, AP_STORE_FOLD_UPDATE, (const char *const *)f.update, &res, sqlstate, err,
                       errlen)) ||
        (st = apply_account_effects(d, &af, sqlstate, err, errlen)) ||
        (st = pg_command(d, "COMMIT", sqlstate, err, errlen)))
        goto cleanup;
    report_rows(&f, results, msgs, res, c);
    report_accounts(&af, c);
cleanup:
    if (st != AP_OK) ap_pg_rollback(&d->pg);
    PQclear(res);
    ap_fold_free(&f);
    ap_account_fold_free(&af);
    return st;
}

static void ack_messages(natsMsg **msgs, size_t n) {
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        if (natsMsg_Ack(msgs[i], NULL) != NATS_OK) failed++;
    if (failed)
        ap_log_warn("ack_failed", NULL,
                    "%zu of %zu acks not sent after COMMIT; those results will be redelivered "
                    "and re-applied harmlessly",
                    failed, n);
}

static void nak_messages(ap_dispatcher *d, natsMsg **msgs, size_t n) {
    for (size_t i = 0; i < n; i++) natsMsg_NakWithDelay(msgs[i], NAK_DELAY_MS, NULL);
    d->total.naks += n;
}

/* Isolates the result(s) PostgreSQL refuses: each alone, in its own
 * transaction. */
static void apply_one_by_one(ap_dispatcher *d, batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        fold_counts c = {0};
        char sqlstate[6], err[1024];
        ap_result *r = b->results[i];
        if (apply_results(d, &b->results[i], &b->msgs[i], 1, &c, sqlstate, err, sizeof(err)) ==
            AP_OK) {
            count_applied(d, &c);
            natsMsg_Ack(b->msgs[i], NULL);
        } else if (strncmp(sqlstate, "22", 2) == 0) {
            natsMsg_Term(b->msgs[i], NULL);
            d->total.garbage++;
            ap_counter_inc(d->m.poison);
            ap_log_job_error("result_rejected", r->schedule_id, msg_trace_id(b->msgs[i]).id,
                             "PostgreSQL rejects this %s result (attempt %u, stream seq %" PRIu64
                             ") with SQLSTATE %s: %s; terminated",
                             ap_outcome_name(r->outcome), r->attempt, ap_msg_stream_seq(b->msgs[i]),
                             sqlstate, err);
        } else {
            nak_messages(d, &b->msgs[i], 1);
            ap_log_job_warn("result_nak", r->schedule_id, msg_trace_id(b->msgs[i]).id,
                            "not applied (%s%s%s); nak'ed for %d ms", sqlstate,
                            *sqlstate ? ": " : "", err, NAK_DELAY_MS);
        }
    }
}

/* ---- who may report on a schedule (fold.h) --------------------------------- */

static void term_forged(ap_dispatcher *d, natsMsg *m, const ap_result *r, ap_owner_verdict v,
                        const char *schedule_account, const char *account_platform) {
    uint64_t seq = ap_msg_stream_seq(m);
    natsStatus s = natsMsg_Term(m, NULL);
    /* Ids and platform names only: never the credential or the text. */
    ap_log_job_error(
        "result_forged", r->schedule_id, msg_trace_id(m).id,
        "terminated %s result on %s (stream seq %" PRIu64 ", publisher \"%.64s\"): %s; "
        "it names platform \"%.32s\" and account \"%.40s\", the schedule's account is "
        "%s on %s%s",
        ap_outcome_name(r->outcome), natsMsg_GetSubject(m), seq, r->publisher_instance,
        ap_owner_verdict_name(v), r->platform, r->account_id,
        schedule_account ? schedule_account : "(no such schedule)",
        account_platform ? account_platform : "-",
        s == NATS_OK ? "" : " (term not sent: it will come back and be terminated again)");
    ap_counter_inc(d->m.forged[v]);
    d->total.garbage++;
}

/* Looks up every result's schedule and keeps in b only the results their
 * subject's platform owns; the others are terminated and freed. */
static ap_status drop_forged(ap_dispatcher *d, batch *b, char sqlstate[6], char *err,
                             size_t errlen) {
    ap_pg_array ids;
    ap_pg_array_init(&ids);
    for (size_t i = 0; i < b->n; i++) ap_pg_array_text(&ids, b->results[i]->schedule_id);
    char *ids_literal = ap_pg_array_finish(&ids);
    sqlstate[0] = '\0';
    if (ids_literal == NULL) {
        snprintf(err, errlen, "owner check: out of memory");
        return AP_ENOMEM;
    }
    const char *params[] = {ids_literal};
    PGresult *res = NULL;
    ap_status st = pg_store(d, AP_STORE_OWNER_LOOKUP, params, &res, sqlstate, err, errlen);
    free(ids_literal);
    if (st != AP_OK) return st;
    /* Row i answers result i (owner_lookup.sql); anything else is a bug. */
    if ((size_t)PQntuples(res) != b->n) {
        snprintf(err, errlen, "owner check: %d rows for %zu results", PQntuples(res), b->n);
        PQclear(res);
        return AP_EINVAL;
    }
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        ap_result *r = b->results[i];
        const char *account = NULL, *platform = NULL;
        if (!PQgetisnull(res, (int)i, AP_STORE_OWNER_COL_ACCOUNT)) {
            account = PQgetvalue(res, (int)i, AP_STORE_OWNER_COL_ACCOUNT);
            if (!PQgetisnull(res, (int)i, AP_STORE_OWNER_COL_PLATFORM))
                platform = PQgetvalue(res, (int)i, AP_STORE_OWNER_COL_PLATFORM);
        }
        char subject_platform[64];
        ap_owner_verdict v =
            ap_owner_check(r,
                           ap_owner_subject_platform(natsMsg_GetSubject(b->msgs[i]),
                                                     subject_platform, sizeof(subject_platform)),
                           account, platform);
        if (v == AP_OWNER_OK) {
            b->msgs[kept] = b->msgs[i];
            b->results[kept] = r;
            kept++;
            continue;
        }
        term_forged(d, b->msgs[i], r, v, account, platform);
        b->forged++;
        natsMsg_Destroy(b->msgs[i]);
        ap_result_free(r);
    }
    for (size_t i = kept; i < b->n; i++) {
        b->msgs[i] = NULL;
        b->results[i] = NULL;
    }
    b->n = kept;
    PQclear(res);
    return AP_OK;
}

/* Returns whether the batch committed (or was settled one by one). */
static bool process_batch(ap_dispatcher *d, batch *b) {
    if (b->n == 0) return true;
    fold_counts c = {0};
    char sqlstate[6], err[1024];
    int64_t t0 = ap_mono_ms();
    d->total.batches++;
    d->total.results += b->n;
    if (drop_forged(d, b, sqlstate, err, sizeof(err)) != AP_OK) {
        nak_messages(d, b->msgs, b->n);
        ap_log_warn("batch_failed", NULL, "%zu results not checked (%s%s%s); nak'ed for %d ms",
                    b->n, sqlstate, *sqlstate ? ": " : "", err, NAK_DELAY_MS);
        return false;
    }
    if (b->n == 0) return true;
    if (apply_results(d, b->results, b->msgs, b->n, &c, sqlstate, err, sizeof(err)) == AP_OK) {
        count_applied(d, &c);
        ack_messages(b->msgs, b->n);
        ap_log_info("batch_applied", NULL,
                    "%zu results in %" PRId64 " ms: %zu rows moved, %zu left (already there or "
                    "further on), %zu of an old generation, %zu unknown schedules, %zu superseded "
                    "in the batch, %zu garbage, %zu forged",
                    b->n, ap_mono_ms() - t0, c.applied, c.ignored, c.stale, c.unknown,
                    b->n - (c.applied + c.ignored + c.stale + c.unknown), b->garbage, b->forged);
        return true;
    }
    if (b->n > 1 && sqlstate_is_data(sqlstate) && PQstatus(d->pg.conn) == CONNECTION_OK) {
        ap_log_warn("batch_rejected", NULL,
                    "PostgreSQL rejected a batch of %zu (SQLSTATE %s: %s); applying its results "
                    "one by one",
                    b->n, sqlstate, err);
        apply_one_by_one(d, b);
        return true;
    }
    nak_messages(d, b->msgs, b->n);
    ap_log_warn("batch_failed", NULL, "%zu results not applied (%s%s%s); nak'ed for %d ms", b->n,
                sqlstate, *sqlstate ? ": " : "", err, NAK_DELAY_MS);
    return false;
}

/* ---- lifecycle ------------------------------------------------------------- */

static ap_status bind_consumer(ap_dispatcher *d, natsSubscription **sub, const char *subject,
                               const char *stream, const char *consumer, char *err, size_t errlen) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = consumer; /* bind to the durable the topology made, never create */
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(sub, d->nats.js, subject, consumer, NULL, &so, &jerr);
    if (s != NATS_OK) {
        char what[128];
        snprintf(what, sizeof(what), "bind consumer %s on %s", consumer, stream);
        ap_nats_error(err, errlen, what, s, jerr);
        return AP_ENATS;
    }
    return AP_OK;
}

static ap_status bind_consumers(ap_dispatcher *d) {
    char err[512];
    while (!*d->stop) {
        ap_status st = AP_OK;
        if (d->results == NULL)
            st = bind_consumer(d, &d->results, AP_SUBJECT_RESULTS_PREFIX "*", AP_STREAM_RESULTS,
                               AP_CONSUMER_DISPATCHER, err, sizeof(err));
        if (st == AP_OK && d->adv.sub == NULL)
            st = bind_consumer(d, &d->adv.sub, AP_SUBJECT_MAX_DELIVERIES, AP_STREAM_ADVISORIES,
                               AP_CONSUMER_ADVISORIES, err, sizeof(err));
        if (st == AP_OK) return AP_OK;
        ap_log_warn("bind_retry", NULL, "%s", err);
        sleep_unless_stopped(d, 1000);
    }
    return AP_ETIMEOUT;
}

ap_status ap_dispatcher_create(ap_dispatcher **out, const ap_config *cfg,
                               volatile sig_atomic_t *stop, char *err, size_t errlen) {
    ap_status st;
    ap_dispatcher *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    d->cfg = cfg;
    d->stop = stop;
    dispatcher_metrics_init(d);
    d->adv = (ap_advisories){
        .nats = &d->nats,
        .pg = &d->pg,
        .stop = stop,
        .handled = d->m.advisories,
        .gave_up_failed = d->m.terminal[AP_TERMINAL_FAILED][AP_CAUSE_MAX_DELIVERIES],
    };
    if ((st = batch_init(&d->batch, (size_t)cfg->dispatcher_batch_size)) != AP_OK) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((st = ap_nats_connect(&d->nats, cfg, "autopost-dispatcher", NULL, err, errlen)) != AP_OK)
        goto fail;
    char pgerr[512];
    if (ap_pg_open(&d->pg, cfg->pg_dsn, "autopost-dispatcher", pgerr, sizeof(pgerr)) != AP_OK) {
        if (d->pg.conn == NULL) {
            snprintf(err, errlen, "postgres: %s", pgerr);
            st = AP_ENOMEM;
            goto fail;
        }
        ap_log_warn("postgres_down", NULL, "%s; results wait in the stream until it is back",
                    pgerr);
    }
    *out = d;
    return AP_OK;
fail:
    ap_dispatcher_destroy(d);
    return st;
}

ap_status ap_dispatcher_run(ap_dispatcher *d) {
    wait_for_nats(d);
    if (ap_js_topology_ready_wait(d->nats.js, d->cfg, AP_ROLE_DISPATCHER, NULL, d->stop) != AP_OK ||
        bind_consumers(d) != AP_OK)
        return AP_OK; /* stopped before we had started: nothing in hand */
    ap_health_set(AP_CHECK_TOPOLOGY, true);
    char err[512];
    ap_status st = ap_relay_start(&d->relay, d->cfg, d->stop, err, sizeof(err));
    if (st != AP_OK) {
        ap_log_error("relay_failed", NULL, "%s", err);
        return st;
    }
    ap_log_info("dispatcher_started", NULL,
                "consuming %s/%s and %s/%s, batch %d, flush %" PRId64 " ms", AP_STREAM_RESULTS,
                AP_CONSUMER_DISPATCHER, AP_STREAM_ADVISORIES, AP_CONSUMER_ADVISORIES,
                d->cfg->dispatcher_batch_size, d->cfg->dispatcher_flush_ms);
    while (!*d->stop) {
        if (!report_health(d)) {
            sleep_unless_stopped(d, PG_WAIT_STEP_MS);
            continue;
        }
        ap_advisories_poll(&d->adv);
        collect_batch(d, &d->batch);
        size_t batch_n = d->batch.n;
        int64_t t0 = ap_mono_ms();
        bool ok = process_batch(d, &d->batch);
        if (batch_n > 0) {
            ap_counter_inc(d->m.batches);
            ap_histogram_observe(d->m.batch_seconds, (double)(ap_mono_ms() - t0) / 1000.0);
        }
        batch_reset(&d->batch);
        if (ok) {
            d->fail_backoff_ms = 0;
        } else if (PQstatus(d->pg.conn) == CONNECTION_OK) {
            /* A lost connection has ap_pg_ensure's own backoff. */
            d->fail_backoff_ms = d->fail_backoff_ms ? d->fail_backoff_ms * 2 : FAIL_BACKOFF_MIN_MS;
            if (d->fail_backoff_ms > FAIL_BACKOFF_MAX_MS) d->fail_backoff_ms = FAIL_BACKOFF_MAX_MS;
            sleep_unless_stopped(d, d->fail_backoff_ms);
        }
    }
    ap_log_info("dispatcher_stopped", NULL,
                "%" PRIu64 " results in %" PRIu64 " batches, %" PRIu64 " garbage, %" PRIu64
                " nak'ed, %" PRIu64 " given up",
                d->total.results, d->total.batches, d->total.garbage + d->adv.garbage,
                d->total.naks, d->adv.gave_up);
    return AP_OK;
}

void ap_dispatcher_destroy(ap_dispatcher *d) {
    if (d == NULL) return;
    /* Unsubscribing a bound durable leaves the consumer (and anything still
     * unacked, redelivered after AckWait) on the server. */
    if (d->results) {
        natsSubscription_Unsubscribe(d->results);
        natsSubscription_Destroy(d->results);
    }
    if (d->adv.sub) {
        natsSubscription_Unsubscribe(d->adv.sub);
        natsSubscription_Destroy(d->adv.sub);
    }
    /* The relay stops with the same flag; without a stop (a failed start)
     * it was never started. */
    ap_relay_join(d->relay);
    batch_free(&d->batch);
    ap_pg_close(&d->pg);
    ap_nats_close(&d->nats);
    free(d);
}
