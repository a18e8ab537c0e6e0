/* dict.c -- the chained hash table of dict.h (FNV-1a, power-of-two
 * buckets, doubling when as full as it has buckets). The post store indexes
 * pages, messages and ids with it.
 */

#include <stdlib.h>
#include <string.h>

#include "core.h"

static uint64_t sandbox_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
    return h;
}

static sandbox_dict_entry **sandbox_dict_slot(const sandbox_dict *d, const char *key, uint64_t h) {
    sandbox_dict_entry **e = &d->buckets[h & (d->nbuckets - 1)];
    while (*e && ((*e)->hash != h || strcmp((*e)->key, key) != 0)) e = &(*e)->next;
    return e;
}

void *sandbox_dict_get(const sandbox_dict *d, const char *key) {
    if (d->nbuckets == 0) return NULL;
    sandbox_dict_entry **e = sandbox_dict_slot(d, key, sandbox_hash(key));
    return *e ? (*e)->val : NULL;
}

static int sandbox_dict_grow(sandbox_dict *d) {
    size_t n = d->nbuckets ? d->nbuckets * 2 : 64;
    sandbox_dict_entry **b = calloc(n, sizeof(*b));
    if (b == NULL) return -1;
    for (size_t i = 0; i < d->nbuckets; i++) {
        sandbox_dict_entry *e = d->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = n;
    return 0;
}

/* Insert or replace; 0 on success, -1 when out of memory (d unchanged). */
int sandbox_dict_set(sandbox_dict *d, const char *key, void *val) {
    if (d->count >= d->nbuckets && sandbox_dict_grow(d) != 0) return -1;
    uint64_t h = sandbox_hash(key);
    sandbox_dict_entry **slot = sandbox_dict_slot(d, key, h);
    if (*slot) {
        (*slot)->val = val;
        return 0;
    }
    size_t klen = strlen(key) + 1;
    sandbox_dict_entry *e = malloc(sizeof(*e) + klen);
    if (e == NULL) return -1;
    memcpy(e->key, key, klen);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *slot = e;
    d->count++;
    return 0;
}

void sandbox_dict_del(sandbox_dict *d, const char *key) {
    if (d->nbuckets == 0) return;
    sandbox_dict_entry **slot = sandbox_dict_slot(d, key, sandbox_hash(key));
    sandbox_dict_entry *e = *slot;
    if (e == NULL) return;
    *slot = e->next;
    free(e);
    d->count--;
}

void sandbox_dict_clear(sandbox_dict *d, void (*free_val)(void *)) {
    for (size_t i = 0; i < d->nbuckets; i++) {
        sandbox_dict_entry *e = d->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            if (free_val) free_val(e->val);
            free(e);
        }
    }
    free(d->buckets);
    memset(d, 0, sizeof(*d));
}
