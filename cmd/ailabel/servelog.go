package main

import (
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
// whatever was buffered before it, so lines keep their order. A request adding its line never
// waits for a write: the buffer is swapped out under the lock and written outside it.
type requestLog struct {
	mu    sync.Mutex // guards buf and spare
	buf   []byte
	spare []byte
	wmu   sync.Mutex // one write at a time, in the order the buffers were taken
	w     io.Writer
}

// requestLogSize is the buffer size past which a line triggers a write.
const requestLogSize = 64 << 10

func newRequestLog(w io.Writer) *requestLog {
	return &requestLog{w: w, buf: make([]byte, 0, requestLogSize), spare: make([]byte, 0, requestLogSize)}
}

func (l *requestLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	full := len(l.buf) >= requestLogSize
	l.mu.Unlock()
	if full {
		if err := l.Flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (l *requestLog) Flush() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	b := l.buf
	l.buf, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	var err error
	if len(b) > 0 {
		_, err = l.w.Write(b)
	}
	l.mu.Lock()
	l.spare = b[:0]
	l.mu.Unlock()
	return err
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
