# table4.gp: paper Table 4 beside our simulated dTLB (FILES: *.tlb.csv), measured page faults
# (hugepages.breakdown.csv beside) and simulated cache misses per phase (cacheprof/*.cache.csv).
FIG_TITLE = "dTLB misses with 4 KB vs 2 MB pages (paper Table 4) - ours SIMULATED"
W = 1900; H = 700
load dir."/common.gp"
stats F using (FIG_TITLE = FIG_TITLE.", dTLB ".sc("tlb_geometry")." (".sc("tlb_geometry_source").")", 0) every ::0::0 nooutput
load dir."/ctx.gp"
HPFILE = system("f=$(dirname '".F."')/hugepages.breakdown.csv; [ -f \"$f\" ] && echo \"$f\"")
HD = HPFILE eq "" ? "" : hdr(HPFILE)
if (!has("hugepages_requested") || !has("rusage_minflt") || !has("samples_seen")) { HPFILE = "" }
CFILE = system("d=$(dirname '".F."'); for f in \"$d\"/*.cache.csv \"$d\"/cacheprof/*.cache.csv; do [ -f \"$f\" ] && { echo \"$f\"; break; }; done")
HD = CFILE eq "" ? "" : hdr(CFILE)
if (!has("phase") || !has("level") || !has("misses_per_sample") || !has("dataset")) { CFILE = "" }
set multiplot layout 1,4 title FULL_TITLE font ",12"
set boxwidth 0.16
set grid noxtics ytics
set xrange [0.4:3.6]
set xtics ("4 KB pages" 1, "2 MB pages" 2, "THP (smaps share)" 3) scale 0
set logscale y
set key below font ",8" maxrows 3
# page mode -> x; series offsets
px(m) = m eq "4k" ? 1 : m eq "2m" ? 2 : m eq "thp" ? 3 : NaN
sel(l, o) = strcol("layer") eq l && strcol("phase") eq "all" && strcol("train_order") eq o
pos(v) = v > 0 ? v : NaN
# series: output layer row sweep / per sample, all slabs row sweep / per sample
array SL[4] = ["output", "output", "all", "all"]
array SO[4] = ["row-sweep", "per-sample", "row-sweep", "per-sample"]
array ST[4] = ["ours: output layer, row sweep", "ours: output layer, per sample", \
               "ours: all slabs, row sweep", "ours: all slabs, per sample"]
array HAS[4] = [0, 0, 0, 0]
OFF(i) = -0.16 + 0.16 * (i - 1)
# which series have rows with a positive value (gnuplot warns about a series without points)
do for [i=1:4] { do for [f in FILES] {
    stats f using (HAS[i] = HAS[i] || (sel(SL[i], SO[i]) && column("miss_rate") > 0), 0) nooutput
} }
# plot commands of the series present: miss rate in % (C1, after the paper's bars), walks per sample
SER = "'%s' using (sel(SL[%d], SO[%d]) ? px(strcol('page_mode')) + OFF(%d) : NaN):(pos(%s)) with boxes lt %d title '%s'"
$paper << EOD
x,rate
1,5.12
2,0.25
EOD
C1 = "$paper using ($1 - 0.32):2 with boxes lc rgb '#999999' title 'paper (measured, Xeon)', ".\
     "$paper using ($1 - 0.32):2:(sprintf('%.2f', $2)) ".VLAB; C2 = ""
do for [i=1:4] { if (HAS[i]) { do for [f in FILES] {
    C1 = C1.", ".sprintf(SER, f, i, i, i, "100 * column('miss_rate')", i, f eq F ? ST[i] : "")
    C2 = C2.", ".sprintf(SER, f, i, i, i, "column('walks_per_sample')", i, f eq F ? ST[i] : "")
} } }
set title "dTLB miss rate [%]\npaper: per load, measured\nours: L1 dTLB misses per slab-row access, simulated" font ",10"
set ylabel "misses / access [%]"
set yrange [0.001:100]
eval "plot ".C1

set title "page walks per training sample (simulated)\nL2 TLB misses, what PAPI_TLB_DM counts on Intel\n(no bar: 0 walks)" font ",10"
set ylabel "walks / sample"
set yrange [*:*]
eval "plot ".C2[3:]

unset key
set title "page faults per training sample\nMEASURED (getrusage, main thread)\nhugepages runs" font ",10"
set ylabel "faults / sample"
unset logscale y
set yrange [0:*]
set xrange [0.4:3.6]
set xtics ("none (4 KB)" 1, "thp (2 MB)" 2, "explicit (2 MB)" 3) scale 0
set boxwidth 0.5
hx(m) = m eq "none" ? 1 : m eq "thp" ? 2 : m eq "explicit" ? 3 : NaN
if (HPFILE ne "") {
    plot HPFILE using (hx(strcol("hugepages_requested"))):(column("rusage_minflt") / column("samples_seen")) with boxes lt 3 notitle
} else {
    set label 3 "not recorded\n(no hugepages.breakdown.csv)" at 2, graph 0.5 center tc rgb "#b00000"
    set yrange [0:1]
    plot NaN notitle
}
unset label 3
set key below font ",8"
set title "cache misses per training sample\nSIMULATED (callgrind, this machine's D1 and LL)" font ",10"
set ylabel "misses / sample"
set xrange [0.4:6.6]
set xtics ("hash" 1, "query" 2, "forward" 3, "backward" 4, "update" 5, "rehash" 6) scale 0 font ",8"
set boxwidth 0.3
cx(p) = p eq "hash" ? 1 : p eq "query" ? 2 : p eq "forward" ? 3 : p eq "backward" ? 4 : \
        p eq "update" ? 5 : p eq "rehash" ? 6 : NaN
if (CFILE ne "") {
    CDS = ""
    stats CFILE using (CDS = strcol("dataset"), 0) every ::0::0 nooutput
    set logscale y
    set yrange [*:*]
    set title "cache misses per training sample, ".CDS."\nSIMULATED (callgrind, this machine's D1 and LL)" noenhanced
    cl(l) = strcol("dataset") eq CDS && strcol("level") eq l
    plot CFILE using (cl("D1") ? cx(strcol("phase")) - 0.15 : NaN):(pos(column("misses_per_sample"))) with boxes lt 1 title "D1 misses", \
         CFILE using (cl("LL") ? cx(strcol("phase")) + 0.15 : NaN):(pos(column("misses_per_sample"))) with boxes lt 2 title "LL misses"
} else {
    unset key
    set label 4 "not run\n(run_all.sh --cache-profile,\nmake profile-cache)" at 3.5, graph 0.5 center tc rgb "#b00000"
    set yrange [0:1]
    plot NaN notitle
}
unset multiplot
