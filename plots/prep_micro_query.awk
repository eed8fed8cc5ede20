# prep_micro_query.awk: bucket-query latency from micro.csv family lsh_query: p50 and p99 of the
# per-query time (one slide_lsh_query: union + dedup over L buckets, Amazon-670K-sized tables),
# one pair of bars per configuration; the tick label gives the configuration and the mean number
# of candidates returned.

FNR == 1 { hdr(); next }
col("family") == "lsh_query" {
    micro_add("p50_us p99_us candidates")
    ctx_add()
}
function short_args(a) {
    gsub(/:/, "", a); gsub(/\//, " ", a)
    sub(/probes/, "p", a); sub(/cap/, "c", a)
    return a
}
END {
    if (NMK == 0) { meta_nodata("no lsh_query rows in micro.csv"); exit }
    PANT[1] = "per-query time: p50 and p99 (median over repetitions)"
    PANY[1] = "microseconds per query (log scale)"
    PLOGY[1] = 1
    for (m = 1; m <= NMK; m++) {
        c = m
        cand = micro_val(m, "candidates")
        lab = short_args(MKA[m]) (isnum(cand) ? sprintf(" | %.0f ids", cand) : "")
        xtic_add(1, lab, c)
        for (s = 1; s <= 2; s++) {
            x = c + (s - 1.5) * 0.38
            v = micro_val(m, s == 1 ? "p50_us" : "p99_us")
            if (v == "NA" || v <= 0) { note_add(1, x, (m in MERR) ? "n/a: " short_err(MERR[m]) : "NA"); continue }
            S[s] = S[s] (S[s] == "" ? "" : "\n") bar_row(1, x, v, 0.36)
            vlab_add(1, x, v, sprintf("%.3g", v))
        }
    }
    bar_add(1, "p50", 1, S[1])
    bar_add(1, "p99", 4, S[2])
    PANXR[1] = "[0.4:" NMK + 0.6 "]"
    panels_emit(1)
    layout_emit(1, 1)
    bars_emit(1)
    meta_line("W = " (NMK * 70 + 500 > 1000 ? NMK * 70 + 500 : 1000))
    meta_str("CAPTION", caption("synthetic keys (670,091 neurons, the Amazon-670K output layer)"))
}
