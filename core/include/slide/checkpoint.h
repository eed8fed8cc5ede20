/* Checkpoints of a SLIDE network: weights, Adam state, table keys, step counters and a caller
 * blob (driver state: shuffle RNG, position, timers) in one versioned binary file (magic,
 * version, sizes, checksum), written to a temp file and renamed. */
#ifndef SLIDE_CHECKPOINT_H
#define SLIDE_CHECKPOINT_H

#include "slide/network.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SLIDE_CKPT_MAGIC "SLIDECK1"
#define SLIDE_CKPT_VERSION 2u

/* Saves net (+ user bytes) to path via path.tmp.<pid> + fsync + rename; afterwards removes
 * path.tmp.<pid> files of processes that no longer exist (left by a run killed mid-save). The sampled layers'
 * tables are rebuilt from their stored keys first, so that a run resumed from the file and the
 * run that wrote it continue with identical tables (bit-exact resume with one thread). */
int slide_checkpoint_save(slide_net *net, const char *path, const void *user, size_t user_len,
                          slide_err *err);

/* Loads a checkpoint into net, which must have been created with the same shapes and hash
 * parameters (mismatch: SLIDE_EINVAL naming the field). user receives up to user_cap bytes;
 * *user_len the stored size. A truncated, corrupted or foreign file gives SLIDE_EFORMAT or
 * SLIDE_EVERSION; after a failed load the net's weights are unspecified (destroy it). */
int slide_checkpoint_load(slide_net *net, const char *path, void *user, size_t user_cap,
                          size_t *user_len, slide_err *err);
/* Same from memory (for fuzzing). */
int slide_checkpoint_parse(slide_net *net, const void *buf, size_t len, const char *name,
                           void *user, size_t user_cap, size_t *user_len, slide_err *err);

#ifdef __cplusplus
}
#endif
#endif
