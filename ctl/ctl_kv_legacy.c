/* ctl_kv_legacy.c -- `streams migrate-kv`: the shared KV buckets of older
 * releases, copied into the per-platform ones.
 *
 * Older releases kept every platform's attempt records in one bucket
 * (autopost_attempts) and every account's marks, refreshed credentials and
 * locks in another (autopost_accounts). Now each platform has its own pair
 * (common/ap_nats.h), so that NATS permissions keep a publisher away from
 * other platforms' tokens. An attempt record left in the old bucket still
 * matters: it is what stops a redelivered job from being posted twice. So
 * upgrading is: stop the publishers, `streams apply`, `streams migrate-kv`,
 * start the new publishers (README "Upgrading").
 *
 * Which platform a key belongs to comes from PostgreSQL: attempt keys are
 * "<schedule id>-<generation>", account keys "<kind>.<account id>" (or
 * "pause.app.<platform>"). A key is copied with create-if-absent, so a
 * record the new publishers already wrote wins and running it again is safe.
 * A key whose schedule or account is gone is left behind and counted.
 * --delete-legacy deletes the old buckets once every key was copied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_uuid.h"
#include "ctl.h"

typedef struct copy_counts {
    long copied, present, orphaned;
} copy_counts;

/* The per-platform buckets opened so far (one js_KeyValue each, not one a key). */
typedef struct bucket_cache {
    char platform[AP_MAX_PLATFORMS][AP_PLATFORM_NAME_MAX];
    kvStore *kv[AP_MAX_PLATFORMS];
    int n;
} bucket_cache;

#define UUID_TEXT_LEN 36

/* The platform owning a legacy key, into platform (AP_PLATFORM_NAME_MAX).
 * false when PostgreSQL knows no such schedule/account. */
static bool key_platform(ctl_ctx *ctx, bool attempts, const char *key, char *platform, char *err,
                         size_t errlen, ap_status *st) {
    char id[UUID_TEXT_LEN + 1];
    const char *sql = NULL; /* a schedule's: the store's schedule_platform */
    *st = AP_OK;
    if (attempts) {
        /* "<uuid>-<generation>": the uuid is the first 36 characters. */
        if (strlen(key) <= UUID_TEXT_LEN || key[UUID_TEXT_LEN] != '-') return false;
        memcpy(id, key, UUID_TEXT_LEN);
        id[UUID_TEXT_LEN] = '\0';
        if (!ap_uuid_valid(id)) return false; /* no schedule has that id */
    } else {
        if (strncmp(key, "pause.app.", 10) == 0) {
            int n = snprintf(platform, AP_PLATFORM_NAME_MAX, "%s", key + 10);
            return n > 0 && n < AP_PLATFORM_NAME_MAX;
        }
        const char *dot = strchr(key, '.');
        if (dot == NULL || strlen(dot + 1) != UUID_TEXT_LEN) return false;
        memcpy(id, dot + 1, UUID_TEXT_LEN + 1);
        sql = "SELECT platform FROM social_accounts WHERE id::text = $1";
    }
    const char *params[] = {id};
    PGresult *res = sql ? ctl_exec(ctx, sql, 1, params, PGRES_TUPLES_OK, err, errlen)
                        : ctl_store(ctx, AP_STORE_SCHEDULE_PLATFORM, params, err, errlen);
    if (res == NULL) {
        *st = AP_EPG;
        return false;
    }
    bool found = PQntuples(res) == 1;
    if (found) snprintf(platform, AP_PLATFORM_NAME_MAX, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

/* The platform's bucket of this kind, opened once and kept in cache. */
static kvStore *platform_bucket(jsCtx *js, bucket_cache *cache, bool attempts, const char *platform,
                                char *err, size_t errlen) {
    for (int i = 0; i < cache->n; i++)
        if (strcmp(cache->platform[i], platform) == 0) return cache->kv[i];
    char bucket[AP_KV_BUCKET_LEN];
    ap_status named = attempts ? ap_kv_bucket_attempts(bucket, sizeof(bucket), platform)
                               : ap_kv_bucket_accounts(bucket, sizeof(bucket), platform);
    if (named != AP_OK || cache->n == AP_MAX_PLATFORMS) {
        snprintf(err, errlen, "platform \"%.40s\": no bucket name", platform);
        return NULL;
    }
    kvStore *kv = NULL;
    natsStatus s = js_KeyValue(&kv, js, bucket);
    if (s != NATS_OK) {
        char what[AP_KV_BUCKET_LEN + 64];
        snprintf(what, sizeof(what), "bucket %s (run `autopostctl streams apply` first)", bucket);
        ap_nats_error(err, errlen, what, s, 0);
        return NULL;
    }
    snprintf(cache->platform[cache->n], AP_PLATFORM_NAME_MAX, "%s", platform);
    cache->kv[cache->n++] = kv;
    return kv;
}

static void bucket_cache_close(bucket_cache *cache) {
    for (int i = 0; i < cache->n; i++) kvStore_Destroy(cache->kv[i]);
    cache->n = 0;
}

/* Copies one legacy key into its platform's bucket. */
static ap_status copy_key(ctl_ctx *ctx, jsCtx *js, bucket_cache *cache, kvStore *legacy,
                          bool attempts, const char *key, copy_counts *c, char *err,
                          size_t errlen) {
    char platform[AP_PLATFORM_NAME_MAX];
    ap_status st;
    if (!key_platform(ctx, attempts, key, platform, err, errlen, &st)) {
        if (st != AP_OK) return st;
        c->orphaned++;
        return AP_OK;
    }
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, legacy, key);
    if (s == NATS_NOT_FOUND) return AP_OK; /* deleted meanwhile */
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, "legacy get", s, 0);
        return AP_ENATS;
    }
    kvStore *kv = platform_bucket(js, cache, attempts, platform, err, errlen);
    if (kv == NULL) {
        kvEntry_Destroy(e);
        return AP_ENATS;
    }
    uint64_t rev = 0;
    s = kvStore_Create(&rev, kv, key, kvEntry_Value(e), kvEntry_ValueLen(e));
    kvEntry_Destroy(e);
    st = AP_OK;
    if (s == NATS_OK) {
        c->copied++;
    } else {
        /* Create refuses a key that exists: what the new bucket holds was
         * written by a new publisher, so it is newer. Anything else fails. */
        kvEntry *now = NULL;
        if (kvStore_Get(&now, kv, key) == NATS_OK) {
            c->present++;
            kvEntry_Destroy(now);
        } else {
            ap_nats_error(err, errlen, "copy", s, 0);
            st = AP_ENATS;
        }
    }
    return st;
}

/* Every key of one legacy bucket. *missing = the bucket does not exist. */
static ap_status copy_bucket(ctl_ctx *ctx, jsCtx *js, const char *name, bool attempts,
                             copy_counts *c, bool *missing, char *err, size_t errlen) {
    kvStore *legacy = NULL;
    natsStatus s = js_KeyValue(&legacy, js, name);
    *missing = s == NATS_NOT_FOUND;
    if (*missing) return AP_OK;
    if (s != NATS_OK) {
        ap_nats_error(err, errlen, name, s, 0);
        return AP_ENATS;
    }
    kvKeysList keys;
    s = kvStore_Keys(&keys, legacy, NULL);
    if (s != NATS_OK) {
        kvStore_Destroy(legacy);
        ap_nats_error(err, errlen, "listing keys", s, 0);
        return AP_ENATS;
    }
    ap_status st = AP_OK;
    bucket_cache cache = {.n = 0};
    for (int i = 0; i < keys.Count && st == AP_OK; i++)
        st = copy_key(ctx, js, &cache, legacy, attempts, keys.Keys[i], c, err, errlen);
    bucket_cache_close(&cache);
    kvKeysList_Destroy(&keys);
    kvStore_Destroy(legacy);
    return st;
}

int ctl_streams_migrate_kv(ctl_ctx *ctx, bool delete_legacy) {
    static const struct {
        const char *name;
        bool attempts;
    } legacy[] = {{AP_KV_ATTEMPTS, true}, {AP_KV_ACCOUNTS, false}};
    int rc;
    if ((rc = ctl_setup(ctx, AP_NEED_NATS | AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    ap_nats n;
    char err[512];
    if (ctl_nats_open(ctx, &n, ctx->cfg.nats_connect_timeout_ms, err, sizeof(err)) != AP_OK)
        return ctl_fail("%s", err);
    rc = CTL_EXIT_OK;
    for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]) && rc == CTL_EXIT_OK; i++) {
        copy_counts c = {0, 0, 0};
        bool missing = false;
        if (copy_bucket(ctx, n.js, legacy[i].name, legacy[i].attempts, &c, &missing, err,
                        sizeof(err)) != AP_OK) {
            rc = ctl_fail("streams migrate-kv: %s: %s", legacy[i].name, err);
            break;
        }
        if (missing) {
            printf("kv %s: not present (nothing to migrate)\n", legacy[i].name);
            continue;
        }
        printf("kv %s: %ld copied, %ld already present, %ld without a schedule or account\n",
               legacy[i].name, c.copied, c.present, c.orphaned);
        if (!delete_legacy) continue;
        natsStatus s = js_DeleteKeyValue(n.js, legacy[i].name);
        if (s != NATS_OK) {
            ap_nats_error(err, sizeof(err), "delete", s, 0);
            rc = ctl_fail("streams migrate-kv: cannot delete %s: %s", legacy[i].name, err);
        } else {
            printf("kv %s: deleted\n", legacy[i].name);
        }
    }
    ap_nats_close(&n);
    return rc;
}
