/* ap_nats.h -- NATS connection and the JetStream topology autopost runs on.
 *
 * Topology (created or updated idempotently by every service at start and by
 * `autopostctl streams apply`):
 *
 *   AUTOPOST_JOBS       autopost.jobs.<platform>   work queue, file, dedup window
 *                       autopost.jobs.<platform>.urgent   (the urgent lane)
 *     publisher-<platform>   durable pull consumer, explicit ack, MaxAckPending
 *     publisher-<platform>-urgent   the same on the urgent subject: a lane of
 *                            its own, so an urgent job never waits behind
 *                            the normal backlog (README "Urgent lane")
 *   AUTOPOST_RESULTS    autopost.results.<platform> limits (24 h), file
 *     dispatcher             durable pull consumer
 *   AUTOPOST_ADVISORIES $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AUTOPOST_JOBS.*
 *     dispatcher-advisories  durable pull consumer (so no give-up is missed
 *                            while the dispatcher is down)
 *   AUTOPOST_EVENTS     autopost.events.<tenant id>.<type>  limits (7 days),
 *                            file, 10 min dedup window; written by
 *                            the dispatcher's relay (dispatcher/relay.h),
 *                            read by applications' own durable consumers
 *   KV autopost_attempts_<platform>  one record per schedule+generation
 *                            (publishers' guard against posting twice)
 *   KV autopost_accounts_<platform>  reauth marks, refreshed credentials
 *                            (sealed) and refresh locks per account, shared
 *                            by the platform's publisher replicas
 *                            (publishers/engine/accounts.h)
 *
 * The buckets are per platform so that NATS permissions, not code, keep one
 * platform's publisher away from another's tokens and records: a bucket is
 * a stream, and a user is granted whole streams (deploy/nats/auth.conf).
 * Before 0.x the two buckets were shared (autopost_attempts,
 * autopost_accounts): `autopostctl streams apply` copies what is left in
 * them into the per-platform buckets (ctl/ctl_kv_legacy.c).
 *
 * Connections retry forever and reconnect on their own: a broker restart is
 * an outage to wait out, not a reason to exit. */
#ifndef AP_NATS_H
#define AP_NATS_H

#include <nats/nats.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_status.h"

#define AP_STREAM_JOBS "AUTOPOST_JOBS"
#define AP_STREAM_RESULTS "AUTOPOST_RESULTS"
#define AP_STREAM_ADVISORIES "AUTOPOST_ADVISORIES"
#define AP_STREAM_EVENTS "AUTOPOST_EVENTS"
#define AP_CONSUMER_DISPATCHER "dispatcher"
#define AP_CONSUMER_ADVISORIES "dispatcher-advisories"
#define AP_KV_ATTEMPTS "autopost_attempts" /* + "_<platform>"; alone: the legacy bucket */
#define AP_KV_ACCOUNTS "autopost_accounts" /* + "_<platform>"; alone: the legacy bucket */
#define AP_KV_BUCKET_LEN 64
#define AP_SUBJECT_JOBS_PREFIX "autopost.jobs."
#define AP_SUBJECT_URGENT_SUFFIX ".urgent"  /* autopost.jobs.<platform>.urgent */
#define AP_CONSUMER_URGENT_SUFFIX "-urgent" /* publisher-<platform>-urgent */
#define AP_SUBJECT_RESULTS_PREFIX "autopost.results."
#define AP_SUBJECT_EVENTS_PREFIX "autopost.events." /* + "<tenant id>.<type>" */
#define AP_SUBJECT_MAX_DELIVERIES "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." AP_STREAM_JOBS ".*"

typedef struct ap_nats {
    natsConnection *nc;
    jsCtx *js;
    natsOptions *opts;
    /* Reconnections so far (ap_nats_reconnects). The struct is the
     * callbacks' closure: it must not move while connected. */
    uint64_t reconnects;
} ap_nats;

/* Connects (retrying in the background if the server is not up yet) and
 * creates a JetStream context; js_opts may be NULL. */
ap_status ap_nats_connect(ap_nats *n, const ap_config *cfg, const char *client_name,
                          jsOptions *js_opts, char *err, size_t errlen);
void ap_nats_close(ap_nats *n);
/* How many times the connection has been restored since it first came up:
 * a change tells a service that whatever it sent just before may have
 * died with the old server (the publisher resends, jsasync.h). */
uint64_t ap_nats_reconnects(const ap_nats *n);

/* Tears the NATS library down at process exit, after every connection is
 * closed: waits (up to a few seconds) for the library's own threads to end.
 * nats_Close() alone returns while they may still run, and a thread still
 * running when exit() frees the library has crashed services on their way
 * out (READ at 0x10 after "stopped"). */
void ap_nats_shutdown(void);

/* Creates or updates every stream, consumer and the KV bucket above. */
ap_status ap_js_apply_topology(jsCtx *js, const ap_config *cfg, char *err, size_t errlen);
/* Retries ap_js_apply_topology until it succeeds or *stop becomes non-zero. */
ap_status ap_js_apply_topology_wait(jsCtx *js, const ap_config *cfg, volatile sig_atomic_t *stop);

/* Who is asking: a least-privilege NATS user may only look at its own part. */
typedef enum ap_js_role {
    AP_ROLE_SCHEDULER,
    AP_ROLE_PUBLISHER,
    AP_ROLE_DISPATCHER,
} ap_js_role;

/* The batch size to pass to natsSubscription_Fetch/FetchRequest when up to
 * `want` messages are wanted.
 *
 * nats.c 3.4.1 (Debian 12) overflows the array it returns when a pull
 * subscription already holds messages as a fetch starts and it takes more
 * than half the batch but fewer than all of it from them: it shrinks the
 * batch by what it took, then loops until the total equals the shrunk batch
 * (fixed upstream in 3.8). Such messages appear after a fetch gave up while
 * the server was still sending, e.g. a burst of redeliveries after an
 * outage, and they come with the server's status messages (408 Request
 * Timeout for an expired pull), which the pending count includes but the
 * fetch does not take as messages: so a batch sized to the pending count
 * still overflows (the chaos test found it). While anything is pending we
 * ask for one message: nats.c serves it from memory without a request, and
 * one taken from memory is all of a batch of one, so the faulty path never
 * runs. The backlog in memory is drained one call each, without network. */
int ap_js_fetch_batch(natsSubscription *sub, int want);

/* Start-up gate of every service. With nats.manage_topology (the default) it
 * applies the whole topology like ap_js_apply_topology_wait; with it off
 * (least-privilege users, topology applied by `autopostctl streams apply` as
 * admin) it only waits until the streams and consumers this role uses exist,
 * using nothing but INFO requests. platform is for AP_ROLE_PUBLISHER. */
ap_status ap_js_topology_ready_wait(jsCtx *js, const ap_config *cfg, ap_js_role role,
                                    const char *platform, volatile sig_atomic_t *stop);

/* "publisher-facebook" */
void ap_consumer_name_publisher(char *buf, size_t len, const char *platform);
/* "publisher-facebook-urgent": the urgent lane's consumer */
void ap_consumer_name_urgent(char *buf, size_t len, const char *platform);
/* nats.url as it may be shown (logs, errors): the user:password@ or token@
 * of every URL in the comma-separated list becomes ***@. out is always
 * NUL-terminated (truncated when short). */
void ap_nats_url_masked(const char *url_list, char *out, size_t len);

/* The platform's buckets: "<AP_KV_ATTEMPTS>_<platform>" and
 * "<AP_KV_ACCOUNTS>_<platform>". AP_EINVAL when it does not fit in len. */
ap_status ap_kv_bucket_attempts(char *buf, size_t len, const char *platform);
ap_status ap_kv_bucket_accounts(char *buf, size_t len, const char *platform);
/* Formats a NATS/JetStream failure: "nats: <text> (jetstream error N)". */
void ap_nats_error(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr);

/* Pending + ack-pending count of a consumer (the lag operators scale on). */
ap_status ap_js_consumer_lag(jsCtx *js, const char *stream, const char *consumer, uint64_t *pending,
                             int64_t *ack_pending);

#endif
