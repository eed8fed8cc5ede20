/* What the files of slide-train-mpi share: the communicator state, the label split, the model
 * the run loop drives, and the checkpoint functions (mpi_ckpt.c). */
#ifndef SLIDE_MPI_DRV_H
#define SLIDE_MPI_DRV_H

#include "../common/drv.h"
#include "slide/network.h"

#include <mpi.h>
#include <stdint.h>

#define PROG "slide-train-mpi"

typedef struct {
    int rank, P;
    MPI_Datatype pair;
    MPI_Op norm_op;
    double t_comm;          /* seconds in the per-batch collectives (this rank, since start) */
    double t_sum;           /* of which the hidden gradient's allreduce */
    double bytes_cur;       /* payload of this batch's collectives so far (this rank) */
    double bytes_batch;     /* the largest payload of a batch (this rank) */
} comm;

typedef struct {
    int strided;   /* 0 contiguous ranges, 1 label j to rank j mod P */
    int64_t L, lo, n, step; /* this rank: global id of local row j = lo + j * step */
} split;

typedef struct {
    drv_opts *o;
    comm *c;
    split sp;
    slide_data view;   /* the training set with this shard's labels */
    int64_t *nlab;
    slide_net *net;
    slide_numa numa;
    int simd, hp_eff, check_every, signals_set;
    uint64_t opts_hash; /* of the options as given (before rank 0 and the others differ) */
    const char *dump_weights; /* --dump-weights: every rank writes its tensors here at the end */
    slide_train_stats st_int, st_all;
    double comm_int, comm_all, train_int; /* this rank's comm seconds: since the last row; all */
    double out_mb;                         /* this rank's output layer (weights, Adam, tables) */
    char fam_rot[32], hp_req[16], hp_in[16], numa_pol[32], numa_nodes[128];
    const char *fam, *system;
    void *blob;
    size_t blob_cap;
    /* evaluation buffers */
    float *ex_s, *sm_s, *all_s;
    uint32_t *ex_id, *sm_id, *all_id, *gtop;
    int *cnt, *gn, *found;
    int64_t *act;
    int64_t eval_cap; /* points the evaluation buffers hold (test set, validation split) */
} mpi_model;

/* 1 on every rank when ok on every rank (a collective). */
int mpi_all_ok(int ok);
/* 64-bit checksum of n bytes, continuing from h. */
uint64_t mpi_hash_bytes(uint64_t h, const void *p, size_t n);

/* Checkpoints (mpi_ckpt.c): every rank writes its shard to <path>.rank<r>of<P> with the run's
 * state, rank 0 then the manifest <path> (ranks, labels, split, each shard's checksum, its own
 * checksum), each file by temp + rename. The run loop's checkpoint callback. */
int mpi_checkpoint(void *self, const drv_loop *lp, int last, slide_err *err);
/* Restores every rank from --resume after all ranks checked the manifest and their shard.
 * Returns 0, 1 when nothing is left to train, or 2 after one line from rank 0. */
int mpi_resume(mpi_model *s, drv_loop *lp);
/* Bytes of the state a shard's checkpoint carries for a training set of n points. */
size_t mpi_ckpt_blob_bytes(int64_t n);

#endif
