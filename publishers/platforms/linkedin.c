/* linkedin.c -- LinkedIn member and organization posts (Posts API).
 *
 * Publish: one call.
 *   POST {base}/rest/posts   LinkedIn-Version: YYYYMM (platforms.linkedin.api_version)
 *                            X-Restli-Protocol-Version: 2.0.0, Bearer token
 *   {author, commentary, visibility: PUBLIC, distribution: {MAIN_FEED},
 *    lifecycleState: PUBLISHED, isReshareDisabledByAuthor: false,
 *    content: {article: {source, title}} when the post has a link}
 *     -> 201, empty body, the post's URN in the x-restli-id header.
 * commentary is "little text format": ( ) [ ] { } < > @ | ~ _ * \ are markup
 * there, so each is escaped with a backslash or LinkedIn would eat or
 * reinterpret it (or refuse the post).
 * Verify (a previous attempt died after sending):
 *   GET {base}/rest/posts?q=author&author=URN&count=50&sortBy=LAST_MODIFIED
 * and look for our commentary among the posts since the lost attempt; the
 * match's createdAt (epoch ms) goes in the result, so that a 422
 * DUPLICATE_POST can be told apart from our own post (a proxy's resend) and an
 * older one (runtime.c, duplicate_reads_back).
 *
 * Errors are {"status","serviceErrorCode","code","message"}:
 *   401                -> reauth
 *   403                -> permanent (missing w_member_social / w_organization_social)
 *   422 DUPLICATE_POST -> duplicate; the message names the existing post's URN
 *   426                -> permanent: api_version is retired, raise it
 *   429                -> retry with our backoff (LinkedIn sends no reset header)
 *   503                -> retry; other 5xx on the publish -> ambiguous (read back)
 *   other 4xx          -> permanent
 *
 * Images (1 to 20), each in three steps before the post:
 *   GET  the image URL (no token; at most 10 MiB, an image)
 *   POST {base}/rest/images?action=initializeUpload {"initializeUploadRequest":
 *        {"owner": author}} -> {"value":{"uploadUrl","image": urn:li:image:...}}
 *   PUT  uploadUrl, the bytes (token sent only to LinkedIn or base_url)
 * then the post carries content.media {id} (one) or content.multiImage
 * {images:[{id}]} (several). A post cannot have both images and an article,
 * so with images the link goes at the end of the commentary. Failures in
 * these steps publish nothing: retried or failed, never ambiguous.
 * A video (one, alone) goes through the Videos API instead
 * (linkedin_video.c: initializeUpload, the parts LinkedIn asks for read
 * from the media URL by ranges and PUT one at a time, finalizeUpload, the
 * video's status until AVAILABLE), then the post carries content.media {id:
 * urn:li:video:...}; the post stays the one ambiguous call, read back as
 * above. A document (a PDF, one, alone) goes through the Documents API
 * the same way (linkedin_document.c) and the post carries content.media
 * {title, id: urn:li:document:...}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "ap_time.h"
#include "ap_url.h"
#include "ap_utf8.h"
#include "linkedin.h"
#include "linkedin_document.h"
#include "linkedin_video.h"

#define LINKEDIN_MAX_COMMENTARY 3000 /* characters */
#define LINKEDIN_MAX_MEDIA 20
#define LINKEDIN_TITLE_MAX 200 /* bytes of the first line used as the link's title */
#define LINKEDIN_VERIFY_COUNT 50
#define LINKEDIN_VERIFY_MAX_PAGES 10
#define LINKEDIN_RESERVED "()[]{}<>@|~_*\\"
#define LINKEDIN_MAX_IMAGE_BYTES (10 * 1024 * 1024)

/* LI_UPLOAD: the video's or document's upload (linkedin_video.c,
 * linkedin_document.c) is under way. */
typedef enum li_phase { LI_FETCH, LI_INIT, LI_PUT, LI_UPLOAD, LI_POST } li_phase;

typedef struct li_flow {
    int calls;
    int start;      /* AP_FLOW_VERIFY: offset of the next page */
    li_phase phase; /* AP_FLOW_PUBLISH: which request is in flight */
    size_t media;   /* the image in progress */
    char *bytes;    /* its content, between download and upload */
    size_t nbytes;
    char content_type[64];
    char *upload_url;
    char images[LINKEDIN_MAX_MEDIA][100]; /* urn:li:image:... per uploaded image */
    ap_li_video *video;                   /* the job's video; NULL for images or text */
    ap_li_document *document;             /* the job's document; NULL otherwise */
    bool started;                         /* AP_FLOW_PUBLISH: the first request went out */
} li_flow;

char *ap_linkedin_escape(const char *text) {
    size_t n = 0;
    for (const char *p = text; *p; p++) n += strchr(LINKEDIN_RESERVED, *p) ? 2 : 1;
    char *out = malloc(n + 1), *w = out;
    if (out == NULL) return NULL;
    for (const char *p = text; *p; p++) {
        if (strchr(LINKEDIN_RESERVED, *p)) *w++ = '\\';
        *w++ = *p;
    }
    *w = '\0';
    return out;
}

/* The commentary as the author wrote it: with images there is no article,
 * so the link goes on its own line at the end. Caller frees. */
static char *li_commentary_plain(const ap_job *job) {
    const char *text = job->text ? job->text : "", *link = job->link ? job->link : "";
    if (job->n_media == 0 || *link == '\0') return strdup(text);
    size_t n = strlen(text) + strlen(link) + 2;
    char *m = malloc(n);
    if (m) snprintf(m, n, "%s%s%s", text, *text ? "\n" : "", link);
    return m;
}

static char *li_commentary(const ap_job *job) {
    char *plain = li_commentary_plain(job);
    char *escaped = plain ? ap_linkedin_escape(plain) : NULL;
    free(plain);
    return escaped;
}

static bool li_author_ok(const char *urn) {
    static const char *const prefixes[] = {"urn:li:person:", "urn:li:organization:"};
    if (urn == NULL) return false;
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(urn, prefixes[i], n) == 0 && urn[n] != '\0' && strlen(urn) < 100 &&
            strpbrk(urn + n, "/?#&% :") == NULL)
            return true;
    }
    return false;
}

/* The job's first media of this type (a video or document, which LinkedIn
 * takes one of, alone), or -1. */
static long li_media_index(const ap_job *job, Autopost__V1__MediaType type) {
    for (size_t i = 0; i < job->n_media; i++)
        if (job->media[i]->type == type) return (long)i;
    return -1;
}
#define li_video_index(job) li_media_index(job, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO)
#define li_document_index(job) li_media_index(job, AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT)

static bool li_validate(const ap_job *job, char *reason, size_t len) {
    if (!ap_validate_common(job, LINKEDIN_MAX_MEDIA, reason, len)) return false;
    if (li_document_index(job) >= 0 && job->n_media > 1) {
        snprintf(reason, len,
                 "a LinkedIn document post has exactly one document (a PDF) and no other media");
        return false;
    }
    if (li_video_index(job) >= 0 && job->n_media > 1) {
        snprintf(reason, len, "LinkedIn takes up to %d images or one video, not several or mixed",
                 LINKEDIN_MAX_MEDIA);
        return false;
    }
    char *plain = li_commentary_plain(job);
    long chars = plain ? ap_utf8_length(plain) : -1;
    free(plain);
    if (chars < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (chars > LINKEDIN_MAX_COMMENTARY) {
        snprintf(reason, len, "text has %ld characters; LinkedIn allows at most %d", chars,
                 LINKEDIN_MAX_COMMENTARY);
        return false;
    }
    if (!li_author_ok(job->account_external_id)) {
        snprintf(reason, len,
                 "account external id must be a LinkedIn author URN (urn:li:person:... or "
                 "urn:li:organization:...)");
        return false;
    }
    return true;
}

static void *li_flow_new(const ap_flow_input *in) {
    li_flow *f = calloc(1, sizeof(li_flow));
    long video = li_video_index(in->job), document = li_document_index(in->job);
    if (f == NULL || in->mode != AP_FLOW_PUBLISH) return f;
    if (video >= 0 && (f->video = ap_li_video_new(
                           (size_t)video, (size_t)in->platform->media_chunk_bytes)) == NULL) {
        free(f);
        return NULL;
    }
    if (document >= 0 && (f->document = ap_li_document_new((size_t)document)) == NULL) {
        ap_li_video_free(f->video);
        free(f);
        return NULL;
    }
    return f;
}

static void li_flow_free(void *state) {
    li_flow *f = state;
    if (f) {
        free(f->bytes);
        free(f->upload_url);
        ap_li_video_free(f->video);
        ap_li_document_free(f->document);
    }
    free(f);
}

int ap_linkedin_headers(ap_http_request *req, const ap_flow_input *in) {
    if (ap_http_request_add_header(req, "LinkedIn-Version", in->platform->api_version) != 0 ||
        ap_http_request_add_header(req, "X-Restli-Protocol-Version", "2.0.0") != 0)
        return -1;
    return ap_flow_bearer_header(req, in->token);
}

/* The link card's title: the text's first line, cut at a character
 * boundary; the link itself when there is no text. */
static json_t *li_article(const ap_job *job) {
    const char *text = job->text ? job->text : "";
    size_t n = strcspn(text, "\r\n");
    if (n > LINKEDIN_TITLE_MAX) {
        n = LINKEDIN_TITLE_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    }
    json_t *title = n > 0 ? json_stringn(text, n) : json_string(job->link);
    return json_pack("{s:{s:s,s:o}}", "article", "source", job->link, "title", title);
}

/* content.media for one image, content.multiImage for several. */
static json_t *li_images(const ap_job *job, const li_flow *f) {
    json_t *list = json_array();
    for (size_t i = 0; list && i < job->n_media; i++) {
        json_t *img = json_pack("{s:s}", "id", f->images[i]);
        const char *alt = job->media[i]->alt_text;
        if (img && alt && *alt) json_object_set_new(img, "altText", json_string(alt));
        if (img == NULL || json_array_append_new(list, img) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    if (list && json_array_size(list) == 1) {
        json_t *one = json_incref(json_array_get(list, 0));
        json_decref(list);
        return json_pack("{s:o}", "media", one);
    }
    return list ? json_pack("{s:{s:o}}", "multiImage", "images", list) : NULL;
}

static int li_build_publish(const ap_flow_input *in, const li_flow *f, ap_http_request *req) {
    const ap_job *job = in->job;
    char url[1024];
    int n = snprintf(url, sizeof(url), "%s/rest/posts", in->platform->base_url);
    ap_http_request_init(req, "POST");
    req->once = true; /* the post itself: never resent below us */
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    char *commentary = li_commentary(job);
    json_t *body = commentary
                       ? json_pack("{s:s,s:s,s:s,s:{s:s,s:[],s:[]},s:s,s:b}", "author",
                                   job->account_external_id, "commentary", commentary, "visibility",
                                   "PUBLIC", "distribution", "feedDistribution", "MAIN_FEED",
                                   "targetEntities", "thirdPartyDistributionChannels",
                                   "lifecycleState", "PUBLISHED", "isReshareDisabledByAuthor", 0)
                       : NULL;
    free(commentary);
    json_t *content = NULL;
    if (f->video)
        content = json_pack("{s:{s:s}}", "media", "id", ap_li_video_urn(f->video));
    else if (f->document)
        content = ap_li_document_content(f->document, job);
    else if (job->n_media > 0)
        content = li_images(job, f);
    else if (job->link && *job->link)
        content = li_article(job);
    if (body && content && json_object_set_new(body, "content", content) != 0) {
        json_decref(body);
        body = NULL;
    } else if (body == NULL) {
        json_decref(content);
    }
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    req->url = strdup(url);
    if (req->body == NULL || req->url == NULL) return -1;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/json") != 0) return -1;
    return ap_linkedin_headers(req, in);
}

static int li_build_verify(const ap_flow_input *in, int start, ap_http_request *req) {
    char url[1024];
    char *author = ap_http_urlencode(in->job->account_external_id);
    ap_http_request_init(req, "GET");
    if (author == NULL) return -1;
    int n = snprintf(url, sizeof(url),
                     "%s/rest/posts?q=author&author=%s&count=%d&start=%d&sortBy=LAST_MODIFIED",
                     in->platform->base_url, author, LINKEDIN_VERIFY_COUNT, start);
    free(author);
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    req->url = strdup(url);
    if (req->url == NULL) return -1;
    return ap_linkedin_headers(req, in);
}

/* The first "urn:li:<type>:<id>" in s, copied to out ("" when none). */
static void li_find_urn(const char *s, char *out, size_t len) {
    const char *p = s ? strstr(s, "urn:li:") : NULL;
    out[0] = '\0';
    if (p == NULL) return;
    size_t n = strspn(p, "urn:liabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    if (n < len) snprintf(out, len, "%.*s", (int)n, p);
}

void ap_linkedin_classify_error(const ap_flow_input *in, const ap_http_response *res,
                                bool publishing, ap_flow_result *r) {
    json_t *root = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    json_t *c = json_object_get(root, "code"), *m = json_object_get(root, "message");
    const char *code = json_is_string(c) ? json_string_value(c) : "";
    const char *msg = json_is_string(m) ? json_string_value(m) : "no error details in the response";
    char code_text[64];
    if (*code)
        snprintf(code_text, sizeof(code_text), "%.63s", code);
    else
        snprintf(code_text, sizeof(code_text), "http_%ld", res->status);

    if (res->status == 401) {
        ap_flow_fail(r, AP_CLASS_REAUTH, res->status, code_text,
                     "LinkedIn refused the access token (expired or revoked); reconnect the "
                     "account: %s",
                     msg);
    } else if (res->status == 422 &&
               (strcmp(code, "DUPLICATE_POST") == 0 || strstr(msg, "duplicate") != NULL)) {
        char urn[100];
        li_find_urn(msg, urn, sizeof(urn));
        ap_flow_fail(r, AP_CLASS_DUPLICATE, res->status, "DUPLICATE_POST",
                     "LinkedIn rejected the post as a duplicate of %s: %s", *urn ? urn : "a post",
                     msg);
    } else if (res->status == 426) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code_text,
                     "LinkedIn retired API version %s; set platforms.linkedin.api_version to a "
                     "current YYYYMM version: %s",
                     in->platform->api_version, msg);
    } else if (res->status == 429) {
        long long ra =
            ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code_text, "rate limited by LinkedIn: %s",
                     msg);
        r->retry_after_ms = ra > 0 ? ra : 0; /* no reset header: our backoff decides */
    } else if (res->status == 503 || (res->status >= 500 && !publishing)) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code_text, "LinkedIn is unavailable: %s", msg);
    } else if (res->status >= 500) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, code_text,
                     "LinkedIn answered %ld after the post was sent; it may be live: %s",
                     res->status, msg);
    } else if (res->status == 403) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code_text,
                     "missing permission; reconnect the account granting w_member_social "
                     "(or w_organization_social): %s",
                     msg);
    } else {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code_text, "LinkedIn refused the post: %s",
                     msg);
    }
    json_decref(root);
}

static void li_set_published(ap_flow_result *r, long status, const char *urn) {
    r->error_class = AP_CLASS_NONE;
    r->http_status = status;
    snprintf(r->external_id, sizeof(r->external_id), "%s", urn);
    snprintf(r->external_url, sizeof(r->external_url), "https://www.linkedin.com/feed/update/%s/",
             urn);
}

bool ap_linkedin_urn_ok(const char *s) {
    return s && strncmp(s, "urn:li:", 7) == 0 && strlen(s) < 100 &&
           strspn(s, "urn:liabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               strlen(s);
}

int ap_li_parse_asset_status(const char *body, size_t len, ap_li_asset_status *status, char *reason,
                             size_t reason_len) {
    static const struct {
        const char *name;
        ap_li_asset_status status;
    } names[] = {{"WAITING_UPLOAD", AP_LI_ASSET_WAITING_UPLOAD},
                 {"PROCESSING", AP_LI_ASSET_PROCESSING},
                 {"AVAILABLE", AP_LI_ASSET_AVAILABLE},
                 {"PROCESSING_FAILED", AP_LI_ASSET_PROCESSING_FAILED}};
    *status = AP_LI_ASSET_UNKNOWN;
    if (reason_len > 0) reason[0] = '\0';
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *s = json_object_get(root, "status");
    json_t *why = json_object_get(root, "processingFailureReason");
    for (size_t i = 0; json_is_string(s) && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(json_string_value(s), names[i].name) == 0) *status = names[i].status;
    if (json_is_string(why) && reason_len > 0)
        snprintf(reason, reason_len, "%s", json_string_value(why));
    json_decref(root);
    return *status == AP_LI_ASSET_UNKNOWN ? -1 : 0; /* a status we do not know is not "available" */
}

static void li_parse_publish(const ap_http_response *res, ap_flow_result *r) {
    const char *id = ap_http_response_header(res, "x-restli-id");
    if (ap_linkedin_urn_ok(id))
        li_set_published(r, res->status, id);
    else /* accepted without a URN: the post may exist; don't repost blindly */
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "no_id",
                     "LinkedIn answered %ld without a post URN in x-restli-id", res->status);
}

/* Returns true when another page may hold our post. */
static bool li_parse_verify(li_flow *f, const ap_flow_input *in, const ap_http_response *res,
                            ap_flow_result *r) {
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    json_t *elements = json_object_get(root, "elements");
    char *want = li_commentary(in->job), *plain = li_commentary_plain(in->job);
    bool more = false;
    if (!json_is_array(elements) || want == NULL || plain == NULL) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_unreadable",
                     "could not read the author's LinkedIn posts to check whether ours went live");
        goto cleanup;
    }
    size_t i;
    json_t *item;
    int64_t oldest = INT64_MAX, since = in->since_ms - 60 * 1000;
    json_array_foreach(elements, i, item) {
        json_t *c = json_object_get(item, "commentary"), *id = json_object_get(item, "id");
        json_t *at = json_object_get(item, "lastModifiedAt");
        if (!json_is_integer(at)) at = json_object_get(item, "createdAt");
        if (json_is_integer(at) && json_integer_value(at) < oldest) oldest = json_integer_value(at);
        if (!json_is_string(c) || !json_is_string(id) || !ap_linkedin_urn_ok(json_string_value(id)))
            continue;
        /* LinkedIn may hand commentary back escaped (as sent) or plain. */
        const char *got = json_string_value(c);
        if (strcmp(got, want) == 0 || strcmp(got, plain) == 0) {
            li_set_published(r, res->status, json_string_value(id));
            json_t *created = json_object_get(item, "createdAt");
            if (json_is_integer(created) && json_integer_value(created) > 0)
                r->created_at_ms = (int64_t)json_integer_value(created);
            goto cleanup;
        }
    }
    more = json_array_size(elements) >= LINKEDIN_VERIFY_COUNT && oldest >= since;
    f->start += (int)json_array_size(elements);
    r->not_found = true;
    ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_not_found",
                 "post not found among the author's LinkedIn posts");
cleanup:
    free(want);
    free(plain);
    json_decref(root);
    return more;
}

/* ---- images: download, initializeUpload, PUT ------------------------------ */

static int li_build_init(const ap_flow_input *in, ap_http_request *req) {
    char url[1024];
    int n = snprintf(url, sizeof(url), "%s/rest/images?action=initializeUpload",
                     in->platform->base_url);
    ap_http_request_init(req, "POST");
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    json_t *body =
        json_pack("{s:{s:s}}", "initializeUploadRequest", "owner", in->job->account_external_id);
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    req->url = strdup(url);
    if (req->body == NULL || req->url == NULL) return -1;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/json") != 0) return -1;
    return ap_linkedin_headers(req, in);
}

static int li_build_put(const ap_flow_input *in, li_flow *f, ap_http_request *req) {
    ap_http_request_init(req, "PUT");
    req->url = f->upload_url;
    f->upload_url = NULL;
    req->body = f->bytes; /* the request owns the bytes now */
    req->body_len = f->nbytes;
    f->bytes = NULL;
    f->nbytes = 0;
    if (ap_http_request_add_header(req, "Content-Type", "application/octet-stream") != 0) return -1;
    return ap_flow_bearer_header(req, in->token);
}

/* The upload URL gets our token: only LinkedIn's hosts or the configured API. */
bool ap_linkedin_upload_url_ok(const ap_flow_input *in, const char *url) {
    static const char *const hosts[] = {"https://www.linkedin.com/", "https://api.linkedin.com/"};
    size_t n = strlen(in->platform->base_url);
    if (strlen(url) > AP_URL_MAX || strpbrk(url, " \r\n") != NULL) return false;
    if (strncmp(url, in->platform->base_url, n) == 0 && url[n] == '/') return true;
    for (size_t i = 0; i < 2; i++)
        if (strncmp(url, hosts[i], strlen(hosts[i])) == 0) return true;
    return false;
}

void ap_linkedin_media_error(const ap_flow_input *in, const ap_http_response *res, const char *what,
                             ap_flow_result *r) {
    if (res->transport_error != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "media_upload", "%s failed: %s", what,
                     res->transport_message);
        return;
    }
    ap_linkedin_classify_error(in, res, false, r);
    if (r->error_class == AP_CLASS_DUPLICATE || r->error_class == AP_CLASS_AMBIGUOUS)
        r->error_class = AP_CLASS_RETRY;
}

static bool li_take_init(li_flow *f, const ap_flow_input *in, const ap_http_response *res,
                         ap_flow_result *r) {
    if (res->transport_error != 0 || res->status < 200 || res->status >= 300) {
        char what[64];
        snprintf(what, sizeof(what), "image %zu initializeUpload", f->media + 1);
        ap_linkedin_media_error(in, res, what, r);
        return false;
    }
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    json_t *value = json_object_get(root, "value");
    json_t *url = json_object_get(value, "uploadUrl"), *image = json_object_get(value, "image");
    bool ok = json_is_string(url) && json_is_string(image) &&
              ap_linkedin_urn_ok(json_string_value(image)) &&
              strncmp(json_string_value(image), "urn:li:image:", 13) == 0;
    if (!ok) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "media_upload",
                     "LinkedIn's initializeUpload for image %zu gave no upload URL or image URN",
                     f->media + 1);
    } else if (!ap_linkedin_upload_url_ok(in, json_string_value(url))) {
        ok = false;
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_upload",
                     "LinkedIn's upload URL for image %zu is not on a LinkedIn host", f->media + 1);
    } else {
        free(f->upload_url);
        f->upload_url = strdup(json_string_value(url));
        snprintf(f->images[f->media], sizeof(f->images[0]), "%s", json_string_value(image));
        ok = f->upload_url != NULL;
        if (!ok) ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "out of memory");
    }
    json_decref(root);
    return ok;
}

/* The video's or document's upload, then the post once LinkedIn made it
 * AVAILABLE. */
static ap_step_kind li_upload_step(li_flow *f, const ap_flow_input *in,
                                   const ap_http_response *prev, ap_http_request *req,
                                   int64_t *wait_ms, ap_flow_result *r) {
    ap_step_kind k = f->video ? ap_li_video_step(f->video, in, prev, req, wait_ms, r)
                              : ap_li_document_step(f->document, in, prev, req, wait_ms, r);
    bool ready = f->video ? ap_li_video_state_of(f->video) == AP_LV_READY
                          : ap_li_document_state_of(f->document) == AP_LD_READY;
    if (k == AP_STEP_REQUEST) f->calls++;
    if (k != AP_STEP_DONE || !ready) return k;
    f->phase = LI_POST;
    if (li_build_publish(in, f, req) != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "could not build the request");
        return AP_STEP_DONE;
    }
    f->calls++;
    return AP_STEP_REQUEST;
}

/* The next request of a publish flow after the answer prev (NULL first and
 * after a wait). */
static ap_step_kind li_publish_step(li_flow *f, const ap_flow_input *in,
                                    const ap_http_response *prev, ap_http_request *req,
                                    int64_t *wait_ms, ap_flow_result *r) {
    if (!f->started) {
        f->started = true;
        bool upload = f->video || f->document;
        f->phase = upload ? LI_UPLOAD : in->job->n_media > 0 ? LI_FETCH : LI_POST;
        if (upload) return li_upload_step(f, in, NULL, req, wait_ms, r);
    } else if (f->phase == LI_UPLOAD) {
        return li_upload_step(f, in, prev, req, wait_ms, r);
    } else if (prev == NULL) {
        /* only the video and the document wait */
    } else if (f->phase == LI_FETCH) {
        free(f->bytes);
        f->bytes = NULL;
        if (!ap_media_take_download(prev, f->media, LINKEDIN_MAX_IMAGE_BYTES, &f->bytes, &f->nbytes,
                                    f->content_type, sizeof(f->content_type), r))
            return AP_STEP_DONE;
        f->phase = LI_INIT;
    } else if (f->phase == LI_INIT) {
        if (!li_take_init(f, in, prev, r)) return AP_STEP_DONE;
        f->phase = LI_PUT;
    } else if (f->phase == LI_PUT) {
        if (prev->transport_error != 0 || prev->status < 200 || prev->status >= 300) {
            char what[64];
            snprintf(what, sizeof(what), "image %zu upload", f->media + 1);
            ap_linkedin_media_error(in, prev, what, r);
            return AP_STEP_DONE;
        }
        f->media++;
        f->phase = f->media < in->job->n_media ? LI_FETCH : LI_POST;
    }
    int rc = f->phase == LI_FETCH  ? ap_media_build_fetch(req, in->job->media[f->media]->url,
                                                          LINKEDIN_MAX_IMAGE_BYTES)
             : f->phase == LI_INIT ? li_build_init(in, req)
             : f->phase == LI_PUT  ? li_build_put(in, f, req)
                                   : li_build_publish(in, f, req);
    if (rc != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "could not build the request");
        return AP_STEP_DONE;
    }
    f->calls++;
    return AP_STEP_REQUEST;
}

static ap_step_kind li_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                            ap_http_request *req, int64_t *wait_ms, ap_flow_result *result) {
    li_flow *f = state;
    bool verify = in->mode == AP_FLOW_VERIFY;
    if (!verify && (!f->started || f->phase != LI_POST))
        return li_publish_step(f, in, prev, req, wait_ms, result);
    if (prev == NULL) {
        int rc = li_build_verify(in, 0, req);
        if (rc != 0) {
            ap_flow_fail(result, AP_CLASS_RETRY, 0, "internal", "could not build the request");
            return AP_STEP_DONE;
        }
        f->calls++;
        return AP_STEP_REQUEST;
    }
    if (prev->transport_error != 0) {
        ap_flow_transport_error(prev, true, result);
        if (verify) result->error_class = AP_CLASS_AMBIGUOUS;
    } else if (prev->status >= 200 && prev->status < 300) {
        if (!verify) {
            li_parse_publish(prev, result);
            return AP_STEP_DONE;
        }
        bool more = li_parse_verify(f, in, prev, result);
        if (result->not_found && more) {
            if (f->calls >= LINKEDIN_VERIFY_MAX_PAGES) {
                result->not_found = false;
                ap_flow_fail(result, AP_CLASS_AMBIGUOUS, prev->status, "verify_too_many",
                             "too many LinkedIn posts since the lost attempt to be sure");
                return AP_STEP_DONE;
            }
            memset(result, 0, sizeof(*result));
            if (li_build_verify(in, f->start, req) != 0) {
                ap_flow_fail(result, AP_CLASS_AMBIGUOUS, 0, "internal",
                             "could not build the read-back request");
                return AP_STEP_DONE;
            }
            f->calls++;
            return AP_STEP_REQUEST;
        }
    } else {
        ap_linkedin_classify_error(in, prev, !verify, result);
    }
    return AP_STEP_DONE;
}

const ap_adapter ap_adapter_linkedin = {
    .name = "linkedin",
    .validate = li_validate,
    .flow_new = li_flow_new,
    .step = li_step,
    .flow_free = li_flow_free,
    .duplicate_reads_back = true,
    .documents = true,
    .first_comments = true,
    .comment = &ap_adapter_linkedin_comment,
};
