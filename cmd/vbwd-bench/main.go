// Command vbwd-bench measures, side by side in one process, the requests per
// second of shipped plugins' Lua routes served by the engine and of the same
// routes as native Go handlers (internal/native), loading each in turn with
// wrk over loopback, and prints the ratios. Run it with `make bench`.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/internal/logsink"
	"github.com/vbwd-platform/vbwd-engine/internal/native"
	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

func main() {
	root := flag.String("root", ".", "engine root with the hello plugin")
	dur := flag.Duration("duration", 5*time.Second, "wrk duration of one round")
	conns := flag.Int("connections", 32, "wrk connections")
	rounds := flag.Int("rounds", 3, "rounds per server (alternating)")
	flag.Parse()
	if err := run(*root, *dur, *conns, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "vbwd-bench:", err)
		os.Exit(1)
	}
}

func run(root string, dur time.Duration, conns, rounds int) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found: install it with 'apt-get install wrk'")
	}
	logFile, err := os.CreateTemp("", "vbwd-bench-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(logFile.Name())
	sink := logsink.NewBuffered(logFile, 100*time.Millisecond)
	defer sink.Close()
	log := slog.New(slog.NewTextHandler(sink, nil))
	ctx := context.Background()
	pool, stopDB, err := database(ctx, log)
	if err != nil {
		return err
	}
	defer stopDB()
	eng, err := engine.New(engine.Options{Root: root, Logger: log, DB: pool, AccessLog: sink, PoolMin: 4, PoolMax: 4,
		JWTSecret: benchSecret})
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer eng.Shutdown(context.Background())
	if _, err := eng.Populate(ctx); err != nil {
		return err
	}
	var noteID string
	if err := pool.QueryRow(ctx, "select id::text from notes.notes_notes where slug = 'welcome'").Scan(&noteID); err != nil {
		return fmt.Errorf("the notes plugin's demo data: %w", err)
	}
	luaURL, stopLua, err := serve(eng.Handler())
	if err != nil {
		return err
	}
	defer stopLua()
	fmt.Printf("wrk -t1 -c%d -d%s per round, %d alternating rounds, all servers in this process, engine access log on\n", conns, dur, rounds)
	for _, c := range []struct {
		title, path, goal string
		goalRatio         float64
		native            http.Handler
	}{
		{"hello route (GET /api/v1/hello/world)", "/api/v1/hello/world", ">= 0.70", 0.70, native.Hello()},
		{"one row by primary key (GET /api/v1/notes/{id})", "/api/v1/notes/" + noteID, ">= 0.80", 0.80, native.NoteByID(pool)},
	} {
		nativeURL, stopNative, err := serve(c.native)
		if err != nil {
			return err
		}
		l, n, err := compare(luaURL+c.path, nativeURL+c.path, dur, conns, rounds)
		stopNative()
		if err != nil {
			return err
		}
		verdict := "met"
		if l/n < c.goalRatio {
			verdict = "NOT met"
		}
		fmt.Printf("%s: native %.0f req/s, lua %.0f req/s, lua/native ratio %.2f (goal %s: %s)\n\n", c.title, n, l, l/n, c.goal, verdict)
	}
	if err := businessBench(ctx, pool, luaURL, dur, conns); err != nil {
		return err
	}
	return reloadThroughput(log, dur, conns, rounds)
}

// reloadThroughput compares a plugin route's requests per second while the
// plugin is reloaded every 50 ms (blue/green, pool of 8) with none.
func reloadThroughput(log *slog.Logger, dur time.Duration, conns, rounds int) error {
	root, err := os.MkdirTemp("", "vbwd-bench-reload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	file := filepath.Join(root, "plugins", "live", "init.lua")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	write := func(v int) error {
		return os.WriteFile(file, []byte(fmt.Sprintf(`local P = { name = "live", version = "1.0.0", url_prefix = "/api/live" }
local V = %d
function P.routes(r) r:get("/{n}", function(req) return 200, { v = V, n = req.params.n } end) end
return P
`, v)), 0o644)
	}
	if err := write(0); err != nil {
		return err
	}
	eng, err := engine.New(engine.Options{Root: root, Logger: log, PoolMin: 8, PoolMax: 8})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer eng.Shutdown(context.Background())
	url, stop, err := serve(eng.Handler())
	if err != nil {
		return err
	}
	defer stop()
	url += "/api/live/7"
	fmt.Printf("throughput while reloading every 50 ms vs none (pool of 8):\n")
	var calm, busy []float64
	reloads := 0
	for i := 0; i < rounds; i++ {
		rps, err := wrk(url, dur, conns)
		if err != nil {
			return err
		}
		calm = append(calm, rps)
		done := make(chan struct{})
		var reloadErr error
		go func() {
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for v := 1; ; v++ {
				select {
				case <-done:
					return
				case <-t.C:
				}
				if err := write(v); err != nil {
					reloadErr = err
					return
				}
				if _, err := eng.Reload(ctx, "live"); err != nil {
					reloadErr = err
					return
				}
				reloads++
			}
		}()
		rps, err = wrk(url, dur, conns)
		close(done)
		if err != nil {
			return err
		}
		if reloadErr != nil {
			return reloadErr
		}
		busy = append(busy, rps)
		fmt.Printf("  round %d  no reloads %10.0f req/s   reloading %10.0f req/s\n", i+1, calm[i], rps)
	}
	c, b := median(calm), median(busy)
	verdict := "met"
	if b/c < 0.9 {
		verdict = "NOT met"
	}
	fmt.Printf("during continuous reloads: %.0f req/s vs %.0f without, ratio %.2f (goal >= 0.90: %s), %d reloads, no failed request\n", b, c, b/c, verdict, reloads)
	return nil
}

// compare loads the two URLs in alternating rounds and returns the median
// requests per second of each.
func compare(luaURL, nativeURL string, dur time.Duration, conns, rounds int) (float64, float64, error) {
	if err := check(luaURL, nativeURL); err != nil {
		return 0, 0, err
	}
	var luaRPS, nativeRPS []float64
	for i := 0; i < rounds; i++ {
		for _, s := range []struct {
			name string
			url  string
			out  *[]float64
		}{{"native", nativeURL, &nativeRPS}, {"lua", luaURL, &luaRPS}} {
			rps, err := wrk(s.url, dur, conns)
			if err != nil {
				return 0, 0, err
			}
			*s.out = append(*s.out, rps)
			fmt.Printf("  round %d  %-6s %10.0f req/s\n", i+1, s.name, rps)
		}
	}
	return median(luaRPS), median(nativeRPS), nil
}

// database connects to DATABASE_URL, else starts a throwaway cluster.
func database(ctx context.Context, log *slog.Logger) (*pgxpool.Pool, func(), error) {
	url := os.Getenv("DATABASE_URL")
	stop := func() {}
	if url == "" {
		dir, err := os.MkdirTemp("", "vbwd-bench-pg-")
		if err != nil {
			return nil, nil, err
		}
		_ = os.Chmod(dir, 0o755)
		c, err := pgdev.Start(ctx, pgdev.Options{DataDir: filepath.Join(dir, "postgres"), Logger: log})
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		url = c.URL()
		stop = func() { _ = c.Stop(context.Background()); os.RemoveAll(dir) }
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return pool, func() { pool.Close(); stop() }, nil
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func check(urls ...string) error {
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s answered %d", u, resp.StatusCode)
		}
	}
	return nil
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

var wrkErrLine = regexp.MustCompile(`Non-2xx|Socket errors`)

func wrk(url string, dur time.Duration, conns int, extra ...string) (float64, error) {
	args := append([]string{"-t1", "-c" + strconv.Itoa(conns), "-d" + dur.String()}, extra...)
	cmd := exec.Command("wrk", append(args, url)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var rps float64
	sc := bufio.NewScanner(out)
	var errLines []string
	for sc.Scan() {
		line := sc.Text()
		if m := rpsLine.FindStringSubmatch(line); m != nil {
			rps, _ = strconv.ParseFloat(m[1], 64)
		}
		if wrkErrLine.MatchString(line) {
			errLines = append(errLines, line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("wrk: %w", err)
	}
	if len(errLines) > 0 {
		return 0, fmt.Errorf("wrk reported errors for %s: %v", url, errLines)
	}
	if rps == 0 {
		return 0, fmt.Errorf("wrk printed no Requests/sec for %s", url)
	}
	return rps, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
