/* linkedin.c -- imitation of LinkedIn's Posts API, under /linkedin/.
 *
 *   POST /linkedin/rest/posts   {author, commentary, visibility, distribution,
 *                                lifecycleState, [content.article{source,title}]}
 *                               -> 201, no body, x-restli-id: urn:li:share:N
 *   GET  /linkedin/rest/posts?q=author&author=URN[&count=10][&start=0]
 *                               [&sortBy=LAST_MODIFIED|CREATED]
 *                               -> {"elements":[newest first],"paging":{...}}
 *   GET  /linkedin/rest/posts/{urn}  one post
 *   POST /linkedin/rest/images?action=initializeUpload
 *                               {"initializeUploadRequest":{"owner": URN}}
 *                               -> {"value":{"uploadUrlExpiresAt","uploadUrl","image"}}
 *   PUT  /linkedin/dms-uploads/{n}   the image bytes -> 201 (token needed, no version)
 *   the Videos API (initializeUpload, PUT parts under /dms-uploads/video/,
 *   finalizeUpload, GET /rest/videos/{urn}): linkedin_videos.c
 *   the Documents API (initializeUpload, PUT under /dms-uploads/document/,
 *   GET /rest/documents/{urn}): linkedin_documents.c
 * A post's content is an article {source}, an image or a video {media:{id}}
 * or several images {multiImage:{images:[{id}]}}; images and videos must be
 * uploaded by the same owner, a video must be AVAILABLE.
 *
 * Every call needs LinkedIn-Version: YYYYMM (400 without; 426 when older
 * than the linkedin_min_version knob, as for a retired version) and
 * X-Restli-Protocol-Version: 2.0.0. Tokens choose their fate through
 * sandbox_token_state_of(): expired 65601, revoked 65602, invalid 65600
 * (all 401), no permission -> 403 ACCESS_DENIED on publishes.
 *
 * Errors are {"status","serviceErrorCode","code","message"}. Checks run in
 * this order: path -> version -> injected fault (503, or 429 with no reset
 * header: LinkedIn sends none) -> body -> token -> fields (422) -> the
 * store's page limit (429) and duplicate rule (422 DUPLICATE_POST naming the
 * existing post) -> accept, or hold. Stricter than LinkedIn on one point:
 * commentary with an unescaped little-text reserved character is refused
 * (LinkedIn silently drops the text after it), so a publisher that forgets
 * to escape fails loudly here. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "comments.h"
#include "linkedin_documents.h"
#include "linkedin_videos.h"
#include "server.h"

#define LI_PLATFORM "linkedin"
#define LI_PREFIX "/linkedin"
#define LI_MAX_COMMENTARY 3000
#define LI_RESERVED "()[]{}<>@|~_*\\"

typedef struct li_call {
    sandbox_request *req;
    const char *token;
    int hang;
} li_call;

static void li_error(sandbox_request *req, unsigned status, int service_code, const char *code,
                     const char *message) {
    sandbox_stats_error((int)status);
    json_t *e = json_pack("{s:i,s:s,s:s}", "status", (int)status, "code", code, "message", message);
    if (e && service_code && json_object_set_new(e, "serviceErrorCode", json_integer(service_code)))
        sandbox_log("linkedin: cannot add serviceErrorCode");
    sandbox_reply_json(req, status, e);
}

static void li_unprocessable(sandbox_request *req, const char *message) {
    li_error(req, 422, 0, "UNPROCESSABLE_ENTITY", message);
}

static const char *li_bearer(sandbox_request *req) {
    const char *auth = sandbox_req_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) return NULL;
    for (auth += 7; *auth == ' '; auth++) {
    }
    return auth;
}

/* Answers and returns -1 when the version header is missing or retired. */
static int li_check_version(sandbox_request *req) {
    const char *v = sandbox_req_header(req, "LinkedIn-Version");
    char msg[128];
    sandbox_knobs k;
    if (v == NULL) {
        li_error(req, 400, 0, "VERSION_MISSING",
                 "A version must be present. Please specify a version by adding the "
                 "LinkedIn-Version header.");
        return -1;
    }
    if (strlen(v) != 6 || strspn(v, "0123456789") != 6) {
        snprintf(msg, sizeof(msg), "Invalid version format: %.32s; expected YYYYMM", v);
        li_error(req, 400, 0, "INVALID_VERSION", msg);
        return -1;
    }
    sandbox_knobs_get(&k);
    if (atol(v) < k.linkedin_min_version) {
        snprintf(msg, sizeof(msg), "Requested version %s is not active", v);
        li_error(req, 426, 0, "NONEXISTENT_VERSION", msg);
        return -1;
    }
    return 0;
}

static int li_fault(li_call *c, sandbox_op op) {
    switch (sandbox_req_fault(c->req, op)) {
    case SANDBOX_FAULT_5XX:
        li_error(c->req, 503, 0, "SERVICE_UNAVAILABLE", "Service Unavailable");
        return 1;
    case SANDBOX_FAULT_THROTTLE:
        li_error(c->req, 429, 101, "TOO_MANY_REQUESTS",
                 "Resource level throttle APPLICATION DAY limit for calls to this resource is "
                 "reached.");
        return 1;
    case SANDBOX_FAULT_HANG:
    case SANDBOX_FAULT_CLOSE: c->hang = 1; return 0; /* sandbox_hold() tells them apart */
    case SANDBOX_FAULT_NONE:
    default: return 0;
    }
}

static int li_check_token(li_call *c, sandbox_op op) {
    switch (sandbox_token_state_of(LI_PLATFORM, c->token)) {
    case SANDBOX_TOKEN_OK: return 0;
    case SANDBOX_TOKEN_NO_PERMISSION:
        if (op != SANDBOX_OP_WRITE) return 0;
        li_error(c->req, 403, 100, "ACCESS_DENIED",
                 "Not enough permissions to access: partnerApiPostsExternal.CREATE.20241101");
        return -1;
    case SANDBOX_TOKEN_EXPIRED:
        li_error(c->req, 401, 65601, "EXPIRED_ACCESS_TOKEN",
                 "The token used in the request has expired");
        return -1;
    case SANDBOX_TOKEN_REVOKED:
        li_error(c->req, 401, 65602, "REVOKED_ACCESS_TOKEN",
                 "The token used in the request has been revoked by the user");
        return -1;
    case SANDBOX_TOKEN_INVALID:
    default:
        li_error(c->req, 401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token");
        return -1;
    }
}

static int li_author_ok(const char *a) {
    const char *id = NULL;
    if (a && strncmp(a, "urn:li:person:", 14) == 0) id = a + 14;
    if (a && strncmp(a, "urn:li:organization:", 20) == 0) id = a + 20;
    return id && *id && strpbrk(id, " /?#&") == NULL;
}

/* Characters of commentary as shown (escapes not counted); -1 when a
 * reserved character is not escaped, with it in *bad. */
static long li_commentary_length(const char *s, char *bad) {
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' && p[1] && strchr(LI_RESERVED, p[1])) {
            p++;
            n++;
            continue;
        }
        if (*p < 0x80 && strchr(LI_RESERVED, *p)) {
            *bad = (char)*p;
            return -1;
        }
        if ((*p & 0xC0) != 0x80) n++;
    }
    return n;
}

/* ------------------------------------------------------------------------
 * Images: initializeUpload hands out an upload URL, PUT fills it
 * --------------------------------------------------------------------- */

#define LI_MAX_IMAGES 4096 /* remembered images; older ones expire */
#define LI_POST_IMAGES 20

/* Only the single MHD thread touches these. */
static struct {
    uint64_t n;
    char owner[100];
    int uploaded;
} li_images[LI_MAX_IMAGES];
static size_t li_nimages;

static int li_image_index(const char *urn) {
    char *end;
    if (urn == NULL || strncmp(urn, "urn:li:image:C", 14) != 0) return -1;
    uint64_t n = strtoull(urn + 14, &end, 10);
    size_t count = li_nimages < LI_MAX_IMAGES ? li_nimages : LI_MAX_IMAGES;
    for (size_t i = 0; *end == '\0' && i < count; i++)
        if (li_images[i].n == n) return (int)i;
    return -1;
}

static void li_initialize_upload(li_call *c) {
    const char *init = sandbox_req_param(c->req, "initializeUploadRequest");
    const char *action = sandbox_req_query(c->req, "action"), *host;
    json_t *root = init ? json_loads(init, 0, NULL) : NULL;
    json_t *owner = json_object_get(root, "owner");
    char url[512], urn[64];
    if (action == NULL || strcmp(action, "initializeUpload") != 0 || !json_is_string(owner) ||
        !li_author_ok(json_string_value(owner)) || json_string_length(owner) >= 100) {
        json_decref(root);
        li_unprocessable(c->req, "ERROR :: /initializeUploadRequest/owner :: a person or "
                                 "organization URN is required");
        return;
    }
    size_t slot = li_nimages++ % LI_MAX_IMAGES;
    li_images[slot].n = sandbox_next_object_id();
    li_images[slot].uploaded = 0;
    snprintf(li_images[slot].owner, sizeof(li_images[slot].owner), "%s", json_string_value(owner));
    json_decref(root);
    host = sandbox_req_header(c->req, "Host");
    snprintf(url, sizeof(url), "%s://%.200s%s/dms-uploads/%" PRIu64, sandbox_url_scheme(),
             host ? host : "localhost", LI_PREFIX, li_images[slot].n);
    snprintf(urn, sizeof(urn), "urn:li:image:C%" PRIu64, li_images[slot].n);
    sandbox_reply_json(c->req, 200,
                       json_pack("{s:{s:I,s:s,s:s}}", "value", "uploadUrlExpiresAt",
                                 (json_int_t)(sandbox_req_received_ms(c->req) + 3600 * 1000),
                                 "uploadUrl", url, "image", urn));
}

static void li_upload(li_call *c, const char *n) {
    char urn[64];
    size_t len;
    snprintf(urn, sizeof(urn), "urn:li:image:C%.40s", n);
    int i = li_image_index(urn);
    if (i < 0) {
        li_error(c->req, 404, 0, "NOT_FOUND", "Upload URL not found or expired");
        return;
    }
    if (sandbox_req_body(c->req, &len) == NULL || len == 0) {
        li_error(c->req, 400, 0, "ILLEGAL_ARGUMENT", "Empty upload");
        return;
    }
    if (c->hang) {
        sandbox_hold(c->req);
        return;
    }
    li_images[i].uploaded = 1;
    sandbox_reply_empty(c->req, 201);
}

/* Appends image id to ids ("a,b") when it was uploaded by author. */
static int li_take_image(json_t *id, const char *author, char *ids, size_t len) {
    int i = json_is_string(id) ? li_image_index(json_string_value(id)) : -1;
    if (i < 0 || !li_images[i].uploaded || strcmp(li_images[i].owner, author) != 0) return -1;
    snprintf(ids + strlen(ids), len - strlen(ids), "%s%s", *ids ? "," : "", json_string_value(id));
    return 0;
}

/* The post's content: article source or image ids ("" when none); -1 when
 * present but bad (answered). */
static int li_content(li_call *c, const char *author, char *source, size_t slen, char *ids,
                      size_t ilen) {
    const char *content = sandbox_req_param(c->req, "content");
    source[0] = ids[0] = '\0';
    if (content == NULL) return 0;
    json_t *root = json_loads(content, 0, NULL);
    json_t *src = json_object_get(json_object_get(root, "article"), "source");
    json_t *media = json_object_get(json_object_get(root, "media"), "id");
    json_t *multi = json_object_get(json_object_get(root, "multiImage"), "images"), *img;
    const char *err = NULL;
    size_t i;
    if (src) {
        if (json_is_string(src) && (strncmp(json_string_value(src), "http://", 7) == 0 ||
                                    strncmp(json_string_value(src), "https://", 8) == 0))
            snprintf(source, slen, "%s", json_string_value(src));
        else
            err = "ERROR :: /content/article/source :: must be an http(s) URL";
    } else if (json_is_string(media) &&
               strncmp(json_string_value(media), "urn:li:document:", 16) == 0) {
        json_t *title = json_object_get(json_object_get(root, "media"), "title");
        if (!json_is_string(title) || json_string_length(title) == 0)
            err = "ERROR :: /content/media/title :: a document needs a title";
        else if (sandbox_li_documents_use(json_string_value(media), author,
                                          json_string_value(title)))
            snprintf(ids, ilen, "%s", json_string_value(media));
        else
            err = "ERROR :: /content/media/id :: not an AVAILABLE document uploaded by the author";
    } else if (json_is_string(media) &&
               strncmp(json_string_value(media), "urn:li:video:", 13) == 0) {
        if (sandbox_li_videos_available(json_string_value(media), author))
            snprintf(ids, ilen, "%s", json_string_value(media));
        else
            err = "ERROR :: /content/media/id :: not an AVAILABLE video uploaded by the author";
    } else if (media) {
        if (li_take_image(media, author, ids, ilen) != 0)
            err = "ERROR :: /content/media/id :: not an image uploaded by the author";
    } else if (json_is_array(multi) && json_array_size(multi) >= 2 &&
               json_array_size(multi) <= LI_POST_IMAGES) {
        json_array_foreach(multi, i, img) {
            if (li_take_image(json_object_get(img, "id"), author, ids, ilen) != 0) {
                err = "ERROR :: /content/multiImage/images :: not an image uploaded by the author";
                break;
            }
        }
    } else {
        err = "ERROR :: /content :: expected article, media or multiImage (2-20 images)";
    }
    json_decref(root);
    if (err) li_unprocessable(c->req, err);
    return err ? -1 : 0;
}

static int li_distribution_ok(const char *d) {
    json_t *root = d ? json_loads(d, 0, NULL) : NULL;
    json_t *feed = json_object_get(root, "feedDistribution");
    int ok = json_is_string(feed) && (strcmp(json_string_value(feed), "MAIN_FEED") == 0 ||
                                      strcmp(json_string_value(feed), "NONE") == 0);
    json_decref(root);
    return ok;
}

typedef struct li_dup {
    const char *commentary;
    char *out;
    size_t len;
} li_dup;

static int li_dup_visit(const sandbox_post *p, void *ud) {
    li_dup *d = ud;
    if (p->message == NULL || strcmp(p->message, d->commentary) != 0) return 1;
    snprintf(d->out, d->len, "%s", p->id);
    return 0;
}

/* The URN of the author's post with this commentary ("" when none). */
static void li_find_duplicate(const char *author, const char *commentary, char *out, size_t len) {
    li_dup d = {commentary, out, len};
    out[0] = '\0';
    sandbox_posts_of_page(LI_PLATFORM, author, li_dup_visit, &d);
}

static void li_publish(li_call *c) {
    const char *author = sandbox_req_param(c->req, "author"),
               *commentary = sandbox_req_param(c->req, "commentary"),
               *visibility = sandbox_req_param(c->req, "visibility"),
               *lifecycle = sandbox_req_param(c->req, "lifecycleState");
    char msg[256], bad = 0, source[2100], urn[64], images[LI_POST_IMAGES * 40];
    if (!li_author_ok(author)) {
        li_unprocessable(c->req, "ERROR :: /author :: is not a valid person or organization URN");
        return;
    }
    if (lifecycle == NULL || strcmp(lifecycle, "PUBLISHED") != 0 || visibility == NULL ||
        (strcmp(visibility, "PUBLIC") != 0 && strcmp(visibility, "CONNECTIONS") != 0 &&
         strcmp(visibility, "LOGGED_IN") != 0) ||
        !li_distribution_ok(sandbox_req_param(c->req, "distribution"))) {
        li_unprocessable(c->req, "ERROR :: /lifecycleState, /visibility or /distribution :: "
                                 "missing or invalid");
        return;
    }
    long n = li_commentary_length(commentary ? commentary : "", &bad);
    if (n < 0) {
        snprintf(msg, sizeof(msg),
                 "ERROR :: /commentary :: reserved character '%c' must be escaped", bad);
        li_unprocessable(c->req, msg);
        return;
    }
    if (n > LI_MAX_COMMENTARY) {
        snprintf(msg, sizeof(msg), "ERROR :: /commentary :: length %ld exceeded the maximum of %d",
                 n, LI_MAX_COMMENTARY);
        li_unprocessable(c->req, msg);
        return;
    }
    if (li_content(c, author, source, sizeof(source), images, sizeof(images)) != 0) return;
    snprintf(urn, sizeof(urn), "urn:li:share:%" PRIu64, sandbox_next_object_id());
    sandbox_post d = {.id = urn,
                      .page_id = author,
                      .kind = "post",
                      .message = commentary ? commentary : "",
                      .link = *source ? source : NULL,
                      .photo_id = *images ? images : NULL,
                      .token = c->token,
                      .published = 1,
                      .hung = c->hang};
    sandbox_accept_result r = sandbox_accept_post(c->req, &d);
    switch (r.status) {
    case SANDBOX_ACCEPT_OK:
        if (c->hang) {
            sandbox_hold(c->req);
            return;
        }
        if (sandbox_reply_header(c->req, "x-restli-id", urn) != 0)
            sandbox_log("linkedin: cannot add x-restli-id");
        sandbox_reply_empty(c->req, 201);
        return;
    case SANDBOX_ACCEPT_THROTTLED:
        li_error(c->req, 429, 101, "TOO_MANY_REQUESTS",
                 "Resource level throttle MEMBER DAY limit for calls to this resource is reached.");
        return;
    case SANDBOX_ACCEPT_DUPLICATE: {
        /* LinkedIn names the post this one duplicates. */
        char existing[64] = "";
        li_find_duplicate(author, commentary ? commentary : "", existing, sizeof(existing));
        snprintf(msg, sizeof(msg), "Content is a duplicate of %s", existing);
        li_error(c->req, 422, 0, "DUPLICATE_POST", msg);
        return;
    }
    case SANDBOX_ACCEPT_NOMEM:
    default: li_error(c->req, 500, 0, "INTERNAL_SERVER_ERROR", "Internal Server Error"); return;
    }
}

/* ------------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

static json_t *li_post_json(const sandbox_post *p) {
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:[],s:[]},s:s,s:b,s:I,s:I,s:I}", "id", p->id, "author",
                  p->page_id, "commentary", p->message ? p->message : "", "visibility", "PUBLIC",
                  "distribution", "feedDistribution", "MAIN_FEED", "targetEntities",
                  "thirdPartyDistributionChannels", "lifecycleState", "PUBLISHED",
                  "isReshareDisabledByAuthor", 0, "createdAt", (json_int_t)p->accepted_at_ms,
                  "lastModifiedAt", (json_int_t)p->accepted_at_ms, "publishedAt",
                  (json_int_t)p->accepted_at_ms);
    if (o && p->link &&
        json_object_set_new(o, "content", json_pack("{s:{s:s}}", "article", "source", p->link)))
        sandbox_log("linkedin: cannot add content");
    if (o && p->photo_id && !strchr(p->photo_id, ',') &&
        json_object_set_new(o, "content", json_pack("{s:{s:s}}", "media", "id", p->photo_id)))
        sandbox_log("linkedin: cannot add content");
    return o;
}

typedef struct li_list {
    json_t *elements;
    long start, count, seen;
} li_list;

static int li_list_visit(const sandbox_post *p, void *ud) {
    li_list *l = ud;
    if (!p->published) return 1;
    if (l->seen++ < l->start) return 1;
    if ((long)json_array_size(l->elements) < l->count)
        json_array_append_new(l->elements, li_post_json(p));
    return 1; /* keep counting for paging.total */
}

/* Non-negative integer query parameter (absent = dflt); -1 when bad. */
static long li_int_query(sandbox_request *req, const char *name, long dflt) {
    const char *v = sandbox_req_query(req, name);
    char *end;
    if (v == NULL) return dflt;
    long n = strtol(v, &end, 10);
    return (*v == '\0' || *end != '\0' || n < 0) ? -1 : n;
}

static void li_list_posts(li_call *c) {
    const char *q = sandbox_req_query(c->req, "q"), *author = sandbox_req_query(c->req, "author"),
               *sort = sandbox_req_query(c->req, "sortBy");
    li_list l = {json_array(), li_int_query(c->req, "start", 0), li_int_query(c->req, "count", 10),
                 0};
    if (l.elements == NULL || q == NULL || strcmp(q, "author") != 0 || !li_author_ok(author) ||
        l.start < 0 || l.count < 1 || l.count > 100 ||
        (sort && strcmp(sort, "LAST_MODIFIED") != 0 && strcmp(sort, "CREATED") != 0)) {
        json_decref(l.elements);
        li_error(c->req, 400, 0, "ILLEGAL_ARGUMENT",
                 "Invalid finder parameters: q=author needs author (URN), count 1-100, start");
        return;
    }
    /* Posts are never edited here, so both sort orders are newest first. */
    sandbox_posts_of_page(LI_PLATFORM, author, li_list_visit, &l);
    sandbox_reply_json(c->req, 200,
                       json_pack("{s:o,s:{s:I,s:I,s:[],s:I}}", "elements", l.elements, "paging",
                                 "start", (json_int_t)l.start, "count", (json_int_t)l.count,
                                 "links", "total", (json_int_t)l.seen));
}

static int li_one_visit(const sandbox_post *p, void *ud) {
    *(json_t **)ud = li_post_json(p);
    return 0;
}

static void li_get_post(li_call *c, const char *urn) {
    json_t *o = NULL;
    if (sandbox_post_by_id(LI_PLATFORM, urn, li_one_visit, &o))
        sandbox_reply_json(c->req, 200, o);
    else
        li_error(c->req, 404, 0, "NOT_FOUND", "Post not found");
}

/* ------------------------------------------------------------------------
 * Routing
 * --------------------------------------------------------------------- */

static int li_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "%3A" and friends in a URN path segment (Rest.li 2.0 encodes them). */
static void li_percent_decode(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = li_hex(r[1])) >= 0 && (lo = li_hex(r[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static void li_comment_error(sandbox_request *req, unsigned status, const char *code,
                             const char *message) {
    li_error(req, status, 0, code, message);
}

static void li_handle(sandbox_request *req) {
    const char *path = sandbox_req_path(req) + strlen(LI_PREFIX);
    const char *method = sandbox_req_method(req);
    char one[256] = "";
    li_call c = {req, li_bearer(req), 0};
    int list = strcmp(path, "/rest/posts") == 0;
    if (!list && strncmp(path, "/rest/posts/", 12) == 0 && strlen(path + 12) < sizeof(one) &&
        strchr(path + 12, '/') == NULL) {
        snprintf(one, sizeof(one), "%s", path + 12);
        li_percent_decode(one);
    }
    int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    int images = strcmp(path, "/rest/images") == 0 && post;
    const char *upload = strncmp(path, "/dms-uploads/", 13) == 0 ? path + 13 : NULL;
    if (upload && strcmp(method, "PUT") == 0) {
        /* Upload URLs take the token but no API version. */
        if (li_fault(&c, SANDBOX_OP_WRITE) || li_check_token(&c, SANDBOX_OP_WRITE) != 0) return;
        if (strncmp(upload, "video/", 6) == 0)
            sandbox_li_videos_put(req, upload + 6);
        else if (strncmp(upload, "document/", 9) == 0)
            sandbox_li_documents_put(req, upload + 9);
        else
            li_upload(&c, upload);
        return;
    }
    int videos = strcmp(path, "/rest/videos") == 0 && post;
    /* A post's comments (comments.h): /rest/socialActions/{urn}/comments. */
    char commented[256] = "";
    const char *sa = strncmp(path, "/rest/socialActions/", 20) == 0 ? path + 20 : NULL;
    const char *sa_end = sa ? strchr(sa, '/') : NULL;
    if (sa_end && strcmp(sa_end, "/comments") == 0 && (size_t)(sa_end - sa) < sizeof(commented) &&
        (post || get)) {
        snprintf(commented, sizeof(commented), "%.*s", (int)(sa_end - sa), sa);
        li_percent_decode(commented);
    }
    char video[128] = "";
    if (get && strncmp(path, "/rest/videos/", 13) == 0 && strlen(path + 13) < sizeof(video) &&
        strchr(path + 13, '/') == NULL) {
        snprintf(video, sizeof(video), "%s", path + 13);
        li_percent_decode(video);
    }
    int documents = strcmp(path, "/rest/documents") == 0 && post;
    char document[128] = "";
    if (get && strncmp(path, "/rest/documents/", 16) == 0 && strlen(path + 16) < sizeof(document) &&
        strchr(path + 16, '/') == NULL) {
        snprintf(document, sizeof(document), "%s", path + 16);
        li_percent_decode(document);
    }
    if (!((list && (post || get)) || (*one && get) || images || videos || *video || documents ||
          *document || *commented)) {
        li_error(req, 404, 0, "RESOURCE_NOT_FOUND", "No virtual resource found");
        return;
    }
    if (li_check_version(req) != 0) return;
    sandbox_op op = post ? SANDBOX_OP_WRITE : SANDBOX_OP_READ;
    if (li_fault(&c, op)) return;
    const char *proto = sandbox_req_header(req, "X-Restli-Protocol-Version");
    if (proto == NULL || strcmp(proto, "2.0.0") != 0) {
        li_error(req, 400, 0, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is required");
        return;
    }
    if (!sandbox_req_body_valid(req)) {
        li_error(req, 400, 0, "ILLEGAL_ARGUMENT", "Request body is not valid JSON");
        return;
    }
    if (li_check_token(&c, op) != 0) return;
    if (documents)
        sandbox_li_documents_action(req);
    else if (*document)
        sandbox_li_documents_get(req, document);
    else if (*commented && post)
        sandbox_li_comment_create(req, commented, c.token, c.hang, li_comment_error);
    else if (*commented)
        sandbox_li_comment_list(req, commented, li_comment_error);
    else if (videos)
        sandbox_li_videos_action(req);
    else if (*video)
        sandbox_li_videos_get(req, video);
    else if (images)
        li_initialize_upload(&c);
    else if (post)
        li_publish(&c);
    else if (list)
        li_list_posts(&c);
    else
        li_get_post(&c, one);
}

const sandbox_platform sandbox_linkedin = {LI_PLATFORM, LI_PREFIX "/", li_handle};
