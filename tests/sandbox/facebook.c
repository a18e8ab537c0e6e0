/* facebook.c -- imitation of the Facebook Graph API calls a page publisher
 * makes: publish to a page feed, publish a photo, read the feed back.
 *
 * Paths look like /{version}/{node}[/{edge}]. The version must be
 * v<digits>.<digits>; anything else, and any edge we do not imitate, is
 * answered like Graph does with code 2500 "Unknown path components".
 *
 *   POST /{v}/{page-id}/feed     message, link,
 *                                attached_media=[{"media_fbid":"<unpublished photo>"}]
 *                                                        -> {"id":"P_N"}
 *   POST /{v}/{page-id}/photos   url, caption|message,
 *                                published (default true) -> {"id","post_id"}
 *   GET  /{v}/{page-id}/feed     fields, since, until, limit (newest first)
 *   GET  /{v}/{object-id}        a post (or photo) we accepted
 *   POST /{v}/{page-id}/videos, /video_reels, POST /video-upload/{v}/{id}
 *                                page videos and reels (facebook_videos.c);
 *                                their finish is published here
 *   GET  /{v}/{page-id}/videos, /video_reels   fields, limit: published ones
 *   GET  /{v}/{video-id}?fields=status         upload and processing status
 * The reads are facebook_read.c's, the video upload phases
 * facebook_videos.c's; what the three share is in facebook_graph.h.
 *
 * Parameters come from a form or JSON body, or the query string; the token
 * from access_token or "Authorization: Bearer|OAuth TOKEN". Test tokens
 * choose their failure by prefix: expired*, revoked*, invalid*, noperm*.
 *
 * Checks run in this order, so one request yields one deterministic error:
 * path -> injected fault (5xx / app throttle) -> body -> token -> params
 * -> page rate limit -> duplicate -> accept (answer, or hold if hung).
 * Every error body is {"error":{message,type,code,[error_subcode,]
 * is_transient,fbtrace_id}} with Content-Type application/json.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "comments.h"
#include "facebook_graph.h"
#include "facebook_videos.h"

/* ------------------------------------------------------------------------
 * Errors
 * --------------------------------------------------------------------- */

/* Codes Graph marks as temporary: callers should retry later. */
static int fb_is_transient(int code) {
    return code == 1 || code == 2 || code == 4 || code == 17 || code == 32;
}

static void fb_trace_id(char *out, size_t len) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t r = sandbox_random_aux();
    size_t i;
    for (i = 0; i + 1 < len; i++) {
        out[i] = alphabet[r % (sizeof(alphabet) - 1)];
        r /= sizeof(alphabet) - 1;
        if (r == 0) r = sandbox_random_aux();
    }
    out[i] = '\0';
}

void fb_error(sandbox_request *req, unsigned http, int code, int subcode, const char *message) {
    char trace[12];
    json_t *e = json_object();
    int rc = e ? 0 : -1;
    fb_trace_id(trace, sizeof(trace));
    if (rc == 0) {
        rc |= json_object_set_new(e, "message", json_string(message));
        rc |= json_object_set_new(e, "type", json_string("OAuthException"));
        rc |= json_object_set_new(e, "code", json_integer(code));
        if (subcode) rc |= json_object_set_new(e, "error_subcode", json_integer(subcode));
        rc |= json_object_set_new(e, "is_transient", json_boolean(fb_is_transient(code)));
        rc |= json_object_set_new(e, "fbtrace_id", json_string(trace));
    }
    if (rc != 0) {
        json_decref(e);
        e = NULL;
    }
    sandbox_stats_error(code);
    sandbox_reply_json(req, http, e ? json_pack("{s:o}", "error", e) : NULL);
}

void fb_invalid_param(sandbox_request *req) {
    fb_error(req, 400, 100, 0, "(#100) Invalid parameter");
}

static void fb_header(sandbox_request *req, const char *name, const char *value) {
    if (sandbox_reply_header(req, name, value) != 0)
        sandbox_log("facebook: cannot add header %s", name);
}

/* X-Business-Use-Case-Usage: {"<page>":[{"type":"pages",...}]} */
static void fb_page_usage(fb_call *c, long call_count, long time, long regain_min) {
    json_t *u = json_pack("{s:[{s:s,s:i,s:i,s:i,s:i}]}", c->node, "type", "pages", "call_count",
                          (int)call_count, "total_cputime", (int)time, "total_time", (int)time,
                          "estimated_time_to_regain_access", (int)regain_min);
    char *text = u ? json_dumps(u, JSON_COMPACT) : NULL;
    json_decref(u);
    if (text)
        fb_header(c->req, "X-Business-Use-Case-Usage", text);
    else
        sandbox_log("facebook: cannot build usage header");
    free(text);
}

static void fb_page_throttled(fb_call *c, const sandbox_accept_result *r) {
    long minutes = (long)((r->retry_after_ms + 59999) / 60000);
    fb_page_usage(c, 100, 10, minutes < 1 ? 1 : minutes);
    fb_error(c->req, 400, 32, 0, "Page request limit reached");
}

/* ------------------------------------------------------------------------
 * Request parsing
 * --------------------------------------------------------------------- */

/* A parameter, with empty values treated as absent as Graph does. */
const char *fb_param(const fb_call *c, const char *name) {
    const char *v = sandbox_req_param(c->req, name);
    return v && *v ? v : NULL;
}

static const char *fb_skip_scheme(const char *auth, const char *scheme) {
    size_t n = strlen(scheme);
    if (strncasecmp(auth, scheme, n) != 0 || auth[n] != ' ') return NULL;
    for (auth += n; *auth == ' '; auth++) {
    }
    return *auth ? auth : NULL;
}

static const char *fb_token(const fb_call *c) {
    const char *t = fb_param(c, "access_token");
    const char *auth = sandbox_req_header(c->req, "Authorization");
    if (t || auth == NULL) return t;
    t = fb_skip_scheme(auth, "Bearer");
    return t ? t : fb_skip_scheme(auth, "OAuth");
}

static const struct fb_token_rule {
    const char *prefix;
    int writes_only; /* a missing publish permission does not stop reads */
    unsigned http;
    int code, subcode;
    const char *message;
} fb_token_rules[] = {
    {"expired", 0, 400, 190, 463, "Error validating access token: Session has expired"},
    {"revoked", 0, 400, 190, 460,
     "Error validating access token: The session has been invalidated because the "
     "user changed their password or Facebook has changed the session for security "
     "reasons."},
    {"invalid", 0, 400, 190, 0, "Invalid OAuth access token - Cannot parse access token"},
    {"noperm", 1, 403, 200, 0, "(#200) Requires pages_manage_posts permission"},
};

/* Answers the error and returns -1 when the token does not allow op. */
static int fb_check_token(fb_call *c, sandbox_op op) {
    if (c->token == NULL) {
        fb_error(c->req, 400, 104, 0, "An access token is required to request this resource.");
        return -1;
    }
    for (size_t i = 0; i < sizeof(fb_token_rules) / sizeof(fb_token_rules[0]); i++) {
        const struct fb_token_rule *r = &fb_token_rules[i];
        if (strncmp(c->token, r->prefix, strlen(r->prefix)) != 0) continue;
        if (r->writes_only && op != SANDBOX_OP_WRITE) continue;
        fb_error(c->req, r->http, r->code, r->subcode, r->message);
        return -1;
    }
    /* Tokens of the sandbox's token endpoints (oauth.c): past their life,
     * or never issued. */
    switch (sandbox_token_state_of(FB_PLATFORM, c->token)) {
    case SANDBOX_TOKEN_EXPIRED:
        fb_error(c->req, 400, 190, 463, fb_token_rules[0].message);
        return -1;
    case SANDBOX_TOKEN_INVALID: fb_error(c->req, 400, 190, 0, fb_token_rules[2].message); return -1;
    default: return 0;
    }
}

/* Answers the injected fault, if any, and returns 1; hangs are deferred
 * until the publish is accepted. */
static int fb_fault(fb_call *c, sandbox_op op) {
    switch (sandbox_req_fault(c->req, op)) {
    case SANDBOX_FAULT_5XX: fb_error(c->req, 500, 2, 0, FB_MSG_TRANSIENT); return 1;
    case SANDBOX_FAULT_THROTTLE:
        /* The page's limit, not the app's: a random throttle says nothing
         * about the whole app, and code 4 makes publishers pause every page
         * of the platform (README "Rate limits"). */
        fb_page_usage(c, 100, 20, 1);
        fb_error(c->req, 400, 32, 0, "(#32) Page request limit reached");
        return 1;
    case SANDBOX_FAULT_HANG:
    case SANDBOX_FAULT_CLOSE: c->hang = 1; return 0; /* sandbox_hold() tells them apart */
    case SANDBOX_FAULT_NONE:
    default: return 0;
    }
}

/* Parses "true"/"false"/"1"/"0" (absent = dflt); -1 when it is neither. */
static int fb_bool(const char *v, int dflt) {
    if (v == NULL) return dflt;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) return 1;
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) return 0;
    return -1;
}

static int fb_http_url(const char *url) {
    if (url == NULL) return 0;
    if (strncasecmp(url, "http://", 7) == 0) return url[7] != '\0';
    if (strncasecmp(url, "https://", 8) == 0) return url[8] != '\0';
    return 0;
}

/* Non-negative integer parameter; -1 when present but not a number. */
int fb_int_param(const fb_call *c, const char *name, long long *out) {
    const char *v = fb_param(c, name);
    char *end;
    if (v == NULL) return 0;
    *out = strtoll(v, &end, 10);
    return (*end != '\0' || *out < 0) ? -1 : 1;
}

/* ------------------------------------------------------------------------
 * Publishing
 * --------------------------------------------------------------------- */

/* Runs the store's rules and answers; ok_body is the success response.
 * Returns 1 when the post was stored (answered, held or closed). */
static int fb_accept(fb_call *c, const sandbox_post *draft, json_t *ok_body) {
    sandbox_accept_result r = sandbox_accept_post(c->req, draft);
    if (r.status != SANDBOX_ACCEPT_OK) json_decref(ok_body);
    switch (r.status) {
    case SANDBOX_ACCEPT_OK:
        if (r.limit > 0) /* real Graph reports usage on every call */
            fb_page_usage(c, r.window_count >= r.limit ? 100 : r.window_count * 100 / r.limit, 0,
                          0);
        if (c->hang) {
            json_decref(ok_body);
            sandbox_hold(c->req);
        } else {
            sandbox_reply_json(c->req, 200, ok_body);
        }
        return 1;
    case SANDBOX_ACCEPT_THROTTLED: fb_page_throttled(c, &r); return 0;
    case SANDBOX_ACCEPT_DUPLICATE:
        fb_error(c->req, 400, 506, 0, "Duplicate status message");
        return 0;
    case SANDBOX_ACCEPT_NOMEM:
    default: fb_error(c->req, 500, 1, 0, "An unknown error has occurred."); return 0;
    }
}

typedef struct fb_attached {
    const char *page;
    int ok;          /* an unpublished photo of this page */
    char *first_url; /* the first photo's URL, for the post record */
} fb_attached;

static int fb_attached_visit(const sandbox_post *p, void *ud) {
    fb_attached *a = ud;
    a->ok = !p->published && p->photo_url && strcmp(p->page_id, a->page) == 0;
    if (a->ok && a->first_url == NULL) a->first_url = strdup(p->photo_url);
    return 0;
}

/* attached_media=[{"media_fbid":"<id>"},...] must name unpublished photos
 * of this page. Returns how many (0 when absent), -1 when invalid. */
static int fb_attached_media(fb_call *c, fb_attached *a) {
    const char *v = fb_param(c, "attached_media");
    json_t *arr = v ? json_loads(v, 0, NULL) : NULL;
    size_t i;
    json_t *item;
    int n = 0;
    if (v == NULL) return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0) n = -1;
    json_array_foreach(arr, i, item) {
        json_t *id = json_object_get(item, "media_fbid");
        a->ok = 0;
        if (n < 0 || !json_is_string(id) ||
            !sandbox_post_by_id(FB_PLATFORM, json_string_value(id), fb_attached_visit, a) ||
            !a->ok) {
            n = -1;
            break;
        }
        n++;
    }
    json_decref(arr);
    return n;
}

static void fb_publish_feed(fb_call *c) {
    const char *message = fb_param(c, "message"), *link = fb_param(c, "link");
    char id[FB_ID_MAX];
    fb_attached a = {c->node, 0, NULL};
    int photos = fb_attached_media(c, &a);
    if (photos < 0) {
        free(a.first_url);
        fb_error(c->req, 400, 100, 0,
                 "(#100) attached_media must name unpublished photos of this page");
        return;
    }
    if (message == NULL && link == NULL && photos == 0) {
        fb_error(c->req, 400, 100, 0, "(#100) Param message or link is required");
        return;
    }
    snprintf(id, sizeof(id), "%s_%" PRIu64, c->node, sandbox_next_object_id());
    sandbox_post d = {.id = id,
                      .page_id = c->node,
                      .kind = photos ? "multi_photo" : "feed",
                      .message = message,
                      .link = link,
                      .photo_url = a.first_url,
                      .token = c->token,
                      .published = 1,
                      .hung = c->hang};
    fb_accept(c, &d, json_pack("{s:s}", "id", id));
    free(a.first_url);
}

/* An unpublished photo is stored (and counts against the page limit) but
 * is not a post: no post_id, not in the feed, no duplicate check. */
static void fb_publish_photo(fb_call *c) {
    const char *url = fb_param(c, "url"), *caption = fb_param(c, "caption");
    int published = fb_bool(fb_param(c, "published"), 1);
    char photo_id[32], post_id[FB_ID_MAX];
    if (!fb_http_url(url) || published < 0) {
        fb_invalid_param(c->req);
        return;
    }
    if (caption == NULL) caption = fb_param(c, "message");
    if (!published) c->hang = 0; /* only publishing calls hang: an upload is not a post */
    snprintf(photo_id, sizeof(photo_id), "%" PRIu64, sandbox_next_object_id());
    snprintf(post_id, sizeof(post_id), "%s_%" PRIu64, c->node, sandbox_next_object_id());
    sandbox_post d = {.id = published ? post_id : photo_id,
                      .page_id = c->node,
                      .kind = "photo",
                      .message = caption,
                      .photo_url = url,
                      .photo_id = photo_id,
                      .token = c->token,
                      .published = published,
                      .hung = c->hang};
    fb_accept(c, &d,
              published ? json_pack("{s:s,s:s}", "id", photo_id, "post_id", post_id)
                        : json_pack("{s:s}", "id", photo_id));
}

/* A page video's or reel's upload phases (facebook_videos.c); the finish
 * is published here, under the same rules as any post. Finishing an upload
 * that is published already answers success again: a video id becomes one
 * video at most. */
static void fb_publish_upload(fb_call *c, int reel) {
    fb_video_finish fin;
    if (sandbox_fb_videos_post(c->req, c->version, c->node, reel, &fin)) return;
    if (fin.already) {
        sandbox_reply_json(c->req, 200, json_pack("{s:b}", "success", 1));
        return;
    }
    sandbox_post d = {.id = fin.video_id,
                      .page_id = c->node,
                      .kind = reel ? "reel" : "video",
                      .message = fin.description,
                      .photo_id = fin.video_id,
                      .token = c->token,
                      .published = 1,
                      .hung = c->hang};
    sandbox_fb_videos_published(fin.video_id, fb_accept(c, &d, json_pack("{s:b}", "success", 1)));
}

static void fb_publish_video(fb_call *c) { fb_publish_upload(c, 0); }
static void fb_publish_reel(fb_call *c) { fb_publish_upload(c, 1); }

/* ------------------------------------------------------------------------
 * Routing
 * --------------------------------------------------------------------- */

/* A post's comments (comments.h): the Page's first comment. */
static void fb_comment_create(fb_call *c) {
    sandbox_comment_create(c->req, FB_PLATFORM, c->node, c->token, c->hang, fb_error);
}
static void fb_comment_list(fb_call *c) {
    sandbox_comment_list(c->req, FB_PLATFORM, c->node, "message", "created_time", fb_error);
}

static const struct fb_route {
    const char *edge; /* NULL: the node itself */
    const char *method;
    sandbox_op op;
    void (*fn)(fb_call *c);
} fb_routes[] = {
    {"feed", "POST", SANDBOX_OP_WRITE, fb_publish_feed},
    {"feed", "GET", SANDBOX_OP_READ, fb_read_feed},
    {"photos", "POST", SANDBOX_OP_WRITE, fb_publish_photo},
    {"videos", "POST", SANDBOX_OP_WRITE, fb_publish_video},
    {"videos", "GET", SANDBOX_OP_READ, fb_read_videos},
    {"video_reels", "POST", SANDBOX_OP_WRITE, fb_publish_reel},
    {"video_reels", "GET", SANDBOX_OP_READ, fb_read_reels},
    {"comments", "POST", SANDBOX_OP_WRITE, fb_comment_create},
    {"comments", "GET", SANDBOX_OP_READ, fb_comment_list},
    {NULL, "GET", SANDBOX_OP_READ, fb_read_object},
};

static int fb_same_edge(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The route for (edge, method); *edge_known tells 2500 from "unsupported". */
static const struct fb_route *fb_route_find(const fb_call *c, const char *method, int *edge_known) {
    *edge_known = 0;
    for (size_t i = 0; i < sizeof(fb_routes) / sizeof(fb_routes[0]); i++) {
        if (!fb_same_edge(fb_routes[i].edge, c->edge)) continue;
        *edge_known = 1;
        if (strcmp(fb_routes[i].method, method) == 0) return &fb_routes[i];
    }
    return NULL;
}

static int fb_version_ok(const char *v) {
    size_t major, minor;
    if (v[0] != 'v') return 0;
    major = strspn(v + 1, "0123456789");
    if (major == 0 || v[1 + major] != '.') return 0;
    minor = strspn(v + 2 + major, "0123456789");
    return minor > 0 && v[2 + major + minor] == '\0';
}

/* Splits path into at most max segments in buf; -1 if longer. */
static int fb_split(const char *path, char *buf, size_t buflen, char **seg, int max) {
    char *save = NULL, *p;
    int n = 0;
    if (strlen(path) >= buflen) return -1;
    strcpy(buf, path);
    for (p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (n == max) return -1;
        seg[n++] = p;
    }
    return n;
}

static void fb_unknown_path(sandbox_request *req, const char *rest) {
    char msg[FB_PATH_MAX + 64];
    snprintf(msg, sizeof(msg), "Unknown path components: %.*s", FB_PATH_MAX, rest);
    fb_error(req, 400, 2500, 0, msg);
}

/* Graph's wording for a known edge called with the wrong method. */
static void fb_unsupported(sandbox_request *req, const char *method) {
    char lower[16], msg[64];
    size_t i;
    for (i = 0; method[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    lower[i] = '\0';
    snprintf(msg, sizeof(msg), "Unsupported %s request.", lower);
    fb_error(req, 400, 100, 0, msg);
}

/* rupload (rupload.facebook.com/video-upload/{v}/{video-id}): a reel's
 * bytes; the token as "Authorization: OAuth". */
static void fb_rupload(fb_call *c, const char *video_id) {
    if (fb_fault(c, SANDBOX_OP_WRITE)) return;
    c->token = fb_token(c);
    if (fb_check_token(c, SANDBOX_OP_WRITE) != 0) return;
    sandbox_fb_videos_rupload(c->req, video_id);
}

static void fb_handle(sandbox_request *req) {
    char buf[FB_PATH_MAX], edge_path[FB_PATH_MAX + 1], *seg[FB_MAX_SEGMENTS];
    const char *method = sandbox_req_method(req);
    int n = fb_split(sandbox_req_path(req), buf, sizeof(buf), seg, FB_MAX_SEGMENTS);
    int edge_known;
    fb_call c = {req, NULL, NULL, NULL, NULL, 0};
    if (n == 3 && strcmp(seg[0], "video-upload") == 0 && fb_version_ok(seg[1]) &&
        strcmp(method, "POST") == 0) {
        fb_rupload(&c, seg[2]);
        return;
    }
    if (n < 2 || !fb_version_ok(seg[0])) {
        fb_unknown_path(req, sandbox_req_path(req));
        return;
    }
    c.version = seg[0];
    c.node = seg[1];
    c.edge = n == 3 ? seg[2] : NULL;
    const struct fb_route *r = fb_route_find(&c, method, &edge_known);
    if (!edge_known) {
        snprintf(edge_path, sizeof(edge_path), "/%s", c.edge ? c.edge : "");
        fb_unknown_path(req, edge_path);
        return;
    }
    if (r == NULL) {
        fb_unsupported(req, method);
        return;
    }
    if (fb_fault(&c, r->op)) return;
    if (!sandbox_req_body_valid(req)) {
        fb_invalid_param(req);
        return;
    }
    c.token = fb_token(&c);
    if (fb_check_token(&c, r->op) != 0) return;
    r->fn(&c);
}

const sandbox_platform sandbox_facebook = {FB_PLATFORM, "/", fb_handle};
