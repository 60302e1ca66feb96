package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// The durable events series: a backlog of N pending events inserted into
// the outbox with one statement while the engine runs, then timed until
// the engine's delivery workers have delivered every one to the plugin's
// handler.

const drainPlugin = `local P = { name = "gdrain", version = "1.0.0", description = "growth: durable event backlog" }
function P.on_enable(ctx)
  ctx:on("gdrain.tick", function(event)
    if event.payload.n < 0 then error("never") end
  end)
end
return P
`

const (
	// the backlog, as events.publish would write it (engine/outbox)
	backlogSQL = `insert into vbwd.events_outbox (id, name, source, payload)
		select gen_random_uuid(), 'gdrain.tick', 'gdrain', jsonb_build_object('n', g) from generate_series(1, $1::int) g`
	pendingSQL = `select count(*) from vbwd.events_outbox where name = 'gdrain.tick' and status = 'pending'`
	deadSQL    = `select count(*) from vbwd.events_outbox where name = 'gdrain.tick' and status <> 'delivered'`
	clearSQL   = `delete from vbwd.events_outbox where name = 'gdrain.tick'`
	wakeSQL    = `select pg_notify('vbwd_events', '')` // outbox.EventsChannel: what a publish sends
)

// seriesDrain: for each backlog size, on one running server, insert the
// backlog, wake the workers, poll the pending count until it is zero.
func seriesDrain(ctx context.Context, g *growth) (growthResult, error) {
	res := growthResult{title: "Durable event backlog",
		method: "N pending events of one name inserted into the outbox (`vbwd.events_outbox`) by one SQL statement while the engine " +
			"runs (default delivery settings: 2 workers, batches of 64), the workers woken by NOTIFY (as a publish from an engine without workers wakes them); drain time is " +
			"from then to no pending event left (polled), each event delivered to a Lua handler of the plugin. The same server " +
			"drains every size in turn; delivered rows are deleted between sizes.",
		columns: []string{"backlog events", "insert s", "drain s", "events/s"}}
	root := filepath.Join(g.work, "drain")
	if err := writePluginRoot(root, map[string]string{"gdrain": drainPlugin}); err != nil {
		return res, err
	}
	srv, err := startServer(ctx, g.env.vbwd, root, g.env.dbURL, g.work, "drain")
	if err != nil {
		return res, err
	}
	defer srv.stop()
	conn, err := pgx.Connect(ctx, g.env.dbURL)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.Background())
	var rates []float64
	for _, n := range g.plan.backlog {
		if _, err := conn.Exec(ctx, clearSQL); err != nil {
			return res, err
		}
		insStart := time.Now()
		if _, err := conn.Exec(ctx, backlogSQL, n); err != nil {
			return res, fmt.Errorf("inserting the backlog: %w", err)
		}
		ins := time.Since(insStart)
		took, err := drain(ctx, conn)
		if err != nil {
			return res, fmt.Errorf("%d events: %w", n, err)
		}
		var left int64
		if err := conn.QueryRow(ctx, deadSQL).Scan(&left); err != nil {
			return res, err
		}
		if left > 0 {
			return res, fmt.Errorf("%d events: %d not delivered (failed handler?)", n, left)
		}
		rate := float64(n) / took.Seconds()
		rates = append(rates, rate)
		res.rows = append(res.rows, []string{fmt.Sprint(n), fmt.Sprintf("%.1f", ins.Seconds()), fmt.Sprintf("%.2f", took.Seconds()), fmt.Sprintf("%.0f", rate)})
		fmt.Fprintf(g.out, "  %8d events: inserted in %s, drained in %s: %.0f events/s\n", n, ins.Round(time.Millisecond), took.Round(time.Millisecond), rate)
	}
	if _, err := conn.Exec(ctx, clearSQL); err != nil {
		return res, err
	}
	res.charts = map[string]chart{"drain-rate": {title: "Drain rate vs durable event backlog", xLabel: "backlog (events)", yLabel: "events/s",
		series: []series{line("delivered events/s", xs(g.plan.backlog), rates)}}}
	return res, nil
}

// drain wakes the workers and polls until no event is pending; the poll
// interval grows with the elapsed time (1/50 of it, at least 10 ms), so
// polling neither loads the database nor blurs a short drain much.
func drain(ctx context.Context, conn *pgx.Conn) (time.Duration, error) {
	start := time.Now()
	if _, err := conn.Exec(ctx, wakeSQL); err != nil {
		return 0, err
	}
	limit := 30 * time.Minute
	for time.Since(start) < limit {
		var pending int64
		if err := conn.QueryRow(ctx, pendingSQL).Scan(&pending); err != nil {
			return 0, err
		}
		if pending == 0 {
			return time.Since(start), nil
		}
		time.Sleep(max(10*time.Millisecond, time.Since(start)/50))
	}
	return 0, fmt.Errorf("not drained after %s", limit)
}
