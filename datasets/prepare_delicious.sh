#!/bin/sh
# Unpacks the vendored real Delicious data set (datasets/delicious/*.txt.gz) into a directory
# (default build/data/delicious/) and verifies the sha256 of the result. Idempotent.
set -eu

usage() {
    cat <<EOF
usage: $0 [DIR]

Gunzips datasets/delicious/train.txt.gz and test.txt.gz into DIR (default build/data/delicious,
relative to the repository root) and checks them against datasets/delicious/SHA256SUMS.
Files already present with the right sha256 are left alone; wrong ones are replaced.
Prints the directory on success; exit status 1 on any failure.
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
-*) echo "$0: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "$0: at most one argument, the output directory (see --help)" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
src="$here/delicious"
dest="${1:-$root/build/data/delicious}"

command -v sha256sum >/dev/null 2>&1 || { echo "$0: sha256sum not found (coreutils)" >&2; exit 1; }
command -v gzip >/dev/null 2>&1 || { echo "$0: gzip not found" >&2; exit 1; }
mkdir -p "$dest" || { echo "$0: cannot create $dest" >&2; exit 1; }

for name in train.txt test.txt; do
    want=$(awk -v f="$name" '$2 == f { print $1 }' "$src/SHA256SUMS")
    [ -n "$want" ] || { echo "$0: no sha256 for $name in $src/SHA256SUMS" >&2; exit 1; }
    out="$dest/$name"
    if [ -f "$out" ] && [ "$(sha256sum <"$out" | cut -d' ' -f1)" = "$want" ]; then
        continue
    fi
    tmp="$out.tmp.$$"
    if ! gzip -dc "$src/$name.gz" >"$tmp"; then
        rm -f "$tmp"
        echo "$0: cannot unpack $src/$name.gz" >&2
        exit 1
    fi
    got=$(sha256sum <"$tmp" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        rm -f "$tmp"
        echo "$0: $name: sha256 $got, expected $want (corrupt $src/$name.gz?)" >&2
        exit 1
    fi
    mv -f "$tmp" "$out"
done
echo "$dest"
