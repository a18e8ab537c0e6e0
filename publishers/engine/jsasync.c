/* jsasync.c -- see jsasync.h: PubAcks and direct-get replies, both turned
 * into events for the engine thread. */
#include "jsasync.h"

#include "ap_time.h"

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

/* A read waiting for its reply on "<reply_prefix>.<id>". Reads are rare (a
 * redelivered job's lost claim), so a short array searched in full is
 * enough. */
typedef struct pending_get {
    uint64_t id;
    void *owner;
    int tag;
    int64_t deadline_ms; /* monotonic */
} pending_get;

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

    natsConnection *nc;
    natsSubscription *reply_sub; /* "<reply_prefix>.*" */
    char reply_prefix[160];
    uint64_t next_get_id;
    pending_get *gets;
    int ngets, gets_cap;
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

static void push_ready(ap_jsasync *a, ap_js_done *d) {
    if (a->nready == a->ready_cap) {
        int cap = a->ready_cap ? a->ready_cap * 2 : 256;
        ap_js_done *grown = realloc(a->ready, sizeof(*grown) * (size_t)cap);
        if (grown == NULL) { /* the owner times out on its own (redelivery) */
            ap_js_done_clear(d);
            return;
        }
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

void ap_jsasync_decode_get_reply(natsMsg *reply, ap_js_done *d) {
    const char *v = NULL;
    d->ok = d->found = false;
    d->value = NULL;
    d->value_len = 0;
    d->seq = 0;
    if (natsMsg_IsNoResponders(reply)) {
        d->status = NATS_NO_RESPONDERS; /* no direct get on this stream */
        return;
    }
    if (natsMsgHeader_Get(reply, "Status", &v) == NATS_OK && v != NULL) {
        /* 404: no message on the key's subject. Anything else (408, 503) is
         * a failure to read, not an answer. */
        d->ok = strcmp(v, "404") == 0;
        if (!d->ok) d->status = NATS_ERR;
        return;
    }
    if (natsMsgHeader_Get(reply, "Nats-Sequence", &v) != NATS_OK || v == NULL) {
        d->status = NATS_ERR;
        return;
    }
    d->seq = strtoull(v, NULL, 10);
    d->ok = true;
    if (natsMsgHeader_Get(reply, "KV-Operation", &v) == NATS_OK && v != NULL &&
        (strcmp(v, "DEL") == 0 || strcmp(v, "PURGE") == 0))
        return; /* a delete marker: the key has no value */
    int len = natsMsg_GetDataLength(reply);
    if (len < 0) len = 0;
    d->value = malloc((size_t)len + 1);
    if (d->value == NULL) {
        d->ok = false;
        d->status = NATS_NO_MEMORY;
        return;
    }
    if (len > 0) memcpy(d->value, natsMsg_GetData(reply), (size_t)len);
    d->value[len] = '\0';
    d->value_len = len;
    d->found = true;
}

void ap_js_done_clear(ap_js_done *d) {
    free(d->value);
    d->value = NULL;
    d->value_len = 0;
}

/* Removes the read with this id (under a->mu); false when none (it timed
 * out already, or the reply is a stray). */
static bool take_get(ap_jsasync *a, uint64_t id, pending_get *out) {
    for (int i = 0; i < a->ngets; i++) {
        if (a->gets[i].id != id) continue;
        *out = a->gets[i];
        a->gets[i] = a->gets[--a->ngets];
        return true;
    }
    return false;
}

/* nats.c thread: the reply to one read. */
static void on_get_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    ap_jsasync *a = closure;
    const char *subject = natsMsg_GetSubject(msg);
    const char *dot = strrchr(subject, '.');
    uint64_t id = dot ? strtoull(dot + 1, NULL, 10) : 0;
    pending_get g;
    pthread_mutex_lock(&a->mu);
    bool known = take_get(a, id, &g);
    if (known) {
        ap_js_done d = {.owner = g.owner, .tag = g.tag};
        ap_jsasync_decode_get_reply(msg, &d);
        push_ready(a, &d);
    }
    pthread_mutex_unlock(&a->mu);
    natsMsg_Destroy(msg);
    if (known && a->wake) a->wake(a->wake_arg);
}

/* Our reply subjects: the connection's inbox prefix and a fresh unique
 * token, so two replicas (or two contexts) never see each other's replies. */
static ap_status subscribe_replies(ap_jsasync *a, const char *inbox_prefix) {
    natsInbox *inbox = NULL;
    if (natsInbox_Create(&inbox) != NATS_OK) return AP_ENOMEM;
    const char *unique = strrchr(inbox, '.');
    int n = snprintf(a->reply_prefix, sizeof(a->reply_prefix), "%s.%s",
                     inbox_prefix ? inbox_prefix : "_INBOX", unique ? unique + 1 : inbox);
    natsInbox_Destroy(inbox);
    if (n < 0 || (size_t)n >= sizeof(a->reply_prefix)) return AP_EINVAL;
    char wildcard[sizeof(a->reply_prefix) + 2];
    n = snprintf(wildcard, sizeof(wildcard), "%s.*", a->reply_prefix);
    if (n < 0 || (size_t)n >= sizeof(wildcard)) return AP_EINVAL;
    if (natsConnection_Subscribe(&a->reply_sub, a->nc, wildcard, on_get_reply, a) != NATS_OK)
        return AP_ENATS;
    return AP_OK;
}

ap_status ap_jsasync_new(ap_jsasync **out, natsConnection *nc, int64_t max_wait_ms,
                         const char *inbox_prefix, void (*wake)(void *), void *wake_arg) {
    ap_jsasync *a = calloc(1, sizeof(*a));
    if (a == NULL) return AP_ENOMEM;
    a->nc = nc;
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
    ap_status st = subscribe_replies(a, inbox_prefix);
    if (st != AP_OK) {
        ap_jsasync_destroy(a, 0);
        return st;
    }
    *out = a;
    return AP_OK;
}

ap_status ap_jsasync_kv_get(ap_jsasync *a, const char *bucket, const char *key, void *owner,
                            int tag) {
    char subject[320], reply[sizeof(a->reply_prefix) + 24];
    int n = snprintf(subject, sizeof(subject), "$JS.API.DIRECT.GET.KV_%s.$KV.%s.%s", bucket, bucket,
                     key);
    if (n < 0 || (size_t)n >= sizeof(subject)) return AP_EINVAL;
    pthread_mutex_lock(&a->mu);
    if (a->ngets == a->gets_cap) {
        int cap = a->gets_cap ? a->gets_cap * 2 : 64;
        pending_get *grown = realloc(a->gets, sizeof(*grown) * (size_t)cap);
        if (grown == NULL) {
            pthread_mutex_unlock(&a->mu);
            return AP_ENOMEM;
        }
        a->gets = grown;
        a->gets_cap = cap;
    }
    uint64_t id = ++a->next_get_id;
    /* Registered before the request: the reply may beat us back. */
    a->gets[a->ngets++] = (pending_get){
        .id = id, .owner = owner, .tag = tag, .deadline_ms = ap_mono_ms() + a->max_wait_ms};
    pthread_mutex_unlock(&a->mu);
    n = snprintf(reply, sizeof(reply), "%s.%llu", a->reply_prefix, (unsigned long long)id);
    natsStatus s = n > 0 && (size_t)n < sizeof(reply)
                       ? natsConnection_PublishRequest(a->nc, subject, reply, NULL, 0)
                       : NATS_INVALID_ARG;
    if (s != NATS_OK) {
        pending_get g;
        pthread_mutex_lock(&a->mu);
        take_get(a, id, &g);
        pthread_mutex_unlock(&a->mu);
        return AP_ENATS;
    }
    return AP_OK;
}

/* Under a->mu: reads past their deadline become failures. */
static void expire_gets(ap_jsasync *a) {
    if (a->ngets == 0) return;
    int64_t now = ap_mono_ms();
    for (int i = 0; i < a->ngets;) {
        if (a->gets[i].deadline_ms > now) {
            i++;
            continue;
        }
        ap_js_done d = {.owner = a->gets[i].owner, .tag = a->gets[i].tag, .status = NATS_TIMEOUT};
        push_ready(a, &d);
        a->gets[i] = a->gets[--a->ngets];
    }
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
    expire_gets(a);
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
    if (a->reply_sub) {
        /* A drained subscription runs no callback any more, so a may go;
         * if the drain cannot finish, no reply is arriving either. */
        if (natsSubscription_Drain(a->reply_sub) == NATS_OK)
            natsSubscription_WaitForDrainCompletion(a->reply_sub, timeout_ms > 0 ? timeout_ms : 1);
        natsSubscription_Destroy(a->reply_sub);
    }
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
            if (js_PublishAsyncGetPendingList(&left, a->js) == NATS_OK) natsMsgList_Destroy(&left);
        }
        jsCtx_Destroy(a->js);
    }
    pthread_mutex_destroy(&a->mu);
    for (int i = 0; i < a->nready; i++) ap_js_done_clear(&a->ready[i]);
    free(a->table);
    free(a->ready);
    free(a->gets);
    free(a);
}
