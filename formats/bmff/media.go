package bmff

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/ailabel/ailabel/formats"
)

// MediaDigestVersion is the first byte of a media digest (MediaDigest).
const MediaDigestVersion = 1

// Limits of MediaDigest.
const (
	maxDigestSamples = 1 << 28 // samples (or chunks) of one track
	maxDigestTracks  = 64      // tracks digested
)

// MediaDigest returns a digest of the movie's audio and video samples that stays the same when
// the file's metadata is stripped, a C2PA manifest or caption tracks are added or removed, or
// the samples are remuxed into another interleaving or another ISO BMFF container: byte 1
// (MediaDigestVersion), then SHA-256 over the sorted SHA-256 digests of each audio ("soun") and
// video ("vide") track's samples, taken in decoding order from its sample tables (stsz, stsc,
// stco/co64). It implements formats.MediaDigester. Time is linear in the number of samples and
// chunks, memory is bounded by the sample tables. A fragmented movie (mvex), a file without a
// movie box or without audio and video tracks are refused with an error wrapping
// formats.ErrUnsupported; inconsistent tables with one wrapping formats.ErrMalformed.
func (f *file) MediaDigest() ([]byte, error) {
	moov := -1
	for i, b := range f.boxes {
		if string(b.typ[:]) == "moov" {
			moov = i
			break
		}
	}
	if moov < 0 {
		return nil, fmt.Errorf("%w: no movie box to digest", formats.ErrUnsupported)
	}
	b := f.boxes[moov]
	if b.size > MaxRewriteLen {
		return nil, fmt.Errorf("moov box at offset %d is %d bytes, more than %d: %w", b.off, b.size, MaxRewriteLen, formats.ErrTooLarge)
	}
	buf, err := readAt(f.r, b.off, b.size)
	if err != nil {
		return nil, fmt.Errorf("reading the moov box at offset %d: %w", b.off, err)
	}
	kids, _, err := children(buf[b.hlen:])
	if err != nil {
		return nil, fmt.Errorf("moov box at offset %d: %v: %w", b.off, err, formats.ErrMalformed)
	}
	var digests [][]byte
	for _, k := range kids {
		switch string(k[4:8]) {
		case "mvex":
			return nil, fmt.Errorf("%w: a fragmented movie (its samples are in movie fragments)", formats.ErrUnsupported)
		case "trak":
			d, err := f.trackDigest(k)
			if err != nil {
				return nil, err
			}
			if d != nil {
				if len(digests) == maxDigestTracks {
					return nil, fmt.Errorf("more than %d audio and video tracks: %w", maxDigestTracks, formats.ErrTooLarge)
				}
				digests = append(digests, d)
			}
		}
	}
	if len(digests) == 0 {
		return nil, fmt.Errorf("%w: no audio or video track to digest", formats.ErrUnsupported)
	}
	sort.Slice(digests, func(i, j int) bool { return bytes.Compare(digests[i], digests[j]) < 0 })
	h := sha256.New()
	for _, d := range digests {
		h.Write(d)
	}
	return append([]byte{MediaDigestVersion}, h.Sum(nil)...), nil
}

// trackDigest digests one track's samples; nil for a track that is neither audio nor video.
func (f *file) trackDigest(trak []byte) ([]byte, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: track: %s", formats.ErrMalformed, fmt.Sprintf(format, a...))
	}
	mdia := find(payload(trak, false), "mdia")
	if mdia == nil {
		return nil, bad("no mdia box")
	}
	hdlr := payload(find(payload(mdia, false), "hdlr"), true)
	if len(hdlr) < 8 {
		return nil, bad("no handler")
	}
	if h := string(hdlr[4:8]); h != "vide" && h != "soun" {
		return nil, nil
	}
	minf := find(payload(mdia, false), "minf")
	stbl := find(payload(minf, false), "stbl")
	if minf == nil || stbl == nil {
		return nil, bad("no sample table")
	}
	st := payload(stbl, false)
	// Sample sizes.
	stsz := payload(find(st, "stsz"), true)
	if len(stsz) < 8 {
		return nil, bad("no stsz")
	}
	fixed, count := binary.BigEndian.Uint32(stsz), binary.BigEndian.Uint32(stsz[4:])
	if count > maxDigestSamples || fixed == 0 && uint64(len(stsz)-8) < 4*uint64(count) {
		return nil, bad("stsz lists %d samples in %d bytes", count, len(stsz)-8)
	}
	sizeOf := func(i uint32) uint64 {
		if fixed != 0 {
			return uint64(fixed)
		}
		return uint64(binary.BigEndian.Uint32(stsz[8+4*i:]))
	}
	// Chunk offsets.
	var offs []uint64
	if co := payload(find(st, "stco"), true); co != nil {
		if len(co) < 4 {
			return nil, bad("short stco")
		}
		n := binary.BigEndian.Uint32(co)
		if n > maxDigestSamples || uint64(len(co)-4) < 4*uint64(n) {
			return nil, bad("stco lists %d chunks in %d bytes", n, len(co)-4)
		}
		offs = make([]uint64, n)
		for i := range offs {
			offs[i] = uint64(binary.BigEndian.Uint32(co[4+4*i:]))
		}
	} else if co := payload(find(st, "co64"), true); co != nil {
		if len(co) < 4 {
			return nil, bad("short co64")
		}
		n := binary.BigEndian.Uint32(co)
		if n > maxDigestSamples || uint64(len(co)-4) < 8*uint64(n) {
			return nil, bad("co64 lists %d chunks in %d bytes", n, len(co)-4)
		}
		offs = make([]uint64, n)
		for i := range offs {
			offs[i] = binary.BigEndian.Uint64(co[4+8*i:])
		}
	} else {
		return nil, bad("no stco or co64")
	}
	// Samples per chunk: runs of (first chunk, samples per chunk).
	stsc := payload(find(st, "stsc"), true)
	if len(stsc) < 4 {
		return nil, bad("no stsc")
	}
	runs := binary.BigEndian.Uint32(stsc)
	if runs > maxDigestSamples || uint64(len(stsc)-4) < 12*uint64(runs) {
		return nil, bad("stsc lists %d runs in %d bytes", runs, len(stsc)-4)
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var sample uint32
	for r := uint32(0); r < runs; r++ {
		e := stsc[4+12*r:]
		first, per := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])
		last := uint32(len(offs)) + 1 // one past the last chunk of this run (1-based)
		if r+1 < runs {
			last = binary.BigEndian.Uint32(stsc[4+12*(r+1):])
		}
		if first == 0 || last <= first || last > uint32(len(offs))+1 || per > maxDigestSamples {
			return nil, bad("stsc run %d (first chunk %d, next %d, %d samples each) does not fit %d chunks", r, first, last, per, len(offs))
		}
		for c := first; c < last; c++ {
			if uint64(sample)+uint64(per) > uint64(count) {
				return nil, bad("the chunks hold more samples than stsz's %d", count)
			}
			var n uint64
			for i := uint32(0); i < per; i++ {
				n += sizeOf(sample + i)
			}
			sample += per
			off := offs[c-1]
			if off > uint64(f.size) || n > uint64(f.size)-off {
				return nil, bad("chunk %d at offset %d with %d bytes runs past the end of the file (%d)", c, off, n, f.size)
			}
			if _, err := io.CopyBuffer(h, io.NewSectionReader(f.r, int64(off), int64(n)), buf); err != nil {
				return nil, fmt.Errorf("reading chunk %d at offset %d: %w", c, off, err)
			}
		}
	}
	if sample != count {
		return nil, bad("the chunks hold %d samples, stsz lists %d", sample, count)
	}
	return h.Sum(nil), nil
}
