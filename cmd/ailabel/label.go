package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/repository"
	"github.com/ailabel/ailabel/sign"
)

// signerFlags are the flags and environment variables that choose the signing key.
type signerFlags struct {
	key, cert, kms string
	tsa            string // RFC 3161 time-stamp authority URL; "" for none
}

// tsaUsage is the help of --tsa.
const tsaUsage = "RFC 3161 time-stamp authority URL: every signature is time-stamped, so it stays valid after the certificate expires"

func (s *signerFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&s.key, "key", e.getenv("AILABEL_KEY"), "PEM private key file (env AILABEL_KEY)")
	fs.StringVar(&s.cert, "cert", e.getenv("AILABEL_CERT"), "PEM certificate chain, signing certificate first (env AILABEL_CERT)")
	fs.StringVar(&s.kms, "kms", e.getenv("AILABEL_KMS"), "KMS key reference, e.g. hashivault://name, instead of --key (env AILABEL_KMS)")
	fs.StringVar(&s.tsa, "tsa", e.getenv("AILABEL_TSA"), tsaUsage+" (env AILABEL_TSA)")
}

// options are the sign options the flags ask for: a time-stamp authority.
func (s *signerFlags) options() ([]sign.Option, error) {
	if s.tsa == "" {
		return nil, nil
	}
	c, err := sign.NewTSAClient(s.tsa, nil)
	if err != nil {
		return nil, fmt.Errorf("--tsa: %w", err)
	}
	return []sign.Option{sign.WithTimeStamper(c)}, nil
}

// load returns the configured signer, or the development signer when none is configured.
func (s *signerFlags) load(ctx context.Context, e *env) (*sign.Signer, error) {
	opts, err := s.options()
	if err != nil {
		return nil, err
	}
	switch {
	case s.kms != "" && s.key != "":
		return nil, fmt.Errorf("--key and --kms both given; choose one")
	case s.kms != "":
		if s.cert == "" {
			return nil, fmt.Errorf("--kms needs --cert, the certificate chain issued for that key")
		}
		return sign.LoadKMS(ctx, s.kms, s.cert, opts...)
	case s.key != "" || s.cert != "":
		if s.key == "" || s.cert == "" {
			return nil, fmt.Errorf("--key and --cert go together")
		}
		return sign.LoadFiles(s.key, s.cert, opts...)
	}
	sg, err := sign.Dev(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the development key: %w", err)
	}
	dir, _ := sign.DevDir()
	fmt.Fprintf(e.stderr, "ailabel: WARNING: no key configured; signing with the DEVELOPMENT key in %s.\n"+
		"ailabel: Outputs say they carry a development signature. Use --key/--cert (or --kms) in production.\n", dir)
	return sg, nil
}

func cmdLabel(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "label", "IN -o OUT [flags]   (IN or OUT may be - for stdin/stdout)")
	out := fs.String("o", "", "output file, or - for standard output (required)")
	inPlace := fs.Bool("in-place", false, "allow OUT to be IN (the input is otherwise never modified)")
	noSync := fs.Bool("no-sync", false, "do not fsync OUT before renaming it into place (faster; after a power failure OUT may be lost)")
	model := fs.String("model", e.getenv("AILABEL_MODEL"), "name of the generating AI model (env AILABEL_MODEL)")
	modelVersion := fs.String("model-version", "", "version of the generating model")
	source := fs.String("source-type", "trainedAlgorithmicMedia", "IPTC digital source type: a short name or URI")
	title := fs.String("title", "", "title written into the manifest (default: the input file name)")
	quiet := fs.Bool("q", false, "print nothing on success")
	repoDSN := fs.String("repository", "", "keep the signed manifest, with its watermark and fingerprint (or a video's media digest), in this manifest repository (a SQLite file or a postgres:// URL), so that verify can recover it from a stripped copy (env AILABEL_REPOSITORY)")
	var sf signerFlags
	sf.register(fs, e)
	var pf policyFlags
	pf.register(fs, e)
	pos, err := parseInterleaved(fs, args)
	if isHelp(err) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 || *out == "" {
		fs.Usage()
		return exitUsage
	}
	in := pos[0]
	signer, err := sf.load(ctx, e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	l, err := label.New(signer, label.Options{})
	if err != nil {
		return errorf(e, "%v", err)
	}
	o := label.Options{Model: *model, ModelVersion: *modelVersion, SourceType: *source, Title: *title}
	if err := pf.apply(&o); err != nil {
		return errorf(e, "%v", err)
	}
	if *repoDSN == "" {
		*repoDSN = e.getenv("AILABEL_REPOSITORY") // not the flag's default: --help would print a DSN's password
	}
	var repo repository.StoreCloser
	if *repoDSN != "" {
		o.Fingerprint = true // a fingerprint or media digest finds the manifest of a stripped copy
		if repo, err = repository.Open(ctx, *repoDSN); err != nil {
			return errorf(e, "--repository: %v", err)
		}
		defer repo.Close()
	}
	start := time.Now()
	var res *label.Result
	switch {
	case in == "-" || *out == "-":
		res, err = labelStreams(ctx, l, e, in, *out, o)
	default:
		o.InPlace, o.NoSync = *inPlace, *noSync
		res, err = l.LabelFile(ctx, in, *out, o)
	}
	if err != nil {
		return errorf(e, "%v", err)
	}
	if repo != nil {
		if err := repo.Put(ctx, repository.RecordOf(res)); err != nil {
			// A label whose manifest the repository lost could not be recovered from a stripped
			// copy: the output is not left behind (unless it replaced the input).
			if *out != "-" && !*inPlace {
				os.Remove(*out)
			}
			return errorf(e, "--repository: keeping manifest %s: %v", res.Manifest, err)
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "ailabel: warning: %s\n", w)
	}
	if !*quiet {
		dest := *out
		if dest == "-" {
			dest = "standard output"
		}
		dev := ""
		if res.Development {
			dev = " [DEVELOPMENT signature]"
		}
		fmt.Fprintf(e.stderr, "labeled %s (%s) -> %s: manifest %s, %d bytes, %s%s\n",
			in, res.Format, dest, res.Manifest, res.Size, time.Since(start).Round(time.Millisecond), dev)
		for _, v := range res.Visible {
			fmt.Fprintf(e.stderr, "  warning shown: %s\n", v)
		}
		if res.Watermark != "" {
			fmt.Fprintf(e.stderr, "  invisible watermark: %s (%s)\n", res.Watermark, res.Marked)
		}
		if res.Fingerprint != "" {
			fmt.Fprintf(e.stderr, "  fingerprint: %s\n", res.Fingerprint)
		}
	}
	return exitOK
}

// labelStreams handles - for input or output. Standard input is spooled to a temporary file,
// because labeling reads the input twice; memory stays flat whatever the size.
func labelStreams(ctx context.Context, l *label.Labeler, e *env, in, out string, o label.Options) (*label.Result, error) {
	var src *os.File
	var err error
	if in == "-" {
		src, err = spool(e.stdin)
		if err != nil {
			return nil, err
		}
		defer os.Remove(src.Name())
	} else {
		if src, err = os.Open(in); err != nil {
			return nil, err
		}
		if o.Title == "" {
			o.Title = baseName(in)
		}
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, err
	}
	if out == "-" {
		return l.Label(ctx, src, st.Size(), e.stdout, o)
	}
	var res *label.Result
	err = label.WriteFileAtomic(out, 0o644, func(w io.Writer) error {
		var err error
		res, err = l.Label(ctx, src, st.Size(), w, o)
		return err
	})
	return res, err
}

func spool(r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "ailabel-stdin-*")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	return f, nil
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' || p[i] == os.PathSeparator {
			return p[i+1:]
		}
	}
	return p
}
