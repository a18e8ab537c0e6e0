/* fold.h -- what a chunked upload imitation keeps of the bytes it receives:
 * a running POSIX-cksum CRC of the parts in index order, never the file.
 *
 * Parts 0..n-1 arrive in any order, any part again ("the last copy
 * counts", as X and LinkedIn document). A part whose predecessors are all
 * in is folded into the CRC at once; one that comes early is held (copied)
 * until they are. A folded part sent again must carry the same bytes (its
 * own CRC and length are kept to tell): other bytes cannot be folded a
 * second time, so the fold is marked and the imitation refuses the upload
 * at finalize rather than report a checksum it cannot know. So a 200 MiB
 * video sent in order costs one part of memory. */
#ifndef SANDBOX_FOLD_H
#define SANDBOX_FOLD_H

#include <stddef.h>
#include <stdint.h>

typedef struct sandbox_fold {
    int nparts;             /* capacity: parts 0..nparts-1 */
    unsigned char **held;   /* [nparts] arrived ahead of the folded prefix */
    size_t *held_len;       /* [nparts] */
    uint32_t *part_crc;     /* [nparts] of each folded part, to check a resend */
    size_t *part_len;       /* [nparts] */
    int folded;             /* parts 0..folded-1 are in crc */
    long long bytes;        /* their bytes */
    uint32_t crc;           /* running CRC of the folded bytes */
    int resent_other_bytes; /* a folded part came again with other bytes */
} sandbox_fold;

/* 0, or -1 when out of memory (then nothing to free). */
int sandbox_fold_init(sandbox_fold *f, int nparts);
/* Frees what is held (the CRCs stay readable); safe twice. */
void sandbox_fold_drop_held(sandbox_fold *f);
void sandbox_fold_free(sandbox_fold *f);
/* Takes part idx (0-based, < nparts). 0, or -1 when out of memory. */
int sandbox_fold_take(sandbox_fold *f, int idx, const unsigned char *data, size_t len);
/* 1 when part idx arrived (folded or held). */
int sandbox_fold_has(const sandbox_fold *f, int idx);
/* 1 when parts 0..folded-1 arrived and none after them is held. */
int sandbox_fold_no_gap(const sandbox_fold *f);
/* The POSIX cksum of the folded bytes (what `cksum` prints for them). */
uint32_t sandbox_fold_cksum(const sandbox_fold *f);

#endif
