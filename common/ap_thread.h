/* ap_thread.h -- a post's thread (README "Threads and first comments") in
 * its two shapes, in one place:
 *   stored   posts.thread, JSON: [{"text": "...", "media": [{"url", "type",
 *            "alt_text"?}]?}, ...] (the API's and import's "thread" field
 *            as given, normalised);
 *   carried  PublishJob.thread (ThreadPart: text, media).
 * The doors parse what users send (ctl_post_set_thread), the scheduler parses
 * the stored text into the job, validation builds a job from it and lets the
 * adapter judge every part. No I/O. */
#ifndef AP_THREAD_H
#define AP_THREAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ap_proto.h"

/* More than any platform takes (X and Threads: 24 parts after the post):
 * the adapter says the platform's own number; this only bounds memory. */
#define AP_THREAD_MAX_PARTS 100

/* Owns every string and array in it. */
typedef struct ap_thread {
    size_t n;
    Autopost__V1__ThreadPart *parts;
    Autopost__V1__ThreadPart **ptrs;
} ap_thread;

/* Parses v strictly into t (zeroed first): an array of objects with "text"
 * (string, required) and "media" (array of at most AP_MAX_MEDIA {"url",
 * "type": image|video|gif, "alt_text"}); unknown keys, wrong types and too
 * many parts are refused. reason names the field ("thread[2].media[0].type:
 * ..."). Empty array: no thread. */
bool ap_thread_from_value(json_t *v, ap_thread *t, char *reason, size_t len);
/* The same from stored text; NULL or "" is no thread. */
bool ap_thread_from_json(const char *json, ap_thread *t, char *reason, size_t len);
/* The stored text (malloc'ed; caller frees); NULL when t has no parts or
 * out of memory (*oom says which). */
char *ap_thread_to_json(const ap_thread *t, bool *oom);
/* Points job->thread at t's parts (t must outlive that use of job). */
void ap_thread_attach(const ap_thread *t, ap_job *job);
void ap_thread_free(ap_thread *t);

#endif
