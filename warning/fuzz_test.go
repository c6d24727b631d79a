package warning_test

import (
	"bytes"
	"encoding/json"
	"image"
	"math"
	"slices"
	"testing"

	"github.com/ailabel/ailabel/warning"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"messages":[{"lang":"kk","short":"ЖИ","long":"Жасанды интеллект жасаған мазмұн"}]}`))
	f.Add([]byte(`{"messages":[{"lang":"zh-Hant-TW","short":"AI生成","modified":"m","disclosure":"d"},{"lang":"en","long":"x"}]}`))
	f.Add([]byte(`{"messages":[]}`))
	f.Add([]byte(`{"messages":[{"lang":"kk"},{"lang":"kk-KZ","short":"x"}]}`))
	f.Add([]byte(`{"messages":null}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"messages":[{"lang":"en","long":"a\u0000b"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := warning.Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, m := range ms {
			if err := m.Validate(); err != nil {
				t.Fatalf("Parse accepted an invalid message: %v", err)
			}
		}
		// The result round-trips and merges into a catalogue.
		out, err := json.Marshal(map[string]any{"messages": ms})
		if err != nil {
			t.Fatal(err)
		}
		again, err := warning.Parse(bytes.NewReader(out))
		if err != nil || !slices.Equal(again, ms) {
			t.Fatalf("round trip: %v, %+v vs %+v", err, again, ms)
		}
		c := warning.Default().With(ms...)
		for _, m := range ms {
			if _, ok := c.Lookup(m.Lang); !ok {
				t.Fatalf("merged message %q not found", m.Lang)
			}
		}
	})
}

func FuzzRender(f *testing.F) {
	f.Add("ЖИ", "Жасанды интеллект жасаған мазмұн", uint16(200), uint16(100), uint8(0), uint8(0), 0.05)
	f.Add("AI生成", "本内容由人工智能生成", uint16(64), uint16(64), uint8(2), uint8(4), 0.0)
	f.Add("a", "supercalifragilisticexpialidocious", uint16(9), uint16(400), uint8(1), uint8(5), 0.3)
	f.Add(" ", "\u200d", uint16(50), uint16(50), uint8(1), uint8(6), 1.0)
	f.Fuzz(func(t *testing.T, short, long string, w, h uint16, style, place uint8, frac float64) {
		if w > 1500 || h > 1500 {
			return // keep each run fast
		}
		spec := warning.Spec{
			Style:         warning.Style(style % 4), // 3 is invalid
			Placement:     warning.Placement(place % 8),
			Messages:      []warning.Message{{Lang: "en", Short: short, Long: long, Modified: long}},
			MinTextHeight: frac,
		}
		bounds := image.Rect(0, 0, int(w), int(h))
		ov, at, err := warning.Render(bounds, spec)
		if err != nil {
			if ov != nil {
				t.Fatal("overlay with an error")
			}
			return
		}
		if bounds.Empty() || math.IsNaN(frac) || spec.Style > warning.EUIcon {
			t.Fatalf("no error for %v, %+v", bounds, spec)
		}
		if ov.Rect != at || !at.In(bounds) || at.Empty() {
			t.Fatalf("overlay %v, at %v, bounds %v", ov.Rect, at, bounds)
		}
	})
}
