# hugepages.gp: weight slabs on 4 KB pages, transparent hugepages and explicit hugepages (paper
# Table 4): time per epoch and miss / fault counts per sample (data: prep_hugepages.awk).
FIG_TITLE = "Hugepages none / thp / explicit"
load meta
W = 1300; H = 950
load dir."/common.gp"
set key top right
load dir."/lib_bars.gp"
