/* fuzz_dispatcher_input.c -- libFuzzer target: what the dispatcher reads off
 * the bus. The first byte picks the reader: a MAX_DELIVERIES advisory (JSON
 * anyone with publish rights on the advisory subject could forge) or a
 * PublishResult payload. Neither may crash; what parses must be in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_proto.h"
#include "fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    char err[256];
    if (data[0] & 1) {
        ap_advisory adv;
        if (ap_advisory_parse((const char *)data + 1, size - 1, &adv, err, sizeof(err)) == AP_OK) {
            if (adv.stream_seq == 0) abort();
            if (memchr(adv.stream, '\0', sizeof(adv.stream)) == NULL) abort();
            if (memchr(adv.consumer, '\0', sizeof(adv.consumer)) == NULL) abort();
        }
    } else {
        ap_result *res = NULL;
        if (ap_result_decode(data + 1, size - 1, &res, err, sizeof(err)) == AP_OK) {
            if (!ap_uuid_valid(res->schedule_id) || res->generation == 0) abort();
            ap_result_free(res);
        }
    }
    return 0;
}
