package repository

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testToken = "Bearer s3cret"

func newServer(t *testing.T, s Store, opts ...Option) *httptest.Server {
	t.Helper()
	base := []Option{
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		withClock(func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }),
		WithWriteAuth(func(r *http.Request) error {
			if r.Header.Get("Authorization") != testToken {
				return errors.New("bad token")
			}
			return nil
		}),
	}
	srv := httptest.NewServer(Handler(s, append(base, opts...)...))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, u, ctype, auth string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// jsonEq compares a JSON body with the expected document, ignoring formatting.
func jsonEq(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("body %s, want %s", gb, wb)
	}
}

func TestHTTPAPI(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) { httpSuite(t, mk(t)) })
	}
}

func httpSuite(t *testing.T, s Store) {
	srv := newServer(t, s)
	v1 := srv.URL + "/v1"
	id := "urn:c2pa:5e1f7c2a-0000-4000-8000-000000000001"
	store := []byte("\x00\x00\x00\x20jumbc2pa manifest store")
	wmValue := []byte{0xfb, 0xff, 0x01} // base64 "+/8B": exercises '+' and '/'
	b64 := base64.StdEncoding.EncodeToString(wmValue)
	isccV := isccValue(t, body(3), 0x42)

	put := v1 + "/manifests/" + url.PathEscape(id) + "?" + url.Values{"softBinding": {
		"com.example.wm," + b64, AlgISCC + "," + base64.StdEncoding.EncodeToString(isccV),
	}}.Encode()

	// Write route: auth, content type, then success and idempotence.
	if code, _, b := do(t, "PUT", put, ContentTypeC2PA, "", store); code != 401 {
		t.Fatalf("PUT without auth: %d %s", code, b)
	}
	if code, _, b := do(t, "PUT", put, "application/octet-stream", testToken, store); code != 415 {
		t.Fatalf("PUT wrong type: %d %s", code, b)
	}
	if code, _, b := do(t, "PUT", put, ContentTypeC2PA, testToken, store); code != 204 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	if code, _, b := do(t, "PUT", put, ContentTypeC2PA, testToken, store); code != 204 {
		t.Fatalf("PUT again: %d %s", code, b)
	}
	if code, _, b := do(t, "PUT", put, ContentTypeC2PA, testToken, []byte("other")); code != 409 {
		t.Fatalf("PUT conflicting: %d %s", code, b)
	}

	t.Run("manifest", func(t *testing.T) {
		code, h, b := do(t, "GET", v1+"/manifests/"+url.PathEscape(id), "", "", nil)
		if code != 200 || h.Get("Content-Type") != ContentTypeC2PA || !bytes.Equal(b, store) {
			t.Fatalf("GET manifest: %d %q %q", code, h.Get("Content-Type"), b)
		}
		code, _, b = do(t, "GET", v1+"/manifests/"+id+"?returnActiveManifest=false", "", "", nil)
		if code != 200 || !bytes.Equal(b, store) {
			t.Fatalf("returnActiveManifest=false: %d", code)
		}
		code, _, b = do(t, "GET", v1+"/manifests/urn:c2pa:nope", "", "", nil)
		if code != 404 {
			t.Fatalf("unknown: %d %s", code, b)
		}
		jsonEq(t, b, `{"error":"Not Found","message":"manifest not found"}`)
		for q, want := range map[string]int{"?returnActiveManifest=maybe": 400, "?returnActiveManifest=true": 501} {
			if code, _, b := do(t, "GET", v1+"/manifests/"+id+q, "", "", nil); code != want {
				t.Errorf("%s: %d %s, want %d", q, code, b, want)
			}
		}
		if code, _, _ := do(t, "GET", v1+"/manifests/urn:c2pa:a%20b", "", "", nil); code != 400 {
			t.Errorf("bad id: %d, want 400", code)
		}
	})

	t.Run("byBinding GET", func(t *testing.T) {
		cases := []struct {
			name, query string
			code        int
			body        string
		}{
			{"exact", url.Values{"alg": {"com.example.wm"}, "value": {b64}}.Encode(), 200,
				`{"matches":[{"manifestId":"` + id + `","similarityScore":100}]}`},
			{"unencoded plus", "alg=com.example.wm&value=" + b64, 200,
				`{"matches":[{"manifestId":"` + id + `","similarityScore":100}]}`},
			{"iscc near", url.Values{"alg": {AlgISCC}, "value": {base64.StdEncoding.EncodeToString(isccValue(t, flipBits(body(3), 8), 1))}}.Encode(), 200,
				`{"matches":[{"manifestId":"` + id + `","similarityScore":96}]}`},
			{"no match", url.Values{"alg": {"com.example.wm"}, "value": {"AAAA"}}.Encode(), 200, `{"matches":[]}`},
			{"maxResults clamped", url.Values{"alg": {"com.example.wm"}, "value": {b64}, "maxResults": {"1000"}}.Encode(), 200,
				`{"matches":[{"manifestId":"` + id + `","similarityScore":100}]}`},
			{"missing alg", "value=" + url.QueryEscape(b64), 400, ""},
			{"missing value", "alg=x", 400, ""},
			{"bad base64", "alg=x&value=%21%21%21", 400, ""},
			{"maxResults zero", "alg=x&value=AAAA&maxResults=0", 400, ""},
			{"maxResults text", "alg=x&value=AAAA&maxResults=ten", 400, ""},
			{"duplicate alg", "alg=x&alg=y&value=AAAA", 400, ""},
			{"value too long", "alg=x&value=" + strings.Repeat("A", MaxValueBase64+4), 414, ""},
			{"value decodes too long", "alg=x&value=" + strings.Repeat("A", MaxValueBase64), 400, ""},
		}
		for _, c := range cases {
			code, h, b := do(t, "GET", v1+"/matches/byBinding?"+c.query, "", "", nil)
			if code != c.code {
				t.Errorf("%s: status %d (%s), want %d", c.name, code, b, c.code)
				continue
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("%s: Content-Type %q", c.name, h.Get("Content-Type"))
			}
			if c.body != "" {
				jsonEq(t, b, c.body)
			} else {
				var e errorJSON
				if err := json.Unmarshal(b, &e); err != nil || e.Message == "" {
					t.Errorf("%s: error body %q", c.name, b)
				}
			}
		}
	})

	t.Run("byBinding POST", func(t *testing.T) {
		code, _, b := do(t, "POST", v1+"/matches/byBinding?maxResults=5", "application/json", "",
			[]byte(`{"alg":"com.example.wm","value":"`+b64+`"}`))
		if code != 200 {
			t.Fatalf("POST: %d %s", code, b)
		}
		jsonEq(t, b, `{"matches":[{"manifestId":"`+id+`","similarityScore":100}]}`)
		for name, c := range map[string]struct {
			ctype, body string
			code        int
		}{
			"not json":      {"application/json", `alg=x`, 400},
			"missing value": {"application/json", `{"alg":"x"}`, 400},
			"trailing":      {"application/json", `{"alg":"x","value":"AAAA"} {}`, 400},
			"wrong type":    {"text/plain", `{"alg":"x","value":"AAAA"}`, 415},
			"too big":       {"application/json", `{"alg":"x","value":"` + strings.Repeat("A", maxQueryBody) + `"}`, 413},
		} {
			if code, _, b := do(t, "POST", v1+"/matches/byBinding", c.ctype, "", []byte(c.body)); code != c.code {
				t.Errorf("%s: %d %s, want %d", name, code, b, c.code)
			}
		}
	})

	t.Run("byContent", func(t *testing.T) {
		// Found by content: TestRecoverStrippedLabel. Here: what is refused, and how.
		for name, c := range map[string]struct {
			ctype, query string
			body         []byte
			code         int
		}{
			"truncated JPEG":   {"image/jpeg", "", []byte{0xff, 0xd8}, 400},
			"not a picture":    {"image/png", "", []byte("hello, world"), 415},
			"wrong type":       {"text/plain", "", []byte("hello"), 415},
			"no type":          {"", "", []byte{0xff, 0xd8}, 415},
			"bad maxResults":   {"image/png", "?maxResults=0", []byte{0x89}, 400},
			"hint without alg": {"image/png", "?hintValue=AAAA", []byte{0x89}, 400},
			"hint not base64":  {"image/png", "?hintAlg=x&hintValue=%%%", []byte{0x89}, 400},
			"too big":          {"image/png", "", bytes.Repeat([]byte{0x89}, DefaultMaxContentBytes+1), 413},
		} {
			if code, _, b := do(t, "POST", v1+"/matches/byContent"+c.query, c.ctype, "", c.body); code != c.code {
				t.Errorf("%s: %d %s, want %d", name, code, b, c.code)
			}
		}
	})

	t.Run("services", func(t *testing.T) {
		code, _, b := do(t, "GET", v1+"/services/supportedAlgorithms", "", "", nil)
		if code != 200 {
			t.Fatal(code)
		}
		jsonEq(t, b, `{"watermarks":[{"alg":"org.ailabel.wm.v1"}],"fingerprints":[{"alg":"io.iscc.v0"},{"alg":"org.ailabel.bmff-media.v1"}]}`)
		_, _, b = do(t, "GET", v1+"/services/status", "", "", nil)
		jsonEq(t, b, `{"status":"ok","timestamp":"2026-03-01T12:00:00Z"}`)
		_, _, b = do(t, "GET", v1+"/services/capabilities", "", "", nil)
		jsonEq(t, b, `{"c2paSpecificationVersion":"2.4","supportedCapabilities":["queryByContent"]}`)
		_, _, b = do(t, "GET", srv.URL+WellKnownPath, "", "", nil)
		jsonEq(t, b, `{"apiEndpoint":"`+v1+`","c2paSpecificationVersion":"2.4",
			"capabilitiesEndpoint":"`+v1+`/services/capabilities","statusEndpoint":"`+v1+`/services/status"}`)
	})
}

func TestHTTPLimitsAndAuth(t *testing.T) {
	s := NewMemory()
	srv := newServer(t, s, WithReadAuth(func(r *http.Request) error {
		if r.Header.Get("Authorization") == "" {
			return errors.New("no token")
		}
		if r.Header.Get("Authorization") != testToken {
			return ErrForbidden
		}
		return nil
	}), WithPublicURL("https://labels.example/v1/"), WithAlgorithms([]string{"com.example.wm"}, nil))
	v1 := srv.URL + "/v1"
	if code, _, _ := do(t, "GET", v1+"/services/status", "", "", nil); code != 401 {
		t.Errorf("read without token: %d, want 401", code)
	}
	if code, _, _ := do(t, "GET", v1+"/services/status", "", "Bearer wrong", nil); code != 403 {
		t.Errorf("read with wrong token: %d, want 403", code)
	}
	code, _, b := do(t, "GET", v1+"/services/supportedAlgorithms", "", testToken, nil)
	if code != 200 {
		t.Fatal(code)
	}
	jsonEq(t, b, `{"watermarks":[{"alg":"com.example.wm"}],"fingerprints":[]}`)
	_, _, b = do(t, "GET", srv.URL+WellKnownPath, "", "", nil)
	jsonEq(t, b, `{"apiEndpoint":"https://labels.example/v1","c2paSpecificationVersion":"2.4",
		"capabilitiesEndpoint":"https://labels.example/v1/services/capabilities","statusEndpoint":"https://labels.example/v1/services/status"}`)

	// Oversize manifest store: 413 before the store sees it.
	big := make([]byte, MaxManifestBytes+1)
	if code, _, b := do(t, "PUT", v1+"/manifests/urn:c2pa:big", ContentTypeC2PA, testToken, big); code != 413 {
		t.Errorf("oversize PUT: %d %s", code, b)
	}
	if _, err := s.Manifest(context.Background(), "urn:c2pa:big"); !errors.Is(err, ErrNotFound) {
		t.Errorf("oversize manifest stored: %v", err)
	}
	// Bad binding parameters.
	for name, q := range map[string]string{
		"no comma":   "softBinding=abc",
		"bad base64": "softBinding=a.b,%21%21",
		"empty alg":  "softBinding=,AAAA",
	} {
		if code, _, b := do(t, "PUT", v1+"/manifests/urn:c2pa:x?"+q, ContentTypeC2PA, testToken, []byte{1}); code != 400 {
			t.Errorf("%s: %d %s, want 400", name, code, b)
		}
	}
	many := strings.Repeat("softBinding=a,AAAA&", MaxBindingsPerRecord+1)
	if code, _, b := do(t, "PUT", v1+"/manifests/urn:c2pa:x?"+many, ContentTypeC2PA, testToken, []byte{1}); code != 413 {
		t.Errorf("too many bindings: %d %s, want 413", code, b)
	}
}

// failingStore fails every call, to check that store failures become 500 without details.
type failingStore struct{}

func (failingStore) Put(context.Context, Record) error { return errors.New("disk on fire") }
func (failingStore) Manifest(context.Context, string) ([]byte, error) {
	return nil, errors.New("disk on fire")
}
func (failingStore) ByBinding(context.Context, string, []byte, int) ([]Match, error) {
	return nil, errors.New("disk on fire")
}
func (failingStore) Ping(context.Context) error { return errors.New("disk on fire") }

func TestHTTPStoreFailure(t *testing.T) {
	srv := newServer(t, failingStore{})
	v1 := srv.URL + "/v1"
	for _, u := range []string{"/manifests/urn:c2pa:x", "/matches/byBinding?alg=a&value=AAAA"} {
		code, _, b := do(t, "GET", v1+u, "", "", nil)
		if code != 500 || bytes.Contains(b, []byte("fire")) {
			t.Errorf("%s: %d %s, want 500 without internals", u, code, b)
		}
	}
	_, _, b := do(t, "GET", v1+"/services/status", "", "", nil)
	jsonEq(t, b, `{"status":"down","timestamp":"2026-03-01T12:00:00Z"}`)
}
