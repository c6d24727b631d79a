package label_test

import (
	"testing"
	"time"

	"github.com/ailabel/ailabel/label"
)

func TestDisclosure(t *testing.T) {
	d := label.Disclosure{Mode: label.ModeAIOriginated, Model: `gpt "4"`, Provider: "Open AI", Date: time.Unix(1745286896, 0)}
	v := d.String()
	if v != `mode=ai-originated; model="gpt \"4\""; provider="Open AI"; date=@1745286896` {
		t.Fatalf("String = %s", v)
	}
	back, err := label.ParseDisclosure(v)
	if err != nil || back.Model != d.Model || back.Provider != d.Provider || !back.Date.Equal(d.Date) || back.Mode != d.Mode {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	// The draft's example, and a strict RFC 9651 dictionary with commas.
	for _, in := range []string{`mode=ai-originated; model="gpt-4"; provider="OpenAI"; reviewed-by="editorial-team"; date=@1745286896`,
		`mode=ai-originated, model="gpt-4", provider="OpenAI", reviewed-by="editorial-team", date=@1745286896`} {
		p, err := label.ParseDisclosure(in)
		if err != nil || p.Model != "gpt-4" || p.ReviewedBy != "editorial-team" || p.Date.Unix() != 1745286896 {
			t.Errorf("%s: %+v %v", in, p, err)
		}
	}
	for _, bad := range []string{``, `model="x"`, `mode=ai-originated; date=yesterday`, `mode=ai-originated; model="unterminated`} {
		if _, err := label.ParseDisclosure(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := (label.Disclosure{}).String(); got != "mode=ai-originated" {
		t.Errorf("zero Disclosure = %q", got)
	}
}

func FuzzParseDisclosure(f *testing.F) {
	f.Add(`mode=ai-originated; model="gpt-4"; provider="OpenAI"; date=@1745286896`)
	f.Add(`mode=none, model="a\"b"`)
	f.Fuzz(func(t *testing.T, v string) {
		d, err := label.ParseDisclosure(v)
		if err != nil {
			return
		}
		// What parses writes out and parses again to the same (printable ASCII) values.
		again, err := label.ParseDisclosure(d.String())
		if err != nil {
			t.Fatalf("%q → %q: %v", v, d.String(), err)
		}
		if printable(d.Model) && printable(d.Provider) && printable(d.Mode) && (again.Model != d.Model || again.Provider != d.Provider) {
			t.Fatalf("%q: %+v then %+v", v, d, again)
		}
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
