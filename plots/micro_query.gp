# micro_query.gp: bucket-query latency p50 / p99 per table configuration (family, K, L, range bits,
# bucket capacity, probes) from micro.csv (medians, median.awk); tick: configuration, candidates.
FIG_TITLE = "Bucket-query latency (slide_lsh_query)"
n = int(system("grep -c ',lsh_query,' ".FILES))
W = n * 70 + 500 > 1000 ? n * 70 + 500 : 1000; H = 720
DS_TEXT = "synthetic keys (670,091 neurons, the Amazon-670K output layer)"
load dir."/ctx.gp"
q(x) = strcol("family") eq "lsh_query"
QL = ""; CL = ""; ne = 0; n50 = 0; n99 = 0
stats F using (q(0) ? (QL = uadd(QL, strcol("args")), CL = CL.sprintf(" %.0f", nc("candidates")), ne = ne + (err(0) ne ""), \
    n50 = n50 + (nc("p50_us") > 0), n99 = n99 + (nc("p99_us") > 0), 0) : 0) nooutput
if (QL eq "") { WHY = "no lsh_query rows in micro.csv"; eval NODATA }
px(s) = idx(strcol("args"), QL) + (s - 1.5) * 0.38
short(a) = subst(subst(subst(subst(a, ":", ""), "/", " "), "probes", "p"), "cap", "c")
set multiplot layout 1,1 title FULL_TITLE font ",12"
set title "per-query time: p50 and p99 (median over repetitions)" font ",11"
set ylabel "microseconds per query (log scale)"
set logscale y; set offsets 0, 0, graph 0.12, 0
set xrange [0.4:words(QL) + 0.6]
set xtics () rotate by 30 right scale 0 font ",9"; set lmargin 18
set grid noxtics ytics
do for [i=1:words(QL)] { set xtics add (short(word(QL, i)).(word(CL, i) eq "nan" ? "" : " | ".word(CL, i)." ids") i) }
set boxwidth 0.36
set key top left
BAR = "F using (q(0) && nc('%s') > 0 ? px(%d) : NaN):(column('%s')) with boxes lt %d title '%s', " . \
      "F using (q(0) && nc('%s') > 0 ? px(%d) : NaN):(column('%s')):(sprintf('%%.3g', column('%s'))) ".VLAB
B1 = n50 ? sprintf(BAR, "p50_us", 1, "p50_us", 1, "p50", "p50_us", 1, "p50_us", "p50_us") : "NaN notitle"
B2 = n99 ? sprintf(BAR, "p99_us", 2, "p99_us", 4, "p99", "p99_us", 2, "p99_us", "p99_us") : "NaN notitle"
ERR = ne ? "F using (q(0) && err(0) ne '' ? px(1) : NaN):(1):('n/a: '.err(0)) ".NOTE : "NaN notitle"
plot @B1, @B2, @ERR
unset multiplot
