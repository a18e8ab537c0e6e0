/* auth.c -- "Authorization: Bearer <key>" to the key's tenant.
 *
 * The key is looked up by its SHA-256 (common/ap_apikey.h) on every
 * request: no cache, so a revoked key stops working on its very next
 * request. The lookup is an equality on a unique index of the hash, and
 * comparing hashes instead of keys means the database never sees a key and
 * the timing of the lookup says nothing about how close a guess was.
 * Missing, malformed, unknown and revoked keys all get the same 401, so an
 * answer never tells a caller which of those it was. last_used_at is
 * stamped at most once a minute per key, to keep reads from becoming a
 * write per request. */
#include <stdio.h>
#include <string.h>

#include "ap_apikey.h"
#include "api.h"

static const char lookup_sql[] =
    "WITH k AS (SELECT id, tenant_id, last_used_at FROM api_keys "
    "           WHERE key_hash = decode($1, 'hex') AND revoked_at IS NULL), "
    "u AS (UPDATE api_keys a SET last_used_at = now() FROM k WHERE a.id = k.id "
    "      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')) "
    "SELECT id, tenant_id FROM k";

static api_reply unauthorized(void) {
    return api_error(401, "unauthorized",
                     "missing, unknown or revoked API key (send Authorization: Bearer <key>)");
}

bool api_auth(api_request *req, PGconn *db, const char *authorization, api_reply *out) {
    if (authorization == NULL || strncmp(authorization, "Bearer ", 7) != 0 ||
        !ap_apikey_well_formed(authorization + 7)) {
        *out = unauthorized();
        return false;
    }
    char hash[AP_APIKEY_HASH_HEX_LEN + 1], err[512];
    ap_apikey_hash_hex(authorization + 7, hash);
    const char *params[] = {hash};
    PGresult *res = api_db_exec(db, lookup_sql, 1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        *out = api_error_internal(req, "key lookup", err);
        return false;
    }
    bool ok = PQntuples(res) == 1;
    if (ok) {
        snprintf(req->key_id, sizeof(req->key_id), "%s", PQgetvalue(res, 0, 0));
        snprintf(req->tenant_id, sizeof(req->tenant_id), "%s", PQgetvalue(res, 0, 1));
    } else {
        *out = unauthorized();
    }
    PQclear(res);
    return ok;
}
