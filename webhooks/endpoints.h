/* endpoints.h -- webhook endpoints and their deliveries, as autopostctl and
 * the API's routes manage them (POST/GET/DELETE /v1/webhooks,
 * GET /v1/webhooks/{id}/deliveries). Every statement about endpoints a
 * person or an application asks for is here, once; the delivery service's
 * own statements (intake, claim, outcome) are in intake.c and delivery.c.
 *
 * Tenancy: every call that names an endpoint takes the caller's tenant and
 * filters by it; another tenant's endpoint is AP_ENOTFOUND, exactly like one
 * that does not exist (the API answers 404, never 403). A NULL tenant means
 * "any tenant" and is for the operator's tool only.
 *
 * The secret: wh_endpoint_create draws one (signature.h), seals it with the
 * credentials keyring's current key bound to "webhook/<id>" and returns it
 * to the caller, who shows it once; it is never selected back in clear.
 *
 * Ownership: lists are malloc'ed arrays the caller releases with the
 * matching *_free (NULL is a no-op). */
#ifndef WH_ENDPOINTS_H
#define WH_ENDPOINTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "ap_crypto.h"
#include "ap_status.h"
#include "ap_uuid.h"
#include "signature.h"

#define WH_MAX_EVENT_TYPES 32
#define WH_EVENT_TYPE_MAX 64
#define WH_TIME_TEXT_MAX 40
/* Associated data of a sealed secret: "webhook/<endpoint id>". */
#define WH_SECRET_AAD_LEN (8 + AP_UUID_TEXT_LEN + 1)

typedef struct wh_endpoint {
    char id[AP_UUID_TEXT_LEN + 1];
    char tenant_id[AP_UUID_TEXT_LEN + 1];
    char *url;
    char *event_types; /* comma-separated, as given */
    char created_at[WH_TIME_TEXT_MAX];
    char failing_since[WH_TIME_TEXT_MAX]; /* "" when not failing */
} wh_endpoint;

typedef struct wh_delivery {
    long long id;
    char event_id[AP_UUID_TEXT_LEN + 1];
    char event_type[WH_EVENT_TYPE_MAX + 1];
    char state[16]; /* pending | delivered | failed */
    int attempts;
    int last_status;  /* 0: no answer */
    char *last_error; /* "" when none */
    char created_at[WH_TIME_TEXT_MAX];
    char next_attempt_at[WH_TIME_TEXT_MAX];
    char delivered_at[WH_TIME_TEXT_MAX]; /* "" until delivered */
} wh_delivery;

/* Whether url may be a webhook endpoint: an http(s) URL autopost accepts
 * (common/ap_url.h), https unless allow_private, and, unless allow_private,
 * not an IP literal outside public unicast space (a name is checked again
 * at every connect by the delivery service, common/ap_netpolicy.h). On
 * AP_EINVAL err says why, for the person or application that gave it. */
ap_status wh_endpoint_url_check(const char *url, bool allow_private, char *err, size_t errlen);

/* "a,b" or "*": each a type like "schedule.published" (lowercase letters,
 * digits, '.', '_'), at most WH_MAX_EVENT_TYPES. */
ap_status wh_event_types_check(const char *csv, char *err, size_t errlen);

/* The associated data a secret is sealed with. */
ap_status wh_secret_aad(char out[WH_SECRET_AAD_LEN], const char *endpoint_id);

/* Creates an endpoint for tenant_id (which must exist: AP_ENOTFOUND
 * otherwise). Checks the URL and events as above. id_out and secret_out
 * receive the new id and the secret in clear (wipe it after showing it). */
ap_status wh_endpoint_create(PGconn *pg, const ap_crypto_keyring *ring, const char *tenant_id,
                             const char *url, const char *event_types_csv, bool allow_private,
                             char id_out[AP_UUID_TEXT_LEN + 1], char secret_out[WH_SECRET_LEN + 1],
                             char *err, size_t errlen);

/* Endpoints of tenant_id (NULL: all), oldest first; with failing_only,
 * only those whose deliveries gave up since their last success. */
ap_status wh_endpoint_list(PGconn *pg, const char *tenant_id, bool failing_only, wh_endpoint **out,
                           int *n, char *err, size_t errlen);
void wh_endpoints_free(wh_endpoint *list, int n);

/* Deletes the endpoint and its deliveries. AP_ENOTFOUND when there is no
 * such endpoint in tenant_id (NULL: any tenant). */
ap_status wh_endpoint_remove(PGconn *pg, const char *tenant_id, const char *id, char *err,
                             size_t errlen);

/* `autopostctl keys rotate`'s webhook pass: in one transaction, re-seals
 * every endpoint's secret that is not already under the ring's current key
 * (opened with whichever key of the ring sealed it). A secret that opens
 * with no key of the ring is left as it was, counted in failed and named
 * through on_failure (by endpoint id only). With dry_run nothing changes. */
typedef struct wh_reseal_counts {
    long rotated, current, failed;
} wh_reseal_counts;
ap_status wh_endpoint_reseal(PGconn *pg, const ap_crypto_keyring *ring, bool dry_run,
                             void (*on_failure)(const char *endpoint_id, void *arg), void *arg,
                             wh_reseal_counts *counts, char *err, size_t errlen);

/* The endpoint's `limit` most recent deliveries, newest first. AP_ENOTFOUND
 * when the endpoint is not tenant_id's (NULL: any tenant). */
ap_status wh_delivery_list(PGconn *pg, const char *tenant_id, const char *endpoint_id, int limit,
                           wh_delivery **out, int *n, char *err, size_t errlen);
void wh_deliveries_free(wh_delivery *list, int n);

#endif
