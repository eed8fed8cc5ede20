# prep_hugepages.awk: hugepage modes none / thp / explicit from hugepages.csv (training schema plus
# optional papi_* / rusage_* columns). Per run its last row: time per epoch (train_s / epoch) and
# counters per training sample (counter / samples_seen; counters are taken as totals over the run
# so far). A mode is the requested one (hugepages_requested); a run that fell back says so under
# its bar. NA counters (no PMU, e.g. in a VM) become a labelled gap. Several runs: median.

FNR == 1 {
    hdr()
    skip = !has("train_s")
    for (i = 1; i <= NCTR; i++) if (has(CTR[i])) HASCOL[CTR[i]] = 1
    next
}
BEGIN {
    NCTR = split("papi_tlb_dm papi_l1_dcm papi_l2_dcm papi_l3_tcm papi_perf_page_faults rusage_minflt", CTR, " ")
}
skip { next }
{
    t = num("train_s")
    if (t == "NA") next
    mode = col("hugepages_requested")
    if (mode == "NA") mode = col("hugepages")
    run = col("run_id") SUBSEP mode
    ctx_add()
    if (!(run in RK)) { RK[run] = ++NRN; RMODE[NRN] = mode; RLAST[NRN] = -1 }
    r = RK[run]
    if (t < RLAST[r]) next
    RLAST[r] = t
    REP[r] = num("epoch"); RSS[r] = num("samples_seen"); REFF[r] = col("hugepages")
    for (i = 1; i <= NCTR; i++) RC[r, CTR[i]] = num(CTR[i])
}
# per_mode(mode, what): median over the mode's runs; what = "epoch" or a counter column.
function per_mode(mode, what,   r, n, A, v) {
    n = 0
    for (r = 1; r <= NRN; r++) {
        if (RMODE[r] != mode) continue
        if (what == "epoch") v = (isnum(REP[r]) && REP[r] > 0) ? RLAST[r] / REP[r] : "NA"
        else v = (RC[r, what] != "NA" && isnum(RSS[r]) && RSS[r] > 0) ? RC[r, what] / RSS[r] : "NA"
        if (v != "NA") A[++n] = v
    }
    return median(A, n)
}
function why_na(c) { return (c in HASCOL) ? "NA (no PMU)" : "NA (not recorded)" }
# one bar (panel p, series s of ns, category c) or its note
function bar(p, s, ns, c, what, fmtv,   x, v) {
    x = c + (s - (ns + 1) / 2) * 0.8 / ns
    if (!(c in NRUNS)) { note_add(p, x, "no run"); return }
    v = per_mode(MODES[c], what)
    if (v == "NA") { note_add(p, x, what == "epoch" ? "NA" : why_na(what)); return }
    SER[p, s] = SER[p, s] (SER[p, s] == "" ? "" : "\n") bar_row(p, x, v, 0.8 / ns * 0.9)
    vlab_add(p, x, v, sprintf(fmtv, v))
}
END {
    if (NRN == 0) { meta_nodata("no rows with train_s in hugepages.csv"); exit }
    split("none thp explicit", MODES, " ")
    for (r = 1; r <= NRN; r++) for (c = 1; c <= 3; c++) if (RMODE[r] == MODES[c]) {
        NRUNS[c]++
        if (REFF[r] != MODES[c] && REFF[r] != "NA") FELL[c] = FELL[c] (FELL[c] == "" ? "" : "/") REFF[r]
    }
    PANT[1] = "time per epoch"; PANY[1] = "train_s / epoch [s]"
    PANT[2] = "dTLB misses per sample (PAPI_TLB_DM)"; PANY[2] = "misses / sample"
    PANT[3] = "cache misses per sample (PAPI_L1_DCM, L2_DCM, L3_TCM)"; PANY[3] = "misses / sample"
    pf = ("papi_perf_page_faults" in HASCOL) ? "papi_perf_page_faults" : "rusage_minflt"
    PANT[4] = "page faults per sample (" pf ")"; PANY[4] = "faults / sample"
    for (c = 1; c <= 3; c++) {
        lab = MODES[c] (c == 1 ? " (4 KB)" : " (2 MB)")
        lab = lab "\\n" (NRUNS[c] + 0) " run" (NRUNS[c] == 1 ? "" : "s")
        if (c in FELL) lab = lab ", ran as " FELL[c]
        for (p = 1; p <= 4; p++) xtic_add(p, lab, c)
        bar(1, 1, 1, c, "epoch", "%.3g s")
        bar(2, 1, 1, c, "papi_tlb_dm", "%.3g")
        bar(3, 1, 3, c, "papi_l1_dcm", "%.3g")
        bar(3, 2, 3, c, "papi_l2_dcm", "%.3g")
        bar(3, 3, 3, c, "papi_l3_tcm", "%.3g")
        bar(4, 1, 1, c, pf, "%.3g")
    }
    bar_add(1, "", 1, SER[1, 1])
    bar_add(2, "", 4, SER[2, 1])
    bar_add(3, "L1D", 5, SER[3, 1]); bar_add(3, "L2D", 6, SER[3, 2]); bar_add(3, "L3", 7, SER[3, 3])
    bar_add(4, "", 3, SER[4, 1])
    for (p = 1; p <= 4; p++) PANXR[p] = "[0.4:3.6]"
    panels_emit(4)
    layout_emit(4, 2)
    bars_emit(4)
    meta_str("CAPTION", caption())
}
