# prep_recall.awk: the recall diagnosis from slide-train's <csv stem>.recall.csv (results/SCHEMA.md):
# one panel per run (its last evaluation), x = cosine between the vector the tables hash for a
# neuron and the query's, solid: share of the neurons in each cosine bin that the sampler found
# (bins with at least 5 neurons), dashed: how the neurons spread over the bins. Two sets: the
# points' exact top-5 neurons (what recall_at_5 counts) and as many random neurons (the bulk).

BEGIN { MAXP = 6 }
FNR == 1 {
    hdr()
    skip = !(has("neurons_of") && has("cos_lo") && has("neurons") && has("found") && has("iter"))
    if (skip) SKIPPED = SKIPPED " " FILENAME
    next
}
skip { next }
{
    it = num("iter"); lo = num("cos_lo"); n = num("neurons"); f = num("found"); s = col("neurons_of")
    if (it == "NA" || lo == "NA" || n == "NA" || f == "NA" || n <= 0) next
    if (s != "top5" && s != "random") next
    ctx_add()
    run = col("run_id") SUBSEP col("dataset") SUBSEP col("hash_family") SUBSEP col("K") SUBSEP col("L")
    if (!(run in RI)) {
        RI[run] = ++NR_
        RT[NR_] = col("dataset") ": " col("hash_family") " K=" col("K") " L=" col("L") \
                  (col("mips") == "1" ? " MIPS" : "") (col("probes") + 0 > 0 ? " probes " col("probes") : "")
        RL[NR_] = -1
    }
    r = RI[run]
    if (it > RL[r]) RL[r] = it
    b = int((lo + 1) * 10 + 0.5)
    if (b < 0) b = 0
    if (b > 19) b = 19
    key = r SUBSEP it SUBSEP s SUBSEP b
    N[key] += n; F[key] += f
}
END {
    if (NR_ == 0) {
        meta_nodata("no recall diagnosis rows" (SKIPPED != "" ? " (missing columns in" SKIPPED ")" : ""))
        exit
    }
    np = NR_ < MAXP ? NR_ : MAXP
    for (p = 1; p <= np; p++) {
        it = RL[p]
        nt = 0; ft = 0; nr = 0
        for (b = 0; b < 20; b++) {
            nt += N[p, it, "top5", b]; ft += F[p, it, "top5", b]; nr += N[p, it, "random", b]
        }
        PANT[p] = RT[p] ", iter " it ": recall@5 " (nt > 0 ? sprintf("%.3f", ft / nt) : "NA")
        PANY[p] = "fraction"
        PANXR[p] = "[-1:1]"
        PANYR[p] = "[0:1.05]"
        PANMSG[p] = "no data"
        for (si = 1; si <= 2; si++) {
            s = si == 1 ? "top5" : "random"
            tot = si == 1 ? nt : nr
            found = ""; share = ""
            for (b = 0; b < 20; b++) {
                n = N[p, it, s, b]
                if (n <= 0) continue
                x = -1 + (b + 0.5) * 0.1
                share = share (share == "" ? "" : "\n") x "," n / tot
                if (n >= 5) found = found (found == "" ? "" : "\n") x "," F[p, it, s, b] / n
            }
            name = si == 1 ? "exact top-5" : "random neurons"
            curve_add(p, 1, name ": share found by the sampler", si, 1, found)
            curve_add(p, 3, name ": share at this cosine", si, 1, share)
        }
    }
    panels_emit(np)
    layout_emit(np, 2)
    curves_emit(np, "cos,frac")
    meta_str("XCOL", "cos")
    meta_str("YCOL", "frac")
    meta_str("CAPTION", caption() (NR_ > np ? "\\n" NR_ - np " more runs not shown" : ""))
}
