# prep_micro_matmul.awk: active-set sparse matmul, scalar vs AVX2 vs AVX-512 kernels, from
# micro.csv families matmul_fwd (gather_dot) and matmul_bwd (two axpy per row): rows/s per
# active-set size. A path this CPU lacks (error_message) is a labelled gap. Only the THP slab:
# args `<path>/thp/active:<n>` (older runs: `<path>/active:<n>`, THP too); the other page modes
# and matmul_gather_ref are not drawn here.

# Page mode of a matmul args string is its second item; without one (older runs) the slab was THP.
function thp_slab(args,   P) { split(args, P, "/"); return P[2] == "thp" || P[2] ~ /^active:/ }

FNR == 1 { hdr(); next }
(col("family") == "matmul_fwd" || col("family") == "matmul_bwd") && thp_slab(col("args")) {
    micro_add("rows_per_s")
    ctx_add()
}
END {
    if (NMK == 0) { meta_nodata("no matmul_fwd / matmul_bwd rows in micro.csv"); exit }
    split("scalar avx2 avx512", PATH, " ")
    COLR["scalar"] = 7; COLR["avx2"] = 1; COLR["avx512"] = 4
    PANT[1] = "forward: gather_dot of each active row (512 B read per row)"
    PANT[2] = "backward: two axpy per active row (1,536 B per row)"
    for (p = 1; p <= 2; p++) { PANY[p] = "active rows per second (log scale)"; PLOGY[p] = 1 }
    # active-set sizes, sorted
    for (m = 1; m <= NMK; m++) {
        a = arg_get(MKA[m], "active")
        if (isnum(a) && !(a in AI)) { AI[a] = 1; NA_++; AV[NA_] = a }
    }
    nsort(AV, NA_)
    for (i = 1; i <= NA_; i++) AX[AV[i]] = i
    for (p = 1; p <= 2; p++) {
        fam = p == 1 ? "matmul_fwd" : "matmul_bwd"
        for (i = 1; i <= NA_; i++) xtic_add(p, AV[i] " active rows", i)
        for (k = 1; k <= 3; k++) for (i = 1; i <= NA_; i++) {
            x = i + (k - 2) * 0.27
            found = 0
            for (m = 1; m <= NMK; m++) {
                if (MKF[m] != fam || arg_first(MKA[m]) != PATH[k] || arg_get(MKA[m], "active") != AV[i]) continue
                found = 1
                v = micro_val(m, "rows_per_s")
                if (v == "NA" || v <= 0) { note_add(p, x, PATH[k] ": " ((m in MERR) ? "n/a (" short_err(MERR[m]) ")" : "NA")); continue }
                S[p, k] = S[p, k] (S[p, k] == "" ? "" : "\n") bar_row(p, x, v, 0.25)
                vlab_add(p, x, v, sprintf("%.3g", v))
            }
            if (!found) note_add(p, x, PATH[k] ": not run")
        }
        for (k = 1; k <= 3; k++) bar_add(p, PATH[k], COLR[PATH[k]], S[p, k])
        PANXR[p] = "[0.4:" NA_ + 0.6 "]"
    }
    panels_emit(2)
    layout_emit(2, 2)
    bars_emit(2)
    meta_str("CAPTION", caption("synthetic 670,091 x 128 weight slab (Amazon-670K output layer)"))
}
