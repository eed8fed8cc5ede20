# micro_gather.gp: gather rate against page size (4 KB, THP, explicit 2 MB) with the sequential
# bandwidth of the same slab as reference line, from micro.csv (data: prep_micro_gather.awk).
FIG_TITLE = "Gather rate vs page size (TLB reach)"
load meta
W = 1100; H = 650
load dir."/common.gp"
set key top left
load dir."/lib_bars.gp"
