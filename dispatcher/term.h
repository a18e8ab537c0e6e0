/* term.h -- terminating messages nobody can ever apply.
 *
 * Results and MAX_DELIVERIES advisories that are not what they claim to be
 * are terminated (never redelivered) and logged with where they stood in
 * their stream; the service keeps going. The caller counts them. */
#ifndef AP_DISPATCHER_TERM_H
#define AP_DISPATCHER_TERM_H

#include <stdint.h>

#include <nats/nats.h>

/* The message's sequence in its stream, 0 when it carries no metadata. */
uint64_t ap_msg_stream_seq(natsMsg *m);

/* Terminates m and logs it as event, with why; m stays the caller's. */
void ap_term_garbage(natsMsg *m, const char *event, const char *why);

#endif
