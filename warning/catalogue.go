package warning

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Message holds the human-readable warning texts of one language.
type Message struct {
	// Lang is the BCP 47 language tag: "kk", "ru", "en", "zh", "de", "zh-Hant", ….
	Lang string `json:"lang"`
	// Short is the badge text, the localised acronym: kk "ЖИ", ru "ИИ", en "AI", zh "AI生成",
	// de "KI", fr "IA".
	Short string `json:"short,omitempty"`
	// Long is the warning sentence for AI-generated content: en "AI-generated content".
	Long string `json:"long,omitempty"`
	// Modified is the warning sentence for content that AI modified or that combines human and
	// AI-made parts (IPTC compositeWithTrainedAlgorithmicMedia): en "AI-modified content".
	Modified string `json:"modified,omitempty"`
	// Disclosure tells the user that a product or service uses AI (Kazakhstan, Law on AI
	// Art. 21 p. 1): en "This service uses artificial intelligence".
	Disclosure string `json:"disclosure,omitempty"`
}

// Limits on messages, checked by Parse, Message.Validate and Render.
const (
	// MaxTextRunes is the longest text a Message field may hold, in runes.
	MaxTextRunes = 500
	// MaxMessagesFileSize is the largest messages file Parse reads, in bytes.
	MaxMessagesFileSize = 1 << 20
	// MaxMessages is the most messages one file may hold.
	MaxMessages = 256
	maxTagLen   = 64
)

// fields returns the message's texts with their JSON names, in a fixed order.
func (m Message) fields() [4]struct{ name, text string } {
	return [4]struct{ name, text string }{
		{"short", m.Short}, {"long", m.Long}, {"modified", m.Modified}, {"disclosure", m.Disclosure},
	}
}

// Validate checks that m has a valid BCP 47 language tag (well-formed, with registered
// subtags: "kk", "kk-KZ", "zh-Hant"; not "und") and at least one text, and that
// every text is valid UTF-8 of at most MaxTextRunes runes without control characters. It does
// not check that the embedded fonts can draw the texts (see Covers).
func (m Message) Validate() error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("warning: %w", err)
	}
	return nil
}

func (m Message) validate() error {
	if _, err := canonicalTag(m.Lang); err != nil {
		return err
	}
	empty := true
	for _, f := range m.fields() {
		if f.text == "" {
			continue
		}
		empty = false
		if err := checkText(f.text); err != nil {
			return fmt.Errorf("message %q, field %s: %w", m.Lang, f.name, err)
		}
	}
	if empty {
		return fmt.Errorf("message %q has no text", m.Lang)
	}
	return nil
}

// checkText checks one text for encoding, length and control characters.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxTextRunes {
		return fmt.Errorf("text has %d runes, more than the limit of %d", n, MaxTextRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("text contains the control character %U", r)
		}
	}
	if strings.TrimSpace(s) == "" {
		return errors.New("text is only white space")
	}
	return nil
}

// canonicalTag parses a BCP 47 tag and returns its canonical form ("kk-kz" → "kk-KZ").
func canonicalTag(lang string) (language.Tag, error) {
	if lang == "" {
		return language.Und, errors.New("message has no language tag")
	}
	if len(lang) > maxTagLen {
		return language.Und, fmt.Errorf("language tag of %d bytes is longer than %d", len(lang), maxTagLen)
	}
	t, err := language.Parse(lang)
	if err != nil {
		return language.Und, fmt.Errorf("language tag %q: %w", lang, err)
	}
	if t == language.Und {
		return language.Und, fmt.Errorf("language tag %q names no language", lang)
	}
	return t, nil
}

// Catalogue is a set of messages keyed by language. It is immutable once built and safe for
// concurrent use; With returns a new Catalogue.
type Catalogue struct {
	msgs  map[string]Message // by canonical tag
	langs []string           // sorted keys of msgs
}

// builtinMessages returns the built-in texts. Kazakh, Russian, English and Chinese were written
// for the laws ailabel targets (see the notes at each); the other languages are plain
// translations of the English texts that native speakers should review.
func builtinMessages() []Message {
	return []Message{
		// Kazakh. Law No. 230-VIII «Жасанды интеллект туралы» Art. 21 asks for a visual warning
		// (ескерту) the user can perceive but prescribes no wording. «ЖИ» is the usual Kazakh
		// acronym of «жасанды интеллект» (artificial intelligence). Long is the project's
		// suggested default «Жасанды интеллект жасаған мазмұн» ("content that artificial
		// intelligence made"); Modified follows it with өзгерткен ("changed"). Disclosure serves
		// Art. 21 p. 1 (users are told that a service uses AI).
		{Lang: "kk", Short: "ЖИ",
			Long:       "Жасанды интеллект жасаған мазмұн",
			Modified:   "Жасанды интеллект өзгерткен мазмұн",
			Disclosure: "Бұл қызмет жасанды интеллектті пайдаланады"},
		// Russian, the language officially used on a par with Kazakh. «ИИ» = «искусственный
		// интеллект», the abbreviation the Russian text of the law uses («системы ИИ»). Long is the
		// project's suggested default; media use the shorter «Создано ИИ».
		{Lang: "ru", Short: "ИИ",
			Long:       "Создано с помощью искусственного интеллекта",
			Modified:   "Изменено с помощью искусственного интеллекта",
			Disclosure: "Этот сервис использует искусственный интеллект"},
		// English; the EU Code of Practice's two-letter acronym in its base language.
		{Lang: "en", Short: "AI",
			Long:       "AI-generated content",
			Modified:   "AI-modified content",
			Disclosure: "This service uses artificial intelligence"},
		// Simplified Chinese. GB 45438-2025 wants an explicit label whose text contains 人工智能 or
		// AI together with 生成 and/or 合成; its examples are 「AI生成」 and 「人工智能生成」. Short is
		// 「AI生成」 verbatim. Modified uses 合成 (synthesised), the standard's word for content that
		// AI produced by combining or editing material (生成合成内容).
		{Lang: "zh", Short: "AI生成",
			Long:       "本内容由人工智能生成",
			Modified:   "本内容含人工智能合成内容",
			Disclosure: "本服务使用人工智能技术"},
		// Traditional Chinese (Taiwan usage, 人工智慧); chosen by Lookup for zh-TW, zh-HK, zh-Hant.
		{Lang: "zh-Hant", Short: "AI生成",
			Long:       "本內容由人工智慧生成",
			Modified:   "本內容含人工智慧合成內容",
			Disclosure: "本服務使用人工智慧技術"},

		// The other official languages of the EU. Short is the acronym the language's version of
		// the AI Act uses where one exists (KI-System, système d'IA, sistema di IA, MI-rendszer, …).
		{Lang: "bg", Short: "ИИ",
			Long:       "Съдържание, генерирано от изкуствен интелект",
			Modified:   "Съдържание, променено от изкуствен интелект",
			Disclosure: "Тази услуга използва изкуствен интелект"},
		{Lang: "cs", Short: "AI",
			Long:       "Obsah vytvořený umělou inteligencí",
			Modified:   "Obsah upravený umělou inteligencí",
			Disclosure: "Tato služba využívá umělou inteligenci"},
		{Lang: "da", Short: "AI",
			Long:       "AI-genereret indhold",
			Modified:   "AI-redigeret indhold",
			Disclosure: "Denne tjeneste bruger kunstig intelligens"},
		{Lang: "de", Short: "KI",
			Long:       "KI-generierter Inhalt",
			Modified:   "KI-bearbeiteter Inhalt",
			Disclosure: "Dieser Dienst nutzt künstliche Intelligenz"},
		{Lang: "el", Short: "ΤΝ",
			Long:       "Περιεχόμενο που δημιουργήθηκε με τεχνητή νοημοσύνη",
			Modified:   "Περιεχόμενο που τροποποιήθηκε με τεχνητή νοημοσύνη",
			Disclosure: "Αυτή η υπηρεσία χρησιμοποιεί τεχνητή νοημοσύνη"},
		{Lang: "es", Short: "IA",
			Long:       "Contenido generado por inteligencia artificial",
			Modified:   "Contenido modificado por inteligencia artificial",
			Disclosure: "Este servicio utiliza inteligencia artificial"},
		{Lang: "et", Short: "TI",
			Long:       "Tehisintellekti loodud sisu",
			Modified:   "Tehisintellekti abil muudetud sisu",
			Disclosure: "See teenus kasutab tehisintellekti"},
		{Lang: "fi", Short: "AI",
			Long:       "Tekoälyn luoma sisältö",
			Modified:   "Tekoälyllä muokattu sisältö",
			Disclosure: "Tämä palvelu käyttää tekoälyä"},
		{Lang: "fr", Short: "IA",
			Long:       "Contenu généré par intelligence artificielle",
			Modified:   "Contenu modifié par intelligence artificielle",
			Disclosure: "Ce service utilise l’intelligence artificielle"},
		{Lang: "ga", Short: "IS",
			Long:       "Ábhar a ghin intleacht shaorga",
			Modified:   "Ábhar a d’athraigh intleacht shaorga",
			Disclosure: "Úsáideann an tseirbhís seo intleacht shaorga"},
		{Lang: "hr", Short: "UI",
			Long:       "Sadržaj generiran umjetnom inteligencijom",
			Modified:   "Sadržaj izmijenjen umjetnom inteligencijom",
			Disclosure: "Ova usluga koristi umjetnu inteligenciju"},
		{Lang: "hu", Short: "MI",
			Long:       "Mesterséges intelligencia által létrehozott tartalom",
			Modified:   "Mesterséges intelligencia által módosított tartalom",
			Disclosure: "Ez a szolgáltatás mesterséges intelligenciát használ"},
		{Lang: "it", Short: "IA",
			Long:       "Contenuto generato dall’intelligenza artificiale",
			Modified:   "Contenuto modificato dall’intelligenza artificiale",
			Disclosure: "Questo servizio utilizza l’intelligenza artificiale"},
		{Lang: "lt", Short: "DI",
			Long:       "Dirbtinio intelekto sukurtas turinys",
			Modified:   "Dirbtinio intelekto pakeistas turinys",
			Disclosure: "Ši paslauga naudoja dirbtinį intelektą"},
		{Lang: "lv", Short: "MI",
			Long:       "Mākslīgā intelekta radīts saturs",
			Modified:   "Mākslīgā intelekta pārveidots saturs",
			Disclosure: "Šis pakalpojums izmanto mākslīgo intelektu"},
		{Lang: "mt", Short: "IA",
			Long:       "Kontenut iġġenerat mill-intelliġenza artifiċjali",
			Modified:   "Kontenut modifikat mill-intelliġenza artifiċjali",
			Disclosure: "Dan is-servizz juża l-intelliġenza artifiċjali"},
		{Lang: "nl", Short: "AI",
			Long:       "Door AI gegenereerde inhoud",
			Modified:   "Door AI bewerkte inhoud",
			Disclosure: "Deze dienst maakt gebruik van kunstmatige intelligentie"},
		// Polish: "SI" (sztuczna inteligencja) is common in Polish writing; the Polish text of the AI
		// Act itself says "system AI", so "AI" is the alternative if reviewers prefer the law's form.
		{Lang: "pl", Short: "SI",
			Long:       "Treść wygenerowana przez sztuczną inteligencję",
			Modified:   "Treść zmodyfikowana przez sztuczną inteligencję",
			Disclosure: "Ta usługa korzysta ze sztucznej inteligencji"},
		{Lang: "pt", Short: "IA",
			Long:       "Conteúdo gerado por inteligência artificial",
			Modified:   "Conteúdo modificado por inteligência artificial",
			Disclosure: "Este serviço utiliza inteligência artificial"},
		{Lang: "ro", Short: "IA",
			Long:       "Conținut generat de inteligența artificială",
			Modified:   "Conținut modificat de inteligența artificială",
			Disclosure: "Acest serviciu folosește inteligența artificială"},
		{Lang: "sk", Short: "AI",
			Long:       "Obsah vytvorený umelou inteligenciou",
			Modified:   "Obsah upravený umelou inteligenciou",
			Disclosure: "Táto služba využíva umelú inteligenciu"},
		{Lang: "sl", Short: "UI",
			Long:       "Vsebina, ustvarjena z umetno inteligenco",
			Modified:   "Vsebina, spremenjena z umetno inteligenco",
			Disclosure: "Ta storitev uporablja umetno inteligenco"},
		{Lang: "sv", Short: "AI",
			Long:       "AI-genererat innehåll",
			Modified:   "AI-redigerat innehåll",
			Disclosure: "Den här tjänsten använder artificiell intelligens"},
	}
}

var defaultCatalogue = sync.OnceValue(func() *Catalogue {
	return (&Catalogue{}).With(builtinMessages()...)
})

// Default returns the built-in catalogue: Kazakh, Russian, English, Simplified and Traditional
// Chinese, and the other 23 official languages of the EU. The same immutable value is returned
// on every call.
func Default() *Catalogue { return defaultCatalogue() }

// With returns a new catalogue holding c's messages and msgs. A message for a language c
// already has (same canonical tag) replaces it field by field: empty fields keep the existing
// text. A message for a new language takes its empty fields from the message Lookup finds for
// it ("kk-KZ" fills its gaps from "kk"). Later messages in msgs win over earlier ones. Texts
// are stored in Unicode NFC. Messages whose language tag is not valid (see Validate) are skipped: check
// messages with Validate, or read them with Parse, to get an error for them instead. c is not
// changed; a nil c counts as empty.
func (c *Catalogue) With(msgs ...Message) *Catalogue {
	n := &Catalogue{msgs: make(map[string]Message)}
	if c != nil {
		for k, m := range c.msgs {
			n.msgs[k] = m
		}
	}
	for _, m := range msgs {
		t, err := canonicalTag(m.Lang)
		if err != nil {
			continue
		}
		key := t.String()
		base, ok := n.msgs[key]
		if !ok {
			base, _ = n.lookup(t)
		}
		merged := Message{Lang: key, Short: base.Short, Long: base.Long, Modified: base.Modified, Disclosure: base.Disclosure}
		if m.Short != "" {
			merged.Short = norm.NFC.String(m.Short)
		}
		if m.Long != "" {
			merged.Long = norm.NFC.String(m.Long)
		}
		if m.Modified != "" {
			merged.Modified = norm.NFC.String(m.Modified)
		}
		if m.Disclosure != "" {
			merged.Disclosure = norm.NFC.String(m.Disclosure)
		}
		n.msgs[key] = merged
	}
	n.langs = make([]string, 0, len(n.msgs))
	for k := range n.msgs {
		n.langs = append(n.langs, k)
	}
	slices.Sort(n.langs)
	return n
}

// Lookup returns the message for lang: the exact (canonical) tag first, then the language with
// its script ("zh-TW" → "zh-Hant"), then the bare language ("kk-KZ" → "kk"). The bare language
// is used only when its usual script is the script lang asks for, so "zh-TW" does not get
// Simplified Chinese and "kk-Latn" does not get Cyrillic Kazakh. The returned Message's Lang is
// the tag it was stored under.
func (c *Catalogue) Lookup(lang string) (Message, bool) {
	if c == nil {
		return Message{}, false
	}
	t, err := canonicalTag(lang)
	if err != nil {
		return Message{}, false
	}
	return c.lookup(t)
}

func (c *Catalogue) lookup(t language.Tag) (Message, bool) {
	if m, ok := c.msgs[t.String()]; ok {
		return m, true
	}
	base, _ := t.Base()
	script, _ := t.Script()
	if bs, err := language.Compose(base, script); err == nil {
		if m, ok := c.msgs[bs.String()]; ok {
			return m, true
		}
	}
	bt, err := language.Compose(base)
	if err != nil {
		return Message{}, false
	}
	if usual, _ := bt.Script(); usual != script {
		return Message{}, false
	}
	m, ok := c.msgs[bt.String()]
	return m, ok
}

// Messages looks up each of langs and returns the messages in that order, for a Spec. It fails
// naming the first language the catalogue has no message for.
func (c *Catalogue) Messages(langs ...string) ([]Message, error) {
	out := make([]Message, 0, len(langs))
	for _, l := range langs {
		m, ok := c.Lookup(l)
		if !ok {
			return nil, fmt.Errorf("warning: no message for language %q (have %s)", l, strings.Join(c.Languages(), ", "))
		}
		out = append(out, m)
	}
	return out, nil
}

// Languages returns the catalogue's language tags, sorted.
func (c *Catalogue) Languages() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.langs)
}

// messagesFile is the JSON form Parse reads.
type messagesFile struct {
	Messages []Message `json:"messages"`
}

// Parse reads a messages file: a JSON object whose "messages" array holds one object per
// language, with the keys "lang" (a BCP 47 tag, required), "short", "long", "modified" and
// "disclosure" (the Message fields; each optional, but at least one must be given):
//
//	{
//	  "messages": [
//	    {"lang": "kk", "long": "Жасанды интеллект көмегімен жасалды"},
//	    {"lang": "uz", "short": "SI", "long": "Sun'iy intellekt tomonidan yaratilgan kontent"}
//	  ]
//	}
//
// Unknown keys, a language given twice, more than MaxMessages messages, a file larger than
// MaxMessagesFileSize, texts longer than MaxTextRunes runes and control characters are errors.
// Pass the result to Catalogue.With, which fills empty fields from the existing messages.
func Parse(r io.Reader) ([]Message, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxMessagesFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("warning: reading messages: %w", err)
	}
	if len(data) > MaxMessagesFileSize {
		return nil, fmt.Errorf("warning: messages file is larger than %d bytes", MaxMessagesFileSize)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("warning: messages file is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f messagesFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("warning: messages file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("warning: messages file: data after the JSON object")
	}
	if f.Messages == nil {
		return nil, errors.New(`warning: messages file has no "messages" array`)
	}
	if len(f.Messages) > MaxMessages {
		return nil, fmt.Errorf("warning: messages file has %d messages, more than the limit of %d", len(f.Messages), MaxMessages)
	}
	seen := make(map[string]int, len(f.Messages))
	for i, m := range f.Messages {
		if err := m.validate(); err != nil {
			return nil, fmt.Errorf("warning: messages file, message %d: %w", i+1, err)
		}
		t, _ := canonicalTag(m.Lang)
		if j, dup := seen[t.String()]; dup {
			return nil, fmt.Errorf("warning: messages file: language %q is given twice (messages %d and %d)", t.String(), j+1, i+1)
		}
		seen[t.String()] = i
		f.Messages[i].Lang = t.String()
	}
	return f.Messages, nil
}
