package sidecar_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/sidecar"
)

// BenchmarkLabel measures the handler of POST /v1/label alone (no network), per format.
func BenchmarkLabel(b *testing.B) {
	c := testCreds(b)
	s, err := sidecar.New(sidecar.Config{Tokens: []string{token}, Signer: c.signer, TempDir: b.TempDir(),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []struct {
		name string
		body []byte
	}{
		{"text-1KB", []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23))},
		{"jpeg", sample(b, "sample.jpg")},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/v1/label", bytes.NewReader(in.body))
					req.Header.Set("Authorization", "Bearer "+token)
					w := httptest.NewRecorder()
					s.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
