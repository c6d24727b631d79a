package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/label"
)

// chat-stream's one-run mode: the assembled answer it writes verifies as AI-generated text,
// with the default policy's warnings, NFC-normalized across token boundaries.
func TestChatStream(t *testing.T) {
	const model = "test-chat-model"
	out := filepath.Join(t.TempDir(), "answer.txt")
	code, stdout, stderr := runProgram(t, "chat-stream", "-delay", "0", "-model", model, "-prompt", "Where is Astana?", "-o", out)
	if code != 0 || !strings.Contains(stdout, "verify: valid: ") {
		t.Fatalf("chat-stream: exit %d\n%s\n%s", code, stdout, stderr)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rep := checkLabeled(t, out, model) // (c2pa-rs reads no text: no c2pa-check)
	checkChatText(t, string(text), rep)
}

// chat-stream -serve: the relay passes events on as they come (the first labeled delta arrives
// long before the stand-in model's last token), and the deltas assembled verify.
func TestChatStreamRelay(t *testing.T) {
	const (
		model = "test-relay-model"
		delay = 25 * time.Millisecond
	)
	base := startServer(t, "chat-stream", "-serve", "-listen", "127.0.0.1:0", "-model", model, "-delay", delay.String())

	body := `{"model":"x","stream":true,"messages":[{"role":"user","content":"Where is Astana?"}]}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("relay: %s %q: %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	checkDisclosure(t, resp.Header.Get("AI-Disclosure"), model)

	var text strings.Builder
	var firstDelta, last time.Duration
	deltas, done := 0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("event %.100q: %v", data, err)
		}
		for _, c := range chunk.Choices {
			if c.Delta.Content == "" {
				continue
			}
			if deltas == 0 {
				firstDelta = time.Since(start)
				if !strings.Contains(c.Delta.Content, "Жасанды интеллект") {
					t.Errorf("the first delta %.80q does not carry the warning", c.Delta.Content)
				}
			}
			deltas++
			text.WriteString(c.Delta.Content)
		}
		last = time.Since(start)
	}
	if err := sc.Err(); err != nil || !done {
		t.Fatalf("stream ended (done %v): %v", done, err)
	}
	t.Logf("%d content deltas; first after %v, stream over after %v", deltas, firstDelta, last)
	if deltas < 30 {
		t.Errorf("%d content deltas: the answer was not relayed token by token", deltas)
	}
	if firstDelta > last/2 || last-firstDelta < 20*delay {
		t.Errorf("the first labeled delta came after %v of a %v stream: the relay buffered the stream", firstDelta, last)
	}

	path := filepath.Join(t.TempDir(), "relayed.txt")
	if err := os.WriteFile(path, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := checkLabeled(t, path, model)
	checkChatText(t, text.String(), rep)

	// A request the model refuses: its error comes through, unlabeled.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"messages":[]}`))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("stream")) || resp2.Header.Get("AI-Disclosure") != "" {
		t.Errorf("non-streaming request: %s %q (AI-Disclosure %q), want the model's 400 passed on", resp2.Status, b, resp2.Header.Get("AI-Disclosure"))
	}
}

// checkChatText checks an assembled answer: it starts with the kz warnings, holds the stand-in
// model's reply with "café" composed (NFC), and its report lists the warnings.
func checkChatText(t *testing.T, text string, rep *label.Report) {
	t.Helper()
	if !strings.HasPrefix(text, "⚠ Жасанды интеллект жасаған мазмұн\n") {
		t.Errorf("the answer does not start with the Kazakh warning: %.80q", text)
	}
	if !strings.Contains(text, `You asked: "Where is Astana?"`) || !strings.Contains(text, "caf\u00e9 near") || strings.Contains(text, "e\u0301") {
		t.Errorf("the answer is not the model's reply in NFC: %.400q", text)
	}
	var langs []string
	for _, n := range rep.Notices {
		langs = append(langs, n.Lang)
	}
	if strings.Join(langs, ",") != "kk,ru,en" {
		t.Errorf("verify found warnings in %v, want kk,ru,en", langs)
	}
}
