/* graph.h -- what the Meta platforms (Facebook Pages, Instagram, Threads)
 * share: one Graph API error shape and its classification, usage headers,
 * Bearer tokens, timestamps and the UTF-8 character count the three use for
 * their text limits.
 *
 * The adapters stay one file each; only the facts Meta documents once for
 * all of its Graph-style APIs live here. */
#ifndef AP_GRAPH_H
#define AP_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"

#define AP_GRAPH_RATE_LIMIT_DEFAULT_MS (60 * 1000)
/* The publishing quota gives no reset time: a QUOTA result then carries no
 * hint, and the runtime waits platforms.<p>.quota_wait (an hour by default:
 * the window is a rolling 24 h, so some slot frees within it only if the
 * account published in the hour 24 h ago). */

/* How a platform names itself in error messages for people. */
typedef struct ap_graph_names {
    const char *platform;   /* "Instagram" */
    const char *permission; /* what reconnecting must grant: "instagram_content_publish" */
} ap_graph_names;

/* The longest wait the usage headers and Retry-After ask for, in ms; -1
 * when none says anything. X-Business-Use-Case-Usage carries
 * estimated_time_to_regain_access in minutes; X-App-Usage only percentages,
 * so a full one (>= 100) means the default rate-limit wait. */
int64_t ap_graph_wait_hint_ms(const ap_http_response *res);

/* Classifies a non-2xx Graph answer into r:
 *   9/2207042 (publishing limit)               -> quota
 *   4, 17, 32, 613, 80000-80014 (rate limits)   -> retry after the hint
 *   190, 102, 104 (token)                       -> reauth
 *   10, 200-299 (permission)                    -> permanent
 *   506 (duplicate)                             -> duplicate
 *   1, 2, is_transient, 429, 5xx                -> retry; but a 5xx answer to
 *                 the publish step itself is ambiguous when publish_step is
 *                 set (the platform may have acted before failing)
 *   anything else                               -> permanent */
void ap_graph_classify_error(const ap_http_response *res, const ap_graph_names *names,
                             bool publish_step, ap_flow_result *r);

/* Parses a 2xx body as a JSON object; NULL when it is not one. */
json_t *ap_graph_parse_object(const ap_http_response *res);

/* The string member `key` of obj when it looks like an id (1..119 bytes,
 * no '/', '?', '#', '&', '%' or whitespace, so it is safe in a URL path). */
const char *ap_graph_id(json_t *obj, const char *key);

/* Graph timestamps: "2026-11-28T09:00:01+0000" (also RFC 3339). -1 when
 * unparsable. */
int64_t ap_graph_time_ms(const char *s);

/* paging.next of a list answer when it points back at base_url (the next
 * request carries the token); malloc'ed, or NULL. */
char *ap_graph_next_page(json_t *root, const char *base_url);

/* Starts a request: method, URL from the format, auth header; form body
 * from NULL-terminated pairs when pairs is not NULL. Returns -1 when the URL
 * would be cut (a cut URL could name another endpoint) or on OOM. */
int ap_graph_request(ap_http_request *req, const char *method, const char *token,
                     const char *const *pairs, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
