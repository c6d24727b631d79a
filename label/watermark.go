package label

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/softbinding/iscc"
	"github.com/ailabel/ailabel/warning"
	"github.com/ailabel/ailabel/watermark"
)

// ActionWatermarkedBound is the C2PA 2.4 action recorded when an invisible watermark whose
// identifier is bound to the manifest (a c2pa.soft-binding assertion) was added to the content.
const ActionWatermarkedBound = "c2pa.watermarked.bound"

// addWatermark adds an invisible watermark with a fresh random identifier to the picture c
// holds. It returns the new container bytes, the identifier and how it was added; or nil and a
// note saying why the picture carries none (too small, a container or layout that cannot be
// marked), in which case the label is written without it; or an error wrapping
// formats.ErrMalformed when the picture is damaged.
func addWatermark(ctx context.Context, c formats.Container) ([]byte, watermark.ID, formats.PaintInfo, string, error) {
	var id watermark.ID
	lm, ok := c.(formats.LumaMarker)
	if !ok {
		return nil, id, formats.PaintInfo{}, fmt.Sprintf("no invisible watermark: %s pictures cannot carry one yet", c.Format().Name), nil
	}
	if _, err := rand.Read(id[:]); err != nil {
		return nil, id, formats.PaintInfo{}, "no invisible watermark: " + err.Error(), nil
	}
	var buf bytes.Buffer
	info, err := lm.AddLuma(&buf, func(pic image.Image) (formats.LumaDelta, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return watermark.NewMark(pic, id, nil)
	})
	switch {
	case errors.Is(err, formats.ErrMalformed):
		return nil, id, info, "", err
	case err != nil:
		return nil, id, info, watermarkNote(err), nil
	}
	return buf.Bytes(), id, info, "", nil
}

// watermarkNote is the warning of a label whose picture could not be watermarked.
func watermarkNote(err error) string {
	if errors.Is(err, watermark.ErrTooSmall) {
		return "no invisible watermark: the picture is too small to carry one (" + err.Error() + ")"
	}
	return "no invisible watermark: " + err.Error()
}

// pictureEdit is what editPicture made: the new picture's bytes, what was drawn and marked,
// and the fingerprint of the pixels written.
type pictureEdit struct {
	out      []byte
	info     formats.EditInfo
	badge    *badge // nil when no visible warning was asked for
	id       watermark.ID
	marked   bool   // the watermark id was added
	markNote string // why not, when it was asked for

	fingerprinted bool // code and codeErr are set
	code          iscc.Code
	codeErr       error
}

// editPicture draws the visible warning spec asks for (nil: none), adds an invisible watermark
// with a fresh random identifier (when mark) and fingerprints the pixels written (when
// fingerprint), in one decoding and one encoding of the picture. An error (for instance one
// wrapping formats.ErrUnsupported: a picture the one pass cannot edit) leaves the caller to
// take the separate steps. size is the input's, for the output buffer.
func editPicture(ctx context.Context, pe formats.PictureEditor, size int64, spec *warning.Spec, cache *overlayCache, mark, fingerprint bool) (*pictureEdit, error) {
	p := &pictureEdit{}
	var e formats.PictureEdit
	if spec != nil {
		p.badge = newBadge(spec, cache)
		e.Overlay = p.badge.overlay
	}
	if mark {
		if _, err := rand.Read(p.id[:]); err != nil {
			return nil, err
		}
		e.Luma = func(pic image.Image) (formats.LumaDelta, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			m, err := watermark.NewMark(pic, p.id, nil)
			if err != nil {
				p.markNote = watermarkNote(err)
				return nil, nil
			}
			p.marked = true
			return m, nil
		}
	}
	if fingerprint {
		e.Final = func(pic image.Image) error {
			p.code, p.codeErr = iscc.FromImage(pic, 256)
			p.fingerprinted = true
			return ctx.Err()
		}
	}
	var buf bytes.Buffer
	if size < 1<<30 {
		buf.Grow(int(size) + 4096) // the edited picture is about the input's size: one allocation
	}
	info, err := pe.EditPicture(&buf, e)
	if err != nil {
		return nil, err
	}
	p.out, p.info = buf.Bytes(), info
	return p, nil
}

// numberSoftBindings gives the second and later c2pa.soft-binding assertions the instance
// suffixes C2PA asks for (c2pa.soft-binding__1, __2 …).
func numberSoftBindings(as []manifest.Assertion) {
	n := 0
	for i := range as {
		if as[i].Label != SoftBindingLabel {
			continue
		}
		if n > 0 {
			as[i].Label = fmt.Sprintf("%s__%d", SoftBindingLabel, n)
		}
		n++
	}
}

// ContentBindings extracts from a picture (JPEG, PNG, WebP, GIF) the soft bindings a manifest
// repository finds manifests by: its invisible watermark's identifier when it carries one
// (alg watermark.Alg, exact) and its ISCC Image-Code (alg io.iscc.v0, an ISCC-SEQ of the
// Image-Code alone, compared by similarity). A picture that cannot be decoded is an error
// wrapping ErrUnsupported (not a picture) or describing the damage.
func ContentBindings(r io.ReaderAt, size int64) ([]Binding, error) {
	pic := newPictureMarks(r, size)
	if _, err := pic.picture(); err != nil {
		return nil, err
	}
	var out []Binding
	if det, err := pic.watermark(); err == nil {
		out = append(out, Binding{Alg: watermark.Alg, Value: det.ID.Value()})
	}
	code, err := pic.fingerprint()
	if err != nil {
		return nil, err
	}
	seq, err := iscc.EncodeSeq(code)
	if err != nil {
		return nil, err
	}
	return append(out, Binding{Alg: iscc.Alg, Value: seq}), nil
}

// MediaAlg is the soft-binding algorithm of a video's or audio's media digest: byte 1, then
// SHA-256 over the sorted SHA-256 digests of each audio and video track's samples in decoding
// order (formats/bmff MediaDigest). It finds a copy whose metadata was stripped or whose samples
// were remuxed into another file; a re-encoded copy is another digest.
const MediaAlg = "org.ailabel.bmff-media.v1"

// mediaAssertion is a c2pa.soft-binding assertion with a media digest, over the whole asset.
func mediaAssertion(d []byte) manifest.Assertion {
	return manifest.Assertion{Label: SoftBindingLabel, Value: map[string]any{
		"alg":    MediaAlg,
		"blocks": []any{map[string]any{"scope": map[string]any{}, "value": d}},
		"pad":    []byte{},
		"name":   "digest of the audio and video samples",
	}}
}

// mediaDigestOf returns the media digest of a container, or an error saying why it has none.
func mediaDigestOf(c formats.Container) ([]byte, error) {
	md, ok := c.(formats.MediaDigester)
	if !ok {
		return nil, fmt.Errorf("%s files have no media digest: %w", c.Format().Name, ErrUnsupported)
	}
	return md.MediaDigest()
}
