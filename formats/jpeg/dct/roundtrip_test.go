package dct

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/internal/testtool"
)

// TestFixturesMatchLibjpeg compares the decoded coefficients of every fixture with libjpeg's
// (the .coef dumps made by testdata/gen), block by block over the blocks inside the picture.
func TestFixturesMatchLibjpeg(t *testing.T) {
	n := 0
	for _, name := range fixtures(t) {
		ref := strings.TrimSuffix(name, ".jpg") + ".coef"
		if _, err := os.Stat(ref); err != nil {
			continue
		}
		n++
		t.Run(baseName(name), func(t *testing.T) {
			m := mustDecode(t, readFile(t, name))
			dims, coefs := refCoefficients(t, ref)
			if len(dims) != len(m.Components) {
				t.Fatalf("%d components, libjpeg has %d", len(m.Components), len(dims))
			}
			for i := range m.Components {
				c := &m.Components[i]
				bw, bh := m.compBlocks(c)
				if dims[i] != [2]int{bw, bh} {
					t.Fatalf("component %d: %dx%d blocks inside the picture, libjpeg has %v", i, bw, bh, dims[i])
				}
				for by := 0; by < bh; by++ {
					for bx := 0; bx < bw; bx++ {
						blk := c.Block(bx, by)
						want := coefs[i][(by*bw+bx)*64:]
						for k := 0; k < 64; k++ {
							if blk[k] != want[unzig[k]] {
								t.Fatalf("component %d block (%d,%d) zig-zag %d: %d, libjpeg %d", i, bx, by, k, blk[k], want[unzig[k]])
							}
						}
					}
				}
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d fixtures have reference dumps", n)
	}
}

// TestRoundTripFixtures: Decode then Encode keeps every coefficient, the metadata segments and
// (for what image/jpeg decodes) every pixel.
func TestRoundTripFixtures(t *testing.T) {
	for _, name := range fixtures(t) {
		if strings.Contains(name, "arith") {
			continue
		}
		t.Run(baseName(name), func(t *testing.T) {
			in := readFile(t, name)
			m, out := roundTrip(t, in)
			// The output is sequential, with the input's restart interval.
			if m.RestartInterval > 0 {
				dri := find(t, out, mDRI)
				if got := int(out[dri.start+4])<<8 | int(out[dri.start+5]); got != m.RestartInterval {
					t.Fatalf("DRI %d in the output, %d in the input", got, m.RestartInterval)
				}
			}
			for _, s := range walkSegments(t, out) {
				if s.marker == mSOF2 {
					t.Fatal("the output is progressive")
				}
			}
		})
	}
}

// TestOutputFrameKind: SOF0 for 8-bit tables, SOF1 for 16-bit ones; a grey image's sampling
// factors become 1x1; an MCU of more than ten blocks gets one scan per component.
func TestOutputFrameKind(t *testing.T) {
	cases := []struct {
		name  string
		sof   byte
		scans int
	}{
		{"go-420", mSOF0, 1},
		{"lj-wide-tables", mSOF1, 1},
		{"lj-gray2x2", mSOF0, 1},
		{"lj-4x4-multiscan", mSOF0, 3},
		{"lj-prog-420-rst1", mSOF0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := mustEncode(t, mustDecode(t, readFile(t, filepath.Join("testdata", c.name+".jpg"))))
			sof := segment{}
			for _, s := range walkSegments(t, out) {
				if s.marker >= mSOF0 && s.marker <= mSOF2 {
					sof = s
				}
			}
			if sof.marker != c.sof {
				t.Fatalf("frame marker FF%02X, want FF%02X", sof.marker, c.sof)
			}
			if c.name == "lj-gray2x2" && out[sof.start+11] != 0x11 {
				t.Fatalf("grey sampling factors %02X, want 11", out[sof.start+11])
			}
			if n := bytes.Count(out, []byte{0xFF, mSOS}); n != c.scans {
				t.Fatalf("%d scans, want %d", n, c.scans)
			}
		})
	}
}

// TestRoundTripGoEncoder round-trips image/jpeg's own output: 4:2:0 colour and grey, odd sizes.
func TestRoundTripGoEncoder(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {17, 9}, {8, 8}, {16, 16}, {333, 251}, {64, 3}} {
		for _, q := range []int{10, 75, 100} {
			rgb := testImage(size[0], size[1])
			gray := image.NewGray(rgb.Bounds())
			for y := 0; y < size[1]; y++ {
				for x := 0; x < size[0]; x++ {
					gray.Set(x, y, rgb.At(x, y))
				}
			}
			for _, img := range []image.Image{rgb, gray} {
				t.Run(fmt.Sprintf("%dx%d-q%d-%T", size[0], size[1], q, img), func(t *testing.T) {
					roundTrip(t, goJPEG(t, img, q))
				})
			}
		}
	}
}

// TestRestartIntervalOutput: a restart interval set on the image is written, image/jpeg decodes
// the result to the same pixels, and Decode reads the same coefficients back.
func TestRestartIntervalOutput(t *testing.T) {
	in := goJPEG(t, testImage(333, 251), 85)
	want, err := stdDecode(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range []int{1, 2, 7, 100, 65535} {
		m := mustDecode(t, in)
		m.RestartInterval = ri
		out := mustEncode(t, m)
		if rst := bytes.Count(out, []byte{0xFF, mRST0}); ri < 100 && rst == 0 {
			t.Fatalf("interval %d: no RST0 marker written", ri)
		}
		m2 := mustDecode(t, out)
		if err := sameCoefficients(m, m2); err != nil {
			t.Fatalf("interval %d: %v", ri, err)
		}
		if m2.RestartInterval != ri {
			t.Fatalf("interval %d read back as %d", ri, m2.RestartInterval)
		}
		got, err := stdDecode(out)
		if err != nil {
			t.Fatalf("interval %d: image/jpeg: %v", ri, err)
		}
		if err := samePixels(want, got, image.Rectangle{}, false); err != nil {
			t.Fatalf("interval %d: %v", ri, err)
		}
	}
}

// TestGoRootTestdata round-trips the JPEGs of Go's own image test data (progressive, separate DC
// scans, restart intervals, 4:1:0 …), when the Go installation has them.
func TestGoRootTestdata(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "*.jpeg"))
	if len(names) == 0 {
		t.Skip("no JPEGs in GOROOT/src/image/testdata")
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			in := readFile(t, name)
			if strings.Contains(name, "cmyk") {
				if _, err := Decode(bytes.NewReader(in), Limits{}); !errors.Is(err, formats.ErrUnsupported) {
					t.Fatalf("CMYK: %v, want ErrUnsupported", err)
				}
				return
			}
			// (video-001.progressive.truncated.jpeg stops its progression early but is
			// complete: both decoders read the partial coefficients.)
			roundTrip(t, in)
		})
	}
}

// convert returns ImageMagick's convert, preferring /usr/bin/convert.
func convert(t *testing.T) string {
	t.Helper()
	tool := testtool.Require(t, "convert")
	if _, err := os.Stat("/usr/bin/convert"); err == nil {
		tool = "/usr/bin/convert"
	}
	return tool
}

// TestRoundTripImageMagick round-trips JPEGs made by ImageMagick with every chroma sampling,
// grey, progressive and odd sizes. (ImageMagick 6 cannot set a restart interval; the libjpeg
// fixtures and TestRestartIntervalOutput cover those.)
func TestRoundTripImageMagick(t *testing.T) {
	tool := convert(t)
	dir := t.TempDir()
	variants := map[string][]string{
		"444":       {"-sampling-factor", "4:4:4"},
		"422":       {"-sampling-factor", "4:2:2"},
		"420":       {"-sampling-factor", "4:2:0"},
		"440":       {"-sampling-factor", "1x2"},
		"411":       {"-sampling-factor", "4x1"},
		"gray":      {"-colorspace", "Gray"},
		"prog-420":  {"-interlace", "Plane", "-sampling-factor", "4:2:0"},
		"prog-444":  {"-interlace", "Plane", "-sampling-factor", "4:4:4"},
		"prog-gray": {"-interlace", "Plane", "-colorspace", "Gray"},
		"q100-444":  {"-quality", "100", "-sampling-factor", "4:4:4"},
	}
	for _, size := range [][2]int{{1, 1}, {17, 9}, {333, 251}} {
		src := filepath.Join(dir, fmt.Sprintf("%dx%d.png", size[0], size[1]))
		f, err := os.Create(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, testImage(size[0], size[1])); err != nil {
			t.Fatal(err)
		}
		f.Close()
		for name, args := range variants {
			t.Run(fmt.Sprintf("%dx%d-%s", size[0], size[1], name), func(t *testing.T) {
				out := filepath.Join(dir, fmt.Sprintf("%dx%d-%s.jpg", size[0], size[1], name))
				cmd := exec.Command(tool, append(append([]string{src, "-quality", "87"}, args...), out)...)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v: %s", cmd, err, b)
				}
				in := readFile(t, out)
				m, _ := roundTrip(t, in)
				if strings.HasPrefix(name, "prog") != m.Progressive {
					t.Fatalf("progressive = %v", m.Progressive)
				}
			})
		}
	}
}

// TestQuality: the IJG quality of image/jpeg's tables is found exactly; a changed table is not
// IJG-scaled.
func TestQuality(t *testing.T) {
	img := testImage(16, 16)
	for _, q := range []int{1, 5, 20, 49, 50, 51, 75, 90, 97, 100} {
		m := mustDecode(t, goJPEG(t, img, q))
		got, ok := m.Quality()
		if !ok {
			t.Fatalf("quality %d: not recognised (got %d)", q, got)
		}
		if got != q {
			// Neighbouring qualities can give identical tables; then they must be identical.
			m2 := mustDecode(t, goJPEG(t, img, got))
			if m2.Components[0].Quant != m.Components[0].Quant {
				t.Fatalf("quality %d estimated as %d", q, got)
			}
		}
	}
	m := mustDecode(t, goJPEG(t, img, 80))
	m.Components[0].Quant[10]++
	if q, ok := m.Quality(); ok || q < 75 || q > 85 {
		t.Fatalf("a changed table: quality %d, ok %v; want about 80, not ok", q, ok)
	}
	// libjpeg's 16-bit tables at quality 5 without the baseline clamp.
	if q, ok := mustDecode(t, readFile(t, "testdata/lj-wide-tables.jpg")).Quality(); q != 5 || !ok {
		t.Fatalf("lj-wide-tables: quality %d, ok %v; want 5", q, ok)
	}
}

// TestQuantTablesWritten: when a component's table is not what the kept DQT segments define
// (changed by the caller here; in files, a DQT redefined between progressive scans), Encode adds
// a DQT segment, moving a component to a free slot when two need different tables in one slot,
// and switches to SOF1 for a 16-bit table.
func TestQuantTablesWritten(t *testing.T) {
	in := readFile(t, "testdata/go-420.jpg") // Cb and Cr share table 1
	for _, tc := range []struct {
		name  string
		edit  func(m *Image)
		sof   byte
		dqts  int
		slots [3]byte
	}{
		{"unchanged", func(m *Image) {}, mSOF0, 1, [3]byte{0, 1, 1}},
		{"luma changed", func(m *Image) { m.Components[0].Quant[3]++ }, mSOF0, 2, [3]byte{0, 1, 1}},
		{"Cr differs from Cb", func(m *Image) { m.Components[2].Quant[0]++ }, mSOF0, 2, [3]byte{0, 1, 2}},
		{"16-bit", func(m *Image) { m.Components[1].Quant[63] = 300; m.Components[2].Quant[63] = 300 }, mSOF1, 2, [3]byte{0, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustDecode(t, in)
			tc.edit(m)
			out := mustEncode(t, m)
			m2 := mustDecode(t, out)
			if err := sameCoefficients(m, m2); err != nil {
				t.Fatal(err)
			}
			dqts := 0
			var sof segment
			for _, s := range walkSegments(t, out) {
				switch s.marker {
				case mDQT:
					dqts++
				case mSOF0, mSOF1:
					sof = s
				}
			}
			if dqts != tc.dqts || sof.marker != tc.sof {
				t.Fatalf("%d DQT segments and FF%02X, want %d and FF%02X", dqts, sof.marker, tc.dqts, tc.sof)
			}
			for i, want := range tc.slots {
				if got := out[sof.start+12+3*i]; got != want {
					t.Fatalf("component %d uses table %d, want %d", i, got, want)
				}
			}
			if _, err := stdDecode(out); err != nil {
				t.Fatalf("image/jpeg: %v", err)
			}
		})
	}
}
