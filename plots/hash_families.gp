# hash_families.gp: SimHash / WTA / DWTA across thread counts - throughput (top row) and P@1 at a
# common training-time budget (bottom row), one column per thread count (data: prep_hash.awk).
FIG_TITLE = "Hash families across thread counts: throughput and P@1 at a fixed time budget"
load meta
W = 520 * COLS + 120; H = 900
load dir."/common.gp"
set key top left
load dir."/lib_bars.gp"
