package engine

import (
	"sort"
	"time"
)

// Manual jobs: with Options.ManualJobs (the test runner) the engine starts
// no scheduler loop; AdvanceJobs runs the jobs as time passes on the test
// clock, synchronously, so that a test sees their effects right after
// t.time.advance.

// AdvanceJobs adds d to the time every ctx:every job has waited and runs,
// once and in name order, each job whose interval has passed since it last
// ran (or since the test began) — as the scheduler does after a pause: it
// does not catch up on the runs it missed. It returns the number of runs.
// Without ManualJobs it does nothing.
func (e *Engine) AdvanceJobs(d time.Duration) int {
	s := e.sched
	if s == nil || !e.opts.ManualJobs {
		return 0
	}
	jobs := e.index.Load().jobs
	names := make([]string, 0, len(jobs))
	for name := range jobs {
		names = append(names, name)
	}
	sort.Strings(names)
	now, runs := e.clock(), 0
	for _, name := range names {
		ref := jobs[name]
		every := jobInterval(ref.gen.regs[ref.idx])
		s.mu.Lock()
		if s.waited == nil {
			s.waited = map[string]time.Duration{}
		}
		s.waited[name] += d
		due := s.waited[name] >= every
		if due {
			s.waited[name] = 0
		}
		s.mu.Unlock()
		if due {
			s.run(name, ref, now)
			runs++
		}
	}
	return runs
}
