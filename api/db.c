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
#include <string.h>

#include "ap_log.h"
#include "api.h"

/* The statements a connection has prepared: the API's own SQL (auth,
 * idempotency keys, posts) is parsed and planned once per backend, like
 * the store's (ap_store_prepared.h); a new backend (PQreset) starts the
 * list afresh. Texts are kept as copies and compared, so a caller's buffer
 * reused for another statement can never run the wrong plan. */
enum { PREPARED_MAX = 64 };
typedef struct prepared_list {
    int backend_pid;
    int n;
    char *sql[PREPARED_MAX];
} prepared_list;

typedef struct db_slot {
    ap_pg pg;
    prepared_list prepared;
    struct db_slot *next;
} db_slot;

static void prepared_clear(prepared_list *p) {
    for (int i = 0; i < p->n; i++) free(p->sql[i]);
    p->n = 0;
}

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
        prepared_clear(&s->prepared);
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

/* The name of sql's prepared statement on db ("" when it cannot be kept:
 * run it unprepared); prepares it first when needed. NULL with err filled
 * when preparing failed. */
static const char *prepared_name(PGconn *db, const char *sql, int n, char name[16], char *err,
                                 size_t errlen) {
    name[0] = '\0';
    if (this_thread == NULL || this_thread->pg.conn != db) return name;
    prepared_list *p = &this_thread->prepared;
    int pid = PQbackendPID(db);
    if (p->backend_pid != pid) {
        prepared_clear(p);
        p->backend_pid = pid;
    }
    for (int i = 0; i < p->n; i++)
        if (p->sql[i] == sql || strcmp(p->sql[i], sql) == 0) {
            snprintf(name, 16, "api_%d", i);
            return name;
        }
    if (p->n == PREPARED_MAX) return name;
    char *copy = strdup(sql);
    if (copy == NULL) return name;
    snprintf(name, 16, "api_%d", p->n);
    PGresult *res = PQprepare(db, name, sql, n, NULL);
    if (ap_pg_result_ok(res, PGRES_COMMAND_OK, err, errlen) != AP_OK) {
        PQclear(res);
        free(copy);
        return NULL;
    }
    PQclear(res);
    p->sql[p->n++] = copy;
    return name;
}

PGresult *api_db_exec(PGconn *db, const char *sql, int n, const char *const *params,
                      ExecStatusType want, char *err, size_t errlen) {
    char buf[16];
    /* BEGIN and COMMIT have nothing to plan. */
    const char *name = n > 0 ? prepared_name(db, sql, n, buf, err, errlen) : "";
    if (name == NULL) return NULL;
    PGresult *res = name[0] ? PQexecPrepared(db, name, n, params, NULL, NULL, 0)
                            : PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    if (ap_pg_result_ok(res, want, err, errlen) != AP_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}
