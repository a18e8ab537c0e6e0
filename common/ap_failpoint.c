/* ap_failpoint.c -- see ap_failpoint.h. */
#include "ap_failpoint.h"

#ifdef AUTOPOST_FAILPOINTS

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"

static pthread_once_t failpoint_once = PTHREAD_ONCE_INIT;
static char failpoint_name[64];
static long failpoint_countdown;

static void failpoint_load(void) {
    const char *v = getenv("AUTOPOST_FAILPOINT");
    if (v == NULL || *v == '\0') return;
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    if (n >= sizeof(failpoint_name)) return;
    memcpy(failpoint_name, v, n);
    failpoint_name[n] = '\0';
    failpoint_countdown = colon ? strtol(colon + 1, NULL, 10) : 1;
    if (failpoint_countdown < 1) failpoint_countdown = 1;
}

void ap_failpoint(const char *name) {
    pthread_once(&failpoint_once, failpoint_load);
    if (failpoint_name[0] == '\0' || strcmp(name, failpoint_name) != 0) return;
    if (__atomic_sub_fetch(&failpoint_countdown, 1, __ATOMIC_SEQ_CST) != 0) return;
    ap_log_warn("failpoint", NULL, "failpoint %s reached: killing this process", name);
    raise(SIGKILL);
}

#endif /* AUTOPOST_FAILPOINTS */
