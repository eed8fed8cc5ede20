# recall.gp: why recall@5 is what it is. Per run, the share of the exact top-5 output neurons
# (and of random ones) that the LSH sampler found, against their cosine with the query, with
# how the neurons spread over that cosine (data: prep_recall.awk).
FIG_TITLE = "Recall diagnosis: what the sampler finds, by cosine with the query"
load meta
if (!exists("W")) W = 750 * COLS + 100
H = 520 * ROWS + 80
load dir."/common.gp"
set xlabel "cosine of the hashed vectors (neuron vs query)"
set key top left
load dir."/lib_lines.gp"
