package sidecar_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ailabel/ailabel/sidecar"
)

// FuzzHandlers sends arbitrary bodies to POST /v1/label and /v1/verify through the handler: no
// panic, no 500, every error a JSON error with a code, every label output verifiable.
func FuzzHandlers(f *testing.F) {
	for _, name := range []string{"sample.jpg", "sample.png", "sample.webp"} {
		b := sample(f, name)
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add(mp4Sample(f)[:2048])
	f.Add([]byte("plain text, made by a model\n"))
	f.Add([]byte("<html><body>hi</body></html>"))
	f.Add([]byte{})
	c := testCreds(f)
	s, err := sidecar.New(sidecar.Config{Tokens: []string{token}, Signer: c.signer, TempDir: f.TempDir(),
		MaxBody: 1 << 20, RequestTimeout: 5 * time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, path := range []string{"/v1/label", "/v1/verify"} {
			req := httptest.NewRequest("POST", path, bytes.NewReader(in))
			req.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			switch {
			case w.Code == 200 && path == "/v1/label":
				if rep := verifyBytes(t, w.Body.Bytes(), nil); rep.Verdict != "valid" {
					t.Fatalf("labeled output verifies %s: %v", rep.Verdict, rep.Reasons)
				}
			case w.Code == 200:
			case w.Code == 408:
				t.Fatalf("%s: %d bytes took over 5 s: %q", path, len(in), in)
			case w.Code >= 400 && w.Code < 500:
				var e struct {
					Error struct{ Code, Message string }
				}
				if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Code == "" {
					t.Fatalf("%s: %d without a JSON error: %q", path, w.Code, w.Body.Bytes())
				}
			default:
				t.Fatalf("%s: status %d: %s", path, w.Code, w.Body.Bytes())
			}
		}
	})
}
