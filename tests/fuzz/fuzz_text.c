/* fuzz_text.c -- libFuzzer target: the small text parsers and escapers that
 * see user input: RFC 3339 times and durations (schedules, config), JSON
 * escaping (log lines) and form encoding (Graph API bodies).
 * Input: one byte choosing the escape buffer size, then the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_time.h"
#include "http.h"

static void check_time(const char *s) {
    int64_t ms;
    if (ap_time_parse_rfc3339(s, &ms) == 0) {
        char buf[64];
        int64_t again;
        ap_time_format_rfc3339(ms, buf, sizeof(buf));
        if (ap_time_parse_rfc3339(buf, &again) != 0 || again != ms) abort();
    }
    if (ap_duration_parse(s, &ms) == 0 && ms < 0) abort();
}

/* Output must be NUL-terminated at n, shorter than len, and never end inside
 * a UTF-8 sequence that was whole in the input. */
static void check_escape(const char *s, size_t len) {
    char *buf = malloc(len ? len : 1);
    if (buf == NULL) return;
    size_t n = ap_json_escape(buf, len, s);
    if (len > 0) {
        if (n >= len || strlen(buf) != n) abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] < 0x20) abort(); /* control characters escaped */
    }
    free(buf);
}

static void check_form(const char *s) {
    const char *pairs[] = {"message", s, "link", NULL, "x", s, NULL};
    char *form = ap_http_form(pairs);
    if (form == NULL) abort();
    for (const char *p = form; *p; p++)
        if (strchr("&=%-._~", *p) == NULL &&
            !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            abort(); /* something left unescaped */
    free(form);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t len = data[0];
    char *s = malloc(size);
    if (s == NULL) return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    check_time(s);
    check_escape(s, len);
    check_form(s);
    free(s);
    return 0;
}
