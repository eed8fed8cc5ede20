# lib_bars.gp: panels of bars described by a meta file from a prep_*.awk script (see lib.awk:
# panels_emit, layout_emit, bars_emit): bar series, dashed reference lines, value labels above
# bars and vertical notes where a bar is missing. The figure script sets titles, XROT (1 = slanted
# category labels) and the key, then loads this file. Stacked bars are overlapping cumulative
# series, largest first. Plot commands list only existing elements (see lib_lines.gp).
if (!exists("XROT")) XROT = 0
BAR = "BF[%d] using (column('x')):(column('value')):(column('width')) with boxes lt BC[%d] title BT[%d]"
REF = "RF[%d] using (column('x')):(column('value')) with lines lc rgb 'black' dt 2 lw 2 title RT[%d]"
VLAB = "VF[%d] using (column('x')):(column('y')):(stringcolumn('text')) with labels offset 0, 0.7 font ',8' notitle"
NOTE = "NF[%d] using (column('x')):(column('y')):(stringcolumn('text')) with labels rotate by 90 left offset 0, 0.5 font ',9' tc rgb '#b00000' notitle"
set multiplot layout ROWS,COLS title FULL_TITLE font ",12"
set style fill solid 0.85 border lc rgb "#333333"
set offsets 0, 0, graph 0.12, 0
set grid noxtics ytics
do for [p=1:NP] {
    set title PT[p] font ",11"
    if (PKEY[p]) { set key on } else { set key off }
    set ylabel PYL[p]
    unset logscale x
    if (PLY[p]) { set logscale y } else { unset logscale y }
    if (PXR[p] ne "") { eval "set xrange ".PXR[p] } else { set xrange [*:*] }
    if (PYR[p] ne "") { eval "set yrange ".PYR[p] } else { if (PLY[p]) { set yrange [*:*] } else { set yrange [0:*] } }
    set xtics () scale 0
    # (two-line category labels need the bottom margin that auto layout does not leave)
    if (XROT) { set xtics rotate by 30 right; set lmargin LMARGIN; set bmargin -1 } else { set xtics norotate; set lmargin -1; set bmargin 4 }
    do for [k=XB[p]:XE[p]] { set xtics add (XL[k] XX[k]) }
    cmd = ""
    do for [i=BB[p]:BE[p]] { cmd = cmd.sprintf(BAR, i, i, i).", " }
    do for [i=RB[p]:RE[p]] { cmd = cmd.sprintf(REF, i, i).", " }
    if (VF[p] ne "") { cmd = cmd.sprintf(VLAB, p).", " }
    if (NF[p] ne "") { cmd = cmd.sprintf(NOTE, p).", " }
    if (cmd eq "") { cmd = "1e30 notitle, " }
    eval "plot ".cmd[1:strlen(cmd)-2]
}
unset multiplot
