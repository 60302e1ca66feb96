package pgdev_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

var quiet = slog.New(slog.DiscardHandler)

// reachableDir is a fresh temp dir the postgres user can reach when the
// tests run as root (os.MkdirTemp makes it 0700).
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgdev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// start is pgdev.Start stopping the cluster when the test ends.
func start(t *testing.T, o pgdev.Options) *pgdev.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := pgdev.Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %s", time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { c.Stop(context.Background()) })
	return c
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, url, sql string) string {
	t.Helper()
	var s string
	if err := connect(t, url).QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func answers(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx) == nil
}

// deadPID is the PID of a process that has exited.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestStart_Lifecycle(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(reachableDir(t), "project", ".data", "postgres")
	o := pgdev.Options{DataDir: dataDir, Database: "app", Durable: true, Logger: quiet}
	first := start(t, o)

	t.Run("serves the database", func(t *testing.T) {
		if got := queryString(t, first.URL(), "SELECT current_database() || ':' || (SELECT 1)::text"); got != "app:1" {
			t.Fatalf("got %q, want app:1", got)
		}
		if first.DataDir() != dataDir {
			t.Fatalf("DataDir() = %q, want %q", first.DataDir(), dataDir)
		}
		fi, err := os.Stat(dataDir)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("data dir: %v, mode %v, want 0700", err, fi.Mode().Perm())
		}
	})

	t.Run("reuses a running server", func(t *testing.T) {
		second := start(t, o)
		if second.URL() != first.URL() {
			t.Fatalf("second URL %q, want the first's %q", second.URL(), first.URL())
		}
		if err := second.Stop(context.Background()); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
		if !answers(first.URL()) {
			t.Fatal("the reusing cluster's Stop stopped the server")
		}
	})

	t.Run("restarts on existing data", func(t *testing.T) {
		if _, err := connect(t, first.URL()).Exec(context.Background(),
			"CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"); err != nil {
			t.Fatal(err)
		}
		for range 2 { // Stop is safe to call twice
			if err := first.Stop(context.Background()); err != nil {
				t.Fatalf("Stop: %v", err)
			}
		}
		if answers(first.URL()) {
			t.Fatal("server still answers after Stop")
		}
		stale := fmt.Sprintf("%d\n%s\n", deadPID(t), dataDir) // postgres removes a stale pid file itself
		if err := os.WriteFile(filepath.Join(dataDir, "postmaster.pid"), []byte(stale), 0o644); err != nil {
			t.Fatal(err)
		}
		again := start(t, o)
		if got := queryString(t, again.URL(), "SELECT v FROM kept"); got != "still here" {
			t.Fatalf("got %q, want the row written before the restart", got)
		}
	})
}

func TestStart_ConcurrentOnNewDir(t *testing.T) {
	t.Parallel()
	root := reachableDir(t)
	o := pgdev.Options{
		DataDir:  filepath.Join(root, "postgres"),
		Template: filepath.Join(root, "template"),
		Logger:   quiet,
	}
	clusters := make([]*pgdev.Cluster, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Go(func() { clusters[i], errs[i] = pgdev.Start(context.Background(), o) })
	}
	wg.Wait()
	for i, c := range clusters {
		if errs[i] != nil {
			t.Fatalf("Start %d: %v", i, errs[i])
		}
		t.Cleanup(func() { c.Stop(context.Background()) })
		if got := queryString(t, c.URL(), "SELECT current_database()"); got != "vbwd" {
			t.Fatalf("Start %d: database %q, want vbwd", i, got)
		}
	}
	if clusters[0].URL() != clusters[1].URL() {
		t.Fatalf("URLs differ: %q and %q, want one shared server", clusters[0].URL(), clusters[1].URL())
	}
	if _, err := os.Stat(filepath.Join(o.Template, "PG_VERSION")); err != nil {
		t.Fatalf("template not initialized: %v", err)
	}
	for _, c := range clusters {
		if err := c.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if answers(clusters[0].URL()) {
		t.Fatal("server still answers after both Stops")
	}
}

func TestStart_NoBinaries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, empty string) pgdev.Options
	}{
		{"BinDir", func(t *testing.T, empty string) pgdev.Options {
			return pgdev.Options{BinDir: empty}
		}},
		{"VBWD_PG_BIN", func(t *testing.T, empty string) pgdev.Options {
			t.Setenv("VBWD_PG_BIN", empty)
			return pgdev.Options{}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			empty := t.TempDir()
			o := tc.setup(t, empty)
			o.DataDir, o.Logger = filepath.Join(empty, "postgres"), quiet
			_, err := pgdev.Start(context.Background(), o)
			if !errors.Is(err, pgdev.ErrNoBinaries) {
				t.Fatalf("err = %v, want ErrNoBinaries", err)
			}
			for _, want := range []string{"apt-get install postgresql", "VBWD_PG_BIN", "DATABASE_URL", empty} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestStart_FallbackWhenUnreachable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the fallback applies only when running as root: a non-root user runs PostgreSQL itself and reaches its own dirs")
	}
	t.Parallel()
	private, err := os.MkdirTemp("", "pgdev-private-") // 0700, owned by root
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(private) })
	requested := filepath.Join(private, ".data", "postgres")

	var logs syncBuffer
	c := start(t, pgdev.Options{
		DataDir:  requested,
		Template: sharedTemplate(t),
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	})
	t.Cleanup(func() {
		c.Stop(context.Background()) // before start's own cleanup, which would run after this one
		os.RemoveAll(filepath.Dir(c.DataDir()))
	})

	wantPrefix := filepath.Join(os.TempDir(), "vbwd-")
	if got := c.DataDir(); got == requested || !strings.HasPrefix(got, wantPrefix) || filepath.Base(got) != "postgres" {
		t.Fatalf("DataDir() = %q, want %s<hash>/postgres", got, wantPrefix)
	}
	if !strings.Contains(logs.String(), "postgres user cannot reach the data directory") {
		t.Fatalf("no warning about the unreachable data dir in the log:\n%s", logs.String())
	}
	if got := queryString(t, c.URL(), "SELECT current_database()"); got != "vbwd" {
		t.Fatalf("database %q, want vbwd", got)
	}
}

// sharedTemplate is the template cache testpg uses.
func sharedTemplate(t *testing.T) string {
	bin, err := pgdev.FindBinDir("")
	if err != nil {
		t.Fatal(err)
	}
	major, err := pgdev.MajorVersion(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("vbwd-testpg-template-%d", major))
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
