/* facebook_read.c -- the sandbox's Graph API reads of a page: the feed, the
 * page's videos and reels, and one object (a post, a photo, a video's
 * status, or a stub page), with only the requested fields, as Graph shows
 * them. Routed by facebook.c after its fault draw and token check. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "facebook_graph.h"
#include "facebook_videos.h"

/* ------------------------------------------------------------------------
 * Object fields (GET responses)
 * --------------------------------------------------------------------- */

enum {
    FB_F_ID = 1,
    FB_F_MESSAGE = 2,
    FB_F_CREATED = 4,
    FB_F_LINK = 8,
    FB_F_PICTURE = 16,
    FB_F_PERMALINK = 32,
    FB_F_DEFAULT = FB_F_ID | FB_F_MESSAGE | FB_F_CREATED
};

static const struct fb_field {
    const char *name;
    unsigned bit;
} fb_fields[] = {
    {"id", FB_F_ID},     {"message", FB_F_MESSAGE},      {"created_time", FB_F_CREATED},
    {"link", FB_F_LINK}, {"full_picture", FB_F_PICTURE}, {"permalink_url", FB_F_PERMALINK},
};

static unsigned fb_field_bit(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof(fb_fields) / sizeof(fb_fields[0]); i++)
        if (strlen(fb_fields[i].name) == len && strncmp(fb_fields[i].name, name, len) == 0)
            return fb_fields[i].bit;
    return 0;
}

/* Parses ?fields=a,b,c into a mask; answers the error and returns 0 for an
 * unknown field, which is what Graph does. */
static unsigned fb_parse_fields(fb_call *c) {
    const char *s = fb_param(c, "fields");
    unsigned mask = 0;
    if (s == NULL) return FB_F_DEFAULT;
    while (*s) {
        s += strspn(s, " ,");
        size_t len = strcspn(s, " ,");
        unsigned bit = fb_field_bit(s, len);
        if (len > 0 && bit == 0) {
            char msg[160];
            snprintf(msg, sizeof(msg), "(#100) Tried accessing nonexisting field (%.*s)",
                     (int)(len > 64 ? 64 : len), s);
            fb_error(c->req, 400, 100, 0, msg);
            return 0;
        }
        mask |= bit;
        s += len;
    }
    return mask ? mask : FB_F_DEFAULT;
}

static json_t *fb_created_time(int64_t ms) {
    char buf[32];
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S+0000", &tm) == 0)
        return NULL;
    return json_string(buf);
}

static json_t *fb_permalink(const char *id) {
    char buf[FB_ID_MAX + 32];
    snprintf(buf, sizeof(buf), "https://www.facebook.com/%s", id);
    return json_string(buf);
}

/* Object as Graph shows it: only requested fields, absent ones omitted. */
static json_t *fb_post_json(const sandbox_post *p, unsigned fields, const char *id) {
    json_t *o = json_object();
    int rc = o ? 0 : -1;
    if (rc == 0 && (fields & FB_F_ID)) rc |= json_object_set_new(o, "id", json_string(id));
    if (rc == 0 && (fields & FB_F_MESSAGE) && p->message)
        rc |= json_object_set_new(o, "message", json_string(p->message));
    if (rc == 0 && (fields & FB_F_CREATED))
        rc |= json_object_set_new(o, "created_time", fb_created_time(p->accepted_at_ms));
    if (rc == 0 && (fields & FB_F_LINK) && p->link)
        rc |= json_object_set_new(o, "link", json_string(p->link));
    if (rc == 0 && (fields & FB_F_PICTURE) && p->photo_url)
        rc |= json_object_set_new(o, "full_picture", json_string(p->photo_url));
    if (rc == 0 && (fields & FB_F_PERMALINK))
        rc |= json_object_set_new(o, "permalink_url", fb_permalink(p->id));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

typedef struct fb_feed_query {
    json_t *data;
    int64_t since_ms, until_ms;
    size_t limit;
    unsigned fields;
    int failed;
} fb_feed_query;

/* Called newest first with the store locked: stop at the first too old. */
static int fb_feed_visit(const sandbox_post *p, void *ud) {
    fb_feed_query *q = ud;
    if (p->accepted_at_ms < q->since_ms) return 0;
    if (!p->published || p->accepted_at_ms > q->until_ms) return 1;
    if (json_array_append_new(q->data, fb_post_json(p, q->fields, p->id)) != 0) {
        q->failed = 1;
        return 0;
    }
    return json_array_size(q->data) < q->limit;
}

static int fb_feed_query_init(fb_call *c, fb_feed_query *q) {
    long long since = 0, until = INT64_MAX / 1000 - 1, limit = FB_DEFAULT_LIMIT;
    if (fb_int_param(c, "since", &since) < 0 || fb_int_param(c, "until", &until) < 0 ||
        fb_int_param(c, "limit", &limit) < 0 || limit < 1 || since > INT64_MAX / 1000 - 1 ||
        until > INT64_MAX / 1000 - 1) {
        fb_invalid_param(c->req);
        return -1;
    }
    q->since_ms = (int64_t)since * 1000;
    q->until_ms = (int64_t)until * 1000 + 999; /* until is inclusive, in seconds */
    q->limit = (size_t)(limit > FB_MAX_LIMIT ? FB_MAX_LIMIT : limit);
    q->fields = fb_parse_fields(c);
    q->data = q->fields ? json_array() : NULL;
    q->failed = q->data == NULL;
    return q->fields ? 0 : -1;
}

void fb_read_feed(fb_call *c) {
    fb_feed_query q;
    if (fb_feed_query_init(c, &q) != 0) return;
    if (!q.failed) sandbox_posts_of_page(FB_PLATFORM, c->node, fb_feed_visit, &q);
    if (q.failed) {
        json_decref(q.data);
        fb_error(c->req, 500, 1, 0, "An unknown error has occurred.");
        return;
    }
    sandbox_reply_json(c->req, 200, json_pack("{s:o,s:{}}", "data", q.data, "paging"));
}

typedef struct fb_video_query {
    json_t *data;
    const char *kind;
    size_t limit;
    int failed;
} fb_video_query;

static int fb_video_visit(const sandbox_post *p, void *ud) {
    fb_video_query *q = ud;
    if (!p->published || p->kind == NULL || strcmp(p->kind, q->kind) != 0) return 1;
    json_t *o = json_pack("{s:s,s:o,s:b}", "id", p->id, "created_time",
                          fb_created_time(p->accepted_at_ms), "published", 1);
    if (o && p->message) json_object_set_new(o, "description", json_string(p->message));
    if (json_array_append_new(q->data, o) != 0) {
        q->failed = 1;
        return 0;
    }
    return json_array_size(q->data) < q->limit;
}

/* GET /{page}/videos or /video_reels: the page's published ones, newest first. */
static void fb_read_uploads(fb_call *c, const char *kind) {
    long long limit = FB_DEFAULT_LIMIT;
    if (fb_int_param(c, "limit", &limit) < 0 || limit < 1) {
        fb_invalid_param(c->req);
        return;
    }
    fb_video_query q = {json_array(), kind, (size_t)(limit > FB_MAX_LIMIT ? FB_MAX_LIMIT : limit),
                        0};
    q.failed = q.data == NULL;
    if (!q.failed) sandbox_posts_of_page(FB_PLATFORM, c->node, fb_video_visit, &q);
    if (q.failed) {
        json_decref(q.data);
        fb_error(c->req, 500, 1, 0, "An unknown error has occurred.");
        return;
    }
    sandbox_reply_json(c->req, 200, json_pack("{s:o,s:{}}", "data", q.data, "paging"));
}

void fb_read_videos(fb_call *c) { fb_read_uploads(c, "video"); }
void fb_read_reels(fb_call *c) { fb_read_uploads(c, "reel"); }

typedef struct fb_object_query {
    const char *id;
    unsigned fields;
    json_t *obj;
} fb_object_query;

static int fb_object_visit(const sandbox_post *p, void *ud) {
    fb_object_query *q = ud;
    q->obj = fb_post_json(p, q->fields, q->id);
    return 0;
}

/* A post or photo we accepted; other ids without '_' are taken as pages. */
void fb_read_object(fb_call *c) {
    const char *fields = fb_param(c, "fields");
    if (fields && strcmp(fields, "status") == 0 && sandbox_fb_videos_status(c->req, c->node))
        return;
    fb_object_query q = {c->node, fb_parse_fields(c), NULL};
    char msg[sizeof(FB_MSG_NOT_FOUND) + FB_PATH_MAX];
    if (q.fields == 0) return;
    if (sandbox_post_by_id(FB_PLATFORM, c->node, fb_object_visit, &q)) {
        sandbox_reply_json(c->req, 200, q.obj);
    } else if (strchr(c->node, '_') != NULL) {
        snprintf(msg, sizeof(msg), FB_MSG_NOT_FOUND, c->node);
        fb_error(c->req, 400, 100, 33, msg);
    } else {
        snprintf(msg, sizeof(msg), "Sandbox page %s", c->node);
        sandbox_reply_json(c->req, 200, json_pack("{s:s,s:s}", "id", c->node, "name", msg));
    }
}
