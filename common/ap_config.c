/* ap_config.c -- strict YAML configuration loader (see ap_config.h).
 *
 * libyaml's document API gives us a node tree with line numbers. We walk it
 * against a flat schema of dotted keys ("nats.url"), so every key has one
 * line in one table: its type, its range and where it lands in ap_config.
 * `platforms.<name>.*` is the one dynamic section; it has its own table, in
 * ap_config_platform.c. */
#include "ap_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "ap_config_keys.h"
#include "ap_log.h"
#include "ap_time.h"

#define F(field) offsetof(ap_config, field)
static const key_spec config_keys[] = {
    {"service.instance", T_STRING, F(instance), 0, 0},
    {"service.shutdown_grace", T_DURATION, F(shutdown_grace_ms), 0, 3600000},
    {"service.http_bind", T_STRING, F(http_bind), 0, 0},
    {"service.http_port", T_INT, F(http_port), 0, 65535},
    {"log.level", T_STRING, F(log_level), 0, 0},
    {"nats.url", T_STRING, F(nats_url), 0, 0},
    {"nats.connect_timeout", T_DURATION, F(nats_connect_timeout_ms), 100, 600000},
    {"nats.stream_replicas", T_INT, F(stream_replicas), 1, 5},
    {"nats.duplicate_window", T_DURATION, F(duplicate_window_ms), 1000, 7 * 86400000LL},
    {"nats.ack_wait", T_DURATION, F(ack_wait_ms), 1000, 3600000},
    {"nats.max_deliver", T_INT, F(max_deliver), 2, 1000},
    {"nats.manage_topology", T_BOOL, F(nats_manage_topology), 0, 0},
    {"nats.inbox_prefix", T_STRING, F(nats_inbox_prefix), 0, 0},
    {"nats.user", T_STRING, F(nats_user), 0, 0},
    {"nats.password", T_STRING, F(nats_password), 0, 0},
    {"nats.creds_file", T_STRING, F(nats_creds_file), 0, 0},
    {"nats.nkey", T_STRING, F(nats_nkey), 0, 0},
    {"nats.nkey_seed_file", T_STRING, F(nats_nkey_seed_file), 0, 0},
    {"nats.tls.ca_file", T_STRING, F(nats_tls_ca_file), 0, 0},
    {"nats.tls.cert_file", T_STRING, F(nats_tls_cert_file), 0, 0},
    {"nats.tls.key_file", T_STRING, F(nats_tls_key_file), 0, 0},
    {"postgres.dsn", T_STRING, F(pg_dsn), 0, 0},
    {"credentials.key_file", T_STRING, F(credentials_key_file), 0, 0},
    {"credentials.previous_key_files", T_STRING, F(credentials_previous_key_files), 0, 0},
    {"scheduler.tick", T_DURATION, F(scheduler_tick_ms), 10, 60000},
    {"scheduler.batch_size", T_INT, F(scheduler_batch_size), 1, 10000},
    {"scheduler.max_queued_per_account", T_INT, F(scheduler_max_queued_per_account), 0, 1000000},
    {"scheduler.max_queued_per_tenant", T_INT, F(scheduler_max_queued_per_tenant), 0, 1000000},
    {"scheduler.max_past", T_DURATION, F(scheduler_max_past_ms), 0, 7 * 86400000LL},
    {"scheduler.recurrence_horizon", T_DURATION, F(scheduler_recurrence_horizon_ms), 60000,
     31 * 86400000LL},
    {"scheduler.recurrence_grace", T_DURATION, F(scheduler_recurrence_grace_ms), 1000, 86400000LL},
    {"publisher.fetch_batch", T_INT, F(publisher_fetch_batch), 1, 4096},
    {"publisher.drain_grace", T_DURATION, F(publisher_drain_grace_ms), 0, 3600000},
    {"publisher.media_allow_private", T_BOOL, F(publisher_media_allow_private), 0, 0},
    {"publisher.normal_share", T_FRACTION, F(publisher_normal_share), 0, 900},
    {"dispatcher.batch_size", T_INT, F(dispatcher_batch_size), 1, 10000},
    {"dispatcher.flush_interval", T_DURATION, F(dispatcher_flush_ms), 1, 60000},
    {"events.retention", T_DURATION, F(events_retention_ms), 0, 3650 * 86400000LL},
    {"console.http_bind", T_STRING, F(console_http_bind), 0, 0},
    {"console.http_port", T_INT, F(console_http_port), 1, 65535},
    {"console.token_file", T_STRING, F(console_token_file), 0, 0},
    {"console.read_token_file", T_STRING, F(console_read_token_file), 0, 0},
    {"console.allowed_hosts", T_STRING, F(console_allowed_hosts), 0, 0},
    {"console.consumer_lag", T_BOOL, F(console_consumer_lag), 0, 0},
    {"webhooks.retry_initial", T_DURATION, F(webhooks_retry_initial_ms), 10, 3600000},
    {"webhooks.retry_max", T_DURATION, F(webhooks_retry_max_ms), 10, 86400000},
    {"webhooks.give_up_after", T_DURATION, F(webhooks_give_up_after_ms), 1000, 30 * 86400000LL},
    {"webhooks.timeout", T_DURATION, F(webhooks_timeout_ms), 100, 120000},
    {"webhooks.concurrency", T_INT, F(webhooks_concurrency), 1, 10000},
    {"webhooks.allow_private", T_BOOL, F(webhooks_allow_private), 0, 0},
    {"webhooks.delivery_retention", T_DURATION, F(webhooks_delivery_retention_ms), 0,
     3650 * 86400000LL},
    {"api.http_bind", T_STRING, F(api_http_bind), 0, 0},
    {"api.http_port", T_INT, F(api_http_port), 1, 65535},
    {"api.threads", T_INT, F(api_threads), 1, 64},
    {"api.rate_limit_per_second", T_INT, F(api_rate_limit_per_second), 1, 1000000},
    {"api.rate_limit_burst", T_INT, F(api_rate_limit_burst), 1, 1000000},
    {"api.idempotency_ttl", T_DURATION, F(api_idempotency_ttl_ms), 86400000LL, 30 * 86400000LL},
    {"api.min_recurrence_interval", T_DURATION, F(api_min_recurrence_interval_ms), 0, 86400000LL},
};
#undef F

void ap_config_init(ap_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = strdup("info");
    cfg->nats_connect_timeout_ms = 5000;
    cfg->stream_replicas = 1;
    cfg->nats_manage_topology = true;
    cfg->duplicate_window_ms = 2 * 3600 * 1000; /* >= 1 h: covers a long outage */
    cfg->ack_wait_ms = 60 * 1000;
    cfg->max_deliver = 20;
    cfg->scheduler_tick_ms = 200;
    cfg->scheduler_batch_size = 500;
    cfg->scheduler_max_queued_per_account = 100;
    /* One tenant's share of the queue: other tenants' posts wait behind at
     * most this many of its jobs (README "Fairness"). Big enough that a lone
     * tenant keeps the demo's eight publishers (640 jobs held) busy through
     * a scheduler tick or two at the pipeline's top rate. */
    cfg->scheduler_max_queued_per_tenant = 2000;
    /* Long enough for a script that computed "in a moment" before a slow
     * import; far too short for a date or time-zone bug to slip through. */
    cfg->scheduler_max_past_ms = 5 * 60 * 1000;
    /* A day ahead: a scheduler outage shorter than that loses nothing, and
     * a minutely rule costs at most 1,440 rows per account. */
    cfg->scheduler_recurrence_horizon_ms = 24 * 3600 * 1000LL;
    cfg->scheduler_recurrence_grace_ms = 10 * 60 * 1000;
    cfg->publisher_fetch_batch = 64;
    cfg->publisher_normal_share = 0.2;
    cfg->publisher_drain_grace_ms = 20000;
    cfg->dispatcher_batch_size = 500;
    cfg->dispatcher_flush_ms = 20;
    cfg->shutdown_grace_ms = 25000;
    cfg->http_bind = strdup("0.0.0.0");
    cfg->console_http_bind = strdup("127.0.0.1"); /* a person's browser, not the world */
    cfg->console_http_port = 8090;
    cfg->console_consumer_lag = true;
    cfg->webhooks_retry_initial_ms = 5000;
    cfg->webhooks_retry_max_ms = 3600 * 1000;
    cfg->webhooks_give_up_after_ms = 24 * 3600 * 1000LL; /* Stripe-like: a day of retries */
    cfg->webhooks_timeout_ms = 10000;
    cfg->webhooks_concurrency = 64;
    /* A week of outcomes to look back on (GET .../deliveries, the events
     * table) before the rows go: longer than any retry (give_up_after). */
    cfg->events_retention_ms = 7 * 86400000LL;
    cfg->webhooks_delivery_retention_ms = 7 * 86400000LL;
    cfg->api_http_bind = strdup("127.0.0.1"); /* behind a Service or proxy, not the world */
    cfg->api_http_port = 8088;
    cfg->api_threads = 4;
    cfg->api_rate_limit_per_second = 50;
    cfg->api_rate_limit_burst = 100;
    /* Stripe keeps keys 24 h; a client retrying a day-old request is rarer
     * than one retrying after an outage, so that is the floor. */
    cfg->api_idempotency_ttl_ms = 86400000LL;
    cfg->api_min_recurrence_interval_ms = 60 * 1000;
}

void ap_config_free(ap_config *cfg) {
    if (cfg == NULL) return;
    free(cfg->path);
    free(cfg->instance);
    free(cfg->log_level);
    free(cfg->nats_url);
    free(cfg->nats_user);
    free(cfg->nats_inbox_prefix);
    if (cfg->nats_password) {
        explicit_bzero(cfg->nats_password, strlen(cfg->nats_password));
        free(cfg->nats_password);
    }
    free(cfg->nats_creds_file);
    free(cfg->nats_nkey);
    free(cfg->nats_nkey_seed_file);
    free(cfg->nats_tls_ca_file);
    free(cfg->nats_tls_cert_file);
    free(cfg->nats_tls_key_file);
    free(cfg->credentials_previous_key_files);
    free(cfg->http_bind);
    free(cfg->pg_dsn);
    free(cfg->credentials_key_file);
    if (cfg->credentials_key_hex) {
        explicit_bzero(cfg->credentials_key_hex, strlen(cfg->credentials_key_hex));
        free(cfg->credentials_key_hex);
    }
    for (int i = 0; i < cfg->nplatforms; i++) ap_config_platform_free(&cfg->platforms[i]);
    free(cfg->console_http_bind);
    free(cfg->console_token_file);
    free(cfg->console_read_token_file);
    free(cfg->console_allowed_hosts);
    free(cfg->api_http_bind);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- YAML walking ------------------------------------------------------- */

ap_status ap_config_fail(load_ctx *c, yaml_node_t *node, const char *key, const char *fmt, ...) {
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%lu: %s: %s", c->file,
             node ? (unsigned long)node->start_mark.line + 1 : 0UL, key, reason);
    return AP_EINVAL;
}

/* Errors point at the key's line: a block value (mapping, sequence) starts on
 * the next line, which is not where a person looks for "url:". */
ap_status ap_config_set_value(load_ctx *c, const key_spec *spec, void *base, const char *key,
                              yaml_node_t *at, yaml_node_t *node) {
    if (node->type != YAML_SCALAR_NODE)
        return ap_config_fail(c, at, key, "expected a scalar value, found a %s",
                              node->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
    const char *v = ap_config_scalar(node);
    bool quoted = node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                  node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    char *field = (char *)base + spec->offset;
    switch (spec->type) {
    case T_STRING: {
        if (!quoted && (strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || *v == '\0'))
            return ap_config_fail(c, at, key, "expected a string, found null");
        if (*v == '\0') return ap_config_fail(c, at, key, "expected a non-empty string");
        char **dst = (char **)field;
        free(*dst);
        *dst = strdup(v);
        return *dst ? AP_OK : AP_ENOMEM;
    }
    case T_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (quoted || errno || end == v || *end != '\0')
            return ap_config_fail(c, at, key, "expected an integer, found \"%s\"", v);
        if (n < spec->min || n > spec->max)
            return ap_config_fail(c, at, key, "%lld is out of range [%lld, %lld]", n,
                                  (long long)spec->min, (long long)spec->max);
        *(int *)field = (int)n;
        return AP_OK;
    }
    case T_BOOL:
        if (!quoted && (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0))
            *(bool *)field = true;
        else if (!quoted &&
                 (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0))
            *(bool *)field = false;
        else
            return ap_config_fail(c, at, key, "expected true or false, found \"%s\"", v);
        return AP_OK;
    case T_FRACTION: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (quoted || errno || end == v || *end != '\0' || d != d)
            return ap_config_fail(c, at, key, "expected a number like 0.2, found \"%s\"", v);
        if (d < (double)spec->min / 1000.0 || d > (double)spec->max / 1000.0)
            return ap_config_fail(c, at, key, "%s is out of range [%g, %g]", v,
                                  (double)spec->min / 1000.0, (double)spec->max / 1000.0);
        *(double *)field = d;
        return AP_OK;
    }
    case T_DURATION: {
        int64_t ms;
        if (ap_duration_parse(v, &ms) != 0)
            return ap_config_fail(c, at, key,
                                  "expected a duration like 500ms, 2s, 5m or 1h, found \"%s\"", v);
        if (ms < spec->min || ms > spec->max)
            return ap_config_fail(c, at, key, "%s is out of range [%lldms, %lldms]", v,
                                  (long long)spec->min, (long long)spec->max);
        *(int64_t *)field = ms;
        return AP_OK;
    }
    }
    return AP_EINVAL;
}

const key_spec *ap_config_find_key(const key_spec *table, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].key, key) == 0) return &table[i];
    return NULL;
}

/* Is some schema key below this prefix? ("nats" for "nats.url") */
static bool is_section(const char *prefix) {
    size_t n = strlen(prefix);
    for (size_t i = 0; i < NKEYS(config_keys); i++)
        if (strncmp(config_keys[i].key, prefix, n) == 0 && config_keys[i].key[n] == '.')
            return true;
    return false;
}

/* at: the key node naming this section (NULL for the document root). */
static ap_status walk_mapping(load_ctx *c, const char *prefix, yaml_node_t *at, yaml_node_t *map) {
    /* "nats:" with every child commented out is an empty section. */
    if (at != NULL && map->type == YAML_SCALAR_NODE &&
        map->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (*ap_config_scalar(map) == '\0' || strcmp(ap_config_scalar(map), "~") == 0 ||
         strcmp(ap_config_scalar(map), "null") == 0))
        return AP_OK;
    if (map->type != YAML_MAPPING_NODE)
        return ap_config_fail(c, at ? at : map, *prefix ? prefix : "(top level)",
                              "expected a mapping");
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
        char key[256];
        if (k->type != YAML_SCALAR_NODE)
            return ap_config_fail(c, k, prefix, "keys must be plain strings");
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", ap_config_scalar(k));

        if (strcmp(key, "platforms") == 0) {
            if (v->type != YAML_MAPPING_NODE)
                return ap_config_fail(c, k, key, "expected a mapping");
            for (yaml_node_pair_t *pp = v->data.mapping.pairs.start; pp < v->data.mapping.pairs.top;
                 pp++) {
                yaml_node_t *pk = yaml_document_get_node(c->doc, pp->key);
                yaml_node_t *pv = yaml_document_get_node(c->doc, pp->value);
                if (pk->type != YAML_SCALAR_NODE)
                    return ap_config_fail(c, pk, key, "platform names must be plain strings");
                ap_status s = ap_config_walk_platform(c, ap_config_scalar(pk), pk, pv);
                if (s != AP_OK) return s;
            }
            continue;
        }
        const key_spec *spec = ap_config_find_key(config_keys, NKEYS(config_keys), key);
        ap_status s;
        if (spec)
            s = ap_config_set_value(c, spec, c->cfg, key, k, v);
        else if (is_section(key))
            s = walk_mapping(c, key, k, v);
        else
            s = ap_config_fail(c, k, key, "unknown key");
        if (s != AP_OK) return s;
    }
    return AP_OK;
}

static ap_status reject_second_document(yaml_parser_t *parser, const char *name, char *err,
                                        size_t errlen) {
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next)) {
        snprintf(err, errlen, "%s:%lu: YAML syntax error: %s", name,
                 (unsigned long)parser->problem_mark.line + 1,
                 parser->problem ? parser->problem : "unknown");
        return AP_EINVAL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&next);
    unsigned long line = root ? (unsigned long)root->start_mark.line + 1 : 0;
    yaml_document_delete(&next);
    if (root == NULL) return AP_OK;
    snprintf(err, errlen, "%s:%lu: a second YAML document; a config file holds exactly one", name,
             line);
    return AP_EINVAL;
}

ap_status ap_config_load_buffer(ap_config *cfg, const char *name, const char *yaml, size_t len,
                                char *err, size_t errlen) {
    yaml_parser_t parser;
    yaml_document_t doc;
    ap_status s = AP_OK;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", name);
        return AP_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%lu: YAML syntax error: %s", name,
                 (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        return AP_EINVAL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    load_ctx c = {cfg, name, &doc, err, errlen};
    if (root != NULL) /* an empty file is an empty config */
        s = walk_mapping(&c, "", NULL, root);
    yaml_document_delete(&doc);
    /* A stray "---" would otherwise drop the rest of the file silently. */
    if (s == AP_OK && root != NULL) s = reject_second_document(&parser, name, err, errlen);
    yaml_parser_delete(&parser);
    return s;
}

ap_status ap_config_load_file(ap_config *cfg, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open config file: %s", path, strerror(errno));
        return AP_EIO;
    }
    char *buf = NULL;
    size_t cap = 0, len = 0;
    ap_status s = AP_OK;
    for (;;) {
        if (len + 4096 > cap) {
            if (cap > (size_t)16 << 20) {
                snprintf(err, errlen, "%s: config file larger than 16 MiB", path);
                s = AP_EINVAL;
                goto cleanup;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                s = AP_ENOMEM;
                goto cleanup;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        s = AP_EIO;
        goto cleanup;
    }
    free(cfg->path);
    cfg->path = strdup(path);
    s = ap_config_load_buffer(cfg, path, buf, len, err, errlen);
cleanup:
    free(buf);
    fclose(f);
    return s;
}

ap_status ap_config_load_files(ap_config *cfg, const char *paths, char *err, size_t errlen) {
    char *copy = strdup(paths), *save = NULL;
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return AP_ENOMEM;
    }
    ap_status s = AP_OK;
    int n = 0;
    for (char *p = strtok_r(copy, ",", &save); p && s == AP_OK; p = strtok_r(NULL, ",", &save)) {
        s = ap_config_load_file(cfg, p, err, errlen);
        n++;
    }
    free(copy);
    if (s == AP_OK && n == 0) {
        snprintf(err, errlen, "--config \"%s\": no file named", paths);
        s = AP_EINVAL;
    }
    if (s == AP_OK) { /* errors name the whole list from here on */
        free(cfg->path);
        cfg->path = strdup(paths);
    }
    return s;
}

static ap_status env_string(char **dst, const char *var) {
    const char *v = getenv(var);
    if (v == NULL || *v == '\0') return AP_OK;
    char *copy = strdup(v);
    if (copy == NULL) return AP_ENOMEM;
    free(*dst);
    *dst = copy;
    return AP_OK;
}

/* The credentials key must not outlive its reading in the environment
 * (/proc/<pid>/environ, children, a core): copied, then wiped and unset. */
static ap_status env_secret(char **dst, const char *var) {
    ap_status s = env_string(dst, var);
    char *v = getenv(var);
    if (v != NULL) explicit_bzero(v, strlen(v));
    unsetenv(var);
    return s;
}

ap_status ap_config_apply_env(ap_config *cfg, char *err, size_t errlen) {
    ap_status s;
    if ((s = env_string(&cfg->nats_url, "AUTOPOST_NATS_URL")) ||
        (s = env_string(&cfg->pg_dsn, "AUTOPOST_POSTGRES_DSN")) ||
        (s = env_string(&cfg->nats_user, "AUTOPOST_NATS_USER")) ||
        (s = env_string(&cfg->nats_password, "AUTOPOST_NATS_PASSWORD")) ||
        (s = env_string(&cfg->nats_inbox_prefix, "AUTOPOST_NATS_INBOX_PREFIX")) ||
        (s = env_string(&cfg->nats_creds_file, "AUTOPOST_NATS_CREDS_FILE")) ||
        (s = env_secret(&cfg->credentials_key_hex, "AUTOPOST_CREDENTIALS_KEY")) ||
        (s = env_string(&cfg->credentials_key_file, "AUTOPOST_CREDENTIALS_KEY_FILE")) ||
        (s = env_string(&cfg->instance, "AUTOPOST_INSTANCE")) ||
        (s = env_string(&cfg->log_level, "AUTOPOST_LOG_LEVEL"))) {
        snprintf(err, errlen, "environment: out of memory");
        return s;
    }
    return AP_OK;
}

/* The instance name lands in "by=<instance>" fields of KV values, which
 * readers split on spaces, and in fixed-size buffers: bound and printable. */
static ap_status ap_config_check_instance(const char *instance, const char *where, char *err,
                                          size_t errlen) {
    size_t n = strlen(instance);
    if (n == 0 || n > AP_CONFIG_INSTANCE_MAX) {
        snprintf(err, errlen, "%s: service.instance: must be 1 to %d characters, found %zu", where,
                 AP_CONFIG_INSTANCE_MAX, n);
        return AP_EINVAL;
    }
    for (const unsigned char *p = (const unsigned char *)instance; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            snprintf(err, errlen,
                     "%s: service.instance: contains a space or control character (byte %zu)",
                     where, (size_t)(p - (const unsigned char *)instance));
            return AP_EINVAL;
        }
    }
    return AP_OK;
}

ap_status ap_config_require(const ap_config *cfg, int needs, const char *platform, char *err,
                            size_t errlen) {
    const char *where = cfg->path ? cfg->path : "(no config file)";
    ap_log_level lvl;
    if (ap_log_level_parse(cfg->log_level, &lvl) != 0) {
        snprintf(err, errlen, "%s: log.level: expected debug, info, warn or error, found \"%s\"",
                 where, cfg->log_level);
        return AP_EINVAL;
    }
    if (cfg->instance != NULL &&
        ap_config_check_instance(cfg->instance, where, err, errlen) != AP_OK)
        return AP_EINVAL;
    if ((needs & AP_NEED_NATS) && cfg->nats_url == NULL) {
        snprintf(err, errlen, "%s: nats.url: missing required value (or set AUTOPOST_NATS_URL)",
                 where);
        return AP_EINVAL;
    }
    if ((needs & AP_NEED_PG) && cfg->pg_dsn == NULL) {
        snprintf(err, errlen,
                 "%s: postgres.dsn: missing required value (or set AUTOPOST_POSTGRES_DSN)", where);
        return AP_EINVAL;
    }
    if ((needs & AP_NEED_KEY) && cfg->credentials_key_file == NULL &&
        cfg->credentials_key_hex == NULL) {
        snprintf(err, errlen,
                 "%s: credentials.key_file: missing required value (or set "
                 "AUTOPOST_CREDENTIALS_KEY / AUTOPOST_CREDENTIALS_KEY_FILE)",
                 where);
        return AP_EINVAL;
    }
    if ((needs & AP_NEED_PLATFORM) &&
        ap_config_require_platform(cfg, platform, where, err, errlen) != AP_OK)
        return AP_EINVAL;
    int nats_auth = (cfg->nats_user != NULL) + (cfg->nats_creds_file != NULL) +
                    (cfg->nats_nkey_seed_file != NULL);
    if (nats_auth > 1) {
        snprintf(err, errlen, "%s: nats: choose one of user/password, creds_file or nkey_seed_file",
                 where);
        return AP_EINVAL;
    }
    if ((cfg->nats_password != NULL) != (cfg->nats_user != NULL)) {
        snprintf(err, errlen, "%s: nats.%s: user and password go together", where,
                 cfg->nats_user ? "password" : "user");
        return AP_EINVAL;
    }
    if ((cfg->nats_nkey != NULL) != (cfg->nats_nkey_seed_file != NULL)) {
        snprintf(err, errlen, "%s: nats: nkey and nkey_seed_file go together", where);
        return AP_EINVAL;
    }
    if ((cfg->nats_tls_cert_file != NULL) != (cfg->nats_tls_key_file != NULL)) {
        snprintf(err, errlen, "%s: nats.tls: cert_file and key_file go together", where);
        return AP_EINVAL;
    }
    return ap_config_check_platforms(cfg, where, err, errlen);
}

int ap_config_setup(ap_config *cfg, const char *path, int needs, const char *platform) {
    char err[512];
    ap_config_init(cfg);
    if (path && ap_config_load_files(cfg, path, err, sizeof(err)) != AP_OK) goto fail;
    if (ap_config_apply_env(cfg, err, sizeof(err)) != AP_OK) goto fail;
    if (ap_config_require(cfg, needs, platform, err, sizeof(err)) != AP_OK) goto fail;
    if (cfg->instance == NULL) {
        char host[64] = "host", buf[128];
        gethostname(host, sizeof(host) - 1);
        snprintf(buf, sizeof(buf), "%s-%d", host, (int)getpid());
        cfg->instance = strdup(buf);
    }
    return 0;
fail:
    fprintf(stderr, "config error: %s\n", err);
    return 1;
}
