/* admin.c -- the /_sandbox/ admin API tests and benches drive: healthz,
 * the recorded posts (JSON and TSV), stats, config get/set and reset, and
 * X's chunked uploads (x/uploads).
 * It answers at once, never delayed or faulted, on the MHD thread.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"
#include "facebook_videos.h"
#include "linkedin_documents.h"
#include "linkedin_videos.h"
#include "x_chunked.h"

static void sandbox_admin_error(sandbox_request *req, unsigned status, const char *msg) {
    sandbox_reply_json(req, status, json_pack("{s:s}", "error", msg));
}

static void sandbox_admin_healthz(sandbox_request *req) {
    sandbox_reply_raw(req, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
}

static json_t *sandbox_str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *sandbox_post_json(const sandbox_post *p) {
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:I,s:I}", "sandbox_id",
                     (json_int_t)p->seq, "id", p->id, "platform", p->platform, "page_id",
                     p->page_id, "kind", p->kind, "message", sandbox_str_or_null(p->message),
                     "link", sandbox_str_or_null(p->link), "photo_url",
                     sandbox_str_or_null(p->photo_url), "photo_id",
                     sandbox_str_or_null(p->photo_id), "token", sandbox_str_or_null(p->token),
                     "in_reply_to", sandbox_str_or_null(p->in_reply_to), "published", p->published,
                     "hung", p->hung, "received_at_ms", (json_int_t)p->received_at_ms,
                     "accepted_at_ms", (json_int_t)p->accepted_at_ms);
}

static int sandbox_post_matches(const sandbox_post *p, const char *page, const char *pf) {
    return (page == NULL || strcmp(p->page_id, page) == 0) &&
           (pf == NULL || strcmp(p->platform, pf) == 0);
}

static void sandbox_admin_posts(sandbox_request *req) {
    const char *page = sandbox_req_query(req, "page_id");
    const char *pf = sandbox_req_query(req, "platform");
    json_t *arr = json_array();
    int rc = arr ? 0 : -1;
    pthread_mutex_lock(&server.lock);
    for (size_t i = 0; i < server.nposts && rc == 0; i++)
        if (sandbox_post_matches(server.posts[i], page, pf))
            rc = json_array_append_new(arr, sandbox_post_json(server.posts[i]));
    pthread_mutex_unlock(&server.lock);
    if (rc != 0) {
        json_decref(arr);
        arr = NULL;
    }
    sandbox_reply_json(req, MHD_HTTP_OK, arr ? json_pack("{s:o}", "posts", arr) : NULL);
}

/* TSV field: backslash, tab, CR and LF escaped so one post = one line. */
static void sandbox_tsv_field(sandbox_buf *b, const char *s) {
    for (; s && *s; s++) {
        const char *esc = *s == '\t'   ? "\\t"
                          : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r"
                          : *s == '\\' ? "\\\\"
                                       : NULL;
        if (esc)
            sandbox_buf_str(b, esc);
        else
            sandbox_buf_add(b, s, 1);
    }
}

static void sandbox_tsv_post(sandbox_buf *b, const sandbox_post *p) {
    char num[32];
    snprintf(num, sizeof(num), "\t%" PRId64 "\t", p->accepted_at_ms);
    sandbox_tsv_field(b, p->page_id);
    sandbox_buf_add(b, "\t", 1);
    sandbox_tsv_field(b, p->message);
    sandbox_buf_str(b, num);
    sandbox_tsv_field(b, p->id);
    sandbox_buf_add(b, "\n", 1);
}

static void sandbox_admin_posts_tsv(sandbox_request *req) {
    const char *page = sandbox_req_query(req, "page_id");
    const char *pf = sandbox_req_query(req, "platform");
    sandbox_buf b = {NULL, 0, 0, 0};
    sandbox_buf_add(&b, "", 0); /* an empty list is still a valid body */
    pthread_mutex_lock(&server.lock);
    for (size_t i = 0; i < server.nposts; i++)
        if (sandbox_post_matches(server.posts[i], page, pf)) sandbox_tsv_post(&b, server.posts[i]);
    pthread_mutex_unlock(&server.lock);
    if (b.oom) {
        free(b.p);
        sandbox_admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    sandbox_reply_raw(req, MHD_HTTP_OK, "text/tab-separated-values", b.p);
}

/* Largest number of accepted publishes of one page inside any window of
 * rate_window_ms: what a test compares with the configured limit. */
static long sandbox_max_in_window_locked(void) {
    long best = 0, window = server.knobs.rate_window_ms;
    for (size_t i = 0; i < server.pages.nbuckets; i++) {
        for (sandbox_dict_entry *e = server.pages.buckets[i]; e; e = e->next) {
            const sandbox_page *pg = e->val;
            for (size_t lo = 0, hi = 0; hi < pg->len; hi++) {
                while (lo < hi &&
                       pg->posts[lo]->accepted_at_ms <= pg->posts[hi]->accepted_at_ms - window)
                    lo++;
                if ((long)(hi - lo + 1) > best) best = (long)(hi - lo + 1);
            }
        }
    }
    return best;
}

static json_t *sandbox_errors_json_locked(void) {
    json_t *o = json_object();
    char code[16];
    int rc = o ? 0 : -1;
    for (size_t i = 0; i < server.stats.nerrors && rc == 0; i++) {
        snprintf(code, sizeof(code), "%d", server.stats.errors[i].code);
        rc = json_object_set_new(o, code, json_integer((json_int_t)server.stats.errors[i].n));
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *sandbox_stats_json_locked(void) {
    const sandbox_stats *s = &server.stats;
    json_t *errors = sandbox_errors_json_locked();
    if (errors == NULL) return NULL;
    json_t *oauth = sandbox_oauth_stats_json();
    if (oauth == NULL) {
        json_decref(errors);
        return NULL;
    }
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:o}", "requests",
        (json_int_t)s->requests, "connections", (json_int_t)s->connections, "accepted",
        (json_int_t)server.nposts, "duplicate_accepts", (json_int_t)s->duplicate_accepts,
        "duplicates_rejected", (json_int_t)s->duplicates_rejected, "hangs", (json_int_t)s->hangs,
        "hang_drops", (json_int_t)s->hang_drops, "closes", (json_int_t)s->closes, "resends",
        (json_int_t)s->resends, "errors_after_commit", (json_int_t)s->errors_after_commit,
        "quota_refusals", (json_int_t)s->quota_refusals, "held", (json_int_t)server.held_count,
        "in_flight", (json_int_t)s->in_flight, "max_in_flight", (json_int_t)s->max_in_flight,
        "errors", errors, "max_posts_per_page_in_window",
        (json_int_t)sandbox_max_in_window_locked(), "rate_window_ms",
        (json_int_t)server.knobs.rate_window_ms, "oauth", oauth);
}

long sandbox_token_ttl_s(void) {
    pthread_mutex_lock(&server.lock);
    long ttl = server.knobs.token_ttl_s;
    pthread_mutex_unlock(&server.lock);
    return ttl;
}

static void sandbox_admin_stats(sandbox_request *req) {
    pthread_mutex_lock(&server.lock);
    json_t *o = sandbox_stats_json_locked();
    pthread_mutex_unlock(&server.lock);
    sandbox_reply_json(req, MHD_HTTP_OK, o);
}

static void sandbox_admin_config_get(sandbox_request *req) {
    pthread_mutex_lock(&server.lock);
    json_t *o = sandbox_knobs_json(&server.knobs, server.seed);
    pthread_mutex_unlock(&server.lock);
    sandbox_reply_json(req, MHD_HTTP_OK, o);
}

/* All-or-nothing: knobs are validated on a copy, then swapped in. */
static void sandbox_admin_config_post(sandbox_request *req) {
    json_error_t jerr;
    char err[128];
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        sandbox_admin_error(req, MHD_HTTP_BAD_REQUEST, "body must be a JSON object");
        return;
    }
    pthread_mutex_lock(&server.lock);
    sandbox_knobs k = server.knobs;
    uint64_t seed = server.seed;
    int rc = sandbox_knobs_from_json(&k, &seed, body, err, sizeof(err));
    if (rc == 0) {
        server.knobs = k;
        if (seed != server.seed) sandbox_rng_seed_locked(seed);
    }
    pthread_mutex_unlock(&server.lock);
    json_decref(body);
    if (rc != 0)
        sandbox_admin_error(req, MHD_HTTP_BAD_REQUEST, err);
    else
        sandbox_admin_config_get(req);
}

/* Forgets posts and counters and restarts the RNG from the seed, so each
 * test case after a reset sees the same fault sequence. In-flight requests
 * are untouched (and will still be recorded when they answer). */
static void sandbox_admin_reset(sandbox_request *req) {
    pthread_mutex_lock(&server.lock);
    sandbox_store_clear_locked();
    free(server.stats.errors);
    long in_flight = server.stats.in_flight;
    memset(&server.stats, 0, sizeof(server.stats));
    server.stats.in_flight = server.stats.max_in_flight = in_flight;
    server.next_post_seq = 0;
    sandbox_rng_seed_locked(server.seed);
    pthread_mutex_unlock(&server.lock);
    sandbox_oauth_reset();
    sandbox_x_chunked_reset();
    sandbox_li_videos_reset();
    sandbox_fb_videos_reset();
    sandbox_li_documents_reset();
    sandbox_reply_json(req, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
}

/* LinkedIn's video uploads as they arrived (linkedin_videos.c). */
static void sandbox_admin_li_videos(sandbox_request *req) {
    sandbox_reply_json(req, MHD_HTTP_OK, sandbox_li_videos_json());
}

/* Facebook's page video and reel uploads (facebook_videos.c). */
static void sandbox_admin_fb_videos(sandbox_request *req) {
    sandbox_reply_json(req, MHD_HTTP_OK, sandbox_fb_videos_json());
}

/* LinkedIn's document uploads as they went (linkedin_documents.c). */
static void sandbox_admin_li_documents(sandbox_request *req) {
    sandbox_reply_json(req, MHD_HTTP_OK, sandbox_li_documents_json());
}

/* X's chunked uploads as they arrived (x_chunked.c). */
static void sandbox_admin_x_uploads(sandbox_request *req) {
    sandbox_reply_json(req, MHD_HTTP_OK, sandbox_x_chunked_json());
}

static const struct sandbox_admin_route {
    const char *method;
    const char *path;
    void (*fn)(sandbox_request *req);
} sandbox_admin_routes[] = {
    {"GET", "healthz", sandbox_admin_healthz},
    {"GET", "posts", sandbox_admin_posts},
    {"GET", "posts.tsv", sandbox_admin_posts_tsv},
    {"GET", "stats", sandbox_admin_stats},
    {"GET", "config", sandbox_admin_config_get},
    {"POST", "config", sandbox_admin_config_post},
    {"POST", "reset", sandbox_admin_reset},
    {"GET", "x/uploads", sandbox_admin_x_uploads},
    {"GET", "linkedin/videos", sandbox_admin_li_videos},
    {"GET", "facebook/videos", sandbox_admin_fb_videos},
    {"GET", "linkedin/documents", sandbox_admin_li_documents},
};

void sandbox_admin_handle(sandbox_request *req) {
    const char *sub = req->path + strlen(SANDBOX_ADMIN_PREFIX);
    int path_known = 0;
    for (size_t i = 0; i < sizeof(sandbox_admin_routes) / sizeof(sandbox_admin_routes[0]); i++) {
        const struct sandbox_admin_route *r = &sandbox_admin_routes[i];
        if (strcmp(r->path, sub) != 0) continue;
        path_known = 1;
        if (strcmp(r->method, req->method) == 0) {
            r->fn(req);
            return;
        }
    }
    if (path_known)
        sandbox_admin_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    else
        sandbox_admin_error(req, MHD_HTTP_NOT_FOUND, "unknown admin route");
}
