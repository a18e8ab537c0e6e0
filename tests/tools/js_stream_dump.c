/* js_stream_dump.c -- prints every message a stream holds, one per line, for
 * e2e tests that check what reached a stream (tests/e2e/test_events.sh).
 *
 *   js_stream_dump NATS_URL STREAM
 *
 * Each line: <stream seq> TAB <subject> TAB <Nats-Msg-Id or -> TAB <body>.
 * The body is printed as stored (event bodies are one-line JSON). Reads by
 * sequence (js_GetMsg), so it creates no consumer and changes nothing.
 * Exit 0 when every message was read. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

static int fail(const char *what, natsStatus s, jsErrCode jerr) {
    fprintf(stderr, "js_stream_dump: %s: %s (jetstream error %d)\n", what, natsStatus_GetText(s),
            (int)jerr);
    return 1;
}

static int dump(jsCtx *js, const char *stream) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
    if (s != NATS_OK) return fail("stream info", s, jerr);
    uint64_t first = si->State.FirstSeq, last = si->State.LastSeq, msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    for (uint64_t seq = first; msgs > 0 && seq <= last; seq++) {
        natsMsg *m = NULL;
        jerr = 0;
        s = js_GetMsg(&m, js, stream, seq, NULL, &jerr);
        if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue; /* deleted */
        if (s != NATS_OK) return fail("get message", s, jerr);
        const char *id = NULL;
        if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK || id == NULL) id = "-";
        printf("%" PRIu64 "\t%s\t%s\t%.*s\n", seq, natsMsg_GetSubject(m), id,
               natsMsg_GetDataLength(m), natsMsg_GetData(m));
        natsMsg_Destroy(m);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: js_stream_dump NATS_URL STREAM\n");
        return 2;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    int rc;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, NULL);
    rc = s == NATS_OK ? dump(js, argv[2]) : fail("connect", s, 0);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
}
