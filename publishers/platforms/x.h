/* x.h -- what the X adapter's files share: the error classification of an
 * X answer and the shape of X's numeric ids (x.c), used by the chunked
 * media upload (x_video.c) as by the tweet itself. */
#ifndef AP_X_H
#define AP_X_H

#include <stdbool.h>

#include "adapter.h"

/* Classifies a non-2xx X answer into r (see x.c's header comment).
 * publishing: the call was the tweet itself, where a 5xx other than 503 may
 * come after X stored it (ambiguous); any other call is a harmless retry. */
void ap_x_classify_error(const ap_http_response *res, bool publishing, ap_flow_result *r);

/* X's ids are decimal strings of at most 32 digits. */
bool ap_x_id_text_ok(const char *id, size_t len);

#endif
