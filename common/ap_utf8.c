/* ap_utf8.c -- UTF-8 checks on top of libunistring. */
#include "ap_utf8.h"

#include <limits.h>
#include <string.h>
#include <unistr.h>

bool ap_utf8_valid(const char *s) { return u8_check((const uint8_t *)s, strlen(s)) == NULL; }

long ap_utf8_length(const char *s) {
    size_t n = strlen(s);
    if (u8_check((const uint8_t *)s, n) != NULL) return -1;
    size_t count = u8_mbsnlen((const uint8_t *)s, n);
    return count > LONG_MAX ? -1 : (long)count;
}

size_t ap_utf8_char_len(const char *p) {
    /* A NUL ends the string, so at most 4 bytes (or fewer, up to it) are read. */
    size_t avail = strnlen(p, 4);
    if (avail == 0) return 0;
    int n = u8_mblen((const uint8_t *)p, avail);
    return n > 0 ? (size_t)n : 0;
}
