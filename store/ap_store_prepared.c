/* ap_store_prepared.c -- see ap_store_prepared.h. */
#include "ap_store_prepared.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ap_store.h"

/* More connections than any service keeps open at once (the API opens one
 * per HTTP thread); when a new one finds the table full it takes over the
 * oldest entry, whose connection just prepares again under a new name. */
enum { PREPARED_CONNS = 64 };

typedef struct prepared_conn {
    const PGconn *conn;
    int backend_pid;
    unsigned generation;
    bool ready[AP_STORE_NOPS];
} prepared_conn;

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static prepared_conn registry[PREPARED_CONNS];
static unsigned next_generation = 1;
static size_t next_victim;

/* The entry of conn's current backend, made fresh when there is none.
 * Called with registry_mu held. */
static prepared_conn *entry_of(const PGconn *conn) {
    int pid = PQbackendPID(conn);
    prepared_conn *e = NULL;
    for (size_t i = 0; i < PREPARED_CONNS && e == NULL; i++)
        if (registry[i].conn == conn) e = &registry[i];
    if (e == NULL) {
        for (size_t i = 0; i < PREPARED_CONNS && e == NULL; i++)
            if (registry[i].conn == NULL) e = &registry[i];
        if (e == NULL) {
            e = &registry[next_victim];
            next_victim = (next_victim + 1) % PREPARED_CONNS;
        }
    } else if (e->backend_pid == pid) {
        return e;
    }
    memset(e, 0, sizeof(*e));
    e->conn = conn;
    e->backend_pid = pid;
    e->generation = next_generation++;
    return e;
}

int ap_store_prepared_lookup(const PGconn *conn, int op, const char *op_name, char *name,
                             size_t namelen) {
    if (op < 0 || op >= AP_STORE_NOPS) return -1;
    pthread_mutex_lock(&registry_mu);
    prepared_conn *e = entry_of(conn);
    bool ready = e->ready[op];
    int n = snprintf(name, namelen, "ap_%u_%s", e->generation, op_name);
    pthread_mutex_unlock(&registry_mu);
    /* PostgreSQL truncates names past 63 bytes (NAMEDATALEN - 1). */
    if (n < 0 || (size_t)n >= namelen || n > 63) return -1;
    return ready ? 1 : 0;
}

void ap_store_prepared_mark(const PGconn *conn, int op, bool ready) {
    if (op < 0 || op >= AP_STORE_NOPS) return;
    pthread_mutex_lock(&registry_mu);
    entry_of(conn)->ready[op] = ready;
    pthread_mutex_unlock(&registry_mu);
}
