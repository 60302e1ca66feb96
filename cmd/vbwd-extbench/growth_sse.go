package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The stream series: N clients hold a server-sent event stream open, one
// message is published through the plugin's route and the harness times
// its arrival at every client.

const ssePlugin = `local stream = require("vbwd.stream")
local P = { name = "gsse", version = "1.0.0", description = "growth: stream clients", url_prefix = "/gsse" }
function P.routes(r)
  r:get("/events", { stream = true }, function(req)
    return { channel = "gsse.ticks", events = {} }
  end)
  r:post("/publish/{seq}", function(req)
    local ok, err = stream.publish("gsse.ticks", { seq = req.params.seq }, "tick", req.params.seq)
    if not ok then error(err) end
    return 200, { published = req.params.seq }
  end)
end
return P
`

// fanout records, per published message, when each client received it.
type fanout struct {
	mu      sync.Mutex
	sent    map[int]time.Time
	arrived map[int][]time.Duration
	done    map[int]chan struct{}
	clients int
}

func (f *fanout) expect(seq int) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	f.done[seq], f.sent[seq] = ch, time.Now()
	return ch
}

func (f *fanout) arrive(seq int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sent, ok := f.sent[seq]
	if !ok {
		return
	}
	f.arrived[seq] = append(f.arrived[seq], at.Sub(sent))
	if len(f.arrived[seq]) == f.clients {
		close(f.done[seq])
	}
}

func (f *fanout) count(seq int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.arrived[seq])
}

// seriesSSE: for each client count, a fresh server, every client connected
// (its stream answered, so subscribed), then messages published one at a
// time, each waited for at every client.
func seriesSSE(ctx context.Context, g *growth) (growthResult, error) {
	res := growthResult{title: "Concurrent stream (SSE) clients",
		method: fmt.Sprintf("N clients (goroutines of the harness, one TCP connection each) hold `GET /gsse/events` open on a fresh server; "+
			"then %d messages are published one after another by `POST /gsse/publish/{seq}` (vbwd.stream.publish: PostgreSQL NOTIFY, then the engine's broker). "+
			"Fan-out latency is from sending the POST to the last client reading the event (median over the messages); "+
			"RSS is the server's VmRSS with every client connected, after the messages.", g.plan.publishes),
		columns: []string{"clients", "connect s", "last delivery ms (median)", "median delivery ms", "RSS MiB"}}
	raiseNoFile()
	root := filepath.Join(g.work, "sse")
	if err := writePluginRoot(root, map[string]string{"gsse": ssePlugin}); err != nil {
		return res, err
	}
	var lastMs, medMs, rss []float64
	for _, n := range g.plan.sse {
		row, err := sseRound(ctx, g, root, n)
		if err != nil {
			return res, fmt.Errorf("%d clients: %w", n, err)
		}
		lastMs, medMs, rss = append(lastMs, row.last), append(medMs, row.median), append(rss, row.rss)
		res.rows = append(res.rows, []string{fmt.Sprint(n), fmt.Sprintf("%.1f", row.connect.Seconds()),
			fmt.Sprintf("%.1f", row.last), fmt.Sprintf("%.1f", row.median), fmt.Sprintf("%.1f", row.rss)})
		fmt.Fprintf(g.out, "  %6d clients: connected in %s, last delivery %.1f ms, median %.1f ms, RSS %.1f MiB\n",
			n, row.connect.Round(time.Millisecond), row.last, row.median, row.rss)
	}
	x := xs(g.plan.sse)
	res.charts = map[string]chart{
		"sse-latency": {title: "Fan-out latency of one message vs stream clients", xLabel: "connected clients", yLabel: "ms",
			series: []series{line("last client", x, lastMs), line("median client", x, medMs)}},
		"sse-rss": {title: "RSS vs stream clients", xLabel: "connected clients", yLabel: "MiB", series: []series{line("VmRSS", x, rss)}},
	}
	return res, nil
}

type sseRow struct {
	connect           time.Duration
	last, median, rss float64
}

func sseRound(ctx context.Context, g *growth, root string, n int) (sseRow, error) {
	var row sseRow
	srv, err := startServer(ctx, g.env.vbwd, root, g.env.dbURL, g.work, "sse")
	if err != nil {
		return row, err
	}
	defer srv.stop()
	f := &fanout{sent: map[int]time.Time{}, arrived: map[int][]time.Duration{}, done: map[int]chan struct{}{}, clients: n}
	addr := strings.TrimPrefix(srv.base, "http://")
	var conns []net.Conn
	var mu sync.Mutex
	var wg, readers sync.WaitGroup
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		readers.Wait()
	}()
	start := time.Now()
	var failed atomic.Value
	sem := make(chan struct{}, 64) // connections being opened at once
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, r, err := openStream(addr)
			if err != nil {
				failed.Store(err)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			readers.Add(1)
			go func() { defer readers.Done(); readTicks(r, f) }()
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return row, err
	}
	row.connect = time.Since(start)
	if err := primeStreams(srv, f); err != nil {
		return row, err
	}
	var lasts, meds []float64
	for seq := 1; seq <= g.plan.publishes; seq++ {
		done := f.expect(seq)
		if err := publishTick(srv, seq); err != nil {
			return row, err
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			logs, _ := os.ReadFile(srv.log)
			return row, fmt.Errorf("message %d reached %d of %d clients in 60 s; server log:\n%s", seq, f.count(seq), n, tail(string(logs), 2000))
		}
		f.mu.Lock()
		d := append([]time.Duration(nil), f.arrived[seq]...)
		f.mu.Unlock()
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		lasts, meds = append(lasts, ms2(d[len(d)-1])), append(meds, ms2(d[len(d)/2]))
	}
	kib, err := procStatusKiB(srv.pid(), "VmRSS")
	if err != nil {
		return row, err
	}
	row.last, row.median, row.rss = median(lasts), median(meds), mib(kib)
	return row, nil
}

func publishTick(srv *server, seq int) error {
	resp, err := http.Post(fmt.Sprintf("%s/gsse/publish/%d", srv.base, seq), "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("publish: %d", resp.StatusCode)
	}
	return nil
}

// primeStreams publishes messages (ids -1, -2, ...) until every client has
// one: /readyz answers before the engine's stream listener (LISTEN on
// PostgreSQL) is connected, and a message published in between reaches
// nobody.
func primeStreams(srv *server, f *fanout) error {
	deadline := time.Now().Add(60 * time.Second)
	for seq := -1; time.Now().Before(deadline); seq-- {
		done := f.expect(seq)
		if err := publishTick(srv, seq); err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-time.After(time.Second):
			if f.count(seq) > 0 { // the listener is up: the rest are on their way
				select {
				case <-done:
					return nil
				case <-time.After(60 * time.Second):
					return fmt.Errorf("a message reached %d of %d clients in 60 s", f.count(seq), f.clients)
				}
			}
		}
	}
	return fmt.Errorf("no published message reached a client in 60 s")
}

// openStream connects one client and reads the answer's head: once it has
// the 200, the engine has subscribed it.
func openStream(addr string) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /gsse/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", addr); err != nil {
		c.Close()
		return nil, nil, err
	}
	r := bufio.NewReaderSize(c, 1024)
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		c.Close()
		return nil, nil, errors.Join(err, fmt.Errorf("stream answered %q", strings.TrimSpace(status)))
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		if l == "\r\n" {
			break
		}
	}
	_ = c.SetDeadline(time.Time{})
	return c, r, nil
}

// readTicks notes each "id: <seq>" line's arrival until the connection
// closes. (The body is chunked: chunk-size lines are not "id:" lines.)
func readTicks(r *bufio.Reader, f *fanout) {
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if v, ok := strings.CutPrefix(l, "id: "); ok {
			if seq, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				f.arrive(seq, time.Now())
			}
		}
	}
}

// raiseNoFile lifts this process's open-file limit to its hard limit (Go
// does so at start too; this keeps it explicit): 10,000 clients need as
// many descriptors.
func raiseNoFile() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
