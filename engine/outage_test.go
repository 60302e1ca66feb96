package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

// privateCluster starts a PostgreSQL cluster of the test's own, which it may
// kill and restart (the shared test server serves the other tests).
func privateCluster(t *testing.T, logs *logBuf) *pgdev.Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "vbwd-testpg-"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // reachable by the postgres user of a root run
		t.Fatal(err)
	}
	bin, err := pgdev.FindBinDir("")
	if err != nil {
		t.Fatal(err)
	}
	major, err := pgdev.MajorVersion(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgdev.Start(ctx, pgdev.Options{DataDir: filepath.Join(dir, "postgres"), BinDir: bin, Database: "outage",
		Template: filepath.Join(os.TempDir(), fmt.Sprintf("vbwd-testpg-template-%d", major)),
		Logger:   slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

const outagePlugin = `
local db = require("vbwd.db")
function P.routes(r)
  r:get("/row", function()
    local row, err = db.query_one("select 1 as one")
    if not row then error(err) end
    return 200, row
  end)
end`

// killPostmaster SIGKILLs the cluster's postmaster and waits until it no
// longer answers.
// checkpoint writes the WAL out before a test kills the cluster: it is not
// durable (synchronous_commit off), and the engine's last commits before the
// kill (the plugin's role: the engine's migrations run before the plugins
// start) could otherwise be lost with it.
func checkpoint(t *testing.T, te *testEngine) {
	t.Helper()
	if _, err := te.opts.DB.Exec(context.Background(), "checkpoint"); err != nil {
		t.Fatal(err)
	}
}

func killPostmaster(t *testing.T, te *testEngine, c *pgdev.Cluster) {
	t.Helper()
	// the backends too (each is its own process group leader): a backend of
	// a killed postmaster may still answer a query on its connection (the
	// plugin's pool has its own) before it notices, which made the outage
	// arrive late and flakily
	checkpoint(t, te)
	pid := c.PID()
	for _, child := range childPIDs(pid) {
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the database to stop answering", func() bool { return pgcoord.Ping(context.Background(), te.opts.DB) != nil })
}

// childPIDs lists the processes whose parent is pid (from /proc).
func childPIDs(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		end := strings.LastIndexByte(string(b), ')') // after "<pid> (<comm>"
		if end < 0 {
			continue
		}
		fields := strings.Fields(string(b[end+1:])) // state, ppid, ...
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			if p, err := strconv.Atoi(strings.Fields(string(b))[0]); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOutage: while the database is down the usual route answers 503 with
// Retry-After, /readyz answers 503 naming the database without connection
// details, and /admin/status gives the details.
func checkOutage(t *testing.T, te *testEngine, c *pgdev.Cluster) {
	t.Helper()
	for i := range 3 { // the first calls meet pooled connections the kill broke, the next a refused connect
		r := te.do(t, "GET", "/api/o/row", "")
		if r.status != 503 || r.header.Get("Retry-After") == "" || r.json["error"] == "internal" {
			t.Errorf("call %d with the database down: %d Retry-After=%q %s", i, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	// a backend of the killed postmaster may still answer a pooled
	// connection's ping for a moment: wait for /readyz to see the outage
	var r result
	waitUntil(t, 10*time.Second, "/readyz to report the database", func() bool {
		r = te.do(t, "GET", "/readyz", "")
		return r.status == 503 && strings.Contains(r.body, "database")
	})
	for _, secret := range []string{"user=", "database=", "postgres", "outage", "127.0.0.1", strconv.Itoa(c.Port())} {
		if strings.Contains(r.body, secret) {
			t.Errorf("readyz shows connection details (%q): %s", secret, r.body)
		}
	}
	// the driver's own error: a refused connection names the port, a pooled
	// connection the postmaster's exit terminated names its SQLSTATE
	if st := te.admin(t, "GET", "/admin/status", ""); st.status != 200 ||
		!(strings.Contains(st.body, strconv.Itoa(c.Port())) || strings.Contains(st.body, "SQLSTATE")) {
		t.Errorf("admin status lacks the details: %d %s", st.status, st.body)
	}
}

// TestOutage_DatabaseDown503AndBack: the database dies under a serving
// engine and is started again by hand (as ops restart a server): the route
// answers 503 meanwhile and 200 after, without restarting the engine.
func TestOutage_DatabaseDown503AndBack(t *testing.T) {
	c := privateCluster(t, &logBuf{})
	te := startEngine(t, writeRoot(t, files{"plugins/o/init.lua": pluginSrc("o", "", outagePlugin)}),
		func(o *Options) { o.DB = openPool(t, c.URL()); o.AdminToken = adminToken })
	if r := te.do(t, "GET", "/api/o/row", ""); r.status != 200 {
		t.Fatalf("before: %d %s", r.status, r.body)
	}
	killPostmaster(t, te, c)
	checkOutage(t, te, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the route to answer 200 again", func() bool { return te.do(t, "GET", "/api/o/row", "").status == 200 })
	waitUntil(t, 10*time.Second, "/readyz to answer 200 again", func() bool { return te.do(t, "GET", "/readyz", "").status == 200 })
}

// TestOutage_SupervisedDatabaseComesBack: the supervised embedded cluster
// is restarted by itself after its postmaster is killed; the engine serves
// again without a restart.
func TestOutage_SupervisedDatabaseComesBack(t *testing.T) {
	logs := &logBuf{}
	c := privateCluster(t, logs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Supervise(ctx)
	te := startEngine(t, writeRoot(t, files{"plugins/o/init.lua": pluginSrc("o", "", outagePlugin)}),
		func(o *Options) { o.DB = openPool(t, c.URL()); o.AdminToken = adminToken })
	if r := te.do(t, "GET", "/api/o/row", ""); r.status != 200 {
		t.Fatalf("before: %d %s", r.status, r.body)
	}
	checkpoint(t, te)
	old := c.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 90*time.Second, "the supervisor to restart the database and the route to answer 200", func() bool {
		return c.PID() != old && te.do(t, "GET", "/api/o/row", "").status == 200
	})
	if !strings.Contains(logs.String(), "restarted PostgreSQL") {
		t.Errorf("no restart logged:\n%s", logs.String())
	}
}
