/* event.c -- checks one AUTOPOST_EVENTS message (event.h). */
#include "event.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static ap_status take_uuid(json_t *root, const char *key, char out[AP_UUID_TEXT_LEN + 1], char *err,
                           size_t errlen) {
    const char *s = json_string_value(json_object_get(root, key));
    if (s == NULL || !ap_uuid_normalize(s, out)) {
        snprintf(err, errlen, "event %s: missing or not a UUID", key);
        return AP_EINVAL;
    }
    return AP_OK;
}

static ap_status take_type(json_t *root, wh_event *ev, char *err, size_t errlen) {
    const char *t = json_string_value(json_object_get(root, "type"));
    char check_err[128];
    /* An event's type is one name: the same characters a webhook subscribes
     * with, and never the subscription wildcard. */
    if (t == NULL || strlen(t) > WH_EVENT_TYPE_MAX || strchr(t, ',') || strcmp(t, "*") == 0 ||
        wh_event_types_check(t, check_err, sizeof(check_err)) != AP_OK) {
        snprintf(err, errlen, "event type: missing or not an event type");
        return AP_EINVAL;
    }
    snprintf(ev->type, sizeof(ev->type), "%s", t);
    return AP_OK;
}

ap_status wh_event_parse(const char *subject, const char *msg_id, const char *body, size_t len,
                         wh_event *ev, char *err, size_t errlen) {
    memset(ev, 0, sizeof(*ev));
    if (len == 0 || len > WH_EVENT_MAX_BODY) {
        snprintf(err, errlen, "event body: empty or larger than %d bytes", WH_EVENT_MAX_BODY);
        return AP_EINVAL;
    }
    /* Stored as text and signed as sent: a NUL byte could be neither. */
    if (memchr(body, '\0', len) != NULL) {
        snprintf(err, errlen, "event body: holds a NUL byte");
        return AP_EINVAL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    ap_status st = AP_EINVAL;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "event body: not a JSON object");
        goto cleanup;
    }
    if ((st = take_uuid(root, "id", ev->id, err, errlen)) != AP_OK) goto cleanup;
    if ((st = take_uuid(root, "tenant_id", ev->tenant_id, err, errlen)) != AP_OK) goto cleanup;
    if ((st = take_type(root, ev, err, errlen)) != AP_OK) goto cleanup;
    st = AP_EINVAL;
    char want[sizeof(WH_EVENTS_SUBJECT_PREFIX) + AP_UUID_TEXT_LEN + 1 + WH_EVENT_TYPE_MAX + 1];
    int n = snprintf(want, sizeof(want), WH_EVENTS_SUBJECT_PREFIX "%s.%s", ev->tenant_id, ev->type);
    if (n < 0 || (size_t)n >= sizeof(want) || subject == NULL || strcmp(subject, want) != 0) {
        snprintf(err, errlen, "event subject does not name the body's tenant and type");
        goto cleanup;
    }
    char mid[AP_UUID_TEXT_LEN + 1];
    if (msg_id != NULL && (!ap_uuid_normalize(msg_id, mid) || strcmp(mid, ev->id) != 0)) {
        snprintf(err, errlen, "Nats-Msg-Id is not the event id");
        goto cleanup;
    }
    st = AP_OK;
cleanup:
    json_decref(root);
    return st;
}

bool wh_event_trace(const char *body, ap_trace *out, char schedule_id[AP_UUID_TEXT_LEN + 1]) {
    memset(out, 0, sizeof(*out));
    schedule_id[0] = '\0';
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *sched = json_object_get(json_object_get(root, "data"), "schedule");
    const char *sid = json_string_value(json_object_get(sched, "id"));
    const char *tid = json_string_value(json_object_get(sched, "trace_id"));
    if (sid == NULL || !ap_uuid_normalize(sid, schedule_id)) schedule_id[0] = '\0';
    ap_trace t = {.flags = AP_TRACE_FLAG_SAMPLED};
    bool ok = ap_trace_id_valid(tid);
    if (ok) {
        memcpy(t.trace_id, tid, sizeof(t.trace_id));
        ok = ap_trace_child(&t, out);
        if (!ok) memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    return ok;
}
