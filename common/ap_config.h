/* ap_config.h -- the YAML configuration every autopost binary reads.
 *
 * One schema for all services (a key that is valid for one is valid for all),
 * so a single ConfigMap can feed every Deployment. Loading is strict: an
 * unknown key, a wrong type or an out-of-range value stops the program with
 * "file:line: key: reason", because a typo silently ignored is a post sent
 * with the wrong limits. Environment variables override the file (see
 * ap_config_apply_env) so containers can inject secrets.
 *
 * Ownership: ap_config owns every string in it; ap_config_free releases them. */
#ifndef AP_CONFIG_H
#define AP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_status.h"

#define AP_MAX_PLATFORMS 8
#define AP_PLATFORM_NAME_MAX 32

typedef struct ap_platform_config {
    char name[AP_PLATFORM_NAME_MAX]; /* subject token and adapter name */
    bool enabled;
    char *base_url;     /* the real API or a sandbox */
    char *api_version;  /* e.g. Graph API "v19.0" */
    int64_t timeout_ms; /* whole platform call */
    int64_t connect_timeout_ms;
    int concurrency;     /* in-flight platform calls per publisher replica */
    int max_ack_pending; /* in-flight jobs across all replicas (consumer) */
    int max_attempts;    /* deliveries before a retryable error becomes final */
    int64_t backoff_base_ms;
    int64_t backoff_max_ms;
    /* How long a quota refusal without a reset time from the platform waits
     * (platforms.<p>.quota_wait; README "Rate limits"). */
    int64_t quota_wait_ms;
    bool tls_verify; /* may be off only for a sandbox; logged loudly */
    /* insecure_http: base_url / token_url may be plain http to a host other
     * than loopback (a sandbox Service in a dev cluster); refused otherwise. */
    bool insecure_http;
    /* PEM bundle of the CAs this platform's certificate must chain to,
     * instead of the system's (a private CA in front of the platform or a
     * sandbox); NULL = the system's bundle. */
    char *ca_file;
    /* OAuth 2.0 refresh (RFC 6749 section 6); off without token_url. */
    char *token_url;
    char *client_id;
    char *client_secret_file;        /* confidential clients; read by the publisher */
    char *token_auth;                /* "basic" (Authorization header) or "body" (form fields) */
    int64_t token_refresh_margin_ms; /* refresh this long before expires_at */
    /* Posts that may go live per sliding window, enforced by the scheduler
     * across every replica (README "Rate limits"); 0 = no limit. */
    int account_limit; /* per social account */
    int64_t account_window_ms;
    int app_limit; /* per platform app: all accounts of the platform */
    int64_t app_window_ms;
    /* Bytes per part of a chunked media upload (X video and GIF: one ranged
     * read of the media URL, then one append of the same bytes). */
    int media_chunk_bytes;
    /* How late a post of this platform may still start its platform call:
     * its default deadline is scheduled_at + this (platforms.<p>.max_lateness;
     * README "Deadlines"); 0 = none. A post's own deadline, when earlier, wins. */
    int64_t max_lateness_ms;
} ap_platform_config;

/* service.instance is written into KV values ("by=<instance>") and logs;
 * the bound keeps those values a known size and one space-separated field. */
#define AP_CONFIG_INSTANCE_MAX 64

typedef struct ap_config {
    char *path; /* file it came from, NULL when only defaults/env */

    char *instance;  /* service.instance: defaults to hostname-pid; at most
                      * AP_CONFIG_INSTANCE_MAX printable, non-space bytes */
    char *log_level; /* log.level */

    char *nats_url;            /* nats.url (required) */
    bool nats_manage_topology; /* nats.manage_topology: create/update streams at start */
    char *nats_inbox_prefix;   /* nats.inbox_prefix: per-user reply subjects */
    int64_t nats_connect_timeout_ms;
    int stream_replicas;         /* nats.stream_replicas */
    int64_t duplicate_window_ms; /* nats.duplicate_window */
    int64_t ack_wait_ms;         /* nats.ack_wait */
    int max_deliver;             /* nats.max_deliver: backstop for crashes */

    /* NATS authentication and TLS (all optional; see README "Security"). */
    char *nats_user;           /* nats.user */
    char *nats_password;       /* nats.password or AUTOPOST_NATS_PASSWORD */
    char *nats_creds_file;     /* nats.creds_file: JWT + nkey seed (.creds) */
    char *nats_nkey;           /* nats.nkey: public key of a bare nkey user ("U...") */
    char *nats_nkey_seed_file; /* nats.nkey_seed_file: its seed, never inline */
    char *nats_tls_ca_file;    /* nats.tls.ca_file: turns TLS on */
    char *nats_tls_cert_file;  /* nats.tls.cert_file + key_file: client certificate */
    char *nats_tls_key_file;

    char *pg_dsn; /* postgres.dsn (required where PostgreSQL is used) */

    char *credentials_key_file; /* credentials.key_file */
    char *credentials_key_hex;  /* AUTOPOST_CREDENTIALS_KEY only: never in files */
    /* credentials.previous_key_files: comma-separated key files still accepted
     * for opening (key rotation); new seals always use the current key. */
    char *credentials_previous_key_files;

    char *http_bind; /* service.http_bind: address of /healthz, /readyz, /metrics */
    int http_port;   /* service.http_port: 0 turns the endpoint off */

    int64_t scheduler_tick_ms; /* scheduler.tick */
    int scheduler_batch_size;  /* scheduler.batch_size */
    /* scheduler.max_queued_per_account: jobs one account may have in the
     * queue (queued + retrying) before its next due post waits; 0 = off. */
    int scheduler_max_queued_per_account;
    /* scheduler.max_queued_per_tenant: the same bound one level up, over
     * all of a tenant's accounts together; 0 = no tenant cap. Applies only
     * where admission is on (scheduler.max_queued_per_account > 0 or a
     * platform rate limit). */
    int scheduler_max_queued_per_tenant;
    /* scheduler.max_past: how far in the past a new schedule's time may be
     * before it is refused (ctl_post_check_at); 0 = not at all. */
    int64_t scheduler_max_past_ms;
    /* scheduler.recurrence_horizon: how far ahead a recurring post's
     * occurrences become schedule rows (README "Recurring posts"). */
    int64_t scheduler_recurrence_horizon_ms;
    /* scheduler.recurrence_grace: an occurrence more than this late when it
     * comes due ends skipped instead of firing (no catch-up burst). */
    int64_t scheduler_recurrence_grace_ms;

    int publisher_fetch_batch;        /* publisher.fetch_batch */
    int64_t publisher_drain_grace_ms; /* publisher.drain_grace */
    /* publisher.media_allow_private: media downloads may reach loopback,
     * private, link-local and metadata addresses and use plain http (the
     * tests and the sandbox); off, only https to public addresses. */
    bool publisher_media_allow_private;
    /* publisher.normal_share: while urgent jobs wait, the part of a
     * replica's concurrency kept for normal ones (README "Urgent lane"). */
    double publisher_normal_share;

    int dispatcher_batch_size;   /* dispatcher.batch_size */
    int64_t dispatcher_flush_ms; /* dispatcher.flush_interval */
    int64_t events_retention_ms; /* events.retention: relayed events kept; 0 = forever */

    int64_t shutdown_grace_ms; /* service.shutdown_grace */

    ap_platform_config platforms[AP_MAX_PLATFORMS];
    int nplatforms;

    char *console_http_bind;       /* console.http_bind: the web console's address */
    int console_http_port;         /* console.http_port */
    char *console_token_file;      /* console.token_file: enables POST retry/cancel */
    char *console_read_token_file; /* console.read_token_file: a token for every read */
    char *console_allowed_hosts;   /* console.allowed_hosts: comma list of Host names */
    bool console_consumer_lag;     /* console.consumer_lag: read consumer lag from NATS */

    /* autopost-webhooks (webhooks/, README "Webhooks"). */
    int64_t webhooks_retry_initial_ms; /* webhooks.retry_initial: first retry's cap */
    int64_t webhooks_retry_max_ms;     /* webhooks.retry_max: the doubling stops here */
    int64_t webhooks_give_up_after_ms; /* webhooks.give_up_after: then failed */
    int64_t webhooks_timeout_ms;       /* webhooks.timeout: one delivery request */
    int webhooks_concurrency;          /* webhooks.concurrency: requests in flight */
    /* webhooks.allow_private: endpoints may be on loopback, private and
     * metadata addresses and use plain http (tests, dev); off, only https
     * to public addresses (the publishers' media rule). */
    bool webhooks_allow_private;
    int64_t webhooks_delivery_retention_ms; /* webhooks.delivery_retention; 0 = forever */
    char *api_http_bind;                    /* api.http_bind: autopost-api's address */
    int api_http_port;                      /* api.http_port */
    int api_threads;                /* api.threads: HTTP threads, one PostgreSQL connection each */
    int api_rate_limit_per_second;  /* api.rate_limit_per_second: requests per key, per replica */
    int api_rate_limit_burst;       /* api.rate_limit_burst: requests a key may make at once */
    int64_t api_idempotency_ttl_ms; /* api.idempotency_ttl: how long an Idempotency-Key holds */
    /* api.min_recurrence_interval: a rule whose occurrences come closer
     * together than this is refused (422). */
    int64_t api_min_recurrence_interval_ms;
} ap_config;

/* What a service needs to be present after file + environment. */
enum {
    AP_NEED_NATS = 1 << 0,
    AP_NEED_PG = 1 << 1,
    AP_NEED_KEY = 1 << 2,
    AP_NEED_PLATFORM = 1 << 3,
};

void ap_config_init(ap_config *cfg);
void ap_config_free(ap_config *cfg);

/* Reads a YAML file into cfg (which ap_config_init prepared). */
ap_status ap_config_load_file(ap_config *cfg, const char *path, char *err, size_t errlen);
/* Reads "a.yaml,b.yaml,..." in order, each file's keys over the earlier
 * ones' (a platform entry merges key by key): one base written once and a
 * small file of what an environment changes (deploy/k8s). */
ap_status ap_config_load_files(ap_config *cfg, const char *paths, char *err, size_t errlen);
/* Parses YAML from memory; name is used in error messages (and by fuzzing). */
ap_status ap_config_load_buffer(ap_config *cfg, const char *name, const char *yaml, size_t len,
                                char *err, size_t errlen);
/* AUTOPOST_NATS_URL, AUTOPOST_POSTGRES_DSN, AUTOPOST_CREDENTIALS_KEY,
 * AUTOPOST_CREDENTIALS_KEY_FILE, AUTOPOST_INSTANCE, AUTOPOST_LOG_LEVEL. */
ap_status ap_config_apply_env(ap_config *cfg, char *err, size_t errlen);
/* Checks required values for a service (AP_NEED_* flags); for
 * AP_NEED_PLATFORM, platform names the one that must be configured. */
ap_status ap_config_require(const ap_config *cfg, int needs, const char *platform, char *err,
                            size_t errlen);

/* The configured platform by name, or NULL. */
const ap_platform_config *ap_config_platform(const ap_config *cfg, const char *name);

/* Convenience for mains: init, load (path may be NULL), env, require; prints
 * the error to stderr and returns non-zero on failure. */
int ap_config_setup(ap_config *cfg, const char *path, int needs, const char *platform);

#endif
