# p1_vs_iter.gp: P@1 against training iterations for the runs of p1_vs_time.gp: equal accuracy per
# iteration means sampling costs no convergence.
XCOL = "iter"; FIG_TITLE = "P@1 vs iterations"
load dir."/p1_vs_time.gp"
