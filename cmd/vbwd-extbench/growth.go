package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// "How cost grows": each series starts `vbwd serve` on a generated root,
// varies one dimension (routes, plugins, pool size, payload, stream
// clients, event backlog) and measures it from outside, with wrk where it
// fits and Go code where it does not. BENCH_GROWTH=full|quick|off sizes
// them; BENCH_SERIES picks some.

// growthPlan is the sizes of every series in one mode.
type growthPlan struct {
	routes    []int
	plugins   []int
	pools     []int
	poolConns []int
	payloads  []int // target body bytes
	sse       []int // clients
	backlog   []int // events
	wrkDur    time.Duration
	reloads   int // reloads per plugin count, median reported
	publishes int // stream messages per client count, median reported
}

func planFor(mode string) (growthPlan, error) {
	switch mode {
	case "full":
		return growthPlan{
			routes:  []int{10, 30, 100, 300, 1000},
			plugins: []int{1, 3, 10, 30, 100},
			pools:   []int{1, 2, 4, 8, 16, 32, 64}, poolConns: []int{1, 32, 256},
			payloads: []int{100, 1000, 10_000, 100_000, 1_000_000},
			sse:      []int{100, 300, 1000, 3000, 10_000},
			backlog:  []int{10_000, 100_000, 1_000_000},
			wrkDur:   3 * time.Second, reloads: 5, publishes: 5,
		}, nil
	case "quick":
		return growthPlan{
			routes: []int{10, 100}, plugins: []int{1, 3},
			pools: []int{1, 4}, poolConns: []int{1, 32, 256},
			payloads: []int{100, 10_000}, sse: []int{10, 100}, backlog: []int{1000, 3000},
			wrkDur: time.Second, reloads: 2, publishes: 2,
		}, nil
	}
	return growthPlan{}, fmt.Errorf("BENCH_GROWTH %q: want full, quick or off", mode)
}

// growthResult is one series as the report shows it: a paragraph on the
// method, a table and charts.
type growthResult struct {
	key, title, method string
	columns            []string
	rows               [][]string
	charts             map[string]chart // file name (without .svg) -> chart
	took               time.Duration
	err                error // the series failed: the report says so, the run fails after writing it
}

// growth is what the series share.
type growth struct {
	env       benchEnv // dbURL: the growth database
	plan      growthPlan
	work      string // scratch directory
	benchRoot string // the headline benchmark root (pool series)
	shipped   string // the shipped plugins' root (RSS)
	rssLoad   time.Duration
	out       io.Writer
}

type seriesFunc func(context.Context, *growth) (growthResult, error)

var allSeries = []struct {
	name string
	run  seriesFunc
}{
	{"routes", seriesRoutes}, {"plugins", seriesPlugins}, {"pool", seriesPool},
	{"payload", seriesPayload}, {"sse", seriesSSE}, {"drain", seriesDrain}, {"rss", seriesRSS},
}

// runGrowth runs the selected series in order. A failing series does not
// stop the others (a full run is long): its error is kept in its result and
// returned with the rest.
func runGrowth(ctx context.Context, g *growth, names []string) ([]growthResult, error) {
	var out []growthResult
	var errs []error
	for _, s := range allSeries {
		if len(names) > 0 && !contains(names, s.name) {
			continue
		}
		fmt.Fprintf(g.out, "\ngrowth series %s\n", s.name)
		start := time.Now()
		res, err := s.run(ctx, g)
		res.key, res.took, res.err = s.name, time.Since(start).Round(time.Second), err
		if err != nil {
			errs = append(errs, fmt.Errorf("growth series %s: %w", s.name, err))
			fmt.Fprintf(g.out, "  FAILED: %v\n", err)
		}
		fmt.Fprintf(g.out, "  (%s)\n", res.took)
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// growthDatabase makes (or reuses) a database of its own for the series on
// the server of dbURL, so their outbox and plugin schemas stay apart from the
// headline benchmark's; without the right to create one it uses dbURL.
func growthDatabase(ctx context.Context, dbURL string) (string, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "create database vbwd_extbench_growth")
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // 42P04: exists
		return dbURL, nil
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	u.Path = "/vbwd_extbench_growth"
	return u.String(), nil
}

// writePluginRoot writes an engine root of the given plugins (name ->
// init.lua), all enabled.
func writePluginRoot(dir string, plugins map[string]string) error {
	var names []string
	for name, src := range plugins {
		names = append(names, fmt.Sprintf("%q: {\"enabled\": true}", name))
		p := filepath.Join(dir, "plugins", name, "init.lua")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins.json"), []byte(`{"plugins": {`+strings.Join(names, ", ")+`}}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
}

const adminToken = "vbwd-extbench-admin"

// server is one `vbwd serve` process of a series.
type server struct {
	cmd     *exec.Cmd
	base    string
	log     string
	started time.Time
	ready   time.Duration // from start to the ready path answering 2xx
	exited  chan struct{} // closed when the process has been waited for
}

// startServer starts vbwd on root and waits until readyPath answers 2xx.
// dbURL "" leaves DATABASE_URL unset: the embedded default database.
func startServer(ctx context.Context, vbwd, root, dbURL, logDir, name string, args ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, vbwd, append([]string{"serve", "--root", root, "--addr", addr}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "VBWD_JWT_SECRET="+jwtSecret, "VBWD_ADMIN_TOKEN="+adminToken)
	if dbURL != "" {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+dbURL)
	}
	s := &server{cmd: cmd, base: "http://" + addr, log: filepath.Join(logDir, name+".log")}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logf, logf
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	if err := s.waitReady("/readyz", 120*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	s.ready = time.Since(s.started)
	return s, nil
}

// waitReady polls path every 5 ms (a starting process offers nothing to
// wait on) until it answers 2xx.
func (s *server) waitReady(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", s.base+path, nil)
		var ok bool
		if ok, last = tryOK(client, req); ok {
			return nil
		}
		select {
		case <-s.exited:
			deadline = time.Now() // it exited: report why
		case <-time.After(5 * time.Millisecond):
		}
	}
	logs, _ := os.ReadFile(s.log)
	return fmt.Errorf("%s not ready: %s\nserver log:\n%s", s.base+path, last, tail(string(logs), 3000))
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// get fetches path and returns the body, failing on a non-2xx answer.
func (s *server) get(path string) ([]byte, error) {
	resp, err := http.Get(s.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, tail(string(b), 300))
	}
	return b, err
}

// loadCPU runs wrk against path and returns the result and the server's
// CPU µs per request over it.
func (s *server) loadCPU(path string, dur time.Duration, conns int) (wrkResult, float64, error) {
	before, err := procCPU(s.pid())
	if err != nil {
		return wrkResult{}, 0, err
	}
	w, err := runWrkOpts(wrkOpts{url: s.base + path, dur: dur, conns: conns, latency: true, tolerant: true})
	if err != nil {
		return w, 0, err
	}
	after, err := procCPU(s.pid())
	if err != nil || w.requests == 0 {
		return w, 0, errors.Join(err, errors.New("wrk made no request"))
	}
	return w, (after - before) / float64(w.requests) * 1e6, nil
}

// procStatusKiB reads a field such as VmRSS or VmHWM of /proc/<pid>/status.
func procStatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kib int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib)
			return kib, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func xs(v []int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func line(name string, x []float64, y []float64) series {
	s := series{name: name}
	for i := range x {
		s.points = append(s.points, point{x[i], y[i]})
	}
	return s
}
