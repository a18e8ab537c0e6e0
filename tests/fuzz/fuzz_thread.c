/* fuzz_thread.c -- libFuzzer target: a post's thread as stored in
 * posts.thread (common/ap_thread.h), also what the API and import take as
 * "thread". Parsing must not crash or leak; what parses must survive
 * to_json + parse unchanged (the scheduler reads what the doors wrote). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1), reason[256];
    if (text == NULL) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    ap_thread t, again;
    if (!ap_thread_from_json(text, &t, reason, sizeof(reason))) {
        if (t.n != 0 || t.parts != NULL || reason[0] == '\0') abort();
        free(text);
        return 0;
    }
    bool oom = false;
    char *stored = ap_thread_to_json(&t, &oom);
    if (oom || (stored == NULL) != (t.n == 0)) abort();
    if (!ap_thread_from_json(stored, &again, reason, sizeof(reason)) || again.n != t.n) abort();
    for (size_t k = 0; k < t.n; k++) {
        if (strcmp(t.parts[k].text, again.parts[k].text) != 0) abort();
        if (t.parts[k].n_media != again.parts[k].n_media) abort();
        for (size_t i = 0; i < t.parts[k].n_media; i++)
            if (strcmp(t.parts[k].media[i]->url, again.parts[k].media[i]->url) != 0 ||
                t.parts[k].media[i]->type != again.parts[k].media[i]->type)
                abort();
    }
    free(stored);
    ap_thread_free(&again);
    ap_thread_free(&t);
    free(text);
    return 0;
}
