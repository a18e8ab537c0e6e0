/* heap.c -- the delay queue (heap.h): a binary min-heap on (due_ms, seq).
 *
 * Latency is imitated without a thread per request: a delayed request's
 * connection is suspended and its request waits here until the timer
 * thread (server.c) pops it. Every operation is O(log n); the array grows
 * by doubling through sandbox_heap_reserve, so a push never fails.
 */

#include <limits.h>
#include <stdlib.h>

#include "core.h"

static int sandbox_heap_less(const sandbox_request *a, const sandbox_request *b) {
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void sandbox_heap_swap(sandbox_heap *h, size_t i, size_t j) {
    sandbox_request *t = h->items[i];
    h->items[i] = h->items[j];
    h->items[j] = t;
}

int sandbox_heap_reserve(sandbox_heap *h) {
    return sandbox_reserve((void **)&h->items, &h->cap, h->len + 1, sizeof(*h->items));
}

void sandbox_heap_push(sandbox_heap *h, sandbox_request *req) {
    size_t i = h->len++;
    h->items[i] = req;
    while (i > 0 && sandbox_heap_less(h->items[i], h->items[(i - 1) / 2])) {
        sandbox_heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

sandbox_request *sandbox_heap_top(const sandbox_heap *h) { return h->len ? h->items[0] : NULL; }

sandbox_request *sandbox_heap_pop(sandbox_heap *h) {
    sandbox_request *top = h->items[0];
    size_t i = 0;
    h->items[0] = h->items[--h->len];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && sandbox_heap_less(h->items[l], h->items[m])) m = l;
        if (r < h->len && sandbox_heap_less(h->items[r], h->items[m])) m = r;
        if (m == i) break;
        sandbox_heap_swap(h, i, m);
        i = m;
    }
    return top;
}

int sandbox_heap_timeout_ms(const sandbox_heap *h, int64_t now_ms) {
    if (h->len == 0) return -1;
    int64_t wait = h->items[0]->due_ms - now_ms;
    if (wait <= 0) return 0;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

void sandbox_heap_free(sandbox_heap *h) {
    free(h->items);
    h->items = NULL;
    h->len = h->cap = 0;
}
