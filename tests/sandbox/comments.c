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
