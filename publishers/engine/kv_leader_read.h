/* kv_leader_read.h -- reading a KV key from its stream's leader.
 *
 * A direct get ($JS.API.DIRECT.GET, what jsasync.h reads with) may be
 * answered by any replica of an R3 stream, and a follower that has not yet
 * applied the newest write answers with the value before it. For a job's own
 * read that is harmless (a stale revision only makes the compare-and-set
 * that follows fail). The check of a resent compare-and-set (jsasync.h) is
 * different: it must tell "my first copy is stored" from "someone else's
 * write is", and a lagging follower made a stored write look lost (a
 * needless read-back of the platform). So the check asks the leader:
 * $JS.API.STREAM.MSG.GET.<stream> with {"last_by_subj": "<subject>"}, which
 * only the leader answers, in JSON with the value in base64. */
#ifndef AP_KV_LEADER_READ_H
#define AP_KV_LEADER_READ_H

#include <stddef.h>

#include "ap_status.h"
#include "jsasync.h"

/* The request for the last value of kv_subject ("$KV.<bucket>.<key>"):
 * its subject and JSON body. AP_EINVAL when kv_subject is not a KV subject
 * or does not fit. */
ap_status ap_kv_leader_request(const char *kv_subject, char *subject, size_t subject_len,
                               char *body, size_t body_len);

/* Decodes the leader's reply (its payload, len bytes) into d the way
 * ap_jsasync_decode_get_reply does a direct get's: ok and found with the
 * value (malloc'ed, NUL-terminated) and its revision in seq; ok and not
 * found for "no message" (404) or a delete marker; anything else is a
 * failure (not ok, status set). No I/O, for the tests and the fuzzer. */
void ap_kv_leader_decode(const char *data, int len, ap_js_done *d);

#endif
