package engine

import (
	"context"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/jobs"
)

// Scheduled jobs (ctx:every) run in engine/jobs; it reaches the engine
// through jobsHost.

// scheduler runs the serving generations' jobs (e.sched).
type scheduler = jobs.Scheduler[regRef]

// startScheduler starts the loop (vbwd.jobs is engine/enginedb's);
// Shutdown stops it (e.quit) and waits for a running job (e.retiring).
func (e *Engine) startScheduler(ctx context.Context) error {
	e.sched = jobs.Start(jobsHost{e}, jobs.Config{DB: e.opts.DB, NodeID: e.opts.NodeID,
		RequestTimeout: e.opts.RequestTimeout, Manual: e.opts.ManualJobs, Log: e.log, Quit: e.quit, Group: &e.retiring})
	return nil
}

// AdvanceJobs adds d to the time every ctx:every job has waited and runs,
// once and in name order, each job whose interval has passed since it last
// ran (or since the test began) — as the scheduler does after a pause: it
// does not catch up on the runs it missed. It returns the number of runs.
// Without ManualJobs it does nothing.
func (e *Engine) AdvanceJobs(d time.Duration) int { return e.sched.Advance(d) }

// clock is the engine's time (Options.Clock, for tests).
func (e *Engine) clock() time.Time {
	if e.opts.Clock != nil {
		return e.opts.Clock()
	}
	return time.Now()
}

// jobsHost is the engine as engine/jobs sees it (jobs.Host).
type jobsHost struct{ e *Engine }

func (h jobsHost) Jobs() map[string]regRef { return h.e.index.Load().Jobs }

func (h jobsHost) Now() time.Time { return h.e.clock() }

func (h jobsHost) Failed(plugin string) { h.e.metrics.LuaErrors.WithLabelValues(plugin, "job").Inc() }
