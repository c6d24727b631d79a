package labelhttp_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/labelhttp"
)

const poem = "A poem the model wrote.\nSecond line.\n"

// generator is a stand-in for a model server: it serves each kind of response.
func generator(t testing.TB) http.Handler {
	jpg, png, webp := sample(t, "sample.jpg"), sample(t, "sample.png"), sample(t, "sample.webp")
	mp4 := mp4Sample(t)
	mux := http.NewServeMux()
	serve := func(path, ct string, body []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			h.Set("ETag", `"v1"`)
			h.Set("Accept-Ranges", "bytes")
			h.Set("X-Saw-Range", r.Header.Get("Range"))
			h.Set("X-Saw-Accept-Encoding", r.Header.Get("Accept-Encoding"))
			h.Set("Content-Length", strconv.Itoa(len(body)))
			if r.Method == http.MethodHead {
				return
			}
			for rest := body; len(rest) > 0; { // in small writes, as a generator might
				n := min(len(rest), 5000)
				w.Write(rest[:n])
				rest = rest[n:]
			}
		})
	}
	serve("GET /img.jpg", "image/jpeg", jpg)
	serve("GET /img.png", "image/png", png)
	serve("GET /img.webp", "image/webp", webp)
	serve("GET /octet.png", "application/octet-stream", png)
	serve("GET /poem.txt", "text/plain; charset=utf-8", []byte(poem))
	serve("GET /blob", "application/octet-stream", []byte{0, 1, 2, 3, 0xff, 0xfe, 0x80, 0x81, 9, 9, 9})
	serve("GET /style.css", "text/css", []byte("body { color: red }\n"))
	serve("GET /other.json", "application/json", []byte(`{"ok":true,"data":[{"url":"https://example.com/x.png"}]}`))
	serve("GET /broken.jpg", "image/jpeg", jpg[:40])
	if mp4 != nil {
		serve("GET /clip.mp4", "video/mp4", mp4)
	}
	mux.HandleFunc("GET /noct.jpg", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(jpg); i += 3 { // no Content-Type; the first bytes arrive 3 at a time
			w.Write(jpg[i:min(i+3, len(jpg))])
		}
	})
	mux.HandleFunc("GET /poem.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, poem)
		zw.Close()
	})
	mux.HandleFunc("GET /poem.br", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "br")
		w.Write([]byte{0x0b, 0x02, 0x80})
	})
	mux.HandleFunc("GET /missing.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("no such image"))
	})
	mux.HandleFunc("GET /fails.png", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the model crashed", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /cached.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("POST /v1/images/generations", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"created": 1700000000, "data": []map[string]any{
			{"b64_json": base64.StdEncoding.EncodeToString(jpg), "revised_prompt": "a cat"},
			{"b64_json": base64.StdEncoding.EncodeToString(png)},
		}})
	})
	mux.HandleFunc("POST /v1/images/bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"b64_json":"not base64!"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"llm-7","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, human."},"finish_reason":"stop"}]}`)
	})
	return mux
}

// labeled checks a labeled response: status 200, valid label with the headers' manifest, the
// model in the report and in AI-Disclosure, the changed-bytes headers gone.
func labeled(t *testing.T, resp *http.Response, body []byte, format, model string) *label.Report {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	rep := verifyBytes(t, body)
	id := resp.Header.Get(labelhttp.ManifestHeader)
	if rep.Verdict != label.Valid || !rep.AIGenerated || rep.ActiveManifest != id || rep.Format != format || rep.Model != model {
		t.Fatalf("verify: %s %s format %q ai=%v manifest %q (header %q) model %q %v", rep.Verdict, rep.Summary, rep.Format, rep.AIGenerated, rep.ActiveManifest, id, rep.Model, rep.Reasons)
	}
	d, err := label.ParseDisclosure(resp.Header.Get(labelhttp.DisclosureHeader))
	if err != nil || d.Mode != label.ModeAIOriginated || d.Model != model || d.Date.IsZero() {
		t.Errorf("AI-Disclosure %q: %+v %v", resp.Header.Get(labelhttp.DisclosureHeader), d, err)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
	}
	for _, k := range []string{"ETag", "Accept-Ranges", "Content-Encoding"} {
		if v := resp.Header.Get(k); v != "" {
			t.Errorf("%s %q survived a changed body", k, v)
		}
	}
	return rep
}

// untouched checks a response that must pass exactly as the handler sent it.
func untouched(t *testing.T, resp *http.Response, status int, want []byte) {
	t.Helper()
	b := readAll(t, resp)
	if resp.StatusCode != status || !bytes.Equal(b, want) {
		t.Errorf("status %d (want %d), body %q (want %q)", resp.StatusCode, status, b, want)
	}
	if v := resp.Header.Get(labelhttp.DisclosureHeader); v != "" {
		t.Errorf("untouched response has AI-Disclosure %q", v)
	}
	if v := resp.Header.Get(labelhttp.ManifestHeader); v != "" {
		t.Errorf("untouched response has a manifest ID %q", v)
	}
}

// TestLabelsEveryKind: images, video, text (plain and gzip), sniffed octet-stream and untyped
// bodies, the OpenAI images and chat JSON shapes come out labeled, through the middleware and
// through ModifyResponse alike.
func TestLabelsEveryKind(t *testing.T) {
	var seen []labelhttp.Outcome
	obs := labelhttp.WithObserver(func(r *http.Request, o labelhttp.Outcome) { seen = append(seen, o) })
	serveModes(t, generator(t), []labelhttp.Option{obs}, func(t *testing.T, srv *httptest.Server, mode string) {
		for _, c := range []struct{ path, format, ctype string }{
			{"/img.jpg", "jpeg", "image/jpeg"},
			{"/img.png", "png", "image/png"},
			{"/img.webp", "webp", "image/webp"},
			{"/octet.png", "png", "image/png"},
			{"/noct.jpg", "jpeg", "image/jpeg"},
			{"/clip.mp4", "mp4", "video/mp4"},
			{"/poem.txt", "text", "text/plain; charset=utf-8"},
			{"/poem.gz", "text", "text/plain; charset=utf-8"},
		} {
			t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
				if c.path == "/clip.mp4" && mp4Sample(t) == nil {
					t.Skip("formats/bmff/testdata/unsigned.mp4 is not in this tree")
				}
				seen = nil
				resp := get(t, srv, "GET", c.path, nil, "Range", "bytes=0-99", "Accept-Encoding", "gzip")
				body := readAll(t, resp)
				labeled(t, resp, body, c.format, "default-model")
				if ct := resp.Header.Get("Content-Type"); ct != c.ctype {
					t.Errorf("Content-Type %q, want %q", ct, c.ctype)
				}
				if mode == "middleware" && c.path != "/noct.jpg" && c.path != "/poem.gz" {
					if v := resp.Header.Get("X-Saw-Range") + resp.Header.Get("X-Saw-Accept-Encoding"); v != "" {
						t.Errorf("the handler saw Range or Accept-Encoding: %q", v)
					}
				}
				if c.format == "text" && !strings.Contains(string(body), "Second line.") {
					t.Errorf("text lost: %q", body)
				}
				if len(seen) != 1 || seen[0].Action != "labeled" || seen[0].Format != c.format || len(seen[0].Manifests) != 1 {
					t.Errorf("observed %+v", seen)
				}
			})
		}

		// The OpenAI images shape: every image labeled, other fields kept.
		resp := get(t, srv, "POST", "/v1/images/generations", strings.NewReader(`{"prompt":"a cat"}`))
		body := readAll(t, resp)
		var doc struct {
			Created int64
			Data    []struct {
				B64JSON       string `json:"b64_json"`
				RevisedPrompt string `json:"revised_prompt"`
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 || len(doc.Data) != 2 || doc.Created != 1700000000 || doc.Data[0].RevisedPrompt != "a cat" {
			t.Fatalf("images JSON: %d %v %.200s", resp.StatusCode, err, body)
		}
		ids := strings.Split(resp.Header.Get(labelhttp.ManifestHeader), ", ")
		if len(ids) != 2 || resp.ContentLength != int64(len(body)) {
			t.Errorf("images: manifest IDs %q, Content-Length %d of %d", ids, resp.ContentLength, len(body))
		}
		for i, d := range doc.Data {
			img, err := base64.StdEncoding.DecodeString(d.B64JSON)
			if err != nil {
				t.Fatal(err)
			}
			if rep := verifyBytes(t, img); rep.Verdict != label.Valid || rep.ActiveManifest != ids[min(i, len(ids)-1)] || rep.Model != "default-model" {
				t.Errorf("data[%d]: %s %s %q", i, rep.Verdict, rep.ActiveManifest, rep.Model)
			}
		}

		// A chat completion: the message labeled with the model the JSON names.
		seen = nil
		resp = get(t, srv, "POST", "/v1/chat/completions", strings.NewReader(`{}`))
		body = readAll(t, resp)
		var chat struct {
			ID      string
			Model   string
			Choices []struct {
				Message struct{ Role, Content string }
			}
		}
		if err := json.Unmarshal(body, &chat); err != nil || len(chat.Choices) != 1 || chat.ID != "c1" || chat.Model != "llm-7" {
			t.Fatalf("chat JSON: %v %s", err, body)
		}
		content := chat.Choices[0].Message.Content
		if !strings.Contains(content, "Hello there, human.") {
			t.Errorf("content lost: %q", content)
		}
		if rep := verifyBytes(t, []byte(content)); rep.Verdict != label.Valid || rep.ActiveManifest != resp.Header.Get(labelhttp.ManifestHeader) || rep.Model != "llm-7" {
			t.Errorf("chat message: %s %s model %q %v", rep.Verdict, rep.Summary, rep.Model, rep.Reasons)
		}
		if d, _ := label.ParseDisclosure(resp.Header.Get(labelhttp.DisclosureHeader)); d.Model != "llm-7" {
			t.Errorf("chat AI-Disclosure %q", resp.Header.Get(labelhttp.DisclosureHeader))
		}
		if len(seen) != 1 || seen[0].Format != "chat" || len(seen[0].Labeled) != 1 || seen[0].Labeled[0] != "text" {
			t.Errorf("observed %+v", seen)
		}
	})
}

// TestPassesThrough: content ailabel does not label, HEAD, 304, 404 and 500 answers pass
// untouched; media that cannot be labeled and unknown encodings are errors, never unlabeled.
func TestPassesThrough(t *testing.T) {
	serveModes(t, generator(t), nil, func(t *testing.T, srv *httptest.Server, mode string) {
		untouched(t, get(t, srv, "GET", "/blob", nil), 200, []byte{0, 1, 2, 3, 0xff, 0xfe, 0x80, 0x81, 9, 9, 9})
		untouched(t, get(t, srv, "GET", "/style.css", nil), 200, []byte("body { color: red }\n"))
		untouched(t, get(t, srv, "GET", "/other.json", nil), 200, []byte(`{"ok":true,"data":[{"url":"https://example.com/x.png"}]}`))
		untouched(t, get(t, srv, "GET", "/missing.png", nil), 404, []byte("no such image"))
		untouched(t, get(t, srv, "GET", "/fails.png", nil), 500, []byte("the model crashed\n"))
		resp := get(t, srv, "GET", "/cached.png", nil)
		untouched(t, resp, 304, nil)
		if resp.Header.Get("ETag") != `"v1"` {
			t.Errorf("304 lost its ETag")
		}
		resp = get(t, srv, "HEAD", "/img.png", nil)
		untouched(t, resp, 200, nil)
		if resp.ContentLength != int64(len(sample(t, "sample.png"))) || resp.Header.Get("ETag") != `"v1"` {
			t.Errorf("HEAD changed: Content-Length %d, ETag %q", resp.ContentLength, resp.Header.Get("ETag"))
		}

		status := http.StatusInternalServerError
		if mode == "proxy" {
			status = http.StatusBadGateway
		}
		wantError(t, get(t, srv, "GET", "/broken.jpg", nil), status, labelhttp.CodeUnlabelable)
		wantError(t, get(t, srv, "GET", "/poem.br", nil), status, labelhttp.CodeUnlabelable)
		wantError(t, get(t, srv, "POST", "/v1/images/bad", nil), status, labelhttp.CodeMalformed)
	})
}

// TestMaxBody: a body over the limit is an error, not unlabeled content, and costs no more than
// the limit in memory or on disk.
func TestMaxBody(t *testing.T) {
	dir := t.TempDir()
	opts := []labelhttp.Option{labelhttp.WithMaxBody(8000), labelhttp.WithTempDir(dir)}
	serveModes(t, generator(t), opts, func(t *testing.T, srv *httptest.Server, mode string) {
		status := http.StatusInternalServerError
		if mode == "proxy" {
			status = http.StatusBadGateway
		}
		wantError(t, get(t, srv, "GET", "/img.png", nil), status, labelhttp.CodeTooLarge) // 13759 bytes
		resp := get(t, srv, "GET", "/img.jpg", nil)                                       // 6817 bytes
		labeled(t, resp, readAll(t, resp), "jpeg", "default-model")
		untouched(t, get(t, srv, "GET", "/style.css", nil), 200, []byte("body { color: red }\n"))
	})
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestSpoolsLargeBodies: a body over 1 MiB goes through a temporary file, removed afterwards,
// also when the handler panics.
func TestSpoolsLargeBodies(t *testing.T) {
	dir := t.TempDir()
	big := bigJPEG(t, 3<<20)
	var inHandler atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(big)
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			inHandler.Add(1)
		}
		if r.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
	})
	srv := httptest.NewServer(labelhttp.Middleware(labeler(t), labelhttp.WithTempDir(dir), labelhttp.WithDisclosure(label.Disclosure{Model: "default-model"}))(h))
	defer srv.Close()
	resp := get(t, srv, "GET", "/big.jpg", nil)
	labeled(t, resp, readAll(t, resp), "jpeg", "default-model")
	if inHandler.Load() != 1 {
		t.Error("a 3 MiB body was not spooled to a temporary file")
	}
	if _, err := srv.Client().Get(srv.URL + "/panic"); err == nil {
		t.Error("a panicking handler's response arrived")
	}
	time.Sleep(100 * time.Millisecond) // the server finishes the aborted request
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// bigJPEG is sample.jpg grown to about size bytes with COM segments.
func bigJPEG(t testing.TB, size int) []byte {
	jpg := sample(t, "sample.jpg")
	out := append([]byte(nil), jpg[:2]...)
	seg := bytes.Repeat([]byte{'x'}, 65533)
	for len(out) < size {
		out = append(out, 0xff, 0xfe, 0xff, 0xff)
		out = append(out, seg...)
	}
	return append(out, jpg[2:]...)
}

// streamer serves an OpenAI chat-completions stream slowly: three events flushed one by one,
// then the last only once release is closed (or after 5 s).
type streamer struct {
	release  chan struct{}
	lastSent atomic.Bool
	flushErr atomic.Value
}

func (s *streamer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body) // the prompt
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, ok := w.(http.Flusher)
	if !ok {
		s.flushErr.Store("the writer is not an http.Flusher")
		return
	}
	fmt.Fprint(w, ": keep-alive comment\n\n")
	for i, tok := range []string{"Hel", "lo ", "there"} {
		fmt.Fprintf(w, "data: {\"id\":\"c1\",\"model\":\"llm-stream\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", tok)
		if i%2 == 0 {
			fl.Flush()
		} else if err := http.NewResponseController(w).Flush(); err != nil {
			s.flushErr.Store(err.Error())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-s.release:
	case <-time.After(5 * time.Second):
	}
	s.lastSent.Store(true)
	fmt.Fprint(w, "data: {\"id\":\"c1\",\"model\":\"llm-stream\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\", friend.\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
}

// TestStream: an event stream is labeled as it passes: the first labeled chunk arrives before
// the handler sends its last, and the assembled message verifies, with the stream's model.
func TestStream(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := &streamer{release: make(chan struct{})}
			streamCheck(t, newServer(t, mode, s, nil), s)
		})
	}
}

func streamCheck(t *testing.T, srv *httptest.Server, s *streamer) {
	resp := get(t, srv, "POST", "/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	if d, err := label.ParseDisclosure(resp.Header.Get(labelhttp.DisclosureHeader)); err != nil || d.Model != "llm-stream" {
		t.Errorf("AI-Disclosure %q (%v), want the stream's model", resp.Header.Get(labelhttp.DisclosureHeader), err)
	}
	br := bufio.NewReader(resp.Body)
	var text strings.Builder
	first, done := true, false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var ev struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if len(ev.Choices) > 0 && ev.Choices[0].Delta.Content != "" {
			if first {
				if s.lastSent.Load() {
					t.Error("the first labeled chunk came after the handler's last")
				}
				close(s.release)
				first = false
			}
			text.WriteString(ev.Choices[0].Delta.Content)
		}
	}
	if first || !done {
		t.Fatalf("stream incomplete: content %v, [DONE] %v", !first, done)
	}
	if v := s.flushErr.Load(); v != nil {
		t.Errorf("flush: %v", v)
	}
	if !strings.Contains(text.String(), "there, friend.") {
		t.Errorf("streamed text lost: %q", text.String())
	}
	rep := verifyBytes(t, []byte(text.String()))
	if rep.Verdict != label.Valid || rep.Model != "llm-stream" {
		t.Errorf("streamed message: %s %s model %q %v", rep.Verdict, rep.Summary, rep.Model, rep.Reasons)
	}
}

// TestFlushPassThrough: a response that passes through is flushed when the handler flushes.
func TestFlushPassThrough(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprintln(w, `{"progress":1}`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		fmt.Fprintln(w, `{"progress":2}`)
	})
	srv := httptest.NewServer(labelhttp.Middleware(labeler(t))(h))
	defer srv.Close()
	began := time.Now()
	resp := get(t, srv, "GET", "/", nil)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "{\"progress\":1}\n" || time.Since(began) > 3*time.Second {
		t.Fatalf("first line %q %v after %v", line, err, time.Since(began))
	}
	close(release)
	if rest, _ := io.ReadAll(br); string(rest) != "{\"progress\":2}\n" {
		t.Errorf("rest %q", rest)
	}
}

// TestOuterHeaders: headers an outer handler set survive, on labeled answers and on errors;
// the handler's own headers are not sent with an error.
func TestOuterHeaders(t *testing.T) {
	gen := generator(t)
	inner := labelhttp.Middleware(labeler(t), labelhttp.WithDisclosure(label.Disclosure{Model: "default-model"}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Inner", "1")
		gen.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "abc")
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	resp := get(t, srv, "GET", "/img.png", nil)
	labeled(t, resp, readAll(t, resp), "png", "default-model")
	if resp.Header.Get("X-Request-Id") != "abc" || resp.Header.Get("X-Inner") != "1" {
		t.Errorf("headers lost: %v", resp.Header)
	}
	resp = get(t, srv, "GET", "/broken.jpg", nil)
	if resp.Header.Get("X-Request-Id") != "abc" || resp.Header.Get("X-Inner") != "" || resp.Header.Get("ETag") != "" {
		t.Errorf("error headers: %v", resp.Header)
	}
	wantError(t, resp, 500, labelhttp.CodeUnlabelable)
}

// TestLimiter: WithLimiter is asked before each body and each image of an images response is
// labeled, with its size, and released after; not for what passes through, nor for a chat
// message. Its error fails the response.
func TestLimiter(t *testing.T) {
	jpg, png := sample(t, "sample.jpg"), sample(t, "sample.png")
	var mu sync.Mutex
	var sizes []int64
	var held, released int
	var refuse atomic.Bool
	limit := func(ctx context.Context, size int64) (func(), error) {
		if refuse.Load() {
			return nil, errors.New("no worker")
		}
		mu.Lock()
		defer mu.Unlock()
		sizes, held = append(sizes, size), held+1
		return func() { mu.Lock(); released++; mu.Unlock() }, nil
	}
	serveModes(t, generator(t), []labelhttp.Option{labelhttp.WithLimiter(limit)}, func(t *testing.T, srv *httptest.Server, mode string) {
		mu.Lock()
		sizes, held, released = nil, 0, 0
		mu.Unlock()
		for _, c := range []struct{ method, path string }{
			{"GET", "/img.jpg"}, {"POST", "/v1/images/generations"}, {"GET", "/style.css"}, {"POST", "/v1/chat/completions"},
		} {
			if resp := get(t, srv, c.method, c.path, nil); resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", c.path, resp.StatusCode, readAll(t, resp))
			} else {
				readAll(t, resp)
			}
		}
		mu.Lock()
		want := []int64{int64(len(jpg)), int64(len(jpg)), int64(len(png))}
		if !slices.Equal(sizes, want) || released != held {
			t.Errorf("limiter asked for %v, want %v; %d released of %d", sizes, want, released, held)
		}
		mu.Unlock()
		refuse.Store(true)
		defer refuse.Store(false)
		status := http.StatusInternalServerError
		if mode == "proxy" {
			status = http.StatusBadGateway
		}
		wantError(t, get(t, srv, "GET", "/img.jpg", nil), status, labelhttp.CodeUnlabelable)
	})
}
