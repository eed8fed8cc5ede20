# parse.gp: data loading speed (XC text parsing vs the binary cache), from slide-bench-parse.csv
# (data: prep_parse.awk).
FIG_TITLE = "Data loading: text parse vs binary cache (slide-bench-parse)"
load meta
W = 900; H = 600
load dir."/common.gp"
load dir."/lib_bars.gp"
