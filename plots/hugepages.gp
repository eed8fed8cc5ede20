# hugepages.gp: none / thp / explicit hugepages (paper Table 4): time per epoch and counters per
# sample (run's last row / samples_seen), medians over runs (.med. file); NA: labelled gaps.
FIG_TITLE = "Hugepages none / thp / explicit"
W = 1300; H = 950
load dir."/ctx.gp"
md(x) = isna(sc("hugepages_requested")) ? sc("hugepages") : sc("hugepages_requested")
MODES = "none thp explicit"
array NR[3] = [0, 0, 0]; array FELL[3] = ["", "", ""]
stats F using (idx(md(0), MODES) == idx(md(0), MODES) ? (NR[idx(md(0), MODES)] = NR[idx(md(0), MODES)] + 1, \
    FELL[idx(md(0), MODES)] = isna(sc("hugepages")) || sc("hugepages") eq md(0) ? FELL[idx(md(0), MODES)] : sc("hugepages"), 0) : 0) nooutput
PF = has("papi_perf_page_faults") ? "papi_perf_page_faults" : "rusage_minflt"
per(c) = c eq "epoch" ? "train_s_per_epoch" : c."_per_samples_seen"
set multiplot layout 2,2 title FULL_TITLE font ",12"
set xrange [0.4:3.6]; set yrange [0:*]; set offsets 0, 0, graph 0.12, 0
set grid noxtics ytics; set bmargin 4
set xtics () scale 0
do for [c=1:3] { set xtics add (word(MODES, c).(c == 1 ? " (4 KB)" : " (2 MB)")."\n".sprintf("%d run%s", NR[c], NR[c] == 1 ? "" : "s").(FELL[c] eq "" ? "" : ", ran as ".FELL[c]) c) }
set key top right
array V[3]
array PC[4] = ["epoch", "papi_tlb_dm", "papi_l1_dcm papi_l2_dcm papi_l3_tcm", PF]
array PT[4] = ["time per epoch", "dTLB misses per sample (PAPI_TLB_DM)", "cache misses per sample (PAPI_L1_DCM, L2_DCM, L3_TCM)", "page faults per sample (".PF.")"]
array PY[4] = ["train_s / epoch [s]", "misses / sample", "misses / sample", "faults / sample"]
array PL[4] = [1, 4, 5, 3]
do for [p=1:4] {
    CL = PC[p]; set title PT[p] font ",11"; set ylabel PY[p]
    ns = words(CL); cmd = ""
    do for [s=1:ns] {
        C = word(CL, s); Y = per(C)
        do for [c=1:3] { V[c] = NaN }
        stats M using (idx(md(0), MODES) == idx(md(0), MODES) ? (V[idx(md(0), MODES)] = nc(Y), 0) : 0) nooutput
        x(c) = c + (s - (ns + 1) / 2.) * 0.8 / ns
        do for [c=1:3] { if (V[c] != V[c]) { T = NR[c] == 0 ? "no run" : C eq "epoch" ? "NA" : has(C) ? "NA (no PMU)" : "NA (not recorded)"
            set label 10 * s + c T at x(c), 0 rotate by 90 left offset 0, 0.5 font ",9" tc rgb "#b00000" } }
        if (V[1] == V[1] || V[2] == V[2] || V[3] == V[3]) { cmd = cmd.sprintf("M using (idx(md(0), MODES) + (%d - (%d + 1) / 2.) * 0.8 / %d):'%s':(%g) with boxes lt %d title '%s', ", \
            s, ns, ns, Y, 0.72 / ns, ns > 1 ? 4 + s : PL[p], ns > 1 ? word("L1D L2D L3", s) : "")
        cmd = cmd.sprintf("M using (idx(md(0), MODES) + (%d - (%d + 1) / 2.) * 0.8 / %d):'%s':(sprintf('%%.3g%s', column('%s'))) %s, ", s, ns, ns, Y, C eq "epoch" ? " s" : "", Y, VLAB) }
    }
    if (ns == 1 || cmd eq "") { unset key } else { set key }
    if (cmd eq "") { set yrange [0:1]; cmd = "1e30 notitle, " } else { set yrange [0:*] }
    eval "plot ".cmd[1:strlen(cmd) - 2]
    unset label
}
unset multiplot
