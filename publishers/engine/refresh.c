/* refresh.c -- see refresh.h. */
#include "refresh.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ap_refresh_credential_expired(const ap_credential *c, int64_t now_ms) {
    return c->expires_at_ms > 0 && c->expires_at_ms <= now_ms;
}

bool ap_refresh_possible(const ap_platform_config *pc, const ap_credential *c) {
    return pc->token_url != NULL && c->refresh_token != NULL && *c->refresh_token != '\0';
}

bool ap_refresh_due(const ap_platform_config *pc, const ap_credential *c, int64_t now_ms) {
    return ap_refresh_possible(pc, c) && c->expires_at_ms > 0 &&
           c->expires_at_ms - pc->token_refresh_margin_ms <= now_ms;
}

ap_lock_action ap_refresh_lock_decide(const ap_refresh_lock *l, int64_t now_ms, int64_t stale_ms,
                                      int64_t cooldown_ms) {
    if (!l->present) return AP_LOCK_TAKE;
    int64_t age = now_ms - l->at_ms;
    if (l->ambiguous) return age >= cooldown_ms ? AP_LOCK_TAKEOVER : AP_LOCK_COOLDOWN;
    return age >= stale_ms ? AP_LOCK_TAKEOVER : AP_LOCK_WAIT;
}

ap_status ap_refresh_request(ap_http_request *req, const ap_platform_config *pc,
                             const char *client_secret, const char *refresh_token) {
    bool basic = client_secret && strcmp(pc->token_auth, "basic") == 0;
    const char *pairs[] = {"grant_type",
                           "refresh_token",
                           "refresh_token",
                           refresh_token,
                           "client_id",
                           pc->client_id,
                           "client_secret",
                           (client_secret && !basic) ? client_secret : NULL,
                           NULL};
    ap_http_request_init(req, "POST");
    req->once = true; /* a rotating refresh token works once: a resend burns the new one */
    req->url = strdup(pc->token_url);
    req->body = ap_http_form(pairs);
    if (req->url == NULL || req->body == NULL) goto nomem;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/x-www-form-urlencoded") != 0 ||
        ap_http_request_add_header(req, "Accept", "application/json") != 0)
        goto nomem;
    if (basic) {
        /* RFC 6749 2.3.1: HTTP Basic with the client id and secret. */
        size_t n = strlen(pc->client_id) + 1 + strlen(client_secret);
        char *pair = malloc(n + 1);
        char *value = malloc(6 + 4 * ((n + 2) / 3) + 1);
        int ok = pair && value;
        if (ok) {
            snprintf(pair, n + 1, "%s:%s", pc->client_id, client_secret);
            memcpy(value, "Basic ", 6);
            EVP_EncodeBlock((unsigned char *)value + 6, (const unsigned char *)pair, (int)n);
            ok = ap_http_request_add_header(req, "Authorization", value) == 0;
        }
        if (pair) explicit_bzero(pair, n);
        if (value) explicit_bzero(value, strlen(value));
        free(pair);
        free(value);
        if (!ok) goto nomem;
    }
    return AP_OK;
nomem:
    ap_http_request_clear(req);
    return AP_ENOMEM;
}

static char *dup_json_string(json_t *v) {
    return json_is_string(v) && json_string_length(v) > 0 ? strdup(json_string_value(v)) : NULL;
}

/* Wipes the token strings jansson holds before the tree is freed. */
static void wipe_json_tokens(json_t *root) {
    const char *keys[] = {"access_token", "refresh_token", "id_token"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(root, keys[i]);
        if (json_is_string(v)) explicit_bzero((char *)json_string_value(v), json_string_length(v));
    }
}

ap_refresh_outcome ap_refresh_parse(const ap_http_response *res, const ap_credential *old,
                                    int64_t now_ms, ap_credential *out, char *msg, size_t len) {
    memset(out, 0, sizeof(*out));
    if (res->status == 0) {
        if (!res->request_sent) {
            snprintf(msg, len, "token endpoint unreachable (%s); nothing was sent",
                     res->transport_message);
            return AP_REFRESH_NOT_DONE;
        }
        snprintf(msg, len, "token refresh sent but no answer (%s)", res->transport_message);
        return AP_REFRESH_AMBIGUOUS;
    }
    json_t *root = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    const char *error = json_string_value(json_object_get(root, "error"));
    const char *desc = json_string_value(json_object_get(root, "error_description"));
    ap_refresh_outcome o;
    if (res->status == 200) {
        out->access_token = dup_json_string(json_object_get(root, "access_token"));
        out->refresh_token = dup_json_string(json_object_get(root, "refresh_token"));
        if (out->access_token == NULL) {
            /* The server acted on the request; what it did is unknown. */
            snprintf(msg, len, "token endpoint answered 200 without an access_token");
            o = AP_REFRESH_AMBIGUOUS;
        } else if (!ap_credential_token_clean(out->access_token) ||
                   (out->refresh_token && !ap_credential_token_clean(out->refresh_token))) {
            /* A CR/LF would become extra header lines on the next request.
             * The platform may have rotated the pair: as unknown as above. */
            snprintf(msg, len, "token endpoint answered a token with a control character; refused");
            o = AP_REFRESH_AMBIGUOUS;
        } else if (out->refresh_token == NULL && old->refresh_token &&
                   (out->refresh_token = strdup(old->refresh_token)) == NULL) {
            snprintf(msg, len, "out of memory");
            o = AP_REFRESH_AMBIGUOUS;
        } else {
            json_t *ei = json_object_get(root, "expires_in");
            int64_t expires_in = json_is_integer(ei) ? (int64_t)json_integer_value(ei) : 0;
            /* Any 64-bit value may arrive; "* 1000" must not overflow. */
            if (expires_in > AP_REFRESH_EXPIRES_IN_MAX) expires_in = AP_REFRESH_EXPIRES_IN_MAX;
            out->expires_at_ms = expires_in > 0 ? now_ms + expires_in * 1000 : 0;
            out->issued_at_ms = now_ms > old->issued_at_ms ? now_ms : old->issued_at_ms + 1;
            snprintf(msg, len, "access token refreshed (valid %lld s)", (long long)expires_in);
            o = AP_REFRESH_OK;
        }
    } else if ((res->status == 400 || res->status == 401) && error &&
               strcmp(error, "invalid_grant") == 0) {
        snprintf(msg, len, "the platform refused the refresh token (invalid_grant%s%.200s)",
                 desc ? ": " : "", desc ? desc : "");
        o = AP_REFRESH_INVALID_GRANT;
    } else if (res->status == 429 || res->status == 503 ||
               (res->status >= 400 && res->status < 500)) {
        snprintf(msg, len, "token endpoint answered %ld%s%.100s%s%.200s", res->status,
                 error ? " " : "", error ? error : "", desc ? ": " : "", desc ? desc : "");
        o = AP_REFRESH_NOT_DONE;
    } else {
        /* 500/502/504 and the like: a gateway may have let it through. */
        snprintf(msg, len, "token endpoint answered %ld; the refresh may have happened",
                 res->status);
        o = AP_REFRESH_AMBIGUOUS;
    }
    if (root) wipe_json_tokens(root);
    json_decref(root);
    if (o != AP_REFRESH_OK) ap_credential_wipe(out);
    return o;
}
