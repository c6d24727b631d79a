#!/usr/bin/env bash
# bench-video.sh: label a generated ~100 MB MP4 (and, with BIG=1, a ~2 GB one) with
# `ailabel label`, and print side by side, measured in the same run: our wall time and peak RSS,
# the copy-plus-hash floor (cp + sha256sum of the same file), and exiftool writing XMP into it;
# then like for like: ailabel (which fsyncs its output by default) against exiftool followed by
# `sync FILE`, and `ailabel label --no-sync` against plain exiftool.
#
# Local files only; everything generated goes into a temporary folder that is deleted at the end.
# Needs: go, ffmpeg, exiftool, GNU time (/usr/bin/time). Usage:
#   scripts/bench-video.sh            # ~100 MB
#   BIG=1 scripts/bench-video.sh      # also ~2 GB (made by -stream_loop copy of the 100 MB file)
#   TMPDIR=/fast/disk scripts/bench-video.sh
#   REPS=5 scripts/bench-video.sh     # medians of 5 runs (default 3)
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

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

reps=${REPS:-3}
dst='-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'
echo "each figure is the median of $reps runs, taken in turn (REPS=n to change)" >&2
printf '%-12s %6s | %9s %8s | %9s %6s | %9s %7s | %9s %9s %7s\n' \
	file MB "ailabel s" "RSS MiB" "cp+sha s" "ratio" "exif+sync" "speedup" "--no-sync" "exiftool" "speedup"
for f in "${files[@]}"; do
	mb=$(( $(stat -c %s "$f") / 1048576 ))
	A=() R=() F=() ES=() AN=() E=()
	for _ in $(seq "$reps"); do
		sync
		cat "$f" >/dev/null # warm the page cache, so that all start alike
		# the copy-plus-hash floor: read the file once, write it once, hash it
		F+=("$(secs bash -c "cp '$f' '$work/copy.mp4' && sha256sum '$work/copy.mp4'")")
		rm -f "$work/copy.mp4"; sync
		# ailabel as it runs by default: the output is fsync'd before its atomic rename
		t0=$(date +%s.%N)
		/usr/bin/time -v -o "$work/time.txt" "$work/ailabel" label -q -model bench-model "$f" -o "$work/out.mp4" 2>"$work/ailabel.log" \
			|| { cat "$work/ailabel.log" >&2; exit 1; }
		t1=$(date +%s.%N)
		A+=("$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f')")
		R+=("$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$work/time.txt")")
		rm -f "$work/out.mp4"; sync
		# exiftool writing the same digital source type into XMP, made durable alike (`sync FILE`)
		ES+=("$(secs bash -c "exiftool -q -m '$dst' -o '$work/exif.mp4' '$f' && sync '$work/exif.mp4'")")
		rm -f "$work/exif.mp4"; sync
		# both without the fsync
		AN+=("$(secs "$work/ailabel" label -q -no-sync -model bench-model "$f" -o "$work/out.mp4")")
		rm -f "$work/out.mp4"; sync
		E+=("$(secs exiftool -q -m "$dst" -o "$work/exif.mp4" "$f")")
		rm -f "$work/exif.mp4"; sync
	done
	a=$(median "${A[@]}") rss=$(median "${R[@]}") floor=$(median "${F[@]}") es=$(median "${ES[@]}")
	an=$(median "${AN[@]}") e=$(median "${E[@]}")
	printf '%-12s %6d | %9s %8s | %9s %6s | %9s %7s | %9s %9s %7s\n' "$(basename "$f")" "$mb" \
		"$a" "$rss" "$floor" "$(echo "$a / $floor" | bc -l | xargs printf '%.2fx')" \
		"$es" "$(echo "$es / $a" | bc -l | xargs printf '%.1fx')" \
		"$an" "$e" "$(echo "$e / $an" | bc -l | xargs printf '%.1fx')"
done
echo "(ratio = ailabel / (cp + sha256sum); speedup = exiftool / ailabel, like for like: both fsync'd, or neither)"
echo "(targets: ratio <= 1.5x, speedup > 1, RSS < 64 MiB)"
