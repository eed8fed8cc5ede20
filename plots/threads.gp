# threads.gp: convergence time against OpenMP threads (log-log), per dataset; the panel title
# says whether the metric is time to a P@1 threshold or time per epoch (data: prep_threads.awk).
FIG_TITLE = "Convergence time vs threads (slide vs dense-cpu)"
load meta
if (!exists("W")) W = 1000 * COLS + 100
H = 520 * ROWS + 80
load dir."/common.gp"
set xlabel "OpenMP threads (log scale)"
XLOGBASE = 2
set xtics 2
set mxtics 1
set key outside right top
load dir."/lib_lines.gp"
