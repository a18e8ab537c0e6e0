/* x_video.h -- X's chunked media upload (a video or an animated GIF), as a
 * sub-flow of the X adapter: no I/O, steps like ap_adapter.step().
 *
 * The media is streamed: one ranged GET of the media URL (one chunk,
 * chunked.h), one append of those bytes, the next chunk... so a 512 MB video never sits
 * in memory, only a chunk at a time (platforms.x.media_chunk_size). */
#ifndef AP_X_VIDEO_H
#define AP_X_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

/* X's limits (media upload docs): a video up to 512 MB (and 140 s, which X
 * checks while processing), a GIF up to 15 MB; one per tweet. */
#define AP_X_VIDEO_MAX_BYTES (512LL * 1024 * 1024)
#define AP_X_GIF_MAX_BYTES (15LL * 1024 * 1024)
#define AP_X_MAX_SEGMENTS 1000 /* segment_index 0..999 */

/* A step of the upload, named: the flow is always in exactly one. */
typedef enum ap_x_video_state {
    AP_XV_FETCH,    /* ranged GET of the next chunk of the media URL */
    AP_XV_INIT,     /* POST media/upload/initialize */
    AP_XV_APPEND,   /* POST media/upload/{id}/append, the chunk in hand */
    AP_XV_FINALIZE, /* POST media/upload/{id}/finalize */
    AP_XV_STATUS,   /* GET media/upload?command=STATUS after a wait */
    AP_XV_READY,    /* processing succeeded: the media id can go on a tweet */
    AP_XV_FAILED    /* ended; the result says why */
} ap_x_video_state;

/* processing_info.state; NONE when X left processing_info out (ready). */
typedef enum ap_x_processing_state {
    AP_XP_NONE,
    AP_XP_PENDING,
    AP_XP_IN_PROGRESS,
    AP_XP_SUCCEEDED,
    AP_XP_FAILED
} ap_x_processing_state;

typedef struct ap_x_processing {
    ap_x_processing_state state;
    int64_t check_after_s; /* -1 when absent */
    int progress_percent;  /* -1 when absent */
    char error[160];       /* processing_info.error.message (or name) */
} ap_x_processing;

/* Parsers of X's answers (fuzzed: tests/fuzz/fuzz_x_video_response.c).
 * 0 on success, -1 when the answer does not have the expected shape. */
/* initialize: {"data":{"id":"<digits>","expires_after_secs":N}}. */
int ap_x_video_parse_init(const char *body, size_t len, char *id, size_t id_len,
                          int64_t *expires_after_s);
/* finalize and STATUS: {"data":{"processing_info":{...}}} (data optional). */
int ap_x_video_parse_processing(const char *body, size_t len, ap_x_processing *p);

typedef struct ap_x_video ap_x_video;

/* The upload of the job's media number index (a video or a GIF), in parts
 * of chunk_bytes. NULL when out of memory. */
ap_x_video *ap_x_video_new(const ap_flow_input *in, size_t index, size_t chunk_bytes);
void ap_x_video_free(ap_x_video *v); /* NULL is a no-op */

/* Like ap_adapter.step(): prev is the answer to the last request (NULL the
 * first time and after a WAIT). AP_STEP_DONE with r->error_class NONE means
 * the media is ready (ap_x_video_media_id); otherwise r says why it ended.
 * Nothing here is public, so no end is ambiguous. */
ap_step_kind ap_x_video_step(ap_x_video *v, const ap_flow_input *in, const ap_http_response *prev,
                             ap_http_request *req, int64_t *wait_ms, ap_flow_result *r);

ap_x_video_state ap_x_video_state_of(const ap_x_video *v);
const char *ap_x_video_media_id(const ap_x_video *v); /* "" until READY */

#endif
