# hash_families.gp: SimHash / WTA / DWTA per thread count: samples_seen / train_s (top) and P@1 at a
# common time budget (bottom, runs.awk p_at_budget); medians in the .med. file.
FIG_TITLE = "Hash families across thread counts: throughput and P@1 at a fixed time budget"
load dir."/common.gp"
DL = ""; TL = ""; FL = ""; BL = ""
stats F using (isna(sc("hash_family")) ? 0 : (DL = uadd(DL, sc("dataset")), TL = uadd(TL, sc("threads")), FL = uadd(FL, sc("hash_family")), \
    BL = strstrt(BL, sc("dataset")." ") ? BL : BL.(BL eq "" ? "" : ", ").sprintf("%s %.1f s", sc("dataset"), nc("budget_s")), 0)) nooutput
if (FL eq "") { WHY = "no slide rows with hash_family, train_s and p_at_1"; eval NODATA }
FO = ""
do for [f in HFS] { if (strstrt(" ".FL." ", " ".f." ")) { FO = FO." ".f } }
do for [f in FL] { FO = uadd(FO, f) }
NCAT = words(DL) * words(FO)
W = 520 * words(TL) + 120; H = 900
load dir."/ctx.gp"
array CFG[words(FO)]
stats F using (isna(sc("hash_family")) ? 0 : (CFG[idx(sc("hash_family"), FO)] = "K=".sc("K")." L=".sc("L").(isna(sc("range_bits")) ? "" : " rb=".sc("range_bits")), 0)) nooutput
cat(x) = (idx(sc("dataset"), DL) - 1) * words(FO) + idx(sc("hash_family"), FO)
sel(c) = sc("threads") eq th && nc(c) == nc(c) ? cat(0) : NaN
set multiplot layout 2, words(TL) title FULL_TITLE font ",12"
set xrange [0.4:NCAT + 0.6]; set yrange [0:*]; set offsets 0, 0, graph 0.12, 0
set grid noxtics ytics; set bmargin 4; set boxwidth 0.6
set xtics () scale 0
do for [d=1:words(DL)] { do for [f=1:words(FO)] { set xtics add (word(FO, f)."\n".CFG[f].(words(DL) > 1 ? "\n".word(DL, d) : "") (d - 1) * words(FO) + f) } }
unset key
array OK[NCAT]
do for [p=1:2] { do for [th in TL] {
    C = p == 1 ? "samples_seen_per_train_s" : "p_at_budget"
    set title "threads = ".th.(p == 1 ? ": training throughput" : ": P@1 at the budget (".BL.")") font ",11"
    set ylabel p == 1 ? "samples/s (last row: samples_seen / train_s)" : "P@1"
    do for [c=1:NCAT] { OK[c] = 0 }
    stats M using (sel(C) == sel(C) ? (OK[cat(0)] = 1, 0) : 0) nooutput
    do for [c=1:NCAT] { if (!OK[c]) { set label c "no data" at c, 0 rotate by 90 left offset 0, 0.5 font ",9" tc rgb "#b00000" } }
    plot M using (sel(C)):(column(C)):(rk(sc("hash_family"))) with boxes lc variable, \
         M using (sel(C)):(column(C)):(sprintf(p == 1 ? "%.0f" : "%.3f", column(C))) @VLAB
    unset label
} }
unset multiplot
