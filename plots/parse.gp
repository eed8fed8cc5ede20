# parse.gp: data loading speed (XC text parsing vs the binary cache), median MB/s per bench from
# slide-bench-parse.csv (repetitions collapsed by median.awk).
FIG_TITLE = "Data loading: text parse vs binary cache (slide-bench-parse)"
W = 900; H = 600
DS_TEXT = "generated XC text (Amazon-670K-like rows)"; THR_TEXT = "OMP_NUM_THREADS of the run (not recorded)"
load dir."/ctx.gp"
BL = ""; ML = ""
stats F using (BL = uadd(BL, strcol("bench")), ML = ML.sprintf(" %.0f", nc("bytes") / 1e6), 0) nooutput
set multiplot layout 1,1 title FULL_TITLE font ",12"
set title "median MB/s over the repetitions" font ",11"
set ylabel "MB/s"
set xrange [0.4:words(BL) + 0.6]; set yrange [0:*]; set offsets 0, 0, graph 0.12, 0
set xtics () scale 0
do for [i=1:words(BL)] { set xtics add (word(BL, i).(word(ML, i) eq "nan" ? "" : " (".word(ML, i)." MB)") i) }
set grid noxtics ytics
set boxwidth 0.6
px(x) = idx(strcol("bench"), BL)
plot F using (px(0)):"mb_per_s" with boxes lt 1 notitle, \
     F using (px(0)):"mb_per_s":(sprintf("%.0f MB/s", column("mb_per_s"))) @VLAB
unset multiplot
