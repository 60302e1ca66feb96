// Command vbwd-extbench measures vbwd from outside, as a user comparing
// servers would: wrk against `vbwd serve` (a built binary serving the
// benchmark root of root.go) and against a native Go reference server
// (native.go: chi, encoding/json, pgx, the same access log), each started
// fresh and warmed up for every round, rounds interleaved, and the server
// process's CPU time per request read from /proc. It prints a table and,
// with --out, writes it into a generated report (docs/benchmarks.md under
// `make bench`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

type config struct {
	vbwd     string        // the vbwd binary
	duration time.Duration // one measured wrk run
	warmup   time.Duration
	conns    int
	rounds   int
	routes   []string // names from allRoutes; empty: all
	out      string   // report file; empty: none
	growth   string   // full, quick or off: the "how cost grows" series' sizes
	series   []string // names from allSeries; empty: all
	shipped  string   // the root whose shipped plugins the RSS series serves
	figures  []string // files of the in-process benchmarks' summaries, quoted in the report
}

func main() {
	if addr := os.Getenv(nativeEnv); addr != "" {
		if err := nativeMain(addr); err != nil {
			fmt.Fprintln(os.Stderr, "native:", err)
			os.Exit(1)
		}
		return
	}
	c := config{}
	flag.StringVar(&c.vbwd, "vbwd", "bin/vbwd", "the vbwd binary to measure")
	flag.DurationVar(&c.duration, "duration", envDuration("BENCH_WRK_DURATION", 10*time.Second), "wrk duration of one measured run (also BENCH_WRK_DURATION)")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "wrk run before each measured one, on the fresh server")
	flag.IntVar(&c.conns, "connections", 32, "wrk connections")
	flag.IntVar(&c.rounds, "rounds", envInt("BENCH_ROUNDS", 3), "interleaved rounds per route (also BENCH_ROUNDS)")
	routes := flag.String("routes", "", "comma-separated route names (default all: "+routeNames()+")")
	flag.StringVar(&c.out, "out", "", "write the generated report to this file (e.g. docs/benchmarks.md)")
	flag.StringVar(&c.growth, "growth", envString("BENCH_GROWTH", "full"), "sizes of the growth series: full, quick or off (also BENCH_GROWTH)")
	series := flag.String("series", os.Getenv("BENCH_SERIES"), "comma-separated growth series (default all: "+seriesNames()+"; also BENCH_SERIES)")
	flag.StringVar(&c.shipped, "shipped-root", ".", "the root whose shipped plugins the rss series serves")
	figures := flag.String("figures", os.Getenv("BENCH_FIGURES"), "comma-separated files of in-process benchmark summaries to quote in the report (also BENCH_FIGURES)")
	writeOnly := flag.String("write-root", "", "only write the benchmark root into this directory (to profile `vbwd serve --root` on it) and exit")
	flag.Parse()
	if *writeOnly != "" {
		if err := writeRoot(*writeOnly); err != nil {
			fmt.Fprintln(os.Stderr, "vbwd-extbench:", err)
			os.Exit(1)
		}
		return
	}
	if *routes != "" {
		c.routes = strings.Split(*routes, ",")
	}
	if *series != "" {
		c.series = strings.Split(*series, ",")
	}
	if *figures != "" {
		c.figures = strings.Split(*figures, ",")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), c, log, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vbwd-extbench:", err)
		os.Exit(1)
	}
}

// run prepares a database and the benchmark root, measures every route and
// reports.
func run(ctx context.Context, c config, log *slog.Logger, out *os.File) error {
	if err := haveWrk(); err != nil {
		return err
	}
	vbwd, err := filepath.Abs(c.vbwd)
	if err != nil {
		return err
	}
	if _, err := os.Stat(vbwd); err != nil {
		return fmt.Errorf("the vbwd binary: %w (run `make build` first or pass --vbwd)", err)
	}
	work, err := os.MkdirTemp("", "vbwd-extbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	_ = os.Chmod(work, 0o755)
	root := filepath.Join(work, "root")
	if err := writeRoot(root); err != nil {
		return err
	}
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		cl, err := pgdev.Start(ctx, pgdev.Options{DataDir: filepath.Join(work, "postgres"), Logger: log})
		if err != nil {
			return fmt.Errorf("PostgreSQL: %w", err)
		}
		defer func() { _ = cl.Stop(context.Background()) }()
		dbURL = cl.URL()
	}
	env := benchEnv{vbwd: vbwd, root: root, dbURL: dbURL, logDir: work}
	routes, err := selectRoutes(c.routes)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrk -t1 -c%d -d%s per run after a %s warm-up, %d interleaved rounds, every server started fresh each round, access log on\n",
		c.conns, c.duration, c.warmup, c.rounds)
	var results []routeResult
	for _, rt := range routes {
		res, err := measureRoute(ctx, env, rt, c, out)
		if err != nil {
			return fmt.Errorf("%s: %w", rt.name, err)
		}
		results = append(results, res)
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, textTable(results))
	var grown []growthResult
	var growthErr error
	if c.growth != "off" {
		grown, growthErr = runGrowthSeries(ctx, c, env, work, out)
	}
	if c.out != "" {
		if err := writeReport(c, results, grown); err != nil {
			return errors.Join(growthErr, err)
		}
	}
	return growthErr
}

// runGrowthSeries runs the "how cost grows" series on a database of their
// own, after the headline table.
func runGrowthSeries(ctx context.Context, c config, env benchEnv, work string, out io.Writer) ([]growthResult, error) {
	plan, err := planFor(c.growth)
	if err != nil {
		return nil, err
	}
	for _, n := range c.series {
		if !contains(strings.Split(seriesNames(), ","), strings.TrimSpace(n)) {
			return nil, fmt.Errorf("no growth series %q (have %s)", n, seriesNames())
		}
	}
	shipped, err := filepath.Abs(c.shipped)
	if err != nil {
		return nil, err
	}
	genv := env
	if genv.dbURL, err = growthDatabase(ctx, env.dbURL); err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "growth")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g := &growth{env: genv, plan: plan, work: dir, benchRoot: env.root, shipped: shipped, rssLoad: c.duration, out: out}
	return runGrowth(ctx, g, c.series)
}

func seriesNames() string {
	var s []string
	for _, x := range allSeries {
		s = append(s, x.name)
	}
	return strings.Join(s, ",")
}

func envString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v := os.Getenv(key); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envInt(key string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(key), &n); err == nil && n > 0 {
		return n
	}
	return def
}
