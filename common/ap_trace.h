/* ap_trace.h -- W3C Trace Context `traceparent`: the one place that parses,
 * checks and writes it (https://www.w3.org/TR/trace-context/, version 00).
 *
 *   traceparent: 00-<trace id: 32 hex>-<parent id: 16 hex>-<flags: 2 hex>
 *
 * One trace id follows a post end to end: the API takes it from the
 * request (or starts one), it is stored with the schedule, and every hop
 * after that (scheduler -> job message, publisher -> result message,
 * webhook delivery) sends it on with a span id of its own, so a receiver
 * sees which hop called it while the trace id stays the same.
 *
 * Parsing follows the spec's receiver rules: lowercase hex only, trace and
 * parent ids not all zero, version ff refused, a later version read by its
 * version-00 prefix. Anything else is "no trace": callers start a new one,
 * never refuse the request. Ids come from OpenSSL's CSPRNG. */
#ifndef AP_TRACE_H
#define AP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AP_TRACE_HEADER "traceparent"
#define AP_TRACE_ID_LEN 32
#define AP_TRACE_SPAN_LEN 16
#define AP_TRACEPARENT_LEN 55 /* version 00's exact length */
/* Only the sampled bit is defined for version 00; we clear the others
 * when we send a trace on. */
#define AP_TRACE_FLAG_SAMPLED 0x01

typedef struct ap_trace {
    char trace_id[AP_TRACE_ID_LEN + 1]; /* lowercase hex, not all zero */
    char span_id[AP_TRACE_SPAN_LEN + 1];
    uint8_t flags;
} ap_trace;

/* True and *out filled when header is a valid traceparent (surrounding
 * spaces and tabs allowed, as in an HTTP field value). header may be NULL. */
bool ap_trace_parse(const char *header, ap_trace *out);

/* A new trace: random trace id and span id, flags "sampled". False only
 * when the random source fails. */
bool ap_trace_start(ap_trace *out);

/* The next hop of parent: same trace id, a new random span id, the
 * sampled bit kept. out may be parent. False when the random source fails. */
bool ap_trace_child(const ap_trace *parent, ap_trace *out);

typedef enum ap_trace_origin {
    AP_TRACE_FAILED = -1,   /* random source failed: *out is unusable */
    AP_TRACE_CONTINUED = 0, /* header was valid: its trace, our span */
    AP_TRACE_STARTED = 1    /* header missing or invalid: a new trace */
} ap_trace_origin;

/* What a receiving hop does: continue the trace in header, or start one. */
ap_trace_origin ap_trace_continue(const char *header, ap_trace *out);

/* Writes the version-00 header value (55 characters + NUL). Returns false
 * if t is not a valid trace or len is too small. */
bool ap_trace_format(const ap_trace *t, char *buf, size_t len);

/* True when s is exactly 32 lowercase hex digits, not all zero. */
bool ap_trace_id_valid(const char *s);

#endif
