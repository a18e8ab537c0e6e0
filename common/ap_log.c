/* ap_log.c -- see ap_log.h. A line is built in a stack buffer and written
 * with one write(2) so lines from several threads never interleave. */
#include "ap_log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ap_time.h"

static char log_service[32] = "autopost";
static char log_instance[96] = "";
static ap_log_level log_min = AP_LOG_INFO;

void ap_log_init(const char *service, const char *instance) {
    snprintf(log_service, sizeof(log_service), "%s", service ? service : "autopost");
    snprintf(log_instance, sizeof(log_instance), "%s", instance ? instance : "");
}

void ap_log_set_level(ap_log_level min) { log_min = min; }

int ap_log_level_parse(const char *name, ap_log_level *out) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (ap_log_level)i;
            return 0;
        }
    }
    return -1;
}

size_t ap_json_escape(char *buf, size_t len, const char *s) {
    size_t n = 0;
    if (len == 0) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        size_t k;
        switch (*p) {
        case '"': k = (size_t)snprintf(tmp, sizeof(tmp), "\\\""); break;
        case '\\': k = (size_t)snprintf(tmp, sizeof(tmp), "\\\\"); break;
        case '\n': k = (size_t)snprintf(tmp, sizeof(tmp), "\\n"); break;
        case '\r': k = (size_t)snprintf(tmp, sizeof(tmp), "\\r"); break;
        case '\t': k = (size_t)snprintf(tmp, sizeof(tmp), "\\t"); break;
        default:
            if (*p < 0x20) {
                k = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
            } else {
                tmp[0] = (char)*p;
                k = 1;
            }
        }
        /* Don't cut a UTF-8 sequence: stop before a lead byte that won't fit. */
        size_t need = k;
        if (*p >= 0xC0) need = (*p >= 0xF0) ? 4 : (*p >= 0xE0) ? 3 : 2;
        if (n + need + 1 > len) break;
        memcpy(buf + n, tmp, k);
        n += k;
    }
    buf[n] = '\0';
    return n;
}

static void log_line(ap_log_level level, const char *event, const char *schedule_id,
                     const char *trace_id, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void log_line(ap_log_level level, const char *event, const char *schedule_id,
                     const char *trace_id, const char *fmt, va_list ap) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    char msg[2048], line[4096], ts[32];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    ap_time_format_rfc3339(ap_now_ms(), ts, sizeof(ts));

    size_t n = (size_t)snprintf(
        line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"instance\":\"",
        ts, names[level], log_service);
    n += ap_json_escape(line + n, sizeof(line) - n, log_instance);
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"event\":\"");
    /* Ids and events are short; a caller passing a huge one must not push n
     * past the line (sizeof(line) - n - 4 below would wrap around). */
    n += ap_json_escape(line + n, 128, event ? event : "");
    if (schedule_id && *schedule_id) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"schedule_id\":\"");
        n += ap_json_escape(line + n, 128, schedule_id);
    }
    if (trace_id && *trace_id) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"trace_id\":\"");
        n += ap_json_escape(line + n, 64, trace_id);
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
    n += ap_json_escape(line + n, sizeof(line) - n - 4, msg);
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
    if (n >= sizeof(line)) n = sizeof(line) - 1;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nowhere better to report a failed log write */
}

void ap_log(ap_log_level level, const char *event, const char *schedule_id, const char *fmt, ...) {
    if (level < log_min) return;
    va_list ap;
    va_start(ap, fmt);
    log_line(level, event, schedule_id, NULL, fmt, ap);
    va_end(ap);
}

void ap_log_job(ap_log_level level, const char *event, const char *schedule_id,
                const char *trace_id, const char *fmt, ...) {
    if (level < log_min) return;
    va_list ap;
    va_start(ap, fmt);
    log_line(level, event, schedule_id, trace_id, fmt, ap);
    va_end(ap);
}
