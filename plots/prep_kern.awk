# prep_kern.awk: kernel paths from slide-bench-kern.csv (utc,host,bench,simd,regime,active,dim,rep,
# seconds,rows_per_s,gb_per_s): median rows/s over the repetitions per bench (kern_forward,
# kern_backward, kern_forward_bf16), regime (l2: rows in L2; mem / mem_thp: random rows of a large
# slab, 4 KB pages or THP) and SIMD path (scalar, avx2, avx512). The speedup over scalar labels
# each bar.

FNR == 1 { hdr(); skip = !(has("bench") && has("simd") && has("rows_per_s")); next }
skip { next }
{
    v = num("rows_per_s")
    if (v == "NA") next
    b = col("bench"); s = col("simd"); r = col("regime")
    if (col("active") != "NA" && r != "l2") r = r " (" col("active") " active)"
    uadd("host", col("host")); uadd("dim", col("dim"))
    if (!(b in BI)) { BI[b] = ++NBN; BNM[NBN] = b }
    if (!((b, r) in RI)) { RI[b, r] = ++NR_[b]; RNM[b, NR_[b]] = r }
    if (!(s in SI)) { SI[s] = 1 }
    k = b SUBSEP r SUBSEP s
    V[k, ++VN[k]] = v
}
END {
    if (NBN == 0) { meta_nodata("no rows with rows_per_s"); exit }
    split("scalar avx2 avx512", PATH, " ")
    COLR["scalar"] = 7; COLR["avx2"] = 1; COLR["avx512"] = 4
    for (p = 1; p <= NBN; p++) {
        b = BNM[p]
        PANT[p] = b (b ~ /forward_bf16/ ? ": gather_dot_bf16 over the active rows (bf16 weights)" : b ~ /forward/ ? ": gather_dot over the active rows" : b ~ /backward/ ? ": two axpy per active row" : "")
        PANY[p] = "rows per second (median, log scale)"
        PLOGY[p] = 1
        PANXR[p] = "[0.4:" NR_[b] + 0.6 "]"
        for (c = 1; c <= NR_[b]; c++) {
            r = RNM[b, c]
            xtic_add(p, r, c)
            k0 = b SUBSEP r SUBSEP "scalar"
            sc = (k0 in VN) ? MED[k0] = med(k0) : "NA"
            for (j = 1; j <= 3; j++) {
                x = c + (j - 2) * 0.27
                k = b SUBSEP r SUBSEP PATH[j]
                if (!(k in VN)) { note_add(p, x, PATH[j] ": not run"); continue }
                v = med(k)
                S[p, j] = S[p, j] (S[p, j] == "" ? "" : "\n") bar_row(p, x, v, 0.25)
                vlab_add(p, x, v, sprintf("%.3g", v) (sc != "NA" && j > 1 ? sprintf(" (%.1fx)", v / sc) : ""))
            }
        }
        for (j = 1; j <= 3; j++) bar_add(p, PATH[j], COLR[PATH[j]], S[p, j])
    }
    panels_emit(NBN)
    layout_emit(NBN, 2)
    bars_emit(NBN)
    meta_str("CAPTION", caption("synthetic rows (dim " ulist("dim", "n/a", 3) ")", "1 (single-thread benchmark)"))
}
function med(k,   i, A) {
    for (i = 1; i <= VN[k]; i++) A[i] = V[k, i]
    return median(A, VN[k])
}
