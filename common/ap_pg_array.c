/* ap_pg_array.c -- see ap_pg_array.h: quoting, escaping and U+FFFD for
 * bytes that are not UTF-8. */
#include "ap_pg_array.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_utf8.h"

void ap_pg_array_init(ap_pg_array *a) { memset(a, 0, sizeof(*a)); }

void ap_pg_array_free(ap_pg_array *a) {
    if (a == NULL) return;
    ap_buf_free(&a->buf);
    ap_pg_array_init(a);
}

void ap_pg_array_fail(ap_pg_array *a) { a->buf.failed = true; }

static void next_element(ap_pg_array *a) {
    ap_buf_append(&a->buf, a->count ? "," : "{", 1);
    a->count++;
}

static void quote(ap_pg_array *a, const char *s) {
    static const char replacement[] = "\xEF\xBF\xBD";
    ap_buf_append(&a->buf, "\"", 1);
    const char *run = s; /* bytes copied as they are, up to p */
    const char *p = s;
    while (*p) {
        size_t k = ap_utf8_char_len(p);
        if (k == 1 && (*p == '"' || *p == '\\')) {
            ap_buf_append(&a->buf, run, (size_t)(p - run));
            ap_buf_append(&a->buf, "\\", 1);
            run = p; /* the quote or backslash itself follows its escape */
            p++;
            continue;
        }
        if (k == 0) {
            ap_buf_append(&a->buf, run, (size_t)(p - run));
            ap_buf_append(&a->buf, replacement, sizeof(replacement) - 1);
            run = ++p;
            continue;
        }
        p += k;
    }
    ap_buf_append(&a->buf, run, (size_t)(p - run));
    ap_buf_append(&a->buf, "\"", 1);
}

void ap_pg_array_text(ap_pg_array *a, const char *s) {
    next_element(a);
    if (s == NULL)
        ap_buf_append(&a->buf, "NULL", 4);
    else
        quote(a, s);
}

void ap_pg_array_int(ap_pg_array *a, int64_t v) {
    next_element(a);
    ap_buf_printf(&a->buf, "%" PRId64, v);
}

void ap_pg_array_null(ap_pg_array *a) {
    next_element(a);
    ap_buf_append(&a->buf, "NULL", 4);
}

char *ap_pg_array_finish(ap_pg_array *a) {
    if (a->count == 0) ap_buf_append(&a->buf, "{", 1);
    ap_buf_append(&a->buf, "}", 1);
    char *out = NULL;
    if (ap_buf_failed(&a->buf))
        ap_buf_free(&a->buf);
    else
        out = a->buf.data;
    ap_pg_array_init(a);
    return out;
}
