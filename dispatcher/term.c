/* term.c -- see term.h. */
#include "term.h"

#include <inttypes.h>

#include "ap_log.h"

uint64_t ap_msg_stream_seq(natsMsg *m) {
    jsMsgMetaData *meta = NULL;
    uint64_t seq = 0;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    return seq;
}

void ap_term_garbage(natsMsg *m, const char *event, const char *why) {
    uint64_t seq = ap_msg_stream_seq(m);
    natsStatus s = natsMsg_Term(m, NULL);
    ap_log_error(event, NULL, "terminated message on %s (stream seq %" PRIu64 "): %s%s",
                 natsMsg_GetSubject(m), seq, why,
                 s == NATS_OK ? "" : " (term not sent: it will come back and be terminated again)");
}
