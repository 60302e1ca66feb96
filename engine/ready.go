package engine

import (
	"context"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
)

// Ready reports whether every wanted plugin is enabled or explicitly failed
// and the database (if any) answers.
func (e *Engine) Ready(ctx context.Context) (bool, []string) {
	ok, why, _ := e.readiness(ctx)
	return ok, why
}

// readiness is Ready plus the database's own error, for GET /admin/status
// (one ping serves both).
func (e *Engine) readiness(ctx context.Context) (bool, []string, error) {
	var why []string
	var dbErr error
	if !e.up.Load() {
		why = append(why, "engine not serving")
	}
	why = append(why, e.records().Waiting()...)
	if !e.relay.Listening() {
		why = append(why, "stream relay: not listening yet")
	}
	if e.opts.DB != nil {
		if dbErr = pgcoord.Ping(ctx, e.opts.DB); dbErr != nil {
			// no connection details here (/readyz is public): they go to
			// the log and to GET /admin/status
			e.log.Warn("readiness: the database does not answer", "err", dbErr)
			why = append(why, "database: unavailable")
		}
	}
	sort.Strings(why)
	return len(why) == 0, why, dbErr
}
