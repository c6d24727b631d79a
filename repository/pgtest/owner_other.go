//go:build !unix

package pgtest

import (
	"errors"
	"os/exec"
)

// owner is the unprivileged user the server runs as when the test runs as root.
type owner struct {
	name     string
	uid, gid uint32
}

// runAs is only supported for o == nil here: only Unix has root to step down from.
func runAs(_ *exec.Cmd, o *owner) error {
	if o != nil {
		return errors.New("pgtest: running the server as another user is only supported on Unix")
	}
	return nil
}

// detach does nothing here.
func detach(cmd *exec.Cmd, o *owner) error { return runAs(cmd, o) }
