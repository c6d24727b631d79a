package label

import (
	"strings"
	"time"

	"github.com/ailabel/ailabel/formats"
)

// captionDuration is how long the caption warning stays on screen when the notice asks for it
// at the start only: at least the 2 s the cn rule asks for, long enough to read three languages.
const captionDuration = 5 * time.Second

// videoWarning returns what a video carries besides XMP: a caption per notice text (shown for
// the opening captionDuration when the notice is placed at the start, throughout otherwise), and
// user-data metadata (title, comment, description) naming the model.
func videoWarning(o Options) ([]formats.Caption, *formats.MediaInfo) {
	var caps []formats.Caption
	if o.Notice != nil {
		d := time.Duration(0) // the whole movie
		if o.Notice.Placement == "" || o.Notice.Placement == "start" {
			d = captionDuration
		}
		for _, t := range o.Notice.Texts {
			caps = append(caps, formats.Caption{Lang: t.Lang, Text: t.Text, Duration: d})
		}
	}
	texts := make([]string, len(disclosure))
	for i, d := range disclosure {
		texts[i] = withModel(d.Text, o.Model)
	}
	m := &formats.MediaInfo{
		Title:       withModel("AI-generated video", o.Model),
		Comment:     strings.Join(texts, " / "),
		Description: withModel(disclosure[len(disclosure)-1].Text, o.Model),
	}
	return caps, m
}
