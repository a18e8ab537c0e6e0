/* x.c -- X (Twitter) through the v2 API, as the account's user.
 *
 * Publish: one call.
 *   POST {base}/{version}/tweets  {"text": ...}   Bearer <user token>
 *     -> 201 {"data":{"id","text"}}
 * The post's link, when the text does not already carry it, is appended on
 * its own line: X has no separate link field and makes a card from the URL.
 * Verify (a previous attempt died after sending):
 *   GET {base}/{version}/users/{user-id}/tweets?start_time=T&max_results=100
 *       &tweet.fields=created_at,text
 * and look for our text. X refuses a second tweet with the same text, so
 * text equality identifies our post; its created_at goes in the result, so
 * that a 403 "duplicate content" can be told apart from our own post (a
 * proxy's resend) and an older one (runtime.c, duplicate_reads_back).
 * X shows URLs as t.co links and escapes &, < and > in "text", so both
 * sides are compared with URLs masked, entities decoded and NFC applied.
 *
 * Errors are "problem" JSON {"title","detail","type","status"}:
 *   401                          -> reauth (expired or revoked user token)
 *   403 "...duplicate content."  -> duplicate
 *   403 other, 400, 404, ...     -> permanent
 *   429                          -> retry at x-rate-limit-reset (epoch s) or
 *                                   Retry-After, whichever is later (the
 *                                   user's limit, or the app's when
 *                                   x-app-limit-24hour-remaining is 0); quota
 *                                   when the user's 24-hour post allowance is
 *                                   spent (x-user-limit-24hour-remaining: 0),
 *                                   until x-user-limit-24hour-reset
 *   503                          -> retry (X overloaded, nothing done)
 *   other 5xx on the publish     -> ambiguous: a gateway error can come after
 *                                   X stored the tweet, so the next attempt
 *                                   reads back before posting again
 *   no answer after sending      -> ambiguous
 *
 * Images (up to 4): before the post, each is downloaded from its URL (no
 * token sent there; at most 5 MiB, X's image limit) and uploaded with
 *   POST {base}/{version}/media/upload   multipart: media, media_category
 *     -> {"data":{"id"}}
 * then the tweet carries {"media":{"media_ids":[...]}}. A failure in those
 * steps publishes nothing, so it is retried or failed, never ambiguous.
 * A video or an animated GIF (one, alone) goes through X's chunked upload
 * instead (x_video.c: initialize, ranged reads of the media URL appended
 * chunk by chunk, finalize, processing status), then the tweet names it;
 * the tweet stays the one ambiguous call, read back as above.
 * A thread's part or a first comment (chain.h, in->reply_to) is the same
 * tweet with "reply":{"in_reply_to_tweet_id"}; its read-back asks for
 * referenced_tweets and matches only a reply to that parent. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adapter.h"
#include "ap_time.h"
#include "x.h"
#include "x_text.h"
#include "x_video.h"

#define X_MAX_IMAGES 4
#define X_VERIFY_MAX_PAGES 10 /* 10 x 100 tweets since the lost attempt */
#define X_RATE_LIMIT_DEFAULT_MS (60 * 1000)
#define X_DUPLICATE_DETAIL "duplicate content"
#define X_URL_MARK "\x01" /* stands for any URL when comparing texts */
#define X_MAX_IMAGE_BYTES (5 * 1024 * 1024)

/* X_VIDEO: the chunked upload of a video or GIF (x_video.c) is under way. */
typedef enum x_phase { X_FETCH, X_UPLOAD, X_VIDEO, X_TWEET } x_phase;

typedef struct x_flow {
    int calls;
    char *next_token; /* AP_FLOW_VERIFY: meta.next_token of the last page */
    x_phase phase;    /* AP_FLOW_PUBLISH: which request is in flight */
    size_t media;     /* the image being fetched or uploaded */
    char *bytes;      /* its content, between download and upload */
    size_t nbytes;
    char content_type[64];
    char media_ids[X_MAX_IMAGES][32];
    ap_x_video *video; /* the job's video or GIF; NULL for images or text */
    bool started;      /* AP_FLOW_PUBLISH: the first request went out */
} x_flow;

/* The text we post: text, plus the link on its own line unless the text
 * already contains it. Caller frees. */
static char *x_compose(const ap_job *job) {
    const char *text = job->text ? job->text : "";
    const char *link = job->link ? job->link : "";
    if (*link == '\0' || strstr(text, link) != NULL) return strdup(text);
    size_t n = strlen(text) + strlen(link) + 2;
    char *m = malloc(n);
    if (m) snprintf(m, n, "%s%s%s", text, *text ? "\n" : "", link);
    return m;
}

static bool x_is_moving(const Autopost__V1__Media *m) {
    return m->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO ||
           m->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF;
}

/* The job's video or GIF (X takes one, alone), or -1. */
static long x_moving_index(const ap_job *job) {
    for (size_t i = 0; i < job->n_media; i++)
        if (x_is_moving(job->media[i])) return (long)i;
    return -1;
}

static bool x_validate(const ap_job *job, char *reason, size_t len) {
    if (!ap_validate_common(job, X_MAX_IMAGES, reason, len)) return false;
    for (size_t i = 0; i < job->n_media; i++)
        if (job->media[i]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT) {
            snprintf(reason, len, "X does not take documents (media %zu)", i + 1);
            return false;
        }
    if (x_moving_index(job) >= 0 && job->n_media > 1) {
        snprintf(reason, len, "X takes up to %d images or one video or GIF, not several or mixed",
                 X_MAX_IMAGES);
        return false;
    }
    char *text = x_compose(job);
    if (text == NULL) {
        snprintf(reason, len, "out of memory while checking the text");
        return false;
    }
    long weight = ap_x_weighted_length(text);
    free(text);
    if (weight < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (weight > AP_X_MAX_WEIGHTED) {
        snprintf(reason, len,
                 "text weighs %ld; X allows %d (a URL counts %d, most letters outside Latin, "
                 "incl. Vietnamese with tone marks, and emoji count 2)",
                 weight, AP_X_MAX_WEIGHTED, AP_X_URL_WEIGHT);
        return false;
    }
    const char *id = job->account_external_id;
    if (id == NULL || *id == '\0' || strlen(id) > 20 || strspn(id, "0123456789") != strlen(id)) {
        snprintf(reason, len, "account has no valid X user id (digits)");
        return false;
    }
    return true;
}

static void *x_flow_new(const ap_flow_input *in) {
    x_flow *f = calloc(1, sizeof(x_flow));
    long moving = x_moving_index(in->job);
    if (f && moving >= 0) {
        f->video = ap_x_video_new(in, (size_t)moving, (size_t)in->platform->media_chunk_bytes);
        if (f->video == NULL) {
            free(f);
            return NULL;
        }
    }
    return f;
}

static void x_flow_free(void *state) {
    x_flow *f = state;
    if (f) {
        free(f->next_token);
        free(f->bytes);
        ap_x_video_free(f->video);
    }
    free(f);
}

static int x_build_publish(const ap_flow_input *in, const x_flow *f, ap_http_request *req) {
    char url[1024];
    int n = snprintf(url, sizeof(url), "%s/%s/tweets", in->platform->base_url,
                     in->platform->api_version);
    ap_http_request_init(req, "POST");
    req->once = true; /* the post itself: never resent below us */
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    char *text = x_compose(in->job);
    json_t *body = text ? json_object() : NULL;
    if (body && *text && json_object_set_new(body, "text", json_string(text)) != 0) {
        json_decref(body);
        body = NULL;
    }
    free(text);
    /* A thread's part or a first comment (chain.h): a reply. */
    if (body && in->reply_to &&
        json_object_set_new(body, "reply",
                            json_pack("{s:s}", "in_reply_to_tweet_id", in->reply_to)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (body && in->job->n_media > 0) {
        json_t *ids = json_array();
        for (size_t i = 0; ids && i < in->job->n_media; i++)
            if (json_array_append_new(ids, json_string(f->media_ids[i])) != 0) {
                json_decref(ids);
                ids = NULL;
            }
        if (ids == NULL ||
            json_object_set_new(body, "media", json_pack("{s:o}", "media_ids", ids))) {
            json_decref(body);
            body = NULL;
        }
    }
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    req->url = strdup(url);
    if (req->body == NULL || req->url == NULL) return -1;
    req->body_len = strlen(req->body);
    if (ap_http_request_add_header(req, "Content-Type", "application/json") != 0) return -1;
    return ap_flow_bearer_header(req, in->token);
}

/* The read-back of the user's timeline since the lost attempt (a minute of
 * slack for clock skew), page after page via pagination_token. */
static int x_build_verify(const ap_flow_input *in, const char *page_token, ap_http_request *req) {
    char url[1536], when[32], token_param[600] = "";
    long long since = (in->since_ms / 1000) - 60;
    time_t t = (time_t)(since > 0 ? since : 0);
    struct tm tm;
    ap_http_request_init(req, "GET");
    if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -1;
    if (page_token) {
        char *esc = ap_http_urlencode(page_token);
        if (esc == NULL || strlen(esc) > 500) {
            free(esc);
            return -1;
        }
        snprintf(token_param, sizeof(token_param), "&pagination_token=%s", esc);
        free(esc);
    }
    int n =
        snprintf(url, sizeof(url),
                 "%s/%s/users/%s/tweets?start_time=%s&max_results=100"
                 "&tweet.fields=created_at,text%s%s",
                 in->platform->base_url, in->platform->api_version, in->job->account_external_id,
                 when, in->reply_to ? ",referenced_tweets" : "", token_param);
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    req->url = strdup(url);
    if (req->url == NULL) return -1;
    return ap_flow_bearer_header(req, in->token);
}

/* Milliseconds until the epoch second in header name; -1 when absent or
 * more than a day away (not a window we know). */
static int64_t x_epoch_wait_ms(const ap_http_response *res, const char *name, int64_t now) {
    const char *reset = ap_http_response_header(res, name);
    int64_t wait = -1;
    if (reset) {
        char *end;
        long long epoch = strtoll(reset, &end, 10);
        /* Ignore nonsense: a reset more than a day away is not a window. */
        if (end != reset && *end == '\0' && epoch > 0 && epoch < now / 1000 + 86400) {
            int64_t ms = epoch * 1000 - now;
            wait = ms > 0 ? ms : 0;
        }
    }
    return wait;
}

/* Longest wait X asks for: x-rate-limit-reset is an epoch second,
 * Retry-After seconds or a date. -1 when neither is usable. */
static int64_t x_rate_wait_ms(const ap_http_response *res) {
    int64_t now = ap_now_ms(), wait = x_epoch_wait_ms(res, "x-rate-limit-reset", now);
    long long ra = ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), now);
    return ra > wait ? ra : wait;
}

/* The problem's detail (or title), copied into buf. */
static void x_problem_text(const ap_http_response *res, char *buf, size_t len) {
    json_t *root = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    const char *msg = NULL;
    if (json_is_object(root)) {
        json_t *d = json_object_get(root, "detail"), *t = json_object_get(root, "title");
        json_t *errs = json_object_get(root, "errors");
        if (json_is_string(d))
            msg = json_string_value(d);
        else if (json_is_array(errs) &&
                 json_is_string(json_object_get(json_array_get(errs, 0), "message")))
            msg = json_string_value(json_object_get(json_array_get(errs, 0), "message"));
        else if (json_is_string(t))
            msg = json_string_value(t);
    }
    snprintf(buf, len, "%s", msg ? msg : "no error details in the response");
    json_decref(root);
}

static bool x_daily_spent(const ap_http_response *res) {
    const char *left = ap_http_response_header(res, "x-user-limit-24hour-remaining");
    return left && strcmp(left, "0") == 0;
}

static bool x_app_spent(const ap_http_response *res) {
    const char *left = ap_http_response_header(res, "x-app-limit-24hour-remaining");
    return left && strcmp(left, "0") == 0;
}

void ap_x_classify_error(const ap_http_response *res, bool publishing, ap_flow_result *r) {
    char detail[300], code[32];
    x_problem_text(res, detail, sizeof(detail));
    snprintf(code, sizeof(code), "http_%ld", res->status);
    if (res->status == 401) {
        ap_flow_fail(r, AP_CLASS_REAUTH, res->status, code,
                     "X refused the user token (expired or revoked); reconnect the account: %s",
                     detail);
    } else if (res->status == 403 && strstr(detail, X_DUPLICATE_DETAIL) != NULL) {
        ap_flow_fail(r, AP_CLASS_DUPLICATE, res->status, "duplicate",
                     "X rejected the text as a duplicate of a recent post: %s", detail);
    } else if (res->status == 429 && x_daily_spent(res)) {
        int64_t wait = x_epoch_wait_ms(res, "x-user-limit-24hour-reset", ap_now_ms());
        ap_flow_fail(r, AP_CLASS_QUOTA, res->status, "user_24h_limit",
                     "the account's 24-hour X post allowance is spent: %s", detail);
        r->retry_after_ms = wait > 0 ? wait : X_RATE_LIMIT_DEFAULT_MS;
        r->pause = AP_PAUSE_ACCOUNT;
    } else if (res->status == 429) {
        int64_t wait = x_rate_wait_ms(res);
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code, "rate limited by X: %s", detail);
        r->retry_after_ms = wait > 0 ? wait : X_RATE_LIMIT_DEFAULT_MS;
        /* The app's 24-hour allowance spent: every user of the app waits. */
        r->pause = x_app_spent(res) ? AP_PAUSE_APP : AP_PAUSE_ACCOUNT;
    } else if (res->status == 503 || (res->status >= 500 && !publishing)) {
        long long ra =
            ap_http_retry_after_ms(ap_http_response_header(res, "retry-after"), ap_now_ms());
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, code, "X is unavailable: %s", detail);
        r->retry_after_ms = ra > 0 ? ra : 0;
    } else if (res->status >= 500) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, code,
                     "X answered %ld after the post was sent; it may be live: %s", res->status,
                     detail);
    } else {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, code, "X refused the post: %s", detail);
    }
}

static void x_set_published(ap_flow_result *r, long status, const char *id) {
    r->error_class = AP_CLASS_NONE;
    r->http_status = status;
    snprintf(r->external_id, sizeof(r->external_id), "%s", id);
    snprintf(r->external_url, sizeof(r->external_url), "https://x.com/i/web/status/%s", id);
}

bool ap_x_id_text_ok(const char *id, size_t len) {
    return len > 0 && len <= 32 && strlen(id) == len && strspn(id, "0123456789") == len;
}

static bool x_id_ok(json_t *id) {
    return json_is_string(id) && ap_x_id_text_ok(json_string_value(id), json_string_length(id));
}

static void x_parse_publish(const ap_http_response *res, ap_flow_result *r) {
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    json_t *id = json_object_get(json_object_get(root, "data"), "id");
    if (x_id_ok(id))
        x_set_published(r, res->status, json_string_value(id));
    else /* accepted without an id: the post may exist; don't repost blindly */
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "no_id",
                     "X answered %ld without a post id", res->status);
    json_decref(root);
}

/* ---- read-back matching --------------------------------------------------- */

typedef struct x_masker {
    const char *s;
    size_t pos;
    char *out;
    size_t len;
} x_masker;

static void x_mask_url(size_t start, size_t len, void *ud) {
    x_masker *m = ud;
    memcpy(m->out + m->len, m->s + m->pos, start - m->pos);
    m->len += start - m->pos;
    memcpy(m->out + m->len, X_URL_MARK, 1);
    m->len++;
    m->pos = start + len;
}

/* X escapes &, < and > in the text it returns; one pass, so "&amp;lt;"
 * comes back as "&lt;" as the author typed it. */
static void x_decode_entities(char *s) {
    static const struct {
        const char *entity;
        char ch;
    } entities[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}};
    char *w = s;
    for (const char *r = s; *r;) {
        size_t e = 0, n = sizeof(entities) / sizeof(entities[0]);
        while (e < n && strncmp(r, entities[e].entity, strlen(entities[e].entity)) != 0) e++;
        if (e < n) {
            *w++ = entities[e].ch;
            r += strlen(entities[e].entity);
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* The form two texts are compared in: entities decoded, NFC, URLs masked.
 * Caller frees; NULL when the text is not UTF-8 or out of memory. */
static char *x_match_key(const char *text, bool from_x) {
    char *plain = strdup(text);
    if (plain == NULL) return NULL;
    if (from_x) x_decode_entities(plain);
    char *nfc = ap_x_nfc(plain);
    free(plain);
    if (nfc == NULL) return NULL;
    x_masker m = {nfc, 0, malloc(strlen(nfc) + 1), 0};
    if (m.out == NULL) {
        free(nfc);
        return NULL;
    }
    size_t n = strlen(nfc);
    ap_x_find_urls(nfc, n, x_mask_url, &m);
    memcpy(m.out + m.len, nfc + m.pos, n - m.pos);
    m.out[m.len + n - m.pos] = '\0';
    free(nfc);
    return m.out;
}

/* X shows a tweet's images as one more link at the end of its text. */
static bool x_same_without_media_link(const char *got, const char *want) {
    size_t n = strlen(got);
    if (n == 0 || got[n - 1] != X_URL_MARK[0]) return false;
    n--;
    while (n > 0 && (got[n - 1] == ' ' || got[n - 1] == '\n')) n--;
    return strlen(want) == n && strncmp(got, want, n) == 0;
}

static void x_remember_next(x_flow *f, json_t *root) {
    free(f->next_token);
    f->next_token = NULL;
    json_t *t = json_object_get(json_object_get(root, "meta"), "next_token");
    if (json_is_string(t) && json_string_length(t) > 0 && json_string_length(t) <= 256)
        f->next_token = strdup(json_string_value(t));
}

/* A chain's message is ours only as a reply to its parent: the same text
 * may open another thread. X lists {"type":"replied_to","id"} in
 * referenced_tweets. */
static bool x_replies_to(json_t *tweet, const char *parent) {
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(tweet, "referenced_tweets"), i, ref) {
        json_t *type = json_object_get(ref, "type"), *id = json_object_get(ref, "id");
        if (json_is_string(type) && strcmp(json_string_value(type), "replied_to") == 0 &&
            json_is_string(id) && strcmp(json_string_value(id), parent) == 0)
            return true;
    }
    return false;
}

static void x_parse_verify(x_flow *f, const ap_flow_input *in, const ap_http_response *res,
                           ap_flow_result *r) {
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    json_t *data = json_object_get(root, "data");
    char *text = x_compose(in->job), *want = text ? x_match_key(text, false) : NULL;
    free(text);
    /* No tweets in the window: X leaves "data" out and says result_count 0. */
    if (data == NULL &&
        json_is_integer(json_object_get(json_object_get(root, "meta"), "result_count")))
        data = json_array();
    else
        json_incref(data);
    if (!json_is_array(data) || want == NULL) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_unreadable",
                     "could not read the X timeline to check whether the post went live");
        goto cleanup;
    }
    if (*want == '\0') {
        /* Only images: nothing to recognise the post by, and "not found"
         * would let the runtime post it a second time. */
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_no_text",
                     "a post without text cannot be looked up on the X timeline");
        goto cleanup;
    }
    size_t i;
    json_t *item;
    json_array_foreach(data, i, item) {
        json_t *t = json_object_get(item, "text"), *id = json_object_get(item, "id");
        if (!json_is_string(t) || !x_id_ok(id)) continue;
        if (in->reply_to && !x_replies_to(item, in->reply_to)) continue;
        char *got = x_match_key(json_string_value(t), true);
        bool same = got && (strcmp(got, want) == 0 ||
                            (in->job->n_media > 0 && x_same_without_media_link(got, want)));
        free(got);
        if (same) {
            x_set_published(r, res->status, json_string_value(id));
            /* Unparsable, absent or before 1970: 0, "not said" (the runtime
             * decides). */
            json_t *at = json_object_get(item, "created_at");
            if (!json_is_string(at) ||
                ap_time_parse_rfc3339(json_string_value(at), &r->created_at_ms) != 0 ||
                r->created_at_ms < 0)
                r->created_at_ms = 0;
            goto cleanup;
        }
    }
    x_remember_next(f, root);
    r->not_found = true;
    ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_not_found",
                 "post not found on the X timeline");
cleanup:
    free(want);
    json_decref(data);
    json_decref(root);
}

/* ---- media: download, then upload --------------------------------------- */

static int x_build_fetch(const ap_flow_input *in, const x_flow *f, ap_http_request *req) {
    return ap_media_build_fetch(req, in->job->media[f->media]->url, X_MAX_IMAGE_BYTES);
}

/* Appends n bytes to a growing buffer; -1 when out of memory. */
static int x_buf_add(char **buf, size_t *len, const void *data, size_t n) {
    char *grown = realloc(*buf, *len + n + 1);
    if (grown == NULL) return -1;
    memcpy(grown + *len, data, n);
    *len += n;
    grown[*len] = '\0';
    *buf = grown;
    return 0;
}

static bool x_contains(const char *buf, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (buf[i] == needle[0] && memcmp(buf + i, needle, k) == 0) return true;
    return false;
}

/* multipart/form-data with media_category and the image bytes. */
static int x_build_upload(const ap_flow_input *in, const x_flow *f, ap_http_request *req) {
    char url[1024], boundary[64], head[512], ctype[128];
    int n = snprintf(url, sizeof(url), "%s/%s/media/upload", in->platform->base_url,
                     in->platform->api_version);
    ap_http_request_init(req, "POST");
    if (n < 0 || (size_t)n >= sizeof(url)) return -1;
    /* A boundary that does not occur in the image. */
    unsigned salt = 0;
    do
        snprintf(boundary, sizeof(boundary), "autopost-%.8s-%zu-%u", in->job->schedule_id, f->media,
                 salt++);
    while (x_contains(f->bytes, f->nbytes, boundary));
    int h = snprintf(head, sizeof(head),
                     "--%s\r\nContent-Disposition: form-data; name=\"media_category\"\r\n\r\n"
                     "tweet_image\r\n--%s\r\nContent-Disposition: form-data; name=\"media\"; "
                     "filename=\"media\"\r\nContent-Type: %s\r\n\r\n",
                     boundary, boundary, f->content_type);
    char tail[96];
    int t = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
    if (h < 0 || (size_t)h >= sizeof(head) || t < 0 || (size_t)t >= sizeof(tail)) return -1;
    size_t len = 0;
    if (x_buf_add(&req->body, &len, head, (size_t)h) != 0 ||
        x_buf_add(&req->body, &len, f->bytes, f->nbytes) != 0 ||
        x_buf_add(&req->body, &len, tail, (size_t)t) != 0)
        return -1;
    req->body_len = len;
    req->url = strdup(url);
    snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
    if (req->url == NULL || ap_http_request_add_header(req, "Content-Type", ctype) != 0) return -1;
    return ap_flow_bearer_header(req, in->token);
}

static bool x_take_download(x_flow *f, const ap_http_response *res, ap_flow_result *r) {
    free(f->bytes);
    f->bytes = NULL;
    return ap_media_take_download(res, f->media, X_MAX_IMAGE_BYTES, &f->bytes, &f->nbytes,
                                  f->content_type, sizeof(f->content_type), r);
}

/* The upload's answer: the media id, or the end of the flow. Nothing is
 * public yet, so no answer here is ambiguous. */
static bool x_take_upload(x_flow *f, const ap_http_response *res, ap_flow_result *r) {
    free(f->bytes);
    f->bytes = NULL;
    f->nbytes = 0;
    if (res->transport_error != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "media_upload", "image %zu upload failed: %s",
                     f->media + 1, res->transport_message);
        return false;
    }
    if (res->status < 200 || res->status >= 300) {
        ap_x_classify_error(res, false, r);
        if (r->error_class == AP_CLASS_DUPLICATE || r->error_class == AP_CLASS_AMBIGUOUS)
            r->error_class = AP_CLASS_RETRY;
        return false;
    }
    json_t *root = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
    json_t *id = json_object_get(json_object_get(root, "data"), "id");
    if (!json_is_string(id)) id = json_object_get(root, "media_id_string"); /* v1.1 shape */
    bool ok = x_id_ok(id);
    if (ok)
        snprintf(f->media_ids[f->media], sizeof(f->media_ids[0]), "%s", json_string_value(id));
    else
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "media_upload",
                     "X accepted image %zu without a media id", f->media + 1);
    json_decref(root);
    return ok;
}

/* The video or GIF's upload, then the tweet once X has processed it. */
static ap_step_kind x_video_step(x_flow *f, const ap_flow_input *in, const ap_http_response *prev,
                                 ap_http_request *req, int64_t *wait_ms, ap_flow_result *r) {
    ap_step_kind k = ap_x_video_step(f->video, in, prev, req, wait_ms, r);
    if (k == AP_STEP_REQUEST) f->calls++;
    if (k != AP_STEP_DONE || ap_x_video_state_of(f->video) != AP_XV_READY) return k;
    snprintf(f->media_ids[0], sizeof(f->media_ids[0]), "%s", ap_x_video_media_id(f->video));
    f->phase = X_TWEET;
    if (x_build_publish(in, f, req) != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "could not build the request");
        return AP_STEP_DONE;
    }
    f->calls++;
    return AP_STEP_REQUEST;
}

/* The next request of a publish flow after the answer prev (NULL first and
 * after a wait). */
static ap_step_kind x_publish_step(x_flow *f, const ap_flow_input *in, const ap_http_response *prev,
                                   ap_http_request *req, int64_t *wait_ms, ap_flow_result *r) {
    if (!f->started) {
        f->started = true;
        f->phase = f->video ? X_VIDEO : in->job->n_media > 0 ? X_FETCH : X_TWEET;
    } else if (f->phase == X_VIDEO) {
        return x_video_step(f, in, prev, req, wait_ms, r);
    } else if (prev && f->phase == X_FETCH) {
        if (!x_take_download(f, prev, r)) return AP_STEP_DONE;
        f->phase = X_UPLOAD;
    } else if (prev && f->phase == X_UPLOAD) {
        if (!x_take_upload(f, prev, r)) return AP_STEP_DONE;
        f->media++;
        f->phase = f->media < in->job->n_media ? X_FETCH : X_TWEET;
    }
    if (f->phase == X_VIDEO) return x_video_step(f, in, NULL, req, wait_ms, r);
    int rc = f->phase == X_FETCH    ? x_build_fetch(in, f, req)
             : f->phase == X_UPLOAD ? x_build_upload(in, f, req)
                                    : x_build_publish(in, f, req);
    if (rc != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "could not build the request");
        return AP_STEP_DONE;
    }
    f->calls++;
    return AP_STEP_REQUEST;
}

static ap_step_kind x_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                           ap_http_request *req, int64_t *wait_ms, ap_flow_result *result) {
    x_flow *f = state;
    bool verify = in->mode == AP_FLOW_VERIFY;
    if (!verify && (prev == NULL || f->phase != X_TWEET))
        return x_publish_step(f, in, prev, req, wait_ms, result);
    if (prev == NULL) {
        int rc = x_build_verify(in, NULL, req);
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
            x_parse_publish(prev, result);
            return AP_STEP_DONE;
        }
        x_parse_verify(f, in, prev, result);
        if (result->not_found && f->next_token) {
            if (f->calls >= X_VERIFY_MAX_PAGES) {
                /* Ran out of pages to check: we cannot say it is absent. */
                result->not_found = false;
                ap_flow_fail(result, AP_CLASS_AMBIGUOUS, prev->status, "verify_too_many",
                             "too many posts on the X timeline since the lost attempt to be sure");
                return AP_STEP_DONE;
            }
            memset(result, 0, sizeof(*result));
            if (x_build_verify(in, f->next_token, req) != 0) {
                ap_flow_fail(result, AP_CLASS_AMBIGUOUS, 0, "internal",
                             "could not build the read-back request");
                return AP_STEP_DONE;
            }
            f->calls++;
            return AP_STEP_REQUEST;
        }
    } else {
        ap_x_classify_error(prev, !verify, result);
    }
    return AP_STEP_DONE;
}

const ap_adapter ap_adapter_x = {
    .name = "x",
    .validate = x_validate,
    .flow_new = x_flow_new,
    .step = x_step,
    .flow_free = x_flow_free,
    .duplicate_reads_back = true,
    .threads = true,
    .first_comments = true,
};
