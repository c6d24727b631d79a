package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
)

type verifyItem struct {
	path     string
	explicit bool // named on the command line, not found by walking a folder
	report   *label.Report
	err      error
}

func cmdVerify(ctx context.Context, e *env, args []string) int {
	fset := newFlagSet(e, "verify", "PATH... [flags]")
	asJSON := fset.Bool("json", false, "one JSON object per file (JSON Lines)")
	trustFile := fset.String("trust", e.getenv("AILABEL_TRUST"), "PEM file of trust anchors (env AILABEL_TRUST); default: trust no signer")
	jobs := fset.Int("j", runtime.NumCPU(), "files verified in parallel")
	pos, err := parseInterleaved(fset, args)
	if isHelp(err) {
		return exitOK
	}
	if err != nil || len(pos) == 0 || *jobs < 1 {
		fset.Usage()
		return exitUsage
	}
	opt := label.VerifyOptions{}
	if *trustFile != "" {
		ts, err := sign.LoadTrustFile(*trustFile)
		if err != nil {
			return errorf(e, "%v", err)
		}
		opt.Trust = ts
	}

	items, walkErrs := collect(pos)
	for _, we := range walkErrs {
		fmt.Fprintf(e.stderr, "ailabel: %v\n", we)
	}
	// Verify in parallel, print in order.
	var wg sync.WaitGroup
	next := make(chan int)
	done := make([]chan struct{}, len(items))
	for i := range done {
		done[i] = make(chan struct{})
	}
	for w := 0; w < *jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := &items[i]
				if it.path == "-" {
					it.report, it.err = verifyStdin(ctx, e, opt)
				} else {
					it.report, it.err = label.VerifyFile(ctx, it.path, opt)
				}
				close(done[i])
			}
		}()
	}
	go func() {
		for i := range items {
			next <- i
		}
		close(next)
	}()
	var nValid, nInvalid, nNone, nErr, nDamaged int
	enc := json.NewEncoder(e.stdout)
	for i := range items {
		<-done[i]
		it := &items[i]
		if it.err != nil && !it.explicit && errors.Is(it.err, formats.ErrUnsupported) {
			continue // a file in a folder that is not media or text
		}
		if it.err != nil {
			nErr++
			if errors.Is(it.err, formats.ErrMalformed) || errors.Is(it.err, formats.ErrTooLarge) {
				nDamaged++ // damaged content: c2pa-check calls it invalid (exit 1) too
			}
			msg := it.err.Error()
			if errors.Is(it.err, formats.ErrUnsupported) {
				msg = "unsupported format: not an image, video or text ailabel reads"
			}
			if *asJSON {
				enc.Encode(map[string]any{"file": it.path, "verdict": "error", "error": msg})
			} else {
				fmt.Fprintf(e.stdout, "%s: UNREADABLE %s\n", it.path, msg)
			}
			continue
		}
		r := it.report
		switch r.Verdict {
		case label.Valid:
			nValid++
		case label.Invalid:
			nInvalid++
		default:
			nNone++
		}
		if *asJSON {
			enc.Encode(r)
		} else {
			fmt.Fprintf(e.stdout, "%s: %s\n", it.path, humanLine(r))
		}
	}
	wg.Wait()
	total := nValid + nInvalid + nNone + nErr
	if !*asJSON && total > 1 {
		fmt.Fprintf(e.stdout, "\n%d files: %d labeled and valid, %d labeled but invalid, %d not labeled, %d unreadable\n",
			total, nValid, nInvalid, nNone, nErr)
	}
	if opt.Trust.Len() == 0 && !*asJSON && nValid+nInvalid > 0 {
		fmt.Fprintln(e.stderr, "ailabel: note: no trust anchors given (--trust), so no signer is trusted; signatures and hashes were still checked")
	}
	switch {
	case nInvalid > 0 || nDamaged > 0:
		return exitInvalid
	case nErr > 0 || len(walkErrs) > 0 || total == 0:
		return exitUsage
	case nNone > 0:
		return exitNotLabeled
	}
	return exitOK
}

func humanLine(r *label.Report) string {
	switch r.Verdict {
	case label.Valid:
		return "VALID " + r.Summary
	case label.Invalid:
		return "INVALID " + r.Summary
	}
	return "NOT LABELED " + strings.TrimPrefix(r.Summary, "not labeled: ")
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

// collect expands folders (recursively; symbolic links are not followed) into files.
func collect(paths []string) ([]verifyItem, []error) {
	var items []verifyItem
	var errs []error
	for _, p := range paths {
		if p == "-" {
			items = append(items, verifyItem{path: p, explicit: true})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.IsDir() {
			items = append(items, verifyItem{path: p, explicit: true})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			if d.Type().IsRegular() {
				items = append(items, verifyItem{path: path})
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walking %s: %w", p, err))
		}
	}
	return items, errs
}
