/* ap_pg.h -- PostgreSQL connection with reconnect, for services that must
 * outlive a database restart.
 *
 * ap_pg_ensure is called before each unit of work: if the connection broke
 * it tries PQreset (rate-limited by a backoff), so a service keeps serving
 * once the database is back without anyone restarting it. */
#ifndef AP_PG_H
#define AP_PG_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_status.h"

typedef struct ap_pg {
    PGconn *conn;
    int64_t next_attempt_ms; /* monotonic: no reconnect storm */
    int64_t backoff_ms;
    bool was_down; /* log "reconnected" once when it comes back */
} ap_pg;

/* Opens the connection; on failure pg->conn is kept for later resets. */
ap_status ap_pg_open(ap_pg *pg, const char *dsn, const char *application_name, char *err,
                     size_t errlen);
/* AP_OK when usable; otherwise tries to reconnect (at most once per backoff). */
ap_status ap_pg_ensure(ap_pg *pg);
/* Whether the connection is up, noticing without blocking a server that
 * closed it while we were idle (libpq only finds out when it next reads):
 * pending input is consumed, so call it between statements, from the thread
 * that owns the connection. */
bool ap_pg_alive(ap_pg *pg);
void ap_pg_close(ap_pg *pg);

/* Waits up to timeout_ms for a notification on a channel this connection
 * LISTENs to, returning early (true) when one arrives; false on timeout,
 * when *stop becomes non-zero, or when the connection broke (the caller's
 * next ap_pg_ensure reconnects; LISTEN must then be issued again). Every
 * pending notification is consumed. */
bool ap_pg_wait_notify(ap_pg *pg, int64_t timeout_ms, volatile sig_atomic_t *stop);

/* Runs a statement without parameters and checks it succeeded. */
ap_status ap_pg_exec(ap_pg *pg, const char *sql, char *err, size_t errlen);
/* Rolls back the transaction in progress, if any; quietly, because the
 * caller is already handling the error that got it here. */
void ap_pg_rollback(ap_pg *pg);
/* Checks res has status `want`; on failure fills err. The caller still
 * owns (and PQclear()s) res. */
ap_status ap_pg_result_ok(PGresult *res, ExecStatusType want, char *err, size_t errlen);

#endif
