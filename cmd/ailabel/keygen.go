package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ailabel/ailabel/sign"
)

func cmdKeygen(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "keygen", "-o DIR [flags]")
	out := fs.String("o", "", "folder to write ca.key, ca.pem, signer.key, signer.pem, chain.pem (required)")
	org := fs.String("org", "ailabel test", "organization named in the certificates")
	kind := fs.String("type", "p256", "signing key type: p256 (ES256), p384 (ES384), ed25519, rsa3072 (PS256)")
	days := fs.Int("days", 365, "validity of the signing certificate in days")
	pos, err := parseInterleaved(fs, args)
	if isHelp(err) {
		return exitOK
	}
	if err != nil || len(pos) != 0 || *out == "" || *days <= 0 {
		fs.Usage()
		return exitUsage
	}
	cr, err := sign.Generate(*org, sign.KeyType(*kind), time.Duration(*days)*24*time.Hour)
	if err != nil {
		return errorf(e, "%v", err)
	}
	if err := cr.WriteDir(*out); err != nil {
		return errorf(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "wrote a TEST CA and signing certificate to %s\n", *out)
	fmt.Fprintf(e.stdout, "  sign:   ailabel label IN -o OUT --key %s --cert %s\n", filepath.Join(*out, "signer.key"), filepath.Join(*out, "chain.pem"))
	fmt.Fprintf(e.stdout, "  verify: ailabel verify OUT --trust %s\n", filepath.Join(*out, "ca.pem"))
	fmt.Fprintln(e.stdout, "These are for testing: production keys need a certificate from a CA on the C2PA trust list.")
	return exitOK
}

func cmdVersion(ctx context.Context, e *env, args []string) int {
	fmt.Fprintf(e.stdout, "ailabel %s (C2PA %s)\n", labelVersion(), specVersion())
	return exitOK
}
