# Attributes the data-cache costs of a callgrind.out file (callgrind --cache-sim=yes) to training
# phases; prints CSV rows (no header) in the column order of <csv stem>.cache.csv. POSIX awk.
#
# The phase table comes in ENVIRON["SLIDE_PHASE_TABLE"]: lines "NAME PHASE" (a function, matched
# on its full name, then without compiler clone suffixes, then without ._omp_fn.N) or
# "CALLER>CALLEE PHASE" (that call only). A function not in the table belongs to its callers'
# phases, split by the data references of each call (callgrind's inclusive cost of the call);
# costs reached from no mapped function are phase "other"; "total" sums every function.
# Variables: ctx (the 8 context fields, comma-joined), samples, batches, geometry; mode=phase-of
# with name=NAME prints the phase NAME maps to (or "inherit").

function base_name(n) {
    sub(/'[0-9]+$/, "", n)                      # callgrind's recursion-level suffix
    while (match(n, /\.(constprop|isra|part|cold|lto_priv)(\.[0-9]+)?/))
        n = substr(n, 1, RSTART - 1) substr(n, RSTART + RLENGTH)
    return n
}
function phase_of(n,    b, o) {
    b = base_name(n)
    if (b in FMAP) return FMAP[b]
    o = b
    sub(/\._omp_fn\.[0-9]+$/, "", o)
    if (o in FMAP) return FMAP[o]
    return ""
}
function edge_phase(g, f,    k) {
    k = base_name(g) ">" base_name(f)
    if (k in EMAP) return EMAP[k]
    k = base_name(g)
    sub(/\._omp_fn\.[0-9]+$/, "", k)
    k = k ">" base_name(f)
    if (k in EMAP) return EMAP[k]
    return ""
}
# fn=(id) name | fn=(id) | fn=name: the name, remembering compressed ids
function name_of(s, kind,    id) {
    if (s ~ /^\([0-9]+\)/) {
        id = substr(s, 2, index(s, ")") - 2)
        s = substr(s, index(s, ")") + 1)
        sub(/^ /, "", s)
        if (s != "") NAMES[kind, id] = s
        else s = NAMES[kind, id]
    }
    return s
}
function fail(msg) {
    print "cache_attr: " msg > "/dev/stderr"
    failed = 1
    exit 2
}
function fmt_rate(m, r) { return r > 0 ? sprintf("%.6f", m / r) : "NA" }
function fmt_ps(m) { return ns > 0 ? sprintf("%.2f", m / ns) : "NA" }

BEGIN {
    n_tab = split(ENVIRON["SLIDE_PHASE_TABLE"], tl, "\n")
    for (i = 1; i <= n_tab; i++) {
        line = tl[i]
        sub(/#.*/, "", line)
        if (split(line, w, " ") < 2) continue
        if (index(w[1], ">")) EMAP[w[1]] = w[2]
        else FMAP[w[1]] = w[2]
    }
    if (mode == "phase-of") {
        p = phase_of(name)
        print (p == "" ? "inherit" : p)
        exit 0
    }
    NPH = split("hash query forward backward update rehash other", PH, " ")
    npos = 1
    ns = samples ~ /^[0-9]+$/ ? samples + 0 : 0
    d1 = ll = "NA,NA,NA"
}
# header lines
/^positions:/ { npos = NF - 1; next }
/^events:/ {
    for (i = 2; i <= NF; i++) EV[$i] = i - 1
    if (!("Dr" in EV) || !("D1mr" in EV) || !("DLmr" in EV))
        fail(FILENAME ": no data-cache events (run callgrind with --cache-sim=yes)")
    have_events = 1
    next
}
/^desc: D1 cache:/ || /^desc: LL cache:/ {
    # desc: D1 cache: 49152 B, 64 B, 12-way associative
    g = $0
    sub(/^desc: [DL1]+ cache: */, "", g)
    split(g, gp, ",")
    sz = gp[1] + 0; ln = gp[2] + 0; as = gp[3] + 0
    if ($2 == "D1") d1 = sz "," as "," ln
    else ll = sz "," as "," ln
    next
}
/^fn=/ { cur = base_name(name_of(substr($0, 4), "fn")); FN[cur] = 1; pend = 0; next }
/^cfn=/ { callee = base_name(name_of(substr($0, 5), "fn")); FN[callee] = 1; next }
/^calls=/ { pend = 1; next }
/^(fl|fi|fe|cfl|cfi|ob|cob)=/ { name_of(substr($0, index($0, "=") + 1), substr($0, 1, index($0, "=") - 1)); next }
/^[0-9+*-]/ {
    if (cur == "") next
    # cost line: npos positions, then the events in header order (trailing zeros omitted)
    r = $(npos + EV["Dr"]) + $(npos + EV["Dw"])
    m1 = $(npos + EV["D1mr"]) + $(npos + EV["D1mw"])
    m2 = $(npos + EV["DLmr"]) + $(npos + EV["DLmw"])
    if (pend) {
        if (callee != cur) {     # a recursive call adds nothing to split
            k = cur SUBSEP callee
            if (!(k in EW)) { NE++; EG[NE] = cur; EF[NE] = callee }
            EW[k] += r
        }
        pend = 0
    } else {
        S1[cur] += r; S2[cur] += m1; S3[cur] += m2
    }
    next
}
END {
    if (failed || mode == "phase-of") exit failed ? 2 : 0
    if (!have_events) fail(FILENAME ": not a callgrind.out file with cache events")
    # incoming weight per function
    for (e = 1; e <= NE; e++) IN[EF[e]] += EW[EG[e], EF[e]]
    for (f in FN) {
        MP[f] = phase_of(f)
        for (p = 1; p <= NPH; p++) P[f, p] = (MP[f] == "" ? (p == NPH) : (MP[f] == PH[p]))
        # an OpenMP outlined body belongs to the function it was outlined from, not to the
        # runtime function that calls it (GOMP_parallel, a worker thread's start)
        o = f
        if (MP[f] == "" && sub(/\._omp_fn\.[0-9]+$/, "", o) && (o in FN)) PARENT[f] = o
    }
    # an unmapped function's share of each phase: its calls' shares (a few sweeps reach the
    # bottom of any call chain of a training batch; cycles settle)
    for (it = 0; it < 40; it++) {
        for (f in FN) if (MP[f] == "") for (p = 1; p <= NPH; p++) Q[f, p] = 0
        for (e = 1; e <= NE; e++) {
            f = EF[e]; g = EG[e]
            if (MP[f] != "" || IN[f] <= 0 || (f in PARENT)) continue
            wt = EW[g, f] / IN[f]
            ep = edge_phase(g, f)
            for (p = 1; p <= NPH; p++)
                Q[f, p] += wt * (ep != "" ? (ep == PH[p]) : P[g, p])
        }
        for (f in FN) if (MP[f] == "" && IN[f] > 0) for (p = 1; p <= NPH; p++) P[f, p] = Q[f, p]
        for (f in PARENT) for (p = 1; p <= NPH; p++) P[f, p] = P[PARENT[f], p]
    }
    for (f in FN)
        for (p = 1; p <= NPH; p++) {
            T1[p] += S1[f] * P[f, p]; T2[p] += S2[f] * P[f, p]; T3[p] += S3[f] * P[f, p]
        }
    for (f in FN) { A1 += S1[f]; A2 += S2[f]; A3 += S3[f] }
    if (ENVIRON["SLIDE_ATTR_DEBUG"] != "")      # per function: D1 misses, then phase shares
        for (f in FN) if (S2[f] > 0) {
            o = ""
            for (p = 1; p <= NPH; p++) if (P[f, p] > 0.001) o = o sprintf(" %s=%.3f", PH[p], P[f, p])
            printf "%12.0f %s%s\n", S2[f], f, o > "/dev/stderr"
        }
    PH[NPH + 1] = "total"; T1[NPH + 1] = A1; T2[NPH + 1] = A2; T3[NPH + 1] = A3
    for (p = 1; p <= NPH + 1; p++) {
        r = sprintf("%.0f", T1[p]) + 0; m1 = sprintf("%.0f", T2[p]) + 0
        m2 = sprintf("%.0f", T3[p]) + 0
        printf "%s,callgrind,%s,D1,%.0f,%.0f,%s,%s,%s,%s,%s,%s\n", ctx, PH[p], r, m1,
               fmt_rate(m1, r), fmt_ps(m1), (ns > 0 ? ns : "NA"), batches, d1 "," ll,
               geometry
        printf "%s,callgrind,%s,LL,%.0f,%.0f,%s,%s,%s,%s,%s,%s\n", ctx, PH[p], m1, m2,
               fmt_rate(m2, m1), fmt_ps(m2), (ns > 0 ? ns : "NA"), batches, d1 "," ll,
               geometry
    }
}
