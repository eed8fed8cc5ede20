# p1_vs_time.gp: the paper's main figure - P@1 against training time (log x), one panel per
# dataset, one curve per system and run (data: prep_curves.awk, xcol=train_s).
FIG_TITLE = "P@1 vs training time"
load meta
if (!exists("W")) W = 750 * COLS + 100
H = 520 * ROWS + 80
load dir."/common.gp"
set xlabel "training time train_s [s] (log scale; excludes loading and evaluation)"
set ylabel "P@1 (subset of the test set; circled: full test set)"
YDEF = "[0:*]"
set key bottom right
load dir."/lib_lines.gp"
