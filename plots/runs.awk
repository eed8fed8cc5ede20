# runs.awk: one row per training run (rows sharing the `keys` columns): its last row (highest
# train_s; all columns of all files), best_p_at_1, budget_s (the dataset's shortest run),
# p_at_budget (p_at_1 of the last row with train_s <= 1.05 budget_s), target (-v target, else 90 %
# of the dataset's lowest best_p_at_1, floored to 0.01), reach_s (first train_s with p_at_1 >=
# target; NA: never), A_per_B per "A/B" in -v ratios. awk -v keys=a,b [-v ratios=..] -f runs.awk CSV...
BEGIN { FS = OFS = ","; nk = split(keys, K, ","); nr = split(ratios, R, " ") }
{ sub(/\r$/, "") }
FNR == 1 { split("", C); for (i = 1; i <= NF; i++) { C[$i] = i; if (!($i in H)) HN[++nh] = $i; H[$i] = 1 }; next }
function v(c) { return (c in C) && $(C[c]) != "" ? $(C[c]) : "NA" }
function num(x) { return x ~ /^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$/ }
!num(v("train_s")) { next }
{
    g = ""; for (i = 1; i <= nk; i++) g = g SUBSEP v(K[i])
    if (!(g in G)) { G[g] = ++n; DS[n] = v("dataset"); LAST[n] = -1; BEST[n] = "NA" }
    r = G[g]; t = v("train_s") + 0; p = v("p_at_1")
    NP[r]++; PT[r, NP[r]] = t; PY[r, NP[r]] = p
    if (num(p) && (BEST[r] == "NA" || p + 0 > BEST[r])) BEST[r] = p + 0
    if (t >= LAST[r]) { LAST[r] = t; for (c in C) V[r, c] = $(C[c]) }
}
END {
    for (r = 1; r <= n; r++) {
        d = DS[r]; if (!(d in B) || LAST[r] < B[d]) B[d] = LAST[r]
        if (BEST[r] != "NA" && (!(d in LO) || BEST[r] < LO[d])) LO[d] = BEST[r]
    }
    s = ""; for (i = 1; i <= nh; i++) s = s HN[i] OFS
    for (i = 1; i <= nr; i++) s = s R[i] OFS
    gsub(/\//, "_per_", s); print s "best_p_at_1,budget_s,p_at_budget,target,reach_s"
    for (r = 1; r <= n; r++) {
        d = DS[r]; s = ""
        for (i = 1; i <= nh; i++) s = s (((r, HN[i]) in V) && V[r, HN[i]] != "" ? V[r, HN[i]] : "NA") OFS
        for (i = 1; i <= nr; i++) { split(R[i], ab, "/"); a = V[r, ab[1]]; b = V[r, ab[2]]; s = s (num(a) && num(b) && b > 0 ? a / b : "NA") OFS }
        T = target != "" ? target + 0 : (d in LO) ? int(LO[d] * 0.9 * 100) / 100 : "NA"
        pb = "NA"; bt = -1; rs = "NA"
        for (j = 1; j <= NP[r]; j++) {
            t = PT[r, j]; p = PY[r, j]
            if (!num(p)) continue
            if (t <= 1.05 * B[d] && t >= bt) { bt = t; pb = p }
            if (T != "NA" && p + 0 >= T && (rs == "NA" || t < rs)) rs = t
        }
        print s BEST[r], B[d], pb, T, rs
    }
}
