# p1_vs_iter.gp: P@1 against training iterations (mini-batches) for the same runs as
# p1_vs_time.gp: equal accuracy per iteration means sampling costs no convergence.
FIG_TITLE = "P@1 vs iterations"
load meta
if (!exists("W")) W = 750 * COLS + 100
H = 520 * ROWS + 80
load dir."/common.gp"
set xlabel "iterations (mini-batches trained)"
set ylabel "P@1 (subset of the test set; circled: full test set)"
YDEF = "[0:*]"
XDEF = "[0:*]"
set key bottom right
load dir."/lib_lines.gp"
