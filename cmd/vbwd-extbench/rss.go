package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The memory criterion of issue 15: the RSS of the engine process serving
// the shipped plugins (the repository root's plugins/, plugins.json and
// config.json, copied to a scratch root) on the embedded default database
// (no DATABASE_URL, as `make run`), after a c = 32 load of the hello route.

const rssGoalMiB = 40

const rssPath = "/api/v1/hello/world"

func seriesRSS(ctx context.Context, g *growth) (growthResult, error) {
	res := growthResult{title: "Memory: the shipped plugins",
		method: fmt.Sprintf("`vbwd serve --populate` on a copy of the repository's shipped plugins (plugins/, plugins.json, config.json) with "+
			"no DATABASE_URL: the embedded default database, as `make run`, whose PostgreSQL processes are not counted. VmRSS (and the peak, "+
			"VmHWM) of the vbwd process after startup and after wrk -t1 -c32 -d%s on `GET %s`. Goal (issue 15): ≤ %d MiB after the load.",
			wrkDuration(g.rssLoad), rssPath, rssGoalMiB),
		columns: []string{"measure", "value"}}
	root := filepath.Join(g.work, "shipped")
	if err := copyShipped(g.shipped, root); err != nil {
		return res, err
	}
	srv, err := startServer(ctx, g.env.vbwd, root, "", g.work, "shipped", "--populate")
	if err != nil {
		return res, err
	}
	defer srv.stop()
	idle, err := procStatusKiB(srv.pid(), "VmRSS")
	if err != nil {
		return res, err
	}
	if _, err := srv.get(rssPath); err != nil {
		return res, err
	}
	w, err := runWrk(srv.base+rssPath, g.rssLoad, 32, "")
	if err != nil {
		return res, err
	}
	rss, err := procStatusKiB(srv.pid(), "VmRSS")
	if err != nil {
		return res, err
	}
	hwm, err := procStatusKiB(srv.pid(), "VmHWM")
	if err != nil {
		return res, err
	}
	verdict := "pass"
	if mib(rss) > rssGoalMiB {
		verdict = "NOT MET"
	}
	res.rows = [][]string{
		{"startup time (to /readyz 200, with the embedded PostgreSQL's start)", fmt.Sprintf("%.1f s", srv.ready.Seconds())},
		{"VmRSS after startup", fmt.Sprintf("%.1f MiB", mib(idle))},
		{fmt.Sprintf("load: wrk -c32 -d%s GET %s", wrkDuration(g.rssLoad), rssPath), fmt.Sprintf("%.0f req/s", w.rps)},
		{"**VmRSS after the load**", fmt.Sprintf("**%.1f MiB** (goal ≤ %d MiB: %s)", mib(rss), rssGoalMiB, verdict)},
		{"VmHWM (peak RSS)", fmt.Sprintf("%.1f MiB", mib(hwm))},
	}
	fmt.Fprintf(g.out, "  shipped plugins: RSS %.1f MiB idle, %.1f MiB after %.0f req/s for %s (peak %.1f MiB; goal ≤ %d MiB: %s)\n",
		mib(idle), mib(rss), w.rps, wrkDuration(g.rssLoad), mib(hwm), rssGoalMiB, verdict)
	return res, nil
}

// copyShipped copies the shipped root's plugins, plugins.json and
// config.json (not its .data) into dir.
func copyShipped(from, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"plugins", "plugins.json", "config.json"} {
		src := filepath.Join(from, name)
		if _, err := os.Stat(src); err != nil {
			if name == "config.json" && os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("the shipped root %s: %w", from, err)
		}
		if out, err := exec.Command("cp", "-R", src, dir).CombinedOutput(); err != nil {
			return fmt.Errorf("copying %s: %v: %s", src, err, out)
		}
	}
	return nil
}
