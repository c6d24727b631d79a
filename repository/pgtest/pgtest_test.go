package pgtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"

	"github.com/jackc/pgx/v5"
)

func query(ctx context.Context, dsn string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, "SELECT current_user || ' ' || current_database() || ' ' || current_setting('listen_addresses') || ' ' || current_setting('fsync')").Scan(&s)
	return s, err
}

func TestCluster(t *testing.T) {
	ctx := context.Background()
	c := Start(t)
	got, err := query(ctx, c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres postgres 127.0.0.1 off"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A wrong password is refused: the cluster does not trust loopback connections.
	bad := strings.Replace(c.DSN(), c.Password(), "wrong", 1)
	if _, err := query(ctx, bad); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("wrong password: %v", err)
	}

	dsn := c.NewDatabase(t)
	if got, err := query(ctx, dsn); err != nil || !strings.HasPrefix(got, "postgres test1 ") {
		t.Fatalf("new database: %q, %v", got, err)
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := query(ctx, dsn); err == nil {
		t.Fatal("connected to a stopped cluster")
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := query(ctx, dsn); err != nil || !strings.HasPrefix(got, "postgres test1 ") {
		t.Fatalf("after restart: %q, %v", got, err)
	}
}

// Two clusters started by one test are independent (own port, own data).
func TestTwoClusters(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Port() == b.Port() || a.dir == b.dir {
		t.Fatalf("clusters share port %d/%d or dir %s/%s", a.Port(), b.Port(), a.dir, b.dir)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := query(context.Background(), b.DSN()); err != nil {
		t.Fatalf("b after a stopped: %v", err)
	}
}

// A test process killed before its cleanup ran (a timeout, a signal) does not leave its
// server running: the watchdog stops it.
func TestWatchdog(t *testing.T) {
	if out := os.Getenv("PGTEST_WATCHDOG_CHILD"); out != "" {
		c := Start(t)
		if err := os.WriteFile(out+".tmp", []byte(c.DSN()+"\n"+c.dir), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(out+".tmp", out); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // killed by the parent long before
		t.Fatal("not killed")
	}
	if _, err := findBin(); errors.Is(err, ErrNotInstalled) {
		testtool.SkipOrFail(t, "%v", err)
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc: no watchdog on this system")
	}
	out := filepath.Join(t.TempDir(), "child")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdog$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PGTEST_WATCHDOG_CHILD="+out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var info []byte
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if info, err = os.ReadFile(out); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("child did not start its cluster")
		}
	}
	dsn, dir, _ := strings.Cut(string(info), "\n")
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dir)) }) // the child's t.TempDir, left behind
	if _, err := query(t.Context(), dsn); err != nil {
		t.Fatalf("child's cluster: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The server is gone when its pid file is (pg_ctl stop removes it last).
	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	start := time.Now()
	for {
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			t.Logf("server stopped %v after its test process was killed", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("server still running 20 s after its test process was killed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := query(t.Context(), dsn); err == nil {
		t.Fatal("server answers after its pid file is gone")
	}
}
