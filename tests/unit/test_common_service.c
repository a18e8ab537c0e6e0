/* test_common_service.c -- ap_service_protect_secrets (common/ap_service.c):
 * a process holding the key dumps no core and is not dumpable. */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "ap_service.h"
#include "test.h"

static void core_dumps_off(void) {
    char err[256] = "";
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1); /* the default, before */
    CHECK(ap_service_protect_secrets(err, sizeof(err)) == 0);
    CHECK_STR_EQ(err, "");
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_CORE, &rl) == 0);
    /* The hard limit too: the process cannot raise it back. */
    CHECK(rl.rlim_cur == 0 && rl.rlim_max == 0);
}

int main(void) {
    RUN(core_dumps_off);
    return TEST_RESULT();
}
