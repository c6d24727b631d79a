package warning_test

import (
	"image"
	"slices"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/warning"
	"github.com/ailabel/ailabel/warning/warningtest"
)

// kazakhAlphabet is the Kazakh Cyrillic alphabet (42 letters): the Russian alphabet plus
// Ә Ғ Қ Ң Ө Ұ Ү Һ І.
const kazakhAlphabet = "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ"

func TestKazakhAlphabet(t *testing.T) {
	if n := len([]rune(kazakhAlphabet)); n != 42 {
		t.Fatalf("test alphabet has %d letters, want 42", n)
	}
	all := kazakhAlphabet + strings.ToLower(kazakhAlphabet)
	if miss := warning.Covers(all); len(miss) > 0 {
		t.Errorf("fonts lack Kazakh letters %q", string(miss))
	}
	for _, r := range all {
		spec := warning.Spec{Style: warning.Badge, Messages: []warning.Message{{Lang: "kk", Short: string(r)}}}
		ov, _, err := warning.Render(image.Rect(0, 0, 200, 200), spec)
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		spans, err := warningtest.InkSpans(ov, 2)
		if err != nil || len(spans) == 0 {
			t.Errorf("%q renders no ink: %v", r, err)
		}
	}
}

func TestBuiltinMessagesCovered(t *testing.T) {
	c := warning.Default()
	for _, l := range c.Languages() {
		m, _ := c.Lookup(l)
		for _, s := range []string{m.Short, m.Long, m.Modified, m.Disclosure} {
			if miss := warning.Covers(s); len(miss) > 0 {
				t.Errorf("%s: fonts lack %q in %q", l, string(miss), s)
			}
		}
	}
}

func TestCoversReportsMissing(t *testing.T) {
	// Arabic and Devanagari are in neither font (and need shaping anyway); an unassigned code
	// point and a private-use one have no glyph anywhere.
	got := warning.Covers("AI عربي ह \u0378\ue000 AI")
	want := []rune{'ع', 'ر', 'ب', 'ي', 'ह', '\u0378', '\ue000'}
	if !slices.Equal(got, want) {
		t.Errorf("Covers = %q, want %q", got, want)
	}
	// White space and invisible format characters are not tofu.
	if got := warning.Covers("A I\u00a0\u200d\u00ad\ufe0f\t生成"); len(got) > 0 {
		t.Errorf("Covers reported %q", got)
	}
	// Greek, Latin Extended and CJK are covered.
	if got := warning.Covers("ΤΝ ŁĘŻĄ șț ħ ġ ż Ā ō 人工智能生成合成 本內容 ひらがな カタカナ"); len(got) > 0 {
		t.Errorf("Covers reported %q", got)
	}
}
