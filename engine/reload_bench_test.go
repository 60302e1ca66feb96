package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// bigPlugin is a plugin of about 500 lines: a route and many functions.
func bigPlugin(variant int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "local P = { name = \"big\", version = \"1.0.0\", url_prefix = \"/api/big\" }\nlocal VARIANT = %d\nlocal F = {}\n", variant)
	for i := 0; len(strings.Split(b.String(), "\n")) < 490; i++ {
		fmt.Fprintf(&b, "function F.f%d(x)\n  local y = x * %d + VARIANT\n  if y > 1000 then y = y - 1000 end\n  return { n = y, name = \"f%d\" }\nend\n", i, i, i)
	}
	b.WriteString("function P.routes(r)\n  r:get(\"/{n}\", function(req) return 200, F.f1(tonumber(req.params.n) or 0) end)\nend\nreturn P\n")
	return b.String()
}

// BenchmarkReload500Lines: a blue/green reload of a ~500-line plugin with a
// pool of 8 pre-warmed states (compile, build 8 states, swap; the old
// generation retires in the background). Reports p50/p95 per reload.
func BenchmarkReload500Lines(b *testing.B) {
	root := writeRoot(b, files{"plugins/big/init.lua": bigPlugin(0)})
	e, err := New(Options{Root: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PoolMin: 8, PoolMax: 8})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown(ctx)
	file := filepath.Join(root, "plugins/big/init.lua")
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		if err := os.WriteFile(file, []byte(bigPlugin(i)), 0o644); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := e.Reload(ctx, "big")
		lat = append(lat, time.Since(start))
		if err != nil || res.Unchanged {
			b.Fatal(err, res)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
}
