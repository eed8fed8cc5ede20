# prep_bucket.awk: hash-table insertion time, FIFO vs reservoir buckets (the paper's Table 3), from
# micro.csv: lsh_insert (one slide_lsh_insert per neuron, one thread) and lsh_build (one
# slide_lsh_build, OpenMP over tables), seconds per full insertion = real_time_ns / 1e9, next to
# the paper's 0.762 s (FIFO) and 0.371 s (reservoir) on a 44-core Xeon.

FNR == 1 { hdr(); next }
col("family") == "lsh_insert" || col("family") == "lsh_build" {
    m = micro_add("real_time_ns omp_threads neurons")
    ctx_add()
    if (CONF == "") { CONF = col("args"); sub(/^[a-z]+\//, "", CONF); gsub(/\//, " ", CONF) }
}
END {
    POL[1] = "fifo"; POL[2] = "reservoir"
    PAPER["fifo"] = 0.762; PAPER["reservoir"] = 0.371
    FAM[1] = "lsh_insert"; FAM[2] = "lsh_build"
    PANT[1] = "inserting the neurons of one layer into L tables" (CONF != "" ? " (" CONF ")" : "")
    PANY[1] = "seconds per full insertion (median of repetitions)"
    PANXR[1] = "[0.4:2.6]"
    for (c = 1; c <= 2; c++) {
        xtic_add(1, c == 1 ? "FIFO" : "reservoir", c)
        for (s = 1; s <= 2; s++) {
            x = c + (s - 2) * 0.27
            found = 0
            for (m = 1; m <= NMK; m++) {
                if (MKF[m] != FAM[s] || arg_first(MKA[m]) != POL[c]) continue
                found = 1
                v = micro_val(m, "real_time_ns")
                if (v == "NA") { note_add(1, x, (m in MERR) ? "n/a: " short_err(MERR[m]) : "NA"); continue }
                v = v / 1e9
                if (s == 2) { th = micro_val(m, "omp_threads"); if (th != "NA") THR = th }
                ROWS[s] = ROWS[s] (ROWS[s] == "" ? "" : "\n") bar_row(1, x, v, 0.25)
                vlab_add(1, x, v, sprintf("%.3f s", v))
            }
            if (!found) note_add(1, x, "no data: no " FAM[s] " row")
        }
        x = c + 0.27
        v = PAPER[POL[c]]
        ROWS[3] = ROWS[3] (ROWS[3] == "" ? "" : "\n") bar_row(1, x, v, 0.25)
        vlab_add(1, x, v, sprintf("%.3f s", v))
    }
    bar_add(1, "ours: lsh_insert (1 thread, one insert per neuron)", 1, ROWS[1])
    bar_add(1, "ours: lsh_build (OpenMP over tables" (THR != "" ? ", " THR " threads" : "") ")", 3, ROWS[2])
    bar_add(1, "paper (44-core Xeon)", 7, ROWS[3])
    panels_emit(1)
    layout_emit(1, 1)
    bars_emit(1)
    meta_str("CAPTION", caption("synthetic keys (Delicious-200K output layer: 205,443 neurons)"))
}
