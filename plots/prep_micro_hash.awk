# prep_micro_hash.awk: hashing throughput (vectors/s, all threads together) against K*L (hash
# functions per input) from micro.csv families hash_dense (128-d dense inputs) and hash_sparse
# (Amazon-670K-shaped sparse inputs): one panel each, one curve per family and thread count;
# multi-probe configurations as separate points.

FNR == 1 { hdr(); next }
col("family") == "hash_dense" || col("family") == "hash_sparse" {
    micro_add("vectors_per_s")
    ctx_add()
}
END {
    PANT[1] = "dense 128-d inputs (hash_dense)"; PANT[2] = "sparse inputs, 76 of 135,909 nonzeros (hash_sparse)"
    for (p = 1; p <= 2; p++) { PANY[p] = "vectors hashed per second (all threads)"; PLOGX[p] = 1; PLOGY[p] = 1 }
    n = 0
    for (m = 1; m <= NMK; m++) {
        p = MKF[m] == "hash_dense" ? 1 : 2
        fam = arg_first(MKA[m]); K = arg_get(MKA[m], "K"); L = arg_get(MKA[m], "L")
        pr = arg_get(MKA[m], "probes"); th = MKT[m]
        v = micro_val(m, "vectors_per_s")
        if (v == "NA" || !isnum(K) || !isnum(L) || v <= 0) {
            if (m in MERR) ERRS = ERRS " " fam "/" th "thr"
            continue
        }
        g = p SUBSEP fam SUBSEP th SUBSEP (pr + 0 > 0 ? pr : 0)
        if (!(g in G)) { G[g] = ++n; GP[n] = p; GF[n] = fam; GT[n] = th; GR[n] = pr + 0; GN[n] = 0 }
        c = G[g]
        GN[c]++; GX[c, GN[c]] = K * L; GY[c, GN[c]] = v
        rng_add(p, K * L, v)
        if (!(th in TI)) { TI[th] = 1; NT++; TV[NT] = th }
    }
    if (n == 0) { meta_nodata("no hash_dense / hash_sparse rows with vectors_per_s in micro.csv"); exit }
    nsort(TV, NT)
    for (i = 1; i <= NT; i++) TDT[TV[i]] = i
    # curves ordered by panel, family, threads
    for (c = 1; c <= n; c++) O[c] = (family_rank(GF[c]) * 1000 + GT[c] * 10 + (GR[c] > 0)) * 10000 + c
    nsort(O, n)
    for (i = 1; i <= n; i++) {
        c = O[i] % 10000
        # sort the points by x
        for (j = 1; j <= GN[c]; j++) XS[j] = GX[c, j] * 1e12 + j
        nsort(XS, GN[c])
        rows = ""
        for (j = 1; j <= GN[c]; j++) {
            k = int(XS[j] % 1e12 + 0.5)
            rows = rows (rows == "" ? "" : "\n") GX[c, k] "," GY[c, k]
        }
        t = GF[c] ", " GT[c] " thread" (GT[c] == 1 ? "" : "s") (GR[c] > 0 ? ", " GR[c] " probes" : "")
        curve_add(GP[c], GR[c] > 0 ? 4 : 1, t, family_rank(GF[c]), TDT[GT[c]], rows)
    }
    for (p = 1; p <= 2; p++) PANMSG[p] = "no data: no " (p == 1 ? "hash_dense" : "hash_sparse") " rows"
    panels_emit(2)
    layout_emit(2, 2)
    curves_emit(2, "kl,vectors_per_s")
    meta_str("XCOL", "kl")
    meta_str("YCOL", "vectors_per_s")
    meta_str("CAPTION", caption("synthetic inputs"))
}
