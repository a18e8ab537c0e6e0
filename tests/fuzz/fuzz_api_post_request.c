/* fuzz_api_post_request.c -- libFuzzer target: autopost-api's POST /v1/posts
 * body decoder (api/post_request.c) on arbitrary bytes. Whatever the input it
 * must not crash or leak; a refusal is a 400 or a 422 in the one error shape
 * with at least one detail naming a field; an accepted body has 1 to
 * API_MAX_ACCOUNTS distinct accounts and a post that passes ctl_post_check;
 * with a "recurrence" (never together with "at") all three of its fields are
 * set and ap_recur accepts them, so the series the API stores is one the
 * scheduler can expand; every variant's key is a platform name or one of
 * the accounts, and the variants store as a JSON object. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_platforms.h"
#include "ap_recur.h"
#include "api.h"
#include "ctl_post.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    api_post_request pr;
    api_reply r = {0};
    char why[512];
    if (api_post_request_decode(&pr, (const char *)data, size, &r)) {
        if (pr.naccounts < 1 || pr.naccounts > API_MAX_ACCOUNTS) abort();
        for (size_t i = 0; i < pr.naccounts; i++)
            for (size_t j = i + 1; j < pr.naccounts; j++)
                if (strcmp(pr.account_ids[i], pr.account_ids[j]) == 0) abort();
        if (!ctl_post_check(pr.post, why, sizeof(why))) abort();
        if (r.body != NULL) abort();
        for (size_t i = 0; i < pr.post->nvariants; i++) {
            const char *key = pr.post->variants[i].key;
            bool known = ap_platform_info_find(key) != NULL;
            for (size_t j = 0; !known && j < pr.naccounts; j++)
                known = strcmp(key, pr.account_ids[j]) == 0;
            if (!known) abort();
        }
        char *variants = NULL;
        if (!ctl_post_variants_json(pr.post, &variants)) abort();
        json_t *stored = variants ? json_loads(variants, 0, NULL) : NULL;
        if ((variants != NULL) != json_is_object(stored)) abort();
        json_decref(stored);
        free(variants);
        bool any = pr.recur_rrule || pr.recur_tz || pr.recur_start;
        bool all = pr.recur_rrule && pr.recur_tz && pr.recur_start;
        if (any != all || (all && pr.at_given)) abort();
        if (all) {
            ap_recur *rule = NULL;
            if (ap_recur_new(&rule, pr.recur_rrule, pr.recur_tz, pr.recur_start, 0, NULL) != AP_OK)
                abort();
            ap_recur_free(rule);
        }
    } else {
        json_t *err = json_object_get(r.body, "error");
        if (!json_is_string(json_object_get(err, "code"))) abort();
        if (r.status == 422) {
            json_t *d = json_array_get(json_object_get(err, "details"), 0);
            if (!json_is_string(json_object_get(d, "field"))) abort();
        } else if (r.status != 400 && r.status != 500) {
            abort();
        }
    }
    json_decref(r.body);
    api_post_request_free(&pr);
    return 0;
}
