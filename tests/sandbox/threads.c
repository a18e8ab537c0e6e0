/* threads.c -- imitation of the Threads API publishing calls (containers.h
 * has the flow and the error order):
 *
 *   POST /threads/{v}/{user}/threads           media_type=TEXT|IMAGE|VIDEO|CAROUSEL,
 *        text (at most 500 characters), image_url | video_url | children,
 *        is_carousel_item                      -> {"id"} of a container
 *   GET  /threads/{v}/{container}?fields=status,error_message
 *   POST /threads/{v}/{user}/threads_publish   creation_id -> {"id"}
 *   GET  /threads/{v}/{user}/threads_publishing_limit?fields=quota_usage,config
 *   GET  /threads/{v}/{user}/threads?fields=id,text,timestamp,permalink
 *   GET  /threads/{v}/{post}/replies?fields=id,text,timestamp,permalink
 *
 * A container with reply_to_id=<post> (a post the sandbox has, else 400)
 * publishes a reply to it: listed by the parent's /replies and as
 * in_reply_to by /_sandbox/posts.
 *
 * Kinds recorded in the post store: "text", "image", "video", "carousel".
 * A text container is FINISHED at once; media ones after container_ready_ms.
 * The rolling-24h quota is the threads_quota knob (250, Threads' number). */
#include "containers.h"

static long th_quota(const sandbox_knobs *k) { return k->threads_quota; }

static const sandbox_container_api th_api = {
    .platform = "threads",
    .label = "Threads",
    .create_edge = "threads",
    .publish_edge = "threads_publish",
    .limit_edge = "threads_publishing_limit",
    .list_edge = "threads",
    .status_key = "status",
    .reason_key = "error_message",
    .text_key = "text",
    .default_type = NULL,
    .video_type = "VIDEO",
    .video_kind = "video",
    .text_posts = 1,
    .replies = 1,
    .max_text = 500,
    .permalink_prefix = "https://www.threads.net/@sandbox/post/",
    .quota = th_quota,
};

static void th_handle(sandbox_request *req) { sandbox_containers_handle(&th_api, req); }

const sandbox_platform sandbox_threads = {"threads", "/threads/", th_handle};
