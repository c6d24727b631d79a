package label

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/exif"
	"github.com/ailabel/ailabel/formats/xmp"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
)

// Verdict is the one-word outcome of verifying a file.
type Verdict string

// Verdicts.
const (
	Valid      Verdict = "valid"       // a C2PA manifest whose signature and hashes are good
	Invalid    Verdict = "invalid"     // a C2PA manifest that fails a check (tampered, bad signature, …)
	NotLabeled Verdict = "not_labeled" // no C2PA manifest
)

// VerifyOptions control Verify.
type VerifyOptions struct {
	Trust *sign.TrustStore // trust anchors; nil or empty trusts no signer (signatures are still checked)
	Now   time.Time        // judge certificates at this time when the signature has no time; zero = now
	// Resolver, when set, is asked for the manifest of content that carries none, by its
	// watermark and fingerprint (pictures) or media digest (video): see Report.Recovered.
	Resolver Resolver
	// CheckSoftBindings compares the soft bindings of a manifest (watermark, fingerprint, media
	// digest) with the content's own: it decodes a picture, or reads every sample of a video,
	// so it is off by default. Without it Report.SoftBindings lists them with Matches unset: a
	// valid hard binding already proves the content is what was signed. Recovery always checks.
	CheckSoftBindings bool
}

// SignerInfo describes who signed a manifest.
type SignerInfo struct {
	CommonName   string    `json:"common_name,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Subject      string    `json:"subject"`
	Issuer       string    `json:"issuer"`
	Serial       string    `json:"serial"`
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
	Algorithm    string    `json:"algorithm,omitempty"`
	Trusted      bool      `json:"trusted"`
	Development  bool      `json:"development"`
}

// ManifestSummary is one manifest of the store.
type ManifestSummary struct {
	Label             string                `json:"label"`
	Title             string                `json:"title,omitempty"`
	ClaimVersion      int                   `json:"claim_version"`
	Generator         string                `json:"claim_generator,omitempty"`
	GeneratorVersion  string                `json:"claim_generator_version,omitempty"`
	Signer            *SignerInfo           `json:"signer,omitempty"`
	SignedAt          *time.Time            `json:"signed_at,omitempty"`
	TimeStamp         *TimeStampInfo        `json:"time_stamp,omitempty"`
	DigitalSourceType string                `json:"digital_source_type,omitempty"`
	Actions           []manifest.Action     `json:"actions,omitempty"`
	Assertions        []string              `json:"assertions"`
	Ingredients       []IngredientSummary   `json:"ingredients,omitempty"`
	Status            *manifest.StatusCodes `json:"validation_results"`
}

// TimeStampInfo is the RFC 3161 time-stamp of a manifest's signature: a time-stamp authority
// (TSA) signed that the signature existed at Time. Only a validated time-stamp is reported. When
// Trusted, the signer's certificate was judged at Time rather than now.
type TimeStampInfo struct {
	Time          time.Time `json:"time"`
	TSA           string    `json:"tsa"` // the TSA certificate's subject
	TSACommonName string    `json:"tsa_common_name,omitempty"`
	TSAIssuer     string    `json:"tsa_issuer"`
	Trusted       bool      `json:"trusted"` // the TSA chains to one of your trust anchors
}

func timeStampInfo(ts *sign.TimeStamp) *TimeStampInfo {
	if ts == nil || ts.TSA == nil {
		return nil
	}
	return &TimeStampInfo{
		Time: ts.Time.UTC(), TSA: ts.TSA.Subject.String(), TSACommonName: ts.TSA.Subject.CommonName,
		TSAIssuer: ts.TSA.Issuer.String(), Trusted: ts.Trusted,
	}
}

// IngredientSummary is an ingredient of a manifest.
type IngredientSummary struct {
	Title          string `json:"title,omitempty"`
	Relationship   string `json:"relationship"`
	ActiveManifest string `json:"active_manifest,omitempty"`
	Validated      bool   `json:"validated"`
}

// Report is what Verify found, in plain words and in C2PA's status codes.
type Report struct {
	File    string  `json:"file,omitempty"`
	Format  string  `json:"format"`
	Verdict Verdict `json:"verdict"`
	// Summary says the verdict in one sentence for people.
	Summary string `json:"summary"`
	// Reasons lists, in plain words, why a label is invalid.
	Reasons []string `json:"reasons,omitempty"`
	// State is c2pa-rs's validation_state: Invalid, Valid or Trusted ("" when not labeled).
	State string `json:"validation_state,omitempty"`
	// AIGenerated is true when the active manifest's digital source type says AI made the
	// content (trainedAlgorithmicMedia and kin), or, without a valid manifest, the XMP says so.
	AIGenerated       bool        `json:"ai_generated"`
	DigitalSourceType string      `json:"digital_source_type,omitempty"`
	Model             string      `json:"model,omitempty"`
	Signer            *SignerInfo `json:"signer,omitempty"`
	SignedAt          *time.Time  `json:"signed_at,omitempty"` // from a time-stamp or iat, when present
	// TimeStamp is the active manifest's validated RFC 3161 time-stamp, nil without one.
	TimeStamp *TimeStampInfo `json:"time_stamp,omitempty"`
	// ClaimedAt is the time the signer wrote into the manifest's actions ("when"): signed, but
	// only the signer's word, unlike a time-stamp.
	ClaimedAt      *time.Time           `json:"claimed_at,omitempty"`
	ActiveManifest string               `json:"active_manifest,omitempty"`
	Status         manifest.StatusCodes `json:"validation_results"`
	Manifests      []ManifestSummary    `json:"manifests,omitempty"`
	// Metadata is the label found in XMP, which tools that read no C2PA rely on.
	Metadata *MetadataLabel `json:"metadata,omitempty"`
	// Notices are the human-readable warnings found in the content (text disclaimers).
	Notices []formats.NoticeText `json:"notices,omitempty"`
	// AIGC is China's implicit label (TC260 Annex E) when the content carries one.
	AIGC *AIGCLabel `json:"aigc,omitempty"`
	// Reservations are machine-readable reservations against AI training or data mining found
	// in the content (C2PA/CAWG training-mining assertions, XMP plus:DataMining).
	Reservations []Reservation `json:"reservations,omitempty"`
	// SoftBindings are the active manifest's soft bindings (fingerprints, watermarks), with
	// whether an ISCC fingerprint still matches the pixels.
	SoftBindings []SoftBinding `json:"soft_bindings,omitempty"`
	// Recovered is the manifest found through the content's fingerprint (VerifyOptions.Resolver)
	// when the content carries none.
	Recovered *RecoveredManifest `json:"recovered,omitempty"`
	// PossibleForgery is set when the content's watermark leads to a manifest that does not
	// belong to it (VerifyOptions.Resolver): never a label.
	PossibleForgery *PossibleForgery `json:"possible_forgery,omitempty"`
	// LabelKinds names every kind of label found: "c2pa", "iptc" (XMP DigitalSourceType),
	// "aigc" (China's TC260 metadata), "disclaimer" (a human-readable warning).
	LabelKinds []string `json:"label_kinds"`
	// Store is the raw manifest store, for inspect; not serialised.
	Store *manifest.Store `json:"-"`
}

// MetadataLabel is what the XMP packet says.
type MetadataLabel struct {
	DigitalSourceType string `json:"digital_source_type,omitempty"`
	CreatorTool       string `json:"creator_tool,omitempty"`
}

// AIGCLabel is the implicit label of China's labeling measures: a JSON object under the key
// "AIGC" (TC260 practice guides, Annex E of GB 45438-2025). It is unsigned metadata: it says
// what the producer claims, nothing more.
type AIGCLabel struct {
	Label           string `json:"Label"` // "1" AI-generated, "2" possibly, "3" suspected
	ContentProducer string `json:"ContentProducer,omitempty"`
	ProduceID       string `json:"ProduceID,omitempty"`
	Where           string `json:"where"` // "XMP TC260:AIGC" or "EXIF UserComment"
	Raw             string `json:"raw"`
}

// NSTC260 is the XMP namespace of the TC260 AIGC property.
const NSTC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"

// parseAIGC reads the AIGC JSON leniently (values may be strings or numbers; some producers write
// non-conforming values such as "Label":"AIGC"). wrapped is set for the EXIF form {"AIGC":{…}}.
func parseAIGC(raw, where string, wrapped bool) *AIGCLabel {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil
	}
	if wrapped {
		inner, ok := m["AIGC"].(map[string]any)
		if !ok {
			return nil
		}
		m = inner
	}
	str := func(k string) string {
		switch v := m[k].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	a := &AIGCLabel{Label: str("Label"), ContentProducer: str("ContentProducer"), ProduceID: str("ProduceID"), Where: where, Raw: raw}
	if a.Label == "" && a.ContentProducer == "" && a.ProduceID == "" {
		return nil
	}
	return a
}

// aiFromAIGC reads the Label value: "1" (and the non-conforming "AIGC") mean AI-generated.
func aiFromAIGC(a *AIGCLabel) bool {
	return a != nil && (a.Label == "1" || strings.EqualFold(a.Label, "AIGC"))
}

// Failures returns the failure codes.
func (r *Report) Failures() []string {
	var out []string
	for _, f := range r.Status.Failure {
		out = append(out, f.Code)
	}
	return out
}

// VerifyFile verifies the file at path.
func VerifyFile(ctx context.Context, path string, o VerifyOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	r, err := Verify(ctx, f, st.Size(), o)
	if r != nil {
		r.File = path
	}
	return r, err
}

// Verify checks the asset in r. It returns an error only when the content cannot be read as any
// supported format; a missing or invalid label is a Report, not an error.
func Verify(ctx context.Context, r io.ReaderAt, size int64, o VerifyOptions) (*Report, error) {
	r = ctxReaderAt{ctx, r}
	c, err := formats.Open(r, size)
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: c.Format().Name}
	defer rep.kinds()
	if nr, ok := c.(formats.NoticeReader); ok {
		rep.Notices = nr.Notices()
	}
	if p := c.XMP(); p != nil {
		if info, err := xmp.Parse(p); err == nil {
			if info.DigitalSourceType != "" || info.CreatorTool != "" {
				rep.Metadata = &MetadataLabel{DigitalSourceType: info.DigitalSourceType, CreatorTool: info.CreatorTool}
			}
			if v := info.Get(NSTC260, "AIGC"); v != "" {
				rep.AIGC = parseAIGC(v, "XMP TC260:AIGC", false)
			}
			if r := xmpReservation(info.Get(NSPLUS, "DataMining")); r != nil {
				rep.Reservations = append(rep.Reservations, *r)
			}
		}
	}
	if e := c.EXIF(); rep.AIGC == nil && e != nil {
		if f, err := exif.Parse(e); err == nil && strings.Contains(f.UserComment, `"AIGC"`) {
			rep.AIGC = parseAIGC(strings.TrimSpace(f.UserComment), "EXIF UserComment", true)
		}
	}
	if mr, ok := c.(formats.MetaKeyReader); ok && rep.AIGC == nil {
		for _, k := range mr.MetaKeys() {
			if k.Key == "AIGC" {
				rep.AIGC = parseAIGC(k.Value, "MP4 udta/meta AIGC", false)
				break
			}
		}
	}
	raw, err := c.ManifestStore()
	if errors.Is(err, formats.ErrNoManifest) {
		rep.Verdict = NotLabeled
		rep.Summary = "not labeled: no C2PA manifest"
		if rep.Metadata != nil && rep.Metadata.DigitalSourceType != "" {
			rep.AIGenerated = manifest.IsAI(rep.Metadata.DigitalSourceType)
			rep.DigitalSourceType = rep.Metadata.DigitalSourceType
			rep.Summary = "not labeled: only an IPTC tag in XMP (" + shortType(rep.DigitalSourceType) + "), no signed manifest"
		}
		if rep.AIGC != nil {
			rep.AIGenerated = rep.AIGenerated || aiFromAIGC(rep.AIGC)
			rep.Summary = fmt.Sprintf("not labeled: only China's AIGC metadata label (Label=%s, producer %q, in %s), no signed manifest",
				rep.AIGC.Label, rep.AIGC.ContentProducer, rep.AIGC.Where)
		}
		if len(rep.Notices) > 0 {
			rep.Summary = "not labeled: an AI disclaimer is shown, but there is no C2PA manifest"
		}
		if f := c.Format(); o.Resolver != nil && (strings.HasPrefix(f.MIME, "image/") || f.Binding == formats.BMFFHash) {
			var rec *RecoveredManifest
			var err error
			if strings.HasPrefix(f.MIME, "image/") {
				rec, err = recoverManifest(ctx, o.Resolver, r, size, o)
			} else {
				rec, err = recoverMedia(ctx, o.Resolver, c, r, size, o)
			}
			var forged *errForgery
			switch {
			case err == nil:
				rep.Recovered = rec
				rep.AIGenerated = rep.AIGenerated || rec.AIGenerated
				rep.Summary = recoveredSummary(rec)
			case errors.As(err, &forged):
				rep.PossibleForgery = forged.f
				rep.Summary += "; POSSIBLE FORGERY: " + forged.f.Reason
			case errors.Is(err, ErrNoMatch):
				rep.Summary += "; no manifest found by its content (watermark, fingerprint or media digest)"
			default:
				rep.Summary += "; looking its manifest up by its content failed: " + err.Error()
			}
		}
		return rep, nil
	}
	if err != nil {
		rep.invalid("manifest.inaccessible", "the C2PA manifest store cannot be read: "+err.Error())
		return rep, nil
	}
	st, err := manifest.ParseStore(raw)
	if err != nil {
		rep.invalid("claim.malformed", "the C2PA manifest store is damaged: "+err.Error())
		return rep, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := st.Validate(r, size, manifest.Options{Trust: o.Trust, Now: o.Now})
	rep.Store = st
	rep.State = res.State
	rep.ActiveManifest = res.ActiveManifest
	rep.Status = res.Active
	for _, mi := range res.Manifests {
		rep.Manifests = append(rep.Manifests, summarize(mi))
	}
	active := rep.Manifests[len(rep.Manifests)-1]
	if m := st.Active(); m != nil {
		rep.Reservations = append(manifestReservations(m), rep.Reservations...)
		var pic *pictureMarks
		var media func() ([]byte, error)
		if o.CheckSoftBindings {
			if strings.HasPrefix(c.Format().MIME, "image/") {
				pic = newPictureMarks(r, size)
			}
			if f := c.Format(); f.Binding == formats.BMFFHash && !strings.HasPrefix(f.MIME, "image/") {
				media = func() ([]byte, error) { return mediaDigestOf(c) }
			}
		}
		rep.SoftBindings = softBindings(m, pic, media)
	}
	rep.Signer, rep.SignedAt, rep.TimeStamp = active.Signer, active.SignedAt, active.TimeStamp
	rep.DigitalSourceType = active.DigitalSourceType
	rep.Model = modelOf(active.Actions)
	for _, a := range active.Actions {
		if t, err := time.Parse(time.RFC3339, a.When); err == nil {
			rep.ClaimedAt = &t
			break
		}
	}
	rep.AIGenerated = manifest.IsAI(rep.DigitalSourceType)
	if res.State == manifest.StateInvalid {
		rep.Verdict = Invalid
		for _, f := range res.Active.Failure {
			if f.Code == sign.CodeCredentialUntrusted {
				continue
			}
			why := plainReason(f)
			if f.Code == sign.CodeCredentialExpired && rep.TimeStamp != nil && !rep.TimeStamp.Trusted {
				why += "; it was time-stamped at " + rep.TimeStamp.Time.Format(time.RFC3339) +
					", but by an authority not on your trust list, so the certificate was judged now"
			}
			rep.Reasons = append(rep.Reasons, why)
		}
		rep.Summary = "invalid label: " + strings.Join(rep.Reasons, "; ")
	} else {
		rep.Verdict = Valid
		rep.Summary = validSummary(rep)
	}
	return rep, nil
}

// kinds fills LabelKinds from what was found.
func (r *Report) kinds() {
	r.LabelKinds = []string{}
	if r.Verdict != NotLabeled {
		r.LabelKinds = append(r.LabelKinds, "c2pa")
	}
	if r.Metadata != nil && r.Metadata.DigitalSourceType != "" {
		r.LabelKinds = append(r.LabelKinds, "iptc")
	}
	if r.AIGC != nil {
		r.LabelKinds = append(r.LabelKinds, "aigc")
	}
	if len(r.Notices) > 0 {
		r.LabelKinds = append(r.LabelKinds, "disclaimer")
	}
	for _, res := range r.Reservations {
		if res.Reserved {
			r.Summary += "; " + res.Summary()
		}
	}
}

// modelOf names the generating model: the software agent of the first action that carries a
// digital source type, or, for a manifest ailabel added over an earlier one, the model its
// description names.
func modelOf(actions []manifest.Action) string {
	for _, a := range actions {
		if a.SoftwareAgent != nil && a.DigitalSourceType != "" {
			if m, ok := strings.CutPrefix(a.Description, "labeled as AI-generated by "); ok {
				return m
			}
			return a.SoftwareAgent.Name
		}
	}
	return ""
}

// Err returns nil when the label is valid, and otherwise an error wrapping ErrNotLabeled or
// ErrInvalid that carries the summary.
func (r *Report) Err() error {
	switch r.Verdict {
	case Valid:
		return nil
	case NotLabeled:
		return fmt.Errorf("%w: %s", ErrNotLabeled, r.Summary)
	default:
		return fmt.Errorf("%w: %s", ErrInvalid, r.Summary)
	}
}

func (r *Report) invalid(code, why string) {
	r.Verdict = Invalid
	r.State = manifest.StateInvalid
	r.Status.Failure = append(r.Status.Failure, manifest.StatusEntry{Code: code, Explanation: why})
	r.Reasons = append(r.Reasons, why)
	r.Summary = "invalid label: " + why
}

func shortType(t string) string { return strings.TrimPrefix(t, manifest.IPTCPrefix) }

func validSummary(r *Report) string {
	var b strings.Builder
	b.WriteString("labeled and valid")
	if r.AIGenerated {
		b.WriteString(": AI-generated")
		if r.Model != "" {
			b.WriteString(" by " + r.Model)
		}
	} else if r.DigitalSourceType != "" {
		b.WriteString(": " + shortType(r.DigitalSourceType))
	}
	if s := r.Signer; s != nil {
		who := s.Organization
		if who == "" {
			who = s.CommonName
		}
		if s.Development {
			b.WriteString(", signed with the ailabel DEVELOPMENT key (not for production)")
			return b.String()
		}
		fmt.Fprintf(&b, ", signed by %s", who)
		switch {
		case s.Trusted:
			b.WriteString(" (trusted)")
		default:
			b.WriteString(" (signer not on your trust list)")
		}
	}
	switch {
	case r.TimeStamp != nil:
		who := r.TimeStamp.TSACommonName
		if who == "" {
			who = r.TimeStamp.TSA
		}
		fmt.Fprintf(&b, ", time-stamped by %s at %s", who, r.TimeStamp.Time.UTC().Format(time.RFC3339))
		if !r.TimeStamp.Trusted {
			b.WriteString(" (time-stamp authority not on your trust list)")
		}
	case r.SignedAt != nil:
		b.WriteString(" at " + r.SignedAt.UTC().Format(time.RFC3339))
	case r.ClaimedAt != nil:
		b.WriteString(" on " + r.ClaimedAt.UTC().Format(time.RFC3339) + " (time claimed by the signer, no time-stamp)")
	}
	return b.String()
}

// plainReason turns a failure status into words a moderator understands.
func plainReason(f manifest.StatusEntry) string {
	switch f.Code {
	case manifest.CodeDataHashMismatch, manifest.CodeBMFFHashMismatch:
		return "the content changed after signing (" + f.Code + ")"
	case manifest.CodeHashedURIMismatch:
		return "an assertion was altered after signing (" + f.Code + ")"
	case sign.CodeSignatureMismatch:
		return "the signature does not match the claim (" + f.Code + ")"
	case sign.CodeCredentialInvalid:
		return "the signing certificate is not acceptable: " + f.Explanation + " (" + f.Code + ")"
	case sign.CodeCredentialExpired:
		return "the signing certificate was not valid at signing time (" + f.Code + ")"
	case manifest.CodeAssertionMissing:
		return "an assertion the claim names is missing (" + f.Code + ")"
	}
	if f.Explanation != "" {
		return f.Explanation + " (" + f.Code + ")"
	}
	return f.Code
}

func summarize(mi *manifest.ManifestInfo) ManifestSummary {
	s := ManifestSummary{
		Label: mi.Label, Title: mi.Title, ClaimVersion: mi.ClaimVersion, Generator: mi.Generator,
		GeneratorVersion: mi.GeneratorVersion, DigitalSourceType: mi.DigitalSourceType,
		Actions: mi.Actions, Assertions: mi.Assertions,
	}
	st := mi.Status
	s.Status = &st
	if s.Assertions == nil {
		s.Assertions = []string{}
	}
	if mi.SignedBy != nil {
		s.Signer = signerInfo(mi.SignedBy, mi.Trusted, mi.Algorithm)
	}
	if !mi.SignedAt.IsZero() {
		t := mi.SignedAt
		s.SignedAt = &t
	}
	s.TimeStamp = timeStampInfo(mi.TimeStamp)
	for _, ing := range mi.Ingredients {
		s.Ingredients = append(s.Ingredients, IngredientSummary{Title: ing.Title, Relationship: ing.Relationship, ActiveManifest: ing.ActiveManifest, Validated: ing.Validated})
	}
	return s
}

func signerInfo(c *x509.Certificate, trusted bool, alg string) *SignerInfo {
	si := &SignerInfo{
		CommonName: c.Subject.CommonName, Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		Algorithm: alg, Trusted: trusted,
	}
	if len(c.Subject.Organization) > 0 {
		si.Organization = c.Subject.Organization[0]
	}
	si.Development = si.Organization == sign.DevOrganization
	return si
}
