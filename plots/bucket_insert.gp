# bucket_insert.gp: FIFO vs reservoir bucket insertion time (paper Table 3): lsh_insert (one
# thread) and lsh_build (OpenMP) from micro.csv (medians, median.awk) beside the paper's numbers.
FIG_TITLE = "Hash-table insertion: FIFO vs reservoir (paper Table 3)"
W = 1000; H = 650
DS_TEXT = "synthetic keys (Delicious-200K output layer: 205,443 neurons)"
load dir."/ctx.gp"
ins(f) = strcol("family") eq f
px(f) = idx(first(strcol("args")), "fifo reservoir") + (f eq "lsh_insert" ? -0.27 : 0)
ok(f) = ins(f) && column("real_time_ns") > 0
conf = ""; thr = ""; n1 = 0; n2 = 0; ne = 0
stats F using (ins("lsh_insert") || ins("lsh_build") ? (conf = strcol("args"), \
    n1 = n1 + ok("lsh_insert"), n2 = n2 + ok("lsh_build"), ne = ne + (err(0) ne ""), \
    thr = ins("lsh_build") && has("omp_threads") ? strcol("omp_threads") : thr, 0) : 0) nooutput
if (n1 + n2 + ne == 0) { WHY = "no lsh_insert / lsh_build rows in micro.csv"; eval NODATA }
conf = subst(from(conf, strstrt(conf, "/") + 1), "/", " ")
set multiplot layout 1,1 title FULL_TITLE font ",12"
set title "inserting the neurons of one layer into L tables (".conf.")" font ",11"
set ylabel "seconds per full insertion (median of repetitions)"
set xrange [0.4:2.6]; set yrange [0:*]; set offsets 0, 0, graph 0.12, 0
set xtics ("FIFO" 1, "reservoir" 2) scale 0
set grid noxtics ytics
set boxwidth 0.25
set key top right
$paper << EOD
x,s
1.27,0.762
2.27,0.371
EOD
BAR = "F using (ok('%s') ? px('%s') : NaN):(column('real_time_ns') / 1e9) with boxes lt %d title '%s', " . \
      "F using (ok('%s') ? px('%s') : NaN):(column('real_time_ns') / 1e9):(sprintf('%%.3f s', column('real_time_ns') / 1e9)) ".VLAB
B1 = n1 ? sprintf(BAR, "lsh_insert", "lsh_insert", 1, "ours: lsh_insert (1 thread, one insert per neuron)", "lsh_insert", "lsh_insert") : "NaN notitle"
B2 = n2 ? sprintf(BAR, "lsh_build", "lsh_build", 3, "ours: lsh_build (OpenMP over tables".(thr ne "" ? ", ".thr." threads" : "").")", "lsh_build", "lsh_build") : "NaN notitle"
ERR = ne ? "F using (err(0) ne '' ? px(strcol('family')) : NaN):(0):('n/a: '.err(0)) ".NOTE : "NaN notitle"
plot @B1, @B2, $paper using "x":"s" with boxes lt 7 title "paper (44-core Xeon)", \
     $paper using "x":"s":(sprintf("%.3f s", column("s"))) @VLAB, @ERR
unset multiplot
