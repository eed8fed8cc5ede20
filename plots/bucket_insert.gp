# bucket_insert.gp: FIFO vs reservoir bucket insertion time (paper Table 3) with the paper's
# numbers as reference bars (data: prep_bucket.awk over micro.csv).
FIG_TITLE = "Hash-table insertion: FIFO vs reservoir (paper Table 3)"
load meta
W = 1000; H = 650
load dir."/common.gp"
set key top right
load dir."/lib_bars.gp"
