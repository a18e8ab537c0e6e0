/* instagram.c -- Instagram professional accounts through the Instagram Graph
 * API's container flow (container.h). The account's platform id is the
 * Instagram user id (job->account_external_id).
 *
 * Kinds, chosen by the format (PublishJob.format, ap_format.h) and the media:
 *   feed, one image   image   POST /{ig-user}/media image_url, caption
 *   feed, one video   reel    POST /{ig-user}/media media_type=REELS, video_url, caption
 *   feed, 2..10       carousel items: POST /{ig-user}/media is_carousel_item=true,
 *                       image_url | media_type=VIDEO + video_url;
 *                     then POST /{ig-user}/media media_type=CAROUSEL, children=a,b, caption
 *   reel, one video   reel    as a feed post with one video (Instagram shares
 *                             reels to the feed); anything else is refused
 *   story, one item   story   POST /{ig-user}/media media_type=STORIES,
 *                             image_url | video_url, no caption
 * A story carries no text: Instagram ignores a caption on stories, so a story
 * with text or a link is refused in validation rather than published without
 * it. Every container, a story's too, is polled (a story video takes time).
 * then GET /{container}?fields=status_code,status until FINISHED and
 * POST /{ig-user}/media_publish creation_id -> {"id"}.
 *
 * Limits checked before any call (Instagram's documented ones): a post has
 * media (no text-only posts), a caption of at most 2200 characters (Unicode
 * code points) and 30 hashtags. The link, if any, rides in the caption:
 * Instagram has no link attachment. The rolling-24h publishing quota (50
 * posts at the time of writing) is read from content_publishing_limit
 * before any container is made, and error 9/2207042 means it ran out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "ap_utf8.h"
#include "container.h"
#include "graph_comment.h"

#define INSTAGRAM_MAX_CAPTION 2200
#define INSTAGRAM_MAX_HASHTAGS 30
#define INSTAGRAM_MAX_MEDIA 10

/* Hashtags as Instagram counts them: a '#' followed by a word character,
 * not in the middle of a word. Good enough to catch the 31st. */
static int ig_hashtags(const char *s) {
    int n = 0;
    for (const char *p = s; *p; p++) {
        bool starts = p == s || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t' || p[-1] == '#';
        if (*p == '#' && starts && p[1] != '\0' && p[1] != '#' && p[1] != ' ' && p[1] != '\n' &&
            p[1] != '\t')
            n++;
    }
    return n;
}

/* What a story or a reel needs beyond a feed post's rules. Reasons start
 * with "format" (the field a door names). */
static bool ig_video(const ap_job *job, size_t i) {
    return job->media[i]->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
}

static bool ig_story(const ap_job *job) {
    ap_format f;
    return ap_format_parse(job->format, &f) && f == AP_FORMAT_STORY;
}

static bool ig_validate_format(const ap_job *job, char *reason, size_t len) {
    ap_format f;
    if (!ap_job_format(job, &f, reason, len)) return false;
    if (f == AP_FORMAT_STORY) {
        if (job->n_media != 1) {
            snprintf(reason, len, "format story takes exactly one image or video (got %zu media)",
                     job->n_media);
            return false;
        }
        if ((job->text && *job->text) || (job->link && *job->link)) {
            snprintf(reason, len,
                     "format story carries no text or link: Instagram ignores text on stories "
                     "(post the text separately, or drop it)");
            return false;
        }
    }
    if (f == AP_FORMAT_REEL && (job->n_media != 1 || !ig_video(job, 0))) {
        snprintf(reason, len, "format reel takes exactly one video");
        return false;
    }
    return true;
}

static bool ig_validate(const ap_job *job, char *reason, size_t len) {
    if (!ap_validate_common(job, INSTAGRAM_MAX_MEDIA, reason, len)) return false;
    if (job->n_media == 0) {
        snprintf(reason, len, "Instagram posts need an image or a video (no text-only posts)");
        return false;
    }
    for (size_t i = 0; i < job->n_media; i++) {
        Autopost__V1__MediaType t = job->media[i]->type;
        if (t != AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE &&
            t != AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO) {
            snprintf(reason, len, "media %zu: Instagram needs an image or a video", i + 1);
            return false;
        }
    }
    if (!ig_validate_format(job, reason, len)) return false;
    char *caption = ap_container_text_with_link(job);
    if (caption == NULL) {
        snprintf(reason, len, "out of memory");
        return false;
    }
    long chars = ap_utf8_length(caption);
    int tags = ig_hashtags(caption);
    free(caption);
    if (chars < 0) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (chars > INSTAGRAM_MAX_CAPTION) {
        snprintf(reason, len, "caption has %ld characters; Instagram allows at most %d", chars,
                 INSTAGRAM_MAX_CAPTION);
        return false;
    }
    if (tags > INSTAGRAM_MAX_HASHTAGS) {
        snprintf(reason, len, "caption has %d hashtags; Instagram allows at most %d", tags,
                 INSTAGRAM_MAX_HASHTAGS);
        return false;
    }
    if (!ap_container_valid_user_id(job->account_external_id)) {
        snprintf(reason, len, "account has no valid Instagram user id");
        return false;
    }
    return true;
}

static void ig_container_pairs(const ap_job *job, int child, const char *children,
                               const char *caption, const char **pairs) {
    int n = 0;
    const char *cap = *caption ? caption : NULL;
    if (child >= 0) {
        size_t i = (size_t)child;
        if (ig_video(job, i)) {
            pairs[n++] = "media_type", pairs[n++] = "VIDEO";
            pairs[n++] = "video_url", pairs[n++] = job->media[i]->url;
        } else {
            pairs[n++] = "image_url", pairs[n++] = job->media[i]->url;
        }
        pairs[n++] = "is_carousel_item", pairs[n++] = "true";
    } else if (ig_story(job)) {
        /* No caption: Instagram drops text on stories (validation refuses it). */
        pairs[n++] = "media_type", pairs[n++] = "STORIES";
        pairs[n++] = ig_video(job, 0) ? "video_url" : "image_url";
        pairs[n++] = job->media[0]->url;
    } else if (children) {
        pairs[n++] = "media_type", pairs[n++] = "CAROUSEL";
        pairs[n++] = "children", pairs[n++] = children;
        pairs[n++] = "caption", pairs[n++] = cap;
    } else if (ig_video(job, 0)) {
        pairs[n++] = "media_type", pairs[n++] = "REELS";
        pairs[n++] = "video_url", pairs[n++] = job->media[0]->url;
        pairs[n++] = "caption", pairs[n++] = cap;
    } else {
        pairs[n++] = "image_url", pairs[n++] = job->media[0]->url;
        pairs[n++] = "caption", pairs[n++] = cap;
    }
    pairs[n] = NULL;
}

/* Every Instagram container is fetched and processed asynchronously. */
static bool ig_needs_polling(const ap_job *job) {
    (void)job;
    return true;
}

static const ap_container_platform ig_platform = {
    .names = {.platform = "Instagram", .permission = "instagram_content_publish"},
    .create_edge = "media",
    .publish_edge = "media_publish",
    .limit_edge = "content_publishing_limit",
    .status_fields = "status_code,status",
    .status_key = "status_code",
    .status_reason_key = "status",
    .list_edge = "media",
    .list_fields = "id,caption,timestamp,permalink",
    .list_text_key = "caption",
    .container_pairs = ig_container_pairs,
    .post_text = ap_container_text_with_link,
    .needs_polling = ig_needs_polling,
};

static void *ig_flow_new(const ap_flow_input *in) {
    return ap_container_flow_new(&ig_platform, in);
}

const ap_adapter ap_adapter_instagram = {
    .name = "instagram",
    .validate = ig_validate,
    .flow_new = ig_flow_new,
    .step = ap_container_step,
    .flow_free = ap_container_flow_free,
    .formats = AP_FORMAT_BIT(AP_FORMAT_STORY) | AP_FORMAT_BIT(AP_FORMAT_REEL),
    .first_comments = true,
    .comment = &ap_adapter_instagram_comment,
};
