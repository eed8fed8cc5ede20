# p1_vs_time.gp: P@1 vs training time (log x; XCOL=iter for p1_vs_iter.gp), one panel per dataset,
# one curve per system and run; circled: eval_set=full rows; expected systems without rows: "not run".
if (!exists("XCOL")) { XCOL = "train_s"; FIG_TITLE = "P@1 vs training time" }
load dir."/common.gp"
array HDS[words(FILES)]; array CF[400]; array CD[400]; array CS[400]; array CR[400]; array CT[400]; array CN[400]
ds(x) = sc("dataset") eq "NA" ? "dataset_n/a" : sc("dataset")
ok(x) = nc(XCOL) == nc(XCOL) && nc("p_at_1") == nc("p_at_1") && (XCOL ne "train_s" || nc(XCOL) > 0)
key(fi) = sprintf("%d|", fi).ds(0)."|".sc("system")."|".sc("run_id")
cfg(x) = (isna(sc("hash_family")) || strstrt(sc("system"), "full") + strstrt(sc("system"), "dense") + strstrt(sc("system"), "torch") ? "" : \
    sc("hash_family")." K=".sc("K")." L=".sc("L").", ").(isna(sc("gpu_model")) ? sc("threads")." thr" : sc("gpu_model"))
new(fi) = (KL = KL." ".key(fi), NC = NC + 1, CF[NC] = fi, CD[NC] = ds(0), CS[NC] = sc("system"), CR[NC] = sc("run_id"), CT[NC] = cfg(0), 0)
KL = ""; NC = 0; DL = ""; NF = 0
do for [fi=1:words(FILES)] {
    HD = hdr(word(FILES, fi)); HDS[fi] = HD
    stats word(FILES, fi) using (ok(0) ? (DL = uadd(DL, ds(0)), strstrt(KL." ", " ".key(fi)." ") ? 0 : new(fi)) : 0) nooutput
}
if (NC == 0) { WHY = "no rows with ".XCOL." and p_at_1"; eval NODATA }
do for [i=1:NC] { CN[i] = 1; n = 0; do for [j=1:NC] { if (CD[j] eq CD[i] && CS[j] eq CS[i]) { n = n + 1; if (j < i) { CN[i] = CN[i] + 1 } } }
    CT[i] = CS[i].(n > 1 ? " #".CN[i] : "")." (".CT[i].")" }
COLS = words(DL) < 2 ? words(DL) : 2; ROWS = (words(DL) + 1) / 2
W = 750 * COLS + 100; H = 520 * ROWS + 80
load dir."/ctx.gp"
sel(i) = ok(0) && key(CF[i]) eq sprintf("%d|", CF[i]).CD[i]."|".CS[i]."|".CR[i] ? column(XCOL) : NaN
full(i) = sc("eval_set") eq "full" ? sel(i) : NaN
LINE = "word(FILES, %d) using (HD = HDS[%d], sel(%d)):'p_at_1' with linespoints lt %d dt %d title CT[%d], "
CIRC = "word(FILES, %d) using (HD = HDS[%d], full(%d)):'p_at_1' with points lt %d pt 6 ps 2.4 lw 2 notitle, "
set multiplot layout ROWS,COLS title FULL_TITLE font ",12"
set xlabel XCOL eq "train_s" ? "training time train_s [s] (log scale; excludes loading and evaluation)" : "iterations (mini-batches trained)"
set ylabel "P@1 (subset of the test set; circled: full test set)"
if (XCOL eq "train_s") { set logscale x } else { set xrange [0:*] }
set yrange [0:*]
set key bottom right
do for [d in DL] {
    set title d font ",11"
    cmd = ""; nfull = 0
    do for [r=1:7] { do for [i=1:NC] { if (CD[i] eq d && rank(CS[i]) == r) {
        cmd = cmd.sprintf(LINE, CF[i], CF[i], i, r, CN[i], i)
        nf = 0; stats word(FILES, CF[i]) using (HD = HDS[CF[i]], nf = nf + (full(i) == full(i)), 0) nooutput
        if (nf > 0) { nfull = 1; cmd = cmd.sprintf(CIRC, CF[i], CF[i], i, r) } } } }
    if (nfull) { cmd = cmd."keyentry with points lc rgb 'black' pt 6 ps 2 lw 2 title 'full test set (last row of a run)', " }
    do for [s in "slide slide-full dense-cpu dense-gpu"] { if (!sum [i=1:NC] (CD[i] eq d && CS[i] eq s)) {
        cmd = cmd."keyentry with lines lc rgb '#999999' dt 3 lw 2 title '".s.": no data (not run)', " } }
    eval "plot ".cmd[1:strlen(cmd) - 2]
}
unset multiplot
