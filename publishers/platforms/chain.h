/* chain.h -- a post that is more than one message: its thread (X and
 * Threads: parts after the post's own text, each a reply to the one before)
 * and its first comment (a reply to the post itself), as the engine walks
 * them one message at a time.
 *
 * Messages are numbered: 0 is the post, 1..n_thread the thread's parts, and
 * n_thread + 1 the first comment when there is one. The engine gives the
 * adapter a view of message k (ap_chain_part_job) and the id it replies to
 * (ap_flow_input.reply_to); the adapter needs to know nothing else. The ids
 * published so far travel as one comma-separated list (the attempt record's
 * "ids=", guard.h), index 0 the post's. No I/O. */
#ifndef AP_CHAIN_H
#define AP_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "ap_proto.h"

/* The post and 24 parts: X's and Threads' own ceiling for a thread. */
#define AP_CHAIN_MAX_MESSAGES 25

/* Messages after the post: the thread's parts, then the first comment. */
size_t ap_chain_len(const ap_job *job);
/* Is message k the first comment? */
bool ap_chain_is_comment(const ap_job *job, size_t k);
/* A shallow view of message k (1..ap_chain_len) in *out: the job with that
 * message's text and media, no link, format, thread or comment. Borrows the
 * job's strings: valid while job is. */
void ap_chain_part_job(const ap_job *job, size_t k, ap_job *out);
/* Which message k replies to: the one before it, or the post for the first
 * comment. */
size_t ap_chain_parent(const ap_job *job, size_t k);

/* The ids list: how many, the n-th (false when absent or too long for
 * out), and appending one (false when it does not fit or holds a comma or a
 * space, which a platform id never does). */
size_t ap_chain_ids_count(const char *ids);
bool ap_chain_ids_nth(const char *ids, size_t n, char *out, size_t len);
bool ap_chain_ids_append(char *ids, size_t cap, const char *id);

#endif
