package labelhttp

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/ailabel/ailabel/label"
)

// ModifyResponse returns a function for httputil.ReverseProxy.ModifyResponse that labels the
// upstream's responses with l, as Middleware labels a handler's (see the package
// documentation). Its errors (an *Error with status 502, or the request context's error) go to
// the proxy's ErrorHandler, before anything is sent to the client. Request options
// (WithOptions) are read from resp.Request; validate them before forwarding, so that a bad
// option costs no upstream request. The proxy should not forward Range, If-Range or
// Accept-Encoding (http.Transport decodes the gzip it asks for itself). It panics if l is nil.
func ModifyResponse(l *label.Labeler, opts ...Option) func(*http.Response) error {
	e := newEngine(l, http.StatusBadGateway, opts)
	return e.modify
}

func (e *engine) modify(resp *http.Response) error {
	req := resp.Request
	k, mt := classify(req.Method, resp.StatusCode, resp.Header)
	switch k {
	case skip:
		return nil
	case pass:
		e.observe(req, Outcome{Action: "passed_through"})
		return nil
	}
	o, err := e.requestOptions(req)
	if err != nil {
		return err
	}
	ctx := req.Context()
	body := resp.Body
	if k == stream {
		o, src, err := e.prepareStream(ctx, req, o, resp.Header, body)
		if err != nil {
			body.Close()
			return err
		}
		pr, pw := io.Pipe()
		go func() {
			err := e.runStream(ctx, req, o, src, pw)
			body.Close()
			pw.CloseWithError(err)
		}()
		resp.Body = pr // closing it ends the labeler's writes; the upstream read ends with ctx
		resp.ContentLength = -1
		return nil
	}
	var src io.Reader = body
	if k == sniff {
		head := make([]byte, sniffLen)
		n, err := io.ReadFull(body, head)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			body.Close()
			return err
		}
		head = head[:n]
		if !sniffed(head) {
			e.observe(req, Outcome{Action: "passed_through"})
			resp.Body = &readCloser{io.MultiReader(bytes.NewReader(head), body), body}
			return nil
		}
		k = media
		src = io.MultiReader(bytes.NewReader(head), body)
	}
	if resp.ContentLength > e.cfg.maxBody {
		body.Close()
		return e.tooLarge()
	}
	in := e.newSpool(e.cfg.maxBody)
	_, err = io.Copy(in, io.LimitReader(src, e.cfg.maxBody+1))
	body.Close()
	if err != nil {
		in.Close()
		return err
	}
	out, err := e.labelBuffered(ctx, req, o, resp.Header, k, mt, in)
	if err != nil {
		in.Close()
		return err
	}
	resp.Body = &readCloser{out.r, closerFunc(func() error { out.Close(); return in.Close() })}
	resp.ContentLength = out.size
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
