# sampling.gp: does the LSH sampling matter? P@1 against iterations (XCOL=train_s_median for
# sampling_time: against training time) of the output layer's samplers at equal exact budgets
# (lsh, uniform, unigram) and of the full softmax, from bench/e2e/sampling.sh's summary: one panel
# per data set and budget; a line is the median over seeds, its bars the min and max.
if (!exists("XCOL")) { XCOL = "iter"; FIG_TITLE = "Sampling at equal budget: P@1 vs iterations" }
load dir."/common.gp"
HD = hdr(FILES)
ok(x) = sc("eval_set") eq "subset" && nc(XCOL) == nc(XCOL) && nc("p1_median") == nc("p1_median")
PL = ""
stats FILES using (ok(0) && nc("budget") > 0 ? (PL = uadd(PL, sc("dataset")."@".sc("budget")), 0) : 0) nooutput
if (words(PL) == 0) { WHY = "no sampler rows (eval_set subset) in the summary"; eval NODATA }
COLS = words(PL) < 4 ? words(PL) : 4; ROWS = (words(PL) + COLS - 1) / COLS
W = 520 * COLS + 100; H = 430 * ROWS + 100
load dir."/ctx.gp"
pd(p) = p[1:strstrt(p, "@") - 1]
pb(p) = p[strstrt(p, "@") + 1:]
sel(p, c) = ok(0) && sc("dataset") eq pd(p) && sc("curve") eq c && (c eq "full-softmax" || sc("budget") eq pb(p)) ? column(XCOL) : NaN
CURVES = "lsh uniform unigram full-softmax"
set multiplot layout ROWS,COLS title FULL_TITLE font ",12"
set xlabel XCOL eq "iter" ? "iterations (mini-batches trained)" : "training time [s] (median over seeds)"
set ylabel "P@1 (test subset; median, min-max over seeds)"
set yrange [0:*]
set xrange [0:*]
set key bottom right
do for [p in PL] {
    set title sprintf("%s, budget %g %% of labels", pd(p), 100 * (pb(p) + 0)) font ",10"
    cmd = ""
    do for [ci=1:words(CURVES)] {
        c = word(CURVES, ci)
        n = 0; stats FILES using (n = n + (sel(p, c) == sel(p, c)), 0) nooutput
        if (n > 0) {
            cmd = cmd.sprintf("FILES using (sel('%s', '%s')):'p1_median':'p1_min':'p1_max' with yerrorlines lt %d dt %d title '%s', ", \
                p, c, ci, ci == 4 ? 2 : 1, c eq "full-softmax" ? "full softmax" : c)
        } else {
            cmd = cmd."keyentry with lines lc rgb '#999999' dt 3 lw 2 title '".c.": no data', "
        }
    }
    eval "plot ".cmd[1:strlen(cmd) - 2]
}
unset multiplot
