# median.awk: one row per configuration (values of the `keys` columns), same header; each other
# column is the median of its numeric values, else its first value not NA. Google Benchmark: the
# `median` aggregate row counts only without iteration rows; other aggregates are dropped.
# Usage: awk -v keys="family,args,threads" -f median.awk FILE > OUT
BEGIN { FS = OFS = ","; nk = split(keys, K, ",") }
{ sub(/\r$/, "") }
NR == 1 { hdr = $0; for (i = 1; i <= NF; i++) C[$i] = i; nf = NF; next }
("run_type" in C) && $(C["run_type"]) == "aggregate" && $(C["aggregate_name"]) != "median" { next }
{
    g = ""
    for (i = 1; i <= nk; i++) g = g SUBSEP ((K[i] in C) ? $(C[K[i]]) : "")
    agg = ("run_type" in C) && $(C["run_type"]) == "aggregate"
    if (!(g in G)) { G[g] = ++ng; AGG[ng] = agg }
    k = G[g]
    if (AGG[k] && !agg) { AGG[k] = 0; N[k] = 0 }  # iteration rows replace an aggregate row
    else if (!AGG[k] && agg) next
    n = ++N[k]
    for (i = 1; i <= nf; i++) V[k, n, i] = $i
}
function median(k, i,   n, j, m, t, A) {
    n = 0
    for (j = 1; j <= N[k]; j++) if (V[k, j, i] ~ /^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$/) A[++n] = V[k, j, i] + 0
    for (j = 1; j <= N[k]; j++) if (V[k, j, i] != "NA" && V[k, j, i] != "" && n == 0) return V[k, j, i]
    if (n == 0) return "NA"
    for (j = 2; j <= n; j++) { t = A[j]; for (m = j - 1; m >= 1 && A[m] > t; m--) A[m + 1] = A[m]; A[m + 1] = t }
    return n % 2 ? A[(n + 1) / 2] : (A[n / 2] + A[n / 2 + 1]) / 2
}
END {
    print hdr
    for (k = 1; k <= ng; k++) {
        s = ""
        for (i = 1; i <= nf; i++) s = s (i > 1 ? OFS : "") median(k, i)
        print s
    }
}
