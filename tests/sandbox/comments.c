/* comments.c -- see comments.h. */
#include "comments.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define COMMENT_PAGE_MAX 160

static int comment_post_seen(const sandbox_post *p, void *ud) {
    (void)p;
    *(int *)ud = 1;
    return 0;
}

static int comment_page(char *out, size_t len, const char *post) {
    int n = snprintf(out, len, "comments:%s", post);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

void sandbox_comment_create(sandbox_request *req, const char *platform, const char *post,
                            const char *token, int hang, sandbox_graph_error_fn error) {
    const char *text = sandbox_req_param(req, "message");
    char page[COMMENT_PAGE_MAX], id[32];
    int found = 0;
    if (comment_page(page, sizeof(page), post) != 0 ||
        !sandbox_post_by_id(platform, post, comment_post_seen, &found)) {
        error(req, 400, 100, 33,
              "Unsupported post request. Object does not exist, cannot be loaded due to "
              "missing permissions, or does not support this operation");
        return;
    }
    if (text == NULL || *text == '\0') {
        error(req, 400, 100, 0, "(#100) The parameter message is required");
        return;
    }
    snprintf(id, sizeof(id), "%" PRIu64, sandbox_next_object_id());
    sandbox_post d = {.id = id,
                      .page_id = page,
                      .kind = "comment",
                      .message = text,
                      .token = token,
                      .in_reply_to = post,
                      .published = 1,
                      .hung = hang};
    sandbox_accept_result r = sandbox_accept_post(req, &d);
    if (r.status != SANDBOX_ACCEPT_OK) {
        error(req, 500, 2, 0, "An unexpected error has occurred. Please retry your request later.");
        return;
    }
    if (hang) {
        sandbox_hold(req);
        return;
    }
    sandbox_reply_json(req, 200, json_pack("{s:s}", "id", id));
}

typedef struct comment_list {
    json_t *data;
    const char *text_field, *time_field;
} comment_list;

static int comment_visit(const sandbox_post *p, void *ud) {
    comment_list *l = ud;
    char when[40];
    struct tm tm;
    time_t t = (time_t)(p->accepted_at_ms / 1000);
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+0000", &tm) == 0)
        when[0] = '\0';
    json_array_append_new(l->data, json_pack("{s:s,s:s,s:s}", "id", p->id, l->text_field,
                                             p->message ? p->message : "", l->time_field, when));
    return 1;
}

void sandbox_comment_list(sandbox_request *req, const char *platform, const char *post,
                          const char *text_field, const char *time_field,
                          sandbox_graph_error_fn error) {
    char page[COMMENT_PAGE_MAX];
    int found = 0;
    if (comment_page(page, sizeof(page), post) != 0 ||
        !sandbox_post_by_id(platform, post, comment_post_seen, &found)) {
        error(req, 400, 100, 33, "Unsupported get request. Object does not exist");
        return;
    }
    comment_list l = {json_array(), text_field, time_field};
    if (l.data == NULL) {
        error(req, 500, 1, 0, "An unknown error has occurred.");
        return;
    }
    sandbox_posts_of_page(platform, page, comment_visit, &l);
    sandbox_reply_json(req, 200, json_pack("{s:o,s:{}}", "data", l.data, "paging"));
}

/* ---- LinkedIn ------------------------------------------------------------ */

#define LI_STORE "linkedin"

static int li_author_visit(const sandbox_post *p, void *ud) {
    snprintf(ud, COMMENT_PAGE_MAX, "%s", p->page_id);
    return 0;
}

static json_t *li_comment_json(const sandbox_post *p, const char *post, const char *actor) {
    char urn[COMMENT_PAGE_MAX + 64];
    snprintf(urn, sizeof(urn), "urn:li:comment:(%s,%s)", post, p->id);
    return json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:{s:I}}", "id", p->id, "$URN", urn, "actor", actor,
                     "object", post, "message", "text", p->message ? p->message : "", "created",
                     "time", (json_int_t)p->accepted_at_ms);
}

void sandbox_li_comment_create(sandbox_request *req, const char *urn, const char *token, int hang,
                               sandbox_li_error_fn error) {
    char page[COMMENT_PAGE_MAX], author[COMMENT_PAGE_MAX] = "", id[32];
    if (comment_page(page, sizeof(page), urn) != 0 ||
        !sandbox_post_by_id(LI_STORE, urn, li_author_visit, author)) {
        error(req, 404, "RESOURCE_NOT_FOUND", "the post to comment on does not exist");
        return;
    }
    size_t blen = 0;
    const char *body = sandbox_req_body(req, &blen);
    json_t *root = json_loadb(body ? body : "", body ? blen : 0, 0, NULL);
    json_t *actor = json_object_get(root, "actor"), *object = json_object_get(root, "object");
    json_t *text = json_object_get(json_object_get(root, "message"), "text");
    if (!json_is_string(actor) || !json_is_string(object) || !json_is_string(text) ||
        strcmp(json_string_value(object), urn) != 0 || json_string_length(text) == 0) {
        json_decref(root);
        error(req, 422, "UNPROCESSABLE_ENTITY",
              "actor, object (the post) and message.text are required");
        return;
    }
    if (strcmp(json_string_value(actor), author) != 0) {
        json_decref(root);
        error(req, 403, "ACCESS_DENIED", "the actor may not comment as another author here");
        return;
    }
    snprintf(id, sizeof(id), "%" PRIu64, sandbox_next_object_id());
    sandbox_post d = {.id = id,
                      .page_id = page,
                      .kind = "comment",
                      .message = json_string_value(text),
                      .token = token,
                      .in_reply_to = urn,
                      .published = 1,
                      .hung = hang};
    sandbox_accept_result r = sandbox_accept_post(req, &d);
    if (r.status != SANDBOX_ACCEPT_OK) {
        json_decref(root);
        error(req, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error");
        return;
    }
    if (hang) {
        json_decref(root);
        sandbox_hold(req);
        return;
    }
    sandbox_post shown = d;
    shown.accepted_at_ms = sandbox_req_received_ms(req);
    sandbox_reply_json(req, 201, li_comment_json(&shown, urn, json_string_value(actor)));
    json_decref(root);
}

typedef struct li_comment_list {
    json_t *elements;
    const char *post, *author;
} li_comment_list;

static int li_comment_visit(const sandbox_post *p, void *ud) {
    li_comment_list *l = ud;
    json_array_append_new(l->elements, li_comment_json(p, l->post, l->author));
    return 1;
}

void sandbox_li_comment_list(sandbox_request *req, const char *urn, sandbox_li_error_fn error) {
    char page[COMMENT_PAGE_MAX], author[COMMENT_PAGE_MAX] = "";
    if (comment_page(page, sizeof(page), urn) != 0 ||
        !sandbox_post_by_id(LI_STORE, urn, li_author_visit, author)) {
        error(req, 404, "RESOURCE_NOT_FOUND", "the post does not exist");
        return;
    }
    li_comment_list l = {json_array(), urn, author};
    if (l.elements == NULL) {
        error(req, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error");
        return;
    }
    sandbox_posts_of_page(LI_STORE, page, li_comment_visit, &l);
    size_t n = json_array_size(l.elements);
    sandbox_reply_json(req, 200,
                       json_pack("{s:o,s:{s:I,s:i,s:I}}", "elements", l.elements, "paging", "count",
                                 (json_int_t)n, "start", 0, "total", (json_int_t)n));
}
