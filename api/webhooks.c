/* webhooks.c -- POST/GET /v1/webhooks, DELETE /v1/webhooks/{id},
 * GET /v1/webhooks/{id}/deliveries: a tenant's webhook endpoints over HTTP.
 *
 * The statements are the endpoint store's (webhooks/endpoints.h), the same
 * that `autopostctl webhooks` runs; every call passes the key's tenant, so
 * another tenant's endpoint is AP_ENOTFOUND and answers 404 like one that
 * does not exist. The body decoder (api_webhook_request_decode) does no I/O
 * and is unit-tested; the URL is checked by the store's own rule
 * (wh_endpoint_url_check, private addresses refused unless
 * webhooks.allow_private) before anything is stored.
 *
 * The secret: the create answer is the only place it ever appears. It is
 * sealed with the credentials keyring's current key by the store, and an
 * Idempotency-Key is deliberately not honoured here: a replay would have to
 * keep the answer, and so the secret in clear, in api_idempotency. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "endpoints.h"

#define DELIVERIES_DEFAULT 50
#define DELIVERIES_MAX 200

static api_reply refused(const char *field, const char *reason) {
    api_reply r = api_error(422, "validation_failed", "%s: %s", field, reason);
    api_error_detail(&r, field, reason);
    return r;
}

/* The store's messages start with "url: " or "events: "; the detail's
 * reason is what follows. */
static const char *after_field(const char *msg) {
    const char *colon = strstr(msg, ": ");
    return colon ? colon + 2 : msg;
}

/* Appends one checked event type to csv (WH_MAX_EVENT_TYPES of at most
 * WH_EVENT_TYPE_MAX bytes fit, with commas). */
static bool append_type(char *csv, size_t len, const char *type) {
    size_t used = strlen(csv);
    int n = snprintf(csv + used, len - used, "%s%s", used ? "," : "", type);
    return n >= 0 && (size_t)n < len - used;
}

bool api_webhook_request_decode(api_webhook_request *wr, const char *body, size_t len,
                                bool allow_private, api_reply *err) {
    json_error_t jerr;
    memset(wr, 0, sizeof(*wr));
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        *err = api_error(400, "invalid_json", "the body is not JSON: %s", jerr.text);
        return false;
    }
    bool ok = false;
    char why[512], field[32];
    const char *key;
    json_t *value, *url = json_object_get(root, "url"), *events = json_object_get(root, "events");
    if (!json_is_object(root)) {
        *err = refused("body", "expected {\"url\": \"...\", \"events\": [\"...\"]}");
        goto done;
    }
    json_object_foreach(root, key, value) {
        if (strcmp(key, "url") != 0 && strcmp(key, "events") != 0) {
            *err = refused(key, "unknown field");
            goto done;
        }
    }
    if (!json_is_string(url)) {
        *err = refused("url", "required: the endpoint's https URL");
        goto done;
    }
    if (wh_endpoint_url_check(json_string_value(url), allow_private, why, sizeof(why)) != AP_OK) {
        *err = refused("url", after_field(why));
        goto done;
    }
    if (!json_is_array(events) || json_array_size(events) == 0) {
        *err = refused("events", "required: a list of event types, or [\"*\"] for all");
        goto done;
    }
    if (json_array_size(events) > WH_MAX_EVENT_TYPES) {
        snprintf(why, sizeof(why), "at most %d event types", WH_MAX_EVENT_TYPES);
        *err = refused("events", why);
        goto done;
    }
    size_t i;
    json_array_foreach(events, i, value) {
        snprintf(field, sizeof(field), "events[%zu]", i);
        const char *type = json_string_value(value);
        /* One type per element: a comma would smuggle in a second one. */
        if (type == NULL || strchr(type, ',') != NULL ||
            wh_event_types_check(type, why, sizeof(why)) != AP_OK) {
            *err = refused(field, type == NULL || strchr(type, ',')
                                      ? "expected one event type such as schedule.published"
                                      : after_field(why));
            goto done;
        }
        if (!append_type(wr->events_csv, sizeof(wr->events_csv), type)) {
            *err = refused(field, "too long");
            goto done;
        }
    }
    if ((wr->url = strdup(json_string_value(url))) == NULL) {
        *err = api_error(503, "unavailable", "out of memory");
        goto done;
    }
    ok = true;
done:
    json_decref(root);
    return ok;
}

void api_webhook_request_free(api_webhook_request *wr) {
    free(wr->url);
    wr->url = NULL;
}

/* "a,b" -> ["a", "b"]. */
static json_t *types_json(const char *csv) {
    json_t *list = json_array();
    for (const char *p = csv; list && *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(list, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return list;
}

/* "" (the store's "none") -> null. */
static json_t *or_null(const char *text) { return text[0] ? json_string(text) : json_null(); }

api_reply api_webhooks_create(api_request *req, PGconn *db) {
    api_webhook_request wr;
    api_reply r;
    if (!api_webhook_request_decode(&wr, req->body, req->body_len, req->cfg->webhooks_allow_private,
                                    &r))
        return r;
    char id[AP_UUID_TEXT_LEN + 1], secret[WH_SECRET_LEN + 1], err[512];
    ap_status st =
        wh_endpoint_create(db, req->keyring, req->tenant_id, wr.url, wr.events_csv,
                           req->cfg->webhooks_allow_private, id, secret, err, sizeof(err));
    if (st == AP_EINVAL) /* checked above already: only a race with a config change */
        r = refused(strncmp(err, "events", 6) == 0 ? "events" : "url", after_field(err));
    else if (st != AP_OK)
        r = api_error_internal(req, "create webhook", err);
    else
        r = (api_reply){.status = 201,
                        .body = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "secret", secret, "url",
                                          wr.url, "events", types_json(wr.events_csv))};
    explicit_bzero(secret, sizeof(secret));
    api_webhook_request_free(&wr);
    return r;
}

api_reply api_webhooks_list(api_request *req, PGconn *db) {
    wh_endpoint *list = NULL;
    int n = 0;
    char err[512];
    if (wh_endpoint_list(db, req->tenant_id, false, &list, &n, err, sizeof(err)) != AP_OK)
        return api_error_internal(req, "list webhooks", err);
    json_t *data = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            data, json_pack("{s:s, s:s, s:o, s:s, s:o}", "id", list[i].id, "url", list[i].url,
                            "events", types_json(list[i].event_types), "created_at",
                            list[i].created_at, "failing_since", or_null(list[i].failing_since)));
    wh_endpoints_free(list, n);
    return (api_reply){.status = 200, .body = json_pack("{s:o}", "data", data)};
}

api_reply api_webhooks_delete(api_request *req, PGconn *db) {
    char id[AP_UUID_TEXT_LEN + 1], err[512];
    if (!ap_uuid_normalize(req->path_id, id)) return api_error(404, "not_found", "no such webhook");
    ap_status st = wh_endpoint_remove(db, req->tenant_id, id, err, sizeof(err));
    if (st == AP_ENOTFOUND) return api_error(404, "not_found", "no such webhook");
    if (st != AP_OK) return api_error_internal(req, "delete webhook", err);
    return (api_reply){.status = 204};
}

api_reply api_webhooks_deliveries(api_request *req, PGconn *db) {
    char id[AP_UUID_TEXT_LEN + 1], err[512];
    if (!ap_uuid_normalize(req->path_id, id)) return api_error(404, "not_found", "no such webhook");
    long limit = DELIVERIES_DEFAULT;
    const char *limit_arg = req->query(req->conn, "limit");
    if (limit_arg && *limit_arg) {
        char *end;
        limit = strtol(limit_arg, &end, 10);
        if (*end != '\0' || limit < 1) return refused("limit", "expected a whole number from 1");
        if (limit > DELIVERIES_MAX) limit = DELIVERIES_MAX; /* capped, not refused */
    }
    wh_delivery *list = NULL;
    int n = 0;
    ap_status st =
        wh_delivery_list(db, req->tenant_id, id, (int)limit, &list, &n, err, sizeof(err));
    if (st == AP_ENOTFOUND) return api_error(404, "not_found", "no such webhook");
    if (st != AP_OK) return api_error_internal(req, "list deliveries", err);
    json_t *data = json_array();
    for (int i = 0; i < n; i++) {
        const wh_delivery *d = &list[i];
        json_array_append_new(
            data,
            json_pack("{s:I, s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:o, s:o}", "id", (json_int_t)d->id,
                      "event_id", d->event_id, "event_type", d->event_type, "state", d->state,
                      "attempts", d->attempts, "status_code",
                      d->last_status ? json_integer(d->last_status) : json_null(), "error",
                      or_null(d->last_error), "created_at", d->created_at, "next_attempt_at",
                      strcmp(d->state, "pending") == 0 ? or_null(d->next_attempt_at) : json_null(),
                      "delivered_at", or_null(d->delivered_at)));
    }
    wh_deliveries_free(list, n);
    return (api_reply){.status = 200, .body = json_pack("{s:o}", "data", data)};
}
