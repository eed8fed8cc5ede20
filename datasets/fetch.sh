#!/bin/sh
# Downloads a real extreme-classification data set (Amazon-670K, Delicious-200K) from the
# Extreme Classification Repository where a network allows, or verifies files placed by hand.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
me=$(basename "$0")

usage() {
    cat <<EOF
usage: $me [--dir DIR] [--url URL] NAME       download, unpack, verify
       $me [--dir DIR] --verify NAME          verify files already in place

NAME is amazon670k or delicious200k. Files land in DIR (default datasets/NAME/) as train.txt
and test.txt in the Extreme Classification Repository text format (first line 'N D L').

Verification checks the header counts (N D L) of both files against the published sizes, the
number of data lines against N, and the sha256 when one is recorded in this script.

Without a network the download fails within seconds (connect timeout ${CONNECT_TIMEOUT:-10} s; whole
download at most \$SLIDE_FETCH_MAX_TIME s, default 3600). Then place the files by hand:
  1. download the data set's zip from http://manikvarma.org/downloads/XC/XMLRepository.html
     (BoW features) on a machine with a browser;
  2. unzip; copy the *_train.txt file to datasets/NAME/train.txt and *_test.txt to test.txt;
  3. run: $me --verify NAME
--url overrides the download location (the repository's links are Google Drive files and
change from time to time). Exit status: 0 ok, 1 failure, 2 bad arguments.
EOF
}

die() { echo "$me: $*" >&2; exit 1; }
bad_args() { echo "$me: $* (see --help)" >&2; exit 2; }

verify=0
dir=""
url=""
name=""
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --verify) verify=1 ;;
    --dir) [ $# -ge 2 ] || bad_args "--dir needs a value"; dir=$2; shift ;;
    --dir=*) dir=${1#--dir=} ;;
    --url) [ $# -ge 2 ] || bad_args "--url needs a value"; url=$2; shift ;;
    --url=*) url=${1#--url=} ;;
    -*) bad_args "unknown option '$1'" ;;
    *) [ -z "$name" ] || bad_args "more than one data set name"; name=$1 ;;
    esac
    shift
done
[ -n "$name" ] || bad_args "no data set name given (amazon670k or delicious200k)"

# Published sizes (train header, test header), the Google Drive file of the repository's zip
# (as linked from the XC repository page and the original SLIDE README), and sha256 sums of the
# unpacked files: none recorded yet (we have never been able to download them here); fill them in
# from a verified copy to make --verify check the contents too.
case "$name" in
amazon670k)
    title="Amazon-670K"
    want_train="490449 135909 670091"
    want_test="153025 135909 670091"
    drive_id="0B3lPMIHmG6vGdUJwRzltS1dvUVk"
    drive_extra="&resourcekey=0-lP9ETgM_DRMilESEUrWbHw"
    sha_train=""
    sha_test=""
    ;;
delicious200k)
    title="Delicious-200K"
    want_train="196606 782585 205443"
    want_test="100095 782585 205443"
    drive_id="0B3lPMIHmG6vGR3lBWWYyVlhDLWM"
    drive_extra=""
    sha_train=""
    sha_test=""
    ;;
*) bad_args "unknown data set '$name' (valid: amazon670k, delicious200k)" ;;
esac
[ -n "$dir" ] || dir="$here/$name"
[ -n "$url" ] || url="https://drive.usercontent.google.com/download?id=${drive_id}&export=download&confirm=t${drive_extra}"
CONNECT_TIMEOUT=10
MAX_TIME=${SLIDE_FETCH_MAX_TIME:-3600}

by_hand() {
    cat >&2 <<EOF
$me: could not download $title: $1
  Place the files by hand instead:
    1. on a machine with a browser, download $title (BoW features) from
       http://manikvarma.org/downloads/XC/XMLRepository.html (tried: $url)
    2. unzip it; copy its *_train.txt to $dir/train.txt and its *_test.txt to $dir/test.txt
    3. check them: $0 --verify $name
EOF
    exit 1
}

# check_file FILE "N D L" SHA256-or-empty: header, line count, sha256.
check_file() {
    f=$1
    [ -f "$f" ] || { echo "$me: $f: missing" >&2; return 1; }
    header=$(head -n 1 "$f" | tr -s ' \t\r' '   ' | sed 's/^ //; s/ $//')
    if [ "$header" != "$2" ]; then
        echo "$me: $f: header '$header', expected '$2' (N D L of $title)" >&2
        return 1
    fi
    n=${2%% *}
    lines=$(wc -l <"$f" | tr -d ' ')
    # The last line may lack a newline: accept N or N+1 newline-terminated lines in all.
    if [ "$lines" -ne $((n + 1)) ] && [ "$lines" -ne "$n" ]; then
        echo "$me: $f: $lines lines, expected $((n + 1)) (header + $n points)" >&2
        return 1
    fi
    if [ -n "$3" ]; then
        got=$(sha256sum <"$f" | cut -d' ' -f1)
        [ "$got" = "$3" ] || { echo "$me: $f: sha256 $got, expected $3" >&2; return 1; }
        echo "$f: header, $n points, sha256 ok"
    else
        echo "$f: header and $n points ok (no sha256 recorded; sha256 $(sha256sum <"$f" | cut -d' ' -f1))"
    fi
}

verify_all() {
    ok=0
    check_file "$dir/train.txt" "$want_train" "$sha_train" || ok=1
    check_file "$dir/test.txt" "$want_test" "$sha_test" || ok=1
    return $ok
}

if [ "$verify" -eq 1 ]; then
    verify_all || die "$title in $dir failed verification (see above); place the files as '$0 --help' describes"
    exit 0
fi

if [ -f "$dir/train.txt" ] && [ -f "$dir/test.txt" ] && verify_all >/dev/null 2>&1; then
    echo "$title already in $dir (verified)"
    exit 0
fi

# Download next to the destination (same file system for the final mv; /tmp may be small);
# the destination directory is created only once there is something to put in it.
tmp="$(dirname "$dir")/.fetch-$name.$$"
rm -rf "$tmp"
mkdir -p "$tmp" || die "cannot create $tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM
zip="$tmp/data.zip"
echo "downloading $title from $url (connect timeout ${CONNECT_TIMEOUT} s, at most ${MAX_TIME} s)"
if command -v curl >/dev/null 2>&1; then
    curl -fL -sS --connect-timeout "$CONNECT_TIMEOUT" --max-time "$MAX_TIME" -o "$zip" "$url" ||
        by_hand "curl failed (no network, or the URL needs updating)"
elif command -v wget >/dev/null 2>&1; then
    if command -v timeout >/dev/null 2>&1; then tmo="timeout $MAX_TIME"; else tmo=""; fi
    $tmo wget -q --tries=1 --connect-timeout="$CONNECT_TIMEOUT" --read-timeout=60 -O "$zip" "$url" ||
        by_hand "wget failed (no network, or the URL needs updating)"
else
    by_hand "neither curl nor wget is installed"
fi
magic=$(head -c 2 "$zip" 2>/dev/null || true)
[ "$magic" = "PK" ] ||
    by_hand "the download is not a zip file (Google Drive sent a web page: the URL needs updating, use --url)"
if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" -d "$tmp/x" || by_hand "unzip failed"
elif command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$zip" "$tmp/x" || by_hand "unzip (python3 zipfile) failed"
else
    by_hand "no unzip tool (install unzip)"
fi
train=$(find "$tmp/x" -type f -name '*train*.txt' | head -n 1)
test=$(find "$tmp/x" -type f -name '*test*.txt' | head -n 1)
if [ -z "$train" ] || [ -z "$test" ]; then by_hand "the zip holds no *train*.txt / *test*.txt"; fi
mkdir -p "$dir" || die "cannot create $dir"
mv -f "$train" "$dir/train.txt"
mv -f "$test" "$dir/test.txt"
verify_all || die "downloaded files failed verification (see above)"
echo "$title ready in $dir"
