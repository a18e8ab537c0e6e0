/* chunked.h -- ranged reads of a post's media URL, one chunk in memory at a
 * time: the shared half of the chunked uploads (X's video and GIF in
 * x_video.c, LinkedIn's video in linkedin_video.c, Facebook's page videos
 * and reels in facebook_video.c).
 *
 * No I/O: ap_chunk_build_fetch() fills the request for one range and
 * ap_chunk_take() checks the answer and keeps its bytes. The upload flows
 * decide which range comes next and what to do with the bytes. */
#ifndef AP_CHUNKED_H
#define AP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

typedef struct ap_chunk_reader {
    const char *what; /* "video", "GIF": how messages name the media */
    size_t index;     /* which of the job's media (0-based) */
    int64_t total;    /* the file's size; -1 until the first answer says it */
    int64_t first;    /* where the chunk in hand starts in the file */
    char *bytes;      /* the chunk in hand, malloc'ed; NULL when none */
    size_t len;
} ap_chunk_reader;

void ap_chunk_reader_init(ap_chunk_reader *c, size_t index, const char *what);
void ap_chunk_reader_drop(ap_chunk_reader *c); /* frees the chunk in hand */

/* A GET of url (no token) for bytes first .. first+max-1, cut at the file's
 * end once the size is known. The answer is capped at max bytes: a host
 * that ignores Range is cut there, never buffered whole. */
int ap_chunk_build_fetch(const ap_chunk_reader *c, const char *url, int64_t first, size_t max,
                         ap_http_request *req);

/* The answer to the read that started at first: true when it holds bytes
 * from first on (kept in c->bytes, c->len; c->total set or checked the same
 * as every earlier answer said). Otherwise r says why: the outbound policy
 * refused the host (permanent media_url_refused), a host that ignores or
 * garbles Range (permanent media_range), a file whose size changed (retry
 * media_changed), the host unavailable (retry media_download) or refusing
 * (permanent media_download). Nothing is public yet: never ambiguous. */
bool ap_chunk_take(ap_chunk_reader *c, const ap_http_response *res, int64_t first,
                   ap_flow_result *r);

/* A multipart/form-data body for req: the text fields (NULL-terminated
 * name/value pairs; a NULL value skips the field), then one file part named
 * file_field holding the chunk's bytes; sets the Content-Type header with a
 * boundary (built from salt) that never occurs in the bytes. Used by X's
 * append and Facebook's transfer. -1 on OOM or an oversized field. */
int ap_chunk_build_multipart(ap_http_request *req, const char *salt, const char *const *pairs,
                             const char *file_field, const char *bytes, size_t len);

/* Content-Range: "bytes FIRST-LAST/TOTAL" (TOTAL not "*"); 0 or -1.
 * Fuzzed by tests/fuzz/fuzz_x_video_response.c. */
int ap_chunk_parse_content_range(const char *value, int64_t *first, int64_t *last, int64_t *total);

#endif
