/* http.h -- plain request/response values exchanged between adapters and the
 * runtime's libcurl engine. Adapters fill ap_http_request; the runtime fills
 * ap_http_response. Neither side sees a CURL handle. */
#ifndef AP_HTTP_H
#define AP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define AP_HTTP_MAX_HEADERS 16
#define AP_HTTP_MAX_BODY (1024 * 1024) /* platform answers are small; cap them */

typedef struct ap_http_header {
    char *name;
    char *value;
} ap_http_header;

typedef struct ap_http_request {
    const char *method; /* "GET", "POST" (static strings) */
    char *url;
    char *body; /* NULL for none */
    size_t body_len;
    ap_http_header headers[AP_HTTP_MAX_HEADERS];
    int nheaders;
    size_t max_response; /* cap on the answer's body; 0 = AP_HTTP_MAX_BODY (media
                            downloads raise it) */
    /* Send at most once: a call that can create something public (a post, a
     * comment, a container's publish) or that works only once (a refresh with
     * rotating refresh tokens). libcurl resends a request on its own when a
     * reused connection closes before any answer byte; for these the engine
     * refuses that resend and reports "sent, no answer" instead, which the
     * adapter treats as ambiguous (read back, never post blindly). */
    bool once;
    /* The URL came with the post (a media download), not from the config:
     * the engine applies the outbound policy (common/ap_netpolicy.h) to
     * every address it connects to, https only, redirects followed (at most
     * AP_HTTP_MAX_REDIRECTS) through the same checks, unless the publisher
     * runs with publisher.media_allow_private. */
    bool outside_url;
} ap_http_request;

#define AP_HTTP_MAX_REDIRECTS 5

typedef struct ap_http_response {
    long status;         /* 0 when no HTTP answer arrived */
    int transport_error; /* CURLcode, 0 when the exchange completed */
    char transport_message[256];
    /* Did the request leave us? false means the platform cannot have acted
     * (connect failed, DNS) and a retry is safe; true without an answer is
     * the ambiguous case. */
    bool request_sent;
    /* The engine refused a resend of a `once` request: the first send got no
     * answer on a connection that then closed (it may have been processed). */
    bool resend_refused;
    int sends; /* engine's count of attempts to send this request */
    /* An outside_url transfer stopped by the outbound policy: the address
     * it was about to connect to (first hop or a redirect's) is not public,
     * or the URL or a redirect is not https. Nothing was sent. */
    bool address_refused;
    bool scheme_refused;
    bool outside_url; /* copied from the request by the engine */
    char *body;
    size_t body_len;
    ap_http_header headers[AP_HTTP_MAX_HEADERS]; /* only the ones adapters read */
    int nheaders;
    size_t max_body; /* the request's max_response, set by the engine */
} ap_http_response;

void ap_http_request_init(ap_http_request *req, const char *method);
/* Copies name and value. Returns -1 when full or out of memory. */
int ap_http_request_add_header(ap_http_request *req, const char *name, const char *value);
void ap_http_request_clear(ap_http_request *req);

/* Case-insensitive header lookup; NULL when absent. */
const char *ap_http_response_header(const ap_http_response *res, const char *name);
void ap_http_response_clear(ap_http_response *res);

/* URL-encodes s into a malloc'ed string (curl's escaping, no handle needed). */
char *ap_http_urlencode(const char *s);
/* Builds "a=1&b=2" from NULL-terminated name/value pairs (values escaped);
 * skips pairs whose value is NULL. Returns malloc'ed string or NULL. */
char *ap_http_form(const char *const *pairs);

/* Parses Retry-After (delta seconds or HTTP date) into milliseconds from now.
 * Returns -1 when absent, unparsable or more than a week away. */
long long ap_http_retry_after_ms(const char *value, long long now_ms);

#endif
