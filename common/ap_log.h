/* ap_log.h -- one JSON object per line on stderr.
 *
 * Every line names the service and instance; lines about a schedule carry
 * "schedule_id" so `grep <id>` across all services tells a post's story,
 * and "trace_id" (the W3C trace the schedule belongs to, ap_trace.h) so a
 * tracing tool or `grep <trace id>` joins them with the API's request.
 * Never pass a credential to these functions. */
#ifndef AP_LOG_H
#define AP_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum ap_log_level { AP_LOG_DEBUG, AP_LOG_INFO, AP_LOG_WARN, AP_LOG_ERROR } ap_log_level;

void ap_log_init(const char *service, const char *instance);
void ap_log_set_level(ap_log_level min);
/* Accepts "debug", "info", "warn", "error"; returns -1 for anything else. */
int ap_log_level_parse(const char *name, ap_log_level *out);

/* event: short stable name ("job_published"); schedule_id may be NULL. */
void ap_log(ap_log_level level, const char *event, const char *schedule_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same line with "trace_id" after "schedule_id" (trace_id may be NULL
 * or empty: no field). For every line about one job in a service that has
 * its trace (ap_trace.h). */
void ap_log_job(ap_log_level level, const char *event, const char *schedule_id,
                const char *trace_id, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define ap_log_info(event, sid, ...) ap_log(AP_LOG_INFO, event, sid, __VA_ARGS__)
#define ap_log_warn(event, sid, ...) ap_log(AP_LOG_WARN, event, sid, __VA_ARGS__)
#define ap_log_error(event, sid, ...) ap_log(AP_LOG_ERROR, event, sid, __VA_ARGS__)
#define ap_log_debug(event, sid, ...) ap_log(AP_LOG_DEBUG, event, sid, __VA_ARGS__)
#define ap_log_job_info(event, sid, tid, ...) ap_log_job(AP_LOG_INFO, event, sid, tid, __VA_ARGS__)
#define ap_log_job_warn(event, sid, tid, ...) ap_log_job(AP_LOG_WARN, event, sid, tid, __VA_ARGS__)
#define ap_log_job_error(event, sid, tid, ...)                                                     \
    ap_log_job(AP_LOG_ERROR, event, sid, tid, __VA_ARGS__)
#define ap_log_job_debug(event, sid, tid, ...)                                                     \
    ap_log_job(AP_LOG_DEBUG, event, sid, tid, __VA_ARGS__)

/* Appends s to buf as JSON string content (no quotes). Returns bytes written,
 * truncating at a character boundary that keeps the output valid. */
size_t ap_json_escape(char *buf, size_t len, const char *s);

#endif
