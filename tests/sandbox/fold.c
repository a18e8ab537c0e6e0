/* fold.c -- a chunked upload's running checksum (fold.h). */
#include "fold.h"

#include <stdlib.h>
#include <string.h>

#include "server.h"

int sandbox_fold_init(sandbox_fold *f, int nparts) {
    memset(f, 0, sizeof(*f));
    f->nparts = nparts;
    f->held = calloc((size_t)nparts, sizeof(*f->held));
    f->held_len = calloc((size_t)nparts, sizeof(*f->held_len));
    f->part_crc = calloc((size_t)nparts, sizeof(*f->part_crc));
    f->part_len = calloc((size_t)nparts, sizeof(*f->part_len));
    if (f->held && f->held_len && f->part_crc && f->part_len) return 0;
    sandbox_fold_free(f);
    return -1;
}

void sandbox_fold_drop_held(sandbox_fold *f) {
    for (int i = 0; f->held && i < f->nparts; i++) {
        free(f->held[i]);
        f->held[i] = NULL;
        f->held_len[i] = 0;
    }
}

void sandbox_fold_free(sandbox_fold *f) {
    sandbox_fold_drop_held(f);
    free(f->held);
    free(f->held_len);
    free(f->part_crc);
    free(f->part_len);
    memset(f, 0, sizeof(*f));
}

/* Part f->folded joins the running checksum. */
static void fold_in(sandbox_fold *f, const unsigned char *data, size_t len) {
    f->crc = sandbox_crc_update(f->crc, data, len);
    f->part_crc[f->folded] = sandbox_crc_update(0, data, len);
    f->part_len[f->folded] = len;
    f->bytes += (long long)len;
    f->folded++;
}

int sandbox_fold_take(sandbox_fold *f, int idx, const unsigned char *data, size_t len) {
    if (idx < f->folded) {
        if (len != f->part_len[idx] || sandbox_crc_update(0, data, len) != f->part_crc[idx])
            f->resent_other_bytes = 1;
        return 0;
    }
    if (idx == f->folded) {
        free(f->held[idx]); /* an earlier copy held while waiting: the last counts */
        f->held[idx] = NULL;
        fold_in(f, data, len);
    } else {
        unsigned char *copy = malloc(len ? len : 1);
        if (copy == NULL) return -1;
        memcpy(copy, data, len);
        free(f->held[idx]); /* the same part again: the last copy counts */
        f->held[idx] = copy;
        f->held_len[idx] = len;
    }
    while (f->folded < f->nparts && f->held[f->folded]) {
        int i = f->folded;
        fold_in(f, f->held[i], f->held_len[i]);
        free(f->held[i]);
        f->held[i] = NULL;
    }
    return 0;
}

int sandbox_fold_has(const sandbox_fold *f, int idx) {
    return idx < f->folded || (idx < f->nparts && f->held[idx] != NULL);
}

int sandbox_fold_no_gap(const sandbox_fold *f) {
    for (int i = f->folded; i < f->nparts; i++)
        if (f->held[i]) return 0;
    return 1;
}

uint32_t sandbox_fold_cksum(const sandbox_fold *f) {
    return sandbox_cksum_finish(f->crc, (unsigned long long)f->bytes);
}
