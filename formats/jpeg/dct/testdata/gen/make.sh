#!/bin/sh
# Remakes the fixtures of formats/jpeg/dct/testdata and their reference coefficient dumps.
# Needs gcc with libjpeg(-turbo) headers (Debian: libjpeg62-turbo-dev), ImageMagick's convert
# (/usr/bin/convert) and Go. Run from this folder: sh make.sh
set -eu
out=..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -o "$tmp/gen" gen.c -ljpeg
g="$tmp/gen"

# libjpeg-made: layouts, progressions and restart intervals ImageMagick cannot ask for.
$g make $out/lj-prog-420-rst1.jpg 37 21 2x2,1x1,1x1 80 prog rst=1
$g make $out/lj-411-rst2.jpg 41 19 4x1,1x1,1x1 75 rst=2
$g make $out/lj-odd-sampling.jpg 29 23 1x2,2x1,1x1 85
$g make $out/lj-h3.jpg 26 10 3x1,1x1,1x1 70
$g make $out/lj-4x4-multiscan.jpg 45 37 4x4,1x1,1x1 60 multiscan rst=5
$g make $out/lj-gray2x2.jpg 19 13 gray2x2 90
$g make $out/lj-wide-tables.jpg 24 16 2x2,1x1,1x1 5 wide
$g make $out/lj-prog-gray-rst3.jpg 23 17 gray 70 prog rst=3
$g make $out/lj-prog-444.jpg 20 12 1x1,1x1,1x1 92 prog
$g make $out/lj-arith.jpg 16 16 2x2,1x1,1x1 75 arith

# ImageMagick-made.
conv=/usr/bin/convert
$conv -size 33x17 gradient:red-blue -swirl 90 -quality 88 -sampling-factor 4:2:2 $out/im-422.jpg
$conv -size 17x9 gradient:yellow-navy -quality 95 -interlace Plane -sampling-factor 4:4:4 $out/im-prog-444.jpg
$conv -size 1x1 xc:gray40 -colorspace Gray -quality 75 $out/im-gray-1x1.jpg

# image/jpeg-made (4:2:0).
cat > "$tmp/gojpeg.go" <<'GO'
package main

import (
	"image"
	"image/color"
	"image/jpeg"
	"os"
)

func main() {
	m := image.NewRGBA(image.Rect(0, 0, 17, 9))
	for y := 0; y < 9; y++ {
		for x := 0; x < 17; x++ {
			m.Set(x, y, color.RGBA{uint8(x * 15), uint8(y * 28), uint8(x*y*7 ^ x), 255})
		}
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := jpeg.Encode(f, m, &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
}
GO
go run "$tmp/gojpeg.go" $out/go-420.jpg

for f in $out/*.jpg; do
	case $f in *lj-arith.jpg) continue ;; esac
	$g dump "$f" "${f%.jpg}.coef"
done
ls -l $out
