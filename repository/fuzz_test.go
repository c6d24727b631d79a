package repository

import (
	"net/http"
	"strings"
	"testing"
)

// checkQuery asserts the invariants of a parsed query or of its error.
func checkQuery(t *testing.T, q bindingQuery, err error) {
	t.Helper()
	if err != nil {
		he, ok := err.(*httpError)
		if !ok || (he.status != http.StatusBadRequest && he.status != http.StatusRequestURITooLong) || he.msg == "" {
			t.Fatalf("error %T %v: want *httpError 400/414 with a message", err, err)
		}
		return
	}
	if err := validateQuery(q.alg, q.value, q.maxResults); err != nil {
		t.Fatalf("accepted query fails store validation: %v", err)
	}
}

func FuzzParseGetQuery(f *testing.F) {
	for _, s := range []string{
		"alg=io.iscc.v0&value=AAAA&maxResults=5",
		"alg=com.example.wm&value=+/8B",
		"alg=x&value=%21",
		"alg=x&alg=y&value=AAAA",
		"value=AAAA",
		"alg=x&value=AAAA&maxResults=99999999999999999999",
		"alg=x&value=AAAA&maxResults=-1",
		"alg=%ff&value=AAA",
		"a;b",
		"alg=x&value=" + strings.Repeat("A", MaxValueBase64),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseGetQuery(raw)
		checkQuery(t, q, err)
	})
}

func FuzzParsePostQuery(f *testing.F) {
	f.Add([]byte(`{"alg":"io.iscc.v0","value":"AAAA"}`), "")
	f.Add([]byte(`{"alg":"x","value":"_-8B"}`), "100")
	f.Add([]byte(`{"alg":"x"}`), "1")
	f.Add([]byte(`[]`), "")
	f.Add([]byte(`{"alg":"x","value":"AAAA"} x`), "0")
	f.Fuzz(func(t *testing.T, body []byte, maxResults string) {
		if len(body) > maxQueryBody {
			return
		}
		q, err := parsePostQuery(body, maxResults)
		checkQuery(t, q, err)
	})
}

func FuzzParseBindingParams(f *testing.F) {
	f.Add("io.iscc.v0,AAAA", "a,b,+/8B")
	f.Add(",AAAA", "nocomma")
	f.Fuzz(func(t *testing.T, a, b string) {
		bs, err := parseBindingParams([]string{a, b})
		if err != nil {
			if _, ok := err.(*httpError); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		if err := validateRecord(Record{ManifestID: "urn:c2pa:f", Store: []byte{1}, Bindings: bs}); err != nil {
			t.Fatalf("accepted bindings fail validation: %v", err)
		}
	})
}
