# recall.gp: per run (last evaluation, up to 6; e2e.recall.csv), share of the exact top-5 and of
# random neurons found (solid) and their spread (dashed) vs the cosine of neuron and query hash input.
FIG_TITLE = "Recall diagnosis: what the sampler finds, by cosine with the query"
load dir."/common.gp"
ok(x) = nc("iter") == nc("iter") && nc("cos_lo") == nc("cos_lo") && nc("neurons") > 0 && nc("found") == nc("found") && \
    (sc("neurons_of") eq "top5" || sc("neurons_of") eq "random")
run(x) = sc("run_id")."/".sc("dataset")."/".sc("hash_family")."/".sc("K")."/".sc("L")
RL = ""
stats F using (ok(0) ? (RL = uadd(RL, run(0)), 0) : 0) nooutput
if (RL eq "") { WHY = "no recall diagnosis rows"; eval NODATA }
NP = words(RL) < 6 ? words(RL) : 6
array LI[NP]; array RT[NP]
do for [p=1:NP] { LI[p] = -1 }
stats F using (ok(0) && idx(run(0), RL) <= NP ? (p = idx(run(0), RL), LI[p] = column("iter") > LI[p] ? column("iter") : LI[p], \
    RT[p] = sc("dataset").": ".sc("hash_family")." K=".sc("K")." L=".sc("L").(sc("mips") eq "1" ? " MIPS" : ""). \
    (nc("probes") > 0 ? " probes ".sc("probes") : ""), 0) : 0) nooutput
COLS = NP < 2 ? NP : 2; ROWS = (NP + 1) / 2
W = 750 * COLS + 100; H = 520 * ROWS + 80
load dir."/ctx.gp"
if (words(RL) > NP) { FULL_TITLE = FULL_TITLE."\n".(words(RL) - NP)." more runs not shown" }
# rows of panel p's last evaluation of set s; x = bin centre (20 bins of 0.1 over [-1, 1])
in(p, s) = ok(0) && run(0) eq word(RL, p) && column("iter") == LI[p] && strcol("neurons_of") eq s
bx_(b) = b < 0 ? -0.95 : b > 19 ? 0.95 : -1 + (b + 0.5) * 0.1
bx(x) = bx_(floor((column("cos_lo") + 1) * 10 + 0.5))
found(p, s) = in(p, s) && column("neurons") >= 5 ? bx(0) : NaN
share(p, s) = in(p, s) ? bx(0) : NaN
# lines join a curve across filtered rows: those repeat the curve's last point (smooth unique), or
# add 0 to it (smooth frequency, which sums the shares of bins written twice at one iter)
keep0(x, y) = ($0 == 0 ? (lx = NaN, ly = NaN) : 0, x == x ? (lx = x, ly = y) : (ly = 0), lx)
FOUND = "F using (keep(found(p, '%s'), column('found') / column('neurons'))):(ly) smooth unique with linespoints lt %d title '%s: share found by the sampler', "
SHARE = "F using (keep0(share(p, '%s'), column('neurons') / %.17g)):(ly) smooth frequency with lines lt %d dt 2 lw 1.5 title '%s: share at this cosine', "
set multiplot layout ROWS,COLS title FULL_TITLE font ",12"
set xlabel "cosine of the hashed vectors (neuron vs query)"
set ylabel "fraction"
set xrange [-1:1]; set yrange [0:1.05]
set key top left
do for [p=1:NP] {
    nt = 0; ft = 0; nr = 0; nf1 = 0; nf2 = 0
    stats F using (in(p, "top5") ? (nt = nt + column("neurons"), ft = ft + column("found"), nf1 = nf1 + (column("neurons") >= 5)) : 0, \
        in(p, "random") ? (nr = nr + column("neurons"), nf2 = nf2 + (column("neurons") >= 5)) : 0) nooutput
    set title RT[p].sprintf(", iter %d: recall@5 ", LI[p]).(nt > 0 ? sprintf("%.3f", ft / nt) : "NA") font ",11"
    cmd = (nf1 ? sprintf(FOUND, "top5", 1, "exact top-5") : "").(nf2 ? sprintf(FOUND, "random", 2, "random neurons") : ""). \
          (nt > 0 ? sprintf(SHARE, "top5", nt, 1, "exact top-5") : "").(nr > 0 ? sprintf(SHARE, "random", nr, 2, "random neurons") : "")
    eval "plot ".cmd[1:strlen(cmd) - 2]
}
unset multiplot
