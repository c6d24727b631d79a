//go:build unix

package testtool

import (
	"fmt"
	"os"
	"syscall"
)

// withFileLock runs f while holding an exclusive flock on path (created if needed), so that
// several test processes do not run the same install at once.
func withFileLock(path string, f func() error) error {
	fd, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("lock file: %w", err)
	}
	defer fd.Close()
	if err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	defer syscall.Flock(int(fd.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	return f()
}
