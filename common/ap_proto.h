/* ap_proto.h -- how PublishJob and PublishResult travel on the bus.
 *
 * The payload is protobuf; the headers repeat what an operator needs so
 * `nats stream view AUTOPOST_JOBS` explains a message without decoding it.
 * Nats-Msg-Id is the JetStream dedup key: "<schedule id>-<generation>" for
 * jobs, so a scheduler that republishes after a crash is dropped by the
 * server, while a manual retry (new generation) is not. */
#ifndef AP_PROTO_H
#define AP_PROTO_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_status.h"
#include "ap_trace.h"
#include "ap_uuid.h" /* ids in jobs and results are canonical UUID text */
#include "autopost/v1/job.pb-c.h"
#include "autopost/v1/result.pb-c.h"

#define AP_HDR_MSG_ID "Nats-Msg-Id"
#define AP_HDR_SCHEDULE_ID "Autopost-Schedule-Id"
#define AP_HDR_GENERATION "Autopost-Generation"
#define AP_HDR_PLATFORM "Autopost-Platform"
#define AP_HDR_ACCOUNT_ID "Autopost-Account-Id"
#define AP_HDR_SCHEDULED_AT "Autopost-Scheduled-At"
#define AP_HDR_OUTCOME "Autopost-Outcome"
#define AP_HDR_ATTEMPT "Autopost-Attempt"
#define AP_HDR_ERROR_CLASS "Autopost-Error-Class"
#define AP_HDR_PRIORITY "Autopost-Priority" /* normal | urgent (README "Urgent lane") */
#define AP_HDR_CONTENT_TYPE "Content-Type"
/* W3C Trace Context (ap_trace.h): the schedule's trace, the sender's span. */
#define AP_HDR_TRACEPARENT AP_TRACE_HEADER
#define AP_CT_JOB "application/protobuf; proto=autopost.v1.PublishJob"
#define AP_CT_RESULT "application/protobuf; proto=autopost.v1.PublishResult"

/* Bounds every decoder enforces before trusting a message. */
#define AP_MAX_JOB_BYTES (256 * 1024)
#define AP_MAX_RESULT_BYTES (16 * 1024)
#define AP_MAX_MEDIA 10
/* The highest Outcome value this build knows: arrays by outcome are this + 1. */
#define AP_OUTCOME_LAST AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED

typedef Autopost__V1__PublishJob ap_job;
typedef Autopost__V1__PublishResult ap_result;

void ap_job_msg_id(char *buf, size_t len, const char *schedule_id, uint32_t generation);

/* The job's subject: "autopost.jobs.<platform>", or with ".urgent" on the
 * urgent lane (its own durable consumer, README "Urgent lane"). */
void ap_job_subject(char *buf, size_t len, const char *platform, bool urgent);

/* Builds the NATS message for a job/result, headers included. */
ap_status ap_job_to_msg(const ap_job *job, natsMsg **out);
ap_status ap_result_to_msg(const ap_result *res, natsMsg **out);

/* Decodes and validates; on AP_EINVAL, err says why (for the poison report).
 * Free with ap_job_free / ap_result_free. */
ap_status ap_job_decode(const void *data, size_t len, ap_job **out, char *err, size_t errlen);
ap_status ap_result_decode(const void *data, size_t len, ap_result **out, char *err, size_t errlen);
void ap_job_free(ap_job *job);
void ap_result_free(ap_result *res);

/* The trace header of a job or result message. Setting formats t (a
 * version-00 value); reading is true only for a valid header, which a
 * receiver continues with ap_trace_child (or ap_trace_continue on the raw
 * value). */
ap_status ap_msg_set_trace(natsMsg *m, const ap_trace *t);
bool ap_msg_trace(natsMsg *m, ap_trace *out);

const char *ap_outcome_name(Autopost__V1__Outcome o);
const char *ap_error_class_name(Autopost__V1__ErrorClass c);

#endif
