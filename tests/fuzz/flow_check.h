/* flow_check.h -- what every adapter's flow result must look like, whatever
 * the platform answered. Shared by the adapter response fuzz targets. */
#ifndef FUZZ_FLOW_CHECK_H
#define FUZZ_FLOW_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "adapter.h"

static inline void fuzz_check_flow_result(const ap_flow_result *r) {
    if ((unsigned)r->error_class > AP_CLASS_INVALID) abort();
    /* Every text field NUL-terminated inside its buffer. */
    if (strnlen(r->external_id, sizeof(r->external_id)) == sizeof(r->external_id) ||
        strnlen(r->error_code, sizeof(r->error_code)) == sizeof(r->error_code) ||
        strnlen(r->error_message, sizeof(r->error_message)) == sizeof(r->error_message) ||
        strnlen(r->external_url, sizeof(r->external_url)) == sizeof(r->external_url))
        abort();
    if (r->retry_after_ms < 0) abort();
    /* Success names the post; a failure names its code. */
    if (r->error_class == AP_CLASS_NONE && r->external_id[0] == '\0') abort();
    if (r->error_class != AP_CLASS_NONE && r->error_code[0] == '\0') abort();
    if (r->not_found && r->error_class == AP_CLASS_NONE) abort();
    /* A creation time only comes with a post found, and is never negative. */
    if (r->created_at_ms < 0 || (r->created_at_ms != 0 && r->error_class != AP_CLASS_NONE)) abort();
}

#endif
