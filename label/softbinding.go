package label

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for the fingerprint, with x/image/webp below
	_ "image/jpeg"
	_ "image/png"
	"io"
	"strings"

	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/softbinding/iscc"
	"github.com/fxamacker/cbor/v2"
	_ "golang.org/x/image/webp"
)

// SoftBindingLabel is the label of the C2PA soft-binding assertion.
const SoftBindingLabel = "c2pa.soft-binding"

// maxFingerprintPixels bounds the pictures Fingerprint decodes.
const maxFingerprintPixels = 120_000_000

// fingerprint decodes the picture (the one being signed: badged when a badge was drawn) and
// returns its ISCC Image-Code, which survives resizing and re-encoding.
func fingerprint(r io.ReaderAt, size int64) (iscc.Code, error) {
	cfg, kind, err := image.DecodeConfig(io.NewSectionReader(r, 0, size))
	if errors.Is(err, image.ErrFormat) {
		return iscc.Code{}, fmt.Errorf("the fingerprint needs a JPEG, PNG, WebP or GIF picture: %w", ErrUnsupported)
	}
	if err != nil {
		return iscc.Code{}, fmt.Errorf("reading the %s picture's size: %w", kind, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxFingerprintPixels {
		return iscc.Code{}, fmt.Errorf("%dx%d is over the fingerprint's limit of %d pixels: %w", cfg.Width, cfg.Height, maxFingerprintPixels, ErrTooLarge)
	}
	img, _, err := image.Decode(io.NewSectionReader(r, 0, size))
	if err != nil {
		return iscc.Code{}, fmt.Errorf("decoding the picture: %w", err)
	}
	return iscc.FromImage(img, 256)
}

// softBindingAssertion is a c2pa.soft-binding assertion with the ISCC Image-Code and the
// Instance-Code of the content as an IEP-0020 ISCC-SEQ over the whole asset. The Instance-Code
// is taken of the bytes being labeled (with the visible warning, before metadata and manifest
// are added): it names this exact content; the Image-Code finds its copies.
func softBindingAssertion(code iscc.Code, r io.ReaderAt, size int64) (a manifest.Assertion, seq []byte, err error) {
	inst, err := iscc.InstanceCode(io.NewSectionReader(r, 0, size), 256)
	if err != nil {
		return manifest.Assertion{}, nil, err
	}
	if seq, err = iscc.EncodeSeq(code, inst.Code); err != nil {
		return manifest.Assertion{}, nil, err
	}
	return manifest.Assertion{Label: SoftBindingLabel, Value: map[string]any{
		"alg":    iscc.Alg,
		"blocks": []any{map[string]any{"scope": map[string]any{}, "value": seq}},
		"pad":    []byte{},
	}}, seq, nil
}

// SoftBinding is a soft binding found in the active manifest: a fingerprint or watermark that
// can find the manifest again once it has been stripped from the content.
type SoftBinding struct {
	Alg   string `json:"alg"`
	Value string `json:"value"` // ISCC text form for io.iscc.v0, else hex
	// Matches reports, for io.iscc.v0 on a picture, whether the content's own Image-Code
	// agrees (Distance bits of 256 differ; a few differ after a resize or re-encode).
	Matches  *bool `json:"matches,omitempty"`
	Distance int   `json:"distance,omitempty"`
}

// softBindings reads the soft-binding assertions of a manifest and, for ISCC, compares the
// fingerprint with the content's, which own computes (nil: the content is no picture); it is
// called only when there is an ISCC binding to compare.
func softBindings(m *manifest.Manifest, own func() (iscc.Code, error)) []SoftBinding {
	var out []SoftBinding
	for _, a := range m.Assertions {
		if a.Label != SoftBindingLabel && !strings.HasPrefix(a.Label, SoftBindingLabel+"__") {
			continue
		}
		var v struct {
			Alg    string `cbor:"alg"`
			Blocks []struct {
				Value cbor.RawMessage `cbor:"value"`
			} `cbor:"blocks"`
		}
		if a.Kind != "cbor" || cbor.Unmarshal(a.Content, &v) != nil || len(v.Blocks) == 0 || len(v.Blocks) > 64 {
			continue
		}
		for _, b := range v.Blocks {
			var raw []byte
			if cbor.Unmarshal(b.Value, &raw) != nil {
				var s string // readers in the wild write text too
				if cbor.Unmarshal(b.Value, &s) != nil {
					continue
				}
				raw = []byte(s)
			}
			sb := SoftBinding{Alg: v.Alg, Value: fmt.Sprintf("%x", raw)}
			if v.Alg == iscc.Alg {
				if codes, err := iscc.DecodeSeq(raw); err == nil && len(codes) > 0 {
					sb.Value = codes[0].String()
					if own != nil {
						if own, err := own(); err == nil {
							for _, c := range codes {
								if d, err := iscc.Hamming(c, own); err == nil {
									ok := d <= isccMatchBits
									sb.Matches, sb.Distance = &ok, d
									break
								}
							}
						}
					}
				}
			}
			out = append(out, sb)
		}
	}
	return out
}

// isccMatchBits is how many of 256 bits may differ for the content to count as the picture
// the fingerprint was taken of (a half-size re-encode keeps the code; unrelated pictures differ
// in about half).
const isccMatchBits = 32
