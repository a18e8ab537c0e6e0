/* ap_store.h -- the one home of schedule SQL (issue 15 §2).
 *
 * The store owns the statements that read or change post_schedules state;
 * the services call ap_store_* and hold no schedule SQL of their own. The
 * statements themselves are in store/sql/ (ap_store_sql.h). Moved so far:
 * the scheduler's claim. */
#ifndef AP_STORE_H
#define AP_STORE_H

#include <stdbool.h>

/* The claim statement and its parameter count: fair (admission per tenant
 * and per account, platform limits; 9 parameters) or oldest first (1). */
typedef struct ap_store_claim {
    const char *sql;
    int nparams;
} ap_store_claim;

ap_store_claim ap_store_claim_statement(bool fair);

#endif
