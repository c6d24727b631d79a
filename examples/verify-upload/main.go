// Command verify-upload is the upload handler of a platform that checks what its users upload
// for an AI label: POST /upload (a multipart form field "file", or the file as the raw body)
// answers whether the file is labeled, by whom, whether it says AI made it, and whether it was
// changed after signing, as a small HTML page or as JSON (Accept: application/json).
//
//	go run ./examples/verify-upload                       # serves on 127.0.0.1:8082
//	curl -H 'Accept: application/json' --data-binary @photo.jpg http://127.0.0.1:8082/upload
//	go run ./examples/verify-upload -selftest             # one run: labeled, tampered, unlabeled
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ailabel/ailabel/sign"
)

// config is what the flags say.
type config struct {
	listen    string
	maxMB     int64
	trustFile string
	tmpDir    string
	selftest  bool
}

func main() {
	var c config
	flag.StringVar(&c.listen, "listen", "127.0.0.1:8082", "address to serve on (port 0 picks a free port)")
	flag.Int64Var(&c.maxMB, "max-mb", 200, "largest upload accepted, in MB")
	flag.StringVar(&c.trustFile, "trust", "", "PEM file of the certificate authorities whose signers are trusted")
	flag.StringVar(&c.tmpDir, "tmp", "", "folder for uploads while they are checked (default: the system's)")
	flag.BoolVar(&c.selftest, "selftest", false, "start on a free port, upload a labeled, a tampered and an unlabeled image, check the verdicts, exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "verify-upload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.maxMB < 1 {
		return errors.New("-max-mb must be at least 1")
	}
	var trust *sign.TrustStore
	if c.trustFile != "" {
		var err error
		if trust, err = sign.LoadTrustFile(c.trustFile); err != nil {
			return fmt.Errorf("-trust: %w", err)
		}
	}
	h := &uploads{maxBytes: c.maxMB << 20, trust: trust, tmpDir: c.tmpDir, log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	mux := http.NewServeMux()
	mux.Handle("POST /upload", h)
	mux.HandleFunc("GET /{$}", form)

	listen := c.listen
	if c.selftest {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var testErr error
	if c.selftest {
		testErr = selfTest(ctx, base)
	} else {
		fmt.Printf("listening on %s\n", base)
		select {
		case <-ctx.Done():
		case err := <-served:
			return fmt.Errorf("serving: %w", err)
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return testErr
}
