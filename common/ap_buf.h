/* ap_buf.h -- the one growable byte buffer (COPY data, metrics text, ...).
 *
 * The buffer keeps a NUL after its bytes so it can be read as a string. An
 * allocation failure is sticky: later appends do nothing and return false,
 * so a writer of many pieces may check once at the end (ap_buf_failed).
 * Start from a zeroed struct (ap_buf b = {0}); the caller owns data and
 * releases it with ap_buf_free (which also accepts NULL). */
#ifndef AP_BUF_H
#define AP_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ap_buf {
    char *data; /* NULL until the first append */
    size_t len, cap;
    bool failed; /* an allocation failed: the contents are incomplete */
} ap_buf;

bool ap_buf_append(ap_buf *b, const char *s, size_t n);
bool ap_buf_puts(ap_buf *b, const char *s);
bool ap_buf_printf(ap_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool ap_buf_failed(const ap_buf *b) { return b->failed; }
void ap_buf_free(ap_buf *b);

#endif
