# prep_hash.awk: hash families (SimHash / WTA / DWTA) from hash.csv (training schema), one column
# of panels per thread count: top row training throughput (samples_seen / train_s of the run's
# last row), bottom row P@1 at a common training-time budget B = the shortest run's train_s
# (P@1 of each run's last row with train_s <= 1.05 B; runs made with the same --time-budget use
# their final, full-test-set row). Several runs of one configuration: median.

FNR == 1 {
    hdr()
    skip = !(has("hash_family") && has("train_s") && has("p_at_1"))
    if (skip) SKIPPED = SKIPPED " " FILENAME
    next
}
skip { next }
{
    fam = col("hash_family"); t = num("train_s"); th = num("threads")
    if (fam == "NA" || t == "NA") next
    if (th == "NA") th = 0
    ds = col("dataset"); run = col("run_id")
    ctx_add()
    key = run SUBSEP ds SUBSEP fam SUBSEP th
    if (!(key in RK)) {
        RK[key] = ++NRN
        RDS[NRN] = ds; RF_[NRN] = fam; RTH[NRN] = th; RLAST[NRN] = -1; RN[NRN] = 0
        if (!(ds in DSI)) { DSI[ds] = ++NDS; DSN[NDS] = ds }
        if (!(th in THI)) { THI[th] = 1; NTH++; THV[NTH] = th }
        if (!(fam in FAMI)) { FAMI[fam] = 1; NFAM++; FAMV[NFAM] = family_rank(fam) * 1000 + NFAM; FAMN[NFAM] = fam }
        CFG[fam] = "K=" col("K") " L=" col("L") (col("range_bits") != "NA" ? " rb=" col("range_bits") : "")
    }
    r = RK[key]
    RN[r]++
    RX[r, RN[r]] = t; RY[r, RN[r]] = num("p_at_1")
    if (t > RLAST[r]) { RLAST[r] = t; RSPS[r] = num("samples_seen") }
}
END {
    if (NRN == 0) {
        meta_nodata("no slide rows with hash_family, train_s and p_at_1" (SKIPPED != "" ? " (missing columns in" SKIPPED ")" : ""))
        exit
    }
    # budget per dataset
    for (r = 1; r <= NRN; r++) if (!(RDS[r] in B) || RLAST[r] < B[RDS[r]]) B[RDS[r]] = RLAST[r]
    nsort(THV, NTH)
    for (i = 1; i <= NFAM; i++) FO[i] = FAMV[i]
    nsort(FO, NFAM)
    # categories: (dataset, family), datasets in order, families in paper order
    ncat = 0
    for (d = 1; d <= NDS; d++) for (i = 1; i <= NFAM; i++) {
        fam = FAMN[FO[i] % 1000]
        ncat++; CATD[ncat] = DSN[d]; CATF[ncat] = fam; CATR[ncat] = family_rank(fam)
    }
    bl = ""
    for (d = 1; d <= NDS; d++) bl = bl (bl == "" ? "" : ", ") DSN[d] " " sprintf("%.1f", B[DSN[d]]) " s"
    for (j = 1; j <= NTH; j++) {
        th = THV[j]
        pa = j; pb = NTH + j
        PANT[pa] = "threads = " th ": training throughput"
        PANY[pa] = "samples/s (last row: samples_seen / train_s)"
        PANT[pb] = "threads = " th ": P@1 at the budget (" bl ")"
        PANY[pb] = "P@1"
        PANXR[pa] = PANXR[pb] = "[0.4:" ncat + 0.6 "]"
        for (c = 1; c <= ncat; c++) {
            ns = 0; np1 = 0
            for (r = 1; r <= NRN; r++) {
                if (RDS[r] != CATD[c] || RF_[r] != CATF[c] || RTH[r] != th) continue
                if (isnum(RSPS[r]) && RLAST[r] > 0) S[++ns] = RSPS[r] / RLAST[r]
                best = -1; yb = "NA"
                for (i = 1; i <= RN[r]; i++)
                    if (RX[r, i] <= 1.05 * B[CATD[c]] && RX[r, i] >= best && RY[r, i] != "NA") { best = RX[r, i]; yb = RY[r, i] }
                if (yb != "NA") P[++np1] = yb
            }
            lab = CATF[c] "\\n" CFG[CATF[c]] (NDS > 1 ? "\\n" CATD[c] : "")
            xtic_add(pa, lab, c); xtic_add(pb, lab, c)
            if (ns) {
                v = median(S, ns)
                bar_add(pa, "", CATR[c], bar_row(pa, c, v, 0.6))
                vlab_add(pa, c, v, sprintf("%.0f", v))
            } else note_add(pa, c, "no data")
            if (np1) {
                v = median(P, np1)
                bar_add(pb, "", CATR[c], bar_row(pb, c, v, 0.6))
                vlab_add(pb, c, v, sprintf("%.3f", v))
            } else note_add(pb, c, "no data")
        }
    }
    panels_emit(2 * NTH)
    meta_line("COLS = " NTH)
    meta_line("ROWS = 2")
    bars_emit(2 * NTH)
    meta_str("CAPTION", caption())
}
