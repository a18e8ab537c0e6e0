/* js_fetch_pending.c -- reproduces the nats.c 3.4.1 fetch overflow that
 * ap_js_fetch_batch() (common/ap_nats.h) works around, against a real
 * nats-server. Used by tests/e2e/test_nats_fetch_pending.sh.
 *
 *   js_fetch_pending NATS_URL safe|raw
 *
 * Setup: a pull subscription already holds 12 messages and the server's
 * "408 Request Timeout" status (delivered for a raw pull request of our own
 * that asked for 13 and expired) when a fetch of 16 starts, and while the
 * fetch waits a second raw pull request is answered with 12 more. nats.c
 * 3.4.1 then keeps collecting past the slots it allocated. "safe" sizes the
 * fetch with ap_js_fetch_batch() and must get at most what it asked for;
 * "raw" fetches 16 as a caller naturally would, to show the failure. The
 * status message matters: the pending count includes it but the fetch does
 * not count it as a message, which defeated a batch sized to the pending
 * count (the dispatcher crashed that way in the chaos test).
 * Exit 0: the fetch returned no more messages than the batch it asked for. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "ap_nats.h"

#define STREAM "FETCHTEST"
#define SUBJECT "fetchtest.msgs"
#define DURABLE "pending"
#define WANT 16
#define FIRST 12

static natsConnection *nc;
static const char *inbox;

static void die(const char *what, natsStatus s) {
    fprintf(stderr, "js_fetch_pending: %s: %s\n", what, natsStatus_GetText(s));
    exit(2);
}

static void publish_n(jsCtx *js, int n) {
    for (int i = 0; i < n; i++) {
        natsStatus s = js_Publish(NULL, js, SUBJECT, "x", 1, NULL, NULL);
        if (s != NATS_OK) die("publish", s);
    }
}

/* While the fetch waits: a second pull request, then the messages for it. */
static void *late_deliveries(void *arg) {
    jsCtx *js = arg;
    usleep(300 * 1000);
    natsStatus s =
        natsConnection_PublishRequestString(nc, "$JS.API.CONSUMER.MSG.NEXT." STREAM "." DURABLE,
                                            inbox, "{\"batch\":12,\"expires\":3000000000}");
    if (s != NATS_OK) die("second pull request", s);
    usleep(100 * 1000);
    publish_n(js, 12);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[2], "safe") != 0 && strcmp(argv[2], "raw") != 0)) {
        fprintf(stderr, "usage: js_fetch_pending NATS_URL safe|raw\n");
        return 2;
    }
    bool safe = strcmp(argv[2], "safe") == 0;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, NULL);
    if (s != NATS_OK) die("connect", s);

    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = STREAM;
    const char *subjects[] = {SUBJECT};
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_MemoryStorage;
    js_DeleteStream(js, STREAM, NULL, NULL); /* a rerun starts clean */
    if ((s = js_AddStream(NULL, js, &sc, NULL, NULL)) != NATS_OK) die("add stream", s);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = DURABLE;
    cc.AckPolicy = js_AckExplicit;
    if ((s = js_AddConsumer(NULL, js, STREAM, &cc, NULL, NULL)) != NATS_OK) die("add consumer", s);
    publish_n(js, FIRST);

    natsSubscription *sub = NULL;
    if ((s = js_PullSubscribe(&sub, js, SUBJECT, DURABLE, NULL, NULL, NULL)) != NATS_OK)
        die("pull subscribe", s);
    inbox = natsSubscription_GetSubject(sub);

    /* 12 messages and the expired request's status waiting in the
     * subscription before any fetch. */
    s = natsConnection_PublishRequestString(nc, "$JS.API.CONSUMER.MSG.NEXT." STREAM "." DURABLE,
                                            inbox, "{\"batch\":13,\"expires\":200000000}");
    if (s != NATS_OK) die("first pull request", s);
    int pending = 0;
    for (int i = 0; i < 500 && pending < FIRST + 1; i++) {
        usleep(10 * 1000);
        natsSubscription_GetPending(sub, &pending, NULL);
    }
    if (pending != FIRST + 1) {
        fprintf(stderr, "js_fetch_pending: %d messages pending, expected %d + a status\n",
                pending, FIRST);
        return 2;
    }

    pthread_t t;
    if (pthread_create(&t, NULL, late_deliveries, js) != 0) return 2;
    int batch = safe ? ap_js_fetch_batch(sub, WANT) : WANT;
    natsMsgList list = {0};
    s = natsSubscription_Fetch(&list, sub, batch, 2000, NULL);
    pthread_join(t, NULL);
    printf("%s: fetch of %d (wanted %d, %d pending) returned %d messages (%s)\n", argv[2], batch,
           WANT, pending, list.Count, natsStatus_GetText(s));
    int rc = list.Count <= batch ? 0 : 1;
    if (rc == 0) natsMsgList_Destroy(&list); /* past the array otherwise: leave it */
    natsSubscription_Destroy(sub);
    js_DeleteStream(js, STREAM, NULL, NULL);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return rc;
}
