/* startup.c -- what a publisher sets up before its engine thread runs:
 * its metrics, the OAuth client secret, and its JetStream bindings (both
 * lanes' consumers, this platform's two buckets, checked for the direct
 * gets the engine reads them with, and the accounts watcher). */
#include "engine.h"

void engine_metrics_init(publisher *p) {
    publisher_metrics *m = &p->m;
    ap_metrics *reg = ap_health_metrics();
    const char *platform = p->platform->name;
    const char *const labels[] = {"platform", platform, NULL};
    m->acks = ap_metrics_counter(reg, "autopost_publisher_acks_total",
                                 "Jobs acked (published, or cancelled before any call).", labels);
    m->naks = ap_metrics_counter(reg, "autopost_publisher_naks_total",
                                 "Jobs handed back to JetStream for a later delivery.", labels);
    m->terms = ap_metrics_counter(reg, "autopost_publisher_terms_total",
                                  "Jobs terminated (final failure, unconfirmed, poison).", labels);
    m->poison =
        ap_metrics_counter(reg, "autopost_publisher_poison_total",
                           "Messages on the jobs subject that are not a valid PublishJob.", labels);
    m->rate_limit_waits = ap_metrics_counter(
        reg, "autopost_rate_limit_waits_total",
        "Naks whose delay came from the platform (Retry-After, usage headers), and "
        "deferrals (a limit or a pause: back to pending, no attempt used).",
        labels);
    m->in_flight = ap_metrics_gauge(reg, "autopost_publisher_in_flight",
                                    "Jobs fetched by this replica and not yet settled.", labels);
    m->loop_max_seconds = ap_metrics_gauge(
        reg, "autopost_publisher_loop_max_seconds",
        "Longest single turn of the engine loop since start (its work, not its idle wait): "
        "what a blocking call on the engine thread would show.",
        labels);
    for (int o = AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED; o <= AP_OUTCOME_LAST; o++) {
        const char *const ol[] = {"platform", platform, "outcome", ap_outcome_name(o), NULL};
        m->outcomes[o] = ap_metrics_counter(reg, "autopost_publisher_outcomes_total",
                                            "Results published, by outcome.", ol);
    }
    for (int c = AP_CLASS_NONE; c <= AP_CLASS_INVALID; c++) {
        const char *const cl[] = {"platform", platform, "outcome",
                                  c == AP_CLASS_NONE ? "ok" : ap_error_class_name(c), NULL};
        m->call_seconds[c] = ap_metrics_histogram(
            reg, "autopost_platform_call_seconds",
            "Platform HTTP call latency; outcome is the error class the call ended its flow "
            "with, or ok.",
            cl, ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
    }
    for (int l = 0; l < AP_LANE_N; l++) {
        const char *const ll[] = {"platform", platform, "lane", ap_lane_name((ap_lane)l), NULL};
        m->started[l] =
            ap_metrics_counter(reg, "autopost_publisher_jobs_started_total",
                               "Jobs started by this replica (taken from its inbox), by lane.", ll);
        char durable[80];
        if (l == AP_LANE_URGENT)
            ap_consumer_name_urgent(durable, sizeof(durable), platform);
        else
            ap_consumer_name_publisher(durable, sizeof(durable), platform);
        ap_lag_gauges_init(&p->lanes[l].lag, AP_STREAM_JOBS, durable);
    }
}

/* The engine reads both buckets with direct gets (jsasync.h), which only a
 * stream with AllowDirect answers; without it every read would time out and
 * every redelivered job would be handed back forever, so say so at start.
 * Buckets made by `autopostctl streams apply` (nats.c) have it. */
static ap_status check_direct_get(publisher *p, const char *bucket, char *err, size_t errlen) {
    char stream[AP_KV_BUCKET_LEN + 8];
    int n = snprintf(stream, sizeof(stream), "KV_%s", bucket);
    if (n < 0 || (size_t)n >= sizeof(stream)) return AP_EINVAL;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, p->nats.js, stream, NULL, &jerr);
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, stream, s, jerr);
        return AP_ENATS;
    }
    bool direct = si->Config != NULL && si->Config->AllowDirect;
    jsStreamInfo_Destroy(si);
    if (direct) return AP_OK;
    snprintf(err, errlen,
             "stream %s does not allow direct gets, which the publisher reads the bucket with: "
             "enable allow_direct on it (buckets created by `autopostctl streams apply` have it)",
             stream);
    return AP_EINVAL;
}

ap_status engine_subscribe(publisher *p, char *err, size_t errlen) {
    natsStatus s;
    for (int l = 0; l < AP_LANE_N; l++) {
        ap_status st = engine_subscribe_lane(p, (ap_lane)l, err, errlen);
        if (st != AP_OK) return st;
    }
    /* This platform's buckets only: its NATS user may touch no other's. */
    char what[AP_KV_BUCKET_LEN + 32];
    if (ap_kv_bucket_attempts(p->attempts_bucket, sizeof(p->attempts_bucket), p->platform->name) !=
            AP_OK ||
        ap_kv_bucket_accounts(p->accounts_bucket, sizeof(p->accounts_bucket), p->platform->name) !=
            AP_OK) {
        snprintf(err, errlen, "platform name too long for a bucket name");
        return AP_EINVAL;
    }
    s = js_KeyValue(&p->kv, p->nats.js, p->attempts_bucket);
    if (s != NATS_OK) {
        snprintf(what, sizeof(what), "key-value bucket %s", p->attempts_bucket);
        ap_nats_error(err, errlen, what, s, 0);
        return AP_ENATS;
    }
    s = js_KeyValue(&p->acct_kv, p->nats.js, p->accounts_bucket);
    if (s != NATS_OK) {
        snprintf(what, sizeof(what), "key-value bucket %s", p->accounts_bucket);
        ap_nats_error(err, errlen, what, s, 0);
        return AP_ENATS;
    }
    ap_status direct = check_direct_get(p, p->attempts_bucket, err, errlen);
    if (direct == AP_OK) direct = check_direct_get(p, p->accounts_bucket, err, errlen);
    if (direct != AP_OK) return direct;
    if (ap_accounts_watch(p->acc, p->acct_kv) != AP_OK) {
        snprintf(err, errlen, "cannot start the accounts watcher");
        return AP_ENOMEM;
    }
    /* Jobs start once the marks and shared credentials are known, so a
     * restarted replica does not call for an account already marked. */
    for (int i = 0; i < 100 && !ap_accounts_synced(p->acc) && !*p->stop; i++) ap_sleep_ms(50);
    if (!ap_accounts_synced(p->acc))
        ap_log_warn("accounts_not_synced", NULL,
                    "accounts bucket not read within 5 s; starting anyway");
    return AP_OK;
}

/* The OAuth client secret, for confidential clients; kept only in memory. */
ap_status engine_load_client_secret(publisher *p, char *err, size_t errlen) {
    const char *path = p->platform->client_secret_file;
    snprintf(err, errlen, "out of memory");
    if (path == NULL) return AP_OK;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "platforms.%s.client_secret_file: %s: %s", p->platform->name, path,
                 strerror(errno));
        return AP_EIO;
    }
    char buf[1024] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) n--;
    buf[n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "platforms.%s.client_secret_file: %s is empty", p->platform->name,
                 path);
        return AP_EINVAL;
    }
    p->client_secret = strdup(buf);
    explicit_bzero(buf, sizeof(buf));
    return p->client_secret ? AP_OK : AP_ENOMEM;
}
