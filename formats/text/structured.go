package text

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/ailabel/ailabel/formats"
)

// C2PA 2.4 Appendix A.9 (structured text): a manifest reference between ASCII-armour
// delimiters, in a comment or in front matter:
//
//	<comment prefix> -----BEGIN C2PA MANIFEST----- <reference> -----END C2PA MANIFEST----- <comment suffix>
//
// The reference is a URL of a remote manifest store or a data: URI that holds the store.
const (
	BeginDelimiter = "-----BEGIN C2PA MANIFEST-----"
	EndDelimiter   = "-----END C2PA MANIFEST-----"
	// DataURIPrefix starts a data: URI holding a Base64 manifest store (media type application/c2pa).
	DataURIPrefix = "data:application/c2pa;base64,"
)

// Status codes the spec defines for structured text (A.9).
const (
	CodeStructuredNoManifest         = "manifest.structuredText.noManifest"
	CodeStructuredMultipleReferences = "manifest.structuredText.multipleReferences"
	CodeStructuredEmptyReference     = "manifest.structuredText.emptyReference"
)

// Placements of an A.9 block in a text.
const (
	PlaceStart = "start"
	PlaceEnd   = "end"
)

// DataURI returns the data: URI for a manifest store: standard padded Base64, no line breaks.
func DataURI(store []byte) string { return DataURIPrefix + base64.StdEncoding.EncodeToString(store) }

// ParseDataURI decodes a data:application/c2pa;base64 URI. ok is false when ref is not one;
// err reports invalid Base64.
func ParseDataURI(ref string) (store []byte, ok bool, err error) {
	if !strings.HasPrefix(ref, DataURIPrefix) {
		return nil, false, nil
	}
	store, err = decodeBase64(ref[len(DataURIPrefix):])
	return store, true, err
}

// decodeBase64 decodes standard Base64, ignoring ASCII whitespace.
func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.Strict().DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid Base64 manifest store: %v", formats.ErrMalformed, err)
	}
	return b, nil
}

// ManifestBlock returns a one-line A.9 block: prefix, the delimiters around reference, and the
// suffix when it is not empty, separated by single spaces.
func ManifestBlock(reference, prefix, suffix string) string {
	s := prefix + " " + BeginDelimiter + " " + reference + " " + EndDelimiter
	if suffix != "" {
		s += " " + suffix
	}
	return s
}

// ManifestBlockMultiline returns the multi-line A.9 block for front matter: the delimiters and
// the reference on lines of their own.
func ManifestBlockMultiline(reference, newline string) string {
	return BeginDelimiter + newline + reference + newline + EndDelimiter
}

// EmbedStructured puts a one-line A.9 block at the start of doc (block, newline, doc) or at its
// end (doc, newline, block) and returns the result with the c2pa.hash.data exclusion, which
// covers the block and the newline that joins it to the text.
func EmbedStructured(doc []byte, reference, prefix, suffix, placement, newline string) (out []byte, start, length int, err error) {
	block := ManifestBlock(reference, prefix, suffix)
	switch placement {
	case PlaceStart:
		out = append(append([]byte(block), newline...), doc...)
		return out, 0, len(block) + len(newline), nil
	case PlaceEnd:
		out = append(append(append([]byte(nil), doc...), newline...), block...)
		return out, len(doc), len(newline) + len(block), nil
	}
	return nil, 0, 0, fmt.Errorf("structured text: placement %q is neither %q nor %q", placement, PlaceStart, PlaceEnd)
}

// Structured is an A.9 block found in a text.
type Structured struct {
	Begin, End int64  // offsets of the BEGIN delimiter and of the end of the END delimiter
	Reference  string // what stands between the delimiters, trimmed
	Store      []byte // the decoded store when Reference is a data: URI
}

// FindStructured returns the one A.9 block of doc. It fails with formats.ErrNoManifest when there
// is none, and with formats.ErrMalformed for several blocks, delimiters out of order, an empty
// reference or a data: URI that is not Base64.
func FindStructured(doc []byte) (*Structured, error) {
	var begins, ends []int64
	for _, d := range []struct {
		pat  string
		list *[]int64
	}{{BeginDelimiter, &begins}, {EndDelimiter, &ends}} {
		for i := 0; ; {
			j := bytes.Index(doc[i:], []byte(d.pat))
			if j < 0 {
				break
			}
			*d.list = append(*d.list, int64(i+j))
			i += j + len(d.pat)
		}
	}
	return structuredFrom(begins, ends, func(off, end int64) ([]byte, error) { return doc[off:end], nil })
}

// structuredFrom checks the delimiter offsets and reads the reference with read.
func structuredFrom(begins, ends []int64, read func(off, end int64) ([]byte, error)) (*Structured, error) {
	if len(begins) == 0 && len(ends) == 0 {
		return nil, fmt.Errorf("%w: %s: no C2PA manifest block", formats.ErrNoManifest, CodeStructuredNoManifest)
	}
	if len(begins) > 1 || len(ends) > 1 {
		return nil, fmt.Errorf("%w: %s: %d BEGIN and %d END C2PA MANIFEST delimiters; one block is allowed", formats.ErrMalformed, CodeStructuredMultipleReferences, len(begins), len(ends))
	}
	if len(begins) != 1 || len(ends) != 1 || ends[0] < begins[0]+int64(len(BeginDelimiter)) {
		return nil, fmt.Errorf("%w: %s: C2PA MANIFEST delimiters missing or out of order", formats.ErrMalformed, CodeStructuredNoManifest)
	}
	s := &Structured{Begin: begins[0], End: ends[0] + int64(len(EndDelimiter))}
	from, to := begins[0]+int64(len(BeginDelimiter)), ends[0]
	if to-from > maxReferenceLen {
		return nil, fmt.Errorf("%w: the C2PA manifest reference at offset %d is %d bytes, the limit is %d", formats.ErrTooLarge, from, to-from, maxReferenceLen)
	}
	raw, err := read(from, to)
	if err != nil {
		return nil, err
	}
	s.Reference = strings.TrimSpace(string(raw))
	if s.Reference == "" {
		return nil, fmt.Errorf("%w: %s: the C2PA manifest block at offset %d has no reference", formats.ErrMalformed, CodeStructuredEmptyReference, s.Begin)
	}
	store, ok, err := ParseDataURI(s.Reference)
	if err != nil {
		return nil, fmt.Errorf("C2PA manifest block at offset %d: %w", s.Begin, err)
	}
	if ok {
		s.Store = store
	}
	return s, nil
}

// maxReferenceLen bounds the text between the delimiters: a data: URI of a MaxStoreLen store.
const maxReferenceLen = int64(len(DataURIPrefix)) + (MaxStoreLen+2)/3*4 + 1024
