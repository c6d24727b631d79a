package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/labelhttp"
)

type optsKey struct{}

// newModifier returns the proxy's ModifyResponse for labeler l: labelhttp's, with the request's
// options (checked by handleProxy), the server's limits, its metrics and its access log.
func (s *Server) newModifier(l *label.Labeler) func(*http.Response) error {
	return labelhttp.ModifyResponse(l,
		labelhttp.WithOptions(func(r *http.Request) (label.Options, error) {
			o, _ := r.Context().Value(optsKey{}).(label.Options)
			return o, nil
		}),
		labelhttp.WithDisclosure(label.Disclosure{Model: s.cfg.Defaults.Model}),
		labelhttp.WithMaxBody(s.cfg.MaxBody),
		labelhttp.WithTempDir(s.cfg.TempDir),
		labelhttp.WithLogger(s.log),
		labelhttp.WithRegister(s.registerProxied),
		labelhttp.WithLimiter(s.working), // large bodies wait for a worker, as in POST /v1/label
		labelhttp.WithObserver(func(r *http.Request, oc labelhttp.Outcome) {
			ri := info(r)
			ri.outcome = oc.Action
			if oc.Format != "" {
				ri.format = oc.Format
			}
			for _, f := range oc.Labeled {
				s.m.labels.WithLabelValues(f).Inc()
			}
		}),
	)
}

// registerProxied keeps each manifest the proxy writes in the repository, when there is one.
func (s *Server) registerProxied(r *http.Request, res *label.Result) error {
	if s.cfg.Repository == nil {
		return nil
	}
	return s.register(r.Context(), res)
}

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
			// Ask for an identity (or transparently decoded gzip), whole body: it is labeled here.
			h.Del("Accept-Encoding")
			h.Del("Range")
			h.Del("If-Range")
			for k := range h {
				if strings.HasPrefix(k, "Ai-Label-") { // the label options stay here
					delete(h, k)
				}
			}
		},
		Transport: tr,
		ModifyResponse: func(resp *http.Response) error {
			info(resp.Request).answered = true
			return (*s.modify.Load())(resp)
		},
		ErrorHandler: s.proxyFailed,
		ErrorLog:     nil,
	}
}

// handleProxy forwards a request to the upstream and labels its response.
func (s *Server) handleProxy(w http.ResponseWriter, r *http.Request) {
	if s.labeler.Load() == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "not_ready", "the signing key is not loaded yet")
		return
	}
	o, err := labelhttp.ParseOptions(r, s.cfg.Defaults.Messages)
	if err != nil {
		optionError(w, r, err)
		return
	}
	if s.cfg.Repository != nil {
		o.Fingerprint = true // as in POST /v1/label: a stripped copy can be traced back
	}
	rc := http.NewResponseController(w)
	// The transport may still be sending the body upstream when the upstream's header comes
	// back (a stream starts before its request has been read to the end): without full duplex,
	// net/http would discard and close the rest of the body when that header is written, and
	// the transport would then drop the upstream connection mid-stream.
	_ = rc.EnableFullDuplex()
	cr := &countingReader{r: http.MaxBytesReader(w, r.Body, s.cfg.MaxBody), rc: rc}
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
	var le *labelhttp.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &le) && le.Code == labelhttp.CodeBadOption:
		optionError(w, r, err)
	case errors.As(err, &le) && le.Code == labelhttp.CodeNotKept:
		s.log.ErrorContext(r.Context(), "registering the manifest in the repository", "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "repository_unavailable", "the manifest repository is unavailable; the upstream's answer was not labeled, retry later")
	case errors.As(err, &le):
		// The upstream's answer cannot be labeled: it is not sent.
		writeError(w, r, http.StatusBadGateway, "upstream_"+le.Code, "the upstream's answer: "+le.Message)
	case errors.As(err, &mbe):
		writeError(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over the limit of %d bytes", s.cfg.MaxBody))
	case info(r).answered && (errors.Is(r.Context().Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)):
		// The time ran out while the answer waited for a worker or was being labeled.
		writeError(w, r, http.StatusRequestTimeout, "timeout", "the upstream answered, but its answer was not labeled within the server's time limit")
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
