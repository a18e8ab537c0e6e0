/* accounts.c -- see accounts.h. */
#include "accounts.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_time.h"

#define NBUCKETS 4096
#define WATCH_WAIT_MS 500
#define WATCH_RETRY_MS 1000

typedef struct acct_entry {
    struct acct_entry *next;
    char id[64];
    bool reauth;
    char reauth_digest[AP_CRYPTO_DIGEST_HEX_LEN];
    int64_t reauth_issued_at_ms;
    char reauth_reason[512];
    uint8_t *cred;
    size_t cred_len;
    int64_t cred_issued_at_ms;
    ap_refresh_lock lock;
    int64_t pause_until_ms;
    char pause_reason[256];
} acct_entry;

struct ap_accounts {
    pthread_mutex_t mu;
    acct_entry *buckets[NBUCKETS];
    kvStore *kv;
    kvWatcher *watcher; /* guarded by mu: the stopper may race a re-watch */
    pthread_t thread;
    bool thread_started;
    volatile bool stopping;
    volatile bool synced;
};

static unsigned hash_id(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

ap_status ap_accounts_new(ap_accounts **out) {
    ap_accounts *a = calloc(1, sizeof(*a));
    if (a == NULL) return AP_ENOMEM;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return AP_ENOMEM;
    }
    *out = a;
    return AP_OK;
}

void ap_accounts_free(ap_accounts *a) {
    if (a == NULL) return;
    a->stopping = true;
    pthread_mutex_lock(&a->mu);
    if (a->watcher) kvWatcher_Stop(a->watcher);
    pthread_mutex_unlock(&a->mu);
    if (a->thread_started) pthread_join(a->thread, NULL);
    for (int i = 0; i < NBUCKETS; i++) {
        acct_entry *e = a->buckets[i];
        while (e) {
            acct_entry *next = e->next;
            free(e->cred);
            free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Caller holds mu. */
static acct_entry *entry_get(ap_accounts *a, const char *id, bool create) {
    unsigned h = hash_id(id);
    for (acct_entry *e = a->buckets[h]; e; e = e->next)
        if (strcmp(e->id, id) == 0) return e;
    if (!create || strlen(id) >= sizeof(((acct_entry *)0)->id)) return NULL;
    acct_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) return NULL;
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->next = a->buckets[h];
    a->buckets[h] = e;
    return e;
}

/* ---- values ----------------------------------------------------------------- */

void ap_acct_key(char *buf, size_t len, const char *kind, const char *account_id) {
    snprintf(buf, len, "%s.%s", kind, account_id);
}

char *ap_acct_reauth_value(const char *digest, int64_t issued_at_ms, int64_t at_ms,
                           const char *instance, const char *reason) {
    size_t n = 200 + strlen(reason) + strlen(instance ? instance : "-");
    char *v = malloc(n);
    if (v == NULL) return NULL;
    snprintf(v, n, "digest=%s issued=%lld at=%lld by=%s reason=%s", digest, (long long)issued_at_ms,
             (long long)at_ms, instance ? instance : "-", reason);
    /* One line: a reason with a newline would end the value for a reader. */
    for (char *p = v; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return v;
}

char *ap_acct_cred_value(const uint8_t *sealed, size_t len, int64_t issued_at_ms,
                         const char *instance) {
    char digest[AP_CRYPTO_DIGEST_HEX_LEN];
    ap_crypto_digest_hex(sealed, len, digest);
    const char *by = instance ? instance : "-";
    /* The prefix is sized from the instance name (unbounded here: the config
     * bounds it, but this function must not trust that), the blob from len. */
    size_t n = 96 + strlen(by) + 4 * ((len + 2) / 3) + 1;
    char *v = malloc(n);
    if (v == NULL) return NULL;
    int k = snprintf(v, n, "issued=%lld digest=%s by=%s blob=", (long long)issued_at_ms, digest, by);
    if (k < 0 || (size_t)k + 4 * ((len + 2) / 3) + 1 > n) {
        free(v);
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)v + k, sealed, (int)len);
    return v;
}

char *ap_acct_lock_value(bool ambiguous, int64_t at_ms, const char *instance) {
    const char *by = instance ? instance : "-";
    size_t n = 64 + strlen(by);
    char *v = malloc(n);
    if (v == NULL) return NULL;
    int k = snprintf(v, n, "state=%s at=%lld by=%s", ambiguous ? "ambiguous" : "running",
                     (long long)at_ms, by);
    if (k < 0 || (size_t)k >= n) {
        free(v);
        return NULL;
    }
    return v;
}

void ap_acct_app_pause_key(char *buf, size_t len, const char *platform) {
    snprintf(buf, len, "pause.app.%s", platform);
}

char *ap_acct_pause_value(int64_t until_ms, int64_t at_ms, const char *instance,
                          const char *reason) {
    size_t n = 200 + strlen(reason ? reason : "") + strlen(instance ? instance : "-");
    char *v = malloc(n);
    if (v == NULL) return NULL;
    snprintf(v, n, "until=%lld at=%lld by=%s reason=%s", (long long)until_ms, (long long)at_ms,
             instance ? instance : "-", reason ? reason : "");
    for (char *p = v; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return v;
}

/* The value of "name=" up to the next space (or the end for the last field). */
static const char *field(const char *v, const char *name, size_t *n, bool to_end) {
    size_t nl = strlen(name);
    for (const char *p = v; p && *p;) {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *s = p + nl + 1;
            const char *e = to_end ? s + strlen(s) : strchr(s, ' ');
            *n = e ? (size_t)(e - s) : strlen(s);
            return s;
        }
        p = strchr(p, ' ');
        if (p) p++;
    }
    return NULL;
}

static int64_t field_ms(const char *v, const char *name) {
    size_t n;
    const char *s = field(v, name, &n, false);
    return s ? strtoll(s, NULL, 10) : 0;
}

static void apply_reauth(acct_entry *e, const char *v, bool deleted) {
    size_t n;
    const char *s;
    e->reauth = !deleted;
    if (deleted) return;
    s = field(v, "digest", &n, false);
    snprintf(e->reauth_digest, sizeof(e->reauth_digest), "%.*s", s ? (int)n : 0, s ? s : "");
    e->reauth_issued_at_ms = field_ms(v, "issued");
    s = field(v, "reason", &n, true);
    snprintf(e->reauth_reason, sizeof(e->reauth_reason), "%.*s", s ? (int)n : 0, s ? s : "");
}

ap_status ap_acct_cred_parse(const char *v, uint8_t **sealed, size_t *len, int64_t *issued_at_ms) {
    size_t n;
    const char *s = field(v, "blob", &n, false);
    *sealed = NULL;
    *len = 0;
    *issued_at_ms = field_ms(v, "issued");
    if (s == NULL || n == 0 || n % 4 != 0) return AP_EINVAL;
    uint8_t *blob = malloc(n / 4 * 3 + 1);
    if (blob == NULL) return AP_ENOMEM;
    int decoded = EVP_DecodeBlock(blob, (const unsigned char *)s, (int)n);
    if (decoded < 0) {
        free(blob);
        return AP_EINVAL;
    }
    /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
    if (s[n - 1] == '=') decoded--;
    if (n >= 2 && s[n - 2] == '=') decoded--;
    *sealed = blob;
    *len = (size_t)decoded;
    return AP_OK;
}

static void apply_cred(acct_entry *e, const char *v, bool deleted) {
    if (deleted) {
        free(e->cred);
        e->cred = NULL;
        e->cred_len = 0;
        e->cred_issued_at_ms = 0;
        return;
    }
    /* The watch may replay an older value after our own newer write. */
    if (field_ms(v, "issued") <= e->cred_issued_at_ms) return;
    uint8_t *blob;
    size_t len;
    int64_t issued;
    if (ap_acct_cred_parse(v, &blob, &len, &issued) != AP_OK) return;
    free(e->cred);
    e->cred = blob;
    e->cred_len = len;
    e->cred_issued_at_ms = issued;
}

static void apply_lock(acct_entry *e, const char *v, bool deleted, uint64_t revision) {
    size_t n;
    memset(&e->lock, 0, sizeof(e->lock));
    e->lock.revision = revision;
    if (deleted) return;
    const char *s = field(v, "state", &n, false);
    e->lock.present = true;
    e->lock.ambiguous = s && n == 9 && strncmp(s, "ambiguous", 9) == 0;
    e->lock.at_ms = field_ms(v, "at");
}

/* A later end wins: the watch may replay an older value after our own
 * write, and two replicas may record the same limit. */
static void apply_pause(acct_entry *e, const char *v, bool deleted) {
    if (deleted) {
        e->pause_until_ms = 0;
        e->pause_reason[0] = '\0';
        return;
    }
    int64_t until = field_ms(v, "until");
    if (until <= e->pause_until_ms) return;
    size_t n;
    const char *s = field(v, "reason", &n, true);
    e->pause_until_ms = until;
    snprintf(e->pause_reason, sizeof(e->pause_reason), "%.*s", s ? (int)n : 0, s ? s : "");
}

void ap_accounts_apply(ap_accounts *a, const char *key, const char *value, size_t len, bool deleted,
                       uint64_t revision) {
    const char *dot = key ? strchr(key, '.') : NULL;
    if (dot == NULL) return;
    char *v = malloc(len + 1);
    if (v == NULL) return;
    memcpy(v, value ? value : "", value ? len : 0);
    v[value ? len : 0] = '\0';
    size_t kind = (size_t)(dot - key);
    pthread_mutex_lock(&a->mu);
    acct_entry *e = entry_get(a, dot + 1, !deleted);
    if (e) {
        if (kind == 6 && strncmp(key, "reauth", 6) == 0)
            apply_reauth(e, v, deleted);
        else if (kind == 4 && strncmp(key, "cred", 4) == 0)
            apply_cred(e, v, deleted);
        else if (kind == 7 && strncmp(key, "refresh", 7) == 0 && revision >= e->lock.revision)
            apply_lock(e, v, deleted, revision);
        else if (kind == 5 && strncmp(key, "pause", 5) == 0)
            apply_pause(e, v, deleted);
    }
    pthread_mutex_unlock(&a->mu);
    free(v);
}

bool ap_accounts_lookup(ap_accounts *a, const char *account_id, int64_t newer_than_ms,
                        ap_acct_view *v) {
    memset(v, 0, sizeof(*v));
    bool found = false;
    pthread_mutex_lock(&a->mu);
    acct_entry *e = entry_get(a, account_id, false);
    if (e) {
        found = true;
        v->reauth = e->reauth;
        memcpy(v->reauth_digest, e->reauth_digest, sizeof(v->reauth_digest));
        v->reauth_issued_at_ms = e->reauth_issued_at_ms;
        memcpy(v->reauth_reason, e->reauth_reason, sizeof(v->reauth_reason));
        v->cred_issued_at_ms = e->cred_issued_at_ms;
        v->lock = e->lock;
        if (e->cred && e->cred_issued_at_ms > newer_than_ms) {
            v->cred = malloc(e->cred_len);
            if (v->cred) {
                memcpy(v->cred, e->cred, e->cred_len);
                v->cred_len = e->cred_len;
            }
        }
    }
    pthread_mutex_unlock(&a->mu);
    return found;
}

int64_t ap_accounts_paused_until(ap_accounts *a, const char *account_id, const char *platform,
                                 char *reason, size_t len, bool *app) {
    char app_id[64];
    snprintf(app_id, sizeof(app_id), "app.%s", platform);
    int64_t until = 0;
    *app = false;
    if (reason && len) reason[0] = '\0';
    pthread_mutex_lock(&a->mu);
    const char *ids[2] = {account_id, app_id};
    for (int i = 0; i < 2; i++) {
        acct_entry *e = entry_get(a, ids[i], false);
        if (e == NULL || e->pause_until_ms <= until) continue;
        until = e->pause_until_ms;
        *app = i == 1;
        if (reason && len) snprintf(reason, len, "%s", e->pause_reason);
    }
    pthread_mutex_unlock(&a->mu);
    return until;
}

void ap_acct_view_clear(ap_acct_view *v) {
    if (v == NULL) return;
    free(v->cred);
    memset(v, 0, sizeof(*v));
}

bool ap_acct_blocked(const ap_acct_view *v, const char *digest, int64_t issued_at_ms) {
    if (!v->reauth) return false;
    return strcmp(v->reauth_digest, digest) == 0 || issued_at_ms < v->reauth_issued_at_ms;
}

/* ---- the watcher ------------------------------------------------------------ */

static void *watch_main(void *arg) {
    ap_accounts *a = arg;
    int64_t last_log = 0;
    while (!a->stopping) {
        kvWatcher *w = NULL;
        natsStatus s = kvStore_WatchAll(&w, a->kv, NULL);
        if (s != NATS_OK) {
            int64_t now = ap_mono_ms();
            if (now - last_log > 10000) {
                ap_log_warn("accounts_watch_failed", NULL,
                            "cannot watch the accounts bucket: %s (retrying)",
                            natsStatus_GetText(s));
                last_log = now;
            }
            for (int i = 0; i < WATCH_RETRY_MS / 50 && !a->stopping; i++) ap_sleep_ms(50);
            continue;
        }
        pthread_mutex_lock(&a->mu);
        a->watcher = w;
        bool stop_now = a->stopping;
        pthread_mutex_unlock(&a->mu);
        while (!stop_now && !a->stopping) {
            kvEntry *e = NULL;
            s = kvWatcher_Next(&e, w, WATCH_WAIT_MS);
            if (s == NATS_TIMEOUT) continue;
            if (s != NATS_OK) break; /* stopped, or the subscription broke: watch again */
            if (e == NULL) {
                a->synced = true; /* the initial values are in */
                continue;
            }
            kvOperation op = kvEntry_Operation(e);
            ap_accounts_apply(a, kvEntry_Key(e), (const char *)kvEntry_Value(e),
                              (size_t)(kvEntry_ValueLen(e) > 0 ? kvEntry_ValueLen(e) : 0),
                              op != kvOp_Put, kvEntry_Revision(e));
            kvEntry_Destroy(e);
        }
        pthread_mutex_lock(&a->mu);
        a->watcher = NULL;
        pthread_mutex_unlock(&a->mu);
        kvWatcher_Destroy(w);
    }
    return NULL;
}

ap_status ap_accounts_watch(ap_accounts *a, kvStore *kv) {
    a->kv = kv;
    if (pthread_create(&a->thread, NULL, watch_main, a) != 0) return AP_ENOMEM;
    a->thread_started = true;
    return AP_OK;
}

bool ap_accounts_synced(ap_accounts *a) { return a->synced; }
