/* js_floor.c -- what JetStream alone costs per job, with nothing else running.
 *
 * The pipeline's JetStream work for one published job, done as cheaply as a
 * client can: the job stored once (deduplicated by Nats-Msg-Id), the attempt
 * record created (compare-and-set on an empty key) and written once more with
 * the outcome, the result stored, the job and the result each fetched and
 * acked. Publishes are asynchronous with thousands pending, fetches take
 * batches of 256. No PostgreSQL, no HTTP, no protobuf: the figure is a floor
 * for the broker's share of the per-job CPU (bench/README.md, "floor").
 *
 *   js_floor <nats-url> <nats-server pid> [jobs]
 *
 * Prints jobs/s and CPU milliseconds per job of nats-server and of this
 * client. Then, measured apart, the write the events outbox adds per
 * published job since issue 17 (the relay stores each event, ~700 bytes,
 * deduplicated by its id, in AUTOPOST_EVENTS): events_* figures. Uses its
 * own streams (FLOOR_*), deleted at the end. */
#include <inttypes.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_time.h"

#define FETCH_BATCH 256
#define FETCH_WAIT_MS 2000

static void die(const char *what, natsStatus s, jsErrCode jerr) {
    fprintf(stderr, "js_floor: %s: %s (%d)\n", what, natsStatus_GetText(s), (int)jerr);
    exit(1);
}

/* utime + stime of a process, in seconds. */
static double proc_cpu_s(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL) return -1;
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void add_stream(jsCtx *js, const char *name, const char *subject, int64_t dup_ns) {
    jsStreamConfig sc;
    jsErrCode jerr = 0;
    const char *subjects[] = {subject};
    jsStreamConfig_Init(&sc);
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Duplicates = dup_ns;
    natsStatus s = js_AddStream(NULL, js, &sc, NULL, &jerr);
    if (s != NATS_OK) die(name, s, jerr);
}

static void publish(jsCtx *js, const char *subject, const char *msg_id, const char *expect_seq,
                    const char *data, int len) {
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, len);
    if (s == NATS_OK && msg_id) s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
    if (s == NATS_OK && expect_seq)
        s = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", expect_seq);
    if (s == NATS_OK) s = js_PublishMsgAsync(js, &m, NULL);
    if (s != NATS_OK) die("publish", s, 0);
}

static natsSubscription *pull(jsCtx *js, const char *stream, const char *subject,
                              const char *durable) {
    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxAckPending = 20000;
    natsStatus s = js_PullSubscribe(&sub, js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK) die("pull subscribe", s, jerr);
    return sub;
}

/* Fetches and acks n messages in batches; returns how many came. */
static int drain(natsSubscription *sub, int n) {
    int got = 0;
    while (got < n) {
        natsMsgList list = {0};
        int want = n - got < FETCH_BATCH ? n - got : FETCH_BATCH;
        natsStatus s = natsSubscription_Fetch(&list, sub, want, FETCH_WAIT_MS, NULL);
        if (s == NATS_TIMEOUT) break;
        if (s != NATS_OK) die("fetch", s, 0);
        for (int i = 0; i < list.Count; i++)
            if (natsMsg_Ack(list.Msgs[i], NULL) != NATS_OK) die("ack", NATS_ERR, 0);
        got += list.Count;
        natsMsgList_Destroy(&list);
    }
    return got;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: js_floor <nats-url> <nats-server pid> [jobs]\n");
        return 2;
    }
    long server_pid = strtol(argv[2], NULL, 10);
    int jobs = argc > 3 ? atoi(argv[3]) : 50000;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions jo;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s != NATS_OK) die("connect", s, 0);
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 4096;
    if ((s = natsConnection_JetStream(&js, nc, &jo)) != NATS_OK) die("jetstream", s, 0);

    /* Shapes of the real streams: jobs and results deduplicated, the record
     * a KV-style stream (one subject per key, last value kept). */
    add_stream(js, "FLOOR_JOBS", "floor.jobs.*", (int64_t)120 * 1000000000);
    add_stream(js, "FLOOR_RESULTS", "floor.results.*", (int64_t)120 * 1000000000);
    add_stream(js, "FLOOR_KV", "floor.kv.>", 0);
    natsSubscription *jobs_sub = pull(js, "FLOOR_JOBS", "floor.jobs.*", "floor-publisher");
    natsSubscription *results_sub =
        pull(js, "FLOOR_RESULTS", "floor.results.*", "floor-dispatcher");

    /* A job is ~200 bytes of protobuf, a result ~150, a record ~100. */
    char job[200], result[150], record[100], id[64], subject[96];
    memset(job, 'j', sizeof(job));
    memset(result, 'r', sizeof(result));
    memset(record, 'k', sizeof(record));

    double cpu0 = proc_cpu_s(server_pid), self0 = bench_self_cpu_s(), t0 = bench_mono_s();
    const int chunk = 1000; /* jobs per round: publish, fetch+ack, record, result, fetch+ack */
    int done = 0;
    while (done < jobs) {
        int n = jobs - done < chunk ? jobs - done : chunk;
        for (int i = 0; i < n; i++) {
            snprintf(id, sizeof(id), "%08d-0000-4000-8000-000000000000-1", done + i);
            publish(js, "floor.jobs.facebook", id, NULL, job, sizeof(job));
        }
        if ((s = js_PublishAsyncComplete(js, NULL)) != NATS_OK) die("job pubacks", s, 0);
        if (drain(jobs_sub, n) != n) die("jobs fetched", NATS_TIMEOUT, 0);
        for (int i = 0; i < n; i++) { /* the claim: create-if-absent */
            snprintf(subject, sizeof(subject), "floor.kv.%08d-1", done + i);
            publish(js, subject, NULL, "0", record, sizeof(record));
        }
        if ((s = js_PublishAsyncComplete(js, NULL)) != NATS_OK) die("claim pubacks", s, 0);
        for (int i = 0; i < n; i++) { /* the outcome, and the result */
            snprintf(subject, sizeof(subject), "floor.kv.%08d-1", done + i);
            publish(js, subject, NULL, NULL, record, sizeof(record));
            snprintf(id, sizeof(id), "%08d-0000-4000-8000-000000000000-1-r", done + i);
            publish(js, "floor.results.facebook", id, NULL, result, sizeof(result));
        }
        if ((s = js_PublishAsyncComplete(js, NULL)) != NATS_OK) die("result pubacks", s, 0);
        if (drain(results_sub, n) != n) die("results fetched", NATS_TIMEOUT, 0);
        done += n;
    }
    double secs = bench_mono_s() - t0;
    double server_ms = (proc_cpu_s(server_pid) - cpu0) * 1000.0 / jobs;
    double client_ms = (bench_self_cpu_s() - self0) * 1000.0 / jobs;
    printf("jobs %d\njobs_per_s %.0f\nnats_server_ms_per_job %.4f\nclient_ms_per_job %.4f\n", jobs,
           jobs / secs, server_ms, client_ms);

    /* The events outbox: one event per published job, relayed in batches. */
    add_stream(js, "FLOOR_EVENTS", "floor.events.*", (int64_t)120 * 1000000000);
    char event[700];
    memset(event, 'e', sizeof(event));
    cpu0 = proc_cpu_s(server_pid), self0 = bench_self_cpu_s();
    for (done = 0; done < jobs;) {
        int n = jobs - done < chunk ? jobs - done : chunk;
        for (int i = 0; i < n; i++) {
            snprintf(id, sizeof(id), "%08d-0000-4000-8000-00000000000e", done + i);
            publish(js, "floor.events.published", id, NULL, event, sizeof(event));
        }
        if ((s = js_PublishAsyncComplete(js, NULL)) != NATS_OK) die("event pubacks", s, 0);
        done += n;
    }
    printf("events_nats_server_ms_per_job %.4f\nevents_client_ms_per_job %.4f\n",
           (proc_cpu_s(server_pid) - cpu0) * 1000.0 / jobs,
           (bench_self_cpu_s() - self0) * 1000.0 / jobs);

    natsSubscription_Destroy(jobs_sub);
    natsSubscription_Destroy(results_sub);
    js_DeleteStream(js, "FLOOR_JOBS", NULL, NULL);
    js_DeleteStream(js, "FLOOR_RESULTS", NULL, NULL);
    js_DeleteStream(js, "FLOOR_KV", NULL, NULL);
    js_DeleteStream(js, "FLOOR_EVENTS", NULL, NULL);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return 0;
}
