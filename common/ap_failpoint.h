/* ap_failpoint.h -- named crash points for fault tests.
 *
 * ap_failpoint("scheduler_before_commit") kills the process with SIGKILL when
 * the environment variable AUTOPOST_FAILPOINT names that point (optionally
 * "name:N" to fire on the N-th pass). Tests use it to crash a service at the
 * exact moment a design argument depends on; in production the variable is
 * unset and the check is one getenv at start-up. */
#ifndef AP_FAILPOINT_H
#define AP_FAILPOINT_H

void ap_failpoint(const char *name);

#endif
