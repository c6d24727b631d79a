#!/usr/bin/env bash
# bench-video.sh: label a generated ~100 MB MP4 (and, with BIG=1, a ~2 GB one) with
# `ailabel label`, and print side by side, measured in the same run: our wall time and peak RSS,
# the copy-plus-hash floor (cp + sha256sum of the same file), and exiftool writing XMP into it.
#
# Local files only; everything generated goes into a temporary folder that is deleted at the end.
# Needs: go, ffmpeg, exiftool, GNU time (/usr/bin/time). Usage:
#   scripts/bench-video.sh            # ~100 MB
#   BIG=1 scripts/bench-video.sh      # also ~2 GB (made by -stream_loop copy of the 100 MB file)
#   TMPDIR=/fast/disk scripts/bench-video.sh
set -euo pipefail

cd "$(dirname "$0")/.."
for tool in go ffmpeg exiftool /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench-video: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-video.XXXXXX")
trap 'rm -rf "$work"' EXIT
export AILABEL_DEV_DIR="$work/dev" # throwaway development signing key

echo "building ./cmd/ailabel ..." >&2
go build -o "$work/ailabel" ./cmd/ailabel

# ~100 MB: 46 s of 1280x720 testsrc2 at 20 Mbit/s, H.264 + AAC, moov at the end.
src="$work/src-100M.mp4"
echo "generating $src ..." >&2
timeout 600 ffmpeg -nostdin -v error -y \
	-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
	-t 46 -c:v libx264 -preset ultrafast -b:v 20M -maxrate 20M -bufsize 40M -g 60 \
	-c:a aac -b:a 128k "$src"
files=("$src")

if [[ "${BIG:-0}" == 1 ]]; then
	big="$work/src-2G.mp4"
	echo "generating $big (stream copy of 20 loops) ..." >&2
	timeout 900 ffmpeg -nostdin -v error -y -stream_loop 19 -i "$src" -c copy "$big"
	files+=("$big")
fi

# secs CMD...: wall seconds of one run (stdout/stderr of CMD discarded).
secs() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l | xargs printf '%.2f'
}

printf '%-14s %10s | %12s %12s | %12s %12s | %12s %7s | %15s %7s\n' \
	file MB "ailabel s" "peak RSS MiB" "cp+sha256 s" "ratio" "exiftool s" "speedup" "exiftool+sync s" "speedup"
for f in "${files[@]}"; do
	mb=$(( $(stat -c %s "$f") / 1048576 ))
	sync
	cat "$f" >/dev/null # warm the page cache, so that all three start alike
	# the copy-plus-hash floor: read the file once, write it once, hash it
	floor=$(secs bash -c "cp '$f' '$work/copy.mp4' && sha256sum '$work/copy.mp4'")
	rm -f "$work/copy.mp4"
	# ailabel, with GNU time for the peak resident set
	t0=$(date +%s.%N)
	/usr/bin/time -v -o "$work/time.txt" "$work/ailabel" label -q -model bench-model "$f" -o "$work/out.mp4" 2>"$work/ailabel.log" \
		|| { cat "$work/ailabel.log" >&2; exit 1; }
	t1=$(date +%s.%N)
	ours=$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f')
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$work/time.txt")
	rm -f "$work/out.mp4"
	# exiftool writing the same digital source type into XMP
	ex=$(secs exiftool -q -m \
		"-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia" \
		-o "$work/exif.mp4" "$f")
	rm -f "$work/exif.mp4"
	# the same, made durable as ailabel's output is (ailabel fsyncs before its atomic rename):
	# exiftool, then `sync FILE` (fsync of that one file)
	sync
	exs=$(secs bash -c "exiftool -q -m '-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia' -o '$work/exif.mp4' '$f' && sync '$work/exif.mp4'")
	rm -f "$work/exif.mp4"
	ratio=$(echo "$ours / $floor" | bc -l | xargs printf '%.2fx')
	speed=$(echo "$ex / $ours" | bc -l | xargs printf '%.1fx')
	speeds=$(echo "$exs / $ours" | bc -l | xargs printf '%.1fx')
	printf '%-14s %10d | %12s %12s | %12s %12s | %12s %7s | %15s %7s\n' \
		"$(basename "$f")" "$mb" "$ours" "$rss" "$floor" "$ratio" "$ex" "$speed" "$exs" "$speeds"
done
echo "(ratio = ailabel / cp+sha256sum; speedup = exiftool / ailabel; targets: ratio <= 1.5x, speedup > 1, RSS < 64 MiB)"
echo "(ailabel's output is fsync'd before its atomic rename; exiftool's is not, hence the exiftool+sync column)"
