# ctx.gp: loads common.gp, then sets CAPTION from the context columns of the rows in FILES:
# datasets, host (CPU model), threads, git commits, highest 1-minute load average. Set FILES (and
# optionally DS_TEXT / THR_TEXT for data without such columns) before loading.
load dir."/common.gp"
cds = ""; chost = ""; ccpu = ""; cthr = ""; ccom = ""; cload = NaN
ctx_row(x) = (cds = uadd(cds, sc("dataset")), chost = uadd(chost, sc("host")), \
    ccpu = strstrt(ccpu, sc("cpu_model")) || sc("cpu_model") eq "NA" ? ccpu : ccpu.(ccpu eq "" ? "" : ", ").sc("cpu_model"), \
    cthr = uadd(cthr, sc("threads")), ccom = uadd(ccom, sc("git_commit")), \
    cload = nc("loadavg") > cload || cload != cload ? nc("loadavg") : cload, 0)
do for [f in FILES] { HD = hdr(f); stats f using (ctx_row(0)) nooutput }
jn(L, n) = n <= 1 ? word(L, 1) : jn(L, n - 1).", ".word(L, n)
clist(L, n) = words(L) <= n ? jn(L, words(L)) : sprintf("%s +%d more", jn(L, n), words(L) - n)
cthr = cthr eq "" ? "" : system("printf '%s\\n' ".cthr." | sort -n | tr '\\n' ' '")
c1 = "dataset: ".(exists("DS_TEXT") ? DS_TEXT : cds eq "" ? "n/a" : clist(cds, 3)). \
     "  |  machine: ".(chost eq "" ? "host n/a" : clist(chost, 2)).(ccpu eq "" ? "" : " (".ccpu.")")
c2 = "threads: ".(exists("THR_TEXT") ? THR_TEXT : cthr eq "" ? "n/a" : clist(cthr, 6)). \
     "  |  commit: ".(ccom eq "" ? "n/a (not recorded)" : clist(ccom, 2)). \
     (cload == cload ? sprintf("  |  load avg up to %.1f", cload) : "")
CAPTION = c1.(strlen(c1) + strlen(c2) > 95 ? "\n" : "  |  ").c2
FULL_TITLE = FIG_TITLE."\n".CAPTION
