package testpg

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

func TestReapOrphans(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	// A prefix of this test's own: test processes of other packages running
	// at the same time reap vbwd-testpg-<dead pid>-* and must not take the
	// orphan made here.
	prefix := fmt.Sprintf("vbwd-reaptest-%d-", os.Getpid())
	orphan := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-x", prefix, dead.Process.Pid))
	live := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-x", prefix, os.Getpid()))
	for _, dir := range []string{orphan, live} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bin, err := pgdev.FindBinDir("")
	if err != nil {
		t.Fatal(err)
	}
	major, err := pgdev.MajorVersion(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgdev.Start(ctx, pgdev.Options{
		DataDir:  filepath.Join(orphan, "postgres"),
		Database: "postgres",
		Template: templateDir(major),
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })

	reapOrphansIn(ctx, prefix)

	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan dir %s: %v, want it removed", orphan, err)
	}
	if conn, err := pgx.Connect(ctx, c.URL()); err == nil {
		conn.Close(ctx)
		t.Error("the orphan's server still accepts connections")
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("dir of a live process: %v, want it kept", err)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:p@h:5/old?sslmode=disable", "postgres://u:p@h:5/new?sslmode=disable"},
		{"postgresql://h/", "postgresql://h/new"},
		{"host=h dbname=old", "host=h dbname=old dbname=new"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := withDatabase(tc.in, "new")
			if err != nil || got != tc.want {
				t.Fatalf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
