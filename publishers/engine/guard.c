/* guard.c -- the attempt-record protocol (see guard.h): the value's one
 * line, the key and its $KV subject, the takeover window, the cancel mark.
 * The publishers' engine and autopostctl both link it (autopost_guard). */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_nats.h"

static const char *const state_names[] = {"none",    "started",     "retry",     "published",
                                          "failed",  "unconfirmed", "cancelled", "deferred",
                                          "expired", "unknown"};

const char *ap_guard_state_name(ap_guard_state s) {
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

void ap_guard_format(char *buf, size_t len, const ap_guard_record *rec, const char *instance) {
    int n = snprintf(buf, len, "%s attempt=%d at=%lld by=%s", ap_guard_state_name(rec->state),
                     rec->attempt, (long long)rec->at_ms, instance ? instance : "-");
    if (rec->state == AP_GUARD_PUBLISHED && n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " id=%s", rec->external_id);
    else if (rec->state == AP_GUARD_STARTED && rec->ended && n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " ended=1");
    if ((rec->part > 0 || rec->chain_ids[0]) && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " part=%d ids=%s", rec->part, rec->chain_ids);
}

int ap_guard_parse(const char *value, size_t len, ap_guard_record *rec) {
    char buf[AP_GUARD_VALUE_LEN];
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
        else if (strncmp(word, "part=", 5) == 0) {
            long part = strtol(word + 5, NULL, 10);
            rec->part = part < 0 || part > 1000 ? 0 : (int)part; /* chain.h: at most 26 */
        } else if (strncmp(word, "ids=", 4) == 0)
            snprintf(rec->chain_ids, sizeof(rec->chain_ids), "%s", word + 4);
    }
    return 0;
}

ap_status ap_guard_key(char *buf, size_t len, const char *schedule_id, const char *generation) {
    int n = snprintf(buf, len, "%s-%s", schedule_id, generation);
    return n > 0 && (size_t)n < len ? AP_OK : AP_EINVAL;
}

int64_t ap_guard_takeover_window_ms(int64_t platform_timeout_ms) {
    return 2 * platform_timeout_ms + 5000;
}

ap_status ap_guard_message(natsMsg **out, const char *bucket, const char *key,
                           const ap_guard_record *rec, const char *instance) {
    char subject[AP_KV_BUCKET_LEN + 72], value[AP_GUARD_VALUE_LEN];
    *out = NULL;
    int n = snprintf(subject, sizeof(subject), "$KV.%s.%s", bucket, key);
    if (n < 0 || (size_t)n >= sizeof(subject)) return AP_EINVAL;
    ap_guard_format(value, sizeof(value), rec, instance);
    if (natsMsg_Create(out, subject, NULL, value, (int)strlen(value)) != NATS_OK) return AP_ENOMEM;
    return AP_OK;
}

/* The mark is the bare state name: older publishers read it the same way. */
#define CANCEL_MARK "cancelled"

ap_status ap_guard_cancel(kvStore *kv, const char *key, ap_guard_record *rec, char *value,
                          size_t len) {
    memset(rec, 0, sizeof(*rec));
    if (len > 0) value[0] = '\0';
    uint64_t rev = 0;
    natsStatus s = kvStore_Create(&rev, kv, key, CANCEL_MARK, (int)strlen(CANCEL_MARK));
    if (s == NATS_OK) {
        rec->state = AP_GUARD_CANCELLED;
        rec->revision = rev;
        return AP_OK;
    }
    /* Create lost: someone wrote the record first. Say what it says. */
    kvEntry *e = NULL;
    natsStatus g = kvStore_Get(&e, kv, key);
    if (g != NATS_OK) {
        snprintf(value, len, "%s", natsStatus_GetText(s));
        return AP_ENATS;
    }
    int vlen = kvEntry_ValueLen(e);
    const char *text = kvEntry_ValueString(e);
    if (ap_guard_parse(text, (size_t)vlen, rec) != 0) rec->state = AP_GUARD_UNKNOWN;
    rec->revision = kvEntry_Revision(e);
    snprintf(value, len, "%.*s", vlen, text);
    kvEntry_Destroy(e);
    return AP_ECONFLICT;
}
