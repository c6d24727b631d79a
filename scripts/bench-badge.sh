#!/usr/bin/env bash
# bench-badge.sh: the visible warning on a 12-megapixel JPEG (issue 5, done-when 5). Makes a
# 4000x3000 photo-like JPEG (quality 90) with ImageMagick, then measures, side by side, wall time
# and peak RSS of:
#   ailabel label --policy cn   (badge drawn: only the 8x8 blocks under it re-coded; then XMP,
#                                EXIF, AIGC and the signed C2PA manifest)
#   ailabel label --badge none  (the same label without the badge, for reference)
#   (all three with --no-watermark, like for like; then the default, with the watermark)
#   convert IN -draw …  OUT     (ImageMagick drawing a comparable badge: a rounded plate and
#                                white text at 5 % of the shortest side; decode + full re-encode)
# Each figure is the median of REPS runs (default 5). Local files only; a temporary folder is
# deleted at the end. Needs: go, ImageMagick (/usr/bin/convert), GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
convert=$(command -v magick || true)
[[ -n $convert ]] || convert=/usr/bin/convert
[[ -x $convert ]] || { echo "bench-badge: ImageMagick is required" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench-badge: GNU time is required" >&2; exit 2; }
reps=${REPS:-5}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-badge.XXXXXX")
trap 'rm -rf "$work"' EXIT
export AILABEL_DEV_DIR="$work/dev" # throwaway development signing key
go build -o "$work/ailabel" ./cmd/ailabel
"$work/ailabel" keygen -o "$work/keys" >/dev/null

in="$work/photo-12mp.jpg"
"$convert" -size 4000x3000 plasma:fractal -blur 0x1 -attenuate 0.3 +noise Gaussian -quality 90 "$in"
echo "input: $(identify -format '%wx%h %Q' "$in" 2>/dev/null || true) $(( $(stat -c %s "$in") / 1024 )) KiB" >&2

# run NAME CMD...: runs CMD reps times; prints "NAME median-seconds median-RSS-MiB"
run() {
	local name=$1; shift
	local ts=() rs=()
	for _ in $(seq "$reps"); do
		/usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>&1 || { echo "bench-badge: $name failed" >&2; "$@"; exit 1; }
		read -r s k <"$work/t"
		ts+=("$s") rs+=("$(( k / 1024 ))")
	done
	printf '%-34s %8s s %8s MiB\n' "$name" \
		"$(printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
		"$(printf '%s\n' "${rs[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
}

keys=(--key "$work/keys/signer.key" --cert "$work/keys/chain.pem")
printf '%-34s %10s %12s\n' "(median of $reps)" "wall" "peak RSS"
# Like for like with ImageMagick (which adds no watermark): --no-watermark.
run "ailabel label --policy cn (badge)" "$work/ailabel" label -q --no-sync --no-watermark "${keys[@]}" --policy cn --provider 001191110102MAD55U9H0F10002 "$in" -o "$work/a.jpg"
run "ailabel label --policy kz (caption)" "$work/ailabel" label -q --no-sync --no-watermark "${keys[@]}" "$in" -o "$work/b.jpg"
run "ailabel label --badge none" "$work/ailabel" label -q --no-sync --no-watermark "${keys[@]}" --badge none "$in" -o "$work/c.jpg"
# The default: the badge, the invisible watermark (luma coefficients of every block) and the
# ISCC fingerprint (a second, full decode).
run "ailabel label --policy cn + watermark" "$work/ailabel" label -q --no-sync "${keys[@]}" --policy cn --provider 001191110102MAD55U9H0F10002 "$in" -o "$work/d.jpg"
# ImageMagick: a plate in the bottom-right corner and white "AI生成"-sized text (150 px = 5 % of 3000).
run "ImageMagick convert (badge)" "$convert" "$in" -fill '#141414EB' -draw 'roundrectangle 3480,2700 3940,2940 24,24' \
	-font warning/fonts/NotoSans-Bold.ttf -fill white -pointsize 200 -gravity southeast -annotate +110+90 'AI' -quality 90 "$work/m.jpg"
