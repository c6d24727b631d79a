package labelhttp

import (
	"io"
	"net/http"
	"strconv"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
)

// Middleware returns net/http middleware that labels the responses of the handler it wraps with
// l (see the package documentation for which responses, and how). Labeling errors and bad
// request options are answered by the error handler (WithErrorHandler; a JSON error by default);
// a response is never sent unlabeled because labeling failed. The handler's writer supports
// http.Flusher and http.ResponseController (flushes of a buffered body wait for its end; an
// event stream is flushed after each event). It panics if l is nil.
//
//	mux.Handle("POST /v1/images", labelhttp.Middleware(labeler)(imagesHandler))
func Middleware(l *label.Labeler, opts ...Option) func(http.Handler) http.Handler {
	e := newEngine(l, http.StatusInternalServerError, opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			o, err := e.requestOptions(r)
			if err != nil {
				e.cfg.onError(w, r, err)
				return
			}
			if r.Header.Get("Range") != "" || r.Header.Get("If-Range") != "" || r.Header.Get("Accept-Encoding") != "" {
				r = r.Clone(r.Context())
				r.Header.Del("Range")
				r.Header.Del("If-Range")
				r.Header.Del("Accept-Encoding")
			}
			lw := &writer{e: e, w: w, r: r, o: o, hdr: w.Header().Clone()}
			if lw.hdr == nil {
				lw.hdr = http.Header{}
			}
			finished := false
			defer func() {
				if !finished { // the handler panicked: release what is held, send nothing
					lw.abort()
				}
			}()
			next.ServeHTTP(lw, r)
			finished = true
			lw.finish()
		})
	}
}

// writer states.
const (
	undecided = iota // no status yet
	passing          // writes go straight to the client
	sniffing         // collecting the first bytes to sniff the format
	buffering        // collecting the body to label
	streaming        // writes go through the event-stream labeler
)

// writer is the http.ResponseWriter the wrapped handler sees.
type writer struct {
	e *engine
	w http.ResponseWriter
	r *http.Request
	o label.Options
	// hdr is the handler's header map, copied to w's when the response is sent; until then w's
	// holds only what outer handlers set, for an error response.
	hdr    http.Header
	state  int
	status int
	kind   kind
	mt     string
	head   []byte // sniffing
	buf    *spool // buffering
	err    error  // a failure met while buffering, answered at the end
	pw     *io.PipeWriter
	done   chan struct{}
}

// Header returns the handler's header map (the client's once the response passes through).
func (w *writer) Header() http.Header {
	if w.state == passing {
		return w.w.Header()
	}
	return w.hdr
}

// send copies h into the client's header map and writes the status.
func (w *writer) send(h http.Header, status int) {
	dst := w.w.Header()
	for k := range dst {
		delete(dst, k)
	}
	for k, v := range h {
		dst[k] = v
	}
	w.w.WriteHeader(status)
}

// WriteHeader decides by the status and Content-Type what becomes of the response.
func (w *writer) WriteHeader(code int) {
	if w.state != undecided {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.send(w.hdr, code) // informational: the final status follows
		return
	}
	w.status = code
	w.kind, w.mt = classify(w.r.Method, code, w.hdr)
	switch w.kind {
	case skip, pass:
		if w.kind == pass {
			w.e.observe(w.r, Outcome{Action: "passed_through"})
		}
		w.state = passing
		w.send(w.hdr, code)
	case stream:
		w.startStream()
	case sniff:
		w.state = sniffing
	default:
		w.startBuffer()
	}
}

func (w *writer) startBuffer() {
	w.state = buffering
	w.buf = w.e.newSpool(w.e.cfg.maxBody)
	if n, err := strconv.ParseInt(w.hdr.Get("Content-Length"), 10, 64); err == nil && n > w.e.cfg.maxBody {
		w.err = w.e.tooLarge()
	}
}

// sniffLen is how many bytes decide a sniffed response.
const sniffLen = formats.SniffLen

// decide ends sniffing: the body is buffered to be labeled, or passes through.
func (w *writer) decide() error {
	head := w.head
	w.head = nil
	if sniffed(head) {
		w.kind = media
		w.startBuffer()
		w.buf.Write(head)
		return nil
	}
	w.e.observe(w.r, Outcome{Action: "passed_through"})
	w.state = passing
	w.send(w.hdr, w.status)
	if len(head) == 0 {
		return nil
	}
	_, err := w.w.Write(head)
	return err
}

// Write passes p on, buffers it, or sends it through the stream labeler.
func (w *writer) Write(p []byte) (int, error) {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	switch w.state {
	case passing:
		return w.w.Write(p)
	case streaming:
		return w.pw.Write(p)
	case sniffing:
		w.head = append(w.head, p...)
		if len(w.head) < sniffLen {
			return len(p), nil
		}
		if err := w.decide(); err != nil {
			return 0, err
		}
		return len(p), nil
	case buffering:
		return w.buf.Write(p)
	}
	return 0, http.ErrBodyNotAllowed // 1xx only reach here after a superfluous state; unreachable
}

// FlushError flushes a response that passes through; a buffered body is sent at its end, and
// an event stream is flushed by its labeler after every event.
func (w *writer) FlushError() error {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == passing {
		return http.NewResponseController(w.w).Flush()
	}
	return nil
}

// Flush is FlushError for http.Flusher.
func (w *writer) Flush() { _ = w.FlushError() }

// Unwrap returns the client's writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.w }

// flusher flushes the client's writer after each event the stream labeler writes.
type flusher struct{ w http.ResponseWriter }

func (f flusher) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f flusher) Flush() error                { return http.NewResponseController(f.w).Flush() }

// startStream sends the handler's writes through the event-stream labeler, which writes to the
// client from its own goroutine; the handler's goroutine then never touches the client's writer.
func (w *writer) startStream() {
	pr, pw := io.Pipe()
	w.pw, w.done, w.state = pw, make(chan struct{}), streaming
	h := w.hdr.Clone() // the handler may go on using its map
	status := w.status
	go func() {
		defer close(w.done)
		ctx := w.r.Context()
		o, src, err := w.e.prepareStream(ctx, w.r, w.o, h, pr)
		if err != nil {
			pr.CloseWithError(err)
			w.e.cfg.onError(w.w, w.r, err)
			return
		}
		w.send(h, status)
		err = w.e.runStream(ctx, w.r, o, src, flusher{w.w})
		if err == nil {
			err = io.ErrClosedPipe // the handler's writes after the stream's end fail
		}
		pr.CloseWithError(err)
	}()
}

// finish sends what the handler left: the labeled body, or the end of a stream.
func (w *writer) finish() {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == sniffing {
		if err := w.decide(); err != nil {
			return
		}
	}
	switch w.state {
	case streaming:
		w.pw.Close()
		<-w.done
	case buffering:
		defer w.buf.Close()
		if w.err != nil {
			w.e.cfg.onError(w.w, w.r, w.err)
			return
		}
		out, err := w.e.labelBuffered(w.r.Context(), w.r, w.o, w.hdr, w.kind, w.mt, w.buf)
		if err != nil {
			w.e.cfg.onError(w.w, w.r, err)
			return
		}
		defer out.Close()
		w.send(w.hdr, w.status)
		io.Copy(w.w, out.r)
	}
}

// abort releases a stream or a buffer after the handler panicked.
func (w *writer) abort() {
	switch w.state {
	case streaming:
		w.pw.CloseWithError(errAborted)
		<-w.done
	case buffering:
		w.buf.Close()
	}
}
