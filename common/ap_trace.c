/* ap_trace.c -- see ap_trace.h. The receiver rules are the spec's
 * "Processing model": a header we cannot read is dropped and a new trace
 * started, so a bad client header never costs the caller a request. */
#include "ap_trace.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* uppercase is not HEXDIGLC: invalid */
}

/* n lowercase hex digits at s, not all zero when nonzero is set. */
static bool hex_run(const char *s, size_t n, bool nonzero) {
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        int v = hex_value(s[i]);
        if (v < 0) return false;
        if (v) any = true;
    }
    return any || !nonzero;
}

bool ap_trace_id_valid(const char *s) {
    return s && strlen(s) == AP_TRACE_ID_LEN && hex_run(s, AP_TRACE_ID_LEN, true);
}

bool ap_trace_parse(const char *header, ap_trace *out) {
    if (header == NULL || out == NULL) return false;
    while (*header == ' ' || *header == '\t') header++;
    size_t len = strlen(header);
    while (len > 0 && (header[len - 1] == ' ' || header[len - 1] == '\t')) len--;
    if (len < AP_TRACEPARENT_LEN) return false;
    const char *h = header;
    if (!hex_run(h, 2, false) || h[2] != '-') return false;
    bool v00 = h[0] == '0' && h[1] == '0';
    if (h[0] == 'f' && h[1] == 'f') return false; /* ff is forbidden */
    /* Version 00 is exactly 55 characters; a later version may append
     * fields after a dash, and we read its version-00 prefix. */
    if (v00 ? len != AP_TRACEPARENT_LEN
            : (len > AP_TRACEPARENT_LEN && h[AP_TRACEPARENT_LEN] != '-'))
        return false;
    if (!hex_run(h + 3, AP_TRACE_ID_LEN, true) || h[35] != '-') return false;
    if (!hex_run(h + 36, AP_TRACE_SPAN_LEN, true) || h[52] != '-') return false;
    if (!hex_run(h + 53, 2, false)) return false;
    memcpy(out->trace_id, h + 3, AP_TRACE_ID_LEN);
    out->trace_id[AP_TRACE_ID_LEN] = '\0';
    memcpy(out->span_id, h + 36, AP_TRACE_SPAN_LEN);
    out->span_id[AP_TRACE_SPAN_LEN] = '\0';
    out->flags = (uint8_t)(hex_value(h[53]) << 4 | hex_value(h[54]));
    return true;
}

/* n random bytes as 2n lowercase hex digits, retried until not all zero
 * (a zero id is invalid; the chance is 2^-64 at worst). */
static bool random_hex(char *out, size_t nbytes) {
    static const char digits[] = "0123456789abcdef";
    uint8_t b[16];
    if (nbytes > sizeof(b)) return false;
    for (int tries = 0; tries < 4; tries++) {
        if (RAND_bytes(b, (int)nbytes) != 1) return false;
        bool any = false;
        for (size_t i = 0; i < nbytes; i++) {
            out[2 * i] = digits[b[i] >> 4];
            out[2 * i + 1] = digits[b[i] & 0x0F];
            if (b[i]) any = true;
        }
        out[2 * nbytes] = '\0';
        if (any) return true;
    }
    return false;
}

bool ap_trace_start(ap_trace *out) {
    if (out == NULL) return false;
    if (!random_hex(out->trace_id, AP_TRACE_ID_LEN / 2)) return false;
    if (!random_hex(out->span_id, AP_TRACE_SPAN_LEN / 2)) return false;
    out->flags = AP_TRACE_FLAG_SAMPLED;
    return true;
}

bool ap_trace_child(const ap_trace *parent, ap_trace *out) {
    if (parent == NULL || out == NULL || !ap_trace_id_valid(parent->trace_id)) return false;
    ap_trace next;
    memcpy(next.trace_id, parent->trace_id, sizeof(next.trace_id));
    next.flags = parent->flags & AP_TRACE_FLAG_SAMPLED;
    if (!random_hex(next.span_id, AP_TRACE_SPAN_LEN / 2)) return false;
    *out = next;
    return true;
}

ap_trace_origin ap_trace_continue(const char *header, ap_trace *out) {
    ap_trace in;
    if (ap_trace_parse(header, &in))
        return ap_trace_child(&in, out) ? AP_TRACE_CONTINUED : AP_TRACE_FAILED;
    return ap_trace_start(out) ? AP_TRACE_STARTED : AP_TRACE_FAILED;
}

bool ap_trace_format(const ap_trace *t, char *buf, size_t len) {
    if (t == NULL || buf == NULL || len < AP_TRACEPARENT_LEN + 1) return false;
    if (!ap_trace_id_valid(t->trace_id) || strlen(t->span_id) != AP_TRACE_SPAN_LEN ||
        !hex_run(t->span_id, AP_TRACE_SPAN_LEN, true))
        return false;
    int n = snprintf(buf, len, "00-%s-%s-%02x", t->trace_id, t->span_id,
                     (unsigned)(t->flags & AP_TRACE_FLAG_SAMPLED));
    return n == AP_TRACEPARENT_LEN;
}
