/* ctl_post.h -- a post to schedule, as `schedule` and `import` see it, and
 * the rules it must pass before it reaches the database.
 *
 * The checks run in two layers, so that a bad post is refused here with a
 * clear reason instead of failing later on the bus:
 *   1. ctl_post_check: rules that need nothing but the post (content present,
 *      http(s) URLs, media count and type, valid UTF-8);
 *   2. ctl_post_validate_platform: the publisher's own adapter validate() on a
 *      PublishJob built in memory, so "too long for X" is decided by the same
 *      code that would publish it.
 * Nothing here does I/O; tests/unit/test_ctl_post.c exercises it directly. */
#ifndef CTL_POST_H
#define CTL_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ap_buf.h"
#include "ap_format.h"
#include "ap_proto.h"
#include "ap_status.h"
#include "ap_thread.h"
#include "ap_url.h"
#include "ap_utf8.h"
#include "ap_uuid.h"

/* Stands in for ids that do not exist yet when a post is validated. */
#define CTL_PLACEHOLDER_UUID "00000000-0000-0000-0000-000000000000"

typedef struct ctl_media {
    char *url;
    Autopost__V1__MediaType type; /* IMAGE or VIDEO */
    char *alt_text;               /* NULL when none */
} ctl_media;

/* One entry of "variants" (README "Variants"): what the schedules on one
 * account, or on every account of one platform, publish instead of the
 * post's own text and/or media. Owned by its ctl_post. */
typedef struct ctl_variant {
    char *key;      /* a platform name, or an account id (lowercase UUID) */
    char *text;     /* NULL: the post's text */
    bool has_media; /* false: the post's media ([] is "no media") */
    ctl_media *media;
    size_t nmedia;
} ctl_variant;

/* Owns every string in it; ctl_post_free releases them. */
typedef struct ctl_post {
    char account_id[37];
    bool at_now;   /* "now": the database clock decides, not ours */
    int64_t at_ms; /* when !at_now */
    /* The post's own deadline (README "Deadlines"): past it, the schedule
     * ends expired instead of publishing late. 0 = none. */
    int64_t deadline_ms;
    char *text; /* never NULL once set ("" for none) */
    char *link; /* NULL for none */
    ctl_media *media;
    size_t nmedia;
    /* A recurring post (README "Recurring posts") instead of one time: the
     * rule, its IANA zone and local start, all three set or all NULL. */
    char *recur_rrule, *recur_tz, *recur_start;
    bool urgent; /* "priority": "urgent" (README "Urgent lane"); false: normal */
    /* "format" (README "Formats"): feed, story or reel. Stored on the first
     * media item (ap_format.h), so a format other than feed needs media. */
    ap_format format;
    ctl_variant *variants; /* ctl_post_variants.c */
    size_t nvariants;
    /* "thread" and "first_comment" (README "Threads and first comments"):
     * posts.thread (ap_thread.h) and posts.first_comment; none: empty/NULL.
     * Which platform takes them, and each part's length, is the adapter's
     * to say (ctl_post_validate_platform). */
    ap_thread thread;
    char *first_comment;
} ctl_post;

void ctl_post_init(ctl_post *p);
void ctl_post_free(ctl_post *p);

/* "now" or an RFC 3339 time. */
bool ctl_post_set_at(ctl_post *p, const char *at, char *reason, size_t len);
/* "normal" or "urgent"; the reason names the field "priority". */
bool ctl_post_set_priority(ctl_post *p, const char *priority, char *reason, size_t len);
/* The column value of post_schedules.priority. */
static inline const char *ctl_post_priority(const ctl_post *p) {
    return p->urgent ? "urgent" : "normal";
}
/* "feed", "story" or "reel"; reasons start with "format" (so do the
 * adapters' reasons about a format, ctl_reason_is_format). */
bool ctl_post_set_format(ctl_post *p, const char *format, char *reason, size_t len);
/* Is a reason (ctl_post's, or ctl_post_validate_platform's "not valid for
 * <platform>: ...") about the post's format? The API names the field. */
bool ctl_reason_is_format(const char *reason);
/* Is a reason about a thread's part or the first comment? field gets its
 * path ("thread[3].text", "first_comment") for the API's details. */
bool ctl_reason_chain_field(const char *reason, char *field, size_t len);
/* An RFC 3339 time; reasons start with "deadline: ". ctl_post_check
 * refuses one earlier than at (or than now, for "now"). */
bool ctl_post_set_deadline(ctl_post *p, const char *deadline, char *reason, size_t len);
/* "thread": an array of {"text", "media"?} (ap_thread_from_value; reasons
 * start with "thread"). */
bool ctl_post_set_thread(ctl_post *p, json_t *v, char *reason, size_t len);
/* "first_comment": a string ("" or null: none); reasons start with
 * "first_comment". */
bool ctl_post_set_first_comment(ctl_post *p, json_t *v, char *reason, size_t len);
/* type may be NULL (image). Fails on an unknown type or out of memory. */
bool ctl_post_add_media(ctl_post *p, const char *url, const char *type, const char *alt,
                        char *reason, size_t len);

/* Layer 1 (see above). */
bool ctl_post_check(const ctl_post *p, char *reason, size_t len);

/* The policy for a time in the past (issue 23 §4), in one place for
 * `schedule`, `import` and the API to come (which answers 422 with it): a
 * post is due at once, so an `at` long gone is far more likely a date or
 * time-zone bug than a wish, and a file of them would all go out together.
 * An `at` more than max_past_ms (scheduler.max_past) before now_ms is
 * refused, with a reason naming the field, unless allow_past (the caller's
 * explicit override); "now" always passes, and so does any time within
 * max_past_ms (a script's "in a moment" that a slow run made slightly late).
 * reason has no hint about how to override: that depends on the caller. */
bool ctl_post_check_at(const ctl_post *p, int64_t now_ms, int64_t max_past_ms, bool allow_past,
                       char *reason, size_t len);
/* The recurrence rules every door applies (the API's create, autopostctl
 * schedule and import): ap_recur accepts rrule in tz from start, its
 * instances are at least min_interval_ms apart (api.min_recurrence_interval;
 * 0: no bound) and, when now_ms > 0, one is still to come after now_ms.
 * false with *field the input at fault ("rrule", "tz" or "start"; NULL when
 * out of memory) and reason a sentence for a person. */
bool ctl_recurrence_check(const char *rrule, const char *tz, const char *start,
                          int64_t min_interval_ms, int64_t now_ms, const char **field, char *reason,
                          size_t len);
/* Parses one JSON Lines record strictly (unknown keys, wrong types and
 * duplicate keys are errors) and runs ctl_post_check. p must be fresh. */
bool ctl_post_from_json(ctl_post *p, const char *line, size_t len, char *reason, size_t rlen);
/* Layer 2 (see above). */
bool ctl_post_validate_platform(const ctl_post *p, const char *platform, const char *external_id,
                                char *reason, size_t len);
/* Can an account in this state take new posts? reason says why not. */
bool ctl_account_usable(const char *account_id, const char *status, const char *status_reason,
                        char *reason, size_t len);

/* posts.media as JSON text: [{"url": ..., "type": ..., "alt_text": ...}],
 * the first item also carrying "format" unless the format is feed.
 * malloc'ed (caller frees); NULL when out of memory. */
char *ctl_post_media_json(const ctl_post *p);

/* The other way: posts.media as stored -> the media array as the API shows
 * it (without the format key) and the post's format. A new reference (NULL
 * when the text is not a JSON array); *format is feed when none is stored. */
json_t *ctl_post_media_from_json(const char *stored, ap_format *format);

/* ap_url_check's verdict as a sentence for a person, naming `what`. */
bool ctl_url_ok(const char *url, const char *what, char *reason, size_t len);

/* ---- variants (ctl_post_variants.c; README "Variants") ----------------
 * A schedule on account A of platform P publishes the variant keyed by A's
 * id if there is one, else the one keyed by P's name, else the post as is;
 * the chosen variant's text and media each replace the post's on their own
 * (a variant with only text keeps the post's media). The scheduler applies
 * the same rule in SQL (0027's autopost_post_variant) when it builds the
 * job; ctl_post_validate_platform applies it here, so each schedule is
 * validated as it will be published. Reasons about a variant start with
 * "variants.<key>" (a field path, as the API names it). */

/* "variants": an object of {"text"?, "media"?: [{url, type, alt_text?}]}
 * keyed by platform name or account id, decoded strictly (unknown keys,
 * wrong types, bad URLs). *field gets the path at fault. The keys are
 * checked against the post's accounts later (ctl_post_check_variant_keys). */
bool ctl_post_set_variants(ctl_post *p, json_t *v, char *field, size_t flen, char *reason,
                           size_t len);
/* `schedule --variant KEY=TEXT`: a text-only variant. */
bool ctl_post_add_variant_text(ctl_post *p, const char *key, const char *text, char *reason,
                               size_t len);
/* Every key is a known platform name (common/ap_platforms.c) or one of
 * account_ids (normalised UUIDs). */
bool ctl_post_check_variant_keys(const ctl_post *p, const char (*account_ids)[37], size_t n,
                                 char *field, size_t flen, char *reason, size_t len);
/* The variant a schedule on account_id of platform publishes; NULL: none. */
const ctl_variant *ctl_post_variant_for(const ctl_post *p, const char *account_id,
                                        const char *platform);
/* p as a schedule with variant v publishes it: a shallow copy that borrows
 * p's and v's strings (never ctl_post_free it); v NULL: p itself. */
ctl_post ctl_post_with_variant(const ctl_post *p, const ctl_variant *v);
/* posts.variants as JSON text (each media array as ctl_post_media_json
 * writes it); *out malloc'ed, NULL when the post has none. false: OOM. */
bool ctl_post_variants_json(const ctl_post *p, char **out);
/* posts.variants as stored -> the API's "variants" object (media without
 * the format key); {} for NULL or empty. A new reference; NULL on OOM. */
json_t *ctl_post_variants_from_json(const char *stored);
void ctl_post_variants_free(ctl_post *p);

/* Appends one field in COPY text format (NULL -> \N; backslash, tab,
 * newline and carriage return escaped), followed by sep ('\t' or '\n'). */
bool ctl_copy_field(ap_buf *b, const char *s, char sep);

#endif
