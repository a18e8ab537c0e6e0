/* container.c -- see container.h. One state machine for Instagram and
 * Threads; the platforms differ only in edge names, fields and which
 * parameters a container takes. */
#include "container.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_time.h"

#define CONTAINER_ID_MAX 128
#define CONTAINER_MAX_CHILDREN AP_MAX_MEDIA
#define CONTAINER_FIRST_POLL_MS 1000
#define CONTAINER_MAX_POLL_MS 15000
/* Instagram suggests checking for up to five minutes; a big video may take
 * longer, so give it ten before handing the job back for another try. */
#define CONTAINER_POLL_BUDGET_MS (10 * 60 * 1000)
#define CONTAINER_MAX_RESTARTS 2 /* EXPIRED containers recreated at most twice */
#define CONTAINER_VERIFY_MAX_PAGES 10
#define CONTAINER_VERIFY_SLACK_MS (60 * 1000) /* clock skew between us and the platform */
/* The same container published again after its status said FINISHED: safe
 * (a container makes one post at most), but a platform that keeps failing
 * the call gets two more tries, not a loop. */
#define CONTAINER_MAX_REPUBLISH 2
/* A publish call that failed may still be finishing on the platform's side;
 * give it a moment before its container's status is read. */
#define CONTAINER_STATUS_PAUSE_MS 1000

typedef enum stage {
    ST_QUOTA,      /* reading the publishing limit */
    ST_CHILD,      /* creating carousel item `nchildren` */
    ST_CHILD_POLL, /* waiting for carousel item `poll_child` (videos) */
    ST_PARENT,     /* creating the post's container */
    ST_POLL,       /* waiting for the post's container */
    ST_PUBLISH,    /* publishing it: the one call that makes a post */
    ST_PUB_STATUS, /* the publish call returned no id: reading the container's status */
    ST_PUB_LIST,   /* the container is PUBLISHED: finding its post among the account's */
    ST_VERIFY      /* reading recent posts back */
} stage;

typedef struct container_flow {
    const ap_container_platform *pf;
    stage st;
    size_t nchildren, poll_child;
    char child_ids[CONTAINER_MAX_CHILDREN][CONTAINER_ID_MAX];
    char container_id[CONTAINER_ID_MAX];
    int polls, restarts, pages, republishes;
    int64_t waited_ms;
    ap_flow_result answer;  /* the publish call's last answer without an id */
    int64_t quota_asked_ms; /* when the quota read was sent (epoch ms) */
    int usage;              /* its quota_usage ... */
    int64_t usage_at_ms;    /* ... asked at quota_asked_ms; 0: none read */
    char *text;             /* what we post, for containers and for verify */
    char *next_page;        /* verify: paging.next */
} container_flow;

bool ap_container_valid_user_id(const char *id) {
    return id != NULL && *id != '\0' && strlen(id) < 100 && strpbrk(id, "/?#&% ") == NULL;
}

char *ap_container_text_with_link(const ap_job *job) {
    const char *text = job->text ? job->text : "";
    if (job->link == NULL || *job->link == '\0') return strdup(text);
    size_t n = strlen(text) + strlen(job->link) + 2;
    char *m = malloc(n);
    if (m) snprintf(m, n, "%s%s%s", text, *text ? "\n" : "", job->link);
    return m;
}

void *ap_container_flow_new(const ap_container_platform *pf, const ap_flow_input *in) {
    container_flow *f = calloc(1, sizeof(*f));
    if (f == NULL) return NULL;
    f->pf = pf;
    f->text = pf->post_text(in->job);
    if (f->text == NULL) {
        free(f);
        return NULL;
    }
    f->st = in->mode == AP_FLOW_VERIFY ? ST_VERIFY : ST_QUOTA;
    return f;
}

void ap_container_flow_free(void *state) {
    container_flow *f = state;
    if (f == NULL) return;
    free(f->text);
    free(f->next_page);
    free(f);
}

static bool is_video(const ap_job *job, size_t i) {
    return job->media[i]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
}

static bool is_carousel(const ap_job *job) { return job->n_media >= 2; }

/* "id1,id2,..." of the carousel items. */
static void children_list(const container_flow *f, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < f->nchildren && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", f->child_ids[i]);
}

static int build_create(container_flow *f, const ap_flow_input *in, int child,
                        ap_http_request *req) {
    const ap_platform_config *p = in->platform;
    const char *pairs[AP_CONTAINER_MAX_PAIRS + 1] = {NULL};
    char children[CONTAINER_MAX_CHILDREN * CONTAINER_ID_MAX];
    children_list(f, children, sizeof(children));
    f->pf->container_pairs(in->job, child, is_carousel(in->job) && child < 0 ? children : NULL,
                           f->text, pairs);
    if (child < 0 && in->reply_to) {
        /* A thread's part or a first comment (chain.h): Threads' reply. */
        size_t n = 0;
        while (pairs[n]) n++;
        if (n + 2 > AP_CONTAINER_MAX_PAIRS) return -1;
        pairs[n++] = "reply_to_id", pairs[n++] = in->reply_to;
        pairs[n] = NULL;
    }
    return ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/%s", p->base_url,
                            p->api_version, in->job->account_external_id, f->pf->create_edge);
}

/* The request for the flow's current stage. */
static int build_request(container_flow *f, const ap_flow_input *in, ap_http_request *req) {
    const ap_platform_config *p = in->platform;
    const char *user = in->job->account_external_id;
    switch (f->st) {
    case ST_QUOTA:
        /* Stamped before sending: the platform counts at some moment after
         * this, so a post the count misses was answered after this time and
         * its published_at is later (the claim relies on it). */
        f->quota_asked_ms = ap_now_ms();
        return ap_graph_request(req, "GET", in->token, NULL,
                                "%s/%s/%s/%s?fields=quota_usage,config", p->base_url,
                                p->api_version, user, f->pf->limit_edge);
    case ST_CHILD: return build_create(f, in, (int)f->nchildren, req);
    case ST_PARENT: return build_create(f, in, -1, req);
    case ST_CHILD_POLL:
    case ST_POLL:
    case ST_PUB_STATUS:
        return ap_graph_request(
            req, "GET", in->token, NULL, "%s/%s/%s?fields=%s", p->base_url, p->api_version,
            f->st == ST_CHILD_POLL ? f->child_ids[f->poll_child] : f->container_id,
            f->pf->status_fields);
    case ST_PUBLISH: {
        const char *pairs[] = {"creation_id", f->container_id, NULL};
        int rc = ap_graph_request(req, "POST", in->token, pairs, "%s/%s/%s/%s", p->base_url,
                                  p->api_version, user, f->pf->publish_edge);
        req->once = true; /* publishes the container: never resent below us */
        return rc;
    }
    case ST_PUB_LIST:
    case ST_VERIFY:
    default:
        if (f->next_page) {
            ap_http_request_init(req, "GET");
            req->url = f->next_page;
            f->next_page = NULL;
            return ap_flow_bearer_header(req, in->token);
        }
        /* A reply is looked for among its parent's replies, where it is
         * listed (the account's own listing shows its top-level posts). */
        return ap_graph_request(req, "GET", in->token, NULL, "%s/%s/%s/%s?fields=%s&limit=50",
                                p->base_url, p->api_version, in->reply_to ? in->reply_to : user,
                                in->reply_to ? "replies" : f->pf->list_edge, f->pf->list_fields);
    }
}

static ap_step_kind send(container_flow *f, const ap_flow_input *in, ap_http_request *req,
                         ap_flow_result *r) {
    if (build_request(f, in, req) != 0) {
        ap_flow_fail(r, in->mode == AP_FLOW_VERIFY ? AP_CLASS_AMBIGUOUS : AP_CLASS_RETRY, 0,
                     "internal", "could not build the request");
        return AP_STEP_DONE;
    }
    return AP_STEP_REQUEST;
}

/* The next video carousel item at or after i, or n_media when none. */
static size_t next_video_child(const ap_job *job, size_t i) {
    while (i < job->n_media && !is_video(job, i)) i++;
    return i;
}

/* Moves past a FINISHED container (or past the last child created). */
static void stage_after_ready(container_flow *f, const ap_job *job) {
    if (f->st == ST_POLL) {
        f->st = ST_PUBLISH;
        return;
    }
    size_t start = f->st == ST_CHILD_POLL ? f->poll_child + 1 : 0;
    f->poll_child = next_video_child(job, start);
    f->st = f->poll_child < job->n_media ? ST_CHILD_POLL : ST_PARENT;
    f->polls = 0;
}

/* Quota answer: {"data":[{"quota_usage":N,"config":{"quota_total":M,...}}]}.
 * An unreadable answer is not a reason to stop: the publish call enforces
 * the quota anyway (error 9/2207042). Returns true when the quota is used up. */
static bool quota_used_up(container_flow *f, const ap_http_response *res, ap_flow_result *r) {
    json_t *root = ap_graph_parse_object(res);
    json_t *entry = json_array_get(json_object_get(root, "data"), 0);
    json_t *usage = json_object_get(entry, "quota_usage");
    json_t *total = json_object_get(json_object_get(entry, "config"), "quota_total");
    bool full = json_is_integer(usage) && json_is_integer(total) && json_integer_value(total) > 0 &&
                json_integer_value(usage) >= json_integer_value(total);
    if (json_is_integer(usage) && json_integer_value(usage) >= 0 &&
        json_integer_value(usage) <= 1000000) {
        f->usage = (int)json_integer_value(usage);
        f->usage_at_ms = f->quota_asked_ms;
    }
    if (full) {
        char code[32];
        snprintf(code, sizeof(code), "quota_%lld/%lld", (long long)json_integer_value(usage),
                 (long long)json_integer_value(total));
        ap_flow_fail(r, AP_CLASS_QUOTA, res->status, code,
                     "the account used its %s publishing quota (%lld of %lld posts in the last "
                     "24 hours); waiting for the window",
                     f->pf->names.platform, (long long)json_integer_value(usage),
                     (long long)json_integer_value(total));
        int64_t hint = ap_graph_wait_hint_ms(res);
        r->retry_after_ms = hint > 0 ? hint : 0; /* none: platforms.<p>.quota_wait */
        r->pause = AP_PAUSE_ACCOUNT;
    }
    json_decref(root);
    return full;
}

/* A created container's id; false (and r filled) without one. */
static bool take_container_id(container_flow *f, const ap_http_response *res, char *out,
                              ap_flow_result *r) {
    json_t *root = ap_graph_parse_object(res);
    const char *id = ap_graph_id(root, "id");
    if (id)
        snprintf(out, CONTAINER_ID_MAX, "%s", id);
    else
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "no_id",
                     "%s answered %ld without a container id; nothing is published yet",
                     f->pf->names.platform, res->status);
    json_decref(root);
    return id != NULL;
}

static ap_step_kind restart_expired(container_flow *f, const ap_flow_input *in,
                                    ap_http_request *req, ap_flow_result *r, long status) {
    if (++f->restarts > CONTAINER_MAX_RESTARTS) {
        ap_flow_fail(r, AP_CLASS_RETRY, status, "container_expired",
                     "%s let the media container expire %d times before it could be published",
                     f->pf->names.platform, f->restarts);
        return AP_STEP_DONE;
    }
    f->nchildren = 0;
    f->polls = 0;
    f->container_id[0] = '\0';
    f->st = is_carousel(in->job) ? ST_CHILD : ST_PARENT;
    return send(f, in, req, r);
}

/* The status ("" when unreadable) and its explanation from a status answer. */
static void read_status(const container_flow *f, const ap_http_response *res, char *status,
                        size_t slen, char *reason, size_t rlen) {
    json_t *root = ap_graph_parse_object(res);
    json_t *st = json_object_get(root, f->pf->status_key);
    json_t *why = json_object_get(root, f->pf->status_reason_key);
    snprintf(status, slen, "%s", json_is_string(st) ? json_string_value(st) : "");
    snprintf(reason, rlen, "%s", json_is_string(why) ? json_string_value(why) : "no reason given");
    json_decref(root);
}

/* A line for the publisher's log (adapter.h): what a container's status
 * decided about a publish call. */
static void status_note(ap_flow_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void status_note(ap_flow_result *r, const char *fmt, ...) {
    va_list ap;
    snprintf(r->note_event, sizeof(r->note_event), "%s", "container_status");
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof(r->note), fmt, ap);
    va_end(ap);
}

/* The container is PUBLISHED: the post is live and it is ours (nobody else
 * has the container's id). Its id is not the post's, so the post is looked
 * up among the account's recent ones, by text, made since this attempt. */
static ap_step_kind find_published(container_flow *f, const ap_flow_input *in, ap_http_request *req,
                                   ap_flow_result *r) {
    memset(r, 0, sizeof(*r));
    status_note(r, "container %s is PUBLISHED: the post is live; looking up its id",
                f->container_id);
    f->st = ST_PUB_LIST;
    f->pages = 0;
    return send(f, in, req, r);
}

/* A status answer for the container being waited on. */
static ap_step_kind on_status(container_flow *f, const ap_flow_input *in,
                              const ap_http_response *res, ap_http_request *req, int64_t *wait_ms,
                              ap_flow_result *r) {
    char status[32], reason[300];
    read_status(f, res, status, sizeof(status), reason, sizeof(reason));
    const char *who = f->pf->names.platform;

    if (strcmp(status, "FINISHED") == 0) {
        stage_after_ready(f, in->job);
        return send(f, in, req, r);
    }
    if (strcmp(status, "ERROR") == 0) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "container_error",
                     "%s could not process the media: %s", who, reason);
        return AP_STEP_DONE;
    }
    if (strcmp(status, "EXPIRED") == 0) return restart_expired(f, in, req, r, res->status);
    if (strcmp(status, "PUBLISHED") == 0 && f->st == ST_POLL) {
        /* Before our publish call: still ours, so the post is live. */
        memset(&f->answer, 0, sizeof(f->answer));
        snprintf(f->answer.error_message, sizeof(f->answer.error_message),
                 "the container was already PUBLISHED while waiting for it");
        return find_published(f, in, req, r);
    }
    if (strcmp(status, "PUBLISHED") == 0) {
        /* A carousel item is never published by itself: cannot tell. */
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "container_published",
                     "%s says a carousel item is already published", who);
        return AP_STEP_DONE;
    }
    if (strcmp(status, "IN_PROGRESS") != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "container_status",
                     "unreadable container status from %s", who);
        return AP_STEP_DONE;
    }
    if (f->waited_ms >= CONTAINER_POLL_BUDGET_MS) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "container_slow",
                     "%s was still processing the media after %lld s; trying again later", who,
                     (long long)(f->waited_ms / 1000));
        return AP_STEP_DONE;
    }
    int64_t wait = CONTAINER_FIRST_POLL_MS;
    for (int i = 0; i < f->polls && wait < CONTAINER_MAX_POLL_MS; i++) wait *= 2;
    if (wait > CONTAINER_MAX_POLL_MS) wait = CONTAINER_MAX_POLL_MS;
    f->polls++;
    f->waited_ms += wait;
    *wait_ms = wait;
    return AP_STEP_WAIT;
}

/* True with r filled when the publish call named the post. */
static bool on_published(container_flow *f, const ap_http_response *res, ap_flow_result *r) {
    json_t *root = ap_graph_parse_object(res);
    const char *id = ap_graph_id(root, "id");
    if (id) {
        r->error_class = AP_CLASS_NONE;
        r->http_status = res->status;
        snprintf(r->external_id, sizeof(r->external_id), "%s", id);
    } else {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "no_id",
                     "%s answered %ld to the publish call without a post id", f->pf->names.platform,
                     res->status);
    }
    json_decref(root);
    return id != NULL;
}

/* The publish call was sent and answered anything but a post id (r says
 * what): an error, a 2xx without an id, or nothing at all. Something below
 * us (a proxy's retry) may have sent it twice, so even a refusal such as
 * "already published" is no proof. The container is ours alone: its status
 * says what the call did. Meta documents this read for a publish call that
 * returned no id. */
static ap_step_kind check_publish(container_flow *f, ap_flow_result *r, int64_t *wait_ms) {
    f->answer = *r;
    memset(r, 0, sizeof(*r));
    status_note(r,
                "%s of container %s answered without a post id (%.64s: %.120s); reading its "
                "status",
                f->pf->publish_edge, f->container_id, f->answer.error_code,
                f->answer.error_message);
    f->st = ST_PUB_STATUS;
    *wait_ms = CONTAINER_STATUS_PAUSE_MS;
    return AP_STEP_WAIT;
}

/* The publish answer with what the status read added to it. */
static void answer_plus(const container_flow *f, ap_flow_result *r, const char *what) {
    *r = f->answer;
    size_t n = strlen(r->error_message);
    snprintf(r->error_message + n, sizeof(r->error_message) - n, "; %s", what);
}

/* No status to go by after a publish call without an id. A refused token
 * posts nothing (and the runtime must see it to refresh); anything else may
 * have published, and the next delivery reads back. */
static ap_step_kind status_unknown(container_flow *f, ap_flow_result *r, const char *why) {
    char what[200];
    snprintf(what, sizeof(what), "%s", why);
    answer_plus(f, r, what);
    if (r->error_class != AP_CLASS_REAUTH) {
        r->error_class = AP_CLASS_AMBIGUOUS;
        r->pause = AP_PAUSE_NONE;
        r->not_found = false;
    }
    status_note(r, "container %s: %s; the publish call stays %s", f->container_id, what,
                r->error_class == AP_CLASS_REAUTH ? "a token refusal" : "ambiguous");
    return AP_STEP_DONE;
}

/* Platform answers that ask us to wait or to reconnect: with the container
 * still unpublished they mean what they say, and publishing it again now
 * would only be refused again. */
static bool answer_is_refusal(const ap_flow_result *a) {
    return a->error_class == AP_CLASS_REAUTH || a->error_class == AP_CLASS_QUOTA ||
           (a->error_class == AP_CLASS_RETRY && a->pause != AP_PAUSE_NONE);
}

/* The container's status after a publish call without an id. */
static ap_step_kind on_publish_status(container_flow *f, const ap_flow_input *in,
                                      const ap_http_response *res, ap_http_request *req,
                                      ap_flow_result *r) {
    char status[32], reason[300], what[200];
    read_status(f, res, status, sizeof(status), reason, sizeof(reason));
    if (strcmp(status, "PUBLISHED") == 0) return find_published(f, in, req, r);
    if (strcmp(status, "FINISHED") == 0) {
        /* Not published: the call did not go through. The same container
         * again is safe (it can make one post at most); a new one is not. */
        if (!answer_is_refusal(&f->answer) && f->republishes < CONTAINER_MAX_REPUBLISH) {
            f->republishes++;
            memset(r, 0, sizeof(*r));
            status_note(r,
                        "container %s is FINISHED, not published: publishing the same "
                        "container again (%d of %d)",
                        f->container_id, f->republishes, CONTAINER_MAX_REPUBLISH);
            f->st = ST_PUBLISH;
            return send(f, in, req, r);
        }
        answer_plus(f, r,
                    "the container is still unpublished (status FINISHED): nothing went live");
        if (r->error_class == AP_CLASS_AMBIGUOUS) r->error_class = AP_CLASS_RETRY;
        status_note(r, "container %s is FINISHED, not published: ending as %s", f->container_id,
                    answer_is_refusal(&f->answer) ? "the platform's refusal" : "not posted");
        return AP_STEP_DONE;
    }
    if (strcmp(status, "EXPIRED") == 0) {
        /* Expired unpublished: nothing is live, a new container is safe. */
        status_note(r, "container %s EXPIRED unpublished: making a new one", f->container_id);
        ap_flow_result note = *r;
        ap_step_kind k = restart_expired(f, in, req, r, res->status);
        if (k != AP_STEP_DONE) *r = note;
        return k;
    }
    if (strcmp(status, "ERROR") == 0) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "container_error",
                     "%s could not process the media: %s", f->pf->names.platform, reason);
        status_note(r, "container %s is in ERROR, not published", f->container_id);
        return AP_STEP_DONE;
    }
    snprintf(what, sizeof(what), "the container's status then was \"%.32s\"",
             *status ? status : "unreadable");
    return status_unknown(f, r, what);
}

/* One page of recent posts, newest first. Found: r says so. Returns true
 * when an older page must be read before concluding. */
static bool on_verify_page(container_flow *f, const ap_flow_input *in, const ap_http_response *res,
                           ap_flow_result *r) {
    json_t *root = ap_graph_parse_object(res);
    json_t *data = json_object_get(root, "data");
    int64_t since = in->since_ms - CONTAINER_VERIFY_SLACK_MS;
    bool older_seen = false, more = false;
    if (!json_is_array(data)) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_unreadable",
                     "could not read the account's posts to check whether the post went live");
        goto done;
    }
    if (*f->text == '\0') {
        /* Nothing to recognise our post by: "not found" would be a guess and
         * the runtime would publish a second time on it. */
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_no_text",
                     "a post without text cannot be recognised among the account's posts");
        goto done;
    }
    size_t i;
    json_t *item;
    json_array_foreach(data, i, item) {
        json_t *t = json_object_get(item, f->pf->list_text_key);
        json_t *ts = json_object_get(item, "timestamp");
        const char *id = ap_graph_id(item, "id");
        int64_t at = json_is_string(ts) ? ap_graph_time_ms(json_string_value(ts)) : -1;
        if (at >= 0 && at < since) older_seen = true;
        if (id == NULL || !json_is_string(t) || strcmp(json_string_value(t), f->text) != 0)
            continue;
        if (at >= 0 && at < since) continue; /* the same text posted before our attempt */
        r->error_class = AP_CLASS_NONE;
        r->http_status = res->status;
        snprintf(r->external_id, sizeof(r->external_id), "%s", id);
        json_t *link = json_object_get(item, "permalink");
        if (json_is_string(link) && json_string_length(link) < sizeof(r->external_url))
            snprintf(r->external_url, sizeof(r->external_url), "%s", json_string_value(link));
        goto done;
    }
    free(f->next_page);
    f->next_page = older_seen ? NULL : ap_graph_next_page(root, in->platform->base_url);
    if (f->next_page && ++f->pages >= CONTAINER_VERIFY_MAX_PAGES) {
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_too_many",
                     "too many posts on the account since the lost attempt to be sure");
        goto done;
    }
    more = f->next_page != NULL;
    if (!more) {
        r->not_found = true;
        ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res->status, "verify_not_found",
                     "post not found among the account's posts");
    }
done:
    json_decref(root);
    return more;
}

/* A page of the account's posts while looking for a PUBLISHED container's
 * post. Not finding it (yet: listings lag) never means it is not live. */
static ap_step_kind on_published_list(container_flow *f, const ap_flow_input *in,
                                      const ap_http_response *res, ap_http_request *req,
                                      ap_flow_result *r) {
    memset(r, 0, sizeof(*r));
    if (res && on_verify_page(f, in, res, r)) return send(f, in, req, r);
    if (res && r->error_class == AP_CLASS_NONE) {
        char id[sizeof(r->external_id)];
        snprintf(id, sizeof(id), "%s", r->external_id);
        snprintf(r->error_code, sizeof(r->error_code), "container_published");
        snprintf(r->error_message, sizeof(r->error_message),
                 "confirmed by the container's status: PUBLISHED (%.300s)",
                 f->answer.error_message);
        status_note(r, "container %s is PUBLISHED as post %s", f->container_id, id);
        return AP_STEP_DONE;
    }
    memset(r, 0, sizeof(*r)); /* not_found from the page: not what it means here */
    ap_flow_fail(r, AP_CLASS_AMBIGUOUS, res ? res->status : 0, "container_unlisted",
                 "%s says the container is PUBLISHED (the post is live) but the account's posts "
                 "do not show it yet; reading back later",
                 f->pf->names.platform);
    status_note(r, "container %s is PUBLISHED but its post is not listed yet; reading back later",
                f->container_id);
    return AP_STEP_DONE;
}

/* A 2xx answer to the current stage. */
static ap_step_kind on_success(container_flow *f, const ap_flow_input *in,
                               const ap_http_response *res, ap_http_request *req, int64_t *wait_ms,
                               ap_flow_result *r) {
    const ap_job *job = in->job;
    switch (f->st) {
    case ST_QUOTA:
        if (quota_used_up(f, res, r)) return AP_STEP_DONE;
        f->st = is_carousel(job) ? ST_CHILD : ST_PARENT;
        return send(f, in, req, r);
    case ST_CHILD:
        if (!take_container_id(f, res, f->child_ids[f->nchildren], r)) return AP_STEP_DONE;
        if (++f->nchildren < job->n_media) return send(f, in, req, r);
        stage_after_ready(f, job); /* on to the first video item, or the carousel */
        return send(f, in, req, r);
    case ST_PARENT:
        if (!take_container_id(f, res, f->container_id, r)) return AP_STEP_DONE;
        f->polls = 0;
        f->st = f->pf->needs_polling(job) ? ST_POLL : ST_PUBLISH;
        return send(f, in, req, r);
    case ST_CHILD_POLL:
    case ST_POLL: return on_status(f, in, res, req, wait_ms, r);
    case ST_PUBLISH:
        if (on_published(f, res, r)) return AP_STEP_DONE;
        return check_publish(f, r, wait_ms);
    case ST_PUB_STATUS: return on_publish_status(f, in, res, req, r);
    case ST_PUB_LIST: return on_published_list(f, in, res, req, r);
    case ST_VERIFY:
    default:
        memset(r, 0, sizeof(*r));
        if (on_verify_page(f, in, res, r)) return send(f, in, req, r);
        return AP_STEP_DONE;
    }
}

static ap_step_kind container_step(container_flow *f, const ap_flow_input *in,
                                   const ap_http_response *prev, ap_http_request *req,
                                   int64_t *wait_ms, ap_flow_result *result) {
    if (prev == NULL) return send(f, in, req, result); /* first call, or after a wait */
    bool publish_step = f->st == ST_PUBLISH;
    bool failed = prev->transport_error != 0 || prev->status < 200 || prev->status >= 300;
    if (failed && f->st == ST_PUB_STATUS) {
        char why[200];
        snprintf(why, sizeof(why), "its container's status could not be read (%s %ld)",
                 prev->transport_error ? "no answer" : "HTTP", prev->status);
        return status_unknown(f, result, why);
    }
    if (failed && f->st == ST_PUB_LIST) return on_published_list(f, in, NULL, req, result);
    if (prev->transport_error != 0) {
        ap_flow_transport_error(prev, publish_step, result);
        if (f->st == ST_VERIFY) result->error_class = AP_CLASS_AMBIGUOUS;
        if (publish_step && prev->request_sent) return check_publish(f, result, wait_ms);
        return AP_STEP_DONE;
    }
    if (failed) {
        ap_graph_classify_error(prev, &f->pf->names, publish_step, result);
        if (publish_step) return check_publish(f, result, wait_ms);
        return AP_STEP_DONE;
    }
    return on_success(f, in, prev, req, wait_ms, result);
}

ap_step_kind ap_container_step(void *state, const ap_flow_input *in, const ap_http_response *prev,
                               ap_http_request *req, int64_t *wait_ms, ap_flow_result *result) {
    container_flow *f = state;
    ap_step_kind k = container_step(f, in, prev, req, wait_ms, result);
    /* Whatever the outcome, the platform's count goes out with it. */
    if (k == AP_STEP_DONE && f->usage_at_ms > 0) {
        result->platform_usage = f->usage;
        result->platform_usage_at_ms = f->usage_at_ms;
    }
    return k;
}
