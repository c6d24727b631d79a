// Command batch-video labels every MP4 and MOV video in a folder (and its subfolders) as
// AI-generated, a few at a time, with a progress bar on a terminal and a summary at the end.
// Each output gets a signed C2PA manifest and the policy's warning caption tracks; the input
// files are not changed.
//
//	go run ./examples/batch-video -in renders/ -out labeled/ [-j 4] [-policy eu -lang de,fr]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/sign"
)

// videoExts are the file name extensions labeled (compared in lower case).
var videoExts = map[string]bool{".mp4": true, ".mov": true, ".m4v": true}

// extNames names them for people.
const extNames = "*.mp4, *.mov, *.m4v"

// config is what the flags say.
type config struct {
	in, out                   string
	jobs                      int
	model, policy, langs      string
	provider                  string
	keyFile, kmsRef, certFile string
	quiet                     bool
}

func main() {
	var c config
	flag.StringVar(&c.in, "in", "", "folder of videos to label (required)")
	flag.StringVar(&c.out, "out", "", "folder for the labeled videos, same layout as -in (required)")
	flag.IntVar(&c.jobs, "j", runtime.GOMAXPROCS(0), "videos labeled at once")
	flag.StringVar(&c.model, "model", "demo-video-model", "model name written into the label")
	flag.StringVar(&c.policy, "policy", policy.Default, "labeling policy: kz, eu or cn")
	flag.StringVar(&c.langs, "lang", "", "warning languages, comma-separated (default: the policy's)")
	flag.StringVar(&c.provider, "provider", "", "content producer code for China's AIGC label (policy cn)")
	flag.StringVar(&c.keyFile, "key", "", "signing key (PEM); without -key and -kms the development key is used")
	flag.StringVar(&c.kmsRef, "kms", "", "KMS key reference, e.g. hashivault://name, instead of -key")
	flag.StringVar(&c.certFile, "cert", "", "certificate chain (PEM) of the signing key")
	flag.BoolVar(&c.quiet, "q", false, "no progress output, only the summary")
	flag.Parse()
	if c.in == "" || c.out == "" || flag.NArg() > 0 || c.jobs < 1 {
		fmt.Fprintln(os.Stderr, "usage: batch-video -in DIR -out DIR [-j N] [-policy kz|eu|cn] [-lang kk,ru] [-model NAME]")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, c, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "batch-video:", err)
		os.Exit(2)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// job is one video to label.
type job struct {
	rel     string // path under -in
	in, out string
	size    int64
}

// outcome is what labeling one video came to.
type outcome struct {
	job
	res  *label.Result
	err  error
	took time.Duration
}

// run labels the videos and returns how many failed; err is for what stops the whole batch.
func run(ctx context.Context, c config, stdout, stderr io.Writer) (failed int, err error) {
	pol, err := policy.ByName(c.policy)
	if err != nil {
		return 0, fmt.Errorf("-policy: %w", err)
	}
	var langs []string
	for _, tag := range strings.Split(c.langs, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			langs = append(langs, tag)
		}
	}
	jobs, err := findVideos(c.in, c.out)
	if err != nil {
		return 0, err
	}
	if len(jobs) == 0 {
		fmt.Fprintf(stdout, "no videos (%s) in %s\n", extNames, c.in)
		return 0, nil
	}
	signer, err := loadSigner(ctx, c.keyFile, c.kmsRef, c.certFile, stderr)
	if err != nil {
		return 0, err
	}
	l, err := label.New(signer, label.Options{Model: c.model, Policy: pol, Languages: langs, Provider: c.provider})
	if err != nil {
		return 0, fmt.Errorf("making the labeler: %w", err)
	}

	// Workers take jobs from todo until it is closed or the context ends.
	todo := make(chan job)
	done := make(chan outcome)
	var wg sync.WaitGroup
	for range min(c.jobs, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range todo {
				start := time.Now()
				res, err := labelOne(ctx, l, j)
				done <- outcome{job: j, res: res, err: err, took: time.Since(start)}
			}
		}()
	}
	go func() {
		defer close(todo)
		for _, j := range jobs {
			select {
			case todo <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()

	var total int64
	for _, j := range jobs {
		total += j.size
	}
	p := newProgress(stderr, len(jobs), total, c.quiet)
	start := time.Now()
	var failures []outcome
	labeled := 0
	var bytesIn, bytesOut int64
	tick := time.NewTicker(250 * time.Millisecond) // keeps the elapsed time on the bar moving
	defer tick.Stop()
	for running := true; running; {
		select {
		case o, ok := <-done:
			if !ok {
				running = false
				break
			}
			if o.err != nil {
				failures = append(failures, o)
			} else {
				labeled++
				bytesIn += o.size
				bytesOut += o.res.Size
			}
			p.update(o)
		case <-tick.C:
			p.tick()
		}
	}
	p.finish()

	took := time.Since(start)
	fmt.Fprintf(stdout, "labeled %d of %d videos in %.1f s: %s in, %s out, %s/s, %d at a time\n",
		labeled, len(jobs), took.Seconds(), size(bytesIn), size(bytesOut), size(int64(float64(bytesIn)/max(took.Seconds(), 1e-3))), min(c.jobs, len(jobs)))
	if skipped := len(jobs) - labeled - len(failures); skipped > 0 {
		fmt.Fprintf(stdout, "%d not started: %v\n", skipped, ctx.Err())
	}
	for _, o := range failures {
		fmt.Fprintf(stdout, "FAILED %s: %v\n", o.rel, o.err)
	}
	return len(jobs) - labeled, nil
}

func labelOne(ctx context.Context, l *label.Labeler, j job) (*label.Result, error) {
	// The labeler goes by the bytes, not the name: a text file called .mp4 would come out as
	// labeled text. Only videos are wanted here.
	if err := isVideo(j.in); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(j.out), 0o755); err != nil {
		return nil, err
	}
	return l.LabelFile(ctx, j.in, j.out, label.Options{Title: filepath.Base(j.in)})
}

// isVideo checks that the file's first bytes are those of a video container.
func isVideo(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, formats.SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	format, err := formats.Sniff(head[:n])
	if err != nil {
		return fmt.Errorf("not a video: %w", err)
	}
	if !strings.HasPrefix(format.MIME, "video/") {
		return fmt.Errorf("not a video: the file is %s", format.MIME)
	}
	return nil
}

// findVideos lists the videos under in, with their paths under out. A folder out inside in is
// not searched.
func findVideos(in, out string) ([]job, error) {
	absIn, err := filepath.Abs(in)
	if err != nil {
		return nil, err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	if absIn == absOut {
		return nil, errors.New("-out must be another folder than -in: the inputs are not changed")
	}
	if fi, err := os.Stat(absIn); err != nil {
		return nil, fmt.Errorf("-in: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("-in: %s is not a folder", in)
	}
	var jobs []job
	err = filepath.WalkDir(absIn, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == absOut {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !videoExts[strings.ToLower(filepath.Ext(path))] {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(absIn, path)
		if err != nil {
			return err
		}
		jobs = append(jobs, job{rel: rel, in: path, out: filepath.Join(absOut, rel), size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", in, err)
	}
	return jobs, nil
}

// loadSigner returns the signer of -key/-cert or -kms/-cert, or the development signer.
func loadSigner(ctx context.Context, keyFile, kmsRef, certFile string, stderr io.Writer) (*sign.Signer, error) {
	switch {
	case keyFile != "" && kmsRef != "":
		return nil, errors.New("-key and -kms both given; choose one")
	case (keyFile != "" || kmsRef != "") && certFile == "":
		return nil, errors.New("-key and -kms need -cert, the certificate chain of the key")
	case keyFile != "":
		return sign.LoadFiles(keyFile, certFile)
	case kmsRef != "":
		return sign.LoadKMS(ctx, kmsRef, certFile)
	}
	fmt.Fprintln(stderr, "batch-video: no -key or -kms: signing with the DEVELOPMENT key (not for production)")
	return sign.Dev()
}

// progress shows how far the batch is: a bar redrawn in place on a terminal, one line per video
// otherwise.
type progress struct {
	w           io.Writer
	tty, quiet  bool
	n, finished int
	total, done int64
	start       time.Time
}

func newProgress(w io.Writer, n int, total int64, quiet bool) *progress {
	p := &progress{w: w, n: n, total: total, quiet: quiet, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	if p.tty && !quiet {
		p.draw()
	}
	return p
}

func (p *progress) update(o outcome) {
	p.finished++
	p.done += o.size
	switch {
	case p.quiet:
	case p.tty:
		if o.err != nil {
			fmt.Fprintf(p.w, "\r\033[KFAILED %s: %v\n", o.rel, o.err)
		}
		p.draw()
	case o.err != nil:
		fmt.Fprintf(p.w, "[%d/%d] FAILED %s: %v\n", p.finished, p.n, o.rel, o.err)
	default:
		fmt.Fprintf(p.w, "[%d/%d] %s: %s, %.2f s\n", p.finished, p.n, o.rel, size(o.size), o.took.Seconds())
	}
}

// draw redraws the bar: [#########-----------] 3/10 videos  45.2 MB/120.0 MB  4.1 s
func (p *progress) draw() {
	const width = 30
	filled := width
	if p.total > 0 {
		filled = int(int64(width) * p.done / p.total)
	}
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d videos  %s/%s  %.1f s", strings.Repeat("#", filled), strings.Repeat("-", width-filled),
		p.finished, p.n, size(p.done), size(p.total), time.Since(p.start).Seconds())
}

// tick redraws the bar on a terminal.
func (p *progress) tick() {
	if p.tty && !p.quiet {
		p.draw()
	}
}

func (p *progress) finish() {
	if p.tty && !p.quiet {
		fmt.Fprintln(p.w)
	}
}

// size says n bytes for people: 812 B, 2.9 kB, 45.2 MB, 1.3 GB.
func size(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
