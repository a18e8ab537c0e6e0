/* ap_time.c -- see ap_time.h. Parsing is strict on purpose: a schedule time
 * that is silently misread is a post published at the wrong hour. */
#include "ap_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ap_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ap_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ap_sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static int parse_digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect_char(const char **p, char c) {
    if (**p != c) return -1;
    (*p)++;
    return 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (no timegm/TZ games). */
static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return mdays[m - 1];
}

int ap_time_parse_rfc3339(const char *s, int64_t *out_ms) {
    if (s == NULL) return -1;
    const char *p = s;
    int y, mo, d, h, mi, sec, ms = 0;
    if (parse_digits(&p, 4, &y) || expect_char(&p, '-') || parse_digits(&p, 2, &mo) ||
        expect_char(&p, '-') || parse_digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ') return -1;
    p++;
    if (parse_digits(&p, 2, &h) || expect_char(&p, ':') || parse_digits(&p, 2, &mi) ||
        expect_char(&p, ':') || parse_digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        int ndigits = 0;
        while (isdigit((unsigned char)*p)) {
            if (ndigits < 3) ms = ms * 10 + (*p - '0');
            ndigits++;
            p++;
        }
        if (ndigits == 0) return -1;
        for (int i = ndigits; i < 3; i++) ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (parse_digits(&p, 2, &oh) || expect_char(&p, ':') || parse_digits(&p, 2, &om)) return -1;
        if (oh > 23 || om > 59) return -1;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -1; /* a time without a zone is ambiguous: refuse it */
    }
    if (*p != '\0') return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (sec == 60) sec = 59; /* leap second: clamp rather than reject */
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *out_ms = secs * 1000 + ms;
    return 0;
}

void ap_time_format_rfc3339(int64_t ms, char *buf, size_t len) {
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int millis = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

#define AP_DURATION_MAX_MS (INT64_C(366) * 86400 * 1000)

int ap_duration_parse(const char *s, int64_t *out_ms) {
    if (s == NULL || *s == '\0') return -1;
    const char *p = s;
    int64_t total = 0;
    int parts = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p)) return -1;
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) {
            if (v > INT64_C(1) << 40) return -1;
            v = v * 10 + (*p - '0');
            p++;
        }
        int64_t mult;
        if (strncmp(p, "ms", 2) == 0) {
            mult = 1;
            p += 2;
        } else if (*p == 's') {
            mult = 1000;
            p++;
        } else if (*p == 'm') {
            mult = 60 * 1000;
            p++;
        } else if (*p == 'h') {
            mult = 3600 * 1000;
            p++;
        } else if (*p == '\0' && parts == 0) {
            mult = 1000; /* a bare number means seconds */
        } else {
            return -1;
        }
        /* A year is plenty for any timeout; the bound keeps v * mult and
         * the sum far from int64 overflow. */
        if (v > AP_DURATION_MAX_MS / mult || total + v * mult > AP_DURATION_MAX_MS) return -1;
        total += v * mult;
        parts++;
    }
    *out_ms = total;
    return 0;
}
