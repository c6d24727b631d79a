package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/repository"
	"github.com/ailabel/ailabel/sidecar"
	"github.com/ailabel/ailabel/sign"
)

// serveEnv is the environment variable of a serve flag: AILABEL_ and the flag's name in upper
// case with - as _ (--max-body → AILABEL_MAX_BODY).
func serveEnv(name string) string {
	return "AILABEL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// byteSize is a flag value of bytes with an optional K, M, G (powers of 1024) suffix, "KiB"…
// accepted too.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1<<10, t[:n-1]
		case 'M':
			mult, t = 1<<20, t[:n-1]
		case 'G':
			mult, t = 1<<30, t[:n-1]
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/mult {
		return fmt.Errorf("%q is not a positive size in bytes (e.g. 536870912, 512M)", s)
	}
	*b = byteSize(v * mult)
	return nil
}

func cmdServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "serve", "[flags]   (every flag also as AILABEL_<NAME> and in --config)")
	var sf signerFlags
	fs.StringVar(&sf.key, "key", "", "PEM private key file")
	fs.StringVar(&sf.cert, "cert", "", "PEM certificate chain, signing certificate first")
	fs.StringVar(&sf.kms, "kms", "", "KMS key reference (e.g. awskms:///arn…, hashivault://name) instead of --key")
	fs.StringVar(&sf.tsa, "tsa", "", tsaUsage)
	dev := fs.Bool("dev", false, "sign with the local DEVELOPMENT key when no --key/--kms is given (never in production)")
	fs.String("config", "", "JSON file of flag values, {\"listen\": \":8080\", \"max-inflight\": 32, …}")
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	tokensFile := fs.String("tokens-file", "", "file of bearer tokens, one a line, # comments (AILABEL_TOKENS also takes tokens, comma-separated)")
	model := fs.String("model", "", "default model name when a request names none")
	sourceType := fs.String("source-type", "", "default IPTC digital source type (default trainedAlgorithmicMedia)")
	trust := fs.String("trust", "", "PEM file of trust anchors for /v1/verify")
	upstream := fs.String("upstream", "", "proxy mode: the generator's base URL; other paths are forwarded there and answers labeled")
	upstreamAuth := fs.String("upstream-auth-file", "", "file holding the Authorization header value sent to the upstream")
	maxBody := byteSize(sidecar.DefaultMaxBody)
	fs.Var(&maxBody, "max-body", "largest request body (bytes; K, M, G suffixes) (default 512M)")
	reqTimeout := fs.Duration("request-timeout", sidecar.DefaultRequestTimeout, "time limit of one request, body included")
	readTimeout := fs.Duration("read-timeout", sidecar.DefaultReadTimeout, "time limit to read a whole request")
	readHeaderTimeout := fs.Duration("read-header-timeout", sidecar.DefaultReadHeaderTimeout, "time limit to read request headers")
	idleTimeout := fs.Duration("idle-timeout", sidecar.DefaultIdleTimeout, "keep-alive connections idle longer are closed")
	shutdownTimeout := fs.Duration("shutdown-timeout", sidecar.DefaultShutdownTimeout, "on SIGTERM, time given to in-flight requests")
	maxInflight := fs.Int("max-inflight", sidecar.DefaultMaxInflight, "requests served at once; more get 503 + Retry-After")
	workers := fs.Int("workers", 0, "requests with bodies of 64 KiB or more labeled or verified at the same moment; the other admitted ones wait their turn (default: the number of cores)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain")
	tlsKey := fs.String("tls-key", "", "private key of --tls-cert")
	clientCA := fs.String("client-ca", "", "with --tls-cert: require client certificates issued by these PEM CAs (mTLS)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFlush := fs.Duration("log-flush", 100*time.Millisecond, "access lines (one per request) are written out together at this interval, saving a system call per request; other lines at once; 0: every line at once")
	tempDir := fs.String("temp-dir", "", "folder for spooled bodies (default the system's)")
	repoPath := fs.String("repository", "", "manifest repository: a SQLite file, or a postgres:// URL shared by replicas; every manifest signed is kept there with its soft bindings (watermark, fingerprint, media digest), and the soft-binding resolution API is served under /v1")
	anonResolve := fs.Bool("anonymous-resolve", false, "with --repository: let anyone read the resolution API (no bearer token)")
	gcPercent := fs.Int("gc-percent", 400, "Go garbage collector target (as GOGC, which wins when set): requests allocate short-lived buffers, so a higher value trades memory for throughput")
	memLimit := byteSize(1 << 30)
	fs.Var(&memLimit, "memory-limit", "soft memory limit of the Go runtime (as GOMEMLIMIT, which wins when set): the collector works harder near it (default 1G)")
	if _, err := parseInterleaved(fs, args); err != nil {
		if isHelp(err) {
			return exitOK
		}
		return exitUsage
	}
	if err := applyServeSources(fs, e); err != nil {
		return errorf(e, "serve: %v", err)
	}
	if *gcPercent < -1 {
		return errorf(e, "serve: --gc-percent %d: -1 (off) or more", *gcPercent)
	}
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(*gcPercent)
	}
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(memLimit))
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return errorf(e, "serve: --log-level %q: %v", *logLevel, err)
	}
	if *logFlush < 0 || *logFlush > time.Minute {
		return errorf(e, "serve: --log-flush %v: 0 (every line at once) up to 1m", *logFlush)
	}
	var logger *slog.Logger
	if *logFlush == 0 {
		logger = slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
	} else {
		out := newRequestLog(e.stderr)
		logger = slog.New(flushingHandler{slog.NewJSONHandler(out, &slog.HandlerOptions{Level: lvl}), out})
		fctx, stopFlush := context.WithCancel(context.Background())
		flushed := make(chan struct{})
		go func() { out.flushEvery(fctx, *logFlush); close(flushed) }()
		defer func() { stopFlush(); <-flushed }() // the last access lines are written out before serve returns
	}

	tokens, err := loadTokens(*tokensFile, e.getenv("AILABEL_TOKENS"))
	if err != nil {
		return errorf(e, "serve: %v", err)
	}
	if len(tokens) == 0 {
		return errorf(e, "serve: no bearer tokens: give --tokens-file FILE or AILABEL_TOKENS")
	}
	var repo repository.StoreCloser
	if *repoPath != "" {
		var err error
		if repo, err = repository.Open(ctx, *repoPath); err != nil {
			return errorf(e, "serve: --repository: %v", err)
		}
		defer repo.Close()
	}
	cfg := sidecar.Config{
		Tokens:            tokens,
		Defaults:          label.Options{Model: *model, SourceType: *sourceType},
		Repository:        nilIfNone(repo),
		AnonymousResolve:  *anonResolve,
		MaxBody:           int64(maxBody),
		RequestTimeout:    *reqTimeout,
		MaxInflight:       *maxInflight,
		Workers:           *workers,
		ReadHeaderTimeout: *readHeaderTimeout,
		ReadTimeout:       *readTimeout,
		IdleTimeout:       *idleTimeout,
		TempDir:           *tempDir,
		Logger:            logger,
	}
	if *trust != "" {
		if cfg.Trust, err = sign.LoadTrustFile(*trust); err != nil {
			return errorf(e, "serve: --trust: %v", err)
		}
	}
	if *upstream != "" {
		u, err := url.Parse(*upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errorf(e, "serve: --upstream must be an http(s) URL")
		}
		cfg.Upstream = u
	}
	if *upstreamAuth != "" {
		b, err := os.ReadFile(*upstreamAuth)
		if err != nil {
			return errorf(e, "serve: --upstream-auth-file: %v", err)
		}
		cfg.UpstreamAuthorization = strings.TrimSpace(string(b))
	}
	if sf.key == "" && sf.kms == "" && !*dev {
		return errorf(e, "serve: no signing key: give --key and --cert, --kms and --cert, or --dev for the development key")
	}
	if _, err := sf.options(); err != nil {
		return errorf(e, "serve: %v", err)
	}
	srv, err := sidecar.New(cfg)
	if err != nil {
		return errorf(e, "serve: %v", err)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return errorf(e, "serve: %v", err)
	}
	if *tlsCert != "" || *tlsKey != "" || *clientCA != "" {
		tc, err := serverTLS(*tlsCert, *tlsKey, *clientCA)
		if err != nil {
			ln.Close()
			return errorf(e, "serve: %v", err)
		}
		ln = tls.NewListener(ln, tc)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "upstream", redactURL(cfg.Upstream), "tls", *tlsCert != "", "mtls", *clientCA != "")

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	// The key may come from a KMS: load it while /healthz already answers; /readyz turns 200
	// once it is loaded.
	go func() {
		sg, err := sf.load(ctx, &env{stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, getenv: e.getenv})
		if err == nil {
			err = srv.SetSigner(sg)
		}
		if err != nil {
			errc <- fmt.Errorf("loading the signing key: %w", err)
			return
		}
		logger.Info("ready", "signer", sg.Certificate().Subject.String(), "development", sg.IsDevelopment(), "time_stamping", sg.HasTimeStamper())
	}()

	code := exitOK
	select {
	case err := <-errc:
		logger.Error("stopping", "err", err.Error())
		code = exitUsage
	case <-ctx.Done():
		logger.Info("shutting down", "grace", shutdownTimeout.String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("shutdown", "err", err.Error())
		code = exitUsage
	}
	logger.Info("stopped")
	return code
}

// applyServeSources fills every flag not given on the command line from its environment
// variable, else from the --config file (precedence: flag, environment, config file, default).
func applyServeSources(fs *flag.FlagSet, e *env) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var cfgErr error
	fs.VisitAll(func(f *flag.Flag) {
		if cfgErr != nil || set[f.Name] {
			return
		}
		if v := e.getenv(serveEnv(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				cfgErr = fmt.Errorf("%s: %v", serveEnv(f.Name), err)
			}
			set[f.Name] = true
		}
	})
	if cfgErr != nil {
		return cfgErr
	}
	path := fs.Lookup("config").Value.String()
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	for k, v := range doc {
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			return fmt.Errorf("--config %s: unknown setting %q", path, k)
		}
		if set[k] {
			continue
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return fmt.Errorf("--config %s: %q must be a string, number or boolean", path, k)
		}
		if err := fs.Set(k, s); err != nil {
			return fmt.Errorf("--config %s: %q: %v", path, k, err)
		}
	}
	return nil
}

// loadTokens reads bearer tokens from a file (one a line, blank lines and # comments skipped)
// and from a comma-separated list.
func loadTokens(file, list string) ([]string, error) {
	var out []string
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--tokens-file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			t := strings.TrimSpace(sc.Text())
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			out = append(out, t)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("--tokens-file: %w", err)
		}
	}
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	for _, t := range out {
		if len(t) < 16 {
			return nil, errors.New("a bearer token is shorter than 16 characters; use long random tokens (e.g. openssl rand -hex 32)")
		}
	}
	return out, nil
}

// serverTLS is the TLS configuration of --tls-cert/--tls-key/--client-ca.
func serverTLS(certFile, keyFile, clientCA string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together (and --client-ca needs them)")
	}
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS key pair: %w", err)
	}
	// NextProtos offers HTTP/2 (ALPN "h2"): the listener is wrapped by tls.NewListener, and
	// net/http configures HTTP/2 only on the tls.Config of its own ServeTLS.
	tc := &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if clientCA != "" {
		b, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("--client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--client-ca %s: no PEM certificates", clientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}

// nilIfNone keeps a nil StoreCloser from becoming a non-nil repository.Store.
func nilIfNone(r repository.StoreCloser) repository.Store {
	if r == nil {
		return nil
	}
	return r
}
