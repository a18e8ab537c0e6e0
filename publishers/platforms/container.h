/* container.h -- the container flow Instagram and Threads share.
 *
 * Both publish in steps: create a container for the media (one per carousel
 * item, then the carousel itself), wait until the platform has fetched and
 * processed it, then publish the container:
 *
 *   GET  /{user}/<limit_edge>?fields=quota_usage,config   quota left?  (else QUOTA)
 *   POST /{user}/<create_edge> ... is_carousel_item=true  child containers (carousels)
 *   POST /{user}/<create_edge> ...                        the post's container
 *   GET  /{container}?fields=<status fields>              until FINISHED
 *   POST /{user}/<publish_edge> creation_id=<container>   -> {"id"}
 *
 * Only the last call publishes: every earlier call is safe to repeat (an
 * unpublished container expires by itself), so a lost answer there is a
 * retry. A container that EXPIREs before it is published is recreated, a
 * bounded number of times; one in ERROR ends the flow as permanent with the
 * platform's reason.
 *
 * Any answer to the publish call but a post id (an error, even "already
 * published" after a proxy's retry; a 5xx; no answer at all) is settled by
 * the container's own status, read after a short pause: the container is
 * ours, nobody else has its id.
 *   PUBLISHED  our call went through: the post is looked up by its text
 *              among the account's posts made since this attempt (listings
 *              lag: not there yet is ambiguous, read back later, never failed)
 *   FINISHED   it did not: the SAME container is published again, at most
 *              twice more (a container makes one post at most; a new one
 *              could make a second). An answer that asked us to wait or to
 *              reconnect (quota, rate limit, token) stands instead.
 *   EXPIRED    never published: a new container is safe
 *   ERROR      never published: permanent, with the platform's reason
 *   other, or the status unreadable: ambiguous (a token refusal stays one)
 * A container found PUBLISHED while polling, before our call, is ours too.
 * Each decision is a "container_status" log line (adapter.h: note).
 *
 * Verify reads the account's recent posts (GET /{user}/<list_edge>) and looks
 * for our text posted at or after the lost attempt began.
 *
 * A message of a chain (ap_flow_input.reply_to, Threads only) is a reply: its
 * container carries reply_to_id=<parent>, and both read-backs (verify, and a
 * PUBLISHED container's post) list GET /{parent}/replies instead. */
#ifndef AP_CONTAINER_H
#define AP_CONTAINER_H

#include "adapter.h"
#include "graph.h"

#define AP_CONTAINER_MAX_PAIRS 16

typedef struct ap_container_platform {
    ap_graph_names names;
    const char *create_edge;  /* "media" | "threads" */
    const char *publish_edge; /* "media_publish" | "threads_publish" */
    const char *limit_edge;   /* "content_publishing_limit" | "threads_publishing_limit" */
    const char *status_fields;
    const char *status_key;        /* member holding IN_PROGRESS/FINISHED/... */
    const char *status_reason_key; /* member explaining an ERROR */
    const char *list_edge;         /* "media" | "threads" */
    const char *list_fields;
    const char *list_text_key; /* "caption" | "text" */
    /* Fills NULL-terminated name/value pairs for a container: carousel item
     * `child` (>= 0), or the post itself (child = -1; children is the
     * comma-separated list of item containers, NULL unless a carousel).
     * text is what post_text() made. Strings must outlive the request build. */
    void (*container_pairs)(const ap_job *job, int child, const char *children, const char *text,
                            const char **pairs);
    /* The text we post (caption, or the thread's text); malloc'ed. */
    char *(*post_text)(const ap_job *job);
    /* Does this post need its container polled before publishing? */
    bool (*needs_polling)(const ap_job *job);
} ap_container_platform;

void *ap_container_flow_new(const ap_container_platform *pf, const ap_flow_input *in);
ap_step_kind ap_container_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                               ap_http_request *req, int64_t *wait_ms, ap_flow_result *result);
void ap_container_flow_free(void *state);

/* Shared validation helper: the account's platform id is safe in a path. */
bool ap_container_valid_user_id(const char *id);

/* text + "\n" + link (when there is a link); malloc'ed. Neither platform
 * has a link attachment for media posts, so the link rides in the text. */
char *ap_container_text_with_link(const ap_job *job);

#endif
