#!/usr/bin/env bash
# bench-verify.sh: `ailabel verify` throughput and memory on a folder of labeled JPEGs (issue 7,
# done-when 3). Generates three noise JPEGs of about 1, 2 and 3 MB with ImageMagick, labels N
# copies of them with `ailabel label` (test keys from `ailabel keygen`), then runs
#   ailabel verify --json DIR > /dev/null
# under GNU time for N files and for N/4 files, and prints files per second and peak RSS of each,
# so that memory can be seen to be flat in the number of files.
#
# Local files only; everything generated goes into a temporary folder that is deleted at the end.
# Needs: go, ImageMagick (convert or magick), GNU time (/usr/bin/time). Usage:
#   scripts/bench-verify.sh            # 1000 and 250 files
#   N=2000 scripts/bench-verify.sh
#   TMPDIR=/fast/disk scripts/bench-verify.sh
# The files are read from the page cache when the machine has the memory (about 2 GB for 1000):
# the figure is hashing and parsing, not disk speed; DROP_CACHES=1 (root) drops the cache first.
set -euo pipefail

N=${N:-1000}
(( N >= 4 && N <= 100000 )) || { echo "bench-verify: N must be 4..100000" >&2; exit 2; }
cd "$(dirname "$0")/.."
convert=$(command -v magick || command -v convert || true)
[[ -n $convert ]] || { echo "bench-verify: ImageMagick (convert or magick) is required" >&2; exit 2; }
for tool in go /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench-verify: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "building ./cmd/ailabel ..." >&2
go build -o "$work/ailabel" ./cmd/ailabel
"$work/ailabel" keygen -o "$work/keys" >/dev/null

echo "generating source JPEGs ..." >&2
i=0
for size in 1300x1000 1800x1300 2200x1600; do
	"$convert" -size "$size" xc:gray +noise Random -quality 92 "$work/src$i.jpg"
	i=$((i + 1))
done
ls -l "$work"/src*.jpg | awk '{printf "  %s: %.1f MB\n", $NF, $5/1e6}' >&2

label_copies() { # label_copies DIR COUNT
	mkdir -p "$1"
	local k
	for ((k = 0; k < $2; k++)); do
		"$work/ailabel" label "$work/src$((k % 3)).jpg" -o "$1/f$(printf %05d "$k").jpg" \
			--key "$work/keys/signer.key" --cert "$work/keys/chain.pem" --model bench -q
	done
}

run() { # run DIR COUNT
	local dir=$1 n=$2 bytes
	bytes=$(du -sb "$dir" | cut -f1)
	if [[ ${DROP_CACHES:-0} == 1 ]]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi
	/usr/bin/time -v -o "$work/time.txt" "$work/ailabel" verify --json "$dir" >/dev/null 2>"$work/stderr.txt" || {
		rc=$?
		# exit 0 is expected: every file is labeled and valid (untrusted signer: still valid)
		echo "bench-verify: ailabel verify exited $rc" >&2; cat "$work/stderr.txt" >&2; exit 1
	}
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
	awk -v n="$n" -v w="$wall" -v r="$rss" -v b="$bytes" 'BEGIN {
		if (w <= 0) w = 0.01
		printf "%6d files, %7.0f MB: %6.2f s, %7.0f files/s, %6.0f MB/s, peak RSS %5.1f MB\n", n, b/1e6, w, n/w, b/1e6/w, r/1024 }'
}

echo "labeling $N copies ..." >&2
label_copies "$work/big" "$N"
small=$((N / 4))
mkdir -p "$work/small"
for f in $(ls "$work/big" | head -n "$small"); do ln "$work/big/$f" "$work/small/$f"; done

echo "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# warm the page cache once, then measure
"$work/ailabel" verify --json "$work/big" >/dev/null 2>&1 || true
run "$work/big" "$N"
run "$work/small" "$small"
run "$work/big" "$N"
