# nodata.gp: placeholder figure that says why a figure has no data.
# Set before loading: fmt, out, FIG_TITLE, CAPTION, WHY.
W = 1000; H = 500
load dir."/common.gp"
set title FULL_TITLE font ",11"
unset border; unset tics; unset key; unset grid
set xrange [0:1]; set yrange [0:1]
if (strlen(WHY) > 90) { WHY = subst(WHY, " (or without ", "\n(or without ") }
set label 1 "no data: ".WHY at 0.5,0.5 center font ",15" tc rgb "#aa0000"
plot 2 notitle
