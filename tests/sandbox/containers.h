/* containers.h -- the container-style publishing APIs Instagram and Threads
 * share, imitated once (containers.c) and configured per platform
 * (instagram.c, threads.c).
 *
 * Paths are /<platform>/{version}/{node}[/{edge}]:
 *   POST {user}/<create_edge>    make a media container          -> {"id"}
 *   GET  {container}             its status (IN_PROGRESS until container_ready_ms
 *                                has passed, then FINISHED; a media URL containing
 *                                "error" ends in ERROR, one containing "expire" in
 *                                EXPIRED), or a published post, or the user
 *   POST {user}/<publish_edge>   creation_id -> {"id"} of the post, recorded in the
 *                                post store; rolling-24h quota per account
 *   GET  {user}/<limit_edge>     {"data":[{"quota_usage","config":{quota_total,
 *                                quota_duration}}]}
 *   GET  {user}/<list_edge>      recent posts, newest first, limit + paging.next
 * Errors use the Graph shape {"error":{message,type,code,[error_subcode,]
 * is_transient,fbtrace_id}}. Handlers run on the server's single polling
 * thread, so the container table needs no lock. */
#ifndef SANDBOX_CONTAINERS_H
#define SANDBOX_CONTAINERS_H

#include "server.h"

typedef struct sandbox_container_api {
    const char *platform;         /* "instagram": post store name and the URL prefix */
    const char *label;            /* "Instagram" in messages */
    const char *create_edge;      /* "media" | "threads" */
    const char *publish_edge;     /* "media_publish" | "threads_publish" */
    const char *limit_edge;       /* "content_publishing_limit" | "threads_publishing_limit" */
    const char *list_edge;        /* "media" | "threads" */
    const char *status_key;       /* "status_code" | "status" */
    const char *reason_key;       /* "status" | "error_message" */
    const char *text_key;         /* "caption" | "text": parameter and field */
    const char *default_type;     /* media_type when absent ("IMAGE"), NULL = required */
    const char *video_type;       /* media_type of a single video post: "REELS" | "VIDEO" */
    const char *video_kind;       /* its kind in the post store: "reel" | "video" */
    int text_posts;               /* media_type=TEXT allowed */
    int stories;                  /* media_type=STORIES (image_url | video_url, no caption) */
    int replies;                  /* reply_to_id on a container; GET /{post}/replies */
    int comments;                 /* POST/GET /{post}/comments (comments.h) */
    long max_text;                /* characters */
    const char *permalink_prefix; /* + the post id */
    long (*quota)(const sandbox_knobs *k);
} sandbox_container_api;

void sandbox_containers_handle(const sandbox_container_api *api, sandbox_request *req);

#endif
