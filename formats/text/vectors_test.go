package text

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

// vectors mirrors testdata/vectors.json (C2PA 2.4 Appendix A reference outputs from
// encypherai/c2pa-text's golden vectors; see ../shared/testdata/c2pa-text-golden beside the repository).
type vectors struct {
	DataURI []struct {
		Name        string `json:"name"`
		ManifestHex string `json:"manifest_hex"`
		ExpectedURI string `json:"expected_uri"`
	} `json:"data_uri"`
	StructuredBlock []struct {
		Name, Reference string
		CommentPrefix   string `json:"comment_prefix"`
		CommentSuffix   string `json:"comment_suffix"`
		ExpectedBlock   string `json:"expected_block"`
	} `json:"structured_block"`
	StructuredMultiline []struct {
		Name, Reference, Newline string
		ExpectedBlock            string `json:"expected_block"`
	} `json:"structured_multiline"`
	StructuredEmbed []struct {
		Name, Text, Reference, Placement, Newline string
		CommentPrefix                             string `json:"comment_prefix"`
		CommentSuffix                             string `json:"comment_suffix"`
		ExpectedTextHex                           string `json:"expected_text_hex"`
		ExclusionStart                            int    `json:"exclusion_start"`
		ExclusionLength                           int    `json:"exclusion_length"`
	} `json:"structured_embed"`
	UnstructuredEmbed []struct {
		Name, Text       string
		ManifestHex      string `json:"manifest_hex"`
		ExpectedEmbedHex string `json:"expected_embed_hex"`
	} `json:"unstructured_embed"`
	HTMLInline []struct {
		Name, HTML, Newline string
		ManifestHex         string `json:"manifest_hex"`
		ExpectedHTMLHex     string `json:"expected_html_hex"`
		ExclusionStart      int    `json:"exclusion_start"`
		ExclusionLength     int    `json:"exclusion_length"`
	} `json:"html_inline"`
	HTMLReference []struct {
		Name, HTML, URL, Newline string
		ExpectedHTMLHex          string `json:"expected_html_hex"`
	} `json:"html_reference"`
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.DataURI) == 0 || len(v.StructuredBlock) == 0 || len(v.StructuredMultiline) == 0 || len(v.StructuredEmbed) == 0 ||
		len(v.UnstructuredEmbed) == 0 || len(v.HTMLInline) == 0 || len(v.HTMLReference) == 0 {
		t.Fatalf("vectors.json is missing a group: %+v", v)
	}
	return &v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Our encoders reproduce every reference vector byte for byte, and our decoders read each back.
func TestGoldenVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.DataURI {
		t.Run("data_uri/"+c.Name, func(t *testing.T) {
			m := unhex(t, c.ManifestHex)
			if got := DataURI(m); got != c.ExpectedURI {
				t.Fatalf("DataURI = %q, want %q", got, c.ExpectedURI)
			}
			back, ok, err := ParseDataURI(c.ExpectedURI)
			if !ok || err != nil || !bytes.Equal(back, m) {
				t.Fatalf("ParseDataURI = %x, %v, %v", back, ok, err)
			}
		})
	}
	for _, c := range v.StructuredBlock {
		t.Run("structured_block/"+c.Name, func(t *testing.T) {
			got := ManifestBlock(c.Reference, c.CommentPrefix, c.CommentSuffix)
			if got != c.ExpectedBlock {
				t.Fatalf("ManifestBlock = %q, want %q", got, c.ExpectedBlock)
			}
			s, err := FindStructured([]byte(got))
			if err != nil || s.Reference != c.Reference || s.Store != nil {
				t.Fatalf("FindStructured = %+v, %v", s, err)
			}
		})
	}
	for _, c := range v.StructuredMultiline {
		t.Run("structured_multiline/"+c.Name, func(t *testing.T) {
			got := ManifestBlockMultiline(c.Reference, c.Newline)
			if got != c.ExpectedBlock {
				t.Fatalf("ManifestBlockMultiline = %q, want %q", got, c.ExpectedBlock)
			}
			doc := "---\ntitle: x\n" + got + "\n---\nbody\n"
			s, err := FindStructured([]byte(doc))
			if err != nil || s.Reference != c.Reference {
				t.Fatalf("FindStructured = %+v, %v", s, err)
			}
		})
	}
	for _, c := range v.StructuredEmbed {
		t.Run("structured_embed/"+c.Name, func(t *testing.T) {
			out, start, length, err := EmbedStructured([]byte(c.Text), c.Reference, c.CommentPrefix, c.CommentSuffix, c.Placement, c.Newline)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, c.ExpectedTextHex); !bytes.Equal(out, want) {
				t.Fatalf("EmbedStructured =\n%q\nwant\n%q", out, want)
			}
			if start != c.ExclusionStart || length != c.ExclusionLength {
				t.Fatalf("exclusion %d+%d, want %d+%d", start, length, c.ExclusionStart, c.ExclusionLength)
			}
			s, err := FindStructured(out)
			if err != nil || s.Reference != c.Reference {
				t.Fatalf("FindStructured = %+v, %v", s, err)
			}
			// The excluded range is exactly the block and its joining line break.
			rest := append(append([]byte(nil), out[:start]...), out[start+length:]...)
			if string(rest) != c.Text {
				t.Fatalf("text outside the exclusion = %q, want %q", rest, c.Text)
			}
		})
	}
	for _, c := range v.UnstructuredEmbed {
		t.Run("unstructured_embed/"+c.Name, func(t *testing.T) {
			m := unhex(t, c.ManifestHex)
			want := unhex(t, c.ExpectedEmbedHex)
			out := EmbedUnstructured([]byte(c.Text), m)
			if !bytes.Equal(out, want) {
				t.Fatalf("EmbedUnstructured =\n%x\nwant\n%x", out, want)
			}
			w, err := DecodeWrapper(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.Store, m) || int(w.Start) != len(c.Text) || int(w.End) != len(want) {
				t.Fatalf("DecodeWrapper = %x [%d,%d), want %x [%d,%d)", w.Store, w.Start, w.End, m, len(c.Text), len(want))
			}
			// The same through the file reader.
			f, err := Open(bytes.NewReader(want), int64(len(want)), false)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := f.ManifestStore(); err != nil || !bytes.Equal(got, m) {
				t.Fatalf("ManifestStore = %x, %v", got, err)
			}
			// Padded to the fixed length: decodes to the same store.
			p, err := EncodeWrapperPadded(m, WrapperLen(len(m)))
			if err != nil || len(p) != WrapperLen(len(m)) || !bytes.HasPrefix(p, EncodeWrapper(m)) {
				t.Fatalf("EncodeWrapperPadded: %d bytes, %v", len(p), err)
			}
			if w, err := DecodeWrapper(p); err != nil || !bytes.Equal(w.Store, m) || int(w.End) != len(p) {
				t.Fatalf("padded DecodeWrapper: %+v, %v", w, err)
			}
		})
	}
	for _, c := range v.HTMLInline {
		t.Run("html_inline/"+c.Name, func(t *testing.T) {
			m := unhex(t, c.ManifestHex)
			out, start, length, err := EmbedHTMLInline([]byte(c.HTML), m, c.Newline)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, c.ExpectedHTMLHex); !bytes.Equal(out, want) {
				t.Fatalf("EmbedHTMLInline =\n%q\nwant\n%q", out, want)
			}
			if start != c.ExclusionStart || length != c.ExclusionLength {
				t.Fatalf("exclusion %d+%d, want %d+%d", start, length, c.ExclusionStart, c.ExclusionLength)
			}
			hm, err := FindHTMLManifest(out)
			if err != nil || !bytes.Equal(hm.Store, m) || hm.Start != int64(start) || hm.End != int64(start+length) {
				t.Fatalf("FindHTMLManifest = %+v, %v", hm, err)
			}
			h, err := OpenHTML(bytes.NewReader(out), int64(len(out)))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := h.ManifestStore(); err != nil || !bytes.Equal(got, m) {
				t.Fatalf("ManifestStore = %x, %v", got, err)
			}
		})
	}
	for _, c := range v.HTMLReference {
		t.Run("html_reference/"+c.Name, func(t *testing.T) {
			out, err := EmbedHTMLReference([]byte(c.HTML), c.URL, c.Newline)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, c.ExpectedHTMLHex); !bytes.Equal(out, want) {
				t.Fatalf("EmbedHTMLReference =\n%q\nwant\n%q", out, want)
			}
			hm, err := FindHTMLManifest(out)
			if err != nil || hm.Reference != c.URL || hm.Store != nil {
				t.Fatalf("FindHTMLManifest = %+v, %v", hm, err)
			}
			h, err := OpenHTML(bytes.NewReader(out), int64(len(out)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.ManifestStore(); !errors.Is(err, ErrRemoteManifest) {
				t.Fatalf("ManifestStore error %v, want ErrRemoteManifest", err)
			}
			if _, err := h.ManifestStore(); errors.Is(err, formats.ErrNoManifest) {
				t.Fatal("a remote manifest is not 'no manifest'")
			}
		})
	}
}
