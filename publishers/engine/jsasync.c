/* jsasync.c -- see jsasync.h: PubAcks and direct-get replies, both turned
 * into events for the engine thread. */
#include "jsasync.h"

#include "ap_time.h"
#include "kv_leader_read.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending_entry {
    natsMsg *msg; /* key; NULL = empty, TOMBSTONE = deleted */
    void *owner;
    int tag;
    int64_t first_ms; /* monotonic: first sent; resends stop max_wait_ms later */
    bool resent;      /* sent again after a reconnect: it may be stored twice over */
} pending_entry;

/* A write refused with "no responders" (no stream leader, e.g. during an
 * election after a node died: nothing was stored), sent again when due. */
typedef struct later_write {
    natsMsg *msg; /* still keyed in the table */
    int64_t due_ms;
} later_write;

#define TOMBSTONE ((natsMsg *)(uintptr_t)1)

/* A read waiting for its reply on "<reply_prefix>.<id>". Reads are rare (a
 * redelivered job's lost claim), so a short array searched in full is
 * enough. */
typedef struct pending_get {
    uint64_t id;
    void *owner;
    int tag;
    int64_t deadline_ms; /* monotonic */
    /* Not the owner's read but a check of a resent compare-and-set that
     * lost (jsasync.h): the write we sent, and the answer to give when the
     * key holds something else. Checks read from the stream's leader
     * (kv_leader_read.h), with a body; a job's own read is a direct get. */
    natsMsg *written;
    jsErrCode lost_err;
    char subject[320]; /* the request's, to ask again after a reconnect */
    char body[340];    /* the leader read's; "" for a direct get */
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

    /* nats.c 3.4.1 makes its map of pending publishes with the first one and
     * js_PublishAsyncGetPendingList reads it unchecked: asking before any
     * publish crashed an idle replica's reconnect (see ap_jsasync_destroy). */
    bool published_once;

    later_write *later; /* refused for want of a stream leader */
    int nlater, later_cap;
    natsMsg **checks; /* resent compare-and-sets that lost: read the key */
    int nchecks, checks_cap;
};

/* How long to wait before sending a write refused with no responders: a
 * stream leader is usually elected within a few seconds. */
#define RETRY_NO_RESPONDERS_MS 250
/* A write unanswered this long is sent again (within max_wait_ms of the
 * first send): its stream leader may have died with it. PubAcks take
 * milliseconds, under a burst well under a second. */
#define RESEND_UNANSWERED_MS 5000

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
    a->table[j] = (pending_entry){m, owner, tag, ap_mono_ms(), false};
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

/* Appends to a growable array of n elements (cap *cap); -1 out of memory. */
static int grow(void **arr, int n, int *cap, size_t size) {
    if (n < *cap) return 0;
    int c = *cap ? *cap * 2 : 64;
    void *g = realloc(*arr, size * (size_t)c);
    if (g == NULL) return -1;
    *arr = g;
    *cap = c;
    return 0;
}

/* Under a->mu: keeps msg (ours again after its PubAck) for a second look
 * instead of answering its owner now. False when it is not worth one or
 * memory is short: the owner gets the answer as it is. */
static bool keep_for_retry(ap_jsasync *a, pending_entry *e, natsMsg *msg, const jsPubAckErr *pae) {
    if (pae == NULL) return false;
    int64_t now = ap_mono_ms();
    bool unanswered = pae->Err == NATS_TIMEOUT, no_leader = pae->Err == NATS_NO_RESPONDERS;
    if ((unanswered || no_leader) && now - e->first_ms < a->max_wait_ms) {
        if (grow((void **)&a->later, a->nlater, &a->later_cap, sizeof(*a->later)) != 0)
            return false;
        /* Unanswered: it may have been stored (its PubAck lost). */
        if (unanswered) e->resent = true;
        a->later[a->nlater++] = (later_write){msg, no_leader ? now + RETRY_NO_RESPONDERS_MS : now};
        return true;
    }
    /* A resent compare-and-set that lost may have lost to its own first
     * copy (stored, PubAck gone with the old server): read the key. */
    if (e->resent && pae->ErrCode == JSStreamWrongLastSequenceErr &&
        strncmp(natsMsg_GetSubject(msg), "$KV.", 4) == 0) {
        if (grow((void **)&a->checks, a->nchecks, &a->checks_cap, sizeof(*a->checks)) != 0)
            return false;
        a->checks[a->nchecks++] = msg;
        return true;
    }
    return false;
}

/* nats.c thread: a PubAck, a server error or a timeout for one message. */
static void on_puback(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
    ap_jsasync *a = closure;
    pthread_mutex_lock(&a->mu);
    pending_entry *e = table_find(a, msg);
    if (e != NULL && keep_for_retry(a, e, msg, pae)) {
        pthread_mutex_unlock(&a->mu);
        if (a->wake) a->wake(a->wake_arg);
        return; /* the engine thread sends or checks it (ap_jsasync_take) */
    }
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

/* A check's read (in d) becomes the write's answer: stored when the key
 * holds exactly the bytes we wrote (our values carry the writer and the
 * millisecond, so no one else writes the same), else the conflict. */
static void answer_check(ap_js_done *d, const pending_get *g) {
    int len = natsMsg_GetDataLength(g->written);
    bool ours = d->ok && d->found && d->value_len == len &&
                (len == 0 || memcmp(d->value, natsMsg_GetData(g->written), (size_t)len) == 0);
    uint64_t seq = d->seq;
    ap_js_done_clear(d);
    *d = (ap_js_done){.owner = g->owner, .tag = g->tag, .ok = ours, .seq = ours ? seq : 0};
    if (!ours) {
        d->status = NATS_ERR;
        d->err = g->lost_err;
    }
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
        if (g.body[0])
            ap_kv_leader_decode(natsMsg_GetData(msg), natsMsg_GetDataLength(msg), &d);
        else
            ap_jsasync_decode_get_reply(msg, &d);
        if (g.written) answer_check(&d, &g);
        push_ready(a, &d);
    }
    pthread_mutex_unlock(&a->mu);
    if (known) natsMsg_Destroy(g.written);
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

/* A read of the KV subject "$KV.<bucket>.<key>": a direct get for the
 * owner's own read (written NULL), a read from the stream's leader for the
 * check of a resent write (written: see pending_get; taken over on AP_OK). */
static ap_status send_get(ap_jsasync *a, const char *kv_subject, void *owner, int tag,
                          natsMsg *written, jsErrCode lost_err) {
    char subject[320], body[sizeof(((pending_get *)0)->body)] = "";
    char reply[sizeof(a->reply_prefix) + 24];
    const char *bucket = kv_subject + 4, *dot = strchr(bucket, '.');
    if (strncmp(kv_subject, "$KV.", 4) != 0 || dot == NULL) return AP_EINVAL;
    int n = 0;
    if (written) {
        if (ap_kv_leader_request(kv_subject, subject, sizeof(subject), body, sizeof(body)) != AP_OK)
            return AP_EINVAL;
    } else {
        n = snprintf(subject, sizeof(subject), "$JS.API.DIRECT.GET.KV_%.*s.%s",
                     (int)(dot - bucket), bucket, kv_subject);
        if (n < 0 || (size_t)n >= sizeof(subject)) return AP_EINVAL;
    }
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
    a->gets[a->ngets++] = (pending_get){.id = id,
                                        .owner = owner,
                                        .tag = tag,
                                        .deadline_ms = ap_mono_ms() + a->max_wait_ms,
                                        .written = written,
                                        .lost_err = lost_err};
    memcpy(a->gets[a->ngets - 1].subject, subject, sizeof(subject));
    memcpy(a->gets[a->ngets - 1].body, body, sizeof(body));
    pthread_mutex_unlock(&a->mu);
    n = snprintf(reply, sizeof(reply), "%s.%llu", a->reply_prefix, (unsigned long long)id);
    natsStatus s = n > 0 && (size_t)n < sizeof(reply)
                       ? natsConnection_PublishRequest(a->nc, subject, reply, body,
                                                       (int)strlen(body))
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

ap_status ap_jsasync_kv_get(ap_jsasync *a, const char *bucket, const char *key, void *owner,
                            int tag) {
    char kv_subject[300];
    int n = snprintf(kv_subject, sizeof(kv_subject), "$KV.%s.%s", bucket, key);
    if (n < 0 || (size_t)n >= sizeof(kv_subject)) return AP_EINVAL;
    return send_get(a, kv_subject, owner, tag, NULL, 0);
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
        if (a->gets[i].written) { /* a check that could not read: the conflict stands */
            d.status = NATS_ERR;
            d.err = a->gets[i].lost_err;
            natsMsg_Destroy(a->gets[i].written);
        }
        push_ready(a, &d);
        a->gets[i] = a->gets[--a->ngets];
    }
}

static natsStatus send_write(ap_jsasync *a, natsMsg *msg) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = a->max_wait_ms < RESEND_UNANSWERED_MS ? a->max_wait_ms : RESEND_UNANSWERED_MS;
    natsMsg *m = msg;
    natsStatus s = js_PublishMsgAsync(a->js, &m, &po);
    if (s == NATS_OK) a->published_once = true; /* engine thread only */
    return s;
}

/* Removes msg's entry; with `failed`, its owner hears that the write failed. */
static void forget(ap_jsasync *a, natsMsg *msg, const ap_js_done *failed) {
    pthread_mutex_lock(&a->mu);
    pending_entry *e = table_find(a, msg);
    if (e) {
        if (failed) {
            ap_js_done d = *failed;
            d.owner = e->owner;
            d.tag = e->tag;
            push_ready(a, &d);
        }
        e->msg = TOMBSTONE;
        a->live--;
    }
    pthread_mutex_unlock(&a->mu);
}

/* Sends msg again (it is still keyed in the table); a send that fails
 * answers its owner with the failure. */
static void resend(ap_jsasync *a, natsMsg *msg) {
    natsStatus s = send_write(a, msg);
    if (s == NATS_OK) return;
    ap_js_done d = {.status = s};
    forget(a, msg, &d);
    natsMsg_Destroy(msg);
}

/* Engine thread: writes whose time to be sent again has come, and the
 * reads that check lost compare-and-sets. */
static void send_due(ap_jsasync *a) {
    natsMsg *due[64], *checks[64];
    int ndue = 0, nchecks = 0;
    int64_t now = ap_mono_ms();
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->nlater && ndue < 64;) {
        if (a->later[i].due_ms > now) {
            i++;
            continue;
        }
        due[ndue++] = a->later[i].msg;
        a->later[i] = a->later[--a->nlater];
    }
    while (a->nchecks > 0 && nchecks < 64) checks[nchecks++] = a->checks[--a->nchecks];
    pthread_mutex_unlock(&a->mu);
    for (int i = 0; i < ndue; i++) resend(a, due[i]);
    for (int i = 0; i < nchecks; i++) {
        natsMsg *m = checks[i];
        void *owner = NULL;
        int tag = 0;
        pthread_mutex_lock(&a->mu);
        pending_entry *e = table_find(a, m);
        if (e) {
            owner = e->owner;
            tag = e->tag;
            e->msg = TOMBSTONE; /* from here the read answers the owner */
            a->live--;
        }
        pthread_mutex_unlock(&a->mu);
        if (e == NULL) {
            natsMsg_Destroy(m);
            continue;
        }
        if (send_get(a, natsMsg_GetSubject(m), owner, tag, m, JSStreamWrongLastSequenceErr) !=
            AP_OK) {
            ap_js_done d = {.owner = owner,
                            .tag = tag,
                            .status = NATS_ERR,
                            .err = JSStreamWrongLastSequenceErr};
            pthread_mutex_lock(&a->mu);
            push_ready(a, &d);
            pthread_mutex_unlock(&a->mu);
            natsMsg_Destroy(m);
        }
    }
}

void ap_jsasync_resend_after_reconnect(ap_jsasync *a) {
    natsMsgList list = {0};
    if (a->published_once && js_PublishAsyncGetPendingList(&list, a->js) == NATS_OK) {
        for (int i = 0; i < list.Count; i++) {
            natsMsg *m = list.Msgs[i];
            list.Msgs[i] = NULL; /* ours now: resent or destroyed below */
            pthread_mutex_lock(&a->mu);
            pending_entry *e = table_find(a, m);
            if (e) e->resent = true;
            pthread_mutex_unlock(&a->mu);
            if (e == NULL)
                natsMsg_Destroy(m);
            else
                resend(a, m);
        }
        natsMsgList_Destroy(&list);
    }
    /* Reads: ask again under the same ids; the first reply answers. */
    pthread_mutex_lock(&a->mu);
    int n = a->ngets;
    pending_get *asks = n ? malloc(sizeof(*asks) * (size_t)n) : NULL;
    if (asks) memcpy(asks, a->gets, sizeof(*asks) * (size_t)n);
    pthread_mutex_unlock(&a->mu);
    for (int i = 0; asks && i < n; i++) {
        char reply[sizeof(a->reply_prefix) + 24];
        int k = snprintf(reply, sizeof(reply), "%s.%llu", a->reply_prefix,
                         (unsigned long long)asks[i].id);
        if (k > 0 && (size_t)k < sizeof(reply) && asks[i].subject[0])
            (void)natsConnection_PublishRequest(a->nc, asks[i].subject, reply, asks[i].body,
                                                (int)strlen(asks[i].body));
    }
    free(asks); /* a copy: the messages in it (written) still belong to a->gets */
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
    if (send_write(a, msg) != NATS_OK) {
        /* Not taken: no PubAck will come. */
        forget(a, msg, NULL);
        natsMsg_Destroy(msg);
        return AP_ENATS;
    }
    return AP_OK;
}

int ap_jsasync_take(ap_jsasync *a, ap_js_done *out, int max) {
    send_due(a);
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
    for (int i = 0; i < a->nlater; i++) natsMsg_Destroy(a->later[i].msg);
    for (int i = 0; i < a->nchecks; i++) natsMsg_Destroy(a->checks[i]);
    for (int i = 0; i < a->ngets; i++) natsMsg_Destroy(a->gets[i].written);
    free(a->later);
    free(a->checks);
    free(a->table);
    free(a->ready);
    free(a->gets);
    free(a);
}
