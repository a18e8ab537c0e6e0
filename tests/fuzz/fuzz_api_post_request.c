/* fuzz_api_post_request.c -- libFuzzer target: autopost-api's POST /v1/posts
 * body decoder (api/post_request.c) on arbitrary bytes. Whatever the input it
 * must not crash or leak; a refusal is a 400 or a 422 in the one error shape
 * with at least one detail naming a field; an accepted body has 1 to
 * API_MAX_ACCOUNTS distinct accounts and a post that passes ctl_post_check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
