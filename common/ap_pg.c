/* ap_pg.c -- see ap_pg.h. */
#include "ap_pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "ap_log.h"
#include "ap_time.h"

#define PG_BACKOFF_MIN_MS 200
#define PG_BACKOFF_MAX_MS 5000

static void copy_error(PGconn *conn, char *err, size_t errlen) {
    const char *m = conn ? PQerrorMessage(conn) : "out of memory";
    snprintf(err, errlen, "%s", m);
    size_t n = strlen(err); /* libpq ends messages with a newline */
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' ')) err[--n] = '\0';
}

/* Every session of ours runs without JIT. Our statements are short and
 * prepared; PostgreSQL compiles any plan whose estimated cost passes
 * jit_above_cost, and the claim over a table of a million schedules passed
 * it: 90 of its 120 ms went to compiling, on every claim (bench/README.md,
 * 2026-12-07). Set per session, so the server's default stays for other
 * users of the database. A refusal only costs speed: logged, not fatal. */
static void session_setup(PGconn *conn) {
    PGresult *res = PQexec(conn, "SET jit = off");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        ap_log_warn("postgres_session_setup", NULL, "SET jit = off: %s",
                    res ? PQresultErrorMessage(res) : "no result");
    PQclear(res);
}

ap_status ap_pg_open(ap_pg *pg, const char *dsn, const char *application_name, char *err,
                     size_t errlen) {
    memset(pg, 0, sizeof(*pg));
    const char *keys[] = {"dbname", "application_name", "fallback_application_name", NULL};
    const char *vals[] = {dsn, application_name, "autopost", NULL};
    pg->conn = PQconnectdbParams(keys, vals, 1 /* expand dbname as a DSN */);
    pg->backoff_ms = PG_BACKOFF_MIN_MS;
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
        copy_error(pg->conn, err, errlen);
        pg->was_down = true;
        return AP_EPG;
    }
    session_setup(pg->conn);
    return AP_OK;
}

ap_status ap_pg_ensure(ap_pg *pg) {
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) return AP_OK;
    if (pg->conn == NULL) return AP_EPG;
    int64_t now = ap_mono_ms();
    if (now < pg->next_attempt_ms) return AP_EPG;
    if (!pg->was_down) ap_log_warn("postgres_down", NULL, "connection lost, reconnecting");
    pg->was_down = true;
    PQreset(pg->conn);
    if (PQstatus(pg->conn) == CONNECTION_OK) {
        session_setup(pg->conn); /* a reset is a new session */
        ap_log_info("postgres_reconnected", NULL, "connection restored");
        pg->was_down = false;
        pg->backoff_ms = PG_BACKOFF_MIN_MS;
        return AP_OK;
    }
    pg->next_attempt_ms = now + pg->backoff_ms;
    pg->backoff_ms =
        pg->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : pg->backoff_ms * 2;
    return AP_EPG;
}

bool ap_pg_alive(ap_pg *pg) {
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) return false;
    struct pollfd pfd = {.fd = PQsocket(pg->conn), .events = POLLIN};
    if (pfd.fd >= 0 && poll(&pfd, 1, 0) > 0) PQconsumeInput(pg->conn); /* EOF -> CONNECTION_BAD */
    return PQstatus(pg->conn) == CONNECTION_OK;
}

void ap_pg_close(ap_pg *pg) {
    if (pg == NULL) return;
    if (pg->conn) PQfinish(pg->conn);
    pg->conn = NULL;
}

ap_status ap_pg_result_ok(PGresult *res, ExecStatusType want, char *err, size_t errlen) {
    if (res && PQresultStatus(res) == want) return AP_OK;
    if (err && errlen) {
        const char *m = res ? PQresultErrorMessage(res) : "no result (connection lost?)";
        snprintf(err, errlen, "%s", (m && *m) ? m : "unexpected result status");
        size_t n = strlen(err);
        while (n > 0 && err[n - 1] == '\n') err[--n] = '\0';
    }
    return AP_EPG;
}

ap_status ap_pg_exec(ap_pg *pg, const char *sql, char *err, size_t errlen) {
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    ap_status s = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                      ? AP_OK
                      : ap_pg_result_ok(res, PGRES_COMMAND_OK, err, errlen);
    PQclear(res);
    return s;
}

void ap_pg_rollback(ap_pg *pg) {
    if (PQstatus(pg->conn) != CONNECTION_OK) return;
    if (PQtransactionStatus(pg->conn) == PQTRANS_IDLE) return;
    PQclear(PQexec(pg->conn, "ROLLBACK"));
}

/* Consumes every notification libpq already holds; whether there was one. */
static bool drain_notifies(PGconn *conn) {
    PGnotify *n;
    bool notified = false;
    while ((n = PQnotifies(conn)) != NULL) {
        notified = true;
        PQfreemem(n);
    }
    return notified;
}

bool ap_pg_wait_notify(ap_pg *pg, int64_t timeout_ms, volatile sig_atomic_t *stop) {
    int64_t deadline = ap_mono_ms() + timeout_ms;
    /* ap_pg_alive or a statement may have read a notification already: the
     * socket would then stay quiet while it waits in libpq. */
    if (pg->conn && drain_notifies(pg->conn)) return true;
    while (!*stop) {
        int64_t left = deadline - ap_mono_ms();
        if (left <= 0) return false;
        /* Short polls: a stop request is noticed within 100 ms. */
        int step = (int)(left < 100 ? left : 100);
        if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
            ap_sleep_ms(step);
            continue;
        }
        struct pollfd pfd = {.fd = PQsocket(pg->conn), .events = POLLIN};
        int r = poll(&pfd, 1, step);
        if (r > 0) {
            if (!PQconsumeInput(pg->conn)) return false;
            if (drain_notifies(pg->conn)) return true;
        } else if (r < 0 && errno != EINTR) {
            return false;
        }
    }
    return false;
}
