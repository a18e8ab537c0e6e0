/* fuzz_kv_leader_read.c -- libFuzzer target: the stream leader's JSON reply
 * to a KV read (publishers/engine/kv_leader_read.h), which decides whether a
 * resent compare-and-set counts as stored. Whatever the bytes, the answer is
 * a value (NUL-terminated, its length right), no value, or a failure that
 * owns nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv_leader_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 20) return 0;
    ap_js_done d = {0};
    ap_kv_leader_decode((const char *)data, (int)size, &d);
    if (!d.ok && (d.found || d.value != NULL || d.status == NATS_OK)) abort();
    if (d.found) {
        if (d.value == NULL || d.value_len < 0 || d.value[d.value_len] != '\0' || d.seq == 0)
            abort();
    } else if (d.value != NULL) {
        abort();
    }
    ap_js_done_clear(&d);
    return 0;
}
