/* store_sql.h -- a store statement as one line, for unit tests that check
 * what its text says: "--" comments dropped, every run of whitespace one
 * space, no leading or trailing space. The .sql files are laid out for
 * people; the checks should not depend on where a line breaks. The text is
 * kept per op for the life of the test. */
#ifndef AP_TEST_STORE_SQL_H
#define AP_TEST_STORE_SQL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ap_store.h"

static inline const char *store_sql_flat(ap_store_op op) {
    static char *flat[AP_STORE_NOPS];
    const char *sql = ap_store_sql(op);
    if (sql == NULL) return NULL;
    if (flat[op] != NULL) return flat[op];
    char *out = malloc(strlen(sql) + 1), *o = out;
    if (out == NULL) return NULL;
    bool space = false;
    for (const char *p = sql; *p;) {
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n') p++;
            space = true;
            continue;
        }
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            space = true;
            p++;
            continue;
        }
        if (space && o != out) *o++ = ' ';
        space = false;
        *o++ = *p++;
    }
    *o = '\0';
    flat[op] = out;
    return out;
}

#endif
