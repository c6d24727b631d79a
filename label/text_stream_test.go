package label_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/text"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"golang.org/x/text/unicode/norm"
)

// chunksOf splits s into pieces of n bytes, cutting runes and combining sequences anywhere.
func chunksOf(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// A streamed text verifies; its text is the NFC form of what was written, behind the
// disclaimer, whatever the chunking (runes and e + U+0301 cut across chunks).
func TestTextStream(t *testing.T) {
	l, ts := txtLabeler(t)
	msg := "Жауап: Cafe\u0301 ӘҒҚҢӨҰҮҺІ, 人工智能 👨‍👩‍👧 e\u0301\u0323 A\u030a.\nSecond line\r\nend"
	for _, place := range []string{"start", "end", "both", ""} {
		for _, size := range []int{1, 2, 3, 5, 1000} {
			t.Run(fmt.Sprintf("%s/%d", place, size), func(t *testing.T) {
				var n *formats.Notice
				if place != "" {
					n = label.DefaultNotice()
					n.Placement = place
				}
				var out bytes.Buffer
				s, err := l.NewTextStream(&out, label.Options{Title: "stream", Notice: n, NoNotice: n == nil})
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range chunksOf(msg, size) {
					if k, err := s.Write([]byte(c)); err != nil || k != len(c) {
						t.Fatalf("Write = %d, %v", k, err)
					}
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				b := out.Bytes()
				if !utf8.Valid(b) || !norm.NFC.IsNormal(b) {
					t.Fatalf("output not NFC UTF-8: %q", b)
				}
				rep := txtVerify(t, b, ts)
				if rep.Verdict != label.Valid || rep.Model != "text-model-7" {
					t.Fatalf("verify: %s %s", rep.Verdict, rep.Summary)
				}
				w, err := text.DecodeWrapper(b)
				if err != nil || w.End != int64(len(b)) || s.Result().Size != int64(len(b)) {
					t.Fatalf("wrapper %+v, %v; size %d of %d", w, err, s.Result().Size, len(b))
				}
				body := string(b[:w.Start])
				want := norm.NFC.String(msg)
				if n != nil {
					st, en := place != "end", place != "start"
					if st {
						want = string(text.StartNotice(n, "\n")) + want
					}
					if en {
						want += string(text.EndNotice(n, "\n", false, false))
					}
				}
				if body != want {
					t.Fatalf("streamed text:\n%q\nwant\n%q", body, want)
				}
				if rep := txtVerify(t, editOne(t, b), ts); rep.Verdict != label.Invalid || !hasCode(rep.Status.Failure, manifest.CodeDataHashMismatch) {
					t.Fatalf("edited: %s", rep.Verdict)
				}
			})
		}
	}
}

// The disclaimer goes out with the first bytes, and each chunk goes out when written (only a
// last character that a combining mark could still join is held back).
func TestTextStreamLatency(t *testing.T) {
	l, _ := txtLabeler(t)
	var out bytes.Buffer
	s, err := l.NewTextStream(&out, label.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("Hel"))
	if !strings.HasPrefix(out.String(), "⚠ ") || !strings.HasSuffix(out.String(), "\n\nHe") {
		t.Fatalf("after the first chunk: %q", out.String())
	}
	s.Write([]byte("lo, "))
	if !strings.HasSuffix(out.String(), "Hello, ") {
		t.Fatalf("a chunk ending in a space is not held back: %q", out.String())
	}
	s.Write([]byte("\xe4\xba")) // the first two bytes of 人
	if !strings.HasSuffix(out.String(), "Hello, ") {
		t.Fatalf("half a rune was written: %q", out.String())
	}
	s.Write([]byte("\xba!"))
	if !strings.HasSuffix(out.String(), "人!") {
		t.Fatalf("%q", out.String())
	}
	s.Write([]byte("e"))
	s.Write([]byte("\u0301"))
	s.Write([]byte(" \xff"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "人!\u00e9 \ufffd\ufeff") {
		t.Fatalf("e + U+0301 across chunks, invalid byte: %q", out.String()[:80])
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

// LabelTextReader gives the same labeled text through a reader.
func TestLabelTextReader(t *testing.T) {
	l, ts := txtLabeler(t)
	r, err := l.LabelTextReader(strings.NewReader("Some generated text.\n"), label.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if rep := txtVerify(t, b, ts); rep.Verdict != label.Valid {
		t.Fatalf("%s %s", rep.Verdict, rep.Summary)
	}
	// Closing early stops the copy goroutine.
	r, _ = l.LabelTextReader(strings.NewReader(strings.Repeat("x", 1<<20)), label.Options{NoNotice: true})
	buf := make([]byte, 10)
	r.Read(buf)
	r.Close()
}

// chatChunk is an OpenAI chat.completion.chunk event.
func chatChunk(t testing.TB, choices string) string {
	t.Helper()
	return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-test","system_fingerprint":"fp_1","choices":` + choices + "}\n\n"
}

func deltaEvent(t testing.TB, idx int, content string) string {
	c, _ := json.Marshal(content)
	return chatChunk(t, fmt.Sprintf(`[{"index":%d,"delta":{"content":%s},"logprobs":null,"finish_reason":null}]`, idx, c))
}

// sseContent concatenates the delta contents of choice idx in an event stream.
func sseContent(t testing.TB, stream []byte, idx int) string {
	t.Helper()
	var b strings.Builder
	for _, ln := range strings.Split(string(stream), "\n") {
		data, ok := strings.CutPrefix(strings.TrimRight(ln, "\r"), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &chunk) != nil {
			continue // not a chat chunk
		}
		for _, ch := range chunk.Choices {
			if ch.Index == idx && ch.Delta.Content != nil {
				b.WriteString(*ch.Delta.Content)
			}
		}
	}
	return b.String()
}

// A chat completion stream comes out with the disclaimer in the first content delta and the
// wrapper in one more event before [DONE]; each choice's assembled content verifies; other
// events pass through.
func TestLabelChatStream(t *testing.T) {
	l, ts := txtLabeler(t)
	tokens := []string{"Сәлем", "! ", "Cafe", "\u0301", " is", " 人工", "智能", ".\n", "<b>&</b>", "\"q\" \\ \t\u2028\x01 ", "end"}
	var in strings.Builder
	in.WriteString(": keep-alive comment\n\n")
	in.WriteString(chatChunk(t, `[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":""},"finish_reason":null}]`))
	for _, tok := range tokens {
		in.WriteString(deltaEvent(t, 0, tok))
		in.WriteString(deltaEvent(t, 1, strings.ToUpper(tok)))
	}
	in.WriteString(chatChunk(t, `[{"index":0,"delta":{"content":"\u00e9\ud83d\ude00"},"finish_reason":null},{"index":1,"delta":{"content":null},"finish_reason":null}]`))
	tokens = append(tokens, "é😀")
	in.WriteString(chatChunk(t, `[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"stop"}]`))
	in.WriteString("data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":9}}\r\n\r\n")
	in.WriteString("event: ping\ndata: not json\n\n")
	in.WriteString("data: [DONE]\n\n")

	var out bytes.Buffer
	if err := l.LabelChatStream(context.Background(), strings.NewReader(in.String()), &out, label.Options{}); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	events := strings.Split(strings.TrimSuffix(o, "\n\n"), "\n\n")
	if events[len(events)-1] != "data: [DONE]" || events[0] != ": keep-alive comment" {
		t.Fatalf("first/last events %q / %q", events[0], events[len(events)-1])
	}
	if !strings.Contains(o, "event: ping\ndata: not json\n\n") || !strings.Contains(o, `"usage":{"prompt_tokens":5,"completion_tokens":9}`) {
		t.Fatalf("other events were changed:\n%s", o)
	}
	// The first content delta carries the disclaimer.
	var first struct {
		Choices []struct {
			Delta struct{ Content string } `json:"delta"`
		} `json:"choices"`
	}
	json.Unmarshal([]byte(strings.TrimPrefix(events[1], "data: ")), &first)
	if !strings.HasPrefix(first.Choices[0].Delta.Content, "⚠ Жасанды интеллект") {
		t.Fatalf("first delta %q", first.Choices[0].Delta.Content)
	}
	// The two events before [DONE] hold the wrappers.
	for i, ev := range events[len(events)-3 : len(events)-1] {
		if !strings.Contains(ev, fmt.Sprintf(`"index":%d`, i)) || !strings.Contains(ev, "\ufeff") || !strings.Contains(ev, `"model":"gpt-test"`) {
			t.Fatalf("wrapper event %d: %.200s", i, ev)
		}
	}
	// Rewritten events keep their bytes but for the content.
	if !strings.HasPrefix(events[3], `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-test","system_fingerprint":"fp_1","choices":[{"index":1,"delta":{"content":"`) ||
		!strings.HasSuffix(events[3], `"},"logprobs":null,"finish_reason":null}]}`) {
		t.Fatalf("rewritten event: %s", events[3])
	}
	for _, ev := range events {
		if d, ok := strings.CutPrefix(ev, "data: "); ok && strings.HasPrefix(d, "{") && !json.Valid([]byte(d)) {
			t.Fatalf("invalid JSON in %s", ev)
		}
	}
	for idx, transform := range []func(string) string{func(s string) string { return s }, strings.ToUpper} {
		msg := sseContent(t, out.Bytes(), idx)
		var raw strings.Builder
		for i, tok := range tokens {
			if idx == 1 && i == len(tokens)-1 {
				break // choice 1 got null there
			}
			raw.WriteString(transform(tok))
		}
		w, err := text.DecodeWrapper([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if want := string(text.StartNotice(label.DefaultNotice(), "\n")) + norm.NFC.String(raw.String()); msg[:w.Start] != want {
			t.Fatalf("choice %d text %q, want %q", idx, msg[:w.Start], want)
		}
		rep := txtVerify(t, []byte(msg), ts)
		if rep.Verdict != label.Valid {
			t.Fatalf("choice %d: %s %s", idx, rep.Verdict, rep.Summary)
		}
	}
}

// A stream that ends without [DONE] still gets its wrapper event; a canceled context stops it.
func TestLabelChatStreamEdges(t *testing.T) {
	l, ts := txtLabeler(t)
	in := deltaEvent(t, 0, "partial answer") + strings.TrimSuffix(deltaEvent(t, 0, " cut"), "\n\n")
	var out bytes.Buffer
	if err := l.LabelChatStream(context.Background(), strings.NewReader(in), &out, label.Options{NoNotice: true}); err != nil {
		t.Fatal(err)
	}
	msg := sseContent(t, out.Bytes(), 0)
	if rep := txtVerify(t, []byte(msg), ts); rep.Verdict != label.Valid || !strings.HasPrefix(msg, "partial answer cut\ufeff") {
		t.Fatalf("%s %q", rep.Verdict, msg[:30])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.LabelChatStream(ctx, strings.NewReader(in), io.Discard, label.Options{NoNotice: true}); err == nil {
		t.Fatal("canceled context: no error")
	}
}

// tokens returns n LLM-like chunks of mixed Latin, Cyrillic and CJK text.
func benchTokens(n int) [][]byte {
	words := []string{"The", " model", " said", ":", " Қазақ", "стан", " —", " 人工", "智能", ",", " hello", " world", ".\n"}
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(words[i%len(words)])
	}
	return out
}

// BenchmarkTextStreamChunk is the time TextStream adds to one chunk (normalize, hash, write).
func BenchmarkTextStreamChunk(b *testing.B) {
	l, _ := txtLabeler(b)
	toks := benchTokens(1 << 12)
	s, err := l.NewTextStream(io.Discard, label.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Write(toks[i&(len(toks)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTextStream10k streams 10,000 chunks and closes (signs) the stream; chunk-ns/op is the
// whole run divided by the chunks, signing included.
func BenchmarkTextStream10k(b *testing.B) {
	l, _ := txtLabeler(b)
	toks := benchTokens(10000)
	b.ReportAllocs()
	var per float64
	for b.Loop() {
		s, err := l.NewTextStream(io.Discard, label.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range toks {
			if _, err := s.Write(t); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	per = float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(len(toks))
	b.ReportMetric(per, "ns/chunk")
}

// BenchmarkChatStreamEvent is the time LabelChatStream takes per SSE event (JSON in and out).
func BenchmarkChatStreamEvent(b *testing.B) {
	l, _ := txtLabeler(b)
	var in bytes.Buffer
	for _, t := range benchTokens(10000) {
		in.WriteString(deltaEvent(b, 0, string(t)))
	}
	in.WriteString("data: [DONE]\n\n")
	b.ReportAllocs()
	for b.Loop() {
		if err := l.LabelChatStream(context.Background(), bytes.NewReader(in.Bytes()), io.Discard, label.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/event")
}

// FuzzLabelChatStream: any event stream is rewritten without panics or errors, and every data
// payload it writes is either valid JSON or copied from the input unchanged.
func FuzzLabelChatStream(f *testing.F) {
	f.Add([]byte(deltaEvent(f, 0, "Hello") + deltaEvent(f, 0, " wo\u0301rld") + "data: [DONE]\n\n"))
	f.Add([]byte(chatChunk(f, `[{"index":1,"delta":{"content":"a\"b\\u00e9"}},{"index":0,"delta":{"content":null}}]`) + ": c\r\n\r\ndata: x\ndata: y\n\n"))
	f.Add([]byte(`data: {"choices":[{"delta":{"content":"x"}}],"choices":[]}` + "\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":-1,\"delta\":{\"content\":\"\\ud800\"}}]}\n"))
	l, _ := txtLabeler(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if err := l.LabelChatStream(context.Background(), bytes.NewReader(in), &out, label.Options{}); err != nil {
			t.Fatalf("LabelChatStream: %v", err)
		}
		for _, ln := range strings.Split(out.String(), "\n") {
			data, ok := strings.CutPrefix(ln, "data:")
			if !ok || json.Valid([]byte(strings.TrimPrefix(data, " "))) {
				continue
			}
			if !bytes.Contains(in, []byte(strings.TrimPrefix(data, " "))) {
				t.Fatalf("wrote a data payload that is neither JSON nor from the input: %q", ln)
			}
		}
	})
}
