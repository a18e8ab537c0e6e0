/* ap_buf.c -- the growable byte buffer: doubling growth, sticky failure. */
#include "ap_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AP_BUF_FIRST_CAP 1024

static bool reserve(ap_buf *b, size_t extra) {
    if (b->failed) return false;
    if (extra > SIZE_MAX / 2 - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : AP_BUF_FIRST_CAP;
    while (cap < need) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

bool ap_buf_append(ap_buf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return false;
    if (n > 0) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool ap_buf_puts(ap_buf *b, const char *s) { return ap_buf_append(b, s, strlen(s)); }

bool ap_buf_printf(ap_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return false;
    }
    if (!reserve(b, (size_t)n)) return false;
    va_start(ap, fmt);
    int written = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (written != n) {
        b->data[b->len] = '\0';
        b->failed = true;
        return false;
    }
    b->len += (size_t)n;
    return true;
}

void ap_buf_free(ap_buf *b) {
    if (b == NULL) return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}
