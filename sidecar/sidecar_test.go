package sidecar_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sidecar"
)

// TestLabelAndVerify labels every format through HTTP, checks the output with label.Verify
// and c2pa-rs (c2pa-check, trusting the test CA), and verifies it back through POST /v1/verify.
func TestLabelAndVerify(t *testing.T) {
	ts := start(t, nil)
	cases := []struct {
		name, format, mime string
		in                 []byte
	}{
		{"sample.jpg", "jpeg", "image/jpeg", sample(t, "sample.jpg")},
		{"sample.png", "png", "image/png", sample(t, "sample.png")},
		{"sample.webp", "webp", "image/webp", sample(t, "sample.webp")},
		{"unsigned.mp4", "mp4", "video/mp4", mp4Sample(t)},
		{"big.jpg", "jpeg", "image/jpeg", bigJPEG(t, 3<<20)}, // spooled to a file, not memory
		{"text.txt", "text", "text/plain", []byte("A poem the model wrote.\nSecond line.\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := ts.do(t, "POST", "/v1/label?title="+c.name+"&model=sdxl%22turbo", token, bytes.NewReader(c.in),
				"Content-Type", "application/octet-stream", "AI-Label-Model", "ignored-header-model")
			out := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("label: %d %s", resp.StatusCode, out)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, c.mime) {
				t.Errorf("Content-Type %q, want %s", ct, c.mime)
			}
			if got, want := resp.Header.Get("AI-Disclosure"), `mode=ai-originated; model="sdxl\"turbo"; date=@`; !strings.HasPrefix(got, want) {
				t.Errorf("AI-Disclosure %q, want %q", got, want)
			}
			id := resp.Header.Get("C2PA-Manifest-ID")
			if !strings.HasPrefix(id, "urn:c2pa:") {
				t.Errorf("C2PA-Manifest-ID %q", id)
			}
			if resp.ContentLength != int64(len(out)) {
				t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(out))
			}
			rep := verifyBytes(t, out, testCreds(t).trust)
			if rep.Verdict != label.Valid || !rep.AIGenerated || rep.ActiveManifest != id || rep.Model != `sdxl"turbo` {
				t.Fatalf("verify: %s %s ai=%v manifest=%s model=%q %v", rep.Verdict, rep.Summary, rep.AIGenerated, rep.ActiveManifest, rep.Model, rep.Reasons)
			}
			if rep.Format != c.format {
				t.Errorf("format %q, want %q", rep.Format, c.format)
			}

			resp = ts.do(t, "POST", "/v1/verify", token, bytes.NewReader(out), "Content-Type", "image/gif")
			body := readAll(t, resp)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("verify: %d %s", resp.StatusCode, body)
			}
			want, _ := json.Marshal(rep)
			if got := bytes.TrimSpace(body); !bytes.Equal(got, want) {
				t.Errorf("/v1/verify report differs from label.Verify's:\n got %s\nwant %s", got, want)
			}
			if v := resp.Header.Get("C2PA-Verdict"); v != "valid" {
				t.Errorf("C2PA-Verdict %q", v)
			}
			var r label.Report
			if err := json.Unmarshal(body, &r); err != nil || r.State != "Trusted" {
				t.Errorf("report state %q (err %v), want Trusted with the test CA as anchor", r.State, err)
			}
			if c.format != "text" { // c2pa-rs reads no plain text
				path := filepath.Join(t.TempDir(), "out"+filepath.Ext(c.name))
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
				if v := testtool.C2PACheck(t, path, testCreds(t).caPEM); v.Exit != 0 {
					t.Errorf("c2pa-check: %+v", v)
				}
			}
		})
	}
	// The unlabeled input verifies as not labeled.
	resp := ts.do(t, "POST", "/v1/verify", token, bytes.NewReader(sample(t, "sample.png")))
	var r label.Report
	if err := json.Unmarshal(readAll(t, resp), &r); err != nil || r.Verdict != label.NotLabeled {
		t.Errorf("unlabeled input: %q %v", r.Verdict, err)
	}
}

// TestContentTypeIgnored: the format is sniffed, a wrong Content-Type changes nothing.
func TestContentTypeIgnored(t *testing.T) {
	ts := start(t, nil)
	resp := ts.do(t, "POST", "/v1/label", token, bytes.NewReader(sample(t, "sample.png")), "Content-Type", "image/jpeg")
	out := readAll(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if rep := verifyBytes(t, out, nil); rep.Format != "png" || rep.Verdict != label.Valid {
		t.Fatalf("%s %s", rep.Format, rep.Verdict)
	}
}

// TestAuth: no token, a wrong token, a token in the wrong scheme get 401 before anything is
// read; health and readiness need none.
func TestAuth(t *testing.T) {
	ts := start(t, nil)
	for _, path := range []string{"/v1/label", "/v1/verify"} {
		for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Basic " + token, "Bearer " + token + "x", "Bearer"} {
			req, _ := http.NewRequest("POST", ts.url+path, bytes.NewReader(sample(t, "sample.jpg")))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, resp, 401, "unauthorized")
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		}
	}
	// Case-insensitive scheme, second token of the list.
	resp := ts.do(t, "POST", "/v1/verify", "", bytes.NewReader(sample(t, "sample.jpg")), "Authorization", "bearer another-token-that-is-long")
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("second token: %d %s", resp.StatusCode, b)
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/metrics"} {
		resp := ts.do(t, "GET", p, "", nil)
		if b := readAll(t, resp); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, b)
		}
	}
	for _, l := range ts.logLines(t) {
		if l["outcome"] == nil || l["status"] == nil || l["duration_ms"] == nil || l["bytes_in"] == nil {
			t.Errorf("log line without fields: %v", l)
		}
	}
	if strings.Contains(ts.logs.String(), token) || strings.Contains(ts.logs.String(), "wrong-token") {
		t.Error("a token appears in the logs")
	}
}

// TestReadiness: without a signer the server is up but not ready, and does not label.
func TestReadiness(t *testing.T) {
	ts := start(t, func(c *sidecar.Config) { c.Signer = nil })
	wantError(t, ts.do(t, "GET", "/readyz", "", nil), 503, "not_ready")
	wantError(t, ts.do(t, "POST", "/v1/label", token, bytes.NewReader(sample(t, "sample.jpg"))), 503, "not_ready")
	if err := ts.SetSigner(testCreds(t).signer); err != nil {
		t.Fatal(err)
	}
	resp := ts.do(t, "GET", "/readyz", "", nil)
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("readyz after SetSigner: %d %s", resp.StatusCode, b)
	}
}

// TestBadInput: a body over the limit, truncated, corrupt, empty and unsupported content each
// get a JSON error, and the server labels fine afterwards.
func TestBadInput(t *testing.T) {
	ts := start(t, func(c *sidecar.Config) { c.MaxBody = 20000 })
	big := bytes.Repeat([]byte{0xff}, 20001)
	for _, p := range []string{"/v1/label", "/v1/verify"} {
		msg := wantError(t, ts.do(t, "POST", p, token, bytes.NewReader(big)), 413, "too_large")
		if !strings.Contains(msg, "20000") {
			t.Errorf("413 message %q does not name the limit", msg)
		}
	}
	ts.healthy(t)

	corrupt := func(b []byte) []byte {
		c := bytes.Clone(b)
		for i := 12; i < 64 && i < len(c); i++ {
			c[i] ^= 0x5a
		}
		return c
	}
	jpg, png, webp := sample(t, "sample.jpg"), sample(t, "sample.png"), sample(t, "sample.webp")
	bad := map[string][]byte{
		"jpeg truncated": jpg[:40], "jpeg corrupt": corrupt(jpg),
		"png truncated": png[:len(png)/2], "png corrupt": corrupt(png),
		"webp truncated": webp[:len(webp)/2], "webp corrupt": corrupt(webp),
	}
	mp4 := mp4Sample(t)
	bad["mp4 truncated"], bad["mp4 corrupt"] = mp4[:len(mp4)/2], corrupt(mp4)
	for name, in := range bad {
		for _, p := range []string{"/v1/label", "/v1/verify"} {
			msg := wantError(t, ts.do(t, "POST", p, token, bytes.NewReader(in)), 422, "malformed")
			if !strings.Contains(msg, strings.Fields(name)[0]) {
				t.Errorf("%s %s: message %q does not name the format", name, p, msg)
			}
		}
	}
	// Cut inside its image data, a JPEG's structure still reads: it is refused when labeling
	// decodes its pixels (for the visible warning and the watermark); verifying does not decode
	// them, and finds it not labeled.
	msg := wantError(t, ts.do(t, "POST", "/v1/label", token, bytes.NewReader(jpg[:len(jpg)/2])), 422, "malformed")
	if !strings.Contains(msg, "ends early") {
		t.Errorf("a JPEG cut in its image data: message %q does not say it ends early", msg)
	}
	if resp := ts.do(t, "POST", "/v1/verify", token, bytes.NewReader(jpg[:len(jpg)/2])); resp.StatusCode != 200 {
		t.Errorf("verifying a JPEG cut in its image data: %d %s", resp.StatusCode, readAll(t, resp))
	} else {
		readAll(t, resp)
	}
	binary := []byte{0, 1, 2, 3, 0xff, 0xfe, 0x80, 0x81, 9, 9, 9}
	for _, p := range []string{"/v1/label", "/v1/verify"} {
		wantError(t, ts.do(t, "POST", p, token, bytes.NewReader(binary)), 415, "unsupported_format")
		wantError(t, ts.do(t, "POST", p, token, nil), 400, "empty_body")
	}
	wantError(t, ts.do(t, "POST", "/v1/label?source_type=handDrawn", token, bytes.NewReader(jpg)), 400, "bad_option")
	wantError(t, ts.do(t, "GET", "/v1/label", token, nil), 405, "method_not_allowed")
	wantError(t, ts.do(t, "GET", "/nowhere", token, nil), 404, "not_found")
	ts.healthy(t)
}

// TestSlowClient: a client that sends its body one byte a second is cut off by the read
// timeout, and one that never finishes its headers by the header timeout.
func TestSlowClient(t *testing.T) {
	ts := start(t, func(c *sidecar.Config) {
		c.ReadTimeout = 1500 * time.Millisecond
		c.ReadHeaderTimeout = 1 * time.Second
	})
	addr := strings.TrimPrefix(ts.url, "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/label HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n", token)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				if _, err := conn.Write([]byte{0xff}); err != nil {
					return
				}
			}
		}
	}()
	began := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a slow body: %v", err)
	}
	wantError(t, resp, 408, "timeout")
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("cut off after %v", d)
	}

	// Headers that never end.
	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	conn2.SetReadDeadline(time.Now().Add(10 * time.Second))
	began = time.Now()
	_, err = io.ReadAll(conn2)
	if d := time.Since(began); err != nil || d > 5*time.Second {
		t.Errorf("slow headers: closed after %v, err %v (want closed by the server within seconds)", d, err)
	}
	ts.healthy(t)
}

// TestConcurrencyLimit: past MaxInflight, requests are shed with 503 and Retry-After; health
// checks are not limited.
func TestConcurrencyLimit(t *testing.T) {
	ts := start(t, func(c *sidecar.Config) { c.MaxInflight = 1 })
	png := sample(t, "sample.png")
	h := ts.hold(t, "/v1/label", png, 100) // holds the only slot, spooling
	resp := ts.do(t, "POST", "/v1/verify", token, bytes.NewReader(png))
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	wantError(t, resp, 503, "overloaded")
	if r := ts.do(t, "GET", "/healthz", "", nil); r.StatusCode != 200 {
		t.Errorf("healthz under load: %d", r.StatusCode)
	}
	r1 := h.finish(t)
	if b := readAll(t, r1); r1.StatusCode != 200 {
		t.Fatalf("the request holding the slot: %d %s", r1.StatusCode, b)
	}
	// The slot is given back just after the response is written: wait for it.
	for i := 0; !strings.Contains(string(readAll(t, ts.do(t, "GET", "/metrics", "", nil))), "\nailabel_inflight_requests 0\n"); i++ {
		if i == 500 {
			t.Fatal("the slot was never given back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.healthy(t)
}

// TestRequestTimeout: a request that takes longer than RequestTimeout gets 408.
func TestRequestTimeout(t *testing.T) {
	ts := start(t, func(c *sidecar.Config) { c.RequestTimeout = 500 * time.Millisecond })
	h := ts.hold(t, "/v1/label", sample(t, "sample.png"), 100)
	h.rest = nil // send nothing more
	wantError(t, h.finish(t), 408, "timeout")
	ts.healthy(t)
}

// TestWorkers: admitted requests of 64 KiB or more wait for a worker slot (Config.Workers) and
// get 408 when their time runs out while waiting; once a slot is free they are labeled and
// verified. Small bodies do not wait.
func TestWorkers(t *testing.T) {
	ts := start(t, func(c *sidecar.Config) { c.Workers = 2; c.RequestTimeout = 400 * time.Millisecond })
	text := []byte(strings.Repeat("A paragraph the model wrote.\n", 3000)) // 87 KB
	release := ts.HoldWorkers()
	small := ts.do(t, "POST", "/v1/label", token, strings.NewReader("A short answer.\n"))
	if b := readAll(t, small); small.StatusCode != 200 {
		t.Fatalf("a small body waited for a worker: %d %s", small.StatusCode, b)
	}
	t0 := time.Now()
	wantError(t, ts.do(t, "POST", "/v1/label", token, bytes.NewReader(text)), 408, "timeout")
	wantError(t, ts.do(t, "POST", "/v1/verify", token, bytes.NewReader(text)), 408, "timeout")
	if d := time.Since(t0); d < 700*time.Millisecond {
		t.Errorf("two requests without a worker answered in %v, before their time limits", d)
	}
	// A request waiting when a slot comes free is served; /metrics shows it waiting, and how
	// long it waited (the two HoldWorkers took free slots: waits of 0).
	got := make(chan *http.Response, 1)
	go func() { got <- ts.do(t, "POST", "/v1/label", token, bytes.NewReader(text)) }()
	ts.waitMetrics(t, "ailabel_worker_queue_requests 1", "ailabel_workers_busy 2", "ailabel_workers 2")
	time.Sleep(100 * time.Millisecond)
	release()
	resp := <-got
	if b := readAll(t, resp); resp.StatusCode != 200 || !bytes.Contains(b, []byte("A paragraph")) {
		t.Fatalf("after the workers came free: %d %s", resp.StatusCode, b)
	}
	ts.waitMetrics(t, "ailabel_worker_queue_requests 0", "ailabel_workers_busy 0",
		"ailabel_worker_wait_seconds_count 3", `ailabel_worker_wait_seconds_bucket{le="0.001"} 2`,
		`ailabel_worker_wait_seconds_bucket{le="0.05"} 2`)
	ts.healthy(t)
}

// TestGracefulShutdown: Shutdown waits for a request in flight, which completes.
func TestGracefulShutdown(t *testing.T) {
	ts := start(t, nil)
	png := sample(t, "sample.png")
	h := ts.hold(t, "/v1/label", png, 100)
	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(t.Context()) }()
	time.Sleep(200 * time.Millisecond)
	if ts.Ready() {
		t.Error("ready while shutting down")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	resp := h.finish(t)
	if b := readAll(t, resp); resp.StatusCode != 200 || verifyBytes(t, b, nil).Verdict != label.Valid {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// TestMetricsAndDocs: /metrics counts requests, labels by format and verify verdicts;
// /openapi.json is an OpenAPI 3 document listing every route.
func TestMetricsAndDocs(t *testing.T) {
	ts := start(t, nil)
	resp := ts.do(t, "POST", "/v1/label", token, bytes.NewReader(sample(t, "sample.webp")))
	out := readAll(t, resp)
	readAll(t, ts.do(t, "POST", "/v1/verify", token, bytes.NewReader(out)))
	readAll(t, ts.do(t, "POST", "/v1/verify", token, nil))
	// A request is counted and logged just after its response is sent: wait for the three.
	ts.waitLogLines(t, 3)
	m := string(readAll(t, ts.do(t, "GET", "/metrics", "", nil)))
	for _, want := range []string{
		`ailabel_labels_total{format="webp"} 1`,
		`ailabel_verify_total{verdict="valid"} 1`,
		`ailabel_http_requests_total{code="200",route="label"} 1`,
		`ailabel_http_requests_total{code="400",route="verify"} 1`,
		`ailabel_http_request_duration_seconds_bucket{route="label",le="+Inf"} 1`,
		fmt.Sprintf(`ailabel_http_request_body_bytes_total{route="label"} %d`, len(sample(t, "sample.webp"))),
		fmt.Sprintf(`ailabel_http_response_body_bytes_total{route="label"} %d`, len(out)),
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(readAll(t, ts.do(t, "GET", "/openapi.json", "", nil)), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for p, method := range map[string]string{"/v1/label": "post", "/v1/verify": "post", "/healthz": "get", "/readyz": "get", "/metrics": "get", "/openapi.json": "get"} {
		if doc.Paths[p][method] == nil {
			t.Errorf("openapi.json lacks %s %s", method, p)
		}
	}
	// One log line per request, with the format and outcome of the label.
	lines := ts.waitLogLines(t, 5)
	if len(lines) != 5 {
		t.Errorf("%d access log lines for 5 requests", len(lines))
	}
	if l := lines[0]; l["format"] != "webp" || l["outcome"] != "labeled" || l["path"] != "/v1/label" || l["method"] != "POST" {
		t.Errorf("label log line %v", l)
	}
}

func TestNewRejects(t *testing.T) {
	for name, cfg := range map[string]sidecar.Config{
		"no tokens":   {},
		"empty token": {Tokens: []string{""}},
		"bad source":  {Tokens: []string{token}, Defaults: label.Options{SourceType: "nope"}},
	} {
		if _, err := sidecar.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestLabelOptions: POST /v1/label's policy, lang, warning, no_training and provider options
// reach the label, as query parameters or headers; bad values are a 400 naming the parameter.
func TestLabelOptions(t *testing.T) {
	ts := start(t, nil)
	png := sample(t, "sample.png")
	text := []byte("A poem the model wrote.\nSecond line.\n")

	// policy=cn: China's implicit AIGC label, with the producer.
	resp := ts.do(t, "POST", "/v1/label?policy=cn&provider=ACME-0001", token, bytes.NewReader(png))
	out := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	rep := verifyBytes(t, out, testCreds(t).trust)
	if rep.Verdict != label.Valid || rep.AIGC == nil || rep.AIGC.Label != "1" || rep.AIGC.ContentProducer != "ACME-0001" {
		t.Errorf("policy=cn: %s, AIGC %+v, kinds %v", rep.Verdict, rep.AIGC, rep.LabelKinds)
	}
	resp = ts.do(t, "POST", "/v1/label", token, bytes.NewReader(png))
	if rep := verifyBytes(t, readAll(t, resp), nil); rep.AIGC != nil {
		t.Errorf("the default policy wrote an AIGC label: %+v", rep.AIGC)
	}

	// lang=en,kk: the disclaimers in that order, from the query or the header.
	for _, hdr := range [][]string{nil, {"AI-Label-Lang", "en, kk"}} {
		path := "/v1/label?lang=en,kk"
		if hdr != nil {
			path = "/v1/label"
		}
		resp = ts.do(t, "POST", path, token, bytes.NewReader(text), hdr...)
		rep := verifyBytes(t, readAll(t, resp), nil)
		var langs []string
		for _, n := range rep.Notices {
			langs = append(langs, n.Lang)
		}
		if rep.Verdict != label.Valid || strings.Join(langs, ",") != "en,kk" {
			t.Errorf("%s %v: %s, notices in %v, want en,kk", path, hdr, rep.Verdict, langs)
		}
	}

	// warning=off: no disclaimer, the label stays; no_training=true reserves the content.
	resp = ts.do(t, "POST", "/v1/label?no_training=true", token, bytes.NewReader(text), "AI-Label-Warning", "off")
	out = readAll(t, resp)
	rep = verifyBytes(t, out, nil)
	if rep.Verdict != label.Valid || len(rep.Notices) != 0 || !bytes.HasPrefix(out, text) {
		t.Errorf("warning=off: %s, notices %v, output %q", rep.Verdict, rep.Notices, out)
	}
	if len(rep.Reservations) == 0 || !rep.Reservations[0].Reserved {
		t.Errorf("no_training=true: reservations %+v", rep.Reservations)
	}

	for _, c := range []struct {
		query, param string
		hdr          []string
	}{
		{"policy=us", "policy", nil},
		{"", "policy", []string{"AI-Label-Policy", "/etc/policy.json"}},
		{"lang=en,xx-nope", "lang", nil},
		{"warning=maybe", "warning", nil},
		{"no_training=perhaps", "no_training", nil},
		{"source_type=handDrawn", "source_type", nil},
		{"provider=a%01b", "provider", nil},
		{"policy=kz&policy=cn", "policy", nil},
	} {
		wantParam(t, ts.do(t, "POST", "/v1/label?"+c.query, token, bytes.NewReader(png), c.hdr...), c.param)
	}
	for _, l := range ts.logLines(t) {
		if l["status"] == float64(400) && l["outcome"] != "bad_option" {
			t.Errorf("a 400 logged as %v", l["outcome"])
		}
	}
	ts.healthy(t)
}

// wantParam checks a 400 bad_option that names param.
func wantParam(t testing.TB, resp *http.Response, param string) {
	t.Helper()
	b := readAll(t, resp)
	var e struct {
		Error struct{ Code, Message, Param string }
	}
	if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != 400 || e.Error.Code != "bad_option" || e.Error.Param != param || !strings.Contains(e.Error.Message, param) {
		t.Errorf("want a 400 bad_option naming %s, got %d %s", param, resp.StatusCode, b)
	}
}
