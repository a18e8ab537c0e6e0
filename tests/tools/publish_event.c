/* publish_event.c -- publishes one event into AUTOPOST_EVENTS the way the
 * outbox relay does (JetStream publish, Nats-Msg-Id = event id), for tests
 * of consumers of the stream (tests/e2e/test_webhooks.sh).
 *
 *   publish_event NATS_URL SUBJECT MSG_ID FILE
 *
 * FILE holds the body bytes. Prints "stored" or "duplicate" (JetStream's
 * dedup dropped it) and exits 0; non-zero when the publish failed. */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: publish_event NATS_URL SUBJECT MSG_ID FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[4], "rb");
    static char body[1 << 20];
    size_t len = f ? fread(body, 1, sizeof(body), f) : 0;
    if (f == NULL || ferror(f)) {
        perror("publish_event: read");
        return 1;
    }
    fclose(f);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    jsPubOptions po;
    int rc = 1;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK) s = jsPubOptions_Init(&po);
    if (s == NATS_OK) {
        po.MsgId = argv[3];
        s = js_Publish(&ack, js, argv[2], body, (int)len, &po, &jerr);
    }
    if (s == NATS_OK) {
        printf("%s\n", ack->Duplicate ? "duplicate" : "stored");
        rc = 0;
    } else {
        fprintf(stderr, "publish_event: %s (jetstream error %d)\n", natsStatus_GetText(s),
                (int)jerr);
    }
    jsPubAck_Destroy(ack);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    /* Wait for the library's threads: with nats_Close a connection thread
     * could still be releasing the library as the process exits (seen under
     * ASan as a crash in natsLib_Release, then a hang). */
    nats_CloseAndWait(2000);
    return rc;
}
