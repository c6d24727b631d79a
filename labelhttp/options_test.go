package labelhttp_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/labelhttp"
)

func parse(r *http.Request) (label.Options, error) { return labelhttp.ParseOptions(r, nil) }

// TestRequestOptions: policy, languages, the visible warning, the training reservation and the
// provider chosen per request reach the label; a bad option is a 400 naming it, before the
// handler runs.
func TestRequestOptions(t *testing.T) {
	var calls atomic.Int64
	gen := generator(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		gen.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(labelhttp.Middleware(labeler(t), labelhttp.WithOptions(parse), labelhttp.WithDisclosure(label.Disclosure{Model: "default-model"}))(h))
	defer srv.Close()

	// policy=cn writes China's implicit AIGC label, with the provider.
	resp := get(t, srv, "GET", "/img.png?policy=cn&provider=ACME-AI-0001", nil)
	rep := labeled(t, resp, readAll(t, resp), "png", "default-model")
	if rep.AIGC == nil {
		t.Errorf("policy=cn: the report has no AIGC label (label kinds %v)", rep.LabelKinds)
	} else if rep.AIGC.Label != "1" || rep.AIGC.ContentProducer != "ACME-AI-0001" {
		t.Errorf("policy=cn: AIGC %+v", rep.AIGC)
	}
	// The default policy (kz) writes none.
	resp = get(t, srv, "GET", "/img.png", nil)
	if rep := labeled(t, resp, readAll(t, resp), "png", "default-model"); rep.AIGC != nil {
		t.Errorf("policy kz wrote an AIGC label: %+v", rep.AIGC)
	}

	// lang=en,kk: the text's disclaimers in that order; the header form works too.
	for _, hdr := range [][]string{nil, {"AI-Label-Lang", "en,kk"}} {
		path := "/poem.txt?lang=en,kk"
		if hdr != nil {
			path = "/poem.txt"
		}
		resp = get(t, srv, "GET", path, nil, hdr...)
		rep = labeled(t, resp, readAll(t, resp), "text", "default-model")
		if got := langs(rep.Notices); !slices.Equal(got, []string{"en", "kk"}) {
			t.Errorf("%s %v: notices in %v, want [en kk]", path, hdr, got)
		}
	}

	// warning=off: no disclaimer at all; the machine-readable label stays. no_training=true
	// reserves the content.
	resp = get(t, srv, "GET", "/poem.txt?warning=off&no_training=true", nil)
	body := readAll(t, resp)
	rep = labeled(t, resp, body, "text", "default-model")
	if len(rep.Notices) != 0 || slices.Contains(rep.LabelKinds, "disclaimer") {
		t.Errorf("warning=off: notices %v, kinds %v", rep.Notices, rep.LabelKinds)
	}
	if !strings.HasPrefix(string(body), poem) {
		t.Errorf("warning=off: the text does not start with the poem: %q", body)
	}
	if len(rep.Reservations) == 0 || !rep.Reservations[0].Reserved {
		t.Errorf("no_training=true: reservations %+v", rep.Reservations)
	}
	resp = get(t, srv, "GET", "/poem.txt?warning=on", nil)
	if rep := labeled(t, resp, readAll(t, resp), "text", "default-model"); len(rep.Notices) == 0 || len(rep.Reservations) != 0 {
		t.Errorf("warning=on: notices %v, reservations %v", rep.Notices, rep.Reservations)
	}

	// Bad options: 400 naming the parameter; the handler never runs.
	before := calls.Load()
	for _, c := range []struct {
		query, param string
		hdr          []string
	}{
		{"policy=us", "policy", nil},
		{"", "policy", []string{"AI-Label-Policy", "../kz"}},
		{"lang=en,xx-nope", "lang", nil},
		{"lang=en,,kk", "lang", nil},
		{"warning=maybe", "warning", nil},
		{"no_training=perhaps", "no_training", nil},
		{"source_type=handDrawn", "source_type", nil},
		{"model=" + strings.Repeat("m", 1025), "model", nil},
		{"title=a%00b", "title", nil},
		{"policy=kz&policy=cn", "policy", nil},
	} {
		param := wantError(t, get(t, srv, "GET", "/img.png?"+c.query, nil, c.hdr...), 400, labelhttp.CodeBadOption)
		if param != c.param {
			t.Errorf("%q %v: param %q, want %q", c.query, c.hdr, param, c.param)
		}
	}
	if calls.Load() != before {
		t.Error("the handler ran for a request with a bad option")
	}
}

func langs(ns []formats.NoticeText) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Lang)
	}
	return out
}

// TestParseOptions: what each parameter sets, query parameters over headers.
func TestParseOptions(t *testing.T) {
	r := httptest.NewRequest("GET", "/?model=q-model&policy=EU&lang=+ru+,kk&warning=OFF&no_training=1&provider=p&title=T&model_version=3&source_type=compositeWithTrainedAlgorithmicMedia", nil)
	r.Header.Set("AI-Label-Model", "header-model")
	r.Header.Set("AI-Label-Provider", "ignored")
	o, err := labelhttp.ParseOptions(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Model != "q-model" || o.Policy == nil || o.Policy.Name != "eu" || !slices.Equal(o.Languages, []string{"ru", "kk"}) ||
		!o.NoNotice || !o.NoTraining || o.Provider != "p" || o.Title != "T" || o.ModelVersion != "3" || o.SourceType != "compositeWithTrainedAlgorithmicMedia" {
		t.Errorf("options %+v", o)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("AI-Label-Model", "header-model")
	r.Header.Set("AI-Label-No-Training", "false")
	if o, err := labelhttp.ParseOptions(r, nil); err != nil || o.Model != "header-model" || o.NoTraining || o.Policy != nil || o.NoNotice {
		t.Errorf("headers: %+v %v", o, err)
	}
	r.Header.Add("AI-Label-Model", "second")
	var le *labelhttp.Error
	if _, err := labelhttp.ParseOptions(r, nil); !errors.As(err, &le) || le.Param != "model" || le.Status != 400 {
		t.Errorf("a header given twice: %v", err)
	}
}

// FuzzParseOptions: any query string gives options or an *Error naming one of the parameters,
// never a panic.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{"policy=cn&lang=en,kk", "warning=off", "lang=,", "model=%ff", "no_training=2", "lang=" + strings.Repeat("en,", 20)} {
		f.Add(s)
	}
	names := []string{"model", "model_version", "source_type", "title", "policy", "lang", "warning", "no_training", "provider"}
	f.Fuzz(func(t *testing.T, q string) {
		r := &http.Request{URL: &url.URL{RawQuery: q}, Header: http.Header{}}
		o, err := labelhttp.ParseOptions(r, nil)
		if err != nil {
			var le *labelhttp.Error
			if !errors.As(err, &le) || le.Status != 400 || !slices.Contains(names, le.Param) || le.Message == "" {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if len(o.Languages) > 16 || len(o.Model) > 1024 {
			t.Fatalf("limits not enforced: %+v", o)
		}
	})
}
