/* heap.h -- the sandbox's delay queue: a binary min-heap of requests
 * ordered by due time, then by arrival (seq), so equal due times keep
 * their order.
 *
 * It only orders: the caller sets req->due_ms and req->seq before the
 * push and holds its own lock around every call. A zeroed sandbox_heap is
 * an empty queue.
 */

#ifndef SANDBOX_HEAP_H
#define SANDBOX_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

typedef struct sandbox_heap {
    sandbox_request **items;
    size_t len, cap;
} sandbox_heap;

/* Makes room for one more push; 0, or -1 when out of memory. */
int sandbox_heap_reserve(sandbox_heap *h);
/* Adds req; the caller reserved room first, so this cannot fail. */
void sandbox_heap_push(sandbox_heap *h, sandbox_request *req);
/* The earliest request, or NULL when empty. */
sandbox_request *sandbox_heap_top(const sandbox_heap *h);
/* Removes and returns the earliest request; the heap must not be empty. */
sandbox_request *sandbox_heap_pop(sandbox_heap *h);
/* Milliseconds from now_ms (monotonic) until the earliest request is due,
 * clamped to [0, INT_MAX] for epoll_wait; -1 when the heap is empty. */
int sandbox_heap_timeout_ms(const sandbox_heap *h, int64_t now_ms);
/* Frees the array (not the requests) and leaves an empty heap. */
void sandbox_heap_free(sandbox_heap *h);

#endif
