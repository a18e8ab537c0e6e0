/* store.c -- the sandbox's memory of what it accepted: the counters
 * behind /_sandbox/stats and the post store (every accepted post, indexed by
 * page, by duplicate key and by id), with the per-page rate limiter and
 * duplicate detection the platforms call through sandbox_accept_post().
 * Every function here takes server.lock or expects it held (*_locked).
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

void sandbox_in_flight_add_locked(long n) {
    server.stats.in_flight += n;
    if (server.stats.in_flight > server.stats.max_in_flight)
        server.stats.max_in_flight = server.stats.in_flight;
}

static void sandbox_error_count_locked(int code) {
    sandbox_stats *s = &server.stats;
    for (size_t i = 0; i < s->nerrors; i++) {
        if (s->errors[i].code == code) {
            s->errors[i].n++;
            return;
        }
    }
    if (s->nerrors == s->errcap) {
        size_t cap = s->errcap ? s->errcap * 2 : 16;
        sandbox_error_count *e = realloc(s->errors, cap * sizeof(*e));
        if (e == NULL) return; /* losing a counter beats failing a request */
        s->errors = e;
        s->errcap = cap;
    }
    s->errors[s->nerrors].code = code;
    s->errors[s->nerrors].n = 1;
    s->nerrors++;
}

void sandbox_stats_error(int code) {
    pthread_mutex_lock(&server.lock);
    sandbox_error_count_locked(code);
    pthread_mutex_unlock(&server.lock);
}

void sandbox_stats_error_after_commit(void) {
    pthread_mutex_lock(&server.lock);
    server.stats.errors_after_commit++;
    pthread_mutex_unlock(&server.lock);
}

void sandbox_stats_quota_refusal(void) {
    pthread_mutex_lock(&server.lock);
    server.stats.quota_refusals++;
    pthread_mutex_unlock(&server.lock);
}

uint64_t sandbox_next_object_id(void) {
    pthread_mutex_lock(&server.lock);
    uint64_t id = server.next_object_id++;
    pthread_mutex_unlock(&server.lock);
    return id;
}

uint64_t sandbox_random_aux(void) {
    pthread_mutex_lock(&server.lock);
    uint64_t r = sandbox_rng_next(&server.rng_aux);
    pthread_mutex_unlock(&server.lock);
    return r;
}

/* ------------------------------------------------------------------------
 * Post store
 * --------------------------------------------------------------------- */

/* The store owns its copies; const only protects the platforms' drafts. */
static void sandbox_post_free(sandbox_post *p) {
    if (p == NULL) return;
    free((char *)p->id);
    free((char *)p->page_id);
    free((char *)p->kind);
    free((char *)p->message);
    free((char *)p->link);
    free((char *)p->photo_url);
    free((char *)p->photo_id);
    free((char *)p->token);
    free((char *)p->in_reply_to);
    free(p);
}

static void sandbox_page_free(void *v) {
    sandbox_page *pg = v;
    free(pg->posts);
    free(pg);
}

static sandbox_post *sandbox_post_copy(const sandbox_post *d) {
    sandbox_post *p = calloc(1, sizeof(*p));
    if (p == NULL) return NULL;
    *p = *d;
    p->id = strdup(d->id);
    p->page_id = strdup(d->page_id);
    p->kind = strdup(d->kind);
    p->message = sandbox_strdup_or_null(d->message);
    p->link = sandbox_strdup_or_null(d->link);
    p->photo_url = sandbox_strdup_or_null(d->photo_url);
    p->photo_id = sandbox_strdup_or_null(d->photo_id);
    p->token = sandbox_strdup_or_null(d->token);
    p->in_reply_to = sandbox_strdup_or_null(d->in_reply_to);
    if ((d->in_reply_to && !p->in_reply_to) || !p->id || !p->page_id || !p->kind ||
        (d->message && !p->message) || (d->link && !p->link) || (d->photo_url && !p->photo_url) ||
        (d->photo_id && !p->photo_id) || (d->token && !p->token)) {
        sandbox_post_free(p);
        return NULL;
    }
    return p;
}

static sandbox_page *sandbox_page_get_locked(const char *platform, const char *page_id) {
    char *key = sandbox_key(platform, page_id, NULL);
    sandbox_page *pg;
    if (key == NULL) return NULL;
    pg = sandbox_dict_get(&server.pages, key);
    if (pg == NULL && (pg = calloc(1, sizeof(*pg))) != NULL &&
        sandbox_dict_set(&server.pages, key, pg) != 0) {
        free(pg);
        pg = NULL;
    }
    free(key);
    return pg;
}

/* Index of the first post of pg accepted after now - window. */
static size_t sandbox_page_window_start(const sandbox_page *pg, int64_t now, long window) {
    size_t lo = 0, hi = pg->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pg->posts[mid]->accepted_at_ms > now - window)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Fills r for a page at its limit: retry when enough posts left the window. */
static void sandbox_page_throttle(const sandbox_page *pg, size_t start, int64_t now,
                                  sandbox_accept_result *r) {
    size_t idx = start + (size_t)(r->window_count - r->limit);
    int64_t leaves = pg->posts[idx]->accepted_at_ms + server.knobs.rate_window_ms;
    r->status = SANDBOX_ACCEPT_THROTTLED;
    r->retry_after_ms = leaves - now > 0 ? leaves - now : 1;
}

/* Accept clock: wall time, but never earlier than the previous accept,
 * so per-page lists stay sorted even if the system clock steps back. */
static int64_t sandbox_accept_clock_locked(void) {
    int64_t now = sandbox_wall_ms();
    if (now < server.last_accept_ms) now = server.last_accept_ms;
    server.last_accept_ms = now;
    return now;
}

static int sandbox_store_index_locked(sandbox_post *p, const char *dupkey) {
    char *idkey = sandbox_key(p->platform, p->id, NULL);
    char *photokey = p->photo_id ? sandbox_key(p->platform, p->photo_id, NULL) : NULL;
    int rc = -1;
    if (idkey == NULL || (p->photo_id && photokey == NULL)) goto out;
    if (sandbox_dict_set(&server.ids, idkey, p) != 0) goto out;
    if (photokey && sandbox_dict_set(&server.ids, photokey, p) != 0) {
        sandbox_dict_del(&server.ids, idkey);
        goto out;
    }
    if (dupkey && sandbox_dict_set(&server.messages, dupkey, p) != 0) {
        sandbox_dict_del(&server.ids, idkey);
        if (photokey) sandbox_dict_del(&server.ids, photokey);
        goto out;
    }
    rc = 0;
out:
    free(idkey);
    free(photokey);
    return rc;
}

/* Adds p everywhere; on failure nothing changes and the caller frees p. */
static int sandbox_store_add_locked(sandbox_post *p, sandbox_page *pg, const char *new_dupkey) {
    if (sandbox_reserve((void **)&server.posts, &server.posts_cap, server.nposts + 1,
                        sizeof(*server.posts)) != 0 ||
        sandbox_reserve((void **)&pg->posts, &pg->cap, pg->len + 1, sizeof(*pg->posts)) != 0 ||
        sandbox_store_index_locked(p, new_dupkey) != 0)
        return -1;
    p->seq = ++server.next_post_seq;
    server.posts[server.nposts++] = p;
    pg->posts[pg->len++] = p;
    return 0;
}

/* Page rate limit: fills r and returns 1 when the page is at its limit. */
static int sandbox_rate_limited_locked(const sandbox_page *pg, int64_t now,
                                       sandbox_accept_result *r) {
    const sandbox_knobs *k = &server.knobs;
    size_t start = sandbox_page_window_start(pg, now, k->rate_window_ms);
    r->window_count = (long)(pg->len - start);
    r->limit = k->page_rate_limit;
    if (r->limit <= 0 || k->rate_window_ms <= 0 || r->window_count < r->limit) return 0;
    sandbox_page_throttle(pg, start, now, r);
    return 1;
}

/* Duplicate rule, then the copy into the store. Only published posts with
 * a message take part in duplicate detection. */
static void sandbox_record_locked(sandbox_request *req, const sandbox_post *draft, sandbox_page *pg,
                                  int64_t now, sandbox_accept_result *r) {
    int keyed = draft->published && draft->message && draft->message[0];
    char *dupkey = keyed ? sandbox_key(req->platform->name, draft->page_id, draft->message) : NULL;
    if (keyed && dupkey == NULL) return;
    const sandbox_post *earlier = dupkey ? sandbox_dict_get(&server.messages, dupkey) : NULL;
    long window = server.knobs.duplicate_window_ms;
    int dup = earlier && (window <= 0 || earlier->accepted_at_ms > now - window);
    sandbox_post *p = NULL;
    if (dup && server.knobs.reject_duplicates) {
        server.stats.duplicates_rejected++;
        r->status = SANDBOX_ACCEPT_DUPLICATE;
    } else if ((p = sandbox_post_copy(draft)) != NULL) {
        p->platform = req->platform->name;
        p->received_at_ms = req->received_ms;
        p->accepted_at_ms = now;
        if (sandbox_store_add_locked(p, pg, dup ? NULL : dupkey) == 0) {
            req->committed = 1;
            if (dup) server.stats.duplicate_accepts++;
            r->status = SANDBOX_ACCEPT_OK;
            r->window_count++;
            p = NULL; /* owned by the store now */
        }
    }
    sandbox_post_free(p);
    free(dupkey);
}

static sandbox_accept_result sandbox_accept_locked(sandbox_request *req,
                                                   const sandbox_post *draft) {
    sandbox_accept_result r = {SANDBOX_ACCEPT_NOMEM, 0, 0, 0};
    int64_t now = sandbox_accept_clock_locked();
    sandbox_page *pg = sandbox_page_get_locked(req->platform->name, draft->page_id);
    if (pg != NULL && !sandbox_rate_limited_locked(pg, now, &r))
        sandbox_record_locked(req, draft, pg, now, &r);
    return r;
}

sandbox_accept_result sandbox_accept_post(sandbox_request *req, const sandbox_post *draft) {
    pthread_mutex_lock(&server.lock);
    sandbox_accept_result r = sandbox_accept_locked(req, draft);
    pthread_mutex_unlock(&server.lock);
    return r;
}

void sandbox_posts_of_page(const char *platform, const char *page_id, sandbox_post_cb cb,
                           void *ud) {
    char *key = sandbox_key(platform, page_id, NULL);
    if (key == NULL) return;
    pthread_mutex_lock(&server.lock);
    sandbox_page *pg = sandbox_dict_get(&server.pages, key);
    for (size_t i = pg ? pg->len : 0; i > 0; i--)
        if (!cb(pg->posts[i - 1], ud)) break;
    pthread_mutex_unlock(&server.lock);
    free(key);
}

int sandbox_post_by_id(const char *platform, const char *id, sandbox_post_cb cb, void *ud) {
    char *key = sandbox_key(platform, id, NULL);
    if (key == NULL) return 0;
    pthread_mutex_lock(&server.lock);
    sandbox_post *p = sandbox_dict_get(&server.ids, key);
    if (p) cb(p, ud);
    pthread_mutex_unlock(&server.lock);
    free(key);
    return p != NULL;
}

void sandbox_store_clear_locked(void) {
    for (size_t i = 0; i < server.nposts; i++) sandbox_post_free(server.posts[i]);
    free(server.posts);
    server.posts = NULL;
    server.nposts = server.posts_cap = 0;
    sandbox_dict_clear(&server.ids, NULL);
    sandbox_dict_clear(&server.messages, NULL);
    sandbox_dict_clear(&server.pages, sandbox_page_free);
}
