/* db.c -- one PostgreSQL connection per HTTP thread.
 *
 * libmicrohttpd's thread pool hands each request to one thread for its
 * whole life, and a libpq connection must not be used by two threads at
 * once: so each thread opens its own on first use (thread-local) and keeps
 * it. ap_pg_ensure resets a broken one with a backoff, so a database
 * restart costs a few 503s, not a restart of the service. The list of all
 * connections exists only so that main() can close them after the daemon
 * has stopped. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "ap_log.h"
#include "api.h"

typedef struct db_slot {
    ap_pg pg;
    struct db_slot *next;
} db_slot;

static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static db_slot *all_slots;
static __thread db_slot *this_thread;

PGconn *api_db(const ap_config *cfg) {
    if (this_thread == NULL) {
        db_slot *s = calloc(1, sizeof(*s));
        if (s == NULL) return NULL;
        char err[512];
        if (ap_pg_open(&s->pg, cfg->pg_dsn, "autopost-api", err, sizeof(err)) != AP_OK)
            ap_log_warn("postgres_down", NULL, "%s (will retry)", err);
        pthread_mutex_lock(&all_mu);
        s->next = all_slots;
        all_slots = s;
        pthread_mutex_unlock(&all_mu);
        this_thread = s;
    }
    if (ap_pg_ensure(&this_thread->pg) != AP_OK) return NULL;
    return this_thread->pg.conn;
}

void api_db_close_all(void) {
    pthread_mutex_lock(&all_mu);
    for (db_slot *s = all_slots, *next; s; s = next) {
        next = s->next;
        ap_pg_close(&s->pg);
        free(s);
    }
    all_slots = NULL;
    pthread_mutex_unlock(&all_mu);
}

PGresult *api_db_store(PGconn *db, ap_store_op op, const char *const *params, char *err,
                       size_t errlen) {
    PGresult *res = NULL;
    return ap_store_run(db, op, params, &res, NULL, err, errlen) == AP_OK ? res : NULL;
}

PGresult *api_db_exec(PGconn *db, const char *sql, int n, const char *const *params,
                      ExecStatusType want, char *err, size_t errlen) {
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    if (ap_pg_result_ok(res, want, err, errlen) != AP_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}
