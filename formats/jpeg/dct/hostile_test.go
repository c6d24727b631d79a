package dct

import (
	"bytes"
	"errors"
	"image"
	"runtime"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

// decodeErr decodes b and returns the error, failing the test on a success or a panic.
func decodeErr(t *testing.T, b []byte, lim Limits) error {
	t.Helper()
	m, err := Decode(bytes.NewReader(b), lim)
	if err == nil {
		t.Fatalf("Decode accepted it (%dx%d)", m.Width, m.Height)
	}
	return err
}

func wantErr(t *testing.T, err, kind error, substr string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %q does not wrap %q", err, kind)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not mention %q", err, substr)
	}
}

// patch returns a copy of b with the bytes at off replaced.
func patch(b []byte, off int, p ...byte) []byte {
	c := bytes.Clone(b)
	copy(c[off:], p)
	return c
}

// splice returns b with b[start:end] replaced by p.
func splice(b []byte, start, end int, p ...byte) []byte {
	return append(append(append([]byte(nil), b[:start]...), p...), b[end:]...)
}

func TestTruncated(t *testing.T) {
	for _, name := range fixtures(t) {
		if strings.Contains(name, "arith") {
			continue
		}
		full := readFile(t, name)
		for n := 0; n < len(full); n++ {
			_, err := Decode(bytes.NewReader(full[:n]), Limits{})
			if err == nil {
				t.Fatalf("%s: the %d-byte prefix of %d bytes decoded", name, n, len(full))
			}
			if !errors.Is(err, formats.ErrMalformed) {
				t.Fatalf("%s: prefix %d: %v does not wrap ErrMalformed", name, n, err)
			}
		}
	}
}

func TestFrameHeader(t *testing.T) {
	base := readFile(t, "testdata/go-420.jpg") // 17x9, 3 components
	sof := find(t, base, mSOF0).start
	hdr := sof + 4 // P, Y(2), X(2), Nf, then 3 bytes per component
	comp := func(i int) int { return hdr + 6 + 3*i }
	cases := []struct {
		name   string
		in     []byte
		kind   error
		substr string
	}{
		{"65535x65535", patch(base, hdr+1, 0xFF, 0xFF, 0xFF, 0xFF), formats.ErrTooLarge, "65535x65535"},
		{"width 0", patch(base, hdr+3, 0, 0), formats.ErrMalformed, "width 0"},
		{"height 0", patch(base, hdr+1, 0, 0), formats.ErrUnsupported, "DNL"},
		{"sampling 0", patch(base, comp(0)+1, 0x02), formats.ErrMalformed, "sampling factors 0x2"},
		{"sampling 5", patch(base, comp(1)+1, 0x51), formats.ErrMalformed, "sampling factors 5x1"},
		{"duplicate id", patch(base, comp(2), base[comp(1)]), formats.ErrMalformed, "appears twice"},
		{"Tq 4", patch(base, comp(0)+2, 4), formats.ErrMalformed, "quantisation table 4"},
		{"Tq undefined", patch(base, comp(0)+2, 3), formats.ErrMalformed, "not defined"},
		{"12-bit", patch(base, hdr, 12), formats.ErrUnsupported, "12-bit"},
		{"precision 7", patch(base, hdr, 7), formats.ErrMalformed, "precision 7"},
		{"length", patch(base, sof+3, base[sof+3]+3), formats.ErrMalformed, "frame header"},
		{"lossless", patch(base, sof+1, 0xC3), formats.ErrUnsupported, "lossless"},
		{"hierarchical", patch(base, sof+1, 0xC5), formats.ErrUnsupported, "hierarchical"},
		{"arithmetic", patch(base, sof+1, 0xC9), formats.ErrUnsupported, "arithmetic"},
		{"second SOF", splice(base, sof, sof, base[sof:sof+4+int(base[sof+3])-2]...), formats.ErrMalformed, "second frame"},
		{"implausible size", patch(base, hdr+1, 0x27, 0x10, 0x27, 0x10), formats.ErrMalformed, "more than the"},
	}
	// 1, 2 and 4 components: rewrite Nf and the length.
	four := splice(base, comp(3), comp(3), 4, 0x11, 1)
	four[hdr+5] = 4
	four[sof+3] += 3
	cases = append(cases, struct {
		name   string
		in     []byte
		kind   error
		substr string
	}{"CMYK", four, formats.ErrUnsupported, "4-component"})
	two := splice(base, comp(2), comp(3))
	two[hdr+5] = 2
	two[sof+3] -= 3
	cases = append(cases, struct {
		name   string
		in     []byte
		kind   error
		substr string
	}{"2 components", two, formats.ErrUnsupported, "2-component"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, decodeErr(t, c.in, Limits{}), c.kind, c.substr)
		})
	}
	if _, err := Decode(bytes.NewReader(readFile(t, "testdata/lj-arith.jpg")), Limits{}); !errors.Is(err, formats.ErrUnsupported) {
		t.Fatalf("arithmetic-coded fixture: %v", err)
	}
}

// TestHugeFrameAllocatesNothing: a frame over the pixel limit is refused before the coefficient
// memory is allocated; so is one the file is too short to code.
func TestHugeFrameAllocatesNothing(t *testing.T) {
	base := readFile(t, "testdata/go-420.jpg")
	hdr := find(t, base, mSOF0).start + 4
	for _, dims := range [][4]byte{{0xFF, 0xFF, 0xFF, 0xFF}, {0x27, 0x10, 0x27, 0x10}} {
		in := patch(base, hdr+1, dims[:]...)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Decode(bytes.NewReader(in), Limits{})
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatal("accepted")
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Fatalf("%v: refusing it allocated %d bytes", err, n)
		}
	}
	// A 120-megapixel frame is allowed by default; a lower limit refuses it.
	big := patch(base, hdr+1, 0x27, 0x10, 0x27, 0x10) // 10000x10000
	wantErr(t, decodeErr(t, big, Limits{MaxPixels: 1 << 20}), formats.ErrTooLarge, "limit")
	wantErr(t, decodeErr(t, base, Limits{MaxBytes: 100}), formats.ErrTooLarge, "limit")
}

func TestTables(t *testing.T) {
	base := readFile(t, "testdata/go-420.jpg")
	dqt := find(t, base, mDQT).start
	dht := find(t, base, mDHT).start
	cases := []struct {
		name   string
		in     []byte
		substr string
	}{
		{"DQT index 4", patch(base, dqt+4, 0x04), "DQT table index 4"},
		{"DQT precision 2", patch(base, dqt+4, 0x20), "DQT precision 2"},
		{"DQT short", patch(base, dqt+2, 0, 60), "too short"},
		{"DHT class 2", patch(base, dht+4, 0x20), "DHT table class 2"},
		{"DHT index 4", patch(base, dht+4, 0x04), "DHT table index 4"},
		{"DHT 3 codes of 1 bit", patch(base, dht+5, 3), "more codes of one length"},
		{"DHT 300 codes", patch(base, dht+5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 150, 150), "more than 256"},
		{"segment length 1", patch(base, dqt+2, 0, 1), "less than 2"},
		{"segment past the end", patch(base, dqt+2, 0xFF, 0xF0), "past the end"},
		{"no SOI", patch(base, 1, 0xD9), "SOI"},
		{"reserved marker", patch(base, dqt+1, 0x02), "reserved marker"},
		{"DNL", patch(base, dqt+1, mDNL), "DNL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := decodeErr(t, c.in, Limits{})
			if !strings.Contains(err.Error(), c.substr) {
				t.Fatalf("error %q does not mention %q", err, c.substr)
			}
			if !errors.Is(err, formats.ErrMalformed) && !errors.Is(err, formats.ErrUnsupported) {
				t.Fatalf("error %q wraps neither ErrMalformed nor ErrUnsupported", err)
			}
		})
	}
}

func TestScanHeader(t *testing.T) {
	seq := readFile(t, "testdata/go-420.jpg")
	prog := readFile(t, "testdata/lj-prog-444.jpg")
	sosSeq := find(t, seq, mSOS).start
	sosProg := find(t, prog, mSOS).start // the interleaved DC first scan: Ss=0 Se=0 Ah=0 Al=1
	ns := int(prog[sosProg+4])
	pp := sosProg + 5 + 2*ns // Ss, Se, Ah<<4|Al
	cases := []struct {
		name   string
		in     []byte
		substr string
	}{
		{"unknown component", patch(seq, sosSeq+5, 99), "does not have"},
		{"component twice", patch(seq, sosSeq+7, seq[sosSeq+5]), "twice"},
		{"DC table 3", patch(seq, sosSeq+6, 0x30), "not defined"},
		{"table 5", patch(seq, sosSeq+6, 0x50), "Huffman table 5"},
		{"Ns 0", patch(seq, sosSeq+4, 0), "scan of 0 components"},
		{"Ns 4", patch(seq, sosSeq+4, 4), "scan of 4 components"},
		{"length", patch(seq, sosSeq+3, seq[sosSeq+3]+2), "SOS segment"},
		{"Ss 0 Se 5", patch(prog, pp, 0, 5), "mixes DC and AC"},
		{"Ss 5 Se 3", patch(prog, pp, 5, 3), "spectral selection 5..3"},
		{"Se 64", patch(prog, pp, 0, 64), "spectral selection 0..64"},
		{"AC of 3 components", patch(prog, pp, 1, 5), "AC scan of 3 components"},
		{"Ah 3 Al 0", patch(prog, pp+2, 0x30), "Ah=3, Al=0"},
		{"Al 14", patch(prog, pp+2, 0x0E), "Al=14"},
		{"SOS before SOF", splice(seq, find(t, seq, mSOF0).start, find(t, seq, mSOF0).start, seq[sosSeq:sosSeq+2+int(seq[sosSeq+3])]...), "before the frame header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, decodeErr(t, c.in, Limits{}), formats.ErrMalformed, c.substr)
		})
	}
}

func TestScanData(t *testing.T) {
	seq := readFile(t, "testdata/go-420.jpg")
	sos := find(t, seq, mSOS)
	data := sos.end
	eoi := len(seq) - 2
	ones := bytes.Repeat([]byte{0xFF, 0x00}, 40)
	rst := readFile(t, "testdata/lj-411-rst2.jpg")
	r0 := bytes.Index(rst[find(t, rst, mSOS).end:], []byte{0xFF, 0xD0}) + find(t, rst, mSOS).end
	cases := []struct {
		name   string
		in     []byte
		substr string
	}{
		{"all ones", splice(seq, data, eoi, ones...), "no code"},
		{"empty scan", splice(seq, data, eoi), "ends early"},
		{"marker inside", splice(seq, data+20, data+20, 0xFF, 0xFE, 0, 2), "ends early"},
		{"no EOI", seq[:eoi], "EOI"},
		{"wrong RST", patch(rst, r0+1, 0xD3), "expected restart marker FFD0, found FFD3"},
		{"RST missing", splice(rst, r0, r0+2), "restart marker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, decodeErr(t, c.in, Limits{}), formats.ErrMalformed, c.substr)
		})
	}
}

// crafted builds a grey 8xN-block JPEG with the given Huffman tables and scan bits.
func crafted(w, h int, dcCounts, dcVals, acCounts, acVals []byte, bits string) []byte {
	b := []byte{0xFF, mSOI}
	q := []byte{0xFF, mDQT, 0, 67, 0}
	for i := 0; i < 64; i++ {
		q = append(q, 1)
	}
	b = append(b, q...)
	b = append(b, 0xFF, mSOF0, 0, 11, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	table := func(class byte, counts, vals []byte) []byte {
		c := make([]byte, 16)
		copy(c, counts)
		t := append([]byte{class}, c...)
		return append(t, vals...)
	}
	dht := append(table(0x00, dcCounts, dcVals), table(0x10, acCounts, acVals)...)
	b = append(b, 0xFF, mDHT, byte((len(dht)+2)>>8), byte(len(dht)+2))
	b = append(b, dht...)
	b = append(b, 0xFF, mSOS, 0, 8, 1, 1, 0x00, 0, 63, 0)
	for len(bits)%8 != 0 {
		bits += "1"
	}
	for i := 0; i < len(bits); i += 8 {
		var c byte
		for j := 0; j < 8; j++ {
			c = c<<1 | (bits[i+j] - '0')
		}
		b = append(b, c)
		if c == 0xFF {
			b = append(b, 0)
		}
	}
	return append(b, 0xFF, mEOI)
}

func TestCoefficientRanges(t *testing.T) {
	// DC table: "0" is category 15; AC table: "0" is EOB, "10" is 0/15 (size 15 after no run),
	// "110" is a run of 15 then size 1 (F1), "1110" is ZRL.
	dc15 := []byte{1}
	ac := []byte{1, 1, 1, 1}
	acVals := []byte{0x00, 0x0F, 0xF1, 0xF0}
	max15 := strings.Repeat("1", 15)
	// One block, DC +32767: outside the DC range.
	wantErr(t, decodeErr(t, crafted(8, 8, dc15, []byte{15}, ac, acVals, "0"+max15+"0"), Limits{}), formats.ErrMalformed, "DC coefficient")
	// DC category 16.
	wantErr(t, decodeErr(t, crafted(8, 8, dc15, []byte{16}, ac, acVals, "0"+"0"), Limits{}), formats.ErrMalformed, "category 16")
	// Runs past coefficient 63 (a DC table whose one code is category 0).
	dc0 := []byte{1}
	run := "0" + strings.Repeat("1101", 4) // DC 0 then 4 x (run 15, size 1, bit 1): k = 1+16*4 > 63
	wantErr(t, decodeErr(t, crafted(8, 8, dc0, []byte{0}, ac, acVals, run), Limits{}), formats.ErrMalformed, "past the end")
	// A valid block with an AC value of ±32767 decodes and round-trips.
	ok := crafted(16, 8, dc0, []byte{0}, ac, acVals, "0"+"10"+max15+"0"+"0"+"10"+strings.Repeat("0", 15)+"0")
	m, err := Decode(bytes.NewReader(ok), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := [2]int16{m.Components[0].Coeffs[1], m.Components[0].Coeffs[65]}; got != [2]int16{32767, -32767} {
		t.Fatalf("AC values %v", got)
	}
	m2 := mustDecode(t, mustEncode(t, m))
	if err := sameCoefficients(m, m2); err != nil {
		t.Fatal(err)
	}
	// Encode refuses what cannot be coded.
	m.Components[0].Coeffs[2] = -32768
	if err := m.Encode(&bytes.Buffer{}); err == nil {
		t.Fatal("Encode accepted an AC value of -32768")
	}
}

// progScans returns the offsets of the SOS segments of b and of its EOI.
func progScans(b []byte) (sos []int, eoi int) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] == mSOS {
			sos = append(sos, i)
		}
	}
	return sos, bytes.LastIndex(b, []byte{0xFF, mEOI})
}

// TestScanLimit repeats the first (DC) scan of a progressive file: up to MaxScans scans decode,
// more are refused.
func TestScanLimit(t *testing.T) {
	prog := readFile(t, "testdata/lj-prog-444.jpg")
	sos, eoi := progScans(prog)
	first := prog[sos[0]:sos[1]] // the DC first scan, with any tables before the next
	build := func(n int) []byte {
		b := bytes.Clone(prog[:eoi])
		for i := len(sos); i < n; i++ {
			b = append(b, first...)
		}
		return append(b, 0xFF, mEOI)
	}
	if _, err := Decode(bytes.NewReader(build(MaxScans)), Limits{}); err != nil {
		t.Fatalf("%d scans: %v", MaxScans, err)
	}
	wantErr(t, decodeErr(t, build(MaxScans+1), Limits{}), formats.ErrTooLarge, "scans")
}

// TestNoPanicOnGarbage flips bytes all over the fixtures: every result is a success or one of
// the package's errors, never a panic; successes encode and decode back to the same
// coefficients.
func TestNoPanicOnGarbage(t *testing.T) {
	for _, name := range fixtures(t) {
		base := readFile(t, name)
		for i := 2; i < len(base); i += 3 {
			for _, v := range []byte{0x00, 0xFF, base[i] ^ 0x5A} {
				b := patch(base, i, v)
				checkDecodeEncode(t, b)
			}
		}
	}
}

// checkDecodeEncode is the property the fuzz target checks.
func checkDecodeEncode(t *testing.T, b []byte) {
	t.Helper()
	m, err := Decode(bytes.NewReader(b), Limits{MaxPixels: 1 << 20, MaxBytes: 1 << 20})
	if err != nil {
		if !errors.Is(err, formats.ErrMalformed) && !errors.Is(err, formats.ErrUnsupported) && !errors.Is(err, formats.ErrTooLarge) {
			t.Fatalf("error %q wraps none of the package's kinds", err)
		}
		return
	}
	var out bytes.Buffer
	if err := m.Encode(&out); err != nil {
		t.Fatalf("Encode of a decoded image: %v", err)
	}
	m2, err := Decode(bytes.NewReader(out.Bytes()), Limits{MaxPixels: 1 << 20, MaxBytes: 1 << 22})
	if err != nil {
		t.Fatalf("Decode of the output: %v", err)
	}
	if err := sameCoefficients(m, m2); err != nil {
		t.Fatalf("coefficients after Encode: %v", err)
	}
	// The pixel side must not panic either.
	r := m.BlockAligned(image.Rect(0, 0, 1, 1))
	if px, err := m.Pixels(r); err == nil {
		// Replace may refuse a zero quantisation entry, nothing else.
		if err := m.Replace(r, px); err != nil && !errors.Is(err, formats.ErrMalformed) {
			t.Fatalf("Replace of its own Pixels: %v", err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range fixtures(f) {
		f.Add(readFile(f, name))
	}
	f.Add(crafted(16, 8, []byte{1}, []byte{0}, []byte{1, 1, 1, 1}, []byte{0x00, 0x0F, 0xF1, 0xF0}, "0100000000000000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeEncode(t, b)
	})
}
