/* ratelimit.c -- a token bucket per API key: api.rate_limit_per_second
 * tokens a second, at most api.rate_limit_burst stored.
 *
 * The buckets live in this process, so the limit is per replica: with N
 * replicas behind a Service a key gets up to N times the rate. That is the
 * trade for not paying a database or NATS round trip per request; the
 * limit's job is to keep one tenant's runaway script from starving the
 * others on a replica, not to meter billing. A fixed table (open addressing
 * by a hash of the key id) bounds memory; a slot idle for a minute is free
 * for another key (its bucket would be full again by then anyway). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define RL_SLOTS 4096
#define RL_IDLE_MS 60000

typedef struct rl_slot {
    char key[37];
    double tokens;
    int64_t last_ms;
} rl_slot;

struct api_ratelimit {
    pthread_mutex_t mu;
    double per_second, burst;
    rl_slot slots[RL_SLOTS];
};

api_ratelimit *api_ratelimit_new(double per_second, double burst) {
    api_ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL) return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->per_second = per_second;
    rl->burst = burst < 1 ? 1 : burst;
    return rl;
}

void api_ratelimit_free(api_ratelimit *rl) {
    if (rl == NULL) return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint32_t fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The key's slot, or a free/idle one to take over; NULL when the probe
 * window is full of busy keys (then the request is let through). */
static rl_slot *find_slot(api_ratelimit *rl, const char *key, int64_t now_ms) {
    uint32_t h = fnv1a(key);
    rl_slot *spare = NULL;
    for (int i = 0; i < 16; i++) {
        rl_slot *s = &rl->slots[(h + (uint32_t)i) % RL_SLOTS];
        if (strcmp(s->key, key) == 0) return s;
        if (spare == NULL && (s->key[0] == '\0' || now_ms - s->last_ms > RL_IDLE_MS)) spare = s;
    }
    if (spare) {
        snprintf(spare->key, sizeof(spare->key), "%s", key);
        spare->tokens = rl->burst;
        spare->last_ms = now_ms;
    }
    return spare;
}

bool api_ratelimit_take(api_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s) {
    pthread_mutex_lock(&rl->mu);
    rl_slot *s = find_slot(rl, key, now_ms);
    bool ok = true;
    if (s != NULL) {
        double refill = (double)(now_ms - s->last_ms) / 1000.0 * rl->per_second;
        if (refill > 0) s->tokens = s->tokens + refill > rl->burst ? rl->burst : s->tokens + refill;
        s->last_ms = now_ms;
        if (s->tokens >= 1) {
            s->tokens -= 1;
        } else {
            ok = false;
            double wait_s = (1 - s->tokens) / rl->per_second;
            int secs = (int)wait_s;
            *retry_after_s = secs < wait_s ? secs + 1 : secs;
            if (*retry_after_s < 1) *retry_after_s = 1;
        }
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
