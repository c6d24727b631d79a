package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestBuiltinPolicies(t *testing.T) {
	ps := Builtin()
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
		if len(p.Requirements) < 3 {
			t.Errorf("%s: only %d requirements", p.Name, len(p.Requirements))
		}
	}
	if !slices.Equal(names, []string{"kz", "eu", "cn"}) {
		t.Fatalf("built-in policies %v", names)
	}
	kz, _ := ByName(Default)
	if !slices.Equal(kz.Languages, []string{"kk", "ru", "en"}) || kz.Image.Style == "none" || !kz.Video.Captions {
		t.Errorf("kz must warn in Kazakh, Russian, then English on images and video: %+v", kz)
	}
	cn, _ := ByName("cn")
	if cn.Image.MinTextHeight < 0.05 || cn.Video.MinSeconds < 2 || cn.Video.Seconds < 2 || !cn.Machine.AIGC || cn.Languages[0] != "zh" {
		t.Errorf("cn: GB 45438 needs 5%% text, a 2 s video warning and the AIGC label in Chinese: %+v", cn)
	}
	eu, _ := ByName("eu")
	if eu.Image.Style != "eu-icon" {
		t.Errorf("eu: the Code of Practice icon style, got %q", eu.Image.Style)
	}
	if _, err := ByName("xx"); err == nil || !strings.Contains(err.Error(), "kz, eu, cn") {
		t.Errorf("unknown policy: %v", err)
	}
	// Builtin returns fresh copies: changing one does not change the next.
	ps[0].Languages[0] = "en"
	if again, _ := ByName("kz"); again.Languages[0] != "kk" {
		t.Error("Builtin shares state between calls")
	}
}

func TestParse(t *testing.T) {
	one := `{"name":"acme","languages":["en"],"image":{"style":"badge"},"video":{"captions":true,"seconds":3},
	  "text":{"placement":"end"},"machine":{"c2pa":true}}`
	ps, err := Parse(strings.NewReader(one))
	if err != nil || len(ps) != 1 || ps[0].Video.Seconds != 3 {
		t.Fatalf("%v %+v", err, ps)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"name":"a","languages":["en"],"image":{"style":"huge"},"text":{"placement":"end"},"machine":{"c2pa":true}}`, "image style"},
		{`{"name":"a","languages":["en"],"image":{"style":"badge"},"text":{"placement":"end"},"machine":{"c2pa":true},"colour":1}`, "unknown field"},
		{`{"name":"a","languages":[],"image":{"style":"badge"},"text":{"placement":"end"},"machine":{"c2pa":true}}`, "language"},
		{`{"name":"a","languages":["zh"],"image":{"style":"badge"},"video":{"captions":true,"seconds":1,"min_seconds":2},"text":{"placement":"end"},"machine":{"c2pa":true}}`, "under the 2 s"},
		{`{"name":"a","languages":["en"],"image":{"style":"badge"},"text":{"placement":"end"},"machine":{"c2pa":false}}`, "c2pa"},
		{`[` + one + `,` + one + `]`, "twice"},
		{`[null]`, "null"},
		{`not json`, "policy:"},
		{`{"name":"a","languages":["en"],"image":{"style":"badge","min_text_height":0.9},"text":{"placement":"end"},"machine":{"c2pa":true}}`, "min_text_height"},
	} {
		if _, err := Parse(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.in, err, tc.want)
		}
	}
	if _, err := Parse(strings.NewReader(`[` + strings.Repeat(" ", 2<<20) + `]`)); err == nil {
		t.Error("a policy file over 1 MiB was accepted")
	}
}
