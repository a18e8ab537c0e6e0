/* relay.c -- see relay.h for the design and its guarantees.
 *
 * Threads: the relay thread owns its PostgreSQL connection and its pass;
 * nats.c calls on_puback from its own thread, which only flips the row's
 * flags under the pass mutex. */
#include "relay.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_buf.h"
#include "ap_failpoint.h"
#include "ap_health.h"
#include "ap_log.h"
#include "ap_nats.h"
#include "ap_pg.h"
#include "ap_proto.h"
#include "ap_time.h"

/* Events per pass: big enough that a burst (a reauth cascade failing a few
 * thousand schedules) drains in a few round trips, small enough that a
 * PubAck timeout leaves little to redo. */
#define RELAY_BATCH 256
/* The sweep: how late an event whose NOTIFY was missed can be. */
#define SWEEP_MS 1000
#define PUBACK_WAIT_MS 5000
#define PG_RETRY_MS 250
/* The backlog gauges count the unrelayed rows: after an outage that is a
 * scan of a long index, so at most once a second, not once a pass. */
#define BACKLOG_REFRESH_MS 1000
/* Retention (events.retention): relayed rows older than that are deleted, at
 * most PRUNE_BATCH per call so no statement holds many row locks or runs
 * long; a full batch means more are waiting and the next pass prunes again. */
#define PRUNE_BATCH 5000
#define PRUNE_INTERVAL_MS 60000
#define NOTIFY_CHANNEL "autopost_events"
#define EVENT_CONTENT_TYPE "application/json"
/* A pass holds row locks only while it publishes: far below any timeout. */
#define BEGIN_SQL "BEGIN; SET LOCAL statement_timeout = '10s'"

static const char SELECT_SQL[] =
    "SELECT id, tenant_id, type, body,"
    " extract(epoch FROM clock_timestamp() - created_at)::float8"
    " FROM events WHERE relayed_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED";
enum { COL_ID, COL_TENANT, COL_TYPE, COL_BODY, COL_AGE };
static const char MARK_SQL[] =
    "UPDATE events SET relayed_at = now() WHERE id = ANY(string_to_array($1, ',')::uuid[])";
static const char PRUNE_SQL[] = "SELECT autopost_prune_events($1::bigint, $2::integer)";
static const char BACKLOG_SQL[] =
    "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8"
    " FROM events WHERE relayed_at IS NULL";

/* Every type the triggers write (events_type_check, 0016_terminal_states.sql). */
static const char *const event_types[] = {
    "schedule.published", "schedule.failed",  "schedule.unconfirmed",   "schedule.cancelled",
    "schedule.skipped",   "schedule.expired", "account.reauth_required"};
#define NTYPES (sizeof(event_types) / sizeof(event_types[0]))

typedef struct relay_row {
    char id[40];
    int type;     /* index into event_types */
    double age_s; /* since created_at, when selected */
    bool acked, duplicate;
} relay_row;

typedef struct relay_pass {
    relay_row rows[RELAY_BATCH];
    relay_row *by_id[RELAY_BATCH]; /* sorted, for on_puback */
    int n;
    int errors;
    pthread_mutex_t mu;
} relay_pass;

typedef struct relay_metrics {
    ap_counter *relayed[NTYPES];
    ap_counter *duplicates, *publish_errors, *pruned;
    ap_gauge *unrelayed, *lag_seconds;
    ap_histogram *delay_seconds;
} relay_metrics;

struct ap_relay {
    const ap_config *cfg;
    volatile sig_atomic_t *stop;
    ap_nats nats;
    ap_pg pg;
    bool listening;
    bool pg_trouble;
    pthread_t thread;
    bool started;
    int64_t next_backlog_ms, next_prune_ms;
    relay_pass pass;
    relay_metrics m;
    uint64_t total_relayed, total_duplicates;
};

static int cmp_row_ptr(const void *a, const void *b) {
    return strcmp((*(relay_row *const *)a)->id, (*(relay_row *const *)b)->id);
}

/* PubAck callback (a nats.c thread). With an AckHandler the message is ours. */
static void on_puback(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
    (void)js;
    relay_pass *p = closure;
    const char *id = NULL;
    if (natsMsgHeader_Get(msg, AP_HDR_MSG_ID, &id) == NATS_OK && id != NULL) {
        relay_row key, *keyp = &key;
        snprintf(key.id, sizeof(key.id), "%s", id);
        pthread_mutex_lock(&p->mu);
        relay_row **hit = bsearch(&keyp, p->by_id, (size_t)p->n, sizeof(*hit), cmp_row_ptr);
        if (hit && pa != NULL && pae == NULL) {
            (*hit)->acked = true;
            (*hit)->duplicate = pa->Duplicate;
        } else if (hit) {
            p->errors++;
            ap_log_warn("event_not_stored", NULL, "event %s: %s", id,
                        pae && pae->ErrText ? pae->ErrText
                                            : natsStatus_GetText(pae ? pae->Err : NATS_ERR));
        }
        pthread_mutex_unlock(&p->mu);
    }
    natsMsg_Destroy(msg);
}

static void relay_metrics_init(relay_metrics *m) {
    ap_metrics *reg = ap_health_metrics();
    for (size_t t = 0; t < NTYPES; t++) {
        const char *const labels[] = {"type", event_types[t], NULL};
        m->relayed[t] = ap_metrics_counter(
            reg, "autopost_events_relayed_total",
            "Events stored in AUTOPOST_EVENTS (PubAck) and marked relayed, by type.", labels);
    }
    m->duplicates = ap_metrics_counter(
        reg, "autopost_events_relay_duplicates_total",
        "Events published again after a relay died before marking them; JetStream dropped the "
        "copy (same Nats-Msg-Id).",
        NULL);
    m->publish_errors = ap_metrics_counter(reg, "autopost_events_publish_errors_total",
                                           "Event publishes without a PubAck (left for the next "
                                           "pass).",
                                           NULL);
    m->pruned = ap_metrics_counter(reg, "autopost_events_pruned_total",
                                   "Relayed events deleted after events.retention.", NULL);
    m->unrelayed = ap_metrics_gauge(reg, "autopost_events_unrelayed",
                                    "Committed events not yet relayed (all replicas).", NULL);
    m->lag_seconds = ap_metrics_gauge(
        reg, "autopost_events_relay_lag_seconds",
        "Age of the oldest committed event not yet relayed; 0 when none waits.", NULL);
    m->delay_seconds = ap_metrics_histogram(
        reg, "autopost_events_relay_delay_seconds",
        "From the state change's transaction to the event's PubAck, per relayed event.", NULL,
        ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
}

static int type_index(const char *type) {
    for (size_t t = 0; t < NTYPES; t++)
        if (strcmp(type, event_types[t]) == 0) return (int)t;
    return -1;
}

static ap_status pg_command(ap_relay *r, const char *sql, int nparams, const char *const *params,
                            char *err, size_t errlen) {
    PGresult *res = PQexecParams(r->pg.conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ap_status st = ap_pg_result_ok(res, PGRES_COMMAND_OK, err, errlen);
    PQclear(res);
    return st;
}

/* Connected and listening? Reconnects (with ap_pg's backoff) and re-LISTENs. */
static bool pg_ready(ap_relay *r) {
    if (!ap_pg_alive(&r->pg)) r->listening = false;
    if (ap_pg_ensure(&r->pg) != AP_OK) return false;
    if (!r->listening) {
        char err[512];
        if (ap_pg_exec(&r->pg, "LISTEN " NOTIFY_CHANNEL, err, sizeof(err)) != AP_OK) {
            ap_log_warn("relay_listen_failed", NULL, "%s", err);
            return false;
        }
        r->listening = true;
    }
    return true;
}

/* Publishes one selected row; false when nats.c refused it at once. */
static bool publish_row(ap_relay *r, PGresult *res, int i) {
    const char *id = PQgetvalue(res, i, COL_ID);
    char subject[160];
    int n = snprintf(subject, sizeof(subject), AP_SUBJECT_EVENTS_PREFIX "%s.%s",
                     PQgetvalue(res, i, COL_TENANT), PQgetvalue(res, i, COL_TYPE));
    if (n < 0 || (size_t)n >= sizeof(subject)) return false;
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, PQgetvalue(res, i, COL_BODY),
                                  PQgetlength(res, i, COL_BODY));
    if (s == NATS_OK) s = natsMsgHeader_Set(m, AP_HDR_MSG_ID, id);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, AP_HDR_CONTENT_TYPE, EVENT_CONTENT_TYPE);
    if (s == NATS_OK) s = js_PublishMsgAsync(r->nats.js, &m, NULL);
    natsMsg_Destroy(m); /* NULL once nats.c took it */
    if (s != NATS_OK) {
        char err[256];
        ap_nats_error(err, sizeof(err), "publish event", s, 0);
        ap_log_warn("event_not_sent", NULL, "event %s: %s", id, err);
        return false;
    }
    return true;
}

static void wait_for_pubacks(ap_relay *r) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBACK_WAIT_MS;
    natsStatus s = js_PublishAsyncComplete(r->nats.js, &po);
    if (s == NATS_OK) return;
    /* The unacked stay unrelayed; a copy that did land is dropped as a
     * duplicate next pass. Only a timeout guarantees nats.c's pending map
     * exists (publishers/engine/jsasync.c). */
    natsMsgList pending = {0};
    if (s == NATS_TIMEOUT && js_PublishAsyncGetPendingList(&pending, r->nats.js) == NATS_OK)
        natsMsgList_Destroy(&pending);
    ap_log_warn("event_puback_timeout", NULL, "waiting for PubAcks: %s", natsStatus_GetText(s));
}

/* "id,id,..." of the acked rows; counts them into *acked. */
static ap_status acked_ids(const relay_pass *p, ap_buf *ids, int *acked) {
    *acked = 0;
    for (int i = 0; i < p->n; i++) {
        if (!p->rows[i].acked) continue;
        if (*acked > 0) ap_buf_puts(ids, ",");
        ap_buf_puts(ids, p->rows[i].id);
        (*acked)++;
    }
    return ap_buf_failed(ids) ? AP_ENOMEM : AP_OK;
}

static void count_relayed(ap_relay *r, const relay_pass *p, int64_t since_select_ms) {
    for (int i = 0; i < p->n; i++) {
        const relay_row *row = &p->rows[i];
        if (!row->acked) continue;
        if (row->type >= 0) ap_counter_inc(r->m.relayed[row->type]);
        if (row->duplicate) {
            ap_counter_inc(r->m.duplicates);
            r->total_duplicates++;
        }
        ap_histogram_observe(r->m.delay_seconds, row->age_s + (double)since_select_ms / 1000.0);
        r->total_relayed++;
    }
}

/* Copies the selected rows into the pass and sorts them for on_puback. */
static void pass_load(relay_pass *p, PGresult *res) {
    pthread_mutex_lock(&p->mu);
    p->n = PQntuples(res) > RELAY_BATCH ? RELAY_BATCH : PQntuples(res);
    p->errors = 0;
    for (int i = 0; i < p->n; i++) {
        relay_row *row = &p->rows[i];
        snprintf(row->id, sizeof(row->id), "%s", PQgetvalue(res, i, COL_ID));
        row->type = type_index(PQgetvalue(res, i, COL_TYPE));
        row->age_s = strtod(PQgetvalue(res, i, COL_AGE), NULL);
        row->acked = row->duplicate = false;
        p->by_id[i] = row;
    }
    qsort(p->by_id, (size_t)p->n, sizeof(p->by_id[0]), cmp_row_ptr);
    pthread_mutex_unlock(&p->mu);
}

/* One pass; returns the number of rows selected (-1 when it failed). */
static int relay_pass_run(ap_relay *r) {
    char err[1024], limit[16];
    ap_buf ids = {0};
    PGresult *res = NULL;
    int selected = -1, acked = 0;
    snprintf(limit, sizeof(limit), "%d", RELAY_BATCH);
    const char *select_params[] = {limit};
    if (ap_pg_exec(&r->pg, BEGIN_SQL, err, sizeof(err)) != AP_OK) goto fail;
    res = PQexecParams(r->pg.conn, SELECT_SQL, 1, NULL, select_params, NULL, NULL, 0);
    if (ap_pg_result_ok(res, PGRES_TUPLES_OK, err, sizeof(err)) != AP_OK) goto fail;
    selected = PQntuples(res);
    if (selected == 0) {
        if (ap_pg_exec(&r->pg, "COMMIT", err, sizeof(err)) != AP_OK) goto fail;
        goto done;
    }
    pass_load(&r->pass, res);
    int64_t t0 = ap_mono_ms();
    ap_failpoint("relay_before_publish");
    int refused = 0;
    for (int i = 0; i < r->pass.n; i++)
        if (!publish_row(r, res, i)) refused++;
    wait_for_pubacks(r);
    ap_failpoint("relay_before_mark");
    pthread_mutex_lock(&r->pass.mu);
    ap_status st = acked_ids(&r->pass, &ids, &acked);
    int errors = r->pass.errors + refused;
    pthread_mutex_unlock(&r->pass.mu);
    if (st != AP_OK) {
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }
    ap_counter_add(r->m.publish_errors, (uint64_t)(r->pass.n - acked));
    if (acked > 0) {
        const char *mark_params[] = {ids.data};
        if (pg_command(r, MARK_SQL, 1, mark_params, err, sizeof(err)) != AP_OK) goto fail;
    }
    if (ap_pg_exec(&r->pg, "COMMIT", err, sizeof(err)) != AP_OK) goto fail;
    count_relayed(r, &r->pass, ap_mono_ms() - t0);
    ap_log_info("events_relayed", NULL, "%d of %d events relayed in %" PRId64 " ms (%d errors)",
                acked, r->pass.n, ap_mono_ms() - t0, errors);
    goto done;
fail:
    ap_pg_rollback(&r->pg);
    if (!r->pg_trouble) ap_log_warn("relay_pass_failed", NULL, "%s; retrying", err);
    r->pg_trouble = true;
    selected = -1;
done:
    if (selected >= 0) r->pg_trouble = false;
    ap_buf_free(&ids);
    PQclear(res);
    return selected;
}

static void refresh_backlog(ap_relay *r) {
    int64_t now = ap_mono_ms();
    if (now < r->next_backlog_ms) return;
    r->next_backlog_ms = now + BACKLOG_REFRESH_MS;
    PGresult *res = PQexec(r->pg.conn, BACKLOG_SQL);
    char err[256];
    if (ap_pg_result_ok(res, PGRES_TUPLES_OK, err, sizeof(err)) == AP_OK && PQntuples(res) == 1) {
        ap_gauge_set(r->m.unrelayed, strtod(PQgetvalue(res, 0, 0), NULL));
        ap_gauge_set(r->m.lag_seconds, strtod(PQgetvalue(res, 0, 1), NULL));
    }
    PQclear(res);
}

/* Deletes relayed events older than events.retention (0: keeps them all).
 * A short retention (tests) is checked more often than once a minute. */
static void prune_events(ap_relay *r) {
    int64_t keep = r->cfg->events_retention_ms, now = ap_mono_ms();
    if (keep <= 0 || now < r->next_prune_ms) return;
    int64_t interval = keep / 2 < PRUNE_INTERVAL_MS ? keep / 2 : PRUNE_INTERVAL_MS;
    char keep_ms[24], batch[16], err[256] = "no answer";
    snprintf(keep_ms, sizeof(keep_ms), "%" PRId64, keep);
    snprintf(batch, sizeof(batch), "%d", PRUNE_BATCH);
    const char *params[] = {keep_ms, batch};
    PGresult *res = PQexecParams(r->pg.conn, PRUNE_SQL, 2, NULL, params, NULL, NULL, 0);
    if (ap_pg_result_ok(res, PGRES_TUPLES_OK, err, sizeof(err)) == AP_OK && PQntuples(res) == 1) {
        long deleted = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        ap_counter_add(r->m.pruned, (uint64_t)(deleted > 0 ? deleted : 0));
        if (deleted > 0)
            ap_log_info("events_pruned", NULL,
                        "%ld relayed events older than %" PRId64 " ms deleted", deleted, keep);
        if (deleted >= PRUNE_BATCH) interval = 0;
    } else {
        ap_log_warn("events_prune_failed", NULL, "%s", err);
    }
    PQclear(res);
    r->next_prune_ms = now + interval;
}

static void *relay_main(void *arg) {
    ap_relay *r = arg;
    ap_log_info("relay_started", NULL, "relaying events to %s, %d per pass, sweep %d ms",
                AP_STREAM_EVENTS, RELAY_BATCH, SWEEP_MS);
    while (!*r->stop) {
        if (!pg_ready(r)) {
            ap_pg_wait_notify(&r->pg, PG_RETRY_MS, r->stop);
            continue;
        }
        /* Disconnected, a publish would only sit in the reconnect buffer
         * while the rows stay locked: wait for NATS instead. */
        if (natsConnection_Status(r->nats.nc) != NATS_CONN_STATUS_CONNECTED) {
            ap_sleep_ms(PG_RETRY_MS);
            continue;
        }
        int selected = relay_pass_run(r);
        refresh_backlog(r);
        if (selected >= 0) prune_events(r);
        if (selected == RELAY_BATCH) continue; /* more are waiting */
        ap_pg_wait_notify(&r->pg, selected < 0 ? PG_RETRY_MS : SWEEP_MS, r->stop);
    }
    ap_log_info("relay_stopped", NULL, "%" PRIu64 " events relayed, %" PRIu64 " of them duplicates",
                r->total_relayed, r->total_duplicates);
    return NULL;
}

static void relay_free(ap_relay *r) {
    ap_pg_close(&r->pg);
    ap_nats_close(&r->nats);
    pthread_mutex_destroy(&r->pass.mu);
    free(r);
}

ap_status ap_relay_start(ap_relay **out, const ap_config *cfg, volatile sig_atomic_t *stop,
                         char *err, size_t errlen) {
    *out = NULL;
    ap_relay *r = calloc(1, sizeof(*r));
    if (r == NULL || pthread_mutex_init(&r->pass.mu, NULL) != 0) {
        free(r);
        snprintf(err, errlen, "relay: out of memory");
        return AP_ENOMEM;
    }
    r->cfg = cfg;
    r->stop = stop;
    relay_metrics_init(&r->m);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_puback;
    jo.PublishAsync.AckHandlerClosure = &r->pass;
    jo.PublishAsync.MaxPending = RELAY_BATCH;
    char client[128];
    snprintf(client, sizeof(client), "autopost-dispatcher-relay/%s", cfg->instance);
    if (ap_nats_connect(&r->nats, cfg, client, &jo, err, errlen) != AP_OK) {
        relay_free(r);
        return AP_ENATS;
    }
    char pgerr[512];
    /* Same application_name as the dispatcher: operators (and the roles
     * test) see one service, whichever of its connections it is. */
    if (ap_pg_open(&r->pg, cfg->pg_dsn, "autopost-dispatcher", pgerr, sizeof(pgerr)) != AP_OK) {
        if (r->pg.conn == NULL) {
            snprintf(err, errlen, "relay postgres: %s", pgerr);
            relay_free(r);
            return AP_ENOMEM;
        }
        ap_log_warn("postgres_down", NULL, "relay: %s; events wait in the table", pgerr);
    }
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        snprintf(err, errlen, "relay: cannot start its thread");
        relay_free(r);
        return AP_ENOMEM;
    }
    r->started = true;
    *out = r;
    return AP_OK;
}

void ap_relay_join(ap_relay *r) {
    if (r == NULL) return;
    if (r->started) pthread_join(r->thread, NULL);
    relay_free(r);
}
