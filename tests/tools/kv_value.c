/* kv_value.c -- reads or writes one key of a JetStream key-value bucket, so
 * an e2e script can look at (or plant) what the publishers share without a
 * NATS command-line tool. Used by tests/e2e/test_security_key_rotation.sh.
 *
 *   kv_value NATS_URL BUCKET get KEY     prints the value (exit 1: no key)
 *   kv_value NATS_URL BUCKET put KEY     stores stdin (up to 64 KiB) as it is
 *
 * Exit 2 on a connection or usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#define MAX_VALUE 65536

static int fail(const char *what, natsStatus s) {
    fprintf(stderr, "kv_value: %s: %s\n", what, natsStatus_GetText(s));
    return 2;
}

static int get(kvStore *kv, const char *key) {
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv, key);
    if (s == NATS_NOT_FOUND) return 1;
    if (s != NATS_OK) return fail("get", s);
    fwrite(kvEntry_Value(e), 1, (size_t)kvEntry_ValueLen(e), stdout);
    kvEntry_Destroy(e);
    return 0;
}

static int put(kvStore *kv, const char *key) {
    static char value[MAX_VALUE];
    size_t n = fread(value, 1, sizeof(value), stdin);
    if (ferror(stdin) || !feof(stdin)) {
        fprintf(stderr, "kv_value: stdin unreadable or over %d bytes\n", MAX_VALUE);
        return 2;
    }
    uint64_t rev = 0;
    natsStatus s = kvStore_Put(&rev, kv, key, value, (int)n);
    return s == NATS_OK ? 0 : fail("put", s);
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[3], "get") != 0 && strcmp(argv[3], "put") != 0)) {
        fprintf(stderr, "usage: kv_value NATS_URL BUCKET get|put KEY\n");
        return 2;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    kvStore *kv = NULL;
    int rc;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK) s = js_KeyValue(&kv, js, argv[2]);
    if (s != NATS_OK)
        rc = fail("connect", s);
    else
        rc = strcmp(argv[3], "get") == 0 ? get(kv, argv[4]) : put(kv, argv[4]);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_CloseAndWait(2000); /* its threads end before exit() frees the library */
    return rc;
}
