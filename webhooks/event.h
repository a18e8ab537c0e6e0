/* event.h -- what the webhook service needs to know about one message of
 * AUTOPOST_EVENTS, and the check that it is what the relay writes.
 *
 * The body is the event JSON (README "Events"): {"id", "type", "created_at",
 * "tenant_id", "data": {...}}; the subject is
 * autopost.events.<tenant id>.<type>. The tenant an event is delivered to is
 * the one both the subject and the body name: a message where they differ
 * is refused rather than guessed at, because a webhook must never see
 * another tenant's event. The body itself is delivered as the bytes that
 * came (the signature covers them); nothing is re-encoded. No I/O. */
#ifndef WH_EVENT_H
#define WH_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "ap_nats.h"
#include "ap_status.h"
#include "ap_trace.h"
#include "ap_uuid.h"
#include "endpoints.h"

#define WH_EVENTS_STREAM AP_STREAM_EVENTS /* made by the topology (common/ap_nats.h) */
#define WH_EVENTS_SUBJECT_PREFIX AP_SUBJECT_EVENTS_PREFIX
#define WH_EVENTS_CONSUMER "webhooks"
/* Largest event body accepted (an event is a schedule's outcome: small). */
#define WH_EVENT_MAX_BODY (64 * 1024)

typedef struct wh_event {
    char id[AP_UUID_TEXT_LEN + 1];
    char tenant_id[AP_UUID_TEXT_LEN + 1];
    char type[WH_EVENT_TYPE_MAX + 1];
} wh_event;

/* Fills ev from subject and body; AP_EINVAL with err saying why when the
 * body is not an event object, an id is not a UUID, the type is not an
 * event type, the subject is not autopost.events.<tenant_id>.<type> for
 * the body's own tenant and type, or msg_id (the Nats-Msg-Id header, NULL
 * when absent) is present and is not the event id. */
ap_status wh_event_parse(const char *subject, const char *msg_id, const char *body, size_t len,
                         wh_event *ev, char *err, size_t errlen);

/* A schedule event's trace for its delivery (README "Tracing"): the
 * schedule id and trace id of data.schedule (migration 0025), the trace
 * continued with a new span (each delivery attempt is its own span; flags
 * "sampled", the event holds only the id). False, with *out zeroed and
 * schedule_id "", for an event without a valid trace id (an account event,
 * a row stored before 0025) or when no random span could be drawn. */
bool wh_event_trace(const char *body, ap_trace *out, char schedule_id[AP_UUID_TEXT_LEN + 1]);

#endif
