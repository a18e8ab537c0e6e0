/* facebook_videos.h -- Facebook Page videos and reels in the sandbox
 * (facebook_videos.c): the upload phases and rupload, routed by facebook.c
 * after its fault draw and token check. facebook.c publishes the finish
 * through its post store rules (duplicates, page limits, hang/close). */
#ifndef SANDBOX_FACEBOOK_VIDEOS_H
#define SANDBOX_FACEBOOK_VIDEOS_H

#include "server.h"

/* A finish call that is ready to publish: what the post record gets. */
typedef struct fb_video_finish {
    char video_id[32];
    const char *description; /* borrowed from the request; NULL when absent */
    int already;             /* this upload was published before: answer success again */
} fb_video_finish;

/* POST /{v}/{page}/videos (reel = 0) or /video_reels (reel = 1): start and
 * transfer are answered here (returns 1); a valid finish returns 0 with
 * *fin filled for the caller to publish. */
int sandbox_fb_videos_post(sandbox_request *req, const char *version, const char *page, int reel,
                           fb_video_finish *fin);
/* The finish was published (or refused): publishing status for the poll. */
void sandbox_fb_videos_published(const char *video_id, int ok);
/* GET /{v}/{video-id}?fields=status: 1 when id is an upload (answered). */
int sandbox_fb_videos_status(sandbox_request *req, const char *id);
/* POST /video-upload/{v}/{video-id}: rupload's bytes of a reel. */
void sandbox_fb_videos_rupload(sandbox_request *req, const char *id);
/* GET /_sandbox/facebook/videos: every upload, its bytes and cksum. */
json_t *sandbox_fb_videos_json(void);
void sandbox_fb_videos_reset(void);

#endif
