package label

import (
	"bytes"
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
	"github.com/ailabel/ailabel/watermark"
	"github.com/fxamacker/cbor/v2"
	_ "golang.org/x/image/webp"
)

// SoftBindingLabel is the label of the C2PA soft-binding assertion.
const SoftBindingLabel = "c2pa.soft-binding"

// maxFingerprintPixels bounds the pictures Fingerprint decodes.
const maxFingerprintPixels = 120_000_000

// decodePicture decodes a JPEG, PNG, WebP or GIF picture of at most maxFingerprintPixels.
func decodePicture(r io.ReaderAt, size int64) (image.Image, error) {
	cfg, kind, err := image.DecodeConfig(io.NewSectionReader(r, 0, size))
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("the fingerprint and the watermark need a JPEG, PNG, WebP or GIF picture: %w", ErrUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s picture's size: %w", kind, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxFingerprintPixels {
		return nil, fmt.Errorf("%dx%d is over the limit of %d pixels for fingerprints and watermarks: %w", cfg.Width, cfg.Height, maxFingerprintPixels, ErrTooLarge)
	}
	img, _, err := image.Decode(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("decoding the picture: %w", err)
	}
	return img, nil
}

// fingerprint decodes the picture (the one being signed: badged when a badge was drawn) and
// returns its ISCC Image-Code, which survives resizing and re-encoding.
func fingerprint(r io.ReaderAt, size int64) (iscc.Code, error) {
	img, err := decodePicture(r, size)
	if err != nil {
		return iscc.Code{}, err
	}
	return iscc.FromImage(img, 256)
}

// pictureMarks decodes a picture once, when first asked, and gives its ISCC Image-Code and
// the invisible watermark it carries. Not safe for concurrent use.
type pictureMarks struct {
	r    io.ReaderAt
	size int64

	decoded bool
	img     image.Image
	imgErr  error

	coded   bool
	code    iscc.Code
	codeErr error

	detected bool
	wm       watermark.Detection
	wmErr    error
}

func newPictureMarks(r io.ReaderAt, size int64) *pictureMarks {
	return &pictureMarks{r: r, size: size}
}

func (p *pictureMarks) picture() (image.Image, error) {
	if !p.decoded {
		p.img, p.imgErr = decodePicture(p.r, p.size)
		p.decoded = true
	}
	return p.img, p.imgErr
}

// fingerprint returns the picture's ISCC Image-Code (256 bits).
func (p *pictureMarks) fingerprint() (iscc.Code, error) {
	if !p.coded {
		p.coded = true
		img, err := p.picture()
		if err != nil {
			p.codeErr = err
		} else {
			p.code, p.codeErr = iscc.FromImage(img, 256)
		}
	}
	return p.code, p.codeErr
}

// watermark returns the picture's invisible watermark; watermark.ErrNotFound when it has none.
func (p *pictureMarks) watermark() (watermark.Detection, error) {
	if !p.detected {
		p.detected = true
		img, err := p.picture()
		if err != nil {
			p.wmErr = err
		} else {
			p.wm, p.wmErr = watermark.Detect(img, nil)
		}
	}
	return p.wm, p.wmErr
}

// watermarkAssertion is a c2pa.soft-binding assertion with the invisible watermark's
// identifier (see docs/watermark.md), over the whole picture.
func watermarkAssertion(id watermark.ID) manifest.Assertion {
	return manifest.Assertion{Label: SoftBindingLabel, Value: map[string]any{
		"alg":    watermark.Alg,
		"blocks": []any{map[string]any{"scope": map[string]any{}, "value": id.Value()}},
		"pad":    []byte{},
		"name":   "ailabel invisible watermark",
	}}
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

// Binding is a soft binding as signed: the algorithm (a name from the C2PA soft-binding
// algorithm list, or a namespaced one of ours) and its value bytes.
type Binding struct {
	Alg   string
	Value []byte
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
	// Note says why a binding does not match, or could not be compared.
	Note string `json:"note,omitempty"`
}

// softBindings reads the soft-binding assertions of a manifest and compares each fingerprint
// and watermark with the content's own, which pic gives (nil: the content is no picture; it is
// decoded only when there is a binding to compare), and a media digest with the one media gives
// (nil: no audio or video).
func softBindings(m *manifest.Manifest, pic *pictureMarks, media func() ([]byte, error)) []SoftBinding {
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
			if v.Alg == MediaAlg && media != nil {
				d, err := media()
				if err == nil {
					ok := bytes.Equal(d, raw)
					sb.Matches = &ok
					if !ok {
						sb.Note = "the audio and video samples differ (re-encoded or edited)"
					}
				} else {
					sb.Note = "the media could not be digested: " + err.Error()
				}
			}
			if v.Alg == watermark.Alg {
				if id, err := watermark.ParseValue(raw); err == nil {
					sb.Value = id.String()
					if pic != nil {
						det, err := pic.watermark()
						switch {
						case err == nil:
							ok := det.ID == id
							sb.Matches = &ok
							if !ok {
								sb.Note = "the picture carries another watermark, " + det.ID.String()
							}
						case errors.Is(err, watermark.ErrNotFound) || errors.Is(err, watermark.ErrTooSmall):
							ok := false
							sb.Matches, sb.Note = &ok, "no watermark found in the picture"
						default:
							sb.Note = "the picture could not be searched for the watermark: " + err.Error()
						}
					}
				}
			}
			if v.Alg == iscc.Alg {
				if codes, err := iscc.DecodeSeq(raw); err == nil && len(codes) > 0 {
					sb.Value = codes[0].String()
					if pic != nil {
						if own, err := pic.fingerprint(); err == nil {
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
