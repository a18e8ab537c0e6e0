/* linkedin_document.c -- LinkedIn's document upload (Documents API) before
 * a post: a PDF shown as a carousel.
 *
 * The steps (LinkedIn Documents API docs, versioned REST headers), one
 * request each:
 *   FETCH   GET <media URL> (no token sent), at most 100 MB, application/pdf
 *   INIT    POST {base}/rest/documents?action=initializeUpload
 *             {"initializeUploadRequest":{"owner": author}}
 *             -> {"value":{"uploadUrlExpiresAt","uploadUrl",
 *                 "document":"urn:li:document:..."}}
 *   PUT     uploadUrl, the whole file (application/octet-stream, Bearer)
 *   STATUS  GET {base}/rest/documents/{urn, URL-encoded} after a wait, until
 *             "status" is AVAILABLE (WAITING_UPLOAD, PROCESSING: wait more;
 *             PROCESSING_FAILED: the post fails)
 * and then the post (linkedin.c) carries content.media {title, id: the
 * document URN}.
 *
 * The download comes first, so a file that is not a PDF or is too large is
 * refused before LinkedIn hears of it. Memory: see linkedin_document.h (the
 * file held once; a resend downloads it again).
 *
 * Retries: nothing here is public, so no answer is ambiguous. A PUT or
 * status call that gets no answer or a 5xx is sent again in this flow (the
 * PUT with the same file, to the same URL: LinkedIn keeps the last upload),
 * up to LD_MAX_SENDS times with a short backoff, then the job is retried
 * from the start. An upload URL that answers 403 or 404 has expired: a new
 * upload from initializeUpload, at most LD_MAX_RESTARTS times. Processing
 * that fails ends the post as permanent: the post is never sent. */
#include "linkedin_document.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_time.h"
#include "ap_url.h"
#include "linkedin.h"

#define LD_MAX_SENDS 4    /* one PUT/status call, first send included */
#define LD_MAX_RESTARTS 2 /* fresh uploads after expired upload URLs */
#define LD_MAX_POLLS 120  /* status calls before "LinkedIn is too slow", retried later */
#define LD_POLL_MS 1000   /* the first wait; grows by LD_POLL_MS every 5 polls */
#define LD_POLL_MAX_MS 10000
#define LD_BACKOFF_MS 500
#define LD_BACKOFF_MAX_MS 30000

static const ap_media_kind ld_kind = {"document", "a PDF document", "application/pdf"};

struct ap_li_document {
    ap_li_doc_state state;
    size_t index; /* which of the job's media */
    char *bytes;  /* the document, from its download until its PUT takes it */
    size_t len;
    int64_t size; /* the first download's size; -1 before it */
    ap_li_doc_upload up;
    bool have_upload; /* up holds an upload URL not known to be expired */
    int sends;        /* of the current PUT/status call */
    int restarts;
    int polls;
};

typedef enum ld_next { LD_NEXT_REQUEST, LD_NEXT_WAIT, LD_NEXT_DONE } ld_next;

/* ---- parsers ---------------------------------------------------------------- */

void ap_li_doc_upload_clear(ap_li_doc_upload *u) {
    free(u->url);
    memset(u, 0, sizeof(*u));
}

int ap_li_doc_parse_init(const char *body, size_t len, ap_li_doc_upload *u) {
    memset(u, 0, sizeof(*u));
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *value = json_object_get(root, "value");
    json_t *doc = json_object_get(value, "document"), *url = json_object_get(value, "uploadUrl");
    json_t *expires = json_object_get(value, "uploadUrlExpiresAt");
    int rc = -1;
    if (!json_is_string(doc) || !ap_linkedin_urn_ok(json_string_value(doc)) ||
        strncmp(json_string_value(doc), "urn:li:document:", 16) != 0 ||
        json_string_length(doc) == 16 || !json_is_string(url) || json_string_length(url) == 0 ||
        json_string_length(url) > AP_URL_MAX ||
        (expires != NULL && (!json_is_integer(expires) || json_integer_value(expires) < 0)))
        goto cleanup;
    snprintf(u->document, sizeof(u->document), "%s", json_string_value(doc));
    u->expires_at_ms = expires ? (int64_t)json_integer_value(expires) : 0;
    u->url = strdup(json_string_value(url));
    rc = u->url ? 0 : -1;
cleanup:
    if (rc != 0) ap_li_doc_upload_clear(u);
    json_decref(root);
    return rc;
}

/* The last path segment of url: "deck.pdf" of "https://h/a/deck.pdf?x=1". */
static size_t ld_file_name(const char *url, const char **start) {
    size_t end = strcspn(url, "?#");
    size_t from = end;
    while (from > 0 && url[from - 1] != '/') from--;
    const char *host_end = strstr(url, "://");
    if (host_end && url + from <= host_end + 3) return 0; /* no path at all */
    *start = url + from;
    return end - from;
}

void ap_li_doc_title(const ap_job *job, size_t index, char *out, size_t len) {
    const Autopost__V1__Media *m = job->media[index];
    const char *from = "Document";
    size_t n = strlen(from);
    if (m->alt_text && *m->alt_text) {
        from = m->alt_text;
        n = strlen(from);
    } else if (m->url) {
        const char *name = NULL;
        size_t k = ld_file_name(m->url, &name);
        if (k > 0) {
            from = name;
            n = k;
        }
    }
    size_t cap = len > 0 ? len - 1 : 0;
    if (cap > AP_LI_DOC_TITLE_MAX) cap = AP_LI_DOC_TITLE_MAX;
    if (n > cap) {
        n = cap;
        while (n > 0 && ((unsigned char)from[n] & 0xC0) == 0x80) n--;
    }
    if (len > 0) snprintf(out, len, "%.*s", (int)n, from);
}

/* ---- the flow -------------------------------------------------------------- */

ap_li_document *ap_li_document_new(size_t index) {
    ap_li_document *d = calloc(1, sizeof(*d));
    if (d == NULL) return NULL;
    d->index = index;
    d->size = -1;
    d->state = AP_LD_FETCH;
    return d;
}

static void ld_drop_bytes(ap_li_document *d) {
    free(d->bytes);
    d->bytes = NULL;
    d->len = 0;
}

void ap_li_document_free(ap_li_document *d) {
    if (d) {
        ld_drop_bytes(d);
        ap_li_doc_upload_clear(&d->up);
    }
    free(d);
}

ap_li_doc_state ap_li_document_state_of(const ap_li_document *d) { return d->state; }

const char *ap_li_document_urn(const ap_li_document *d) {
    return d->state == AP_LD_READY ? d->up.document : "";
}

static ld_next ld_fail(ap_li_document *d, ap_flow_result *r, ap_error_class cls, long status,
                       const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static ld_next ld_fail(ap_li_document *d, ap_flow_result *r, ap_error_class cls, long status,
                       const char *code, const char *fmt, ...) {
    char message[sizeof(r->error_message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    d->state = AP_LD_FAILED;
    ap_flow_fail(r, cls, status, code, "%s", message);
    return LD_NEXT_DONE;
}

json_t *ap_li_document_content(const ap_li_document *d, const ap_job *job) {
    char title[AP_LI_DOC_TITLE_MAX + 1];
    ap_li_doc_title(job, d->index, title, sizeof(title));
    return json_pack("{s:{s:s,s:s}}", "media", "title", title, "id", ap_li_document_urn(d));
}

/* ---- requests ---- */

static int ld_build_init(const ap_flow_input *in, ap_http_request *req) {
    char url[1024];
    int n = snprintf(url, sizeof(url), "%s/rest/documents?action=initializeUpload",
                     in->platform->base_url);
    ap_http_request_init(req, "POST");
    json_t *body =
        json_pack("{s:{s:s}}", "initializeUploadRequest", "owner", in->job->account_external_id);
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (n < 0 || (size_t)n >= sizeof(url) || req->body == NULL || (req->url = strdup(url)) == NULL)
        return -1;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/json") != 0) return -1;
    return ap_linkedin_headers(req, in);
}

/* The PUT takes the document over: the engine frees it once sent. */
static int ld_build_put(const ap_flow_input *in, ap_li_document *d, ap_http_request *req) {
    ap_http_request_init(req, "PUT");
    /* A LinkedIn host (checked when the URL came), and still through the
     * outbound policy on every address it resolves to. */
    req->outside_url = true;
    if ((req->url = strdup(d->up.url)) == NULL) return -1;
    req->body = d->bytes;
    req->body_len = d->len;
    d->bytes = NULL;
    d->len = 0;
    if (ap_http_request_add_header(req, "Content-Type", "application/octet-stream") != 0) return -1;
    return ap_flow_bearer_header(req, in->token);
}

static int ld_build_status(const ap_flow_input *in, const ap_li_document *d, ap_http_request *req) {
    char url[1024];
    char *urn = ap_http_urlencode(d->up.document);
    ap_http_request_init(req, "GET");
    if (urn == NULL) return -1;
    int n = snprintf(url, sizeof(url), "%s/rest/documents/%s", in->platform->base_url, urn);
    free(urn);
    if (n < 0 || (size_t)n >= sizeof(url) || (req->url = strdup(url)) == NULL) return -1;
    return ap_linkedin_headers(req, in);
}

static int ld_build(const ap_flow_input *in, ap_li_document *d, ap_http_request *req) {
    switch (d->state) {
    case AP_LD_FETCH:
        return ap_media_build_fetch(req, in->job->media[d->index]->url,
                                    (size_t)AP_LI_DOC_MAX_BYTES);
    case AP_LD_INIT: return ld_build_init(in, req);
    case AP_LD_PUT: return ld_build_put(in, d, req);
    case AP_LD_STATUS: return ld_build_status(in, d, req);
    case AP_LD_READY:
    case AP_LD_FAILED:
    default: return -1;
    }
}

/* ---- answers ---- */

/* What comes after the document is in hand or LinkedIn gave an upload URL:
 * the PUT needs both. */
static ld_next ld_toward_put(ap_li_document *d) {
    d->state = !d->have_upload ? AP_LD_INIT : d->bytes == NULL ? AP_LD_FETCH : AP_LD_PUT;
    return LD_NEXT_REQUEST;
}

static ld_next ld_take_fetch(ap_li_document *d, const ap_http_response *res, ap_flow_result *r) {
    char ctype[128];
    ld_drop_bytes(d);
    if (!ap_media_take_typed(res, d->index, (size_t)AP_LI_DOC_MAX_BYTES, &ld_kind, &d->bytes,
                             &d->len, ctype, sizeof(ctype), r)) {
        d->state = AP_LD_FAILED;
        return LD_NEXT_DONE;
    }
    if (d->size >= 0 && (int64_t)d->len != d->size)
        return ld_fail(d, r, AP_CLASS_RETRY, res->status, "media_changed",
                       "the document changed while it was uploaded (%lld bytes, then %zu)",
                       (long long)d->size, d->len);
    d->size = (int64_t)d->len;
    return ld_toward_put(d);
}

/* A failed LinkedIn call of the upload: never duplicate or ambiguous. */
static ld_next ld_li_error(ap_li_document *d, const ap_flow_input *in, const ap_http_response *res,
                           const char *what, ap_flow_result *r) {
    d->state = AP_LD_FAILED;
    ap_linkedin_media_error(in, res, what, r);
    return LD_NEXT_DONE;
}

static const char *ld_call(const ap_li_document *d) {
    return d->state == AP_LD_STATUS ? "document status" : "document upload";
}

/* No answer or a 5xx to a call that is safe to repeat: again, in this
 * flow, after a short backoff (or LinkedIn's Retry-After). A PUT gave its
 * bytes away: the document is downloaded again first. */
static ld_next ld_again(ap_li_document *d, const ap_flow_input *in, const ap_http_response *res,
                        int64_t *wait_ms, ap_flow_result *r) {
    if (++d->sends >= LD_MAX_SENDS) return ld_li_error(d, in, res, ld_call(d), r);
    int64_t wait = (int64_t)LD_BACKOFF_MS << (d->sends - 1);
    long long ra = ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
    if (ra > wait) wait = ra;
    *wait_ms = wait > LD_BACKOFF_MAX_MS ? LD_BACKOFF_MAX_MS : wait;
    snprintf(r->note_event, sizeof(r->note_event), "linkedin_document_resend");
    snprintf(r->note, sizeof(r->note), "LinkedIn %s of %s: %s; sending it again in %lld ms",
             ld_call(d), d->up.document, res->transport_error ? "no answer" : "5xx",
             (long long)*wait_ms);
    if (d->state == AP_LD_PUT) d->state = AP_LD_FETCH;
    return LD_NEXT_WAIT;
}

/* The upload URL expired (LinkedIn's 403/404 on the PUT): a new upload
 * from initializeUpload. */
static ld_next ld_restart(ap_li_document *d, const ap_http_response *res, ap_flow_result *r) {
    if (++d->restarts > LD_MAX_RESTARTS)
        return ld_fail(d, r, AP_CLASS_RETRY, res->status, "media_expired",
                       "LinkedIn's document upload URLs kept expiring");
    snprintf(r->note_event, sizeof(r->note_event), "linkedin_document_restart");
    snprintf(r->note, sizeof(r->note),
             "LinkedIn answered %ld to the upload of %s (upload URL expired): uploading the "
             "document again from initializeUpload",
             res->status, d->up.document);
    ap_li_doc_upload_clear(&d->up);
    d->have_upload = false;
    d->sends = 0;
    d->state = AP_LD_INIT;
    return LD_NEXT_REQUEST;
}

static ld_next ld_take_init(ap_li_document *d, const ap_flow_input *in, const ap_http_response *res,
                            ap_flow_result *r) {
    if (res->transport_error != 0 || res->status < 200 || res->status >= 300)
        return ld_li_error(d, in, res, "document initializeUpload", r);
    if (ap_li_doc_parse_init(res->body, res->body_len, &d->up) != 0)
        return ld_fail(d, r, AP_CLASS_RETRY, res->status, "media_upload",
                       "LinkedIn's initializeUpload for the document gave no upload URL or "
                       "document URN");
    if (!ap_linkedin_upload_url_ok(in, d->up.url))
        return ld_fail(d, r, AP_CLASS_PERMANENT, res->status, "media_upload",
                       "LinkedIn's upload URL for the document is not on a LinkedIn host");
    d->have_upload = true;
    return ld_toward_put(d);
}

static int64_t ld_poll_wait(const ap_li_document *d) {
    int64_t wait = LD_POLL_MS * (1 + d->polls / 5);
    return wait > LD_POLL_MAX_MS ? LD_POLL_MAX_MS : wait;
}

static ld_next ld_take_put(ap_li_document *d, const ap_flow_input *in, const ap_http_response *res,
                           int64_t *wait_ms, ap_flow_result *r) {
    if (res->address_refused || res->scheme_refused)
        return ld_fail(d, r, AP_CLASS_PERMANENT, 0, "upload_url_refused",
                       "LinkedIn's upload URL for the document: %s",
                       res->address_refused ? "address not allowed"
                                            : "only https URLs are allowed");
    if (res->transport_error != 0 || res->status >= 500) return ld_again(d, in, res, wait_ms, r);
    if (res->status == 403 || res->status == 404) return ld_restart(d, res, r);
    if (res->status < 200 || res->status >= 300) return ld_li_error(d, in, res, ld_call(d), r);
    d->sends = 0;
    d->polls = 0;
    d->state = AP_LD_STATUS;
    *wait_ms = ld_poll_wait(d);
    return LD_NEXT_WAIT;
}

static ld_next ld_take_status(ap_li_document *d, const ap_flow_input *in,
                              const ap_http_response *res, int64_t *wait_ms, ap_flow_result *r) {
    if (res->transport_error != 0 || res->status >= 500) return ld_again(d, in, res, wait_ms, r);
    if (res->status < 200 || res->status >= 300) return ld_li_error(d, in, res, ld_call(d), r);
    d->sends = 0;
    ap_li_asset_status status;
    char why[160];
    if (ap_li_parse_asset_status(res->body, res->body_len, &status, why, sizeof(why)) != 0)
        return ld_fail(d, r, AP_CLASS_RETRY, res->status, "media_processing",
                       "LinkedIn's status of document %s was unreadable", d->up.document);
    if (status == AP_LI_ASSET_AVAILABLE) {
        d->state = AP_LD_READY;
        return LD_NEXT_DONE;
    }
    if (status == AP_LI_ASSET_PROCESSING_FAILED)
        return ld_fail(d, r, AP_CLASS_PERMANENT, res->status, "media_processing_failed",
                       "LinkedIn could not process the document (%s); nothing was posted",
                       why[0] ? why : "no reason given");
    if (++d->polls > LD_MAX_POLLS)
        return ld_fail(d, r, AP_CLASS_RETRY, res->status, "media_processing_slow",
                       "LinkedIn was still processing document %s after many checks",
                       d->up.document);
    *wait_ms = ld_poll_wait(d);
    return LD_NEXT_WAIT;
}

static ld_next ld_take(ap_li_document *d, const ap_flow_input *in, const ap_http_response *res,
                       int64_t *wait_ms, ap_flow_result *r) {
    switch (d->state) {
    case AP_LD_FETCH: return ld_take_fetch(d, res, r);
    case AP_LD_INIT: return ld_take_init(d, in, res, r);
    case AP_LD_PUT: return ld_take_put(d, in, res, wait_ms, r);
    case AP_LD_STATUS: return ld_take_status(d, in, res, wait_ms, r);
    case AP_LD_READY:
    case AP_LD_FAILED:
    default:
        return ld_fail(d, r, AP_CLASS_RETRY, 0, "internal", "the document upload was already over");
    }
}

ap_step_kind ap_li_document_step(ap_li_document *d, const ap_flow_input *in,
                                 const ap_http_response *prev, ap_http_request *req,
                                 int64_t *wait_ms, ap_flow_result *r) {
    if (prev) {
        switch (ld_take(d, in, prev, wait_ms, r)) {
        case LD_NEXT_DONE: return AP_STEP_DONE;
        case LD_NEXT_WAIT: return AP_STEP_WAIT;
        case LD_NEXT_REQUEST: break;
        }
    }
    if (ld_build(in, d, req) != 0) {
        ld_fail(d, r, AP_CLASS_RETRY, 0, "internal", "could not build the document upload request");
        return AP_STEP_DONE;
    }
    return AP_STEP_REQUEST;
}
