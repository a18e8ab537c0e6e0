/* linkedin_video.h -- LinkedIn's video upload (Videos API), as a sub-flow of
 * the LinkedIn adapter: no I/O, steps like ap_adapter.step().
 *
 * The video is streamed: one ranged GET of the media URL per part LinkedIn
 * asks for (chunked.h), one PUT of those bytes, the next part... so a
 * 500 MB video never sits in memory, only one part at a time. */
#ifndef AP_LINKEDIN_VIDEO_H
#define AP_LINKEDIN_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "linkedin.h"

/* LinkedIn's limits (Videos API docs): up to 500 MB, parts of 4 MiB. A part
 * is held in memory while it is sent, so a part larger than
 * AP_LI_VIDEO_MAX_PART is refused rather than buffered. */
#define AP_LI_VIDEO_MAX_BYTES (500LL * 1024 * 1024)
#define AP_LI_VIDEO_MAX_PART (8 * 1024 * 1024)
#define AP_LI_VIDEO_MAX_PARTS 1000
#define AP_LI_URN_MAX 100

/* A step of the upload, named: the flow is always in exactly one. */
typedef enum ap_li_video_state {
    AP_LV_FETCH,    /* ranged GET of the media URL (the first read, then each part) */
    AP_LV_INIT,     /* POST /rest/videos?action=initializeUpload */
    AP_LV_PUT,      /* PUT the part in hand to its uploadUrl */
    AP_LV_FINALIZE, /* POST /rest/videos?action=finalizeUpload with the ETags */
    AP_LV_STATUS,   /* GET /rest/videos/{urn} after a wait */
    AP_LV_READY,    /* AVAILABLE: the video URN can go on a post */
    AP_LV_FAILED    /* ended; the result says why */
} ap_li_video_state;

typedef struct ap_li_video_part {
    int64_t first, last; /* bytes of the file, inclusive */
    char *url;           /* malloc'ed */
} ap_li_video_part;

/* initializeUpload's answer. */
typedef struct ap_li_video_upload {
    char video[AP_LI_URN_MAX]; /* urn:li:video:... */
    char *token;               /* uploadToken, malloc'ed ("" is usual) */
    ap_li_video_part *parts;   /* in the answer's order */
    size_t nparts;
} ap_li_video_upload;

/* Parsers of LinkedIn's answers (fuzzed: tests/fuzz/fuzz_linkedin_video_response.c).
 * 0 on success, -1 when the answer does not have the expected shape. */
/* {"value":{"video","uploadInstructions":[{"uploadUrl","firstByte","lastByte"}],
 * "uploadToken"}}. u is cleared first; on -1 it is left empty. */
int ap_li_video_parse_init(const char *body, size_t len, ap_li_video_upload *u);
void ap_li_video_upload_clear(ap_li_video_upload *u);
/* GET /rest/videos/{urn}: ap_li_parse_asset_status (linkedin.h). */

typedef struct ap_li_video ap_li_video;

/* The upload of the job's media number index; the first ranged read asks
 * for first_read bytes (platforms.linkedin.media_chunk_size). NULL when out
 * of memory. */
ap_li_video *ap_li_video_new(size_t index, size_t first_read);
void ap_li_video_free(ap_li_video *v); /* NULL is a no-op */

/* Like ap_adapter.step(): prev is the answer to the last request (NULL the
 * first time and after a WAIT). AP_STEP_DONE with r->error_class NONE means
 * the video is AVAILABLE (ap_li_video_urn); otherwise r says why it ended.
 * Nothing here is public, so no end is ambiguous or duplicate. */
ap_step_kind ap_li_video_step(ap_li_video *v, const ap_flow_input *in, const ap_http_response *prev,
                              ap_http_request *req, int64_t *wait_ms, ap_flow_result *r);

ap_li_video_state ap_li_video_state_of(const ap_li_video *v);
const char *ap_li_video_urn(const ap_li_video *v); /* "" until READY */

#endif
