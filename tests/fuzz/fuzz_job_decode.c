/* fuzz_job_decode.c -- libFuzzer target: bytes off the jobs and results
 * subjects. A decoded job must satisfy every bound the decoder promises, and
 * must survive re-encoding and the adapter's validate(). */
#include <nats/nats.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "ap_proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return nats_Open(-1) == NATS_OK ? 0 : 1; /* natsMsg_Destroy needs it */
}

static void check_job(const ap_job *job) {
    if (!ap_uuid_valid(job->schedule_id) || !ap_uuid_valid(job->account_id) ||
        job->generation == 0 || job->n_media > AP_MAX_MEDIA)
        abort();
    natsMsg *m = NULL;
    if (ap_job_to_msg(job, &m) != AP_OK) abort();
    ap_job *again = NULL;
    char err[256];
    if (ap_job_decode(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &again, err,
                      sizeof(err)) != AP_OK)
        abort(); /* what we encode we must decode */
    ap_job_free(again);
    natsMsg_Destroy(m);
    const ap_adapter *ad = ap_adapter_find(job->platform);
    if (ad) {
        char reason[256];
        ad->validate(job, reason, sizeof(reason));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    ap_job *job = NULL;
    if (ap_job_decode(data, size, &job, err, sizeof(err)) == AP_OK) {
        check_job(job);
        ap_job_free(job);
    } else if (job != NULL) {
        abort();
    }
    ap_result *res = NULL;
    if (ap_result_decode(data, size, &res, err, sizeof(err)) == AP_OK) {
        if (!ap_uuid_valid(res->schedule_id) || strlen(res->external_post_id) > 256) abort();
        natsMsg *m = NULL;
        if (ap_result_to_msg(res, &m) != AP_OK) abort();
        ap_result *again = NULL;
        if (ap_result_decode(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &again, err,
                             sizeof(err)) != AP_OK)
            abort(); /* what we encode we must decode */
        ap_result_free(again);
        natsMsg_Destroy(m);
        ap_result_free(res);
    }
    return 0;
}
