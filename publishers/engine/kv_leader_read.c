/* kv_leader_read.c -- see kv_leader_read.h. */
#include "kv_leader_read.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ap_status ap_kv_leader_request(const char *kv_subject, char *subject, size_t subject_len,
                               char *body, size_t body_len) {
    const char *bucket = kv_subject + 4, *dot;
    if (strncmp(kv_subject, "$KV.", 4) != 0 || (dot = strchr(bucket, '.')) == NULL ||
        dot == bucket)
        return AP_EINVAL;
    /* Subjects have no quotes, backslashes or control characters, but the
     * body is JSON: refuse rather than escape what should never be there. */
    for (const char *p = kv_subject; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) return AP_EINVAL;
    int n = snprintf(subject, subject_len, "$JS.API.STREAM.MSG.GET.KV_%.*s", (int)(dot - bucket),
                     bucket);
    if (n < 0 || (size_t)n >= subject_len) return AP_EINVAL;
    n = snprintf(body, body_len, "{\"last_by_subj\":\"%s\"}", kv_subject);
    if (n < 0 || (size_t)n >= body_len) return AP_EINVAL;
    return AP_OK;
}

/* Standard base64 (with padding, as the server's JSON encoder writes
 * []byte) into a fresh NUL-terminated buffer; -1 when it is not base64. */
static int base64_decode(const char *in, char **out) {
    size_t n = strlen(in);
    *out = NULL;
    if (n % 4 != 0 || n > (size_t)1 << 28) return -1;
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    if (buf == NULL) return -1;
    int len = n ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n) : 0;
    if (len < 0) {
        free(buf);
        return -1;
    }
    /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
    for (size_t i = n; i > 0 && in[i - 1] == '=' && len > 0; i--) len--;
    buf[len] = '\0';
    *out = (char *)buf;
    return len;
}

/* A delete or purge marker: its headers ("NATS/1.0\r\nKV-Operation: DEL
 * \r\n...") name the operation. */
static bool is_delete_marker(const char *hdrs) {
    const char *p = hdrs;
    while ((p = strstr(p, "KV-Operation:")) != NULL) {
        bool line_start = p == hdrs || p[-1] == '\n';
        p += strlen("KV-Operation:");
        if (!line_start) continue;
        while (*p == ' ') p++;
        size_t v = strcspn(p, "\r\n ");
        if ((v == 3 && strncmp(p, "DEL", 3) == 0) || (v == 5 && strncmp(p, "PURGE", 5) == 0))
            return true;
    }
    return false;
}

/* Fills d from the parsed reply; false when it is not an answer. */
static bool decode_reply(json_t *root, ap_js_done *d) {
    json_t *error = json_object_get(root, "error"), *msg = json_object_get(root, "message");
    if (json_is_object(error)) {
        /* 404: the key has no message. Anything else (503: no leader yet)
         * is a failure to read, not an answer. */
        d->ok = json_integer_value(json_object_get(error, "code")) == 404;
        return d->ok;
    }
    json_t *seq = json_object_get(msg, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) <= 0) return false;
    d->seq = (uint64_t)json_integer_value(seq);
    json_t *hdrs = json_object_get(msg, "hdrs"), *value = json_object_get(msg, "data");
    if ((hdrs && !json_is_string(hdrs)) || (value && !json_is_string(value))) return false;
    if (hdrs) {
        char *text = NULL;
        if (base64_decode(json_string_value(hdrs), &text) < 0) return false;
        bool deleted = is_delete_marker(text);
        free(text);
        if (deleted) return d->ok = true;
    }
    int n = base64_decode(value ? json_string_value(value) : "", &d->value);
    if (n < 0) return false;
    d->value_len = n;
    return d->ok = d->found = true;
}

void ap_kv_leader_decode(const char *data, int len, ap_js_done *d) {
    d->ok = d->found = false;
    d->value = NULL;
    d->value_len = 0;
    d->seq = 0;
    json_t *root = data && len > 0 ? json_loadb(data, (size_t)len, 0, NULL) : NULL;
    if (!decode_reply(root, d)) {
        free(d->value);
        d->value = NULL;
        d->value_len = 0;
        d->ok = d->found = false;
        d->seq = 0;
        d->status = NATS_ERR;
    }
    json_decref(root);
}
