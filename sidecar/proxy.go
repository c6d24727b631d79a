package sidecar

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/ailabel/ailabel/label"
)

// proxyError is an error of ModifyResponse with the status and code to answer.
type proxyError struct {
	status int
	code   string
	msg    string
}

func (e *proxyError) Error() string { return e.msg }

type optsKey struct{}

// newProxy returns the reverse proxy to the one configured upstream. Rewrite is fixed: the
// request's path and query are joined to the upstream URL; its Host, scheme and authority come
// from the configuration only.
func (s *Server) newProxy() *httputil.ReverseProxy {
	u := *s.cfg.Upstream
	tr := s.cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&u)
			h := pr.Out.Header
			h.Del("Authorization") // the sidecar's token stays here
			if s.cfg.UpstreamAuthorization != "" {
				h.Set("Authorization", s.cfg.UpstreamAuthorization)
			}
			// Ask for an identity (or transparently decoded gzip) body: it is labeled here.
			h.Del("Accept-Encoding")
			for _, k := range []string{"AI-Label-Model", "AI-Label-Model-Version", "AI-Label-Source-Type", "AI-Label-Title"} {
				h.Del(k)
			}
		},
		Transport:      tr,
		ModifyResponse: s.labelResponse,
		ErrorHandler:   s.proxyFailed,
		ErrorLog:       nil,
	}
}

// handleProxy forwards a request to the upstream and labels its response.
func (s *Server) handleProxy(w http.ResponseWriter, r *http.Request) {
	if s.labeler.Load() == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "not_ready", "the signing key is not loaded yet")
		return
	}
	o, err := options(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_option", err.Error())
		return
	}
	cr := &countingReader{r: http.MaxBytesReader(w, r.Body, s.cfg.MaxBody), rc: http.NewResponseController(w)}
	r.Body = cr
	r = r.WithContext(context.WithValue(r.Context(), optsKey{}, o))
	s.proxy.ServeHTTP(w, r)
	info(r).bytesIn = cr.n
}

// countingReader counts the bytes of a request body and, at its end, clears the connection's
// read deadline: net/http's background read would otherwise hit the server's ReadTimeout while
// a slow upstream generates, and cancel the request.
type countingReader struct {
	r  io.ReadCloser
	rc *http.ResponseController
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		_ = c.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// proxyFailed answers a failed upstream exchange (or labeling) with a JSON error.
func (s *Server) proxyFailed(w http.ResponseWriter, r *http.Request, err error) {
	var pe *proxyError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &pe):
		writeError(w, r, pe.status, pe.code, pe.msg)
	case errors.As(err, &mbe):
		writeError(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over the limit of %d bytes", s.cfg.MaxBody))
	case errors.Is(r.Context().Err(), context.DeadlineExceeded) || isTimeout(err):
		writeError(w, r, http.StatusGatewayTimeout, "upstream_timeout", "the upstream did not answer within the server's time limit")
	case errors.Is(err, context.Canceled):
		writeError(w, r, 499, "canceled", "the client went away")
	default:
		// The transport's error names the upstream URL; it goes to the log, not to the caller.
		s.log.Warn("upstream failed", "err", err.Error())
		writeError(w, r, http.StatusBadGateway, "bad_gateway", "the upstream request failed")
	}
}

// labelResponse labels a successful upstream response in place.
func (s *Server) labelResponse(resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.Request.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	ctx := resp.Request.Context()
	l := s.labeler.Load()
	o, _ := ctx.Value(optsKey{}).(label.Options)
	model := o.Model
	if model == "" {
		model = s.cfg.Defaults.Model
	}
	ri := &reqInfo{}
	if v, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		ri = v
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == "text/event-stream":
		body := resp.Body
		pr, pw := io.Pipe()
		go func() {
			err := l.LabelChatStream(ctx, body, pw, o, label.DefaultNotice())
			body.Close()
			if err != nil && ctx.Err() == nil {
				// The response has started: all that can be done is to cut it (the client sees
				// a stream without its final event) and log why.
				s.log.Warn("labeling the event stream failed", "path", resp.Request.URL.Path, "err", err.Error())
			}
			pw.CloseWithError(err)
		}()
		resp.Body = pr
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
		resp.Header.Set(DisclosureHeader, disclosure(model))
		ri.format, ri.outcome = "sse", "labeled_stream"
		s.m.labels.WithLabelValues("sse").Inc()
		return nil
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return s.labelJSON(ctx, l, resp, o, model, ri)
	}
	return s.labelBody(ctx, l, resp, o, model, mt, ri)
}

// labelBody spools an upstream body and labels it when its format is one ailabel writes.
func (s *Server) labelBody(ctx context.Context, l *label.Labeler, resp *http.Response, o label.Options, model, mt string, ri *reqInfo) error {
	in, err := s.tempFile()
	if err != nil {
		return err
	}
	n, err := io.Copy(in, io.LimitReader(resp.Body, s.cfg.MaxBody+1))
	resp.Body.Close()
	if err != nil {
		in.Close()
		return err
	}
	if n > s.cfg.MaxBody {
		in.Close()
		return &proxyError{http.StatusBadGateway, "upstream_too_large", fmt.Sprintf("the upstream body is over the limit of %d bytes", s.cfg.MaxBody)}
	}
	in.size = n
	out, err := s.tempFile()
	if err != nil {
		in.Close()
		return err
	}
	res, err := l.Label(ctx, in, n, out, o)
	if err != nil {
		out.Close()
		media := strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "video/")
		if errors.Is(err, label.ErrUnsupported) && !media && n > 0 {
			// Not content ailabel labels: pass it through unchanged, without a disclosure.
			ri.outcome = "passed_through"
			resp.Body = &fileBody{in, io.NewSectionReader(in, 0, n)}
			resp.ContentLength = n
			resp.Header.Set("Content-Length", strconv.FormatInt(n, 10))
			return nil
		}
		in.Close()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return err
		}
		return &proxyError{http.StatusBadGateway, "upstream_unlabelable", "the upstream's " + mt + " content cannot be labeled: " + err.Error()}
	}
	in.Close()
	ri.format, ri.outcome = res.Format, "labeled"
	s.m.labels.WithLabelValues(res.Format).Inc()
	resp.Body = &fileBody{out, io.NewSectionReader(out, 0, res.Size)}
	resp.ContentLength = res.Size
	h := resp.Header
	h.Set("Content-Length", strconv.FormatInt(res.Size, 10))
	h.Set("Content-Type", res.MIME)
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Del("Content-MD5")
	h.Del("Digest")
	h.Set(DisclosureHeader, disclosure(model))
	h.Set(ManifestHeader, res.Manifest)
	return nil
}

// fileBody reads a temporary file and removes it on Close.
type fileBody struct {
	f *spooled
	r io.Reader
}

func (b *fileBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *fileBody) Close() error               { return b.f.Close() }

// labelJSON labels the images of an OpenAI images response (data[].b64_json) and the messages
// of a chat completion (choices[].message.content); other JSON passes through unchanged.
func (s *Server) labelJSON(ctx context.Context, l *label.Labeler, resp *http.Response, o label.Options, model string, ri *reqInfo) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBody+1))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if int64(len(raw)) > s.cfg.MaxBody {
		return &proxyError{http.StatusBadGateway, "upstream_too_large", fmt.Sprintf("the upstream body is over the limit of %d bytes", s.cfg.MaxBody)}
	}
	setBody := func(b []byte) {
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		resp.Header.Del("Content-Encoding")
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) != nil {
		setBody(raw)
		ri.outcome = "passed_through"
		return nil
	}
	var ids []string
	var what string
	if data, ok := doc["data"]; ok {
		var items []map[string]json.RawMessage
		if json.Unmarshal(data, &items) == nil {
			for i, it := range items {
				var b64 string
				if json.Unmarshal(it["b64_json"], &b64) != nil || b64 == "" {
					continue
				}
				img, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					return &proxyError{http.StatusBadGateway, "upstream_malformed", fmt.Sprintf("data[%d].b64_json is not base64", i)}
				}
				var out bytes.Buffer
				res, err := l.Label(ctx, bytes.NewReader(img), int64(len(img)), &out, o)
				if err != nil {
					if errors.Is(err, context.DeadlineExceeded) {
						return err
					}
					return &proxyError{http.StatusBadGateway, "upstream_unlabelable", fmt.Sprintf("data[%d].b64_json cannot be labeled: %v", i, err)}
				}
				it["b64_json"], _ = json.Marshal(base64.StdEncoding.EncodeToString(out.Bytes()))
				ids = append(ids, res.Manifest)
				what = res.Format
				s.m.labels.WithLabelValues(res.Format).Inc()
			}
			if len(ids) > 0 {
				doc["data"], _ = json.Marshal(items)
			}
		}
	}
	if choices, ok := doc["choices"]; ok && len(ids) == 0 {
		var items []map[string]json.RawMessage
		if json.Unmarshal(choices, &items) == nil {
			for i, it := range items {
				var msg map[string]json.RawMessage
				if json.Unmarshal(it["message"], &msg) != nil {
					continue
				}
				var content string
				if json.Unmarshal(msg["content"], &content) != nil || content == "" {
					continue
				}
				var out bytes.Buffer
				ts, err := l.NewTextStream(&out, o, label.DefaultNotice())
				if err == nil {
					_, err = ts.WriteString(content)
				}
				if err == nil {
					err = ts.Close()
				}
				if err != nil {
					return &proxyError{http.StatusBadGateway, "upstream_unlabelable", fmt.Sprintf("choices[%d].message.content cannot be labeled: %v", i, err)}
				}
				msg["content"], _ = json.Marshal(out.String())
				it["message"], _ = json.Marshal(msg)
				ids = append(ids, ts.Result().Manifest)
				what = "chat"
				s.m.labels.WithLabelValues("text").Inc()
			}
			if len(ids) > 0 {
				doc["choices"], _ = json.Marshal(items)
			}
		}
	}
	if len(ids) == 0 {
		setBody(raw)
		ri.outcome = "passed_through"
		return nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	setBody(b)
	ri.format, ri.outcome = what, "labeled"
	resp.Header.Set(DisclosureHeader, disclosure(model))
	resp.Header.Set(ManifestHeader, strings.Join(ids, ", "))
	return nil
}
