/* ap_format.h -- a post's format (README "Formats"): how it appears on the
 * platform, "feed" (the default), "story" or "reel".
 *
 * One name list for every door (the API, autopostctl, the scheduler) and
 * the adapters. Where it is stored: posts.media has no room for a post-level
 * key (it is a JSON array, checked so by 0001), and every format other than
 * feed needs exactly one media item, so the format rides on the first media
 * item as "format" (AP_FORMAT_MEDIA_KEY); absent means feed. The schema and
 * every role's grants stay as they are, and a row written before formats
 * existed reads as feed. On the bus it is PublishJob.format ("" = feed). */
#ifndef AP_FORMAT_H
#define AP_FORMAT_H

#include <stdbool.h>

#define AP_FORMAT_MEDIA_KEY "format"

typedef enum ap_format { AP_FORMAT_FEED = 0, AP_FORMAT_STORY, AP_FORMAT_REEL } ap_format;

/* "feed", "story" or "reel"; "" and NULL read as feed. false for anything else. */
bool ap_format_parse(const char *name, ap_format *out);
/* The format's name; a static string. */
const char *ap_format_name(ap_format f);

#endif
