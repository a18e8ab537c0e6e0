/* ap_uuid.c -- UUID text form checks and version 7 generation. */
#include "ap_uuid.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static bool is_dash_position(int i) { return i == 8 || i == 13 || i == 18 || i == 23; }

bool ap_uuid_valid(const char *s) {
    if (s == NULL || strlen(s) != AP_UUID_TEXT_LEN) return false;
    for (int i = 0; i < AP_UUID_TEXT_LEN; i++) {
        if (is_dash_position(i)) {
            if (s[i] != '-') return false;
        } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool ap_uuid_normalize(const char *s, char out[AP_UUID_TEXT_LEN + 1]) {
    if (s == NULL || strlen(s) != AP_UUID_TEXT_LEN) return false;
    for (int i = 0; i < AP_UUID_TEXT_LEN; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[AP_UUID_TEXT_LEN] = '\0';
    return ap_uuid_valid(out);
}

bool ap_uuid_v7(char out[AP_UUID_TEXT_LEN + 1], int64_t unix_ms, uint32_t counter) {
    uint8_t b[16], rnd[6];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) return false;
    for (int i = 0; i < 6; i++) b[i] = (uint8_t)((uint64_t)unix_ms >> (40 - 8 * i));
    b[6] = (uint8_t)(0x70 | ((counter >> 28) & 0x0F)); /* version 7 */
    b[7] = (uint8_t)(counter >> 20);
    b[8] = (uint8_t)(0x80 | ((counter >> 14) & 0x3F)); /* RFC 9562 variant */
    b[9] = (uint8_t)(counter >> 6);
    b[10] = (uint8_t)(((counter & 0x3F) << 2) | (rnd[0] & 0x03));
    memcpy(b + 11, rnd + 1, 5);
    int n = snprintf(out, AP_UUID_TEXT_LEN + 1,
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                     b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                     b[13], b[14], b[15]);
    return n == AP_UUID_TEXT_LEN;
}
