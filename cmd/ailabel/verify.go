package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/repository"
	"github.com/ailabel/ailabel/sign"
)

// verifyItem is one path found on the command line or by walking a folder.
type verifyItem struct {
	path     string
	explicit bool  // named on the command line, not found by walking a folder
	walkErr  error // the walk failed here (the item is not a file to verify)
	symlink  bool  // a symbolic link found inside a folder: skipped, never followed
}

// verifyResult is what checking one item gave.
type verifyResult struct {
	verifyItem
	report  *label.Report
	err     error
	skipped bool   // in a folder and not media or text: left out silently
	thumb   string // a data: URI thumbnail, for --report
}

// inFlight bounds how many results wait for ordered printing per worker, so memory does not
// grow with the number of files.
const inFlight = 4

func cmdVerify(ctx context.Context, e *env, args []string) int {
	fset := newFlagSet(e, "verify", "PATH... [flags]")
	asJSON := fset.Bool("json", false, "one JSON object per file (JSON Lines)")
	asCSV := fset.Bool("csv", false, "CSV: a header, then one row per file")
	trustFile := fset.String("trust", e.getenv("AILABEL_TRUST"), "PEM file of trust anchors (env AILABEL_TRUST); default: trust no signer")
	jobs := fset.Int("j", runtime.NumCPU(), "files verified in parallel")
	noProgress := fset.Bool("no-progress", false, "no progress bar, even on a terminal")
	reportPath := fset.String("report", "", "also write a self-contained HTML report to this file")
	repoPath := fset.String("repository", "", "for pictures without a label, look the manifest up by watermark and fingerprint in this repository: a SQLite file or a postgres:// URL (env AILABEL_REPOSITORY)")
	resolverURL := fset.String("resolver", e.getenv("AILABEL_RESOLVER"), "…or through this soft-binding resolution API, e.g. http://sidecar:8080/v1 (env AILABEL_RESOLVER)")
	resolverToken := fset.String("resolver-token", e.getenv("AILABEL_RESOLVER_TOKEN"), "bearer token for --resolver (env AILABEL_RESOLVER_TOKEN)")
	checkSB := fset.Bool("check-soft-bindings", false, "compare each manifest's watermark, fingerprint and media digest with the content (decodes pictures; slower)")
	pos, err := parseInterleaved(fset, args)
	if isHelp(err) {
		return exitOK
	}
	if err != nil || len(pos) == 0 || *jobs < 1 || (*asJSON && *asCSV) {
		if *asJSON && *asCSV {
			fmt.Fprintln(e.stderr, "ailabel: --json and --csv cannot be combined")
		}
		fset.Usage()
		return exitUsage
	}
	if *repoPath == "" {
		*repoPath = e.getenv("AILABEL_REPOSITORY") // not the flag's default: --help would print a DSN's password
	}
	opt := label.VerifyOptions{CheckSoftBindings: *checkSB}
	if *trustFile != "" {
		ts, err := sign.LoadTrustFile(*trustFile)
		if err != nil {
			return errorf(e, "%v", err)
		}
		opt.Trust = ts
	}
	switch {
	case *repoPath != "" && *resolverURL != "":
		return errorf(e, "--repository and --resolver: choose one")
	case *resolverURL != "":
		if !strings.HasPrefix(*resolverURL, "http://") && !strings.HasPrefix(*resolverURL, "https://") {
			return errorf(e, "--resolver %q: an http(s) URL of a resolution API (…/v1)", *resolverURL)
		}
		opt.Resolver = &repository.Client{BaseURL: *resolverURL, Token: *resolverToken, HTTP: &http.Client{Timeout: 30 * time.Second}}
	case *repoPath != "":
		if !repository.IsPostgresDSN(*repoPath) {
			if _, err := os.Stat(*repoPath); err != nil {
				return errorf(e, "--repository: %v", err)
			}
		}
		db, err := repository.Open(ctx, *repoPath)
		if err != nil {
			return errorf(e, "--repository: %v", err)
		}
		defer db.Close()
		opt.Resolver = repository.Resolver(db)
	}

	var out resultWriter
	switch {
	case *asJSON:
		out = newJSONWriter(e.stdout)
	case *asCSV:
		out = newCSVWriter(e.stdout)
	default:
		out = &textWriter{w: e.stdout, color: colorOK(e, e.stdout)}
	}
	var html *htmlWriter
	if *reportPath != "" {
		if html, err = newHTMLWriter(*reportPath, time.Now()); err != nil {
			return errorf(e, "%v", err)
		}
	}
	stdoutTerm := isTerminal(e.stdout)
	var prog *progress
	if !*noProgress && isTerminal(e.stderr) {
		prog = newProgress(e.stderr, time.Now)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var found atomic.Int64
	items := make(chan verifyItem)
	go func() {
		defer close(items)
		walk(ctx, pos, items, &found)
	}()

	// Verify in parallel, print in order: the dispatcher hands each item to a worker and queues
	// its future result; the queue's capacity bounds the results held at any time.
	type job struct {
		it  verifyItem
		res chan verifyResult
	}
	work := make(chan job)
	queue := make(chan chan verifyResult, *jobs*inFlight)
	var wg sync.WaitGroup
	for w := 0; w < *jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.res <- verifyOne(ctx, e, j.it, opt, html != nil)
			}
		}()
	}
	go func() {
		defer close(queue)
		defer close(work)
		for it := range items {
			res := make(chan verifyResult, 1)
			if it.walkErr != nil || it.symlink {
				res <- verifyResult{verifyItem: it}
			} else {
				work <- job{it, res}
			}
			queue <- res
		}
	}()
	if prog != nil {
		prog.start(&found)
	}

	var sum summary
	for res := range queue {
		r := <-res
		if prog != nil {
			prog.add(1)
		}
		switch {
		case r.walkErr != nil:
			sum.walkErrs++
			prog.above(func() { fmt.Fprintf(e.stderr, "ailabel: %s\n", sanitize(r.walkErr.Error())) })
			continue
		case r.symlink:
			sum.symlinks++
			continue
		case r.skipped:
			sum.skipped++
			continue
		case r.err != nil && errors.Is(r.err, context.Canceled) && ctx.Err() != nil:
			continue // interrupted: not a verdict on the file
		}
		sum.add(&r)
		var err error
		if stdoutTerm {
			prog.above(func() { err = out.write(&r) })
		} else {
			err = out.write(&r)
		}
		if err == nil && html != nil {
			err = html.write(&r)
		}
		if err != nil {
			// stdout is gone (a closed pipe): stop reading results; workers finish their
			// current file and the walk stops on the cancelled context.
			cancel()
			prog.stop()
			fmt.Fprintf(e.stderr, "ailabel: writing the results: %v\n", err)
			for range queue {
			}
			wg.Wait()
			if html != nil {
				html.close()
			}
			return exitUsage
		}
	}
	wg.Wait()
	prog.stop()
	if err := out.flush(); err != nil {
		fmt.Fprintf(e.stderr, "ailabel: writing the results: %v\n", err)
		return exitUsage
	}
	if html != nil {
		if err := html.close(); err != nil {
			fmt.Fprintf(e.stderr, "ailabel: writing the report: %v\n", err)
			return exitUsage
		}
	}
	if err := ctx.Err(); err != nil {
		fmt.Fprintf(e.stderr, "ailabel: interrupted\n")
		return exitUsage
	}
	// The summary: on stdout for people; on stderr for --json and --csv, so pipelines get only
	// one record per file.
	if sum.total() > 1 || sum.symlinks > 0 || sum.skipped > 0 || (sum.total() == 0 && sum.walkErrs == 0) {
		if _, text := out.(*textWriter); text {
			fmt.Fprint(e.stdout, "\n"+sum.String())
		} else {
			fmt.Fprint(e.stderr, sum.String())
		}
	}
	if opt.Trust.Len() == 0 && out.human() && sum.valid+sum.invalid > 0 {
		fmt.Fprintln(e.stderr, "ailabel: note: no trust anchors given (--trust), so no signer is trusted; signatures and hashes were still checked")
	}
	return sum.exitCode()
}

// verifyOne checks one file, and makes its thumbnail when thumbs is set. In a folder, a file
// whose format is not sniffed is skipped, and so is one that only the plain-text fallback
// matches unless its name ends like a format ailabel reads (.txt, .md, …): a folder's source
// code, JSON or logs are not content to moderate.
func verifyOne(ctx context.Context, e *env, it verifyItem, opt label.VerifyOptions, thumbs bool) verifyResult {
	res := verifyResult{verifyItem: it}
	if it.path == "-" {
		res.report, res.err = verifyStdin(ctx, e, opt)
		return res
	}
	if err := ctx.Err(); err != nil {
		res.err = err
		return res
	}
	f, err := os.Open(it.path)
	if err != nil {
		res.err = err
		return res
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		res.err = err
		return res
	}
	if !st.Mode().IsRegular() {
		res.err = fmt.Errorf("%s is not a regular file", it.path)
		return res
	}
	if !it.explicit {
		head := make([]byte, formats.SniffLen)
		n, err := f.ReadAt(head, 0)
		if err != nil && err != io.EOF {
			res.err = fmt.Errorf("reading %s: %w", it.path, err)
			return res
		}
		ft, err := formats.Sniff(head[:n])
		if err != nil || (ft.Fallback && !knownExtension(it.path)) {
			res.skipped = true
			return res
		}
	}
	res.report, res.err = label.Verify(ctx, f, st.Size(), opt)
	if res.report != nil {
		res.report.File = it.path
		if thumbs {
			res.thumb = thumbnail(f, st.Size(), res.report.Format)
		}
	}
	return res
}

// knownExtension reports whether the file name ends with an extension of a registered format.
func knownExtension(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == "" {
		return false
	}
	for _, f := range formats.All() {
		for _, x := range f.Extensions {
			if x == ext {
				return true
			}
		}
	}
	return false
}

func verifyStdin(ctx context.Context, e *env, opt label.VerifyOptions) (*label.Report, error) {
	f, err := spool(e.stdin)
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r, err := label.Verify(ctx, f, st.Size(), opt)
	if r != nil {
		r.File = "-"
	}
	return r, err
}

// walk sends every path to check to items: files named on the command line as they are, and the
// regular files inside folders, recursively. Symbolic links inside folders are never followed
// (filepath.WalkDir does not), so a walk cannot leave the tree or loop; they are sent as skipped.
// A folder named through a symbolic link on the command line is walked.
func walk(ctx context.Context, paths []string, items chan<- verifyItem, found *atomic.Int64) {
	send := func(it verifyItem) bool {
		found.Add(1)
		select {
		case items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, p := range paths {
		if p == "-" {
			if !send(verifyItem{path: p, explicit: true}) {
				return
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			if !send(verifyItem{path: p, walkErr: err}) {
				return
			}
			continue
		}
		if !st.IsDir() {
			if !send(verifyItem{path: p, explicit: true}) {
				return
			}
			continue
		}
		root := p
		if lst, err := os.Lstat(p); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
			// The user named the link: walk the folder it points to (a trailing separator makes
			// the walk's first Lstat resolve it), keeping the user's spelling in the paths.
			root = p + string(filepath.Separator)
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return filepath.SkipAll
			}
			if err != nil {
				if !send(verifyItem{path: path, walkErr: err}) {
					return filepath.SkipAll
				}
				return nil
			}
			var it verifyItem
			switch {
			case d.Type().IsRegular():
				it = verifyItem{path: path}
			case d.Type()&fs.ModeSymlink != 0:
				it = verifyItem{path: path, symlink: true}
			default:
				return nil // folders, devices, sockets, pipes
			}
			if !send(it) {
				return filepath.SkipAll
			}
			return nil
		})
		if err != nil && !errors.Is(err, filepath.SkipAll) {
			if !send(verifyItem{path: p, walkErr: fmt.Errorf("walking %s: %w", p, err)}) {
				return
			}
		}
	}
}
