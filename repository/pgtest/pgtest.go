// Package pgtest runs throw-away PostgreSQL clusters for tests: initdb into a temporary
// directory, a server that listens only on 127.0.0.1 at a free port (and on a Unix socket inside
// the temporary directory), password authentication, fsync off. The cluster is stopped when the
// test that started it ends; nothing is shared with another test or with a system cluster.
//
// The server binaries are looked up under /usr/lib/postgresql/<version>/bin (Debian's layout,
// newest version first), then on PATH. Without them Start skips the test with a message saying
// how to install them, or fails it when the environment has CI=true (the project's testtool
// convention). PostgreSQL refuses to run as root; when the test runs as root (as CI does), the
// server runs as the unprivileged user "postgres" (or "nobody" when there is no such user) and
// the temporary directory is handed to that user.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned (wrapped) by New when the PostgreSQL server binaries are not
// found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian package postgresql or run .ci/run")

// commandTimeout bounds one initdb or pg_ctl run.
const commandTimeout = 2 * time.Minute

// Superuser is the name of the cluster's superuser role, the user of DSN.
const Superuser = "postgres"

// Cluster is one throw-away PostgreSQL cluster. Its methods are safe for concurrent use.
type Cluster struct {
	bin      string // directory holding initdb, pg_ctl, postgres
	dir      string // the cluster's temporary directory
	data     string // data directory, dir/data
	password string // the superuser's password (random)
	owner    *owner // user the server runs as, nil when not root

	mu       sync.Mutex
	port     int
	running  bool
	dbs      int       // databases created by NewDatabase
	watchdog *exec.Cmd // stops the server should the test process die without cleaning up
}

// Start starts a throw-away cluster that is stopped when t ends. Without PostgreSQL installed
// it skips t (fails it when CI=true); any other failure fails t.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := New(t)
	if errors.Is(err, ErrNotInstalled) {
		testtool.SkipOrFail(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// New is Start that returns its error instead of failing t: it uses only t.TempDir and
// t.Cleanup, which may be called from any goroutine, so a cluster can be started lazily from a
// subtest and still live as long as t. The error wraps ErrNotInstalled when the binaries are
// missing.
func New(t testing.TB) (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("pgtest: password: %w", err)
	}
	c := &Cluster{bin: bin, dir: t.TempDir(), password: hex.EncodeToString(pw)}
	c.data = filepath.Join(c.dir, "data")
	if os.Geteuid() == 0 {
		o, err := unprivileged()
		if err != nil {
			return nil, err
		}
		c.owner = o
		if err := c.handOver(); err != nil {
			return nil, err
		}
	}
	t.Cleanup(func() {
		if err := c.cleanup(); err != nil {
			t.Errorf("%v (server log: %s)", err, c.logFile())
		}
	})
	if err := c.initdb(); err != nil {
		return nil, err
	}
	// A free port found now may be taken by someone else before the server binds it; try a
	// few.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if err := c.configure(port); err != nil {
			return nil, err
		}
		err = c.Start()
		if err == nil {
			return c, c.startWatchdog()
		}
		if attempt == 3 || !strings.Contains(c.logTail(), "could not bind") {
			return nil, err
		}
	}
}

// findBin returns the directory holding initdb and pg_ctl.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w (looked in /usr/lib/postgresql/*/bin and on PATH)", ErrNotInstalled)
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// unprivileged returns the user a root process runs the server as.
func unprivileged() (*owner, error) {
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			errs = append(errs, fmt.Errorf("user %s has uid %q gid %q", name, u.Uid, u.Gid))
			continue
		}
		return &owner{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("pgtest: running as root and no unprivileged user to run PostgreSQL as: %w", errors.Join(errs...))
}

// handOver gives the cluster directory to the unprivileged user and makes its parents
// traversable (t.TempDir creates them with mode 0700).
func (c *Cluster) handOver() error {
	if err := os.Chown(c.dir, int(c.owner.uid), int(c.owner.gid)); err != nil {
		return fmt.Errorf("pgtest: hand %s to user %s: %w", c.dir, c.owner.name, err)
	}
	// The per-test parent folder is the test's own: open it for traversal only.
	parent := filepath.Dir(c.dir)
	if fi, err := os.Stat(parent); err == nil && fi.Mode().Perm()&0o001 == 0 {
		if err := os.Chmod(parent, fi.Mode().Perm()|0o011); err != nil {
			return fmt.Errorf("pgtest: make %s traversable: %w", parent, err)
		}
	}
	for d := filepath.Dir(parent); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgtest: %s (mode %v) is not traversable by user %s, who runs PostgreSQL; set TMPDIR to a folder under a traversable path", d, fi.Mode().Perm(), c.owner.name)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs one of the server binaries as the cluster's user.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	env := []string{"LC_ALL=C", "LANG=C", "TZ=UTC"}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	}
	cmd.Env = env
	if err := runAs(cmd, c.owner); err != nil {
		return nil, err
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("pgtest: %s timed out after %v: %w", name, commandTimeout, ctx.Err())
	}
	if err != nil {
		return out, fmt.Errorf("pgtest: %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

func (c *Cluster) initdb() error {
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if c.owner != nil {
		if err := os.Chown(pwfile, int(c.owner.uid), int(c.owner.gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	defer os.Remove(pwfile)
	_, err := c.run("initdb", "-D", c.data, "-U", Superuser, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	return err
}

// configure writes the server settings: loopback only, this port, a socket folder inside the
// temporary directory when its path fits a socket address, durability off.
func (c *Cluster) configure(port int) error {
	sock := filepath.Join(c.dir, "sock")
	if err := os.MkdirAll(sock, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if c.owner != nil {
		if err := os.Chown(sock, int(c.owner.uid), int(c.owner.gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	// sun_path holds 108 bytes; the socket is <sock>/.s.PGSQL.<port>.
	if len(sock)+len("/.s.PGSQL.65535") >= 100 {
		sock = "" // TCP only
	}
	conf := fmt.Sprintf(`# written by pgtest
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
logging_collector = off
log_min_messages = warning
`, port, sock)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	// Later settings override earlier ones, so appending again on a port retry is fine.
	if _, err := f.WriteString("\n" + conf); err != nil {
		f.Close()
		return fmt.Errorf("pgtest: write postgresql.conf: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pgtest: write postgresql.conf: %w", err)
	}
	c.mu.Lock()
	c.port = port
	c.mu.Unlock()
	return nil
}

func (c *Cluster) logFile() string { return filepath.Join(c.dir, "server.log") }

// logTail returns the end of the server log.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Start starts the server (again) on the same data directory and port; it returns when the
// server accepts connections. Starting a running cluster does nothing.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	if _, err := c.run("pg_ctl", "start", "-D", c.data, "-l", c.logFile(), "-w", "-t", "60", "-s"); err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, c.logTail())
	}
	c.running = true
	return nil
}

// Stop shuts the server down (pg_ctl stop -m fast: clients are disconnected, open transactions
// rolled back) and returns when it has exited. Stopping a stopped cluster does nothing.
func (c *Cluster) Stop() error { return c.stop("fast") }

func (c *Cluster) stop(mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if _, err := c.run("pg_ctl", "stop", "-D", c.data, "-m", mode, "-w", "-t", "60", "-s"); err != nil {
		return err
	}
	c.running = false
	return nil
}

// cleanup stops the server and its watchdog at the end of the test; the data is thrown away,
// so no clean shutdown is needed.
func (c *Cluster) cleanup() error {
	err := c.stop("immediate")
	if err != nil {
		err = errors.Join(err, c.stop("fast"))
	}
	c.mu.Lock()
	w := c.watchdog
	c.watchdog = nil
	c.mu.Unlock()
	if w != nil {
		_ = w.Process.Kill()
		_ = w.Wait() // killed: the error says so
	}
	if err != nil {
		return fmt.Errorf("pgtest: stop cluster %s: %w", c.data, err)
	}
	return nil
}

// watchdogScript waits for the test process ($1) to end, then stops the server. It guards
// against a test binary killed before its cleanup ran (a timeout, a signal), which would leave
// the server running for ever.
const watchdogScript = `while [ -d "/proc/$1" ]; do sleep 1; done; exec "$2" stop -D "$3" -m immediate -s`

// startWatchdog starts watchdogScript in its own session (a signal to the test's process group
// does not reach it), as the server's user. Without /proc (not Linux) there is no watchdog.
func (c *Cluster) startWatchdog() error {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", os.Getpid())); err != nil {
		return nil
	}
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "pgtest-watchdog",
		strconv.Itoa(os.Getpid()), filepath.Join(c.bin, "pg_ctl"), c.data)
	cmd.Dir = c.dir
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	if err := detach(cmd, c.owner); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start watchdog: %w", err)
	}
	c.mu.Lock()
	c.watchdog = cmd
	c.mu.Unlock()
	return nil
}

// Port returns the TCP port the server listens on (127.0.0.1).
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// Password returns the superuser's password, which DSN contains.
func (c *Cluster) Password() string { return c.password }

// DSN returns a postgres:// connection string for the superuser and the database "postgres".
func (c *Cluster) DSN() string { return c.DatabaseDSN("postgres") }

// DatabaseDSN returns a postgres:// connection string for the superuser and database name.
func (c *Cluster) DatabaseDSN(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(Superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// NewDatabase creates an empty database in the cluster and returns its connection string, so
// that tests sharing one cluster do not see each other's tables. Failure fails t.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.dbs++
	name := fmt.Sprintf("test%d", c.dbs)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return c.DatabaseDSN(name)
}
