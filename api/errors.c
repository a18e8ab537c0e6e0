/* errors.c -- the one error shape every answer of autopost-api uses:
 *
 *   {"error": {"code": "validation_failed", "message": "...",
 *              "details": [{"field": "account_ids[0]", "reason": "..."}]}}
 *
 * code is a stable machine word (clients branch on it), message a sentence
 * for a person, details one entry per field that was refused (422) and
 * otherwise empty. A database failure is a plain 500 "internal" whose cause
 * goes to the log with the request id, never to the client. */
#include <stdarg.h>
#include <stdio.h>

#include "ap_log.h"
#include "ap_utf8.h"
#include "api.h"

/* A message or reason can quote the request (jansson's parse errors quote
 * the bad bytes): JSON strings must be UTF-8, so a text that is not has its
 * non-ASCII bytes shown as '?', rather than the whole answer failing to
 * serialise (found by tests/fuzz/fuzz_api_post_request.c). */
static const char *printable(const char *in, char *buf, size_t len) {
    if (ap_utf8_valid(in)) return in;
    snprintf(buf, len, "%s", in);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c >= 0x80) *c = '?';
    return buf;
}

api_reply api_error(unsigned int status, const char *code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0'; /* a longer message is cut, which is fine for a sentence */
    char clean[sizeof(msg)];  /* a cut message may also end inside a UTF-8 sequence */
    json_t *body = json_pack("{s:{s:s, s:s, s:[]}}", "error", "code", code, "message",
                             printable(msg, clean, sizeof(clean)), "details");
    return (api_reply){.status = status, .body = body};
}

void api_error_detail(api_reply *r, const char *field, const char *reason) {
    json_t *details = json_object_get(json_object_get(r->body, "error"), "details");
    if (details == NULL) return;
    char field_buf[128], reason_buf[1024];
    json_array_append_new(
        details, json_pack("{s:s, s:s}", "field", printable(field, field_buf, sizeof(field_buf)),
                           "reason", printable(reason, reason_buf, sizeof(reason_buf))));
}

api_reply api_error_internal(const api_request *req, const char *what, const char *cause) {
    ap_log_error("api_internal_error", NULL, "request_id=%s %s: %s", req->request_id, what, cause);
    return api_error(500, "internal", "internal error (request id %s)", req->request_id);
}
