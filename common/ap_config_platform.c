/* ap_config_platform.c -- the platforms.<name>.* section of the
 * configuration: its key table, each platform's defaults, and the checks
 * between its keys. The YAML walking it shares with ap_config.c is in
 * ap_config_keys.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ap_config.h"
#include "ap_config_keys.h"
#include "ap_netpolicy.h"
#include "ap_platforms.h"

#define P(field) offsetof(ap_platform_config, field)
static const key_spec platform_keys[] = {
    {"enabled", T_BOOL, P(enabled), 0, 0},
    {"base_url", T_STRING, P(base_url), 0, 0},
    {"api_version", T_STRING, P(api_version), 0, 0},
    {"timeout", T_DURATION, P(timeout_ms), 100, 600000},
    {"connect_timeout", T_DURATION, P(connect_timeout_ms), 100, 120000},
    {"concurrency", T_INT, P(concurrency), 1, 10000},
    {"max_ack_pending", T_INT, P(max_ack_pending), 1, 100000},
    {"max_attempts", T_INT, P(max_attempts), 1, 100},
    {"backoff_base", T_DURATION, P(backoff_base_ms), 1, 3600000},
    {"backoff_max", T_DURATION, P(backoff_max_ms), 1, 86400000},
    {"quota_wait", T_DURATION, P(quota_wait_ms), 1000, 86400000},
    {"tls_verify", T_BOOL, P(tls_verify), 0, 0},
    {"insecure_http", T_BOOL, P(insecure_http), 0, 0},
    {"ca_file", T_STRING, P(ca_file), 0, 0},
    {"token_url", T_STRING, P(token_url), 0, 0},
    {"client_id", T_STRING, P(client_id), 0, 0},
    {"client_secret_file", T_STRING, P(client_secret_file), 0, 0},
    {"token_auth", T_STRING, P(token_auth), 0, 0},
    {"token_refresh_margin", T_DURATION, P(token_refresh_margin_ms), 0, 86400000},
    {"account_limit", T_INT, P(account_limit), 0, 1000000},
    {"account_window", T_DURATION, P(account_window_ms), 1000, 7 * 86400000LL},
    {"app_limit", T_INT, P(app_limit), 0, 100000000},
    {"app_window", T_DURATION, P(app_window_ms), 1000, 7 * 86400000LL},
    /* X takes appends of up to 5 MB; below 64 KiB a video is too many parts. */
    {"media_chunk_size", T_INT, P(media_chunk_bytes), 65536, 5000000},
    {"max_lateness", T_DURATION, P(max_lateness_ms), 0, 365 * 86400000LL},
};
#undef P

void ap_config_platform_free(ap_platform_config *p) {
    free(p->base_url);
    free(p->api_version);
    free(p->ca_file);
    free(p->token_url);
    free(p->client_id);
    free(p->client_secret_file);
    free(p->token_auth);
}

static ap_platform_config *platform_add(ap_config *cfg, const char *name) {
    for (int i = 0; i < cfg->nplatforms; i++)
        if (strcmp(cfg->platforms[i].name, name) == 0) return &cfg->platforms[i];
    const ap_platform_info *info = ap_platform_info_find(name);
    if (info == NULL || cfg->nplatforms == AP_MAX_PLATFORMS) return NULL;
    ap_platform_config *p = &cfg->platforms[cfg->nplatforms++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->enabled = true;
    p->base_url = strdup(info->default_base_url);
    p->api_version = strdup(info->default_api_version);
    p->timeout_ms = 30000;
    p->connect_timeout_ms = 5000;
    p->concurrency = 64;
    p->max_ack_pending = 1024;
    p->max_attempts = 8;
    p->backoff_base_ms = 1000;
    p->backoff_max_ms = 5 * 60 * 1000;
    /* Instagram's and Threads' quota is a rolling 24 h with no reset time:
     * an hour is the conservative guess. */
    p->quota_wait_ms = 60 * 60 * 1000;
    p->tls_verify = true;
    p->token_auth = strdup("basic");
    p->token_refresh_margin_ms = 5 * 60 * 1000;
    /* A documented cap is a limit known in advance: the claim holds posts
     * back instead of asking the platform to refuse them. */
    p->account_limit = info->account_limit;
    p->account_window_ms = info->account_limit > 0 ? info->account_window_ms : 15 * 60 * 1000;
    p->app_window_ms = 24 * 60 * 60 * 1000;
    p->media_chunk_bytes = 4 * 1024 * 1024;
    return p;
}

ap_status ap_config_walk_platform(load_ctx *c, const char *name, yaml_node_t *at,
                                  yaml_node_t *map) {
    char key[256];
    ap_platform_config *p = platform_add(c->cfg, name);
    if (p == NULL) {
        if (ap_platform_info_find(name) == NULL) {
            char known[256] = "";
            for (size_t i = 0; ap_platform_info_at(i); i++) {
                if (i) strncat(known, ", ", sizeof(known) - strlen(known) - 1);
                strncat(known, ap_platform_info_at(i)->name, sizeof(known) - strlen(known) - 1);
            }
            snprintf(key, sizeof(key), "platforms.%s", name);
            return ap_config_fail(c, at, key, "unknown platform (known: %s)", known);
        }
        return ap_config_fail(c, at, "platforms", "too many platforms");
    }
    /* "facebook:" (or "facebook: ~") means the platform with its defaults. */
    if (map->type == YAML_SCALAR_NODE && map->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (*ap_config_scalar(map) == '\0' || strcmp(ap_config_scalar(map), "~") == 0 ||
         strcmp(ap_config_scalar(map), "null") == 0))
        return AP_OK;
    if (map->type != YAML_MAPPING_NODE) {
        snprintf(key, sizeof(key), "platforms.%s", name);
        return ap_config_fail(c, at, key, "expected a mapping");
    }
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
        snprintf(key, sizeof(key), "platforms.%s.%s", name,
                 k->type == YAML_SCALAR_NODE ? ap_config_scalar(k) : "?");
        const key_spec *spec =
            k->type == YAML_SCALAR_NODE
                ? ap_config_find_key(platform_keys, NKEYS(platform_keys), ap_config_scalar(k))
                : NULL;
        if (spec == NULL) return ap_config_fail(c, k, key, "unknown key");
        ap_status s = ap_config_set_value(c, spec, p, key, k, v);
        if (s != AP_OK) return s;
    }
    return AP_OK;
}

/* Token refresh keys go together: a token_url needs a client id. */
static ap_status ap_config_check_refresh(const ap_platform_config *p, const char *where, char *err,
                                         size_t errlen) {
    if (strcmp(p->token_auth, "basic") != 0 && strcmp(p->token_auth, "body") != 0) {
        snprintf(err, errlen, "%s: platforms.%s.token_auth: must be basic or body", where, p->name);
        return AP_EINVAL;
    }
    if (p->token_url == NULL) {
        if (p->client_id || p->client_secret_file) {
            snprintf(err, errlen, "%s: platforms.%s.token_url: required with client_id", where,
                     p->name);
            return AP_EINVAL;
        }
        return AP_OK;
    }
    if (strncmp(p->token_url, "http://", 7) != 0 && strncmp(p->token_url, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: platforms.%s.token_url: must start with http:// or https://",
                 where, p->name);
        return AP_EINVAL;
    }
    if (p->client_id == NULL || *p->client_id == '\0') {
        snprintf(err, errlen, "%s: platforms.%s.client_id: required with token_url", where,
                 p->name);
        return AP_EINVAL;
    }
    return AP_OK;
}

/* Plain http to a platform carries its tokens readable on the wire: only
 * for the local machine (a sandbox, the tests, the demo) or when the
 * platform's entry says so (a sandbox Service in a dev cluster). */
static ap_status ap_config_check_plain_http(const ap_platform_config *p, const char *key,
                                            const char *url, const char *where, char *err,
                                            size_t errlen) {
    if (url == NULL || strncasecmp(url, "http://", 7) != 0) return AP_OK;
    if (p->insecure_http || ap_netpolicy_url_is_loopback(url)) return AP_OK;
    snprintf(err, errlen,
             "%s: platforms.%s.%s: plain http to a host other than loopback sends tokens "
             "unencrypted; use https or set platforms.%s.insecure_http: true",
             where, p->name, key, p->name);
    return AP_EINVAL;
}

/* ca_file is read by libcurl at the first call, long after start: check
 * here that the publisher can read it, so a wrong path stops the service
 * with the key's name instead of failing every call as a TLS error. Only
 * the publisher's own platform (needs AP_NEED_PLATFORM) is checked: other
 * services never open the file and may not have it mounted. */
static ap_status ap_config_check_ca_file(const ap_platform_config *p, const char *where, char *err,
                                         size_t errlen) {
    if (p->ca_file == NULL) return AP_OK;
    if (!p->tls_verify) {
        snprintf(err, errlen,
                 "%s: platforms.%s.ca_file: has no effect with tls_verify: false; drop one of them",
                 where, p->name);
        return AP_EINVAL;
    }
    if (access(p->ca_file, R_OK) != 0) {
        snprintf(err, errlen, "%s: platforms.%s.ca_file: cannot read %s: %s", where, p->name,
                 p->ca_file, strerror(errno));
        return AP_EINVAL;
    }
    return AP_OK;
}

/* A platform's documented per-account cap may be lowered, not turned off or
 * raised: past it every extra post is a publishing call the platform
 * refuses (README "Rate limits"). account_window is free, so a test against
 * a sandbox can shorten the platform's window. */
static ap_status ap_config_check_cap(const ap_platform_config *p, const char *where, char *err,
                                     size_t errlen) {
    const ap_platform_info *info = ap_platform_info_find(p->name);
    if (info == NULL || info->account_limit <= 0) return AP_OK;
    if (p->account_limit >= 1 && p->account_limit <= info->account_limit) return AP_OK;
    snprintf(err, errlen,
             "%s: platforms.%s.account_limit: %s allows at most %d posts per account per %lld h; "
             "use 1..%d (the default is %d)",
             where, p->name, p->name, info->account_limit,
             info->account_window_ms / (3600 * 1000LL), info->account_limit, info->account_limit);
    return AP_EINVAL;
}

ap_status ap_config_require_platform(const ap_config *cfg, const char *platform, const char *where,
                                     char *err, size_t errlen) {
    if (ap_config_platform(cfg, platform) == NULL) {
        snprintf(err, errlen, "%s: platforms.%s: platform is not configured", where,
                 platform ? platform : "?");
        return AP_EINVAL;
    }
    return ap_config_check_ca_file(ap_config_platform(cfg, platform), where, err, errlen);
}

ap_status ap_config_check_platforms(const ap_config *cfg, const char *where, char *err,
                                    size_t errlen) {
    for (int i = 0; i < cfg->nplatforms; i++) {
        const ap_platform_config *p = &cfg->platforms[i];
        if (strncmp(p->base_url, "http://", 7) != 0 && strncmp(p->base_url, "https://", 8) != 0) {
            snprintf(err, errlen, "%s: platforms.%s.base_url: must start with http:// or https://",
                     where, p->name);
            return AP_EINVAL;
        }
        if (ap_config_check_plain_http(p, "base_url", p->base_url, where, err, errlen) != AP_OK ||
            ap_config_check_plain_http(p, "token_url", p->token_url, where, err, errlen) != AP_OK)
            return AP_EINVAL;
        if (ap_config_check_refresh(p, where, err, errlen) != AP_OK) return AP_EINVAL;
        if (ap_config_check_cap(p, where, err, errlen) != AP_OK) return AP_EINVAL;
        if (p->backoff_max_ms < p->backoff_base_ms) {
            snprintf(err, errlen, "%s: platforms.%s.backoff_max: smaller than backoff_base", where,
                     p->name);
            return AP_EINVAL;
        }
    }
    return AP_OK;
}

const ap_platform_config *ap_config_platform(const ap_config *cfg, const char *name) {
    if (name == NULL) return NULL;
    for (int i = 0; i < cfg->nplatforms; i++)
        if (strcmp(cfg->platforms[i].name, name) == 0) return &cfg->platforms[i];
    return NULL;
}
