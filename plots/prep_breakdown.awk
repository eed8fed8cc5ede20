# prep_breakdown.awk: where training time goes, from the <csv stem>.breakdown.csv files that
# slide-train writes (one row per run): hash / query / forward / backward / update / rehash /
# unaccounted (train_s minus the phases) per configuration, as stacked bars of microseconds per
# training sample (top) and of shares of train_s (bottom). Bars are labelled source: system,
# hash configuration, threads.

BEGIN {
    NPH = split("hash_s query_s forward_s backward_s update_s rehash_s unaccounted_s", PH, " ")
    split("hash query forward backward update (Adam) rehash / rebuild unaccounted", PHT, " ")
    PHT[1] = "hash"; PHT[2] = "query"; PHT[3] = "forward"; PHT[4] = "backward"
    PHT[5] = "update (Adam)"; PHT[6] = "rehash / rebuild"; PHT[7] = "unaccounted"
    split("1 9 3 2 5 4 7", PHC, " ")
}
FNR == 1 {
    hdr()
    skip = !(has("train_s") && (has("samples") || has("samples_seen")))
    if (skip) SKIPPED = SKIPPED " " FILENAME
    src = FILENAME; sub(/.*\//, "", src); sub(/\.breakdown\.csv$/, "", src)
    next
}
skip { next }
{
    t = num("train_s"); n = has("samples") ? num("samples") : num("samples_seen")
    if (t == "NA" || n == "NA" || t <= 0 || n <= 0) next
    ctx_add()
    lab = src ": " col("system")
    if (col("hash_family") != "NA") lab = lab " " col("hash_family") " K" col("K") " L" col("L")
    lab = lab " " col("threads") "t"
    if (++DUP[lab] > 1) lab = lab " #" DUP[lab]
    NB++
    BL[NB] = lab; BT_[NB] = t; BN[NB] = n
    for (i = 1; i <= NPH; i++) {
        v = num(PH[i])
        if (v == "NA") { v = 0; MISS[NB] = 1 }
        BV[NB, i] = v
    }
}
END {
    if (NB == 0) {
        meta_nodata("no rows with train_s and samples" (SKIPPED != "" ? " (missing columns in" SKIPPED ")" : ""))
        exit
    }
    PANT[1] = "microseconds per training sample, by phase"; PANY[1] = "us / sample"
    PANT[2] = "share of training time (train_s)"; PANY[2] = "% of train_s"
    for (p = 1; p <= 2; p++) PANXR[p] = "[0.4:" NB + 0.6 "]"
    for (b = 1; b <= NB; b++) {
        xtic_add(1, BL[b], b); xtic_add(2, BL[b], b)
        neg = BV[b, NPH] < 0
        if (neg) BV[b, NPH] = 0
        cum = 0
        for (i = 1; i <= NPH; i++) { cum += BV[b, i]; CUM[b, i] = cum }
        for (p = 1; p <= 2; p++) {
            f = p == 1 ? 1e6 / BN[b] : 100 / BT_[b]
            for (i = NPH; i >= 1; i--) {
                v = CUM[b, i] * f
                if (v <= 0) continue
                S[p, i] = S[p, i] (S[p, i] == "" ? "" : "\n") bar_row(p, b, v, 0.7)
            }
            tot = CUM[b, NPH] * f
            if (p == 1) vlab_add(p, b, tot, sprintf("%.0f", tot))
            else if (neg || (b in MISS))
                vlab_add(p, b, tot, (neg ? "phases > train_s" : "") (b in MISS ? " some phases NA" : ""))
        }
    }
    # largest cumulative first, so each smaller one is drawn over it
    for (p = 1; p <= 2; p++) for (i = NPH; i >= 1; i--) bar_add(p, p == 1 ? PHT[i] : "", PHC[i], S[p, i])
    panels_emit(2)
    meta_line("COLS = 1")
    meta_line("ROWS = 2")
    bars_emit(2)
    meta_line("W = " (NB * 80 + 450 > 1100 ? NB * 80 + 450 : 1100))
    meta_str("CAPTION", caption())
}
