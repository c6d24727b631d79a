package warning_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ailabel/ailabel/warning"
)

// euLanguages are the 24 official languages of the EU.
var euLanguages = []string{"bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
	"hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv"}

func TestDefaultHasRequiredLanguages(t *testing.T) {
	c := warning.Default()
	langs := c.Languages()
	for _, l := range append([]string{"kk", "ru", "zh"}, euLanguages...) {
		if !slices.Contains(langs, l) {
			t.Errorf("Default() lacks %q; has %v", l, langs)
		}
	}
	if !slices.IsSorted(langs) {
		t.Errorf("Languages() not sorted: %v", langs)
	}
	if warning.Default() != c {
		t.Error("Default() built a new catalogue on the second call")
	}
}

func TestBuiltinMessagesComplete(t *testing.T) {
	c := warning.Default()
	for _, l := range c.Languages() {
		m, ok := c.Lookup(l)
		if !ok {
			t.Fatalf("Lookup(%q) of a listed language failed", l)
		}
		if m.Lang != l {
			t.Errorf("Lookup(%q).Lang = %q", l, m.Lang)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", l, err)
		}
		for name, s := range map[string]string{"Short": m.Short, "Long": m.Long, "Modified": m.Modified, "Disclosure": m.Disclosure} {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: %s is empty", l, name)
			}
			if s != strings.TrimSpace(s) || strings.Contains(s, "  ") {
				t.Errorf("%s: %s %q has stray spaces", l, name, s)
			}
		}
		if m.Long == m.Modified {
			t.Errorf("%s: Long and Modified are the same: %q", l, m.Long)
		}
		if n := utf8.RuneCountInString(m.Short); n > 6 {
			t.Errorf("%s: Short %q is %d runes, too long for a badge", l, m.Short, n)
		}
		first, _ := utf8.DecodeRuneInString(m.Long)
		if unicode.IsLetter(first) && unicode.IsLower(first) {
			t.Errorf("%s: Long %q starts with a lower-case letter", l, m.Long)
		}
	}
}

// The EU Code of Practice drafts ask for a two-letter acronym.
func TestEUShortIsTwoLetterAcronym(t *testing.T) {
	c := warning.Default()
	for _, l := range euLanguages {
		m, _ := c.Lookup(l)
		rs := []rune(m.Short)
		if len(rs) != 2 || !unicode.IsUpper(rs[0]) || !unicode.IsUpper(rs[1]) {
			t.Errorf("%s: Short %q is not a two-letter upper-case acronym", l, m.Short)
		}
	}
}

// GB 45438-2025: the label contains 人工智能 or AI, and 生成 or 合成.
func TestChineseWording(t *testing.T) {
	c := warning.Default()
	zh, ok := c.Lookup("zh")
	if !ok {
		t.Fatal("no zh message")
	}
	for name, s := range map[string]string{"Short": zh.Short, "Long": zh.Long, "Modified": zh.Modified} {
		if !strings.Contains(s, "AI") && !strings.Contains(s, "人工智能") {
			t.Errorf("zh %s %q lacks AI / 人工智能", name, s)
		}
		if !strings.Contains(s, "生成") && !strings.Contains(s, "合成") {
			t.Errorf("zh %s %q lacks 生成 / 合成", name, s)
		}
	}
	if zh.Short != "AI生成" {
		t.Errorf("zh Short = %q, want the standard's example 「AI生成」", zh.Short)
	}
	if !strings.Contains(zh.Modified, "合成") {
		t.Errorf("zh Modified %q should say 合成", zh.Modified)
	}
	for _, r := range zh.Long + zh.Modified + zh.Disclosure {
		if strings.ContainsRune("內慧務", r) {
			t.Errorf("zh (Simplified) uses the Traditional character %q", r)
		}
	}
}

func TestKazakhRussianWording(t *testing.T) {
	c := warning.Default()
	kk, _ := c.Lookup("kk")
	ru, _ := c.Lookup("ru")
	if kk.Short != "ЖИ" || ru.Short != "ИИ" {
		t.Errorf("Short kk=%q ru=%q, want ЖИ and ИИ", kk.Short, ru.Short)
	}
	if kk.Long != "Жасанды интеллект жасаған мазмұн" {
		t.Errorf("kk Long = %q", kk.Long)
	}
	if ru.Long != "Создано с помощью искусственного интеллекта" {
		t.Errorf("ru Long = %q", ru.Long)
	}
	// Kazakh texts must use Kazakh letters, not look-alike Latin ones.
	for _, s := range []string{kk.Short, kk.Long, kk.Modified, kk.Disclosure, ru.Short, ru.Long, ru.Modified, ru.Disclosure} {
		for _, r := range s {
			if unicode.Is(unicode.Latin, r) {
				t.Errorf("%q contains the Latin letter %q", s, r)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	c := warning.Default()
	for _, tc := range []struct{ in, want string }{
		{"kk", "kk"}, {"kk-KZ", "kk"}, {"KK-kz", "kk"}, {"ru-RU", "ru"}, {"ru-KZ", "ru"},
		{"en-GB", "en"}, {"de-AT", "de"}, {"zh", "zh"}, {"zh-CN", "zh"}, {"zh-Hans", "zh"},
		{"zh-Hans-CN", "zh"}, {"zh-TW", "zh-Hant"}, {"zh-HK", "zh-Hant"}, {"zh-Hant", "zh-Hant"},
		{"pt-BR", "pt"}, {"el-CY", "el"},
	} {
		m, ok := c.Lookup(tc.in)
		if !ok || m.Lang != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tc.in, m.Lang, ok, tc.want)
		}
	}
	for _, in := range []string{"", "xx", "kk-Latn", "sr", "und", "not a tag", "ja"} {
		if m, ok := c.Lookup(in); ok {
			t.Errorf("Lookup(%q) found %q", in, m.Lang)
		}
	}
	var nilCat *warning.Catalogue
	if _, ok := nilCat.Lookup("kk"); ok {
		t.Error("nil catalogue found a message")
	}
}

func TestMessages(t *testing.T) {
	c := warning.Default()
	ms, err := c.Messages("kk", "ru", "en")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Lang != "kk" || ms[1].Lang != "ru" || ms[2].Lang != "en" {
		t.Errorf("Messages order wrong: %+v", ms)
	}
	if _, err := c.Messages("kk", "tlh"); err == nil || !strings.Contains(err.Error(), "tlh") {
		t.Errorf("Messages with an unknown language: err = %v", err)
	}
}

func TestWith(t *testing.T) {
	base := warning.Default()
	before := base.Languages()
	kkBefore, _ := base.Lookup("kk")

	c := base.With(
		warning.Message{Lang: "kk", Long: "ЖИ көмегімен жасалды"}, // override one field
		warning.Message{Lang: "uz", Short: "SI", Long: "Sun'iy intellekt yaratgan kontent"},
		warning.Message{Lang: "kk-KZ", Short: "ЖИ!"},                                 // new regional tag inherits from kk
		warning.Message{Lang: "not a tag!", Short: "x"},                              // skipped
		warning.Message{Lang: "e\u0301n", Long: "x"},                                 // skipped
		warning.Message{Lang: "fr", Long: "Contenu ge\u0301ne\u0301re\u0301 par IA"}, // normalised to NFC
	)
	kk, _ := c.Lookup("kk")
	if kk.Long != "ЖИ көмегімен жасалды" || kk.Short != kkBefore.Short || kk.Modified != kkBefore.Modified || kk.Disclosure != kkBefore.Disclosure {
		t.Errorf("override of kk.Long: got %+v", kk)
	}
	uz, ok := c.Lookup("uz")
	if !ok || uz.Short != "SI" || uz.Modified != "" {
		t.Errorf("new language uz: %+v, %v", uz, ok)
	}
	kkKZ, ok := c.Lookup("kk-KZ")
	if !ok || kkKZ.Lang != "kk-KZ" || kkKZ.Short != "ЖИ!" || kkKZ.Long != "ЖИ көмегімен жасалды" {
		t.Errorf("kk-KZ: %+v, %v (want Short override and Long from the overridden kk)", kkKZ, ok)
	}
	fr, _ := c.Lookup("fr")
	if fr.Long != "Contenu généré par IA" {
		t.Errorf("fr Long not NFC: %q", fr.Long)
	}
	if slices.Contains(c.Languages(), "not a tag!") || len(c.Languages()) != len(before)+2 {
		t.Errorf("languages after With: %v", c.Languages())
	}
	// The receiver is unchanged.
	if got, _ := base.Lookup("kk"); got != kkBefore {
		t.Errorf("With changed its receiver: kk = %+v", got)
	}
	if !slices.Equal(base.Languages(), before) {
		t.Error("With changed its receiver's languages")
	}
	// Languages returns a copy.
	ls := c.Languages()
	ls[0] = "zz"
	if c.Languages()[0] == "zz" {
		t.Error("Languages exposes the catalogue's slice")
	}
	// Later messages win.
	c2 := (*warning.Catalogue)(nil).With(warning.Message{Lang: "en", Short: "A"}, warning.Message{Lang: "en", Short: "B"})
	if m, _ := c2.Lookup("en"); m.Short != "B" {
		t.Errorf("later message did not win: %q", m.Short)
	}
}

func TestCatalogueConcurrentUse(t *testing.T) {
	c := warning.Default()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, ok := c.Lookup("kk-KZ"); !ok {
					t.Error("concurrent Lookup failed")
				}
				c.Languages()
				d := c.With(warning.Message{Lang: "uz", Short: fmt.Sprint(i)})
				if m, _ := d.Lookup("uz"); m.Short != fmt.Sprint(i) {
					t.Errorf("goroutine %d saw %q", i, m.Short)
				}
			}
		}()
	}
	wg.Wait()
}

func TestParse(t *testing.T) {
	good := `{"messages": [
		{"lang": "kk-kz", "long": "Жасанды интеллект көмегімен жасалды"},
		{"lang": "uz", "short": "SI", "long": "Sun'iy intellekt yaratgan kontent", "modified": "m", "disclosure": "d"}
	]}`
	ms, err := warning.Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Lang != "kk-KZ" || ms[0].Long != "Жасанды интеллект көмегімен жасалды" || ms[1].Disclosure != "d" {
		t.Fatalf("Parse = %+v", ms)
	}
	c := warning.Default().With(ms...)
	if m, _ := c.Lookup("kk-KZ"); m.Short != "ЖИ" || m.Long != "Жасанды интеллект көмегімен жасалды" {
		t.Errorf("parsed override: %+v", m)
	}

	long := strings.Repeat("я", warning.MaxTextRunes+1)
	many := `{"messages":[` + strings.TrimSuffix(strings.Repeat(`{"lang":"en","short":"A"},`, warning.MaxMessages+1), ",") + `]}`
	for name, tc := range map[string]struct{ in, want string }{
		"empty":         {``, "EOF"},
		"not object":    {`[]`, "cannot unmarshal"},
		"no messages":   {`{}`, `no "messages"`},
		"unknown field": {`{"messages":[{"lang":"en","lnog":"x"}]}`, "lnog"},
		"unknown top":   {`{"messages":[],"extra":1}`, "extra"},
		"no lang":       {`{"messages":[{"short":"AI"}]}`, "no language tag"},
		"bad lang":      {`{"messages":[{"lang":"english!","short":"AI"}]}`, "english!"},
		"und":           {`{"messages":[{"lang":"und","short":"AI"}]}`, "names no language"},
		"no text":       {`{"messages":[{"lang":"en"}]}`, "no text"},
		"blank text":    {`{"messages":[{"lang":"en","long":"   "}]}`, "white space"},
		"control":       {`{"messages":[{"lang":"en","long":"a\nb"}]}`, "control character"},
		"too long":      {`{"messages":[{"lang":"en","long":"` + long + `"}]}`, "runes"},
		"duplicate":     {`{"messages":[{"lang":"kk","short":"A"},{"lang":"kk-kz","short":"B"},{"lang":"KK","short":"C"}]}`, "given twice (messages 1 and 3)"},
		"trailing":      {`{"messages":[]} {}`, "after the JSON"},
		"bad utf8":      {"{\"messages\":[{\"lang\":\"en\",\"long\":\"\xff\"}]}", "UTF-8"},
		"too many":      {many, "limit"},
		"huge":          {`{"messages":[{"lang":"en","long":"` + strings.Repeat("a", warning.MaxMessagesFileSize) + `"}]}`, "larger than"},
		"null message":  {`{"messages":[null]}`, "no language tag"},
		"wrong type":    {`{"messages":[{"lang":"en","short":5}]}`, "cannot unmarshal"},
	} {
		_, err := warning.Parse(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, tc.want)
		} else if !strings.HasPrefix(err.Error(), "warning: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := warning.Parse(errReader{boom})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want wrapped boom", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// The documented file format round-trips through encoding/json.
func TestParseRoundTrip(t *testing.T) {
	c := warning.Default()
	var ms []warning.Message
	for _, l := range c.Languages() {
		m, _ := c.Lookup(l)
		ms = append(ms, m)
	}
	data, err := json.Marshal(map[string]any{"messages": ms})
	if err != nil {
		t.Fatal(err)
	}
	got, err := warning.Parse(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ms) {
		t.Error("round trip of the built-in messages changed them")
	}
}
