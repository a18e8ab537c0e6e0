/* guard.c -- see guard.h. */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"none",      "started",  "retry",
                                          "published", "failed",   "unconfirmed",
                                          "cancelled", "deferred", "unknown"};

const char *ap_guard_state_name(ap_guard_state s) {
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

void ap_guard_format(char *buf, size_t len, const ap_guard_record *rec, const char *instance) {
    int n = snprintf(buf, len, "%s attempt=%d at=%lld by=%s", ap_guard_state_name(rec->state),
                     rec->attempt, (long long)rec->at_ms, instance ? instance : "-");
    if (rec->state == AP_GUARD_PUBLISHED && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " id=%s", rec->external_id);
    else if (rec->state == AP_GUARD_STARTED && rec->ended && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " ended=1");
}

int ap_guard_parse(const char *value, size_t len, ap_guard_record *rec) {
    char buf[1024];
    memset(rec, 0, sizeof(*rec));
    rec->state = AP_GUARD_UNKNOWN;
    if (len >= sizeof(buf)) return -1;
    memcpy(buf, value, len);
    buf[len] = '\0';
    char *save = NULL, *word = strtok_r(buf, " ", &save);
    if (word == NULL) return -1;
    for (int s = AP_GUARD_STARTED; s < AP_GUARD_UNKNOWN; s++)
        if (strcmp(word, state_names[s]) == 0) rec->state = (ap_guard_state)s;
    if (rec->state == AP_GUARD_UNKNOWN) return -1;
    while ((word = strtok_r(NULL, " ", &save)) != NULL) {
        if (strncmp(word, "attempt=", 8) == 0)
            rec->attempt = atoi(word + 8);
        else if (strncmp(word, "at=", 3) == 0)
            rec->at_ms = strtoll(word + 3, NULL, 10);
        else if (strncmp(word, "id=", 3) == 0)
            snprintf(rec->external_id, sizeof(rec->external_id), "%s", word + 3);
        else if (strcmp(word, "ended=1") == 0)
            rec->ended = true;
    }
    return 0;
}

ap_status ap_guard_read(kvStore *kv, const char *key, ap_guard_record *rec) {
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv, key);
    if (s == NATS_NOT_FOUND) return AP_ENOTFOUND;
    if (s != NATS_OK) return AP_ENATS;
    if (ap_guard_parse(kvEntry_ValueString(e), (size_t)kvEntry_ValueLen(e), rec) != 0)
        rec->state = AP_GUARD_UNKNOWN;
    rec->revision = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return AP_OK;
}

ap_status ap_guard_claim(kvStore *kv, const char *key, int attempt, int64_t now_ms,
                         const char *instance, ap_guard_record *rec) {
    ap_guard_record started = {.state = AP_GUARD_STARTED, .attempt = attempt, .at_ms = now_ms};
    char value[512];
    ap_guard_format(value, sizeof(value), &started, instance);
    /* Two tries: a record deleted between our create and get is absent again. */
    for (int i = 0; i < 2; i++) {
        uint64_t rev = 0;
        natsStatus s = kvStore_CreateString(&rev, kv, key, value);
        if (s == NATS_OK) {
            *rec = started;
            rec->state = AP_GUARD_NONE; /* nothing was there before us */
            rec->revision = rev;
            return AP_OK;
        }
        ap_status r = ap_guard_read(kv, key, rec);
        if (r == AP_OK) return AP_ECONFLICT;
        if (r != AP_ENOTFOUND) return AP_ENATS;
    }
    return AP_ENATS;
}

ap_status ap_guard_set(kvStore *kv, const char *key, const ap_guard_record *next,
                       const char *instance, uint64_t *revision) {
    char value[512];
    ap_guard_format(value, sizeof(value), next, instance);
    uint64_t rev = 0;
    natsStatus s = kvStore_UpdateString(&rev, kv, key, value, *revision);
    if (s == NATS_OK) {
        *revision = rev;
        return AP_OK;
    }
    /* Tell a lost compare-and-set from an unreachable server. */
    ap_guard_record now;
    ap_status r = ap_guard_read(kv, key, &now);
    if (r == AP_OK && now.revision != *revision) return AP_ECONFLICT;
    return AP_ENATS;
}
