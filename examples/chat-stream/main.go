// Command chat-stream labels an LLM's answer as it streams. A stand-in model streams an
// OpenAI-compatible chat completion (Server-Sent Events) token by token; a relay in front of it
// passes every event on as soon as it arrives, with the text labeled by Labeler.LabelChatStream:
// the first delta carries the warning, the last one the signed C2PA manifest, so the assembled
// message verifies as AI-generated text.
//
//	go run ./examples/chat-stream                       # ask once through the relay, print the verdict
//	go run ./examples/chat-stream -serve                # serve the relay on 127.0.0.1:8081
//	go run ./examples/chat-stream -serve -upstream http://127.0.0.1:11434/v1/chat/completions
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/sign"
)

// Paths the server answers.
const (
	relayPath = "/v1/chat/completions"       // the labeled stream, for clients
	modelPath = "/model/v1/chat/completions" // the stand-in model, unlabeled
)

// Limits.
const (
	maxRequestBody = 1 << 20  // a chat request
	maxErrorBody   = 64 << 10 // an upstream's error answer passed on
)

// config is what the flags say.
type config struct {
	serve                     bool
	listen, upstream          string
	model, prompt, out        string
	policy, langs             string
	delay                     time.Duration
	keyFile, kmsRef, certFile string
}

func main() {
	var c config
	flag.BoolVar(&c.serve, "serve", false, "serve the relay (and the stand-in model) until interrupted")
	flag.StringVar(&c.listen, "listen", "127.0.0.1:8081", "address to serve on with -serve (port 0 picks a free port)")
	flag.StringVar(&c.upstream, "upstream", "", "chat-completions URL the relay forwards to (default: the built-in stand-in model)")
	flag.StringVar(&c.model, "model", "demo-chat-model", "model name written into the label")
	flag.StringVar(&c.prompt, "prompt", "Tell me about Astana.", "question asked without -serve")
	flag.StringVar(&c.out, "o", "", "without -serve: also write the assembled message to this file")
	flag.StringVar(&c.policy, "policy", policy.Default, "labeling policy: kz, eu or cn")
	flag.StringVar(&c.langs, "lang", "", "warning languages, comma-separated (default: the policy's)")
	flag.DurationVar(&c.delay, "delay", 30*time.Millisecond, "the stand-in model's pause between tokens")
	flag.StringVar(&c.keyFile, "key", "", "signing key (PEM); without -key and -kms the development key is used")
	flag.StringVar(&c.kmsRef, "kms", "", "KMS key reference, e.g. hashivault://name, instead of -key")
	flag.StringVar(&c.certFile, "cert", "", "certificate chain (PEM) of the signing key")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "chat-stream:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	pol, err := policy.ByName(c.policy)
	if err != nil {
		return fmt.Errorf("-policy: %w", err)
	}
	var langs []string
	for _, tag := range strings.Split(c.langs, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			langs = append(langs, tag)
		}
	}
	signer, err := loadSigner(ctx, c.keyFile, c.kmsRef, c.certFile)
	if err != nil {
		return err
	}
	l, err := label.New(signer, label.Options{Model: c.model, Policy: pol, Languages: langs})
	if err != nil {
		return fmt.Errorf("making the labeler: %w", err)
	}

	listen := c.listen
	if !c.serve {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	base := "http://" + ln.Addr().String()
	upstream := c.upstream
	if upstream == "" {
		upstream = base + modelPath
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	mux := http.NewServeMux()
	mux.Handle("POST "+modelPath, &standInModel{name: c.model, delay: c.delay})
	mux.Handle("POST "+relayPath, &relay{labeler: l, upstream: upstream, model: c.model, client: &http.Client{}, log: log})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()

	if c.serve {
		fmt.Printf("listening on %s\n", base)
		fmt.Printf("relay: POST %s%s (upstream %s)\n", base, relayPath, upstream)
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("serving: %w", err)
		}
	}
	return ask(ctx, base+relayPath, c)
}

// loadSigner returns the signer of -key/-cert or -kms/-cert, or the development signer.
func loadSigner(ctx context.Context, keyFile, kmsRef, certFile string) (*sign.Signer, error) {
	switch {
	case keyFile != "" && kmsRef != "":
		return nil, errors.New("-key and -kms both given; choose one")
	case (keyFile != "" || kmsRef != "") && certFile == "":
		return nil, errors.New("-key and -kms need -cert, the certificate chain of the key")
	case keyFile != "":
		return sign.LoadFiles(keyFile, certFile)
	case kmsRef != "":
		return sign.LoadKMS(ctx, kmsRef, certFile)
	}
	fmt.Fprintln(os.Stderr, "chat-stream: no -key or -kms: signing with the DEVELOPMENT key (not for production)")
	return sign.Dev()
}

// relay forwards a chat-completions request upstream and passes the streamed answer back with
// its text labeled.
type relay struct {
	labeler  *label.Labeler
	upstream string
	model    string
	client   *http.Client
	log      *slog.Logger
}

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, fmt.Sprintf("reading the request: %v", err), http.StatusRequestEntityTooLarge)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, rl.upstream, bytes.NewReader(body))
	if err != nil {
		http.Error(w, "bad upstream URL", http.StatusInternalServerError)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a) // the client's key for the upstream API
	}
	resp, err := rl.client.Do(req)
	if err != nil {
		rl.log.Error("upstream", "err", err)
		http.Error(w, "the upstream model did not answer", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		// An API error is not AI-generated content: pass it on as it is.
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(msg)
		return
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		http.Error(w, fmt.Sprintf("the upstream answered %q, not an event stream: ask with \"stream\": true", mt), http.StatusBadGateway)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // ask proxies in front not to buffer
	h.Set(label.DisclosureHeader, label.Disclosure{Mode: label.ModeAIOriginated, Model: rl.model, Date: time.Now()}.String())
	w.WriteHeader(http.StatusOK)
	// Each event goes out (and is flushed) as soon as it has come in and been labeled.
	if err := rl.labeler.LabelChatStream(r.Context(), resp.Body, w, label.Options{}); err != nil && r.Context().Err() == nil {
		rl.log.Error("labeling the stream", "err", err)
	}
}

// ask sends prompt to the relay, prints the answer as it streams in, then verifies the
// assembled message and prints the verdict.
func ask(ctx context.Context, url string, c config) error {
	reqBody, err := json.Marshal(chatRequest{Model: c.model, Stream: true, Messages: []chatMessage{{Role: "user", Content: c.prompt}}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(reqBody))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking the relay: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return fmt.Errorf("relay: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	disclosure := resp.Header.Get(label.DisclosureHeader)

	var text strings.Builder
	events, deltas := 0, 0
	err = readEvents(resp.Body, func(data []byte) error {
		events++
		var chunk chatChunk
		if err := json.Unmarshal(data, &chunk); err != nil {
			return fmt.Errorf("event %d is not a chat chunk: %w", events, err)
		}
		for _, ch := range chunk.Choices {
			if ch.Index == 0 && ch.Delta.Content != "" {
				deltas++
				text.WriteString(ch.Delta.Content)
				fmt.Print(visible(ch.Delta.Content))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	msg := text.String()
	fmt.Println()
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(msg), 0o644); err != nil {
			return fmt.Errorf("writing the message: %w", err)
		}
	}
	rep, err := label.Verify(ctx, strings.NewReader(msg), int64(len(msg)), label.VerifyOptions{})
	if err != nil {
		return fmt.Errorf("verifying the message: %w", err)
	}
	fmt.Println("---")
	fmt.Printf("%s: %s\n", label.DisclosureHeader, disclosure)
	fmt.Printf("%d events, %d content deltas, %d bytes assembled\n", events, deltas, len(msg))
	fmt.Printf("verify: %s: %s\n", rep.Verdict, rep.Summary)
	if rep.Verdict != label.Valid {
		return fmt.Errorf("the assembled message did not verify: %w", rep.Err())
	}
	return nil
}

// visible drops the invisible characters that carry the C2PA manifest in text (a byte-order
// mark and variation selectors), so that the terminal shows what a reader sees.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\uFEFF' || (r >= '\uFE00' && r <= '\uFE0F') || (r >= 0xE0100 && r <= 0xE01EF) {
			return -1
		}
		return r
	}, s)
}

// readEvents calls fn with the data of every Server-Sent Event of r up to "data: [DONE]".
// (Multi-line data fields are joined with newlines, as the SSE standard says.)
func readEvents(r io.Reader, fn func(data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var data []byte
	has := false
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if has {
				if string(data) == "[DONE]" {
					return nil
				}
				if err := fn(data); err != nil {
					return err
				}
			}
			data, has = data[:0], false
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if has {
				data = append(data, '\n')
			}
			data, has = append(data, bytes.TrimPrefix(v, []byte(" "))...), true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the event stream: %w", err)
	}
	return errors.New("the event stream ended without data: [DONE]")
}
