package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

const jwtSecret = "vbwd-extbench-secret"

// benchRoute is one measured route: the same method, path and request on
// both servers.
type benchRoute struct {
	name, title string
	method      string
	path        string
	body        string // POST body (sent by a wrk script)
	auth        bool   // send a JWT with the role the route's permission needs
}

var allRoutes = []benchRoute{
	{name: "hello", title: "hello: GET /hello/{name}, a small JSON body", method: "GET", path: "/bench/hello/world"},
	{name: "pkread", title: "primary-key read: GET /items/{id}, one row", method: "GET", path: "/bench/items/42"},
	{name: "write", title: "write + durable event: POST /items, insert and publish in one transaction (vbwd also delivers each event in the background, a claim and a record per batch; native only inserts its outbox row)", method: "POST", path: "/bench/items",
		body: `{"name": "bench", "qty": 7}`},
	{name: "di", title: "DI service call: GET /svc/{n}", method: "GET", path: "/bench/svc/21"},
	{name: "jwt", title: "JWT + permission: GET /secure", method: "GET", path: "/bench/secure", auth: true},
}

func routeNames() string {
	var s []string
	for _, r := range allRoutes {
		s = append(s, r.name)
	}
	return strings.Join(s, ",")
}

func selectRoutes(names []string) ([]benchRoute, error) {
	if len(names) == 0 {
		return allRoutes, nil
	}
	if len(names) == 1 && names[0] == "none" { // only the growth series
		return nil, nil
	}
	var out []benchRoute
	for _, n := range names {
		found := false
		for _, r := range allRoutes {
			if r.name == strings.TrimSpace(n) {
				out, found = append(out, r), true
			}
		}
		if !found {
			return nil, fmt.Errorf("no route %q (have %s)", n, routeNames())
		}
	}
	return out, nil
}

type benchEnv struct {
	vbwd, root, dbURL, logDir string
}

// sample is one measured wrk run against one fresh server.
type sample struct {
	rps    float64
	cpuUS  float64 // server CPU (user+system) per request, µs
	reqs   int64
	errors string
}

type routeResult struct {
	route        benchRoute
	vbwd, native []sample
}

// measureRoute runs the interleaved rounds of one route, in ABBA order
// (native first in odd rounds, vbwd first in even ones): the machine drifts
// over a minute (CPU time per request moved by ±4 µs between runs minutes
// apart), and a fixed order handed that drift to one server.
func measureRoute(ctx context.Context, env benchEnv, rt benchRoute, c config, out io.Writer) (routeResult, error) {
	res := routeResult{route: rt}
	fmt.Fprintf(out, "\n%s\n", rt.title)
	type server struct {
		name string
		into *[]sample
	}
	// One unmeasured round first: the database warms up over the first
	// runs of a route (the primary-key read's native rate rose from 9.7k to
	// 12.3k req/s over its three rounds), which favoured whichever server
	// ran later.
	for _, name := range []string{"native", "vbwd"} {
		smp, err := oneRun(ctx, env, name, rt, c)
		if err != nil {
			return res, fmt.Errorf("%s warm-up round: %w", name, err)
		}
		fmt.Fprintf(out, "  warm-up  %-6s %9.0f req/s  %6.1f µs CPU/request (not counted)\n", name, smp.rps, smp.cpuUS)
	}
	for i := 0; i < c.rounds; i++ {
		order := []server{{"native", &res.native}, {"vbwd", &res.vbwd}}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, s := range order {
			smp, err := oneRun(ctx, env, s.name, rt, c)
			if err != nil {
				return res, fmt.Errorf("%s round %d: %w", s.name, i+1, err)
			}
			*s.into = append(*s.into, smp)
			fmt.Fprintf(out, "  round %d  %-6s %9.0f req/s  %6.1f µs CPU/request\n", i+1, s.name, smp.rps, smp.cpuUS)
		}
	}
	return res, nil
}

// oneRun starts a fresh server, warms it up, loads it once and stops it.
func oneRun(ctx context.Context, env benchEnv, server string, rt benchRoute, c config) (sample, error) {
	addr, err := freeAddr()
	if err != nil {
		return sample{}, err
	}
	var cmd *exec.Cmd
	if server == "vbwd" {
		cmd = exec.CommandContext(ctx, env.vbwd, "serve", "--root", env.root, "--addr", addr)
	} else {
		self, err := os.Executable()
		if err != nil {
			return sample{}, err
		}
		cmd = exec.CommandContext(ctx, self)
		cmd.Env = append(cmd.Env, nativeEnv+"="+addr)
	}
	cmd.Env = append(append(cmd.Env, os.Environ()...), "DATABASE_URL="+env.dbURL, "VBWD_JWT_SECRET="+jwtSecret)
	logf, err := os.Create(filepath.Join(env.logDir, server+".log"))
	if err != nil {
		return sample{}, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	tok, err := auth.Mint(jwtSecret, "bench-user", []string{"reader"}, time.Hour, time.Now())
	if err != nil {
		return sample{}, err
	}
	if err := waitReady(base+rt.path, rt, tok, logf.Name()); err != nil {
		return sample{}, err
	}
	script, err := wrkScript(env.logDir, rt, tok)
	if err != nil {
		return sample{}, err
	}
	if _, err := runWrk(base+rt.path, c.warmup, c.conns, script); err != nil {
		return sample{}, fmt.Errorf("warm-up: %w", err)
	}
	before, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	w, err := runWrk(base+rt.path, c.duration, c.conns, script)
	if err != nil {
		return sample{}, err
	}
	after, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	if w.requests == 0 {
		return sample{}, fmt.Errorf("wrk made no request")
	}
	return sample{rps: w.rps, reqs: w.requests, cpuUS: float64(after-before) / float64(w.requests) * 1e6}, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls the route until it answers 2xx, up to 60 s.
func waitReady(url string, rt benchRoute, tok, logFile string) error {
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(rt.method, url, strings.NewReader(rt.body))
		req.Header.Set("Content-Type", "application/json")
		if rt.auth {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		var ok bool
		if ok, last = tryOK(http.DefaultClient, req); ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond) // polling a starting process: nothing to wait on
	}
	logs, _ := os.ReadFile(logFile)
	return fmt.Errorf("%s %s not ready after 60s: %s\nserver log:\n%s", rt.method, url, last, tail(string(logs), 2000))
}

// tryOK sends req once: whether it answered 2xx, else what it answered
// (status and body) or why it failed.
func tryOK(client *http.Client, req *http.Request) (bool, string) {
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return true, ""
	}
	return false, fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// wrkScript writes the Lua script that sets the route's method, body and
// headers ("" when a plain GET needs none).
func wrkScript(dir string, rt benchRoute, tok string) (string, error) {
	var b strings.Builder
	if rt.method != "GET" {
		fmt.Fprintf(&b, "wrk.method = %q\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", rt.method, rt.body)
	}
	if rt.auth {
		fmt.Fprintf(&b, "wrk.headers[\"Authorization\"] = %q\n", "Bearer "+tok)
	}
	if b.Len() == 0 {
		return "", nil
	}
	p := filepath.Join(dir, rt.name+".lua")
	return p, os.WriteFile(p, []byte(b.String()), 0o644)
}

func haveWrk() error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found: install it with 'apt-get install wrk' (make bench does when run as root)")
	}
	return nil
}

type wrkResult struct {
	rps      float64
	requests int64
	p99      time.Duration // with latency
	errors   string        // wrk's error line, when tolerant
}

var (
	rpsLine  = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reqsLine = regexp.MustCompile(`^\s*(\d+) requests in`)
	errLine  = regexp.MustCompile(`Non-2xx|Socket errors`)
	p99Line  = regexp.MustCompile(`^\s*99%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func runWrk(url string, dur time.Duration, conns int, script string) (wrkResult, error) {
	return runWrkOpts(wrkOpts{url: url, dur: dur, conns: conns, script: script})
}

type wrkOpts struct {
	url      string
	dur      time.Duration
	conns    int
	script   string
	latency  bool // --latency: parse the 99th percentile
	tolerant bool // record wrk's error lines (timeouts under overload) instead of failing
}

func runWrkOpts(o wrkOpts) (wrkResult, error) {
	args := []string{"-t1", "-c" + strconv.Itoa(o.conns), "-d" + wrkDuration(o.dur)}
	if o.script != "" {
		args = append(args, "-s", o.script)
	}
	if o.latency {
		args = append(args, "--latency")
	}
	out, err := exec.Command("wrk", append(args, o.url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	var r wrkResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if m := rpsLine.FindStringSubmatch(line); m != nil {
			r.rps, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := reqsLine.FindStringSubmatch(line); m != nil {
			r.requests, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if m := p99Line.FindStringSubmatch(line); m != nil {
			r.p99 = wrkLatency(m[1], m[2])
		}
		if errLine.MatchString(line) {
			if !o.tolerant || strings.Contains(line, "Non-2xx") {
				return r, fmt.Errorf("wrk reported errors for %s: %s", o.url, line)
			}
			r.errors = strings.TrimSpace(line)
		}
	}
	if r.rps == 0 {
		return r, fmt.Errorf("wrk printed no Requests/sec for %s: %s", o.url, out)
	}
	return r, nil
}

// wrkLatency reads one of wrk's latency figures ("812.00us", "1.23ms", "2.01s").
func wrkLatency(num, unit string) time.Duration {
	v, _ := strconv.ParseFloat(num, 64)
	scale := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}[unit]
	return time.Duration(v * scale)
}

// wrkDuration: wrk takes whole seconds ("1s", "10s"), at least one.
func wrkDuration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s) + "s"
}

// procCPU returns a process's user+system CPU time in seconds, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s: Linux's
// USER_HZ on every architecture Go supports).
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	return float64(ut+st) / 100, nil
}
