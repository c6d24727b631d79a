package watermark

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"math"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

func TestValueRoundTrip(t *testing.T) {
	id := ID{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3}
	v := id.Value()
	if !bytes.Equal(v, []byte{1, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3}) {
		t.Fatalf("Value = %x", v)
	}
	got, err := ParseValue(v)
	if err != nil || got != id {
		t.Fatalf("ParseValue = %v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {1}, v[:8], append(v, 0), {2, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := ParseValue(bad); err == nil {
			t.Errorf("ParseValue(%x) accepted", bad)
		}
	}
	if id.String() != "deadbeef00010203" {
		t.Fatalf("String = %s", id)
	}
}

func FuzzParseValue(f *testing.F) {
	f.Add(ID{1, 2, 3}.Value())
	f.Add([]byte{})
	f.Add([]byte{2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseValue(b)
		if err != nil {
			return
		}
		if !bytes.Equal(id.Value(), b) {
			t.Fatalf("ParseValue(%x) = %v, which re-encodes differently", b, id)
		}
	})
}

func TestTooSmall(t *testing.T) {
	small := image.NewGray(image.Rect(0, 0, 600, MinEmbedSide-1))
	if _, err := Embed(small, ID{}, nil); !errors.Is(err, ErrTooSmall) {
		t.Fatalf("Embed: %v, want ErrTooSmall", err)
	}
	if _, err := NewMark(small, ID{}, nil); !errors.Is(err, ErrTooSmall) {
		t.Fatalf("NewMark: %v, want ErrTooSmall", err)
	}
	tiny := image.NewGray(image.Rect(0, 0, 1000, MinDetectSide-1))
	_, err := Detect(tiny, nil)
	if !errors.Is(err, ErrTooSmall) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Detect: %v, want ErrTooSmall and ErrNotFound", err)
	}
	for _, r := range []image.Rectangle{image.Rect(0, 0, 0, 0), image.Rect(5, 5, 5, 900), image.Rect(0, 0, 1, 1)} {
		if _, err := Embed(image.NewNRGBA(r), ID{}, nil); !errors.Is(err, ErrTooSmall) {
			t.Fatalf("Embed %v: %v", r, err)
		}
		if _, err := Detect(image.NewNRGBA(r), nil); !errors.Is(err, ErrTooSmall) {
			t.Fatalf("Detect %v: %v", r, err)
		}
	}
	// The smallest accepted size embeds and is detected.
	p := photos.Sized(MinEmbedSide, MinEmbedSide, 1, 1)
	m, err := Embed(p, ID{7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Detect(m, nil); err != nil || d.ID != (ID{7}) {
		t.Fatalf("smallest picture: %v, %v", d, err)
	}
}

// TestFlat: a one-colour picture gets a weak mark (the global gain is
// capped), is detected without attack, and the unmarked one is not.
func TestFlat(t *testing.T) {
	p := flat(640, 480, 128)
	m, err := Embed(p, ID{1, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := m.(*image.Gray)
	var se float64
	for i, v := range g.Pix {
		d := float64(v) - float64(p.Pix[i])
		se += d * d
	}
	psnr := 10 * math.Log10(255*255/(se/float64(len(g.Pix))))
	t.Logf("flat picture: PSNR %.1f dB", psnr)
	if psnr < 45 {
		t.Fatalf("flat picture PSNR %.1f dB: the mark should be weak", psnr)
	}
	if d, err := Detect(m, nil); err != nil || d.ID != (ID{1, 1}) {
		t.Fatalf("flat marked: %v, %v", d, err)
	}
	if _, err := Detect(p, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("flat unmarked: %v", err)
	}
}

// TestImageKinds embeds into every supported input type, checks the
// output type, that the input is unchanged, and detection after JPEG 50.
func TestImageKinds(t *testing.T) {
	src := photos.Sized(517, 333, 0, 4) // odd sizes
	b := src.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, src, b.Min, draw.Src)
	gray := image.NewGray(b)
	draw.Draw(gray, b, src, b.Min, draw.Src)
	pal := image.NewPaletted(b, palette.Plan9)
	draw.FloydSteinberg.Draw(pal, b, src, b.Min)
	y420, y444 := toYCbCr420(src), image.NewYCbCr(b, image.YCbCrSubsampleRatio444)
	for yy := b.Min.Y; yy < b.Max.Y; yy++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := src.NRGBAAt(x, yy)
			l, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			y444.Y[y444.YOffset(x, yy)], y444.Cb[y444.COffset(x, yy)], y444.Cr[y444.COffset(x, yy)] = l, cb, cr
		}
	}
	// A sub-image with a non-zero origin.
	bigger := image.NewNRGBA(image.Rect(0, 0, 700, 500))
	draw.Draw(bigger, image.Rect(31, 17, 31+517, 17+333), src, b.Min, draw.Src)
	sub := bigger.SubImage(image.Rect(31, 17, 31+517, 17+333))
	gray16 := image.NewGray16(b)
	draw.Draw(gray16, b, src, b.Min, draw.Src)

	cases := []struct {
		name string
		img  image.Image
		want string
	}{
		{"NRGBA", src, "*image.NRGBA"},
		{"RGBA", rgba, "*image.NRGBA"},
		{"Gray", gray, "*image.Gray"},
		{"Paletted", pal, "*image.NRGBA"},
		{"YCbCr420", y420, "*image.YCbCr"},
		{"YCbCr444", y444, "*image.YCbCr"},
		{"SubImage", sub, "*image.NRGBA"},
		{"Gray16", gray16, "*image.NRGBA"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(c.img)
			id := testID(500 + i)
			m, err := Embed(c.img, id, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(m); got != c.want {
				t.Fatalf("output %s, want %s", got, c.want)
			}
			if m.Bounds() != c.img.Bounds() {
				t.Fatalf("bounds %v, want %v", m.Bounds(), c.img.Bounds())
			}
			if !bytes.Equal(before, snapshot(c.img)) {
				t.Fatal("input modified")
			}
			for _, a := range []attack{attacks[0], attacks[1]} {
				am, err := a.fn(m)
				if err != nil {
					t.Fatal(err)
				}
				d, err := Detect(am, nil)
				if err != nil || d.ID != id {
					t.Fatalf("%s: %v, %v", a.name, d, err)
				}
			}
		})
	}
}

func typeName(m image.Image) string {
	switch m.(type) {
	case *image.NRGBA:
		return "*image.NRGBA"
	case *image.Gray:
		return "*image.Gray"
	case *image.YCbCr:
		return "*image.YCbCr"
	}
	return "other"
}

func snapshot(m image.Image) []byte {
	var out []byte
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := m.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bb>>8), byte(a>>8))
		}
	}
	return out
}

// TestLumaRowMatchesEmbed: the change Embed makes to a Gray picture is the
// rounded LumaRow value wherever no clipping occurs.
func TestLumaRowMatchesEmbed(t *testing.T) {
	src := image.NewGray(image.Rect(3, 5, 3+401, 5+299))
	p := photos.Sized(401, 299, 2, 8)
	draw.Draw(src, src.Bounds(), p, image.Point{}, draw.Src)
	for i := range src.Pix { // keep away from clipping
		src.Pix[i] = 40 + src.Pix[i]/2
	}
	mk, err := NewMark(src, ID{3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mk.Bounds() != src.Bounds() {
		t.Fatalf("Bounds %v", mk.Bounds())
	}
	out, err := Embed(src, ID{3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := out.(*image.Gray)
	row := make([]float32, src.Bounds().Dx())
	var energy float64
	for y := src.Bounds().Min.Y; y < src.Bounds().Max.Y; y++ {
		mk.LumaRow(y, row)
		for i, d := range row {
			x := src.Bounds().Min.X + i
			want := float64(src.GrayAt(x, y).Y) + float64(d)
			if got := float64(g.GrayAt(x, y).Y); math.Abs(got-want) > 0.5001 {
				t.Fatalf("(%d,%d): embedded %v, original+LumaRow %v", x, y, got, want)
			}
			energy += float64(d) * float64(d)
		}
	}
	if energy == 0 {
		t.Fatal("LumaRow is all zero")
	}
	mk.LumaRow(src.Bounds().Max.Y, row) // outside: zeros
	for _, d := range row {
		if d != 0 {
			t.Fatal("LumaRow outside the bounds is not zero")
		}
	}
}

// TestDetectionReport checks the geometry a detection reports: after a
// crop removing 10 % from the short side, the cell size grows relative to
// the picture's nominal one, and after a 0.5 resize it halves.
func TestDetectionReport(t *testing.T) {
	p := photos.Sized(800, 600, 0, 9)
	m, err := Embed(p, ID{4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Detect(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d.CellSize-600.0/96) > 0.05 || d.Score < SyncThreshold || d.BitErrors > bchT {
		t.Fatalf("unattacked: %+v", d)
	}
	d2, err := Detect(resize(m, 0.5), nil)
	if err != nil || math.Abs(d2.CellSize-300.0/96) > 0.05 {
		t.Fatalf("resized: %+v, %v", d2, err)
	}
	d3, err := Detect(cropSide(m, 0.9), nil)
	if err != nil || math.Abs(d3.CellSize-600.0/96) > 0.06 {
		t.Fatalf("cropped: %+v, %v (cell size must stay that of the original grid)", d3, err)
	}
}

// TestEachAttackUnit is a quick unit check of every attack on one photo.
func TestEachAttackUnit(t *testing.T) {
	p := photos.Sized(640, 480, 7, 11)
	id := ID{9, 8, 7, 6, 5, 4, 3, 2}
	m, err := Embed(p, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attacks {
		am, err := a.fn(m)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Detect(am, nil)
		if err != nil || d.ID != id {
			t.Errorf("%s: %+v, %v", a.name, d, err)
		}
	}
	// An unmarked copy is not detected after the same attacks.
	for _, a := range attacks {
		am, err := a.fn(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Detect(am, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("unmarked %s: %v", a.name, err)
		}
	}
}

// FuzzDetect feeds arbitrary pixels (and sizes around the minimum) to
// Detect: it must return ErrNotFound or a detection, never panic.
func FuzzDetect(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{0})
	f.Add(uint8(200), uint8(10), []byte{1, 2, 3, 250, 7})
	f.Add(uint8(255), uint8(255), bytes.Repeat([]byte{0, 255}, 64))
	f.Fuzz(func(t *testing.T, w8, h8 uint8, data []byte) {
		w, h := MinDetectSide-8+int(w8)/2, MinDetectSide-8+int(h8)/2
		g := image.NewGray(image.Rect(0, 0, w, h))
		if len(data) > 0 {
			for i := range g.Pix {
				g.Pix[i] = data[i%len(data)] ^ byte(i/len(data))
			}
		}
		d, err := Detect(g, nil)
		if err == nil {
			t.Logf("detection on fuzz input: %+v", d)
			if d.Score < SyncThreshold || d.BitErrors > bchT {
				t.Fatalf("detection below the acceptance rule: %+v", d)
			}
			return
		}
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("error %v does not wrap ErrNotFound", err)
		}
	})
}
