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
#include "api.h"

api_reply api_error(unsigned int status, const char *code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0'; /* a longer message is cut, which is fine for a sentence */
    json_t *body =
        json_pack("{s:{s:s, s:s, s:[]}}", "error", "code", code, "message", msg, "details");
    return (api_reply){.status = status, .body = body};
}

void api_error_detail(api_reply *r, const char *field, const char *reason) {
    json_t *details = json_object_get(json_object_get(r->body, "error"), "details");
    if (details == NULL) return;
    json_array_append_new(details, json_pack("{s:s, s:s}", "field", field, "reason", reason));
}

api_reply api_error_internal(const api_request *req, const char *what, const char *cause) {
    ap_log_error("api_internal_error", NULL, "request_id=%s %s: %s", req->request_id, what, cause);
    return api_error(500, "internal", "internal error (request id %s)", req->request_id);
}
