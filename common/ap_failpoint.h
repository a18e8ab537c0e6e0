/* ap_failpoint.h -- named crash points for fault tests.
 *
 * ap_failpoint("scheduler_before_commit") kills the process with SIGKILL when
 * the environment variable AUTOPOST_FAILPOINT names that point (optionally
 * "name:N" to fire on the N-th pass). Tests use it to crash a service at the
 * exact moment a design argument depends on. */
#ifndef AP_FAILPOINT_H
#define AP_FAILPOINT_H

/* Compiled in only with the CMake option AUTOPOST_FAILPOINTS (test and debug
 * builds); in a release build the call is nothing and the variable unread. */
#ifdef AUTOPOST_FAILPOINTS
void ap_failpoint(const char *name);
#else
static inline void ap_failpoint(const char *name) { (void)name; }
#endif

#endif
