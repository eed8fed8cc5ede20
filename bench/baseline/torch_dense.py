#!/usr/bin/env python3
"""torch_dense.py: the SLIDE network with a full softmax in PyTorch (the framework baseline of the
paper's CPU-vs-GPU comparison), reading the same XC files and appending rows of slide-train's CSV
schema (system torch-gpu or torch-cpu). Skips with a message (exit 0) when PyTorch is missing.

Network as slide-dense: sparse input -> EmbeddingBag(D, H, sum, per-sample weights) + b0 -> ReLU
-> Linear(H, L) -> softmax over all labels; targets 1/|y| on each label; the gradient of every
row is (p - t) / batch as in slide-dense (points without labels pull all probabilities down).
Adam (bias-corrected, .9/.999/1e-8): SparseAdam on W0, so only the rows of the batch's features
move (as in slide-dense), plain Adam on b0, W1, b1. Initial weights: N(0, init_std^2) from
torch's generator seeded with --seed (the same distribution as the C programs, not the same
numbers). Batches and the evaluation subset follow slide-train's order only in distribution.
"""
import argparse
import math
import os
import platform
import random
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The schema of slide_train_csv_header() when this was written; used only when neither the CSV
# file nor a built slide-dense / slide-dense-gpu (--csv-header) can provide the current one.
FALLBACK_HEADER = (
    "run_id,utc,git_commit,host,cpu_model,simd,threads,omp_proc_bind,loadavg,hugepages,"
    "numa_policy,system,dataset,hash_family,K,L,range_bits,bucket_cap,batch,lr,seed,epoch,"
    "iter,samples_seen,train_s,wall_s,n_eval,p_at_1,p_at_3,p_at_5,ndcg_at_5,recall_at_5,"
    "loss,active_avg,active_frac,samples_per_s,rss_mb,"
    "hugepages_requested,hugepage_mb,ndcg_at_1,ndcg_at_3,eval_set,inference,n_skipped,"
    "eval_s,t_fwd_bwd_s,t_update_s,t_rehash_s,compiler,probes,bucket_policy,hidden,"
    "peak_rss_mb,gflops,gpu_model,numa_nodes,weights,adam_state,train_order,peak_gflops,"
    "peak_frac,sampler,budget,ranks,label_split,t_comm_s,comm_bytes_per_batch")


def parse_args():
    ap = argparse.ArgumentParser(
        prog="torch_dense.py",
        description="Dense full-softmax SLIDE network in PyTorch; appends slide-train CSV rows "
                    "(system torch-gpu / torch-cpu). Exits 0 with a message when torch is missing.")
    a = ap.add_argument
    a("--train", default="build/data/delicious/train.txt", help="training set (XC text format)")
    a("--test", default="build/data/delicious/test.txt", help="test set (XC text format)")
    a("--dataset-name", default="delicious", help="name written to the dataset column")
    a("--csv", default="results/torch-dense.csv", help="CSV file rows are appended to")
    a("--run-id", default="", help="run id (default: time-host-pid)")
    a("--epochs", type=float, default=30, help="epochs to train (fractions allowed)")
    a("--time-budget", type=float, default=0, help="stop after this many seconds of training (0 = off)")
    a("--eval-every", type=int, default=100, help="evaluate every N batches (0 = off)")
    a("--eval-every-s", type=float, default=0, help="evaluate every S seconds of training time (0 = off)")
    a("--eval-n", type=int, default=1000, help="test points per intermediate evaluation, a seeded random subset (0 = all)")
    a("--threads", type=int, default=2, help="torch CPU threads")
    a("--seed", type=int, default=1, help="seed of weights, shuffling and the evaluation subset")
    a("--normalize", type=int, choices=(0, 1), default=1, nargs="?", const=1, help="L2-normalise input rows (0/1)")
    a("--hidden", type=int, default=128, help="hidden layer size")
    a("--batch", type=int, default=128, help="mini-batch size")
    a("--lr", type=float, default=1e-3, help="Adam learning rate")
    a("--init-std", type=float, default=0.01, help="weight init standard deviation")
    a("--device", default="auto", help="auto (cuda when available) | cpu | cuda | cuda:N")
    a("--progress", type=int, default=-1, choices=(-1, 0, 1), help="progress line on stderr (-1 = when a terminal)")
    args = ap.parse_args()
    for name in ("epochs", "hidden", "batch", "lr", "init_std", "threads"):
        if not getattr(args, name) > 0:
            ap.error("--%s must be > 0" % name.replace("_", "-"))
    for name in ("train", "test"):
        path = getattr(args, name)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            sys.stderr.write("torch_dense: --%s %s: not a readable file\n" % (name, path))
            sys.exit(2)
    return args


def fail(msg):
    sys.stderr.write("torch_dense: %s\n" % msg)
    sys.exit(2)


def read_xc(path, normalize, expect=None):
    """XC text format -> (n, d, l, rows) with rows[i] = (features, values, labels)."""
    with open(path, "r") as f:
        head = f.readline().split()
        if len(head) != 3:
            fail("%s:1: header must be 'N D L'" % path)
        n, d, l = (int(x) for x in head)
        if expect and (d, l) != expect:
            fail("%s: header says D=%d L=%d but the training set has D=%d L=%d" % (path, d, l, expect[0], expect[1]))
        rows = []
        for ln, line in enumerate(f, start=2):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(" ")
            labs = [int(x) for x in parts[0].split(",") if x] if ":" not in parts[0] else []
            toks = parts[1:] if ":" not in parts[0] else parts
            feats, vals = [], []
            for t in toks:
                if not t:
                    continue
                k, _, v = t.partition(":")
                feats.append(int(k))
                vals.append(float(v))
            if any(x < 0 or x >= d for x in feats) or any(x < 0 or x >= l for x in labs):
                fail("%s:%d: feature or label id out of range" % (path, ln))
            if normalize and vals:
                s = math.sqrt(sum(v * v for v in vals))
                if s > 0:
                    vals = [v / s for v in vals]
            rows.append((feats, vals, sorted(set(labs))))
        if len(rows) != n:
            fail("%s: header says %d points, found %d" % (path, n, len(rows)))
    return n, d, l, rows


def csv_header(path):
    """The current schema: the CSV file's header, else `slide-dense --csv-header`, else the copy."""
    if os.path.isfile(path) and os.path.getsize(path) > 0:
        with open(path) as f:
            return f.readline().rstrip("\n")
    for prog in ("slide-dense", "slide-dense-gpu"):
        for b in (os.environ.get("BIN", ""), os.path.join(ROOT, "build", "bin")):
            exe = os.path.join(b, prog) if b else ""
            if exe and os.access(exe, os.X_OK):
                try:
                    out = subprocess.run([exe, "--csv-header"], capture_output=True, text=True, timeout=10)
                    if out.returncode == 0 and out.stdout.startswith("run_id,"):
                        return out.stdout.strip()
                except (OSError, subprocess.SubprocessError):
                    pass
    return FALLBACK_HEADER


def context(run_id):
    host = socket.gethostname() or "NA"
    cpu = "NA"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        git = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=ROOT, capture_output=True,
                               timeout=10).returncode != 0
        git += "-dirty" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        git = "unknown"
    bind = "%s/%s" % (os.environ.get("OMP_PROC_BIND") or "unset", os.environ.get("OMP_PLACES") or "unset")
    if not run_id:
        run_id = "%s-%.40s-%d" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), host, os.getpid())
    clean = lambda s: "".join("_" if c in ',"\r\n' else c for c in s)
    return {"run_id": clean(run_id), "host": clean(host), "cpu_model": clean(cpu), "git_commit": git,
            "omp_proc_bind": clean(bind)}


def proc_status_mb(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def fmt(v, prec):
    return "NA" if v is None or (isinstance(v, float) and math.isnan(v)) else "%.*f" % (prec, v)


def metrics(pred, labels):
    """P@1..5 and nDCG@1..5 as slide_metrics_point (binary relevance, fewer than k = misses)."""
    lab = set(labels)
    p, nd = [0.0] * 6, [0.0] * 6
    hits = dcg = idcg = 0.0
    for k in range(1, 6):
        if k <= len(pred) and pred[k - 1] in lab:
            hits += 1
            dcg += 1.0 / math.log2(k + 1)
        if k <= len(labels):
            idcg += 1.0 / math.log2(k + 1)
        p[k] = hits / k
        nd[k] = dcg / idcg if idcg > 0 else 0.0
    return p, nd


def main():
    args = parse_args()
    try:
        import torch
    except ImportError:
        print("torch_dense: skipped: PyTorch is not installed (pip install torch); nothing written")
        return 0
    t_start = time.perf_counter()
    if args.device == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        dev = torch.device(args.device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            fail("--device %s: no CUDA device visible to torch" % args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    n_tr, d, l, train = read_xc(args.train, args.normalize)
    n_te, _, _, test = read_xc(args.test, args.normalize, expect=(d, l))
    sys.stderr.write("[data] %s: train %d points, test %d points, %d features, %d labels (%.1f s)\n"
                     % (args.dataset_name, n_tr, n_te, d, l, time.perf_counter() - t_start))
    if n_tr == 0:
        fail("%s: no training points" % args.train)
    H, B = args.hidden, args.batch
    need_mb = (16.0 * (d * H + l * (H + 1)) + 4.0 * B * l * 3) / 1048576.0
    sys.stderr.write("[mem] about %.0f MB for parameters, gradients, Adam and batch logits (%s)\n"
                     % (need_mb, dev))

    emb = torch.nn.EmbeddingBag(d, H, mode="sum", sparse=True).to(dev)
    b0 = torch.nn.Parameter(torch.zeros(H, device=dev))
    out = torch.nn.Linear(H, l).to(dev)
    with torch.no_grad():
        emb.weight.normal_(0.0, args.init_std)
        out.weight.normal_(0.0, args.init_std)
        out.bias.zero_()
    opt_sparse = torch.optim.SparseAdam([emb.weight], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    opt_dense = torch.optim.Adam([b0, out.weight, out.bias], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    def batch_tensors(rows, ids):
        feats, vals, offs = [], [], []
        for i in ids:
            offs.append(len(feats))
            feats.extend(rows[i][0])
            vals.extend(rows[i][1])
        return (torch.tensor(feats, dtype=torch.long, device=dev),
                torch.tensor(vals, dtype=torch.float32, device=dev),
                torch.tensor(offs, dtype=torch.long, device=dev))

    def forward(rows, ids):
        f, v, o = batch_tensors(rows, ids)
        h = torch.relu(emb(f, o, per_sample_weights=v) + b0)
        return out(h)

    def evaluate(ids):
        lab_ids = [i for i in ids if test[i][2]]
        skipped = len(ids) - len(lab_ids)
        psum, nsum = [0.0] * 6, [0.0] * 6
        with torch.no_grad():
            for s in range(0, len(lab_ids), B):
                chunk = lab_ids[s:s + B]
                top = torch.topk(forward(test, chunk), min(5, l), dim=1).indices.tolist()
                for i, pred in zip(chunk, top):
                    p, nd = metrics(pred, test[i][2])
                    for k in range(1, 6):
                        psum[k] += p[k]
                        nsum[k] += nd[k]
        ne = len(lab_ids)
        return ne, skipped, [x / ne if ne else 0.0 for x in psum], [x / ne if ne else 0.0 for x in nsum]

    ctx = context(args.run_id)
    header = csv_header(args.csv)
    cols = header.split(",")
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    try:
        csvf = open(args.csv, "a")
    except OSError as e:
        fail("%s: %s" % (args.csv, e))
    if os.path.getsize(args.csv) == 0:
        csvf.write(header + "\n")
        csvf.flush()
    system = "torch-gpu" if dev.type == "cuda" else "torch-cpu"
    gpu_model = torch.cuda.get_device_name(dev).replace(",", "_") if dev.type == "cuda" else "NA"
    progress = sys.stderr.isatty() if args.progress < 0 else bool(args.progress)

    n_sub = args.eval_n if 0 < args.eval_n < n_te else n_te
    eval_ids = list(range(n_te))
    rng.shuffle(eval_ids)
    eval_sub = eval_ids[:n_sub]
    perm = list(range(n_tr))
    total = int(math.ceil(args.epochs * n_tr))
    seen = it = last_it = epoch = 0
    pos = n_tr
    train_s = last_train_s = 0.0
    int_loss = 0.0
    int_samples = 0
    int_fwd = int_upd = 0.0
    eval_total = 0.0
    cuda = dev.type == "cuda"
    while True:
        if pos >= n_tr:
            rng.shuffle(perm)
            pos = 0
            epoch += 1
        nb = min(B, n_tr - pos, total - seen)
        ids = perm[pos:pos + nb]
        # targets 1/|y| on the labels, as (row, label, weight) triples (built outside the timed
        # step, like the C programs' data)
        lr_, lc_, lw_, has = [], [], [], []
        for r, i in enumerate(ids):
            labs = train[i][2]
            has.append(1.0 if labs else 0.0)
            for y in labs:
                lr_.append(r)
                lc_.append(y)
                lw_.append(1.0 / len(labs))
        lab_r = torch.tensor(lr_, dtype=torch.long, device=dev)
        lab_c = torch.tensor(lc_, dtype=torch.long, device=dev)
        lab_w = torch.tensor(lw_, dtype=torch.float32, device=dev)
        has = torch.tensor(has, dtype=torch.float32, device=dev)
        if cuda:
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        z = forward(train, ids)
        lse = torch.logsumexp(z, dim=1)
        tz = torch.zeros(nb, device=dev).index_add(0, lab_r, z[lab_r, lab_c] * lab_w)
        objective = (lse - tz).mean()      # gradient (p - t) / batch on every row, as slide-dense
        ce = ((lse - tz) * has).sum()      # reported loss: cross-entropy of the labelled points
        opt_sparse.zero_grad(set_to_none=True)
        opt_dense.zero_grad(set_to_none=True)
        objective.backward()
        if cuda:
            torch.cuda.synchronize(dev)
        t1 = time.perf_counter()
        opt_sparse.step()
        opt_dense.step()
        if cuda:
            torch.cuda.synchronize(dev)
        t2 = time.perf_counter()
        train_s += t2 - t0
        int_fwd += t1 - t0
        int_upd += t2 - t1
        int_loss += float(ce)
        int_samples += nb
        pos += nb
        seen += nb
        it += 1
        last = seen >= total or (args.time_budget > 0 and train_s >= args.time_budget)
        due = (args.eval_every > 0 and it - last_it >= args.eval_every) or \
              (args.eval_every_s > 0 and train_s - last_train_s >= args.eval_every_s)
        if progress:
            sys.stderr.write("\r[train] epoch %d iter %d samples %d train %.1fs loss %.4f   "
                             % (epoch, it, seen, train_s, int_loss / max(int_samples, 1)))
        if not (due or last):
            continue
        te = time.perf_counter()
        ne, skipped, p, nd = evaluate(list(range(n_te)) if last else eval_sub)
        eval_s = time.perf_counter() - te
        eval_total += eval_s
        int_train = train_s - last_train_s
        loadavg = open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "NA"
        row = {
            "run_id": ctx["run_id"], "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "git_commit": ctx["git_commit"], "host": ctx["host"], "cpu_model": ctx["cpu_model"],
            "simd": "torch-%s-%s" % (torch.__version__.replace(",", "_"), dev.type),
            "threads": str(args.threads if not cuda else 1), "omp_proc_bind": ctx["omp_proc_bind"],
            "loadavg": loadavg, "hugepages": "none", "numa_policy": "NA", "system": system,
            "dataset": args.dataset_name.replace(",", "_"), "hash_family": "NA", "K": "0", "L": "0",
            "range_bits": "0", "bucket_cap": "0", "batch": str(B), "lr": "%g" % args.lr,
            "seed": str(args.seed), "epoch": fmt(seen / n_tr, 4), "iter": str(it),
            "samples_seen": str(seen), "train_s": fmt(train_s, 4),
            "wall_s": fmt(time.perf_counter() - t_start, 4), "n_eval": str(ne),
            "p_at_1": fmt(p[1], 5), "p_at_3": fmt(p[3], 5), "p_at_5": fmt(p[5], 5),
            "ndcg_at_5": fmt(nd[5], 5), "recall_at_5": "NA",
            "loss": fmt(int_loss / max(int_samples, 1), 5), "active_avg": fmt(float(l), 1),
            "active_frac": fmt(1.0, 5),
            "samples_per_s": fmt(int_samples / int_train if int_train > 0 else 0.0, 1),
            "rss_mb": fmt(proc_status_mb("VmRSS"), 1), "hugepages_requested": "none",
            "hugepage_mb": "NA", "ndcg_at_1": fmt(nd[1], 5), "ndcg_at_3": fmt(nd[3], 5),
            "eval_set": "full" if last else "subset", "inference": "exact", "n_skipped": str(skipped),
            "eval_s": fmt(eval_s, 4), "t_fwd_bwd_s": fmt(int_fwd, 4), "t_update_s": fmt(int_upd, 4),
            "t_rehash_s": fmt(0.0, 4), "compiler": "python-%s" % platform.python_version(),
            "probes": "0", "bucket_policy": "NA", "hidden": str(H),
            "peak_rss_mb": fmt(proc_status_mb("VmHWM"), 1),
            "gflops": "NA",  # autograd hides the products; see slide-dense / slide-dense-gpu
            "gpu_model": gpu_model, "numa_nodes": "NA", "weights": "fp32",
            "adam_state": "fp32",
            "train_order": "NA",
            "peak_gflops": "NA",  # no FMA peak measured from Python
            "peak_frac": "NA",
            "ranks": "1",
        }
        csvf.write(",".join(row.get(c, "NA") for c in cols) + "\n")
        csvf.flush()
        if progress:
            sys.stderr.write("\n")
        sys.stderr.write("[eval] iter %d train %.2fs P@1 %.4f P@3 %.4f P@5 %.4f loss %s %s samples/s (%s, n=%d)\n"
                         % (it, train_s, p[1], p[3], p[5], row["loss"], row["samples_per_s"],
                            "full test set" if last else "subset", ne))
        int_loss, int_samples, int_fwd, int_upd = 0.0, 0, 0.0, 0.0
        last_it, last_train_s = it, train_s
        if last:
            break
    csvf.close()
    sys.stderr.write("[done] %d iterations, %d samples, train %.2f s, eval %.2f s, wall %.2f s -> %s\n"
                     % (it, seen, train_s, eval_total, time.perf_counter() - t_start, args.csv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
