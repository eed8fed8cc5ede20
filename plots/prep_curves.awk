# prep_curves.awk: P@1 against x (-v xcol=train_s or iter, -v xlog=1 drops x <= 0) from training
# CSVs (slide-train schema: slide, slide-full, dense-cpu, dense-gpu, torch-*). One panel per
# dataset, one curve per run; rows of the full test set (eval_set=full) also get a large marker.
# Systems the paper compares that have no rows for a dataset get a "no data" key entry.

BEGIN { EXPECTED = "slide slide-full dense-cpu dense-gpu" }

FNR == 1 {
    hdr()
    skip = !(has("p_at_1") && has(xcol))
    if (skip) SKIPPED = SKIPPED " " FILENAME
    next
}
skip { next }
{
    x = num(xcol); y = num("p_at_1")
    if (x == "NA" || y == "NA" || (xlog && x <= 0)) next
    ds = col("dataset"); sys = col("system"); run = col("run_id")
    if (ds == "NA") ds = "dataset n/a"
    ctx_add()
    if (!(ds in DSI)) { DSI[ds] = ++NDS; DSN[NDS] = ds }
    key = ds SUBSEP sys SUBSEP run
    if (!(key in CK)) {
        CK[key] = ++NCK
        CKD[NCK] = ds; CKS[NCK] = sys
        CKN[NCK] = ++NRUN[ds, sys]
        CKC[NCK] = (col("hash_family") != "NA" && sys !~ /full|dense|torch/) ? \
            col("hash_family") " K=" col("K") " L=" col("L") ", " : ""
        g = col("gpu_model")
        CKC[NCK] = CKC[NCK] ((g != "NA" && g != "") ? g : col("threads") " thr")
        SEEN[ds, sys] = 1
    }
    k = CK[key]
    full = col("eval_set") == "full"
    row = x "," y "," full
    CKR[k] = CKR[k] (CKR[k] == "" ? "" : "\n") row
    if (full) CKF[k] = CKF[k] (CKF[k] == "" ? "" : "\n") row
    p = DSI[ds]
    PLOGX[p] = xlog
    rng_add(p, x, y)
}
END {
    if (NCK == 0) {
        meta_nodata("no rows with " xcol " and p_at_1" (SKIPPED != "" ? " (missing columns in" SKIPPED ")" : ""))
        exit
    }
    nexp = split(EXPECTED, E, " ")
    for (p = 1; p <= NDS; p++) {
        ds = DSN[p]
        PANT[p] = ds
        n = 0
        for (k = 1; k <= NCK; k++) if (CKD[k] == ds) { n++; ORD[n] = sys_rank(CKS[k]) * 100000 + k; IDX[ORD[n]] = k }
        nsort(ORD, n)
        marked = 0
        for (i = 1; i <= n; i++) {
            k = IDX[ORD[i]]
            t = CKS[k]
            if (NRUN[ds, CKS[k]] > 1) t = t " #" CKN[k] " (" CKC[k] ")"
            else t = t " (" CKC[k] ")"
            lt = sys_rank(CKS[k])
            curve_add(p, 1, t, lt, CKN[k], CKR[k])
            if (k in CKF) { curve_add(p, 4, "", lt, 1, CKF[k]); marked = 1 }
        }
        if (marked) key_add(p, 2, "full test set (last row of a run)", 1)
        for (j = 1; j <= nexp; j++)
            if (!((ds, E[j]) in SEEN)) key_add(p, 1, E[j] ": no data (not run)", 1)
    }
    panels_emit(NDS)
    layout_emit(NDS, 2)
    curves_emit(NDS, xcol ",p_at_1,full_test")
    meta_str("XCOL", xcol)
    meta_str("YCOL", "p_at_1")
    meta_str("CAPTION", caption())
}
