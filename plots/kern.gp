# kern.gp: scalar vs AVX2 vs AVX-512 kernels in the L2-resident and memory-bound regimes, median
# rows/s per bench, regime and SIMD path from slide-bench-kern.csv (median.awk); label: x scalar.
FIG_TITLE = "Kernel paths: scalar vs AVX2 vs AVX-512 (slide-bench-kern)"
W = 1500; H = 650
THR_TEXT = "1 (single-thread benchmark)"
load dir."/common.gp"
reg(x) = strcol("regime").(strcol("regime") ne "l2" && !isna(sc("active")) ? "_(".sc("active")."_active)" : "")
BL = ""; RL = ""; DL = ""
stats F using (BL = uadd(BL, strcol("bench")), RL = uadd(RL, strcol("bench").":".reg(0)), DL = uadd(DL, sc("dim")), 0) nooutput
DS_TEXT = "synthetic rows (dim ".subst(DL, " ", ", ").")"
load dir."/ctx.gp"
PATHS = "scalar avx2 avx512"
array LT[3] = [7, 1, 4]
set multiplot layout (words(BL) + 1) / 2, (words(BL) > 1 ? 2 : 1) title FULL_TITLE font ",12"
set ylabel "rows per second (median, log scale)"
set logscale y; set offsets 0, 0, graph 0.12, 0
set grid noxtics ytics
set boxwidth 0.25
set key top right
do for [b in BL] {
    set title b.(strstrt(b, "forward_bf16") ? ": gather_dot_bf16 over the active rows (bf16 weights)" : \
        strstrt(b, "forward") ? ": gather_dot over the active rows" : strstrt(b, "backward") ? ": two axpy per active row" : "") font ",11"
    R = ""
    do for [r in RL] { if (strstrt(r, b.":") == 1) { R = uadd(R, from(r, strlen(b) + 2)) } }
    set xrange [0.4:words(R) + 0.6]
    set xtics () scale 0
    do for [i=1:words(R)] { set xtics add (subst(word(R, i), "_", " ") i) }
    # scalar rows/s per regime, for the speedup labels
    array SC[words(R)]
    do for [i=1:words(R)] { SC[i] = 0 }
    stats F using (strcol("bench") eq b && strcol("simd") eq "scalar" ? (SC[idx(reg(0), R)] = column("rows_per_s"), 0) : 0) nooutput
    sel(p) = strcol("bench") eq b && strcol("simd") eq p ? idx(reg(0), R) + (idx(p, PATHS) - 2) * 0.27 : NaN
    lab(p) = sel(p) != sel(p) ? "" : sprintf("%.3g", column("rows_per_s")).(p ne "scalar" && SC[idx(reg(0), R)] > 0 ? \
        sprintf(" (%.1fx)", column("rows_per_s") / SC[idx(reg(0), R)]) : "")
    plot for [p in PATHS] F using (sel(p)):"rows_per_s" with boxes lt LT[idx(p, PATHS)] title p, \
         for [p in PATHS] F using (sel(p)):"rows_per_s":(lab(p)) @VLAB
}
unset multiplot
