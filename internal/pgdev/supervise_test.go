package pgdev_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

// A supervised postmaster killed with SIGKILL is launched again on the same
// port with the same data; after Stop it is not.
func TestSupervise_RestartsAKilledPostmaster(t *testing.T) {
	logs := &syncBuffer{}
	c := start(t, pgdev.Options{DataDir: filepath.Join(reachableDir(t), "pg"), Template: sharedTemplate(t),
		Durable: true, Logger: slog.New(slog.NewTextHandler(logs, nil))}) // committed rows survive the kill
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Supervise(ctx)
	if _, err := connect(t, c.URL()).Exec(ctx, "create table kept (v text); insert into kept values ('x')"); err != nil {
		t.Fatal(err)
	}
	old := c.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for c.PID() == old || !answers(c.URL()) {
		if time.Now().After(deadline) {
			t.Fatalf("not restarted within 90s; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := queryString(t, c.URL(), "select v from kept"); got != "x" {
		t.Errorf("data after the restart: %q", got)
	}
	for _, want := range []string{"exited unexpectedly", "restarted PostgreSQL"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(context.Background()); err == nil {
		t.Error("Restart after Stop succeeded")
	}
	if answers(c.URL()) {
		t.Error("a stopped cluster was restarted")
	}
}
