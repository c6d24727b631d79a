package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// requestLog is the sidecar's log output when --log-flush is set: the access lines (one per
// request) are gathered in a buffer written out every interval, or when it fills, so that a busy
// sidecar does not make a system call per request (as nginx's access_log buffer=… flush=…).
// Every other line (start, readiness, warnings, errors, shutdown) is written at once, after
// whatever was buffered before it, so lines keep their order.
type requestLog struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newRequestLog(w io.Writer) *requestLog {
	return &requestLog{w: bufio.NewWriterSize(w, 64<<10)}
}

func (l *requestLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Flush writes out what is buffered.
func (l *requestLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// flushEvery flushes every interval until ctx ends, then once more.
func (l *requestLog) flushEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.Flush()
		case <-ctx.Done():
			l.Flush()
			return
		}
	}
}

// flushingHandler writes a record through h, then flushes out unless it is an access line
// (level Info, message "request").
type flushingHandler struct {
	slog.Handler
	out *requestLog
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level != slog.LevelInfo || r.Message != "request" {
		if ferr := h.out.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(as), h.out}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.out}
}
