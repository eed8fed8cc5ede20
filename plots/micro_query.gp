# micro_query.gp: bucket-query latency p50 / p99 per table configuration (family, K, L, range
# bits, bucket capacity, probes), from micro.csv (data: prep_micro_query.awk).
FIG_TITLE = "Bucket-query latency (slide_lsh_query)"
load meta
H = 720
load dir."/common.gp"
XROT = 1
set key top left
load dir."/lib_bars.gp"
