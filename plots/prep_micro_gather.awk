# prep_micro_gather.awk: gather rate against page size from micro.csv family hugepages_gather
# (random 512-byte rows of a slab on 4 KB pages, THP or explicit 2 MB pages): GB/s per mode, one
# series per slab size, with the sequential read of the same slab (ref_gb_per_s, from
# hugepages_seq/none) as a dashed reference line. Modes that could not run are labelled gaps.

FNR == 1 { hdr(); next }
col("family") == "hugepages_gather" {
    micro_add("gb_per_s ref_gb_per_s ratio_to_seq")
    ctx_add()
}
END {
    if (NMK == 0) { meta_nodata("no hugepages_gather rows in micro.csv"); exit }
    split("none thp explicit", MODE, " ")
    for (m = 1; m <= NMK; m++) {
        mb = arg_get(MKA[m], "mb")
        if (isnum(mb) && !(mb in MI_)) { MI_[mb] = 1; NMB++; MBV[NMB] = mb }
    }
    nsort(MBV, NMB)
    PANT[1] = "random 512-byte rows (gather_dot) vs the sequential read of the same slab"
    PANY[1] = "GB/s (row bytes read per second)"
    for (c = 1; c <= 3; c++) xtic_add(1, MODE[c] (c == 1 ? " (4 KB pages)" : c == 2 ? " (THP, 2 MB)" : " (explicit 2 MB)"), c)
    for (j = 1; j <= NMB; j++) {
        ref = "NA"
        for (c = 1; c <= 3; c++) {
            x = c + (j - (NMB + 1) / 2) * 0.8 / NMB
            found = 0
            for (m = 1; m <= NMK; m++) {
                if (arg_first(MKA[m]) != MODE[c] || arg_get(MKA[m], "mb") != MBV[j]) continue
                found = 1
                v = micro_val(m, "gb_per_s")
                r = micro_val(m, "ref_gb_per_s")
                if (r != "NA") ref = r
                if (v == "NA") { note_add(1, x, "n/a: " ((m in MERR) ? short_err(MERR[m]) : "NA")); continue }
                S[j] = S[j] (S[j] == "" ? "" : "\n") bar_row(1, x, v, 0.8 / NMB * 0.9)
                rt = micro_val(m, "ratio_to_seq")
                vlab_add(1, x, v, sprintf("%.2f", v) (rt != "NA" ? sprintf(" (%.0f%%)", rt * 100) : ""))
            }
            if (!found) note_add(1, x, "not run")
        }
        bar_add(1, "gather, " MBV[j] " MB slab", j == 1 ? 1 : j == 2 ? 2 : j + 2, S[j])
        if (ref != "NA") {
            rng_add(1, "", ref)
            ref_add(1, "sequential read, " MBV[j] " MB slab (hugepages_seq/none): " sprintf("%.2f", ref) " GB/s", "0.4," ref "\n3.6," ref)
        }
    }
    PANXR[1] = "[0.4:3.6]"
    panels_emit(1)
    layout_emit(1, 1)
    bars_emit(1)
    meta_str("CAPTION", caption("synthetic slab"))
}
