# micro_hash.gp: hash_dense / hash_sparse vectors/s vs K*L from micro.csv, one curve per hash family
# and thread count (dash: threads); multi-probe configurations as circled points.
FIG_TITLE = "Hashing throughput vs K*L and threads (slide_hash_keys_*)"
DS_TEXT = "synthetic inputs"
load dir."/common.gp"
fam(x) = first(strcol("args"))
kl(x) = akey(strcol("args"), "K") * akey(strcol("args"), "L")
ok(x) = (strcol("family") eq "hash_dense" || strcol("family") eq "hash_sparse") && nc("vectors_per_s") > 0 && kl(0) > 0
pr(x) = akey(strcol("args"), "probes") eq "NA" ? 0 : int(akey(strcol("args"), "probes"))
# curve key rank:threads:probes>0:family:probes (sorted by sort(1) below)
key(x) = sprintf("%d:%s:%d:%s:%d", rk(fam(0)), strcol("threads"), pr(0) > 0, fam(0), pr(0))
CL = ""; TL = ""
stats F using (ok(0) ? (CL = uadd(CL, key(0)), TL = uadd(TL, strcol("threads")), 0) : 0) nooutput
if (CL eq "") { WHY = "no hash_dense / hash_sparse rows with vectors_per_s in micro.csv"; eval NODATA }
CL = system("printf '%s\\n' ".CL." | sort -t: -k1,1n -k2,2n -k3,3n | tr '\\n' ' '")
TL = system("printf '%s\\n' ".TL." | sort -n | tr '\\n' ' '")
W = 1600; H = 640
load dir."/ctx.gp"
part(k, i) = word(subst(k, ":", " "), i)
sel(p, k) = ok(0) && strcol("family") eq p && key(0) eq k ? kl(0) : NaN
LINE = "F using (keep(sel(p, '%s'), nc('vectors_per_s'))):(ly) smooth unique with linespoints lt %s dt %d title '%s', "
CIRC = "F using (sel(p, '%s')):'vectors_per_s' with points lt %s pt 6 ps 2.4 lw 2 title '%s', "
set multiplot layout 1,2 title FULL_TITLE font ",12"
set xlabel "K*L (hash functions per input, log scale)"
set ylabel "vectors hashed per second (all threads)"
set logscale xy
set key bottom left
do for [p in "hash_dense hash_sparse"] {
    set title (p eq "hash_dense" ? "dense 128-d inputs" : "sparse inputs, 76 of 135,909 nonzeros")." (".p.")" font ",11"
    cmd = ""
    do for [k in CL] {
        n = 0
        stats F using (sel(p, k) == sel(p, k) ? (n = n + 1, 0) : 0) nooutput
        if (n > 0) {
            t = part(k, 4).", ".part(k, 2)." thread".(part(k, 2) eq "1" ? "" : "s").(part(k, 5) eq "0" ? "" : ", ".part(k, 5)." probes")
            cmd = cmd.(part(k, 3) eq "0" ? sprintf(LINE, k, part(k, 1), idx(part(k, 2), TL), t) : sprintf(CIRC, k, part(k, 1), t))
        }
    }
    # a single x or y value: explicit ranges (autoscale would warn)
    x0 = NaN; x1 = NaN; y0 = NaN; y1 = NaN
    stats F using (ok(0) && strcol("family") eq p ? (x0 = kl(0) < x0 || x0 != x0 ? kl(0) : x0, x1 = kl(0) > x1 || x1 != x1 ? kl(0) : x1, \
        y0 = column("vectors_per_s") < y0 || y0 != y0 ? column("vectors_per_s") : y0, y1 = column("vectors_per_s") > y1 || y1 != y1 ? column("vectors_per_s") : y1, 0) : 0) nooutput
    if (x0 == x1) { set xrange [x0 / 2:x0 * 2] } else { set xrange [*:*] }
    if (y0 == y1) { set yrange [y0 / 2:y0 * 2] } else { set yrange [*:*] }
    set key on
    if (cmd eq "") {
        set key off; set label 10 "no data: no ".p." rows" at graph 0.5, graph 0.5 center font ",13" tc rgb "#aa0000"
        set xrange [1:10]; set yrange [1:10]; cmd = "1e30 notitle, "
    }
    eval "plot ".cmd[1:strlen(cmd) - 2]
    unset label 10
}
unset multiplot
