/* fuzz_webhook_event.c -- libFuzzer target: what autopost-webhooks accepts
 * from AUTOPOST_EVENTS (webhooks/event.c). The input is "<subject>\n<body>".
 * Whatever the bytes, parsing must not crash or leak, and an accepted event
 * must be one a webhook may be sent: canonical ids, and a subject that names
 * exactly the body's tenant and type (never another tenant's endpoints). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_uuid.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL) return 0;
    size_t subject_len = (size_t)(nl - data);
    char *subject = strndup((const char *)data, subject_len);
    if (subject == NULL) return 0;
    const char *body = (const char *)nl + 1;
    size_t body_len = size - subject_len - 1;
    wh_event ev;
    char err[160];
    if (wh_event_parse(subject, NULL, body, body_len, &ev, err, sizeof(err)) == AP_OK) {
        if (!ap_uuid_valid(ev.id) || !ap_uuid_valid(ev.tenant_id) || ev.type[0] == '\0') abort();
        char want[256];
        int n =
            snprintf(want, sizeof(want), WH_EVENTS_SUBJECT_PREFIX "%s.%s", ev.tenant_id, ev.type);
        if (n < 0 || (size_t)n >= sizeof(want) || strcmp(want, subject) != 0) abort();
        if (strchr(ev.type, '*') || strchr(ev.type, ',') || memchr(body, 0, body_len)) abort();
        /* The event id is also accepted as its own Nats-Msg-Id. */
        if (wh_event_parse(subject, ev.id, body, body_len, &ev, err, sizeof(err)) != AP_OK) abort();
    }
    free(subject);
    return 0;
}
