#!/bin/sh
# Installs (or removes) slidebench under a prefix: include/slide/*.h, lib/libslide.a,
# lib/pkgconfig/slide.pc (from BUILD/slide.pc, @PREFIX@ set), bin/<programs of BUILD/bin>.
# usage: sh mk/install.sh install|uninstall DEST BUILD [PREFIX]   (DEST = DESTDIR + PREFIX)
set -eu
[ $# -ge 3 ] || { echo "install.sh: usage: install|uninstall DEST BUILD [PREFIX]" >&2; exit 2; }
what=$1; dest=$2; build=$3; prefix=${4:-$2}
case "$dest" in /*) ;; *) echo "install.sh: PREFIX must be an absolute path (got '$dest')" >&2; exit 2 ;; esac
hdrs=$(cd core/include/slide && ls *.h)
progs=$(ls "$build/bin" 2>/dev/null || true)
if [ "$what" = uninstall ]; then
    for h in $hdrs; do rm -f "$dest/include/slide/$h"; done
    rmdir "$dest/include/slide" 2>/dev/null || true
    rm -f "$dest/lib/libslide.a" "$dest/lib/pkgconfig/slide.pc"
    for p in $progs; do rm -f "$dest/bin/$p"; done
    echo "[install] removed slidebench from $dest"
    exit 0
fi
[ "$what" = install ] || { echo "install.sh: install or uninstall, not '$what'" >&2; exit 2; }
for f in "$build/lib/libslide.a" "$build/slide.pc"; do
    [ -f "$f" ] || { echo "install.sh: $f missing: run make first" >&2; exit 2; }
done
mkdir -p "$dest/include/slide" "$dest/lib/pkgconfig" "$dest/bin"
for h in $hdrs; do install -m 644 "core/include/slide/$h" "$dest/include/slide/$h"; done
install -m 644 "$build/lib/libslide.a" "$dest/lib/libslide.a"
sed "s|@PREFIX@|$prefix|" "$build/slide.pc" >"$dest/lib/pkgconfig/slide.pc.tmp"
mv "$dest/lib/pkgconfig/slide.pc.tmp" "$dest/lib/pkgconfig/slide.pc"
n=0
for p in $progs; do
    [ -f "$build/bin/$p" ] && [ -x "$build/bin/$p" ] || continue
    install -m 755 "$build/bin/$p" "$dest/bin/$p"
    n=$((n + 1))
done
echo "[install] headers, libslide.a, slide.pc and $n programs -> $dest"
echo "[install] use: PKG_CONFIG_PATH=$prefix/lib/pkgconfig cc app.c \$(pkg-config --cflags --libs slide)"
