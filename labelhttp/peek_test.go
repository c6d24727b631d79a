package labelhttp

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPeekModel(t *testing.T) {
	for _, c := range []struct{ in, model string }{
		{": hi\n\ndata: {\"model\":\"m-1\",\"choices\":[]}\n\ndata: [DONE]\n\n", "m-1"},
		{"data:{\"model\":\"m-2\"}\r\n\r\n", "m-2"},
		{"data: [DONE]\n\n", ""},
		{"data: {\"model\":42}\n\n", ""},
		{"event: x\n", ""},
		{"", ""},
	} {
		got, model := peekModel(iotest.OneByteReader(strings.NewReader(c.in)))
		if model != c.model || !strings.HasPrefix(c.in, string(got)) {
			t.Errorf("%q: model %q (want %q), read %q", c.in, model, c.model, got)
		}
	}
	// A stream whose first event never comes is read no further than maxPeek.
	long := strings.Repeat(": padding\n", maxPeek)
	if got, _ := peekModel(strings.NewReader(long)); len(got) != maxPeek {
		t.Errorf("read %d bytes of a comment-only stream, want %d", len(got), maxPeek)
	}
}

// FuzzPeekModel: what peekModel reads is a prefix of the stream, at most maxPeek bytes, and the
// model it finds is bounded.
func FuzzPeekModel(f *testing.F) {
	f.Add([]byte("data: {\"model\":\"gpt\"}\n\n"))
	f.Add([]byte(": c\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"model\":\"\\u00e9\"}\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, model := peekModel(bytes.NewReader(in))
		if !bytes.HasPrefix(in, got) || len(got) > maxPeek || len(model) > maxModel {
			t.Fatalf("read %d bytes, model %d bytes", len(got), len(model))
		}
	})
}
