/* ap_pg_array.h -- PostgreSQL array literals for statement parameters.
 *
 * Text-format array literals ("{"a","b",NULL}") for PQexecParams, so a batch
 * of rows travels as a few array parameters that unnest() turns back into a
 * table (store/sql/fold_*.sql and friends). Every text element is
 * double-quoted with '"' and '\' escaped, so commas, braces, quotes,
 * backslashes, whitespace and the word NULL all survive; a NULL pointer
 * becomes an SQL NULL. Invalid UTF-8 becomes U+FFFD: PostgreSQL would reject
 * the whole statement, and a batch that can never commit would stall every
 * result behind it. The bytes grow in an ap_buf, whose allocation failure is
 * sticky: check once, at ap_pg_array_finish.
 *
 * Start with ap_pg_array_init; the array owns its buffer until finish hands
 * it over; ap_pg_array_free releases an unfinished one. */
#ifndef AP_PG_ARRAY_H
#define AP_PG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "ap_buf.h"

typedef struct ap_pg_array {
    ap_buf buf;
    size_t count; /* elements so far */
} ap_pg_array;

void ap_pg_array_init(ap_pg_array *a);
void ap_pg_array_text(ap_pg_array *a, const char *s);
void ap_pg_array_int(ap_pg_array *a, int64_t v);
void ap_pg_array_null(ap_pg_array *a);
/* Makes finish fail: for a caller whose own allocation for an element
 * failed, so the literal is never sent without it. */
void ap_pg_array_fail(ap_pg_array *a);
/* Closes the literal and hands its buffer to the caller (free()); NULL if
 * memory ran out. The array is empty and reusable afterwards. */
char *ap_pg_array_finish(ap_pg_array *a);
void ap_pg_array_free(ap_pg_array *a);

#endif
