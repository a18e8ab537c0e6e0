/* chain.c -- see chain.h. */
#include "chain.h"

#include <stdio.h>
#include <string.h>

size_t ap_chain_len(const ap_job *job) {
    return job->n_thread + (job->first_comment && *job->first_comment ? 1 : 0);
}

bool ap_chain_is_comment(const ap_job *job, size_t k) {
    return k == job->n_thread + 1 && job->first_comment && *job->first_comment;
}

size_t ap_chain_parent(const ap_job *job, size_t k) {
    return ap_chain_is_comment(job, k) || k == 0 ? 0 : k - 1;
}

void ap_chain_part_job(const ap_job *job, size_t k, ap_job *out) {
    *out = *job;
    out->link = "";
    out->format = "";
    out->n_thread = 0;
    out->thread = NULL;
    out->first_comment = "";
    if (ap_chain_is_comment(job, k) || k == 0 || k > job->n_thread) {
        out->text = ap_chain_is_comment(job, k) ? job->first_comment : "";
        out->n_media = 0;
        out->media = NULL;
        return;
    }
    const Autopost__V1__ThreadPart *part = job->thread[k - 1];
    out->text = part->text ? part->text : "";
    out->n_media = part->n_media;
    out->media = part->media;
}

size_t ap_chain_ids_count(const char *ids) {
    if (ids == NULL || *ids == '\0') return 0;
    size_t n = 1;
    for (const char *c = ids; *c; c++) n += *c == ',';
    return n;
}

bool ap_chain_ids_nth(const char *ids, size_t n, char *out, size_t len) {
    const char *c = ids;
    if (ids == NULL || *ids == '\0') return false;
    for (size_t i = 0; i < n; i++) {
        c = strchr(c, ',');
        if (c == NULL) return false;
        c++;
    }
    size_t m = strcspn(c, ",");
    if (m == 0 || m >= len) return false;
    memcpy(out, c, m);
    out[m] = '\0';
    return true;
}

bool ap_chain_ids_append(char *ids, size_t cap, const char *id) {
    if (id == NULL || *id == '\0' || strpbrk(id, ", ") != NULL) return false;
    size_t used = strlen(ids);
    int n = snprintf(ids + used, cap - used, "%s%s", used ? "," : "", id);
    if (n < 0 || (size_t)n >= cap - used) {
        ids[used] = '\0';
        return false;
    }
    return true;
}
