/* fuzz_guard.c -- libFuzzer target: attempt-record values as read from the
 * KV bucket (anyone with access can write one). Parsing must not crash, and
 * what parses must survive format + parse unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ap_guard_record rec, again;
    if (ap_guard_parse((const char *)data, size, &rec) != 0) {
        if (rec.state != AP_GUARD_UNKNOWN) abort();
        return 0;
    }
    if (rec.state < AP_GUARD_STARTED || rec.state > AP_GUARD_EXPIRED) abort();
    if (strlen(rec.external_id) >= sizeof(rec.external_id)) abort();
    char buf[AP_GUARD_VALUE_LEN];
    ap_guard_format(buf, sizeof(buf), &rec, "fuzz");
    if (ap_guard_parse(buf, strlen(buf), &again) != 0) abort();
    if (again.state != rec.state || again.attempt != rec.attempt || again.at_ms != rec.at_ms)
        abort();
    if (rec.state == AP_GUARD_PUBLISHED && strcmp(again.external_id, rec.external_id) != 0) abort();
    if (rec.state == AP_GUARD_STARTED && again.ended != rec.ended) abort();
    /* A chain's progress (part=, ids=) survives too. */
    if (again.part != rec.part || strcmp(again.chain_ids, rec.chain_ids) != 0) abort();
    return 0;
}
