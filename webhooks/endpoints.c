/* endpoints.c -- webhook endpoints and their deliveries for autopostctl and
 * the API (endpoints.h). Every statement takes its values as parameters;
 * a tenant filter is "$n::uuid IS NULL OR tenant_id = $n" so one statement
 * serves the operator (any tenant) and the API (its own tenant only).
 * Statements name their columns: the API's role (0015_api_webhooks.sql) is
 * granted exactly those, never an endpoint's sealed secret nor an event's
 * body. */
#include "endpoints.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_netpolicy.h"
#include "ap_time.h"
#include "ap_url.h"

#define SQLSTATE_FOREIGN_KEY "23503"

static void set_err(char *err, size_t errlen, const char *what, PGresult *res, PGconn *pg) {
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
    snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : "no result");
    size_t n = strlen(err);
    if (n > 0 && err[n - 1] == '\n') err[n - 1] = '\0';
}

/* The host part of an IP-literal URL as a socket address; false for names. */
static bool literal_address(const char *host, struct sockaddr_storage *ss, size_t *len) {
    char bare[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof(bare)) return false;
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
    } else {
        if (n >= sizeof(bare)) return false;
        memcpy(bare, host, n + 1);
    }
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, bare, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        *len = sizeof(*v4);
        return true;
    }
    if (inet_pton(AF_INET6, bare, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        *len = sizeof(*v6);
        return true;
    }
    return false;
}

ap_status wh_endpoint_url_check(const char *url, bool allow_private, char *err, size_t errlen) {
    if (url == NULL || ap_url_check(url) != AP_URL_OK) {
        snprintf(err, errlen, "url: not an http(s) URL autopost accepts");
        return AP_EINVAL;
    }
    if (!allow_private && strncasecmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "url: only https URLs are allowed");
        return AP_EINVAL;
    }
    if (allow_private) return AP_OK;
    if (ap_netpolicy_url_is_loopback(url)) {
        snprintf(err, errlen, "url: address not allowed");
        return AP_EINVAL;
    }
    CURLU *u = curl_url();
    char *host = NULL;
    ap_status st = AP_EINVAL;
    if (u == NULL) {
        snprintf(err, errlen, "url: out of memory");
        return AP_ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, errlen, "url: cannot be parsed");
        goto cleanup;
    }
    struct sockaddr_storage ss;
    size_t len = 0;
    if (literal_address(host, &ss, &len) &&
        !ap_netpolicy_address_is_public((struct sockaddr *)&ss, len, NULL)) {
        snprintf(err, errlen, "url: address not allowed");
        goto cleanup;
    }
    st = AP_OK;
cleanup:
    curl_free(host);
    curl_url_cleanup(u);
    return st;
}

static bool event_type_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

ap_status wh_event_types_check(const char *csv, char *err, size_t errlen) {
    if (csv == NULL || *csv == '\0') {
        snprintf(err, errlen, "events: at least one event type (or *) is required");
        return AP_EINVAL;
    }
    int count = 0;
    const char *p = csv;
    while (1) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool ok = n > 0 && n <= WH_EVENT_TYPE_MAX;
        bool star = n == 1 && p[0] == '*';
        for (size_t i = 0; ok && !star && i < n; i++) ok = event_type_char(p[i]);
        if (!ok) {
            snprintf(err, errlen, "events: \"%.*s\" is not an event type",
                     (int)(n > WH_EVENT_TYPE_MAX ? WH_EVENT_TYPE_MAX : n), p);
            return AP_EINVAL;
        }
        if (++count > WH_MAX_EVENT_TYPES) {
            snprintf(err, errlen, "events: at most %d event types", WH_MAX_EVENT_TYPES);
            return AP_EINVAL;
        }
        if (end == NULL) break;
        p = end + 1;
    }
    return AP_OK;
}

ap_status wh_secret_aad(char out[WH_SECRET_AAD_LEN], const char *endpoint_id) {
    int n = snprintf(out, WH_SECRET_AAD_LEN, "webhook/%s", endpoint_id);
    return n > 0 && n < WH_SECRET_AAD_LEN ? AP_OK : AP_EINVAL;
}

/* "{a,b}": the types were checked, so no element needs quoting. */
static char *event_types_array(const char *csv) {
    size_t n = strlen(csv);
    char *out = malloc(n + 3);
    if (out == NULL) return NULL;
    out[0] = '{';
    memcpy(out + 1, csv, n);
    out[n + 1] = '}';
    out[n + 2] = '\0';
    return out;
}

static ap_status seal_secret(const ap_crypto_keyring *ring, const char *id, const char *secret,
                             uint8_t **sealed, size_t *sealed_len) {
    char aad[WH_SECRET_AAD_LEN];
    if (wh_secret_aad(aad, id) != AP_OK) return AP_EINVAL;
    return ap_crypto_seal(ap_crypto_keyring_current(ring), aad, (const uint8_t *)secret,
                          strlen(secret), sealed, sealed_len);
}

ap_status wh_endpoint_create(PGconn *pg, const ap_crypto_keyring *ring, const char *tenant_id,
                             const char *url, const char *event_types_csv, bool allow_private,
                             char id_out[AP_UUID_TEXT_LEN + 1], char secret_out[WH_SECRET_LEN + 1],
                             char *err, size_t errlen) {
    char tenant[AP_UUID_TEXT_LEN + 1];
    if (tenant_id == NULL || !ap_uuid_normalize(tenant_id, tenant)) {
        snprintf(err, errlen, "tenant: not a UUID");
        return AP_EINVAL;
    }
    ap_status st = wh_endpoint_url_check(url, allow_private, err, errlen);
    if (st == AP_OK) st = wh_event_types_check(event_types_csv, err, errlen);
    if (st != AP_OK) return st;
    if (!ap_uuid_v7(id_out, ap_now_ms(), 0) || wh_secret_generate(secret_out) != AP_OK) {
        snprintf(err, errlen, "the random source failed");
        return AP_ECRYPTO;
    }
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char *types = event_types_array(event_types_csv);
    PGresult *res = NULL;
    if (types == NULL) {
        st = AP_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if ((st = seal_secret(ring, id_out, secret_out, &sealed, &sealed_len)) != AP_OK) {
        snprintf(err, errlen, "sealing the secret failed: %s", ap_status_str(st));
        goto cleanup;
    }
    const char *params[] = {id_out, tenant, url, types, (const char *)sealed};
    const int lengths[] = {0, 0, 0, 0, (int)sealed_len};
    const int formats[] = {0, 0, 0, 0, 1};
    res = PQexecParams(pg,
                       "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, "
                       "secret_sealed) VALUES ($1, $2, $3, $4::text[], $5)",
                       5, NULL, params, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, SQLSTATE_FOREIGN_KEY) == 0) {
            st = AP_ENOTFOUND;
            snprintf(err, errlen, "tenant %s not found", tenant);
        } else {
            st = AP_EPG;
            set_err(err, errlen, "insert webhook", res, pg);
        }
    }
cleanup:
    if (st != AP_OK) explicit_bzero(secret_out, WH_SECRET_LEN + 1);
    PQclear(res);
    free(types);
    free(sealed);
    return st;
}

static void copy_field(char *dst, size_t len, PGresult *res, int row, int col) {
    snprintf(dst, len, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static const char endpoint_select[] =
    "SELECT id, tenant_id, url, array_to_string(event_types, ','), "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "FROM webhook_endpoints WHERE ($1::uuid IS NULL OR tenant_id = $1::uuid) "
    "AND (NOT $2::bool OR failing_since IS NOT NULL) ORDER BY created_at, id";

ap_status wh_endpoint_list(PGconn *pg, const char *tenant_id, bool failing_only, wh_endpoint **out,
                           int *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    const char *params[] = {tenant_id, failing_only ? "true" : "false"};
    PGresult *res = PQexecParams(pg, endpoint_select, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "list webhooks", res, pg);
        PQclear(res);
        return AP_EPG;
    }
    int rows = PQntuples(res);
    wh_endpoint *list = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*list));
    if (list == NULL) {
        PQclear(res);
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        wh_endpoint *e = &list[i];
        copy_field(e->id, sizeof(e->id), res, i, 0);
        copy_field(e->tenant_id, sizeof(e->tenant_id), res, i, 1);
        e->url = strdup(PQgetvalue(res, i, 2));
        e->event_types = strdup(PQgetvalue(res, i, 3));
        copy_field(e->created_at, sizeof(e->created_at), res, i, 4);
        copy_field(e->failing_since, sizeof(e->failing_since), res, i, 5);
        if (e->url == NULL || e->event_types == NULL) {
            wh_endpoints_free(list, i + 1);
            PQclear(res);
            snprintf(err, errlen, "out of memory");
            return AP_ENOMEM;
        }
    }
    PQclear(res);
    *out = list;
    *n = rows;
    return AP_OK;
}

void wh_endpoints_free(wh_endpoint *list, int n) {
    if (list == NULL) return;
    for (int i = 0; i < n; i++) {
        free(list[i].url);
        free(list[i].event_types);
    }
    free(list);
}

static bool id_param(const char *id, char out[AP_UUID_TEXT_LEN + 1], char *err, size_t errlen) {
    if (id != NULL && ap_uuid_normalize(id, out)) return true;
    snprintf(err, errlen, "webhook id: not a UUID");
    return false;
}

ap_status wh_endpoint_remove(PGconn *pg, const char *tenant_id, const char *id, char *err,
                             size_t errlen) {
    char eid[AP_UUID_TEXT_LEN + 1];
    if (!id_param(id, eid, err, errlen)) return AP_EINVAL;
    const char *params[] = {eid, tenant_id};
    PGresult *res = PQexecParams(pg,
                                 "DELETE FROM webhook_endpoints WHERE id = $1 "
                                 "AND ($2::uuid IS NULL OR tenant_id = $2::uuid)",
                                 2, NULL, params, NULL, NULL, 0);
    ap_status st = AP_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "remove webhook", res, pg);
        st = AP_EPG;
    } else if (strcmp(PQcmdTuples(res), "1") != 0) {
        snprintf(err, errlen, "webhook %s not found", eid);
        st = AP_ENOTFOUND;
    }
    PQclear(res);
    return st;
}

static const char delivery_select[] =
    "SELECT d.id, d.event_id, d.event_type, d.state, d.attempts, coalesce(d.last_status, 0), "
    "coalesce(d.last_error, ''), "
    "to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "to_char(d.next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "to_char(d.delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "e.id IS NOT NULL "
    "FROM (SELECT 1) one "
    "LEFT JOIN webhook_endpoints e ON e.id = $1 AND ($2::uuid IS NULL OR e.tenant_id = $2::uuid) "
    "LEFT JOIN LATERAL (SELECT x.id, x.event_id, x.event_type, x.state, x.attempts, "
    "                   x.last_status, x.last_error, x.created_at, x.next_attempt_at, "
    "                   x.delivered_at FROM webhook_deliveries x WHERE x.webhook_id = e.id "
    "                   ORDER BY x.id DESC LIMIT $3) d ON true "
    "ORDER BY d.id DESC";

static ap_status fill_deliveries(PGresult *res, wh_delivery **out, int *n, char *err,
                                 size_t errlen) {
    int rows = PQntuples(res);
    /* One row with NULL delivery columns when the endpoint has none. */
    int real = 0;
    for (int i = 0; i < rows; i++) real += !PQgetisnull(res, i, 0);
    wh_delivery *list = calloc(real > 0 ? (size_t)real : 1, sizeof(*list));
    if (list == NULL) {
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    int k = 0;
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, 0)) continue;
        wh_delivery *d = &list[k++];
        d->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        copy_field(d->event_id, sizeof(d->event_id), res, i, 1);
        copy_field(d->event_type, sizeof(d->event_type), res, i, 2);
        copy_field(d->state, sizeof(d->state), res, i, 3);
        d->attempts = atoi(PQgetvalue(res, i, 4));
        d->last_status = atoi(PQgetvalue(res, i, 5));
        copy_field(d->created_at, sizeof(d->created_at), res, i, 7);
        copy_field(d->next_attempt_at, sizeof(d->next_attempt_at), res, i, 8);
        copy_field(d->delivered_at, sizeof(d->delivered_at), res, i, 9);
        if ((d->last_error = strdup(PQgetvalue(res, i, 6))) == NULL) {
            wh_deliveries_free(list, k);
            snprintf(err, errlen, "out of memory");
            return AP_ENOMEM;
        }
    }
    *out = list;
    *n = k;
    return AP_OK;
}

ap_status wh_delivery_list(PGconn *pg, const char *tenant_id, const char *endpoint_id, int limit,
                           wh_delivery **out, int *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    char eid[AP_UUID_TEXT_LEN + 1], lim[16];
    if (!id_param(endpoint_id, eid, err, errlen)) return AP_EINVAL;
    snprintf(lim, sizeof(lim), "%d", limit > 0 ? limit : 1);
    const char *params[] = {eid, tenant_id, lim};
    PGresult *res = PQexecParams(pg, delivery_select, 3, NULL, params, NULL, NULL, 0);
    ap_status st = AP_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "list deliveries", res, pg);
        st = AP_EPG;
    } else if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 10), "t") != 0) {
        snprintf(err, errlen, "webhook %s not found", eid);
        st = AP_ENOTFOUND;
    } else {
        st = fill_deliveries(res, out, n, err, errlen);
    }
    PQclear(res);
    return st;
}

void wh_deliveries_free(wh_delivery *list, int n) {
    if (list == NULL) return;
    for (int i = 0; i < n; i++) free(list[i].last_error);
    free(list);
}

/* One endpoint's secret under the current key; AP_ECRYPTO when it does not
 * open with any key of the ring. *changed says whether it needed it. */
static ap_status reseal_one(PGconn *pg, const ap_crypto_keyring *ring, bool dry_run, const char *id,
                            const unsigned char *sealed, size_t len, bool *changed, char *err,
                            size_t errlen) {
    const uint8_t *kid = NULL;
    const ap_crypto_key *current = ap_crypto_keyring_current(ring);
    *changed = false;
    if (ap_crypto_sealed_kid(sealed, len, &kid) == AP_OK &&
        memcmp(kid, current->kid, AP_CRYPTO_KID_LEN) == 0 &&
        ap_crypto_sealed_version(sealed, len) == AP_CRYPTO_SEAL_VERSION)
        return AP_OK;
    char aad[WH_SECRET_AAD_LEN];
    char *secret = NULL;
    size_t secret_len = 0;
    if (wh_secret_aad(aad, id) != AP_OK ||
        ap_crypto_keyring_open(ring, aad, sealed, len, &secret, &secret_len) != AP_OK)
        return AP_ECRYPTO;
    *changed = true;
    ap_status st = AP_OK;
    if (!dry_run) {
        uint8_t *resealed = NULL;
        size_t resealed_len = 0;
        st = seal_secret(ring, id, secret, &resealed, &resealed_len);
        if (st == AP_OK) {
            const char *params[] = {id, (const char *)resealed};
            const int lengths[] = {0, (int)resealed_len}, formats[] = {0, 1};
            PGresult *res = PQexecParams(pg,
                                         "UPDATE webhook_endpoints SET secret_sealed = $2 "
                                         "WHERE id = $1",
                                         2, NULL, params, lengths, formats, 0);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                set_err(err, errlen, "update webhook secret", res, pg);
                st = AP_EPG;
            }
            PQclear(res);
        } else {
            snprintf(err, errlen, "sealing a webhook secret failed");
        }
        free(resealed);
    }
    explicit_bzero(secret, secret_len);
    free(secret);
    return st;
}

static ap_status exec_simple(PGconn *pg, const char *sql, char *err, size_t errlen) {
    PGresult *res = PQexec(pg, sql);
    ap_status st = AP_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, sql, res, pg);
        st = AP_EPG;
    }
    PQclear(res);
    return st;
}

ap_status wh_endpoint_reseal(PGconn *pg, const ap_crypto_keyring *ring, bool dry_run,
                             void (*on_failure)(const char *endpoint_id, void *arg), void *arg,
                             wh_reseal_counts *counts, char *err, size_t errlen) {
    memset(counts, 0, sizeof(*counts));
    ap_status st = exec_simple(pg, "BEGIN", err, errlen);
    if (st != AP_OK) return st;
    PGresult *rows = PQexecParams(pg,
                                  "SELECT id, secret_sealed FROM webhook_endpoints ORDER BY id "
                                  "FOR NO KEY UPDATE",
                                  0, NULL, NULL, NULL, NULL, 1 /* binary: the sealed bytes */);
    if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "read webhook secrets", rows, pg);
        st = AP_EPG;
    }
    for (int i = 0; st == AP_OK && i < PQntuples(rows); i++) {
        /* Binary uuid: 16 bytes, formatted back into text. */
        const unsigned char *u = (const unsigned char *)PQgetvalue(rows, i, 0);
        char id[AP_UUID_TEXT_LEN + 1];
        if (PQgetlength(rows, i, 0) != 16) {
            snprintf(err, errlen, "unexpected uuid size");
            st = AP_EPG;
            break;
        }
        snprintf(id, sizeof(id),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                 u[15]);
        bool changed = false;
        ap_status one =
            reseal_one(pg, ring, dry_run, id, (const unsigned char *)PQgetvalue(rows, i, 1),
                       (size_t)PQgetlength(rows, i, 1), &changed, err, errlen);
        if (one == AP_ECRYPTO) {
            counts->failed++;
            if (on_failure) on_failure(id, arg);
        } else if (one != AP_OK) {
            st = one;
        } else if (changed) {
            counts->rotated++;
        } else {
            counts->current++;
        }
    }
    PQclear(rows);
    if (st == AP_OK) return exec_simple(pg, "COMMIT", err, errlen);
    PGresult *rb = PQexec(pg, "ROLLBACK");
    PQclear(rb);
    return st;
}
