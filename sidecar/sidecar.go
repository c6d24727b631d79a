// Package sidecar is ailabel's HTTP service: it labels and verifies content sent to it
// (POST /v1/label, POST /v1/verify) and, in proxy mode, labels what one configured upstream
// generator returns. It is the library behind `ailabel serve`.
//
// A Server is an http.Handler with its own Prometheus registry, logger and limits; it holds no
// global state, so tests and programs may run several. Callers authenticate with
// "Authorization: Bearer TOKEN" before any byte of their body is read; every error is a JSON
// object {"error":{"code":…,"message":…}} sent before the first byte of a response body.
package sidecar

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/repository"
	"github.com/ailabel/ailabel/sign"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBody           = 512 << 20
	DefaultRequestTimeout    = 60 * time.Second
	DefaultMaxInflight       = 64
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
)

// Config configures a Server. Only Tokens is required; a Server without a Signer is up but not
// ready (GET /readyz 503) until SetSigner is called.
type Config struct {
	// Tokens are the bearer tokens callers may present. At least one is required.
	Tokens []string
	// Signer signs labels; nil until SetSigner.
	Signer *sign.Signer
	// Defaults fill in what a request's options leave empty (model, source type…).
	Defaults label.Options
	// Trust holds the trust anchors for POST /v1/verify; nil trusts no signer.
	Trust *sign.TrustStore
	// Upstream, when set, turns on proxy mode: every request that is not one of the sidecar's
	// own routes is forwarded to this URL (and nowhere else), and its response is labeled.
	Upstream *url.URL
	// UpstreamAuthorization, when set, is sent as the Authorization header to the upstream
	// (the caller's own Authorization header carries the sidecar token and is never forwarded).
	UpstreamAuthorization string
	// MaxBody bounds a request body (and, in proxy mode, a buffered upstream body); 0 means
	// DefaultMaxBody.
	MaxBody int64
	// RequestTimeout bounds the handling of one request, body included; 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxInflight bounds the requests labeled, verified or proxied at once; past it requests
	// get 503 with Retry-After. 0 means DefaultMaxInflight.
	MaxInflight int
	// Workers bounds the requests with bodies of 64 KiB or more being labeled or verified at the
	// same moment (the part that uses the CPU and memory); the other admitted ones wait their
	// turn in arrival order, within their time limit. Running about as many as there are cores
	// keeps each one's working set in the caches and memory bounded, rather than sharing the
	// cores among every picture in flight. Smaller bodies (text, mostly) take a fraction of a
	// millisecond and run at once. 0 means runtime.GOMAXPROCS(0).
	Workers int
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout configure the http.Server of Serve; 0
	// means the Default… constants.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// TempDir is where bodies are spooled; "" means os.TempDir().
	TempDir string
	// Repository, when set, keeps every manifest POST /v1/label writes into an image, with the
	// image's fingerprint (ISCC), and serves the soft-binding resolution API under /v1
	// (matches/byBinding, manifests/{id}; with a bearer token like every route, unless
	// AnonymousResolve), so a copy whose metadata was stripped can be traced back to its manifest.
	Repository repository.Store
	// AnonymousResolve lets anyone read the resolution API, as the C2PA specification allows.
	AnonymousResolve bool
	// Logger receives one JSON line per request; nil means slog.New(slog.NewJSONHandler(os.Stderr)).
	Logger *slog.Logger
	// Transport is the round tripper of the proxy; nil means a clone of http.DefaultTransport.
	Transport http.RoundTripper
}

// Server is the sidecar. It implements http.Handler.
type Server struct {
	cfg      Config
	tokens   [][32]byte // SHA-256 of each token, compared in constant time
	labeler  atomic.Pointer[label.Labeler]
	modify   atomic.Pointer[func(*http.Response) error] // the proxy's labeling, with labeler
	sem      chan struct{}                              // requests admitted (Config.MaxInflight)
	work     chan struct{}                              // requests labeling or verifying (Config.Workers)
	log      *slog.Logger
	m        *metrics
	mux      *http.ServeMux
	proxy    *httputil.ReverseProxy
	mu       sync.Mutex
	srv      *http.Server
	draining atomic.Bool
	bufs     sync.Pool // *bytes.Buffer of small bodies and outputs
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if len(cfg.Tokens) == 0 {
		return nil, errors.New("sidecar: at least one bearer token is required")
	}
	s := &Server{cfg: cfg}
	for i, t := range cfg.Tokens {
		if t == "" {
			return nil, fmt.Errorf("sidecar: token %d is empty", i+1)
		}
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
	}
	if s.cfg.MaxBody <= 0 {
		s.cfg.MaxBody = DefaultMaxBody
	}
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = DefaultRequestTimeout
	}
	if s.cfg.MaxInflight <= 0 {
		s.cfg.MaxInflight = DefaultMaxInflight
	}
	if s.cfg.Workers <= 0 {
		s.cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if s.cfg.ReadHeaderTimeout <= 0 {
		s.cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if s.cfg.ReadTimeout <= 0 {
		s.cfg.ReadTimeout = DefaultReadTimeout
	}
	if s.cfg.IdleTimeout <= 0 {
		s.cfg.IdleTimeout = DefaultIdleTimeout
	}
	if s.cfg.TempDir == "" {
		s.cfg.TempDir = os.TempDir()
	}
	if d := cfg.Defaults.SourceType; d != "" {
		if _, ok := manifest.SourceTypeURI(d); !ok {
			return nil, fmt.Errorf("sidecar: unknown digital source type %q", d)
		}
	}
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	s.sem = make(chan struct{}, s.cfg.MaxInflight)
	s.work = make(chan struct{}, s.cfg.Workers)
	s.m = newMetrics(s.work)
	if cfg.Signer != nil {
		if err := s.SetSigner(cfg.Signer); err != nil {
			return nil, err
		}
	}
	if cfg.Upstream != nil {
		u := cfg.Upstream
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("sidecar: upstream %q is not an http(s) URL", u.Redacted())
		}
		s.proxy = s.newProxy()
	}
	s.routes()
	return s, nil
}

// SetSigner sets (or replaces) the signing key; the server is ready from then on.
func (s *Server) SetSigner(sg *sign.Signer) error {
	l, err := label.New(sg, s.cfg.Defaults)
	if err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}
	m := s.newModifier(l)
	s.modify.Store(&m) // before the labeler: a request that sees the labeler finds its modifier
	s.labeler.Store(l)
	return nil
}

// Ready reports whether the server has a signer and is not shutting down.
func (s *Server) Ready() bool { return s.labeler.Load() != nil && !s.draining.Load() }

func (s *Server) routes() {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", s.wrap("healthz", false, false, s.healthz))
	mux.Handle("GET /readyz", s.wrap("readyz", false, false, s.readyz))
	mux.Handle("GET /metrics", s.wrap("metrics", false, false, s.m.handler().ServeHTTP))
	mux.Handle("GET /openapi.json", s.wrap("openapi", false, false, serveOpenAPI))
	// The handlers of label and verify spool the body, then clear the read deadline, see spool.
	mux.Handle("POST /v1/label", s.wrap("label", true, true, s.handleLabel))
	mux.Handle("POST /v1/verify", s.wrap("verify", true, true, s.handleVerify))
	for _, p := range []string{"/v1/label", "/v1/verify"} {
		mux.Handle(p, s.wrap("other", false, false, methodNotAllowed("POST")))
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		mux.Handle(p, s.wrap("other", false, false, methodNotAllowed("GET")))
	}
	if s.cfg.Repository != nil {
		rh := repository.Handler(s.cfg.Repository, repository.WithLogger(s.log))
		for _, p := range []string{"/v1/matches/", "/v1/manifests/", "/v1/services/", repository.WellKnownPath} {
			mux.Handle(p, s.wrap("resolve", !s.cfg.AnonymousResolve, false, rh.ServeHTTP))
		}
	}
	if s.proxy != nil {
		mux.Handle("/", s.wrap("proxy", true, true, s.handleProxy))
	} else {
		mux.Handle("/", s.wrap("other", false, false, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, http.StatusNotFound, "not_found", "no such route; see GET /openapi.json")
		}))
	}
	s.mux = mux
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.draining.Load():
		writeError(w, r, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	case s.labeler.Load() == nil:
		writeError(w, r, http.StatusServiceUnavailable, "not_ready", "the signing key is not loaded yet")
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "use "+allow)
	}
}

// reqInfo is what a handler tells the access log and the metrics about its request.
type reqInfo struct {
	format   string
	outcome  string
	bytesIn  int64
	answered bool // proxy mode: the upstream's response arrived (a later failure is ours)
}

type infoKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// wrap adds, around h: the access log line and metrics; when auth is set, the bearer-token
// check; when limited is set, the concurrency limit and the request time limit.
func (s *Server) wrap(route string, auth, limited bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{}
		rec := &recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			if ri.outcome == "" {
				ri.outcome = outcomeFor(status)
			}
			d := time.Since(start)
			s.m.observe(route, status, ri.bytesIn, rec.n, d)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.String("format", ri.format),
				slog.Int64("bytes_in", ri.bytesIn),
				slog.Int64("bytes_out", rec.n),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("outcome", ri.outcome),
				slog.String("remote", remoteHost(r.RemoteAddr)),
			)
		}()
		if auth && !s.authorized(r) {
			ri.outcome = "unauthorized"
			rec.Header().Set("WWW-Authenticate", `Bearer realm="ailabel"`)
			writeError(rec, r, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required (Authorization: Bearer TOKEN)")
			return
		}
		if limited {
			select {
			case s.sem <- struct{}{}:
				defer func() { <-s.sem }()
			default:
				ri.outcome = "shed"
				rec.Header().Set("Retry-After", "1")
				writeError(rec, r, http.StatusServiceUnavailable, "overloaded", fmt.Sprintf("more than %d requests in flight; retry later", s.cfg.MaxInflight))
				return
			}
			s.m.inflight.Inc()
			defer s.m.inflight.Dec()
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)

		}
		h(rec, r)
	})
}

func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func outcomeFor(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status < 500:
		return "client_error"
	default:
		return "server_error"
	}
}

// authorized checks the bearer token in constant time against every configured token.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(h[len(prefix):])))
	ok := 0
	for i := range s.tokens {
		ok |= subtle.ConstantTimeCompare(sum[:], s.tokens[i][:])
	}
	return ok == 1
}

// recorder remembers the status and counts the bytes of a response. It passes Flush and the
// http.ResponseController methods through (Unwrap).
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 { // 1xx are informational, the final status follows
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Serve accepts connections on l until Shutdown is called (it then returns nil) or l fails.
func (s *Server) Serve(l net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext:       connContext,
	}
	s.mu.Lock()
	if s.srv != nil {
		s.mu.Unlock()
		return errors.New("sidecar: Serve called twice")
	}
	s.srv = srv
	s.mu.Unlock()
	err := srv.Serve(coalescingListener{l})
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, marks the server not ready, and waits for in-flight
// requests to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}
