# lib.awk: helpers for the plots/prep_*.awk scripts (POSIX awk / mawk): columns by header name,
# NA handling, the figure caption, sorting, and the meta file of gnuplot assignments.
#
# Every prep script runs as: awk -v tmp=DIR -v meta=FILE -f lib.awk -f prep_x.awk CSV...
# Each input file starts with its header row; columns are looked up by name per file, so files
# with other column orders or missing columns mix freely (a missing column reads as NA).

BEGIN { FS = "," }

# Call at FNR == 1 (`FNR == 1 { hdr(); next }`): maps the header of the current file.
function hdr(   i, k) {
    for (k in COL) delete COL[k]
    for (i = 1; i <= NF; i++) { sub(/\r$/, "", $i); COL[$i] = i }
}
function has(name) { return (name in COL) }
# Field by column name; "NA" when the column is absent or the field empty.
function col(name,   v) {
    if (!(name in COL)) return "NA"
    v = $(COL[name]); sub(/\r$/, "", v)
    return v == "" ? "NA" : v
}
function isnum(x) { return x ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }
# Numeric field or the string "NA".
function num(name,   v) { v = col(name); return isnum(v) ? v + 0 : "NA" }

# gnuplot string literal in double quotes: a "\\n" written by a prep script becomes a line break;
# double quotes in data are turned into single quotes.
function gq(s) { gsub(/"/, "'", s); return "\"" s "\"" }
# Text for a derived CSV cell: no separators, no line breaks, and never exactly "NA" (gnuplot would
# read that as a missing value and drop the label).
function cell(s) { gsub(/[,\r\n]/, ";", s); return s == "NA" ? "NA (not measured)" : s == "" ? "-" : s }
function meta_line(s) { print s > meta }
function meta_str(name, s) { meta_line(name " = " gq(s)) }
function meta_num(name, x) { meta_line(name " = " (isnum(x) ? x : "NaN")) }
# gnuplot arrays need a size of at least 1.
function meta_array(name, n) { meta_line("array " name "[" (n > 0 ? n : 1) "]") }
function meta_nodata(why) { meta_str("NODATA", why) }

# Distinct values per key, in order of first appearance ("" and NA ignored).
function uadd(key, v) {
    if (v == "" || v == "NA") return
    if ((key SUBSEP v) in USEEN) return
    USEEN[key SUBSEP v] = 1
    UN[key]++
    UV[key, UN[key]] = v
}
function ucount(key) { return (key in UN) ? UN[key] : 0 }
# "a, b, c +2 more" (numeric keys sorted numerically); `none` when empty.
function ulist(key, none, max,   n, i, s, T) {
    n = ucount(key)
    if (n == 0) return none
    for (i = 1; i <= n; i++) T[i] = UV[key, i]
    if (key ~ /^(threads|num_)/) nsort(T, n)
    if (max == "" || max < 1) max = 4
    s = T[1]
    for (i = 2; i <= n && i <= max; i++) s = s ", " T[i]
    if (n > max) s = s " +" (n - max) " more"
    return s
}
# Context of one row of the training / breakdown / micro schemas.
function ctx_add() {
    uadd("dataset", col("dataset"))
    uadd("host", col("host"))
    uadd("cpu", col("cpu_model"))
    uadd("threads", col("threads"))
    uadd("commit", col("git_commit"))
    load_add(num("loadavg")); load_add(num("loadavg_start"))
}
# Highest 1-minute load average seen (a noise indicator on a shared machine).
function load_add(v) { if (v != "NA" && (MAXLOAD == "" || v > MAXLOAD)) MAXLOAD = v }
# One caption line; dataset/threads texts override when the data has no such column.
function caption(ds_text, thr_text,   m, s, t) {
    m = ulist("host", "host n/a", 2)
    if (ucount("cpu") > 0) m = m " (" ulist("cpu", "", 2) ")"
    s = "dataset: " (ds_text != "" ? ds_text : ulist("dataset", "n/a", 3))
    s = s "  |  machine: " m
    t = "threads: " (thr_text != "" ? thr_text : ulist("threads", "n/a", 6))
    t = t "  |  commit: " ulist("commit", "n/a (not recorded)", 2)
    if (MAXLOAD != "") t = t "  |  load avg up to " sprintf("%.1f", MAXLOAD)
    # two lines when one would not fit the narrower figures
    return s (length(s) + length(t) > 95 ? "\\n" : "  |  ") t
}

# In-place sorts of A[1..n].
function nsort(A, n,   i, j, t) {
    for (i = 2; i <= n; i++) {
        t = A[i]
        for (j = i - 1; j >= 1 && A[j] + 0 > t + 0; j--) A[j + 1] = A[j]
        A[j + 1] = t
    }
}
function ssort(A, n,   i, j, t) {
    for (i = 2; i <= n; i++) {
        t = A[i]
        for (j = i - 1; j >= 1 && A[j] > t; j--) A[j + 1] = A[j]
        A[j + 1] = t
    }
}
# Median of the numbers in A[1..n] (sorts A); NA when n == 0.
function median(A, n) {
    if (n < 1) return "NA"
    nsort(A, n)
    return n % 2 ? A[(n + 1) / 2] : (A[n / 2] + A[n / 2 + 1]) / 2
}

# Order of systems in legends (and their line types in common.gp).
function sys_rank(s) {
    if (s == "slide") return 1
    if (s == "slide-full") return 2
    if (s == "dense-cpu") return 3
    if (s == "dense-gpu") return 4
    if (s == "torch-gpu") return 5
    if (s == "torch-cpu") return 6
    return 7
}
function family_rank(f) { return f == "simhash" ? 1 : f == "wta" ? 2 : f == "dwta" ? 3 : f == "wta-rot" ? 4 : f == "dwta-rot" ? 5 : 6 }

# ---------------------------------------------------------------- panels
# A prep script fills, per panel p: PANT[p] (title), PANY[p] (y label), PLOGX[p], PLOGY[p] (1 = log
# axis), optionally PANXR[p] / PANYR[p] (explicit "[lo:hi]"), and calls rng_add for its points.

# Keep a panel's data range; panels_emit writes explicit ranges only where autoscale would warn
# (no data, or a single x or y value), padded around it.
function rng_add(p, x, y) {
    if (isnum(x) && (!PLOGX[p] || x > 0)) {
        if (!((p, "x0") in RNG) || x + 0 < RNG[p, "x0"]) RNG[p, "x0"] = x + 0
        if (!((p, "x1") in RNG) || x + 0 > RNG[p, "x1"]) RNG[p, "x1"] = x + 0
    }
    if (isnum(y) && (!PLOGY[p] || y > 0)) {
        if (!((p, "y0") in RNG) || y + 0 < RNG[p, "y0"]) RNG[p, "y0"] = y + 0
        if (!((p, "y1") in RNG) || y + 0 > RNG[p, "y1"]) RNG[p, "y1"] = y + 0
    }
}
function has_y(p) { return (p, "y0") in RNG }
function pad_range(v, logs) {
    if (logs) return "[" (v / 2) ":" (v * 2) "]"
    if (v == 0) return "[-1:1]"
    return "[" (v < 0 ? v * 1.5 : 0) ":" (v < 0 ? 0 : v * 1.5) "]"
}
function axis_range(p, a, logs, dflt) {
    if (!((p, a "0") in RNG)) return logs ? "[1:10]" : "[0:1]"
    if (RNG[p, a "0"] == RNG[p, a "1"]) return pad_range(RNG[p, a "0"], logs)
    return dflt
}
# Low end of the y axis, where notes of missing bars start.
function y_base(p,   e) {
    if (!PLOGY[p]) return 0
    if (!has_y(p)) return 1.2
    # just above the power of ten below the smallest value (where autoscale puts the axis)
    e = log(RNG[p, "y0"]) / log(10)
    e = e < 0 && e != int(e) ? int(e) - 1 : int(e)
    return 1.15 * exp(e * log(10))
}
function panels_emit(np,   p) {
    meta_num("NP", np)
    meta_array("PT", np); meta_array("PYL", np); meta_array("PXR", np); meta_array("PYR", np)
    meta_array("PLX", np); meta_array("PLY", np)
    for (p = 1; p <= np; p++) {
        meta_str("PT[" p "]", PANT[p])
        meta_str("PYL[" p "]", PANY[p])
        meta_str("PXR[" p "]", (p in PANXR) ? PANXR[p] : axis_range(p, "x", PLOGX[p], ""))
        meta_str("PYR[" p "]", (p in PANYR) ? PANYR[p] : axis_range(p, "y", PLOGY[p], ""))
        meta_line("PLX[" p "] = " (PLOGX[p] ? 1 : 0))
        meta_line("PLY[" p "] = " (PLOGY[p] ? 1 : 0))
    }
}
# Multiplot layout for np panels: up to `maxcols` side by side.
function layout_emit(np, maxcols,   c) {
    c = np < maxcols ? np : maxcols
    if (c < 1) c = 1
    meta_line("COLS = " c)
    meta_line("ROWS = " int((np + c - 1) / c))
}

# ---------------------------------------------------------------- curves (lib_lines.gp)
# Styles: 1 line with points (the data), 2 small points (single runs), 3 dashed line
# (reference), 4 large open circles (marked points). An empty title gives no key entry.
function curve_add(p, style, title, lt, dt, rows) {
    if (rows == "") return
    NCV++
    CVP[NCV] = p; CVS[NCV] = style; CVT[NCV] = title; CVL[NCV] = lt; CVD[NCV] = dt == "" ? 1 : dt
    CVR[NCV] = rows
}
# Key-only entries: style 1 grey dotted line (a system without data), 2 black open circle.
function key_add(p, style, title, lt) {
    NKY++
    KYP[NKY] = p; KYS[NKY] = style; KYT[NKY] = title; KYL[NKY] = lt == "" ? 1 : lt
}
# Writes tmp/curveN.csv files (header `header`) and the arrays lib_lines.gp reads.
function curves_emit(np, header,   p, s, i, n, b, path, c) {
    meta_array("PMSG", np)
    for (p = 1; p <= np; p++) {
        c = 0
        for (i = 1; i <= NCV; i++) if (CVP[i] == p) c++
        meta_str("PMSG[" p "]", c ? "" : (p in PANMSG) ? PANMSG[p] : "no data")
    }
    meta_array("CF", NCV); meta_array("CT", NCV); meta_array("CL", NCV); meta_array("CD", NCV)
    meta_array("LB", np * 4); meta_array("LE", np * 4)
    n = 0
    for (p = 1; p <= np; p++) for (s = 1; s <= 4; s++) {
        b = (p - 1) * 4 + s
        meta_line("LB[" b "] = " (n + 1))
        for (i = 1; i <= NCV; i++) if (CVP[i] == p && CVS[i] == s) {
            n++
            path = tmp "/curve" n ".csv"
            write_csv(path, header, CVR[i])
            meta_str("CF[" n "]", path)
            meta_str("CT[" n "]", CVT[i])
            meta_line("CL[" n "] = " CVL[i])
            meta_line("CD[" n "] = " CVD[i])
        }
        meta_line("LE[" b "] = " n)
    }
    key_flags(np)
    meta_array("KT", NKY); meta_array("KL", NKY); meta_array("KB", np * 2); meta_array("KE", np * 2)
    n = 0
    for (p = 1; p <= np; p++) for (s = 1; s <= 2; s++) {
        b = (p - 1) * 2 + s
        meta_line("KB[" b "] = " (n + 1))
        for (i = 1; i <= NKY; i++) if (KYP[i] == p && KYS[i] == s) {
            n++
            meta_str("KT[" n "]", KYT[i])
            meta_line("KL[" n "] = " KYL[i])
        }
        meta_line("KE[" b "] = " n)
    }
}

# PKEY[p] = 1 when panel p has a titled element (else the figure draws no empty key box).
function key_flags(np,   p, i, k) {
    meta_array("PKEY", np)
    for (p = 1; p <= np; p++) {
        k = 0
        for (i = 1; i <= NCV; i++) if (CVP[i] == p && CVT[i] != "") k = 1
        for (i = 1; i <= NKY; i++) if (KYP[i] == p && KYT[i] != "") k = 1
        for (i = 1; i <= NBR; i++) if (BRP[i] == p && BRT[i] != "") k = 1
        for (i = 1; i <= NRF; i++) if (RFP[i] == p && RFT[i] != "") k = 1
        meta_line("PKEY[" p "] = " k)
    }
}

# ---------------------------------------------------------------- bars (lib_bars.gp)
# bar_add: one series in one panel, rows "x,value,width" (value > 0 on log panels).
function bar_add(p, title, color, rows) {
    if (rows == "") return
    NBR++
    BRP[NBR] = p; BRT[NBR] = title; BRC[NBR] = color; BRR[NBR] = rows
}
function bar_row(p, x, v, w) {
    rng_add(p, "", v)
    return x "," v "," w
}
# Dashed reference line, rows "x,value".
function ref_add(p, title, rows) {
    if (rows == "") return
    NRF++
    RFP[NRF] = p; RFT[NRF] = title; RFR[NRF] = rows
}
# Text above a bar (value labels, centred messages).
function vlab_add(p, x, y, text) {
    VLR[p] = ((p in VLR) ? VLR[p] "\n" : "") x "," y "," cell(text)
}
# Vertical note standing where a bar is missing ("NA (no PMU)", "n/a: ...").
function note_add(p, x, text) {
    NOX[p] = ((p in NOX) ? NOX[p] "\n" : "") x SUBSEP cell(text)
}
function xtic_add(p, label, x) {
    NXT++
    XTP[NXT] = p; XTL[NXT] = label; XTX[NXT] = x
}
function bars_emit(np,   p, i, n, path, rows, k, m, parts, x, lm) {
    meta_array("BF", NBR); meta_array("BT", NBR); meta_array("BC", NBR)
    meta_array("BB", np); meta_array("BE", np)
    n = 0
    for (p = 1; p <= np; p++) {
        meta_line("BB[" p "] = " (n + 1))
        for (i = 1; i <= NBR; i++) if (BRP[i] == p) {
            n++
            path = tmp "/bars" n ".csv"
            write_csv(path, "x,value,width", BRR[i])
            meta_str("BF[" n "]", path); meta_str("BT[" n "]", BRT[i]); meta_line("BC[" n "] = " BRC[i])
        }
        meta_line("BE[" p "] = " n)
    }
    key_flags(np)
    meta_array("RF", NRF); meta_array("RT", NRF); meta_array("RB", np); meta_array("RE", np)
    n = 0
    for (p = 1; p <= np; p++) {
        meta_line("RB[" p "] = " (n + 1))
        for (i = 1; i <= NRF; i++) if (RFP[i] == p) {
            n++
            path = tmp "/ref" n ".csv"
            write_csv(path, "x,value", RFR[i])
            meta_str("RF[" n "]", path); meta_str("RT[" n "]", RFT[i])
        }
        meta_line("RE[" p "] = " n)
    }
    # label files only where there are labels ("" = none)
    meta_array("VF", np); meta_array("NF", np)
    for (p = 1; p <= np; p++) {
        path = tmp "/vlab" p ".csv"
        if (p in VLR) write_csv(path, "x,y,text", VLR[p])
        meta_str("VF[" p "]", (p in VLR) ? path : "")
        rows = ""
        if (p in NOX) {
            m = split(NOX[p], parts, "\n")
            for (k = 1; k <= m; k++) {
                split(parts[k], x, SUBSEP)
                rows = rows (rows == "" ? "" : "\n") x[1] "," y_base(p) "," x[2]
            }
        }
        path = tmp "/note" p ".csv"
        if (rows != "") write_csv(path, "x,y,text", rows)
        meta_str("NF[" p "]", rows != "" ? path : "")
    }
    # slanted category labels (XROT) hang to the left of their tick: room for the first one
    lm = 0
    for (i = 1; i <= NXT; i++) if (XTX[i] == 1 && length(XTL[i]) * 0.75 > lm) lm = int(length(XTL[i]) * 0.75)
    meta_line("LMARGIN = " (lm > 10 ? lm : 10))
    meta_array("XL", NXT); meta_array("XX", NXT); meta_array("XB", np); meta_array("XE", np)
    n = 0
    for (p = 1; p <= np; p++) {
        meta_line("XB[" p "] = " (n + 1))
        for (i = 1; i <= NXT; i++) if (XTP[i] == p) {
            n++
            meta_str("XL[" n "]", XTL[i]); meta_line("XX[" n "] = " XTX[i])
        }
        meta_line("XE[" p "] = " n)
    }
}
# Centre of an empty panel, for a "no data" message (before panels_emit).
function empty_panel(p, xlo, xhi, text) {
    PANXR[p] = "[" xlo ":" xhi "]"
    vlab_add(p, (xlo + xhi) / 2, PLOGY[p] ? 3 : 0.5, text)
}

# ---------------------------------------------------------------- micro.csv (flat gbench CSV)
# One configuration = family + args + threads. Its value of a column: median of its iteration
# rows (repetitions), else its `median` aggregate row. Rows with error_message keep the message.
function micro_add(cols,   k, m, n, C, i, v, rt) {
    k = col("family") SUBSEP col("args") SUBSEP col("threads")
    if (!(k in MK)) {
        MK[k] = ++NMK
        MKF[NMK] = col("family"); MKA[NMK] = col("args"); MKT[NMK] = col("threads")
    }
    m = MK[k]
    if (col("error_message") != "NA") { MERR[m] = col("error_message"); return m }
    rt = col("run_type")
    n = split(cols, C, " ")
    for (i = 1; i <= n; i++) {
        v = num(C[i])
        if (v == "NA") continue
        if (rt == "iteration") MI[m, C[i], ++MIN[m, C[i]]] = v
        else if (col("aggregate_name") == "median") MA[m, C[i]] = v
    }
    return m
}
function micro_val(m, c,   n, i, A) {
    n = MIN[m, c] + 0
    if (n > 0) {
        for (i = 1; i <= n; i++) A[i] = MI[m, c, i]
        return median(A, n)
    }
    return ((m, c) in MA) ? MA[m, c] : "NA"
}
# Value of a `key:value` item of an args string ("NA" when absent); arg_first: the first item.
function arg_get(args, key,   n, P, i) {
    n = split(args, P, "/")
    for (i = 1; i <= n; i++) if (index(P[i], key ":") == 1) return substr(P[i], length(key) + 2)
    return "NA"
}
function arg_first(args,   P) { split(args, P, "/"); return P[1] }
# A short form of an error message: whole when short, else what follows its last ": ", else the
# part in parentheses, else its start.
function short_err(e,   a, b, t) {
    if (length(e) <= 40) return e
    t = e
    while ((a = index(t, ": ")) > 0) t = substr(t, a + 2)
    if (t != e && length(t) <= 40) return t
    a = index(e, "("); b = index(e, ")")
    if (a > 0 && b > a + 1) return substr(e, a + 1, b - a - 1)
    return substr(e, 1, 37) "..."
}

# Writes one derived CSV (header + rows joined by "\n").
function write_csv(path, header, rows) {
    print header > path
    if (rows != "") print rows > path
    close(path)
}
