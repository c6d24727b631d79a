//go:build unix

package pgtest

import (
	"os/exec"
	"syscall"
)

// owner is the unprivileged user the server runs as when the test runs as root.
type owner struct {
	name     string
	uid, gid uint32
}

// runAs makes cmd run as o (nil: as this process), without supplementary groups.
func runAs(cmd *exec.Cmd, o *owner) error {
	if o == nil {
		return nil
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: o.uid, Gid: o.gid, Groups: []uint32{}}
	return nil
}

// detach makes cmd run as o in a session of its own.
func detach(cmd *exec.Cmd, o *owner) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return runAs(cmd, o)
}
