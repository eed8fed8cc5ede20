# sampling_time.gp: sampling.gp against training time (median over seeds).
XCOL = "train_s_median"; FIG_TITLE = "Sampling at equal budget: P@1 vs training time"
load dir."/sampling.gp"
