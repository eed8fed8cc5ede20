#!/bin/sh
# The scale-out model of slide-train-mpi (a model, not a measurement): from the measured inputs
# of bench/e2e/bench_mpi.sh (DIR/model_inputs.csv) it projects samples/s for P = 1..64 nodes of
# 16 cores, one rank of 16 threads per node, on two networks, with an alpha-beta cost model:
#   core-seconds per batch: replicated W_H = 2 h1, output layer W_O = 2 (t1 - h1), from the
#     P = 1 x 2 threads run (t1 its compute seconds per batch without communication, h1 its
#     replicated input+hidden seconds); threads assumed to scale perfectly within a node, a core
#     of a node as fast as a core here;
#   a batch on P nodes: W_H / 16 + W_O / (16 P) + allreduce(16 B bytes) + allreduce(4 B hidden
#     bytes), allreduce(m, P) = 2 ceil(log2 P) alpha + 2 (P - 1) / P x m / bandwidth (recursive
#     halving and doubling), 0 at P = 1;
#   networks: 25 GbE (alpha 25 us MPI latency over TCP, 3.125 GB/s) and 100 Gb/s InfiniBand EDR
#     (alpha 1.5 us, 12.5 GB/s);
#   the reference: one H200's measured dense rate at the Amazon-670K shape (GPU_RATE; the
#     default is the value in results/reference/gpu/README.md).
# Writes DIR/scaleout.csv (plots/scaleout.gp draws it) and DIR/scaleout.txt (the crossing points).
# usage: sh bench/e2e/scaleout_model.sh DIR
set -eu
DIR=${1:?usage: scaleout_model.sh DIR (holding model_inputs.csv from bench_mpi.sh)}
IN=$DIR/model_inputs.csv
[ -f "$IN" ] || { echo "scaleout_model.sh: $IN missing (run bench/e2e/bench_mpi.sh)" >&2; exit 2; }
GPU=${GPU_RATE:-40170}
awk -F, -v gpu="$GPU" -v out="$DIR/scaleout.csv" -v txt="$DIR/scaleout.txt" '
NR == 1 { next }
{ v[$1 "/" $2] = $4 }
END {
  t1 = v["batch_compute_s/1"]; h1 = v["batch_replicated_s/1"]; t2 = v["batch_compute_s/2"]
  bytes = v["comm_bytes_per_batch/2"]; B = v["batch/2"]
  if (t1 <= 0 || h1 < 0 || bytes <= 0 || B <= 0) { print "scaleout_model.sh: incomplete inputs" > "/dev/stderr"; exit 2 }
  WH = 2 * h1; WO = 2 * (t1 - h1); m1 = 16 * B; m2 = bytes - m1; C = 16
  split("25GbE 100Gb-IB", net, " "); split("25 1.5", al, " "); split("3.125 12.5", bw, " ")
  print "network,alpha_us,bandwidth_gb_s,nodes,cores_per_node,compute_s,comm_s,batch_s,samples_per_s,gpu_dense_samples_per_s" > out
  printf "model inputs: P=1x2 threads %.4f s/batch (replicated %.4f s), P=2x1 thread %.4f s/batch measured, %.4f predicted; %d bytes per batch\n", t1, h1, t2, WH + WO / 2, bytes > txt
  for (k = 1; k <= 2; k++) {
    cross = 0
    for (P = 1; P <= 64; P++) {
      comp = WH / C + WO / (C * P)
      comm = 0
      if (P > 1) {
        lg = 0; for (q = 1; q < P; q *= 2) lg++
        # two allreduces: 2 ceil(log2 P) alpha each, and both messages 2 (P-1)/P times
        comm = 2 * (2 * lg * al[k] * 1e-6) + 2 * (P - 1) / P * (m1 + m2) / (bw[k] * 1e9)
      }
      rate = B / (comp + comm)
      printf "%s,%g,%g,%d,%d,%.6f,%.6f,%.6f,%.1f,%d\n", net[k], al[k], bw[k], P, C, comp, comm, comp + comm, rate, gpu > out
      if (!cross && rate >= gpu) cross = P
      if (P == 64) last = rate
    }
    if (cross) printf "%s: one H200 (dense, %d samples/s) matched at %d nodes of %d cores\n", net[k], gpu, cross, C > txt
    else printf "%s: one H200 (dense, %d samples/s) not matched within 64 nodes (%.0f samples/s at 64)\n", net[k], gpu, last > txt
  }
}' "$IN"
cat "$DIR/scaleout.txt"
