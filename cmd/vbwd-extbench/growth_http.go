package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The series measured with wrk (routes, pool, payload) and the one timed
// by hand (plugins: startup, reload, RSS).

const routesPlugin = `local P = { name = "groutes", version = "1.0.0", description = "growth: %d routes", url_prefix = "/groutes" }
function P.routes(r)
  for i = 1, %d do
    r:get("/r" .. i .. "/{id}", function(req)
      return 200, { route = i, id = req.params.id }
    end)
  end
end
return P
`

// seriesRoutes: one plugin with N routes; the last and the middle route
// loaded in turn, server CPU per request from /proc.
func seriesRoutes(ctx context.Context, g *growth) (growthResult, error) {
	res := growthResult{title: "Routes per plugin",
		method: fmt.Sprintf("One plugin registering N routes `GET /groutes/r{i}/{id}`; wrk -t1 -c32 for %s on the last and on the middle route "+
			"of a fresh server (after a 1 s warm-up). Dispatch cost shows as the server's CPU time per request (from /proc), "+
			"which includes the whole request, not only the route lookup.", wrkDuration(g.plan.wrkDur)),
		columns: []string{"routes", "last route req/s", "last route CPU µs/req", "middle route req/s", "middle route CPU µs/req"}}
	var last, mid []float64
	for _, n := range g.plan.routes {
		root := filepath.Join(g.work, fmt.Sprintf("routes-%d", n))
		if err := writePluginRoot(root, map[string]string{"groutes": fmt.Sprintf(routesPlugin, n, n)}); err != nil {
			return res, err
		}
		srv, err := startServer(ctx, g.env.vbwd, root, g.env.dbURL, g.work, "routes")
		if err != nil {
			return res, err
		}
		row := []string{fmt.Sprint(n)}
		for i, target := range []int{n, n/2 + 1} {
			path := fmt.Sprintf("/groutes/r%d/x", target)
			if _, err := runWrk(srv.base+path, time.Second, 32, ""); err != nil {
				srv.stop()
				return res, fmt.Errorf("warm-up: %w", err)
			}
			w, cpu, err := srv.loadCPU(path, g.plan.wrkDur, 32)
			if err != nil {
				srv.stop()
				return res, err
			}
			row = append(row, fmt.Sprintf("%.0f", w.rps), fmt.Sprintf("%.1f", cpu))
			if i == 0 {
				last = append(last, cpu)
			} else {
				mid = append(mid, cpu)
			}
		}
		srv.stop()
		fmt.Fprintf(g.out, "  %5d routes: %s\n", n, strings.Join(row[1:], "  "))
		res.rows = append(res.rows, row)
	}
	res.charts = map[string]chart{"routes-cpu": {title: "Server CPU per request vs routes in the plugin", xLabel: "routes in the plugin",
		yLabel: "CPU µs per request", series: []series{line("last route", xs(g.plan.routes), last), line("middle route", xs(g.plan.routes), mid)}}}
	return res, nil
}

const countPlugin = `-- reload %d
local P = { name = "%s", version = "1.0.0", description = "growth: one of many plugins", url_prefix = "/%s" }
local function greet(name) return "hello " .. name end
function P.routes(r)
  r:get("/hello/{name}", function(req) return 200, { message = greet(req.params.name) } end)
  r:post("/echo", function(req) return 201, req:json() end)
end
return P
`

// seriesPlugins: N small plugins; startup (process start to /readyz 200,
// on a database where their schemas and roles already exist), the reload
// of one of them through the admin API, and the RSS after both.
func seriesPlugins(ctx context.Context, g *growth) (growthResult, error) {
	res := growthResult{title: "Plugins",
		method: fmt.Sprintf("N small plugins (two routes each) in one root. Startup is from starting `vbwd serve` to `/readyz` answering 200 "+
			"(polled every 5 ms), on its second start (the first creates the plugins' schemas and roles); reload is `POST /admin/plugins/gp001/reload` "+
			"after changing that plugin's file, the median of %d; RSS is the server's VmRSS after them.", g.plan.reloads),
		columns: []string{"plugins", "startup ms", "reload ms (median)", "RSS MiB"}}
	var startup, reload, rss []float64
	for _, n := range g.plan.plugins {
		root := filepath.Join(g.work, fmt.Sprintf("plugins-%d", n))
		plugins := map[string]string{}
		for i := 1; i <= n; i++ {
			name := fmt.Sprintf("gp%03d", i)
			plugins[name] = fmt.Sprintf(countPlugin, 0, name, name)
		}
		if err := writePluginRoot(root, plugins); err != nil {
			return res, err
		}
		first, err := startServer(ctx, g.env.vbwd, root, g.env.dbURL, g.work, "plugins")
		if err != nil {
			return res, err
		}
		first.stop()
		srv, err := startServer(ctx, g.env.vbwd, root, g.env.dbURL, g.work, "plugins")
		if err != nil {
			return res, err
		}
		ms, err := reloadTimes(srv, filepath.Join(root, "plugins", "gp001", "init.lua"), g.plan.reloads)
		if err != nil {
			srv.stop()
			return res, err
		}
		kib, err := procStatusKiB(srv.pid(), "VmRSS")
		srv.stop()
		if err != nil {
			return res, err
		}
		startup, reload, rss = append(startup, ms2(srv.ready)), append(reload, median(ms)), append(rss, mib(kib))
		res.rows = append(res.rows, []string{fmt.Sprint(n), fmt.Sprintf("%.0f", ms2(srv.ready)), fmt.Sprintf("%.1f", median(ms)), fmt.Sprintf("%.1f", mib(kib))})
		fmt.Fprintf(g.out, "  %4d plugins: startup %.0f ms, reload %.1f ms, RSS %.1f MiB\n", n, ms2(srv.ready), median(ms), mib(kib))
	}
	x := xs(g.plan.plugins)
	res.charts = map[string]chart{
		"plugins-time": {title: "Startup and reload time vs plugins", xLabel: "plugins", yLabel: "ms",
			series: []series{line("startup", x, startup), line("reload of one plugin", x, reload)}},
		"plugins-rss": {title: "RSS vs plugins", xLabel: "plugins", yLabel: "MiB", series: []series{line("VmRSS", x, rss)}},
	}
	return res, nil
}

func ms2(d time.Duration) float64 { return float64(d) / 1e6 }

// reloadTimes changes the plugin's file and reloads it n times, returning
// each reload's duration in ms.
func reloadTimes(srv *server, file string, n int) ([]float64, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []float64
	for i := 1; i <= n; i++ {
		changed := strings.Replace(string(src), "-- reload 0", fmt.Sprintf("-- reload %d", i), 1)
		if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
			return nil, err
		}
		req, _ := http.NewRequest("POST", srv.base+"/admin/plugins/gp001/reload", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		body := make([]byte, 512)
		k, _ := resp.Body.Read(body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != 200 || !strings.Contains(string(body[:k]), "reloaded") {
			return nil, fmt.Errorf("reload %d: %d %s", i, resp.StatusCode, body[:k])
		}
		out = append(out, ms2(took))
	}
	return out, nil
}

// seriesPool: the headline hello route with pools of N states per plugin,
// at 1, 32 and 256 connections.
func seriesPool(ctx context.Context, g *growth) (growthResult, error) {
	res := growthResult{title: "Pool size",
		method: fmt.Sprintf("The headline hello route served with `--pool-min N --pool-max N`; wrk -t1 --latency for %s at each connection count "+
			"on one fresh server per pool size (after a 1 s warm-up at 32 connections).", wrkDuration(g.plan.wrkDur)),
		columns: []string{"pool"}}
	for _, c := range g.plan.poolConns {
		res.columns = append(res.columns, fmt.Sprintf("c=%d req/s", c), fmt.Sprintf("c=%d p99 ms", c))
	}
	rps := make([][]float64, len(g.plan.poolConns))
	p99 := make([][]float64, len(g.plan.poolConns))
	for _, n := range g.plan.pools {
		srv, err := startServer(ctx, g.env.vbwd, g.benchRoot, g.env.dbURL, g.work, "pool",
			"--pool-min", fmt.Sprint(n), "--pool-max", fmt.Sprint(n))
		if err != nil {
			return res, err
		}
		const path = "/bench/hello/world"
		if _, err := runWrk(srv.base+path, time.Second, 32, ""); err != nil {
			srv.stop()
			return res, fmt.Errorf("warm-up: %w", err)
		}
		row := []string{fmt.Sprint(n)}
		for i, c := range g.plan.poolConns {
			w, err := runWrkOpts(wrkOpts{url: srv.base + path, dur: g.plan.wrkDur, conns: c, latency: true, tolerant: true})
			if err != nil {
				srv.stop()
				return res, err
			}
			rps[i], p99[i] = append(rps[i], w.rps), append(p99[i], ms2(w.p99))
			cell := fmt.Sprintf("%.2f", ms2(w.p99))
			if w.errors != "" {
				cell += " (" + w.errors + ")"
			}
			row = append(row, fmt.Sprintf("%.0f", w.rps), cell)
		}
		srv.stop()
		fmt.Fprintf(g.out, "  pool %3d: %s\n", n, strings.Join(row[1:], "  "))
		res.rows = append(res.rows, row)
	}
	rc := chart{title: "Throughput vs pool size (hello route)", xLabel: "Lua states per plugin", yLabel: "req/s"}
	pc := chart{title: "p99 latency vs pool size (hello route)", xLabel: "Lua states per plugin", yLabel: "p99 ms"}
	for i, c := range g.plan.poolConns {
		rc.series = append(rc.series, line(fmt.Sprintf("c=%d", c), xs(g.plan.pools), rps[i]))
		pc.series = append(pc.series, line(fmt.Sprintf("c=%d", c), xs(g.plan.pools), p99[i]))
	}
	res.charts = map[string]chart{"pool-rps": rc, "pool-p99": pc}
	return res, nil
}

// payloadPlugin answers /gpayload/bytes/{size} with a JSON array of about
// size bytes: objects of ~95 bytes, encoded from Lua tables on every
// request (built once per state).
const payloadPlugin = `local P = { name = "gpayload", version = "1.0.0", description = "growth: response payloads", url_prefix = "/gpayload" }
local bodies = {}
local function build(size)
  local items = {}
  for i = 1, math.max(1, math.floor(size / 95)) do
    items[i] = { id = i, name = string.format("item %06d", i), note = string.rep("x", 56) }
  end
  return items
end
function P.routes(r)
  r:get("/bytes/{size}", function(req)
    local size = tonumber(req.params.size)
    local body = bodies[size]
    if not body then
      body = build(size)
      bodies[size] = body
    end
    return 200, body
  end)
end
return P
`

// seriesPayload: response bodies from 100 B to 1 MB at 32 connections.
func seriesPayload(ctx context.Context, g *growth) (growthResult, error) {
	res := growthResult{title: "Response payload",
		method: fmt.Sprintf("A route answering a JSON array of ~95-byte objects, encoded from Lua tables on every request, sized to about N bytes; "+
			"wrk -t1 -c32 for %s per size on one fresh server (after a 1 s warm-up per size).", wrkDuration(g.plan.wrkDur)),
		columns: []string{"target size", "body bytes", "req/s", "MB/s", "CPU µs/req", "p99 ms"}}
	root := filepath.Join(g.work, "payload")
	if err := writePluginRoot(root, map[string]string{"gpayload": payloadPlugin}); err != nil {
		return res, err
	}
	srv, err := startServer(ctx, g.env.vbwd, root, g.env.dbURL, g.work, "payload")
	if err != nil {
		return res, err
	}
	defer srv.stop()
	var rps, mbs []float64
	for _, size := range g.plan.payloads {
		path := fmt.Sprintf("/gpayload/bytes/%d", size)
		body, err := srv.get(path)
		if err != nil {
			return res, err
		}
		if _, err := runWrk(srv.base+path, time.Second, 32, ""); err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
		w, cpu, err := srv.loadCPU(path, g.plan.wrkDur, 32)
		if err != nil {
			return res, err
		}
		mb := w.rps * float64(len(body)) / 1e6
		rps, mbs = append(rps, w.rps), append(mbs, mb)
		res.rows = append(res.rows, []string{byteSize(size), fmt.Sprint(len(body)), fmt.Sprintf("%.0f", w.rps), fmt.Sprintf("%.1f", mb),
			fmt.Sprintf("%.1f", cpu), fmt.Sprintf("%.2f", ms2(w.p99))})
		fmt.Fprintf(g.out, "  %8d B: %.0f req/s, %.1f MB/s, %.1f µs CPU/req\n", len(body), w.rps, mb, cpu)
	}
	x := xs(g.plan.payloads)
	res.charts = map[string]chart{
		"payload-rps": {title: "Requests per second vs response size", xLabel: "response bytes", yLabel: "req/s", series: []series{line("req/s", x, rps)}},
		"payload-mbs": {title: "Bytes per second vs response size", xLabel: "response bytes", yLabel: "MB/s", series: []series{line("MB/s", x, mbs)}},
	}
	return res, nil
}

func byteSize(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%g MB", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%g kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
