/* x.c -- imitation of the X API v2 calls a publisher makes, under /x/.
 *
 *   POST /x/2/tweets                 {"text", "media":{"media_ids":[...]},
 *                                    "reply":{"in_reply_to_tweet_id"}}
 *                                    -> 201 {"data":{"id","text","edit_history_tweet_ids"}}
 *   POST /x/2/media/upload           multipart/form-data: media (bytes),
 *                                    media_category -> 200 {"data":{"id","media_key",
 *                                    "size","expires_after_secs"}}
 *   POST /x/2/media/upload/initialize, /{id}/append, /{id}/finalize,
 *   GET  /x/2/media/upload?command=STATUS   the chunked upload of a video or
 *                                    GIF (x_chunked.c)
 *   GET  /x/2/users/me               the token's user {"data":{"id","name","username"}}
 *   GET  /x/2/users/{id}/tweets      start_time, end_time (RFC 3339),
 *                                    max_results (5..100, default 10),
 *                                    pagination_token, tweet.fields
 *                                    -> {"data":[newest first],"meta":{...}}
 *   GET  /x/2/tweets/{id}            one tweet
 *
 * A user token posts as its user; the sandbox derives a stable numeric user
 * id from the token (users/me tells it), so tests register accounts the way
 * a real onboarding does. Tokens choose their fate through
 * sandbox_token_state_of(): expired/revoked/invalid -> 401, no permission ->
 * 403 on publishes.
 *
 * Errors are X's problem JSON {"title","detail","type","status"}; an unknown
 * path is the old {"errors":[{"message","code":34}]} 404 X still sends.
 * Checks run in this order: path -> injected fault (503 / 429 with
 * x-rate-limit-* headers) -> body -> token -> text (missing, over 280
 * weighted) -> the user's 24-hour allowance (x_user_daily_limit, off by
 * default; 429 with x-user-limit-24hour-* headers) -> the user's post window
 * (x_user_post_limit per x_user_window_ms; X's real one is 200 per 15
 * minutes) -> the store's page
 * limit and duplicate rule (403 "duplicate content") -> accept, or hold.
 * Text is returned with &, < and > escaped, as X does, and a tweet with
 * images gets one more https://t.co/... link at the end, as on X. Uploaded
 * media ids belong to the token's user; a tweet may name up to 4 of them,
 * or one video or GIF whose processing succeeded. A reply names a tweet
 * the sandbox has (else 400, as X answers for one deleted or not visible);
 * reads show it in referenced_tweets when tweet.fields asks for them, and
 * /_sandbox/posts lists it as in_reply_to (thread tests check the chain).
 * x_reply_fault / x_reply_fault_at give one chosen reply a 503, a 429 or a
 * reset after commit (server.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server.h"
#include "x_chunked.h"

#define X_PLATFORM "x"
#define X_PREFIX "/x"
#define X_MAX_WEIGHT 280
#define X_PROBLEM_BASE "https://api.twitter.com/2/problems/"
#define X_DUPLICATE "You are not allowed to create a Tweet with duplicate content."

#define X_MAX_UPLOADS 4096 /* remembered media ids; older ones expire */
#define X_MAX_TWEET_MEDIA 4
#define X_FIELD_CREATED 1    /* tweet.fields=created_at */
#define X_FIELD_REFERENCED 2 /* tweet.fields=referenced_tweets */

/* Media ids handed out by the upload, with the user they belong to. Only
 * the single MHD thread touches them. */
static struct {
    char id[24];
    char user[24];
} x_uploads[X_MAX_UPLOADS];
static size_t x_nuploads;

typedef struct x_call {
    sandbox_request *req;
    const char *token;
    char user[24]; /* the token's user id */
    int hang;
} x_call;

/* ------------------------------------------------------------------------
 * Errors
 * --------------------------------------------------------------------- */

static void x_problem(sandbox_request *req, unsigned status, const char *title, const char *detail,
                      const char *type) {
    sandbox_stats_error((int)status);
    sandbox_reply_json(req, status,
                       json_pack("{s:s,s:s,s:s,s:i}", "title", title, "detail", detail, "type",
                                 type ? type : "about:blank", "status", (int)status));
}

static void x_invalid(sandbox_request *req, const char *message) {
    sandbox_stats_error(400);
    sandbox_reply_json(req, 400,
                       json_pack("{s:[{s:s}],s:s,s:s,s:s,s:i}", "errors", "message", message,
                                 "title", "Invalid Request", "detail",
                                 "One or more parameters to your request was invalid.", "type",
                                 X_PROBLEM_BASE "invalid-request", "status", 400));
}

static void x_header_num(sandbox_request *req, const char *name, long long v) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    if (sandbox_reply_header(req, name, buf) != 0) sandbox_log("x: cannot add header %s", name);
}

static void x_rate_headers(sandbox_request *req, long limit, long remaining, int64_t reset_ms) {
    x_header_num(req, "x-rate-limit-limit", limit);
    x_header_num(req, "x-rate-limit-remaining", remaining < 0 ? 0 : remaining);
    x_header_num(req, "x-rate-limit-reset", (reset_ms + 999) / 1000);
}

static void x_too_many(sandbox_request *req, long limit, int64_t reset_ms) {
    x_rate_headers(req, limit, 0, reset_ms);
    x_problem(req, 429, "Too Many Requests", "Too Many Requests", NULL);
}

/* ------------------------------------------------------------------------
 * Users and tokens
 * --------------------------------------------------------------------- */

static const char *x_bearer(sandbox_request *req) {
    const char *auth = sandbox_req_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) return NULL;
    for (auth += 7; *auth == ' '; auth++) {
    }
    return auth;
}

/* FNV-1a of the token: the same token is always the same user. */
static void x_user_of(const char *token, char *out, size_t len) {
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    snprintf(out, len, "%" PRIu64, (uint64_t)(1000000000ULL + h % 1000000000000000000ULL));
}

/* Answers and returns -1 when the token does not allow op. */
static int x_check_token(x_call *c, sandbox_op op) {
    switch (sandbox_token_state_of(X_PLATFORM, c->token)) {
    case SANDBOX_TOKEN_OK: break;
    case SANDBOX_TOKEN_NO_PERMISSION:
        if (op != SANDBOX_OP_WRITE) break;
        x_problem(c->req, 403, "Forbidden", "You are not permitted to perform this action.", NULL);
        return -1;
    case SANDBOX_TOKEN_EXPIRED:
    case SANDBOX_TOKEN_REVOKED:
    case SANDBOX_TOKEN_INVALID:
    default: x_problem(c->req, 401, "Unauthorized", "Unauthorized", NULL); return -1;
    }
    x_user_of(c->token, c->user, sizeof(c->user));
    return 0;
}

static int x_fault(x_call *c, sandbox_op op) {
    switch (sandbox_req_fault(c->req, op)) {
    case SANDBOX_FAULT_5XX:
        x_problem(c->req, 503, "Service Unavailable", "Service Unavailable", NULL);
        return 1;
    case SANDBOX_FAULT_THROTTLE:
        /* App-wide 15-minute window, as X reports it. */
        x_too_many(c->req, 300, sandbox_req_received_ms(c->req) + 15 * 60 * 1000);
        return 1;
    case SANDBOX_FAULT_HANG:
    case SANDBOX_FAULT_CLOSE: c->hang = 1; return 0; /* sandbox_hold() tells them apart */
    case SANDBOX_FAULT_NONE:
    default: return 0;
    }
}

/* ------------------------------------------------------------------------
 * Weighted length, as X documents it (counted independently of the
 * publisher's code: the sandbox must catch the publisher's mistakes).
 * --------------------------------------------------------------------- */

/* One code point; a broken sequence reads as U+FFFD one byte long. */
static int x_decode(const unsigned char *s, uint32_t *cp) {
    int n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
    uint32_t v = n == 4 ? s[0] & 0x07u : n == 3 ? s[0] & 0x0Fu : n == 2 ? s[0] & 0x1Fu : s[0];
    *cp = 0xFFFD;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 1;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

static int x_light(uint32_t c) {
    return c <= 0x10FF || (c >= 0x2000 && c <= 0x200D) || (c >= 0x2010 && c <= 0x201F) ||
           (c >= 0x2032 && c <= 0x2037);
}

/* Code points that never add to an emoji sequence's weight. */
static int x_emoji_tail(uint32_t c) {
    return c == 0xFE0F || c == 0xFE0E || c == 0x20E3 || (c >= 0x1F3FB && c <= 0x1F3FF) ||
           (c >= 0xE0020 && c <= 0xE007F);
}

static long x_weight(const char *text) {
    const unsigned char *p = (const unsigned char *)text;
    long units = 0;
    int joined = 0, regional = 0;
    while (*p) {
        if (strncasecmp((const char *)p, "https://", 8) == 0 ||
            strncasecmp((const char *)p, "http://", 7) == 0) {
            while (*p && *p != ' ' && *p != '\n' && *p != '\t') p++;
            units += 23;
            continue;
        }
        uint32_t c;
        p += x_decode(p, &c);
        if (c == 0x200D && units > 0) { /* ZWJ: the next code point is the same emoji */
            joined = 1;
            continue;
        }
        int is_regional = c >= 0x1F1E6 && c <= 0x1F1FF;
        if (joined || x_emoji_tail(c) || (is_regional && regional)) {
            joined = 0;
            regional = 0;
            continue;
        }
        regional = is_regional;
        units += x_light(c) ? 1 : 2;
    }
    return units;
}

/* ------------------------------------------------------------------------
 * Media upload (multipart/form-data)
 * --------------------------------------------------------------------- */

static const char *x_find(const char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) return hay + i;
    return NULL;
}

/* Size of the multipart part named "media"; -1 when absent or malformed. */
static long x_media_part_size(sandbox_request *req) {
    const char *ct = sandbox_req_header(req, "Content-Type"), *b;
    size_t n;
    const char *body = sandbox_req_body(req, &n);
    char delim[128];
    if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0 || body == NULL ||
        (b = strstr(ct, "boundary=")) == NULL || strlen(b + 9) == 0 || strlen(b + 9) > 100)
        return -1;
    snprintf(delim, sizeof(delim), "\r\n--%s", b + 9);
    /* Each part: --boundary, headers, blank line, data, CRLF--boundary. */
    for (const char *p = x_find(body, n, delim + 2); p;) {
        const char *hdr_end = x_find(p, n - (size_t)(p - body), "\r\n\r\n");
        if (hdr_end == NULL) return -1;
        const char *data = hdr_end + 4;
        const char *next = x_find(data, n - (size_t)(data - body), delim);
        if (next == NULL) return -1;
        if (x_find(p, (size_t)(hdr_end - p), "name=\"media\"")) return (long)(next - data);
        p = next + 2;
    }
    return -1;
}

static void x_upload(x_call *c) {
    long size = x_media_part_size(c->req);
    if (size <= 0) {
        x_invalid(c->req, "media: a non-empty multipart part named media is required");
        return;
    }
    if (c->hang) { /* accepted, never answered: nothing to record */
        sandbox_hold(c->req);
        return;
    }
    size_t slot = x_nuploads++ % X_MAX_UPLOADS;
    snprintf(x_uploads[slot].id, sizeof(x_uploads[slot].id), "%" PRIu64, sandbox_next_object_id());
    snprintf(x_uploads[slot].user, sizeof(x_uploads[slot].user), "%s", c->user);
    char key[32];
    snprintf(key, sizeof(key), "3_%s", x_uploads[slot].id);
    sandbox_reply_json(c->req, 200,
                       json_pack("{s:{s:s,s:s,s:i,s:i}}", "data", "id", x_uploads[slot].id,
                                 "media_key", key, "size", (int)size, "expires_after_secs", 86400));
}

static int x_upload_known(const char *id, const char *user) {
    size_t n = x_nuploads < X_MAX_UPLOADS ? x_nuploads : X_MAX_UPLOADS;
    for (size_t i = 0; i < n; i++)
        if (strcmp(x_uploads[i].id, id) == 0 && strcmp(x_uploads[i].user, user) == 0) return 1;
    return 0;
}

/* Reads {"media_ids":[...]} into ids ("a,b"); 0 when absent, -1 when bad
 * (answered). */
static int x_tweet_media(x_call *c, char *ids, size_t len) {
    const char *m = sandbox_req_param(c->req, "media");
    ids[0] = '\0';
    if (m == NULL) return 0;
    json_t *root = json_loads(m, 0, NULL), *arr = json_object_get(root, "media_ids"), *v;
    size_t i, moving = 0;
    int rc =
        json_is_array(arr) && json_array_size(arr) >= 1 && json_array_size(arr) <= X_MAX_TWEET_MEDIA
            ? 1
            : -1;
    json_array_foreach(arr, i, v) {
        if (rc < 0) break;
        int chunked = json_is_string(v) && sandbox_x_chunked_ready(json_string_value(v), c->user);
        moving += (size_t)chunked;
        if (!json_is_string(v) || (!chunked && !x_upload_known(json_string_value(v), c->user)))
            rc = -1;
        else
            snprintf(ids + strlen(ids), len - strlen(ids), "%s%s", i ? "," : "",
                     json_string_value(v));
    }
    /* A video or GIF goes alone. */
    if (rc > 0 && moving > 0 && json_array_size(arr) > 1) rc = -1;
    json_decref(root);
    if (rc < 0)
        x_invalid(c->req, "$.media.media_ids: 1 to 4 ids of images, or one video or GIF whose "
                          "processing succeeded, uploaded by this user, are required");
    return rc;
}

/* ------------------------------------------------------------------------
 * Publishing
 * --------------------------------------------------------------------- */

typedef struct x_window {
    int64_t since_ms;
    long count;
    int64_t oldest_ms;
} x_window;

static int x_window_visit(const sandbox_post *p, void *ud) {
    x_window *w = ud;
    if (p->accepted_at_ms < w->since_ms) return 0;
    w->count++;
    w->oldest_ms = p->accepted_at_ms;
    return 1;
}

static json_t *x_escaped_text(const char *text) {
    size_t n = 0;
    for (const char *p = text; *p; p++) n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
    char *out = malloc(n + 1), *w = out;
    if (out == NULL) return NULL;
    for (const char *p = text; *p; p++) {
        const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
        if (e) {
            memcpy(w, e, strlen(e));
            w += strlen(e);
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    json_t *s = json_string(out);
    free(out);
    return s;
}

/* The text as X shows it: escaped, plus a t.co link for attached media. */
static json_t *x_shown_text(const char *text, const char *media) {
    if (media == NULL) return x_escaped_text(text);
    size_t n = strlen(text) + 48;
    char *t = malloc(n);
    if (t == NULL) return NULL;
    snprintf(t, n, "%s%shttps://t.co/m%.*s", text, *text ? " " : "", (int)strcspn(media, ","),
             media);
    json_t *s = x_escaped_text(t);
    free(t);
    return s;
}

static int x_digits(const char *s) { return *s && strspn(s, "0123456789") == strlen(s); }

static int x_exists_visit(const sandbox_post *p, void *ud) {
    (void)p;
    *(int *)ud = 1;
    return 0;
}

/* reply.in_reply_to_tweet_id into parent: 0 none, 1 a reply, -1 answered. */
static int x_reply_of(x_call *c, char *parent, size_t len) {
    const char *r = sandbox_req_param(c->req, "reply");
    parent[0] = '\0';
    if (r == NULL) return 0;
    json_t *root = json_loads(r, 0, NULL), *id = json_object_get(root, "in_reply_to_tweet_id");
    int found = 0;
    if (json_is_string(id) && x_digits(json_string_value(id)) &&
        strlen(json_string_value(id)) < len) {
        snprintf(parent, len, "%s", json_string_value(id));
        sandbox_post_by_id(X_PLATFORM, parent, x_exists_visit, &found);
    }
    json_decref(root);
    if (found) return 1;
    x_invalid(c->req, "You attempted to reply to a Tweet that is deleted or not visible to you.");
    return -1;
}

/* x_reply_fault / x_reply_fault_at (server.h): the fault this reply gets.
 * Counted since the knobs last changed; only the MHD thread calls it. */
#define X_REPLY_503 1
#define X_REPLY_429 2
#define X_REPLY_CLOSE 3
#define X_REPLY_403 4
#define X_REPLY_NOT_ALLOWED                                                                        \
    "Reply to this conversation is not allowed because you have not been mentioned or "            \
    "otherwise engaged by the author of the post you are replying to."
static long x_reply_fault_now(const sandbox_knobs *k) {
    static long seen_fault = -1, seen_at = -1, replies;
    if (k->x_reply_fault != seen_fault || k->x_reply_fault_at != seen_at) {
        seen_fault = k->x_reply_fault;
        seen_at = k->x_reply_fault_at;
        replies = 0;
    }
    if (k->x_reply_fault <= 0 || k->x_reply_fault_at <= 0) return 0;
    return ++replies == k->x_reply_fault_at ? k->x_reply_fault : 0;
}

static void x_publish(x_call *c) {
    const char *text = sandbox_req_param(c->req, "text");
    char parent[32];
    int reply = x_reply_of(c, parent, sizeof(parent));
    if (reply < 0) return;
    sandbox_knobs kf;
    sandbox_knobs_get(&kf);
    long fault = reply ? x_reply_fault_now(&kf) : 0;
    if (fault == X_REPLY_503) {
        x_problem(c->req, 503, "Service Unavailable", "Service Unavailable", NULL);
        return;
    }
    if (fault == X_REPLY_429) {
        x_too_many(c->req, 300, sandbox_req_received_ms(c->req) + 3000);
        return;
    }
    if (fault == X_REPLY_403) {
        x_problem(c->req, 403, "Forbidden", X_REPLY_NOT_ALLOWED, NULL);
        return;
    }
    if (fault == X_REPLY_CLOSE) {
        c->hang = 1;
        sandbox_req_close_on_hold(c->req);
    }
    char media[X_MAX_TWEET_MEDIA * 24 + 8];
    sandbox_knobs k;
    sandbox_knobs_get(&k);
    int has_media = x_tweet_media(c, media, sizeof(media));
    if (has_media < 0) return;
    if (text == NULL) text = "";
    if (*text == '\0' && !has_media) {
        x_invalid(c->req, "$.text: text or media is required");
        return;
    }
    if (x_weight(text) > X_MAX_WEIGHT) {
        x_problem(c->req, 403, "Forbidden", "Your Tweet text is too long.", NULL);
        return;
    }
    int64_t now = sandbox_req_received_ms(c->req);
    if (k.x_user_daily_limit > 0) {
        x_window day = {now - 24 * 3600 * 1000LL, 0, now};
        sandbox_posts_of_page(X_PLATFORM, c->user, x_window_visit, &day);
        if (day.count >= k.x_user_daily_limit) {
            x_header_num(c->req, "x-user-limit-24hour-limit", k.x_user_daily_limit);
            x_header_num(c->req, "x-user-limit-24hour-remaining", 0);
            x_header_num(c->req, "x-user-limit-24hour-reset",
                         (day.oldest_ms + 24 * 3600 * 1000LL + 999) / 1000);
            x_problem(c->req, 429, "Too Many Requests", "Too Many Requests", NULL);
            return;
        }
    }
    x_window w = {now - k.x_user_window_ms, 0, now};
    if (k.x_user_post_limit > 0 && k.x_user_window_ms > 0) {
        sandbox_posts_of_page(X_PLATFORM, c->user, x_window_visit, &w);
        if (w.count >= k.x_user_post_limit) {
            x_too_many(c->req, k.x_user_post_limit, w.oldest_ms + k.x_user_window_ms);
            return;
        }
    }
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, sandbox_next_object_id());
    sandbox_post d = {.id = id,
                      .page_id = c->user,
                      .kind = "tweet",
                      .message = text,
                      .photo_id = has_media ? media : NULL,
                      .token = c->token,
                      .in_reply_to = reply ? parent : NULL,
                      .published = 1,
                      .hung = c->hang};
    sandbox_accept_result r = sandbox_accept_post(c->req, &d);
    switch (r.status) {
    case SANDBOX_ACCEPT_OK:
        if (c->hang) {
            sandbox_hold(c->req);
            return;
        }
        if (k.x_user_post_limit > 0 && k.x_user_window_ms > 0)
            x_rate_headers(c->req, k.x_user_post_limit, k.x_user_post_limit - w.count - 1,
                           (w.count ? w.oldest_ms : now) + k.x_user_window_ms);
        sandbox_reply_json(c->req, 201,
                           json_pack("{s:{s:s,s:o,s:[s]}}", "data", "id", id, "text",
                                     x_shown_text(text, has_media ? media : NULL),
                                     "edit_history_tweet_ids", id));
        return;
    case SANDBOX_ACCEPT_THROTTLED: x_too_many(c->req, r.limit, now + r.retry_after_ms); return;
    case SANDBOX_ACCEPT_DUPLICATE: x_problem(c->req, 403, "Forbidden", X_DUPLICATE, NULL); return;
    case SANDBOX_ACCEPT_NOMEM:
    default: x_problem(c->req, 500, "Internal Server Error", "Internal Server Error", NULL); return;
    }
}

/* ------------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

static json_t *x_created_at(int64_t ms) {
    char buf[40];
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (gmtime_r(&t, &tm) == NULL) return NULL;
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
    return json_string(buf);
}

/* with: X_FIELD_* bits of tweet.fields. */
static json_t *x_tweet_json(const sandbox_post *p, int with) {
    json_t *o = json_pack("{s:s,s:o,s:[s]}", "id", p->id, "text",
                          x_shown_text(p->message, p->photo_id), "edit_history_tweet_ids", p->id);
    if (o && (with & X_FIELD_CREATED) &&
        json_object_set_new(o, "created_at", x_created_at(p->accepted_at_ms)))
        sandbox_log("x: cannot add created_at");
    if (o && (with & X_FIELD_REFERENCED) && p->in_reply_to &&
        json_object_set_new(o, "referenced_tweets",
                            json_pack("[{s:s,s:s}]", "type", "replied_to", "id", p->in_reply_to)))
        sandbox_log("x: cannot add referenced_tweets");
    return o;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.fff]Z" to epoch ms; -1 when malformed. */
static int64_t x_parse_time(const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (end == NULL) return -1;
    if (*end == '.')
        for (end++; *end >= '0' && *end <= '9'; end++) {
        }
    if (strcmp(end, "Z") != 0) return -1;
    return (int64_t)timegm(&tm) * 1000;
}

static int x_wants_created(sandbox_request *req) {
    const char *f = sandbox_req_query(req, "tweet.fields");
    return (f && strstr(f, "created_at") ? X_FIELD_CREATED : 0) |
           (f && strstr(f, "referenced_tweets") ? X_FIELD_REFERENCED : 0);
}

typedef struct x_timeline {
    json_t *data;
    int64_t since_ms, until_ms;
    long max;
    const char *after; /* pagination_token: the id of the last tweet shown */
    int skipping, with_created, more;
} x_timeline;

static int x_timeline_visit(const sandbox_post *p, void *ud) {
    x_timeline *t = ud;
    if (p->accepted_at_ms < t->since_ms) return 0;
    if (t->skipping) {
        t->skipping = strcmp(p->id, t->after) != 0;
        return 1;
    }
    if (p->accepted_at_ms > t->until_ms) return 1;
    if ((long)json_array_size(t->data) == t->max) {
        t->more = 1;
        return 0;
    }
    json_array_append_new(t->data, x_tweet_json(p, t->with_created));
    return 1;
}

static void x_read_timeline(x_call *c, const char *user) {
    const char *st = sandbox_req_query(c->req, "start_time"),
               *et = sandbox_req_query(c->req, "end_time"),
               *mr = sandbox_req_query(c->req, "max_results");
    x_timeline t = {json_array(),
                    0,
                    INT64_MAX,
                    10,
                    sandbox_req_query(c->req, "pagination_token"),
                    0,
                    x_wants_created(c->req),
                    0};
    char *end = NULL;
    if (st) t.since_ms = x_parse_time(st);
    if (et) t.until_ms = x_parse_time(et);
    if (mr) t.max = strtol(mr, &end, 10);
    if (t.data == NULL || t.since_ms < 0 || t.until_ms < 0 ||
        (mr && (*end || t.max < 5 || t.max > 100))) {
        json_decref(t.data);
        x_invalid(c->req, "The query parameters are invalid.");
        return;
    }
    t.skipping = t.after != NULL;
    sandbox_posts_of_page(X_PLATFORM, user, x_timeline_visit, &t);
    size_t n = json_array_size(t.data);
    json_t *meta = json_pack("{s:i}", "result_count", (int)n);
    if (n > 0) {
        json_t *first = json_array_get(t.data, 0), *last = json_array_get(t.data, n - 1);
        json_object_set(meta, "newest_id", json_object_get(first, "id"));
        json_object_set(meta, "oldest_id", json_object_get(last, "id"));
        if (t.more) json_object_set(meta, "next_token", json_object_get(last, "id"));
        sandbox_reply_json(c->req, 200, json_pack("{s:o,s:o}", "data", t.data, "meta", meta));
    } else {
        json_decref(t.data); /* X leaves "data" out when there is nothing */
        sandbox_reply_json(c->req, 200, json_pack("{s:o}", "meta", meta));
    }
}

typedef struct x_lookup {
    json_t *obj;
    int with_created;
} x_lookup;

static int x_lookup_visit(const sandbox_post *p, void *ud) {
    x_lookup *l = ud;
    l->obj = x_tweet_json(p, l->with_created);
    return 0;
}

static void x_read_tweet(x_call *c, const char *id) {
    x_lookup l = {NULL, x_wants_created(c->req)};
    char detail[160];
    if (sandbox_post_by_id(X_PLATFORM, id, x_lookup_visit, &l)) {
        sandbox_reply_json(c->req, 200, json_pack("{s:o}", "data", l.obj));
        return;
    }
    snprintf(detail, sizeof(detail), "Could not find tweet with id: [%.64s].", id);
    sandbox_reply_json(c->req, 200,
                       json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:s}]}", "errors", "value", id,
                                 "detail", detail, "title", "Not Found Error", "resource_type",
                                 "tweet", "parameter", "id", "resource_id", id, "type",
                                 X_PROBLEM_BASE "resource-not-found"));
}

/* ------------------------------------------------------------------------
 * Routing
 * --------------------------------------------------------------------- */

static void x_not_found(sandbox_request *req) {
    sandbox_stats_error(404);
    sandbox_reply_json(req, 404,
                       json_pack("{s:[{s:s,s:i}]}", "errors", "message",
                                 "Sorry, that page does not exist", "code", 34));
}

static void x_handle(sandbox_request *req) {
    char path[512], *seg[5], *save = NULL;
    int n = 0;
    const char *method = sandbox_req_method(req);
    x_call c = {req, x_bearer(req), "", 0};
    if (snprintf(path, sizeof(path), "%s", sandbox_req_path(req) + strlen(X_PREFIX)) >=
        (int)sizeof(path)) {
        x_not_found(req);
        return;
    }
    for (char *p = strtok_r(path, "/", &save); p && n < 5; p = strtok_r(NULL, "/", &save))
        seg[n++] = p;
    int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    int tweets = n == 2 && strcmp(seg[1], "tweets") == 0;
    int upload = n == 3 && strcmp(seg[1], "media") == 0 && strcmp(seg[2], "upload") == 0;
    int me = n == 3 && strcmp(seg[1], "users") == 0 && strcmp(seg[2], "me") == 0;
    int timeline =
        n == 4 && strcmp(seg[1], "users") == 0 && x_digits(seg[2]) && strcmp(seg[3], "tweets") == 0;
    int one = n == 3 && strcmp(seg[1], "tweets") == 0 && x_digits(seg[2]);
    x_chunked_route chunked = n >= 3 ? sandbox_x_chunked_route(method, seg, n) : X_CHUNKED_NONE;
    if (chunked == X_CHUNKED_STATUS) upload = 0;
    if (n < 2 || strcmp(seg[0], "2") != 0 ||
        !(((tweets || upload) && post) || (get && (me || timeline || one)) || chunked)) {
        x_not_found(req);
        return;
    }
    sandbox_op op = post ? SANDBOX_OP_WRITE : SANDBOX_OP_READ;
    if (x_fault(&c, op)) return;
    if (!sandbox_req_body_valid(req)) {
        x_invalid(req, "Request body is not valid JSON.");
        return;
    }
    if (x_check_token(&c, op) != 0) return;
    if (chunked)
        sandbox_x_chunked_handle(req, chunked, c.user, n == 5 ? seg[3] : NULL);
    else if (tweets)
        x_publish(&c);
    else if (upload)
        x_upload(&c);
    else if (me)
        sandbox_reply_json(req, 200,
                           json_pack("{s:{s:s,s:s,s:s}}", "data", "id", c.user, "name",
                                     "Sandbox User", "username", "sandbox_user"));
    else if (timeline)
        x_read_timeline(&c, seg[2]);
    else
        x_read_tweet(&c, seg[2]);
}

const sandbox_platform sandbox_x = {X_PLATFORM, X_PREFIX "/", x_handle};
