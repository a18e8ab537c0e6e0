/* bench_time.h -- the clocks the bench's own programs read: this process's
 * CPU (user + system) and monotonic wall time, both in seconds. */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

#include <sys/resource.h>
#include <time.h>

static inline double bench_self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static inline double bench_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
