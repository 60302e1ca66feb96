package engine

import (
	"context"
	"sort"
	"time"
)

// pingDB checks that the database answers, within 2s.
func (e *Engine) pingDB(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := e.opts.DB.Ping(ctx)
	if err != nil && ctx.Err() == nil {
		// one pooled connection the server dropped (a restart) fails once
		// and is discarded: ask again on another before reporting an outage
		err = e.opts.DB.Ping(ctx)
	}
	return err
}

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
	if e.opts.DB != nil && !e.listening.has(streamListener) {
		why = append(why, "stream relay: not listening yet")
	}
	if e.opts.DB != nil {
		if dbErr = e.pingDB(ctx); dbErr != nil {
			// no connection details here (/readyz is public): they go to
			// the log and to GET /admin/status
			e.log.Warn("readiness: the database does not answer", "err", dbErr)
			why = append(why, "database: unavailable")
		}
	}
	sort.Strings(why)
	return len(why) == 0, why, dbErr
}
