# breakdown.gp: time breakdown of training per configuration (hash / query / forward / backward /
# update / rehash / unaccounted) as stacked bars, from *.breakdown.csv (data: prep_breakdown.awk).
FIG_TITLE = "Training time breakdown per configuration"
load meta
H = 1050
load dir."/common.gp"
XROT = 1
set key outside right top
load dir."/lib_bars.gp"
