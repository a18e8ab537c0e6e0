/* guard.h -- the per-schedule attempt record that stops double posting.
 *
 * JetStream redelivers a job after a crash, and its dedup window forgets IDs
 * (window passed, server restart: nats-server issue 3272). So before any
 * platform call a publisher claims the record "<schedule id>-<generation>" in
 * the KV bucket autopost_attempts with compare-and-set:
 *
 *   (none) --create--> started --> published | failed | unconfirmed
 *                         |  ^
 *                         v  | (a definite, retryable failure)
 *                        retry
 *   cancelled (written by `autopostctl cancel`) stops any further call.
 *   deferred  (from started or retry) a limit refused the call before the
 *             platform accepted anything; the schedule goes on under the next
 *             generation, so this key is done: a redelivery re-reports it.
 *             Its at= is when the deferral ends.
 *   expired   (from started or retry, before any request of the job went
 *             out) the job's deadline passed: no call, ever; a redelivery
 *             re-reports it. Never written over a record that said started:
 *             that job reads back instead.
 *
 * Finding "started" means an earlier attempt died after it may have sent the
 * request: the runtime reads the platform back (AP_FLOW_VERIFY) instead of
 * posting again. The earlier delivery may also still be alive (a replica
 * silent for AckWait, its engine blocked), so the takeover is fenced:
 *   - the taker re-stamps the record (compare-and-set), then waits out the
 *     takeover window (2 x platform timeout + 5 s) before it reads back, so
 *     a request the earlier holder sent has landed or been given up;
 *   - a holder re-checks its revision (compare-and-set) before any publish
 *     request that does not follow a successful write of the record within
 *     a second, so after a takeover it sends nothing more;
 *   - "started ... ended=1" says the holder's calls are over (it reported a
 *     retry): a taker reads back at once.
 * A post with a thread or a first comment (chain.h) goes out as several
 * messages; the record then also says which one may be in flight and the ids
 * of those before it ("part=3 ids=11,12,13"): written before that part's
 * request, so a redelivery resumes there and reads that part back instead of
 * sending it again (README "How a chain goes out exactly once").
 * Values are one readable line (`nats kv get` shows them). */
#ifndef AP_GUARD_H
#define AP_GUARD_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "ap_status.h"

typedef enum ap_guard_state {
    AP_GUARD_NONE,
    AP_GUARD_STARTED,
    AP_GUARD_RETRY,
    AP_GUARD_PUBLISHED,
    AP_GUARD_FAILED,
    AP_GUARD_UNCONFIRMED,
    AP_GUARD_CANCELLED,
    AP_GUARD_DEFERRED, /* a limit refused it; the schedule moved to the next generation */
    AP_GUARD_EXPIRED,  /* its deadline passed before any request went out (ap_deadline.h) */
    AP_GUARD_UNKNOWN   /* unreadable value: treated like "started" (verify) */
} ap_guard_state;

/* Room for 26 ids of up to 48 characters (the post, 24 parts, a comment). */
#define AP_GUARD_CHAIN_IDS_LEN 1280

typedef struct ap_guard_record {
    ap_guard_state state;
    uint64_t revision;
    int attempt;
    int64_t at_ms; /* "started": when that attempt began; "deferred": until when */
    bool ended;    /* "started": no request of the holder is in flight any more */
    char external_id[128];
    /* A chain (chain.h): the message that may be in flight (0: the post
     * itself) and the ids of those before it, comma-separated. */
    int part;
    char chain_ids[AP_GUARD_CHAIN_IDS_LEN];
} ap_guard_record;

/* Formats/parses the one-line value (at most AP_GUARD_VALUE_LEN - 1 bytes). */
#define AP_GUARD_VALUE_LEN (AP_GUARD_CHAIN_IDS_LEN + 512)
void ap_guard_format(char *buf, size_t len, const ap_guard_record *rec, const char *instance);
int ap_guard_parse(const char *value, size_t len, ap_guard_record *rec);
const char *ap_guard_state_name(ap_guard_state s);

/* The record's key, "<schedule id>-<generation>" (the job's Nats-Msg-Id is
 * the same string, ap_job_msg_id). AP_EINVAL when it does not fit in len. */
ap_status ap_guard_key(char *buf, size_t len, const char *schedule_id, const char *generation);

/* The takeover window (above) for a platform whose requests time out after
 * platform_timeout_ms: 2 x that + 5 s. */
int64_t ap_guard_takeover_window_ms(int64_t platform_timeout_ms);

/* An asynchronous write of the record (the engine's claim, record and fence
 * never block it): a KV write is a publish on $KV.<bucket>.<key>, so *out is
 * that message with rec's value (bucket: the platform's
 * autopost_attempts_<platform>, ap_kv_bucket_attempts). The caller publishes it expecting the key's
 * last revision (0: create-if-absent, the claim; its revision: the
 * compare-and-set of a record or a fence) and reads the PubAck: a wrong last
 * sequence means someone else wrote the record (the engine reads it back
 * asynchronously, ap_jsasync_kv_get, and parses it with ap_guard_parse).
 * AP_EINVAL when the key does not fit a subject, AP_ENOMEM. */
ap_status ap_guard_message(natsMsg **out, const char *bucket, const char *key,
                           const ap_guard_record *rec, const char *instance);

/* The cancel mark (`autopostctl cancel`): creates the record as "cancelled"
 * when absent, so no publisher calls the platform for that job: AP_OK.
 * When a record is there already, rec holds it and value (len bytes) its
 * text: AP_ECONFLICT (rec->state CANCELLED: cancelled before). AP_ENATS when
 * the bucket is unreachable, value then says why. */
ap_status ap_guard_cancel(kvStore *kv, const char *key, ap_guard_record *rec, char *value,
                          size_t len);

#endif
