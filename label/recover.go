package label

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/softbinding/iscc"
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
	Alg        string `json:"alg"`      // the soft binding that found it
	Distance   int    `json:"distance"` // fingerprint bits that differ from the content's
	// SignatureValid: the recovered manifest's signature and certificate check out (its hard
	// binding cannot match: the bytes it was signed over are gone).
	SignatureValid    bool        `json:"signature_valid"`
	Signer            *SignerInfo `json:"signer,omitempty"`
	Model             string      `json:"model,omitempty"`
	AIGenerated       bool        `json:"ai_generated"`
	DigitalSourceType string      `json:"digital_source_type,omitempty"`
	Reasons           []string    `json:"reasons,omitempty"` // why the signature is not valid
}

// recoverManifest fingerprints a picture without a manifest, asks the resolver, and checks the
// manifest it returns: its signature, and that its own fingerprint matches the picture.
func recoverManifest(ctx context.Context, rs Resolver, r io.ReaderAt, size int64, o VerifyOptions) (*RecoveredManifest, error) {
	code, err := fingerprint(r, size)
	if err != nil {
		return nil, err
	}
	seq, err := iscc.EncodeSeq(code)
	if err != nil {
		return nil, err
	}
	id, raw, err := rs.Resolve(ctx, iscc.Alg, seq)
	if err != nil {
		return nil, err
	}
	st, err := manifest.ParseStore(raw)
	if err != nil {
		return nil, fmt.Errorf("the recovered manifest store is damaged: %w", err)
	}
	m := st.Active()
	if m == nil {
		return nil, errors.New("the recovered manifest store has no active manifest")
	}
	rec := &RecoveredManifest{ManifestID: m.Label, Alg: iscc.Alg, Distance: -1}
	if id != "" && id != m.Label {
		return nil, fmt.Errorf("the resolver returned manifest %s for %s", m.Label, id)
	}
	// The manifest's own fingerprint must match this picture: a resolver is not trusted.
	for _, sb := range softBindings(m, func() (iscc.Code, error) { return code, nil }) {
		if sb.Alg == iscc.Alg && sb.Matches != nil && *sb.Matches {
			rec.Distance = sb.Distance
		}
	}
	if rec.Distance < 0 {
		return nil, fmt.Errorf("manifest %s has no ISCC fingerprint that matches this picture", m.Label)
	}
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
	return rec, nil
}

// recoveredSummary says what recovery found, in words.
func recoveredSummary(rec *RecoveredManifest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "not labeled: metadata stripped; fingerprint found (%d of 256 bits differ); manifest %s recovered", rec.Distance, rec.ManifestID)
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
