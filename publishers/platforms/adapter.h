/* adapter.h -- the one interface between the publisher runtime and a
 * platform.
 *
 * An adapter never does I/O itself. It is a small state machine: the runtime
 * calls step() with the previous HTTP response (NULL the first time) and the
 * adapter answers with the next request to send, a pause (Instagram-style
 * status polling), or a final outcome. This keeps every platform's flow
 * (one call for a Facebook post, container + poll + publish for Instagram)
 * testable without a network, and lets the runtime run thousands of flows on
 * one thread with curl's multi interface.
 *
 * Two modes:
 *   AP_FLOW_PUBLISH  publish the post;
 *   AP_FLOW_VERIFY   a previous attempt died after sending its request: read
 *                    back whether the post went live (e.g. the page feed)
 *                    instead of posting blindly a second time.
 *
 * Adding a platform: write <platform>.c implementing ap_adapter, add it to the
 * table in adapters.c and its name to common/ap_platforms.c. Nothing else in
 * the runtime, scheduler or dispatcher changes. */
#ifndef AP_ADAPTER_H
#define AP_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_format.h"
#include "ap_proto.h"
#include "http.h"

typedef Autopost__V1__ErrorClass ap_error_class;
#define AP_CLASS_NONE AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_NONE
#define AP_CLASS_RETRY AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_RETRY
#define AP_CLASS_QUOTA AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_QUOTA
#define AP_CLASS_REAUTH AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_REAUTH
#define AP_CLASS_PERMANENT AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_PERMANENT
#define AP_CLASS_DUPLICATE AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_DUPLICATE
#define AP_CLASS_AMBIGUOUS AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_AMBIGUOUS
#define AP_CLASS_INVALID AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_INVALID

/* Who a platform's "slow down" applies to. An adapter sets it on a QUOTA or
 * rate-limit RETRY result it recognises (NONE: the runtime treats QUOTA and
 * a 429 with a wait hint as the account's); APP when the platform says the
 * whole app is over its limit (Graph code 4, X's app allowance). */
typedef Autopost__V1__PauseScope ap_pause_scope;
#define AP_PAUSE_NONE AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_NONE
#define AP_PAUSE_ACCOUNT AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_ACCOUNT
#define AP_PAUSE_APP AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_APP

typedef enum ap_flow_mode { AP_FLOW_PUBLISH, AP_FLOW_VERIFY } ap_flow_mode;

/* What a flow ended with. For AP_FLOW_VERIFY, error_class NONE with an
 * external id means "found, it is live"; `not_found` means "checked: it is not
 * there, publishing is safe"; anything else means "could not tell". */
typedef struct ap_flow_result {
    ap_error_class error_class; /* AP_CLASS_NONE on success */
    char external_id[128];
    char external_url[256];
    char error_code[64];     /* the platform's own code, e.g. "190/463" */
    char error_message[512]; /* for people: what happened and what to do */
    int64_t retry_after_ms;  /* platform's hint (Retry-After, usage headers) */
    ap_pause_scope pause;    /* a limit answer: whose limit (see above) */
    long http_status;
    bool not_found; /* AP_FLOW_VERIFY only */
    /* AP_FLOW_VERIFY, found: when the platform says the matched post was
     * made (epoch ms; 0: it did not say). Decides whether a post the
     * platform refused as a duplicate is ours (runtime.c). */
    int64_t created_at_ms;
    /* A decision worth a log line, made at any step (not only the last): the
     * runtime logs `note` as event `note_event` after every step() that set
     * it, e.g. "container_status" when a container's status decided what a
     * publish call that returned no id did. Empty: nothing to say. */
    char note_event[32];
    char note[320];
    /* The platform's own count of the account's posts in its window, and when
     * it was asked (epoch ms; 0: not read). PublishResult.platform_usage. */
    int platform_usage;
    int64_t platform_usage_at_ms;
} ap_flow_result;

typedef enum ap_step_kind {
    AP_STEP_REQUEST, /* send *req, then call step() with its response */
    AP_STEP_WAIT,    /* call step() again with NULL after *wait_ms */
    AP_STEP_DONE     /* *result is final */
} ap_step_kind;

/* Everything a flow may read; owned by the runtime, valid for the flow. */
typedef struct ap_flow_input {
    const ap_job *job;
    const ap_platform_config *platform;
    const char *token; /* decrypted access token; never log it */
    int64_t since_ms;  /* AP_FLOW_VERIFY: when the lost attempt began;
                          AP_FLOW_PUBLISH: when this attempt began */
    ap_flow_mode mode;
    /* A message of a chain (chain.h): job is that message's view and this
     * the platform id it replies to; the publish call makes it a reply and
     * the read-back looks among that post's replies. NULL: the post. */
    const char *reply_to;
} ap_flow_input;

typedef struct ap_adapter {
    const char *name;
    /* Checks content against the platform's rules before any call. Returns
     * true when valid; otherwise fills reason (for the schedule row). */
    bool (*validate)(const ap_job *job, char *reason, size_t len);
    /* Creates per-flow state (may be NULL for stateless adapters). */
    void *(*flow_new)(const ap_flow_input *in);
    ap_step_kind (*step)(void *state, const ap_flow_input *in, const ap_http_response *prev,
                         ap_http_request *req, int64_t *wait_ms, ap_flow_result *result);
    void (*flow_free)(void *state);
    /* The platform refuses a repeat of a recent post with a duplicate answer
     * (X's 403, LinkedIn's 422 DUPLICATE_POST) and its VERIFY flow reads the
     * account's recent posts with their creation time: a DUPLICATE end of the
     * publish flow may then be our own post (a proxy retried a call that
     * went through), and the runtime reads back before calling it failed. */
    bool duplicate_reads_back;
    /* The formats beyond feed the platform can do (AP_FORMAT_BIT(story) |
     * ...); 0: feed only. ap_validate_common refuses any other format with
     * "format <f> is not supported on <platform>"; the adapter's validate()
     * checks what the format needs (one image or video for a story). */
    unsigned formats;
    /* The platform takes a document (media type "document", a PDF) as a
     * post's one media; ap_validate_common refuses it everywhere else. */
    bool documents;
    /* Posts of several messages (chain.h) the platform can take: a thread
     * (X, Threads) and a first comment. ap_validate_common refuses the
     * others with the reason, and checks each message by validate(). */
    bool threads;
    bool first_comments;
    /* A first comment that is not a post of the platform's own kind (a
     * Facebook or Instagram comment, a LinkedIn social-action comment): its
     * flow, given the comment's text as job->text and the post's id as
     * in->reply_to. NULL: the comment is the adapter's own reply (X,
     * Threads). */
    const struct ap_adapter *comment;
} ap_adapter;

#define AP_FORMAT_BIT(f) (1u << (unsigned)(f))

const ap_adapter *ap_adapter_find(const char *platform);

/* The job's format (PublishJob.format; "" = feed); false with reason for a
 * name that is none of feed, story, reel. */
bool ap_job_format(const ap_job *job, ap_format *out, char *reason, size_t len);

/* Checks shared by every platform (non-empty content, http(s) media URLs,
 * media count, a format the platform can do); adapters call it first from
 * validate(). */
bool ap_validate_common(const ap_job *job, size_t max_media, char *reason, size_t len);

/* Adds "Authorization: Bearer TOKEN", wiping the stack copy of the token;
 * -1 for a missing or oversized token. */
int ap_flow_bearer_header(ap_http_request *req, const char *token);

/* No HTTP answer: before sending it is safe to retry; after sending it is
 * ambiguous for the publish step and a harmless retry for preparatory calls
 * (a container, an upload or an unpublished photo nobody publishes is not a
 * post). Shared by every adapter. */
void ap_flow_transport_error(const ap_http_response *res, bool publish_step, ap_flow_result *r);

/* Retry class helper: fills result as a retryable error with a message. */
void ap_flow_fail(ap_flow_result *r, ap_error_class cls, long http_status, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* What an upload sub-flow (x_video.c, linkedin_video.c, facebook_video.c)
 * does after taking an answer: build the next request, wait, or end. */
typedef enum ap_flow_next { AP_NEXT_REQUEST, AP_NEXT_WAIT, AP_NEXT_DONE } ap_flow_next;

/* Ends an upload sub-flow: fills r like ap_flow_fail and returns
 * AP_NEXT_DONE, so a take function can `return ap_flow_vfail(...)`. The
 * sub-flow's step marks itself failed on any AP_NEXT_DONE whose result has
 * an error class (ap_flow_next_kind), so no helper of its own is needed. */
ap_flow_next ap_flow_vfail(ap_flow_result *r, ap_error_class cls, long http_status,
                           const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A first comment's read-back (graph_comment.c, linkedin_comment.c) reads
 * one page of the post's comments. Found: ours, with its id and time.
 * Not found: `more` says the page was full, so ours may be further on
 * (ambiguous either way; not_found only when the page held them all). */
void ap_flow_comment_found(ap_flow_result *r, long http_status, const char *id,
                           int64_t created_ms);
void ap_flow_comment_not_found(ap_flow_result *r, long http_status, bool more);

/* The runtime's step kind for a sub-flow's next; *failed is set when the
 * sub-flow ended with an error (the caller moves to its FAILED state). */
ap_step_kind ap_flow_next_kind(ap_flow_next next, const ap_flow_result *r, bool *failed);

/* Media that adapters upload themselves (X, LinkedIn): a GET of the media
 * URL without any token, its body capped at max_bytes. */
int ap_media_build_fetch(ap_http_request *req, const char *url, size_t max_bytes);
/* Takes the download's answer for media number index (0-based): on success
 * copies the body to a malloc'ed *bytes and the Content-Type to ctype and
 * returns true; otherwise fills r (retry for 5xx/429/network, permanent for
 * 4xx, too large or not an image: nothing is public yet, so never
 * ambiguous) and returns false. */
bool ap_media_take_download(const ap_http_response *res, size_t index, size_t max_bytes,
                            char **bytes, size_t *nbytes, char *ctype, size_t ctype_len,
                            ap_flow_result *r);
/* What a download must be: its name in messages ("image"), with an article
 * ("an image") and the Content-Type it needs ("image/" any image,
 * "application/pdf" exactly that). */
typedef struct ap_media_kind {
    const char *what, *a_what, *type_prefix;
} ap_media_kind;
extern const ap_media_kind ap_media_image;
/* ap_media_take_download for media of another kind (LinkedIn's documents). */
bool ap_media_take_typed(const ap_http_response *res, size_t index, size_t max_bytes,
                         const ap_media_kind *kind, char **bytes, size_t *nbytes, char *ctype,
                         size_t ctype_len, ap_flow_result *r);
/* The outbound policy stopped the media download (a private address, not
 * https, more than AP_HTTP_MAX_REDIRECTS redirects): fills r (permanent
 * media_url_refused, naming no host) and returns true. */
bool ap_media_refused(const ap_http_response *res, size_t index, ap_flow_result *r);

#endif
