/* ap_nats.c -- see ap_nats.h. */
#include "ap_nats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_proto.h"
#include "ap_time.h"

static void on_disconnected(natsConnection *nc, void *closure) {
    if (natsConnection_IsClosed(nc)) return; /* our own shutdown */
    ap_log_warn("nats_disconnected", NULL, "lost the NATS connection, reconnecting");
}

static void on_connected(natsConnection *nc, void *closure) {
    ap_log_info("nats_connected", NULL, "connected to NATS after retrying");
}

static void on_reconnected(natsConnection *nc, void *closure) {
    ap_nats *n = closure;
    __atomic_add_fetch(&n->reconnects, 1, __ATOMIC_RELEASE);
    ap_log_info("nats_reconnected", NULL, "NATS connection restored");
}

uint64_t ap_nats_reconnects(const ap_nats *n) {
    return __atomic_load_n(&n->reconnects, __ATOMIC_ACQUIRE);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
                           void *closure) {
    ap_log_error("nats_async_error", NULL, "%s", natsStatus_GetText(err));
}

void ap_nats_error(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr) {
    const char *last = nats_GetLastError(NULL);
    if (jerr)
        snprintf(err, errlen, "%s: %s (jetstream error %d)", what, natsStatus_GetText(s),
                 (int)jerr);
    else
        snprintf(err, errlen, "%s: %s%s%s", what, natsStatus_GetText(s), last ? ": " : "",
                 last ? last : "");
}

/* Appends bytes [p, p+k) to out (size len, at *n), truncating; out stays
 * NUL-terminated. */
static void masked_append(char *out, size_t len, size_t *n, const char *p, size_t k) {
    if (*n + 1 >= len) return;
    if (k > len - 1 - *n) k = len - 1 - *n;
    memcpy(out + *n, p, k);
    *n += k;
    out[*n] = '\0';
}

void ap_nats_url_masked(const char *url_list, char *out, size_t len) {
    size_t n = 0;
    if (len == 0) return;
    out[0] = '\0';
    for (const char *p = url_list ? url_list : ""; *p;) {
        size_t seg = strcspn(p, ", ");
        const char *scheme_end = NULL;
        for (const char *q = p; q + 3 <= p + seg; q++)
            if (memcmp(q, "://", 3) == 0) {
                scheme_end = q + 3;
                break;
            }
        const char *authority = scheme_end ? scheme_end : p;
        size_t alen = strcspn(authority, "/?#, ");
        const char *at = NULL;
        for (const char *q = authority; q < authority + alen; q++)
            if (*q == '@') at = q; /* the last one: a password may hold '@' */
        if (at) {
            masked_append(out, len, &n, p, (size_t)(authority - p));
            masked_append(out, len, &n, "***", 3);
            masked_append(out, len, &n, at, (size_t)(p + seg - at));
        } else {
            masked_append(out, len, &n, p, seg);
        }
        p += seg;
        size_t sep = strspn(p, ", ");
        masked_append(out, len, &n, p, sep);
        p += sep;
    }
}

/* nats.url may list a cluster's servers separated by commas. nats.c's
 * SetURL takes exactly one URL, so the list goes through SetServers (the
 * client then picks among them and moves on when one goes away). */
static natsStatus set_servers(natsOptions *opts, const char *url_list) {
    enum { MAX_SERVERS = 16 };
    const char *servers[MAX_SERVERS];
    int n = 0;
    char *copy = strdup(url_list), *save = NULL;
    if (copy == NULL) return NATS_NO_MEMORY;
    for (char *tok = strtok_r(copy, ", ", &save); tok && n < MAX_SERVERS;
         tok = strtok_r(NULL, ", ", &save))
        servers[n++] = tok;
    natsStatus s = n == 0   ? NATS_INVALID_ARG
                   : n == 1 ? natsOptions_SetURL(opts, servers[0])
                            : natsOptions_SetServers(opts, servers, n);
    free(copy); /* both calls copy the strings */
    return s;
}

ap_status ap_nats_connect(ap_nats *n, const ap_config *cfg, const char *client_name,
                          jsOptions *js_opts, char *err, size_t errlen) {
    memset(n, 0, sizeof(*n));
    natsStatus s = natsOptions_Create(&n->opts);
    if (s == NATS_OK) s = set_servers(n->opts, cfg->nats_url);
    if (s == NATS_OK) s = natsOptions_SetName(n->opts, client_name);
    if (s == NATS_OK) s = natsOptions_SetTimeout(n->opts, cfg->nats_connect_timeout_ms);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(n->opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(n->opts, 250);
    if (s == NATS_OK) s = natsOptions_SetReconnectJitter(n->opts, 100, 1000);
    /* Buffer publishes made while reconnecting rather than failing them. */
    if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(n->opts, 32 * 1024 * 1024);
    /* The connected callback is what makes this asynchronous: with NULL,
     * natsConnection_Connect blocks until a server answers, i.e. forever
     * with MaxReconnect -1, and NATS_NOT_YET_CONNECTED below never happens. */
    if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(n->opts, true, on_connected, NULL);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(n->opts, on_disconnected, NULL);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(n->opts, on_reconnected, n);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(n->opts, on_async_error, NULL);
    if (s == NATS_OK && cfg->nats_inbox_prefix)
        s = natsOptions_SetCustomInboxPrefix(n->opts, cfg->nats_inbox_prefix);
    /* Authentication: one of user/password, a .creds file (JWT) or an nkey. */
    if (s == NATS_OK && cfg->nats_user)
        s = natsOptions_SetUserInfo(n->opts, cfg->nats_user, cfg->nats_password);
    if (s == NATS_OK && cfg->nats_creds_file)
        s = natsOptions_SetUserCredentialsFromFiles(n->opts, cfg->nats_creds_file, NULL);
    if (s == NATS_OK && cfg->nats_nkey)
        s = natsOptions_SetNKeyFromSeed(n->opts, cfg->nats_nkey, cfg->nats_nkey_seed_file);
    /* TLS: a CA file turns it on; a client certificate is optional. */
    if (s == NATS_OK && cfg->nats_tls_ca_file) {
        s = natsOptions_SetSecure(n->opts, true);
        if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates(n->opts, cfg->nats_tls_ca_file);
        if (s == NATS_OK && cfg->nats_tls_cert_file)
            s = natsOptions_LoadCertificatesChain(n->opts, cfg->nats_tls_cert_file,
                                                  cfg->nats_tls_key_file);
    }
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "nats options", s, 0);
        goto fail;
    }
    s = natsConnection_Connect(&n->nc, n->opts);
    if (s == NATS_NOT_YET_CONNECTED) {
        char shown[512];
        ap_nats_url_masked(cfg->nats_url, shown, sizeof(shown));
        ap_log_warn("nats_connect_pending", NULL, "NATS at %s not reachable yet, retrying", shown);
        s = NATS_OK;
    }
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "nats connect", s, 0);
        goto fail;
    }
    s = natsConnection_JetStream(&n->js, n->nc, js_opts);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "jetstream context", s, 0);
        goto fail;
    }
    return AP_OK;
fail:
    ap_nats_close(n);
    return AP_ENATS;
}

void ap_nats_close(ap_nats *n) {
    if (n == NULL) return;
    if (n->js) jsCtx_Destroy(n->js);
    if (n->nc) {
        /* Flushing a disconnected connection only waits out the timeout. */
        if (natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED)
            natsConnection_FlushTimeout(n->nc, 2000);
        natsConnection_Close(n->nc);
        natsConnection_Destroy(n->nc);
    }
    if (n->opts) natsOptions_Destroy(n->opts);
    memset(n, 0, sizeof(*n));
}

void ap_nats_shutdown(void) {
    natsStatus s = nats_CloseAndWait(5000);
    if (s != NATS_OK)
        ap_log_warn("nats_shutdown", NULL, "the NATS library's threads did not end in 5 s: %s",
                    natsStatus_GetText(s));
}

void ap_consumer_name_publisher(char *buf, size_t len, const char *platform) {
    snprintf(buf, len, "publisher-%s", platform);
}

void ap_consumer_name_urgent(char *buf, size_t len, const char *platform) {
    snprintf(buf, len, "publisher-%s" AP_CONSUMER_URGENT_SUFFIX, platform);
}

static ap_status kv_bucket_name(char *buf, size_t len, const char *base, const char *platform) {
    int n = snprintf(buf, len, "%s_%s", base, platform ? platform : "");
    return n > 0 && (size_t)n < len && platform && *platform ? AP_OK : AP_EINVAL;
}

ap_status ap_kv_bucket_attempts(char *buf, size_t len, const char *platform) {
    return kv_bucket_name(buf, len, AP_KV_ATTEMPTS, platform);
}

ap_status ap_kv_bucket_accounts(char *buf, size_t len, const char *platform) {
    return kv_bucket_name(buf, len, AP_KV_ACCOUNTS, platform);
}

static ap_status ensure_stream(jsCtx *js, jsStreamConfig *sc, char *err, size_t errlen) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, sc->Name, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        si = NULL;
        s = js_UpdateStream(&si, js, sc, NULL, &jerr);
    } else if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        jerr = 0;
        s = js_AddStream(&si, js, sc, NULL, &jerr);
    }
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK) {
        char what[128];
        snprintf(what, sizeof(what), "stream %s", sc->Name);
        ap_nats_error(err, errlen, what, s, jerr);
        return AP_ENATS;
    }
    return AP_OK;
}

static ap_status ensure_consumer(jsCtx *js, const char *stream, jsConsumerConfig *cc, char *err,
                                 size_t errlen) {
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, stream, cc->Durable, NULL, &jerr);
    if (s == NATS_OK) {
        jsConsumerInfo_Destroy(ci);
        ci = NULL;
        s = js_UpdateConsumer(&ci, js, stream, cc, NULL, &jerr);
    } else if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
        jerr = 0;
        s = js_AddConsumer(&ci, js, stream, cc, NULL, &jerr);
    }
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK) {
        char what[160];
        snprintf(what, sizeof(what), "consumer %s on %s", cc->Durable, stream);
        ap_nats_error(err, errlen, what, s, jerr);
        return AP_ENATS;
    }
    return AP_OK;
}

static ap_status ensure_streams(jsCtx *js, const ap_config *cfg, char *err, size_t errlen) {
    jsStreamConfig sc;
    ap_status st;

    /* Two lanes per platform; the second subject came with the urgent lane
     * and an update adds it to an existing stream without touching its
     * messages. The normal consumers' filters (exact platform subjects) do
     * not match the urgent ones, so the work queue's filters stay disjoint. */
    const char *jobs_subjects[] = {AP_SUBJECT_JOBS_PREFIX "*",
                                   AP_SUBJECT_JOBS_PREFIX "*" AP_SUBJECT_URGENT_SUFFIX};
    jsStreamConfig_Init(&sc);
    sc.Name = AP_STREAM_JOBS;
    sc.Description = "autopost publish jobs (protobuf autopost.v1.PublishJob); "
                     "Nats-Msg-Id = <schedule id>-<generation>";
    sc.Subjects = jobs_subjects;
    sc.SubjectsLen = 2;
    sc.Retention = js_WorkQueuePolicy;
    sc.Storage = js_FileStorage;
    sc.Replicas = cfg->stream_replicas;
    sc.Duplicates = cfg->duplicate_window_ms * AP_NS_PER_MS;
    sc.MaxMsgSize = 1024 * 1024;
    if ((st = ensure_stream(js, &sc, err, errlen)) != AP_OK) return st;

    const char *results_subjects[] = {AP_SUBJECT_RESULTS_PREFIX "*"};
    jsStreamConfig_Init(&sc);
    sc.Name = AP_STREAM_RESULTS;
    sc.Description = "autopost attempt outcomes (protobuf autopost.v1.PublishResult)";
    sc.Subjects = results_subjects;
    sc.Retention = js_LimitsPolicy;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Replicas = cfg->stream_replicas;
    sc.Duplicates = 10 * 60 * 1000 * AP_NS_PER_MS;
    sc.MaxAge = (int64_t)24 * 3600 * 1000 * AP_NS_PER_MS; /* kept a day for inspection */
    sc.MaxMsgSize = 64 * 1024;
    if ((st = ensure_stream(js, &sc, err, errlen)) != AP_OK) return st;

    const char *adv_subjects[] = {AP_SUBJECT_MAX_DELIVERIES};
    jsStreamConfig_Init(&sc);
    sc.Name = AP_STREAM_ADVISORIES;
    sc.Description = "JetStream MAX_DELIVERIES advisories for AUTOPOST_JOBS (jobs given up)";
    sc.Subjects = adv_subjects;
    sc.SubjectsLen = 1;
    sc.Retention = js_WorkQueuePolicy;
    sc.Storage = js_FileStorage;
    sc.Replicas = cfg->stream_replicas;
    if ((st = ensure_stream(js, &sc, err, errlen)) != AP_OK) return st;

    /* Outcomes for applications (dispatcher/relay.h); nats.c 3.4.1 does not
     * escape a description, so no quotes in it. The relay publishes
     * an event again only when it died between the PubAck and marking the
     * row relayed, and restarts within seconds: 10 minutes of dedup covers
     * that with room, while keeping the window's id set small at tens of
     * thousands of events a second. Limits, not work queue: any number of
     * application consumers read the same events. */
    const char *events_subjects[] = {AP_SUBJECT_EVENTS_PREFIX ">"};
    jsStreamConfig_Init(&sc);
    sc.Name = AP_STREAM_EVENTS;
    sc.Description = "autopost outcome events (JSON, see the README, Events); "
                     "subject autopost.events.<tenant id>.<type>, Nats-Msg-Id = event id";
    sc.Subjects = events_subjects;
    sc.SubjectsLen = 1;
    sc.Retention = js_LimitsPolicy;
    sc.Storage = js_FileStorage;
    sc.Replicas = cfg->stream_replicas;
    sc.Duplicates = (int64_t)10 * 60 * 1000 * AP_NS_PER_MS;
    /* No MaxBytes: JetStream reserves it against the server's file store
     * at creation (a 1 GB test server refuses 10 GiB), like the other
     * streams this one is bounded by age. An event is ~700 bytes. */
    sc.MaxAge = (int64_t)7 * 24 * 3600 * 1000 * AP_NS_PER_MS;
    sc.MaxMsgSize = 64 * 1024;
    return ensure_stream(js, &sc, err, errlen);
}

/* One lane's durable consumer of a platform's jobs; both lanes share every
 * setting (the attempt guard, MaxDeliver and the advisory are lane-blind). */
static ap_status ensure_publisher_consumer(jsCtx *js, const ap_config *cfg,
                                           const ap_platform_config *p, const char *durable,
                                           const char *filter, const char *desc, char *err,
                                           size_t errlen) {
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable;
    cc.Description = desc;
    cc.FilterSubject = filter;
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = cfg->ack_wait_ms * AP_NS_PER_MS;
    /* MaxDeliver is only the crash backstop: publishers give up by
     * themselves after max_attempts, so leave room above it. */
    cc.MaxDeliver = cfg->max_deliver > p->max_attempts ? cfg->max_deliver : p->max_attempts + 2;
    cc.MaxAckPending = p->max_ack_pending;
    cc.MaxWaiting = 512;
    return ensure_consumer(js, AP_STREAM_JOBS, &cc, err, errlen);
}

static ap_status ensure_consumers(jsCtx *js, const ap_config *cfg, char *err, size_t errlen) {
    jsConsumerConfig cc;
    ap_status st;
    for (int i = 0; i < cfg->nplatforms; i++) {
        const ap_platform_config *p = &cfg->platforms[i];
        char durable[64], filter[96], desc[160];
        for (int urgent = 0; urgent <= 1; urgent++) {
            if (urgent) {
                ap_consumer_name_urgent(durable, sizeof(durable), p->name);
                snprintf(desc, sizeof(desc),
                         "%s publishers, urgent lane: pull, explicit ack, MaxAckPending caps calls",
                         p->name);
            } else {
                ap_consumer_name_publisher(durable, sizeof(durable), p->name);
                snprintf(desc, sizeof(desc),
                         "%s publishers: pull, explicit ack, MaxAckPending caps calls", p->name);
            }
            ap_job_subject(filter, sizeof(filter), p->name, urgent);
            if ((st = ensure_publisher_consumer(js, cfg, p, durable, filter, desc, err, errlen)) !=
                AP_OK)
                return st;
        }
    }

    jsConsumerConfig_Init(&cc);
    cc.Durable = AP_CONSUMER_DISPATCHER;
    cc.Description = "dispatcher: applies results to PostgreSQL, acks after COMMIT";
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = 30 * 1000 * AP_NS_PER_MS;
    cc.MaxDeliver = -1; /* a result must never be dropped */
    cc.MaxAckPending = 20000;
    if ((st = ensure_consumer(js, AP_STREAM_RESULTS, &cc, err, errlen)) != AP_OK) return st;

    jsConsumerConfig_Init(&cc);
    cc.Durable = AP_CONSUMER_ADVISORIES;
    cc.Description = "dispatcher: marks jobs that hit MaxDeliver as failed";
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = 30 * 1000 * AP_NS_PER_MS;
    cc.MaxDeliver = -1;
    return ensure_consumer(js, AP_STREAM_ADVISORIES, &cc, err, errlen);
}

/* Creates the bucket when missing (an existing one is left as it is). */
static ap_status ensure_bucket(jsCtx *js, kvConfig *kc, char *err, size_t errlen) {
    kvStore *kv = NULL;
    natsStatus s = js_KeyValue(&kv, js, kc->Bucket);
    if (s == NATS_OK) {
        kvStore_Destroy(kv);
        return AP_OK;
    }
    s = js_CreateKeyValue(&kv, js, kc);
    if (s != NATS_OK) {
        char what[128];
        snprintf(what, sizeof(what), "key-value bucket %s", kc->Bucket);
        ap_nats_error(err, errlen, what, s, 0);
        return AP_ENATS;
    }
    kvStore_Destroy(kv);
    return AP_OK;
}

/* One platform's two buckets. */
static ap_status ensure_platform_kv(jsCtx *js, const ap_config *cfg, const char *platform,
                                    char *err, size_t errlen) {
    char attempts[AP_KV_BUCKET_LEN], accounts[AP_KV_BUCKET_LEN];
    if (ap_kv_bucket_attempts(attempts, sizeof(attempts), platform) != AP_OK ||
        ap_kv_bucket_accounts(accounts, sizeof(accounts), platform) != AP_OK) {
        snprintf(err, errlen, "platform name \"%.40s\" too long for a bucket name", platform);
        return AP_EINVAL;
    }
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = attempts;
    kc.Description = "autopost: one attempt record per <schedule id>-<generation>";
    kc.History = 5;
    kc.MaxValueSize = 1024;
    kc.StorageType = js_FileStorage;
    kc.Replicas = cfg->stream_replicas;
    kc.TTL = (int64_t)14 * 24 * 3600 * 1000 * AP_NS_PER_MS; /* longer than any retry horizon */
    ap_status st = ensure_bucket(js, &kc, err, errlen);
    if (st != AP_OK) return st;

    kvConfig_Init(&kc);
    kc.Bucket = accounts;
    kc.Description = "autopost: per account reauth.<id>, cred.<id> (sealed), refresh.<id> lock";
    kc.History = 5;
    kc.MaxValueSize = 32 * 1024; /* a sealed credential in base64 */
    kc.StorageType = js_FileStorage;
    kc.Replicas = cfg->stream_replicas;
    /* No TTL: a reauth mark must outlive any backlog; a refreshed credential
     * is also stored in PostgreSQL through the results. */
    return ensure_bucket(js, &kc, err, errlen);
}

static ap_status ensure_kv(jsCtx *js, const ap_config *cfg, char *err, size_t errlen) {
    for (int i = 0; i < cfg->nplatforms; i++) {
        ap_status st = ensure_platform_kv(js, cfg, cfg->platforms[i].name, err, errlen);
        if (st != AP_OK) return st;
    }
    return AP_OK;
}

ap_status ap_js_apply_topology(jsCtx *js, const ap_config *cfg, char *err, size_t errlen) {
    ap_status st;
    if ((st = ensure_streams(js, cfg, err, errlen)) != AP_OK) return st;
    if ((st = ensure_consumers(js, cfg, err, errlen)) != AP_OK) return st;
    return ensure_kv(js, cfg, err, errlen);
}

ap_status ap_js_apply_topology_wait(jsCtx *js, const ap_config *cfg, volatile sig_atomic_t *stop) {
    int64_t delay = 250;
    char err[512];
    while (!*stop) {
        if (ap_js_apply_topology(js, cfg, err, sizeof(err)) == AP_OK) return AP_OK;
        ap_log_warn("topology_retry", NULL, "cannot apply JetStream topology yet: %s", err);
        for (int64_t waited = 0; waited < delay && !*stop; waited += 50) ap_sleep_ms(50);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    return AP_ETIMEOUT;
}

ap_status ap_js_consumer_lag(jsCtx *js, const char *stream, const char *consumer, uint64_t *pending,
                             int64_t *ack_pending) {
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, stream, consumer, NULL, &jerr);
    if (s != NATS_OK) return s == NATS_NOT_FOUND ? AP_ENOTFOUND : AP_ENATS;
    *pending = ci->NumPending;
    *ack_pending = ci->NumAckPending;
    jsConsumerInfo_Destroy(ci);
    return AP_OK;
}

static ap_status stream_exists(jsCtx *js, const char *stream, char *err, size_t errlen) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK) return AP_OK;
    snprintf(err, errlen, "stream %s: %s", stream, natsStatus_GetText(s));
    return AP_ENOTFOUND;
}

static ap_status consumer_exists(jsCtx *js, const char *stream, const char *consumer, char *err,
                                 size_t errlen) {
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, stream, consumer, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_OK) return AP_OK;
    snprintf(err, errlen, "consumer %s on %s: %s", consumer, stream, natsStatus_GetText(s));
    return AP_ENOTFOUND;
}

/* Exactly the INFO requests deploy/nats/auth.conf grants each role. */
static ap_status topology_present(jsCtx *js, ap_js_role role, const char *platform, char *err,
                                  size_t errlen) {
    char durable[64];
    ap_status st;
    switch (role) {
    case AP_ROLE_SCHEDULER: return stream_exists(js, AP_STREAM_JOBS, err, errlen);
    case AP_ROLE_PUBLISHER:
        ap_consumer_name_publisher(durable, sizeof(durable), platform ? platform : "");
        if ((st = consumer_exists(js, AP_STREAM_JOBS, durable, err, errlen)) != AP_OK) return st;
        ap_consumer_name_urgent(durable, sizeof(durable), platform ? platform : "");
        if ((st = consumer_exists(js, AP_STREAM_JOBS, durable, err, errlen)) != AP_OK) return st;
        {
            char bucket[AP_KV_BUCKET_LEN], stream[AP_KV_BUCKET_LEN + 3];
            if (ap_kv_bucket_attempts(bucket, sizeof(bucket), platform) != AP_OK) return AP_EINVAL;
            snprintf(stream, sizeof(stream), "KV_%s", bucket);
            if ((st = stream_exists(js, stream, err, errlen)) != AP_OK) return st;
            if (ap_kv_bucket_accounts(bucket, sizeof(bucket), platform) != AP_OK) return AP_EINVAL;
            snprintf(stream, sizeof(stream), "KV_%s", bucket);
            return stream_exists(js, stream, err, errlen);
        }
    case AP_ROLE_DISPATCHER:
        if ((st = consumer_exists(js, AP_STREAM_RESULTS, AP_CONSUMER_DISPATCHER, err, errlen)) !=
            AP_OK)
            return st;
        if ((st = stream_exists(js, AP_STREAM_ADVISORIES, err, errlen)) != AP_OK) return st;
        if ((st = stream_exists(js, AP_STREAM_EVENTS, err, errlen)) != AP_OK) return st;
        return consumer_exists(js, AP_STREAM_ADVISORIES, AP_CONSUMER_ADVISORIES, err, errlen);
    }
    return AP_EINVAL;
}

ap_status ap_js_topology_ready_wait(jsCtx *js, const ap_config *cfg, ap_js_role role,
                                    const char *platform, volatile sig_atomic_t *stop) {
    if (cfg->nats_manage_topology) return ap_js_apply_topology_wait(js, cfg, stop);
    int64_t delay = 250, last_log = 0;
    char err[512];
    while (!*stop) {
        if (topology_present(js, role, platform, err, sizeof(err)) == AP_OK) return AP_OK;
        int64_t now = ap_mono_ms();
        if (last_log == 0 || now - last_log > 10000) {
            ap_log_warn("topology_missing", NULL,
                        "%s (nats.manage_topology is off: run `autopostctl streams apply` as the "
                        "admin user)",
                        err);
            last_log = now;
        }
        for (int64_t waited = 0; waited < delay && !*stop; waited += 50) ap_sleep_ms(50);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    return AP_ETIMEOUT;
}

int ap_js_fetch_batch(natsSubscription *sub, int want) {
    int pending = 0;
    if (natsSubscription_GetPending(sub, &pending, NULL) != NATS_OK) pending = 0;
    return pending > 0 ? 1 : want;
}
