/* ap_proto.c -- see ap_proto.h. */
#include "ap_proto.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_nats.h"
#include "ap_time.h"

void ap_job_msg_id(char *buf, size_t len, const char *schedule_id, uint32_t generation) {
    snprintf(buf, len, "%s-%u", schedule_id, generation);
}

static ap_status set_headers(natsMsg *m, const char *const *kv, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2)
        if (natsMsgHeader_Set(m, kv[i], kv[i + 1]) != NATS_OK) return AP_ENATS;
    return AP_OK;
}

void ap_job_subject(char *buf, size_t len, const char *platform, bool urgent) {
    snprintf(buf, len, AP_SUBJECT_JOBS_PREFIX "%s%s", platform,
             urgent ? AP_SUBJECT_URGENT_SUFFIX : "");
}

ap_status ap_job_to_msg(const ap_job *job, natsMsg **out) {
    char subject[96], msg_id[64], gen[16], at[32];
    size_t len = autopost__v1__publish_job__get_packed_size(job);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) return AP_ENOMEM;
    autopost__v1__publish_job__pack(job, buf);
    ap_job_subject(subject, sizeof(subject), job->platform, job->urgent);
    ap_job_msg_id(msg_id, sizeof(msg_id), job->schedule_id, job->generation);
    snprintf(gen, sizeof(gen), "%u", job->generation);
    ap_time_format_rfc3339(job->scheduled_at_ms, at, sizeof(at));
    natsMsg *m = NULL;
    ap_status s = AP_ENATS;
    if (natsMsg_Create(&m, subject, NULL, (const char *)buf, (int)len) == NATS_OK) {
        const char *headers[] = {AP_HDR_MSG_ID,       msg_id,
                                 AP_HDR_SCHEDULE_ID,  job->schedule_id,
                                 AP_HDR_GENERATION,   gen,
                                 AP_HDR_PLATFORM,     job->platform,
                                 AP_HDR_ACCOUNT_ID,   job->account_id,
                                 AP_HDR_SCHEDULED_AT, at,
                                 AP_HDR_PRIORITY,     job->urgent ? "urgent" : "normal",
                                 AP_HDR_CONTENT_TYPE, AP_CT_JOB};
        s = set_headers(m, headers, sizeof(headers) / sizeof(headers[0]));
    }
    free(buf);
    if (s != AP_OK) {
        natsMsg_Destroy(m);
        return s;
    }
    *out = m;
    return AP_OK;
}

ap_status ap_result_to_msg(const ap_result *res, natsMsg **out) {
    char subject[96], msg_id[128], gen[16], attempt[16];
    size_t len = autopost__v1__publish_result__get_packed_size(res);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) return AP_ENOMEM;
    autopost__v1__publish_result__pack(res, buf);
    snprintf(subject, sizeof(subject), AP_SUBJECT_RESULTS_PREFIX "%s", res->platform);
    /* One result per attempt and outcome: a republish after a crash dedups. */
    snprintf(msg_id, sizeof(msg_id), "%s-%u-%u-%s", res->schedule_id, res->generation, res->attempt,
             ap_outcome_name(res->outcome));
    snprintf(gen, sizeof(gen), "%u", res->generation);
    snprintf(attempt, sizeof(attempt), "%u", res->attempt);
    natsMsg *m = NULL;
    ap_status s = AP_ENATS;
    if (natsMsg_Create(&m, subject, NULL, (const char *)buf, (int)len) == NATS_OK) {
        const char *headers[] = {AP_HDR_MSG_ID,       msg_id,
                                 AP_HDR_SCHEDULE_ID,  res->schedule_id,
                                 AP_HDR_GENERATION,   gen,
                                 AP_HDR_PLATFORM,     res->platform,
                                 AP_HDR_OUTCOME,      ap_outcome_name(res->outcome),
                                 AP_HDR_ATTEMPT,      attempt,
                                 AP_HDR_ERROR_CLASS,  ap_error_class_name(res->error_class),
                                 AP_HDR_CONTENT_TYPE, AP_CT_RESULT};
        s = set_headers(m, headers, sizeof(headers) / sizeof(headers[0]));
    }
    free(buf);
    if (s != AP_OK) {
        natsMsg_Destroy(m);
        return s;
    }
    *out = m;
    return AP_OK;
}

ap_status ap_msg_set_trace(natsMsg *m, const ap_trace *t) {
    char value[AP_TRACEPARENT_LEN + 1];
    if (!ap_trace_format(t, value, sizeof(value))) return AP_EINVAL;
    return natsMsgHeader_Set(m, AP_HDR_TRACEPARENT, value) == NATS_OK ? AP_OK : AP_ENATS;
}

bool ap_msg_trace(natsMsg *m, ap_trace *out) {
    const char *value = NULL;
    if (m == NULL || natsMsgHeader_Get(m, AP_HDR_TRACEPARENT, &value) != NATS_OK) return false;
    return ap_trace_parse(value, out);
}

static int valid_platform_token(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= 32) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

/* protobuf-c accepts a field number 0 when its tag is an overlong varint
 * (0x81 0x00), keeps it as an unknown field and writes it back as 0x01, which
 * it then refuses: a message that decodes must encode to one that decodes
 * (found by fuzz_job_decode). Field 0 is never valid protobuf; other unknown
 * fields are kept, for a newer scheduler's additions. */
static bool unknown_fields_valid(const ProtobufCMessage *m) {
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0) return false;
    return true;
}

static bool job_unknown_fields_valid(const ap_job *job) {
    if (!unknown_fields_valid(&job->base)) return false;
    for (size_t i = 0; i < job->n_media; i++)
        if (job->media[i] && !unknown_fields_valid(&job->media[i]->base)) return false;
    return true;
}

ap_status ap_job_decode(const void *data, size_t len, ap_job **out, char *err, size_t errlen) {
    if (len == 0 || len > AP_MAX_JOB_BYTES) {
        snprintf(err, errlen, "job payload size %zu outside 1..%d bytes", len, AP_MAX_JOB_BYTES);
        return AP_EINVAL;
    }
    ap_job *job = autopost__v1__publish_job__unpack(NULL, len, data);
    if (job == NULL) {
        snprintf(err, errlen, "payload is not a protobuf autopost.v1.PublishJob");
        return AP_EINVAL;
    }
    const char *why = NULL;
    if (!job_unknown_fields_valid(job))
        why = "a field numbered 0";
    else if (!ap_uuid_valid(job->schedule_id))
        why = "schedule_id is not a UUID";
    else if (job->generation == 0)
        why = "generation is 0";
    else if (!ap_uuid_valid(job->account_id))
        why = "account_id is not a UUID";
    else if (!valid_platform_token(job->platform))
        why = "platform is not a valid name";
    else if (job->n_media > AP_MAX_MEDIA)
        why = "too many media items";
    if (why) {
        snprintf(err, errlen, "invalid PublishJob: %s", why);
        autopost__v1__publish_job__free_unpacked(job, NULL);
        return AP_EINVAL;
    }
    *out = job;
    return AP_OK;
}

ap_status ap_result_decode(const void *data, size_t len, ap_result **out, char *err,
                           size_t errlen) {
    if (len == 0 || len > AP_MAX_RESULT_BYTES) {
        snprintf(err, errlen, "result payload size %zu outside 1..%d bytes", len,
                 AP_MAX_RESULT_BYTES);
        return AP_EINVAL;
    }
    ap_result *res = autopost__v1__publish_result__unpack(NULL, len, data);
    if (res == NULL) {
        snprintf(err, errlen, "payload is not a protobuf autopost.v1.PublishResult");
        return AP_EINVAL;
    }
    const char *why = NULL;
    if (!unknown_fields_valid(&res->base))
        why = "a field numbered 0";
    else if (!ap_uuid_valid(res->schedule_id))
        why = "schedule_id is not a UUID";
    else if (res->generation == 0)
        why = "generation is 0";
    else if (res->outcome <= AUTOPOST__V1__OUTCOME__OUTCOME_UNSPECIFIED ||
             res->outcome > AP_OUTCOME_LAST)
        why = "unknown outcome";
    else if (strlen(res->external_post_id) > 256 || strlen(res->error_message) > 2048 ||
             strlen(res->error_code) > 64 || strlen(res->external_url) > 1024)
        why = "a field is too long";
    if (why) {
        snprintf(err, errlen, "invalid PublishResult: %s", why);
        autopost__v1__publish_result__free_unpacked(res, NULL);
        return AP_EINVAL;
    }
    *out = res;
    return AP_OK;
}

void ap_job_free(ap_job *job) {
    if (job) autopost__v1__publish_job__free_unpacked(job, NULL);
}

void ap_result_free(ap_result *res) {
    if (res) autopost__v1__publish_result__free_unpacked(res, NULL);
}

const char *ap_outcome_name(Autopost__V1__Outcome o) {
    switch (o) {
    case AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED: return "published";
    case AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING: return "retrying";
    case AUTOPOST__V1__OUTCOME__OUTCOME_FAILED: return "failed";
    case AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED: return "unconfirmed";
    case AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED: return "cancelled";
    case AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED: return "deferred";
    case AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED: return "expired";
    default: return "unspecified";
    }
}

const char *ap_error_class_name(Autopost__V1__ErrorClass c) {
    switch (c) {
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_NONE: return "none";
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_RETRY: return "retry";
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_QUOTA: return "quota";
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_REAUTH: return "reauth";
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_PERMANENT: return "permanent";
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_DUPLICATE: return "duplicate";
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_AMBIGUOUS: return "ambiguous";
    case AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_INVALID: return "invalid";
    default: return "unknown";
    }
}
