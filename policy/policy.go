// Package policy describes, as data, what each jurisdiction's rules ask a label to contain: which
// machine-readable marks, which human-readable warnings (languages, style, placement, size, video
// duration), and where each requirement comes from.
//
// The built-in policies are kz (Kazakhstan, the default), eu and cn; they live in policies.json
// beside this file, and Parse reads a caller's own in the same form. The label package applies a
// policy to every format; `ailabel policies` prints them as tables.
package policy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Policy is one jurisdiction's labeling rules, as ailabel applies them.
type Policy struct {
	Name    string `json:"name"`     // short name: "kz", "eu", "cn"
	Title   string `json:"title"`    // the instruments it follows
	InForce string `json:"in_force"` // date the rules apply from (YYYY-MM-DD)
	// Languages of the human-readable warning, in display order (BCP 47 tags of the message
	// catalogue).
	Languages    []string      `json:"languages"`
	Image        ImageRule     `json:"image"`
	Video        VideoRule     `json:"video"`
	Text         TextRule      `json:"text"`
	Machine      MachineRule   `json:"machine"`
	Requirements []Requirement `json:"requirements"`
}

// ImageRule is the visible warning drawn onto images.
type ImageRule struct {
	// Style is "badge" (a corner badge with the short texts), "caption" (a band with the long
	// texts), "eu-icon" (the EU Code of Practice icon style) or "none".
	Style string `json:"style"`
	// Placement is "top-left", "top-right", "bottom-left", "bottom-right" (corners), "top" or
	// "bottom" (bands). Empty: the style's default.
	Placement string `json:"placement,omitempty"`
	// MinTextHeight is the least text height as a fraction of the picture's shortest side
	// (0.05 under GB 45438-2025); 0 leaves it to the renderer.
	MinTextHeight float64 `json:"min_text_height,omitempty"`
}

// VideoRule is the visible warning in video.
type VideoRule struct {
	// Captions adds a timed-text warning track (default and forced), one per language.
	Captions bool `json:"captions"`
	// Seconds is how long the warning shows from the start; 0 shows it throughout.
	Seconds float64 `json:"seconds"`
	// MinSeconds is the least duration the rules allow (2 under GB 45438-2025 §5.4).
	MinSeconds float64 `json:"min_seconds,omitempty"`
	// BurnIn draws the warning into the opening frames (ffmpeg re-encodes the opening group of
	// pictures) for players that ignore caption flags.
	BurnIn bool `json:"burn_in,omitempty"`
}

// TextRule is the visible warning in text, Markdown and HTML.
type TextRule struct {
	// Placement is "start", "end", "both" or "none".
	Placement string `json:"placement"`
}

// MachineRule says which machine-readable marks are written.
type MachineRule struct {
	C2PA bool `json:"c2pa"` // a signed C2PA manifest (always written: ailabel's core label)
	IPTC bool `json:"iptc"` // IPTC DigitalSourceType in XMP
	EXIF bool `json:"exif"` // EXIF ImageDescription/UserComment
	// AIGC writes China's implicit label (TC260 Annex E JSON) into XMP, EXIF and MP4 metadata.
	AIGC bool `json:"aigc,omitempty"`
	// Fingerprint adds the picture's ISCC Image-Code as a c2pa.soft-binding assertion, so the
	// manifest can be found again (in a repository) after the metadata is stripped.
	Fingerprint bool `json:"fingerprint,omitempty"`
}

// Requirement is one rule and what ailabel does for it.
type Requirement struct {
	Requirement string `json:"requirement"` // what the rule asks
	Source      string `json:"source"`      // where it comes from: law, article
	Does        string `json:"does"`        // what ailabel does for it
}

//go:embed policies.json
var builtinJSON []byte

// Default is the name of the policy applied when none is chosen: Kazakhstan's.
const Default = "kz"

// builtin is policies.json parsed once; callers get copies.
var builtin = sync.OnceValues(func() ([]*Policy, error) { return Parse(bytes.NewReader(builtinJSON)) })

// Builtin returns the built-in policies (kz, eu, cn) as fresh copies: callers may change them.
func Builtin() []*Policy {
	ps, err := builtin()
	if err != nil {
		panic("policy: the built-in policies.json is invalid: " + err.Error()) // caught by the tests
	}
	out := make([]*Policy, len(ps))
	for i, p := range ps {
		out[i] = p.Clone()
	}
	return out
}

// Clone returns a deep copy of p.
func (p *Policy) Clone() *Policy {
	c := *p
	c.Languages = slices.Clone(p.Languages)
	c.Requirements = slices.Clone(p.Requirements)
	return &c
}

// ByName returns the built-in policy with that name.
func ByName(name string) (*Policy, error) {
	var names []string
	for _, p := range Builtin() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("policy: no policy %q (built in: %s)", name, strings.Join(names, ", "))
}

// Parse reads policies in the form of policies.json: a JSON array of policies (or one policy
// object), and checks each.
func Parse(r io.Reader) ([]*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("policy: reading: %w", err)
	}
	if len(data) > 1<<20 {
		return nil, errors.New("policy: the policy file is over 1 MiB")
	}
	var ps []*Policy
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var p Policy
		if err := strictUnmarshal(data, &p); err != nil {
			return nil, err
		}
		ps = []*Policy{&p}
	} else if err := strictUnmarshal(data, &ps); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, p := range ps {
		if p == nil {
			return nil, fmt.Errorf("policy: entry %d is null", i)
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("policy: %q is defined twice", p.Name)
		}
		seen[p.Name] = true
	}
	return ps, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// Image styles and placements, as they are spelled in policy files.
var (
	ImageStyles     = []string{"badge", "caption", "eu-icon", "none"}
	ImagePlacements = []string{"top-left", "top-right", "bottom-left", "bottom-right", "top", "bottom"}
	TextPlacements  = []string{"start", "end", "both", "none"}
)

// Validate checks that a policy says something ailabel can do.
func (p *Policy) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("policy %q: "+format, append([]any{p.Name}, a...)...)
	}
	switch {
	case p.Name == "" || strings.ContainsAny(p.Name, " \t\n/"):
		return fmt.Errorf("policy: a policy needs a name without spaces or slashes (got %q)", p.Name)
	case len(p.Languages) == 0 && (p.Image.Style != "none" || p.Video.Captions || p.Text.Placement != "none"):
		return bad("a visible warning needs at least one language")
	case !slices.Contains(ImageStyles, p.Image.Style):
		return bad("image style %q is not one of %s", p.Image.Style, strings.Join(ImageStyles, ", "))
	case p.Image.Placement != "" && !slices.Contains(ImagePlacements, p.Image.Placement):
		return bad("image placement %q is not one of %s", p.Image.Placement, strings.Join(ImagePlacements, ", "))
	case p.Image.MinTextHeight < 0 || p.Image.MinTextHeight > 0.5:
		return bad("min_text_height %v is outside 0…0.5 of the shortest side", p.Image.MinTextHeight)
	case p.Video.Seconds < 0 || p.Video.MinSeconds < 0 || p.Video.Seconds > 24*3600:
		return bad("video seconds must be between 0 and a day")
	case p.Video.Seconds > 0 && p.Video.Seconds < p.Video.MinSeconds:
		return bad("the video warning lasts %v s, under the %v s the policy itself requires", p.Video.Seconds, p.Video.MinSeconds)
	case !slices.Contains(TextPlacements, p.Text.Placement):
		return bad("text placement %q is not one of %s", p.Text.Placement, strings.Join(TextPlacements, ", "))
	case !p.Machine.C2PA:
		return bad("machine.c2pa must be true: the signed C2PA manifest is ailabel's label")
	}
	for _, l := range p.Languages {
		if l == "" || len(l) > 35 {
			return bad("language tag %q is not a BCP 47 tag", l)
		}
	}
	for i, r := range p.Requirements {
		if r.Requirement == "" || r.Source == "" || r.Does == "" {
			return bad("requirement %d needs requirement, source and does", i+1)
		}
	}
	return nil
}
