// Command ailabel labels AI-generated content with signed C2PA manifests and verifies labels.
//
//	ailabel label IN -o OUT [--key K --cert C | --kms URI --cert C] [--model NAME] [--source-type TYPE]
//	ailabel verify PATH... [--json|--csv] [--report FILE] [--trust FILE] [-j N] [--no-progress]
//	ailabel inspect FILE
//	ailabel keygen -o DIR
//
// verify exits 0 when every file is labeled and valid, 1 when any label is invalid, 3 when some
// file carries no label and none is invalid, 2 on usage or I/O errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes of the CLI contract.
const (
	exitOK         = 0
	exitInvalid    = 1
	exitUsage      = 2
	exitNotLabeled = 3
)

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, env *env, args []string) int
}

// env is the process's outside world, so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands []command

func init() {
	commands = []command{
		{"label", "IN -o OUT [flags]", "embed a signed AI-generated label (C2PA + XMP + EXIF)", cmdLabel},
		{"verify", "PATH... [flags]", "check labels: exit 0 valid, 1 invalid, 3 not labeled, 2 error", cmdVerify},
		{"inspect", "FILE", "print the C2PA manifest store as JSON", cmdInspect},
		{"disclosure", "[flags]", "print the AI-Disclosure header and the notice that a service uses AI", cmdDisclosure},
		{"policies", "[NAME|FILE...]", "print each policy: requirement, where it comes from, what ailabel does", cmdPolicies},
		{"serve", "[flags]", "run the HTTP sidecar: label, verify, proxy (see sidecar/README.md)", cmdServe},
		{"keygen", "-o DIR", "write a test CA and a C2PA signing certificate", cmdKeygen},
		{"version", "", "print the version", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "ailabel: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ailabel labels AI-generated content with signed C2PA manifests and checks labels.")
	fmt.Fprintln(w, "\nUsage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  ailabel %-8s %-22s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ailabel COMMAND -h' for a command's flags.")
}

// parseInterleaved parses flags that may come before or after positional arguments
// ("ailabel label in.jpg -o out.jpg"). "--" ends the flags; "-" alone is a positional (stdin).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		name := strings.TrimLeft(a, "-")
		if i := strings.IndexByte(name, '='); i >= 0 {
			name = name[:i]
		}
		n := 1
		if f := fs.Lookup(name); f != nil && !strings.Contains(a, "=") {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				n = 2
			}
		}
		if n > len(args) {
			n = len(args)
		}
		if err := fs.Parse(args[:n]); err != nil {
			return nil, err
		}
		if rest := fs.Args(); len(rest) > 0 {
			pos = append(pos, rest...)
		}
		args = args[n:]
	}
	return pos, nil
}

func newFlagSet(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: ailabel %s %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

func errorf(e *env, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "ailabel: "+format+"\n", a...)
	return exitUsage
}

func isHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }
