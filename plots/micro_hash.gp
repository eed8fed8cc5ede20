# micro_hash.gp: hashing throughput against K*L and thread count (SimHash / WTA / DWTA; dense and
# sparse inputs), from micro.csv (data: prep_micro_hash.awk).
FIG_TITLE = "Hashing throughput vs K*L and threads (slide_hash_keys_*)"
load meta
if (!exists("W")) W = 750 * COLS + 100
H = 560 * ROWS + 80
load dir."/common.gp"
set xlabel "K*L (hash functions per input, log scale)"
set key bottom left
load dir."/lib_lines.gp"
