# common.gp: terminal, output, styles and helpers of every figure script. Set before loading: fmt
# ('png' or 'svg'), out (path without extension), FIG_TITLE; optional W, H (pixels), FILES, CAPTION.
# PNG uses pngcairo when available, else png. Text is noenhanced ("P@1" prints as is).
if (!exists("W")) { W = 1200 }
if (!exists("H")) { H = 800 }
PNGC = fmt ne "svg" && strstrt(GPVAL_TERMINALS, "pngcairo") > 0
if (fmt eq "svg") { set terminal svg size W,H dynamic noenhanced font "Sans,11" background rgb "white" }
if (PNGC) { set terminal pngcairo size W,H noenhanced font "Sans,10" background rgb "white" }
if (fmt ne "svg" && !PNGC) { set terminal png size W,H noenhanced background rgb "white" }
set output out.".".fmt
set datafile separator ","
set datafile missing "NA"
set datafile columnheaders
set grid back lc rgb "#dddddd" lw 1
set border 3 lc rgb "#444444"
set tics nomirror
set key opaque box lc rgb "#bbbbbb" samplen 2 spacing 1.1 font ",9"
# Line types 1-7 = systems in legend order (slide, slide-full, dense-cpu, dense-gpu, torch-gpu,
# torch-cpu, other); bar series reuse them as colours.
array LT_RGB[9] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf"]
array LT_PT[9] = [7, 5, 9, 11, 13, 15, 3, 2, 4]
do for [lt_i=1:9] { set linetype lt_i lc rgb LT_RGB[lt_i] lw 2 pt LT_PT[lt_i] ps (lt_i < 3 ? 0.8 : 0.9) }
set linetype cycle 9
FULL_TITLE = FIG_TITLE."\n".(exists("CAPTION") ? CAPTION : "")
set style fill solid 0.85 border lc rgb "#333333"
# Word lists hold values without spaces. hdr(f): ",header," of a CSV; has(c): column c in the header
# HD of the file being read; sc(c) / nc(c): its text ("NA" if absent) / number (NaN).
hdr(f) = ",".system("head -n 1 '".f."' | tr -d '\\r'").","
has(c) = strstrt(HD, ",".c.",") > 0
sc(c) = has(c) ? strcol(c) : "NA"
nc(c) = has(c) ? column(c) : NaN
uadd(L, v) = (v eq "" || v eq "NA" || strstrt(" ".L." ", " ".v." ") > 0) ? L : (L eq "" ? v : L." ".v)
idx_(w, L, i) = i > words(L) ? NaN : word(L, i) eq w ? i : idx_(w, L, i + 1)
idx(w, L) = idx_(w, L, 1)
# rank(s) / rk(f): legend position of a system / hash family (unknown ones last)
SYS = "slide slide-full dense-cpu dense-gpu torch-gpu torch-cpu"; HFS = "simhash wta dwta wta-rot dwta-rot"
ord(w, L) = idx(w, L) == idx(w, L) ? idx(w, L) : words(L) + 1
rank(s) = ord(s, SYS); rk(f) = ord(f, HFS)
# keep(x, y): smooth unique sorts a curve by x but breaks it at undefined points, so the other rows
# repeat its last point (lx, ly)
keep(x, y) = ($0 == 0 ? (lx = NaN, ly = NaN) : 0, x == x ? (lx = x, ly = y) : 0, lx)
# micro.csv args "fifo/n:205443/K:9": first item, akey(a, "K"): value of "K" ("NA" when absent)
upto(s, i) = s[1:i - 1]
from(s, i) = s[i:]
first(a) = upto(a."/", strstrt(a."/", "/"))
arg_(s, k) = strstrt(s, "/".k.":") ? first(from(s, strstrt(s, "/".k.":") + strlen(k) + 2)) : "NA"
akey(a, k) = arg_("/".a, k)
isna(s) = s eq "" || s eq "NA"
shorte(e) = strlen(e) <= 40 ? e : strstrt(e, "(") && strstrt(e, ")") > strstrt(e, "(") + 1 ? \
    from(upto(e, strstrt(e, ")")), strstrt(e, "(") + 1) : upto(e, 38)."..."
err(x) = isna(sc("error_message")) ? "" : shorte(sc("error_message"))
subst(s, a, b) = strstrt(s, a) ? upto(s, strstrt(s, a)).b.subst(from(s, strstrt(s, a) + strlen(a)), a, b) : s
NOTE = "with labels rotate by 90 left offset 0, 0.5 font ',9' tc rgb '#b00000' notitle"
VLAB = "with labels offset 0, 0.7 font ',8' notitle"
# nodata(why): ends a figure script with the placeholder; plot_all.sh reads the reason from out.nodata
NODATA = "set print out.'.nodata'; print WHY; set print; load dir.'/nodata.gp'; exit"
# F, HD: the first file of FILES and its header; M: the .med. file beside a .runs. file (runs.awk)
if (exists("FILES")) { F = word(FILES, 1); HD = hdr(F); M = subst(F, ".runs.", ".med.") }
