/* dict.h -- the sandbox's chained hash table with string keys.
 *
 * Keys are copied into the entry; values are borrowed pointers the caller
 * owns (sandbox_dict_clear can free them). The table doubles when it is as
 * full as it has buckets. A zeroed sandbox_dict is an empty table. No
 * locking: the caller's lock guards it.
 */

#ifndef SANDBOX_DICT_H
#define SANDBOX_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sandbox_dict_entry {
    struct sandbox_dict_entry *next;
    uint64_t hash;
    void *val;
    char key[];
} sandbox_dict_entry;

typedef struct sandbox_dict {
    sandbox_dict_entry **buckets;
    size_t nbuckets;
    size_t count;
} sandbox_dict;

/* The value stored under key, or NULL. */
void *sandbox_dict_get(const sandbox_dict *d, const char *key);
/* Stores or replaces key's value; 0, or -1 when out of memory. */
int sandbox_dict_set(sandbox_dict *d, const char *key, void *val);
/* Removes key if present (its value is not freed). */
void sandbox_dict_del(sandbox_dict *d, const char *key);
/* Empties the table and frees its memory; free_val (may be NULL) gets
 * every value. */
void sandbox_dict_clear(sandbox_dict *d, void (*free_val)(void *));

#endif
