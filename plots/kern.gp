# kern.gp: scalar vs AVX2 vs AVX-512 kernels in the L2-resident and memory-bound regimes, from
# slide-bench-kern.csv (data: prep_kern.awk).
FIG_TITLE = "Kernel paths: scalar vs AVX2 vs AVX-512 (slide-bench-kern)"
load meta
W = 1500; H = 650
load dir."/common.gp"
set key top right
load dir."/lib_bars.gp"
