package iscc

import (
	"bytes"
	"encoding/hex"
	"github.com/ailabel/ailabel/internal/testtool"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestParseHostile(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"ISCC:", "empty"},
		{"ISCC:EEA4GQZQTY6J5DT", "truncated"},   // body one byte short
		{"ISCC:EEA4GQZQTY6J5DTHAA", "trailing"}, // one byte too many
		{"ISCC:EEA4GQZQTY6J5DT!", "base32"},     // bad alphabet
		{"ISCC:EEA4GQZQTY6J5DTH====", "base32"}, // padding
		{"ISCC:KAAAAAAAAAAA", "MainType 5"},     // 50 00 …
		{"ISCC:MAAAAAAAAAAA", "MainType 6"},     // 60 00 …
		{"ISCC:" + b32.EncodeToString(append([]byte{0x21, 0x08, 0x00}, make([]byte, 36)...)), "Length"}, // Length varnibble 8
		{"ISCC:" + strings.Repeat("A", 200), "at most"},
		{"ISCC:7777", "varnibble"}, // nibble 1111
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
	// Lower case and a missing prefix are accepted.
	c, err := Parse("eea4gqzqty6j5dth")
	if err != nil || c.String() != "ISCC:EEA4GQZQTY6J5DTH" {
		t.Errorf("lower case: %v %v", c, err)
	}
}

func TestDecodeSeqHostile(t *testing.T) {
	unit := "2107" + strings.Repeat("ab", 32)
	for _, tc := range []struct{ hex, want string }{
		{"", "empty"},
		{"21", "truncated"},
		{"2107abab", "truncated"},
		{unit + "21", "trailing"},
		{unit + "2107", "truncated"},
		{"2108" + strings.Repeat("00", 36), "Length"},
		{"5107" + strings.Repeat("00", 32), "MainType 5"},
		{"6107" + strings.Repeat("00", 32), "MainType 6"},
		{"2901" + strings.Repeat("00", 8) + "f", "padding"}, // placeholder replaced below
	} {
		if strings.HasSuffix(tc.hex, "f") {
			// SubType 9 = varnibble 1000 0001: MainType 2, SubType (8,1), Version 0, Length 1 =
			// five nibbles, so a padding nibble follows; make it nonzero.
			tc.hex = "28101f" + strings.Repeat("00", 8)
		}
		b, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		_, err = DecodeSeq(b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeSeq(%s) = %v, want error containing %q", tc.hex, err, tc.want)
		}
	}
	// The same header with a zero padding nibble decodes: SubType 9 round-trips.
	b, _ := hex.DecodeString("281010" + strings.Repeat("00", 8))
	codes, err := DecodeSeq(b)
	if err != nil || len(codes) != 1 || codes[0].SubType != 9 || codes[0].Bits != 64 || !bytes.Equal(codes[0].Bytes(), b) {
		t.Errorf("extended SubType: %+v %v", codes, err)
	}
	if _, err := DecodeSeq(make([]byte, MaxSeqBytes+1)); err == nil {
		t.Error("oversized input accepted")
	}
}

func TestEncodeSeq(t *testing.T) {
	img := Code{MainType: MainTypeContent, SubType: SubTypeImage, Bits: 256, Body: bytes.Repeat([]byte{0x5a}, 32)}
	inst, err := InstanceCode(strings.NewReader("hello"), 256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeSeq(img, inst.Code)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 68 || b[0] != 0x21 || b[1] != 0x07 || b[34] != 0x40 || b[35] != 0x07 {
		t.Fatalf("EncodeSeq = %x", b)
	}
	back, err := DecodeSeq(b)
	if err != nil || len(back) != 2 || back[0].String() != img.String() || back[1].String() != inst.Code.String() {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, bad := range [][]Code{
		nil,
		{{MainType: MainTypeContent, SubType: 1, Bits: 64, Body: make([]byte, 8)}},   // not 256 bits
		{{MainType: MainTypeISCC, Bits: 256, Body: make([]byte, 32)}},                // composite
		{{MainType: MainTypeContent, SubType: 1, Bits: 256, Body: make([]byte, 31)}}, // short body
	} {
		if _, err := EncodeSeq(bad...); err == nil {
			t.Errorf("EncodeSeq(%v) accepted", bad)
		}
	}
}

func TestHamming(t *testing.T) {
	a := Code{MainType: 2, SubType: 1, Bits: 64, Body: []byte{0xff, 0, 0, 0, 0, 0, 0, 0}}
	b := Code{MainType: 2, SubType: 1, Bits: 256, Body: append([]byte{0x0f}, make([]byte, 31)...)}
	if d, err := Hamming(a, b); err != nil || d != 4 {
		t.Errorf("Hamming = %d, %v; want 4", d, err)
	}
	if _, err := Hamming(a, Code{MainType: 4, Bits: 64, Body: make([]byte, 8)}); err == nil {
		t.Error("different types compared")
	}
	if _, err := ImageCode(make([]byte, 1023), 64); err == nil {
		t.Error("1023 pixels accepted")
	}
	if _, err := ImageCode(make([]byte, 1024), 48); err == nil {
		t.Error("48 bits accepted")
	}
}

func FuzzDecodeSeq(f *testing.F) {
	for _, s := range []string{
		"2107" + strings.Repeat("ab", 32), "270000000000", "281010" + strings.Repeat("00", 8),
		"21018c3585376ee22d5a22039f07f3ff9e0061ff3ef7cbffffef37ff", "", "2108", "5107",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		codes, err := DecodeSeq(b)
		if err != nil {
			return
		}
		var again []byte
		for _, c := range codes {
			again = append(again, c.Bytes()...)
			if p, err := Parse(c.String()); err != nil || !bytes.Equal(p.Bytes(), c.Bytes()) {
				t.Fatalf("unit %x does not round-trip through text: %v", c.Bytes(), err)
			}
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, input %x", again, b)
		}
	})
}

// photo draws a photo-like test image: two gradients, a disc and a bar, seeded by k.
func photo(w, h, k int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := float64(w)*(0.3+0.1*float64(k%4)), float64(h)*(0.6-0.07*float64(k%5)), float64(w)*(0.15+0.03*float64(k%3))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			rr := 255 * (0.5 + 0.5*math.Sin(fx*float64(2+k)+fy*float64(k%3)))
			gg := 255 * fy * (1 - fx*float64(k%2))
			bb := 255 * (0.5 + 0.5*math.Cos(fy*float64(3+k%4)*fx))
			if math.Hypot(float64(x)-cx, float64(y)-cy) < r {
				rr, gg, bb = 240-rr/4, 30+gg/5, 60
			}
			if fx > 0.1*float64(k%7) && fx < 0.1*float64(k%7)+0.12 && fy > 0.2 {
				rr, gg, bb = 20, 20, 200-bb/3
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(rr), uint8(gg), uint8(bb), 255})
		}
	}
	return img
}

// halve downsizes by two with a 2×2 box filter (a resize the Image-Code should survive).
func halve(src *image.NRGBA) *image.NRGBA {
	b := src.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := range b.Dy() / 2 {
		for x := range b.Dx() / 2 {
			var s [3]int
			for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				c := src.NRGBAAt(2*x+d[0], 2*y+d[1])
				s[0], s[1], s[2] = s[0]+int(c.R), s[1]+int(c.G), s[2]+int(c.B)
			}
			dst.SetNRGBA(x, y, color.NRGBA{uint8((s[0] + 2) / 4), uint8((s[1] + 2) / 4), uint8((s[2] + 2) / 4), 255})
		}
	}
	return dst
}

func TestRobustness(t *testing.T) {
	const n = 6
	codes := make([]Code, n)
	for k := range n {
		img := photo(640, 480, k)
		c, err := FromImage(img, 64)
		if err != nil {
			t.Fatal(err)
		}
		h, err := FromImage(halve(img), 64)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := Hamming(c, h)
		t.Logf("image %d: %s, half-size %s, distance %d/64", k, c, h, d)
		if d > 6 {
			t.Errorf("image %d: half-size resize moved %d of 64 bits", k, d)
		}
		codes[k] = c
	}
	total, pairs := 0, 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			d, _ := Hamming(codes[i], codes[j])
			total += d
			pairs++
		}
	}
	mean := float64(total) / float64(pairs)
	t.Logf("unrelated images: mean distance %.1f/64 (%.0f %%) over %d pairs", mean, 100*mean/64, pairs)
	if mean < 20 || mean > 44 {
		t.Errorf("unrelated images: mean distance %.1f/64, want about 32", mean)
	}
}

func TestNormalizeSteps(t *testing.T) {
	// A 32×32 grey image comes back unchanged (no resize pass runs).
	g := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range g.Pix {
		g.Pix[i] = byte(i*7 + i/32)
	}
	g.Pix[0] = 0 // make sure no border is trimmed: (0,0) differs from its neighbours
	g.Pix[1] = 200
	g.Pix[32] = 200
	px, err := Normalize(g)
	if err != nil || !bytes.Equal(px, g.Pix) {
		t.Fatalf("identity: %v", err)
	}
	// A uniform border of pixel (0,0)'s colour is trimmed; a transparent margin becomes white and
	// is trimmed too; a constant image stays constant through both passes.
	inner := photo(64, 48, 3)
	framed := image.NewNRGBA(image.Rect(0, 0, 100, 80))
	for i := range framed.Pix {
		framed.Pix[i] = 0 // fully transparent black → white
	}
	for y := range 48 {
		for x := range 64 {
			framed.SetNRGBA(x+10, y+20, inner.NRGBAAt(x, y))
		}
	}
	a, err := Normalize(inner)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Normalize(framed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("transparent frame not filled white and trimmed")
	}
	// Half-transparent red over white: R 255, G = B = DIV255(255·127) = 127.
	semi := image.NewNRGBA(image.Rect(0, 0, 3, 3))
	for i := 0; i < len(semi.Pix); i += 4 {
		copy(semi.Pix[i:], []byte{255, 0, 0, 128})
	}
	px, err = Normalize(semi)
	if err != nil {
		t.Fatal(err)
	}
	want := byte((19595*255 + 38470*127 + 7471*127 + 0x8000) >> 16)
	for i, v := range px {
		if v != want {
			t.Fatalf("semi-transparent pixel %d = %d, want %d", i, v, want)
		}
	}
	for _, bad := range []image.Image{nil, image.NewGray(image.Rect(0, 0, 0, 5))} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%v) accepted", bad)
		}
	}
}

func TestOrient(t *testing.T) {
	img := photo(40, 30, 1)
	for o := 1; o <= 8; o++ {
		r, err := Orient(img, o)
		if err != nil {
			t.Fatal(err)
		}
		// Turning the oriented image by the inverse brings back the original.
		inv := map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}[o]
		back, err := Orient(r, inv)
		if err != nil {
			t.Fatal(err)
		}
		bn := back.(*image.NRGBA)
		if o != 1 && (bn.Bounds() != img.Bounds() || !bytes.Equal(bn.Pix, img.Pix)) {
			t.Errorf("orientation %d then %d is not the identity", o, inv)
		}
	}
	r, _ := Orient(img, 6)
	if r.Bounds().Dx() != 30 || r.Bounds().Dy() != 40 {
		t.Errorf("orientation 6 gave %v", r.Bounds())
	}
	// Orientation 6 (rotate 90° clockwise): the top-left source pixel lands top-right.
	if r.(*image.NRGBA).NRGBAAt(29, 0) != img.NRGBAAt(0, 0) {
		t.Error("orientation 6 is not a clockwise rotation")
	}
	if _, err := Orient(img, 9); err == nil {
		t.Error("orientation 9 accepted")
	}
}

// TestPillowCrossCheck compares Normalize with Pillow's image_normalize steps, run by Debian's
// python3 with python3-pil (.ci/run installs it; without it the test skips, or fails under CI).
func TestPillowCrossCheck(t *testing.T) {
	python := "/usr/bin/python3" // Debian's, where python3-pil installs; not a pyenv on PATH
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}
	if exec.Command(python, "-c", "import PIL").Run() != nil {
		testtool.SkipOrFail(t, "python3 with Pillow (Debian python3-pil) is not installed; Normalize not cross-checked")
	}
	script := `
import sys
from PIL import Image, ImageChops
w, h = int(sys.argv[1]), int(sys.argv[2])
img = Image.frombytes("RGBA", (w, h), sys.stdin.buffer.read())
bg = Image.new("RGB", img.size, (255, 255, 255))
bg.paste(img, mask=img.getchannel("A"))
img = bg
diff = ImageChops.difference(img, Image.new(img.mode, img.size, img.getpixel((0, 0))))
diff = ImageChops.add(diff, diff)
bbox = diff.getbbox()
if bbox != (0, 0) + img.size:
    img = img.crop(bbox)
img = img.convert("L").resize((32, 32), Image.BICUBIC)
sys.stdout.write(bytes(img.getdata()).hex())
`
	for k, size := range [][2]int{{640, 480}, {333, 517}, {31, 20}, {1000, 33}} {
		img := photo(size[0], size[1], k)
		cmd := exec.Command(python, "-c", script, itoa(size[0]), itoa(size[1]))
		cmd.Stdin = bytes.NewReader(img.Pix)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pillow: %v", err)
		}
		got, err := Normalize(img)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != strings.TrimSpace(string(out)) {
			t.Errorf("image %d (%v): Normalize differs from Pillow\n got %x\nwant %s", k, size, got, out)
		}
	}
}

func itoa(v int) string { return strconv.Itoa(v) }
