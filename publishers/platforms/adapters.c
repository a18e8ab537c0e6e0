/* adapters.c -- the platform table and checks every adapter shares. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "ap_url.h"
#include "chain.h"

/* Every platform of common/platforms.list has publishers/platforms/<name>.c defining
 * ap_adapter_<name>: a missing one is a link error, not a runtime surprise. */
#define AP_PLATFORM(name, base_url, version, cap, cap_hours, reports)                              \
    extern const ap_adapter ap_adapter_##name;
#include "ap_platform_list.h"
#undef AP_PLATFORM

static const ap_adapter *const adapter_table[] = {
#define AP_PLATFORM(name, base_url, version, cap, cap_hours, reports) &ap_adapter_##name,
#include "ap_platform_list.h"
#undef AP_PLATFORM
};

const ap_adapter *ap_adapter_find(const char *platform) {
    if (platform == NULL) return NULL;
    for (size_t i = 0; i < sizeof(adapter_table) / sizeof(adapter_table[0]); i++)
        if (strcmp(adapter_table[i]->name, platform) == 0) return adapter_table[i];
    return NULL;
}

bool ap_job_format(const ap_job *job, ap_format *out, char *reason, size_t len) {
    if (ap_format_parse(job->format, out)) return true;
    snprintf(reason, len, "format \"%.32s\" is not one of feed, story, reel", job->format);
    return false;
}

/* Reasons start with "format" so a door can name the field (ctl_post.h). */
static bool validate_format(const ap_job *job, char *reason, size_t len) {
    ap_format f;
    if (!ap_job_format(job, &f, reason, len)) return false;
    if (f == AP_FORMAT_FEED) return true;
    const ap_adapter *a = ap_adapter_find(job->platform);
    if (a != NULL && (a->formats & AP_FORMAT_BIT(f)) != 0) return true;
    snprintf(reason, len, "format %s is not supported on %s", ap_format_name(f),
             job->platform && *job->platform ? job->platform : "this platform");
    return false;
}

/* A thread and a first comment (chain.h): the platform must take them, and
 * each message must pass the adapter's own rules. Reasons name the field as
 * the API shows it: "thread[3].text: ..." (0-based, like the JSON array). */
static bool validate_chain(const ap_job *job, char *reason, size_t len) {
    bool comment = job->first_comment && *job->first_comment;
    if (job->n_thread == 0 && !comment) return true;
    const ap_adapter *a = ap_adapter_find(job->platform);
    const char *name = job->platform && *job->platform ? job->platform : "this platform";
    if (a == NULL) return true; /* ap_adapter_find failed earlier callers anyway */
    if (job->n_thread > 0 && !a->threads) {
        snprintf(reason, len, "thread: %s takes no threads (only x and threads do)", name);
        return false;
    }
    if (comment && !a->first_comments) {
        snprintf(reason, len, "first_comment: %s takes no first comment", name);
        return false;
    }
    if (job->n_thread + 1 > AP_CHAIN_MAX_MESSAGES) {
        snprintf(reason, len, "thread: %zu parts; at most %d (%d messages with the post)",
                 job->n_thread, AP_CHAIN_MAX_MESSAGES - 1, AP_CHAIN_MAX_MESSAGES);
        return false;
    }
    for (size_t k = 1; k <= ap_chain_len(job); k++) {
        ap_job part;
        char why[384];
        ap_chain_part_job(job, k, &part);
        /* A comment that is not a post of the platform's kind has its own rules. */
        const ap_adapter *judge = ap_chain_is_comment(job, k) && a->comment ? a->comment : a;
        if (judge->validate(&part, why, sizeof(why))) continue;
        bool about_text = strncmp(why, "text", 4) == 0 || strncmp(why, "empty", 5) == 0;
        if (ap_chain_is_comment(job, k))
            snprintf(reason, len, "first_comment: %s", why);
        else
            snprintf(reason, len, "thread[%zu]%s: %s", k - 1, about_text ? ".text" : "", why);
        return false;
    }
    return true;
}

bool ap_validate_common(const ap_job *job, size_t max_media, char *reason, size_t len) {
    if (!validate_format(job, reason, len)) return false;
    if (!validate_chain(job, reason, len)) return false;
    bool has_text = job->text && *job->text, has_link = job->link && *job->link;
    if (!has_text && !has_link && job->n_media == 0) {
        snprintf(reason, len, "empty post: no text, link or media");
        return false;
    }
    if (has_link && ap_url_check(job->link) != AP_URL_OK) {
        snprintf(reason, len, "link must be an http(s) URL of at most %d bytes", AP_URL_MAX);
        return false;
    }
    if (job->n_media > max_media) {
        snprintf(reason, len, "too many media items: %zu (at most %zu for %s)", job->n_media,
                 max_media, job->platform);
        return false;
    }
    const ap_adapter *a = ap_adapter_find(job->platform);
    for (size_t i = 0; i < job->n_media; i++) {
        const char *url = job->media[i]->url;
        if (ap_url_check(url) != AP_URL_OK) {
            snprintf(reason, len, "media %zu: URL must be http(s) (got \"%.64s\")", i + 1,
                     url ? url : "");
            return false;
        }
        if (job->media[i]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT &&
            (a == NULL || !a->documents)) {
            snprintf(reason, len,
                     "media %zu: a document (PDF) post is LinkedIn's; %s does not "
                     "take documents",
                     i + 1, job->platform && *job->platform ? job->platform : "this platform");
            return false;
        }
    }
    return true;
}

void ap_flow_fail(ap_flow_result *r, ap_error_class cls, long http_status, const char *code,
                  const char *fmt, ...) {
    va_list ap;
    r->error_class = cls;
    r->http_status = http_status;
    snprintf(r->error_code, sizeof(r->error_code), "%s", code ? code : "");
    va_start(ap, fmt);
    vsnprintf(r->error_message, sizeof(r->error_message), fmt, ap);
    va_end(ap);
}

ap_flow_next ap_flow_vfail(ap_flow_result *r, ap_error_class cls, long http_status,
                           const char *code, const char *fmt, ...) {
    va_list ap;
    r->error_class = cls;
    r->http_status = http_status;
    snprintf(r->error_code, sizeof(r->error_code), "%s", code ? code : "");
    va_start(ap, fmt);
    vsnprintf(r->error_message, sizeof(r->error_message), fmt, ap);
    va_end(ap);
    return AP_NEXT_DONE;
}

void ap_flow_comment_found(ap_flow_result *r, long http_status, const char *id,
                           int64_t created_ms) {
    r->error_class = AP_CLASS_NONE;
    r->http_status = http_status;
    r->created_at_ms = created_ms > 0 ? created_ms : 0;
    snprintf(r->external_id, sizeof(r->external_id), "%s", id);
}

void ap_flow_comment_not_found(ap_flow_result *r, long http_status, bool more) {
    r->not_found = !more;
    ap_flow_fail(r, AP_CLASS_AMBIGUOUS, http_status, more ? "verify_too_many" : "verify_not_found",
                 more ? "too many comments on the post to be sure ours is not among them"
                      : "comment not found on the post");
}

ap_step_kind ap_flow_next_kind(ap_flow_next next, const ap_flow_result *r, bool *failed) {
    *failed = next == AP_NEXT_DONE && r->error_class != AP_CLASS_NONE;
    return next == AP_NEXT_DONE   ? AP_STEP_DONE
           : next == AP_NEXT_WAIT ? AP_STEP_WAIT
                                  : AP_STEP_REQUEST;
}

int ap_media_build_fetch(ap_http_request *req, const char *url, size_t max_bytes) {
    ap_http_request_init(req, "GET");
    req->url = strdup(url);
    /* One byte over the limit tells "too large" from "exactly the limit". */
    req->max_response = max_bytes + 1;
    req->outside_url = true;
    return req->url ? 0 : -1;
}

#define AP_CURLE_WRITE_ERROR 23        /* the engine's body cap cut the download */
#define AP_CURLE_TOO_MANY_REDIRECTS 47 /* more than AP_HTTP_MAX_REDIRECTS hops */

bool ap_media_refused(const ap_http_response *res, size_t index, ap_flow_result *r) {
    /* Permanent and without the host's answer or curl's text: a post must
     * not become a probe of what the publisher can reach. */
    if (res->address_refused || res->scheme_refused)
        ap_flow_fail(r, AP_CLASS_PERMANENT, 0, "media_url_refused", "media %zu: %s", index + 1,
                     res->address_refused ? "address not allowed" : "only https URLs are allowed");
    else if (res->transport_error == AP_CURLE_TOO_MANY_REDIRECTS)
        ap_flow_fail(r, AP_CLASS_PERMANENT, 0, "media_url_refused",
                     "media %zu: more than %d redirects", index + 1, AP_HTTP_MAX_REDIRECTS);
    else
        return false;
    return true;
}

/* type_prefix "image/" takes any image; a full type ("application/pdf")
 * takes that type with parameters only. */
static bool media_type_ok(const char *type, const char *type_prefix) {
    size_t n = strlen(type_prefix);
    if (type == NULL || strncasecmp(type, type_prefix, n) != 0) return false;
    return type_prefix[n - 1] == '/' || type[n] == '\0' || type[n] == ';' || type[n] == ' ';
}

bool ap_media_take_typed(const ap_http_response *res, size_t index, size_t max_bytes,
                         const ap_media_kind *kind, char **bytes, size_t *nbytes, char *ctype,
                         size_t ctype_len, ap_flow_result *r) {
    size_t i = index + 1;
    const char *type = ap_http_response_header(res, "content-type");
    if (ap_media_refused(res, index, r)) {
        /* said */
    } else if (res->transport_error == AP_CURLE_WRITE_ERROR || res->body_len > max_bytes) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_too_large",
                     "%s %zu is larger than %zu bytes", kind->what, i, max_bytes);
    } else if (res->transport_error != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "media_download", "could not download %s %zu: %s",
                     kind->what, i, res->transport_message);
    } else if (res->status == 429 || res->status >= 500) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "media_download",
                     "the host of %s %zu answered %ld", kind->what, i, res->status);
    } else if (res->status < 200 || res->status >= 300 || res->body_len == 0) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_download",
                     "%s %zu could not be fetched: its URL answered %ld", kind->what, i,
                     res->status);
    } else if (!media_type_ok(type, kind->type_prefix) || strlen(type) >= ctype_len ||
               strpbrk(type, "\r\n") != NULL) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_type",
                     "media %zu is not %s (Content-Type %.40s)", i, kind->a_what,
                     type ? type : "none");
    } else if ((*bytes = malloc(res->body_len)) == NULL) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "out of memory holding %s %zu", kind->what,
                     i);
    } else {
        memcpy(*bytes, res->body, res->body_len);
        *nbytes = res->body_len;
        snprintf(ctype, ctype_len, "%s", type);
        return true;
    }
    return false;
}

const ap_media_kind ap_media_image = {"image", "an image", "image/"};

bool ap_media_take_download(const ap_http_response *res, size_t index, size_t max_bytes,
                            char **bytes, size_t *nbytes, char *ctype, size_t ctype_len,
                            ap_flow_result *r) {
    return ap_media_take_typed(res, index, max_bytes, &ap_media_image, bytes, nbytes, ctype,
                               ctype_len, r);
}

void ap_flow_transport_error(const ap_http_response *res, bool publish_step, ap_flow_result *r) {
    if (res->request_sent && publish_step)
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, 0, "transport",
                     "no answer after the request was sent (%s): the post may be live",
                     res->transport_message);
    else if (res->request_sent)
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "transport",
                     "no answer to a preparatory call (%s); nothing is published yet",
                     res->transport_message);
    else
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "transport", "request not sent: %s",
                     res->transport_message);
}

int ap_flow_bearer_header(ap_http_request *req, const char *token) {
    char value[4200];
    if (token == NULL || strlen(token) > 4096) return -1;
    snprintf(value, sizeof(value), "Bearer %s", token);
    int rc = ap_http_request_add_header(req, "Authorization", value);
    explicit_bzero(value, sizeof(value));
    return rc;
}
