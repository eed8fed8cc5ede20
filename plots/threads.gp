# threads.gp: time to P@1 >= target (reach_s; time per epoch when a run never gets there) vs threads,
# per dataset and system: median over runs (.med. file), single runs as circles, ideal scaling dashed.
FIG_TITLE = "Convergence time vs threads (slide vs dense-cpu)"
load dir."/common.gp"
DL = ""; stats F using (DL = uadd(DL, sc("dataset")), 0) nooutput
COLS = words(DL) < 2 ? words(DL) : 2; ROWS = (words(DL) + 1) / 2
W = 1000 * COLS + 100; H = 520 * ROWS + 80
load dir."/ctx.gp"
sel(s) = sc("dataset") eq d && sc("system") eq s && nc(Y) > 0 && nc("threads") >= 1 ? column("threads") : NaN
set multiplot layout ROWS,COLS title FULL_TITLE font ",12"
set xlabel "OpenMP threads (log scale)"
set logscale xy; set logscale x 2; set xtics 2; set mxtics 1
set key outside right top
do for [d in DL] {
    T = NaN; nm = 0; SL = ""; x0 = NaN; x1 = NaN
    stats F using (sc("dataset") eq d ? (T = nc("target"), nm = nm + (nc("reach_s") != nc("reach_s")), SL = uadd(SL, sc("system")), \
        x0 = nc("threads") < x0 || x0 != x0 ? nc("threads") : x0, x1 = nc("threads") > x1 || x1 != x1 ? nc("threads") : x1, 0) : 0) nooutput
    ok = T == T && nm == 0; Y = ok ? "reach_s" : "train_s_per_epoch"
    auto = !exists("P1_TARGET") || P1_TARGET eq ""
    set title d.(ok ? sprintf(": time to P@1 >= %g", T).(auto ? " (auto: 90% of the lowest best P@1 of the runs)" : "") : \
        ": time per epoch (".(T == T ? sprintf("P@1 >= %g not reached by every run", T) : "no P@1 values").")") font ",11"
    set ylabel ok ? sprintf("training time to reach P@1 >= %g [s]", T) : "training time per epoch [s]"
    if (x0 < x1) { set xrange [x0 / 1.3:x1 * 1.3] } else { set xrange [*:*] }
    cmd = ""
    do for [r=1:7] { do for [s in SL] { if (rank(s) == r) {
        nr = 0; nmed = 0; t1 = NaN; th1 = NaN
        stats F using (nr = nr + (sel(s) == sel(s)), 0) nooutput
        stats M using (sel(s) == sel(s) ? (nmed = nmed + 1, t1 = th1 != th1 || column("threads") < th1 ? column(Y) : t1, \
            th1 = th1 != th1 || column("threads") < th1 ? column("threads") : th1, 0) : 0) nooutput
        if (nmed) { cmd = cmd.sprintf("M using (sel('%s')):(column(Y)) with linespoints lt %d title '%s%s', ", s, r, s, nr > nmed ? " (median of runs)" : "") }
        if (nr > nmed) { cmd = cmd.sprintf("F using (sel('%s')):(column(Y)) with points lt %d pt 6 ps 1 title '%s: single runs', ", s, r, s) }
        if (nmed > 1) { cmd = cmd.sprintf("M using (sel('%s')):(%g * %g / column('threads')) with lines lt %d dt 2 lw 1.5 title '%s: ideal linear scaling', ", s, t1, th1, r, s) } } } }
    if (cmd eq "") { set label 10 "no data: no run with train_s and ".(ok ? "P@1" : "epoch") at graph 0.5, graph 0.5 center font ",13" tc rgb "#aa0000"
        set xrange [1:10]; set yrange [1:10]; cmd = "1e30 notitle, " } else { set yrange [*:*] }
    do for [s in "slide dense-cpu"] { if (!strstrt(" ".SL." ", " ".s." ")) { cmd = cmd."keyentry with lines lc rgb '#999999' dt 3 lw 2 title '".s.": no data (not run)', " } }
    eval "plot ".cmd[1:strlen(cmd) - 2]
    unset label 10
}
unset multiplot
