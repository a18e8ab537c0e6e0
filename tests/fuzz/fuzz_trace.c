/* fuzz_trace.c -- libFuzzer target: traceparent header values
 * (common/ap_trace.c). Whatever is accepted formats back to a valid
 * version-00 header carrying the same ids, and continuing any input gives
 * a valid trace. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *value = malloc(size + 1);
    if (value == NULL) return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    ap_trace t, again, next;
    char buf[AP_TRACEPARENT_LEN + 1];
    if (ap_trace_parse(value, &t)) {
        if (!ap_trace_id_valid(t.trace_id)) abort();
        if (!ap_trace_format(&t, buf, sizeof(buf))) abort();
        if (!ap_trace_parse(buf, &again)) abort();
        if (strcmp(again.trace_id, t.trace_id) != 0 || strcmp(again.span_id, t.span_id) != 0)
            abort();
    }
    ap_trace_origin o = ap_trace_continue(value, &next);
    if (o == AP_TRACE_FAILED) abort();
    if (!ap_trace_format(&next, buf, sizeof(buf))) abort();
    if (o == AP_TRACE_CONTINUED && strcmp(next.trace_id, t.trace_id) != 0) abort();
    free(value);
    return 0;
}
