/* fuzz_retry_after.c -- libFuzzer target: Retry-After header values (delta
 * seconds or an HTTP date, parsed by curl_getdate). The answer is -1 or a
 * wait that is never negative. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *value = malloc(size + 1);
    if (value == NULL) return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    const long long now_ms = 1795856400000LL; /* 2026-11-28T09:00:00Z */
    long long ms = ap_http_retry_after_ms(value, now_ms);
    if (ms < -1) abort();
    if (ms >= 0 && ap_http_retry_after_ms(value, now_ms) != ms) abort(); /* deterministic */
    free(value);
    return 0;
}
