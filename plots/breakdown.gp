# breakdown.gp: stacked phases (unaccounted = train_s minus the phases; NA counts 0) per row of the
# *.breakdown.csv in FILES: us per training sample (top), share of train_s (bottom).
FIG_TITLE = "Training time breakdown per configuration"
load dir."/common.gp"
NFI = words(FILES)
array HDS[NFI]; array OFF[NFI]; array NR[NFI]; array CNT[NFI * 7]; array LAB[int(system("cat ".FILES." | wc -l"))]
PH = "hash_s query_s forward_s backward_s update_s rehash_s unaccounted_s"
array PHT[7] = ["hash", "query", "forward", "backward", "update (Adam)", "rehash / rebuild", "unaccounted"]
array PHC[7] = [1, 9, 3, 2, 5, 4, 7]
smp(x) = has("samples") ? nc("samples") : nc("samples_seen")
ok(x) = nc("train_s") > 0 && smp(0) > 0
ph_(v, j) = v != v || (j == 7 && v < 0) ? 0 : v
cum(i) = i < 1 ? 0 : cum(i - 1) + ph_(nc(word(PH, i)), i)
stem(f) = subst(system("basename '".f."'"), ".breakdown.csv", "")
lab(f) = stem(f).": ".sc("system").(isna(sc("hash_family")) ? "" : " ".sc("hash_family")." K".sc("K")." L".sc("L"))." ".sc("threads")."t"
NB = 0
do for [fi=1:NFI] {
    f = word(FILES, fi); HD = hdr(f); HDS[fi] = HD; OFF[fi] = NB
    do for [i=1:7] { CNT[(fi - 1) * 7 + i] = 0 }
    stats f using (ok(0) ? (NB = NB + 1, LAB[NB] = lab(f), sum [i=1:7] (cum(i) > 0 ? (CNT[(fi - 1) * 7 + i] = CNT[(fi - 1) * 7 + i] + 1) : 0)) : 0) nooutput
    NR[fi] = NB - OFF[fi]
}
if (NB == 0) { WHY = "no rows with train_s and samples"; eval NODATA }
W = NB * 80 + 450 > 1100 ? NB * 80 + 450 : 1100; H = 1050
load dir."/ctx.gp"
# the same label twice: " #2", " #3", ...
do for [b=NB:1:-1] { n = 1; do for [j=1:b - 1] { if (LAB[j] eq LAB[b]) { n = n + 1 } }; if (n > 1) { LAB[b] = LAB[b]." #".n } }
# x of a usable row: its file's offset plus its rank among the file's usable rows
pos(fi) = ($0 == 0 ? (k = 0) : 0, ok(0) ? (k = k + 1, OFF[fi] + k) : NaN)
fac(p) = p == 1 ? 1e6 / smp(0) : 100 / column("train_s")
note(x) = (nc("unaccounted_s") < 0 ? "phases > train_s" : "").((sum [i=1:7] (nc(word(PH, i)) != nc(word(PH, i)))) > 0 ? " some phases NA" : "")
BAR = "word(FILES, %d) using (HD = HDS[%d], pos(%d)):(cum(%d) > 0 ? cum(%d) * fac(p) : NaN):(0.7) with boxes lt PHC[%d] title '%s', "
TOT = "word(FILES, %d) using (HD = HDS[%d], pos(%d)):(cum(7) * fac(p)):(p == 1 ? sprintf('%%.0f', cum(7) * fac(p)) : note(0)) ".VLAB.", "
set multiplot layout 2,1 title FULL_TITLE font ",12"
set offsets 0, 0, graph 0.12, 0
set grid noxtics ytics
set xrange [0.4:NB + 0.6]
if ((sum [i=1:NFI * 7] CNT[i]) > 0) { set yrange [0:*] } else { set yrange [0:1] }
set xtics () scale 0 rotate by 30 right
do for [b=1:NB] { set xtics add (LAB[b] b) }
m = int(strlen(LAB[1]) * 0.75); set lmargin m > 10 ? m : 10; set bmargin -1
do for [p=1:2] {
    set title p == 1 ? "microseconds per training sample, by phase" : "share of training time (train_s)" font ",11"
    set ylabel p == 1 ? "us / sample" : "% of train_s"
    if (p == 1) { set key outside right top } else { set key off }
    # largest cumulative first, so each smaller one is drawn over it
    cmd = ""
    do for [i=7:1:-1] { t = p == 1 ? PHT[i] : ""; do for [fi=1:NFI] { if (CNT[(fi - 1) * 7 + i]) {
        cmd = cmd.sprintf(BAR, fi, fi, fi, i, i, i, t); t = "" } } }
    do for [fi=1:NFI] { if (NR[fi]) { cmd = cmd.sprintf(TOT, fi, fi, fi) } }
    eval "plot ".cmd[1:strlen(cmd) - 2]
}
unset multiplot
