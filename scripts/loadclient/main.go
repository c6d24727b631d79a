// Command loadclient is the load generator of scripts/load.sh: it sends one file REQUESTS times
// over CONCURRENCY keep-alive connections to POST /v1/label of `ailabel serve`, times every
// request, and then verifies every response body it received: signature valid and trusted,
// the format and the model it expects, the manifest named by the C2PA-Manifest-ID header, each
// manifest seen once. It exits 1 when any request is lost, answered with another status than
// 200, or fails verification. With -want-rate or -want-p99 it also judges the run against those
// targets, a line each, and exits 3 when every request passed but a target was missed.
//
// It is light on purpose so that it leaves the cores to the server: each connection is driven by
// one goroutine that writes a request prepared once and parses the answer with
// net/http.ReadResponse (no http.Client, no per-request goroutines). Bodies are kept in memory
// for verification after the timed run, up to -keep bytes; a worker verifies the bodies past
// that budget itself, during the run, outside the timed part of its request, so memory stays
// bounded by -keep plus one body per connection.
//
//	loadclient -url http://127.0.0.1:8080/v1/label?model=m -token-file F -in FILE -n 10000 -c 64 \
//	  -format text -model m -trust ca.pem [-pid SERVER_PID] [-name "1 KB text"]
//
// With -pid it also reports the server's CPU time per request (utime+stime from /proc) and its
// peak resident memory (VmHWM).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
)

// Limits of what the client accepts.
const (
	maxRequests    = 1_000_000
	maxConcurrency = 1024
	maxBody        = 64 << 20 // the largest response body read
	maxInput       = 64 << 20 // the largest input file sent
	chunkSize      = 4 << 20  // bodies are kept in chunks of this size
)

// config is what one run does.
type config struct {
	URL       *url.URL
	Token     string
	Body      []byte
	N, C      int
	Timeout   time.Duration // per request
	Deadline  time.Duration // the whole timed run
	Format    string        // expected Report.Format
	Model     string        // expected Report.Model and AI-Disclosure model
	Trust     *sign.TrustStore
	Warmup    int     // untimed requests sent first, verified too
	Rate      float64 // timed requests per second, paced (0: each connection sends as fast as it is answered)
	Keep      int64   // bytes of bodies held in memory for verification after the run
	SpillMax  int64   // then bytes of bodies written to a spill file in SpillDir ("": os.TempDir())
	SpillDir  string
	ServerPID int       // 0: no server figures
	Profile   io.Writer // when not nil, receives the CPU profile of the timed run
}

// result is one response as received.
type result struct {
	status   int
	err      string // transport failure or bad response, "" when a body was read
	manifest string // C2PA-Manifest-ID
	disclose string // AI-Disclosure
	ctype    string
	body     []byte // kept for verification after the run; nil once verified
	spilled  bool   // kept in the spill file instead, spillLen bytes at spillOff
	spillOff int64
	spillLen int64
	verified bool
	verr     string // why verification failed, "" when it passed
}

// summary is what a run measured.
type summary struct {
	N, Warmup, OK, Verified int
	Rate                    float64       // the paced rate, 0 when not paced
	LateP99                 time.Duration // paced: the p99 of how late requests were sent
	VerifiedDuring          int           // timed requests verified during the run (past -keep)
	Elapsed                 time.Duration
	P50, P99, Max           time.Duration
	ServerCPU, ClientCPU    time.Duration // -1 when unknown
	ServerHWM               int64         // kB, -1 when unknown
	Failures                []string      // the first few failures, with a count
	failed                  int
}

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "the URL to POST to, e.g. http://127.0.0.1:8080/v1/label?model=load-test")
	tokenFile := fs.String("token-file", "", "file whose first line is the bearer token")
	in := fs.String("in", "", "the file to send")
	n := fs.Int("n", 10000, "requests to send")
	c := fs.Int("c", 64, "connections, each with one request at a time")
	timeout := fs.Duration("timeout", 20*time.Second, "time limit of one request")
	deadline := fs.Duration("deadline", 120*time.Second, "time limit of the whole timed run; requests not answered by then are lost")
	format := fs.String("format", "", "the format every response must verify as (text, jpeg…)")
	model := fs.String("model", "", "the model every response must name")
	trust := fs.String("trust", "", "PEM trust anchors: every response must be signed by a trusted signer")
	warmup := fs.Int("warmup", 64, "untimed requests sent before the timed ones (their answers are verified too)")
	rate := fs.Float64("rate", 0, "pace the timed requests at this many per second over the connections (0: every connection sends its next request as soon as it is answered); a request's latency is then counted from when it was due, so a stall delays every request behind it")
	keep := fs.Int64("keep", 512<<20, "bytes of response bodies kept in memory for verification after the run")
	spillMax := fs.Int64("spill", 8<<30, "then bytes of response bodies written to a temporary file for verification after the run; past both, bodies are verified during the run")
	spillDir := fs.String("spill-dir", "", "the folder of that file (default: the system's temporary folder)")
	pid := fs.Int("pid", 0, "the server's process id: report its CPU time per request and peak RSS")
	cpuProfile := fs.String("cpuprofile", "", "write the client's CPU profile of the timed run to this file")
	name := fs.String("name", "", "the name printed at the start of the result line (default: the input's file name)")
	wantRate := fs.Float64("want-rate", 0, "target: a throughput of at least this many requests a second (0: none); a missed target is reported and the exit status is 3")
	wantP99 := fs.Duration("want-p99", 0, "target: a p99 latency under this (0: none); as -want-rate")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "loadclient: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	cfg := config{N: *n, C: *c, Timeout: *timeout, Deadline: *deadline, Format: *format, Model: *model, Keep: *keep, SpillMax: *spillMax, SpillDir: *spillDir, ServerPID: *pid, Warmup: *warmup, Rate: *rate}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fail("-url %q: an http:// URL is required", *rawURL)
	}
	cfg.URL = u
	switch {
	case cfg.N < 1 || cfg.N > maxRequests:
		return fail("-n %d: 1..%d", cfg.N, maxRequests)
	case cfg.Warmup < 0 || cfg.Warmup > maxRequests:
		return fail("-warmup %d: 0..%d", cfg.Warmup, maxRequests)
	case cfg.C < 1 || cfg.C > maxConcurrency:
		return fail("-c %d: 1..%d", cfg.C, maxConcurrency)
	case cfg.Timeout <= 0 || cfg.Deadline <= 0:
		return fail("-timeout and -deadline must be positive")
	case cfg.Format == "" || cfg.Model == "" || *trust == "" || *in == "" || *tokenFile == "":
		return fail("-in, -token-file, -format, -model and -trust are required")
	case cfg.Keep < 0 || cfg.SpillMax < 0:
		return fail("-keep and -spill must be 0 or more")
	case !(cfg.Rate >= 0 && cfg.Rate <= 1e6):
		return fail("-rate %v: 0 (not paced) up to 1000000", cfg.Rate)
	case !(*wantRate >= 0 && *wantRate <= 1e9) || *wantP99 < 0:
		return fail("-want-rate and -want-p99 must be 0 or more")
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fail("reading the token: %v", err)
	}
	cfg.Token, _, _ = strings.Cut(strings.TrimSpace(string(tok)), "\n")
	if cfg.Token == "" {
		return fail("%s holds no token", *tokenFile)
	}
	if st, err := os.Stat(*in); err != nil {
		return fail("%v", err)
	} else if st.Size() > maxInput || st.Size() == 0 {
		return fail("%s is %d bytes: 1..%d", *in, st.Size(), maxInput)
	}
	if cfg.Body, err = os.ReadFile(*in); err != nil {
		return fail("%v", err)
	}
	if cfg.Trust, err = sign.LoadTrustFile(*trust); err != nil {
		return fail("%v", err)
	}
	if *name == "" {
		*name = *in
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		cfg.Profile = f
	}
	s, err := run(context.Background(), cfg)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintln(stdout, s.line(*name))
	if s.failed > 0 {
		fmt.Fprintf(stderr, "FAIL %s: %d of %d requests failed\n", *name, s.failed, s.N)
		for _, f := range s.Failures {
			fmt.Fprintln(stderr, "  "+f)
		}
		return 1
	}
	lines, met := s.judge(*wantRate, *wantP99)
	for _, l := range lines {
		fmt.Fprintln(stdout, "  target: "+l)
	}
	if !met {
		return 3
	}
	return 0
}

// judge compares the run with the targets (0: none) and says, a line each, whether each was met.
func (s *summary) judge(minRate float64, maxP99 time.Duration) (lines []string, met bool) {
	met = true
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		met = false
		return "MISSED"
	}
	if minRate > 0 {
		r := float64(s.N) / s.Elapsed.Seconds()
		lines = append(lines, fmt.Sprintf("throughput %.0f req/s, at least %.0f: %s", r, minRate, verdict(r >= minRate)))
	}
	if maxP99 > 0 {
		at := "as fast as answered"
		if s.Rate > 0 {
			at = fmt.Sprintf("paced at %.0f/s", s.Rate)
		}
		lines = append(lines, fmt.Sprintf("p99 %v (%s), under %v: %s", s.P99.Round(100*time.Microsecond), at, maxP99, verdict(s.P99 < maxP99)))
	}
	return lines, met
}

// line is the result line: throughput, latency, figures.
func (s *summary) line(name string) string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) }
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %6d req  %7.0f req/s  p50 %6s ms  p99 %6s ms  max %6s ms  200s %d  verified %d",
		name, s.N, float64(s.N)/s.Elapsed.Seconds(), ms(s.P50), ms(s.P99), ms(s.Max), s.OK, s.Verified)
	if s.VerifiedDuring > 0 {
		fmt.Fprintf(&b, " (%d during the run)", s.VerifiedDuring)
	}
	if s.Warmup > 0 {
		fmt.Fprintf(&b, " +%d warm-up", s.Warmup)
	}
	if s.Rate > 0 {
		fmt.Fprintf(&b, "  paced at %.0f/s (sent late by p99 %s ms)", s.Rate, ms(s.LateP99))
	}
	if s.ServerCPU >= 0 {
		fmt.Fprintf(&b, "  server CPU %d µs/req", s.ServerCPU.Microseconds()/int64(s.N))
	}
	if s.ClientCPU >= 0 {
		fmt.Fprintf(&b, "  client CPU %d µs/req", s.ClientCPU.Microseconds()/int64(s.N))
	}
	if s.ServerHWM >= 0 {
		fmt.Fprintf(&b, "  server peak RSS %d MB", s.ServerHWM/1024)
	}
	return b.String()
}

// worker drives one connection.
type worker struct {
	addr    string
	timeout time.Duration
	req     []byte
	c       net.Conn // nil: connect before the next request
	br      *bufio.Reader
	scratch []byte // the body being verified during the run
}

// store keeps bodies for verification after the run: one arena, touched before the run so that
// the timed run pays no page faults, handed out from its start; then a spill file (one write
// per body, at an offset of its own), up to spillMax bytes.
type store struct {
	arena    []byte
	used     atomic.Int64
	spill    *os.File // nil: none
	spillMax int64
	spilled  atomic.Int64
}

// spillAt returns where a body of n bytes goes in the spill file, or -1 when it does not fit.
func (s *store) spillAt(n int64) int64 {
	if s == nil || s.spill == nil {
		return -1
	}
	end := s.spilled.Add(n)
	if end > s.spillMax {
		return -1
	}
	return end - n
}

// take returns n bytes of the arena, or nil when it is full.
func (s *store) take(n int64) []byte {
	end := s.used.Add(n)
	if end > int64(len(s.arena)) {
		return nil
	}
	return s.arena[end-n : end : end]
}

// phase sends n requests over the workers' connections. Each 200 body goes into st when it has
// room (nil: never), else is verified at once. Requests not sent by end are lost.
//
// With rate > 0 request i is due at i/rate seconds after the phase starts: the connection that
// takes it waits until then, and its latency runs from when it was due, not from when it was
// sent, so that a stall counts against every request it held back (no coordinated omission).
// Without a rate every connection sends its next request as soon as the last is answered.
//
// It returns the results, the latencies (0: not sent) and, when paced, how late each request
// was sent (the load client's own delay: time waiting for a free connection or for the
// runtime to wake the connection's goroutine).
func phase(ws []*worker, n int, end time.Time, st *store, v *verifier, rate float64) (results []result, lat, late []time.Duration) {
	results = make([]result, n)
	lat = make([]time.Duration, n)
	if rate > 0 {
		late = make([]time.Duration, n)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, w := range ws {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				r := &results[i]
				var due time.Time
				if rate > 0 {
					due = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
				}
				t0 := time.Now()
				if rate > 0 {
					late[i] = t0.Sub(due)
				}
				if t0.After(end) {
					r.err = "not sent: the run's time limit was reached"
					continue
				}
				dl := t0.Add(w.timeout)
				if dl.After(end) {
					dl = end
				}
				lat[i] = w.roundTrip(r, dl, st)
				if rate > 0 {
					lat[i] = time.Since(due)
				}
				if r.err != "" && !dl.Before(end) && !time.Now().Before(end) {
					r.err = "not answered within the run's time limit: " + r.err
				}
				if r.err == "" && r.status == http.StatusOK && r.body == nil && !r.spilled {
					// Not kept: check it now, outside the timed part of the request.
					r.verr = v.check(r, bytes.NewReader(w.scratch), 0, int64(len(w.scratch)))
					r.verified = true
					v.during.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return results, lat, late
}

// roundTrip sends the request, reads the answer into r and returns its latency. A 200 body goes
// to st when it has room (r.body), else to w.scratch.
func (w *worker) roundTrip(r *result, deadline time.Time, st *store) time.Duration {
	t0 := time.Now()
	if w.c == nil {
		c, err := net.DialTimeout("tcp", w.addr, w.timeout)
		if err != nil {
			r.err = "connecting: " + err.Error()
			return time.Since(t0)
		}
		w.c = c
		w.br.Reset(c)
	}
	again, err := w.exchange(r, deadline, st)
	d := time.Since(t0)
	if err != nil {
		r.err = err.Error()
	}
	if !again {
		w.c.Close()
		w.c = nil
	}
	return d
}

func (w *worker) exchange(r *result, deadline time.Time, st *store) (again bool, err error) {
	w.c.SetDeadline(deadline)
	if _, err := w.c.Write(w.req); err != nil {
		return false, fmt.Errorf("sending: %w", err)
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return false, fmt.Errorf("reading the response: %w", err)
	}
	defer resp.Body.Close()
	r.status = resp.StatusCode
	r.manifest = resp.Header.Get("C2PA-Manifest-ID")
	r.disclose = resp.Header.Get("AI-Disclosure")
	r.ctype = resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return !resp.Close, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	n := resp.ContentLength
	if n < 0 || n > maxBody {
		return false, fmt.Errorf("Content-Length %d: 0..%d wanted", n, maxBody)
	}
	var dst []byte
	if st != nil {
		dst = st.take(n)
	}
	if dst == nil {
		if int64(cap(w.scratch)) < n {
			w.scratch = make([]byte, n)
		}
		w.scratch = w.scratch[:n]
		if _, err := io.ReadFull(resp.Body, w.scratch); err != nil {
			return false, fmt.Errorf("reading the body: %w", err)
		}
		if off := st.spillAt(n); st != nil && off >= 0 {
			if _, err := st.spill.WriteAt(w.scratch, off); err != nil {
				return false, fmt.Errorf("keeping the body in the spill file: %w", err)
			}
			r.spilled, r.spillOff, r.spillLen = true, off, n
			r.body = nil
		}
		return !resp.Close, nil
	}
	if _, err := io.ReadFull(resp.Body, dst); err != nil {
		return false, fmt.Errorf("reading the body: %w", err)
	}
	r.body = dst
	return !resp.Close, nil
}

// run sends the warm-up requests, then the timed ones, then verifies what came back.
func run(ctx context.Context, cfg config) (*summary, error) {
	req, err := request(cfg)
	if err != nil {
		return nil, err
	}
	addr := cfg.URL.Host
	if cfg.URL.Port() == "" {
		addr = net.JoinHostPort(cfg.URL.Hostname(), "80")
	}
	ws := make([]*worker, cfg.C)
	for i := range ws {
		ws[i] = &worker{addr: addr, timeout: cfg.Timeout, req: req, br: bufio.NewReaderSize(nil, 64<<10)}
	}
	defer func() {
		for _, w := range ws {
			if w.c != nil {
				w.c.Close()
			}
		}
	}()
	v := &verifier{cfg: cfg}

	// Warm-up: connections open, the server's heap grown; every answer verified at once. Its
	// largest body sizes the arena of the timed run.
	warm, _, _ := phase(ws, cfg.Warmup, time.Now().Add(cfg.Deadline), nil, v, 0)
	var largest int64
	for _, w := range ws {
		largest = max(largest, int64(cap(w.scratch)))
	}
	size := cfg.Keep
	if cfg.Warmup > 0 {
		size = min(cfg.Keep, int64(cfg.N)*(largest+largest/8+256))
	}
	st := &store{arena: make([]byte, size), spillMax: cfg.SpillMax}
	if cfg.SpillMax > 0 {
		f, err := os.CreateTemp(cfg.SpillDir, "loadclient-spill-*")
		if err != nil {
			return nil, fmt.Errorf("the spill file: %w", err)
		}
		os.Remove(f.Name()) // gone once closed
		defer f.Close()
		st.spill = f
	}
	for i := 0; i < len(st.arena); i += 4096 {
		st.arena[i] = 1 // fault the page in now, not during the run
	}
	v.during.Store(0)

	if cfg.Profile != nil {
		if err := pprof.StartCPUProfile(cfg.Profile); err != nil {
			return nil, fmt.Errorf("profiling: %w", err)
		}
	}
	cpu0, srv0 := clientCPU(), serverCPU(cfg.ServerPID)
	start := time.Now()
	results, lat, late := phase(ws, cfg.N, start.Add(cfg.Deadline), st, v, cfg.Rate)
	elapsed := time.Since(start)
	cpu1, srv1 := clientCPU(), serverCPU(cfg.ServerPID)
	if cfg.Profile != nil {
		pprof.StopCPUProfile()
	}
	s := &summary{N: cfg.N, Warmup: cfg.Warmup, Rate: cfg.Rate, Elapsed: elapsed, ServerCPU: -1, ClientCPU: -1,
		ServerHWM: serverHWM(cfg.ServerPID), VerifiedDuring: int(v.during.Load())}
	if cpu0 >= 0 && cpu1 >= 0 {
		s.ClientCPU = cpu1 - cpu0
	}
	if srv0 >= 0 && srv1 >= 0 {
		s.ServerCPU = srv1 - srv0
	}

	// Latency of the requests that were sent.
	var sent []time.Duration
	for i := range results {
		if lat[i] > 0 {
			sent = append(sent, lat[i])
		}
	}
	slices.Sort(sent)
	if len(sent) > 0 {
		s.P50, s.P99, s.Max = percentile(sent, 50), percentile(sent, 99), sent[len(sent)-1]
	}
	if late != nil {
		slices.Sort(late)
		s.LateP99 = percentile(late, 99)
	}

	// Verify every body kept, on every core (the server is idle by now).
	todo := make(chan int)
	var vwg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		vwg.Go(func() {
			for i := range todo {
				r := &results[i]
				if r.spilled {
					r.verr = v.check(r, st.spill, r.spillOff, r.spillLen)
				} else {
					r.verr = v.check(r, bytes.NewReader(r.body), 0, int64(len(r.body)))
				}
				r.verified = true
				r.body = nil
			}
		})
	}
	for i := range results {
		if results[i].body != nil || results[i].spilled {
			todo <- i
		}
	}
	close(todo)
	vwg.Wait()
	st.arena = nil

	seen := make(map[string]string, cfg.N+cfg.Warmup)
	judge := func(what string, i int, r *result) {
		var why string
		switch {
		case r.err != "":
			why = r.err
		case r.status != http.StatusOK:
			why = fmt.Sprintf("status %d", r.status)
		case !r.verified:
			why = "not verified" // cannot happen: every body read is verified
		case r.verr != "":
			why = r.verr
		}
		if why == "" {
			if other, dup := seen[r.manifest]; dup {
				why = fmt.Sprintf("manifest %s came back for %s too", r.manifest, other)
			}
		}
		id := fmt.Sprintf("%s request %d", what, i+1)
		if what == "timed" && r.err == "" && r.status == http.StatusOK {
			s.OK++
		}
		if why != "" {
			s.failed++
			if len(s.Failures) < 10 {
				s.Failures = append(s.Failures, id+": "+why)
			}
			return
		}
		seen[r.manifest] = id
		if what == "timed" {
			s.Verified++
		}
	}
	for i := range warm {
		judge("warm-up", i, &warm[i])
	}
	for i := range results {
		judge("timed", i, &results[i])
	}
	if s.failed > len(s.Failures) {
		s.Failures = append(s.Failures, fmt.Sprintf("… and %d more", s.failed-len(s.Failures)))
	}
	return s, nil
}

// request is the HTTP/1.1 request sent on every connection, prepared once.
func request(cfg config) ([]byte, error) {
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("the token holds a line break")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
		cfg.URL.RequestURI(), cfg.URL.Host, cfg.Token, len(cfg.Body))
	b.Write(cfg.Body)
	return b.Bytes(), nil
}

// verifier checks response bodies.
type verifier struct {
	cfg    config
	during atomic.Int64
}

// check verifies one 200 response; it returns why it is wrong, or "".
func (v *verifier) check(r *result, body io.ReaderAt, off, size int64) (why string) {
	rep, err := label.Verify(context.Background(), io.NewSectionReader(body, off, size), size, label.VerifyOptions{Trust: v.cfg.Trust})
	switch {
	case err != nil:
		return "does not verify: " + err.Error()
	case rep.Verdict != label.Valid:
		return fmt.Sprintf("verdict %s: %s", rep.Verdict, rep.Summary)
	case rep.State != "Trusted":
		return fmt.Sprintf("validation state %s, not Trusted: %s", rep.State, rep.Summary)
	case rep.Format != v.cfg.Format:
		return fmt.Sprintf("format %q, want %q", rep.Format, v.cfg.Format)
	case rep.Model != v.cfg.Model:
		return fmt.Sprintf("model %q, want %q", rep.Model, v.cfg.Model)
	case !rep.AIGenerated:
		return "not labeled as AI-generated"
	case r.manifest == "" || rep.ActiveManifest != r.manifest:
		return fmt.Sprintf("C2PA-Manifest-ID %q, the content's manifest is %q", r.manifest, rep.ActiveManifest)
	case !strings.Contains(r.disclose, `model="`+v.cfg.Model+`"`):
		return fmt.Sprintf("AI-Disclosure %q does not name the model %q", r.disclose, v.cfg.Model)
	case r.ctype == "":
		return "no Content-Type"
	}
	return ""
}

func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// clientCPU is this process's user+system CPU time, -1 when unknown.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
