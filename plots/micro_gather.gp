# micro_gather.gp: hugepages_gather rate vs page size (4 KB, THP, explicit 2 MB) per slab size, the
# sequential read (ref_gb_per_s) dashed, from micro.csv; modes that could not run are labelled gaps.
FIG_TITLE = "Gather rate vs page size (TLB reach)"
W = 1100; H = 650
DS_TEXT = "synthetic slab"
load dir."/ctx.gp"
g(x) = strcol("family") eq "hugepages_gather"
MB = ""; ng = 0
stats F using (g(0) ? (MB = uadd(MB, akey(strcol("args"), "mb")), ng = ng + (err(0) ne ""), 0) : 0) nooutput
if (MB eq "") { WHY = "no hugepages_gather rows in micro.csv"; eval NODATA }
MODES = "none thp explicit"
nmb = words(MB)
px(x) = idx(first(strcol("args")), MODES) + (idx(akey(strcol("args"), "mb"), MB) - (nmb + 1) / 2.) * 0.8 / nmb
sel(m) = g(0) && akey(strcol("args"), "mb") eq m && nc("gb_per_s") > 0 ? px(0) : NaN
lab(x) = sprintf("%.2f", column("gb_per_s")).(nc("ratio_to_seq") > 0 ? sprintf(" (%.0f%%)", 100 * nc("ratio_to_seq")) : "")
array REF[nmb]
do for [i=1:nmb] { REF[i] = NaN }
stats F using (g(0) && nc("ref_gb_per_s") > 0 ? (REF[idx(akey(strcol("args"), "mb"), MB)] = column("ref_gb_per_s"), 0) : 0) nooutput
set multiplot layout 1,1 title FULL_TITLE font ",12"
set title "random 512-byte rows (gather_dot) vs the sequential read of the same slab" font ",11"
set ylabel "GB/s (row bytes read per second)"
set xrange [0.4:3.6]; set yrange [0:*]; set offsets 0, 0, graph 0.12, 0
set xtics ("none (4 KB pages)" 1, "thp (THP, 2 MB)" 2, "explicit (explicit 2 MB)" 3) scale 0
set grid noxtics ytics
set boxwidth 0.8 / nmb * 0.9
set key top left
GAP = ng ? "F using (g(0) && err(0) ne '' ? px(0) : NaN):(0):('n/a: '.err(0)) ".NOTE : "NaN notitle"
plot for [i=1:nmb] F using (sel(word(MB, i))):"gb_per_s" with boxes lt (i < 3 ? i : i + 2) title "gather, ".word(MB, i)." MB slab", \
     for [i=1:nmb] F using (sel(word(MB, i))):"gb_per_s":(lab(0)) @VLAB, \
     for [i=1:nmb] REF[i] with lines lc rgb "black" dt 2 lw 2 \
         title (REF[i] == REF[i] ? sprintf("sequential read, %s MB slab (hugepages_seq/none): %.2f GB/s", word(MB, i), REF[i]) : ""), \
     @GAP
unset multiplot
