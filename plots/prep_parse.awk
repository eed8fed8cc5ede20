# prep_parse.awk: data loading speed from slide-bench-parse.csv (utc,host,bench,bytes,rep,seconds,
# mb_per_s): median MB/s over the repetitions per bench (text parse, binary cache load).

FNR == 1 { hdr(); skip = !(has("bench") && has("mb_per_s")); next }
skip { next }
{
    v = num("mb_per_s")
    if (v == "NA") next
    b = col("bench")
    uadd("host", col("host"))
    if (isnum(col("bytes"))) MB[b] = sprintf("%.0f MB", col("bytes") / 1e6)
    if (!(b in BI)) { BI[b] = ++NB; BNM[NB] = b }
    V[b, ++VN[b]] = v
}
END {
    if (NB == 0) { meta_nodata("no rows with mb_per_s"); exit }
    PANT[1] = "median MB/s over the repetitions"
    PANY[1] = "MB/s"
    PANXR[1] = "[0.4:" NB + 0.6 "]"
    for (i = 1; i <= NB; i++) {
        b = BNM[i]
        for (j = 1; j <= VN[b]; j++) A[j] = V[b, j]
        v = median(A, VN[b])
        xtic_add(1, b ((b in MB) ? " (" MB[b] ")" : ""), i)
        if (v <= 0) { note_add(1, i, "NA"); continue }
        rows = rows (rows == "" ? "" : "\n") bar_row(1, i, v, 0.6)
        vlab_add(1, i, v, sprintf("%.0f MB/s", v))
    }
    bar_add(1, "", 1, rows)
    panels_emit(1)
    layout_emit(1, 1)
    bars_emit(1)
    meta_str("CAPTION", caption("generated XC text (Amazon-670K-like rows)", "OMP_NUM_THREADS of the run (not recorded)"))
}
