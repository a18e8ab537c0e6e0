/* idempotency.c -- Idempotency-Key (Stripe's model), inside the create's
 * own transaction.
 *
 * claim: INSERT (tenant, key, fingerprint) ... ON CONFLICT DO NOTHING. The
 * primary key does the concurrency work: a second request with the same key
 * blocks on the first one's uncommitted row until that transaction ends;
 * if it committed, the insert does nothing and the stored answer is read
 * and replayed; if it rolled back (a 422, a crash), the second one owns the
 * key and runs. No check-then-insert window, so two concurrent duplicates
 * never both create a post. The fingerprint is the SHA-256 of method, path
 * and body bytes: the same key with another body is a 409, never a replay
 * of an answer to a different question.
 *
 * Only a successful create is remembered (it is stored in the same
 * transaction as the post, so both exist or neither); a refused request
 * stores nothing, and its retry is judged again. Rows older than
 * api.idempotency_ttl (at least 24 h) are deleted by the tenant's next
 * claim, before the insert, so an expired key starts afresh. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static bool fingerprint(const api_request *req, char out[65]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    /* The NULs after method and path separate the parts. */
    bool ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(c, req->method, strlen(req->method) + 1) == 1 &&
              EVP_DigestUpdate(c, req->path, strlen(req->path) + 1) == 1 &&
              EVP_DigestUpdate(c, req->body, req->body_len) == 1 &&
              EVP_DigestFinal_ex(c, d, &n) == 1 && n == 32;
    EVP_MD_CTX_free(c);
    for (unsigned int i = 0; ok && i < n; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
    return ok;
}

api_idem_state api_idem_claim(const api_request *req, PGconn *db, api_reply *replay, char *err,
                              size_t errlen) {
    char hash[65], ttl[24];
    if (!fingerprint(req, hash)) {
        snprintf(err, errlen, "SHA-256 failed");
        return API_IDEM_ERROR;
    }
    snprintf(ttl, sizeof(ttl), "%lld", (long long)req->cfg->api_idempotency_ttl_ms);
    const char *expire_params[] = {req->tenant_id, ttl};
    PGresult *res = api_db_exec(db,
                                "DELETE FROM api_idempotency WHERE tenant_id = $1 "
                                "AND created_at < now() - $2::bigint * interval '1 millisecond'",
                                2, expire_params, PGRES_COMMAND_OK, err, errlen);
    if (res == NULL) return API_IDEM_ERROR;
    PQclear(res);
    const char *params[] = {req->tenant_id, req->idempotency_key, hash};
    res = api_db_exec(db,
                      "INSERT INTO api_idempotency (tenant_id, key, request_hash) "
                      "VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT DO NOTHING RETURNING 1",
                      3, params, PGRES_TUPLES_OK, err, errlen);
    if (res == NULL) return API_IDEM_ERROR;
    bool mine = PQntuples(res) == 1;
    PQclear(res);
    if (mine) return API_IDEM_NEW;
    res = api_db_exec(db,
                      "SELECT encode(request_hash, 'hex'), status_code, response "
                      "FROM api_idempotency WHERE tenant_id = $1 AND key = $2",
                      2, params, PGRES_TUPLES_OK, err, errlen);
    if (res == NULL) return API_IDEM_ERROR;
    api_idem_state st;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
        /* Deleted or unanswered between our statements: only a clock jump
         * or a hand edit does that. Let the client retry. */
        snprintf(err, errlen, "idempotency row for key vanished or unanswered");
        st = API_IDEM_ERROR;
    } else if (strcmp(PQgetvalue(res, 0, 0), hash) != 0) {
        st = API_IDEM_CONFLICT;
    } else {
        replay->status = (unsigned)atoi(PQgetvalue(res, 0, 1));
        replay->body = NULL;
        replay->retry_after_s = 0;
        replay->raw_body = strdup(PQgetvalue(res, 0, 2));
        st = replay->raw_body ? API_IDEM_REPLAY : API_IDEM_ERROR;
        if (st == API_IDEM_ERROR) snprintf(err, errlen, "out of memory");
    }
    PQclear(res);
    return st;
}

bool api_idem_remember(const api_request *req, PGconn *db, unsigned int status, const char *body,
                       char *err, size_t errlen) {
    char code[8];
    snprintf(code, sizeof(code), "%u", status);
    const char *params[] = {req->tenant_id, req->idempotency_key, code, body};
    PGresult *res = api_db_exec(db,
                                "UPDATE api_idempotency SET status_code = $3::int, response = $4 "
                                "WHERE tenant_id = $1 AND key = $2",
                                4, params, PGRES_COMMAND_OK, err, errlen);
    if (res == NULL) return false;
    bool ok = strcmp(PQcmdTuples(res), "1") == 0;
    if (!ok) snprintf(err, errlen, "the claimed idempotency row is gone");
    PQclear(res);
    return ok;
}
