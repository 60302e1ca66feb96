package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestScheduler_RunsJobsAndStopsOnDisable(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
local shared = require("vbwd.shared")
function P.on_enable(ctx)
  ctx:every("p.tick", 0.15, function(job)
    shared.incr("ticks")
    shared.set("last", job.name)
  end)
  ctx:every("p.broken", 0.15, function() error("job failed on purpose") end)
end`)})
	te := startEngine(t, root, nil)
	b := te.SharedBucket("p")
	eventually(t, "three ticks", func() bool { v, _ := b.Get("ticks"); n, _ := v.(int64); f, _ := v.(float64); return n >= 3 || f >= 3 })
	if v, _ := b.Get("last"); v != "p.tick" {
		t.Errorf("job table name: %v", v)
	}
	eventually(t, "the failing job to be logged with its line", func() bool {
		return strings.Contains(te.logs.String(), "scheduled job failed") && strings.Contains(te.logs.String(), "plugins/p/init.lua:9")
	})
	if err := te.Disable(context.Background(), "p", false); err != nil {
		t.Fatal(err)
	}
	before, _ := b.Get("ticks")
	time.Sleep(500 * time.Millisecond)
	if after, _ := b.Get("ticks"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a disabled plugin's job still runs: %v -> %v", before, after)
	}
}

// TestScheduler_OneRunPerTickAcrossEngines: two engines on one database
// run a job once per interval between them, not once each.
func TestScheduler_OneRunPerTickAcrossEngines(t *testing.T) {
	_, url := newDB(t)
	root := writeRoot(t, files{
		"plugins/p/init.lua": pluginSrc("p", "", `
local db = require("vbwd.db")
function P.on_enable(ctx)
  ctx:every("p.tick", 0.3, function(job)
    local _, err = db.exec("insert into p_runs (at) values (now())")
    if err then error(tostring(err)) end
  end)
end`),
		"plugins/p/migrations/20260101000001_runs.sql": "-- migrate:up\ncreate table p_runs (at timestamptz);\n-- migrate:down\ndrop table p_runs;\n",
	})
	a := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url); o.NodeID = "a" })
	startEngine(t, root, func(o *Options) { o.DB = openPool(t, url); o.NodeID = "b" })
	eventually(t, "six runs", func() bool { return countRows(t, a, "select count(*) from p.p_runs") >= 6 })
	// the span is measured between the runs themselves: engine a may run the
	// job before engine b has started (a slow start on a loaded machine)
	var n int
	var span time.Duration
	if err := a.opts.DB.QueryRow(context.Background(), "select count(*), max(at) - min(at) from p.p_runs").Scan(&n, &span); err != nil {
		t.Fatal(err)
	}
	if limit := int(span/(300*time.Millisecond)) + 2; n > limit {
		t.Errorf("%d runs in %v: more than one per 300ms interval (%d): both engines ran the job", n, span, limit)
	}
	var close int
	if err := a.opts.DB.QueryRow(context.Background(), `select count(*) from (select at - lag(at) over (order by at) as gap from p.p_runs) g
		where gap < interval '150 milliseconds'`).Scan(&close); err != nil || close != 0 {
		t.Errorf("%d runs closer than half an interval (%v)", close, err)
	}
}
