/* fuzz_recur.c -- libFuzzer target: recurrence rules (common/ap_recur.c) on
 * arbitrary bytes. The input is "rrule\0tz\0start". Whatever it is, parsing
 * must not crash, leak or abort inside libical; a refusal names one of the
 * three fields with a reason, and an accepted rule's instants ascend. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_recur.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 2048) return 0;
    char *buf = malloc(size + 3);
    if (buf == NULL) return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    /* Three NULs at the end: each part ends in the buffer, the last one
     * at buf + size + 2 at the latest. */
    const char *rrule = buf;
    const char *tz = rrule + strlen(rrule) + 1;
    const char *start = tz + strlen(tz) + 1;

    ap_recur *r = NULL;
    ap_recur_error why;
    ap_status st = ap_recur_new(&r, rrule, tz, start, 60, &why);
    if (st == AP_OK) {
        int64_t out[8];
        size_t n = ap_recur_next(r, 0, out, 8);
        for (size_t i = 1; i < n; i++)
            if (out[i] <= out[i - 1]) abort();
        if (n > 0 && ap_recur_next(r, out[0], out, 8) > 8) abort();
        ap_recur_free(r);
    } else if (st == AP_EINVAL) {
        if (why.field == NULL || why.reason[0] == '\0') abort();
        if (strcmp(why.field, "rrule") && strcmp(why.field, "tz") && strcmp(why.field, "start"))
            abort();
    }
    free(buf);
    return 0;
}
