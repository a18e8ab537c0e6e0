/* containers.c -- see containers.h.
 *
 * Checks run in this order, so one request yields one deterministic error:
 * path -> injected fault (5xx / app throttle) -> body -> token -> params
 * -> (publish) container state -> 24 h quota -> page rate limit ->
 * duplicate -> accept (answer, or hold if the publish drew a hang).
 * A hang is honoured only by the publish call: creating a container is not
 * a post, and the ambiguous case we imitate is "the post went live and the
 * answer never came". */
#include "containers.h"
#include "comments.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SB_PATH_MAX 512
#define SB_ID_MAX 32
#define SB_MAX_CHILDREN 20
#define SB_DEFAULT_LIMIT 25
#define SB_MAX_LIMIT 100
#define SB_DAY_MS (24LL * 3600 * 1000)

typedef enum sb_fate { SB_FATE_OK = 0, SB_FATE_ERROR, SB_FATE_EXPIRE } sb_fate;

typedef struct sb_container {
    const sandbox_container_api *api;
    char id[SB_ID_MAX];
    char post_id[SB_ID_MAX]; /* once published */
    char *user, *text, *media_url;
    char *reply_to;   /* reply_to_id (api->replies): the post this one answers */
    const char *kind; /* static: "image", "reel", "video", "carousel", "text", "story" */
    int is_item;
    sb_fate fate;
    int64_t ready_at_ms; /* wall clock */
} sb_container;

/* Every container ever made; the polling thread is the only user. */
static struct {
    sb_container **v;
    size_t len, cap;
} sb_store;

typedef struct sb_call {
    const sandbox_container_api *api;
    sandbox_request *req;
    const char *version, *node, *edge;
    const char *token;
    int hang;
} sb_call;

/* ------------------------------------------------------------------------
 * Errors
 * --------------------------------------------------------------------- */

static void sb_error_full(sandbox_request *req, unsigned http, int code, int subcode,
                          const char *message, const char *user_msg) {
    char trace[24];
    snprintf(trace, sizeof(trace), "A%016" PRIx64, sandbox_random_aux());
    int transient = code == 1 || code == 2 || code == 4 || code == 17 || code == 32;
    json_t *e = json_pack("{s:s,s:s,s:i,s:b,s:s}", "message", message, "type", "OAuthException",
                          "code", code, "is_transient", transient, "fbtrace_id", trace);
    if (e && subcode) json_object_set_new(e, "error_subcode", json_integer(subcode));
    if (e && user_msg) json_object_set_new(e, "error_user_msg", json_string(user_msg));
    sandbox_stats_error(code);
    sandbox_reply_json(req, http, e ? json_pack("{s:o}", "error", e) : NULL);
}

static void sb_error(sandbox_request *req, unsigned http, int code, int subcode,
                     const char *message) {
    sb_error_full(req, http, code, subcode, message, NULL);
}

static void sb_invalid(sandbox_request *req, const char *message) {
    sb_error(req, 400, 100, 0, message);
}

static void sb_header(sandbox_request *req, const char *name, const char *value) {
    if (sandbox_reply_header(req, name, value) != 0)
        sandbox_log("containers: cannot add header %s", name);
}

/* ------------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------- */

static const char *sb_param(const sb_call *c, const char *name) {
    const char *v = sandbox_req_param(c->req, name);
    return v && *v ? v : NULL;
}

static int sb_http_url(const char *url) {
    if (url == NULL) return 0;
    if (strncasecmp(url, "http://", 7) == 0) return url[7] != '\0';
    if (strncasecmp(url, "https://", 8) == 0) return url[8] != '\0';
    return 0;
}

/* UTF-8 code points (bytes that do not start a sequence are not counted). */
static long sb_chars(const char *s) {
    long n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static const char *sb_token(const sb_call *c) {
    const char *t = sb_param(c, "access_token");
    const char *auth = sandbox_req_header(c->req, "Authorization");
    if (t || auth == NULL) return t;
    if (strncasecmp(auth, "Bearer ", 7) != 0) return NULL;
    for (auth += 7; *auth == ' '; auth++) {
    }
    return *auth ? auth : NULL;
}

static json_t *sb_time(int64_t ms) {
    char buf[32];
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S+0000", &tm) == 0)
        return NULL;
    return json_string(buf);
}

static json_t *sb_permalink(const sb_call *c, const char *id) {
    char buf[SB_PATH_MAX];
    snprintf(buf, sizeof(buf), "%s%s", c->api->permalink_prefix, id);
    return json_string(buf);
}

/* ------------------------------------------------------------------------
 * Container table
 * --------------------------------------------------------------------- */

static sb_container *sb_find(const sandbox_container_api *api, const char *id) {
    for (size_t i = sb_store.len; i > 0; i--)
        if (sb_store.v[i - 1]->api == api && strcmp(sb_store.v[i - 1]->id, id) == 0)
            return sb_store.v[i - 1];
    return NULL;
}

static int sb_exists_visit(const sandbox_post *p, void *ud) {
    snprintf(ud, SB_ID_MAX, "%s", p->page_id);
    return 0;
}

static void sb_container_free(sb_container *k) {
    if (k == NULL) return;
    free(k->user);
    free(k->text);
    free(k->media_url);
    free(k->reply_to);
    free(k);
}

static int sb_store_add(sb_container *k) {
    if (sb_store.len == sb_store.cap) {
        size_t cap = sb_store.cap ? sb_store.cap * 2 : 256;
        sb_container **v = realloc(sb_store.v, cap * sizeof(*v));
        if (v == NULL) return -1;
        sb_store.v = v;
        sb_store.cap = cap;
    }
    sb_store.v[sb_store.len++] = k;
    return 0;
}

static const char *sb_status(const sb_container *k, int64_t now) {
    if (k->post_id[0]) return "PUBLISHED";
    if (now < k->ready_at_ms) return "IN_PROGRESS";
    if (k->fate == SB_FATE_ERROR) return "ERROR";
    if (k->fate == SB_FATE_EXPIRE) return "EXPIRED";
    return "FINISHED";
}

static const char *sb_status_reason(const sb_container *k, const char *status) {
    if (strcmp(status, "ERROR") == 0)
        return "Error: Media download has failed. The media URI doesn't meet our requirements.";
    if (strcmp(status, "EXPIRED") == 0) return "Expired: the container was not published in time.";
    if (strcmp(status, "IN_PROGRESS") == 0) return "In Progress: Media is still being processed.";
    (void)k;
    return "Finished: Media has been uploaded and it is complete.";
}

/* Fate by the media URL, the way tests choose it. */
static sb_fate sb_fate_of(const char *url) {
    if (url && strstr(url, "error")) return SB_FATE_ERROR;
    if (url && strstr(url, "expire")) return SB_FATE_EXPIRE;
    return SB_FATE_OK;
}

/* ------------------------------------------------------------------------
 * Creating containers
 * --------------------------------------------------------------------- */

/* children=a,b,c: every one an item container of this user. The carousel
 * is as ready as its slowest item and fails as its worst. */
static int sb_take_children(sb_call *c, sb_container *k, const char *list) {
    char buf[SB_MAX_CHILDREN * SB_ID_MAX], *save = NULL;
    int n = 0;
    if (list == NULL || strlen(list) >= sizeof(buf)) return -1;
    strcpy(buf, list);
    for (char *id = strtok_r(buf, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        sb_container *child = sb_find(c->api, id);
        if (child == NULL || !child->is_item || strcmp(child->user, c->node) != 0) return -1;
        if (++n > SB_MAX_CHILDREN) return -1;
        if (child->ready_at_ms > k->ready_at_ms) k->ready_at_ms = child->ready_at_ms;
        if (child->fate > k->fate) k->fate = child->fate;
        if (k->media_url == NULL && child->media_url) k->media_url = strdup(child->media_url);
    }
    return n >= 2 ? 0 : -1;
}

/* Fills k from media_type and its parameters; answers and returns -1 when
 * they do not make a container. */
static int sb_parse_media(sb_call *c, sb_container *k) {
    const sandbox_container_api *api = c->api;
    const char *type = sb_param(c, "media_type");
    const char *image = sb_param(c, "image_url"), *video = sb_param(c, "video_url");
    if (type == NULL) type = api->default_type;
    if (type == NULL) {
        sb_invalid(c->req, "(#100) The parameter media_type is required.");
        return -1;
    }
    if (strcmp(type, "IMAGE") == 0) {
        k->kind = "image";
        k->media_url = sb_http_url(image) ? strdup(image) : NULL;
        if (k->media_url == NULL) goto bad_url;
    } else if (strcmp(type, api->video_type) == 0 || (k->is_item && strcmp(type, "VIDEO") == 0)) {
        k->kind = k->is_item ? "video" : api->video_kind;
        k->media_url = sb_http_url(video) ? strdup(video) : NULL;
        if (k->media_url == NULL) goto bad_url;
    } else if (strcmp(type, "CAROUSEL") == 0 && !k->is_item) {
        k->kind = "carousel";
        if (sb_take_children(c, k, sb_param(c, "children")) != 0) {
            sb_invalid(c->req, "(#100) children must name 2 or more carousel item containers "
                               "of this account");
            return -1;
        }
    } else if (strcmp(type, "STORIES") == 0 && api->stories && !k->is_item) {
        /* Instagram drops a story's caption; the sandbox refuses one, so a
         * client that sends text it believes is shown is caught. */
        if (k->text != NULL) {
            sb_invalid(c->req, "(#100) A story takes no caption");
            return -1;
        }
        const char *url = video ? video : image;
        k->kind = "story";
        k->media_url = sb_http_url(url) && !(video && image) ? strdup(url) : NULL;
        if (k->media_url == NULL) goto bad_url;
    } else if (strcmp(type, "TEXT") == 0 && api->text_posts && !k->is_item) {
        k->kind = "text";
        if (k->text == NULL) {
            sb_invalid(c->req, "(#100) The parameter text is required for a TEXT post.");
            return -1;
        }
    } else {
        sb_invalid(c->req, "(#100) Param media_type must be one of the supported values");
        return -1;
    }
    if (k->fate == SB_FATE_OK) k->fate = sb_fate_of(k->media_url);
    return 0;
bad_url:
    sb_invalid(c->req, "(#100) The media URL must be an http(s) URL");
    return -1;
}

static void sb_create(sb_call *c) {
    const char *text = sb_param(c, c->api->text_key);
    const char *item = sb_param(c, "is_carousel_item");
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    if (text && sb_chars(text) > c->api->max_text) {
        char msg[128];
        snprintf(msg, sizeof(msg), "(#100) The %s is longer than %ld characters", c->api->text_key,
                 c->api->max_text);
        sb_invalid(c->req, msg);
        return;
    }
    sb_container *ct = calloc(1, sizeof(*ct));
    if (ct == NULL) goto oom;
    ct->api = c->api;
    ct->is_item = item && (strcmp(item, "true") == 0 || strcmp(item, "1") == 0);
    ct->user = strdup(c->node);
    ct->text = text ? strdup(text) : NULL;
    ct->ready_at_ms = sandbox_req_received_ms(c->req);
    if (ct->user == NULL || (text && ct->text == NULL)) goto oom;
    const char *reply = c->api->replies ? sb_param(c, "reply_to_id") : NULL;
    char parent_page[SB_ID_MAX] = "";
    if (reply && (strlen(reply) >= SB_ID_MAX ||
                  !sandbox_post_by_id(c->api->platform, reply, sb_exists_visit, parent_page))) {
        sb_container_free(ct);
        sb_error(c->req, 400, 100, 0, "(#100) The parameter reply_to_id is invalid");
        return;
    }
    if (reply && (ct->reply_to = strdup(reply)) == NULL) goto oom;
    if (sb_parse_media(c, ct) != 0) {
        sb_container_free(ct);
        return;
    }
    /* Text needs no fetching: only media containers take time. */
    if (strcmp(ct->kind, "text") != 0) ct->ready_at_ms += k.container_ready_ms;
    snprintf(ct->id, sizeof(ct->id), "%" PRIu64, sandbox_next_object_id());
    if (sb_store_add(ct) != 0) goto oom;
    sandbox_reply_json(c->req, 200, json_pack("{s:s}", "id", ct->id));
    return;
oom:
    sb_container_free(ct);
    sb_error(c->req, 500, 1, 0, "An unknown error has occurred.");
}

/* ------------------------------------------------------------------------
 * Publishing
 * --------------------------------------------------------------------- */

typedef struct sb_count {
    int64_t since;
    long n;
} sb_count;

static int sb_count_visit(const sandbox_post *p, void *ud) {
    sb_count *q = ud;
    if (p->accepted_at_ms <= q->since) return 0; /* newest first: the rest is older */
    if (p->published) q->n++;
    return 1;
}

/* Posts of the account in the rolling quota window (24 h unless a test
 * shortens it). */
static long sb_quota_window_ms(void) {
    sandbox_knobs kn;
    sandbox_knobs_get(&kn);
    return kn.quota_window_ms > 0 ? kn.quota_window_ms : SB_DAY_MS;
}

static long sb_quota_usage(const sb_call *c) {
    sb_count q = {sandbox_req_received_ms(c->req) - sb_quota_window_ms(), 0};
    sandbox_posts_of_page(c->api->platform, c->node, sb_count_visit, &q);
    return q.n;
}

/* A second publish of a container: what a client sees when a proxy or a
 * library resent the call that already went through. DESIGN.md gives no
 * code for it; a plain Graph 400 with the platform's words. */
static void sb_already_published(sandbox_request *req) {
    sb_error(req, 400, 100, 0, "(#100) The container has already been published");
}

/* publish_error_after_commit_rate: the post is live, the answer an error.
 * Half a 5xx, half the "already published" a resent call would draw. */
static int sb_error_after_commit(sb_call *c, const sandbox_knobs *kn) {
    uint64_t r = sandbox_random_aux();
    if ((double)(r >> 11) * 0x1.0p-53 >= kn->publish_error_after_commit_rate) return 0;
    sandbox_stats_error_after_commit();
    if (r & 1)
        sb_already_published(c->req);
    else
        sb_error(c->req, 500, 2, 0,
                 "An unexpected error has occurred. Please retry your request later.");
    return 1;
}

/* A container that cannot be published answers why; returns -1 then. */
static int sb_check_publishable(sb_call *c, const sb_container *k) {
    char msg[160];
    if (k == NULL || k->is_item || strcmp(k->user, c->node) != 0) {
        sb_error(c->req, 400, 100, 33,
                 "(#100) creation_id does not name a container of this "
                 "account");
        return -1;
    }
    const char *status = sb_status(k, sandbox_req_received_ms(c->req));
    if (strcmp(status, "FINISHED") == 0) return 0;
    if (strcmp(status, "PUBLISHED") == 0)
        sb_already_published(c->req);
    else if (strcmp(status, "IN_PROGRESS") == 0)
        sb_error_full(c->req, 400, 9007, 2207027, "Media ID is not available",
                      "The media is not ready for publishing, please wait for a moment");
    else {
        snprintf(msg, sizeof(msg), "(#100) The container is %s and cannot be published", status);
        sb_error(c->req, 400, 100, 0, msg);
    }
    return -1;
}

static void sb_throttled(sb_call *c, const sandbox_accept_result *r) {
    char usage[SB_PATH_MAX + 160];
    long minutes = (long)((r->retry_after_ms + 59999) / 60000);
    snprintf(usage, sizeof(usage),
             "{\"%s\":[{\"type\":\"%s\",\"call_count\":100,\"total_cputime\":10,"
             "\"total_time\":10,\"estimated_time_to_regain_access\":%ld}]}",
             c->node, c->api->platform, minutes < 1 ? 1 : minutes);
    sb_header(c->req, "X-Business-Use-Case-Usage", usage);
    sb_error(c->req, 400, 32, 0, "Page request limit reached");
}

static void sb_publish(sb_call *c) {
    const char *creation = sb_param(c, "creation_id");
    sandbox_knobs kn;
    sandbox_knobs_get(&kn);
    if (creation == NULL) {
        sb_invalid(c->req, "(#100) The parameter creation_id is required");
        return;
    }
    sb_container *k = sb_find(c->api, creation);
    if (sb_check_publishable(c, k) != 0) return;
    long quota = c->api->quota(&kn);
    if (sb_quota_usage(c) >= quota) {
        sandbox_stats_quota_refusal();
        sb_error_full(c->req, 400, 9, 2207042, "Application request limit reached",
                      "The account has reached its publishing limit for the last 24 hours");
        return;
    }
    char post_id[SB_ID_MAX];
    snprintf(post_id, sizeof(post_id), "%" PRIu64, sandbox_next_object_id());
    sandbox_post d = {.id = post_id,
                      .page_id = c->node,
                      .kind = k->kind,
                      .message = k->text,
                      .photo_url = k->media_url,
                      .photo_id = k->id, /* the container: GET by either id finds the post */
                      .token = c->token,
                      .in_reply_to = k->reply_to,
                      .published = 1,
                      .hung = c->hang};
    sandbox_accept_result r = sandbox_accept_post(c->req, &d);
    switch (r.status) {
    case SANDBOX_ACCEPT_OK:
        snprintf(k->post_id, sizeof(k->post_id), "%s", post_id);
        if (c->hang)
            sandbox_hold(c->req);
        else if (sb_error_after_commit(c, &kn))
            return;
        else
            sandbox_reply_json(c->req, 200, json_pack("{s:s}", "id", post_id));
        return;
    case SANDBOX_ACCEPT_THROTTLED: sb_throttled(c, &r); return;
    case SANDBOX_ACCEPT_DUPLICATE:
        sb_error(c->req, 400, 506, 0, "Duplicate post: the same text was already published");
        return;
    case SANDBOX_ACCEPT_NOMEM:
    default: sb_error(c->req, 500, 1, 0, "An unknown error has occurred."); return;
    }
}

static void sb_limit(sb_call *c) {
    sandbox_knobs kn;
    sandbox_knobs_get(&kn);
    json_t *entry = json_pack("{s:I,s:{s:I,s:I}}", "quota_usage", (json_int_t)sb_quota_usage(c),
                              "config", "quota_total", (json_int_t)c->api->quota(&kn),
                              "quota_duration", (json_int_t)(sb_quota_window_ms() / 1000));
    sandbox_reply_json(c->req, 200, entry ? json_pack("{s:[o]}", "data", entry) : NULL);
}

/* ------------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

/* The fields a list or object read may ask for; unknown ones are an error,
 * as in Graph. Returns 0 and answers when one is unknown. */
static int sb_fields_ok(sb_call *c, const char *const *known) {
    const char *s = sb_param(c, "fields");
    while (s && *s) {
        s += strspn(s, ",");
        size_t len = strcspn(s, ",");
        int found = len == 0;
        for (size_t i = 0; known[i] && !found; i++)
            found = strlen(known[i]) == len && strncmp(known[i], s, len) == 0;
        if (!found) {
            char msg[128];
            snprintf(msg, sizeof(msg), "(#100) Tried accessing nonexisting field (%.*s)",
                     (int)(len > 64 ? 64 : len), s);
            sb_invalid(c->req, msg);
            return 0;
        }
        s += len;
    }
    return 1;
}

static int sb_wants(const sb_call *c, const char *field) {
    const char *s = sb_param(c, "fields");
    size_t n = strlen(field);
    if (s == NULL) return strcmp(field, "id") == 0;
    for (const char *p = s; (p = strstr(p, field)) != NULL; p += n)
        if ((p == s || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

static json_t *sb_post_json(const sb_call *c, const sandbox_post *p) {
    json_t *o = json_pack("{s:s}", "id", p->id);
    if (o == NULL) return NULL;
    if (sb_wants(c, c->api->text_key) && p->message)
        json_object_set_new(o, c->api->text_key, json_string(p->message));
    if (sb_wants(c, "timestamp")) json_object_set_new(o, "timestamp", sb_time(p->accepted_at_ms));
    if (sb_wants(c, "permalink")) json_object_set_new(o, "permalink", sb_permalink(c, p->id));
    if (sb_wants(c, "media_type")) json_object_set_new(o, "media_type", json_string(p->kind));
    if (sb_wants(c, "media_url") && p->photo_url)
        json_object_set_new(o, "media_url", json_string(p->photo_url));
    return o;
}

typedef struct sb_list_query {
    const sb_call *c;
    json_t *data;
    const char *after; /* cursor: list posts older than this id */
    int skipping;
    size_t limit;
    int more;
    char last[SB_ID_MAX];
} sb_list_query;

static int sb_list_visit(const sandbox_post *p, void *ud) {
    sb_list_query *q = ud;
    if (!p->published) return 1;
    if (q->skipping) {
        q->skipping = strcmp(p->id, q->after) != 0;
        return 1;
    }
    if (json_array_size(q->data) == q->limit) {
        q->more = 1;
        return 0;
    }
    json_array_append_new(q->data, sb_post_json(q->c, p));
    snprintf(q->last, sizeof(q->last), "%s", p->id);
    return 1;
}

static const char *const sb_post_fields[] = {"id",        "caption",    "text",      "timestamp",
                                             "permalink", "media_type", "media_url", NULL};

static void sb_list(sb_call *c) {
    const char *limit_s = sb_param(c, "limit");
    long limit = limit_s ? strtol(limit_s, NULL, 10) : SB_DEFAULT_LIMIT;
    if (!sb_fields_ok(c, sb_post_fields)) return;
    if (limit < 1) {
        sb_invalid(c->req, "(#100) Param limit must be a positive number");
        return;
    }
    sb_list_query q = {c,
                       json_array(),
                       sb_param(c, "after"),
                       0,
                       (size_t)(limit > SB_MAX_LIMIT ? SB_MAX_LIMIT : limit),
                       0,
                       ""};
    q.skipping = q.after != NULL;
    if (q.data == NULL) {
        sb_error(c->req, 500, 1, 0, "An unknown error has occurred.");
        return;
    }
    sandbox_posts_of_page(c->api->platform, c->node, sb_list_visit, &q);
    json_t *paging = json_object();
    if (q.more && paging) {
        /* Absolute, like Graph's: the client follows it as it is. */
        char next[SB_PATH_MAX * 2];
        const char *host = sandbox_req_header(c->req, "Host");
        const char *fields = sb_param(c, "fields");
        snprintf(next, sizeof(next), "http://%s/%s/%s/%s/%s?fields=%s&limit=%ld&after=%s",
                 host ? host : "localhost", c->api->platform, c->version, c->node, c->edge,
                 fields ? fields : "id", limit, q.last);
        json_object_set_new(paging, "next", json_string(next));
        json_object_set_new(paging, "cursors", json_pack("{s:s}", "after", q.last));
    }
    sandbox_reply_json(c->req, 200, json_pack("{s:o,s:o}", "data", q.data, "paging", paging));
}

typedef struct sb_replies_query {
    const sb_call *c;
    json_t *data;
} sb_replies_query;

static int sb_reply_visit(const sandbox_post *p, void *ud) {
    sb_replies_query *q = ud;
    if (p->published && p->in_reply_to && strcmp(p->in_reply_to, q->c->node) == 0)
        json_array_append_new(q->data, sb_post_json(q->c, p));
    return 1;
}

/* GET /{post}/replies: the replies of one post (those its author's page
 * holds: the sandbox's replies are the publisher's own). */
static void sb_replies(sb_call *c) {
    char page[SB_ID_MAX] = "";
    if (!sb_fields_ok(c, sb_post_fields)) return;
    if (strlen(c->node) >= SB_ID_MAX ||
        !sandbox_post_by_id(c->api->platform, c->node, sb_exists_visit, page)) {
        sb_error(c->req, 400, 100, 33, "Unsupported get request. Object does not exist");
        return;
    }
    sb_replies_query q = {c, json_array()};
    if (q.data == NULL) {
        sb_error(c->req, 500, 1, 0, "An unknown error has occurred.");
        return;
    }
    sandbox_posts_of_page(c->api->platform, page, sb_reply_visit, &q);
    sandbox_reply_json(c->req, 200, json_pack("{s:o,s:{}}", "data", q.data, "paging"));
}

typedef struct sb_object_query {
    const sb_call *c;
    json_t *obj;
} sb_object_query;

static int sb_post_visit(const sandbox_post *p, void *ud) {
    sb_object_query *o = ud;
    o->obj = sb_post_json(o->c, p);
    return 0;
}

static const char *const sb_object_fields[] = {
    "id",        "caption", "text",        "timestamp",     "permalink", "media_type",
    "media_url", "status",  "status_code", "error_message", "username",  NULL};

/* A container's status, a post, or the account itself. */
static void sb_object(sb_call *c) {
    if (!sb_fields_ok(c, sb_object_fields)) return;
    sb_container *k = sb_find(c->api, c->node);
    if (k && k->post_id[0] == '\0') {
        const char *status = sb_status(k, sandbox_req_received_ms(c->req));
        json_t *o = json_pack("{s:s,s:s}", "id", k->id, c->api->status_key, status);
        /* Instagram's "status" always explains; Threads' error_message only errors. */
        int explain = strcmp(status, "ERROR") == 0 || (sb_wants(c, c->api->reason_key) &&
                                                       strcmp(c->api->reason_key, "status") == 0);
        if (o && explain)
            json_object_set_new(o, c->api->reason_key, json_string(sb_status_reason(k, status)));
        sandbox_reply_json(c->req, 200, o);
        return;
    }
    sb_object_query q = {c, NULL};
    if (sandbox_post_by_id(c->api->platform, k ? k->post_id : c->node, sb_post_visit, &q)) {
        /* A published container's status is PUBLISHED; a post is itself. */
        if (k && q.obj) json_object_set_new(q.obj, c->api->status_key, json_string("PUBLISHED"));
        sandbox_reply_json(c->req, 200, q.obj);
        return;
    }
    if (strspn(c->node, "0123456789") == strlen(c->node)) {
        char name[SB_PATH_MAX];
        snprintf(name, sizeof(name), "sandbox_%s", c->node);
        sandbox_reply_json(c->req, 200, json_pack("{s:s,s:s}", "id", c->node, "username", name));
        return;
    }
    char msg[SB_PATH_MAX + 64];
    snprintf(msg, sizeof(msg), "Unsupported get request. Object with ID '%s' does not exist",
             c->node);
    sb_error(c->req, 400, 100, 33, msg);
}

/* ------------------------------------------------------------------------
 * Routing
 * --------------------------------------------------------------------- */

enum { SB_CREATE, SB_PUBLISH, SB_LIMIT, SB_LIST, SB_OBJECT, SB_REPLIES, SB_COMMENT, SB_COMMENTS };

static int sb_route(const sb_call *c, const char *method, int *op, int *edge_known) {
    const sandbox_container_api *api = c->api;
    int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    *edge_known = 1;
    if (c->edge == NULL) return get ? (*op = SB_OBJECT, 1) : 0;
    if (strcmp(c->edge, api->create_edge) == 0 && post) return *op = SB_CREATE, 1;
    if (strcmp(c->edge, api->list_edge) == 0 && get) return *op = SB_LIST, 1;
    if (strcmp(c->edge, api->publish_edge) == 0 && post) return *op = SB_PUBLISH, 1;
    if (strcmp(c->edge, api->limit_edge) == 0 && get) return *op = SB_LIMIT, 1;
    if (api->replies && strcmp(c->edge, "replies") == 0 && get) return *op = SB_REPLIES, 1;
    if (api->comments && strcmp(c->edge, "comments") == 0 && post) return *op = SB_COMMENT, 1;
    if (api->comments && strcmp(c->edge, "comments") == 0 && get) return *op = SB_COMMENTS, 1;
    *edge_known = strcmp(c->edge, api->create_edge) == 0 || strcmp(c->edge, api->list_edge) == 0 ||
                  strcmp(c->edge, api->publish_edge) == 0 || strcmp(c->edge, api->limit_edge) == 0;
    return 0;
}

static int sb_version_ok(const char *v) {
    size_t major, minor;
    if (v[0] != 'v') return 0;
    major = strspn(v + 1, "0123456789");
    if (major == 0 || v[1 + major] != '.') return 0;
    minor = strspn(v + 2 + major, "0123456789");
    return minor > 0 && v[2 + major + minor] == '\0';
}

/* Token rules: the same prefixes mean the same thing on every platform. */
static int sb_check_token(sb_call *c, int write) {
    switch (sandbox_token_state_of(c->api->platform, c->token)) {
    case SANDBOX_TOKEN_OK: return 0;
    case SANDBOX_TOKEN_EXPIRED:
        sb_error(c->req, 400, 190, 463, "Error validating access token: Session has expired");
        return -1;
    case SANDBOX_TOKEN_REVOKED:
        sb_error(c->req, 400, 190, 460,
                 "Error validating access token: The session has been invalidated");
        return -1;
    case SANDBOX_TOKEN_NO_PERMISSION:
        if (!write) return 0;
        sb_error(c->req, 403, 10, 0, "(#10) Application does not have permission for this action");
        return -1;
    case SANDBOX_TOKEN_INVALID:
    default:
        sb_error(c->req, 400, 190, 0, "Invalid OAuth access token - Cannot parse access token");
        return -1;
    }
}

static int sb_fault(sb_call *c, int op) {
    int write = op == SB_CREATE || op == SB_PUBLISH || op == SB_COMMENT;
    switch (sandbox_req_fault(c->req, write ? SANDBOX_OP_WRITE : SANDBOX_OP_READ)) {
    case SANDBOX_FAULT_5XX:
        sb_error(c->req, 500, 2, 0,
                 "An unexpected error has occurred. Please retry your request later.");
        return 1;
    case SANDBOX_FAULT_THROTTLE:
        sb_header(c->req, "X-App-Usage",
                  "{\"call_count\":100,\"total_cputime\":20,\"total_time\":20}");
        sb_error(c->req, 400, 4, 0, "(#4) Application request limit reached");
        return 1;
    case SANDBOX_FAULT_HANG:
    case SANDBOX_FAULT_CLOSE:
        c->hang = op == SB_PUBLISH || op == SB_COMMENT;
        return 0; /* see sandbox_hold() */
    case SANDBOX_FAULT_NONE:
    default: return 0;
    }
}

void sandbox_containers_handle(const sandbox_container_api *api, sandbox_request *req) {
    char buf[SB_PATH_MAX], *seg[3], *save = NULL;
    const char *path = sandbox_req_path(req) + strlen(api->platform) + 2; /* "/name/" */
    int n = 0, op = 0, edge_known = 0;
    sb_call c = {api, req, NULL, NULL, NULL, NULL, 0};
    if (strlen(path) < sizeof(buf)) {
        strcpy(buf, path);
        for (char *p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
            if (n == 3) {
                n = 4;
                break;
            }
            seg[n++] = p;
        }
    }
    if (n < 2 || n > 3 || !sb_version_ok(seg[0])) {
        char msg[SB_PATH_MAX + 64];
        snprintf(msg, sizeof(msg), "Unknown path components: %.*s", SB_PATH_MAX,
                 sandbox_req_path(req));
        sb_error(req, 400, 2500, 0, msg);
        return;
    }
    c.version = seg[0];
    c.node = seg[1];
    c.edge = n == 3 ? seg[2] : NULL;
    if (!sb_route(&c, sandbox_req_method(req), &op, &edge_known)) {
        char msg[SB_PATH_MAX + 64];
        if (edge_known)
            snprintf(msg, sizeof(msg), "Unsupported %s request.", sandbox_req_method(req));
        else
            snprintf(msg, sizeof(msg), "Unknown path components: /%s", c.edge ? c.edge : "");
        sb_error(req, 400, edge_known ? 100 : 2500, 0, msg);
        return;
    }
    if (sb_fault(&c, op)) return;
    if (!sandbox_req_body_valid(req)) {
        sb_invalid(req, "(#100) Invalid parameter");
        return;
    }
    c.token = sb_token(&c);
    if (sb_check_token(&c, op == SB_CREATE || op == SB_PUBLISH || op == SB_COMMENT) != 0) return;
    switch (op) {
    case SB_CREATE: sb_create(&c); break;
    case SB_PUBLISH: sb_publish(&c); break;
    case SB_LIMIT: sb_limit(&c); break;
    case SB_LIST: sb_list(&c); break;
    case SB_REPLIES: sb_replies(&c); break;
    case SB_COMMENT:
        sandbox_comment_create(req, api->platform, c.node, c.token, c.hang, sb_error);
        break;
    case SB_COMMENTS:
        sandbox_comment_list(req, api->platform, c.node, "text", "timestamp", sb_error);
        break;
    default: sb_object(&c); break;
    }
}
