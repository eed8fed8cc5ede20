# lib_lines.gp: panels of curves described by a meta file from a prep_*.awk script (see lib.awk:
# panels_emit, layout_emit, curves_emit). The figure script sets titles, labels, XDEF/YDEF
# (default ranges), XLOGBASE and the key placement, then loads this file.
# Each panel's plot command lists only the elements it has (an empty `plot for [i=a:b]` would
# still open a file and take a key row in gnuplot 5.4), so it is built as a string and eval'd.
if (!exists("XDEF")) XDEF = "[*:*]"
if (!exists("YDEF")) YDEF = "[*:*]"
if (!exists("XLOGBASE")) XLOGBASE = 10
XY = "using (column(XCOL)):(column(YCOL))"
# element templates: %d = the curve (or key entry) index
STYLE1 = "CF[%d] ".XY." with linespoints lt CL[%d] dt CD[%d] title CT[%d]"
STYLE2 = "CF[%d] ".XY." with points lt CL[%d] pt 6 ps 1 title CT[%d]"
STYLE3 = "CF[%d] ".XY." with lines lt CL[%d] dt 2 lw 1.5 title CT[%d]"
STYLE4 = "CF[%d] ".XY." with points lt CL[%d] pt 6 ps 2.4 lw 2 title CT[%d]"
KEY1 = "keyentry with lines lc rgb '#999999' dt 3 lw 2 title KT[%d]"
KEY2 = "keyentry with points lc rgb 'black' pt 6 ps 2 lw 2 title KT[%d]"
set multiplot layout ROWS,COLS title FULL_TITLE font ",12"
do for [p=1:NP] {
    set title PT[p] font ",11"
    if (PKEY[p]) { set key on } else { set key off }
    if (PYL[p] ne "") { set ylabel PYL[p] }
    if (PLX[p]) { set logscale x XLOGBASE } else { unset logscale x }
    if (PLY[p]) { set logscale y } else { unset logscale y }
    if (PXR[p] ne "") { eval "set xrange ".PXR[p] } else { eval "set xrange ".XDEF }
    if (PYR[p] ne "") { eval "set yrange ".PYR[p] } else { eval "set yrange ".YDEF }
    b = (p - 1) * 4
    k = (p - 1) * 2
    cmd = ""
    do for [i=LB[b+1]:LE[b+1]] { cmd = cmd.sprintf(STYLE1, i, i, i, i).", " }
    do for [i=LB[b+2]:LE[b+2]] { cmd = cmd.sprintf(STYLE2, i, i, i).", " }
    do for [i=LB[b+3]:LE[b+3]] { cmd = cmd.sprintf(STYLE3, i, i, i).", " }
    do for [i=LB[b+4]:LE[b+4]] { cmd = cmd.sprintf(STYLE4, i, i, i).", " }
    if (cmd eq "") {
        # no curve in this panel: say why (a plot needs one real element besides key entries)
        set label 10 PMSG[p] at graph 0.5, graph 0.5 center font ",13" tc rgb "#aa0000"
        cmd = "1e30 notitle, "
    }
    do for [j=KB[k+1]:KE[k+1]] { cmd = cmd.sprintf(KEY1, j).", " }
    do for [j=KB[k+2]:KE[k+2]] { cmd = cmd.sprintf(KEY2, j).", " }
    eval "plot ".cmd[1:strlen(cmd)-2]
    unset label 10
}
unset multiplot
