/* ap_store_prepared.h -- which store statements a connection has prepared.
 *
 * ap_store_run parses and plans each statement once per connection and
 * backend, then only binds and executes it: parse and plan were most of a
 * small statement's server cost. libpq keeps no such record and a
 * reconnect (PQreset) gives the same PGconn a new backend with nothing
 * prepared, so this registry keys a connection by (pointer, backend pid).
 * A statement's name carries the entry's generation: an entry that is
 * reset or reused never re-prepares a name its backend may already hold,
 * which would fail and abort the caller's transaction. Thread-safe. */
#ifndef AP_STORE_PREPARED_H
#define AP_STORE_PREPARED_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Writes into name the statement name op has on conn's current backend and
 * answers 1 when it is already prepared there, 0 when it must be prepared
 * first, -1 when the name does not fit (run the statement unprepared). */
int ap_store_prepared_lookup(const PGconn *conn, int op, const char *op_name, char *name,
                             size_t namelen);
/* Records that op is now prepared on conn (ready) or must be prepared again
 * (!ready: the backend said the statement does not exist). */
void ap_store_prepared_mark(const PGconn *conn, int op, bool ready);

#endif
