package sidecar

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/labelhttp"
	"github.com/ailabel/ailabel/repository"
)

//go:embed openapi.json
var openapiFS embed.FS

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, _ := openapiFS.ReadFile("openapi.json")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// apiError is the JSON body of every error response.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		// Param names the request option at fault (code bad_option).
		Param string `json:"param,omitempty"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// writeError sends {"error":{"code":code,"message":msg}} and records code as the outcome.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if ri := info(r); ri.outcome == "" {
		ri.outcome = code
	}
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	h := w.Header()
	h.Del("Content-Encoding")
	h.Del("Content-Disposition")
	for _, k := range []string{DisclosureHeader, ManifestHeader} {
		h.Del(k)
	}
	writeJSON(w, status, e)
}

// The response headers of labeled content.
const (
	// DisclosureHeader says the content is AI-generated: `ai-generated; model="NAME"` (see
	// disclosure).
	DisclosureHeader = labelhttp.DisclosureHeader
	// ManifestHeader carries the label (urn:c2pa:…) of the C2PA manifest embedded in the content.
	ManifestHeader = labelhttp.ManifestHeader
	// VerdictHeader carries the verdict of POST /v1/verify (valid, invalid, not_labeled).
	VerdictHeader = "C2PA-Verdict"
)

// disclosure is the AI-Disclosure value (IETF draft-abaris-aicdh-01):
// `mode=ai-originated; model="NAME"; date=@SECONDS`.
func disclosure(model string) string {
	return label.Disclosure{Mode: label.ModeAIOriginated, Model: model, Date: time.Now()}.String()
}

// optionError answers a request option that labelhttp.ParseOptions refused: 400 bad_option,
// naming the parameter.
func optionError(w http.ResponseWriter, r *http.Request, err error) {
	var le *labelhttp.Error
	if !errors.As(err, &le) {
		writeError(w, r, http.StatusBadRequest, "bad_option", err.Error())
		return
	}
	if ri := info(r); ri.outcome == "" {
		ri.outcome = "bad_option"
	}
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Param = "bad_option", le.Message, le.Param
	writeJSON(w, http.StatusBadRequest, e)
}

// spooled is a request body copied to a temporary file, which Close removes.
type spooled struct {
	*os.File
	size int64
}

func (f *spooled) Close() error {
	err := f.File.Close()
	os.Remove(f.Name())
	return err
}

// memBody is the largest body kept in memory; larger ones go to a temporary file.
const memBody = 1 << 20

// outSlack, with a quarter of the input's size, is the room reserved for a labeled output
// beyond the input: the manifest store (about 10 KB for a picture with its soft bindings; a
// text's, written as variation selectors, about 14 KB), metadata and the visible warning.
const outSlack = 16 << 10

// getBuf returns an empty buffer from the server's pool.
func (s *Server) getBuf() *bytes.Buffer {
	if b, ok := s.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putBuf returns b to the pool unless it grew large.
func (s *Server) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 4*memBody {
		b.Reset()
		s.bufs.Put(b)
	}
}

// body is a request body read in full: in memory when small, else in a temporary file.
type body struct {
	io.ReaderAt
	size int64
	file *spooled
	buf  *bytes.Buffer
	s    *Server
}

// Close releases the buffer or removes the file.
func (b *body) Close() error {
	if b.buf != nil {
		b.s.putBuf(b.buf)
		b.buf = nil
	}
	if b.file != nil {
		return b.file.Close()
	}
	return nil
}

// spool reads r's body (at most MaxBody bytes): up to memBody bytes into memory, more into a
// temporary file. On failure it has already answered with a JSON error and returns nil.
func (s *Server) spool(w http.ResponseWriter, r *http.Request) *body {
	rd := http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	// Reading the body stops at the request's deadline when that comes before the server's
	// ReadTimeout (which Serve's http.Server enforces anyway). Once the body is in, the read
	// deadline is cleared: net/http's background read would otherwise time out while the
	// content is being labeled and cancel the request's context.
	rc := http.NewResponseController(w)
	if dl, ok := r.Context().Deadline(); ok && dl.Before(time.Now().Add(s.cfg.ReadTimeout)) {
		_ = rc.SetReadDeadline(dl)
	}
	buf := s.getBuf()
	if cl := r.ContentLength; cl > 0 {
		// Room for the whole body (and the read that finds its end) at once, rather than a
		// doubling and a copy per power of two; the length is the client's word, so at most
		// what memory takes anyway.
		buf.Grow(int(min(cl, memBody)) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(rd, memBody+1))
	out := &body{buf: buf, s: s}
	if err == nil && n > memBody {
		var f *spooled
		if f, err = s.tempFile(); err != nil {
			out.Close()
			writeError(w, r, http.StatusInternalServerError, "internal", "cannot create a temporary file")
			s.log.Error("spool", "err", err)
			return nil
		}
		out.file = f
		if _, err = f.Write(buf.Bytes()); err == nil {
			var m int64
			m, err = io.Copy(f, rd)
			n += m
		}
		s.putBuf(buf)
		out.buf = nil
		out.ReaderAt = f
	} else if err == nil {
		out.ReaderAt = bytes.NewReader(buf.Bytes())
	}
	out.size = n
	info(r).bytesIn = n
	if err != nil {
		out.Close()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over the limit of %d bytes", s.cfg.MaxBody))
		case isTimeout(err) || r.Context().Err() != nil:
			w.Header().Set("Connection", "close")
			writeError(w, r, http.StatusRequestTimeout, "timeout", "the body did not arrive in time")
		default:
			writeError(w, r, http.StatusBadRequest, "bad_body", "reading the body failed")
		}
		return nil
	}
	if n == 0 {
		out.Close()
		writeError(w, r, http.StatusBadRequest, "empty_body", "the body is empty; send the content to label or verify")
		return nil
	}
	_ = rc.SetReadDeadline(time.Time{})
	return out
}

// tempFile is a temporary file removed on Close.
func (s *Server) tempFile() (*spooled, error) {
	f, err := os.CreateTemp(s.cfg.TempDir, "ailabel-serve-*")
	if err != nil {
		return nil, err
	}
	return &spooled{File: f}, nil
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// contentError answers a Label or Verify error with the matching status.
func contentError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded):
		writeError(w, r, http.StatusRequestTimeout, "timeout", "the request took longer than the server's time limit")
	case errors.Is(err, context.Canceled):
		writeError(w, r, 499, "canceled", "the client went away")
	case errors.Is(err, label.ErrUnsupported):
		writeError(w, r, http.StatusUnsupportedMediaType, "unsupported_format", "the content is not a format ailabel can "+verb(r)+" (it is sniffed from the bytes; Content-Type is ignored): "+err.Error())
	case errors.Is(err, label.ErrTooLarge):
		writeError(w, r, http.StatusUnprocessableEntity, "limit_exceeded", "something in the content is over a limit: "+err.Error())
	case errors.Is(err, label.ErrMalformed):
		writeError(w, r, http.StatusUnprocessableEntity, "malformed", "the content is damaged: "+err.Error())
	default:
		writeError(w, r, http.StatusInternalServerError, "internal", "labeling failed: "+err.Error())
	}
}

func verb(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/verify") {
		return "verify"
	}
	return "label"
}

// workerMinBody is the smallest body that waits for a worker slot: smaller ones take a fraction
// of a millisecond and little memory, and run at once.
const workerMinBody = 64 << 10

// working waits, in arrival order, for one of the Config.Workers slots, until ctx ends, when the
// body is at least workerMinBody bytes; done gives the slot back. The wait is measured
// (ailabel_worker_wait_seconds) and the waiting counted (ailabel_worker_queue_requests).
func (s *Server) working(ctx context.Context, size int64) (done func(), err error) {
	if size < workerMinBody {
		return func() {}, nil
	}
	release := func() { <-s.work }
	select {
	case s.work <- struct{}{}: // a slot is free (none is while others wait: a channel's senders queue)
		s.m.wait.Observe(0)
		return release, nil
	default:
	}
	s.m.queue.Inc()
	defer s.m.queue.Dec()
	t0 := time.Now()
	select {
	case s.work <- struct{}{}:
		s.m.wait.Observe(time.Since(t0).Seconds())
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// handleLabel is POST /v1/label.
func (s *Server) handleLabel(w http.ResponseWriter, r *http.Request) {
	l := s.labeler.Load()
	if l == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "not_ready", "the signing key is not loaded yet")
		return
	}
	o, err := labelhttp.ParseOptions(r, s.cfg.Defaults.Messages)
	if err != nil {
		optionError(w, r, err)
		return
	}
	in := s.spool(w, r)
	if in == nil {
		return
	}
	defer in.Close()
	// The output goes where the input is: to memory for a small body, else to a file.
	var dst io.Writer
	var outBuf *bytes.Buffer
	var outFile *spooled
	if in.file == nil {
		outBuf = s.getBuf()
		defer s.putBuf(outBuf)
		outBuf.Grow(int(in.size)*5/4 + outSlack) // the content plus what labeling adds, in one piece
		dst = outBuf
	} else {
		if outFile, err = s.tempFile(); err != nil {
			writeError(w, r, http.StatusInternalServerError, "internal", "cannot create a temporary file")
			return
		}
		defer outFile.Close()
		dst = outFile
	}
	if s.cfg.Repository != nil {
		o.Fingerprint = true // so that a stripped copy can be traced back (see Config.Repository)
	}
	done, err := s.working(r.Context(), in.size)
	if err != nil {
		contentError(w, r, err)
		return
	}
	res, err := l.Label(r.Context(), in, in.size, dst, o)
	done()
	if err != nil {
		contentError(w, r, err)
		return
	}
	ri := info(r)
	ri.format, ri.outcome = res.Format, "labeled"
	if s.cfg.Repository != nil {
		// Every manifest signed here is kept before the content is answered: a label whose
		// manifest the repository lost could never be recovered from a stripped copy.
		if err := s.register(r.Context(), res); err != nil {
			s.registerFailed(w, r, res, err)
			return
		}
		w.Header().Set("Link", manifestLink(res.Manifest))
	}
	s.m.labels.WithLabelValues(res.Format).Inc()
	model := o.Model
	if model == "" {
		model = s.cfg.Defaults.Model
	}
	h := w.Header()
	h.Set("Content-Type", res.MIME)
	h.Set("Content-Length", strconv.FormatInt(res.Size, 10))
	h.Set(DisclosureHeader, disclosure(model))
	h.Set(ManifestHeader, res.Manifest)
	h.Set("X-Content-Type-Options", "nosniff")
	var err2 error
	if outBuf != nil {
		err2 = writeWhole(w, r, http.StatusOK, outBuf.Bytes())
	} else {
		w.WriteHeader(http.StatusOK)
		_, err2 = io.Copy(w, io.NewSectionReader(outFile, 0, res.Size))
	}
	if err2 != nil {
		ri.outcome = "write_failed"
	}
}

// handleVerify is POST /v1/verify.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	in := s.spool(w, r)
	if in == nil {
		return
	}
	defer in.Close()
	done, err := s.working(r.Context(), in.size)
	if err != nil {
		contentError(w, r, err)
		return
	}
	rep, err := label.Verify(r.Context(), in.ReaderAt, in.size, label.VerifyOptions{Trust: s.cfg.Trust})
	done()
	if err != nil {
		contentError(w, r, err)
		return
	}
	ri := info(r)
	ri.format, ri.outcome = rep.Format, "verified_"+string(rep.Verdict)
	s.m.verifies.WithLabelValues(string(rep.Verdict)).Inc()
	w.Header().Set(VerdictHeader, string(rep.Verdict))
	writeJSON(w, http.StatusOK, rep)
}

// register keeps a labeled result's manifest store in the repository under every soft binding
// the labeler signed into it (see label.Result.Bindings).
func (s *Server) register(ctx context.Context, res *label.Result) error {
	return s.cfg.Repository.Put(ctx, repository.RecordOf(res))
}

// registerFailed answers a label whose manifest the repository could not keep: 503 with
// Retry-After when the repository is unreachable (the caller retries; nothing half-written is
// left behind: Put is one transaction), 500 otherwise. The labeled content is not sent.
func (s *Server) registerFailed(w http.ResponseWriter, r *http.Request, res *label.Result, err error) {
	s.log.ErrorContext(r.Context(), "registering the manifest in the repository", "manifest", res.Manifest, "err", err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, repository.ErrUnavailable) {
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "repository_unavailable", "the manifest repository is unavailable; the content was not labeled, retry later")
		return
	}
	writeError(w, r, http.StatusInternalServerError, "repository_failed", "the manifest could not be kept in the repository; the content was not labeled")
}

// manifestLink is the Link header of labeled content in a sidecar with a repository: where the
// resolution API serves the manifest store (C2PA 2.x §11.4 "rel=c2pa-manifest").
func manifestLink(id string) string {
	return "</v1/manifests/" + url.PathEscape(id) + `>; rel="c2pa-manifest"`
}
