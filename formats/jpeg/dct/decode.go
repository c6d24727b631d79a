package dct

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"

	"github.com/ailabel/ailabel/formats"
)

// Marker codes (ITU T.81 Table B.1).
const (
	mSOF0  = 0xC0
	mSOF1  = 0xC1
	mSOF2  = 0xC2
	mDHT   = 0xC4
	mDAC   = 0xCC
	mRST0  = 0xD0
	mRST7  = 0xD7
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mDQT   = 0xDB
	mDNL   = 0xDC
	mDRI   = 0xDD
	mDHP   = 0xDE
	mEXP   = 0xDF
	mAPP0  = 0xE0
	mAPP14 = 0xEE
	mAPP15 = 0xEF
	mCOM   = 0xFE
	mTEM   = 0x01
)

// Coefficient ranges Decode accepts. Every value in them can be coded again by Encode with
// Huffman categories of at most 15 bits: AC values directly, DC values as differences.
const (
	maxAC = 32767
	maxDC = 16383
	minDC = -16384
)

func malformed(off int, format string, args ...any) error {
	return fmt.Errorf("%w: dct: JPEG at offset %d: %s", formats.ErrMalformed, off, fmt.Sprintf(format, args...))
}

func unsupported(off int, format string, args ...any) error {
	return fmt.Errorf("%w: dct: JPEG at offset %d: %s", formats.ErrUnsupported, off, fmt.Sprintf(format, args...))
}

// Decode reads a whole JPEG into quantised coefficients. See the package documentation for what
// is supported; errors wrap formats.ErrMalformed, formats.ErrUnsupported or formats.ErrTooLarge.
func Decode(r io.Reader, lim Limits) (*Image, error) {
	data, err := readAll(r, lim.maxBytes())
	if err != nil {
		return nil, err
	}
	d := decoder{data: data, lim: lim}
	return d.decode()
}

// readAll reads r up to limit bytes, sizing the buffer up front when r tells its length.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	hint := int64(-1)
	switch v := r.(type) {
	case interface{ Len() int }:
		hint = int64(v.Len())
	case *io.SectionReader:
		if off, err := v.Seek(0, io.SeekCurrent); err == nil {
			hint = v.Size() - off
		}
	case *os.File:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			if off, err := v.Seek(0, io.SeekCurrent); err == nil {
				hint = fi.Size() - off
			}
		}
	}
	if hint > limit {
		return nil, fmt.Errorf("%w: dct: the JPEG is %d bytes, more than the limit of %d", formats.ErrTooLarge, hint, limit)
	}
	var buf bytes.Buffer
	if hint >= 0 {
		buf.Grow(int(hint) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("dct: reading the JPEG: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: dct: the JPEG is more than the limit of %d bytes", formats.ErrTooLarge, limit)
	}
	return buf.Bytes(), nil
}

type qtable struct {
	vals    [64]uint16
	defined bool
	wide    bool // 16-bit precision
}

type decoder struct {
	data []byte
	pos  int
	lim  Limits
	img  *Image

	qt      [4]qtable
	dc, ac  [4]huffDec
	ri      int
	frame   bool
	scans   int
	latched []bool
	coded   []bool
	nz      [][]uint64 // progressive: per block, bit k set when coefficient k is non-zero
	br      bitReader
	// state of the scan being decoded
	pred    [4]int32
	eobrun  int32
	nextRST int
}

func (d *decoder) decode() (*Image, error) {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != mSOI {
		return nil, malformed(0, "does not start with SOI (FF D8)")
	}
	d.pos = 2
	d.img = &Image{}
	for {
		start := d.pos
		m, err := d.marker()
		if err != nil {
			return nil, err
		}
		switch {
		case m == mEOI:
			return d.finish(start)
		case m == mTEM || (m >= mRST0 && m <= mRST7):
			continue // standalone markers; a stray RST after a scan is harmless
		case m == mSOI:
			return nil, malformed(start, "a second SOI marker")
		}
		if d.pos+2 > len(d.data) {
			return nil, malformed(start, "the file ends inside the length of marker FF%02X", m)
		}
		l := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
		if l < 2 {
			return nil, malformed(start, "marker FF%02X has segment length %d, less than 2", m, l)
		}
		if d.pos+l > len(d.data) {
			return nil, malformed(start, "segment FF%02X of %d bytes runs past the end of the file", m, l)
		}
		body := d.data[d.pos+2 : d.pos+l]
		d.pos += l
		if err := d.segment(m, start, body); err != nil {
			return nil, err
		}
	}
}

// marker reads a marker at d.pos, skipping fill bytes. Before the first scan the marker must
// come first; after a scan, bytes up to the next marker are extraneous data and skipped, as
// libjpeg and image/jpeg do.
func (d *decoder) marker() (byte, error) {
	if d.scans > 0 {
		for d.pos < len(d.data) && !isMarkerAt(d.data, d.pos) {
			d.pos++
		}
	}
	if d.pos >= len(d.data) {
		if d.scans > 0 {
			return 0, malformed(d.pos, "the file ends without an EOI marker")
		}
		return 0, malformed(d.pos, "the file ends before a start-of-scan (SOS) segment")
	}
	if d.data[d.pos] != 0xFF {
		return 0, malformed(d.pos, "expected a marker (FF), found byte %02X", d.data[d.pos])
	}
	for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
		d.pos++
	}
	if d.pos >= len(d.data) {
		return 0, malformed(d.pos, "the file ends inside a marker")
	}
	m := d.data[d.pos]
	d.pos++
	if m == 0 {
		return 0, malformed(d.pos-2, "FF 00 (a stuffed byte) where a marker was expected")
	}
	return m, nil
}

// segment handles one marker segment: marker m at offset off, with payload body.
func (d *decoder) segment(m byte, off int, body []byte) error {
	keep := false
	switch {
	case m == mSOF0 || m == mSOF1 || m == mSOF2:
		if err := d.sof(m, off, body); err != nil {
			return err
		}
	case m == 0xC3 || m == 0xC7 || m == 0xCB || m == 0xCF:
		return unsupported(off, "lossless JPEG (SOF%d)", m-mSOF0)
	case m == 0xC5 || m == 0xC6 || m == mDHP || m == mEXP:
		return unsupported(off, "hierarchical JPEG (marker FF%02X)", m)
	case m == 0xC9 || m == 0xCA || m == 0xCD || m == 0xCE || m == mDAC:
		return unsupported(off, "arithmetic coding (marker FF%02X)", m)
	case m == mDNL:
		return unsupported(off, "a DNL marker (image height defined after the first scan)")
	case m == mDHT:
		if err := d.dht(off, body); err != nil {
			return err
		}
	case m == mDQT:
		if err := d.dqt(off, body); err != nil {
			return err
		}
		keep = true
	case m == mDRI:
		if len(body) != 2 {
			return malformed(off, "DRI segment of %d bytes, expected 2", len(body))
		}
		d.ri = int(body[0])<<8 | int(body[1])
		if d.scans == 0 {
			d.img.RestartInterval = d.ri
		}
	case m == mSOS:
		return d.sos(off, body)
	case m >= mAPP0 && m <= mAPP15 || m == mCOM:
		keep = true
		if m == mAPP0 && len(body) >= 5 && string(body[:5]) == "JFIF\x00" {
			d.img.jfif = true
		}
		if m == mAPP14 && len(body) >= 12 && string(body[:5]) == "Adobe" {
			d.img.adobe = true
			d.img.adobeTransform = body[11]
		}
	case m < 0xC0:
		return malformed(off, "reserved marker FF%02X", m)
	default:
		return unsupported(off, "marker FF%02X", m)
	}
	if keep && d.scans == 0 {
		// The segment as it is in the data (which Decode read into a buffer of its own), from
		// its marker on: any fill bytes before the marker are left out. Capped, so that nothing
		// appended to it can reach the data after it.
		n := len(body) + 4
		start := d.pos - n // d.pos is past the segment
		d.img.segs = append(d.img.segs, d.data[start:d.pos:d.pos])
	}
	return nil
}

func (d *decoder) dqt(off int, b []byte) error {
	if err := parseDQT(b, &d.qt); err != nil {
		return malformed(off, "%v", err)
	}
	return nil
}

// parseDQT reads the tables of a DQT segment's payload into t.
func parseDQT(b []byte, t *[4]qtable) error {
	for len(b) > 0 {
		pq, tq := b[0]>>4, int(b[0]&15)
		if pq > 1 {
			return fmt.Errorf("DQT precision %d (only 0 for 8-bit and 1 for 16-bit exist)", pq)
		}
		if tq > 3 {
			return fmt.Errorf("DQT table index %d (0 to 3 exist)", tq)
		}
		n := 64 * (1 + int(pq))
		if len(b) < 1+n {
			return fmt.Errorf("DQT segment too short for table %d", tq)
		}
		q := &t[tq]
		q.defined, q.wide = true, pq == 1
		for k := 0; k < 64; k++ {
			if pq == 0 {
				q.vals[k] = uint16(b[1+k])
			} else {
				q.vals[k] = uint16(b[1+2*k])<<8 | uint16(b[2+2*k])
			}
		}
		b = b[1+n:]
	}
	return nil
}

func (d *decoder) dht(off int, b []byte) error {
	for len(b) > 0 {
		if len(b) < 17 {
			return malformed(off, "DHT segment too short for a table header")
		}
		tc, th := b[0]>>4, int(b[0]&15)
		if tc > 1 {
			return malformed(off, "DHT table class %d (0 for DC and 1 for AC exist)", tc)
		}
		if th > 3 {
			return malformed(off, "DHT table index %d (0 to 3 exist)", th)
		}
		var counts [16]byte
		copy(counts[:], b[1:17])
		total := 0
		for _, c := range counts {
			total += int(c)
		}
		if total > 256 {
			return malformed(off, "DHT table has %d codes, more than 256", total)
		}
		if len(b) < 17+total {
			return malformed(off, "DHT segment too short for its %d symbols", total)
		}
		h := &d.dc[th]
		if tc == 1 {
			h = &d.ac[th]
		}
		if err := h.build(&counts, b[17:17+total], tc == 1); err != nil {
			return malformed(off, "DHT %s table %d: %v", [2]string{"DC", "AC"}[tc], th, err)
		}
		b = b[17+total:]
	}
	return nil
}

func (d *decoder) sof(m byte, off int, b []byte) error {
	if d.frame {
		return malformed(off, "a second frame header (SOF)")
	}
	if len(b) < 6 {
		return malformed(off, "frame header of %d bytes, too short", len(b))
	}
	img := d.img
	prec, nc := b[0], int(b[5])
	img.Height = int(b[1])<<8 | int(b[2])
	img.Width = int(b[3])<<8 | int(b[4])
	img.Progressive = m == mSOF2
	if len(b) != 6+3*nc {
		return malformed(off, "frame header of %d bytes for %d components (expected %d)", len(b), nc, 6+3*nc)
	}
	if prec != 8 {
		if prec == 12 || prec == 16 {
			return unsupported(off, "%d-bit samples", prec)
		}
		return malformed(off, "sample precision %d", prec)
	}
	switch nc {
	case 1, 3:
	case 4:
		return unsupported(off, "4-component (CMYK or YCCK) JPEG")
	case 0:
		return malformed(off, "frame with no components")
	default:
		return unsupported(off, "%d-component JPEG", nc)
	}
	if img.Width == 0 {
		return malformed(off, "frame width 0")
	}
	if img.Height == 0 {
		return unsupported(off, "frame height 0 (a height defined later by a DNL marker)")
	}
	if px := int64(img.Width) * int64(img.Height); px > d.lim.maxPixels() {
		return fmt.Errorf("%w: dct: JPEG at offset %d: %dx%d is %d pixels, more than the limit of %d",
			formats.ErrTooLarge, off, img.Width, img.Height, px, d.lim.maxPixels())
	}
	img.Components = make([]Component, nc)
	img.hmax, img.vmax = 1, 1
	for i := range img.Components {
		c := &img.Components[i]
		p := b[6+3*i:]
		c.ID, c.H, c.V, c.tq = p[0], int(p[1]>>4), int(p[1]&15), int(p[2])
		for j := 0; j < i; j++ {
			if img.Components[j].ID == c.ID {
				return malformed(off, "component identifier %d appears twice in the frame header", c.ID)
			}
		}
		if c.H < 1 || c.H > 4 || c.V < 1 || c.V > 4 {
			return malformed(off, "component %d has sampling factors %dx%d (1 to 4 allowed)", c.ID, c.H, c.V)
		}
		if c.tq > 3 {
			return malformed(off, "component %d uses quantisation table %d (0 to 3 exist)", c.ID, c.tq)
		}
		if nc == 1 {
			c.H, c.V = 1, 1 // T.81 A.2: a single component is non-interleaved whatever its factors
		}
		img.hmax, img.vmax = max(img.hmax, c.H), max(img.vmax, c.V)
	}
	mw, mh := img.mcuSize()
	img.mcusX = (img.Width + mw - 1) / mw
	img.mcusY = (img.Height + mh - 1) / mh
	// Check before allocating: every coded block takes at least one bit of the file. (The
	// pixel limit above bounds the memory: the grid exceeds the picture by less than one MCU.)
	var coded int64
	for i := range img.Components {
		c := &img.Components[i]
		c.BlocksWide, c.BlocksHigh = img.mcusX*c.H, img.mcusY*c.V
		bw, bh := img.compBlocks(c)
		coded += int64(bw) * int64(bh)
	}
	if coded > 8*int64(len(d.data)) {
		return malformed(off, "a %dx%d frame has %d blocks to code, more than the %d-byte file can hold",
			img.Width, img.Height, coded, len(d.data))
	}
	for i := range img.Components {
		c := &img.Components[i]
		c.Coeffs = make([]int16, c.BlocksWide*c.BlocksHigh*64)
	}
	d.latched = make([]bool, nc)
	d.coded = make([]bool, nc)
	if img.Progressive {
		d.nz = make([][]uint64, nc)
		for i := range img.Components {
			c := &img.Components[i]
			d.nz[i] = make([]uint64, c.BlocksWide*c.BlocksHigh)
		}
	}
	d.frame = true
	return nil
}

// compBlocks returns the blocks of a component inside the picture: the blocks a non-interleaved
// scan codes.
func (m *Image) compBlocks(c *Component) (bw, bh int) {
	w := (m.Width*c.H + m.hmax - 1) / m.hmax
	h := (m.Height*c.V + m.vmax - 1) / m.vmax
	return (w + 7) / 8, (h + 7) / 8
}

// scanParams is a parsed SOS header.
type scanParams struct {
	comps          []int // component indexes, in scan order
	td, ta         [4]int
	ss, se, ah, al int
}

func (d *decoder) sos(off int, b []byte) error {
	if !d.frame {
		return malformed(off, "a start-of-scan (SOS) before the frame header (SOF)")
	}
	d.scans++
	if d.scans > MaxScans {
		return fmt.Errorf("%w: dct: JPEG at offset %d: more than %d scans", formats.ErrTooLarge, off, MaxScans)
	}
	img := d.img
	if len(b) < 1 {
		return malformed(off, "empty SOS segment")
	}
	ns := int(b[0])
	if ns < 1 || ns > len(img.Components) {
		return malformed(off, "scan of %d components in a frame of %d", ns, len(img.Components))
	}
	if len(b) != 4+2*ns {
		return malformed(off, "SOS segment of %d bytes for %d components (expected %d)", len(b), ns, 4+2*ns)
	}
	var sp scanParams
	blocksPerMCU := 0
	for i := 0; i < ns; i++ {
		id := b[1+2*i]
		ci := -1
		for j := range img.Components {
			if img.Components[j].ID == id {
				ci = j
			}
		}
		if ci < 0 {
			return malformed(off, "scan names component %d, which the frame does not have", id)
		}
		for _, cj := range sp.comps {
			if cj == ci {
				return malformed(off, "scan names component %d twice", id)
			}
		}
		sp.comps = append(sp.comps, ci)
		sp.td[i], sp.ta[i] = int(b[2+2*i]>>4), int(b[2+2*i]&15)
		if sp.td[i] > 3 || sp.ta[i] > 3 {
			return malformed(off, "scan uses Huffman table %d/%d (0 to 3 exist)", sp.td[i], sp.ta[i])
		}
		c := &img.Components[ci]
		blocksPerMCU += c.H * c.V
	}
	if ns > 1 && blocksPerMCU > 10 {
		return malformed(off, "interleaved scan with %d blocks per MCU (at most 10 allowed)", blocksPerMCU)
	}
	p := b[1+2*ns:]
	sp.ss, sp.se, sp.ah, sp.al = int(p[0]), int(p[1]), int(p[2]>>4), int(p[2]&15)
	if img.Progressive {
		switch {
		case sp.ss > sp.se || sp.se > 63:
			return malformed(off, "progressive scan with spectral selection %d..%d", sp.ss, sp.se)
		case sp.ss == 0 && sp.se != 0:
			return malformed(off, "progressive scan mixes DC and AC coefficients (%d..%d)", sp.ss, sp.se)
		case sp.ss > 0 && ns != 1:
			return malformed(off, "progressive AC scan of %d components (only 1 allowed)", ns)
		case sp.al > 13:
			return malformed(off, "successive approximation bit position Al=%d (at most 13)", sp.al)
		case sp.ah != 0 && sp.ah != sp.al+1:
			return malformed(off, "successive approximation Ah=%d, Al=%d (Ah must be 0 or Al+1)", sp.ah, sp.al)
		}
	} else {
		// T.81 B.2.3 fixes Ss=0, Se=63, Ah=Al=0 for sequential scans; libjpeg and image/jpeg
		// ignore other values, and so do we.
		sp.ss, sp.se, sp.ah, sp.al = 0, 63, 0, 0
	}
	needDC := sp.ss == 0 && sp.ah == 0
	needAC := sp.se > 0
	for i, ci := range sp.comps {
		c := &img.Components[ci]
		if needDC && !d.dc[sp.td[i]].defined {
			return malformed(off, "scan uses DC Huffman table %d, which is not defined", sp.td[i])
		}
		if needAC && !d.ac[sp.ta[i]].defined {
			return malformed(off, "scan uses AC Huffman table %d, which is not defined", sp.ta[i])
		}
		if !d.latched[ci] {
			if !d.qt[c.tq].defined {
				return malformed(off, "component %d uses quantisation table %d, which is not defined", c.ID, c.tq)
			}
			c.Quant = d.qt[c.tq].vals
			d.latched[ci] = true
		}
		if !img.Progressive && d.coded[ci] {
			clear(c.Coeffs) // a sequential scan codes the whole component again
		}
		d.coded[ci] = true
	}
	start := d.pos
	if err := d.scanData(&sp); err != nil {
		if errors.Is(err, formats.ErrMalformed) || errors.Is(err, formats.ErrTooLarge) {
			return err
		}
		return malformed(start, "in the scan starting here: %v", err)
	}
	return nil
}

// finish checks the decoded image at EOI.
func (d *decoder) finish(off int) (*Image, error) {
	if !d.frame {
		return nil, malformed(off, "EOI before a frame header")
	}
	if d.scans == 0 {
		return nil, malformed(off, "EOI before any scan")
	}
	for i, ok := range d.coded {
		if !ok {
			return nil, malformed(off, "component %d is in no scan", d.img.Components[i].ID)
		}
	}
	return d.img, nil
}

// errOverrun is returned when the entropy-coded data ends (at a marker or at the end of the
// file) before the blocks it must code.
var errOverrun = errors.New("the entropy-coded data ends early (truncated or corrupt)")

// scanData decodes the entropy-coded data of one scan, then leaves d.pos at the next marker.
func (d *decoder) scanData(sp *scanParams) error {
	img := d.img
	br := &d.br
	*br = bitReader{data: d.data, pos: d.pos}
	d.pred = [4]int32{}
	d.eobrun = 0
	d.nextRST = 0
	var err error
	if img.Progressive && sp.ss > 0 {
		err = d.acScan(sp)
	} else {
		err = img.walkBlocks(sp.comps, d.ri, d.restart, d.blockFunc(sp))
	}
	if err != nil {
		return err
	}
	if br.overrun() {
		return errOverrun
	}
	d.pos = br.pos
	return nil
}

// restart checks that the restart interval just decoded ended with its data, finds the next
// RSTn marker (which must be the expected one) and resets the decoder state (T.81 F.2.1.3.1,
// G.1.2.2).
func (d *decoder) restart() error {
	br := &d.br
	if br.overrun() {
		return errOverrun
	}
	// Find the marker: skip any bytes left in this interval.
	p := br.pos
	if !br.marker {
		for p < len(d.data) && !isMarkerAt(d.data, p) {
			p++
		}
	}
	for p < len(d.data) && d.data[p] == 0xFF {
		p++
	}
	if p >= len(d.data) {
		return errOverrun
	}
	if want := byte(mRST0 + d.nextRST); d.data[p] != want {
		return fmt.Errorf("expected restart marker FF%02X, found FF%02X at offset %d", want, d.data[p], p)
	}
	d.nextRST = (d.nextRST + 1) & 7
	br.reset()
	br.pos = p + 1
	d.pred = [4]int32{}
	d.eobrun = 0
	return nil
}

// blockFunc returns the decoder of one block for a sequential scan or a progressive DC scan.
func (d *decoder) blockFunc(sp *scanParams) func(i, ci, bi int) error {
	img := d.img
	br := &d.br
	switch {
	case !img.Progressive:
		return func(i, ci, bi int) error {
			if br.overrun() {
				return errOverrun
			}
			c := &img.Components[ci]
			return d.seqBlock(c.Coeffs[bi*64:bi*64+64:bi*64+64], &d.dc[sp.td[i]], &d.ac[sp.ta[i]], &d.pred[i])
		}
	case sp.ah == 0:
		return func(i, ci, bi int) error {
			if br.overrun() {
				return errOverrun
			}
			s, err := br.decode(&d.dc[sp.td[i]])
			if err != nil {
				return err
			}
			if s > 15 {
				return fmt.Errorf("DC difference category %d (at most 15)", s)
			}
			if s > 0 {
				d.pred[i] += br.receiveExtend(uint(s))
			}
			v := d.pred[i] << sp.al
			if v < minDC || v > maxDC || d.pred[i] < minDC || d.pred[i] > maxDC {
				return fmt.Errorf("DC coefficient %d out of range", v)
			}
			img.Components[ci].Coeffs[bi*64] = int16(v)
			return nil
		}
	default:
		return func(i, ci, bi int) error {
			if br.overrun() {
				return errOverrun
			}
			if br.bit() {
				img.Components[ci].Coeffs[bi*64] |= 1 << sp.al
			}
			return nil
		}
	}
}

// acScan decodes a progressive AC scan (one component, blocks inside the picture in raster
// order). Blocks in an end-of-band run are handled in a tight loop: nothing to do in a first
// scan, and in a refinement scan only the blocks with non-zero coefficients in the band, found
// by their masks, read correction bits. So a run costs next to nothing per block.
func (d *decoder) acScan(sp *scanParams) error {
	img := d.img
	br := &d.br
	ci := sp.comps[0]
	c := &img.Components[ci]
	nzs := d.nz[ci]
	h := &d.ac[sp.ta[0]]
	bw, bh := img.compBlocks(c)
	total := bw * bh
	band := bandMask(sp.ss, sp.se)
	p1 := int32(1) << sp.al
	ri := d.ri
	nextRestart := ri
	bx, row := 0, 0 // position of block i in the grid: column and row start index
	for i := 0; i < total; {
		if ri > 0 && i == nextRestart {
			if err := d.restart(); err != nil {
				return err
			}
			nextRestart += ri
		}
		if d.eobrun > 0 {
			// The run covers blocks i to i+n-1, within this restart interval.
			n := min(int(d.eobrun), total-i)
			if ri > 0 {
				n = min(n, nextRestart-i)
			}
			d.eobrun -= int32(n)
			if sp.ah == 0 {
				// A first scan leaves the blocks of a run as they are.
				i += n
				bx, row = i%bw, i/bw*c.BlocksWide
				continue
			}
			for j := 0; j < n; j++ {
				bi := row + bx
				if nzs[bi]&band != 0 {
					blk := c.Coeffs[bi*64 : bi*64+64 : bi*64+64]
					for m := nzs[bi] & band; m != 0; m &= m - 1 {
						if err := refineCoef(br, &blk[bits.TrailingZeros64(m)], p1); err != nil {
							return err
						}
					}
					if br.overrun() {
						return errOverrun
					}
				}
				if bx++; bx == bw {
					bx, row = 0, row+c.BlocksWide
				}
			}
			i += n
			continue
		}
		if br.overrun() {
			return errOverrun
		}
		bi := row + bx
		blk := c.Coeffs[bi*64 : bi*64+64 : bi*64+64]
		var err error
		if sp.ah == 0 {
			err = d.acFirst(blk, &nzs[bi], h, sp, &d.eobrun)
		} else {
			err = d.acRefine(blk, &nzs[bi], h, sp, &d.eobrun)
		}
		if err != nil {
			return err
		}
		if bx++; bx == bw {
			bx, row = 0, row+c.BlocksWide
		}
		i++
	}
	return nil
}

// seqBlock decodes one block of a sequential scan (T.81 F.2.2). It is the hot loop of Decode:
// the bit buffer lives in locals, one refill check serves a code and its extra bits, and the
// AC fast table decodes a short code with its value in one lookup.
func (d *decoder) seqBlock(blk []int16, dc, ac *huffDec, pred *int32) error {
	br := &d.br
	blk = blk[:64:64]
	if br.n < 32 {
		br.fill()
	}
	acc, n := br.acc, br.n
	// DC
	var s uint
	if e := dc.look[acc>>(64-lookBits)]; e != 0 {
		l := uint(e >> 8)
		acc <<= l
		n -= l
		s = uint(e & 0xFF)
	} else {
		sym, l, ok := dc.slow(acc)
		if !ok {
			return errBadCode
		}
		acc <<= l
		n -= l
		s = uint(sym)
	}
	if s > 15 {
		return fmt.Errorf("DC difference category %d (at most 15)", s)
	}
	if s > 0 {
		v := *pred + extend(int32(acc>>(64-s)), s)
		acc <<= s
		n -= s
		if v < minDC || v > maxDC {
			return fmt.Errorf("DC coefficient %d out of range", v)
		}
		*pred = v
	}
	blk[0] = int16(*pred)
	// AC
	for k := 1; k < 64; {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		top := acc >> (64 - lookBits)
		if f := ac.fast[top]; f != 0 {
			l := uint(f & 0xFF)
			acc <<= l
			n -= l
			k += int(f >> 8 & 0xFF)
			if k > 63 {
				return fmt.Errorf("AC run past the end of the block")
			}
			blk[k] = int16(f >> 16)
			k++
			continue
		}
		var rs byte
		if e := ac.look[top]; e != 0 {
			l := uint(e >> 8)
			acc <<= l
			n -= l
			rs = byte(e)
		} else {
			sym, l, ok := ac.slow(acc)
			if !ok {
				return errBadCode
			}
			acc <<= l
			n -= l
			rs = sym
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break // EOB (image/jpeg and libjpeg read any r/0 with r < 15 as EOB too)
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			return fmt.Errorf("AC run past the end of the block")
		}
		blk[k] = int16(extend(int32(acc>>(64-s)), s))
		acc <<= s
		n -= s
		k++
	}
	br.acc, br.n = acc, n
	return nil
}

// acFirst decodes one block of a progressive AC first scan (T.81 G.1.2.2).
func (d *decoder) acFirst(blk []int16, nz *uint64, ac *huffDec, sp *scanParams, eobrun *int32) error {
	br := &d.br
	for k := sp.ss; k <= sp.se; {
		rs, err := br.decode(ac)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				run := int32(1) << r
				if r > 0 {
					if br.n < 16 {
						br.fill()
					}
					run += br.bits(uint(r))
				}
				*eobrun = run - 1
				return nil
			}
			k += 16
			continue
		}
		k += r
		if k > sp.se {
			return fmt.Errorf("AC run past the end of the spectral band")
		}
		v := br.receiveExtend(s) << sp.al
		if v < -maxAC || v > maxAC {
			return fmt.Errorf("AC coefficient %d out of range", v)
		}
		blk[k] = int16(v)
		*nz |= 1 << k
		k++
	}
	return nil
}

// refineCoef applies one correction bit to a non-zero coefficient (T.81 G.1.2.3).
func refineCoef(br *bitReader, c *int16, p1 int32) error {
	if !br.bit() {
		return nil
	}
	v := int32(*c)
	if v&p1 != 0 {
		return nil
	}
	if v >= 0 {
		v += p1
	} else {
		v -= p1
	}
	if v < -maxAC || v > maxAC {
		return fmt.Errorf("AC coefficient %d out of range", v)
	}
	*c = int16(v)
	return nil
}

// acRefine decodes one block of a progressive AC refinement scan (T.81 G.1.2.3).
func (d *decoder) acRefine(blk []int16, nz *uint64, ac *huffDec, sp *scanParams, eobrun *int32) error {
	br := &d.br
	p1 := int32(1) << sp.al
	k := sp.ss
	if *eobrun == 0 {
		for ; k <= sp.se; k++ {
			rs, err := br.decode(ac)
			if err != nil {
				return err
			}
			r, s := int(rs>>4), uint(rs&15)
			var v int32
			switch s {
			case 0:
				if r != 15 {
					run := int32(1) << r
					if r > 0 {
						if br.n < 16 {
							br.fill()
						}
						run += br.bits(uint(r))
					}
					*eobrun = run
					goto eob
				}
			case 1:
				v = p1
				if !br.bit() {
					v = -p1
				}
			default:
				return fmt.Errorf("refinement scan with coefficient size %d (only 1 allowed)", s)
			}
			// Pass r coefficients with a zero history, correcting the non-zero ones on the way,
			// and stop at the next zero one, which becomes v (or is passed too, for ZRL). The
			// mask of non-zero coefficients finds them without testing each one.
			zeros := ^*nz & bandMask(k, sp.se)
			for ; r > 0 && zeros != 0; r-- {
				zeros &= zeros - 1
			}
			t := sp.se + 1
			if zeros != 0 {
				t = bits.TrailingZeros64(zeros)
			}
			for m := *nz & bandMask(k, t-1); m != 0; m &= m - 1 {
				if err := refineCoef(br, &blk[bits.TrailingZeros64(m)], p1); err != nil {
					return err
				}
			}
			k = t
			if v != 0 {
				if k > sp.se {
					return fmt.Errorf("refinement run past the end of the spectral band")
				}
				blk[k] = int16(v)
				*nz |= 1 << k
			}
		}
		return nil
	}
eob:
	// The rest of the band is in an end-of-band run: correct its non-zero coefficients.
	for m := *nz & bandMask(k, sp.se); m != 0; m &= m - 1 {
		if err := refineCoef(br, &blk[bits.TrailingZeros64(m)], p1); err != nil {
			return err
		}
	}
	*eobrun--
	return nil
}

// isMarkerAt reports whether a marker (FF then a code other than 00 and FF) starts at p.
func isMarkerAt(b []byte, p int) bool {
	return b[p] == 0xFF && p+1 < len(b) && b[p+1] != 0 && b[p+1] != 0xFF
}

// bandMask returns a mask with bits lo to hi set (none when hi < lo; 0 <= lo, hi <= 63).
func bandMask(lo, hi int) uint64 {
	if hi < lo {
		return 0
	}
	return (^uint64(0) >> (63 - hi)) &^ (1<<lo - 1)
}
