/* instagram.c -- imitation of the Instagram Graph API publishing calls
 * (containers.h has the flow and the error order):
 *
 *   POST /instagram/{v}/{ig-user}/media            image_url | media_type=REELS + video_url
 *        | is_carousel_item=true (+ media_type=VIDEO) | media_type=CAROUSEL + children
 *        | media_type=STORIES + image_url or video_url (a caption is refused);
 *        caption (at most 2200 characters)          -> {"id"} of a container
 *   GET  /instagram/{v}/{container}?fields=status_code,status
 *   POST /instagram/{v}/{ig-user}/media_publish    creation_id -> {"id"}
 *   GET  /instagram/{v}/{ig-user}/content_publishing_limit?fields=quota_usage,config
 *   GET  /instagram/{v}/{ig-user}/media?fields=id,caption,timestamp,permalink
 *
 * Kinds recorded in the post store: "image", "reel", "carousel", "story". The
 * rolling-24h quota is the instagram_quota knob (50, Instagram's number);
 * past it the publish call answers code 9, subcode 2207042. */
#include "containers.h"

static long ig_quota(const sandbox_knobs *k) { return k->instagram_quota; }

static const sandbox_container_api ig_api = {
    .platform = "instagram",
    .label = "Instagram",
    .create_edge = "media",
    .publish_edge = "media_publish",
    .limit_edge = "content_publishing_limit",
    .list_edge = "media",
    .status_key = "status_code",
    .reason_key = "status",
    .text_key = "caption",
    .default_type = "IMAGE",
    .video_type = "REELS",
    .video_kind = "reel",
    .text_posts = 0,
    .stories = 1,
    .max_text = 2200,
    .permalink_prefix = "https://www.instagram.com/p/sandbox",
    .quota = ig_quota,
    .comments = 1,
};

static void ig_handle(sandbox_request *req) { sandbox_containers_handle(&ig_api, req); }

const sandbox_platform sandbox_instagram = {"instagram", "/instagram/", ig_handle};
