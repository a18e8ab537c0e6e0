/* ap_store.c -- see ap_store.h: which embedded statement a caller runs. */
#include "ap_store.h"

#include "ap_store_sql.h"

enum { CLAIM_FAIR_NPARAMS = 9, CLAIM_FIFO_NPARAMS = 1 };

ap_store_claim ap_store_claim_statement(bool fair) {
    ap_store_claim c = {fair ? AP_STORE_SQL_CLAIM_FAIR : AP_STORE_SQL_CLAIM_FIFO,
                        fair ? CLAIM_FAIR_NPARAMS : CLAIM_FIFO_NPARAMS};
    return c;
}
