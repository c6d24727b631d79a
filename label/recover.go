package label

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/softbinding/iscc"
	"github.com/ailabel/ailabel/watermark"
)

// Resolver finds a manifest store by a soft binding: a repository of manifests, local or behind
// the C2PA soft-binding resolution API. It returns ErrNoMatch when nothing matches.
type Resolver interface {
	Resolve(ctx context.Context, alg string, value []byte) (manifestID string, store []byte, err error)
}

// ErrNoMatch is what a Resolver returns when no manifest matches.
var ErrNoMatch = errors.New("label: no manifest matches")

// RecoveredManifest is a manifest found again through a soft binding of content that has lost
// its own (stripped metadata, a re-encoded or resized copy).
type RecoveredManifest struct {
	ManifestID string `json:"manifest_id"`
	Alg        string `json:"alg"` // the soft binding that found it
	// Watermark is the invisible watermark's identifier found in the picture, if any.
	Watermark string `json:"watermark,omitempty"`
	Distance  int    `json:"distance"` // fingerprint bits that differ from the content's
	// SoftBindingsMatched: every soft binding of the recovered manifest that names this kind of
	// content matches it (C2PA 2.x §18.15.14 softBindingsMatched); the algorithms that did are
	// in SoftBindingAlgorithmsMatched.
	SoftBindingsMatched          bool     `json:"soft_bindings_matched"`
	SoftBindingAlgorithmsMatched []string `json:"soft_binding_algorithms_matched"`
	// HardBinding says why the manifest's hard binding is not checked: the bytes it was signed
	// over are gone (this is a stripped or re-encoded copy).
	HardBinding string `json:"hard_binding"`
	// SignatureValid: the recovered manifest's signature and certificate check out.
	SignatureValid    bool        `json:"signature_valid"`
	Signer            *SignerInfo `json:"signer,omitempty"`
	Model             string      `json:"model,omitempty"`
	AIGenerated       bool        `json:"ai_generated"`
	DigitalSourceType string      `json:"digital_source_type,omitempty"`
	Reasons           []string    `json:"reasons,omitempty"` // why the signature is not valid
	// Notes say what else recovery saw, e.g. a watermark the manifest names that the picture no
	// longer carries.
	Notes []string `json:"notes,omitempty"`
}

// PossibleForgery is a soft binding in content that leads to a manifest which does not belong
// to it: a watermark copied onto another picture, say. It is never reported as a label.
type PossibleForgery struct {
	Watermark  string `json:"watermark,omitempty"`
	ManifestID string `json:"manifest_id"`
	Reason     string `json:"reason"`
}

// fingerprintOnlyBits is how many of 256 ISCC bits may differ when a manifest is recovered by
// its fingerprint alone (it names no watermark): a half-size JPEG copy differs in 0–6.
const fingerprintOnlyBits = 12

// errForgery carries a PossibleForgery out of recoverManifest.
type errForgery struct{ f *PossibleForgery }

func (e *errForgery) Error() string { return "possible forgery: " + e.f.Reason }

// recoverManifest looks a picture without a manifest up by its soft bindings: first by its
// invisible watermark (an exact identifier), then by its ISCC fingerprint. The manifest found
// is trusted only after checking its signature and that its soft bindings match the picture:
// its fingerprint must be near the picture's (a watermark lifted onto another picture fails
// this: *errForgery), and a watermark it names must be the one found, if one was found.
func recoverManifest(ctx context.Context, rs Resolver, r io.ReaderAt, size int64, o VerifyOptions) (*RecoveredManifest, error) {
	return recoverPicture(ctx, rs, newPictureMarks(r, size), r, size, o)
}

// recoverPicture is recoverManifest for a picture pic whose bytes are r.
func recoverPicture(ctx context.Context, rs Resolver, pic *pictureMarks, r io.ReaderAt, size int64, o VerifyOptions) (*RecoveredManifest, error) {
	det, wmErr := pic.watermark()
	code, fpErr := pic.fingerprint()
	if wmErr != nil && fpErr != nil {
		return nil, fpErr
	}
	var alg string
	var id string
	var raw []byte
	var err error = ErrNoMatch
	if wmErr == nil {
		alg = watermark.Alg
		id, raw, err = rs.Resolve(ctx, alg, det.ID.Value())
	}
	if errors.Is(err, ErrNoMatch) && fpErr == nil {
		seq, serr := iscc.EncodeSeq(code)
		if serr != nil {
			return nil, serr
		}
		alg = iscc.Alg
		id, raw, err = rs.Resolve(ctx, alg, seq)
	}
	if err != nil {
		return nil, err
	}
	st, m, err := parseRecovered(id, raw)
	if err != nil {
		return nil, err
	}
	rec := &RecoveredManifest{ManifestID: m.Label, Alg: alg, Distance: -1,
		HardBinding: "not checked: this copy is not the bytes the manifest was signed over (stripped or re-encoded), so its hard binding cannot match"}
	if wmErr == nil {
		rec.Watermark = det.ID.String()
	}
	// The manifest's own soft bindings must match this picture: a resolver is not trusted.
	sbs := softBindings(m, pic, nil)
	hasFP, fpOK, wmNamed, wmOK := false, false, false, false
	for _, sb := range sbs {
		switch sb.Alg {
		case iscc.Alg:
			hasFP = true
			if sb.Matches != nil && *sb.Matches && (!fpOK || sb.Distance < rec.Distance) {
				fpOK, rec.Distance = true, sb.Distance
			}
		case watermark.Alg:
			wmNamed = true
			wmOK = wmOK || sb.Matches != nil && *sb.Matches
		}
	}
	why := "its ISCC fingerprint does not match this picture"
	if !hasFP {
		why = "it has no ISCC fingerprint to compare with this picture"
	}
	if alg == watermark.Alg {
		// Found by the watermark: the fingerprint must confirm that the watermark belongs to
		// these pixels; a watermark lifted onto another picture fails here.
		if !fpOK {
			return nil, &errForgery{&PossibleForgery{Watermark: det.ID.String(), ManifestID: m.Label,
				Reason: fmt.Sprintf("the picture's watermark %s names manifest %s, but %s: the watermark may have been copied from another picture", det.ID, m.Label, why)}}
		}
		if !wmOK {
			return nil, &errForgery{&PossibleForgery{Watermark: det.ID.String(), ManifestID: m.Label,
				Reason: fmt.Sprintf("the resolver answered manifest %s for watermark %s, but that manifest names another watermark", m.Label, det.ID)}}
		}
	} else {
		// Found by the fingerprint alone. Similar pictures have similar fingerprints, so that is
		// not enough when the manifest names a watermark: the watermark must be in the picture
		// (it survives what the fingerprint survives). A manifest without one is accepted only
		// for a near-identical fingerprint.
		switch {
		case !fpOK:
			return nil, fmt.Errorf("%w: manifest %s has a similar fingerprint, but %s", ErrNoMatch, m.Label, why)
		case wmNamed && !wmOK:
			return nil, fmt.Errorf("%w: manifest %s has a similar fingerprint (%d of 256 bits differ), but the watermark it names is not in this picture", ErrNoMatch, m.Label, rec.Distance)
		case !wmNamed && rec.Distance > fingerprintOnlyBits:
			return nil, fmt.Errorf("%w: manifest %s has a similar fingerprint (%d of 256 bits differ, more than the %d a fingerprint alone may), and no watermark to confirm it", ErrNoMatch, m.Label, rec.Distance, fingerprintOnlyBits)
		case !wmNamed:
			rec.Notes = append(rec.Notes, "found by its fingerprint alone (the manifest names no watermark): similar pictures can have similar fingerprints")
		}
	}
	rec.SoftBindingsMatched = true
	if wmOK {
		rec.SoftBindingAlgorithmsMatched = append(rec.SoftBindingAlgorithmsMatched, watermark.Alg)
	}
	rec.SoftBindingAlgorithmsMatched = append(rec.SoftBindingAlgorithmsMatched, iscc.Alg)
	if wmErr == nil && !wmNamed {
		rec.Notes = append(rec.Notes, "the picture carries watermark "+det.ID.String()+", which the manifest does not name")
	}
	checkRecovered(st, rec, r, size, o)
	return rec, nil
}

// recoverMedia looks a video or audio file without a manifest up by the digest of its samples,
// and checks the manifest found: its media digest must equal the file's, its signature valid.
func recoverMedia(ctx context.Context, rs Resolver, c formats.Container, r io.ReaderAt, size int64, o VerifyOptions) (*RecoveredManifest, error) {
	d, err := mediaDigestOf(c)
	if err != nil {
		return nil, err
	}
	id, raw, err := rs.Resolve(ctx, MediaAlg, d)
	if err != nil {
		return nil, err
	}
	st, m, err := parseRecovered(id, raw)
	if err != nil {
		return nil, err
	}
	matched := false
	for _, sb := range softBindings(m, nil, func() ([]byte, error) { return d, nil }) {
		if sb.Alg == MediaAlg && sb.Matches != nil && *sb.Matches {
			matched = true
		}
	}
	if !matched {
		return nil, fmt.Errorf("manifest %s has no media digest that matches this file", m.Label)
	}
	rec := &RecoveredManifest{ManifestID: m.Label, Alg: MediaAlg, Distance: -1, SoftBindingsMatched: true,
		SoftBindingAlgorithmsMatched: []string{MediaAlg},
		HardBinding:                  "not checked: this copy is not the bytes the manifest was signed over (stripped or remuxed), so its hard binding cannot match"}
	checkRecovered(st, rec, r, size, o)
	return rec, nil
}

// parseRecovered parses a manifest store a resolver answered for manifest id ("" when it did
// not say) and returns it with its active manifest, which must be the one named.
func parseRecovered(id string, raw []byte) (*manifest.Store, *manifest.Manifest, error) {
	st, err := manifest.ParseStore(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("the recovered manifest store is damaged: %w", err)
	}
	m := st.Active()
	if m == nil {
		return nil, nil, errors.New("the recovered manifest store has no active manifest")
	}
	if id != "" && id != m.Label {
		return nil, nil, fmt.Errorf("the resolver returned manifest %s for %s", m.Label, id)
	}
	return st, m, nil
}

// checkRecovered validates a recovered manifest store's signature and fills in who signed it and
// what it claims.
func checkRecovered(st *manifest.Store, rec *RecoveredManifest, r io.ReaderAt, size int64, o VerifyOptions) {
	res := st.Validate(r, size, manifest.Options{Trust: o.Trust, Now: o.Now})
	active := res.Manifests[len(res.Manifests)-1]
	s := summarize(active)
	rec.Signer, rec.DigitalSourceType = s.Signer, s.DigitalSourceType
	rec.AIGenerated, rec.Model = manifest.IsAI(s.DigitalSourceType), modelOf(s.Actions)
	rec.SignatureValid = true
	for _, f := range res.Active.Failure {
		switch {
		case f.Code == sign.CodeCredentialUntrusted:
		case strings.HasPrefix(f.Code, "claimSignature.") || strings.HasPrefix(f.Code, "signingCredential.") ||
			strings.HasPrefix(f.Code, "claim."):
			rec.SignatureValid = false
			rec.Reasons = append(rec.Reasons, plainReason(f))
		}
	}
}

// recoveredSummary says what recovery found, in words.
func recoveredSummary(rec *RecoveredManifest) string {
	var b strings.Builder
	b.WriteString("not labeled: metadata stripped; ")
	if rec.Watermark != "" {
		fmt.Fprintf(&b, "watermark found (%s); ", rec.Watermark)
	}
	if rec.Alg == MediaAlg {
		fmt.Fprintf(&b, "its audio and video samples match; manifest %s recovered", rec.ManifestID)
	} else {
		fmt.Fprintf(&b, "fingerprint matches (%d of 256 bits differ); manifest %s recovered", rec.Distance, rec.ManifestID)
	}
	if rec.AIGenerated {
		b.WriteString(": AI-generated")
		if rec.Model != "" {
			b.WriteString(" by " + rec.Model)
		}
	}
	if rec.Signer != nil {
		b.WriteString(", signed by " + rec.Signer.CommonName)
		if rec.Signer.Trusted {
			b.WriteString(" (trusted)")
		}
	}
	if rec.SignatureValid {
		b.WriteString(", signature valid")
	} else {
		b.WriteString(", signature INVALID: " + strings.Join(rec.Reasons, "; "))
	}
	return b.String()
}

// RecoverPicture looks a decoded picture that carries no manifest up by its invisible
// watermark and ISCC fingerprint, as Verify does with VerifyOptions.Resolver, and checks the
// manifest found (its signature, and that its soft bindings match the picture). It returns
// ErrNoMatch when nothing matches, and an error for which IsPossibleForgery is true when the
// picture's watermark leads to a manifest that does not belong to it. For platforms that hold
// pictures decoded already (a thumbnail pipeline, a moderation queue).
func RecoverPicture(ctx context.Context, rs Resolver, img image.Image, o VerifyOptions) (*RecoveredManifest, error) {
	pic := &pictureMarks{decoded: true, img: img}
	return recoverPicture(ctx, rs, pic, bytes.NewReader(nil), 0, o)
}

// IsPossibleForgery reports whether an error of RecoverPicture says the content's watermark
// leads to a manifest that does not belong to it, and returns what was found.
func IsPossibleForgery(err error) (*PossibleForgery, bool) {
	var f *errForgery
	if errors.As(err, &f) {
		return f.f, true
	}
	return nil, false
}
