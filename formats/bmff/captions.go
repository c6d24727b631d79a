package bmff

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ailabel/ailabel/formats"
)

const (
	// MaxCaptions bounds the number of captions one Layout writes.
	MaxCaptions = 4096
	// MaxCaptionLanguages bounds the number of caption tracks one Layout adds.
	MaxCaptionLanguages = 64
	// MaxMediaText bounds each user-data metadata string.
	MaxMediaText = 32 << 10
	// captionTimescale is the media timescale of the caption tracks (milliseconds).
	captionTimescale = 1000
	// handlerName names the caption tracks this package writes (players may show it as the
	// track's title); a later Layout with captions replaces the tracks that carry it.
	handlerName = "AI-generated content warning"
)

// extras is what a Layout adds to a movie besides the C2PA and XMP boxes: a caption mdat placed
// right after the store slot, and new boxes in moov (caption traks, a merged udta).
type extras struct {
	moov    int // index of the moov box in f.boxes
	mdat    []byte
	mdatOff uint64 // output offset of the caption mdat, set before post runs
	tracks  []captionTrack
	media   *formats.MediaInfo
	mov     bool   // QuickTime: text handler, ©-atoms in udta
	nextID  uint32 // first new track ID
	group   uint16 // alternate group shared by the caption tracks
	width   uint32 // 16.16, from the first visual track
	height  uint32
	movieTS uint32       // mvhd timescale
	movieD  uint64       // mvhd duration in the movie timescale
	delta   int64        // bytes post adds to moov
	drop    map[int]bool // moov children (by position): earlier caption traks to remove
	dropBox []int        // top-level boxes: the earlier caption mdat
}

// captionTrack is one language's samples.
type captionTrack struct {
	lang  string   // ISO 639-2/T
	sizes []uint32 // sample sizes
	durs  []uint32 // sample durations in ms
	off   uint64   // offset of the first sample within the caption mdat
}

// iso639 maps common two-letter BCP 47 primary subtags to ISO 639-2/T codes.
var iso639 = map[string]string{
	"kk": "kaz", "ru": "rus", "en": "eng", "zh": "zho", "uz": "uzb", "ky": "kir", "tg": "tgk",
	"tk": "tuk", "uk": "ukr", "be": "bel", "de": "deu", "fr": "fra", "es": "spa", "it": "ita",
	"pt": "por", "ar": "ara", "tr": "tur", "fa": "fas", "hi": "hin", "ja": "jpn", "ko": "kor",
	"pl": "pol", "nl": "nld", "az": "aze", "hy": "hye", "ka": "kat", "mn": "mon", "id": "ind",
	"vi": "vie", "th": "tha", "he": "heb", "el": "ell", "cs": "ces", "sv": "swe", "fi": "fin",
}

// langCode returns the ISO 639-2/T code for a BCP 47 tag ("und" when unknown).
func langCode(tag string) string {
	p := strings.ToLower(tag)
	if i := strings.IndexAny(p, "-_"); i >= 0 {
		p = p[:i]
	}
	if c, ok := iso639[p]; ok {
		return c
	}
	if len(p) == 3 && strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") == "" {
		return p
	}
	return "und"
}

// packLang packs a three-letter code as mdhd's 15-bit language field.
func packLang(c string) uint16 {
	return uint16(c[0]-0x60)<<10 | uint16(c[1]-0x60)<<5 | uint16(c[2]-0x60)
}

func mkBox(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	out := make([]byte, 0, n)
	out = binary.BigEndian.AppendUint32(out, uint32(n))
	out = append(out, typ...)
	for _, p := range payload {
		out = append(out, p...)
	}
	return out
}

func mkFull(typ string, v byte, flags uint32, payload ...[]byte) []byte {
	vf := binary.BigEndian.AppendUint32(nil, uint32(v)<<24|flags&0xFFFFFF)
	return mkBox(typ, append([][]byte{vf}, payload...)...)
}

func be32(v ...uint32) []byte {
	var out []byte
	for _, x := range v {
		out = binary.BigEndian.AppendUint32(out, x)
	}
	return out
}

// children lists the child boxes of a container payload p; trailing bytes too few for a box
// header (QuickTime's zero terminator) are returned as rest.
func children(p []byte) (kids [][]byte, rest []byte, err error) {
	for len(p) >= 8 {
		size, _, ok := boxHeader(p)
		if !ok {
			return nil, nil, fmt.Errorf("child box %q has a bad size", p[4:8])
		}
		kids = append(kids, p[:size])
		p = p[size:]
	}
	return kids, p, nil
}

// payload returns a box's bytes after its header (and after version/flags when full).
func payload(b []byte, full bool) []byte {
	_, hl, ok := boxHeader(b)
	if !ok {
		return nil
	}
	p := b[hl:]
	if full {
		if len(p) < 4 {
			return nil
		}
		p = p[4:]
	}
	return p
}

// find returns the first child of type typ in a container payload, or nil.
func find(p []byte, typ string) []byte {
	kids, _, err := children(p)
	if err != nil {
		return nil
	}
	for _, k := range kids {
		if string(k[4:8]) == typ {
			return k
		}
	}
	return nil
}

// planExtras checks the edit's captions and media metadata against the movie and prepares
// what Layout adds. It returns nil when there is nothing to add or the file has no movie box
// (HEIF, AVIF), which ignore both.
func (f *file) planExtras(e formats.Edit, frag bool) (*extras, error) {
	if len(e.Captions) == 0 && e.Media == nil {
		return nil, nil
	}
	moov := -1
	for i, b := range f.boxes {
		if string(b.typ[:]) == "moov" {
			moov = i
			break
		}
	}
	if moov < 0 {
		return nil, nil
	}
	if len(e.Captions) > 0 && frag {
		return nil, fmt.Errorf("%s: caption tracks cannot be added to a fragmented movie (its samples live in movie fragments); label it without captions: %w", f.format.Name, formats.ErrUnsupported)
	}
	if len(e.Captions) > MaxCaptions {
		return nil, fmt.Errorf("%d captions (limit %d): %w", len(e.Captions), MaxCaptions, formats.ErrTooLarge)
	}
	if m := e.Media; m != nil && (len(m.Title) > MaxMediaText || len(m.Comment) > MaxMediaText || len(m.Description) > MaxMediaText) {
		return nil, fmt.Errorf("media metadata longer than %d bytes: %w", MaxMediaText, formats.ErrTooLarge)
	}
	b := f.boxes[moov]
	if b.size > MaxRewriteLen {
		return nil, fmt.Errorf("moov box at offset %d is %d bytes, more than the %d this writer rewrites in memory: %w", b.off, b.size, MaxRewriteLen, formats.ErrTooLarge)
	}
	buf, err := readAt(f.r, b.off, b.size)
	if err != nil {
		return nil, fmt.Errorf("reading the moov box at offset %d: %w", b.off, err)
	}
	x := &extras{moov: moov, media: e.Media, mov: f.format != nil && f.format.Name == "mov"}
	kids, _, err := children(buf[b.hlen:])
	if err != nil {
		return nil, fmt.Errorf("moov box at offset %d: %v: %w", b.off, err, formats.ErrMalformed)
	}
	var maxID uint32
	x.drop = map[int]bool{}
	for pos, k := range kids {
		switch string(k[4:8]) {
		case "mvhd":
			p := payload(k, false)
			if len(p) < 4 {
				return nil, fmt.Errorf("mvhd in the moov box at offset %d is too short: %w", b.off, formats.ErrMalformed)
			}
			switch {
			case p[0] == 0 && len(p) >= 100:
				x.movieTS = binary.BigEndian.Uint32(p[12:])
				x.movieD = uint64(binary.BigEndian.Uint32(p[16:]))
				x.nextID = binary.BigEndian.Uint32(p[96:])
			case p[0] == 1 && len(p) >= 112:
				x.movieTS = binary.BigEndian.Uint32(p[20:])
				x.movieD = binary.BigEndian.Uint64(p[24:])
				x.nextID = binary.BigEndian.Uint32(p[108:])
			default:
				return nil, fmt.Errorf("mvhd version %d of %d bytes in the moov box at offset %d: %w", p[0], len(p), b.off, formats.ErrMalformed)
			}
		case "trak":
			tk := find(payload(k, false), "tkhd")
			p := payload(tk, false)
			var id uint32
			var rest []byte // from layer on
			switch {
			case len(p) >= 84 && p[0] == 0:
				id, rest = binary.BigEndian.Uint32(p[12:]), p[32:]
			case len(p) >= 96 && p[0] == 1:
				id, rest = binary.BigEndian.Uint32(p[20:]), p[44:]
			default:
				continue
			}
			maxID = max(maxID, id)
			if len(e.Captions) > 0 && ours(k) {
				x.drop[pos] = true
				continue
			}
			x.group = max(x.group, binary.BigEndian.Uint16(rest[2:]))
			if w, h := binary.BigEndian.Uint32(rest[44:]), binary.BigEndian.Uint32(rest[48:]); x.width == 0 && w != 0 && h != 0 {
				x.width, x.height = w, h
			}
		}
	}
	if x.movieTS == 0 {
		return nil, fmt.Errorf("moov box at offset %d has no usable mvhd: %w", b.off, formats.ErrMalformed)
	}
	if x.nextID <= maxID || x.nextID == math.MaxUint32 {
		x.nextID = maxID + 1
	}
	x.group++
	if len(x.drop) > 0 {
		x.dropBox = f.captionMdats(kids, x.drop)
	}
	if err := x.planCaptions(e.Captions); err != nil {
		return nil, err
	}
	if uint64(x.nextID)+uint64(len(x.tracks)) >= math.MaxUint32 {
		return nil, fmt.Errorf("moov box at offset %d: no track IDs left for %d caption tracks: %w", b.off, len(x.tracks), formats.ErrUnsupported)
	}
	nb, err := x.post(buf)
	if err != nil {
		return nil, fmt.Errorf("moov box at offset %d: %w", b.off, err)
	}
	x.delta = int64(len(nb)) - int64(len(buf))
	return x, nil
}

// planCaptions groups the captions by language and lays out their samples in the caption
// mdat: for each language, an empty sample for every gap and one sample per caption.
func (x *extras) planCaptions(caps []formats.Caption) error {
	if len(caps) == 0 {
		return nil
	}
	total := time.Duration(float64(x.movieD) / float64(x.movieTS) * float64(time.Second))
	if total <= 0 {
		return fmt.Errorf("the movie has no duration to place captions in: %w", formats.ErrUnsupported)
	}
	var order []string
	byLang := map[string][]formats.Caption{}
	for _, c := range caps {
		if len(c.Text) > math.MaxUint16-2 {
			return fmt.Errorf("caption of %d bytes (limit %d): %w", len(c.Text), math.MaxUint16-2, formats.ErrTooLarge)
		}
		if c.Start < 0 || c.Duration < 0 {
			return fmt.Errorf("caption in %q has a negative start or duration: %w", c.Lang, formats.ErrUnsupported)
		}
		l := langCode(c.Lang)
		if _, ok := byLang[l]; !ok {
			order = append(order, l)
		}
		byLang[l] = append(byLang[l], c)
	}
	if len(order) > MaxCaptionLanguages {
		return fmt.Errorf("captions in %d languages (limit %d): %w", len(order), MaxCaptionLanguages, formats.ErrTooLarge)
	}
	ms := func(d time.Duration) uint64 { return uint64(d / time.Millisecond) }
	end := ms(total)
	mdat := []byte{0, 0, 0, 0, 'm', 'd', 'a', 't'}
	sample := func(t *captionTrack, text string, d uint64) {
		mdat = binary.BigEndian.AppendUint16(mdat, uint16(len(text)))
		mdat = append(mdat, text...)
		t.sizes = append(t.sizes, uint32(2+len(text)))
		t.durs = append(t.durs, uint32(d))
	}
	for _, l := range order {
		cs := byLang[l]
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].Start < cs[j].Start })
		t := captionTrack{lang: l, off: uint64(len(mdat))}
		var at uint64
		for _, c := range cs {
			s := ms(c.Start)
			if s < at {
				return fmt.Errorf("captions in %q overlap at %v: %w", c.Lang, c.Start, formats.ErrUnsupported)
			}
			if s >= end {
				continue
			}
			if s > at {
				sample(&t, "", s-at)
			}
			e := end
			if c.Duration > 0 {
				e = min(end, s+max(1, ms(c.Duration)))
			}
			sample(&t, c.Text, e-s)
			at = e
		}
		if len(t.sizes) == 0 {
			continue
		}
		if at < end {
			sample(&t, "", end-at)
		}
		x.tracks = append(x.tracks, t)
	}
	if len(mdat) > math.MaxUint32 {
		return fmt.Errorf("captions of %d bytes: %w", len(mdat), formats.ErrTooLarge)
	}
	binary.BigEndian.PutUint32(mdat, uint32(len(mdat)))
	if len(x.tracks) > 0 {
		x.mdat = mdat
	}
	return nil
}

// post returns moov (already re-pointed by the rewriter) with mvhd's next_track_ID bumped, the
// caption traks appended after the last trak, and udta merged with the media metadata.
func (x *extras) post(moov []byte) ([]byte, error) {
	size, hl, ok := boxHeader(moov)
	if !ok || size != uint64(len(moov)) {
		return nil, fmt.Errorf("moov box has a bad size: %w", formats.ErrMalformed)
	}
	kids, rest, err := children(moov[hl:])
	if err != nil {
		return nil, fmt.Errorf("moov box: %v: %w", err, formats.ErrMalformed)
	}
	lastTrak, udta := -1, -1
	for i, k := range kids {
		switch string(k[4:8]) {
		case "trak":
			lastTrak = i
		case "udta":
			if udta < 0 {
				udta = i
			}
		}
	}
	out := append([]byte(nil), moov[:hl]...)
	addTraks := func() {
		for i := range x.tracks {
			out = append(out, x.trak(i)...)
		}
	}
	if lastTrak < 0 {
		addTraks()
	}
	for i, k := range kids {
		switch {
		case string(k[4:8]) == "mvhd" && len(x.tracks) > 0:
			k = append([]byte(nil), k...)
			_, khl, _ := boxHeader(k)
			at := khl + 96
			if k[khl] == 1 {
				at = khl + 108
			}
			if at+4 <= len(k) {
				binary.BigEndian.PutUint32(k[at:], x.nextID+uint32(len(x.tracks)))
			}
		case i == udta && x.media != nil:
			nk, err := x.mergeUdta(k)
			if err != nil {
				return nil, err
			}
			k = nk
		case x.drop[i]:
			k = nil
		}
		out = append(out, k...)
		if i == lastTrak {
			addTraks()
		}
	}
	if udta < 0 && x.media != nil {
		nk, err := x.mergeUdta(nil)
		if err != nil {
			return nil, err
		}
		out = append(out, nk...)
	}
	out = append(out, rest...)
	if err := setSize(out, moov, hl); err != nil {
		return nil, fmt.Errorf("moov box: %v: %w", err, formats.ErrTooLarge)
	}
	return out, nil
}

// trak builds caption track i.
func (x *extras) trak(i int) []byte {
	t := &x.tracks[i]
	var durMS uint64
	for _, d := range t.durs {
		durMS += uint64(d)
	}
	movieD := durMS * uint64(x.movieTS) / captionTimescale
	flags := uint32(2) // in movie
	if i == 0 {
		flags |= 1 // enabled: the one track of the alternate group shown by default
	}
	matrix := be32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
	tail := append(be32(0, 0), 0, 0) // reserved, layer
	tail = binary.BigEndian.AppendUint16(tail, x.group)
	tail = append(tail, 0, 0, 0, 0) // volume, reserved
	tail = append(tail, matrix...)
	tail = append(tail, be32(x.width, x.height)...)
	var tkhd []byte
	id := x.nextID + uint32(i)
	if movieD > math.MaxUint32 {
		tkhd = mkFull("tkhd", 1, flags, be32(0, 0, 0, 0, id, 0), binary.BigEndian.AppendUint64(nil, movieD), tail)
	} else {
		tkhd = mkFull("tkhd", 0, flags, be32(0, 0, id, 0, uint32(movieD)), tail)
	}
	lang := binary.BigEndian.AppendUint16(nil, packLang(t.lang))
	mdhd := mkFull("mdhd", 0, 0, be32(0, 0, captionTimescale, uint32(min(durMS, math.MaxUint32))), lang, []byte{0, 0})

	// sample entry: the mov_text default style ffmpeg writes (bottom centre, Arial)
	entry := []byte{0, 0, 0, 0, 0, 0, 0, 1} // reserved, data_reference_index 1
	entry = append(entry, be32(0)...)       // display flags
	entry = append(entry, 1, 0xFF)          // horizontal centre, vertical bottom
	entry = append(entry, be32(0, 0, 0)...) // background RGBA, default text box
	entry = append(entry, 0, 0, 0, 0, 0, 1, 0, 0x10, 0xFF, 0xFF, 0xFF, 0xFF)
	entry = append(entry, mkBox("ftab", []byte{0, 1, 0, 1, 5}, []byte("Arial"))...)
	name, typ := "tx3g", "sbtl"
	if x.mov {
		name, typ = "text", "text"
	}
	stsd := mkFull("stsd", 0, 0, be32(1), mkBox(name, entry))
	var stts []byte
	runs := 0
	for j, d := range t.durs {
		if j > 0 && d == t.durs[j-1] {
			binary.BigEndian.PutUint32(stts[len(stts)-8:], binary.BigEndian.Uint32(stts[len(stts)-8:])+1)
			continue
		}
		stts = append(stts, be32(1, d)...)
		runs++
	}
	stsz := be32(0, uint32(len(t.sizes)))
	stsz = append(stsz, be32(t.sizes...)...)
	stbl := mkBox("stbl", stsd,
		mkFull("stts", 0, 0, be32(uint32(runs)), stts),
		mkFull("stsc", 0, 0, be32(1, 1, uint32(len(t.sizes)), 1)),
		mkFull("stsz", 0, 0, stsz),
		mkFull("stco", 0, 0, be32(1, uint32(x.mdatOff+t.off))))
	dinf := mkBox("dinf", mkFull("dref", 0, 0, be32(1), mkFull("url ", 0, 1)))
	var hdlr, minf []byte
	if x.mov {
		hdlr = mkFull("hdlr", 0, 0, []byte("mhlrtext"), make([]byte, 12), []byte{byte(len(handlerName))}, []byte(handlerName))
		gmhd := mkBox("gmhd",
			mkFull("gmin", 0, 0, []byte{0, 0x40, 0x80, 0, 0x80, 0, 0x80, 0, 0, 0, 0, 0}),
			mkBox("text", matrix))
		dhlr := mkFull("hdlr", 0, 0, []byte("dhlrurl "), make([]byte, 12), []byte("\x0bDataHandler"))
		minf = mkBox("minf", gmhd, dhlr, dinf, stbl)
	} else {
		hdlr = mkFull("hdlr", 0, 0, be32(0), []byte(typ), make([]byte, 12), []byte(handlerName+"\x00"))
		minf = mkBox("minf", mkFull("nmhd", 0, 0), dinf, stbl)
	}
	parts := [][]byte{tkhd, mkBox("mdia", mdhd, hdlr, minf)}
	if i == 0 {
		// ffmpeg's -disposition forced, read back by its mov demuxer as forced=1
		parts = append(parts, mkBox("udta", mkFull("kind", 0, 0, []byte("urn:mpeg:dash:role:2011\x00forced-subtitle\x00"))))
	}
	return mkBox("trak", parts...)
}

// mergeUdta returns udta (nil for none) with the media metadata set. MP4 gets items of an
// iTunes-style meta/ilst (©nam, ©cmt, desc), which is what ffmpeg writes and reads. MOV gets
// QuickTime's ©nam/©cmt/©des atoms; ffmpeg's demuxer ignores ©des, so the description also goes
// into an ilst "desc" item there. Other entries are kept; entries the metadata replaces are
// dropped.
func (x *extras) mergeUdta(udta []byte) ([]byte, error) {
	m := x.media
	if len(m.Keys) > 0 {
		return x.mdtaUdta(udta)
	}
	var atoms, ilst []metaItem
	for _, it := range []metaItem{{"\xa9nam", m.Title}, {"\xa9cmt", m.Comment}, {"desc", m.Description}} {
		switch {
		case it.val == "":
		case !x.mov:
			ilst = append(ilst, it)
		case it.key == "desc":
			atoms = append(atoms, metaItem{"\xa9des", it.val})
			ilst = append(ilst, it)
		default:
			atoms = append(atoms, it)
		}
	}
	inIlst := func(typ string) bool {
		for _, it := range ilst {
			if it.key == typ {
				return true
			}
		}
		return false
	}
	atom := func(typ string) bool { // a udta atom the metadata replaces
		for _, it := range append(atoms, ilst...) {
			if it.key == typ || (it.key == "desc" && typ == "\xa9des") {
				return true
			}
		}
		return false
	}
	var kids [][]byte
	var rest []byte
	if udta != nil {
		var err error
		kids, rest, err = children(payload(udta, false))
		if err != nil {
			return nil, fmt.Errorf("moov/udta: %v: %w", err, formats.ErrMalformed)
		}
	}
	var out [][]byte
	merged := len(ilst) == 0
	for _, k := range kids {
		typ := string(k[4:8])
		if typ != "meta" && atom(typ) {
			continue
		}
		if typ == "meta" && !merged {
			if nk, ok := mergeIlst(k, inIlst, ilst); ok {
				out = append(out, nk)
				merged = true
				continue
			}
		}
		out = append(out, k)
	}
	for _, it := range atoms {
		p := binary.BigEndian.AppendUint16(nil, uint16(len(it.val)))
		p = binary.BigEndian.AppendUint16(p, packLang("und"))
		out = append(out, mkBox(it.key, p, []byte(it.val)))
	}
	if !merged {
		var items [][]byte
		for _, it := range ilst {
			items = append(items, ilstItem(it.key, it.val))
		}
		out = append(out, mkFull("meta", 0, 0, mdirHdlr(), mkBox("ilst", items...)))
	}
	out = append(out, rest)
	return mkBox("udta", out...), nil
}

// mdtaUdta returns udta with its meta box replaced by QuickTime metadata keys (handler mdta):
// the input's metadata items, then title, comment, description and the media's Keys, as ffmpeg
// writes with use_metadata_tags (China's TC260 guide puts its AIGC label there). The input's
// items are carried over whole (iTunes-style items under ffmpeg's names for them: artist, encoder,
// …), except those ours replace. Other udta entries are kept.
func (x *extras) mdtaUdta(udta []byte) ([]byte, error) {
	m := x.media
	var ours []formats.MetaKey
	for _, it := range []formats.MetaKey{{Key: "title", Value: m.Title}, {Key: "comment", Value: m.Comment}, {Key: "description", Value: m.Description}} {
		if it.Value != "" {
			ours = append(ours, it)
		}
	}
	ours = append(ours, m.Keys...)
	replaced := func(key string) bool {
		for _, o := range ours {
			if o.Key == key {
				return true
			}
		}
		return false
	}
	var keys, ilst [][]byte
	add := func(key string, data ...[]byte) error {
		if len(key) == 0 || len(key) > 255 || len(keys) >= 1<<16 {
			return fmt.Errorf("metadata key %q: a key of 1-255 bytes, at most 65536 keys: %w", key, formats.ErrTooLarge)
		}
		keys = append(keys, mkBox("mdta", []byte(key)))
		ilst = append(ilst, mkBox(string(be32(uint32(len(keys)))), data...))
		return nil
	}
	var out [][]byte
	if udta != nil {
		kids, rest, err := children(payload(udta, false))
		if err != nil {
			return nil, fmt.Errorf("moov/udta: %v: %w", err, formats.ErrMalformed)
		}
		for _, k := range kids {
			switch string(k[4:8]) {
			case "meta":
				for _, it := range metaItems(k) {
					if !replaced(it.key) {
						if err := add(it.key, it.data...); err != nil {
							return nil, err
						}
					}
				}
				continue
			case "\xa9nam", "\xa9cmt", "\xa9des":
				continue // replaced by the keys
			}
			out = append(out, k)
		}
		out = append(out, rest)
	}
	for _, it := range ours {
		if len(it.Value) > 1<<20 {
			return nil, fmt.Errorf("metadata key %q: value over 1 MiB: %w", it.Key, formats.ErrTooLarge)
		}
		if err := add(it.Key, mkBox("data", be32(1, 0), []byte(it.Value))); err != nil {
			return nil, err
		}
	}
	hdlr := mkFull("hdlr", 0, 0, be32(0), []byte("mdta"), be32(0, 0, 0), []byte{0})
	meta := mkFull("meta", 0, 0, hdlr, mkFull("keys", 0, 0, append([][]byte{be32(uint32(len(keys)))}, keys...)...), mkBox("ilst", ilst...))
	out = append(out, meta)
	return mkBox("udta", out...), nil
}

// itunesNames are ffmpeg's names for iTunes-style metadata items, used as QuickTime keys when
// an input's mdir items are carried into an mdta meta box.
var itunesNames = map[string]string{
	"\xa9nam": "title", "\xa9ART": "artist", "aART": "album_artist", "\xa9alb": "album", "\xa9cmt": "comment",
	"desc": "description", "ldes": "synopsis", "\xa9day": "date", "\xa9gen": "genre", "\xa9too": "encoder",
	"cprt": "copyright", "\xa9wrt": "composer", "\xa9grp": "grouping", "\xa9lyr": "lyrics", "\xa9enc": "encoded_by",
	"tvsh": "show", "tven": "episode_id", "tvnn": "network", "\xa9xyz": "location",
}

// carriedItem is an item of an input's meta box: its key and its data boxes, kept whole.
type carriedItem struct {
	key  string
	data [][]byte
}

// metaItems lists the items of a meta box with handler mdir (keys from itunesNames, else the
// item's four-character code) or mdta (keys from its keys box). Damaged boxes yield what was
// read before the damage.
func metaItems(meta []byte) []carriedItem {
	p := payload(meta, true)
	if p == nil {
		return nil
	}
	hdlr := payload(find(p, "hdlr"), true)
	if len(hdlr) < 8 {
		return nil
	}
	var names []string
	switch string(hdlr[4:8]) {
	case "mdir":
	case "mdta":
		kp := payload(find(p, "keys"), true)
		if len(kp) < 4 {
			return nil
		}
		rest := kp[4:]
		for n := binary.BigEndian.Uint32(kp); n > 0 && len(rest) >= 8; n-- {
			size := binary.BigEndian.Uint32(rest)
			if size < 8 || uint64(size) > uint64(len(rest)) {
				break
			}
			names = append(names, string(rest[8:size]))
			rest = rest[size:]
		}
	default:
		return nil
	}
	items, _, err := children(payload(find(p, "ilst"), false))
	if err != nil {
		return nil
	}
	var out []carriedItem
	for _, it := range items {
		typ := string(it[4:8])
		key := typ
		if names != nil {
			idx := binary.BigEndian.Uint32(it[4:8])
			if idx == 0 || uint64(idx) > uint64(len(names)) {
				continue
			}
			key = names[idx-1]
		} else if n, ok := itunesNames[typ]; ok {
			key = n
		} else {
			key = strings.ToValidUTF8(strings.Map(func(r rune) rune {
				if r < 0x20 {
					return -1
				}
				return r
			}, string([]rune{rune(typ[0]), rune(typ[1]), rune(typ[2]), rune(typ[3])})), "")
		}
		kids, _, err := children(payload(it, false))
		if err != nil {
			continue
		}
		var data [][]byte
		for _, k := range kids {
			if string(k[4:8]) == "data" {
				data = append(data, k)
			}
		}
		if len(data) > 0 && key != "" {
			out = append(out, carriedItem{key, data})
		}
	}
	return out
}

// metaItem is one user-data metadata entry: its box type and UTF-8 value.
type metaItem struct{ key, val string }

func mdirHdlr() []byte {
	return mkFull("hdlr", 0, 0, be32(0), []byte("mdirappl"), be32(0, 0), []byte{0})
}

func ilstItem(key, val string) []byte {
	return mkBox(key, mkBox("data", be32(1, 0), []byte(val)))
}

// mergeIlst rebuilds an iTunes-style meta box (full box, hdlr "mdir") with the items of its
// ilst that replaced does not name, followed by items. ok is false for any other meta box.
func mergeIlst(meta []byte, replaced func(string) bool, items []metaItem) ([]byte, bool) {
	p := payload(meta, true)
	kids, rest, err := children(p)
	if err != nil || len(kids) == 0 {
		return nil, false
	}
	h := kids[0]
	if string(h[4:8]) != "hdlr" || len(h) < 20 || string(h[16:20]) != "mdir" {
		return nil, false
	}
	var out [][]byte
	done := false
	for _, k := range kids {
		if string(k[4:8]) != "ilst" || done {
			out = append(out, k)
			continue
		}
		its, _, err := children(payload(k, false))
		if err != nil {
			return nil, false
		}
		var keep [][]byte
		for _, it := range its {
			if !replaced(string(it[4:8])) {
				keep = append(keep, it)
			}
		}
		for _, it := range items {
			keep = append(keep, ilstItem(it.key, it.val))
		}
		out = append(out, mkBox("ilst", keep...))
		done = true
	}
	if !done {
		return nil, false
	}
	out = append(out, rest)
	return mkFull("meta", 0, 0, out...), true
}

// ours reports whether a trak is a caption track this package wrote (its mdia/hdlr name).
func ours(trak []byte) bool {
	h := find(payload(find(payload(trak, false), "mdia"), false), "hdlr")
	p := payload(h, true)
	if len(p) < 20 {
		return false
	}
	name := p[20:]
	if len(name) > 0 && int(name[0]) == len(name)-1 { // QuickTime's Pascal string
		name = name[1:]
	}
	return strings.TrimRight(string(name), "\x00") == handlerName
}

// chunkOffsets calls fn with every stco/co64 entry of a trak.
func chunkOffsets(trak []byte, fn func(uint64)) {
	minf := find(payload(find(payload(trak, false), "mdia"), false), "minf")
	st := payload(find(payload(minf, false), "stbl"), false)
	for _, typ := range []string{"stco", "co64"} {
		p := payload(find(st, typ), true)
		if len(p) < 4 {
			continue
		}
		w := 4
		if typ == "co64" {
			w = 8
		}
		n := uint64(binary.BigEndian.Uint32(p))
		p = p[4:]
		if n > uint64(len(p)/w) {
			n = uint64(len(p) / w)
		}
		for i := 0; i < int(n); i++ {
			if w == 4 {
				fn(uint64(binary.BigEndian.Uint32(p[i*4:])))
			} else {
				fn(binary.BigEndian.Uint64(p[i*8:]))
			}
		}
	}
}

// captionMdats returns the top-level mdat boxes that hold chunks of the dropped caption traks
// and of no other trak: the caption mdat an earlier Layout wrote, removed with its tracks.
func (f *file) captionMdats(kids [][]byte, drop map[int]bool) []int {
	var cands []int
	in := func(off uint64) int {
		for j, i := range cands {
			if b := f.boxes[i]; off >= uint64(b.off) && off < uint64(b.end()) {
				return j
			}
		}
		return -1
	}
	for pos, k := range kids {
		if !drop[pos] {
			continue
		}
		chunkOffsets(k, func(off uint64) {
			if in(off) >= 0 {
				return
			}
			i := sort.Search(len(f.boxes), func(i int) bool { return uint64(f.boxes[i].off) > off }) - 1
			if i > 0 && string(f.boxes[i].typ[:]) == "mdat" && off < uint64(f.boxes[i].end()) && len(cands) < MaxCaptionLanguages {
				cands = append(cands, i)
			}
		})
	}
	shared := make([]bool, len(cands))
	for pos, k := range kids {
		if drop[pos] || string(k[4:8]) != "trak" || len(cands) == 0 {
			continue
		}
		chunkOffsets(k, func(off uint64) {
			if j := in(off); j >= 0 {
				shared[j] = true
			}
		})
	}
	var out []int
	for j, i := range cands {
		if !shared[j] {
			out = append(out, i)
		}
	}
	return out
}
