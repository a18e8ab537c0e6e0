/* threads.c -- Threads through the Threads API's container flow
 * (container.h). The account's platform id is the Threads user id.
 *
 *   POST /{threads-user}/threads media_type=TEXT|IMAGE|VIDEO|CAROUSEL, text,
 *        image_url | video_url | children=a,b          -> {"id"} (a container)
 *   carousel items first: media_type=IMAGE|VIDEO, image_url | video_url,
 *        is_carousel_item=true
 *   GET  /{container}?fields=status,error_message   until FINISHED (media only;
 *        a text container is ready at once)
 *   POST /{threads-user}/threads_publish creation_id -> {"id"}
 *
 * Limits checked before any call: 500 characters of text, counted as
 * Unicode code points (so "ệ" or an emoji is one, whatever its UTF-8
 * length), including the link, which rides in the text; 2..10 carousel
 * items (Threads takes 20, our jobs carry at most 10). The 250 posts per
 * rolling 24 h are read from threads_publishing_limit before any container
 * is made. A thread's part or first comment (chain.h) is a reply:
 * reply_to_id=<parent> on its container, read back among GET /{parent}/replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "ap_utf8.h"
#include "container.h"

#define THREADS_MAX_TEXT 500
#define THREADS_MAX_MEDIA 10

static bool th_validate(const ap_job *job, char *reason, size_t len) {
    if (!ap_validate_common(job, THREADS_MAX_MEDIA, reason, len)) return false;
    for (size_t i = 0; i < job->n_media; i++) {
        Autopost__V1__MediaType t = job->media[i]->type;
        if (t != AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE &&
            t != AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO) {
            snprintf(reason, len, "media %zu: Threads needs an image or a video", i + 1);
            return false;
        }
    }
    char *text = ap_container_text_with_link(job);
    if (text == NULL) {
        snprintf(reason, len, "out of memory");
        return false;
    }
    long chars = ap_utf8_length(text);
    free(text);
    if (chars < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (chars > THREADS_MAX_TEXT) {
        snprintf(reason, len, "text has %ld characters; Threads allows at most %d", chars,
                 THREADS_MAX_TEXT);
        return false;
    }
    if (!ap_container_valid_user_id(job->account_external_id)) {
        snprintf(reason, len, "account has no valid Threads user id");
        return false;
    }
    return true;
}

static bool th_video(const ap_job *job, size_t i) {
    return job->media[i]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
}

/* media_type plus image_url or video_url for media item i. */
static int th_media_pairs(const ap_job *job, size_t i, const char **pairs, int n) {
    pairs[n++] = "media_type", pairs[n++] = th_video(job, i) ? "VIDEO" : "IMAGE";
    pairs[n++] = th_video(job, i) ? "video_url" : "image_url", pairs[n++] = job->media[i]->url;
    return n;
}

static void th_container_pairs(const ap_job *job, int child, const char *children, const char *text,
                               const char **pairs) {
    int n = 0;
    if (child >= 0) {
        n = th_media_pairs(job, (size_t)child, pairs, n);
        pairs[n++] = "is_carousel_item", pairs[n++] = "true";
    } else {
        if (children) {
            pairs[n++] = "media_type", pairs[n++] = "CAROUSEL";
            pairs[n++] = "children", pairs[n++] = children;
        } else if (job->n_media == 1) {
            n = th_media_pairs(job, 0, pairs, n);
        } else {
            pairs[n++] = "media_type", pairs[n++] = "TEXT";
        }
        pairs[n++] = "text", pairs[n++] = *text ? text : NULL;
    }
    pairs[n] = NULL;
}

/* Media is fetched asynchronously; a text container is ready at once. */
static bool th_needs_polling(const ap_job *job) { return job->n_media > 0; }

static const ap_container_platform th_platform = {
    .names = {.platform = "Threads", .permission = "threads_content_publish"},
    .create_edge = "threads",
    .publish_edge = "threads_publish",
    .limit_edge = "threads_publishing_limit",
    .status_fields = "status,error_message",
    .status_key = "status",
    .status_reason_key = "error_message",
    .list_edge = "threads",
    .list_fields = "id,text,timestamp,permalink",
    .list_text_key = "text",
    .container_pairs = th_container_pairs,
    .post_text = ap_container_text_with_link,
    .needs_polling = th_needs_polling,
};

static void *th_flow_new(const ap_flow_input *in) {
    return ap_container_flow_new(&th_platform, in);
}

const ap_adapter ap_adapter_threads = {
    .name = "threads",
    .validate = th_validate,
    .flow_new = th_flow_new,
    .step = ap_container_step,
    .flow_free = ap_container_flow_free,
    .threads = true,
    .first_comments = true,
};
