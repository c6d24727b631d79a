//go:build !unix

package testtool

// withFileLock runs f. Without flock, concurrent installs from several test processes are not
// serialised on this platform.
func withFileLock(path string, f func() error) error { return f() }
