# micro_matmul.gp: sparse matmul over the active set, scalar vs AVX2 vs AVX-512 (rows/s), forward
# and backward, from micro.csv (data: prep_micro_matmul.awk).
FIG_TITLE = "Active-set sparse matmul: scalar vs AVX2 vs AVX-512"
load meta
W = 1500; H = 650
load dir."/common.gp"
set key top right
load dir."/lib_bars.gp"
