/* jsasync.c -- see jsasync.h. */
#include "jsasync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending_entry {
    natsMsg *msg; /* key; NULL = empty, TOMBSTONE = deleted */
    void *owner;
    int tag;
} pending_entry;

#define TOMBSTONE ((natsMsg *)(uintptr_t)1)

struct ap_jsasync {
    jsCtx *js;
    int64_t max_wait_ms;
    void (*wake)(void *);
    void *wake_arg;

    pthread_mutex_t mu;
    pending_entry *table; /* open addressing, keyed by message pointer */
    size_t cap, used, live;
    ap_js_done *ready;
    int nready, ready_cap;
};

static size_t slot_of(natsMsg *m, size_t cap) {
    uintptr_t h = (uintptr_t)m;
    h ^= h >> 17;
    h *= UINT64_C(0xed5ad4bb);
    h ^= h >> 11;
    return (size_t)h & (cap - 1);
}

static int table_grow(ap_jsasync *a) {
    size_t cap = a->cap ? a->cap * 2 : 1024;
    if (a->live * 4 < a->cap) cap = a->cap; /* mostly tombstones: rehash in place */
    pending_entry *t = calloc(cap, sizeof(*t));
    if (t == NULL) return -1;
    for (size_t i = 0; i < a->cap; i++) {
        natsMsg *m = a->table[i].msg;
        if (m == NULL || m == TOMBSTONE) continue;
        size_t j = slot_of(m, cap);
        while (t[j].msg) j = (j + 1) & (cap - 1);
        t[j] = a->table[i];
    }
    free(a->table);
    a->table = t;
    a->cap = cap;
    a->used = a->live;
    return 0;
}

static int table_put(ap_jsasync *a, natsMsg *m, void *owner, int tag) {
    if ((a->used + 1) * 2 > a->cap && table_grow(a) != 0) return -1;
    size_t j = slot_of(m, a->cap);
    while (a->table[j].msg && a->table[j].msg != TOMBSTONE) j = (j + 1) & (a->cap - 1);
    if (a->table[j].msg == NULL) a->used++;
    a->table[j] = (pending_entry){m, owner, tag};
    a->live++;
    return 0;
}

static pending_entry *table_find(ap_jsasync *a, natsMsg *m) {
    if (a->cap == 0) return NULL;
    size_t j = slot_of(m, a->cap);
    while (a->table[j].msg) {
        if (a->table[j].msg == m) return &a->table[j];
        j = (j + 1) & (a->cap - 1);
    }
    return NULL;
}

static void push_ready(ap_jsasync *a, const ap_js_done *d) {
    if (a->nready == a->ready_cap) {
        int cap = a->ready_cap ? a->ready_cap * 2 : 256;
        ap_js_done *grown = realloc(a->ready, sizeof(*grown) * (size_t)cap);
        if (grown == NULL) return; /* the owner times out on its own (redelivery) */
        a->ready = grown;
        a->ready_cap = cap;
    }
    a->ready[a->nready++] = *d;
}

/* nats.c thread: a PubAck, a server error or a timeout for one message. */
static void on_puback(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
    ap_jsasync *a = closure;
    pthread_mutex_lock(&a->mu);
    pending_entry *e = table_find(a, msg);
    if (e != NULL) {
        ap_js_done d = {.owner = e->owner, .tag = e->tag};
        if (pa != NULL && pae == NULL) {
            d.ok = true;
            d.seq = pa->Sequence;
            d.duplicate = pa->Duplicate;
        } else if (pae != NULL) {
            d.status = pae->Err;
            d.err = pae->ErrCode;
        } else {
            d.status = NATS_ERR;
        }
        e->msg = TOMBSTONE;
        a->live--;
        push_ready(a, &d);
    }
    pthread_mutex_unlock(&a->mu);
    natsMsg_Destroy(msg); /* with an AckHandler the message is ours again */
    if (e != NULL && a->wake) a->wake(a->wake_arg);
}

ap_status ap_jsasync_new(ap_jsasync **out, natsConnection *nc, int64_t max_wait_ms,
                         void (*wake)(void *), void *wake_arg) {
    ap_jsasync *a = calloc(1, sizeof(*a));
    if (a == NULL) return AP_ENOMEM;
    a->max_wait_ms = max_wait_ms;
    a->wake = wake;
    a->wake_arg = wake_arg;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return AP_ENOMEM;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_puback;
    jo.PublishAsync.AckHandlerClosure = a;
    jo.PublishAsync.MaxPending = 65536;
    if (natsConnection_JetStream(&a->js, nc, &jo) != NATS_OK) {
        pthread_mutex_destroy(&a->mu);
        free(a);
        return AP_ENATS;
    }
    *out = a;
    return AP_OK;
}

ap_status ap_jsasync_publish(ap_jsasync *a, natsMsg *msg, void *owner, int tag,
                             int64_t expected_last_subject_seq) {
    if (expected_last_subject_seq >= 0) {
        char v[32];
        snprintf(v, sizeof(v), "%lld", (long long)expected_last_subject_seq);
        if (natsMsgHeader_Set(msg, "Nats-Expected-Last-Subject-Sequence", v) != NATS_OK) {
            natsMsg_Destroy(msg);
            return AP_ENATS;
        }
    }
    /* Registered before publishing: the PubAck may beat us back. */
    pthread_mutex_lock(&a->mu);
    int rc = table_put(a, msg, owner, tag);
    pthread_mutex_unlock(&a->mu);
    if (rc != 0) {
        natsMsg_Destroy(msg);
        return AP_ENOMEM;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = a->max_wait_ms;
    natsMsg *m = msg;
    natsStatus s = js_PublishMsgAsync(a->js, &m, &po);
    if (s != NATS_OK) {
        /* Not taken: no PubAck will come. */
        pthread_mutex_lock(&a->mu);
        pending_entry *e = table_find(a, msg);
        if (e) {
            e->msg = TOMBSTONE;
            a->live--;
        }
        pthread_mutex_unlock(&a->mu);
        natsMsg_Destroy(msg);
        return AP_ENATS;
    }
    return AP_OK;
}

int ap_jsasync_take(ap_jsasync *a, ap_js_done *out, int max) {
    pthread_mutex_lock(&a->mu);
    int n = a->nready < max ? a->nready : max;
    if (n == 0) {
        pthread_mutex_unlock(&a->mu);
        return 0;
    }
    memcpy(out, a->ready, sizeof(*out) * (size_t)n);
    memmove(a->ready, a->ready + n, sizeof(*out) * (size_t)(a->nready - n));
    a->nready -= n;
    pthread_mutex_unlock(&a->mu);
    return n;
}

void ap_jsasync_destroy(ap_jsasync *a, int64_t timeout_ms) {
    if (a == NULL) return;
    if (a->js) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = timeout_ms;
        /* nats.c 3.4.1 creates the pending map with the first async publish,
         * and js_PublishAsyncGetPendingList dereferences it unchecked: a
         * replica stopped before its first write crashed here. Only a
         * timeout means the map exists and still holds messages. */
        if (js_PublishAsyncComplete(a->js, &po) == NATS_TIMEOUT) {
            natsMsgList left = {0};
            if (js_PublishAsyncGetPendingList(&left, a->js) == NATS_OK)
                natsMsgList_Destroy(&left);
        }
        jsCtx_Destroy(a->js);
    }
    pthread_mutex_destroy(&a->mu);
    free(a->table);
    free(a->ready);
    free(a);
}
