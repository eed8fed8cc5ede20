# prep_threads.awk: convergence time against thread count from threads.csv (training schema),
# one panel per dataset, one curve per system (median over the runs at each thread count; single
# runs as open circles when there are repetitions; ideal linear scaling dashed).
# Metric: training time (train_s) until P@1 >= target (-v target=..., default: 90 % of the lowest
# best P@1 among the dataset's runs, floored to 0.01). When some run never reaches a given target,
# the panel shows training time per epoch instead; its title says which.

BEGIN { EXPECTED = "slide dense-cpu" }

FNR == 1 {
    hdr()
    skip = !(has("p_at_1") && has("train_s") && has("threads"))
    if (skip) SKIPPED = SKIPPED " " FILENAME
    next
}
skip { next }
{
    t = num("train_s"); y = num("p_at_1"); th = num("threads")
    if (t == "NA" || th == "NA" || th < 1) next
    ds = col("dataset"); sys = col("system"); run = col("run_id")
    if (ds == "NA") ds = "dataset n/a"
    ctx_add()
    if (!(ds in DSI)) { DSI[ds] = ++NDS; DSN[NDS] = ds }
    key = ds SUBSEP sys SUBSEP run SUBSEP th
    if (!(key in RK)) {
        RK[key] = ++NRN
        RD[NRN] = ds; RSY[NRN] = sys; RTH[NRN] = th; RMAX[NRN] = "NA"; RN[NRN] = 0
        SEEN[ds, sys] = 1
    }
    r = RK[key]
    RN[r]++
    RX[r, RN[r]] = t; RY[r, RN[r]] = y
    if (y != "NA" && (RMAX[r] == "NA" || y > RMAX[r])) RMAX[r] = y
    # the run's last row: training time and epochs so far
    if (t >= RLAST[r] + 0) { RLAST[r] = t; REP[r] = num("epoch") }
}
END {
    if (NRN == 0) {
        meta_nodata("no rows with train_s and threads" (SKIPPED != "" ? " (missing columns in" SKIPPED ")" : ""))
        exit
    }
    nexp = split(EXPECTED, E, " ")
    for (p = 1; p <= NDS; p++) {
        ds = DSN[p]
        # threshold
        lo = "NA"
        for (r = 1; r <= NRN; r++) if (RD[r] == ds && RMAX[r] != "NA" && (lo == "NA" || RMAX[r] < lo)) lo = RMAX[r]
        auto = !isnum(target)
        thr = auto ? (lo == "NA" ? "NA" : int(lo * 0.9 * 100) / 100) : target + 0
        ok = thr != "NA"
        for (r = 1; r <= NRN && ok; r++) if (RD[r] == ds) {
            V[r] = "NA"
            for (i = 1; i <= RN[r]; i++) if (RY[r, i] != "NA" && RY[r, i] >= thr && (V[r] == "NA" || RX[r, i] < V[r])) V[r] = RX[r, i]
            if (V[r] == "NA") ok = 0
        }
        if (ok) {
            PANT[p] = ds ": time to P@1 >= " thr (auto ? " (auto: 90% of the lowest best P@1 of the runs)" : "")
            PANY[p] = "training time to reach P@1 >= " thr " [s]"
        } else {
            PANT[p] = ds ": time per epoch (" (thr == "NA" ? "no P@1 values" : "P@1 >= " thr " not reached by every run") ")"
            PANY[p] = "training time per epoch [s]"
            for (r = 1; r <= NRN; r++) if (RD[r] == ds)
                V[r] = (isnum(REP[r]) && REP[r] > 0) ? RLAST[r] / REP[r] : "NA"
        }
        PLOGX[p] = 1; PLOGY[p] = 1
        PANMSG[p] = "no data: no run with train_s and " (ok ? "P@1" : "epoch")
        # group: system x threads -> median
        delete GN
        nsys = 0
        for (r = 1; r <= NRN; r++) if (RD[r] == ds && V[r] != "NA") {
            s = RSY[r]
            if (!((s) in SYSI)) { SYSI[s] = ++nsys; SYSN[nsys] = s }
            g = s SUBSEP RTH[r]
            if (!(g in GN)) { GN[g] = 0; NT[s]++; TH[s, NT[s]] = RTH[r] }
            GV[g, ++GN[g]] = V[r]
            rng_add(p, RTH[r], V[r])
        }
        # systems in legend order
        for (i = 1; i <= nsys; i++) SO[i] = sys_rank(SYSN[i]) * 1000 + i
        nsort(SO, nsys)
        for (j = 1; j <= nsys; j++) {
            s = SYSN[SO[j] % 1000]
            n = NT[s]
            for (i = 1; i <= n; i++) TT[i] = TH[s, i]
            nsort(TT, n)
            rows = ""; pts = ""; reps = 0; t1 = "NA"
            for (i = 1; i <= n; i++) {
                g = s SUBSEP TT[i]
                for (k = 1; k <= GN[g]; k++) { A[k] = GV[g, k]; pts = pts (pts == "" ? "" : "\n") TT[i] "," GV[g, k] }
                if (GN[g] > 1) reps = 1
                m = median(A, GN[g])
                rows = rows (rows == "" ? "" : "\n") TT[i] "," m
                if (i == 1) { t1 = m; th1 = TT[i] }
            }
            lt = sys_rank(s)
            curve_add(p, 1, s (reps ? " (median of runs)" : ""), lt, 1, rows)
            if (reps) curve_add(p, 2, s ": single runs", lt, 1, pts)
            if (n > 1) {
                ideal = ""
                for (i = 1; i <= n; i++) ideal = ideal (ideal == "" ? "" : "\n") TT[i] "," (t1 * th1 / TT[i])
                curve_add(p, 3, s ": ideal linear scaling", lt, 1, ideal)
            }
        }
        if (((p, "x0") in RNG) && RNG[p, "x0"] < RNG[p, "x1"])
            PANXR[p] = "[" RNG[p, "x0"] / 1.3 ":" RNG[p, "x1"] * 1.3 "]"
        for (j = 1; j <= nexp; j++)
            if (!((ds, E[j]) in SEEN)) key_add(p, 1, E[j] ": no data (not run)", 1)
        for (s in SYSI) delete SYSI[s]
        for (s in NT) delete NT[s]
    }
    panels_emit(NDS)
    layout_emit(NDS, 2)
    curves_emit(NDS, "threads,seconds")
    meta_str("XCOL", "threads")
    meta_str("YCOL", "seconds")
    meta_str("CAPTION", caption())
}
