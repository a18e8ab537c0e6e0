/* reack.c -- see reack.h. */
#include "reack.h"

#include <stdlib.h>
#include <string.h>

void ap_reack_note(ap_reack *r, natsMsg *msg, bool term, int64_t now_ms) {
    const char *reply = natsMsg_GetReply(msg);
    if (reply == NULL || reply[0] == '\0') return;
    if (r->ring == NULL && (r->ring = calloc(AP_REACK_CAP, sizeof(*r->ring))) == NULL) return;
    ap_reack_entry *e = &r->ring[r->next];
    free(e->reply);
    e->reply = strdup(reply);
    e->at_ms = now_ms;
    e->term = term;
    r->next = (r->next + 1) % AP_REACK_CAP;
}

int ap_reack_resend(ap_reack *r, natsConnection *nc, int64_t now_ms) {
    if (r->ring == NULL) return 0;
    int sent = 0;
    for (int i = 0; i < AP_REACK_CAP; i++) {
        const ap_reack_entry *e = &r->ring[i];
        if (e->reply == NULL || now_ms - e->at_ms > AP_REACK_WINDOW_MS) continue;
        if (natsConnection_PublishString(nc, e->reply, e->term ? "+TERM" : "+ACK") == NATS_OK)
            sent++;
    }
    return sent;
}

void ap_reack_free(ap_reack *r) {
    if (r->ring)
        for (int i = 0; i < AP_REACK_CAP; i++) free(r->ring[i].reply);
    free(r->ring);
    r->ring = NULL;
}
