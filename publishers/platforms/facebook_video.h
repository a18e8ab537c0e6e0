/* facebook_video.h -- a Facebook Page video or reel, uploaded and published
 * as a sub-flow of the Facebook adapter: no I/O, steps like ap_adapter.step().
 *
 * The video is streamed: one ranged GET of the media URL per chunk
 * (chunked.h), one transfer of those bytes, the next chunk... so a 1 GB
 * video never sits in memory, only one chunk (platforms.facebook.
 * media_chunk_size). Unlike X and LinkedIn, the upload's last call (finish)
 * IS the publishing call: the flow ends with the post's outcome. */
#ifndef AP_FACEBOOK_VIDEO_H
#define AP_FACEBOOK_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

/* Facebook's limits (Pages video and reels docs): a page video up to 10 GB,
 * a reel up to 1 GB. */
#define AP_FB_VIDEO_MAX_BYTES (10LL * 1024 * 1024 * 1024)
#define AP_FB_REEL_MAX_BYTES (1LL * 1024 * 1024 * 1024)
#define AP_FB_ID_MAX 64

/* A step of the flow, named: the flow is always in exactly one. */
typedef enum ap_fb_video_state {
    AP_FV_FETCH,    /* ranged GET of the media URL (the first read, then each chunk) */
    AP_FV_START,    /* POST /{page}/videos|video_reels upload_phase=start */
    AP_FV_TRANSFER, /* page video: upload_phase=transfer; reel: POST <upload_url> */
    AP_FV_FINISH,   /* upload_phase=finish: THE publishing call */
    AP_FV_READBACK, /* finish's answer was lost: look for the video id on the page */
    AP_FV_STATUS,   /* GET /{video-id}?fields=status after a wait, until ready */
    AP_FV_DONE,     /* published (the result carries the video id) */
    AP_FV_FAILED    /* ended; the result says why */
} ap_fb_video_state;

/* start's answer: a page video gets a session and the first byte range,
 * a reel an upload URL (rupload). */
typedef struct ap_fb_video_start {
    char session[AP_FB_ID_MAX];  /* upload_session_id; "" for a reel */
    char video_id[AP_FB_ID_MAX]; /* video_id */
    char upload_url[512];        /* upload_url; "" for a page video */
    int64_t start, end;          /* start_offset, end_offset; -1 for a reel */
} ap_fb_video_start;

/* status.video_status (Graph's video status field). */
typedef enum ap_fb_video_status {
    AP_FVS_UNKNOWN,
    AP_FVS_UPLOADING, /* upload_complete, processing, uploading */
    AP_FVS_READY,     /* ready */
    AP_FVS_ERROR      /* error, upload_failed, expired */
} ap_fb_video_status;

/* Parsers of Facebook's answers (fuzzed: tests/fuzz/fuzz_facebook_video_response.c).
 * 0 on success, -1 when the answer does not have the expected shape. */
/* start: {"upload_session_id","video_id","start_offset":"0","end_offset":"N"}
 * (offsets as strings, as Graph sends them, or numbers) or, for a reel,
 * {"video_id","upload_url"}. s is cleared first. */
int ap_fb_video_parse_start(const char *body, size_t len, bool reel, ap_fb_video_start *s);
/* transfer: {"start_offset","end_offset"}: the next range Facebook wants. */
int ap_fb_video_parse_offsets(const char *body, size_t len, int64_t *start, int64_t *end);
/* finish and rupload: {"success":true}. */
int ap_fb_video_parse_success(const char *body, size_t len);
/* GET /{video-id}?fields=status: {"status":{"video_status",
 * "processing_phase":{"status","error":{"message"}}}}. */
int ap_fb_video_parse_status(const char *body, size_t len, ap_fb_video_status *status, char *why,
                             size_t why_len);
/* A page's videos or reels {"data":[{"id",...}]}: 1 when video_id is among
 * them (and not "published":false), 0 when not, -1 when unreadable. */
int ap_fb_video_listed(const char *body, size_t len, const char *video_id);

typedef struct ap_fb_video ap_fb_video;

/* The publishing of the job's media number index as a page video, or as a
 * reel; chunks of chunk_bytes. NULL when out of memory. */
ap_fb_video *ap_fb_video_new(size_t index, bool reel, size_t chunk_bytes);
void ap_fb_video_free(ap_fb_video *v); /* NULL is a no-op */

/* Like ap_adapter.step(): prev is the answer to the last request (NULL the
 * first time and after a WAIT). AP_STEP_DONE ends the post: r->error_class
 * NONE with the video's id and URL when it is published; AMBIGUOUS only
 * when the finish call's outcome could not be read back. */
ap_step_kind ap_fb_video_step(ap_fb_video *v, const ap_flow_input *in, const ap_http_response *prev,
                              ap_http_request *req, int64_t *wait_ms, ap_flow_result *r);

ap_fb_video_state ap_fb_video_state_of(const ap_fb_video *v);

#endif
