/* deferral.h -- when a platform's answer is a limit to wait for.
 *
 * Waiting for a limit is not a failure and burns no attempt (README "Rate
 * limits"). A publish flow that ends with
 *   - QUOTA (a publishing allowance spent), or
 *   - RETRY that is a rate-limit answer with a wait hint (the adapter set
 *     a pause scope, or the platform answered 429 with Retry-After or the
 *     like),
 * is deferred: the job ends OUTCOME_DEFERRED, the schedule goes back to
 * pending under the next generation until the wait is over, and the account
 * (or the whole app) is paused for every replica until then.
 *
 * There is no threshold below which a hinted rate limit is retried with a
 * nak instead: a nak counts a delivery, so even a short wait would use up an
 * attempt, while the other replicas' jobs of the paused account defer
 * without one. The price of a deferral is one round trip through the
 * dispatcher and the next scheduler tick, small next to the hints platforms
 * give (seconds to hours). A 429 without any hint stays an ordinary retry:
 * nothing says how long to wait, and max_attempts bounds it.
 *
 * A deferral is only ever decided for AP_FLOW_PUBLISH results the adapter
 * classed as definite refusals (QUOTA, RETRY): nothing went live, so a new
 * generation cannot post twice. */
#ifndef AP_DEFERRAL_H
#define AP_DEFERRAL_H

#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"

/* Longest deferral: a hint past it is a broken header, not a plan. */
#define AP_DEFER_MAX_MS (7LL * 24 * 3600 * 1000)

typedef struct ap_deferral {
    int64_t wait_ms;      /* from now */
    ap_pause_scope scope; /* who to pause for every replica */
} ap_deferral;

/* True when r (a finished AP_FLOW_PUBLISH flow) is a limit to wait for;
 * then fills d. quota_wait_ms is the platform's wait for a quota refusal
 * without a hint (platforms.<p>.quota_wait). */
bool ap_deferral_decide(const ap_flow_result *r, int64_t quota_wait_ms, ap_deferral *d);

#endif
