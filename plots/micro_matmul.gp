# micro_matmul.gp: active-set matmul rows/s, scalar vs AVX2 vs AVX-512, forward and backward, THP slab
# rows only (args <path>/thp/active:<n>, older <path>/active:<n>); a path the CPU lacks is a gap.
FIG_TITLE = "Active-set sparse matmul: scalar vs AVX2 vs AVX-512"
W = 1500; H = 650
DS_TEXT = "synthetic 670,091 x 128 weight slab (Amazon-670K output layer)"
load dir."/ctx.gp"
thp(a) = strstrt(a, "/thp/") || strstrt(subst(a, first(a)."/", ""), "active:") == 1
mm(fam) = strcol("family") eq fam && thp(strcol("args"))
AL = ""
stats F using (mm("matmul_fwd") || mm("matmul_bwd") ? (AL = uadd(AL, akey(strcol("args"), "active")), 0) : 0) nooutput
if (AL eq "") { WHY = "no matmul_fwd / matmul_bwd rows in micro.csv"; eval NODATA }
PATHS = "scalar avx2 avx512"
array LT[3] = [7, 1, 4]
px(p) = idx(akey(strcol("args"), "active"), AL) + (idx(p, PATHS) - 2) * 0.27
sel(fam, p) = mm(fam) && first(strcol("args")) eq p && nc("rows_per_s") > 0 ? px(p) : NaN
gap(fam) = mm(fam) && !(nc("rows_per_s") > 0) ? px(first(strcol("args"))) : NaN
set multiplot layout 1,2 title FULL_TITLE font ",12"
set ylabel "active rows per second (log scale)"
set logscale y; set offsets 0, 0, graph 0.12, 0
set xrange [0.4:words(AL) + 0.6]
set xtics () scale 0
do for [i=1:words(AL)] { set xtics add (word(AL, i)." active rows" i) }
set grid noxtics ytics
set boxwidth 0.25
set key top right
do for [fam in "matmul_fwd matmul_bwd"] {
    set title fam eq "matmul_fwd" ? "forward: gather_dot of each active row (512 B read per row)" : \
        "backward: two axpy per active row (1,536 B per row)" font ",11"
    ng = 0; lo = NaN
    stats F using (ng = ng + (gap(fam) == gap(fam)), lo = sel(fam, first(strcol("args"))) == sel(fam, first(strcol("args"))) && !(column("rows_per_s") > lo) ? column("rows_per_s") : lo, 0) nooutput
    GAP = ng ? "F using (gap(fam)):(lo * 1.2):(first(strcol('args')).': n/a ('.err(0).')') ".NOTE : "NaN notitle"
    eval "plot for [p in PATHS] F using (sel(fam, p)):'rows_per_s' with boxes lt LT[idx(p, PATHS)] title p, " . \
         "for [p in PATHS] F using (sel(fam, p)):'rows_per_s':(sprintf('%.3g', column('rows_per_s'))) ".VLAB.", ".GAP
}
unset multiplot
