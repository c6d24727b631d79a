package label

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/xmp"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/warning"
)

// resolved is what one call applies: the policy, the warning texts in the policy's (or the
// caller's) languages, and the human-readable warnings they make for each kind of content.
type resolved struct {
	pol      *policy.Policy
	messages []warning.Message
	modified bool            // composite content: the "AI-modified" texts
	notice   *formats.Notice // text, Markdown, HTML disclaimer; nil for none
	badge    *warning.Spec   // drawn onto images; nil for none
	captions bool            // a caption track in video
	seconds  float64         // how long the video warning shows; 0 throughout
}

// resolveCache keeps what resolve makes of a labeler's own defaults (no policy, languages,
// catalogue or notice of the call's own), which is what most calls use; resolve is about a
// tenth of the labeling of a short text. Indexed by NoNotice and by composite content.
type resolveCache [2][2]atomic.Pointer[resolved]

// resolve is resolve(o, dst), from the cache when o's policy, languages, catalogue and notice
// are the labeler's defaults. The result is shared: it must not be modified.
func (l *Labeler) resolve(o Options, dst string) (*resolved, error) {
	d := &l.defaults
	if o.Policy != d.Policy || o.Messages != d.Messages || o.Notice != d.Notice || !sameSlice(o.Languages, d.Languages) {
		return resolve(o, dst)
	}
	p := &l.resolved[b2i(o.NoNotice)][b2i(isComposite(dst))]
	if rv := p.Load(); rv != nil {
		return rv, nil
	}
	rv, err := resolve(o, dst)
	if err != nil {
		return nil, err
	}
	p.Store(rv)
	return rv, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sameSlice reports whether a and b are the same slice (not merely equal elements).
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// resolve applies the policy to merged options (see merge).
func resolve(o Options, dst string) (*resolved, error) {
	pol := o.Policy
	if pol == nil {
		var err error
		if pol, err = policy.ByName(policy.Default); err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
	}
	langs := o.Languages
	if len(langs) == 0 {
		langs = pol.Languages
	}
	cat := o.Messages
	if cat == nil {
		cat = warning.Default()
	}
	msgs, err := cat.Messages(langs...)
	if err != nil {
		return nil, fmt.Errorf("label: the warning texts: %w", err)
	}
	// The texts describe the content in its metadata even when no warning is shown.
	r := &resolved{pol: pol, messages: msgs, modified: isComposite(dst), captions: pol.Video.Captions, seconds: pol.Video.Seconds}
	if o.NoNotice {
		r.captions = false
		return r, nil
	}
	switch {
	case o.Notice != nil:
		r.notice = o.Notice
	case pol.Text.Placement != "none":
		r.notice = &formats.Notice{Placement: pol.Text.Placement}
		for _, m := range msgs {
			r.notice.Texts = append(r.notice.Texts, formats.NoticeText{Lang: m.Lang, Text: r.long(m)})
		}
	}
	if pol.Image.Style != "none" {
		style, err := warning.ParseStyle(pol.Image.Style)
		if err != nil {
			return nil, fmt.Errorf("label: policy %s: %w", pol.Name, err)
		}
		place := warning.Auto
		if pol.Image.Placement != "" {
			if place, err = warning.ParsePlacement(pol.Image.Placement); err != nil {
				return nil, fmt.Errorf("label: policy %s: %w", pol.Name, err)
			}
		}
		r.badge = &warning.Spec{Style: style, Placement: place, Messages: msgs, MinTextHeight: pol.Image.MinTextHeight, Modified: r.modified}
	}
	return r, nil
}

// description is the warning sentence in each language, naming the model, for metadata (XMP
// dc:description, EXIF, video comments); English is added when the languages lack it, for the
// many tools that show only one.
func (r *resolved) description(model string) []xmp.LangText {
	var out []xmp.LangText
	hasEnglish := false
	for _, m := range r.messages {
		out = append(out, xmp.LangText{Lang: m.Lang, Text: withModel(r.long(m), model)})
		hasEnglish = hasEnglish || m.Lang == "en"
	}
	if !hasEnglish {
		en := "AI-generated content"
		if r.modified {
			en = "AI-modified content"
		}
		out = append(out, xmp.LangText{Lang: "en", Text: withModel(en, model)})
	}
	return out
}

// long is a message's warning sentence for this content.
func (r *resolved) long(m warning.Message) string {
	if r.modified && m.Modified != "" {
		return m.Modified
	}
	return m.Long
}

func isComposite(dst string) bool {
	return dst == manifest.SourceCompositeWithTrainedAlgorithmic || dst == manifest.SourceCompositeSynthetic
}

// videoWarning returns what a video carries besides XMP: a caption per language (shown for the
// policy's opening seconds, or throughout), and user-data metadata (title, comment,
// description) naming the model, with China's AIGC label under the cn policy.
func (r *resolved) videoWarning(o Options, aigc string) ([]formats.Caption, *formats.MediaInfo) {
	var caps []formats.Caption
	if r.captions {
		d := time.Duration(r.seconds * float64(time.Second))
		if o.Notice != nil {
			for _, t := range o.Notice.Texts {
				caps = append(caps, formats.Caption{Lang: t.Lang, Text: t.Text, Duration: d})
			}
		} else {
			for _, m := range r.messages {
				caps = append(caps, formats.Caption{Lang: m.Lang, Text: r.long(m), Duration: d})
			}
		}
	}
	desc := r.description(o.Model)
	texts := make([]string, len(desc))
	for i, d := range desc {
		texts[i] = d.Text
	}
	m := &formats.MediaInfo{
		Title:       withModel("AI-generated video", o.Model),
		Comment:     strings.Join(texts, " / "),
		Description: desc[len(desc)-1].Text,
	}
	if aigc != "" {
		m.Keys = []formats.MetaKey{{Key: "AIGC", Value: aigc}}
	}
	return caps, m
}

// aigcJSON is China's implicit label (GB 45438-2025 Annex E): seven keys in the standard's order,
// Label "1" (AI-generated), the provider's code as ContentProducer, and the asset's instance ID
// as ProduceID; the propagation fields are left to platforms.
func aigcJSON(provider, produceID string) string {
	type aigc struct {
		Label             string `json:"Label"`
		ContentProducer   string `json:"ContentProducer"`
		ProduceID         string `json:"ProduceID"`
		ReservedCode1     string `json:"ReservedCode1"`
		ContentPropagator string `json:"ContentPropagator"`
		PropagateID       string `json:"PropagateID"`
		ReservedCode2     string `json:"ReservedCode2"`
	}
	b, _ := json.Marshal(aigc{Label: "1", ContentProducer: provider, ProduceID: produceID})
	return string(b)
}
