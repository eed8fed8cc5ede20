# scaleout.gp: the scale-out model of slide-train-mpi (bench/e2e/scaleout_model.sh, a model from
# measured inputs, not a measurement): projected samples/s against nodes of 16 cores for each
# network, and one H200's measured dense rate as a horizontal line; the first node count that
# reaches it is marked.
FIG_TITLE = "Scale-out model: slide-train-mpi samples/s vs nodes (alpha-beta model)"
W = 1100; H = 650
load dir."/common.gp"
NL = ""; G = NaN; NETS = ""
netrow(x) = strstrt(NL, sc("network")) ? 0 : (NETS = NETS.(NETS eq "" ? "" : "; ").sprintf("%s: latency %g us, %g GB/s", sc("network"), nc("alpha_us"), nc("bandwidth_gb_s")), 0)
stats F using (netrow(0), NL = uadd(NL, sc("network")), G = nc("gpu_dense_samples_per_s"), 0) nooutput
if (words(NL) == 0) { WHY = "no network rows in scaleout.csv"; eval NODATA }
CAPTION = "a model from measured inputs (bench/e2e/bench_mpi.sh, scaleout_model.sh); 16 cores per node, one rank of 16 threads\n".NETS
FULL_TITLE = FIG_TITLE."\n".CAPTION
set title FULL_TITLE font ",11"
set xlabel "nodes (16 cores each; log scale)"
set ylabel "samples/s (model)"
set logscale xy; set logscale x 2
set xrange [0.8:80]
set key top left
sel(n) = sc("network") eq n ? column("nodes") : NaN
cmd = ""
do for [i=1:words(NL)] {
    n = word(NL, i); X = NaN
    stats F using (sel(n) == sel(n) && nc("samples_per_s") >= G && X != X ? (X = column("nodes"), 0) : 0) nooutput
    cmd = cmd.sprintf("F using (sel('%s')):'samples_per_s' with linespoints lt %d title '%s', ", n, i, n)
    if (X == X) { set arrow from X, graph 0 to X, G nohead dt 3 lc rgb LT_RGB[i]
                  set label sprintf("%s: %d nodes", n, X) at X, G * (i == 1 ? 0.6 : 0.4) center font ",9" tc rgb LT_RGB[i] }
}
cmd = cmd.sprintf("%g with lines lt 4 dt 2 title 'one H200, dense (measured, %g samples/s)'", G, G)
eval "plot ".cmd
