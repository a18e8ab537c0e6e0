/* oauth.c -- imitation of the OAuth 2.0 refresh-token grant (RFC 6749
 * section 6) of X and LinkedIn.
 *
 *   POST /x/2/oauth2/token                form grant_type=refresh_token,
 *        refresh_token, client_id (public client) or HTTP Basic
 *        client_id:secret (confidential)
 *        -> {"token_type":"bearer","expires_in":N,"access_token","scope",
 *            "refresh_token"}
 *   POST /linkedin/oauth/v2/accessToken   form grant_type=refresh_token,
 *        refresh_token, client_id, client_secret
 *        -> {"access_token","expires_in","refresh_token",
 *            "refresh_token_expires_in"}
 *
 * Refresh tokens rotate and work once: every success issues a new one and
 * spends the old; spending one twice (or a revoked*, expired*, invalid*
 * one) is 400 {"error":"invalid_grant"}. A refresh token the sandbox never
 * issued and never saw is accepted once, like an access token it does not
 * know: it starts a "family" named after it, and every token issued from
 * it carries the family name, so /_sandbox/stats can count refreshes per
 * account ("oauth":{"refreshes":{"<family>":N},"invalid_grant":N}).
 * Issued access tokens are tracked (tokens.c) and expire after the
 * token_ttl_s knob. Injected faults (5xx, throttle, hang) apply like on
 * any write, so a test can make a refresh ambiguous. A hang holds the
 * request before the token is spent; close_rate spends it, then closes the
 * connection unanswered (the case where a client's resend burns the new
 * refresh token). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server.h"

#define FAMILY_MAX 96

typedef struct rt_entry {
    struct rt_entry *next;
    char family[FAMILY_MAX];
    int used;
    char token[];
} rt_entry;

typedef struct family_count {
    struct family_count *next;
    uint64_t refreshes;
    char family[FAMILY_MAX];
} family_count;

static pthread_mutex_t oauth_mu = PTHREAD_MUTEX_INITIALIZER;
static rt_entry *tokens;       /* every refresh token seen or issued */
static family_count *families; /* successful refreshes per family */
static uint64_t invalid_grants;

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Caller holds oauth_mu. */
static rt_entry *rt_find(const char *token) {
    for (rt_entry *e = tokens; e; e = e->next)
        if (strcmp(e->token, token) == 0) return e;
    return NULL;
}

static rt_entry *rt_add(const char *token, const char *family) {
    size_t n = strlen(token);
    rt_entry *e = calloc(1, sizeof(*e) + n + 1);
    if (e == NULL) return NULL;
    memcpy(e->token, token, n + 1);
    snprintf(e->family, sizeof(e->family), "%s", family);
    e->next = tokens;
    tokens = e;
    return e;
}

static void count_refresh(const char *family) {
    family_count *f = families;
    while (f && strcmp(f->family, family) != 0) f = f->next;
    if (f == NULL) {
        f = calloc(1, sizeof(*f));
        if (f == NULL) return;
        snprintf(f->family, sizeof(f->family), "%s", family);
        f->next = families;
        families = f;
    }
    f->refreshes++;
}

static void oauth_error(sandbox_request *req, unsigned status, const char *error,
                        const char *description) {
    sandbox_reply_json(req, status,
                       json_pack("{s:s,s:s}", "error", error, "error_description", description));
}

static int has_basic_auth(sandbox_request *req) {
    const char *auth = sandbox_req_header(req, "Authorization");
    return auth && strncasecmp(auth, "Basic ", 6) == 0 && auth[6] != '\0';
}

/* Spends refresh token rt; fills the family and the new pair. Returns the
 * error to answer, or NULL. Caller holds oauth_mu. */
static const char *spend(const char *rt, char *family, size_t flen, char *access, size_t alen,
                         char *refresh, size_t rlen) {
    if (strncmp(rt, "revoked", 7) == 0 || strncmp(rt, "expired", 7) == 0 ||
        strncmp(rt, "invalid", 7) == 0)
        return "The refresh token is invalid, expired or revoked.";
    rt_entry *e = rt_find(rt);
    if (e && e->used) return "The refresh token was already used.";
    if (e == NULL) {
        /* A first-seen token starts its family: the part before any '.'. */
        const char *dot = strchr(rt, '.');
        size_t n = dot ? (size_t)(dot - rt) : strlen(rt);
        snprintf(family, flen, "%.*s", (int)(n < FAMILY_MAX - 1 ? n : FAMILY_MAX - 1), rt);
        if ((e = rt_add(rt, family)) == NULL) return "out of memory";
    }
    snprintf(family, flen, "%s", e->family);
    e->used = 1;
    uint64_t id = sandbox_next_object_id(), salt = sandbox_random_aux();
    snprintf(access, alen, SANDBOX_ISSUED_TOKEN_PREFIX "%s.%" PRIu64 ".%016" PRIx64, family, id,
             salt);
    snprintf(refresh, rlen, "%s.r%" PRIu64 ".%016" PRIx64, family, id, salt ^ 0x5bd1e995u);
    if (rt_add(refresh, family) == NULL) return "out of memory";
    count_refresh(family);
    return NULL;
}

/* The checks and the grant both platforms share; answers errors itself and
 * returns 0 with the new pair, or -1. */
static int oauth_grant(sandbox_request *req, char *access, size_t alen, char *refresh, size_t rlen,
                       long *ttl) {
    switch (sandbox_req_fault(req, SANDBOX_OP_WRITE)) {
    case SANDBOX_FAULT_5XX:
        oauth_error(req, 503, "temporarily_unavailable", "Try again.");
        return -1;
    case SANDBOX_FAULT_THROTTLE:
        oauth_error(req, 429, "rate_limited", "Too many requests.");
        return -1;
    case SANDBOX_FAULT_HANG: sandbox_hold(req); return -1; /* unspent; the client cannot tell */
    default: break; /* SANDBOX_FAULT_CLOSE: spent first, see oauth_reply() */
    }
    if (strcmp(sandbox_req_method(req), "POST") != 0) {
        oauth_error(req, 405, "invalid_request", "Use POST.");
        return -1;
    }
    const char *grant = sandbox_req_param(req, "grant_type");
    const char *rt = sandbox_req_param(req, "refresh_token");
    if (grant == NULL || strcmp(grant, "refresh_token") != 0) {
        oauth_error(req, 400, "unsupported_grant_type", "Only refresh_token is imitated.");
        return -1;
    }
    if (rt == NULL || *rt == '\0') {
        oauth_error(req, 400, "invalid_request", "Missing required parameter [refresh_token].");
        return -1;
    }
    char family[FAMILY_MAX];
    pthread_mutex_lock(&oauth_mu);
    const char *why = spend(rt, family, sizeof(family), access, alen, refresh, rlen);
    if (why) invalid_grants++;
    pthread_mutex_unlock(&oauth_mu);
    if (why) {
        sandbox_log("oauth: invalid_grant: %s", why);
        oauth_error(req, 400, "invalid_grant", why);
        return -1;
    }
    *ttl = sandbox_token_ttl_s();
    if (sandbox_token_issue(access, wall_ms() + *ttl * 1000) != 0) {
        oauth_error(req, 500, "server_error", "out of memory");
        return -1;
    }
    return 0;
}

/* The grant's answer, or for a close fault nothing: the tokens were issued
 * and the connection closes (sandbox_hold). */
static void oauth_reply(sandbox_request *req, json_t *body) {
    if (sandbox_req_fault(req, SANDBOX_OP_WRITE) == SANDBOX_FAULT_CLOSE) {
        json_decref(body);
        sandbox_hold(req);
        return;
    }
    sandbox_reply_json(req, 200, body);
}

static void x_token(sandbox_request *req) {
    const char *client_id = sandbox_req_param(req, "client_id");
    if (!has_basic_auth(req) && (client_id == NULL || *client_id == '\0')) {
        oauth_error(req, 400, "invalid_request", "Missing required parameter [client_id].");
        return;
    }
    char access[256], refresh[256];
    long ttl = 0;
    if (oauth_grant(req, access, sizeof(access), refresh, sizeof(refresh), &ttl) != 0) return;
    oauth_reply(req, json_pack("{s:s,s:I,s:s,s:s,s:s}", "token_type", "bearer", "expires_in",
                               (json_int_t)ttl, "access_token", access, "scope",
                               "tweet.write users.read tweet.read offline.access", "refresh_token",
                               refresh));
}

static void linkedin_token(sandbox_request *req) {
    const char *client_id = sandbox_req_param(req, "client_id");
    const char *secret = sandbox_req_param(req, "client_secret");
    if (client_id == NULL || *client_id == '\0' || secret == NULL || *secret == '\0') {
        oauth_error(req, 401, "invalid_client", "Client authentication failed.");
        return;
    }
    char access[256], refresh[256];
    long ttl = 0;
    if (oauth_grant(req, access, sizeof(access), refresh, sizeof(refresh), &ttl) != 0) return;
    oauth_reply(req, json_pack("{s:s,s:I,s:s,s:I}", "access_token", access, "expires_in",
                               (json_int_t)ttl, "refresh_token", refresh,
                               "refresh_token_expires_in", (json_int_t)31536000));
}

static void x_oauth_handle(sandbox_request *req) {
    if (strcmp(sandbox_req_path(req), "/x/2/oauth2/token") == 0) {
        x_token(req);
        return;
    }
    oauth_error(req, 404, "not_found", "Unknown OAuth path.");
}

static void linkedin_oauth_handle(sandbox_request *req) {
    if (strcmp(sandbox_req_path(req), "/linkedin/oauth/v2/accessToken") == 0) {
        linkedin_token(req);
        return;
    }
    oauth_error(req, 404, "not_found", "Unknown OAuth path.");
}

const sandbox_platform sandbox_x_oauth = {"x", "/x/2/oauth2/", x_oauth_handle};
const sandbox_platform sandbox_linkedin_oauth = {"linkedin", "/linkedin/oauth/",
                                                 linkedin_oauth_handle};

json_t *sandbox_oauth_stats_json(void) {
    json_t *counts = json_object();
    if (counts == NULL) return NULL;
    pthread_mutex_lock(&oauth_mu);
    for (family_count *f = families; f; f = f->next)
        json_object_set_new(counts, f->family, json_integer((json_int_t)f->refreshes));
    json_t *o =
        json_pack("{s:o,s:I}", "refreshes", counts, "invalid_grant", (json_int_t)invalid_grants);
    pthread_mutex_unlock(&oauth_mu);
    return o;
}

void sandbox_oauth_reset(void) {
    pthread_mutex_lock(&oauth_mu);
    while (tokens) {
        rt_entry *next = tokens->next;
        free(tokens);
        tokens = next;
    }
    while (families) {
        family_count *next = families->next;
        free(families);
        families = next;
    }
    invalid_grants = 0;
    pthread_mutex_unlock(&oauth_mu);
    sandbox_tokens_reset();
}
